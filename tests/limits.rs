//! Client and network limits against a real oxkey-server over real
//! sockets: maxclients, timeout, tcp-keepalive, tcp-backlog, output and
//! query buffer limits (in both connection modes), protected mode, the unix
//! socket, CLIENT LIST's buffer fields, the slow log's client fields, the
//! redis-cli tools that read INFO, and resource exhaustion before AUTH.
//! Where Redis's behaviour is observable, the same scenario runs against
//! redis-server 7.0 and the outcomes are compared.

mod common;
mod reference;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{encode_cmd, Resp, TestServer};
use reference::{require_redis, RedisServer};

/// Both connection modes: connection tasks on the executor's thread, and
/// on I/O threads.
const MODES: &[&[&str]] = &[&[], &["--io-threads", "2"]];

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn connect(port: u16) -> TcpStream {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// Everything the server sends within `idle` of silence, with `<closed>`
/// appended when it closed the connection (or reset it).
fn drain<S: Read>(s: &mut S, idle: Duration, set_timeout: impl Fn(&S, Duration)) -> Vec<u8> {
    set_timeout(s, idle);
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => {
                out.extend_from_slice(b"<closed>");
                break;
            }
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                out.extend_from_slice(b"<closed>");
                break;
            }
            Err(_) => break,
        }
    }
    out
}

fn drain_tcp(s: &mut TcpStream, idle: Duration) -> Vec<u8> {
    drain(s, idle, |s, d| s.set_read_timeout(Some(d)).expect("timeout"))
}

/// Sends one command and reads its whole reply (a short request-reply
/// exchange: the reply is complete when the server goes quiet).
fn exchange(s: &mut TcpStream, args: &[&str]) -> String {
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    s.write_all(&encode_cmd(&args)).expect("write");
    String::from_utf8_lossy(&drain_tcp(s, Duration::from_millis(300))).into_owned()
}

/// An INFO field read over a fresh connection.
fn info_field(port: u16, field: &str) -> Option<String> {
    let mut c = connect(port);
    let text = exchange(&mut c, &["INFO", "everything"]);
    text.lines().find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
}

/// Waits until the server counts `n` connected clients (the one asking
/// included), so that connections closed just before are gone.
fn wait_clients(port: u16, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if info_field(port, "connected_clients").as_deref() == Some(&n.to_string()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("connected_clients never reached {n}");
}

/// A connection whose receive buffer is as small as the kernel allows
/// (set before connecting, so that the window is small from the start), so
/// that replies it never reads back up into the server at once.
fn stuck_client(port: u16) -> TcpStream {
    let s = tcp_from([127, 0, 0, 1], port, Some(4096)).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// Fills list `l` with `n` elements of 1000 bytes (about n kB per LRANGE).
fn fill_list(port: u16, n: usize) {
    let mut c = connect(port);
    let elem = vec![b'x'; 1000];
    for _ in 0..n / 100 {
        let mut args: Vec<&[u8]> = vec![b"RPUSH", b"l"];
        args.extend(std::iter::repeat_n(&elem[..], 100));
        c.write_all(&encode_cmd(&args)).expect("rpush");
    }
    let got = drain_tcp(&mut c, Duration::from_millis(300));
    assert!(String::from_utf8_lossy(&got).ends_with(&format!(":{n}\r\n")), "list filled");
}

// ---- maxclients ------------------------------------------------------------

/// Opens `maxclients` connections and one more; returns what the one too
/// many receives.
fn over_maxclients(port: u16) -> Vec<u8> {
    wait_clients(port, 1);
    let mut first = connect(port);
    assert_eq!(exchange(&mut first, &["PING"]), "+PONG\r\n");
    let mut second = connect(port);
    assert_eq!(exchange(&mut second, &["PING"]), "+PONG\r\n");
    let mut refused = connect(port);
    let got = drain_tcp(&mut refused, Duration::from_secs(2));
    assert_eq!(exchange(&mut first, &["PING"]), "+PONG\r\n", "admitted clients go on");
    got
}

#[test]
fn maxclients_refuses_the_next_client_with_redis_error() {
    let expected: &[u8] = b"-ERR max number of clients reached\r\n<closed>";
    for mode in MODES {
        let mut args = vec!["--maxclients", "2"];
        args.extend_from_slice(mode);
        let srv = TestServer::start_with(&args);
        assert_eq!(over_maxclients(srv.port), expected, "mode {mode:?}");
        let mut c = connect(srv.port);
        let stats = exchange(&mut c, &["INFO", "stats"]);
        assert!(stats.contains("rejected_connections:1\r\n"), "{stats}");
    }
    if require_redis("maxclients against redis-server") {
        let redis = RedisServer::start_with(&["--maxclients", "2"]);
        assert_eq!(over_maxclients(redis.port), expected);
    }
}

// ---- timeout ---------------------------------------------------------------

#[test]
fn idle_clients_are_closed_but_not_subscribers_or_blocked_clients() {
    for mode in MODES {
        let mut args = vec!["--timeout", "1"];
        args.extend_from_slice(mode);
        let srv = TestServer::start_with(&args);
        let mut idle = connect(srv.port);
        assert_eq!(exchange(&mut idle, &["PING"]), "+PONG\r\n");
        let mut subscriber = connect(srv.port);
        assert!(exchange(&mut subscriber, &["SUBSCRIBE", "ch"]).starts_with("*3\r\n"));
        let mut blocked = connect(srv.port);
        blocked.write_all(&encode_cmd(&[b"BLPOP", b"q", b"0"])).expect("blpop");
        std::thread::sleep(Duration::from_millis(3500));
        assert_eq!(drain_tcp(&mut idle, Duration::from_secs(1)), b"<closed>", "idle client closed ({mode:?})");
        let mut other = connect(srv.port);
        assert_eq!(exchange(&mut other, &["PUBLISH", "ch", "hi"]), ":1\r\n");
        assert_eq!(
            String::from_utf8_lossy(&drain_tcp(&mut subscriber, Duration::from_millis(300))),
            "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"
        );
        assert_eq!(exchange(&mut other, &["RPUSH", "q", "v"]), ":1\r\n");
        // Served, it is an idle client again (and may be closed at once).
        let served = String::from_utf8_lossy(&drain_tcp(&mut blocked, Duration::from_millis(300))).into_owned();
        assert!(served.starts_with("*2\r\n$1\r\nq\r\n$1\r\nv\r\n"), "{served}");
    }
}

// ---- tcp-keepalive, tcp-backlog ----------------------------------------------

/// The `tr` (timer) field of the server's end of a connection in
/// /proc/net/tcp: 02 while a keepalive timer runs, 00 when none does.
fn server_side_timer(server_port: u16, client: &TcpStream) -> Option<String> {
    let client_port = client.local_addr().ok()?.port();
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let hex_port = |addr: &str| addr.rsplit(':').next().and_then(|p| u16::from_str_radix(p, 16).ok());
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (local, remote, timer) = (f.get(1)?, f.get(2)?, f.get(5)?);
        (hex_port(local)? == server_port && hex_port(remote)? == client_port)
            .then(|| timer.split(':').next().unwrap_or_default().to_string())
    })
}

