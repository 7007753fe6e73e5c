//! Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET,
//! CLIENT and MONITOR.

use bytes::Bytes;

use super::docs::*;
use super::{acl, flags::*, CommandDef, Ctx, NO_ELEMENTS, NO_KEYS};
use crate::cmd;
use crate::server::client::{Client, ClientType};
use crate::util::{eq_ic, now_ms, parse_i64};

// Arguments several commands share, for COMMAND DOCS.
const ENABLED_ARG: Arg = oneof("enabled", &[pure_token("on", "ON"), pure_token("off", "OFF")]);

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "ping",
        -1,
        FAST | ALLOWED_SUBSCRIBED,
        acl::CONNECTION,
        NO_KEYS,
        ping,
        "connection",
        "1.0.0",
        "O(1)",
        "Returns the server's liveliness response."
    )
    .with_args(&[string("message").optional()])
    .with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    cmd!(
        "echo",
        2,
        FAST | STALE | LOADING,
        acl::CONNECTION,
        NO_KEYS,
        echo,
        "connection",
        "1.0.0",
        "O(1)",
        "Returns the given string."
    )
    .with_args(&[string("message")]),
    cmd!(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | NOT_QUEUED | ALLOWED_SUBSCRIBED,
        acl::CONNECTION,
        NO_KEYS,
        quit,
        "connection",
        "1.0.0",
        "O(1)",
        "Closes the connection."
    )
    .deprecated("7.2.0", "just closing the connection"),
    cmd!(
        "select",
        2,
        LOADING | STALE | FAST,
        acl::CONNECTION,
        NO_KEYS,
        select,
        "connection",
        "1.0.0",
        "O(1)",
        "Changes the selected database."
    )
    .with_args(&[integer("index")]),
    cmd!(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        acl::CONNECTION,
        NO_KEYS,
        auth,
        "connection",
        "1.0.0",
        "O(N) where N is the number of passwords defined for the user",
        "Authenticates the connection."
    )
    .with_args(&[string("username").since("6.0.0").optional(), string("password")])
    .with_history(&[("6.0.0", "Added ACL style (username and password).")]),
    cmd!(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        acl::CONNECTION,
        NO_KEYS,
        hello,
        "connection",
        "6.0.0",
        "O(1)",
        "Handshakes with the Redis server."
    )
    .with_args(&[block(
        "arguments",
        &[
            integer("protover"),
            block("auth", &[string("username"), string("password")]).token("AUTH").optional(),
            string("clientname").token("SETNAME").optional(),
        ],
    )
    .optional()])
    .with_history(&[(
        "6.2.0",
        "`protover` made optional; when called without arguments the command reports the current connection's context.",
    )]),
    cmd!(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY | NOT_QUEUED | ALLOWED_SUBSCRIBED,
        acl::CONNECTION,
        NO_KEYS,
        reset,
        "connection",
        "6.2.0",
        "O(1)",
        "Resets the connection."
    ),
    cmd!(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        0,
        NO_KEYS,
        monitor,
        "server",
        "1.0.0",
        "",
        "Listens for all requests received by the server in real-time."
    ),
    CommandDef {
        name: "client",
        arity: -2,
        flags: 0,
        acl: 0,
        keys: NO_KEYS,
        key_specs: &[],
        key_finder: None,
        elements: NO_ELEMENTS,
        handler: None,
        subcommands: CLIENT_SUBCOMMANDS,
        docs: NO_DOCS,
        tips: &[],
        group: "connection",
        summary: "A container for client connection commands.",
        since: "2.4.0",
        complexity: "Depends on subcommand.",
    },
];

/// Flags every CLIENT subcommand has.
const CLIENT_FLAGS: u64 = NOSCRIPT | LOADING | STALE;

