//! The AOF writer thread: appends what the executor fed to the current
//! incremental file, fsyncs it as `appendfsync` says, switches files when
//! a rewrite starts and installs the manifest when one ends. The executor
//! never waits for it, except that with `appendfsync always` replies wait
//! for `synced` (see `State::fsync_gate`).
//!
//! Offsets are positions in the stream of bytes fed since the AOF was
//! turned on, across file switches.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::watch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    Always,
    Everysec,
    No,
}

impl Fsync {
    pub fn from_config(v: Option<&str>) -> Fsync {
        match v {
            Some("always") => Fsync::Always,
            Some("no") => Fsync::No,
            _ => Fsync::Everysec,
        }
    }
}

pub enum Msg {
    Data(Vec<u8>),
    /// Continue in a new incremental file (a rewrite starts); the manifest
    /// naming it, if any, is written once the file exists.
    Rotate {
        path: PathBuf,
        manifest: Option<String>,
    },
    /// A rewrite ended: rename files, write the manifest, then delete the
    /// files it no longer names; `done` is dropped once that is over.
    Install {
        renames: Vec<(PathBuf, PathBuf)>,
        manifest: String,
        delete: Vec<PathBuf>,
        done: mpsc::Sender<()>,
    },
    Policy(Fsync),
    /// Write and sync everything, close, and answer.
    Stop(mpsc::Sender<()>),
}

/// What the writer reports, read by the executor (INFO, write gating).
pub struct Shared {
    /// Offset up to which the data reached the file.
    pub written: AtomicU64,
    /// An fsync is running (INFO aof_pending_bio_fsync).
    pub fsyncing: AtomicBool,
    /// `no-appendfsync-on-rewrite` applies now (a rewrite runs).
    pub skip_fsync: AtomicBool,
    /// The last Rotate could not create its file: writes went on in the
    /// previous one, and the rewrite must not retire it.
    pub rotate_failed: AtomicBool,
    /// The last write failed (checked before every write command)...
    pub failed: AtomicBool,
    /// ...with this error.
    pub write_error: Mutex<Option<String>>,
    /// Where the manifest lives.
    manifest_path: PathBuf,
}

/// The executor's end of a running writer.
pub struct Handle {
    pub tx: mpsc::Sender<Msg>,
    pub shared: Arc<Shared>,
    /// Offset up to which the data is on disk (fsynced, or as good as it
    /// gets with the current policy).
    pub synced: watch::Receiver<u64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Handle {
    /// Stops the writer after it has written and synced everything sent.
    pub fn stop(mut self) {
        let (ack_tx, ack_rx) = mpsc::channel();
        if self.tx.send(Msg::Stop(ack_tx)).is_ok() {
            let _ = ack_rx.recv();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Opens `path` for appending and starts the writer at stream `offset`.
pub fn start(path: &Path, manifest_path: PathBuf, offset: u64, policy: Fsync) -> std::io::Result<Handle> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let file_len = file.metadata()?.len();
    let shared = Arc::new(Shared {
        written: AtomicU64::new(offset),
        fsyncing: AtomicBool::new(false),
        skip_fsync: AtomicBool::new(false),
        rotate_failed: AtomicBool::new(false),
        failed: AtomicBool::new(false),
        write_error: Mutex::new(None),
        manifest_path,
    });
    let (tx, rx) = mpsc::channel();
    let (synced_tx, synced) = watch::channel(offset);
    let s = shared.clone();
    let thread = std::thread::Builder::new().name("aof-writer".into()).spawn(move || {
        Writer { file, file_len, shared: s, policy, synced: synced_tx, offset, synced_at: offset, pending: Vec::new() }
            .run(rx)
    })?;
    Ok(Handle { tx, shared, synced, thread: Some(thread) })
}

struct Writer {
    file: File,
    shared: Arc<Shared>,
    policy: Fsync,
    synced: watch::Sender<u64>,
    /// Offset written so far, and fsynced so far.
    offset: u64,
    synced_at: u64,
    /// Bytes in the current file: a failed write is cut back to it.
    file_len: u64,
    /// Data not written yet (received in this round, or left by an error).
    pending: Vec<u8>,
}

/// How long a failed write waits before it is retried.
const RETRY: Duration = Duration::from_secs(1);

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Msg>) {
        let mut last_fsync = Instant::now();
        loop {
            let wait = if !self.pending.is_empty() {
                RETRY
            } else if self.policy == Fsync::Everysec && self.offset > self.synced_at {
                Duration::from_secs(1).saturating_sub(last_fsync.elapsed())
            } else {
                Duration::from_secs(3600)
            };
            let first = match rx.recv_timeout(wait) {
                Ok(m) => Some(m),
                Err(mpsc::RecvTimeoutError::Timeout) => None,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.write_pending();
                    self.fsync();
                    return;
                }
            };
            // Everything queued is written with one write(2).
            let mut next = first;
            while let Some(m) = next.take().or_else(|| rx.try_recv().ok()) {
                match m {
                    Msg::Data(mut b) => {
                        if self.pending.is_empty() {
                            self.pending = b;
                        } else {
                            self.pending.append(&mut b);
                        }
                    }
                    Msg::Policy(p) => self.policy = p,
                    Msg::Rotate { path, manifest } => self.rotate(&path, manifest.as_deref()),
                    Msg::Install { renames, manifest, delete, done } => {
                        self.install(&renames, &manifest, &delete);
                        drop(done);
                    }
                    Msg::Stop(ack) => {
                        self.write_pending();
                        self.fsync();
                        let _ = ack.send(());
                        return;
                    }
                }
            }
            self.write_pending();
            let due = match self.policy {
                Fsync::Always => true,
                Fsync::Everysec => last_fsync.elapsed() >= Duration::from_secs(1),
                Fsync::No => false,
            };
            if self.offset > self.synced_at && due {
                if self.shared.skip_fsync.load(Ordering::Relaxed) {
                    // no-appendfsync-on-rewrite: replies do not wait for it.
                    let _ = self.synced.send_replace(self.offset);
                } else {
                    self.fsync();
                }
                last_fsync = Instant::now();
            } else if self.policy != Fsync::Always && self.offset > *self.synced.borrow() {
                // Nothing waits on the sync offset but `always` replies.
                let _ = self.synced.send_replace(self.offset);
            }
        }
    }

