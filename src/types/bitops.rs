//! Bit-level operations on byte strings, as Redis's bitops.c defines them:
//! bit 0 is the most significant bit of the first byte. Popcount, bit
//! search and BITOP work a machine word (or a vector) at a time; bitfields
//! of up to 64 bits are read and written with one wide load and store.

/// Number of set bits in `s`.
pub fn popcount(s: &[u8]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports POPCNT, checked just above.
            return unsafe { popcount_popcnt(s) };
        }
    }
    popcount_words(s)
}

/// The same loop compiled to the POPCNT instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn popcount_popcnt(s: &[u8]) -> u64 {
    popcount_words(s)
}

/// Four independent counters over 32-byte blocks, so the CPU overlaps the
/// counts; the tail is counted per byte.
#[inline(always)]
fn popcount_words(s: &[u8]) -> u64 {
    let mut blocks = s.chunks_exact(32);
    let mut c = [0u64; 4];
    for b in &mut blocks {
        for (i, w) in b.chunks_exact(8).enumerate() {
            c[i] += u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])).count_ones() as u64;
        }
    }
    let tail: u64 = blocks.remainder().iter().map(|b| b.count_ones() as u64).sum();
    c[0] + c[1] + c[2] + c[3] + tail
}

/// A zero-filled buffer of `len` bytes, or None when the memory cannot be
/// had (only with proto-max-bulk-len raised past the machine's memory).
/// The allocator's zeroed allocation leaves fresh pages untouched, so a
/// new large bitmap costs no memset.
pub fn zeroed(len: usize) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    let layout = std::alloc::Layout::array::<u8>(len).ok()?;
    // SAFETY: the layout is non-empty; a non-null result is an allocation
    // of `len` zeroed bytes by the global allocator with u8's alignment,
    // exactly what a Vec<u8> of capacity `len` owns and frees.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout);
        if p.is_null() {
            return None;
        }
        Some(Vec::from_raw_parts(p, len, len))
    }
}

/// Redis's redisBitpos: position of the first bit equal to `bit` in `s`.
/// Looking for a 0 in a string of ones answers `s.len() * 8` (the string is
/// taken as zero-padded on the right); looking for a 1 in a string of
/// zeros answers -1.
pub fn bitpos(s: &[u8], bit: bool) -> i64 {
    let skip: u8 = if bit { 0 } else { 0xff };
    // Skip whole 64-byte blocks with a branch-free reduction the compiler
    // vectorises, then find the word and the bit.
    let mut blocks = s.chunks_exact(64);
    let mut pos = 0i64;
    for b in &mut blocks {
        let all_skip =
            if bit { b.iter().fold(0, |a, &x| a | x) == 0 } else { b.iter().fold(0xff, |a, &x| a & x) == 0xff };
        if !all_skip {
            break;
        }
        pos += 512;
    }
    let rest = &s[(pos >> 3) as usize..];
    let mut words = rest.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_be_bytes(w.try_into().unwrap_or([0; 8]));
        if w != u64::from_ne_bytes([skip; 8]) {
            return pos + first_bit(w, bit) as i64;
        }
        pos += 64;
    }
    for &b in words.remainder() {
        if b != skip {
            let lz = if bit { b.leading_zeros() } else { (!b).leading_zeros() };
            return pos + lz as i64;
        }
        pos += 8;
    }
    if bit {
        -1
    } else {
        pos
    }
}

/// Index (from the most significant end) of the first bit of `w` equal to
/// `bit`; `w` must contain one.
#[inline]
fn first_bit(w: u64, bit: bool) -> u32 {
    if bit {
        w.leading_zeros()
    } else {
        (!w).leading_zeros()
    }
}

/// Mask of the low `bits` bits (1..=64).
#[inline]
fn low_mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// The 16 bytes of `p` from `byte` as a big-endian integer, zero-padded
/// past the end of `p`.
#[inline]
fn load_be(p: &[u8], byte: usize) -> u128 {
    let mut buf = [0u8; 16];
    if byte < p.len() {
        let n = (p.len() - byte).min(16);
        buf[..n].copy_from_slice(&p[byte..byte + n]);
    }
    u128::from_be_bytes(buf)
}

/// The unsigned integer of `bits` bits (1..=64) at bit `offset`; bits past
/// the end of `p` read as zero.
pub fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    let byte = (offset >> 3) as usize;
    let shift = 128 - (offset & 7) as u32 - bits;
    ((load_be(p, byte) >> shift) as u64) & low_mask(bits)
}

