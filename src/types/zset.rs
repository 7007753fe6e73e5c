//! Sorted-set values: a listpack of member, score pairs kept in score order
//! while small (`zset-max-listpack-entries` / `-value`), otherwise a
//! skiplist for order and rank plus a dict from member to score — Redis's
//! two encodings.
//!
//! Members of a listpack may be stored as integers; the visitors below
//! hand every member to their callback as bytes (integers printed into a
//! stack buffer), so reading a range allocates nothing.

use std::cmp::Ordering;

use super::dict::Dict;
use super::hash::PackLimits;
use super::listpack::{Entry, Listpack};
use super::skiplist::{LexRange, ScoreRange, SkipList};

#[derive(Clone)]
pub enum ZSet {
    Pack(Listpack),
    /// Boxed, so that a zset is 16 bytes and sits in a key's value unboxed.
    Skip(Box<Sorted>),
}

/// The skiplist encoding: member to score, and the order by score.
#[derive(Clone)]
pub struct Sorted {
    pub dict: Dict<Box<[u8]>, f64>,
    pub list: SkipList,
}

/// A member and its score, as range queries return them.
pub type Scored = (Vec<u8>, f64);

/// ZADD's options (Redis's ZADD_IN_* flags).
#[derive(Clone, Copy, Debug, Default)]
pub struct AddFlags {
    pub incr: bool,
    pub nx: bool,
    pub xx: bool,
    pub gt: bool,
    pub lt: bool,
}

/// What `add` did to one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddResult {
    Added,
    Updated,
    /// Processed, but the score was already the requested one.
    Unchanged,
    /// Not processed because of NX, XX, GT or LT.
    Skipped,
}

/// The increment made the score NaN (`+inf` plus `-inf`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotANumber;

/// A score as SCAN reports it: a listpack keeps the text it stored, a
/// skiplist the double itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScanScore<'a> {
    Text(&'a [u8]),
    Value(f64),
}

/// Longest decimal form of an i64.
const INT_BUF: usize = 20;

fn int_bytes(v: i64, buf: &mut [u8; INT_BUF]) -> &[u8] {
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

/// Calls `f` with the bytes of a listpack entry.
fn with_bytes<R>(e: Entry<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
    match e {
        Entry::Str(s) => f(s),
        Entry::Int(i) => f(int_bytes(i, &mut [0u8; INT_BUF])),
    }
}

/// Compares an entry with `member` as Redis's zzlCompareElements does
/// (integers by their decimal text).
fn cmp_entry(e: Entry<'_>, member: &[u8]) -> Ordering {
    with_bytes(e, |b| b.cmp(member))
}

fn entry_score(e: Entry<'_>) -> f64 {
    match e {
        Entry::Int(i) => i as f64,
        // Scores stored as text are what `score_text` wrote (or an RDB
        // file carried): plain decimal, exponent or inf forms.
        Entry::Str(s) => std::str::from_utf8(s).ok().and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0),
    }
}

pub use crate::util::{d2string, double_to_int};

/// How a score is written into a listpack: as an integer when double2ll
/// accepts it, otherwise as d2string's text.
fn score_text(s: f64) -> Vec<u8> {
    match double_to_int(s) {
        Some(i) => crate::util::i64_to_bytes(i),
        None => d2string(s).into_bytes(),
    }
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet::Pack(Listpack::new())
    }
}

/// A test of a member against one end of a lex range.
type LexTest = fn(&LexRange, &[u8]) -> bool;

/// Position of a member in a listpack zset, and its score.
fn pack_find(lp: &Listpack, member: &[u8]) -> Option<(usize, f64)> {
    let p = lp.find(lp.first(), member, 1)?;
    lp.next(p).map(|s| (p, entry_score(lp.get(s))))
}

/// The (member, score) positions of a listpack zset, from the front or
/// from the back.
struct Pairs<'a> {
    lp: &'a Listpack,
    member: Option<usize>,
    rev: bool,
}

impl<'a> Pairs<'a> {
    fn new(lp: &'a Listpack, rev: bool) -> Self {
        let member = if rev { lp.last().and_then(|s| lp.prev(s)) } else { lp.first() };
        Pairs { lp, member, rev }
    }
}

