//! Set values: an intset while every member is an integer (up to
//! `set-max-intset-entries`), a listpack while small (`set-max-listpack-*`),
//! a hash table otherwise — Redis 7.2's three encodings and conversions.
//!
//! Members are handed out as listpack `Entry`s (an integer or borrowed
//! bytes), so replies and set algebra never copy a member just to look
//! at it.

use std::borrow::Cow;

use rand::Rng;

use super::dict::Dict;
use super::hash::{dict_add, select_in_order, PackLimits};
use super::intset::IntSet;
use super::listpack::{Entry, Listpack};
use crate::util::parse_i64;

#[derive(Clone, Copy, Debug)]
pub struct SetLimits {
    pub intset_entries: usize,
    pub pack: PackLimits,
}

impl SetLimits {
    /// Most members an intset may hold: the configured value, capped at
    /// 2^30 as Redis caps it (`intsetMaxEntries`).
    fn intset_max(&self) -> usize {
        self.intset_entries.min(1 << 30)
    }
}

#[derive(Clone)]
pub enum Set {
    Ints(IntSet),
    Pack(Listpack),
    Table(Dict<Box<[u8]>, ()>),
}

fn as_int(m: &[u8]) -> Option<i64> {
    if m.len() <= 20 {
        parse_i64(m)
    } else {
        None
    }
}

/// Decimal text of `v`, written into `buf`.
pub fn int_text(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Bytes one listpack entry holding `v` takes (encoding + data + backlen),
/// as Redis's `lpEstimateBytesRepeatedInteger` counts them.
fn lp_int_entry_size(v: i64) -> usize {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    };
    enc + 1
}

impl Set {
    /// An empty set in the encoding Redis picks for its first member and
    /// the number of members about to be added (`setTypeCreate`).
    pub fn for_member(first: &[u8], size_hint: usize, limits: SetLimits) -> Set {
        if as_int(first).is_some() && size_hint <= limits.intset_max() {
            Set::Ints(IntSet::new())
        } else if size_hint <= limits.pack.entries && first.len() <= limits.pack.value {
            Set::Pack(Listpack::new())
        } else {
            Set::Table(Dict::new())
        }
    }

    /// An empty intset, where SUNIONSTORE and SDIFFSTORE start their result.
    pub fn new_ints() -> Set {
        Set::Ints(IntSet::new())
    }