/// The signed (two's complement) integer of `bits` bits at bit `offset`.
pub fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(p, offset, bits);
    if bits < 64 && v & (1u64 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Writes the low `bits` bits of `value` at bit `offset`. `p` must hold
/// every byte the field touches.
pub fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    let byte = (offset >> 3) as usize;
    let first = (offset & 7) as u32;
    let shift = 128 - first - bits;
    let mask = (low_mask(bits) as u128) << shift;
    let w = (load_be(p, byte) & !mask) | (((value & low_mask(bits)) as u128) << shift);
    let len = (first + bits).div_ceil(8) as usize;
    let end = (byte + len).min(p.len());
    p[byte..end].copy_from_slice(&w.to_be_bytes()[..end - byte]);
}

pub fn set_signed(p: &mut [u8], offset: u64, bits: u32, value: i64) {
    set_unsigned(p, offset, bits, value as u64);
}

/// BITFIELD's OVERFLOW behaviours.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// Redis's checkUnsignedBitfieldOverflow: whether `value + incr` fits an
/// unsigned integer of `bits` bits. Returns 0 if it does, 1 on overflow,
/// -1 on underflow, with the value to store instead (wrapped or
/// saturated; meaningless for FAIL).
pub fn check_unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> (i32, u64) {
    let max = low_mask(bits);
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = value.wrapping_neg() as i64;
    let wrapped = || value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > maxincr) {
        (1, if ow == Overflow::Wrap { wrapped() } else { max })
    } else if incr < 0 && incr < minincr {
        (-1, if ow == Overflow::Wrap { wrapped() } else { 0 })
    } else {
        (0, 0)
    }
}

/// Redis's checkSignedBitfieldOverflow, for signed integers of `bits`
/// bits (1..=64); same contract as `check_unsigned_overflow`.
pub fn check_signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> (i32, i64) {
    let max: i64 = if bits == 64 { i64::MAX } else { (1i64 << (bits - 1)) - 1 };
    let min = -max - 1;
    // These may wrap; they are only compared once `value` is in range.
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrapped = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        (1, if ow == Overflow::Wrap { wrapped() } else { max })
    } else if value < min || (bits != 64 && incr < minincr) || (value < 0 && incr < 0 && incr < minincr) {
        (-1, if ow == Overflow::Wrap { wrapped() } else { min })
    } else {
        (0, 0)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP over `srcs` (missing keys are empty strings): the result is as
/// long as the longest source, shorter sources read as zero-padded. NOT
/// takes exactly one source. The loops are plain zips, which the compiler
/// turns into vector code.
pub fn bitop(op: BitOp, srcs: &[&[u8]]) -> Vec<u8> {
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut res = Vec::with_capacity(maxlen);
    let first = srcs.first().copied().unwrap_or(&[]);
    res.extend_from_slice(first);
    res.resize(maxlen, 0);
    match op {
        BitOp::Not => res.iter_mut().for_each(|b| *b = !*b),
        BitOp::And => {
            for s in &srcs[1..] {
                res.iter_mut().zip(s.iter()).for_each(|(r, b)| *r &= b);
                res[s.len()..].fill(0);
            }
        }
        BitOp::Or => {
            for s in &srcs[1..] {
                res.iter_mut().zip(s.iter()).for_each(|(r, b)| *r |= b);
            }
        }
        BitOp::Xor => {
            for s in &srcs[1..] {
                res.iter_mut().zip(s.iter()).for_each(|(r, b)| *r ^= b);
            }
        }
    }
    res
}

/// A BITCOUNT/BITPOS range after Redis's normalisation: inclusive byte
/// indexes, plus masks of the bits of the first and last byte that lie
/// outside a BIT range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub start: i64,
    pub end: i64,
    pub first_mask: u8,
    pub last_mask: u8,
}

