//! Key expiry against a real server process: EXPIRE and friends with
//! their options and errors, TTL queries, lazy expiry on access, and the
//! active expire cycle clearing keys nobody touches. Expected values were
//! taken from Redis 7.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{err, RawConn, Resp, TestServer};

fn int(v: i64) -> Resp {
    Resp::Int(v)
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_millis() as i64
}

fn int_of(r: Resp) -> i64 {
    match r {
        Resp::Int(v) => v,
        other => panic!("not an integer: {other:?}"),
    }
}

fn info_field(c: &mut RawConn, field: &str) -> i64 {
    let Resp::Bulk(Some(text)) = c.cmd(&["INFO", "stats"]) else { panic!("INFO") };
    let text = String::from_utf8(text).expect("utf8");
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {field} in INFO"))
        .trim()
        .parse()
        .expect("number")
}

/// Sends `n` commands built by `f` in one write and reads their replies.
fn pipeline(c: &mut RawConn, n: usize, f: impl Fn(usize) -> Vec<String>) {
    let mut batch = Vec::new();
    for i in 0..n {
        let args = f(i);
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        batch.extend(common::encode_cmd(&refs));
    }
    c.send(&batch);
    for _ in 0..n {
        c.read();
    }
}

#[test]
fn expire_options() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["SET", "a", "1"]);
    for (args, want) in [
        (&["EXPIRE", "a", "100", "XX"][..], int(0)),
        (&["EXPIRE", "a", "100", "NX"], int(1)),
        (&["EXPIRE", "a", "100", "NX"], int(0)),
        (&["EXPIRE", "a", "200", "XX"], int(1)),
        (&["EXPIRE", "a", "100", "GT"], int(0)),
        (&["EXPIRE", "a", "300", "gt"], int(1)),
        (&["EXPIRE", "a", "400", "LT"], int(0)),
        (&["EXPIRE", "a", "200", "lt"], int(1)),
        (&["TTL", "a"], int(200)),
        (&["EXPIRE", "a", "100", "xx", "xx"], int(1)),
        (&["PERSIST", "a"], int(1)),
        (&["PERSIST", "a"], int(0)),
        // No expire counts as an infinite TTL: GT never passes, LT always.
        (&["EXPIRE", "a", "100", "GT"], int(0)),
        (&["EXPIRE", "a", "100", "LT"], int(1)),
        (&["TTL", "a"], int(100)),
        (&["EXPIRE", "nokey", "100"], int(0)),
        (&["EXPIRE", "nokey", "-1"], int(0)),
    ] {
        assert_eq!(c.cmd(args), want, "{args:?}");
    }
}

#[test]
fn expire_errors() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["SET", "k", "v"]);
    let incompatible = "ERR NX and XX, GT or LT options at the same time are not compatible";
    for (args, want) in [
        (&["EXPIRE", "k", "100", "NX", "XX"][..], incompatible),
        (&["EXPIRE", "k", "100", "NX", "GT"], incompatible),
        (&["EXPIRE", "k", "100", "LT", "NX"], incompatible),
        (&["EXPIRE", "k", "100", "GT", "LT"], "ERR GT and LT options at the same time are not compatible"),
        (&["EXPIRE", "k", "100", "foo"], "ERR Unsupported option foo"),
        // Options are checked before the number.
        (&["EXPIRE", "k", "abc", "foo"], "ERR Unsupported option foo"),
        (&["EXPIRE", "k", "abc", "NX", "XX"], incompatible),
        (&["EXPIRE", "k", "abc"], "ERR value is not an integer or out of range"),
        (&["EXPIRE", "k", "1.5"], "ERR value is not an integer or out of range"),
        (&["EXPIRE", "k", "9223372036854775808"], "ERR value is not an integer or out of range"),
        (&["EXPIRE", "k", "9223372036854775807"], "ERR invalid expire time in 'expire' command"),
        (&["EXPIRE", "k", "9223372036854775"], "ERR invalid expire time in 'expire' command"),
        (&["EXPIRE", "k", "-9223372036854776"], "ERR invalid expire time in 'expire' command"),
        (&["PEXPIRE", "k", "9223372036854775807"], "ERR invalid expire time in 'pexpire' command"),
        (&["EXPIREAT", "k", "9223372036854775807"], "ERR invalid expire time in 'expireat' command"),
        (&["EXPIRE", "k"], "ERR wrong number of arguments for 'expire' command"),
    ] {
        assert_eq!(c.cmd(args), err(want), "{args:?}");
    }
    assert_eq!(c.cmd(&["TTL", "k"]), int(-1));
}

