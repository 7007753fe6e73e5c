//! Regression tests for the protocol classes of shared/HARDENING.md that
//! tests/protocol.rs does not cover: the limits before AUTH (CVE-2021-32675),
//! proto-max-bulk-len (CVE-2021-41099), a huge announced bulk fed slowly,
//! and floods of garbage and random bytes from many connections at once.
//!
//! Expected replies are Redis 7.0.15's; where redis-server is installed the
//! same inputs are also sent to it, so a wrong expectation shows up as well.

mod common;
mod reference;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Resp, TestServer};
use reference::RedisServer;

/// What a server writes back to `input` on a fresh connection, until it
/// closes the connection (then `<closed>` is appended) or stays silent for
/// `idle`.
fn transcript(port: u16, input: &[u8], idle: Duration) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(idle)).expect("timeout");
    // The server may close before reading all of a long input.
    let _ = s.write_all(input);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => {
                out.extend_from_slice(b"<closed>");
                break;
            }
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionReset) => {
                out.extend_from_slice(b"<closed>");
                break;
            }
            Err(_) => break,
        }
    }
    out
}

/// Checks each (input, expected transcript) on oxkey and, if installed, on
/// redis-server with the same arguments; the cases run in parallel since
/// those that leave the connection open wait for the idle timeout.
fn check_transcripts(args: &[&str], cases: &[(&[u8], &[u8])]) {
    let oxkey = TestServer::start_with(args);
    let redis = reference::redis_available().then(|| RedisServer::start_with(args));
    let idle = Duration::from_millis(300);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|&(input, expected)| {
                let redis = redis.as_ref();
                let port = oxkey.port;
                s.spawn(move || {
                    let mut bad = Vec::new();
                    let servers = std::iter::once(("oxkey", port)).chain(redis.map(|r| ("redis", r.port)));
                    for (name, port) in servers {
                        let got = transcript(port, input, idle);
                        if got != expected {
                            bad.push(format!(
                                "{name} on {:?}:\n  got      {:?}\n  expected {:?}",
                                String::from_utf8_lossy(&input[..input.len().min(60)]),
                                String::from_utf8_lossy(&got),
                                String::from_utf8_lossy(expected)
                            ));
                        }
                    }
                    bad
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("case thread")).collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Deterministic pseudo-random bytes (xorshift64*), so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const CLOSED: &[u8] = b"<closed>";

#[test]
fn unauthenticated_request_limits() {
    let unauth_mbulk: &[u8] = b"-ERR Protocol error: unauthenticated multibulk length\r\n<closed>";
    let unauth_bulk: &[u8] = b"-ERR Protocol error: unauthenticated bulk length\r\n<closed>";
    check_transcripts(
        &["--requirepass", "secret"],
        &[
            (b"*100\r\n", unauth_mbulk),
            (b"*11\r\n", unauth_mbulk),
            // Up to 10 arguments of up to 16 KiB are read (and wait for the rest).
            (b"*10\r\n", b""),
            (b"*1\r\n$20000\r\n", unauth_bulk),
            (b"*1\r\n$16385\r\n", unauth_bulk),
            (b"*1\r\n$16384\r\n", b""),
            (b"PING\r\n", b"-NOAUTH Authentication required.\r\n"),
            (b"*1\r\n$4\r\nPING\r\n*100\r\n", b"-NOAUTH Authentication required.\r\n-ERR Protocol error: unauthenticated multibulk length\r\n<closed>"),
            (b"AUTH wrong\r\n*100\r\n", b"-WRONGPASS invalid username-password pair or user is disabled.\r\n-ERR Protocol error: unauthenticated multibulk length\r\n<closed>"),
            // AUTH lifts the limits for the rest of the same read.
            (b"*2\r\n$4\r\nAUTH\r\n$6\r\nsecret\r\n*100\r\n", b"+OK\r\n"),
            (b"AUTH secret\r\n*1\r\n$20000\r\n", b"+OK\r\n"),
        ],
    );
}

#[test]
fn unauthenticated_clients_cannot_grow_memory() {
    let srv = TestServer::start_with(&["--requirepass", "secret"]);
    let before = rss_kb(srv.pid());
    // 200 clients announce the most an unauthenticated client may (10 bulks of
    // 16 KiB) and send nothing more; 200 others announce more than that with
    // the data behind it, and are refused.
    let mut waiting = Vec::new();
    for _ in 0..200 {
        let mut c = srv.raw();
        c.send(b"*10\r\n$16384\r\n");
        waiting.push(c);
    }
    let mut refused = 0;
    for _ in 0..200 {
        let mut input = b"*1\r\n$1048576\r\n".to_vec();
        input.extend(vec![b'x'; 64 * 1024]);
        let got = transcript(srv.port, &input, Duration::from_secs(2));
        refused += usize::from(got.ends_with(CLOSED));
    }
    assert_eq!(refused, 200, "every oversized unauthenticated request is refused");
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kb(srv.pid());
    // Connection buffers only (tens of KiB per client), no announced sizes.
    assert!(after < before + 40 * 1024, "RSS grew from {before} kB to {after} kB");
    assert_eq!(srv.raw().cmd(&["AUTH", "secret"]), Resp::ok());
}

#[test]
fn proto_max_bulk_len_limits_requests() {
    let one_mb = 1024 * 1024;
    let echo = |len: usize| format!("*2\r\n$4\r\nECHO\r\n${len}\r\n").into_bytes();
    let mut exact = echo(one_mb);
    exact.extend(vec![b'x'; one_mb]);
    exact.extend(b"\r\n");
    let mut reply = format!("${one_mb}\r\n").into_bytes();
    reply.extend(vec![b'x'; one_mb]);
    reply.extend(b"\r\n");
    check_transcripts(
        &["--proto-max-bulk-len", "1mb"],
        &[
            (&echo(one_mb + 1), b"-ERR Protocol error: invalid bulk length\r\n<closed>"),
            (&exact, &reply),
            // Before any data arrives.
            (&echo(one_mb), b""),
        ],
    );
}

/// Sends the commands to oxkey and (if installed) redis-server, both
/// started with `args`, and checks the replies against `expected`.
fn check_replies(args: &[&str], script: &[(&[&str], Resp)]) {
    let oxkey = TestServer::start_with(args);
    let redis = reference::redis_available().then(|| RedisServer::start_with(args));
    let mut conns = vec![("oxkey", oxkey.raw())];
    if let Some(r) = &redis {
        conns.push(("redis", common::RawConn::connect(r.port)));
    }
    for (cmd, expected) in script {
        for (name, c) in conns.iter_mut() {
            assert_eq!(&c.cmd(cmd), expected, "{name}: {cmd:?}");
        }
    }
}

#[test]
fn proto_max_bulk_len_limits_strings_and_config() {
    let too_big = || Resp::Error("ERR string exceeds maximum allowed size (proto-max-bulk-len)".into());
    check_replies(
        &["--proto-max-bulk-len", "1mb"],
        &[
            (&["CONFIG", "GET", "proto-max-bulk-len"], Resp::Array(Some(vec![Resp::bulk("proto-max-bulk-len"), Resp::bulk("1048576")]))),
            (&["SETRANGE", "k", "1048576", "x"], too_big()),
            (&["SETRANGE", "k", "1048575", "x"], Resp::Int(1048576)),
            (&["APPEND", "k", "x"], too_big()),
            (&["SETRANGE", "k", "9223372036854775807", "x"], too_big()),
            (&["SETRANGE", "k", "-1", "x"], Resp::Error("ERR offset is out of range".into())),
            (&["SET", "k2", "x"], Resp::ok()),
            (&["SETRANGE", "k2", "1048575", "xy"], too_big()),
            (&["EXISTS", "k2"], Resp::Int(1)),
            (&["STRLEN", "k2"], Resp::Int(1)),
            (
                &["CONFIG", "SET", "proto-max-bulk-len", "1000"],
                Resp::Error("ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive".into()),
            ),
            (
                &["CONFIG", "SET", "proto-max-bulk-len", "-1"],
                Resp::Error("ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value".into()),
            ),
            (&["CONFIG", "SET", "proto-max-bulk-len", "2mb"], Resp::ok()),
            (&["SETRANGE", "k", "2097151", "x"], Resp::Int(2097152)),
            (&["SETRANGE", "k", "2097152", "x"], too_big()),
        ],
    );
}

#[test]
fn proto_max_bulk_len_set_at_run_time_applies_to_the_next_request() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]), Resp::ok());
    let refused = transcript(srv.port, b"*2\r\n$4\r\nECHO\r\n$1048577\r\n", Duration::from_millis(300));
    assert_eq!(refused, b"-ERR Protocol error: invalid bulk length\r\n<closed>");
    assert_eq!(c.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "512mb"]), Resp::ok());
    let waiting = transcript(srv.port, b"*2\r\n$4\r\nECHO\r\n$1048577\r\n", Duration::from_millis(300));
    assert_eq!(waiting, b"");
}

