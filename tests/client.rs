//! CLIENT subcommands, the `timeout` and `maxclients` configs, against a
//! real server process with several raw connections. Expected replies are
//! Redis 7.2's (checked against redis-server).

mod common;

use std::io::{BufRead, ErrorKind};
use std::time::{Duration, Instant};

use common::{err, RawConn, Resp, TestServer};

/// Starts the I/O-thread mode (connections on other threads than the
/// executor's).
const IO_THREADS: &[&str] = &["--io-threads", "3"];

/// Runs each test body twice: connections on the executor's thread (the
/// default) and on I/O threads.
macro_rules! in_both_modes {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn one_thread() {
                super::$name(&[]);
            }
            #[test]
            fn io_threads() {
                super::$name(super::IO_THREADS);
            }
        }
    )*};
}

fn text(r: Resp) -> String {
    match r {
        Resp::Bulk(Some(b)) | Resp::Verbatim(_, b) => String::from_utf8(b).expect("utf8"),
        other => panic!("expected text, got {other:?}"),
    }
}

/// The value of `field=` in a CLIENT INFO / CLIENT LIST line.
fn field(line: &str, name: &str) -> String {
    let key = format!("{name}=");
    line.trim_end()
        .split(' ')
        .find_map(|f| f.strip_prefix(&key))
        .unwrap_or_else(|| panic!("no {name} in {line}"))
        .to_string()
}

fn info(c: &mut RawConn) -> String {
    text(c.cmd(&["CLIENT", "INFO"]))
}

fn id(c: &mut RawConn) -> i64 {
    match c.cmd(&["CLIENT", "ID"]) {
        Resp::Int(i) => i,
        other => panic!("CLIENT ID: {other:?}"),
    }
}

