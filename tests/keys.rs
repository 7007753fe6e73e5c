//! The generic keyspace commands against a real server process: DEL,
//! EXISTS, TOUCH, TYPE, RENAME, MOVE, COPY, KEYS, SCAN, RANDOMKEY, OBJECT.
//! Expected values were taken from Redis 7.
//!
//! SCAN's order depends on the hash seed, so its results are compared as
//! sets over a full iteration here rather than in the differential script.

mod common;

use std::collections::HashSet;

use common::{err, RawConn, Resp, TestServer};

fn int(v: i64) -> Resp {
    Resp::Int(v)
}

/// The elements of an array of bulk strings, sorted.
fn sorted(r: Resp) -> Vec<String> {
    let Resp::Array(Some(items)) = r else { panic!("not an array: {r:?}") };
    let mut v: Vec<String> = items
        .into_iter()
        .map(|i| match i {
            Resp::Bulk(Some(b)) => String::from_utf8(b).expect("utf8"),
            other => panic!("not a bulk: {other:?}"),
        })
        .collect();
    v.sort();
    v
}

/// One SCAN call: (next cursor, keys).
fn scan_once(c: &mut RawConn, args: &[&str]) -> (String, Vec<String>) {
    let Resp::Array(Some(mut parts)) = c.cmd(args) else { panic!("SCAN reply") };
    assert_eq!(parts.len(), 2);
    let keys = sorted(parts.pop().expect("keys"));
    let Some(Resp::Bulk(Some(cursor))) = parts.pop() else { panic!("cursor") };
    (String::from_utf8(cursor).expect("cursor"), keys)
}

/// Every key a complete SCAN iteration returns (with `opts` after the cursor).
fn scan_all(c: &mut RawConn, opts: &[&str]) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(opts);
        let (next, keys) = scan_once(c, &args);
        seen.extend(keys);
        if next == "0" {
            return seen;
        }
        cursor = next;
    }
}

fn info_field(c: &mut RawConn, section: &str, field: &str) -> i64 {
    let Resp::Bulk(Some(text)) = c.cmd(&["INFO", section]) else { panic!("INFO") };
    let text = String::from_utf8(text).expect("utf8");
    let prefix = format!("{field}:");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {field} in INFO"))
        .trim()
        .parse()
        .expect("number")
}

#[test]
fn del_unlink_exists_touch_count_keys() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["MSET", "a", "1", "b", "2", "c", "3", "d", "4"]);
    assert_eq!(c.cmd(&["EXISTS", "a", "a", "nokey", "b"]), int(3));
    assert_eq!(c.cmd(&["TOUCH", "a", "a", "nokey"]), int(2));
    assert_eq!(c.cmd(&["DEL", "a", "a", "nokey"]), int(1));
    assert_eq!(c.cmd(&["UNLINK", "b", "c", "nokey"]), int(2));
    assert_eq!(c.cmd(&["EXISTS", "a", "b", "c", "d"]), int(1));
    assert_eq!(c.cmd(&["DEL", "nokey"]), int(0));
    assert_eq!(c.cmd(&["DBSIZE"]), int(1));
}

#[test]
fn type_names() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["SET", "s", "hello"]);
    assert_eq!(c.cmd(&["TYPE", "s"]), Resp::Simple("string".into()));
    assert_eq!(c.cmd(&["TYPE", "nokey"]), Resp::Simple("none".into()));
}

#[test]
fn rename_moves_value_and_ttl() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["RENAME", "nokey", "x"]), err("ERR no such key"));
    assert_eq!(c.cmd(&["RENAMENX", "nokey", "x"]), err("ERR no such key"));
    c.cmd(&["SET", "foo", "bar"]);
    assert_eq!(c.cmd(&["RENAME", "foo", "foo"]), Resp::ok());
    assert_eq!(c.cmd(&["RENAMENX", "foo", "foo"]), int(0));
    c.cmd(&["EXPIRE", "foo", "100"]);
    assert_eq!(c.cmd(&["RENAME", "foo", "baz"]), Resp::ok());
    assert_eq!(c.cmd(&["TTL", "baz"]), int(100));
    assert_eq!(c.cmd(&["EXISTS", "foo"]), int(0));
    // Overwriting a key takes the source's TTL, or none.
    c.cmd(&["SET", "other", "x"]);
    assert_eq!(c.cmd(&["RENAME", "other", "baz"]), Resp::ok());
    assert_eq!(c.cmd(&["TTL", "baz"]), int(-1));
    assert_eq!(c.cmd(&["GET", "baz"]), Resp::bulk("x"));
    c.cmd(&["SET", "n", "1"]);
    assert_eq!(c.cmd(&["RENAMENX", "n", "baz"]), int(0));
    assert_eq!(c.cmd(&["RENAMENX", "n", "m"]), int(1));
    assert_eq!(c.cmd(&["GET", "m"]), Resp::bulk("1"));
    assert_eq!(sorted(c.cmd(&["KEYS", "*"])), vec!["baz", "m"]);
}