static CLIENT_SUBCOMMANDS: &[CommandDef] = &[
    cmd!(
        "getname",
        2,
        CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_getname,
        "connection",
        "2.6.9",
        "O(1)",
        "Returns the name of the connection."
    ),
    cmd!(
        "help",
        2,
        LOADING | STALE,
        acl::CONNECTION,
        NO_KEYS,
        client_help,
        "connection",
        "5.0.0",
        "O(1)",
        "Returns helpful text about the different subcommands."
    ),
    cmd!(
        "id",
        2,
        CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_id,
        "connection",
        "5.0.0",
        "O(1)",
        "Returns the unique client ID of the connection."
    ),
    cmd!(
        "info",
        2,
        CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_info,
        "connection",
        "6.2.0",
        "O(1)",
        "Returns information about the connection."
    )
    .with_tips(&["nondeterministic_output"]),
    cmd!(
        "kill",
        -3,
        ADMIN | CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_kill,
        "connection",
        "2.4.0",
        "O(N) where N is the number of client connections",
        "Terminates open connections."
    )
    .with_args(&[oneof(
        "filter",
        &[
            string("old-format").display("ip:port").deprecated_since("2.8.12"),
            oneof(
                "new-format",
                &[
                    integer("client-id").token("ID").since("2.8.12").optional(),
                    oneof(
                        "client-type",
                        &[
                            pure_token("normal", "NORMAL"),
                            pure_token("master", "MASTER").since("3.2.0"),
                            pure_token("slave", "SLAVE"),
                            pure_token("replica", "REPLICA").since("5.0.0"),
                            pure_token("pubsub", "PUBSUB"),
                        ],
                    )
                    .token("TYPE")
                    .since("2.8.12")
                    .optional(),
                    string("username").token("USER").optional(),
                    string("addr").token("ADDR").display("ip:port").optional(),
                    string("laddr").token("LADDR").display("ip:port").since("6.2.0").optional(),
                    oneof("skipme", &[pure_token("yes", "YES"), pure_token("no", "NO")]).token("SKIPME").optional(),
                ],
            )
            .multiple(),
        ],
    )])
    .with_history(&[
        ("2.8.12", "Added new filter format."),
        ("2.8.12", "`ID` option."),
        ("3.2.0", "Added `master` type in for `TYPE` option."),
        ("5.0.0", "Replaced `slave` `TYPE` with `replica`. `slave` still supported for backward compatibility."),
        ("6.2.0", "`LADDR` option."),
    ]),
    cmd!(
        "list",
        -2,
        ADMIN | CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_list,
        "connection",
        "2.4.0",
        "O(N) where N is the number of client connections",
        "Lists open connections."
    )
    .with_args(&[
        oneof(
            "client-type",
            &[
                pure_token("normal", "NORMAL"),
                pure_token("master", "MASTER"),
                pure_token("replica", "REPLICA"),
                pure_token("pubsub", "PUBSUB"),
            ],
        )
        .token("TYPE")
        .since("5.0.0")
        .optional(),
        integer("client-id").token("ID").since("6.2.0").optional().multiple(),
    ])
    .with_history(&[
        ("2.8.12", "Added unique client `id` field."),
        ("5.0.0", "Added optional `TYPE` filter."),
        ("6.0.0", "Added `user` field."),
        ("6.2.0", "Added `argv-mem`, `tot-mem`, `laddr` and `redir` fields and the optional `ID` filter."),
        ("7.0.0", "Added `resp`, `multi-mem`, `rbs` and `rbp` fields."),
        ("7.0.3", "Added `ssub` field."),
    ])
    .with_tips(&["nondeterministic_output"]),
    cmd!(
        "no-evict",
        3,
        ADMIN | CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_no_evict,
        "connection",
        "7.0.0",
        "O(1)",
        "Sets the client eviction mode of the connection."
    )
    .with_args(&[ENABLED_ARG]),
    cmd!(
        "no-touch",
        3,
        CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_no_touch,
        "connection",
        "7.2.0",
        "O(1)",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys."
    )
    .with_args(&[ENABLED_ARG]),
    cmd!(
        "pause",
        -3,
        ADMIN | CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_pause,
        "connection",
        "3.0.0",
        "O(1)",
        "Suspends commands processing."
    )
    .with_args(&[
        integer("timeout"),
        oneof("mode", &[pure_token("write", "WRITE"), pure_token("all", "ALL")]).since("6.2.0").optional(),
    ])
    .with_history(&[("6.2.0", "`CLIENT PAUSE WRITE` mode added along with the `mode` option.")]),
    cmd!(
        "reply",
        3,
        CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_reply,
        "connection",
        "3.2.0",
        "O(1)",
        "Instructs the server whether to reply to commands."
    )
    .with_args(&[oneof("action", &[pure_token("on", "ON"), pure_token("off", "OFF"), pure_token("skip", "SKIP")])]),
    cmd!(
        "setinfo",
        4,
        CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_setinfo,
        "connection",
        "7.2.0",
        "O(1)",
        "Sets information specific to the client or connection."
    )
    .with_args(&[oneof("attr", &[string("libname").token("LIB-NAME"), string("libver").token("LIB-VER")])])
    .with_tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    cmd!(
        "setname",
        3,
        CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_setname,
        "connection",
        "2.6.9",
        "O(1)",
        "Sets the connection name."
    )
    .with_args(&[string("connection-name")]),
    cmd!(
        "unblock",
        -3,
        ADMIN | CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_unblock,
        "connection",
        "5.0.0",
        "O(log N) where N is the number of client connections",
        "Unblocks a client blocked by a blocking command from a different connection."
    )
    .with_args(&[
        integer("client-id"),
        oneof("unblock-type", &[pure_token("timeout", "TIMEOUT"), pure_token("error", "ERROR")]).optional(),
    ]),
    cmd!(
        "unpause",
        2,
        ADMIN | CLIENT_FLAGS,
        acl::CONNECTION,
        NO_KEYS,
        client_unpause,
        "connection",
        "6.2.0",
        "O(N) Where N is the number of paused clients",
        "Resumes processing commands from paused clients."
    ),
];

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
const BAD_NAME: &str = "ERR Client names cannot contain spaces, newlines or special characters.";

