//! Streams against a real server process, for what the differential script
//! (tests/diff/streams.txt, against Redis 7.0) cannot check: where Redis
//! 7.2 differs from 7.0, replies holding the clock, the consumer-group
//! life cycle over several connections, node layout over thousands of
//! entries, hardening cases and memory. Expected values were taken from
//! Valkey 9.1 (which behaves as Redis 7.2 here) or, for what 7.0 and 7.2
//! share, from Redis 7.0.

mod common;
mod reference;

use common::{bulk, err, RawConn, Resp, TestServer};

fn int(v: i64) -> Resp {
    Resp::Int(v)
}

fn arr(items: Vec<Resp>) -> Resp {
    Resp::Array(Some(items))
}

fn bulks(items: &[&str]) -> Resp {
    arr(items.iter().map(|s| bulk(s)).collect())
}

fn nil_array() -> Resp {
    Resp::Array(None)
}

/// `[id, [field, value, ...]]`.
fn entry(id: &str, fields: &[&str]) -> Resp {
    arr(vec![bulk(id), bulks(fields)])
}

fn items(r: Resp) -> Vec<Resp> {
    match r {
        Resp::Array(Some(v)) => v,
        other => panic!("not an array: {other:?}"),
    }
}

fn resp3(c: &mut RawConn) {
    assert!(matches!(c.cmd(&["HELLO", "3"]), Resp::Map(_)));
}

/// A flat RESP2 map reply (XINFO ...) as (name, value) pairs.
fn fields(r: Resp) -> Vec<(String, Resp)> {
    let v = items(r);
    v.chunks(2)
        .map(|p| match &p[0] {
            Resp::Bulk(Some(k)) => (String::from_utf8_lossy(k).into_owned(), p[1].clone()),
            other => panic!("field name {other:?}"),
        })
        .collect()
}

fn field(r: &[(String, Resp)], name: &str) -> Resp {
    r.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no field {name}"))
}

fn as_int(r: &Resp) -> i64 {
    match r {
        Resp::Int(i) => *i,
        other => panic!("not an integer: {other:?}"),
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[test]
fn consumer_info_has_redis_72_fields() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let before = now_ms();
    c.cmd(&["XADD", "s", "1-0", "a", "1"]);
    c.cmd(&["XADD", "s", "2-0", "b", "2"]);
    assert_eq!(c.cmd(&["XGROUP", "CREATE", "s", "g", "0"]), Resp::ok());
    assert_eq!(c.cmd(&["XGROUP", "CREATECONSUMER", "s", "g", "idle"]), int(1));
    assert_eq!(c.cmd(&["XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "s", ">"]), {
        arr(vec![arr(vec![bulk("s"), arr(vec![entry("1-0", &["a", "1"])])])])
    });
    // Redis 7.2: name, pending, idle, inactive (-1 for never active).
    let consumers = items(c.cmd(&["XINFO", "CONSUMERS", "s", "g"]));
    assert_eq!(consumers.len(), 2);
    let alice = fields(consumers[0].clone());
    let names: Vec<&str> = alice.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["name", "pending", "idle", "inactive"]);
    assert_eq!(field(&alice, "name"), bulk("alice"));
    assert_eq!(field(&alice, "pending"), int(1));
    assert!((0..5000).contains(&as_int(&field(&alice, "idle"))));
    assert!((0..5000).contains(&as_int(&field(&alice, "inactive"))));
    let idle = fields(consumers[1].clone());
    assert_eq!(field(&idle, "pending"), int(0));
    assert_eq!(field(&idle, "inactive"), int(-1));

    // XINFO STREAM FULL: consumers with seen-time and active-time.
    let full = fields(c.cmd(&["XINFO", "STREAM", "s", "FULL"]));
    let groups = items(field(&full, "groups"));
    let g = fields(groups[0].clone());
    let consumers = items(field(&g, "consumers"));
    let alice = fields(consumers[0].clone());
    let names: Vec<&str> = alice.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["name", "seen-time", "active-time", "pel-count", "pending"]);
    let after = now_ms();
    for t in [field(&alice, "seen-time"), field(&alice, "active-time")] {
        assert!((before..=after).contains(&as_int(&t)), "{t:?}");
    }
    let idle = fields(consumers[1].clone());
    assert_eq!(field(&idle, "active-time"), int(-1));
    let pending = items(field(&alice, "pending"));
    let p = items(pending[0].clone());
    assert_eq!((p[0].clone(), p[2].clone()), (bulk("1-0"), int(1)));

    resp3(&mut c);
    let Resp::Array(Some(consumers)) = c.cmd(&["XINFO", "CONSUMERS", "s", "g"]) else { panic!("array") };
    let Resp::Map(m) = &consumers[1] else { panic!("a map: {consumers:?}") };
    assert_eq!(m[3], (bulk("inactive"), int(-1)));
}

