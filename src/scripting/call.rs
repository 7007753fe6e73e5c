//! `redis.call` and `redis.pcall`: a script runs a command on its client
//! and gets the reply as a Lua value, with Redis's RESP → Lua rules.
//!
//! They are C functions on Lua's stack, as in Redis: the arguments are
//! read and the reply pushed with the C API, without a Rust value or a
//! registry reference per argument. Lua raises errors (a memory error
//! while pushing, or redis.call's own) with longjmp, which skips Rust
//! destructors: the command runs in `run_command`, whose values are all
//! dropped when it returns, and what pushes and raises afterwards holds
//! only raw pointers and slices (the reply is copied to a scratch buffer
//! of the thread first, so that the client's output is already clean).

use std::cell::UnsafeCell;
use std::ffi::{c_char, c_int};

use bytes::Bytes;
use mlua::ffi::{self, lua_State};
use mlua::{Function, Lua, Table};

use super::{Budget, BUDGET, MAX_DEPTH, RESP, RUNNING};
use crate::commands::{self, flags};
use crate::executor;

thread_local! {
    /// The reply of the command a script called, while it is pushed.
    static REPLY: UnsafeCell<Vec<u8>> = const { UnsafeCell::new(Vec::new()) };
}

/// Sets the `call` and `pcall` functions of the `redis` library; both
/// keep the library's private table `impl` as their upvalue.
pub(super) fn install(lua: &Lua, impl_tbl: &Table, redis: &Table) -> mlua::Result<()> {
    // SAFETY: `make` only pushes two closures over its argument.
    let make = unsafe { lua.create_c_function(make)? };
    let (call, pcall): (Function, Function) = make.call(impl_tbl.clone())?;
    redis.raw_set("call", call)?;
    redis.raw_set("pcall", pcall)
}

unsafe extern "C-unwind" fn make(l: *mut lua_State) -> c_int {
    ffi::lua_pushvalue(l, 1);
    ffi::lua_pushcclosure(l, call, 1);
    ffi::lua_pushvalue(l, 1);
    ffi::lua_pushcclosure(l, pcall, 1);
    2
}

unsafe extern "C-unwind" fn call(l: *mut lua_State) -> c_int {
    call_command(l, true)
}

unsafe extern "C-unwind" fn pcall(l: *mut lua_State) -> c_int {
    call_command(l, false)
}

/// Runs the command the arguments name and pushes its reply. An error
/// (the command's error reply or a refusal) is an `{err=...}` table; with
/// `raise` it is left in `impl.pending` for the error handler and
/// `pcall`, and its message raised.
unsafe fn call_command(l: *mut lua_State, raise: bool) -> c_int {
    let argc = ffi::lua_gettop(l);
    // Numbers become strings in place, before any Rust value exists (the
    // push allocates).
    for i in 1..=argc {
        if ffi::lua_type(l, i) == ffi::LUA_TNUMBER {
            let mut buf = [0u8; NUMBER_MAX];
            let n = number_arg(ffi::lua_tonumber(l, i), &mut buf);
            push_bytes(l, &buf[..n]);
            ffi::lua_replace(l, i);
        }
    }
    let failed = match run_command(l, argc) {
        Ok(()) => {
            // SAFETY: nothing writes REPLY until the next redis.call, and
            // no Lua code runs while the reply is pushed (scripts cannot
            // make userdata with finalizers: newproxy is gone).
            let reply: &[u8] = REPLY.with(|r| (*r.get()).as_slice());
            let mut pos = 0;
            if !push_reply(l, reply, &mut pos, 0) {
                ffi::lua_pushnil(l);
            }
            reply.first() == Some(&b'-')
        }
        Err(msg) => {
            ffi::lua_createtable(l, 0, 1);
            ffi::lua_pushlstring_(l, msg.as_ptr().cast(), msg.len());
            ffi::lua_setfield(l, -2, c"err".as_ptr());
            true
        }
    };
    if failed && raise {
        ffi::lua_pushstring_(l, c"pending".as_ptr());
        ffi::lua_pushvalue(l, -2);
        ffi::lua_rawset(l, ffi::lua_upvalueindex(1));
        ffi::lua_getfield_(l, -1, c"err".as_ptr());
        ffi::lua_error(l);
    }
    1
}

