//! Random scripts in the Lua sandbox, run through EVAL_RO on an in-process
//! server (no sockets): either the input itself as script text, or a
//! script built from it that calls the sandbox's libraries (cjson,
//! cmsgpack, bit, struct, string, table, the base functions) with
//! awkward values and with slices of the input as strings — decoders fed
//! arbitrary bytes, results fed back into encoders.
//!
//! What must hold: no panic and no abort; every script ends (EVAL_RO
//! scripts never write, so a runaway one is ended by the SCRIPT KILL of a
//! second client, served once the script passes busy-reply-threshold);
//! the reply is one well-formed RESP value; the server still answers
//! after.
//! Used by fuzz_targets/lua_scripts.rs and replayed by tests/scripting.rs.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;

use bytes::Bytes;
use oxkey::config::Config;
use oxkey::executor::{self, Server};
use oxkey::server::busy;
use oxkey::server::client::Client;

/// Values a generated call may pass (besides input slices and earlier results).
const VALUES: &[&str] = &[
    "nil",
    "0",
    "-1",
    "1.5",
    "2^31",
    "-2^31",
    "2^53",
    "2^63",
    "1e300",
    "1/0",
    "-1/0",
    "0/0",
    "true",
    "false",
    "''",
    "{}",
    "{1, 2, 3}",
    "{a = 1, b = {2, {c = 'd'}}}",
    "{[1] = 1, [100] = 2}",
    "{[1.5] = 1}",
    "{[true] = 1}",
    "cjson.null",
    "print",
    "string",
    "bit",
    "_G",
    "function() end",
    "coroutine.create(function() end)",
    "string.rep('[', 2000)",
    "string.rep('\\145', 20000)",
    "string.rep('x', 70000)",
    "deep",
    "cyclic",
    "'>!4 i3 c0 s d f bBhHlLT x i16'",
    "'\\0'",
];

/// Functions a generated call may invoke.
const FUNCTIONS: &[&str] = &[
    "cjson.encode",
    "cjson.decode",
    "cjson.encode_max_depth",
    "cjson.decode_max_depth",
    "cjson.encode_sparse_array",
    "cjson.encode_number_precision",
    "cjson.encode_invalid_numbers",
    "cjson.decode_invalid_numbers",
    "cjson.encode_keep_buffer",
    "cjson.new",
    "cmsgpack.pack",
    "cmsgpack.unpack",
    "cmsgpack.unpack_one",
    "cmsgpack.unpack_limit",
    "struct.pack",
    "struct.unpack",
    "struct.size",
    "bit.tobit",
    "bit.tohex",
    "bit.band",
    "bit.bor",
    "bit.bxor",
    "bit.bnot",
    "bit.lshift",
    "bit.rshift",
    "bit.arshift",
    "bit.rol",
    "bit.ror",
    "bit.bswap",
    "string.format",
    "string.rep",
    "string.sub",
    "string.byte",
    "string.char",
    "string.find",
    "string.gsub",
    "string.dump",
    "table.concat",
    "table.insert",
    "table.remove",
    "table.sort",
    "unpack",
    "select",
    "tostring",
    "tonumber",
    "loadstring",
    "load",
    "rawset",
    "rawget",
    "next",
    "pairs",
    "setmetatable",
    "getmetatable",
    "pcall",
    "error",
    "redis.sha1hex",
    "redis.error_reply",
    "redis.status_reply",
    "redis.pcall",
    "redis.setresp",
];

/// Input bytes as a script built of library calls: each call takes a
/// function byte, an argument count and argument bytes; an argument is a
/// fixed value, an input slice (ARGV) or an earlier result.
fn build_script(data: &[u8], argv: &mut Vec<Bytes>) -> String {
    let mut s = String::from(
        "local deep = {} local c = deep for i = 1, 40 do c[1] = {} c = c[1] end\n\
         local cyclic = {} cyclic[1] = cyclic cyclic.x = cyclic\n\
         local r = {}\n",
    );
    let mut bytes = data.iter().copied();
    let mut calls = 0;
    while let Some(f) = bytes.next() {
        calls += 1;
        if calls > 48 {
            break;
        }
        let func = FUNCTIONS[f as usize % FUNCTIONS.len()];
        let nargs = bytes.next().unwrap_or(0) % 5;
        let mut args = Vec::new();
        for _ in 0..nargs {
            let a = bytes.next().unwrap_or(0);
            let arg = match a % 4 {
                0 | 1 => VALUES[(a / 4) as usize % VALUES.len()].to_string(),
                2 => {
                    // An input slice: the next byte is its length.
                    let len = bytes.next().unwrap_or(0) as usize;
                    let slice: Vec<u8> = bytes.by_ref().take(len).collect();
                    argv.push(Bytes::from(slice));
                    format!("ARGV[{}]", argv.len())
                }
                _ => format!("r[#r - {}]", (a / 4) % 4),
            };
            args.push(arg);
        }
        s.push_str(&format!(
            "do local ok, v = pcall({func}, {}) if v ~= nil then r[#r + 1] = v end end\n",
            args.join(", ")
        ));
    }
    s.push_str("return {#r, type(r[#r])}\n");
    s
}

