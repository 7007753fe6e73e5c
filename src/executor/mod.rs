//! The keyspace executor: owns every database and runs each command to
//! completion. Dispatch does what Redis's `processCommand` and `call` do —
//! lookup, arity, authentication, statistics, slow log, propagation of
//! writes — driven by the command table's flags.

use std::collections::BTreeMap;
use std::rc::Rc;

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};

use crate::commands::{self, flags, CommandDef};
use crate::config::Config;
use crate::db::Db;
use crate::server::client::{Client, ReplyMode};
use crate::util::{now_ms, now_us};

/// One executed write, as the AOF, replicas and the backlog consume it.
#[derive(Debug, Clone)]
pub struct Write {
    pub db: usize,
    pub argv: Vec<Bytes>,
}

#[derive(Default, Clone)]
pub struct CommandStats {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

#[derive(Default)]
pub struct Stats {
    pub commands: u64,
    pub connections: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub per_command: BTreeMap<String, CommandStats>,
    pub errors: BTreeMap<String, u64>,
    pub total_error_replies: u64,
    /// (time ms, commands) samples for instantaneous_ops_per_sec.
    pub ops_samples: Vec<(i64, u64)>,
}

impl Stats {
    pub fn reset(&mut self) {
        *self = Stats::default();
    }

    pub fn instantaneous_ops(&self) -> u64 {
        match (self.ops_samples.first(), self.ops_samples.last()) {
            (Some(a), Some(b)) if b.0 > a.0 => (b.1 - a.1) * 1000 / (b.0 - a.0) as u64,
            _ => 0,
        }
    }
}

pub struct SlowlogEntry {
    pub id: u64,
    pub time_s: i64,
    pub duration_us: i64,
    pub argv: Vec<Bytes>,
    pub addr: String,
    pub name: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ShutdownMode {
    Default,
    NoSave,
    Save,
}

pub struct Server {
    pub dbs: Vec<Db>,
    pub config: Config,
    pub clients: BTreeMap<u64, Client>,
    pub next_client_id: u64,
    pub stats: Stats,
    /// Changes since the last save, as Redis's `server.dirty`.
    pub dirty: u64,
    pub start_ms: i64,
    pub run_id: String,
    pub slowlog: std::collections::VecDeque<SlowlogEntry>,
    pub slowlog_next_id: u64,
    /// Subscribers to the stream of executed writes.
    pub write_subscribers: Vec<mpsc::UnboundedSender<Write>>,
    pub shutdown: Option<ShutdownMode>,
    /// Wakes the main task when `shutdown` is set.
    pub shutdown_notify: Rc<Notify>,
    pub active_expire_enabled: bool,
    /// CLIENT PAUSE: until (ms) and whether only writes are paused.
    pub pause_until_ms: i64,
    pub pause_writes_only: bool,
    pub rng: rand::rngs::SmallRng,
}

impl Server {
    pub fn new(config: Config) -> Self {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::from_entropy();
        let run_id: String = (0..40).map(|_| format!("{:x}", rng.gen_range(0..16u8))).collect();
        Server {
            dbs: (0..config.databases).map(Db::new).collect(),
            config,
            clients: BTreeMap::new(),
            next_client_id: 1,
            stats: Stats::default(),
            dirty: 0,
            start_ms: now_ms(),
            run_id,
            slowlog: Default::default(),
            slowlog_next_id: 0,
            write_subscribers: Vec::new(),
            shutdown: None,
            shutdown_notify: Rc::new(Notify::new()),
            active_expire_enabled: true,
            pause_until_ms: 0,
            pause_writes_only: false,
            rng,
        }
    }

    /// Emits a write on the internal stream (AOF, replication).
    pub fn emit_write(&mut self, db: usize, argv: Vec<Bytes>) {
        if self.write_subscribers.is_empty() {
            return;
        }
        self.write_subscribers.retain(|s| s.send(Write { db, argv: argv.clone() }).is_ok());
    }

    /// Turns keys expired since the last call into DELs on the write stream.
    pub fn propagate_expired(&mut self) {
        for db in 0..self.dbs.len() {
            if self.dbs[db].expired.is_empty() {
                continue;
            }
            let keys = std::mem::take(&mut self.dbs[db].expired);
            self.stats.expired_keys += keys.len() as u64;
            for k in keys {
                self.emit_write(db, vec![Bytes::from_static(b"DEL"), Bytes::from(k.into_vec())]);
            }
        }
    }
}

/// What a handler sees: the server, the calling client and the command.
pub struct Ctx<'a> {
    pub srv: &'a mut Server,
    pub client: &'a mut Client,
    pub cmd: &'static CommandDef,
    /// Replaces the propagated form of this command (e.g. SET EX → SET PXAT).
    pub propagate_as: Option<Vec<Vec<Bytes>>>,
}

impl Ctx<'_> {
    #[inline]
    pub fn out(&mut self) -> &mut crate::protocol::Out {
        &mut self.client.out
    }

