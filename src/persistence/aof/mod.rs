//! Redis 7's multi-part append-only file.
//!
//! `appenddirname` holds a base file (the dataset at the last rewrite, as
//! an RDB image or as commands), incremental files with every write since,
//! and the manifest naming them. The executor encodes each propagated
//! write into `State::buf` (as Redis's aof_buf); the flusher task hands
//! the buffer to the writer thread after the batches ready to run have
//! run, and the thread does the file I/O and fsyncs. With `appendfsync
//! always`, connection tasks hold replies until the writer reports the
//! data synced (`fsync_gate`). A rewrite (BGREWRITEAOF, the auto-rewrite
//! rule, turning the AOF on) switches writes to a new incremental file and
//! writes a new base with the forkless background snapshot; when it is
//! done the manifest names the new base and the files it replaces are
//! deleted.

pub mod check;
pub mod load;
pub mod manifest;
pub mod rewrite;
pub mod writer;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use tokio::sync::{watch, Notify};

use self::manifest::Manifest;
use self::writer::{Fsync, Msg};
use super::snapshot::{self, Job, Snapshot};
use crate::executor::Server;
use crate::util::now_ms;

/// Failures in a row after which the cron's rewrites wait, 1, 2, 4...
/// minutes up to an hour (Redis's AOF_REWRITE_LIMITE_THRESHOLD).
const LIMIT_THRESHOLD: u64 = 3;
const LIMIT_MAX_MINUTES: i64 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Off,
    On,
    /// Turned on at run time: on once the first rewrite has written a base.
    WaitRewrite,
}

/// A rewrite in progress.
struct Rewrite {
    started_ms: i64,
    /// The base file format (`aof-use-rdb-preamble` when it started).
    rdb: bool,
    /// Stream offset where the new incremental file starts.
    offset: u64,
}

pub struct State {
    pub status: Status,
    /// Encoded writes not handed to the writer yet.
    buf: Vec<u8>,
    /// The db the last record in the stream selected.
    selected_db: Option<usize>,
    /// Time of the last `#TS:` annotation (aof-timestamp-enabled).
    last_ts: i64,
    timestamps: bool,
    /// Stream offset of everything fed.
    fed: u64,
    writer: Option<writer::Handle>,
    pub manifest: Manifest,
    /// `appendfsync always`: replies wait for the fsync.
    always: bool,
    /// Wakes the flusher task.
    wake: Rc<Notify>,
    pub rewrite_scheduled: bool,
    rewrite: Option<Rewrite>,
    /// A finished rewrite whose manifest the writer is installing: the
    /// rewrite counts as in progress until then.
    installing: Option<std::sync::mpsc::Receiver<()>>,
    pub last_rewrite_time_sec: i64,
    pub last_bgrewrite_ok: bool,
    pub rewrites: u64,
    pub consecutive_failures: u64,
    /// The wait after repeated failures: its length, and when it ends.
    limit_minutes: i64,
    limit_until_ms: i64,
    /// Size when the last rewrite ended (or of the base at load), for the
    /// auto-rewrite growth rule.
    base_size: u64,
    /// (size of the files, stream offset) at one moment: the current size
    /// is that size plus what was written since.
    anchor: (u64, u64),
}

impl Default for State {
    fn default() -> Self {
        State {
            status: Status::Off,
            buf: Vec::new(),
            selected_db: None,
            last_ts: 0,
            timestamps: false,
            fed: 0,
            writer: None,
            manifest: Manifest::default(),
            always: false,
            wake: Rc::new(Notify::new()),
            rewrite_scheduled: false,
            rewrite: None,
            installing: None,
            last_rewrite_time_sec: -1,
            last_bgrewrite_ok: true,
            rewrites: 0,
            consecutive_failures: 0,
            limit_minutes: 0,
            limit_until_ms: 0,
            base_size: 0,
            anchor: (0, 0),
        }
    }
}

fn cfg<'a>(srv: &'a Server, name: &str) -> &'a str {
    srv.config.get(name).unwrap_or("")
}

fn aof_dir(srv: &Server) -> PathBuf {
    PathBuf::from(srv.config.get("appenddirname").unwrap_or("appendonlydir"))
}

fn aof_filename(srv: &Server) -> String {
    srv.config.get("appendfilename").unwrap_or("appendonly.aof").to_string()
}

fn manifest_path(srv: &Server) -> PathBuf {
    aof_dir(srv).join(format!("{}.manifest", aof_filename(srv)))
}

