//! Stream commands (the command side of Redis's t_stream.c) over
//! `types/stream.rs`: XADD, XRANGE, XREAD, consumer groups, XINFO...
//!
//! Replies, errors and their order follow Redis 7.2. What Redis
//! propagates is propagated: XADD with the ID it generated (and an
//! approximate trim as the exact one it made), XREADGROUP, XCLAIM and
//! XAUTOCLAIM as the XCLAIM / XGROUP SETID / XGROUP CREATECONSUMER
//! commands that recreate their effect on a replica.
//!
//! XREAD and XREADGROUP with BLOCK that find nothing wait on their keys
//! (executor/blocking.rs) and run again when one of them changes, as Redis
//! 7.2 re-runs them: what arrived is served then, a group destroyed or a
//! stream deleted meanwhile gives the NOGROUP error, the deadline a nil.

use bytes::Bytes;

use super::docs::*;
use super::{acl, flags::*, keys, CommandDef, Ctx, NO_ELEMENTS, NO_KEYS};
use super::{key_at, key_spec, BeginSearch, FindKeys};
use crate::cmd;
use crate::config::Config;
use crate::db::{Db, Obj, Value};
use crate::executor::notify::class;
use crate::executor::Stats;
use crate::protocol::Out;
use crate::types::stream::{
    c_str, parse_id, AddError, Claim, Claimed, Entries, Entry, Group, Nack, NewId, NodeLimits, ParsedId, Stream,
    StreamId, Trim, Val, ENTRIES_READ_UNKNOWN, ID_TEXT_MAX,
};
use crate::util::{eq_ic, now_ms, parse_i64};

// Arguments several commands share, for COMMAND DOCS.
const ID_SELECTOR_ARG: Arg = oneof("id-selector", &[string("id"), pure_token("new-id", "$")]);
const STREAMS_ARG: Arg = block("streams", &[key("key", 0).multiple(), string("id").multiple()]).token("STREAMS");
const OPERATOR_ARG: Arg = oneof("operator", &[pure_token("equal", "="), pure_token("approximately", "~")]).optional();
const STRATEGY_ARG: Arg =
    oneof("strategy", &[pure_token("maxlen", "MAXLEN"), pure_token("minid", "MINID").since("6.2.0")]);

const XGROUP_SUBCOMMANDS: &[CommandDef] = &[
    cmd!(
        "create",
        -5,
        WRITE | DENYOOM,
        acl::STREAM,
        keys(2, 2, 1),
        xgroup,
        "stream",
        "5.0.0",
        "O(1)",
        "Creates a consumer group."
    )
    .with_args(&[
        key("key", 0),
        string("group"),
        ID_SELECTOR_ARG,
        pure_token("mkstream", "MKSTREAM").optional(),
        integer("entriesread").token("ENTRIESREAD").display("entries-read").optional(),
    ])
    .with_history(&[("7.0.0", "Added the `entries_read` named argument.")])
    .with_key_specs(&[key_spec(
        &["RW", "insert"],
        BeginSearch::Index(2),
        FindKeys::Range { lastkey: 0, step: 1, limit: 0 },
    )]),
    cmd!(
        "createconsumer",
        5,
        WRITE | DENYOOM,
        acl::STREAM,
        keys(2, 2, 1),
        xgroup,
        "stream",
        "6.2.0",
        "O(1)",
        "Creates a consumer in a consumer group."
    )
    .with_args(&[key("key", 0), string("group"), string("consumer")])
    .with_key_specs(&[key_spec(
        &["RW", "insert"],
        BeginSearch::Index(2),
        FindKeys::Range { lastkey: 0, step: 1, limit: 0 },
    )]),
    cmd!(
        "delconsumer",
        5,
        WRITE,
        acl::STREAM,
        keys(2, 2, 1),
        xgroup,
        "stream",
        "5.0.0",
        "O(1)",
        "Deletes a consumer from a consumer group."
    )
    .with_args(&[key("key", 0), string("group"), string("consumer")])
    .with_key_specs(&[key_spec(
        &["RW", "delete"],
        BeginSearch::Index(2),
        FindKeys::Range { lastkey: 0, step: 1, limit: 0 },
    )]),
    cmd!(
        "destroy",
        4,
        WRITE,
        acl::STREAM,
        keys(2, 2, 1),
        xgroup,
        "stream",
        "5.0.0",
        "O(N) where N is the number of entries in the group's pending entries list (PEL).",
        "Destroys a consumer group."
    )
    .with_args(&[key("key", 0), string("group")])
    .with_key_specs(&[key_spec(
        &["RW", "delete"],
        BeginSearch::Index(2),
        FindKeys::Range { lastkey: 0, step: 1, limit: 0 },
    )]),
    cmd!(
        "help",
        2,
        LOADING | STALE,
        acl::STREAM,
        NO_KEYS,
        xgroup,
        "stream",
        "5.0.0",
        "O(1)",
        "Returns helpful text about the different subcommands."
    ),
    cmd!(
        "setid",
        -5,
        WRITE,
        acl::STREAM,
        keys(2, 2, 1),
        xgroup,
        "stream",
        "5.0.0",
        "O(1)",
        "Sets the last-delivered ID of a consumer group."
    )
    .with_args(&[
        key("key", 0),
        string("group"),
        ID_SELECTOR_ARG,
        integer("entriesread").token("ENTRIESREAD").display("entries-read").optional(),
    ])
    .with_history(&[("7.0.0", "Added the optional `entries_read` argument.")]),
];

const XINFO_SUBCOMMANDS: &[CommandDef] = &[
    cmd!(
        "consumers",
        4,
        READONLY,
        acl::STREAM,
        keys(2, 2, 1),
        xinfo,
        "stream",
        "5.0.0",
        "O(1)",
        "Returns a list of the consumers in a consumer group."
    )
    .with_args(&[key("key", 0), string("group")])
    .with_history(&[("7.2.0", "Added the `inactive` field, and changed the meaning of `idle`.")])
    .with_tips(&["nondeterministic_output"]),
    cmd!(
        "groups",
        3,
        READONLY,
        acl::STREAM,
        keys(2, 2, 1),
        xinfo,
        "stream",
        "5.0.0",
        "O(1)",
        "Returns a list of the consumer groups of a stream."
    )
    .with_args(&[key("key", 0)])
    .with_history(&[("7.0.0", "Added the `entries-read` and `lag` fields")]),
    cmd!(
        "help",
        2,
        LOADING | STALE,
        acl::STREAM,
        NO_KEYS,
        xinfo,
        "stream",
        "5.0.0",
        "O(1)",
        "Returns helpful text about the different subcommands."
    ),
    cmd!(
        "stream",
        -3,
        READONLY,
        acl::STREAM,
        keys(2, 2, 1),
        xinfo,
        "stream",
        "5.0.0",
        "O(1)",
        "Returns information about a stream."
    )
    .with_args(&[
        key("key", 0),
        block("full-block", &[pure_token("full", "FULL"), integer("count").token("COUNT").optional()]).optional(),
    ])
    .with_history(&[
        ("6.0.0", "Added the `FULL` modifier."),
        ("7.0.0", "Added the `max-deleted-entry-id`, `entries-added`, `recorded-first-entry-id`, `entries-read` and `lag` fields"),
        ("7.2.0", "Added the `active-time` field, and changed the meaning of `seen-time`."),
    ]),
];

