//! Lua scripting against a real server: RESP3 conversions, version
//! constants (7.2), scripts inside MULTI, the script cache, scripts that
//! recurse forever (busy.rs has those that never end). Expected replies are those of
//! redis-server (7.0.15 where 7.0 and 7.2 agree).

mod common;
mod reference;
use common::{Resp, TestServer};

fn eval(c: &mut common::RawConn, script: &str) -> Resp {
    c.cmd(&["EVAL", script, "0"])
}

#[test]
fn resp3_client_conversions() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    c.cmd(&["HSET", "h", "f", "v"]);
    c.cmd(&["HELLO", "3"]);
    // The script speaks RESP2 unless it calls redis.setresp(3).
    assert_eq!(eval(&mut c, "return true"), Resp::Int(1));
    assert_eq!(eval(&mut c, "return false"), Resp::Null);
    assert_eq!(eval(&mut c, "return nil"), Resp::Null);
    assert_eq!(eval(&mut c, "redis.setresp(3) return true"), Resp::Bool(true));
    assert_eq!(eval(&mut c, "redis.setresp(3) return false"), Resp::Bool(false));
    assert_eq!(eval(&mut c, "return {map={a=1}}"), Resp::Map(vec![(Resp::bulk("a"), Resp::Int(1))]));
    assert_eq!(eval(&mut c, "return {set={a=true}}"), Resp::Set(vec![Resp::bulk("a")]));
    assert_eq!(eval(&mut c, "return {double=1.5}"), Resp::Double("1.5".into()));
    assert_eq!(
        eval(&mut c, "return {big_number='123456789012345678901234567890'}"),
        Resp::BigNumber("123456789012345678901234567890".into())
    );
    assert_eq!(
        eval(&mut c, "redis.setresp(3) return redis.call('HGETALL','h')"),
        Resp::Map(vec![(Resp::bulk("f"), Resp::bulk("v"))])
    );
    assert_eq!(eval(&mut c, "redis.setresp(3) return redis.call('GET','nosuch')"), Resp::Null);
    assert_eq!(
        eval(&mut c, "return redis.call('HGETALL','h')"),
        Resp::Array(Some(vec![Resp::bulk("f"), Resp::bulk("v")]))
    );
}

/// Number arguments of redis.call reach the command as Redis 7.2 and
/// Valkey write them (Redis 7.0 used %.17g); expected texts from Valkey
/// 9.1.
#[test]
fn number_arguments_are_written_as_7_2_writes_them() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    for (expr, want) in
        [("0.1", "0.1"), ("1/3", "0.3333333333333333"), ("1e20", "1e+20"), ("2^63", "9223372036854776000")]
    {
        let script = format!("redis.call('SET', 'k', {expr}) return redis.call('GET', 'k')");
        assert_eq!(eval(&mut c, &script), Resp::bulk(want), "{expr}");
    }
    assert_eq!(eval(&mut c, "return redis.call('INCRBY', 'n', 2^40)"), Resp::Int(1 << 40));
}

/// INFO memory counts the cached scripts and the function libraries, and
/// reports the interpreters' heaps once they exist.
#[test]
fn info_memory_counts_scripts_and_functions() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let field = |c: &mut common::RawConn, name: &str| -> i64 {
        let Resp::Bulk(Some(text)) = c.cmd(&["INFO", "memory"]) else { panic!("INFO reply") };
        let text = String::from_utf8(text).expect("utf-8");
        let prefix = format!("{name}:");
        let line = text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no {name}"));
        line[prefix.len()..].trim().parse().expect("a number")
    };
    assert_eq!(field(&mut c, "number_of_cached_scripts"), 0);
    c.cmd(&["SCRIPT", "LOAD", "return 1"]);
    c.cmd(&["SCRIPT", "LOAD", "return 2"]);
    assert_eq!(field(&mut c, "number_of_cached_scripts"), 2);
    assert!(field(&mut c, "used_memory_vm_eval") > 0);
    let lib = "#!lua name=lib\nredis.register_function('f1', function() return 1 end)\nredis.register_function('f2', function() return 2 end)";
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", lib]), Resp::bulk("lib"));
    assert_eq!((field(&mut c, "number_of_libraries"), field(&mut c, "number_of_functions")), (1, 2));
    assert!(field(&mut c, "used_memory_vm_functions") > 0);
    c.cmd(&["SCRIPT", "FLUSH"]);
    assert_eq!(field(&mut c, "number_of_cached_scripts"), 0);
}

