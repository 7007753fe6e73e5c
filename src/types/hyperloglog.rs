//! HyperLogLog in Redis's exact representation (hyperloglog.c), so that a
//! value copied between Redis and oxkey with GET/SET counts the same.
//!
//! The value is a string: a 16-byte header (`HYLL`, the encoding, three
//! unused bytes, the cached cardinality as 8 little-endian bytes whose top
//! bit marks it stale) followed by 16384 registers, either dense (6 bits
//! each, 12288 bytes) or sparse (run-length opcodes):
//!
//! - ZERO `00xxxxxx`: 1..=64 registers at 0;
//! - XZERO `01xxxxxx yyyyyyyy`: 1..=16384 registers at 0;
//! - VAL `1vvvvvxx`: 1..=4 registers at value 1..=32.
//!
//! Values are hashed with MurmurHash64A (seed 0xadc83b19): the low 14 bits
//! pick the register, the run of zeros above them (plus one) is the
//! candidate value. The cardinality is Ertl's improved estimator over the
//! register histogram ("New cardinality estimation algorithms for
//! HyperLogLog sketches", as Redis 5+ computes it).
//!
//! Every sparse walk checks that the runs cover exactly 16384 registers
//! and never indexes past them (CVE-2019-10192/10193, CVE-2025-32023):
//! a corrupted string is reported, never trusted.

pub const P: u32 = 14;
/// Bits of the hash above the register index.
pub const Q: u32 = 64 - P;
pub const REGISTERS: usize = 1 << P;
const P_MASK: u64 = REGISTERS as u64 - 1;
const REGISTER_MAX: u8 = 63;
pub const HDR_SIZE: usize = 16;
/// Length of a dense HLL string: header plus 16384 6-bit registers.
pub const DENSE_SIZE: usize = HDR_SIZE + (REGISTERS * 6).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const MAX_ENCODING: u8 = 1;

const SPARSE_VAL_MAX_VALUE: u8 = 32;
const SPARSE_VAL_MAX_LEN: usize = 4;
const SPARSE_ZERO_MAX_LEN: usize = 64;
const SPARSE_XZERO_MAX_LEN: usize = 16384;

/// 1 / (2 ln 2), the estimator's constant for m → ∞.
#[allow(clippy::excessive_precision)]
const ALPHA_INF: f64 = 0.721347520444481703680; // As Redis's HLL_ALPHA_INF literal.

