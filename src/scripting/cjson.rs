//! The `cjson` library of Redis's scripts (lua-cjson 2.1.0 as Redis builds
//! it): encode and decode with its number format (`%.14g`), sparse-array
//! rules, `cjson.null`, nesting limits, its tokenizer's error texts, and
//! the configuration functions (whose settings, as in Redis, last for the
//! interpreter's life).

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use super::capi::{arg_error, check_bytes, error, fmt_g, push_bytes, push_state, register, state, to_bytes, CFn};

struct Config {
    sparse_convert: i32,
    sparse_ratio: i32,
    sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    /// 0 off, 1 on, 2 null.
    encode_invalid_numbers: i32,
    decode_invalid_numbers: i32,
    keep_buffer: i32,
    precision: i32,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            sparse_convert: 0,
            sparse_ratio: 2,
            sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: 1,
            keep_buffer: 1,
            precision: 14,
        }
    }
}

#[derive(Default)]
struct State {
    cfg: Config,
    /// The encoding buffer and the decoder's string buffer: kept here so
    /// that an error raised midway leaks nothing.
    buf: Vec<u8>,
    tmp: Vec<u8>,
}

// ---------------------------------------------------------------- encode

unsafe fn encode_error(l: *mut lua_State, idx: c_int, reason: &str) -> ! {
    let tname = std::ffi::CStr::from_ptr(ffi::lua_typename(l, ffi::lua_type(l, idx)));
    error(l, format!("Cannot serialise {}: {reason}", tname.to_string_lossy()))
}

fn append_string(buf: &mut Vec<u8>, s: &[u8]) {
    buf.reserve(s.len() + 2);
    buf.push(b'"');
    for &c in s {
        match c {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'/' => buf.extend_from_slice(b"\\/"),
            8 => buf.extend_from_slice(b"\\b"),
            9 => buf.extend_from_slice(b"\\t"),
            10 => buf.extend_from_slice(b"\\n"),
            12 => buf.extend_from_slice(b"\\f"),
            13 => buf.extend_from_slice(b"\\r"),
            0..=31 | 127 => buf.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            _ => buf.push(c),
        }
    }
    buf.push(b'"');
}

unsafe fn append_number(l: *mut lua_State, cfg: &Config, buf: &mut Vec<u8>, idx: c_int) {
    let n = ffi::lua_tonumber(l, idx);
    let invalid = n.is_nan() || n.is_infinite();
    match cfg.encode_invalid_numbers {
        0 if invalid => encode_error(l, idx, "must not be NaN or Inf"),
        1 if n.is_nan() => buf.extend_from_slice(b"nan"),
        2 if invalid => buf.extend_from_slice(b"null"),
        _ => buf.extend_from_slice(fmt_g(n, cfg.precision as usize).as_bytes()),
    }
}

/// C's (int) conversion of a double on x86: out of range is INT_MIN.
fn c_int_of(k: f64) -> i32 {
    if k > -2147483649.0 && k < 2147483648.0 {
        k as i32
    } else {
        i32::MIN
    }
}

/// The length of the table on top if it is an array (keys 1..max with the
/// sparse rules), or None for an object (lua_array_length).
unsafe fn array_length(l: *mut lua_State, cfg: &Config) -> Option<i32> {
    let (mut max, mut items) = (0i32, 0i32);
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        let k = ffi::lua_tonumber(l, -2);
        if ffi::lua_type(l, -2) == ffi::LUA_TNUMBER && k != 0.0 && k.floor() == k && k >= 1.0 {
            if k > max as f64 {
                max = c_int_of(k);
            }
            items = items.wrapping_add(1);
            ffi::lua_settop(l, -2);
            continue;
        }
        ffi::lua_settop(l, -3);
        return None;
    }
    if cfg.sparse_ratio > 0 && max as i64 > items as i64 * cfg.sparse_ratio as i64 && max > cfg.sparse_safe {
        if cfg.sparse_convert == 0 {
            encode_error(l, -1, "excessively sparse array");
        }
        return None;
    }
    Some(max)
}

