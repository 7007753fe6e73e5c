//! Sorted-set commands, as Redis 7.2's t_zset.c: argument checks in the
//! same order (options, then numbers, then the key's type), the same error
//! texts, and replies that follow RESP2/RESP3 as Redis does (scores are
//! doubles in RESP3; WITHSCORES pairs are nested arrays in RESP3).
//!
//! The blocking forms (BZPOPMIN, BZPOPMAX, BZMPOP) come with the blocking
//! machinery; `zpop` is the core they share with ZPOPMIN/ZPOPMAX/ZMPOP.

use crate::executor::notify::class;
use std::collections::HashMap;

use bytes::Bytes;

use super::docs::*;
use super::scan;
use super::{acl, elements, flags::*, keys, numkeys, CommandDef, Ctx};
use super::{key_at, key_spec, BeginSearch, FindKeys};
use crate::cmd;
use crate::db::{Db, Obj, Value};
use crate::executor::Stats;
use crate::protocol::Out;
use crate::types::hash::PackLimits;
use crate::types::listpack::Entry;
use crate::types::set::{int_text, Set};
use crate::types::skiplist::{LexBound, LexRange, ScoreRange};
use crate::types::zset::{d2string, AddFlags, AddResult, NotANumber, Scored, ZSet};
use crate::util::{eq_ic, parse_i64};

