//! Reading AOF files: commands in RESP, optionally after an RDB image (a
//! `.base.rdb` file, or an old-style appendonly.aof with an RDB preamble).
//! Loading replays each command through the executor as a client that
//! never gets replies; the checker (`--check-aof`) reads the same way
//! without running anything.

use std::io::{BufRead, Read};
use std::path::Path;

use std::sync::atomic::Ordering::Relaxed;

use crate::executor::Server;
use crate::persistence::rdb;
use crate::server::client::Client;
use crate::server::Shared;
use crate::util::eq_ic;

/// Longest line read at once, as Redis's AOF_ANNOTATION_LINE_MAX_LEN.
const LINE_MAX: usize = 1024;
/// An argument is read in pieces of this size (its length is untrusted).
const CHUNK: usize = 1 << 20;

/// A reader that counts what was consumed: the offset of the last
/// complete command, for truncation and reports.
pub struct Counting<R> {
    pub inner: R,
    pub pos: u64,
    /// Lines of commands read (redis-check-aof's ok_up_to_line).
    pub lines: u64,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> Self {
        Counting { inner, pos: 0, lines: 0 }
    }
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.pos += amt as u64;
        self.inner.consume(amt);
    }
}

/// Why reading stopped early.
#[derive(Debug)]
pub enum Stop {
    /// The data ends inside a command (Redis's "unexpected end of file").
    Truncated,
    /// Not the AOF format (Redis's "bad file format").
    Format,
    Io(std::io::Error),
}

/// Reads a line of at most LINE_MAX bytes (through its newline, if any).
/// An empty result is the end of the data.
fn read_line<R: BufRead>(r: &mut R, line: &mut Vec<u8>) -> Result<(), Stop> {
    line.clear();
    r.by_ref().take(LINE_MAX as u64).read_until(b'\n', line).map_err(Stop::Io)?;
    Ok(())
}

/// Redis's strtol/atoi on a header line: digits after the type byte,
/// stopping at the first non-digit.
fn header_number(line: &[u8]) -> Option<i64> {
    let body = &line[1..];
    let (neg, digits) = match body.first() {
        Some(b'-') => (true, &body[1..]),
        _ => (false, body),
    };
    let mut v: i64 = 0;
    let mut any = false;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        v = v.checked_mul(10)?.checked_add((b - b'0') as i64)?;
        any = true;
    }
    any.then_some(if neg { -v } else { v })
}

/// Reads the next command; None at the end of the data. Annotations
/// (`#TS:...`) are skipped.
pub fn next_command<R: BufRead>(r: &mut Counting<R>, line: &mut Vec<u8>) -> Result<Option<Vec<bytes::Bytes>>, Stop> {
    loop {
        read_line(r, line)?;
        match line.first() {
            None => return Ok(None),
            Some(b'#') => {
                // A long annotation: skip the rest of its line.
                while line.last() != Some(&b'\n') {
                    read_line(r, line)?;
                    if line.is_empty() {
                        return Ok(None);
                    }
                }
                r.lines += 1;
                continue;
            }
            Some(b'*') => break,
            Some(_) => return Err(Stop::Format),
        }
    }
    if line.len() == 1 {
        return Err(Stop::Truncated);
    }
    let argc = match header_number(line) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(Stop::Format),
    };
    r.lines += 1;
    let mut argv = Vec::with_capacity(argc.min(1024) as usize);
    for _ in 0..argc {
        read_line(r, line)?;
        match line.first() {
            None => return Err(Stop::Truncated),
            Some(b'$') => {}
            Some(_) => return Err(Stop::Format),
        }
        if line.last() != Some(&b'\n') && line.len() < LINE_MAX {
            return Err(Stop::Truncated);
        }
        let len = match header_number(line) {
            Some(n) if n >= 0 => n as u64,
            Some(_) => return Err(Stop::Format),
            None => 0,
        };
        r.lines += 1;
        let mut arg = Vec::with_capacity(len.min(CHUNK as u64) as usize);
        let got = r.by_ref().take(len).read_to_end(&mut arg).map_err(Stop::Io)?;
        if (got as u64) < len {
            return Err(Stop::Truncated);
        }
        let mut crlf = [0u8; 2];
        if r.read_exact(&mut crlf).is_err() {
            return Err(Stop::Truncated);
        }
        r.lines += 1;
        argv.push(bytes::Bytes::from(arg));
    }
    Ok(Some(argv))
}

/// How a file loaded.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Loaded,
    Empty,
    /// A damaged tail was cut off (aof-load-truncated).
    Truncated,
}

