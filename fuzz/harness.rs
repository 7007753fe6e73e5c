//! What the fuzz targets check, shared with `tests/fuzz_regressions.rs`,
//! which replays the committed seeds and past crashes through the same code
//! on the stable toolchain.
//!
//! Each `*_case` takes arbitrary bytes and panics only when oxkey is wrong:
//! a panic inside oxkey, or a result that breaks one of the properties below.

#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use oxkey::protocol::decode::{split_args, INLINE_MAX};
use oxkey::protocol::{DecodeError, Decoder, Limits};
use oxkey::util::glob_match;

/// A small deterministic generator, so that a few control bytes of the
/// input choose many split points.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Decodes `input` fed in pieces of the given sizes, as a connection would
/// receive it. Returns the requests and the protocol error, if any (after
/// which the server closes the connection, so decoding stops).
fn decode_in_pieces(
    input: &[u8],
    sizes: &mut dyn FnMut() -> usize,
    limits: Limits,
) -> (Vec<Vec<Bytes>>, Option<DecodeError>) {
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::new();
    let mut requests = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let (piece, tail) = rest.split_at(sizes().clamp(1, rest.len()));
        rest = tail;
        buf.extend_from_slice(piece);
        loop {
            match decoder.decode(&mut buf, limits) {
                Ok(Some(args)) => {
                    assert!(!args.is_empty(), "decoder returned an empty request");
                    requests.push(args);
                }
                Ok(None) => break,
                Err(e) => return (requests, Some(e)),
            }
        }
    }
    (requests, None)
}

/// The size checks on lines without CRLF depend on how much has arrived.
fn depends_on_splits(e: &Option<DecodeError>) -> bool {
    e.as_ref().is_some_and(|e| e.0.contains("too big"))
}

/// The RESP / inline decoder on arbitrary bytes: never panics, never returns
/// an empty request, and the bytes mean the same requests however they are
/// split into reads (except for the "too big" limits on unterminated lines,
/// which apply to what has arrived so far).
///
/// Input layout: byte 0 picks the limits, bytes 1-4 seed the split sizes,
/// the rest is the stream. Bit 4 of byte 0 stretches the stream past 64 KiB,
/// repeating its byte number (byte 1 modulo its length), so that the inline
/// and header size limits are reached.
pub fn decoder_case(data: &[u8]) {
    if data.len() < 5 {
        return;
    }
    let (ctl, stream) = data.split_at(5);
    const BULK_LIMITS: [i64; 8] = [1, 3, 16, 1024, 16 * 1024, 64 * 1024, 1024 * 1024, 512 * 1024 * 1024];
    let limits = Limits { max_bulk_len: BULK_LIMITS[(ctl[0] & 7) as usize], authenticated: ctl[0] & 8 == 0 };
    let long;
    let stream = if ctl[0] & 16 != 0 && !stream.is_empty() {
        let at = ctl[1] as usize % stream.len();
        long = [&stream[..at], &vec![stream[at]; INLINE_MAX + 1], &stream[at..]].concat();
        &long[..]
    } else {
        stream
    };
    let mut rng = Rng(u64::from(u32::from_le_bytes([ctl[1], ctl[2], ctl[3], ctl[4]])) | 1);
    // Mostly small reads, sometimes large ones (small ones are larger for the
    // long streams, or a run would take long).
    let small = if stream.len() > INLINE_MAX { 4096 } else { 16 };
    let mut sizes = || match rng.next() % 8 {
        0 => 1 + (rng.next() % 70_000) as usize,
        _ => 1 + (rng.next() % small) as usize,
    };
    let (split, split_err) = decode_in_pieces(stream, &mut sizes, limits);
    let (whole, whole_err) = decode_in_pieces(stream, &mut || usize::MAX, limits);

    let common = split.len().min(whole.len());
    assert_eq!(split[..common], whole[..common], "requests differ with the split points");
    if !depends_on_splits(&split_err) && !depends_on_splits(&whole_err) {
        assert_eq!(split_err, whole_err, "errors differ with the split points");
        assert_eq!(split.len(), whole.len(), "request count differs with the split points");
    }
}

/// `split_args`, the inline-command splitter, on arbitrary lines: never
/// panics; what it returns, written back with quotes and `\xHH` escapes,
/// splits to the same arguments; and it agrees with a transcription of
/// Redis's `sdssplitargs` on lines without the bytes where the two are known
/// to differ (see fuzz/README.md).
pub fn split_args_case(line: &[u8]) {
    let Some(args) = split_args(line) else {
        if !has_known_split_difference(line) {
            assert_eq!(sdssplitargs(line), None, "oxkey refuses a line Redis accepts");
        }
        return;
    };
    let quoted: Vec<String> =
        args.iter().map(|a| format!("\"{}\"", a.iter().map(|b| format!("\\x{b:02x}")).collect::<String>())).collect();
    assert_eq!(split_args(quoted.join(" ").as_bytes()), Some(args.clone()), "quoted arguments split differently");
    if !has_known_split_difference(line) {
        assert_eq!(sdssplitargs(line), Some(args), "oxkey splits differently from Redis");
    }
}

/// NUL ends a C string, and C's isspace() counts \v and \f as blanks while
/// sdssplitargs ends an unquoted token only at ' ', \t, \r, \n.
fn has_known_split_difference(line: &[u8]) -> bool {
    line.iter().any(|&b| b == 0 || b == 0x0b || b == 0x0c)
}

