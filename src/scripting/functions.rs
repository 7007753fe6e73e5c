//! FUNCTION libraries as Redis 7.0: code starting with a `#!lua name=<lib>`
//! line, run once at load time in a restricted environment where it may
//! only call `redis.register_function` (and `redis.log`); the functions it
//! registers are then called by FCALL / FCALL_RO with their keys and
//! arguments as two parameters.
//!
//! Libraries live in their own Lua interpreter (as Redis's function
//! engine has its own), so SCRIPT FLUSH leaves them alone. Function names
//! are looked up without case, library names with case, as Redis's dicts.
//! Their code is what RDB files (opcode FUNCTION2) and FUNCTION DUMP carry.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use bytes::Bytes;
use mlua::{ChunkMode, Function, Lua, RegistryKey, Table, Value as LV, Variadic};

use super::{lua_error_text, raise, run_script, Budget, Engine, ScriptArgs, ScriptKind, BUDGET, LOAD_TIMEOUT};
use crate::executor::Server;
use crate::persistence::crc64::crc64;
use crate::persistence::rdb;
use crate::protocol::Out;
use crate::server::client::Client;

/// Function flags (Redis's SCRIPT_FLAG_*), in the order FUNCTION LIST shows them.
pub const NO_WRITES: u64 = 1 << 0;
pub const ALLOW_OOM: u64 = 1 << 1;
pub const ALLOW_STALE: u64 = 1 << 2;
pub const NO_CLUSTER: u64 = 1 << 3;
pub const ALLOW_CROSS_SLOT_KEYS: u64 = 1 << 4;

pub const FLAG_NAMES: &[(u64, &str)] = &[
    (NO_WRITES, "no-writes"),
    (ALLOW_OOM, "allow-oom"),
    (ALLOW_STALE, "allow-stale"),
    (NO_CLUSTER, "no-cluster"),
    (ALLOW_CROSS_SLOT_KEYS, "allow-cross-slot-keys"),
];

/// The only engine, as FUNCTION LIST and STATS name it.
const ENGINE_NAME: &str = "LUA";

const BAD_NAME: &str =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

pub struct FunctionInfo {
    pub name: String,
    pub desc: Option<Vec<u8>>,
    pub flags: u64,
    callback: RegistryKey,
}

pub struct Library {
    pub name: String,
    /// The whole payload, metadata line included.
    pub code: Bytes,
    pub functions: Vec<FunctionInfo>,
}

/// A set of libraries and the index of their functions (lower-case name →
/// library), as Redis's functionsLibCtx.
#[derive(Default)]
struct Libraries {
    libs: BTreeMap<String, Library>,
    by_function: HashMap<String, String>,
}

impl Libraries {
    fn function_owner(&self, name: &str) -> Option<&String> {
        self.by_function.get(&name.to_ascii_lowercase())
    }

    fn insert(&mut self, lib: Library) {
        for f in &lib.functions {
            self.by_function.insert(f.name.to_ascii_lowercase(), lib.name.clone());
        }
        self.libs.insert(lib.name.clone(), lib);
    }

    fn remove(&mut self, name: &str) -> Option<Library> {
        let lib = self.libs.remove(name)?;
        for f in &lib.functions {
            self.by_function.remove(&f.name.to_ascii_lowercase());
        }
        Some(lib)
    }

    /// The first function of `lib` another library (not `except`) already has.
    fn collision(&self, lib: &Library, except: impl Fn(&str) -> bool) -> Option<String> {
        lib.functions
            .iter()
            .find(|f| self.function_owner(&f.name).is_some_and(|owner| !except(owner)))
            .map(|f| format!("ERR Function {} already exists", f.name))
    }
}

struct FunctionsEngine {
    engine: Engine,
    libs: Libraries,
}

