//! The command table: every command declared once, with its arity, flags,
//! key positions and handler. Dispatch, COMMAND INFO/DOCS/GETKEYS, MULTI
//! queueing, scripts and propagation all read it.
//!
//! Each family file exports `COMMANDS: &[CommandDef]`; this module joins
//! them into one lookup table.

pub mod bitmaps;
pub mod config;
pub mod connection;
pub mod docs;
pub mod functions;
pub mod geo;
pub mod hashes;
pub mod hyperloglog;
pub mod introspection;
pub mod keys;
pub mod latency;
pub mod lists;
pub mod memory;
pub mod persistence;
pub mod pubsub;
pub mod scan;
pub mod scripting;
pub mod server;
pub mod sets;
pub mod sort;
pub mod streams;
pub mod strings;
pub mod tx;
pub mod zsets;

use std::collections::HashMap;
use std::sync::OnceLock;

use bytes::Bytes;

pub use crate::executor::Ctx;

/// A command handler: parses `args` (args[0] is the command name), does the
/// work and writes the reply through `ctx`.
pub type Handler = fn(&mut Ctx, &[Bytes]);

pub mod flags {
    pub const WRITE: u64 = 1 << 0;
    pub const READONLY: u64 = 1 << 1;
    pub const DENYOOM: u64 = 1 << 2;
    pub const ADMIN: u64 = 1 << 3;
    pub const PUBSUB: u64 = 1 << 4;
    pub const NOSCRIPT: u64 = 1 << 5;
    pub const BLOCKING: u64 = 1 << 6;
    pub const LOADING: u64 = 1 << 7;
    pub const STALE: u64 = 1 << 8;
    pub const SKIP_MONITOR: u64 = 1 << 9;
    pub const SKIP_SLOWLOG: u64 = 1 << 10;
    pub const FAST: u64 = 1 << 11;
    pub const NO_AUTH: u64 = 1 << 12;
    pub const MAY_REPLICATE: u64 = 1 << 13;
    pub const NO_MULTI: u64 = 1 << 14;
    pub const MOVABLEKEYS: u64 = 1 << 15;
    pub const ALLOW_BUSY: u64 = 1 << 16;
    pub const NO_MANDATORY_KEYS: u64 = 1 << 17;
    pub const NO_ASYNC_LOADING: u64 = 1 << 18;
    pub const PROTECTED: u64 = 1 << 19;
    /// Runs at once inside MULTI instead of being queued (EXEC, DISCARD,
    /// MULTI, WATCH, QUIT, RESET). Internal: COMMAND INFO does not show it.
    pub const NOT_QUEUED: u64 = 1 << 20;
    /// Allowed to a RESP2 client while it is subscribed ((P|S)SUBSCRIBE,
    /// (P|S)UNSUBSCRIBE, PING, QUIT, RESET). Internal.
    pub const ALLOWED_SUBSCRIBED: u64 = 1 << 21;