// XREAD and XREADGROUP find their keys after the STREAMS keyword, which the
// key-spec triples cannot express: like Redis they have no fixed range.
pub static COMMANDS: &[CommandDef] = &[
    cmd!("xadd", -5, WRITE | DENYOOM | FAST, acl::STREAM, keys(1, 1, 1), xadd,
        "stream", "5.0.0", "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted.", "Appends a new message to a stream. Creates the key if it doesn't exist.")
                                                                                                                                                                                                     .with_args(&[
                                                                                                                                                                                                         key("key", 0),
                                                                                                                                                                                                         pure_token("nomkstream", "NOMKSTREAM").since("6.2.0").optional(),
                                                                                                                                                                                                         block("trim", &[
                                                                                                                                                                                                             STRATEGY_ARG,
                                                                                                                                                                                                             OPERATOR_ARG,
                                                                                                                                                                                                             string("threshold"),
                                                                                                                                                                                                             integer("count").token("LIMIT").since("6.2.0").optional(),
                                                                                                                                                                                                         ]).optional(),
                                                                                                                                                                                                         oneof("id-selector", &[
                                                                                                                                                                                                             pure_token("auto-id", "*"),
                                                                                                                                                                                                             string("id"),
                                                                                                                                                                                                         ]),
                                                                                                                                                                                                         block("data", &[
                                                                                                                                                                                                             string("field"),
                                                                                                                                                                                                             string("value"),
                                                                                                                                                                                                         ]).multiple(),
                                                                                                                                                                                                     ])
                                                                                                                                                                                                     .with_history(&[
                                                                                                                                                                                                         ("6.2.0", "Added the `NOMKSTREAM` option, `MINID` trimming strategy and the `LIMIT` option."),
                                                                                                                                                                                                         ("7.0.0", "Added support for the `<ms>-*` explicit ID form."),
                                                                                                                                                                                                     ])
                                                                                                                                                                                                     .with_tips(&[
                                                                                                                                                                                                         "nondeterministic_output",
                                                                                                                                                                                                     ])
    .with_key_specs(&[key_at(1, &["RW", "update"]).noted("UPDATE instead of INSERT because of the optional trimming feature")]),
    cmd!("xlen", 2, READONLY | FAST, acl::STREAM, keys(1, 1, 1), xlen,
        "stream", "5.0.0", "O(1)", "Returns the number of messages in a stream.")
                                                                                .with_args(&[key("key", 0)])
    .with_key_specs(&[key_at(1, &["RO"])]),
    cmd!("xrange", -4, READONLY, acl::STREAM, keys(1, 1, 1), xrange,
        "stream", "5.0.0", "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "Returns the messages from a stream within a range of IDs.")
                                                                                                                                                                                                                                                        .with_args(&[
                                                                                                                                                                                                                                                            key("key", 0),
                                                                                                                                                                                                                                                            string("start"),
                                                                                                                                                                                                                                                            string("end"),
                                                                                                                                                                                                                                                            integer("count").token("COUNT").optional(),
                                                                                                                                                                                                                                                        ])
                                                                                                                                                                                                                                                        .with_history(&[
                                                                                                                                                                                                                                                            ("6.2.0", "Added exclusive ranges."),
                                                                                                                                                                                                                                                        ]),
    cmd!("xrevrange", -4, READONLY, acl::STREAM, keys(1, 1, 1), xrevrange,
        "stream", "5.0.0", "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1).", "Returns the messages from a stream within a range of IDs in reverse order.")
                                                                                                                                                                                                                                                                   .with_args(&[
                                                                                                                                                                                                                                                                       key("key", 0),
                                                                                                                                                                                                                                                                       string("end"),
                                                                                                                                                                                                                                                                       string("start"),
                                                                                                                                                                                                                                                                       integer("count").token("COUNT").optional(),
                                                                                                                                                                                                                                                                   ])
                                                                                                                                                                                                                                                                   .with_history(&[
                                                                                                                                                                                                                                                                       ("6.2.0", "Added exclusive ranges."),
                                                                                                                                                                                                                                                                   ]),
    cmd!("xdel", -3, WRITE | FAST, acl::STREAM, keys(1, 1, 1), xdel,
        "stream", "5.0.0", "O(1) for each single item to delete in the stream, regardless of the stream size.", "Returns the number of messages after removing them from a stream.")
                                                                                                                                                                                   .with_args(&[
                                                                                                                                                                                       key("key", 0),
                                                                                                                                                                                       string("id").multiple(),
                                                                                                                                                                                   ])
    .with_key_specs(&[key_at(1, &["RW", "delete"])]),
    cmd!("xtrim", -4, WRITE, acl::STREAM, keys(1, 1, 1), xtrim,
        "stream", "5.0.0", "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation.", "Deletes messages from the beginning of a stream.")
                                                                                                                                                                                                                                                                                                 .with_args(&[
                                                                                                                                                                                                                                                                                                     key("key", 0),
                                                                                                                                                                                                                                                                                                     block("trim", &[
                                                                                                                                                                                                                                                                                                         STRATEGY_ARG,
                                                                                                                                                                                                                                                                                                         OPERATOR_ARG,
                                                                                                                                                                                                                                                                                                         string("threshold"),
                                                                                                                                                                                                                                                                                                         integer("count").token("LIMIT").since("6.2.0").optional(),
                                                                                                                                                                                                                                                                                                     ]),
                                                                                                                                                                                                                                                                                                 ])
                                                                                                                                                                                                                                                                                                 .with_history(&[
                                                                                                                                                                                                                                                                                                     ("6.2.0", "Added the `MINID` trimming strategy and the `LIMIT` option."),
                                                                                                                                                                                                                                                                                                 ])
                                                                                                                                                                                                                                                                                                 .with_tips(&[
                                                                                                                                                                                                                                                                                                     "nondeterministic_output",
                                                                                                                                                                                                                                                                                                 ])
    .with_key_specs(&[key_at(1, &["RW", "delete"])]),
    cmd!("xread", -4, READONLY | BLOCKING | MOVABLEKEYS, acl::STREAM, NO_KEYS, xread,
        "stream", "5.0.0", "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data.", "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.")
                                                                                                                                                                                                                                                                                                                                                                                                                                                .with_args(&[
                                                                                                                                                                                                                                                                                                                                                                                                                                                    integer("count").token("COUNT").optional(),
                                                                                                                                                                                                                                                                                                                                                                                                                                                    integer("milliseconds").token("BLOCK").optional(),
                                                                                                                                                                                                                                                                                                                                                                                                                                                    STREAMS_ARG,
                                                                                                                                                                                                                                                                                                                                                                                                                                                ])
    .with_key_specs(&[key_spec(&["RO", "access"], BeginSearch::Keyword { keyword: "STREAMS", startfrom: 1 }, FindKeys::Range { lastkey: -1, step: 1, limit: 2 })]),
    cmd!("xreadgroup", -7, WRITE | BLOCKING | MOVABLEKEYS, acl::STREAM, NO_KEYS, xreadgroup,
        "stream", "5.0.0", "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data.", "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.")
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                            .with_args(&[
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                block("group-block", &[
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                    string("group"),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                    string("consumer"),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                ]).token("GROUP"),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                integer("count").token("COUNT").optional(),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                integer("milliseconds").token("BLOCK").optional(),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                pure_token("noack", "NOACK").optional(),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                STREAMS_ARG,
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                            ])
    .with_key_specs(&[key_spec(&["RO", "access"], BeginSearch::Keyword { keyword: "STREAMS", startfrom: 4 }, FindKeys::Range { lastkey: -1, step: 1, limit: 2 })]),
    CommandDef {
        name: "xgroup",
        arity: -2,
        flags: 0,
        acl: 0,
        keys: NO_KEYS,
        key_specs: &[],
        key_finder: None,
        elements: NO_ELEMENTS,
        handler: None,
        subcommands: XGROUP_SUBCOMMANDS,
        docs: NO_DOCS,
        tips: &[],
        group: "stream",
        summary: "A container for consumer groups commands.",
        since: "5.0.0",
        complexity: "Depends on subcommand.",
    },
    cmd!("xack", -4, WRITE | FAST, acl::STREAM, keys(1, 1, 1), xack,
        "stream", "5.0.0", "O(1) for each message ID processed.", "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.")
                                                                                                                                                                                .with_args(&[
                                                                                                                                                                                    key("key", 0),
                                                                                                                                                                                    string("group"),
                                                                                                                                                                                    string("id").multiple(),
                                                                                                                                                                                ]),
    cmd!("xpending", -3, READONLY, acl::STREAM, keys(1, 1, 1), xpending,
        "stream", "5.0.0", "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer.", "Returns the information and entries from a stream consumer group's pending entries list.")
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     .with_args(&[
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         key("key", 0),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         string("group"),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         block("filters", &[
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                             integer("min-idle-time").token("IDLE").since("6.2.0").optional(),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                             string("start"),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                             string("end"),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                             integer("count"),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                             string("consumer").optional(),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         ]).optional(),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     ])
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     .with_history(&[
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         ("6.2.0", "Added the `IDLE` option and exclusive range intervals."),
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     ])
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     .with_tips(&[
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                         "nondeterministic_output",
                                                                                                                                                                                                                                                                                                                                                                                                                                                                                                     ]),
    cmd!("xclaim", -6, WRITE | FAST, acl::STREAM, keys(1, 1, 1), xclaim,
        "stream", "5.0.0", "O(log N) with N being the number of messages in the PEL of the consumer group.", "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered to a consumer group member.")
                                                                                                                                                                                                                                            .with_args(&[
                                                                                                                                                                                                                                                key("key", 0),
                                                                                                                                                                                                                                                string("group"),
                                                                                                                                                                                                                                                string("consumer"),
                                                                                                                                                                                                                                                string("min-idle-time"),
                                                                                                                                                                                                                                                string("id").multiple(),
                                                                                                                                                                                                                                                integer("ms").token("IDLE").optional(),
                                                                                                                                                                                                                                                unix_time("unix-time-milliseconds").token("TIME").optional(),
                                                                                                                                                                                                                                                integer("count").token("RETRYCOUNT").optional(),
                                                                                                                                                                                                                                                pure_token("force", "FORCE").optional(),
                                                                                                                                                                                                                                                pure_token("justid", "JUSTID").optional(),
                                                                                                                                                                                                                                                string("lastid").token("LASTID").optional(),
                                                                                                                                                                                                                                            ])
                                                                                                                                                                                                                                            .with_tips(&[
                                                                                                                                                                                                                                                "nondeterministic_output",
                                                                                                                                                                                                                                            ]),
    cmd!("xautoclaim", -6, WRITE | FAST, acl::STREAM, keys(1, 1, 1), xautoclaim,
        "stream", "6.2.0", "O(1) if COUNT is small.", "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to a consumer group member.")
                                                                                                                                                                                      .with_args(&[
                                                                                                                                                                                          key("key", 0),
                                                                                                                                                                                          string("group"),
                                                                                                                                                                                          string("consumer"),
                                                                                                                                                                                          string("min-idle-time"),
                                                                                                                                                                                          string("start"),
                                                                                                                                                                                          integer("count").token("COUNT").optional(),
                                                                                                                                                                                          pure_token("justid", "JUSTID").optional(),
                                                                                                                                                                                      ])
                                                                                                                                                                                      .with_history(&[
                                                                                                                                                                                          ("7.0.0", "Added an element to the reply array, containing deleted entries the command cleared from the PEL"),
                                                                                                                                                                                      ])
                                                                                                                                                                                      .with_tips(&[
                                                                                                                                                                                          "nondeterministic_output",
                                                                                                                                                                                      ])
    .with_key_specs(&[key_at(1, &["RW", "delete"])]),
    CommandDef {
        name: "xinfo",
        arity: -2,
        flags: 0,
        acl: 0,
        keys: NO_KEYS,
        key_specs: &[],
        key_finder: None,
        elements: NO_ELEMENTS,
        handler: None,
        subcommands: XINFO_SUBCOMMANDS,
        docs: NO_DOCS,
        tips: &[],
        group: "stream",
        summary: "A container for stream introspection commands.",
        since: "5.0.0",
        complexity: "Depends on subcommand.",
    },
    cmd!("xsetid", -3, WRITE | DENYOOM | FAST, acl::STREAM, keys(1, 1, 1), xsetid,
        "stream", "5.0.0", "O(1)", "An internal command for replicating stream values.")
                                                                                       .with_args(&[
                                                                                           key("key", 0),
                                                                                           string("last-id"),
                                                                                           integer("entries-added").token("ENTRIESADDED").since("7.0.0").optional(),
                                                                                           string("max-deleted-id").token("MAXDELETEDID").since("7.0.0").optional(),
                                                                                       ])
                                                                                       .with_history(&[
                                                                                           ("7.0.0", "Added the `entries_added` and `max_deleted_entry_id` arguments."),
                                                                                       ]),
];

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const SYNTAX: &str = "ERR syntax error";

/// XAUTOCLAIM's largest COUNT (Redis: LONG_MAX / sizeof(streamID)).
const AUTOCLAIM_MAX_COUNT: i64 = i64::MAX / 16;

/// Redis allocates 16 bytes per COUNT up front for XAUTOCLAIM's deleted
/// IDs, and refuses a COUNT whose allocation fails: where that happens
/// depends on its allocator and machine (Redis 7.0.15 with jemalloc here
/// refuses anything over 40 TiB). oxkey allocates nothing from COUNT and
/// refuses past that same 40 TiB, so that absurd counts get Redis's answer.
const AUTOCLAIM_ALLOC_LIMIT: i64 = (40 << 40) / 16;

// ---------------------------------------------------------------------------
// Shared helpers

/// A key looked up as a stream.
enum Found<T> {
    Missing,
    WrongType,
    Stream(T),
}

/// Counts a read lookup's hit or miss, as Redis's lookupKeyRead does
/// (lookupKeyWrite counts nothing).
fn count_hit(stats: Option<&mut Stats>, hit: bool) {
    if let Some(stats) = stats {
        if hit {
            stats.keyspace_hits += 1;
        } else {
            stats.keyspace_misses += 1;
        }
    }
}

/// Looks `key` up for reading.
fn read<'a>(db: &'a mut Db, stats: Option<&mut Stats>, key: &[u8]) -> Found<&'a Stream> {
    let found = db.get(key);
    count_hit(stats, found.is_some());
    match found {
        None => Found::Missing,
        Some(Obj { val: Value::Stream(s), .. }) => Found::Stream(s),
        Some(_) => Found::WrongType,
    }
}

