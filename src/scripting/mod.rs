//! Lua scripting as Redis 7.2: one embedded Lua 5.1 interpreter (Redis
//! embeds 5.1 too) with Redis's sandbox — no `io`, `os`, `package`,
//! `debug`, `print`, `dofile`/`loadfile`, no binary chunks, globals and
//! library tables read-only — the `redis` library (`call`, `pcall`,
//! `error_reply`, `status_reply`, `sha1hex`, `log`, `setresp`,
//! `set_repl`, `replicate_commands`), the script cache keyed by SHA1, and
//! the conversions between RESP and Lua values Redis documents.
//!
//! Commands called from a script run on the calling client itself through
//! `executor::call`; their reply is parsed back from the client's output
//! buffer (see `parse_reply`) and cut off again.
//!
//! Busy scripts: past busy-reply-threshold, the script's hook serves the
//! other clients between instructions (`server::busy`), who get -BUSY for
//! all but a few commands; SCRIPT KILL or FUNCTION KILL ends a script that
//! has not written, SHUTDOWN NOSAVE ends the server (`check_budget`).
//!
//! The cjson, cmsgpack, bit and struct libraries are Redis's, written
//! against Lua's C API (capi.rs); FUNCTION libraries are in `functions`.
//! Not present: SCRIPT DEBUG.

mod bit;
mod call;
mod capi;
mod cjson;
mod cmsgpack;
pub mod functions;
mod lua_struct;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mlua::{ChunkMode, Function, Lua, LuaOptions, RegistryKey, StdLib, Table, Value as LV, Variadic};

use crate::executor::Server;
use crate::server::client::Client;

/// Sandbox and helpers written in Lua, run once per interpreter with full
/// access; returns the table `impl` whose `call`/`setresp` slots Rust fills
/// for each run, the error handler runner and the script environment.
const BOOTSTRAP: &str = r#"
local G = _G
local tbl = table
local dbg = debug
local rawget, rawset, error, type, tostring, setmetatable, xpcall, setfenv =
      rawget, rawset, error, type, tostring, setmetatable, xpcall, setfenv
local impl = ...

-- Redis's __redis__err__handler: string errors become {err='ERR ...'},
-- and the error records where in the user's script it was raised (C
-- frames and our own helpers skipped).
local function handler(err)
  local level, i = 2, nil
  while true do
    i = dbg.getinfo(level, 'nSl')
    if i == nil or (i.what ~= 'C' and i.what ~= 'tail' and i.source ~= '=oxkey') then break end
    level = level + 1
  end
  if type(err) ~= 'table' then
    -- redis.call (Rust) leaves the error table it raises in impl.pending.
    local pending = rawget(impl, 'pending')
    if pending ~= nil then
      err = pending
      impl.pending = nil
    else
      err = {err = 'ERR ' .. tostring(err)}
    end
  end
  if i then err.source = i.source; err.line = i.currentline end
  return err
end

-- Runs f under the error handler with the request's keys and arguments,
-- which fill_args (Rust) builds from what `args` points to: it sets the
-- globals KEYS and ARGV of a script, returns a function's two parameters
-- (and clears impl.pending).
local fill_args = impl.fill_args
local function run(f, args, as_globals)
  if as_globals then
    fill_args(args, impl)
    return xpcall(f, handler)
  end
  local keys, argv = fill_args(args, impl)
  return xpcall(function() return f(keys, argv) end, handler)
end

local function readonly()
  error('Attempt to modify a readonly table', 2)
end

-- The environment scripts see (filled in at the end): its reads go
-- straight to the globals, a table __index and no call; writes fail.
local env_mt = {__newindex = readonly, __metatable = false}
local env = setmetatable({}, env_mt)

-- Read-only views of library tables (Redis 7 marks them read-only): the
-- proxy -> table map lets rawset, setmetatable and table.insert refuse
-- them, and rawget, next and pairs see through them.
local protected = setmetatable({}, {__mode = 'k'})
local function ro(t)
  local p = setmetatable({}, {__index = t, __newindex = readonly, __metatable = false})
  protected[p] = t
  return p
end

local redis = {}
-- redis.call and redis.pcall are set from Rust (once per interpreter): as C
-- functions they keep the caller's frame on a tail call, for the error's line.
-- Redis's luaPushErrorBuff: "-CODE msg" keeps its code, anything else
-- gets ERR.
redis.error_reply = function(msg)
  if type(msg) ~= 'string' then error('wrong number or type of arguments', 2) end
  if msg:sub(1, 1) ~= '-' then msg = '-' .. msg end
  local sp = msg:find(' ', 1, true)
  local code, text = 'ERR', msg:sub(2)
  if sp ~= nil then code, text = msg:sub(2, sp - 1), msg:sub(sp + 1) end
  text = (text:gsub('^[\r\n]+', ''))
  text = (text:gsub('[\r\n]+$', ''))
  return {err = code .. ' ' .. text}