/// True when nothing arrives on `c` within `ms` (a held command).
fn nothing_within(c: &mut RawConn, ms: u64) -> bool {
    c.reader.get_ref().set_read_timeout(Some(Duration::from_millis(ms))).expect("timeout");
    let r = c.reader.fill_buf().map(|b| b.len());
    c.reader.get_ref().set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    matches!(r, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
}

/// Waits up to `secs` for the server to close `c`.
fn closed_within(c: &mut RawConn, secs: u64) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        c.reader.get_ref().set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
        match c.reader.fill_buf() {
            Ok([]) => return true,
            Ok(_) => panic!("unexpected data"),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

const FIELDS_7_2: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
    "lib-name",
    "lib-ver",
];

fn id_name_and_info(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut a = srv.raw();
    let ia = id(&mut a);
    let mut b = srv.raw();
    let ib = id(&mut b);
    // Ids grow in connection order.
    assert!(ib > ia);
    assert_eq!(a.cmd(&["CLIENT", "GETNAME"]), Resp::Bulk(None));
    assert_eq!(
        a.cmd(&["CLIENT", "SETNAME", "a b"]),
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(
        a.cmd(&["CLIENT", "SETNAME", "caf\u{e9}"]),
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(a.cmd(&["CLIENT", "SETNAME", "worker-1"]), Resp::ok());
    assert_eq!(a.cmd(&["CLIENT", "GETNAME"]), Resp::bulk("worker-1"));
    assert_eq!(a.cmd(&["CLIENT", "SETNAME", ""]), Resp::ok());
    assert_eq!(a.cmd(&["CLIENT", "GETNAME"]), Resp::Bulk(None));
    assert_eq!(a.cmd(&["CLIENT", "SETNAME", "worker-1"]), Resp::ok());

    let line = info(&mut a);
    assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
    let keys: Vec<&str> = line.trim_end().split(' ').map(|f| f.split('=').next().unwrap_or("")).collect();
    assert_eq!(keys, FIELDS_7_2);
    assert_eq!(field(&line, "id"), ia.to_string());
    assert_eq!(field(&line, "name"), "worker-1");
    assert_eq!(field(&line, "laddr"), format!("127.0.0.1:{}", srv.port));
    assert!(field(&line, "addr").starts_with("127.0.0.1:"));
    assert_eq!(field(&line, "flags"), "N");
    assert_eq!(field(&line, "db"), "0");
    assert_eq!(field(&line, "multi"), "-1");
    // "client" + "info": the caller's own arguments.
    assert_eq!(field(&line, "argv-mem"), "10");
    // The query buffer still holds the request being run: *2 $6 client $4 info.
    assert_eq!(field(&line, "qbuf"), "26");
    assert_eq!(field(&line, "cmd"), "client|info");
    assert_eq!(field(&line, "user"), "default");
    assert_eq!(field(&line, "redir"), "-1");
    assert_eq!(field(&line, "resp"), "2");
    assert_eq!(field(&line, "events"), "r");

    // cmd= tracks the last command, NULL after an unknown one.
    assert_eq!(b.cmd(&["GET", "x"]), Resp::Bulk(None));
    let list = text(a.cmd(&["CLIENT", "LIST"]));
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(field(lines[0], "id"), ia.to_string());
    assert_eq!(field(lines[1], "id"), ib.to_string());
    assert_eq!(field(lines[0], "cmd"), "client|list");
    assert_eq!(field(lines[1], "cmd"), "get");
    assert_eq!(field(lines[1], "argv-mem"), "0");
    assert_eq!(field(lines[1], "qbuf"), "0");
    assert!(matches!(b.cmd(&["NOSUCH"]), Resp::Error(_)));
    assert!(matches!(b.cmd(&["CLIENT", "NOSUCH"]), Resp::Error(_)));
    assert_eq!(field(&text(a.cmd(&["CLIENT", "LIST", "ID", &ib.to_string()])), "cmd"), "NULL");
    assert_eq!(b.cmd(&["CLIENT", "SETNAME"]), err("ERR wrong number of arguments for 'client|setname' command"));
    assert_eq!(field(&text(a.cmd(&["CLIENT", "LIST", "ID", &ib.to_string()])), "cmd"), "client|setname");

    // RESP3 clients get a verbatim string.
    assert!(matches!(a.cmd(&["HELLO", "3"]), Resp::Map(_)));
    assert!(matches!(a.cmd(&["CLIENT", "INFO"]), Resp::Verbatim(ref f, _) if f == "txt"));
    assert_eq!(field(&info(&mut a), "resp"), "3");
}

fn client_list_filters(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut a = srv.raw();
    let mut b = srv.raw();
    let (ia, ib) = (id(&mut a), id(&mut b));
    assert_eq!(text(a.cmd(&["CLIENT", "LIST", "TYPE", "normal"])).lines().count(), 2);
    assert_eq!(text(a.cmd(&["CLIENT", "LIST", "TYPE", "NORMAL"])).lines().count(), 2);
    for t in ["pubsub", "master", "replica", "slave"] {
        assert_eq!(text(a.cmd(&["CLIENT", "LIST", "TYPE", t])), "", "{t}");
    }
    assert_eq!(a.cmd(&["CLIENT", "LIST", "TYPE", "foo"]), err("ERR Unknown client type 'foo'"));
    assert_eq!(a.cmd(&["CLIENT", "LIST", "TYPE", "normal", "x"]), err("ERR syntax error"));
    assert_eq!(a.cmd(&["CLIENT", "LIST", "ID"]), err("ERR syntax error"));
    assert_eq!(a.cmd(&["CLIENT", "LIST", "foo"]), err("ERR syntax error"));
    assert_eq!(a.cmd(&["CLIENT", "LIST", "ID", "x"]), err("ERR Invalid client ID"));
    // In the order asked, unknown ids skipped.
    let list = text(a.cmd(&["CLIENT", "LIST", "ID", &ib.to_string(), "999", &ia.to_string()]));
    let ids: Vec<String> = list.lines().map(|l| field(l, "id")).collect();
    assert_eq!(ids, vec![ib.to_string(), ia.to_string()]);
    assert_eq!(text(a.cmd(&["CLIENT", "LIST", "ID", "999"])), "");
}

fn setinfo_sets_library_name_and_version(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "redis-py"]), Resp::ok());
    assert_eq!(c.cmd(&["CLIENT", "SETINFO", "lib-ver", "5.0.1"]), Resp::ok());
    let line = info(&mut c);
    assert_eq!(field(&line, "lib-name"), "redis-py");
    assert_eq!(field(&line, "lib-ver"), "5.0.1");
    assert_eq!(c.cmd(&["CLIENT", "SETINFO", "lib-ver", ""]), Resp::ok());
    assert_eq!(field(&info(&mut c), "lib-ver"), "");
    assert_eq!(c.cmd(&["CLIENT", "SETINFO", "foo", "x"]), err("ERR Unrecognized option 'foo'"));
    assert_eq!(
        c.cmd(&["CLIENT", "SETINFO", "Lib-Name", "a b"]),
        err("ERR Lib-Name cannot contain spaces, newlines or special characters.")
    );
    assert_eq!(
        c.cmd(&["CLIENT", "SETINFO", "lib-name"]),
        err("ERR wrong number of arguments for 'client|setinfo' command")
    );
}