impl Range {
    /// Converts `start..=end` (negative counting from the end; bits when
    /// `isbit`, else bytes) over a string of `len` bytes, as Redis does.
    /// The range is empty when `start > end`.
    pub fn new(len: usize, mut start: i64, mut end: i64, isbit: bool) -> Range {
        let mut total = len as i64;
        if isbit {
            total <<= 3;
        }
        if start < 0 {
            start += total;
        }
        if end < 0 {
            end += total;
        }
        start = start.max(0);
        end = end.max(0);
        if end >= total {
            end = total - 1;
        }
        let (mut first_mask, mut last_mask) = (0, 0);
        if isbit && start <= end {
            first_mask = !((1u32 << (8 - (start & 7))) - 1) as u8;
            last_mask = ((1u32 << (7 - (end & 7))) - 1) as u8;
            start >>= 3;
            end >>= 3;
        }
        Range { start, end, first_mask, last_mask }
    }

    /// The whole string.
    pub fn all(len: usize) -> Range {
        Range { start: 0, end: len as i64 - 1, first_mask: 0, last_mask: 0 }
    }
}

/// Set bits of `s` within `r` (BITCOUNT).
pub fn count_range(s: &[u8], r: Range) -> u64 {
    if r.start > r.end {
        return 0;
    }
    let (start, end) = (r.start as usize, r.end as usize);
    let mut count = popcount(&s[start..=end]);
    count -= (s[start] & r.first_mask).count_ones() as u64;
    count -= (s[end] & r.last_mask).count_ones() as u64;
    count
}

