//! Small helpers shared by every command family: Redis's strict number
//! parsing and printing, glob matching and clocks.

use std::time::{SystemTime, UNIX_EPOCH};

/// Parses an integer the way Redis's `string2ll` does: optional '-', no '+',
/// no leading zeros, no spaces, must fit in an i64.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Parses a float as Redis's `string2d`/`strtod` checks do: no leading
/// space, nothing trailing, NaN refused; `inf`, `-inf`, `1e3` accepted.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s[0].is_ascii_whitespace() {
        return None;
    }
    let text = std::str::from_utf8(s).ok()?;
    let lower = text.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            if lower.contains("inf") || lower.contains("nan") {
                return None;
            }
            text.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Redis's double2ll: the integer a double stands for, when it is integral
/// and within ±LLONG_MAX/2 (where the conversion is exact).
pub fn double_to_int(s: f64) -> Option<i64> {
    const HALF: f64 = (i64::MAX / 2) as f64;
    ((-HALF..=HALF).contains(&s) && (s as i64) as f64 == s).then_some(s as i64)
}

/// A double as Redis 7.2's d2string prints it (every double reply, and
/// scores in a listpack): integers plainly, other values from their shortest
/// round-trip digits laid out as fpconv_dtoa does — plain up to 7 padding
/// zeros, a decimal point while the exponent stays small, otherwise
/// `d.ddde±X` with as few exponent digits as needed.
pub fn d2string(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    if let Some(i) = double_to_int(v) {
        return i.to_string();
    }
    // Shortest digits d[.ddd]e[-]X, so that v = digits × 10^k.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let n = digits.len() as i32;
    let k = exp.parse::<i32>().unwrap_or(0) - (n - 1);
    let e = (k + n - 1).abs();
    let mut out = String::with_capacity(n as usize + 8);
    if v < 0.0 {
        out.push('-');
    }
    if k >= 0 && e < n + 7 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', k as usize));
    } else if k < 0 && (k > -7 || e < 4) {
        let point = n + k;
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if n > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if k + n - 1 < 0 { '-' } else { '+' });
        out.push_str(&e.to_string());
    }
    out
}

/// Longest decimal form of an i64 ("-9223372036854775808").
pub const I64_DIGITS: usize = 20;

