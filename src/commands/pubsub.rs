//! Pub/Sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBE
//! counterparts, PUBLISH, SPUBLISH and PUBSUB, as Redis 7.2's `pubsub.c`.
//!
//! The server keeps, per channel (and per pattern, per shard channel), the
//! ids of its subscribers in subscription order; each client keeps the set
//! of what it subscribed to. Messages go straight into the subscribers'
//! output buffers; a subscriber whose pending output passes the `pubsub`
//! class of `client-output-buffer-limit` is disconnected, so a subscriber
//! that never reads cannot make the server's memory grow without bound.

use std::collections::{HashMap, HashSet};

use bytes::Bytes;

use super::docs::*;
use super::flags::*;
use super::{keys, CommandDef, Ctx, NO_ELEMENTS, NO_KEYS};
use crate::cmd;
use crate::executor::Server;
use crate::server::client::Client;
use crate::util::{glob_match, now_ms};

/// Server side: who listens to what.
#[derive(Default)]
pub struct PubSub {
    channels: HashMap<Bytes, Vec<u64>>,
    patterns: HashMap<Bytes, Vec<u64>>,
    shard: HashMap<Bytes, Vec<u64>>,
}

impl PubSub {
    /// Whether nobody listens at all: publishing (and keyspace
    /// notifications) can stop here.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty()
    }
}

/// Client side: what one client listens to.
#[derive(Default)]
pub struct Subscriptions {
    pub channels: HashSet<Bytes>,
    pub patterns: HashSet<Bytes>,
    pub shard: HashSet<Bytes>,
}

impl Subscriptions {
    /// Redis's CLIENT_PUBSUB flag: subscribed to anything.
    pub fn active(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty())
    }

    /// The count SUBSCRIBE/PSUBSCRIBE and their UNSUBSCRIBEs reply with.
    fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }
}

/// The three kinds of subscription, with their reply names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn names(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Kind::Channel => (b"subscribe", b"unsubscribe"),
            Kind::Pattern => (b"psubscribe", b"punsubscribe"),
            Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
        }
    }

    fn server_map(self, ps: &mut PubSub) -> &mut HashMap<Bytes, Vec<u64>> {
        match self {
            Kind::Channel => &mut ps.channels,
            Kind::Pattern => &mut ps.patterns,
            Kind::Shard => &mut ps.shard,
        }
    }

    fn client_set(self, subs: &mut Subscriptions) -> &mut HashSet<Bytes> {
        match self {
            Kind::Channel => &mut subs.channels,
            Kind::Pattern => &mut subs.patterns,
            Kind::Shard => &mut subs.shard,
        }
    }

    /// The count in the reply: shard subscriptions are counted apart.
    fn count(self, subs: &Subscriptions) -> usize {
        match self {
            Kind::Shard => subs.shard.len(),
            _ => subs.count(),
        }
    }
}

/// `subscribe`-style reply: [kind, name or nil, count], as a push in RESP3.
fn confirm(client: &mut Client, what: &[u8], name: Option<&[u8]>, count: usize) {
    let out = &mut client.out;
    out.push(3);
    out.bulk(what);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

fn subscribe_to(srv: &mut Server, client: &mut Client, kind: Kind, names: &[Bytes]) {
    for name in names {
        if kind.client_set(&mut client.subs).insert(name.clone()) {
            kind.server_map(&mut srv.pubsub).entry(name.clone()).or_default().push(client.id);
        }
        let count = kind.count(&client.subs);
        confirm(client, kind.names().0, Some(name), count);
    }
    srv.track_created_keys();
}

/// Removes one subscription; replies when `notify` (RESET and disconnection
/// remove silently).
fn unsubscribe_one(srv: &mut Server, client: &mut Client, kind: Kind, name: &Bytes, notify: bool) {
    if kind.client_set(&mut client.subs).remove(name) {
        let map = kind.server_map(&mut srv.pubsub);
        if let Some(ids) = map.get_mut(name) {
            ids.retain(|&id| id != client.id);
            if ids.is_empty() {
                map.remove(name);
                if srv.pubsub.is_empty() {
                    srv.track_created_keys();
                }
            }
        }
    }
    if notify {
        let count = kind.count(&client.subs);
        confirm(client, kind.names().1, Some(name), count);
    }
}

fn unsubscribe_from(srv: &mut Server, client: &mut Client, kind: Kind, names: &[Bytes]) {
    if names.is_empty() {
        unsubscribe_all(srv, client, kind, true);
    } else {
        for name in names {
            unsubscribe_one(srv, client, kind, name, true);
        }
    }
}

/// Drops every subscription of one kind; with `notify`, one reply each, or
/// `[unsubscribe, nil, count]` when there was none.
fn unsubscribe_all(srv: &mut Server, client: &mut Client, kind: Kind, notify: bool) {
    let names: Vec<Bytes> = kind.client_set(&mut client.subs).iter().cloned().collect();
    for name in &names {
        unsubscribe_one(srv, client, kind, name, notify);
    }
    if notify && names.is_empty() {
        let count = kind.count(&client.subs);
        confirm(client, kind.names().1, None, count);
    }
}

/// Forgets every subscription of a client without replying (RESET, the
/// connection going away).
pub fn unsubscribe_silently(srv: &mut Server, client: &mut Client) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        unsubscribe_all(srv, client, kind, false);
    }
    client.obuf_soft_since_s = 0;
}

