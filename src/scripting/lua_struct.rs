//! The `struct` library of Redis's scripts (Roberto Ierusalimschy's
//! struct.c as Redis ships it): pack, unpack and size with the formats
//! `< > ! [n] x b B h H l L T i[n] I[n] c[n] s f d` and spaces; native
//! order little-endian, `int` 4 bytes, `long` and `size_t` 8.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use super::capi::{arg_error, check_bytes, error, push_bytes, push_state, register, state, CFn};

const MAXINTSIZE: usize = 32;
const MAXALIGN: usize = 8;

#[derive(Clone, Copy, PartialEq)]
enum Endian {
    Big,
    Little,
}

struct Header {
    endian: Endian,
    align: usize,
}

impl Header {
    fn new() -> Header {
        Header { endian: Endian::Little, align: 1 }
    }
}

/// The format string, read up to its first NUL as C does.
struct Fmt<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Fmt<'_> {
    fn next(&mut self) -> Option<u8> {
        let c = *self.s.get(self.pos)?;
        if c == 0 {
            return None;
        }
        self.pos += 1;
        Some(c)
    }

    fn peek_digit(&self) -> bool {
        self.s.get(self.pos).is_some_and(|c| c.is_ascii_digit())
    }
}

/// An optional decimal count after an option (getnum).
unsafe fn getnum(l: *mut lua_State, f: &mut Fmt, df: usize) -> usize {
    if !f.peek_digit() {
        return df;
    }
    let mut a: i32 = 0;
    while f.peek_digit() {
        let d = (f.s[f.pos] - b'0') as i32;
        if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
            error(l, "integral size overflow".into());
        }
        a = a * 10 + d;
        f.pos += 1;
    }
    a as usize
}

unsafe fn optsize(l: *mut lua_State, opt: u8, f: &mut Fmt) -> usize {
    match opt {
        b'B' | b'b' | b'x' => 1,
        b'H' | b'h' => 2,
        b'L' | b'l' | b'T' | b'd' => 8,
        b'f' => 4,
        b'c' => getnum(l, f, 1),
        b'i' | b'I' => {
            let sz = getnum(l, f, 4);
            if sz > MAXINTSIZE {
                error(l, format!("integral size {sz} is larger than limit of {MAXINTSIZE}"));
            }
            sz
        }
        _ => 0,
    }
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size - (len & (size - 1))) & (size - 1)
}

unsafe fn controloptions(l: *mut lua_State, opt: u8, f: &mut Fmt, h: &mut Header) {
    match opt {
        b' ' => {}
        b'>' => h.endian = Endian::Big,
        b'<' => h.endian = Endian::Little,
        b'!' => {
            let a = getnum(l, f, MAXALIGN);
            if a == 0 || a & (a - 1) != 0 {
                error(l, format!("alignment {a} is not a power of 2"));
            }
            h.align = a;
        }
        _ => arg_error(l, 1, format!("invalid format option '{}'", opt as char)),
    }
}

/// The packing buffer, kept by the library so that an error raised
/// midway leaks nothing.
#[derive(Default)]
struct State {
    buf: Vec<u8>,
}

unsafe extern "C-unwind" fn pack(l: *mut lua_State) -> c_int {
    let st = state::<State>(l);
    st.buf.clear();
    let mut f = Fmt { s: check_bytes(l, 1), pos: 0 };
    let mut h = Header::new();
    // The C code pushes a nil after the arguments: a missing one reads as nil.
    ffi::lua_pushnil(l);
    let mut arg = 2;
    let mut total = 0usize;
    while let Some(opt) = f.next() {
        let mut size = optsize(l, opt, &mut f);
        let toalign = gettoalign(total, &h, opt, size);
        total += toalign;
        st.buf.resize(st.buf.len() + toalign, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = ffi::luaL_checknumber(l, arg);
                arg += 1;
                // (unsigned long)(long)n for negatives, as the C code.
                let mut value = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                let mut bytes = [0u8; MAXINTSIZE];
                for b in bytes.iter_mut().take(size) {
                    *b = value as u8;
                    value = value.checked_shr(8).unwrap_or(0);
                }
                if h.endian == Endian::Big {
                    bytes[..size].reverse();
                }
                st.buf.extend_from_slice(&bytes[..size]);
            }
            b'x' => st.buf.push(0),
            b'f' => {
                let v = ffi::luaL_checknumber(l, arg) as f32;
                arg += 1;
                let bytes = if h.endian == Endian::Big { v.to_be_bytes() } else { v.to_le_bytes() };
                st.buf.extend_from_slice(&bytes);
            }
            b'd' => {
                let v = ffi::luaL_checknumber(l, arg);
                arg += 1;
                let bytes = if h.endian == Endian::Big { v.to_be_bytes() } else { v.to_le_bytes() };
                st.buf.extend_from_slice(&bytes);
            }
            b'c' | b's' => {
                let s = check_bytes(l, arg);
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // The C code reports the argument after the string.
                    arg_error(l, arg, "string too short".into());
                }
                st.buf.extend_from_slice(&s[..size]);
                if opt == b's' {
                    st.buf.push(0);
                    size += 1;
                }
            }
            _ => controloptions(l, opt, &mut f, &mut h),
        }
        total += size;
    }
    push_bytes(l, &st.buf);
    1
}

