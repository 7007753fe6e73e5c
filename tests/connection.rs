//! Connection commands against a real server process: PING, ECHO, SELECT,
//! QUIT, RESET, AUTH with `requirepass`, HELLO, MONITOR. Expected replies
//! are Redis 7.2's (checked against redis-server).

mod common;

use std::time::Duration;

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

fn simple(s: &str) -> Resp {
    Resp::Simple(s.into())
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

fn client_info(c: &mut RawConn) -> String {
    match c.cmd(&["CLIENT", "INFO"]) {
        Resp::Bulk(Some(b)) | Resp::Verbatim(_, b) => String::from_utf8(b).expect("utf8"),
        other => panic!("CLIENT INFO: {other:?}"),
    }
}

fn ping_and_echo(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["PING"]), simple("PONG"));
    assert_eq!(c.cmd(&["ping", "hello world"]), Resp::bulk("hello world"));
    assert_eq!(c.cmd(&["PING", "a", "b"]), err("ERR wrong number of arguments for 'ping' command"));
    assert_eq!(c.cmd(&["ECHO", ""]), Resp::bulk(""));
    assert_eq!(c.cmd(&["ECHO", "x y"]), Resp::bulk("x y"));
    assert_eq!(c.cmd(&["ECHO"]), err("ERR wrong number of arguments for 'echo' command"));
    assert_eq!(c.cmd(&["ECHO", "a", "b"]), err("ERR wrong number of arguments for 'echo' command"));
}

fn select_checks_the_index(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["SELECT", "15"]), Resp::ok());
    assert_eq!(field(&client_info(&mut c), "db"), "15");
    assert_eq!(c.cmd(&["SELECT", "16"]), err("ERR DB index is out of range"));
    assert_eq!(c.cmd(&["SELECT", "-1"]), err("ERR DB index is out of range"));
    assert_eq!(c.cmd(&["SELECT", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(
        c.cmd(&["SELECT", "4294967296"]),
        err("ERR value is out of range, value must between -2147483648 and 2147483647")
    );
    assert_eq!(c.cmd(&["SELECT", "1.0"]), err("ERR value is not an integer or out of range"));
    // Keys live per database.
    assert_eq!(c.cmd(&["SELECT", "2"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "k", "two"]), Resp::ok());
    assert_eq!(c.cmd(&["SELECT", "0"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Resp::Bulk(None));
}

fn quit_replies_then_closes_and_ignores_the_rest_of_the_pipeline(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    c.send(b"PING\r\nQUIT\r\nSET after quit\r\n");
    assert_eq!(c.read(), simple("PONG"));
    assert_eq!(c.read(), Resp::ok());
    assert!(c.closed());
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["EXISTS", "after"]), Resp::Int(0));
}

fn protocol_error_is_flushed_then_the_connection_closes(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    c.send(b"PING\r\n*1\r\n$x\r\nPING\r\n");
    assert_eq!(c.read(), simple("PONG"));
    assert_eq!(c.read(), err("ERR Protocol error: invalid bulk length"));
    assert!(c.closed());
}

fn reset_restores_a_fresh_connection(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "before"]), Resp::ok());
    assert_eq!(c.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"]), Resp::ok());
    assert_eq!(c.cmd(&["SELECT", "3"]), Resp::ok());
    assert_eq!(c.cmd(&["CLIENT", "NO-EVICT", "on"]), Resp::ok());
    assert_eq!(c.cmd(&["CLIENT", "NO-TOUCH", "on"]), Resp::ok());
    assert!(matches!(c.cmd(&["HELLO", "3"]), Resp::Map(_)));
    c.send_cmd(&[b"CLIENT", b"REPLY", b"OFF"]);
    assert_eq!(c.cmd(&["RESET"]), simple("RESET"));
    let info = client_info(&mut c);
    assert_eq!(field(&info, "db"), "0");
    assert_eq!(field(&info, "name"), "");
    assert_eq!(field(&info, "flags"), "N");
    assert_eq!(field(&info, "resp"), "2");
    // The library name describes the client, not the session: it stays.
    assert_eq!(field(&info, "lib-name"), "mylib");
    assert_eq!(c.cmd(&["RESET", "x"]), err("ERR wrong number of arguments for 'reset' command"));
}

