//! Set commands against a real oxkey-server: Redis 7.2's encodings (the
//! listpack that Redis 7.0 lacks), the random-count hardening cases,
//! extreme `set-max-*` settings, duplicate arguments, keyspace statistics
//! and SSCAN's guarantees. Expected values were read from Valkey 9.1 (whose
//! set code is Redis 7.2's) or Redis 7.0.15 running the same commands; the
//! differential script tests/diff/sets.txt covers replies line by line.

mod common;

use std::collections::HashSet;

use common::{bulk, bulks, encoding, err, steps, RawConn, Resp, TestServer};

/// The members of an array reply, as strings.
fn members(r: Resp) -> Vec<String> {
    match r {
        Resp::Array(Some(v)) | Resp::Set(v) => v
            .into_iter()
            .map(|e| match e {
                Resp::Bulk(Some(b)) => String::from_utf8(b).unwrap(),
                other => panic!("not a bulk string: {other:?}"),
            })
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

fn many(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

fn cmd_with(c: &mut RawConn, head: &[&str], tail: &[String]) -> Resp {
    let mut args: Vec<&str> = head.to_vec();
    args.extend(tail.iter().map(|s| s.as_str()));
    c.cmd(&args)
}

#[test]
fn encodings_follow_redis_72() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    // (setup commands, key, encoding Valkey 9.1 reports)
    let cases: &[(&[&[&str]], &str, &str)] = &[
        (&[&["SADD", "a", "x", "y", "z"]], "a", "listpack"),
        (&[&["SADD", "ni", "1", "01", "+1", " 1", "1.0", "-0", "0"]], "ni", "listpack"),
        (&[&["SADD", "big", "18446744073709551616"]], "big", "listpack"),
        (&[&["SADD", "ints", "1", "-2", "3"]], "ints", "intset"),
        (&[&["CONFIG", "SET", "set-max-intset-entries", "0"], &["SADD", "e6", "1"]], "e6", "listpack"),
        // The widest integer of an intset must fit set-max-listpack-value
        // for the set to become a listpack.
        (
            &[&["CONFIG", "SET", "set-max-intset-entries", "512"], &["CONFIG", "SET", "set-max-listpack-value", "3"]],
            "",
            "",
        ),
        (&[&["SADD", "w", "12345"], &["SADD", "w", "a"]], "w", "hashtable"),
        (&[&["SADD", "w2", "123"], &["SADD", "w2", "a"]], "w2", "listpack"),
        (&[&["SADD", "w3", "-12"], &["SADD", "w3", "a"]], "w3", "listpack"),
        (&[&["SADD", "w4", "-123"], &["SADD", "w4", "a"]], "w4", "hashtable"),
        (
            &[
                &["CONFIG", "SET", "set-max-listpack-value", "64"],
                &["CONFIG", "SET", "set-max-listpack-entries", "3"],
                &["SADD", "l1", "a", "b", "c"],
                &["SADD", "l1", "a"],
            ],
            "l1",
            "listpack",
        ),
        // More arguments than entries convert up front, duplicates or not.
        (&[&["SADD", "l2", "a"], &["SADD", "l2", "a", "a", "a", "a"]], "l2", "hashtable"),
        (&[&["SADD", "i3", "1", "2", "3"], &["SADD", "i3", "x"]], "i3", "hashtable"),
        (&[&["SADD", "i4", "1", "2"], &["SADD", "i4", "x"]], "i4", "listpack"),
        (
            &[&["CONFIG", "SET", "set-max-intset-entries", "2"], &["SADD", "i5", "1"], &["SADD", "i5", "1", "1", "1"]],
            "i5",
            "hashtable",
        ),
        // Too many integers for an intset, few enough for a listpack.
        (
            &[
                &["CONFIG", "SET", "set-max-intset-entries", "10"],
                &["CONFIG", "SET", "set-max-listpack-entries", "128"],
                &["SADD", "ib", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"],
            ],
            "ib",
            "listpack",
        ),
        (&[&["CONFIG", "SET", "set-max-intset-entries", "512"]], "", ""),
        // Stored results: SINTERSTORE ends as an intset when all members are
        // integers; SUNIONSTORE/SDIFFSTORE grow from an intset.
        (
            &[
                &["SADD", "sa", "a", "b", "c", "d"],
                &["SADD", "sb", "b", "c", "d", "e"],
                &["SINTERSTORE", "d1", "sa", "sb"],
            ],
            "d1",
            "listpack",
        ),
        (
            &[
                &["SADD", "n1", "1", "2", "3", "x"],
                &["SADD", "n2", "1", "2", "3", "y"],
                &["SINTERSTORE", "d2", "n1", "n2"],
            ],
            "d2",
            "intset",
        ),
        (&[&["SUNIONSTORE", "u", "n1", "n2"]], "u", "listpack"),
        (&[&["SDIFFSTORE", "df", "n1", "n2"]], "df", "listpack"),
        (&[&["SUNIONSTORE", "u2", "ints", "ints"]], "u2", "intset"),
        (&[&["SMOVE", "sa", "newd", "a"]], "newd", "listpack"),
        (&[&["SMOVE", "ints", "newi", "3"]], "newi", "intset"),
    ];
    for (setup, key, want) in cases {
        for args in *setup {
            let r = c.cmd(args);
            assert!(!matches!(r, Resp::Error(_)), "{args:?}: {r:?}");
        }
        if !key.is_empty() {
            assert_eq!(encoding(&mut c, key), *want, "{key} after {setup:?}");
        }
    }
    // Compact sets keep Valkey's order.
    steps(
        &mut c,
        &[
            (&["SMEMBERS", "a"], bulks(&["x", "y", "z"])),
            (&["SMEMBERS", "ni"], bulks(&["1", "01", "+1", " 1", "1.0", "-0", "0"])),
            (&["SMEMBERS", "i4"], bulks(&["1", "2", "x"])),
            (&["SMEMBERS", "d1"], bulks(&["b", "c", "d"])),
            (&["SMEMBERS", "d2"], bulks(&["1", "2", "3"])),
            (&["SMEMBERS", "u"], bulks(&["1", "2", "3", "x", "y"])),
            (&["SUNION", "n1", "n2"], bulks(&["1", "2", "3", "x", "y"])),
            (&["SDIFF", "n1", "n2"], bulks(&["x"])),
            (&["SUNION", "sa", "sb"], bulks(&["b", "c", "d", "e"])),
            (&["SINTER", "sa", "sb"], bulks(&["b", "c", "d"])),
            // A compact set is scanned whole, whatever COUNT and cursor say.
            (&["SSCAN", "sb", "0", "COUNT", "1"], Resp::Array(Some(vec![bulk("0"), bulks(&["b", "c", "d", "e"])]))),
            (&["SSCAN", "sb", "99"], Resp::Array(Some(vec![bulk("0"), bulks(&["b", "c", "d", "e"])]))),
        ],
    );
}

#[test]
fn spop_rebuilds_small_remainders_compactly() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let names = many("m", 130);
    assert_eq!(cmd_with(&mut c, &["SADD", "big"], &names), Resp::Int(130));
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    // 10 left of 130: Redis moves them to a new (listpack) set.
    let popped = members(c.cmd(&["SPOP", "big", "120"]));
    assert_eq!(popped.len(), 120);
    assert_eq!(popped.iter().collect::<HashSet<_>>().len(), 120, "distinct");
    assert_eq!(c.cmd(&["SCARD", "big"]), Resp::Int(10));
    assert_eq!(encoding(&mut c, "big"), "listpack");
    let rest = members(c.cmd(&["SMEMBERS", "big"]));
    assert!(rest.iter().all(|m| !popped.contains(m) && names.contains(m)));
    // 30 left of 130: popped one by one, the hashtable stays.
    cmd_with(&mut c, &["SADD", "big2"], &names);
    assert_eq!(members(c.cmd(&["SPOP", "big2", "100"])).len(), 100);
    assert_eq!(encoding(&mut c, "big2"), "hashtable");
    // An intset stays an intset.
    cmd_with(&mut c, &["SADD", "ints"], &(0..100).map(|i| i.to_string()).collect::<Vec<_>>());
    assert_eq!(members(c.cmd(&["SPOP", "ints", "99"])).len(), 99);
    assert_eq!(encoding(&mut c, "ints"), "intset");
    // A TTL survives SPOP.
    cmd_with(&mut c, &["SADD", "ttl"], &names);
    c.cmd(&["EXPIRE", "ttl", "1000"]);
    c.cmd(&["SPOP", "ttl", "125"]);
    assert_eq!(c.cmd(&["TTL", "ttl"]), Resp::Int(1000));
}

#[test]
fn random_counts_are_bounded_and_never_overflow() {
    // CVE-2023-22458 / CVE-2023-25155: SRANDMEMBER with extreme counts.
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["SADD", "s", "a", "b", "c"]);
    c.cmd(&["SADD", "i", "1", "2", "3"]);
    let range = "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
    for key in ["s", "i", "nokey"] {
        assert_eq!(c.cmd(&["SRANDMEMBER", key, "-9223372036854775808"]), err(range));
        assert_eq!(
            c.cmd(&["SRANDMEMBER", key, "9223372036854775808"]),
            err("ERR value is not an integer or out of range")
        );
    }
    for key in ["s", "i"] {
        let one = members(c.cmd(&["SRANDMEMBER", key, "-1"]));
        assert_eq!(one.len(), 1);
        // A huge positive count is the whole set.
        let all = members(c.cmd(&["SRANDMEMBER", key, "9223372036854775807"]));
        assert_eq!(all.iter().collect::<HashSet<_>>().len(), 3);
        // Repeats allowed: exactly as many as asked, all members.
        let rep = members(c.cmd(&["SRANDMEMBER", key, "-100000"]));
        assert_eq!(rep.len(), 100000);
        assert!(rep.iter().all(|m| all.contains(m)));
        assert!(rep.iter().collect::<HashSet<_>>().len() == 3, "every member shows up in 100000 draws");
    }
    // A count whose reply could not fit in memory is refused up front
    // (Redis would build the reply until it runs out of memory).
    let too_large = err("ERR count is too large, the reply would exceed 536870912 bytes");
    assert_eq!(c.cmd(&["SRANDMEMBER", "s", "-9223372036854775807"]), too_large);
    assert_eq!(c.cmd(&["SRANDMEMBER", "i", "-200000000"]), too_large);
    assert_eq!(c.cmd(&["SRANDMEMBER", "nokey", "-9223372036854775807"]), Resp::Array(Some(vec![])));
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
    // SPOP's count must be positive.
    for bad in ["-1", "-9223372036854775808", "x"] {
        assert_eq!(c.cmd(&["SPOP", "s", bad]), err("ERR value is out of range, must be positive"));
    }
    assert_eq!(members(c.cmd(&["SPOP", "s", "9223372036854775807"])).len(), 3);
    assert_eq!(c.cmd(&["EXISTS", "s"]), Resp::Int(0));
}

#[test]
fn random_members_follow_the_uniqueness_rules() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let names = many("m", 300);
    cmd_with(&mut c, &["SADD", "t"], &names);
    cmd_with(&mut c, &["SADD", "p"], &names[..50]);
    cmd_with(&mut c, &["SADD", "i"], &(0..300).map(|i| i.to_string()).collect::<Vec<_>>());
    for key in ["t", "p", "i"] {
        let size = match c.cmd(&["SCARD", key]) {
            Resp::Int(n) => n as usize,
            other => panic!("{other:?}"),
        };
        for count in [1, 2, size / 4, size / 3, size / 2, size - 1, size, size + 5] {
            let got = members(c.cmd(&["SRANDMEMBER", key, &count.to_string()]));
            assert_eq!(got.len(), count.min(size), "{key} {count}");
            assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len(), "distinct: {key} {count}");
        }
        let rep = members(c.cmd(&["SRANDMEMBER", key, &format!("-{}", size * 3)]));
        assert_eq!(rep.len(), size * 3);
        assert!(rep.iter().collect::<HashSet<_>>().len() < rep.len(), "repeats");
    }
}

