//! Hash commands against a real oxkey-server: Redis 7.2's conversion rules,
//! HSCAN NOVALUES and cursors, HINCRBYFLOAT's long-double results, the
//! HRANDFIELD hardening cases, extreme `hash-max-listpack-*` settings and
//! duplicate arguments. Expected values were read from Redis 7.0.15, or
//! from Valkey 9.1 where Redis 7.0 and 7.2 differ; the differential script
//! tests/diff/hashes.txt covers replies line by line.

mod common;

use std::collections::{HashMap, HashSet};

use common::{bulk, bulks, encoding, err, steps, RawConn, Resp, TestServer};

fn text(r: &Resp) -> String {
    match r {
        Resp::Bulk(Some(b)) => String::from_utf8(b.clone()).unwrap(),
        other => panic!("not a bulk string: {other:?}"),
    }
}

fn strings(r: Resp) -> Vec<String> {
    match r {
        Resp::Array(Some(v)) => v.iter().map(text).collect(),
        other => panic!("not an array: {other:?}"),
    }
}

/// HSET key f0 v0 f1 v1 ... for `n` fields.
fn fill(c: &mut RawConn, key: &str, n: usize) -> Resp {
    let pairs: Vec<String> = (0..n).flat_map(|i| [format!("f{i}"), format!("v{i}")]).collect();
    let mut args = vec!["HSET", key];
    args.extend(pairs.iter().map(|s| s.as_str()));
    c.cmd(&args)
}

#[test]
fn conversions_follow_redis_72() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", "4"]);
    // Redis 7.2 converts before setting when there are more pairs than
    // entries, duplicates included (7.0 kept these listpacks).
    c.cmd(&["HSET", "e6", "a", "1", "a", "2", "a", "3", "a", "4", "a", "5"]);
    assert_eq!(encoding(&mut c, "e6"), "hashtable");
    assert_eq!(c.cmd(&["HLEN", "e6"]), Resp::Int(1));
    c.cmd(&["HSET", "e7", "a", "1"]);
    assert_eq!(c.cmd(&["HSET", "e7", "a", "1", "a", "2", "a", "3", "a", "4", "a", "5"]), Resp::Int(0));
    assert_eq!(encoding(&mut c, "e7"), "hashtable");
    assert_eq!(c.cmd(&["HGET", "e7", "a"]), bulk("5"));
    c.cmd(&["HSET", "e8", "a", "1", "a", "2", "a", "3", "a", "4"]);
    assert_eq!(encoding(&mut c, "e8"), "listpack");
    // A result longer than hash-max-listpack-value converts
    // (CVE-2023-28856 was HINCRBYFLOAT writing past this limit).
    c.cmd(&["CONFIG", "SET", "hash-max-listpack-value", "8"]);
    c.cmd(&["HSET", "f", "x", "1"]);
    let big = "1000000000000000000008997324079559193870523944273290747938260082321265646596180935755849152083750497190350372508614274835903592556184672983913096260520748646287327135641843653294084255107606016789726652932370030551382947620994540294772781889620606179267611627097410650567187386105690089424915104006144";
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "f", "x", "1e300"]), bulk(big));
    assert_eq!(encoding(&mut c, "f"), "hashtable");
    assert_eq!(c.cmd(&["HGETALL", "f"]), bulks(&["x", big]));
    assert_eq!(c.cmd(&["HSTRLEN", "f", "x"]), Resp::Int(big.len() as i64));
}

