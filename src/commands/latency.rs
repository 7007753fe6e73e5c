//! LATENCY: the latency monitor's events (recorded by the executor's
//! call() and the active expire cycle, see `server::latency`) and the
//! per-command latency histograms of `latency-tracking`.

use std::fmt::Write as _;

use bytes::Bytes;

use super::docs::*;
use super::introspection::reply_help;
use super::{flags::*, CommandDef, Ctx, NO_ELEMENTS, NO_KEYS};
use crate::cmd;
use crate::executor::Resolved;
use crate::server::latency::{Histogram, Series};
use crate::util::now_ms;

const DIAG: u64 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[CommandDef] = &[CommandDef {
    name: "latency",
    arity: -2,
    flags: 0,
    acl: 0,
    keys: NO_KEYS,
    key_specs: &[],
    key_finder: None,
    elements: NO_ELEMENTS,
    handler: None,
    subcommands: &[
        cmd!(
            "doctor",
            2,
            DIAG,
            0,
            NO_KEYS,
            latency_doctor,
            "server",
            "2.8.13",
            "O(1)",
            "Returns a human-readable latency analysis report."
        )
        .with_tips(&["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"]),
        cmd!(
            "graph",
            3,
            DIAG,
            0,
            NO_KEYS,
            latency_graph,
            "server",
            "2.8.13",
            "O(1)",
            "Returns a latency graph for an event."
        )
        .with_args(&[string("event")])
        .with_tips(&["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"]),
        cmd!(
            "help",
            2,
            LOADING | STALE,
            0,
            NO_KEYS,
            latency_help,
            "server",
            "2.8.13",
            "O(1)",
            "Returns helpful text about the different subcommands."
        ),
        cmd!(
            "histogram",
            -2,
            DIAG,
            0,
            NO_KEYS,
            latency_histogram,
            "server",
            "7.0.0",
            "O(N) where N is the number of commands with latency information being retrieved.",
            "Returns the cumulative distribution of latencies of a subset or all commands."
        )
        .with_args(&[string("command").optional().multiple()])
        .with_tips(&["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"]),
        cmd!(
            "history",
            3,
            DIAG,
            0,
            NO_KEYS,
            latency_history,
            "server",
            "2.8.13",
            "O(1)",
            "Returns timestamp-latency samples for an event."
        )
        .with_args(&[string("event")])
        .with_tips(&["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"]),
        cmd!(
            "latest",
            2,
            DIAG,
            0,
            NO_KEYS,
            latency_latest,
            "server",
            "2.8.13",
            "O(1)",
            "Returns the latest latency samples for all events."
        )
        .with_tips(&["nondeterministic_output", "request_policy:all_nodes", "response_policy:special"]),
        cmd!(
            "reset",
            -2,
            DIAG,
            0,
            NO_KEYS,
            latency_reset,
            "server",
            "2.8.13",
            "O(1)",
            "Resets the latency data for one or more events."
        )
        .with_args(&[string("event").optional().multiple()])
        .with_tips(&["request_policy:all_nodes", "response_policy:all_succeeded"]),
    ],
    docs: NO_DOCS,
    tips: &[],
    group: "server",
    summary: "A container for latency diagnostics commands.",
    since: "2.8.13",
    complexity: "Depends on subcommand.",
}];

fn latency_latest(ctx: &mut Ctx, _args: &[Bytes]) {
    let Ctx { srv, client, .. } = ctx;
    let out = &mut client.out;
    out.array(srv.latency.events.len());
    for (name, ts) in &srv.latency.events {
        let (time, ms) = ts.latest();
        out.array(4);
        out.bulk(name.as_bytes());
        out.int(time);
        out.int(ms as i64);
        out.int(ts.max as i64);
    }
}

fn latency_history(ctx: &mut Ctx, args: &[Bytes]) {
    let Ctx { srv, client, .. } = ctx;
    let out = &mut client.out;
    let Some(ts) = find(&srv.latency.events, &args[2]) else { return out.array(0) };
    let samples: Vec<(i64, u64)> = ts.samples().collect();
    out.array(samples.len());
    for (time, ms) in samples {
        out.array(2);
        out.int(time);
        out.int(ms as i64);
    }
}