#[test]
fn past_times_delete_the_key() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    for (i, args) in [
        &["EXPIRE", "k", "-1"][..],
        &["PEXPIRE", "k", "0"],
        &["EXPIREAT", "k", "1"],
        &["PEXPIREAT", "k", "1000"],
        &["EXPIRE", "k", "-9223372036854775"],
        &["PEXPIRE", "k", "-9223372036854775808"],
    ]
    .into_iter()
    .enumerate()
    {
        c.cmd(&["SET", "k", "v"]);
        assert_eq!(c.cmd(args), int(1), "{args:?}");
        assert_eq!(c.cmd(&["EXISTS", "k"]), int(0), "round {i}");
    }
    // Deleted by the command, not expired: the statistic stays at 0.
    assert_eq!(info_field(&mut c, "expired_keys"), 0);
}

#[test]
fn ttl_queries() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(c.cmd(&[cmd, "nokey"]), int(-2), "{cmd}");
    }
    c.cmd(&["SET", "b", "2"]);
    for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
        assert_eq!(c.cmd(&[cmd, "b"]), int(-1), "{cmd}");
    }
    assert_eq!(c.cmd(&["EXPIREAT", "b", "4000000000"]), int(1));
    assert_eq!(c.cmd(&["EXPIRETIME", "b"]), int(4_000_000_000));
    assert_eq!(c.cmd(&["PEXPIRETIME", "b"]), int(4_000_000_000_000));
    assert_eq!(c.cmd(&["PEXPIREAT", "b", "4000000000123"]), int(1));
    assert_eq!(c.cmd(&["EXPIRETIME", "b"]), int(4_000_000_000));
    assert_eq!(c.cmd(&["PEXPIRETIME", "b"]), int(4_000_000_000_123));
    // Seconds are rounded to the nearest.
    c.cmd(&["SET", "p", "v", "PX", "2600"]);
    assert_eq!(c.cmd(&["TTL", "p"]), int(3));
    c.cmd(&["SET", "q", "v", "PX", "2400"]);
    assert_eq!(c.cmd(&["TTL", "q"]), int(2));
    let pttl = int_of(c.cmd(&["PTTL", "q"]));
    assert!(pttl > 2000 && pttl <= 2400, "PTTL {pttl}");
    // The far end of the range.
    c.cmd(&["SET", "far", "v"]);
    assert_eq!(c.cmd(&["PEXPIREAT", "far", "9223372036854775807"]), int(1));
    assert_eq!(c.cmd(&["PEXPIRETIME", "far"]), int(i64::MAX));
    assert_eq!(c.cmd(&["EXPIRETIME", "far"]), int(9_223_372_036_854_776));
    // A relative expire stores now + delta.
    let before = now_ms();
    c.cmd(&["PEXPIRE", "b", "100000"]);
    let at = int_of(c.cmd(&["PEXPIRETIME", "b"]));
    assert!(at >= before + 100_000 && at <= now_ms() + 100_000, "{at}");
    // SET without KEEPTTL drops the expire.
    c.cmd(&["SET", "b", "3"]);
    assert_eq!(c.cmd(&["TTL", "b"]), int(-1));
}

