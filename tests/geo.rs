//! Geo commands against real server processes, for what the differential
//! script (tests/diff/geo.txt, against Redis 7.0) cannot check: where Redis
//! 7.2 differs from 7.0 (the doubles STOREDIST stores, as score replies
//! print them), many random searches over thousands of points compared
//! with a real redis-server, and hostile arguments. Values marked as Redis
//! 7.2's were taken from Valkey 9.1, which behaves as Redis 7.2 there.

mod common;
mod reference;

use common::{bulk, RawConn, Resp, TestServer};
use reference::{require_redis, RedisServer};

fn arr(items: Vec<Resp>) -> Resp {
    Resp::Array(Some(items))
}

fn sicily(c: &mut RawConn) {
    let added = c.cmd(&[
        "GEOADD",
        "Sicily",
        "13.361389",
        "38.115556",
        "Palermo",
        "15.087269",
        "37.502669",
        "Catania",
        "12.758489",
        "38.788135",
        "edge1",
        "17.241510",
        "38.788135",
        "edge2",
    ]);
    assert_eq!(added, Resp::Int(4));
}

fn pairs(items: &[(&str, &str)]) -> Resp {
    arr(items.iter().flat_map(|(m, s)| [bulk(m), bulk(s)]).collect())
}

#[test]
fn storedist_scores_print_as_redis_72() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    sicily(&mut c);
    // Redis 7.0 printed these with %.17g (56.441257870158204, 279.74045213563431).
    let km = [
        ("Catania", "56.4412578701582"),
        ("Palermo", "190.44242984775784"),
        ("edge2", "279.7403417843143"),
        ("edge1", "279.7404521356343"),
    ];
    assert_eq!(
        c.cmd(&["GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "300", "km", "STOREDIST"]),
        Resp::Int(4)
    );
    assert_eq!(c.cmd(&["ZRANGE", "d", "0", "-1", "WITHSCORES"]), pairs(&km));
    assert_eq!(c.cmd(&["GEORADIUS", "Sicily", "15", "37", "300", "km", "STOREDIST", "d2"]), Resp::Int(4));
    assert_eq!(c.cmd(&["ZRANGE", "d2", "0", "-1", "WITHSCORES"]), pairs(&km));
    assert_eq!(
        c.cmd(&["GEORADIUSBYMEMBER", "Sicily", "Palermo", "300", "mi", "STOREDIST", "d3", "DESC", "COUNT", "2"]),
        Resp::Int(2)
    );
    assert_eq!(c.cmd(&["ZSCORE", "d3", "Catania"]), bulk("103.31822459492733"));
    assert_eq!(c.cmd(&["ZSCORE", "d3", "edge2"]), bulk("215.07407036227514"));
    // In meters the values need exponents in 7.2's d2string (7.0: 56441.257870158202).
    assert_eq!(c.cmd(&["GEORADIUS", "Sicily", "15", "37", "300000", "m", "STOREDIST", "d4"]), Resp::Int(4));
    let m = [
        ("Catania", "5.64412578701582e+4"),
        ("Palermo", "1.9044242984775783e+5"),
        ("edge2", "2.797403417843143e+5"),
        ("edge1", "2.797404521356343e+5"),
    ];
    assert_eq!(c.cmd(&["ZRANGE", "d4", "0", "-1", "WITHSCORES"]), pairs(&m));
    assert!(matches!(c.cmd(&["HELLO", "3"]), Resp::Map(_)));
    let nested = arr(m.iter().map(|(k, v)| arr(vec![bulk(k), Resp::Double(v.to_string())])).collect());
    assert_eq!(c.cmd(&["ZRANGE", "d4", "0", "-1", "WITHSCORES"]), nested);
}

/// A small deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 11
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        self.next() as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// A position: spread over the world, clustered, on the edges of the
/// indexable area, or repeated (ties in distance).
fn position(r: &mut Lcg) -> (String, String) {
    match r.below(5) {
        0 => (format!("{:.6}", r.unit() * 360.0 - 180.0), format!("{:.6}", r.unit() * 170.1 - 85.05)),
        1 => (format!("{:.5}", 10.0 + r.unit() - 0.5), format!("{:.5}", 45.0 + r.unit() - 0.5)),
        2 => {
            let side = if r.below(2) == 0 { -1.0 } else { 1.0 };
            (format!("{:.5}", side * (179.0 + r.unit())), format!("{:.5}", side * (80.0 + r.unit() * 5.05)))
        }
        3 => (
            r.pick(&["0", "180", "-180", "10", "10.5"]).into(),
            r.pick(&["0", "85.05112878", "-85.05112878", "45"]).into(),
        ),
        _ => (format!("{:.2}", r.unit() * 360.0 - 180.0), format!("{:.2}", r.unit() * 170.0 - 85.0)),
    }
}

#[test]
fn random_searches_match_redis() {
    if !require_redis("random geo searches") {
        return;
    }
    let redis = RedisServer::start();
    let srv = TestServer::start();
    let mut ox = srv.raw();
    let mut re = RawConn::connect(redis.port);
    let mut r = Lcg(0x9e0);
    let mut both = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (a, b) = (ox.cmd(&args), re.cmd(&args));
        assert_eq!(a, b, "{}", args.join(" "));
        a
    };
    // A listpack-sized set, and one large enough for a skiplist.
    for (key, n) in [("small", 60), ("large", 3000)] {
        for chunk in 0..n / 20 {
            let mut cmd = vec!["GEOADD".to_string(), key.to_string()];
            for i in 0..20 {
                let (lon, lat) = position(&mut r);
                cmd.extend([lon, lat, format!("m{}", chunk * 20 + i)]);
            }
            both(&cmd);
        }
    }
    let s = |v: &str| v.to_string();
    for _ in 0..1500 {
        let key = s(r.pick(&["small", "large"]));
        let (lon, lat) = position(&mut r);
        let unit = s(r.pick(&["m", "km", "mi", "ft"]));
        let size = [0.0, 1.0, 100.0, 1e3, 5e4, 5e5, 5e6, 2e7][r.below(8) as usize] * r.unit();
        let mut opts = Vec::new();
        for o in ["WITHDIST", "WITHCOORD", "WITHHASH"] {
            if r.below(3) == 0 {
                opts.push(s(o));
            }
        }
        match r.below(3) {
            0 => opts.push(s("ASC")),
            1 => opts.push(s("DESC")),
            _ => {}
        }
        if r.below(3) == 0 {
            opts.extend([s("COUNT"), s(r.pick(&["1", "2", "3", "10", "100"]))]);
            if r.below(3) == 0 {
                opts.push(s("ANY"));
            }
        }
        let member = format!("m{}", r.below(60));
        let mut cmd = match r.below(5) {
            0 => vec![s("GEORADIUS"), key, lon, lat, size.to_string(), unit],
            1 => vec![s("GEORADIUSBYMEMBER_RO"), key, member, size.to_string(), unit],
            2 => vec![s("GEOSEARCH"), key, s("FROMLONLAT"), lon, lat, s("BYRADIUS"), size.to_string(), unit],
            3 => {
                let (w, h) = (size * 2.0 * r.unit(), size * 2.0 * r.unit());
                vec![s("GEOSEARCH"), key, s("FROMLONLAT"), lon, lat, s("BYBOX"), w.to_string(), h.to_string(), unit]
            }
            _ => {
                let (w, h) = (size * 2.0 * r.unit(), size * 2.0 * r.unit());
                vec![s("GEOSEARCH"), key, s("FROMMEMBER"), member, s("BYBOX"), w.to_string(), h.to_string(), unit]
            }
        };
        cmd.extend(opts);
        both(&cmd);
    }
    // Stores keep what a search finds, with its order of ties and its encoding.
    for i in 0..100 {
        let (lon, lat) = position(&mut r);
        let store = s(if i % 2 == 0 { "STORE" } else { "STOREDIST" });
        let key = s(if i % 3 == 0 { "small" } else { "large" });
        let count = (1 + r.below(200)).to_string();
        both(&[s("GEORADIUS"), key, lon, lat, s("3000"), s("km"), store, s("dst"), s("COUNT"), count]);
        both(&[s("ZRANGE"), s("dst"), s("0"), s("-1")]);
        both(&[s("OBJECT"), s("ENCODING"), s("dst")]);
    }
    // Areas and counts past any bound.
    let huge = s("9223372036854775807");
    both(&[
        s("GEOSEARCH"),
        s("large"),
        s("FROMLONLAT"),
        s("0"),
        s("0"),
        s("BYRADIUS"),
        s("inf"),
        s("m"),
        s("COUNT"),
        huge.clone(),
    ]);
    let any = [s("BYBOX"), s("1e308"), s("1e308"), s("km"), s("COUNT"), huge, s("ANY")];
    both(&[&[s("GEOSEARCH"), s("large"), s("FROMLONLAT"), s("0"), s("0")][..], &any[..]].concat());
    for _ in 0..200 {
        let (a, b) = (format!("m{}", r.below(70)), format!("m{}", r.below(70)));
        both(&[s("GEODIST"), s("large"), a.clone(), b.clone(), s(r.pick(&["m", "km", "mi", "ft"]))]);
        both(&[s("GEOPOS"), s("large"), a.clone(), b.clone()]);
        both(&[s("GEOHASH"), s("large"), a, b]);
    }
}