/// Loads one AOF file into the dataset (loadSingleAppendOnlyFile).
/// `old_style`: an appendonly.aof from before multi-part AOF (its RDB part
/// is a preamble). Errors are logged here, with Redis's lines; the Err
/// text is the last of them.
/// `done`: the bytes of the files loaded before this one (for INFO's
/// progress).
pub async fn load_file(
    shared: &Shared,
    path: &Path,
    name: &str,
    old_style: bool,
    truncated_ok: bool,
    done: u64,
) -> Result<Outcome, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("Fatal error: can't open the append log file {name} for reading: {e}"))?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Ok(Outcome::Empty);
    }
    let mut r = Counting::new(std::io::BufReader::with_capacity(1 << 20, file));
    let progress = shared.borrow().persistence.loading.as_ref().map(|p| p.loaded_bytes.clone()).unwrap_or_default();
    progress.store(done, Relaxed);
    let mut valid_up_to = 0u64;
    let is_rdb = r.fill_buf().map(|head| head.starts_with(b"REDIS"));
    // The reader where the commands start, or why there are none to read.
    let commands = match is_rdb {
        Ok(true) => {
            if old_style {
                tracing::info!("Reading RDB preamble from AOF file...");
            } else {
                tracing::info!("Reading RDB base file on AOF loading...");
            }
            match load_rdb(shared, r).await {
                Ok(back) => {
                    valid_up_to = back.pos;
                    if old_style {
                        tracing::info!("Reading the remaining AOF tail...");
                    }
                    Ok(back)
                }
                Err(e) => {
                    tracing::warn!("{e}");
                    if old_style {
                        tracing::warn!("Error reading the RDB preamble of the AOF file {name}, AOF loading aborted");
                    } else {
                        tracing::warn!("Error reading the RDB base file {name}, AOF loading aborted");
                    }
                    Err(match e {
                        rdb::Error::Truncated => Stop::Truncated,
                        rdb::Error::Io(e) => Stop::Io(e),
                        _ => Stop::Io(std::io::Error::other("invalid RDB data")),
                    })
                }
            }
        }
        Ok(false) => Ok(r),
        Err(e) => Err(Stop::Io(e)),
    };
    let stop = match commands {
        Err(s) => Some(s),
        Ok(mut r) => replay(shared, &mut r, name, &mut valid_up_to, |pos| progress.store(done + pos, Relaxed)).await?,
    };
    match stop {
        None => Ok(Outcome::Loaded),
        Some(Stop::Io(e)) => Err(format!("Unrecoverable error reading the append only file {name}: {e}")),
        Some(Stop::Format) => Err(format!(
            "Bad file format reading the append only file {name}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>"
        )),
        Some(Stop::Truncated) if truncated_ok => {
            tracing::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
            tracing::warn!("!!! Truncating the AOF {name} at offset {valid_up_to} !!!");
            let cut = std::fs::OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(valid_up_to));
            match cut {
                Ok(()) => {
                    tracing::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
                    Ok(Outcome::Truncated)
                }
                Err(e) => Err(format!("Error truncating the AOF file {name}: {e}")),
            }
        }
        Some(Stop::Truncated) => Err(format!(
            "Unexpected end of file reading the append only file {name}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
        )),
    }
}

/// The RDB part of a file, its keys added to the dataset. The reader is
/// handed back where the RDB data ends.
async fn load_rdb<R: BufRead + Send + 'static>(shared: &Shared, r: Counting<R>) -> Result<Counting<R>, rdb::Error> {
    let opts = crate::persistence::load_options(&shared.borrow(), true);
    let (r, info) = crate::persistence::loading::load_rdb(shared, r, opts, false, 0).await?;
    crate::persistence::loaded(&mut shared.borrow_mut(), &info)?;
    Ok(r)
}

/// Commands replayed between turns of the other tasks.
const REPLAY_BATCH: usize = 1000;

/// Whether replaying goes on, or why it ended.
enum Step {
    More,
    End(Option<Stop>),
}

/// The replay's state between batches.
struct Replay<'a, R> {
    r: &'a mut Counting<R>,
    client: Client,
    line: Vec<u8>,
    name: &'a str,
    valid_up_to: &'a mut u64,
    before_multi: u64,
}