fn ping(ctx: &mut Ctx, args: &[Bytes]) {
    // A subscribed RESP2 client gets a message-like frame: [pong, arg].
    if ctx.client.out.resp == 2 && ctx.client.subs.active() && args.len() <= 2 {
        let out = ctx.out();
        out.array(2);
        out.bulk(b"pong");
        return out.bulk(args.get(1).map_or(&b""[..], |a| &a[..]));
    }
    match args.len() {
        1 => ctx.out().simple("PONG"),
        2 => ctx.out().bulk(&args[1]),
        _ => ctx.error("ERR wrong number of arguments for 'ping' command"),
    }
}

fn echo(ctx: &mut Ctx, args: &[Bytes]) {
    ctx.out().bulk(&args[1]);
}

fn quit(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.ok();
    ctx.client.close_after_reply = true;
}

fn select(ctx: &mut Ctx, args: &[Bytes]) {
    // Redis reads the index as a C int.
    let Some(id) = parse_i64(&args[1]) else {
        return ctx.not_integer();
    };
    if i32::try_from(id).is_err() {
        return ctx.error("ERR value is out of range, value must between -2147483648 and 2147483647");
    }
    if id < 0 || id as usize >= ctx.srv.dbs.len() {
        return ctx.error("ERR DB index is out of range");
    }
    ctx.client.db = id as usize;
    ctx.ok();
}

