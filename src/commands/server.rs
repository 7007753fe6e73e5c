//! Server commands: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME, LASTSAVE,
//! SHUTDOWN and INFO.
//!
//! INFO prints Redis 7.2's sections with its field names in its order, so
//! that clients and monitoring tools parse it unchanged. Every value is
//! measured; fields of subsystems oxkey does not have yet (Lua, forks,
//! replicas, defrag...) report what is true of a server without them —
//! zero, `-1` or `ok` — as Redis itself does when they are idle.

use std::fmt::Write as _;

use bytes::Bytes;

use super::docs::*;
use super::{acl, flags::*, CommandDef, Ctx, NO_KEYS};
use crate::cmd;
use crate::executor::{Server, ShutdownMode};
use crate::util::{eq_ic, now_us, parse_i64};

// Arguments several commands share, for COMMAND DOCS.
const FLUSH_TYPE_ARG: Arg =
    oneof("flush-type", &[pure_token("async", "ASYNC").since("4.0.0"), pure_token("sync", "SYNC").since("6.2.0")])
        .optional();

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "dbsize",
        1,
        READONLY | FAST,
        acl::KEYSPACE,
        NO_KEYS,
        dbsize,
        "server",
        "1.0.0",
        "O(1)",
        "Returns the number of keys in the database."
    )
    .with_tips(&["request_policy:all_shards", "response_policy:agg_sum"]),
    cmd!(
        "flushdb",
        -1,
        WRITE,
        acl::KEYSPACE | acl::DANGEROUS,
        NO_KEYS,
        flushdb,
        "server",
        "1.0.0",
        "O(N) where N is the number of keys in the selected database",
        "Removes all keys from the current database."
    )
    .with_args(&[FLUSH_TYPE_ARG])
    .with_history(&[
        ("4.0.0", "Added the `ASYNC` flushing mode modifier."),
        ("6.2.0", "Added the `SYNC` flushing mode modifier."),
    ])
    .with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    cmd!(
        "flushall",
        -1,
        WRITE,
        acl::KEYSPACE | acl::DANGEROUS,
        NO_KEYS,
        flushall,
        "server",
        "1.0.0",
        "O(N) where N is the total number of keys in all databases",
        "Removes all keys from all databases."
    )
    .with_args(&[FLUSH_TYPE_ARG])
    .with_history(&[
        ("4.0.0", "Added the `ASYNC` flushing mode modifier."),
        ("6.2.0", "Added the `SYNC` flushing mode modifier."),
    ])
    .with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
    cmd!(
        "swapdb",
        3,
        WRITE | FAST,
        acl::KEYSPACE | acl::DANGEROUS,
        NO_KEYS,
        swapdb,
        "server",
        "4.0.0",
        "O(N) where N is the count of clients watching or blocking on keys from both databases.",
        "Swaps two Redis databases."
    )
    .with_args(&[integer("index1"), integer("index2")]),
    cmd!("time", 1, LOADING | STALE | FAST, 0, NO_KEYS, time, "server", "2.6.0", "O(1)", "Returns the server time.")
        .with_tips(&["nondeterministic_output"]),
    cmd!(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        acl::ADMIN | acl::DANGEROUS,
        NO_KEYS,
        lastsave,
        "server",
        "1.0.0",
        "O(1)",
        "Returns the Unix timestamp of the last successful save to disk."
    )
    .with_tips(&["nondeterministic_output"]),
    cmd!(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        0,
        NO_KEYS,
        shutdown,
        "server",
        "1.0.0",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
        "Synchronously saves the database(s) to disk and shuts down the Redis server."
    )
    .with_args(&[
        oneof("nosave_save", &[pure_token("nosave", "NOSAVE"), pure_token("save", "SAVE")]).optional(),
        pure_token("now", "NOW").since("7.0.0").optional(),
        pure_token("force", "FORCE").since("7.0.0").optional(),
        pure_token("abort", "ABORT").since("7.0.0").optional(),
    ])
    .with_history(&[("7.0.0", "Added the `NOW`, `FORCE` and `ABORT` modifiers.")]),
    cmd!(
        "info",
        -1,
        LOADING | STALE,
        acl::DANGEROUS,
        NO_KEYS,
        info,
        "server",
        "1.0.0",
        "O(1)",
        "Returns information and statistics about the server."
    )
    .with_args(&[string("section").optional().multiple()])
    .with_history(&[("7.0.0", "Added support for taking multiple section arguments.")])
    .with_tips(&["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
];

pub fn valid_client_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

fn dbsize(ctx: &mut Ctx, _args: &[Bytes]) {
    let n = ctx.db().len();
    ctx.out().int(n as i64);
}

/// Parses the optional ASYNC|SYNC argument of FLUSHDB/FLUSHALL. Memory is
/// always freed at once: ASYNC changes nothing a client can observe.
fn flush_mode_ok(ctx: &mut Ctx, args: &[Bytes]) -> bool {
    match args.len() {
        1 => true,
        2 if eq_ic(&args[1], "async") || eq_ic(&args[1], "sync") => true,
        _ => {
            ctx.syntax_error();
            false
        }
    }
}

fn flushdb(ctx: &mut Ctx, args: &[Bytes]) {
    if !flush_mode_ok(ctx, args) {
        return;
    }
    let n = ctx.db().len() as u64;
    ctx.db().clear();
    // Redis adds the number of keys removed and forces propagation even of
    // an empty flush; here a change must be counted to be propagated.
    ctx.dirty(n.max(1));
    ctx.ok();
}

fn flushall(ctx: &mut Ctx, args: &[Bytes]) {
    if !flush_mode_ok(ctx, args) {
        return;
    }
    let mut n = 0;
    for db in ctx.srv.dbs.iter_mut() {
        n += db.len() as u64;
        db.clear();
    }
    // As FLUSHDB: Redis counts the keys removed and forces propagation.
    ctx.dirty(n.max(1));
    // A running background save is dropped, and with save points an empty
    // file is saved at once: the change count is then 0, as on Redis 7.0.
    crate::persistence::after_flushall(ctx.srv);
    ctx.ok();
}

/// SWAPDB's index argument: any integer in C int range, else `msg`.
fn db_index(arg: &[u8]) -> Option<i64> {
    parse_i64(arg).filter(|v| i32::try_from(*v).is_ok())
}

fn swapdb(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(a) = db_index(&args[1]) else { return ctx.error("ERR invalid first DB index") };
    let Some(b) = db_index(&args[2]) else { return ctx.error("ERR invalid second DB index") };
    let n = ctx.srv.dbs.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return ctx.error("ERR DB index is out of range");
    }
    let (a, b) = (a as usize, b as usize);
    // The data moves, each Db keeps its index and what is tied to the index:
    // the keys clients watch or wait on there. Those keys now see other
    // data: WATCHes on them fail, waiters on them look again.
    ctx.srv.dbs.swap(a, b);
    let (lo, hi) = (a.min(b), a.max(b));
    if lo != hi {
        let (left, right) = ctx.srv.dbs.split_at_mut(hi);
        let (x, y) = (&mut left[lo], &mut right[0]);
        std::mem::swap(&mut x.interest, &mut y.interest);
        std::mem::swap(&mut x.touched, &mut y.touched);
    }
    for i in [a, b] {
        let db = &mut ctx.srv.dbs[i];
        db.id = i;
        let keys: Vec<_> = db.interest.iter().cloned().collect();
        db.touched.extend(keys);
    }
    ctx.dirty(1);
    ctx.ok();
}

