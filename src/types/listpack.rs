//! Redis's listpack, byte for byte: the compact encoding of small hashes,
//! sets, sorted sets and list nodes. Keeping Redis's exact layout lets RDB
//! files carry these blobs unchanged in both directions.
//!
//! Layout: `total_bytes:u32le num_elements:u16le entry... 0xFF`; each entry is
//! `encoding+data` followed by `backlen` (the size of encoding+data in 1–5
//! bytes, readable from its end), so the list can be walked both ways.
//! Positions handed out by this API are byte offsets of entries.

pub const HEADER: usize = 6;
pub const EOF: u8 = 0xFF;
/// num_elements saturates here, as in Redis; the real count is then scanned.
const COUNT_UNKNOWN: u16 = u16::MAX;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl Entry<'_> {
    /// The entry as bytes (integers printed in decimal).
    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Entry::Int(i) => crate::util::i64_to_bytes(*i),
            Entry::Str(s) => s.to_vec(),
        }
    }

    /// The entry's bytes; an integer is printed into `buf`.
    pub fn bytes<'b>(&'b self, buf: &'b mut [u8; 20]) -> &'b [u8] {
        match *self {
            Entry::Str(s) => s,
            Entry::Int(i) => crate::util::fmt_i64(i, buf),
        }
    }

    /// Compares with a byte string as Redis's lpCompare does (an integer
    /// entry equals the canonical decimal text of its value).
    pub fn eq_bytes(&self, s: &[u8]) -> bool {
        match self {
            Entry::Str(d) => *d == s,
            Entry::Int(i) => crate::util::parse_i64(s) == Some(*i),
        }
    }
}

#[derive(Clone)]
pub struct Listpack {
    /// The listpack's bytes (their count is in its header), then room up to
    /// the allocator's size class for that count. Redis reallocs a listpack
    /// on every change and jemalloc rounds every block up to its class
    /// anyway: holding the whole class takes the same memory, and a change
    /// that stays within it calls no allocator at all. A boxed slice is 16
    /// bytes, so the enums holding a listpack stay small.
    buf: Box<[u8]>,
}

impl PartialEq for Listpack {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Listpack {}

impl Default for Listpack {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Listpack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The entry a byte string is stored as: an integer when it is one in
/// canonical form (Redis's lpStringToInt64, at most 20 bytes).
pub fn encoding_of(v: &[u8]) -> Entry<'_> {
    if v.len() <= 20 {
        if let Some(i) = crate::util::parse_i64(v) {
            return Entry::Int(i);
        }
    }
    Entry::Str(v)
}

/// The bytes the encoding of `e` starts with, and how many: all of it for
/// an integer, the length prefix for a string (whose bytes follow).
fn prefix(e: &Entry) -> ([u8; 9], usize) {
    let mut p = [0u8; 9];
    let n = match *e {
        Entry::Int(v) if (0..=127).contains(&v) => {
            p[0] = v as u8;
            1
        }
        Entry::Int(v) if (-4096..=4095).contains(&v) => {
            let u = if v < 0 { ((1 << 13) + v) as u16 } else { v as u16 };
            p[0] = 0xC0 | (u >> 8) as u8;
            p[1] = u as u8;
            2
        }
        Entry::Int(v) if (-32768..=32767).contains(&v) => {
            p[0] = 0xF1;
            p[1..3].copy_from_slice(&(v as i16).to_le_bytes());
            3
        }
        Entry::Int(v) if (-8_388_608..=8_388_607).contains(&v) => {
            p[0] = 0xF2;
            p[1..4].copy_from_slice(&(v as i32).to_le_bytes()[..3]);
            4
        }
        Entry::Int(v) if (i32::MIN as i64..=i32::MAX as i64).contains(&v) => {
            p[0] = 0xF3;
            p[1..5].copy_from_slice(&(v as i32).to_le_bytes());
            5
        }
        Entry::Int(v) => {
            p[0] = 0xF4;
            p[1..9].copy_from_slice(&v.to_le_bytes());
            9
        }
        Entry::Str(s) if s.len() < 64 => {
            p[0] = 0x80 | s.len() as u8;
            1
        }
        Entry::Str(s) if s.len() < 4096 => {
            p[0] = 0xE0 | (s.len() >> 8) as u8;
            p[1] = s.len() as u8;
            2
        }
        Entry::Str(s) => {
            p[0] = 0xF0;
            p[1..5].copy_from_slice(&(s.len() as u32).to_le_bytes());
            5
        }
    };
    (p, n)
}

/// The string bytes that follow the prefix (none for an integer).
fn data<'a>(e: &Entry<'a>) -> &'a [u8] {
    match *e {
        Entry::Str(s) => s,
        Entry::Int(_) => &[],
    }
}