end
redis.status_reply = function(msg)
  if type(msg) ~= 'string' then error('wrong number or type of arguments', 2) end
  return {ok = msg}
end
redis.log = function(level, ...)
  if select('#', ...) == 0 then error('redis.log() requires two arguments or more.', 2) end
  if type(level) ~= 'number' then error('First argument must be a number (log level).', 2) end
end
redis.set_repl = function(v)
  if type(v) ~= 'number' then error('redis.set_repl() requires one argument.', 2) end
end
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION = impl.version
redis.REDIS_VERSION_NUM = impl.version_num

-- pcall(redis.call, ...) gets the message of the error redis.call raised
-- (Redis raises the err string to Lua code, the table to the script's caller).
local orig_pcall = pcall
local function fix_pcall(ok, ...)
  if not ok then
    local pending = rawget(impl, 'pending')
    if pending ~= nil then
      -- A killed script's error goes through every pcall to its end.
      if rawget(impl, 'killed') then error(pending, 0) end
      impl.pending = nil
      return false, pending.err
    end
  end
  return ok, ...
end
G.pcall = function(...) return fix_pcall(orig_pcall(...)) end

-- Binary chunks would bypass the parser's checks: Redis's Lua parses
-- them as text, which fails at once; these give its error (luaO_chunkid
-- names the chunk).
local orig_loadstring, sdump = loadstring, string.dump
-- (Redis's Lua has LUA_IDSIZE 80.)
local function chunkid(name)
  local c = name:sub(1, 1)
  if c == '=' then return name:sub(2, 80) end
  if c == '@' then return #name <= 73 and name:sub(2) or '...' .. name:sub(-72) end
  local line = name:match('^[^\r\n]*')
  if #line > 63 then line = line:sub(1, 63) end
  if #line < #name then line = line .. '...' end
  return '[string "' .. line .. '"]'
end
local function binary_error(name)
  return nil, chunkid(name) .. ":1: unexpected symbol near 'char(27)'"
end
-- Code they load sees the scripts' environment, not the real globals.
local function in_env(f, ...)
  if f then setfenv(f, env) end
  return f, ...
end
G.loadstring = function(s, name)
  if type(s) == 'string' and s:byte(1) == 27 then return binary_error(type(name) == 'string' and name or s) end
  return in_env(orig_loadstring(s, name))
end
G.load = function(...)
  local f, name = ...
  if type(f) ~= 'function' then
    local got = select('#', ...) == 0 and 'no value' or type(f)
    error("bad argument #1 to '" .. (dbg.getinfo(1, 'n').name or '?') .. "' (function expected, got " .. got .. ")", 2)
  end
  local parts = {}
  while true do
    local piece = f()
    if piece == nil or piece == '' then break end
    if type(piece) ~= 'string' then return nil, 'reader function must return a string' end
    parts[#parts + 1] = piece
  end
  local code = tbl.concat(parts)
  name = type(name) == 'string' and name or '=(load)'
  if code:byte(1) == 27 then return binary_error(name) end
  return in_env(orig_loadstring(code, name))
end
-- The sandbox's own functions are C functions in Redis: not dumpable.
-- (Being Lua here, a tail call to them loses the caller's position in
-- their errors: `return string.dump(pcall)` has none.)
rawset(string, 'dump', function(f, ...)
  if type(f) == 'function' and dbg.getinfo(f, 'S').source == '=oxkey' then
    error('unable to dump given function', 2)
  end
  return sdump(f, ...)
end)
G.dofile, G.loadfile, G.print, G.debug, G.setfenv, G.getfenv, G.newproxy, G.module, G.require =
  nil, nil, nil, nil, nil, nil, nil, nil, nil
-- Of os only clock (Redis 7.2).
local os_clock = os.clock
G.package, G.io, G.os = nil, nil, nil
G.redis = ro(redis)
G.server = G.redis
G.string, G.table, G.math, G.coroutine = ro(string), ro(table), ro(math), ro(coroutine)
G.os = ro({clock = os_clock})
G.cjson, G.cmsgpack, G.bit, G.struct = ro(impl.cjson), ro(impl.cmsgpack), ro(impl.bit), ro(impl.struct)
impl.cjson, impl.cmsgpack, impl.bit, impl.struct = nil, nil, nil, nil

local function writable(t)
  if protected[t] ~= nil then error('Attempt to modify a readonly table', 0) end
  return t
end
-- The first argument of rawget/next/pairs, with Lua's error for a
-- non-table (naming the function as its caller did).
local function table_arg(n, t)
  if type(t) ~= 'table' then
    local got = n == 0 and 'no value' or type(t)
    local name = dbg.getinfo(2, 'n').name or '?'
    error("bad argument #1 to '" .. name .. "' (table expected, got " .. got .. ")", 3)
  end
  return protected[t] or t
end
local raw_next, raw_get, raw_getmt, raw_set = next, rawget, getmetatable, rawset
G.rawset = function(t, k, v) return raw_set(writable(t), k, v) end
G.setmetatable = function(t, m) return setmetatable(writable(t), m) end
G.rawget = function(...) return raw_get(table_arg(select('#', ...), (...)), select(2, ...)) end
G.next = function(...) return raw_next(table_arg(select('#', ...), (...)), select(2, ...)) end
G.pairs = function(...)
  local t = table_arg(select('#', ...), (...))
  return raw_next, t, nil
end
-- (table.remove and table.sort write nothing to an empty proxy.)
local tinsert = tbl.insert
rawset(tbl, 'insert', function(t, ...) return tinsert(writable(t), ...) end)
-- The strings' metatable, seen read-only (its __index is the string proxy).
local string_mt = raw_getmt('')
local string_mt_view = ro({__index = G.string})
G.getmetatable = function(o)
  local m = raw_getmt(o)
  if m == string_mt then return string_mt_view end
  if protected[o] ~= nil then return nil end
  return m
end

-- What FUNCTION LOAD's code sees instead of the globals: only a `redis`
-- with register_function (set from Rust during a load), log and the
-- version constants, as Redis's library API; its missing fields are errors.
local load_redis = {
  log = redis.log, REDIS_VERSION = redis.REDIS_VERSION, REDIS_VERSION_NUM = redis.REDIS_VERSION_NUM,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
}
-- Reads of missing globals fail: the globals' own __index (and
-- load_globals' and load_redis'), reached only for a missing one. In the
-- functions' interpreter, while a library loads (impl.set_loading), the
-- environment reads load_globals instead.
local function missing(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local load_globals = {redis = ro(setmetatable(load_redis, {__index = missing}))}
load_globals.server = load_globals.redis

setmetatable(load_globals, {__index = missing})
setmetatable(G, {__index = missing})
env_mt.__index = G
if impl.functions then
  impl.set_loading = function(on) env_mt.__index = on and load_globals or G end
end
G._G = env
protected[env] = G
return impl, run, env, redis, load_redis
"#;

/// Named registry slot of the bootstrap's `impl` table.
const IMPL: &str = "oxkey_impl";

pub(crate) const LUA_MEMORY_LIMIT: usize = 1 << 30;

struct Script {
    func: RegistryKey,
    /// The flags of a `#!lua flags=...` first line; None for a script
    /// without one (Redis's EVAL compatibility mode).
    flags: Option<u64>,
}

/// A script's `#!lua [flags=a,b]` line (evalExtractShebangFlags): its
/// flags and length, or (None, 0) without one.
fn parse_shebang(body: &[u8]) -> Result<(Option<u64>, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((None, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let parts = match crate::protocol::decode::split_args(&body[..end]) {
        Some(p) if !p.is_empty() => p,
        _ => return Err("ERR Invalid engine in script shebang".into()),
    };
    if parts[0] != b"#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {}", String::from_utf8_lossy(&parts[0])));
    }
    let mut flags = 0;
    for part in &parts[1..] {
        let Some(list) = part.strip_prefix(b"flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {}", String::from_utf8_lossy(part)));
        };
        if list.is_empty() {
            continue;
        }
        for name in list.split(|&b| b == b',') {
            match functions::FLAG_NAMES.iter().find(|(_, n)| n.as_bytes() == name) {
                Some((bit, _)) => flags |= bit,
                None => {
                    return Err(format!("ERR Unexpected flag in script shebang: {}", String::from_utf8_lossy(name)))
                }
            }
        }
    }
    Ok((Some(flags), end))
}

