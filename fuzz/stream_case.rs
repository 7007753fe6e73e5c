//! What the stream_ids fuzz target checks, shared with tests/streams.rs,
//! which replays the committed seeds through the same code on the stable
//! toolchain.
//!
//! Stream IDs and the stream log on arbitrary input: ID arguments parsed in
//! every mode, and a script of appends (explicit, `<ms>-*` and `*` IDs),
//! deletes, trims (MAXLEN / MINID, exact or `~`, with LIMIT) and range reads
//! (any bounds, both directions, any COUNT) run on `types::stream::Entries`
//! with tiny node limits, checked against a plain ordered map after every
//! step. Nothing may panic; every node must stay a valid listpack.

use std::collections::BTreeMap;

use oxkey::types::listpack::Listpack;
use oxkey::types::stream::{parse_id, AddError, Entries, NewId, NodeLimits, StreamId, Trim, ID_TEXT_MAX};

/// Reads the input a few bytes at a time; zeros once it runs out.
struct Input<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Input<'a> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn coin(&mut self) -> bool {
        self.byte() & 1 == 0
    }

    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }

    fn bytes(&mut self, max: usize) -> &'a [u8] {
        let n = (self.byte() as usize % (max + 1)).min(self.data.len().saturating_sub(self.pos));
        let s = &self.data[self.pos.min(self.data.len())..][..n];
        self.pos += n;
        s
    }

    /// A number that is small most of the time and sometimes near u64::MAX.
    fn num(&mut self) -> u64 {
        match self.byte() % 8 {
            0 => u64::MAX - self.byte() as u64,
            1 => u64::from_le_bytes(std::array::from_fn(|_| self.byte())),
            _ => self.byte() as u64 % 16,
        }
    }

    fn id(&mut self, model: &Model) -> StreamId {
        if self.coin() && !model.is_empty() {
            let keys: Vec<&StreamId> = model.keys().collect();
            return *keys[self.byte() as usize % keys.len()];
        }
        StreamId::new(self.num(), self.num())
    }
}

type Model = BTreeMap<StreamId, Vec<(Vec<u8>, Vec<u8>)>>;

pub fn stream_ids_case(data: &[u8]) {
    let mut input = Input { data, pos: 0 };
    let mut log = Entries::default();
    let mut model = Model::new();
    let mut limits = NodeLimits { max_bytes: 0, max_entries: 3 };
    let mut steps = 0;
    while !input.done() && steps < 200 {
        steps += 1;
        match input.byte() % 6 {
            0 => check_parse(input.bytes(140)),
            1 => append(&mut input, &mut log, &mut model, limits),
            2 => {
                let ids: Vec<StreamId> = (0..1 + input.byte() % 4).map(|_| input.id(&model)).collect();
                let mut unique = ids.clone();
                unique.sort();
                unique.dedup();
                let removed: Vec<StreamId> = unique.into_iter().filter(|id| model.remove(id).is_some()).collect();
                assert_eq!(log.delete(&ids), removed.len() as u64);
                if let Some(&top) = removed.last() {
                    assert!(log.max_deleted_entry_id >= top);
                }
            }
            3 => trim(&mut input, &mut log, &mut model),
            4 => check_range(&mut input, &log, &model),
            _ => {
                limits = NodeLimits { max_bytes: input.byte() as u64 % 200, max_entries: input.byte() as u64 % 6 };
            }
        }
        check_log(&log, &model);
    }
}

/// Parsing never panics; what parses prints back to itself; `-` and `+`
/// only parse when not strict; an argument ends at its first NUL.
fn check_parse(arg: &[u8]) {
    for (missing_seq, strict, auto_seq) in [(0, true, false), (u64::MAX, false, false), (0, true, true)] {
        let Some(p) = parse_id(arg, missing_seq, strict, auto_seq) else { continue };
        if strict {
            assert!(arg != b"-" && arg != b"+");
        }
        if p.seq_given {
            let mut buf = [0; ID_TEXT_MAX];
            let text = p.id.format(&mut buf);
            assert_eq!(parse_id(text, 0, true, false).map(|q| q.id), Some(p.id), "{arg:?}");
        } else {
            assert!(auto_seq && p.id.seq == 0);
        }
        if let Some(nul) = arg.iter().position(|&b| b == 0) {
            assert_eq!(parse_id(&arg[..nul], missing_seq, strict, auto_seq), Some(p));
        }
    }
}

