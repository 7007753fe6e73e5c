//! Redis's intset, byte for byte: a sorted array of integers, all stored at
//! the width of the widest (2, 4 or 8 bytes), the compact encoding of sets
//! of integers. `encoding:u32le length:u32le` then the values, little-endian.

#[derive(Clone, PartialEq, Eq)]
pub struct IntSet {
    buf: Vec<u8>,
}

impl Default for IntSet {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for IntSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

fn width_for(v: i64) -> usize {
    if v >= i16::MIN as i64 && v <= i16::MAX as i64 {
        2
    } else if v >= i32::MIN as i64 && v <= i32::MAX as i64 {
        4
    } else {
        8
    }
}

impl IntSet {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(8);
        buf.extend_from_slice(&2u32.to_le_bytes());
        buf.extend_from_slice(&0u32.to_le_bytes());
        IntSet { buf }
    }

    /// Takes an intset blob (from an RDB file) after checking its header,
    /// size and strict ordering.
    pub fn from_bytes(buf: Vec<u8>) -> Option<IntSet> {
        if buf.len() < 8 {
            return None;
        }
        let width = u32::from_le_bytes(buf[0..4].try_into().ok()?) as usize;
        let len = u32::from_le_bytes(buf[4..8].try_into().ok()?) as usize;
        if ![2, 4, 8].contains(&width) || len.checked_mul(width)?.checked_add(8)? != buf.len() {
            return None;
        }
        let s = IntSet { buf };
        let mut prev: Option<i64> = None;
        for v in s.iter() {
            if prev.is_some_and(|p| p >= v) {
                return None;
            }
            prev = Some(v);
        }
        Some(s)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    fn width(&self) -> usize {
        u32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize
    }

    pub fn len(&self) -> usize {
        u32::from_le_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn set_len(&mut self, n: usize) {
        self.buf[4..8].copy_from_slice(&(n as u32).to_le_bytes());
    }

    /// The value at sorted position `i`.
    pub fn get(&self, i: usize) -> i64 {
        let w = self.width();
        let at = 8 + i * w;
        let b = &self.buf[at..at + w];
        match w {
            2 => i16::from_le_bytes([b[0], b[1]]) as i64,
            4 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            _ => i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        }
    }

    fn put(&mut self, i: usize, v: i64) {
        let w = self.width();
        let at = 8 + i * w;
        match w {
            2 => self.buf[at..at + 2].copy_from_slice(&(v as i16).to_le_bytes()),
            4 => self.buf[at..at + 4].copy_from_slice(&(v as i32).to_le_bytes()),
            _ => self.buf[at..at + 8].copy_from_slice(&v.to_le_bytes()),
        }
    }

    /// Binary search: Ok(position) if present, Err(insertion point).
    fn search(&self, v: i64) -> Result<usize, usize> {
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let m = self.get(mid);
            if m == v {
                return Ok(mid);
            } else if m < v {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Err(lo)
    }

    pub fn contains(&self, v: i64) -> bool {
        width_for(v) <= self.width() && self.search(v).is_ok()
    }

    /// Adds `v`; false if it was already there.
    pub fn insert(&mut self, v: i64) -> bool {
        if width_for(v) > self.width() {
            self.upgrade(width_for(v));
        }
        let Err(at) = self.search(v) else { return false };
        let n = self.len();
        let w = self.width();
        self.buf.resize(8 + (n + 1) * w, 0);
        self.buf.copy_within(8 + at * w..8 + n * w, 8 + (at + 1) * w);
        self.set_len(n + 1);
        self.put(at, v);
        true
    }

    fn upgrade(&mut self, width: usize) {
        let values: Vec<i64> = self.iter().collect();
        self.buf.truncate(0);
        self.buf.extend_from_slice(&(width as u32).to_le_bytes());
        self.buf.extend_from_slice(&(values.len() as u32).to_le_bytes());
        self.buf.resize(8 + values.len() * width, 0);
        for (i, v) in values.into_iter().enumerate() {
            self.put(i, v);
        }
    }

    /// Removes `v`; false if it was not there.
    pub fn remove(&mut self, v: i64) -> bool {
        if width_for(v) > self.width() {
            return false;
        }
        let Ok(at) = self.search(v) else { return false };
        let n = self.len();
        let w = self.width();
        self.buf.copy_within(8 + (at + 1) * w..8 + n * w, 8 + at * w);
        self.buf.truncate(8 + (n - 1) * w);
        self.set_len(n - 1);
        true
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = i64> + ExactSizeIterator + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    pub fn max(&self) -> Option<i64> {
        self.len().checked_sub(1).map(|i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Bytes of the intset in DUMP of `SADD s 5 -3 100000` on Redis 7.0.15.
    #[test]
    fn layout_matches_redis() {
        let mut s = IntSet::new();
        for v in [5, -3, 100000] {
            s.insert(v);
        }
        assert_eq!(s.as_bytes(), b"\x04\x00\x00\x00\x03\x00\x00\x00\xfd\xff\xff\xff\x05\x00\x00\x00\xa0\x86\x01\x00");
    }

    #[test]
    fn model_check() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut s = IntSet::new();
        let mut model = BTreeSet::new();
        for _ in 0..5000 {
            let v: i64 = match rng.gen_range(0..3) {
                0 => rng.gen_range(-300..300),
                1 => rng.gen_range(-100_000..100_000),
                _ => rng.gen(),
            };
            if rng.gen_bool(0.7) {
                assert_eq!(s.insert(v), model.insert(v));
            } else {
                assert_eq!(s.remove(v), model.remove(&v));
            }
        }
        assert!(s.iter().eq(model.iter().copied()));
        assert_eq!(IntSet::from_bytes(s.as_bytes().to_vec()), Some(s.clone()));
        let mut unsorted = s.as_bytes().to_vec();
        let w = u32::from_le_bytes(unsorted[0..4].try_into().unwrap()) as usize;
        unsorted[8..8 + w].copy_from_slice(&vec![0x7f; w]);
        assert!(IntSet::from_bytes(unsorted).is_none());
        assert!(IntSet::from_bytes(vec![2, 0, 0, 0, 9, 0, 0, 0]).is_none());
    }
}
