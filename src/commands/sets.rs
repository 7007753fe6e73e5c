//! Set commands (Redis's t_set.c) over the intset / listpack / hash-table
//! `Set` of `types/set.rs`, following Redis 7.2's encoding choices for
//! stored results (SINTERSTORE, SUNIONSTORE, SDIFFSTORE, SPOP).
//!
//! Also here, shared with hashes.rs and zsets.rs: the parsing and size
//! guard of the random-count commands, and the member removal of SREM,
//! HDEL and ZREM.

use crate::executor::notify::class;
use bytes::Bytes;
use rand::Rng;

use super::docs::*;
use super::scan::{self, Target};
use super::{acl, elements, flags::*, keys, numkeys, parts, CommandDef, Ctx, Found};
use super::{key_at, key_spec, BeginSearch, FindKeys};
use crate::cmd;
use crate::config::Config;
use crate::db::{Db, Obj, Value};
use crate::executor::Stats;
use crate::protocol::Out;
use crate::types::hash::{entry_len, PackLimits};
use crate::types::listpack::Entry;
use crate::types::set::{Set, SetLimits};
use crate::util::{eq_ic, parse_i64};

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "sadd",
        -3,
        WRITE | DENYOOM | FAST,
        acl::SET,
        keys(1, 1, 1),
        sadd,
        "set",
        "1.0.0",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.",
        "Adds one or more members to a set. Creates the key if it doesn't exist."
    )
    .with_args(&[key("key", 0), string("member").multiple()])
    .with_history(&[("2.4.0", "Accepts multiple `member` arguments.")])
    .with_key_specs(&[key_at(1, &["RW", "insert"])])
    .with_elements(elements(2, -1, 1)),
    cmd!(
        "srem",
        -3,
        WRITE | FAST,
        acl::SET,
        keys(1, 1, 1),
        srem,
        "set",
        "1.0.0",
        "O(N) where N is the number of members to be removed.",
        "Removes one or more members from a set. Deletes the set if the last member was removed."
    )
    .with_args(&[key("key", 0), string("member").multiple()])
    .with_history(&[("2.4.0", "Accepts multiple `member` arguments.")])
    .with_key_specs(&[key_at(1, &["RW", "delete"])])
    .with_elements(elements(2, -1, 1)),
    cmd!(
        "sismember",
        3,
        READONLY | FAST,
        acl::SET,
        keys(1, 1, 1),
        sismember,
        "set",
        "1.0.0",
        "O(1)",
        "Determines whether a member belongs to a set."
    )
    .with_args(&[key("key", 0), string("member")])
    .with_key_specs(&[key_at(1, &["RO"])])
    .with_elements(elements(2, 2, 1)),
    cmd!(
        "smismember",
        -3,
        READONLY | FAST,
        acl::SET,
        keys(1, 1, 1),
        smismember,
        "set",
        "6.2.0",
        "O(N) where N is the number of elements being checked for membership",
        "Determines whether multiple members belong to a set."
    )
    .with_args(&[key("key", 0), string("member").multiple()])
    .with_elements(elements(2, -1, 1)),
    cmd!(
        "scard",
        2,
        READONLY | FAST,
        acl::SET,
        keys(1, 1, 1),
        scard,
        "set",
        "1.0.0",
        "O(1)",
        "Returns the number of members in a set."
    )
    .with_args(&[key("key", 0)])
    .with_key_specs(&[key_at(1, &["RO"])]),
    cmd!(
        "smembers",
        2,
        READONLY,
        acl::SET,
        keys(1, 1, 1),
        smembers,
        "set",
        "1.0.0",
        "O(N) where N is the set cardinality.",
        "Returns all members of a set."
    )
    .with_args(&[key("key", 0)])
    .with_tips(&["nondeterministic_output_order"]),
    cmd!(
        "srandmember",
        -2,
        READONLY,
        acl::SET,
        keys(1, 1, 1),
        srandmember,
        "set",
        "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.",
        "Gets one or multiple random members from a set."
    )
    .with_args(&[key("key", 0), integer("count").since("2.6.0").optional()])
    .with_history(&[("2.6.0", "Added the optional `count` argument.")])
    .with_tips(&["nondeterministic_output"]),
    cmd!(
        "spop",
        -2,
        WRITE | FAST,
        acl::SET,
        keys(1, 1, 1),
        spop,
        "set",
        "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
        "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped."
    )
    .with_args(&[key("key", 0), integer("count").since("3.2.0").optional()])
    .with_history(&[("3.2.0", "Added the `count` argument.")])
    .with_tips(&["nondeterministic_output"])
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"])]),
    cmd!(
        "smove",
        4,
        WRITE | FAST,
        acl::SET,
        keys(1, 2, 1),
        smove,
        "set",
        "1.0.0",
        "O(1)",
        "Moves a member from one set to another."
    )
    .with_args(&[key("source", 0), key("destination", 1), string("member")])
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"]), key_at(2, &["RW", "insert"])]),
    cmd!(
        "sinter",
        -2,
        READONLY,
        acl::SET,
        keys(1, -1, 1),
        sinter,
        "set",
        "1.0.0",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        "Returns the intersect of multiple sets."
    )
    .with_args(&[key("key", 0).multiple()])
    .with_tips(&["nondeterministic_output_order"]),
    cmd!(
        "sintercard",
        -3,
        READONLY | MOVABLEKEYS,
        acl::SET,
        numkeys(0, 0, 1),
        sintercard,
        "set",
        "7.0.0",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        "Returns the number of members of the intersect of multiple sets."
    )
    .with_args(&[integer("numkeys"), key("key", 0).multiple(), integer("limit").token("LIMIT").optional()]),
    cmd!(
        "sinterstore",
        -3,
        WRITE | DENYOOM,
        acl::SET,
        keys(1, -1, 1),
        sinterstore,
        "set",
        "1.0.0",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.",
        "Stores the intersect of multiple sets in a key."
    )
    .with_args(&[key("destination", 0), key("key", 1).multiple()])
    .with_key_specs(&[key_at(1, &["RW", "update"]), key_spec(&["RO", "access"], BeginSearch::Index(2), FindKeys::Range { lastkey: -1, step: 1, limit: 0 })]),
    cmd!(
        "sunion",
        -2,
        READONLY,
        acl::SET,
        keys(1, -1, 1),
        sunion,
        "set",
        "1.0.0",
        "O(N) where N is the total number of elements in all given sets.",
        "Returns the union of multiple sets."
    )
    .with_args(&[key("key", 0).multiple()])
    .with_tips(&["nondeterministic_output_order"]),
    cmd!(
        "sunionstore",
        -3,
        WRITE | DENYOOM,
        acl::SET,
        keys(1, -1, 1),
        sunionstore,
        "set",
        "1.0.0",
        "O(N) where N is the total number of elements in all given sets.",
        "Stores the union of multiple sets in a key."
    )
    .with_args(&[key("destination", 0), key("key", 1).multiple()])
    .with_key_specs(&[key_at(1, &["OW", "update"]), key_spec(&["RO", "access"], BeginSearch::Index(2), FindKeys::Range { lastkey: -1, step: 1, limit: 0 })]),
    cmd!(
        "sdiff",
        -2,
        READONLY,
        acl::SET,
        keys(1, -1, 1),
        sdiff,
        "set",
        "1.0.0",
        "O(N) where N is the total number of elements in all given sets.",
        "Returns the difference of multiple sets."
    )
    .with_args(&[key("key", 0).multiple()])
    .with_tips(&["nondeterministic_output_order"]),
    cmd!(
        "sdiffstore",
        -3,
        WRITE | DENYOOM,
        acl::SET,
        keys(1, -1, 1),
        sdiffstore,
        "set",
        "1.0.0",
        "O(N) where N is the total number of elements in all given sets.",
        "Stores the difference of multiple sets in a key."
    )
    .with_args(&[key("destination", 0), key("key", 1).multiple()])
    .with_key_specs(&[key_at(1, &["OW", "update"]), key_spec(&["RO", "access"], BeginSearch::Index(2), FindKeys::Range { lastkey: -1, step: 1, limit: 0 })]),
    cmd!(
        "sscan",
        -3,
        READONLY,
        acl::SET,
        keys(1, 1, 1),
        sscan,
        "set",
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        "Iterates over members of a set."
    )
    .with_args(&[
        key("key", 0),
        integer("cursor"),
        pattern("pattern").token("MATCH").optional(),
        integer("count").token("COUNT").optional(),
    ])
    .with_tips(&["nondeterministic_output"]),
];

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// The limits that matter for writing to `s`: the configured ones while it
/// is compact, none once it is a hash table (which never converts back) —
/// so writes to big sets skip the configuration lookups.
fn limits_for(config: &Config, s: &Set) -> SetLimits {
    match s {
        Set::Table(_) => {
            SetLimits { intset_entries: usize::MAX, pack: PackLimits { entries: usize::MAX, value: usize::MAX } }
        }
        _ => config.encoding.set,
    }
}

