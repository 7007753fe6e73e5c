//! Helpers for the script libraries (cjson, cmsgpack, bit, struct), which
//! are written against Lua's C API as Redis's C libraries are, so that
//! their errors are Lua string errors with Lua's own texts ("bad argument
//! #1 to 'tobit' (number expected, got string)") and `pcall` sees them as
//! a script sees Redis's.
//!
//! Lua raises errors with longjmp, which skips Rust destructors: a library
//! function must hold no value that owns memory when it calls anything
//! that may raise (the check functions, `error`, `arg_error`). Messages
//! are copied to the stack before raising; buffers live in a userdata the
//! library owns (freed by its `__gc`), never in a local `Vec`.

use std::ffi::{c_char, c_int, CStr};
use std::ptr;

use mlua::ffi::{self, lua_State};

/// Messages are cut at this length (Lua's own luaL_error limit is similar).
const MSG_MAX: usize = 512;

fn copy_msg(msg: &[u8], buf: &mut [u8; MSG_MAX + 1]) -> usize {
    let n = msg.len().min(MSG_MAX);
    buf[..n].copy_from_slice(&msg[..n]);
    buf[n] = 0;
    n
}

/// luaL_error: raises `msg` prefixed with the calling Lua code's position.
///
/// # Safety
/// `l` is a valid state inside a C function; nothing owning memory is live
/// in the callers' frames.
pub unsafe fn error(l: *mut lua_State, msg: String) -> ! {
    let mut buf = [0u8; MSG_MAX + 1];
    let n = copy_msg(msg.as_bytes(), &mut buf);
    drop(msg);
    room_for_error(l);
    ffi::luaL_where(l, 1);
    ffi::lua_pushlstring_(l, buf.as_ptr() as *const c_char, n);
    ffi::lua_concat(l, 2);
    ffi::lua_error(l)
}

/// luaL_argerror: "bad argument #narg to 'name' (extramsg)".
///
/// # Safety
/// As `error`.
pub unsafe fn arg_error(l: *mut lua_State, narg: c_int, extramsg: String) -> ! {
    let mut buf = [0u8; MSG_MAX + 1];
    copy_msg(extramsg.as_bytes(), &mut buf);
    drop(extramsg);
    room_for_error(l);
    ffi::luaL_argerror(l, narg, buf.as_ptr() as *const c_char);
    unreachable_after_error(l)
}

/// Stack slots for the message (Lua checks every push): at the stack's
/// limit, what the function pushed goes first — it is raising anyway.
unsafe fn room_for_error(l: *mut lua_State) {
    if ffi::lua_checkstack(l, 4) == 0 {
        ffi::lua_settop(l, 0);
    }
}

/// luaL_argerror and luaL_typerror never return; this keeps the types
/// honest without a panic path.
unsafe fn unreachable_after_error(l: *mut lua_State) -> ! {
    ffi::lua_error(l)
}

/// luaL_typerror: "bad argument #narg to 'name' (tname expected, got ...)".
///
/// # Safety
/// As `error`.
pub unsafe fn type_error(l: *mut lua_State, narg: c_int, tname: &CStr) -> ! {
    room_for_error(l);
    ffi::luaL_typerror(l, narg, tname.as_ptr());
    unreachable_after_error(l)
}

/// The string (or number, converted in place) at `idx`, as
/// lua_tolstring; valid while the value stays on the stack.
///
/// # Safety
/// `l` is valid and `idx` acceptable.
pub unsafe fn to_bytes<'a>(l: *mut lua_State, idx: c_int) -> Option<&'a [u8]> {
    let mut len = 0usize;
    let p = ffi::lua_tolstring(l, idx, &mut len);
    if p.is_null() {
        None
    } else {
        Some(std::slice::from_raw_parts(p as *const u8, len))
    }
}

/// luaL_checklstring.
///
/// # Safety
/// As `error`.
pub unsafe fn check_bytes<'a>(l: *mut lua_State, narg: c_int) -> &'a [u8] {
    let mut len = 0usize;
    let p = ffi::luaL_checklstring(l, narg, &mut len);
    std::slice::from_raw_parts(p as *const u8, len)
}

/// # Safety
/// `l` is valid.
pub unsafe fn push_bytes(l: *mut lua_State, s: &[u8]) {
    ffi::lua_pushlstring_(l, s.as_ptr() as *const c_char, s.len());
}

/// A library's state: a userdata holding `T`, dropped by its `__gc`.
///
/// # Safety
/// `l` is valid; `T` is only ever read back through `state::<T>` on this
/// userdata.
pub unsafe fn push_state<T: Default>(l: *mut lua_State) -> *mut T {
    let p = ffi::lua_newuserdata(l, std::mem::size_of::<T>()) as *mut T;
    ptr::write(p, T::default());
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_pushcclosure(l, drop_state::<T>, 0);
    ffi::lua_setfield(l, -2, c"__gc".as_ptr());
    ffi::lua_setmetatable(l, -2);
    p
}

unsafe extern "C-unwind" fn drop_state<T>(l: *mut lua_State) -> c_int {
    let p = ffi::lua_touserdata(l, 1) as *mut T;
    if !p.is_null() {
        ptr::drop_in_place(p);
    }
    0
}

/// The state userdata of the running C closure (its first upvalue).
///
/// # Safety
/// Called from a closure made by `register` with a `push_state::<T>` value.
pub unsafe fn state<'a, T>(l: *mut lua_State) -> &'a mut T {
    &mut *(ffi::lua_touserdata(l, ffi::lua_upvalueindex(1)) as *mut T)
}

pub type CFn = unsafe extern "C-unwind" fn(*mut lua_State) -> c_int;

/// Sets `name = f` in the table at the top, `f` closing over the value
/// just below the table when `with_state`.
///
/// # Safety
/// `l` is valid, a table on top (and the state below it when `with_state`).
pub unsafe fn register(l: *mut lua_State, fns: &[(&CStr, CFn)], with_state: bool) {
    for (name, f) in fns {
        if with_state {
            ffi::lua_pushvalue(l, -2);
            ffi::lua_pushcclosure(l, *f, 1);
        } else {
            ffi::lua_pushcclosure(l, *f, 0);
        }
        ffi::lua_setfield(l, -2, name.as_ptr());
    }
}

/// Formats `v` as C's `printf("%.<prec>g")`.
pub fn fmt_g(v: f64, prec: usize) -> String {
    if v.is_nan() {
        return if v.is_sign_negative() { "-nan".into() } else { "nan".into() };
    }
    if v.is_infinite() {
        return if v < 0.0 { "-inf".into() } else { "inf".into() };
    }
    let p = prec.max(1);
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // The exponent after rounding to p significant digits decides the style.
    let sci = format!("{:.*e}", p - 1, v);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, v)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::fmt_g;

    #[test]
    fn printf_g() {
        assert_eq!(fmt_g(0.1, 14), "0.1");
        assert_eq!(fmt_g(1.0 / 3.0, 14), "0.33333333333333");
        assert_eq!(fmt_g(1e15, 14), "1e+15");
        assert_eq!(fmt_g(123456789012345.0, 14), "1.2345678901234e+14");
        assert_eq!(fmt_g(12345678901234.0, 14), "12345678901234");
        assert_eq!(fmt_g(0.0001, 14), "0.0001");
        assert_eq!(fmt_g(0.00001, 14), "1e-05");
        assert_eq!(fmt_g(-2.5, 14), "-2.5");
        assert_eq!(fmt_g(100.0, 1), "1e+02");
        assert_eq!(fmt_g(f64::INFINITY, 14), "inf");
    }
}
