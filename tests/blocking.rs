//! Blocking commands with several real client connections: FIFO service,
//! one push serving several waiters, multi-key order, timeouts, MULTI,
//! disconnects while waiting, BLMOVE chains, CLIENT UNBLOCK. Expected
//! replies are those of Redis 7.2 (Valkey 9.1 where 7.0 differs).

mod common;
use common::{Resp, TestServer};
use std::time::{Duration, Instant};

/// Connections on I/O threads instead of the executor's thread.
const IO_THREADS: &[&str] = &["--io-threads", "3"];

/// Runs each test body in both connection modes.
macro_rules! in_both_modes {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn one_thread() {
                super::$name(&[]);
            }
            #[test]
            fn io_threads() {
                super::$name(super::IO_THREADS);
            }
        }
    )*};
}

in_both_modes!(
    waiters_are_served_in_fifo_order_one_element_each,
    multi_key_pop_takes_the_first_non_empty_key_in_argument_order,
    timeouts_with_decimals_and_pipelined_requests_after_the_wait,
    requests_in_the_same_write_as_a_wait_run_after_it,
    blocking_forms_do_not_block_inside_multi,
    a_waiter_that_disconnects_leaves_no_trace,
    blmove_into_a_list_another_client_waits_on_wakes_it,
    blmpop_serves_counts_and_a_wrong_type_ends_the_wait,
    client_unblock_with_timeout_or_error,
    a_killed_waiter_is_removed_from_the_queue,
    zset_pops_wait_for_members,
);

fn pair(k: &str, v: &str) -> Resp {
    Resp::Array(Some(vec![Resp::bulk(k), Resp::bulk(v)]))
}

/// Sends a command without reading its reply.
fn send(c: &mut common::RawConn, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send_cmd(&a);
}

/// Waits until INFO reports `n` blocked clients.
fn wait_blocked(srv: &TestServer, n: usize) {
    let mut c = srv.raw();
    let want = format!("blocked_clients:{n}\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Resp::Bulk(Some(info)) = c.cmd(&["INFO", "clients"]) {
            if String::from_utf8_lossy(&info).contains(&want) {
                return;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("never saw {want}");
}

fn waiters_are_served_in_fifo_order_one_element_each(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut a = srv.raw();
    let mut b = srv.raw();
    let mut c = srv.raw();
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&srv, 1);
    send(&mut b, &["BLPOP", "q", "0"]);
    wait_blocked(&srv, 2);
    // One push of two elements serves both, oldest first.
    assert_eq!(c.cmd(&["RPUSH", "q", "x", "y", "z"]), Resp::Int(3));
    assert_eq!(a.read(), pair("q", "x"));
    assert_eq!(b.read(), pair("q", "y"));
    assert_eq!(c.cmd(&["LRANGE", "q", "0", "-1"]), Resp::Array(Some(vec![Resp::bulk("z")])));
    wait_blocked(&srv, 0);
}

fn multi_key_pop_takes_the_first_non_empty_key_in_argument_order(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut a = srv.raw();
    let mut c = srv.raw();
    c.cmd(&["RPUSH", "k2", "two"]);
    c.cmd(&["RPUSH", "k3", "three"]);
    assert_eq!(a.cmd(&["BLPOP", "k1", "k3", "k2", "0"]), pair("k3", "three"));
    send(&mut a, &["BRPOP", "k1", "k4", "0"]);
    wait_blocked(&srv, 1);
    c.cmd(&["RPUSH", "k4", "a", "b"]);
    assert_eq!(a.read(), pair("k4", "b"));
}

fn timeouts_with_decimals_and_pipelined_requests_after_the_wait(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut a = srv.raw();
    let started = Instant::now();
    send(&mut a, &["BLPOP", "nothing", "0.3"]);
    send(&mut a, &["PING"]);
    assert_eq!(a.read(), Resp::Array(None));
    assert!(started.elapsed() >= Duration::from_millis(290));
    assert_eq!(a.read(), Resp::Simple("PONG".into()));
    // Redis 7.2 (and Valkey): timeouts beyond the clock's range are refused.
    for t in ["1e30", "inf", "9223372036854775"] {
        assert_eq!(a.cmd(&["BLPOP", "k", t]), Resp::Error("ERR timeout is out of range".into()), "{t}");
    }
    assert_eq!(a.cmd(&["BLPOP", "k", "-inf"]), Resp::Error("ERR timeout is negative".into()));
}

/// The requests read with a blocking one (and decoded with it) run only
/// once its wait ends, in order, as in Redis.
fn requests_in_the_same_write_as_a_wait_run_after_it(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut a = srv.raw();
    let mut c = srv.raw();
    let mut batch = common::encode_cmd(&[b"BLPOP", b"q", b"0"]);
    batch.extend(common::encode_cmd(&[b"SET", b"after", b"1"]));
    batch.extend(common::encode_cmd(&[b"INCR", b"after"]));
    batch.extend(common::encode_cmd(&[b"LPOP", b"q"]));
    a.send(&batch);
    wait_blocked(&srv, 1);
    assert_eq!(c.cmd(&["EXISTS", "after"]), Resp::Int(0), "ran before the wait ended");
    assert_eq!(c.cmd(&["RPUSH", "q", "x", "y"]), Resp::Int(2));
    assert_eq!(a.read(), pair("q", "x"));
    assert_eq!(a.read(), Resp::ok());
    assert_eq!(a.read(), Resp::Int(2));
    assert_eq!(a.read(), Resp::bulk("y"));
    assert_eq!(c.cmd(&["GET", "after"]), Resp::bulk("2"));
}

fn blocking_forms_do_not_block_inside_multi(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut a = srv.raw();
    a.cmd(&["MULTI"]);
    a.cmd(&["BLPOP", "none", "0"]);
    a.cmd(&["BLMOVE", "none", "d", "LEFT", "LEFT", "0"]);
    assert_eq!(a.cmd(&["EXEC"]), Resp::Array(Some(vec![Resp::Array(None), Resp::Bulk(None)])));
}

fn a_waiter_that_disconnects_leaves_no_trace(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut gone = srv.raw();
    send(&mut gone, &["BLPOP", "q", "0"]);
    wait_blocked(&srv, 1);
    drop(gone);
    wait_blocked(&srv, 0);
    let mut c = srv.raw();
    c.cmd(&["RPUSH", "q", "v"]);
    assert_eq!(c.cmd(&["LLEN", "q"]), Resp::Int(1), "nobody took the element");
}

fn blmove_into_a_list_another_client_waits_on_wakes_it(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut mover = srv.raw();
    let mut popper = srv.raw();
    let mut c = srv.raw();
    send(&mut mover, &["BLMOVE", "src", "dst", "LEFT", "RIGHT", "0"]);
    wait_blocked(&srv, 1);
    send(&mut popper, &["BRPOP", "dst", "0"]);
    wait_blocked(&srv, 2);
    c.cmd(&["LPUSH", "src", "job"]);
    assert_eq!(mover.read(), Resp::bulk("job"));
    assert_eq!(popper.read(), pair("dst", "job"));
    assert_eq!(c.cmd(&["EXISTS", "src", "dst"]), Resp::Int(0));
}

fn blmpop_serves_counts_and_a_wrong_type_ends_the_wait(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut a = srv.raw();
    let mut c = srv.raw();
    send(&mut a, &["BLMPOP", "0", "2", "m1", "m2", "RIGHT", "COUNT", "2"]);
    wait_blocked(&srv, 1);
    c.cmd(&["RPUSH", "m2", "a", "b", "c"]);
    assert_eq!(
        a.read(),
        Resp::Array(Some(vec![Resp::bulk("m2"), Resp::Array(Some(vec![Resp::bulk("c"), Resp::bulk("b")]))]))
    );
    send(&mut a, &["BLPOP", "w", "0"]);
    wait_blocked(&srv, 1);
    // A write that gives the key another type serves the waiter its error.
    c.cmd(&["SET", "w", "string"]);
    assert_eq!(a.read(), Resp::Error("WRONGTYPE Operation against a key holding the wrong kind of value".into()));
}

fn client_unblock_with_timeout_or_error(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut a = srv.raw();
    let Resp::Int(id) = a.cmd(&["CLIENT", "ID"]) else { panic!("no id") };
    let id = id.to_string();
    let mut c = srv.raw();
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&srv, 1);
    assert_eq!(c.cmd(&["CLIENT", "UNBLOCK", &id]), Resp::Int(1));
    assert_eq!(a.read(), Resp::Array(None));
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&srv, 1);
    assert_eq!(c.cmd(&["CLIENT", "UNBLOCK", &id, "ERROR"]), Resp::Int(1));
    assert_eq!(a.read(), Resp::Error("UNBLOCKED client unblocked via CLIENT UNBLOCK".into()));
    assert_eq!(c.cmd(&["CLIENT", "UNBLOCK", &id]), Resp::Int(0));
    assert_eq!(
        c.cmd(&["CLIENT", "UNBLOCK", &id, "MAYBE"]),
        Resp::Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR".into())
    );
}

