//! Geo commands, as Redis 7.2's geo.c: positions live in a sorted set whose
//! scores are 52-bit geohashes (so ZRANGE, ZREM and the rest work on geo
//! keys), searches scan the cells around the area and keep the members
//! inside it. Argument checks come in Redis's order, with its error texts.
//!
//! GEOADD is ZADD with computed scores and is propagated as that ZADD.

use bytes::Bytes;

use super::docs::*;
use super::zsets::{parse_score, zadd};
use super::{acl, flags::*, keys, CommandDef, Ctx};
use super::{key_at, key_spec, BeginSearch, FindKeys};
use crate::cmd;
use crate::db::{Obj, Value};
use crate::protocol::Out;
use crate::types::geohash::{self, Extent, Shape};
use crate::types::skiplist::ScoreRange;
use crate::types::zset::{Scored, ZSet};
use crate::util::{eq_ic, parse_i64};

// Arguments several commands share, for COMMAND DOCS.
const ORDER_ARG: Arg = oneof("order", &[pure_token("asc", "ASC"), pure_token("desc", "DESC")]).optional();
const COUNT_BLOCK_ARG: Arg =
    block("count-block", &[integer("count").token("COUNT"), pure_token("any", "ANY").optional()]).optional();
const UNIT_ARG: Arg =
    oneof("unit", &[pure_token("m", "M"), pure_token("km", "KM"), pure_token("ft", "FT"), pure_token("mi", "MI")]);
const GEORADIUS_COUNT_BLOCK_ARG: Arg =
    block("count-block", &[integer("count").token("COUNT"), pure_token("any", "ANY").since("6.2.0").optional()])
        .optional();
const STORE_ARG: Arg = oneof(
    "store",
    &[key("storekey", 1).token("STORE").display("key"), key("storedistkey", 2).token("STOREDIST").display("key")],
)
.optional();
const FROM_ARG: Arg = oneof(
    "from",
    &[
        string("member").token("FROMMEMBER"),
        block("fromlonlat", &[double("longitude"), double("latitude")]).token("FROMLONLAT"),
    ],
);
const BY_ARG: Arg = oneof(
    "by",
    &[
        block("circle", &[double("radius").token("BYRADIUS"), UNIT_ARG]),
        block("box", &[double("width").token("BYBOX"), double("height"), UNIT_ARG]),
    ],
);