/// The representation is corrupted (Redis's INVALIDOBJ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// MurmurHash2, 64-bit version, reading the input as little-endian words
/// (Redis's endian-neutral variant).
pub fn murmurhash64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    // Plain index loops: this runs per PFADD element, and stays fast in
    // unoptimised builds too (PFSELFTEST hashes 10 million elements).
    let whole = key.len() & !7;
    let mut i = 0;
    while i < whole {
        let w = &key[i..i + 8];
        let mut k = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
        i += 8;
    }
    if whole < key.len() {
        let mut j = key.len();
        while j > whole {
            j -= 1;
            h ^= (key[j] as u64) << (8 * (j - whole));
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and the length of its `000..1` pattern
/// (1..=Q+1), as Redis's hllPatLen.
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmurhash64a(ele, 0xadc8_3b19);
    let index = (hash & P_MASK) as usize;
    // The sentinel bit at Q bounds the count at Q + 1.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------
// Header

/// A new empty HLL: sparse, one XZERO covering every register.
pub fn new_sparse() -> Vec<u8> {
    let mut s = Vec::with_capacity(HDR_SIZE + 2);
    s.extend_from_slice(b"HYLL");
    s.push(SPARSE);
    s.resize(HDR_SIZE, 0);
    let mut left = REGISTERS;
    while left > 0 {
        let run = left.min(SPARSE_XZERO_MAX_LEN);
        s.extend_from_slice(&xzero(run));
        left -= run;
    }
    s
}

/// Whether a string passes Redis's isHLLObjectOrReply checks: long enough
/// for the header, the magic, a known encoding, and a dense one exactly
/// sized. (Sparse bodies are checked when walked.)
pub fn is_valid(s: &[u8]) -> bool {
    s.len() >= HDR_SIZE && &s[..4] == b"HYLL" && s[4] <= MAX_ENCODING && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

/// The encoding byte of a valid HLL.
pub fn encoding(s: &[u8]) -> u8 {
    s[4]
}

/// The cached cardinality, unless it is marked stale.
pub fn cached_card(s: &[u8]) -> Option<u64> {
    let card = u64::from_le_bytes(s[8..16].try_into().unwrap_or([0xff; 8]));
    (card >> 63 == 0).then_some(card)
}

pub fn set_cached_card(s: &mut [u8], card: u64) {
    s[8..16].copy_from_slice(&card.to_le_bytes());
}

pub fn invalidate_cache(s: &mut [u8]) {
    s[15] |= 0x80;
}

// ---------------------------------------------------------------------------
// Dense registers

/// Register `i` of a dense register array (6 bits, LSB first).
#[inline]
pub fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = regs[byte] as u16;
    // A register starting at bit 0 or 2 lies in one byte; reading the next
    // one would run past the last register.
    let b1 = if fb > 2 { regs[byte + 1] as u16 } else { 0 };
    (((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX as u16) as u8
}

#[inline]
pub fn dense_put(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let v = val as u16;
    regs[byte] = (regs[byte] as u16 & !((REGISTER_MAX as u16) << fb) | (v << fb)) as u8;
    if fb > 2 {
        let b1 = &mut regs[byte + 1];
        *b1 = (*b1 as u16 & !((REGISTER_MAX as u16) >> (8 - fb)) | (v >> (8 - fb))) as u8;
    }
}

/// Raises register `i` to `count`; true if it changed.
#[inline]
pub fn dense_set(regs: &mut [u8], i: usize, count: u8) -> bool {
    if count > dense_get(regs, i) {
        dense_put(regs, i, count);
        true
    } else {
        false
    }
}

/// Calls `f` with every register of a dense array, 4 registers per 3 bytes.
#[inline]
fn for_each_dense(regs: &[u8], mut f: impl FnMut(usize, u8)) {
    for (k, c) in regs.chunks_exact(3).enumerate() {
        let (b0, b1, b2) = (c[0], c[1], c[2]);
        f(4 * k, b0 & 63);
        f(4 * k + 1, (b0 >> 6 | b1 << 2) & 63);
        f(4 * k + 2, (b1 >> 4 | b2 << 4) & 63);
        f(4 * k + 3, b2 >> 2);
    }
}

// ---------------------------------------------------------------------------
// Sparse opcodes

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Zero(usize),
    XZero(usize),
    Val(u8, usize),
}

#[inline]
fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}

#[inline]
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}

#[inline]
fn is_val(b: u8) -> bool {
    b & 0x80 != 0
}

#[inline]
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}

#[inline]
fn val_len(b: u8) -> usize {
    (b & 3) as usize + 1
}

#[inline]
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}

#[inline]
fn xzero_len(b: u8, next: u8) -> usize {
    (((b & 0x3f) as usize) << 8 | next as usize) + 1
}

#[inline]
fn val_op(value: u8, len: usize) -> u8 {
    ((value - 1) << 2 | (len as u8 - 1)) | 0x80
}

#[inline]
fn xzero(len: usize) -> [u8; 2] {
    let l = len - 1;
    [(l >> 8) as u8 | 0x40, (l & 0xff) as u8]
}

/// The opcodes of a sparse body in order. An XZERO cut off by the end of
/// the string reads its second byte as 0, as Redis reads the string's
/// terminating NUL.
pub struct Ops<'a> {
    body: &'a [u8],
    at: usize,
}

impl Iterator for Ops<'_> {
    type Item = Op;

    fn next(&mut self) -> Option<Op> {
        let b = *self.body.get(self.at)?;
        let op = if is_zero(b) {
            self.at += 1;
            Op::Zero(zero_len(b))
        } else if is_xzero(b) {
            let next = self.body.get(self.at + 1).copied().unwrap_or(0);
            self.at += 2;
            Op::XZero(xzero_len(b, next))
        } else {
            self.at += 1;
            Op::Val(val_value(b), val_len(b))
        };
        Some(op)
    }
}

/// The opcodes after the header of a sparse HLL.
pub fn ops(hll: &[u8]) -> Ops<'_> {
    Ops { body: hll.get(HDR_SIZE..).unwrap_or(&[]), at: 0 }
}

