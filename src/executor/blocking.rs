//! Blocking commands (BLPOP, BLMOVE, BZPOPMIN, XREAD BLOCK...), as Redis 7
//! runs them: a command that finds nothing to serve registers its client
//! on its keys and returns without a reply. When a write touches one of
//! those keys, the waiting clients are run again, oldest first, each
//! taking what it can; one that still finds nothing keeps waiting. The
//! connection task holds the client's later requests meanwhile and ends
//! the wait at the deadline.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Rc;

use bytes::Bytes;
use tokio::sync::Notify;

use super::{call, Ctx, Resolved, Server};
use crate::db::Key;
use crate::server::client::{Client, Outlet};
use crate::util::now_ms;

/// What a blocked client waits for.
pub struct Blocked {
    pub db: usize,
    pub keys: Vec<Key>,
    /// Absolute deadline in ms; 0 waits forever.
    pub deadline_ms: i64,
    /// The command to run again when a key is ready.
    pub cmd: Resolved,
    pub argv: Vec<Bytes>,
}

/// The executor's side of blocking: who waits on which key, and which
/// keys got data since the last look.
#[derive(Default)]
pub struct Waiters {
    /// Clients waiting on each (db, key), oldest first.
    pub by_key: HashMap<(usize, Key), VecDeque<u64>>,
    /// Keys touched while someone waited on them, to serve in order.
    ready: VecDeque<(usize, Key)>,
    /// Number of blocked clients (INFO blocked_clients).
    pub clients: usize,
    /// (deadline ms, client id) of the waits that can time out.
    deadlines: BTreeSet<(i64, u64)>,
    /// Wakes the deadline watcher when an earlier deadline appears.
    pub deadline_notify: Rc<Notify>,
    /// Clients on I/O threads whose wait ended: their later requests run
    /// and their output is sent at the next safe point.
    resume_remote: Vec<u64>,
}

impl Waiters {
    /// The earliest deadline of a waiting client.
    pub fn next_deadline(&self) -> Option<i64> {
        self.deadlines.first().map(|&(t, _)| t)
    }
}

/// Parses a blocking timeout in seconds (decimals allowed) into an absolute
/// deadline in ms, 0 meaning forever, with Redis 7.2's errors.
pub fn parse_timeout(ctx: &mut Ctx, arg: &[u8]) -> Option<i64> {
    let Some(secs) = crate::util::parse_f64(arg) else {
        ctx.error("ERR timeout is not a float or out of range");
        return None;
    };
    let ms = (secs * 1000.0).ceil();
    if ms < 0.0 {
        ctx.error("ERR timeout is negative");
        return None;
    }
    let now = now_ms();
    if ms >= (i64::MAX - now) as f64 {
        ctx.error("ERR timeout is out of range");
        return None;
    }
    Some(if ms == 0.0 { 0 } else { now + ms as i64 })
}

impl Ctx<'_> {
    /// Whether this command may block: not inside MULTI/EXEC or a script,
    /// where blocking commands answer as if they timed out.
    pub fn can_block(&self) -> bool {
        !self.client.tx.executing && !self.client.no_block
    }

    /// Makes the client wait on `keys` until one of them gets data or the
    /// deadline passes; the command then runs again (so it must not reply
    /// now). Called again by that re-run when there is still nothing to
    /// take, it leaves the client waiting in its place.
    pub fn block(&mut self, args: &[Bytes], keys: &[&[u8]], deadline_ms: i64) {
        if self.client.blocked.is_some() {
            self.client.still_blocked = true;
            return;
        }
        let db = self.client.db;
        let keys: Vec<Key> = keys.iter().map(|k| Key::from(*k)).collect();
        for k in &keys {
            let q = self.srv.waiters.by_key.entry((db, k.clone())).or_default();
            if !q.contains(&self.client.id) {
                q.push_back(self.client.id);
            }
            self.srv.dbs[db].interest.insert(k.clone());
        }
        self.srv.waiters.clients += 1;
        if deadline_ms > 0 {
            let w = &mut self.srv.waiters;
            if w.next_deadline().is_none_or(|t| deadline_ms < t) {
                w.deadline_notify.notify_one();
            }
            w.deadlines.insert((deadline_ms, self.client.id));
        }
        let cmd = Resolved { top: crate::commands::table().lookup(&args[0]).unwrap_or(self.cmd), def: self.cmd };
        self.client.blocked = Some(Blocked { db, keys, deadline_ms, cmd, argv: args.to_vec() });
    }
}

impl Server {
    /// Removes a client from every wait queue (served, timed out, unblocked
    /// or disconnected).
    pub fn forget_blocked(&mut self, client: &mut Client) {
        let Some(b) = client.blocked.take() else { return };
        self.waiters.clients -= 1;
        self.waiters.deadlines.remove(&(b.deadline_ms, client.id));
        for k in b.keys {
            let slot = (b.db, k);
            if let Some(q) = self.waiters.by_key.get_mut(&slot) {
                q.retain(|&id| id != client.id);
                if q.is_empty() {
                    self.waiters.by_key.remove(&slot);
                    self.drop_interest(slot.0, &slot.1);
                }
            }
        }
    }