// ---- Random-count commands (SRANDMEMBER, HRANDFIELD, ZRANDMEMBER) ----

/// Most bytes a reply with repeated random elements may take. Redis has
/// no bound (CVE-2023-22458 and CVE-2023-25155 fixed overflows only): a
/// count of -LONG_MAX makes it build a reply until memory runs out. Here
/// such a count is refused before any work.
pub const RAND_REPLY_MAX: usize = 512 << 20;

/// Parses the count of a random-count command: an integer in
/// -LONG_MAX..=LONG_MAX, so that its absolute value cannot overflow.
pub fn parse_rand_count(out: &mut Out, arg: &[u8]) -> Option<i64> {
    match parse_i64(arg) {
        None => {
            out.error("ERR value is not an integer or out of range");
            None
        }
        Some(i64::MIN) => {
            out.error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            None
        }
        Some(v) => Some(v),
    }
}

/// Bytes of the bulk-string reply of an element.
pub fn resp_bulk_len(e: &Entry<'_>) -> usize {
    let n = entry_len(e);
    n + entry_len(&Entry::Int(n as i64)) + 5
}

fn rand_reply_too_large(out: &mut Out) {
    out.error(&format!("ERR count is too large, the reply would exceed {RAND_REPLY_MAX} bytes"));
}

