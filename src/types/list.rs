//! List values: one listpack while small (Redis 7.2's "listpack"
//! encoding), a quicklist — a deque of listpack nodes — past
//! `list-max-listpack-size`, converting back when it shrinks to half.

use std::collections::VecDeque;

use super::listpack::{Entry, Listpack};

/// Node size limits from `list-max-listpack-size` (Redis's `fill`):
/// negative values -1..-5 cap node bytes at 4k..64k, positive cap entries.
#[derive(Clone, Copy, Debug)]
pub struct Fill(pub i64);

/// Bytes a node may reach when `fill` counts entries (Redis's SIZE_SAFETY_LIMIT).
const SIZE_SAFETY_LIMIT: usize = 8192;

impl Fill {
    fn max_bytes(self) -> usize {
        match self.0 {
            f if f >= 0 => SIZE_SAFETY_LIMIT,
            -1 => 4096,
            -2 => 8192,
            -3 => 16384,
            -4 => 32768,
            _ => 65536,
        }
    }

    /// Whether a node of `bytes` bytes and `count` entries is too big.
    fn exceeded(self, bytes: usize, count: usize) -> bool {
        if self.0 >= 0 {
            count > self.0.max(1) as usize || bytes > SIZE_SAFETY_LIMIT
        } else {
            bytes > self.max_bytes()
        }
    }
}

#[derive(Clone, Debug)]
pub struct List {
    nodes: VecDeque<Listpack>,
    len: usize,
    /// False while the list is a single listpack (encoding "listpack").
    quick: bool,
}

impl Default for List {
    fn default() -> Self {
        List { nodes: VecDeque::from([Listpack::new()]), len: 0, quick: false }
    }
}

/// Bytes an element adds to a listpack (upper bound).
fn entry_cost(v: &[u8]) -> usize {
    v.len() + 11
}

