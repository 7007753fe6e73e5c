//! Generic keyspace commands (Redis's "generic" group): deleting, renaming,
//! moving and copying keys, iterating the keyspace, expire times and
//! OBJECT introspection.

use crate::executor::notify::class;
use bytes::Bytes;

use super::docs::*;
use super::{acl, flags::*, keys, CommandDef, Ctx, NO_ELEMENTS, NO_KEYS};
use super::{key_at, key_spec, BeginSearch, FindKeys};
use crate::cmd;
use crate::db::{self, Obj, Value};
use crate::util::{eq_ic, glob_match, now_ms, parse_i64};

// Arguments several commands share, for COMMAND DOCS.
const CONDITION_ARG: Arg = oneof(
    "condition",
    &[pure_token("nx", "NX"), pure_token("xx", "XX"), pure_token("gt", "GT"), pure_token("lt", "LT")],
)
.since("7.0.0")
.optional();

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "del",
        -2,
        WRITE,
        acl::KEYSPACE,
        keys(1, -1, 1),
        del,
        "generic",
        "1.0.0",
        "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
        "Deletes one or more keys."
    )
    .with_args(&[key("key", 0).multiple()])
    .with_tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
    .with_key_specs(&[key_spec(&["RM", "delete"], BeginSearch::Index(1), FindKeys::Range { lastkey: -1, step: 1, limit: 0 })]),
    cmd!(
        "unlink",
        -2,
        WRITE | FAST,
        acl::KEYSPACE,
        keys(1, -1, 1),
        del,
        "generic",
        "4.0.0",
        "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
        "Asynchronously deletes one or more keys."
    )
    .with_args(&[key("key", 0).multiple()])
    .with_tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
    .with_key_specs(&[key_spec(&["RM", "delete"], BeginSearch::Index(1), FindKeys::Range { lastkey: -1, step: 1, limit: 0 })]),
    cmd!(
        "exists",
        -2,
        READONLY | FAST,
        acl::KEYSPACE,
        keys(1, -1, 1),
        exists,
        "generic",
        "1.0.0",
        "O(N) where N is the number of keys to check.",
        "Determines whether one or more keys exist."
    )
    .with_args(&[key("key", 0).multiple()])
    .with_history(&[("3.0.3", "Accepts multiple `key` arguments.")])
    .with_tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
    .with_key_specs(&[key_spec(&["RO"], BeginSearch::Index(1), FindKeys::Range { lastkey: -1, step: 1, limit: 0 })]),
    cmd!(
        "touch",
        -2,
        READONLY | FAST,
        acl::KEYSPACE,
        keys(1, -1, 1),
        touch,
        "generic",
        "3.2.1",
        "O(N) where N is the number of keys that will be touched.",
        "Returns the number of existing keys out of those specified after updating the time they were last accessed."
    )
    .with_args(&[key("key", 0).multiple()])
    .with_tips(&["request_policy:multi_shard", "response_policy:agg_sum"])
    .with_key_specs(&[key_spec(&["RO"], BeginSearch::Index(1), FindKeys::Range { lastkey: -1, step: 1, limit: 0 })]),
    cmd!(
        "type",
        2,
        READONLY | FAST,
        acl::KEYSPACE,
        keys(1, 1, 1),
        type_,
        "generic",
        "1.0.0",
        "O(1)",
        "Determines the type of value stored at a key."
    )
    .with_args(&[key("key", 0)])
    .with_key_specs(&[key_at(1, &["RO"])]),
    cmd!(
        "rename",
        3,
        WRITE,
        acl::KEYSPACE,
        keys(1, 2, 1),
        rename,
        "generic",
        "1.0.0",
        "O(1)",
        "Renames a key and overwrites the destination."
    )
    .with_args(&[key("key", 0), key("newkey", 1)])
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"]), key_at(2, &["OW", "update"])]),
    cmd!(
        "renamenx",
        3,
        WRITE | FAST,
        acl::KEYSPACE,
        keys(1, 2, 1),
        renamenx,
        "generic",
        "1.0.0",
        "O(1)",
        "Renames a key only when the target key name doesn't exist."
    )
    .with_args(&[key("key", 0), key("newkey", 1)])
    .with_history(&[
        ("3.2.0", "The command no longer returns an error when source and destination names are the same."),
    ])
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"]), key_at(2, &["OW", "insert"])]),
    cmd!(
        "move",
        3,
        WRITE | FAST,
        acl::KEYSPACE,
        keys(1, 1, 1),
        move_,
        "generic",
        "1.0.0",
        "O(1)",
        "Moves a key to another database."
    )
    .with_args(&[key("key", 0), integer("db")])
    .with_key_specs(&[key_at(1, &["RW", "access", "update"])]),
    cmd!(
        "copy",
        -3,
        WRITE | DENYOOM,
        acl::KEYSPACE,
        keys(1, 2, 1),
        copy,
        "generic",
        "6.2.0",
        "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
        "Copies the value of a key to a new key."
    )
    .with_args(&[
        key("source", 0),
        key("destination", 1),
        integer("destination-db").token("DB").optional(),
        pure_token("replace", "REPLACE").optional(),
    ])
    .with_key_specs(&[key_at(1, &["RO", "access"]), key_at(2, &["OW", "update"])]),
    cmd!(
        "keys",
        2,
        READONLY,
        acl::KEYSPACE | acl::DANGEROUS,
        NO_KEYS,
        keys_,
        "generic",
        "1.0.0",
        "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
        "Returns all key names that match a pattern."
    )
    .with_args(&[pattern("pattern")])
    .with_tips(&["request_policy:all_shards", "nondeterministic_output_order"]),
    cmd!(
        "scan",
        -2,
        READONLY,
        acl::KEYSPACE,
        NO_KEYS,
        scan,
        "generic",
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        "Iterates over the key names in the database."
    )
    .with_args(&[
        integer("cursor"),
        pattern("pattern").token("MATCH").optional(),
        integer("count").token("COUNT").optional(),
        string("type").token("TYPE").since("6.0.0").optional(),
    ])
    .with_history(&[("6.0.0", "Added the `TYPE` subcommand.")])
    .with_tips(&["nondeterministic_output", "request_policy:special"]),
    cmd!(
        "randomkey",
        1,
        READONLY,
        acl::KEYSPACE,
        NO_KEYS,
        randomkey,
        "generic",
        "1.0.0",
        "O(1)",
        "Returns a random key name from the database."
    )
    .with_tips(&["request_policy:all_shards", "nondeterministic_output"]),
    cmd!(
        "expire",
        -3,
        WRITE | FAST,
        acl::KEYSPACE,
        keys(1, 1, 1),
        expire,
        "generic",
        "1.0.0",
        "O(1)",
        "Sets the expiration time of a key in seconds."
    )
    .with_args(&[key("key", 0), integer("seconds"), CONDITION_ARG])
    .with_history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    cmd!(
        "pexpire",
        -3,
        WRITE | FAST,
        acl::KEYSPACE,
        keys(1, 1, 1),
        pexpire,
        "generic",
        "2.6.0",
        "O(1)",
        "Sets the expiration time of a key in milliseconds."
    )
    .with_args(&[key("key", 0), integer("milliseconds"), CONDITION_ARG])
    .with_history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    cmd!(
        "expireat",
        -3,
        WRITE | FAST,
        acl::KEYSPACE,
        keys(1, 1, 1),
        expireat,
        "generic",
        "1.2.0",
        "O(1)",
        "Sets the expiration time of a key to a Unix timestamp."
    )
    .with_args(&[key("key", 0), unix_time("unix-time-seconds"), CONDITION_ARG])
    .with_history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    cmd!(
        "pexpireat",
        -3,
        WRITE | FAST,
        acl::KEYSPACE,
        keys(1, 1, 1),
        pexpireat,
        "generic",
        "2.6.0",
        "O(1)",
        "Sets the expiration time of a key to a Unix milliseconds timestamp."
    )
    .with_args(&[key("key", 0), unix_time("unix-time-milliseconds"), CONDITION_ARG])
    .with_history(&[("7.0.0", "Added options: `NX`, `XX`, `GT` and `LT`.")]),
    cmd!(
        "ttl",
        2,
        READONLY | FAST,
        acl::KEYSPACE,
        keys(1, 1, 1),
        ttl,
        "generic",
        "1.0.0",
        "O(1)",
        "Returns the expiration time in seconds of a key."
    )
    .with_args(&[key("key", 0)])
    .with_history(&[("2.8.0", "Added the -2 reply.")])
    .with_tips(&["nondeterministic_output"]),
    cmd!(
        "pttl",
        2,
        READONLY | FAST,
        acl::KEYSPACE,
        keys(1, 1, 1),
        pttl,
        "generic",
        "2.6.0",
        "O(1)",
        "Returns the expiration time in milliseconds of a key."
    )
    .with_args(&[key("key", 0)])
    .with_history(&[("2.8.0", "Added the -2 reply.")])
    .with_tips(&["nondeterministic_output"]),
    cmd!(
        "expiretime",
        2,
        READONLY | FAST,
        acl::KEYSPACE,
        keys(1, 1, 1),
        expiretime,
        "generic",
        "7.0.0",
        "O(1)",
        "Returns the expiration time of a key as a Unix timestamp."
    )
    .with_args(&[key("key", 0)]),
    cmd!(
        "pexpiretime",
        2,
        READONLY | FAST,
        acl::KEYSPACE,
        keys(1, 1, 1),
        pexpiretime,
        "generic",
        "7.0.0",
        "O(1)",
        "Returns the expiration time of a key as a Unix milliseconds timestamp."
    )
    .with_args(&[key("key", 0)]),
    cmd!(
        "persist",
        2,
        WRITE | FAST,
        acl::KEYSPACE,
        keys(1, 1, 1),
        persist,
        "generic",
        "2.2.0",
        "O(1)",
        "Removes the expiration time of a key."
    )
    .with_args(&[key("key", 0)]),
    CommandDef {
        name: "object",
        arity: -2,
        flags: 0,
        acl: 0,
        keys: NO_KEYS,
        key_specs: &[],
        key_finder: None,
        elements: NO_ELEMENTS,
        handler: None,
        subcommands: &[
            cmd!(
                "encoding",
                3,
                READONLY,
                acl::KEYSPACE,
                keys(2, 2, 1),
                object_encoding,
                "generic",
                "2.2.3",
                "O(1)",
                "Returns the internal encoding of a Redis object."
            )
            .with_args(&[key("key", 0)])
            .with_tips(&["nondeterministic_output"])
    .with_key_specs(&[key_at(2, &["RO"])]),
            cmd!(
                "freq",
                3,
                READONLY,
                acl::KEYSPACE,
                keys(2, 2, 1),
                object_freq,
                "generic",
                "4.0.0",
                "O(1)",
                "Returns the logarithmic access frequency counter of a Redis object."
            )
            .with_args(&[key("key", 0)])
            .with_tips(&["nondeterministic_output"])
    .with_key_specs(&[key_at(2, &["RO"])]),
            cmd!(
                "help",
                2,
                LOADING | STALE,
                acl::KEYSPACE,
                NO_KEYS,
                object_help,
                "generic",
                "6.2.0",
                "O(1)",
                "Returns helpful text about the different subcommands."
            ),
            cmd!(
                "idletime",
                3,
                READONLY,
                acl::KEYSPACE,
                keys(2, 2, 1),
                object_idletime,
                "generic",
                "2.2.3",
                "O(1)",
                "Returns the time since the last access to a Redis object."
            )
            .with_args(&[key("key", 0)])
            .with_tips(&["nondeterministic_output"])
    .with_key_specs(&[key_at(2, &["RO"])]),
            cmd!(
                "refcount",
                3,
                READONLY,
                acl::KEYSPACE,
                keys(2, 2, 1),
                object_refcount,
                "generic",
                "2.2.3",
                "O(1)",
                "Returns the reference count of a value of a key."
            )
            .with_args(&[key("key", 0)])
            .with_tips(&["nondeterministic_output"])
    .with_key_specs(&[key_at(2, &["RO"])]),
        ],
        docs: NO_DOCS,
        tips: &[],
        group: "generic",
        summary: "A container for object introspection commands.",
        since: "2.2.3",
        complexity: "Depends on subcommand.",
    },
];

