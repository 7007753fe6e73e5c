//! Streams: an append-only log of entries with strictly increasing IDs,
//! and consumer groups that track what each consumer was handed (the data
//! side of Redis's t_stream.c).
//!
//! Entries live in nodes of at most `stream-node-max-entries` entries and
//! about `stream-node-max-bytes` bytes. Each node is a listpack laid out
//! byte for byte as Redis lays out its stream listpacks, and the nodes are
//! kept in ID order in a deque, each with the ID of its master entry
//! (Redis keys the same listpacks in a radix tree; entries only arrive at
//! the end and mostly leave from the front, and a deque costs less per
//! node than a B-tree, whose leaves end half full when filled in order). With the same layout, nodes split
//! exactly where Redis splits them (so XINFO's node counts agree and an RDB
//! file can carry the blobs unchanged), and an entry costs what it costs in
//! Redis: a delta-encoded ID and its values, field names being shared with
//! the master entry when they repeat. Range reads seek the node in
//! O(log n) and walk at most one node's entries to the start.
//!
//! A node's listpack (as Redis's):
//!
//! ```text
//! master entry: count | deleted | num-fields | field_1 ... field_N | 0
//! each entry:   flags | ms-diff | seq-diff | num-fields | field_1 | value_1 | ... | lp-count
//!          or:  flags | ms-diff | seq-diff | value_1 ... value_N | lp-count   (SAMEFIELDS)
//! ```
//!
//! `count` and `deleted` are the live and deleted (flagged) entries; IDs
//! are differences from the node's key; `lp-count` is the number of
//! elements of the entry before it, so the node can be walked backwards.
//! A deleted entry stays in place, flagged, until its whole node goes.

use std::collections::{vec_deque, BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound;

/// A value of a stream node's listpack.
pub use crate::types::listpack::Entry as Val;
use crate::types::listpack::{held, hold, raw as lp, room, Listpack};

// ---------------------------------------------------------------------------
// Stream IDs

/// An entry ID: milliseconds and a sequence number, ordered as a pair.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

/// Room for the text of any ID ("18446744073709551615-18446744073709551615").
pub const ID_TEXT_MAX: usize = 41;

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId { ms: u64::MAX, seq: u64::MAX };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next ID, or None after the last possible one (where Redis's
    /// streamIncrID wraps to 0-0 and fails).
    pub fn next(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (u64::MAX, u64::MAX) => None,
            (ms, u64::MAX) => Some(StreamId::new(ms + 1, 0)),
            (ms, seq) => Some(StreamId::new(ms, seq + 1)),
        }
    }

    /// The previous ID, or None before 0-0.
    pub fn prev(self) -> Option<StreamId> {
        match (self.ms, self.seq) {
            (0, 0) => None,
            (ms, 0) => Some(StreamId::new(ms - 1, u64::MAX)),
            (ms, seq) => Some(StreamId::new(ms, seq - 1)),
        }
    }

    /// The ID as Redis prints it, `<ms>-<seq>`, written into `buf`.
    pub fn format<'a>(&self, buf: &'a mut [u8; ID_TEXT_MAX]) -> &'a [u8] {
        let mut end = ID_TEXT_MAX;
        end -= write_u64_back(&mut buf[..end], self.seq);
        end -= 1;
        buf[end] = b'-';
        end -= write_u64_back(&mut buf[..end], self.ms);
        &buf[end..]
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.format(&mut [0; ID_TEXT_MAX]).to_vec()
    }

    /// The 128-bit big-endian form Redis keys its radix trees with.
    pub fn to_be_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    /// The ID of a 128-bit big-endian key (RDB files store node keys and
    /// pending IDs so).
    pub fn from_be_bytes(b: [u8; 16]) -> StreamId {
        let (ms, seq) = b.split_at(8);
        let word = |h: &[u8]| h.iter().fold(0u64, |v, &x| (v << 8) | x as u64);
        StreamId::new(word(ms), word(seq))
    }
}

/// Writes `v` in decimal at the end of `buf`; returns the digit count.
fn write_u64_back(buf: &mut [u8], mut v: u64) -> usize {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.len() - i
}

/// A parsed ID argument.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ParsedId {
    pub id: StreamId,
    /// False for the `<ms>-*` form (sequence to be generated).
    pub seq_given: bool,
}

/// Parses an ID argument as Redis's streamGenericParseIDOrReply: `<ms>-<seq>`,
/// or `<ms>` alone (sequence `missing_seq`), `-` and `+` for the smallest and
/// largest IDs unless `strict`, and `<ms>-*` when `auto_seq`. The numbers
/// are read as Redis's string2ull, which falls back to strtoull: a leading
/// `+`, blanks or zeros are accepted, a `-` negates. As in Redis the
/// argument is a C string: it ends at its first NUL byte, and over 127
/// bytes it is refused.
pub fn parse_id(arg: &[u8], missing_seq: u64, strict: bool, auto_seq: bool) -> Option<ParsedId> {
    if arg.len() > 127 {
        return None;
    }
    let s = c_str(arg);
    match s {
        b"-" if !strict => return Some(ParsedId { id: StreamId::MIN, seq_given: true }),
        b"+" if !strict => return Some(ParsedId { id: StreamId::MAX, seq_given: true }),
        b"-" | b"+" => return None,
        _ => {}
    }
    let (ms, seq) = match s.iter().position(|&c| c == b'-') {
        Some(dash) => (&s[..dash], Some(&s[dash + 1..])),
        None => (s, None),
    };
    let ms = string2ull(ms)?;
    match seq {
        None => Some(ParsedId { id: StreamId::new(ms, missing_seq), seq_given: true }),
        Some(b"*") if auto_seq => Some(ParsedId { id: StreamId::new(ms, 0), seq_given: false }),
        Some(seq) => Some(ParsedId { id: StreamId::new(ms, string2ull(seq)?), seq_given: true }),
    }
}

/// The bytes before the first NUL, as C string functions see an argument.
pub fn c_str(arg: &[u8]) -> &[u8] {
    match arg.iter().position(|&c| c == 0) {
        Some(n) => &arg[..n],
        None => arg,
    }
}

/// Redis's string2ull: string2ll (negative values refused), else strtoull
/// in base 10 over the whole string.
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = crate::util::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = s.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)).count();
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add((d - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Entry flags.
const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// Largest listpack Redis lets a node grow to, whatever the configuration.
const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// Capacity a new node starts with; it grows like any vector and is cut to
/// size when the node is full (Redis preallocates up to 4 KB instead).
const NODE_INITIAL_CAPACITY: usize = 256;

/// Where a node's parts start.
#[derive(Clone, Copy)]
struct Layout {
    /// Fields of the master entry.
    master_fields: usize,
    /// Position of the first master field.
    fields_at: usize,
    /// Position of the first entry.
    first_entry: usize,
}

fn layout(lp: &[u8]) -> Layout {
    let p = lp::skip(lp, lp::HEADER);
    let p = lp::skip(lp, p);
    let (n, fields_at) = lp::get_int(lp, p);
    let master_fields = n.max(0) as usize;
    let mut p = fields_at;
    for _ in 0..master_fields {
        p = lp::skip(lp, p);
    }
    Layout { master_fields, fields_at, first_entry: lp::skip(lp, p) }
}

/// One entry of a node, as found by an iteration.
#[derive(Clone, Copy)]
pub struct Entry<'a> {
    pub id: StreamId,
    pub deleted: bool,
    /// Number of field/value pairs.
    pub len: usize,
    lp: &'a [u8],
    /// Position of the flags element.
    at: usize,
    /// Position of the first field (own fields) or value (SAMEFIELDS).
    data: usize,
    /// Position of the master's first field, for SAMEFIELDS entries.
    master_fields: Option<usize>,
    /// Position right after the entry.
    end: usize,
}

impl<'a> Entry<'a> {
    /// The field/value pairs, in order.
    pub fn fields(&self) -> Fields<'a> {
        Fields { lp: self.lp, master: self.master_fields, pos: self.data, left: self.len }
    }
}

