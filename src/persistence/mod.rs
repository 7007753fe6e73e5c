//! Persistence in Redis's own formats: RDB snapshots, AOF, DUMP/RESTORE.
//!
//! This module keeps the server's persistence state (last save, save
//! status, the background save in progress) and the operations the
//! commands, the cron and start-up/shutdown call.

pub mod aof;
pub mod check;
pub mod crc64;
pub mod loading;
pub mod lzf;
pub mod rdb;
pub mod snapshot;

use std::fmt::Write as _;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::executor::Server;
use crate::util::now_ms;

/// Seconds between retries of a failed background save (Redis's
/// CONFIG_BGSAVE_RETRY_DELAY).
const BGSAVE_RETRY_DELAY: i64 = 5;

pub struct State {
    /// Unix time of the last successful save (LASTSAVE).
    pub lastsave: i64,
    pub last_bgsave_ok: bool,
    pub last_bgsave_time_sec: i64,
    /// When the last background save was attempted (for the retry delay).
    pub lastbgsave_try: i64,
    pub rdb_saves: u64,
    pub snapshot: Option<snapshot::Snapshot>,
    /// Wakes the snapshot driver task.
    pub wake: Rc<Notify>,
    /// FUNCTION libraries read from an RDB file, written back on save.
    pub functions: Vec<Vec<u8>>,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    /// BGSAVE SCHEDULE during an AOF rewrite: started when it ends.
    pub bgsave_scheduled: bool,
    pub aof: aof::State,
    /// The start-up load in progress.
    pub loading: Option<loading::Progress>,
}

impl Default for State {
    fn default() -> Self {
        State {
            lastsave: now_ms() / 1000,
            last_bgsave_ok: true,
            last_bgsave_time_sec: -1,
            lastbgsave_try: 0,
            rdb_saves: 0,
            snapshot: None,
            wake: Rc::new(Notify::new()),
            functions: Vec::new(),
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
            bgsave_scheduled: false,
            aof: Default::default(),
            loading: None,
        }
    }
}

impl State {
    /// Whether write commands must call `snapshot::before_write`.
    #[inline]
    pub fn walking(&self, dbs: usize) -> bool {
        self.snapshot.as_ref().is_some_and(|s| s.walking(dbs))
    }

    pub fn bgsave_in_progress(&self) -> bool {
        self.snapshot.as_ref().is_some_and(|s| !s.job.aof_base)
    }
}

fn save_points_configured(srv: &Server) -> bool {
    !srv.config.save_points().is_empty()
}

/// A synchronous save (SAVE, SHUTDOWN, FLUSHALL, DEBUG RELOAD). On
/// success the change counter restarts.
pub fn save(srv: &mut Server) -> Result<(), String> {
    match snapshot::save_sync(srv) {
        Ok(()) => {
            tracing::info!("DB saved on disk");
            srv.dirty = 0;
            srv.persistence.lastsave = now_ms() / 1000;
            srv.persistence.last_bgsave_ok = true;
            Ok(())
        }
        Err(e) => {
            tracing::warn!("{e}");
            tracing::warn!("Failed saving the DB");
            Err(e)
        }
    }
}

/// Starts a background save (the caller checked none is running).
pub fn bgsave(srv: &mut Server) -> Result<(), String> {
    srv.persistence.lastbgsave_try = now_ms() / 1000;
    match snapshot::Snapshot::start(srv) {
        Ok(s) => {
            srv.persistence.rdb_saves += 1;
            srv.persistence.snapshot = Some(s);
            srv.persistence.wake.notify_one();
            tracing::info!("Background saving started");
            Ok(())
        }
        // Redis's fork failure: nothing started.
        Err(e) => {
            srv.persistence.last_bgsave_ok = false;
            let msg = format!("Can't save in background: {e}");
            tracing::warn!("{msg}");
            Err(msg)
        }
    }
}

/// The cron's persistence work: a finished background save and the
/// `save <seconds> <changes>` rules.
pub fn cron(srv: &mut Server) {
    let rewrite = srv.persistence.snapshot.as_ref().is_some_and(|s| s.job.aof_base);
    if let Some(r) = snapshot::poll(srv) {
        if rewrite {
            aof::rewrite_done(srv, r);
        }
    }
    if srv.persistence.snapshot.is_some() {
        return;
    }
    if std::mem::take(&mut srv.persistence.bgsave_scheduled) {
        let _ = bgsave(srv);
        return;
    }
    aof::cron(srv);
    if srv.persistence.snapshot.is_some() {
        return;
    }
    let now = now_ms() / 1000;
    let st = &srv.persistence;
    let retry_ok = now - st.lastbgsave_try > BGSAVE_RETRY_DELAY || st.last_bgsave_ok;
    for (seconds, changes) in srv.config.save_points() {
        if srv.dirty >= changes as u64 && now - st.lastsave > seconds && retry_ok {
            tracing::info!("{changes} changes in {seconds} seconds. Saving...");
            let _ = bgsave(srv);
            break;
        }
    }
}