fn fsync_policy(srv: &Server) -> Fsync {
    Fsync::from_config(srv.config.get("appendfsync"))
}

impl State {
    /// Whether writes are being logged.
    #[inline]
    pub fn feeding(&self) -> bool {
        self.status == Status::On || (self.status == Status::WaitRewrite && self.rewrite.is_some())
    }

    /// Appends one write (Redis's feedAppendOnlyFile).
    pub fn feed(&mut self, db: usize, argv: &[Bytes]) {
        let start = self.buf.len();
        if self.timestamps {
            let now = now_ms() / 1000;
            if self.last_ts < now {
                self.last_ts = now;
                let _ = write!(StrBuf(&mut self.buf), "#TS:{now}\r\n");
            }
        }
        if self.selected_db != Some(db) {
            rewrite::write_select(&mut self.buf, db);
            self.selected_db = Some(db);
        }
        rewrite::write_command(&mut self.buf, argv);
        self.fed += (self.buf.len() - start) as u64;
        if start == 0 {
            self.wake.notify_one();
        }
    }

    /// Hands the buffer to the writer.
    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let data = std::mem::take(&mut self.buf);
        if let Some(w) = &self.writer {
            let _ = w.tx.send(Msg::Data(data));
        }
    }

    /// With `appendfsync always` and writes not yet synced: what the
    /// connection must wait for before it sends its replies.
    #[inline]
    pub fn fsync_gate(&self) -> Option<(watch::Receiver<u64>, u64)> {
        if !self.always {
            return None;
        }
        let w = self.writer.as_ref()?;
        (*w.synced.borrow() < self.fed).then(|| (w.synced.clone(), self.fed))
    }

    /// Bytes fed and not yet handed to the writer.
    pub fn buffer_len(&self) -> usize {
        self.buf.len()
    }

    pub fn rewrite_in_progress(&self) -> bool {
        self.rewrite.is_some() || self.installing.is_some()
    }

    /// Whether the writer has installed the last rewrite's manifest.
    fn poll_installed(&mut self) -> bool {
        let Some(rx) = &self.installing else { return true };
        if matches!(rx.try_recv(), Err(std::sync::mpsc::TryRecvError::Empty)) {
            return false;
        }
        self.installing = None;
        tracing::info!("Background AOF rewrite finished successfully");
        true
    }

    /// The last write failed (writes are refused until one succeeds).
    pub fn write_failed(&self) -> Option<String> {
        let w = self.writer.as_ref()?;
        if !w.shared.failed.load(Ordering::Relaxed) {
            return None;
        }
        w.shared.write_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn written(&self) -> u64 {
        self.writer.as_ref().map_or(self.fed, |w| w.shared.written.load(Ordering::Relaxed))
    }

    /// Bytes in the base and incremental files.
    pub fn current_size(&self) -> u64 {
        (self.anchor.0 + self.written()).saturating_sub(self.anchor.1)
    }

    /// Whether the cron must not start a rewrite now (aofRewriteLimited);
    /// BGREWRITEAOF still can.
    fn rewrite_limited(&mut self) -> bool {
        if self.consecutive_failures < LIMIT_THRESHOLD {
            self.limit_minutes = 0;
            self.limit_until_ms = 0;
            return false;
        }
        if self.limit_until_ms != 0 {
            if now_ms() < self.limit_until_ms {
                return true;
            }
            self.limit_until_ms = 0;
            return false;
        }
        self.limit_minutes = if self.limit_minutes == 0 { 1 } else { (self.limit_minutes * 2).min(LIMIT_MAX_MINUTES) };
        self.limit_until_ms = now_ms() + self.limit_minutes * 60_000;
        tracing::warn!(
            "Background AOF rewrite has repeatedly failed and triggered the limit, will retry in {} minutes",
            self.limit_minutes
        );
        true
    }

    fn stop_writer(&mut self) {
        self.flush();
        if let Some(w) = self.writer.take() {
            w.stop();
        }
    }
}

/// `write!` into a byte buffer.
struct StrBuf<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for StrBuf<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// The flusher task: after a batch fed writes, lets the other connections
/// ready to run go first (their writes join the same hand-off), then
/// passes the buffer to the writer thread.
pub async fn flusher(shared: crate::server::Shared) {
    let wake = shared.borrow().persistence.aof.wake.clone();
    loop {
        wake.notified().await;
        tokio::task::yield_now().await;
        shared.borrow_mut().persistence.aof.flush();
    }
}