/// Decodes the entry whose flags are at `at` in a node keyed `key`.
fn decode<'a>(lp: &'a [u8], at: usize, key: StreamId, l: &Layout) -> Entry<'a> {
    let (flags, p) = lp::get_int(lp, at);
    let (ms_diff, p) = lp::get_int(lp, p);
    let (seq_diff, p) = lp::get_int(lp, p);
    let id = StreamId::new(key.ms.wrapping_add(ms_diff as u64), key.seq.wrapping_add(seq_diff as u64));
    let (len, data, master_fields, elements) = if flags & FLAG_SAMEFIELDS != 0 {
        (l.master_fields, p, Some(l.fields_at), l.master_fields)
    } else {
        let (n, p) = lp::get_int(lp, p);
        let n = n.max(0) as usize;
        (n, p, None, n * 2)
    };
    let mut end = data;
    for _ in 0..elements {
        end = lp::skip(lp, end);
    }
    // The lp-count element closes the entry.
    let end = lp::skip(lp, end);
    Entry { id, deleted: flags & FLAG_DELETED != 0, len, lp, at, data, master_fields, end }
}

/// Iterates the field/value pairs of an entry.
pub struct Fields<'a> {
    lp: &'a [u8],
    master: Option<usize>,
    pos: usize,
    left: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (Val<'a>, Val<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let field = match &mut self.master {
            Some(m) => {
                let (f, next) = lp::get(self.lp, *m);
                *m = next;
                f
            }
            None => {
                let (f, next) = lp::get(self.lp, self.pos);
                self.pos = next;
                f
            }
        };
        let (value, next) = lp::get(self.lp, self.pos);
        self.pos = next;
        Some((field, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Fields<'_> {}

/// The nodes of the log: listpacks keyed by their master entry's ID.
/// A node keeps no spare capacity (a stream holds many): it is changed
/// through `edit`, as Redis reallocates its listpacks to size.
/// Bytes of one slot of the node index.
const NODE_SLOT: usize = std::mem::size_of::<(StreamId, Node)>();
/// A node index block this large is given back to the system once freed.
const RELEASE_ABOVE: usize = 64 * 1024;

#[derive(Clone)]
struct Node {
    /// The listpack, then room up to its size class (as a hash's or list's
    /// listpack holds, see types::listpack): an XADD that fits calls no
    /// allocator.
    buf: Box<[u8]>,
}

impl Node {
    fn new(lp: Vec<u8>) -> Node {
        let mut node = Node { buf: Box::default() };
        node.edit(|v| *v = lp);
        node
    }

    /// The listpack's bytes.
    fn lp(&self) -> &[u8] {
        held(&self.buf)
    }

    /// Runs `f` on the listpack as a Vec (whose capacity is the room held),
    /// then holds the size class of what it left.
    fn edit<R>(&mut self, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
        let total = if self.buf.is_empty() { 0 } else { self.lp().len() };
        let mut lp = std::mem::take(&mut self.buf).into_vec();
        lp.truncate(total);
        let r = f(&mut lp);
        let len = lp.len();
        self.buf = hold(lp, len);
        r
    }

    fn live(&self) -> i64 {
        lp::get_int(self.lp(), lp::HEADER).0
    }

    fn counts(&self) -> (i64, i64) {
        let (live, p) = lp::get_int(self.lp(), lp::HEADER);
        (live, lp::get_int(self.lp(), p).0)
    }

    /// Adds `live` to the live count and `deleted` to the deleted count.
    fn add_counts(&mut self, live: i64, deleted: i64) {
        self.edit(|lp| {
            let l = lp::get_int(lp, lp::HEADER).0;
            lp::replace_int(lp, lp::HEADER, l + live);
            if deleted != 0 {
                let p = lp::skip(lp, lp::HEADER);
                let d = lp::get_int(lp, p).0;
                lp::replace_int(lp, p, d + deleted);
            }
        })
    }

    /// Flags the entry at `at` as deleted (the flags never change size).
    fn flag_deleted(&mut self, at: usize) {
        self.edit(|lp| {
            let flags = lp::get_int(lp, at).0;
            lp::replace_int(lp, at, flags | FLAG_DELETED);
        })
    }

    /// The last entry, tombstones included (Redis's lpGetEdgeStreamID).
    fn last_id(&self, key: StreamId) -> Option<StreamId> {
        let l = layout(self.lp());
        let at = entry_before(self.lp(), self.lp().len() - 1)?;
        Some(decode(self.lp(), at, key, &l).id)
    }
}

/// Position of the flags of the entry that ends right before `pos` (an
/// entry's flags or the EOF byte), or None when that is the master entry.
fn entry_before(lp: &[u8], pos: usize) -> Option<usize> {
    let count_at = lp::prev(lp, pos)?;
    let (count, _) = lp::get_int(lp, count_at);
    if count <= 0 {
        return None;
    }
    let mut at = count_at;
    for _ in 0..count {
        at = lp::prev(lp, at)?;
    }
    Some(at)
}

// ---------------------------------------------------------------------------
// The log of entries

/// Node size limits (`stream-node-max-bytes`, `stream-node-max-entries`;
/// 0 means no limit).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_bytes: u64,
    pub max_entries: u64,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits { max_bytes: 4096, max_entries: 100 }
    }
}

/// How XADD chooses the new entry's ID.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NewId {
    /// `*`: from the clock, or after the last ID.
    Auto,
    /// `<ms>-*`: that millisecond, the next sequence number in it.
    Ms(u64),
    /// An explicit ID.
    Exact(StreamId),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AddError {
    /// The ID is not greater than the last one.
    NotGreater,
    /// The fields and values add up to more than a listpack may hold.
    TooLarge,
}

/// A trimming strategy: MAXLEN or MINID.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// The entries of a stream and its counters (Redis's `stream` minus the
/// consumer groups).
#[derive(Clone, Default)]
pub struct Entries {
    /// In key order; grown by an eighth at a time (see `push_node`).
    nodes: VecDeque<(StreamId, Node)>,
    /// Live entries.
    pub length: u64,
    /// The first live entry (0-0 when empty), as Redis records it.
    pub first_id: StreamId,
    /// The last ID generated or set (XSETID).
    pub last_id: StreamId,
    pub max_deleted_entry_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
}