thread_local! {
    static FUNCTIONS: RefCell<Option<FunctionsEngine>> = const { RefCell::new(None) };
    /// The libraries and functions while a function runs (and holds
    /// FUNCTIONS): FUNCTION STATS may be asked meanwhile (server::busy).
    static RUNNING_COUNTS: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

fn with_functions<R>(f: impl FnOnce(&mut FunctionsEngine) -> Result<R, String>) -> Result<R, String> {
    FUNCTIONS.with(|cell| {
        let Ok(mut slot) = cell.try_borrow_mut() else {
            return Err("ERR function libraries are busy".to_string());
        };
        if slot.is_none() {
            let engine = Engine::new(true).map_err(|e| format!("ERR Lua initialisation failed: {e}"))?;
            *slot = Some(FunctionsEngine { engine, libs: Libraries::default() });
        }
        match slot.as_mut() {
            Some(fe) => f(fe),
            None => Err("ERR Lua initialisation failed".to_string()),
        }
    })
}

/// The library metadata line: its engine and name, as Redis's
/// functionExtractLibMetaData (split like `sdssplitargs`).
struct Metadata {
    engine: Vec<u8>,
    name: Vec<u8>,
    /// Where the code after the metadata line starts (at its newline, so
    /// that line numbers count the metadata line).
    body: usize,
}

fn parse_metadata(code: &[u8]) -> Result<Metadata, String> {
    if !code.starts_with(b"#!") {
        return Err("ERR Missing library metadata".into());
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid library metadata".into());
    };
    let parts = match crate::protocol::decode::split_args(&code[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("ERR Invalid library metadata".into()),
    };
    let engine = parts[0].get(2..).unwrap_or_default().to_vec();
    let mut name = None;
    for part in &parts[1..] {
        if part.len() >= 5 && part[..5].eq_ignore_ascii_case(b"name=") {
            if name.is_some() {
                return Err("ERR Invalid metadata value, name argument was given multiple times".into());
            }
            name = Some(part[5..].to_vec());
            continue;
        }
        return Err(format!("ERR Invalid metadata value given: {}", String::from_utf8_lossy(part)));
    }
    let Some(name) = name else { return Err("ERR Library name was not given".into()) };
    Ok(Metadata { engine, name, body: end })
}

/// Letters, digits and underscores, at least one (functionsVerifyName).
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checks the metadata of `code`: the library's name, or the error.
fn library_name(code: &[u8]) -> Result<(String, Metadata), String> {
    let meta = parse_metadata(code)?;
    if !valid_name(&meta.name) {
        return Err(format!("ERR {BAD_NAME}"));
    }
    if !meta.engine.eq_ignore_ascii_case(ENGINE_NAME.as_bytes()) {
        return Err(format!("ERR Engine '{}' not found", String::from_utf8_lossy(&meta.engine)));
    }
    // valid_name admits ASCII only.
    Ok((String::from_utf8_lossy(&meta.name).into_owned(), meta))
}

/// Compiles and runs a library's code, collecting what it registers.
fn create_library(engine: &Engine, code: &Bytes, name: String, meta: &Metadata) -> Result<Library, String> {
    let lua = &engine.lua;
    let lua_err = |e: mlua::Error| format!("ERR {e}");
    let env: Table = lua.registry_value(&engine.env).map_err(lua_err)?;
    let func = lua
        .load(&code[meta.body..])
        .set_name("@user_function")
        .set_mode(ChunkMode::Text)
        .set_environment(env)
        .into_function()
        .map_err(|e| format!("ERR Error compiling function: {}", lua_error_text(&e)))?;
    let runner: Function = lua.registry_value(&engine.run).map_err(lua_err)?;
    let impl_tbl: Table = lua.registry_value(&engine.impl_tbl).map_err(lua_err)?;
    let load_redis: Table = lua.registry_value(&engine.load_redis).map_err(lua_err)?;
    let registered = RefCell::new(Vec::new());
    let _ = impl_tbl.raw_set("pending", LV::Nil);
    let set_loading: Function = impl_tbl.raw_get("set_loading").map_err(lua_err)?;
    set_loading.call::<_, ()>(true).map_err(lua_err)?;
    BUDGET.set(Some(Budget::new(Instant::now(), LOAD_TIMEOUT, ScriptKind::Function, true)));
    let outcome = lua.scope(|scope| {
        load_redis.raw_set(
            "register_function",
            scope.create_function(|lua, args: Variadic<LV>| register_function(lua, &registered, args))?,
        )?;
        let (ok, value): (bool, LV) = runner.call(func)?;
        Ok((!ok).then(|| error_message(&value)))
    });
    BUDGET.set(None);
    let _ = load_redis.raw_set("register_function", LV::Nil);
    let _ = set_loading.call::<_, ()>(false);
    match outcome {
        Err(e) => return Err(format!("ERR Error registering functions: ERR {}", lua_error_text(&e))),
        Ok(Some(msg)) => return Err(format!("ERR Error registering functions: {msg}")),
        Ok(None) => {}
    }
    let functions = registered.into_inner();
    if functions.is_empty() {
        return Err("ERR No functions registered".into());
    }
    Ok(Library { name, code: code.clone(), functions })
}

/// The `err` text of an error table from the bootstrap's handler.
fn error_message(v: &LV) -> String {
    match v {
        LV::Table(t) => match t.raw_get::<_, LV>("err") {
            Ok(LV::String(s)) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
            _ => "ERR unknown error".into(),
        },
        _ => "ERR unknown error".into(),
    }
}

/// A Lua string or number as text (lua_isstring / lua_tostring).
fn lua_text(lua: &Lua, v: &LV) -> Option<Vec<u8>> {
    match v {
        LV::String(_) | LV::Integer(_) | LV::Number(_) => {
            lua.coerce_string(v.clone()).ok().flatten().map(|s| s.as_bytes().to_vec())
        }
        _ => None,
    }
}

struct Registration<'lua> {
    name: Vec<u8>,
    desc: Option<Vec<u8>>,
    flags: u64,
    callback: Function<'lua>,
}

/// redis.register_function(name, callback) or
/// redis.register_function{function_name=, callback=, flags=, description=}.
fn register_function<'lua>(
    lua: &'lua Lua,
    registered: &RefCell<Vec<FunctionInfo>>,
    args: Variadic<LV<'lua>>,
) -> mlua::Result<()> {
    let reg = match args.len() {
        1 => named_registration(lua, &args[0]),
        2 => positional_registration(lua, &args[0], &args[1]),
        _ => Err("wrong number of arguments to redis.register_function"),
    }
    .map_err(|m| raise(lua, &format!("ERR {m}")))?;
    if !valid_name(&reg.name) {
        return Err(raise(lua, &format!("ERR {BAD_NAME}")));
    }
    let name = String::from_utf8_lossy(&reg.name).into_owned();
    let mut list = registered.borrow_mut();
    if list.iter().any(|f: &FunctionInfo| f.name.eq_ignore_ascii_case(&name)) {
        return Err(raise(lua, "ERR Function already exists in the library"));
    }
    let callback = lua.create_registry_value(reg.callback)?;
    list.push(FunctionInfo { name, desc: reg.desc, flags: reg.flags, callback });
    Ok(())
}