/// GEORADIUS and GEORADIUSBYMEMBER declare only their source key here;
/// the destination of STORE / STOREDIST (the argument after the keyword,
/// searched from position 6, resp. 5) is why they carry MOVABLEKEYS, as in
/// Redis, whose key specs find it by keyword.
pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "geoadd",
        -5,
        WRITE | DENYOOM,
        acl::GEO,
        keys(1, 1, 1),
        geoadd,
        "geo",
        "3.2.0",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        "Adds one or more members to a geospatial index. The key is created if it doesn't exist."
    )
    .with_args(&[
        key("key", 0),
        oneof("condition", &[pure_token("nx", "NX"), pure_token("xx", "XX")]).since("6.2.0").optional(),
        pure_token("change", "CH").since("6.2.0").optional(),
        block("data", &[double("longitude"), double("latitude"), string("member")]).multiple(),
    ])
    .with_history(&[("6.2.0", "Added the `CH`, `NX` and `XX` options.")]),
    cmd!(
        "geodist",
        -4,
        READONLY,
        acl::GEO,
        keys(1, 1, 1),
        geodist,
        "geo",
        "3.2.0",
        "O(1)",
        "Returns the distance between two members of a geospatial index."
    )
    .with_args(&[
        key("key", 0),
        string("member1"),
        string("member2"),
        oneof("unit", &[
            pure_token("m", "M"),
            pure_token("km", "KM"),
            pure_token("ft", "FT"),
            pure_token("mi", "MI"),
        ]).optional(),
    ]),
    cmd!(
        "geohash",
        -2,
        READONLY,
        acl::GEO,
        keys(1, 1, 1),
        geohash_command,
        "geo",
        "3.2.0",
        "O(1) for each member requested.",
        "Returns members from a geospatial index as geohash strings."
    )
    .with_args(&[key("key", 0), string("member").optional().multiple()]),
    cmd!(
        "geopos",
        -2,
        READONLY,
        acl::GEO,
        keys(1, 1, 1),
        geopos,
        "geo",
        "3.2.0",
        "O(1) for each member requested.",
        "Returns the longitude and latitude of members from a geospatial index."
    )
    .with_args(&[key("key", 0), string("member").optional().multiple()]),
    cmd!(
        "georadius",
        -6,
        WRITE | DENYOOM | MOVABLEKEYS,
        acl::GEO,
        keys(1, 1, 1),
        georadius,
        "geo",
        "3.2.0",
        "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
        "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result."
    )
    .with_args(&[
        key("key", 0),
        double("longitude"),
        double("latitude"),
        double("radius"),
        UNIT_ARG,
        pure_token("withcoord", "WITHCOORD").optional(),
        pure_token("withdist", "WITHDIST").optional(),
        pure_token("withhash", "WITHHASH").optional(),
        GEORADIUS_COUNT_BLOCK_ARG,
        ORDER_ARG,
        STORE_ARG,
    ])
    .with_history(&[
        ("6.2.0", "Added the `ANY` option for `COUNT`."),
        ("7.0.0", "Added support for uppercase unit names."),
    ])
    .deprecated("6.2.0", "`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` argument")
    .with_key_specs(&[key_at(1, &["RO", "access"]), key_spec(&["OW", "update"], BeginSearch::Keyword { keyword: "STORE", startfrom: 6 }, FindKeys::Range { lastkey: 0, step: 1, limit: 0 }), key_spec(&["OW", "update"], BeginSearch::Keyword { keyword: "STOREDIST", startfrom: 6 }, FindKeys::Range { lastkey: 0, step: 1, limit: 0 })]),
    cmd!(
        "georadius_ro",
        -6,
        READONLY,
        acl::GEO,
        keys(1, 1, 1),
        georadius_ro,
        "geo",
        "3.2.10",
        "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
        "Returns members from a geospatial index that are within a distance from a coordinate."
    )
    .with_args(&[
        key("key", 0),
        double("longitude"),
        double("latitude"),
        double("radius"),
        UNIT_ARG,
        pure_token("withcoord", "WITHCOORD").optional(),
        pure_token("withdist", "WITHDIST").optional(),
        pure_token("withhash", "WITHHASH").optional(),
        GEORADIUS_COUNT_BLOCK_ARG,
        ORDER_ARG,
    ])
    .with_history(&[
        ("6.2.0", "Added the `ANY` option for `COUNT`."),
        ("7.0.0", "Added support for uppercase unit names."),
    ])
    .deprecated("6.2.0", "`GEOSEARCH` with the `BYRADIUS` argument"),
    cmd!(
        "georadiusbymember",
        -5,
        WRITE | DENYOOM | MOVABLEKEYS,
        acl::GEO,
        keys(1, 1, 1),
        georadiusbymember,
        "geo",
        "3.2.0",
        "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
        "Queries a geospatial index for members within a distance from a member, optionally stores the result."
    )
    .with_args(&[
        key("key", 0),
        string("member"),
        double("radius"),
        UNIT_ARG,
        pure_token("withcoord", "WITHCOORD").optional(),
        pure_token("withdist", "WITHDIST").optional(),
        pure_token("withhash", "WITHHASH").optional(),
        COUNT_BLOCK_ARG,
        ORDER_ARG,
        STORE_ARG,
    ])
    .with_history(&[
        ("6.2.0", "Added the `ANY` option for `COUNT`."),
        ("7.0.0", "Added support for uppercase unit names."),
    ])
    .deprecated("6.2.0", "`GEOSEARCH` and `GEOSEARCHSTORE` with the `BYRADIUS` and `FROMMEMBER` arguments")
    .with_key_specs(&[key_at(1, &["RO", "access"]), key_spec(&["OW", "update"], BeginSearch::Keyword { keyword: "STORE", startfrom: 5 }, FindKeys::Range { lastkey: 0, step: 1, limit: 0 }), key_spec(&["OW", "update"], BeginSearch::Keyword { keyword: "STOREDIST", startfrom: 5 }, FindKeys::Range { lastkey: 0, step: 1, limit: 0 })]),
    cmd!(
        "georadiusbymember_ro",
        -5,
        READONLY,
        acl::GEO,
        keys(1, 1, 1),
        georadiusbymember_ro,
        "geo",
        "3.2.10",
        "O(N+log(M)) where N is the number of elements inside the bounding box of the circular area delimited by center and radius and M is the number of items inside the index.",
        "Returns members from a geospatial index that are within a distance from a member."
    )
    .with_args(&[
        key("key", 0),
        string("member"),
        double("radius"),
        UNIT_ARG,
        pure_token("withcoord", "WITHCOORD").optional(),
        pure_token("withdist", "WITHDIST").optional(),
        pure_token("withhash", "WITHHASH").optional(),
        COUNT_BLOCK_ARG,
        ORDER_ARG,
    ])
    .with_history(&[
        ("6.2.0", "Added the `ANY` option for `COUNT`."),
        ("7.0.0", "Added support for uppercase unit names."),
    ])
    .deprecated("6.2.0", "`GEOSEARCH` with the `BYRADIUS` and `FROMMEMBER` arguments"),
    cmd!(
        "geosearch",
        -7,
        READONLY,
        acl::GEO,
        keys(1, 1, 1),
        geosearch,
        "geo",
        "6.2.0",
        "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape",
        "Queries a geospatial index for members inside an area of a box or a circle."
    )
    .with_args(&[
        key("key", 0),
        FROM_ARG,
        BY_ARG,
        ORDER_ARG,
        COUNT_BLOCK_ARG,
        pure_token("withcoord", "WITHCOORD").optional(),
        pure_token("withdist", "WITHDIST").optional(),
        pure_token("withhash", "WITHHASH").optional(),
    ])
    .with_history(&[("7.0.0", "Added support for uppercase unit names.")]),
    cmd!(
        "geosearchstore",
        -8,
        WRITE | DENYOOM,
        acl::GEO,
        keys(1, 2, 1),
        geosearchstore,
        "geo",
        "6.2.0",
        "O(N+log(M)) where N is the number of elements in the grid-aligned bounding box area around the shape provided as the filter and M is the number of items inside the shape",
        "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result."
    )
    .with_args(&[
        key("destination", 0),
        key("source", 1),
        FROM_ARG,
        BY_ARG,
        ORDER_ARG,
        COUNT_BLOCK_ARG,
        pure_token("storedist", "STOREDIST").optional(),
    ])
    .with_history(&[("7.0.0", "Added support for uppercase unit names.")])
    .with_key_specs(&[key_at(1, &["OW", "update"]), key_at(2, &["RO", "access"])]),
];

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// An argument as C string functions see it: up to its first NUL byte
/// (Redis compares options and units with strcasecmp).
fn c_str(a: &[u8]) -> &[u8] {
    &a[..a.iter().position(|&b| b == 0).unwrap_or(a.len())]
}