fn find<'a>(events: &'a std::collections::BTreeMap<&'static str, Series>, name: &[u8]) -> Option<&'a Series> {
    events.iter().find(|(k, _)| k.as_bytes() == name).map(|(_, v)| v)
}

fn latency_reset(ctx: &mut Ctx, args: &[Bytes]) {
    let monitor = &mut ctx.srv.latency;
    let n = if args.len() == 2 {
        let n = monitor.events.len();
        monitor.events.clear();
        n
    } else {
        args[2..].iter().filter(|e| monitor.reset(e)).count()
    };
    ctx.out().int(n as i64);
}

fn latency_graph(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(ts) = find(&ctx.srv.latency.events, &args[2]) else {
        let event = String::from_utf8_lossy(&args[2]).into_owned();
        return ctx.error(&format!("ERR No samples available for event '{event}'"));
    };
    let name = String::from_utf8_lossy(&args[2]).into_owned();
    let graph = sparkline_graph(&name, ts, now_ms() / 1000);
    ctx.out().verbatim(graph.as_bytes());
}

/// Width of LATENCY GRAPH, as Redis's LATENCY_GRAPH_COLS.
const GRAPH_COLS: usize = 80;
/// Rows of the graph itself (labels go below).
const GRAPH_ROWS: usize = 4;

/// Redis's `latencyCommandGenSparkeline`: a title line, a rule, and the
/// samples as a filled sparkline with "how long ago" labels written
/// vertically below each column.
fn sparkline_graph(event: &str, ts: &Series, now_s: i64) -> String {
    let mut values = Vec::new();
    let mut labels = Vec::new();
    for (time, ms) in ts.samples() {
        let elapsed = now_s - time;
        labels.push(if elapsed < 60 {
            format!("{elapsed}s")
        } else if elapsed < 3600 {
            format!("{}m", elapsed / 60)
        } else if elapsed < 86400 {
            format!("{}h", elapsed / 3600)
        } else {
            format!("{}d", elapsed / 86400)
        });
        values.push(ms);
    }
    let (low, high) = (values.iter().min().copied().unwrap_or(0), values.iter().max().copied().unwrap_or(0));
    let mut graph = format!("{event} - high {high} ms, low {low} ms (all time high {} ms)\n", ts.max);
    graph.push_str(&"-".repeat(GRAPH_COLS));
    graph.push('\n');
    let values: Vec<f64> = values.iter().map(|&v| v as f64).collect();
    let (min, max) = (low as f64, high as f64);
    for start in (0..values.len()).step_by(GRAPH_COLS) {
        if start != 0 {
            graph.push('\n');
        }
        let end = (start + GRAPH_COLS).min(values.len());
        render_range(&mut graph, &values[start..end], &labels[start..end], min, max);
    }
    graph
}

/// Redis's `sparklineRenderRange` with SPARKLINE_FILL.
fn render_range(out: &mut String, values: &[f64], labels: &[String], min: f64, max: f64) {
    const FILL: [char; 3] = ['_', 'o', '#'];
    let steps = (FILL.len() * GRAPH_ROWS) as i64;
    let relmax = if max - min == 0.0 { 1.0 } else { max - min };
    let mut row = 0;
    loop {
        let mut any = false;
        let mut line = vec![' '; values.len()];
        for (j, (&v, label)) in values.iter().zip(labels).enumerate() {
            // As Redis: the product truncated to an int, then divided.
            let step = ((((v - min) * steps as f64) as i64) as f64 / relmax) as i64;
            let step = step.clamp(0, steps - 1);
            if row < GRAPH_ROWS {
                any = true;
                let idx = step - ((GRAPH_ROWS - row - 1) * FILL.len()) as i64;
                if (0..FILL.len() as i64).contains(&idx) {
                    line[j] = FILL[idx as usize];
                } else if idx >= FILL.len() as i64 {
                    line[j] = '|';
                }
            } else if row == GRAPH_ROWS {
                // One blank row between the graph and the labels.
                any = true;
                break;
            } else if let Some(c) = label.as_bytes().get(row - GRAPH_ROWS - 1) {
                any = true;
                line[j] = *c as char;
            }
        }
        if !any {
            break;
        }
        row += 1;
        out.extend(line);
        out.push('\n');
    }
}

