//! The AOF manifest (`appendonly.aof.manifest`): which files make up the
//! append-only log, one line per file in Redis 7's format:
//!
//! ```text
//! file appendonly.aof.2.base.rdb seq 2 type b
//! file appendonly.aof.1.incr.aof seq 1 type h
//! file appendonly.aof.2.incr.aof seq 2 type i
//! ```
//!
//! The base file (the last rewrite's snapshot) comes first, then history
//! files (replaced, waiting to be deleted), then the incremental files in
//! order.

use crate::protocol::decode::split_args;

/// Longest line read, as Redis's MANIFEST_MAX_LINE.
const MAX_LINE: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Base,
    History,
    Incr,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Base => 'b',
            Kind::History => 'h',
            Kind::Incr => 'i',
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub seq: i64,
    pub kind: Kind,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<Entry>,
    pub history: Vec<Entry>,
    pub incr: Vec<Entry>,
    pub base_seq: i64,
    pub incr_seq: i64,
}

/// Why a manifest cannot be read: the line (number and text) and Redis's
/// message.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: Option<(usize, String)>,
    pub msg: &'static str,
}

/// Redis's atoll: leading blanks, an optional sign, digits; 0 otherwise.
fn atoll(s: &[u8]) -> i64 {
    let s = match s.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(i) => &s[i..],
        None => return 0,
    };
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut v: i64 = 0;
    for &b in digits.iter().take_while(|b| b.is_ascii_digit()) {
        v = v.wrapping_mul(10).wrapping_add((b - b'0') as i64);
    }
    if neg {
        v.wrapping_neg()
    } else {
        v
    }
}

/// Whether a name needs quoting in the manifest (Redis's sdsneedsrepr).
fn needs_repr(s: &str) -> bool {
    s.bytes().any(|b| b == b'\\' || b == b'"' || b == b'\'' || b.is_ascii_whitespace() || !(0x21..=0x7e).contains(&b))
}

impl Manifest {
    /// Parses a manifest with Redis's checks and messages.
    pub fn parse(text: &[u8]) -> Result<Manifest, ParseError> {
        let mut m = Manifest::default();
        let mut maxseq = 0i64;
        let mut rest = text;
        let mut linenum = 0;
        if text.is_empty() {
            return Err(ParseError { line: None, msg: "Found an empty AOF manifest" });
        }
        while !rest.is_empty() {
            // fgets: up to MAX_LINE bytes, through the newline.
            let take = match rest.iter().take(MAX_LINE).position(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => rest.len().min(MAX_LINE),
            };
            let (raw, tail) = rest.split_at(take);
            rest = tail;
            linenum += 1;
            if raw.first() == Some(&b'#') {
                continue;
            }
            let shown = String::from_utf8_lossy(raw).trim_matches([' ', '\t', '\r', '\n']).to_string();
            let err = |msg| Err(ParseError { line: Some((linenum, shown.clone())), msg });
            if raw.last() != Some(&b'\n') {
                return err("The AOF manifest file contains too long line");
            }
            if shown.is_empty() {
                return err("Invalid AOF manifest file format");
            }
            let argv = match split_args(shown.as_bytes()) {
                Some(a) if a.len() >= 6 && a.len() % 2 == 0 => a,
                _ => return err("Invalid AOF manifest file format"),
            };
            let (mut name, mut seq, mut kind) = (None, 0i64, None);
            for pair in argv.chunks(2) {
                let (k, v) = (&pair[0], &pair[1]);
                if k.eq_ignore_ascii_case(b"file") {
                    let n = String::from_utf8_lossy(v).into_owned();
                    if n.contains('/') {
                        return err("File can't be a path, just a filename");
                    }
                    name = Some(n);
                } else if k.eq_ignore_ascii_case(b"seq") {
                    seq = atoll(v);
                } else if k.eq_ignore_ascii_case(b"type") {
                    kind = Some(v.first().copied().unwrap_or(0));
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else { return err("Invalid AOF manifest file format") };
            if seq == 0 || kind == 0 || name.is_empty() {
                return err("Invalid AOF manifest file format");
            }
            match kind {
                b'b' => {
                    if m.base.is_some() {
                        return err("Found duplicate base file information");
                    }
                    m.base = Some(Entry { name, seq, kind: Kind::Base });
                    m.base_seq = seq;
                }
                b'h' => m.history.push(Entry { name, seq, kind: Kind::History }),
                b'i' => {
                    if seq <= maxseq {
                        return err("Found a non-monotonic sequence number");
                    }
                    m.incr.push(Entry { name, seq, kind: Kind::Incr });
                    m.incr_seq = seq;
                    maxseq = seq;
                }
                _ => return err("Unknown AOF file type"),
            }
        }
        Ok(m)
    }

    /// The file's text: base, history, then incremental files.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in self.base.iter().chain(&self.history).chain(&self.incr) {
            let name = if needs_repr(&e.name) { crate::config::repr(&e.name) } else { e.name.clone() };
            out.push_str(&format!("file {name} seq {} type {}\n", e.seq, e.kind.letter()));
        }
        out
    }

