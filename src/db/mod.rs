//! The keyspace: one `Db` per logical database, each a dict of keys to
//! objects and, as Redis's `expires`, a dict of the keys that have an
//! expire time to that time. Keeping the times apart makes every entry of
//! the keyspace 8 bytes smaller; a key with an expire costs one more
//! lookup, and only while the db has such keys.
//!
//! Expire times are changed through `Db` only (`set_with_expire`, `add`,
//! `set_expire`), which keeps the two dicts' keys in step.

pub mod evict;
pub mod expire;
pub mod key;
pub mod value;

pub use key::Key;
pub use value::{Obj, Value};

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

use crate::types::dict::Dict;
use crate::util::now_ms;

// What a key lookup needs besides the db itself, kept in globals as Redis
// keeps them in `server`: the cached LRU clock (refreshed every cron tick,
// like `server.lruclock`), the LFU settings, and whether the running
// command must leave access times alone (CLIENT NO-TOUCH). Only the
// executor thread runs commands, so relaxed atomics are plain loads.
static LRU_CLOCK: AtomicU32 = AtomicU32::new(0);
static LFU: AtomicBool = AtomicBool::new(false);
static LFU_LOG_FACTOR: AtomicU32 = AtomicU32::new(10);
static LFU_DECAY_TIME: AtomicU32 = AtomicU32::new(1);
static NO_TOUCH: AtomicBool = AtomicBool::new(false);
/// Epoch of the latest snapshot (BGSAVE): see `Obj::snap`.
static SNAPSHOT_EPOCH: AtomicU32 = AtomicU32::new(0);
/// Set when one of a server's dbs queues a key in `expired` or `created`
/// (the dbs share it), so that the executor looks through every db's
/// queues only after a command that queued something.
pub type QueuedFlag = std::sync::Arc<AtomicBool>;

/// Largest value of the 24-bit LRU clock.
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// Counter a new object starts with under LFU, so it is not evicted at once.
pub const LFU_INIT_VAL: u32 = 5;

/// Re-reads the clock and the eviction policy settings lookups depend on.
/// Called by the cron every tick (and by OBJECT, which reports them).
pub fn refresh_access(config: &crate::config::Config) {
    LRU_CLOCK.store(value::lru_clock(), Relaxed);
    let policy = config.get("maxmemory-policy").unwrap_or("noeviction");
    LFU.store(policy.ends_with("-lfu"), Relaxed);
    let num = |name: &str, default: u32| config.get(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    LFU_LOG_FACTOR.store(num("lfu-log-factor", 10), Relaxed);
    LFU_DECAY_TIME.store(num("lfu-decay-time", 1), Relaxed);
    evict::configure(config);
}

/// CLIENT NO-TOUCH for the command about to run: lookups then leave the
/// access time of keys alone (TOUCH still touches).
pub fn set_no_touch(on: bool) {
    NO_TOUCH.store(on, Relaxed);
}

/// Whether access frequency (LFU) rather than recency (LRU) is tracked.
pub fn lfu_enabled() -> bool {
    LFU.load(Relaxed)
}

/// The cached LRU clock (what new objects are stamped with): no clock
/// read per write.
pub fn lru_clock() -> u32 {
    // Zero until the first cron tick.
    match LRU_CLOCK.load(Relaxed) {
        0 => value::lru_clock(),
        c => c,
    }
}

/// The epoch new objects are stamped with (that of the latest snapshot).
pub fn snapshot_epoch() -> u32 {
    SNAPSHOT_EPOCH.load(Relaxed)
}

/// Starts a new snapshot epoch and returns it: every object existing now
/// carries an older one.
pub fn next_snapshot_epoch() -> u32 {
    SNAPSHOT_EPOCH.fetch_add(1, Relaxed).wrapping_add(1)
}

/// Seconds since the key was last accessed, as Redis's
/// `estimateObjectIdleTime` computes it on the wrapping 24-bit clock.
pub fn idle_seconds(o: &Obj) -> u64 {
    let (now, lru) = (lru_clock(), o.lru & LRU_CLOCK_MAX);
    if now >= lru {
        (now - lru) as u64
    } else {
        (now + (LRU_CLOCK_MAX - lru)) as u64
    }
}

/// Minutes clock of the LFU data (16 bits, wrapping).
fn lfu_minutes() -> u32 {
    ((now_ms() / 60_000) & 0xFFFF) as u32
}

/// The LFU counter of `o` after decaying it by the time since its last
/// access (Redis's `LFUDecrAndReturn`); the object is not changed.
pub fn lfu_counter(o: &Obj) -> u32 {
    lfu_decayed(o.lru, lfu_minutes(), LFU_DECAY_TIME.load(Relaxed))
}

/// The counter of LFU data `lru` (16-bit minutes, 8-bit counter) at minute
/// `now`: one less per `decay_time` minutes elapsed (none if 0).
pub fn lfu_decayed(lru: u32, now: u32, decay_time: u32) -> u32 {
    let last = (lru >> 8) & 0xFFFF;
    let counter = lru & 0xFF;
    let elapsed = if now >= last { now - last } else { 0xFFFF - last + now };
    let periods = elapsed.checked_div(decay_time).unwrap_or(0);
    counter.saturating_sub(periods)
}

/// Redis's `LFULogIncr` with `r` the random draw in [0, 1): the more hits
/// a key has, the less likely the next one counts; 255 is the ceiling.
pub fn lfu_log_incr(counter: u32, log_factor: u32, r: f64) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    counter + (r < p) as u32
}