#[test]
fn move_between_databases() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["SET", "x", "1"]);
    c.cmd(&["PEXPIRE", "x", "5000"]);
    assert_eq!(c.cmd(&["MOVE", "x", "0"]), err("ERR source and destination objects are the same"));
    assert_eq!(c.cmd(&["MOVE", "x", "16"]), err("ERR DB index is out of range"));
    assert_eq!(c.cmd(&["MOVE", "x", "-1"]), err("ERR DB index is out of range"));
    assert_eq!(c.cmd(&["MOVE", "x", "abc"]), err("ERR value is not an integer or out of range"));
    assert_eq!(
        c.cmd(&["MOVE", "x", "2147483648"]),
        err("ERR value is out of range, value must between -2147483648 and 2147483647")
    );
    assert_eq!(c.cmd(&["MOVE", "nokey", "4"]), int(0));
    assert_eq!(c.cmd(&["MOVE", "x", "4"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "x"]), int(0));
    c.cmd(&["SELECT", "4"]);
    assert_eq!(c.cmd(&["GET", "x"]), Resp::bulk("1"));
    let Resp::Int(pttl) = c.cmd(&["PTTL", "x"]) else { panic!("PTTL") };
    assert!(pttl > 4000 && pttl <= 5000, "TTL moved with the key: {pttl}");
    // An existing key in the target blocks the move.
    c.cmd(&["SELECT", "0"]);
    c.cmd(&["SET", "x", "2"]);
    assert_eq!(c.cmd(&["MOVE", "x", "4"]), int(0));
    assert_eq!(c.cmd(&["GET", "x"]), Resp::bulk("2"));
}