fn positional_registration<'lua>(
    lua: &'lua Lua,
    name: &LV<'lua>,
    callback: &LV<'lua>,
) -> Result<Registration<'lua>, &'static str> {
    let Some(name) = lua_text(lua, name) else {
        return Err("first argument to redis.register_function must be a string");
    };
    let LV::Function(callback) = callback else {
        return Err("second argument to redis.register_function must be a function");
    };
    Ok(Registration { name, desc: None, flags: 0, callback: callback.clone() })
}

fn named_registration<'lua>(lua: &'lua Lua, arg: &LV<'lua>) -> Result<Registration<'lua>, &'static str> {
    let LV::Table(t) = arg else {
        return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
    };
    let (mut name, mut desc, mut flags, mut callback) = (None, None, 0, None);
    for pair in t.clone().pairs::<LV, LV>() {
        let Ok((k, v)) = pair else { return Err("unknown argument given to redis.register_function") };
        let Some(key) = lua_text(lua, &k) else {
            return Err("named argument key given to redis.register_function is not a string");
        };
        if key.eq_ignore_ascii_case(b"function_name") {
            name = Some(
                lua_text(lua, &v).ok_or("function_name argument given to redis.register_function must be a string")?,
            );
        } else if key.eq_ignore_ascii_case(b"description") {
            desc = Some(
                lua_text(lua, &v).ok_or("description argument given to redis.register_function must be a string")?,
            );
        } else if key.eq_ignore_ascii_case(b"callback") {
            let LV::Function(f) = v else {
                return Err("callback argument given to redis.register_function must be a function");
            };
            callback = Some(f);
        } else if key.eq_ignore_ascii_case(b"flags") {
            let LV::Table(list) = v else {
                return Err("flags argument to redis.register_function must be a table representing function flags");
            };
            flags = read_flags(lua, &list).ok_or("unknown flag given")?;
        } else {
            return Err("unknown argument given to redis.register_function");
        }
    }
    let Some(name) = name else { return Err("redis.register_function must get a function name argument") };
    let Some(callback) = callback else { return Err("redis.register_function must get a callback argument") };
    Ok(Registration { name, desc, flags, callback })
}