#[test]
fn lazy_expiry_on_access() {
    let srv = TestServer::start_with(&["--enable-debug-command", "yes"]);
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), Resp::ok());
    for i in 0..3 {
        c.cmd(&["SET", &format!("e{i}"), "v", "PX", "10"]);
    }
    std::thread::sleep(Duration::from_millis(100));
    // Logically expired keys still take room until something looks.
    assert_eq!(c.cmd(&["DBSIZE"]), int(3));
    assert_eq!(info_field(&mut c, "expired_keys"), 0);
    assert_eq!(c.cmd(&["GET", "e0"]), Resp::Bulk(None));
    assert_eq!(c.cmd(&["EXISTS", "e1"]), int(0));
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
    assert_eq!(info_field(&mut c, "expired_keys"), 2);
    // KEYS skips the last one without deleting it; SCAN deletes it.
    assert_eq!(c.cmd(&["KEYS", "*"]), Resp::Array(Some(vec![])));
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
    assert_eq!(c.cmd(&["SCAN", "0"]), Resp::Array(Some(vec![Resp::bulk("0"), Resp::Array(Some(vec![]))])));
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    assert_eq!(info_field(&mut c, "expired_keys"), 3);
    // Writing over an expired key, and every other command on one.
    c.cmd(&["SET", "k", "old", "PX", "1"]);
    c.cmd(&["SET", "r", "v", "PX", "1"]);
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(c.cmd(&["SET", "k", "new", "NX"]), Resp::ok());
    assert_eq!(c.cmd(&["TTL", "k"]), int(-1));
    assert_eq!(c.cmd(&["RENAME", "r", "x"]), err("ERR no such key"));
    assert_eq!(c.cmd(&["RANDOMKEY"]), Resp::bulk("k"));
}

#[test]
fn active_expire_can_be_paused() {
    let srv = TestServer::start_with(&["--hz", "100", "--enable-debug-command", "yes"]);
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), Resp::ok());
    pipeline(&mut c, 100, |i| vec!["SET".into(), format!("k{i}"), "v".into(), "PX".into(), "10".into()]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(c.cmd(&["DBSIZE"]), int(100));
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), Resp::ok());
    let deadline = Instant::now() + Duration::from_secs(5);
    while int_of(c.cmd(&["DBSIZE"])) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c.cmd(&["DBSIZE"]), int(0));
    assert_eq!(info_field(&mut c, "expired_keys"), 100);
}

#[test]
fn active_expiry_clears_100k_keys_while_serving() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    const N: usize = 100_000;
    pipeline(&mut c, N, |i| vec!["SET".into(), format!("key:{i}"), "v".into(), "PX".into(), "1000".into()]);
    // Some in another db, and a few keys that must survive.
    c.cmd(&["SELECT", "9"]);
    pipeline(&mut c, 1000, |i| vec!["SET".into(), format!("other:{i}"), "v".into(), "PX".into(), "1000".into()]);
    c.cmd(&["SET", "keep", "v"]);
    c.cmd(&["SET", "later", "v", "EX", "3600"]);
    c.cmd(&["SELECT", "0"]);
    // The last key set expires a second from now.
    let loaded = Instant::now();

    // Meanwhile another client keeps asking PING: each must be answered.
    let stop = Arc::new(AtomicBool::new(false));
    let pongs = Arc::new(AtomicU64::new(0));
    let pinger = {
        let (stop, pongs) = (stop.clone(), pongs.clone());
        let mut p = srv.raw();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                assert_eq!(p.cmd(&["PING"]), Resp::Simple("PONG".into()));
                pongs.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };

    // No access to the keys at all: only the active cycle removes them,
    // within 5 s of the last one's expire time.
    let deadline = loaded + Duration::from_secs(1 + 5);
    let mut left = N as i64;
    while left > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        left = int_of(c.cmd(&["DBSIZE"]));
    }
    stop.store(true, Ordering::Relaxed);
    pinger.join().expect("every PING answered");
    assert_eq!(left, 0, "keys left {:?} after loading", loaded.elapsed());
    assert!(pongs.load(Ordering::Relaxed) > 0);
    c.cmd(&["SELECT", "9"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while int_of(c.cmd(&["DBSIZE"])) > 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(c.cmd(&["DBSIZE"]), int(2));
    assert_eq!(c.cmd(&["TTL", "keep"]), int(-1));
    assert_eq!(info_field(&mut c, "expired_keys"), N as i64 + 1000);
}
