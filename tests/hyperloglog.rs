//! HyperLogLog against a real redis-server: the same PFADD sequence gives
//! the same bytes on both, values copied with GET/SET count the same on
//! the other server, corrupted strings get Redis's errors, and the
//! estimator's error is what the representation promises.

mod common;
mod reference;

use std::time::Duration;

use common::{RawConn, Resp, TestServer};
use reference::{call, pipeline, Pair};

impl Pair {
    fn get_both(&mut self, key: &str) -> Vec<u8> {
        match self.both(&[b"GET", key.as_bytes()]) {
            Resp::Bulk(Some(v)) => v,
            other => panic!("GET {key}: {other:?}"),
        }
    }
}

fn pfadd_batches(key: &str, elements: impl Iterator<Item = String>, per_cmd: usize) -> Vec<Vec<Vec<u8>>> {
    let all: Vec<String> = elements.collect();
    all.chunks(per_cmd)
        .map(|c| {
            let mut cmd = vec![b"PFADD".to_vec(), key.as_bytes().to_vec()];
            cmd.extend(c.iter().map(|e| e.as_bytes().to_vec()));
            cmd
        })
        .collect()
}

fn int(r: Resp) -> i64 {
    match r {
        Resp::Int(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

#[test]
fn same_pfadd_sequence_gives_redis_bytes() {
    let Some(mut p) = Pair::start("HLL bytes comparison") else { return };
    for n in [3usize, 200, 1500, 2500, 20_000] {
        let key = format!("h{n}");
        p.both_pipelined(&pfadd_batches(&key, (0..n).map(|i| format!("v{n}:{i}")), 100));
        p.get_both(&key);
        p.both(&[b"PFDEBUG", b"ENCODING", key.as_bytes()]);
        p.both(&[b"PFCOUNT", key.as_bytes()]);
        // The cached cardinality is stored as Redis stores it.
        p.get_both(&key);
    }
    // One element at a time: every sparse split and merge path, and the
    // switch to dense at hll-sparse-max-bytes.
    let singles: Vec<Vec<Vec<u8>>> =
        (0..2500).map(|i| vec![b"PFADD".to_vec(), b"one".to_vec(), format!("s{}", i * 7919).into_bytes()]).collect();
    for chunk in singles.chunks(250) {
        p.both_pipelined(chunk);
        p.get_both("one");
    }
    assert_eq!(p.both(&[b"PFDEBUG", b"ENCODING", b"one"]), Resp::Simple("dense".into()));
    p.both(&[b"PFMERGE", b"m", b"h200", b"h1500", b"one"]);
    p.get_both("m");
    p.both(&[b"PFCOUNT", b"h3", b"h200", b"h20000", b"missing"]);
    // A lower limit turns HLLs dense sooner, on both.
    p.both(&[b"CONFIG", b"SET", b"hll-sparse-max-bytes", b"300"]);
    p.both_pipelined(&pfadd_batches("low", (0..150).map(|i| format!("l{i}")), 10));
    assert_eq!(p.both(&[b"PFDEBUG", b"ENCODING", b"low"]), Resp::Simple("dense".into()));
    p.get_both("low");
}

#[test]
fn hll_values_move_between_redis_and_oxkey() {
    let Some(mut p) = Pair::start("HLL copy between servers") else { return };
    for (n, encoding) in [(150usize, "sparse"), (8000, "dense")] {
        let from_redis = pfadd_batches("src", (0..n).map(|i| format!("r{i}")), 200);
        pipeline(&mut p.redis, &from_redis);
        let from_ox = pfadd_batches("src", (0..n).map(|i| format!("o{i}")), 200);
        pipeline(&mut p.ox, &from_ox);
        for (from_is_redis, label) in [(true, "redis -> oxkey"), (false, "oxkey -> redis")] {
            let (src, dst) = if from_is_redis { (&mut p.redis, &mut p.ox) } else { (&mut p.ox, &mut p.redis) };
            let Resp::Bulk(Some(bytes)) = call(src, &[b"GET", b"src"]) else { panic!("GET src") };
            assert_eq!(call(src, &[b"PFDEBUG", b"ENCODING", b"src"]), Resp::Simple(encoding.into()));
            let count = call(src, &[b"PFCOUNT", b"src"]);
            assert_eq!(call(dst, &[b"SET", b"copy", &bytes]), Resp::ok());
            assert_eq!(call(dst, &[b"PFCOUNT", b"copy"]), count, "{label}, {encoding}");
            assert_eq!(call(dst, &[b"PFDEBUG", b"ENCODING", b"copy"]), Resp::Simple(encoding.into()));
            // And it stays an HLL of the same registers.
            assert_eq!(call(dst, &[b"PFDEBUG", b"GETREG", b"copy"]), call(src, &[b"PFDEBUG", b"GETREG", b"src"]));
            call(dst, &[b"DEL", b"copy"]);
        }
        // Copies changed further on either server stay identical.
        let Resp::Bulk(Some(redis_made)) = call(&mut p.redis, &[b"GET", b"src"]) else { panic!() };
        p.both(&[b"SET", b"c", &redis_made]);
        p.both_pipelined(&pfadd_batches("c", (0..300).map(|i| format!("more{i}")), 30));
        p.get_both("c");
        p.both(&[b"PFCOUNT", b"c"]);
        p.both(&[b"PFMERGE", b"c", b"c"]);
        p.get_both("c");
        p.both(&[b"DEL", b"src", b"c"]);
    }
}

#[test]
fn million_distinct_elements_within_standard_error() {
    let Some(mut p) = Pair::start("HLL estimator error") else { return };
    // 1M distinct elements over 20 HLLs of 50k: each one is a sample of
    // the estimator's error, their union (PFCOUNT of all) counts the 1M.
    const KEYS: usize = 20;
    let cmds: Vec<Vec<Vec<u8>>> = (0..1000)
        .map(|batch| {
            let mut cmd = vec![b"PFADD".to_vec(), format!("u{}", batch % KEYS).into_bytes()];
            cmd.extend((batch * 1000..(batch + 1) * 1000).map(|i| format!("user:{i}").into_bytes()));
            cmd
        })
        .collect();
    p.both_pipelined(&cmds);
    let keys: Vec<Vec<u8>> = (0..KEYS).map(|k| format!("u{k}").into_bytes()).collect();
    let mut sq = 0.0;
    for k in &keys {
        let n = int(p.both(&[b"PFCOUNT", k]));
        sq += ((n as f64 - 50_000.0) / 50_000.0).powi(2);
    }
    let rms = (sq / KEYS as f64).sqrt();
    let mut args: Vec<&[u8]> = vec![b"PFCOUNT"];
    args.extend(keys.iter().map(|k| &k[..]));
    let union = int(p.both(&args));
    let err = (union as f64 - 1e6).abs() / 1e6;
    eprintln!(
        "PFCOUNT of 1M distinct: {union} (error {:.3}%); RMS error of 20 HLLs of 50k: {:.3}%",
        err * 100.0,
        rms * 100.0
    );
    // The standard error of 16384 registers is 1.04/sqrt(16384) = 0.81%.
    assert!(err < 0.0081, "1M estimate {union} is off by {:.3}%", err * 100.0);
    // 20 samples estimate it within about ±16%.
    assert!(rms < 0.0081 * 1.25, "RMS error {:.3}%", rms * 100.0);
    // PFMERGE then PFCOUNT agrees with the multi-key PFCOUNT.
    let mut merge: Vec<&[u8]> = vec![b"PFMERGE", b"all"];
    merge.extend(keys.iter().map(|k| &k[..]));
    p.both(&merge);
    assert_eq!(int(p.both(&[b"PFCOUNT", b"all"])), union);
    p.get_both("all");
}

/// Sparse HLL strings with a valid header: the header, then `body`.
fn sparse(body: &[u8]) -> Vec<u8> {
    let mut v = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
    v.extend_from_slice(body);
    v
}

#[test]
fn corrupted_and_foreign_strings_answer_as_redis() {
    let Some(mut p) = Pair::start("corrupted HLL comparison") else { return };
    let mut dense = b"HYLL\0\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
    dense.extend((0..12288u32).map(|i| (i * 37 % 251) as u8));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("16383 registers", sparse(b"\x7f\xfe")),
        ("16385 registers", sparse(b"\x7f\xff\x80")),
        ("VAL past the end", sparse(b"\x7f\xfe\x83")),
        ("no opcodes", sparse(b"")),
        ("ZERO runs", sparse(&[0x3f; 256])),
        ("ZERO runs, one short", sparse(&[0x3f; 255])),
        ("three full XZEROs", sparse(b"\x7f\xff\x7f\xff\x7f\xff")),
        ("unmerged VALs", sparse(b"\x80\x84\x88\x8c\x7f\xfb")),
        ("VAL then XZERO short", sparse(b"\x80\x7f\xfd")),
        ("valid cache", b"HYLL\x01\0\0\0\x01\x02\x03\x04\x05\x06\x07\0\x7f\xff".to_vec()),
        ("encoding 2", b"HYLL\x02\0\0\0\0\0\0\0\0\0\0\0\x7f\xff".to_vec()),
        ("short dense", b"HYLL\0\0\0\0\0\0\0\0\0\0\0\0\x7f\xff".to_vec()),
        ("dense with register values up to 63", dense),
        ("bad magic", b"HYLX\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff".to_vec()),
        ("short header", b"HYLL\x01\0\0\0".to_vec()),
        ("integer", b"123456789".to_vec()),
    ];
    p.both_pipelined(&pfadd_batches("good", (0..400).map(|i| format!("g{i}")), 100));
    let many: Vec<Vec<u8>> = (0..60).map(|i| format!("z{i}").into_bytes()).collect();
    for (name, value) in &cases {
        let mut add_many: Vec<&[u8]> = vec![b"PFADD", b"k"];
        add_many.extend(many.iter().map(|e| &e[..]));
        let sequences: Vec<Vec<Vec<&[u8]>>> = vec![
            vec![vec![b"PFCOUNT", b"k"], vec![b"GET", b"k"]],
            vec![vec![b"PFADD", b"k", b"a", b"b", b"c"], vec![b"GET", b"k"], vec![b"PFCOUNT", b"k"]],
            vec![add_many, vec![b"GET", b"k"]],
            vec![vec![b"PFCOUNT", b"k", b"good"]],
            vec![vec![b"PFMERGE", b"d", b"k"], vec![b"GET", b"d"], vec![b"DEL", b"d"]],
            vec![vec![b"PFMERGE", b"k", b"good"], vec![b"GET", b"k"]],
            vec![vec![b"PFDEBUG", b"DECODE", b"k"]],
            vec![vec![b"PFDEBUG", b"GETREG", b"k"]],
            vec![vec![b"PFDEBUG", b"TODENSE", b"k"], vec![b"GET", b"k"]],
            vec![vec![b"PFDEBUG", b"ENCODING", b"k"]],
        ];
        for seq in sequences {
            p.both(&[b"SET", b"k", value]);
            for cmd in seq {
                let (o, r) = (call(&mut p.ox, &cmd), call(&mut p.redis, &cmd));
                assert_eq!(o, r, "{name}: {:?}", cmd.iter().map(|a| String::from_utf8_lossy(a)).collect::<Vec<_>>());
            }
        }
    }
    // The texts themselves, as Redis gives them.
    p.both(&[b"SET", b"k", &sparse(b"\x7f\xfe")]);
    assert_eq!(p.both(&[b"PFCOUNT", b"k"]), Resp::Error("INVALIDOBJ Corrupted HLL object detected".into()));
    p.both(&[b"SET", b"k", b"not an hll at all"]);
    assert_eq!(
        p.both(&[b"PFADD", b"k", b"a"]),
        Resp::Error("WRONGTYPE Key is not a valid HyperLogLog string value.".into())
    );
}

/// Crafted sparse strings that made Redis write out of bounds: runs adding
/// up past 16384 registers (CVE-2019-10192/10193), and enough XZEROs to
/// overflow a 32-bit register index before a VAL (CVE-2025-32023). Only
/// sent to oxkey: the reference may not have those fixes. The answers are
/// those of fixed Redis versions (7.2.10): INVALIDOBJ.
#[test]
fn crafted_runs_never_reach_past_the_registers() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let corrupt = Resp::Error("INVALIDOBJ Corrupted HLL object detected".into());
    let mut overflow = Vec::new();
    for _ in 0..131_073 {
        overflow.extend_from_slice(b"\x7f\xff");
    }
    overflow.extend_from_slice(&[0x80 | (31 << 2) | 3; 8]);
    let mut vals_past_end = b"\x7f\xfe".to_vec();
    vals_past_end.extend_from_slice(&[0xff; 4000]);
    for body in [overflow, vals_past_end] {
        let value = sparse(&body);
        for cmd in [
            &[&b"PFCOUNT"[..], b"k"][..],
            &[b"PFCOUNT", b"k", b"other"],
            &[b"PFMERGE", b"dest", b"k"],
            &[b"PFDEBUG", b"GETREG", b"k"],
            &[b"PFDEBUG", b"TODENSE", b"k"],
        ] {
            assert_eq!(call(&mut c, &[b"SET", b"k", &value]), Resp::ok());
            assert_eq!(call(&mut c, cmd), corrupt, "{:?}", String::from_utf8_lossy(cmd[0]));
        }
        // Past the sparse limit the string is converted, which fails.
        assert_eq!(call(&mut c, &[b"SET", b"k", &value]), Resp::ok());
        let elements: Vec<Vec<u8>> = (0..200).map(|i| format!("e{i}").into_bytes()).collect();
        let mut add: Vec<&[u8]> = vec![b"PFADD", b"k"];
        add.extend(elements.iter().map(|e| &e[..]));
        assert_eq!(call(&mut c, &add), corrupt);
        assert!(matches!(call(&mut c, &[b"PFDEBUG", b"DECODE", b"k"]), Resp::Bulk(Some(_))));
    }
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn pfselftest_passes() {
    // Redis 7.0 answers +OK. The test adds 10 million elements: give a
    // debug build time.
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.reader.get_ref().set_read_timeout(Some(Duration::from_secs(120))).expect("timeout");
    assert_eq!(c.cmd(&["PFSELFTEST"]), Resp::ok());
    assert_eq!(
        c.cmd(&["PFSELFTEST", "x"]),
        Resp::Error("ERR wrong number of arguments for 'pfselftest' command".into())
    );
}

/// An INFO field as a number.
fn info_field(c: &mut RawConn, section: &str, field: &str) -> i64 {
    let Resp::Bulk(Some(info)) = c.cmd(&["INFO", section]) else { panic!("INFO") };
    let info = String::from_utf8_lossy(&info).into_owned();
    info.lines()
        .find_map(|l| l.strip_prefix(field).and_then(|v| v.strip_prefix(':')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("INFO {section} has no {field}"))
}

/// Changes (as `ctx.dirty`) and keyspace hits and misses of one server.
fn counters(c: &mut RawConn) -> [i64; 3] {
    [
        info_field(c, "persistence", "rdb_changes_since_last_save"),
        info_field(c, "stats", "keyspace_hits"),
        info_field(c, "stats", "keyspace_misses"),
    ]
}

#[test]
fn changes_and_keyspace_hits_are_counted_as_redis() {
    let Some(mut p) = Pair::start("HLL dirty and hit counts") else { return };
    let steps: &[&[&str]] = &[
        &["PFADD", "h", "a", "b", "c"],
        &["PFADD", "h", "a", "b", "c"],
        &["PFADD", "h", "d", "e"],
        &["PFADD", "new"],
        &["PFCOUNT", "h"],
        &["PFCOUNT", "h"],
        &["PFCOUNT", "missing"],
        &["PFCOUNT", "h", "new", "missing", "h"],
        &["PFMERGE", "m", "h", "new", "missing"],
        &["PFMERGE", "h", "m"],
        &["PFDEBUG", "GETREG", "m"],
        &["PFDEBUG", "TODENSE", "h"],
        &["PFDEBUG", "TODENSE", "h"],
        &["PFDEBUG", "ENCODING", "missing"],
        &["PFADD", "h", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8"],
        &["LPUSH", "list", "a"],
        &["PFCOUNT", "h", "list"],
        &["PFMERGE", "m", "list"],
    ];
    for step in steps {
        let (o0, r0) = (counters(&mut p.ox), counters(&mut p.redis));
        let args: Vec<&[u8]> = step.iter().map(|a| a.as_bytes()).collect();
        p.both(&args);
        let (o1, r1) = (counters(&mut p.ox), counters(&mut p.redis));
        let delta = |a: [i64; 3], b: [i64; 3]| [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        assert_eq!(delta(o0, o1), delta(r0, r1), "{step:?}: [changes, hits, misses]");
    }
}