pub struct Engine {
    lua: Lua,
    impl_tbl: RegistryKey,
    run: RegistryKey,
    env: RegistryKey,
    /// The `redis` table of FUNCTION LOAD's code (see `functions`).
    load_redis: RegistryKey,
    scripts: HashMap<String, Script>,
}

/// What a running script's `redis.call` needs: the server and the client;
/// and its name and the command that runs it, for when it runs long.
struct RunState<'a> {
    srv: &'a mut Server,
    client: &'a mut Client,
    readonly: bool,
    name: &'a str,
    command: &'a [Bytes],
}

/// Publishes a `RunState` in `RUNNING` for as long as it lives.
struct Running;

impl Running {
    fn publish(state: &mut RunState) -> Running {
        RUNNING.set(Some(NonNull::from(state).cast()));
        Running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.set(None);
    }
}

thread_local! {
    static ENGINE: RefCell<Option<Engine>> = const { RefCell::new(None) };
    /// The running script's server and client, for `redis.call`: set by
    /// `run_script` while the script runs, empty otherwise. The callbacks
    /// are made once per interpreter; creating them for every run (scoped
    /// closures) cost more than a short script itself.
    static RUNNING: Cell<Option<NonNull<RunState<'static>>>> = const { Cell::new(None) };
    /// The protocol `redis.call` replies are converted from (redis.setresp).
    static RESP: Cell<u8> = const { Cell::new(2) };
    /// The running script's time budget (None: no limit).
    static BUDGET: Cell<Option<Budget>> = const { Cell::new(None) };
}