impl<'a> Iterator for Pairs<'a> {
    /// (member position, member entry, score)
    type Item = (usize, Entry<'a>, f64);

    fn next(&mut self) -> Option<Self::Item> {
        let m = self.member?;
        let s = self.lp.next(m)?;
        self.member = if self.rev { self.lp.prev(m).and_then(|p| self.lp.prev(p)) } else { self.lp.next(s) };
        Some((m, self.lp.get(m), entry_score(self.lp.get(s))))
    }
}

/// What ZADD's options make of an existing member's score.
fn decide(cur: f64, score: f64, flags: AddFlags) -> Result<Option<f64>, NotANumber> {
    if flags.nx {
        return Ok(None);
    }
    let new = if flags.incr { score + cur } else { score };
    if new.is_nan() {
        return Err(NotANumber);
    }
    if (flags.lt && new >= cur) || (flags.gt && new <= cur) {
        return Ok(None);
    }
    Ok(Some(new))
}

impl ZSet {
    /// An empty zset in the encoding Redis picks for `size_hint` members of
    /// which the longest is `max_len` bytes (zsetTypeCreate).
    pub fn with_hint(size_hint: usize, max_len: usize, limits: PackLimits) -> ZSet {
        if size_hint <= limits.entries && max_len <= limits.value {
            ZSet::Pack(Listpack::new())
        } else {
            ZSet::Skip(Box::new(Sorted { dict: Dict::new(), list: SkipList::new() }))
        }
    }

    /// Converts a listpack that is about to receive more than the entry
    /// limit (zsetTypeMaybeConvert): Redis does this on the number of pairs
    /// a ZADD carries, before knowing how many are new.
    pub fn maybe_convert(&mut self, size_hint: usize, limits: PackLimits) {
        if matches!(self, ZSet::Pack(_)) && size_hint > limits.entries {
            self.convert_to_skiplist();
        }
    }

    /// A zset holding `items`, sorted by (score, member) with no duplicate
    /// member, in the encoding Redis's zsetConvertToListpackIfNeeded gives
    /// a computed result.
    pub fn from_sorted(items: Vec<Scored>, limits: PackLimits) -> ZSet {
        let max_len = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
        let total: usize = items.iter().map(|(m, _)| m.len()).sum();
        if items.len() <= limits.entries && max_len <= limits.value && Listpack::new().safe_to_add(total) {
            let mut lp = Listpack::new();
            for (m, s) in &items {
                lp.push_back(m);
                lp.push_back(&score_text(*s));
            }
            ZSet::Pack(lp)
        } else {
            let mut dict = Dict::new();
            let mut list = SkipList::new();
            // From the highest down, every insertion stops at the head.
            for (m, s) in items.into_iter().rev() {
                list.insert(s, &m);
                dict.insert_new(m.into_boxed_slice(), s);
            }
            ZSet::Skip(Box::new(Sorted { dict, list }))
        }
    }

    pub fn len(&self) -> usize {
        match self {
            ZSet::Pack(lp) => lp.len() / 2,
            ZSet::Skip(z) => {
                let Sorted { list, .. } = &**z;
                list.len()
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            ZSet::Pack(_) => "listpack",
            ZSet::Skip(_) => "skiplist",
        }
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(lp) => pack_find(lp, member).map(|(_, s)| s),
            ZSet::Skip(z) => {
                let Sorted { dict, .. } = &**z;
                dict.get(member).copied()
            }
        }
    }

    /// Adds or updates one member as Redis's zsetAdd: one lookup, then the
    /// options decide. Returns what happened and the member's score after
    /// the call (the requested one when skipped on a new member).
    /// Converts to a skiplist when a new member passes the limits.
    pub fn add(
        &mut self,
        member: &[u8],
        score: f64,
        flags: AddFlags,
        limits: PackLimits,
    ) -> Result<(AddResult, f64), NotANumber> {
        if score.is_nan() {
            return Err(NotANumber);
        }
        if let ZSet::Pack(lp) = self {
            if let Some((pos, cur)) = pack_find(lp, member) {
                let Some(new) = decide(cur, score, flags)? else { return Ok((AddResult::Skipped, cur)) };
                if new == cur {
                    return Ok((AddResult::Unchanged, new));
                }
                lp.delete_range(pos, 2);
                pack_insert(lp, member, new);
                return Ok((AddResult::Updated, new));
            }
            if flags.xx {
                return Ok((AddResult::Skipped, score));
            }
            if lp.len() / 2 < limits.entries && member.len() <= limits.value && lp.safe_to_add(member.len()) {
                pack_insert(lp, member, score);
                return Ok((AddResult::Added, score));
            }
            self.convert_to_skiplist();
        }
        let ZSet::Skip(z) = self else { return Ok((AddResult::Skipped, score)) };
        let Sorted { dict, list } = &mut **z;
        match dict.get_mut(member) {
            Some(cur_ref) => {
                let cur = *cur_ref;
                let Some(new) = decide(cur, score, flags)? else { return Ok((AddResult::Skipped, cur)) };
                if new == cur {
                    return Ok((AddResult::Unchanged, new));
                }
                *cur_ref = new;
                list.update_score(member, cur, new);
                Ok((AddResult::Updated, new))
            }
            None if flags.xx => Ok((AddResult::Skipped, score)),
            None => {
                list.insert(score, member);
                dict.insert_new(member.into(), score);
                Ok((AddResult::Added, score))
            }
        }
    }