fn kill_by_address_old_form(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut killer = srv.raw();
    let mut victim = srv.raw();
    let addr = field(&info(&mut victim), "addr");
    assert_eq!(killer.cmd(&["CLIENT", "KILL", &addr]), Resp::ok());
    assert!(victim.closed());
    assert_eq!(killer.cmd(&["CLIENT", "KILL", &addr]), err("ERR No such client"));
    assert_eq!(killer.cmd(&["CLIENT", "KILL", "1.2.3.4:5"]), err("ERR No such client"));
    // The old form can kill the caller: the reply still arrives.
    let own = field(&info(&mut killer), "addr");
    assert_eq!(killer.cmd(&["CLIENT", "KILL", &own]), Resp::ok());
    assert!(killer.closed());
}

fn kill_filters(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut me = srv.raw();
    let mut v1 = srv.raw();
    let mut v2 = srv.raw();
    let i1 = id(&mut v1);
    let my_addr = field(&info(&mut me), "addr");

    assert_eq!(me.cmd(&["CLIENT", "KILL", "ID", "0"]), err("ERR client-id should be greater than 0"));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "ID", "x"]), err("ERR client-id should be greater than 0"));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "TYPE", "foo"]), err("ERR Unknown client type 'foo'"));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "USER", "nobody"]), err("ERR No such user 'nobody'"));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "SKIPME", "maybe"]), err("ERR syntax error"));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "ID", "1", "TYPE"]), err("ERR syntax error"));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "FOO", "bar"]), err("ERR syntax error"));
    assert_eq!(me.cmd(&["CLIENT", "KILL"]), err("ERR wrong number of arguments for 'client|kill' command"));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "MAXAGE", "x"]), err("ERR maxage is not an integer or out of range"));

    // Filters combine; nothing matches.
    assert_eq!(me.cmd(&["CLIENT", "KILL", "ID", &i1.to_string(), "ADDR", "1.2.3.4:5"]), Resp::Int(0));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "ID", "99999"]), Resp::Int(0));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "MAXAGE", "1000"]), Resp::Int(0));
    // SKIPME defaults to yes in the new form.
    assert_eq!(me.cmd(&["CLIENT", "KILL", "ADDR", &my_addr]), Resp::Int(0));

    assert_eq!(me.cmd(&["CLIENT", "KILL", "ID", &i1.to_string()]), Resp::Int(1));
    assert!(v1.closed());
    // No trace left: gone from CLIENT LIST at once.
    assert_eq!(text(me.cmd(&["CLIENT", "LIST", "ID", &i1.to_string()])), "");

    let laddr = format!("127.0.0.1:{}", srv.port);
    assert_eq!(me.cmd(&["CLIENT", "KILL", "LADDR", &laddr, "USER", "default", "TYPE", "normal"]), Resp::Int(1));
    assert!(v2.closed());
    assert_eq!(text(me.cmd(&["CLIENT", "LIST"])).lines().count(), 1);

    // SKIPME no includes the caller, which gets its reply and is closed.
    let mut v3 = srv.raw();
    assert_eq!(v3.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(me.cmd(&["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "no"]), Resp::Int(2));
    assert!(me.closed());
    let mut fresh = srv.raw();
    assert_eq!(text(fresh.cmd(&["CLIENT", "LIST"])).lines().count(), 1);
}

fn kill_by_maxage(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut old = srv.raw();
    assert_eq!(old.cmd(&["PING"]), Resp::Simple("PONG".into()));
    std::thread::sleep(Duration::from_millis(2100));
    let mut me = srv.raw();
    assert_eq!(me.cmd(&["CLIENT", "KILL", "MAXAGE", "2"]), Resp::Int(1));
    assert!(old.closed());
}

fn killing_a_monitor_removes_it_from_the_feed(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut m = srv.raw();
    assert_eq!(m.cmd(&["MONITOR"]), Resp::ok());
    let mut c = srv.raw();
    let mid = field(text(c.cmd(&["CLIENT", "LIST", "TYPE", "normal"])).lines().next().expect("line"), "id");
    assert_eq!(c.cmd(&["CLIENT", "KILL", "ID", &mid]), Resp::Int(1));
    assert!(m.closed());
    assert_eq!(c.cmd(&["SET", "k", "v"]), Resp::ok());
    assert_eq!(text(c.cmd(&["CLIENT", "LIST"])).lines().count(), 1);
}

fn pause_write_holds_only_writes(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut admin = srv.raw();
    let mut c = srv.raw();
    let cid = id(&mut c);
    assert_eq!(c.cmd(&["SET", "k", "before"]), Resp::ok());
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Resp::bulk("before"));
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
    // Errors found before running are answered at once.
    assert_eq!(c.cmd(&["SET", "k"]), err("ERR wrong number of arguments for 'set' command"));
    c.send_cmd(&[b"SET", b"k", b"after"]);
    assert!(nothing_within(&mut c, 300));
    // The held client shows flag b and its held command.
    let held = text(admin.cmd(&["CLIENT", "LIST", "ID", &cid.to_string()]));
    assert_eq!(field(&held, "flags"), "b");
    assert_eq!(field(&held, "cmd"), "set");
    assert_eq!(field(&held, "argv-mem"), "9");
    assert_eq!(admin.cmd(&["GET", "k"]), Resp::bulk("before"));
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), Resp::ok());
    assert_eq!(c.read(), Resp::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Resp::bulk("after"));
    assert_eq!(field(&info(&mut c), "flags"), "N");
}