/// Delivers a message to the channel's subscribers and to those of the
/// matching patterns; returns how many received it. `caller` is the client
/// running the command (not in `srv.clients` meanwhile), if any.
pub fn publish(srv: &mut Server, mut caller: Option<&mut Client>, channel: &[u8], message: &[u8]) -> usize {
    if srv.pubsub.is_empty() {
        return 0;
    }
    let mut receivers = 0;
    let mut over_limit = Vec::new();
    let limits = srv.config.obuf_limits;
    let Server { pubsub, clients, .. } = srv;
    let mut deliver = |id: u64, write: &dyn Fn(&mut Client)| {
        receivers += 1;
        let is_caller = caller.as_ref().is_some_and(|c| c.id == id);
        let client = match &mut caller {
            Some(c) if c.id == id => &mut **c,
            _ => match clients.get_mut(&id) {
                Some(c) => &mut **c,
                None => return,
            },
        };
        write(client);
        if is_caller {
            return;
        }
        if client.output_limit_reached(&limits, || now_ms() / 1000) {
            over_limit.push(id);
        } else {
            client.wake_for_message();
        }
    };
    if let Some(ids) = pubsub.channels.get(channel) {
        for &id in ids {
            deliver(id, &|c: &mut Client| {
                c.out.push(3);
                c.out.bulk(b"message");
                c.out.bulk(channel);
                c.out.bulk(message);
            });
        }
    }
    for (pattern, ids) in &pubsub.patterns {
        if !glob_match(pattern, channel, false) {
            continue;
        }
        for &id in ids {
            deliver(id, &|c: &mut Client| {
                c.out.push(4);
                c.out.bulk(b"pmessage");
                c.out.bulk(pattern);
                c.out.bulk(channel);
                c.out.bulk(message);
            });
        }
    }
    disconnect_slow(srv, over_limit);
    receivers
}

/// SPUBLISH: shard channels have no patterns.
fn publish_shard(srv: &mut Server, caller: &mut Client, channel: &[u8], message: &[u8]) -> usize {
    let Some(ids) = srv.pubsub.shard.get(channel) else { return 0 };
    let limits = srv.config.obuf_limits;
    let mut over_limit = Vec::new();
    let caller_id = caller.id;
    for &id in ids {
        let client = if id == caller_id {
            &mut *caller
        } else {
            match srv.clients.get_mut(&id) {
                Some(c) => &mut **c,
                None => continue,
            }
        };
        client.out.push(3);
        client.out.bulk(b"smessage");
        client.out.bulk(channel);
        client.out.bulk(message);
        if id == caller_id {
            continue;
        }
        if client.output_limit_reached(&limits, || now_ms() / 1000) {
            over_limit.push(id);
        } else {
            client.wake_for_message();
        }
    }
    let n = ids.len();
    disconnect_slow(srv, over_limit);
    n
}

/// Closes subscribers over their output limit, as Redis does (the caller
/// itself, over its limit, keeps its connection until its reply is read).
fn disconnect_slow(srv: &mut Server, ids: Vec<u64>) {
    for id in ids {
        if let Some(c) = srv.clients.get(&id) {
            tracing::warn!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                c.id,
                c.addr
            );
        }
        if srv.kill_client(id) {
            srv.stats.output_buffer_limit_disconnections += 1;
        }
    }
}

// ---- Commands -------------------------------------------------------------