    /// Names as COMMAND INFO prints them, in Redis's order.
    pub const NAMES: &[(u64, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (PROTECTED, "protected"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (MOVABLEKEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// ACL categories beyond those implied by flags (Redis's `acl_categories`).
pub mod acl {
    pub const KEYSPACE: u64 = 1 << 0;
    pub const READ: u64 = 1 << 1;
    pub const WRITE: u64 = 1 << 2;
    pub const SET: u64 = 1 << 3;
    pub const SORTEDSET: u64 = 1 << 4;
    pub const LIST: u64 = 1 << 5;
    pub const HASH: u64 = 1 << 6;
    pub const STRING: u64 = 1 << 7;
    pub const BITMAP: u64 = 1 << 8;
    pub const HYPERLOGLOG: u64 = 1 << 9;
    pub const GEO: u64 = 1 << 10;
    pub const STREAM: u64 = 1 << 11;
    pub const PUBSUB: u64 = 1 << 12;
    pub const ADMIN: u64 = 1 << 13;
    pub const FAST: u64 = 1 << 14;
    pub const SLOW: u64 = 1 << 15;
    pub const BLOCKING: u64 = 1 << 16;
    pub const DANGEROUS: u64 = 1 << 17;
    pub const CONNECTION: u64 = 1 << 18;
    pub const TRANSACTION: u64 = 1 << 19;
    pub const SCRIPTING: u64 = 1 << 20;

    pub const NAMES: &[(u64, &str)] = &[
        (KEYSPACE, "keyspace"),
        (READ, "read"),
        (WRITE, "write"),
        (SET, "set"),
        (SORTEDSET, "sortedset"),
        (LIST, "list"),
        (HASH, "hash"),
        (STRING, "string"),
        (BITMAP, "bitmap"),
        (HYPERLOGLOG, "hyperloglog"),
        (GEO, "geo"),
        (STREAM, "stream"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (SLOW, "slow"),
        (BLOCKING, "blocking"),
        (DANGEROUS, "dangerous"),
        (CONNECTION, "connection"),
        (TRANSACTION, "transaction"),
        (SCRIPTING, "scripting"),
    ];
}

/// How to find the keys in an argument vector: `first..=last` stepping by
/// `step` (negative `last` counts from the end), as Redis's legacy triple,
/// plus — for commands like LMPOP, ZUNIONSTORE, EVAL — a count of keys at
/// argument `numkeys_at` followed by that many keys.
#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
    /// Index of a numkeys argument (0 = none); the keys follow it.
    pub numkeys_at: i32,
}

pub const NO_KEYS: KeySpec = KeySpec { first: 0, last: 0, step: 0, numkeys_at: 0 };

pub const fn keys(first: i32, last: i32, step: i32) -> KeySpec {
    KeySpec { first, last, step, numkeys_at: 0 }
}

/// Keys counted by the argument at `numkeys_at` (plus an optional fixed
/// triple, e.g. the destination of ZUNIONSTORE at 1).
pub const fn numkeys(first: i32, last: i32, numkeys_at: i32) -> KeySpec {
    KeySpec { first, last, step: 1, numkeys_at }
}

/// One of Redis's key specs, as COMMAND INFO shows it and as
/// GETKEYSANDFLAGS finds keys with it. Declared for the commands whose
/// specs are not what `key_specs` derives from their key positions (keys
/// found after a keyword, several keys flagged apart, flags other than
/// RO/RW access/update).
#[derive(Clone)]
pub struct KeySpecDef {
    pub notes: &'static str,
    /// Redis's names: RO/RW/OW/RM, access/update/insert/delete, ...
    pub flags: &'static [&'static str],
    pub begin: BeginSearch,
    pub find: FindKeys,
}

/// Where the search for a spec's keys starts.
#[derive(Clone, Copy)]
pub enum BeginSearch {
    /// At this argument.
    Index(i32),
    /// After this keyword, searched from `startfrom` (from the end when
    /// negative).
    Keyword { keyword: &'static str, startfrom: i32 },
    /// Nowhere a table can tell (SORT's BY/GET patterns).
    Unknown,
}

/// Which arguments from the start of the search are keys.
#[derive(Clone, Copy)]
pub enum FindKeys {
    /// Up to `lastkey` after the start (negative: from the end; with a
    /// `limit`, a 1/limit share of the remaining arguments), every `step`.
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    /// A count of keys at `keynumidx` after the start, the first at
    /// `firstkey` after it.
    KeyNum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    Unknown,
}

pub const fn key_spec(flags: &'static [&'static str], begin: BeginSearch, find: FindKeys) -> KeySpecDef {
    KeySpecDef { notes: "", flags, begin, find }
}

/// The spec of one key at argument `index`.
pub const fn key_at(index: i32, flags: &'static [&'static str]) -> KeySpecDef {
    key_spec(flags, BeginSearch::Index(index), FindKeys::Range { lastkey: 0, step: 1, limit: 0 })
}

impl KeySpecDef {
    pub const fn noted(mut self, notes: &'static str) -> Self {
        self.notes = notes;
        self
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }
}

/// A key's position in an argument vector and its key-spec flags.
pub type FoundKey = (usize, &'static [&'static str]);

/// A command's own rule for finding its keys and their flags, as Redis's
/// getkeys procs: used where the key specs cannot be searched (SORT's) or
/// their flags depend on the arguments (SET's GET).
pub type KeyFinder = fn(&[Bytes]) -> Vec<FoundKey>;

pub struct CommandDef {
    /// Lower-case name (for subcommands: just the subcommand's name).
    pub name: &'static str,
    /// Redis arity: positive = exact argument count, negative = at least.
    pub arity: i32,
    pub flags: u64,
    /// Categories not implied by `flags` (the type's category, @keyspace...).
    pub acl: u64,
    pub keys: KeySpec,
    /// Redis's key specs when they are not those derived from `keys`.
    pub key_specs: &'static [KeySpecDef],
    pub key_finder: Option<KeyFinder>,
    /// Where the collection elements it looks up are (prefetched with
    /// the key in a pipeline).
    pub elements: ElemSpec,
    /// None for container commands whose subcommands carry handlers.
    pub handler: Option<Handler>,
    pub subcommands: &'static [CommandDef],
    /// COMMAND DOCS fields.
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
    pub docs: docs::Docs,
    /// Redis's command tips (request/response policies for cluster
    /// clients, nondeterministic output), shown by COMMAND INFO.
    pub tips: &'static [&'static str],
}

/// The arguments naming members or fields of the collection at the first
/// key: from `first` towards `last` by `step` (negative positions count
/// from the end, a negative step walks backwards). A command that looks
/// none up has `step` 0.
#[derive(Clone, Copy, Debug)]
pub struct ElemSpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
}