fn time(ctx: &mut Ctx, _args: &[Bytes]) {
    let us = now_us();
    let out = ctx.out();
    out.array(2);
    out.bulk_i64(us / 1_000_000);
    out.bulk_i64(us % 1_000_000);
}

/// The last successful save (the start time until one happens, as Redis).
fn lastsave_time(srv: &Server) -> i64 {
    srv.persistence.lastsave
}

fn lastsave(ctx: &mut Ctx, _args: &[Bytes]) {
    let t = lastsave_time(ctx.srv);
    ctx.out().int(t);
}

fn shutdown(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut nosave, mut save, mut now, mut force, mut abort) = (false, false, false, false, false);
    for a in &args[1..] {
        if eq_ic(a, "nosave") {
            nosave = true;
        } else if eq_ic(a, "save") {
            save = true;
        } else if eq_ic(a, "now") {
            // No replicas to wait for: every shutdown is immediate anyway.
            now = true;
        } else if eq_ic(a, "force") {
            force = true;
        } else if eq_ic(a, "abort") {
            abort = true;
        } else {
            return ctx.syntax_error();
        }
    }
    if (abort && (nosave || save || now || force)) || (nosave && save) {
        return ctx.syntax_error();
    }
    if abort {
        // A shutdown never waits for anything here, so none can be pending.
        return ctx.error("ERR No shutdown in progress.");
    }
    // While a script runs long, only SHUTDOWN NOSAVE may end the server.
    if let Some(running) = ctx.srv.busy.as_ref().filter(|_| !nosave) {
        return ctx.error(running.kind.busy_error());
    }
    if crate::persistence::shutdown_save(ctx.srv, save, nosave).is_err() {
        // Redis refuses to exit when the final save fails, unless FORCE.
        if !force {
            tracing::warn!("Error trying to save the DB, can't exit.");
            tracing::warn!("Errors trying to shut down the server. Check the logs for more information.");
            return ctx.error("ERR Errors trying to SHUTDOWN. Check logs.");
        }
        tracing::warn!("Error trying to save the DB. Exit anyway.");
    }
    let mode = if nosave {
        ShutdownMode::NoSave
    } else if save {
        ShutdownMode::Save
    } else {
        ShutdownMode::Default
    };
    ctx.srv.shutdown = Some(mode);
    ctx.srv.shutdown_notify.notify_one();
    // Like Redis, the connection just closes: no reply on success.
    ctx.client.close_after_reply = true;
}