#[test]
fn extreme_listpack_settings() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    // Zero: nothing is compact.
    steps(
        &mut c,
        &[
            (&["CONFIG", "SET", "set-max-listpack-entries", "0"], Resp::ok()),
            (&["CONFIG", "SET", "set-max-intset-entries", "0"], Resp::ok()),
            (&["SADD", "z", "a"], Resp::Int(1)),
            (&["SADD", "zi", "1"], Resp::Int(1)),
            (&["SINTERSTORE", "zd", "zi", "zi"], Resp::Int(1)),
            (&["SUNIONSTORE", "zu", "z", "zi"], Resp::Int(2)),
        ],
    );
    for key in ["z", "zi", "zd", "zu"] {
        assert_eq!(encoding(&mut c, key), "hashtable", "{key}");
    }
    // Value 0: only the empty string fits a listpack.
    steps(
        &mut c,
        &[
            (&["CONFIG", "SET", "set-max-listpack-entries", "128"], Resp::ok()),
            (&["CONFIG", "SET", "set-max-listpack-value", "0"], Resp::ok()),
            (&["SADD", "v0", ""], Resp::Int(1)),
            (&["SADD", "v1", "a"], Resp::Int(1)),
        ],
    );
    assert_eq!(encoding(&mut c, "v0"), "listpack");
    assert_eq!(encoding(&mut c, "v1"), "hashtable");
    // 2^31: everything stays compact; members of a megabyte are fine.
    for p in ["set-max-listpack-entries", "set-max-listpack-value", "set-max-intset-entries"] {
        assert_eq!(c.cmd(&["CONFIG", "SET", p, "2147483648"]), Resp::ok());
    }
    let names = many("member-", 3000);
    assert_eq!(cmd_with(&mut c, &["SADD", "huge"], &names), Resp::Int(3000));
    assert_eq!(encoding(&mut c, "huge"), "listpack");
    let mb = "x".repeat(1 << 20);
    assert_eq!(c.cmd(&["SADD", "huge", &mb]), Resp::Int(1));
    assert_eq!(encoding(&mut c, "huge"), "listpack");
    assert_eq!(c.cmd(&["SISMEMBER", "huge", &mb]), Resp::Int(1));
    assert_eq!(c.cmd(&["SISMEMBER", "huge", "member-2999"]), Resp::Int(1));
    cmd_with(&mut c, &["SADD", "hugei"], &(0..5000).map(|i| (i * 7919).to_string()).collect::<Vec<_>>());
    assert_eq!(encoding(&mut c, "hugei"), "intset");
    assert_eq!(c.cmd(&["SINTERCARD", "2", "huge", "hugei"]), Resp::Int(0));
    assert_eq!(c.cmd(&["SUNIONSTORE", "hu", "huge", "hugei"]), Resp::Int(8001));
    assert_eq!(encoding(&mut c, "hu"), "listpack");
    assert_eq!(members(c.cmd(&["SPOP", "hu", "8000"])).len(), 8000);
    assert_eq!(c.cmd(&["SCARD", "hu"]), Resp::Int(1));
    assert_eq!(c.cmd(&["SREM", "huge", &mb]), Resp::Int(1));
    assert_eq!(c.cmd(&["SCARD", "huge"]), Resp::Int(3000));
}