/// The flags list {'no-writes', ...}: None on an unknown flag.
fn read_flags(lua: &Lua, list: &Table) -> Option<u64> {
    let mut flags = 0;
    for i in 1.. {
        let v: LV = list.raw_get(i).ok()?;
        if v.is_nil() {
            break;
        }
        let text = lua_text(lua, &v)?;
        let (bit, _) = FLAG_NAMES.iter().find(|(_, n)| text.eq_ignore_ascii_case(n.as_bytes()))?;
        flags |= bit;
    }
    Some(flags)
}

/// FUNCTION LOAD [REPLACE]: the library's name, or the error reply.
pub fn load(code: &Bytes, replace: bool) -> Result<String, String> {
    with_functions(|fe| {
        let (name, meta) = library_name(code)?;
        if !replace && fe.libs.libs.contains_key(&name) {
            return Err(format!("ERR Library '{name}' already exists"));
        }
        let lib = create_library(&fe.engine, code, name, &meta)?;
        if let Some(e) = fe.libs.collision(&lib, |owner| owner == lib.name) {
            return Err(e);
        }
        let name = lib.name.clone();
        fe.libs.remove(&name);
        fe.libs.insert(lib);
        Ok(name)
    })
}

/// FUNCTION DELETE.
pub fn delete(name: &[u8]) -> Result<(), String> {
    with_functions(|fe| {
        let name = String::from_utf8_lossy(name);
        fe.libs.remove(&name).map(|_| ()).ok_or_else(|| "ERR Library not found".to_string())
    })
}

/// FUNCTION FLUSH: all libraries, and the interpreter with them.
pub fn flush() {
    FUNCTIONS.with(|cell| {
        if let Ok(mut slot) = cell.try_borrow_mut() {
            *slot = None;
        }
    });
}

/// The code of every library, for RDB files.
pub fn codes() -> Vec<Vec<u8>> {
    with_functions(|fe| Ok(fe.libs.libs.values().map(|l| l.code.to_vec()).collect())).unwrap_or_default()
}

/// Libraries, functions and the bytes of the function interpreter's heap
/// (FUNCTION STATS, INFO), without starting an interpreter.
pub fn vm_stats() -> (usize, usize, usize) {
    FUNCTIONS.with(|cell| match cell.try_borrow() {
        Ok(slot) => slot
            .as_ref()
            .map_or((0, 0, 0), |fe| (fe.libs.libs.len(), fe.libs.by_function.len(), fe.engine.lua.used_memory())),
        Err(_) => {
            let (libraries, functions) = RUNNING_COUNTS.get();
            (libraries, functions, 0)
        }
    })
}

/// What a flagged script (a shebang or a function) may do out of memory,
/// checked before it runs as Redis does: one that may write does not
/// start unless `allow-oom`, and with `allow-oom` its calls are not
/// refused either.
pub(crate) fn check_oom(srv: &mut Server, flags: u64) -> Result<(), String> {
    if !srv.evictor.oom_at_start || flags & NO_WRITES != 0 {
        return Ok(());
    }
    if flags & ALLOW_OOM == 0 {
        return Err("OOM command not allowed when used memory > 'maxmemory'.".into());
    }
    srv.evictor.oom_at_start = false;
    Ok(())
}

/// Replaces all libraries by those of an RDB file, as a load replaces the
/// dataset; a library that does not load fails the whole load, as Redis.
pub fn load_from_rdb(codes: &[Vec<u8>]) -> Result<(), String> {
    flush();
    let mut libs = Libraries::default();
    with_functions(|fe| {
        for code in codes {
            add_to(&fe.engine, &mut libs, &Bytes::copy_from_slice(code))
                .map_err(|e| format!("Failed loading library, {}", e.trim_start_matches("ERR ")))?;
        }
        fe.libs = libs;
        Ok(())
    })
}