/// A longitude, latitude pair (extractLongLatOrReply).
fn parse_lonlat(out: &mut Out, lon: &[u8], lat: &[u8]) -> Option<(f64, f64)> {
    let (Some(x), Some(y)) = (parse_score(lon), parse_score(lat)) else {
        out.error("ERR value is not a valid float");
        return None;
    };
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&x) || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&y) {
        out.error(&format!("ERR invalid longitude,latitude pair {x:.6},{y:.6}"));
        return None;
    }
    Some((x, y))
}

/// Meters per unit (extractUnitOrReply).
fn parse_unit(out: &mut Out, unit: &[u8]) -> Option<f64> {
    let u = c_str(unit);
    let factor = if eq_ic(u, "m") {
        1.0
    } else if eq_ic(u, "km") {
        1000.0
    } else if eq_ic(u, "ft") {
        0.3048
    } else if eq_ic(u, "mi") {
        1609.34
    } else {
        out.error("ERR unsupported unit provided. please use M, KM, FT, MI");
        return None;
    };
    Some(factor)
}

/// A number that must not be negative, with its own error text.
fn parse_size(out: &mut Out, a: &[u8], what: &str) -> Option<f64> {
    let v = parse_score(a);
    if v.is_none() {
        out.error(&format!("ERR need numeric {what}"));
    }
    v
}