const NO_SUCH_KEY: &str = "ERR no such key";
const SAME_OBJECT: &str = "ERR source and destination objects are the same";
const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";

/// DEL and UNLINK (values are freed in place either way).
fn del(ctx: &mut Ctx, args: &[Bytes]) {
    let mut n = 0;
    for k in &args[1..] {
        if ctx.db().del(k).is_some() {
            n += 1;
            ctx.notify(class::GENERIC, "del", k);
        }
    }
    ctx.dirty(n as u64);
    ctx.out().int(n);
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) {
    let mut n = 0;
    for k in &args[1..] {
        let found = ctx.db().contains(k);
        ctx.hit(found);
        n += found as i64;
    }
    ctx.out().int(n);
}

fn touch(ctx: &mut Ctx, args: &[Bytes]) {
    let mut n = 0;
    for k in &args[1..] {
        let found = ctx.db().touch(k);
        ctx.hit(found);
        n += found as i64;
    }
    ctx.out().int(n);
}

fn type_(ctx: &mut Ctx, args: &[Bytes]) {
    let name = ctx.db().peek(&args[1]).map(Obj::type_name);
    ctx.hit(name.is_some());
    ctx.out().simple(name.unwrap_or("none"));
}

fn rename(ctx: &mut Ctx, args: &[Bytes]) {
    rename_generic(ctx, args, false);
}