/// Walks a sparse HLL's runs as (first register, run length, value),
/// failing if they do not cover exactly the 16384 registers.
fn for_each_run(hll: &[u8], mut f: impl FnMut(usize, usize, u8)) -> Result<(), Corrupt> {
    let mut idx = 0usize;
    for op in ops(hll) {
        let (len, val) = match op {
            Op::Zero(n) | Op::XZero(n) => (n, 0),
            Op::Val(v, n) => (n, v),
        };
        if idx + len > REGISTERS {
            return Err(Corrupt);
        }
        f(idx, len, val);
        idx += len;
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Converts a sparse HLL to dense in place (a dense one is left alone).
/// The header, cached cardinality included, is kept.
pub fn sparse_to_dense(hll: &mut Vec<u8>) -> Result<(), Corrupt> {
    if encoding(hll) == DENSE {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&hll[..HDR_SIZE]);
    dense[4] = DENSE;
    let regs = &mut dense[HDR_SIZE..];
    for_each_run(hll, |first, len, val| {
        if val != 0 {
            (first..first + len).for_each(|i| dense_put(regs, i, val));
        }
    })?;
    *hll = dense;
    Ok(())
}

/// Raises register `index` to `count` in a sparse HLL, as Redis's
/// hllSparseSet: the opcode covering the register is split (ZERO/XZERO
/// into up to XZERO-VAL-XZERO, VAL into VAL-VAL-VAL) and adjacent equal
/// VALs are merged. The HLL turns dense when `count` exceeds what VAL can
/// hold or when the string would outgrow `sparse_max` bytes. True if the
/// register changed.
///
/// A corrupted HLL ending in an XZERO cut after its first byte is split as
/// Redis splits it, reading a zero second byte; what Redis reads there on
/// later edits depends on leftovers in its buffer, oxkey keeps reading 0.
pub fn sparse_set(hll: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    if count > SPARSE_VAL_MAX_VALUE {
        return promote(hll, index, count);
    }
    // Like Redis's sds string: room for 3 more bytes and a zero terminator
    // that a truncated XZERO reads.
    let len = hll.len();
    hll.resize(len + 4, 0);
    let outcome = sparse_set_in_place(hll, len, index, count, sparse_max);
    match outcome {
        Edit::Done(new_len) => {
            hll.truncate(new_len);
            invalidate_cache(hll);
            Ok(true)
        }
        Edit::Unchanged => {
            hll.truncate(len);
            Ok(false)
        }
        Edit::Promote => {
            hll.truncate(len);
            promote(hll, index, count)
        }
        Edit::Corrupt => {
            hll.truncate(len);
            Err(Corrupt)
        }
    }
}

enum Edit {
    Done(usize),
    Unchanged,
    Promote,
    Corrupt,
}

/// The body of `sparse_set` on `buf`, whose first `len` bytes are the HLL
/// and the rest zero padding.
fn sparse_set_in_place(buf: &mut [u8], len: usize, index: usize, count: u8, sparse_max: usize) -> Edit {
    let sparse = HDR_SIZE;
    let mut end = len;
    // Step 1: find the opcode covering `index`.
    let (mut p, mut first, mut prev, mut span) = (sparse, 0usize, None, 0usize);
    while p < end {
        let b = buf[p];
        let mut oplen = 1;
        span = if is_zero(b) {
            zero_len(b)
        } else if is_val(b) {
            val_len(b)
        } else {
            oplen = 2;
            xzero_len(b, buf[p + 1])
        };
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Edit::Corrupt;
    }
    let op = buf[p];
    let next = if is_xzero(op) { p + 2 } else { p + 1 };
    let next = (next < end).then_some(next);
    let runlen = span;

    // Step 2: trivial updates in place.
    let mut updated = false;
    if is_val(op) {
        if val_value(op) >= count {
            return Edit::Unchanged;
        }
        if runlen == 1 {
            buf[p] = val_op(count, 1);
            updated = true;
        }
    } else if is_zero(op) && runlen == 1 {
        buf[p] = val_op(count, 1);
        updated = true;
    }

    if !updated {
        // General case: split the opcode into up to three.
        let mut seq = [0u8; 5];
        let mut n = 0;
        let last = first + span - 1;
        if is_val(op) {
            let cur = val_value(op);
            if index != first {
                seq[n] = val_op(cur, index - first);
                n += 1;
            }
            seq[n] = val_op(count, 1);
            n += 1;
            if index != last {
                seq[n] = val_op(cur, last - index);
                n += 1;
            }
        } else {
            if index != first {
                push_zeros(&mut seq, &mut n, index - first);
            }
            seq[n] = val_op(count, 1);
            n += 1;
            if index != last {
                push_zeros(&mut seq, &mut n, last - index);
            }
        }
        // Step 3: put the new sequence in place of the old opcode.
        let oldlen = if is_xzero(op) { 2 } else { 1 };
        let delta = n as isize - oldlen as isize;
        if delta > 0 && len + delta as usize > sparse_max {
            return Edit::Promote;
        }
        if let Some(next) = next {
            if delta != 0 {
                buf.copy_within(next..end, (next as isize + delta) as usize);
            }
        }
        end = (end as isize + delta) as usize;
        buf[p..p + n].copy_from_slice(&seq[..n]);
    }

    // Step 4: merge adjacent VALs of equal value around the change.
    let mut p = prev.unwrap_or(sparse);
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        let b = buf[p];
        if is_xzero(b) {
            p += 2;
            continue;
        } else if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < end && is_val(buf[p + 1]) {
            let (v1, v2) = (val_value(b), val_value(buf[p + 1]));
            let len = val_len(b) + val_len(buf[p + 1]);
            if v1 == v2 && len <= SPARSE_VAL_MAX_LEN {
                buf[p + 1] = val_op(v1, len);
                buf.copy_within(p + 1..end + 1, p);
                end -= 1;
                continue;
            }
        }
        p += 1;
    }
    Edit::Done(end)
}

/// Appends a run of `len` zero registers to a split sequence: ZERO, or
/// XZERO when longer than ZERO can say.
fn push_zeros(seq: &mut [u8; 5], n: &mut usize, len: usize) {
    if len > SPARSE_ZERO_MAX_LEN {
        seq[*n..*n + 2].copy_from_slice(&xzero(len));
        *n += 2;
    } else {
        seq[*n] = (len - 1) as u8;
        *n += 1;
    }
}

/// Sparse to dense, then the register update on the dense form.
fn promote(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    sparse_to_dense(hll)?;
    Ok(dense_set(&mut hll[HDR_SIZE..], index, count))
}

// ---------------------------------------------------------------------------
// Commands' building blocks

/// Adds an element; true if a register changed. `sparse_max` is
/// `hll-sparse-max-bytes` (only read for sparse HLLs).
pub fn add(hll: &mut Vec<u8>, ele: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    set(hll, index, count, sparse_max)
}

/// Raises a register in whichever encoding the HLL has now.
pub fn set(hll: &mut Vec<u8>, index: usize, count: u8, sparse_max: usize) -> Result<bool, Corrupt> {
    match encoding(hll) {
        DENSE => Ok(dense_set(&mut hll[HDR_SIZE..], index, count)),
        SPARSE => sparse_set(hll, index, count, sparse_max),
        _ => Err(Corrupt),
    }
}

/// How many registers hold each value (0..=63).
pub type Histogram = [u32; 64];

pub fn histogram(hll: &[u8]) -> Result<Histogram, Corrupt> {
    let mut h = [0u32; 64];
    match encoding(hll) {
        DENSE => for_each_dense(&hll[HDR_SIZE..DENSE_SIZE], |_, r| h[r as usize] += 1),
        _ => for_each_run(hll, |_, len, val| h[val as usize] += len as u32)?,
    }
    Ok(h)
}

/// Histogram of plain one-byte registers (PFCOUNT of several keys).
pub fn raw_histogram(regs: &[u8; REGISTERS]) -> Histogram {
    // Four partial histograms, so that runs of equal registers do not wait
    // on one counter's previous increment.
    let mut parts = [[0u32; 64]; 4];
    for c in regs.chunks_exact(4) {
        for (part, &r) in parts.iter_mut().zip(c) {
            part[(r & 63) as usize] += 1;
        }
    }
    let mut h = [0u32; 64];
    for part in &parts {
        for (t, p) in h.iter_mut().zip(part) {
            *t += p;
        }
    }
    h
}

/// Ertl's sigma function.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let z_prev = z;
        z += x * y;
        y += y;
        if z_prev == z {
            return z;
        }
    }
}

