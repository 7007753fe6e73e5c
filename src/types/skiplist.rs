//! The sorted-set skiplist of Redis (`zskiplist`): elements ordered by
//! (score, member), each level's link carrying a span so that ranks are
//! found in O(log n).
//!
//! Nodes live in one arena of 64-bit words and link by offset, so there is
//! no unsafe code. A node is its score, its backward link and height, its
//! member's slot, then its levels (forward offset and span packed in one
//! word) — contiguous, like Redis's node with its flexible level array, so
//! a step of a search touches one cache line instead of chasing a
//! separately allocated level vector (nodes are placed so that they
//! straddle cache lines as little as their size allows). A node points
//! at its member's bytes in one shared buffer (compared only on equal
//! scores, one cache miss away). Freed nodes are reused by nodes of the
//! same height.

use std::cmp::Ordering;

const MAX_LEVEL: usize = 32;
const NIL: u32 = u32::MAX;
/// The head node sits at the start of the arena.
const HEAD: u32 = 0;
/// Words before a node's levels: score; backward link | height << 32;
/// member offset.
const HDR: usize = 3;

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

/// A cache line of the arena: the arena is 64-byte aligned, so nodes
/// placed on line boundaries never straddle two lines.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Line([u64; 8]);

/// The node arena: 64-bit words in cache-line-aligned storage.
#[derive(Clone, Default)]
struct Arena {
    lines: Vec<Line>,
    len: usize,
}

impl Arena {
    /// Room for a node of `size` words at a fresh offset where it does not
    /// straddle cache lines more than it must: nodes of up to 4 words on a
    /// half-line boundary, bigger ones on a line boundary.
    fn grow(&mut self, size: usize) -> usize {
        let align = if size <= 4 { 4 } else { 8 };
        let at = self.len.div_ceil(align) * align;
        self.len = at + size;
        self.lines.resize(self.len.div_ceil(8), Line([0; 8]));
        at
    }

    fn capacity_bytes(&self) -> usize {
        self.lines.capacity() * std::mem::size_of::<Line>()
    }
}

impl std::ops::Index<usize> for Arena {
    type Output = u64;
    #[inline]
    fn index(&self, i: usize) -> &u64 {
        &self.lines[i / 8].0[i % 8]
    }
}

impl std::ops::IndexMut<usize> for Arena {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut u64 {
        &mut self.lines[i / 8].0[i % 8]
    }
}

/// The members' bytes, each after its length (LEB128), in one buffer, so
/// that a node reaches its member in one step. A removed member leaves a
/// hole; the list compacts the buffer once holes are most of it.
#[derive(Clone, Default)]
struct Members {
    bytes: Vec<u8>,
    /// Bytes of the holes.
    dead: usize,
}

impl Members {
    fn push(&mut self, member: &[u8]) -> u64 {
        let at = self.bytes.len() as u64;
        let mut n = member.len();
        while n >= 0x80 {
            self.bytes.push(n as u8 | 0x80);
            n >>= 7;
        }
        self.bytes.push(n as u8);
        self.bytes.extend_from_slice(member);
        at
    }

    /// The member at `at` and the bytes it takes with its length.
    #[inline]
    fn get(&self, at: u64) -> (&[u8], usize) {
        let at = at as usize;
        let (mut len, mut shift, mut i) = (0usize, 0, at);
        loop {
            let b = self.bytes[i];
            len |= ((b & 0x7f) as usize) << shift;
            i += 1;
            if b < 0x80 {
                break;
            }
            shift += 7;
        }
        (&self.bytes[i..i + len], i + len - at)
    }

    fn free(&mut self, at: u64) {
        self.dead += self.get(at).1;
    }

    /// Worth compacting: holes are most of a buffer bigger than a page.
    fn sparse(&self) -> bool {
        self.dead > 4096 && self.dead * 2 > self.bytes.len()
    }
}

