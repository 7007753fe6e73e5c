//! `oxkey-server --check-aof [--fix] <manifest|file|dir>`: redis-check-aof.
//! Reads every file a manifest names (or one file) without loading
//! anything, says where it stops being valid, and with `--fix` cuts a
//! truncated last file back to its last complete command.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use super::load::{next_command, Counting, Stop};
use super::manifest::{Kind, Manifest};
use crate::persistence::rdb;

/// How one file checked out.
enum Verdict {
    Valid,
    /// Ends inside a command (or a transaction): valid up to the offset.
    Truncated(u64),
    /// Not the AOF format from the offset on.
    Invalid(u64, String),
}

/// Runs the checker; returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    let (fix, target) = match args {
        [path] => (false, path),
        [flag, path] if flag == "--fix" => (true, path),
        _ => {
            println!("Usage: oxkey-server --check-aof [--fix] <file.manifest|file.aof|dir>");
            return 1;
        }
    };
    let mut path = PathBuf::from(target);
    if path.is_dir() {
        match find_manifest(&path) {
            Some(p) => path = p,
            None => {
                println!("Cannot find an AOF manifest in {}", path.display());
                return 1;
            }
        }
    }
    if !path.exists() {
        println!("Cannot open file {}: No such file or directory", path.display());
        return 1;
    }
    let is_manifest = path.extension().is_some_and(|e| e == "manifest");
    if is_manifest {
        check_multi_part(&path, fix)
    } else {
        println!("Start checking Old-Style AOF");
        if !check_file(&path, fix, true) {
            return 1;
        }
        println!("AOF is valid");
        0
    }
}

fn find_manifest(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "manifest") && !name(p).starts_with("temp-"))
}

fn name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

fn check_multi_part(path: &Path, fix: bool) -> i32 {
    println!("Start checking Multi Part AOF");
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) => {
            println!("Cannot open file {}: {e}", path.display());
            return 1;
        }
    };
    let m = match Manifest::parse(&text) {
        Ok(m) => m,
        Err(e) => {
            if let Some((n, line)) = e.line {
                println!("Reading the manifest file, at line {n}\n>>> '{line}'");
            }
            println!("{}", e.msg);
            return 1;
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let count = m.files().count();
    for (i, e) in m.files().enumerate() {
        let last = i + 1 == count;
        let path = dir.join(&e.name);
        if e.kind == Kind::Base {
            let rdb = std::fs::read(&path).is_ok_and(|d| d.starts_with(b"REDIS"));
            println!("Start to check BASE AOF ({} format).", if rdb { "RDB" } else { "AOF" });
        } else if i == usize::from(m.base.is_some()) {
            println!("Start to check INCR files.");
        }
        if !check_file(&path, fix && last, last) {
            return 1;
        }
        let what = if e.kind == Kind::Base { "BASE" } else { "INCR" };
        println!("{what} AOF {} is valid", e.name);
    }
    println!("All AOF files and manifest are valid");
    0
}

/// Checks one file and reports; `last`: a truncated tail is allowed (and
/// with `fix` cut off). Returns whether the file is acceptable.
fn check_file(path: &Path, fix: bool, last: bool) -> bool {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            println!("Cannot open file {}: {e}", path.display());
            return false;
        }
    };
    let size = file.metadata().map_or(0, |m| m.len());
    let mut r = Counting::new(std::io::BufReader::with_capacity(1 << 20, file));
    let verdict = check_stream(&mut r);
    let shown = name(path);
    let lines = r.lines + 1;
    match verdict {
        Verdict::Valid => {
            println!("AOF analyzed: filename={shown}, size={size}, ok_up_to={size}, ok_up_to_line={lines}, diff=0");
            true
        }
        Verdict::Invalid(at, why) => {
            println!("0x{at:>16x}: {why}");
            println!("AOF {shown} format error");
            println!(
                "AOF analyzed: filename={shown}, size={size}, ok_up_to={at}, ok_up_to_line={lines}, diff={}",
                size - at.min(size)
            );
            println!("AOF {shown} is not valid. Use the --fix option to try fixing it.");
            false
        }
        Verdict::Truncated(at) => {
            println!("0x{at:>16x}: Expected to read a complete command, got end of file");
            println!(
                "AOF analyzed: filename={shown}, size={size}, ok_up_to={at}, ok_up_to_line={lines}, diff={}",
                size - at.min(size)
            );
            if !last {
                println!("AOF {shown} is not the last file: it cannot be truncated");
                return false;
            }
            if !fix {
                println!("AOF {shown} is not valid. Use the --fix option to try fixing it.");
                return false;
            }
            let cut = std::fs::OpenOptions::new().write(true).open(path).and_then(|f| f.set_len(at));
            match cut {
                Ok(()) => {
                    println!("Successfully truncated AOF {shown}");
                    true
                }
                Err(e) => {
                    println!("Failed to truncate AOF {shown}: {e}");
                    false
                }
            }
        }
    }
}

/// Reads an RDB part (if the data starts with one) and then commands,
/// checking that MULTI and EXEC pair up.
fn check_stream<R: BufRead>(r: &mut Counting<R>) -> Verdict {
    let head = match r.fill_buf() {
        Ok(h) => h,
        Err(e) => return Verdict::Invalid(0, e.to_string()),
    };
    if head.starts_with(b"REDIS") {
        let opts = rdb::LoadOptions {
            limits: Default::default(),
            verify_checksum: true,
            databases: usize::MAX,
            drop_expired_at: None,
        };
        match rdb::load(&mut *r, &opts, |_| Ok(())) {
            Ok(_) => println!("RDB preamble is OK, proceeding with AOF tail..."),
            Err(rdb::Error::Truncated) => return Verdict::Truncated(0),
            Err(e) => return Verdict::Invalid(r.pos, format!("RDB preamble: {e}")),
        }
    }
    let mut line = Vec::new();
    let mut valid = r.pos;
    let mut before_multi = None;
    loop {
        match next_command(r, &mut line) {
            Ok(None) => break,
            Ok(Some(argv)) => {
                if argv[0].eq_ignore_ascii_case(b"multi") {
                    if before_multi.is_some() {
                        return Verdict::Invalid(valid, "Unexpected MULTI".into());
                    }
                    before_multi = Some(valid);
                } else if argv[0].eq_ignore_ascii_case(b"exec") && before_multi.take().is_none() {
                    return Verdict::Invalid(valid, "Unexpected EXEC".into());
                }
                valid = r.pos;
            }
            Err(Stop::Truncated) => return Verdict::Truncated(before_multi.unwrap_or(valid)),
            Err(Stop::Format) => return Verdict::Invalid(valid, "Expected a command array ('*')".into()),
            Err(Stop::Io(e)) => return Verdict::Invalid(valid, e.to_string()),
        }
    }
    match before_multi {
        Some(at) => {
            println!("Reached EOF before reading EXEC for MULTI");
            Verdict::Truncated(at)
        }
        None => Verdict::Valid,
    }
}
