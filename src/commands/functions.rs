//! Functions: FUNCTION (LOAD, LIST, DELETE, FLUSH, DUMP, RESTORE, STATS,
//! KILL, HELP), FCALL and FCALL_RO. The libraries are in
//! `crate::scripting::functions`.

use bytes::Bytes;

use super::docs::*;
use super::introspection::subcommand_syntax_error;
use super::{acl, flags::*, numkeys, CommandDef, Ctx, NO_ELEMENTS, NO_KEYS};
use super::{key_spec, BeginSearch, FindKeys};
use crate::cmd;
use crate::persistence::rdb::SaveOptions;
use crate::scripting::functions::{self, RestorePolicy};
use crate::util::eq_ic;

const FCALL_FLAGS: u64 = NOSCRIPT | SKIP_MONITOR | MAY_REPLICATE | NO_MANDATORY_KEYS | STALE | MOVABLEKEYS;
const FCALL_RO_FLAGS: u64 = NOSCRIPT | SKIP_MONITOR | NO_MANDATORY_KEYS | STALE | READONLY | MOVABLEKEYS;

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "fcall",
        -3,
        FCALL_FLAGS,
        acl::SCRIPTING,
        numkeys(0, 0, 2),
        fcall,
        "scripting",
        "7.0.0",
        "Depends on the function that is executed.",
        "Invokes a function."
    )
    .with_args(&[
        string("function"),
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
        "fcall_ro",
        -3,
        FCALL_RO_FLAGS,
        acl::SCRIPTING,
        numkeys(0, 0, 2),
        fcall_ro,
        "scripting",
        "7.0.0",
        "Depends on the function that is executed.",
        "Invokes a read-only function."
    )
    .with_args(&[
        string("function"),
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
    CommandDef {
        name: "function",
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
                "delete",
                3,
                NOSCRIPT | WRITE,
                acl::SCRIPTING,
                NO_KEYS,
                function_delete,
                "scripting",
                "7.0.0",
                "O(1)",
                "Deletes a library and its functions."
            )
            .with_args(&[string("library-name")])
            .with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
            cmd!(
                "dump",
                2,
                NOSCRIPT,
                acl::SCRIPTING,
                NO_KEYS,
                function_dump,
                "scripting",
                "7.0.0",
                "O(N) where N is the number of functions",
                "Dumps all libraries into a serialized binary payload."
            ),
            cmd!(
                "flush",
                -2,
                NOSCRIPT | WRITE,
                acl::SCRIPTING,
                NO_KEYS,
                function_flush,
                "scripting",
                "7.0.0",
                "O(N) where N is the number of functions deleted",
                "Deletes all libraries and functions."
            )
            .with_args(&[oneof("flush-type", &[pure_token("async", "ASYNC"), pure_token("sync", "SYNC")]).optional()])
            .with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
            cmd!(
                "help",
                2,
                LOADING | STALE,
                acl::SCRIPTING,
                NO_KEYS,
                function_help,
                "scripting",
                "7.0.0",
                "O(1)",
                "Returns helpful text about the different subcommands."
            ),
            cmd!(
                "kill",
                2,
                NOSCRIPT | ALLOW_BUSY,
                acl::SCRIPTING,
                NO_KEYS,
                function_kill,
                "scripting",
                "7.0.0",
                "O(1)",
                "Terminates a function during execution."
            )
            .with_tips(&["request_policy:all_shards", "response_policy:one_succeeded"]),
            cmd!(
                "list",
                -2,
                NOSCRIPT,
                acl::SCRIPTING,
                NO_KEYS,
                function_list,
                "scripting",
                "7.0.0",
                "O(N) where N is the number of functions",
                "Returns information about all libraries."
            )
            .with_args(&[
                string("library-name-pattern").token("LIBRARYNAME").optional(),
                pure_token("withcode", "WITHCODE").optional(),
            ])
            .with_tips(&["nondeterministic_output_order"]),
            cmd!(
                "load",
                -3,
                NOSCRIPT | WRITE | DENYOOM,
                acl::SCRIPTING,
                NO_KEYS,
                function_load,
                "scripting",
                "7.0.0",
                "O(1) (considering compilation time is redundant)",
                "Creates a library."
            )
            .with_args(&[pure_token("replace", "REPLACE").optional(), string("function-code")])
            .with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
            cmd!(
                "restore",
                -3,
                NOSCRIPT | WRITE | DENYOOM,
                acl::SCRIPTING,
                NO_KEYS,
                function_restore,
                "scripting",
                "7.0.0",
                "O(N) where N is the number of functions on the payload",
                "Restores all libraries from a payload."
            )
            .with_args(&[
                string("serialized-value"),
                oneof(
                    "policy",
                    &[pure_token("flush", "FLUSH"), pure_token("append", "APPEND"), pure_token("replace", "REPLACE")],
                )
                .optional(),
            ])
            .with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
            cmd!(
                "stats",
                2,
                NOSCRIPT | ALLOW_BUSY,
                acl::SCRIPTING,
                NO_KEYS,
                function_stats,
                "scripting",
                "7.0.0",
                "O(1)",
                "Returns information about a function during execution."
            )
            .with_tips(&[
                "nondeterministic_output",
                "request_policy:all_shards",
                "response_policy:special",
            ]),
        ],
        docs: NO_DOCS,
        tips: &[],
        group: "scripting",
        summary: "A container for function commands.",
        since: "7.0.0",
        complexity: "Depends on subcommand.",
    },
];