#[derive(Clone)]
pub struct SkipList {
    words: Arena,
    /// Offsets of freed nodes, by height.
    free: Vec<Vec<u32>>,
    members: Members,
    tail: u32,
    len: usize,
    level: usize,
}

impl Default for SkipList {
    fn default() -> Self {
        Self::new()
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
        let mut words = Arena::default();
        let head = words.grow(HDR + MAX_LEVEL);
        words[head + 1] = NIL as u64 | (MAX_LEVEL as u64) << 32;
        words[head + 2] = u64::MAX;
        for i in 0..MAX_LEVEL {
            words[head + HDR + i] = NIL as u64;
        }
        SkipList {
            words,
            free: vec![Vec::new(); MAX_LEVEL + 1],
            members: Members::default(),
            tail: NIL,
            len: 0,
            level: 1,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn score(&self, x: u32) -> f64 {
        f64::from_bits(self.words[x as usize])
    }

    #[inline]
    fn backward(&self, x: u32) -> u32 {
        self.words[x as usize + 1] as u32
    }

    #[inline]
    fn height(&self, x: u32) -> usize {
        (self.words[x as usize + 1] >> 32) as usize
    }

    #[inline]
    fn set_backward(&mut self, x: u32, b: u32) {
        let w = &mut self.words[x as usize + 1];
        *w = (*w & !(u32::MAX as u64)) | b as u64;
    }

    #[inline]
    fn member(&self, x: u32) -> &[u8] {
        self.members.get(self.words[x as usize + 2]).0
    }

    /// (forward, span) of level `i` of node `x`.
    #[inline]
    fn link(&self, x: u32, i: usize) -> (u32, u32) {
        let w = self.words[x as usize + HDR + i];
        (w as u32, (w >> 32) as u32)
    }

    #[inline]
    fn fwd(&self, x: u32, i: usize) -> u32 {
        self.words[x as usize + HDR + i] as u32
    }

    #[inline]
    fn set_link(&mut self, x: u32, i: usize, forward: u32, span: u32) {
        self.words[x as usize + HDR + i] = forward as u64 | (span as u64) << 32;
    }

    #[inline]
    fn set_span(&mut self, x: u32, i: usize, span: u32) {
        let forward = self.fwd(x, i);
        self.set_link(x, i, forward, span);
    }

    /// Orders (score, member) against node `x`.
    #[inline]
    fn cmp(&self, score: f64, member: &[u8], x: u32) -> Ordering {
        match score.partial_cmp(&self.score(x)) {
            Some(Ordering::Equal) | None => member.cmp(self.member(x)),
            Some(o) => o,
        }
    }

    /// Member and score of a node handle.
    pub fn entry(&self, h: NodeRef) -> (&[u8], f64) {
        (self.member(h.0), self.score(h.0))
    }

    /// A node of `height` levels (all unlinked), reusing a freed one.
    fn alloc(&mut self, height: usize, score: f64, member: &[u8]) -> u32 {
        let at = self.members.push(member);
        let x = match self.free[height].pop() {
            Some(x) => x,
            None => self.words.grow(HDR + height) as u32,
        };
        let o = x as usize;
        self.words[o] = score.to_bits();
        self.words[o + 1] = NIL as u64 | (height as u64) << 32;
        self.words[o + 2] = at;
        for i in 0..height {
            self.words[o + HDR + i] = NIL as u64;
        }
        x
    }

    /// Inserts a member known to be absent.
    pub fn insert(&mut self, score: f64, member: &[u8]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
            loop {
                let (f, span) = self.link(x, i);
                if f != NIL && self.cmp(score, member, f) == Ordering::Greater {
                    rank[i] += span;
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        let x = self.alloc(random_level(), score, member);
        self.link_after(x, update, rank);
    }

    /// Links the unlinked node `x` in after its predecessors `update`,
    /// whose ranks are `rank`, on each of its levels.
    fn link_after(&mut self, x: u32, mut update: [u32; MAX_LEVEL], mut rank: [u32; MAX_LEVEL]) {
        let level = self.height(x);
        if level > self.level {
            for i in self.level..level {
                rank[i] = 0;
                update[i] = HEAD;
                self.set_link(HEAD, i, NIL, self.len as u32);
            }
            self.level = level;
        }
        for i in 0..level {
            let (uf, us) = self.link(update[i], i);
            self.set_link(x, i, uf, us - (rank[0] - rank[i]));
            self.set_link(update[i], i, x, rank[0] - rank[i] + 1);
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(level) {
            let span = self.link(u, i).1;
            self.set_span(u, i, span + 1);
        }
        self.set_backward(x, if update[0] == HEAD { NIL } else { update[0] });
        let next = self.fwd(x, 0);
        if next != NIL {
            self.set_backward(next, x);
        } else {
            self.tail = x;
        }
        self.len += 1;
    }

    /// The last node before `keep_going` fails, on every level: the
    /// predecessors of a position, as Redis's search loops collect them.
    fn descend(&self, keep_going: impl Fn(&Self, u32) -> bool) -> [u32; MAX_LEVEL] {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f != NIL && keep_going(self, f) {
                    x = f;
                } else {
                    break;
                }
            }
            update[i] = x;
        }
        update
    }

    /// The last node for which `keep_going` holds (the head when none),
    /// with its 1-based rank (0 for the head), in one descent.
    fn last_passing(&self, keep_going: impl Fn(&Self, u32) -> bool) -> (u32, usize) {
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let (f, span) = self.link(x, i);
                if f != NIL && keep_going(self, f) {
                    rank += span as usize;
                    x = f;
                } else {
                    break;
                }
            }
        }
        (x, rank)
    }

    /// The elements with a score in `r` as (elements before them, how
    /// many), in two descents.
    pub fn score_span(&self, r: &ScoreRange) -> (usize, usize) {
        if r.is_empty() {
            return (0, 0);
        }
        let (x, before) = self.last_passing(|sl, f| !r.above_min(sl.score(f)));
        let first = self.fwd(x, 0);
        if first == NIL || !r.below_max(self.score(first)) {
            return (0, 0);
        }
        let (_, last) = self.last_passing(|sl, f| r.below_max(sl.score(f)));
        (before, last - before)
    }

    /// 1-based rank of the first node at or above a lex range's minimum
    /// and within its maximum (Redis's forward lex walk starts there).
    pub fn first_in_lex_rank(&self, r: &LexRange) -> Option<usize> {
        if r.is_empty() {
            return None;
        }
        let (x, before) = self.last_passing(|sl, f| !r.above_min(sl.member(f)));
        let first = self.fwd(x, 0);
        (first != NIL && r.below_max(self.member(first))).then_some(before + 1)
    }

    /// 1-based rank of the last node within a lex range's maximum and at or
    /// above its minimum (where Redis's backward lex walk starts).
    pub fn last_in_lex_rank(&self, r: &LexRange) -> Option<usize> {
        if r.is_empty() {
            return None;
        }
        let (x, rank) = self.last_passing(|sl, f| r.below_max(sl.member(f)));
        (x != HEAD && r.above_min(self.member(x))).then_some(rank)
    }

    /// Finds the update path for (score, member).
    fn path(&self, score: f64, member: &[u8]) -> [u32; MAX_LEVEL] {
        self.descend(|sl, f| sl.cmp(score, member, f) == Ordering::Greater)
    }

    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let (uf, us) = self.link(u, i);
            if uf == x {
                let (xf, xs) = self.link(x, i);
                self.set_link(u, i, xf, us + xs - 1);
            } else {
                self.set_span(u, i, us - 1);
            }
        }
        let next = self.fwd(x, 0);
        let back = self.backward(x);
        if next != NIL {
            self.set_backward(next, back);
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.fwd(HEAD, self.level - 1) == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Unlinks node `x` (whose predecessors are `update`), frees it and
    /// hands back its member.
    fn take(&mut self, x: u32, update: &[u32; MAX_LEVEL]) -> (Box<[u8]>, f64) {
        self.unlink(x, update);
        let member = self.member(x).into();
        self.members.free(self.words[x as usize + 2]);
        let height = self.height(x);
        self.free[height].push(x);
        if self.members.sparse() {
            self.compact_members();
        }
        (member, self.score(x))
    }

    /// Copies the live members into a fresh buffer, in list order.
    fn compact_members(&mut self) {
        let old = std::mem::take(&mut self.members);
        self.members.bytes.reserve(old.bytes.len() - old.dead);
        let mut x = self.fwd(HEAD, 0);
        while x != NIL {
            let at = &mut self.words[x as usize + 2];
            *at = self.members.push(old.get(*at).0);
            x = self.fwd(x, 0);
        }
    }

    /// Removes (score, member); false if not present.
    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        let update = self.path(score, member);
        let x = self.fwd(update[0], 0);
        if x != NIL && self.score(x) == score && self.member(x) == member {
            self.take(x, &update);
            true
        } else {
            false
        }
    }

