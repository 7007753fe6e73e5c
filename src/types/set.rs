//! Set values: an intset while every member is an integer (up to
//! `set-max-intset-entries`), a listpack while small (`set-max-listpack-*`),
//! a hash table otherwise — Redis 7.2's three encodings and conversions.

use std::borrow::Cow;

use super::dict::Dict;
use super::hash::PackLimits;
use super::intset::IntSet;
use super::listpack::{Entry, Listpack};
use crate::util::parse_i64;

#[derive(Clone, Copy, Debug)]
pub struct SetLimits {
    pub intset_entries: usize,
    pub pack: PackLimits,
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

impl Set {
    /// An empty set in the encoding Redis picks for its first member.
    pub fn for_member(first: &[u8], size_hint: usize, limits: SetLimits) -> Set {
        if as_int(first).is_some() && size_hint <= limits.intset_entries {
            Set::Ints(IntSet::new())
        } else if size_hint <= limits.pack.entries && first.len() <= limits.pack.value {
            Set::Pack(Listpack::new())
        } else {
            Set::Table(Dict::new())
        }
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

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Ints(s) => as_int(m).is_some_and(|v| s.contains(v)),
            Set::Pack(lp) => lp.find(lp.first(), m, 0).is_some(),
            Set::Table(d) => d.contains_key(m),
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
                    if s.len() > limits.intset_entries {
                        self.convert_to_table();
                    }
                    true
                }
                None => {
                    if self.contains(m) {
                        return false;
                    }
                    if self.len() < limits.pack.entries && m.len() <= limits.pack.value {
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
                d.insert_new(m.into(), ());
                true
            }
        }
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

    fn convert_to_pack(&mut self) {
        if let Set::Ints(s) = self {
            let mut lp = Listpack::new();
            for v in s.iter() {
                lp.push_back(&crate::util::i64_to_bytes(v));
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
                    d.insert_new(crate::util::i64_to_bytes(v).into_boxed_slice(), ());
                }
            }
            Set::Pack(lp) => {
                for e in lp.iter() {
                    d.insert_new(e.to_vec().into_boxed_slice(), ());
                }
            }
        }
        *self = Set::Table(d);
    }

    /// Every member, in storage order.
    pub fn members(&self) -> Vec<Cow<'_, [u8]>> {
        match self {
            Set::Ints(s) => s.iter().map(|v| Cow::Owned(crate::util::i64_to_bytes(v))).collect(),
            Set::Pack(lp) => lp
                .iter()
                .map(|e| match e {
                    Entry::Str(s) => Cow::Borrowed(s),
                    other => Cow::Owned(other.to_vec()),
                })
                .collect(),
            Set::Table(d) => d.keys().map(|k| Cow::Borrowed(&k[..])).collect(),
        }
    }

    /// A uniformly chosen member (hash tables: Redis's bucket sampling).
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<Vec<u8>> {
        match self {
            Set::Ints(s) if !s.is_empty() => Some(crate::util::i64_to_bytes(s.get(rng.gen_range(0..s.len())))),
            Set::Pack(lp) if !lp.is_empty() => {
                let i = rng.gen_range(0..lp.len());
                lp.seek(i as i64).map(|p| lp.get(p).to_vec())
            }
            Set::Table(d) => d.random(rng).map(|(k, _)| k.to_vec()),
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
}