/// Redis 7.2 refuses SUBSCRIBE & co. only to clients that may not block
/// (scripts); inside MULTI they run at EXEC.
fn subscribe(ctx: &mut Ctx, args: &[Bytes]) {
    subscribe_to(ctx.srv, ctx.client, Kind::Channel, &args[1..]);
}

fn psubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    subscribe_to(ctx.srv, ctx.client, Kind::Pattern, &args[1..]);
}

fn ssubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    subscribe_to(ctx.srv, ctx.client, Kind::Shard, &args[1..]);
}

fn unsubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    unsubscribe_from(ctx.srv, ctx.client, Kind::Channel, &args[1..]);
}

fn punsubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    unsubscribe_from(ctx.srv, ctx.client, Kind::Pattern, &args[1..]);
}

fn sunsubscribe(ctx: &mut Ctx, args: &[Bytes]) {
    unsubscribe_from(ctx.srv, ctx.client, Kind::Shard, &args[1..]);
}

fn publish_cmd(ctx: &mut Ctx, args: &[Bytes]) {
    let n = publish(ctx.srv, Some(&mut *ctx.client), &args[1], &args[2]);
    ctx.out().int(n as i64);
}

fn spublish(ctx: &mut Ctx, args: &[Bytes]) {
    let n = publish_shard(ctx.srv, ctx.client, &args[1], &args[2]);
    ctx.out().int(n as i64);
}

/// Channel names of `map` matching the optional pattern.
fn list_channels(ctx: &mut Ctx, shard: bool, pattern: Option<&Bytes>) {
    let map = if shard { &ctx.srv.pubsub.shard } else { &ctx.srv.pubsub.channels };
    let names: Vec<Bytes> = map.keys().filter(|c| pattern.is_none_or(|p| glob_match(p, c, false))).cloned().collect();
    ctx.out().bulks(names.iter().map(|n| &n[..]));
}

/// Redis's `addReplySubcommandSyntaxError`.
fn subcommand_syntax_error(ctx: &mut Ctx, sub: &[u8]) {
    let sub = String::from_utf8_lossy(sub);
    let msg = format!("ERR unknown subcommand or wrong number of arguments for '{sub}'. Try PUBSUB HELP.");
    ctx.error(&msg);
}

fn pubsub_channels(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        return subcommand_syntax_error(ctx, &args[1]);
    }
    list_channels(ctx, false, args.get(2));
}

fn pubsub_shardchannels(ctx: &mut Ctx, args: &[Bytes]) {
    if args.len() > 3 {
        return subcommand_syntax_error(ctx, &args[1]);
    }
    list_channels(ctx, true, args.get(2));
}

fn count_subscribers(ctx: &mut Ctx, shard: bool, names: &[Bytes]) {
    let counts: Vec<usize> = {
        let map = if shard { &ctx.srv.pubsub.shard } else { &ctx.srv.pubsub.channels };
        names.iter().map(|n| map.get(n).map_or(0, |ids| ids.len())).collect()
    };
    // A flat array even in RESP3, as Redis.
    let out = ctx.out();
    out.array(names.len() * 2);
    for (name, n) in names.iter().zip(counts) {
        out.bulk(name);
        out.int(n as i64);
    }
}

fn pubsub_numsub(ctx: &mut Ctx, args: &[Bytes]) {
    count_subscribers(ctx, false, &args[2..]);
}

fn pubsub_shardnumsub(ctx: &mut Ctx, args: &[Bytes]) {
    count_subscribers(ctx, true, &args[2..]);
}

fn pubsub_numpat(ctx: &mut Ctx, _args: &[Bytes]) {
    let n = ctx.srv.pubsub.patterns.len();
    ctx.out().int(n as i64);
}

fn pubsub_help(ctx: &mut Ctx, args: &[Bytes]) {
    const HELP: &[&str] = &[
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
    ];
    super::introspection::reply_help(ctx, args, HELP);
}