    /// Changes the score of an existing member (its old score given),
    /// moving its node. The old and the new position are searched in one
    /// descent, so that the two searches' cache misses overlap.
    pub fn update_score(&mut self, member: &[u8], old: f64, new: f64) {
        let (mut old_path, mut old_rank) = ([HEAD; MAX_LEVEL], [0u32; MAX_LEVEL]);
        let (mut new_path, mut new_rank) = ([HEAD; MAX_LEVEL], [0u32; MAX_LEVEL]);
        let (mut a, mut ra, mut b, mut rb) = (HEAD, 0u32, HEAD, 0u32);
        for i in (0..self.level).rev() {
            loop {
                let (fa, sa) = self.link(a, i);
                let (fb, sb) = self.link(b, i);
                let step_a = fa != NIL && self.cmp(old, member, fa) == Ordering::Greater;
                let step_b = fb != NIL && self.cmp(new, member, fb) == Ordering::Greater;
                if step_a {
                    a = fa;
                    ra += sa;
                }
                if step_b {
                    b = fb;
                    rb += sb;
                }
                if !(step_a || step_b) {
                    break;
                }
            }
            (old_path[i], old_rank[i], new_path[i], new_rank[i]) = (a, ra, b, rb);
        }
        let x = self.fwd(old_path[0], 0);
        if x == NIL || self.member(x) != member {
            return;
        }
        // Stays in place when the order does not change, as Redis does.
        let back = self.backward(x);
        let next = self.fwd(x, 0);
        let back_ok = back == NIL || self.cmp(new, member, back) == Ordering::Greater;
        let next_ok = next == NIL || self.cmp(new, member, next) == Ordering::Less;
        self.words[x as usize] = new.to_bits();
        if back_ok && next_ok {
            return;
        }
        // The new position's predecessors once `x` is gone: where `x`
        // itself was one, its own predecessor on that level; ranks past
        // `x` drop by one.
        let x_rank = old_rank[0] + 1;
        for i in 0..self.level {
            if new_path[i] == x {
                (new_path[i], new_rank[i]) = (old_path[i], old_rank[i]);
            } else if new_rank[i] > x_rank {
                new_rank[i] -= 1;
            }
        }
        self.unlink(x, &old_path);
        self.link_after(x, new_path, new_rank);
    }