/// Redis's sds.c `sdssplitargs`, transcribed byte for byte (the line is a
/// C string: reading past its end gives NUL).
fn sdssplitargs(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let isspace = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut p = 0;
    let mut out = Vec::new();
    loop {
        while at(p) != 0 && isspace(at(p)) {
            p += 1;
        }
        if at(p) == 0 {
            return Some(out);
        }
        let (mut inq, mut insq, mut done) = (false, false, false);
        let mut current = Vec::new();
        while !done {
            let c = at(p);
            if inq {
                if c == b'\\' && at(p + 1) == b'x' && hex(at(p + 2)).is_some() && hex(at(p + 3)).is_some() {
                    current.push(hex(at(p + 2))? * 16 + hex(at(p + 3))?);
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    current.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !isspace(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else if insq {
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    current.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !isspace(at(p + 1)) {
                        return None;
                    }
                    done = true;
                } else if c == 0 {
                    return None;
                } else {
                    current.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    _ => current.push(c),
                }
            }
            if at(p) != 0 {
                p += 1;
            }
        }
        out.push(current);
    }
}

/// `glob_match` on an arbitrary pattern and string: never panics, and gives
/// the same answer as a transcription of Redis's `stringmatchlen`.
///
/// Input layout: byte 0 bit 0 = nocase; the pattern and the string are the
/// rest, split at the first 0xff byte (or in the middle if none).
pub fn glob_case(data: &[u8]) {
    let Some((&flags, rest)) = data.split_first() else { return };
    let nocase = flags & 1 == 1;
    let cut = rest.iter().position(|&b| b == 0xff);
    let (pattern, string) = match cut {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => rest.split_at(rest.len() / 2),
    };
    let got = glob_match(pattern, string, nocase);
    // The transcription recurses once per star; keep it shallow.
    if pattern.iter().filter(|&&b| b == b'*').count() <= 64 && !has_known_glob_difference(pattern, nocase) {
        assert_eq!(got, stringmatchlen(pattern, string, nocase), "glob_match differs from Redis's stringmatchlen");
    }
    if !string.is_empty() {
        let escaped: Vec<u8> = string.iter().flat_map(|&b| [b'\\', b]).collect();
        assert!(glob_match(&escaped, string, nocase), "an escaped string does not match itself");
        assert!(glob_match(b"*", string, nocase), "* does not match a non-empty string");
    }
}

/// Where oxkey's classes are known to differ from Redis's (fuzz/README.md):
/// Redis compares range ends as C's signed chars (bytes >= 0x80 are
/// negative), and with nocase it orders a range's ends before folding them
/// and compares an escaped class member without folding.
fn has_known_glob_difference(pattern: &[u8], nocase: bool) -> bool {
    pattern.iter().any(|&b| b >= 0x80) || (nocase && pattern.contains(&b'['))
}

/// Redis 7.2's util.c `stringmatchlen` (with `skipLongerMatches` and the
/// nesting limit), transcribed. The pattern is a C string, so reading past
/// its end gives NUL; C's `char` is signed here, which matters for ranges.
fn stringmatchlen(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    stringmatch_impl(pattern, string, nocase, &mut skip_longer, 0)
}

fn stringmatch_impl(pattern: &[u8], string: &[u8], nocase: bool, skip_longer: &mut bool, nesting: usize) -> bool {
    if nesting > 1000 {
        return false;
    }
    let lower = |c: u8| if nocase { c.to_ascii_lowercase() } else { c };
    let signed = |c: u8| c as i8 as i32;
    let (mut p, mut s) = (0usize, 0usize);
    let at = |i: usize| pattern.get(i).copied().unwrap_or(0);
    while p < pattern.len() && s < string.len() {
        match pattern[p] {
            b'*' => {
                while p < pattern.len() && at(p + 1) == b'*' {
                    p += 1;
                }
                if pattern.len() - p == 1 {
                    return true;
                }
                while s < string.len() {
                    if stringmatch_impl(&pattern[p + 1..], &string[s..], nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s += 1;
                }
                *skip_longer = true;
                return false;
            }
            b'?' => s += 1,
            b'[' => {
                p += 1;
                let not = at(p) == b'^';
                if not {
                    p += 1;
                }
                let mut matched = false;
                loop {
                    let left = pattern.len().saturating_sub(p);
                    if at(p) == b'\\' && left >= 2 {
                        p += 1;
                        if at(p) == string[s] {
                            matched = true;
                        }
                    } else if at(p) == b']' && left > 0 {
                        break;
                    } else if left == 0 {
                        p -= 1;
                        break;
                    } else if left >= 3 && at(p + 1) == b'-' {
                        let (mut start, mut end) = (signed(at(p)), signed(at(p + 2)));
                        let mut c = signed(string[s]);
                        if start > end {
                            std::mem::swap(&mut start, &mut end);
                        }
                        if nocase {
                            // tolower() leaves negative chars alone.
                            let fold =
                                |x: i32| if (0..128).contains(&x) { (x as u8).to_ascii_lowercase() as i32 } else { x };
                            start = fold(start);
                            end = fold(end);
                            c = fold(c);
                        }
                        p += 2;
                        if c >= start && c <= end {
                            matched = true;
                        }
                    } else if lower(at(p)) == lower(string[s]) {
                        matched = true;
                    }
                    p += 1;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s += 1;
            }
            c => {
                let c = if c == b'\\' && pattern.len() - p >= 2 {
                    p += 1;
                    pattern[p]
                } else {
                    c
                };
                if lower(c) != lower(string[s]) {
                    return false;
                }
                s += 1;
            }
        }
        p += 1;
        if s == string.len() {
            while at(p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p >= pattern.len() && s == string.len()
}

/// The targets by the name of their corpus directory.
pub fn run_case(target: &str, data: &[u8]) {
    match target {
        "decoder" => decoder_case(data),
        "split_args" => split_args_case(data),
        "glob" => glob_case(data),
        other => panic!("unknown fuzz target {other}"),
    }
}
