//! The sorted-set skiplist of Redis (`zskiplist`): elements ordered by
//! (score, member), each level's link carrying a span so that ranks are
//! found in O(log n). Nodes live in an arena and link by index, so there is
//! no unsafe code and a node costs no separate allocation of its own besides
//! its member and levels.

use std::cmp::Ordering;

const MAX_LEVEL: usize = 32;
const NIL: u32 = u32::MAX;
const HEAD: u32 = 0;

#[derive(Clone, Copy)]
struct Level {
    forward: u32,
    /// Number of elements this link jumps over (1 = the next one).
    span: u32,
}

#[derive(Clone)]
struct Node {
    member: Box<[u8]>,
    score: f64,
    backward: u32,
    levels: Vec<Level>,
}

/// A score interval, each end open or closed.
#[derive(Clone, Copy, Debug)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_ex: bool,
    pub max_ex: bool,
}

impl ScoreRange {
    pub fn above_min(&self, s: f64) -> bool {
        if self.min_ex {
            s > self.min
        } else {
            s >= self.min
        }
    }
    pub fn below_max(&self, s: f64) -> bool {
        if self.max_ex {
            s < self.max
        } else {
            s <= self.max
        }
    }
    pub fn contains(&self, s: f64) -> bool {
        self.above_min(s) && self.below_max(s)
    }
    /// True when no score can fall in the range.
    pub fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.min_ex || self.max_ex))
    }
}

/// One end of a lexicographic range (`-`, `+`, `[x`, `(x`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

#[derive(Clone, Debug)]
pub struct LexRange {
    pub min: LexBound,
    pub max: LexBound,
}

impl LexRange {
    pub fn above_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(v) => m >= v.as_slice(),
            LexBound::Excl(v) => m > v.as_slice(),
        }
    }
    pub fn below_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(v) => m <= v.as_slice(),
            LexBound::Excl(v) => m < v.as_slice(),
        }
    }
    pub fn contains(&self, m: &[u8]) -> bool {
        self.above_min(m) && self.below_max(m)
    }
    pub fn is_empty(&self) -> bool {
        use LexBound::*;
        match (&self.min, &self.max) {
            (PosInf, _) | (_, NegInf) => true,
            (NegInf, _) | (_, PosInf) => false,
            (Incl(a), Incl(b)) => a > b,
            (Incl(a), Excl(b)) | (Excl(a), Incl(b)) | (Excl(a), Excl(b)) => a >= b,
        }
    }
}

#[derive(Clone)]
pub struct SkipList {
    nodes: Vec<Node>,
    free: Vec<u32>,
    tail: u32,
    len: usize,
    level: usize,
}

impl Default for SkipList {
    fn default() -> Self {
        Self::new()
    }
}

fn cmp(score: f64, member: &[u8], n: &Node) -> Ordering {
    match score.partial_cmp(&n.score) {
        Some(Ordering::Equal) | None => member.cmp(&n.member),
        Some(o) => o,
    }
}

fn random_level() -> usize {
    let mut level = 1;
    // Each further level with probability 1/4, as Redis's ZSKIPLIST_P.
    while level < MAX_LEVEL && rand::random::<u32>().is_multiple_of(4) {
        level += 1;
    }
    level
}