    #[inline]
    pub fn db(&mut self) -> &mut Db {
        &mut self.srv.dbs[self.client.db]
    }

    pub fn ok(&mut self) {
        self.client.out.ok();
    }

    pub fn error(&mut self, msg: &str) {
        self.client.out.error(msg);
    }

    pub fn wrongtype(&mut self) {
        self.error("WRONGTYPE Operation against a key holding the wrong kind of value");
    }

    pub fn syntax_error(&mut self) {
        self.error("ERR syntax error");
    }

    pub fn not_integer(&mut self) {
        self.error("ERR value is not an integer or out of range");
    }

    pub fn not_float(&mut self) {
        self.error("ERR value is not a valid float");
    }

    /// Records one change to the dataset (for save rules and propagation).
    pub fn dirty(&mut self, n: u64) {
        self.srv.dirty += n;
    }

    /// Propagate these commands instead of the one that ran.
    pub fn propagate(&mut self, argv: Vec<Bytes>) {
        self.propagate_as.get_or_insert_with(Vec::new).push(argv);
    }

    /// Counts a keyspace hit or miss for INFO.
    pub fn hit(&mut self, hit: bool) {
        if hit {
            self.srv.stats.keyspace_hits += 1;
        } else {
            self.srv.stats.keyspace_misses += 1;
        }
    }
}

fn unknown_command(client: &mut Client, args: &[Bytes]) {
    let mut rest = String::new();
    for a in args.iter().skip(1) {
        if rest.len() >= 128 {
            break;
        }
        let room = 128 - rest.len();
        let s = String::from_utf8_lossy(a);
        let s: String = s.chars().take(room).collect();
        rest.push_str(&format!("'{s}' "));
    }
    let name = String::from_utf8_lossy(&args[0]);
    let name: String = name.chars().take(128).collect();
    client.out.error(&format!("ERR unknown command '{name}', with args beginning with: {rest}"));
}

/// Resolves a command (and subcommand) from its arguments, writing the
/// error reply Redis gives when that fails.
pub fn resolve(client: &mut Client, args: &[Bytes]) -> Option<&'static CommandDef> {
    let table = commands::table();
    let Some(def) = table.lookup(&args[0]) else {
        unknown_command(client, args);
        return None;
    };
    if def.subcommands.is_empty() {
        if !commands::arity_ok(def, args.len()) {
            client.out.error(&format!("ERR wrong number of arguments for '{}' command", def.name));
            return None;
        }
        return Some(def);
    }
    if args.len() < 2 {
        client.out.error(&format!("ERR wrong number of arguments for '{}' command", def.name));
        return None;
    }
    let Some(sub) = def.subcommand(&args[1]) else {
        let sub = String::from_utf8_lossy(&args[1]);
        let sub: String = sub.chars().take(128).collect();
        client.out.error(&format!("ERR unknown subcommand '{sub}'. Try {} HELP.", def.name.to_ascii_uppercase()));
        return None;
    };
    if !commands::arity_ok(sub, args.len()) {
        client.out.error(&format!("ERR wrong number of arguments for '{}|{}' command", def.name, sub.name));
        return None;
    }
    Some(sub)
}

/// Full name as stats and errors show it: `get`, `config|get`.
pub fn full_name(args: &[Bytes], def: &'static CommandDef) -> String {
    let top = commands::table().lookup(&args[0]);
    match top {
        Some(t) if !std::ptr::eq(t, def) => format!("{}|{}", t.name, def.name),
        _ => def.name.to_string(),
    }
}

/// Runs one request from `client`.
pub fn execute(srv: &mut Server, client: &mut Client, args: Vec<Bytes>) {
    if args.is_empty() {
        return;
    }
    let reply_start = client.out.buf.len();
    let def = match resolve(client, &args) {
        Some(d) => d,
        None => {
            count_error(srv, client, reply_start, None);
            finish_reply(client, reply_start);
            return;
        }
    };
    if !client.authenticated && !def.has(flags::NO_AUTH) {
        client.out.error("NOAUTH Authentication required.");
        count_error(srv, client, reply_start, Some(def));
        finish_reply(client, reply_start);
        return;
    }
    client.last_cmd = def.name;
    client.last_interaction_ms = now_ms();
    call(srv, client, def, &args);
    finish_reply(client, reply_start);
}