// Arguments several commands share, for COMMAND DOCS.
const WHERE_ARG: Arg = oneof("where", &[pure_token("min", "MIN"), pure_token("max", "MAX")]);
const LIMIT_ARG: Arg = block("limit", &[integer("offset"), integer("count")]).token("LIMIT").optional();
const AGGREGATE_ARG: Arg =
    oneof("aggregate", &[pure_token("sum", "SUM"), pure_token("min", "MIN"), pure_token("max", "MAX")])
        .token("AGGREGATE")
        .optional();

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "zadd",
        -4,
        WRITE | DENYOOM | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zadd,
        "sorted-set",
        "1.2.0",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
        "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist."
    )
    .with_args(&[
        key("key", 0),
        oneof("condition", &[pure_token("nx", "NX"), pure_token("xx", "XX")]).since("3.0.2").optional(),
        oneof("comparison", &[pure_token("gt", "GT"), pure_token("lt", "LT")]).since("6.2.0").optional(),
        pure_token("change", "CH").since("3.0.2").optional(),
        pure_token("increment", "INCR").since("3.0.2").optional(),
        block("data", &[double("score"), string("member")]).multiple(),
    ])
    .with_history(&[
        ("2.4.0", "Accepts multiple elements."),
        ("3.0.2", "Added the `XX`, `NX`, `CH` and `INCR` options."),
        ("6.2.0", "Added the `GT` and `LT` options."),
    ])
    .with_elements(elements(-1, 2, -2)),
    cmd!(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zincrby,
        "sorted-set",
        "1.2.0",
        "O(log(N)) where N is the number of elements in the sorted set.",
        "Increments the score of a member in a sorted set."
    )
    .with_args(&[key("key", 0), integer("increment"), string("member")])
    .with_key_specs(&[key_at(1, &["RW", "access", "update"])])
    .with_elements(elements(3, 3, 1)),
    cmd!(
        "zrem",
        -3,
        WRITE | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zrem,
        "sorted-set",
        "1.2.0",
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.",
        "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed."
    )
    .with_args(&[key("key", 0), string("member").multiple()])
    .with_history(&[("2.4.0", "Accepts multiple elements.")])
    .with_key_specs(&[key_at(1, &["RW", "delete"])])
    .with_elements(elements(2, -1, 1)),
    cmd!(
        "zcard",
        2,
        READONLY | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zcard,
        "sorted-set",
        "1.2.0",
        "O(1)",
        "Returns the number of members in a sorted set."
    )
    .with_args(&[key("key", 0)])
    .with_key_specs(&[key_at(1, &["RO"])]),
    cmd!(
        "zscore",
        3,
        READONLY | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zscore,
        "sorted-set",
        "1.2.0",
        "O(1)",
        "Returns the score of a member in a sorted set."
    )
    .with_args(&[key("key", 0), string("member")])
    .with_elements(elements(2, 2, 1)),
    cmd!(
        "zmscore",
        -3,
        READONLY | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zmscore,
        "sorted-set",
        "6.2.0",
        "O(N) where N is the number of members being requested.",
        "Returns the score of one or more members in a sorted set."
    )
    .with_args(&[key("key", 0), string("member").multiple()])
    .with_elements(elements(2, -1, 1)),
    cmd!(
        "zcount",
        4,
        READONLY | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zcount,
        "sorted-set",
        "2.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Returns the count of members in a sorted set that have scores within a range."
    )
    .with_args(&[key("key", 0), double("min"), double("max")]),
    cmd!(
        "zlexcount",
        4,
        READONLY | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zlexcount,
        "sorted-set",
        "2.8.9",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Returns the number of members in a sorted set within a lexicographical range."
    )
    .with_args(&[key("key", 0), string("min"), string("max")]),
    cmd!(
        "zrank",
        -3,
        READONLY | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zrank,
        "sorted-set",
        "2.0.0",
        "O(log(N))",
        "Returns the index of a member in a sorted set ordered by ascending scores."
    )
    .with_args(&[key("key", 0), string("member"), pure_token("withscore", "WITHSCORE").optional()])
    .with_history(&[("7.2.0", "Added the optional `WITHSCORE` argument.")])
    .with_elements(elements(2, 2, 1)),
    cmd!(
        "zrevrank",
        -3,
        READONLY | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zrevrank,
        "sorted-set",
        "2.0.0",
        "O(log(N))",
        "Returns the index of a member in a sorted set ordered by descending scores."
    )
    .with_args(&[key("key", 0), string("member"), pure_token("withscore", "WITHSCORE").optional()])
    .with_history(&[("7.2.0", "Added the optional `WITHSCORE` argument.")])
    .with_elements(elements(2, 2, 1)),
    cmd!(
        "zrange",
        -4,
        READONLY,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zrange,
        "sorted-set",
        "1.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
        "Returns members in a sorted set within a range of indexes."
    )
    .with_args(&[
        key("key", 0),
        string("start"),
        string("stop"),
        oneof("sortby", &[pure_token("byscore", "BYSCORE"), pure_token("bylex", "BYLEX")]).since("6.2.0").optional(),
        pure_token("rev", "REV").since("6.2.0").optional(),
        block("limit", &[integer("offset"), integer("count")]).token("LIMIT").since("6.2.0").optional(),
        pure_token("withscores", "WITHSCORES").optional(),
    ])
    .with_history(&[("6.2.0", "Added the `REV`, `BYSCORE`, `BYLEX` and `LIMIT` options.")]),
    cmd!(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        acl::SORTEDSET,
        keys(1, 2, 1),
        zrangestore,
        "sorted-set",
        "6.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.",
        "Stores a range of members from sorted set in a key."
    )
    .with_args(&[
        key("dst", 0),
        key("src", 1),
        string("min"),
        string("max"),
        oneof("sortby", &[pure_token("byscore", "BYSCORE"), pure_token("bylex", "BYLEX")]).optional(),
        pure_token("rev", "REV").optional(),
        LIMIT_ARG,
    ])
    .with_key_specs(&[key_at(1, &["OW", "update"]), key_at(2, &["RO", "access"])]),
    cmd!(
        "zrevrange",
        -4,
        READONLY,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zrevrange,
        "sorted-set",
        "1.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.",
        "Returns members in a sorted set within a range of indexes in reverse order."
    )
    .with_args(&[key("key", 0), integer("start"), integer("stop"), pure_token("withscores", "WITHSCORES").optional()])
    .deprecated("6.2.0", "`ZRANGE` with the `REV` argument"),
    cmd!(
        "zrangebyscore",
        -4,
        READONLY,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zrangebyscore,
        "sorted-set",
        "1.0.5",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "Returns members in a sorted set within a range of scores."
    )
    .with_args(&[
        key("key", 0),
        double("min"),
        double("max"),
        pure_token("withscores", "WITHSCORES").since("2.0.0").optional(),
        LIMIT_ARG,
    ])
    .with_history(&[("2.0.0", "Added the `WITHSCORES` modifier.")])
    .deprecated("6.2.0", "`ZRANGE` with the `BYSCORE` argument"),
    cmd!(
        "zrevrangebyscore",
        -4,
        READONLY,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zrevrangebyscore,
        "sorted-set",
        "2.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "Returns members in a sorted set within a range of scores in reverse order."
    )
    .with_args(&[
        key("key", 0),
        double("max"),
        double("min"),
        pure_token("withscores", "WITHSCORES").optional(),
        LIMIT_ARG,
    ])
    .with_history(&[("2.1.6", "`min` and `max` can be exclusive.")])
    .deprecated("6.2.0", "`ZRANGE` with the `REV` and `BYSCORE` arguments"),
    cmd!(
        "zrangebylex",
        -4,
        READONLY,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zrangebylex,
        "sorted-set",
        "2.8.9",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "Returns members in a sorted set within a lexicographical range."
    )
    .with_args(&[key("key", 0), string("min"), string("max"), LIMIT_ARG])
    .deprecated("6.2.0", "`ZRANGE` with the `BYLEX` argument"),
    cmd!(
        "zrevrangebylex",
        -4,
        READONLY,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zrevrangebylex,
        "sorted-set",
        "2.8.9",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned. If M is constant (e.g. always asking for the first 10 elements with LIMIT), you can consider it O(log(N)).",
        "Returns members in a sorted set within a lexicographical range in reverse order."
    )
    .with_args(&[key("key", 0), string("max"), string("min"), LIMIT_ARG])
    .deprecated("6.2.0", "`ZRANGE` with the `REV` and `BYLEX` arguments"),
    cmd!(
        "zremrangebyrank",
        4,
        WRITE,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zremrangebyrank,
        "sorted-set",
        "2.0.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed."
    )
    .with_args(&[key("key", 0), integer("start"), integer("stop")])
    .with_key_specs(&[key_at(1, &["RW", "delete"])]),
    cmd!(
        "zremrangebyscore",
        4,
        WRITE,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zremrangebyscore,
        "sorted-set",
        "1.2.0",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed."
    )
    .with_args(&[key("key", 0), double("min"), double("max")])
    .with_key_specs(&[key_at(1, &["RW", "delete"])]),
    cmd!(
        "zremrangebylex",
        4,
        WRITE,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zremrangebylex,
        "sorted-set",
        "2.8.9",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.",
        "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed."
    )
    .with_args(&[key("key", 0), string("min"), string("max")])
    .with_key_specs(&[key_at(1, &["RW", "delete"])]),
    cmd!(
        "zpopmin",
        -2,
        WRITE | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zpopmin,
        "sorted-set",
        "5.0.0",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
        "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."
    )
    .with_args(&[key("key", 0), integer("count").optional()])
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"])]),
    cmd!(
        "zpopmax",
        -2,
        WRITE | FAST,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zpopmax,
        "sorted-set",
        "5.0.0",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.",
        "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped."
    )
    .with_args(&[key("key", 0), integer("count").optional()])
    .with_key_specs(&[key_at(1, &["RW", "access", "delete"])]),
    cmd!(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        acl::SORTEDSET,
        keys(1, -2, 1),
        bzpopmin,
        "sorted-set",
        "5.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped."
    )
    .with_args(&[key("key", 0).multiple(), double("timeout")])
    .with_history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")])
    .with_key_specs(&[key_spec(&["RW", "access", "delete"], BeginSearch::Index(1), FindKeys::Range { lastkey: -2, step: 1, limit: 0 })]),
    cmd!(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | FAST | BLOCKING,
        acl::SORTEDSET,
        keys(1, -2, 1),
        bzpopmax,
        "sorted-set",
        "5.0.0",
        "O(log(N)) with N being the number of elements in the sorted set.",
        "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped."
    )
    .with_args(&[key("key", 0).multiple(), double("timeout")])
    .with_history(&[("6.0.0", "`timeout` is interpreted as a double instead of an integer.")])
    .with_key_specs(&[key_spec(&["RW", "access", "delete"], BeginSearch::Index(1), FindKeys::Range { lastkey: -2, step: 1, limit: 0 })]),
    cmd!(
        "bzmpop",
        -5,
        WRITE | BLOCKING | MOVABLEKEYS,
        acl::SORTEDSET,
        numkeys(0, 0, 2),
        bzmpop,
        "sorted-set",
        "7.0.0",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped."
    )
    .with_args(&[
        double("timeout"),
        integer("numkeys"),
        key("key", 0).multiple(),
        WHERE_ARG,
        integer("count").token("COUNT").optional(),
    ])
    .with_key_specs(&[key_spec(&["RW", "access", "delete"], BeginSearch::Index(2), FindKeys::KeyNum { keynumidx: 0, firstkey: 1, step: 1 })]),
    cmd!(
        "zmpop",
        -4,
        WRITE | MOVABLEKEYS,
        acl::SORTEDSET,
        numkeys(0, 0, 1),
        zmpop,
        "sorted-set",
        "7.0.0",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.",
        "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped."
    )
    .with_args(&[integer("numkeys"), key("key", 0).multiple(), WHERE_ARG, integer("count").token("COUNT").optional()])
    .with_key_specs(&[key_spec(&["RW", "access", "delete"], BeginSearch::Index(1), FindKeys::KeyNum { keynumidx: 0, firstkey: 1, step: 1 })]),
    cmd!(
        "zrandmember",
        -2,
        READONLY,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zrandmember,
        "sorted-set",
        "6.2.0",
        "O(N) where N is the number of members returned",
        "Returns one or more random members from a sorted set."
    )
    .with_args(&[
        key("key", 0),
        block("options", &[integer("count"), pure_token("withscores", "WITHSCORES").optional()]).optional(),
    ])
    .with_tips(&["nondeterministic_output"]),
    cmd!(
        "zunion",
        -3,
        READONLY | MOVABLEKEYS,
        acl::SORTEDSET,
        numkeys(0, 0, 1),
        zunion,
        "sorted-set",
        "6.2.0",
        "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
        "Returns the union of multiple sorted sets."
    )
    .with_args(&[
        integer("numkeys"),
        key("key", 0).multiple(),
        integer("weight").token("WEIGHTS").optional().multiple(),
        AGGREGATE_ARG,
        pure_token("withscores", "WITHSCORES").optional(),
    ]),
    cmd!(
        "zinter",
        -3,
        READONLY | MOVABLEKEYS,
        acl::SORTEDSET,
        numkeys(0, 0, 1),
        zinter,
        "sorted-set",
        "6.2.0",
        "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
        "Returns the intersect of multiple sorted sets."
    )
    .with_args(&[
        integer("numkeys"),
        key("key", 0).multiple(),
        integer("weight").token("WEIGHTS").optional().multiple(),
        AGGREGATE_ARG,
        pure_token("withscores", "WITHSCORES").optional(),
    ]),
    cmd!(
        "zdiff",
        -3,
        READONLY | MOVABLEKEYS,
        acl::SORTEDSET,
        numkeys(0, 0, 1),
        zdiff,
        "sorted-set",
        "6.2.0",
        "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
        "Returns the difference between multiple sorted sets."
    )
    .with_args(&[integer("numkeys"), key("key", 0).multiple(), pure_token("withscores", "WITHSCORES").optional()]),
    cmd!(
        "zunionstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        acl::SORTEDSET,
        numkeys(1, 1, 2),
        zunionstore,
        "sorted-set",
        "2.0.0",
        "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.",
        "Stores the union of multiple sorted sets in a key."
    )
    .with_args(&[
        key("destination", 0),
        integer("numkeys"),
        key("key", 1).multiple(),
        integer("weight").token("WEIGHTS").optional().multiple(),
        AGGREGATE_ARG,
    ])
    .with_key_specs(&[key_at(1, &["OW", "update"]), key_spec(&["RO", "access"], BeginSearch::Index(2), FindKeys::KeyNum { keynumidx: 0, firstkey: 1, step: 1 })]),
    cmd!(
        "zinterstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        acl::SORTEDSET,
        numkeys(1, 1, 2),
        zinterstore,
        "sorted-set",
        "2.0.0",
        "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.",
        "Stores the intersect of multiple sorted sets in a key."
    )
    .with_args(&[
        key("destination", 0),
        integer("numkeys"),
        key("key", 1).multiple(),
        integer("weight").token("WEIGHTS").optional().multiple(),
        AGGREGATE_ARG,
    ])
    .with_key_specs(&[key_at(1, &["OW", "update"]), key_spec(&["RO", "access"], BeginSearch::Index(2), FindKeys::KeyNum { keynumidx: 0, firstkey: 1, step: 1 })]),
    cmd!(
        "zdiffstore",
        -4,
        WRITE | DENYOOM | MOVABLEKEYS,
        acl::SORTEDSET,
        numkeys(1, 1, 2),
        zdiffstore,
        "sorted-set",
        "6.2.0",
        "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.",
        "Stores the difference of multiple sorted sets in a key."
    )
    .with_args(&[key("destination", 0), integer("numkeys"), key("key", 1).multiple()])
    .with_key_specs(&[key_at(1, &["OW", "update"]), key_spec(&["RO", "access"], BeginSearch::Index(2), FindKeys::KeyNum { keynumidx: 0, firstkey: 1, step: 1 })]),
    cmd!(
        "zintercard",
        -3,
        READONLY | MOVABLEKEYS,
        acl::SORTEDSET,
        numkeys(0, 0, 1),
        zintercard,
        "sorted-set",
        "7.0.0",
        "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.",
        "Returns the number of members of the intersect of multiple sorted sets."
    )
    .with_args(&[integer("numkeys"), key("key", 0).multiple(), integer("limit").token("LIMIT").optional()]),
    cmd!(
        "zscan",
        -3,
        READONLY,
        acl::SORTEDSET,
        keys(1, 1, 1),
        zscan,
        "sorted-set",
        "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
        "Iterates over members and scores of a sorted set."
    )
    .with_args(&[
        key("key", 0),
        integer("cursor"),
        pattern("pattern").token("MATCH").optional(),
        integer("count").token("COUNT").optional(),
    ])
    .with_tips(&["nondeterministic_output"]),
];

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