fn append(input: &mut Input, log: &mut Entries, model: &mut Model, limits: NodeLimits) {
    let last = log.last_id;
    let new_id = match input.byte() % 3 {
        0 => NewId::Auto,
        1 => NewId::Ms(input.num()),
        _ => NewId::Exact(StreamId::new(input.num(), input.num())),
    };
    let now = input.num();
    let pairs: Vec<Vec<u8>> = (0..2 * (1 + input.byte() as usize % 3)).map(|_| input.bytes(12).to_vec()).collect();
    match log.append(&pairs, new_id, now, limits) {
        Ok(id) => {
            assert!(id > last, "{id:?} after {last:?}");
            match new_id {
                NewId::Exact(want) => assert_eq!(id, want),
                NewId::Ms(ms) => assert_eq!(id.ms, ms),
                NewId::Auto => assert!(id.ms >= now.min(last.ms)),
            }
            let fields = pairs.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
            model.insert(id, fields);
        }
        Err(AddError::NotGreater) => assert_eq!(log.last_id, last),
        Err(AddError::TooLarge) => panic!("small entries are never too large"),
    }
}

fn trim(input: &mut Input, log: &mut Entries, model: &mut Model) {
    let approx = input.coin();
    let limit = if approx { input.byte() as u64 % 8 } else { 0 };
    let strategy = if input.coin() { Trim::MaxLen(input.byte() as u64 % 12) } else { Trim::MinId(input.id(model)) };
    let before = model.len() as u64;
    let deleted = log.trim(strategy, approx, limit);
    assert!(deleted <= before);
    if limit > 0 {
        assert!(deleted <= limit, "LIMIT {limit}, {deleted} removed");
    }
    // The oldest entries go, and only as many as the goal asks.
    let gone: Vec<StreamId> = model.keys().take(deleted as usize).copied().collect();
    for id in &gone {
        model.remove(id);
    }
    match strategy {
        Trim::MaxLen(max) => {
            assert!(model.len() as u64 >= max.min(before));
            if !approx {
                assert_eq!(model.len() as u64, max.min(before));
            }
        }
        Trim::MinId(min) => {
            assert!(gone.iter().all(|id| *id < min));
            if !approx {
                assert!(model.keys().all(|id| *id >= min));
            }
        }
    }
}

fn check_range(input: &mut Input, log: &Entries, model: &Model) {
    let (a, b) = (input.id(model), input.id(model));
    let rev = input.coin();
    let count = match input.byte() % 3 {
        0 => usize::MAX,
        _ => input.byte() as usize % 5,
    };
    let got: Vec<StreamId> = log.range(a, b, rev).take(count).map(|e| e.id).collect();
    let want: Vec<StreamId> = if a > b {
        Vec::new()
    } else if rev {
        model.range(a..=b).rev().take(count).map(|(id, _)| *id).collect()
    } else {
        model.range(a..=b).take(count).map(|(id, _)| *id).collect()
    };
    assert_eq!(got, want, "range {a:?}..={b:?} rev {rev}");
}

/// The log holds exactly the model's entries, in order, with their fields,
/// in valid listpacks; the counters agree.
fn check_log(log: &Entries, model: &Model) {
    assert_eq!(log.length, model.len() as u64);
    let mut buf = [0u8; 20];
    let mut n = 0;
    for (e, (id, fields)) in log.range(StreamId::MIN, StreamId::MAX, false).zip(model) {
        assert_eq!(e.id, *id);
        let got: Vec<(Vec<u8>, Vec<u8>)> =
            e.fields().map(|(f, v)| (f.bytes(&mut buf).to_vec(), v.bytes(&mut buf).to_vec())).collect();
        assert_eq!(&got, fields, "{id:?}");
        n += 1;
    }
    assert_eq!(n, model.len());
    let first = model.keys().next().copied().unwrap_or(StreamId::MIN);
    assert_eq!(log.first_id, first);
    assert_eq!(log.last_valid_id(), model.keys().next_back().copied().unwrap_or(StreamId::MIN));
    assert!(log.radix_tree_nodes() > log.node_count() as u64, "the root and a node per key");
    for (_, blob) in log.node_blobs() {
        assert!(Listpack::from_bytes(blob.to_vec()).is_some(), "a node is not a valid listpack");
    }
}
