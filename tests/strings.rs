//! String commands against a real oxkey-server: encodings, expiry, keyspace
//! statistics, precision of INCRBYFLOAT and the hardening cases (offsets and
//! sizes at their limits). Every expected value was read from redis-server
//! 7.0.15 running the same commands; the differential script
//! tests/diff/strings.txt covers replies line by line.

mod common;

use common::{bulk, err, RawConn, Resp, TestServer};

fn cmd(c: &mut RawConn, args: &[&str]) -> Resp {
    c.cmd(args)
}

/// Sends raw byte arguments (values too long or binary for `&str` lines).
fn cmd_bytes(c: &mut RawConn, args: &[&[u8]]) -> Resp {
    c.send_cmd(args);
    c.read()
}

fn encoding(c: &mut RawConn, key: &str) -> Resp {
    cmd(c, &["OBJECT", "ENCODING", key])
}

#[test]
fn object_encoding_follows_redis() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let a44 = "a".repeat(44);
    let a45 = "a".repeat(45);
    let steps: &[(&[&str], Resp, &str)] = &[
        (&["SET", "e1", "123"], Resp::ok(), "int"),
        (&["SET", "e2", &a44], Resp::ok(), "embstr"),
        (&["SET", "e3", &a45], Resp::ok(), "raw"),
        // Not canonical or out of i64 range: kept as strings.
        (&["SET", "e4", "0123"], Resp::ok(), "embstr"),
        (&["SET", "e5", "9223372036854775808"], Resp::ok(), "embstr"),
        (&["SET", "e6", "-9223372036854775808"], Resp::ok(), "int"),
        (&["SET", "e14", ""], Resp::ok(), "embstr"),
        (&["SET", "e16", &"b".repeat(22)], Resp::ok(), "embstr"),
        (&["SET", "e17", &"b".repeat(23)], Resp::ok(), "embstr"),
        // Modified in place: raw, whatever the length.
        (&["APPEND", "e1", "4"], Resp::Int(4), "raw"),
        (&["SETRANGE", "e2", "0", "c"], Resp::Int(44), "raw"),
        (&["SETRANGE", "e8", "2", "c"], Resp::Int(3), "raw"),
        // A new key made by APPEND is stored as SET would store it.
        (&["APPEND", "e11", "12"], Resp::Int(2), "int"),
        (&["GETSET", "e11", "77"], bulk("12"), "int"),
        (&["SETEX", "e15", "100", "42"], Resp::ok(), "int"),
        // INCRBYFLOAT stores a string, never an int.
        (&["INCRBYFLOAT", "e10", "3"], bulk("3"), "embstr"),
        (&["INCR", "e10"], Resp::Int(4), "int"),
        (&["SET", "e22", "1"], Resp::ok(), "int"),
        (&["APPEND", "e22", "23"], Resp::Int(3), "raw"),
        (&["INCR", "e22"], Resp::Int(124), "int"),
        (&["SET", "e9", "5"], Resp::ok(), "int"),
        // Writing nothing leaves the encoding alone; appending nothing does not.
        (&["SETRANGE", "e9", "0", ""], Resp::Int(1), "int"),
        (&["APPEND", "e9", ""], Resp::Int(1), "raw"),
        (&["MSET", "e12", "1", "e13", "x"], Resp::ok(), "int"),
        (&["SET", "e21", "12", "GET"], Resp::Bulk(None), "int"),
    ];
    for (args, reply, enc) in steps {
        assert_eq!(&cmd(&mut c, args), reply, "{args:?}");
        assert_eq!(encoding(&mut c, args[1]), bulk(enc), "{args:?}");
    }
    assert_eq!(encoding(&mut c, "e13"), bulk("embstr"));
}