fn renamenx(ctx: &mut Ctx, args: &[Bytes]) {
    rename_generic(ctx, args, true);
}

/// RENAME / RENAMENX: the value moves with its expire time and access data.
fn rename_generic(ctx: &mut Ctx, args: &[Bytes], nx: bool) {
    let (src, dst) = (&args[1], &args[2]);
    let db = ctx.db();
    if db.get_mut(src).is_none() {
        return ctx.error(NO_SUCH_KEY);
    }
    if src == dst {
        return if nx { ctx.out().int(0) } else { ctx.ok() };
    }
    if db.get_mut(dst).is_some() {
        if nx {
            return ctx.out().int(0);
        }
        db.del(dst);
    }
    let expire_at = db.expire_of(src);
    if let Some(obj) = db.del(src) {
        db.add(dst, obj, expire_at);
    }
    ctx.dirty(1);
    ctx.notify(class::GENERIC, "rename_from", src);
    ctx.notify(class::GENERIC, "rename_to", dst);
    if nx {
        ctx.out().int(1)
    } else {
        ctx.ok()
    }
}

/// A db index argument as Redis's getIntFromObjectOrReply + selectDb check
/// it; replies the error and returns None when invalid.
fn db_index(ctx: &mut Ctx, arg: &[u8]) -> Option<usize> {
    let Some(id) = parse_i64(arg) else {
        ctx.not_integer();
        return None;
    };
    if i32::try_from(id).is_err() {
        ctx.error("ERR value is out of range, value must between -2147483648 and 2147483647");
        return None;
    }
    match usize::try_from(id) {
        Ok(id) if id < ctx.srv.dbs.len() => Some(id),
        _ => {
            ctx.error(DB_OUT_OF_RANGE);
            None
        }
    }
}

