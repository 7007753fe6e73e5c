//! Shared test support: start a real `oxkey-server` process on a free
//! loopback port, connect real clients to it, and talk raw RESP when a test
//! needs to see exact bytes.

#![allow(dead_code)]

pub mod dataset;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestServer {
    pub port: u16,
    child: Child,
    pub dir: PathBuf,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

pub fn server_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_oxkey-server"))
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    /// Starts the server with extra `--name value` arguments, in its own
    /// temporary directory, and waits until it answers. Snapshots are off
    /// (`--save ""`, as the reference servers run) unless `extra` gives
    /// save points.
    pub fn start_with(extra: &[&str]) -> TestServer {
        let s = Self::spawn(extra);
        s.wait_ready();
        s
    }

    /// Starts the server and returns as soon as it accepts connections,
    /// which may be before its dataset is loaded (-LOADING).
    pub fn start_loading(extra: &[&str]) -> TestServer {
        let s = Self::spawn(extra);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", s.port)).is_err() {
            assert!(Instant::now() < deadline, "server on port {} did not start", s.port);
            std::thread::sleep(Duration::from_millis(5));
        }
        s
    }

    fn spawn(extra: &[&str]) -> TestServer {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("oxkey-test-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create test dir");
        let mut cmd = Command::new(server_binary());
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--dir"])
            .arg(&dir)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = cmd.spawn().expect("spawn oxkey-server");
        TestServer { port, child, dir }
    }

    /// Waits until the server answers PING (its dataset loaded).
    pub fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(mut c) = TcpStream::connect(("127.0.0.1", self.port)) {
                if c.write_all(b"PING\r\n").is_ok() {
                    // PONG once loaded (-LOADING before), or NOAUTH.
                    let mut buf = [0u8; 7];
                    if c.read_exact(&mut buf).is_ok() && (&buf == b"+PONG\r\n" || &buf == b"-NOAUTH") {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("server on port {} did not start", self.port);
    }

    pub fn client(&self) -> redis::Connection {
        let c = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port)).expect("client");
        c.get_connection().expect("connect")
    }

    pub fn raw(&self) -> RawConn {
        RawConn::connect(self.port)
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A RESP value as read off the wire, for exact-reply assertions.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
    /// RESP3 types, kept apart so tests can tell them from RESP2 ones.
    Null,
    Double(String),
    Bool(bool),
    Map(Vec<(Resp, Resp)>),
    Set(Vec<Resp>),
    Push(Vec<Resp>),
    Verbatim(String, Vec<u8>),
    BigNumber(String),
}

impl Resp {
    pub fn bulk(s: &str) -> Resp {
        Resp::Bulk(Some(s.as_bytes().to_vec()))
    }
    pub fn ok() -> Resp {
        Resp::Simple("OK".into())
    }
}

pub struct RawConn {
    pub reader: BufReader<TcpStream>,
}

impl RawConn {
    pub fn connect(port: u16) -> RawConn {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        s.set_nodelay(true).expect("nodelay");
        RawConn { reader: BufReader::new(s) }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("write");
    }

    /// Sends a command as a RESP multibulk.
    pub fn send_cmd(&mut self, args: &[&[u8]]) {
        self.send(&encode_cmd(args));
    }

    pub fn cmd(&mut self, args: &[&str]) -> Resp {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        self.send_cmd(&args);
        self.read()
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader.read_line(&mut l).expect("read line");
        assert!(l.ends_with("\r\n"), "line not terminated: {l:?}");
        l.truncate(l.len() - 2);
        l
    }

    pub fn read(&mut self) -> Resp {
        let l = self.line();
        let (t, rest) = l.split_at(1);
        let n = || rest.parse::<i64>().expect("length");
        match t {
            "+" => Resp::Simple(rest.into()),
            "-" => Resp::Error(rest.into()),
            ":" => Resp::Int(n()),
            "$" => {
                if n() < 0 {
                    return Resp::Bulk(None);
                }
                let mut b = vec![0u8; n() as usize + 2];
                self.reader.read_exact(&mut b).expect("bulk");
                b.truncate(b.len() - 2);
                Resp::Bulk(Some(b))
            }
            "*" => {
                if n() < 0 {
                    return Resp::Array(None);
                }
                Resp::Array(Some((0..n()).map(|_| self.read()).collect()))
            }
            "_" => Resp::Null,
            "," => Resp::Double(rest.into()),
            "#" => Resp::Bool(rest == "t"),
            "(" => Resp::BigNumber(rest.into()),
            "%" => Resp::Map((0..n()).map(|_| (self.read(), self.read())).collect()),
            "~" => Resp::Set((0..n()).map(|_| self.read()).collect()),
            ">" => Resp::Push((0..n()).map(|_| self.read()).collect()),
            "=" => {
                let mut b = vec![0u8; n() as usize + 2];
                self.reader.read_exact(&mut b).expect("verbatim");
                b.truncate(b.len() - 2);
                let body = b.split_off(4);
                Resp::Verbatim(String::from_utf8_lossy(&b[..3]).into(), body)
            }
            other => panic!("unexpected reply type {other:?} in {l:?}"),
        }
    }

    /// True once the server has closed the connection (EOF within 2 s).
    pub fn closed(&mut self) -> bool {
        self.reader.get_ref().set_read_timeout(Some(Duration::from_secs(2))).expect("timeout");
        let mut b = [0u8; 1];
        matches!(self.reader.read(&mut b), Ok(0))
    }
}

pub fn bulk(s: &str) -> Resp {
    Resp::bulk(s)
}

pub fn err(s: &str) -> Resp {
    Resp::Error(s.into())
}

pub fn bulks(items: &[&str]) -> Resp {
    Resp::Array(Some(items.iter().map(|s| bulk(s)).collect()))
}

/// Runs each command and checks its reply.
pub fn steps(c: &mut RawConn, steps: &[(&[&str], Resp)]) {
    for (args, want) in steps {
        assert_eq!(&c.cmd(args), want, "{args:?}");
    }
}

/// OBJECT ENCODING of `key`.
pub fn encoding(c: &mut RawConn, key: &str) -> String {
    match c.cmd(&["OBJECT", "ENCODING", key]) {
        Resp::Bulk(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("OBJECT ENCODING {key}: {other:?}"),
    }
}

pub fn encode_cmd(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}
