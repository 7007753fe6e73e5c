//! Introspection: COMMAND (every reply built from the command table),
//! SLOWLOG and DEBUG; the gate Redis puts in front of protected commands;
//! and the README's table of supported commands, generated from the same
//! table.

use std::borrow::Cow;
use std::fmt::Write as _;

use bytes::Bytes;

use super::docs::*;
use super::{
    acl, flags, flags::*, key_spec, table, BeginSearch, CommandDef, Ctx, FindKeys, FoundKey, KeySpec, KeySpecDef,
};
use super::{NO_ELEMENTS, NO_KEYS};
use crate::cmd;
use crate::db::{Obj, Value};
use crate::executor::Server;
use crate::protocol::Out;
use crate::server::client::Client;
use crate::util::{eq_ic, glob_match, parse_i64};

pub static COMMANDS: &[CommandDef] = &[
    CommandDef {
        name: "command",
        arity: -1,
        flags: LOADING | STALE,
        acl: acl::CONNECTION,
        keys: NO_KEYS,
        key_specs: &[],
        key_finder: None,
        elements: NO_ELEMENTS,
        handler: Some(command),
        subcommands: &[
            cmd!(
                "count",
                2,
                LOADING | STALE,
                acl::CONNECTION,
                NO_KEYS,
                command_count,
                "server",
                "2.8.13",
                "O(1)",
                "Returns a count of commands."
            ),
            cmd!(
                "docs",
                -2,
                LOADING | STALE,
                acl::CONNECTION,
                NO_KEYS,
                command_docs,
                "server",
                "7.0.0",
                "O(N) where N is the number of commands to look up",
                "Returns documentary information about one, multiple or all commands."
            )
            .with_args(&[string("command-name").optional().multiple()])
            .with_tips(&["nondeterministic_output_order"]),
            // Redis 7.2 takes a command without arguments (arity -3); 7.0
            // wanted at least one argument (-4).
            cmd!(
                "getkeys",
                -3,
                LOADING | STALE,
                acl::CONNECTION,
                NO_KEYS,
                command_getkeys,
                "server",
                "2.8.13",
                "O(N) where N is the number of arguments to the command",
                "Extracts the key names from an arbitrary command."
            )
            .with_args(&[string("command"), string("arg").optional().multiple()]),
            cmd!(
                "getkeysandflags",
                -3,
                LOADING | STALE,
                acl::CONNECTION,
                NO_KEYS,
                command_getkeysandflags,
                "server",
                "7.0.0",
                "O(N) where N is the number of arguments to the command",
                "Extracts the key names and access flags for an arbitrary command."
            )
            .with_args(&[string("command"), string("arg").optional().multiple()]),
            cmd!(
                "help",
                2,
                LOADING | STALE,
                acl::CONNECTION,
                NO_KEYS,
                command_help,
                "server",
                "5.0.0",
                "O(1)",
                "Returns helpful text about the different subcommands."
            ),
            cmd!(
                "info",
                -2,
                LOADING | STALE,
                acl::CONNECTION,
                NO_KEYS,
                command_info,
                "server",
                "2.8.13",
                "O(N) where N is the number of commands to look up",
                "Returns information about one, multiple or all commands."
            )
            .with_args(&[string("command-name").optional().multiple()])
            .with_history(&[("7.0.0", "Allowed to be called with no argument to get info on all commands.")])
            .with_tips(&["nondeterministic_output_order"]),
            cmd!(
                "list",
                -2,
                LOADING | STALE,
                acl::CONNECTION,
                NO_KEYS,
                command_list,
                "server",
                "7.0.0",
                "O(N) where N is the total number of Redis commands",
                "Returns a list of command names."
            )
            .with_args(&[oneof(
                "filterby",
                &[
                    string("module-name").token("MODULE"),
                    string("category").token("ACLCAT"),
                    pattern("pattern").token("PATTERN"),
                ],
            )
            .token("FILTERBY")
            .optional()])
            .with_tips(&["nondeterministic_output_order"]),
        ],
        docs: NO_DOCS,
        tips: &["nondeterministic_output_order"],
        group: "server",
        summary: "Returns detailed information about all commands.",
        since: "2.8.13",
        complexity: "O(N) where N is the total number of Redis commands",
    },
    CommandDef {
        name: "slowlog",
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
                -2,
                ADMIN | LOADING | STALE,
                0,
                NO_KEYS,
                slowlog_get,
                "server",
                "2.2.12",
                "O(N) where N is the number of entries returned",
                "Returns the slow log's entries."
            )
            .with_args(&[integer("count").optional()])
            .with_history(&[("4.0.0", "Added client IP address, port and name to the reply.")])
            .with_tips(&["request_policy:all_nodes", "nondeterministic_output"]),
            cmd!(
                "help",
                2,
                LOADING | STALE,
                0,
                NO_KEYS,
                slowlog_help,
                "server",
                "6.2.0",
                "O(1)",
                "Show helpful text about the different subcommands"
            ),
            cmd!(
                "len",
                2,
                ADMIN | LOADING | STALE,
                0,
                NO_KEYS,
                slowlog_len,
                "server",
                "2.2.12",
                "O(1)",
                "Returns the number of entries in the slow log."
            )
            .with_tips(&["request_policy:all_nodes", "response_policy:agg_sum", "nondeterministic_output"]),
            cmd!(
                "reset",
                2,
                ADMIN | LOADING | STALE,
                0,
                NO_KEYS,
                slowlog_reset,
                "server",
                "2.2.12",
                "O(N) where N is the number of entries in the slowlog",
                "Clears all entries from the slow log."
            )
            .with_tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
        ],
        docs: NO_DOCS,
        tips: &[],
        group: "server",
        summary: "A container for slow log commands.",
        since: "2.2.12",
        complexity: "Depends on subcommand.",
    },
    cmd!(
        "debug",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED,
        0,
        NO_KEYS,
        debug,
        "server",
        "1.0.0",
        "Depends on subcommand.",
        "A container for debugging commands."
    )
    .syscmd(),
];