/// Records an access under LFU: decay, then a logarithmic increment.
fn lfu_touch(o: &mut Obj) {
    let counter = lfu_log_incr(lfu_counter(o), LFU_LOG_FACTOR.load(Relaxed), rand::random::<f64>());
    o.lru = (lfu_minutes() << 8) | counter;
}

fn lfu_init() -> u32 {
    (lfu_minutes() << 8) | LFU_INIT_VAL
}

fn touch(o: &mut Obj) {
    if lfu_enabled() {
        lfu_touch(o);
    } else {
        o.lru = lru_clock();
    }
}

/// Whether an expire time `at` is past at `now`: a key lives through its
/// expire millisecond.
#[inline]
fn expired(at: i64, now: i64) -> bool {
    now > at
}

pub struct Db {
    pub id: usize,
    pub dict: Dict<Key, Obj>,
    /// The keys that have an expire time, to that time (Unix ms).
    pub volatile: Dict<Key, i64>,
    /// Keys removed by lazy or active expiry since the executor last looked:
    /// it propagates a DEL for each (replicas and the AOF never expire keys
    /// on their own).
    pub expired: Vec<Key>,
    /// Cursor of the active expire cycle into `volatile`.
    pub expire_cursor: u64,
    /// Running average of the TTL of sampled keys (INFO keyspace avg_ttl).
    pub avg_ttl: i64,
    /// Scratch list of the active expire cycle, kept for its capacity.
    due: Vec<Key>,
    /// Keys some client WATCHes or blocks on, kept by the executor: a
    /// change to one of them is queued in `touched` for it to act on.
    pub interest: std::collections::HashSet<Key>,
    pub touched: Vec<Key>,
    /// Keys created since the executor last looked (the keyspace `new`
    /// events), recorded only while `track_created` (someone subscribes).
    pub created: Vec<Key>,
    pub track_created: bool,
    queued: QueuedFlag,
}

impl Db {
    /// A db of its own (files read apart, tests).
    pub fn new(id: usize) -> Self {
        Db::sharing(id, &QueuedFlag::default())
    }

    /// A db of a server, raising the server's `queued` flag.
    pub fn sharing(id: usize, queued: &QueuedFlag) -> Self {
        Db {
            id,
            dict: Dict::new(),
            volatile: Dict::new(),
            expired: Vec::new(),
            expire_cursor: 0,
            avg_ttl: 0,
            due: Vec::new(),
            interest: Default::default(),
            touched: Vec::new(),
            created: Vec::new(),
            track_created: false,
            queued: queued.clone(),
        }
    }

    pub fn len(&self) -> usize {
        self.dict.len()
    }

    pub fn is_empty(&self) -> bool {
        self.dict.is_empty()
    }

    /// Finds a live key with one hash lookup; an expired key is deleted
    /// (and queued for a propagated DEL) and reported missing.
    #[inline]
    fn lookup(&mut self, key: &[u8], access: bool) -> Option<&mut Obj> {
        let found: *mut Obj = self.dict.get_mut(key)?;
        // SAFETY: `found` points into `self.dict`, which nothing else
        // touches until the reference is either returned (keeping `self`
        // borrowed for its whole life) or, for an expired key, dropped
        // unused before `expire_key` mutates the dict. Returning a borrow
        // on one path and mutating on the other is sound but rejected by
        // the current borrow checker; the safe form costs a second hash
        // lookup on every read.
        let obj = unsafe { &mut *found };
        if !self.is_expired(key) {
            if access {
                touch(obj);
            }
            return Some(obj);
        }
        self.expire_key(key);
        None
    }