/// Whether `count` elements of about `avg` reply bytes each (a sample's
/// mean) fit within RAND_REPLY_MAX; replies the error when they do not.
pub fn rand_reply_fits(out: &mut Out, count: u64, avg: usize) -> bool {
    // Six bytes is the smallest bulk string ("$0\r\n\r\n").
    let estimate = count as u128 * avg.max(6) as u128;
    if estimate > RAND_REPLY_MAX as u128 {
        rand_reply_too_large(out);
        return false;
    }
    true
}

/// The exact bound, checked while a reply begun at `start` is written
/// (the estimate can be wrong when element sizes vary): past it, the
/// partial reply is replaced by the error. False when that happened.
pub fn guard_rand_reply(out: &mut Out, start: usize) -> bool {
    if out.buf.len() - start > RAND_REPLY_MAX {
        out.buf.truncate(start);
        rand_reply_too_large(out);
        return false;
    }
    true
}

// ---- Lookups ----

/// Looks `key` up as a set for a read command.
fn read<'a>(db: &'a mut Db, stats: &mut Stats, key: &[u8]) -> Found<&'a Set> {
    super::read_as(db, stats, key, |v| match v {
        Value::Set(s) => Some(&**s),
        _ => None,
    })
}

/// Reads every key of a multi-key command as a set: None for a missing
/// key, Err(()) after replying WRONGTYPE. The first pass expires keys and
/// counts hits; the references come from the dict itself, which then only
/// holds live keys (every `Db` lookup takes it mutably).
fn read_all<'a>(db: &'a mut Db, stats: &mut Stats, out: &mut Out, keys: &[Bytes]) -> Result<Vec<Option<&'a Set>>, ()> {
    for k in keys {
        if let Found::WrongType = read(db, stats, k) {
            out.error(WRONGTYPE);
            return Err(());
        }
    }
    let dict = &db.dict;
    Ok(keys
        .iter()
        .map(|k| match dict.get(&k[..]) {
            Some(Obj { val: Value::Set(s), .. }) => Some(&**s),
            _ => None,
        })
        .collect())
}

fn write_entry(out: &mut Out, e: Entry<'_>) {
    match e {
        Entry::Str(s) => out.bulk(s),
        Entry::Int(i) => out.bulk_i64(i),
    }
}

/// Stores a computed set at `dst` (replacing any value and expire), or
/// deletes `dst` when the result is empty; replies its size.
fn store(ctx: &mut Ctx, dst: &[u8], result: Set) {
    let len = result.len();
    let db = ctx.db();
    if len > 0 {
        db.set(dst, Obj::new(Value::Set(Box::new(result))));
        ctx.dirty(1);
        // The event is the command's name: sinterstore, sunionstore...
        let event = ctx.cmd.name;
        ctx.notify(class::SET, event, dst);
    } else if db.del(dst).is_some() {
        ctx.dirty(1);
        ctx.notify(class::GENERIC, "del", dst);
    }
    ctx.out().int(len as i64);
}

// ---- Commands ----