/// Applies CLIENT REPLY OFF/SKIP to the reply just written.
fn finish_reply(client: &mut Client, reply_start: usize) {
    match client.reply_mode {
        ReplyMode::On => {}
        ReplyMode::Off => client.out.buf.truncate(reply_start),
        ReplyMode::Skip => {
            client.out.buf.truncate(reply_start);
            client.reply_mode = ReplyMode::On;
        }
        ReplyMode::SkipNext => client.reply_mode = ReplyMode::Skip,
    }
}

/// Counts an error reply written since `reply_start` in errorstats (and as a
/// rejected or failed call of `def`).
fn count_error(srv: &mut Server, client: &Client, reply_start: usize, rejected: Option<&CommandDef>) {
    let reply = &client.out.buf[reply_start..];
    if reply.first() != Some(&b'-') {
        return;
    }
    let code_end = reply.iter().position(|&b| b == b' ' || b == b'\r').unwrap_or(reply.len());
    let code = String::from_utf8_lossy(&reply[1..code_end]).into_owned();
    *srv.stats.errors.entry(code).or_default() += 1;
    srv.stats.total_error_replies += 1;
    if let Some(def) = rejected {
        srv.stats.per_command.entry(def.name.to_string()).or_default().rejected += 1;
    }
}

/// Runs a resolved command: the handler, then statistics, slow log and
/// propagation, as Redis's `call()`.
pub fn call(srv: &mut Server, client: &mut Client, def: &'static CommandDef, args: &[Bytes]) {
    let Some(handler) = def.handler else { return };
    let reply_start = client.out.buf.len();
    let dirty_before = srv.dirty;
    let db = client.db;
    let started = std::time::Instant::now();
    let propagate_as = {
        let mut ctx = Ctx { srv, client, cmd: def, propagate_as: None };
        handler(&mut ctx, args);
        ctx.propagate_as
    };
    let elapsed_us = started.elapsed().as_micros() as i64;

    srv.stats.commands += 1;
    let name = full_name(args, def);
    let is_error = client.out.buf.get(reply_start) == Some(&b'-');
    {
        let st = srv.stats.per_command.entry(name).or_default();
        st.calls += 1;
        st.usec += elapsed_us as u64;
        if is_error {
            st.failed += 1;
        }
    }
    if is_error {
        count_error(srv, client, reply_start, None);
    }
    if !def.has(flags::SKIP_SLOWLOG) {
        slowlog_push(srv, client, args, elapsed_us);
    }
    srv.propagate_expired();
    if srv.dirty != dirty_before && def.has(flags::WRITE) {
        match propagate_as {
            Some(cmds) => {
                for argv in cmds {
                    srv.emit_write(db, argv);
                }
            }
            None => srv.emit_write(db, args.to_vec()),
        }
    }
}

fn slowlog_push(srv: &mut Server, client: &Client, args: &[Bytes], elapsed_us: i64) {
    let threshold = srv.config.slowlog_log_slower_than;
    if threshold < 0 || elapsed_us < threshold {
        return;
    }
    // As Redis: at most 32 arguments, each cut to 128 bytes.
    let mut argv: Vec<Bytes> = Vec::with_capacity(args.len().min(32));
    for (i, a) in args.iter().enumerate() {
        if i == 31 && args.len() > 32 {
            argv.push(Bytes::from(format!("... ({} more arguments)", args.len() - 31)));
            break;
        }
        if a.len() > 128 {
            argv.push(Bytes::from(format!("{}... ({} more bytes)", String::from_utf8_lossy(&a[..128]), a.len() - 128)));
        } else {
            argv.push(Bytes::copy_from_slice(a));
        }
    }
    let entry = SlowlogEntry {
        id: srv.slowlog_next_id,
        time_s: now_us() / 1_000_000,
        duration_us: elapsed_us,
        argv,
        addr: client.addr.clone(),
        name: client.name.clone().unwrap_or_default(),
    };
    srv.slowlog_next_id += 1;
    srv.slowlog.push_front(entry);
    while srv.slowlog.len() > srv.config.slowlog_max_len {
        srv.slowlog.pop_back();
    }
}