fn a_killed_waiter_is_removed_from_the_queue(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut a = srv.raw();
    let Resp::Int(id) = a.cmd(&["CLIENT", "ID"]) else { panic!("no id") };
    let mut b = srv.raw();
    let mut c = srv.raw();
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&srv, 1);
    send(&mut b, &["BLPOP", "q", "0"]);
    wait_blocked(&srv, 2);
    assert_eq!(c.cmd(&["CLIENT", "KILL", "ID", &id.to_string()]), Resp::Int(1));
    assert!(a.closed());
    c.cmd(&["RPUSH", "q", "v"]);
    assert_eq!(b.read(), pair("q", "v"));
}

fn zset_pops_wait_for_members(mode: &[&str]) {
    let srv = TestServer::start_with(mode);
    let mut a = srv.raw();
    let mut b = srv.raw();
    let mut c = srv.raw();
    send(&mut a, &["BZPOPMIN", "z1", "z2", "0"]);
    wait_blocked(&srv, 1);
    send(&mut b, &["BZMPOP", "0", "1", "z2", "MAX", "COUNT", "2"]);
    wait_blocked(&srv, 2);
    c.cmd(&["ZADD", "z2", "1", "x", "2", "y", "3", "z"]);
    assert_eq!(a.read(), Resp::Array(Some(vec![Resp::bulk("z2"), Resp::bulk("x"), Resp::bulk("1")])));
    let pair = |m: &str, s: &str| Resp::Array(Some(vec![Resp::bulk(m), Resp::bulk(s)]));
    assert_eq!(
        b.read(),
        Resp::Array(Some(vec![Resp::bulk("z2"), Resp::Array(Some(vec![pair("z", "3"), pair("y", "2")]))]))
    );
    assert_eq!(c.cmd(&["EXISTS", "z2"]), Resp::Int(0));
}