fn sadd(ctx: &mut Ctx, args: &[Bytes]) {
    let srv = &mut *ctx.srv;
    let (config, db, out) = (&srv.config, &mut srv.dbs[ctx.client.db], &mut ctx.client.out);
    let members = &args[2..];
    let add_all = |s: &mut Set, limits| members.iter().filter(|m| s.insert(m, limits)).count();
    let added = match db.get_mut(&args[1]) {
        Some(o) => match &mut o.val {
            Value::Set(s) => {
                let limits = limits_for(config, s);
                s.reserve(members.len(), limits);
                add_all(s, limits)
            }
            _ => return out.error(WRONGTYPE),
        },
        None => {
            let limits = config.encoding.set;
            let mut s = Set::for_member(&members[0], members.len(), limits);
            let n = add_all(&mut s, limits);
            db.set(&args[1], Obj::new(Value::Set(Box::new(s))));
            n
        }
    };
    out.int(added as i64);
    ctx.dirty(added as u64);
    if added > 0 {
        ctx.notify(class::SET, "sadd", &args[1]);
    }
}

fn srem(ctx: &mut Ctx, args: &[Bytes]) {
    remove_members(ctx, args, (class::SET, "srem"), |v, m| match v {
        Value::Set(s) => Some((s.remove(m), s.is_empty())),
        _ => None,
    });
}

/// HDEL, SREM and ZREM: removes the members `args[2..]` from the
/// collection at `args[1]` with `remove` (whether the member was there and
/// whether the collection is now empty; None for a value of another type),
/// stopping once it is empty. Replies how many went, deletes an emptied
/// key and notifies `event` (and `del`).
pub fn remove_members(
    ctx: &mut Ctx,
    args: &[Bytes],
    (event_class, event): (u32, &str),
    mut remove: impl FnMut(&mut Value, &[u8]) -> Option<(bool, bool)>,
) {
    let key = &args[1];
    let (db, _, out) = parts(ctx);
    let Some(obj) = db.get_mut(key) else { return out.int(0) };
    let (mut removed, mut emptied) = (0u64, false);
    for m in &args[2..] {
        let Some((gone, empty)) = remove(&mut obj.val, m) else { return out.error(WRONGTYPE) };
        removed += gone as u64;
        if empty {
            emptied = true;
            break;
        }
    }
    if emptied {
        db.del(key);
    }
    out.int(removed as i64);
    ctx.dirty(removed);
    if removed > 0 {
        ctx.notify(event_class, event, key);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
}

fn sismember(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = parts(ctx);
    match read(db, stats, &args[1]) {
        Found::Missing => out.int(0),
        Found::WrongType => out.error(WRONGTYPE),
        Found::Is(s) => out.int(s.contains(&args[2]) as i64),
    }
}

fn smismember(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = parts(ctx);
    let s = match read(db, stats, &args[1]) {
        Found::WrongType => return out.error(WRONGTYPE),
        Found::Missing => None,
        Found::Is(s) => Some(s),
    };
    out.array(args.len() - 2);
    for m in &args[2..] {
        out.int(s.is_some_and(|s| s.contains(m)) as i64);
    }
}

fn scard(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = parts(ctx);
    match read(db, stats, &args[1]) {
        Found::Missing => out.int(0),
        Found::WrongType => out.error(WRONGTYPE),
        Found::Is(s) => out.int(s.len() as i64),
    }
}

fn smembers(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = parts(ctx);
    match read(db, stats, &args[1]) {
        Found::Missing => out.set(0),
        Found::WrongType => out.error(WRONGTYPE),
        Found::Is(s) => {
            out.set(s.len());
            for e in s.iter() {
                write_entry(out, e);
            }
        }
    }
}

/// SRANDMEMBER key [count]
fn srandmember(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        return ctx.syntax_error();
    }
    let count = match args.get(2) {
        None => None,
        Some(arg) => match parse_rand_count(&mut ctx.client.out, arg) {
            None => return,
            some => some,
        },
    };
    let srv = &mut *ctx.srv;
    let (db, stats, rng) = (&mut srv.dbs[ctx.client.db], &mut srv.stats, &mut srv.rng);
    let out = &mut ctx.client.out;
    let s = match read(db, stats, &args[1]) {
        Found::Missing if count.is_none() => return out.null(),
        Found::Missing => return out.array(0),
        Found::WrongType => return out.error(WRONGTYPE),
        Found::Is(s) => s,
    };
    let Some(count) = count else {
        return match s.random_entry(rng) {
            Some(e) => write_entry(out, e),
            None => out.null(),
        };
    };
    let n = count.unsigned_abs();
    if n == 0 {
        return out.array(0);
    }
    if count < 0 || n == 1 {
        // Repeats allowed: as many as asked, bounded by the reply guard.
        let sample: usize = (0..8).map(|_| s.random_entry(rng).map_or(0, |e| resp_bulk_len(&e))).sum();
        if !rand_reply_fits(out, n, sample / 8) {
            return;
        }
        // A listpack is walked once into a list of its members, so that
        // each draw is an index rather than a seek through it.
        let pool: Vec<Entry<'_>> = if matches!(s, Set::Pack(_)) { s.iter().collect() } else { Vec::new() };
        let start = out.buf.len();
        out.array(n as usize);
        for _ in 0..n {
            let e = match pool.len() {
                0 => s.random_entry(rng),
                len => Some(pool[rng.gen_range(0..len)]),
            };
            if let Some(e) = e {
                write_entry(out, e);
            }
            if !guard_rand_reply(out, start) {
                return;
            }
        }
        return;
    }
    let n = n as usize;
    if n >= s.len() {
        out.array(s.len());
        for e in s.iter() {
            write_entry(out, e);
        }
        return;
    }
    let picked = s.sample_distinct(n, rng);
    out.array(picked.len());
    for e in picked {
        write_entry(out, e);
    }
}