impl SkipList {
    pub fn new() -> Self {
        let head = Node {
            member: Box::default(),
            score: 0.0,
            backward: NIL,
            levels: vec![Level { forward: NIL, span: 0 }; MAX_LEVEL],
        };
        SkipList { nodes: vec![head], free: Vec::new(), tail: NIL, len: 0, level: 1 }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn node(&self, i: u32) -> &Node {
        &self.nodes[i as usize]
    }

    fn fwd(&self, i: u32, lvl: usize) -> u32 {
        self.nodes[i as usize].levels[lvl].forward
    }

    /// Member and score of a node handle.
    pub fn entry(&self, h: NodeRef) -> (&[u8], f64) {
        let n = self.node(h.0);
        (&n.member, n.score)
    }

    /// Inserts a member known to be absent.
    pub fn insert(&mut self, score: f64, member: &[u8]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let f = self.fwd(x, i);
                if f != NIL && cmp(score, member, self.node(f)) == Ordering::Greater {
                    rank[i] += self.node(x).levels[i].span;
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let level = random_level();
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.nodes[HEAD as usize].levels[i].span = self.len as u32;
            }
            self.level = level;
        }
        let node = Node {
            member: member.into(),
            score,
            backward: if update[0] == HEAD { NIL } else { update[0] },
            levels: vec![Level { forward: NIL, span: 0 }; level],
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        for i in 0..level {
            let u = update[i] as usize;
            let ulev = self.nodes[u].levels[i];
            self.nodes[idx as usize].levels[i] = Level { forward: ulev.forward, span: ulev.span - (rank[0] - rank[i]) };
            self.nodes[u].levels[i] = Level { forward: idx, span: rank[0] - rank[i] + 1 };
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            self.nodes[u as usize].levels[i].span += 1;
        }
        let next = self.fwd(idx, 0);
        if next != NIL {
            self.nodes[next as usize].backward = idx;
        } else {
            self.tail = idx;
        }
        self.len += 1;
    }

    /// Finds the update path for (score, member).
    fn path(&self, score: f64, member: &[u8]) -> [u32; MAX_LEVEL] {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && cmp(score, member, self.node(f)) == Ordering::Greater {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        update
    }

    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let u = u as usize;
            if self.nodes[u].levels[i].forward == x {
                let xl = self.nodes[x as usize].levels[i];
                self.nodes[u].levels[i].span += xl.span;
                self.nodes[u].levels[i].span -= 1;
                self.nodes[u].levels[i].forward = xl.forward;
            } else {
                self.nodes[u].levels[i].span -= 1;
            }
        }
        let next = self.fwd(x, 0);
        let back = self.node(x).backward;
        if next != NIL {
            self.nodes[next as usize].backward = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.fwd(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
        let n = &mut self.nodes[x as usize];
        n.member = Box::default();
        n.levels = Vec::new();
        self.free.push(x);
    }

    /// Removes (score, member); false if not present.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let update = self.path(score, member);
        let x = self.fwd(update[0], 0);
        if x != NIL && self.node(x).score == score && *self.node(x).member == *member {
            self.unlink(x, &update);
            true
        } else {
            false
        }
    }

    /// Changes the score of an existing member (its old score given).
    pub fn update_score(&mut self, member: &[u8], old: f64, new: f64) {
        let update = self.path(old, member);
        let x = self.fwd(update[0], 0);
        if x == NIL || *self.node(x).member != *member {
            return;
        }
        // Stays in place when the order does not change, as Redis does.
        let back = self.node(x).backward;
        let next = self.fwd(x, 0);
        let back_ok = back == NIL || cmp(new, member, self.node(back)) == Ordering::Greater;
        let next_ok = next == NIL || cmp(new, member, self.node(next)) == Ordering::Less;
        if back_ok && next_ok {
            self.nodes[x as usize].score = new;
            return;
        }
        self.unlink(x, &update);
        self.insert(new, member);
    }

    /// 1-based rank of (score, member), or None.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut rank = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && cmp(score, member, self.node(f)) != Ordering::Less {
                    rank += self.node(x).levels[i].span as usize;
                    x = f;
                } else {
                    break;
                }
            }
            if x != HEAD && *self.node(x).member == *member {
                return Some(rank);
            }
        }
        None
    }

    /// Node at 1-based `rank`.
    pub fn by_rank(&self, rank: usize) -> Option<NodeRef> {
        if rank == 0 || rank > self.len {
            return None;
        }
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && traversed + self.node(x).levels[i].span as usize <= rank {
                    traversed += self.node(x).levels[i].span as usize;
                    x = f;
                } else {
                    break;
                }
            }
            if traversed == rank {
                return Some(NodeRef(x));
            }
        }
        None
    }

    pub fn first(&self) -> Option<NodeRef> {
        let f = self.fwd(HEAD, 0);
        (f != NIL).then_some(NodeRef(f))
    }

    pub fn last(&self) -> Option<NodeRef> {
        (self.tail != NIL).then_some(NodeRef(self.tail))
    }

    pub fn next(&self, h: NodeRef) -> Option<NodeRef> {
        let f = self.fwd(h.0, 0);
        (f != NIL).then_some(NodeRef(f))
    }

    pub fn prev(&self, h: NodeRef) -> Option<NodeRef> {
        let b = self.node(h.0).backward;
        (b != NIL).then_some(NodeRef(b))
    }

    /// Last node for which `before(node)` holds, walking from the head.
    fn last_where(&self, before: impl Fn(&Node) -> bool) -> u32 {
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && before(self.node(f)) {
                    x = f;
                } else {
                    break;
                }
            }
        }
        x
    }

    /// First node whose score is in range.
    pub fn first_in_range(&self, r: &ScoreRange) -> Option<NodeRef> {
        if r.is_empty() {
            return None;
        }
        let x = self.fwd(self.last_where(|n| !r.above_min(n.score)), 0);
        (x != NIL && r.below_max(self.node(x).score)).then_some(NodeRef(x))
    }

    /// Last node whose score is in range.
    pub fn last_in_range(&self, r: &ScoreRange) -> Option<NodeRef> {
        if r.is_empty() {
            return None;
        }
        let x = self.last_where(|n| r.below_max(n.score));
        (x != HEAD && r.above_min(self.node(x).score)).then_some(NodeRef(x))
    }

    pub fn first_in_lex(&self, r: &LexRange) -> Option<NodeRef> {
        if r.is_empty() {
            return None;
        }
        let x = self.fwd(self.last_where(|n| !r.above_min(&n.member)), 0);
        (x != NIL && r.below_max(&self.node(x).member)).then_some(NodeRef(x))
    }

    pub fn last_in_lex(&self, r: &LexRange) -> Option<NodeRef> {
        if r.is_empty() {
            return None;
        }
        let x = self.last_where(|n| r.below_max(&n.member));
        (x != HEAD && r.above_min(&self.node(x).member)).then_some(NodeRef(x))
    }

    /// 1-based rank of a node handle.
    pub fn rank_of(&self, h: NodeRef) -> usize {
        let (m, s) = self.entry(h);
        self.rank(s, m).unwrap_or(0)
    }

    /// Unlinks node `x` (whose predecessors are `update`) and hands back
    /// its member without copying it.
    fn take(&mut self, x: u32, update: &[u32; MAX_LEVEL]) -> (Box<[u8]>, f64) {
        let member = std::mem::take(&mut self.nodes[x as usize].member);
        let score = self.node(x).score;
        self.unlink(x, update);
        (member, score)
    }

    /// Removes and returns the lowest element, in O(levels): the head
    /// precedes the first node on every level.
    pub fn pop_first(&mut self) -> Option<(Box<[u8]>, f64)> {
        let x = self.fwd(HEAD, 0);
        if x == NIL {
            return None;
        }
        Some(self.take(x, &[HEAD; MAX_LEVEL]))
    }

    /// Removes and returns the highest element.
    pub fn pop_last(&mut self) -> Option<(Box<[u8]>, f64)> {
        if self.tail == NIL {
            return None;
        }
        let n = self.node(self.tail);
        let update = self.path(n.score, &n.member);
        Some(self.take(self.tail, &update))
    }

    /// Removes the nodes from the first one for which `before` is false,
    /// as long as `inside` holds, in O(log n + removed) as Redis's
    /// zslDeleteRangeBy*; returns the removed members.
    fn drain_while(&mut self, before: impl Fn(&Node) -> bool, inside: impl Fn(&Node) -> bool) -> Vec<Box<[u8]>> {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && before(self.node(f)) {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let mut removed = Vec::new();
        let mut x = self.fwd(x, 0);
        while x != NIL && inside(self.node(x)) {
            let next = self.fwd(x, 0);
            removed.push(self.take(x, &update).0);
            x = next;
        }
        removed
    }

    /// Removes every element with a score in `r`.
    pub fn remove_score_range(&mut self, r: &ScoreRange) -> Vec<Box<[u8]>> {
        if r.is_empty() {
            return Vec::new();
        }
        self.drain_while(|n| !r.above_min(n.score), |n| r.below_max(n.score))
    }

    /// Removes every element whose member is in `r`.
    pub fn remove_lex_range(&mut self, r: &LexRange) -> Vec<Box<[u8]>> {
        if r.is_empty() {
            return Vec::new();
        }
        self.drain_while(|n| !r.above_min(&n.member), |n| r.below_max(&n.member))
    }

    /// Removes the elements of 1-based ranks `start..=end`.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> Vec<Box<[u8]>> {
        let mut update = [HEAD; MAX_LEVEL];
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                let span = self.node(x).levels[i].span as usize;
                if f != NIL && traversed + span < start {
                    traversed += span;
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let mut removed = Vec::new();
        let mut rank = traversed + 1;
        let mut x = self.fwd(x, 0);
        while x != NIL && rank <= end {
            let next = self.fwd(x, 0);
            removed.push(self.take(x, &update).0);
            rank += 1;
            x = next;
        }
        removed
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> {
        let mut cur = self.first();
        std::iter::from_fn(move || {
            let h = cur?;
            cur = self.next(h);
            Some(self.entry(h))
        })
    }

    /// Heap bytes held, for memory figures.
    pub fn allocated(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.member.len() + n.levels.capacity() * 8).sum::<usize>()
            + self.free.capacity() * 4
    }
}

