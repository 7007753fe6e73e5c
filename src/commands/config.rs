//! CONFIG GET / SET and the other CONFIG subcommands.

use bytes::Bytes;

use super::{flags::*, CommandDef, Ctx, NO_KEYS};
use crate::cmd;

pub static COMMANDS: &[CommandDef] = &[CommandDef {
    name: "config",
    arity: -2,
    flags: 0,
    acl: 0,
    keys: NO_KEYS,
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
        ),
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
        ),
    ],
    group: "server",
    summary: "A container for server configuration commands.",
    since: "2.0.0",
    complexity: "Depends on subcommand.",
}];

fn config_get(ctx: &mut Ctx, args: &[Bytes]) {
    let mut found: Vec<(&'static str, String)> = Vec::new();
    for pat in &args[2..] {
        for (name, value) in ctx.srv.config.matching(pat) {
            if !found.iter().any(|(n, _)| *n == name) {
                found.push((name, value));
            }
        }
    }
    let out = ctx.out();
    out.map(found.len());
    for (n, v) in found {
        out.bulk(n.as_bytes());
        out.bulk(v.as_bytes());
    }
}

fn config_set(ctx: &mut Ctx, args: &[Bytes]) {
    if !args.len().is_multiple_of(2) {
        return ctx.error("ERR wrong number of arguments for 'config|set' command");
    }
    // All or nothing: validate on a copy, then swap in.
    let mut next = ctx.srv.config.clone();
    for pair in args[2..].chunks(2) {
        let name = String::from_utf8_lossy(&pair[0]);
        let value = String::from_utf8_lossy(&pair[1]);
        if let Err(e) = next.set(&name, &value, false) {
            return ctx.error(&format!("ERR {e}"));
        }
    }
    ctx.srv.config = next;
    ctx.ok();
}
