//! The keyspace executor: owns every database and runs each command to
//! completion. Dispatch does what Redis's `processCommand` and `call` do —
//! lookup, arity, authentication, statistics, slow log, propagation of
//! writes — driven by the command table's flags.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};

use crate::commands::{self, flags, CommandDef};
use crate::config::Config;
use crate::db::Db;
use crate::server::client::{Client, ConnSettings, Outlet};
use crate::util::{now_ms, now_us, WordBuildHasher};

pub mod blocking;
pub mod notify;

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
    /// Durations while `latency-tracking` is on (made at the first one).
    pub latency: Option<Box<crate::server::latency::Histogram>>,
}

#[derive(Default)]
pub struct Stats {
    pub commands: u64,
    pub connections: u64,
    pub rejected_connections: u64,
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub per_command: BTreeMap<String, CommandStats>,
    pub errors: BTreeMap<String, u64>,
    pub total_error_replies: u64,
    /// Clients closed for passing their output buffer limit.
    pub output_buffer_limit_disconnections: u64,
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
    /// Raised by the dbs when they queue an expired or created key.
    queued: crate::db::QueuedFlag,
    pub config: Config,
    /// Connected clients by id (boxed: the connection task takes its client
    /// out while running a batch, and moving a pointer is cheap).
    pub clients: HashMap<u64, Box<Client>, WordBuildHasher>,
    pub next_client_id: u64,
    pub stats: Stats,
    /// Changes since the last save, as Redis's `server.dirty`.
    pub dirty: u64,
    pub start_ms: i64,
    pub run_id: String,
    /// Replication id (INFO master_replid; DEBUG CHANGE-REPL-ID renews it).
    pub replid: String,
    pub slowlog: std::collections::VecDeque<SlowlogEntry>,
    pub slowlog_next_id: u64,
    /// Subscribers to the stream of executed writes.
    pub write_subscribers: Vec<mpsc::UnboundedSender<Write>>,
    pub shutdown: Option<ShutdownMode>,
    /// Wakes the main task when `shutdown` is set.
    pub shutdown_notify: Rc<Notify>,
    pub active_expire_enabled: bool,
    /// Ids of the clients in MONITOR mode, in the order they started.
    pub monitors: Vec<u64>,
    /// CLIENT PAUSE: paused while `now < pause_until_ms`; all commands when
    /// `pause_all`, else only those that may write or replicate.
    pub pause_until_ms: i64,
    pub pause_all: bool,
    /// Wakes the connection tasks holding a paused command when the pause
    /// changes (UNPAUSE, a different mode).
    pub pause_notify: Rc<Notify>,
    /// When the previous command of the batch being run ended: the start of
    /// the next one, saving a clock read per command. Cleared by
    /// `start_batch` so that time between batches is never counted.
    pub clock: Option<Instant>,
    pub rng: rand::rngs::SmallRng,
    /// Clients blocked on keys, and keys that got data for them.
    pub waiters: blocking::Waiters,
    /// Clients WATCHing each (db, key).
    pub watchers: std::collections::HashMap<(usize, crate::db::Key), Vec<u64>>,
    /// Writes held back while a transaction runs, propagated as one
    /// MULTI ... EXEC block when it ends.
    atomic: Option<Vec<Write>>,
    /// RDB saves: status, the background save in progress.
    pub persistence: crate::persistence::State,
    /// Pub/Sub channels, patterns and shard channels with their subscribers.
    pub pubsub: commands::pubsub::PubSub,
    /// The latency monitor's events (LATENCY LATEST...).
    pub latency: crate::server::latency::Monitor,
    /// Eviction under maxmemory: the candidate pool and its state.
    pub evictor: crate::db::evict::Evictor,
    /// A script runs past busy-reply-threshold: other clients are served
    /// meanwhile (server::busy), with -BUSY for most commands.
    pub busy: Option<crate::scripting::BusyScript>,
}

impl Server {
    pub fn new(config: Config) -> Self {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::from_entropy();
        let mut hex40 = || -> String { (0..40).map(|_| format!("{:x}", rng.gen_range(0..16u8))).collect() };
        let (run_id, replid) = (hex40(), hex40());
        crate::db::refresh_access(&config);
        let queued = crate::db::QueuedFlag::default();
        Server {
            dbs: (0..config.databases).map(|id| Db::sharing(id, &queued)).collect(),
            queued,
            config,
            clients: HashMap::default(),
            next_client_id: 1,
            stats: Stats::default(),
            dirty: 0,
            start_ms: now_ms(),
            run_id,
            replid,
            slowlog: Default::default(),
            slowlog_next_id: 0,
            write_subscribers: Vec::new(),
            shutdown: None,
            shutdown_notify: Rc::new(Notify::new()),
            active_expire_enabled: true,
            monitors: Vec::new(),
            pause_until_ms: 0,
            pause_all: false,
            pause_notify: Rc::new(Notify::new()),
            clock: None,
            rng,
            waiters: Default::default(),
            watchers: Default::default(),
            atomic: None,
            persistence: Default::default(),
            pubsub: Default::default(),
            latency: Default::default(),
            evictor: Default::default(),
            busy: None,
        }
    }