/// Reads the parameters that apply at once (CONFIG SET and start-up).
pub fn apply_config(srv: &mut Server) {
    let policy = fsync_policy(srv);
    let timestamps = cfg(srv, "aof-timestamp-enabled") == "yes";
    let aof = &mut srv.persistence.aof;
    aof.always = policy == Fsync::Always;
    aof.timestamps = timestamps;
    if let Some(w) = &aof.writer {
        let _ = w.tx.send(Msg::Policy(policy));
    }
}

/// CONFIG SET's side: the fsync policy and timestamps apply at once;
/// `appendonly` turns the AOF on (through a rewrite) or off.
pub fn config_changed(srv: &mut Server) -> Result<(), String> {
    apply_config(srv);
    let wanted = cfg(srv, "appendonly") == "yes";
    match (wanted, srv.persistence.aof.status) {
        (true, Status::Off) => start_appendonly(srv),
        (false, Status::On | Status::WaitRewrite) => {
            stop_appendonly(srv);
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Turning the AOF on at run time (startAppendOnly): a rewrite writes the
/// base; writes are logged from its start.
fn start_appendonly(srv: &mut Server) -> Result<(), String> {
    srv.persistence.aof.status = Status::WaitRewrite;
    if srv.persistence.bgsave_in_progress() {
        srv.persistence.aof.rewrite_scheduled = true;
        tracing::warn!("AOF was enabled but there is already another background operation. An AOF background was scheduled to start when possible.");
        return Ok(());
    }
    if srv.in_atomic_writes() {
        srv.persistence.aof.rewrite_scheduled = true;
        tracing::warn!("AOF was enabled during a transaction. An AOF background was scheduled to start when possible.");
        return Ok(());
    }
    if let Err(e) = start_rewrite(srv) {
        srv.persistence.aof.status = Status::Off;
        tracing::warn!("Redis needs to enable the AOF but can't trigger a background AOF rewrite operation. Check the above logs for more info about the error.");
        return Err(e);
    }
    Ok(())
}

/// Turning the AOF off (stopAppendOnly): the file is synced and closed, a
/// rewrite in progress is dropped.
fn stop_appendonly(srv: &mut Server) {
    let aof = &mut srv.persistence.aof;
    aof.stop_writer();
    aof.status = Status::Off;
    aof.selected_db = None;
    aof.rewrite_scheduled = false;
    if aof.rewrite.take().is_some() {
        tracing::info!("Killing running AOF rewrite");
        snapshot::abort(srv);
    }
}

/// Starts a rewrite (rewriteAppendOnlyFileBackground); the caller checked
/// that no snapshot runs.
pub fn start_rewrite(srv: &mut Server) -> Result<(), String> {
    let dir = aof_dir(srv);
    let filename = aof_filename(srv);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        let msg = format!("Can't open or create append-only dir {}: {e}", dir.display());
        tracing::warn!("{msg}");
        return Err(msg);
    }
    let rdb = cfg(srv, "aof-use-rdb-preamble") != "no";
    let base =
        format!("{filename}.{}.base.{}", srv.persistence.aof.manifest.base_seq + 1, if rdb { "rdb" } else { "aof" });
    let job = Job { dest: dir.join(&base).to_string_lossy().into_owned(), aof_base: true, commands: !rdb };
    let snap = match Snapshot::start_job(srv, job) {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("Can't rewrite append only file in background: {e}");
            tracing::warn!("{msg}");
            return Err(msg);
        }
    };
    let manifest_file = manifest_path(srv);
    let policy = fsync_policy(srv);
    let no_fsync = cfg(srv, "no-appendfsync-on-rewrite") == "yes";
    let aof = &mut srv.persistence.aof;
    aof.flush();
    match aof.status {
        Status::On => {
            let mut m = aof.manifest.clone();
            let incr = m.new_incr(&filename);
            if let Some(w) = &aof.writer {
                let _ = w.tx.send(Msg::Rotate { path: dir.join(&incr), manifest: Some(m.render()) });
            }
            aof.manifest = m;
            tracing::info!("Creating AOF incr file {incr} on background rewrite");
        }
        Status::WaitRewrite => {
            // Writes go to a temporary file until the base exists.
            let temp = format!("temp-{filename}.incr");
            let path = dir.join(&temp);
            let _ = std::fs::remove_file(&path);
            aof.stop_writer();
            match writer::start(&path, manifest_file, aof.fed, policy) {
                Ok(w) => aof.writer = Some(w),
                Err(e) => {
                    let msg = format!("Can't open the append-only file {temp}: {e}");
                    tracing::warn!("{msg}");
                    snap.abort();
                    return Err(msg);
                }
            }
            aof.anchor = (0, aof.fed);
            tracing::info!("Creating AOF incr file {temp} on background rewrite");
        }
        Status::Off => {}
    }
    // The new incremental file starts with its own SELECT.
    aof.selected_db = None;
    if let Some(w) = &aof.writer {
        w.shared.skip_fsync.store(no_fsync, Ordering::Relaxed);
    }
    aof.rewrite = Some(Rewrite { started_ms: now_ms(), rdb, offset: aof.fed });
    aof.rewrites += 1;
    aof.rewrite_scheduled = false;
    srv.persistence.snapshot = Some(snap);
    srv.persistence.wake.notify_one();
    tracing::info!("Background append only file rewriting started");
    Ok(())
}

/// A rewrite's snapshot is over (backgroundRewriteDoneHandler).
pub fn rewrite_done(srv: &mut Server, result: Result<(), String>) {
    let dir = aof_dir(srv);
    let filename = aof_filename(srv);
    let auto_gc = cfg(srv, "aof-disable-auto-gc") != "yes";
    let manifest_file = manifest_path(srv);
    let aof = &mut srv.persistence.aof;
    let Some(rw) = aof.rewrite.take() else { return };
    aof.last_rewrite_time_sec = (now_ms() - rw.started_ms) / 1000;
    let mut result = result;
    if let Some(w) = &aof.writer {
        w.shared.skip_fsync.store(false, Ordering::Relaxed);
        // The new incremental file does not exist: the manifest keeps
        // naming the one the writes went to.
        if aof.status == Status::On && w.shared.rotate_failed.load(Ordering::Relaxed) {
            aof.manifest.incr.pop();
            aof.manifest.incr_seq -= 1;
            result = Err("the new AOF incr file could not be created".into());
        }
    }
    if let Err(e) = result {
        tracing::warn!("{e}");
        tracing::warn!("Background AOF rewrite terminated with error");
        aof.last_bgrewrite_ok = false;
        aof.consecutive_failures += 1;
        if aof.status == Status::WaitRewrite {
            // Try again: the AOF is on only once a base exists.
            aof.stop_writer();
            let _ = std::fs::remove_file(dir.join(format!("temp-{filename}.incr")));
            aof.rewrite_scheduled = true;
        }
        return;
    }
    let mut m = aof.manifest.clone();
    let base = m.new_base(&filename, rw.rdb);
    let base_len = std::fs::metadata(dir.join(&base)).map_or(0, |md| md.len());
    m.retire_incrs(aof.status == Status::On);
    let mut renames = Vec::new();
    if aof.status == Status::WaitRewrite {
        let incr = m.new_incr(&filename);
        renames.push((dir.join(format!("temp-{filename}.incr")), dir.join(incr)));
        aof.status = Status::On;
    }
    let delete: Vec<PathBuf> =
        if auto_gc { m.history.drain(..).map(|e| dir.join(e.name)).collect() } else { Vec::new() };
    let text = m.render();
    tracing::info!("Background AOF rewrite terminated with success");
    match &aof.writer {
        Some(w) => {
            let (done, installed) = std::sync::mpsc::channel();
            if w.tx.send(Msg::Install { renames, manifest: text, delete, done }).is_ok() {
                aof.installing = Some(installed);
            }
        }
        // BGREWRITEAOF with the AOF off: only the base and the manifest.
        None => {
            match writer::write_manifest(&manifest_file, &text) {
                Ok(()) => delete.iter().for_each(|p| {
                    let _ = std::fs::remove_file(p);
                }),
                Err(e) => tracing::warn!("{e}"),
            }
            tracing::info!("Background AOF rewrite finished successfully");
        }
    }
    aof.manifest = m;
    aof.anchor = (base_len, rw.offset);
    aof.base_size = aof.current_size();
    aof.last_bgrewrite_ok = true;
    aof.consecutive_failures = 0;
}

/// The cron's AOF work: a scheduled rewrite, and the auto-rewrite rule.
pub fn cron(srv: &mut Server) {
    if srv.persistence.snapshot.is_some() || !srv.persistence.aof.poll_installed() {
        return;
    }
    // The snapshot was dropped under the rewrite (DEBUG RELOAD, SHUTDOWN
    // that did not exit).
    if srv.persistence.aof.rewrite.is_some() {
        rewrite_done(srv, Err("Background AOF rewrite terminated by a signal".into()));
        return;
    }
    if srv.persistence.aof.rewrite_scheduled {
        if !srv.persistence.aof.rewrite_limited() {
            let _ = start_rewrite(srv);
        }
        return;
    }
    let aof = &srv.persistence.aof;
    let perc: u64 = cfg(srv, "auto-aof-rewrite-percentage").parse().unwrap_or(0);
    let min: u64 = cfg(srv, "auto-aof-rewrite-min-size").parse().unwrap_or(0);
    let size = aof.current_size();
    if aof.status == Status::On && perc > 0 && size > min {
        let base = aof.base_size.max(1);
        let growth = (size * 100 / base).saturating_sub(100);
        if growth >= perc && !srv.persistence.aof.rewrite_limited() {
            tracing::info!("Starting automatic rewriting of AOF on {growth}% growth");
            let _ = start_rewrite(srv);
        }
    }
}

/// Loads the AOF at start-up (AOF on: it takes precedence over the RDB
/// file), then opens the files for appending. A damaged AOF stops the
/// server; the reason has been logged.
pub async fn load_at_startup(shared: &crate::server::Shared) -> Result<(), String> {
    let (dir, filename, manifest_file) = {
        let mut srv = shared.borrow_mut();
        apply_config(&mut srv);
        (aof_dir(&srv), aof_filename(&srv), manifest_path(&srv))
    };
    let mut m = Manifest::default();
    if dir.is_dir() && manifest_file.exists() {
        m = read_manifest(&manifest_file)?;
    }
    // An old-style appendonly.aof beside the directory: move it in as the
    // base (Redis 7's upgrade).
    if Path::new(&filename).exists() {
        let only_old_base =
            m.incr.is_empty() && m.base.as_ref().is_some_and(|b| b.name == filename) && !dir.join(&filename).exists();
        if !dir.is_dir() || m.is_empty() || only_old_base {
            m = upgrade(&dir, &filename, &manifest_file)?;
        }
    }
    shared.borrow_mut().persistence.aof.manifest = m.clone();
    let started = std::time::Instant::now();
    let total = load_files(shared, &dir, &m, &filename).await;
    super::loading::end(shared);
    let total = total?;
    if total > 0 {
        tracing::info!("DB loaded from append only file: {:.3} seconds", started.elapsed().as_secs_f64());
    }
    open_on_start(&mut shared.borrow_mut(), total)
}

fn read_manifest(path: &Path) -> Result<Manifest, String> {
    let text = std::fs::read(path)
        .map_err(|e| format!("Fatal error: can't open the AOF manifest file {} for reading: {e}", path.display()))?;
    Manifest::parse(&text).map_err(|e| {
        tracing::warn!("\n*** FATAL AOF MANIFEST FILE ERROR ***\n");
        if let Some((n, line)) = &e.line {
            tracing::warn!("Reading the manifest file, at line {n}\n");
            tracing::warn!(">>> '{line}'\n");
        }
        e.msg.to_string()
    })
}

fn upgrade(dir: &Path, filename: &str, manifest_file: &Path) -> Result<Manifest, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("Can't open or create append-only dir {}: {e}", dir.display()))?;
    let m = Manifest {
        base: Some(manifest::Entry { name: filename.to_string(), seq: 1, kind: manifest::Kind::Base }),
        base_seq: 1,
        ..Default::default()
    };
    writer::write_manifest(manifest_file, &m.render())?;
    std::fs::rename(filename, dir.join(filename))
        .map_err(|e| format!("Error trying to move the old AOF file {filename} into dir {}: {e}", dir.display()))?;
    tracing::info!(
        "Successfully migrated an old-style AOF file ({filename}) into the AOF directory ({}).",
        dir.display()
    );
    Ok(m)
}