#[test]
fn hincrbyfloat_prints_long_doubles_as_redis() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    // (start, increment, result) as Redis 7.0.15 and Valkey 9.1 print them.
    let cases = [
        ("10.5", "0.1", "10.6"),
        ("0.1", "0.2", "0.3"),
        ("1e20", "0", "100000000000000000000"),
        ("1.5e-10", "0", "0.00000000015"),
        ("3", "0.0000000000000000001", "3"),
        ("-1.1", "1.1", "0"),
        ("5.0e3", "2.0e2", "5200"),
        ("1.23456789012345678", "0", "1.23456789012345678"),
        ("0.1", "-0.3", "-0.2"),
        ("9007199254740993", "0", "9007199254740993"),
        ("1e-20", "0", "0"),
        ("17179869184", "0.5", "17179869184.5"),
        ("1", "1e-17", "1.00000000000000001"),
        ("-0", "0", "0"),
        ("123456789012345678901234567890", "0", "123456789012345678899921813504"),
    ];
    for (i, (start, incr, want)) in cases.iter().enumerate() {
        let field = format!("f{i}");
        c.cmd(&["HINCRBYFLOAT", "h", &field, start]);
        assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", &field, incr]), bulk(want), "{start} + {incr}");
        assert_eq!(c.cmd(&["HGET", "h", &field]), bulk(want));
    }
    steps(
        &mut c,
        &[
            (&["HSET", "h", "int", "7"], Resp::Int(1)),
            (&["HINCRBYFLOAT", "h", "int", "1.5"], bulk("8.5")),
            (&["HSET", "h", "max", "1e4932"], Resp::Int(1)),
            (&["HINCRBYFLOAT", "h", "max", "1e4932"], err("ERR increment would produce NaN or Infinity")),
            (&["HINCRBYFLOAT", "h", "int", "inf"], err("ERR value is NaN or Infinity")),
            (&["HINCRBYFLOAT", "h", "int", "-inf"], err("ERR value is NaN or Infinity")),
            (&["HINCRBYFLOAT", "h", "int", "nan"], err("ERR value is not a valid float")),
            (&["HSET", "h", "inf", "inf"], Resp::Int(1)),
            (&["HINCRBYFLOAT", "h", "inf", "1"], err("ERR increment would produce NaN or Infinity")),
            (&["HINCRBYFLOAT", "h", "int", "1e5000"], err("ERR value is not a valid float")),
            (&["HGET", "h", "int"], bulk("8.5")),
        ],
    );
}

#[test]
fn hscan_novalues_and_cursors() {
    // NOVALUES is Redis 7.4 / Valkey 8; replies read from Valkey 9.1.
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["HSET", "h", "a", "1", "b", "2"]);
    let scan = |items: &[&str]| Resp::Array(Some(vec![bulk("0"), bulks(items)]));
    steps(
        &mut c,
        &[
            (&["HSCAN", "h", "0", "NOVALUES"], scan(&["a", "b"])),
            (&["HSCAN", "h", "0", "novalues", "MATCH", "a"], scan(&["a"])),
            (&["HSCAN", "h", "0", "NOVALUES", "NOVALUES"], scan(&["a", "b"])),
            (&["HSCAN", "h", " 0"], scan(&["a", "1", "b", "2"])),
            (&["HSCAN", "h", "007"], scan(&["a", "1", "b", "2"])),
            (&["HSCAN", "h", ""], err("ERR invalid cursor")),
            (&["HSCAN", "h", "-1"], err("ERR invalid cursor")),
            (&["HSCAN", "nokey", ""], err("ERR invalid cursor")),
            (&["HSCAN", "nokey", "0", "NOVALUES"], scan(&[])),
        ],
    );
    // A hashtable is walked bucket by bucket: every field exactly once,
    // with its own value.
    fill(&mut c, "big", 3000);
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    for novalues in [false, true] {
        let mut seen = HashMap::new();
        let mut cursor = "0".to_string();
        loop {
            let mut args = vec!["HSCAN", "big", cursor.as_str(), "COUNT", "20"];
            if novalues {
                args.push("NOVALUES");
            }
            let Resp::Array(Some(mut reply)) = c.cmd(&args) else { panic!() };
            let items = strings(reply.pop().unwrap());
            if novalues {
                for f in items {
                    assert!(seen.insert(f, String::new()).is_none());
                }
            } else {
                for pair in items.chunks(2) {
                    assert_eq!(pair[1], pair[0].replacen('f', "v", 1));
                    assert!(seen.insert(pair[0].clone(), pair[1].clone()).is_none());
                }
            }
            cursor = text(&reply[0]);
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 3000);
    }
}

