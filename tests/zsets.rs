//! Sorted sets against a real server process, for what the differential
//! script (tests/diff/zsets.txt, against Redis 7.0) cannot check: where
//! Redis 7.2 differs from 7.0 (ZRANK WITHSCORE, double formatting, the
//! encoding a many-pair ZADD creates, SCAN cursors), random replies, and
//! the hardening cases. Expected values were taken from Valkey 9.1, which
//! behaves as Redis 7.2 here.

mod common;

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

fn resp3(c: &mut RawConn) {
    assert!(matches!(c.cmd(&["HELLO", "3"]), Resp::Map(_)));
}

fn items(r: Resp) -> Vec<Resp> {
    match r {
        Resp::Array(Some(v)) => v,
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn zrank_withscore_is_redis_72() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["ZADD", "z", "1.1", "a", "2", "b", "0.1", "c"]), int(3));
    assert_eq!(c.cmd(&["ZRANK", "z", "a", "WITHSCORE"]), arr(vec![int(1), bulk("1.1")]));
    assert_eq!(c.cmd(&["ZREVRANK", "z", "a", "withscore"]), arr(vec![int(1), bulk("1.1")]));
    assert_eq!(c.cmd(&["ZRANK", "z", "c"]), int(0));
    assert_eq!(c.cmd(&["ZRANK", "z", "nosuch", "WITHSCORE"]), Resp::Array(None));
    assert_eq!(c.cmd(&["ZRANK", "nokey", "a", "WITHSCORE"]), Resp::Array(None));
    assert_eq!(c.cmd(&["ZRANK", "z", "a", "WITHSCORES"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["ZRANK", "z", "a", "WITHSCORE", "x"]), err("ERR wrong number of arguments for 'zrank' command"));
    assert_eq!(
        c.cmd(&["ZREVRANK", "z", "a", "WITHSCORE", "x"]),
        err("ERR wrong number of arguments for 'zrevrank' command")
    );
    assert_eq!(c.cmd(&["SET", "s", "x"]), Resp::ok());
    assert_eq!(
        c.cmd(&["ZRANK", "s", "a", "WITHSCORE"]),
        err("WRONGTYPE Operation against a key holding the wrong kind of value")
    );
    resp3(&mut c);
    assert_eq!(c.cmd(&["ZRANK", "z", "b", "WITHSCORE"]), arr(vec![int(2), Resp::Double("2".into())]));
    assert_eq!(c.cmd(&["ZRANK", "z", "nosuch", "WITHSCORE"]), Resp::Null);
    assert_eq!(c.cmd(&["ZRANK", "z", "nosuch"]), Resp::Null);
}

#[test]
fn scores_print_as_redis_72() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    // ZSCORE replies of Valkey 9.1 (Redis 7.0 printed %.17g instead).
    for (input, printed) in [
        ("1.1", "1.1"),
        ("123456789.123456789", "1.2345678912345679e+8"),
        ("12345678901234567890", "12345678901234567000"),
        ("1e17", "100000000000000000"),
        ("3.0e-5", "0.00003"),
        ("-1.5e-7", "-1.5e-7"),
        ("1e-310", "1e-310"),
        ("1e20", "1e+20"),
        ("0.0000001", "1e-7"),
        ("1234567.891", "1234567.891"),
        ("9.3e18", "9.3e+18"),
    ] {
        for enc in ["128", "0"] {
            c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", enc]);
            c.cmd(&["DEL", "f"]);
            assert_eq!(c.cmd(&["ZADD", "f", input, "m"]), int(1));
            assert_eq!(c.cmd(&["ZSCORE", "f", "m"]), bulk(printed), "{input} ({enc})");
            assert_eq!(c.cmd(&["ZRANGE", "f", "0", "-1", "WITHSCORES"]), bulks(&["m", printed]));
        }
    }
    c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "128"]);
    assert_eq!(c.cmd(&["ZADD", "z", "0.1", "a"]), int(1));
    assert_eq!(c.cmd(&["ZINCRBY", "z", "0.2", "a"]), bulk("0.30000000000000004"));
    assert_eq!(c.cmd(&["ZADD", "z", "INCR", "0.7", "a"]), bulk("1"));
    assert_eq!(c.cmd(&["ZMSCORE", "z", "a", "x"]), arr(vec![bulk("1"), Resp::Bulk(None)]));
    resp3(&mut c);
    assert_eq!(c.cmd(&["ZINCRBY", "z", "0.1", "a"]), Resp::Double("1.1".into()));
    assert_eq!(c.cmd(&["ZSCORE", "z", "a"]), Resp::Double("1.1".into()));
    assert_eq!(c.cmd(&["ZPOPMIN", "z", "1"]), arr(vec![arr(vec![bulk("a"), Resp::Double("1.1".into())])]));
}