// ---------------------------------------------------------------------------
// INFO

/// The sections INFO prints without arguments (and for `default`), in
/// Redis 7.2's order of output. `module_list` is printed as "Modules".
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Which sections a call asked for, as Redis's genInfoSectionDict.
struct Sections {
    names: Vec<String>,
    all: bool,
}

impl Sections {
    fn parse(args: &[Bytes]) -> Sections {
        let mut s = Sections { names: Vec::new(), all: false };
        if args.is_empty() {
            s.add_defaults();
        }
        for a in args {
            if eq_ic(a, "default") {
                s.add_defaults();
            } else if eq_ic(a, "all") || eq_ic(a, "everything") {
                // `everything` adds module-generated sections: there are none.
                s.all = true;
            } else {
                s.names.push(String::from_utf8_lossy(a).to_ascii_lowercase());
            }
        }
        s
    }

    fn add_defaults(&mut self) {
        self.names.extend(DEFAULT_SECTIONS.iter().map(|n| n.to_string()));
    }

    fn wants(&self, name: &str) -> bool {
        self.all || self.names.iter().any(|n| n == name)
    }
}

fn info(ctx: &mut Ctx, args: &[Bytes]) {
    let sections = Sections::parse(&args[1..]);
    let text = info_text(ctx, &sections);
    ctx.out().verbatim(text.as_bytes());
}

/// Builds the INFO text: each section a `# Title` line and `field:value`
/// lines, sections separated by an empty line, every line ending in CRLF.
fn info_text(ctx: &Ctx, sections: &Sections) -> String {
    type Section = fn(&Ctx, &mut String);
    let all: &[(&str, &str, Section)] = &[
        ("server", "Server", server_section),
        ("clients", "Clients", clients_section),
        ("memory", "Memory", memory_section),
        ("persistence", "Persistence", persistence_section),
        ("stats", "Stats", stats_section),
        ("replication", "Replication", replication_section),
        ("cpu", "CPU", cpu_section),
        ("module_list", "Modules", modules_section),
        ("commandstats", "Commandstats", commandstats_section),
        ("errorstats", "Errorstats", errorstats_section),
        ("latencystats", "Latencystats", latencystats_section),
        ("cluster", "Cluster", cluster_section),
        ("keyspace", "Keyspace", keyspace_section),
    ];
    let mut s = String::with_capacity(4096);
    for (name, title, write) in all {
        let wanted = sections.wants(name) || (*name == "module_list" && sections.wants("modules"));
        if !wanted {
            continue;
        }
        if !s.is_empty() {
            s.push_str("\r\n");
        }
        let _ = write!(s, "# {title}\r\n");
        write(ctx, &mut s);
    }
    s
}

