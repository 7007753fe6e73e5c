//! A chained hash table with incremental rehashing and Redis's
//! reverse-binary SCAN cursor.
//!
//! The standard HashMap cannot offer SCAN's guarantee (every element present
//! for the whole scan is returned at least once, even across resizes), so
//! the keyspace and the big hash/set encodings use this table. Resizes move
//! a few buckets per operation instead of stalling on one huge rehash.

use std::alloc::Layout;
use std::borrow::Borrow;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::ptr::NonNull;

struct Entry<K, V> {
    key: K,
    val: V,
    next: Option<Box<Entry<K, V>>>,
}

type Bucket<K, V> = Option<Box<Entry<K, V>>>;

/// Bucket arrays of at least this many bytes are mapped from the system
/// (`alloc::map_zeroed`): a finished rehash gives the old array's memory
/// back at once, and a new array costs no clearing pass, its pages being
/// faulted in as the rehash fills them.
const MAPPED_MIN_BYTES: usize = 128 << 10;

/// A fixed-size array of empty-at-first buckets. An empty bucket is a null
/// pointer, so zeroed memory is an array of empty buckets.
struct Buckets<K, V> {
    ptr: NonNull<Bucket<K, V>>,
    len: usize,
    /// From `alloc::map_zeroed` (else from the allocator, which also
    /// serves a big array when the system refuses a mapping, e.g. past
    /// `vm.max_map_count`).
    mapped: bool,
}

// SAFETY: a Buckets owns its entries as a Vec would; it is Send and Sync
// under the same conditions.
unsafe impl<K: Send, V: Send> Send for Buckets<K, V> {}
unsafe impl<K: Sync, V: Sync> Sync for Buckets<K, V> {}

impl<K, V> Buckets<K, V> {
    fn empty() -> Self {
        Buckets { ptr: NonNull::dangling(), len: 0, mapped: false }
    }

    fn zeroed(len: usize) -> Self {
        if len == 0 {
            return Self::empty();
        }
        let layout = Layout::array::<Bucket<K, V>>(len).unwrap_or_else(|_| capacity_overflow());
        if layout.size() >= MAPPED_MIN_BYTES {
            if let Some(p) = crate::alloc::map_zeroed(layout.size()) {
                return Buckets { ptr: p.cast(), len, mapped: true };
            }
        }
        // SAFETY: the layout is not zero-sized.
        match NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) }) {
            Some(p) => Buckets { ptr: p.cast(), len, mapped: false },
            None => std::alloc::handle_alloc_error(layout),
        }
    }
}

fn capacity_overflow() -> ! {
    panic!("hash table size overflows the address space")
}