/// Creates a library from `code` into `libs`, which must not have it.
fn add_to(engine: &Engine, libs: &mut Libraries, code: &Bytes) -> Result<(), String> {
    let (name, meta) = library_name(code)?;
    if libs.libs.contains_key(&name) {
        return Err(format!("ERR Library '{name}' already exists"));
    }
    let lib = create_library(engine, code, name, &meta)?;
    if let Some(e) = libs.collision(&lib, |_| false) {
        return Err(e);
    }
    libs.insert(lib);
    Ok(())
}

/// FUNCTION DUMP: one FUNCTION2 opcode and code string per library, then
/// the RDB version and the CRC64, as a DUMP payload.
pub fn dump(opts: &rdb::SaveOptions) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = with_functions(|fe| {
        for lib in fe.libs.libs.values() {
            out.push(rdb::OP_FUNCTION2);
            rdb::write_string(&mut out, &lib.code, opts.compress);
        }
        Ok(())
    });
    out.extend_from_slice(&opts.version.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

#[derive(Clone, Copy, PartialEq)]
pub enum RestorePolicy {
    Append,
    Replace,
    Flush,
}

/// FUNCTION RESTORE: the payload's libraries are created apart first, then
/// joined to the current ones according to the policy (all or nothing).
pub fn restore(payload: &[u8], policy: RestorePolicy) -> Result<(), String> {
    if !rdb::verify_dump_payload(payload) {
        return Err("ERR DUMP payload version or checksum are wrong".into());
    }
    with_functions(|fe| {
        let mut incoming = Libraries::default();
        let mut rest = &payload[..payload.len() - 10];
        while let Some((&t, tail)) = rest.split_first() {
            rest = tail;
            match t {
                rdb::OP_FUNCTION_PRE_GA => return Err("ERR Pre-GA function format not supported".into()),
                rdb::OP_FUNCTION2 => {}
                _ => return Err("ERR given type is not a function".into()),
            }
            let code =
                rdb::Reader::new(&mut rest).string().map_err(|_| "ERR Failed loading library payload".to_string())?;
            add_to(&fe.engine, &mut incoming, &Bytes::from(code))?;
        }
        if policy == RestorePolicy::Flush {
            fe.libs = incoming;
            return Ok(());
        }
        let replace = policy == RestorePolicy::Replace;
        for name in incoming.libs.keys() {
            if !replace && fe.libs.libs.contains_key(name) {
                return Err(format!("ERR Library {name} already exists"));
            }
        }
        for lib in incoming.libs.values() {
            if let Some(e) = fe.libs.collision(lib, |owner| replace && incoming.libs.contains_key(owner)) {
                return Err(e);
            }
        }
        for (name, lib) in std::mem::take(&mut incoming.libs) {
            fe.libs.remove(&name);
            fe.libs.insert(lib);
        }
        Ok(())
    })
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
pub fn list(out: &mut Out, pattern: Option<&[u8]>, with_code: bool) {
    let _ = with_functions(|fe| {
        let libs: Vec<&Library> = fe
            .libs
            .libs
            .values()
            .filter(|l| pattern.is_none_or(|p| crate::util::glob_match(p, l.name.as_bytes(), true)))
            .collect();
        out.array(libs.len());
        for lib in libs {
            out.map(if with_code { 4 } else { 3 });
            out.bulk(b"library_name");
            out.bulk(lib.name.as_bytes());
            out.bulk(b"engine");
            out.bulk(ENGINE_NAME.as_bytes());
            out.bulk(b"functions");
            out.array(lib.functions.len());
            for f in &lib.functions {
                out.map(3);
                out.bulk(b"name");
                out.bulk(f.name.as_bytes());
                out.bulk(b"description");
                match &f.desc {
                    Some(d) => out.bulk(d),
                    None => out.null(),
                }
                out.bulk(b"flags");
                let names: Vec<&str> = FLAG_NAMES.iter().filter(|(b, _)| f.flags & b != 0).map(|(_, n)| *n).collect();
                out.set(names.len());
                for n in names {
                    out.simple(n);
                }
            }
            if with_code {
                out.bulk(b"library_code");
                out.bulk(&lib.code);
            }
        }
        Ok(())
    });
}

/// FUNCTION STATS, with the script `running` past busy-reply-threshold if
/// any; refused while that is an EVAL script, as Redis.
pub fn stats(out: &mut Out, running: Option<&super::BusyScript>) -> Result<(), &'static str> {
    if let Some(r) = running.filter(|r| r.kind == ScriptKind::Eval) {
        return Err(r.kind.busy_error());
    }
    let (libraries, functions, _) = vm_stats();
    out.map(2);
    out.bulk(b"running_script");
    match running {
        None => out.null(),
        Some(r) => {
            out.map(3);
            out.bulk(b"name");
            out.bulk(r.name.as_bytes());
            out.bulk(b"command");
            out.array(r.command.len());
            for a in &r.command {
                out.bulk(a);
            }
            out.bulk(b"duration_ms");
            out.int(r.started.elapsed().as_millis() as i64);
        }
    }
    out.bulk(b"engines");
    out.map(1);
    out.bulk(ENGINE_NAME.as_bytes());
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libraries as i64);
    out.bulk(b"functions_count");
    out.int(functions as i64);
    Ok(())
}