pub const NO_ELEMENTS: ElemSpec = ElemSpec { first: 0, last: 0, step: 0 };

pub const fn elements(first: i32, last: i32, step: i32) -> ElemSpec {
    ElemSpec { first, last, step }
}

impl ElemSpec {
    /// The element arguments of `args`, at most `max`.
    pub fn of<'a>(&self, args: &'a [Bytes], max: usize) -> impl Iterator<Item = &'a [u8]> + 'a {
        let argc = args.len() as i32;
        let at = |i: i32| if i < 0 { argc + i } else { i };
        let (first, last, step) = (at(self.first), at(self.last).min(argc - 1), self.step);
        let inside = |i: i32| (2..argc).contains(&i);
        let count = if step != 0 && inside(first) && inside(last) && (last - first) * step.signum() >= 0 {
            ((last - first) / step + 1) as usize
        } else {
            0
        };
        (0..count.min(max)).map(move |k| &args[(first + k as i32 * step) as usize][..])
    }
}

impl CommandDef {
    /// The definition with its element arguments declared.
    pub const fn with_elements(mut self, spec: ElemSpec) -> Self {
        self.elements = spec;
        self
    }

    /// The definition with Redis's key specs declared.
    pub const fn with_key_specs(mut self, specs: &'static [KeySpecDef]) -> Self {
        self.key_specs = specs;
        self
    }

    /// The definition with its own rule for finding keys.
    pub const fn with_key_finder(mut self, finder: KeyFinder) -> Self {
        self.key_finder = Some(finder);
        self
    }

    /// The definition with its COMMAND DOCS argument tree.
    pub const fn with_args(mut self, args: &'static [docs::Arg]) -> Self {
        self.docs.args = args;
        self
    }

    /// The definition with its COMMAND DOCS history: (version, change).
    pub const fn with_history(mut self, history: &'static [(&'static str, &'static str)]) -> Self {
        self.docs.history = history;
        self
    }