impl<R: BufRead> Replay<'_, R> {
    /// Runs up to `n` commands.
    fn run(&mut self, srv: &mut Server, n: usize) -> Result<Step, String> {
        for _ in 0..n {
            let argv = match next_command(self.r, &mut self.line) {
                Ok(Some(argv)) => argv,
                Ok(None) => return Ok(Step::End(None)),
                Err(stop) => return Ok(Step::End(Some(stop))),
            };
            if crate::executor::lookup(&argv).is_none() {
                return Err(format!(
                    "Unknown command '{}' reading the append only file {}",
                    String::from_utf8_lossy(&argv[0]),
                    self.name
                ));
            }
            if eq_ic(&argv[0], "multi") {
                self.before_multi = *self.valid_up_to;
            }
            crate::executor::execute(srv, &mut self.client, &argv);
            self.client.out.buf.clear();
            *self.valid_up_to = self.r.pos;
        }
        Ok(Step::More)
    }
}

/// Runs the commands of the file through the executor, as a client whose
/// replies are dropped, in batches between which clients are served
/// (`progress` is told the offset reached). Returns why it stopped early,
/// if it did; an unknown command is an error of its own.
async fn replay<R: BufRead>(
    shared: &Shared,
    r: &mut Counting<R>,
    name: &str,
    valid_up_to: &mut u64,
    progress: impl Fn(u64),
) -> Result<Option<Stop>, String> {
    let mut client = Client::new(u64::MAX, String::new(), String::new(), -1, true);
    client.no_block = true;
    client.loading_aof = true;
    let delay = shared.borrow().config.key_load_delay;
    let before_multi = *valid_up_to;
    let mut replay = Replay { r, client, line: Vec::new(), name, valid_up_to, before_multi };
    // With `key-load-delay` (tests), one command per turn and the delay
    // slept between them.
    let batch = if delay > 0 { 1 } else { REPLAY_BATCH };
    let stop = loop {
        let step = replay.run(&mut shared.borrow_mut(), batch)?;
        progress(replay.r.pos);
        match step {
            Step::More if delay > 0 => tokio::time::sleep(std::time::Duration::from_micros(delay)).await,
            Step::More => tokio::task::yield_now().await,
            Step::End(stop) => break stop,
        }
    };
    if stop.is_some() {
        return Ok(stop);
    }
    // A transaction without its EXEC is dropped, as a truncated tail.
    if replay.client.tx.in_multi() {
        tracing::warn!("Revert incomplete MULTI/EXEC transaction in AOF file {name}");
        *replay.valid_up_to = replay.before_multi;
        return Ok(Some(Stop::Truncated));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(data: &[u8]) -> (Vec<Vec<bytes::Bytes>>, Option<Stop>, u64) {
        let mut r = Counting::new(data);
        let mut line = Vec::new();
        let mut out = Vec::new();
        let mut valid = 0;
        loop {
            match next_command(&mut r, &mut line) {
                Ok(Some(c)) => {
                    out.push(c);
                    valid = r.pos;
                }
                Ok(None) => return (out, None, valid),
                Err(e) => return (out, Some(e), valid),
            }
        }
    }

    #[test]
    fn reads_commands_and_skips_annotations() {
        let (cmds, stop, valid) =
            all(b"#TS:1700000000\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv\n\r\n");
        assert!(stop.is_none());
        assert_eq!(cmds.len(), 2);
        assert_eq!(&cmds[1][2][..], b"v\n");
        assert_eq!(valid, 67);
    }

    #[test]
    fn truncation_and_garbage_are_told_apart() {
        let full = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n";
        for cut in 1..full.len() {
            let (cmds, stop, valid) = all(&full[..cut]);
            assert!(cmds.is_empty() && valid == 0);
            assert!(matches!(stop, Some(Stop::Truncated)), "cut at {cut}: {stop:?}");
        }
        assert!(matches!(all(b"+OK\r\n").1, Some(Stop::Format)));
        assert!(matches!(all(b"*0\r\n").1, Some(Stop::Format)));
        assert!(matches!(all(b"*1\r\n:1\r\n").1, Some(Stop::Format)));
        assert!(matches!(all(b"*1\r\n$-5\r\n").1, Some(Stop::Format)));
        // A huge announced length is not allocated up front.
        assert!(matches!(all(b"*1\r\n$99999999999999\r\nab").1, Some(Stop::Truncated)));
        assert!(matches!(all(b"*99999999999999\r\n$1\r\na\r\n").1, Some(Stop::Truncated)));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut seed = 0x9e3779b97f4a7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet = b"*$\r\n0123456789-#SETabc";
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let data: Vec<u8> = (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect();
            let (_, _, valid) = all(&data);
            assert!(valid <= data.len() as u64);
            let _ = crate::persistence::aof::manifest::Manifest::parse(&data);
        }
    }
}