/// Size of a whole entry: encoding, data and backlen.
fn entry_size(e: &Entry) -> usize {
    let l = prefix(e).1 + data(e).len();
    l + backlen_size(l)
}

/// Writes the entry for `e` into `dst`, which is `entry_size(e)` long.
fn write_entry(e: &Entry, dst: &mut [u8]) {
    let (p, n) = prefix(e);
    let d = data(e);
    let l = n + d.len();
    dst[..n].copy_from_slice(&p[..n]);
    dst[n..l].copy_from_slice(d);
    // The backlen: its bytes hold the size 7 bits each, most significant
    // first, and every byte but the first carries the continuation bit.
    let bl = backlen_size(l);
    for (j, b) in dst[l..l + bl].iter_mut().enumerate() {
        let byte = ((l >> (7 * (bl - 1 - j))) & 127) as u8;
        *b = if j == 0 { byte } else { byte | 128 };
    }
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes held for a listpack of `total` bytes: its size class.
pub fn room(total: usize) -> usize {
    crate::alloc::chunk_size(total, 1)
}

/// The listpack in a held block (its bytes, then room up to their size
/// class), by the byte count in its header.
#[inline]
pub fn held(block: &[u8]) -> &[u8] {
    let total = u32::from_le_bytes([block[0], block[1], block[2], block[3]]) as usize;
    &block[..total]
}

/// `v`, whose first `len` bytes are kept, as a block of exactly the size
/// class of `len`: one realloc at most, none when `v` already is one.
pub fn hold(mut v: Vec<u8>, len: usize) -> Box<[u8]> {
    let want = room(len);
    if v.capacity() > want {
        v.truncate(want);
        v.shrink_to(want);
    } else {
        v.reserve_exact(want - v.len());
    }
    v.resize(want, 0);
    v.into_boxed_slice()
}

impl Listpack {
    pub fn new() -> Self {
        let mut buf = vec![0u8; room(HEADER + 1)];
        buf[..4].copy_from_slice(&((HEADER + 1) as u32).to_le_bytes());
        buf[HEADER] = EOF;
        Listpack { buf: buf.into_boxed_slice() }
    }

    /// Bytes of the listpack, from its header.
    #[inline]
    fn total(&self) -> usize {
        held(&self.buf).len()
    }

    /// Resizes the allocation to the size class of `total` bytes, when that
    /// is another class (the bytes up to both sizes' smaller are kept).
    fn fit(&mut self, total: usize) {
        if room(total) != self.buf.len() {
            self.buf = hold(std::mem::take(&mut self.buf).into_vec(), total);
        }
    }

    /// Takes a listpack blob (e.g. from an RDB file) after checking every
    /// entry lies within the buffer and the counts agree.
    pub fn from_bytes(buf: Vec<u8>) -> Option<Listpack> {
        if buf.len() < HEADER + 1 || buf.last() != Some(&EOF) {
            return None;
        }
        let total = u32::from_le_bytes(buf[0..4].try_into().ok()?) as usize;
        if total != buf.len() {
            return None;
        }
        let mut lp = Listpack { buf: buf.into_boxed_slice() };
        lp.fit(total);
        let mut pos = HEADER;
        let mut count = 0usize;
        while lp.buf[pos] != EOF {
            let l = checked_entry_len(lp.as_bytes(), pos)?;
            let bl = backlen_size(l);
            let end = pos.checked_add(l)?.checked_add(bl)?;
            if end >= total || decode_backlen(lp.as_bytes(), end - 1) != Some(l) {
                return None;
            }
            pos = end;
            count += 1;
        }
        if pos != total - 1 {
            return None;
        }
        let stored = lp.header_count();
        if stored != COUNT_UNKNOWN && stored as usize != count {
            return None;
        }
        Some(lp)
    }

    pub fn as_bytes(&self) -> &[u8] {
        held(&self.buf)
    }

    pub fn into_bytes(self) -> Vec<u8> {
        let total = self.total();
        let mut v = self.buf.into_vec();
        v.truncate(total);
        v
    }

    /// Bytes of memory held, for memory figures.
    pub fn allocated(&self) -> usize {
        self.buf.len()
    }

    pub fn bytes_len(&self) -> usize {
        self.total()
    }

    fn header_count(&self) -> u16 {
        u16::from_le_bytes([self.buf[4], self.buf[5]])
    }

    fn set_header(&mut self, total: usize, count: usize) {
        self.buf[0..4].copy_from_slice(&(total as u32).to_le_bytes());
        let c = if count >= COUNT_UNKNOWN as usize { COUNT_UNKNOWN } else { count as u16 };
        self.buf[4..6].copy_from_slice(&c.to_le_bytes());
    }

    pub fn len(&self) -> usize {
        match self.header_count() {
            COUNT_UNKNOWN => self.iter().count(),
            n => n as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.buf[HEADER] == EOF
    }

    fn entry_len(&self, pos: usize) -> usize {
        // Entries of a listpack built or validated here are always in bounds.
        raw::entry_len(&self.buf, pos)
    }

    /// Decodes the entry at `pos`.
    pub fn get(&self, pos: usize) -> Entry<'_> {
        raw::get(&self.buf, pos).0
    }

    pub fn first(&self) -> Option<usize> {
        (self.buf[HEADER] != EOF).then_some(HEADER)
    }

    pub fn last(&self) -> Option<usize> {
        self.prev(self.total() - 1)
    }

    /// The entry after `pos`.
    pub fn next(&self, pos: usize) -> Option<usize> {
        let n = raw::skip(&self.buf, pos);
        (self.buf[n] != EOF).then_some(n)
    }

    /// The entry before `pos` (which may be the EOF byte's position).
    pub fn prev(&self, pos: usize) -> Option<usize> {
        raw::prev(&self.buf, pos)
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter { lp: self, pos: self.first() }
    }

    pub fn iter_rev(&self) -> impl Iterator<Item = Entry<'_>> {
        let mut pos = self.last();
        std::iter::from_fn(move || {
            let p = pos?;
            pos = self.prev(p);
            Some(self.get(p))
        })
    }

    /// Position of the element at `index` (negative counts from the end).
    pub fn seek(&self, index: i64) -> Option<usize> {
        if index >= 0 {
            let mut p = self.first();
            for _ in 0..index {
                p = self.next(p?);
            }
            p
        } else {
            let mut p = self.last();
            for _ in 0..(-(index + 1)) {
                p = self.prev(p?);
            }
            p
        }
    }

    /// Inserts `v` before the entry at `pos` (or at the end when `pos` is
    /// the EOF position / None).
    pub fn insert(&mut self, pos: Option<usize>, v: &[u8]) {
        let total = self.total();
        let at = pos.unwrap_or(total - 1);
        let count = self.len();
        let e = encoding_of(v);
        let size = entry_size(&e);
        self.fit(total + size);
        self.buf.copy_within(at..total, at + size);
        write_entry(&e, &mut self.buf[at..at + size]);
        self.set_header(total + size, count + 1);
    }

    pub fn push_back(&mut self, v: &[u8]) {
        self.insert(None, v);
    }

    pub fn push_front(&mut self, v: &[u8]) {
        self.insert(Some(HEADER), v);
    }

    /// Removes the entry at `pos`; returns the position of the entry that
    /// followed it, if any.
    pub fn delete(&mut self, pos: usize) -> Option<usize> {
        let count = self.len();
        let l = self.entry_len(pos);
        self.cut(pos, pos + l + backlen_size(l));
        self.set_header(self.total(), count.saturating_sub(1));
        (self.buf[pos] != EOF).then_some(pos)
    }

    /// Removes `n` consecutive entries starting at `pos`.
    pub fn delete_range(&mut self, pos: usize, n: usize) {
        let count = self.len();
        let mut end = pos;
        let mut removed = 0;
        while removed < n && self.buf[end] != EOF {
            let l = self.entry_len(end);
            end += l + backlen_size(l);
            removed += 1;
        }
        self.cut(pos, end);
        self.set_header(self.total(), count - removed);
    }

    /// Removes the bytes `from..to` (whole entries), updating the header's
    /// byte count.
    fn cut(&mut self, from: usize, to: usize) {
        let total = self.total();
        self.buf.copy_within(to..total, from);
        let total = total - (to - from);
        self.fit(total);
        self.buf[0..4].copy_from_slice(&(total as u32).to_le_bytes());
    }

    /// Replaces the entry at `pos` with `v`.
    pub fn replace(&mut self, pos: usize, v: &[u8]) {
        let total = self.total();
        let l = self.entry_len(pos);
        let old = l + backlen_size(l);
        let e = encoding_of(v);
        let new = entry_size(&e);
        let after = total - old + new;
        if new > old {
            self.fit(after);
        }
        self.buf.copy_within(pos + old..total, pos + new);
        write_entry(&e, &mut self.buf[pos..pos + new]);
        if new < old {
            self.fit(after);
        }
        self.buf[0..4].copy_from_slice(&(after as u32).to_le_bytes());
    }

    /// Position of the first entry equal to `v`, looking at every `skip+1`-th
    /// entry starting at `from` (Redis's lpFind: skip=1 scans the keys of a
    /// field/value listpack).
    pub fn find(&self, from: Option<usize>, v: &[u8], skip: usize) -> Option<usize> {
        let as_int = if v.len() <= 20 { crate::util::parse_i64(v) } else { None };
        let mut p = from;
        while let Some(pos) = p {
            let hit = match (self.get(pos), as_int) {
                (Entry::Int(i), Some(j)) => i == j,
                (Entry::Str(s), None) => s == v,
                _ => false,
            };
            if hit {
                return Some(pos);
            }
            p = self.next(pos);
            for _ in 0..skip {
                p = p.and_then(|q| self.next(q));
            }
        }
        None
    }

    /// Whether appending an element of `len` bytes keeps the listpack within
    /// Redis's safety limit for one listpack (1 GB).
    pub fn safe_to_add(&self, len: usize) -> bool {
        self.total() + len + 16 <= 1 << 30
    }
}