    /// Emits a write on the internal stream (AOF, replication).
    pub fn emit_write(&mut self, db: usize, argv: Vec<Bytes>) {
        if !self.propagating() {
            return;
        }
        if let Some(held) = &mut self.atomic {
            held.push(Write { db, argv });
            return;
        }
        if self.persistence.aof.feeding() {
            self.persistence.aof.feed(db, &argv);
        }
        self.write_subscribers.retain(|s| s.send(Write { db, argv: argv.clone() }).is_ok());
    }

    /// `emit_write` of a command's own arguments: the AOF alone encodes
    /// them in place, without a copy of the argument vector.
    pub fn emit_write_args(&mut self, db: usize, args: &[Bytes]) {
        if self.atomic.is_none() && self.write_subscribers.is_empty() {
            if self.persistence.aof.feeding() {
                self.persistence.aof.feed(db, args);
            }
            return;
        }
        self.emit_write(db, args.to_vec());
    }

    /// Whether anyone consumes the write stream (the AOF, subscribers).
    #[inline]
    pub fn propagating(&self) -> bool {
        !self.write_subscribers.is_empty() || self.persistence.aof.feeding()
    }

    /// Whether writes are being held back (a transaction or script runs).
    pub fn in_atomic_writes(&self) -> bool {
        self.atomic.is_some()
    }

    /// Drops the held writes: the process exits before they end.
    pub fn discard_atomic_writes(&mut self) {
        self.atomic = None;
    }

    /// Starts holding writes back (EXEC): they go out together at the end.
    pub fn begin_atomic_writes(&mut self) {
        self.atomic.get_or_insert_with(Vec::new);
    }

    /// Sends the held writes, wrapped in MULTI/EXEC when there are several.
    pub fn end_atomic_writes(&mut self) {
        let Some(held) = self.atomic.take() else { return };
        let wrap = held.len() > 1;
        let db = held.first().map_or(0, |w| w.db);
        if wrap {
            self.emit_write(db, vec![Bytes::from_static(b"MULTI")]);
        }
        for w in held {
            self.emit_write(w.db, w.argv);
        }
        if wrap {
            self.emit_write(db, vec![Bytes::from_static(b"EXEC")]);
        }
    }

    /// Turns keys expired since the last call into DELs on the write stream.
    pub fn propagate_expired(&mut self) {
        self.propagate_expired_for(None);
    }

    /// `propagate_expired`, also raising the `expired` events (and the
    /// `new` events of keys created since); `caller` is the client running
    /// a command, if any (it receives its events too).
    pub fn propagate_expired_for(&mut self, mut caller: Option<&mut Client>) {
        // A plain load first: the swap's locked instruction only when set.
        use std::sync::atomic::Ordering::Relaxed;
        if !self.queued.load(Relaxed) || !self.queued.swap(false, Relaxed) {
            return;
        }
        for db in 0..self.dbs.len() {
            if self.dbs[db].expired.is_empty() {
                if !self.dbs[db].created.is_empty() {
                    self.notify_created(caller.as_deref_mut(), db);
                }
                continue;
            }
            let keys = std::mem::take(&mut self.dbs[db].expired);
            self.stats.expired_keys += keys.len() as u64;
            for k in keys {
                self.notify(caller.as_deref_mut(), notify::class::EXPIRED, "expired", &k, db);
                self.emit_write(db, vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(&k)]);
            }
            self.notify_created(caller.as_deref_mut(), db);
        }
    }

    /// Whether the last command touched keys someone watches or waits on.
    #[inline]
    pub fn interest_pending(&self) -> bool {
        (!self.watchers.is_empty() || self.waiters.clients > 0) && self.dbs.iter().any(|d| !d.touched.is_empty())
    }

    /// What connections decode with, from the config.
    pub fn conn_settings(&self) -> ConnSettings {
        ConnSettings {
            password_required: self.config.requirepass.is_some(),
            max_bulk_len: self.config.proto_max_bulk_len,
            query_limit: self.config.client_query_buffer_limit,
        }
    }

    /// Call before running a batch of commands read at once (and after it):
    /// the first command's duration is then measured from its own start.
    pub fn start_batch(&mut self) {
        self.clock = None;
    }

    /// Whether CLIENT PAUSE holds commands at `now`, and if so whether all
    /// of them (`Some(true)`) or only writes (`Some(false)`).
    pub fn paused(&self, now_ms: i64) -> Option<bool> {
        (now_ms < self.pause_until_ms).then_some(self.pause_all)
    }

    /// Expiry and eviction stop during any CLIENT PAUSE, as in Redis, so
    /// that the dataset does not change while writes are held.
    pub fn expire_paused(&self) -> bool {
        self.paused(now_ms()).is_some()
    }

    /// Removes every trace of a client from the server (the client map, the
    /// monitor list) and returns it. Connection teardown and kills go here,
    /// so state other features keep per client (subscriptions, blocked
    /// keys, watched keys) is dropped here too.
    pub fn unlink_client(&mut self, id: u64) -> Option<Box<Client>> {
        let mut client = self.clients.remove(&id)?;
        self.forget_blocked(&mut client);
        commands::tx::unwatch_all(self, &mut client);
        commands::pubsub::unsubscribe_silently(self, &mut client);
        if client.monitor {
            self.monitors.retain(|&m| m != id);
        }
        Some(client)
    }

    /// Closes another client's connection at once (CLIENT KILL, `timeout`):
    /// its pending output is dropped and its task, woken, finds it gone.
    pub fn kill_client(&mut self, id: u64) -> bool {
        match self.unlink_client(id) {
            Some(client) => {
                client.close_now();
                true
            }
            None => false,
        }
    }
}

