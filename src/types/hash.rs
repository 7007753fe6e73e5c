//! Hash values: a listpack of field, value, field, value… while small, a
//! hash table past `hash-max-listpack-entries` / `-value`, as in Redis.
//!
//! Reads hand out listpack `Entry`s (an integer or borrowed bytes), so a
//! reply never copies a field or value.

use std::borrow::Cow;

use rand::Rng;

use super::dict::Dict;
use super::listpack::{Entry, Listpack};

/// Size thresholds of a compact encoding (`*-max-listpack-entries/-value`).
#[derive(Clone, Copy, Debug)]
pub struct PackLimits {
    pub entries: usize,
    pub value: usize,
}

/// A field and its value, borrowed where the encoding allows.
pub type FieldValue<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// A field and its value as stored.
pub type Pair<'a> = (Entry<'a>, Entry<'a>);

/// The hash-table encoding: field to value.
pub type Table = Dict<Box<[u8]>, Box<[u8]>>;

#[derive(Clone)]
pub enum Hash {
    Pack(Listpack),
    Table(Table),
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

    /// The value of `field`, without copying.
    pub fn get_entry(&self, field: &[u8]) -> Option<Entry<'_>> {
        match self {
            Hash::Pack(lp) => {
                let p = lp.find(lp.first(), field, 1)?;
                lp.next(p).map(|v| lp.get(v))
            }
            Hash::Table(d) => d.get(field).map(|v| Entry::Str(v)),
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<Cow<'_, [u8]>> {
        self.get_entry(field).map(entry_cow)
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match self {
            Hash::Pack(lp) => lp.find(lp.first(), field, 1).is_some(),
            Hash::Table(d) => d.contains_key(field),
        }
    }

    /// Redis's `hashTypeTryConversion`, run before a command sets the
    /// (field, value, ...) `args`: a listpack that could not take them all
    /// becomes a hash table up front (more pairs than allowed entries —
    /// duplicates included, as Redis guesses — an argument too long, or
    /// the listpack's 1 GB safety limit).
    pub fn prepare_for<A: AsRef<[u8]>>(&mut self, args: &[A], limits: PackLimits) {
        let Hash::Pack(lp) = self else { return };
        if args.len() / 2 > limits.entries {
            self.convert_to_table();
            return;
        }
        let mut sum = 0usize;
        for a in args {
            let len = a.as_ref().len();
            if len > limits.value {
                self.convert_to_table();
                return;
            }
            sum = sum.saturating_add(len);
        }
        if !lp.safe_to_add(sum) {
            self.convert_to_table();
        }
    }

    /// Sets a field; true if it is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: PackLimits) -> bool {
        if let Hash::Pack(lp) = self {
            if field.len() > limits.value
                || value.len() > limits.value
                || !lp.safe_to_add(field.len().saturating_add(value.len()))
            {
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
            Hash::Table(d) => match d.get_mut(field) {
                Some(v) => {
                    *v = value.into();
                    false
                }
                None => {
                    dict_add(d, field.into(), value.into());
                    true
                }
            },
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
                dict_add(&mut d, f.to_vec().into_boxed_slice(), v.to_vec().into_boxed_slice());
            }
            *self = Hash::Table(d);
        }
    }

    /// Every (field, value) pair, in storage order, without copying.
    pub fn iter(&self) -> impl Iterator<Item = Pair<'_>> {
        let mut pack = match self {
            Hash::Pack(lp) => Some(lp.iter()),
            Hash::Table(_) => None,
        };
        let mut table = match self {
            Hash::Table(d) => Some(d.iter()),
            Hash::Pack(_) => None,
        };
        std::iter::from_fn(move || match (&mut pack, &mut table) {
            (Some(it), _) => Some((it.next()?, it.next()?)),
            (_, Some(it)) => it.next().map(|(k, v)| (Entry::Str(&k[..]), Entry::Str(&v[..]))),
            _ => None,
        })
    }

    /// Every (field, value) pair, in storage order.
    pub fn pairs(&self) -> Vec<FieldValue<'_>> {
        self.iter().map(|(f, v)| (entry_cow(f), entry_cow(v))).collect()
    }

    /// A random pair (hash tables: Redis's bucket sampling).
    pub fn random_pair(&self, rng: &mut impl Rng) -> Option<Pair<'_>> {
        match self {
            Hash::Pack(lp) if !lp.is_empty() => {
                let i = rng.gen_range(0..lp.len() / 2);
                let f = lp.seek(2 * i as i64)?;
                let v = lp.next(f)?;
                Some((lp.get(f), lp.get(v)))
            }
            Hash::Table(d) => d.random(rng).map(|(k, v)| (Entry::Str(k), Entry::Str(v))),
            _ => None,
        }
    }

    /// `count` distinct pairs chosen at random (`count` < len). A listpack,
    /// or a table not much bigger than `count`, is sampled in one pass in
    /// storage order; a big table by repeated random picks, so the work
    /// stays proportional to `count`.
    pub fn sample_distinct(&self, count: usize, rng: &mut impl Rng) -> Vec<Pair<'_>> {
        let size = self.len();
        let count = count.min(size);
        let mut out = Vec::with_capacity(count);
        match self {
            Hash::Table(d) if count.saturating_mul(3) <= size => {
                let mut seen = std::collections::HashSet::with_capacity(count);
                while out.len() < count {
                    let Some((k, v)) = d.random(rng) else { break };
                    if seen.insert(k.as_ptr() as usize) {
                        out.push((Entry::Str(&k[..]), Entry::Str(&v[..])));
                    }
                }
            }
            _ => select_in_order(self.iter(), size, count, rng, &mut out),
        }
        out
    }

    /// The hash table behind a table-encoded hash (what HSCAN walks with a
    /// cursor); None for a listpack, which is scanned whole.
    pub fn table(&self) -> Option<&Table> {
        match self {
            Hash::Table(d) => Some(d),
            Hash::Pack(_) => None,
        }
    }
}