/// Out of memory, a flagged script that may write does not start, one
/// flagged allow-oom runs its writes, and a no-writes one runs; a legacy
/// script fails at its write. Replies of redis-server 7.0.15, filled and
/// with maxmemory 1.
#[test]
fn flagged_scripts_out_of_memory() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let lib = "#!lua name=lib\n\
        redis.register_function('w', function(k, a) return redis.call('set', 'x', 'y') end)\n\
        redis.register_function{function_name='oom', callback=function(k, a) return redis.call('set', 'x', 'z') end, flags={'allow-oom'}}\n\
        redis.register_function{function_name='ro', callback=function(k, a) return redis.call('get', 'x') end, flags={'no-writes'}}";
    assert_eq!(c.cmd(&["FUNCTION", "LOAD", lib]), Resp::bulk("lib"));
    c.cmd(&["SET", "big", &"a".repeat(100_000)]);
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "1"]), Resp::ok());
    let oom = Resp::Error("OOM command not allowed when used memory > 'maxmemory'.".into());
    assert_eq!(eval(&mut c, "#!lua\nreturn redis.call('set','x','y')"), oom);
    assert_eq!(eval(&mut c, "#!lua\nreturn 1"), oom);
    assert_eq!(eval(&mut c, "#!lua flags=allow-oom\nreturn redis.call('set','x','y')"), Resp::ok());
    assert_eq!(eval(&mut c, "#!lua flags=no-writes\nreturn redis.call('get','x')"), Resp::bulk("y"));
    assert_eq!(c.cmd(&["FCALL", "w", "0"]), oom);
    assert_eq!(c.cmd(&["FCALL", "oom", "0"]), Resp::ok());
    assert_eq!(c.cmd(&["FCALL", "ro", "0"]), Resp::bulk("z"));
    let Resp::Error(legacy) = eval(&mut c, "return redis.call('set','x','y')") else { panic!("not refused") };
    assert!(legacy.starts_with("OOM command not allowed when used memory > 'maxmemory'. script: "), "{legacy}");
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), Resp::ok());
}

#[test]
fn version_constants_are_7_2() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    // Redis 7.2.4: 0x070204.
    assert_eq!(eval(&mut c, "return redis.REDIS_VERSION_NUM"), Resp::Int(0x070204));
    assert_eq!(eval(&mut c, "return redis.REDIS_VERSION"), Resp::bulk("7.2.4"));
}

#[test]
fn scripts_in_transactions_and_the_cache() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(c.cmd(&["MULTI"]), Resp::Simple("OK".into()));
    assert_eq!(c.cmd(&["EVAL", "return redis.call('INCR', KEYS[1])", "1", "n"]), Resp::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["EVAL", "return redis.call('INCR', KEYS[1])", "1", "n"]), Resp::Simple("QUEUED".into()));
    assert_eq!(c.cmd(&["EXEC"]), Resp::Array(Some(vec![Resp::Int(1), Resp::Int(2)])));

    let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";
    assert_eq!(c.cmd(&["SCRIPT", "LOAD", "return 1"]), Resp::bulk(sha));
    assert_eq!(c.cmd(&["EVALSHA", sha, "0"]), Resp::Int(1));
    // Another connection shares the cache.
    let mut d = srv.raw();
    assert_eq!(d.cmd(&["SCRIPT", "EXISTS", sha]), Resp::Array(Some(vec![Resp::Int(1)])));
    assert_eq!(d.cmd(&["SCRIPT", "FLUSH"]), Resp::ok());
    assert_eq!(c.cmd(&["EVALSHA", sha, "0"]), Resp::Error("NOSCRIPT No matching script. Please use EVAL.".into()));
    // SELECT inside a script does not change the caller's db.
    c.cmd(&["EVAL", "redis.call('SELECT', 3) return redis.call('SET', 'x', 'y')", "0"]);
    assert_eq!(c.cmd(&["EXISTS", "x"]), Resp::Int(0));
    c.cmd(&["SELECT", "3"]);
    assert_eq!(c.cmd(&["GET", "x"]), Resp::bulk("y"));
}

