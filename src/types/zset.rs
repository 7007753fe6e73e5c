//! Sorted-set values: a listpack of member, score pairs kept in score order
//! while small (`zset-max-listpack-entries` / `-value`), otherwise a
//! skiplist for order and rank plus a dict from member to score — Redis's
//! two encodings.

use super::dict::Dict;
use super::hash::PackLimits;
use super::listpack::{Entry, Listpack};
use super::skiplist::{LexRange, NodeRef, ScoreRange, SkipList};

#[derive(Clone)]
pub enum ZSet {
    Pack(Listpack),
    Skip { dict: Dict<Box<[u8]>, f64>, list: SkipList },
}

/// A member and its score, as range queries return them.
pub type Scored = (Vec<u8>, f64);

fn entry_score(e: Entry<'_>) -> f64 {
    match e {
        Entry::Int(i) => i as f64,
        Entry::Str(s) => crate::util::parse_f64(s).unwrap_or(0.0),
    }
}

/// How a score is written into a listpack: integral values as integers,
/// others as the shortest text that reads back exactly.
fn score_text(s: f64) -> Vec<u8> {
    if s.fract() == 0.0 && s.abs() < 1e17 {
        crate::util::i64_to_bytes(s as i64)
    } else {
        crate::util::fmt_f64(s).into_bytes()
    }
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Pack(Listpack::new())
    }
}

impl ZSet {
    /// An empty zset in the encoding Redis picks for `size_hint` members of
    /// which the longest is `max_len` bytes.
    pub fn with_hint(size_hint: usize, max_len: usize, limits: PackLimits) -> ZSet {
        if size_hint <= limits.entries && max_len <= limits.value {
            ZSet::Pack(Listpack::new())
        } else {
            ZSet::Skip { dict: Dict::new(), list: SkipList::new() }
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Pack(lp) => lp.len() / 2,
            ZSet::Skip { list, .. } => list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Pack(_) => "listpack",
            ZSet::Skip { .. } => "skiplist",
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(lp) => {
                let p = lp.find(lp.first(), member, 1)?;
                lp.next(p).map(|s| entry_score(lp.get(s)))
            }
            ZSet::Skip { dict, .. } => dict.get(member).copied(),
        }
    }

    /// Sets the score of `member`, adding it if absent; returns the old
    /// score. Converts to a skiplist past the limits.
    pub fn set(&mut self, member: &[u8], score: f64, limits: PackLimits) -> Option<f64> {
        let old = self.score(member);
        if old == Some(score) {
            return old;
        }
        if let ZSet::Pack(lp) = self {
            let grows = old.is_none();
            if (grows && lp.len() / 2 + 1 > limits.entries)
                || member.len() > limits.value
                || !lp.safe_to_add(member.len())
            {
                self.convert_to_skiplist();
            }
        }
        match self {
            ZSet::Pack(lp) => {
                if old.is_some() {
                    if let Some(p) = lp.find(lp.first(), member, 1) {
                        lp.delete_range(p, 2);
                    }
                }
                pack_insert(lp, member, score);
            }
            ZSet::Skip { dict, list } => match old {
                Some(o) => {
                    list.update_score(member, o, score);
                    if let Some(s) = dict.get_mut(member) {
                        *s = score;
                    }
                }
                None => {
                    list.insert(score, member);
                    dict.insert_new(member.into(), score);
                }
            },
        }
        old
    }