impl<K, V> std::ops::Deref for Buckets<K, V> {
    type Target = [Bucket<K, V>];
    fn deref(&self) -> &[Bucket<K, V>] {
        // SAFETY: `ptr` holds `len` initialized buckets (zeroed memory is
        // `None` for each), or is dangling with `len` 0.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl<K, V> std::ops::DerefMut for Buckets<K, V> {
    fn deref_mut(&mut self) -> &mut [Bucket<K, V>] {
        // SAFETY: as in `deref`, and `&mut self` makes the access unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl<K, V> Drop for Buckets<K, V> {
    /// Frees the array; its entries are the table's to drop first.
    fn drop(&mut self) {
        if self.len == 0 {
            return;
        }
        let Ok(layout) = Layout::array::<Bucket<K, V>>(self.len) else { return };
        // SAFETY: the memory was obtained in `zeroed` with this layout,
        // from the source `mapped` names; nothing refers into it now, and
        // an entry still linked from it is leaked, never freed twice.
        unsafe {
            if self.mapped {
                crate::alloc::unmap(self.ptr.cast(), layout.size());
            } else {
                std::alloc::dealloc(self.ptr.as_ptr().cast(), layout);
            }
        }
    }
}

struct Table<K, V> {
    buckets: Buckets<K, V>,
    used: usize,
}

impl<K, V> Drop for Table<K, V> {
    fn drop(&mut self) {
        // A table emptied by a finished rehash is not read again. Chains
        // are unlinked one entry at a time: recursive Box drops of a long
        // chain could overflow the stack.
        if self.used == 0 {
            return;
        }
        for b in self.buckets.iter_mut() {
            let mut chain = b.take();
            while let Some(mut e) = chain {
                chain = e.next.take();
            }
        }
    }
}

impl<K, V> Table<K, V> {
    fn empty() -> Self {
        Table { buckets: Buckets::empty(), used: 0 }
    }
    fn with_size(n: usize) -> Self {
        Table { buckets: Buckets::zeroed(n), used: 0 }
    }
    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }
}

const MIN_SIZE: usize = 4;
/// Buckets moved per ordinary operation while rehashing.
const REHASH_STEP: usize = 1;
/// Most keys [`DictTables::prefetch`] looks at in one call: about as many
/// misses as a core keeps in flight.
pub const PREFETCH_MAX: usize = 16;

pub struct DictTables<K, V> {
    t0: Table<K, V>,
    t1: Table<K, V>,
    /// Next bucket of `t0` to move into `t1`; `None` when not rehashing.
    rehash_idx: Option<usize>,
    hasher: RandomState,
}

/// The table is boxed so that a `Dict` is one pointer: small hashes,
/// sets and sorted sets are listpacks, and the enums holding either stay
/// small.
pub struct Dict<K, V>(Box<DictTables<K, V>>);

impl<K: Hash + Eq, V> Default for Dict<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Hash + Eq, V> Default for DictTables<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Hash + Eq, V> Dict<K, V> {
    pub fn new() -> Self {
        Dict(Box::default())
    }
}

impl<K, V> Dict<K, V> {
    /// Heap bytes of one entry (the chain node holding a key and value),
    /// for memory figures.
    pub const fn entry_size() -> usize {
        std::mem::size_of::<Entry<K, V>>()
    }
}

impl<K, V> std::ops::Deref for Dict<K, V> {
    type Target = DictTables<K, V>;
    fn deref(&self) -> &DictTables<K, V> {
        &self.0
    }
}

impl<K, V> std::ops::DerefMut for Dict<K, V> {
    fn deref_mut(&mut self) -> &mut DictTables<K, V> {
        &mut self.0
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Clone for Dict<K, V> {
    fn clone(&self) -> Self {
        Dict(Box::new((*self.0).clone()))
    }
}

impl<K: Hash + Eq, V> DictTables<K, V> {
    fn new() -> Self {
        DictTables { t0: Table::empty(), t1: Table::empty(), rehash_idx: None, hasher: RandomState::new() }
    }

    pub fn len(&self) -> usize {
        self.t0.used + self.t1.used
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of bucket slots allocated (both tables), for memory figures.
    pub fn slots(&self) -> usize {
        self.t0.buckets.len() + self.t1.buckets.len()
    }

    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    #[inline]
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> usize {
        self.hasher.hash_one(key) as usize
    }

    /// Moves up to `n` buckets from the old table to the new one (visiting
    /// at most 10·n empty buckets). Returns true while work remains.
    pub fn rehash(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else { return false };
        let mut empty_visits = n * 10;
        let mut moved = 0;
        while moved < n && self.t0.used > 0 {
            while self.t0.buckets[idx].is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    self.rehash_idx = Some(idx);
                    return true;
                }
            }
            let mut chain = self.t0.buckets[idx].take();
            let mask = self.t1.mask();
            while let Some(mut e) = chain {
                chain = e.next.take();
                let b = self.hash(&e.key) & mask;
                e.next = self.t1.buckets[b].take();
                self.t1.buckets[b] = Some(e);
                self.t0.used -= 1;
                self.t1.used += 1;
            }
            idx += 1;
            moved += 1;
        }
        if self.t0.used == 0 {
            self.t0 = std::mem::replace(&mut self.t1, Table::empty());
            self.rehash_idx = None;
            return false;
        }
        self.rehash_idx = Some(idx);
        true
    }

    fn step(&mut self) {
        if self.rehash_idx.is_some() {
            self.rehash(REHASH_STEP);
        }
    }

    fn start_resize(&mut self, size: usize) {
        if self.rehash_idx.is_some() {
            return;
        }
        let size = size.max(MIN_SIZE).next_power_of_two();
        if size == self.t0.buckets.len() {
            return;
        }
        if self.t0.used == 0 {
            self.t0 = Table::with_size(size);
            return;
        }
        self.t1 = Table::with_size(size);
        self.rehash_idx = Some(0);
    }

    fn grow_if_needed(&mut self) {
        if self.t0.buckets.is_empty() {
            self.t0 = Table::with_size(MIN_SIZE);
        } else if self.rehash_idx.is_none() && self.t0.used >= self.t0.buckets.len() {
            self.start_resize(self.t0.used * 2);
        }
    }

    /// Starts shrinking a table that removals left under 1/8 full (also
    /// called from the cron, as Redis's tryResizeHashTables: a table no
    /// longer removed from would otherwise stay big).
    pub fn shrink_if_needed(&mut self) {
        let size = self.t0.buckets.len();
        if self.rehash_idx.is_none() && size > MIN_SIZE && self.t0.used * 8 < size {
            self.start_resize(self.t0.used);
        }
    }

    fn find<Q>(&self, key: &Q) -> Option<&Entry<K, V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key);
        for t in [&self.t0, &self.t1] {
            if t.buckets.is_empty() {
                continue;
            }
            let mut cur = t.buckets[h & t.mask()].as_deref();
            while let Some(e) = cur {
                if e.key.borrow() == key {
                    return Some(e);
                }
                cur = e.next.as_deref();
            }
            if self.rehash_idx.is_none() {
                break;
            }
        }
        None
    }

    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).map(|e| &e.val)
    }

    pub fn get_key_value<Q>(&self, key: &Q) -> Option<(&K, &V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).map(|e| (&e.key, &e.val))
    }

    pub fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.find(key).is_some()
    }

    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.is_empty() {
            return None;
        }
        self.step();
        let h = self.hash(key);
        let rehashing = self.rehash_idx.is_some();
        for t in [&mut self.t0, &mut self.t1] {
            if t.buckets.is_empty() {
                continue;
            }
            let mask = t.mask();
            let mut cur = t.buckets[h & mask].as_deref_mut();
            while let Some(e) = cur {
                if e.key.borrow() == key {
                    return Some(&mut e.val);
                }
                cur = e.next.as_deref_mut();
            }
            if !rehashing {
                break;
            }
        }
        None
    }

    /// The bucket `key` hashes to: during a rehash, in the new table once
    /// the rehash has passed its slot in the old one.
    fn bucket(&self, h: usize) -> &Bucket<K, V> {
        let i = h & self.t0.mask();
        match self.rehash_idx {
            Some(done) if i < done => &self.t1.buckets[h & self.t1.mask()],
            _ => &self.t0.buckets[i],
        }
    }

    /// Starts loading what looking up `keys` will read, in rounds: every
    /// bucket slot, every chain head, what `deep` prefetches from each
    /// head's key and value along with the second entry of its chain, then
    /// `deep` of those second entries (at a load factor near 1 about a
    /// third of the keys found are not first in their chain). The cache
    /// misses of a pipeline's lookups then overlap instead of coming one
    /// after another. Looks at the first [`PREFETCH_MAX`] keys only.
    pub fn prefetch<Q>(&self, keys: &[&Q], deep: impl Fn(&K, &V))
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.is_empty() || self.t0.buckets.is_empty() {
            return;
        }
        let keys = &keys[..keys.len().min(PREFETCH_MAX)];
        let mut slots: [Option<&Bucket<K, V>>; PREFETCH_MAX] = [None; PREFETCH_MAX];
        for (slot, key) in slots.iter_mut().zip(keys) {
            let b = self.bucket(self.hash(*key));
            crate::util::prefetch(b);
            *slot = Some(b);
        }
        let heads = || slots.iter().map_while(|s| *s).filter_map(|b| b.as_deref());
        for e in heads() {
            crate::util::prefetch(e);
        }
        for e in heads() {
            deep(&e.key, &e.val);
            if let Some(n) = e.next.as_deref() {
                crate::util::prefetch(n);
            }
        }
        for e in heads() {
            if let Some(n) = e.next.as_deref() {
                deep(&n.key, &n.val);
            }
        }
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: K, val: V) -> Option<V> {
        self.step();
        if let Some(slot) = self.get_mut(&key) {
            return Some(std::mem::replace(slot, val));
        }
        self.insert_new(key, val);
        None
    }

    /// Sizes an empty table for `n` entries at once (Redis's dictExpand
    /// when a file announces a db's size), so that loading it never
    /// rehashes.
    pub fn reserve(&mut self, n: usize) {
        if self.is_empty() && self.rehash_idx.is_none() {
            self.start_resize(n);
        }
    }

    /// Inserts `key` unless it is present, hashing it once; gives the pair
    /// back when it is.
    pub fn insert_unique(&mut self, key: K, val: V) -> Option<(K, V)> {
        self.step();
        self.grow_if_needed();
        let h = self.hash(&key);
        let rehashing = self.rehash_idx.is_some();
        for t in [&self.t0, &self.t1] {
            if t.buckets.is_empty() {
                continue;
            }
            let mut cur = t.buckets[h & t.mask()].as_deref();
            while let Some(e) = cur {
                if e.key == key {
                    return Some((key, val));
                }
                cur = e.next.as_deref();
            }
            if !rehashing {
                break;
            }
        }
        let t = if rehashing { &mut self.t1 } else { &mut self.t0 };
        let b = h & t.mask();
        let next = t.buckets[b].take();
        t.buckets[b] = Some(Box::new(Entry { key, val, next }));
        t.used += 1;
        None
    }

    /// Inserts a key known to be absent. Like every write it moves the
    /// rehash on a step, so a table only ever added to still converges.
    pub fn insert_new(&mut self, key: K, val: V) {
        self.step();
        self.grow_if_needed();
        let h = self.hash(&key);
        let t = if self.rehash_idx.is_some() { &mut self.t1 } else { &mut self.t0 };
        let b = h & t.mask();
        let next = t.buckets[b].take();
        t.buckets[b] = Some(Box::new(Entry { key, val, next }));
        t.used += 1;
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_entry(key).map(|(_, v)| v)
    }

    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.is_empty() {
            return None;
        }
        self.step();
        let h = self.hash(key);
        let rehashing = self.rehash_idx.is_some();
        let mut removed = None;
        for t in [&mut self.t0, &mut self.t1] {
            if t.buckets.is_empty() {
                continue;
            }
            let b = h & t.mask();
            let mut link = &mut t.buckets[b];
            loop {
                match link {
                    None => break,
                    Some(e) if e.key.borrow() == key => {
                        let mut e = link.take().expect("matched entry");
                        *link = e.next.take();
                        t.used -= 1;
                        removed = Some((e.key, e.val));
                        break;
                    }
                    Some(e) => link = &mut e.next,
                }
            }
            if removed.is_some() || !rehashing {
                break;
            }
        }
        if removed.is_some() {
            self.shrink_if_needed();
        }
        removed
    }

    pub fn clear(&mut self) {
        self.t0 = Table::empty();
        self.t1 = Table::empty();
        self.rehash_idx = None;
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.t0.buckets.iter().chain(self.t1.buckets.iter()).flat_map(|b| ChainIter { cur: b.as_deref() })
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// Visits the bucket(s) the cursor names and returns the next cursor
    /// (0 when the scan is complete). Redis's algorithm: the cursor's bits
    /// are incremented from the most significant end, so buckets that a
    /// resize splits or merges are never skipped.
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&K, &V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor as usize;
        let visit = |t: &Table<K, V>, idx: usize, f: &mut dyn FnMut(&K, &V)| {
            let mut cur = t.buckets[idx & t.mask()].as_deref();
            while let Some(e) = cur {
                f(&e.key, &e.val);
                cur = e.next.as_deref();
            }
        };
        if self.rehash_idx.is_none() {
            let m0 = self.t0.mask();
            visit(&self.t0, v & m0, &mut f);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, large) = if self.t0.buckets.len() <= self.t1.buckets.len() {
                (&self.t0, &self.t1)
            } else {
                (&self.t1, &self.t0)
            };
            let (m0, m1) = (small.mask(), large.mask());
            visit(small, v & m0, &mut f);
            loop {
                visit(large, v & m1, &mut f);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v as u64
    }

    /// A random entry, chosen as Redis does: a random non-empty bucket, then
    /// a random element of its chain.
    pub fn random(&self, rng: &mut impl rand::Rng) -> Option<(&K, &V)> {
        if self.is_empty() {
            return None;
        }
        let total = self.t0.buckets.len() + self.t1.buckets.len();
        let bucket = loop {
            let i = rng.gen_range(0..total);
            let b = if i < self.t0.buckets.len() {
                &self.t0.buckets[i]
            } else {
                &self.t1.buckets[i - self.t0.buckets.len()]
            };
            if let Some(e) = b.as_deref() {
                break e;
            }
        };
        let mut len = 0;
        let mut cur = Some(bucket);
        while let Some(e) = cur {
            len += 1;
            cur = e.next.as_deref();
        }
        let mut e = bucket;
        for _ in 0..rng.gen_range(0..len) {
            e = e.next.as_deref().expect("within chain length");
        }
        Some((&e.key, &e.val))
    }

    /// Visits up to `count` entries found from a random bucket on, as
    /// Redis's `dictGetSomeKeys`: whole chains of consecutive buckets,
    /// jumping elsewhere after a run of empty ones, for at most `10·count`
    /// steps. Cheaper than `count` calls to `random`, and just as good for
    /// eviction, which only needs a sample. `deep` prefetches what `f`
    /// will read beyond an entry. Returns the number visited.
    pub fn sample(
        &mut self,
        count: usize,
        rng: &mut impl rand::Rng,
        deep: impl Fn(&K, &V),
        mut f: impl FnMut(&K, &V),
    ) -> usize {
        let count = count.min(self.len());
        if count == 0 {
            return 0;
        }
        // Rehashing work proportional to the sample, as Redis does.
        for _ in 0..count {
            if !self.rehash(1) {
                break;
            }
        }
        let tables: &[&Table<K, V>] = if self.rehash_idx.is_some() { &[&self.t0, &self.t1] } else { &[&self.t0] };
        let mask = tables.iter().map(|t| t.mask()).max().unwrap_or(0);
        let rehashed = self.rehash_idx.unwrap_or(0);
        let mut i = rng.gen::<usize>() & mask;
        // The walk mostly visits the next few buckets: their chain heads,
        // then what `deep` prefetches from those, are loaded together
        // instead of one cache miss after another.
        if self.rehash_idx.is_none() {
            let head = |k: usize| self.t0.buckets[(i + k) & mask].as_deref();
            for e in (0..count * 2).filter_map(head) {
                crate::util::prefetch(e);
            }
            for e in (0..count * 2).filter_map(head) {
                deep(&e.key, &e.val);
            }
        }
        let (mut stored, mut empty_run) = (0, 0);
        for _ in 0..count * 10 {
            for (j, t) in tables.iter().enumerate() {
                // Buckets of the old table below the rehash index are empty.
                if j == 0 && tables.len() == 2 && i < rehashed {
                    if i >= tables[1].buckets.len() {
                        i = rehashed;
                    } else {
                        continue;
                    }
                }
                let Some(bucket) = t.buckets.get(i) else { continue };
                match bucket.as_deref() {
                    None => {
                        empty_run += 1;
                        if empty_run >= 5 && empty_run > count {
                            i = rng.gen::<usize>() & mask;
                            empty_run = 0;
                        }
                    }
                    Some(first) => {
                        empty_run = 0;
                        let mut cur = Some(first);
                        while let Some(e) = cur {
                            f(&e.key, &e.val);
                            stored += 1;
                            if stored == count {
                                return stored;
                            }
                            cur = e.next.as_deref();
                        }
                    }
                }
            }
            i = (i + 1) & mask;
        }
        stored
    }

    /// Removes every entry for which `keep` returns false.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        for t in [&mut self.t0, &mut self.t1] {
            for b in t.buckets.iter_mut() {
                let mut chain = b.take();
                while let Some(mut e) = chain {
                    chain = e.next.take();
                    if keep(&e.key, &mut e.val) {
                        e.next = b.take();
                        *b = Some(e);
                    } else {
                        t.used -= 1;
                    }
                }
            }
        }
        self.shrink_if_needed();
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Clone for DictTables<K, V> {
    fn clone(&self) -> Self {
        let mut d = DictTables::new();
        for (k, v) in self.iter() {
            d.insert_new(k.clone(), v.clone());
        }
        d
    }
}