#[test]
fn duplicate_arguments_and_destination_among_sources() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    steps(
        &mut c,
        &[
            (&["SADD", "s", "a", "a", "b", "a"], Resp::Int(2)),
            (&["SREM", "s", "a", "a"], Resp::Int(1)),
            (&["SMISMEMBER", "s", "b", "b", "a"], Resp::Array(Some(vec![Resp::Int(1), Resp::Int(1), Resp::Int(0)]))),
            (&["SADD", "t", "1", "2", "3"], Resp::Int(3)),
            (&["SADD", "u", "2", "3", "4"], Resp::Int(3)),
            (&["SINTERSTORE", "t", "t", "u", "t"], Resp::Int(2)),
            (&["SMEMBERS", "t"], bulks(&["2", "3"])),
            (&["SUNIONSTORE", "u", "u", "u", "t"], Resp::Int(3)),
            (&["SMEMBERS", "u"], bulks(&["2", "3", "4"])),
            (&["SDIFFSTORE", "u", "u", "t"], Resp::Int(1)),
            (&["SMEMBERS", "u"], bulks(&["4"])),
            (&["SDIFFSTORE", "u", "u", "u"], Resp::Int(0)),
            (&["EXISTS", "u"], Resp::Int(0)),
            (&["SINTER", "t", "t", "t"], bulks(&["2", "3"])),
            (&["SINTERCARD", "3", "t", "t", "t"], Resp::Int(2)),
            (&["SDIFF", "t", "t"], bulks(&[])),
            (&["SMOVE", "t", "t", "2"], Resp::Int(1)),
            (&["SMOVE", "t", "t", "9"], Resp::Int(0)),
            (&["SMEMBERS", "t"], bulks(&["2", "3"])),
        ],
    );
}