fn move_(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let Some(dst) = db_index(ctx, &args[2]) else { return };
    let src = ctx.client.db;
    if src == dst {
        return ctx.error(SAME_OBJECT);
    }
    if ctx.srv.dbs[src].get_mut(key).is_none() || ctx.srv.dbs[dst].get_mut(key).is_some() {
        return ctx.out().int(0);
    }
    let expire_at = ctx.srv.dbs[src].expire_of(key);
    if let Some(obj) = ctx.srv.dbs[src].del(key) {
        ctx.srv.dbs[dst].add(key, obj, expire_at);
    }
    ctx.dirty(1);
    ctx.notify(class::GENERIC, "move_from", key);
    ctx.notify_in(dst, class::GENERIC, "move_to", key);
    ctx.out().int(1);
}

fn copy(ctx: &mut Ctx, args: &[Bytes]) {
    let (key, newkey) = (&args[1], &args[2]);
    let src = ctx.client.db;
    let mut dst = src;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if eq_ic(&args[i], "replace") {
            replace = true;
        } else if eq_ic(&args[i], "db") && i + 1 < args.len() {
            let Some(id) = db_index(ctx, &args[i + 1]) else { return };
            dst = id;
            i += 1;
        } else {
            return ctx.syntax_error();
        }
        i += 1;
    }
    if src == dst && key == newkey {
        return ctx.error(SAME_OBJECT);
    }
    // A fresh object (new access data) with the same value and expire.
    let source = &mut ctx.srv.dbs[src];
    let copied = source.get(key).map(|o| Obj::new(o.val.clone()));
    let expire_at = source.expire_of(key);
    ctx.hit(copied.is_some());
    let Some(copied) = copied else { return ctx.out().int(0) };
    // The key spec names `newkey` in the current db only: a background save
    // must write the one in `dst` before it is replaced.
    crate::persistence::snapshot::before_write_key(ctx.srv, dst, newkey);
    let target = &mut ctx.srv.dbs[dst];
    if target.get_mut(newkey).is_some() {
        if !replace {
            return ctx.out().int(0);
        }
        target.del(newkey);
    }
    target.set_with_expire(newkey, copied, expire_at);
    ctx.dirty(1);
    ctx.notify_in(dst, class::GENERIC, "copy_to", newkey);
    ctx.out().int(1);
}