fn latency_histogram(ctx: &mut Ctx, args: &[Bytes]) {
    let Ctx { srv, client, .. } = ctx;
    let stats = &srv.stats.per_command;
    let mut found: Vec<(&str, &Histogram)> = Vec::new();
    if args.len() == 2 {
        found.extend(stats.iter().filter_map(|(name, st)| st.latency.as_deref().map(|h| (name.as_str(), h))));
    } else {
        for a in &args[2..] {
            let Some(cmd) = resolve_full_name(a) else { continue };
            let full = cmd.with_full_name(|n| n.to_string());
            if let Some((name, h)) = stats.get_key_value(&full).and_then(|(k, st)| Some((k, st.latency.as_deref()?))) {
                found.push((name.as_str(), h));
            }
            // A container also reports each of its subcommands.
            if !cmd.is_subcommand() {
                for sub in cmd.def.subcommands {
                    let full = format!("{}|{}", cmd.def.name, sub.name);
                    if let Some((k, st)) = stats.get_key_value(&full) {
                        if let Some(h) = st.latency.as_deref() {
                            found.push((k.as_str(), h));
                        }
                    }
                }
            }
        }
    }
    let out = &mut client.out;
    out.map(found.len());
    for (name, h) in found {
        out.bulk(name.as_bytes());
        out.map(2);
        out.bulk(b"calls");
        out.int(h.total() as i64);
        out.bulk(b"histogram_usec");
        let cdf = h.cumulative_us();
        out.map(cdf.len());
        for (us, n) in cdf {
            out.int(us as i64);
            out.int(n as i64);
        }
    }
}

/// A command by its full name (`get`, `config|get`), as Redis's
/// `lookupCommandBySds`.
fn resolve_full_name(name: &[u8]) -> Option<Resolved> {
    let mut parts = name.splitn(2, |&b| b == b'|');
    let top = super::table().lookup(parts.next()?)?;
    match parts.next() {
        None => Some(Resolved { top, def: top }),
        Some(sub) => top.subcommand(sub).map(|def| Resolved { top, def }),
    }
}

/// Redis's `analyzeLatencyForEvent`: samples, average, mean absolute
/// deviation and the seconds since the oldest sample.
struct EventStats {
    samples: u64,
    avg: u64,
    mad: u64,
    period: i64,
}

fn analyze(ts: &Series, now_s: i64) -> EventStats {
    let samples: Vec<(i64, u64)> = ts.samples().collect();
    let n = samples.len() as u64;
    if n == 0 {
        return EventStats { samples: 0, avg: 0, mad: 0, period: 0 };
    }
    let avg = samples.iter().map(|s| s.1).sum::<u64>() / n;
    let oldest = samples.iter().map(|s| s.0).min().unwrap_or(now_s);
    let period = (now_s - oldest).max(0);
    let mad = samples.iter().map(|s| (avg as i64 - s.1 as i64).unsigned_abs()).sum::<u64>() / n;
    EventStats { samples: n, avg, mad, period: if period == 0 { 1 } else { period } }
}

/// Redis's `createLatencyReport`, for the events oxkey records.
fn latency_doctor(ctx: &mut Ctx, _args: &[Bytes]) {
    let report = doctor_report(ctx);
    ctx.out().verbatim(report.as_bytes());
}

