//! Generic keyspace commands (Redis's "generic" group).

use bytes::Bytes;

use super::{acl, flags::*, keys, CommandDef, Ctx};
use crate::cmd;
use crate::util::now_ms;

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
        "O(N) where N is the number of keys that will be removed.",
        "Deletes one or more keys."
    ),
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
    ),
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
    ),
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
    ),
];

fn del(ctx: &mut Ctx, args: &[Bytes]) {
    let mut n = 0;
    for k in &args[1..] {
        if ctx.db().del(k).is_some() {
            n += 1;
        }
    }
    ctx.dirty(n);
    ctx.out().int(n as i64);
}

fn exists(ctx: &mut Ctx, args: &[Bytes]) {
    let n = args[1..].iter().filter(|k| ctx.srv.dbs[ctx.client.db].contains(k)).count();
    ctx.out().int(n as i64);
}

/// Remaining time to live in ms: -2 missing, -1 no expire.
fn remaining_ms(ctx: &mut Ctx, key: &[u8]) -> i64 {
    match ctx.db().get(key) {
        None => -2,
        Some(o) if o.expire_at == 0 => -1,
        Some(o) => (o.expire_at - now_ms()).max(0),
    }
}

fn ttl(ctx: &mut Ctx, args: &[Bytes]) {
    let ms = remaining_ms(ctx, &args[1]);
    // Rounded to the nearest second, as Redis does.
    let v = if ms < 0 { ms } else { (ms + 500) / 1000 };
    ctx.out().int(v);
}

fn pttl(ctx: &mut Ctx, args: &[Bytes]) {
    let ms = remaining_ms(ctx, &args[1]);
    ctx.out().int(ms);
}