#[test]
fn zscan_reports_scores_as_stored() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["ZADD", "z", "1.1", "a", "2", "b", "0.1", "c", "1e-310", "d"]);
    c.cmd(&["ZINCRBY", "z", "0.2", "c"]);
    // A listpack returns the text it stored (Redis 7.2's d2string)...
    assert_eq!(
        c.cmd(&["ZSCAN", "z", "0"]),
        arr(vec![bulk("0"), bulks(&["d", "1e-310", "c", "0.30000000000000004", "a", "1.1", "b", "2"])])
    );
    // ...a skiplist prints each score with %.17g.
    c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "1"]);
    c.cmd(&["ZADD", "s", "1.1", "a", "0.1", "b", "1e-310", "d", "2", "e"]);
    c.cmd(&["ZINCRBY", "s", "0.2", "b"]);
    let reply = items(c.cmd(&["ZSCAN", "s", "0", "COUNT", "100"]));
    assert_eq!(reply[0], bulk("0"));
    let text = |r: &Resp| match r {
        Resp::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
        other => panic!("not a bulk: {other:?}"),
    };
    let mut pairs: Vec<(String, String)> =
        items(reply[1].clone()).chunks(2).map(|p| (text(&p[0]), text(&p[1]))).collect();
    pairs.sort();
    let want =
        [("a", "1.1000000000000001"), ("b", "0.30000000000000004"), ("d", "9.9999999999999694e-311"), ("e", "2")];
    assert_eq!(pairs, want.map(|(m, s)| (m.to_string(), s.to_string())).to_vec());
    // Redis 7.2 parses the cursor with string2ull: no sign, no overflow.
    assert_eq!(c.cmd(&["ZSCAN", "s", "-1"]), err("ERR invalid cursor"));
    assert_eq!(c.cmd(&["ZSCAN", "s", "18446744073709551616"]), err("ERR invalid cursor"));
}

#[test]
fn a_many_pair_zadd_creates_by_pair_count() {
    // Redis 7.2 sizes a new zset (and converts an existing listpack) by
    // the number of pairs a ZADD carries, duplicates included.
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "3"]);
    assert_eq!(c.cmd(&["ZADD", "z4", "1", "a", "2", "a", "3", "a", "4", "a"]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "z4"]), bulk("skiplist"));
    assert_eq!(c.cmd(&["ZRANGE", "z4", "0", "-1", "WITHSCORES"]), bulks(&["a", "4"]));
    assert_eq!(c.cmd(&["ZADD", "z5", "1", "a"]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "z5"]), bulk("listpack"));
    assert_eq!(c.cmd(&["ZADD", "z5", "XX", "1", "a", "2", "a", "3", "a", "4", "a"]), int(0));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "z5"]), bulk("skiplist"));
    assert_eq!(c.cmd(&["ZADD", "z6", "1", "a", "2", "b", "3", "c"]), int(3));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "z6"]), bulk("listpack"));
}