/// Longest text of a number argument ("-1.2345678901234567e-308").
const NUMBER_MAX: usize = 32;

/// A number argument as Redis 7.2 and Valkey pass it to the command: an
/// integer when it is one (within ±2^62, their double2ll), else the
/// shortest digits that read back as it, laid out as fpconv_dtoa does
/// ("0.1", "1e+20", "1e-7", "9223372036854776000", "-nan", "inf").
/// Returns the length written to `out`.
fn number_arg(n: f64, out: &mut [u8; NUMBER_MAX]) -> usize {
    use std::io::Write;
    let mut w = &mut out[..];
    let limit = (i64::MAX / 2) as f64;
    if (-limit..=limit).contains(&n) && n.trunc() == n {
        let _ = write!(w, "{}", n as i64);
        return NUMBER_MAX - w.len();
    }
    if n.is_sign_negative() {
        let _ = w.write_all(b"-");
    }
    if n.is_nan() || n.is_infinite() {
        let _ = w.write_all(if n.is_nan() { b"nan" } else { b"inf" });
        return NUMBER_MAX - w.len();
    }
    // Shortest round-trip digits and the exponent of the first one.
    let mut sci = [0u8; NUMBER_MAX];
    let len = {
        let mut s = &mut sci[..];
        let _ = write!(s, "{:e}", n.abs());
        NUMBER_MAX - s.len()
    };
    let sci = &sci[..len];
    let e_at = sci.iter().position(|&c| c == b'e').unwrap_or(len);
    let mut digits = [0u8; NUMBER_MAX];
    let mut nd = 0;
    for &c in sci[..e_at].iter().filter(|c| c.is_ascii_digit()) {
        digits[nd] = c;
        nd += 1;
    }
    let first_exp: i32 =
        std::str::from_utf8(&sci[(e_at + 1).min(len)..]).ok().and_then(|e| e.parse().ok()).unwrap_or(0);
    let digits = &digits[..nd];
    // fpconv's K: the exponent of the last digit.
    let k = first_exp - (nd as i32 - 1);
    let exp = first_exp.abs();
    if k >= 0 && exp < nd as i32 + 7 {
        let _ = w.write_all(digits);
        for _ in 0..k {
            let _ = w.write_all(b"0");
        }
    } else if k < 0 && (k > -7 || exp < 4) {
        let int_digits = nd as i32 + k;
        if int_digits <= 0 {
            let _ = w.write_all(b"0.");
            for _ in 0..-int_digits {
                let _ = w.write_all(b"0");
            }
            let _ = w.write_all(digits);
        } else {
            let (a, b) = digits.split_at(int_digits as usize);
            let _ = w.write_all(a);
            let _ = w.write_all(b".");
            let _ = w.write_all(b);
        }
    } else {
        let _ = w.write_all(&digits[..1]);
        if nd > 1 {
            let _ = w.write_all(b".");
            let _ = w.write_all(&digits[1..]);
        }
        let _ = write!(w, "e{}{}", if first_exp < 0 { '-' } else { '+' }, exp);
    }
    NUMBER_MAX - w.len()
}