    /// Removes a member; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(lp) => {
                let p = lp.find(lp.first(), member, 1)?;
                let s = lp.next(p).map(|q| entry_score(lp.get(q)))?;
                lp.delete_range(p, 2);
                Some(s)
            }
            ZSet::Skip { dict, list } => {
                let s = dict.remove(member)?;
                list.remove(s, member);
                Some(s)
            }
        }
    }

    fn convert_to_skiplist(&mut self) {
        if let ZSet::Pack(lp) = self {
            let mut dict = Dict::new();
            let mut list = SkipList::new();
            let mut it = lp.iter();
            while let (Some(m), Some(s)) = (it.next(), it.next()) {
                let m = m.to_vec();
                let s = entry_score(s);
                list.insert(s, &m);
                dict.insert_new(m.into_boxed_slice(), s);
            }
            *self = ZSet::Skip { dict, list };
        }
    }

    /// 0-based rank of `member` (from the highest score when `rev`), with
    /// its score.
    pub fn rank(&self, member: &[u8], rev: bool) -> Option<(usize, f64)> {
        let n = self.len();
        let (r, s) = match self {
            ZSet::Pack(lp) => {
                let mut it = lp.iter();
                let mut i = 0;
                loop {
                    let (m, s) = (it.next()?, it.next()?);
                    if m.eq_bytes(member) {
                        break (i, entry_score(s));
                    }
                    i += 1;
                }
            }
            ZSet::Skip { dict, list } => {
                let s = *dict.get(member)?;
                (list.rank(s, member)? - 1, s)
            }
        };
        Some((if rev { n - 1 - r } else { r }, s))
    }

    /// Every (member, score) in ascending order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Scored> + '_> {
        match self {
            ZSet::Pack(lp) => {
                let mut it = lp.iter();
                Box::new(std::iter::from_fn(move || {
                    let (m, s) = (it.next()?, it.next()?);
                    Some((m.to_vec(), entry_score(s)))
                }))
            }
            ZSet::Skip { list, .. } => Box::new(list.iter().map(|(m, s)| (m.to_vec(), s))),
        }
    }

    /// Elements with 0-based ranks start..=end (already clamped by the
    /// caller to 0 ≤ start ≤ end < len), in the requested direction.
    pub fn range_by_rank(&self, start: usize, end: usize, rev: bool) -> Vec<Scored> {
        let n = self.len();
        if start > end || end >= n {
            return Vec::new();
        }
        let count = end - start + 1;
        match self {
            ZSet::Pack(_) => {
                let all: Vec<Scored> = self.iter().collect();
                if rev {
                    all.into_iter().rev().skip(start).take(count).collect()
                } else {
                    all.into_iter().skip(start).take(count).collect()
                }
            }
            ZSet::Skip { list, .. } => {
                let first = if rev { n - start } else { start + 1 };
                let mut out = Vec::with_capacity(count);
                let mut cur = list.by_rank(first);
                while let Some(h) = cur {
                    if out.len() == count {
                        break;
                    }
                    let (m, s) = list.entry(h);
                    out.push((m.to_vec(), s));
                    cur = if rev { list.prev(h) } else { list.next(h) };
                }
                out
            }
        }
    }

    /// Elements whose score is in `r`, ascending (or descending when `rev`),
    /// skipping `offset` and returning at most `limit` (None = all).
    pub fn range_by_score(&self, r: &ScoreRange, rev: bool, offset: usize, limit: Option<usize>) -> Vec<Scored> {
        self.range_where(
            rev,
            offset,
            limit,
            |_, s| r.contains(s),
            |list| {
                if rev {
                    list.last_in_range(r)
                } else {
                    list.first_in_range(r)
                }
            },
        )
    }

    /// Elements whose member is in the lexicographic range `r` (meaningful
    /// when all scores are equal, as Redis documents).
    pub fn range_by_lex(&self, r: &LexRange, rev: bool, offset: usize, limit: Option<usize>) -> Vec<Scored> {
        self.range_where(
            rev,
            offset,
            limit,
            |m, _| r.contains(m),
            |list| {
                if rev {
                    list.last_in_lex(r)
                } else {
                    list.first_in_lex(r)
                }
            },
        )
    }

    fn range_where(
        &self,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
        inside: impl Fn(&[u8], f64) -> bool,
        start: impl Fn(&SkipList) -> Option<NodeRef>,
    ) -> Vec<Scored> {
        let limit = limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        if limit == 0 {
            return out;
        }
        match self {
            ZSet::Pack(_) => {
                let all: Vec<Scored> = self.iter().collect();
                let it: Box<dyn Iterator<Item = Scored>> =
                    if rev { Box::new(all.into_iter().rev()) } else { Box::new(all.into_iter()) };
                // Elements in range are contiguous in order.
                for e in it.skip_while(|(m, s)| !inside(m, *s)).take_while(|(m, s)| inside(m, *s)).skip(offset) {
                    out.push(e);
                    if out.len() == limit {
                        break;
                    }
                }
            }
            ZSet::Skip { list, .. } => {
                let mut cur = start(list);
                let mut skipped = 0;
                while let Some(h) = cur {
                    let (m, s) = list.entry(h);
                    if !inside(m, s) {
                        break;
                    }
                    if skipped < offset {
                        skipped += 1;
                    } else {
                        out.push((m.to_vec(), s));
                        if out.len() == limit {
                            break;
                        }
                    }
                    cur = if rev { list.prev(h) } else { list.next(h) };
                }
            }
        }
        out
    }

    /// Number of elements with a score in `r`, in O(log n) for skiplists.
    pub fn count_in_range(&self, r: &ScoreRange) -> usize {
        match self {
            ZSet::Pack(_) => self.iter().filter(|(_, s)| r.contains(*s)).count(),
            ZSet::Skip { list, .. } => match (list.first_in_range(r), list.last_in_range(r)) {
                (Some(a), Some(b)) => list.rank_of(b) - list.rank_of(a) + 1,
                _ => 0,
            },
        }
    }

    pub fn count_in_lex(&self, r: &LexRange) -> usize {
        match self {
            ZSet::Pack(_) => self.iter().filter(|(m, _)| r.contains(m)).count(),
            ZSet::Skip { list, .. } => match (list.first_in_lex(r), list.last_in_lex(r)) {
                (Some(a), Some(b)) => list.rank_of(b) - list.rank_of(a) + 1,
                _ => 0,
            },
        }
    }

    /// Removes the given members (as found by a range query); returns how
    /// many were removed.
    pub fn remove_all(&mut self, members: &[Scored]) -> usize {
        members.iter().filter(|(m, _)| self.remove(m).is_some()).count()
    }

    /// Heap bytes held, for memory figures.
    pub fn allocated(&self) -> usize {
        match self {
            ZSet::Pack(lp) => lp.allocated(),
            ZSet::Skip { dict, list } => list.allocated() + dict.slots() * 8 + dict.len() * 48,
        }
    }
}

