//! Writing the dataset to an RDB file: synchronously (SAVE, SHUTDOWN,
//! FLUSHALL) or in the background without fork() (BGSAVE, save rules).
//!
//! A background save is a point-in-time image built incrementally. It
//! starts a new snapshot epoch: every object existing then carries an older
//! one, every object created later carries this one (`Obj::snap`). The
//! driver task serializes keys a few hundred microseconds at a time,
//! between the connections' command batches, walking each db with the
//! dict's SCAN cursor and marking what it wrote. Before a write command
//! runs, the executor calls `before_write`: keys it names that the walk
//! has not reached are serialized first, as they are now — that is, as
//! they were when the save started. Commands that can touch keys their
//! key spec does not name (FLUSHDB, SWAPDB, MOVABLEKEYS...) finish the
//! walk first. The executor only fills buffers; a writer thread does the
//! file I/O (temp file, CRC64, fsync, rename).

use std::fs::File;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use super::crc64::crc64;
use super::rdb::{self, SaveOptions};
use crate::commands::{flags, CommandDef};
use crate::executor::Server;

/// Bytes buffered before a chunk is handed to the writer.
const CHUNK: usize = 256 * 1024;
/// With `rdb-save-incremental-fsync` / `aof-rewrite-incremental-fsync`,
/// the file is synced every this many bytes (Redis's REDIS_AUTOSYNC_BYTES),
/// so that the final fsync does not stall on a whole file.
const AUTOSYNC_BYTES: u64 = 4 * 1024 * 1024;
/// The walk pauses while this much is waiting to be written.
const MAX_IN_FLIGHT: usize = 8 * 1024 * 1024;
/// Time one step of the walk may take while commands are running...
const STEP_BUDGET: Duration = Duration::from_micros(500);
/// ...and while none ran since the last step (the wait between steps
/// costs about the timer's millisecond, so an idle server takes long ones).
const IDLE_STEP_BUDGET: Duration = Duration::from_millis(8);
/// While commands run, each step is followed by this many times its
/// length of rest: the walk takes at most a quarter of the executor.
const BUSY_REST_FACTOR: u32 = 3;

enum Msg {
    Data(Vec<u8>),
    /// Everything was sent: append the checksum, sync and rename.
    Finish,
    /// Drop the temp file (FLUSHALL, SHUTDOWN during a save).
    Abort,
}

/// What a snapshot writes: `dbfilename`, or an AOF base file (the RDB
/// image with `aof-base` set, or with `commands` the dataset as commands).
#[derive(Clone, Debug)]
pub struct Job {
    pub dest: String,
    pub aof_base: bool,
    pub commands: bool,
}

impl Job {
    pub fn rdb(srv: &Server) -> Job {
        Job { dest: rdb_path(srv), aof_base: false, commands: false }
    }

    fn temp_path(&self) -> String {
        if self.aof_base {
            format!("temp-rewriteaof-bg-{}.aof", std::process::id())
        } else {
            format!("temp-{}.rdb", std::process::id())
        }
    }

    fn select(&self, out: &mut Vec<u8>, db: usize) {
        if self.commands {
            crate::persistence::aof::rewrite::write_select(out, db);
        } else {
            out.push(rdb::OP_SELECTDB);
            rdb::write_len(out, db as u64);
        }
    }

    fn db_header(&self, out: &mut Vec<u8>, db: &crate::db::Db) {
        if self.commands {
            crate::persistence::aof::rewrite::write_select(out, db.id);
        } else {
            rdb::write_db_header(out, db.id, db.len(), db.volatile.len());
        }
    }

    /// Writes `key` of `db` and its object `o`.
    fn key(&self, out: &mut Vec<u8>, db: &crate::db::Db, key: &[u8], o: &crate::db::Obj, opts: &SaveOptions) {
        let expire_at = db.expire_of(key);
        if self.commands {
            crate::persistence::aof::rewrite::write_key(out, key, o, expire_at);
        } else {
            rdb::write_key_value(out, key, o, expire_at, opts);
        }
    }