#[test]
fn hrandfield_counts_are_bounded_and_never_overflow() {
    // CVE-2023-22458 / CVE-2023-25155: HRANDFIELD with extreme counts.
    let srv = TestServer::start();
    let mut c = srv.raw();
    fill(&mut c, "h", 3);
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    let too_large = err("ERR count is too large, the reply would exceed 536870912 bytes");
    steps(
        &mut c,
        &[
            (&["HRANDFIELD", "h", "-9223372036854775808"], err(range)),
            (&["HRANDFIELD", "nokey", "-9223372036854775808"], err(range)),
            (&["HRANDFIELD", "h", "-9223372036854775808", "WITHVALUES"], err(range)),
            (&["HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES"], err("ERR value is out of range")),
            (&["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"], err("ERR value is out of range")),
            (&["HRANDFIELD", "nokey", "-4611686018427387903", "WITHVALUES"], Resp::Array(Some(vec![]))),
            // Counts whose replies could not fit in memory are refused up
            // front (Redis would build them until it runs out of memory).
            (&["HRANDFIELD", "h", "-9223372036854775807"], too_large.clone()),
            (&["HRANDFIELD", "h", "-4611686018427387903", "WITHVALUES"], too_large.clone()),
            (&["HRANDFIELD", "h", "-100000000"], too_large),
            (&["PING"], Resp::Simple("PONG".into())),
        ],
    );
    let one = strings(c.cmd(&["HRANDFIELD", "h", "-1"]));
    assert_eq!(one.len(), 1);
    let all = strings(c.cmd(&["HRANDFIELD", "h", "9223372036854775807"]));
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 3);
    let rep = strings(c.cmd(&["HRANDFIELD", "h", "-100000", "WITHVALUES"]));
    assert_eq!(rep.len(), 200000);
    for pair in rep.chunks(2) {
        assert!(all.contains(&pair[0]));
        assert_eq!(pair[1], pair[0].replacen('f', "v", 1));
    }
}

#[test]
fn hrandfield_follows_the_uniqueness_rules() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    fill(&mut c, "small", 50);
    fill(&mut c, "big", 600);
    assert_eq!(encoding(&mut c, "small"), "listpack");
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    for (key, size) in [("small", 50usize), ("big", 600)] {
        for count in [1, 2, size / 4, size / 3, size / 2, size - 1, size, size + 7] {
            let fields = strings(c.cmd(&["HRANDFIELD", key, &count.to_string()]));
            assert_eq!(fields.len(), count.min(size), "{key} {count}");
            assert_eq!(fields.iter().collect::<HashSet<_>>().len(), fields.len(), "distinct: {key} {count}");
            let pairs = strings(c.cmd(&["HRANDFIELD", key, &count.to_string(), "WITHVALUES"]));
            assert_eq!(pairs.len(), 2 * count.min(size));
            for p in pairs.chunks(2) {
                assert_eq!(p[1], p[0].replacen('f', "v", 1));
            }
        }
        let rep = strings(c.cmd(&["HRANDFIELD", key, &format!("-{}", size * 3)]));
        assert_eq!(rep.len(), size * 3);
        assert!(rep.iter().collect::<HashSet<_>>().len() < rep.len(), "repeats");
    }
    // RESP3 nests each pair in an array of two.
    c.cmd(&["HELLO", "3"]);
    for args in [&["HRANDFIELD", "small", "-5", "WITHVALUES"][..], &["HRANDFIELD", "big", "5", "WITHVALUES"]] {
        let Resp::Array(Some(pairs)) = c.cmd(args) else { panic!() };
        assert_eq!(pairs.len(), 5);
        for p in pairs {
            let Resp::Array(Some(fv)) = p else { panic!("{p:?}") };
            assert_eq!(text(&fv[1]), text(&fv[0]).replacen('f', "v", 1));
        }
    }
    assert_eq!(c.cmd(&["HRANDFIELD", "small", "0", "WITHVALUES"]), Resp::Array(Some(vec![])));
}