/// Inserts (member, score) into a listpack zset at its ordered position.
fn pack_insert(lp: &mut Listpack, member: &[u8], score: f64) {
    let mut p = lp.first();
    while let Some(mp) = p {
        let Some(sp) = lp.next(mp) else { break };
        let s = entry_score(lp.get(sp));
        let after = s > score || (s == score && lp.get(mp).to_vec().as_slice() > member);
        if after {
            break;
        }
        p = lp.next(sp);
    }
    let score = score_text(score);
    match p {
        Some(at) => {
            lp.insert(Some(at), member);
            // The member now sits at `at`; its score goes right after it.
            let sp = lp.next(at);
            lp.insert(sp, &score);
        }
        None => {
            lp.push_back(member);
            lp.push_back(&score);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::skiplist::LexBound;

    const SMALL: PackLimits = PackLimits { entries: 128, value: 64 };
    const TINY: PackLimits = PackLimits { entries: 0, value: 0 };

    fn both() -> [ZSet; 2] {
        let mut a = ZSet::default();
        let mut b = ZSet::with_hint(1, 1, TINY);
        for (m, s) in [("d", 4.0), ("a", 1.0), ("c", 3.0), ("b", 2.0), ("e", 2.0), ("x", -1.5)] {
            a.set(m.as_bytes(), s, SMALL);
            b.set(m.as_bytes(), s, TINY);
        }
        assert_eq!(a.encoding(), "listpack");
        assert_eq!(b.encoding(), "skiplist");
        [a, b]
    }

    #[test]
    fn encodings_agree() {
        for z in both() {
            let order: Vec<Vec<u8>> = z.iter().map(|(m, _)| m).collect();
            assert_eq!(order, [b"x", b"a", b"b", b"e", b"c", b"d"].map(|m| m.to_vec()).to_vec());
            assert_eq!(z.rank(b"e", false), Some((3, 2.0)));
            assert_eq!(z.rank(b"e", true), Some((2, 2.0)));
            let top2: Vec<Vec<u8>> = z.range_by_rank(0, 1, true).into_iter().map(|(m, _)| m).collect();
            assert_eq!(top2, vec![b"d".to_vec(), b"c".to_vec()]);
            let r = ScoreRange { min: 2.0, max: 3.0, min_ex: false, max_ex: true };
            assert_eq!(z.count_in_range(&r), 2);
            let got: Vec<Vec<u8>> = z.range_by_score(&r, true, 0, Some(5)).into_iter().map(|(m, _)| m).collect();
            assert_eq!(got, vec![b"e".to_vec(), b"b".to_vec()]);
            assert_eq!(z.score(b"x"), Some(-1.5));
        }
    }

    #[test]
    fn lex_ranges_on_equal_scores() {
        for limits in [SMALL, TINY] {
            let mut z = ZSet::with_hint(1, 1, limits);
            for m in ["e", "a", "d", "b", "c"] {
                z.set(m.as_bytes(), 0.0, limits);
            }
            let lex = LexRange { min: LexBound::Incl(b"b".to_vec()), max: LexBound::Excl(b"e".to_vec()) };
            let got: Vec<Vec<u8>> = z.range_by_lex(&lex, false, 1, Some(5)).into_iter().map(|(m, _)| m).collect();
            assert_eq!(got, vec![b"c".to_vec(), b"d".to_vec()]);
            let rev: Vec<Vec<u8>> = z.range_by_lex(&lex, true, 0, Some(2)).into_iter().map(|(m, _)| m).collect();
            assert_eq!(rev, vec![b"d".to_vec(), b"c".to_vec()]);
            assert_eq!(z.count_in_lex(&lex), 3);
        }
    }

    #[test]
    fn updates_reorder_and_convert() {
        let mut z = ZSet::default();
        let limits = PackLimits { entries: 3, value: 10 };
        z.set(b"a", 1.0, limits);
        z.set(b"b", 2.0, limits);
        assert_eq!(z.set(b"a", 5.0, limits), Some(1.0));
        assert_eq!(z.iter().map(|(m, _)| m).collect::<Vec<_>>(), vec![b"b".to_vec(), b"a".to_vec()]);
        z.set(b"c", 0.5, limits);
        assert_eq!(z.encoding(), "listpack");
        z.set(b"d", 9.0, limits);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.iter().map(|(_, s)| s).collect::<Vec<_>>(), vec![0.5, 2.0, 5.0, 9.0]);
        assert_eq!(z.remove(b"a"), Some(5.0));
        assert_eq!(z.len(), 3);
    }
}
