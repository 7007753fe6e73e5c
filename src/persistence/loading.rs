//! Loading at start-up while clients are served, as Redis serves them
//! between chunks of its load: the file is parsed on a thread of its own
//! and its keys reach the executor in batches, which it adds between the
//! other tasks. Meanwhile commands without the `loading` flag are answered
//! `-LOADING` and INFO shows the progress.

use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use crate::persistence::rdb;
use crate::server::Shared;
use crate::util::now_ms;

/// Keys handed over at a time: few enough that a client waits at most a
/// fraction of a millisecond for the executor.
const BATCH: usize = 256;

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
    pub rdb_used_mem: u64,
}

impl Progress {
    pub fn new(total_bytes: u64) -> Progress {
        Progress { start_time: now_ms() / 1000, total_bytes, loaded_bytes: Arc::default(), rdb_used_mem: 0 }
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
        p.start_time, p.total_bytes, p.rdb_used_mem,
    );
}

/// What the reading thread hands over.
enum Item {
    Key(rdb::LoadedKey),
    /// RESIZEDB: db, keys, expires.
    Resize(usize, u64, u64),
    UsedMem(u64),
}

/// A batch of parsed keys on its way to the executor.
struct Batch(Vec<Item>);

// SAFETY: the values in a batch were just built by the reading thread and
// are owned by the batch alone (no reference to them stays behind on that
// thread); their raw pointers are unique owners, as a Box is, so moving
// them to the executor's thread is moving owned data.
unsafe impl Send for Batch {}

enum Message<R> {
    Batch(Batch),
    Done(R, Result<rdb::LoadInfo, rdb::Error>),
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

/// The observer on the reading thread: batches what the file holds.
struct Forward<R> {
    tx: tokio::sync::mpsc::Sender<Message<R>>,
    items: Vec<Item>,
    /// `key-load-delay` (µs per key, for tests): slept here, so the
    /// executor stays responsive.
    delay: u64,
}

impl<R> Forward<R> {
    fn flush(&mut self) -> rdb::Result<()> {
        if self.items.is_empty() {
            return Ok(());
        }
        let items = std::mem::take(&mut self.items);
        // The executor stops receiving when it gave up on the load.
        self.tx.blocking_send(Message::Batch(Batch(items))).map_err(|_| rdb::Error::Corrupt("loading abandoned".into()))
    }
}

impl<R> rdb::Observer for Forward<R> {
    fn key(&mut self, k: rdb::LoadedKey) -> rdb::Result<()> {
        self.items.push(Item::Key(k));
        if self.delay > 0 {
            std::thread::sleep(std::time::Duration::from_micros(self.delay));
            return self.flush();
        }
        if self.items.len() >= BATCH {
            return self.flush();
        }
        Ok(())
    }

    fn aux(&mut self, _offset: u64, key: &[u8], value: &[u8]) {
        if key == b"used-mem" {
            let used = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()).unwrap_or(0);
            self.items.push(Item::UsedMem(used));
        }
    }

    fn resize_db(&mut self, db: usize, keys: u64, expires: u64) {
        self.items.push(Item::Resize(db, keys, expires));
    }
}

/// Reads an RDB stream from `input` on a thread of its own into the
/// dataset, yielding to the other tasks after each batch. `read_ahead`
/// may buffer past the RDB data (a file of its own); without it `input`
/// is handed back where the RDB data ends (an AOF's preamble). `max_keys`
/// bounds what RESIZEDB may reserve.
pub async fn load_rdb<R: Read + Send + 'static>(
    shared: &Shared,
    input: R,
    opts: rdb::LoadOptions,
    read_ahead: bool,
    max_keys: u64,
) -> Result<(R, rdb::LoadInfo), rdb::Error> {
    let (read, delay) = {
        let srv = shared.borrow();
        let read = srv.persistence.loading.as_ref().map(|p| p.loaded_bytes.clone()).unwrap_or_default();
        (read, srv.config.get("key-load-delay").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0))
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Message<R>>(4);
    std::thread::Builder::new().name("rdb-load".into()).spawn(move || {
        let mut forward = Forward { tx, items: Vec::with_capacity(BATCH), delay };
        let mut tally = Tally { inner: input, read };
        let result = if read_ahead {
            rdb::load_observed(&mut tally, &opts, &mut forward).map_err(|(e, _)| e)
        } else {
            rdb::load_with(&mut tally, &opts, &mut forward)
        };
        let result = result.and_then(|info| forward.flush().map(|()| info));
        let _ = forward.tx.blocking_send(Message::Done(tally.inner, result));
    })?;
    while let Some(message) = rx.recv().await {
        match message {
            Message::Batch(Batch(items)) => {
                add(shared, items, max_keys)?;
                tokio::task::yield_now().await;
            }
            Message::Done(input, result) => return result.map(|info| (input, info)),
        }
    }
    Err(rdb::Error::Corrupt("the loading thread stopped".into()))
}

fn add(shared: &Shared, items: Vec<Item>, max_keys: u64) -> rdb::Result<()> {
    let mut srv = shared.borrow_mut();
    for item in items {
        match item {
            Item::Key(k) => super::add_loaded(&mut srv.dbs, k, false)?,
            Item::Resize(db, keys, expires) => super::reserve_loaded(&mut srv.dbs, db, keys, expires, max_keys),
            Item::UsedMem(used) => {
                if let Some(p) = &mut srv.persistence.loading {
                    p.rdb_used_mem = used;
                }
            }
        }
    }
    Ok(())
}