/// Loads the base and incremental files in order (loadAppendOnlyFiles).
/// Returns the bytes they hold.
async fn load_files(shared: &crate::server::Shared, dir: &Path, m: &Manifest, filename: &str) -> Result<u64, String> {
    let mut total = 0;
    for e in m.files() {
        let len = std::fs::metadata(dir.join(&e.name))
            .map_err(|err| format!("Unable to obtain the AOF file {} length. stat: {err}", e.name))?
            .len();
        total += len;
    }
    if total == 0 {
        return Ok(0);
    }
    super::loading::begin(shared, total);
    let count = m.files().count();
    let truncated_ok = cfg(&shared.borrow(), "aof-load-truncated") != "no";
    let mut done = 0;
    for (i, e) in m.files().enumerate() {
        let last = i + 1 == count;
        let started = std::time::Instant::now();
        let path = dir.join(&e.name);
        let outcome = load::load_file(shared, &path, &e.name, e.name == filename, truncated_ok, done).await?;
        if outcome == load::Outcome::Truncated && !last {
            return Err(format!("Fatal error: the truncated file is not the last file ({})", e.name));
        }
        let what = if e.kind == manifest::Kind::Base { "base" } else { "incr" };
        tracing::info!("DB loaded from {what} file {}: {:.3} seconds", e.name, started.elapsed().as_secs_f64());
        let len = std::fs::metadata(&path).map_or(0, |md| md.len());
        if e.kind == manifest::Kind::Base {
            shared.borrow_mut().persistence.aof.base_size = len;
        }
        done += len;
    }
    // Replaying ran commands: they are not changes since a save, nor
    // statistics of this run.
    let mut srv = shared.borrow_mut();
    srv.dirty = 0;
    srv.stats.reset();
    srv.slowlog.clear();
    Ok(total)
}