#[test]
fn zrandmember_counts_and_their_limits() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["ZADD", "z", "1", "a", "2", "b", "3", "c"]);
    assert_eq!(
        c.cmd(&["ZRANDMEMBER", "z", "-9223372036854775808"]),
        err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    );
    assert_eq!(c.cmd(&["ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES"]), err("ERR value is out of range"));
    // -1: one member, possibly repeated.
    let one = items(c.cmd(&["ZRANDMEMBER", "z", "-1"]));
    assert_eq!(one.len(), 1);
    // A count past the size returns the whole set once (highest first).
    assert_eq!(c.cmd(&["ZRANDMEMBER", "z", "9223372036854775807"]), bulks(&["c", "b", "a"]));
    // Negative counts repeat; every pick is a member with its score.
    let picks = items(c.cmd(&["ZRANDMEMBER", "z", "-100", "WITHSCORES"]));
    assert_eq!(picks.len(), 200);
    for p in picks.chunks(2) {
        let ok = [("a", "1"), ("b", "2"), ("c", "3")].iter().any(|(m, s)| p[0] == bulk(m) && p[1] == bulk(s));
        assert!(ok, "{p:?}");
    }
    // Positive counts below the size give distinct members, in both
    // encodings.
    for enc in ["128", "0"] {
        c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", enc]);
        c.cmd(&["DEL", "big"]);
        let mut args = vec!["ZADD".to_string(), "big".to_string()];
        for i in 0..50 {
            args.push(i.to_string());
            args.push(format!("m{i}"));
        }
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        assert_eq!(c.cmd(&a), int(50));
        for n in ["5", "20", "49"] {
            let mut got: Vec<Resp> = items(c.cmd(&["ZRANDMEMBER", "big", n]));
            let count = got.len();
            got.sort_by_key(|r| format!("{r:?}"));
            got.dedup();
            assert_eq!((count, got.len()), (n.parse().unwrap(), n.parse().unwrap()), "{n} ({enc})");
        }
    }
    // A count near -2^63 would make Redis grow the reply until memory runs
    // out: oxkey drops that client once the reply passes its guard, and
    // keeps serving everyone else.
    let mut victim = srv.raw();
    victim.send_cmd(&[b"ZRANDMEMBER", b"z", b"-9223372036854775807"]);
    assert!(victim.closed(), "the client is dropped");
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(c.cmd(&["ZCARD", "z"]), int(3));
}

#[test]
fn nan_and_infinite_scores() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    for bad in ["nan", "NaN", "-nan", "1e400", "-1e400", "1e-400", "inf junk"] {
        assert_eq!(c.cmd(&["ZADD", "z", bad, "a"]), err("ERR value is not a valid float"), "{bad}");
        assert_eq!(c.cmd(&["ZINCRBY", "z", bad, "a"]), err("ERR value is not a valid float"), "{bad}");
    }
    assert_eq!(c.cmd(&["EXISTS", "z"]), int(0));
    assert_eq!(c.cmd(&["ZINCRBY", "z", "inf", "a"]), bulk("inf"));
    assert_eq!(c.cmd(&["ZINCRBY", "z", "-inf", "a"]), err("ERR resulting score is not a number (NaN)"));
    assert_eq!(c.cmd(&["ZADD", "z", "INCR", "-inf", "a"]), err("ERR resulting score is not a number (NaN)"));
    assert_eq!(c.cmd(&["ZSCORE", "z", "a"]), bulk("inf"));
    assert_eq!(c.cmd(&["ZINCRBY", "z", "1", "a"]), bulk("inf"));
    assert_eq!(c.cmd(&["ZADD", "z", "-inf", "b", "0", "c"]), int(2));
    assert_eq!(c.cmd(&["ZRANGE", "z", "0", "-1"]), bulks(&["b", "c", "a"]));
    assert_eq!(c.cmd(&["ZCOUNT", "z", "-inf", "+inf"]), int(3));
    assert_eq!(c.cmd(&["ZCOUNT", "z", "(-inf", "(inf"]), int(1));
    // inf × 0 and inf + -inf count as 0 in the set operations.
    assert_eq!(c.cmd(&["ZUNION", "1", "z", "WEIGHTS", "0", "WITHSCORES"]), bulks(&["a", "0", "b", "0", "c", "0"]));
    c.cmd(&["ZADD", "y", "-inf", "a"]);
    assert_eq!(c.cmd(&["ZINTER", "2", "z", "y", "WITHSCORES"]), bulks(&["a", "0"]));
    assert_eq!(c.cmd(&["ZINTER", "2", "z", "y", "WEIGHTS", "1", "nan"]), err("ERR weight value is not a float"));
    assert_eq!(c.cmd(&["ZRANGEBYSCORE", "z", "nan", "1"]), err("ERR min or max is not a float"));
    assert_eq!(c.cmd(&["ZCOUNT", "z", "(nan", "1"]), err("ERR min or max is not a float"));
}