/// Looks `key` up to change what Redis does not count as a modification
/// of the key (groups, consumers, pending entries): WATCH and the clients
/// blocked on it are not told.
fn modify<'a>(db: &'a mut Db, stats: Option<&mut Stats>, key: &[u8]) -> Found<&'a mut Stream> {
    // `get` expires the key if due and records the access.
    let exists = db.get(key).is_some();
    count_hit(stats, exists);
    match db.dict.get_mut(key) {
        Some(Obj { val: Value::Stream(s), .. }) if exists => Found::Stream(s),
        Some(_) if exists => Found::WrongType,
        _ => Found::Missing,
    }
}

/// Looks `key` up to change its entries: WATCHes on it fail and clients
/// blocked on it are served (Redis's signalModifiedKey and
/// signalKeyAsReady).
fn write<'a>(db: &'a mut Db, key: &[u8]) -> Found<&'a mut Stream> {
    match db.get_mut(key) {
        None => Found::Missing,
        Some(Obj { val: Value::Stream(s), .. }) => Found::Stream(s),
        Some(_) => Found::WrongType,
    }
}

/// Tells WATCH and the blocked clients that `key` changed, after a
/// `modify` that turned out to be one (XDEL, XTRIM, XGROUP DESTROY).
fn signal_modified(db: &mut Db, key: &[u8]) {
    db.get_mut(key);
}

/// What a handler works with, borrowed apart from the context.
struct Parts<'a> {
    db: &'a mut Db,
    stats: &'a mut Stats,
    out: &'a mut Out,
    dirty: &'a mut u64,
    /// The commands propagated instead of this one (Ctx::propagate_as).
    prop: &'a mut Option<Vec<Vec<Bytes>>>,
    /// Whether anything consumes propagated writes: when nothing does, the
    /// replacement commands are not built.
    propagating: bool,
    config: &'a Config,
    /// Clients blocked on keys (to wake those on a destroyed group).
    waiters: &'a crate::executor::blocking::Waiters,
    db_index: usize,
}

fn parts<'a>(ctx: &'a mut Ctx) -> Parts<'a> {
    let srv = &mut *ctx.srv;
    let propagating = srv.propagating();
    Parts {
        db: &mut srv.dbs[ctx.client.db],
        stats: &mut srv.stats,
        out: &mut ctx.client.out,
        dirty: &mut srv.dirty,
        prop: &mut ctx.propagate_as,
        propagating,
        config: &srv.config,
        waiters: &srv.waiters,
        db_index: ctx.client.db,
    }
}

/// Propagates `argv` in place of the command (after what was already
/// added).
fn propagate(prop: &mut Option<Vec<Vec<Bytes>>>, argv: Vec<Bytes>) {
    prop.get_or_insert_with(Vec::new).push(argv);
}

/// Propagates nothing but what `propagate` adds (Redis's
/// preventCommandPropagation).
fn prevent_propagation(prop: &mut Option<Vec<Vec<Bytes>>>) {
    prop.get_or_insert_with(Vec::new);
}

/// Case-insensitive keyword match on the C string of an argument, as
/// Redis's strcasecmp sees it.
fn is(arg: &[u8], keyword: &str) -> bool {
    eq_ic(c_str(arg), keyword)
}

/// An error reply built from bytes (key and group names are binary), cut
/// at a NUL as C's %s does; newlines become spaces as in Redis.
fn error_bytes(out: &mut Out, parts: &[&[u8]]) {
    out.buf.extend_from_slice(b"-");
    for p in parts {
        for &b in c_str(p) {
            out.buf.extend_from_slice(&[if b == b'\r' || b == b'\n' { b' ' } else { b }]);
        }
    }
    out.buf.extend_from_slice(b"\r\n");
}

fn reply_id(out: &mut Out, id: StreamId) {
    let mut buf = [0; ID_TEXT_MAX];
    out.bulk(id.format(&mut buf));
}

fn id_arg(id: StreamId) -> Bytes {
    Bytes::from(id.to_vec())
}

fn int_arg(v: i64) -> Bytes {
    Bytes::from(crate::util::i64_to_bytes(v))
}

fn reply_val(out: &mut Out, v: Val) {
    let mut buf = [0; 20];
    out.bulk(v.bytes(&mut buf));
}

/// An entry as `[id, [field, value, ...]]`.
fn reply_entry(out: &mut Out, e: &Entry) {
    out.array(2);
    reply_id(out, e.id);
    out.array(e.len * 2);
    for (f, v) in e.fields() {
        reply_val(out, f);
        reply_val(out, v);
    }
}

/// Puts the header of an aggregate of `n` elements at `start`, before the
/// elements written since (Redis's deferred lengths): the bytes move once,
/// in place.
fn insert_header(out: &mut Out, start: usize, kind: u8, n: usize) {
    let mut h = [0u8; 24];
    h[0] = kind;
    let mut digits = [0u8; 20];
    let d = crate::db::value::fmt_i64(n as i64, &mut digits);
    h[1..1 + d.len()].copy_from_slice(d);
    h[1 + d.len()..3 + d.len()].copy_from_slice(b"\r\n");
    let len = 3 + d.len();
    out.buf.extend_from_slice(&h[..len]);
    out.buf[start..].rotate_right(len);
}

fn insert_array_len(out: &mut Out, start: usize, n: usize) {
    insert_header(out, start, b'*', n);
}

/// Redis's getLongLongFromObjectOrReply, with its default message or `msg`.
fn parse_ll(out: &mut Out, arg: &[u8], msg: &str) -> Option<i64> {
    let v = parse_i64(arg);
    if v.is_none() {
        out.error(msg);
    }
    v
}

/// A strict ID (no `-` / `+`), or the invalid-ID error.
fn parse_strict(out: &mut Out, arg: &[u8]) -> Option<StreamId> {
    let id = parse_id(arg, 0, true, false).map(|p| p.id);
    if id.is_none() {
        out.error(INVALID_ID);
    }
    id
}

/// The start of a range (streamParseIntervalIDOrReply): `(id` excludes.
fn parse_range_start(out: &mut Out, arg: &[u8]) -> Option<StreamId> {
    let (id, exclude) = parse_interval(out, arg, 0)?;
    if !exclude {
        return Some(id);
    }
    let next = id.next();
    if next.is_none() {
        out.error("ERR invalid start ID for the interval");
    }
    next
}

/// The end of a range: an incomplete ID means its last sequence number.
fn parse_range_end(out: &mut Out, arg: &[u8]) -> Option<StreamId> {
    let (id, exclude) = parse_interval(out, arg, u64::MAX)?;
    if !exclude {
        return Some(id);
    }
    let prev = id.prev();
    if prev.is_none() {
        out.error("ERR invalid end ID for the interval");
    }
    prev
}

fn parse_interval(out: &mut Out, arg: &[u8], missing_seq: u64) -> Option<(StreamId, bool)> {
    let exclude = arg.len() > 1 && arg[0] == b'(';
    let parsed =
        if exclude { parse_id(&arg[1..], missing_seq, true, false) } else { parse_id(arg, missing_seq, false, false) };
    match parsed {
        Some(p) => Some((p.id, exclude)),
        None => {
            out.error(INVALID_ID);
            None
        }
    }
}

fn node_limits(config: &Config) -> NodeLimits {
    let num = |name: &str, default: u64| config.get(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    NodeLimits { max_bytes: num("stream-node-max-bytes", 4096), max_entries: num("stream-node-max-entries", 100) }
}

/// `XCLAIM <key> <group> <consumer> 0 <id> TIME <ms> RETRYCOUNT <n> FORCE
/// JUSTID LASTID <id>`: what recreates a pending entry on a replica
/// (Redis's streamPropagateXCLAIM).
fn xclaim_argv(key: &Bytes, group: &Bytes, consumer: &[u8], id: Bytes, nack: &Nack, last: StreamId) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XCLAIM"),
        key.clone(),
        group.clone(),
        Bytes::copy_from_slice(consumer),
        Bytes::from_static(b"0"),
        id,
        Bytes::from_static(b"TIME"),
        int_arg(nack.delivery_time),
        Bytes::from_static(b"RETRYCOUNT"),
        int_arg(nack.delivery_count as i64),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        id_arg(last),
    ]
}

/// `XGROUP SETID <key> <group> <id> ENTRIESREAD <n>` (streamPropagateGroupID).
fn setid_argv(key: &Bytes, group: &Bytes, g: &Group) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        key.clone(),
        group.clone(),
        id_arg(g.last_id),
        Bytes::from_static(b"ENTRIESREAD"),
        int_arg(g.entries_read),
    ]
}

// ---------------------------------------------------------------------------
// XADD, XTRIM

/// The trimming options of XADD and XTRIM.
struct TrimArgs {
    trim: Option<Trim>,
    approx: bool,
    /// Most entries to remove (0 = no limit).
    limit: u64,
    /// Index of the MAXLEN/MINID value, rewritten when `~` trimming is
    /// propagated.
    arg_idx: usize,
}

struct AddArgs {
    trim: TrimArgs,
    /// The ID argument (None for `*`).
    id: Option<ParsedId>,
    nomkstream: bool,
    /// Index of the ID argument.
    idpos: usize,
}

