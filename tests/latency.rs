//! The latency monitor (LATENCY LATEST / HISTORY / GRAPH / DOCTOR / RESET)
//! and per-command latency tracking (LATENCY HISTOGRAM, INFO
//! latencystats) against a real oxkey-server, with the outputs that do not
//! depend on timing compared with redis-server 7.0's.

mod common;
mod reference;

use common::{RawConn, Resp, TestServer};
use reference::{require_redis, RedisServer};

fn int(r: &Resp) -> i64 {
    match r {
        Resp::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

fn array(r: Resp) -> Vec<Resp> {
    match r {
        Resp::Array(Some(v)) => v,
        other => panic!("not an array: {other:?}"),
    }
}

fn text(r: Resp) -> String {
    match r {
        Resp::Bulk(Some(b)) | Resp::Verbatim(_, b) => String::from_utf8_lossy(&b).into_owned(),
        other => panic!("not text: {other:?}"),
    }
}

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// Digits replaced by `N`: reports whose numbers are timings.
fn shape(s: &str) -> String {
    let mut out = String::new();
    let mut in_number = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out
}

/// Makes one `command` event of about 150 ms, then returns the replies of
/// LATENCY LATEST, HISTORY, GRAPH and DOCTOR.
fn one_slow_command(c: &mut RawConn) -> (Vec<Resp>, Vec<Resp>, String, String) {
    assert_eq!(c.cmd(&["CONFIG", "SET", "latency-monitor-threshold", "100"]), Resp::ok());
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0.15"]), Resp::ok());
    // Fast and quick: below the threshold.
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
    let latest = array(c.cmd(&["LATENCY", "LATEST"]));
    let history = array(c.cmd(&["LATENCY", "HISTORY", "command"]));
    let graph = text(c.cmd(&["LATENCY", "GRAPH", "command"]));
    let doctor = text(c.cmd(&["LATENCY", "DOCTOR"]));
    (latest, history, graph, doctor)
}

#[test]
fn the_latency_monitor_records_commands_over_the_threshold() {
    let srv = TestServer::start_with(&["--enable-debug-command", "yes"]);
    let mut c = srv.raw();
    // Off by default: nothing is recorded.
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0.12"]), Resp::ok());
    assert_eq!(c.cmd(&["LATENCY", "LATEST"]), Resp::Array(Some(vec![])));
    let (latest, history, graph, doctor) = one_slow_command(&mut c);
    assert_eq!(latest.len(), 1, "{latest:?}");
    let event = array(latest[0].clone());
    assert_eq!(event[0], Resp::bulk("command"));
    assert!((now_s() - int(&event[1])).abs() <= 2, "sample time {event:?}");
    let ms = int(&event[2]);
    assert!((150..1000).contains(&ms), "latency {ms}");
    assert_eq!(int(&event[3]), ms, "all-time max");
    assert_eq!(history, vec![Resp::Array(Some(vec![event[1].clone(), Resp::Int(ms)]))]);
    assert!(graph
        .starts_with(&format!("command - high {ms} ms, low {ms} ms (all time high {ms} ms)\n{}\n", "-".repeat(80))));
    assert!(doctor.contains(&format!(
        "1. command: 1 latency spikes (average {ms}ms, mean deviation 0ms, period 1.00 sec). Worst all time event {ms}ms."
    )));
    // RESET names the events it cleared.
    assert_eq!(c.cmd(&["LATENCY", "RESET", "nosuch", "command"]), Resp::Int(1));
    assert_eq!(c.cmd(&["LATENCY", "LATEST"]), Resp::Array(Some(vec![])));
    assert_eq!(
        c.cmd(&["LATENCY", "GRAPH", "command"]),
        Resp::Error("ERR No samples available for event 'command'".into())
    );
    // The same samples in the same second are one sample, the worst.
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0.11"]), Resp::ok());
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0.13"]), Resp::ok());
    let history = array(c.cmd(&["LATENCY", "HISTORY", "command"]));
    assert!((1..=2).contains(&history.len()), "{history:?}");
    assert_eq!(c.cmd(&["LATENCY", "RESET"]), Resp::Int(1));
}

#[test]
fn latency_graph_and_doctor_read_as_redis_writes_them() {
    if !require_redis("LATENCY GRAPH/DOCTOR against redis-server") {
        return;
    }
    let args = ["--enable-debug-command", "yes"];
    let srv = TestServer::start_with(&args);
    let redis = RedisServer::start_with(&args);
    let (ours_latest, _, ours_graph, ours_doctor) = one_slow_command(&mut srv.raw());
    let (redis_latest, _, redis_graph, redis_doctor) = one_slow_command(&mut RawConn::connect(redis.port));
    assert_eq!(ours_latest.len(), redis_latest.len());
    // A single sample: drawn as a '_' on the bottom row, "0s" (or "1s" when
    // a second boundary passed) written below it.
    assert_eq!(shape(&ours_graph), shape(&redis_graph), "ours:\n{ours_graph}\nredis:\n{redis_graph}");
    assert_eq!(shape(&ours_doctor), shape(&redis_doctor), "ours:\n{ours_doctor}\nredis:\n{redis_doctor}");
}

/// The cumulative distribution of one command in a LATENCY HISTOGRAM reply.
fn distribution(entry: &Resp) -> (i64, Vec<(i64, i64)>) {
    let fields = array(entry.clone());
    assert_eq!(fields[0], Resp::bulk("calls"));
    assert_eq!(fields[2], Resp::bulk("histogram_usec"));
    let pairs = array(fields[3].clone());
    let cdf = pairs.chunks(2).map(|p| (int(&p[0]), int(&p[1]))).collect();
    (int(&fields[1]), cdf)
}

#[test]
fn latency_histogram_gives_each_commands_cumulative_distribution() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    for i in 0..10 {
        assert_eq!(c.cmd(&["SET", &format!("k{i}"), "v"]), Resp::ok());
    }
    for _ in 0..5 {
        c.cmd(&["GET", "k1"]);
    }
    c.cmd(&["CONFIG", "GET", "maxclients"]);
    let reply = array(c.cmd(&["LATENCY", "HISTOGRAM", "set", "get", "nosuch"]));
    assert_eq!(reply.len(), 4, "two commands, as a flat map in RESP2");
    assert_eq!(reply[0], Resp::bulk("set"));
    assert_eq!(reply[2], Resp::bulk("get"));
    for (entry, calls) in [(&reply[1], 10), (&reply[3], 5)] {
        let (n, cdf) = distribution(entry);
        assert_eq!(n, calls);
        assert_eq!(cdf.last().map(|p| p.1), Some(calls), "{cdf:?}");
        // Upper bounds of HDR's log buckets from 1024 ns, counts growing.
        let bounds: &[i64] = &[1, 2, 4, 8, 16, 33, 66, 132, 264, 528, 1056, 2113, 4227, 8454, 16908, 33816];
        for w in cdf.windows(2) {
            assert!(w[0].0 < w[1].0 && w[0].1 < w[1].1, "{cdf:?}");
        }
        assert!(cdf.iter().all(|(us, _)| bounds.contains(us) || *us > 33816), "{cdf:?}");
    }
    // A container gives its subcommands; RESP3 replies with maps.
    assert!(matches!(c.cmd(&["HELLO", "3"]), Resp::Map(_)));
    let Resp::Map(entries) = c.cmd(&["LATENCY", "HISTOGRAM", "config"]) else { panic!("map") };
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, Resp::bulk("config|get"));
    let Resp::Map(fields) = &entries[0].1 else { panic!("inner map") };
    assert_eq!(fields[0], (Resp::bulk("calls"), Resp::Int(1)));
    // Without arguments: every command with samples.
    let Resp::Map(all) = c.cmd(&["LATENCY", "HISTOGRAM"]) else { panic!("map") };
    let names: Vec<Resp> = all.into_iter().map(|(k, _)| k).collect();
    for name in ["set", "get", "config|get", "hello", "ping", "latency|histogram"] {
        assert!(names.contains(&Resp::bulk(name)), "{name} in {names:?}");
    }
}