/// Appends `name:value\r\n`.
macro_rules! field {
    ($s:expr, $name:literal, $($value:tt)+) => {
        let _ = write!($s, concat!($name, ":{}\r\n"), format_args!($($value)+));
    };
}

fn server_section(ctx: &Ctx, s: &mut String) {
    let srv = &*ctx.srv;
    let now = now_us();
    let uptime = (now / 1000 - srv.start_ms).max(0) / 1000;
    field!(s, "redis_version", "{}", crate::REDIS_COMPAT_VERSION);
    field!(s, "server_name", "oxkey");
    field!(s, "valkey_version", "{}", crate::VALKEY_COMPAT_VERSION);
    field!(s, "oxkey_version", "{}", crate::VERSION);
    field!(s, "redis_git_sha1", "00000000");
    field!(s, "redis_git_dirty", "0");
    field!(s, "redis_build_id", "{:016x}", build_id());
    field!(s, "redis_mode", "standalone");
    field!(s, "os", "{}", os_name());
    field!(s, "arch_bits", "{}", usize::BITS);
    // std's Instant reads CLOCK_MONOTONIC; tokio polls with epoll.
    field!(s, "monotonic_clock", "POSIX clock_gettime");
    field!(s, "multiplexing_api", "epoll");
    field!(s, "atomicvar_api", "c11-builtin");
    // Not built with GCC: Redis prints 0.0.0 then.
    field!(s, "gcc_version", "0.0.0");
    field!(s, "process_id", "{}", std::process::id());
    field!(s, "process_supervised", "no");
    field!(s, "run_id", "{}", srv.run_id);
    field!(s, "tcp_port", "{}", srv.config.port);
    field!(s, "server_time_usec", "{now}");
    field!(s, "uptime_in_seconds", "{uptime}");
    field!(s, "uptime_in_days", "{}", uptime / 86400);
    field!(s, "hz", "{}", srv.config.hz);
    field!(s, "configured_hz", "{}", srv.config.hz);
    field!(s, "lru_clock", "{}", crate::db::value::lru_clock());
    let exe = std::env::current_exe().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    field!(s, "executable", "{exe}");
    field!(s, "config_file", "{}", srv.config.config_file.as_deref().unwrap_or(""));
    // io-threads decode and encode on other threads; none run commands.
    field!(s, "io_threads_active", "0");
    // Redis 7.2: one line per listener type, with the configured addresses.
    if srv.config.port != 0 {
        s.push_str("listener0:name=tcp");
        for addr in &srv.config.bind {
            let _ = write!(s, ",bind={addr}");
        }
        let _ = write!(s, ",port={}\r\n", srv.config.port);
    }
}

/// Every client, the calling one included (it is out of the map while its
/// command runs).
pub(crate) fn for_each_client(ctx: &Ctx, mut f: impl FnMut(&crate::server::client::Client)) {
    let caller_in_map = ctx.srv.clients.contains_key(&ctx.client.id);
    for c in ctx.srv.clients.values() {
        f(c);
    }
    if !caller_in_map {
        f(ctx.client);
    }
}

fn clients_section(ctx: &Ctx, s: &mut String) {
    let (mut n, mut max_in, mut max_out, mut blocked, mut timed) = (0, 0, 0, 0, 0);
    for_each_client(ctx, |c| {
        n += 1;
        max_in = max_in.max(c.qbuf);
        max_out = max_out.max(c.output_pending());
        // Clients held by CLIENT PAUSE are blocked too, as in Redis.
        blocked += (c.paused || c.blocked.is_some()) as usize;
        timed += c.blocked.as_ref().is_some_and(|b| b.deadline_ms > 0) as usize;
    });
    field!(s, "connected_clients", "{n}");
    field!(s, "cluster_connections", "0");
    field!(s, "maxclients", "{}", ctx.srv.config.maxclients);
    field!(s, "client_recent_max_input_buffer", "{max_in}");
    field!(s, "client_recent_max_output_buffer", "{max_out}");
    field!(s, "blocked_clients", "{blocked}");
    field!(s, "tracking_clients", "0");
    field!(s, "clients_in_timeout_table", "{timed}");
    field!(s, "total_blocking_keys", "{}", ctx.srv.waiters.by_key.len());
    field!(s, "total_blocking_keys_on_nokey", "0");
}

