//! RESP decoding over a real socket: pipelining, inline commands, protocol
//! errors and the connection closes Redis does after them.

mod common;
use common::{Resp, TestServer};

#[test]
fn pipelined_thousands_in_one_write() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let mut batch = Vec::new();
    for i in 0..5000 {
        batch.extend(common::encode_cmd(&[b"SET", format!("k{i}").as_bytes(), b"v"]));
    }
    batch.extend(common::encode_cmd(&[b"DBSIZE"]));
    c.send(&batch);
    for _ in 0..5000 {
        assert_eq!(c.read(), Resp::ok());
    }
    assert_eq!(c.read(), Resp::Int(5000));
}

#[test]
fn inline_commands_with_quotes() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.send(b"SET k \"a b\\x41\"\r\nGET k\r\n\r\nPING\n");
    assert_eq!(c.read(), Resp::ok());
    assert_eq!(c.read(), Resp::bulk("a bA"));
    assert_eq!(c.read(), Resp::Simple("PONG".into()));
}

#[test]
fn protocol_errors_reply_then_close() {
    let srv = TestServer::start();
    for (input, msg) in [
        (&b"*abc\r\n"[..], "ERR Protocol error: invalid multibulk length"),
        (b"*1\r\n:5\r\n", "ERR Protocol error: expected '$', got ':'"),
        (b"*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"),
        (b"*1\r\n$-5\r\n", "ERR Protocol error: invalid bulk length"),
        (b"SET \"k\r\n", "ERR Protocol error: unbalanced quotes in request"),
    ] {
        let mut c = srv.raw();
        c.send(input);
        assert_eq!(c.read(), Resp::Error(msg.into()), "input {:?}", String::from_utf8_lossy(input));
        assert!(c.closed(), "connection stays open after {:?}", String::from_utf8_lossy(input));
    }
    // The server itself is unaffected.
    assert_eq!(srv.raw().cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn oversized_header_lines_are_refused() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.send(&vec![b'a'; 70 * 1024]);
    assert_eq!(c.read(), Resp::Error("ERR Protocol error: too big inline request".into()));
    let mut c = srv.raw();
    let mut big = b"*".to_vec();
    big.extend(vec![b'1'; 70 * 1024]);
    c.send(&big);
    assert_eq!(c.read(), Resp::Error("ERR Protocol error: too big mbulk count string".into()));
}

#[test]
fn huge_announced_lengths_allocate_nothing() {
    let srv = TestServer::start();
    let rss = || {
        let s = std::fs::read_to_string(format!("/proc/{}/status", srv.pid())).unwrap_or_default();
        s.lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
            .unwrap_or(0)
    };
    let before = rss();
    let mut conns = Vec::new();
    for _ in 0..50 {
        let mut c = srv.raw();
        c.send(b"*1048576\r\n$536870912\r\nxx");
        conns.push(c);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let after = rss();
    assert!(after < before + 50 * 1024, "RSS grew from {before} kB to {after} kB");
    assert_eq!(srv.raw().cmd(&["PING"]), Resp::Simple("PONG".into()));
}
