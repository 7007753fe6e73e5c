//! Hash commands (Redis's t_hash.c): HSET and friends over the listpack /
//! hash-table `Hash` of `types/hash.rs`.

use crate::executor::notify::class;
use bytes::Bytes;
use rand::Rng;

use super::docs::*;
use super::key_at;
use super::scan::{self, Target};
use super::sets::{guard_rand_reply, parse_rand_count, rand_reply_fits, remove_members, resp_bulk_len, WRONGTYPE};
use super::{acl, elements, flags::*, keys, parts, CommandDef, Ctx, Found};
use crate::cmd;
use crate::config::Config;
use crate::db::{Db, Obj, Value};
use crate::executor::Stats;
use crate::protocol::Out;
use crate::types::hash::{entry_len, Hash, PackLimits};
use crate::types::listpack::Entry;
use crate::types::longdouble::LongDouble;
use crate::util::{eq_ic, parse_i64};

// Arguments several commands share, for COMMAND DOCS.
const DATA_ARG: Arg = block("data", &[string("field"), string("value")]).multiple();

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "hset",
        -4,
        WRITE | DENYOOM | FAST,
        acl::HASH,
        keys(1, 1, 1),
        hset,
        "hash",
        "2.0.0",
        "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.",
        "Creates or modifies the value of a field in a hash."
    )
    .with_args(&[key("key", 0), DATA_ARG])
    .with_history(&[("4.0.0", "Accepts multiple `field` and `value` arguments.")])
    .with_elements(elements(2, -1, 2)),
    cmd!(
        "hsetnx",
        4,
        WRITE | DENYOOM | FAST,
        acl::HASH,
        keys(1, 1, 1),
        hsetnx,
        "hash",
        "2.0.0",
        "O(1)",
        "Sets the value of a field in a hash only when the field doesn't exist."
    )
    .with_args(&[key("key", 0), string("field"), string("value")])
    .with_key_specs(&[key_at(1, &["RW", "insert"])])
    .with_elements(elements(2, 2, 1)),
    cmd!(
        "hmset",
        -4,
        WRITE | DENYOOM | FAST,
        acl::HASH,
        keys(1, 1, 1),
        hset,
        "hash",
        "2.0.0",
        "O(N) where N is the number of fields being set.",
        "Sets the values of multiple fields."
    )
    .with_args(&[key("key", 0), DATA_ARG])
    .deprecated("4.0.0", "`HSET` with multiple field-value pairs")
    .with_elements(elements(2, -1, 2)),
    cmd!(
        "hget",
        3,
        READONLY | FAST,
        acl::HASH,
        keys(1, 1, 1),
        hget,
        "hash",
        "2.0.0",
        "O(1)",
        "Returns the value of a field in a hash."
    )
    .with_args(&[key("key", 0), string("field")])
    .with_elements(elements(2, 2, 1)),
    cmd!(
        "hmget",
        -3,
        READONLY | FAST,
        acl::HASH,
        keys(1, 1, 1),
        hmget,
        "hash",
        "2.0.0",
        "O(N) where N is the number of fields being requested.",
        "Returns the values of all fields in a hash."
    )
    .with_args(&[key("key", 0), string("field").multiple()])
    .with_elements(elements(2, -1, 1)),
    cmd!(
        "hgetall",
        2,
        READONLY,
        acl::HASH,
        keys(1, 1, 1),
        hgetall,
        "hash",
        "2.0.0",
        "O(N) where N is the size of the hash.",
        "Returns all fields and values in a hash."
    )
    .with_args(&[key("key", 0)])
    .with_tips(&["nondeterministic_output_order"]),
    cmd!(
        "hdel",
        -3,
        WRITE | FAST,
        acl::HASH,
        keys(1, 1, 1),
        hdel,
        "hash",
        "2.0.0",
        "O(N) where N is the number of fields to be removed.",
        "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain."
    )
    .with_args(&[key("key", 0), string("field").multiple()])
    .with_history(&[("2.4.0", "Accepts multiple `field` arguments.")])
    .with_key_specs(&[key_at(1, &["RW", "delete"])])
    .with_elements(elements(2, -1, 1)),
    cmd!(
        "hlen",
        2,
        READONLY | FAST,
        acl::HASH,
        keys(1, 1, 1),
        hlen,
        "hash",
        "2.0.0",
        "O(1)",
        "Returns the number of fields in a hash."
    )
    .with_args(&[key("key", 0)])
    .with_key_specs(&[key_at(1, &["RO"])]),
    cmd!(
        "hexists",
        3,
        READONLY | FAST,
        acl::HASH,
        keys(1, 1, 1),
        hexists,
        "hash",
        "2.0.0",
        "O(1)",
        "Determines whether a field exists in a hash."
    )
    .with_args(&[key("key", 0), string("field")])
    .with_key_specs(&[key_at(1, &["RO"])])
    .with_elements(elements(2, 2, 1)),
    cmd!(
        "hkeys",
        2,
        READONLY,
        acl::HASH,
        keys(1, 1, 1),
        hkeys,
        "hash",
        "2.0.0",
        "O(N) where N is the size of the hash.",
        "Returns all fields in a hash."
    )
    .with_args(&[key("key", 0)])
    .with_tips(&["nondeterministic_output_order"]),
    cmd!(
        "hvals",
        2,
        READONLY,
        acl::HASH,
        keys(1, 1, 1),
        hvals,
        "hash",
        "2.0.0",
        "O(N) where N is the size of the hash.",
        "Returns all values in a hash."
    )
    .with_args(&[key("key", 0)])
    .with_tips(&["nondeterministic_output_order"]),
    cmd!(
        "hstrlen",
        3,
        READONLY | FAST,
        acl::HASH,
        keys(1, 1, 1),
        hstrlen,
        "hash",
        "3.2.0",
        "O(1)",
        "Returns the length of the value of a field."
    )
    .with_args(&[key("key", 0), string("field")])
    .with_key_specs(&[key_at(1, &["RO"])])
    .with_elements(elements(2, 2, 1)),
    cmd!(
        "hincrby",
        4,
        WRITE | DENYOOM | FAST,
        acl::HASH,
        keys(1, 1, 1),
        hincrby,
        "hash",
        "2.0.0",
        "O(1)",
        "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist."
    )
    .with_args(&[key("key", 0), string("field"), integer("increment")])
    .with_key_specs(&[key_at(1, &["RW", "access", "update"])])
    .with_elements(elements(2, 2, 1)),
    cmd!(
        "hincrbyfloat",
        4,
        WRITE | DENYOOM | FAST,
        acl::HASH,
        keys(1, 1, 1),
        hincrbyfloat,
        "hash",
        "2.6.0",
        "O(1)",
        "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist."
    )
    .with_args(&[key("key", 0), string("field"), double("increment")])
    .with_key_specs(&[key_at(1, &["RW", "access", "update"])])
    .with_elements(elements(2, 2, 1)),
    cmd!(
        "hrandfield",
        -2,
        READONLY,
        acl::HASH,
        keys(1, 1, 1),
        hrandfield,
        "hash",
        "6.2.0",
        "O(N) where N is the number of fields returned",
        "Returns one or more random fields from a hash."
    )
    .with_args(&[
        key("key", 0),
        block("options", &[integer("count"), pure_token("withvalues", "WITHVALUES").optional()]).optional(),
    ])
    .with_tips(&["nondeterministic_output"]),
    cmd!(
        "hscan",
        -3,
        READONLY,
        acl::HASH,
        keys(1, 1, 1),
        hscan,
        "hash",
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        "Iterates over fields and values of a hash."
    )
    .with_args(&[
        key("key", 0),
        integer("cursor"),
        pattern("pattern").token("MATCH").optional(),
        integer("count").token("COUNT").optional(),
        pure_token("novalues", "NOVALUES").optional(),
    ])
    .with_tips(&["nondeterministic_output"]),
];