/// Ertl's tau function.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let z_prev = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if z_prev == z {
            return z / 3.0;
        }
    }
}

/// The cardinality estimate from a register histogram, computed in the
/// same order as Redis so the floating point result is identical.
pub fn estimate(h: &Histogram) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - h[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The estimated cardinality of one HLL.
pub fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    histogram(hll).map(|h| estimate(&h))
}

/// max[i] = MAX(max[i], register i of `hll`).
pub fn merge(max: &mut [u8; REGISTERS], hll: &[u8]) -> Result<(), Corrupt> {
    match encoding(hll) {
        DENSE => merge_dense(max, hll),
        _ => for_each_run(hll, |first, len, val| {
            if val != 0 {
                max[first..first + len].iter_mut().for_each(|m| *m = (*m).max(val));
            }
        })?,
    }
    Ok(())
}

/// max[i] = MAX(max[i], register i of the dense HLL `hll`): PFCOUNT of
/// several keys runs this per key, so 32 registers at a time with AVX2,
/// else eight at a time in a u64.
fn merge_dense(max: &mut [u8; REGISTERS], hll: &[u8]) {
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        done = unsafe { merge_dense_avx2(max, hll) };
    }
    merge_dense_swar(&mut max[done / 3 * 4..], &hll[HDR_SIZE + done..DENSE_SIZE]);
}