/// What a handler sees: the server, the calling client and the command.
pub struct Ctx<'a> {
    pub srv: &'a mut Server,
    pub client: &'a mut Client,
    pub cmd: &'static CommandDef,
    /// When the command started (as its duration is measured).
    pub started: Instant,
    /// Replaces the propagated form of this command (e.g. SET EX → SET PXAT).
    pub propagate_as: Option<Vec<Vec<Bytes>>>,
    /// Argument positions MONITOR and the slow log show as `(redacted)`.
    pub redacted: Vec<usize>,
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

    /// Hides argument `i` (a password) from MONITOR and the slow log.
    pub fn redact(&mut self, i: usize) {
        if !self.redacted.contains(&i) {
            self.redacted.push(i);
        }
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

/// A looked-up command: the table entry named by `args[0]` and the one that
/// runs (the same, or a subcommand of that container).
#[derive(Clone, Copy)]
pub struct Resolved {
    pub top: &'static CommandDef,
    pub def: &'static CommandDef,
}

impl Resolved {
    pub fn is_subcommand(&self) -> bool {
        !std::ptr::eq(self.top, self.def)
    }

    /// Calls `f` with the full name stats and errors use (`get`,
    /// `config|get`), built without allocating.
    pub fn with_full_name<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        if !self.is_subcommand() {
            return f(self.def.name);
        }
        let (top, sub) = (self.top.name.as_bytes(), self.def.name.as_bytes());
        let mut buf = [0u8; 96];
        let len = top.len() + 1 + sub.len();
        if len > buf.len() {
            return f(&format!("{}|{}", self.top.name, self.def.name));
        }
        buf[..top.len()].copy_from_slice(top);
        buf[top.len()] = b'|';
        buf[top.len() + 1..len].copy_from_slice(sub);
        // Both parts are table names, plain ASCII.
        f(std::str::from_utf8(&buf[..len]).unwrap_or(self.def.name))
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

/// Looks a command (and subcommand) up, as Redis's `lookupCommand`: None
/// when the name or the subcommand is unknown. A container called without
/// a subcommand resolves to itself (and then fails the arity check).
pub fn lookup(args: &[Bytes]) -> Option<Resolved> {
    let top = commands::table().lookup(&args[0])?;
    if top.subcommands.is_empty() || args.len() < 2 {
        return Some(Resolved { top, def: top });
    }
    top.subcommand(&args[1]).map(|def| Resolved { top, def })
}

/// Resolves a command from its arguments and checks its arity, writing the
/// error reply Redis gives when that fails.
pub fn resolve(client: &mut Client, args: &[Bytes]) -> Option<Resolved> {
    let Some(cmd) = lookup(args) else {
        match commands::table().lookup(&args[0]) {
            Some(top) => {
                let sub = String::from_utf8_lossy(&args[1]);
                let sub: String = sub.chars().take(128).collect();
                client
                    .out
                    .error(&format!("ERR unknown subcommand '{sub}'. Try {} HELP.", top.name.to_ascii_uppercase()));
            }
            None => unknown_command(client, args),
        }
        return None;
    };
    check_arity(client, cmd, args.len()).then_some(cmd)
}

fn check_arity(client: &mut Client, cmd: Resolved, argc: usize) -> bool {
    // A container needs at least its subcommand, unless it runs on its own
    // (COMMAND).
    let ok = if cmd.is_subcommand() || cmd.def.subcommands.is_empty() || cmd.def.handler.is_some() {
        commands::arity_ok(cmd.def, argc)
    } else {
        argc >= 2
    };
    if !ok {
        let msg = cmd.with_full_name(|n| format!("ERR wrong number of arguments for '{n}' command"));
        client.out.error(&msg);
    }
    ok
}

/// What became of a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Flow {
    /// It ran (or was rejected) and its reply is in the client's buffer.
    Done,
    /// CLIENT PAUSE holds it: nothing was written; run it again when the
    /// pause is over (the connection task keeps it and waits).
    Postponed,
    /// A blocking command is waiting for data: the server runs it again and
    /// wakes the connection when it is done (`Client::unblocked`), or the
    /// connection ends the wait at the deadline.
    Blocked,
}

/// A request as the connection decoded it.
#[derive(Debug)]
pub enum Request {
    Command(Vec<Bytes>),
    /// Malformed input: the text after `ERR `. Answered, then the
    /// connection closes.
    ProtocolError(String),
}

/// Runs one request of a batch, unless CLIENT PAUSE holds an earlier one:
/// then, or when this one is held, it waits in `client.held`. Returns
/// whether it ran.
pub fn run_request(srv: &mut Server, client: &mut Client, req: Request) -> bool {
    if client.is_held() {
        client.held.push_back(req);
        return false;
    }
    match req {
        Request::Command(args) => match execute(srv, client, &args) {
            Flow::Postponed => {
                client.argv_mem = args.iter().map(|a| a.len()).sum();
                client.held.push_back(Request::Command(args));
                return false;
            }
            // Later requests wait in `held` until the wait ends.
            Flow::Blocked => return false,
            Flow::Done => {}
        },
        Request::ProtocolError(msg) => protocol_error(srv, client, &msg),
    }
    true
}

/// Prefetches the keyspace entries the next requests of a pipeline will
/// look up (the keys their key specs name, in the client's db, up to
/// [`PREFETCH_KEYS`]): with keys spread over a big keyspace these lookups
/// are cache misses that take most of a command's time, and started
/// together they overlap.
pub fn prefetch_keys(srv: &Server, client: &Client, reqs: &[Request]) {
    use crate::types::dict::PREFETCH_MAX;
    let Some(db) = srv.dbs.get(client.db) else { return };
    let mut keys: [&[u8]; PREFETCH_MAX] = [&[]; PREFETCH_MAX];
    let (mut n, mut total) = (0, 0);
    let flush = |keys: &[&[u8]]| {
        db.dict.prefetch(keys, |key, obj| {
            key.prefetch();
            obj.val.prefetch();
        });
        // Their expire times, which lookups read too.
        if !db.volatile.is_empty() {
            db.volatile.prefetch(keys, |key, _| key.prefetch());
        }
    };
    // The element specs of the window's requests, for a second round once
    // their keys are on the way.
    let mut elements = [commands::NO_ELEMENTS; PREFETCH_MAX];
    // The command before's definition, while the name repeats (a pipeline
    // of one command), saves looking the name up again.
    let mut repeated: Option<(&[u8], &commands::CommandDef)> = None;
    'reqs: for (req, elems) in reqs.iter().zip(elements.iter_mut()) {
        let Request::Command(args) = req else { break };
        let Some(name) = args.first() else { continue };
        let def = match repeated {
            Some((prev, def)) if prev == &name[..] => def,
            _ => {
                let Some(cmd) = lookup(args) else { continue };
                if cmd.top.subcommands.is_empty() {
                    repeated = Some((&name[..], cmd.def));
                }
                cmd.def
            }
        };
        *elems = def.elements;
        let commands::KeySpec { first, last, step, .. } = def.keys;
        if first <= 0 || step <= 0 {
            continue;
        }
        let argc = args.len() as i32;
        let last = if last < 0 { argc + last } else { last.min(argc - 1) };
        for i in (first..=last).step_by(step as usize) {
            if total == PREFETCH_KEYS {
                break 'reqs;
            }
            let key = &args[i as usize][..];
            // The same key again (a pipeline pushing to one list) is
            // already on its way.
            if n > 0 && keys[n - 1] == key {
                continue;
            }
            keys[n] = key;
            n += 1;
            total += 1;
            if n == PREFETCH_MAX {
                flush(&keys);
                n = 0;
            }
        }
    }
    // One lookup alone gains nothing from starting early.
    if total > 1 && n > 0 {
        flush(&keys[..n]);
    }
    prefetch_elements(db, reqs, &elements);
}