/// What kind of script runs: which KILL ends it, what BUSY says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ScriptKind {
    Eval,
    Function,
}

impl ScriptKind {
    /// The error other clients get while such a script runs long.
    pub fn busy_error(self) -> &'static str {
        match self {
            ScriptKind::Eval => {
                "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
            }
            ScriptKind::Function => {
                "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
            }
        }
    }

    fn kill_command(self) -> &'static str {
        match self {
            ScriptKind::Eval => "SCRIPT KILL",
            ScriptKind::Function => "FUNCTION KILL",
        }
    }
}

/// A script past busy-reply-threshold (`Server::busy`), as FUNCTION STATS
/// shows it.
pub struct BusyScript {
    pub kind: ScriptKind,
    pub name: String,
    pub command: Vec<Bytes>,
    pub started: Instant,
}

#[derive(Clone, Copy)]
struct Budget {
    started: Instant,
    deadline: Instant,
    kind: ScriptKind,
    /// Whether the script has written yet: a script that wrote cannot be
    /// stopped without breaking its atomicity, as Redis's UNKILLABLE.
    wrote: bool,
    /// FUNCTION LOAD's code, which always ends at its deadline.
    loading: bool,
    /// Past the deadline: other clients are served meanwhile.
    timed_out: bool,
    /// SCRIPT KILL or FUNCTION KILL asked for its end.
    killed: bool,
}

impl Budget {
    fn new(started: Instant, limit: Duration, kind: ScriptKind, loading: bool) -> Budget {
        Budget { started, deadline: started + limit, kind, wrote: false, loading, timed_out: false, killed: false }
    }
}

/// How long FUNCTION LOAD's code may run (Redis's LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT: Duration = Duration::from_millis(500);

/// Instructions between two clock checks of a running script.
const HOOK_EVERY: u32 = 100_000;

const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

/// The hook of a running script, as Redis's `luaMaskCountHook`: past
/// busy-reply-threshold it serves the other clients each time, and ends
/// the script once one of them killed it. A threshold of 0 means no limit.
fn check_budget(lua: &Lua, _: mlua::Debug) -> mlua::Result<()> {
    let Some(mut b) = BUDGET.get() else { return Ok(()) };
    if !b.timed_out {
        if Instant::now() < b.deadline {
            return Ok(());
        }
        if b.loading {
            return Err(raise(lua, "ERR FUNCTION LOAD timeout"));
        }
        b.timed_out = true;
        BUDGET.set(Some(b));
        serve_others(Some(b));
    } else if !b.killed {
        serve_others(None);
    }
    if !BUDGET.get().is_some_and(|b| b.killed) {
        return Ok(());
    }
    tracing::warn!("Lua script killed by user with SCRIPT KILL.");
    // No pcall in the script may catch this error (see fix_pcall).
    let impl_tbl: Table = lua.named_registry_value(IMPL)?;
    impl_tbl.raw_set("killed", true)?;
    Err(raise(lua, KILLED))
}

/// One pass of `server::busy` over the other clients; the first one
/// (`timed_out`: the budget that just ran out) marks the server busy. A
/// SHUTDOWN NOSAVE among what they sent ends the process here.
fn serve_others(timed_out: Option<Budget>) {
    let Some(mut ptr) = RUNNING.take() else { return };
    // SAFETY: as in `call::run_command`: the RunState outlives the run,
    // and taken out of RUNNING the pointer is the only way to it.
    let st = unsafe { ptr.as_mut() };
    if let Some(b) = timed_out {
        tracing::warn!(
            "Slow script detected: still in execution after {} milliseconds. You can try killing the script using \
             the {} command. Script name is: {}.",
            b.deadline.duration_since(b.started).as_millis(),
            b.kind.kill_command(),
            st.name
        );
        let busy =
            BusyScript { kind: b.kind, name: st.name.to_string(), command: st.command.to_vec(), started: b.started };
        st.srv.busy = Some(busy);
    }
    crate::server::busy::serve(st.srv);
    if st.srv.shutdown.is_some() {
        crate::server::exit_from_script(st.srv);
    }
    RUNNING.set(Some(ptr));
}