/// Memory figures read from the allocator and the kernel.
pub struct MemoryStats {
    /// Bytes allocated, as the counting allocator has them.
    pub used: u64,
    /// Resident set size of the process.
    pub rss: u64,
    pub peak: u64,
    pub total_system: u64,
}

impl MemoryStats {
    pub fn read() -> MemoryStats {
        let used = crate::alloc::used() as u64;
        let total_system = proc_status_kb("/proc/meminfo", "MemTotal:").unwrap_or(0) * 1024;
        // The peak samples the counters again: never below this reading.
        let peak = crate::alloc::peak().max(used);
        MemoryStats { used, rss: crate::alloc::rss(), peak, total_system }
    }
}

/// A `Name:   123 kB` line of a /proc file, in kB.
fn proc_status_kb(path: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

/// Redis's bytesToHuman: 100B, 1.50K, 2.00M...
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: &[(&str, u32)] = &[("K", 1), ("M", 2), ("G", 3), ("T", 4), ("P", 5)];
    if n < 1024 {
        return format!("{n}B");
    }
    for (unit, exp) in UNITS {
        if n < 1024u64.pow(exp + 1) {
            return format!("{:.2}{unit}", n as f64 / 1024f64.powi(*exp as i32));
        }
    }
    format!("{n}B")
}

fn memory_section(ctx: &Ctx, s: &mut String) {
    super::memory::info_section(ctx, s);
}

fn persistence_section(ctx: &Ctx, s: &mut String) {
    crate::persistence::info_rdb(ctx.srv, s);
    crate::persistence::aof::info(ctx.srv, s);
    if let Some(progress) = &ctx.srv.persistence.loading {
        crate::persistence::loading::info(progress, s);
    }
}

fn stats_section(ctx: &Ctx, s: &mut String) {
    let st = &ctx.srv.stats;
    field!(s, "total_connections_received", "{}", st.connections);
    field!(s, "total_commands_processed", "{}", st.commands);
    field!(s, "instantaneous_ops_per_sec", "{}", st.instantaneous_ops());
    field!(s, "total_net_input_bytes", "{}", st.net_input_bytes);
    field!(s, "total_net_output_bytes", "{}", st.net_output_bytes);
    field!(s, "total_net_repl_input_bytes", "0");
    field!(s, "total_net_repl_output_bytes", "0");
    for name in [
        "instantaneous_input_kbps",
        "instantaneous_output_kbps",
        "instantaneous_input_repl_kbps",
        "instantaneous_output_repl_kbps",
    ] {
        let _ = write!(s, "{name}:0.00\r\n");
    }
    field!(s, "rejected_connections", "{}", st.rejected_connections);
    field!(s, "sync_full", "0");
    field!(s, "sync_partial_ok", "0");
    field!(s, "sync_partial_err", "0");
    field!(s, "expired_keys", "{}", st.expired_keys);
    field!(s, "expired_stale_perc", "0.00");
    for name in ["expired_time_cap_reached_count", "expire_cycle_cpu_milliseconds"] {
        let _ = write!(s, "{name}:0\r\n");
    }
    field!(s, "evicted_keys", "{}", st.evicted_keys);
    field!(s, "evicted_clients", "0");
    let (total, current) = ctx.srv.evictor.exceeded_time();
    field!(s, "total_eviction_exceeded_time", "{}", total.as_millis());
    field!(s, "current_eviction_exceeded_time", "{}", current.as_millis());
    field!(s, "keyspace_hits", "{}", st.keyspace_hits);
    field!(s, "keyspace_misses", "{}", st.keyspace_misses);
    for name in [
        "pubsub_channels",
        "pubsub_patterns",
        "pubsubshard_channels",
        "latest_fork_usec",
        "total_forks",
        "migrate_cached_sockets",
        "slave_expires_tracked_keys",
        "active_defrag_hits",
        "active_defrag_misses",
        "active_defrag_key_hits",
        "active_defrag_key_misses",
        "total_active_defrag_time",
        "current_active_defrag_time",
        "tracking_total_keys",
        "tracking_total_items",
        "tracking_total_prefixes",
        "unexpected_error_replies",
    ] {
        let _ = write!(s, "{name}:0\r\n");
    }
    field!(s, "total_error_replies", "{}", st.total_error_replies);
    for name in [
        "dump_payload_sanitizations",
        "total_reads_processed",
        "total_writes_processed",
        "io_threaded_reads_processed",
        "io_threaded_writes_processed",
        "reply_buffer_shrinks",
        "reply_buffer_expands",
        "eventloop_cycles",
        "eventloop_duration_sum",
        "eventloop_duration_cmd_sum",
        "instantaneous_eventloop_cycles_per_sec",
        "instantaneous_eventloop_duration_usec",
        "acl_access_denied_auth",
        "acl_access_denied_cmd",
        "acl_access_denied_key",
        "acl_access_denied_channel",
    ] {
        let _ = write!(s, "{name}:0\r\n");
    }
}