impl Entries {
    /// Appends an entry with the field/value pairs `pairs` (an even number
    /// of elements), as Redis's streamAppendItem. `now_ms` is the clock
    /// `*` reads.
    pub fn append<B: AsRef<[u8]>>(
        &mut self,
        pairs: &[B],
        new_id: NewId,
        now_ms: u64,
        limits: NodeLimits,
    ) -> Result<StreamId, AddError> {
        let last = self.last_id;
        let id = match new_id {
            NewId::Exact(id) => id,
            NewId::Ms(ms) if ms == last.ms => match last.next() {
                Some(id) if id.ms == ms => id,
                _ => return Err(AddError::NotGreater),
            },
            NewId::Ms(ms) => StreamId::new(ms, 0),
            NewId::Auto if now_ms > last.ms => StreamId::new(now_ms, 0),
            // Past the last possible ID this wraps to 0-0, refused below.
            NewId::Auto => last.next().unwrap_or(StreamId::MIN),
        };
        if id <= last {
            return Err(AddError::NotGreater);
        }
        let total: usize = pairs.iter().map(|p| p.as_ref().len()).fold(0, usize::saturating_add);
        if total > LISTPACK_MAX_SIZE {
            return Err(AddError::TooLarge);
        }
        let numfields = pairs.len() / 2;
        let max_bytes = match limits.max_bytes {
            0 => LISTPACK_MAX_SIZE,
            n => n.min(LISTPACK_MAX_SIZE as u64) as usize,
        };

        // A new node when the tail one is full, counting deleted entries.
        let tail_full = match self.nodes.back() {
            None => true,
            Some((_, node)) => {
                let (live, deleted) = node.counts();
                node.lp().len() + total >= max_bytes
                    || (limits.max_entries != 0 && (live + deleted) as u64 >= limits.max_entries)
            }
        };
        let mut flags = 0;
        if tail_full {
            let mut node = lp::new(NODE_INITIAL_CAPACITY.min(max_bytes));
            lp::append(&mut node, Val::Int(1));
            lp::append(&mut node, Val::Int(0));
            lp::append(&mut node, Val::Int(numfields as i64));
            for f in pairs.iter().step_by(2) {
                lp::append(&mut node, Val::Str(f.as_ref()));
            }
            lp::append(&mut node, Val::Int(0));
            self.push_node(id, Node::new(node));
            flags |= FLAG_SAMEFIELDS;
        }
        let Some((key, node)) = self.nodes.back_mut() else { return Err(AddError::NotGreater) };
        let key = *key;
        if !tail_full {
            node.add_counts(1, 0);
            let l = layout(node.lp());
            if l.master_fields == numfields {
                let mut p = l.fields_at;
                let same = pairs.iter().step_by(2).all(|f| {
                    let (v, next) = lp::get(node.lp(), p);
                    p = next;
                    v.eq_bytes(f.as_ref())
                });
                if same {
                    flags |= FLAG_SAMEFIELDS;
                }
            }
        }
        let same = flags & FLAG_SAMEFIELDS != 0;
        node.edit(|lp| {
            // Room for the whole entry at once (an element takes at most
            // its bytes plus 9 of header and 5 of back length), so the
            // listpack is reallocated once to grow and once to fit.
            let elements = 4 + numfields * if same { 1 } else { 2 };
            let bound = lp.len() + total + elements * 14;
            if bound > lp.capacity() {
                lp.reserve_exact(room(bound) - lp.len());
            }
            lp::append(lp, Val::Int(flags));
            lp::append(lp, Val::Int(id.ms.wrapping_sub(key.ms) as i64));
            lp::append(lp, Val::Int(id.seq.wrapping_sub(key.seq) as i64));
            if !same {
                lp::append(lp, Val::Int(numfields as i64));
            }
            for pair in pairs.chunks_exact(2) {
                if !same {
                    lp::append(lp, Val::Str(pair[0].as_ref()));
                }
                lp::append(lp, Val::Str(pair[1].as_ref()));
            }
            let lp_count = numfields + 3 + if same { 0 } else { numfields + 1 };
            lp::append(lp, Val::Int(lp_count as i64));
        });

        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(id)
    }