/// Appends the value on top (json_append_data).
unsafe fn append_data(l: *mut lua_State, cfg: &Config, buf: &mut Vec<u8>, depth: i32) {
    match ffi::lua_type(l, -1) {
        ffi::LUA_TSTRING => append_string(buf, to_bytes(l, -1).unwrap_or_default()),
        ffi::LUA_TNUMBER => append_number(l, cfg, buf, -1),
        ffi::LUA_TBOOLEAN => buf.extend_from_slice(if ffi::lua_toboolean(l, -1) != 0 { b"true" } else { b"false" }),
        ffi::LUA_TTABLE => {
            let depth = depth + 1;
            if depth > cfg.encode_max_depth || ffi::lua_checkstack(l, 3) == 0 {
                error(l, format!("Cannot serialise, excessive nesting ({depth})"));
            }
            match array_length(l, cfg) {
                Some(len) if len > 0 => {
                    buf.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            buf.push(b',');
                        }
                        ffi::lua_rawgeti_(l, -1, i);
                        append_data(l, cfg, buf, depth);
                        ffi::lua_settop(l, -2);
                    }
                    buf.push(b']');
                }
                _ => {
                    buf.push(b'{');
                    let mut comma = false;
                    ffi::lua_pushnil(l);
                    while ffi::lua_next(l, -2) != 0 {
                        if comma {
                            buf.push(b',');
                        }
                        comma = true;
                        match ffi::lua_type(l, -2) {
                            ffi::LUA_TNUMBER => {
                                buf.push(b'"');
                                append_number(l, cfg, buf, -2);
                                buf.extend_from_slice(b"\":");
                            }
                            ffi::LUA_TSTRING => {
                                append_string(buf, to_bytes(l, -2).unwrap_or_default());
                                buf.push(b':');
                            }
                            _ => encode_error(l, -2, "table key must be a number or string"),
                        }
                        append_data(l, cfg, buf, depth);
                        ffi::lua_settop(l, -2);
                    }
                    buf.push(b'}');
                }
            }
        }
        ffi::LUA_TNIL => buf.extend_from_slice(b"null"),
        ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(l, -1).is_null() => buf.extend_from_slice(b"null"),
        _ => encode_error(l, -1, "type not supported"),
    }
}

unsafe extern "C-unwind" fn encode(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 {
        arg_error(l, 1, "expected 1 argument".into());
    }
    let st = state::<State>(l);
    st.buf.clear();
    append_data(l, &st.cfg, &mut st.buf, 0);
    push_bytes(l, &st.buf);
    if st.cfg.keep_buffer == 0 {
        st.buf = Vec::new();
    }
    1
}

// ---------------------------------------------------------------- decode

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    depth: i32,
    max_depth: i32,
    invalid_numbers: bool,
    /// The last string token's bytes.
    tmp: &'a mut Vec<u8>,
}