/// Size of encoding+data of the entry at `pos` of `buf`, checking that it
/// lies within `buf` (for untrusted blobs).
fn checked_entry_len(buf: &[u8], pos: usize) -> Option<usize> {
    let b = *buf.get(pos)?;
    let l = match b {
        0x00..=0x7F => 1,
        0x80..=0xBF => 1 + (b & 0x3F) as usize,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 2 + ((((b & 0x0F) as usize) << 8) | *buf.get(pos + 1)? as usize),
        0xF0 => 5 + u32::from_le_bytes(buf.get(pos + 1..pos + 5)?.try_into().ok()?) as usize,
        0xF1 => 3,
        0xF2 => 4,
        0xF3 => 5,
        0xF4 => 9,
        _ => return None,
    };
    (pos.checked_add(l)? <= buf.len()).then_some(l)
}

/// Reads the backlen whose last byte is at `end`.
fn decode_backlen(buf: &[u8], end: usize) -> Option<usize> {
    let mut val = 0usize;
    let mut shift = 0;
    let mut p = end;
    for _ in 0..5 {
        let b = *buf.get(p)?;
        val |= ((b & 127) as usize) << shift;
        if b & 128 == 0 {
            return Some(val);
        }
        shift += 7;
        p = p.checked_sub(1)?;
    }
    None
}