/// `<radius> <unit>` (extractDistanceOrReply): (radius, meters per unit).
fn parse_radius(out: &mut Out, args: &[Bytes]) -> Option<(f64, f64)> {
    let r = parse_size(out, &args[0], "radius")?;
    if r < 0.0 {
        out.error("ERR radius cannot be negative");
        return None;
    }
    Some((r, parse_unit(out, &args[1])?))
}

/// `<width> <height> <unit>` (extractBoxOrReply).
fn parse_box(out: &mut Out, args: &[Bytes]) -> Option<(f64, f64, f64)> {
    let w = parse_size(out, &args[0], "width")?;
    let h = parse_size(out, &args[1], "height")?;
    if h < 0.0 || w < 0.0 {
        out.error("ERR height or width cannot be negative");
        return None;
    }
    Some((w, h, parse_unit(out, &args[2])?))
}

/// A coordinate: a RESP3 double or a RESP2 bulk string, printed as
/// Redis's addReplyHumanLongDouble.
fn reply_coord(out: &mut Out, v: f64) {
    let text = geohash::format_coord(v);
    if out.resp >= 3 {
        out.raw(b",");
        out.raw(text.as_bytes());
        out.raw(b"\r\n");
    } else {
        out.bulk(text.as_bytes());
    }
}

/// The zset at `key` (None when missing), or the WRONGTYPE reply.
macro_rules! lookup_zset {
    ($db:expr, $out:expr, $key:expr) => {
        match $db.get($key) {
            None => None,
            Some(Obj { val: Value::ZSet(z), .. }) => Some(z),
            Some(_) => return $out.error(WRONGTYPE),
        }
    };
}

