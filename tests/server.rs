//! Server introspection against a real oxkey process, compared with a real
//! redis-server where the reply is deterministic: INFO (sections, field
//! names and order, truthful values, valkey-py parsing), COMMAND INFO /
//! DOCS / GETKEYS / LIST, SLOWLOG, DEBUG and its gate, SWAPDB, FLUSHALL,
//! SHUTDOWN.
//!
//! The reference is Redis 7.0 (installed here); where 7.2 differs — new
//! INFO fields, COMMAND GETKEYS's arity — the test says so.

mod common;
mod reference;

use std::collections::HashMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use common::{RawConn, Resp, TestServer};

// ---------------------------------------------------------------------------
// A reference redis-server in this file's port range (7300-7349).

struct Redis {
    port: u16,
    child: Child,
    dir: std::path::PathBuf,
}

impl Redis {
    /// Starts redis-server with `extra` arguments; None (test skipped) when
    /// it is not installed outside CI.
    fn start(extra: &[&str]) -> Option<Redis> {
        if !reference::require_redis("server introspection comparison") {
            return None;
        }
        // Tests run in parallel: each takes its own ports from the range.
        static NEXT: AtomicU16 = AtomicU16::new(0);
        for _ in 0..50 {
            let port = 7300 + NEXT.fetch_add(1, Ordering::Relaxed) % 50;
            if TcpListener::bind(("127.0.0.1", port)).is_err() {
                continue;
            }
            let dir = std::env::temp_dir().join(format!("oxkey-server-ref-{port}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("create dir");
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .args(["--daemonize", "no", "--dir"])
                .arg(&dir)
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            let mut r = Redis { port, child, dir };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = r.child.try_wait() {
                    break; // the port was taken meanwhile: try the next one
                }
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    // Make sure it is this child that answers.
                    let pid = info(&mut r.raw(), &["server"]).get("process_id").cloned();
                    if pid == Some(r.child.id().to_string()) {
                        return Some(r);
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("no redis-server could start in 7300-7349");
    }

    fn raw(&self) -> RawConn {
        RawConn::connect(self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Helpers

fn text(r: &Resp) -> String {
    match r {
        Resp::Bulk(Some(b)) | Resp::Verbatim(_, b) => String::from_utf8_lossy(b).into_owned(),
        Resp::Simple(s) | Resp::Error(s) => s.clone(),
        other => panic!("not a string reply: {other:?}"),
    }
}

fn items(r: &Resp) -> &[Resp] {
    match r {
        Resp::Array(Some(v)) | Resp::Set(v) | Resp::Push(v) => v,
        other => panic!("not an array reply: {other:?}"),
    }
}

fn int(r: &Resp) -> i64 {
    match r {
        Resp::Int(i) => *i,
        other => panic!("not an integer reply: {other:?}"),
    }
}

fn info_text(c: &mut RawConn, args: &[&str]) -> String {
    let mut cmd = vec!["INFO"];
    cmd.extend_from_slice(args);
    text(&c.cmd(&cmd))
}

/// `field -> value` of an INFO text.
fn info(c: &mut RawConn, args: &[&str]) -> HashMap<String, String> {
    info_text(c, args)
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn num(info: &HashMap<String, String>, field: &str) -> f64 {
    let v = info.get(field).unwrap_or_else(|| panic!("INFO has no {field}"));
    v.parse().unwrap_or_else(|_| panic!("{field}:{v} is not a number"))
}

/// The `# Title` lines and the field names of an INFO text, in order.
fn layout(text: &str) -> Vec<String> {
    text.lines().filter(|l| !l.is_empty()).map(|l| l.split(':').next().unwrap_or(l).to_string()).collect()
}

fn vm_rss(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok());
    kb.unwrap_or(0u64) * 1024
}

/// Fields Redis 7.2 added to what 7.0 prints, plus oxkey's own.
const NEWER_FIELDS: &[&str] = &[
    "server_name",
    "valkey_version",
    "oxkey_version",
    "listener0",
    "total_blocking_keys",
    "total_blocking_keys_on_nokey",
    "eventloop_cycles",
    "eventloop_duration_sum",
    "eventloop_duration_cmd_sum",
    "instantaneous_eventloop_cycles_per_sec",
    "instantaneous_eventloop_duration_usec",
    "acl_access_denied_auth",
    "acl_access_denied_cmd",
    "acl_access_denied_key",
    "acl_access_denied_channel",
];

// ---------------------------------------------------------------------------
// INFO

#[test]
fn info_has_redis_sections_and_fields_in_order() {
    let Some(redis) = Redis::start(&[]) else { return };
    let srv = TestServer::start();
    let (mut r, mut o) = (redis.raw(), srv.raw());
    // Same state on both: the same sections print the same fields.
    for c in [&mut r, &mut o] {
        c.cmd(&["SET", "k", "v"]);
        c.cmd(&["GET", "k"]);
        c.cmd(&["NOSUCH"]);
    }
    let ours = layout(&info_text(&mut o, &["everything"]));
    let theirs = layout(&info_text(&mut r, &["everything"]));
    // Per-command lines come in each server's own order (Redis's: its
    // command dict's); tests/latency.rs checks latencystats.
    let per_command = |l: &String| l.starts_with("cmdstat_") || l.starts_with("latency_percentiles_usec_");
    let theirs: Vec<String> = theirs.into_iter().filter(|l| !per_command(l)).collect();
    let ours_cmp: Vec<String> =
        ours.iter().filter(|l| !NEWER_FIELDS.contains(&l.as_str()) && !per_command(l)).cloned().collect();
    assert_eq!(ours_cmp, theirs, "INFO everything: sections and fields (minus 7.2's additions)");
    // The 7.2 fields sit where 7.2 prints them.
    let pos = |f: &str| ours.iter().position(|l| l == f).unwrap_or_else(|| panic!("no {f}"));
    assert!(pos("redis_version") < pos("server_name") && pos("oxkey_version") < pos("redis_git_sha1"));
    assert_eq!(pos("listener0"), pos("io_threads_active") + 1);
    assert_eq!(pos("total_blocking_keys"), pos("clients_in_timeout_table") + 1);
    assert_eq!(pos("eventloop_cycles"), pos("reply_buffer_expands") + 1);

    // Section selection, as Redis.
    let titles = |c: &mut RawConn, args: &[&str]| -> Vec<String> {
        let t = info_text(c, args);
        t.lines().filter(|l| l.starts_with('#') && *l != "# Latencystats").map(String::from).collect()
    };
    for args in [
        &[][..],
        &["default"],
        &["all"],
        &["everything"],
        &["server"],
        &["SERVER", "Clients"],
        &["keyspace", "server"],
        &["commandstats"],
        &["default", "commandstats"],
        &["modules"],
        &["module_list"],
        &["errorstats", "errorstats"],
        &["nosuch"],
        &["cpu", "nosuch", "cluster"],
    ] {
        assert_eq!(titles(&mut o, args), titles(&mut r, args), "INFO {args:?}");
    }
    assert_eq!(info_text(&mut o, &["nosuch"]), "");
    assert!(info_text(&mut o, &["server"]).ends_with("\r\n"));
}

#[test]
fn info_values_are_truthful() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let others: Vec<RawConn> = (0..3).map(|_| srv.raw()).collect();
    let before = info(&mut c, &["everything"]);
    assert_eq!(before["redis_version"], "7.2.4");
    assert_eq!(before["valkey_version"], "8.0.1");
    assert_eq!(before["server_name"], "oxkey");
    assert_eq!(before["oxkey_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(before["process_id"], srv.pid().to_string());
    assert_eq!(before["tcp_port"], srv.port.to_string());
    assert_eq!(before["listener0"], format!("name=tcp,bind=127.0.0.1,port={}", srv.port));
    assert!(before["executable"].ends_with("oxkey-server"), "{}", before["executable"]);
    assert_eq!(before["config_file"], "");
    assert_eq!(before["role"], "master");
    assert_eq!(before["aof_enabled"], "0");
    assert_eq!(before["connected_clients"], (others.len() + 1).to_string());
    assert_eq!(before["blocked_clients"], "0");
    assert!(num(&before, "total_connections_received") >= 4.0);
    assert_eq!(before["maxmemory"], "0");
    assert_eq!(before["maxmemory_human"], "0B");
    assert_eq!(before["maxmemory_policy"], "noeviction");
    assert_eq!(before["master_replid"].len(), 40);
    assert_ne!(before["master_replid"], before["run_id"]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let server_s = num(&before, "server_time_usec") / 1e6;
    assert!((server_s - now.as_secs_f64()).abs() < 5.0);
    assert!(num(&before, "uptime_in_seconds") < 60.0);
    let last_save = num(&before, "rdb_last_save_time");
    assert!((last_save - now.as_secs_f64()).abs() < 60.0);
    assert_eq!(int(&c.cmd(&["LASTSAVE"])), last_save as i64);

    // Memory: allocator figure, RSS matching the kernel's, their ratio.
    let used = num(&before, "used_memory");
    let rss = num(&before, "used_memory_rss");
    let kernel_rss = vm_rss(srv.pid()) as f64;
    assert!(used > 0.0 && used <= rss * 4.0, "used_memory {used}, rss {rss}");
    assert!((rss - kernel_rss).abs() < kernel_rss * 0.5, "rss {rss} vs VmRSS {kernel_rss}");
    assert_eq!(before["mem_fragmentation_ratio"], format!("{:.2}", rss / used));
    assert!(before["used_memory_human"].ends_with(['B', 'K', 'M', 'G']));
    assert!(num(&before, "used_memory_peak") >= used);
    assert!(num(&before, "used_cpu_user") + num(&before, "used_cpu_sys") > 0.0);

    // Counters move with the traffic.
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "b", "2"]);
    c.cmd(&["PEXPIRE", "b", "100000"]);
    c.cmd(&["GET", "a"]);
    c.cmd(&["GET", "nosuch"]);
    c.cmd(&["GET", "nosuch2"]);
    c.cmd(&["INCR", "a"]);
    c.cmd(&["SET", "a", "x"]);
    c.cmd(&["INCR", "a"]);
    c.cmd(&["NOSUCHCMD"]);
    let after = info(&mut c, &["everything"]);
    let delta = |f: &str| num(&after, f) - num(&before, f);
    // INFO itself is counted once it has run: the first INFO plus ten.
    assert_eq!(delta("total_commands_processed"), 11.0);
    // Writes look keys up without counting (Redis's LOOKUP_WRITE).
    assert_eq!(delta("keyspace_hits"), 1.0);
    assert_eq!(delta("keyspace_misses"), 2.0);
    assert_eq!(delta("rdb_changes_since_last_save"), 5.0);
    assert_eq!(after["total_error_replies"], "2");
    assert_eq!(after["errorstat_ERR"], "count=2");
    assert_eq!(after["cmdstat_get"].split(",usec=").next(), Some("calls=3"));
    assert!(after["cmdstat_incr"].ends_with(",rejected_calls=0,failed_calls=1"), "{}", after["cmdstat_incr"]);
    let avg = after["db0"].split(",avg_ttl=").next();
    assert_eq!(avg, Some("keys=2,expires=1"));
    assert!(num(&after, "total_net_input_bytes") > num(&before, "total_net_input_bytes"));
    assert!(num(&after, "total_net_output_bytes") > num(&before, "total_net_output_bytes"));
    drop(others);
}

/// valkey-py's parse_info typing of a value (str, int, float, list, dict).
#[derive(Debug, PartialEq)]
enum PyValue {
    Int(i64),
    Float(f64),
    Str(String),
    List(usize),
    Dict(Vec<String>),
}

fn py_value(v: &str) -> PyValue {
    if !v.contains(',') && !v.contains('=') {
        if v.contains('.') {
            return v.parse().map(PyValue::Float).unwrap_or_else(|_| PyValue::Str(v.into()));
        }
        return v.parse().map(PyValue::Int).unwrap_or_else(|_| PyValue::Str(v.into()));
    }
    if !v.contains('=') {
        return PyValue::List(v.split(',').filter(|s| !s.is_empty()).count());
    }
    PyValue::Dict(
        v.split(',').filter(|s| !s.is_empty()).map(|i| i.rsplit_once('=').map_or(i, |p| p.0).into()).collect(),
    )
}

#[test]
fn info_parses_as_valkey_py_does() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["SET", "k", "v"]);
    let fields = info(&mut c, &[]);
    // The seed's monitor_performance reads these; the arithmetic it does
    // needs numbers.
    for f in [
        "used_memory",
        "used_memory_rss",
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
        assert!(matches!(py_value(&fields[f]), PyValue::Int(_)), "{f}:{}", fields[f]);
    }
    assert!(matches!(py_value(&fields["mem_fragmentation_ratio"]), PyValue::Float(_)));
    assert!(matches!(py_value(&fields["used_memory_human"]), PyValue::Str(_) | PyValue::Float(_)));
    assert_eq!(py_value(&fields["db0"]), PyValue::Dict(vec!["keys".into(), "expires".into(), "avg_ttl".into()]));
    assert_eq!(py_value(&fields["listener0"]), PyValue::Dict(vec!["name".into(), "bind".into(), "port".into()]));

    // And with valkey-py itself, when the test venv exists.
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/.venv/bin/python");
    if !std::path::Path::new(python).exists() {
        eprintln!("SKIPPED valkey-py INFO parsing: no .venv (scripts/test-deps.sh makes it)");
        return;
    }
    let script = format!(
        "import valkey\n\
         for proto in (2, 3):\n\
         \x20   r = valkey.Valkey(port={}, protocol=proto)\n\
         \x20   i = r.info()\n\
         \x20   assert i['redis_version'] == '7.2.4' and i['valkey_version'] == '8.0.1', i\n\
         \x20   hits = i['keyspace_hits'] / max(1, i['keyspace_hits'] + i['keyspace_misses'])\n\
         \x20   assert isinstance(i['used_memory'], int) and isinstance(i['mem_fragmentation_ratio'], float)\n\
         \x20   assert i['db0']['keys'] == 1 and i.get('aof_enabled', 0) == 0\n\
         \x20   assert r.info('memory')['used_memory_human']\n\
         \x20   assert 'cmdstat_info' in r.info('commandstats')\n\
         print('ok')\n",
        srv.port
    );
    let out = Command::new(python).args(["-c", &script]).output().expect("run python");
    assert!(out.status.success(), "valkey-py: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn info_is_verbatim_in_resp3() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["HELLO", "3"]);
    match c.cmd(&["INFO", "server"]) {
        Resp::Verbatim(fmt, body) => {
            assert_eq!(fmt, "txt");
            assert!(body.starts_with(b"# Server\r\nredis_version:7.2.4\r\n"));
        }
        other => panic!("INFO in RESP3: {other:?}"),
    }
}

#[test]
fn command_and_error_stats_match_redis() {
    let Some(redis) = Redis::start(&[]) else { return };
    let srv = TestServer::start();
    let stats = |c: &mut RawConn| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = info(c, &["commandstats", "errorstats"])
            .into_iter()
            .map(|(k, v)| {
                // usec values differ; calls, rejected and failed must not.
                let v = v.split(',').filter(|f| !f.starts_with("usec")).collect::<Vec<_>>().join(",");
                (k, v)
            })
            // The test harnesses' own checks that the servers are up.
            .filter(|(k, _)| k != "cmdstat_ping" && k != "cmdstat_info")
            .collect();
        v.sort();
        v
    };
    let script: &[&[&str]] = &[
        &["SET", "k", "v"],
        &["GET", "k"],
        &["GET"],
        &["INCR", "k"],
        &["NOSUCH", "x"],
        &["CONFIG", "GET", "maxmemory"],
        &["CONFIG", "NOSUCH"],
        &["COMMAND", "COUNT"],
        &["COMMAND", "INFO", "get"],
        &["SLOWLOG", "LEN"],
        &["DEBUG", "SLEEP", "0"],
        &["DBSIZE"],
    ];
    let (mut r, mut o) = (redis.raw(), srv.raw());
    for cmd in script {
        let (a, b) = (r.cmd(cmd), o.cmd(cmd));
        if cmd[0] != "COMMAND" {
            assert_eq!(b, a, "{cmd:?}");
        }
    }
    assert_eq!(stats(&mut o), stats(&mut r));
}

// ---------------------------------------------------------------------------
// COMMAND

/// Commands whose arity Redis 7.2 changed from 7.0's: COMMAND GETKEYS takes
/// a command without arguments, ZRANK/ZREVRANK gained WITHSCORE.
const ARITY_CHANGED_IN_72: &[&str] = &["command|getkeys", "command|getkeysandflags", "zrank", "zrevrank"];

/// Commands whose tips Redis 7.2 changed: cluster-wide CLIENT SETNAME and
/// CONFIG RESETSTAT/REWRITE, LATENCY RESET's sum, MSETNX no longer split
/// across shards, RANDOMKEY and SCAN with a special response policy.
const TIPS_CHANGED_IN_72: &[&str] =
    &["client|setname", "config|resetstat", "config|rewrite", "latency|reset", "msetnx", "randomkey", "scan"];

#[test]
fn command_info_matches_redis_for_every_command() {
    let Some(redis) = Redis::start(&[]) else { return };
    let srv = TestServer::start();
    let (mut r, mut o) = (redis.raw(), srv.raw());
    let names: Vec<String> = items(&o.cmd(&["COMMAND", "LIST"])).iter().map(text).collect();
    assert!(names.len() > 40, "{names:?}");
    let mut mismatches = Vec::new();
    for name in &names {
        let ours = o.cmd(&["COMMAND", "INFO", name]);
        let theirs = r.cmd(&["COMMAND", "INFO", name]);
        let (ours, theirs) = (&items(&ours)[0], &items(&theirs)[0]);
        if *theirs == Resp::Bulk(None) {
            continue; // newer than Redis 7.0 (CLIENT SETINFO...)
        }
        let (a, b) = (items(ours), items(theirs));
        assert_eq!(a.len(), 10, "{name}");
        for (i, field) in
            ["name", "arity", "flags", "first key", "last key", "step", "ACL categories"].iter().enumerate()
        {
            let newer = i == 1 && ARITY_CHANGED_IN_72.contains(&name.as_str());
            if a[i] != b[i] && !newer {
                mismatches.push(format!("{name} {field}: oxkey {:?}, redis {:?}", a[i], b[i]));
            }
        }
        if a[7] != b[7] && !TIPS_CHANGED_IN_72.contains(&name.as_str()) {
            mismatches.push(format!("{name} tips: oxkey {:?}, redis {:?}", a[7], b[7]));
        }
        // Every spec with its notes, flags, begin search and find keys.
        if a[8] != b[8] {
            mismatches.push(format!("{name} key specs: oxkey {:?}, redis {:?}", a[8], b[8]));
        }
    }
    assert!(mismatches.is_empty(), "COMMAND INFO differs from Redis:\n{}", mismatches.join("\n"));

    // A container lists its subcommands, each a full entry.
    let config = o.cmd(&["COMMAND", "INFO", "config"]);
    let config = items(&items(&config)[0]);
    assert_eq!(config[1], Resp::Int(-2));
    assert!(items(&config[9]).iter().any(|s| items(s)[0] == Resp::bulk("config|get")));
    // Unknown names are nulls; COMMAND alone is COMMAND INFO of everything.
    let mixed = o.cmd(&["COMMAND", "INFO", "nosuch", "get"]);
    assert_eq!(items(&mixed)[0], Resp::Bulk(None));
    let all = o.cmd(&["COMMAND"]);
    assert_eq!(items(&all).len() as i64, int(&o.cmd(&["COMMAND", "COUNT"])));
    assert_eq!(o.cmd(&["COMMAND", "INFO"]), all);

    // RESP3: flags, categories, tips, key specs are sets; the spec a map.
    o.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    for name in ["get", "keys", "hgetall", "nosuch"] {
        assert_eq!(
            o.cmd(&["COMMAND", "INFO", name]),
            r.cmd(&["COMMAND", "INFO", name]),
            "COMMAND INFO {name} in RESP3"
        );
    }
}

/// Every command's COMMAND DOCS (RESP3), flattened to "name" and
/// "container|sub" entries.
fn all_docs(c: &mut RawConn) -> Vec<(String, Vec<(String, Resp)>)> {
    fn fields(doc: &Resp) -> Vec<(String, Resp)> {
        match doc {
            Resp::Map(m) => m.iter().map(|(k, v)| (text(k), v.clone())).collect(),
            other => panic!("docs are not a map: {other:?}"),
        }
    }
    let mut out = Vec::new();
    let Resp::Map(all) = c.cmd(&["COMMAND", "DOCS"]) else { panic!("COMMAND DOCS is not a map") };
    for (name, doc) in all {
        let doc = fields(&doc);
        if let Some((_, Resp::Map(subs))) = doc.iter().find(|f| f.0 == "subcommands") {
            out.extend(subs.iter().map(|(n, d)| (text(n), fields(d))));
        }
        out.push((text(&name), doc));
    }
    out
}

fn field<'a>(doc: &'a [(String, Resp)], name: &str) -> Option<&'a Resp> {
    doc.iter().find(|f| f.0 == name).map(|f| &f.1)
}

/// An argument list without the names and display texts (what Redis 7.2
/// renamed), keeping types, tokens, flags, key specs and versions.
fn argument_shapes(args: &Resp) -> Resp {
    let shape = |arg: &Resp| match arg {
        Resp::Map(m) => Resp::Map(
            m.iter()
                .filter(|(k, _)| !matches!(text(k).as_str(), "name" | "display_text"))
                .map(|(k, v)| (k.clone(), if text(k) == "arguments" { argument_shapes(v) } else { v.clone() }))
                .collect(),
        ),
        other => panic!("argument is not a map: {other:?}"),
    };
    Resp::Array(Some(items(args).iter().map(shape).collect()))
}

/// Redis 7.0 runs here; oxkey answers as 7.2, whose command JSON files
/// renamed most arguments (`score_member` became `data`), added display
/// texts and restructured these argument trees.
const DOCS_ARGUMENTS_CHANGED_IN_7_2: &[&str] = &[
    "bgsave",                  // SCHEDULE inside a oneof
    "bitcount",                // END nested in its own block with the unit
    "bitop",                   // the operation a oneof of tokens
    "client|kill",             // SKIPME a oneof of YES/NO
    "client|list",             // ID a multiple integer, not a block
    "command|getkeys",         // arguments described
    "command|getkeysandflags", // arguments described
    "config|get",              // one-argument blocks flattened
    "psubscribe",
    "geohash", // member optional
    "geopos",
    "georadius", // STORE and STOREDIST a oneof
    "georadiusbymember",
    "pfmerge",      // sourcekey optional
    "xinfo|stream", // FULL a token inside the block
    "zrank",        // WITHSCORE
    "zrevrank",
    "hscan", // NOVALUES, which oxkey implements
];

/// History entries 7.2 added.
const DOCS_HISTORY_CHANGED_IN_7_2: &[&str] = &[
    "georadius_ro",
    "georadiusbymember",
    "georadiusbymember_ro",
    "xinfo|consumers",
    "xinfo|stream",
    "zrank",
    "zrevrank",
];

#[test]
fn command_docs_match_redis() {
    let Some(redis) = Redis::start(&[]) else { return };
    let srv = TestServer::start();
    let (mut r, mut o) = (redis.raw(), srv.raw());
    o.cmd(&["HELLO", "3"]);
    r.cmd(&["HELLO", "3"]);
    let ours = all_docs(&mut o);
    let theirs = all_docs(&mut r);
    let mut compared = 0;
    for (name, doc) in &ours {
        // Every non-container argument has a display text (7.2's reply).
        if let Some(args) = field(doc, "arguments") {
            let mut stack = vec![args.clone()];
            while let Some(list) = stack.pop() {
                for arg in items(&list) {
                    let Resp::Map(a) = arg else { panic!("{name}: argument {arg:?}") };
                    let a: Vec<(String, Resp)> = a.iter().map(|(k, v)| (text(k), v.clone())).collect();
                    let container = matches!(field(&a, "type").map(text).as_deref(), Some("oneof" | "block"));
                    assert_eq!(field(&a, "display_text").is_some(), !container, "{name}: display_text of {a:?}");
                    if let Some(sub) = field(&a, "arguments") {
                        stack.push(sub.clone());
                    }
                }
            }
        }
        let Some((_, redis_doc)) = theirs.iter().find(|t| &t.0 == name) else { continue };
        compared += 1;
        // 7.2 deprecated QUIT and corrected CLIENT PAUSE's version.
        let fields: &[&str] = match name.as_str() {
            "quit" => &["group"],
            "client|pause" => &["group", "doc_flags"],
            _ => &["since", "group", "doc_flags", "deprecated_since", "replaced_by"],
        };
        for f in fields {
            assert_eq!(field(doc, f), field(redis_doc, f), "{name}: {f}");
        }
        if !DOCS_HISTORY_CHANGED_IN_7_2.contains(&name.as_str()) {
            assert_eq!(field(doc, "history"), field(redis_doc, "history"), "{name}: history");
        }
        if !DOCS_ARGUMENTS_CHANGED_IN_7_2.contains(&name.as_str()) {
            let (a, b) = (field(doc, "arguments"), field(redis_doc, "arguments"));
            assert_eq!(a.map(argument_shapes), b.map(argument_shapes), "{name}: arguments");
        }
    }
    assert!(compared > 280, "only {compared} commands compared");
    let quit = &ours.iter().find(|d| d.0 == "quit").expect("quit").1;
    assert_eq!(field(quit, "deprecated_since"), Some(&Resp::bulk("7.2.0")));

    // RESP2: maps become flat arrays; a known argument read end to end.
    let mut o = srv.raw();
    let docs = o.cmd(&["COMMAND", "DOCS", "get", "nosuch", "client|kill"]);
    let docs = items(&docs);
    assert_eq!(docs.len(), 4, "unknown names are left out");
    assert_eq!(text(&docs[0]), "get");
    assert_eq!(text(&docs[2]), "client|kill");
    let get = items(&docs[1]);
    assert_eq!(text(&get[0]), "summary");
    assert_eq!(text(&get[1]), "Returns the string value of a key.");
    let args = &get[get.iter().position(|f| matches!(f, Resp::Bulk(Some(b)) if b == b"arguments")).expect("args") + 1];
    let key: Vec<String> =
        items(&items(args)[0]).iter().map(|f| if let Resp::Int(i) = f { i.to_string() } else { text(f) }).collect();
    assert_eq!(key, ["name", "key", "type", "key", "display_text", "key", "key_spec_index", "0"]);
    assert_eq!(o.cmd(&["COMMAND", "DOCS", "nosuch"]), Resp::Array(Some(vec![])));
}

#[test]
fn command_getkeys_matches_redis() {
    let Some(redis) = Redis::start(&[]) else { return };
    let srv = TestServer::start();
    let (mut r, mut o) = (redis.raw(), srv.raw());
    let lines: &[&[&str]] = &[
        &["GETKEYS", "get", "a"],
        &["GETKEYS", "GET", "a"],
        &["GETKEYS", "set", "a", "b", "EX", "10"],
        &["GETKEYS", "mset", "a", "b", "c", "d"],
        &["GETKEYS", "mset", "a", "b", "c"],
        &["GETKEYS", "del", "a", "b", "c"],
        &["GETKEYS", "exists", "a"],
        &["GETKEYS", "rename", "a", "b"],
        &["GETKEYS", "lmove", "a", "b", "LEFT", "RIGHT"],
        &["GETKEYS", "lmpop", "2", "a", "b", "LEFT"],
        &["GETKEYS", "lmpop", "0", "a", "LEFT"],
        &["GETKEYS", "lmpop", "5", "a", "LEFT"],
        &["GETKEYS", "lmpop", "x", "a", "LEFT"],
        &["GETKEYS", "lmpop", "9223372036854775807", "a", "LEFT"],
        &["GETKEYS", "get", "a", "b"],
        &["GETKEYS", "mset", "a"],
        &["GETKEYS", "config", "get", "x"],
        &["GETKEYS", "config", "nosuch", "x"],
        &["GETKEYS", "nosuch", "x"],
        &["GETKEYS", "ping", "x"],
        &["GETKEYSANDFLAGS", "get", "a"],
        &["GETKEYSANDFLAGS", "del", "a", "b"],
        &["GETKEYSANDFLAGS", "nosuch", "a"],
        // Keys flagged apart, found after a keyword, or flagged by the
        // arguments (SET's GET, BITFIELD's writes, SORT's STORE).
        &["GETKEYSANDFLAGS", "lmove", "a", "b", "left", "left"],
        &["GETKEYSANDFLAGS", "zunionstore", "d", "2", "a", "b"],
        &["GETKEYSANDFLAGS", "lmpop", "2", "a", "b", "left"],
        &["GETKEYSANDFLAGS", "set", "k", "v"],
        &["GETKEYSANDFLAGS", "set", "k", "v", "get"],
        &["GETKEYSANDFLAGS", "bitfield", "k", "get", "u8", "0"],
        &["GETKEYSANDFLAGS", "bitfield", "k", "get", "u8", "0", "incrby", "u8", "0", "1"],
        &["GETKEYSANDFLAGS", "bitfield", "k", "get", "u8"],
        &["GETKEYSANDFLAGS", "sort", "k"],
        &["GETKEYSANDFLAGS", "sort", "k", "by", "store", "store", "d"],
        &["GETKEYSANDFLAGS", "sort", "k", "limit", "0", "1", "store", "d1", "store", "d2"],
        &["GETKEYSANDFLAGS", "sort_ro", "k", "by", "w"],
        &["GETKEYSANDFLAGS", "georadius", "k", "1", "1", "1", "km", "store", "d"],
        &["GETKEYSANDFLAGS", "georadius", "k", "1", "1", "1", "km", "storedist", "d"],
        &["GETKEYSANDFLAGS", "georadius", "k", "1", "1", "1", "km"],
        &["GETKEYSANDFLAGS", "xread", "streams", "a", "b", "0", "0"],
        &["GETKEYSANDFLAGS", "xread", "count", "2", "streams", "a"],
        &["GETKEYSANDFLAGS", "xreadgroup", "group", "g", "c", "streams", "a", "0"],
        &["GETKEYSANDFLAGS", "memory", "usage", "k"],
        &["GETKEYSANDFLAGS", "object", "encoding", "k"],
        &["GETKEYSANDFLAGS", "eval", "s", "2", "a", "b"],
        &["GETKEYSANDFLAGS", "mset", "a", "1", "b", "2"],
        &["GETKEYSANDFLAGS", "zadd", "z", "1", "m"],
        &["GETKEYS", "xread", "streams", "a", "b", "0", "0"],
        &["GETKEYS", "zinterstore", "d", "0", "a"],
    ];
    for line in lines {
        let mut cmd = vec!["COMMAND"];
        cmd.extend_from_slice(line);
        if let Resp::Array(Some(v)) = o.cmd(&["COMMAND", "INFO", line[1]]) {
            if v[0] == Resp::Bulk(None) && line[1] != "nosuch" {
                continue; // not in the table yet
            }
        }
        let (ours, theirs) = (o.cmd(&cmd), r.cmd(&cmd));
        assert_eq!(ours, theirs, "COMMAND {line:?}");
    }
    // Redis 7.2 (not 7.0) accepts a command without arguments.
    assert_eq!(o.cmd(&["COMMAND", "GETKEYS", "ping"]), Resp::Error("ERR The command has no key arguments".into()));
    assert_eq!(o.cmd(&["COMMAND", "GETKEYS", "nosuch"]), Resp::Error("ERR Invalid command specified".into()));
    assert_eq!(
        o.cmd(&["COMMAND", "GETKEYS", "get"]),
        Resp::Error("ERR Invalid number of arguments specified for command".into())
    );
}

#[test]
fn command_list_count_and_help_match_redis() {
    let Some(redis) = Redis::start(&[]) else { return };
    let srv = TestServer::start();
    let (mut r, mut o) = (redis.raw(), srv.raw());
    let names = |c: &mut RawConn, args: &[&str]| -> Vec<String> {
        let mut cmd = vec!["COMMAND", "LIST"];
        cmd.extend_from_slice(args);
        let mut v: Vec<String> = items(&c.cmd(&cmd)).iter().map(text).collect();
        v.sort();
        v
    };
    let ours = names(&mut o, &[]);
    let theirs = names(&mut r, &[]);
    let top = ours.iter().filter(|n| !n.contains('|')).count() as i64;
    assert_eq!(int(&o.cmd(&["COMMAND", "COUNT"])), top);
    for filter in [
        &["FILTERBY", "ACLCAT", "keyspace"][..],
        &["FILTERBY", "aclcat", "DANGEROUS"],
        &["FILTERBY", "ACLCAT", "fast"],
        &["FILTERBY", "PATTERN", "c*"],
        &["FILTERBY", "PATTERN", "*|*"],
        &["FILTERBY", "PATTERN", "[a-d]?t"],
    ] {
        // The same answer for every command both servers have.
        let (a, b) = (names(&mut o, filter), names(&mut r, filter));
        let b: Vec<String> = b.into_iter().filter(|n| ours.contains(n)).collect();
        let a: Vec<String> = a.into_iter().filter(|n| theirs.contains(n)).collect();
        assert_eq!(a, b, "COMMAND LIST {filter:?}");
    }
    for args in [
        &["LIST", "FILTERBY", "MODULE", "x"][..],
        &["LIST", "FILTERBY", "ACLCAT", "nosuch"],
        &["LIST", "FILTERBY", "nosuch", "x"],
        &["LIST", "FILTERBY"],
        &["LIST", "x"],
        &["COUNT", "x"],
        &["HELP"],
        &["HELP", "x"],
        &["nosuch"],
    ] {
        let mut cmd = vec!["COMMAND"];
        cmd.extend_from_slice(args);
        assert_eq!(o.cmd(&cmd), r.cmd(&cmd), "COMMAND {args:?}");
    }
    // Pattern matching is bounded work whatever the pattern.
    let evil = "*a".repeat(2000) + "b";
    assert_eq!(o.cmd(&["COMMAND", "LIST", "FILTERBY", "PATTERN", &evil]), Resp::Array(Some(vec![])));
}

// ---------------------------------------------------------------------------
// SLOWLOG

#[test]
fn slowlog_matches_redis() {
    let args = ["--slowlog-log-slower-than", "0", "--slowlog-max-len", "5"];
    let Some(redis) = Redis::start(&args) else { return };
    let srv = TestServer::start_with(&args);
    let (mut r, mut o) = (redis.raw(), srv.raw());
    let long = "x".repeat(200);
    let many: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let mut del = vec!["DEL"];
    del.extend(many.iter().map(|s| s.as_str()));
    for c in [&mut r, &mut o] {
        assert!(matches!(c.cmd(&["HELLO", "2", "SETNAME", "me"]), Resp::Array(Some(_))));
        c.cmd(&["SLOWLOG", "RESET"]);
        c.cmd(&["SET", "k", &long]);
        c.cmd(&del);
    }
    // Entries without their timestamps, durations and ports.
    let entries = |c: &mut RawConn, count: &str| -> Vec<Resp> {
        items(&c.cmd(&["SLOWLOG", "GET", count]))
            .iter()
            .map(|e| {
                let e = items(e);
                assert_eq!(e.len(), 6);
                assert!(int(&e[2]) >= 0);
                let addr = text(&e[4]);
                assert!(addr.starts_with("127.0.0.1:"), "{addr}");
                Resp::Array(Some(vec![e[3].clone(), e[5].clone()]))
            })
            .collect()
    };
    assert_eq!(entries(&mut o, "10"), entries(&mut r, "10"));
    assert_eq!(entries(&mut o, "-1"), entries(&mut r, "-1"));
    // Newest first, ids counting up, times now.
    let got = o.cmd(&["SLOWLOG", "GET", "2"]);
    let (newest, older) = (items(&items(&got)[0]), items(&items(&got)[1]));
    assert_eq!(int(&newest[0]), int(&older[0]) + 1);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    assert!((int(&newest[1]) - now as i64).abs() < 10);
    // slowlog-max-len keeps the newest entries.
    assert_eq!(o.cmd(&["SLOWLOG", "LEN"]), Resp::Int(5));
    assert_eq!(o.cmd(&["SLOWLOG", "LEN"]), r.cmd(&["SLOWLOG", "LEN"]));
    // RESET clears, then logs itself.
    for c in [&mut r, &mut o] {
        c.cmd(&["SLOWLOG", "RESET"]);
    }
    assert_eq!(o.cmd(&["SLOWLOG", "LEN"]), r.cmd(&["SLOWLOG", "LEN"]));
    for args in [
        &["GET", "x"][..],
        &["GET", "-2"],
        &["GET", "99999999999999999999"],
        &["GET", "1", "2"],
        &["HELP"],
        &["LEN", "x"],
        &["nosuch"],
    ] {
        let mut cmd = vec!["SLOWLOG"];
        cmd.extend_from_slice(args);
        assert_eq!(o.cmd(&cmd), r.cmd(&cmd), "SLOWLOG {args:?}");
    }
    // A negative threshold turns the log off.
    o.cmd(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    o.cmd(&["SLOWLOG", "RESET"]);
    o.cmd(&["PING"]);
    assert_eq!(o.cmd(&["SLOWLOG", "LEN"]), Resp::Int(0));
}

// ---------------------------------------------------------------------------
// DEBUG

const DEBUG_DENIED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", \
     you can run it from a local connection, otherwise you need to set this option in the configuration file, and \
     then restart the server.";

#[test]
fn debug_is_gated_by_enable_debug_command() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["DEBUG", "SLEEP", "0"]), Resp::Error(DEBUG_DENIED.into()));
    assert_eq!(c.cmd(&["debug", "nosuch"]), Resp::Error(DEBUG_DENIED.into()));
    // Rejected before running: counted as a rejected call.
    let stats = info(&mut c, &["commandstats"]);
    assert!(stats["cmdstat_debug"].ends_with("rejected_calls=2,failed_calls=0"), "{}", stats["cmdstat_debug"]);
    if let Some(redis) = Redis::start(&[]) {
        assert_eq!(redis.raw().cmd(&["DEBUG", "SLEEP", "0"]), Resp::Error(DEBUG_DENIED.into()));
    }
    // "local" allows loopback clients, "yes" everyone.
    for setting in ["local", "yes"] {
        let srv = TestServer::start_with(&["--enable-debug-command", setting]);
        assert_eq!(srv.raw().cmd(&["DEBUG", "SLEEP", "0"]), Resp::ok(), "{setting}");
    }
}

#[test]
fn debug_subcommands_match_redis() {
    let args = ["--enable-debug-command", "yes"];
    let Some(redis) = Redis::start(&args) else { return };
    let srv = TestServer::start_with(&args);
    let (mut r, mut o) = (redis.raw(), srv.raw());
    let mut script: Vec<Vec<&str>> = vec![
        vec!["DEBUG", "HELP", "x"],
        vec!["DEBUG", "nosuch"],
        vec!["DEBUG", "Sleep"],
        vec!["DEBUG", "SLEEP", "0"],
        vec!["DEBUG", "SLEEP", "abc"],
        vec!["DEBUG", "SET-ACTIVE-EXPIRE"],
        vec!["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
        vec!["DEBUG", "OBJECT"],
        vec!["DEBUG", "OBJECT", "nosuch"],
        vec!["DEBUG", "OBJECT", "a", "b"],
        vec!["DEBUG", "CHANGE-REPL-ID"],
        vec!["DEBUG", "CHANGE-REPL-ID", "x"],
        vec!["DEBUG", "LOG", "hello from the test"],
        vec!["DEBUG", "ERROR", "MYERR something failed"],
        vec!["DEBUG", "POPULATE", "3"],
        vec!["DEBUG", "POPULATE", "2", "pre", "10"],
        vec!["GET", "pre:1"],
        vec!["GET", "key:2"],
        vec!["DEBUG", "POPULATE", "2", "pre", "3"],
        vec!["GET", "pre:0"],
        vec!["DEBUG", "POPULATE", "-1"],
        vec!["DEBUG", "POPULATE", "abc"],
        vec!["DEBUG", "POPULATE", "1", "x", "-1"],
        vec!["DEBUG", "POPULATE", "1", "x", "1", "y"],
        vec!["DBSIZE"],
    ];
    let kinds =
        ["string", "integer", "double", "bignum", "null", "array", "set", "map", "verbatim", "true", "false", "x"];
    for kind in kinds {
        script.push(vec!["DEBUG", "PROTOCOL", kind]);
    }
    for cmd in &script {
        assert_eq!(o.cmd(cmd), r.cmd(cmd), "{cmd:?}");
    }
    // RESP3 forms; attrib and push come with a real reply after them.
    for c in [&mut r, &mut o] {
        c.cmd(&["HELLO", "3"]);
    }
    for kind in kinds {
        assert_eq!(o.cmd(&["DEBUG", "PROTOCOL", kind]), r.cmd(&["DEBUG", "PROTOCOL", kind]), "RESP3 {kind}");
    }
    for kind in ["attrib", "push"] {
        for c in [&mut r, &mut o] {
            c.send_cmd(&[b"DEBUG", b"PROTOCOL", kind.as_bytes()]);
        }
        let raw = |c: &mut RawConn| {
            let mut buf = vec![0u8; 256];
            std::thread::sleep(Duration::from_millis(100));
            let n = std::io::Read::read(c.reader.get_mut(), &mut buf).unwrap_or(0);
            buf.truncate(n);
            buf
        };
        assert_eq!(raw(&mut o), raw(&mut r), "RESP3 {kind}");
    }

    // A count that cannot fit: Redis 7.0 dies trying, oxkey refuses.
    assert_eq!(o.cmd(&["DEBUG", "POPULATE", "99999999999999"]), Resp::Error("ERR OOM in dictTryExpand".into()));

    // DEBUG OBJECT: Redis's line, the same encoding, refcount and length.
    let (mut r, mut o) = (redis.raw(), srv.raw());
    let fields = |line: &str| -> Vec<String> {
        line.split(' ')
            .filter(|f| ["refcount", "encoding", "serializedlength"].contains(&f.split(':').next().unwrap_or("")))
            .map(String::from)
            .collect()
    };
    for value in ["bar", "123", "12345", "12345678901", "abcdefghijklmnopqrstuvwxyz0123"] {
        let mut lines = Vec::new();
        for c in [&mut r, &mut o] {
            c.cmd(&["SET", "obj", value]);
            let line = text(&c.cmd(&["DEBUG", "OBJECT", "obj"]));
            assert!(line.starts_with("Value at:0x") && line.contains(" lru_seconds_idle:"), "{line}");
            lines.push(fields(&line));
        }
        assert_eq!(lines[1], lines[0], "DEBUG OBJECT of {value}");
    }
}

#[test]
fn debug_sleep_stops_the_server() {
    let srv = TestServer::start_with(&["--enable-debug-command", "yes"]);
    let mut sleeper = srv.raw();
    let mut other = srv.raw();
    sleeper.send_cmd(&[b"DEBUG", b"SLEEP", b"0.3"]);
    std::thread::sleep(Duration::from_millis(50));
    let start = Instant::now();
    assert_eq!(other.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert!(start.elapsed() >= Duration::from_millis(150), "PING answered during DEBUG SLEEP");
    assert_eq!(sleeper.read(), Resp::ok());
}

#[test]
fn debug_set_active_expire_and_change_repl_id() {
    let srv = TestServer::start_with(&["--enable-debug-command", "yes", "--hz", "100"]);
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]), Resp::ok());
    for i in 0..20 {
        c.cmd(&["SET", &format!("k{i}"), "v", "PX", "20"]);
    }
    std::thread::sleep(Duration::from_millis(300));
    // Not accessed and not collected: the keys are still counted.
    assert_eq!(c.cmd(&["DBSIZE"]), Resp::Int(20));
    assert_eq!(info(&mut c, &["stats"])["expired_keys"], "0");
    assert_eq!(c.cmd(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]), Resp::ok());
    let deadline = Instant::now() + Duration::from_secs(5);
    while c.cmd(&["DBSIZE"]) != Resp::Int(0) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c.cmd(&["DBSIZE"]), Resp::Int(0));
    assert_eq!(info(&mut c, &["stats"])["expired_keys"], "20");

    let before = info(&mut c, &["replication"])["master_replid"].clone();
    assert_eq!(c.cmd(&["DEBUG", "CHANGE-REPL-ID"]), Resp::ok());
    let after = info(&mut c, &["replication"])["master_replid"].clone();
    assert_ne!(before, after);
    assert!(after.len() == 40 && after.bytes().all(|b| b.is_ascii_hexdigit()));
}