/// SCRIPT KILL (`kind` Eval) or FUNCTION KILL (Function), as Redis's
/// `scriptKill`: the error to reply, if the script cannot be killed.
pub fn kill(kind: ScriptKind) -> Result<(), &'static str> {
    let Some(mut b) = BUDGET.get().filter(|b| b.timed_out) else {
        return Err("NOTBUSY No scripts in execution right now.");
    };
    if b.wrote {
        return Err("UNKILLABLE Sorry the script already executed write commands against the dataset. You can \
                    either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE \
                    command.");
    }
    if b.kind != kind {
        return Err(b.kind.busy_error());
    }
    b.killed = true;
    BUDGET.set(Some(b));
    Ok(())
}

impl Engine {
    /// An interpreter for EVAL scripts, or (`functions`) for function
    /// libraries, whose global lookups also serve FUNCTION LOAD.
    fn new(functions: bool) -> mlua::Result<Engine> {
        // SAFETY: the debug and os libraries are loaded for the error
        // handler and os.clock only; the bootstrap removes them from the
        // scripts' view.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG | StdLib::OS,
                LuaOptions::default(),
            )
        };
        // A script must not take the server's memory with it
        // (`string.rep('x', 1e10)`): past this, allocations fail with
        // "not enough memory", an ordinary script error.
        lua.set_memory_limit(LUA_MEMORY_LIMIT)?;
        lua.set_hook(mlua::HookTriggers::new().every_nth_instruction(HOOK_EVERY), check_budget);
        let (impl_tbl, run, env, load_redis) = {
            let chunk = lua.load(BOOTSTRAP).set_name("=oxkey");
            let f = chunk.into_function()?;
            let impl_pre: Table = lua.create_table()?;
            impl_pre.set("version", crate::REDIS_COMPAT_VERSION)?;
            impl_pre.set("version_num", version_num(crate::REDIS_COMPAT_VERSION))?;
            impl_pre.set("functions", functions)?;
            // SAFETY: fill_args keeps to capi.rs's discipline.
            impl_pre.set("fill_args", unsafe { lua.create_c_function(fill_args)? })?;
            let libs: [(&str, mlua::ffi::lua_CFunction); 4] = [
                ("cjson", cjson::open),
                ("cmsgpack", cmsgpack::open),
                ("bit", bit::open),
                ("struct", lua_struct::open),
            ];
            for (name, open) in libs {
                // SAFETY: the libraries are written against the C API with
                // the discipline capi.rs describes.
                let lib: Table = unsafe { lua.create_c_function(open)? }.call(())?;
                impl_pre.set(name, lib)?;
            }
            let (impl_tbl, run, env, redis, load_redis): (Table, Function, Table, Table, Table) = f.call(impl_pre)?;
            lua.set_named_registry_value(IMPL, impl_tbl.clone())?;
            call::install(&lua, &impl_tbl, &redis)?;
            redis.raw_set(
                "setresp",
                lua.create_function(|lua, v: LV| {
                    match v {
                        LV::Integer(n @ (2 | 3)) => RESP.set(n as u8),
                        LV::Number(n) if n == 2.0 || n == 3.0 => RESP.set(n as u8),
                        _ => return Err(raise(lua, "ERR RESP version must be 2 or 3.")),
                    }
                    Ok(())
                })?,
            )?;
            redis.raw_set(
                "sha1hex",
                lua.create_function(|lua, args: Variadic<LV>| {
                    // As lua_tolstring: a value with no string form hashes as "".
                    match args.first() {
                        Some(v) if args.len() == 1 => match lua.coerce_string(v.clone())? {
                            Some(t) => Ok(sha1_hex(t.as_bytes())),
                            None => Ok(sha1_hex(b"")),
                        },
                        _ => Err(raise(lua, "ERR wrong number of arguments")),
                    }
                })?,
            )?;
            (
                lua.create_registry_value(impl_tbl)?,
                lua.create_registry_value(run)?,
                lua.create_registry_value(env)?,
                lua.create_registry_value(load_redis)?,
            )
        };
        Ok(Engine { lua, impl_tbl, run, env, load_redis, scripts: HashMap::default() })
    }

    /// Compiles `body` and caches it under its SHA1 (hex).
    fn load(&mut self, body: &Bytes) -> Result<String, String> {
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, skip) = parse_shebang(body)?;
        let env: Table = self.lua.registry_value(&self.env).map_err(|e| e.to_string())?;
        // Past the shebang, from its newline: line numbers stay the user's.
        let func = self
            .lua
            .load(&body[skip..])
            .set_name("@user_script")
            .set_mode(ChunkMode::Text)
            .set_environment(env)
            .into_function()
            .map_err(|e| format!("ERR Error compiling script (new function): {}", lua_error_text(&e)))?;
        let func = self.lua.create_registry_value(func).map_err(|e| e.to_string())?;
        self.scripts.insert(sha.clone(), Script { func, flags });
        Ok(sha)
    }
}