/// Merges 24 bytes of registers (32 registers) a step, as long as a step's
/// 32-byte read (from 4 bytes before its 24: the header precedes the
/// first) stays inside `hll`. Returns the register bytes merged.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn merge_dense_avx2(max: &mut [u8; REGISTERS], hll: &[u8]) -> usize {
    use std::arch::x86_64::*;
    // Per 128-bit half: each three bytes of registers into a dword, low
    // byte first (the load starts 4 bytes early, so the low half's bytes
    // are at 4..16 and the high half's at 0..12).
    let shuffle = _mm256_setr_epi8(
        4, 5, 6, -1, 7, 8, 9, -1, 10, 11, 12, -1, 13, 14, 15, -1, 0, 1, 2, -1, 3, 4, 5, -1, 6, 7, 8, -1, 9, 10, 11, -1,
    );
    let field = |bits: i32| _mm256_set1_epi32(0x3f << bits);
    let (f0, f1, f2, f3) = (field(0), field(6), field(12), field(18));
    let dense_bytes = DENSE_SIZE - HDR_SIZE;
    let mut done = 0;
    while done + 24 <= dense_bytes && HDR_SIZE + done + 28 <= hll.len() {
        // SAFETY: the read is hll[HDR_SIZE + done - 4 .. HDR_SIZE + done + 28],
        // inside `hll` by the loop condition (HDR_SIZE >= 4); the write is
        // max[done / 3 * 4 ..][..32], inside `max` as done <= dense_bytes - 24.
        unsafe {
            let x = _mm256_loadu_si256(hll.as_ptr().add(HDR_SIZE + done - 4).cast());
            let x = _mm256_shuffle_epi8(x, shuffle);
            // The four 6-bit fields of each dword spread one per byte.
            let lo = _mm256_or_si256(_mm256_and_si256(x, f0), _mm256_slli_epi32(_mm256_and_si256(x, f1), 2));
            let hi = _mm256_or_si256(
                _mm256_slli_epi32(_mm256_and_si256(x, f2), 4),
                _mm256_slli_epi32(_mm256_and_si256(x, f3), 6),
            );
            let t = max.as_mut_ptr().add(done / 3 * 4).cast::<__m256i>();
            _mm256_storeu_si256(t, _mm256_max_epu8(_mm256_loadu_si256(t), _mm256_or_si256(lo, hi)));
        }
        done += 24;
    }
    done
}

/// The same for packed registers `regs` into `max`, eight a step: the
/// eight 6-bit fields of six bytes spread one per byte of a u64, then the
/// bytewise maximum taken without a branch.
fn merge_dense_swar(max: &mut [u8], regs: &[u8]) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = !LOW7;
    for (c, m) in regs.chunks_exact(6).zip(max.chunks_exact_mut(8)) {
        let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], 0, 0]);
        // 24-bit halves at bits 0 and 32, 12-bit quarters at 0 and 16 of
        // each, 6-bit registers at 0 and 8 of each quarter.
        let x = (x & 0xff_ffff) | (x & 0xffff_ff00_0000) << 8;
        let x = (x & 0x0000_0fff_0000_0fff) | (x & 0x00ff_f000_00ff_f000) << 4;
        let regs8 = (x & 0x003f_003f_003f_003f) | (x & 0x0fc0_0fc0_0fc0_0fc0) << 2;
        let cur = u64::from_le_bytes([m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]]);
        // Per byte (all values < 64): bit 7 of (cur + 128 - new) is set
        // where cur >= new, and no byte borrows from the next.
        let ge = (((cur | HIGH) - regs8) & HIGH) >> 7;
        let keep = ge * 0xff;
        m.copy_from_slice(&((cur & keep) | (regs8 & !keep)).to_le_bytes());
    }
}