/// BITPOS within `r`: the bit position (from the start of the string) of
/// the first bit equal to `bit`, or -1. With an explicit end, a clear bit
/// is only found inside the range; without one the string is taken as
/// zero-padded.
pub fn bitpos_range(s: &[u8], bit: bool, r: Range, end_given: bool) -> i64 {
    if r.start > r.end {
        return -1;
    }
    let (mut start, end) = (r.start as usize, r.end as usize);
    let mut bytes = end - start + 1;
    // A byte with the bits outside the range forced to "not found".
    let masked = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let pos = 'found: {
        if r.first_mask != 0 {
            let mut b = masked(s[start], r.first_mask);
            if r.last_mask != 0 && bytes == 1 {
                b = masked(b, r.last_mask);
            }
            let pos = bitpos(&[b], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'found pos;
            }
            start += 1;
            bytes -= 1;
        }
        // The last byte is handled apart when part of it is out of range.
        let whole = bytes - (r.last_mask != 0) as usize;
        if whole > 0 {
            let pos = bitpos(&s[start..start + whole], bit);
            if bytes == whole || (pos != -1 && pos != (whole as i64) << 3) {
                break 'found pos;
            }
            start += whole;
            bytes -= whole;
        }
        bitpos(&[masked(s[end], r.last_mask)], bit)
    };
    if end_given && !bit && pos == (bytes as i64) << 3 {
        return -1;
    }
    if pos != -1 {
        pos + ((start as i64) << 3)
    } else {
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bit-at-a-time reference implementations.
    fn bit_at(p: &[u8], i: u64) -> u64 {
        p.get((i >> 3) as usize).map_or(0, |b| ((b >> (7 - (i & 7))) & 1) as u64)
    }

    fn naive_bitpos(s: &[u8], bit: bool) -> i64 {
        (0..s.len() as u64 * 8)
            .find(|&i| bit_at(s, i) == bit as u64)
            .map_or(if bit { -1 } else { s.len() as i64 * 8 }, |i| i as i64)
    }

    fn sample(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn zeroed_buffers() {
        assert_eq!(zeroed(0), Some(vec![]));
        assert_eq!(zeroed(3), Some(vec![0, 0, 0]));
        let mut v = zeroed(100).unwrap();
        v.push(1);
        assert_eq!(v.len(), 101);
        assert_eq!(zeroed(usize::MAX >> 4), None);
    }

    #[test]
    fn popcount_matches_bytes() {
        for n in [0, 1, 7, 8, 31, 32, 33, 100, 1000] {
            let s = sample(n, n as u64 + 3);
            let want: u64 = s.iter().map(|b| b.count_ones() as u64).sum();
            assert_eq!(popcount(&s), want, "{n}");
            assert_eq!(popcount_words(&s), want, "{n}");
        }
    }

    #[test]
    fn bitpos_matches_naive() {
        let mut cases = vec![vec![], vec![0], vec![0xff], vec![0xff; 20], vec![0; 20], vec![0xff, 0xf0], vec![0, 0, 1]];
        for n in [1, 9, 17, 40, 64, 65, 200, 1000] {
            cases.push(sample(n, n as u64));
            let mut z = vec![0u8; n];
            z[n - 1] = 0x10;
            cases.push(z);
            let mut o = vec![0xffu8; n];
            o[n - 1] = 0xfe;
            cases.push(o);
        }
        for s in &cases {
            for bit in [false, true] {
                assert_eq!(bitpos(s, bit), naive_bitpos(s, bit), "{s:?} {bit}");
            }
        }
    }

    #[test]
    fn bitfields_round_trip_at_every_alignment() {
        let base = sample(24, 99);
        for bits in 1..=64u32 {
            for offset in 0..40u64 {
                let mut p = base.clone();
                let v = 0xA5A5_5A5A_F00F_0FF0u64 & low_mask(bits);
                set_unsigned(&mut p, offset, bits, v);
                assert_eq!(get_unsigned(&p, offset, bits), v, "{bits} {offset}");
                for i in 0..p.len() as u64 * 8 {
                    if i < offset || i >= offset + bits as u64 {
                        assert_eq!(bit_at(&p, i), bit_at(&base, i), "bit {i} changed ({bits} at {offset})");
                    }
                }
                let naive = (0..bits as u64).fold(0u64, |acc, j| acc << 1 | bit_at(&base, offset + j));
                assert_eq!(get_unsigned(&base, offset, bits), naive);
            }
        }
    }

    #[test]
    fn reads_past_the_end_are_zero() {
        assert_eq!(get_unsigned(&[0xff], 4, 8), 0xf0);
        assert_eq!(get_unsigned(&[], 1000, 64), 0);
        assert_eq!(get_signed(&[0x80], 0, 8), -128);
        assert_eq!(get_signed(&[0xff; 8], 0, 64), -1);
    }

    #[test]
    fn overflow_rules() {
        use Overflow::*;
        assert_eq!(check_unsigned_overflow(250, 10, 8, Wrap), (1, 4));
        assert_eq!(check_unsigned_overflow(250, 10, 8, Sat), (1, 255));
        assert_eq!(check_unsigned_overflow(5, -10, 8, Wrap), (-1, 251));
        assert_eq!(check_unsigned_overflow(5, -10, 8, Sat), (-1, 0));
        assert_eq!(check_unsigned_overflow(u64::MAX, 0, 8, Wrap), (1, 255));
        assert_eq!(check_signed_overflow(120, 10, 8, Wrap), (1, -126));
        assert_eq!(check_signed_overflow(-120, -10, 8, Sat), (-1, -128));
        assert_eq!(check_signed_overflow(i64::MAX, 1, 64, Wrap), (1, i64::MIN));
        assert_eq!(check_signed_overflow(i64::MIN, -1, 64, Sat), (-1, i64::MIN));
        assert_eq!(check_signed_overflow(-1, i64::MAX, 64, Wrap).0, 0);
    }

    #[test]
    fn bitop_pads_with_zeros() {
        let (a, b): (&[u8], &[u8]) = (b"\xff\xf0\x0f", b"\x0f");
        assert_eq!(bitop(BitOp::And, &[a, b]), b"\x0f\x00\x00");
        assert_eq!(bitop(BitOp::Or, &[b, a]), b"\xff\xf0\x0f");
        assert_eq!(bitop(BitOp::Xor, &[a, b]), b"\xf0\xf0\x0f");
        assert_eq!(bitop(BitOp::Not, &[b]), b"\xf0");
        assert_eq!(bitop(BitOp::And, &[b"", b""]), b"");
    }

    #[test]
    fn ranges() {
        let s = b"foobar";
        assert_eq!(count_range(s, Range::all(6)), 26);
        assert_eq!(count_range(s, Range::new(6, 1, 1, false)), 6);
        assert_eq!(count_range(s, Range::new(6, 5, 30, true)), 17);
        assert_eq!(bitpos_range(b"\xff\xf0\x00", false, Range::new(3, 0, -1, false), false), 12);
        assert_eq!(bitpos_range(b"\x00\xff\xf0", true, Range::new(3, 2, -1, false), false), 16);
        assert_eq!(bitpos_range(b"\x00\x00\x00", true, Range::new(3, 7, 15, true), true), -1);
        assert_eq!(bitpos_range(b"\xff\xff\xff", false, Range::new(3, 0, -1, false), true), -1);
        assert_eq!(bitpos_range(b"\xff\xff\xff", false, Range::new(3, 0, -1, false), false), 24);
    }
}