#[test]
fn claims_create_their_consumer_first_as_redis_72() {
    // Redis 7.0 created the consumer only when something was claimed.
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["XADD", "s", "1-0", "a", "1"]);
    c.cmd(&["XGROUP", "CREATE", "s", "g", "0"]);
    assert_eq!(c.cmd(&["XCLAIM", "s", "g", "newc", "0", "5-5"]), arr(vec![]));
    assert_eq!(c.cmd(&["XAUTOCLAIM", "s", "g", "newc2", "0", "0"]), arr(vec![bulk("0-0"), arr(vec![]), arr(vec![])]));
    let g = fields(items(c.cmd(&["XINFO", "GROUPS", "s"]))[0].clone());
    assert_eq!(field(&g, "consumers"), int(2));
    // An XCLAIM whose options are wrong creates nothing.
    assert_eq!(c.cmd(&["XCLAIM", "s", "g", "newc3", "0", "1-0", "FOO"]), err("ERR Unrecognized XCLAIM option 'FOO'"));
    let g = fields(items(c.cmd(&["XINFO", "GROUPS", "s"]))[0].clone());
    assert_eq!(field(&g, "consumers"), int(2));
}

#[test]
fn errors_as_redis_72() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["XADD", "x", "5-18446744073709551615", "a", "1"]);
    // 7.0 answered "Elements are too large to be stored".
    assert_eq!(
        c.cmd(&["XADD", "x", "5-*", "a", "1"]),
        err("ERR The ID specified in XADD is equal or smaller than the target stream top item")
    );
    // 7.0 said "Unbalanced XREAD list..." for both commands.
    assert_eq!(
        c.cmd(&["XREAD", "STREAMS", "s", "t", "0"]),
        err("ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified.")
    );
    assert_eq!(
        c.cmd(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "t", "0"]),
        err("ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be specified.")
    );
    // 7.0 let the end time overflow.
    assert_eq!(
        c.cmd(&["XREAD", "BLOCK", "9223372036854775807", "STREAMS", "x", "0"]),
        err("ERR timeout is out of range")
    );
    // 7.2 refuses a last ID below the largest deleted one, even when empty.
    c.cmd(&["XADD", "si", "1-0", "a", "1"]);
    c.cmd(&["XADD", "si", "6-0", "a", "1"]);
    assert_eq!(c.cmd(&["XDEL", "si", "1-0", "6-0"]), int(2));
    let below = err("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id");
    assert_eq!(c.cmd(&["XSETID", "si", "0-1"]), below);
    assert_eq!(c.cmd(&["XSETID", "si", "0-0", "ENTRIESADDED", "0"]), below);
    assert_eq!(c.cmd(&["XSETID", "si", "6-0"]), Resp::ok());
}

#[test]
fn xread_plus_reads_the_last_entry() {
    // Redis 7.4's `+` (Valkey has it; 7.2 refuses the ID): the last entry.
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["XADD", "z", "1-0", "a", "1"]);
    c.cmd(&["XADD", "z", "2-0", "b", "2"]);
    assert_eq!(
        c.cmd(&["XREAD", "COUNT", "5", "STREAMS", "z", "+"]),
        arr(vec![arr(vec![bulk("z"), arr(vec![entry("2-0", &["b", "2"])])])])
    );
    // The last ID, not the last live entry: after deleting it, nothing.
    c.cmd(&["XDEL", "z", "2-0"]);
    assert_eq!(c.cmd(&["XREAD", "STREAMS", "z", "+"]), nil_array());
    c.cmd(&["XADD", "z", "10-0", "c", "3"]);
    c.cmd(&["XADD", "z", "11-0", "d", "4"]);
    let last = arr(vec![bulk("z"), arr(vec![entry("11-0", &["d", "4"])])]);
    assert_eq!(c.cmd(&["XREAD", "STREAMS", "z", "z", "+", "+"]), arr(vec![last.clone(), last]));
    assert_eq!(c.cmd(&["XREAD", "STREAMS", "nokey", "+"]), nil_array());
    c.cmd(&["XGROUP", "CREATE", "e", "g", "$", "MKSTREAM"]);
    assert_eq!(c.cmd(&["XREAD", "STREAMS", "e", "+"]), nil_array());
    assert_eq!(
        c.cmd(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "e", "+"]),
        err("ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty result set.")
    );
}

/// Whether nothing arrives on `c` for `ms` milliseconds.
fn silent(c: &mut RawConn, ms: u64) -> bool {
    use std::io::BufRead;
    let sock = c.reader.get_ref();
    sock.set_read_timeout(Some(std::time::Duration::from_millis(ms))).expect("timeout");
    let quiet = match c.reader.fill_buf() {
        Ok(buf) => buf.is_empty(),
        Err(e) => matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    };
    c.reader.get_ref().set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
    quiet
}

fn one(key: &str, id: &str, fields: &[&str]) -> Resp {
    arr(vec![arr(vec![bulk(key), arr(vec![entry(id, fields)])])])
}