/// Prefetches the members and fields the window's requests look up in
/// their first key's collection (SADD, HSET, ZADD... of a pipeline),
/// grouped by key.
fn prefetch_elements(db: &crate::db::Db, reqs: &[Request], specs: &[commands::ElemSpec]) {
    use crate::types::dict::PREFETCH_MAX;
    let mut members: [&[u8]; PREFETCH_MAX] = [&[]; PREFETCH_MAX];
    let (mut n, mut total) = (0, 0);
    let mut owner: &[u8] = &[];
    let flush = |key: &[u8], members: &[&[u8]]| {
        if let Some(obj) = db.dict.get(key) {
            obj.val.prefetch_elements(members);
        }
    };
    for (req, spec) in reqs.iter().zip(specs) {
        let Request::Command(args) = req else { break };
        if spec.step == 0 || args.len() < 3 {
            continue;
        }
        let key = &args[1][..];
        if n > 0 && key != owner {
            flush(owner, &members[..n]);
            n = 0;
        }
        owner = key;
        for m in spec.of(args, PREFETCH_MAX - n) {
            members[n] = m;
            n += 1;
            total += 1;
        }
        if n == PREFETCH_MAX {
            flush(owner, &members);
            n = 0;
        }
    }
    if total > 1 && n > 0 {
        flush(owner, &members[..n]);
    }
}