// ---------------------------------------------------------------------------
// Keyspace-wide commands

#[test]
fn swapdb_moves_data_and_ttls() {
    let Some(redis) = Redis::start(&[]) else { return };
    let srv = TestServer::start();
    let (mut r, mut o) = (redis.raw(), srv.raw());
    let script: &[&[&str]] = &[
        &["SET", "a", "0"],
        &["SELECT", "1"],
        &["SET", "b", "1"],
        &["SET", "c", "1", "EX", "1000"],
        &["SWAPDB", "0", "1"],
        &["DBSIZE"],
        &["GET", "a"],
        &["SELECT", "0"],
        &["DBSIZE"],
        &["GET", "b"],
        &["TTL", "c"],
        &["SWAPDB", "1", "1"],
        &["SWAPDB", "a", "1"],
        &["SWAPDB", "1", "a"],
        &["SWAPDB", "1.5", "1"],
        &["SWAPDB", "-1", "1"],
        &["SWAPDB", "0", "16"],
        &["SWAPDB", "99999999999", "1"],
        &["SWAPDB", "0"],
        &["SWAPDB", "0", "1", "2"],
    ];
    for cmd in script {
        assert_eq!(o.cmd(cmd), r.cmd(cmd), "{cmd:?}");
    }
    let keyspace = |c: &mut RawConn| -> Vec<String> {
        let t = info_text(c, &["keyspace"]);
        t.lines().map(|l| l.split(",avg_ttl").next().unwrap_or(l).to_string()).collect()
    };
    assert_eq!(keyspace(&mut o), keyspace(&mut r));
}