/// A listpack as plain bytes: the primitives the Listpack type is built
/// on, for code that keeps listpacks of its own (stream nodes, held in a
/// Vec whose room they manage). Positions are those of valid entries.
pub mod raw {
    use super::COUNT_UNKNOWN;
    use super::{backlen_size, checked_entry_len, decode_backlen, encoding_of, entry_size, write_entry, Entry};
    pub use super::{EOF, HEADER};

    /// An empty listpack with room for `capacity` bytes.
    pub fn new(capacity: usize) -> Vec<u8> {
        let mut lp = Vec::with_capacity(capacity.max(HEADER + 1));
        lp.extend_from_slice(&[(HEADER + 1) as u8, 0, 0, 0, 0, 0, EOF]);
        lp
    }

    /// Size of the encoding plus data of the entry at `pos`.
    pub fn entry_len(lp: &[u8], pos: usize) -> usize {
        // Entries of a listpack built or validated here are always in bounds.
        checked_entry_len(lp, pos).unwrap_or(0)
    }

    /// Position of the entry after the one at `pos` (the EOF byte's after
    /// the last one).
    pub fn skip(lp: &[u8], pos: usize) -> usize {
        let l = entry_len(lp, pos);
        pos + l + backlen_size(l)
    }

    /// The entry before position `pos` (an entry's or the EOF byte's), or
    /// None at the first.
    pub fn prev(lp: &[u8], pos: usize) -> Option<usize> {
        if pos <= HEADER {
            return None;
        }
        let l = decode_backlen(lp, pos - 1)?;
        Some(pos - backlen_size(l) - l)
    }