fn replication_section(ctx: &Ctx, s: &mut String) {
    let backlog = ctx.srv.config.get("repl-backlog-size").unwrap_or("1048576");
    field!(s, "role", "master");
    field!(s, "connected_slaves", "0");
    field!(s, "master_failover_state", "no-failover");
    field!(s, "master_replid", "{}", ctx.srv.replid);
    field!(s, "master_replid2", "0000000000000000000000000000000000000000");
    field!(s, "master_repl_offset", "0");
    field!(s, "second_repl_offset", "-1");
    field!(s, "repl_backlog_active", "0");
    field!(s, "repl_backlog_size", "{backlog}");
    field!(s, "repl_backlog_first_byte_offset", "0");
    field!(s, "repl_backlog_histlen", "0");
}

/// CPU time as getrusage reports it: (system, user), `sec.usec`.
fn rusage(who: i32) -> (String, String) {
    #[repr(C)]
    #[derive(Default)]
    struct Timeval {
        sec: i64,
        usec: i64,
    }
    #[repr(C)]
    #[derive(Default)]
    struct Rusage {
        utime: Timeval,
        stime: Timeval,
        rest: [i64; 14],
    }
    extern "C" {
        fn getrusage(who: i32, usage: *mut Rusage) -> i32;
    }
    let mut ru = Rusage::default();
    // SAFETY: getrusage fills the struct we own, whose layout is Linux's
    // 64-bit `struct rusage` (two timevals then fourteen longs).
    let ok = unsafe { getrusage(who, &mut ru) } == 0;
    if !ok {
        return ("0.000000".into(), "0.000000".into());
    }
    let f = |t: &Timeval| format!("{}.{:06}", t.sec, t.usec);
    (f(&ru.stime), f(&ru.utime))
}

fn cpu_section(_ctx: &Ctx, s: &mut String) {
    const RUSAGE_SELF: i32 = 0;
    const RUSAGE_CHILDREN: i32 = -1;
    const RUSAGE_THREAD: i32 = 1;
    let (sys, user) = rusage(RUSAGE_SELF);
    let (csys, cuser) = rusage(RUSAGE_CHILDREN);
    // Commands run on this thread, the main one.
    let (tsys, tuser) = rusage(RUSAGE_THREAD);
    field!(s, "used_cpu_sys", "{sys}");
    field!(s, "used_cpu_user", "{user}");
    field!(s, "used_cpu_sys_children", "{csys}");
    field!(s, "used_cpu_user_children", "{cuser}");
    field!(s, "used_cpu_sys_main_thread", "{tsys}");
    field!(s, "used_cpu_user_main_thread", "{tuser}");
}

fn modules_section(_ctx: &Ctx, _s: &mut String) {
    // No modules can be loaded: the section is empty.
}

