//! Persistence commands: DUMP, RESTORE, SAVE, BGSAVE, BGREWRITEAOF, and
//! DEBUG RELOAD's implementation. (LASTSAVE and SHUTDOWN live with the
//! server commands.)

use crate::executor::notify::class;
use bytes::Bytes;

use super::docs::*;
use super::key_at;
use super::{acl, flags::*, keys, CommandDef, Ctx, NO_KEYS};
use crate::cmd;
use crate::persistence::{self, rdb};
use crate::util::{eq_ic, now_ms, parse_i64};

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "dump",
        2,
        READONLY,
        acl::KEYSPACE,
        keys(1, 1, 1),
        dump,
        "generic",
        "2.6.0",
        "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
        "Returns a serialized representation of the value stored at a key."
    )
    .with_args(&[key("key", 0)])
    .with_tips(&["nondeterministic_output"]),
    cmd!(
        "restore",
        -4,
        WRITE | DENYOOM,
        acl::KEYSPACE | acl::DANGEROUS,
        keys(1, 1, 1),
        restore,
        "generic",
        "2.6.0",
        "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
        "Creates a key from the serialized representation of a value."
    )
    .with_args(&[
        key("key", 0),
        integer("ttl"),
        string("serialized-value"),
        pure_token("replace", "REPLACE").since("3.0.0").optional(),
        pure_token("absttl", "ABSTTL").since("5.0.0").optional(),
        integer("seconds").token("IDLETIME").since("5.0.0").optional(),
        integer("frequency").token("FREQ").since("5.0.0").optional(),
    ])
    .with_history(&[
        ("3.0.0", "Added the `REPLACE` modifier."),
        ("5.0.0", "Added the `ABSTTL` modifier."),
        ("5.0.0", "Added the `IDLETIME` and `FREQ` options."),
    ])
    .with_key_specs(&[key_at(1, &["OW", "update"])]),
    cmd!(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        0,
        NO_KEYS,
        save,
        "server",
        "1.0.0",
        "O(N) where N is the total number of keys in all databases",
        "Synchronously saves the database(s) to disk."
    ),
    cmd!(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        0,
        NO_KEYS,
        bgsave,
        "server",
        "1.0.0",
        "O(1)",
        "Asynchronously saves the database(s) to disk."
    )
    .with_args(&[oneof("operation", &[pure_token("schedule", "SCHEDULE").since("3.2.2")]).optional()])
    .with_history(&[("3.2.2", "Added the `SCHEDULE` option.")]),
    cmd!(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        0,
        NO_KEYS,
        bgrewriteaof,
        "server",
        "1.0.0",
        "O(1)",
        "Asynchronously rewrites the append-only file to disk."
    ),
];

fn dump(ctx: &mut Ctx, args: &[Bytes]) {
    let opts = rdb::SaveOptions::from_config(&ctx.srv.config);
    let payload = match ctx.db().get(&args[1]) {
        Some(o) => rdb::dump_payload(&o.val, &opts),
        None => return ctx.out().null(),
    };
    ctx.out().bulk(&payload);
}

fn restore(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < args.len() {
        let more = args.len() - j - 1;
        let a = &args[j];
        if eq_ic(a, "replace") {
            replace = true;
        } else if eq_ic(a, "absttl") {
            absttl = true;
        } else if eq_ic(a, "idletime") && more >= 1 && freq.is_none() {
            let Some(v) = parse_i64(&args[j + 1]) else { return ctx.not_integer() };
            if v < 0 {
                return ctx.error("ERR Invalid IDLETIME value, must be >= 0");
            }
            idle = Some(v);
            j += 1;
        } else if eq_ic(a, "freq") && more >= 1 && idle.is_none() {
            let Some(v) = parse_i64(&args[j + 1]) else { return ctx.not_integer() };
            if !(0..=255).contains(&v) {
                return ctx.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
            }
            freq = Some(v);
            j += 1;
        } else {
            return ctx.syntax_error();
        }
        j += 1;
    }
    let key = &args[1];
    if !replace && ctx.db().contains(key) {
        return ctx.error("BUSYKEY Target key name already exists.");
    }
    let Some(mut ttl) = parse_i64(&args[2]) else { return ctx.not_integer() };
    if ttl < 0 {
        return ctx.error("ERR Invalid TTL value, must be >= 0");
    }
    let payload = &args[3];
    if !rdb::verify_dump_payload(payload) {
        return ctx.error("ERR DUMP payload version or checksum are wrong");
    }
    let limits = ctx.srv.config.encoding;
    let Ok(val) = rdb::restore_payload(payload, &limits) else { return ctx.error("ERR Bad data format") };
    let deleted = replace && ctx.db().del(key).is_some();
    let now = now_ms();
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(now);
    }
    if ttl != 0 && ttl <= now {
        // Already expired: nothing is created (an overwritten key is gone,
        // and that is propagated as a DEL).
        if deleted {
            ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
            ctx.dirty(1);
            ctx.notify(class::GENERIC, "del", key);
        }
        return ctx.ok();
    }
    let mut obj = crate::db::Obj::new(val);
    rdb::set_access(&mut obj, idle.map(|v| v as u64), freq.map(|v| v as u32));
    ctx.db().add(key, obj, ttl);
    if ttl != 0 && !absttl {
        // Propagated with the absolute time, as Redis rewrites it.
        let mut argv = args.to_vec();
        argv[2] = Bytes::from(ttl.to_string());
        argv.push(Bytes::from_static(b"ABSTTL"));
        ctx.propagate(argv);
    }
    ctx.dirty(1);
    ctx.notify(class::GENERIC, "restore", key);
    ctx.ok();
}