fn pause_all_holds_every_command_until_it_ends(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut admin = srv.raw();
    let mut c = srv.raw();
    let started = Instant::now();
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "700"]), Resp::ok());
    // Pipelined requests stay in order behind the held one.
    c.send(b"PING\r\nSET k v\r\nGET k\r\n");
    assert!(nothing_within(&mut c, 300));
    assert_eq!(c.read(), Resp::Simple("PONG".into()));
    assert!(started.elapsed() >= Duration::from_millis(650));
    assert_eq!(c.read(), Resp::ok());
    assert_eq!(c.read(), Resp::bulk("v"));
    // The pausing client is held too, even for UNPAUSE, as in Redis.
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "400", "ALL"]), Resp::ok());
    let started = Instant::now();
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), Resp::ok());
    assert!(started.elapsed() >= Duration::from_millis(300));
}

fn a_new_pause_keeps_the_later_end_and_takes_the_new_mode(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut admin = srv.raw();
    let mut c = srv.raw();
    let started = Instant::now();
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "1500", "WRITE"]), Resp::ok());
    // Writes are held, so CLIENT PAUSE (not a write) still runs: the mode
    // becomes ALL, the end stays the later one.
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "100", "ALL"]), Resp::ok());
    c.send(b"GET k\r\n");
    assert_eq!(c.read(), Resp::Bulk(None));
    assert!(started.elapsed() >= Duration::from_millis(1400), "{:?}", started.elapsed());
    // A longer WRITE pause after an ALL one that is over: reads go on.
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Resp::Bulk(None));
    c.send(b"INCR n\r\n");
    assert!(nothing_within(&mut c, 200));
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), Resp::ok());
    assert_eq!(c.read(), Resp::Int(1));
}

