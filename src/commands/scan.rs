//! What SCAN, HSCAN, SSCAN and ZSCAN share: cursor parsing, the MATCH /
//! COUNT / TYPE / NOVALUES options, Redis's bounded walk over a hash table
//! and the two-element reply (`[cursor, [elements...]]`).
//!
//! The order of checks is Redis's: the cursor is parsed first, then the
//! key is looked up (a missing key answers an empty scan, a wrong type
//! WRONGTYPE) and only then are the options parsed — so a bad option on a
//! missing key goes unnoticed, as in Redis.

use bytes::Bytes;

use crate::protocol::Out;
use crate::types::dict::Dict;
use crate::types::listpack::Entry;
use crate::types::set::int_text;
use crate::util::{eq_ic, glob_match, parse_i64};

/// What a scan walks: decides which options it accepts.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Target {
    Keys,
    Hash,
    Set,
    ZSet,
}

#[derive(Debug)]
pub struct ScanOpts<'a> {
    /// COUNT (default 10): how much work one call does on a hash table.
    pub count: usize,
    /// MATCH pattern; None when absent or `*` (which matches everything).
    pub pattern: Option<&'a [u8]>,
    /// TYPE (SCAN only).
    pub type_name: Option<&'a [u8]>,
    /// NOVALUES (HSCAN only, Redis 7.4 / Valkey 8): fields without values.
    pub novalues: bool,
}

impl ScanOpts<'_> {
    /// Whether an element passes MATCH.
    pub fn matches(&self, e: &Entry<'_>) -> bool {
        let Some(pat) = self.pattern else { return true };
        match e {
            Entry::Str(s) => glob_match(pat, s, false),
            Entry::Int(i) => glob_match(pat, int_text(*i, &mut [0; 20]), false),
        }
    }
}

/// Parses a cursor as Redis 7.2's `parseScanCursorOrReply` does with
/// `string2ull` (Redis 7.0 used `strtoul` and took "" and "-1"): a strict
/// non-negative integer, or else what `strtoull` reads — leading spaces
/// and a sign allowed (a negative value wraps around, as in C), digits to
/// the end of the string (C's end: a NUL byte), no overflow.
pub fn parse_cursor(arg: &[u8]) -> Option<u64> {
    let s = match arg.iter().position(|&b| b == 0) {
        Some(nul) => &arg[..nul],
        None => arg,
    };
    if let Some(v) = parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let start = s.iter().position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))?;
    let (neg, digits) = match s[start] {
        b'-' => (true, &s[start + 1..]),
        b'+' => (false, &s[start + 1..]),
        _ => (false, &s[start..]),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// `ERR invalid cursor`.
pub fn invalid_cursor(out: &mut Out) {
    out.error("ERR invalid cursor");
}

/// The reply to a scan of a key that does not exist: cursor 0, nothing.
pub fn empty_reply(out: &mut Out) {
    out.raw(b"*2\r\n$1\r\n0\r\n*0\r\n");
}

/// Parses the options that follow the cursor (`args[from..]`), writing
/// Redis's error reply and returning None when one is wrong.
pub fn parse_opts<'a>(out: &mut Out, args: &'a [Bytes], from: usize, target: Target) -> Option<ScanOpts<'a>> {
    let mut opts = ScanOpts { count: 10, pattern: None, type_name: None, novalues: false };
    let mut i = from;
    while i < args.len() {
        let opt = &args[i][..];
        let has_value = i + 1 < args.len();
        if eq_ic(opt, "count") && has_value {
            let Some(n) = parse_i64(&args[i + 1]) else {
                out.error("ERR value is not an integer or out of range");
                return None;
            };
            if n < 1 {
                out.error("ERR syntax error");
                return None;
            }
            opts.count = usize::try_from(n).unwrap_or(usize::MAX);
            i += 2;
        } else if eq_ic(opt, "match") && has_value {
            let pat = &args[i + 1][..];
            opts.pattern = if pat == b"*" { None } else { Some(pat) };
            i += 2;
        } else if eq_ic(opt, "type") && target == Target::Keys && has_value {
            opts.type_name = Some(&args[i + 1][..]);
            i += 2;
        } else if eq_ic(opt, "novalues") {
            if target != Target::Hash {
                out.error("ERR NOVALUES option can only be used in HSCAN");
                return None;
            }
            opts.novalues = true;
            i += 1;
        } else {
            out.error("ERR syntax error");
            return None;
        }
    }
    Some(opts)
}

