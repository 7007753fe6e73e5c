//! The multi-part AOF against the real Redis 7.0: appendonlydirs move both
//! ways (and pass redis-check-aof), acknowledged writes survive kill -9,
//! damaged files are recovered or refused without crashing, BGREWRITEAOF
//! under load keeps the dataset, and the built-in checker.
//!
//! Reference servers use ports 7590-7599.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::dataset::{contents, q};
use common::server_binary;
use redis::Connection;

/// A fresh directory, removed when the test ends.
struct TmpDir(PathBuf);

impl std::ops::Deref for TmpDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tmpdir(name: &str) -> TmpDir {
    let d = std::env::temp_dir().join(format!("oxkey-aof-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    TmpDir(d)
}

/// A server process (oxkey or redis-server) in a directory of ours, with
/// its log in `dir/log`.
struct Proc {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Proc {
    fn spawn(binary: &Path, dir: &Path, extra: &[&str]) -> (Child, u16, PathBuf) {
        let port = common::free_port();
        let log = dir.join(format!("log-{port}"));
        let child = Command::new(binary)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(&log)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn server");
        (child, port, log)
    }

    /// Starts and waits until it answers PING.
    fn start(binary: &Path, dir: &Path, extra: &[&str]) -> Proc {
        let (child, port, log) = Self::spawn(binary, dir, extra);
        let mut p = Proc { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(mut c) = p.try_client() {
                if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                    return p;
                }
            }
            if let Ok(Some(st)) = p.child.try_wait() {
                panic!("server exited with {st}: {}", p.log_text());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server on {} did not start", p.port);
    }

    fn ox(dir: &Path, extra: &[&str]) -> Proc {
        Self::start(&server_binary(), dir, extra)
    }

    fn redis(dir: &Path, extra: &[&str]) -> Proc {
        Self::start(Path::new("redis-server"), dir, extra)
    }

    /// Runs oxkey expecting it to exit; returns its exit code and log.
    fn ox_exit(dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
        let (mut child, _, log) = Self::spawn(&server_binary(), dir, extra);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = child.try_wait() {
                return (st.code(), std::fs::read_to_string(&log).unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        panic!("server did not exit");
    }

    fn try_client(&self) -> redis::RedisResult<Connection> {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?.get_connection()
    }

    fn client(&self) -> Connection {
        self.try_client().expect("connect")
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// kill -9.
    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SHUTDOWN (the AOF is written and synced), then waits for the exit.
    fn shutdown(mut self) {
        if let Ok(mut c) = self.try_client() {
            let _ = redis::cmd("SHUTDOWN").query::<()>(&mut c);
        }
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(c: &mut Connection, args: &[&str]) {
    let _: redis::Value = q(c, args);
}

fn info_field(c: &mut Connection, name: &str) -> String {
    let info: String = q(c, &["INFO", "persistence"]);
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
        .unwrap_or_else(|| panic!("no {name} in {info}"))
}

fn wait_rewrite(c: &mut Connection) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if info_field(c, "aof_rewrite_in_progress") == "0" && info_field(c, "aof_rewrite_scheduled") == "0" {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("the AOF rewrite did not finish");
}

/// Every type in small and large encodings, expires, several dbs; `tag`
/// makes a second round change and add keys.
fn populate(c: &mut Connection, tag: &str) {
    run(c, &["SET", &format!("str:{tag}"), "hello"]);
    run(c, &["SET", "str:int", "12345"]);
    run(c, &["APPEND", "str:bin", "a\x00b\r\n"]);
    run(c, &["INCRBY", "counter", "7"]);
    run(c, &["SET", "str:lzf", &"abc".repeat(400)]);
    run(c, &["RPUSH", "list:small", "a", "1", "-2", tag]);
    let items: Vec<String> = (0..300).map(|i| format!("item-{i}-{}", "y".repeat(i % 50))).collect();
    let mut args = vec!["RPUSH", "list:big"];
    args.extend(items.iter().map(|s| s.as_str()));
    run(c, &args);
    run(c, &["SADD", "set:ints", "1", "2", "-100", "5000000000"]);
    run(c, &["SADD", "set:small", "a", "b", tag]);
    let members: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let mut args = vec!["SADD", "set:big"];
    args.extend(members.iter().map(|s| s.as_str()));
    run(c, &args);
    run(c, &["ZADD", "zset:small", "1", "a", "2.5", "b", "-3", tag, "inf", "top"]);
    let mut args = vec!["ZADD".to_string(), "zset:big".to_string()];
    for i in 0..200 {
        args.push(format!("{}", i as f64 * 0.1 - 7.0));
        args.push(format!("member:{i}"));
    }
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    run(c, &argv);
    run(c, &["HSET", "hash:small", "f1", "v1", "f2", "2", tag, "x"]);
    let mut args = vec!["HSET".to_string(), "hash:big".to_string()];
    for i in 0..300 {
        args.push(format!("field{i}"));
        args.push(format!("value{i}"));
    }
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    run(c, &argv);
    run(c, &["SET", "exp:s", "v", "EX", "100000"]);
    run(c, &["LPOP", "list:small"]);
    run(c, &["MULTI"]);
    run(c, &["INCR", "counter"]);
    run(c, &["SREM", "set:small", "a"]);
    run(c, &["EXEC"]);
    run(c, &["SELECT", "3"]);
    run(c, &["SET", &format!("db3:{tag}"), "three"]);
    run(c, &["HSET", "db3:hash", "a", tag]);
    run(c, &["SELECT", "0"]);
    run(c, &["DEL", "str:int"]);
}

/// Compares two datasets, naming only the keys that differ.
fn assert_same(got: &BTreeMap<String, String>, want: &BTreeMap<String, String>, what: &str) {
    let keys: std::collections::BTreeSet<&String> = want.keys().chain(got.keys()).collect();
    let diff: Vec<String> = keys
        .into_iter()
        .filter(|k| got.get(*k) != want.get(*k))
        .map(|k| {
            let cut = |v: Option<&String>| v.map(|v| v.chars().take(120).collect::<String>());
            format!("{k}: got {:?}, want {:?}", cut(got.get(k)), cut(want.get(k)))
        })
        .collect();
    assert!(diff.is_empty(), "{what}: {} keys differ: {diff:#?}", diff.len());
}

fn manifest(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.manifest")).expect("manifest")
}

/// The data: a first round, a rewrite (into the base), a second round
/// (the incremental file).
fn write_base_and_incr(c: &mut Connection) -> BTreeMap<String, String> {
    populate(c, "one");
    assert_eq!(q::<String>(c, &["BGREWRITEAOF"]), "Background append only file rewriting started");
    wait_rewrite(c);
    populate(c, "two");
    contents(c)
}

#[test]
fn redis_70_appendonlydir_loads_into_oxkey() {
    for preamble in ["yes", "no"] {
        let dir = tmpdir(&format!("r70-{preamble}"));
        let r = Proc::redis(&dir, &["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]);
        let mut c = r.client();
        let expected = write_base_and_incr(&mut c);
        r.shutdown();
        let ext = if preamble == "yes" { "rdb" } else { "aof" };
        assert!(manifest(&dir).contains(&format!("file appendonly.aof.2.base.{ext} seq 2 type b\n")));
        let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
        assert_same(&contents(&mut ox.client()), &expected, &format!("preamble {preamble}"));
    }
}

#[test]
fn oxkey_appendonlydir_loads_into_redis_70_and_passes_its_checker() {
    for preamble in ["yes", "no"] {
        let dir = tmpdir(&format!("ox-{preamble}"));
        let ox = Proc::ox(&dir, &["--appendonly", "yes", "--aof-use-rdb-preamble", preamble, "--rdb-version", "10"]);
        let mut c = ox.client();
        let expected = write_base_and_incr(&mut c);
        ox.shutdown();
        let ext = if preamble == "yes" { "rdb" } else { "aof" };
        assert_eq!(
            manifest(&dir),
            format!("file appendonly.aof.2.base.{ext} seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n")
        );
        let out = Command::new("redis-check-aof")
            .arg(dir.join("appendonlydir/appendonly.aof.manifest"))
            .output()
            .expect("redis-check-aof");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("All AOF files and manifest are valid"), "{text}");
        let r = Proc::redis(&dir, &["--appendonly", "yes"]);
        assert_same(&contents(&mut r.client()), &expected, &format!("preamble {preamble}"));
    }
}

#[test]
fn fresh_start_creates_base_and_incr_as_redis() {
    let dir = tmpdir("fresh");
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    let mut c = ox.client();
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    run(&mut c, &["SET", "k", "v"]);
    run(&mut c, &["SELECT", "2"]);
    run(&mut c, &["SET", "k2", "v2"]);
    // Written within a second (everysec), with SELECTs as Redis writes them.
    let incr = dir.join("appendonlydir/appendonly.aof.1.incr.aof");
    let deadline = Instant::now() + Duration::from_secs(5);
    let want = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n\
                *2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n";
    while std::fs::read_to_string(&incr).unwrap_or_default() != want {
        assert!(Instant::now() < deadline, "incr file: {:?}", std::fs::read_to_string(&incr));
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    assert_eq!(info_field(&mut c, "aof_last_write_status"), "ok");
    // As Redis 7.0: the base created at start-up is not counted.
    assert_eq!(info_field(&mut c, "aof_current_size"), want.len().to_string());
    assert_eq!(info_field(&mut c, "aof_base_size"), "0");
    let log = ox.log_text();
    assert!(log.contains("Creating AOF base file appendonly.aof.1.base.rdb on server start"), "{log}");
    assert!(log.contains("Creating AOF incr file appendonly.aof.1.incr.aof on server start"), "{log}");
}

#[test]
fn old_style_appendonly_aof_is_migrated() {
    let dir = tmpdir("old-style");
    std::fs::write(
        dir.join("appendonly.aof"),
        "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$3\r\nold\r\n$5\r\nstyle\r\n",
    )
    .expect("write");
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    let mut c = ox.client();
    assert_eq!(q::<String>(&mut c, &["GET", "old"]), "style");
    assert_eq!(manifest(&dir), "file appendonly.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    assert!(dir.join("appendonlydir/appendonly.aof").exists() && !dir.join("appendonly.aof").exists());
}

#[test]
fn aof_takes_precedence_over_the_rdb_file() {
    let dir = tmpdir("precedence");
    let ox = Proc::ox(&dir, &[]);
    let mut c = ox.client();
    run(&mut c, &["SET", "from", "rdb"]);
    run(&mut c, &["SAVE"]);
    drop(c);
    ox.shutdown();
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    let mut c = ox.client();
    // An empty AOF: the dump is not read.
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
}

#[test]
fn config_set_appendonly_starts_with_a_rewrite() {
    let dir = tmpdir("config-set");
    let ox = Proc::ox(&dir, &[]);
    let mut c = ox.client();
    run(&mut c, &["SET", "before", "1"]);
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "appendonly", "yes"]), "OK");
    wait_rewrite(&mut c);
    run(&mut c, &["SET", "after", "2"]);
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
    assert_eq!(
        manifest(&dir),
        "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n"
    );
    assert_eq!(q::<String>(&mut c, &["CONFIG", "SET", "appendonly", "no"]), "OK");
    run(&mut c, &["SET", "unlogged", "3"]);
    drop(c);
    ox.shutdown();
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    let mut c = ox.client();
    let keys: Vec<String> = q(&mut c, &["KEYS", "*"]);
    let mut keys = keys;
    keys.sort();
    assert_eq!(keys, ["after", "before"]);
}

#[test]
fn bgsave_and_bgrewriteaof_exclude_each_other_as_redis() {
    let dir = tmpdir("exclusion");
    let ox = Proc::ox(&dir, &["--appendonly", "yes", "--rdb-key-save-delay", "2000"]);
    let mut c = ox.client();
    for i in 0..200 {
        run(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    let reply = |c: &mut Connection, args: &[&str]| -> String {
        match redis::cmd(args[0]).arg(&args[1..]).query::<redis::Value>(c) {
            Ok(redis::Value::SimpleString(s)) => s,
            Ok(redis::Value::Okay) => "OK".into(),
            Ok(v) => format!("{v:?}"),
            Err(e) => format!("ERR {}", e.detail().unwrap_or_default()),
        }
    };
    // Replies from redis-server 7.0.15 in the same states.
    assert_eq!(reply(&mut c, &["BGREWRITEAOF"]), "Background append only file rewriting started");
    assert_eq!(reply(&mut c, &["BGREWRITEAOF"]), "ERR Background append only file rewriting already in progress");
    assert_eq!(
        reply(&mut c, &["BGSAVE"]),
        "ERR An AOF log rewriting in progress: can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."
    );
    assert_eq!(reply(&mut c, &["BGSAVE", "SCHEDULE"]), "Background saving scheduled");
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "1");
    run(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_rewrite(&mut c);
    let deadline = Instant::now() + Duration::from_secs(30);
    while info_field(&mut c, "rdb_bgsave_in_progress") == "1" || !dir.join("dump.rdb").exists() {
        assert!(Instant::now() < deadline, "the scheduled BGSAVE did not run");
        std::thread::sleep(Duration::from_millis(20));
    }
    run(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "2000"]);
    assert_eq!(reply(&mut c, &["BGSAVE"]), "Background saving started");
    assert_eq!(reply(&mut c, &["BGREWRITEAOF"]), "Background append only file rewriting scheduled");
    assert_eq!(info_field(&mut c, "aof_rewrite_scheduled"), "1");
    run(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_rewrite(&mut c);
    assert_eq!(info_field(&mut c, "aof_rewrites"), "2");
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
}

/// Writers that each count their acknowledged writes, until stopped.
fn write_load(port: u16, writers: usize, stop: Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<Vec<(u64, Instant)>>> {
    (0..writers)
        .map(|w| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                    .and_then(|c| c.get_connection())
                    .expect("connect");
                let mut acked = Vec::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let r: redis::RedisResult<()> = redis::cmd("SET").arg(format!("w{w}:{n}")).arg(n).query(&mut c);
                    if r.is_err() {
                        break;
                    }
                    acked.push((n, Instant::now()));
                    n += 1;
                }
                acked
            })
        })
        .collect()
}

#[test]
fn appendfsync_always_keeps_every_acknowledged_write_through_kill_9() {
    // Connections on the executor thread, and on I/O threads.
    for io_threads in ["1", "2"] {
        always_survives_kill_9(io_threads);
    }
}

fn always_survives_kill_9(io_threads: &str) {
    let dir = tmpdir(&format!("always-{io_threads}"));
    let ox = Proc::ox(&dir, &["--appendonly", "yes", "--appendfsync", "always", "--io-threads", io_threads]);
    let stop = Arc::new(AtomicBool::new(false));
    let load = write_load(ox.port, 4, stop.clone());
    std::thread::sleep(Duration::from_millis(1500));
    ox.kill9();
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<Vec<(u64, Instant)>> = load.into_iter().map(|h| h.join().expect("writer")).collect();
    let total: usize = acked.iter().map(Vec::len).sum();
    assert!(total > 100, "only {total} writes were acknowledged");
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    let mut c = ox.client();
    for (w, list) in acked.iter().enumerate() {
        let Some(&(last, _)) = list.last() else { continue };
        let v: Option<u64> = q(&mut c, &["GET", &format!("w{w}:{last}")]);
        assert_eq!(v, Some(last), "io-threads {io_threads}, writer {w}: acknowledged write {last} lost");
    }
    let dbsize: usize = q(&mut c, &["DBSIZE"]);
    assert!(dbsize >= total, "{dbsize} keys for {total} acknowledged writes");
    println!("appendfsync always, io-threads {io_threads}: {total} acknowledged writes, all present after kill -9 ({dbsize} keys)");
}

#[test]
fn appendfsync_everysec_loses_at_most_about_a_second() {
    let dir = tmpdir("everysec");
    let ox = Proc::ox(&dir, &["--appendonly", "yes", "--appendfsync", "everysec"]);
    let stop = Arc::new(AtomicBool::new(false));
    let load = write_load(ox.port, 2, stop.clone());
    std::thread::sleep(Duration::from_millis(2500));
    let killed = Instant::now();
    ox.kill9();
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<Vec<(u64, Instant)>> = load.into_iter().map(|h| h.join().expect("writer")).collect();
    let ox = Proc::ox(&dir, &["--appendonly", "yes", "--aof-load-truncated", "yes"]);
    let mut c = ox.client();
    let mut lost = 0;
    for (w, list) in acked.iter().enumerate() {
        for &(n, at) in list.iter().rev() {
            let v: Option<u64> = q(&mut c, &["GET", &format!("w{w}:{n}")]);
            if v == Some(n) {
                break;
            }
            lost += 1;
            assert!(
                killed.duration_since(at) < Duration::from_millis(2000),
                "writer {w}: write {n} lost, acknowledged {:?} before the kill",
                killed.duration_since(at)
            );
        }
    }
    println!("appendfsync everysec: {lost} of {} acknowledged writes lost", acked.iter().map(Vec::len).sum::<usize>());
}

/// A server that wrote `n` SETs and was shut down; returns the incr path.
fn dir_with_writes(name: &str, n: usize) -> (TmpDir, PathBuf) {
    let dir = tmpdir(name);
    let ox = Proc::ox(&dir, &["--appendonly", "yes", "--rdb-version", "10"]);
    let mut c = ox.client();
    for i in 0..n {
        run(&mut c, &["SET", &format!("key:{i}"), &format!("value:{i}")]);
    }
    drop(c);
    ox.shutdown();
    let incr = dir.join("appendonlydir/appendonly.aof.1.incr.aof");
    (dir, incr)
}

#[test]
fn truncated_tail_is_recovered_or_refused() {
    let (dir, incr) = dir_with_writes("truncated", 50);
    let len = std::fs::metadata(&incr).expect("incr").len();
    std::fs::OpenOptions::new().write(true).open(&incr).and_then(|f| f.set_len(len - 7)).expect("cut");
    let (code, log) = Proc::ox_exit(&dir, &["--appendonly", "yes", "--aof-load-truncated", "no"]);
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains("Unexpected end of file reading the append only file appendonly.aof.1.incr.aof"), "{log}");
    let ox = Proc::ox(&dir, &["--appendonly", "yes", "--aof-load-truncated", "yes"]);
    let mut c = ox.client();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 49);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "key:48"]).as_deref(), Some("value:48"));
    let log = ox.log_text();
    assert!(log.contains("!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!"), "{log}");
    assert!(log.contains("AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled"), "{log}");
    // The file was cut back to the last complete command, and goes on.
    run(&mut c, &["SET", "after", "cut"]);
    drop(c);
    ox.shutdown();
    let ox = Proc::ox(&dir, &["--appendonly", "yes", "--aof-load-truncated", "no"]);
    assert_eq!(q::<Option<String>>(&mut ox.client(), &["GET", "after"]).as_deref(), Some("cut"));
}

#[test]
fn an_unfinished_transaction_is_dropped_as_a_truncated_tail() {
    let (dir, incr) = dir_with_writes("multi", 3);
    let mut data = std::fs::read(&incr).expect("incr");
    data.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$1\r\n1\r\n");
    std::fs::write(&incr, &data).expect("write");
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    let mut c = ox.client();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 3);
    assert!(ox.log_text().contains("Revert incomplete MULTI/EXEC transaction in AOF file appendonly.aof.1.incr.aof"));
}

#[test]
fn damaged_files_never_crash_the_loader() {
    let (dir, incr) = dir_with_writes("damaged", 30);
    let base = dir.join("appendonlydir/appendonly.aof.1.base.rdb");
    let good_incr = std::fs::read(&incr).expect("incr");
    let good_base = std::fs::read(&base).expect("base");
    let mut seed = 0x2545f4914f6cdd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut refused = 0;
    for round in 0..40 {
        let (target, good) = if round % 2 == 0 { (&incr, &good_incr) } else { (&base, &good_base) };
        let mut bad = good.clone();
        for _ in 0..1 + rand() % 4 {
            let i = (rand() % bad.len() as u64) as usize;
            bad[i] ^= 1 << (rand() % 8);
        }
        if round % 5 == 4 {
            bad.truncate((rand() % bad.len() as u64) as usize);
        }
        std::fs::write(target, &bad).expect("write");
        let (child, port, log) =
            Proc::spawn(&server_binary(), &dir, &["--appendonly", "yes", "--aof-load-truncated", "no"]);
        let mut p = Proc { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = p.child.try_wait() {
                // A refusal is exit code 1 with a reason; never a panic or a signal.
                assert_eq!(st.code(), Some(1), "round {round}: {st}: {}", p.log_text());
                refused += 1;
                break;
            }
            if p.try_client().is_ok() {
                break;
            }
            assert!(Instant::now() < deadline, "round {round}: neither started nor exited");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(p);
        std::fs::write(&incr, &good_incr).expect("restore");
        std::fs::write(&base, &good_base).expect("restore");
    }
    assert!(refused > 0);
}

#[test]
fn bgrewriteaof_under_write_load_keeps_the_dataset() {
    for preamble in ["yes", "no"] {
        let dir = tmpdir(&format!("rewrite-load-{preamble}"));
        let ox = Proc::ox(&dir, &["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]);
        let mut c = ox.client();
        for i in 0..3000 {
            run(&mut c, &["RPUSH", &format!("list:{}", i % 50), &i.to_string()]);
            run(&mut c, &["SET", &format!("key:{i}"), &i.to_string()]);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let load = write_load(ox.port, 3, stop.clone());
        let mut other = ox.client();
        for round in 0..3 {
            run(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", if round == 0 { "20" } else { "0" }]);
            assert_eq!(q::<String>(&mut c, &["BGREWRITEAOF"]), "Background append only file rewriting started");
            // Writes that touch keys the walk has not reached yet.
            for i in 0..500 {
                run(&mut other, &["INCR", &format!("key:{}", (i * 7) % 3000)]);
                run(&mut other, &["LPOP", &format!("list:{}", i % 50)]);
            }
            run(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
            wait_rewrite(&mut c);
        }
        stop.store(true, Ordering::Relaxed);
        for h in load {
            h.join().expect("writer");
        }
        let before = contents(&mut c);
        let ext = if preamble == "yes" { "rdb" } else { "aof" };
        assert_eq!(
            manifest(&dir),
            format!("file appendonly.aof.4.base.{ext} seq 4 type b\nfile appendonly.aof.4.incr.aof seq 4 type i\n")
        );
        drop((c, other));
        ox.shutdown();
        let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
        assert_same(&contents(&mut ox.client()), &before, &format!("preamble {preamble}"));
        // Only the files the manifest names are left.
        let mut files: Vec<String> = std::fs::read_dir(dir.join("appendonlydir"))
            .expect("dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                format!("appendonly.aof.4.base.{ext}"),
                "appendonly.aof.4.incr.aof".into(),
                "appendonly.aof.manifest".into()
            ]
        );
    }
}

#[test]
fn check_aof_reports_and_fixes() {
    let (dir, incr) = dir_with_writes("check", 10);
    let check = |args: &[&str]| {
        let out = Command::new(server_binary()).arg("--check-aof").args(args).output().expect("run checker");
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let appenddir = dir.join("appendonlydir");
    let d = appenddir.to_str().expect("utf8");
    let (code, out) = check(&[d]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("All AOF files and manifest are valid"), "{out}");
    let len = std::fs::metadata(&incr).expect("incr").len();
    std::fs::OpenOptions::new().write(true).open(&incr).and_then(|f| f.set_len(len - 3)).expect("cut");
    let (code, out) = check(&[d]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("is not valid. Use the --fix option to try fixing it."), "{out}");
    let (code, out) = check(&["--fix", d]);
    assert_eq!(code, Some(0), "{out}");
    // redis-check-aof agrees with the fixed file.
    let manifest_path = appenddir.join("appendonly.aof.manifest");
    let out = Command::new("redis-check-aof").arg(&manifest_path).output().expect("redis-check-aof");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    std::fs::write(&incr, b"*1\r\n$3\r\nSET\r\ngarbage here\r\n").expect("write");
    let (code, out) = check(&[manifest_path.to_str().expect("utf8")]);
    assert_eq!(code, Some(1), "{out}");
    std::fs::write(appenddir.join("appendonly.aof.manifest"), "file x seq 1 type z\n").expect("write");
    let (code, out) = check(&[d]);
    assert_eq!(code, Some(1));
    assert!(out.contains("Unknown AOF file type"), "{out}");
}

#[test]
fn timestamp_annotations_are_written_and_skipped_on_load() {
    let dir = tmpdir("timestamps");
    let ox = Proc::ox(&dir, &["--appendonly", "yes", "--aof-timestamp-enabled", "yes"]);
    let mut c = ox.client();
    run(&mut c, &["SET", "a", "1"]);
    run(&mut c, &["SET", "b", "2"]);
    drop(c);
    ox.shutdown();
    let incr = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.1.incr.aof")).expect("incr");
    let ts = incr.lines().next().unwrap_or_default();
    let secs: i64 = ts.strip_prefix("#TS:").and_then(|t| t.parse().ok()).unwrap_or_else(|| panic!("{incr:?}"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    assert!((now - secs).abs() < 60, "{ts}");
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    assert_eq!(q::<i64>(&mut ox.client(), &["DBSIZE"]), 2);
}

#[test]
fn old_style_file_with_an_rdb_preamble_loads() {
    let dir = tmpdir("preamble");
    let ox = Proc::ox(&dir, &["--rdb-version", "10"]);
    let mut c = ox.client();
    run(&mut c, &["RPUSH", "from:preamble", "a", "b"]);
    run(&mut c, &["SAVE"]);
    drop(c);
    ox.shutdown();
    let mut data = std::fs::read(dir.join("dump.rdb")).expect("dump");
    std::fs::remove_file(dir.join("dump.rdb")).expect("rm");
    data.extend_from_slice(b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$4\r\nLPOP\r\n$13\r\nfrom:preamble\r\n$1\r\n1\r\n");
    std::fs::write(dir.join("appendonly.aof"), &data).expect("write");
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    let mut c = ox.client();
    assert_eq!(q::<Vec<String>>(&mut c, &["LRANGE", "from:preamble", "0", "-1"]), ["b"]);
    let log = ox.log_text();
    assert!(log.contains("Reading RDB preamble from AOF file..."), "{log}");
    assert!(log.contains("Reading the remaining AOF tail..."), "{log}");
}

#[test]
fn auto_rewrite_follows_growth_and_bgrewriteaof_works_with_the_aof_off() {
    let dir = tmpdir("auto");
    let ox = Proc::ox(
        &dir,
        &["--appendonly", "yes", "--auto-aof-rewrite-percentage", "100", "--auto-aof-rewrite-min-size", "4kb"],
    );
    let mut c = ox.client();
    for i in 0..200 {
        run(&mut c, &["SET", "key", &format!("{i:040}")]);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while info_field(&mut c, "aof_rewrites") == "0" {
        assert!(Instant::now() < deadline, "no automatic rewrite: {}", ox.log_text());
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_rewrite(&mut c);
    assert!(ox.log_text().contains("Starting automatic rewriting of AOF on"));
    // As in Redis, the base size a rewrite leaves includes what was
    // appended while it ran, so how small it is depends on timing; one
    // more rewrite with no writes meanwhile leaves just the one key.
    let base: u64 = info_field(&mut c, "aof_base_size").parse().expect("base size");
    let current: u64 = info_field(&mut c, "aof_current_size").parse().expect("current size");
    assert!(base > 0 && base <= current, "{base} {current}");
    run(&mut c, &["CONFIG", "SET", "auto-aof-rewrite-percentage", "0"]);
    wait_rewrite(&mut c);
    assert_eq!(q::<String>(&mut c, &["BGREWRITEAOF"]), "Background append only file rewriting started");
    wait_rewrite(&mut c);
    let base: u64 = info_field(&mut c, "aof_base_size").parse().expect("base size");
    assert!(base > 0 && base < 4096, "{base}");
    drop(c);
    ox.shutdown();

    let dir = tmpdir("aof-off");
    let ox = Proc::ox(&dir, &[]);
    let mut c = ox.client();
    run(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<String>(&mut c, &["BGREWRITEAOF"]), "Background append only file rewriting started");
    wait_rewrite(&mut c);
    assert_eq!(manifest(&dir), "file appendonly.aof.1.base.rdb seq 1 type b\n");
    drop(c);
    ox.shutdown();
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    assert_eq!(q::<String>(&mut ox.client(), &["GET", "k"]), "v");
}

#[test]
fn a_failed_aof_write_refuses_writes_with_misconf() {
    let dir = tmpdir("enospc");
    let appenddir = dir.join("appendonlydir");
    std::fs::create_dir_all(&appenddir).expect("dir");
    std::fs::write(appenddir.join("appendonly.aof.manifest"), "file appendonly.aof.1.incr.aof seq 1 type i\n")
        .expect("manifest");
    // Every write to the incremental file fails with ENOSPC.
    std::os::unix::fs::symlink("/dev/full", appenddir.join("appendonly.aof.1.incr.aof")).expect("symlink");
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    let mut c = ox.client();
    run(&mut c, &["SET", "k", "v"]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while info_field(&mut c, "aof_last_write_status") != "err" {
        assert!(Instant::now() < deadline, "the write error was not noticed");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The text of redis-server 7.0.15 in the same state.
    let e = redis::cmd("SET").arg("k2").arg("v").query::<()>(&mut c).expect_err("refused");
    assert_eq!(e.code(), Some("MISCONF"));
    assert_eq!(e.detail(), Some("Errors writing to the AOF file: No space left on device"));
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "k"]).as_deref(), Some("v"));
    assert!(ox.log_text().contains("Error writing to the AOF file: No space left on device"));
}

#[test]
fn appenddirname_and_appendfilename_name_the_files() {
    let dir = tmpdir("names");
    let ox = Proc::ox(&dir, &["--appendonly", "yes", "--appenddirname", "logs", "--appendfilename", "data.aof"]);
    let mut c = ox.client();
    run(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<String>(&mut c, &["BGREWRITEAOF"]), "Background append only file rewriting started");
    wait_rewrite(&mut c);
    run(&mut c, &["SET", "k2", "v2"]);
    drop(c);
    ox.shutdown();
    let m = std::fs::read_to_string(dir.join("logs/data.aof.manifest")).expect("manifest");
    assert_eq!(m, "file data.aof.2.base.rdb seq 2 type b\nfile data.aof.2.incr.aof seq 2 type i\n");
    let ox = Proc::ox(&dir, &["--appendonly", "yes", "--appenddirname", "logs", "--appendfilename", "data.aof"]);
    assert_eq!(q::<i64>(&mut ox.client(), &["DBSIZE"]), 2);
}

#[test]
fn shutdown_waits_for_the_initial_aof() {
    let dir = tmpdir("initial");
    let ox = Proc::ox(&dir, &["--rdb-key-save-delay", "5000"]);
    let mut c = ox.client();
    for i in 0..100 {
        run(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    run(&mut c, &["CONFIG", "SET", "appendonly", "yes"]);
    // As redis-server 7.0.15 while it writes the first base.
    let e = redis::cmd("SHUTDOWN").query::<()>(&mut c).expect_err("refused");
    assert_eq!(e.detail(), Some("Errors trying to SHUTDOWN. Check logs."));
    assert!(ox.log_text().contains("Writing initial AOF, can't exit."));
    run(&mut c, &["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    wait_rewrite(&mut c);
    drop(c);
    ox.shutdown();
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    assert_eq!(q::<i64>(&mut ox.client(), &["DBSIZE"]), 100);
}

#[test]
fn check_aof_summaries_equal_redis_check_aof() {
    let (dir, incr) = dir_with_writes("check-same", 5);
    let manifest_path = dir.join("appendonlydir/appendonly.aof.manifest");
    let summary = |out: std::process::Output| -> Vec<String> {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("AOF ") || l.ends_with(" is valid") || l.starts_with("All AOF"))
            .map(str::to_string)
            .collect()
    };
    let good = std::fs::read(&incr).expect("incr");
    let damages: Vec<Vec<u8>> = vec![
        good.clone(),
        good[..good.len() - 4].to_vec(),
        [&good[..], b"garbage\r\n"].concat(),
        [&good[..], b"*2\r\n$3\r\nDEL\r\n"].concat(),
    ];
    for (i, data) in damages.iter().enumerate() {
        std::fs::write(&incr, data).expect("write");
        let ours =
            summary(Command::new(server_binary()).arg("--check-aof").arg(&manifest_path).output().expect("ours"));
        let theirs = summary(Command::new("redis-check-aof").arg(&manifest_path).output().expect("redis-check-aof"));
        assert_eq!(ours, theirs, "damage {i}");
    }
}

/// A stream's entries, counters, groups and pending entries, in a form
/// both servers print alike (times left out: claims set them anew).
fn stream_state(c: &mut Connection, key: &str) -> String {
    let range: redis::Value = q(c, &["XRANGE", key, "-", "+"]);
    let info: Vec<redis::Value> = q(c, &["XINFO", "STREAM", key]);
    let groups: Vec<Vec<redis::Value>> = q(c, &["XINFO", "GROUPS", key]);
    let mut out = format!("{range:?}\n");
    // XINFO STREAM: length, last-generated-id, max-deleted-entry-id, entries-added.
    for pair in info.chunks(2) {
        let name = format!("{:?}", pair[0]);
        if ["length", "last-generated-id", "max-deleted-entry-id", "entries-added"].iter().any(|n| name.contains(n)) {
            out.push_str(&format!("{name}={:?}\n", pair[1]));
        }
    }
    for g in groups {
        let name: String = redis::from_redis_value(&g[1]).expect("group name");
        out.push_str(&format!("group {g:?}\n"));
        let pending: redis::Value = q(c, &["XPENDING", key, &name, "-", "+", "100"]);
        // Each entry: id, consumer, idle time (dropped), delivery count.
        if let redis::Value::Array(entries) = pending {
            for e in entries {
                if let redis::Value::Array(f) = e {
                    out.push_str(&format!("pending {:?} {:?} {:?}\n", f[0], f[1], f[3]));
                }
            }
        }
    }
    out
}

#[test]
fn streams_survive_a_plain_rewrite_and_load_into_redis_70() {
    let dir = tmpdir("streams");
    let ox = Proc::ox(&dir, &["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
    let mut c = ox.client();
    for i in 0..20 {
        run(&mut c, &["XADD", "s", &format!("{}-1", i + 1), "f", &i.to_string(), "n", "x"]);
    }
    run(&mut c, &["XDEL", "s", "5-1", "20-1"]);
    run(&mut c, &["XGROUP", "CREATE", "s", "g1", "0"]);
    run(&mut c, &["XGROUP", "CREATE", "s", "g2", "$"]);
    run(&mut c, &["XREADGROUP", "GROUP", "g1", "alice", "COUNT", "3", "STREAMS", "s", ">"]);
    run(&mut c, &["XREADGROUP", "GROUP", "g1", "bob", "COUNT", "2", "STREAMS", "s", ">"]);
    run(&mut c, &["XACK", "s", "g1", "2-1"]);
    run(&mut c, &["XGROUP", "CREATECONSUMER", "s", "g2", "carol"]);
    run(&mut c, &["XADD", "empty", "1-1", "a", "b"]);
    run(&mut c, &["XDEL", "empty", "1-1"]);
    assert_eq!(q::<String>(&mut c, &["BGREWRITEAOF"]), "Background append only file rewriting started");
    wait_rewrite(&mut c);
    let want = (stream_state(&mut c, "s"), stream_state(&mut c, "empty"));
    drop(c);
    ox.shutdown();
    let base = std::fs::read_to_string(dir.join("appendonlydir/appendonly.aof.2.base.aof")).expect("base");
    assert!(base.contains("XSETID") && base.contains("XCLAIM"), "{base}");
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    let mut c = ox.client();
    assert_eq!((stream_state(&mut c, "s"), stream_state(&mut c, "empty")), want);
    drop(c);
    ox.shutdown();
    let r = Proc::redis(&dir, &["--appendonly", "yes"]);
    let mut c = r.client();
    assert_eq!((stream_state(&mut c, "s"), stream_state(&mut c, "empty")), want);
}

#[test]
fn function_libraries_in_the_base_rdb_are_loaded_again() {
    let dir = tmpdir("functions-base");
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    let mut c = ox.client();
    let lib = "#!lua name=mylib\nredis.register_function('seven', function() return 7 end)";
    assert_eq!(q::<String>(&mut c, &["FUNCTION", "LOAD", lib]), "mylib");
    // After the rewrite the library is in the base RDB only: the new
    // incremental file holds no FUNCTION LOAD.
    let _: String = q(&mut c, &["BGREWRITEAOF"]);
    wait_rewrite(&mut c);
    drop(c);
    ox.shutdown();
    let ox = Proc::ox(&dir, &["--appendonly", "yes"]);
    let mut c = ox.client();
    assert_eq!(q::<i64>(&mut c, &["FCALL", "seven", "0"]), 7);
}
