//! Scripts that run past busy-reply-threshold: the other clients (new
//! connections too) are served meanwhile with -BUSY for all but a few
//! commands, SCRIPT KILL / FUNCTION KILL end read-only scripts, SHUTDOWN
//! NOSAVE ends the server, with the executor on one thread and with I/O
//! threads. Expected replies are those of redis-server 7.0.15.

mod common;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{err, RawConn, Resp, TestServer};

const EVAL_BUSY: &str = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const FUNCTION_BUSY: &str = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const UNKILLABLE: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can \
                          either wait the script termination or kill the server in a hard way using the SHUTDOWN \
                          NOSAVE command.";
const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";

fn start(io_threads: &str, dir: &Path) -> TestServer {
    let dir = dir.to_str().expect("utf-8 path");
    TestServer::start_with(&[
        "--busy-reply-threshold",
        "100",
        "--io-threads",
        io_threads,
        "--appendonly",
        "yes",
        "--dir",
        dir,
    ])
}

/// A directory the servers of one test share (a restart reads the AOF).
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("oxkey-busy-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("tmp dir");
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Sends a script (or function call) that will run long, and waits, from
/// a new connection, until the server answers BUSY.
fn start_busy(srv: &TestServer, args: &[&str], busy: &str) -> RawConn {
    let mut runner = srv.raw();
    let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    runner.send_cmd(&args);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = srv.raw().cmd(&["PING"]);
        if reply == err(busy) {
            return runner;
        }
        assert_eq!(reply, Resp::Simple("PONG".into()), "before the script is busy");
        assert!(Instant::now() < deadline, "the script never got busy");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn busy_eval_is_served_and_killed(io_threads: &str) {
    let dir = Dir::new(&format!("eval-{io_threads}"));
    let srv = start(io_threads, &dir.0);
    // Connected before the script starts, one of them half-way through a
    // request.
    let mut c = srv.raw();
    let mut half = srv.raw();
    half.send(b"*2\r\n$4\r\nECHO\r\n$5\r\nhel");
    let mut runner = start_busy(&srv, &["EVAL", "local i=0 while true do i=i+1 end", "0"], EVAL_BUSY);
    assert_eq!(c.cmd(&["PING"]), err(EVAL_BUSY));
    assert_eq!(c.cmd(&["GET", "k"]), err(EVAL_BUSY));
    assert_eq!(c.cmd(&["FUNCTION", "STATS"]), err(EVAL_BUSY));
    assert_eq!(c.cmd(&["SHUTDOWN"]), err(EVAL_BUSY));
    assert_eq!(c.cmd(&["FUNCTION", "KILL"]), err(EVAL_BUSY));
    assert_eq!(c.cmd(&["NOSUCHCOMMAND"]), err("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: "));
    // MULTI is allowed, EXEC is not.
    assert_eq!(c.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(c.cmd(&["EXEC"]), err(&format!("EXECABORT Transaction discarded because of: {EVAL_BUSY}")));
    // A pipeline gets one reply per command, in order.
    c.send(b"PING\r\nUNWATCH\r\nPING\r\n");
    assert_eq!(c.read(), err(EVAL_BUSY));
    assert_eq!(c.read(), Resp::ok());
    assert_eq!(c.read(), err(EVAL_BUSY));
    // The half-sent request ends after the script: it runs then.
    half.send(b"lo");
    assert_eq!(c.cmd(&["SCRIPT", "KILL"]), Resp::ok());
    assert_eq!(
        runner.read(),
        err("ERR Script killed by user with SCRIPT KILL... script: 653db1ceb7ef061910af88dc7ebf80737358169d, on @user_script:1.")
    );
    half.send(b"\r\n");
    assert_eq!(half.read(), Resp::bulk("hello"));
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(runner.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(c.cmd(&["SCRIPT", "KILL"]), err(NOTBUSY));

    // pcall cannot catch the kill.
    let spin_in_pcall = "local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end";
    let mut runner = start_busy(&srv, &["EVAL", spin_in_pcall, "0"], EVAL_BUSY);
    assert_eq!(c.cmd(&["SCRIPT", "KILL"]), Resp::ok());
    assert_eq!(
        runner.read(),
        err("ERR Script killed by user with SCRIPT KILL... script: 7c4647a0ff0df8a94e199764ea04d4f93a1c64b8, on @user_script:1.")
    );

    // A script that called a write command (even one that changed
    // nothing) cannot be killed; SHUTDOWN NOSAVE ends the server, and
    // nothing of the script reaches the AOF.
    assert_eq!(c.cmd(&["SET", "before", "1"]), Resp::ok());
    let _runner = start_busy(
        &srv,
        &["EVAL", "redis.call('del', 'none') redis.call('set', 'x', '1') while true do end", "0"],
        EVAL_BUSY,
    );
    assert_eq!(c.cmd(&["SCRIPT", "KILL"]), err(UNKILLABLE));
    c.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(c.closed());
    let mut srv = srv;
    assert!(srv.wait_exit(Duration::from_secs(10)).is_some_and(|st| st.success()));
    let srv = start(io_threads, &dir.0);
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["GET", "before"]), Resp::bulk("1"));
    assert_eq!(c.cmd(&["GET", "x"]), Resp::Bulk(None));
}

#[test]
fn busy_eval_one_thread() {
    busy_eval_is_served_and_killed("1");
}

#[test]
fn busy_eval_io_threads() {
    busy_eval_is_served_and_killed("3");
}

fn busy_function_is_served_and_killed(io_threads: &str) {
    let dir = Dir::new(&format!("function-{io_threads}"));
    let srv = start(io_threads, &dir.0);
    let mut c = srv.raw();
    let lib = "#!lua name=lib\nredis.register_function('spin', function() while true do end end)\n\
               redis.register_function{function_name='spinw', callback=function() redis.call('set','y','1') while true do end end}";
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", lib]), Resp::bulk("lib"));
    let mut runner = start_busy(&srv, &["fcall", "spin", "0"], FUNCTION_BUSY);
    c.cmd(&["HELLO", "3"]);
    let Resp::Map(stats) = c.cmd(&["FUNCTION", "STATS"]) else { panic!("FUNCTION STATS is a map") };
    let Resp::Map(running) = &stats[0].1 else { panic!("running_script is a map: {stats:?}") };
    assert_eq!(stats[0].0, Resp::bulk("running_script"));
    assert_eq!(running[0], (Resp::bulk("name"), Resp::bulk("spin")));
    assert_eq!(
        running[1],
        (Resp::bulk("command"), Resp::Array(Some(vec![Resp::bulk("fcall"), Resp::bulk("spin"), Resp::bulk("0")])))
    );
    assert!(matches!(running[2], (Resp::Bulk(Some(ref k)), Resp::Int(ms)) if k == b"duration_ms" && ms >= 100));
    assert_eq!(
        stats[1],
        (
            Resp::bulk("engines"),
            Resp::Map(vec![(
                Resp::bulk("LUA"),
                Resp::Map(vec![
                    (Resp::bulk("libraries_count"), Resp::Int(1)),
                    (Resp::bulk("functions_count"), Resp::Int(2))
                ])
            )])
        )
    );
    assert_eq!(c.cmd(&["SCRIPT", "KILL"]), err(FUNCTION_BUSY));
    assert_eq!(c.cmd(&["PING"]), err(FUNCTION_BUSY));
    assert_eq!(c.cmd(&["FUNCTION", "KILL"]), Resp::ok());
    assert_eq!(runner.read(), err("ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."));

    let _runner = start_busy(&srv, &["FCALL", "spinw", "0"], FUNCTION_BUSY);
    assert_eq!(c.cmd(&["FUNCTION", "KILL"]), err(UNKILLABLE));
    // Connection commands still work.
    assert_eq!(c.cmd(&["AUTH", "x"]), err("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
    assert_eq!(c.cmd(&["RESET"]), Resp::Simple("RESET".into()));
    c.send_cmd(&[b"SHUTDOWN", b"NOSAVE"]);
    assert!(c.closed());
    let mut srv = srv;
    assert!(srv.wait_exit(Duration::from_secs(10)).is_some_and(|st| st.success()));
}

#[test]
fn busy_function_one_thread() {
    busy_function_is_served_and_killed("1");
}

#[test]
fn busy_function_io_threads() {
    busy_function_is_served_and_killed("3");
}
