//! HyperLogLog commands (Redis's hyperloglog.c): PFADD, PFCOUNT, PFMERGE,
//! PFDEBUG, PFSELFTEST. An HLL is a plain string holding Redis's own
//! representation (`types/hyperloglog.rs`), so GET/SET move it between
//! Redis and oxkey unchanged.

use crate::executor::notify::class;
use bytes::Bytes;
use rand::RngCore;

use super::docs::*;
use super::{acl, flags::*, keys, CommandDef, Ctx};
use super::{key_at, key_spec, BeginSearch, FindKeys};
use crate::cmd;
use crate::config::Config;
use crate::db::{Obj, Value};
use crate::types::hyperloglog::{self as hll, Corrupt, REGISTERS};

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "pfadd",
        -2,
        WRITE | DENYOOM | FAST,
        acl::HYPERLOGLOG,
        keys(1, 1, 1),
        pfadd,
        "hyperloglog",
        "2.8.9",
        "O(1) to add every element.",
        "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist."
    )
    .with_args(&[key("key", 0), string("element").optional().multiple()])
    .with_key_specs(&[key_at(1, &["RW", "insert"])]),
    cmd!(
        "pfcount",
        -2,
        READONLY,
        acl::HYPERLOGLOG,
        keys(1, -1, 1),
        pfcount,
        "hyperloglog",
        "2.8.9",
        "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys.",
        "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s)."
    )
    .with_args(&[key("key", 0).multiple()])
    .with_key_specs(&[key_spec(&["RW", "access"], BeginSearch::Index(1), FindKeys::Range { lastkey: -1, step: 1, limit: 0 }).noted("RW because it may change the internal representation of the key, and propagate to replicas")]),
    cmd!(
        "pfdebug",
        3,
        WRITE | DENYOOM | ADMIN,
        acl::HYPERLOGLOG,
        keys(2, 2, 1),
        pfdebug,
        "hyperloglog",
        "2.8.9",
        "N/A",
        "Internal commands for debugging HyperLogLog values."
    )
    .with_args(&[string("subcommand"), key("key", 0)])
    .syscmd()
    .with_key_specs(&[key_at(2, &["RW", "access"])]),
    cmd!(
        "pfmerge",
        -2,
        WRITE | DENYOOM,
        acl::HYPERLOGLOG,
        keys(1, -1, 1),
        pfmerge,
        "hyperloglog",
        "2.8.9",
        "O(N) to merge N HyperLogLogs, but with high constant times.",
        "Merges one or more HyperLogLog values into a single key."
    )
    .with_args(&[key("destkey", 0), key("sourcekey", 1).optional().multiple()])
    .with_key_specs(&[key_at(1, &["RW", "access", "insert"]), key_spec(&["RO", "access"], BeginSearch::Index(2), FindKeys::Range { lastkey: -1, step: 1, limit: 0 })]),
    cmd!(
        "pfselftest",
        1,
        ADMIN,
        acl::HYPERLOGLOG,
        super::NO_KEYS,
        pfselftest,
        "hyperloglog",
        "2.8.9",
        "N/A",
        "An internal command for testing HyperLogLog values."
    )
    .syscmd(),
];

const NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";

/// Why a value is not usable as an HLL.
enum NotHll {
    /// Not a string at all (the usual WRONGTYPE).
    WrongType,
    /// A string without a valid HLL header.
    Invalid,
}

/// Redis's isHLLObjectOrReply.
fn check(val: &Value) -> Result<(), NotHll> {
    match val {
        Value::Str(s) if hll::is_valid(s.as_slice()) => Ok(()),
        // An integer-encoded string is never an HLL.
        v if v.is_string() => Err(NotHll::Invalid),
        _ => Err(NotHll::WrongType),
    }
}

/// The HLL's bytes, writable (raw encoding, as dbUnshareStringValue).
fn hll_mut(val: &mut Value) -> Result<&mut Vec<u8>, NotHll> {
    check(val)?;
    val.str_mut().ok_or(NotHll::WrongType)
}