fn getinteger(data: &[u8], endian: Endian, signed: bool) -> f64 {
    let size = data.len();
    let mut v: u64 = 0;
    let mut push = |b: u8| v = (v << 8) | b as u64;
    match endian {
        Endian::Big => data.iter().for_each(|&b| push(b)),
        Endian::Little => data.iter().rev().for_each(|&b| push(b)),
    }
    if !signed {
        return v as f64;
    }
    // The C shift count wraps at 64 for sizes past 8 (x86).
    let mask = u64::MAX << ((size * 8).wrapping_sub(1) & 63);
    if v & mask != 0 {
        v |= mask;
    }
    v as i64 as f64
}

unsafe extern "C-unwind" fn unpack(l: *mut lua_State) -> c_int {
    let mut f = Fmt { s: check_bytes(l, 1), pos: 0 };
    let data = check_bytes(l, 2);
    let ld = data.len();
    let start = if ffi::lua_type(l, 3) <= ffi::LUA_TNIL { 1 } else { ffi::luaL_checkinteger(l, 3) as i64 };
    // As Redis's fix: only 0 is refused here, a negative offset wraps
    // and is then too far.
    if start == 0 {
        arg_error(l, 3, "offset must be 1 or greater".into());
    }
    let mut pos = (start as u64 as usize).wrapping_sub(1);
    let mut h = Header::new();
    let mut n: c_int = 0;
    while let Some(opt) = f.next() {
        let mut size = optsize(l, opt, &mut f);
        pos = pos.wrapping_add(gettoalign(pos, &h, opt, size));
        if size > ld || pos > ld - size {
            arg_error(l, 2, "data string too short".into());
        }
        if ffi::lua_checkstack(l, 2 + ffi::LUA_MINSTACK) == 0 {
            error(l, "stack overflow (too many results)".into());
        }
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                ffi::lua_pushnumber(l, getinteger(&data[pos..pos + size], h.endian, opt.is_ascii_lowercase()));
                n += 1;
            }
            b'x' => {}
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(&data[pos..pos + 4]);
                let v = if h.endian == Endian::Big { f32::from_be_bytes(b) } else { f32::from_le_bytes(b) };
                ffi::lua_pushnumber(l, v as f64);
                n += 1;
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[pos..pos + 8]);
                let v = if h.endian == Endian::Big { f64::from_be_bytes(b) } else { f64::from_le_bytes(b) };
                ffi::lua_pushnumber(l, v);
                n += 1;
            }
            b'c' => {
                if size == 0 {
                    if n == 0 || ffi::lua_isnumber(l, -1) == 0 {
                        error(l, "format 'c0' needs a previous size".into());
                    }
                    let prev = ffi::lua_tonumber(l, -1);
                    size = if prev > 0.0 { prev as usize } else { 0 };
                    ffi::lua_settop(l, -2);
                    n -= 1;
                    if size > ld || pos > ld - size {
                        arg_error(l, 2, "data string too short".into());
                    }
                }
                push_bytes(l, &data[pos..pos + size]);
                n += 1;
            }
            b's' => {
                let Some(end) = data[pos..].iter().position(|&b| b == 0) else {
                    error(l, "unfinished string in data".into());
                };
                push_bytes(l, &data[pos..pos + end]);
                size = end + 1;
                n += 1;
            }
            _ => controloptions(l, opt, &mut f, &mut h),
        }
        pos += size;
    }
    ffi::lua_pushinteger(l, (pos + 1) as ffi::lua_Integer);
    n + 1
}

unsafe extern "C-unwind" fn size(l: *mut lua_State) -> c_int {
    let mut f = Fmt { s: check_bytes(l, 1), pos: 0 };
    let mut h = Header::new();
    let mut pos = 0usize;
    while let Some(opt) = f.next() {
        let size = optsize(l, opt, &mut f);
        pos += gettoalign(pos, &h, opt, size);
        if opt == b's' || (opt == b'c' && size == 0) {
            let which = if opt == b's' { "s" } else { "c0" };
            arg_error(l, 1, format!("option '{which}' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            controloptions(l, opt, &mut f, &mut h);
        }
        pos += size;
    }
    ffi::lua_pushinteger(l, pos as ffi::lua_Integer);
    1
}

const FUNCTIONS: &[(&std::ffi::CStr, CFn)] = &[(c"pack", pack), (c"unpack", unpack), (c"size", size)];

/// Returns the library table.
pub unsafe extern "C-unwind" fn open(l: *mut lua_State) -> c_int {
    push_state::<State>(l);
    ffi::lua_createtable(l, 0, FUNCTIONS.len() as c_int);
    register(l, FUNCTIONS, true);
    1
}