    /// The definition marked deprecated since `version`, in favour of
    /// `replaced_by`.
    pub const fn deprecated(mut self, version: &'static str, replaced_by: &'static str) -> Self {
        self.docs.deprecated_since = version;
        self.docs.replaced_by = replaced_by;
        self
    }

    /// The definition with Redis's command tips.
    pub const fn with_tips(mut self, tips: &'static [&'static str]) -> Self {
        self.tips = tips;
        self
    }

    /// The definition marked as an internal command in COMMAND DOCS.
    pub const fn syscmd(mut self) -> Self {
        self.docs.syscmd = true;
        self
    }

    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }

    /// All ACL categories: the explicit ones plus those Redis derives from
    /// the flags.
    pub fn acl_categories(&self) -> u64 {
        let mut c = self.acl;
        if self.has(flags::WRITE) {
            c |= acl::WRITE;
        }
        if self.has(flags::READONLY) && c & acl::SCRIPTING == 0 {
            c |= acl::READ;
        }
        if self.has(flags::ADMIN) {
            c |= acl::ADMIN | acl::DANGEROUS;
        }
        if self.has(flags::PUBSUB) {
            c |= acl::PUBSUB;
        }
        if self.has(flags::FAST) {
            c |= acl::FAST;
        }
        if self.has(flags::BLOCKING) {
            c |= acl::BLOCKING;
        }
        if c & acl::FAST == 0 {
            c |= acl::SLOW;
        }
        c
    }

    pub fn subcommand(&self, name: &[u8]) -> Option<&'static CommandDef> {
        self.subcommands.iter().find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
    }

    /// Positions of the keys in `args` according to the key spec. A
    /// malformed numkeys yields only the fixed keys.
    pub fn key_positions(&self, args: &[Bytes]) -> Vec<usize> {
        let argc = args.len();
        let KeySpec { first, last, step, numkeys_at } = self.keys;
        let mut out = Vec::new();
        if first > 0 && step > 0 {
            let last = if last < 0 { argc as i32 + last } else { last };
            let last = last.min(argc as i32 - 1);
            out.extend((first..=last).step_by(step as usize).map(|i| i as usize));
        }
        if numkeys_at > 0 {
            let at = numkeys_at as usize;
            if let Some(n) = args.get(at).and_then(|a| crate::util::parse_i64(a)) {
                if n > 0 && (n as usize) < argc - at {
                    out.extend(at + 1..=at + n as usize);
                }
            }
        }
        out
    }
}

/// Shorthand for a table row. Containers pass `None` and their subcommands.
#[macro_export]
macro_rules! cmd {
    ($name:literal, $arity:expr, $flags:expr, $acl:expr, $keys:expr, $handler:expr,
     $group:literal, $since:literal, $complexity:literal, $summary:literal) => {
        $crate::commands::CommandDef {
            name: $name,
            arity: $arity,
            flags: $flags,
            acl: $acl,
            keys: $keys,
            key_specs: &[],
            key_finder: None,
            elements: $crate::commands::NO_ELEMENTS,
            handler: Some($handler),
            subcommands: &[],
            group: $group,
            summary: $summary,
            since: $since,
            complexity: $complexity,
            docs: $crate::commands::docs::NO_DOCS,
            tips: &[],
        }
    };
}

pub struct Table {
    pub by_name: HashMap<&'static [u8], &'static CommandDef, crate::util::WordBuildHasher>,
    pub all: Vec<&'static CommandDef>,
}

impl Table {
    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandDef> {
        if name.len() > 32 {
            return None;
        }
        let mut lower = [0u8; 32];
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        self.by_name.get(&lower[..name.len()]).copied()
    }
}

/// A key looked up as one type.
pub(crate) enum Found<T> {
    Missing,
    WrongType,
    Is(T),
}