#[test]
fn tcp_keepalive_arms_a_keepalive_timer_on_accepted_sockets() {
    for mode in MODES {
        let mut args = vec!["--tcp-keepalive", "100"];
        args.extend_from_slice(mode);
        let srv = TestServer::start_with(&args);
        let mut c = connect(srv.port);
        assert_eq!(exchange(&mut c, &["PING"]), "+PONG\r\n");
        assert_eq!(server_side_timer(srv.port, &c).as_deref(), Some("02"), "keepalive timer ({mode:?})");
        // Applies to connections accepted after CONFIG SET, as in Redis.
        assert_eq!(exchange(&mut c, &["CONFIG", "SET", "tcp-keepalive", "0"]), "+OK\r\n");
        let mut d = connect(srv.port);
        assert_eq!(exchange(&mut d, &["PING"]), "+PONG\r\n");
        assert_eq!(server_side_timer(srv.port, &d).as_deref(), Some("00"), "no timer ({mode:?})");
    }
}

#[test]
fn tcp_backlog_sizes_the_listen_queue() {
    let Ok(out) = Command::new("ss").arg("-V").output() else {
        eprintln!("SKIPPED tcp_backlog: `ss` (iproute2) is not installed");
        return;
    };
    assert!(out.status.success());
    let somaxconn: u32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(4096);
    let srv = TestServer::start_with(&["--tcp-backlog", "37"]);
    let out = Command::new("ss").args(["-Hltn", &format!("sport = :{}", srv.port)]).output().expect("ss");
    let text = String::from_utf8_lossy(&out.stdout);
    // State Recv-Q Send-Q Local Peer: for a listener Send-Q is the backlog.
    let send_q: u32 = text.split_whitespace().nth(2).and_then(|v| v.parse().ok()).expect("ss line");
    assert_eq!(send_q, 37.min(somaxconn), "{text}");
}

// ---- output buffer limits --------------------------------------------------