    /// An empty listpack set.
    pub fn new_pack() -> Set {
        Set::Pack(Listpack::new())
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Ints(s) => s.len(),
            Set::Pack(lp) => lp.len(),
            Set::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Pack(_) => "listpack",
            Set::Table(_) => "hashtable",
        }
    }

    /// Redis's `setTypeMaybeConvert`, run before adding `size_hint`
    /// members: a compact set that could not take that many becomes a hash
    /// table up front, even if the members turn out to be duplicates.
    pub fn reserve(&mut self, size_hint: usize, limits: SetLimits) {
        let too_many = match self {
            Set::Pack(_) => size_hint > limits.pack.entries,
            Set::Ints(_) => size_hint > limits.intset_max(),
            Set::Table(_) => false,
        };
        if too_many {
            self.convert_to_table();
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Ints(s) => as_int(m).is_some_and(|v| s.contains(v)),
            Set::Pack(lp) => lp.find(lp.first(), m, 0).is_some(),
            Set::Table(d) => d.contains_key(m),
        }
    }

    /// Membership of a member taken from another set.
    pub fn contains_entry(&self, e: Entry<'_>) -> bool {
        match (self, e) {
            (Set::Ints(s), Entry::Int(v)) => s.contains(v),
            (_, Entry::Str(m)) => self.contains(m),
            (_, Entry::Int(v)) => self.contains(int_text(v, &mut [0; 20])),
        }
    }

    /// Adds a member; true if it is new.
    pub fn insert(&mut self, m: &[u8], limits: SetLimits) -> bool {
        match self {
            Set::Ints(s) => match as_int(m) {
                Some(v) => {
                    if !s.insert(v) {
                        return false;
                    }
                    if s.len() > limits.intset_max() {
                        self.convert_to_table();
                    }
                    true
                }
                None => {
                    // A string cannot be in an intset: it moves to a
                    // listpack if every member, the longest integer
                    // included, fits one; else to a hash table.
                    if Self::ints_fit_pack(s, m.len(), limits) {
                        self.convert_to_pack();
                    } else {
                        self.convert_to_table();
                    }
                    self.insert(m, limits)
                }
            },
            Set::Pack(lp) => {
                if lp.find(lp.first(), m, 0).is_some() {
                    return false;
                }
                if lp.len() >= limits.pack.entries || m.len() > limits.pack.value || !lp.safe_to_add(m.len()) {
                    self.convert_to_table();
                    return self.insert(m, limits);
                }
                lp.push_back(m);
                true
            }
            Set::Table(d) => {
                if d.contains_key(m) {
                    return false;
                }
                dict_add(d, m.into(), ());
                true
            }
        }
    }

    /// Adds a member taken from another set; true if it is new.
    pub fn insert_entry(&mut self, e: Entry<'_>, limits: SetLimits) -> bool {
        match (&mut *self, e) {
            (Set::Ints(s), Entry::Int(v)) => {
                if !s.insert(v) {
                    return false;
                }
                if s.len() > limits.intset_max() {
                    self.convert_to_table();
                }
                true
            }
            (_, Entry::Str(m)) => self.insert(m, limits),
            (_, Entry::Int(v)) => self.insert(int_text(v, &mut [0; 20]), limits),
        }
    }

    /// The check of Redis's `setTypeAddAux` before an intset takes a
    /// string of `len` bytes: room for one more entry, the string and the
    /// widest integer within the value limit, the whole within 1 GB.
    fn ints_fit_pack(s: &IntSet, len: usize, limits: SetLimits) -> bool {
        let n = s.len();
        let (mut widest, mut bytes) = (0, 0);
        if let (Some(min), Some(max)) = (s.iter().next(), s.max()) {
            let digits = |v: i64| int_text(v, &mut [0; 20]).len();
            widest = digits(min).max(digits(max));
            bytes = 7 + n * lp_int_entry_size(min).max(lp_int_entry_size(max));
        }
        n < limits.pack.entries
            && len <= limits.pack.value
            && widest <= limits.pack.value
            && bytes.saturating_add(len) <= 1 << 30
    }

    /// Removes a member; true if it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Ints(s) => as_int(m).is_some_and(|v| s.remove(v)),
            Set::Pack(lp) => match lp.find(lp.first(), m, 0) {
                Some(p) => {
                    lp.delete(p);
                    true
                }
                None => false,
            },
            Set::Table(d) => d.remove(m).is_some(),
        }
    }

    /// Removes a member taken from another set; true if it was there.
    pub fn remove_entry(&mut self, e: Entry<'_>) -> bool {
        match (&mut *self, e) {
            (Set::Ints(s), Entry::Int(v)) => s.remove(v),
            (_, Entry::Str(m)) => self.remove(m),
            (_, Entry::Int(v)) => self.remove(int_text(v, &mut [0; 20])),
        }
    }

    fn convert_to_pack(&mut self) {
        if let Set::Ints(s) = self {
            let mut lp = Listpack::new();
            for v in s.iter() {
                lp.push_back(int_text(v, &mut [0; 20]));
            }
            *self = Set::Pack(lp);
        }
    }

    pub fn convert_to_table(&mut self) {
        let mut d = Dict::new();
        match self {
            Set::Table(_) => return,
            Set::Ints(s) => {
                for v in s.iter() {
                    dict_add(&mut d, int_text(v, &mut [0; 20]).into(), ());
                }
            }
            Set::Pack(lp) => {
                for e in lp.iter() {
                    dict_add(&mut d, e.to_vec().into_boxed_slice(), ());
                }
            }
        }
        *self = Set::Table(d);
    }

    /// Redis's `maybeConvertToIntset`, for a result known to hold only
    /// integers: back to an intset unless it has too many members.
    pub fn shrink_to_ints(&mut self, limits: SetLimits) {
        if matches!(self, Set::Ints(_)) || self.len() > limits.intset_max() {
            return;
        }
        let mut ints = IntSet::new();
        for e in self.iter() {
            match e {
                Entry::Int(v) => ints.insert(v),
                Entry::Str(s) => match as_int(s) {
                    Some(v) => ints.insert(v),
                    None => return,
                },
            };
        }
        *self = Set::Ints(ints);
    }

    /// Every member, in storage order, without copying.
    pub fn iter(&self) -> impl Iterator<Item = Entry<'_>> {
        let (mut ints, mut pack, mut table) = (None, None, None);
        match self {
            Set::Ints(s) => ints = Some(s.iter()),
            Set::Pack(lp) => pack = Some(lp.iter()),
            Set::Table(d) => table = Some(d.keys()),
        }
        std::iter::from_fn(move || {
            if let Some(it) = ints.as_mut() {
                return it.next().map(Entry::Int);
            }
            if let Some(it) = pack.as_mut() {
                return it.next();
            }
            table.as_mut()?.next().map(|k| Entry::Str(&k[..]))
        })
    }

    /// Every member, in storage order.
    pub fn members(&self) -> Vec<Cow<'_, [u8]>> {
        self.iter()
            .map(|e| match e {
                Entry::Str(s) => Cow::Borrowed(s),
                other => Cow::Owned(other.to_vec()),
            })
            .collect()
    }

    /// A uniformly chosen member (hash tables: Redis's bucket sampling).
    pub fn random_entry(&self, rng: &mut impl Rng) -> Option<Entry<'_>> {
        match self {
            Set::Ints(s) if !s.is_empty() => Some(Entry::Int(s.get(rng.gen_range(0..s.len())))),
            Set::Pack(lp) if !lp.is_empty() => {
                let i = rng.gen_range(0..lp.len());
                lp.seek(i as i64).map(|p| lp.get(p))
            }
            Set::Table(d) => d.random(rng).map(|(k, _)| Entry::Str(&k[..])),
            _ => None,
        }
    }

    pub fn random(&self, rng: &mut impl Rng) -> Option<Vec<u8>> {
        self.random_entry(rng).map(|e| e.to_vec())
    }

    /// Removes a random member and returns it.
    pub fn pop_random(&mut self, rng: &mut impl Rng) -> Option<Vec<u8>> {
        match self {
            Set::Ints(s) if !s.is_empty() => {
                let v = s.get(rng.gen_range(0..s.len()));
                s.remove(v);
                Some(int_text(v, &mut [0; 20]).to_vec())
            }
            Set::Pack(lp) if !lp.is_empty() => {
                let p = lp.seek(rng.gen_range(0..lp.len()) as i64)?;
                let m = lp.get(p).to_vec();
                lp.delete(p);
                Some(m)
            }
            Set::Table(d) => {
                let k = d.random(rng)?.0.clone();
                d.remove(&k);
                Some(k.into_vec())
            }
            _ => None,
        }
    }

    /// `count` distinct members chosen at random (`count` < len). Compact
    /// sets, and tables not much bigger than `count`, are sampled in one
    /// pass in storage order; a big table by repeated random picks, so the
    /// work stays proportional to `count`.
    pub fn sample_distinct(&self, count: usize, rng: &mut impl Rng) -> Vec<Entry<'_>> {
        let size = self.len();
        let count = count.min(size);
        let mut out = Vec::with_capacity(count);
        match self {
            Set::Table(d) if count.saturating_mul(3) <= size => {
                let mut seen = std::collections::HashSet::with_capacity(count);
                while out.len() < count {
                    let Some((k, _)) = d.random(rng) else { break };
                    if seen.insert(k.as_ptr() as usize) {
                        out.push(Entry::Str(&k[..]));
                    }
                }
            }
            _ => select_in_order(self.iter(), size, count, rng, &mut out),
        }
        out
    }

    /// The hash table behind a table-encoded set (what SSCAN walks with a
    /// cursor); None for the compact encodings, which are scanned whole.
    pub fn table(&self) -> Option<&Dict<Box<[u8]>, ()>> {
        match self {
            Set::Table(d) => Some(d),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SetLimits = SetLimits { intset_entries: 4, pack: PackLimits { entries: 3, value: 8 } };

    #[test]
    fn encodings_follow_redis_72_rules() {
        let mut s = Set::for_member(b"1", 1, LIMITS);
        for m in ["1", "2", "3"] {
            assert!(s.insert(m.as_bytes(), LIMITS));
        }
        assert!(!s.insert(b"2", LIMITS));
        assert_eq!(s.encoding(), "intset");
        // A non-integer member moves a small intset to a listpack...
        let mut p = s.clone();
        p.insert(b"x", LIMITS);
        assert_eq!(p.encoding(), "hashtable", "3 ints + 1 > listpack entries 3");
        let mut small = Set::for_member(b"1", 1, LIMITS);
        small.insert(b"1", LIMITS);
        small.insert(b"a", LIMITS);
        assert_eq!(small.encoding(), "listpack");
        assert!(small.contains(b"1") && small.contains(b"a") && !small.contains(b"b"));
        // ...and too many integers move it to a hash table.
        s.insert(b"4", LIMITS);
        assert_eq!(s.encoding(), "intset");
        s.insert(b"5", LIMITS);
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 5);
        assert!(s.remove(b"5") && !s.remove(b"5"));
        let mut rng = rand::thread_rng();
        for _ in 0..20 {
            assert!(s.contains(&s.random(&mut rng).unwrap()));
        }
    }

    #[test]
    fn intset_with_a_wide_integer_skips_the_listpack() {
        // Redis 7.2 checks the widest integer against set-max-listpack-value.
        let mut s = Set::for_member(b"123456789", 1, LIMITS);
        s.insert(b"123456789", LIMITS);
        s.insert(b"a", LIMITS);
        assert_eq!(s.encoding(), "hashtable");
        let mut s = Set::for_member(b"-1234567", 1, LIMITS);
        s.insert(b"-1234567", LIMITS);
        s.insert(b"a", LIMITS);
        assert_eq!(s.encoding(), "listpack");
        assert!(s.contains(b"-1234567") && s.contains_entry(Entry::Int(-1234567)));
    }

    #[test]
    fn reserve_and_shrink_to_ints() {
        let mut s = Set::for_member(b"a", 1, LIMITS);
        s.insert(b"a", LIMITS);
        s.reserve(4, LIMITS);
        assert_eq!(s.encoding(), "hashtable");
        let mut t = Set::new_pack();
        for m in ["7", "-3", "12"] {
            t.insert(m.as_bytes(), LIMITS);
        }
        t.convert_to_table();
        t.shrink_to_ints(LIMITS);
        assert_eq!(t.encoding(), "intset");
        assert_eq!(t.iter().collect::<Vec<_>>(), vec![Entry::Int(-3), Entry::Int(7), Entry::Int(12)]);
        let mut u = Set::new_pack();
        u.insert(b"x", LIMITS);
        u.shrink_to_ints(LIMITS);
        assert_eq!(u.encoding(), "listpack");
    }

    #[test]
    fn entries_cross_encodings() {
        let big = SetLimits { intset_entries: 512, pack: PackLimits { entries: 128, value: 64 } };
        let mut ints = Set::new_ints();
        let mut table = Set::Table(Dict::new());
        for v in [1i64, -5, 300] {
            assert!(ints.insert_entry(Entry::Int(v), big));
            assert!(table.insert_entry(Entry::Int(v), big));
        }
        assert!(!table.insert_entry(Entry::Str(b"300"), big));
        for e in ints.iter() {
            assert!(table.contains_entry(e));
        }
        for e in table.iter() {
            assert!(ints.contains_entry(e));
        }
        assert!(ints.remove_entry(Entry::Str(b"-5")) && table.remove_entry(Entry::Int(-5)));
        assert_eq!(ints.len(), 2);
        assert_eq!(table.len(), 2);
    }

    #[test]
    fn a_table_only_added_to_finishes_its_rehashes() {
        let limits = SetLimits { intset_entries: 0, pack: PackLimits { entries: 0, value: 0 } };
        let mut s = Set::for_member(b"k", 1, limits);
        for i in 0..5000 {
            s.insert(format!("k{i}").as_bytes(), limits);
        }
        let Set::Table(d) = &s else { panic!("{}", s.encoding()) };
        // Buckets grow with the members (load factor at most 1 once done).
        assert!(d.slots() >= 4096, "{} slots", d.slots());
    }

    #[test]
    fn pops_and_samples_are_members() {
        let mut rng = rand::thread_rng();
        let zero = SetLimits { intset_entries: 0, pack: PackLimits { entries: 0, value: 0 } };
        for limits in [LIMITS, zero, SetLimits { intset_entries: 100, pack: PackLimits { entries: 100, value: 8 } }] {
            for ints in [true, false] {
                let first: &[u8] = if ints { b"0" } else { b"m0" };
                let mut s = Set::for_member(first, 1, limits);
                for i in 0..30 {
                    let m = if ints { format!("{i}") } else { format!("m{i}") };
                    s.insert(m.as_bytes(), limits);
                }
                for count in [1, 9, 10, 29] {
                    let mut got: Vec<Vec<u8>> = s.sample_distinct(count, &mut rng).iter().map(|e| e.to_vec()).collect();
                    got.sort();
                    got.dedup();
                    assert_eq!(got.len(), count);
                    assert!(got.iter().all(|m| s.contains(m)));
                }
                let mut popped = Vec::new();
                while let Some(m) = s.pop_random(&mut rng) {
                    assert!(!s.contains(&m));
                    popped.push(m);
                }
                popped.sort();
                popped.dedup();
                assert_eq!(popped.len(), 30);
            }
        }
    }
}