/// Most keys prefetched for one window of requests (MSET, DEL of many
/// keys): what is loaded first must still be in the cache when used.
const PREFETCH_KEYS: usize = 256;

/// Runs the requests a pause held, in order, until one is held again or
/// the client is to be closed. Returns whether none is left.
pub fn run_held(srv: &mut Server, client: &mut Client) -> bool {
    if client.blocked.is_some() {
        return false;
    }
    while let Some(req) = client.held.pop_front() {
        if client.close_after_reply {
            client.held.clear();
            break;
        }
        match req {
            Request::Command(args) => match execute(srv, client, &args) {
                Flow::Postponed => {
                    client.held.push_front(Request::Command(args));
                    return false;
                }
                Flow::Blocked => return false,
                Flow::Done => {}
            },
            Request::ProtocolError(msg) => protocol_error(srv, client, &msg),
        }
    }
    client.paused = false;
    client.argv_mem = 0;
    true
}

/// Replies to a malformed request and marks the client for closing, as
/// Redis's `setProtocolError`.
pub fn protocol_error(srv: &mut Server, client: &mut Client, msg: &str) {
    tracing::debug!("Protocol error ({msg}) from client: id={} addr={}", client.id, client.addr);
    client.close_after_reply = true;
    if client.reply_off || client.reply_skip {
        return;
    }
    client.out.error(&format!("ERR {msg}"));
    *srv.stats.errors.entry("ERR".into()).or_default() += 1;
    srv.stats.total_error_replies += 1;
}

/// Resumes every client a pause held, now that the pause may be over (or
/// changed mode): a connection task on this thread is woken and runs its
/// held requests itself; for one on an I/O thread they run here.
pub fn resume_held(srv: &mut Server) {
    let mut held: Vec<u64> = srv.clients.values().filter(|c| c.is_held()).map(|c| c.id).collect();
    held.sort_unstable();
    for id in held {
        let Some(mut client) = srv.clients.remove(&id) else { continue };
        if let Outlet::Local(notify) = &client.outlet {
            notify.notify_one();
        } else {
            srv.start_batch();
            if run_held(srv, &mut client) {
                client.send_done(srv.conn_settings());
            }
            srv.start_batch();
        }
        srv.clients.insert(id, client);
    }
}

/// Runs one request from `client`: Redis's `processCommand` (lookup,
/// arity, authentication, pause) then `call`.
pub fn execute(srv: &mut Server, client: &mut Client, args: &[Bytes]) -> Flow {
    if args.is_empty() {
        return Flow::Done;
    }
    let reply_start = client.out.buf.len();
    let flow = process_command(srv, client, args, reply_start);
    if flow == Flow::Done {
        finish_reply(client, reply_start);
    }
    flow
}

