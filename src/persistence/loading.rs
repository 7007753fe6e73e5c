//! Loading at start-up while clients are served, as Redis serves them
//! between chunks of its load: an RDB file is read on a thread of its own
//! and AOF commands are replayed in batches between the other tasks.
//! Meanwhile commands without the `loading` flag are answered `-LOADING`
//! and INFO shows the progress.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::db::Db;
use crate::persistence::rdb;
use crate::server::Shared;
use crate::util::now_ms;

/// The reply to commands that cannot run before the dataset is loaded.
pub const LOADING_ERROR: &str = "LOADING Redis is loading the dataset in memory";

/// What INFO persistence shows while loading (Redis's `loading_*` fields).
pub struct Progress {
    /// Unix time in seconds.
    pub start_time: i64,
    pub total_bytes: u64,
    /// Bytes read so far, counted by the reading thread.
    pub loaded_bytes: Arc<AtomicU64>,
    /// The `used-mem` the file's writer recorded.
    pub rdb_used_mem: Arc<AtomicU64>,
}

impl Progress {
    pub fn new(total_bytes: u64) -> Progress {
        Progress {
            start_time: now_ms() / 1000,
            total_bytes,
            loaded_bytes: Arc::default(),
            rdb_used_mem: Arc::default(),
        }
    }
}

/// Marks the server as loading `total_bytes`.
pub fn begin(shared: &Shared, total_bytes: u64) {
    shared.borrow_mut().persistence.loading = Some(Progress::new(total_bytes));
}

pub fn end(shared: &Shared) {
    shared.borrow_mut().persistence.loading = None;
}

/// The loading lines of INFO persistence (only while loading, as Redis).
pub fn info(p: &Progress, s: &mut String) {
    use std::fmt::Write as _;
    let loaded = p.loaded_bytes.load(Relaxed);
    let perc = if p.total_bytes > 0 { loaded as f64 * 100.0 / p.total_bytes as f64 } else { 0.0 };
    let elapsed = now_ms() / 1000 - p.start_time;
    // Redis's estimate: a fake second until a second has passed.
    let eta =
        if elapsed == 0 { 1 } else { elapsed * p.total_bytes.saturating_sub(loaded) as i64 / (loaded as i64 + 1) };
    let _ = write!(
        s,
        "loading_start_time:{}\r\nloading_total_bytes:{}\r\nloading_rdb_used_mem:{}\r\n\
         loading_loaded_bytes:{loaded}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n",
        p.start_time,
        p.total_bytes,
        p.rdb_used_mem.load(Relaxed),
    );
}

/// The dbs a file was read into, on the reading thread.
struct Loaded(Vec<Db>);

// SAFETY: the dbs were built by the reading thread and are owned by this
// value alone (the thread keeps no reference to anything in them); their
// raw pointers are unique owners, as a Box is, so moving them to the
// executor's thread is moving owned data.
unsafe impl Send for Loaded {}

/// What the reading thread hands back.
struct Handover<R> {
    input: R,
    dbs: Loaded,
    result: Result<rdb::LoadInfo, rdb::Error>,
}

/// Counts the bytes read, for INFO's progress.
struct Tally<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Tally<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Relaxed);
        Ok(n)
    }
}

/// Reads an RDB stream from `input` into the dataset on a thread of its
/// own, into dbs of its own (so the executor spends nothing on it and
/// the keys never cross threads one by one), then moves them in. The
/// dataset is empty before (start-up: no command that adds keys runs while
/// loading). `read_ahead` may buffer past the RDB data (a file of its
/// own); without it `input` is handed back where the RDB data ends (an
/// AOF's preamble). `max_keys` bounds what RESIZEDB may reserve.
pub async fn load_rdb<R: Read + Send + 'static>(
    shared: &Shared,
    input: R,
    opts: rdb::LoadOptions,
    read_ahead: bool,
    max_keys: u64,
) -> Result<(R, rdb::LoadInfo), rdb::Error> {
    let (progress, delay) = {
        let srv = shared.borrow();
        let progress = srv.persistence.loading.as_ref().map(|p| (p.loaded_bytes.clone(), p.rdb_used_mem.clone()));
        (progress.unwrap_or_default(), srv.config.key_load_delay)
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new().name("rdb-load".into()).spawn(move || {
        let (read, used_mem) = progress;
        let mut dbs: Vec<Db> = (0..opts.databases).map(Db::new).collect();
        let mut loader = super::Loader { dbs: &mut dbs, merge: false, delay, max_keys, used_mem: Some(used_mem) };
        let mut tally = Tally { inner: input, read };
        let result = if read_ahead {
            rdb::load_observed(&mut tally, &opts, &mut loader).map_err(|(e, _)| e)
        } else {
            rdb::load_with(&mut tally, &opts, &mut loader)
        };
        let _ = tx.send(Handover { input: tally.inner, dbs: Loaded(dbs), result });
    })?;
    let handover = rx.await.map_err(|_| rdb::Error::Corrupt("the loading thread stopped".into()))?;
    let info = handover.result?;
    let mut srv = shared.borrow_mut();
    for (db, loaded) in srv.dbs.iter_mut().zip(handover.dbs.0) {
        db.adopt_loaded(loaded);
    }
    Ok((handover.input, info))
}