/// Every geo command with arguments chosen to hurt: huge, negative, NaN,
/// infinite and malformed numbers, NUL bytes, repeated and conflicting
/// options, on empty, small and large keys. The server must answer each
/// (an error is fine) and stay up.
#[test]
fn hostile_arguments_never_crash() {
    let srv = TestServer::start();
    let mut c = srv.raw();
    let mut r = Lcg(7);
    // "big" is for the random commands (which may overwrite it), "wide" for
    // the checks at the end.
    // Positions at exactly 180 or ±85.05112878 get scores past 2^52, outside
    // every cell (as in Redis): "wide" has none, so a search can find all.
    for key in ["big", "wide"] {
        let mut add = vec!["GEOADD".to_string(), key.to_string()];
        for i in 0..2000 {
            let (lon, lat) = match key {
                "big" => position(&mut r),
                _ => (format!("{:.6}", r.unit() * 359.0 - 179.5), format!("{:.6}", r.unit() * 170.0 - 85.0)),
            };
            add.extend([lon, lat, format!("p{i}")]);
        }
        let add: Vec<&str> = add.iter().map(String::as_str).collect();
        assert_eq!(c.cmd(&add), Resp::Int(2000));
    }
    c.cmd(&["ZADD", "odd", "-1", "a", "1e300", "b", "inf", "c", "-inf", "d", "4503599627370496", "e"]);
    let numbers = [
        "0",
        "-0",
        "1",
        "-1",
        "1e308",
        "-1e308",
        "inf",
        "-inf",
        "nan",
        "1e-320",
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999",
        "0x1p3",
        "abc",
        "",
        " 1",
        "1\0",
        "180",
        "-180",
        "85.05112878",
        "-85.05112878",
        "20037726.37",
    ];
    let words = [
        "WITHDIST",
        "WITHHASH",
        "WITHCOORD",
        "ANY",
        "ASC",
        "DESC",
        "COUNT",
        "STORE",
        "STOREDIST",
        "FROMMEMBER",
        "FROMLONLAT",
        "BYRADIUS",
        "BYBOX",
        "m",
        "km",
        "ft",
        "mi",
        "KM",
        "x\0y",
        "a",
        "p1",
        "big",
        "odd",
    ];
    let commands = [
        "GEOADD",
        "GEODIST",
        "GEOHASH",
        "GEOPOS",
        "GEORADIUS",
        "GEORADIUS_RO",
        "GEORADIUSBYMEMBER",
        "GEORADIUSBYMEMBER_RO",
        "GEOSEARCH",
        "GEOSEARCHSTORE",
    ];
    for _ in 0..3000 {
        let mut cmd = vec![r.pick(&commands), r.pick(&["big", "odd", "nokey", "a"])];
        for _ in 0..r.below(12) {
            cmd.push(if r.below(2) == 0 { r.pick(&numbers) } else { r.pick(&words) });
        }
        let reply = c.cmd(&cmd);
        assert!(!matches!(reply, Resp::Simple(_)), "{cmd:?}: {reply:?}");
    }
    // Huge counts and areas on a large set: bounded by its size.
    let found = |reply: &Resp| match reply {
        Resp::Array(Some(v)) => v.len(),
        other => panic!("not an array: {other:?}"),
    };
    let wide =
        c.cmd(&["GEOSEARCH", "wide", "FROMLONLAT", "0", "0", "BYRADIUS", "inf", "m", "COUNT", "9223372036854775807"]);
    assert_eq!(found(&wide), 2000);
    let any = c.cmd(&[
        "GEOSEARCH",
        "wide",
        "FROMLONLAT",
        "0",
        "0",
        "BYBOX",
        "1e308",
        "1e308",
        "km",
        "COUNT",
        "9223372036854775807",
        "ANY",
    ]);
    assert_eq!(found(&any), 2000);
    assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
}