/// Redis's writeCommandsDeniedByDiskError for RDB: writes are refused
/// while the last background save failed, save points are configured and
/// `stop-writes-on-bgsave-error` is on.
pub fn writes_denied(srv: &Server) -> bool {
    (!srv.persistence.last_bgsave_ok
        && srv.config.get("stop-writes-on-bgsave-error") != Some("no")
        && save_points_configured(srv))
        || srv.persistence.aof.write_failed().is_some()
}

pub const MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// The error a write refused by `writes_denied` gets: the RDB one, or for
/// a failed AOF write Redis's "Errors writing to the AOF file".
pub fn misconf(srv: &Server) -> String {
    match srv.persistence.aof.write_failed() {
        Some(e) if srv.persistence.last_bgsave_ok => format!("MISCONF Errors writing to the AOF file: {e}"),
        _ => MISCONF.to_string(),
    }
}

/// FLUSHALL's persistence side (flushAllDataAndResetRDB): a running
/// background save is dropped, and with save points an empty file is
/// saved at once.
pub fn after_flushall(srv: &mut Server) {
    // An AOF rewrite goes on: the FLUSHALL is in the new incremental file.
    if srv.persistence.bgsave_in_progress() {
        snapshot::abort(srv);
    }
    if save_points_configured(srv) {
        let _ = save(srv);
    }
}

/// The final save of SHUTDOWN (`save`: SHUTDOWN SAVE, or save points
/// without NOSAVE). A running background save is dropped first.
pub fn shutdown_save(srv: &mut Server, save_wanted: bool, nosave: bool) -> Result<(), String> {
    // The AOF was just turned on: exiting now would lose the dataset.
    let aof = &srv.persistence.aof;
    if aof.status == aof::Status::WaitRewrite && aof.rewrite_in_progress() {
        tracing::warn!("Writing initial AOF, can't exit.");
        return Err("Writing initial AOF".into());
    }
    if aof.rewrite_in_progress() {
        tracing::warn!("There is a child rewriting the AOF. Killing it!");
    }
    snapshot::abort(srv);
    // Saving half a dataset would overwrite the file being loaded.
    if srv.persistence.loading.is_some() {
        return Ok(());
    }
    if save_wanted || (save_points_configured(srv) && !nosave) {
        tracing::info!("Saving the final RDB snapshot before exiting.");
        save(srv)?;
    }
    Ok(())
}

/// A shutdown signal (`name` is SIGTERM or SIGINT): the final save as
/// `shutdown-on-sigterm` / `shutdown-on-sigint` say. Returns whether the
/// server may exit.
pub fn signal_shutdown(srv: &mut Server, name: &str) -> bool {
    let param = if name == "SIGINT" { "shutdown-on-sigint" } else { "shutdown-on-sigterm" };
    let flags = srv.config.get(param).unwrap_or("default").to_string();
    let has = |w: &str| flags.split(' ').any(|f| f == w);
    match shutdown_save(srv, has("save"), has("nosave")) {
        Ok(()) => true,
        Err(_) if has("force") => {
            tracing::warn!("Error trying to save the DB. Exit anyway.");
            true
        }
        Err(_) => {
            tracing::warn!(
                "{name} received but errors trying to shut down the server, check the logs for more information"
            );
            false
        }
    }
}

/// Options to read a file with on this server.
fn load_options(srv: &Server, drop_expired: bool) -> rdb::LoadOptions {
    rdb::LoadOptions {
        limits: srv.config.encoding,
        verify_checksum: srv.config.get("rdbchecksum") != Some("no"),
        databases: srv.dbs.len(),
        drop_expired_at: drop_expired.then(now_ms),
    }
}

/// The most keys a file of `len` bytes can hold: each takes at least 3.
fn max_keys_in(len: u64) -> u64 {
    len / 3
}

/// Where a file's keys go.
struct Loader<'a> {
    dbs: &'a mut [crate::db::Db],
    merge: bool,
    /// `key-load-delay` (µs per key, for tests).
    delay: u64,
    max_keys: u64,
    /// Where the file's `used-mem` goes (INFO while loading).
    used_mem: Option<Arc<AtomicU64>>,
}

impl rdb::Observer for Loader<'_> {
    fn key(&mut self, k: rdb::LoadedKey) -> rdb::Result<()> {
        let Some(db) = self.dbs.get_mut(k.db) else { return Err(rdb::Error::Corrupt("no such db".into())) };
        // A key already there is only an error without MERGE (the load is
        // then abandoned as a whole); with it the file wins.
        if self.merge {
            db.add(&k.key, k.obj, k.expire_at);
        } else if let Err(key) = db.insert_loaded(crate::db::Key::from(&k.key[..]), k.obj, k.expire_at) {
            return Err(rdb::Error::Corrupt(format!(
                "Duplicate key '{}' found in RDB file",
                String::from_utf8_lossy(&key[..])
            )));
        }
        if self.delay > 0 {
            std::thread::sleep(std::time::Duration::from_micros(self.delay));
        }
        Ok(())
    }

    fn aux(&mut self, _offset: u64, key: &[u8], value: &[u8]) {
        if let (Some(used), b"used-mem") = (&self.used_mem, key) {
            used.store(std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()).unwrap_or(0), Relaxed);
        }
    }

    fn resize_db(&mut self, db: usize, keys: u64, expires: u64) {
        // Within what the file can hold: the announcement is untrusted.
        if let Some(d) = self.dbs.get_mut(db) {
            let bound = |n: u64| n.min(self.max_keys) as usize;
            d.reserve(bound(keys), bound(expires));
        }
    }
}