#[test]
fn copy_with_db_and_replace() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["SET", "y", "1"]);
    c.cmd(&["EXPIRE", "y", "1000"]);
    assert_eq!(c.cmd(&["COPY", "y", "y"]), err("ERR source and destination objects are the same"));
    assert_eq!(c.cmd(&["COPY", "y", "y", "DB", "0"]), err("ERR source and destination objects are the same"));
    assert_eq!(c.cmd(&["COPY", "y", "z", "DB"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["COPY", "y", "z", "foo"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["COPY", "y", "z", "DB", "16"]), err("ERR DB index is out of range"));
    assert_eq!(c.cmd(&["COPY", "y", "z", "DB", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(c.cmd(&["COPY", "nokey", "z"]), int(0));
    assert_eq!(c.cmd(&["COPY", "y", "y2"]), int(1));
    assert_eq!(c.cmd(&["TTL", "y2"]), int(1000));
    assert_eq!(c.cmd(&["COPY", "y", "y", "DB", "5"]), int(1));
    c.cmd(&["SET", "y", "new"]);
    assert_eq!(c.cmd(&["COPY", "y", "y2"]), int(0));
    assert_eq!(c.cmd(&["GET", "y2"]), Resp::bulk("1"));
    assert_eq!(c.cmd(&["COPY", "y", "y2", "REPLACE", "REPLACE"]), int(1));
    assert_eq!(c.cmd(&["GET", "y2"]), Resp::bulk("new"));
    assert_eq!(c.cmd(&["TTL", "y2"]), int(-1));
    // The last DB option wins.
    assert_eq!(c.cmd(&["COPY", "y", "w", "DB", "1", "DB", "2"]), int(1));
    c.cmd(&["SELECT", "5"]);
    assert_eq!(c.cmd(&["GET", "y"]), Resp::bulk("1"));
    assert_eq!(c.cmd(&["TTL", "y"]), int(1000));
    c.cmd(&["SELECT", "2"]);
    assert_eq!(c.cmd(&["GET", "w"]), Resp::bulk("new"));
    c.cmd(&["SELECT", "1"]);
    assert_eq!(c.cmd(&["EXISTS", "w"]), int(0));
}

#[test]
fn keys_glob_patterns() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let keys = ["hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h\\llo", "a:b:c", "x[y", "foo", "a]b", ""];
    for k in keys {
        c.cmd(&["SET", k, "v"]);
    }
    let all: Vec<&str> = {
        let mut v = keys.to_vec();
        v.sort();
        v
    };
    for (pattern, want) in [
        ("*", all.clone()),
        ("**", all[1..].to_vec()),
        ("", vec![""]),
        ("h?llo", vec!["h*llo", "h\\llo", "hallo", "hello", "hxllo"]),
        ("h*llo", vec!["h*llo", "h\\llo", "hallo", "heeeello", "hello", "hllo", "hxllo"]),
        ("h[ae]llo", vec!["hallo", "hello"]),
        ("h[^e]llo", vec!["h*llo", "h\\llo", "hallo", "hxllo"]),
        ("h[a-b]llo", vec!["hallo"]),
        ("h[-e]llo", vec!["hello"]),
        ("h[e-]llo", vec![]),
        ("h[\\\\]llo", vec!["h\\llo"]),
        ("h\\*llo", vec!["h*llo"]),
        ("x\\[y", vec!["x[y"]),
        ("x[[]y", vec!["x[y"]),
        ("x[y", vec![]),
        ("a]b", vec!["a]b"]),
        ("a:*", vec!["a:b:c"]),
        ("*o", vec!["foo", "h*llo", "h\\llo", "hallo", "heeeello", "hello", "hllo", "hxllo"]),
        ("HELLO", vec![]),
        ("[", vec![]),
        ("\\", vec![]),
    ] {
        assert_eq!(sorted(c.cmd(&["KEYS", pattern])), want, "KEYS {pattern:?}");
    }
}

#[test]
fn pathological_patterns_finish() {
    // A matcher that backtracks recursively takes exponential time (or
    // overflows its stack) on these; bounded work means the replies come.
    // Redis also stops matching past 1000 nested stars: same answers here.
    let srv = TestServer::start();
    let mut c = srv.raw();
    let a_b = format!("{}b", "a".repeat(5000));
    c.cmd(&["SET", &"a".repeat(20_000), "v"]);
    c.cmd(&["SET", &a_b, "v"]);
    for (pattern, want) in [
        (format!("{}b", "a*".repeat(1000)), vec![a_b.clone()]),
        (format!("{}b", "a*".repeat(2000)), vec![]),
        (format!("*{}c", "a".repeat(2000)), vec![]),
        (format!("{}b", "*[a-z]".repeat(1000)), vec![a_b.clone()]),
        (format!("{}b", "*?".repeat(1001)), vec![]),
    ] {
        assert_eq!(sorted(c.cmd(&["KEYS", &pattern])), want, "KEYS {}...", &pattern[..20]);
        let (cursor, keys) = scan_once(&mut c, &["SCAN", "0", "MATCH", &pattern, "COUNT", "100"]);
        assert_eq!((cursor.as_str(), keys), ("0", want));
    }
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn scan_returns_every_key_present_for_the_whole_scan() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let mut batch = Vec::new();
    for i in 0..1000 {
        batch.extend(common::encode_cmd(&[b"SET", format!("stable:{i}").as_bytes(), b"v"]));
    }
    c.send(&batch);
    for _ in 0..1000 {
        c.read();
    }
    // Grow and shrink the table between calls so the scan crosses resizes.
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut round = 0;
    loop {
        let (next, keys) = scan_once(&mut c, &["SCAN", &cursor, "COUNT", "7"]);
        seen.extend(keys.into_iter().filter(|k| k.starts_with("stable:")));
        round += 1;
        if round % 4 == 1 {
            let mut grow = Vec::new();
            for j in 0..300 {
                grow.extend(common::encode_cmd(&[b"SET", format!("tmp:{round}:{j}").as_bytes(), b"v"]));
            }
            c.send(&grow);
            for _ in 0..300 {
                c.read();
            }
        } else if round % 4 == 3 {
            let Resp::Array(Some(tmp)) = c.cmd(&["KEYS", "tmp:*"]) else { panic!("KEYS") };
            let mut del = vec![Resp::bulk("DEL")];
            del.extend(tmp);
            let args: Vec<Vec<u8>> = del
                .into_iter()
                .map(|r| match r {
                    Resp::Bulk(Some(b)) => b,
                    _ => unreachable!(),
                })
                .collect();
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
            c.send_cmd(&refs);
            c.read();
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    for i in 0..1000 {
        assert!(seen.contains(&format!("stable:{i}")), "stable:{i} never returned");
    }
}

#[test]
fn scan_options() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    for i in 0..200 {
        c.cmd(&["SET", &format!("key:{i}"), "v"]);
    }
    c.cmd(&["SET", "other", "v"]);
    let everything = scan_all(&mut c, &[]);
    assert_eq!(everything.len(), 201);
    let ones = scan_all(&mut c, &["MATCH", "key:1*", "COUNT", "13"]);
    let want: HashSet<String> = (0..200).map(|i| format!("key:{i}")).filter(|k| k.starts_with("key:1")).collect();
    assert_eq!(ones, want);
    assert_eq!(scan_all(&mut c, &["TYPE", "string", "MATCH", "oth*"]), HashSet::from(["other".to_string()]));
    assert_eq!(scan_all(&mut c, &["TYPE", "STRING"]).len(), 201);
    assert!(scan_all(&mut c, &["TYPE", "list"]).is_empty());
    assert!(scan_all(&mut c, &["TYPE", "nosuchtype"]).is_empty());
    // A huge COUNT is a single call over the whole table, never a
    // preallocation.
    let (cursor, keys) = scan_once(&mut c, &["SCAN", "0", "COUNT", "9223372036854775807"]);
    assert_eq!((cursor.as_str(), keys.len()), ("0", 201));
    for (args, reply) in [
        (&["SCAN", "0", "COUNT", "0"][..], "ERR syntax error"),
        (&["SCAN", "0", "COUNT", "-1"], "ERR syntax error"),
        (&["SCAN", "0", "COUNT", "9223372036854775808"], "ERR value is not an integer or out of range"),
        (&["SCAN", "0", "COUNT", "x"], "ERR value is not an integer or out of range"),
        (&["SCAN", "0", "COUNT"], "ERR syntax error"),
        (&["SCAN", "0", "MATCH"], "ERR syntax error"),
        (&["SCAN", "0", "TYPE"], "ERR syntax error"),
        (&["SCAN", "0", "FOO", "bar"], "ERR syntax error"),
        (&["SCAN", "x"], "ERR invalid cursor"),
        (&["SCAN", " 1"], "ERR invalid cursor"),
        (&["SCAN", "1 "], "ERR invalid cursor"),
        (&["SCAN", "0x10"], "ERR invalid cursor"),
        (&["SCAN", "18446744073709551616"], "ERR invalid cursor"),
        (&["SCAN", "-"], "ERR invalid cursor"),
    ] {
        assert_eq!(c.cmd(args), err(reply), "{args:?}");
    }
    // strtoul's forms: empty, signs, leading zeros, the full u64 range.
    for cursor in ["", "+0", "-0", "00", "18446744073709551615", "-1"] {
        let r = c.cmd(&["SCAN", cursor]);
        assert!(matches!(r, Resp::Array(Some(ref v)) if v.len() == 2), "SCAN {cursor:?}: {r:?}");
    }
}

#[test]
fn randomkey_returns_live_keys() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["RANDOMKEY"]), Resp::Bulk(None));
    c.cmd(&["SET", "only", "v"]);
    assert_eq!(c.cmd(&["RANDOMKEY"]), Resp::bulk("only"));
    c.cmd(&["MSET", "a", "1", "b", "2"]);
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let Resp::Bulk(Some(k)) = c.cmd(&["RANDOMKEY"]) else { panic!("RANDOMKEY") };
        seen.insert(String::from_utf8(k).expect("utf8"));
    }
    let all: HashSet<String> = ["a", "b", "only"].iter().map(|s| s.to_string()).collect();
    assert_eq!(seen, all);
}

