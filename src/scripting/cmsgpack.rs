//! The `cmsgpack` library of Redis's scripts (lua-cmsgpack 0.4.0):
//! pack(...), unpack(s), unpack_one(s [, offset]), unpack_limit(s, limit
//! [, offset]), with its encodings (integers in the smallest form, floats
//! when exact, tables as arrays when their keys are exactly 1..n, nesting
//! past 16 levels as nil) and its errors.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};

use super::capi::{arg_error, check_bytes, error, push_bytes, push_state, register, state, to_bytes, CFn};

const MAX_NESTING: usize = 16;

/// 2^63: doubles in [-2^63, 2^63) convert to int64_t exactly.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

#[derive(Default)]
struct State {
    buf: Vec<u8>,
}

fn encode_int(buf: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            buf.push(n as u8);
        } else if n <= 0xff {
            buf.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            buf.push(0xcd);
            buf.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            buf.push(0xce);
            buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            buf.push(0xcf);
            buf.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        buf.push(n as i8 as u8);
    } else if n >= -128 {
        buf.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        buf.push(0xd1);
        buf.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2147483648 {
        buf.push(0xd2);
        buf.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        buf.push(0xd3);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_number(buf: &mut Vec<u8>, n: f64) {
    // (int64_t)n == n, infinities excluded.
    if (-TWO_63..TWO_63).contains(&n) && n.trunc() == n {
        encode_int(buf, n as i64);
    } else if n == (n as f32) as f64 {
        buf.push(0xca);
        buf.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        buf.push(0xcb);
        buf.extend_from_slice(&n.to_be_bytes());
    }
}

fn encode_header(buf: &mut Vec<u8>, len: usize, fix: u8, fix_max: usize, op16: u8) {
    if len <= fix_max {
        buf.push(fix | len as u8);
    } else if len <= 0xffff {
        buf.push(op16);
        buf.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        buf.push(op16 + 1);
        buf.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn encode_bytes(buf: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        buf.push(0xa0 | len as u8);
    } else if len <= 0xff {
        buf.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        buf.push(0xda);
        buf.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        buf.push(0xdb);
        buf.extend_from_slice(&(len as u32).to_be_bytes());
    }
    buf.extend_from_slice(s);
}

/// Whether the table on top has exactly the keys 1..n (table_is_an_array).
unsafe fn is_array(l: *mut lua_State) -> bool {
    let top = ffi::lua_gettop(l);
    let (mut count, mut max) = (0i64, 0i64);
    ffi::lua_pushnil(l);
    while ffi::lua_next(l, -2) != 0 {
        ffi::lua_settop(l, -2);
        let n = ffi::lua_tonumber(l, -1);
        let int_like = n > 0.0 && n <= i32::MAX as f64 && n.trunc() == n;
        if ffi::lua_type(l, -1) != ffi::LUA_TNUMBER || !int_like {
            ffi::lua_settop(l, top);
            return false;
        }
        max = max.max(n as i64);
        count += 1;
    }
    ffi::lua_settop(l, top);
    max == count
}

/// Encodes the value on top and pops it. The output is bounded like the
/// script's own memory: a table that holds itself repeats its contents
/// at every level down to the nesting limit, 2^16 times over for two
/// self-references.
unsafe fn encode(l: *mut lua_State, buf: &mut Vec<u8>, level: usize) {
    if buf.len() > super::LUA_MEMORY_LIMIT {
        *buf = Vec::new();
        error(l, "not enough memory".into());
    }
    let mut t = ffi::lua_type(l, -1);
    if t == ffi::LUA_TTABLE && level == MAX_NESTING {
        t = ffi::LUA_TNIL;
    }
    match t {
        ffi::LUA_TSTRING => encode_bytes(buf, to_bytes(l, -1).unwrap_or_default()),
        ffi::LUA_TBOOLEAN => buf.push(if ffi::lua_toboolean(l, -1) != 0 { 0xc3 } else { 0xc2 }),
        ffi::LUA_TNUMBER => encode_number(buf, ffi::lua_tonumber(l, -1)),
        ffi::LUA_TTABLE => {
            if ffi::lua_checkstack(l, 4 + ffi::LUA_MINSTACK) == 0 {
                error(l, "stack overflow (in function mp_encode_lua_table)".into());
            }
            if is_array(l) {
                let len = ffi::lua_objlen(l, -1);
                encode_header(buf, len, 0x90, 15, 0xdc);
                if ffi::lua_checkstack(l, 1 + ffi::LUA_MINSTACK) == 0 {
                    error(l, "stack overflow (in function mp_encode_lua_table_as_array)".into());
                }
                // Raw reads (the C code honours __index): no Lua code
                // runs while the library's buffer is in use.
                for j in 1..=len {
                    ffi::lua_rawgeti_(l, -1, j as c_int);
                    encode(l, buf, level + 1);
                }
            } else {
                if ffi::lua_checkstack(l, 3 + ffi::LUA_MINSTACK) == 0 {
                    error(l, "stack overflow (in function mp_encode_lua_table_as_map)".into());
                }
                let mut len = 0usize;
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_settop(l, -2);
                    len += 1;
                }
                encode_header(buf, len, 0x80, 15, 0xde);
                ffi::lua_pushnil(l);
                while ffi::lua_next(l, -2) != 0 {
                    ffi::lua_pushvalue(l, -2);
                    encode(l, buf, level + 1);
                    encode(l, buf, level + 1);
                }
            }
        }
        _ => buf.push(0xc0),
    }
    ffi::lua_settop(l, -2);
}

unsafe extern "C-unwind" fn pack(l: *mut lua_State) -> c_int {
    let nargs = ffi::lua_gettop(l);
    if nargs == 0 {
        arg_error(l, 0, "MessagePack pack needs input.".into());
    }
    if ffi::lua_checkstack(l, nargs) == 0 {
        arg_error(l, 0, "Too many arguments for MessagePack pack.".into());
    }
    let st = state::<State>(l);
    for i in 1..=nargs {
        if ffi::lua_checkstack(l, 1 + ffi::LUA_MINSTACK) == 0 {
            error(l, "stack overflow (in function mp_check)".into());
        }
        ffi::lua_pushvalue(l, i);
        st.buf.clear();
        encode(l, &mut st.buf, 0);
        push_bytes(l, &st.buf);
    }
    st.buf = Vec::new();
    ffi::lua_concat(l, nargs);
    1
}

enum DecodeError {
    Eof,
    BadFormat,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn left(&self) -> usize {
        self.data.len() - self.pos
    }

    fn need(&self, n: usize) -> Result<&'a [u8], DecodeError> {
        self.data.get(self.pos..self.pos.checked_add(n).ok_or(DecodeError::Eof)?).ok_or(DecodeError::Eof)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let s = self.need(n)?;
        self.pos += n;
        Ok(s)
    }

    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self.take(n)?.iter().fold(0u64, |acc, &b| (acc << 8) | b as u64))
    }
}