/// A reply Redis would grow until the server runs out of memory (a
/// ZRANDMEMBER with a count near -2^63, where normal clients have no
/// output-buffer limit by default) is cut here and the client dropped, as
/// Redis drops a client past its output-buffer limit.
const REPLY_GUARD_BYTES: usize = 128 << 20;

// ---------------------------------------------------------------------------
// Numbers as Redis reads them

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Multiplies by 2^e in steps that stay within the normal range.
fn scale2(mut x: f64, mut e: i64) -> f64 {
    let big = 2f64.powi(1000);
    let small = 2f64.powi(-1000);
    while e > 1000 && x.is_finite() {
        x *= big;
        e -= 1000;
    }
    while e < -1000 && x != 0.0 {
        x *= small;
        e += 1000;
    }
    x * 2f64.powi(e.clamp(-1100, 1100) as i32)
}

/// What glibc's `strtod` reads from the start of `s`: the value, how many
/// bytes it consumed (0 = no number at all) and whether it hit ERANGE by
/// overflowing to infinity or underflowing to zero.
fn strtod(s: &[u8]) -> (f64, usize, bool) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let starts_ci = |i: usize, w: &[u8]| s.len() >= i + w.len() && s[i..i + w.len()].eq_ignore_ascii_case(w);
    let mut i = 0;
    while is_c_space(at(i)) {
        i += 1;
    }
    let num_start = i;
    let neg = at(i) == b'-';
    if matches!(at(i), b'+' | b'-') {
        i += 1;
    }
    let sign = if neg { -1.0 } else { 1.0 };
    if starts_ci(i, b"inf") {
        let end = if starts_ci(i, b"infinity") { i + 8 } else { i + 3 };
        return (sign * f64::INFINITY, end, false);
    }
    if starts_ci(i, b"nan") {
        let mut end = i + 3;
        if at(end) == b'(' {
            let mut j = end + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                end = j + 1;
            }
        }
        return (f64::NAN, end, false);
    }
    if at(i) == b'0' && matches!(at(i + 1), b'x' | b'X') {
        let h = i + 2;
        if at(h).is_ascii_hexdigit() || (at(h) == b'.' && at(h + 1).is_ascii_hexdigit()) {
            return hex_strtod(s, h, sign);
        }
    }
    let mut j = i;
    let mut digits = 0;
    let mut nonzero = false;
    while at(j).is_ascii_digit() {
        nonzero |= at(j) != b'0';
        j += 1;
        digits += 1;
    }
    if at(j) == b'.' {
        j += 1;
        while at(j).is_ascii_digit() {
            nonzero |= at(j) != b'0';
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return (0.0, 0, false);
    }
    if matches!(at(j), b'e' | b'E') {
        let mut k = j + 1;
        if matches!(at(k), b'+' | b'-') {
            k += 1;
        }
        if at(k).is_ascii_digit() {
            while at(k).is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    let text = std::str::from_utf8(&s[num_start..j]).unwrap_or("0");
    let v: f64 = text.parse().unwrap_or(0.0);
    let range_error = v.is_infinite() || (v == 0.0 && nonzero);
    (v, j, range_error)
}

/// The hexadecimal part of `strtod` (`0x1.8p3`), from the first digit.
fn hex_strtod(s: &[u8], mut j: usize, sign: f64) -> (f64, usize, bool) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u64);
    // Up to 16 significant digits fill a u64; the rest only shift the
    // exponent, and a non-zero one sets a sticky bit for rounding.
    let mut mant: u64 = 0;
    let mut used = 0;
    let mut exp: i64 = 0;
    let mut sticky = false;
    let mut take = |d: u64, frac: bool, mant: &mut u64, exp: &mut i64| {
        if *mant == 0 && d == 0 {
            if frac {
                *exp -= 4;
            }
            return;
        }
        if used < 16 {
            *mant = (*mant << 4) | d;
            used += 1;
            if frac {
                *exp -= 4;
            }
        } else {
            sticky |= d != 0;
            if !frac {
                *exp += 4;
            }
        }
    };
    while let Some(d) = hex(at(j)) {
        take(d, false, &mut mant, &mut exp);
        j += 1;
    }
    if at(j) == b'.' {
        j += 1;
        while let Some(d) = hex(at(j)) {
            take(d, true, &mut mant, &mut exp);
            j += 1;
        }
    }
    if matches!(at(j), b'p' | b'P') {
        let mut k = j + 1;
        let neg = at(k) == b'-';
        if matches!(at(k), b'+' | b'-') {
            k += 1;
        }
        if at(k).is_ascii_digit() {
            let mut e: i64 = 0;
            while at(k).is_ascii_digit() {
                e = (e * 10 + (at(k) - b'0') as i64).min(1 << 20);
                k += 1;
            }
            exp += if neg { -e } else { e };
            j = k;
        }
    }
    if sticky {
        mant |= 1;
    }
    let v = sign * scale2(mant as f64, exp);
    let range_error = v.is_infinite() || (v == 0.0 && mant != 0);
    (v, j, range_error)
}

/// A score or weight argument, as Redis's `getDoubleFromObject` (string2d)
/// reads it: the whole string must be a number, no leading space, not NaN,
/// and not out of the double range.
pub fn parse_score(a: &[u8]) -> Option<f64> {
    if a.is_empty() || is_c_space(a[0]) {
        return None;
    }
    let (v, end, range_error) = strtod(a);
    (end == a.len() && !range_error && !v.is_nan()).then_some(v)
}

/// One end of a score range (`zslParseRange`): `(` makes it exclusive; the
/// rest goes to strtod up to the first NUL byte, which must end the number.
/// Out-of-range values saturate and an empty string reads as 0, as in
/// Redis.
fn parse_bound(a: &[u8]) -> Option<(f64, bool)> {
    let a = &a[..a.iter().position(|&b| b == 0).unwrap_or(a.len())];
    let (excl, body) = match a.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, a),
    };
    let (v, end, _) = strtod(body);
    (end == body.len() && !v.is_nan()).then_some((v, excl))
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
    let (min, min_ex) = parse_bound(min)?;
    let (max, max_ex) = parse_bound(max)?;
    Some(ScoreRange { min, max, min_ex, max_ex })
}

/// One end of a lex range: `-`, `+`, `(member` or `[member`.
fn parse_lex_bound(a: &[u8]) -> Option<LexBound> {
    match a.split_first()? {
        (b'+', []) => Some(LexBound::PosInf),
        (b'-', []) => Some(LexBound::NegInf),
        (b'(', rest) => Some(LexBound::Excl(rest.to_vec())),
        (b'[', rest) => Some(LexBound::Incl(rest.to_vec())),
        _ => None,
    }
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Option<LexRange> {
    Some(LexRange { min: parse_lex_bound(min)?, max: parse_lex_bound(max)? })
}

/// The client's database and output buffer, borrowed together.
fn parts<'a>(ctx: &'a mut Ctx) -> (&'a mut Db, &'a mut Out) {
    let db = ctx.client.db;
    (&mut ctx.srv.dbs[db], &mut ctx.client.out)
}