    /// The entry at `pos` and the position after it.
    pub fn get(b: &[u8], pos: usize) -> (Entry<'_>, usize) {
        let e = match b[pos] {
            v @ 0x00..=0x7F => Entry::Int(v as i64),
            v @ 0x80..=0xBF => {
                let n = (v & 0x3F) as usize;
                Entry::Str(&b[pos + 1..pos + 1 + n])
            }
            v @ 0xC0..=0xDF => {
                let u = (((v & 0x1F) as i64) << 8) | b[pos + 1] as i64;
                Entry::Int(if u >= 1 << 12 { u - (1 << 13) } else { u })
            }
            v @ 0xE0..=0xEF => {
                let n = (((v & 0x0F) as usize) << 8) | b[pos + 1] as usize;
                Entry::Str(&b[pos + 2..pos + 2 + n])
            }
            0xF0 => {
                let n = u32::from_le_bytes([b[pos + 1], b[pos + 2], b[pos + 3], b[pos + 4]]) as usize;
                Entry::Str(&b[pos + 5..pos + 5 + n])
            }
            0xF1 => Entry::Int(i16::from_le_bytes([b[pos + 1], b[pos + 2]]) as i64),
            0xF2 => {
                let v = i32::from_le_bytes([0, b[pos + 1], b[pos + 2], b[pos + 3]]) >> 8;
                Entry::Int(v as i64)
            }
            0xF3 => Entry::Int(i32::from_le_bytes([b[pos + 1], b[pos + 2], b[pos + 3], b[pos + 4]]) as i64),
            _ => {
                let mut a = [0u8; 8];
                a.copy_from_slice(&b[pos + 1..pos + 9]);
                Entry::Int(i64::from_le_bytes(a))
            }
        };
        (e, skip(b, pos))
    }