/// When popping leaves fewer than 1/5 of `count` members, Redis builds a
/// new set from the members that stay instead of popping one by one.
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// Members per SREM propagated for SPOP with a count, as Redis batches.
const SPOP_PROPAGATE_BATCH: usize = 1024;

/// SPOP key [count]
fn spop(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        return ctx.syntax_error();
    }
    if args.len() == 3 {
        return spop_count(ctx, args);
    }
    let srv = &mut *ctx.srv;
    let (db, rng) = (&mut srv.dbs[ctx.client.db], &mut srv.rng);
    let out = &mut ctx.client.out;
    let key = &args[1];
    let (popped, emptied) = match db.get_mut(key) {
        None => return out.null(),
        Some(o) => match &mut o.val {
            Value::Set(s) => (s.pop_random(rng), s.is_empty()),
            _ => return out.error(WRONGTYPE),
        },
    };
    if emptied {
        db.del(key);
    }
    let Some(m) = popped else { return out.null() };
    out.bulk(&m);
    ctx.dirty(1);
    ctx.notify(class::SET, "spop", key);
    if emptied {
        ctx.notify(class::GENERIC, "del", key);
    }
    ctx.propagate(vec![Bytes::from_static(b"SREM"), key.clone(), Bytes::from(m)]);
}

fn spop_count(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(count) = parse_i64(&args[2]).filter(|&c| c >= 0) else {
        return ctx.error("ERR value is out of range, must be positive");
    };
    let limits = ctx.srv.config.encoding.set;
    let key = &args[1];
    let srv = &mut *ctx.srv;
    let (db, rng) = (&mut srv.dbs[ctx.client.db], &mut srv.rng);
    let out = &mut ctx.client.out;
    let s = match db.get_mut(key) {
        None => return out.set(0),
        Some(o) => match &mut o.val {
            Value::Set(s) => s,
            _ => return out.error(WRONGTYPE),
        },
    };
    let size = s.len();
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count == 0 {
        return out.set(0);
    }
    if count >= size {
        // Everything goes: the reply is the whole set, the key is deleted
        // and replicas get a DEL (Redis sends UNLINK under
        // lazyfree-lazy-server-del, which oxkey does not offer).
        out.set(size);
        for e in s.iter() {
            write_entry(out, e);
        }
        db.del(key);
        ctx.dirty(size as u64);
        ctx.notify(class::SET, "spop", key);
        ctx.notify(class::GENERIC, "del", key);
        ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
        return;
    }
    let mut popped: Vec<Bytes> = Vec::with_capacity(count);
    let remaining = size - count;
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        for _ in 0..count {
            match s.pop_random(rng) {
                Some(m) => popped.push(Bytes::from(m)),
                None => break,
            }
        }
    } else {
        // Move the few members that stay to a new set (compact again if
        // they fit: a listpack, or an intset for integers), then pop what
        // is left in the old one.
        let mut kept = match &**s {
            Set::Ints(_) => Set::new_ints(),
            _ => Set::new_pack(),
        };
        for _ in 0..remaining {
            if let Some(m) = s.pop_random(rng) {
                kept.insert(&m, limits);
            }
        }
        popped.extend(s.iter().map(|e| Bytes::from(e.to_vec())));
        **s = kept;
    }
    out.set(popped.len());
    for m in &popped {
        out.bulk(m);
    }
    ctx.dirty(popped.len() as u64);
    ctx.notify(class::SET, "spop", key);
    for batch in popped.chunks(SPOP_PROPAGATE_BATCH) {
        let mut argv = Vec::with_capacity(2 + batch.len());
        argv.push(Bytes::from_static(b"SREM"));
        argv.push(key.clone());
        argv.extend_from_slice(batch);
        ctx.propagate(argv);
    }
}