/// Redis's `validateClientAttr`: printable ASCII without spaces.
pub fn valid_client_attr(v: &[u8]) -> bool {
    v.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// Checks a username/password pair (the only user until ACLs exist is
/// `default`, whose password is `requirepass`, or none) and authenticates
/// the client on success.
fn authenticate(ctx: &mut Ctx, user: &[u8], pass: &[u8]) -> bool {
    let ok = user == b"default"
        && match &ctx.srv.config.requirepass {
            None => true,
            Some(p) => p.as_bytes() == pass,
        };
    if ok {
        ctx.client.authenticated = true;
    }
    ok
}

fn auth(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        return ctx.syntax_error();
    }
    // Redacted even when the password is wrong.
    ctx.redact(1);
    if args.len() == 2 && ctx.srv.config.requirepass.is_none() {
        return ctx.error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        );
    }
    let (user, pass) = if args.len() == 3 {
        ctx.redact(2);
        (&args[1][..], &args[2][..])
    } else {
        (&b"default"[..], &args[1][..])
    };
    if authenticate(ctx, user, pass) {
        ctx.ok();
    } else {
        ctx.error(WRONGPASS);
    }
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
fn hello(ctx: &mut Ctx, args: &[Bytes]) {
    let mut resp = None;
    let mut i = 1;
    if args.len() > 1 {
        match parse_i64(&args[1]) {
            Some(v @ 2..=3) => resp = Some(v as u8),
            Some(_) => return ctx.error("NOPROTO unsupported protocol version"),
            None => return ctx.error("ERR Protocol version is not an integer or out of range"),
        }
        i = 2;
    }
    let mut credentials = None;
    let mut setname = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ic(&args[i], "auth") && more >= 2 {
            ctx.redact(i + 1);
            ctx.redact(i + 2);
            credentials = Some((i + 1, i + 2));
            i += 3;
        } else if eq_ic(&args[i], "setname") && more >= 1 {
            if !valid_client_attr(&args[i + 1]) {
                return ctx.error(BAD_NAME);
            }
            setname = Some(i + 1);
            i += 2;
        } else {
            let opt = String::from_utf8_lossy(&args[i]).into_owned();
            return ctx.error(&format!("ERR Syntax error in HELLO option '{opt}'"));
        }
    }
    if let Some((u, p)) = credentials {
        if !authenticate(ctx, &args[u], &args[p]) {
            return ctx.error(WRONGPASS);
        }
    }
    if !ctx.client.authenticated && ctx.srv.config.requirepass.is_some() {
        return ctx.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = setname {
        ctx.client.name = (!args[n].is_empty()).then(|| args[n].to_vec());
    }
    if let Some(v) = resp {
        ctx.client.out.resp = v;
    }
    let (id, proto) = (ctx.client.id, ctx.client.out.resp);
    let out = ctx.out();
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_COMPAT_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(proto as i64);
    out.bulk(b"id");
    out.int(id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
}

/// Makes the connection look newly connected (Redis's
/// `clearClientConnectionState`). The library name and version stay: they
/// still describe the client behind the connection. (Transactions, pub/sub
/// and tracking add their own state to clear here.)
fn reset(ctx: &mut Ctx, _args: &[Bytes]) {
    if ctx.client.monitor {
        let id = ctx.client.id;
        ctx.srv.monitors.retain(|&m| m != id);
    }
    crate::commands::tx::reset(ctx.srv, ctx.client);
    crate::commands::pubsub::unsubscribe_silently(ctx.srv, ctx.client);
    let c = &mut *ctx.client;
    c.monitor = false;
    c.db = 0;
    c.out.resp = 2;
    c.name = None;
    c.no_evict = false;
    c.no_touch = false;
    c.reply_off = false;
    c.reply_skip_next = false;
    c.user = "default".into();
    c.authenticated = ctx.srv.config.requirepass.is_none();
    ctx.out().simple("RESET");
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]: ends another client's blocking
/// command as if it timed out, or with an UNBLOCKED error.
fn client_unblock(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(id) = crate::util::parse_i64(&args[2]) else { return ctx.not_integer() };
    let error = match args.get(3) {
        None => None,
        Some(a) if eq_ic(a, "timeout") => None,
        Some(a) if eq_ic(a, "error") => Some("UNBLOCKED client unblocked via CLIENT UNBLOCK"),
        Some(_) => return ctx.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"),
    };
    if args.len() > 4 {
        return ctx.syntax_error();
    }
    let Some(mut target) = ctx.srv.clients.remove(&(id as u64)) else { return ctx.out().int(0) };
    let done = ctx.srv.unblock(&mut target, error);
    ctx.srv.clients.insert(id as u64, target);
    ctx.out().int(done as i64);
}

fn monitor(ctx: &mut Ctx, _args: &[Bytes]) {
    // Already a monitor: nothing to do, not even a reply (as Redis).
    if ctx.client.monitor {
        return;
    }
    ctx.client.monitor = true;
    ctx.srv.monitors.push(ctx.client.id);
    ctx.ok();
}

/// CLIENT HELP's text in Redis 7.2 (7.0 lacks SETINFO and NO-TOUCH).
const CLIENT_HELP: &[&str] = &[
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
];

fn client_help(ctx: &mut Ctx, args: &[Bytes]) {
    super::introspection::reply_help(ctx, args, CLIENT_HELP);
}

fn client_id(ctx: &mut Ctx, _args: &[Bytes]) {
    let id = ctx.client.id;
    ctx.out().int(id as i64);
}

fn client_getname(ctx: &mut Ctx, _args: &[Bytes]) {
    match ctx.client.name.take() {
        Some(n) => {
            ctx.out().bulk(&n);
            ctx.client.name = Some(n);
        }
        None => ctx.out().null(),
    }
}

fn client_setname(ctx: &mut Ctx, args: &[Bytes]) {
    if !valid_client_attr(&args[2]) {
        return ctx.error(BAD_NAME);
    }
    ctx.client.name = (!args[2].is_empty()).then(|| args[2].to_vec());
    ctx.ok();
}

fn client_setinfo(ctx: &mut Ctx, args: &[Bytes]) {
    let attr = String::from_utf8_lossy(&args[2]).into_owned();
    let is_name = eq_ic(&args[2], "lib-name");
    if !is_name && !eq_ic(&args[2], "lib-ver") {
        return ctx.error(&format!("ERR Unrecognized option '{attr}'"));
    }
    if !valid_client_attr(&args[3]) {
        return ctx.error(&format!("ERR {attr} cannot contain spaces, newlines or special characters."));
    }
    let value = (!args[3].is_empty()).then(|| args[3].to_vec());
    if is_name {
        ctx.client.lib_name = value;
    } else {
        ctx.client.lib_ver = value;
    }
    ctx.ok();
}

/// Size of a command's arguments, as Redis's `argv_len_sum`.
fn argv_len(args: &[Bytes]) -> usize {
    args.iter().map(|a| a.len()).sum()
}

fn client_info(ctx: &mut Ctx, args: &[Bytes]) {
    let mut s = String::new();
    ctx.client.write_info(&mut s, now_ms(), argv_len(args));
    s.push('\n');
    ctx.out().verbatim(s.as_bytes());
}

/// Every client in connection (id) order, the caller included at its place.
fn all_clients<'a>(srv: &'a crate::executor::Server, me: &'a Client) -> impl Iterator<Item = &'a Client> {
    let others = srv.clients.values().map(|c| &**c).filter(|c| c.id != me.id);
    let mut all: Vec<&Client> = others.chain(std::iter::once(me)).collect();
    all.sort_unstable_by_key(|c| c.id);
    all.into_iter()
}

/// CLIENT LIST [TYPE type | ID id [id ...]]
fn client_list(ctx: &mut Ctx, args: &[Bytes]) {
    let now = now_ms();
    let my_argv = argv_len(args);
    let me = ctx.client.id;
    let mut s = String::new();
    let line = |s: &mut String, c: &Client| {
        c.write_info(s, now, if c.id == me { my_argv } else { 0 });
        s.push('\n');
    };
    if args.len() == 4 && eq_ic(&args[2], "type") {
        let Some(kind) = ClientType::from_name(&args[3]) else {
            let t = String::from_utf8_lossy(&args[3]).into_owned();
            return ctx.error(&format!("ERR Unknown client type '{t}'"));
        };
        for c in all_clients(ctx.srv, ctx.client).filter(|c| c.kind() == kind) {
            line(&mut s, c);
        }
    } else if args.len() > 3 && eq_ic(&args[2], "id") {
        // One line per id given, in that order; unknown ids are skipped.
        for a in &args[3..] {
            let Some(id) = parse_i64(a) else {
                return ctx.error("ERR Invalid client ID");
            };
            let found =
                if id as u64 == me { Some(&*ctx.client) } else { ctx.srv.clients.get(&(id as u64)).map(|c| &**c) };
            if let Some(c) = found {
                line(&mut s, c);
            }
        }
    } else if args.len() != 2 {
        return ctx.syntax_error();
    } else {
        for c in all_clients(ctx.srv, ctx.client) {
            line(&mut s, c);
        }
    }
    ctx.out().verbatim(s.as_bytes());
}

/// The clients CLIENT KILL selects.
#[derive(Default)]
struct KillFilter {
    addr: Option<Bytes>,
    laddr: Option<Bytes>,
    kind: Option<ClientType>,
    id: Option<u64>,
    user: Option<Bytes>,
    skipme: bool,
    /// Connections at least this many seconds old (Redis 7.4 / Valkey 8).
    max_age: Option<i64>,
}

impl KillFilter {
    fn matches(&self, c: &Client, me: u64, now_ms: i64) -> bool {
        self.addr.as_ref().is_none_or(|a| a[..] == *c.addr.as_bytes())
            && self.laddr.as_ref().is_none_or(|a| a[..] == *c.laddr.as_bytes())
            && self.kind.is_none_or(|k| c.kind() == k)
            && self.id.is_none_or(|id| c.id == id)
            && self.user.as_ref().is_none_or(|u| u[..] == *c.user.as_bytes())
            && !(self.skipme && c.id == me)
            && self.max_age.is_none_or(|age| now_ms / 1000 - c.ctime_ms / 1000 >= age)
    }
}

/// Parses the filter form of CLIENT KILL, replying with the error on failure.
fn parse_kill_filter(ctx: &mut Ctx, args: &[Bytes]) -> Option<KillFilter> {
    let mut f = KillFilter { skipme: true, ..Default::default() };
    let mut i = 2;
    while i < args.len() {
        let (opt, Some(val)) = (&args[i], args.get(i + 1)) else {
            ctx.syntax_error();
            return None;
        };
        if eq_ic(opt, "id") {
            match parse_i64(val).filter(|&v| v >= 1) {
                Some(v) => f.id = Some(v as u64),
                None => {
                    ctx.error("ERR client-id should be greater than 0");
                    return None;
                }
            }
        } else if eq_ic(opt, "type") {
            match ClientType::from_name(val) {
                Some(k) => f.kind = Some(k),
                None => {
                    let t = String::from_utf8_lossy(val).into_owned();
                    ctx.error(&format!("ERR Unknown client type '{t}'"));
                    return None;
                }
            }
        } else if eq_ic(opt, "addr") {
            f.addr = Some(val.clone());
        } else if eq_ic(opt, "laddr") {
            f.laddr = Some(val.clone());
        } else if eq_ic(opt, "user") {
            // Only the default user exists until ACLs do.
            if &val[..] != b"default" {
                let u = String::from_utf8_lossy(val).into_owned();
                ctx.error(&format!("ERR No such user '{u}'"));
                return None;
            }
            f.user = Some(val.clone());
        } else if eq_ic(opt, "skipme") {
            if eq_ic(val, "yes") {
                f.skipme = true;
            } else if eq_ic(val, "no") {
                f.skipme = false;
            } else {
                ctx.syntax_error();
                return None;
            }
        } else if eq_ic(opt, "maxage") {
            match parse_i64(val) {
                Some(v) if v > 0 => f.max_age = Some(v),
                Some(_) => {
                    ctx.error("ERR maxage should be greater than 0");
                    return None;
                }
                None => {
                    ctx.error("ERR maxage is not an integer or out of range");
                    return None;
                }
            }
        } else {
            ctx.syntax_error();
            return None;
        }
        i += 2;
    }
    Some(f)
}

/// CLIENT KILL addr | CLIENT KILL <filter> <value> ...
fn client_kill(ctx: &mut Ctx, args: &[Bytes]) {
    let old_form = args.len() == 3;
    let filter = if old_form {
        // The old form may kill the caller itself.
        KillFilter { addr: Some(args[2].clone()), ..Default::default() }
    } else {
        match parse_kill_filter(ctx, args) {
            Some(f) => f,
            None => return,
        }
    };
    let now = now_ms();
    let me = ctx.client.id;
    let victims: Vec<u64> = ctx.srv.clients.values().filter(|c| filter.matches(c, me, now)).map(|c| c.id).collect();
    let kill_me = filter.matches(ctx.client, me, now);
    for id in &victims {
        ctx.srv.kill_client(*id);
    }
    let killed = victims.len() + kill_me as usize;
    if old_form {
        if killed == 0 {
            ctx.error("ERR No such client");
        } else {
            ctx.ok();
        }
    } else {
        ctx.out().int(killed as i64);
    }
    // Flagged after the reply was queued, so that it is still sent.
    if kill_me {
        ctx.client.close_after_reply = true;
    }
}

/// Parses an ON|OFF argument, replying with a syntax error otherwise.
fn on_off(ctx: &mut Ctx, arg: &[u8]) -> Option<bool> {
    if eq_ic(arg, "on") {
        Some(true)
    } else if eq_ic(arg, "off") {
        Some(false)
    } else {
        ctx.syntax_error();
        None
    }
}

fn client_no_evict(ctx: &mut Ctx, args: &[Bytes]) {
    if let Some(on) = on_off(ctx, &args[2]) {
        ctx.client.no_evict = on;
        ctx.ok();
    }
}

fn client_no_touch(ctx: &mut Ctx, args: &[Bytes]) {
    if let Some(on) = on_off(ctx, &args[2]) {
        ctx.client.no_touch = on;
        ctx.ok();
    }
}

/// CLIENT REPLY ON|OFF|SKIP. OFF and SKIP have no reply of their own.
fn client_reply(ctx: &mut Ctx, args: &[Bytes]) {
    if eq_ic(&args[2], "on") {
        ctx.client.reply_off = false;
        ctx.client.reply_skip = false;
        ctx.ok();
    } else if eq_ic(&args[2], "off") {
        ctx.client.reply_off = true;
    } else if eq_ic(&args[2], "skip") {
        if !ctx.client.reply_off {
            ctx.client.reply_skip_next = true;
        }
    } else {
        ctx.syntax_error();
    }
}

/// Redis's `getTimeoutFromObjectOrReply` for milliseconds: the absolute
/// end time, or 0 for a zero timeout.
fn parse_timeout_ms(ctx: &mut Ctx, arg: &[u8], now: i64) -> Option<i64> {
    let Some(t) = parse_i64(arg) else {
        ctx.error("ERR timeout is not an integer or out of range");
        return None;
    };
    if t < 0 {
        ctx.error("ERR timeout is negative");
        return None;
    }
    if t == 0 {
        return Some(0);
    }
    // Redis 7.2 refuses a timeout whose end would overflow (7.0 wrapped).
    match t.checked_add(now) {
        Some(end) => Some(end),
        None => {
            ctx.error("ERR timeout is out of range");
            None
        }
    }
}

/// CLIENT PAUSE timeout [WRITE|ALL]
fn client_pause(ctx: &mut Ctx, args: &[Bytes]) {
    let mut all = true;
    if args.len() == 4 {
        if eq_ic(&args[3], "write") {
            all = false;
        } else if !eq_ic(&args[3], "all") {
            return ctx.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
        }
    } else if args.len() > 4 {
        // Redis 7.2 answers extra arguments as for an unknown subcommand.
        let sub: String = String::from_utf8_lossy(&args[1]).chars().take(128).collect();
        let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
        return ctx
            .error(&format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {name} HELP."));
    }
    let now = now_ms();
    let Some(end) = parse_timeout_ms(ctx, &args[2], now) else { return };
    let srv = &mut *ctx.srv;
    let active = srv.paused(now);
    // A weaker pause does not replace a stricter one that lasts as long.
    if !all && active == Some(true) && end <= srv.pause_until_ms {
        return ctx.ok();
    }
    if active.is_none() {
        srv.pause_until_ms = 0;
    }
    srv.pause_all = all;
    srv.pause_until_ms = srv.pause_until_ms.max(end);
    // Readers held by an ALL pause go on once it becomes a WRITE pause.
    srv.pause_notify.notify_waiters();
    ctx.ok();
}

fn client_unpause(ctx: &mut Ctx, _args: &[Bytes]) {
    ctx.srv.pause_until_ms = 0;
    ctx.srv.pause_all = false;
    ctx.srv.pause_notify.notify_waiters();
    ctx.ok();
}
