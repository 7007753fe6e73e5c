//! A real `redis-server` to compare oxkey with: started from PATH on a free
//! loopback port in 7350-7399, persistence off, in its own temporary
//! directory, stopped when dropped.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

const PORTS: std::ops::Range<u16> = 7350..7400;

pub struct RedisServer {
    pub port: u16,
    child: Child,
    dir: PathBuf,
}

/// Whether `redis-server` can be run from PATH.
pub fn redis_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Decides what a test does without redis-server: under CI it is an error,
/// elsewhere the test prints why it is skipped. Returns true to go on.
pub fn require_redis(what: &str) -> bool {
    if redis_available() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what}: redis-server is not in PATH (CI=true: it is required; scripts/test-deps.sh installs it)");
    }
    eprintln!("SKIPPED {what}: redis-server is not in PATH (install redis-server, or run scripts/test-deps.sh)");
    false
}

/// Next port of the range that nothing listens on, cycling through it so
/// that servers started by one test process never collide.
fn next_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    for _ in 0..PORTS.len() {
        let port = PORTS.start + NEXT.fetch_add(1, Ordering::Relaxed) % PORTS.len() as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {PORTS:?} for redis-server");
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_with(&[])
    }

    /// Starts redis-server with extra `--name value` arguments (as given to
    /// oxkey, so both run the same configuration).
    pub fn start_with(extra: &[&str]) -> RedisServer {
        let mut last_err = String::new();
        // A port can be taken between the check and the bind: try a few.
        for _ in 0..3 {
            match Self::try_start(next_port(), extra) {
                Ok(s) => return s,
                Err(e) => last_err = e,
            }
        }
        panic!("redis-server did not start: {last_err}");
    }

    fn try_start(port: u16, extra: &[&str]) -> Result<RedisServer, String> {
        let dir = std::env::temp_dir().join(format!("oxkey-ref-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let log = std::fs::File::create(dir.join("redis.log")).map_err(|e| e.to_string())?;
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--logfile", "", "--dir"])
            .arg(&dir)
            .args(extra)
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn redis-server: {e}"))?;
        let mut s = RedisServer { port, child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = s.child.try_wait() {
                let log = std::fs::read_to_string(s.dir.join("redis.log")).unwrap_or_default();
                return Err(format!("exited with {status}: {log}"));
            }
            if ping(port) {
                return Ok(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("no PONG on port {port} within 10 s"))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// Whether the server answers (with PONG, or NOAUTH under requirepass).
fn ping(port: u16) -> bool {
    let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = c.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    c.write_all(b"PING\r\n").is_ok() && c.read_exact(&mut buf).is_ok() && (&buf == b"+PONG\r\n" || &buf == b"-NOAUTH")
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An oxkey and a redis-server side by side, both freshly started, with a
/// connection to each.
pub struct Pair {
    _ox: crate::common::TestServer,
    _redis: RedisServer,
    pub ox: crate::common::RawConn,
    pub redis: crate::common::RawConn,
}

impl Pair {
    /// Both servers, or None when the test is skipped (see `require_redis`).
    pub fn start(what: &str) -> Option<Pair> {
        if !require_redis(what) {
            return None;
        }
        let ox = crate::common::TestServer::start();
        let redis = RedisServer::start();
        let (o, r) = (ox.raw(), crate::common::RawConn::connect(redis.port));
        Some(Pair { _ox: ox, _redis: redis, ox: o, redis: r })
    }

    /// Another connection to each: (oxkey, redis).
    pub fn connect_both(&self) -> (crate::common::RawConn, crate::common::RawConn) {
        (self._ox.raw(), crate::common::RawConn::connect(self._redis.port))
    }

    /// Runs a command on both servers; the replies must be identical.
    pub fn both(&mut self, args: &[&[u8]]) -> crate::common::Resp {
        let (o, r) = (call(&mut self.ox, args), call(&mut self.redis, args));
        assert_eq!(o, r, "{}", show(args));
        r
    }

    /// Runs the commands on both servers; every reply must match.
    pub fn both_pipelined(&mut self, cmds: &[Vec<Vec<u8>>]) {
        let (o, r) = (pipeline(&mut self.ox, cmds), pipeline(&mut self.redis, cmds));
        for ((o, r), cmd) in o.iter().zip(&r).zip(cmds) {
            let args: Vec<&[u8]> = cmd.iter().map(|a| &a[..]).collect();
            assert_eq!(o, r, "{}", show(&args));
        }
    }
}

/// One command and its reply.
pub fn call(c: &mut crate::common::RawConn, args: &[&[u8]]) -> crate::common::Resp {
    c.send_cmd(args);
    c.read()
}

/// Sends all commands, then reads all replies (in chunks, to bound the
/// unread output).
pub fn pipeline(c: &mut crate::common::RawConn, cmds: &[Vec<Vec<u8>>]) -> Vec<crate::common::Resp> {
    let mut out = Vec::with_capacity(cmds.len());
    for chunk in cmds.chunks(100) {
        for cmd in chunk {
            let args: Vec<&[u8]> = cmd.iter().map(|a| &a[..]).collect();
            c.send_cmd(&args);
        }
        out.extend(chunk.iter().map(|_| c.read()));
    }
    out
}

fn show(args: &[&[u8]]) -> String {
    args.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect::<Vec<_>>().join(" ")
}