    /// An integer entry (Redis's lpGetInteger: a string is parsed).
    pub fn get_int(lp: &[u8], pos: usize) -> (i64, usize) {
        match get(lp, pos) {
            (Entry::Int(i), next) => (i, next),
            (Entry::Str(s), next) => (crate::util::parse_i64(s).unwrap_or(0), next),
        }
    }

    /// Appends an entry; a string that reads as an integer is stored as
    /// one, as Redis's lpAppend does.
    pub fn append(lp: &mut Vec<u8>, v: Entry) {
        let e = match v {
            Entry::Str(s) => encoding_of(s),
            int => int,
        };
        let at = lp.len() - 1;
        lp.resize(at + entry_size(&e), 0);
        write_entry(&e, &mut lp[at..]);
        lp.push(EOF);
        set_total(lp);
        let n = u16::from_le_bytes([lp[4], lp[5]]);
        if n != COUNT_UNKNOWN {
            lp[4..6].copy_from_slice(&(n + 1).to_le_bytes());
        }
    }

    /// Replaces the integer entry at `pos` with `v` (in place when the size
    /// does not change).
    pub fn replace_int(lp: &mut Vec<u8>, pos: usize, v: i64) {
        let old = entry_len(lp, pos);
        let old = old + backlen_size(old);
        let e = Entry::Int(v);
        // An integer's entry takes at most 9 bytes and a 1-byte backlen.
        let mut bytes = [0u8; 10];
        let new = entry_size(&e);
        write_entry(&e, &mut bytes[..new]);
        if new == old {
            lp[pos..pos + new].copy_from_slice(&bytes[..new]);
        } else {
            lp.splice(pos..pos + old, bytes[..new].iter().copied());
            set_total(lp);
        }
    }

    fn set_total(lp: &mut [u8]) {
        let total = lp.len() as u32;
        lp[..4].copy_from_slice(&total.to_le_bytes());
    }
}