    /// Entries from `start` to `end` inclusive, live ones only, forwards or
    /// backwards.
    pub fn range(&self, start: StreamId, end: StreamId, rev: bool) -> Range<'_> {
        Range::new(self, start, end, rev, true)
    }

    /// The live entry with this ID.
    pub fn get(&self, id: StreamId) -> Option<Entry<'_>> {
        self.range(id, id, false).next()
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// The first or last entry's ID, tombstones included or not; MAX (first)
    /// or MIN (last) when there is none, as Redis's streamGetEdgeID.
    pub fn edge_id(&self, first: bool, skip_tombstones: bool) -> StreamId {
        let mut it = Range::new(self, StreamId::MIN, StreamId::MAX, !first, skip_tombstones);
        match it.next() {
            Some(e) => e.id,
            None if first => StreamId::MAX,
            None => StreamId::MIN,
        }
    }

    /// The last live entry's ID (0-0 when empty).
    pub fn last_valid_id(&self) -> StreamId {
        self.range(StreamId::MIN, StreamId::MAX, true).next().map_or(StreamId::MIN, |e| e.id)
    }

    /// Adds a node after the others. The deque grows by an eighth of its
    /// length rather than doubling: a stream's nodes are many and long-lived.
    fn push_node(&mut self, key: StreamId, node: Node) {
        if self.nodes.len() == self.nodes.capacity() {
            let (before, bytes) = (self.nodes.as_slices().0.as_ptr(), self.nodes.capacity() * NODE_SLOT);
            self.nodes.reserve_exact((self.nodes.len() / 8).max(4));
            // A large index that moved left its old block behind: its pages
            // go back to the system now, not after jemalloc's decay time.
            if bytes >= RELEASE_ABOVE && self.nodes.as_slices().0.as_ptr() != before {
                crate::alloc::purge();
            }
        }
        self.nodes.push_back((key, node));
    }

    /// The index of the node that may hold `id`: the last keyed at or
    /// before it.
    fn node_index(&self, id: StreamId) -> Option<usize> {
        self.nodes.partition_point(|(k, _)| *k <= id).checked_sub(1)
    }

    /// Number of nodes (XINFO's radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes: each node's key in Redis's 128-bit form and its listpack.
    pub fn node_blobs(&self) -> impl Iterator<Item = ([u8; 16], &[u8])> + '_ {
        self.nodes.iter().map(|(k, n)| (k.to_be_bytes(), n.lp()))
    }

    /// Bytes of memory held by the nodes and their keys.
    pub fn allocated(&self) -> usize {
        let slots = self.nodes.capacity() * std::mem::size_of::<(StreamId, Node)>();
        slots + self.nodes.iter().map(|(_, n)| n.buf.len()).sum::<usize>()
    }

    /// Nodes a radix tree keyed like Redis's stream rax would have (XINFO's
    /// radix-tree-nodes): the root, every branching point, one node per key,
    /// and below a branching point, one more node for a run of two or more
    /// bytes before the next branch or key (a compressed node).
    pub fn radix_tree_nodes(&self) -> u64 {
        radix_nodes(self.nodes.iter().map(|(k, _)| k.to_be_bytes()))
    }

    /// Removes the live entry `id` (Redis's streamDeleteItem); a node left
    /// without live entries goes. Does not update `first_id` or
    /// `max_deleted_entry_id` (see `delete`).
    fn remove_entry(&mut self, id: StreamId) -> bool {
        let Some(i) = self.node_index(id) else { return false };
        let (key, node) = &mut self.nodes[i];
        let key = *key;
        let l = layout(node.lp());
        let mut at = l.first_entry;
        while node.lp()[at] != lp::EOF {
            let e = decode(node.lp(), at, key, &l);
            if e.id > id {
                return false;
            }
            if e.id == id && !e.deleted {
                if node.live() == 1 {
                    self.nodes.remove(i);
                } else {
                    node.flag_deleted(at);
                    node.add_counts(-1, 1);
                }
                self.length -= 1;
                return true;
            }
            at = e.end;
        }
        false
    }

    /// XDEL: deletes the live entries among `ids`, returns how many.
    pub fn delete(&mut self, ids: &[StreamId]) -> u64 {
        let mut deleted = 0;
        let mut first_deleted = false;
        for &id in ids {
            if self.remove_entry(id) {
                first_deleted |= id == self.first_id;
                if id > self.max_deleted_entry_id {
                    self.max_deleted_entry_id = id;
                }
                deleted += 1;
            }
        }
        if deleted > 0 {
            if self.length == 0 {
                self.first_id = StreamId::MIN;
            } else if first_deleted {
                self.first_id = self.edge_id(true, true);
            }
        }
        deleted
    }

    /// Trims from the oldest entries, as Redis's streamTrim: with `approx`
    /// only whole nodes go; `limit` (0 = none) caps the entries removed.
    /// Returns the number of entries removed.
    pub fn trim(&mut self, trim: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted: u64 = 0;
        loop {
            if let Trim::MaxLen(max) = trim {
                if self.length <= max {
                    break;
                }
            }
            let Some((key, first)) = self.nodes.front() else { break };
            let key = *key;
            let live = first.live().max(0) as u64;
            if limit != 0 && deleted + live > limit {
                break;
            }
            let remove_node = match trim {
                Trim::MaxLen(max) => self.length - live >= max,
                Trim::MinId(min) => first.last_id(key).unwrap_or(StreamId::MIN) < min,
            };
            if remove_node {
                self.nodes.pop_front();
                self.length -= live;
                deleted += live;
                continue;
            }
            if approx {
                break;
            }
            // Flag entries from within the node until the goal is met.
            let Some((_, node)) = self.nodes.front_mut() else { break };
            let l = layout(node.lp());
            let mut at = l.first_entry;
            let mut from_node = 0;
            while node.lp()[at] != lp::EOF {
                let e = decode(node.lp(), at, key, &l);
                let stop = match trim {
                    Trim::MaxLen(max) => self.length <= max,
                    Trim::MinId(min) => e.id >= min,
                };
                if stop {
                    break;
                }
                let (deleted_flag, end) = (e.deleted, e.end);
                at = end;
                if !deleted_flag {
                    node.flag_deleted(e.at);
                    from_node += 1;
                    self.length -= 1;
                }
            }
            node.add_counts(-from_node, from_node);
            deleted += from_node as u64;
            break;
        }
        if self.length == 0 {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.edge_id(true, true);
        }
        deleted
    }

    /// Whether a tombstone may lie between `start` and `end` (Redis's
    /// streamRangeHasTombstones).
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_entry_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_entry_id {
            return false;
        }
        start <= self.max_deleted_entry_id && self.max_deleted_entry_id <= end
    }

    /// How many entries were added up to `id`, when that can be known
    /// (Redis's streamEstimateDistanceFromFirstEverEntry);
    /// ENTRIES_READ_UNKNOWN otherwise.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        let added = self.entries_added as i64;
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return added;
        }
        match id.cmp(&self.last_id) {
            std::cmp::Ordering::Equal => return added,
            std::cmp::Ordering::Greater => return ENTRIES_READ_UNKNOWN,
            std::cmp::Ordering::Less => {}
        }
        if self.max_deleted_entry_id.is_zero() || self.max_deleted_entry_id < self.first_id {
            match id.cmp(&self.first_id) {
                std::cmp::Ordering::Less => return added.wrapping_sub(self.length as i64),
                std::cmp::Ordering::Equal => return added.wrapping_sub(self.length as i64).wrapping_add(1),
                std::cmp::Ordering::Greater => {}
            }
        }
        ENTRIES_READ_UNKNOWN
    }

    /// A group's lag: entries not yet delivered to it, when it can be known
    /// (Redis's streamReplyWithCGLag).
    pub fn lag(&self, g: &Group) -> Option<i64> {
        let added = self.entries_added as i64;
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != ENTRIES_READ_UNKNOWN && !self.range_has_tombstones(g.last_id, StreamId::MAX) {
            return Some(added.wrapping_sub(g.entries_read));
        }
        match self.estimate_distance(g.last_id) {
            ENTRIES_READ_UNKNOWN => None,
            read => Some(added.wrapping_sub(read)),
        }
    }
}

/// Counts the nodes of a radix tree holding these 16-byte keys, given in
/// ascending order.
fn radix_nodes(keys: impl Iterator<Item = [u8; 16]>) -> u64 {
    // The compacted trie of the keys, built along the sorted order: each
    // node is (depth, parent); branching points sit at the common prefix of
    // neighbouring keys.
    let mut depth: Vec<u8> = vec![0];
    let mut parent: Vec<usize> = vec![usize::MAX];
    let mut path: Vec<usize> = vec![0];
    let mut prev: Option<[u8; 16]> = None;
    for key in keys {
        if let Some(p) = prev {
            let common = p.iter().zip(&key).take_while(|(a, b)| a == b).count() as u8;
            let mut popped = None;
            while path.last().is_some_and(|&n| depth[n] > common) {
                popped = path.pop();
            }
            let top = path.last().copied().unwrap_or(0);
            if depth[top] < common {
                depth.push(common);
                parent.push(top);
                let branch = depth.len() - 1;
                if let Some(child) = popped {
                    parent[child] = branch;
                }
                path.push(branch);
            }
        }
        let top = path.last().copied().unwrap_or(0);
        depth.push(16);
        parent.push(top);
        path.push(depth.len() - 1);
        prev = Some(key);
    }
    let mut children = vec![0u32; depth.len()];
    for &p in &parent[1..] {
        children[p] += 1;
    }
    // Below a branching point an edge of two or more bytes starts with the
    // branch's own byte and goes on in a compressed node.
    let compressed = (1..depth.len()).filter(|&n| children[parent[n]] >= 2 && depth[n] - depth[parent[n]] >= 2).count();
    (depth.len() + compressed) as u64
}

/// An iteration over the entries of a range (Redis's streamIterator).
pub struct Range<'a> {
    nodes: vec_deque::Iter<'a, (StreamId, Node)>,
    /// The node being walked: its key, listpack, layout and the position
    /// of the next entry (forwards) or of the last one returned (backwards).
    cur: Option<(StreamId, &'a [u8], Layout, usize)>,
    start: StreamId,
    end: StreamId,
    rev: bool,
    skip_tombstones: bool,
    done: bool,
}

impl<'a> Range<'a> {
    fn new(e: &'a Entries, start: StreamId, end: StreamId, rev: bool, skip_tombstones: bool) -> Range<'a> {
        // The node that may hold the first entry to return: the last one
        // keyed at or before the bound.
        let seek = if rev { end } else { start };
        let nodes = match e.node_index(seek) {
            Some(i) if rev => e.nodes.range(..=i),
            Some(i) => e.nodes.range(i..),
            None if rev => e.nodes.range(0..0),
            None => e.nodes.range(..),
        };
        Range { nodes, cur: None, start, end, rev, skip_tombstones, done: start > end }
    }
}

impl<'a> Iterator for Range<'a> {
    type Item = Entry<'a>;