#[test]
fn a_client_pipelining_big_replies_it_never_reads_is_disconnected() {
    for mode in MODES {
        let srv = TestServer::start_with(mode);
        fill_list(srv.port, 1000);
        let mut admin = connect(srv.port);
        assert_eq!(exchange(&mut admin, &["CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"]), "+OK\r\n");
        let before = rss_kb(srv.pid());
        // 300 replies of 1 MB each: 300 MB if the server kept them.
        let mut stuck = stuck_client(srv.port);
        stuck.write_all(&b"LRANGE l 0 -1\r\n".repeat(300)).expect("pipeline");
        std::thread::sleep(Duration::from_millis(1500));
        let after = rss_kb(srv.pid());
        assert!(after < before + 100 * 1024, "RSS grew from {before} kB to {after} kB ({mode:?})");
        let got = drain_tcp(&mut stuck, Duration::from_secs(5));
        assert!(got.ends_with(b"<closed>"), "disconnected ({mode:?})");
        assert!(got.len() < 4 << 20, "its pending replies were dropped, not sent ({} bytes)", got.len());
        let list = exchange(&mut admin, &["CLIENT", "LIST"]);
        assert_eq!(list.matches(" addr=").count(), 1, "only the admin is left: {list}");
        // A client that reads gets the same reply, within the limit.
        let mut reader = common::RawConn::connect(srv.port);
        reader.send(b"LRANGE l 0 9\r\n");
        assert!(matches!(reader.read(), Resp::Array(Some(v)) if v.len() == 10));
    }
    if require_redis("output buffer limit against redis-server") {
        let redis = RedisServer::start();
        fill_list(redis.port, 1000);
        let mut admin = connect(redis.port);
        exchange(&mut admin, &["CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0"]);
        let mut stuck = stuck_client(redis.port);
        stuck.write_all(&b"LRANGE l 0 -1\r\n".repeat(300)).expect("pipeline");
        std::thread::sleep(Duration::from_millis(1500));
        assert!(drain_tcp(&mut stuck, Duration::from_secs(5)).ends_with(b"<closed>"), "redis disconnects too");
    }
}

#[test]
fn the_soft_output_limit_closes_after_its_seconds() {
    for mode in MODES {
        let srv = TestServer::start_with(mode);
        fill_list(srv.port, 1000);
        let mut admin = connect(srv.port);
        assert_eq!(
            exchange(&mut admin, &["CONFIG", "SET", "client-output-buffer-limit", "normal 0 256kb 1"]),
            "+OK\r\n"
        );
        let mut stuck = stuck_client(srv.port);
        // 20 MB: more than the kernel's socket buffers hold.
        stuck.write_all(&b"LRANGE l 0 -1\r\n".repeat(20)).expect("pipeline");
        std::thread::sleep(Duration::from_millis(500));
        let list = exchange(&mut admin, &["CLIENT", "LIST"]);
        assert_eq!(list.matches(" addr=").count(), 2, "still connected within its second ({mode:?}): {list}");
        // Redis closes once the soft limit held for more than 1 s (whole
        // seconds, checked by the cron).
        std::thread::sleep(Duration::from_millis(3000));
        let list = exchange(&mut admin, &["CLIENT", "LIST"]);
        assert_eq!(list.matches(" addr=").count(), 1, "closed after its seconds ({mode:?}): {list}");
        assert!(drain_tcp(&mut stuck, Duration::from_secs(5)).ends_with(b"<closed>"));
    }
}

#[test]
fn a_subscriber_that_never_reads_is_disconnected_in_both_modes() {
    for mode in MODES {
        let srv = TestServer::start_with(mode);
        let mut admin = connect(srv.port);
        assert_eq!(
            exchange(&mut admin, &["CONFIG", "SET", "client-output-buffer-limit", "pubsub 256kb 0 0"]),
            "+OK\r\n"
        );
        let mut sub = stuck_client(srv.port);
        sub.write_all(&encode_cmd(&[b"SUBSCRIBE", b"ch"])).expect("subscribe");
        std::thread::sleep(Duration::from_millis(200));
        // jemalloc keeps freed pages for a while: purge them before each
        // reading, so that RSS shows what the server still holds.
        assert_eq!(exchange(&mut admin, &["MEMORY", "PURGE"]), "+OK\r\n");
        let before = rss_kb(srv.pid());
        let msg = "m".repeat(10_000);
        let mut publisher = connect(srv.port);
        // 2000 messages of 10 kB: 20 MB if the server kept them.
        let mut batch = Vec::new();
        for _ in 0..2000 {
            batch.extend(encode_cmd(&[b"PUBLISH", b"ch", msg.as_bytes()]));
        }
        publisher.write_all(&batch).expect("publish");
        let replies = String::from_utf8_lossy(&drain_tcp(&mut publisher, Duration::from_millis(500))).into_owned();
        assert!(replies.starts_with(":1\r\n"), "delivered at first ({mode:?})");
        assert!(replies.ends_with(":0\r\n"), "then the subscriber is gone ({mode:?})");
        assert_eq!(exchange(&mut admin, &["PUBSUB", "NUMSUB", "ch"]), "*2\r\n$2\r\nch\r\n:0\r\n");
        assert_eq!(exchange(&mut admin, &["MEMORY", "PURGE"]), "+OK\r\n");
        let after = rss_kb(srv.pid());
        assert!(after < before + 16 * 1024, "RSS grew from {before} kB to {after} kB ({mode:?})");
        assert!(drain_tcp(&mut sub, Duration::from_secs(5)).ends_with(b"<closed>"));
    }
}