    /// Stops tracking changes to a key nobody waits on or watches any more.
    pub fn drop_interest(&mut self, db: usize, key: &[u8]) {
        let slot = (db, Key::from(key));
        if !self.waiters.by_key.contains_key(&slot) && !self.watchers.contains_key(&slot) {
            self.dbs[db].interest.remove(key);
        }
    }

    /// Takes the keys touched by the last command: invalidates the WATCHes
    /// on them and queues them for the clients waiting on them. Returns the
    /// ids of watchers that are not in the client table (the clients whose
    /// commands are running), for the caller to flag.
    #[must_use]
    pub fn handle_touched(&mut self) -> Vec<u64> {
        let mut running = Vec::new();
        for db in 0..self.dbs.len() {
            if self.dbs[db].touched.is_empty() {
                continue;
            }
            let touched = std::mem::take(&mut self.dbs[db].touched);
            for key in touched {
                let slot = (db, key);
                if let Some(ids) = self.watchers.get(&slot) {
                    for &id in ids {
                        match self.clients.get_mut(&id) {
                            Some(c) => c.tx.dirty_cas = true,
                            None => running.push(id),
                        }
                    }
                }
                if self.waiters.by_key.contains_key(&slot) && !self.waiters.ready.contains(&slot) {
                    self.waiters.ready.push_back(slot);
                }
            }
        }
        running
    }

    /// Runs the waiting clients of every ready key again, oldest first, and
    /// wakes those that got their reply. Returns the ids of running clients
    /// whose WATCH the served commands invalidated (see `handle_touched`).
    #[must_use]
    pub fn serve_ready(&mut self) -> Vec<u64> {
        let mut running = Vec::new();
        while let Some(slot) = self.waiters.ready.pop_front() {
            let Some(queue) = self.waiters.by_key.get(&slot) else { continue };
            for id in queue.clone() {
                let Some(mut client) = self.clients.remove(&id) else { continue };
                let Some((cmd, argv)) = client.blocked.as_ref().map(|b| (b.cmd, b.argv.clone())) else {
                    self.clients.insert(id, client);
                    continue;
                };
                client.still_blocked = false;
                let reply_start = client.out.buf.len();
                call(self, &mut client, cmd, &argv);
                if client.still_blocked {
                    client.out.buf.truncate(reply_start);
                } else {
                    self.forget_blocked(&mut client);
                    self.resume_client(&client);
                }
                for w in self.handle_touched() {
                    if w == id {
                        client.tx.dirty_cas = true;
                    } else {
                        running.push(w);
                    }
                }
                self.clients.insert(id, client);
            }
        }
        running
    }

    /// Ends a wait without data: the reply of a timeout (`*-1`, or `_` in
    /// RESP3) or the given error (CLIENT UNBLOCK ERROR). False if the client
    /// was not blocked.
    pub fn unblock(&mut self, client: &mut Client, error: Option<&str>) -> bool {
        if client.blocked.is_none() {
            return false;
        }
        self.forget_blocked(client);
        match error {
            Some(e) => client.out.error(e),
            None => client.out.null_array(),
        }
        self.resume_client(client);
        true
    }

    /// A wait ended: the client's later requests may run and its output go
    /// out. A connection task on this thread is woken and does it; a client
    /// on an I/O thread is resumed by `resume_remote_clients`.
    fn resume_client(&mut self, client: &Client) {
        match &client.outlet {
            Outlet::Local(notify) => notify.notify_one(),
            Outlet::Remote(_) => self.waiters.resume_remote.push(client.id),
        }
    }

    /// Runs the requests held behind ended waits of I/O-thread clients and
    /// sends their output (outside any command, so nothing nests).
    pub fn resume_remote_clients(&mut self) {
        for id in std::mem::take(&mut self.waiters.resume_remote) {
            let Some(mut client) = self.clients.remove(&id) else { continue };
            self.start_batch();
            if super::run_held(self, &mut client) {
                client.send_done(self.conn_settings());
            }
            self.start_batch();
            self.clients.insert(id, client);
        }
    }

    /// Ends the waits whose deadline passed by `now`.
    pub fn time_out_blocked(&mut self, now: i64) {
        while let Some(&(t, id)) = self.waiters.deadlines.first() {
            if t > now {
                break;
            }
            self.waiters.deadlines.remove(&(t, id));
            let Some(mut client) = self.clients.remove(&id) else { continue };
            self.unblock(&mut client, None);
            self.clients.insert(id, client);
        }
        self.resume_remote_clients();
    }
}