    fn next(&mut self) -> Option<Entry<'a>> {
        while !self.done {
            let Some((key, lp, l, pos)) = self.cur else {
                let next = if self.rev { self.nodes.next_back() } else { self.nodes.next() };
                let Some(&(key, ref node)) = next else {
                    self.done = true;
                    break;
                };
                let l = layout(node.lp());
                let pos = if self.rev { node.lp().len() - 1 } else { l.first_entry };
                self.cur = Some((key, node.lp(), l, pos));
                continue;
            };
            if !self.rev {
                if lp[pos] == lp::EOF {
                    self.cur = None;
                    continue;
                }
                let e = decode(lp, pos, key, &l);
                self.cur = Some((key, lp, l, e.end));
                if e.id >= self.start && !(self.skip_tombstones && e.deleted) {
                    if e.id > self.end {
                        self.done = true;
                        break;
                    }
                    return Some(e);
                }
            } else {
                let Some(at) = entry_before(lp, pos) else {
                    self.cur = None;
                    continue;
                };
                let e = decode(lp, at, key, &l);
                self.cur = Some((key, lp, l, at));
                if e.id <= self.end && !(self.skip_tombstones && e.deleted) {
                    if e.id < self.start {
                        self.done = true;
                        break;
                    }
                    return Some(e);
                }
            }
        }
        None
    }
}

// ---------------------------------------------------------------------------
// Consumer groups

/// `entries_read` when the group's position in the log is not known.
pub const ENTRIES_READ_UNKNOWN: i64 = -1;

/// A consumer, by its slot in its group.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ConsumerId(u32);

/// A delivered, not yet acknowledged entry (Redis's streamNACK).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Nack {
    /// When it was last delivered (Unix ms).
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: ConsumerId,
}

#[derive(Clone, Debug)]
pub struct Consumer {
    pub name: Box<[u8]>,
    /// Last time it tried to read or claim (Unix ms).
    pub seen_time: i64,
    /// Last time it was given something, -1 if never.
    pub active_time: i64,
    /// Its pending entries (the details are in the group's PEL).
    pub pel: BTreeSet<StreamId>,
}

#[derive(Clone, Debug)]
pub struct Group {
    /// Last ID delivered to the group.
    pub last_id: StreamId,
    /// Entries read so far by the group, or ENTRIES_READ_UNKNOWN.
    pub entries_read: i64,
    /// Every pending entry of the group.
    pub pel: BTreeMap<StreamId, Nack>,
    consumers: Vec<Option<Consumer>>,
    free: Vec<u32>,
    by_name: BTreeMap<Box<[u8]>, ConsumerId>,
}

/// What became of one XCLAIM'ed ID.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Claim {
    /// Now owned by the claiming consumer.
    Claimed(Nack),
    /// The entry no longer exists: its pending record was dropped.
    Gone(Nack),
    /// Not pending (and not forced), or not idle long enough.
    Skipped,
}

/// What XAUTOCLAIM did.
#[derive(Debug, Default)]
pub struct AutoClaim {
    /// Where the next call should start (0-0 at the end of the PEL).
    pub next: StreamId,
    /// In PEL order: each ID with its pending record after the claim, or
    /// (deleted) as it was when dropped because its entry was gone.
    pub events: Vec<(StreamId, Nack, Claimed)>,
}