// ---- query buffer limit, proto-max-bulk-len ------------------------------------

fn over_query_limit(port: u16) -> Vec<u8> {
    let mut admin = connect(port);
    assert_eq!(exchange(&mut admin, &["CONFIG", "SET", "client-query-buffer-limit", "1mb"]), "+OK\r\n");
    let mut c = connect(port);
    let mut input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n".to_vec();
    input.extend(vec![b'x'; 1_500_000]);
    // The server may close before all of it is written.
    let _ = c.write_all(&input);
    drain_tcp(&mut c, Duration::from_secs(2))
}

#[test]
fn a_query_buffer_over_its_limit_closes_the_connection() {
    for mode in MODES {
        let srv = TestServer::start_with(mode);
        assert_eq!(over_query_limit(srv.port), b"<closed>", "{mode:?}");
        let mut c = connect(srv.port);
        assert_eq!(exchange(&mut c, &["EXISTS", "k"]), ":0\r\n");
    }
    if require_redis("query buffer limit against redis-server") {
        let redis = RedisServer::start();
        assert_eq!(over_query_limit(redis.port), b"<closed>");
    }
}

// ---- protected mode --------------------------------------------------------

/// Connects from 127.0.0.2: loopback, but not local for Redis 7.0, whose
/// protected mode accepts only 127.0.0.1 and ::1.
fn from_other_address(port: u16, input: &[u8]) -> Vec<u8> {
    let mut sock = tcp_from([127, 0, 0, 2], port, None).expect("connect from 127.0.0.2");
    let _ = sock.write_all(input);
    drain_tcp(&mut sock, Duration::from_secs(1))
}

/// A TCP connection to 127.0.0.1:`port` from the source address `src`,
/// with a receive buffer of `rcvbuf` bytes if given.
fn tcp_from(src: [u8; 4], port: u16, rcvbuf: Option<i32>) -> std::io::Result<TcpStream> {
    use std::os::fd::FromRawFd;
    #[repr(C)]
    struct SockaddrIn {
        family: u16,
        port: u16,
        addr: [u8; 4],
        zero: [u8; 8],
    }
    extern "C" {
        fn socket(domain: i32, kind: i32, protocol: i32) -> i32;
        fn bind(fd: i32, addr: *const SockaddrIn, len: u32) -> i32;
        fn connect(fd: i32, addr: *const SockaddrIn, len: u32) -> i32;
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const std::ffi::c_void, len: u32) -> i32;
    }
    const SOL_SOCKET: i32 = 1;
    const SO_RCVBUF: i32 = 8;
    const AF_INET: u16 = 2;
    const SOCK_STREAM: i32 = 1;
    let len = std::mem::size_of::<SockaddrIn>() as u32;
    let from = SockaddrIn { family: AF_INET, port: 0, addr: src, zero: [0; 8] };
    let to = SockaddrIn { family: AF_INET, port: port.to_be(), addr: [127, 0, 0, 1], zero: [0; 8] };
    // SAFETY: a new socket, owned by the TcpStream from then on (which
    // closes it), gets an int option, is bound and connected with valid
    // sockaddr_in values.
    unsafe {
        let fd = socket(AF_INET as i32, SOCK_STREAM, 0);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        if let Some(bytes) = rcvbuf {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes as *const i32 as *const _, 4);
        }
        if bind(fd, &from, len) != 0 || connect(fd, &to, len) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(stream)
    }
}

const DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n<closed>";

#[test]
fn protected_mode_denies_clients_that_are_not_local() {
    for mode in MODES {
        let srv = TestServer::start_with(mode);
        assert_eq!(from_other_address(srv.port, b"PING\r\n"), DENIED, "{mode:?}");
        let mut local = connect(srv.port);
        let stats = exchange(&mut local, &["INFO", "stats"]);
        assert!(stats.contains("rejected_connections:1\r\n"), "{stats}");
        // Turned off at run time from a local client, or a password set.
        assert_eq!(exchange(&mut local, &["CONFIG", "SET", "protected-mode", "no"]), "+OK\r\n");
        assert_eq!(from_other_address(srv.port, b"PING\r\n"), b"+PONG\r\n");
        assert_eq!(exchange(&mut local, &["CONFIG", "SET", "protected-mode", "yes"]), "+OK\r\n");
        assert_eq!(exchange(&mut local, &["CONFIG", "SET", "requirepass", "pw"]), "+OK\r\n");
        assert_eq!(from_other_address(srv.port, b"PING\r\n"), b"-NOAUTH Authentication required.\r\n");
    }
    if require_redis("protected mode against redis-server") {
        let redis = RedisServer::start();
        assert_eq!(from_other_address(redis.port, b"PING\r\n"), DENIED);
    }
}