fn process_command(srv: &mut Server, client: &mut Client, args: &[Bytes], reply_start: usize) -> Flow {
    let found = lookup(args);
    client.last_cmd = found.map(|c| (c.top, c.def));
    let cmd = match found {
        Some(cmd) if check_arity(client, cmd, args.len()) => cmd,
        Some(cmd) => {
            commands::tx::flag_abort(client, None);
            count_error(srv, client, reply_start, Some(cmd));
            return Flow::Done;
        }
        None => {
            resolve(client, args);
            commands::tx::flag_abort(client, None);
            count_error(srv, client, reply_start, None);
            return Flow::Done;
        }
    };
    // DEBUG and MODULE, as their enable-*-command option allows (before
    // authentication, as in Redis).
    if cmd.def.has(flags::PROTECTED) {
        if let Some(msg) = commands::introspection::protected_denied(srv, client, cmd.def) {
            client.out.error(&msg);
            count_error(srv, client, reply_start, Some(cmd));
            return Flow::Done;
        }
    }
    if !client.authenticated && srv.config.requirepass.is_some() && !cmd.def.has(flags::NO_AUTH) {
        client.out.error("NOAUTH Authentication required.");
        commands::tx::flag_abort(client, None);
        count_error(srv, client, reply_start, Some(cmd));
        return Flow::Done;
    }
    // Over maxmemory: evict first; if that cannot free enough, refuse what
    // may grow the dataset, and any queueing in MULTI (it takes memory too).
    let oom = crate::db::evict::maxmemory() != 0
        && crate::db::evict::perform(srv, Some(&mut *client)) == crate::db::evict::Outcome::Fail;
    srv.evictor.oom_at_start = oom;
    if oom && oom_refuses(client, cmd) {
        const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
        reject(srv, client, cmd, reply_start, OOM, OOM);
        return Flow::Done;
    }
    // A failed background save stops writes (stop-writes-on-bgsave-error).
    if cmd.def.has(flags::WRITE) && crate::persistence::writes_denied(srv) {
        client.out.error(&crate::persistence::misconf(srv));
        commands::tx::flag_abort(client, None);
        count_error(srv, client, reply_start, Some(cmd));
        return Flow::Done;
    }
    // A subscribed RESP2 connection carries messages: only (un)subscribing
    // and a few connection commands may share it.
    if client.out.resp == 2 && client.subs.active() && !cmd.def.has(flags::ALLOWED_SUBSCRIBED) {
        let msg = cmd.with_full_name(|n| {
            format!(
                "Can't execute '{n}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
            )
        });
        reject(srv, client, cmd, reply_start, &format!("ERR {msg}"), &msg);
        return Flow::Done;
    }
    // The dataset is still being read: only commands flagged `loading`.
    if srv.persistence.loading.is_some() && !cmd.def.has(flags::LOADING) && !client.loading_aof {
        client.out.error(crate::persistence::loading::LOADING_ERROR);
        commands::tx::flag_abort(client, None);
        count_error(srv, client, reply_start, Some(cmd));
        return Flow::Done;
    }
    // A script runs past busy-reply-threshold (this is server::busy
    // serving another client): only what may end it or cannot disturb it.
    if let Some(running) = &srv.busy {
        if !cmd.def.has(flags::ALLOW_BUSY) {
            let busy = running.kind.busy_error();
            reject(srv, client, cmd, reply_start, busy, busy);
            return Flow::Done;
        }
    }
    if client.tx.in_multi() && !cmd.def.has(flags::NOT_QUEUED) {
        if cmd.def.has(flags::NO_MULTI) {
            client.out.error("ERR Command not allowed inside a transaction");
            commands::tx::flag_abort(client, None);
            count_error(srv, client, reply_start, Some(cmd));
            return Flow::Done;
        }
        if let Some(q) = &mut client.tx.queued {
            q.push((cmd, args.to_vec()));
        }
        client.out.simple("QUEUED");
        return Flow::Done;
    }
    // CLIENT PAUSE holds every command, or only those that may change the
    // dataset or replicate. Checked after the errors above, which are
    // answered at once as in Redis. (EXEC with queued writes counts as a
    // write: the transactions code adds that to `may_write`.)
    if srv.pause_until_ms != 0 {
        match srv.paused(now_ms()) {
            Some(all) if all || cmd.def.has(flags::WRITE | flags::MAY_REPLICATE) => {
                client.paused = true;
                return Flow::Postponed;
            }
            Some(_) => {}
            // Over: no clock read per command until the next pause.
            None => srv.pause_until_ms = 0,
        }
    }
    client.paused = false;
    call(srv, client, cmd, args);
    // (While a script is busy, the keys it touched wait for its end: no
    // waiter may see its writes half done.)
    if srv.busy.is_none() && srv.interest_pending() {
        let mut flagged = srv.handle_touched();
        flagged.extend(srv.serve_ready());
        if flagged.contains(&client.id) {
            client.tx.dirty_cas = true;
        }
    }
    if client.blocked.is_some() {
        return Flow::Blocked;
    }
    Flow::Done
}