    /// Sets the score of `member`, adding it if absent; returns the old
    /// score. Converts to a skiplist past the limits.
    pub fn set(&mut self, member: &[u8], score: f64, limits: PackLimits) -> Option<f64> {
        let old = self.score(member);
        // Only a NaN score is refused; callers never pass one.
        let _ = self.add(member, score, AddFlags::default(), limits);
        old
    }

    /// Removes a member; returns its score.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match self {
            ZSet::Pack(lp) => {
                let (p, s) = pack_find(lp, member)?;
                lp.delete_range(p, 2);
                Some(s)
            }
            ZSet::Skip(z) => {
                let Sorted { dict, list } = &mut **z;
                let s = dict.remove(member)?;
                list.remove(s, member);
                Some(s)
            }
        }
    }

    /// Removes the lowest (or, with `max`, the highest) element, handing
    /// it to `f` before it is dropped.
    pub fn pop_with<R>(&mut self, max: bool, f: impl FnOnce(&[u8], f64) -> R) -> Option<R> {
        match self {
            ZSet::Pack(lp) => {
                let m = if max { lp.prev(lp.last()?)? } else { lp.first()? };
                let score = entry_score(lp.get(lp.next(m)?));
                let r = with_bytes(lp.get(m), |b| f(b, score));
                lp.delete_range(m, 2);
                Some(r)
            }
            ZSet::Skip(z) => {
                let Sorted { dict, list } = &mut **z;
                let (m, s) = if max { list.pop_last()? } else { list.pop_first()? };
                dict.remove(&m[..]);
                Some(f(&m, s))
            }
        }
    }

    fn convert_to_skiplist(&mut self) {
        if let ZSet::Pack(lp) = self {
            let mut dict = Dict::new();
            let mut list = SkipList::new();
            for (_, m, s) in Pairs::new(lp, true) {
                let m = m.to_vec();
                list.insert(s, &m);
                dict.insert_new(m.into_boxed_slice(), s);
            }
            *self = ZSet::Skip(Box::new(Sorted { dict, list }));
        }
    }

    /// 0-based rank of `member` (from the highest score when `rev`), with
    /// its score.
    pub fn rank(&self, member: &[u8], rev: bool) -> Option<(usize, f64)> {
        let n = self.len();
        let (r, s) = match self {
            ZSet::Pack(lp) => Pairs::new(lp, false)
                .enumerate()
                .find(|(_, (_, m, _))| m.eq_bytes(member))
                .map(|(i, (_, _, s))| (i, s))?,
            ZSet::Skip(z) => {
                let Sorted { dict, list } = &**z;
                let s = *dict.get(member)?;
                (list.rank(s, member)? - 1, s)
            }
        };
        Some((if rev { n - 1 - r } else { r }, s))
    }

    /// Every (member, score) in ascending order.
    pub fn iter(&self) -> Box<dyn Iterator<Item = Scored> + '_> {
        match self {
            ZSet::Pack(lp) => Box::new(Pairs::new(lp, false).map(|(_, m, s)| (m.to_vec(), s))),
            ZSet::Skip(z) => {
                let Sorted { list, .. } = &**z;
                Box::new(list.iter().map(|(m, s)| (m.to_vec(), s)))
            }
        }
    }

    /// Calls `f` for every element, in ascending order.
    pub fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            ZSet::Pack(lp) => {
                for (_, m, s) in Pairs::new(lp, false) {
                    with_bytes(m, |b| f(b, s));
                }
            }
            ZSet::Skip(z) => {
                let Sorted { list, .. } = &**z;
                for (m, s) in list.iter() {
                    f(m, s);
                }
            }
        }
    }

    /// Walks from the element at 0-based position `first` of the given
    /// direction, calling `f` until it returns false or the set ends.
    fn walk(&self, first: usize, rev: bool, mut f: impl FnMut(&[u8], f64) -> bool) {
        match self {
            ZSet::Pack(lp) => {
                for (_, m, s) in Pairs::new(lp, rev).skip(first) {
                    if !with_bytes(m, |b| f(b, s)) {
                        break;
                    }
                }
            }
            ZSet::Skip(z) => {
                let Sorted { list, .. } = &**z;
                let n = list.len();
                if first >= n {
                    return;
                }
                let mut cur = list.by_rank(if rev { n - first } else { first + 1 });
                while let Some(h) = cur {
                    let (m, s) = list.entry(h);
                    if !f(m, s) {
                        break;
                    }
                    cur = if rev { list.prev(h) } else { list.next(h) };
                }
            }
        }
    }

    /// Visits the elements with 0-based ranks start..=end (in the given
    /// direction; the caller clamps to 0 ≤ start ≤ end < len).
    pub fn for_rank_range(&self, start: usize, end: usize, rev: bool, mut f: impl FnMut(&[u8], f64)) {
        if start > end {
            return;
        }
        let mut left = end - start + 1;
        self.walk(start, rev, |m, s| {
            f(m, s);
            left -= 1;
            left > 0
        });
    }

    /// Elements with 0-based ranks start..=end (already clamped by the
    /// caller to 0 ≤ start ≤ end < len), in the requested direction.
    pub fn range_by_rank(&self, start: usize, end: usize, rev: bool) -> Vec<Scored> {
        let mut out = Vec::new();
        if end < self.len() {
            self.for_rank_range(start, end, rev, |m, s| out.push((m.to_vec(), s)));
        }
        out
    }

    /// (elements before the score range, elements inside it), ascending.
    fn score_span(&self, r: &ScoreRange) -> (usize, usize) {
        match self {
            ZSet::Pack(lp) => {
                let mut before = 0;
                let mut inside = 0;
                if !r.is_empty() {
                    for (_, _, s) in Pairs::new(lp, false) {
                        if !r.above_min(s) {
                            before += 1;
                        } else if r.below_max(s) {
                            inside += 1;
                        } else {
                            break;
                        }
                    }
                }
                (before, inside)
            }
            ZSet::Skip(z) => {
                let Sorted { list, .. } = &**z;
                list.score_span(r)
            }
        }
    }

    /// The run of elements Redis visits for a lex range in the given
    /// direction, as (0-based position of its first element in that
    /// direction, length). Forward: from the first member at or above the
    /// minimum, while members stay within the maximum; backward: from the
    /// last member within the maximum, while they stay above the minimum.
    /// (On members not sorted by score the two can differ, as in Redis.)
    fn lex_run(&self, r: &LexRange, rev: bool) -> (usize, usize) {
        if r.is_empty() {
            return (0, 0);
        }
        let (enter, stay): (LexTest, LexTest) = if rev {
            (|r, m| r.below_max(m), |r, m| r.above_min(m))
        } else {
            (|r, m| r.above_min(m), |r, m| r.below_max(m))
        };
        match self {
            ZSet::Pack(lp) => {
                // zzlIsInLexRange: the last member must reach the minimum and
                // the first one the maximum.
                let mut fwd = Pairs::new(lp, false);
                let first_ok = fwd.next().is_some_and(|(_, m, _)| with_bytes(m, |b| r.below_max(b)));
                let last_ok = Pairs::new(lp, true).next().is_some_and(|(_, m, _)| with_bytes(m, |b| r.above_min(b)));
                if !first_ok || !last_ok {
                    return (0, 0);
                }
                let mut it =
                    Pairs::new(lp, rev).enumerate().skip_while(|(_, (_, m, _))| !with_bytes(*m, |b| enter(r, b)));
                let Some((start, (_, m, _))) = it.next() else { return (0, 0) };
                if !with_bytes(m, |b| stay(r, b)) {
                    return (0, 0);
                }
                (start, 1 + it.take_while(|(_, (_, m, _))| with_bytes(*m, |b| stay(r, b))).count())
            }
            ZSet::Skip(z) => {
                let Sorted { list, .. } = &**z;
                let found = if rev { list.last_in_lex_rank(r) } else { list.first_in_lex_rank(r) };
                let Some(rank) = found else { return (0, 0) };
                let start = if rev { list.len() - rank } else { rank - 1 };
                let mut n = 0;
                let mut cur = list.by_rank(rank);
                while let Some(c) = cur {
                    if !stay(r, list.entry(c).0) {
                        break;
                    }
                    n += 1;
                    cur = if rev { list.prev(c) } else { list.next(c) };
                }
                (start, n)
            }
        }
    }

    /// Visits the part of a run (first position in the walking direction,
    /// length) left after skipping `offset`, at most `limit` elements
    /// (None = all); returns how many were visited.
    fn visit_run(
        &self,
        run: (usize, usize),
        rev: bool,
        offset: usize,
        limit: Option<usize>,
        mut f: impl FnMut(&[u8], f64),
    ) -> usize {
        let (first, n) = window(run, offset, limit);
        if n > 0 {
            self.for_rank_range(first, first + n - 1, rev, &mut f);
        }
        n
    }

    /// The run of a score range in the walking direction.
    fn score_run(&self, r: &ScoreRange, rev: bool) -> (usize, usize) {
        let (before, inside) = self.score_span(r);
        (if rev { self.len() - before - inside } else { before }, inside)
    }

    /// Where a score-range query with `offset` and `limit` starts (0-based
    /// position in the walking direction) and how many elements it
    /// returns, so that a reply's length is known before its elements:
    /// visit them with `for_rank_range(first, first + n - 1, rev, ..)`.
    pub fn score_window(&self, r: &ScoreRange, rev: bool, offset: usize, limit: Option<usize>) -> (usize, usize) {
        window(self.score_run(r, rev), offset, limit)
    }

    pub fn lex_window(&self, r: &LexRange, rev: bool, offset: usize, limit: Option<usize>) -> (usize, usize) {
        window(self.lex_run(r, rev), offset, limit)
    }

    /// Visits the elements with a score in `r`, ascending (descending when
    /// `rev`), skipping `offset` and visiting at most `limit`; O(log n) to
    /// find the start in a skiplist, whatever the offset.
    pub fn for_score_range(
        &self,
        r: &ScoreRange,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
        f: impl FnMut(&[u8], f64),
    ) -> usize {
        self.visit_run(self.score_run(r, rev), rev, offset, limit, f)
    }

    /// Visits the elements with a score in `r`, ascending, until `f`
    /// returns false (GEO searches that stop once they have enough).
    pub fn for_score_range_while(&self, r: &ScoreRange, mut f: impl FnMut(&[u8], f64) -> bool) {
        let (first, mut left) = self.score_run(r, false);
        if left > 0 {
            self.walk(first, false, |m, s| {
                left -= 1;
                f(m, s) && left > 0
            });
        }
    }

    /// Visits the elements whose member is in `r` (meaningful when all
    /// scores are equal, as Redis documents).
    pub fn for_lex_range(
        &self,
        r: &LexRange,
        rev: bool,
        offset: usize,
        limit: Option<usize>,
        f: impl FnMut(&[u8], f64),
    ) -> usize {
        self.visit_run(self.lex_run(r, rev), rev, offset, limit, f)
    }

    /// Elements whose score is in `r`, ascending (or descending when `rev`),
    /// skipping `offset` and returning at most `limit` (None = all).
    pub fn range_by_score(&self, r: &ScoreRange, rev: bool, offset: usize, limit: Option<usize>) -> Vec<Scored> {
        let mut out = Vec::new();
        self.for_score_range(r, rev, offset, limit, |m, s| out.push((m.to_vec(), s)));
        out
    }

    /// Elements whose member is in the lexicographic range `r`.
    pub fn range_by_lex(&self, r: &LexRange, rev: bool, offset: usize, limit: Option<usize>) -> Vec<Scored> {
        let mut out = Vec::new();
        self.for_lex_range(r, rev, offset, limit, |m, s| out.push((m.to_vec(), s)));
        out
    }

    /// Number of elements with a score in `r`, in O(log n) for skiplists.
    pub fn count_in_range(&self, r: &ScoreRange) -> usize {
        self.score_span(r).1
    }

    /// Number of members in `r`: Redis counts a listpack's forward run, a
    /// skiplist's span between the first and last member in range.
    pub fn count_in_lex(&self, r: &LexRange) -> usize {
        match self {
            ZSet::Pack(_) => self.lex_run(r, false).1,
            ZSet::Skip(z) => match (z.list.first_in_lex_rank(r), z.list.last_in_lex_rank(r)) {
                (Some(a), Some(b)) => (b + 1).saturating_sub(a),
                _ => 0,
            },
        }
    }

    /// Removes the elements of 0-based ranks start..=end (clamped by the
    /// caller); returns how many were removed.
    pub fn remove_rank_range(&mut self, start: usize, end: usize) -> usize {
        if start > end || start >= self.len() {
            return 0;
        }
        let end = end.min(self.len() - 1);
        match self {
            ZSet::Pack(lp) => remove_pack_run(lp, start, end - start + 1),
            ZSet::Skip(z) => {
                let Sorted { dict, list } = &mut **z;
                forget(dict, list.remove_rank_range(start + 1, end + 1))
            }
        }
    }

    /// Removes every element with a score in `r`; returns how many.
    pub fn remove_score_range(&mut self, r: &ScoreRange) -> usize {
        let (before, inside) = self.score_span(r);
        match self {
            ZSet::Pack(lp) => remove_pack_run(lp, before, inside),
            ZSet::Skip(z) => {
                let Sorted { dict, list } = &mut **z;
                forget(dict, list.remove_score_range(r))
            }
        }
    }

    /// Removes every element whose member is in `r`; returns how many.
    pub fn remove_lex_range(&mut self, r: &LexRange) -> usize {
        let (first, n) = self.lex_run(r, false);
        match self {
            ZSet::Pack(lp) => remove_pack_run(lp, first, n),
            ZSet::Skip(z) => {
                let Sorted { dict, list } = &mut **z;
                forget(dict, list.remove_lex_range(r))
            }
        }
    }

    /// Removes the given members (as found by a range query); returns how
    /// many were removed.
    pub fn remove_all(&mut self, members: &[Scored]) -> usize {
        members.iter().filter(|(m, _)| self.remove(m).is_some()).count()
    }

    /// Calls `f` with `n` members chosen uniformly at random, repeats
    /// allowed (ZRANDMEMBER with a negative count), until it returns false.
    pub fn sample_with_repeats(&self, n: u64, rng: &mut impl rand::Rng, mut f: impl FnMut(&[u8], f64) -> bool) {
        if self.is_empty() {
            return;
        }
        match self {
            ZSet::Pack(lp) => {
                // Positions first: a listpack cannot be indexed directly.
                let pairs: Vec<(Entry<'_>, f64)> = Pairs::new(lp, false).map(|(_, m, s)| (m, s)).collect();
                for _ in 0..n {
                    let (m, s) = pairs[rng.gen_range(0..pairs.len())];
                    if !with_bytes(m, |b| f(b, s)) {
                        break;
                    }
                }
            }
            ZSet::Skip(z) => {
                let Sorted { dict, .. } = &**z;
                for _ in 0..n {
                    let Some((m, s)) = dict.random(rng) else { break };
                    if !f(m, *s) {
                        break;
                    }
                }
            }
        }
    }

    /// Calls `f` with `n` distinct members chosen at random (n < len): a
    /// listpack gives them in storage order as Redis's lpRandomPairsUnique,
    /// a skiplist in random order.
    pub fn sample_unique(&self, n: usize, rng: &mut impl rand::Rng, mut f: impl FnMut(&[u8], f64)) {
        let len = self.len();
        match self {
            ZSet::Pack(lp) => {
                // Selection sampling: each element is taken with probability
                // (still needed) / (still available).
                let mut needed = n;
                for (i, (_, m, s)) in Pairs::new(lp, false).enumerate() {
                    if needed == 0 {
                        break;
                    }
                    if rng.gen_range(0..len - i) < needed {
                        with_bytes(m, |b| f(b, s));
                        needed -= 1;
                    }
                }
            }
            ZSet::Skip(z) => {
                let Sorted { dict, list } = &**z;
                if n.saturating_mul(3) > len {
                    // Close to the whole set: shuffle a copy of the handles.
                    let mut all: Vec<(&[u8], f64)> = list.iter().collect();
                    for i in 0..n {
                        let j = rng.gen_range(i..all.len());
                        all.swap(i, j);
                        f(all[i].0, all[i].1);
                    }
                } else {
                    let mut seen = std::collections::HashSet::with_capacity(n);
                    while seen.len() < n {
                        let Some((m, s)) = dict.random(rng) else { break };
                        if seen.insert(&m[..]) {
                            f(m, *s);
                        }
                    }
                }
            }
        }
    }

    /// One step of ZSCAN: a listpack is visited whole (next cursor 0), a
    /// skiplist's dict one bucket at a time. Returns the next cursor.
    pub fn scan_step(&self, cursor: u64, mut f: impl FnMut(&[u8], ScanScore<'_>)) -> u64 {
        match self {
            ZSet::Pack(lp) => {
                let mut it = lp.iter();
                while let (Some(m), Some(s)) = (it.next(), it.next()) {
                    with_bytes(m, |mb| with_bytes(s, |sb| f(mb, ScanScore::Text(sb))));
                }
                0
            }
            ZSet::Skip(z) => {
                let Sorted { dict, .. } = &**z;
                dict.scan(cursor, |m, s| f(m, ScanScore::Value(*s)))
            }
        }
    }

    /// Heap bytes held, for memory figures.
    pub fn allocated(&self) -> usize {
        match self {
            ZSet::Pack(lp) => lp.allocated(),
            ZSet::Skip(z) => {
                let Sorted { dict, list } = &**z;
                list.allocated() + dict.slots() * 8 + dict.len() * 48
            }
        }
    }
}

/// The part of a run (first position, length) left after skipping
/// `offset`, at most `limit` long.
fn window((first, len): (usize, usize), offset: usize, limit: Option<usize>) -> (usize, usize) {
    (first + offset, len.saturating_sub(offset).min(limit.unwrap_or(usize::MAX)))
}

/// Deletes `n` consecutive pairs of a listpack zset starting at pair
/// `first`; returns `n`.
fn remove_pack_run(lp: &mut Listpack, first: usize, n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    if let Some(p) = lp.seek(2 * first as i64) {
        lp.delete_range(p, 2 * n);
    }
    n
}

/// Drops removed skiplist members from the dict; returns how many.
fn forget(dict: &mut Dict<Box<[u8]>, f64>, removed: Vec<Box<[u8]>>) -> usize {
    for m in &removed {
        dict.remove(&m[..]);
    }
    removed.len()
}

/// Inserts (member, score) into a listpack zset at its ordered position.
fn pack_insert(lp: &mut Listpack, member: &[u8], score: f64) {
    let mut p = lp.first();
    while let Some(mp) = p {
        let Some(sp) = lp.next(mp) else { break };
        let s = entry_score(lp.get(sp));
        if s > score || (s == score && cmp_entry(lp.get(mp), member) == Ordering::Greater) {
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

    #[test]
    fn add_follows_zadd_options() {
        for limits in [SMALL, TINY] {
            let mut z = ZSet::with_hint(0, 0, limits);
            let f = AddFlags::default();
            assert_eq!(z.add(b"a", 1.0, f, limits), Ok((AddResult::Added, 1.0)));
            assert_eq!(z.add(b"a", 1.0, f, limits), Ok((AddResult::Unchanged, 1.0)));
            let nx = AddFlags { nx: true, ..f };
            assert_eq!(z.add(b"a", 7.0, nx, limits), Ok((AddResult::Skipped, 1.0)));
            let xx = AddFlags { xx: true, ..f };
            assert_eq!(z.add(b"b", 7.0, xx, limits), Ok((AddResult::Skipped, 7.0)));
            assert_eq!(z.score(b"b"), None);
            let gt = AddFlags { gt: true, ..f };
            assert_eq!(z.add(b"a", 0.5, gt, limits), Ok((AddResult::Skipped, 1.0)));
            assert_eq!(z.add(b"a", 3.0, gt, limits), Ok((AddResult::Updated, 3.0)));
            let lt_incr = AddFlags { lt: true, incr: true, ..f };
            assert_eq!(z.add(b"a", 1.0, lt_incr, limits), Ok((AddResult::Skipped, 3.0)));
            assert_eq!(z.add(b"a", -1.0, lt_incr, limits), Ok((AddResult::Updated, 2.0)));
            let incr = AddFlags { incr: true, ..f };
            assert_eq!(z.add(b"i", f64::INFINITY, incr, limits), Ok((AddResult::Added, f64::INFINITY)));
            assert_eq!(z.add(b"i", f64::NEG_INFINITY, incr, limits), Err(NotANumber));
            assert_eq!(z.score(b"i"), Some(f64::INFINITY));
            assert_eq!(z.add(b"n", f64::NAN, f, limits), Err(NotANumber));
        }
    }

    #[test]
    fn doubles_print_as_redis_72() {
        // ZSCORE replies of Valkey 9.1 (Redis 7.2's fpconv d2string).
        for (v, text) in [
            (1.1, "1.1"),
            (0.30000000000000004, "0.30000000000000004"),
            (123456789.12345679, "1.2345678912345679e+8"),
            (12345678901234567890.0, "12345678901234567000"),
            (1e17, "100000000000000000"),
            (0.00003, "0.00003"),
            (0.00001, "0.00001"),
            (-1.5e-7, "-1.5e-7"),
            (1e-310, "1e-310"),
            (1e20, "1e+20"),
            (1e30, "1e+30"),
            (1.2345678e17, "123456780000000000"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1.234e-6, "1.234e-6"),
            (-0.1234567, "-0.1234567"),
            (1234567.891, "1234567.891"),
            (4.611686018427388e18, "4611686018427387904"),
            (9.3e18, "9.3e+18"),
            (-2.5e300, "-2.5e+300"),
            (-0.0, "-0"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(d2string(v), text, "{v:e}");
            assert_eq!(d2string(v).parse::<f64>().ok(), Some(v));
        }
    }

    #[test]
    fn listpack_scores_are_stored_as_redis_stores_them() {
        assert_eq!(score_text(3.0), b"3");
        assert_eq!(score_text(-0.0), b"0");
        assert_eq!(score_text(1.5), b"1.5");
        assert_eq!(score_text(1e18), b"1000000000000000000");
        assert_eq!(score_text(1e19), b"1e+19");
        assert_eq!(score_text(f64::INFINITY), b"inf");
        let mut z = ZSet::default();
        z.set(b"m", -0.0, SMALL);
        assert!(z.score(b"m").is_some_and(|s| s.is_sign_positive()), "a listpack drops the sign of -0");
    }

    #[test]
    fn pops_and_range_removals() {
        for limits in [SMALL, TINY] {
            let mut z = ZSet::with_hint(0, 0, limits);
            for i in 0..10 {
                z.set(format!("m{i}").as_bytes(), i as f64, limits);
            }
            assert_eq!(z.pop_with(false, |m, s| (m.to_vec(), s)), Some((b"m0".to_vec(), 0.0)));
            assert_eq!(z.pop_with(true, |m, s| (m.to_vec(), s)), Some((b"m9".to_vec(), 9.0)));
            assert_eq!(z.remove_rank_range(0, 1), 2);
            let r = ScoreRange { min: 5.0, max: 6.0, min_ex: true, max_ex: false };
            assert_eq!(z.remove_score_range(&r), 1);
            let lex = LexRange { min: LexBound::Excl(b"m7".to_vec()), max: LexBound::PosInf };
            assert_eq!(z.remove_lex_range(&lex), 1);
            let left: Vec<Vec<u8>> = z.iter().map(|(m, _)| m).collect();
            assert_eq!(left, [b"m3", b"m4", b"m5", b"m7"].map(|m| m.to_vec()).to_vec());
            assert_eq!(z.score(b"m8"), None);
            assert_eq!(z.len(), 4);
        }
    }

    #[test]
    fn integer_members_compare_as_text() {
        let mut z = ZSet::default();
        for m in ["10", "9", "a", "-1"] {
            z.set(m.as_bytes(), 0.0, SMALL);
        }
        let order: Vec<Vec<u8>> = z.iter().map(|(m, _)| m).collect();
        assert_eq!(order, [&b"-1"[..], b"10", b"9", b"a"].map(|m| m.to_vec()).to_vec());
    }

    /// Every query of both encodings against a sorted Vec model, under
    /// random adds, removals, pops and range deletions.
    #[test]
    fn model_check_against_sorted_vec() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for limits in [SMALL, TINY, PackLimits { entries: 16, value: 64 }] {
            let mut z = ZSet::with_hint(0, 0, limits);
            let mut model: Vec<Scored> = Vec::new();
            let sort = |m: &mut Vec<Scored>| m.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            for step in 0..4000 {
                let m = format!("{}", rng.gen_range(0..60)).into_bytes();
                let s = rng.gen_range(-5..5) as f64 / 2.0;
                match rng.gen_range(0..10) {
                    0..=5 => {
                        z.set(&m, s, limits);
                        model.retain(|(x, _)| *x != m);
                        model.push((m, s));
                        sort(&mut model);
                    }
                    6 => {
                        assert_eq!(z.remove(&m).is_some(), model.iter().any(|(x, _)| *x == m));
                        model.retain(|(x, _)| *x != m);
                    }
                    7 => {
                        let max = rng.gen_bool(0.5);
                        let got = z.pop_with(max, |m, s| (m.to_vec(), s));
                        let want = if max {
                            model.pop()
                        } else if model.is_empty() {
                            None
                        } else {
                            Some(model.remove(0))
                        };
                        assert_eq!(got, want);
                    }
                    8 => {
                        let r = ScoreRange { min: s, max: s + 1.0, min_ex: rng.gen(), max_ex: rng.gen() };
                        let n = model.iter().filter(|(_, x)| r.contains(*x)).count();
                        assert_eq!(z.remove_score_range(&r), n);
                        model.retain(|(_, x)| !r.contains(*x));
                    }
                    _ => {
                        let (a, b) = (rng.gen_range(0..8), rng.gen_range(0..8));
                        if a <= b && a < model.len() {
                            let b = b.min(model.len() - 1);
                            assert_eq!(z.remove_rank_range(a, b), b - a + 1);
                            model.drain(a..=b);
                        }
                    }
                }
                assert_eq!(z.len(), model.len());
                if step % 50 == 0 {
                    assert_eq!(z.iter().collect::<Vec<_>>(), model);
                    let r = ScoreRange { min: s, max: s + 1.5, min_ex: step % 3 == 0, max_ex: step % 7 == 0 };
                    let inside: Vec<Scored> = model.iter().filter(|(_, x)| r.contains(*x)).cloned().collect();
                    for off in 0..3 {
                        let want: Vec<Scored> = inside.iter().skip(off).take(2).cloned().collect();
                        assert_eq!(z.range_by_score(&r, false, off, Some(2)), want);
                        let want: Vec<Scored> = inside.iter().rev().skip(off).cloned().collect();
                        assert_eq!(z.range_by_score(&r, true, off, None), want);
                        assert_eq!(z.score_window(&r, false, off, Some(2)).1, inside.len().saturating_sub(off).min(2));
                    }
                    for (i, (m, s)) in model.iter().enumerate() {
                        assert_eq!(z.rank(m, false), Some((i, *s)));
                        assert_eq!(z.rank(m, true), Some((model.len() - 1 - i, *s)));
                    }
                    let mut rnd = rand::rngs::StdRng::seed_from_u64(step);
                    if model.len() > 1 {
                        let mut picked = Vec::new();
                        z.sample_unique(model.len() / 2, &mut rnd, |m, _| picked.push(m.to_vec()));
                        picked.sort();
                        picked.dedup();
                        assert_eq!(picked.len(), model.len() / 2);
                        assert!(picked.iter().all(|p| z.score(p).is_some()));
                    }
                    let mut n = 0;
                    z.sample_with_repeats(5, &mut rnd, |m, s| {
                        n += 1;
                        z.score(m) == Some(s)
                    });
                    assert_eq!(n, if model.is_empty() { 0 } else { 5 });
                }
            }
        }
    }

    #[test]
    fn from_sorted_picks_the_encoding() {
        let items: Vec<Scored> = (0..5).map(|i| (format!("m{i}").into_bytes(), i as f64)).collect();
        let z = ZSet::from_sorted(items.clone(), PackLimits { entries: 5, value: 2 });
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(z.iter().collect::<Vec<_>>(), items);
        let z = ZSet::from_sorted(items.clone(), PackLimits { entries: 4, value: 2 });
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.iter().collect::<Vec<_>>(), items);
        let z = ZSet::from_sorted(items.clone(), PackLimits { entries: 5, value: 1 });
        assert_eq!(z.encoding(), "skiplist");
    }
}