/// Loads an RDB file into the (empty, or with `merge` existing) dataset,
/// blocking the executor meanwhile (DEBUG RELOAD, as Redis's).
pub fn load_file(srv: &mut Server, path: &str, merge: bool) -> Result<rdb::LoadInfo, rdb::Error> {
    let file = std::fs::File::open(path)?;
    // The clock objects are stamped with, and whether FREQ or IDLETIME
    // applies, as the cron would have them.
    crate::db::refresh_access(&srv.config);
    let max_keys = max_keys_in(file.metadata().map_or(0, |m| m.len()));
    let opts = load_options(srv, true);
    let delay = srv.config.key_load_delay;
    let mut loader = Loader { dbs: &mut srv.dbs, merge, delay, max_keys, used_mem: None };
    let info = rdb::load_observed(file, &opts, &mut loader).map_err(|(e, _)| e)?;
    loaded(srv, &info)?;
    Ok(info)
}

/// What follows the keys of a loaded file (or an AOF's RDB part): its
/// FUNCTION libraries, and the counts INFO shows.
fn loaded(srv: &mut Server, info: &rdb::LoadInfo) -> Result<(), rdb::Error> {
    crate::scripting::functions::load_from_rdb(&info.functions).map_err(rdb::Error::Corrupt)?;
    srv.persistence.functions = info.functions.clone();
    srv.persistence.last_load_keys_loaded = info.keys_loaded;
    srv.persistence.last_load_keys_expired = info.keys_expired;
    Ok(())
}

/// Loads the dataset at start-up (the AOF when `appendonly`, else
/// `dbfilename`) while connections are served: until it is done, they get
/// `-LOADING` for all but the commands flagged `loading`. A missing file
/// is an empty dataset; a damaged one stops the server.
pub async fn load_at_startup(shared: &crate::server::Shared) -> Result<(), String> {
    if shared.borrow().config.get("appendonly") == Some("yes") {
        return aof::load_at_startup(shared).await;
    }
    let (path, opts) = {
        let mut srv = shared.borrow_mut();
        aof::apply_config(&mut srv);
        crate::db::refresh_access(&srv.config);
        (snapshot::rdb_path(&srv), load_options(&srv, true))
    };
    let fatal = |e: rdb::Error| format!("Fatal error loading the DB ({path}): {e}. Exiting.");
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(fatal(e.into())),
    };
    let started = std::time::Instant::now();
    let len = file.metadata().map_or(0, |m| m.len());
    loading::begin(shared, len);
    let result = loading::load_rdb(shared, file, opts, true, max_keys_in(len)).await;
    loading::end(shared);
    let info = result.and_then(|(_, info)| loaded(&mut shared.borrow_mut(), &info).map(|()| info)).map_err(fatal)?;
    for (k, v) in &info.aux {
        let (k, v) = (String::from_utf8_lossy(k), String::from_utf8_lossy(v));
        if matches!(&*k, "redis-ver" | "ctime" | "used-mem" | "aof-base") {
            tracing::info!("RDB '{k}': {v}");
        }
    }
    tracing::info!("Done loading RDB, keys loaded: {}, keys expired: {}.", info.keys_loaded, info.keys_expired);
    tracing::info!("DB loaded from disk: {:.3} seconds", started.elapsed().as_secs_f64());
    Ok(())
}

/// The RDB lines of INFO persistence, with Redis 7.2's names and order.
pub fn info_rdb(srv: &Server, s: &mut String) {
    let st = &srv.persistence;
    let (processed, total, perc, current) = match &st.snapshot {
        Some(snap) => {
            let perc = if snap.keys_total > 0 { snap.keys_done as f64 * 100.0 / snap.keys_total as f64 } else { 0.0 };
            (snap.keys_done, snap.keys_total, perc, (now_ms() - snap.started_ms) / 1000)
        }
        None => (0, 0, 0.0, -1),
    };
    let _ = write!(
        s,
        "loading:{}\r\nasync_loading:0\r\ncurrent_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\n\
         current_fork_perc:{perc:.2}\r\ncurrent_save_keys_processed:{processed}\r\ncurrent_save_keys_total:{total}\r\n\
         rdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\n\
         rdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{current}\r\n\
         rdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\n",
        st.loading.is_some() as u8,
        srv.dirty,
        st.bgsave_in_progress() as u8,
        st.lastsave,
        if st.last_bgsave_ok { "ok" } else { "err" },
        st.last_bgsave_time_sec,
        st.rdb_saves,
        st.last_load_keys_expired,
        st.last_load_keys_loaded,
    );
}