// ---------------------------------------------------------------------------
// GEOADD, GEODIST, GEOHASH, GEOPOS

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: runs (and
/// propagates) ZADD key [options] score member [...].
fn geoadd(ctx: &mut Ctx, args: &[Bytes]) {
    let (mut nx, mut xx) = (false, false);
    let mut longidx = 2;
    while let Some(a) = args.get(longidx) {
        let o = c_str(a);
        if eq_ic(o, "nx") {
            nx = true;
        } else if eq_ic(o, "xx") {
            xx = true;
        } else if !eq_ic(o, "ch") {
            break;
        }
        longidx += 1;
    }
    let triples = &args[longidx..];
    if !triples.len().is_multiple_of(3) || (xx && nx) {
        return ctx.syntax_error();
    }
    let mut argv = Vec::with_capacity(longidx + triples.len() / 3 * 2);
    argv.push(Bytes::from_static(b"zadd"));
    argv.extend_from_slice(&args[1..longidx]);
    for t in triples.chunks_exact(3) {
        let Some((lon, lat)) = parse_lonlat(ctx.out(), &t[0], &t[1]) else { return };
        // In range, so encoding cannot fail.
        let score = geohash::encode_score(lon, lat).unwrap_or(0);
        argv.push(Bytes::from(score.to_string()));
        argv.push(t[2].clone());
    }
    zadd(ctx, &argv);
    ctx.propagate(argv);
}

/// GEODIST key member1 member2 [unit]
fn geodist(ctx: &mut Ctx, args: &[Bytes]) {
    let out = &mut ctx.client.out;
    let to_meters = match args.len() {
        5 => match parse_unit(out, &args[4]) {
            Some(f) => f,
            None => return,
        },
        4 => 1.0,
        _ => return out.error("ERR syntax error"),
    };
    let db = &mut ctx.srv.dbs[ctx.client.db];
    let Some(z) = lookup_zset!(db, out, &args[1]) else { return out.null() };
    let (Some(s1), Some(s2)) = (z.score(&args[2]), z.score(&args[3])) else { return out.null() };
    let (lon1, lat1) = geohash::decode_score(s1);
    let (lon2, lat2) = geohash::decode_score(s2);
    let d = geohash::distance(lon1, lat1, lon2, lat2) / to_meters;
    out.bulk(geohash::format_distance(d).as_bytes());
}

/// GEOHASH key [member ...]
fn geohash_command(ctx: &mut Ctx, args: &[Bytes]) {
    let out = &mut ctx.client.out;
    let db = &mut ctx.srv.dbs[ctx.client.db];
    let z = lookup_zset!(db, out, &args[1]);
    out.array(args.len() - 2);
    for m in &args[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => {
                let (lon, lat) = geohash::decode_score(s);
                out.bulk(&geohash::hash_string(lon, lat));
            }
            None => out.null(),
        }
    }
}

/// GEOPOS key [member ...]
fn geopos(ctx: &mut Ctx, args: &[Bytes]) {
    let out = &mut ctx.client.out;
    let db = &mut ctx.srv.dbs[ctx.client.db];
    let z = lookup_zset!(db, out, &args[1]);
    out.array(args.len() - 2);
    for m in &args[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => {
                let (lon, lat) = geohash::decode_score(s);
                out.array(2);
                reply_coord(out, lon);
                reply_coord(out, lat);
            }
            None => out.null_array(),
        }
    }
}

// ---------------------------------------------------------------------------
// GEORADIUS, GEORADIUSBYMEMBER (and _RO), GEOSEARCH, GEOSEARCHSTORE

/// Which command runs the search (Redis's RADIUS_* / GEOSEARCH flags).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    /// GEORADIUS: centre and radius are positional.
    Coords { store: bool },
    /// GEORADIUSBYMEMBER: a member's position and radius are positional.
    Member { store: bool },
    /// GEOSEARCH / GEOSEARCHSTORE: everything comes as options.
    Search { store: bool },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// A member found inside the search area.
struct Point {
    lon: f64,
    lat: f64,
    /// From the centre, in meters until the reply converts it.
    dist: f64,
    score: f64,
    member: Vec<u8>,
}

fn georadius(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 1, Form::Coords { store: true });
}

fn georadius_ro(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 1, Form::Coords { store: false });
}

fn georadiusbymember(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 1, Form::Member { store: true });
}

fn georadiusbymember_ro(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 1, Form::Member { store: false });
}

fn geosearch(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 1, Form::Search { store: false });
}

fn geosearchstore(ctx: &mut Ctx, args: &[Bytes]) {
    search(ctx, args, 2, Form::Search { store: true });
}