/// SMOVE source destination member
fn smove(ctx: &mut Ctx, args: &[Bytes]) {
    let limits = ctx.srv.config.encoding.set;
    let (src, dst, member) = (&args[1], &args[2], &args[3]);
    let (db, _, out) = parts(ctx);
    // Type checks come first: nothing moves if either key is wrong.
    match db.get_mut(src) {
        None => return out.int(0),
        Some(Obj { val: Value::Set(_), .. }) => {}
        Some(_) => return out.error(WRONGTYPE),
    }
    let dst_exists = match db.get_mut(dst) {
        None => false,
        Some(Obj { val: Value::Set(_), .. }) => true,
        Some(_) => return out.error(WRONGTYPE),
    };
    let Some(Obj { val: Value::Set(s), .. }) = db.get_mut(src) else { return out.int(0) };
    if src == dst {
        return out.int(s.contains(member) as i64);
    }
    if !s.remove(member) {
        return out.int(0);
    }
    let src_emptied = s.is_empty();
    if src_emptied {
        db.del(src);
    }
    let added = match db.get_mut(dst) {
        Some(Obj { val: Value::Set(d), .. }) if dst_exists => d.insert(member, limits),
        _ => {
            let mut d = Set::for_member(member, 1, limits);
            d.insert(member, limits);
            db.set(dst, Obj::new(Value::Set(Box::new(d))));
            true
        }
    };
    out.int(1);
    ctx.dirty(1 + added as u64);
    ctx.notify(class::SET, "srem", src);
    if src_emptied {
        ctx.notify(class::GENERIC, "del", src);
    }
    if added {
        ctx.notify(class::SET, "sadd", dst);
    }
}

/// SINTER, SINTERSTORE and SINTERCARD: the members of the smallest set
/// found in all the others.
fn intersect(ctx: &mut Ctx, keys: &[Bytes], dst: Option<&Bytes>, card_limit: Option<usize>) {
    let limits = ctx.srv.config.encoding.set;
    let (db, stats, out) = parts(ctx);
    let Ok(mut sets) = read_all(db, stats, out, keys) else { return };
    if sets.iter().any(|s| s.is_none()) {
        // An empty set empties the intersection.
        return match (dst, card_limit) {
            (Some(d), _) => store(ctx, d, Set::new_ints()),
            (None, Some(_)) => out.int(0),
            (None, None) => out.set(0),
        };
    }
    let mut sets: Vec<&Set> = sets.drain(..).flatten().collect();
    sets.sort_by_key(|s| s.len());
    let (first, rest) = (sets[0], &sets[1..]);
    let in_all = |e: Entry<'_>| rest.iter().all(|s| std::ptr::eq(*s, first) || s.contains_entry(e));
    if let Some(limit) = card_limit {
        let mut n = 0;
        for e in first.iter() {
            if in_all(e) {
                n += 1;
                if limit != 0 && n >= limit {
                    break;
                }
            }
        }
        return out.int(n as i64);
    }
    let Some(dst) = dst else {
        let members: Vec<Entry<'_>> = first.iter().filter(|&e| in_all(e)).collect();
        out.set(members.len());
        for e in members {
            write_entry(out, e);
        }
        return;
    };
    // Redis 7.2 starts the result as an intset when the smallest set is
    // one, else as a listpack, and makes it an intset in the end when
    // every member turned out to be an integer.
    let mut result = match first {
        Set::Ints(_) => Set::new_ints(),
        _ => Set::new_pack(),
    };
    let mut only_ints = true;
    for e in first.iter().filter(|&e| in_all(e)) {
        only_ints &= match e {
            Entry::Int(_) => true,
            Entry::Str(s) => parse_i64(s).is_some(),
        };
        result.insert_entry(e, limits);
    }
    if only_ints {
        result.shrink_to_ints(limits);
    }
    store(ctx, dst, result);
}

fn sinter(ctx: &mut Ctx, args: &[Bytes]) {
    intersect(ctx, &args[1..], None, None);
}