    fn end(&self, out: &mut Vec<u8>) {
        if !self.commands {
            out.push(rdb::OP_EOF);
        }
    }
}

/// A background save in progress.
pub struct Snapshot {
    pub job: Job,
    epoch: u32,
    opts: SaveOptions,
    /// Db being walked and the SCAN cursor into it; `db == dbs.len()` once
    /// the walk is over.
    db: usize,
    cursor: u64,
    /// The db the last SELECTDB in the stream named.
    stream_db: Option<usize>,
    buf: Vec<u8>,
    tx: mpsc::Sender<Msg>,
    in_flight: Arc<AtomicUsize>,
    result: mpsc::Receiver<Result<(), String>>,
    writer: Option<std::thread::JoinHandle<()>>,
    pub started_ms: i64,
    pub keys_total: u64,
    pub keys_done: u64,
    /// Changes made before the save started (subtracted from `dirty` when
    /// it succeeds).
    pub dirty_before: u64,
    /// Microseconds to wait per key (`rdb-key-save-delay`, for tests).
    key_delay_us: u64,
    /// The server's command count at the last step (did clients run any?).
    commands_seen: u64,
    writer_gone: bool,
}

/// Where files go: `dbfilename` in the working directory (`dir`).
pub fn rdb_path(srv: &Server) -> String {
    srv.config.get("dbfilename").unwrap_or("dump.rdb").to_string()
}

/// Memory figure the `used-mem` AUX field reports.
fn used_memory() -> u64 {
    crate::alloc::used() as u64
}

fn header(srv: &Server, opts: &SaveOptions, job: &Job) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    if !job.commands {
        rdb::write_header(&mut out, opts, used_memory(), job.aof_base, &srv.persistence.functions);
    }
    out
}

/// Serializes the whole dataset into `out` (chunks go to `emit`), as one
/// uninterrupted pass.
fn write_all(
    srv: &Server,
    opts: &SaveOptions,
    job: &Job,
    mut emit: impl FnMut(&mut Vec<u8>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut buf = header(srv, opts, job);
    for db in &srv.dbs {
        if db.is_empty() {
            continue;
        }
        job.db_header(&mut buf, db);
        for (k, o) in db.dict.iter() {
            job.key(&mut buf, db, k, o, opts);
            if buf.len() >= CHUNK {
                emit(&mut buf)?;
                buf.clear();
            }
        }
    }
    job.end(&mut buf);
    emit(&mut buf)
}

/// SAVE: writes the file at once (this blocks the server, as Redis's SAVE
/// does by definition). Returns an error text for the log.
pub fn save_sync(srv: &Server) -> Result<(), String> {
    save_sync_to(srv, &Job::rdb(srv))
}

/// Writes `job` at once (SAVE, or the AOF base created at start-up).
pub fn save_sync_to(srv: &Server, job: &Job) -> Result<(), String> {
    let opts = SaveOptions::from_config(&srv.config);
    let checksum = srv.config.get("rdbchecksum") != Some("no");
    let tmp = job.temp_path();
    let result = (|| -> std::io::Result<()> {
        let mut f = std::io::BufWriter::with_capacity(CHUNK, File::create(&tmp)?);
        let mut crc = 0u64;
        write_all(srv, &opts, job, |b| {
            crc = crc64(crc, b);
            f.write_all(b)
        })?;
        if !job.commands {
            let crc = if checksum { crc } else { 0 };
            f.write_all(&crc.to_le_bytes())?;
        }
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &job.dest)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("Failed opening the temp RDB file {tmp} (in server root dir {}) for saving: {e}", cwd())
    })
}

fn cwd() -> String {
    std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default()
}