#[test]
fn values_read_back_exactly() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    // Every length around the inline and embstr boundaries, binary bytes.
    for len in [0usize, 1, 21, 22, 23, 43, 44, 45, 1000, 70_000] {
        let v: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
        assert_eq!(cmd_bytes(&mut c, &[b"SET", b"k", &v]), Resp::ok());
        assert_eq!(cmd_bytes(&mut c, &[b"GET", b"k"]), Resp::Bulk(Some(v.clone())), "len {len}");
        assert_eq!(cmd(&mut c, &["STRLEN", "k"]), Resp::Int(len as i64));
        assert_eq!(cmd_bytes(&mut c, &[b"MGET", b"k", b"k"]), Resp::Array(Some(vec![Resp::Bulk(Some(v.clone())); 2])));
    }
    // Appends grow in place: 10,000 appends of 100 bytes.
    let chunk = "x".repeat(100);
    for i in 1..=10_000 {
        assert_eq!(cmd(&mut c, &["APPEND", "big", &chunk]), Resp::Int(i * 100));
    }
    assert_eq!(cmd(&mut c, &["SETRANGE", "big", "500000", "MID"]), Resp::Int(1_000_000));
    assert_eq!(cmd(&mut c, &["GETRANGE", "big", "499999", "500003"]), bulk("xMIDx"));
    assert_eq!(cmd(&mut c, &["GETRANGE", "big", "-2", "-1"]), bulk("xx"));
}

#[test]
fn incrbyfloat_uses_long_double() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let cases: &[(&str, &str, &str)] = &[
        ("10.5", "0.1", "10.6"),
        ("0.1", "0.2", "0.3"),
        ("1.1", "2.2", "3.3"),
        ("3", "-3", "0"),
        ("-1", "0.5", "-0.5"),
        ("0.000003814697265625", "0", "0.00000381469726562"),
        ("9223372036854775807", "1", "9223372036854775808"),
        ("123456789012345678901234567890", "0.5", "123456789012345678899921813504"),
        ("3.14159265358979323846264338327950288", "0", "3.14159265358979324"),
        ("0.3333333333333333333333", "0.3333333333333333333333", "0.66666666666666667"),
        ("7", "0x10", "23"),
        ("5e-18", "0", "0"),
    ];
    for (v, by, want) in cases {
        assert_eq!(cmd(&mut c, &["SET", "f", v]), Resp::ok());
        assert_eq!(cmd(&mut c, &["INCRBYFLOAT", "f", by]), bulk(want), "{v} + {by}");
        assert_eq!(cmd(&mut c, &["GET", "f"]), bulk(want));
    }
    // With the redis crate, as an application would use it.
    let mut client = srv.client();
    let v: f64 = redis::cmd("INCRBYFLOAT").arg("g").arg(2.5).query(&mut client).expect("incrbyfloat");
    assert_eq!(v, 2.5);
    let errors: &[(&str, &str, &str)] = &[
        ("1e4932", "1e4932", "ERR increment would produce NaN or Infinity"),
        ("0", "inf", "ERR increment would produce NaN or Infinity"),
        ("0", "nan", "ERR value is not a valid float"),
        ("abc", "1", "ERR value is not a valid float"),
        ("0", "1e99999", "ERR value is not a valid float"),
    ];
    for (v, by, want) in errors {
        cmd(&mut c, &["SET", "f", v]);
        assert_eq!(cmd(&mut c, &["INCRBYFLOAT", "f", by]), err(want), "{v} + {by}");
        assert_eq!(cmd(&mut c, &["GET", "f"]), bulk(v), "unchanged after an error");
    }
    // Longer than strtold's buffer in Redis (5 KiB): refused, not parsed.
    let long = format!("1.{}", "0".repeat(6000));
    assert_eq!(cmd(&mut c, &["INCRBYFLOAT", "f", &long]), err("ERR value is not a valid float"));
    // The TTL is kept.
    cmd(&mut c, &["SET", "t", "1", "EX", "100"]);
    assert_eq!(cmd(&mut c, &["INCRBYFLOAT", "t", "0.5"]), bulk("1.5"));
    assert_eq!(cmd(&mut c, &["TTL", "t"]), Resp::Int(100));
}

