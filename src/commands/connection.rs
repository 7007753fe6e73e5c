//! Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET.

use bytes::Bytes;

use super::{acl, flags::*, CommandDef, Ctx, NO_KEYS};
use crate::cmd;
use crate::util::{eq_ic, parse_i64};

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "ping",
        -1,
        FAST | STALE | LOADING,
        acl::CONNECTION,
        NO_KEYS,
        ping,
        "connection",
        "1.0.0",
        "O(1)",
        "Returns the server's liveliness response."
    ),
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
    ),
    cmd!(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        acl::CONNECTION,
        NO_KEYS,
        quit,
        "connection",
        "1.0.0",
        "O(1)",
        "Closes the connection."
    ),
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
    ),
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
    ),
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
    ),
    cmd!(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        acl::CONNECTION,
        NO_KEYS,
        reset,
        "connection",
        "6.2.0",
        "O(1)",
        "Resets the connection."
    ),
];

fn ping(ctx: &mut Ctx, args: &[Bytes]) {
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
    let Some(id) = parse_i64(&args[1]) else {
        return ctx.not_integer();
    };
    if id < 0 || id as usize >= ctx.srv.dbs.len() {
        return ctx.error("ERR DB index is out of range");
    }
    ctx.client.db = id as usize;
    ctx.ok();
}

/// Checks a username/password pair against `requirepass` (the only user
/// until ACLs exist is `default`).
fn check_password(ctx: &mut Ctx, user: &[u8], pass: &[u8]) -> bool {
    let ok = match &ctx.srv.config.requirepass {
        None => user == b"default",
        Some(p) => user == b"default" && p.as_bytes() == pass,
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
    if args.len() == 2 && ctx.srv.config.requirepass.is_none() {
        return ctx.error(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        );
    }
    let (user, pass) = if args.len() == 3 { (&args[1][..], &args[2][..]) } else { (&b"default"[..], &args[1][..]) };
    if check_password(ctx, user, pass) {
        ctx.ok();
    } else {
        ctx.error("WRONGPASS invalid username-password pair or user is disabled.");
    }
}

fn hello(ctx: &mut Ctx, args: &[Bytes]) {
    let mut resp = ctx.client.out.resp;
    let mut i = 1;
    if args.len() > 1 {
        match parse_i64(&args[1]) {
            Some(v @ 2..=3) => resp = v as u8,
            Some(_) | None => {
                return ctx.error("NOPROTO unsupported protocol version");
            }
        }
        i = 2;
    }
    let mut setname = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ic(&args[i], "auth") && more >= 2 {
            if !check_password(ctx, &args[i + 1], &args[i + 2]) {
                return ctx.error("WRONGPASS invalid username-password pair or user is disabled.");
            }
            i += 3;
        } else if eq_ic(&args[i], "setname") && more >= 1 {
            if !super::server::valid_client_name(&args[i + 1]) {
                return ctx.error("ERR Client names cannot contain spaces, newlines or special characters.");
            }
            setname = Some(args[i + 1].to_vec());
            i += 2;
        } else {
            let opt = String::from_utf8_lossy(&args[i]).into_owned();
            return ctx.error(&format!("ERR Syntax error in HELLO option '{opt}'"));
        }
    }
    if !ctx.client.authenticated {
        return ctx.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if let Some(n) = setname {
        ctx.client.name = if n.is_empty() { None } else { Some(n) };
    }
    ctx.client.out.resp = resp;
    let id = ctx.client.id;
    let out = ctx.out();
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_COMPAT_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(resp as i64);
    out.bulk(b"id");
    out.int(id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
}

fn reset(ctx: &mut Ctx, _args: &[Bytes]) {
    let c = &mut *ctx.client;
    c.db = 0;
    c.out.resp = 2;
    c.name = None;
    c.monitor = false;
    c.no_evict = false;
    c.no_touch = false;
    c.reply_mode = crate::server::client::ReplyMode::On;
    c.authenticated = ctx.srv.config.requirepass.is_none();
    ctx.out().simple("RESET");
}