/// Redis's getSafeInfoString: characters that would break the format.
fn info_safe(name: &str) -> String {
    name.chars().map(|c| if matches!(c, '#' | ':' | '\r' | '\n') { '_' } else { c }).collect()
}

fn commandstats_section(ctx: &Ctx, s: &mut String) {
    for (name, st) in &ctx.srv.stats.per_command {
        if st.calls == 0 && st.failed == 0 && st.rejected == 0 {
            continue;
        }
        // Redis computes the average in single precision.
        let per_call = if st.calls == 0 { 0.0 } else { st.usec as f32 / st.calls as f32 };
        let _ = write!(
            s,
            "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
            info_safe(name),
            st.calls,
            st.usec,
            per_call,
            st.rejected,
            st.failed
        );
    }
}

fn errorstats_section(ctx: &Ctx, s: &mut String) {
    for (code, n) in &ctx.srv.stats.errors {
        let _ = write!(s, "errorstat_{}:count={n}\r\n", info_safe(code));
    }
}

/// Each command's latency percentiles (`latency-tracking`), in µs.
fn latencystats_section(ctx: &Ctx, s: &mut String) {
    let config = &ctx.srv.config;
    if !config.latency_tracking {
        return;
    }
    for (name, st) in &ctx.srv.stats.per_command {
        let Some(h) = st.latency.as_deref() else { continue };
        let _ = write!(s, "latency_percentiles_usec_{}:", info_safe(name));
        for (i, &p) in config.latency_tracking_percentiles.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "p{p}={:.3}", h.value_at_percentile(p) as f64 / 1000.0);
        }
        s.push_str("\r\n");
    }
}

fn cluster_section(_ctx: &Ctx, s: &mut String) {
    field!(s, "cluster_enabled", "0");
}

fn keyspace_section(ctx: &Ctx, s: &mut String) {
    for db in &ctx.srv.dbs {
        let (keys, expires) = (db.dict.len(), db.volatile.len());
        if keys > 0 || expires > 0 {
            let _ = write!(s, "db{}:keys={keys},expires={expires},avg_ttl={}\r\n", db.id, db.avg_ttl);
        }
    }
}

/// `os:` as Redis prints it: uname's sysname, release and machine.
fn os_name() -> String {
    #[repr(C)]
    struct Utsname {
        fields: [[u8; 65]; 6],
    }
    extern "C" {
        fn uname(buf: *mut Utsname) -> i32;
    }
    let mut u = Utsname { fields: [[0; 65]; 6] };
    // SAFETY: uname fills the struct we own; on Linux `struct utsname` is
    // six NUL-terminated 65-byte arrays.
    if unsafe { uname(&mut u) } != 0 {
        return std::env::consts::OS.to_string();
    }
    let field = |i: usize| {
        let f = &u.fields[i];
        let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
        String::from_utf8_lossy(&f[..end]).into_owned()
    };
    format!("{} {} {}", field(0), field(2), field(4))
}

/// A stable id of this build (Redis hashes its build flags): FNV-1a of
/// the version and the target.
fn build_id() -> u64 {
    let text = format!("{} {} {}", crate::VERSION, std::env::consts::ARCH, std::env::consts::OS);
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_as_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(916264), "894.79K");
        assert_eq!(bytes_to_human(6696960), "6.39M");
        assert_eq!(bytes_to_human(25276502016), "23.54G");
    }

    #[test]
    fn memory_is_measured() {
        let m = MemoryStats::read();
        assert!(m.used > 0 && m.rss > 0 && m.total_system > m.rss);
        assert!(m.peak >= m.used);
    }

    #[test]
    fn sections_default_all_and_named() {
        let args = |v: &[&str]| v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect::<Vec<_>>();
        let s = Sections::parse(&[]);
        assert!(s.wants("keyspace") && !s.wants("commandstats"));
        let s = Sections::parse(&args(&["CommandStats", "cpu"]));
        assert!(s.wants("commandstats") && s.wants("cpu") && !s.wants("server"));
        assert!(Sections::parse(&args(&["everything"])).wants("commandstats"));
        let s = Sections::parse(&args(&["default", "commandstats"]));
        assert!(s.wants("server") && s.wants("commandstats"));
    }
}