/// Redis's `rejectCommand`: the error (a rejected EXEC discards its
/// transaction and says why: `reason`), the transaction flagged to abort,
/// the rejection counted.
fn reject(srv: &mut Server, client: &mut Client, cmd: Resolved, reply_start: usize, error: &str, reason: &str) {
    if cmd.def.name == "exec" {
        commands::tx::reset(srv, client);
        client.out.error(&format!("EXECABORT Transaction discarded because of: {reason}"));
    } else {
        client.out.error(error);
        commands::tx::flag_abort(client, None);
    }
    count_error(srv, client, reply_start, Some(cmd));
}

/// Whether a command is refused when memory is over maxmemory and nothing
/// can be evicted, as Redis's processCommand decides: deny-oom commands,
/// EXEC of a transaction holding one, and anything queued in MULTI (but
/// never EXEC, DISCARD, QUIT or RESET themselves).
fn oom_refuses(client: &Client, cmd: Resolved) -> bool {
    let Some(queued) = &client.tx.queued else { return cmd.def.has(flags::DENYOOM) };
    if cmd.def.name == "exec" {
        return queued.iter().any(|(c, _)| c.def.has(flags::DENYOOM));
    }
    !cmd.def.has(flags::NOT_QUEUED) || cmd.def.has(flags::DENYOOM)
}

/// Applies CLIENT REPLY OFF/SKIP to the reply just written, then moves the
/// skip state on to the next command, as Redis's `resetClient`.
fn finish_reply(client: &mut Client, reply_start: usize) {
    if client.reply_off || client.reply_skip {
        client.out.buf.truncate(reply_start);
    }
    client.reply_skip = std::mem::take(&mut client.reply_skip_next);
}

/// Counts an error reply written since `reply_start` in errorstats (and as a
/// rejected call of `rejected`).
fn count_error(srv: &mut Server, client: &Client, reply_start: usize, rejected: Option<Resolved>) {
    let reply = &client.out.buf[reply_start..];
    if reply.first() != Some(&b'-') {
        return;
    }
    let code_end = reply.iter().position(|&b| b == b' ' || b == b'\r').unwrap_or(reply.len());
    let code = &reply[1..code_end];
    match std::str::from_utf8(code).ok().and_then(|c| srv.stats.errors.get_mut(c)) {
        Some(n) => *n += 1,
        None => {
            srv.stats.errors.insert(String::from_utf8_lossy(code).into_owned(), 1);
        }
    }
    srv.stats.total_error_replies += 1;
    if let Some(cmd) = rejected {
        update_command_stats(srv, cmd, |st| st.rejected += 1);
    }
}

/// Updates the commandstats entry of a command: one lookup, no allocation
/// once the entry exists.
fn update_command_stats(srv: &mut Server, cmd: Resolved, f: impl FnOnce(&mut CommandStats)) {
    let map = &mut srv.stats.per_command;
    cmd.with_full_name(|name| match map.get_mut(name) {
        Some(st) => f(st),
        None => {
            let mut st = CommandStats::default();
            f(&mut st);
            map.insert(name.to_string(), st);
        }
    });
}