/// Adds a key known to be absent, moving one bucket of an incremental
/// rehash as Redis's `dictAdd` does: `Dict::insert_new` alone leaves the
/// rehash where it is, and a table that is only ever added to would keep
/// growing chains in its half-built new table.
pub fn dict_add<V>(d: &mut Dict<Box<[u8]>, V>, key: Box<[u8]>, val: V) {
    d.insert_new(key, val);
    d.rehash(1);
}

/// Knuth's selection sampling: picks `count` of the `size` items of `it`,
/// each subset equally likely, keeping their order.
pub fn select_in_order<T>(
    it: impl Iterator<Item = T>,
    size: usize,
    count: usize,
    rng: &mut impl Rng,
    out: &mut Vec<T>,
) {
    let mut need = count;
    let mut left = size;
    for item in it {
        if need == 0 || left == 0 {
            break;
        }
        if rng.gen_range(0..left) < need {
            out.push(item);
            need -= 1;
        }
        left -= 1;
    }
}

/// Number of bytes in the text of an entry (HSTRLEN).
pub fn entry_len(e: &Entry<'_>) -> usize {
    match e {
        Entry::Str(s) => s.len(),
        Entry::Int(i) => {
            let mut n = i.unsigned_abs();
            let mut len = (*i < 0) as usize + 1;
            while n >= 10 {
                n /= 10;
                len += 1;
            }
            len
        }
    }
}

fn entry_cow(e: Entry<'_>) -> Cow<'_, [u8]> {
    match e {
        Entry::Str(s) => Cow::Borrowed(s),
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
        assert_eq!(h.get_entry(b"f0"), Some(Entry::Int(123)));
        assert!(h.set(b"f4", b"v", LIMITS));
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.get(b"f0").as_deref(), Some(&b"123"[..]));
        assert!(!h.set(b"f0", b"x", LIMITS));
        assert_eq!(h.get_entry(b"f0"), Some(Entry::Str(b"x")));
        let mut long = Hash::default();
        long.set(b"f", b"a value longer than 8", LIMITS);
        assert_eq!(long.encoding(), "hashtable");
        assert!(h.remove(b"f4") && !h.remove(b"f4"));
        assert_eq!(h.pairs().len(), 4);
        assert_eq!(h.iter().count(), 4);
    }

    #[test]
    fn prepare_for_converts_as_redis_guesses() {
        // Three pairs (even if duplicates) exceed two entries.
        let tight = PackLimits { entries: 2, value: 8 };
        let mut h = Hash::default();
        h.prepare_for(&[&b"a"[..], b"1", b"a", b"2", b"a", b"3"], tight);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::default();
        h.prepare_for(&[&b"a"[..], b"123456789"], LIMITS);
        assert_eq!(h.encoding(), "hashtable");
        let mut h = Hash::default();
        h.prepare_for(&[&b"a"[..], b"12345678"], LIMITS);
        assert_eq!(h.encoding(), "listpack");
        // Zero allowed entries: any pair converts.
        let mut h = Hash::default();
        h.set(b"a", b"b", PackLimits { entries: 0, value: 64 });
        assert_eq!(h.encoding(), "hashtable");
    }

    #[test]
    fn random_and_distinct_samples() {
        let mut rng = rand::thread_rng();
        for limits in [LIMITS, PackLimits { entries: 0, value: 0 }] {
            let mut h = Hash::default();
            for i in 0..40 {
                h.set(format!("f{i}").as_bytes(), format!("{i}").as_bytes(), limits);
            }
            for _ in 0..50 {
                let (f, v) = h.random_pair(&mut rng).unwrap();
                assert_eq!(h.get_entry(&f.to_vec()), Some(v));
            }
            for count in [1, 5, 13, 14, 39] {
                let s = h.sample_distinct(count, &mut rng);
                assert_eq!(s.len(), count);
                let mut fields: Vec<Vec<u8>> = s.iter().map(|(f, _)| f.to_vec()).collect();
                fields.sort();
                fields.dedup();
                assert_eq!(fields.len(), count, "distinct");
            }
        }
        assert!(Hash::default().random_pair(&mut rng).is_none());
    }

    #[test]
    fn entry_lengths() {
        for v in [0, 9, 10, -1, -10, i64::MAX, i64::MIN] {
            assert_eq!(entry_len(&Entry::Int(v)), v.to_string().len());
        }
        assert_eq!(entry_len(&Entry::Str(b"abc")), 3);
    }
}
