//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Between MULTI and EXEC the executor queues commands instead of running
//! them (see `executor::process_command`); a command rejected while
//! queueing (unknown, wrong arity...) makes EXEC fail with EXECABORT.
//! WATCHed keys are tracked through `Db::interest`: any change to one
//! flags its watchers, whose EXEC then returns nil.

use bytes::Bytes;

use super::docs::*;
use super::{flags::*, keys, CommandDef, Ctx, NO_KEYS};
use super::{key_spec, BeginSearch, FindKeys};
use crate::cmd;
use crate::db::Key;
use crate::executor::{call, Resolved, Server};
use crate::server::client::Client;

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NOT_QUEUED,
        super::acl::TRANSACTION,
        NO_KEYS,
        multi,
        "transactions",
        "1.2.0",
        "O(1)",
        "Starts a transaction."
    ),
    cmd!(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG | NOT_QUEUED,
        super::acl::TRANSACTION,
        NO_KEYS,
        exec,
        "transactions",
        "1.2.0",
        "Depends on commands in the transaction",
        "Executes all commands in a transaction."
    ),
    cmd!(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NOT_QUEUED,
        super::acl::TRANSACTION,
        NO_KEYS,
        discard,
        "transactions",
        "2.0.0",
        "O(N), when N is the number of queued commands",
        "Discards a transaction."
    ),
    cmd!(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY | NOT_QUEUED,
        super::acl::TRANSACTION,
        keys(1, -1, 1),
        watch,
        "transactions",
        "2.2.0",
        "O(1) for every key.",
        "Monitors changes to keys to determine the execution of a transaction."
    )
    .with_args(&[key("key", 0).multiple()])
    .with_key_specs(&[key_spec(
        &["RO"],
        BeginSearch::Index(1),
        FindKeys::Range { lastkey: -1, step: 1, limit: 0 },
    )]),
    cmd!(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        super::acl::TRANSACTION,
        NO_KEYS,
        unwatch,
        "transactions",
        "2.2.0",
        "O(1)",
        "Forgets about watched keys of a transaction."
    ),
];

/// A client's transaction state.
#[derive(Default)]
pub struct TxState {
    /// Commands queued since MULTI; None outside a transaction.
    pub queued: Option<Vec<(Resolved, Vec<Bytes>)>>,
    /// A command was rejected while queueing: EXEC aborts. Holds the error
    /// text when Redis reports it in EXECABORT ("because of: ...").
    pub abort: Option<Option<String>>,
    /// A watched key changed: EXEC returns nil.
    pub dirty_cas: bool,
    /// Keys this client WATCHes.
    pub watched: Vec<(usize, Key)>,
    /// EXEC is running the queue (blocking commands must not block).
    pub executing: bool,
}

impl TxState {
    pub fn in_multi(&self) -> bool {
        self.queued.is_some()
    }
}

/// Marks the transaction as failed after a command was rejected while
/// queueing (Redis's flagTransaction).
pub fn flag_abort(client: &mut Client, reason: Option<String>) {
    if client.tx.in_multi() && client.tx.abort.is_none() {
        client.tx.abort = Some(reason);
    }
}

fn multi(ctx: &mut Ctx, _args: &[Bytes]) {
    if ctx.client.tx.in_multi() {
        return ctx.error("ERR MULTI calls can not be nested");
    }
    ctx.client.tx.queued = Some(Vec::new());
    ctx.ok();
}

fn discard(ctx: &mut Ctx, _args: &[Bytes]) {
    if !ctx.client.tx.in_multi() {
        return ctx.error("ERR DISCARD without MULTI");
    }
    reset(ctx.srv, ctx.client);
    ctx.ok();
}

/// Leaves the transaction and forgets watched keys (DISCARD, EXEC, RESET).
pub fn reset(srv: &mut Server, client: &mut Client) {
    client.tx.queued = None;
    client.tx.abort = None;
    unwatch_all(srv, client);
}

pub fn unwatch_all(srv: &mut Server, client: &mut Client) {
    for slot in std::mem::take(&mut client.tx.watched) {
        if let Some(ids) = srv.watchers.get_mut(&slot) {
            ids.retain(|&id| id != client.id);
            if ids.is_empty() {
                srv.watchers.remove(&slot);
                srv.drop_interest(slot.0, &slot.1);
            }
        }
    }
    client.tx.dirty_cas = false;
}

fn watch(ctx: &mut Ctx, args: &[Bytes]) {
    if ctx.client.tx.in_multi() {
        return ctx.error("ERR WATCH inside MULTI is not allowed");
    }
    let db = ctx.client.db;
    for k in &args[1..] {
        let slot = (db, Key::from(&k[..]));
        if ctx.client.tx.watched.contains(&slot) {
            continue;
        }
        ctx.srv.watchers.entry(slot.clone()).or_default().push(ctx.client.id);
        ctx.srv.dbs[db].interest.insert(slot.1.clone());
        ctx.client.tx.watched.push(slot);
    }
    ctx.ok();
}

fn unwatch(ctx: &mut Ctx, _args: &[Bytes]) {
    unwatch_all(ctx.srv, ctx.client);
    ctx.ok();
}

/// True when a watched key has expired since WATCH without anyone having
/// deleted it yet: Redis counts that as a change too.
fn watched_key_expired(srv: &Server, client: &Client) -> bool {
    let now = crate::util::now_ms();
    client.tx.watched.iter().any(|(db, k)| srv.dbs[*db].expired_at(k, now))
}

fn exec(ctx: &mut Ctx, _args: &[Bytes]) {
    let Some(queued) = ctx.client.tx.queued.take() else {
        return ctx.error("ERR EXEC without MULTI");
    };
    if let Some(reason) = ctx.client.tx.abort.take() {
        reset(ctx.srv, ctx.client);
        return match reason {
            Some(r) => ctx.error(&format!("EXECABORT Transaction discarded because of: {r}")),
            None => ctx.error("EXECABORT Transaction discarded because of previous errors."),
        };
    }
    if ctx.client.tx.dirty_cas || watched_key_expired(ctx.srv, ctx.client) {
        reset(ctx.srv, ctx.client);
        return ctx.out().null_array();
    }
    unwatch_all(ctx.srv, ctx.client);
    ctx.out().array(queued.len());
    // Writes of the transaction reach replicas and the AOF as one
    // MULTI ... EXEC block, as Redis propagates them.
    ctx.srv.begin_atomic_writes();
    ctx.client.tx.executing = true;
    for (cmd, argv) in &queued {
        call(ctx.srv, ctx.client, *cmd, argv);
    }
    ctx.client.tx.executing = false;
    ctx.srv.end_atomic_writes();
    // The block above is what propagates, not EXEC itself.
    ctx.propagate_as = Some(Vec::new());
}