fn reset_ends_monitoring(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut m = srv.raw();
    assert_eq!(m.cmd(&["MONITOR"]), Resp::ok());
    assert_eq!(m.cmd(&["RESET"]), simple("RESET"));
    let mut other = srv.raw();
    assert_eq!(other.cmd(&["SET", "k", "v"]), Resp::ok());
    // The next thing m reads is its own PING's reply, not a monitor line.
    assert_eq!(m.cmd(&["PING"]), simple("PONG"));
}

fn auth_without_requirepass(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    assert_eq!(
        c.cmd(&["AUTH", "pw"]),
        err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
    );
    // The default user has no password: any password works for it.
    assert_eq!(c.cmd(&["AUTH", "default", "anything"]), Resp::ok());
    assert_eq!(c.cmd(&["AUTH", "nobody", "x"]), err("WRONGPASS invalid username-password pair or user is disabled."));
    assert_eq!(c.cmd(&["AUTH", "a", "b", "c"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["AUTH"]), err("ERR wrong number of arguments for 'auth' command"));
}

fn requirepass_gates_commands_until_auth(mode: &[&str]) {
    let srv = TestServer::start_with(&[&["--requirepass", "s3cret"], mode].concat());
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["GET", "k"]), err("NOAUTH Authentication required."));
    assert_eq!(c.cmd(&["PING"]), err("NOAUTH Authentication required."));
    assert_eq!(c.cmd(&["CLIENT", "ID"]), err("NOAUTH Authentication required."));
    // Unknown commands and arity errors are reported as such first.
    assert_eq!(c.cmd(&["NOSUCH"]), err("ERR unknown command 'NOSUCH', with args beginning with: "));
    assert_eq!(c.cmd(&["GET"]), err("ERR wrong number of arguments for 'get' command"));
    assert_eq!(c.cmd(&["AUTH", "wrong"]), err("WRONGPASS invalid username-password pair or user is disabled."));
    assert_eq!(
        c.cmd(&["AUTH", "default", "wrong"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(c.cmd(&["GET", "k"]), err("NOAUTH Authentication required."));
    assert_eq!(c.cmd(&["AUTH", "s3cret"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "k", "v"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Resp::bulk("v"));
    // A failed AUTH does not log an authenticated client out.
    assert_eq!(c.cmd(&["AUTH", "bad"]), err("WRONGPASS invalid username-password pair or user is disabled."));
    assert_eq!(c.cmd(&["GET", "k"]), Resp::bulk("v"));
    // RESET goes back to the unauthenticated state.
    assert_eq!(c.cmd(&["RESET"]), simple("RESET"));
    assert_eq!(c.cmd(&["GET", "k"]), err("NOAUTH Authentication required."));
    assert_eq!(c.cmd(&["AUTH", "default", "s3cret"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "k"]), Resp::bulk("v"));
}

fn unauthenticated_clients_get_the_small_protocol_caps(mode: &[&str]) {
    let srv = TestServer::start_with(&[&["--requirepass", "pw"], mode].concat());
    let mut c = srv.raw();
    c.send(b"*11\r\n");
    assert_eq!(c.read(), err("ERR Protocol error: unauthenticated multibulk length"));
    assert!(c.closed());
    let mut c = srv.raw();
    c.send(b"*1\r\n$16385\r\n");
    assert_eq!(c.read(), err("ERR Protocol error: unauthenticated bulk length"));
    assert!(c.closed());
    // Once authenticated the caps are lifted.
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["AUTH", "pw"]), Resp::ok());
    let big = "x".repeat(20000);
    assert_eq!(c.cmd(&["SET", "k", &big]), Resp::ok());
}

fn hello_map(id: i64, proto: i64) -> Vec<(Resp, Resp)> {
    vec![
        (Resp::bulk("server"), Resp::bulk("redis")),
        (Resp::bulk("version"), Resp::bulk("7.2.4")),
        (Resp::bulk("proto"), Resp::Int(proto)),
        (Resp::bulk("id"), Resp::Int(id)),
        (Resp::bulk("mode"), Resp::bulk("standalone")),
        (Resp::bulk("role"), Resp::bulk("master")),
        (Resp::bulk("modules"), Resp::Array(Some(vec![]))),
    ]
}

fn hello_switches_protocol_and_replies_with_the_server_map(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    let Resp::Int(id) = c.cmd(&["CLIENT", "ID"]) else { panic!("CLIENT ID") };
    // RESP2: the map is a flat array.
    let flat: Vec<Resp> = hello_map(id, 2).into_iter().flat_map(|(k, v)| [k, v]).collect();
    assert_eq!(c.cmd(&["HELLO"]), Resp::Array(Some(flat.clone())));
    assert_eq!(c.cmd(&["HELLO", "2"]), Resp::Array(Some(flat)));
    assert_eq!(c.cmd(&["HELLO", "3"]), Resp::Map(hello_map(id, 3)));
    assert_eq!(c.cmd(&["GET", "nokey"]), Resp::Null);
    assert_eq!(c.cmd(&["HELLO"]), Resp::Map(hello_map(id, 3)));
    assert_eq!(
        c.cmd(&["HELLO", "2"]),
        Resp::Array(Some(hello_map(id, 2).into_iter().flat_map(|(k, v)| [k, v]).collect()))
    );
    assert_eq!(c.cmd(&["GET", "nokey"]), Resp::Bulk(None));
}

fn hello_errors_and_options(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["HELLO", "4"]), err("NOPROTO unsupported protocol version"));
    assert_eq!(c.cmd(&["HELLO", "1"]), err("NOPROTO unsupported protocol version"));
    assert_eq!(c.cmd(&["HELLO", "x"]), err("ERR Protocol version is not an integer or out of range"));
    assert_eq!(c.cmd(&["HELLO", "3", "FOO"]), err("ERR Syntax error in HELLO option 'FOO'"));
    assert_eq!(c.cmd(&["HELLO", "3", "AUTH", "default"]), err("ERR Syntax error in HELLO option 'AUTH'"));
    assert_eq!(c.cmd(&["HELLO", "3", "SETNAME"]), err("ERR Syntax error in HELLO option 'SETNAME'"));
    assert_eq!(
        c.cmd(&["HELLO", "3", "SETNAME", "a b"]),
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    // Failed HELLOs changed nothing.
    assert_eq!(c.cmd(&["GET", "nokey"]), Resp::Bulk(None));
    assert!(matches!(c.cmd(&["HELLO", "2", "SETNAME", "named"]), Resp::Array(_)));
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Resp::bulk("named"));
    assert!(matches!(c.cmd(&["HELLO", "2", "AUTH", "default", "x", "SETNAME", "n2"]), Resp::Array(_)));
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Resp::bulk("n2"));
    assert_eq!(
        c.cmd(&["HELLO", "2", "AUTH", "someone", "x"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
}

fn hello_with_requirepass(mode: &[&str]) {
    let srv = TestServer::start_with(&[&["--requirepass", "pw"], mode].concat());
    let mut c = srv.raw();
    assert_eq!(
        c.cmd(&["HELLO", "3"]),
        err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
    );
    assert_eq!(
        c.cmd(&["HELLO", "3", "AUTH", "default", "bad"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    // Redis 7.2 checks the name while parsing, before the password (7.0
    // checked it after authenticating).
    assert_eq!(
        c.cmd(&["HELLO", "3", "AUTH", "default", "bad", "SETNAME", "a\nb"]),
        err("ERR Client names cannot contain spaces, newlines or special characters.")
    );
    let Resp::Map(m) = c.cmd(&["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "me"]) else { panic!("map") };
    assert_eq!(m[2], (Resp::bulk("proto"), Resp::Int(3)));
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), Resp::bulk("me"));
    assert_eq!(c.cmd(&["PING"]), simple("PONG"));
}

/// Reads one MONITOR line and returns it without the leading `+`, after
/// checking the `<secs>.<usecs> [<db> <addr>] ` prefix.
fn monitor_line(m: &mut RawConn, db: u32, addr: &str) -> String {
    let Resp::Simple(line) = m.read() else { panic!("monitor line") };
    let (time, rest) = line.split_once(' ').expect("time");
    let (secs, usecs) = time.split_once('.').expect("secs.usecs");
    assert!(secs.parse::<u64>().is_ok() && usecs.len() == 6 && usecs.parse::<u32>().is_ok(), "{line}");
    let prefix = format!("[{db} {addr}] ");
    rest.strip_prefix(&prefix).unwrap_or_else(|| panic!("{line:?} lacks {prefix:?}")).to_string()
}

fn monitor_shows_executed_commands_in_redis_format(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut m = srv.raw();
    assert_eq!(m.cmd(&["MONITOR"]), Resp::ok());
    let mut c = srv.raw();
    let addr = field(&client_info(&mut c), "addr");
    // CLIENT INFO itself was shown.
    assert_eq!(monitor_line(&mut m, 0, &addr), r#""CLIENT" "INFO""#);

    c.send_cmd(&[b"set", b"a b", b"q\"\\\n\r\t\x07\x08\x01\xff"]);
    assert_eq!(c.read(), Resp::ok());
    assert_eq!(monitor_line(&mut m, 0, &addr), r#""set" "a b" "q\"\\\n\r\t\a\b\x01\xff""#);

    // The db is the one after the command ran.
    assert_eq!(c.cmd(&["SELECT", "5"]), Resp::ok());
    assert_eq!(monitor_line(&mut m, 5, &addr), r#""SELECT" "5""#);

    // Admin commands are hidden; rejected commands never ran.
    assert!(matches!(c.cmd(&["CONFIG", "GET", "hz"]), Resp::Array(_)));
    assert!(matches!(c.cmd(&["NOSUCH"]), Resp::Error(_)));
    assert!(matches!(c.cmd(&["GET"]), Resp::Error(_)));
    // Commands that fail while running are shown; passwords are redacted.
    assert!(matches!(c.cmd(&["AUTH", "secret"]), Resp::Error(_)));
    assert!(matches!(c.cmd(&["AUTH", "a", "b", "c"]), Resp::Error(_)));
    assert!(matches!(c.cmd(&["HELLO", "2", "AUTH", "default", "pw", "SETNAME", "x"]), Resp::Array(_)));
    assert_eq!(c.cmd(&["INCRBY", "a b", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(monitor_line(&mut m, 5, &addr), r#""AUTH" "(redacted)""#);
    // AUTH with too many arguments fails before redaction, as in Redis.
    assert_eq!(monitor_line(&mut m, 5, &addr), r#""AUTH" "a" "b" "c""#);
    assert_eq!(monitor_line(&mut m, 5, &addr), r#""HELLO" "2" "AUTH" "(redacted)" "(redacted)" "SETNAME" "x""#);
    assert_eq!(monitor_line(&mut m, 5, &addr), r#""INCRBY" "a b" "x""#);
}

fn monitor_sees_its_own_commands_after_their_replies(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut m = srv.raw();
    assert_eq!(m.cmd(&["MONITOR"]), Resp::ok());
    let addr = field(&client_info(&mut m), "addr");
    assert_eq!(monitor_line(&mut m, 0, &addr), r#""CLIENT" "INFO""#);
    assert_eq!(m.cmd(&["ECHO", "hi"]), Resp::bulk("hi"));
    assert_eq!(monitor_line(&mut m, 0, &addr), r#""ECHO" "hi""#);
    // A second MONITOR is ignored without a reply (and, being admin, unseen).
    m.send_cmd(&[b"MONITOR"]);
    assert_eq!(m.cmd(&["PING"]), simple("PONG"));
    assert_eq!(monitor_line(&mut m, 0, &addr), r#""PING""#);
    assert_eq!(m.cmd(&["MONITOR", "x"]), err("ERR wrong number of arguments for 'monitor' command"));
}

fn monitors_all_receive_and_a_closed_monitor_leaves(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut m1 = srv.raw();
    let mut m2 = srv.raw();
    assert_eq!(m1.cmd(&["MONITOR"]), Resp::ok());
    assert_eq!(m2.cmd(&["MONITOR"]), Resp::ok());
    drop(m1);
    std::thread::sleep(Duration::from_millis(100));
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["SET", "k", "1"]), Resp::ok());
    let addr = field(&client_info(&mut c), "addr");
    assert_eq!(monitor_line(&mut m2, 0, &addr), r#""SET" "k" "1""#);
    assert_eq!(monitor_line(&mut m2, 0, &addr), r#""CLIENT" "INFO""#);
    let list = match c.cmd(&["CLIENT", "LIST"]) {
        Resp::Bulk(Some(b)) => String::from_utf8(b).expect("utf8"),
        other => panic!("{other:?}"),
    };
    assert_eq!(list.lines().filter(|l| field(l, "flags") == "O").count(), 1, "{list}");
}

fn pipelines_of_thousands_of_commands(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut c = srv.raw();
    let mut batch = Vec::new();
    for i in 0..5000 {
        let (k, v) = (format!("k{i}"), i.to_string());
        batch.extend(common::encode_cmd(&[b"SET", k.as_bytes(), v.as_bytes()]));
        batch.extend(common::encode_cmd(&[b"GET", k.as_bytes()]));
    }
    c.send(&batch);
    for i in 0..5000 {
        assert_eq!(c.read(), Resp::ok());
        assert_eq!(c.read(), Resp::bulk(&i.to_string()));
    }
    // Many connections at once, each pipelining.
    let port = srv.port;
    let workers: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = RawConn::connect(port);
                c.send(&b"INCR n\r\n".repeat(250));
                for _ in 0..250 {
                    assert!(matches!(c.read(), Resp::Int(_)));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    assert_eq!(c.cmd(&["GET", "n"]), Resp::bulk("2000"));
}

fn auth_lifts_the_caps_for_the_rest_of_the_same_write(mode: &[&str]) {
    let srv = TestServer::start_with(&[&["--requirepass", "pw"], mode].concat());
    let mut c = srv.raw();
    let big = vec![b'x'; 20000];
    let mut batch = common::encode_cmd(&[b"AUTH", b"pw"]);
    batch.extend(common::encode_cmd(&[b"SET", b"k", &big]));
    batch.extend(common::encode_cmd(&[b"STRLEN", b"k"]));
    c.send(&batch);
    assert_eq!(c.read(), Resp::ok());
    assert_eq!(c.read(), Resp::ok());
    assert_eq!(c.read(), Resp::Int(20000));
}

in_both_modes!(
    pipelines_of_thousands_of_commands,
    auth_lifts_the_caps_for_the_rest_of_the_same_write,
    ping_and_echo,
    select_checks_the_index,
    quit_replies_then_closes_and_ignores_the_rest_of_the_pipeline,
    protocol_error_is_flushed_then_the_connection_closes,
    reset_restores_a_fresh_connection,
    reset_ends_monitoring,
    auth_without_requirepass,
    requirepass_gates_commands_until_auth,
    unauthenticated_clients_get_the_small_protocol_caps,
    hello_switches_protocol_and_replies_with_the_server_map,
    hello_errors_and_options,
    hello_with_requirepass,
    monitor_shows_executed_commands_in_redis_format,
    monitor_sees_its_own_commands_after_their_replies,
    monitors_all_receive_and_a_closed_monitor_leaves,
);