/// Whether XAUTOCLAIM claimed a pending entry or dropped it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Claimed {
    Claimed,
    Deleted,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: Vec::new(),
            free: Vec::new(),
            by_name: BTreeMap::new(),
        }
    }

    pub fn consumer_count(&self) -> usize {
        self.by_name.len()
    }

    pub fn find(&self, name: &[u8]) -> Option<ConsumerId> {
        self.by_name.get(name).copied()
    }

    pub fn consumer(&self, id: ConsumerId) -> Option<&Consumer> {
        self.consumers.get(id.0 as usize).and_then(Option::as_ref)
    }

    pub fn consumer_mut(&mut self, id: ConsumerId) -> Option<&mut Consumer> {
        self.consumers.get_mut(id.0 as usize).and_then(Option::as_mut)
    }

    /// The consumer's name (empty for a stale id).
    pub fn name_of(&self, id: ConsumerId) -> &[u8] {
        self.consumer(id).map_or(&[][..], |c| &c.name[..])
    }

    /// The consumers in name order.
    pub fn consumers(&self) -> impl Iterator<Item = &Consumer> + '_ {
        self.by_name.values().filter_map(|&id| self.consumer(id))
    }

    /// Creates a consumer; None if one has that name.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> Option<ConsumerId> {
        if self.by_name.contains_key(name) {
            return None;
        }
        Some(self.insert_consumer(name, now))
    }

    /// The consumer named `name`, created if missing; true when created.
    pub fn find_or_create(&mut self, name: &[u8], now: i64) -> (ConsumerId, bool) {
        match self.find(name) {
            Some(id) => (id, false),
            None => (self.insert_consumer(name, now), true),
        }
    }

    fn insert_consumer(&mut self, name: &[u8], now: i64) -> ConsumerId {
        let consumer = Consumer { name: name.into(), seen_time: now, active_time: -1, pel: BTreeSet::new() };
        let id = match self.free.pop() {
            Some(slot) => {
                self.consumers[slot as usize] = Some(consumer);
                ConsumerId(slot)
            }
            None => {
                self.consumers.push(Some(consumer));
                ConsumerId(self.consumers.len() as u32 - 1)
            }
        };
        self.by_name.insert(name.into(), id);
        id
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let id = self.by_name.remove(name)?;
        let consumer = self.consumers.get_mut(id.0 as usize)?.take()?;
        for pending in &consumer.pel {
            self.pel.remove(pending);
        }
        self.free.push(id.0);
        Some(consumer.pel.len())
    }

    /// Acknowledges an entry; false if it was not pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        self.remove_pending(id).is_some()
    }

    fn remove_pending(&mut self, id: StreamId) -> Option<Nack> {
        let nack = self.pel.remove(&id)?;
        if let Some(c) = self.consumer_mut(nack.consumer) {
            c.pel.remove(&id);
        }
        Some(nack)
    }

    /// Moves the pending entry `id` to `to` (from whichever consumer had it).
    fn move_pending(&mut self, id: StreamId, from: Option<ConsumerId>, to: ConsumerId) {
        if from == Some(to) {
            return;
        }
        if let Some(old) = from.and_then(|f| self.consumer_mut(f)) {
            old.pel.remove(&id);
        }
        if let Some(new) = self.consumer_mut(to) {
            new.pel.insert(id);
        }
    }

    /// Records `id` as delivered to `to` now, as a new delivery (count 1),
    /// taking it from its previous owner if it had one.
    fn deliver_one(&mut self, id: StreamId, to: ConsumerId, now: i64) -> Nack {
        let nack = Nack { delivery_time: now, delivery_count: 1, consumer: to };
        let previous = self.pel.insert(id, nack).map(|n| n.consumer);
        self.move_pending(id, previous, to);
        nack
    }

    /// Serves XREADGROUP's `>`: the live entries from `start` on (at most
    /// `count`, 0 for all), advancing the group's last ID and read counter
    /// and, without `noack`, recording each as pending for `consumer`.
    /// `f` gets each entry, its new pending record and the group's last ID.
    /// Returns the number of entries served.
    #[allow(clippy::too_many_arguments)]
    pub fn deliver_new(
        &mut self,
        log: &Entries,
        consumer: ConsumerId,
        start: StreamId,
        count: u64,
        noack: bool,
        now: i64,
        mut f: impl FnMut(&Entry<'_>, Option<Nack>, StreamId),
    ) -> u64 {
        let mut served = 0;
        for e in log.range(start, StreamId::MAX, false) {
            if e.id > self.last_id {
                if self.entries_read != ENTRIES_READ_UNKNOWN && !log.range_has_tombstones(e.id, StreamId::MAX) {
                    self.entries_read = self.entries_read.wrapping_add(1);
                } else if log.entries_added != 0 {
                    self.entries_read = log.estimate_distance(e.id);
                }
                self.last_id = e.id;
            }
            let nack = if noack {
                None
            } else {
                let nack = self.deliver_one(e.id, consumer, now);
                if let Some(c) = self.consumer_mut(consumer) {
                    c.active_time = now;
                }
                Some(nack)
            };
            f(&e, nack, self.last_id);
            served += 1;
            if served == count {
                break;
            }
        }
        served
    }

    /// Serves XREADGROUP with an ID: the consumer's own pending entries from
    /// `start` on (at most `count`, 0 for all). `f` gets each ID and its
    /// entry, None when the entry was deleted meanwhile; a delivered entry
    /// counts as delivered again now. Returns the number served.
    pub fn deliver_history(
        &mut self,
        log: &Entries,
        consumer: ConsumerId,
        start: StreamId,
        count: u64,
        now: i64,
        mut f: impl FnMut(StreamId, Option<&Entry<'_>>),
    ) -> u64 {
        let Some(c) = self.consumers.get(consumer.0 as usize).and_then(Option::as_ref) else { return 0 };
        let mut served = 0;
        for &id in c.pel.range(start..) {
            if count != 0 && served >= count {
                break;
            }
            match log.get(id) {
                Some(e) => {
                    f(id, Some(&e));
                    if let Some(n) = self.pel.get_mut(&id) {
                        n.delivery_time = now;
                        n.delivery_count = n.delivery_count.wrapping_add(1);
                    }
                }
                None => f(id, None),
            }
            served += 1;
        }
        served
    }

    /// XCLAIM of one ID for `to`, as the body of Redis's xclaimCommand loop.
    /// `min_idle` 0 claims whatever the idle time; `delivery_time` is the
    /// new last-delivery time; `retry` sets the delivery count, else it goes
    /// up by one unless `justid`; `force` creates the pending record of a
    /// live entry that has none.
    #[allow(clippy::too_many_arguments)]
    pub fn claim(
        &mut self,
        log: &Entries,
        id: StreamId,
        to: ConsumerId,
        min_idle: i64,
        now: i64,
        delivery_time: i64,
        retry: Option<u64>,
        justid: bool,
        force: bool,
    ) -> Claim {
        if !log.contains(id) {
            return match self.remove_pending(id) {
                Some(nack) => Claim::Gone(nack),
                None => Claim::Skipped,
            };
        }
        let previous = match self.pel.get(&id) {
            Some(n) => {
                if min_idle != 0 && now.wrapping_sub(n.delivery_time) < min_idle {
                    return Claim::Skipped;
                }
                Some(*n)
            }
            // A forced record starts as a first delivery.
            None if force => None,
            None => return Claim::Skipped,
        };
        let mut nack = previous.unwrap_or(Nack { delivery_time: now, delivery_count: 1, consumer: to });
        nack.delivery_time = delivery_time;
        match retry {
            Some(n) => nack.delivery_count = n,
            None if !justid => nack.delivery_count = nack.delivery_count.wrapping_add(1),
            None => {}
        }
        nack.consumer = to;
        self.pel.insert(id, nack);
        self.move_pending(id, previous.map(|p| p.consumer), to);
        if let Some(c) = self.consumer_mut(to) {
            c.active_time = now;
        }
        Claim::Claimed(nack)
    }

    /// XAUTOCLAIM: claims for `to` up to `count` pending entries from
    /// `start` on that are idle for at least `min_idle`, looking at no more
    /// than 10 × `count` of them (Redis's attempts), and drops those whose
    /// entry is gone (they count against `count` too).
    #[allow(clippy::too_many_arguments)]
    pub fn autoclaim(
        &mut self,
        log: &Entries,
        to: ConsumerId,
        start: StreamId,
        count: u64,
        min_idle: i64,
        now: i64,
        justid: bool,
    ) -> AutoClaim {
        let mut out = AutoClaim::default();
        let mut attempts = count.saturating_mul(10);
        let mut count = count;
        let mut from = Bound::Included(start);
        while attempts > 0 && count > 0 {
            attempts -= 1;
            let Some((&id, &nack)) = self.pel.range((from, Bound::Unbounded)).next() else { break };
            from = Bound::Excluded(id);
            if !log.contains(id) {
                self.remove_pending(id);
                out.events.push((id, nack, Claimed::Deleted));
                count -= 1;
                continue;
            }
            if min_idle != 0 && now.wrapping_sub(nack.delivery_time) < min_idle {
                continue;
            }
            let mut claimed = nack;
            claimed.delivery_time = now;
            if !justid {
                claimed.delivery_count = claimed.delivery_count.wrapping_add(1);
            }
            claimed.consumer = to;
            self.pel.insert(id, claimed);
            self.move_pending(id, Some(nack.consumer), to);
            if let Some(c) = self.consumer_mut(to) {
                c.active_time = now;
            }
            out.events.push((id, claimed, Claimed::Claimed));
            count -= 1;
        }
        out.next = self.pel.range((from, Bound::Unbounded)).next().map_or(StreamId::MIN, |(&id, _)| id);
        out
    }
}

// ---------------------------------------------------------------------------
// Nodes read from RDB files and DUMP payloads

/// The elements of an untrusted listpack, read one by one.
struct Elements<'a> {
    lp: &'a Listpack,
    pos: Option<usize>,
}

impl<'a> Elements<'a> {
    fn next(&mut self) -> Option<Val<'a>> {
        let p = self.pos?;
        self.pos = self.lp.next(p);
        Some(self.lp.get(p))
    }

    /// An integer element (a string must read as one, as Redis's
    /// lpGetIntegerIfValid).
    fn int(&mut self) -> Option<i64> {
        match self.next()? {
            Val::Int(i) => Some(i),
            Val::Str(s) => crate::util::parse_i64(s),
        }
    }

    fn count(&mut self) -> Option<u64> {
        u64::try_from(self.int()?).ok()
    }

    fn skip(&mut self, n: u64) -> Option<()> {
        for _ in 0..n {
            self.next()?;
        }
        Some(())
    }
}