fn held_client_can_be_killed(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut admin = srv.raw();
    let mut c = srv.raw();
    let cid = id(&mut c);
    assert_eq!(admin.cmd(&["CLIENT", "PAUSE", "100000", "WRITE"]), Resp::ok());
    c.send(b"SET k v\r\n");
    assert!(nothing_within(&mut c, 100));
    assert_eq!(admin.cmd(&["CLIENT", "KILL", "ID", &cid.to_string()]), Resp::Int(1));
    assert!(c.closed());
    assert_eq!(admin.cmd(&["CLIENT", "UNPAUSE"]), Resp::ok());
    assert_eq!(admin.cmd(&["EXISTS", "k"]), Resp::Int(0));
}

fn pause_argument_errors(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["CLIENT", "PAUSE", "x"]), err("ERR timeout is not an integer or out of range"));
    assert_eq!(c.cmd(&["CLIENT", "PAUSE", "-1"]), err("ERR timeout is negative"));
    assert_eq!(c.cmd(&["CLIENT", "PAUSE", "10", "foo"]), err("ERR CLIENT PAUSE mode must be WRITE or ALL"));
    // The mode is checked before the timeout.
    assert_eq!(c.cmd(&["CLIENT", "PAUSE", "x", "foo"]), err("ERR CLIENT PAUSE mode must be WRITE or ALL"));
    assert_eq!(
        c.cmd(&["CLIENT", "Pause", "10", "write", "extra"]),
        err("ERR unknown subcommand or wrong number of arguments for 'Pause'. Try CLIENT HELP.")
    );
    assert_eq!(c.cmd(&["CLIENT", "PAUSE"]), err("ERR wrong number of arguments for 'client|pause' command"));
    // Redis 7.2 refuses an end time that would overflow (7.0 wrapped).
    assert_eq!(c.cmd(&["CLIENT", "PAUSE", "9223372036854775807"]), err("ERR timeout is out of range"));
    assert_eq!(c.cmd(&["CLIENT", "PAUSE", "0"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "k", "v"]), Resp::ok());
    assert_eq!(c.cmd(&["CLIENT", "UNPAUSE", "x"]), err("ERR wrong number of arguments for 'client|unpause' command"));
}