impl Parser<'_> {
    /// The byte at `i`; past the end is the C string's NUL.
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn starts(&self, lit: &[u8]) -> bool {
        self.data.get(self.pos..self.pos + lit.len()) == Some(lit)
    }

    fn starts_nocase(&self, p: usize, lit: &[u8]) -> bool {
        self.data.get(p..p + lit.len()).is_some_and(|s| s.eq_ignore_ascii_case(lit))
    }

    /// json_is_invalid_number.
    fn invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return c2 | 0x20 == b'x' || c2.is_ascii_digit();
        }
        if c <= b'9' {
            return false;
        }
        self.starts_nocase(p, b"inf") || self.starts_nocase(p, b"nan")
    }

    fn number(&mut self) -> Tok {
        match strtod(&self.data[self.pos..]) {
            Some((v, len)) => {
                self.pos += len;
                Tok::Num(v)
            }
            None => Tok::Error("invalid number"),
        }
    }

    /// The next token and where it starts (json_next_token).
    fn next(&mut self) -> (Tok, usize) {
        while matches!(self.at(self.pos), b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
        let start = self.pos;
        let c = self.at(self.pos);
        let single = match c {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b':' => Some(Tok::Colon),
            b',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(t) = single {
            self.pos += 1;
            return (t, start);
        }
        let tok = match c {
            0 => return (Tok::End, start),
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => {
                if !self.invalid_numbers && self.invalid_number() {
                    Tok::Error("invalid number")
                } else {
                    self.number()
                }
            }
            b't' | b'f' | b'n' | b'i' | b'I' | b'N' | b'+' => {
                if self.starts(b"true") {
                    self.pos += 4;
                    Tok::Bool(true)
                } else if self.starts(b"false") {
                    self.pos += 5;
                    Tok::Bool(false)
                } else if self.starts(b"null") {
                    self.pos += 4;
                    Tok::Null
                } else if self.invalid_numbers && self.invalid_number() {
                    self.number()
                } else {
                    Tok::Error("invalid token")
                }
            }
            _ => Tok::Error("invalid token"),
        };
        // An error token is reported where the parser stopped.
        match tok {
            Tok::Error(_) => (tok, self.pos),
            _ => (tok, start),
        }
    }

    /// A string token into `tmp` (json_parse_string).
    fn string(&mut self) -> Tok {
        self.pos += 1;
        self.tmp.clear();
        loop {
            let c = self.at(self.pos);
            match c {
                b'"' => break,
                0 => return Tok::Error("unexpected end of string"),
                b'\\' => {
                    let e = match self.at(self.pos + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b't' => 9,
                        b'n' => 10,
                        b'f' => 12,
                        b'r' => 13,
                        b'u' => {
                            if self.unicode_escape() {
                                continue;
                            }
                            return Tok::Error("invalid unicode escape code");
                        }
                        _ => return Tok::Error("invalid escape code"),
                    };
                    self.tmp.push(e);
                    self.pos += 2;
                }
                _ => {
                    self.tmp.push(c);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        Tok::Str
    }

    fn hex4(&self, p: usize) -> Option<u32> {
        let mut v = 0;
        for i in 0..4 {
            v = (v << 4) | (self.at(p + i) as char).to_digit(16)?;
        }
        Some(v)
    }

    /// `\uXXXX` (or a surrogate pair) at pos, as UTF-8 into tmp.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else { return false };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 || self.at(self.pos + 6) != b'\\' || self.at(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else { return false };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut utf8 = [0u8; 4];
        let n = match cp {
            0..=0x7F => {
                utf8[0] = cp as u8;
                1
            }
            0x80..=0x7FF => {
                utf8[0] = 0xC0 | (cp >> 6) as u8;
                utf8[1] = 0x80 | (cp & 0x3F) as u8;
                2
            }
            0x800..=0xFFFF => {
                utf8[0] = 0xE0 | (cp >> 12) as u8;
                utf8[1] = 0x80 | ((cp >> 6) & 0x3F) as u8;
                utf8[2] = 0x80 | (cp & 0x3F) as u8;
                3
            }
            _ => {
                utf8[0] = 0xF0 | (cp >> 18) as u8;
                utf8[1] = 0x80 | ((cp >> 12) & 0x3F) as u8;
                utf8[2] = 0x80 | ((cp >> 6) & 0x3F) as u8;
                utf8[3] = 0x80 | (cp & 0x3F) as u8;
                4
            }
        };
        self.tmp.extend_from_slice(&utf8[..n]);
        self.pos += len;
        true
    }
}

/// What ends a decode: a parse error or too deep a nesting.
enum Fail {
    Expected(&'static str, Tok, usize),
    Nested(i32, usize),
}

unsafe fn descend(l: *mut lua_State, p: &mut Parser, slots: c_int) -> Result<(), Fail> {
    p.depth += 1;
    if p.depth <= p.max_depth && ffi::lua_checkstack(l, slots) != 0 {
        Ok(())
    } else {
        Err(Fail::Nested(p.depth, p.pos))
    }
}

/// Pushes the value starting with `tok` (json_process_value).
unsafe fn value(l: *mut lua_State, p: &mut Parser, tok: (Tok, usize)) -> Result<(), Fail> {
    match tok.0 {
        Tok::Str => push_bytes(l, p.tmp),
        Tok::Num(n) => ffi::lua_pushnumber(l, n),
        Tok::Bool(b) => ffi::lua_pushboolean(l, b as c_int),
        Tok::Null => ffi::lua_pushlightuserdata(l, std::ptr::null_mut()),
        Tok::ObjBegin => {
            descend(l, p, 3)?;
            ffi::lua_createtable(l, 0, 0);
            let mut t = p.next();
            if t.0 != Tok::ObjEnd {
                loop {
                    if t.0 != Tok::Str {
                        return Err(Fail::Expected("object key string", t.0, t.1));
                    }
                    push_bytes(l, p.tmp);
                    let c = p.next();
                    if c.0 != Tok::Colon {
                        return Err(Fail::Expected("colon", c.0, c.1));
                    }
                    let v = p.next();
                    value(l, p, v)?;
                    ffi::lua_rawset(l, -3);
                    t = p.next();
                    if t.0 == Tok::ObjEnd {
                        break;
                    }
                    if t.0 != Tok::Comma {
                        return Err(Fail::Expected("comma or object end", t.0, t.1));
                    }
                    t = p.next();
                }
            }
            p.depth -= 1;
        }
        Tok::ArrBegin => {
            descend(l, p, 2)?;
            ffi::lua_createtable(l, 0, 0);
            let mut t = p.next();
            if t.0 != Tok::ArrEnd {
                let mut i: c_int = 1;
                loop {
                    value(l, p, t)?;
                    ffi::lua_rawseti_(l, -2, i);
                    i = i.wrapping_add(1);
                    t = p.next();
                    if t.0 == Tok::ArrEnd {
                        break;
                    }
                    if t.0 != Tok::Comma {
                        return Err(Fail::Expected("comma or array end", t.0, t.1));
                    }
                    t = p.next();
                }
            }
            p.depth -= 1;
        }
        other => return Err(Fail::Expected("value", other, tok.1)),
    }
    Ok(())
}

unsafe extern "C-unwind" fn decode(l: *mut lua_State) -> c_int {
    if ffi::lua_gettop(l) != 1 {
        arg_error(l, 1, "expected 1 argument".into());
    }
    let data = check_bytes(l, 1);
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        error(l, "JSON parser does not support UTF-16 or UTF-32".into());
    }
    let st = state::<State>(l);
    let mut p = Parser {
        data,
        pos: 0,
        depth: 0,
        max_depth: st.cfg.decode_max_depth,
        invalid_numbers: st.cfg.decode_invalid_numbers != 0,
        tmp: &mut st.tmp,
    };
    let t = p.next();
    let mut outcome = value(l, &mut p, t);
    if outcome.is_ok() {
        let t = p.next();
        if t.0 != Tok::End {
            outcome = Err(Fail::Expected("the end", t.0, t.1));
        }
    }
    let shrink = p.tmp.capacity() > 1 << 16;
    if shrink {
        *p.tmp = Vec::new();
    }
    match outcome {
        Ok(()) => 1,
        Err(Fail::Expected(exp, tok, at)) => {
            error(l, format!("Expected {exp} but found {} at character {}", tok.name(), at + 1))
        }
        Err(Fail::Nested(depth, at)) => {
            error(l, format!("Found too many nested data structures ({depth}) at character {at}"))
        }
    }
}

/// C's strtod on the start of `s`: the value and the bytes it used, or
/// None when no number starts there. Decimal, hexadecimal (`0x1p4`),
/// `inf`/`infinity` and `nan`/`nan(...)`, with an optional sign.
pub fn strtod(s: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    let neg = match at(0) {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let sign = |v: f64| if neg { -v } else { v };
    let rest = &s[i.min(s.len())..];
    let nocase = |lit: &[u8]| rest.len() >= lit.len() && rest[..lit.len()].eq_ignore_ascii_case(lit);
    if nocase(b"infinity") {
        return Some((sign(f64::INFINITY), i + 8));
    }
    if nocase(b"inf") {
        return Some((sign(f64::INFINITY), i + 3));
    }
    if nocase(b"nan") {
        let mut end = i + 3;
        if at(end) == b'(' {
            let mut j = end + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                end = j + 1;
            }
        }
        return Some((sign(f64::NAN), end));
    }
    if at(i) == b'0' && at(i + 1) | 0x20 == b'x' {
        if let Some((v, len)) = hex_float(&s[i + 2..]) {
            return Some((sign(v), i + 2 + len));
        }
    }
    let start = i;
    let mut digits = 0;
    while at(i).is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if at(i) == b'.' {
        i += 1;
        while at(i).is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if at(i) | 0x20 == b'e' {
        let mut j = i + 1;
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            while at(j).is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let text = std::str::from_utf8(&s[start..i]).ok()?;
    let text = if text.starts_with('.') { format!("0{text}") } else { text.to_string() };
    let v: f64 = text.parse().ok()?;
    Some((sign(v), i))
}

/// The digits of a hexadecimal float after `0x`: None without any digit.
fn hex_float(s: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let (mut mant, mut exp, mut digits, mut i) = (0u64, 0i64, 0, 0);
    let mut add = |d: u32, frac: bool, exp: &mut i64| {
        if mant >> 60 == 0 {
            mant = (mant << 4) | d as u64;
            if frac {
                *exp -= 4;
            }
        } else if !frac {
            *exp += 4;
        }
    };
    while let Some(d) = (at(i) as char).to_digit(16) {
        add(d, false, &mut exp);
        i += 1;
        digits += 1;
    }
    if at(i) == b'.' {
        let mut j = i + 1;
        let mut frac_digits = 0;
        while let Some(d) = (at(j) as char).to_digit(16) {
            add(d, true, &mut exp);
            j += 1;
            frac_digits += 1;
        }
        if digits + frac_digits > 0 {
            i = j;
            digits += frac_digits;
        }
    }
    if digits == 0 {
        return None;
    }
    if at(i) | 0x20 == b'p' {
        let mut j = i + 1;
        let neg = at(j) == b'-';
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            let mut e: i64 = 0;
            while at(j).is_ascii_digit() {
                e = (e * 10 + (at(j) - b'0') as i64).min(100_000);
                j += 1;
            }
            exp += if neg { -e } else { e };
            i = j;
        }
    }
    Some(((mant as f64) * 2f64.powi(exp.clamp(-2000, 2000) as i32), i))
}

// --------------------------------------------------------- configuration

/// json_arg_init: at most `args` arguments, missing ones as nil.
unsafe fn arg_init<'a>(l: *mut lua_State, args: c_int) -> &'a mut Config {
    if ffi::lua_gettop(l) > args {
        arg_error(l, args + 1, "found too many arguments".into());
    }
    while ffi::lua_gettop(l) < args {
        ffi::lua_pushnil(l);
    }
    &mut state::<State>(l).cfg
}

unsafe fn integer_option(l: *mut lua_State, idx: c_int, setting: &mut i32, min: i32, max: i32) -> c_int {
    if ffi::lua_type(l, idx) != ffi::LUA_TNIL {
        let v = ffi::luaL_checkinteger(l, idx) as i32;
        if v < min || v > max {
            arg_error(l, 1, format!("expected integer between {min} and {max}"));
        }
        *setting = v;
    }
    ffi::lua_pushinteger(l, *setting as ffi::lua_Integer);
    1
}

/// json_enum_option: a boolean or one of `options` (index = setting).
unsafe fn enum_option(l: *mut lua_State, idx: c_int, setting: &mut i32, options: &[&std::ffi::CStr]) -> c_int {
    if ffi::lua_type(l, idx) != ffi::LUA_TNIL {
        if ffi::lua_type(l, idx) == ffi::LUA_TBOOLEAN {
            *setting = ffi::lua_toboolean(l, idx);
        } else {
            let mut list = [std::ptr::null(); 4];
            for (d, o) in list.iter_mut().zip(options) {
                *d = o.as_ptr();
            }
            *setting = ffi::luaL_checkoption(l, idx, std::ptr::null(), list.as_ptr());
        }
    }
    if *setting == 0 || *setting == 1 {
        ffi::lua_pushboolean(l, *setting);
    } else {
        ffi::lua_pushstring_(l, options[(*setting as usize).min(options.len() - 1)].as_ptr());
    }
    1
}

const ON_OFF: &[&std::ffi::CStr] = &[c"off", c"on"];

unsafe extern "C-unwind" fn encode_sparse_array(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 3);
    enum_option(l, 1, &mut cfg.sparse_convert, ON_OFF);
    integer_option(l, 2, &mut cfg.sparse_ratio, 0, i32::MAX);
    integer_option(l, 3, &mut cfg.sparse_safe, 0, i32::MAX);
    3
}

unsafe extern "C-unwind" fn encode_max_depth(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.encode_max_depth, 1, i32::MAX)
}

unsafe extern "C-unwind" fn decode_max_depth(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.decode_max_depth, 1, i32::MAX)
}