/// aofOpenIfNeededOnServerStart: an empty start creates a base, then the
/// last incremental file (or a new one) is opened for appending.
fn open_on_start(srv: &mut Server, loaded: u64) -> Result<(), String> {
    let dir = aof_dir(srv);
    let filename = aof_filename(srv);
    let manifest_file = manifest_path(srv);
    std::fs::create_dir_all(&dir)
        .map_err(|e| format!("Can't open or create append-only dir {}: {e}", dir.display()))?;
    let mut m = srv.persistence.aof.manifest.clone();
    let had_incr = !m.incr.is_empty();
    // As Redis, a base created now does not count in aof_current_size.
    if m.is_empty() {
        let rdb = cfg(srv, "aof-use-rdb-preamble") != "no";
        let base = m.new_base(&filename, rdb);
        let path = dir.join(&base);
        let job = Job { dest: path.to_string_lossy().into_owned(), aof_base: true, commands: !rdb };
        snapshot::save_sync_to(srv, &job)?;
        tracing::info!("Creating AOF base file {base} on server start");
    }
    let incr = match m.incr.last() {
        Some(e) => e.name.clone(),
        None => m.new_incr(&filename),
    };
    let w = writer::start(&dir.join(&incr), manifest_file.clone(), 0, fsync_policy(srv))
        .map_err(|e| format!("Can't open the append-only file {incr}: {e}"))?;
    writer::write_manifest(&manifest_file, &m.render())?;
    if had_incr {
        tracing::info!("Opening AOF incr file {incr} on server start");
    } else {
        tracing::info!("Creating AOF incr file {incr} on server start");
    }
    let aof = &mut srv.persistence.aof;
    aof.manifest = m;
    aof.writer = Some(w);
    aof.status = Status::On;
    aof.fed = 0;
    aof.anchor = (loaded, 0);
    Ok(())
}