#[test]
fn extreme_listpack_settings() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    steps(
        &mut c,
        &[
            (&["CONFIG", "SET", "hash-max-listpack-entries", "0"], Resp::ok()),
            (&["HSET", "z", "a", "1"], Resp::Int(1)),
            (&["HSETNX", "z2", "a", "1"], Resp::Int(1)),
            (&["HINCRBY", "z3", "a", "1"], Resp::Int(1)),
            (&["HINCRBYFLOAT", "z4", "a", "1.5"], bulk("1.5")),
        ],
    );
    for key in ["z", "z2", "z3", "z4"] {
        assert_eq!(encoding(&mut c, key), "hashtable", "{key}");
    }
    steps(
        &mut c,
        &[
            (&["CONFIG", "SET", "hash-max-listpack-entries", "128"], Resp::ok()),
            (&["CONFIG", "SET", "hash-max-listpack-value", "0"], Resp::ok()),
            (&["HSET", "v0", "", ""], Resp::Int(1)),
            (&["HSET", "v1", "", "x"], Resp::Int(1)),
        ],
    );
    assert_eq!(encoding(&mut c, "v0"), "listpack");
    assert_eq!(encoding(&mut c, "v1"), "hashtable");
    // 2^31: everything stays a listpack, up to its 1 GB safety limit.
    for p in ["hash-max-listpack-entries", "hash-max-listpack-value"] {
        assert_eq!(c.cmd(&["CONFIG", "SET", p, "2147483648"]), Resp::ok());
    }
    assert_eq!(fill(&mut c, "huge", 3000), Resp::Int(3000));
    assert_eq!(encoding(&mut c, "huge"), "listpack");
    let mb = "x".repeat(1 << 20);
    assert_eq!(c.cmd(&["HSET", "huge", "mb", &mb, &mb, "1"]), Resp::Int(2));
    assert_eq!(encoding(&mut c, "huge"), "listpack");
    assert_eq!(c.cmd(&["HGET", "huge", "mb"]), bulk(&mb));
    assert_eq!(c.cmd(&["HGET", "huge", &mb]), bulk("1"));
    assert_eq!(c.cmd(&["HINCRBY", "huge", &mb, "1"]), Resp::Int(2));
    assert_eq!(c.cmd(&["HGET", "huge", "f2999"]), bulk("v2999"));
    assert_eq!(c.cmd(&["HDEL", "huge", "mb", &mb]), Resp::Int(2));
    assert_eq!(c.cmd(&["HLEN", "huge"]), Resp::Int(3000));
    assert_eq!(strings(c.cmd(&["HRANDFIELD", "huge", "10"])).len(), 10);
}

#[test]
fn duplicate_fields() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    for encoding_entries in ["128", "0"] {
        c.cmd(&["CONFIG", "SET", "hash-max-listpack-entries", encoding_entries]);
        c.cmd(&["DEL", "h"]);
        steps(
            &mut c,
            &[
                (&["HSET", "h", "f", "1", "f", "2", "g", "3", "f", "4"], Resp::Int(2)),
                (&["HGET", "h", "f"], bulk("4")),
                (&["HLEN", "h"], Resp::Int(2)),
                (
                    &["HMGET", "h", "f", "f", "x", "g"],
                    Resp::Array(Some(vec![bulk("4"), bulk("4"), Resp::Bulk(None), bulk("3")])),
                ),
                (&["HMSET", "h", "g", "a", "g", "b"], Resp::ok()),
                (&["HGET", "h", "g"], bulk("b")),
                (&["HDEL", "h", "f", "f", "g", "g"], Resp::Int(2)),
                (&["EXISTS", "h"], Resp::Int(0)),
            ],
        );
    }
}

#[test]
fn resp3_reply_types() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["HELLO", "3"]);
    c.cmd(&["HSET", "h", "a", "1", "b", "x"]);
    steps(
        &mut c,
        &[
            (&["HGETALL", "h"], Resp::Map(vec![(bulk("a"), bulk("1")), (bulk("b"), bulk("x"))])),
            (&["HGETALL", "nokey"], Resp::Map(vec![])),
            (&["HKEYS", "h"], bulks(&["a", "b"])),
            (&["HVALS", "nokey"], bulks(&[])),
            (&["HGET", "h", "zz"], Resp::Null),
            (&["HMGET", "h", "zz", "a"], Resp::Array(Some(vec![Resp::Null, bulk("1")]))),
            (&["HRANDFIELD", "nokey"], Resp::Null),
            (&["HRANDFIELD", "nokey", "2"], bulks(&[])),
            (&["HSCAN", "h", "0"], Resp::Array(Some(vec![bulk("0"), bulks(&["a", "1", "b", "x"])]))),
            (&["HEXISTS", "h", "a"], Resp::Int(1)),
        ],
    );
}