#[test]
fn object_encoding_refcount_and_help() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["SET", "int", "100"]);
    c.cmd(&["SET", "bigint", "10000"]);
    c.cmd(&["SET", "neg", "-1"]);
    c.cmd(&["SET", "short", "hello"]);
    c.cmd(&["SET", "long", &"x".repeat(45)]);
    for (key, enc, refcount) in [
        ("int", "int", 2147483647),
        ("bigint", "int", 1),
        ("neg", "int", 1),
        ("short", "embstr", 1),
        ("long", "raw", 1),
    ] {
        assert_eq!(c.cmd(&["OBJECT", "ENCODING", key]), Resp::bulk(enc), "{key}");
        assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", key]), int(refcount), "{key}");
    }
    for sub in ["ENCODING", "REFCOUNT", "IDLETIME", "FREQ"] {
        assert_eq!(c.cmd(&["OBJECT", sub, "nokey"]), Resp::Bulk(None));
    }
    assert_eq!(
        c.cmd(&["OBJECT", "FREQ", "int"]),
        err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
    );
    assert_eq!(c.cmd(&["OBJECT", "foo"]), err("ERR unknown subcommand 'foo'. Try OBJECT HELP."));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING"]), err("ERR wrong number of arguments for 'object|encoding' command"));
    assert_eq!(c.cmd(&["OBJECT", "HELP", "x"]), err("ERR wrong number of arguments for 'object|help' command"));
    assert_eq!(c.cmd(&["OBJECT"]), err("ERR wrong number of arguments for 'object' command"));
    let Resp::Array(Some(help)) = c.cmd(&["OBJECT", "HELP"]) else { panic!("HELP") };
    assert_eq!(help.len(), 15);
    assert_eq!(help[0], Resp::Simple("OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:".into()));
    assert_eq!(help[14], Resp::Simple("    Prints this help.".into()));
}