    /// Looks a key up for reading (an access: updates its LRU/LFU data).
    /// An expired key is deleted and not found.
    #[inline]
    pub fn get(&mut self, key: &[u8]) -> Option<&Obj> {
        let access = !NO_TOUCH.load(Relaxed);
        self.lookup(key, access).map(|o| &*o)
    }

    /// Looks a key up for modification; an expired key is deleted first.
    #[inline]
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Obj> {
        if !self.interest.is_empty() && self.interest.contains(key) && self.lookup(key, false).is_some() {
            self.touched.push(key.into());
        }
        let access = !NO_TOUCH.load(Relaxed);
        self.lookup(key, access)
    }

    fn queue_expired(&mut self, key: Key) {
        self.expired.push(key);
        self.queued.store(true, Relaxed);
    }

    fn queue_created(&mut self, key: &[u8]) {
        self.created.push(key.into());
        self.queued.store(true, Relaxed);
    }

    /// Queues `key` in `touched` if a client watches or waits on it.
    #[inline]
    fn note_change(&mut self, key: &[u8]) {
        if !self.interest.is_empty() && self.interest.contains(key) {
            self.touched.push(key.into());
        }
    }

    /// Looks a key up without counting as an access (TYPE, TTL, EXISTS,
    /// OBJECT); expired keys are still deleted.
    pub fn peek(&mut self, key: &[u8]) -> Option<&Obj> {
        self.lookup(key, false).map(|o| &*o)
    }

    /// Records an access even under CLIENT NO-TOUCH (the TOUCH command).
    /// Returns whether the key exists.
    pub fn touch(&mut self, key: &[u8]) -> bool {
        self.lookup(key, true).is_some()
    }