    /// A new base file name (`appendonly.aof.3.base.rdb`); the current base
    /// becomes history.
    pub fn new_base(&mut self, filename: &str, rdb: bool) -> String {
        if let Some(mut old) = self.base.take() {
            old.kind = Kind::History;
            self.history.insert(0, old);
        }
        self.base_seq += 1;
        let name = format!("{filename}.{}.base.{}", self.base_seq, if rdb { "rdb" } else { "aof" });
        self.base = Some(Entry { name: name.clone(), seq: self.base_seq, kind: Kind::Base });
        name
    }

    /// A new incremental file name, appended to the list.
    pub fn new_incr(&mut self, filename: &str) -> String {
        self.incr_seq += 1;
        let name = format!("{filename}.{}.incr.aof", self.incr_seq);
        self.incr.push(Entry { name: name.clone(), seq: self.incr_seq, kind: Kind::Incr });
        name
    }

    /// After a rewrite: every incremental file but the one being written
    /// (`keep_last`) is history.
    pub fn retire_incrs(&mut self, keep_last: bool) {
        let keep = usize::from(keep_last && !self.incr.is_empty());
        let retired: Vec<Entry> = self.incr.drain(..self.incr.len() - keep).collect();
        for mut e in retired.into_iter().rev() {
            e.kind = Kind::History;
            self.history.insert(0, e);
        }
    }

    /// Base and incremental files, in loading order.
    pub fn files(&self) -> impl Iterator<Item = &Entry> {
        self.base.iter().chain(&self.incr)
    }

    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incr.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders_redis_lines() {
        let text = "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text.as_bytes()).expect("parse");
        assert_eq!(m.base.as_ref().map(|b| b.name.as_str()), Some("appendonly.aof.2.base.rdb"));
        assert_eq!((m.base_seq, m.incr_seq, m.history.len()), (2, 2, 1));
        assert_eq!(m.render(), text);
    }

    #[test]
    fn rewrite_turns_old_files_into_history() {
        let mut m = Manifest::default();
        assert_eq!(m.new_base("appendonly.aof", true), "appendonly.aof.1.base.rdb");
        m.new_incr("appendonly.aof");
        m.new_incr("appendonly.aof");
        assert_eq!(m.new_base("appendonly.aof", false), "appendonly.aof.2.base.aof");
        m.retire_incrs(true);
        // Retired incremental files go before the old base, as in Redis.
        assert_eq!(
            m.render(),
            "file appendonly.aof.2.base.aof seq 2 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.1.base.rdb seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
        );
    }

    #[test]
    fn bad_manifests_get_redis_messages() {
        let msg = |t: &str| Manifest::parse(t.as_bytes()).err().map(|e| e.msg);
        assert_eq!(msg(""), Some("Found an empty AOF manifest"));
        assert_eq!(msg("file a seq 1 type b"), Some("The AOF manifest file contains too long line"));
        assert_eq!(msg("\n"), Some("Invalid AOF manifest file format"));
        assert_eq!(msg("file a seq 1\n"), Some("Invalid AOF manifest file format"));
        assert_eq!(msg("file a/b seq 1 type b\n"), Some("File can't be a path, just a filename"));
        assert_eq!(msg("file a seq 1 type x\n"), Some("Unknown AOF file type"));
        assert_eq!(msg("file a seq 0 type b\n"), Some("Invalid AOF manifest file format"));
        assert_eq!(msg("file a seq 1 type b\nfile b seq 1 type b\n"), Some("Found duplicate base file information"));
        assert_eq!(msg("file a seq 2 type i\nfile b seq 1 type i\n"), Some("Found a non-monotonic sequence number"));
        assert_eq!(msg("# comment\nfile \"a b\" seq 1 type i\n"), None);
        assert_eq!(
            msg(&format!("file {} seq 1 type i\n", "x".repeat(2000))),
            Some("The AOF manifest file contains too long line")
        );
    }
}