/// Redis's streamParseAddOrTrimArgsOrReply.
fn parse_add_or_trim(out: &mut Out, args: &[Bytes], xadd: bool, node_max_entries: u64) -> Option<AddArgs> {
    let argc = args.len();
    let mut trim = TrimArgs { trim: None, approx: false, limit: 0, arg_idx: 0 };
    let (mut id, mut nomkstream, mut limit_given, mut limit) = (None, false, false, 0i64);
    let mut i = 2;
    while i < argc {
        let moreargs = argc - 1 - i;
        let opt = &args[i];
        if xadd && c_str(opt) == b"*" {
            break;
        } else if (is(opt, "maxlen") || is(opt, "minid")) && moreargs > 0 {
            if trim.trim.is_some() {
                out.error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return None;
            }
            let maxlen = is(opt, "maxlen");
            trim.approx = false;
            let next = c_str(&args[i + 1]);
            if moreargs >= 2 && next == b"~" {
                trim.approx = true;
                i += 1;
            } else if moreargs >= 2 && next == b"=" {
                i += 1;
            }
            if maxlen {
                let n = parse_ll(out, &args[i + 1], NOT_INTEGER)?;
                if n < 0 {
                    out.error("ERR The MAXLEN argument must be >= 0.");
                    return None;
                }
                trim.trim = Some(Trim::MaxLen(n as u64));
            } else {
                trim.trim = Some(Trim::MinId(parse_strict(out, &args[i + 1])?));
            }
            i += 1;
            trim.arg_idx = i;
        } else if is(opt, "limit") && moreargs > 0 {
            limit = parse_ll(out, &args[i + 1], NOT_INTEGER)?;
            if limit < 0 {
                out.error("ERR The LIMIT argument must be >= 0.");
                return None;
            }
            limit_given = true;
            i += 1;
        } else if xadd && is(opt, "nomkstream") {
            nomkstream = true;
        } else if xadd {
            match parse_id(opt, 0, true, true) {
                Some(p) => id = Some(p),
                None => {
                    out.error(INVALID_ID);
                    return None;
                }
            }
            break;
        } else {
            out.error(SYNTAX);
            return None;
        }
        i += 1;
    }
    if limit != 0 && trim.trim.is_none() {
        out.error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return None;
    }
    if !xadd && trim.trim.is_none() {
        out.error("ERR syntax error, XTRIM must be called with a trimming strategy");
        return None;
    }
    if limit_given {
        if !trim.approx {
            out.error("ERR syntax error, LIMIT cannot be used without the special ~ option");
            return None;
        }
    } else if trim.approx {
        // Approximate trimming is capped to about 100 nodes' worth of work.
        limit = (node_max_entries as i64).wrapping_mul(100);
        if limit <= 0 {
            limit = 10_000;
        }
        limit = limit.min(1_000_000);
    } else {
        limit = 0;
    }
    trim.limit = limit as u64;
    Some(AddArgs { trim, id, nomkstream, idpos: i })
}

/// After an approximate trim, the arguments that make replicas trim the
/// same: `=` and the length (MAXLEN) or first ID (MINID) left.
fn rewrite_trim(argv: &mut [Bytes], trim: &TrimArgs, entries: &Entries) {
    argv[trim.arg_idx - 1] = Bytes::from_static(b"=");
    argv[trim.arg_idx] = match trim.trim {
        Some(Trim::MinId(_)) => id_arg(entries.edge_id(true, false)),
        _ => int_arg(entries.length as i64),
    };
}

fn xadd(ctx: &mut Ctx, args: &[Bytes]) {
    let now = now_ms();
    let p = parts(ctx);
    let limits = node_limits(p.config);
    let Some(a) = parse_add_or_trim(p.out, args, true, limits.max_entries) else { return };
    let field_pos = a.idpos + 1;
    let nfields = args.len() as i64 - field_pos as i64;
    if nfields < 2 || nfields % 2 == 1 {
        return p.out.error("ERR wrong number of arguments for 'xadd' command");
    }
    if let Some(id) = a.id {
        if id.seq_given && id.id.is_zero() {
            return p.out.error("ERR The ID specified in XADD must be greater than 0-0");
        }
    }
    let key = &args[1];
    let stream = match write(p.db, key) {
        Found::Stream(s) => s,
        Found::WrongType => return p.out.error(WRONGTYPE),
        Found::Missing if a.nomkstream => return p.out.null(),
        Found::Missing => {
            p.db.set(key, Obj::new(Value::Stream(Box::default())));
            match write(p.db, key) {
                Found::Stream(s) => s,
                _ => return,
            }
        }
    };
    let entries = &mut stream.entries;
    if entries.last_id == StreamId::MAX {
        return p.out.error("ERR The stream has exhausted the last possible ID, unable to add more items");
    }
    let new_id = match a.id {
        None => NewId::Auto,
        Some(id) if !id.seq_given => NewId::Ms(id.id.ms),
        Some(id) => NewId::Exact(id.id),
    };
    let id = match entries.append(&args[field_pos..], new_id, now as u64, limits) {
        Ok(id) => id,
        Err(AddError::NotGreater) => {
            return p.out.error("ERR The ID specified in XADD is equal or smaller than the target stream top item")
        }
        Err(AddError::TooLarge) => return p.out.error("ERR Elements are too large to be stored"),
    };
    reply_id(p.out, id);
    *p.dirty += 1;
    let mut trimmed = false;
    if let Some(trim) = a.trim.trim {
        trimmed = entries.trim(trim, a.trim.approx, a.trim.limit) > 0;
    }
    let generated = a.id.is_none_or(|id| !id.seq_given);
    if p.propagating && (generated || a.trim.approx) {
        let mut argv = args.to_vec();
        if a.trim.approx {
            rewrite_trim(&mut argv, &a.trim, entries);
        }
        if generated {
            argv[a.idpos] = id_arg(id);
        }
        propagate(p.prop, argv);
    }
    ctx.notify(class::STREAM, "xadd", key);
    if trimmed {
        ctx.notify(class::STREAM, "xtrim", key);
    }
}

fn xtrim(ctx: &mut Ctx, args: &[Bytes]) {
    let p = parts(ctx);
    let limits = node_limits(p.config);
    let Some(a) = parse_add_or_trim(p.out, args, false, limits.max_entries) else { return };
    let stream = match modify(p.db, None, &args[1]) {
        Found::Stream(s) => s,
        Found::WrongType => return p.out.error(WRONGTYPE),
        Found::Missing => return p.out.int(0),
    };
    let Some(trim) = a.trim.trim else { return };
    let deleted = stream.entries.trim(trim, a.trim.approx, a.trim.limit);
    if deleted > 0 {
        if a.trim.approx && p.propagating {
            let mut argv = args.to_vec();
            rewrite_trim(&mut argv, &a.trim, &stream.entries);
            propagate(p.prop, argv);
        }
        *p.dirty += deleted;
        signal_modified(p.db, &args[1]);
    }
    p.out.int(deleted as i64);
    if deleted > 0 {
        ctx.notify(class::STREAM, "xtrim", &args[1]);
    }
}

// ---------------------------------------------------------------------------
// XLEN, XRANGE, XREVRANGE, XDEL

fn xlen(ctx: &mut Ctx, args: &[Bytes]) {
    let p = parts(ctx);
    match read(p.db, Some(&mut *p.stats), &args[1]) {
        Found::Stream(s) => p.out.int(s.len() as i64),
        Found::WrongType => p.out.error(WRONGTYPE),
        Found::Missing => p.out.int(0),
    }
}

fn xrange(ctx: &mut Ctx, args: &[Bytes]) {
    range_generic(ctx, args, false);
}

fn xrevrange(ctx: &mut Ctx, args: &[Bytes]) {
    range_generic(ctx, args, true);
}

fn range_generic(ctx: &mut Ctx, args: &[Bytes], rev: bool) {
    let p = parts(ctx);
    let (start_arg, end_arg) = if rev { (&args[3], &args[2]) } else { (&args[2], &args[3]) };
    let Some(start) = parse_range_start(p.out, start_arg) else { return };
    let Some(end) = parse_range_end(p.out, end_arg) else { return };
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if is(&args[j], "COUNT") && j + 1 < args.len() {
            let Some(n) = parse_ll(p.out, &args[j + 1], NOT_INTEGER) else { return };
            count = n.max(0);
            j += 2;
        } else {
            return p.out.error(SYNTAX);
        }
    }
    let stream = match read(p.db, Some(&mut *p.stats), &args[1]) {
        Found::Stream(s) => s,
        Found::WrongType => return p.out.error(WRONGTYPE),
        Found::Missing => return p.out.array(0),
    };
    if count == 0 {
        return p.out.null_array();
    }
    let limit = if count < 0 { usize::MAX } else { count as usize };
    let out = p.out;
    let at = out.buf.len();
    let mut n = 0;
    for e in stream.entries.range(start, end, rev).take(limit) {
        reply_entry(out, &e);
        n += 1;
    }
    insert_array_len(out, at, n);
}

fn xdel(ctx: &mut Ctx, args: &[Bytes]) {
    let p = parts(ctx);
    let stream = match modify(p.db, None, &args[1]) {
        Found::Stream(s) => s,
        Found::WrongType => return p.out.error(WRONGTYPE),
        Found::Missing => return p.out.int(0),
    };
    let mut ids = Vec::with_capacity(args.len() - 2);
    for a in &args[2..] {
        let Some(id) = parse_strict(p.out, a) else { return };
        ids.push(id);
    }
    let deleted = stream.entries.delete(&ids);
    if deleted > 0 {
        *p.dirty += deleted;
        signal_modified(p.db, &args[1]);
    }
    p.out.int(deleted as i64);
    if deleted > 0 {
        ctx.notify(class::STREAM, "xdel", &args[1]);
    }
}

// ---------------------------------------------------------------------------
// XREAD, XREADGROUP

/// A parsed XREAD / XREADGROUP, its IDs resolved (`$` to the stream's last
/// ID, `>` to StreamId::MAX), ready to be served.
pub struct ReadArgs {
    /// BLOCK's end time in Unix ms (0: forever), None without BLOCK.
    pub block: Option<i64>,
    /// COUNT (0: no limit).
    pub count: u64,
    /// XREADGROUP's group and consumer.
    pub group: Option<(Bytes, Bytes)>,
    pub noack: bool,
    pub keys: Vec<Bytes>,
    /// Serve entries after these IDs (StreamId::MAX: the group's new ones).
    pub ids: Vec<StreamId>,
}