impl Entries {
    /// Adds a node read from an RDB file or DUMP payload, nodes coming in
    /// key order. The blob is checked as Redis's deep
    /// streamValidateListpackIntegrity checks it (a valid listpack, every
    /// element where the layout puts it, each entry's lp-count), and for
    /// what this module relies on besides: the master's counts agree with
    /// the entries' flags, and IDs grow from the node's key on, past the
    /// previous node's last entry. Returns the node's live entries.
    pub fn load_node(&mut self, key: StreamId, blob: Vec<u8>) -> Result<u64, &'static str> {
        const BAD: &str = "invalid stream listpack";
        if let Some(&(k, ref n)) = self.nodes.back() {
            if key <= n.last_id(k).unwrap_or(k) {
                return Err("stream nodes out of order");
            }
        }
        let lp = Listpack::from_bytes(blob).ok_or(BAD)?;
        let mut el = Elements { lp: &lp, pos: lp.first() };
        if el.pos.is_none() {
            return Err("Empty listpack inside stream");
        }
        let live = el.count().ok_or(BAD)?;
        let deleted = el.count().ok_or(BAD)?;
        let master_fields = el.count().ok_or(BAD)?;
        el.skip(master_fields).ok_or(BAD)?;
        if el.int() != Some(0) {
            return Err(BAD);
        }
        let (mut seen_live, mut seen_deleted) = (0u64, 0u64);
        let mut prev: Option<StreamId> = None;
        for _ in 0..live.checked_add(deleted).ok_or(BAD)? {
            let flags = el.int().ok_or(BAD)?;
            let ms_diff = el.int().ok_or(BAD)?;
            let seq_diff = el.int().ok_or(BAD)?;
            let id = StreamId::new(key.ms.wrapping_add(ms_diff as u64), key.seq.wrapping_add(seq_diff as u64));
            if id < key || prev.is_some_and(|p| id <= p) {
                return Err("stream entry IDs out of order");
            }
            prev = Some(id);
            let (fields, elements) = if flags & FLAG_SAMEFIELDS != 0 {
                (master_fields, master_fields.checked_add(3))
            } else {
                let n = el.count().ok_or(BAD)?;
                el.skip(n).ok_or(BAD)?;
                (n, n.checked_mul(2).and_then(|e| e.checked_add(4)))
            };
            el.skip(fields).ok_or(BAD)?;
            if el.count() != Some(elements.ok_or(BAD)?) {
                return Err(BAD);
            }
            if flags & FLAG_DELETED != 0 {
                seen_deleted += 1;
            } else {
                seen_live += 1;
            }
        }
        if el.pos.is_some() || (seen_live, seen_deleted) != (live, deleted) {
            return Err(BAD);
        }
        self.push_node(key, Node::new(lp.into_bytes()));
        Ok(live)
    }
}

// ---------------------------------------------------------------------------
// The stream

/// A stream: its entries and its consumer groups (in name order).
#[derive(Clone, Default)]
pub struct Stream {
    pub entries: Entries,
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    pub fn len(&self) -> u64 {
        self.entries.length
    }

    pub fn is_empty(&self) -> bool {
        self.entries.length == 0
    }