/// FCALL / FCALL_RO `args` (args[1] the function, args[2] numkeys):
/// writes the function's reply, or returns the error reply.
pub fn fcall(srv: &mut Server, client: &mut Client, args: &[Bytes], ro: bool, started: Instant) -> Result<(), String> {
    with_functions(|fe| {
        let wanted = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
        let Some(owner) = fe.libs.by_function.get(&wanted) else {
            return Err("ERR Function not found".into());
        };
        let Some(f) =
            fe.libs.libs.get(owner).and_then(|l| l.functions.iter().find(|f| f.name.eq_ignore_ascii_case(&wanted)))
        else {
            return Err("ERR Function not found".into());
        };
        let numkeys = crate::util::parse_i64(&args[2]).ok_or("ERR Bad number of keys provided")?;
        let available = args.len() - 3;
        if numkeys > available as i64 {
            return Err("ERR Number of keys can't be greater than number of args".into());
        }
        if numkeys < 0 {
            return Err("ERR Number of keys can't be negative".into());
        }
        let no_writes = f.flags & NO_WRITES != 0;
        if ro && !no_writes {
            return Err("ERR Can not execute a script with write flag using *_ro command.".into());
        }
        check_oom(srv, f.flags)?;
        let (keys, argv) = args[3..].split_at(numkeys as usize);
        let callback: Function = fe.engine.lua.registry_value(&f.callback).map_err(|e| format!("ERR {e}"))?;
        let args = ScriptArgs { command: args, started, keys, argv, as_globals: false };
        RUNNING_COUNTS.set((fe.libs.libs.len(), fe.libs.by_function.len()));
        run_script(&fe.engine, callback, &f.name, srv, client, args, ro || no_writes).map_err(|e| format!("ERR {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_line() {
        let m = parse_metadata(b"#!lua name=lib\nreturn").map_err(|e| e.to_string());
        let m = m.ok().filter(|m| m.engine == b"lua" && m.name == b"lib" && m.body == 14);
        assert!(m.is_some());
        let err = |code: &[u8]| parse_metadata(code).err().unwrap_or_default();
        assert_eq!(err(b"return 1"), "ERR Missing library metadata");
        assert_eq!(err(b"#!lua name=x"), "ERR Invalid library metadata");
        assert_eq!(err(b"#!lua name=\"a\n"), "ERR Invalid library metadata");
        assert_eq!(err(b"#!lua\n"), "ERR Library name was not given");
        assert_eq!(err(b"#!lua name=a x=b\n"), "ERR Invalid metadata value given: x=b");
        assert_eq!(err(b"#!lua name=a NAME=b\n"), "ERR Invalid metadata value, name argument was given multiple times");
        assert!(valid_name(b"a_1Z") && !valid_name(b"") && !valid_name(b"a-b"));
    }
}
