//! LZF compression, the format Redis uses for compressed strings in RDB
//! files (liblzf): literal runs `000LLLLL` + L+1 bytes, back references
//! `LLLooooo oooooooo` (length L+2, L=7 means an extra length byte).

const HLOG: u32 = 14;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

fn hash(v: u32) -> usize {
    ((v.wrapping_mul(2654435761)) >> (32 - HLOG)) as usize
}

/// Compresses `input`; None when the result would not be smaller.
pub fn compress(input: &[u8]) -> Option<Vec<u8>> {
    let n = input.len();
    if n < 4 {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(n);
    let mut table = vec![0usize; HSIZE];
    let mut lit_start = 0usize;
    let mut i = 0usize;
    let flush_literals = |out: &mut Vec<u8>, from: usize, to: usize| {
        let mut s = from;
        while s < to {
            let run = (to - s).min(MAX_LIT);
            out.push((run - 1) as u8);
            out.extend_from_slice(&input[s..s + run]);
            s += run;
        }
    };
    while i + 2 < n {
        let v = u32::from_le_bytes([input[i], input[i + 1], input[i + 2], 0]);
        let h = hash(v);
        let cand = table[h];
        table[h] = i + 1;
        if cand > 0 {
            let r = cand - 1;
            let off = i - r - 1;
            if off < MAX_OFF && r < i && input[r..r + 3] == input[i..i + 3] {
                let max_len = (n - i).min(MAX_REF);
                let mut len = 3;
                while len < max_len && input[r + len] == input[i + len] {
                    len += 1;
                }
                flush_literals(&mut out, lit_start, i);
                let l = len - 2;
                if l < 7 {
                    out.push(((l as u8) << 5) | (off >> 8) as u8);
                } else {
                    out.push((7 << 5) | (off >> 8) as u8);
                    out.push((l - 7) as u8);
                }
                out.push(off as u8);
                i += len;
                lit_start = i;
                if out.len() >= n {
                    return None;
                }
                continue;
            }
        }
        i += 1;
    }
    flush_literals(&mut out, lit_start, n);
    (out.len() < n).then_some(out)
}

/// Decompresses into exactly `out_len` bytes; None if the data is corrupt.
pub fn decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len.min(input.len().saturating_mul(64) + 64));
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
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
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