fn lua_error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::RuntimeError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// "7.2.4" -> 0x070204, as REDIS_VERSION_NUM.
fn version_num(v: &str) -> i64 {
    v.split('.').take(3).fold(0, |acc, p| acc * 256 + p.parse::<i64>().unwrap_or(0))
}

fn with_engine<R>(f: impl FnOnce(&mut Engine) -> R) -> Result<R, String> {
    ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = Some(Engine::new(false).map_err(|e| format!("ERR Lua initialisation failed: {e}"))?);
        }
        match slot.as_mut() {
            Some(engine) => Ok(f(engine)),
            None => Err("ERR Lua initialisation failed".to_string()),
        }
    })
}

/// SCRIPT LOAD: compiles and caches; the SHA1 or the error reply text.
pub fn load(body: &Bytes) -> Result<String, String> {
    with_engine(|e| e.load(body))?
}

/// A digest as the script cache keys it: lower case, in `buf`. Hex digits
/// come in either case; anything not 40 bytes long names no script.
pub fn digest_key<'a>(sha: &[u8], buf: &'a mut [u8; 40]) -> Option<&'a str> {
    if sha.len() != buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(sha) {
        *d = s.to_ascii_lowercase();
    }
    std::str::from_utf8(buf).ok()
}

pub fn exists(sha: &[u8]) -> bool {
    let mut buf = [0u8; 40];
    let Some(sha) = digest_key(sha, &mut buf) else { return false };
    with_engine(|e| e.scripts.contains_key(sha)).unwrap_or(false)
}

/// For INFO: the cached scripts and the bytes of the EVAL interpreter's
/// heap (none before the first script).
pub fn eval_stats() -> (usize, usize) {
    ENGINE.with(|cell| match cell.try_borrow() {
        Ok(slot) => slot.as_ref().map_or((0, 0), |e| (e.scripts.len(), e.lua.used_memory())),
        Err(_) => (0, 0),
    })
}

/// SCRIPT FLUSH: drops the cache and the interpreter with it (globals a
/// script leaked through rawset go too), as Redis recreates its Lua state.
pub fn flush() {
    ENGINE.with(|cell| *cell.borrow_mut() = None);
}

/// Runs the cached script `sha` (lower case) with KEYS and ARGV, writing
/// its reply to `client.out`. Returns false if no such script is cached.
pub(crate) fn run(srv: &mut Server, client: &mut Client, sha: &str, args: ScriptArgs, readonly: bool) -> bool {
    let outcome = ENGINE.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            match Engine::new(false) {
                Ok(e) => *slot = Some(e),
                Err(e) => return Some(Err(format!("ERR Lua initialisation failed: {e}"))),
            }
        }
        let engine = slot.as_mut()?;
        let script = engine.scripts.get(sha)?;
        let func: Function = match engine.lua.registry_value(&script.func) {
            Ok(f) => f,
            Err(e) => return Some(Err(format!("ERR {e}"))),
        };
        let mut readonly = readonly;
        if let Some(flags) = script.flags {
            let no_writes = flags & functions::NO_WRITES != 0;
            if readonly && !no_writes {
                return Some(Err("ERR Can not execute a script with write flag using *_ro command.".into()));
            }
            readonly |= no_writes;
            if let Err(msg) = functions::check_oom(srv, flags) {
                return Some(Err(msg));
            }
        }
        Some(run_script(engine, func, sha, srv, client, args, readonly).map_err(|e| format!("ERR {e}")))
    });
    match outcome {
        None => false,
        Some(Ok(())) => true,
        Some(Err(msg)) => {
            client.out.error(&msg);
            true
        }
    }
}

/// A script's keys and arguments: EVAL's are the globals KEYS and ARGV, a
/// function gets them as its two parameters.
pub(crate) struct ScriptArgs<'a> {
    /// The whole command (EVAL ..., FCALL ...).
    pub command: &'a [Bytes],
    /// When that command started: the script's time budget counts from it.
    pub started: Instant,
    pub keys: &'a [Bytes],
    pub argv: &'a [Bytes],
    pub as_globals: bool,
}