struct WrongType;

/// The database, the statistics and the output buffer of a read command.
fn reader<'a>(ctx: &'a mut Ctx) -> (&'a mut Db, &'a mut Stats, &'a mut Out) {
    let crate::executor::Server { dbs, stats, .. } = &mut *ctx.srv;
    (&mut dbs[ctx.client.db], stats, &mut ctx.client.out)
}

/// Counts a read lookup in INFO's keyspace_hits/misses, as Redis's
/// lookupKeyRead does.
fn count_hit(stats: &mut Stats, hit: bool) {
    if hit {
        stats.keyspace_hits += 1;
    } else {
        stats.keyspace_misses += 1;
    }
}

/// The zset at `key` for reading (None when the key does not exist).
fn lookup<'a>(db: &'a mut Db, stats: &mut Stats, key: &[u8]) -> Result<Option<&'a ZSet>, WrongType> {
    let found = db.get(key);
    count_hit(stats, found.is_some());
    match found {
        None => Ok(None),
        Some(Obj { val: Value::ZSet(z), .. }) => Ok(Some(z)),
        Some(_) => Err(WrongType),
    }
}

fn lookup_mut<'a>(db: &'a mut Db, key: &[u8]) -> Result<Option<&'a mut ZSet>, WrongType> {
    match db.get_mut(key) {
        None => Ok(None),
        Some(Obj { val: Value::ZSet(z), .. }) => Ok(Some(z)),
        Some(_) => Err(WrongType),
    }
}

// ---------------------------------------------------------------------------
// Replies

/// A score: a RESP3 double, or in RESP2 a bulk string, printed as Redis
/// 7.2's d2string. Integral values, the common case, skip the float
/// printer.
fn reply_score(out: &mut Out, s: f64) {
    let mut buf = [0u8; 20];
    let text;
    let bytes: &[u8] = if s != 0.0 && s.fract() == 0.0 && s.abs() < 1e15 {
        int_text(s as i64, &mut buf)
    } else {
        text = d2string(s);
        text.as_bytes()
    };
    if out.resp >= 3 {
        out.raw(b",");
        out.raw(bytes);
        out.raw(b"\r\n");
    } else {
        out.bulk(bytes);
    }
}

/// The header of a reply of `n` members, with or without their scores:
/// RESP2 flattens pairs into one array, RESP3 nests them.
fn range_header(out: &mut Out, n: usize, withscores: bool) {
    out.array(if withscores && out.resp < 3 { n * 2 } else { n });
}

fn range_item(out: &mut Out, m: &[u8], s: f64, withscores: bool) {
    if withscores && out.resp >= 3 {
        out.array(2);
    }
    out.bulk(m);
    if withscores {
        reply_score(out, s);
    }
}

fn reply_items(out: &mut Out, items: &[Scored], withscores: bool) {
    range_header(out, items.len(), withscores);
    for (m, s) in items {
        range_item(out, m, *s, withscores);
    }
}

/// Sorts computed elements into zset order: score, then member bytes.
fn sort_scored(items: &mut [Scored]) {
    items.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.cmp(&b.0)));
}

/// Stores a computed result at `dst` (the *STORE commands): an empty
/// result deletes the destination instead. Replies with the new size.
fn store_result(ctx: &mut Ctx, dst: &[u8], mut items: Vec<Scored>) {
    if items.is_empty() {
        let deleted = ctx.db().del(dst).is_some();
        if deleted {
            ctx.dirty(1);
            ctx.notify(class::GENERIC, "del", dst);
        }
        return ctx.out().int(0);
    }
    sort_scored(&mut items);
    let n = items.len();
    let z = ZSet::from_sorted(items, ctx.srv.config.encoding.zset);
    ctx.db().set(dst, Obj::new(Value::ZSet(z)));
    ctx.dirty(1);
    // The event is the command's name: zunionstore, zrangestore...
    let event = ctx.cmd.name;
    ctx.notify(class::ZSET, event, dst);
    ctx.out().int(n as i64);
}

// ---------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM

pub fn zadd(ctx: &mut Ctx, args: &[Bytes]) {
    zadd_generic(ctx, args, false);
}

fn zincrby(ctx: &mut Ctx, args: &[Bytes]) {
    zadd_generic(ctx, args, true);
}

/// ZADD and ZINCRBY (which is ZADD with INCR, options included: Redis
/// parses options at the same place for both).
fn zadd_generic(ctx: &mut Ctx, args: &[Bytes], incr: bool) {
    let mut flags = AddFlags { incr, ..AddFlags::default() };
    let mut ch = false;
    let mut i = 2;
    while let Some(a) = args.get(i) {
        if eq_ic(a, "nx") {
            flags.nx = true;
        } else if eq_ic(a, "xx") {
            flags.xx = true;
        } else if eq_ic(a, "ch") {
            ch = true;
        } else if eq_ic(a, "incr") {
            flags.incr = true;
        } else if eq_ic(a, "gt") {
            flags.gt = true;
        } else if eq_ic(a, "lt") {
            flags.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let pairs = &args[i..];
    if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
        return ctx.syntax_error();
    }
    if flags.nx && flags.xx {
        return ctx.error("ERR XX and NX options at the same time are not compatible");
    }
    if (flags.nx && (flags.gt || flags.lt)) || (flags.gt && flags.lt) {
        return ctx.error("ERR GT, LT, and/or NX options at the same time are not compatible");
    }
    let n = pairs.len() / 2;
    if flags.incr && n > 1 {
        return ctx.error("ERR INCR option supports a single increment-element pair");
    }
    // Every score is checked before anything changes: the command applies
    // whole or not at all. Small batches (the usual case) stay on the stack.
    let mut small = [0f64; 8];
    let mut large = Vec::new();
    let scores: &mut [f64] = if n <= small.len() {
        &mut small[..n]
    } else {
        large.resize(n, 0.0);
        &mut large
    };
    for (s, pair) in scores.iter_mut().zip(pairs.chunks_exact(2)) {
        match parse_score(&pair[0]) {
            Some(v) => *s = v,
            None => return ctx.not_float(),
        }
    }
    let limits = ctx.srv.config.encoding.zset;
    let key = &args[1];
    let (db, out) = parts(ctx);
    let outcome = match db.get_mut(key) {
        Some(Obj { val: Value::ZSet(z), .. }) => {
            z.maybe_convert(n, limits);
            apply_adds(z, pairs, scores, flags, limits)
        }
        Some(_) => return out.error(WRONGTYPE),
        // Nothing to update: the reply of a call that changed nothing.
        None if flags.xx => Ok(Adds::default()),
        None => {
            // Redis sizes the new zset by the number of pairs and the first
            // member's length (duplicates included).
            let mut z = ZSet::with_hint(n, pairs[1].len(), limits);
            let outcome = apply_adds(&mut z, pairs, scores, flags, limits);
            db.set(key, Obj::new(Value::ZSet(z)));
            outcome
        }
    };
    let Ok(adds) = outcome else { return out.error("ERR resulting score is not a number (NaN)") };
    if flags.incr {
        if adds.processed > 0 {
            reply_score(out, adds.last);
        } else {
            out.null();
        }
    } else {
        out.int((if ch { adds.added + adds.updated } else { adds.added }) as i64);
    }
    ctx.dirty(adds.added + adds.updated);
    if adds.added + adds.updated > 0 {
        ctx.notify(class::ZSET, if flags.incr { "zincr" } else { "zadd" }, key);
    }
}

/// What a ZADD did, to build its reply.
#[derive(Default)]
struct Adds {
    added: u64,
    updated: u64,
    processed: u64,
    /// The score of the last member processed (ZINCRBY's reply).
    last: f64,
}

fn apply_adds(
    z: &mut ZSet,
    pairs: &[Bytes],
    scores: &[f64],
    flags: AddFlags,
    limits: PackLimits,
) -> Result<Adds, NotANumber> {
    let mut adds = Adds::default();
    for (score, pair) in scores.iter().zip(pairs.chunks_exact(2)) {
        let (result, new) = z.add(&pair[1], *score, flags, limits)?;
        match result {
            AddResult::Added => adds.added += 1,
            AddResult::Updated => adds.updated += 1,
            AddResult::Unchanged | AddResult::Skipped => {}
        }
        if result != AddResult::Skipped {
            adds.processed += 1;
            adds.last = new;
        }
    }
    Ok(adds)
}

fn zrem(ctx: &mut Ctx, args: &[Bytes]) {
    super::sets::remove_members(ctx, args, (class::ZSET, "zrem"), |v, m| match v {
        Value::ZSet(z) => Some((z.remove(m).is_some(), z.is_empty())),
        _ => None,
    });
}

// ---------------------------------------------------------------------------
// Lookups: ZCARD, ZSCORE, ZMSCORE, ZCOUNT, ZLEXCOUNT, ZRANK

fn zcard(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = reader(ctx);
    match lookup(db, stats, &args[1]) {
        Ok(z) => out.int(z.map_or(0, |z| z.len()) as i64),
        Err(WrongType) => out.error(WRONGTYPE),
    }
}

fn zscore(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = reader(ctx);
    match lookup(db, stats, &args[1]) {
        Ok(z) => match z.and_then(|z| z.score(&args[2])) {
            Some(s) => reply_score(out, s),
            None => out.null(),
        },
        Err(WrongType) => out.error(WRONGTYPE),
    }
}

fn zmscore(ctx: &mut Ctx, args: &[Bytes]) {
    let (db, stats, out) = reader(ctx);
    let z = match lookup(db, stats, &args[1]) {
        Ok(z) => z,
        Err(WrongType) => return out.error(WRONGTYPE),
    };
    out.array(args.len() - 2);
    for m in &args[2..] {
        match z.and_then(|z| z.score(m)) {
            Some(s) => reply_score(out, s),
            None => out.null(),
        }
    }
}

fn zcount(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(r) = parse_score_range(&args[2], &args[3]) else {
        return ctx.error("ERR min or max is not a float");
    };
    let (db, stats, out) = reader(ctx);
    match lookup(db, stats, &args[1]) {
        Ok(z) => out.int(z.map_or(0, |z| z.count_in_range(&r)) as i64),
        Err(WrongType) => out.error(WRONGTYPE),
    }
}

fn zlexcount(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(r) = parse_lex_range(&args[2], &args[3]) else {
        return ctx.error("ERR min or max not valid string range item");
    };
    let (db, stats, out) = reader(ctx);
    match lookup(db, stats, &args[1]) {
        Ok(z) => out.int(z.map_or(0, |z| z.count_in_lex(&r)) as i64),
        Err(WrongType) => out.error(WRONGTYPE),
    }
}

fn zrank(ctx: &mut Ctx, args: &[Bytes]) {
    zrank_generic(ctx, args, false);
}

fn zrevrank(ctx: &mut Ctx, args: &[Bytes]) {
    zrank_generic(ctx, args, true);
}

/// ZRANK/ZREVRANK, with Redis 7.2's WITHSCORE.
fn zrank_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) {
    if args.len() > 4 {
        let name = ctx.cmd.name;
        return ctx.error(&format!("ERR wrong number of arguments for '{name}' command"));
    }
    let withscore = match args.get(3) {
        Some(a) if eq_ic(a, "withscore") => true,
        Some(_) => return ctx.syntax_error(),
        None => false,
    };
    let (db, stats, out) = reader(ctx);
    let z = match lookup(db, stats, &args[1]) {
        Ok(z) => z,
        Err(WrongType) => return out.error(WRONGTYPE),
    };
    match z.and_then(|z| z.rank(&args[2], rev)) {
        Some((rank, score)) => {
            if withscore {
                out.array(2);
            }
            out.int(rank as i64);
            if withscore {
                reply_score(out, score);
            }
        }
        None if withscore => out.null_array(),
        None => out.null(),
    }
}