    /// Whether the key exists, without counting as an access.
    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.peek(key).is_some()
    }

    /// Redis's `keyIsExpired`: a key lives through its expire millisecond.
    /// The clock is only read for keys that have an expire.
    #[inline]
    fn is_expired(&self, key: &[u8]) -> bool {
        !self.volatile.is_empty() && self.volatile.get(key).is_some_and(|&at| expired(at, now_ms()))
    }

    /// Whether `key` has an expire time that is past at `now` (for walks
    /// over many keys that read the clock once).
    #[inline]
    pub fn expired_at(&self, key: &[u8], now: i64) -> bool {
        !self.volatile.is_empty() && self.volatile.get(key).is_some_and(|&at| expired(at, now))
    }

    /// The expire time of `key` in Unix ms, 0 when it has none (expired or
    /// not: look the key up first).
    #[inline]
    pub fn expire_of(&self, key: &[u8]) -> i64 {
        if self.volatile.is_empty() {
            return 0;
        }
        self.volatile.get(key).copied().unwrap_or(0)
    }

    /// Sets a key to a new object, dropping any previous value and expire,
    /// as Redis's `setKey`. Under LFU the key keeps its access frequency.
    /// Returns the old object.
    pub fn set(&mut self, key: &[u8], obj: Obj) -> Option<Obj> {
        self.put(key, obj, 0, true)
    }

    /// `set` with an expire time (0: none).
    pub fn set_with_expire(&mut self, key: &[u8], obj: Obj, expire_at: i64) -> Option<Obj> {
        self.put(key, obj, expire_at, true)
    }

    /// Stores an existing object under `key` with the given expire time
    /// (0: none) and its own access data, as Redis's `dbAdd` does for
    /// RENAME and MOVE.
    pub fn add(&mut self, key: &[u8], obj: Obj, expire_at: i64) -> Option<Obj> {
        self.put(key, obj, expire_at, false)
    }

    /// Sizes an empty db for what a file announces (RESIZEDB).
    pub fn reserve(&mut self, keys: usize, expires: usize) {
        self.dict.reserve(keys);
        self.volatile.reserve(expires);
    }

    /// Takes the keys of a db read apart from this empty one (start-up
    /// loading); what clients registered meanwhile (WATCH) stays.
    pub fn adopt_loaded(&mut self, loaded: Db) {
        self.dict = loaded.dict;
        self.volatile = loaded.volatile;
    }

    /// Adds a key read from an RDB file (start-up, DEBUG RELOAD) with one
    /// lookup, keeping the key's buffer, and without events: Redis fires
    /// none for loaded keys. Gives the key back, with nothing changed, when
    /// it exists.
    pub fn insert_loaded(&mut self, key: Key, obj: Obj, expire_at: i64) -> Result<(), Key> {
        let volatile = (expire_at != 0).then(|| key.clone());
        if let Some((key, _)) = self.dict.insert_unique(key, obj) {
            return Err(key);
        }
        if let Some(k) = volatile {
            self.volatile.insert_new(k, expire_at);
        }
        Ok(())
    }

    fn put(&mut self, key: &[u8], mut obj: Obj, expire_at: i64, new_value: bool) -> Option<Obj> {
        self.note_change(key);
        let lfu = new_value && lfu_enabled();
        let live = self.replace_expire(key, expire_at).is_none_or(|at| !expired(at, now_ms()));
        let Some(slot) = self.dict.get_mut(key) else {
            if self.track_created {
                self.queue_created(key);
            }
            if lfu {
                obj.lru = lfu_init();
            }
            self.dict.insert_new(key.into(), obj);
            return None;
        };
        if lfu {
            obj.lru = if live { slot.lru } else { lfu_init() };
        }
        let old = std::mem::replace(slot, obj);
        if live {
            Some(old)
        } else {
            // Logically the old key expired first: its DEL is propagated
            // before this write.
            self.queue_expired(key.into());
            if self.track_created {
                self.queue_created(key);
            }
            None
        }
    }

    /// Deletes a key; returns its object if it existed (expired keys count
    /// as absent, and are deleted as expired).
    pub fn del(&mut self, key: &[u8]) -> Option<Obj> {
        let (o, expire_at) = self.remove(key)?;
        if expire_at.is_some_and(|at| expired(at, now_ms())) {
            self.queue_expired(key.into());
            return None;
        }
        Some(o)
    }

    /// Removes a key and its expire time, which it returns with the object.
    fn remove(&mut self, key: &[u8]) -> Option<(Obj, Option<i64>)> {
        let o = self.dict.remove(key)?;
        self.note_change(key);
        let expire_at = if self.volatile.is_empty() { None } else { self.volatile.remove(key) };
        Some((o, expire_at))
    }

    /// Sets the expire time (0: none) of an existing key with one lookup;
    /// returns the one it had.
    fn replace_expire(&mut self, key: &[u8], at: i64) -> Option<i64> {
        if self.volatile.is_empty() {
            if at != 0 {
                self.volatile.insert_new(key.into(), at);
            }
            return None;
        }
        if at == 0 {
            return self.volatile.remove(key);
        }
        match self.volatile.get_mut(key) {
            Some(t) => Some(std::mem::replace(t, at)),
            None => {
                self.volatile.insert_new(key.into(), at);
                None
            }
        }
    }

    /// Removes a key to free memory (eviction), expired or not, as Redis's
    /// eviction deletes; with `volatile`, only a key that has an expire.
    /// Returns the object, for the caller to drop (and measure).
    pub fn evict(&mut self, key: &[u8], volatile: bool) -> Option<Obj> {
        if volatile && !self.volatile.contains_key(key) {
            return None;
        }
        self.remove(key).map(|(o, _)| o)
    }

    /// Removes an expired key and queues its DEL for propagation.
    fn expire_key(&mut self, key: &[u8]) {
        if self.remove(key).is_some() {
            self.queue_expired(key.into());
        }
    }

    /// Sets or clears (0) the expire time of an existing key; false when
    /// the key does not exist.
    pub fn set_expire(&mut self, key: &[u8], at: i64) -> bool {
        let access = !NO_TOUCH.load(Relaxed);
        if self.lookup(key, access).is_none() {
            return false;
        }
        self.note_change(key);
        self.replace_expire(key, at);
        true
    }

    pub fn clear(&mut self) {
        let existing: Vec<Key> = self.interest.iter().filter(|k| self.dict.contains_key(&k[..])).cloned().collect();
        self.touched.extend(existing);
        self.dict.clear();
        self.volatile.clear();
        self.expire_cursor = 0;
        self.avg_ttl = 0;
    }

    /// A random live key, as Redis's `dbRandomKey`: expired keys met on
    /// the way are deleted, so this ends even when all keys are expired.
    pub fn random_key(&mut self, rng: &mut impl rand::Rng) -> Option<Key> {
        loop {
            let (k, _) = self.dict.random(rng)?;
            if !self.is_expired(k) {
                return Some(k.clone());
            }
            let k = k.clone();
            self.expire_key(&k);
        }
    }

    /// The cron's upkeep of the key tables, as Redis's tryResizeHashTables
    /// and incrementallyRehash: shrinks a table left sparse and moves a
    /// rehash on for up to `budget` per table (zero: `activerehashing no`,
    /// rehashes move on with operations only). Without the shrink, a
    /// volatile set that expiry had emptied to a few keys stayed too
    /// sparse to sample, so those keys never expired actively.
    pub fn tables_cron(&mut self, budget: std::time::Duration) {
        self.dict.shrink_if_needed();
        self.volatile.shrink_if_needed();
        if budget.is_zero() {
            return;
        }
        let started = std::time::Instant::now();
        while self.dict.rehash(100) && started.elapsed() < budget {}
        let started = std::time::Instant::now();
        while self.volatile.rehash(100) && started.elapsed() < budget {}
    }

    /// One sampling round of the active expire cycle (an iteration of the
    /// inner loop of Redis's `activeExpireCycle`): walks the volatile set
    /// from the saved cursor until `num` keys were sampled or `20·num`
    /// buckets were visited, and deletes the expired keys. Returns
    /// (sampled, expired), or None when the db has nothing worth sampling
    /// (no volatile keys, or a table under 1% full that will shrink soon).
    pub fn expire_round(&mut self, num: usize, now: i64) -> Option<(usize, usize)> {
        let volatile = self.volatile.len();
        if volatile == 0 {
            self.avg_ttl = 0;
            return None;
        }
        let slots = self.volatile.slots();
        if slots > 4 && volatile * 100 / slots < 1 {
            return None;
        }
        let num = num.min(volatile);
        let (mut sampled, mut buckets) = (0, 0);
        let (mut ttl_sum, mut ttl_samples) = (0i64, 0i64);
        let mut due = std::mem::take(&mut self.due);
        while sampled < num && buckets < num * 20 {
            self.expire_cursor = self.volatile.scan(self.expire_cursor, |k, &at| {
                sampled += 1;
                if expired(at, now) {
                    due.push(k.clone());
                } else if at > now {
                    ttl_sum = ttl_sum.saturating_add(at - now);
                    ttl_samples += 1;
                }
            });
            buckets += 1;
        }
        if ttl_samples > 0 {
            // Running average with the new sample weighted 2%.
            let avg = ttl_sum / ttl_samples;
            if self.avg_ttl == 0 {
                self.avg_ttl = avg;
            }
            self.avg_ttl = (self.avg_ttl / 50) * 49 + avg / 50;
        }
        let mut expired = 0;
        for k in due.drain(..) {
            if self.remove(&k).is_some() {
                self.queue_expired(k);
                expired += 1;
            }
        }
        self.due = due;
        Some((sampled, expired))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: &str) -> Obj {
        Obj::from_bytes(v.as_bytes())
    }

    #[test]
    fn lazy_expiry_deletes_and_queues_del() {
        let mut db = Db::new(0);
        db.set_with_expire(b"gone", obj("v"), now_ms() - 10);
        db.set_with_expire(b"live", obj("v"), now_ms() + 60_000);
        db.set_with_expire(b"plain", obj("v"), 0);
        assert_eq!(db.volatile.len(), 2);
        assert!(db.get(b"gone").is_none());
        assert!(db.get(b"live").is_some());
        assert!(db.peek(b"plain").is_some());
        assert_eq!(db.len(), 2);
        assert_eq!(db.volatile.len(), 1);
        assert_eq!(db.expired, vec![Key::from(&b"gone"[..])]);
    }

    #[test]
    fn volatile_set_follows_expire_changes() {
        let mut db = Db::new(0);
        let later = now_ms() + 60_000;
        db.set_with_expire(b"k", obj("v"), 0);
        assert!(db.set_expire(b"k", later));
        assert_eq!(db.volatile.len(), 1);
        assert!(db.set_expire(b"k", later + 1));
        assert_eq!(db.volatile.len(), 1);
        assert!(db.set_expire(b"k", 0));
        assert!(db.volatile.is_empty());
        assert!(!db.set_expire(b"missing", later));
        db.set_with_expire(b"k", obj("v"), later);
        assert_eq!(db.volatile.len(), 1);
        assert_eq!(db.expire_of(b"k"), later);
        // A plain SET drops the expire.
        assert!(db.set(b"k", obj("w")).is_some());
        assert_eq!(db.expire_of(b"k"), 0);
        assert!(db.volatile.is_empty());
        db.set_with_expire(b"k", obj("v"), later);
        // RENAME's way: the expire goes with the object to another key.
        let expire_at = db.expire_of(b"k");
        let o = db.del(b"k").expect("live key");
        assert!(db.volatile.is_empty() && db.is_empty());
        db.add(b"k2", o, expire_at);
        assert_eq!(db.expire_of(b"k2"), later);
        assert_eq!(db.volatile.len(), 1);
    }

    #[test]
    fn overwriting_an_expired_key_expires_it_first() {
        let mut db = Db::new(0);
        db.set_with_expire(b"k", obj("old"), now_ms() - 1);
        assert!(db.set_with_expire(b"k", obj("new"), 0).is_none());
        assert_eq!(db.expired.len(), 1);
        assert!(db.volatile.is_empty());
        db.set_with_expire(b"d", obj("old"), now_ms() - 1);
        assert!(db.del(b"d").is_none());
        assert_eq!(db.expired.len(), 2);
    }

    #[test]
    fn the_last_volatile_keys_expire_once_the_cron_shrinks_the_table() {
        let mut db = Db::new(0);
        let now = now_ms();
        for i in 0..100_000 {
            db.set_with_expire(format!("k{i}").as_bytes(), obj("v"), now + 60_000);
        }
        // Persisted one by one, then the rest due: a table sized for
        // 100k holds 10 keys, too sparse for the expire cycle to sample.
        for i in 10..100_000 {
            db.set_expire(format!("k{i}").as_bytes(), 0);
        }
        for i in 0..10 {
            db.set_expire(format!("k{i}").as_bytes(), now - 1);
        }
        let mut rounds = 0;
        while !db.volatile.is_empty() && rounds < 50 {
            db.tables_cron(std::time::Duration::from_millis(1));
            while let Some((_, expired)) = db.expire_round(20, now) {
                if expired == 0 {
                    break;
                }
            }
            rounds += 1;
        }
        assert_eq!(db.volatile.len(), 0, "left after {rounds} cron ticks");
        assert_eq!(db.len(), 99_990);
    }

    #[test]
    fn expire_round_removes_only_expired_keys() {
        let mut db = Db::new(0);
        let now = now_ms();
        for i in 0..1000 {
            let at = if i % 2 == 0 { now - 1 } else { now + 60_000 };
            db.set_with_expire(format!("k{i}").as_bytes(), obj("v"), at);
        }
        let mut total = 0;
        while db.volatile.len() > 500 {
            let (sampled, expired) = db.expire_round(20, now).expect("volatile keys");
            assert!(expired <= sampled);
            total += expired;
        }
        assert_eq!(total, 500);
        assert_eq!(db.len(), 500);
        assert_eq!(db.expired.len(), 500);
        assert!(db.avg_ttl > 0);
        assert!(db.dict.iter().all(|(k, _)| db.expire_of(k) > now));
    }

    #[test]
    fn random_key_skips_expired_keys() {
        let mut db = Db::new(0);
        let mut rng = rand::thread_rng();
        assert!(db.random_key(&mut rng).is_none());
        for i in 0..50 {
            db.set_with_expire(format!("x{i}").as_bytes(), obj("v"), now_ms() - 1);
        }
        assert!(db.random_key(&mut rng).is_none());
        assert!(db.is_empty());
        db.set_with_expire(b"live", obj("v"), 0);
        assert_eq!(db.random_key(&mut rng).as_deref(), Some(&b"live"[..]));
    }

    #[test]
    fn idle_time_wraps_with_the_clock() {
        let mut o = obj("v");
        o.lru = lru_clock();
        assert!(idle_seconds(&o) <= 1);
        o.lru = lru_clock().wrapping_sub(100) & LRU_CLOCK_MAX;
        assert!((99..=101).contains(&idle_seconds(&o)));
    }
}