pub struct Iter<'a> {
    lp: &'a Listpack,
    pos: Option<usize>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Entry<'a>;
    fn next(&mut self) -> Option<Entry<'a>> {
        let p = self.pos?;
        self.pos = self.lp.next(p);
        Some(self.lp.get(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Listpack bytes taken from DUMP on Redis 7.0.15 of `RPUSH l a 1` and
    /// `HSET h f -5000 g 70000`.
    #[test]
    fn layout_matches_redis() {
        let mut lp = Listpack::new();
        lp.push_back(b"a");
        lp.push_back(b"1");
        assert_eq!(lp.as_bytes(), b"\x0c\x00\x00\x00\x02\x00\x81a\x02\x01\x01\xff");
        let mut h = Listpack::new();
        for v in [&b"f"[..], b"-5000", b"g", b"70000"] {
            h.push_back(v);
        }
        assert_eq!(h.as_bytes(), b"\x16\x00\x00\x00\x04\x00\x81f\x02\xf1x\xec\x03\x81g\x02\xf2p\x11\x01\x04\xff");
        assert_eq!(h.get(h.seek(1).unwrap()), Entry::Int(-5000));
        assert_eq!(h.get(h.seek(-1).unwrap()), Entry::Int(70000));
    }

    #[test]
    fn model_check_against_vec() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut lp = Listpack::new();
        let mut model: Vec<Vec<u8>> = Vec::new();
        let values: Vec<Vec<u8>> = vec![
            b"0".to_vec(),
            b"127".to_vec(),
            b"128".to_vec(),
            b"-4096".to_vec(),
            b"4095".to_vec(),
            b"-32768".to_vec(),
            b"8388607".to_vec(),
            b"-2147483648".to_vec(),
            b"9223372036854775807".to_vec(),
            b"-9223372036854775808".to_vec(),
            b"01".to_vec(),
            b"".to_vec(),
            b"hello".to_vec(),
            vec![b'x'; 63],
            vec![b'y'; 64],
            vec![b'z'; 4095],
            vec![b'w'; 4096],
            vec![b'v'; 20000],
        ];
        for _ in 0..3000 {
            let v = &values[rng.gen_range(0..values.len())];
            match rng.gen_range(0..6) {
                0 => {
                    lp.push_back(v);
                    model.push(v.clone());
                }
                1 => {
                    lp.push_front(v);
                    model.insert(0, v.clone());
                }
                2 if !model.is_empty() => {
                    let i = rng.gen_range(0..model.len());
                    let p = lp.seek(i as i64).unwrap();
                    lp.delete(p);
                    model.remove(i);
                }
                3 if !model.is_empty() => {
                    let i = rng.gen_range(0..model.len());
                    let p = lp.seek(-(i as i64) - 1).unwrap();
                    lp.replace(p, v);
                    let mi = model.len() - 1 - i;
                    model[mi] = v.clone();
                }
                4 if !model.is_empty() => {
                    let i = rng.gen_range(0..=model.len());
                    lp.insert(lp.seek(i as i64), v);
                    model.insert(i, v.clone());
                }
                _ => {}
            }
            assert_eq!(lp.len(), model.len());
            // Held: exactly the size class of the bytes.
            assert_eq!(lp.allocated(), crate::alloc::chunk_size(lp.bytes_len(), 1));
        }
        let fwd: Vec<Vec<u8>> = lp.iter().map(|e| e.to_vec()).collect();
        assert_eq!(fwd, model);
        let mut back: Vec<Vec<u8>> = lp.iter_rev().map(|e| e.to_vec()).collect();
        back.reverse();
        assert_eq!(back, model);
        let copy = Listpack::from_bytes(lp.as_bytes().to_vec()).expect("valid");
        assert_eq!(copy, lp);
        assert_eq!(copy.allocated(), lp.allocated());
    }

    #[test]
    fn corrupt_blobs_are_refused() {
        let mut lp = Listpack::new();
        lp.push_back(b"hello");
        lp.push_back(b"12345");
        let good = lp.as_bytes().to_vec();
        for i in 0..good.len() {
            for delta in [1u8, 0x40, 0x80] {
                let mut bad = good.clone();
                bad[i] = bad[i].wrapping_add(delta);
                if let Some(l) = Listpack::from_bytes(bad) {
                    // Whatever was accepted must be walkable without panicking.
                    let _ = l.iter().count();
                    let _ = l.iter_rev().count();
                }
            }
        }
        assert!(Listpack::from_bytes(good[..good.len() - 1].to_vec()).is_none());
    }

    #[test]
    fn raw_listpacks_encode_as_listpack_does() {
        let values: [&[u8]; 8] =
            [b"5", b"-100", b"30000", b"-8000000", b"2000000000", b"-9223372036854775808", b"abc", &[b'x'; 300]];
        let mut raw_lp = raw::new(0);
        let mut lp = Listpack::new();
        for v in values {
            raw::append(&mut raw_lp, Entry::Str(v));
            lp.push_back(v);
        }
        assert_eq!(raw_lp, lp.as_bytes());
        // Walking back from the EOF byte visits every entry.
        let mut pos = raw_lp.len() - 1;
        let mut seen = Vec::new();
        while let Some(p) = raw::prev(&raw_lp, pos) {
            seen.push(raw::get(&raw_lp, p).0.to_vec());
            assert_eq!(raw::skip(&raw_lp, p), pos);
            pos = p;
        }
        seen.reverse();
        assert_eq!(seen, values.map(<[u8]>::to_vec));
        // An integer replaced by one of another width moves what follows.
        for v in [7, 4000, -30000, 8_000_000, i32::MIN as i64, i64::MAX, 1] {
            raw::replace_int(&mut raw_lp, HEADER, v);
            assert_eq!(raw::get_int(&raw_lp, HEADER).0, v);
            let mut expect = Listpack::new();
            expect.push_back(v.to_string().as_bytes());
            for w in &values[1..] {
                expect.push_back(w);
            }
            assert_eq!(raw_lp, expect.as_bytes(), "{v}");
        }
    }
}