#[test]
fn extreme_listpack_settings() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    // Nothing fits a listpack.
    c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
    assert_eq!(c.cmd(&["ZADD", "a", "1", "x"]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "a"]), bulk("skiplist"));
    assert_eq!(c.cmd(&["ZRANGESTORE", "d", "a", "0", "-1"]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "d"]), bulk("skiplist"));
    c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "128"]);
    c.cmd(&["CONFIG", "SET", "zset-max-listpack-value", "0"]);
    assert_eq!(c.cmd(&["ZADD", "e", "1", ""]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "e"]), bulk("listpack"));
    assert_eq!(c.cmd(&["ZADD", "e", "1", "x"]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "e"]), bulk("skiplist"));
    // Everything fits: a big listpack keeps working (and stays correct).
    c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "1000000"]);
    c.cmd(&["CONFIG", "SET", "zset-max-listpack-value", "1000000"]);
    let long = "v".repeat(5000);
    for i in 0..300 {
        let member = format!("{i:04}{long}");
        assert_eq!(c.cmd(&["ZADD", "huge", &(i % 7).to_string(), &member]), int(1));
    }
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "huge"]), bulk("listpack"));
    assert_eq!(c.cmd(&["ZCARD", "huge"]), int(300));
    assert_eq!(c.cmd(&["ZCOUNT", "huge", "3", "3"]), int(43));
    let top = items(c.cmd(&["ZREVRANGE", "huge", "0", "0", "WITHSCORES"]));
    assert_eq!(top[1], bulk("6"));
    assert_eq!(c.cmd(&["ZREMRANGEBYSCORE", "huge", "0", "5"]), int(258));
    assert_eq!(c.cmd(&["ZCARD", "huge"]), int(42));
    let member_of_100k = "m".repeat(100_000);
    assert_eq!(c.cmd(&["ZADD", "wide", "1", &member_of_100k]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "wide"]), bulk("listpack"));
    assert_eq!(c.cmd(&["ZSCORE", "wide", &member_of_100k]), bulk("1"));
    // Past the entry limit the conversion keeps every member.
    c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", "10"]);
    assert_eq!(c.cmd(&["ZADD", "huge", "100", "new"]), int(1));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "huge"]), bulk("skiplist"));
    assert_eq!(c.cmd(&["ZCARD", "huge"]), int(43));
}