/// One call's worth of a hash-table scan, as Redis bounds it: buckets are
/// visited from `cursor` until `count` elements were produced or `10 ×
/// count` buckets were seen (a sparse table cannot stall the server).
/// `visit` is given each entry and returns how many reply elements it
/// produced. Returns the next cursor (0 when the walk is complete).
pub fn scan_dict<K: std::hash::Hash + Eq, V>(
    d: &Dict<K, V>,
    mut cursor: u64,
    count: usize,
    mut visit: impl FnMut(&K, &V) -> usize,
) -> u64 {
    let mut produced = 0usize;
    let mut budget = count.saturating_mul(10);
    loop {
        cursor = d.scan(cursor, |k, v| produced += visit(k, v));
        if cursor == 0 || budget == 0 || produced >= count {
            return cursor;
        }
        budget -= 1;
    }
}

/// The elements of one scan reply, encoded as they are found (the table
/// walk lends each entry only for the length of a callback).
pub struct Items {
    buf: Out,
    len: usize,
}

impl Items {
    pub fn new(resp: u8) -> Items {
        Items { buf: Out::new(resp), len: 0 }
    }

    pub fn push(&mut self, e: &Entry<'_>) {
        match e {
            Entry::Str(s) => self.buf.bulk(s),
            Entry::Int(i) => self.buf.bulk_i64(*i),
        }
        self.len += 1;
    }

    /// An element that is neither bytes nor an integer (a ZSCAN score).
    pub fn push_bytes(&mut self, b: &[u8]) {
        self.buf.bulk(b);
        self.len += 1;
    }

    /// Writes `[cursor, [elements...]]`.
    pub fn reply(self, out: &mut Out, cursor: u64) {
        out.array(2);
        // The cursor is unsigned: it may not fit an i64.
        out.bulk(cursor.to_string().as_bytes());
        out.array(self.len);
        out.raw(&self.buf.buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_like_string2ull() {
        // Replies of Valkey 9.1 (Redis 7.2's parser) to HSCAN with each.
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b" 7"), Some(7));
        assert_eq!(parse_cursor(b"007"), Some(7));
        assert_eq!(parse_cursor(b"-0"), Some(0));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"-18446744073709551615"), Some(1));
        assert_eq!(parse_cursor(b"5\0junk"), Some(5));
        for bad in [&b""[..], b"-1", b"1 ", b"-", b"+", b" ", b"x", b"1x", b"0x10", b"18446744073709551616"] {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
    }

    fn args(v: &[&str]) -> Vec<Bytes> {
        v.iter().map(|s| Bytes::copy_from_slice(s.as_bytes())).collect()
    }

    #[test]
    fn options_and_their_errors() {
        let mut out = Out::new(2);
        let a = args(&["hscan", "h", "0", "MATCH", "f*", "count", "3", "NOVALUES"]);
        let o = parse_opts(&mut out, &a, 3, Target::Hash).unwrap();
        assert_eq!((o.count, o.pattern, o.novalues), (3, Some(&b"f*"[..]), true));
        let a = args(&["sscan", "s", "0", "match", "*"]);
        assert!(parse_opts(&mut out, &a, 3, Target::Set).unwrap().pattern.is_none());
        assert!(out.buf.is_empty());
        for (bad, err) in [
            (&["count", "0"][..], "-ERR syntax error\r\n"),
            (&["count", "x"], "-ERR value is not an integer or out of range\r\n"),
            (&["count"], "-ERR syntax error\r\n"),
            (&["novalues"], "-ERR NOVALUES option can only be used in HSCAN\r\n"),
            (&["type", "string"], "-ERR syntax error\r\n"),
        ] {
            let mut out = Out::new(2);
            let mut a = args(&["sscan", "s", "0"]);
            a.extend(args(bad));
            assert!(parse_opts(&mut out, &a, 3, Target::Set).is_none());
            assert_eq!(&out.buf[..], err.as_bytes());
        }
        let a = args(&["scan", "0", "type", "hash"]);
        assert_eq!(parse_opts(&mut out, &a, 2, Target::Keys).unwrap().type_name, Some(&b"hash"[..]));
    }

    #[test]
    fn dict_walk_visits_everything_once() {
        let mut d: Dict<Box<[u8]>, ()> = Dict::new();
        for i in 0..1000 {
            d.insert_new(format!("k{i}").into_bytes().into_boxed_slice(), ());
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = scan_dict(&d, cursor, 7, |k, _| {
                assert!(seen.insert(k.clone()));
                1
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
    }

    #[test]
    fn reply_shape() {
        let mut out = Out::new(3);
        let mut items = Items::new(3);
        items.push(&Entry::Str(b"a"));
        items.push(&Entry::Int(-5));
        items.reply(&mut out, 12);
        assert_eq!(&out.buf[..], b"*2\r\n$2\r\n12\r\n*2\r\n$1\r\na\r\n$2\r\n-5\r\n");
        let mut out = Out::new(2);
        empty_reply(&mut out);
        assert_eq!(&out.buf[..], b"*2\r\n$1\r\n0\r\n*0\r\n");
    }
}