/// The limits that matter for writing to `h`: the configured ones while it
/// is a listpack, none once it is a hash table (which never converts
/// back) — so writes to big hashes skip the configuration lookups.
fn limits_for(config: &Config, h: &Hash) -> PackLimits {
    match h {
        Hash::Pack(_) => config.encoding.hash,
        Hash::Table(_) => PackLimits { entries: usize::MAX, value: usize::MAX },
    }
}

/// Looks `key` up as a hash for a read command.
fn read<'a>(db: &'a mut Db, stats: &mut Stats, key: &[u8]) -> Found<&'a Hash> {
    super::read_as(db, stats, key, |v| match v {
        Value::Hash(h) => Some(h),
        _ => None,
    })
}

/// The configuration, the db and the reply buffer, borrowed apart.
fn write_parts<'a>(ctx: &'a mut Ctx) -> (&'a Config, &'a mut Db, &'a mut Out) {
    let srv = &mut *ctx.srv;
    (&srv.config, &mut srv.dbs[ctx.client.db], &mut ctx.client.out)
}

/// Runs `f` on the hash at `key`, creating an empty one first when the key
/// is missing (stored only if `f` leaves it non-empty). Err(()) after
/// replying WRONGTYPE.
fn with_hash_or_create<R>(db: &mut Db, out: &mut Out, key: &[u8], f: impl FnOnce(&mut Hash) -> R) -> Result<R, ()> {
    if let Some(o) = db.get_mut(key) {
        return match &mut o.val {
            Value::Hash(h) => Ok(f(h)),
            _ => {
                out.error(WRONGTYPE);
                Err(())
            }
        };
    }
    let mut h = Hash::default();
    let r = f(&mut h);
    if !h.is_empty() {
        db.set(key, Obj::new(Value::Hash(h)));
    }
    Ok(r)
}