/// The writer thread: appends chunks to the temp file, then checksums,
/// syncs and renames it into place.
fn writer(
    rx: mpsc::Receiver<Msg>,
    in_flight: Arc<AtomicUsize>,
    done: mpsc::Sender<Result<(), String>>,
    tmp: String,
    dest: String,
    checksum: Option<bool>,
    incremental_fsync: bool,
) {
    let result = (|| -> Result<bool, std::io::Error> {
        let mut f = File::create(&tmp)?;
        let mut crc = 0u64;
        let mut unsynced = 0u64;
        loop {
            match rx.recv() {
                Ok(Msg::Data(b)) => {
                    crc = crc64(crc, &b);
                    let r = f.write_all(&b);
                    in_flight.fetch_sub(b.len(), Ordering::Relaxed);
                    r?;
                    unsynced += b.len() as u64;
                    if incremental_fsync && unsynced >= AUTOSYNC_BYTES {
                        f.sync_data()?;
                        unsynced = 0;
                    }
                }
                Ok(Msg::Finish) => break,
                Ok(Msg::Abort) | Err(_) => return Ok(false),
            }
        }
        // No trailer after commands (an AOF base in AOF format).
        if let Some(checksum) = checksum {
            let crc = if checksum { crc } else { 0 };
            f.write_all(&crc.to_le_bytes())?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, &dest)?;
        Ok(true)
    })();
    let report = match result {
        Ok(true) => Ok(()),
        Ok(false) => {
            let _ = std::fs::remove_file(&tmp);
            Err("aborted".to_string())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(format!("Write error saving DB on disk: {e}"))
        }
    };
    let _ = done.send(report);
}

impl Snapshot {
    /// Starts a background save of `srv`'s dataset.
    pub fn start(srv: &Server) -> std::io::Result<Snapshot> {
        Self::start_job(srv, Job::rdb(srv))
    }

