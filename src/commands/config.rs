//! CONFIG GET / SET / RESETSTAT / REWRITE / HELP. The parameters
//! themselves, their validation and the file rewrite live in `crate::config`.

use bytes::Bytes;

use super::docs::*;
use super::{flags::*, CommandDef, Ctx, NO_ELEMENTS, NO_KEYS};
use crate::cmd;
use crate::config::{flags::SENSITIVE, param};

pub static COMMANDS: &[CommandDef] = &[CommandDef {
    name: "config",
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
            "get",
            -3,
            ADMIN | NOSCRIPT | LOADING | STALE,
            0,
            NO_KEYS,
            config_get,
            "server",
            "2.0.0",
            "O(N) when N is the number of configuration parameters provided",
            "Returns the effective values of configuration parameters."
        )
        .with_args(&[string("parameter").multiple()])
        .with_history(&[("7.0.0", "Added the ability to pass multiple pattern parameters in one call")]),
        cmd!(
            "set",
            -4,
            ADMIN | NOSCRIPT | LOADING | STALE,
            0,
            NO_KEYS,
            config_set,
            "server",
            "2.0.0",
            "O(N) when N is the number of configuration parameters provided",
            "Sets configuration parameters in-flight."
        )
        .with_args(&[block("data", &[string("parameter"), string("value")]).multiple()])
        .with_history(&[("7.0.0", "Added the ability to set multiple parameters in one call.")])
        .with_tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
        cmd!(
            "resetstat",
            2,
            ADMIN | NOSCRIPT | LOADING | STALE,
            0,
            NO_KEYS,
            config_resetstat,
            "server",
            "2.0.0",
            "O(1)",
            "Resets the server's statistics."
        ),
        cmd!(
            "rewrite",
            2,
            ADMIN | NOSCRIPT | LOADING | STALE,
            0,
            NO_KEYS,
            config_rewrite,
            "server",
            "2.8.0",
            "O(1)",
            "Persists the effective configuration to file."
        ),
        cmd!(
            "help",
            2,
            LOADING | STALE,
            0,
            NO_KEYS,
            config_help,
            "server",
            "5.0.0",
            "O(1)",
            "Returns helpful text about the different subcommands."
        ),
    ],
    docs: NO_DOCS,
    tips: &[],
    group: "server",
    summary: "A container for server configuration commands.",
    since: "2.0.0",
    complexity: "Depends on subcommand.",
}];

fn config_get(ctx: &mut Ctx, args: &[Bytes]) {
    let patterns: Vec<&[u8]> = args[2..].iter().map(|a| &a[..]).collect();
    let found = ctx.srv.config.config_get(&patterns);
    let out = &mut ctx.client.out;
    out.map(found.len());
    for (name, value) in found {
        out.bulk(&name);
        out.bulk(value.as_bytes());
    }
}

fn config_set(ctx: &mut Ctx, args: &[Bytes]) {
    // Name/value pairs only.
    if !args.len().is_multiple_of(2) {
        return ctx.syntax_error();
    }
    // Secrets never reach MONITOR or the slow log, even when the call fails.
    for (i, pair) in args[2..].chunks(2).enumerate() {
        let sensitive = std::str::from_utf8(&pair[0]).ok().and_then(param).is_some_and(|p| p.flags & SENSITIVE != 0);
        if sensitive {
            ctx.redact(3 + 2 * i);
        }
    }
    let pairs: Vec<(&[u8], &[u8])> = args[2..].chunks(2).map(|p| (&p[0][..], &p[1][..])).collect();
    let local = is_local(&ctx.client.addr);
    match ctx.srv.config.config_set(&pairs, local) {
        Ok(()) => {
            // Key lookups track LRU or LFU by the policy: switch at once.
            crate::db::refresh_access(&ctx.srv.config);
            // The AOF follows appendonly / appendfsync at once.
            if crate::persistence::aof::config_changed(ctx.srv).is_err() {
                let _ = ctx.srv.config.set("appendonly", "no", true);
                return ctx.error(
                    "ERR CONFIG SET failed (possibly related to argument 'appendonly') - Unable to turn on AOF. Check server logs.",
                );
            }
            ctx.ok()
        }
        Err(e) => ctx.error(&format!("ERR {e}")),
    }
}

/// Whether a client connects from this host (loopback or a unix socket),
/// for `enable-protected-configs local`.
fn is_local(addr: &str) -> bool {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(a) => a.ip().is_loopback(),
        Err(_) => addr.starts_with('/'),
    }
}

fn config_resetstat(ctx: &mut Ctx, _args: &[Bytes]) {
    // Server, per-command and error statistics, as Redis's resetServerStats,
    // resetCommandTableStats and resetErrorTableStats.
    ctx.srv.stats.reset();
    ctx.ok();
}

fn config_rewrite(ctx: &mut Ctx, _args: &[Bytes]) {
    match ctx.srv.config.rewrite() {
        Ok(()) => ctx.ok(),
        Err(e) => ctx.error(&format!("ERR {e}")),
    }
}

fn config_help(ctx: &mut Ctx, args: &[Bytes]) {
    const HELP: &[&str] = &[
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
    ];
    super::introspection::reply_help(ctx, args, HELP);
}