// ---------------------------------------------------------------------------
// ZRANGE and its relatives

#[derive(Clone, Copy, PartialEq, Eq)]
enum RangeBy {
    Auto,
    Rank,
    Score,
    Lex,
}

enum Spec {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// A parsed range query: what to select, in which direction, which slice.
struct RangeQuery {
    spec: Spec,
    rev: bool,
    withscores: bool,
    offset: i64,
    /// Negative: no limit.
    limit: i64,
}

/// Clamps Redis-style rank indexes (negative from the end) to the zset's
/// length; None when the range is empty.
fn rank_bounds(len: usize, start: i64, end: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut start = if start < 0 { len + start } else { start };
    let mut end = if end < 0 { len + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= len {
        return None;
    }
    if end >= len {
        end = len - 1;
    }
    Some((start as usize, end as usize))
}

impl RangeQuery {
    /// Offset and limit as the skip/take of a score or lex range: None
    /// when Redis answers empty at once (negative offset, or one past the
    /// zset's end).
    fn window(&self, len: usize) -> Option<(usize, Option<usize>)> {
        if self.offset < 0 || (self.offset > 0 && self.offset as u64 >= len as u64) {
            return None;
        }
        let limit = usize::try_from(self.limit).ok();
        Some((self.offset as usize, limit))
    }

    /// Where the selection starts in `z` (0-based position in the walking
    /// direction) and how many elements it has.
    fn plan(&self, z: &ZSet) -> (usize, usize) {
        match &self.spec {
            Spec::Rank(a, b) => rank_bounds(z.len(), *a, *b).map_or((0, 0), |(a, b)| (a, b - a + 1)),
            Spec::Score(r) => self.window(z.len()).map_or((0, 0), |(o, l)| z.score_window(r, self.rev, o, l)),
            Spec::Lex(r) => self.window(z.len()).map_or((0, 0), |(o, l)| z.lex_window(r, self.rev, o, l)),
        }
    }

    /// Replies with the selected elements of `z`.
    fn reply(&self, z: &ZSet, out: &mut Out) {
        let (first, n) = self.plan(z);
        range_header(out, n, self.withscores);
        if n > 0 {
            z.for_rank_range(first, first + n - 1, self.rev, |m, s| range_item(out, m, s, self.withscores));
        }
    }

    /// Visits the selected elements in reply order.
    fn visit(&self, z: &ZSet, mut f: impl FnMut(&[u8], f64)) {
        let (first, n) = self.plan(z);
        if n > 0 {
            z.for_rank_range(first, first + n - 1, self.rev, &mut f);
        }
    }
}

/// Parses `<min> <max> [BYSCORE|BYLEX] [REV] [WITHSCORES] [LIMIT o c]`
/// starting at the source key `key_at`, as Redis's zrangeGenericCommand:
/// options first, then their conflicts, then the range itself. Writes the
/// error and returns None when something is wrong.
fn parse_range(
    ctx: &mut Ctx,
    args: &[Bytes],
    key_at: usize,
    store: bool,
    mut by: RangeBy,
    mut rev: Option<bool>,
) -> Option<RangeQuery> {
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = key_at + 3;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if !store && eq_ic(a, "withscores") {
            withscores = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            match (parse_i64(&args[j + 1]), parse_i64(&args[j + 2])) {
                (Some(o), Some(c)) => (offset, limit) = (o, c),
                _ => {
                    ctx.not_integer();
                    return None;
                }
            }
            j += 2;
        } else if rev.is_none() && eq_ic(a, "rev") {
            rev = Some(true);
        } else if by == RangeBy::Auto && eq_ic(a, "bylex") {
            by = RangeBy::Lex;
        } else if by == RangeBy::Auto && eq_ic(a, "byscore") {
            by = RangeBy::Score;
        } else {
            ctx.syntax_error();
            return None;
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if by == RangeBy::Auto {
        by = RangeBy::Rank;
    }
    if limit != -1 && by == RangeBy::Rank {
        ctx.error("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return None;
    }
    if withscores && by == RangeBy::Lex {
        ctx.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return None;
    }
    // Reversed score and lex ranges are written max first.
    let (mut lo, mut hi) = (&args[key_at + 1], &args[key_at + 2]);
    if rev && by != RangeBy::Rank {
        std::mem::swap(&mut lo, &mut hi);
    }
    let spec = match by {
        RangeBy::Score => match parse_score_range(lo, hi) {
            Some(r) => Spec::Score(r),
            None => {
                ctx.error("ERR min or max is not a float");
                return None;
            }
        },
        RangeBy::Lex => match parse_lex_range(lo, hi) {
            Some(r) => Spec::Lex(r),
            None => {
                ctx.error("ERR min or max not valid string range item");
                return None;
            }
        },
        RangeBy::Rank | RangeBy::Auto => match (parse_i64(lo), parse_i64(hi)) {
            (Some(a), Some(b)) => Spec::Rank(a, b),
            _ => {
                ctx.not_integer();
                return None;
            }
        },
    };
    Some(RangeQuery { spec, rev, withscores, offset, limit })
}

/// ZRANGE, ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX.
fn range_command(ctx: &mut Ctx, args: &[Bytes], by: RangeBy, rev: Option<bool>) {
    let Some(q) = parse_range(ctx, args, 1, false, by, rev) else { return };
    let (db, stats, out) = reader(ctx);
    let z = match lookup(db, stats, &args[1]) {
        Ok(Some(z)) => z,
        Ok(None) => return out.array(0),
        Err(WrongType) => return out.error(WRONGTYPE),
    };
    q.reply(z, out);
}

fn zrange(ctx: &mut Ctx, args: &[Bytes]) {
    range_command(ctx, args, RangeBy::Auto, None);
}

fn zrevrange(ctx: &mut Ctx, args: &[Bytes]) {
    range_command(ctx, args, RangeBy::Rank, Some(true));
}

fn zrangebyscore(ctx: &mut Ctx, args: &[Bytes]) {
    range_command(ctx, args, RangeBy::Score, Some(false));
}

fn zrevrangebyscore(ctx: &mut Ctx, args: &[Bytes]) {
    range_command(ctx, args, RangeBy::Score, Some(true));
}

fn zrangebylex(ctx: &mut Ctx, args: &[Bytes]) {
    range_command(ctx, args, RangeBy::Lex, Some(false));
}

fn zrevrangebylex(ctx: &mut Ctx, args: &[Bytes]) {
    range_command(ctx, args, RangeBy::Lex, Some(true));
}

fn zrangestore(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(q) = parse_range(ctx, args, 2, true, RangeBy::Auto, None) else { return };
    let (db, stats, out) = reader(ctx);
    let mut items = Vec::new();
    match lookup(db, stats, &args[2]) {
        Ok(Some(z)) => q.visit(z, |m, s| items.push((m.to_vec(), s))),
        Ok(None) => {}
        Err(WrongType) => return out.error(WRONGTYPE),
    }
    store_result(ctx, &args[1], items);
}

// ---------------------------------------------------------------------------
// ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX

enum Removal {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

fn zremrange(ctx: &mut Ctx, args: &[Bytes], what: Removal) {
    let key = &args[1];
    let (db, out) = parts(ctx);
    let z = match lookup_mut(db, key) {
        Ok(Some(z)) => z,
        Ok(None) => return out.int(0),
        Err(WrongType) => return out.error(WRONGTYPE),
    };
    let removed = match what {
        Removal::Rank(a, b) => rank_bounds(z.len(), a, b).map_or(0, |(a, b)| z.remove_rank_range(a, b)),
        Removal::Score(r) => z.remove_score_range(&r),
        Removal::Lex(r) => z.remove_lex_range(&r),
    };
    let emptied = z.is_empty();
    if emptied {
        db.del(key);
    }
    out.int(removed as i64);
    ctx.dirty(removed as u64);
    if removed > 0 {
        // The event is the command's name: zremrangebyscore...
        let event = ctx.cmd.name;
        ctx.notify(class::ZSET, event, key);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
}

fn zremrangebyrank(ctx: &mut Ctx, args: &[Bytes]) {
    match (parse_i64(&args[2]), parse_i64(&args[3])) {
        (Some(a), Some(b)) => zremrange(ctx, args, Removal::Rank(a, b)),
        _ => ctx.not_integer(),
    }
}

fn zremrangebyscore(ctx: &mut Ctx, args: &[Bytes]) {
    match parse_score_range(&args[2], &args[3]) {
        Some(r) => zremrange(ctx, args, Removal::Score(r)),
        None => ctx.error("ERR min or max is not a float"),
    }
}

fn zremrangebylex(ctx: &mut Ctx, args: &[Bytes]) {
    match parse_lex_range(&args[2], &args[3]) {
        Some(r) => zremrange(ctx, args, Removal::Lex(r)),
        None => ctx.error("ERR min or max not valid string range item"),
    }
}

// ---------------------------------------------------------------------------
// ZPOPMIN, ZPOPMAX, ZMPOP (and, later, their blocking forms)

/// The reply layouts of the pop family (Redis's emitkey/use_nested_array).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PopShape {
    /// `[member, score, ...]`: ZPOPMIN/ZPOPMAX in RESP2, or without COUNT.
    Flat,
    /// `[[member, score], ...]`: ZPOPMIN/ZPOPMAX with COUNT in RESP3.
    Nested,
    /// `[key, member, score]`: BZPOPMIN/BZPOPMAX.
    KeyFlat,
    /// `[key, [[member, score], ...]]`: ZMPOP/BZMPOP.
    KeyNested,
}

/// What `zpop` found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Popped {
    /// None of the keys exists; nothing was written.
    NoKey,
    /// The first existing key is not a zset; WRONGTYPE was written.
    WrongType,
    /// `count` elements were popped from `keys[key]` and the reply written.
    Done { key: usize, count: usize },
}

/// Redis's genericZpopCommand: pops up to `count` elements (lowest first,
/// or highest with `max`) from the first of `keys` that exists, writes the
/// reply in `shape`, deletes the key once empty and counts the changes.
/// A blocking form calls it once data may be there.
pub fn zpop(ctx: &mut Ctx, keys: &[Bytes], max: bool, count: usize, shape: PopShape) -> Popped {
    let (db, out) = parts(ctx);
    for (idx, key) in keys.iter().enumerate() {
        let z = match lookup_mut(db, key) {
            Ok(Some(z)) => z,
            Ok(None) => continue,
            Err(WrongType) => {
                out.error(WRONGTYPE);
                return Popped::WrongType;
            }
        };
        if count == 0 {
            out.array(0);
            return Popped::Done { key: idx, count: 0 };
        }
        let n = count.min(z.len());
        match shape {
            PopShape::Flat => out.array(n * 2),
            PopShape::Nested => out.array(n),
            PopShape::KeyFlat => {
                out.array(n * 2 + 1);
                out.bulk(key);
            }
            PopShape::KeyNested => {
                out.array(2);
                out.bulk(key);
                out.array(n);
            }
        }
        let nested = matches!(shape, PopShape::Nested | PopShape::KeyNested);
        for _ in 0..n {
            z.pop_with(max, |m, s| {
                if nested {
                    out.array(2);
                }
                out.bulk(m);
                reply_score(out, s);
            });
        }
        let emptied = z.is_empty();
        if emptied {
            db.del(key);
        }
        ctx.dirty(n as u64);
        if n > 0 {
            ctx.notify(class::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
            if emptied {
                ctx.notify(class::GENERIC, "del", key);
            }
        }
        return Popped::Done { key: idx, count: n };
    }
    Popped::NoKey
}

fn zpopmin(ctx: &mut Ctx, args: &[Bytes]) {
    zpop_minmax(ctx, args, false);
}

fn zpopmax(ctx: &mut Ctx, args: &[Bytes]) {
    zpop_minmax(ctx, args, true);
}

fn zpop_minmax(ctx: &mut Ctx, args: &[Bytes], max: bool) {
    if args.len() > 3 {
        return ctx.syntax_error();
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => match parse_i64(a) {
            Some(c) if c >= 0 => Some(c as usize),
            // getPositiveLongFromObjectOrReply: one message for both.
            _ => return ctx.error("ERR value is out of range, must be positive"),
        },
    };
    // RESP3 nests the pairs only when a count was given.
    let shape = if ctx.client.out.resp >= 3 && count.is_some() { PopShape::Nested } else { PopShape::Flat };
    if zpop(ctx, &args[1..2], max, count.unwrap_or(1), shape) == Popped::NoKey {
        ctx.out().array(0);
    }
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
fn zmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let Some((keys, max, count)) = parse_mpop(ctx, args, 1) else { return };
    match zpop(ctx, keys, max, count, PopShape::KeyNested) {
        Popped::NoKey => ctx.out().null_array(),
        Popped::WrongType => {}
        Popped::Done { key, count } => {
            // Replicas and the AOF get the pop that happened.
            let name: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            ctx.propagate(vec![Bytes::from_static(name), keys[key].clone(), Bytes::from(count.to_string())]);
        }
    }
}

/// BZPOPMIN/BZPOPMAX key [key ...] timeout: pops at once from the first
/// existing key, or waits for one. Served, it propagates as ZPOPMIN/ZPOPMAX.
fn bzpop(ctx: &mut Ctx, args: &[Bytes], max: bool) {
    let Some(deadline) = crate::executor::blocking::parse_timeout(ctx, &args[args.len() - 1]) else { return };
    let keys = &args[1..args.len() - 1];
    match zpop(ctx, keys, max, 1, PopShape::KeyFlat) {
        Popped::WrongType => {}
        Popped::Done { key, .. } => {
            let name: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            ctx.propagate(vec![Bytes::from_static(name), keys[key].clone()]);
        }
        Popped::NoKey if !ctx.can_block() => ctx.out().null_array(),
        Popped::NoKey => {
            let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
            ctx.block(args, &keys, deadline);
        }
    }
}

fn bzpopmin(ctx: &mut Ctx, args: &[Bytes]) {
    bzpop(ctx, args, false);
}

fn bzpopmax(ctx: &mut Ctx, args: &[Bytes]) {
    bzpop(ctx, args, true);
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(deadline) = crate::executor::blocking::parse_timeout(ctx, &args[1]) else { return };
    let Some((keys, max, count)) = parse_mpop(ctx, args, 2) else { return };
    match zpop(ctx, keys, max, count, PopShape::KeyNested) {
        Popped::WrongType => {}
        Popped::Done { key, count } => {
            let name: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            ctx.propagate(vec![Bytes::from_static(name), keys[key].clone(), Bytes::from(count.to_string())]);
        }
        Popped::NoKey if !ctx.can_block() => ctx.out().null_array(),
        Popped::NoKey => {
            let keys: Vec<&[u8]> = keys.iter().map(|k| &k[..]).collect();
            ctx.block(args, &keys, deadline);
        }
    }
}

/// Parses `numkeys key... MIN|MAX [COUNT n]` (ZMPOP, BZMPOP) from
/// `numkeys_at`: the keys, whether to pop the highest, and the count.
pub fn parse_mpop<'a>(ctx: &mut Ctx, args: &'a [Bytes], numkeys_at: usize) -> Option<(&'a [Bytes], bool, usize)> {
    let numkeys = match parse_i64(&args[numkeys_at]) {
        Some(n) if n >= 1 => n as u64,
        _ => {
            ctx.error("ERR numkeys should be greater than 0");
            return None;
        }
    };
    let where_at = match (numkeys_at as u64).checked_add(numkeys + 1) {
        Some(w) if w < args.len() as u64 => w as usize,
        _ => {
            ctx.syntax_error();
            return None;
        }
    };
    let max = if eq_ic(&args[where_at], "min") {
        false
    } else if eq_ic(&args[where_at], "max") {
        true
    } else {
        ctx.syntax_error();
        return None;
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(&args[j], "count") && j + 1 < args.len() {
            match parse_i64(&args[j + 1]) {
                Some(c) if c >= 1 => count = Some(c as usize),
                _ => {
                    ctx.error("ERR count should be greater than 0");
                    return None;
                }
            }
            j += 2;
        } else {
            ctx.syntax_error();
            return None;
        }
    }
    Some((&args[numkeys_at + 1..where_at], max, count.unwrap_or(1)))
}

// ---------------------------------------------------------------------------
// ZRANDMEMBER

fn zrandmember(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() == 2 {
        let crate::executor::Server { dbs, rng, stats, .. } = &mut *ctx.srv;
        let db = &mut dbs[ctx.client.db];
        let out = &mut ctx.client.out;
        return match lookup(db, stats, &args[1]) {
            Ok(Some(z)) => z.sample_with_repeats(1, rng, |m, _| {
                out.bulk(m);
                false
            }),
            Ok(None) => out.null(),
            Err(WrongType) => out.error(WRONGTYPE),
        };
    }
    // The count must fit -LONG_MAX..LONG_MAX (i64::MIN has no positive
    // counterpart).
    let count = match parse_i64(&args[2]) {
        Some(i64::MIN) => {
            return ctx
                .error("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
        }
        Some(c) => c,
        None => return ctx.not_integer(),
    };
    if args.len() > 4 || (args.len() == 4 && !eq_ic(&args[3], "withscores")) {
        return ctx.syntax_error();
    }
    let withscores = args.len() == 4;
    // With scores the reply holds twice as many elements: they must still
    // be countable.
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return ctx.error("ERR value is out of range");
    }
    let crate::executor::Server { dbs, rng, stats, .. } = &mut *ctx.srv;
    let db = &mut dbs[ctx.client.db];
    let client = &mut *ctx.client;
    let out = &mut client.out;
    let z = match lookup(db, stats, &args[1]) {
        Ok(Some(z)) => z,
        Ok(None) => return out.array(0),
        Err(WrongType) => return out.error(WRONGTYPE),
    };
    let n = count.unsigned_abs();
    if n == 0 {
        return out.array(0);
    }
    let size = z.len() as u64;
    if count < 0 || n == 1 {
        // Repeats allowed: exactly n picks, in random order. A reply that
        // cannot fit the guard (every pick costs at least an empty bulk)
        // is refused before any work.
        let least = if withscores { 10 } else { 6 };
        if n.saturating_mul(least) > REPLY_GUARD_BYTES as u64 {
            client.close_after_reply = true;
            return;
        }
        let start = out.buf.len();
        out.array(if withscores && out.resp < 3 { (n * 2) as usize } else { n as usize });
        let mut overflow = false;
        z.sample_with_repeats(n, rng, |m, s| {
            range_item(out, m, s, withscores);
            overflow = out.buf.len() - start > REPLY_GUARD_BYTES;
            !overflow
        });
        if overflow {
            out.buf.truncate(start);
            client.close_after_reply = true;
        }
        return;
    }
    if n >= size {
        // The whole set, in the order Redis's iterator gives: highest first.
        range_header(out, z.len(), withscores);
        z.for_rank_range(0, z.len() - 1, true, |m, s| range_item(out, m, s, withscores));
        return;
    }
    range_header(out, n as usize, withscores);
    z.sample_unique(n as usize, rng, |m, s| range_item(out, m, s, withscores));
}

// ---------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, their STORE forms and ZINTERCARD

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// Folds `v` into `target` (zunionInterAggregate): a sum of +inf and -inf
/// counts as 0; a NaN never wins a MIN or MAX.
fn aggregate(target: &mut f64, v: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += v;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v;
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v;
            }
        }
    }
}

/// An input of a set operation: a zset, or a plain set whose members all
/// score 1.
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a Set),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Z(z) => z.len(),
            Source::S(s) => s.len(),
        }
    }

    fn find(&self, m: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Z(z) => z.score(m),
            Source::S(s) => s.contains(m).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Source::Missing => {}
            Source::Z(z) => z.for_each(f),
            Source::S(s) => {
                for m in s.members() {
                    f(&m, 1.0);
                }
            }
        }
    }
}