// ---------------------------------------------------------------------------
// Shared helpers

/// Redis's addReplyHelp: `<CMD> <subcommand> ...` then the lines, then HELP.
pub fn reply_help(ctx: &mut Ctx, args: &[Bytes], lines: &[&str]) {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    let out = ctx.out();
    out.array(lines.len() + 3);
    out.simple(&format!("{name} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

/// Redis's addReplySubcommandSyntaxError.
pub fn subcommand_syntax_error(ctx: &mut Ctx, args: &[Bytes]) {
    let sub = String::from_utf8_lossy(&args[1][..args[1].len().min(128)]).into_owned();
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    ctx.error(&format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {name} HELP."));
}

/// Redis's getClientPeerId-based locality test: loopback addresses, and
/// anything that is not an IP address (a unix socket path).
fn is_local(addr: &str) -> bool {
    match addr.parse::<std::net::SocketAddr>() {
        Ok(sa) => match sa.ip() {
            std::net::IpAddr::V4(ip) => ip == std::net::Ipv4Addr::LOCALHOST,
            std::net::IpAddr::V6(ip) => ip == std::net::Ipv6Addr::LOCALHOST,
        },
        Err(_) => true,
    }
}

/// For a command flagged PROTECTED, the rejection Redis gives when its
/// `enable-*-command` option does not allow this client; None to go on.
/// The dispatcher calls this for every PROTECTED command.
pub fn protected_denied(srv: &Server, client: &Client, def: &CommandDef) -> Option<String> {
    let (label, option) = match def.name {
        "debug" => ("DEBUG", "enable-debug-command"),
        "module" => ("MODULE", "enable-module-command"),
        _ => return None,
    };
    let setting = srv.config.get(option).unwrap_or("no");
    let allowed = setting == "yes" || (setting == "local" && is_local(&client.addr));
    (!allowed).then(|| {
        format!(
            "ERR {label} command not allowed. If the {option} option is set to \"local\", you can run it from a \
             local connection, otherwise you need to set this option in the configuration file, and then restart \
             the server."
        )
    })
}

// ---------------------------------------------------------------------------
// COMMAND

/// A table entry with its container, if it is a subcommand.
#[derive(Clone, Copy)]
struct Named {
    top: &'static CommandDef,
    sub: Option<&'static CommandDef>,
}

impl Named {
    fn def(&self) -> &'static CommandDef {
        self.sub.unwrap_or(self.top)
    }

    /// `get`, `config|get`.
    fn full_name(&self) -> String {
        match self.sub {
            Some(s) => format!("{}|{}", self.top.name, s.name),
            None => self.top.name.to_string(),
        }
    }

    /// This entry, then its subcommands.
    fn with_subcommands(top: &'static CommandDef) -> impl Iterator<Item = Named> {
        std::iter::once(Named { top, sub: None })
            .chain(top.subcommands.iter().map(move |s| Named { top, sub: Some(s) }))
    }
}

/// Redis's lookupCommandBySds: `name` or `container|sub`, nothing deeper.
fn lookup_full_name(name: &[u8]) -> Option<Named> {
    let mut parts = name.split(|&b| b == b'|');
    let top = table().lookup(parts.next()?)?;
    let named = match parts.next() {
        None => Named { top, sub: None },
        Some(sub) => Named { top, sub: Some(top.subcommand(sub)?) },
    };
    parts.next().is_none().then_some(named)
}

/// Redis's lookupCommand for an argument vector: the subcommand when the
/// command is a container and one is given.
fn lookup_argv(argv: &[Bytes]) -> Option<&'static CommandDef> {
    let top = table().lookup(&argv[0])?;
    if argv.len() == 1 || top.subcommands.is_empty() {
        return Some(top);
    }
    top.subcommand(&argv[1])
}

/// Command flags as COMMAND INFO prints them; Redis hides may_replicate and
/// protected.
fn write_flags(out: &mut Out, bits: u64) {
    let shown = |f: u64| bits & f != 0 && f != MAY_REPLICATE && f != PROTECTED;
    let names: Vec<&str> = flags::NAMES.iter().filter(|(f, _)| shown(*f)).map(|(_, n)| *n).collect();
    status_set(out, &names);
}

/// Flag names as Redis replies them: a set of status strings.
fn status_set(out: &mut Out, names: &[&str]) {
    out.set(names.len());
    for n in names {
        out.simple(n);
    }
}

/// Name/value pairs of a reply map.
fn text_fields(out: &mut Out, fields: &[(&str, &str)]) {
    for (k, v) in fields {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
}

fn write_categories(out: &mut Out, def: &CommandDef) {
    let cats = def.acl_categories();
    let names: Vec<&str> = acl::NAMES.iter().filter(|(c, _)| cats & c != 0).map(|(_, n)| *n).collect();
    out.set(names.len());
    for n in names {
        out.simple(&format!("@{n}"));
    }
}

/// Key-spec flags of a command that declares no key specs, derived from
/// its flags as Redis's are for most commands: reads are RO+access,
/// writes RW+update, and commands that are neither assume the worst:
/// RW+access+update.
fn key_flags(def: &CommandDef) -> &'static [&'static str] {
    if def.has(READONLY) {
        &["RO", "access"]
    } else if def.has(WRITE) {
        &["RW", "update"]
    } else if def.has(PUBSUB) {
        // Shard channels (SSUBSCRIBE, SPUBLISH...) are keys for routing only.
        &["not_key"]
    } else {
        &["RW", "access", "update"]
    }
}

/// The command's key specs: those the table declares, else derived from
/// its key positions. A write command with several keys at fixed
/// positions (RENAME...) has one spec per key in Redis; any other triple
/// is one range spec; a numkeys argument is a keynum spec.
fn key_specs(def: &'static CommandDef) -> Cow<'static, [KeySpecDef]> {
    if !def.key_specs.is_empty() {
        return Cow::Borrowed(def.key_specs);
    }
    let KeySpec { first, last, step, numkeys_at } = def.keys;
    let flags = key_flags(def);
    let range =
        |index, lastkey, step| key_spec(flags, BeginSearch::Index(index), FindKeys::Range { lastkey, step, limit: 0 });
    let mut specs = Vec::new();
    if first > 0 {
        if def.has(WRITE) && last > first && step > 0 {
            specs.extend((first..=last).step_by(step as usize).map(|index| range(index, 0, 1)));
        } else {
            specs.push(range(first, if last >= 0 { last - first } else { last }, step));
        }
    }
    if numkeys_at > 0 {
        let find = FindKeys::KeyNum { keynumidx: 0, firstkey: 1, step: 1 };
        specs.push(key_spec(flags, BeginSearch::Index(numkeys_at), find));
    }
    Cow::Owned(specs)
}

fn write_key_specs(out: &mut Out, def: &'static CommandDef) {
    let specs = key_specs(def);
    out.set(specs.len());
    for spec in specs.iter() {
        if spec.notes.is_empty() {
            out.map(3);
        } else {
            out.map(4);
            out.bulk(b"notes");
            out.bulk(spec.notes.as_bytes());
        }
        out.bulk(b"flags");
        status_set(out, spec.flags);
        out.bulk(b"begin_search");
        out.map(2);
        out.bulk(b"type");
        match spec.begin {
            BeginSearch::Index(index) => {
                out.bulk(b"index");
                out.bulk(b"spec");
                out.map(1);
                out.bulk(b"index");
                out.int(index as i64);
            }
            BeginSearch::Keyword { keyword, startfrom } => {
                out.bulk(b"keyword");
                out.bulk(b"spec");
                out.map(2);
                out.bulk(b"keyword");
                out.bulk(keyword.as_bytes());
                out.bulk(b"startfrom");
                out.int(startfrom as i64);
            }
            BeginSearch::Unknown => {
                out.bulk(b"unknown");
                out.bulk(b"spec");
                out.map(0);
            }
        }
        out.bulk(b"find_keys");
        out.map(2);
        out.bulk(b"type");
        let fields: Vec<(&[u8], i32)> = match spec.find {
            FindKeys::Range { lastkey, step, limit } => {
                out.bulk(b"range");
                vec![(b"lastkey", lastkey), (b"keystep", step), (b"limit", limit)]
            }
            FindKeys::KeyNum { keynumidx, firstkey, step } => {
                out.bulk(b"keynum");
                vec![(b"keynumidx", keynumidx), (b"firstkey", firstkey), (b"keystep", step)]
            }
            FindKeys::Unknown => {
                out.bulk(b"unknown");
                Vec::new()
            }
        };
        out.bulk(b"spec");
        out.map(fields.len());
        for (name, v) in fields {
            out.bulk(name);
            out.int(v as i64);
        }
    }
}

/// One COMMAND INFO entry (Redis's addReplyCommandInfo).
fn write_info(out: &mut Out, n: Named) {
    let def = n.def();
    out.array(10);
    out.bulk(n.full_name().as_bytes());
    out.int(def.arity as i64);
    write_flags(out, def.flags);
    let KeySpec { first, last, step, .. } = def.keys;
    let (first, last, step) = if first > 0 { (first, last, step) } else { (0, 0, 0) };
    out.int(first as i64);
    out.int(last as i64);
    out.int(step as i64);
    write_categories(out, def);
    out.set(def.tips.len());
    for tip in def.tips {
        out.bulk(tip.as_bytes());
    }
    write_key_specs(out, def);
    match n.sub {
        None if !def.subcommands.is_empty() => {
            out.array(def.subcommands.len());
            for s in def.subcommands {
                write_info(out, Named { top: n.top, sub: Some(s) });
            }
        }
        _ => out.set(0),
    }
}

/// One COMMAND DOCS entry (Redis's addReplyCommandDocs).
fn write_docs(out: &mut Out, n: Named) {
    let def = n.def();
    let docs = &def.docs;
    let text: Vec<(&str, &str)> =
        [("summary", def.summary), ("since", def.since), ("group", def.group), ("complexity", def.complexity)]
            .into_iter()
            .filter(|(k, v)| *k == "group" || !v.is_empty())
            .collect();
    let deprecation: Vec<(&str, &str)> =
        [("deprecated_since", docs.deprecated_since), ("replaced_by", docs.replaced_by)]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
    let doc_flags: Vec<&str> = [(!docs.deprecated_since.is_empty(), "deprecated"), (docs.syscmd, "syscmd")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    let subs = n.sub.is_none() && !def.subcommands.is_empty();
    out.map(
        text.len()
            + !doc_flags.is_empty() as usize
            + deprecation.len()
            + !docs.history.is_empty() as usize
            + !docs.args.is_empty() as usize
            + subs as usize,
    );
    text_fields(out, &text);
    if !doc_flags.is_empty() {
        out.bulk(b"doc_flags");
        status_set(out, &doc_flags);
    }
    text_fields(out, &deprecation);
    if !docs.history.is_empty() {
        out.bulk(b"history");
        out.set(docs.history.len());
        for (version, change) in docs.history {
            out.array(2);
            out.bulk(version.as_bytes());
            out.bulk(change.as_bytes());
        }
    }
    if !docs.args.is_empty() {
        out.bulk(b"arguments");
        write_args(out, docs.args);
    }
    if subs {
        out.bulk(b"subcommands");
        out.map(def.subcommands.len());
        for s in def.subcommands {
            let sub = Named { top: n.top, sub: Some(s) };
            out.bulk(sub.full_name().as_bytes());
            write_docs(out, sub);
        }
    }
}

/// An argument list of COMMAND DOCS (Redis's addReplyCommandArgList).
fn write_args(out: &mut Out, args: &[Arg]) {
    out.array(args.len());
    for a in args {
        let display = a.display_text();
        let text: Vec<(&str, &str)> =
            [("token", a.token), ("summary", a.summary), ("since", a.since), ("deprecated_since", a.deprecated_since)]
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .collect();
        let flags: Vec<&str> = ARG_FLAG_NAMES.iter().filter(|(f, _)| a.flags & f != 0).map(|(_, n)| *n).collect();
        out.map(
            2 + display.is_some() as usize
                + (a.key_spec_index >= 0) as usize
                + text.len()
                + !flags.is_empty() as usize
                + a.kind.is_container() as usize,
        );
        out.bulk(b"name");
        out.bulk(a.name.as_bytes());
        out.bulk(b"type");
        out.bulk(a.kind.name().as_bytes());
        if let Some(display) = display {
            out.bulk(b"display_text");
            out.bulk(display.as_bytes());
        }
        if a.key_spec_index >= 0 {
            out.bulk(b"key_spec_index");
            out.int(a.key_spec_index as i64);
        }
        text_fields(out, &text);
        if !flags.is_empty() {
            out.bulk(b"flags");
            status_set(out, &flags);
        }
        if a.kind.is_container() {
            out.bulk(b"arguments");
            write_args(out, a.args);
        }
    }
}

/// COMMAND with no subcommand: every command's info.
fn command(ctx: &mut Ctx, _args: &[Bytes]) {
    command_info_all(ctx.out());
}

fn command_info_all(out: &mut Out) {
    let all = &table().all;
    out.array(all.len());
    for top in all {
        write_info(out, Named { top, sub: None });
    }
}

fn command_count(ctx: &mut Ctx, _args: &[Bytes]) {
    let n = table().all.len();
    ctx.out().int(n as i64);
}

fn command_info(ctx: &mut Ctx, args: &[Bytes]) {
    let out = ctx.out();
    if args.len() == 2 {
        return command_info_all(out);
    }
    out.array(args.len() - 2);
    for name in &args[2..] {
        match lookup_full_name(name) {
            Some(n) => write_info(out, n),
            None => out.null(),
        }
    }
}

fn command_docs(ctx: &mut Ctx, args: &[Bytes]) {
    let out = ctx.out();
    let found: Vec<Named> = if args.len() == 2 {
        table().all.iter().map(|top| Named { top, sub: None }).collect()
    } else {
        args[2..].iter().filter_map(|a| lookup_full_name(a)).collect()
    };
    out.map(found.len());
    for n in found {
        out.bulk(n.full_name().as_bytes());
        write_docs(out, n);
    }
}

enum ListFilter<'a> {
    All,
    /// No module can be loaded, so no command matches.
    Module,
    /// An unknown category (0) matches nothing.
    AclCat(u64),
    Pattern(&'a [u8]),
}

impl ListFilter<'_> {
    fn keeps(&self, n: &Named) -> bool {
        match self {
            ListFilter::All => true,
            ListFilter::Module => false,
            ListFilter::AclCat(cat) => n.def().acl_categories() & cat != 0,
            // glob_match is iterative and bounded; names are short.
            ListFilter::Pattern(p) => glob_match(p, n.full_name().as_bytes(), true),
        }
    }
}

fn command_list(ctx: &mut Ctx, args: &[Bytes]) {
    let mut filter = ListFilter::All;
    let mut i = 2;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if !(eq_ic(&args[i], "filterby") && more == 2) {
            return ctx.syntax_error();
        }
        let (kind, arg) = (&args[i + 1], &args[i + 2]);
        filter = if eq_ic(kind, "module") {
            ListFilter::Module
        } else if eq_ic(kind, "aclcat") {
            let cat = acl::NAMES.iter().find(|(_, n)| eq_ic(arg, n)).map_or(0, |(c, _)| *c);
            ListFilter::AclCat(cat)
        } else if eq_ic(kind, "pattern") {
            ListFilter::Pattern(arg)
        } else {
            return ctx.syntax_error();
        };
        i += 3;
    }
    let names: Vec<String> = table()
        .all
        .iter()
        .flat_map(|top| Named::with_subcommands(top))
        .filter(|n| filter.keeps(n))
        .map(|n| n.full_name())
        .collect();
    ctx.out().bulks(names.iter().map(|n| n.as_bytes()));
}

/// Positions of the keys in `argv` (argv[0] the command name), as Redis's
/// getKeysUsingKeySpecs: None when an argument count or a numkeys value
/// is invalid.
fn key_positions(def: &CommandDef, argv: &[Bytes]) -> Option<Vec<usize>> {
    let argc = argv.len() as i64;
    let KeySpec { first, last, step, numkeys_at } = def.keys;
    let mut keys = Vec::new();
    let mut range = |first: i64, last: i64, step: i64| -> Option<()> {
        if last >= argc || last < first || first >= argc || step <= 0 {
            return None;
        }
        keys.extend((first..=last).step_by(step as usize).map(|i| i as usize));
        Some(())
    };
    if first > 0 {
        let (first, last) = (first as i64, last as i64);
        range(first, if last >= 0 { last } else { argc + last }, step as i64)?;
    }
    if numkeys_at > 0 {
        let at = numkeys_at as i64;
        let n = argv.get(at as usize).and_then(|a| parse_i64(a))?;
        if n < 1 {
            return None;
        }
        range(at + 1, at.saturating_add(n), 1)?;
    }
    Some(keys)
}

/// Redis's getKeysUsingKeySpecs: the keys every spec finds, or None when
/// one cannot be searched (unknown) or points past the arguments.
fn search_specs(specs: &[KeySpecDef], argv: &[Bytes]) -> Option<Vec<FoundKey>> {
    let argc = argv.len() as i64;
    let mut keys = Vec::new();
    for spec in specs {
        let first = match spec.begin {
            BeginSearch::Index(i) => i as i64,
            BeginSearch::Keyword { keyword, startfrom } => {
                let found = if startfrom >= 0 {
                    (startfrom as i64..argc).find(|&i| eq_ic(&argv[i as usize], keyword))
                } else {
                    (1..=argc + startfrom as i64).rev().find(|&i| eq_ic(&argv[i as usize], keyword))
                };
                // A keyword that is absent: no keys from this spec.
                match found {
                    Some(i) if i >= 1 => i + 1,
                    _ => continue,
                }
            }
            BeginSearch::Unknown => return None,
        };
        let (first, last, step) = match spec.find {
            FindKeys::Range { lastkey, step, limit } => {
                let last = if lastkey >= 0 {
                    first + lastkey as i64
                } else if limit == 0 {
                    argc + lastkey as i64
                } else {
                    first + ((argc - first) / limit as i64 + lastkey as i64)
                };
                (first, last, step as i64)
            }
            FindKeys::KeyNum { keynumidx, firstkey, step } => {
                let at = first + keynumidx as i64;
                let numkeys = argv.get(usize::try_from(at).ok()?).and_then(|a| parse_i64(a)).filter(|&n| n >= 0)?;
                let first = first + firstkey as i64;
                (first, first.saturating_add(numkeys) - 1, step as i64)
            }
            FindKeys::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc || step <= 0 {
            return None;
        }
        keys.extend((first..=last).step_by(step as usize).map(|i| (i as usize, spec.flags)));
    }
    Some(keys)
}

/// The keys of `argv` and their flags, as Redis's
/// getKeysFromCommandWithSpecs: found by the key specs unless their flags
/// vary with the arguments; else, or when the specs cannot be searched, by
/// the command's own rule, or by its key positions.
fn keys_with_flags(def: &'static CommandDef, argv: &[Bytes]) -> Vec<FoundKey> {
    let specs = key_specs(def);
    if !specs.iter().any(|s| s.has_flag("variable_flags")) {
        if let Some(keys) = search_specs(&specs, argv) {
            return keys;
        }
    }
    match def.key_finder {
        Some(find) => find(argv),
        None => key_positions(def, argv).unwrap_or_default().into_iter().map(|i| (i, key_flags(def))).collect(),
    }
}

fn getkeys(ctx: &mut Ctx, args: &[Bytes], with_flags: bool) {
    let argv = &args[2..];
    let Some(def) = lookup_argv(argv) else { return ctx.error("ERR Invalid command specified") };
    if key_specs(def).is_empty() {
        return ctx.error("ERR The command has no key arguments");
    }
    if !super::arity_ok(def, argv.len()) {
        return ctx.error("ERR Invalid number of arguments specified for command");
    }
    let keys = keys_with_flags(def, argv);
    if keys.is_empty() && !def.has(NO_MANDATORY_KEYS) {
        return ctx.error("ERR Invalid arguments specified for command");
    }
    let out = ctx.out();
    out.array(keys.len());
    for (i, flags) in keys {
        if with_flags {
            out.array(2);
            out.bulk(&argv[i]);
            status_set(out, flags);
        } else {
            out.bulk(&argv[i]);
        }
    }
}

fn command_getkeys(ctx: &mut Ctx, args: &[Bytes]) {
    getkeys(ctx, args, false);
}

fn command_getkeysandflags(ctx: &mut Ctx, args: &[Bytes]) {
    getkeys(ctx, args, true);
}

fn command_help(ctx: &mut Ctx, args: &[Bytes]) {
    reply_help(
        ctx,
        args,
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
}

// ---------------------------------------------------------------------------
// SLOWLOG (entries are recorded by the executor's call())

fn slowlog_get(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        return subcommand_syntax_error(ctx, args);
    }
    let len = ctx.srv.slowlog.len();
    let count = match args.get(2) {
        None => 10,
        Some(a) => match parse_i64(a) {
            Some(-1) => len,
            Some(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => return ctx.error("ERR count should be greater than or equal to -1"),
        },
    };
    let count = count.min(len);
    let Ctx { srv, client, .. } = ctx;
    let out = &mut client.out;
    out.array(count);
    for e in srv.slowlog.iter().take(count) {
        out.array(6);
        out.int(e.id as i64);
        out.int(e.time_s);
        out.int(e.duration_us);
        out.bulks(e.argv.iter().map(|a| &a[..]));
        out.bulk(e.addr.as_bytes());
        out.bulk(&e.name);
    }
}

fn slowlog_len(ctx: &mut Ctx, _args: &[Bytes]) {
    let n = ctx.srv.slowlog.len();
    ctx.out().int(n as i64);
}

fn slowlog_reset(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.srv.slowlog.clear();
    ctx.ok();
}

fn slowlog_help(ctx: &mut Ctx, args: &[Bytes]) {
    reply_help(
        ctx,
        args,
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
}

// ---------------------------------------------------------------------------
// DEBUG (reachable only as enable-debug-command allows, see protected_denied)

/// The subcommands implemented, with Redis's help text for each.
const DEBUG_HELP: &[&str] = &[
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
];

fn debug(ctx: &mut Ctx, args: &[Bytes]) {
    let sub = &args[1];
    match args.len() {
        2 if eq_ic(sub, "help") => reply_help(ctx, args, DEBUG_HELP),
        2 if eq_ic(sub, "change-repl-id") => debug_change_repl_id(ctx),
        3 if eq_ic(sub, "sleep") => debug_sleep(ctx, &args[2]),
        3 if eq_ic(sub, "set-active-expire") => {
            ctx.srv.active_expire_enabled = atoi(&args[2]) != 0;
            ctx.ok();
        }
        3 if eq_ic(sub, "object") => debug_object(ctx, &args[2]),
        3 if eq_ic(sub, "log") => {
            tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2]));
            ctx.ok();
        }
        3 if eq_ic(sub, "error") => {
            let msg = String::from_utf8_lossy(&args[2]).into_owned();
            ctx.error(&msg);
        }
        3 if eq_ic(sub, "protocol") => debug_protocol(ctx, &args[2]),
        3..=5 if eq_ic(sub, "populate") => debug_populate(ctx, args),
        _ if eq_ic(sub, "reload") => super::persistence::debug_reload(ctx, args),
        _ => subcommand_syntax_error(ctx, args),
    }
}

/// C's atoi: optional sign and leading digits, 0 when there are none.
fn atoi(s: &[u8]) -> i64 {
    let s = s.trim_ascii_start();
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0i64, |n, &c| n.saturating_mul(10).saturating_add((c - b'0') as i64));
    if neg {
        -n
    } else {
        n
    }
}

/// C's strtod on the longest numeric prefix (0 when there is none).
fn strtod_prefix(s: &[u8]) -> f64 {
    let s = s.trim_ascii_start();
    // A float literal worth parsing is short; bound the work.
    let s = &s[..s.len().min(64)];
    (1..=s.len()).rev().find_map(|n| std::str::from_utf8(&s[..n]).ok()?.parse::<f64>().ok()).unwrap_or(0.0)
}

/// Stops the whole server, as Redis does: the point of DEBUG SLEEP is to
/// make the server unresponsive (tests of client timeouts).
fn debug_sleep(ctx: &mut Ctx, arg: &[u8]) {
    let secs = strtod_prefix(arg);
    if secs > 0.0 {
        if let Ok(d) = std::time::Duration::try_from_secs_f64(secs) {
            std::thread::sleep(d);
        }
    }
    ctx.ok();
}

fn debug_change_repl_id(ctx: &mut Ctx) {
    use rand::Rng;
    tracing::info!("Changing replication IDs after receiving DEBUG change-repl-id");
    let rng = &mut ctx.srv.rng;
    ctx.srv.replid = (0..40).map(|_| format!("{:x}", rng.gen_range(0..16u8))).collect();
    ctx.ok();
}

/// Redis's refcount of an object: small integers are shared objects.
fn refcount(obj: &Obj) -> i64 {
    match obj.val {
        Value::Int(v) if (0..10_000).contains(&v) => i32::MAX as i64,
        _ => 1,
    }
}

/// Bytes of an RDB length prefix.
fn rdb_len_size(len: usize) -> usize {
    match len {
        0..=63 => 1,
        64..=16383 => 2,
        _ if len <= u32::MAX as usize => 5,
        _ => 9,
    }
}

/// Bytes of an integer in the RDB's int encodings, if it fits one.
fn rdb_int_size(v: i64) -> Option<usize> {
    if i8::try_from(v).is_ok() {
        Some(2)
    } else if i16::try_from(v).is_ok() {
        Some(3)
    } else if i32::try_from(v).is_ok() {
        Some(5)
    } else {
        None
    }
}

/// Bytes a string takes in an RDB file, as rdbSaveRawString writes it:
/// short canonical integers as integers, strings over 20 bytes LZF
/// compressed when that saves at least 4 bytes (and `rdbcompression` is
/// on), anything else verbatim after a length prefix.
fn rdb_string_size(s: &[u8], compress: bool) -> usize {
    if s.len() <= 11 {
        if let Some(n) = parse_i64(s).and_then(rdb_int_size) {
            return n;
        }
    }
    if compress && s.len() > 20 {
        if let Some(c) = crate::persistence::lzf::compress(s).filter(|c| c.len() <= s.len() - 4) {
            return 1 + rdb_len_size(c.len()) + rdb_len_size(s.len()) + c.len();
        }
    }
    rdb_len_size(s.len()) + s.len()
}

/// DEBUG OBJECT's serializedlength: exact for strings; for collections the
/// size of their elements saved one by one (Redis saves small, packed
/// encodings as a single blob, so it reports less for those).
fn serialized_length(obj: &Obj, compress: bool) -> usize {
    let str_size = |s: &[u8]| rdb_string_size(s, compress);
    match &obj.val {
        Value::Int(v) => rdb_int_size(*v).unwrap_or_else(|| str_size(v.to_string().as_bytes())),
        Value::Str(s) => str_size(s.as_slice()),
        Value::List(l) => rdb_len_size(l.len()) + l.iter().map(|e| str_size(&e.to_vec())).sum::<usize>(),
        Value::Hash(h) => {
            rdb_len_size(h.len()) + h.pairs().iter().map(|p| str_size(&p.0) + str_size(&p.1)).sum::<usize>()
        }
        Value::Set(s) => rdb_len_size(s.len()) + s.members().iter().map(|m| str_size(m)).sum::<usize>(),
        // Scores are saved as 8-byte binary doubles.
        Value::ZSet(z) => rdb_len_size(z.len()) + z.iter().map(|(member, _)| str_size(&member) + 8).sum::<usize>(),
        // The listpack nodes as blobs (the counters and groups left out).
        Value::Stream(s) => {
            rdb_len_size(s.entries.node_count())
                + s.entries.node_blobs().map(|(key, lp)| str_size(&key) + str_size(lp)).sum::<usize>()
        }
    }
}

/// Seconds since the object was last accessed, on the 24-bit LRU clock.
fn idle_seconds(obj: &Obj) -> u64 {
    const LRU_CLOCK_MAX: u32 = 0xFF_FFFF;
    let now = crate::db::value::lru_clock();
    if now >= obj.lru {
        (now - obj.lru) as u64
    } else {
        // The clock wrapped around since.
        (now as u64 + LRU_CLOCK_MAX as u64).saturating_sub(obj.lru as u64)
    }
}

fn debug_object(ctx: &mut Ctx, key: &[u8]) {
    let compress = ctx.srv.config.get("rdbcompression") != Some("no");
    // As Redis, the key is looked up without expiring it.
    let line = match ctx.db().dict.get(key) {
        None => return ctx.error("ERR no such key"),
        Some(obj) => format!(
            "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
            obj as *const Obj,
            refcount(obj),
            obj.encoding(),
            serialized_length(obj, compress),
            obj.lru,
            idle_seconds(obj)
        ),
    };
    ctx.out().simple(&line);
}

fn debug_protocol(ctx: &mut Ctx, kind: &[u8]) {
    let resp3 = ctx.out().resp >= 3;
    let out = ctx.out();
    let name = String::from_utf8_lossy(kind).to_ascii_lowercase();
    match name.as_str() {
        "string" => out.bulk(b"Hello World"),
        "integer" => out.int(12345),
        // Redis's test value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        "double" => out.double(3.141),
        "bignum" if resp3 => out.raw(b"(1234567999999999999999999999999999999\r\n"),
        "bignum" => out.bulk(b"1234567999999999999999999999999999999"),
        "null" => out.null(),
        "array" | "set" => {
            if name == "set" {
                out.set(3);
            } else {
                out.array(3);
            }
            for i in 0..3 {
                out.int(i);
            }
        }
        "map" => {
            out.map(3);
            for i in 0..3 {
                out.int(i);
                out.boolean(i == 1);
            }
        }
        "attrib" => {
            if resp3 {
                out.raw(b"|1\r\n");
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            // An attribute is not a reply: a real one follows.
            out.bulk(b"Some real reply following the attribute");
        }
        "push" if !resp3 => ctx.error("ERR RESP2 is not supported by this command"),
        "push" => {
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        "verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        "true" => out.boolean(true),
        "false" => out.boolean(false),
        _ => ctx.error(
            "ERR Wrong protocol type name. Please use one of the following: \
             string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ),
    }
}

/// DEBUG POPULATE count [prefix] [size]: keys `prefix:N` holding `value:N`
/// (padded with zero bytes or cut to `size`). Not propagated, as in Redis.
fn debug_populate(ctx: &mut Ctx, args: &[Bytes]) {
    const OUT_OF_RANGE: &str = "ERR value is out of range, must be positive";
    let Some(count) = parse_i64(&args[2]).filter(|n| *n >= 0) else { return ctx.error(OUT_OF_RANGE) };
    let size = match args.get(4) {
        None => 0,
        Some(a) => match parse_i64(a).filter(|n| *n >= 0) {
            Some(n) => n,
            None => return ctx.error(OUT_OF_RANGE),
        },
    };
    // Values are built before the data exists: keep them to what a client
    // could send in one bulk string.
    if size > ctx.srv.config.proto_max_bulk_len {
        return ctx.error("ERR value is out of range, must not exceed proto-max-bulk-len");
    }
    // Redis sizes the keyspace for all the keys first and gives up when
    // that cannot be allocated; a key takes well over 64 bytes.
    let system = crate::commands::server::MemoryStats::read().total_system;
    if (count as u64).saturating_mul(64) > system {
        return ctx.error("ERR OOM in dictTryExpand");
    }
    // Names are formatted into a 128-byte buffer, as in Redis.
    let prefix = args.get(3).map_or(&b"key"[..], |p| &p[..p.len().min(127)]);
    let mut key = Vec::new();
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        let _ = write!(ByteWriter(&mut key), ":{j}");
        key.truncate(127);
        if ctx.db().contains(&key) {
            continue;
        }
        let mut val = format!("value:{j}").into_bytes();
        if size > 0 {
            val.resize(size as usize, 0);
        }
        ctx.db().set(&key, Obj::from_bytes(&val));
    }
    ctx.ok();
}

/// fmt::Write into a byte vector.
struct ByteWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// README

const README_HEADING: &str = "## Supported commands";

/// The README section listing every command of the table: name, group,
/// summary. `cargo run --example readme_commands -- --write` rewrites it.
pub fn readme_section() -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{README_HEADING}\n");
    s.push_str(
        "Generated from the command table (`cargo run --example readme_commands -- --write`\n\
         rewrites this section; `tests/readme_commands.rs` fails when it is out of date).\n\n",
    );
    s.push_str("| Command | Group | Summary |\n|---|---|---|\n");
    let cell = |t: &str| t.replace('|', "\\|");
    for top in &table().all {
        if top.handler.is_some() {
            let _ = writeln!(s, "| `{}` | {} | {} |", top.name.to_ascii_uppercase(), top.group, cell(top.summary));
        }
        for sub in top.subcommands {
            let name = format!("{} {}", top.name, sub.name).to_ascii_uppercase();
            let _ = writeln!(s, "| `{name}` | {} | {} |", sub.group, cell(sub.summary));
        }
    }
    s
}

/// `readme` with its "Supported commands" section (up to the next `## `
/// heading) replaced by the generated one, or the section appended.
pub fn readme_with_commands(readme: &str) -> String {
    let section = readme_section();
    let Some(start) = readme.find(&format!("\n{README_HEADING}\n")).map(|i| i + 1) else {
        let sep = if readme.ends_with('\n') { "\n" } else { "\n\n" };
        return format!("{readme}{sep}{section}");
    };
    let rest = &readme[start + README_HEADING.len()..];
    let end = rest.find("\n## ").map_or(readme.len(), |i| start + README_HEADING.len() + i + 1);
    let tail = &readme[end..];
    let sep = if tail.is_empty() { "" } else { "\n" };
    format!("{}{section}{sep}{tail}", &readme[..start])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_prefixes() {
        assert_eq!(atoi(b"12abc"), 12);
        assert_eq!(atoi(b" -3"), -3);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b"99999999999999999999999"), i64::MAX);
        assert_eq!(strtod_prefix(b"0.5x"), 0.5);
        assert_eq!(strtod_prefix(b"abc"), 0.0);
        assert_eq!(strtod_prefix(b"1e3"), 1000.0);
    }

    /// Every argument tree is well formed: containers hold arguments and
    /// nothing else does, pure tokens have their token, and a key argument
    /// names one of its command's key specs.
    #[test]
    fn argument_trees_point_at_existing_key_specs() {
        fn check(name: &str, args: &[Arg], specs: usize) {
            for a in args {
                assert_eq!(a.kind.is_container(), !a.args.is_empty(), "{name}: {}", a.name);
                if a.kind == ArgType::PureToken {
                    assert!(!a.token.is_empty(), "{name}: {} has no token", a.name);
                }
                if a.kind == ArgType::Key {
                    assert!(
                        (0..specs as i32).contains(&a.key_spec_index),
                        "{name}: {} spec {}",
                        a.name,
                        a.key_spec_index
                    );
                }
                check(name, a.args, specs);
            }
        }
        let mut described = 0;
        for top in &table().all {
            for n in Named::with_subcommands(top) {
                let def = n.def();
                described += !def.docs.args.is_empty() as usize;
                check(&n.full_name(), def.docs.args, key_specs(def).len());
            }
        }
        assert!(described > 200, "{described} commands with arguments");
    }

    #[test]
    fn rdb_sizes_match_redis() {
        // DEBUG OBJECT serializedlength values read from Redis 7.0.
        assert_eq!(serialized_length(&Obj::from_bytes(b"bar"), true), 4);
        assert_eq!(serialized_length(&Obj::from_bytes(b"123"), true), 2);
        assert_eq!(serialized_length(&Obj::from_bytes(b"12345678901"), true), 12);
        assert_eq!(serialized_length(&Obj::from_bytes(&[b'a'; 82]), false), 84);
        assert_eq!(rdb_len_size(16384), 5);
    }

    #[test]
    fn readme_section_is_replaced_in_place() {
        let section = readme_section();
        let fresh = readme_with_commands("# x\n\nintro\n");
        assert_eq!(fresh, format!("# x\n\nintro\n\n{section}"));
        assert_eq!(readme_with_commands(&fresh), fresh);
        let stale = format!("# x\n\n{README_HEADING}\n\nold\n\n## Later\n\ntext\n");
        assert_eq!(readme_with_commands(&stale), format!("# x\n\n{section}\n## Later\n\ntext\n"));
    }

    #[test]
    fn full_names_resolve_one_level() {
        assert!(lookup_full_name(b"get").is_some());
        assert_eq!(lookup_full_name(b"command|info").map(|n| n.full_name()).as_deref(), Some("command|info"));
        assert!(lookup_full_name(b"get|x").is_none());
        assert!(lookup_full_name(b"command|info|x").is_none());
        assert!(lookup_full_name(b"command|").is_none());
    }
}