fn sinterstore(ctx: &mut Ctx, args: &[Bytes]) {
    intersect(ctx, &args[2..], Some(&args[1]), None);
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
fn sintercard(ctx: &mut Ctx, args: &[Bytes]) {
    let numkeys = match parse_i64(&args[1]) {
        Some(n) if n > 0 => n as u64,
        _ => return ctx.error("ERR numkeys should be greater than 0"),
    };
    if numkeys > (args.len() - 2) as u64 {
        return ctx.error("ERR Number of keys can't be greater than number of args");
    }
    let keys_end = 2 + numkeys as usize;
    let mut limit = 0;
    let mut i = keys_end;
    while i < args.len() {
        if eq_ic(&args[i], "limit") && i + 1 < args.len() {
            match parse_i64(&args[i + 1]) {
                Some(l) if l >= 0 => limit = usize::try_from(l).unwrap_or(usize::MAX),
                _ => return ctx.error("ERR LIMIT can't be negative"),
            }
            i += 2;
        } else {
            return ctx.syntax_error();
        }
    }
    intersect(ctx, &args[2..keys_end], None, Some(limit));
}

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Diff,
}

/// SUNION, SDIFF and their STORE forms. The result is built as Redis
/// builds it — an intset that turns into a listpack or a hash table as
/// members arrive — so a stored result has Redis's encoding and a reply
/// Redis's order for the compact encodings.
fn union_diff(ctx: &mut Ctx, keys: &[Bytes], dst: Option<&Bytes>, op: SetOp) {
    let limits = ctx.srv.config.encoding.set;
    let (db, stats, out) = parts(ctx);
    let Ok(mut sets) = read_all(db, stats, out, keys) else { return };
    let mut result = Set::new_ints();
    match op {
        SetOp::Union => {
            for s in sets.iter().flatten() {
                for e in s.iter() {
                    result.insert_entry(e, limits);
                }
            }
        }
        SetOp::Diff => {
            // The same key twice (first and later) leaves nothing.
            let same = keys[1..].iter().any(|k| *k == keys[0]);
            if let (Some(first), false) = (sets[0], same) {
                let others = &mut sets[1..];
                // Redis's choice: test each member of the first set against
                // the others (work N·M, halved for its better constants), or
                // copy the first set and remove the others' members (the
                // sum of all sizes).
                let one = (others.iter().flatten().count() + 1).saturating_mul(first.len()) / 2;
                let two: usize = first.len() + others.iter().flatten().map(|s| s.len()).sum::<usize>();
                if one <= two {
                    // Biggest first: members are found (and skipped) sooner.
                    others.sort_by_key(|s| std::cmp::Reverse(s.map_or(0, |s| s.len())));
                    for e in first.iter() {
                        if !others.iter().flatten().any(|s| s.contains_entry(e)) {
                            result.insert_entry(e, limits);
                        }
                    }
                } else {
                    for e in first.iter() {
                        result.insert_entry(e, limits);
                    }
                    for s in others.iter().flatten() {
                        if result.is_empty() {
                            break;
                        }
                        for e in s.iter() {
                            result.remove_entry(e);
                        }
                    }
                }
            }
        }
    }
    match dst {
        Some(dst) => store(ctx, dst, result),
        None => {
            out.set(result.len());
            for e in result.iter() {
                write_entry(out, e);
            }
        }
    }
}

fn sunion(ctx: &mut Ctx, args: &[Bytes]) {
    union_diff(ctx, &args[1..], None, SetOp::Union);
}

fn sunionstore(ctx: &mut Ctx, args: &[Bytes]) {
    union_diff(ctx, &args[2..], Some(&args[1]), SetOp::Union);
}

fn sdiff(ctx: &mut Ctx, args: &[Bytes]) {
    union_diff(ctx, &args[1..], None, SetOp::Diff);
}