/// Runs `ip` with arguments; whether it succeeded.
fn ip(args: &[&str]) -> bool {
    Command::new("ip").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// A network namespace of this test's own, deleted when dropped.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        ip(&["netns", "del", &self.0]);
    }
}

#[test]
fn protected_mode_denies_a_client_from_another_interface_address() {
    // In a namespace of our own, an address that is not loopback is put on
    // its `lo`; a client connecting to it comes from that address.
    let ns = Netns(format!("oxkey-limits-{}", std::process::id()));
    if !ip(&["netns", "add", &ns.0]) {
        eprintln!("SKIPPED protected mode in a netns: cannot create a network namespace (needs root and iproute2)");
        return;
    }
    assert!(ip(&["-n", &ns.0, "link", "set", "lo", "up"]));
    assert!(ip(&["-n", &ns.0, "addr", "add", "10.231.7.1/32", "dev", "lo"]));
    if Command::new("redis-cli").arg("--version").output().is_err() {
        eprintln!("SKIPPED protected mode in a netns: redis-cli is not installed");
        return;
    }
    let port = "7399";
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.0])
        .arg(common::server_binary())
        .args(["--port", port, "--save", ""])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server in the namespace");
    let cli = |host: &str| -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &ns.0, "redis-cli", "-h", host, "-p", port, "PING"])
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while cli("127.0.0.1") != "PONG" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let denied = cli("10.231.7.1");
    let _ = child.kill();
    let _ = child.wait();
    let expected = String::from_utf8_lossy(&DENIED[1..DENIED.len() - "\r\n<closed>".len()]).into_owned();
    assert_eq!(denied, expected);
}

// ---- unix socket -----------------------------------------------------------

#[test]
fn the_unix_socket_serves_clients_with_its_permissions() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    for mode in MODES {
        let dir = std::env::temp_dir().join(format!("oxkey-unix-{}-{}", std::process::id(), mode.len()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("oxkey.sock");
        // A stale file at the path is replaced, as Redis unlinks it.
        std::fs::write(&path, b"stale").expect("stale file");
        let path_str = path.to_string_lossy().into_owned();
        let mut args = vec!["--unixsocket", path_str.as_str(), "--unixsocketperm", "700"];
        args.extend_from_slice(mode);
        let srv = TestServer::start_with(&args);
        let mut monitor = connect(srv.port);
        assert_eq!(exchange(&mut monitor, &["MONITOR"]), "+OK\r\n");
        let meta = std::fs::metadata(&path).expect("socket file");
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o700);
        let mut u = UnixStream::connect(&path).expect("connect unix");
        u.write_all(b"PING\r\nSET k v\r\nGET k\r\nCLIENT INFO\r\n").expect("write");
        let idle = |s: &UnixStream, d: Duration| s.set_read_timeout(Some(d)).expect("timeout");
        let got = String::from_utf8_lossy(&drain(&mut u, Duration::from_millis(300), idle)).into_owned();
        assert!(got.starts_with("+PONG\r\n+OK\r\n$1\r\nv\r\n"), "{got}");
        // As Redis 7.0: both ends named `path:0`, flag U.
        assert!(got.contains(&format!(" addr={path_str}:0 laddr={path_str}:0 ")), "{got}");
        assert!(got.contains(" flags=U "), "{got}");
        // MONITOR names the socket, as Redis: `[db unix:path]`.
        let idle = |s: &TcpStream, d: Duration| s.set_read_timeout(Some(d)).expect("timeout");
        let fed = String::from_utf8_lossy(&drain(&mut monitor, Duration::from_millis(300), idle)).into_owned();
        assert!(fed.contains(&format!(" [0 unix:{path_str}] \"PING\"\r\n")), "{fed}");
        if let Ok(out) = Command::new("redis-cli").args(["-s", &path_str, "PING"]).output() {
            assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "PONG");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// ---- CLIENT LIST fields, slow log ------------------------------------------------

/// The `name=value` fields of the CLIENT LIST line of the client on `port`
/// whose local port is `client_port`.
fn client_fields(admin: &mut TcpStream, client_port: u16) -> std::collections::HashMap<String, String> {
    let list = exchange(admin, &["CLIENT", "LIST"]);
    let line = list
        .lines()
        .find(|l| l.contains(&format!(" addr=127.0.0.1:{client_port} ")))
        .unwrap_or_else(|| panic!("client {client_port} in {list}"));
    line.split(' ').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn local_port(s: &TcpStream) -> u16 {
    s.local_addr().map(|a: SocketAddr| a.port()).expect("local addr")
}

#[test]
fn client_list_shows_real_buffer_and_transaction_fields() {
    for mode in MODES {
        let srv = TestServer::start_with(mode);
        let mut admin = connect(srv.port);
        // A transaction with one queued command.
        let mut tx = connect(srv.port);
        assert_eq!(exchange(&mut tx, &["MULTI"]), "+OK\r\n");
        assert_eq!(exchange(&mut tx, &["SET", "k", "vvvv"]), "+QUEUED\r\n");
        let f = client_fields(&mut admin, local_port(&tx));
        assert_eq!(f["multi"], "1");
        assert_eq!(f["flags"], "x");
        assert!(f["multi-mem"].parse::<usize>().expect("multi-mem") >= 8, "{f:?}");
        assert_eq!(f["cmd"], "set");
        // Half a request waits in the query buffer.
        let mut partial = connect(srv.port);
        partial.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc").expect("partial");
        std::thread::sleep(Duration::from_millis(200));
        let f = client_fields(&mut admin, local_port(&partial));
        assert_eq!(f["qbuf"], "3", "{mode:?} {f:?}");
        // Output the client does not read waits to be written.
        fill_list(srv.port, 1000);
        // More than the kernel buffers take: 10 MB.
        let mut stuck = stuck_client(srv.port);
        stuck.write_all(&b"LRANGE l 0 -1\r\n".repeat(10)).expect("lrange");
        std::thread::sleep(Duration::from_millis(300));
        let f = client_fields(&mut admin, local_port(&stuck));
        assert_eq!(f["events"], "rw", "{f:?}");
        assert!(f["omem"].parse::<usize>().expect("omem") > 100_000, "{f:?}");
        assert!(f["tot-mem"].parse::<usize>().expect("tot-mem") > 100_000, "{f:?}");
        assert_eq!(f["cmd"], "lrange");
    }
    if require_redis("CLIENT LIST fields against redis-server") {
        // The same partial request shows the same qbuf in Redis.
        let redis = RedisServer::start();
        let mut admin = connect(redis.port);
        let mut partial = connect(redis.port);
        partial.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc").expect("partial");
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(client_fields(&mut admin, local_port(&partial))["qbuf"], "3");
    }
}

#[test]
fn slowlog_entries_name_the_client_and_its_address() {
    let srv = TestServer::start();
    let mut c = common::RawConn::connect(srv.port);
    let port = c.reader.get_ref().local_addr().expect("addr").port();
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "reporter"]), Resp::ok());
    assert_eq!(c.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]), Resp::ok());
    assert_eq!(c.cmd(&["PING", "hello"]), Resp::bulk("hello"));
    let Resp::Array(Some(entries)) = c.cmd(&["SLOWLOG", "GET", "1"]) else { panic!("slowlog") };
    let Resp::Array(Some(entry)) = &entries[0] else { panic!("entry") };
    assert_eq!(entry[3], Resp::Array(Some(vec![Resp::bulk("PING"), Resp::bulk("hello")])));
    assert_eq!(entry[4], Resp::bulk(&format!("127.0.0.1:{port}")));
    assert_eq!(entry[5], Resp::bulk("reporter"));
}