/// The shared body of ZUNION/ZINTER/ZDIFF[STORE] and ZINTERCARD (Redis's
/// zunionInterDiffGenericCommand). `dst` is the destination's index for
/// the STORE forms.
fn setop(ctx: &mut Ctx, args: &[Bytes], numkeys_at: usize, dst: Option<usize>, op: SetOp, card_only: bool) {
    let Some(setnum) = parse_i64(&args[numkeys_at]) else { return ctx.not_integer() };
    if setnum < 1 {
        let name = ctx.cmd.name;
        return ctx.error(&format!("ERR at least 1 input key is needed for '{name}' command"));
    }
    if setnum as u64 > (args.len() - numkeys_at - 1) as u64 {
        return ctx.syntax_error();
    }
    let setnum = setnum as usize;
    let keys = &args[numkeys_at + 1..numkeys_at + 1 + setnum];
    // Look every input up first (expiring stale keys): a wrong type is
    // reported before the options are parsed, as in Redis.
    {
        let (db, stats, out) = reader(ctx);
        for k in keys {
            let found = db.get(k);
            count_hit(stats, found.is_some());
            if matches!(found, Some(o) if !matches!(o.val, Value::ZSet(_) | Value::Set(_))) {
                return out.error(WRONGTYPE);
            }
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = numkeys_at + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if op != SetOp::Diff && !card_only && remaining > setnum && eq_ic(a, "weights") {
            for (w, arg) in weights.iter_mut().zip(&args[j + 1..j + 1 + setnum]) {
                match parse_score(arg) {
                    Some(v) => *w = v,
                    None => return ctx.error("ERR weight value is not a float"),
                }
            }
            j += 1 + setnum;
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && eq_ic(a, "aggregate") {
            let v = &args[j + 1];
            how = if eq_ic(v, "sum") {
                Aggregate::Sum
            } else if eq_ic(v, "min") {
                Aggregate::Min
            } else if eq_ic(v, "max") {
                Aggregate::Max
            } else {
                return ctx.syntax_error();
            };
            j += 2;
        } else if dst.is_none() && !card_only && eq_ic(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ic(a, "limit") {
            match parse_i64(&args[j + 1]) {
                Some(l) if l >= 0 => limit = l as usize,
                _ => return ctx.error("ERR LIMIT can't be negative"),
            }
            j += 2;
        } else {
            return ctx.syntax_error();
        }
    }

    let dict = &ctx.srv.dbs[ctx.client.db].dict;
    let mut srcs: Vec<(Source<'_>, f64)> = keys
        .iter()
        .zip(&weights)
        .map(|(k, w)| {
            let src = match dict.get(&k[..]).map(|o| &o.val) {
                Some(Value::ZSet(z)) => Source::Z(z),
                Some(Value::Set(s)) => Source::S(s),
                _ => Source::Missing,
            };
            (src, *w)
        })
        .collect();
    if op != SetOp::Diff {
        // Smallest first: the intersection walks the smallest input.
        srcs.sort_by_key(|(s, _)| s.len());
    }
    let mut items: Vec<Scored> = Vec::new();
    let mut card = 0usize;
    match op {
        SetOp::Inter => {
            let (first, w0) = srcs[0];
            if first.len() > 0 {
                first.for_each(|m, s| {
                    if limit > 0 && card >= limit {
                        return;
                    }
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for (other, w) in &srcs[1..] {
                        match other.find(m) {
                            Some(v) => aggregate(&mut score, v * w, how),
                            None => return,
                        }
                    }
                    if card_only {
                        card += 1;
                    } else {
                        items.push((m.to_vec(), score));
                    }
                });
            }
        }
        SetOp::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::with_capacity(srcs.last().map_or(0, |(s, _)| s.len()));
            for (src, w) in &srcs {
                src.for_each(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(m) {
                        Some(cur) => aggregate(cur, score, how),
                        None => {
                            acc.insert(m.to_vec(), score);
                        }
                    }
                });
            }
            items = acc.into_iter().collect();
        }
        SetOp::Diff => {
            let first = srcs[0].0;
            first.for_each(|m, s| {
                if !srcs[1..].iter().any(|(other, _)| other.find(m).is_some()) {
                    items.push((m.to_vec(), s));
                }
            });
        }
    }
    if card_only {
        return ctx.out().int(card as i64);
    }
    if let Some(d) = dst {
        return store_result(ctx, &args[d], items);
    }
    sort_scored(&mut items);
    reply_items(ctx.out(), &items, withscores);
}

fn zunion(ctx: &mut Ctx, args: &[Bytes]) {
    setop(ctx, args, 1, None, SetOp::Union, false);
}

fn zinter(ctx: &mut Ctx, args: &[Bytes]) {
    setop(ctx, args, 1, None, SetOp::Inter, false);
}

fn zdiff(ctx: &mut Ctx, args: &[Bytes]) {
    setop(ctx, args, 1, None, SetOp::Diff, false);
}

fn zunionstore(ctx: &mut Ctx, args: &[Bytes]) {
    setop(ctx, args, 2, Some(1), SetOp::Union, false);
}

fn zinterstore(ctx: &mut Ctx, args: &[Bytes]) {
    setop(ctx, args, 2, Some(1), SetOp::Inter, false);
}

fn zdiffstore(ctx: &mut Ctx, args: &[Bytes]) {
    setop(ctx, args, 2, Some(1), SetOp::Diff, false);
}

fn zintercard(ctx: &mut Ctx, args: &[Bytes]) {
    setop(ctx, args, 1, None, SetOp::Inter, true);
}

// ---------------------------------------------------------------------------
// ZSCAN

/// A double as `%.17Lg` prints it: how Redis's SCAN reports the scores of
/// a skiplist-encoded zset (a listpack reports the text it stored).
fn fmt_g17(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{v:.16e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..17).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exp.abs())
    } else {
        trim(&format!("{:.*}", (16 - exp) as usize, v))
    }
}