fn write_entry(out: &mut Out, e: Entry<'_>) {
    match e {
        Entry::Str(s) => out.bulk(s),
        Entry::Int(i) => out.bulk_i64(i),
    }
}

/// HSET key field value [field value ...] and the deprecated HMSET.
fn hset(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() % 2 == 1 {
        let msg = format!("ERR wrong number of arguments for '{}' command", ctx.cmd.name);
        return ctx.error(&msg);
    }
    let hmset = ctx.cmd.name == "hmset";
    let (config, db, out) = write_parts(ctx);
    let pairs = &args[2..];
    let set = |h: &mut Hash| {
        let limits = limits_for(config, h);
        h.prepare_for(pairs, limits);
        pairs.chunks_exact(2).filter(|p| h.set(&p[0], &p[1], limits)).count()
    };
    let Ok(created) = with_hash_or_create(db, out, &args[1], set) else { return };
    if hmset {
        out.ok();
    } else {
        out.int(created as i64);
    }
    // Every pair counts as a change, new or not, as in Redis.
    ctx.dirty((pairs.len() / 2) as u64);
    ctx.notify(class::HASH, "hset", &args[1]);
}

fn hsetnx(ctx: &mut Ctx, args: &[Bytes]) {
    let (config, db, out) = write_parts(ctx);
    let set = |h: &mut Hash| {
        if h.contains(&args[2]) {
            return false;
        }
        let limits = limits_for(config, h);
        h.prepare_for(&args[2..4], limits);
        h.set(&args[2], &args[3], limits)
    };
    let Ok(added) = with_hash_or_create(db, out, &args[1], set) else { return };
    out.int(added as i64);
    if added {
        ctx.dirty(1);
        ctx.notify(class::HASH, "hset", &args[1]);
    }
}

fn hget(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = parts(ctx);
    match read(db, stats, &args[1]) {
        Found::Missing => out.null(),
        Found::WrongType => out.error(WRONGTYPE),
        Found::Is(h) => match h.get_entry(&args[2]) {
            Some(v) => write_entry(out, v),
            None => out.null(),
        },
    }
}