    pub fn encoding(&self) -> &'static str {
        "stream"
    }

    /// Creates a group; false if one has that name.
    pub fn create_group(&mut self, name: &[u8], last_id: StreamId, entries_read: i64) -> bool {
        if self.groups.contains_key(name) {
            return false;
        }
        self.groups.insert(name.into(), Group::new(last_id, entries_read));
        true
    }

    /// Bytes of memory held (entries, groups, pending records), roughly.
    pub fn allocated(&self) -> usize {
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| {
                name.len()
                    + std::mem::size_of::<Group>()
                    + g.pel.len() * (std::mem::size_of::<(StreamId, Nack)>() + std::mem::size_of::<StreamId>())
                    + g.consumers().map(|c| c.name.len() * 2 + std::mem::size_of::<Consumer>()).sum::<usize>()
            })
            .sum();
        std::mem::size_of::<Stream>() + self.entries.allocated() + groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::listpack::Listpack;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    fn parse(s: &str) -> Option<StreamId> {
        parse_id(s.as_bytes(), 0, true, false).map(|p| p.id)
    }

    #[test]
    fn ids_parse_as_redis() {
        // Replies of Redis 7.0 / Valkey 9.1 to XADD with these IDs.
        assert_eq!(parse("5"), Some(id(5, 0)));
        assert_eq!(parse("5-3"), Some(id(5, 3)));
        assert_eq!(parse("+5"), Some(id(5, 0)));
        assert_eq!(parse(" 6"), Some(id(6, 0)));
        assert_eq!(parse("7--0"), Some(id(7, 0)));
        assert_eq!(parse("8-+1"), Some(id(8, 1)));
        assert_eq!(parse("9--18446744073709551615"), Some(id(9, 1)));
        assert_eq!(parse("007-01"), Some(id(7, 1)));
        assert_eq!(parse("18446744073709551615-18446744073709551615"), Some(StreamId::MAX));
        for bad in [
            "-0",
            "",
            "-",
            "+",
            "18446744073709551616",
            "1-18446744073709551616",
            "1-",
            "-1",
            "1-2-3",
            "1 ",
            "a",
            "1-x",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
        assert_eq!(parse_id(b"-", 0, false, false).map(|p| p.id), Some(StreamId::MIN));
        assert_eq!(parse_id(b"+", 0, false, false).map(|p| p.id), Some(StreamId::MAX));
        assert_eq!(parse_id(b"3", u64::MAX, false, false).map(|p| p.id), Some(id(3, u64::MAX)));
        assert_eq!(parse_id(b"3-*", 0, true, true), Some(ParsedId { id: id(3, 0), seq_given: false }));
        assert_eq!(parse_id(b"3-*", 0, true, false), None);
        // A C string ends at its NUL; over 127 bytes is refused.
        assert_eq!(parse_id(b"4\0junk", 0, true, false).map(|p| p.id), Some(id(4, 0)));
        assert_eq!(parse_id(&[b'1'; 128], 0, true, false), None);
    }

    #[test]
    fn ids_format_and_step() {
        let mut buf = [0; ID_TEXT_MAX];
        assert_eq!(StreamId::MAX.format(&mut buf), b"18446744073709551615-18446744073709551615");
        assert_eq!(id(0, 0).format(&mut buf), b"0-0");
        assert_eq!(id(12, 345).to_vec(), b"12-345");
        assert_eq!(id(1, u64::MAX).next(), Some(id(2, 0)));
        assert_eq!(StreamId::MAX.next(), None);
        assert_eq!(id(2, 0).prev(), Some(id(1, u64::MAX)));
        assert_eq!(StreamId::MIN.prev(), None);
    }

    fn add(e: &mut Entries, i: StreamId, pairs: &[&str]) -> StreamId {
        e.append(pairs, NewId::Exact(i), 0, NodeLimits::default()).expect("append")
    }

    fn texts(e: &Entry) -> Vec<String> {
        e.fields()
            .flat_map(|(f, v)| [f, v])
            .map(|v| String::from_utf8_lossy(v.bytes(&mut [0; 20])).into_owned())
            .collect()
    }

    #[test]
    fn nodes_are_valid_listpacks_and_read_back() {
        let mut e = Entries::default();
        for i in 1..=250u64 {
            let v = i.to_string();
            if i % 3 == 0 {
                add(&mut e, id(i, 0), &["other", &v]);
            } else {
                add(&mut e, id(i, i), &["a", &v, "bb", "text-value"]);
            }
        }
        assert_eq!(e.length, 250);
        assert_eq!(e.node_count(), 3, "100 entries per node");
        for (_, blob) in e.node_blobs() {
            assert!(Listpack::from_bytes(blob.to_vec()).is_some(), "a valid listpack");
        }
        for (_, node) in &e.nodes {
            assert_eq!(node.buf.len(), room(node.lp().len()), "a node holds its size class");
        }
        let all: Vec<StreamId> = e.range(StreamId::MIN, StreamId::MAX, false).map(|x| x.id).collect();
        assert_eq!(all.len(), 250);
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        let back: Vec<StreamId> = e.range(StreamId::MIN, StreamId::MAX, true).map(|x| x.id).collect();
        assert_eq!(back, all.iter().rev().copied().collect::<Vec<_>>());
        assert_eq!(texts(&e.get(id(3, 0)).expect("3-0")), ["other", "3"]);
        assert_eq!(texts(&e.get(id(4, 4)).expect("4-4")), ["a", "4", "bb", "text-value"]);
        assert!(e.get(id(4, 0)).is_none());
        let mid: Vec<StreamId> = e.range(id(99, 0), id(101, 200), false).map(|x| x.id).collect();
        assert_eq!(mid, [id(99, 0), id(100, 100), id(101, 101)]);
        let mid: Vec<StreamId> = e.range(id(99, 0), id(101, 200), true).map(|x| x.id).collect();
        assert_eq!(mid, [id(101, 101), id(100, 100), id(99, 0)]);
    }

    #[test]
    fn append_refuses_small_ids_and_generates() {
        let mut e = Entries::default();
        let lim = NodeLimits::default();
        assert_eq!(e.append(&["f", "v"], NewId::Auto, 1000, lim), Ok(id(1000, 0)));
        assert_eq!(e.append(&["f", "v"], NewId::Auto, 999, lim), Ok(id(1000, 1)));
        assert_eq!(e.append(&["f", "v"], NewId::Ms(1000), 0, lim), Ok(id(1000, 2)));
        assert_eq!(e.append(&["f", "v"], NewId::Ms(999), 0, lim), Err(AddError::NotGreater));
        assert_eq!(e.append(&["f", "v"], NewId::Exact(id(1000, 2)), 0, lim), Err(AddError::NotGreater));
        assert_eq!(e.append(&["f", "v"], NewId::Exact(id(1000, u64::MAX)), 0, lim), Ok(id(1000, u64::MAX)));
        assert_eq!(e.append(&["f", "v"], NewId::Ms(1000), 0, lim), Err(AddError::NotGreater));
        assert_eq!(e.append(&["f", "v"], NewId::Exact(StreamId::MAX), 0, lim), Ok(StreamId::MAX));
        assert_eq!(e.append(&["f", "v"], NewId::Auto, 5000, lim), Err(AddError::NotGreater));
        assert_eq!(e.length, 5);
    }

    #[test]
    fn deletes_flag_entries_and_drop_empty_nodes() {
        let mut e = Entries::default();
        for i in 1..=150u64 {
            add(&mut e, id(i, 0), &["f", "v"]);
        }
        assert_eq!(e.delete(&[id(1, 0), id(1, 0), id(500, 0), id(2, 0)]), 2);
        assert_eq!((e.length, e.first_id, e.max_deleted_entry_id), (148, id(3, 0), id(2, 0)));
        let ids: Vec<StreamId> = (101..=150).map(|i| id(i, 0)).collect();
        assert_eq!(e.delete(&ids), 50);
        assert_eq!(e.node_count(), 1, "the emptied node is gone");
        assert_eq!(e.last_valid_id(), id(100, 0));
        assert_eq!(e.last_id, id(150, 0));
        assert_eq!(e.edge_id(true, false), id(1, 0), "tombstones stay in their node");
    }

    #[test]
    fn trims_as_redis() {
        let mut e = Entries::default();
        for i in 1..=350u64 {
            add(&mut e, id(i, 0), &["f", "v"]);
        }
        // Approximate: whole nodes only.
        assert_eq!(e.trim(Trim::MaxLen(260), true, 0), 0);
        assert_eq!(e.trim(Trim::MaxLen(250), true, 0), 100);
        assert_eq!(e.trim(Trim::MaxLen(100), true, 100), 100, "LIMIT stops after one node");
        assert_eq!(e.trim(Trim::MaxLen(120), false, 0), 30);
        assert_eq!((e.length, e.first_id), (120, id(231, 0)));
        assert_eq!(e.trim(Trim::MinId(id(300, 0)), false, 0), 69);
        assert_eq!(e.first_id, id(300, 0));
        assert_eq!(e.trim(Trim::MinId(id(400, 0)), true, 0), 51);
        assert_eq!((e.length, e.first_id, e.node_count()), (0, StreamId::MIN, 0));
    }

    #[test]
    fn radix_nodes_count_as_a_rax() {
        // radix-tree-nodes of Redis 7.0 for these node keys.
        assert_eq!(radix_nodes(std::iter::empty()), 1);
        assert_eq!(radix_nodes([id(1, 1).to_be_bytes()].into_iter()), 2);
        let two = [id(1, 0).to_be_bytes(), id(2, 0).to_be_bytes()];
        // Root compressed over 7 zero bytes, a branch on the 8th, then one
        // compressed node of the 8 seq bytes and a key node per key.
        assert_eq!(radix_nodes(two.into_iter()), 6);
    }

    #[test]
    fn groups_deliver_claim_and_ack() {
        let mut s = Stream::new();
        for i in 1..=5u64 {
            add(&mut s.entries, id(i, 0), &["f", "v"]);
        }
        assert!(s.create_group(b"g", StreamId::MIN, 0));
        assert!(!s.create_group(b"g", StreamId::MIN, 0));
        let Stream { entries, groups } = &mut s;
        let g = groups.get_mut(&b"g"[..]).expect("group");
        let (alice, created) = g.find_or_create(b"alice", 10);
        assert!(created);
        let mut seen = Vec::new();
        let n = g.deliver_new(entries, alice, id(0, 1), 3, false, 10, |e, nack, last| {
            seen.push((e.id, nack.map(|n| n.delivery_count), last));
        });
        assert_eq!(n, 3);
        assert_eq!(seen[2], (id(3, 0), Some(1), id(3, 0)));
        assert_eq!((g.last_id, g.entries_read, g.pel.len()), (id(3, 0), 3, 3));
        assert_eq!(entries.lag(g), Some(2));
        let bob = g.create_consumer(b"bob", 20).expect("bob");
        assert_eq!(
            g.claim(entries, id(1, 0), bob, 5, 20, 20, None, false, false),
            Claim::Claimed(Nack { delivery_time: 20, delivery_count: 2, consumer: bob })
        );
        assert_eq!(g.claim(entries, id(2, 0), bob, 50, 20, 20, None, false, false), Claim::Skipped);
        assert_eq!(g.consumer(alice).map(|c| c.pel.len()), Some(2));
        entries.delete(&[id(2, 0)]);
        let ac = g.autoclaim(entries, bob, StreamId::MIN, 10, 0, 30, true);
        let events: Vec<(StreamId, Claimed)> = ac.events.iter().map(|e| (e.0, e.2)).collect();
        assert_eq!(events, [(id(1, 0), Claimed::Claimed), (id(2, 0), Claimed::Deleted), (id(3, 0), Claimed::Claimed)]);
        assert_eq!(ac.next, StreamId::MIN);
        assert!(g.ack(id(3, 0)));
        assert!(!g.ack(id(3, 0)));
        assert_eq!(g.delete_consumer(b"bob"), Some(1));
        assert!(g.pel.is_empty());
        let carol = g.create_consumer(b"carol", 40).expect("slot reused");
        assert_eq!(g.name_of(carol), b"carol");
        assert_eq!(g.consumers().map(|c| &c.name[..]).collect::<Vec<_>>(), [&b"alice"[..], b"carol"]);
    }
}