/// `latency_percentiles_usec_<cmd>` lines of INFO latencystats, as
/// (command, [(percentile name, value)]).
fn latencystats(c: &mut RawConn) -> Vec<(String, Vec<(String, f64)>)> {
    let info = text(c.cmd(&["INFO", "latencystats"]));
    let mut lines = info.lines();
    assert_eq!(lines.next(), Some("# Latencystats"));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (name, values) = l.split_once(':').expect("field");
            let cmd = name.strip_prefix("latency_percentiles_usec_").expect("prefix").to_string();
            let values = values
                .split(',')
                .map(|kv| {
                    let (p, v) = kv.split_once('=').expect("p=v");
                    let (int_part, frac) = v.split_once('.').expect("three decimals");
                    assert!(int_part.parse::<u64>().is_ok() && frac.len() == 3, "{v}");
                    (p.to_string(), v.parse().expect("number"))
                })
                .collect();
            (cmd, values)
        })
        .collect()
}

#[test]
fn info_latencystats_reports_the_configured_percentiles() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    for _ in 0..20 {
        c.cmd(&["SET", "k", "v"]);
    }
    let stats = latencystats(&mut c);
    let (_, set) = stats.iter().find(|(n, _)| n == "set").expect("set line");
    let names: Vec<&str> = set.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["p50", "p99", "p99.9"]);
    assert!(set[0].1 <= set[1].1 && set[1].1 <= set[2].1, "{set:?}");
    assert_eq!(c.cmd(&["CONFIG", "SET", "latency-tracking-info-percentiles", "50 90 100"]), Resp::ok());
    let stats = latencystats(&mut c);
    let (_, set) = stats.iter().find(|(n, _)| n == "set").expect("set line");
    let names: Vec<&str> = set.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["p50", "p90", "p100"]);
    // Subcommands under their full names.
    assert!(stats.iter().any(|(n, _)| n == "config|set"), "{stats:?}");
    // Off: the section is empty and histograms stop growing.
    assert_eq!(c.cmd(&["CONFIG", "SET", "latency-tracking", "no"]), Resp::ok());
    assert!(latencystats(&mut c).is_empty());
    c.cmd(&["SET", "k", "v"]);
    let reply = array(c.cmd(&["LATENCY", "HISTOGRAM", "set"]));
    assert_eq!(distribution(&reply[1]).0, 20);
    // RESETSTAT forgets them.
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), Resp::ok());
    assert_eq!(c.cmd(&["LATENCY", "HISTOGRAM", "set"]), Resp::Array(Some(vec![])));
    // INFO without arguments leaves the section out, as Redis 7.0.
    assert_eq!(c.cmd(&["CONFIG", "SET", "latency-tracking", "yes"]), Resp::ok());
    c.cmd(&["SET", "k", "v"]);
    assert!(!text(c.cmd(&["INFO"])).contains("Latencystats"));
    assert!(text(c.cmd(&["INFO", "everything"])).contains("# Latencystats\r\nlatency_percentiles_usec_"));
}