fn keys_(ctx: &mut Ctx, args: &[Bytes]) {
    let pattern = &args[1];
    let all = pattern.as_ref() == b"*";
    let now = now_ms();
    let db = &ctx.srv.dbs[ctx.client.db];
    // Expired keys are skipped but left to the expiry machinery, as Redis's
    // keyIsExpired check does.
    let found: Vec<&[u8]> = db
        .dict
        .iter()
        .filter(|(k, _)| (all || glob_match(pattern, k, false)) && !db.expired_at(k, now))
        .map(|(k, _)| &k[..])
        .collect();
    ctx.client.out.bulks(found.into_iter());
}

/// A SCAN cursor as Redis parses it with strtoul: optional sign (a negative
/// value wraps), decimal digits, nothing else; the empty string is 0.
fn parse_cursor(s: &[u8]) -> Option<u64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return s.is_empty().then_some(0);
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

fn scan(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(mut cursor) = parse_cursor(&args[1]) else { return ctx.error("ERR invalid cursor") };
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_name: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let has_value = i + 1 < args.len();
        if eq_ic(&args[i], "count") && has_value {
            let Some(n) = parse_i64(&args[i + 1]) else { return ctx.not_integer() };
            if n < 1 {
                return ctx.syntax_error();
            }
            count = n;
        } else if eq_ic(&args[i], "match") && has_value {
            // "*" matches everything: the same as no pattern.
            pattern = Some(&args[i + 1][..]).filter(|p| *p != b"*");
        } else if eq_ic(&args[i], "type") && has_value {
            type_name = Some(&args[i + 1]);
        } else {
            return ctx.syntax_error();
        }
        i += 2;
    }

    // Visit buckets until `count` keys were seen (matching or not) or ten
    // times that many buckets, so a sparse table cannot stall the server.
    let db = &mut ctx.srv.dbs[ctx.client.db];
    let mut found: Vec<Bytes> = Vec::new();
    let mut sampled: i64 = 0;
    let mut max_iterations = count.saturating_mul(10);
    loop {
        cursor = db.dict.scan(cursor, |k, _| {
            sampled += 1;
            if pattern.is_none_or(|p| glob_match(p, k, false)) {
                found.push(Bytes::copy_from_slice(k));
            }
        });
        // Redis's `while (cursor && maxiterations-- && sampled < count)`.
        if cursor == 0 || max_iterations == 0 || sampled >= count {
            break;
        }
        max_iterations -= 1;
    }

    // Drop expired keys (deleting them) and, for TYPE, other types; the
    // type check is a keyspace lookup and counts in the hit statistics.
    let (mut hits, mut misses) = (0, 0);
    found.retain(|k| match type_name {
        Some(t) => match db.peek(k) {
            Some(o) => {
                hits += 1;
                eq_ic(t, o.type_name())
            }
            None => {
                misses += 1;
                false
            }
        },
        None => db.contains(k),
    });
    ctx.srv.stats.keyspace_hits += hits;
    ctx.srv.stats.keyspace_misses += misses;

    let out = ctx.out();
    out.array(2);
    out.bulk(cursor.to_string().as_bytes());
    out.bulks(found.iter().map(|k| &k[..]));
}

