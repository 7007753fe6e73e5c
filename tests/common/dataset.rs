//! A server's whole dataset, key by key, in a form Redis 7.0 and oxkey
//! print alike: what the persistence tests (RDB, AOF) compare.

use std::collections::BTreeMap;

use redis::Connection;

/// Runs one command, panicking with it on an error.
pub fn q<T: redis::FromRedisValue>(c: &mut Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

/// XINFO STREAM FULL in a form both servers print alike: Redis 7.2's
/// consumer active-time (which 7.0 lacks) left out, and without `times`
/// the seen and delivery times too (for servers filled apart).
pub fn stream_text(v: &redis::Value, times: bool, out: &mut String) {
    use redis::Value as V;
    match v {
        V::Array(items) => {
            out.push('[');
            let mut i = 0;
            while i < items.len() {
                let key = match &items[i] {
                    V::BulkString(b) => b.as_slice(),
                    _ => b"",
                };
                match (key, items.get(i + 1)) {
                    (b"active-time", Some(_)) => {
                        i += 2;
                        continue;
                    }
                    (b"seen-time", Some(_)) if !times => {
                        out.push_str("seen-time - ");
                        i += 2;
                        continue;
                    }
                    (b"pending", Some(V::Array(pel))) if !times => {
                        // [id, (consumer,) delivery-time, count]: the time
                        // is second from the end.
                        out.push_str("pending [");
                        for e in pel {
                            let mut e = e.clone();
                            if let V::Array(parts) = &mut e {
                                let n = parts.len();
                                if n >= 3 {
                                    parts[n - 2] = V::Nil;
                                }
                            }
                            stream_text(&e, times, out);
                        }
                        out.push_str("] ");
                        i += 2;
                        continue;
                    }
                    _ => {}
                }
                stream_text(&items[i], times, out);
                out.push(' ');
                i += 1;
            }
            out.push(']');
        }
        V::BulkString(b) => out.push_str(&String::from_utf8_lossy(b)),
        V::Int(n) => out.push_str(&n.to_string()),
        V::Nil => out.push_str("nil"),
        other => out.push_str(&format!("{other:?}")),
    }
}

/// What a server holds, key by key, in a form both servers print alike.
pub fn contents(c: &mut Connection) -> BTreeMap<String, String> {
    contents_with(c, true)
}

/// `contents`, with stream times or not.
pub fn contents_with(c: &mut Connection, times: bool) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for db in 0..16 {
        let _: () = q(c, &["SELECT", &db.to_string()]);
        let keys: Vec<Vec<u8>> = q(c, &["KEYS", "*"]);
        for k in keys {
            let ks = String::from_utf8_lossy(&k).to_string();
            let t: String = redis::cmd("TYPE").arg(&k).query(c).expect("type");
            let v = match t.as_str() {
                "string" => format!("{:?}", redis::cmd("GET").arg(&k).query::<Vec<u8>>(c).expect("get")),
                "list" => {
                    format!("{:?}", redis::cmd("LRANGE").arg(&k).arg(0).arg(-1).query::<Vec<String>>(c).expect("l"))
                }
                "set" => {
                    let mut m: Vec<String> = redis::cmd("SMEMBERS").arg(&k).query(c).expect("s");
                    m.sort();
                    format!("{m:?}")
                }
                // Scores as numbers: Redis 7.0 prints them with %.17g.
                "zset" => format!(
                    "{:?}",
                    redis::cmd("ZRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query::<Vec<(String, f64)>>(c)
                        .expect("z")
                ),
                "hash" => {
                    let m: BTreeMap<String, String> = redis::cmd("HGETALL").arg(&k).query(c).expect("h");
                    format!("{m:?}")
                }
                "stream" => {
                    let v: redis::Value =
                        redis::cmd("XINFO").arg("STREAM").arg(&k).arg("FULL").arg("COUNT").arg(0).query(c).expect("x");
                    let mut text = String::new();
                    stream_text(&v, times, &mut text);
                    text
                }
                other => panic!("unexpected type {other}"),
            };
            let pttl: i64 = redis::cmd("PTTL").arg(&k).query(c).expect("pttl");
            out.insert(format!("{db}/{ks}"), format!("{t} {v} ttl={}", pttl > 0));
        }
    }
    let _: () = q(c, &["SELECT", "0"]);
    out
}
