//! String commands.

use bytes::Bytes;

use super::{acl, flags::*, keys, CommandDef, Ctx};
use crate::cmd;
use crate::db::{Obj, Value};
use crate::util::{eq_ic, now_ms, parse_i64};

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "get",
        2,
        READONLY | FAST,
        acl::STRING,
        keys(1, 1, 1),
        get,
        "string",
        "1.0.0",
        "O(1)",
        "Returns the string value of a key."
    ),
    cmd!(
        "set",
        -3,
        WRITE | DENYOOM,
        acl::STRING,
        keys(1, 1, 1),
        set,
        "string",
        "1.0.0",
        "O(1)",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist."
    ),
    cmd!(
        "incr",
        2,
        WRITE | DENYOOM | FAST,
        acl::STRING,
        keys(1, 1, 1),
        incr,
        "string",
        "1.0.0",
        "O(1)",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."
    ),
    cmd!(
        "decr",
        2,
        WRITE | DENYOOM | FAST,
        acl::STRING,
        keys(1, 1, 1),
        decr,
        "string",
        "1.0.0",
        "O(1)",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist."
    ),
    cmd!(
        "incrby",
        3,
        WRITE | DENYOOM | FAST,
        acl::STRING,
        keys(1, 1, 1),
        incrby,
        "string",
        "1.0.0",
        "O(1)",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist."
    ),
    cmd!(
        "decrby",
        3,
        WRITE | DENYOOM | FAST,
        acl::STRING,
        keys(1, 1, 1),
        decrby,
        "string",
        "1.0.0",
        "O(1)",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist."
    ),
    cmd!(
        "mget",
        -2,
        READONLY | FAST,
        acl::STRING,
        keys(1, -1, 1),
        mget,
        "string",
        "1.0.0",
        "O(N) where N is the number of keys to retrieve.",
        "Atomically returns the string values of one or more keys."
    ),
    cmd!(
        "mset",
        -3,
        WRITE | DENYOOM,
        acl::STRING,
        keys(1, -1, 2),
        mset,
        "string",
        "1.0.1",
        "O(N) where N is the number of keys to set.",
        "Atomically creates or modifies the string values of one or more keys."
    ),
];

/// The outcome of reading a key as a string.
pub enum StrLookup<T> {
    Missing,
    WrongType,
    Found(T),
}

/// Reads `key` as a string and passes its bytes to `f`.
pub fn with_string<T>(ctx: &mut Ctx, key: &[u8], f: impl FnOnce(&[u8]) -> T) -> StrLookup<T> {
    match ctx.db().get(key) {
        None => StrLookup::Missing,
        Some(o) => match o.val.as_bytes() {
            Some(b) => StrLookup::Found(f(&b)),
            None => StrLookup::WrongType,
        },
    }
}

fn get(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.client.db;
    let out = &mut ctx.client.out;
    match ctx.srv.dbs[db].get(&args[1]) {
        None => {
            out.null();
            ctx.hit(false);
        }
        Some(o) => {
            match &o.val {
                Value::Int(i) => out.bulk_i64(*i),
                Value::Str { data, .. } => out.bulk(data),
                #[allow(unreachable_patterns)]
                _ => return ctx.wrongtype(),
            }
            ctx.hit(true);
        }
    }
}

#[derive(PartialEq)]
enum Cond {
    Always,
    Nx,
    Xx,
}

fn set(ctx: &mut Ctx, args: &[Bytes]) {
    let mut cond = Cond::Always;
    let mut expire_at: Option<i64> = None;
    let mut keep_ttl = false;
    let mut want_get = false;
    let mut i = 3;
    let now = now_ms();
    while i < args.len() {
        let a = &args[i];
        let next = args.get(i + 1);
        if eq_ic(a, "nx") && cond == Cond::Always {
            cond = Cond::Nx;
        } else if eq_ic(a, "xx") && cond == Cond::Always {
            cond = Cond::Xx;
        } else if eq_ic(a, "get") {
            want_get = true;
        } else if eq_ic(a, "keepttl") && expire_at.is_none() {
            keep_ttl = true;
        } else if let (Some(unit), Some(v), false, None) = (expire_unit(a), next, keep_ttl, expire_at) {
            let Some(n) = parse_i64(v) else { return ctx.not_integer() };
            match expire_time(unit, n, now) {
                Some(at) => expire_at = Some(at),
                None => return ctx.error("ERR invalid expire time in 'set' command"),
            }
            i += 1;
        } else {
            return ctx.syntax_error();
        }
        i += 1;
    }
    let key = &args[1];
    let db = ctx.client.db;
    let old = match ctx.srv.dbs[db].get(key) {
        None => None,
        Some(o) => match o.val.as_bytes() {
            Some(b) => Some((b.into_owned(), o.expire_at)),
            None if want_get => return ctx.wrongtype(),
            None => Some((Vec::new(), o.expire_at)),
        },
    };
    let exists = old.is_some();
    if (cond == Cond::Nx && exists) || (cond == Cond::Xx && !exists) {
        return if want_get { reply_old(ctx, old) } else { ctx.out().null() };
    }
    let mut obj = Obj::from_bytes(&args[2]);
    if keep_ttl {
        obj.expire_at = old.as_ref().map_or(0, |o| o.1);
    } else if let Some(at) = expire_at {
        obj.expire_at = at;
    }
    ctx.srv.dbs[db].set(key, obj);
    ctx.dirty(1);
    if let Some(at) = expire_at {
        // Replicas and the AOF get an absolute time, so replaying never
        // extends the key's life.
        let mut argv = vec![Bytes::from_static(b"SET"), key.clone(), args[2].clone()];
        argv.push(Bytes::from_static(b"PXAT"));
        argv.push(Bytes::from(at.to_string()));
        if keep_ttl {
            argv.push(Bytes::from_static(b"KEEPTTL"));
        }
        ctx.propagate(argv);
    }
    if want_get {
        reply_old(ctx, old)
    } else {
        ctx.ok()
    }
}