#[test]
fn flush_commands_match_redis() {
    let Some(redis) = Redis::start(&[]) else { return };
    let srv = TestServer::start();
    let (mut r, mut o) = (redis.raw(), srv.raw());
    let dirty = |c: &mut RawConn| num(&info(c, &["persistence"]), "rdb_changes_since_last_save");
    for c in [&mut r, &mut o] {
        for (db, key) in [("0", "a"), ("0", "b"), ("3", "c"), ("15", "d")] {
            c.cmd(&["SELECT", db]);
            c.cmd(&["SET", key, "v"]);
        }
        c.cmd(&["SELECT", "0"]);
    }
    // FLUSHDB and FLUSHALL count the keys they remove.
    let (d0, r0) = (dirty(&mut o), dirty(&mut r));
    for cmd in
        [&["FLUSHDB", "SYNC"][..], &["DBSIZE"], &["FLUSHALL", "ASYNC"], &["DBSIZE"], &["SELECT", "15"], &["DBSIZE"]]
    {
        assert_eq!(o.cmd(cmd), r.cmd(cmd), "{cmd:?}");
    }
    assert_eq!(dirty(&mut o) - d0, dirty(&mut r) - r0);
    assert_eq!(info_text(&mut o, &["keyspace"]), "# Keyspace\r\n");
    for cmd in [&["FLUSHALL", "x"][..], &["FLUSHALL", "SYNC", "ASYNC"], &["FLUSHDB", "lazy"], &["FLUSHDB", "ASYNC"]] {
        assert_eq!(o.cmd(cmd), r.cmd(cmd), "{cmd:?}");
    }
}