#[test]
fn keyspace_hits_and_misses_count_reads_only() {
    // Counts Redis 7.0.15 and Valkey 9.1 report for the same commands.
    let srv = TestServer::start();
    let mut c = srv.raw();
    for args in [
        &["SADD", "s", "a"][..],
        &["SISMEMBER", "s", "a"],
        &["SISMEMBER", "nokey", "a"],
        &["SINTER", "s", "nokey"],
        &["SUNIONSTORE", "d", "s", "nokey"],
        &["SMEMBERS", "s"],
        &["SCARD", "nokey"],
        &["SRANDMEMBER", "s"],
        &["SPOP", "s"],
        &["HSET", "h", "f", "v"],
        &["HGET", "h", "f"],
        &["HGET", "nokey", "f"],
        &["HMGET", "h", "f", "g"],
        &["HGETALL", "nokey"],
        &["HEXISTS", "h", "f"],
        &["HSTRLEN", "h", "f"],
        &["HLEN", "nokey"],
        &["HINCRBY", "h", "n", "1"],
        &["SMOVE", "nokey", "d", "a"],
    ] {
        c.cmd(args);
    }
    let info = match c.cmd(&["INFO", "stats"]) {
        Resp::Bulk(Some(b)) => String::from_utf8(b).unwrap(),
        other => panic!("{other:?}"),
    };
    assert!(info.contains("keyspace_hits:9\r\n"), "{info}");
    assert!(info.contains("keyspace_misses:7\r\n"), "{info}");
}