    /// Starts writing `job` in the background.
    pub fn start_job(srv: &Server, job: Job) -> std::io::Result<Snapshot> {
        let opts = SaveOptions::from_config(&srv.config);
        let checksum = (!job.commands).then(|| srv.config.get("rdbchecksum") != Some("no"));
        let (tx, rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let (tmp, dest) = (job.temp_path(), job.dest.clone());
        let param = if job.aof_base { "aof-rewrite-incremental-fsync" } else { "rdb-save-incremental-fsync" };
        let incremental_fsync = srv.config.get(param) != Some("no");
        // A file that cannot be created fails the save later, as it fails
        // Redis's child: BGSAVE itself has started.
        let flight = in_flight.clone();
        let handle = std::thread::Builder::new()
            .name("rdb-writer".into())
            .spawn(move || writer(rx, flight, done_tx, tmp, dest, checksum, incremental_fsync))?;
        let keys_total = srv.dbs.iter().map(|d| d.len() as u64).sum();
        let key_delay_us = srv.config.get("rdb-key-save-delay").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        Ok(Snapshot {
            epoch: crate::db::next_snapshot_epoch(),
            buf: header(srv, &opts, &job),
            job,
            opts,
            db: 0,
            cursor: 0,
            stream_db: None,
            tx,
            in_flight,
            result: done_rx,
            writer: Some(handle),
            started_ms: crate::util::now_ms(),
            keys_total,
            keys_done: 0,
            dirty_before: srv.dirty,
            key_delay_us: key_delay_us.max(0) as u64,
            commands_seen: srv.stats.commands,
            writer_gone: false,
        })
    }

    /// Whether keys are still being walked (writes must call `before_write`).
    pub fn walking(&self, dbs: usize) -> bool {
        self.db < dbs && !self.writer_gone
    }

    fn select(&mut self, db: usize) {
        if self.stream_db != Some(db) {
            self.job.select(&mut self.buf, db);
            self.stream_db = Some(db);
        }
    }

    fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let b = std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK + 4096));
        self.in_flight.fetch_add(b.len(), Ordering::Relaxed);
        // A writer that stopped (an I/O error) reports why through
        // `result`; the walk then has no reason to go on.
        if self.tx.send(Msg::Data(b)).is_err() {
            self.writer_gone = true;
        }
    }

    /// Serializes `key` of `db` if the walk has not written it yet.
    fn save_key(&mut self, srv_dbs: &[crate::db::Db], db: usize, key: &[u8]) {
        let Some(o) = srv_dbs[db].dict.get(key) else { return };
        if o.snap.get() == self.epoch {
            return;
        }
        o.snap.set(self.epoch);
        self.select(db);
        self.job.key(&mut self.buf, &srv_dbs[db], key, o, &self.opts);
        self.keys_done += 1;
        if self.buf.len() >= CHUNK {
            self.flush();
        }
    }

    /// Walks on for up to `budget` (None: to the end). Returns true when
    /// the walk is over and the file was handed to the writer.
    fn walk(&mut self, dbs: &[crate::db::Db], budget: Option<Duration>, max_keys: Option<u64>) -> bool {
        let started = Instant::now();
        let (mut visited, mut buckets) = (0u64, 0u64);
        while self.db < dbs.len() && !self.writer_gone {
            let d = &dbs[self.db];
            if d.is_empty() {
                self.db += 1;
                self.cursor = 0;
                continue;
            }
            if self.cursor == 0 && self.stream_db != Some(self.db) {
                self.stream_db = Some(self.db);
                self.job.db_header(&mut self.buf, d);
            } else {
                let db = self.db;
                self.select(db);
            }
            let (epoch, opts, job) = (self.epoch, self.opts, &self.job);
            let buf = &mut self.buf;
            let mut written = 0;
            self.cursor = d.dict.scan(self.cursor, |k, o| {
                if o.snap.get() != epoch {
                    o.snap.set(epoch);
                    job.key(buf, d, k, o, &opts);
                    written += 1;
                }
            });
            self.keys_done += written;
            visited += written;
            buckets += 1;
            if self.cursor == 0 {
                self.db += 1;
            }
            if self.buf.len() >= CHUNK {
                self.flush();
            }
            if budget.is_some_and(|b| buckets % 16 == 0 && started.elapsed() >= b)
                || max_keys.is_some_and(|m| visited >= m)
            {
                break;
            }
        }
        if self.writer_gone {
            self.db = dbs.len();
            return true;
        }
        if self.db < dbs.len() {
            return false;
        }
        self.job.end(&mut self.buf);
        self.flush();
        let _ = self.tx.send(Msg::Finish);
        true
    }

    /// Drops the save: the temp file is removed and no file replaces the
    /// current one. Waits for the writer so that it cannot rename late.
    pub fn abort(mut self) {
        let _ = self.tx.send(Msg::Abort);
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}

/// The executor's hook: runs before every write command while a
/// background save walks the keyspace.
pub fn before_write(srv: &mut Server, db: usize, def: &CommandDef, args: &[bytes::Bytes]) {
    let Some(mut snap) = srv.persistence.snapshot.take() else { return };
    if snap.walking(srv.dbs.len()) {
        let spec = def.keys;
        if def.has(flags::MOVABLEKEYS) || (spec.first == 0 && spec.numkeys_at == 0) {
            // The command may touch any key: write the rest of the image now.
            snap.walk(&srv.dbs, None, None);
        } else {
            for pos in def.key_positions(args) {
                snap.save_key(&srv.dbs, db, &args[pos]);
            }
        }
    }
    srv.persistence.snapshot = Some(snap);
}

/// For a command that writes `key` of another db than its own (COPY ...
/// DB): serializes it first if the walk has not reached it.
pub fn before_write_key(srv: &mut Server, db: usize, key: &[u8]) {
    let Some(mut snap) = srv.persistence.snapshot.take() else { return };
    if snap.walking(srv.dbs.len()) {
        snap.save_key(&srv.dbs, db, key);
    }
    srv.persistence.snapshot = Some(snap);
}

