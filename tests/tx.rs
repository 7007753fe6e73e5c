//! MULTI/EXEC and WATCH across real client connections: invalidation by
//! other clients' writes, by expiry, FLUSHALL, SWAPDB, RENAME onto a watched
//! key; runtime errors inside EXEC; EXECABORT after a queueing error.
//! Expected replies are those of Redis 7.2.

mod common;
use common::{Resp, TestServer};

fn exec_aborted(c: &mut common::RawConn) -> bool {
    c.cmd(&["MULTI"]);
    c.cmd(&["INCR", "counter"]);
    c.cmd(&["EXEC"]) == Resp::Array(None)
}

#[test]
fn watch_is_invalidated_by_other_clients_writes() {
    let srv = TestServer::start();
    let mut a = srv.raw();
    let mut b = srv.raw();
    for (setup, write) in [
        (&["SET", "k", "1"][..], &["SET", "k", "2"][..]),
        (&["SET", "k", "1"], &["DEL", "k"]),
        (&["RPUSH", "k", "a"], &["LPUSH", "k", "b"]),
        (&["SET", "k", "1"], &["EXPIRE", "k", "100"]),
        (&["SET", "k", "1"], &["FLUSHALL"]),
        (&["SET", "k", "1"], &["FLUSHDB"]),
        (&["SET", "other", "1"], &["RENAME", "other", "k"]),
        (&["SET", "k", "1"], &["SWAPDB", "0", "1"]),
    ] {
        b.cmd(&["FLUSHALL"]);
        b.cmd(setup);
        assert_eq!(a.cmd(&["WATCH", "k"]), Resp::ok());
        b.cmd(write);
        assert!(exec_aborted(&mut a), "{write:?} did not invalidate the WATCH");
    }
    // Untouched: EXEC runs.
    a.cmd(&["WATCH", "k"]);
    b.cmd(&["SET", "unrelated", "1"]);
    assert!(!exec_aborted(&mut a));
}

#[test]
fn watch_sees_expiry_and_own_writes() {
    let srv = TestServer::start();
    let mut a = srv.raw();
    a.cmd(&["SET", "k", "v", "PX", "50"]);
    a.cmd(&["WATCH", "k"]);
    std::thread::sleep(std::time::Duration::from_millis(120));
    assert!(exec_aborted(&mut a), "expiry since WATCH aborts");
    a.cmd(&["SET", "k", "v"]);
    a.cmd(&["WATCH", "k"]);
    a.cmd(&["SET", "k", "mine"]);
    assert!(exec_aborted(&mut a), "the watcher's own write aborts too");
}

#[test]
fn runtime_errors_stay_in_place_and_queueing_errors_abort() {
    let srv = TestServer::start();
    let mut a = srv.raw();
    a.cmd(&["MULTI"]);
    assert_eq!(a.cmd(&["SET", "s", "x"]), Resp::Simple("QUEUED".into()));
    a.cmd(&["LPUSH", "s", "y"]);
    a.cmd(&["GET", "s"]);
    assert_eq!(
        a.cmd(&["EXEC"]),
        Resp::Array(Some(vec![
            Resp::ok(),
            Resp::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into()),
            Resp::bulk("x"),
        ]))
    );
    a.cmd(&["MULTI"]);
    a.cmd(&["SET", "t", "1"]);
    assert_eq!(a.cmd(&["GET"]), Resp::Error("ERR wrong number of arguments for 'get' command".into()));
    assert_eq!(a.cmd(&["EXEC"]), Resp::Error("EXECABORT Transaction discarded because of previous errors.".into()));
    assert_eq!(a.cmd(&["EXISTS", "t"]), Resp::Int(0));
}

#[test]
fn transactions_work_through_valkey_style_pipelines_resp3() {
    let srv = TestServer::start();
    let mut a = srv.raw();
    a.cmd(&["HELLO", "3"]);
    a.cmd(&["WATCH", "x"]);
    a.cmd(&["SET", "x", "1"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["INCR", "x"]);
    assert_eq!(a.cmd(&["EXEC"]), Resp::Null);
}