/// The registers of a dense HLL.
pub fn dense_registers(hll: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let regs = &hll[HDR_SIZE..DENSE_SIZE];
    (0..REGISTERS).map(move |i| dense_get(regs, i))
}

/// PFDEBUG DECODE's text: `z:N`, `Z:N` and `v:VALUE,N` per opcode.
pub fn decode(hll: &[u8]) -> String {
    let mut s = String::new();
    for op in ops(hll) {
        if !s.is_empty() {
            s.push(' ');
        }
        match op {
            Op::Zero(n) => s.push_str(&format!("z:{n}")),
            Op::XZero(n) => s.push_str(&format!("Z:{n}")),
            Op::Val(v, n) => s.push_str(&format!("v:{v},{n}")),
        }
    }
    s
}

/// PFSELFTEST, as Redis runs it: dense register access against a byte
/// array with random values, then 10 million elements added to a dense
/// and a sparse HLL, which must agree and stay within 6 standard errors
/// at every power of ten.
pub fn selftest(sparse_max: usize, mut rand: impl FnMut() -> u32) -> Result<(), String> {
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..4].copy_from_slice(b"HYLL");
    let mut bytes = vec![0u8; REGISTERS];
    for _ in 0..1000 {
        let regs = &mut dense[HDR_SIZE..];
        for (i, b) in bytes.iter_mut().enumerate() {
            let r = (rand() & REGISTER_MAX as u32) as u8;
            *b = r;
            dense_put(regs, i, r);
        }
        for (i, &want) in bytes.iter().enumerate() {
            let got = dense_get(regs, i);
            if got != want {
                return Err(format!("TESTFAILED Register {i} should be {want} but is {got}"));
            }
        }
    }

    dense[HDR_SIZE..].fill(0);
    let mut sparse = new_sparse();
    let relerr = 1.04 / (REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = rand() as u64 | (rand() as u64) << 32;
    let corrupt = |_| "TESTFAILED sparse HLL corrupted".to_string();
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_le_bytes();
        let (index, cnt) = pat_len(&ele);
        dense_set(&mut dense[HDR_SIZE..], index, cnt);
        set(&mut sparse, index, cnt, sparse_max).map_err(corrupt)?;
        if j != checkpoint {
            continue;
        }
        if j < (sparse_max / 2) as u64 && encoding(&sparse) != SPARSE {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let card = count(&dense).map_err(corrupt)?;
        if card != count(&sparse).map_err(corrupt)? {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as u64;
        // Collisions make a large error at 10 likely now and then.
        if j == 10 {
            maxerr = 1;
        }
        let abserr = (checkpoint as i64 - card as i64).unsigned_abs();
        if abserr > maxerr {
            return Err(format!("TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"));
        }
        checkpoint *= 10;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(n: u32, sparse_max: usize) -> Vec<u8> {
        let mut h = new_sparse();
        for i in 0..n {
            add(&mut h, format!("ele:{i}").as_bytes(), sparse_max).unwrap();
        }
        h
    }

    #[test]
    fn empty_hll_layout() {
        assert_eq!(new_sparse(), b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
        assert_eq!(decode(&new_sparse()), "Z:16384");
        assert_eq!(count(&new_sparse()), Ok(0));
    }

    #[test]
    fn murmur_reference_values() {
        // hllPatLen of "a" on Redis: PFADD h a, PFDEBUG DECODE h.
        assert_eq!(murmurhash64a(b"", 0), 0);
        let (i, c) = pat_len(b"a");
        assert!(i < REGISTERS && (1..=51).contains(&c));
    }

    #[test]
    fn dense_register_access() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        for i in 0..REGISTERS {
            dense_put(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8);
        }
        let mut seen = 0;
        for_each_dense(&regs, |i, r| {
            assert_eq!(r, (i % 64) as u8);
            seen += 1;
        });
        assert_eq!(seen, REGISTERS);
    }

    #[test]
    fn sparse_and_dense_agree() {
        for n in [1, 10, 100, 1000, 3000] {
            let sparse = filled(n, 1 << 20);
            assert_eq!(encoding(&sparse), SPARSE);
            let mut dense = sparse.clone();
            sparse_to_dense(&mut dense).unwrap();
            assert_eq!(count(&sparse), count(&dense), "{n}");
            let mut a = [0u8; REGISTERS];
            let mut b = [0u8; REGISTERS];
            merge(&mut a, &sparse).unwrap();
            merge(&mut b, &dense).unwrap();
            assert!(a == b);
            assert_eq!(estimate(&raw_histogram(&a)), count(&dense).unwrap());
            assert!(dense_registers(&dense).eq(a.iter().copied()));
        }
    }

    #[test]
    fn promotes_past_sparse_max() {
        let h = filled(2000, 3000);
        assert_eq!(encoding(&h), DENSE);
        assert_eq!(h.len(), DENSE_SIZE);
        let h = filled(10, 3000);
        assert_eq!(encoding(&h), SPARSE);
    }

    #[test]
    fn estimates_are_close() {
        let h = filled(100_000, 3000);
        let c = count(&h).unwrap() as f64;
        assert!((c - 100_000.0).abs() / 100_000.0 < 0.03, "{c}");
    }

    #[test]
    fn corrupted_runs_are_rejected() {
        let mut short = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xfe".to_vec(); // 16383 registers
        assert_eq!(count(&short), Err(Corrupt));
        assert_eq!(sparse_to_dense(&mut short), Err(Corrupt));
        let mut long = new_sparse();
        long.push(0x80); // one more VAL
        assert_eq!(count(&long), Err(Corrupt));
        let mut max = [0u8; REGISTERS];
        assert_eq!(merge(&mut max, &long), Err(Corrupt));
        // 131073 XZERO:16384 (the idx overflow of CVE-2025-32023), then a VAL.
        let mut huge = new_sparse();
        for _ in 0..131_073 {
            huge.extend_from_slice(&[0x7f, 0xff]);
        }
        huge.push(0x80);
        assert_eq!(count(&huge), Err(Corrupt));
        assert_eq!(merge(&mut max, &huge), Err(Corrupt));
        assert_eq!(sparse_to_dense(&mut huge), Err(Corrupt));
        // A truncated XZERO reads a zero low byte: Z:(0x3f<<8)+1.
        let cut = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f".to_vec();
        assert_eq!(decode(&cut), "Z:16129");
        let mut no_body = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0".to_vec();
        assert_eq!(sparse_set(&mut no_body, 5, 3, 3000), Err(Corrupt));
    }

    #[test]
    fn dense_merge_takes_each_register_maximum() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x2545_f491_4f6c_dd1d);
        for _ in 0..4 {
            let mut hll = vec![0u8; DENSE_SIZE];
            let mut max = [0u8; REGISTERS];
            for (i, m) in max.iter_mut().enumerate() {
                dense_put(&mut hll[HDR_SIZE..], i, rng.gen_range(0..64));
                *m = rng.gen_range(0..64);
            }
            let want: Vec<u8> = (0..REGISTERS).map(|i| max[i].max(dense_get(&hll[HDR_SIZE..], i))).collect();
            let mut swar = max;
            merge_dense_swar(&mut swar, &hll[HDR_SIZE..]);
            assert_eq!(&swar[..], &want[..]);
            merge_dense(&mut max, &hll);
            assert_eq!(&max[..], &want[..]);
        }
    }

    #[test]
    fn cache_bits() {
        let mut h = new_sparse();
        assert_eq!(cached_card(&h), Some(0));
        invalidate_cache(&mut h);
        assert_eq!(cached_card(&h), None);
        set_cached_card(&mut h, 42);
        assert_eq!(cached_card(&h), Some(42));
    }

    #[test]
    fn validity() {
        assert!(is_valid(&new_sparse()));
        assert!(!is_valid(b"HYLL\x01\0\0"));
        assert!(!is_valid(b"HYLX\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff"));
        assert!(!is_valid(b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff"));
        assert!(!is_valid(b"HYLL\x00\0\0\0\0\0\0\0\0\0\0\0\x7f\xff"));
        let mut d = new_sparse();
        sparse_to_dense(&mut d).unwrap();
        assert!(is_valid(&d));
    }
}