#[test]
fn blocked_reads_wake_on_new_entries() {
    // Replies of Valkey 9.1 to the same sequences.
    let srv = TestServer::start();
    let mut c = srv.raw();
    let mut w1 = srv.raw();
    let mut w2 = srv.raw();
    c.cmd(&["XADD", "s", "1-0", "a", "1"]);
    // Data already there: served at once, BLOCK or not.
    assert_eq!(c.cmd(&["XREAD", "BLOCK", "0", "STREAMS", "s", "0"]), one("s", "1-0", &["a", "1"]));
    // `$` waits for what comes after it, even on a missing key.
    w1.send_cmd(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    w2.send_cmd(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"nokey", b"$"]);
    assert!(silent(&mut w1, 100));
    c.cmd(&["XADD", "other", "1-0", "f", "v"]);
    assert!(silent(&mut w1, 50), "a change to another key wakes nobody");
    c.cmd(&["XADD", "s", "2-0", "b", "2"]);
    assert_eq!(w1.read(), one("s", "2-0", &["b", "2"]));
    c.cmd(&["XADD", "nokey", "7-0", "n", "7"]);
    assert_eq!(w2.read(), one("nokey", "7-0", &["n", "7"]));
    // Every XREAD waiting on a stream gets the new entry.
    w1.send_cmd(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    w2.send_cmd(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]);
    assert!(silent(&mut w2, 50));
    c.cmd(&["XADD", "s", "3-0", "c", "3"]);
    assert_eq!(w1.read(), one("s", "3-0", &["c", "3"]));
    assert_eq!(w2.read(), one("s", "3-0", &["c", "3"]));
    // Consumers of a group are served in the order they blocked, each
    // entry to one of them.
    c.cmd(&["XGROUP", "CREATE", "s", "g", "$"]);
    w1.send_cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c1", b"COUNT", b"1", b"BLOCK", b"0", b"STREAMS", b"s", b">"]);
    assert!(silent(&mut w1, 50));
    w2.send_cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c2", b"COUNT", b"1", b"BLOCK", b"0", b"STREAMS", b"s", b">"]);
    assert!(silent(&mut w2, 50));
    c.cmd(&["XADD", "s", "4-0", "d", "4"]);
    assert_eq!(w1.read(), one("s", "4-0", &["d", "4"]));
    assert!(silent(&mut w2, 50));
    c.cmd(&["XADD", "s", "5-0", "e", "5"]);
    assert_eq!(w2.read(), one("s", "5-0", &["e", "5"]));
    let summary = items(c.cmd(&["XPENDING", "s", "g"]));
    assert_eq!(summary[3], arr(vec![bulks(&["c1", "1"]), bulks(&["c2", "1"])]));
    // The deadline: nil.
    w1.send_cmd(&[b"XREAD", b"BLOCK", b"50", b"STREAMS", b"s", b"$"]);
    assert_eq!(w1.read(), nil_array());
    resp3(&mut w1);
    w1.send_cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c1", b"BLOCK", b"50", b"STREAMS", b"s", b">"]);
    assert_eq!(w1.read(), Resp::Null);
    // Inside MULTI a read that would block answers nil at once.
    assert_eq!(c.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(c.cmd(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]), Resp::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["EXEC"]), arr(vec![nil_array()]));
    // Errors come before any wait.
    assert_eq!(c.cmd(&["XREAD", "BLOCK", "-1", "STREAMS", "s", "$"]), err("ERR timeout is negative"));
}

#[test]
fn blocked_group_reads_end_when_their_group_goes() {
    // Valkey 9.1 (Redis 7.2 runs the command again): the NOGROUP error of a
    // fresh call when the group or the stream is gone; a plain XREAD keeps
    // waiting through deletes and type changes.
    let srv = TestServer::start();
    let mut c = srv.raw();
    let mut w = srv.raw();
    let nogroup = err("NOGROUP No such key 'k' or consumer group 'g' in XREADGROUP with GROUP option");
    c.cmd(&["XGROUP", "CREATE", "k", "g", "$", "MKSTREAM"]);
    w.send_cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"k", b">"]);
    assert!(silent(&mut w, 50));
    assert_eq!(c.cmd(&["XGROUP", "DESTROY", "k", "g"]), int(1));
    assert_eq!(w.read(), nogroup);
    c.cmd(&["XGROUP", "CREATE", "k", "g", "$"]);
    w.send_cmd(&[b"XREADGROUP", b"GROUP", b"g", b"c", b"BLOCK", b"0", b"STREAMS", b"k", b">"]);
    assert!(silent(&mut w, 50));
    c.cmd(&["DEL", "k"]);
    assert_eq!(w.read(), nogroup);
    c.cmd(&["XADD", "x", "1-0", "f", "v"]);
    w.send_cmd(&[b"XREAD", b"BLOCK", b"300", b"STREAMS", b"x", b"$"]);
    assert!(silent(&mut w, 50));
    c.cmd(&["DEL", "x"]);
    c.cmd(&["SET", "x", "now a string"]);
    assert!(silent(&mut w, 50), "still waiting");
    assert_eq!(w.read(), nil_array());
}

