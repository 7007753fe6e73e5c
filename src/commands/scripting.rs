//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT
//! (LOAD, EXISTS, FLUSH, KILL, HELP). The interpreter is in
//! `crate::scripting`.

use bytes::Bytes;

use super::docs::*;
use super::{acl, flags::*, numkeys, CommandDef, Ctx, NO_ELEMENTS, NO_KEYS};
use super::{key_spec, BeginSearch, FindKeys};
use crate::cmd;
use crate::scripting;

const EVAL_FLAGS: u64 = NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | STALE | MOVABLEKEYS;
const EVAL_RO_FLAGS: u64 = NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | READONLY | MOVABLEKEYS;

pub static COMMANDS: &[CommandDef] =
    &[
        cmd!(
            "eval",
            -3,
            EVAL_FLAGS,
            acl::SCRIPTING,
            numkeys(0, 0, 2),
            eval,
            "scripting",
            "2.6.0",
            "Depends on the script that is executed.",
            "Executes a server-side Lua script."
        )
        .with_args(&[
            string("script"),
            integer("numkeys"),
            key("key", 0).optional().multiple(),
            string("arg").optional().multiple(),
        ])
        .with_key_specs(&[key_spec(
            &["RW", "access", "update"],
            BeginSearch::Index(2),
            FindKeys::KeyNum { keynumidx: 0, firstkey: 1, step: 1 },
        )
        .noted("We cannot tell how the keys will be used so we assume the worst, RW and UPDATE")]),
        cmd!(
            "evalsha",
            -3,
            EVAL_FLAGS,
            acl::SCRIPTING,
            numkeys(0, 0, 2),
            evalsha,
            "scripting",
            "2.6.0",
            "Depends on the script that is executed.",
            "Executes a server-side Lua script by SHA1 digest."
        )
        .with_args(&[
            string("sha1"),
            integer("numkeys"),
            key("key", 0).optional().multiple(),
            string("arg").optional().multiple(),
        ]),
        cmd!(
            "eval_ro",
            -3,
            EVAL_RO_FLAGS,
            acl::SCRIPTING,
            numkeys(0, 0, 2),
            eval_ro,
            "scripting",
            "7.0.0",
            "Depends on the script that is executed.",
            "Executes a read-only server-side Lua script."
        )
        .with_args(&[
            string("script"),
            integer("numkeys"),
            key("key", 0).optional().multiple(),
            string("arg").optional().multiple(),
        ])
        .with_key_specs(&[key_spec(
            &["RO", "access"],
            BeginSearch::Index(2),
            FindKeys::KeyNum { keynumidx: 0, firstkey: 1, step: 1 },
        )
        .noted("We cannot tell how the keys will be used so we assume the worst, RO and ACCESS")]),
        cmd!(
            "evalsha_ro",
            -3,
            EVAL_RO_FLAGS,
            acl::SCRIPTING,
            numkeys(0, 0, 2),
            evalsha_ro,
            "scripting",
            "7.0.0",
            "Depends on the script that is executed.",
            "Executes a read-only server-side Lua script by SHA1 digest."
        )
        .with_args(&[
            string("sha1"),
            integer("numkeys"),
            key("key", 0).optional().multiple(),
            string("arg").optional().multiple(),
        ]),
        CommandDef {
            name: "script",
            arity: -2,
            flags: 0,
            acl: 0,
            keys: NO_KEYS,
            key_specs: &[],
            key_finder: None,
            elements: NO_ELEMENTS,
            handler: None,
            subcommands: &[
                cmd!("exists", -3, NOSCRIPT, acl::SCRIPTING, NO_KEYS, script_exists,
                 "scripting", "2.6.0",
                 "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
                 "Determines whether server-side Lua scripts exist in the script cache.")
                .with_args(&[string("sha1").multiple()])
                .with_tips(&["request_policy:all_shards", "response_policy:agg_logical_and"]),
                cmd!(
                    "flush",
                    -2,
                    NOSCRIPT,
                    acl::SCRIPTING,
                    NO_KEYS,
                    script_flush,
                    "scripting",
                    "2.6.0",
                    "O(N) with N being the number of scripts in cache",
                    "Removes all server-side Lua scripts from the script cache."
                )
                .with_args(&[oneof("flush-type", &[pure_token("async", "ASYNC"), pure_token("sync", "SYNC")])
                    .since("6.2.0")
                    .optional()])
                .with_history(&[("6.2.0", "Added the `ASYNC` and `SYNC` flushing mode modifiers.")])
                .with_tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
                cmd!(
                    "help",
                    2,
                    LOADING | STALE,
                    acl::SCRIPTING,
                    NO_KEYS,
                    script_help,
                    "scripting",
                    "5.0.0",
                    "O(1)",
                    "Returns helpful text about the different subcommands."
                ),
                cmd!(
                    "kill",
                    2,
                    NOSCRIPT | ALLOW_BUSY,
                    acl::SCRIPTING,
                    NO_KEYS,
                    script_kill,
                    "scripting",
                    "2.6.0",
                    "O(1)",
                    "Terminates a server-side Lua script during execution."
                )
                .with_tips(&["request_policy:all_shards", "response_policy:one_succeeded"]),
                cmd!(
                    "load",
                    3,
                    NOSCRIPT | STALE,
                    acl::SCRIPTING,
                    NO_KEYS,
                    script_load,
                    "scripting",
                    "2.6.0",
                    "O(N) with N being the length in bytes of the script body.",
                    "Loads a server-side Lua script to the script cache."
                )
                .with_args(&[string("script")])
                .with_tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
            ],
            docs: NO_DOCS,
            tips: &[],
            group: "scripting",
            summary: "A container for Lua scripts management commands.",
            since: "2.6.0",
            complexity: "Depends on subcommand.",
        },
    ];