/// Checks and runs the command of the `argc` string arguments on the
/// script's client, leaving its reply in `REPLY`.
unsafe fn run_command(l: *mut lua_State, argc: c_int) -> Result<(), &'static str> {
    if argc == 0 {
        return Err("ERR Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(argc as usize);
    for i in 1..=argc {
        if ffi::lua_type(l, i) != ffi::LUA_TSTRING {
            return Err("ERR Lua redis lib command arguments must be strings or integers");
        }
        let mut len = 0usize;
        let p = ffi::lua_tolstring(l, i, &mut len);
        // SAFETY: a string on the stack, alive for the call.
        argv.push(Bytes::copy_from_slice(std::slice::from_raw_parts(p.cast::<u8>(), len)));
    }
    let cmd = executor::lookup(&argv).ok_or("ERR Unknown Redis command called from script")?;
    if cmd.def.handler.is_none() || !commands::arity_ok(cmd.def, argv.len()) {
        return Err("ERR Wrong number of args calling Redis command from script");
    }
    if cmd.def.has(flags::NOSCRIPT) {
        return Err("ERR This Redis command is not allowed from script");
    }
    let mut ptr = RUNNING.take().ok_or("ERR redis.call called outside a script")?;
    // SAFETY: `run_script` published a RunState that outlives the script
    // run and that it leaves alone until the run ends; taken out of
    // RUNNING, the pointer is the only way to it until it is put back.
    let st = ptr.as_mut();
    let ran = (|| {
        if st.readonly && cmd.def.has(flags::WRITE) {
            return Err("ERR Write commands are not allowed from read-only scripts.");
        }
        // Out of memory when the script started: deny-oom calls fail until
        // the script has called a write command (it must then be able to
        // finish).
        if st.srv.evictor.oom_at_start && cmd.def.has(flags::DENYOOM) {
            return Err("OOM command not allowed when used memory > 'maxmemory'.");
        }
        // A write command called, whatever it changes, makes the script
        // unkillable, as Redis's SCRIPT_WRITE_DIRTY.
        if cmd.def.has(flags::WRITE) {
            st.srv.evictor.oom_at_start = false;
            if let Some(b) = BUDGET.get() {
                BUDGET.set(Some(Budget { wrote: true, ..b }));
            }
        }
        let start = st.client.out.buf.len();
        st.client.out.resp = RESP.get();
        executor::call(st.srv, st.client, cmd, &argv);
        REPLY.with(|r| {
            // SAFETY: no other reference to REPLY is live: the previous
            // call's slice ended with its push.
            let r = &mut *r.get();
            r.clear();
            r.extend_from_slice(&st.client.out.buf[start..]);
        });
        st.client.out.buf.truncate(start);
        Ok(())
    })();
    RUNNING.set(Some(ptr));
    ran
}

fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Option<&'a [u8]> {
    let rest = buf.get(*pos..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    *pos += end + 2;
    Some(&rest[..end])
}

unsafe fn push_bytes(l: *mut lua_State, b: &[u8]) {
    ffi::lua_pushlstring_(l, b.as_ptr().cast::<c_char>(), b.len());
}

/// Pushes `{<field> = <value on top>}` in place of the value on top.
unsafe fn wrap(l: *mut lua_State, field: &std::ffi::CStr) {
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_insert(l, -2);
    ffi::lua_setfield(l, -2, field.as_ptr());
}

/// Pushes the RESP reply at `pos` as a Lua value with Redis's rules;
/// false (nothing pushed) on malformed input. RESP3 null is nil.
unsafe fn push_reply(l: *mut lua_State, buf: &[u8], pos: &mut usize, depth: usize) -> bool {
    if depth > MAX_DEPTH || *pos >= buf.len() || ffi::lua_checkstack(l, 4) == 0 {
        return false;
    }
    let kind = buf[*pos];
    *pos += 1;
    let Some(head) = line(buf, pos) else { return false };
    let int = || crate::util::parse_i64(head);
    match kind {
        b'+' => {
            push_bytes(l, head);
            wrap(l, c"ok");
        }
        b'-' => {
            push_bytes(l, head);
            wrap(l, c"err");
        }
        b':' => ffi::lua_pushnumber(l, int().unwrap_or(0) as f64),
        b'$' | b'=' => {
            let Some(n) = int() else { return false };
            if n < 0 {
                ffi::lua_pushboolean(l, 0);
                return true;
            }
            let Some(data) = buf.get(*pos..*pos + n as usize) else { return false };
            *pos += n as usize + 2;
            if kind == b'=' && data.len() >= 4 {
                ffi::lua_createtable(l, 0, 2);
                push_bytes(l, &data[..3]);
                ffi::lua_setfield(l, -2, c"format".as_ptr());
                push_bytes(l, &data[4..]);
                ffi::lua_setfield(l, -2, c"string".as_ptr());
                wrap(l, c"verbatim_string");
            } else {
                push_bytes(l, data);
            }
        }
        b'*' | b'>' | b'~' | b'%' => {
            let Some(n) = int() else { return false };
            if n < 0 {
                ffi::lua_pushboolean(l, 0);
                return true;
            }
            let slots = n.min(1 << 16) as c_int;
            if kind == b'*' || kind == b'>' {
                ffi::lua_createtable(l, slots, 0);
            } else {
                ffi::lua_createtable(l, 0, slots);
            }
            for i in 0..n {
                match kind {
                    b'%' => {
                        let base = ffi::lua_gettop(l);
                        let both = push_reply(l, buf, pos, depth + 1) && push_reply(l, buf, pos, depth + 1);
                        if both && ffi::lua_isnil(l, -2) == 0 {
                            ffi::lua_rawset(l, -3);
                        }
                        ffi::lua_settop(l, base);
                    }
                    b'~' => {
                        if push_reply(l, buf, pos, depth + 1) {
                            if ffi::lua_isnil(l, -1) == 0 {
                                ffi::lua_pushboolean(l, 1);
                                ffi::lua_rawset(l, -3);
                            } else {
                                ffi::lua_pop(l, 1);
                            }
                        }
                    }
                    _ => {
                        if !push_reply(l, buf, pos, depth + 1) {
                            ffi::lua_pushnil(l);
                        }
                        ffi::lua_rawseti_(l, -2, (i + 1).min(c_int::MAX as i64) as c_int);
                    }
                }
            }
            match kind {
                b'%' => wrap(l, c"map"),
                b'~' => wrap(l, c"set"),
                _ => {}
            }
        }
        b'_' => ffi::lua_pushnil(l),
        b'#' => ffi::lua_pushboolean(l, (head == b"t") as c_int),
        b',' => {
            ffi::lua_pushnumber(l, crate::util::parse_f64(head).unwrap_or(0.0));
            wrap(l, c"double");
        }
        b'(' => {
            push_bytes(l, head);
            wrap(l, c"big_number");
        }
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected texts from Valkey 9.1: `redis.call('SET', 'k', <expr>)`
    /// then GET, for each expression.
    #[test]
    fn number_arguments_read_as_valkey_passes_them() {
        let cases: [(f64, &str); 20] = [
            (0.1, "0.1"),
            (1.0 / 3.0, "0.3333333333333333"),
            (1e20, "1e+20"),
            (1e21, "1e+21"),
            (2f64.powi(53) + 1.0, "9007199254740992"),
            (-0.0, "0"),
            (1e-7, "1e-7"),
            (123456789012345678.0, "123456789012345680"),
            (3.5, "3.5"),
            (-f64::NAN, "-nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (100.0, "100"),
            (1e15, "1000000000000000"),
            (1e16, "10000000000000000"),
            (1e17, "100000000000000000"),
            (0.000001, "0.000001"),
            (1.5e300, "1.5e+300"),
            (2f64.powi(63), "9223372036854776000"),
            (-(2f64.powi(63)), "-9223372036854776000"),
        ];
        for (n, want) in cases {
            let mut buf = [0u8; NUMBER_MAX];
            let len = number_arg(n, &mut buf);
            assert_eq!(std::str::from_utf8(&buf[..len]).unwrap(), want, "{n:e}");
        }
        let mut buf = [0u8; NUMBER_MAX];
        let len = number_arg(-f64::MIN_POSITIVE / 3.0, &mut buf);
        assert!(len < NUMBER_MAX && buf[..len].starts_with(b"-7.4"));
    }
}