#[test]
fn bulk_header_over_the_limit_is_refused_before_any_data() {
    // 600 MB is over the default 512 MB: refused at once, nothing allocated.
    let srv = TestServer::start();
    let started = Instant::now();
    let got = transcript(srv.port, b"*2\r\n$3\r\nSET\r\n$629145600\r\n", Duration::from_secs(5));
    assert_eq!(got, b"-ERR Protocol error: invalid bulk length\r\n<closed>");
    assert!(started.elapsed() < Duration::from_secs(2), "the refusal took {:?}", started.elapsed());
    if reference::redis_available() {
        let redis = RedisServer::start();
        assert_eq!(transcript(redis.port, b"*2\r\n$3\r\nSET\r\n$629145600\r\n", Duration::from_secs(5)), got);
    }
}

#[test]
fn huge_bulk_fed_slowly_costs_only_what_arrived() {
    // 500 MB announced (within the limit), then 4 MB trickled in: memory
    // follows the bytes received, and other clients are served meanwhile.
    let mut srv = TestServer::start();
    let before = rss_kb(srv.pid());
    let mut slow = TcpStream::connect(("127.0.0.1", srv.port)).expect("connect");
    slow.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$524288000\r\n").expect("header");
    let chunk = vec![b'v'; 64 * 1024];
    let mut other = srv.raw();
    for i in 0..64 {
        slow.write_all(&chunk).expect("data");
        std::thread::sleep(Duration::from_millis(5));
        if i % 16 == 0 {
            assert_eq!(other.cmd(&["PING"]), Resp::Simple("PONG".into()), "server stalls while a bulk trickles in");
        }
    }
    std::thread::sleep(Duration::from_millis(100));
    let during = rss_kb(srv.pid());
    assert!(during < before + 64 * 1024, "RSS grew from {before} kB to {during} kB after 4 MB of a 500 MB bulk");
    drop(slow);
    assert_eq!(other.cmd(&["EXISTS", "k"]), Resp::Int(0));
    assert!(srv.alive());
}

