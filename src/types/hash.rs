//! Hash values: a listpack of field, value, field, value… while small, a
//! hash table past `hash-max-listpack-entries` / `-value`, as in Redis.

use std::borrow::Cow;

use super::dict::Dict;
use super::listpack::Listpack;

/// Size thresholds of a compact encoding (`*-max-listpack-entries/-value`).
#[derive(Clone, Copy, Debug)]
pub struct PackLimits {
    pub entries: usize,
    pub value: usize,
}

/// A field and its value, borrowed where the encoding allows.
pub type FieldValue<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

#[derive(Clone)]
pub enum Hash {
    Pack(Listpack),
    Table(Dict<Box<[u8]>, Box<[u8]>>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Pack(Listpack::new())
    }
}

impl Hash {
    pub fn len(&self) -> usize {
        match self {
            Hash::Pack(lp) => lp.len() / 2,
            Hash::Table(d) => d.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Hash::Pack(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<Cow<'_, [u8]>> {
        match self {
            Hash::Pack(lp) => {
                let p = lp.find(lp.first(), field, 1)?;
                let v = lp.next(p)?;
                Some(match lp.get(v) {
                    super::listpack::Entry::Str(s) => Cow::Borrowed(s),
                    e => Cow::Owned(e.to_vec()),
                })
            }
            Hash::Table(d) => d.get(field).map(|v| Cow::Borrowed(&v[..])),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Pack(lp) => lp.find(lp.first(), field, 1).is_some(),
            Hash::Table(d) => d.contains_key(field),
        }
    }

    /// Sets a field; true if it is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: PackLimits) -> bool {
        if let Hash::Pack(lp) = self {
            if field.len() > limits.value || value.len() > limits.value || !lp.safe_to_add(field.len() + value.len()) {
                self.convert_to_table();
            }
        }
        match self {
            Hash::Pack(lp) => {
                if let Some(p) = lp.find(lp.first(), field, 1) {
                    if let Some(v) = lp.next(p) {
                        lp.replace(v, value);
                    }
                    return false;
                }
                lp.push_back(field);
                lp.push_back(value);
                if lp.len() / 2 > limits.entries {
                    self.convert_to_table();
                }
                true
            }
            Hash::Table(d) => d.insert(field.into(), value.into()).is_none(),
        }
    }

    /// Removes a field; true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Pack(lp) => match lp.find(lp.first(), field, 1) {
                Some(p) => {
                    lp.delete_range(p, 2);
                    true
                }
                None => false,
            },
            Hash::Table(d) => d.remove(field).is_some(),
        }
    }

    fn convert_to_table(&mut self) {
        if let Hash::Pack(lp) = self {
            let mut d = Dict::new();
            let mut it = lp.iter();
            while let (Some(f), Some(v)) = (it.next(), it.next()) {
                d.insert(f.to_vec().into_boxed_slice(), v.to_vec().into_boxed_slice());
            }
            *self = Hash::Table(d);
        }
    }

    /// Every (field, value) pair, in storage order.
    pub fn pairs(&self) -> Vec<FieldValue<'_>> {
        match self {
            Hash::Pack(lp) => {
                let mut out = Vec::with_capacity(lp.len() / 2);
                let mut it = lp.iter();
                while let (Some(f), Some(v)) = (it.next(), it.next()) {
                    out.push((entry_cow(f), entry_cow(v)));
                }
                out
            }
            Hash::Table(d) => d.iter().map(|(k, v)| (Cow::Borrowed(&k[..]), Cow::Borrowed(&v[..]))).collect(),
        }
    }
}

fn entry_cow(e: super::listpack::Entry<'_>) -> Cow<'_, [u8]> {
    match e {
        super::listpack::Entry::Str(s) => Cow::Borrowed(s),
        other => Cow::Owned(other.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PackLimits = PackLimits { entries: 4, value: 8 };

    #[test]
    fn converts_past_thresholds_and_keeps_contents() {
        let mut h = Hash::default();
        for i in 0..4 {
            assert!(h.set(format!("f{i}").as_bytes(), b"v", LIMITS));
        }
        assert_eq!(h.encoding(), "listpack");
        assert!(!h.set(b"f0", b"123", LIMITS));
        assert_eq!(h.get(b"f0").as_deref(), Some(&b"123"[..]));
        assert!(h.set(b"f4", b"v", LIMITS));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.get(b"f0").as_deref(), Some(&b"123"[..]));
        let mut long = Hash::default();
        long.set(b"f", b"a value longer than 8", LIMITS);
        assert_eq!(long.encoding(), "hashtable");
        assert!(h.remove(b"f4") && !h.remove(b"f4"));
        assert_eq!(h.pairs().len(), 4);
    }
}
