//! Keyspace notifications, as Redis's `notify.c`: a change to a key is
//! published as `__keyspace@<db>__:<key>` → event and
//! `__keyevent@<db>__:<event>` → key, for the classes
//! `notify-keyspace-events` selects.

use super::{Ctx, Server};
use crate::commands::pubsub;
use crate::server::client::Client;

/// Redis's NOTIFY_* event classes (the `notify-keyspace-events` letters).
pub mod class {
    pub const KEYSPACE: u32 = 1 << 0; // K
    pub const KEYEVENT: u32 = 1 << 1; // E
    pub const GENERIC: u32 = 1 << 2; // g
    pub const STRING: u32 = 1 << 3; // $
    pub const LIST: u32 = 1 << 4; // l
    pub const SET: u32 = 1 << 5; // s
    pub const HASH: u32 = 1 << 6; // h
    pub const ZSET: u32 = 1 << 7; // z
    pub const EXPIRED: u32 = 1 << 8; // x
    pub const EVICTED: u32 = 1 << 9; // e
    pub const STREAM: u32 = 1 << 10; // t
    pub const KEY_MISS: u32 = 1 << 11; // m
    pub const NEW: u32 = 1 << 14; // n
}

impl Server {
    /// Redis's `notifyKeyspaceEvent`. `caller` is the client whose command
    /// raised the event (it is not in `clients` meanwhile), when there is
    /// one: it receives the message too if it subscribed.
    pub fn notify(&mut self, caller: Option<&mut Client>, class: u32, event: &str, key: &[u8], db: usize) {
        // Nobody listens: skip even reading the configuration (hot path).
        if self.pubsub.is_empty() {
            return;
        }
        let flags = self.config.notify_keyspace_events();
        if flags & class == 0 {
            return;
        }
        let mut caller = caller;
        if flags & class::KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{db}__:").into_bytes();
            channel.extend_from_slice(key);
            pubsub::publish(self, caller.as_deref_mut(), &channel, event.as_bytes());
        }
        if flags & class::KEYEVENT != 0 {
            let channel = format!("__keyevent@{db}__:{event}");
            pubsub::publish(self, caller, channel.as_bytes(), key);
        }
    }
}

impl Server {
    /// Raises the `new` events of the keys created in `db` since the last
    /// call (Redis raises them in `dbAdd`, before the command's own event).
    pub fn notify_created(&mut self, mut caller: Option<&mut Client>, db: usize) {
        if self.dbs[db].created.is_empty() {
            return;
        }
        for key in std::mem::take(&mut self.dbs[db].created) {
            self.notify(caller.as_deref_mut(), class::NEW, "new", &key, db);
        }
    }

    /// Records created keys only while someone subscribes: nothing else
    /// can see the `new` events.
    pub fn track_created_keys(&mut self) {
        let on = !self.pubsub.is_empty();
        for db in &mut self.dbs {
            db.track_created = on;
            if !on {
                db.created.clear();
            }
        }
    }
}

impl Ctx<'_> {
    /// Raises a keyspace event on `key` in the client's database.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        self.notify_in(self.client.db, class, event, key);
    }

    /// Raises a keyspace event on `key` in database `db` (MOVE, COPY).
    pub fn notify_in(&mut self, db: usize, class: u32, event: &str, key: &[u8]) {
        // Keys found expired by this command come first, as in Redis where
        // the lookup that expires them raises `expired` at once.
        if !self.srv.dbs[self.client.db].expired.is_empty() || !self.srv.dbs[db].expired.is_empty() {
            self.srv.propagate_expired_for(Some(&mut *self.client));
        }
        // So are the keys created (MOVE and COPY create them in another db).
        if !self.srv.pubsub.is_empty() {
            for d in 0..self.srv.dbs.len() {
                self.srv.notify_created(Some(&mut *self.client), d);
            }
        }
        self.srv.notify(Some(&mut *self.client), class, event, key, db);
    }
}