fn reply_old(ctx: &mut Ctx, old: Option<(Vec<u8>, i64)>) {
    match old {
        Some((v, _)) => ctx.out().bulk(&v),
        None => ctx.out().null(),
    }
}

#[derive(Clone, Copy)]
pub enum ExpireUnit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

pub fn expire_unit(a: &[u8]) -> Option<ExpireUnit> {
    if eq_ic(a, "ex") {
        Some(ExpireUnit::Ex)
    } else if eq_ic(a, "px") {
        Some(ExpireUnit::Px)
    } else if eq_ic(a, "exat") {
        Some(ExpireUnit::ExAt)
    } else if eq_ic(a, "pxat") {
        Some(ExpireUnit::PxAt)
    } else {
        None
    }
}

/// Absolute ms time for an expire option; None when invalid (≤ 0 or overflow).
pub fn expire_time(unit: ExpireUnit, n: i64, now: i64) -> Option<i64> {
    if n <= 0 {
        return None;
    }
    let ms = match unit {
        ExpireUnit::Ex | ExpireUnit::ExAt => n.checked_mul(1000)?,
        ExpireUnit::Px | ExpireUnit::PxAt => n,
    };
    match unit {
        ExpireUnit::Ex | ExpireUnit::Px => ms.checked_add(now),
        _ => Some(ms),
    }
}

/// Adds `by` to the integer at `key`, creating it at 0.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) {
    let db = ctx.client.db;
    let current = match ctx.srv.dbs[db].get_mut(key) {
        None => None,
        Some(o) => match &o.val {
            Value::Int(i) => Some((*i, o)),
            Value::Str { data, .. } => match parse_i64(data) {
                Some(i) => Some((i, o)),
                None => return ctx.not_integer(),
            },
            #[allow(unreachable_patterns)]
            _ => return ctx.wrongtype(),
        },
    };
    let base = current.as_ref().map_or(0, |c| c.0);
    let Some(new) = base.checked_add(by) else {
        return ctx.error("ERR increment or decrement would overflow");
    };
    match current {
        Some((_, o)) => o.val = Value::Int(new),
        None => {
            ctx.srv.dbs[db].set(key, Obj::new(Value::Int(new)));
        }
    }
    ctx.dirty(1);
    ctx.out().int(new);
}

fn incr(ctx: &mut Ctx, args: &[Bytes]) {
    incr_by(ctx, &args[1], 1);
}

fn decr(ctx: &mut Ctx, args: &[Bytes]) {
    incr_by(ctx, &args[1], -1);
}

fn incrby(ctx: &mut Ctx, args: &[Bytes]) {
    match parse_i64(&args[2]) {
        Some(by) => incr_by(ctx, &args[1], by),
        None => ctx.not_integer(),
    }
}

fn decrby(ctx: &mut Ctx, args: &[Bytes]) {
    match parse_i64(&args[2]).and_then(i64::checked_neg) {
        Some(by) => incr_by(ctx, &args[1], by),
        None if parse_i64(&args[2]).is_some() => ctx.error("ERR decrement would overflow"),
        None => ctx.not_integer(),
    }
}

fn mget(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out().array(args.len() - 1);
    for key in &args[1..] {
        let db = ctx.client.db;
        let out = &mut ctx.client.out;
        match ctx.srv.dbs[db].get(key).map(|o| &o.val) {
            Some(Value::Int(i)) => out.bulk_i64(*i),
            Some(Value::Str { data, .. }) => out.bulk(data),
            // Missing keys and other types read as nil.
            #[allow(unreachable_patterns)]
            _ => out.null(),
        }
    }
}

fn mset(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len().is_multiple_of(2) {
        return ctx.error("ERR wrong number of arguments for 'mset' command");
    }
    for pair in args[1..].chunks(2) {
        ctx.db().set(&pair[0], Obj::from_bytes(&pair[1]));
    }
    ctx.dirty((args.len() as u64 - 1) / 2);
    ctx.ok();
}