/// Writes `v` in decimal into `buf` and returns the digits.
#[inline]
pub fn fmt_i64(v: i64, buf: &mut [u8; I64_DIGITS]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Writes an i64 in decimal into `out` without allocating.
pub fn write_i64(out: &mut bytes::BytesMut, v: i64) {
    out.extend_from_slice(fmt_i64(v, &mut [0u8; I64_DIGITS]));
}

pub fn i64_to_bytes(v: i64) -> Vec<u8> {
    let mut b = bytes::BytesMut::with_capacity(20);
    write_i64(&mut b, v);
    b.to_vec()
}

/// FxHash's mixing, eight bytes at a time, for tables whose keys are fixed
/// (command names) or chosen by the server (client ids): a lookup hashes a
/// key in a multiply or two, and with no key inserted from outside, SipHash's protection against chosen
/// collisions buys nothing. (Script digests are not such keys: a client
/// picking script bodies can grind digests into one bucket.)
#[derive(Default)]
pub struct WordHasher(u64);

impl WordHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for WordHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type WordBuildHasher = std::hash::BuildHasherDefault<WordHasher>;

/// Asks the CPU to start loading the cache line holding `p`, so that a
/// later read of it does not wait for memory. Only a hint: any address is
/// fine, nothing is read.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 never faults and has no effect but on the cache.
    unsafe {
        std::arch::x86_64::_mm_prefetch(p.cast::<i8>(), std::arch::x86_64::_MM_HINT_T0)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Microseconds since the Unix epoch.
pub fn now_us() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}

/// Glob-style matching with Redis's syntax (`*`, `?`, `[a-z]`, `[^a]`, `\x`).
///
/// Iterative: only the most recent `*` is ever backtracked to, so the work
/// is bounded by pattern length × string length whatever the pattern.
pub fn glob_match(pattern: &[u8], string: &[u8], nocase: bool) -> bool {
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    // Redis's stringmatchlen never enters its loop for an empty string, so
    // only the empty pattern matches it (KEYS * lists "" by a shortcut).
    if string.is_empty() {
        return pattern.is_empty();
    }
    if nests_too_deep(pattern) {
        return false;
    }
    let (mut p, mut s) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while s < string.len() {
        if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, s));
                    continue;
                }
                b'?' => {
                    p += 1;
                    s += 1;
                    continue;
                }
                b'[' => {
                    if let Some((matched, next)) = match_class(pattern, p, string[s], nocase) {
                        if matched {
                            p = next;
                            s += 1;
                            continue;
                        }
                    }
                }
                b'\\' if p + 1 < pattern.len() => {
                    if eq(pattern[p + 1], string[s]) {
                        p += 2;
                        s += 1;
                        continue;
                    }
                }
                c => {
                    if eq(c, string[s]) {
                        p += 1;
                        s += 1;
                        continue;
                    }
                }
            }
        }
        match star {
            Some((sp, ss)) => {
                p = sp;
                s = ss + 1;
                star = Some((sp, ss + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// Redis's recursive matcher gives up past 1000 nested stars (its guard
/// against abusive patterns), so a pattern whose 1001st run of stars is
/// not at its very end never matches. This matcher needs no such limit;
/// the rule is kept for identical results.
fn nests_too_deep(pattern: &[u8]) -> bool {
    const MAX_NESTING: usize = 1000;
    let (mut p, mut runs) = (0, 0);
    while p < pattern.len() {
        match pattern[p] {
            b'*' => {
                while p < pattern.len() && pattern[p] == b'*' {
                    p += 1;
                }
                runs += 1;
                if runs > MAX_NESTING && p < pattern.len() {
                    return true;
                }
            }
            b'\\' => p += 2,
            b'[' => p = match_class(pattern, p, 0, false).map_or(pattern.len(), |(_, next)| next),
            _ => p += 1,
        }
    }
    false
}

/// Matches one byte against the class starting at `pattern[start] == '['`.
/// Returns whether it matched and the index after the class.
fn match_class(pattern: &[u8], start: usize, c: u8, nocase: bool) -> Option<(bool, usize)> {
    let fold = |x: u8| if nocase { x.to_ascii_lowercase() } else { x };
    let c = fold(c);
    let mut p = start + 1;
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut matched = false;
    loop {
        match pattern.get(p) {
            // An unterminated class runs to the end of the pattern, as in Redis.
            None => {
                p = pattern.len();
                break;
            }
            Some(b']') => {
                p += 1;
                break;
            }
            Some(b'\\') if p + 1 < pattern.len() => {
                if fold(pattern[p + 1]) == c {
                    matched = true;
                }
                p += 2;
            }
            Some(&lo) if pattern.get(p + 1) == Some(&b'-') && p + 2 < pattern.len() => {
                let hi = pattern[p + 2];
                let (lo, hi) = (fold(lo), fold(hi));
                let (lo, hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
                if c >= lo && c <= hi {
                    matched = true;
                }
                p += 3;
            }
            Some(&x) => {
                if fold(x) == c {
                    matched = true;
                }
                p += 1;
            }
        }
    }
    Some((matched != negate, p))
}

/// Case-insensitive ASCII comparison of an argument with a keyword.
#[inline]
pub fn eq_ic(arg: &[u8], kw: &str) -> bool {
    arg.eq_ignore_ascii_case(kw.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        for bad in [&b"+1"[..], b"01", b"-0", b" 1", b"1 ", b"", b"-", b"1a"] {
            assert_eq!(parse_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b" 1"), None);
        assert_eq!(d2string(10.6), "10.6");
        assert_eq!(d2string(1e20), "1e+20");
        assert_eq!(d2string(123456789.12345679), "1.2345678912345679e+8");
        assert_eq!(d2string(1.5e-7), "1.5e-7");
        assert_eq!(d2string(f64::INFINITY), "inf");
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"h\\*llo", b"h*llo", false));
        assert!(!glob_match(b"h\\*llo", b"hello", false));
        assert!(glob_match(b"*a*b*c", b"xxaxxbxxc", false));
        assert!(!glob_match(b"*a*b*c", b"xxaxxbxx", false));
        assert!(glob_match(b"HELLO", b"hello", true));
        assert!(glob_match(b"", b"", false));
        assert!(!glob_match(b"*", b"", false));
        assert!(glob_match(b"a*", b"a", false));
        // Redis's nesting limit: the 1001st run of stars must end the pattern.
        let s = [vec![b'a'; 3000], b"b".to_vec()].concat();
        assert!(glob_match(&[b"a*".repeat(1000), b"b".to_vec()].concat(), &s, false));
        assert!(!glob_match(&[b"a*".repeat(1001), b"b".to_vec()].concat(), &s, false));
        assert!(glob_match(&b"a*".repeat(1001), &s, false));
        assert!(glob_match(&[b"a\\*".repeat(1001), b"*".to_vec()].concat(), &b"a*".repeat(1001), false));
        // 5000 runs of stars are past Redis's limit: no match, and no stall.
        let long_pat = b"a*".repeat(5000);
        let s = vec![b'a'; 10000];
        assert!(!glob_match(&long_pat, &s, false));
        assert!(!glob_match(&[b"*".as_slice(), &[b'a'; 2000], b"c"].concat(), &s, false));
        let mut s2 = s.clone();
        s2.push(b'b');
        assert!(!glob_match(&[long_pat.as_slice(), b"c"].concat(), &s2, false));
    }
}