fn randomkey(ctx: &mut Ctx, _args: &[Bytes]) {
    let srv = &mut *ctx.srv;
    match srv.dbs[ctx.client.db].random_key(&mut srv.rng) {
        Some(k) => ctx.client.out.bulk(&k),
        None => ctx.client.out.null(),
    }
}

fn expire(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, true, 1000);
}

fn pexpire(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, true, 1);
}

fn expireat(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, false, 1000);
}

fn pexpireat(ctx: &mut Ctx, args: &[Bytes]) {
    expire_generic(ctx, args, false, 1);
}

/// EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: `args[2]` in units of `unit_ms`
/// milliseconds, relative to now or (the *AT forms) to the epoch.
fn expire_generic(ctx: &mut Ctx, args: &[Bytes], relative: bool, unit_ms: i64) {
    // One clock reading for the whole command, as Redis's command time
    // snapshot: PEXPIRE k 1 never deletes at once.
    let now = now_ms();
    let base = if relative { now } else { 0 };
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for opt in &args[3..] {
        if eq_ic(opt, "nx") {
            nx = true;
        } else if eq_ic(opt, "xx") {
            xx = true;
        } else if eq_ic(opt, "gt") {
            gt = true;
        } else if eq_ic(opt, "lt") {
            lt = true;
        } else {
            return ctx.error(&format!("ERR Unsupported option {}", String::from_utf8_lossy(opt)));
        }
    }
    if nx && (xx || gt || lt) {
        return ctx.error("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if gt && lt {
        return ctx.error("ERR GT and LT options at the same time are not compatible");
    }
    let Some(n) = parse_i64(&args[2]) else { return ctx.not_integer() };
    let Some(when) = n.checked_mul(unit_ms).and_then(|ms| ms.checked_add(base)) else {
        return ctx.error(&format!("ERR invalid expire time in '{}' command", ctx.cmd.name));
    };

    let key = &args[1];
    let db = ctx.db();
    if db.get_mut(key).is_none() {
        return ctx.out().int(0);
    }
    let current = db.expire_of(key);
    // A key without an expire counts as an infinite TTL for GT and LT.
    let refused = (nx && current != 0)
        || (xx && current == 0)
        || (gt && (current == 0 || when <= current))
        || (lt && current != 0 && when >= current);
    if refused {
        return ctx.out().int(0);
    }
    if when <= now {
        // A time in the past deletes the key, and replicas get the DEL.
        db.del(key);
        ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
        ctx.notify(class::GENERIC, "del", key);
    } else {
        db.set_expire(key, when);
        ctx.notify(class::GENERIC, "expire", key);
        // Replicas and the AOF get the absolute time, so replaying never
        // extends the key's life. The options stay, as Redis keeps them.
        if ctx.cmd.name != "pexpireat" {
            let mut argv = vec![Bytes::from_static(b"PEXPIREAT"), key.clone(), Bytes::from(when.to_string())];
            argv.extend(args[3..].iter().cloned());
            ctx.propagate(argv);
        }
    }
    ctx.dirty(1);
    ctx.out().int(1);
}

fn ttl(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, false, false);
}

fn pttl(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, true, false);
}

fn expiretime(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, false, true);
}

fn pexpiretime(ctx: &mut Ctx, args: &[Bytes]) {
    ttl_generic(ctx, args, true, true);
}

/// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 for a missing key, -1 for one
/// without an expire, else the remaining (or absolute) time, in seconds
/// rounded to the nearest or in milliseconds.
fn ttl_generic(ctx: &mut Ctx, args: &[Bytes], ms: bool, absolute: bool) {
    let db = ctx.db();
    let expire_at = db.peek(&args[1]).is_some().then(|| db.expire_of(&args[1]));
    ctx.hit(expire_at.is_some());
    let reply = match expire_at {
        None => -2,
        Some(0) => -1,
        Some(at) => {
            let t = if absolute { at } else { at - now_ms() }.max(0);
            if ms {
                t
            } else {
                ((t as i128 + 500) / 1000) as i64
            }
        }
    };
    ctx.out().int(reply);
}