fn not_hll(ctx: &mut Ctx, e: NotHll) {
    match e {
        NotHll::WrongType => ctx.wrongtype(),
        NotHll::Invalid => ctx.error(NOT_HLL),
    }
}

fn count_hit(ctx: &mut Ctx, hit: bool) {
    ctx.hit(hit);
}

/// PFADD key [element ...]: 1 if a register changed (or the key was
/// created), else 0.
fn pfadd(ctx: &mut Ctx, args: &[Bytes]) {
    let db = ctx.client.db;
    let srv = &mut *ctx.srv;
    let d = &mut srv.dbs[db];
    let outcome = match d.get_mut(&args[1]) {
        None => {
            let mut h = hll::new_sparse();
            let max = srv.config.hll_sparse_max_bytes;
            // A fresh HLL is valid, so adding cannot fail.
            let changed = args[2..].iter().filter(|e| hll::add(&mut h, e, max) == Ok(true)).count();
            hll::invalidate_cache(&mut h);
            d.set(&args[1], Obj::new(Value::raw(h)));
            Ok(changed as u64 + 1)
        }
        Some(o) => match hll_mut(&mut o.val) {
            Err(e) => Err(Some(e)),
            Ok(h) => add_all(h, &args[2..], &srv.config).map_err(|Corrupt| None),
        },
    };
    match outcome {
        Ok(updated) => {
            ctx.dirty(updated);
            if updated > 0 {
                ctx.notify(class::STRING, "pfadd", &args[1]);
            }
            ctx.out().int((updated > 0) as i64);
        }
        Err(Some(e)) => not_hll(ctx, e),
        Err(None) => ctx.error(CORRUPT),
    }
}

/// Adds elements to an existing HLL; how many changed a register. On a
/// corrupted HLL it stops at once, leaving the cache as it was (as Redis).
fn add_all(h: &mut Vec<u8>, elements: &[Bytes], config: &Config) -> Result<u64, Corrupt> {
    // The configuration is only needed while the HLL is sparse.
    let max = if hll::encoding(h) == hll::SPARSE { config.hll_sparse_max_bytes } else { 0 };
    let mut updated = 0;
    for e in elements {
        updated += hll::add(h, e, max)? as u64;
    }
    if updated > 0 {
        hll::invalidate_cache(h);
    }
    Ok(updated)
}

/// PFCOUNT key [key ...]: the cardinality of one HLL (cached in its
/// header), or of the union of several.
fn pfcount(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 2 {
        let mut max = Box::new([0u8; REGISTERS]);
        if let Err(e) = merge_keys(ctx, &args[1..], &mut max) {
            return merge_error(ctx, e);
        }
        let card = hll::estimate(&hll::raw_histogram(&max));
        return ctx.out().int(card as i64);
    }
    let db = ctx.client.db;
    let found = ctx.srv.dbs[db].get_mut(&args[1]);
    let hit = found.is_some();
    // (cardinality, whether the cache was refreshed)
    let res = match found {
        None => Ok((0, false)),
        Some(o) => match hll_mut(&mut o.val) {
            Err(e) => Err(Some(e)),
            Ok(h) => match hll::cached_card(h) {
                Some(card) => Ok((card, false)),
                None => match hll::count(h) {
                    Ok(card) => {
                        hll::set_cached_card(h, card);
                        Ok((card, true))
                    }
                    Err(Corrupt) => Err(None),
                },
            },
        },
    };
    count_hit(ctx, hit);
    match res {
        Ok((card, refreshed)) => {
            // Writing the cache changes the string: Redis counts it as a
            // change (and propagates it).
            if refreshed {
                ctx.dirty(1);
            }
            ctx.out().int(card as i64);
        }
        Err(Some(e)) => not_hll(ctx, e),
        Err(None) => ctx.error(CORRUPT),
    }
}