fn save(ctx: &mut Ctx, _args: &[Bytes]) {
    if ctx.srv.persistence.bgsave_in_progress() {
        return ctx.error("ERR Background save already in progress");
    }
    // Only SAVE and BGSAVE count in rdb_saves, as in Redis.
    ctx.srv.persistence.rdb_saves += 1;
    match persistence::save(ctx.srv) {
        Ok(()) => ctx.ok(),
        Err(_) => ctx.error("ERR"),
    }
}

fn bgsave(ctx: &mut Ctx, args: &[Bytes]) {
    let schedule = match args.len() {
        1 => false,
        2 if eq_ic(&args[1], "schedule") => true,
        _ => return ctx.syntax_error(),
    };
    if ctx.srv.persistence.bgsave_in_progress() {
        return ctx.error("ERR Background save already in progress");
    }
    // SCHEDULE waits behind an AOF rewrite; behind a save Redis refuses
    // either way.
    if ctx.srv.persistence.aof.rewrite_in_progress() {
        if schedule {
            ctx.srv.persistence.bgsave_scheduled = true;
            return ctx.out().simple("Background saving scheduled");
        }
        return ctx.error("ERR An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    match persistence::bgsave(ctx.srv) {
        Ok(()) => ctx.out().simple("Background saving started"),
        Err(_) => ctx.error("ERR"),
    }
}

fn bgrewriteaof(ctx: &mut Ctx, _args: &[Bytes]) {
    let p = &mut ctx.srv.persistence;
    if p.aof.rewrite_in_progress() {
        return ctx.error("ERR Background append only file rewriting already in progress");
    }
    if p.bgsave_in_progress() {
        p.aof.rewrite_scheduled = true;
        return ctx.out().simple("Background append only file rewriting scheduled");
    }
    match persistence::aof::start_rewrite(ctx.srv) {
        Ok(()) => ctx.out().simple("Background append only file rewriting started"),
        Err(_) => ctx
            .error("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."),
    }
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the dataset and
/// load the file again (MERGE: keys in the file replace existing ones;
/// NOFLUSH: the dataset is not emptied first; NOSAVE: the current file is
/// loaded without saving).
pub fn debug_reload(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for a in &args[2..] {
        if eq_ic(a, "merge") {
            merge = true;
        } else if eq_ic(a, "noflush") {
            flush = false;
        } else if eq_ic(a, "nosave") {
            save = false;
        } else {
            return ctx.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
        }
    }
    // A background save would mix the old and the reloaded dataset.
    persistence::snapshot::abort(ctx.srv);
    if save && persistence::save(ctx.srv).is_err() {
        return ctx.error("ERR");
    }
    if flush {
        for db in ctx.srv.dbs.iter_mut() {
            db.clear();
        }
    }
    let path = persistence::snapshot::rdb_path(ctx.srv);
    match persistence::load_file(ctx.srv, &path, merge) {
        Ok(_) => {
            tracing::info!("DB reloaded by DEBUG RELOAD");
            ctx.ok()
        }
        Err(e) => {
            tracing::warn!("{e}");
            ctx.error("ERR Error trying to load the RDB dump, check server logs.")
        }
    }
}