fn zscan(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(cursor) = scan::parse_cursor(&args[2]) else { return scan::invalid_cursor(ctx.out()) };
    let (db, stats, out) = reader(ctx);
    let z = match lookup(db, stats, &args[1]) {
        Ok(Some(z)) => z,
        Ok(None) => return scan::empty_reply(out),
        Err(WrongType) => return out.error(WRONGTYPE),
    };
    let Some(opts) = scan::parse_opts(out, args, 3, scan::Target::ZSet) else { return };
    let mut items = scan::Items::new(out.resp);
    match z {
        ZSet::Pack(lp) => {
            // Small encodings are returned whole, scores as stored.
            let mut it = lp.iter();
            while let (Some(m), Some(s)) = (it.next(), it.next()) {
                if opts.matches(&m) {
                    items.push(&m);
                    items.push(&s);
                }
            }
            items.reply(out, 0);
        }
        ZSet::Skip(z) => {
            let next = scan::scan_dict(&z.dict, cursor, opts.count, |m, s| {
                if opts.matches(&Entry::Str(m)) {
                    items.push_bytes(m);
                    items.push_bytes(fmt_g17(*s).as_bytes());
                }
                // Redis counts what it collected before filtering by MATCH.
                2
            });
            items.reply(out, next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_string2d() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"1e3"), Some(1000.0));
        assert_eq!(parse_score(b"+5"), Some(5.0));
        assert_eq!(parse_score(b".5"), Some(0.5));
        assert_eq!(parse_score(b"5."), Some(5.0));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"0X1P-2"), Some(0.25));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"Infinity"), Some(f64::INFINITY));
        assert!(parse_score(b"1e-310").is_some_and(|v| v > 0.0), "denormals are accepted");
        for bad in [&b""[..], b" 1", b"1 ", b"nan", b"-nan", b"1e400", b"-1e400", b"1e-400", b"1.5e", b"abc", b"5\0"] {
            assert_eq!(parse_score(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn range_bounds_parse_like_strtod() {
        assert_eq!(parse_bound(b"(1"), Some((1.0, true)));
        assert_eq!(parse_bound(b""), Some((0.0, false)));
        assert_eq!(parse_bound(b"("), Some((0.0, true)));
        assert_eq!(parse_bound(b" 1"), Some((1.0, false)));
        assert_eq!(parse_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_bound(b"5\0junk"), Some((5.0, false)));
        for bad in [&b"1 "[..], b" ", b"+", b"nan", b"(nan", b"x"] {
            assert_eq!(parse_bound(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn lex_bounds() {
        assert_eq!(parse_lex_bound(b"-"), Some(LexBound::NegInf));
        assert_eq!(parse_lex_bound(b"+"), Some(LexBound::PosInf));
        assert_eq!(parse_lex_bound(b"[a"), Some(LexBound::Incl(b"a".to_vec())));
        assert_eq!(parse_lex_bound(b"("), Some(LexBound::Excl(Vec::new())));
        for bad in [&b""[..], b"a", b"--", b"+a"] {
            assert_eq!(parse_lex_bound(bad), None);
        }
    }

    #[test]
    fn g17_formatting() {
        // Values as Redis's ZSCAN prints them for a skiplist (checked
        // against Valkey 9.1).
        assert_eq!(fmt_g17(1.1), "1.1000000000000001");
        assert_eq!(fmt_g17(2.0), "2");
        assert_eq!(fmt_g17(0.30000000000000004), "0.30000000000000004");
        assert_eq!(fmt_g17(1e100), "1e+100");
        assert_eq!(fmt_g17(-1.5e-7), "-1.4999999999999999e-07");
        assert_eq!(fmt_g17(123456789012345680.0), "1.2345678901234568e+17");
        assert_eq!(fmt_g17(f64::NEG_INFINITY), "-inf");
        assert_eq!(fmt_g17(-0.0), "-0");
        assert_eq!(fmt_g17(0.0001), "0.0001");
    }

    #[test]
    fn rank_clamping() {
        assert_eq!(rank_bounds(5, 0, -1), Some((0, 4)));
        assert_eq!(rank_bounds(5, -100, 100), Some((0, 4)));
        assert_eq!(rank_bounds(5, 3, 1), None);
        assert_eq!(rank_bounds(5, 5, 10), None);
        assert_eq!(rank_bounds(5, i64::MIN, i64::MAX), Some((0, 4)));
        assert_eq!(rank_bounds(0, 0, -1), None);
    }
}