/// Looks `key` up for a read command, counting the keyspace hit or miss
/// as Redis's `lookupKeyRead` does; `pick` takes the value if it has the
/// wanted type.
pub(crate) fn read_as<'a, T>(
    db: &'a mut crate::db::Db,
    stats: &mut crate::executor::Stats,
    key: &[u8],
    pick: impl FnOnce(&'a crate::db::value::Value) -> Option<T>,
) -> Found<T> {
    match db.get(key) {
        None => {
            stats.keyspace_misses += 1;
            Found::Missing
        }
        Some(o) => {
            stats.keyspace_hits += 1;
            pick(&o.val).map_or(Found::WrongType, Found::Is)
        }
    }
}

/// The db, the stats and the reply buffer of a command, borrowed apart.
pub(crate) fn parts<'a>(
    ctx: &'a mut crate::executor::Ctx,
) -> (&'a mut crate::db::Db, &'a mut crate::executor::Stats, &'a mut crate::protocol::Out) {
    let srv = &mut *ctx.srv;
    (&mut srv.dbs[ctx.client.db], &mut srv.stats, &mut ctx.client.out)
}

static FAMILIES: &[&[CommandDef]] = &[
    bitmaps::COMMANDS,
    config::COMMANDS,
    connection::COMMANDS,
    functions::COMMANDS,
    geo::COMMANDS,
    hashes::COMMANDS,
    hyperloglog::COMMANDS,
    introspection::COMMANDS,
    keys::COMMANDS,
    latency::COMMANDS,
    lists::COMMANDS,
    memory::COMMANDS,
    persistence::COMMANDS,
    pubsub::COMMANDS,
    scripting::COMMANDS,
    server::COMMANDS,
    sets::COMMANDS,
    sort::COMMANDS,
    streams::COMMANDS,
    strings::COMMANDS,
    zsets::COMMANDS,
    tx::COMMANDS,
];

pub fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut by_name = HashMap::default();
        let mut all = Vec::new();
        for family in FAMILIES {
            for def in family.iter() {
                by_name.insert(def.name.as_bytes(), def);
                all.push(def);
            }
        }
        all.sort_by_key(|d| d.name);
        Table { by_name, all }
    })
}

/// Redis's arity check.
pub fn arity_ok(def: &CommandDef, argc: usize) -> bool {
    let a = def.arity;
    (a > 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_specs_name_the_member_arguments() {
        let args = |line: &str| line.split(' ').map(|w| Bytes::from(w.to_owned())).collect::<Vec<_>>();
        let of = |name: &str, line: &str| {
            let a = args(line);
            table().lookup(name.as_bytes()).unwrap().elements.of(&a, 16).map(|m| m.to_vec()).collect::<Vec<_>>()
        };
        let words = |w: &[&str]| w.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
        // Walked from the end, options are reached only past the members
        // (a wasted prefetch, never a missed one).
        assert_eq!(of("zadd", "zadd z NX CH 1 a 2 b"), words(&["b", "a", "CH"]));
        assert_eq!(of("zadd", "zadd z 1 a"), words(&["a"]));
        assert_eq!(of("hset", "hset h f1 v1 f2 v2"), words(&["f1", "f2"]));
        assert_eq!(of("sadd", "sadd s a b c"), words(&["a", "b", "c"]));
        assert_eq!(of("zincrby", "zincrby z 1 m"), words(&["m"]));
        assert_eq!(of("hget", "hget h"), words(&[]));
        assert_eq!(of("get", "get k"), words(&[]));
        let a = args("sadd s a b c");
        assert_eq!(table().lookup(b"sadd").unwrap().elements.of(&a, 2).count(), 2);
    }

    #[test]
    fn table_is_consistent() {
        let t = table();
        for def in &t.all {
            assert_eq!(def.name, def.name.to_ascii_lowercase());
            assert!(def.handler.is_some() || !def.subcommands.is_empty(), "{}", def.name);
            for sub in def.subcommands {
                assert!(sub.handler.is_some(), "{} {}", def.name, sub.name);
            }
        }
        assert_eq!(t.by_name.len(), t.all.len(), "duplicate command names");
    }
}