fn hmget(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = parts(ctx);
    let h = match read(db, stats, &args[1]) {
        Found::WrongType => return out.error(WRONGTYPE),
        Found::Missing => None,
        Found::Is(h) => Some(h),
    };
    out.array(args.len() - 2);
    for f in &args[2..] {
        match h.and_then(|h| h.get_entry(f)) {
            Some(v) => write_entry(out, v),
            None => out.null(),
        }
    }
}

/// HGETALL (a map), HKEYS and HVALS (arrays).
fn getall(ctx: &mut Ctx, key: &[u8], fields: bool, values: bool) {
    let (db, stats, out) = parts(ctx);
    let h = match read(db, stats, key) {
        Found::WrongType => return out.error(WRONGTYPE),
        Found::Missing => None,
        Found::Is(h) => Some(h),
    };
    let len = h.map_or(0, |h| h.len());
    if fields && values {
        out.map(len);
    } else {
        out.array(len);
    }
    for (f, v) in h.into_iter().flat_map(|h| h.iter()) {
        if fields {
            write_entry(out, f);
        }
        if values {
            write_entry(out, v);
        }
    }
}

fn hgetall(ctx: &mut Ctx, args: &[Bytes]) {
    getall(ctx, &args[1], true, true);
}

fn hkeys(ctx: &mut Ctx, args: &[Bytes]) {
    getall(ctx, &args[1], true, false);
}

fn hvals(ctx: &mut Ctx, args: &[Bytes]) {
    getall(ctx, &args[1], false, true);
}

fn hdel(ctx: &mut Ctx, args: &[Bytes]) {
    remove_members(ctx, args, (class::HASH, "hdel"), |v, f| match v {
        Value::Hash(h) => Some((h.remove(f), h.is_empty())),
        _ => None,
    });
}

fn hlen(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = parts(ctx);
    match read(db, stats, &args[1]) {
        Found::Missing => out.int(0),
        Found::WrongType => out.error(WRONGTYPE),
        Found::Is(h) => out.int(h.len() as i64),
    }
}

fn hexists(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = parts(ctx);
    match read(db, stats, &args[1]) {
        Found::Missing => out.int(0),
        Found::WrongType => out.error(WRONGTYPE),
        Found::Is(h) => out.int(h.contains(&args[2]) as i64),
    }
}

fn hstrlen(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = parts(ctx);
    match read(db, stats, &args[1]) {
        Found::Missing => out.int(0),
        Found::WrongType => out.error(WRONGTYPE),
        Found::Is(h) => out.int(h.get_entry(&args[2]).map_or(0, |v| entry_len(&v)) as i64),
    }
}

fn hincrby(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(incr) = parse_i64(&args[3]) else { return ctx.not_integer() };
    let (config, db, out) = write_parts(ctx);
    let field = &args[2];
    let apply = |h: &mut Hash| -> Result<i64, &'static str> {
        let old = match h.get_entry(field) {
            None => 0,
            Some(Entry::Int(v)) => v,
            Some(Entry::Str(s)) => parse_i64(s).ok_or("ERR hash value is not an integer")?,
        };
        let new = old.checked_add(incr).ok_or("ERR increment or decrement would overflow")?;
        h.set(field, new.to_string().as_bytes(), limits_for(config, h));
        Ok(new)
    };
    match with_hash_or_create(db, out, &args[1], apply) {
        Err(()) => {}
        Ok(Err(msg)) => out.error(msg),
        Ok(Ok(v)) => {
            out.int(v);
            ctx.dirty(1);
            ctx.notify(class::HASH, "hincrby", &args[1]);
        }
    }
}