/// Inputs that end in protocol errors or half-finished requests.
fn garbage(rng: &mut Rng) -> Vec<u8> {
    let n = 1 + (rng.next() % 2000) as usize;
    match rng.next() % 10 {
        0 => rng.bytes(n),
        1 => [b"*".to_vec(), rng.next().to_string().into_bytes(), b"\r\n".to_vec(), rng.bytes(n)].concat(),
        2 => format!("*{}\r\n${}\r\n", rng.next() as i64, rng.next() as i64).into_bytes(),
        3 => b"*2\r\n$3\r\nGET\r\n:1\r\n".to_vec(),
        4 => [b"SET k \"".to_vec(), rng.bytes(n), b"\r\n".to_vec()].concat(),
        5 => vec![b'A'; 70 * 1024],
        6 => [b"*1\r\n$".to_vec(), vec![b'9'; 70 * 1024]].concat(),
        7 => b"*-1\r\n*0\r\n\r\n\n*1\r\n$-1\r\n".to_vec(),
        8 => [common::encode_cmd(&[b"SET", b"k", &rng.bytes(n)]), rng.bytes(n)].concat(),
        _ => (0..n).map(|_| b"*$\r\n0123456789-+:x \"'\\"[(rng.next() % 21) as usize]).collect(),
    }
}