/// Redis's georadiusGeneric: the source's type is checked first, then the
/// positional arguments, then the options one by one (each checked as it
/// is read), then their combinations; a missing source key answers an
/// empty result only after all of that (without looking at a
/// GEORADIUSBYMEMBER's radius, as Redis).
fn search(ctx: &mut Ctx, args: &[Bytes], src: usize, form: Form) {
    let limits = ctx.srv.config.encoding.zset;
    let dbi = ctx.client.db;
    let out = &mut ctx.client.out;
    let db = &mut ctx.srv.dbs[dbi];
    let zobj = lookup_zset!(db, out, &args[src]);

    let member_pos = |z: &ZSet, m: &[u8]| z.score(m).map(geohash::decode_score);
    let mut center = (0.0, 0.0);
    let mut extent: Option<Extent> = None;
    let mut to_meters = 1.0;
    let mut storekey: Option<&Bytes> = None;
    let mut storedist = false;
    let (base, is_search, may_store) = match form {
        Form::Coords { store } => {
            let Some(c) = parse_lonlat(out, &args[2], &args[3]) else { return };
            let Some((r, unit)) = parse_radius(out, &args[4..6]) else { return };
            (center, extent, to_meters) = (c, Some(Extent::Radius(r)), unit);
            (6, false, store)
        }
        Form::Member { store } => {
            if let Some(z) = zobj {
                let Some(c) = member_pos(z, &args[2]) else {
                    return out.error("ERR could not decode requested zset member");
                };
                let Some((r, unit)) = parse_radius(out, &args[3..5]) else { return };
                (center, extent, to_meters) = (c, Some(Extent::Radius(r)), unit);
            }
            (5, false, store)
        }
        Form::Search { store } => {
            if store {
                storekey = Some(&args[1]);
            }
            (src + 1, true, false)
        }
    };
    let searchstore = matches!(form, Form::Search { store: true });

    let (mut withdist, mut withhash, mut withcoords) = (false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut any = false;
    let mut count: i64 = 0;
    let opts = &args[base..];
    let remaining = opts.len();
    let mut i = 0;
    while i < remaining {
        let arg = c_str(&opts[i]);
        if eq_ic(arg, "withdist") {
            withdist = true;
        } else if eq_ic(arg, "withhash") {
            withhash = true;
        } else if eq_ic(arg, "withcoord") {
            withcoords = true;
        } else if eq_ic(arg, "any") {
            any = true;
        } else if eq_ic(arg, "asc") {
            sort = Sort::Asc;
        } else if eq_ic(arg, "desc") {
            sort = Sort::Desc;
        } else if eq_ic(arg, "count") && i + 1 < remaining {
            let Some(n) = parse_i64(&opts[i + 1]) else {
                return out.error("ERR value is not an integer or out of range");
            };
            if n <= 0 {
                return out.error("ERR COUNT must be > 0");
            }
            count = n;
            i += 1;
        } else if (eq_ic(arg, "store") || eq_ic(arg, "storedist")) && i + 1 < remaining && may_store {
            storekey = Some(&opts[i + 1]);
            storedist = eq_ic(arg, "storedist");
            i += 1;
        } else if eq_ic(arg, "storedist") && searchstore {
            storedist = true;
        } else if eq_ic(arg, "frommember") && i + 1 < remaining && is_search && !fromloc {
            if let Some(z) = zobj {
                let Some(c) = member_pos(z, &opts[i + 1]) else {
                    return out.error("ERR could not decode requested zset member");
                };
                center = c;
            }
            frommember = true;
            i += 1;
        } else if eq_ic(arg, "fromlonlat") && i + 2 < remaining && is_search && !frommember {
            let Some(c) = parse_lonlat(out, &opts[i + 1], &opts[i + 2]) else { return };
            center = c;
            fromloc = true;
            i += 2;
        } else if eq_ic(arg, "byradius") && i + 2 < remaining && is_search && !bybox {
            let Some((r, unit)) = parse_radius(out, &opts[i + 1..i + 3]) else { return };
            (extent, to_meters) = (Some(Extent::Radius(r)), unit);
            byradius = true;
            i += 2;
        } else if eq_ic(arg, "bybox") && i + 3 < remaining && is_search && !byradius {
            let Some((width, height, unit)) = parse_box(out, &opts[i + 1..i + 4]) else { return };
            (extent, to_meters) = (Some(Extent::Box { width, height }), unit);
            bybox = true;
            i += 3;
        } else {
            return out.error("ERR syntax error");
        }
        i += 1;
    }

    if storekey.is_some() && (withdist || withhash || withcoords) {
        let what = if searchstore { "GEOSEARCHSTORE" } else { "STORE option in GEORADIUS" };
        return out.error(&format!("ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"));
    }
    // The command's name as the client spelled it, as Redis prints it.
    let name = String::from_utf8_lossy(&args[0]);
    if is_search && !(frommember || fromloc) {
        return out.error(&format!("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"));
    }
    if is_search && !(byradius || bybox) {
        return out.error(&format!("ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"));
    }
    if any && count == 0 {
        return out.error("ERR the ANY argument requires COUNT argument");
    }

    let (Some(z), Some(extent)) = (zobj, extent) else {
        // No source key: a store empties the destination.
        return match storekey {
            Some(dst) => {
                let dst = dst.clone();
                let deleted = ctx.srv.dbs[dbi].del(&dst).is_some();
                if deleted {
                    ctx.dirty(1);
                }
                ctx.out().int(0);
            }
            None => out.array(0),
        };
    };

    // COUNT alone means the nearest ones: sorted, unless ANY asked for the
    // first ones found.
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape { longitude: center.0, latitude: center.1, extent, to_meters };
    let limit = if any { count as usize } else { 0 };
    let mut points = collect_points(z, &shape, limit);
    if points.is_empty() && storekey.is_none() {
        return out.array(0);
    }
    let returned = if count == 0 || (points.len() as u64) < count as u64 { points.len() } else { count as usize };
    sort_points(&mut points, sort, returned);
    points.truncate(returned);
    for p in &mut points {
        p.dist /= to_meters;
    }

    let Some(dst) = storekey else {
        let options = withdist as usize + withhash as usize + withcoords as usize;
        out.array(points.len());
        for p in &points {
            if options > 0 {
                out.array(options + 1);
            }
            out.bulk(&p.member);
            if withdist {
                out.bulk(geohash::format_distance(p.dist).as_bytes());
            }
            if withhash {
                out.int(p.score as i64);
            }
            if withcoords {
                out.array(2);
                reply_coord(out, p.lon);
                reply_coord(out, p.lat);
            }
        }
        return;
    };
    let dst = dst.clone();
    if returned > 0 {
        let mut items: Vec<Scored> =
            points.into_iter().map(|p| (p.member, if storedist { p.dist } else { p.score })).collect();
        items.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
        items.dedup_by(|a, b| a.0 == b.0);
        ctx.srv.dbs[dbi].set(&dst, Obj::new(Value::ZSet(ZSet::from_sorted(items, limits))));
        ctx.dirty(returned as u64);
    } else if ctx.srv.dbs[dbi].del(&dst).is_some() {
        ctx.dirty(1);
    }
    ctx.out().int(returned as i64);
}

/// The members inside `shape`, cell by cell in Redis's order (the centre
/// cell, then N, S, E, W, NE, NW, SE, SW), each cell in score order; with
/// `limit` (ANY), stops as soon as that many were found.
fn collect_points(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let cells = shape.cells();
    let enough = |points: &Vec<Point>| limit != 0 && points.len() >= limit;
    let mut points = Vec::new();
    let mut last_processed = 0;
    for (i, cell) in cells.iter().enumerate() {
        if cell.is_zero() {
            continue;
        }
        // Huge areas can make adjacent neighbours the same cell: Redis
        // skips a cell equal to the one scanned just before.
        if last_processed != 0 && *cell == cells[last_processed] {
            continue;
        }
        if enough(&points) {
            break;
        }
        let (min, max) = geohash::cell_scores(*cell);
        let range = ScoreRange { min, max, min_ex: false, max_ex: true };
        z.for_score_range_while(&range, |member, score| {
            let (lon, lat) = geohash::decode_score(score);
            if let Some(dist) = shape.contains(lon, lat) {
                points.push(Point { lon, lat, dist, score, member: member.to_vec() });
            }
            !enough(&points)
        });
        last_processed = i;
    }
    points
}

/// Orders the results by distance: all of them with a stable sort (the
/// glibc qsort Redis calls is a merge sort), or only the first `returned`
/// with Redis's partial quicksort, whose order of equal distances differs.
fn sort_points(points: &mut [Point], sort: Sort, returned: usize) {
    // Redis's comparator: equal distances compare equal (no NaN arises).
    let key = |p: &Point| if p.dist.is_nan() { f64::INFINITY } else { p.dist + 0.0 };
    let cmp = |a: &Point, b: &Point| match sort {
        Sort::Desc => key(b).total_cmp(&key(a)),
        _ => key(a).total_cmp(&key(b)),
    };
    if sort == Sort::None || returned == 0 {
        return;
    }
    if returned == points.len() {
        points.sort_by(cmp);
    } else {
        geohash::pqsort(points, &cmp, 0, returned - 1);
    }
}

#[cfg(test)]
mod tests {
    //! What geo commands propagate, read off the executor's write stream.
    //! Expected forms are those of Redis's AOF: GEOADD becomes the ZADD it
    //! runs (lowercase name, options as given), the searches that store go
    //! as sent, and commands that change nothing go nowhere.

    use bytes::Bytes;

    use crate::config::Config;
    use crate::executor::{execute, Server, Write};
    use crate::server::client::Client;

    fn propagated(srv: &mut Server, cmds: &[&str]) -> Vec<Vec<String>> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Write>();
        srv.write_subscribers.push(tx);
        let mut client = Client::new(1, "127.0.0.1:1".into(), "127.0.0.1:2".into(), -1, true);
        let mut all = Vec::new();
        for line in cmds {
            let args: Vec<Bytes> = line.split(' ').map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
            execute(srv, &mut client, &args);
            let mut writes = Vec::new();
            while let Ok(w) = rx.try_recv() {
                let words: Vec<String> = w.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                writes.push(words.join(" "));
            }
            all.push(writes);
        }
        srv.write_subscribers.clear();
        all
    }

    #[test]
    fn geoadd_propagates_its_zadd() {
        let mut srv = Server::new(Config::default());
        let out = propagated(
            &mut srv,
            &[
                "GEOADD k CH 13.361389 38.115556 Palermo 15 37 Catania",
                "GEOADD k 13.361389 38.115556 Palermo",
                "GEOADD k xx nx 1 1 a",
                "GEOADD k 200 100 a",
                "GEOADD k NX 1 1 Palermo",
            ],
        );
        assert_eq!(out[0], ["zadd k CH 3479099956230698 Palermo 3476504601741708 Catania"]);
        assert!(out[1..].iter().all(|w| w.is_empty()), "{out:?}");
    }

    #[test]
    fn stores_propagate_as_sent() {
        let mut srv = Server::new(Config::default());
        let out = propagated(
            &mut srv,
            &[
                "GEOADD k 13.361389 38.115556 Palermo 15 37 Catania",
                "GEORADIUS k 15 37 200 km store d",
                "GEORADIUS nokey 15 37 200 km store d",
                "GEORADIUS nokey 15 37 200 km store d",
                "GEOSEARCHSTORE d2 k FROMMEMBER Palermo BYRADIUS 1 km STOREDIST",
                "GEORADIUS_RO k 15 37 200 km",
                "GEOSEARCH k FROMMEMBER Palermo BYRADIUS 1 km",
            ],
        );
        assert_eq!(out[1], ["GEORADIUS k 15 37 200 km store d"]);
        // The missing source empties the destination once; then nothing is left to change.
        assert_eq!(out[2], ["GEORADIUS nokey 15 37 200 km store d"]);
        assert!(out[3].is_empty());
        assert_eq!(out[4], ["GEOSEARCHSTORE d2 k FROMMEMBER Palermo BYRADIUS 1 km STOREDIST"]);
        assert!(out[5].is_empty() && out[6].is_empty());
    }
}
