//! Start-up loading while clients are connected: the `loading` state,
//! `-LOADING` replies, INFO's progress, and shutdown during a load, each
//! compared with a real redis-server loading the same file.
//!
//! `key-load-delay` (µs per key) makes the load last long enough to watch.
//! Reference servers use ports 7592-7599 (benches/rdb.sh has 7590-7591).

mod common;
mod reference;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{RawConn, Resp, TestServer};

const KEYS: usize = 3000;

fn tmpdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("oxkey-loading-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("tmpdir");
    dir
}

/// Writes KEYS string keys into `dir`/dump.rdb (version 10, which Redis
/// 7.0 reads) with an oxkey server.
fn make_dump(dir: &Path) -> Vec<u8> {
    let d = dir.to_str().expect("utf8 dir");
    let ox = TestServer::start_with(&["--dir", d, "--rdb-version", "10"]);
    let mut c = ox.client();
    let mut pipe = redis::pipe();
    for i in 0..KEYS {
        pipe.cmd("SET").arg(format!("key:{i}")).arg(i).ignore();
    }
    let () = pipe.query(&mut c).expect("populate");
    let () = redis::cmd("SAVE").query(&mut c).expect("SAVE");
    std::fs::read(dir.join("dump.rdb")).expect("dump.rdb")
}

/// The replies the loading state gives, in order.
fn while_loading(c: &mut RawConn) -> Vec<Resp> {
    let script: &[&[&str]] = &[
        &["PING"],
        &["GET", "key:1"],
        &["DBSIZE"],
        &["ECHO", "x"],
        &["CONFIG", "GET", "maxmemory"],
        &["MULTI"],
        &["SET", "a", "1"],
        &["EXEC"],
    ];
    script.iter().map(|args| c.cmd(args)).collect()
}

fn info_field(info: &str, name: &str) -> Option<String> {
    info.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).map(str::to_string)
}

fn info_persistence(c: &mut RawConn) -> String {
    match c.cmd(&["INFO", "persistence"]) {
        Resp::Bulk(Some(b)) => String::from_utf8(b).expect("utf8 INFO"),
        other => panic!("INFO: {other:?}"),
    }
}

/// Names of the `loading_*` fields INFO shows.
fn loading_fields(info: &str) -> BTreeSet<String> {
    info.lines().filter(|l| l.starts_with("loading")).filter_map(|l| l.split(':').next()).map(str::to_string).collect()
}

/// Waits until PING answers PONG, then returns DBSIZE.
fn dbsize_once_loaded(c: &mut RawConn) -> Resp {
    let deadline = Instant::now() + Duration::from_secs(60);
    while c.cmd(&["PING"]) != Resp::Simple("PONG".into()) {
        assert!(Instant::now() < deadline, "still loading after 60 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    c.cmd(&["DBSIZE"])
}

struct RedisLoading {
    child: Child,
    port: u16,
}

impl RedisLoading {
    fn start(port: u16, dir: &Path, delay_us: u32) -> RedisLoading {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--key-load-delay", &delay_us.to_string(), "--loading-process-events-interval-bytes", "1024"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server on {port} did not start");
            std::thread::sleep(Duration::from_millis(5));
        }
        RedisLoading { child, port }
    }
}

impl Drop for RedisLoading {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn loading_replies_and_info_match_redis() {
    if !reference::require_redis("loading_replies_and_info_match_redis") {
        return;
    }
    let src = tmpdir("src");
    let dump = make_dump(&src);
    let (odir, rdir) = (tmpdir("ox"), tmpdir("redis"));
    std::fs::write(odir.join("dump.rdb"), &dump).expect("copy");
    std::fs::write(rdir.join("dump.rdb"), &dump).expect("copy");

    let redis = RedisLoading::start(7592, &rdir, 1000);
    let mut rc = RawConn::connect(redis.port);
    let expected = while_loading(&mut rc);
    let redis_info = info_persistence(&mut rc);

    let ox = TestServer::start_loading(&["--dir", odir.to_str().expect("utf8"), "--key-load-delay", "1000"]);
    let mut oc = ox.raw();
    assert_eq!(while_loading(&mut oc), expected);
    let info = info_persistence(&mut oc);