#[test]
fn garbage_from_many_connections_at_once() {
    let mut srv = TestServer::start();
    let port = srv.port;
    std::thread::scope(|s| {
        for t in 0..32u64 {
            s.spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t + 1));
                for _ in 0..20 {
                    let _ = transcript(port, &garbage(&mut rng), Duration::from_millis(100));
                }
            });
        }
    });
    assert!(srv.alive(), "server died");
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(c.cmd(&["SET", "after", "ok"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "after"]), Resp::bulk("ok"));
}

#[test]
fn random_bytes_from_many_connections() {
    let mut srv = TestServer::start();
    let port = srv.port;
    std::thread::scope(|s| {
        for t in 0..16u64 {
            s.spawn(move || {
                let mut rng = Rng(0xd1b5_4a32_d192_ed03 ^ (t + 1));
                let Ok(mut conn) = TcpStream::connect(("127.0.0.1", port)) else { return };
                let _ = conn.set_read_timeout(Some(Duration::from_millis(1)));
                let mut sink = [0u8; 16 * 1024];
                // 1 MB each, reading whatever comes back between writes.
                for _ in 0..256 {
                    if conn.write_all(&rng.bytes(4096)).is_err() {
                        // Closed after a protocol error: start over.
                        match TcpStream::connect(("127.0.0.1", port)) {
                            Ok(c) => conn = c,
                            Err(_) => return,
                        }
                        let _ = conn.set_read_timeout(Some(Duration::from_millis(1)));
                    }
                    while matches!(conn.read(&mut sink), Ok(n) if n > 0) {}
                }
            });
        }
    });
    assert!(srv.alive(), "server died");
    assert_eq!(srv.raw().cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn unread_replies_before_auth_stay_bounded() {
    // A client that never authenticates and never reads pipelines 3 MB of
    // PINGs (each answered -NOAUTH); the server must not buffer the replies
    // without bound (CVE-2025-21605).
    let srv = TestServer::start_with(&["--requirepass", "secret"]);
    let before = rss_kb(srv.pid());
    let mut clients = Vec::new();
    for _ in 0..8 {
        let mut c = TcpStream::connect(("127.0.0.1", srv.port)).expect("connect");
        c.set_write_timeout(Some(Duration::from_millis(500))).expect("timeout");
        let pings = b"PING\r\n".repeat(16 * 1024);
        for _ in 0..32 {
            // Stops being accepted once the server stops reading: that is the point.
            if c.write_all(&pings).is_err() {
                break;
            }
        }
        clients.push(c);
    }
    std::thread::sleep(Duration::from_millis(200));
    let after = rss_kb(srv.pid());
    assert!(after < before + 64 * 1024, "RSS grew from {before} kB to {after} kB");
    drop(clients);
    assert_eq!(srv.raw().cmd(&["AUTH", "secret"]), Resp::ok());
}

#[test]
fn bulk_announced_beyond_memory_does_not_abort() {
    // proto-max-bulk-len accepts up to 2^63-1 (as Redis's, which aborts here too).
    let mut srv = TestServer::start_with(&["--proto-max-bulk-len", "9223372036854775807"]);
    let mut input = b"*2\r\n$4\r\nECHO\r\n$9223372036854775000\r\n".to_vec();
    input.extend(vec![b'x'; 64 * 1024]);
    let _ = transcript(srv.port, &input, Duration::from_millis(500));
    assert!(srv.alive(), "server aborted");
    assert_eq!(srv.raw().cmd(&["PING"]), Resp::Simple("PONG".into()));
}