/// One step of the driver task. Returns how long to wait before the next
/// one (None: the walk is over).
pub fn step(srv: &mut Server) -> Option<Duration> {
    let mut snap = srv.persistence.snapshot.take()?;
    let dbs = srv.dbs.len();
    let wait = if !snap.walking(dbs) {
        None
    } else if snap.in_flight.load(Ordering::Relaxed) > MAX_IN_FLIGHT {
        Some(Duration::from_millis(1))
    } else if let Some(keys) = 1000u64.checked_div(snap.key_delay_us) {
        // rdb-key-save-delay: about one key per delay.
        let keys = keys.max(1);
        (!snap.walk(&srv.dbs, None, Some(keys)))
            .then_some(Duration::from_micros(snap.key_delay_us.saturating_mul(keys)))
    } else {
        let busy = std::mem::replace(&mut snap.commands_seen, srv.stats.commands) != srv.stats.commands;
        let budget = if busy { STEP_BUDGET } else { IDLE_STEP_BUDGET };
        let started = Instant::now();
        let more = !snap.walk(&srv.dbs, Some(budget), None);
        // Under load the walk takes at most a share of the executor's time,
        // so that commands keep their latency; idle, it runs flat out.
        let rest = if busy { started.elapsed() * BUSY_REST_FACTOR } else { Duration::ZERO };
        more.then_some(rest)
    };
    srv.persistence.snapshot = Some(snap);
    wait
}

/// Finishes the walk at once (before a command that needs the whole image
/// written, or at shutdown).
pub fn finish_walk(srv: &mut Server) {
    if let Some(mut snap) = srv.persistence.snapshot.take() {
        if snap.walking(srv.dbs.len()) {
            snap.walk(&srv.dbs, None, None);
        }
        srv.persistence.snapshot = Some(snap);
    }
}

/// Cancels a background save (FLUSHALL kills Redis's child the same way).
pub fn abort(srv: &mut Server) {
    if let Some(snap) = srv.persistence.snapshot.take() {
        tracing::warn!("Background saving terminated");
        snap.abort();
    }
}

/// Collects the writer's verdict once it has one: Some(result) when the
/// save is over.
pub fn poll(srv: &mut Server) -> Option<Result<(), String>> {
    let snap = srv.persistence.snapshot.as_mut()?;
    let r = match snap.result.try_recv() {
        Ok(r) => r,
        Err(mpsc::TryRecvError::Empty) => return None,
        Err(mpsc::TryRecvError::Disconnected) => Err("the RDB writer thread exited".into()),
    };
    let mut snap = srv.persistence.snapshot.take()?;
    if let Some(h) = snap.writer.take() {
        let _ = h.join();
    }
    // An AOF rewrite's outcome is the AOF's to record.
    if snap.job.aof_base {
        return Some(r);
    }
    let st = &mut srv.persistence;
    st.last_bgsave_time_sec = (crate::util::now_ms() - snap.started_ms) / 1000;
    match &r {
        Ok(()) => {
            tracing::info!("Background saving terminated with success");
            srv.dirty = srv.dirty.saturating_sub(snap.dirty_before);
            st.lastsave = crate::util::now_ms() / 1000;
            st.last_bgsave_ok = true;
        }
        Err(e) => {
            tracing::warn!("{e}");
            tracing::warn!("Background saving error");
            st.last_bgsave_ok = false;
        }
    }
    Some(r)
}

/// The driver task: walks a background save whenever one is running,
/// yielding to the connections between steps.
pub async fn driver(shared: crate::server::Shared) {
    let wake = shared.borrow().persistence.wake.clone();
    loop {
        wake.notified().await;
        loop {
            let wait = step(&mut shared.borrow_mut());
            match wait {
                None => break,
                Some(d) if d.is_zero() => tokio::task::yield_now().await,
                Some(d) => tokio::time::sleep(d).await,
            }
        }
    }
}