const SUB_FLAGS: u64 = PUBSUB | NOSCRIPT | LOADING | STALE | ALLOWED_SUBSCRIBED;

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "psubscribe",
        -2,
        SUB_FLAGS,
        0,
        NO_KEYS,
        psubscribe,
        "pubsub",
        "2.0.0",
        "O(N) where N is the number of patterns to subscribe to.",
        "Listens for messages published to channels that match one or more patterns."
    )
    .with_args(&[pattern("pattern").multiple()]),
    cmd!(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        0,
        NO_KEYS,
        publish_cmd,
        "pubsub",
        "2.0.0",
        "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
        "Posts a message to a channel."
    )
    .with_args(&[string("channel"), string("message")]),
    CommandDef {
        name: "pubsub",
        arity: -2,
        flags: 0,
        acl: 0,
        keys: NO_KEYS,
        key_specs: &[],
        key_finder: None,
        elements: NO_ELEMENTS,
        handler: None,
        subcommands: &[
            cmd!(
                "channels",
                -2,
                PUBSUB | LOADING | STALE,
                0,
                NO_KEYS,
                pubsub_channels,
                "pubsub",
                "2.8.0",
                "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
                "Returns the active channels."
            )
            .with_args(&[pattern("pattern").optional()]),
            cmd!(
                "help",
                2,
                LOADING | STALE,
                0,
                NO_KEYS,
                pubsub_help,
                "pubsub",
                "6.2.0",
                "O(1)",
                "Returns helpful text about the different subcommands."
            ),
            cmd!(
                "numpat",
                2,
                PUBSUB | LOADING | STALE,
                0,
                NO_KEYS,
                pubsub_numpat,
                "pubsub",
                "2.8.0",
                "O(1)",
                "Returns a count of unique pattern subscriptions."
            ),
            cmd!(
                "numsub",
                -2,
                PUBSUB | LOADING | STALE,
                0,
                NO_KEYS,
                pubsub_numsub,
                "pubsub",
                "2.8.0",
                "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
                "Returns a count of subscribers to channels."
            )
            .with_args(&[string("channel").optional().multiple()]),
            cmd!(
                "shardchannels",
                -2,
                PUBSUB | LOADING | STALE,
                0,
                NO_KEYS,
                pubsub_shardchannels,
                "pubsub",
                "7.0.0",
                "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
                "Returns the active shard channels."
            )
            .with_args(&[pattern("pattern").optional()]),
            cmd!(
                "shardnumsub",
                -2,
                PUBSUB | LOADING | STALE,
                0,
                NO_KEYS,
                pubsub_shardnumsub,
                "pubsub",
                "7.0.0",
                "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
                "Returns the count of subscribers of shard channels."
            )
            .with_args(&[string("shardchannel").optional().multiple()]),
        ],
        docs: NO_DOCS,
        tips: &[],
        group: "pubsub",
        summary: "A container for Pub/Sub commands.",
        since: "2.8.0",
        complexity: "Depends on subcommand.",
    },
    cmd!(
        "punsubscribe",
        -1,
        SUB_FLAGS,
        0,
        NO_KEYS,
        punsubscribe,
        "pubsub",
        "2.0.0",
        "O(N) where N is the number of patterns to unsubscribe.",
        "Stops listening to messages published to channels that match one or more patterns."
    )
    .with_args(&[pattern("pattern").optional().multiple()]),
    cmd!(
        "spublish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE,
        0,
        keys(1, 1, 1),
        spublish,
        "pubsub",
        "7.0.0",
        "O(N) where N is the number of clients subscribed to the receiving shard channel.",
        "Post a message to a shard channel"
    )
    .with_args(&[string("shardchannel"), string("message")]),
    cmd!(
        "ssubscribe",
        -2,
        SUB_FLAGS,
        0,
        keys(1, -1, 1),
        ssubscribe,
        "pubsub",
        "7.0.0",
        "O(N) where N is the number of shard channels to subscribe to.",
        "Listens for messages published to shard channels."
    )
    .with_args(&[string("shardchannel").multiple()]),
    cmd!(
        "subscribe",
        -2,
        SUB_FLAGS,
        0,
        NO_KEYS,
        subscribe,
        "pubsub",
        "2.0.0",
        "O(N) where N is the number of channels to subscribe to.",
        "Listens for messages published to channels."
    )
    .with_args(&[string("channel").multiple()]),
    cmd!(
        "sunsubscribe",
        -1,
        SUB_FLAGS,
        0,
        keys(1, -1, 1),
        sunsubscribe,
        "pubsub",
        "7.0.0",
        "O(N) where N is the number of shard channels to unsubscribe.",
        "Stops listening to messages posted to shard channels."
    )
    .with_args(&[string("shardchannel").optional().multiple()]),
    cmd!(
        "unsubscribe",
        -1,
        SUB_FLAGS,
        0,
        NO_KEYS,
        unsubscribe,
        "pubsub",
        "2.0.0",
        "O(N) where N is the number of channels to unsubscribe.",
        "Stops listening to messages posted to channels."
    )
    .with_args(&[string("channel").optional().multiple()]),
];