fn persist(ctx: &mut Ctx, args: &[Bytes]) {
    let key = &args[1];
    let db = ctx.db();
    let had_expire = db.get_mut(key).is_some() && db.expire_of(key) != 0;
    if had_expire {
        db.set_expire(key, 0);
        ctx.dirty(1);
        ctx.notify(class::GENERIC, "persist", key);
    }
    ctx.out().int(had_expire as i64);
}

/// Reads `f` of the key OBJECT inspects: an expired key is deleted, the
/// access time is left alone, and the lookup counts in the hit statistics.
/// Replies null (and returns None) when the key does not exist.
fn object_lookup<T>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&Obj) -> T) -> Option<T> {
    // Report the policy as configured now, not as of the last cron tick.
    db::refresh_access(&ctx.srv.config);
    let found = ctx.db().peek(key).map(f);
    ctx.hit(found.is_some());
    if found.is_none() {
        ctx.out().null();
    }
    found
}

fn object_encoding(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(enc) = object_lookup(ctx, &args[2], Obj::encoding) else { return };
    ctx.out().bulk(enc.as_bytes());
}

fn object_refcount(ctx: &mut Ctx, args: &[Bytes]) {
    // Redis shares the objects of small integers (refcount INT_MAX) unless
    // maxmemory with an LRU/LFU policy needs per-key access data.
    let config = &ctx.srv.config;
    let no_sharing = config.get("maxmemory").is_some_and(|m| m != "0")
        && config.get("maxmemory-policy").is_some_and(|p| p.ends_with("-lru") || p.ends_with("-lfu"));
    let Some(small_int) = object_lookup(ctx, &args[2], |o| matches!(o.val, Value::Int(0..=9999))) else { return };
    ctx.out().int(if small_int && !no_sharing { i32::MAX as i64 } else { 1 });
}

fn object_idletime(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(idle) = object_lookup(ctx, &args[2], db::idle_seconds) else { return };
    if db::lfu_enabled() {
        return ctx.error(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        );
    }
    ctx.out().int(idle as i64);
}

fn object_freq(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(freq) = object_lookup(ctx, &args[2], db::lfu_counter) else { return };
    if !db::lfu_enabled() {
        return ctx.error(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        );
    }
    ctx.out().int(freq as i64);
}

fn object_help(ctx: &mut Ctx, args: &[Bytes]) {
    const HELP: &[&str] = &[
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
    ];
    super::introspection::reply_help(ctx, args, HELP);
}

#[cfg(test)]
mod tests {
    //! Cursor parsing, and what each command propagates to the AOF and
    //! replicas, read off the executor's write stream. Expected forms are
    //! those Redis 7.0.15 wrote to its AOF for the same commands.

    use bytes::Bytes;