#[test]
fn access_time_follows_reads_but_not_inspection() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["MSET", "foo", "bar", "other", "x"]);
    std::thread::sleep(std::time::Duration::from_millis(2200));
    // TTL, TYPE, EXISTS and OBJECT look without touching.
    c.cmd(&["TTL", "foo"]);
    c.cmd(&["TYPE", "foo"]);
    c.cmd(&["EXISTS", "foo"]);
    let Resp::Int(idle) = c.cmd(&["OBJECT", "IDLETIME", "foo"]) else { panic!("IDLETIME") };
    assert!(idle >= 2, "idle {idle}");
    c.cmd(&["GET", "foo"]);
    let Resp::Int(idle) = c.cmd(&["OBJECT", "IDLETIME", "foo"]) else { panic!("IDLETIME") };
    assert!(idle < 2, "idle after GET {idle}");
    // CLIENT NO-TOUCH: reads leave the time alone, TOUCH still updates it.
    assert_eq!(c.cmd(&["CLIENT", "NO-TOUCH", "ON"]), Resp::ok());
    c.cmd(&["GET", "other"]);
    let Resp::Int(idle) = c.cmd(&["OBJECT", "IDLETIME", "other"]) else { panic!("IDLETIME") };
    assert!(idle >= 2, "idle after a no-touch GET {idle}");
    assert_eq!(c.cmd(&["TOUCH", "other"]), int(1));
    let Resp::Int(idle) = c.cmd(&["OBJECT", "IDLETIME", "other"]) else { panic!("IDLETIME") };
    assert!(idle < 2, "idle after TOUCH {idle}");
}

#[test]
fn lfu_frequency_under_an_lfu_policy() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]), Resp::ok());
    c.cmd(&["SET", "foo", "a"]);
    // New keys start at LFU_INIT_VAL, so they are not evicted at once.
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "foo"]), int(5));
    assert_eq!(
        c.cmd(&["OBJECT", "IDLETIME", "foo"]),
        err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
    );
    for _ in 0..100 {
        c.cmd(&["GET", "foo"]);
    }
    let Resp::Int(freq) = c.cmd(&["OBJECT", "FREQ", "foo"]) else { panic!("FREQ") };
    assert!(freq > 5 && freq < 255, "logarithmic counter after 100 hits: {freq}");
    // Overwriting keeps the counter; a new key starts over.
    c.cmd(&["SET", "foo", "b"]);
    let Resp::Int(after) = c.cmd(&["OBJECT", "FREQ", "foo"]) else { panic!("FREQ") };
    assert!(after >= freq, "{after} < {freq}");
    c.cmd(&["COPY", "foo", "bar"]);
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "bar"]), int(5));
}

#[test]
fn keyspace_hits_and_misses() {
    // The same sequence gives keyspace_hits:10 and keyspace_misses:6 on
    // Redis: reads and inspections count, writes and KEYS/RANDOMKEY don't.
    let srv = TestServer::start();
    let mut c = srv.raw();
    for cmd in [
        &["SET", "a", "1"][..],
        &["SET", "b", "2"],
        &["EXISTS", "a", "b", "c"],
        &["TYPE", "a"],
        &["TYPE", "z"],
        &["TTL", "a"],
        &["PTTL", "z"],
        &["TOUCH", "a", "z"],
        &["OBJECT", "ENCODING", "a"],
        &["OBJECT", "FREQ", "z"],
        &["COPY", "a", "c"],
        &["COPY", "z", "y"],
        &["SCAN", "0", "TYPE", "string"],
        &["RENAME", "a", "d"],
        &["EXPIRE", "b", "100"],
        &["PERSIST", "b"],
        &["MOVE", "b", "1"],
        &["DEL", "d"],
        &["KEYS", "*"],
        &["RANDOMKEY"],
    ] {
        c.cmd(cmd);
    }
    assert_eq!(info_field(&mut c, "stats", "keyspace_hits"), 10);
    assert_eq!(info_field(&mut c, "stats", "keyspace_misses"), 6);
}
