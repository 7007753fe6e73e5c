//! Bitmap commands against a real redis-server on many generated inputs
//! (BITCOUNT/BITPOS ranges over long bitmaps, random BITFIELD programs,
//! BITOP over strings of many lengths), and offsets at their limits.

mod common;
mod reference;

use common::{RawConn, Resp, TestServer};
use reference::Pair;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Bytes with long runs of 0x00 and 0xff between random stretches, so the
/// word-at-a-time paths skip whole words and stop inside them.
fn bitmap(rng: &mut Rng, len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        let run = (1 + rng.below(200)) as usize;
        let kind = rng.below(3);
        for _ in 0..run.min(len - v.len()) {
            v.push(match kind {
                0 => 0,
                1 => 0xff,
                _ => rng.next() as u8,
            });
        }
    }
    v
}

fn cmd(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

#[test]
fn bitcount_and_bitpos_match_redis_on_long_bitmaps() {
    let Some(mut p) = Pair::start("BITCOUNT/BITPOS comparison") else { return };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let maps: Vec<(&[u8], Vec<u8>)> = vec![
        (b"mixed", bitmap(&mut rng, 70_000)),
        (b"zeros", {
            let mut z = vec![0u8; 5000];
            z[4999] = 1;
            z
        }),
        (b"ones", {
            let mut o = vec![0xffu8; 5000];
            o[4321] = 0xfb;
            o
        }),
        (b"short", b"\x00\xf0\x0f".to_vec()),
    ];
    for (key, value) in &maps {
        p.both(&[b"SET", key, value]);
    }
    let mut cmds = Vec::new();
    for (key, value) in &maps {
        let len = value.len() as i64;
        for _ in 0..400 {
            let isbit = rng.below(2) == 1;
            let span = if isbit { len * 8 } else { len };
            let mut pos = || (rng.below((2 * span + 20) as u64) as i64) - span - 10;
            let (start, end) = (pos(), pos());
            let (s, e) = (start.to_string().into_bytes(), end.to_string().into_bytes());
            let unit: &[u8] = if isbit { b"BIT" } else { b"BYTE" };
            cmds.push(cmd(&[b"BITCOUNT", key, &s, &e, unit]));
            for bit in [&b"0"[..], b"1"] {
                cmds.push(cmd(&[b"BITPOS", key, bit, &s, &e, unit]));
                cmds.push(cmd(&[b"BITPOS", key, bit, &s]));
                if !isbit {
                    cmds.push(cmd(&[b"BITCOUNT", key, &s, &e]));
                    cmds.push(cmd(&[b"BITPOS", key, bit, &s, &e]));
                }
            }
        }
        cmds.push(cmd(&[b"BITCOUNT", key]));
        cmds.push(cmd(&[b"BITPOS", key, b"0"]));
        cmds.push(cmd(&[b"BITPOS", key, b"1"]));
    }
    p.both_pipelined(&cmds);
}

#[test]
fn bitfield_programs_match_redis() {
    let Some(mut p) = Pair::start("BITFIELD comparison") else { return };
    let mut rng = Rng(0xdead_beef_1234_5678);
    let types: Vec<String> = (1..=64).map(|b| format!("i{b}")).chain((1..=63).map(|b| format!("u{b}"))).collect();
    let values = [
        "0",
        "1",
        "-1",
        "7",
        "-128",
        "255",
        "32767",
        "-32768",
        "9223372036854775807",
        "-9223372036854775808",
        "4611686018427387904",
        "1000",
        "-1000",
    ];
    let mut cmds = Vec::new();
    for round in 0..600 {
        let key = format!("bf{}", round % 7).into_bytes();
        let mut c = vec![b"BITFIELD".to_vec(), key.clone()];
        for _ in 0..1 + rng.below(6) {
            let ty = rng.pick(&types).clone().into_bytes();
            let offset = if rng.below(4) == 0 { format!("#{}", rng.below(40)) } else { rng.below(700).to_string() };
            match rng.below(4) {
                0 => c.extend([b"GET".to_vec(), ty, offset.into_bytes()]),
                1 => c.extend([b"SET".to_vec(), ty, offset.into_bytes(), rng.pick(&values).as_bytes().to_vec()]),
                2 => c.extend([b"INCRBY".to_vec(), ty, offset.into_bytes(), rng.pick(&values).as_bytes().to_vec()]),
                _ => c.extend([b"OVERFLOW".to_vec(), rng.pick(&["WRAP", "SAT", "FAIL"]).as_bytes().to_vec()]),
            }
        }
        cmds.push(c.clone());
        if round % 10 == 0 {
            c[0] = b"BITFIELD_RO".to_vec();
            cmds.push(c);
            cmds.push(vec![b"GET".to_vec(), key]);
        }
    }
    for k in 0..7 {
        cmds.push(vec![b"GET".to_vec(), format!("bf{k}").into_bytes()]);
        cmds.push(vec![b"OBJECT".to_vec(), b"ENCODING".to_vec(), format!("bf{k}").into_bytes()]);
    }
    p.both_pipelined(&cmds);
}

#[test]
fn bitop_matches_redis_on_many_lengths() {
    let Some(mut p) = Pair::start("BITOP comparison") else { return };
    let mut rng = Rng(42);
    let lens = [0usize, 1, 7, 8, 9, 31, 32, 33, 64, 100, 257, 1000, 4099];
    let mut cmds = Vec::new();
    for (i, &len) in lens.iter().enumerate() {
        let v: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        cmds.push(vec![b"SET".to_vec(), format!("s{i}").into_bytes(), v]);
    }
    cmds.push(cmd(&[b"SET", b"int", b"123456"]));
    let names: Vec<Vec<u8>> =
        (0..lens.len()).map(|i| format!("s{i}").into_bytes()).chain([b"int".to_vec(), b"missing".to_vec()]).collect();
    for _ in 0..300 {
        let op = *rng.pick(&[&b"AND"[..], b"OR", b"XOR", b"NOT"]);
        let n = if op == b"NOT" { 1 } else { 1 + rng.below(5) as usize };
        let mut c = vec![b"BITOP".to_vec(), op.to_vec(), b"dest".to_vec()];
        c.extend((0..n).map(|_| rng.pick(&names).clone()));
        cmds.push(c);
        cmds.push(cmd(&[b"GET", b"dest"]));
        cmds.push(cmd(&[b"BITCOUNT", b"dest"]));
    }
    p.both_pipelined(&cmds);
}

#[test]
fn offsets_at_their_limits() {
    // Values from Redis 7.0: the default proto-max-bulk-len (512 MB) allows
    // bits 0..=4294967295.
    let srv = TestServer::start();
    let mut c = srv.raw();
    let bad_offset = Resp::Error("ERR bit offset is not an integer or out of range".into());
    assert_eq!(c.cmd(&["SETBIT", "big", "4294967296", "1"]), bad_offset);
    assert_eq!(c.cmd(&["GETBIT", "big", "4294967296"]), bad_offset);
    assert_eq!(c.cmd(&["BITFIELD", "big", "SET", "u8", "4294967296", "1"]), bad_offset);
    assert_eq!(c.cmd(&["BITFIELD", "big", "GET", "u8", "#536870912"]), bad_offset);
    // The last valid bit, read without allocating (writing it would make a
    // 512 MB string: the same bound is exercised with a 1 MB limit below).
    assert_eq!(c.cmd(&["GETBIT", "big", "4294967295"]), Resp::Int(0));
    assert_eq!(c.cmd(&["BITFIELD", "big", "GET", "u8", "#536870911"]), Resp::Array(Some(vec![Resp::Int(0)])));
    assert_eq!(c.cmd(&["EXISTS", "big"]), Resp::Int(0));
    // `#N` is N times the width, wrapping as Redis's 64-bit product does.
    assert_eq!(c.cmd(&["BITFIELD", "k", "GET", "u8", "#2305843009213693953"]), Resp::Array(Some(vec![Resp::Int(0)])));
    assert_eq!(c.cmd(&["BITFIELD", "k", "GET", "i64", "#144115188075855873"]), bad_offset);

    // A lower limit: only the start offset is checked, a field may end
    // past it (Redis 7.0: STRLEN 1048578).
    assert_eq!(c.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]), Resp::ok());
    assert_eq!(c.cmd(&["SETBIT", "k", "8388608", "1"]), bad_offset);
    assert_eq!(c.cmd(&["SETBIT", "k", "8388607", "1"]), Resp::Int(0));
    assert_eq!(c.cmd(&["STRLEN", "k"]), Resp::Int(1_048_576));
    assert_eq!(c.cmd(&["GETBIT", "k", "8388607"]), Resp::Int(1));
    assert_eq!(c.cmd(&["BITCOUNT", "k"]), Resp::Int(1));
    assert_eq!(c.cmd(&["BITPOS", "k", "1"]), Resp::Int(8_388_607));
    assert_eq!(c.cmd(&["BITFIELD", "k2", "SET", "u16", "8388607", "1"]), Resp::Array(Some(vec![Resp::Int(0)])));
    assert_eq!(c.cmd(&["STRLEN", "k2"]), Resp::Int(1_048_578));

    // Raised to the maximum, offsets are no longer bounded by the limit
    // (CVE-2021-32761 was BITFIELD arithmetic overflowing there): reads
    // past the end see zeros, writes the machine cannot hold are refused
    // instead of aborting the server.
    assert_eq!(c.cmd(&["CONFIG", "SET", "proto-max-bulk-len", "9223372036854775807"]), Resp::ok());
    assert_eq!(c.cmd(&["BITFIELD", "k3", "GET", "i64", "9223372036854775807"]), Resp::Array(Some(vec![Resp::Int(0)])));
    assert_eq!(c.cmd(&["GETBIT", "k", "9223372036854775807"]), Resp::Int(0));
    assert_eq!(c.cmd(&["BITFIELD", "k3", "GET", "i64", "#144115188075855871"]), Resp::Array(Some(vec![Resp::Int(0)])));
    let no_memory = Resp::Error("ERR Insufficient memory to grow the string".into());
    assert_eq!(c.cmd(&["SETBIT", "k", "9223372036854775807", "1"]), no_memory);
    assert_eq!(c.cmd(&["BITFIELD", "k", "SET", "i64", "9223372036854775807", "1"]), no_memory);
    assert_eq!(c.cmd(&["BITFIELD", "k", "INCRBY", "u63", "#146402730743726599", "1"]), no_memory);
    assert_eq!(c.cmd(&["SETBIT", "fresh", "9223372036854775807", "1"]), no_memory);
    assert_eq!(c.cmd(&["EXISTS", "fresh"]), Resp::Int(0));
    assert_eq!(c.cmd(&["STRLEN", "k"]), Resp::Int(1_048_576));
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn ranges_are_parsed_before_the_key_is_looked_up() {
    // Redis 7.2 (#11734): BITCOUNT and BITPOS check their arguments first,
    // so a bad range is an error even for a missing or non-string key
    // (Redis 7.0 answered 0 or WRONGTYPE). Valkey 9.1 answers the same,
    // except that Valkey 8 made BITCOUNT's end optional.
    let srv = TestServer::start();
    let mut c = srv.raw();
    let not_int = Resp::Error("ERR value is not an integer or out of range".into());
    let syntax = Resp::Error("ERR syntax error".into());
    assert_eq!(c.cmd(&["BITCOUNT", "missing", "0", "x"]), not_int);
    assert_eq!(c.cmd(&["BITCOUNT", "missing", "0"]), syntax);
    assert_eq!(c.cmd(&["BITCOUNT", "missing", "0", "1", "foo"]), syntax);
    assert_eq!(c.cmd(&["BITPOS", "missing", "1", "x"]), not_int);
    assert_eq!(c.cmd(&["BITPOS", "missing", "1", "0", "x"]), not_int);
    assert_eq!(c.cmd(&["BITPOS", "missing", "1", "0", "1", "foo"]), syntax);
    assert_eq!(c.cmd(&["RPUSH", "list", "a"]), Resp::Int(1));
    assert_eq!(c.cmd(&["BITCOUNT", "list", "x", "1"]), not_int);
    assert_eq!(c.cmd(&["BITPOS", "list", "1", "0", "x"]), not_int);
    assert_eq!(c.cmd(&["BITCOUNT", "missing", "0", "1"]), Resp::Int(0));
    assert_eq!(c.cmd(&["BITPOS", "missing", "0", "5", "9", "BIT"]), Resp::Int(0));
    assert_eq!(c.cmd(&["BITPOS", "missing", "1", "5"]), Resp::Int(-1));
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

#[test]
fn changes_and_keyspace_hits_are_counted_as_redis() {
    let Some(mut p) = Pair::start("bitmap dirty and hit counts") else { return };
    let counters = |c: &mut RawConn| {
        [
            info_field(c, "persistence", "rdb_changes_since_last_save"),
            info_field(c, "stats", "keyspace_hits"),
            info_field(c, "stats", "keyspace_misses"),
        ]
    };
    let steps: &[&[&str]] = &[
        &["SETBIT", "b", "1", "1"],
        &["SETBIT", "b", "1", "1"],
        &["SETBIT", "b", "30", "0"],
        &["GETBIT", "b", "1"],
        &["GETBIT", "missing", "1"],
        &["BITCOUNT", "b"],
        &["BITCOUNT", "missing"],
        &["BITCOUNT", "b", "0", "1", "BIT"],
        &["BITPOS", "b", "1"],
        &["BITPOS", "missing", "1", "0", "-1"],
        &["BITOP", "AND", "d", "b", "missing", "b"],
        &["BITOP", "OR", "d", "missing"],
        &["BITOP", "OR", "d", "missing"],
        &["BITFIELD", "b", "GET", "u8", "0"],
        &["BITFIELD", "missing", "GET", "u8", "0"],
        &["BITFIELD", "b", "SET", "u8", "0", "1", "SET", "u8", "8", "1", "INCRBY", "u8", "16", "0"],
        &["BITFIELD", "b", "SET", "u8", "0", "1"],
        &["BITFIELD", "nf", "OVERFLOW", "FAIL", "INCRBY", "u8", "0", "300"],
        &["BITFIELD_RO", "b", "GET", "u8", "0"],
        &["LPUSH", "list", "a"],
        &["BITOP", "AND", "d", "b", "list"],
        &["GETBIT", "list", "0"],
        &["SETBIT", "list", "0", "1"],
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