#[test]
fn expire_options() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(cmd(&mut c, &["SET", "a", "v", "PX", "100"]), Resp::ok());
    assert_eq!(cmd(&mut c, &["PSETEX", "b", "100", "v"]), Resp::ok());
    assert_eq!(cmd(&mut c, &["SET", "c", "v"]), Resp::ok());
    assert_eq!(cmd(&mut c, &["GETEX", "c", "PX", "100"]), bulk("v"));
    let pttl = |c: &mut RawConn, k: &str| match cmd(c, &["PTTL", k]) {
        Resp::Int(n) => n,
        other => panic!("PTTL {k}: {other:?}"),
    };
    for k in ["a", "b", "c"] {
        assert!((1..=100).contains(&pttl(&mut c, k)), "{k}");
    }
    std::thread::sleep(std::time::Duration::from_millis(250));
    assert_eq!(cmd(&mut c, &["MGET", "a", "b", "c"]), Resp::Array(Some(vec![Resp::Bulk(None); 3])));
    // KEEPTTL keeps it, a plain SET drops it, GETEX PERSIST removes it.
    cmd(&mut c, &["SET", "k", "v", "EX", "100"]);
    cmd(&mut c, &["SET", "k", "w", "KEEPTTL"]);
    assert!(pttl(&mut c, "k") > 90_000);
    cmd(&mut c, &["GETEX", "k", "PERSIST"]);
    assert_eq!(pttl(&mut c, "k"), -1);
    cmd(&mut c, &["SET", "k", "v", "EX", "100"]);
    cmd(&mut c, &["SET", "k", "w"]);
    assert_eq!(pttl(&mut c, "k"), -1);
    // An absolute time already past deletes the key at once.
    cmd(&mut c, &["SET", "k", "v"]);
    assert_eq!(cmd(&mut c, &["GETEX", "k", "PXAT", "1"]), bulk("v"));
    assert_eq!(cmd(&mut c, &["EXISTS", "k"]), Resp::Int(0));
    assert_eq!(cmd(&mut c, &["SET", "k", "v", "EXAT", "1"]), Resp::ok());
    assert_eq!(cmd(&mut c, &["GET", "k"]), Resp::Bulk(None));
    // Counters keep the TTL.
    cmd(&mut c, &["SET", "n", "1", "EX", "100"]);
    assert_eq!(cmd(&mut c, &["INCRBY", "n", "5"]), Resp::Int(6));
    assert_eq!(cmd(&mut c, &["APPEND", "n", "0"]), Resp::Int(2));
    assert_eq!(cmd(&mut c, &["SETRANGE", "n", "0", "7"]), Resp::Int(2));
    assert_eq!(cmd(&mut c, &["TTL", "n"]), Resp::Int(100));
    assert_eq!(cmd(&mut c, &["GET", "n"]), bulk("70"));
}