unsafe extern "C-unwind" fn encode_number_precision(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    integer_option(l, 1, &mut cfg.precision, 1, 14)
}

unsafe extern "C-unwind" fn encode_keep_buffer(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    enum_option(l, 1, &mut cfg.keep_buffer, ON_OFF)
}

unsafe extern "C-unwind" fn encode_invalid_numbers(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    enum_option(l, 1, &mut cfg.encode_invalid_numbers, &[c"off", c"on", c"null"])
}

unsafe extern "C-unwind" fn decode_invalid_numbers(l: *mut lua_State) -> c_int {
    let cfg = arg_init(l, 1);
    enum_option(l, 1, &mut cfg.decode_invalid_numbers, ON_OFF)
}

/// cjson.new(): another instance with its own configuration.
unsafe extern "C-unwind" fn new(l: *mut lua_State) -> c_int {
    open(l)
}

const FUNCTIONS: &[(&std::ffi::CStr, CFn)] = &[
    (c"encode", encode),
    (c"decode", decode),
    (c"encode_sparse_array", encode_sparse_array),
    (c"encode_max_depth", encode_max_depth),
    (c"decode_max_depth", decode_max_depth),
    (c"encode_number_precision", encode_number_precision),
    (c"encode_keep_buffer", encode_keep_buffer),
    (c"encode_invalid_numbers", encode_invalid_numbers),
    (c"decode_invalid_numbers", decode_invalid_numbers),
    (c"new", new),
];