/// Pushes the next value (mp_decode_to_lua_type).
unsafe fn decode(l: *mut lua_State, c: &mut Cursor) -> Result<(), DecodeError> {
    let head = c.need(1)?[0];
    if ffi::lua_checkstack(l, 1 + ffi::LUA_MINSTACK) == 0 {
        error(l, "stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)".into());
    }
    match head {
        0xcc..=0xcf => {
            c.pos += 1;
            // lua_pushunsigned is lua_pushinteger in Lua 5.1: 2^64-1 is -1.
            let n = c.be(1 << (head - 0xcc))?;
            ffi::lua_pushnumber(l, n as i64 as f64);
        }
        0xd0..=0xd3 => {
            c.need(1 + (1 << (head - 0xd0)))?;
            c.pos += 1;
            let n = match head {
                0xd0 => c.be(1)? as u8 as i8 as i64,
                0xd1 => c.be(2)? as u16 as i16 as i64,
                0xd2 => c.be(4)? as u32 as i32 as i64,
                _ => c.be(8)? as i64,
            };
            ffi::lua_pushnumber(l, n as f64);
        }
        0xc0 => {
            c.pos += 1;
            ffi::lua_pushnil(l);
        }
        0xc3 | 0xc2 => {
            c.pos += 1;
            ffi::lua_pushboolean(l, (head == 0xc3) as c_int);
        }
        0xca => {
            c.need(5)?;
            c.pos += 1;
            let v = f32::from_bits(c.be(4)? as u32);
            ffi::lua_pushnumber(l, v as f64);
        }
        0xcb => {
            c.need(9)?;
            c.pos += 1;
            ffi::lua_pushnumber(l, f64::from_bits(c.be(8)?));
        }
        0xd9..=0xdb => {
            let width = 1 << (head - 0xd9);
            let n = c.need(1 + width)?[1..].iter().fold(0usize, |acc, &b| (acc << 8) | b as usize);
            if head != 0xdb {
                c.need(1 + width + n)?;
            }
            c.pos += 1 + width;
            let s = c.take(n)?;
            push_bytes(l, s);
        }
        0xdc..=0xdf => {
            let width = if head & 1 == 0 { 2 } else { 4 };
            c.need(1 + width)?;
            c.pos += 1;
            let n = c.be(width)? as usize;
            if head < 0xde {
                decode_array(l, c, n)?;
            } else {
                decode_map(l, c, n)?;
            }
        }
        _ if head & 0x80 == 0 => {
            c.pos += 1;
            ffi::lua_pushnumber(l, head as f64);
        }
        _ if head & 0xe0 == 0xe0 => {
            c.pos += 1;
            ffi::lua_pushnumber(l, head as i8 as f64);
        }
        _ if head & 0xe0 == 0xa0 => {
            let n = (head & 0x1f) as usize;
            c.need(1 + n)?;
            c.pos += 1;
            let s = c.take(n)?;
            push_bytes(l, s);
        }
        _ if head & 0xf0 == 0x90 => {
            c.pos += 1;
            decode_array(l, c, (head & 0xf) as usize)?;
        }
        _ if head & 0xf0 == 0x80 => {
            c.pos += 1;
            decode_map(l, c, (head & 0xf) as usize)?;
        }
        _ => return Err(DecodeError::BadFormat),
    }
    Ok(())
}