#[test]
fn keyspace_hits_and_misses() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    cmd(&mut c, &["RPUSH", "list", "a"]);
    cmd(&mut c, &["CONFIG", "RESETSTAT"]);
    let script: &[&[&str]] = &[
        &["GET", "a"],
        &["SET", "a", "1"],
        &["GET", "a"],
        &["MGET", "a", "b", "a", "list"],
        &["SET", "a", "2", "GET"],
        &["SET", "b", "2", "GET"],
        &["GETEX", "a"],
        &["GETEX", "nosuch"],
        &["GETDEL", "b"],
        &["GETDEL", "b"],
        &["STRLEN", "a"],
        &["STRLEN", "nosuch"],
        &["GETRANGE", "a", "0", "1"],
        &["GETRANGE", "nosuch", "0", "1"],
        &["LCS", "a", "nosuch"],
        &["INCR", "a"],
        &["APPEND", "a", "1"],
        &["SETRANGE", "a", "0", "x"],
        &["INCRBYFLOAT", "a", "1"],
        &["GET", "list"],
        &["GETEX", "list"],
        &["STRLEN", "list"],
        &["SETNX", "a", "1"],
        &["GETSET", "a", "5"],
        &["GETSET", "zz", "5"],
        &["MSETNX", "q", "1"],
        &["SUBSTR", "a", "0", "1"],
    ];
    for args in script {
        cmd(&mut c, args);
    }
    let Resp::Bulk(Some(info)) = cmd(&mut c, &["INFO", "stats"]) else { panic!("INFO") };
    let info = String::from_utf8_lossy(&info);
    let field = |name: &str| info.lines().find_map(|l| l.strip_prefix(&format!("{name}:"))).map(str::to_owned);
    // Redis 7.0.15 after the same script: 15 hits, 9 misses.
    assert_eq!(field("keyspace_hits").as_deref(), Some("15"));
    assert_eq!(field("keyspace_misses").as_deref(), Some("9"));
}

#[test]
fn msetnx_with_duplicate_keys() {
    // CVE-2023-28425: MSETNX naming one key twice crashed Redis.
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(cmd(&mut c, &["MSETNX", "k", "1", "k", "2"]), Resp::Int(1));
    assert_eq!(cmd(&mut c, &["GET", "k"]), bulk("2"));
    assert_eq!(cmd(&mut c, &["MSETNX", "k", "3", "k", "4"]), Resp::Int(0));
    assert_eq!(cmd(&mut c, &["MSETNX", "x", "1", "y", "2", "x", "3"]), Resp::Int(1));
    assert_eq!(cmd(&mut c, &["MGET", "x", "y"]), Resp::Array(Some(vec![bulk("3"), bulk("2")])));
    assert_eq!(cmd(&mut c, &["DBSIZE"]), Resp::Int(3));
}

const TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