#[test]
fn sscan_returns_every_member_of_a_big_set() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let names = many("k", 5000);
    for chunk in names.chunks(500) {
        cmd_with(&mut c, &["SADD", "big"], chunk);
    }
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let Resp::Array(Some(mut reply)) = c.cmd(&["SSCAN", "big", &cursor, "COUNT", "50"]) else { panic!() };
        let items = members(reply.pop().unwrap());
        assert!(items.len() < 500, "COUNT bounds each call");
        seen.extend(items);
        cursor = members(Resp::Array(Some(reply))).remove(0);
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 50);
    assert_eq!(seen.len(), 5000);
    // MATCH filters; the walk still ends.
    let mut matched = HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let Resp::Array(Some(mut reply)) = c.cmd(&["SSCAN", "big", &cursor, "MATCH", "k12*", "COUNT", "100"]) else {
            panic!()
        };
        matched.extend(members(reply.pop().unwrap()));
        cursor = members(Resp::Array(Some(reply))).remove(0);
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(matched.len(), 111, "k12, k120-k129, k1200-k1299");
    // Redis 7.2 parses cursors with string2ull (7.0 took "" and "-1").
    for bad in ["", "-1", "1 ", "x", "18446744073709551616"] {
        assert_eq!(c.cmd(&["SSCAN", "big", bad]), err("ERR invalid cursor"), "{bad:?}");
    }
    assert_eq!(c.cmd(&["SSCAN", "big", "0", "NOVALUES"]), err("ERR NOVALUES option can only be used in HSCAN"));
}

#[test]
fn resp3_reply_types() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["HELLO", "3"]);
    c.cmd(&["SADD", "s", "a", "b"]);
    let set = |v: &[&str]| Resp::Set(v.iter().map(|s| bulk(s)).collect());
    steps(
        &mut c,
        &[
            (&["SMEMBERS", "s"], set(&["a", "b"])),
            (&["SMEMBERS", "nokey"], set(&[])),
            (&["SINTER", "s", "nokey"], set(&[])),
            (&["SUNION", "s"], set(&["a", "b"])),
            (&["SDIFF", "s", "nokey"], set(&["a", "b"])),
            (&["SPOP", "nokey", "2"], set(&[])),
            (&["SPOP", "s", "0"], set(&[])),
            (&["SRANDMEMBER", "nokey", "2"], Resp::Array(Some(vec![]))),
            (&["SRANDMEMBER", "nokey"], Resp::Null),
            (&["SPOP", "nokey"], Resp::Null),
            (&["SISMEMBER", "s", "a"], Resp::Int(1)),
            (&["SPOP", "s", "5"], set(&["a", "b"])),
        ],
    );
}