unsafe fn decode_array(l: *mut lua_State, c: &mut Cursor, len: usize) -> Result<(), DecodeError> {
    ffi::lua_createtable(l, 0, 0);
    if ffi::lua_checkstack(l, 1 + ffi::LUA_MINSTACK) == 0 {
        error(l, "stack overflow (in function mp_decode_to_lua_array)".into());
    }
    for i in 1..=len {
        ffi::lua_pushnumber(l, i as f64);
        decode(l, c)?;
        ffi::lua_settable(l, -3);
    }
    Ok(())
}

unsafe fn decode_map(l: *mut lua_State, c: &mut Cursor, len: usize) -> Result<(), DecodeError> {
    ffi::lua_createtable(l, 0, 0);
    for _ in 0..len {
        decode(l, c)?;
        decode(l, c)?;
        ffi::lua_settable(l, -3);
    }
    Ok(())
}

/// mp_unpack_full: `limit` values (0 with offset 0: all) from `offset`.
unsafe fn unpack_full(l: *mut lua_State, limit: i64, offset: i64) -> c_int {
    let data = check_bytes(l, 1);
    let len = data.len();
    let decode_all = limit == 0 && offset == 0;
    if offset < 0 || limit < 0 {
        // Redis's text prints the input length as the limit, both as `%d`.
        error(l, format!("Invalid request to unpack with offset of {} and limit of {}.", offset as i32, len as i32));
    }
    if offset as u64 > len as u64 {
        error(l, format!("Start offset {} greater than input length {}.", offset as i32, len as i32));
    }
    let limit = if decode_all { i32::MAX as i64 } else { limit };
    let mut c = Cursor { data, pos: offset as usize };
    let mut count: c_int = 0;
    while c.left() > 0 && (count as i64) < limit {
        match decode(l, &mut c) {
            Ok(()) => {}
            Err(DecodeError::Eof) => error(l, "Missing bytes in input.".into()),
            Err(DecodeError::BadFormat) => error(l, "Bad data format in input.".into()),
        }
        count += 1;
    }
    if !decode_all {
        if ffi::lua_checkstack(l, 1 + ffi::LUA_MINSTACK) == 0 {
            error(l, "stack overflow (in function mp_unpack_full)".into());
        }
        let next = if c.left() == 0 { -1 } else { c.pos as i32 as ffi::lua_Integer };
        ffi::lua_pushinteger(l, next);
        ffi::lua_insert(l, 2);
        count += 1;
    }
    count
}

unsafe extern "C-unwind" fn unpack(l: *mut lua_State) -> c_int {
    unpack_full(l, 0, 0)
}

/// luaL_optinteger.
unsafe fn opt_int(l: *mut lua_State, narg: c_int) -> i64 {
    if ffi::lua_type(l, narg) <= ffi::LUA_TNIL {
        0
    } else {
        ffi::luaL_checkinteger(l, narg) as i64
    }
}

unsafe extern "C-unwind" fn unpack_one(l: *mut lua_State) -> c_int {
    let offset = opt_int(l, 2);
    ffi::lua_settop(l, 1);
    unpack_full(l, 1, offset)
}

unsafe extern "C-unwind" fn unpack_limit(l: *mut lua_State) -> c_int {
    let limit = ffi::luaL_checkinteger(l, 2) as i64;
    let offset = opt_int(l, 3);
    ffi::lua_settop(l, 1);
    unpack_full(l, limit, offset)
}

const FUNCTIONS: &[(&std::ffi::CStr, CFn)] =
    &[(c"pack", pack), (c"unpack", unpack), (c"unpack_one", unpack_one), (c"unpack_limit", unpack_limit)];

/// Returns the library table.
pub unsafe extern "C-unwind" fn open(l: *mut lua_State) -> c_int {
    push_state::<State>(l);
    ffi::lua_createtable(l, 0, FUNCTIONS.len() as c_int + 4);
    register(l, FUNCTIONS, true);
    for (k, v) in [
        (c"_NAME", c"cmsgpack"),
        (c"_VERSION", c"lua-cmsgpack 0.4.0"),
        (c"_COPYRIGHT", c"Copyright (C) 2012, Salvatore Sanfilippo"),
        (c"_DESCRIPTION", c"MessagePack C implementation for Lua"),
    ] {
        ffi::lua_pushstring_(l, v.as_ptr());
        ffi::lua_setfield(l, -2, k.as_ptr());
    }
    1
}