/// Returns the library table.
pub unsafe extern "C-unwind" fn open(l: *mut lua_State) -> c_int {
    push_state::<State>(l);
    ffi::lua_createtable(l, 0, FUNCTIONS.len() as c_int + 3);
    register(l, FUNCTIONS, true);
    ffi::lua_pushlightuserdata(l, std::ptr::null_mut());
    ffi::lua_setfield(l, -2, c"null".as_ptr());
    ffi::lua_pushstring_(l, c"cjson".as_ptr());
    ffi::lua_setfield(l, -2, c"_NAME".as_ptr());
    ffi::lua_pushstring_(l, c"2.1.0".as_ptr());
    ffi::lua_setfield(l, -2, c"_VERSION".as_ptr());
    1
}

#[cfg(test)]
mod tests {
    use super::strtod;

    #[test]
    fn strtod_prefixes() {
        assert_eq!(strtod(b"12abc"), Some((12.0, 2)));
        assert_eq!(strtod(b"-1.5e3,"), Some((-1500.0, 6)));
        assert_eq!(strtod(b"1e"), Some((1.0, 1)));
        assert_eq!(strtod(b"0x10]"), Some((16.0, 4)));
        assert_eq!(strtod(b"0x"), Some((0.0, 1)));
        assert_eq!(strtod(b"0x1p4"), Some((16.0, 5)));
        assert_eq!(strtod(b"Infinity"), Some((f64::INFINITY, 8)));
        assert_eq!(strtod(b"-inf"), Some((f64::NEG_INFINITY, 4)));
        assert!(strtod(b"nan(x1)").is_some_and(|(v, n)| v.is_nan() && n == 7));
        assert_eq!(strtod(b".5"), Some((0.5, 2)));
        assert_eq!(strtod(b"-"), None);
        assert_eq!(strtod(b"-x"), None);
    }
}