#[test]
fn watch_sees_what_redis_counts_as_a_change() {
    // Valkey 9.1: only XADD and XDEL / XTRIM that remove entries fail a
    // WATCH; reads and group bookkeeping do not.
    let srv = TestServer::start();
    let mut c = srv.raw();
    let mut other = srv.raw();
    c.cmd(&["XADD", "s", "1-0", "f", "v"]);
    c.cmd(&["XGROUP", "CREATE", "s", "g", "0"]);
    let cases: &[(&[&str], bool)] = &[
        (&["XRANGE", "s", "-", "+"], false),
        (&["XLEN", "s"], false),
        (&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"], false),
        (&["XACK", "s", "g", "1-0"], false),
        (&["XGROUP", "CREATECONSUMER", "s", "g", "z"], false),
        (&["XGROUP", "SETID", "s", "g", "0"], false),
        (&["XSETID", "s", "5-0"], false),
        (&["XCLAIM", "s", "g", "q", "0", "1-0"], false),
        (&["XAUTOCLAIM", "s", "g", "q", "0", "0"], false),
        (&["XDEL", "s", "9-9"], false),
        (&["XTRIM", "s", "MAXLEN", "5"], false),
        (&["XGROUP", "DELCONSUMER", "s", "g", "z"], false),
        (&["XGROUP", "CREATE", "s", "g2", "0"], false),
        (&["XGROUP", "DESTROY", "s", "g2"], false),
        (&["XINFO", "STREAM", "s"], false),
        (&["XADD", "s", "6-0", "f", "v"], true),
        (&["XDEL", "s", "6-0"], true),
        (&["XTRIM", "s", "MAXLEN", "0"], true),
    ];
    for (cmd, aborts) in cases {
        assert_eq!(c.cmd(&["WATCH", "s"]), Resp::ok());
        assert!(!matches!(other.cmd(cmd), Resp::Error(_)), "{cmd:?}");
        c.cmd(&["MULTI"]);
        c.cmd(&["PING"]);
        let exec = c.cmd(&["EXEC"]);
        assert_eq!(exec == nil_array(), *aborts, "{cmd:?}: {exec:?}");
    }
}

#[test]
fn counts_and_ids_at_their_limits() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    for i in 1..=3 {
        c.cmd(&["XADD", "s", &format!("{i}-0"), "f", "v"]);
    }
    let all = items(c.cmd(&["XRANGE", "s", "-", "+"]));
    assert_eq!(all.len(), 3);
    // Huge or negative counts never size anything.
    assert_eq!(items(c.cmd(&["XRANGE", "s", "-", "+", "COUNT", "9223372036854775807"])), all);
    assert_eq!(c.cmd(&["XRANGE", "s", "-", "+", "COUNT", "-9223372036854775808"]), nil_array());
    assert_eq!(c.cmd(&["XREVRANGE", "s", "+", "-", "COUNT", "9223372036854775807"]).clone(), {
        arr(all.iter().rev().cloned().collect())
    });
    assert_eq!(
        c.cmd(&["XRANGE", "s", "-", "+", "COUNT", "9223372036854775808"]),
        err("ERR value is not an integer or out of range")
    );
    let read = c.cmd(&["XREAD", "COUNT", "9223372036854775807", "STREAMS", "s", "0"]);
    assert_eq!(read, arr(vec![arr(vec![bulk("s"), arr(all.clone())])]));
    assert_eq!(
        c.cmd(&["XREAD", "COUNT", "-9223372036854775808", "STREAMS", "s", "0"]),
        read,
        "a negative count is no limit"
    );
    let full = fields(c.cmd(&["XINFO", "STREAM", "s", "FULL", "COUNT", "9223372036854775807"]));
    assert_eq!(field(&full, "entries"), arr(all.clone()));
    c.cmd(&["XGROUP", "CREATE", "s", "g", "0"]);
    c.cmd(&["XREADGROUP", "GROUP", "g", "c", "COUNT", "9223372036854775807", "STREAMS", "s", ">"]);
    assert_eq!(items(c.cmd(&["XPENDING", "s", "g", "-", "+", "9223372036854775807"])).len(), 3);
    assert_eq!(c.cmd(&["XPENDING", "s", "g", "-", "+", "-9223372036854775808"]), arr(vec![]));
    assert_eq!(items(c.cmd(&["XPENDING", "s", "g", "IDLE", "-9223372036854775808", "-", "+", "10"])).len(), 3);

    // XAUTOCLAIM's COUNT (CVE-2022-35951): 1..=LONG_MAX/16, and nothing
    // allocated from it; counts no allocation could serve are refused.
    let autoclaim = |c: &mut RawConn, n: &str| c.cmd(&["XAUTOCLAIM", "s", "g", "d", "0", "0", "COUNT", n, "JUSTID"]);
    assert_eq!(autoclaim(&mut c, "0"), err("ERR COUNT must be > 0"));
    assert_eq!(autoclaim(&mut c, "-9223372036854775808"), err("ERR COUNT must be > 0"));
    assert_eq!(autoclaim(&mut c, "576460752303423488"), err("ERR COUNT must be > 0"));
    let too_high = err("ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
    assert_eq!(autoclaim(&mut c, "576460752303423487"), too_high);
    // Redis 7.0.15 (jemalloc) on the test machine: refused past 40 TiB.
    assert_eq!(autoclaim(&mut c, "2748779069441"), too_high);
    let claimed = arr(vec![bulk("0-0"), bulks(&["1-0", "2-0", "3-0"]), arr(vec![])]);
    assert_eq!(autoclaim(&mut c, "2748779069440"), claimed);
    assert_eq!(autoclaim(&mut c, "1000000000000"), claimed);

    // Delivery counts and times at the edges print as Redis prints them.
    assert_eq!(
        c.cmd(&["XCLAIM", "s", "g", "d", "0", "1-0", "RETRYCOUNT", "9223372036854775807", "JUSTID"]),
        bulks(&["1-0"])
    );
    c.cmd(&["XCLAIM", "s", "g", "d", "0", "1-0"]);
    let p = items(items(c.cmd(&["XPENDING", "s", "g", "-", "1-0", "1"]))[0].clone());
    assert_eq!(p[3], int(i64::MIN), "the count wraps as Redis's unsigned counter printed signed");
    for opts in [["IDLE", "-9223372036854775808"], ["TIME", "9223372036854775807"], ["IDLE", "9223372036854775807"]] {
        let mut cmd = vec!["XCLAIM", "s", "g", "d", "0", "1-0", "JUSTID"];
        cmd.extend(opts);
        assert_eq!(c.cmd(&cmd), bulks(&["1-0"]), "{opts:?}");
    }
    c.cmd(&["XGROUP", "SETID", "s", "g", "0", "ENTRIESREAD", "9223372036854775807"]);
    let g = fields(items(c.cmd(&["XINFO", "GROUPS", "s"]))[0].clone());
    assert_eq!(field(&g, "lag"), int(-9223372036854775804));

    // IDs at u64::MAX, and arguments no ID can be.
    let max = "18446744073709551615-18446744073709551615";
    assert_eq!(c.cmd(&["XADD", "m", "18446744073709551615-*", "f", "v"]), bulk("18446744073709551615-0"));
    assert_eq!(c.cmd(&["XADD", "m", max, "f", "v"]), bulk(max));
    let exhausted = err("ERR The stream has exhausted the last possible ID, unable to add more items");
    assert_eq!(c.cmd(&["XADD", "m", "*", "f", "v"]), exhausted);
    assert_eq!(c.cmd(&["XADD", "m", "18446744073709551615-*", "f", "v"]), exhausted);
    assert_eq!(c.cmd(&["XRANGE", "m", &format!("({max}"), "+"]), err("ERR invalid start ID for the interval"));
    assert_eq!(c.cmd(&["XRANGE", "m", "-", "(0-0"]), err("ERR invalid end ID for the interval"));
    assert_eq!(c.cmd(&["XREAD", "STREAMS", "m", max]), nil_array());
    assert_eq!(c.cmd(&["XTRIM", "m", "MAXLEN", "9223372036854775807"]), int(0));
    assert_eq!(c.cmd(&["XTRIM", "m", "MINID", max]), int(1));
    let invalid = err("ERR Invalid stream ID specified as stream command argument");
    let long = "1".repeat(128);
    for bad in ["18446744073709551616", "1-18446744073709551616", long.as_str(), "1-", "-1-0"] {
        assert_eq!(c.cmd(&["XADD", "n", bad, "f", "v"]), invalid, "{bad}");
        assert_eq!(c.cmd(&["XRANGE", "s", bad, "+"]), invalid, "{bad}");
    }
    // 127 bytes of leading zeros are a valid ID; 128 are refused.
    let zeros = format!("{}5", "0".repeat(126));
    assert_eq!(c.cmd(&["XADD", "n", &zeros, "f", "v"]), bulk("5-0"));
    // An argument is a C string to Redis: it ends at a NUL.
    let mut raw = srv.raw();
    raw.send_cmd(&[b"XADD", b"n", b"6-0\x00junk", b"f", b"v"]);
    assert_eq!(raw.read(), bulk("6-0"));
}

#[test]
fn consumer_group_survives_crashed_consumers() {
    // Three consumers share a group; two of them disconnect while holding
    // messages. XAUTOCLAIM hands those to the survivor: every message is
    // processed, none is ever pending for two consumers at once.
    let srv = TestServer::start();
    let mut producer = srv.raw();
    for i in 1..=30 {
        producer.cmd(&["XADD", "jobs", &format!("{i}-0"), "job", &i.to_string()]);
    }
    assert_eq!(producer.cmd(&["XGROUP", "CREATE", "jobs", "workers", "0"]), Resp::ok());
    let mut workers: Vec<RawConn> = (0..3).map(|_| srv.raw()).collect();
    let names = ["w1", "w2", "w3"];
    let read = |c: &mut RawConn, name: &str, count: &str| -> Vec<String> {
        match c.cmd(&["XREADGROUP", "GROUP", "workers", name, "COUNT", count, "STREAMS", "jobs", ">"]) {
            Resp::Array(None) => Vec::new(),
            r => {
                let streams = items(r);
                let entries = items(items(streams[0].clone())[1].clone());
                entries
                    .into_iter()
                    .map(|e| match &items(e)[0] {
                        Resp::Bulk(Some(id)) => String::from_utf8_lossy(id).into_owned(),
                        other => panic!("{other:?}"),
                    })
                    .collect()
            }
        }
    };
    let mut processed: Vec<String> = Vec::new();
    let ack = |c: &mut RawConn, ids: &[String], processed: &mut Vec<String>| {
        for id in ids {
            assert_eq!(c.cmd(&["XACK", "jobs", "workers", id]), int(1), "acknowledged once: {id}");
            processed.push(id.clone());
        }
    };
    let first = read(&mut workers[0], names[0], "5");
    let second = read(&mut workers[1], names[1], "5");
    let third = read(&mut workers[2], names[2], "5");
    assert_eq!(first.len() + second.len() + third.len(), 15);
    let mut seen: Vec<&String> = first.iter().chain(&second).chain(&third).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 15, "no message delivered to two consumers");
    ack(&mut workers[0], &first, &mut processed);
    // w3 processes two messages, then w2 and w3 crash.
    ack(&mut workers[2], &third[..2], &mut processed);
    drop(workers.pop());
    drop(workers.pop());
    let w1 = &mut workers[0];
    // What the crashed consumers held stays theirs until claimed.
    let summary = items(w1.cmd(&["XPENDING", "jobs", "workers"]));
    assert_eq!(summary[0], int(8));
    assert_eq!(summary[3], arr(vec![bulks(&["w2", "5"]), bulks(&["w3", "3"])]));
    loop {
        let got = read(w1, names[0], "4");
        if got.is_empty() {
            break;
        }
        ack(w1, &got, &mut processed);
    }
    // Recovery: the survivor claims everything pending, a few at a time.
    let mut cursor = "0-0".to_string();
    loop {
        let r = items(w1.cmd(&["XAUTOCLAIM", "jobs", "workers", "w1", "0", &cursor, "COUNT", "3"]));
        let claimed: Vec<String> = items(r[1].clone())
            .into_iter()
            .map(|e| match &items(e)[0] {
                Resp::Bulk(Some(id)) => String::from_utf8_lossy(id).into_owned(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert!(claimed.len() <= 3);
        assert_eq!(r[2], arr(vec![]), "nothing was deleted");
        ack(w1, &claimed, &mut processed);
        cursor = match &r[0] {
            Resp::Bulk(Some(id)) => String::from_utf8_lossy(id).into_owned(),
            other => panic!("{other:?}"),
        };
        if cursor == "0-0" {
            break;
        }
    }
    processed.sort_by_key(|id| id.split('-').next().and_then(|ms| ms.parse::<u64>().ok()));
    let expected: Vec<String> = (1..=30).map(|i| format!("{i}-0")).collect();
    assert_eq!(processed, expected, "every message processed exactly once");
    assert_eq!(
        w1.cmd(&["XPENDING", "jobs", "workers"]),
        arr(vec![int(0), Resp::Bulk(None), Resp::Bulk(None), nil_array()])
    );
    let g = fields(items(w1.cmd(&["XINFO", "GROUPS", "jobs"]))[0].clone());
    assert_eq!((field(&g, "entries-read"), field(&g, "lag"), field(&g, "pending")), (int(30), int(0), int(0)));
    assert_eq!(field(&g, "consumers"), int(3));
}

#[test]
fn thousands_of_entries_split_into_nodes_as_redis() {
    // radix-tree-keys / -nodes of Redis 7.0 for the same commands.
    let srv = TestServer::start();
    let mut c = srv.raw();
    let mut batch = Vec::new();
    for i in 1..=1000u64 {
        batch.extend(common::encode_cmd(&[b"XADD", b"a", format!("{i}-0").as_bytes(), b"f", b"v"]));
    }
    for i in 0..1000u64 {
        let id = format!("{}-{}", 1_700_000_000_000 + i * 7, i % 3);
        batch.extend(common::encode_cmd(&[
            b"XADD",
            b"b",
            id.as_bytes(),
            b"name",
            format!("u{i}").as_bytes(),
            b"n",
            i.to_string().as_bytes(),
        ]));
    }
    c.send(&batch);
    for _ in 0..2000 {
        assert!(matches!(c.read(), Resp::Bulk(Some(_))));
    }
    let shape = |c: &mut RawConn, key: &str| {
        let info = fields(c.cmd(&["XINFO", "STREAM", key]));
        (
            as_int(&field(&info, "length")),
            as_int(&field(&info, "radix-tree-keys")),
            as_int(&field(&info, "radix-tree-nodes")),
        )
    };
    assert_eq!(shape(&mut c, "a"), (1000, 10, 26));
    assert_eq!(shape(&mut c, "b"), (1000, 10, 22));
    // Values of 1500 bytes: two entries per 4 KB node.
    c.cmd(&["CONFIG", "SET", "stream-node-max-entries", "1000000"]);
    let payload = "x".repeat(1500);
    for i in 1..=40 {
        c.cmd(&["XADD", "c", &format!("{i}-0"), "payload", &payload]);
    }
    c.cmd(&["CONFIG", "SET", "stream-node-max-entries", "100"]);
    assert_eq!(shape(&mut c, "c"), (40, 20, 42));
    // Deletes and a trim across nodes.
    let mut del = vec!["XDEL".to_string(), "b".into(), "1700000000700-1".into(), "1700000000007-1".into()];
    del.extend((100..=150u64).map(|i| format!("{}-{}", 1_700_000_000_000 + i * 7, i % 3)));
    let del: Vec<&str> = del.iter().map(String::as_str).collect();
    assert_eq!(c.cmd(&del), int(52));
    assert_eq!(c.cmd(&["XTRIM", "b", "MINID", "1700000001400"]), int(148));
    let info = fields(c.cmd(&["XINFO", "STREAM", "b"]));
    assert_eq!(shape(&mut c, "b"), (800, 8, 18));
    assert_eq!(field(&info, "max-deleted-entry-id"), bulk("1700000001050-0"));
    assert_eq!(field(&info, "recorded-first-entry-id"), bulk("1700000001400-2"));

    // Paging with exclusive ranges visits every entry once, in order.
    let mut start = "-".to_string();
    let mut seen = 0;
    let mut last_ms = 0u64;
    loop {
        let page = items(c.cmd(&["XRANGE", "a", &start, "+", "COUNT", "64"]));
        if page.is_empty() {
            break;
        }
        for e in &page {
            let Resp::Bulk(Some(id)) = &items(e.clone())[0] else { panic!("id") };
            let id = String::from_utf8_lossy(id).into_owned();
            let ms: u64 = id.split('-').next().and_then(|m| m.parse().ok()).expect("ms");
            assert!(ms > last_ms);
            last_ms = ms;
            start = format!("({id}");
            seen += 1;
        }
    }
    assert_eq!(seen, 1000);
    // An incomplete exclusive end is `<ms>-<max>`: (501 ends before 501-max.
    let back = items(c.cmd(&["XREVRANGE", "a", "(501", "(498"]));
    assert_eq!(back, vec![entry("501-0", &["f", "v"]), entry("500-0", &["f", "v"]), entry("499-0", &["f", "v"])]);
}

#[test]
fn empty_streams_stay_and_copy_with_their_groups() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["XADD", "s", "1-0", "a", "1"]);
    c.cmd(&["XGROUP", "CREATE", "s", "g", "0"]);
    c.cmd(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", ">"]);
    assert_eq!(c.cmd(&["XDEL", "s", "1-0"]), int(1));
    // Unlike other collections, an emptied stream stays.
    assert_eq!(c.cmd(&["EXISTS", "s"]), int(1));
    assert_eq!(c.cmd(&["TYPE", "s"]), Resp::Simple("stream".into()));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "s"]), bulk("stream"));
    assert_eq!(c.cmd(&["XLEN", "s"]), int(0));
    c.cmd(&["XADD", "t", "1-0", "a", "1"]);
    assert_eq!(c.cmd(&["XTRIM", "t", "MAXLEN", "0"]), int(1));
    assert_eq!(c.cmd(&["TYPE", "t"]), Resp::Simple("stream".into()));
    // The pending entry outlives its deleted entry.
    assert_eq!(
        c.cmd(&["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "s", "0"]),
        arr(vec![arr(vec![bulk("s"), arr(vec![arr(vec![bulk("1-0"), nil_array()])])])])
    );
    assert_eq!(c.cmd(&["COPY", "s", "s2"]), int(1));
    c.cmd(&["XADD", "s", "2-0", "b", "2"]);
    assert_eq!(c.cmd(&["XLEN", "s2"]), int(0));
    let g = fields(items(c.cmd(&["XINFO", "GROUPS", "s2"]))[0].clone());
    assert_eq!((field(&g, "name"), field(&g, "pending"), field(&g, "consumers")), (bulk("g"), int(1), int(1)));
    assert_eq!(c.cmd(&["RENAME", "s2", "s3"]), Resp::ok());
    assert_eq!(c.cmd(&["XACK", "s3", "g", "1-0"]), int(1));
    assert_eq!(items(c.cmd(&["XPENDING", "s", "g"]))[0], int(1), "copies are independent");
    assert_eq!(c.cmd(&["DEL", "s", "s3", "t"]), int(3));
}

#[test]
fn resp3_replies_are_maps() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    resp3(&mut c);
    c.cmd(&["XADD", "s", "1-0", "a", "1"]);
    c.cmd(&["XADD", "t", "1-0", "b", "2"]);
    let Resp::Map(read) = c.cmd(&["XREAD", "STREAMS", "s", "t", "0", "0"]) else { panic!("XREAD is a map") };
    assert_eq!(
        read,
        vec![(bulk("s"), arr(vec![entry("1-0", &["a", "1"])])), (bulk("t"), arr(vec![entry("1-0", &["b", "2"])]))]
    );
    assert_eq!(c.cmd(&["XREAD", "STREAMS", "s", "$"]), Resp::Null);
    c.cmd(&["XGROUP", "CREATE", "s", "g", "$"]);
    assert_eq!(c.cmd(&["XPENDING", "s", "g"]), arr(vec![int(0), Resp::Null, Resp::Null, Resp::Null]));
    let Resp::Array(Some(groups)) = c.cmd(&["XINFO", "GROUPS", "s"]) else { panic!("array") };
    assert_eq!(
        groups[0],
        Resp::Map(vec![
            (bulk("name"), bulk("g")),
            (bulk("consumers"), int(0)),
            (bulk("pending"), int(0)),
            (bulk("last-delivered-id"), bulk("1-0")),
            (bulk("entries-read"), Resp::Null),
            (bulk("lag"), int(0)),
        ])
    );
    let Resp::Map(info) = c.cmd(&["XINFO", "STREAM", "t"]) else { panic!("XINFO STREAM is a map") };
    assert_eq!(info.len(), 10);
    assert_eq!(info[8], (bulk("first-entry"), entry("1-0", &["b", "2"])));
    assert_eq!(c.cmd(&["XADD", "nokey", "NOMKSTREAM", "*", "f", "v"]), Resp::Null);
}