/// A handle to a node, valid until the list is next modified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeRef(u32);

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeSet;

    #[derive(PartialEq, Clone, Debug)]
    struct Key(f64, Vec<u8>);
    impl Eq for Key {}
    impl PartialOrd for Key {
        fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for Key {
        fn cmp(&self, o: &Self) -> Ordering {
            self.0.total_cmp(&o.0).then_with(|| self.1.cmp(&o.1))
        }
    }

    #[test]
    fn model_check_ranks_and_ranges() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut sl = SkipList::new();
        let mut model: BTreeSet<Key> = BTreeSet::new();
        let mut scores: std::collections::HashMap<Vec<u8>, f64> = Default::default();
        for step in 0..20_000 {
            let m = format!("m{}", rng.gen_range(0..500)).into_bytes();
            let s = rng.gen_range(0..100) as f64;
            match (scores.get(&m).copied(), rng.gen_range(0..3)) {
                (None, _) => {
                    sl.insert(s, &m);
                    model.insert(Key(s, m.clone()));
                    scores.insert(m, s);
                }
                (Some(old), 0) => {
                    assert!(sl.remove(old, &m));
                    model.remove(&Key(old, m.clone()));
                    scores.remove(&m);
                }
                (Some(old), _) => {
                    sl.update_score(&m, old, s);
                    model.remove(&Key(old, m.clone()));
                    model.insert(Key(s, m.clone()));
                    scores.insert(m, s);
                }
            }
            if step % 1000 == 0 {
                let order: Vec<Key> = sl.iter().map(|(m, s)| Key(s, m.to_vec())).collect();
                let expect: Vec<Key> = model.iter().cloned().collect();
                assert_eq!(order, expect);
                for (i, k) in expect.iter().enumerate() {
                    assert_eq!(sl.rank(k.0, &k.1), Some(i + 1));
                    let h = sl.by_rank(i + 1).unwrap();
                    assert_eq!(sl.entry(h), (k.1.as_slice(), k.0));
                }
                let r = ScoreRange { min: 20.0, max: 40.0, min_ex: true, max_ex: false };
                let first = expect.iter().find(|k| r.contains(k.0));
                let last = expect.iter().rev().find(|k| r.contains(k.0));
                assert_eq!(sl.first_in_range(&r).map(|h| sl.entry(h).1), first.map(|k| k.0));
                assert_eq!(sl.last_in_range(&r).map(|h| sl.entry(h).1), last.map(|k| k.0));
            }
        }
        assert_eq!(sl.len(), model.len());
    }

    #[test]
    fn lex_ranges() {
        let mut sl = SkipList::new();
        for m in ["a", "b", "c", "d", "e"] {
            sl.insert(0.0, m.as_bytes());
        }
        let r = LexRange { min: LexBound::Excl(b"a".to_vec()), max: LexBound::Incl(b"c".to_vec()) };
        assert_eq!(sl.entry(sl.first_in_lex(&r).unwrap()).0, b"b");
        assert_eq!(sl.entry(sl.last_in_lex(&r).unwrap()).0, b"c");
        let empty = LexRange { min: LexBound::Excl(b"c".to_vec()), max: LexBound::Excl(b"c".to_vec()) };
        assert!(sl.first_in_lex(&empty).is_none());
        let all = LexRange { min: LexBound::NegInf, max: LexBound::PosInf };
        assert_eq!(sl.rank_of(sl.last_in_lex(&all).unwrap()), 5);
    }
}