impl List {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn encoding(&self) -> &'static str {
        if self.quick {
            "quicklist"
        } else {
            "listpack"
        }
    }

    /// Number of quicklist nodes (1 for a listpack).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The listpack nodes, front to back (what an RDB quicklist holds).
    pub fn nodes(&self) -> impl Iterator<Item = &Listpack> {
        self.nodes.iter()
    }

    /// A list made of the nodes an RDB file carried (empty ones dropped),
    /// kept as they are; one node within `fill` is the listpack encoding,
    /// as Redis 7.2's listTypeTryConversion leaves a loaded list.
    pub fn from_nodes(nodes: Vec<Listpack>, fill: Fill) -> List {
        let nodes: VecDeque<Listpack> = nodes.into_iter().filter(|n| !n.is_empty()).collect();
        if nodes.is_empty() {
            return List::default();
        }
        let len = nodes.iter().map(|n| n.len()).sum();
        let quick = nodes.len() > 1 || fill.exceeded(nodes[0].bytes_len(), nodes[0].len());
        List { nodes, len, quick }
    }

    pub fn allocated(&self) -> usize {
        self.nodes.iter().map(|n| n.allocated()).sum::<usize>() + self.nodes.capacity() * 24
    }

    fn fits(fill: Fill, node: &Listpack, v: &[u8]) -> bool {
        !fill.exceeded(node.bytes_len() + entry_cost(v), node.len() + 1) && node.safe_to_add(v.len())
    }

    pub fn push_back(&mut self, v: &[u8], fill: Fill) {
        let fits = self.nodes.back().is_some_and(|n| Self::fits(fill, n, v));
        if !fits {
            self.quick = true;
            self.nodes.push_back(Listpack::new());
        }
        if let Some(n) = self.nodes.back_mut() {
            n.push_back(v);
        }
        self.len += 1;
    }

    pub fn push_front(&mut self, v: &[u8], fill: Fill) {
        let fits = self.nodes.front().is_some_and(|n| Self::fits(fill, n, v));
        if !fits {
            self.quick = true;
            self.nodes.push_front(Listpack::new());
        }
        if let Some(n) = self.nodes.front_mut() {
            n.push_front(v);
        }
        self.len += 1;
    }

    pub fn pop_front(&mut self, fill: Fill) -> Option<Vec<u8>> {
        let node = self.nodes.front_mut()?;
        let p = node.first()?;
        let v = node.get(p).to_vec();
        node.delete(p);
        self.after_delete(0, fill);
        self.len -= 1;
        Some(v)
    }

    pub fn pop_back(&mut self, fill: Fill) -> Option<Vec<u8>> {
        let node = self.nodes.back_mut()?;
        let p = node.last()?;
        let v = node.get(p).to_vec();
        node.delete(p);
        let last = self.nodes.len() - 1;
        self.after_delete(last, fill);
        self.len -= 1;
        Some(v)
    }

    /// Drops node `i` if it became empty, and turns a quicklist that is down
    /// to one small node back into a listpack, as Redis 7.2 does.
    fn after_delete(&mut self, i: usize, fill: Fill) {
        if self.nodes.len() > 1 && self.nodes[i].is_empty() {
            self.nodes.remove(i);
        }
        self.try_shrink(fill);
    }

    fn try_shrink(&mut self, fill: Fill) {
        if !self.quick || self.nodes.len() != 1 {
            return;
        }
        let n = &self.nodes[0];
        let small = if fill.0 >= 0 {
            n.len() <= (fill.0.max(1) as usize) / 2 && n.bytes_len() <= SIZE_SAFETY_LIMIT / 2
        } else {
            n.bytes_len() <= fill.max_bytes() / 2
        };
        if small {
            self.quick = false;
        }
    }

    /// Node index and position of element `index` (negative from the end).
    fn locate(&self, index: i64) -> Option<(usize, usize)> {
        let idx = if index < 0 { self.len as i64 + index } else { index };
        if idx < 0 || idx as usize >= self.len {
            return None;
        }
        let mut idx = idx as usize;
        if idx < self.len / 2 {
            for (ni, n) in self.nodes.iter().enumerate() {
                let l = n.len();
                if idx < l {
                    return n.seek(idx as i64).map(|p| (ni, p));
                }
                idx -= l;
            }
        } else {
            let mut from_end = self.len - 1 - idx;
            for (ni, n) in self.nodes.iter().enumerate().rev() {
                let l = n.len();
                if from_end < l {
                    return n.seek(-(from_end as i64) - 1).map(|p| (ni, p));
                }
                from_end -= l;
            }
        }
        None
    }

    pub fn get(&self, index: i64) -> Option<Vec<u8>> {
        let (ni, p) = self.locate(index)?;
        Some(self.nodes[ni].get(p).to_vec())
    }

    /// Replaces element `index`; false if out of range.
    pub fn set(&mut self, index: i64, v: &[u8], fill: Fill) -> bool {
        let Some((ni, p)) = self.locate(index) else { return false };
        self.nodes[ni].replace(p, v);
        if self.nodes[ni].len() > 1 && fill.exceeded(self.nodes[ni].bytes_len(), self.nodes[ni].len()) {
            self.split(ni, fill);
        }
        true
    }

    /// Splits an oversized node into nodes that each fit.
    fn split(&mut self, ni: usize, fill: Fill) {
        let old = std::mem::take(&mut self.nodes[ni]);
        let mut fresh: Vec<Listpack> = vec![Listpack::new()];
        for e in old.iter() {
            let v = e.to_vec();
            let last = fresh.len() - 1;
            if !fresh[last].is_empty() && !Self::fits(fill, &fresh[last], &v) {
                fresh.push(Listpack::new());
            }
            let last = fresh.len() - 1;
            fresh[last].push_back(&v);
        }
        self.nodes.remove(ni);
        for (k, n) in fresh.into_iter().enumerate() {
            self.nodes.insert(ni + k, n);
        }
        if self.nodes.len() > 1 {
            self.quick = true;
        }
    }

    /// Elements start..=end (clamped by the caller), front to back.
    pub fn range(&self, start: usize, end: usize) -> Vec<Vec<u8>> {
        let mut out = Vec::with_capacity(end.saturating_sub(start) + 1);
        self.for_range(start, end, |e| out.push(e.to_vec()));
        out
    }

    /// Calls `f` for elements start..=end without copying them.
    pub fn for_range(&self, start: usize, end: usize, mut f: impl FnMut(Entry<'_>)) {
        if start > end || start >= self.len {
            return;
        }
        let Some((mut ni, p)) = self.locate(start as i64) else { return };
        let mut pos = Some(p);
        let mut left = end.min(self.len - 1) - start + 1;
        while left > 0 {
            let node = &self.nodes[ni];
            while let (Some(q), true) = (pos, left > 0) {
                f(node.get(q));
                left -= 1;
                pos = node.next(q);
            }
            ni += 1;
            if ni >= self.nodes.len() {
                break;
            }
            pos = self.nodes[ni].first();
        }
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Entry<'_>> {
        let fwd: Vec<Entry<'_>> = self.nodes.iter().flat_map(|n| n.iter()).collect();
        fwd.into_iter()
    }

    /// Keeps only elements start..=end (clamped); an empty range empties it.
    pub fn trim(&mut self, start: usize, end: usize, fill: Fill) {
        let keep = if start > end || start >= self.len { Vec::new() } else { self.range(start, end) };
        self.rebuild(keep.iter().map(|v| v.as_slice()), fill);
    }

    fn rebuild<'a>(&mut self, items: impl Iterator<Item = &'a [u8]>, fill: Fill) {
        let was_quick = self.quick;
        *self = List::default();
        self.quick = was_quick;
        for v in items {
            self.push_back(v, fill);
        }
        self.try_shrink(fill);
    }

    /// Inserts `v` before (or after) the first element equal to `pivot`;
    /// false if the pivot is absent.
    pub fn insert_at_pivot(&mut self, pivot: &[u8], v: &[u8], after: bool, fill: Fill) -> bool {
        for ni in 0..self.nodes.len() {
            let node = &self.nodes[ni];
            if let Some(p) = node.find(node.first(), pivot, 0) {
                let at = if after { node.next(p) } else { Some(p) };
                self.nodes[ni].insert(at, v);
                self.len += 1;
                if fill.exceeded(self.nodes[ni].bytes_len(), self.nodes[ni].len()) {
                    self.split(ni, fill);
                }
                return true;
            }
        }
        false
    }

    /// LREM: removes up to `count` elements equal to `v` (0 = all, negative
    /// = from the tail); returns how many.
    pub fn remove_matching(&mut self, v: &[u8], count: i64, fill: Fill) -> usize {
        let items: Vec<Vec<u8>> = self.iter().map(|e| e.to_vec()).collect();
        let limit = if count == 0 { usize::MAX } else { count.unsigned_abs() as usize };
        let mut drop = vec![false; items.len()];
        let mut removed = 0;
        let order: Box<dyn Iterator<Item = usize>> =
            if count < 0 { Box::new((0..items.len()).rev()) } else { Box::new(0..items.len()) };
        for i in order {
            if removed == limit {
                break;
            }
            if items[i] == v {
                drop[i] = true;
                removed += 1;
            }
        }
        if removed > 0 {
            self.rebuild(items.iter().zip(&drop).filter(|(_, d)| !**d).map(|(v, _)| v.as_slice()), fill);
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_check_with_small_nodes() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let fill = Fill(4);
        let mut l = List::default();
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        for _ in 0..5000 {
            let v = format!("v{}", rng.gen_range(0..20)).into_bytes();
            match rng.gen_range(0..8) {
                0 | 1 => {
                    l.push_back(&v, fill);
                    model.push_back(v);
                }
                2 | 3 => {
                    l.push_front(&v, fill);
                    model.push_front(v);
                }
                4 => assert_eq!(l.pop_front(fill), model.pop_front()),
                5 => assert_eq!(l.pop_back(fill), model.pop_back()),
                6 if !model.is_empty() => {
                    let i = rng.gen_range(0..model.len());
                    assert!(l.set(i as i64, &v, fill));
                    model[i] = v;
                }
                _ => {
                    let c = rng.gen_range(-2..3);
                    let n = l.remove_matching(&v, c, fill);
                    let limit = if c == 0 { usize::MAX } else { c.unsigned_abs() as usize };
                    let mut removed = 0;
                    if c >= 0 {
                        model.retain(|x| {
                            if *x == v && removed < limit {
                                removed += 1;
                                false
                            } else {
                                true
                            }
                        });
                    } else {
                        let mut rev: Vec<Vec<u8>> = model.drain(..).rev().collect();
                        rev.retain(|x| {
                            if *x == v && removed < limit {
                                removed += 1;
                                false
                            } else {
                                true
                            }
                        });
                        model = rev.into_iter().rev().collect();
                    }
                    assert_eq!(n, removed);
                }
            }
            assert_eq!(l.len(), model.len());
        }
        let all: Vec<Vec<u8>> = l.iter().map(|e| e.to_vec()).collect();
        assert_eq!(all, model.iter().cloned().collect::<Vec<_>>());
        if !model.is_empty() {
            let n = model.len();
            assert_eq!(l.range(1, n - 1), model.iter().skip(1).cloned().collect::<Vec<_>>());
            assert_eq!(l.get(-1).as_ref(), model.back());
        }
    }

    #[test]
    fn encoding_converts_both_ways() {
        let fill = Fill(-2);
        let mut l = List::default();
        let big = vec![b'x'; 1000];
        for _ in 0..7 {
            l.push_back(&big, fill);
        }
        assert_eq!(l.encoding(), "listpack");
        for _ in 0..3 {
            l.push_back(&big, fill);
        }
        assert_eq!(l.encoding(), "quicklist");
        // Valkey 9.1 gives the same: still a quicklist with three left (two
        // nodes), a listpack again with two.
        while l.len() > 3 {
            l.pop_front(fill);
        }
        assert_eq!(l.encoding(), "quicklist");
        l.pop_front(fill);
        assert_eq!(l.encoding(), "listpack");
    }
}
