//! The keyspace: one `Db` per logical database, each a dict of keys to
//! objects, with expiry times kept inline and a set of volatile keys for
//! the active expire cycle.

pub mod expire;
pub mod value;

pub use value::{Obj, Value};

use crate::types::dict::Dict;
use crate::util::now_ms;

/// Keys are binary-safe, owned and exactly sized.
pub type Key = Box<[u8]>;

pub struct Db {
    pub id: usize,
    pub dict: Dict<Key, Obj>,
    /// Keys that have an expire time (the time itself lives in the object).
    pub volatile: Dict<Key, ()>,
    /// Keys removed by lazy or active expiry since the executor last looked:
    /// it propagates a DEL for each (replicas and the AOF never expire keys
    /// on their own).
    pub expired: Vec<Key>,
    /// Cursor of the active expire cycle into `volatile`.
    pub expire_cursor: u64,
    pub avg_ttl: i64,
}

impl Db {
    pub fn new(id: usize) -> Self {
        Db { id, dict: Dict::new(), volatile: Dict::new(), expired: Vec::new(), expire_cursor: 0, avg_ttl: 0 }
    }

    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// Removes `key` if its time has passed; true if it did.
    fn expire_if_needed(&mut self, key: &[u8], now: i64) -> bool {
        match self.dict.get(key) {
            Some(o) if o.expire_at != 0 && o.expire_at <= now => {
                self.remove(key);
                self.expired.push(key.into());
                true
            }
            _ => false,
        }
    }

    /// Looks a key up for reading; an expired key is deleted and not found.
    pub fn get(&mut self, key: &[u8]) -> Option<&Obj> {
        self.get_mut(key).map(|o| &*o)
    }

    /// Looks a key up for modification; an expired key is deleted first.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Obj> {
        let o = self.dict.get(key)?;
        if o.expire_at != 0 && o.expire_at <= now_ms() {
            self.expire_if_needed(key, now_ms());
            return None;
        }
        self.dict.get_mut(key)
    }

    /// Whether the key exists, without counting as an access.
    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Sets a key to a new object, dropping any previous value and expire
    /// (as SET without KEEPTTL does). Returns the old object.
    pub fn set(&mut self, key: &[u8], obj: Obj) -> Option<Obj> {
        self.expire_if_needed(key, now_ms());
        let expire = obj.expire_at;
        let old = match self.dict.get_mut(key) {
            Some(slot) => Some(std::mem::replace(slot, obj)),
            None => {
                self.dict.insert_new(key.into(), obj);
                None
            }
        };
        let was_volatile = old.as_ref().is_some_and(|o| o.expire_at != 0);
        match (was_volatile, expire != 0) {
            (false, true) => self.volatile.insert_new(key.into(), ()),
            (true, false) => {
                self.volatile.remove(key);
            }
            _ => {}
        }
        old
    }

    /// Deletes a key; returns its object if it existed (expired keys count
    /// as absent).
    pub fn del(&mut self, key: &[u8]) -> Option<Obj> {
        if self.expire_if_needed(key, now_ms()) {
            return None;
        }
        self.remove(key)
    }

    fn remove(&mut self, key: &[u8]) -> Option<Obj> {
        let o = self.dict.remove(key)?;
        if o.expire_at != 0 {
            self.volatile.remove(key);
        }
        Some(o)
    }

    /// Sets or clears (0) the expire time of an existing key.
    pub fn set_expire(&mut self, key: &[u8], at: i64) -> bool {
        let Some(o) = self.get_mut(key) else { return false };
        let had = o.expire_at != 0;
        o.expire_at = at;
        match (had, at != 0) {
            (false, true) => self.volatile.insert_new(key.into(), ()),
            (true, false) => {
                self.volatile.remove(key);
            }
            _ => {}
        }
        true
    }

    pub fn clear(&mut self) {
        self.dict.clear();
        self.volatile.clear();
    }

    /// One pass of the active expire cycle over up to `budget` sampled
    /// volatile keys. Returns (sampled, expired).
    pub fn active_expire(&mut self, budget: usize, now: i64) -> (usize, usize) {
        let mut sampled = 0;
        let mut due: Vec<Key> = Vec::new();
        let mut ttl_sum = 0i64;
        let mut ttl_n = 0i64;
        while sampled < budget && !self.volatile.is_empty() {
            let dict = &self.dict;
            self.expire_cursor = self.volatile.scan(self.expire_cursor, |k, _| {
                sampled += 1;
                if let Some(o) = dict.get(k) {
                    if o.expire_at <= now {
                        due.push(k.clone());
                    } else {
                        ttl_sum += o.expire_at - now;
                        ttl_n += 1;
                    }
                }
            });
            if self.expire_cursor == 0 {
                break;
            }
        }
        if ttl_n > 0 {
            let avg = ttl_sum / ttl_n;
            // Running average as Redis keeps it: mostly the previous value.
            self.avg_ttl = if self.avg_ttl == 0 { avg } else { (self.avg_ttl / 50) * 49 + avg / 50 };
        }
        let n = due.len();
        for k in due {
            self.remove(&k);
            self.expired.push(k);
        }
        (sampled, n)
    }
}