/// `fill_args(p, impl)`: clears `impl.pending` and builds the KEYS and
/// ARGV tables of the `ScriptArgs` that the light userdata `p` points to,
/// with the C API (no Rust value and no registry reference per string):
/// set as the globals KEYS and ARGV for a script, returned for a
/// function. Only borrowed slices are live when a push raises a memory
/// error.
unsafe extern "C-unwind" fn fill_args(l: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    use mlua::ffi;
    let p = ffi::lua_touserdata(l, 1) as *const ScriptArgs;
    // SAFETY: run_script passes a pointer to its ScriptArgs, alive for the
    // whole call; anything else (a script cannot reach this function)
    // gets no tables.
    let Some(args) = p.as_ref() else { return 0 };
    if ffi::lua_type(l, 2) == ffi::LUA_TTABLE {
        ffi::lua_pushstring_(l, c"pending".as_ptr());
        ffi::lua_pushnil(l);
        ffi::lua_rawset(l, 2);
    }
    for (list, name) in [(args.keys, c"KEYS"), (args.argv, c"ARGV")] {
        if args.as_globals {
            ffi::lua_pushstring_(l, name.as_ptr());
        }
        ffi::lua_createtable(l, list.len().min(i32::MAX as usize) as std::ffi::c_int, 0);
        for (i, a) in list.iter().enumerate() {
            ffi::lua_pushlstring(l, a.as_ptr().cast(), a.len());
            ffi::lua_rawseti_(l, -2, (i + 1) as std::ffi::c_int);
        }
        if args.as_globals {
            ffi::lua_rawset(l, ffi::LUA_GLOBALSINDEX);
        }
    }
    if args.as_globals {
        0
    } else {
        2
    }
}

/// Runs `func` (a script body or a registered function) on `client`,
/// writing its reply or its error (`... script: <name>, on ...`).
pub(crate) fn run_script(
    engine: &Engine,
    func: Function,
    name: &str,
    srv: &mut Server,
    client: &mut Client,
    args: ScriptArgs,
    readonly: bool,
) -> mlua::Result<()> {
    let lua = &engine.lua;
    let runner: Function = lua.registry_value(&engine.run)?;
    let saved_db = client.db;
    let saved_resp = client.out.resp;
    let saved_no_block = client.no_block;
    let saved_in_script = client.in_script;
    client.no_block = true;
    client.in_script = true;
    let nested = srv.in_atomic_writes();
    srv.begin_atomic_writes();
    let threshold = srv.config.busy_reply_threshold;
    let kind = if args.as_globals { ScriptKind::Eval } else { ScriptKind::Function };
    BUDGET
        .set((threshold > 0).then(|| Budget::new(args.started, Duration::from_millis(threshold as u64), kind, false)));
    RESP.set(2);
    let mut state = RunState { srv, client, readonly, name, command: args.command };
    let ran: mlua::Result<(bool, LV)> = {
        let _running = Running::publish(&mut state);
        let ptr = mlua::LightUserData(std::ptr::from_ref(&args).cast_mut().cast());
        runner.call((func, ptr, args.as_globals))
    };
    let result = ran.map(|(ok, value)| {
        let out = &mut state.client.out;
        out.resp = saved_resp;
        if ok {
            write_value(out, &value, RESP.get(), 0);
        } else {
            write_script_error(out, &value, name);
        }
    });
    let budget = BUDGET.take();
    let RunState { srv, client, .. } = state;
    if budget.is_some_and(|b| b.timed_out) {
        srv.busy = None;
        crate::server::busy::finish(srv);
    }
    if budget.is_some_and(|b| b.killed) {
        if let Ok(impl_tbl) = lua.named_registry_value::<Table>(IMPL) {
            let _ = impl_tbl.raw_set("killed", LV::Nil);
        }
    }
    client.out.resp = saved_resp;
    client.db = saved_db;
    client.no_block = saved_no_block;
    client.in_script = saved_in_script;
    if !nested {
        srv.end_atomic_writes();
    }
    result
}

/// Raises `{err=msg}` from a Rust callback (through `impl.pending`).
fn raise(lua: &Lua, msg: &str) -> mlua::Error {
    let set = || -> mlua::Result<()> {
        let impl_tbl: Table = lua.named_registry_value(IMPL)?;
        let t = lua.create_table()?;
        t.raw_set("err", msg)?;
        impl_tbl.raw_set("pending", t)
    };
    match set() {
        Ok(()) => mlua::Error::RuntimeError(msg.to_string()),
        Err(e) => e,
    }
}

/// An error that ended the script: `-<err> script: <sha>, on <source>:<line>.`
fn write_script_error(out: &mut crate::protocol::Out, value: &LV, sha: &str) {
    let t = match value {
        LV::Table(t) => t,
        // Out of memory: Lua skips the handler and gives its message.
        LV::String(s) => return out.error(&format!("ERR {}", String::from_utf8_lossy(s.as_bytes()))),
        _ => {
            out.error("ERR Error running script (call to function returned an error that is not a table)");
            return;
        }
    };
    let msg = t.raw_get::<_, Option<mlua::String>>("err").ok().flatten();
    let msg =
        msg.map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned()).unwrap_or_else(|| "ERR unknown error".into());
    let source = t.raw_get::<_, Option<mlua::String>>("source").ok().flatten();
    let line = t.raw_get::<_, Option<i64>>("line").ok().flatten();
    match (source, line) {
        (Some(src), Some(line)) => {
            out.error(&format!("{msg} script: {sha}, on {}:{line}.", String::from_utf8_lossy(src.as_bytes())))
        }
        _ => out.error(&msg),
    }
}