#[test]
fn offsets_and_sizes_at_their_limits() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    cmd(&mut c, &["SET", "s", "hello"]);
    // Refused before any allocation, whatever the offset.
    for offset in ["536870912", "4294967296", "9223372036854775807"] {
        assert_eq!(cmd(&mut c, &["SETRANGE", "s", offset, "x"]), err(TOO_BIG), "{offset}");
        assert_eq!(cmd(&mut c, &["SETRANGE", "new", offset, "x"]), err(TOO_BIG), "{offset}");
    }
    assert_eq!(cmd(&mut c, &["SETRANGE", "s", "9223372036854775807", ""]), Resp::Int(5));
    assert_eq!(
        cmd(&mut c, &["SETRANGE", "s", "9223372036854775808", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(cmd(&mut c, &["SETRANGE", "s", "-1", "x"]), err("ERR offset is out of range"));
    assert_eq!(cmd(&mut c, &["SETRANGE", "s", "-9223372036854775808", "x"]), err("ERR offset is out of range"));
    assert_eq!(cmd(&mut c, &["EXISTS", "new"]), Resp::Int(0));
    for (start, end, want) in [
        ("9223372036854775807", "9223372036854775807", ""),
        ("-9223372036854775808", "9223372036854775807", "hello"),
        ("-9223372036854775808", "-9223372036854775808", "h"),
        ("0", "-9223372036854775808", "h"),
        ("4294967296", "4294967297", ""),
        ("-4294967296", "4294967296", "hello"),
    ] {
        assert_eq!(cmd(&mut c, &["GETRANGE", "s", start, end]), bulk(want), "{start} {end}");
    }
    // The cap is proto-max-bulk-len: lowered to 1 MiB (its minimum), it
    // bounds APPEND and SETRANGE at exactly that size.
    assert_eq!(cmd(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1048576"]), Resp::ok());
    assert_eq!(cmd(&mut c, &["SETRANGE", "m", "1048575", "x"]), Resp::Int(1_048_576));
    assert_eq!(cmd(&mut c, &["SETRANGE", "m", "1048576", "x"]), err(TOO_BIG));
    assert_eq!(cmd(&mut c, &["SETRANGE", "m", "1048575", "xy"]), err(TOO_BIG));
    assert_eq!(cmd(&mut c, &["APPEND", "m", "x"]), err(TOO_BIG));
    assert_eq!(cmd(&mut c, &["APPEND", "m", ""]), Resp::Int(1_048_576));
    assert_eq!(cmd(&mut c, &["STRLEN", "m"]), Resp::Int(1_048_576));
    // Counters refuse to wrap.
    cmd(&mut c, &["SET", "n", "9223372036854775807"]);
    assert_eq!(cmd(&mut c, &["INCR", "n"]), err("ERR increment or decrement would overflow"));
    assert_eq!(cmd(&mut c, &["INCRBY", "n", "1"]), err("ERR increment or decrement would overflow"));
    cmd(&mut c, &["SET", "n", "-9223372036854775808"]);
    assert_eq!(cmd(&mut c, &["DECR", "n"]), err("ERR increment or decrement would overflow"));
    assert_eq!(cmd(&mut c, &["INCRBY", "n", "-1"]), err("ERR increment or decrement would overflow"));
    assert_eq!(cmd(&mut c, &["DECRBY", "n", "-9223372036854775808"]), err("ERR decrement would overflow"));
    assert_eq!(cmd(&mut c, &["DECRBY", "n", "9223372036854775807"]), err("ERR increment or decrement would overflow"));
    assert_eq!(cmd(&mut c, &["GET", "n"]), bulk("-9223372036854775808"));
    // Expire times that overflow when made absolute.
    for args in [
        &["SET", "e", "v", "EX", "9223372036854775807"][..],
        &["SET", "e", "v", "PX", "9223372036854775807"],
        &["GETEX", "s", "EX", "9223372036854775807"],
        &["SETEX", "e", "9223372036854775807", "v"],
    ] {
        let name = args[0].to_ascii_lowercase();
        assert_eq!(cmd(&mut c, args), err(&format!("ERR invalid expire time in '{name}' command")), "{args:?}");
    }
    assert_eq!(cmd(&mut c, &["PING"]), Resp::Simple("PONG".into()));
}

#[test]
fn lcs_refuses_a_table_past_the_limit() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    assert_eq!(cmd(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "1048576"]), Resp::ok());
    // 601 x 601 cells of 4 bytes = 1.44 MB > 1 MiB: refused before allocating.
    cmd(&mut c, &["SET", "a", &"a".repeat(600)]);
    cmd(&mut c, &["SET", "b", &"b".repeat(600)]);
    let too_big = err("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    assert_eq!(cmd(&mut c, &["LCS", "a", "b"]), too_big);
    assert_eq!(cmd(&mut c, &["LCS", "a", "b", "IDX"]), too_big);
    // 500 x 500: 1.004 MB fits.
    cmd(&mut c, &["SET", "a", &format!("{}x", "a".repeat(499))]);
    cmd(&mut c, &["SET", "b", &format!("x{}", "b".repeat(499))]);
    assert_eq!(cmd(&mut c, &["LCS", "a", "b"]), bulk("x"));
    assert_eq!(cmd(&mut c, &["LCS", "a", "b", "LEN"]), Resp::Int(1));
    // Two 1 MiB strings: a 4 TB table at the default limit, refused at once.
    assert_eq!(cmd(&mut c, &["CONFIG", "SET", "proto-max-bulk-len", "536870912"]), Resp::ok());
    let huge = "z".repeat(1 << 20);
    cmd(&mut c, &["SET", "a", &huge]);
    cmd(&mut c, &["SET", "b", &huge]);
    assert_eq!(cmd(&mut c, &["LCS", "a", "b", "LEN"]), too_big);
    assert_eq!(cmd(&mut c, &["PING"]), Resp::Simple("PONG".into()));
}