fn reply_off_and_skip(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    c.send(b"CLIENT REPLY OFF\r\nSET k 1\r\nGET k\r\nNOSUCH\r\nCLIENT REPLY ON\r\nGET k\r\n");
    assert_eq!(c.read(), Resp::ok());
    assert_eq!(c.read(), Resp::bulk("1"));
    // SKIP: no reply for itself nor for the next command.
    c.send(b"CLIENT REPLY SKIP\r\nSET k 2\r\nGET k\r\n");
    assert_eq!(c.read(), Resp::bulk("2"));
    // SKIP while OFF does nothing; ON answers.
    c.send(b"CLIENT REPLY OFF\r\nCLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nPING\r\n");
    assert_eq!(c.read(), Resp::ok());
    assert_eq!(c.read(), Resp::Simple("PONG".into()));
    assert_eq!(c.cmd(&["CLIENT", "REPLY", "maybe"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["CLIENT", "REPLY"]), err("ERR wrong number of arguments for 'client|reply' command"));
}

fn no_evict_and_no_touch_flags(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["CLIENT", "NO-EVICT", "on"]), Resp::ok());
    assert_eq!(field(&info(&mut c), "flags"), "e");
    assert_eq!(c.cmd(&["CLIENT", "NO-TOUCH", "ON"]), Resp::ok());
    assert_eq!(field(&info(&mut c), "flags"), "eT");
    assert_eq!(c.cmd(&["CLIENT", "NO-EVICT", "off"]), Resp::ok());
    assert_eq!(c.cmd(&["CLIENT", "NO-TOUCH", "off"]), Resp::ok());
    assert_eq!(field(&info(&mut c), "flags"), "N");
    assert_eq!(c.cmd(&["CLIENT", "NO-EVICT", "x"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["CLIENT", "NO-TOUCH", "x"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["CLIENT", "NO-TOUCH"]), err("ERR wrong number of arguments for 'client|no-touch' command"));
}

fn help_is_the_redis_7_2_text(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    let Resp::Array(Some(lines)) = c.cmd(&["client", "help"]) else { panic!("array") };
    let lines: Vec<String> = lines
        .into_iter()
        .map(|l| match l {
            Resp::Simple(s) => s,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(lines.len(), 54);
    assert_eq!(lines[0], "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    assert_eq!(lines[1], "CACHING (YES|NO)");
    assert!(lines.contains(&"SETINFO <option> <value>".to_string()));
    assert_eq!(lines[50], "NO-TOUCH (ON|OFF)");
    assert_eq!(lines[51], "    Will not touch LRU/LFU stats when this mode is on.");
    assert_eq!(lines[52], "HELP");
    assert_eq!(lines[53], "    Prints this help.");
    assert_eq!(c.cmd(&["CLIENT", "HELP", "x"]), err("ERR wrong number of arguments for 'client|help' command"));
    assert_eq!(c.cmd(&["CLIENT", "FOO"]), err("ERR unknown subcommand 'FOO'. Try CLIENT HELP."));
    assert_eq!(c.cmd(&["CLIENT"]), err("ERR wrong number of arguments for 'client' command"));
}

fn idle_clients_time_out(mode: &[&str]) {
    let srv = TestServer::start_with(&[&["--timeout", "1"], mode].concat());
    let mut idle = srv.raw();
    let mut monitor = srv.raw();
    assert_eq!(idle.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(monitor.cmd(&["MONITOR"]), Resp::ok());
    let mut busy = srv.raw();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        assert_eq!(busy.cmd(&["PING"]), Resp::Simple("PONG".into()));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(closed_within(&mut idle, 2));
    // Monitors are never timed out; an active client neither.
    assert_eq!(busy.cmd(&["ECHO", "alive"]), Resp::bulk("alive"));
    assert!(matches!(monitor.read(), Resp::Simple(_)));
}

fn timeout_set_at_run_time(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut idle = srv.raw();
    assert_eq!(idle.cmd(&["PING"]), Resp::Simple("PONG".into()));
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["CONFIG", "SET", "timeout", "1"]), Resp::ok());
    assert!(closed_within(&mut idle, 5));
}

fn maxclients_refuses_extra_connections(mode: &[&str]) {
    let srv = TestServer::start_with(&[&["--maxclients", "2"], mode].concat());
    let mut a = srv.raw();
    let mut b = srv.raw();
    assert_eq!(a.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(b.cmd(&["PING"]), Resp::Simple("PONG".into()));
    let mut c = srv.raw();
    assert_eq!(c.read(), err("ERR max number of clients reached"));
    assert!(c.closed());
    // A freed slot can be used again.
    drop(a);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut d = srv.raw();
        d.send(b"PING\r\n");
        match d.read() {
            Resp::Simple(s) if s == "PONG" => break,
            other => assert!(Instant::now() < deadline, "still refused: {other:?}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(b.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

in_both_modes!(
    id_name_and_info,
    client_list_filters,
    setinfo_sets_library_name_and_version,
    kill_by_address_old_form,
    kill_filters,
    kill_by_maxage,
    killing_a_monitor_removes_it_from_the_feed,
    pause_write_holds_only_writes,
    pause_all_holds_every_command_until_it_ends,
    a_new_pause_keeps_the_later_end_and_takes_the_new_mode,
    held_client_can_be_killed,
    pause_argument_errors,
    reply_off_and_skip,
    no_evict_and_no_touch_flags,
    help_is_the_redis_7_2_text,
    idle_clients_time_out,
    timeout_set_at_run_time,
    maxclients_refuses_extra_connections,
);