/// Parses XREAD / XREADGROUP and checks its keys, groups and IDs, as the
/// first half of Redis's xreadCommand; None after an error reply.
pub fn parse_read(ctx: &mut Ctx, args: &[Bytes], xreadgroup: bool) -> Option<ReadArgs> {
    let now = now_ms();
    // Run again by the blocking machinery after a change to one of its keys.
    let rerun = ctx.client.blocked.is_some();
    let p = parts(ctx);
    let out = p.out;
    let name = if xreadgroup { "xreadgroup" } else { "xread" };
    let mut r = ReadArgs { block: None, count: 0, group: None, noack: false, keys: Vec::new(), ids: Vec::new() };
    let mut streams_at = 0;
    let mut i = 1;
    while i < args.len() {
        let moreargs = args.len() - i - 1;
        let o = &args[i];
        if is(o, "BLOCK") && moreargs > 0 {
            i += 1;
            r.block = Some(parse_block_timeout(out, &args[i], now)?);
        } else if is(o, "COUNT") && moreargs > 0 {
            i += 1;
            r.count = parse_ll(out, &args[i], NOT_INTEGER)?.max(0) as u64;
        } else if is(o, "STREAMS") && moreargs > 0 {
            streams_at = i + 1;
            if !(args.len() - streams_at).is_multiple_of(2) {
                let symbol = if xreadgroup { '>' } else { '$' };
                out.error(&format!(
                    "ERR Unbalanced '{name}' list of streams: for each stream key an ID or '{symbol}' must be specified."
                ));
                return None;
            }
            break;
        } else if is(o, "GROUP") && moreargs >= 2 {
            if !xreadgroup {
                out.error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            r.group = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 2;
        } else if is(o, "NOACK") {
            if !xreadgroup {
                out.error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
                return None;
            }
            r.noack = true;
        } else {
            out.error(SYNTAX);
            return None;
        }
        i += 1;
    }
    if streams_at == 0 {
        out.error(SYNTAX);
        return None;
    }
    if xreadgroup && r.group.is_none() {
        out.error("ERR Missing GROUP option for XREADGROUP");
        return None;
    }
    let n = (args.len() - streams_at) / 2;
    r.keys = args[streams_at..streams_at + n].to_vec();
    r.ids.reserve(n);
    for (key, arg) in args[streams_at..streams_at + n].iter().zip(&args[streams_at + n..]) {
        let stream = match read(p.db, Some(&mut *p.stats), key) {
            // Woken, XREAD waits on for a stream where a key of another
            // type now is (Redis serves a waiting client only from a key
            // of the type it waits for).
            Found::WrongType if rerun && !xreadgroup => None,
            Found::WrongType => {
                out.error(WRONGTYPE);
                return None;
            }
            Found::Stream(s) => Some(s),
            Found::Missing => None,
        };
        if let Some((group, _)) = &r.group {
            if !stream.as_ref().is_some_and(|s| s.groups.contains_key(&group[..])) {
                error_bytes(
                    out,
                    &[
                        b"NOGROUP No such key '",
                        key,
                        b"' or consumer group '",
                        group,
                        b"' in XREADGROUP with GROUP option",
                    ],
                );
                return None;
            }
        }
        let last = stream.as_ref().map(|s| s.entries.last_id);
        let id = match c_str(arg) {
            b"$" if xreadgroup => {
                out.error("ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
                return None;
            }
            b"$" => last.unwrap_or(StreamId::MIN),
            // `+`: the last entry (Redis 7.4 and Valkey; 7.2 refuses the ID).
            b"+" if xreadgroup => {
                out.error("ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty result set.");
                return None;
            }
            // A stream whose last ID is 0-0 never had an entry: nothing to read.
            b"+" => last.and_then(StreamId::prev).unwrap_or(StreamId::MIN),
            b">" if !xreadgroup => {
                out.error("ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
                return None;
            }
            b">" => StreamId::MAX,
            _ => parse_strict(out, arg)?,
        };
        r.ids.push(id);
    }
    Some(r)
}

/// Redis's getTimeoutFromObjectOrReply in milliseconds: the absolute end
/// time, or 0 for a zero timeout (wait forever).
fn parse_block_timeout(out: &mut Out, arg: &[u8], now: i64) -> Option<i64> {
    let t = parse_ll(out, arg, "ERR timeout is not an integer or out of range")?;
    if t < 0 {
        out.error("ERR timeout is negative");
        return None;
    }
    if t == 0 {
        return Some(0);
    }
    let end = t.checked_add(now);
    if end.is_none() {
        out.error("ERR timeout is out of range");
    }
    end
}

/// Serves a parsed read (the second half of Redis's xreadCommand): replies
/// with the entries of every stream that has something for the caller and
/// returns true, or writes nothing and returns false when none has (the
/// caller then blocks or replies nil). XREADGROUP updates the group, the
/// consumer and the PEL, and records what to propagate.
pub fn serve_read(ctx: &mut Ctx, r: &ReadArgs) -> bool {
    let now = now_ms();
    let p = parts(ctx);
    let resp2 = p.out.resp < 3;
    let at = p.out.buf.len();
    let mut served = 0;
    let mut new_consumers = Vec::new();
    for (key, &after) in r.keys.iter().zip(&r.ids) {
        let Some((group_name, consumer_name)) = &r.group else {
            let Found::Stream(stream) = read(p.db, Some(&mut *p.stats), key) else { continue };
            // XREAD: something to serve if the last live entry is after the ID.
            if stream.is_empty() || stream.entries.last_valid_id() <= after {
                continue;
            }
            served += 1;
            if resp2 {
                p.out.array(2);
            }
            p.out.bulk(key);
            let start = after.next().unwrap_or(StreamId::MIN);
            let limit = if r.count == 0 { usize::MAX } else { r.count as usize };
            let list_at = p.out.buf.len();
            let mut n = 0;
            for e in stream.entries.range(start, StreamId::MAX, false).take(limit) {
                reply_entry(p.out, &e);
                n += 1;
            }
            insert_array_len(p.out, list_at, n);
            continue;
        };
        let Found::Stream(stream) = modify(p.db, Some(&mut *p.stats), key) else { continue };
        let Stream { entries, groups } = stream;
        let Some(g) = groups.get_mut(&group_name[..]) else { continue };
        // An explicit ID reads the consumer's history; `>` new entries, if
        // the stream has some past the group's last ID.
        let history = after != StreamId::MAX;
        let mut start = after;
        let mut serve = history;
        if !history && entries.length > 0 && entries.last_valid_id() > g.last_id {
            serve = true;
            start = g.last_id;
        }
        let (consumer, created) = g.find_or_create(consumer_name, now);
        if created {
            *p.dirty += 1;
            new_consumers.push(key);
            if r.noack && p.propagating {
                propagate(
                    p.prop,
                    vec![
                        Bytes::from_static(b"XGROUP"),
                        Bytes::from_static(b"CREATECONSUMER"),
                        key.clone(),
                        group_name.clone(),
                        consumer_name.clone(),
                    ],
                );
            }
        }
        if let Some(c) = g.consumer_mut(consumer) {
            c.seen_time = now;
        }
        if !serve {
            continue;
        }
        served += 1;
        if resp2 {
            p.out.array(2);
        }
        p.out.bulk(key);
        let start = start.next().unwrap_or(StreamId::MIN);
        let list_at = p.out.buf.len();
        let n = if history {
            let out = &mut *p.out;
            g.deliver_history(entries, consumer, start, r.count, now, |id, e| match e {
                Some(e) => reply_entry(out, e),
                None => {
                    out.array(2);
                    reply_id(out, id);
                    out.null_array();
                }
            })
        } else {
            let last_before = g.last_id;
            let (out, propagating) = (&mut *p.out, p.propagating);
            let mut claims = Vec::new();
            let n = g.deliver_new(entries, consumer, start, r.count, r.noack, now, |e, nack, last| {
                reply_entry(out, e);
                if let (Some(nack), true) = (nack, propagating) {
                    claims.push(xclaim_argv(key, group_name, consumer_name, id_arg(e.id), &nack, last));
                }
            });
            for argv in claims {
                propagate(p.prop, argv);
            }
            if g.last_id != last_before && p.propagating {
                propagate(p.prop, setid_argv(key, group_name, g));
            }
            n
        };
        insert_array_len(p.out, list_at, n as usize);
        *p.dirty += 1;
    }
    // RESP2: an array of [key, entries]; RESP3: a map of key to entries.
    if served > 0 {
        let kind = if resp2 { b'*' } else { b'%' };
        insert_header(p.out, at, kind, served);
    }
    for key in new_consumers {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    served > 0
}

fn read_generic(ctx: &mut Ctx, args: &[Bytes], xreadgroup: bool) {
    // What XREADGROUP changes is propagated as the commands that recreate
    // it, never as itself.
    ctx.propagate_as.get_or_insert_with(Vec::new);
    let Some(r) = parse_read(ctx, args, xreadgroup) else { return };
    if serve_read(ctx, &r) {
        return;
    }
    match r.block {
        // Inside MULTI or a script, a read that would block answers as if
        // it timed out.
        Some(deadline) if ctx.can_block() => {
            let keys: Vec<&[u8]> = r.keys.iter().map(|k| &k[..]).collect();
            ctx.block(&resolved_argv(args, &r), &keys, deadline);
        }
        _ => ctx.out().null_array(),
    }
}

/// The arguments a blocked read runs again with: `$` replaced by the ID it
/// stood for, so that what arrives meanwhile is read (Redis rewrites the
/// argument the same way).
fn resolved_argv(args: &[Bytes], r: &ReadArgs) -> Vec<Bytes> {
    let ids_at = args.len() - r.ids.len();
    let mut argv = args.to_vec();
    for (arg, &id) in argv[ids_at..].iter_mut().zip(&r.ids) {
        if c_str(arg) == b"$" {
            *arg = id_arg(id);
        }
    }
    argv
}

fn xread(ctx: &mut Ctx, args: &[Bytes]) {
    read_generic(ctx, args, false);
}

fn xreadgroup(ctx: &mut Ctx, args: &[Bytes]) {
    read_generic(ctx, args, true);
}

// ---------------------------------------------------------------------------
// XGROUP, XSETID

const XGROUP_HELP: &[&str] = &[
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
];

/// Every XGROUP subcommand, with the checks in Redis's order
/// (xgroupCommand): options, the key, the group, then the subcommand.
fn xgroup(ctx: &mut Ctx, args: &[Bytes]) {
    let now = now_ms();
    let argc = args.len();
    let sub = &args[1];
    if argc == 2 && is(sub, "HELP") {
        return super::introspection::reply_help(ctx, args, XGROUP_HELP);
    }
    let (create, setid) = (is(sub, "CREATE"), is(sub, "SETID"));
    let mut mkstream = false;
    let mut entries_read = ENTRIES_READ_UNKNOWN;
    if argc >= 4 {
        let mut i = 5;
        while i < argc {
            if create && is(&args[i], "MKSTREAM") {
                mkstream = true;
                i += 1;
            } else if (create || setid) && is(&args[i], "ENTRIESREAD") && i + 1 < argc {
                let Some(n) = parse_ll(ctx.out(), &args[i + 1], NOT_INTEGER) else { return };
                if n < 0 && n != ENTRIES_READ_UNKNOWN {
                    return ctx.error("ERR value for ENTRIESREAD must be positive or -1");
                }
                entries_read = n;
                i += 2;
            } else {
                return super::introspection::subcommand_syntax_error(ctx, args);
            }
        }
    }
    let dirty_before = ctx.srv.dirty;
    if !xgroup_run(ctx, args, mkstream, entries_read, now) {
        super::introspection::subcommand_syntax_error(ctx, args);
    }
    // Every change XGROUP makes raises the event named after it.
    if ctx.srv.dirty > dirty_before {
        let event = ["create", "setid", "destroy", "createconsumer", "delconsumer"]
            .iter()
            .zip(["xgroup-create", "xgroup-setid", "xgroup-destroy", "xgroup-createconsumer", "xgroup-delconsumer"])
            .find(|(name, _)| is(sub, name))
            .map(|(_, event)| event);
        if let Some(event) = event {
            ctx.notify(class::STREAM, event, &args[2]);
        }
    }
}

/// XGROUP past its options; false when the subcommand or its argument
/// count is wrong.
fn xgroup_run(ctx: &mut Ctx, args: &[Bytes], mkstream: bool, entries_read: i64, now: i64) -> bool {
    let argc = args.len();
    let sub = &args[1];
    let (create, setid) = (is(sub, "CREATE"), is(sub, "SETID"));
    let p = parts(ctx);
    let (key, group) = (&args[2], &args[3]);
    let stream = match modify(p.db, None, key) {
        Found::Stream(s) => Some(s),
        Found::WrongType => {
            p.out.error(WRONGTYPE);
            return true;
        }
        Found::Missing => None,
    };
    if !mkstream {
        let Some(s) = &stream else {
            p.out.error("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
            return true;
        };
        let needs_group = setid || is(sub, "CREATECONSUMER") || is(sub, "DELCONSUMER");
        if needs_group && !s.groups.contains_key(&group[..]) {
            error_bytes(p.out, &[b"NOGROUP No such consumer group '", group, b"' for key name '", key, b"'"]);
            return true;
        }
    }
    if create && (5..=8).contains(&argc) {
        let id = match c_str(&args[4]) {
            b"$" => stream.as_ref().map_or(StreamId::MIN, |s| s.entries.last_id),
            _ => match parse_strict(p.out, &args[4]) {
                Some(id) => id,
                None => return true,
            },
        };
        let s = match stream {
            Some(s) => s,
            None => {
                p.db.set(key, Obj::new(Value::Stream(Box::default())));
                match modify(p.db, None, key) {
                    Found::Stream(s) => s,
                    _ => return true,
                }
            }
        };
        if s.create_group(group, id, entries_read) {
            p.out.ok();
            *p.dirty += 1;
        } else {
            p.out.error("BUSYGROUP Consumer Group name already exists");
        }
        return true;
    }
    let Some(s) = stream else { return false };
    if setid && (argc == 5 || argc == 7) {
        let id = match c_str(&args[4]) {
            b"$" => s.entries.last_id,
            _ => match parse_id(&args[4], 0, false, false) {
                Some(p) => p.id,
                None => {
                    p.out.error(INVALID_ID);
                    return true;
                }
            },
        };
        if let Some(g) = s.groups.get_mut(&group[..]) {
            g.last_id = id;
            g.entries_read = entries_read;
        }
        p.out.ok();
        *p.dirty += 1;
    } else if is(sub, "DESTROY") && argc == 4 {
        if s.groups.remove(&group[..]).is_some() {
            p.out.int(1);
            *p.dirty += 1;
            // Clients blocked on the group get their NOGROUP error. Redis
            // wakes them without failing WATCHes; here waking is a change,
            // so it is signalled only when someone waits on the key.
            if p.waiters.by_key.contains_key(&(p.db_index, crate::db::Key::from(&key[..]))) {
                signal_modified(p.db, key);
            }
        } else {
            p.out.int(0);
        }
    } else if is(sub, "CREATECONSUMER") && argc == 5 {
        let created = s.groups.get_mut(&group[..]).and_then(|g| g.create_consumer(&args[4], now)).is_some();
        if created {
            *p.dirty += 1;
        }
        p.out.int(created as i64);
    } else if is(sub, "DELCONSUMER") && argc == 5 {
        match s.groups.get_mut(&group[..]).and_then(|g| g.delete_consumer(&args[4])) {
            Some(pending) => {
                *p.dirty += 1;
                p.out.int(pending as i64);
            }
            None => p.out.int(0),
        }
    } else {
        return false;
    }
    true
}

fn xsetid(ctx: &mut Ctx, args: &[Bytes]) {
    let p = parts(ctx);
    let Some(id) = parse_strict(p.out, &args[2]) else { return };
    let (mut entries_added, mut max_deleted) = (-1i64, StreamId::MIN);
    let mut i = 3;
    while i < args.len() {
        let moreargs = args.len() - 1 - i;
        if is(&args[i], "ENTRIESADDED") && moreargs > 0 {
            let Some(n) = parse_ll(p.out, &args[i + 1], NOT_INTEGER) else { return };
            entries_added = n;
            if entries_added < 0 {
                return p.out.error("ERR entries_added must be positive");
            }
        } else if is(&args[i], "MAXDELETEDID") && moreargs > 0 {
            let Some(m) = parse_strict(p.out, &args[i + 1]) else { return };
            max_deleted = m;
            if id < max_deleted {
                return p.out.error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
            }
        } else {
            return p.out.error(SYNTAX);
        }
        i += 2;
    }
    let e = match modify(p.db, None, &args[1]) {
        Found::Stream(s) => &mut s.entries,
        Found::WrongType => return p.out.error(WRONGTYPE),
        Found::Missing => return p.out.error("ERR no such key"),
    };
    if id < e.max_deleted_entry_id {
        return p.out.error("ERR The ID specified in XSETID is smaller than current max_deleted_entry_id");
    }
    if e.length > 0 {
        if id < e.last_valid_id() {
            return p.out.error("ERR The ID specified in XSETID is smaller than the target stream top item");
        }
        if entries_added != -1 && e.length > entries_added as u64 {
            return p.out.error("ERR The entries_added specified in XSETID is smaller than the target stream length");
        }
    }
    e.last_id = id;
    if entries_added != -1 {
        e.entries_added = entries_added as u64;
    }
    if !max_deleted.is_zero() {
        e.max_deleted_entry_id = max_deleted;
    }
    p.out.ok();
    *p.dirty += 1;
    ctx.notify(class::STREAM, "xsetid", &args[1]);
}

// ---------------------------------------------------------------------------
// XACK, XPENDING, XCLAIM, XAUTOCLAIM

fn xack(ctx: &mut Ctx, args: &[Bytes]) {
    let p = parts(ctx);
    let g = match modify(p.db, Some(&mut *p.stats), &args[1]) {
        Found::WrongType => return p.out.error(WRONGTYPE),
        Found::Stream(s) => s.groups.get_mut(&args[2][..]),
        Found::Missing => None,
    };
    // No key or group: nothing to acknowledge, whatever the IDs.
    let Some(g) = g else { return p.out.int(0) };
    let mut ids = Vec::with_capacity(args.len() - 3);
    for a in &args[3..] {
        let Some(id) = parse_strict(p.out, a) else { return };
        ids.push(id);
    }
    let acked = ids.into_iter().filter(|&id| g.ack(id)).count();
    *p.dirty += acked as u64;
    p.out.int(acked as i64);
}

fn xpending(ctx: &mut Ctx, args: &[Bytes]) {
    let now = now_ms();
    let p = parts(ctx);
    let argc = args.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return p.out.error(SYNTAX);
    }
    // The range arguments are checked before the key, as in Redis.
    let mut range = None;
    if argc >= 6 {
        let mut at = 3;
        let mut min_idle = 0;
        if is(&args[3], "IDLE") {
            let Some(idle) = parse_ll(p.out, &args[4], NOT_INTEGER) else { return };
            if argc < 8 {
                return p.out.error(SYNTAX);
            }
            min_idle = idle;
            at += 2;
        }
        let Some(count) = parse_ll(p.out, &args[at + 2], NOT_INTEGER) else { return };
        let Some(start) = parse_range_start(p.out, &args[at]) else { return };
        let Some(end) = parse_range_end(p.out, &args[at + 1]) else { return };
        range = Some((start, end, count.max(0) as u64, min_idle, args.get(at + 3)));
    }
    let (key, group) = (&args[1], &args[2]);
    let g = match read(p.db, Some(&mut *p.stats), key) {
        Found::WrongType => return p.out.error(WRONGTYPE),
        Found::Stream(s) => s.groups.get(&group[..]),
        Found::Missing => None,
    };
    let Some(g) = g else {
        return error_bytes(p.out, &[b"NOGROUP No such key '", key, b"' or consumer group '", group, b"'"]);
    };
    let out = p.out;
    let Some((start, end, mut count, min_idle, consumer)) = range else {
        // The summary: count, smallest and greatest IDs, owners.
        out.array(4);
        out.int(g.pel.len() as i64);
        match (g.pel.keys().next(), g.pel.keys().next_back()) {
            (Some(&first), Some(&last)) => {
                reply_id(out, first);
                reply_id(out, last);
                let at = out.buf.len();
                let mut n = 0;
                for c in g.consumers().filter(|c| !c.pel.is_empty()) {
                    out.array(2);
                    out.bulk(&c.name);
                    out.bulk_i64(c.pel.len() as i64);
                    n += 1;
                }
                insert_array_len(out, at, n);
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return;
    };
    let owner = match consumer {
        Some(name) => match g.find(name) {
            Some(id) => Some(id),
            // An unknown consumer has nothing pending.
            None => return out.array(0),
        },
        None => None,
    };
    let at = out.buf.len();
    let mut n = 0;
    let reply_one = |out: &mut Out, id: StreamId| {
        let Some(nack) = g.pel.get(&id) else { return false };
        let idle = now.wrapping_sub(nack.delivery_time);
        if min_idle != 0 && idle < min_idle {
            return false;
        }
        out.array(4);
        reply_id(out, id);
        out.bulk(g.name_of(nack.consumer));
        out.int(idle.max(0));
        out.int(nack.delivery_count as i64);
        true
    };
    if start <= end {
        match owner.and_then(|o| g.consumer(o)) {
            Some(c) => {
                for &id in c.pel.range(start..=end) {
                    if count == 0 {
                        break;
                    }
                    if reply_one(out, id) {
                        n += 1;
                        count -= 1;
                    }
                }
            }
            None => {
                for &id in g.pel.range(start..=end).map(|(id, _)| id) {
                    if count == 0 {
                        break;
                    }
                    if reply_one(out, id) {
                        n += 1;
                        count -= 1;
                    }
                }
            }
        }
    }
    insert_array_len(out, at, n);
}

/// XCLAIM's options, after its IDs.
struct ClaimOpts {
    force: bool,
    justid: bool,
    /// IDLE/TIME as a delivery time; -1 when not given (as in Redis, a
    /// computed -1 counts as not given).
    delivery_time: i64,
    retry: i64,
    last_id: StreamId,
}

fn parse_claim_opts(out: &mut Out, args: &[Bytes], mut j: usize, now: i64) -> Option<ClaimOpts> {
    let mut o = ClaimOpts { force: false, justid: false, delivery_time: -1, retry: -1, last_id: StreamId::MIN };
    while j < args.len() {
        let moreargs = args.len() - 1 - j;
        let opt = &args[j];
        if is(opt, "FORCE") {
            o.force = true;
        } else if is(opt, "JUSTID") {
            o.justid = true;
        } else if is(opt, "IDLE") && moreargs > 0 {
            j += 1;
            let idle = parse_ll(out, &args[j], "ERR Invalid IDLE option argument for XCLAIM")?;
            o.delivery_time = now.wrapping_sub(idle);
        } else if is(opt, "TIME") && moreargs > 0 {
            j += 1;
            o.delivery_time = parse_ll(out, &args[j], "ERR Invalid TIME option argument for XCLAIM")?;
        } else if is(opt, "RETRYCOUNT") && moreargs > 0 {
            j += 1;
            o.retry = parse_ll(out, &args[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")?;
        } else if is(opt, "LASTID") && moreargs > 0 {
            j += 1;
            o.last_id = parse_strict(out, &args[j])?;
        } else {
            error_bytes(out, &[b"ERR Unrecognized XCLAIM option '", opt, b"'"]);
            return None;
        }
        j += 1;
    }
    Some(o)
}

fn xclaim(ctx: &mut Ctx, args: &[Bytes]) {
    let now = now_ms();
    let p = parts(ctx);
    let (key, group) = (&args[1], &args[2]);
    let stream = match modify(p.db, Some(&mut *p.stats), key) {
        Found::WrongType => return p.out.error(WRONGTYPE),
        Found::Stream(s) if s.groups.contains_key(&group[..]) => s,
        _ => return error_bytes(p.out, &[b"NOGROUP No such key '", key, b"' or consumer group '", group, b"'"]),
    };
    let Some(min_idle) = parse_ll(p.out, &args[4], "ERR Invalid min-idle-time argument for XCLAIM") else { return };
    let min_idle = min_idle.max(0);
    // The IDs, up to the first argument that is not one: the options.
    let ids: Vec<StreamId> = args[5..].iter().map_while(|a| parse_id(a, 0, true, false).map(|p| p.id)).collect();
    let Some(o) = parse_claim_opts(p.out, args, 5 + ids.len(), now) else { return };
    let Stream { entries, groups } = &mut *stream;
    let Some(g) = groups.get_mut(&group[..]) else { return };
    let mut propagate_last_id = false;
    if o.last_id > g.last_id {
        g.last_id = o.last_id;
        propagate_last_id = true;
    }
    let delivery_time =
        if o.delivery_time == -1 || o.delivery_time < 0 || o.delivery_time > now { now } else { o.delivery_time };
    let consumer_name = &args[3];
    let (consumer, created) = g.find_or_create(consumer_name, now);
    if created {
        *p.dirty += 1;
    }
    if let Some(c) = g.consumer_mut(consumer) {
        c.seen_time = now;
    }
    let retry = (o.retry >= 0).then_some(o.retry as u64);
    let at = p.out.buf.len();
    let mut n = 0;
    for (j, &id) in ids.iter().enumerate() {
        let (nack, owner) = match g.claim(entries, id, consumer, min_idle, now, delivery_time, retry, o.justid, o.force)
        {
            Claim::Skipped => continue,
            // Propagated too, so that replicas drop the record as well.
            Claim::Gone(nack) => (nack, None),
            Claim::Claimed(nack) => {
                match entries.get(id) {
                    Some(e) if !o.justid => reply_entry(p.out, &e),
                    _ => reply_id(p.out, id),
                }
                n += 1;
                (nack, Some(consumer_name))
            }
        };
        if p.propagating {
            // The record names its owner: the claimer, or for a dropped
            // record the consumer that had it.
            let name = match owner {
                Some(name) => name.to_vec(),
                None => g.name_of(nack.consumer).to_vec(),
            };
            let argv = xclaim_argv(key, group, &name, args[5 + j].clone(), &nack, g.last_id);
            propagate(p.prop, argv);
        }
        propagate_last_id = false;
        *p.dirty += 1;
    }
    if propagate_last_id {
        if p.propagating {
            propagate(p.prop, setid_argv(key, group, g));
        }
        *p.dirty += 1;
    }
    insert_array_len(p.out, at, n);
    prevent_propagation(p.prop);
    if created {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
}

fn xautoclaim(ctx: &mut Ctx, args: &[Bytes]) {
    let now = now_ms();
    let p = parts(ctx);
    let (key, group) = (&args[1], &args[2]);
    // Looked up first (a keyspace hit or miss), checked after the options.
    let exists = !matches!(read(p.db, Some(&mut *p.stats), key), Found::Missing);
    let Some(min_idle) = parse_ll(p.out, &args[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM") else { return };
    let min_idle = min_idle.max(0);
    let Some(start) = parse_range_start(p.out, &args[5]) else { return };
    let (mut count, mut justid) = (100i64, false);
    let mut j = 6;
    while j < args.len() {
        if is(&args[j], "COUNT") && j + 1 < args.len() {
            match parse_i64(&args[j + 1]) {
                Some(n) if (1..=AUTOCLAIM_MAX_COUNT).contains(&n) => count = n,
                _ => return p.out.error("ERR COUNT must be > 0"),
            }
            j += 1;
        } else if is(&args[j], "JUSTID") {
            justid = true;
        } else {
            return p.out.error(SYNTAX);
        }
        j += 1;
    }
    let stream = match modify(p.db, None, key) {
        Found::WrongType => return p.out.error(WRONGTYPE),
        Found::Stream(s) if exists && s.groups.contains_key(&group[..]) => s,
        _ => return error_bytes(p.out, &[b"NOGROUP No such key '", key, b"' or consumer group '", group, b"'"]),
    };
    if count > AUTOCLAIM_ALLOC_LIMIT {
        return p.out.error("ERR Insufficient memory, failed allocating transient memory, COUNT too high.");
    }
    let Stream { entries, groups } = &mut *stream;
    let Some(g) = groups.get_mut(&group[..]) else { return };
    let consumer_name = &args[3];
    let (consumer, created) = g.find_or_create(consumer_name, now);
    if created {
        *p.dirty += 1;
    }
    if let Some(c) = g.consumer_mut(consumer) {
        c.seen_time = now;
    }
    let ac = g.autoclaim(entries, consumer, start, count as u64, min_idle, now, justid);
    let out = &mut *p.out;
    out.array(3);
    reply_id(out, ac.next);
    let claimed = ac.events.iter().filter(|e| e.2 == Claimed::Claimed).count();
    out.array(claimed);
    for &(id, _, _) in ac.events.iter().filter(|e| e.2 == Claimed::Claimed) {
        match entries.get(id) {
            Some(e) if !justid => reply_entry(out, &e),
            _ => reply_id(out, id),
        }
    }
    out.array(ac.events.len() - claimed);
    for &(id, _, _) in ac.events.iter().filter(|e| e.2 == Claimed::Deleted) {
        reply_id(out, id);
    }
    *p.dirty += ac.events.len() as u64;
    if p.propagating {
        for (id, nack, what) in &ac.events {
            let name = match what {
                Claimed::Claimed => consumer_name.to_vec(),
                Claimed::Deleted => g.name_of(nack.consumer).to_vec(),
            };
            let argv = xclaim_argv(key, group, &name, id_arg(*id), nack, g.last_id);
            propagate(p.prop, argv);
        }
    }
    prevent_propagation(p.prop);
    if created {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
}

// ---------------------------------------------------------------------------
// XINFO

const XINFO_HELP: &[&str] = &[
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
];

fn xinfo(ctx: &mut Ctx, args: &[Bytes]) {
    let now = now_ms();
    let sub = &args[1];
    if is(sub, "HELP") {
        return super::introspection::reply_help(ctx, args, XINFO_HELP);
    }
    let p = parts(ctx);
    let key = &args[2];
    let s = match read(p.db, Some(&mut *p.stats), key) {
        Found::Stream(s) => s,
        Found::WrongType => return p.out.error(WRONGTYPE),
        Found::Missing => return p.out.error("ERR no such key"),
    };
    let out = p.out;
    if is(sub, "CONSUMERS") && args.len() == 4 {
        let Some(g) = s.groups.get(&args[3][..]) else {
            return error_bytes(out, &[b"NOGROUP No such consumer group '", &args[3], b"' for key name '", key, b"'"]);
        };
        out.array(g.consumer_count());
        for c in g.consumers() {
            let inactive = if c.active_time != -1 { now.wrapping_sub(c.active_time) } else { -1 };
            // Redis 7.2: `inactive` (7.0 had only name, pending, idle).
            out.map(4);
            out.bulk(b"name");
            out.bulk(&c.name);
            out.bulk(b"pending");
            out.int(c.pel.len() as i64);
            out.bulk(b"idle");
            out.int(now.wrapping_sub(c.seen_time).max(0));
            out.bulk(b"inactive");
            out.int(inactive);
        }
    } else if is(sub, "GROUPS") && args.len() == 3 {
        out.array(s.groups.len());
        for (name, g) in &s.groups {
            out.map(6);
            out.bulk(b"name");
            out.bulk(name);
            out.bulk(b"consumers");
            out.int(g.consumer_count() as i64);
            out.bulk(b"pending");
            out.int(g.pel.len() as i64);
            out.bulk(b"last-delivered-id");
            reply_id(out, g.last_id);
            out.bulk(b"entries-read");
            reply_entries_read(out, g.entries_read);
            out.bulk(b"lag");
            reply_lag(out, &s.entries, g);
        }
    } else if !(is(sub, "STREAM") && xinfo_stream(out, s, &args[3..])) {
        super::introspection::subcommand_syntax_error(ctx, args);
    }
}

fn reply_entries_read(out: &mut Out, n: i64) {
    if n == ENTRIES_READ_UNKNOWN {
        out.null();
    } else {
        out.int(n);
    }
}

fn reply_lag(out: &mut Out, e: &Entries, g: &Group) {
    match e.lag(g) {
        Some(lag) => out.int(lag),
        None => out.null(),
    }
}

/// XINFO STREAM <key> [FULL [COUNT <count>]]; false when the options are
/// not those.
fn xinfo_stream(out: &mut Out, s: &Stream, opts: &[Bytes]) -> bool {
    let mut count: i64 = 10;
    let full = !opts.is_empty();
    if full {
        if (opts.len() != 1 && opts.len() != 3) || !is(&opts[0], "FULL") || (opts.len() == 3 && !is(&opts[1], "COUNT"))
        {
            return false;
        }
        if opts.len() == 3 {
            let Some(n) = parse_ll(out, &opts[2], NOT_INTEGER) else { return true };
            count = if n < 0 { 10 } else { n };
        }
    }
    let e = &s.entries;
    out.map(if full { 9 } else { 10 });
    out.bulk(b"length");
    out.int(e.length as i64);
    out.bulk(b"radix-tree-keys");
    out.int(e.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(e.radix_tree_nodes() as i64);
    out.bulk(b"last-generated-id");
    reply_id(out, e.last_id);
    out.bulk(b"max-deleted-entry-id");
    reply_id(out, e.max_deleted_entry_id);
    out.bulk(b"entries-added");
    out.int(e.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    reply_id(out, e.first_id);
    if !full {
        out.bulk(b"groups");
        out.int(s.groups.len() as i64);
        out.bulk(b"first-entry");
        match e.range(StreamId::MIN, StreamId::MAX, false).next() {
            Some(first) => reply_entry(out, &first),
            None => out.null(),
        }
        out.bulk(b"last-entry");
        match e.range(StreamId::MIN, StreamId::MAX, true).next() {
            Some(last) => reply_entry(out, &last),
            None => out.null(),
        }
        return true;
    }
    // COUNT 0 means everything.
    let limit = if count == 0 { usize::MAX } else { count as usize };
    out.bulk(b"entries");
    let at = out.buf.len();
    let mut n = 0;
    for entry in e.range(StreamId::MIN, StreamId::MAX, false).take(limit) {
        reply_entry(out, &entry);
        n += 1;
    }
    insert_array_len(out, at, n);
    out.bulk(b"groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        reply_id(out, g.last_id);
        out.bulk(b"entries-read");
        reply_entries_read(out, g.entries_read);
        out.bulk(b"lag");
        reply_lag(out, e, g);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        out.array(g.pel.len().min(limit));
        for (&id, nack) in g.pel.iter().take(limit) {
            out.array(4);
            reply_id(out, id);
            out.bulk(g.name_of(nack.consumer));
            out.int(nack.delivery_time);
            out.int(nack.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumer_count());
        for c in g.consumers() {
            // Redis 7.2: active-time (7.0 had no such field).
            out.map(5);
            out.bulk(b"name");
            out.bulk(&c.name);
            out.bulk(b"seen-time");
            out.int(c.seen_time);
            out.bulk(b"active-time");
            out.int(c.active_time);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            out.array(c.pel.len().min(limit));
            for id in c.pel.iter().take(limit) {
                let nack = g.pel.get(id);
                out.array(3);
                reply_id(out, *id);
                out.int(nack.map_or(0, |n| n.delivery_time));
                out.int(nack.map_or(0, |n| n.delivery_count as i64));
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    //! What stream commands propagate, read off the executor's write stream,
    //! against what Valkey 9.1 (Redis 7.2) sends its replicas for the same
    //! commands. Redis wraps a command's several writes in MULTI/EXEC; the
    //! writes themselves are compared here.

    use bytes::Bytes;

    use crate::config::Config;
    use crate::executor::{execute, Server, Write};
    use crate::server::client::Client;

    /// Each command's propagated writes, each write as one string, with
    /// the millisecond of `TIME <ms>` replaced by `T`.
    fn propagated(srv: &mut Server, cmds: &[&str]) -> Vec<Vec<String>> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Write>();
        srv.write_subscribers.push(tx);
        let mut client = Client::new(1, "127.0.0.1:1".into(), "127.0.0.1:2".into(), -1, true);
        let mut all = Vec::new();
        for cmd in cmds {
            let args: Vec<Bytes> = cmd.split(' ').map(|a| Bytes::copy_from_slice(a.as_bytes())).collect();
            execute(srv, &mut client, &args);
            let mut writes = Vec::new();
            while let Ok(w) = rx.try_recv() {
                let mut words: Vec<String> = w.argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
                if let Some(t) = words.iter().position(|w| w == "TIME") {
                    assert!(words[t + 1].parse::<i64>().is_ok_and(|ms| ms > 1_600_000_000_000), "{words:?}");
                    words[t + 1] = "T".into();
                }
                writes.push(words.join(" "));
            }
            all.push(writes);
        }
        srv.write_subscribers.clear();
        all
    }

    #[test]
    fn writes_propagate_as_redis_72() {
        let mut srv = Server::new(Config::default());
        let out = propagated(
            &mut srv,
            &[
                "XADD p 1-0 a 1",
                "XADD p MAXLEN ~ 1 5-* c 3",
                "XADD p 6-0 c 3",
                "XADD p 7-0 c 3",
                "XGROUP CREATE p g 0",
                "XREADGROUP GROUP g alice COUNT 2 STREAMS p >",
                "XREADGROUP GROUP g alice STREAMS p 0",
                "XREADGROUP GROUP g bob NOACK COUNT 1 STREAMS p >",
                "XREADGROUP GROUP g bob NOACK STREAMS p >",
                "XREADGROUP GROUP g carol STREAMS p >",
                "XCLAIM p g dave 0 5 JUSTID",
                "XCLAIM p g dave 0 5-0 LASTID 8-0",
                "XCLAIM p g dave 0 2 LASTID 9-0",
                "XDEL p 5-0",
                "XAUTOCLAIM p g erin 0 0",
                "XACK p g 1-0",
                "XACK p g 1-0",
                "XGROUP SETID p g 0 ENTRIESREAD 3",
                "XSETID p 10-0 ENTRIESADDED 7 MAXDELETEDID 5-0",
                "XDEL p 99-0",
                "XTRIM p MAXLEN 10",
                "XTRIM p MINID = 7",
                "XADD p MINID ~ 0 11-0 a 1",
            ],
        );
        let expected: &[&[&str]] = &[
            &["XADD p 1-0 a 1"],
            &["XADD p MAXLEN = 2 5-0 c 3"],
            &["XADD p 6-0 c 3"],
            &["XADD p 7-0 c 3"],
            &["XGROUP CREATE p g 0"],
            &[
                "MULTI",
                "XCLAIM p g alice 0 1-0 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 1-0",
                "XCLAIM p g alice 0 5-0 TIME T RETRYCOUNT 1 FORCE JUSTID LASTID 5-0",
                "XGROUP SETID p g 5-0 ENTRIESREAD 2",
                "EXEC",
            ],
            &[],
            &["MULTI", "XGROUP CREATECONSUMER p g bob", "XGROUP SETID p g 6-0 ENTRIESREAD 3", "EXEC"],
            &["XGROUP SETID p g 7-0 ENTRIESREAD 4"],
            &[],
            &["XCLAIM p g dave 0 5 TIME T RETRYCOUNT 2 FORCE JUSTID LASTID 7-0"],
            &["XCLAIM p g dave 0 5-0 TIME T RETRYCOUNT 3 FORCE JUSTID LASTID 8-0"],
            &["XGROUP SETID p g 9-0 ENTRIESREAD 4"],
            &["XDEL p 5-0"],
            &[
                "MULTI",
                "XCLAIM p g erin 0 1-0 TIME T RETRYCOUNT 3 FORCE JUSTID LASTID 9-0",
                "XCLAIM p g dave 0 5-0 TIME T RETRYCOUNT 3 FORCE JUSTID LASTID 9-0",
                "EXEC",
            ],
            &["XACK p g 1-0"],
            &[],
            &["XGROUP SETID p g 0 ENTRIESREAD 3"],
            &["XSETID p 10-0 ENTRIESADDED 7 MAXDELETEDID 5-0"],
            &[],
            &[],
            &["XTRIM p MINID = 7"],
            &["XADD p MINID = 1-0 11-0 a 1"],
        ];
        assert_eq!(out.len(), expected.len());
        for (i, (got, want)) in out.iter().zip(expected).enumerate() {
            assert_eq!(got, want, "command {i}");
        }
    }

    #[test]
    fn generated_ids_and_approximate_trims_are_rewritten() {
        let mut srv = Server::new(Config::default());
        let out = propagated(
            &mut srv,
            &["XADD s * f v", "XADD s 9999999999999-* f v", "XTRIM s MAXLEN ~ 0", "XADD s MAXLEN ~ 5 LIMIT 5 * f v"],
        );
        let first: Vec<&str> = out[0][0].split(' ').collect();
        assert_eq!((first.len(), first[0], first[1], &first[3..]), (5, "XADD", "s", &["f", "v"][..]));
        assert!(first[2].ends_with("-0") && first[2].len() > 10, "a generated ID: {first:?}");
        assert_eq!(out[1], ["XADD s 9999999999999-0 f v"]);
        // Both entries share a node, which ~ removes whole.
        assert_eq!(out[2], ["XTRIM s MAXLEN = 0"]);
        let last: Vec<&str> = out[3][0].split(' ').collect();
        assert_eq!(&last[..7], ["XADD", "s", "MAXLEN", "=", "1", "LIMIT", "5"]);
        assert_eq!(last[7], "9999999999999-1");
    }
}