// ---- redis-cli tools and INFO ----------------------------------------------

fn redis_cli(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new("redis-cli").arg("-p").arg(port.to_string()).args(args).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn sample_dataset(port: u16) {
    let mut c = connect(port);
    for cmd in [
        &["SET", "s", "0123456789"][..],
        &["RPUSH", "l", "a", "b", "c"],
        &["HSET", "h", "f", "v"],
        &["SADD", "st", "a", "b"],
        &["ZADD", "z", "1", "a"],
    ] {
        assert!(!exchange(&mut c, cmd).starts_with('-'));
    }
}

/// The summary of `redis-cli --bigkeys` (what follows "-------- summary").
fn bigkeys_summary(port: u16) -> Option<String> {
    let out = redis_cli(port, &["--bigkeys"])?;
    Some(out.split("-------- summary -------").nth(1)?.trim().to_string())
}

#[test]
fn redis_cli_bigkeys_sees_what_redis_shows() {
    if redis_cli(1, &["--version"]).is_none() {
        eprintln!("SKIPPED redis-cli --bigkeys: redis-cli is not installed");
        return;
    }
    let srv = TestServer::start();
    sample_dataset(srv.port);
    let ours = bigkeys_summary(srv.port).expect("summary");
    assert!(ours.contains("Sampled 5 keys in the keyspace!"), "{ours}");
    assert!(ours.contains("Biggest string found '\"s\"' has 10 bytes"), "{ours}");
    if require_redis("redis-cli --bigkeys against redis-server") {
        let redis = RedisServer::start();
        sample_dataset(redis.port);
        assert_eq!(ours, bigkeys_summary(redis.port).expect("redis summary"));
    }
}

#[test]
fn redis_cli_memkeys_reports_sizes_when_memory_usage_exists() {
    let srv = TestServer::start();
    sample_dataset(srv.port);
    let mut c = connect(srv.port);
    // MEMORY USAGE comes with the memory accounting work; until then
    // --memkeys can only warn, and this test says so.
    if exchange(&mut c, &["MEMORY", "USAGE", "s"]).starts_with('-') {
        eprintln!("SKIPPED redis-cli --memkeys: oxkey has no MEMORY USAGE yet");
        return;
    }
    let Some(out) = redis_cli(srv.port, &["--memkeys"]) else { return };
    assert!(!out.contains("failed"), "{out}");
    assert!(out.contains("Sampled 5 keys in the keyspace!"), "{out}");
    assert!(out.contains("1 strings with "), "{out}");
}

#[test]
fn redis_cli_stat_and_latency_read_oxkey() {
    if redis_cli(1, &["--version"]).is_none() {
        eprintln!("SKIPPED redis-cli --stat/--latency: redis-cli is not installed");
        return;
    }
    let srv = TestServer::start();
    sample_dataset(srv.port);
    // --stat prints a line a second until stopped.
    let mut child = Command::new("stdbuf")
        .args(["-o0", "redis-cli", "-p", &srv.port.to_string(), "--stat", "-i", "0.5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-cli --stat");
    std::thread::sleep(Duration::from_millis(1800));
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> =
        text.lines().skip(2).map(|l| l.split_whitespace().collect()).filter(|r: &Vec<&str>| r.len() >= 6).collect();
    assert!(rows.len() >= 2, "{text}");
    for r in &rows {
        // keys mem clients blocked requests (+delta) connections
        assert_eq!(r[0], "5", "{text}");
        assert!(r[1].ends_with('K') || r[1].ends_with('M'), "{text}");
        assert_eq!(r[2], "1", "{text}");
        assert_eq!(r[3], "0", "{text}");
        assert!(r[4].parse::<u64>().is_ok() && r[5].starts_with("(+"), "{text}");
    }
    // Not on a terminal, --latency samples for the interval and prints
    // "min max avg samples" once.
    let out = redis_cli(srv.port, &["--latency", "-i", "1"]).expect("--latency");
    let f: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(f.len(), 4, "{out}");
    let (min, max, avg, n): (u64, u64, f64, u64) =
        (f[0].parse().unwrap(), f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap());
    assert!(min <= max && avg <= max as f64 && n >= 10, "{out}");
}

#[test]
fn info_has_the_fields_monitoring_scripts_read() {
    let srv = TestServer::start();
    sample_dataset(srv.port);
    let mut c = connect(srv.port);
    let info = exchange(&mut c, &["INFO"]);
    let body = info.split_once("\r\n").map(|(_, b)| b).unwrap_or_default();
    let mut sections = Vec::new();
    for line in body.lines().filter(|l| !l.is_empty()) {
        if let Some(title) = line.strip_prefix("# ") {
            sections.push(title.to_string());
        } else {
            assert!(line.split_once(':').is_some_and(|(k, _)| !k.is_empty()), "not a field: {line:?}");
        }
    }
    // Redis 7.0's default sections, in its order.
    assert_eq!(
        sections,
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Modules",
            "Errorstats",
            "Cluster",
            "Keyspace"
        ]
    );
    for field in [
        "used_memory",
        "used_memory_human",
        "used_memory_rss",
        "mem_fragmentation_ratio",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "keyspace_hits",
        "keyspace_misses",
        "connected_clients",
        "blocked_clients",
        "total_connections_received",
        "rdb_changes_since_last_save",
        "rdb_last_save_time",
        "aof_enabled",
    ] {
        assert!(body.contains(&format!("\n{field}:")), "INFO lacks {field}");
    }
    assert!(body.contains("db0:keys=5,expires=0,avg_ttl=0"), "{body}");
}

// ---- resource exhaustion ---------------------------------------------------

#[test]
fn many_connections_announcing_huge_requests_cost_only_what_they_send() {
    for mode in MODES {
        let srv = TestServer::start_with(mode);
        let before = rss_kb(srv.pid());
        let mut conns = Vec::new();
        for _ in 0..200 {
            let mut c = connect(srv.port);
            let mut input = b"*1048576\r\n$536870912\r\n".to_vec();
            input.extend(vec![b'x'; 32 * 1024]);
            c.write_all(&input).expect("write");
            conns.push(c);
        }
        std::thread::sleep(Duration::from_millis(500));
        let after = rss_kb(srv.pid());
        // 200 x 32 KiB arrived: a few tens of MB at most, not 200 x 512 MB.
        assert!(after < before + 64 * 1024, "RSS grew from {before} kB to {after} kB ({mode:?})");
        let mut c = connect(srv.port);
        assert_eq!(exchange(&mut c, &["PING"]), "+PONG\r\n");
    }
}

#[test]
fn unread_replies_before_auth_stay_bounded_with_io_threads() {
    let srv = TestServer::start_with(&["--requirepass", "secret", "--io-threads", "2"]);
    let before = rss_kb(srv.pid());
    let mut clients = Vec::new();
    for _ in 0..8 {
        let mut c = stuck_client(srv.port);
        c.set_write_timeout(Some(Duration::from_millis(500))).expect("timeout");
        let pings = b"PING\r\n".repeat(16 * 1024);
        for _ in 0..32 {
            // Stops being accepted once the server stops reading.
            if c.write_all(&pings).is_err() {
                break;
            }
        }
        clients.push(c);
    }
    std::thread::sleep(Duration::from_millis(300));
    let after = rss_kb(srv.pid());
    assert!(after < before + 64 * 1024, "RSS grew from {before} kB to {after} kB");
    let mut c = connect(srv.port);
    assert_eq!(exchange(&mut c, &["AUTH", "secret"]), "+OK\r\n");
}

#[test]
fn client_kill_ends_a_client_whose_output_is_stuck() {
    for mode in MODES {
        let srv = TestServer::start_with(mode);
        fill_list(srv.port, 1000);
        let mut stuck = stuck_client(srv.port);
        stuck.write_all(&b"LRANGE l 0 -1\r\n".repeat(20)).expect("pipeline");
        std::thread::sleep(Duration::from_millis(300));
        let mut admin = connect(srv.port);
        let port = local_port(&stuck);
        let id = client_fields(&mut admin, port)["id"].clone();
        assert_eq!(exchange(&mut admin, &["CLIENT", "KILL", "ID", &id]), ":1\r\n");
        std::thread::sleep(Duration::from_millis(200));
        let list = exchange(&mut admin, &["CLIENT", "LIST"]);
        assert_eq!(list.matches(" addr=").count(), 1, "killed ({mode:?}): {list}");
        let got = drain_tcp(&mut stuck, Duration::from_secs(5));
        assert!(got.ends_with(b"<closed>") && got.len() < 8 << 20, "closed, the rest dropped ({mode:?})");
    }
}

#[test]
fn a_monitor_that_never_reads_is_closed_at_the_normal_limit() {
    for mode in MODES {
        let srv = TestServer::start_with(mode);
        let mut admin = connect(srv.port);
        assert_eq!(
            exchange(&mut admin, &["CONFIG", "SET", "client-output-buffer-limit", "normal 256kb 0 0"]),
            "+OK\r\n"
        );
        let mut monitor = stuck_client(srv.port);
        monitor.write_all(b"MONITOR\r\n").expect("monitor");
        std::thread::sleep(Duration::from_millis(200));
        let value = "v".repeat(10_000);
        let mut writer = connect(srv.port);
        let mut batch = Vec::new();
        for _ in 0..1000 {
            batch.extend(encode_cmd(&[b"SET", b"k", value.as_bytes()]));
        }
        writer.write_all(&batch).expect("sets");
        drain_tcp(&mut writer, Duration::from_millis(500));
        let list = exchange(&mut admin, &["CLIENT", "LIST"]);
        assert!(!list.contains("flags=O"), "monitor closed ({mode:?}): {list}");
        assert!(drain_tcp(&mut monitor, Duration::from_secs(5)).ends_with(b"<closed>"));
    }
}

/// What a server started by `binary` under `ulimit -n 100` answers to
/// CONFIG GET maxclients, CONFIG SET maxclients 500 (more than the limit
/// allows) and CONFIG GET maxclients again.
fn maxclients_under_low_ulimit(binary: &str, port: u16) -> Vec<String> {
    // In a directory of its own: a dump.rdb in the working directory is
    // not this test's to load.
    let dir = std::env::temp_dir().join(format!("oxkey-ulimit-{port}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let script =
        format!("ulimit -n 100 && exec {binary} --port {port} --bind 127.0.0.1 --save '' --dir '{}'", dir.display());
    let mut child =
        Command::new("sh").args(["-c", &script]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("sh");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut replies = Vec::new();
    while Instant::now() < deadline {
        if let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) {
            for args in [
                &["CONFIG", "GET", "maxclients"][..],
                &["CONFIG", "SET", "maxclients", "500"],
                &["CONFIG", "GET", "maxclients"],
            ] {
                replies.push(exchange(&mut c, args));
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    replies
}

#[test]
fn maxclients_is_lowered_to_fit_the_open_files_limit() {
    // 100 descriptors, 32 of them reserved: 68 clients, as Redis 7.0 says;
    // more is refused at run time and the value stays.
    let ours = maxclients_under_low_ulimit(&common::server_binary().to_string_lossy(), common::free_port());
    let fitted = "*2\r\n$10\r\nmaxclients\r\n$2\r\n68\r\n";
    assert_eq!(ours, [
        fitted,
        "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - The operating system is not able to handle the specified number of clients, try with 68\r\n",
        fitted,
    ]);
    if require_redis("maxclients under a low ulimit against redis-server") {
        assert_eq!(maxclients_under_low_ulimit("redis-server", common::free_port()), ours);
    }
}