    use super::parse_cursor;
    use crate::config::Config;
    use crate::executor::{execute, Server, Write};
    use crate::server::client::Client;
    use crate::util::now_ms;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"00"), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-0"), Some(0));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        for bad in [&b"18446744073709551616"[..], b" 1", b"1 ", b"0x1", b"abc", b"+", b"-", b"1-"] {
            assert_eq!(parse_cursor(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    /// Runs the commands on one server; returns what each propagated.
    fn propagated(srv: &mut Server, cmds: &[&[&str]]) -> Vec<Vec<String>> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Write>();
        srv.write_subscribers.push(tx);
        let mut client = Client::new(1, "127.0.0.1:1".into(), "127.0.0.1:2".into(), -1, true);
        let mut all = Vec::new();
        for args in cmds {
            let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
            execute(srv, &mut client, &args);
            let mut writes = Vec::new();
            while let Ok(w) = rx.try_recv() {
                let argv: Vec<String> = w.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                writes.push(format!("{} {}", w.db, argv.join(" ")));
            }
            all.push(writes);
        }
        all
    }

    #[test]
    fn expires_propagate_as_absolute_times_or_del() {
        let mut srv = Server::new(Config::default());
        let before = now_ms();
        let out = propagated(
            &mut srv,
            &[
                &["SET", "k", "v"],
                &["EXPIRE", "k", "100", "NX"],
                &["PEXPIRE", "k", "200000", "gt"],
                &["EXPIREAT", "k", "4000000000"],
                &["pexpireat", "k", "4000000000000", "xx"],
                &["EXPIRE", "k", "100", "NX"],
                &["EXPIRE", "nokey", "100"],
                &["EXPIRE", "k", "-1"],
            ],
        );
        let after = now_ms();
        let at = |line: &str, n: usize| line.split(' ').nth(n).and_then(|t| t.parse::<i64>().ok()).unwrap_or(0);
        assert_eq!(out[1].len(), 1);
        assert!(out[1][0].starts_with("0 PEXPIREAT k ") && out[1][0].ends_with(" NX"), "{:?}", out[1]);
        assert!((before + 100_000..=after + 100_000).contains(&at(&out[1][0], 3)));
        assert!(out[2][0].starts_with("0 PEXPIREAT k ") && out[2][0].ends_with(" gt"), "{:?}", out[2]);
        assert!((before + 200_000..=after + 200_000).contains(&at(&out[2][0], 3)));
        assert_eq!(out[3], vec!["0 PEXPIREAT k 4000000000000"]);
        assert_eq!(out[4], vec!["0 pexpireat k 4000000000000 xx"]);
        // Refused or without effect: nothing to propagate.
        assert!(out[5].is_empty() && out[6].is_empty());
        assert_eq!(out[7], vec!["0 DEL k"]);
    }

    #[test]
    fn each_command_propagates_what_redis_does() {
        let mut srv = Server::new(Config::default());
        let out = propagated(
            &mut srv,
            &[
                &["SET", "k2", "v"],
                &["del", "k2", "nokey"],
                &["DEL", "nokey"],
                &["SET", "r", "v"],
                &["rename", "r", "r2"],
                &["renamenx", "r2", "r3"],
                &["renamenx", "nokey", "r3"],
                &["move", "r3", "1"],
                &["move", "r3", "1"],
                &["SET", "c", "v"],
                &["copy", "c", "c2", "db", "2", "replace"],
                &["copy", "c", "c2", "db", "2"],
                &["persist", "c"],
                &["unlink", "c", "c2"],
                &["TOUCH", "c2"],
                &["EXISTS", "c2"],
            ],
        );
        let want: &[&[&str]] = &[
            &["0 SET k2 v"],
            &["0 del k2 nokey"],
            &[],
            &["0 SET r v"],
            &["0 rename r r2"],
            &["0 renamenx r2 r3"],
            &[],
            &["0 move r3 1"],
            &[],
            &["0 SET c v"],
            &["0 copy c c2 db 2 replace"],
            &[],
            &[],
            &["0 unlink c c2"],
            &[],
            &[],
        ];
        for (i, (got, want)) in out.iter().zip(want).enumerate() {
            assert_eq!(got, want, "command {i}");
        }
    }

    #[test]
    fn expired_keys_propagate_del_before_the_command() {
        let mut srv = Server::new(Config::default());
        srv.active_expire_enabled = false;
        propagated(&mut srv, &[&["SET", "e", "v", "PX", "1"], &["SET", "f", "v", "PX", "1"]]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let out = propagated(&mut srv, &[&["EXPIRE", "e", "100"], &["GET", "nokey"], &["SET", "f", "w"]]);
        assert_eq!(out[0], vec!["0 DEL e"]);
        assert!(out[1].is_empty());
        assert_eq!(out[2], vec!["0 DEL f", "0 SET f w"]);
        assert_eq!(srv.stats.expired_keys, 2);
        // The active cycle's deletions go the same way.
        propagated(&mut srv, &[&["SELECT", "3"], &["SET", "g", "v", "PX", "1"]]);
        std::thread::sleep(std::time::Duration::from_millis(5));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Write>();
        srv.write_subscribers.push(tx);
        srv.active_expire_enabled = true;
        crate::db::expire::active_cycle(&mut srv, 100);
        srv.propagate_expired();
        let w = rx.try_recv().expect("a DEL for the expired key");
        assert_eq!((w.db, w.argv), (3, vec![Bytes::from_static(b"DEL"), Bytes::from_static(b"g")]));
        assert_eq!(srv.stats.expired_keys, 3);
    }
}