    // Both were still loading when asked (the script takes milliseconds,
    // the load seconds).
    assert_eq!(info_field(&redis_info, "loading").as_deref(), Some("1"), "{redis_info}");
    assert_eq!(info_field(&info, "loading").as_deref(), Some("1"), "{info}");
    assert_eq!(loading_fields(&info), loading_fields(&redis_info));
    assert_eq!(info_field(&info, "loading_total_bytes"), Some(dump.len().to_string()));
    let loaded: u64 = info_field(&info, "loading_loaded_bytes").and_then(|v| v.parse().ok()).expect("loaded bytes");
    assert!(loaded <= dump.len() as u64, "{info}");
    let errorstats = |c: &mut RawConn| match c.cmd(&["INFO", "errorstats"]) {
        Resp::Bulk(Some(b)) => String::from_utf8(b).expect("utf8"),
        other => panic!("INFO errorstats: {other:?}"),
    };
    assert!(errorstats(&mut oc).contains("errorstat_LOADING:count="), "LOADING errors are counted");

    let n = KEYS as i64;
    assert_eq!(dbsize_once_loaded(&mut rc), Resp::Int(n));
    assert_eq!(dbsize_once_loaded(&mut oc), Resp::Int(n));
    let after = info_persistence(&mut oc);
    assert_eq!(info_field(&after, "loading").as_deref(), Some("0"));
    assert!(loading_fields(&after) == BTreeSet::from(["loading".to_string()]), "{after}");
    assert_eq!(oc.cmd(&["GET", "key:2999"]), Resp::bulk("2999"));
}

#[test]
fn shutdown_while_loading_keeps_the_file() {
    let dir = tmpdir("shutdown");
    let dump = make_dump(&dir);
    let d = dir.to_str().expect("utf8");
    // Save points are configured: a SHUTDOWN after the load would save.
    let mut ox = TestServer::start_loading(&["--dir", d, "--save", "3600 1", "--key-load-delay", "1000"]);
    let mut c = ox.raw();
    assert_eq!(c.cmd(&["GET", "key:1"]), Resp::Error("LOADING Redis is loading the dataset in memory".into()));
    c.send_cmd(&[b"SHUTDOWN"]);
    assert!(c.closed());
    assert!(ox.wait_exit(Duration::from_secs(10)).is_some(), "SHUTDOWN during loading exits");
    assert_eq!(std::fs::read(dir.join("dump.rdb")).expect("dump.rdb"), dump, "the file being loaded is untouched");

    // SIGTERM while loading, likewise.
    let mut ox = TestServer::start_loading(&["--dir", d, "--save", "3600 1", "--key-load-delay", "1000"]);
    let mut c = ox.raw();
    assert_eq!(c.cmd(&["DBSIZE"]), Resp::Error("LOADING Redis is loading the dataset in memory".into()));
    let killed = Command::new("kill").args(["-TERM", &ox.pid().to_string()]).status().expect("kill");
    assert!(killed.success());
    assert!(ox.wait_exit(Duration::from_secs(10)).is_some(), "SIGTERM during loading exits");
    assert_eq!(std::fs::read(dir.join("dump.rdb")).expect("dump.rdb"), dump);

    let ox = TestServer::start_with(&["--dir", d]);
    assert_eq!(ox.raw().cmd(&["DBSIZE"]), Resp::Int(KEYS as i64));
}

#[test]
fn aof_replay_answers_loading_until_done() {
    let dir = tmpdir("aof");
    let d = dir.to_str().expect("utf8");
    {
        // No RDB preamble: the keys are replayed as commands.
        let ox = TestServer::start_with(&[
            "--dir",
            d,
            "--appendonly",
            "yes",
            "--aof-use-rdb-preamble",
            "no",
            "--appendfsync",
            "always",
        ]);
        let mut c = ox.client();
        for i in 0..KEYS {
            let () = redis::cmd("SET").arg(format!("key:{i}")).arg(i).query(&mut c).expect("SET");
        }
        let () = redis::cmd("INCRBY").arg("counter").arg(KEYS).query(&mut c).expect("INCRBY");
    }
    let ox = TestServer::start_loading(&["--dir", d, "--appendonly", "yes", "--key-load-delay", "1000"]);
    let mut c = ox.raw();
    assert_eq!(c.cmd(&["GET", "counter"]), Resp::Error("LOADING Redis is loading the dataset in memory".into()));
    let info = info_persistence(&mut c);
    assert_eq!(info_field(&info, "loading").as_deref(), Some("1"), "{info}");
    assert_eq!(dbsize_once_loaded(&mut c), Resp::Int(KEYS as i64 + 1));
    assert_eq!(c.cmd(&["GET", "counter"]), Resp::bulk(&KEYS.to_string()));
    // Writes after the load go to the AOF as before.
    assert_eq!(c.cmd(&["INCR", "counter"]), Resp::Int(KEYS as i64 + 1));
}