#[test]
fn huge_offsets_and_counts() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    for enc in ["128", "0"] {
        c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", enc]);
        c.cmd(&["DEL", "z"]);
        let mut args = vec!["ZADD".to_string(), "z".to_string()];
        for i in 0..100 {
            args.push(i.to_string());
            args.push(format!("m{i:03}"));
        }
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        assert_eq!(c.cmd(&a), int(100));
        let max = "9223372036854775807";
        let min = "-9223372036854775808";
        assert_eq!(c.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", max, max]), arr(vec![]));
        assert_eq!(c.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", min, "1"]), arr(vec![]));
        assert_eq!(items(c.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0", max])).len(), 100);
        assert_eq!(items(c.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0", min])).len(), 100);
        assert_eq!(c.cmd(&["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "99", max]), bulks(&["m099"]));
        assert_eq!(c.cmd(&["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "LIMIT", "99", "5"]), bulks(&["m000"]));
        assert_eq!(c.cmd(&["ZRANGEBYSCORE", "z", "(10", "+inf", "LIMIT", "50", "2"]), bulks(&["m061", "m062"]));
        assert_eq!(c.cmd(&["ZREVRANGEBYSCORE", "z", "(90", "-inf", "LIMIT", "50", "2"]), bulks(&["m039", "m038"]));
        assert_eq!(c.cmd(&["ZRANGEBYLEX", "z", "-", "+", "LIMIT", "98", max]), bulks(&["m098", "m099"]));
        assert_eq!(c.cmd(&["ZRANGE", "z", min, max]).clone(), c.cmd(&["ZRANGE", "z", "0", "-1"]));
        assert_eq!(c.cmd(&["ZRANGE", "z", max, min]), arr(vec![]));
        assert_eq!(c.cmd(&["ZREMRANGEBYRANK", "z", max, max]), int(0));
        assert_eq!(c.cmd(&["ZPOPMIN", "z", max]).clone(), {
            let mut all = Vec::new();
            for i in 0..100 {
                all.push(bulk(&format!("m{i:03}")));
                all.push(bulk(&i.to_string()));
            }
            arr(all)
        });
        assert_eq!(c.cmd(&["EXISTS", "z"]), int(0));
        assert_eq!(c.cmd(&["ZMPOP", "1", "z", "MIN", "COUNT", max]), Resp::Array(None));
    }
}

#[test]
fn duplicate_members_and_keys() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["ZADD", "z", "1", "a", "2", "a", "3", "a"]), int(1));
    assert_eq!(c.cmd(&["ZSCORE", "z", "a"]), bulk("3"));
    assert_eq!(c.cmd(&["ZADD", "z", "CH", "1", "a", "1", "a", "5", "b", "5", "b"]), int(2));
    assert_eq!(c.cmd(&["ZADD", "z", "NX", "9", "c", "8", "c"]), int(1));
    assert_eq!(c.cmd(&["ZSCORE", "z", "c"]), bulk("9"));
    assert_eq!(c.cmd(&["ZMSCORE", "z", "a", "a", "x"]), arr(vec![bulk("1"), bulk("1"), Resp::Bulk(None)]));
    assert_eq!(c.cmd(&["ZREM", "z", "a", "a"]), int(1));
    assert_eq!(c.cmd(&["ZUNION", "2", "z", "z", "WITHSCORES"]), bulks(&["b", "10", "c", "18"]));
    assert_eq!(c.cmd(&["ZINTER", "2", "z", "z", "AGGREGATE", "MAX", "WITHSCORES"]), bulks(&["b", "5", "c", "9"]));
    assert_eq!(c.cmd(&["ZDIFF", "2", "z", "z"]), arr(vec![]));
    assert_eq!(c.cmd(&["ZUNIONSTORE", "z", "2", "z", "z"]), int(2));
    assert_eq!(c.cmd(&["ZRANGE", "z", "0", "-1", "WITHSCORES"]), bulks(&["b", "10", "c", "18"]));
    // More pairs than fit on the stack.
    let mut args = vec!["ZADD".to_string(), "many".to_string()];
    for i in 0..40 {
        args.push((i % 5).to_string());
        args.push(format!("m{}", i % 20));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    assert_eq!(c.cmd(&a), int(20));
    assert_eq!(c.cmd(&["ZCARD", "many"]), int(20));
    assert_eq!(c.cmd(&["ZSCORE", "many", "m0"]), bulk("0"));
    assert_eq!(c.cmd(&["ZSCORE", "many", "m1"]), bulk("1"));
}

#[test]
fn emptied_zsets_are_deleted() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    for enc in ["128", "0"] {
        c.cmd(&["CONFIG", "SET", "zset-max-listpack-entries", enc]);
        for (fill, empty) in [
            (&["ZADD", "z", "1", "a", "2", "b"][..], &["ZREM", "z", "a", "b"][..]),
            (&["ZADD", "z", "1", "a", "2", "b"], &["ZPOPMAX", "z", "5"]),
            (&["ZADD", "z", "1", "a"], &["ZPOPMIN", "z"]),
            (&["ZADD", "z", "1", "a", "2", "b"], &["ZMPOP", "1", "z", "MIN", "COUNT", "2"]),
            (&["ZADD", "z", "1", "a", "2", "b"], &["ZREMRANGEBYRANK", "z", "0", "-1"]),
            (&["ZADD", "z", "1", "a", "2", "b"], &["ZREMRANGEBYSCORE", "z", "-inf", "+inf"]),
            (&["ZADD", "z", "0", "a", "0", "b"], &["ZREMRANGEBYLEX", "z", "-", "+"]),
        ] {
            c.cmd(fill);
            c.cmd(empty);
            assert_eq!(c.cmd(&["EXISTS", "z"]), int(0), "{empty:?} ({enc})");
            assert_eq!(c.cmd(&["TYPE", "z"]), Resp::Simple("none".into()));
        }
    }
    // An empty STORE result deletes the destination.
    c.cmd(&["SET", "dst", "x"]);
    assert_eq!(c.cmd(&["ZINTERSTORE", "dst", "1", "nokey"]), int(0));
    assert_eq!(c.cmd(&["EXISTS", "dst"]), int(0));
}

#[test]
fn zmpop_and_zpop_shapes() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["ZADD", "z", "1", "a", "2", "b"]);
    assert_eq!(c.cmd(&["ZMPOP", "2", "nokey", "z", "MAX"]), arr(vec![bulk("z"), arr(vec![bulks(&["b", "2"])])]));
    resp3(&mut c);
    assert_eq!(c.cmd(&["ZPOPMIN", "z"]), arr(vec![bulk("a"), Resp::Double("1".into())]));
    assert_eq!(c.cmd(&["ZMPOP", "1", "z", "MIN"]), Resp::Null);
    assert_eq!(c.cmd(&["ZPOPMIN", "z", "2"]), arr(vec![]));
}