enum MergeError {
    NotHll(NotHll),
    Corrupt,
}

fn merge_error(ctx: &mut Ctx, e: MergeError) {
    match e {
        MergeError::NotHll(e) => not_hll(ctx, e),
        MergeError::Corrupt => ctx.error(CORRUPT),
    }
}

/// Merges the registers of every existing key into `max` (missing keys are
/// empty HLLs), looking them up for reading. Returns whether any was dense.
fn merge_keys(ctx: &mut Ctx, keys: &[Bytes], max: &mut [u8; REGISTERS]) -> Result<bool, MergeError> {
    let db = ctx.client.db;
    let mut any_dense = false;
    for key in keys {
        let found = ctx.srv.dbs[db].get(key);
        let hit = found.is_some();
        let res = match found {
            None => Ok(()),
            Some(o) => check(&o.val).map_err(MergeError::NotHll).and_then(|()| {
                let h = o.val.as_bytes().unwrap_or_default();
                any_dense |= hll::encoding(&h) == hll::DENSE;
                hll::merge(max, &h).map_err(|Corrupt| MergeError::Corrupt)
            }),
        };
        count_hit(ctx, hit);
        res?;
    }
    Ok(any_dense)
}

/// PFMERGE destkey [sourcekey ...]: the union of the sources and of the
/// destination itself, stored in the destination (dense if any input was).
fn pfmerge(ctx: &mut Ctx, args: &[Bytes]) {
    let mut max = Box::new([0u8; REGISTERS]);
    let use_dense = match merge_keys(ctx, &args[1..], &mut max) {
        Ok(d) => d,
        Err(e) => return merge_error(ctx, e),
    };
    let db = ctx.client.db;
    let srv = &mut *ctx.srv;
    let sparse_max = srv.config.hll_sparse_max_bytes;
    let d = &mut srv.dbs[db];
    let write = |h: &mut Vec<u8>| -> Result<(), Corrupt> {
        if use_dense {
            hll::sparse_to_dense(h)?;
        }
        for (i, &m) in max.iter().enumerate() {
            if m != 0 {
                // As Redis, a failed sparse update is not reported here:
                // the destination was validated as a source already.
                let _ = hll::set(h, i, m, sparse_max);
            }
        }
        hll::invalidate_cache(h);
        Ok(())
    };
    // The destination was checked as a source: it is a valid HLL or absent.
    let res = match d.get_mut(&args[1]).and_then(|o| o.val.str_mut()) {
        Some(h) => write(h),
        None => {
            let mut h = hll::new_sparse();
            let res = write(&mut h);
            d.set(&args[1], Obj::new(Value::raw(h)));
            res
        }
    };
    match res {
        Ok(()) => {
            ctx.dirty(1);
            ctx.notify(class::STRING, "pfadd", &args[1]);
            ctx.ok();
        }
        Err(Corrupt) => ctx.error(CORRUPT),
    }
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
fn pfdebug(ctx: &mut Ctx, args: &[Bytes]) {
    let (sub, key) = (&args[1], &args[2]);
    let db = ctx.client.db;
    let Some(o) = ctx.srv.dbs[db].get_mut(key) else {
        return ctx.error("ERR The specified key does not exist");
    };
    let h = match hll_mut(&mut o.val) {
        Ok(h) => h,
        Err(e) => return not_hll(ctx, e),
    };
    let sparse = hll::encoding(h) == hll::SPARSE;
    let name = sub.iter().position(|&b| b == 0).map_or(&sub[..], |n| &sub[..n]);
    if name.eq_ignore_ascii_case(b"getreg") {
        if sparse && hll::sparse_to_dense(h).is_err() {
            return ctx.error(CORRUPT);
        }
        let regs: Vec<u8> = hll::dense_registers(h).collect();
        if sparse {
            // The encoding changed: force propagation.
            ctx.dirty(1);
        }
        let out = ctx.out();
        out.array(regs.len());
        regs.into_iter().for_each(|r| out.int(r as i64));
    } else if name.eq_ignore_ascii_case(b"decode") {
        if !sparse {
            return ctx.error("ERR HLL encoding is not sparse");
        }
        let text = hll::decode(h);
        ctx.out().bulk(text.as_bytes());
    } else if name.eq_ignore_ascii_case(b"encoding") {
        ctx.out().simple(if sparse { "sparse" } else { "dense" });
    } else if name.eq_ignore_ascii_case(b"todense") {
        if sparse {
            if hll::sparse_to_dense(h).is_err() {
                return ctx.error(CORRUPT);
            }
            ctx.dirty(1);
        }
        ctx.out().int(sparse as i64);
    } else {
        // The name as sent, binary included (newlines become spaces, as in
        // any error reply).
        let mut msg = b"-ERR Unknown PFDEBUG subcommand '".to_vec();
        msg.extend(name.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        msg.extend_from_slice(b"'\r\n");
        ctx.out().raw(&msg);
    }
}

/// PFSELFTEST: checks the register code and the estimator's error.
fn pfselftest(ctx: &mut Ctx, _args: &[Bytes]) {
    let max = ctx.srv.config.hll_sparse_max_bytes;
    let rng = &mut ctx.srv.rng;
    // Redis draws from rand(): 31 random bits.
    match hll::selftest(max, || rng.next_u32() >> 1) {
        Ok(()) => ctx.ok(),
        Err(msg) => ctx.error(&msg),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! What each command propagates, read off the executor's write stream.
    //! Expected forms are those Redis 7.0.15 (and Valkey 9.1) wrote to
    //! their AOF for the same commands.

    use bytes::Bytes;

    use crate::config::Config;
    use crate::executor::{execute, Server, Write};
    use crate::server::client::Client;

    /// Runs the commands on a fresh server; returns what each propagated.
    pub(crate) fn propagated(cmds: &[&str]) -> Vec<Vec<String>> {
        let mut srv = Server::new(Config::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Write>();
        srv.write_subscribers.push(tx);
        let mut client = Client::new(1, "127.0.0.1:1".into(), "127.0.0.1:2".into(), -1, true);
        let mut all = Vec::new();
        for line in cmds {
            let args: Vec<Bytes> = line.split(' ').map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
            execute(&mut srv, &mut client, &args);
            let mut writes = Vec::new();
            while let Ok(w) = rx.try_recv() {
                writes
                    .push(w.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" "));
            }
            all.push(writes);
        }
        all
    }

    #[test]
    fn hll_commands_propagate_what_redis_does() {
        let cmds = [
            "PFADD h a b c",
            "PFADD h a",
            // Refreshing the cached cardinality changes the string.
            "PFCOUNT h",
            "PFCOUNT h",
            "PFCOUNT h h",
            "PFADD h2",
            "PFMERGE h3 h h2",
            "PFDEBUG ENCODING h",
            "PFDEBUG TODENSE h",
            "PFDEBUG TODENSE h",
            "PFDEBUG GETREG h3",
            "SET s foo",
            "PFADD s a",
            "PFCOUNT h3",
            "PFADD h3 zz",
            "PFCOUNT h3 h",
        ];
        let want: &[&[&str]] = &[
            &["PFADD h a b c"],
            &[],
            &["PFCOUNT h"],
            &[],
            &[],
            &["PFADD h2"],
            &["PFMERGE h3 h h2"],
            &[],
            &["PFDEBUG TODENSE h"],
            &[],
            &["PFDEBUG GETREG h3"],
            &["SET s foo"],
            &[],
            &["PFCOUNT h3"],
            &["PFADD h3 zz"],
            &[],
        ];
        let got = propagated(&cmds);
        for (i, (got, want)) in got.iter().zip(want).enumerate() {
            assert_eq!(got, want, "{}", cmds[i]);
        }
    }
}