struct Sandbox {
    srv: Server,
    client: Client,
    runs: u64,
    /// The far end of the killer client's socket, and its near end (the
    /// client's own, kept open).
    killer: UnixStream,
    _killer_socket: UnixStream,
}

thread_local! {
    static SANDBOX: RefCell<Option<Sandbox>> = const { RefCell::new(None) };
}

const SCRIPT_KILL: &[u8] = b"SCRIPT KILL\r\n";

fn new_sandbox() -> Sandbox {
    let mut config = Config::default();
    // Runaway read-only scripts are killed after this long.
    let _ = config.set("busy-reply-threshold", "200", true);
    let mut srv = Server::new(config);
    // The killer: a client on a socket pair, with a SCRIPT KILL waiting
    // that the server reads only while a script runs too long.
    let Ok((near, mut killer)) = UnixStream::pair() else { panic!("socketpair") };
    for s in [&near, &killer] {
        s.set_nonblocking(true).expect("non-blocking socket");
    }
    killer.write_all(SCRIPT_KILL).expect("write to the killer's socket");
    let id = 2;
    srv.clients.insert(id, Box::new(Client::new(id, "killer".into(), "killer".into(), near.as_raw_fd(), true)));
    busy::register(Vec::new(), busy::Mode::Local(std::rc::Weak::new()));
    let client = Client::new(1, "fuzz".into(), "fuzz".into(), -1, true);
    Sandbox { srv, client, runs: 0, killer, _killer_socket: near }
}

/// After a script the killer ended: its reply is read and the next SCRIPT
/// KILL sent.
fn rearm_killer(sb: &mut Sandbox) {
    let mut replies = [0u8; 4096];
    while matches!(sb.killer.read(&mut replies), Ok(n) if n > 0) {}
    sb.killer.write_all(SCRIPT_KILL).expect("write to the killer's socket");
}

/// Length of the one RESP value at the start of `b`, if well-formed.
fn resp_len(b: &[u8], depth: usize) -> Option<usize> {
    if depth > 200 {
        return None;
    }
    let end = b.windows(2).position(|w| w == b"\r\n")?;
    let head = std::str::from_utf8(&b[1..end]).ok()?;
    let mut pos = end + 2;
    match *b.first()? {
        b'+' | b'-' | b':' | b',' | b'#' | b'_' | b'(' => Some(pos),
        b'$' | b'=' => {
            let n: i64 = head.parse().ok()?;
            if n < 0 {
                return Some(pos);
            }
            let n = n as usize;
            (b.get(pos + n..pos + n + 2)? == b"\r\n").then_some(pos + n + 2)
        }
        b'*' | b'~' | b'%' | b'>' => {
            let n: i64 = head.parse().ok()?;
            let items = if b[0] == b'%' { n.max(0) * 2 } else { n.max(0) };
            for _ in 0..items {
                pos += resp_len(&b[pos..], depth + 1)?;
            }
            Some(pos)
        }
        _ => None,
    }
}

fn eval(sb: &mut Sandbox, script: &[u8], argv: &[Bytes]) -> Vec<u8> {
    let mut args = vec![Bytes::from_static(b"EVAL_RO"), Bytes::copy_from_slice(script), Bytes::from_static(b"0")];
    args.extend_from_slice(argv);
    let Some(cmd) = executor::lookup(&args) else { panic!("EVAL_RO is not a command") };
    sb.client.out.buf.clear();
    executor::call(&mut sb.srv, &mut sb.client, cmd, &args);
    let reply = sb.client.out.buf.to_vec();
    sb.client.out.buf.clear();
    reply
}

pub fn lua_scripts_case(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut argv = Vec::new();
    let script = if mode & 1 == 0 {
        // The input as script text, the same bytes as ARGV[1].
        argv.push(Bytes::copy_from_slice(rest));
        rest.to_vec()
    } else {
        build_script(rest, &mut argv).into_bytes()
    };
    SANDBOX.with(|cell| {
        let mut slot = cell.borrow_mut();
        let sb = slot.get_or_insert_with(new_sandbox);
        let reply = eval(sb, &script, &argv);
        assert_eq!(resp_len(&reply, 0), Some(reply.len()), "malformed reply {:?}", String::from_utf8_lossy(&reply));
        if reply.starts_with(b"-ERR Script killed by user with SCRIPT KILL") {
            rearm_killer(sb);
        }
        let pong = eval(sb, b"return redis.status_reply('PONG')", &[]);
        assert_eq!(pong, b"+PONG\r\n");
        sb.runs += 1;
        // The script cache keeps every script: start again now and then.
        if sb.runs % 256 == 0 {
            oxkey::scripting::flush();
        }
    });
}