/// At exit: what was fed is written and synced.
pub fn shutdown(srv: &mut Server) {
    if srv.persistence.aof.writer.is_some() {
        tracing::info!("Calling fsync() on the AOF file.");
    }
    srv.persistence.aof.stop_writer();
}

/// The AOF lines of INFO persistence, with Redis 7.0's names and order.
pub fn info(srv: &Server, s: &mut String) {
    let aof = &srv.persistence.aof;
    let current = aof.rewrite.as_ref().map_or(-1, |r| (now_ms() - r.started_ms) / 1000);
    let _ = write!(
        s,
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\n\
         aof_current_rewrite_time_sec:{current}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\n\
         aof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\n\
         module_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        (aof.status != Status::Off) as u8,
        aof.rewrite_in_progress() as u8,
        aof.rewrite_scheduled as u8,
        aof.last_rewrite_time_sec,
        if aof.last_bgrewrite_ok { "ok" } else { "err" },
        aof.rewrites,
        aof.consecutive_failures,
        if aof.write_failed().is_some() { "err" } else { "ok" },
    );
    if aof.status != Status::Off {
        let fsyncing = aof.writer.as_ref().is_some_and(|w| w.shared.fsyncing.load(Ordering::Relaxed));
        let _ = write!(
            s,
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:{}\r\naof_buffer_length:{}\r\n\
             aof_pending_bio_fsync:{}\r\naof_delayed_fsync:0\r\n",
            aof.current_size(),
            aof.base_size,
            aof.rewrite_scheduled as u8,
            aof.buffer_len(),
            fsyncing as u8,
        );
    }
}