#[test]
fn time_lastsave_and_argument_errors_match_redis() {
    let Some(redis) = Redis::start(&[]) else { return };
    let srv = TestServer::start();
    let (mut r, mut o) = (redis.raw(), srv.raw());
    for cmd in [&["TIME", "x"][..], &["LASTSAVE", "x"], &["DBSIZE", "x"], &["INFO", "nosuch"]] {
        assert_eq!(o.cmd(cmd), r.cmd(cmd), "{cmd:?}");
    }
    let t = o.cmd(&["TIME"]);
    let t = items(&t);
    let secs: i64 = text(&t[0]).parse().expect("seconds");
    let usecs: i64 = text(&t[1]).parse().expect("microseconds");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    assert!((secs - now as i64).abs() < 5 && (0..1_000_000).contains(&usecs));
}

// ---------------------------------------------------------------------------
// SHUTDOWN

#[test]
fn shutdown_options() {
    let Some(redis) = Redis::start(&[]) else { return };
    let mut srv = TestServer::start();
    let (mut r, mut o) = (redis.raw(), srv.raw());
    for cmd in [
        &["SHUTDOWN", "ABORT"][..],
        &["SHUTDOWN", "abort", "ABORT"],
        &["SHUTDOWN", "NOSAVE", "ABORT"],
        &["SHUTDOWN", "ABORT", "FORCE"],
        &["SHUTDOWN", "NOSAVE", "SAVE"],
        &["SHUTDOWN", "nosuch"],
    ] {
        assert_eq!(o.cmd(cmd), r.cmd(cmd), "{cmd:?}");
    }
    // SHUTDOWN SAVE writes the dataset, then exits (a failing final save
    // and FORCE are in tests/persistence.rs).
    o.send_cmd(&[b"SHUTDOWN", b"SAVE"]);
    assert!(o.closed());
    assert!(srv.wait_exit(Duration::from_secs(5)).is_some(), "SHUTDOWN SAVE did not exit");
    assert!(srv.dir.join("dump.rdb").exists());

    for args in [&["SHUTDOWN"][..], &["shutdown", "NOSAVE", "NOW", "FORCE"]] {
        let mut srv = TestServer::start();
        let mut c = srv.raw();
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        c.send_cmd(&argv);
        // No reply: the connection closes as the server exits.
        assert!(c.closed(), "{args:?}");
        let status = srv.wait_exit(Duration::from_secs(5)).expect("server exited");
        assert!(status.success(), "{args:?}: {status}");
    }
}