fn eval(ctx: &mut Ctx, args: &[Bytes]) {
    eval_generic(ctx, args, false, false);
}

fn evalsha(ctx: &mut Ctx, args: &[Bytes]) {
    eval_generic(ctx, args, true, false);
}

fn eval_ro(ctx: &mut Ctx, args: &[Bytes]) {
    eval_generic(ctx, args, false, true);
}

fn evalsha_ro(ctx: &mut Ctx, args: &[Bytes]) {
    eval_generic(ctx, args, true, true);
}

/// Redis's evalGenericCommand. The script's effects are propagated as the
/// commands it ran (wrapped in MULTI/EXEC), never the EVAL itself.
fn eval_generic(ctx: &mut Ctx, args: &[Bytes], by_sha: bool, readonly: bool) {
    let n = match scripting::parse_numkeys(&args[2], args.len() - 3) {
        Ok(n) => n,
        Err(msg) => return ctx.error(msg),
    };
    let (mut hex, loaded);
    let sha = if by_sha {
        hex = [0u8; 40];
        match scripting::digest_key(&args[1], &mut hex) {
            Some(sha) => sha,
            None => return ctx.error(NOSCRIPT_MSG),
        }
    } else {
        loaded = match scripting::load(&args[1]) {
            Ok(sha) => sha,
            Err(msg) => return ctx.error(&msg),
        };
        loaded.as_str()
    };
    ctx.propagate_as = Some(Vec::new());
    let (keys, argv) = args[3..].split_at(n);
    let script_args = scripting::ScriptArgs { command: args, started: ctx.started, keys, argv, as_globals: true };
    if !scripting::run(ctx.srv, ctx.client, sha, script_args, readonly) {
        ctx.error(NOSCRIPT_MSG);
    }
}

const NOSCRIPT_MSG: &str = "NOSCRIPT No matching script. Please use EVAL.";

fn script_exists(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out().array(args.len() - 2);
    for sha in &args[2..] {
        let found = scripting::exists(sha);
        ctx.out().int(found as i64);
    }
}

fn script_flush(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3
        || (args.len() == 3 && !(crate::util::eq_ic(&args[2], "sync") || crate::util::eq_ic(&args[2], "async")))
    {
        return ctx.error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    scripting::flush();
    ctx.ok();
}

/// Sent by another client while a script runs long (server::busy).
fn script_kill(ctx: &mut Ctx, _args: &[Bytes]) {
    match scripting::kill(scripting::ScriptKind::Eval) {
        Ok(()) => ctx.ok(),
        Err(msg) => ctx.error(msg),
    }
}

fn script_load(ctx: &mut Ctx, args: &[Bytes]) {
    match scripting::load(&args[2]) {
        Ok(sha) => ctx.out().bulk(sha.as_bytes()),
        Err(msg) => ctx.error(&msg),
    }
}

fn script_help(ctx: &mut Ctx, args: &[Bytes]) {
    const LINES: &[&str] = &[
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
    ];
    super::introspection::reply_help(ctx, args, LINES);
}
