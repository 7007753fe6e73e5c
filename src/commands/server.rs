//! Server commands: DBSIZE, FLUSHDB, FLUSHALL, TIME, SHUTDOWN, COMMAND, INFO.

use bytes::Bytes;

use super::{acl, flags::*, CommandDef, Ctx, NO_KEYS};
use crate::cmd;
use crate::executor::ShutdownMode;
use crate::util::{eq_ic, now_us};

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "dbsize",
        1,
        READONLY | FAST,
        acl::KEYSPACE,
        NO_KEYS,
        dbsize,
        "server",
        "1.0.0",
        "O(1)",
        "Returns the number of keys in the database."
    ),
    cmd!(
        "flushdb",
        -1,
        WRITE,
        acl::KEYSPACE | acl::DANGEROUS,
        NO_KEYS,
        flushdb,
        "server",
        "1.0.0",
        "O(N) where N is the number of keys in the selected database",
        "Removes all keys from the current database."
    ),
    cmd!(
        "flushall",
        -1,
        WRITE,
        acl::KEYSPACE | acl::DANGEROUS,
        NO_KEYS,
        flushall,
        "server",
        "1.0.0",
        "O(N) where N is the total number of keys in all databases",
        "Removes all keys from all databases."
    ),
    cmd!("time", 1, LOADING | STALE | FAST, 0, NO_KEYS, time, "server", "2.6.0", "O(1)", "Returns the server time."),
    cmd!(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        0,
        NO_KEYS,
        shutdown,
        "server",
        "1.0.0",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
        "Synchronously saves the database(s) to disk and shuts down the Redis server."
    ),
];

pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) {
    let n = ctx.db().len();
    ctx.out().int(n as i64);
}

/// Parses the optional ASYNC|SYNC argument of FLUSHDB/FLUSHALL.
fn flush_mode_ok(ctx: &mut Ctx, args: &[Bytes]) -> bool {
    match args.len() {
        1 => true,
        2 if eq_ic(&args[1], "async") || eq_ic(&args[1], "sync") => true,
        _ => {
            ctx.syntax_error();
            false
        }
    }
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) {
    if !flush_mode_ok(ctx, args) {
        return;
    }
    let n = ctx.db().len() as u64;
    ctx.db().clear();
    ctx.dirty(n.max(1));
    ctx.ok();
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) {
    if !flush_mode_ok(ctx, args) {
        return;
    }
    let mut n = 0;
    for db in ctx.srv.dbs.iter_mut() {
        n += db.len() as u64;
        db.clear();
    }
    ctx.dirty(n.max(1));
    ctx.ok();
}

fn time(ctx: &mut Ctx, _args: &[Bytes]) {
    let us = now_us();
    let out = ctx.out();
    out.array(2);
    out.bulk((us / 1_000_000).to_string().as_bytes());
    out.bulk((us % 1_000_000).to_string().as_bytes());
}

fn shutdown(ctx: &mut Ctx, args: &[Bytes]) {
    let mut mode = ShutdownMode::Default;
    for a in &args[1..] {
        if eq_ic(a, "nosave") {
            mode = ShutdownMode::NoSave;
        } else if eq_ic(a, "save") {
            mode = ShutdownMode::Save;
        } else if eq_ic(a, "now") || eq_ic(a, "force") {
        } else if eq_ic(a, "abort") {
            if args.len() != 2 {
                return ctx.syntax_error();
            }
            return ctx.error("ERR No shutdown in progress.");
        } else {
            return ctx.syntax_error();
        }
    }
    ctx.srv.shutdown = Some(mode);
    ctx.srv.shutdown_notify.notify_one();
    // Like Redis, the connection just closes: no reply on success.
    ctx.client.close_after_reply = true;
}