fn doctor_report(ctx: &Ctx) -> String {
    let srv = &*ctx.srv;
    let threshold = srv.config.latency_monitor_threshold;
    if srv.latency.events.is_empty() && threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may \
                use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in \
                a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
            .into();
    }
    let now_s = now_ms() / 1000;
    let mut report = String::new();
    let (mut slowlog_enabled, mut slowlog_tuning, mut slowlog_inspect, mut scheduler, mut large_objects, mut hz) =
        (false, false, false, false, false, false);
    let mut advices = 0;
    for (n, (event, ts)) in srv.latency.events.iter().enumerate() {
        if n == 0 {
            report.push_str(
                "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do \
                 you Dave?\n\n",
            );
        }
        let st = analyze(ts, now_s);
        let _ = write!(
            report,
            "{}. {event}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time \
             event {}ms.",
            n + 1,
            st.samples,
            st.avg,
            st.mad,
            st.period as f64 / st.samples as f64,
            ts.max
        );
        match *event {
            "command" => {
                let slower_than = srv.config.slowlog_log_slower_than;
                if slower_than < 0 || srv.config.slowlog_max_len == 0 {
                    slowlog_enabled = true;
                    advices += 1;
                } else if slower_than / 1000 > threshold {
                    slowlog_tuning = true;
                    advices += 1;
                }
                slowlog_inspect = true;
                large_objects = true;
                advices += 2;
            }
            "fast-command" => {
                scheduler = true;
                advices += 1;
            }
            "expire-cycle" => {
                hz = true;
                large_objects = true;
                advices += 2;
            }
            _ => {}
        }
        report.push('\n');
    }
    let events = srv.latency.events.len();
    if events == 0 && advices == 0 {
        report.push_str(
            "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest \
             bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n",
        );
        return report;
    }
    if advices == 0 {
        report.push_str(
            "\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis \
             community to get some help, providing this report in your help request.\n",
        );
        return report;
    }
    report.push_str("\nI have a few advices for you:\n\n");
    let suggested = threshold as u64 * 1000;
    if slowlog_enabled {
        let _ = writeln!(
            report,
            "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log \
             Redis feature using the command 'CONFIG SET slowlog-log-slower-than {suggested}'. If the Slow log is \
             disabled Redis is not able to log slow commands execution for you."
        );
    }
    if slowlog_tuning {
        let _ = writeln!(
            report,
            "- Your current Slow Log configuration only logs events that are slower than your configured latency \
             monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {suggested}'."
        );
    }
    if slowlog_inspect {
        report.push_str(
            "- Check your Slow Log to understand what are the commands you are running which are too slow to \
             execute. Please check https://redis.io/commands/slowlog for more information.\n",
        );
    }
    if scheduler {
        report.push_str(
            "- The system is slow to execute Redis code paths not containing system calls. This usually means the \
             system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the \
             system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same \
             system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli \
             --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is \
             allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may \
             create fragmentation problems.\n",
        );
    }
    if hz {
        report.push_str(
            "- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration \
             parameter to 100 using 'CONFIG SET hz 100'.\n",
        );
    }
    if large_objects {
        report.push_str(
            "- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. \
             If you have very large objects that are often deleted, expired, or evicted, try to fragment those \
             objects into multiple smaller objects.\n",
        );
    }
    report
}

fn latency_help(ctx: &mut Ctx, args: &[Bytes]) {
    reply_help(
        ctx,
        args,
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::latency::Monitor;

    #[test]
    fn graph_as_redis_draws_it() {
        let mut m = Monitor::default();
        m.add("command", 10, 1000);
        m.add("command", 40, 1001);
        m.add("command", 25, 1002);
        let g = sparkline_graph("command", &m.events["command"], 1003);
        let mut lines = g.lines();
        assert_eq!(lines.next(), Some("command - high 40 ms, low 10 ms (all time high 40 ms)"));
        assert_eq!(lines.next(), Some("-".repeat(80).as_str()));
        // Steps 0, 11 and 6 of 12: the lowest a '_' on the bottom row, the
        // highest a '#' on the top row with '|' below it.
        let rest: Vec<&str> = lines.collect();
        assert_eq!(rest, vec![" # ", " |_", " ||", "_||", "   ", "321", "sss"]);
    }
}