fn fcall(ctx: &mut Ctx, args: &[Bytes]) {
    fcall_generic(ctx, args, false);
}

fn fcall_ro(ctx: &mut Ctx, args: &[Bytes]) {
    fcall_generic(ctx, args, true);
}

/// As EVAL, a function's effects are propagated as the commands it ran.
fn fcall_generic(ctx: &mut Ctx, args: &[Bytes], ro: bool) {
    ctx.propagate_as = Some(Vec::new());
    if let Err(msg) = functions::fcall(ctx.srv, ctx.client, args, ro, ctx.started) {
        ctx.error(&msg);
    }
}

/// After a change to the libraries: they count as a change to the dataset
/// (save points, propagation) and the RDB snapshot carries their code.
fn changed(ctx: &mut Ctx) {
    ctx.dirty(1);
    ctx.srv.persistence.functions = functions::codes();
}

fn function_load(ctx: &mut Ctx, args: &[Bytes]) {
    let mut replace = false;
    let mut i = 2;
    while i < args.len() - 1 {
        if !eq_ic(&args[i], "replace") {
            return ctx.error(&format!("ERR Unknown option given: {}", String::from_utf8_lossy(&args[i])));
        }
        replace = true;
        i += 1;
    }
    match functions::load(&args[args.len() - 1], replace) {
        Ok(name) => {
            changed(ctx);
            ctx.out().bulk(name.as_bytes());
        }
        Err(msg) => ctx.error(&msg),
    }
}

fn function_delete(ctx: &mut Ctx, args: &[Bytes]) {
    match functions::delete(&args[2]) {
        Ok(()) => {
            changed(ctx);
            ctx.ok();
        }
        Err(msg) => ctx.error(&msg),
    }
}

fn function_flush(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        return subcommand_syntax_error(ctx, args);
    }
    if args.len() == 3 && !eq_ic(&args[2], "sync") && !eq_ic(&args[2], "async") {
        return ctx.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    functions::flush();
    changed(ctx);
    ctx.ok();
}

fn function_dump(ctx: &mut Ctx, _args: &[Bytes]) {
    let payload = functions::dump(&SaveOptions::from_config(&ctx.srv.config));
    ctx.out().bulk(&payload);
}

fn function_restore(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 4 {
        return subcommand_syntax_error(ctx, args);
    }
    let policy = match args.get(3) {
        None => RestorePolicy::Append,
        Some(p) if eq_ic(p, "append") => RestorePolicy::Append,
        Some(p) if eq_ic(p, "replace") => RestorePolicy::Replace,
        Some(p) if eq_ic(p, "flush") => RestorePolicy::Flush,
        Some(_) => {
            return ctx.error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
        }
    };
    match functions::restore(&args[2], policy) {
        Ok(()) => {
            changed(ctx);
            ctx.ok();
        }
        Err(msg) => ctx.error(&msg),
    }
}

fn function_list(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut with_code, mut pattern) = (false, None);
    let mut i = 2;
    while i < args.len() {
        if !with_code && eq_ic(&args[i], "withcode") {
            with_code = true;
        } else if pattern.is_none() && eq_ic(&args[i], "libraryname") {
            let Some(p) = args.get(i + 1) else {
                return ctx.error("ERR library name argument was not given");
            };
            pattern = Some(&p[..]);
            i += 1;
        } else {
            return ctx.error(&format!("ERR Unknown argument {}", String::from_utf8_lossy(&args[i])));
        }
        i += 1;
    }
    functions::list(ctx.out(), pattern, with_code);
}

fn function_stats(ctx: &mut Ctx, _args: &[Bytes]) {
    let Ctx { srv, client, .. } = ctx;
    if let Err(msg) = functions::stats(&mut client.out, srv.busy.as_ref()) {
        ctx.error(msg);
    }
}

/// Sent by another client while a function runs long (server::busy).
fn function_kill(ctx: &mut Ctx, _args: &[Bytes]) {
    match crate::scripting::kill(crate::scripting::ScriptKind::Function) {
        Ok(()) => ctx.ok(),
        Err(msg) => ctx.error(msg),
    }
}

fn function_help(ctx: &mut Ctx, args: &[Bytes]) {
    const LINES: &[&str] = &[
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
    ];
    super::introspection::reply_help(ctx, args, LINES);
}