fn sdiffstore(ctx: &mut Ctx, args: &[Bytes]) {
    union_diff(ctx, &args[2..], Some(&args[1]), SetOp::Diff);
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
fn sscan(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = parts(ctx);
    let Some(cursor) = scan::parse_cursor(&args[2]) else { return scan::invalid_cursor(out) };
    let s = match read(db, stats, &args[1]) {
        Found::Missing => return scan::empty_reply(out),
        Found::WrongType => return out.error(WRONGTYPE),
        Found::Is(s) => s,
    };
    let Some(opts) = scan::parse_opts(out, args, 3, Target::Set) else { return };
    let mut items = scan::Items::new(out.resp);
    let next = match s.table() {
        // Compact encodings are returned whole, whatever the cursor.
        None => {
            for e in s.iter().filter(|e| opts.matches(e)) {
                items.push(&e);
            }
            0
        }
        Some(d) => scan::scan_dict(d, cursor, opts.count, |k, _| {
            let e = Entry::Str(k);
            if !opts.matches(&e) {
                return 0;
            }
            items.push(&e);
            1
        }),
    };
    items.reply(out, next);
}

#[cfg(test)]
mod tests {
    //! What set commands propagate to the AOF and replicas, read off the
    //! executor's write stream. Redis 7.2 batches the SREMs of SPOP with a
    //! count (7.0 wrote one SREM per member inside MULTI/EXEC).

    use bytes::Bytes;

    use crate::config::Config;
    use crate::executor::{execute, Server, Write};
    use crate::server::client::Client;

    /// Each command's propagated writes, each write as its words.
    fn propagated(srv: &mut Server, cmds: &[&[&str]]) -> Vec<Vec<Vec<String>>> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Write>();
        srv.write_subscribers.push(tx);
        let mut client = Client::new(1, "127.0.0.1:1".into(), "127.0.0.1:2".into(), -1, true);
        let mut all = Vec::new();
        for args in cmds {
            let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
            execute(srv, &mut client, &args);
            let mut writes = Vec::new();
            while let Ok(w) = rx.try_recv() {
                writes.push(w.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect());
            }
            all.push(writes);
        }
        srv.write_subscribers.clear();
        all
    }

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn spop_propagates_srem_or_del() {
        let mut srv = Server::new(Config::default());
        let out = propagated(
            &mut srv,
            &[&["SADD", "s", "a", "b", "c", "d", "e", "f"], &["SPOP", "s"], &["SPOP", "s", "2"], &["SPOP", "s", "0"]],
        );
        assert_eq!(out[0], vec![words("SADD s a b c d e f")]);
        assert_eq!(out[1].len(), 1);
        assert_eq!(out[1][0][..2], ["SREM", "s"]);
        assert_eq!(out[1][0].len(), 3);
        assert_eq!(out[2].len(), 1, "one batched SREM");
        assert_eq!(out[2][0][..2], ["SREM", "s"]);
        assert_eq!(out[2][0].len(), 4);
        assert!(out[3].is_empty(), "nothing popped, nothing propagated");
        let left = propagated(&mut srv, &[&["SCARD", "s"], &["SPOP", "s", "100"]]);
        assert_eq!(left[1], vec![words("DEL s")]);
        let out = propagated(&mut srv, &[&["SPOP", "s", "1"], &["SPOP", "s"]]);
        assert!(out[0].is_empty() && out[1].is_empty(), "a missing key pops nothing");
    }

    #[test]
    fn spop_batches_srem_by_1024() {
        let mut srv = Server::new(Config::default());
        let mut sadd = vec!["SADD".to_string(), "big".to_string()];
        sadd.extend((0..3000).map(|i| format!("m{i}")));
        let sadd: Vec<&str> = sadd.iter().map(|s| s.as_str()).collect();
        let out = propagated(&mut srv, &[&sadd, &["SPOP", "big", "2500"]]);
        // Several writes of one command go out as a transaction.
        let (first, last) = (&out[1][0], &out[1][out[1].len() - 1]);
        assert_eq!((first.as_slice(), last.as_slice()), (&["MULTI".to_string()][..], &["EXEC".to_string()][..]));
        let srems = &out[1][1..out[1].len() - 1];
        let sizes: Vec<usize> = srems.iter().map(|argv| argv.len() - 2).collect();
        assert_eq!(sizes, vec![1024, 1024, 452]);
        assert!(srems.iter().all(|argv| argv[0] == "SREM" && argv[1] == "big"));
    }

    #[test]
    fn writes_that_change_nothing_propagate_nothing() {
        let mut srv = Server::new(Config::default());
        let out = propagated(
            &mut srv,
            &[
                &["SADD", "t", "a"],
                &["SADD", "t", "a"],
                &["SREM", "t", "zz"],
                &["SMOVE", "t", "t2", "a"],
                &["SMOVE", "t", "t2", "a"],
                &["SINTERSTORE", "d", "nokey"],
                &["SUNIONSTORE", "d", "t2"],
                &["SDIFFSTORE", "d", "nokey"],
            ],
        );
        let counts: Vec<usize> = out.iter().map(|w| w.len()).collect();
        assert_eq!(counts, vec![1, 0, 0, 1, 0, 0, 1, 1]);
        assert_eq!(out[3][0], words("SMOVE t t2 a"));
    }
}