/// Runs a resolved command: the handler, then statistics, slow log,
/// MONITOR feed and propagation, as Redis's `call()`.
pub fn call(srv: &mut Server, client: &mut Client, cmd: Resolved, args: &[Bytes]) {
    let def = cmd.def;
    let Some(handler) = def.handler else { return };
    let reply_start = client.out.buf.len();
    let dirty_before = srv.dirty;
    let db = client.db;
    // CLIENT NO-TOUCH: key lookups of this command leave access times alone.
    crate::db::set_no_touch(client.no_touch);
    // A background save writes the keys this command may change first.
    if def.has(flags::WRITE) && srv.persistence.walking(srv.dbs.len()) {
        crate::persistence::snapshot::before_write(srv, db, def, args);
    }
    // A script's caller goes to monitors before the commands the script
    // runs (skip_monitor marks exactly those, as in Redis), whether or not
    // the script then fails.
    if !srv.monitors.is_empty() && def.has(flags::SKIP_MONITOR) {
        feed_monitors(srv, client, args, &[]);
    }
    let started = srv.clock.take().unwrap_or_else(Instant::now);
    let (propagate_as, redacted) = {
        let mut ctx = Ctx { srv, client, cmd: def, started, propagate_as: None, redacted: Vec::new() };
        handler(&mut ctx, args);
        (ctx.propagate_as, ctx.redacted)
    };
    let ended = Instant::now();
    let elapsed_us = ended.duration_since(started).as_micros() as i64;
    srv.clock = Some(ended);

    srv.stats.commands += 1;
    let is_error = client.out.buf.get(reply_start) == Some(&b'-');
    let tracking = srv.config.latency_tracking;
    update_command_stats(srv, cmd, |st| {
        st.calls += 1;
        st.usec += elapsed_us as u64;
        st.failed += is_error as u64;
        if tracking {
            st.latency.get_or_insert_with(Default::default).record_ns(elapsed_us as u64 * 1000);
        }
    });
    let event = if def.has(flags::FAST) { "fast-command" } else { "command" };
    srv.latency.add_if_needed(srv.config.latency_monitor_threshold, event, elapsed_us as u64 / 1000);
    if is_error {
        count_error(srv, client, reply_start, None);
    }
    if !def.has(flags::SKIP_SLOWLOG) {
        slowlog_push(srv, client, args, &redacted, elapsed_us);
    }
    // Redis hides admin commands (CONFIG, DEBUG, MONITOR...) from monitors.
    if !srv.monitors.is_empty() && !def.has(flags::SKIP_MONITOR | flags::ADMIN) {
        feed_monitors(srv, client, args, &redacted);
    }
    srv.propagate_expired_for(Some(&mut *client));
    // As Redis's call(): whatever changed the dataset is propagated, read-only
    // commands included (PFCOUNT storing its cached cardinality); SAVE
    // lowering the counter is no change.
    if srv.dirty > dirty_before && srv.propagating() {
        match propagate_as {
            Some(cmds) => {
                // Several writes of one command (SPOP of over 1024 members,
                // XREADGROUP's claims) apply together, as Redis wraps them.
                let wrap = cmds.len() > 1 && !srv.in_atomic_writes();
                if wrap {
                    srv.begin_atomic_writes();
                }
                for argv in cmds {
                    srv.emit_write(db, argv);
                }
                if wrap {
                    srv.end_atomic_writes();
                }
            }
            None => srv.emit_write_args(db, args),
        }
    }
}

const REDACTED: &[u8] = b"(redacted)";

/// Sends `args` to every MONITOR client in Redis's format:
/// `+<secs>.<usecs> [<db> <addr>] "arg" "arg"...`, each argument quoted as
/// Redis's `sdscatrepr`. The db is the client's after the command ran.
fn feed_monitors(srv: &mut Server, client: &mut Client, args: &[Bytes], redacted: &[usize]) {
    let us = now_us();
    // Where the command came from, as Redis's replicationFeedMonitors.
    let from: std::borrow::Cow<str> = match (client.in_script, &srv.config.unixsocket) {
        (true, _) => "lua".into(),
        (false, Some(path)) if client.unix => format!("unix:{path}").into(),
        _ => client.addr.as_str().into(),
    };
    let mut line = format!("+{}.{:06} [{} {}]", us / 1_000_000, us % 1_000_000, client.db, from).into_bytes();
    for (i, a) in args.iter().enumerate() {
        line.push(b' ');
        let arg = if redacted.contains(&i) { REDACTED } else { &a[..] };
        repr_into(&mut line, arg);
    }
    line.extend_from_slice(b"\r\n");
    let (limits, now_s) = (srv.config.obuf_limits, now_ms() / 1000);
    let mut over_limit = Vec::new();
    let caller = client.id;
    for &id in &srv.monitors {
        let monitor = if id == client.id { Some(&mut *client) } else { srv.clients.get_mut(&id).map(|c| &mut **c) };
        if let Some(m) = monitor {
            if !m.reply_off {
                m.out.raw(&line);
                // A monitor that does not read is closed at its (normal
                // class) output limit, as Redis's addReply would.
                if id != caller && m.output_limit_reached(&limits, || now_s) {
                    over_limit.push(m.id);
                } else {
                    m.wake();
                }
            }
        }
    }
    for id in over_limit {
        if srv.kill_client(id) {
            srv.stats.output_buffer_limit_disconnections += 1;
        }
    }
}

/// Appends `s` quoted as Redis's `sdscatrepr` does: in double quotes, with
/// `\\ \" \n \r \t \a \b` escaped and other non-printable bytes as `\xHH`.
pub fn repr_into(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

fn slowlog_push(srv: &mut Server, client: &Client, args: &[Bytes], redacted: &[usize], elapsed_us: i64) {
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
        if redacted.contains(&i) {
            argv.push(Bytes::from_static(REDACTED));
        } else if a.len() > 128 {
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