    /// 1-based rank of (score, member), or None.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let mut rank = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let (f, span) = self.link(x, i);
                if f != NIL && self.cmp(score, member, f) != Ordering::Less {
                    rank += span as usize;
                    x = f;
                } else {
                    break;
                }
            }
            if x != HEAD && self.score(x) == score && self.member(x) == member {
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
                let (f, span) = self.link(x, i);
                if f != NIL && traversed + span as usize <= rank {
                    traversed += span as usize;
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
        let b = self.backward(h.0);
        (b != NIL).then_some(NodeRef(b))
    }

    /// First node whose score is in range.
    pub fn first_in_range(&self, r: &ScoreRange) -> Option<NodeRef> {
        if r.is_empty() {
            return None;
        }
        let x = self.fwd(self.descend(|sl, f| !r.above_min(sl.score(f)))[0], 0);
        (x != NIL && r.below_max(self.score(x))).then_some(NodeRef(x))
    }

    /// Last node whose score is in range.
    pub fn last_in_range(&self, r: &ScoreRange) -> Option<NodeRef> {
        if r.is_empty() {
            return None;
        }
        let x = self.descend(|sl, f| r.below_max(sl.score(f)))[0];
        (x != HEAD && r.above_min(self.score(x))).then_some(NodeRef(x))
    }

    pub fn first_in_lex(&self, r: &LexRange) -> Option<NodeRef> {
        if r.is_empty() {
            return None;
        }
        let x = self.fwd(self.descend(|sl, f| !r.above_min(sl.member(f)))[0], 0);
        (x != NIL && r.below_max(self.member(x))).then_some(NodeRef(x))
    }

    pub fn last_in_lex(&self, r: &LexRange) -> Option<NodeRef> {
        if r.is_empty() {
            return None;
        }
        let x = self.descend(|sl, f| r.below_max(sl.member(f)))[0];
        (x != HEAD && r.above_min(self.member(x))).then_some(NodeRef(x))
    }

    /// 1-based rank of a node handle.
    pub fn rank_of(&self, h: NodeRef) -> usize {
        let (m, s) = self.entry(h);
        self.rank(s, m).unwrap_or(0)
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
        let update = self.path(self.score(self.tail), self.member(self.tail));
        Some(self.take(self.tail, &update))
    }

    /// Removes the nodes from the first one for which `before` is false,
    /// as long as `inside` holds, in O(log n + removed) as Redis's
    /// zslDeleteRangeBy*; returns the removed members.
    fn drain_while(
        &mut self,
        before: impl Fn(&Self, u32) -> bool,
        inside: impl Fn(&Self, u32) -> bool,
    ) -> Vec<Box<[u8]>> {
        let update = self.descend(before);
        let mut removed = Vec::new();
        let mut x = self.fwd(update[0], 0);
        while x != NIL && inside(self, x) {
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
        self.drain_while(|sl, f| !r.above_min(sl.score(f)), |sl, x| r.below_max(sl.score(x)))
    }

    /// Removes every element whose member is in `r`.
    pub fn remove_lex_range(&mut self, r: &LexRange) -> Vec<Box<[u8]>> {
        if r.is_empty() {
            return Vec::new();
        }
        self.drain_while(|sl, f| !r.above_min(sl.member(f)), |sl, x| r.below_max(sl.member(x)))
    }

    /// Removes the elements of 1-based ranks `start..=end`.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> Vec<Box<[u8]>> {
        let mut update = [HEAD; MAX_LEVEL];
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let (f, span) = self.link(x, i);
                if f != NIL && traversed + (span as usize) < start {
                    traversed += span as usize;
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
        self.words.capacity_bytes()
            + self.members.bytes.capacity()
            + self.free.iter().map(|f| f.capacity() * 4).sum::<usize>()
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

    /// Every link's span is the rank distance it covers (to the end of the
    /// list for the last link of a level), and backward links mirror
    /// level 0.
    fn check_links(sl: &SkipList) {
        let mut rank_of = std::collections::HashMap::from([(HEAD, 0u32)]);
        let (mut x, mut r, mut back) = (sl.fwd(HEAD, 0), 0u32, NIL);
        while x != NIL {
            r += 1;
            rank_of.insert(x, r);
            assert_eq!(sl.backward(x), back);
            (back, x) = (x, sl.fwd(x, 0));
        }
        assert_eq!(sl.tail, back);
        assert_eq!(r as usize, sl.len());
        for i in 0..sl.level {
            let mut x = HEAD;
            loop {
                let (f, span) = sl.link(x, i);
                let to = if f == NIL { sl.len() as u32 } else { rank_of[&f] };
                assert_eq!(span, to - rank_of[&x], "level {i}");
                if f == NIL {
                    break;
                }
                assert!(sl.height(f) > i);
                x = f;
            }
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
                check_links(&sl);
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

    /// Pops and range removals against a BTreeSet, with freed nodes
    /// reused by later inserts.
    #[test]
    fn model_check_pops_and_range_removals() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let mut sl = SkipList::new();
        let mut model: BTreeSet<Key> = BTreeSet::new();
        for step in 0..20_000 {
            let m = format!("m{}", rng.gen_range(0..300)).into_bytes();
            let s = rng.gen_range(0..50) as f64;
            match rng.gen_range(0..8) {
                0 => assert_eq!(sl.pop_first().map(|(m, s)| Key(s, m.into_vec())), model.pop_first()),
                1 => assert_eq!(sl.pop_last().map(|(m, s)| Key(s, m.into_vec())), model.pop_last()),
                2 => {
                    let r = ScoreRange { min: s, max: s + 3.0, min_ex: rng.gen(), max_ex: rng.gen() };
                    let mut got: Vec<Vec<u8>> = sl.remove_score_range(&r).into_iter().map(|m| m.into_vec()).collect();
                    let mut want: Vec<Vec<u8>> =
                        model.iter().filter(|k| r.contains(k.0)).map(|k| k.1.clone()).collect();
                    model.retain(|k| !r.contains(k.0));
                    got.sort();
                    want.sort();
                    assert_eq!(got, want);
                }
                3 => {
                    let a = rng.gen_range(1..20);
                    let b = a + rng.gen_range(0..5);
                    let want: Vec<Key> = model.iter().skip(a - 1).take(b - a + 1).cloned().collect();
                    let got = sl.remove_rank_range(a, b);
                    assert_eq!(got.len(), want.len());
                    for k in &want {
                        model.remove(k);
                    }
                }
                _ => {
                    if !model.iter().any(|k| k.1 == m) {
                        sl.insert(s, &m);
                        model.insert(Key(s, m));
                    }
                }
            }
            assert_eq!(sl.len(), model.len());
            if step % 500 == 0 {
                check_links(&sl);
                let order: Vec<Key> = sl.iter().map(|(m, s)| Key(s, m.to_vec())).collect();
                assert_eq!(order, model.iter().cloned().collect::<Vec<_>>());
                for (i, k) in model.iter().enumerate() {
                    assert_eq!(sl.rank(k.0, &k.1), Some(i + 1));
                }
                let back: Vec<Key> = std::iter::successors(sl.last(), |h| sl.prev(*h))
                    .map(|h| {
                        let (m, s) = sl.entry(h);
                        Key(s, m.to_vec())
                    })
                    .collect();
                assert_eq!(back, model.iter().rev().cloned().collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn removed_members_are_compacted_away() {
        let mut sl = SkipList::new();
        let name = |i: usize| format!("member:{i}:{}", "x".repeat(i % 200)).into_bytes();
        for i in 0..10_000 {
            sl.insert((i % 97) as f64, &name(i));
        }
        let full = sl.members.bytes.len();
        for i in (0..10_000).filter(|i| i % 10 != 0) {
            assert!(sl.remove((i % 97) as f64, &name(i)));
        }
        assert!(sl.members.bytes.len() < full / 2, "{} of {full}", sl.members.bytes.len());
        check_links(&sl);
        let mut left: Vec<Key> = (0..10_000).step_by(10).map(|i| Key((i % 97) as f64, name(i))).collect();
        left.sort();
        let order: Vec<Key> = sl.iter().map(|(m, s)| Key(s, m.to_vec())).collect();
        assert_eq!(order, left);
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