#[test]
fn runaway_recursion_ends_with_an_error() {
    let srv = TestServer::start_with(&["--busy-reply-threshold", "200"]);
    let mut c = srv.raw();
    assert_eq!(
        eval(&mut c, "local function f(n) return 1 + f(n) end return f(1)"),
        Resp::Error(
            "ERR user_script:1: stack overflow script: 93a5f6eb158db66fb8b452aa24ee5c7cfb5f1372, on @user_script:1."
                .into()
        )
    );
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
    assert_eq!(c.cmd(&["SCRIPT", "KILL"]), Resp::Error("NOTBUSY No scripts in execution right now.".into()));
    // A self-referencing table is no trouble.
    assert_eq!(eval(&mut c, "local t = {} t[1] = t return 1"), Resp::Int(1));
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

/// Sandbox attacks whose outcome cannot be compared with redis-server 7.0
/// (tests/diff/scripting_hardening.txt has the others): Redis has no
/// memory limit for Lua, and some of these crash Redis 7.0.15 itself.
/// Each ends with an error and the server goes on.
#[test]
fn memory_bombs_and_redis_crashers_end_with_an_error() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    // Doubling a string past the interpreter's 1 GB limit.
    assert_eq!(eval(&mut c, "local s = 'x' while true do s = s .. s end"), Resp::Error("ERR not enough memory".into()));
    assert_eq!(eval(&mut c, "return #string.rep('x', 1000)"), Resp::Int(1000));
    assert_eq!(eval(&mut c, "return string.rep('x', 2^30 + 1)"), Resp::Error("ERR not enough memory".into()));
    // An error object with a __tostring metamethod (Redis 7.0.15 crashes).
    assert_eq!(
        eval(&mut c, "error(setmetatable({}, {__tostring = function() return 'x' end}))"),
        Resp::Error("ERR unknown error script: cd99b8b0719d390506f2ab55494cd1f5eb5d122a, on @user_script:1.".into())
    );
    // A table that holds itself twice: cmsgpack repeats it down to its
    // nesting limit, 2^16 copies of the string (Redis packs all 9 GB).
    assert_eq!(
        eval(&mut c, "local t = {} t[1] = t t.x = t t.s = string.rep('x', 70000) return #cmsgpack.pack(t)"),
        Resp::Error(
            "ERR user_script:1: not enough memory script: fb1e5cc523984c6e44a05571dafad5b6fe219ee4, on @user_script:1."
                .into()
        )
    );
    // bit.tohex with the one count whose negation overflows (fixed in 7.0.16).
    assert_eq!(eval(&mut c, "return bit.tohex(65535, -2147483648)"), Resp::bulk("0000FFFF"));
    // cjson.encode_number_precision and the nesting limits stay bounded.
    assert_eq!(
        eval(&mut c, "return cjson.encode_max_depth(2^31)"),
        Resp::Error("ERR user_script:1: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647) script: f5417d9ae6a98b488d86fe3935a224b4d3096e73, on @user_script:1.".into())
    );
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn os_clock_is_the_only_os_function() {
    // Redis 7.2 lets scripts call os.clock(); 7.0 has no os at all.
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(eval(&mut c, "return type(os.clock())"), Resp::bulk("number"));
    assert_eq!(
        eval(&mut c, "return os.time()"),
        Resp::Error(
            "ERR user_script:1: attempt to call field 'time' (a nil value) script: 13dea82ee9da896aebcd10f5e36f4a1eeb839b48, on @user_script:1.".into()
        )
    );
    assert!(matches!(eval(&mut c, "os.x = 1"), Resp::Error(e) if e.contains("Attempt to modify a readonly table")));
}

#[path = "../fuzz/lua_case.rs"]
mod lua_case;

/// The committed inputs of the lua_scripts fuzz target (seeds and past
/// findings) through its checks, on the stable toolchain;
/// `LUA_FUZZ_CORPUS=fuzz/corpus/lua_scripts` adds a working corpus.
#[test]
fn committed_lua_fuzz_inputs_pass() {
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut dirs = vec![fuzz.join("seeds/lua_scripts"), fuzz.join("regressions/lua_scripts")];
    dirs.extend(std::env::var_os("LUA_FUZZ_CORPUS").map(std::path::PathBuf::from));
    let mut n = 0;
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for e in entries.flatten() {
            let data = std::fs::read(e.path()).expect("read fuzz input");
            lua_case::lua_scripts_case(&data);
            n += 1;
        }
    }
    assert!(n > 0, "no committed lua_scripts inputs");
}

/// MONITOR around scripts, line for line as Redis's (times and client
/// addresses aside): the caller's EVAL/EVALSHA/FCALL first, even when the
/// script fails, then the script's commands as `[db lua]`, inside MULTI too.
#[test]
fn monitor_feed_around_scripts_matches_redis() {
    let Some(mut pair) = reference::Pair::start("MONITOR around scripts") else { return };
    let (mut mo, mut mr) = pair.connect_both();
    assert_eq!(mo.cmd(&["MONITOR"]), Resp::ok());
    assert_eq!(mr.cmd(&["MONITOR"]), Resp::ok());
    let lib = "#!lua name=m\nredis.register_function('m', function(k, a) return redis.call('get', k[1]) end)";
    let script: &[&[&str]] = &[
        &["EVAL", "return redis.call('get','x')", "0"],
        &["EVAL", "return redis.call('nosuch')", "0"],
        &["EVAL", "syntax error", "0"],
        &["EVALSHA", "0000000000000000000000000000000000000000", "0"],
        &["EVAL", "return 1", "x"],
        &["MULTI"],
        &["SET", "a", "1"],
        &["EVAL", "return redis.call('incr','a')", "0"],
        &["EXEC"],
        &["FUNCTION", "LOAD", lib],
        &["FCALL", "m", "1", "k"],
        &["FCALL_RO", "m", "1", "k"],
        &["PING"],
    ];
    for cmd in script {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        reference::call(&mut pair.ox, &args);
        reference::call(&mut pair.redis, &args);
    }
    // Up to the PING: every line without its time, the caller named C.
    let feed = |m: &mut common::RawConn| -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let Resp::Simple(line) = m.read() else { panic!("monitor line") };
            let (_, rest) = line.split_once(' ').expect("time");
            let rest = match rest.strip_prefix("[0 lua]") {
                Some(r) => format!("[0 lua]{r}"),
                None => format!("[0 C]{}", rest.split_once(']').expect("addr").1),
            };
            let done = rest.ends_with("\"PING\"");
            lines.push(rest);
            if done {
                return lines;
            }
        }
    };
    let (ours, theirs) = (feed(&mut mo), feed(&mut mr));
    assert_eq!(ours, theirs);
    assert!(theirs.contains(&"[0 lua] \"incr\" \"a\"".to_string()), "{theirs:?}");
}