    fn write_pending(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        match self.file.write_all(&self.pending) {
            Ok(()) => {
                self.offset += self.pending.len() as u64;
                self.file_len += self.pending.len() as u64;
                self.shared.written.store(self.offset, Ordering::Relaxed);
                self.pending.clear();
                if self.pending.capacity() > 1 << 20 {
                    self.pending = Vec::new();
                }
                if self.shared.failed.swap(false, Ordering::Relaxed) {
                    tracing::warn!("AOF write error looks solved, Redis can write again.");
                }
            }
            Err(e) => {
                let why = crate::config::strerror(&e);
                // A partial write is removed, so that the retry does not
                // leave half a command in the file (Redis's ftruncate).
                let cut = self.file.set_len(self.file_len);
                if self.policy == Fsync::Always {
                    tracing::warn!("Error writing to the AOF file: {why}");
                    tracing::warn!(
                        "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
                    );
                    std::process::exit(1);
                }
                let mut err = self.shared.write_error.lock().unwrap_or_else(|e| e.into_inner());
                // Logged once per failure, not at every retry.
                if err.is_none() {
                    tracing::warn!("Error writing to the AOF file: {why}");
                    if let Err(t) = cut {
                        tracing::warn!(
                            "Could not remove short write from the append-only file.  Redis may refuse to load the AOF the next time it starts.  ftruncate: {}",
                            crate::config::strerror(&t)
                        );
                    }
                }
                *err = Some(why);
                self.shared.failed.store(true, Ordering::Relaxed);
            }
        }
    }

    fn fsync(&mut self) {
        if self.offset == self.synced_at {
            return;
        }
        self.shared.fsyncing.store(true, Ordering::Relaxed);
        let r = self.file.sync_data();
        self.shared.fsyncing.store(false, Ordering::Relaxed);
        match r {
            Ok(()) => {
                self.synced_at = self.offset;
                let _ = self.synced.send_replace(self.offset);
            }
            Err(e) if self.policy == Fsync::Always => {
                tracing::warn!(
                    "Can't persist AOF for fsync error when the AOF fsync policy is 'always': {e}. Exiting..."
                );
                std::process::exit(1);
            }
            Err(e) => tracing::warn!("Fail to fsync the AOF file: {e}"),
        }
    }

    fn rotate(&mut self, path: &Path, manifest: Option<&str>) {
        self.write_pending();
        self.fsync();
        match OpenOptions::new().create(true).write(true).truncate(true).open(path) {
            Ok(f) => {
                self.file = f;
                self.file_len = 0;
                self.shared.rotate_failed.store(false, Ordering::Relaxed);
            }
            Err(e) => {
                tracing::warn!("Can't open the append-only file {}: {e}", path.display());
                self.shared.rotate_failed.store(true, Ordering::Relaxed);
                return;
            }
        }
        if let Some(m) = manifest {
            if let Err(e) = write_manifest(&self.shared.manifest_path, m) {
                tracing::warn!("{e}");
            }
        }
    }

    fn install(&mut self, renames: &[(PathBuf, PathBuf)], manifest: &str, delete: &[PathBuf]) {
        for (from, to) in renames {
            if let Err(e) = std::fs::rename(from, to) {
                tracing::warn!(
                    "Error trying to rename the temporary AOF file {} into {}: {e}",
                    from.display(),
                    to.display()
                );
                return;
            }
        }
        if let Err(e) = write_manifest(&self.shared.manifest_path, manifest) {
            tracing::warn!("{e}");
            return;
        }
        for path in delete {
            tracing::info!("Removing the history file {} in the background", file_name(path));
            let _ = std::fs::remove_file(path);
        }
    }
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Writes the manifest atomically: a temp file, fsync, rename, and an
/// fsync of the directory (new files were added to it). The error is the
/// line to log.
pub fn write_manifest(path: &Path, text: &str) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = file_name(path);
    let tmp_name = format!("temp-{name}");
    let tmp = dir.join(&tmp_name);
    let mut f = File::create(&tmp).map_err(|e| format!("Can't open the AOF manifest file {tmp_name}: {e}"))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("Error trying to write the temporary AOF manifest file {tmp_name}: {e}"))?;
    f.sync_all().map_err(|e| format!("Fail to fsync the temp AOF file {tmp_name}: {e}."))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| format!("Error trying to rename the temporary AOF manifest file {tmp_name} into {name}: {e}"))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("Fail to fsync AOF directory {}: {e}.", path.display()))
}