/// Depth limit for nested replies and tables, far beyond real replies.
const MAX_DEPTH: usize = 128;

/// C's (long long) conversion of a double on x86, as Redis converts a
/// script's numbers: NaN and values out of range give the minimum.
fn c_long_long(n: f64) -> i64 {
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&n) {
        n as i64
    } else {
        i64::MIN
    }
}

/// Writes a script's return value as a reply, with Redis's Lua → RESP
/// rules. `resp` is the script's protocol (redis.setresp).
fn write_value(out: &mut crate::protocol::Out, v: &LV, resp: u8, depth: usize) {
    match v {
        LV::String(s) => out.bulk(s.as_bytes()),
        LV::Integer(i) => out.int(*i),
        LV::Number(n) => out.int(c_long_long(*n)),
        LV::Boolean(b) if resp == 2 => {
            if *b {
                out.int(1)
            } else {
                out.null()
            }
        }
        LV::Boolean(b) => out.boolean(*b),
        LV::Table(t) if depth < MAX_DEPTH => write_table(out, t, resp, depth),
        _ => out.null(),
    }
}

fn write_table(out: &mut crate::protocol::Out, t: &Table, resp: u8, depth: usize) {
    if let Ok(LV::String(e)) = t.raw_get::<_, LV>("err") {
        out.error(&String::from_utf8_lossy(e.as_bytes()));
        return;
    }
    if let Ok(LV::String(s)) = t.raw_get::<_, LV>("ok") {
        let s = String::from_utf8_lossy(s.as_bytes()).replace(['\r', '\n'], " ");
        out.simple(&s);
        return;
    }
    if let Ok(d) = t.raw_get::<_, LV>("double") {
        if let LV::Number(_) | LV::Integer(_) = d {
            let n = match d {
                LV::Number(n) => n,
                LV::Integer(i) => i as f64,
                _ => 0.0,
            };
            out.double(n);
            return;
        }
    }
    if let Ok(LV::String(s)) = t.raw_get::<_, LV>("big_number") {
        if out.resp == 3 {
            out.raw(b"(");
            out.raw(s.as_bytes());
            out.raw(b"\r\n");
        } else {
            out.bulk(s.as_bytes());
        }
        return;
    }
    if let Ok(LV::Table(m)) = t.raw_get::<_, LV>("map") {
        let pairs: Vec<(LV, LV)> = m.pairs::<LV, LV>().filter_map(Result::ok).collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            write_value(out, k, resp, depth + 1);
            write_value(out, v, resp, depth + 1);
        }
        return;
    }
    if let Ok(LV::Table(s)) = t.raw_get::<_, LV>("set") {
        let keys: Vec<LV> = s.pairs::<LV, LV>().filter_map(Result::ok).map(|(k, _)| k).collect();
        out.set(keys.len());
        for k in &keys {
            write_value(out, k, resp, depth + 1);
        }
        return;
    }
    // An array: elements 1, 2, ... up to the first nil.
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<_, LV>(i) {
            Ok(LV::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    out.array(items.len());
    for v in &items {
        write_value(out, v, resp, depth + 1);
    }
}

/// Number of keys from EVAL's numkeys argument: the count or the error
/// reply text.
pub fn parse_numkeys(arg: &[u8], available: usize) -> Result<usize, &'static str> {
    let n = crate::util::parse_i64(arg).ok_or("ERR value is not an integer or out of range")?;
    if n < 0 {
        return Err("ERR Number of keys can't be negative");
    }
    if n as u64 > available as u64 {
        return Err("ERR Number of keys can't be greater than number of args");
    }
    Ok(n as usize)
}

/// SHA1 (FIPS 180-4) as 40 lower-case hex digits.
pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::Digest;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(40);
    for b in sha1::Sha1::digest(data) {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_vectors() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(sha1_hex(b"return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
        let long = vec![b'a'; 1000];
        assert_eq!(sha1_hex(&long), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
        // Around the block and padding boundaries (values from sha1sum).
        for (n, want) in [
            (55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"),
            (56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"),
            (63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"),
            (64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"),
            (65, "11655326c708d70319be2610e8a57d9a5b959d3b"),
            (119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"),
            (120, "f34c1488385346a55709ba056ddd08280dd4c6d6"),
        ] {
            assert_eq!(sha1_hex(&vec![b'a'; n]), want, "{n} bytes");
        }
    }
}
