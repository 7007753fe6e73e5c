//! `oxkey-server --check-rdb FILE`: redis-check-rdb's report on an RDB
//! file. It lists the AUX fields and databases as they go by, then says
//! the file looks OK or names the first problem with its offset, what the
//! reader was doing and the key it was reading; damaged input never makes
//! it crash.

use std::io::Write;

use super::rdb::{self, Error, LoadOptions, Observer};

/// redis-check-rdb's names of the value types, by type byte.
const TYPE_NAMES: [&str; 22] = [
    "string",
    "list-linked",
    "set-hashtable",
    "zset-v1",
    "hash-hashtable",
    "zset-v2",
    "module-pre-release",
    "module-value",
    "",
    "hash-zipmap",
    "list-ziplist",
    "set-intset",
    "zset-ziplist",
    "hash-ziplist",
    "quicklist",
    "stream",
    "hash-listpack",
    "zset-listpack",
    "quicklist-v2",
    "stream-v2",
    "set-listpack",
    "stream-v3",
];

struct Report<'a, W: Write> {
    out: &'a mut W,
    counts: Counts,
    /// Now, for the already expired keys.
    now: i64,
}

/// Bytes printed as C's `%s` prints them: up to the first NUL.
fn c_text(b: &[u8]) -> &[u8] {
    b.split(|&c| c == 0).next().unwrap_or(b)
}

impl<W: Write> Report<'_, W> {
    fn line(&mut self, parts: &[&[u8]]) {
        for p in parts {
            let _ = self.out.write_all(p);
        }
        let _ = self.out.write_all(b"\n");
    }
}

impl<W: Write> Observer for Report<'_, W> {
    fn key(&mut self, k: rdb::LoadedKey) -> rdb::Result<()> {
        self.counts.keys += 1;
        if k.expire_at != 0 {
            self.counts.expires += 1;
            if k.expire_at < self.now {
                self.counts.already_expired += 1;
            }
        }
        Ok(())
    }

    fn aux(&mut self, offset: u64, key: &[u8], value: &[u8]) {
        let head = format!("[offset {offset}] AUX FIELD ");
        self.line(&[head.as_bytes(), c_text(key), b" = '", c_text(value), b"'"]);
    }

    fn select_db(&mut self, offset: u64, db: u64) {
        self.line(&[format!("[offset {offset}] Selecting DB ID {db}").as_bytes()]);
    }
}

#[derive(Default)]
struct Counts {
    keys: u64,
    expires: u64,
    already_expired: u64,
}

fn show_counts(out: &mut impl Write, c: &Counts) {
    let _ = write!(
        out,
        "[info] {} keys read\n[info] {} expires\n[info] {} already expired\n",
        c.keys, c.expires, c.already_expired
    );
}

fn error_text(e: &Error) -> String {
    match e {
        Error::Truncated => "Unexpected EOF reading RDB file".into(),
        Error::Corrupt(m) | Error::Unsupported(m) => m.clone(),
        Error::Io(e) => e.to_string(),
    }
}

/// Checks the RDB file at `path`, writing redis-check-rdb's report to
/// `out`. Returns whether the file is sound.
pub fn check_file(path: &str, out: &mut impl Write) -> bool {
    let _ = writeln!(out, "[offset 0] Checking RDB file {path}");
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            let _ = writeln!(out, "--- RDB ERROR DETECTED ---\n[offset 0] Cannot open RDB file '{path}': {e}");
            show_counts(out, &Counts::default());
            return false;
        }
    };
    let opts = LoadOptions {
        limits: Default::default(),
        verify_checksum: true,
        // Any database number is only reported.
        databases: usize::MAX,
        drop_expired_at: None,
    };
    let mut report = Report { out: &mut *out, counts: Counts::default(), now: crate::util::now_ms() };
    let result = rdb::load_observed(file, &opts, &mut report);
    let mut counts = report.counts;
    match result {
        Ok(info) => {
            let end = info.size;
            if info.version >= 5 {
                if info.checksum_verified {
                    let _ = writeln!(out, "[offset {end}] Checksum OK");
                } else {
                    let _ =
                        writeln!(out, "[offset {end}] RDB file was saved with checksum disabled: no check performed.");
                }
            }
            let _ = writeln!(out, "[offset {end}] \\o/ RDB looks OK! \\o/");
            show_counts(out, &counts);
            true
        }
        Err((e, at)) => {
            let _ = writeln!(out, "--- RDB ERROR DETECTED ---");
            let _ = writeln!(out, "[offset {}] {}", at.offset, error_text(&e));
            let _ = writeln!(out, "[additional info] While doing: {}", at.doing);
            if let Some(key) = &at.key {
                // Its key was read: redis-check-rdb has counted it.
                counts.keys += 1;
                let _ = out.write_all(b"[additional info] Reading key '");
                let _ = out.write_all(c_text(key));
                let _ = out.write_all(b"'\n");
            }
            if let Some(t) = at.key_type {
                let name = TYPE_NAMES.get(t as usize).copied().unwrap_or("unknown");
                let _ = writeln!(out, "[additional info] Reading type {t} ({name})");
            }
            show_counts(out, &counts);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(bytes: &[u8]) -> (bool, String) {
        let path = std::env::temp_dir().join(format!("oxkey-check-{}-{}.rdb", std::process::id(), bytes.len()));
        std::fs::write(&path, bytes).expect("write");
        let mut out = Vec::new();
        let ok = check_file(&path.to_string_lossy(), &mut out);
        let _ = std::fs::remove_file(&path);
        (ok, String::from_utf8_lossy(&out).into_owned())
    }

    #[test]
    fn reports_a_sound_file_and_the_first_problem() {
        let opts = rdb::SaveOptions { version: 10, compress: true, access: rdb::AccessInfo::None };
        let mut f = Vec::new();
        rdb::write_header(&mut f, &opts, 0, false, &[]);
        rdb::write_db_header(&mut f, 0, 1, 0);
        let obj = crate::db::Obj::new(crate::db::Value::from_bytes(b"value"));
        rdb::write_key_value(&mut f, b"key", &obj, 0, &opts);
        f.push(rdb::OP_EOF);
        let crc = crate::persistence::crc64::crc64(0, &f);
        let mut good = f.clone();
        good.extend_from_slice(&crc.to_le_bytes());
        let (ok, text) = report(&good);
        assert!(ok, "{text}");
        assert!(text.contains("AUX FIELD redis-bits = '64'"), "{text}");
        assert!(text.contains("Selecting DB ID 0"), "{text}");
        assert!(text.contains(&format!("[offset {}] Checksum OK", good.len())), "{text}");
        assert!(text.ends_with("RDB looks OK! \\o/\n[info] 1 keys read\n[info] 0 expires\n[info] 0 already expired\n"));
        // Cut inside the value: the key was read, its value was not.
        let (ok, text) = report(&good[..f.len() - 3]);
        assert!(!ok);
        assert!(text.contains("--- RDB ERROR DETECTED ---\n"), "{text}");
        assert!(text.contains("Unexpected EOF reading RDB file\n[additional info] While doing: read-object-value\n"));
        assert!(text.contains("[additional info] Reading key 'key'\n[additional info] Reading type 0 (string)\n"));
        assert!(text.contains("[info] 1 keys read\n"), "{text}");
        let mut bad = good.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        let (ok, text) = report(&bad);
        assert!(!ok && text.contains("While doing: check-sum"), "{text}");
        let (ok, text) = report(b"REDIX0010");
        assert!(!ok && text.contains("[offset 9] Wrong signature trying to load DB from file"), "{text}");
    }
}