#[test]
fn reads_count_keyspace_hits_as_redis() {
    // INFO stats of Redis 7.0 / Valkey 9.1 after the same commands: XREAD
    // looks every key up twice, XAUTOCLAIM before checking its arguments.
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["XADD", "s", "1-0", "a", "1"]);
    c.cmd(&["CONFIG", "RESETSTAT"]);
    c.cmd(&["XREAD", "STREAMS", "s", "nokey", "0", "0"]);
    c.cmd(&["XGROUP", "CREATE", "s", "g", "0"]);
    c.cmd(&["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]);
    c.cmd(&["XACK", "s", "g", "1-0"]);
    c.cmd(&["XAUTOCLAIM", "s", "g", "c", "0", "x"]);
    let Resp::Bulk(Some(stats)) = c.cmd(&["INFO", "stats"]) else { panic!("INFO") };
    let stats = String::from_utf8_lossy(&stats).into_owned();
    assert!(stats.contains("keyspace_hits:6\r\n"), "{stats}");
    assert!(stats.contains("keyspace_misses:2\r\n"), "{stats}");
}

#[test]
fn memory_per_entry_is_close_to_redis() {
    // 100k entries of two small fields: used_memory grown per entry, next
    // to redis-server's for the same commands.
    if !reference::require_redis("stream memory") {
        return;
    }
    fn grow(port: u16) -> f64 {
        let mut c = RawConn::connect(port);
        let used = |c: &mut RawConn| -> i64 {
            let Resp::Bulk(Some(info)) = c.cmd(&["INFO", "memory"]) else { panic!("INFO") };
            let info = String::from_utf8_lossy(&info).into_owned();
            info.lines()
                .find_map(|l| l.strip_prefix("used_memory:"))
                .and_then(|v| v.trim().parse().ok())
                .expect("used_memory")
        };
        let before = used(&mut c);
        const N: u64 = 100_000;
        for chunk in 0..N / 1000 {
            let mut batch = Vec::new();
            for i in chunk * 1000..(chunk + 1) * 1000 {
                let id = format!("{}-0", i + 1);
                batch.extend(common::encode_cmd(&[
                    b"XADD",
                    b"s",
                    id.as_bytes(),
                    b"name",
                    format!("user{}", i % 1000).as_bytes(),
                    b"score",
                    (i % 10_000).to_string().as_bytes(),
                ]));
            }
            c.send(&batch);
            for _ in 0..1000 {
                assert!(matches!(c.read(), Resp::Bulk(Some(_))));
            }
        }
        (used(&mut c) - before) as f64 / N as f64
    }
    let srv = TestServer::start();
    let redis = reference::RedisServer::start();
    let (ours, theirs) = (grow(srv.port), grow(redis.port));
    eprintln!("stream memory: oxkey {ours:.1} bytes/entry, redis-server {theirs:.1}");
    assert!(ours <= theirs * 2.0, "oxkey {ours:.1} bytes/entry vs Redis {theirs:.1}");
}

#[path = "../fuzz/stream_case.rs"]
mod stream_case;

#[test]
fn fuzz_checks_hold_on_generated_scripts() {
    // The stream_ids fuzz target's checks on the stable toolchain: its
    // committed seeds, and inputs from a fixed generator.
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/stream_ids");
    let mut files: Vec<_> = std::fs::read_dir(&seeds).map(|d| d.filter_map(|e| e.ok()).collect()).unwrap_or_default();
    files.sort_by_key(|e| e.path());
    for f in &files {
        stream_case::stream_ids_case(&std::fs::read(f.path()).expect("seed"));
    }
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for len in (0..3000).step_by(7) {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        stream_case::stream_ids_case(&data);
    }
}

#[test]
fn reads_and_claims_announce_the_consumers_they_create() {
    // Valkey 9.1's events for the same commands (notify-keyspace-events Et).
    let srv = TestServer::start();
    let mut c = srv.raw();
    let mut sub = srv.raw();
    assert_eq!(c.cmd(&["CONFIG", "SET", "notify-keyspace-events", "Et"]), Resp::ok());
    sub.send_cmd(&[b"PSUBSCRIBE", b"__keyevent@0__:*"]);
    sub.read();
    let steps: &[(&[&str], &[&str])] = &[
        (&["XADD", "s", "1-0", "f", "v"], &["xadd"]),
        (&["XGROUP", "CREATE", "s", "g", "0"], &["xgroup-create"]),
        (&["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"], &["xgroup-createconsumer"]),
        (&["XREADGROUP", "GROUP", "g", "c1", "STREAMS", "s", ">"], &[]),
        (&["XCLAIM", "s", "g", "c2", "0", "1-0"], &["xgroup-createconsumer"]),
        (&["XAUTOCLAIM", "s", "g", "c3", "0", "0"], &["xgroup-createconsumer"]),
        (&["XREADGROUP", "GROUP", "g", "c4", "NOACK", "STREAMS", "s", ">"], &["xgroup-createconsumer"]),
        (&["XACK", "s", "g", "1-0"], &[]),
    ];
    for (cmd, events) in steps {
        c.cmd(cmd);
        for event in *events {
            let msg = items(sub.read());
            assert_eq!(msg[2], bulk(&format!("__keyevent@0__:{event}")), "{cmd:?}");
            assert_eq!(msg[3], bulk("s"));
        }
    }
    // Nothing else was announced.
    c.cmd(&["XADD", "s", "2-0", "f", "v"]);
    let msg = items(sub.read());
    assert_eq!(msg[2], bulk("__keyevent@0__:xadd"));
}