struct ChainIter<'a, K, V> {
    cur: Option<&'a Entry<K, V>>,
}

impl<'a, K, V> Iterator for ChainIter<'a, K, V> {
    type Item = (&'a K, &'a V);
    fn next(&mut self) -> Option<Self::Item> {
        let e = self.cur?;
        self.cur = e.next.as_deref();
        Some((&e.key, &e.val))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn insert_get_remove_through_resizes() {
        let mut d: Dict<Vec<u8>, usize> = Dict::new();
        for i in 0..10_000 {
            assert!(d.insert(format!("k{i}").into_bytes(), i).is_none());
        }
        assert_eq!(d.len(), 10_000);
        for i in 0..10_000 {
            assert_eq!(d.get(format!("k{i}").as_bytes()), Some(&i));
        }
        assert_eq!(d.insert(b"k5".to_vec(), 55), Some(5));
        for i in 0..9_990 {
            assert_eq!(d.remove(format!("k{i}").as_bytes()), Some(if i == 5 { 55 } else { i }));
        }
        while d.rehash(100) {}
        d.remove(b"k9990".as_slice());
        while d.rehash(100) {}
        assert_eq!(d.len(), 9);
        assert_eq!(d.iter().count(), 9);
        assert!(d.slots() <= 64, "table shrank to {} slots", d.slots());
    }

    #[test]
    fn scan_returns_every_stable_key_across_resizes() {
        let mut d: Dict<u64, ()> = Dict::new();
        for i in 0..1000 {
            d.insert(i, ());
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0u64;
        loop {
            cursor = d.scan(cursor, |k, _| {
                seen.insert(*k);
            });
            // Grow and shrink the table while scanning: keys 0..1000 stay.
            round += 1;
            if round.is_multiple_of(3) {
                for j in 0..200 {
                    d.insert(100_000 + round * 1000 + j, ());
                }
            } else if round % 3 == 1 {
                let extra: Vec<u64> = d.keys().copied().filter(|k| *k >= 100_000).collect();
                for k in extra {
                    d.remove(&k);
                }
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(&i), "missing {i}");
        }
    }

    #[test]
    fn a_table_only_added_to_keeps_growing() {
        let mut d: Dict<u64, ()> = Dict::new();
        for i in 0..100_000 {
            d.insert_new(i, ());
        }
        // Without rehash steps on insertion the new table would stay small
        // and its chains grow without bound.
        assert!(d.slots() >= d.len() / 2, "{} slots for {} keys", d.slots(), d.len());
    }

    #[test]
    fn sample_visits_distinct_live_entries() {
        let mut rng = rand::thread_rng();
        let mut d: Dict<u32, u32> = Dict::new();
        assert_eq!(d.sample(5, &mut rng, |_, _| {}, |_, _| panic!("empty dict")), 0);
        for i in 0..3 {
            d.insert(i, i * 10);
        }
        // Fewer entries than asked: each is returned once.
        let mut seen = Vec::new();
        assert_eq!(d.sample(5, &mut rng, |_, _| {}, |k, v| seen.push((*k, *v))), 3);
        seen.sort();
        assert_eq!(seen, vec![(0, 0), (1, 10), (2, 20)]);
        for i in 3..10_000 {
            d.insert(i, i * 10);
        }
        // Mid-rehash too (a shrink is started by the removals), where a
        // sample may come short, even empty, in the sparse old table (as
        // in Redis: a caller samples again).
        for i in 0..9_000 {
            d.remove(&i);
        }
        let mut hits = HashSet::new();
        let mut sample = |d: &mut Dict<u32, u32>, least: usize| {
            let mut n = 0;
            let got = d.sample(
                5,
                &mut rng,
                |_, _| {},
                |k, v| {
                    assert!(*k >= 9_000 && *v == k * 10);
                    hits.insert(*k);
                    n += 1;
                },
            );
            assert!(got == n && (least..=5).contains(&got), "{got} {n}");
            got
        };
        assert!(d.is_rehashing());
        sample(&mut d, 0);
        while d.rehash(100) {}
        let total: usize = (0..2_000).map(|_| sample(&mut d, 1)).sum();
        assert!(total > 9_500, "{total} of 10000 asked");
        // Samples start at random places: most keys get picked.
        assert!(hits.len() > 900, "only {} distinct keys sampled", hits.len());
    }

    #[test]
    fn random_and_retain() {
        let mut d: Dict<u32, u32> = Dict::new();
        for i in 0..100 {
            d.insert(i, i);
        }
        let mut rng = rand::thread_rng();
        for _ in 0..100 {
            let (k, v) = d.random(&mut rng).unwrap();
            assert_eq!(k, v);
        }
        d.retain(|k, _| k % 2 == 0);
        assert_eq!(d.len(), 50);
        assert!(d.keys().all(|k| k % 2 == 0));
    }

    #[test]
    fn reserve_and_insert_unique() {
        let mut d: Dict<u32, u32> = Dict::new();
        d.reserve(1000);
        assert_eq!(d.slots(), 1024);
        for i in 0..1000 {
            assert!(d.insert_unique(i, i * 2).is_none());
        }
        assert!(!d.is_rehashing(), "no resize while within the reserved size");
        assert_eq!(d.insert_unique(7, 0), Some((7, 0)));
        assert_eq!(d.get(&7), Some(&14));
        // Past the size it grows as usual, and keys stay unique across the
        // rehash.
        for i in 1000..3000 {
            assert!(d.insert_unique(i, i).is_none());
            assert!(d.insert_unique(i / 2, 0).is_some());
        }
        assert_eq!(d.len(), 3000);
        // Only an empty table is sized.
        d.reserve(1 << 20);
        assert!(d.slots() < 1 << 20);
    }

    #[test]
    fn prefetch_reaches_the_entries_of_the_keys_looked_up() {
        let mut d: Dict<u32, u32> = Dict::new();
        let seen = std::cell::RefCell::new(Vec::new());
        d.prefetch(&[&1], |k, _| seen.borrow_mut().push(*k));
        assert!(seen.borrow().is_empty(), "an empty table has nothing to load");
        d.insert(1, 10);
        d.prefetch(&[&1], |k, _| seen.borrow_mut().push(*k));
        assert_eq!(*seen.borrow(), [1]);
        // Mid-rehash, a key is looked for in the table that holds its slot.
        let mut i = 2;
        while !d.is_rehashing() {
            d.insert(i, i);
            i += 1;
        }
        let keys: Vec<u32> = (1..i).collect();
        for chunk in keys.chunks(PREFETCH_MAX) {
            seen.borrow_mut().clear();
            let refs: Vec<&u32> = chunk.iter().collect();
            d.prefetch(&refs, |k, _| seen.borrow_mut().push(*k));
            assert!(!seen.borrow().is_empty(), "none of {chunk:?} reached");
            assert!(seen.borrow().iter().all(|k| d.get(k).is_some()));
        }
        let many: Vec<&u32> = keys.iter().collect();
        seen.borrow_mut().clear();
        d.prefetch(&many, |k, _| seen.borrow_mut().push(*k));
        assert!(seen.borrow().len() <= 2 * PREFETCH_MAX, "looks at PREFETCH_MAX keys at most");
    }

    #[test]
    fn mapped_bucket_arrays_hold_and_release_their_entries() {
        let live = std::rc::Rc::new(());
        let mut d: Dict<u32, std::rc::Rc<()>> = Dict::new();
        let n = 100_000u32;
        for i in 0..n {
            d.insert(i, live.clone());
        }
        let mapped = MAPPED_MIN_BYTES / std::mem::size_of::<Bucket<u32, ()>>();
        assert!(d.slots() > mapped, "the table outgrew the allocator: {} slots", d.slots());
        assert!((0..n).all(|i| d.get(&i).is_some()));
        assert_eq!(std::rc::Rc::strong_count(&live), n as usize + 1);
        // Shrinking (on removals, then by the cron) moves everything out
        // of the mapped array and unmaps it.
        for i in 10..n {
            d.remove(&i);
        }
        loop {
            while d.rehash(1000) {}
            d.shrink_if_needed();
            if !d.is_rehashing() {
                break;
            }
        }
        assert!(d.slots() < mapped);
        assert_eq!(std::rc::Rc::strong_count(&live), 11);
        // A mapped array dropped with entries in it drops them.
        for i in 10..n {
            d.insert(i, live.clone());
        }
        drop(d);
        assert_eq!(std::rc::Rc::strong_count(&live), 1);
    }
}
