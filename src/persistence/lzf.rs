//! LZF compression, the format Redis uses for compressed strings in RDB
//! files (liblzf): literal runs `000LLLLL` + L+1 bytes, back references
//! `LLLooooo oooooooo` (length L+2, L=7 means an extra length byte).
//!
//! `compress` is Redis's lzf_c.c step for step (HLOG 16, VERY_FAST, its IDX
//! hash, the unrolled match loop, the output limit of `len - 4` that
//! rdbSaveLzfStringObject passes), so a DUMP payload or RDB file holds the
//! very bytes Redis writes for the same value. Redis's hash table is not
//! initialised (INIT_HTAB 0); an empty slot here is offset 0, which liblzf
//! never references (`ref > in_data`).

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

#[inline]
fn idx(h: u32) -> usize {
    ((h >> (3 * 8 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

/// The hash table, kept between calls: an entry is `base + position` of
/// the call that wrote it, so entries of earlier calls (at most `base`)
/// read as empty without clearing 256 KB per string.
struct Table {
    slots: Vec<u32>,
    base: u32,
}

thread_local! {
    static TABLE: std::cell::RefCell<Table> = const { std::cell::RefCell::new(Table { slots: Vec::new(), base: 0 }) };
}

/// Compresses `input` as Redis does for an RDB string; None when Redis
/// would store it uncompressed (4 bytes or less, or no saving of at least
/// 4 bytes).
pub fn compress(input: &[u8]) -> Option<Vec<u8>> {
    let n = input.len();
    if n <= 4 || n >= (u32::MAX / 2) as usize {
        return None;
    }
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        if t.slots.is_empty() || t.base as usize + n >= u32::MAX as usize {
            t.slots = vec![0; HSIZE];
            t.base = 0;
        }
        let Table { slots, base } = &mut *t;
        let out = compress_with(input, slots, *base);
        *base += n as u32;
        out
    })
}

fn compress_with(input: &[u8], htab: &mut [u32], base: u32) -> Option<Vec<u8>> {
    let n = input.len();
    let out_end = n - 4;
    // `out` always ends with the control byte of the literal run being
    // collected (`lit` bytes follow it), as liblzf's `op++ /* start run */`.
    let mut out: Vec<u8> = Vec::with_capacity(n);
    out.push(0);
    let mut lit = 0usize;
    let mut ip = 0usize;
    let mut hval: u32 = ((input[0] as u32) << 8) | input[1] as u32;
    while ip < n - 2 {
        hval = (hval << 8) | input[ip + 2] as u32;
        let slot = idx(hval);
        // Position 0 and other calls' entries read as 0: never referenced.
        let r = htab[slot].saturating_sub(base) as usize;
        htab[slot] = base + ip as u32;
        let off = ip.wrapping_sub(r).wrapping_sub(1);
        if r > 0 && off < MAX_OFF && input[r..r + 3] == input[ip..ip + 3] {
            let mut len = 2usize;
            let maxlen = (n - ip - len).min(MAX_REF);
            if out.len() + 3 + 1 >= out_end && out.len() - (lit == 0) as usize + 3 + 1 >= out_end {
                return None;
            }
            // Stop the literal run (or drop its empty control byte).
            if lit == 0 {
                out.pop();
            } else {
                let at = out.len() - lit - 1;
                out[at] = (lit - 1) as u8;
            }
            // liblzf compares 16 bytes unrolled before checking `maxlen`.
            let mut unrolled_mismatch = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[r + len] != input[ip + len] {
                        unrolled_mismatch = true;
                        break;
                    }
                }
            }
            if !unrolled_mismatch {
                loop {
                    len += 1;
                    if !(len < maxlen && input[r + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out.push(((off >> 8) + (len << 5)) as u8);
            } else {
                out.push(((off >> 8) + (7 << 5)) as u8);
                out.push((len - 7) as u8);
            }
            out.push(off as u8);
            lit = 0;
            out.push(0);
            ip += len + 1;
            if ip >= n - 2 {
                break;
            }
            // VERY_FAST: hash the last two positions of the match.
            ip -= 2;
            hval = ((input[ip] as u32) << 8) | input[ip + 1] as u32;
            for _ in 0..2 {
                hval = (hval << 8) | input[ip + 2] as u32;
                htab[idx(hval)] = base + ip as u32;
                ip += 1;
            }
        } else {
            if out.len() >= out_end {
                return None;
            }
            lit += 1;
            out.push(input[ip]);
            ip += 1;
            if lit == MAX_LIT {
                let at = out.len() - lit - 1;
                out[at] = (lit - 1) as u8;
                lit = 0;
                out.push(0);
            }
        }
    }
    if out.len() + 3 > out_end {
        return None;
    }
    while ip < n {
        lit += 1;
        out.push(input[ip]);
        ip += 1;
        if lit == MAX_LIT {
            let at = out.len() - lit - 1;
            out[at] = (lit - 1) as u8;
            lit = 0;
            out.push(0);
        }
    }
    if lit == 0 {
        out.pop();
    } else {
        let at = out.len() - lit - 1;
        out[at] = (lit - 1) as u8;
    }
    Some(out)
}

/// Decompresses into exactly `out_len` bytes; None if the data is corrupt.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    // A back reference expands 3 bytes into at most 264: a larger claim is
    // corrupt and not worth allocating for.
    let mut out: Vec<u8> = Vec::with_capacity(out_len.min(input.len().saturating_mul(90) + 64));
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input.get(i..i + run)?;
            if out.len() + run > out_len {
                return None;
            }
            out.extend_from_slice(lit);
            i += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input.get(i)? as usize;
                i += 1;
            }
            len += 2;
            let off = ((ctrl & 0x1f) << 8) | *input.get(i)? as usize;
            i += 1;
            let start = out.len().checked_sub(off + 1)?;
            if out.len() + len > out_len {
                return None;
            }
            // An overlapping reference repeats the `off + 1` bytes from
            // `start`: copy whole periods of what is already there.
            let mut left = len;
            while left > 0 {
                let chunk = left.min(out.len() - start);
                out.extend_from_within(start..start + chunk);
                left -= chunk;
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let samples: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello hello hello hello world world world".repeat(50),
            (0..5000u32).map(|i| (i * 7 % 251) as u8).collect(),
            (0..300u32).flat_map(|i| i.to_string().into_bytes()).collect(),
        ];
        for s in samples {
            if let Some(c) = compress(&s) {
                assert!(c.len() < s.len());
                assert_eq!(decompress(&c, s.len()).as_deref(), Some(s.as_slice()));
            }
        }
        assert!(compress(&b"x".repeat(1000)).is_some());
    }

    /// The LZF string in DUMP of `SET k aaaa…(40 a)` from Redis 7.0.15.
    #[test]
    fn decodes_redis_output() {
        // Literal "aa", a 36-byte back reference at offset 0, literal "aa".
        let redis = b"\x01aa\xe0\x1b\x00\x01aa";
        let got = decompress(redis, 40);
        assert_eq!(got, Some(vec![b'a'; 40]));
    }

    #[test]
    fn corrupt_input_is_refused() {
        assert_eq!(decompress(b"\xe0\xff\xff", 10), None);
        assert_eq!(decompress(b"\x05ab", 6), None);
        assert_eq!(decompress(b"\x00a", 5), None);
        for n in 0..64u8 {
            let _ = decompress(&[n, n.wrapping_mul(7), 0xff, n], 100);
        }
    }
}