fn hincrbyfloat(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(incr) = LongDouble::parse(&args[3]) else { return ctx.not_float() };
    if !incr.is_finite() {
        return ctx.error("ERR value is NaN or Infinity");
    }
    let (config, db, out) = write_parts(ctx);
    let field = &args[2];
    let apply = |h: &mut Hash| -> Result<String, &'static str> {
        let old = match h.get_entry(field) {
            None => LongDouble::from_i64(0),
            Some(Entry::Int(v)) => LongDouble::from_i64(v),
            Some(Entry::Str(s)) => LongDouble::parse(s).ok_or("ERR hash value is not a float")?,
        };
        let new = old.plus(incr);
        if !new.is_finite() {
            return Err("ERR increment would produce NaN or Infinity");
        }
        let text = new.to_human();
        h.set(field, text.as_bytes(), limits_for(config, h));
        Ok(text)
    };
    match with_hash_or_create(db, out, &args[1], apply) {
        Err(()) => {}
        Ok(Err(msg)) => out.error(msg),
        Ok(Ok(text)) => {
            out.bulk(text.as_bytes());
            ctx.dirty(1);
            ctx.notify(class::HASH, "hincrbyfloat", &args[1]);
            // Replicas and the AOF get the result, never a float addition
            // that could round differently there.
            ctx.propagate(vec![Bytes::from_static(b"HSET"), args[1].clone(), args[2].clone(), Bytes::from(text)]);
        }
    }
}

/// HRANDFIELD key [count [WITHVALUES]]
fn hrandfield(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() == 2 {
        let srv = &mut *ctx.srv;
        let (db, stats, rng) = (&mut srv.dbs[ctx.client.db], &mut srv.stats, &mut srv.rng);
        let out = &mut ctx.client.out;
        match read(db, stats, &args[1]) {
            Found::Missing => out.null(),
            Found::WrongType => out.error(WRONGTYPE),
            Found::Is(h) => match h.random_pair(rng) {
                Some((f, _)) => write_entry(out, f),
                None => out.null(),
            },
        }
        return;
    }
    let Some(count) = parse_rand_count(&mut ctx.client.out, &args[2]) else { return };
    let withvalues = args.len() == 4 && eq_ic(&args[3], "withvalues");
    if args.len() > 4 || (args.len() == 4 && !withvalues) {
        return ctx.syntax_error();
    }
    // A pair is two elements: the count must not overflow when doubled.
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return ctx.error("ERR value is out of range");
    }
    let srv = &mut *ctx.srv;
    let (db, stats, rng) = (&mut srv.dbs[ctx.client.db], &mut srv.stats, &mut srv.rng);
    let out = &mut ctx.client.out;
    let h = match read(db, stats, &args[1]) {
        Found::Missing => return out.array(0),
        Found::WrongType => return out.error(WRONGTYPE),
        Found::Is(h) => h,
    };
    let n = count.unsigned_abs();
    if n == 0 {
        return out.array(0);
    }
    // RESP3 nests each pair in an array of two; RESP2 flattens them.
    let nested = withvalues && out.resp >= 3;
    let write_pair = |out: &mut Out, (f, v): (Entry<'_>, Entry<'_>)| {
        if nested {
            out.array(2);
        }
        write_entry(out, f);
        if withvalues {
            write_entry(out, v);
        }
    };
    let reply_len = |n: usize| if withvalues && !nested { 2 * n } else { n };
    if count < 0 || n == 1 {
        // Repeats allowed: the reply is as long as asked, which only the
        // reply-size guard bounds.
        let pair_bytes =
            |(f, v): (Entry<'_>, Entry<'_>)| resp_bulk_len(&f) + if withvalues { resp_bulk_len(&v) + 4 } else { 0 };
        let mut sample = 0;
        for _ in 0..8 {
            sample += h.random_pair(rng).map_or(0, pair_bytes);
        }
        if !rand_reply_fits(out, n, sample / 8) {
            return;
        }
        // A listpack is walked once into a list of its pairs, so that each
        // draw is an index rather than a seek through it.
        let pool: Vec<(Entry<'_>, Entry<'_>)> = if h.table().is_none() { h.iter().collect() } else { Vec::new() };
        let start = out.buf.len();
        out.array(reply_len(n as usize));
        for _ in 0..n {
            let p = match pool.len() {
                0 => h.random_pair(rng),
                len => Some(pool[rng.gen_range(0..len)]),
            };
            if let Some(p) = p {
                write_pair(out, p);
            }
            if !guard_rand_reply(out, start) {
                return;
            }
        }
        return;
    }
    let n = n as usize;
    if n >= h.len() {
        out.array(reply_len(h.len()));
        for p in h.iter() {
            write_pair(out, p);
        }
        return;
    }
    let picked = h.sample_distinct(n, rng);
    out.array(reply_len(picked.len()));
    for p in picked {
        write_pair(out, p);
    }
}

/// HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]
fn hscan(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = parts(ctx);
    let Some(cursor) = scan::parse_cursor(&args[2]) else { return scan::invalid_cursor(out) };
    let h = match read(db, stats, &args[1]) {
        Found::Missing => return scan::empty_reply(out),
        Found::WrongType => return out.error(WRONGTYPE),
        Found::Is(h) => h,
    };
    let Some(opts) = scan::parse_opts(out, args, 3, Target::Hash) else { return };
    let mut items = scan::Items::new(out.resp);
    let next = match h.table() {
        // Compact encodings are returned whole, whatever the cursor.
        None => {
            for (f, v) in h.iter() {
                push_pair(&opts, &mut items, f, v);
            }
            0
        }
        Some(d) => {
            scan::scan_dict(d, cursor, opts.count, |k, v| push_pair(&opts, &mut items, Entry::Str(k), Entry::Str(v)))
        }
    };
    items.reply(out, next);
}

/// Adds a field (and its value, unless NOVALUES) to an HSCAN reply if it
/// passes MATCH; returns how many elements that added.
fn push_pair(opts: &scan::ScanOpts<'_>, items: &mut scan::Items, f: Entry<'_>, v: Entry<'_>) -> usize {
    if !opts.matches(&f) {
        return 0;
    }
    items.push(&f);
    if opts.novalues {
        return 1;
    }
    items.push(&v);
    2
}

#[cfg(test)]
mod tests {
    //! What hash commands propagate, read off the executor's write stream:
    //! forms Redis 7.0.15 wrote to its AOF for the same commands.

    use bytes::Bytes;

    use crate::config::Config;
    use crate::executor::{execute, Server, Write};
    use crate::server::client::Client;

    fn propagated(cmds: &[&[&str]]) -> Vec<String> {
        let mut srv = Server::new(Config::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Write>();
        srv.write_subscribers.push(tx);
        let mut client = Client::new(1, "127.0.0.1:1".into(), "127.0.0.1:2".into(), -1, true);
        let mut all = Vec::new();
        for args in cmds {
            let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
            execute(&mut srv, &mut client, &args);
            let mut writes = Vec::new();
            while let Ok(w) = rx.try_recv() {
                writes
                    .push(w.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" "));
            }
            all.push(writes.join(" | "));
        }
        all
    }

    #[test]
    fn each_command_propagates_what_redis_does() {
        let out = propagated(&[
            &["HINCRBYFLOAT", "h", "f", "10.5"],
            &["HINCRBYFLOAT", "h", "f", "0.1"],
            &["HINCRBYFLOAT", "h", "f", "x"],
            &["HSET", "h", "f", "1"],
            &["HSET", "h", "f", "1"],
            &["HSETNX", "h", "f", "2"],
            &["HSETNX", "h", "g", "2"],
            &["HINCRBY", "h", "g", "3"],
            &["HDEL", "h", "nofield"],
            &["HDEL", "h", "f", "g"],
            &["HDEL", "h", "f"],
        ]);
        assert_eq!(
            out,
            vec![
                "HSET h f 10.5",
                "HSET h f 10.6",
                "",
                "HSET h f 1",
                "HSET h f 1",
                "",
                "HSETNX h g 2",
                "HINCRBY h g 3",
                "",
                "HDEL h f g",
                "",
            ]
        );
    }
}
