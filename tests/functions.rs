//! Function libraries against a real server: kept in RDB files across a
//! restart, exchanged with redis-server 7.0 through RDB files and FUNCTION
//! DUMP payloads (byte for byte with rdb-version 10).
//! Replies and error texts are covered by tests/diff/scripting_functions.txt.

mod common;
use common::{Resp, TestServer};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LIB: &str = "#!lua name=d1\nredis.register_function(\"d1f\", function() return \"from d1\" end)";

/// FUNCTION DUMP of LIB from redis-server 7.0.15 (RDB version 10).
const REDIS_DUMP: &[u8] = b"\xf5@M#!lua name=d1\nredis.register_function(\"d1f\", function() return \"from d1\" end)\n\x00\x80\x8b~\t\xde\x00H\x8e";

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("oxkey-functions-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

/// A real redis-server in `dir`, or None when it is not installed (the
/// test then checks only oxkey's side, except under CI).
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(dir: &Path) -> Option<Redis> {
        let port = common::free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .spawn();
        let Ok(child) = child else {
            assert!(std::env::var("CI").is_err(), "redis-server is needed under CI");
            return None;
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Redis { child, port })
    }

    fn raw(&self) -> common::RawConn {
        common::RawConn::connect(self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ox_in(dir: &Path, extra: &[&str]) -> TestServer {
    let mut args = vec!["--dir", dir.to_str().expect("utf8 dir")];
    args.extend_from_slice(extra);
    TestServer::start_with(&args)
}

#[test]
fn libraries_survive_save_and_restart() {
    let dir = tmpdir("restart");
    {
        let ox = ox_in(&dir, &[]);
        let mut c = ox.raw();
        assert_eq!(c.cmd(&["FUNCTION", "LOAD", LIB]), Resp::bulk("d1"));
        assert_eq!(c.cmd(&["SAVE"]), Resp::ok());
    }
    let ox = ox_in(&dir, &[]);
    let mut c = ox.raw();
    assert_eq!(c.cmd(&["FCALL", "d1f", "0"]), Resp::bulk("from d1"));
    assert_eq!(c.cmd(&["FUNCTION", "FLUSH"]), Resp::ok());
    assert_eq!(c.cmd(&["SAVE"]), Resp::ok());
    drop(ox);
    let ox = ox_in(&dir, &[]);
    let mut c = ox.raw();
    assert_eq!(c.cmd(&["FCALL", "d1f", "0"]), Resp::Error("ERR Function not found".into()));
}

#[test]
fn dump_payload_is_redis_7_0s_with_rdb_version_10() {
    let ox = TestServer::start_with(&["--rdb-version", "10"]);
    let mut c = ox.raw();
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", LIB]), Resp::bulk("d1"));
    assert_eq!(c.cmd(&["FUNCTION", "DUMP"]), Resp::Bulk(Some(REDIS_DUMP.to_vec())));
    // The default (7.2's version 11) differs only in the version and CRC.
    let ox = TestServer::start();
    let mut c = ox.raw();
    c.cmd(&["FUNCTION", "LOAD", LIB]);
    let Resp::Bulk(Some(v11)) = c.cmd(&["FUNCTION", "DUMP"]) else { panic!("no payload") };
    assert_eq!(v11[..v11.len() - 10], REDIS_DUMP[..REDIS_DUMP.len() - 10]);
    assert_eq!(v11[v11.len() - 10..v11.len() - 8], [11, 0]);
}

#[test]
fn rdb_files_carry_libraries_both_ways_with_redis_7_0() {
    let rdir = tmpdir("from-redis");
    let Some(r) = Redis::start(&rdir) else { return };
    let mut rc = r.raw();
    assert_eq!(rc.cmd(&["FUNCTION", "LOAD", LIB]), Resp::bulk("d1"));
    assert_eq!(rc.cmd(&["SAVE"]), Resp::ok());
    drop(r);
    let odir = tmpdir("ox-from-redis");
    std::fs::copy(rdir.join("dump.rdb"), odir.join("dump.rdb")).expect("copy");
    let ox = ox_in(&odir, &["--rdb-version", "10"]);
    let mut c = ox.raw();
    assert_eq!(c.cmd(&["FCALL", "d1f", "0"]), Resp::bulk("from d1"));
    let lib2 = "#!lua name=d2\nredis.register_function{function_name='d2f', callback=function() return 2 end, flags={'no-writes'}}";
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", lib2]), Resp::bulk("d2"));
    assert_eq!(c.cmd(&["SAVE"]), Resp::ok());
    drop(ox);
    let back = tmpdir("redis-from-ox");
    std::fs::copy(odir.join("dump.rdb"), back.join("dump.rdb")).expect("copy");
    let Some(r) = Redis::start(&back) else { return };
    let mut rc = r.raw();
    assert_eq!(rc.cmd(&["FCALL", "d1f", "0"]), Resp::bulk("from d1"));
    assert_eq!(rc.cmd(&["FCALL_RO", "d2f", "0"]), Resp::Int(2));
    // And a payload from oxkey restores into Redis.
    let ox = TestServer::start_with(&["--rdb-version", "10"]);
    let mut c = ox.raw();
    c.cmd(&["FUNCTION", "LOAD", "#!lua name=d3\nredis.register_function('d3f', function() return 3 end)"]);
    let Resp::Bulk(Some(payload)) = c.cmd(&["FUNCTION", "DUMP"]) else { panic!("no payload") };
    rc.send_cmd(&[b"FUNCTION", b"RESTORE", &payload]);
    assert_eq!(rc.read(), Resp::ok());
    assert_eq!(rc.cmd(&["FCALL", "d3f", "0"]), Resp::Int(3));
}

#[test]
fn a_library_that_fails_to_load_leaves_the_others() {
    let ox = TestServer::start();
    let mut c = ox.raw();
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", LIB]), Resp::bulk("d1"));
    // A failed REPLACE keeps the old library and its functions.
    let bad = "#!lua name=d1\nredis.register_function('x', function() end) error('no')";
    assert!(matches!(c.cmd(&["FUNCTION", "LOAD", "REPLACE", bad]), Resp::Error(_)));
    assert_eq!(c.cmd(&["FCALL", "d1f", "0"]), Resp::bulk("from d1"));
    assert_eq!(c.cmd(&["FCALL", "x", "0"]), Resp::Error("ERR Function not found".into()));
    // SCRIPT FLUSH is for EVAL's cache only.
    assert_eq!(c.cmd(&["SCRIPT", "FLUSH"]), Resp::ok());
    assert_eq!(c.cmd(&["FCALL", "d1f", "0"]), Resp::bulk("from d1"));
}

#[test]
fn monitor_sees_a_functions_commands() {
    let ox = TestServer::start();
    let mut c = ox.raw();
    let lib = "#!lua name=w\nredis.register_function('w', function(k, a) redis.call('set', k[1], a[1]) return redis.call('incr', k[2]) end)";
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", lib]), Resp::bulk("w"));
    assert_eq!(c.cmd(&["FCALL", "w", "2", "k", "n", "v"]), Resp::Int(1));
    let mut m = ox.raw();
    assert_eq!(m.cmd(&["MONITOR"]), Resp::ok());
    assert_eq!(c.cmd(&["FCALL", "w", "2", "k", "n", "v"]), Resp::Int(2));
    // MONITOR shows FCALL first, then the function's commands as Redis
    // shows its script client's.
    let Resp::Simple(line) = m.read() else { panic!("monitor line") };
    assert!(line.ends_with("] \"FCALL\" \"w\" \"2\" \"k\" \"n\" \"v\""), "{line}");
    let Resp::Simple(line) = m.read() else { panic!("monitor line") };
    assert!(line.contains(" [0 lua] \"set\" \"k\" \"v\""), "{line}");
}
