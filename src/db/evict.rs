//! Eviction under `maxmemory`, as Redis's evict.c: before each command
//! (and in the cron) the allocated memory is compared with the limit, and
//! keys chosen by `maxmemory-policy` are deleted until it fits.
//!
//! The choice is Redis's approximation: each round samples
//! `maxmemory-samples` keys of every db into a 16-entry pool kept sorted by
//! how good a victim each is (longest idle for LRU, lowest frequency for
//! LFU, soonest expire for volatile-ttl), and evicts the best one. The pool
//! lives across calls, so good candidates found earlier are not lost.
//! The random policies pick one random key per round, rotating over dbs.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::{idle_seconds, lfu_counter, Db, Obj};
use crate::config::Config;
use crate::executor::{notify::class, Server};
use crate::server::client::Client;

/// `maxmemory-policy`, in the order of the config's enumeration.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Policy {
    NoEviction,
    AllKeysLru,
    VolatileLru,
    AllKeysLfu,
    VolatileLfu,
    AllKeysRandom,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    const ALL: [Policy; 8] = [
        Policy::NoEviction,
        Policy::AllKeysLru,
        Policy::VolatileLru,
        Policy::AllKeysLfu,
        Policy::VolatileLfu,
        Policy::AllKeysRandom,
        Policy::VolatileRandom,
        Policy::VolatileTtl,
    ];

    pub fn parse(name: &str) -> Policy {
        match name {
            "allkeys-lru" => Policy::AllKeysLru,
            "volatile-lru" => Policy::VolatileLru,
            "allkeys-lfu" => Policy::AllKeysLfu,
            "volatile-lfu" => Policy::VolatileLfu,
            "allkeys-random" => Policy::AllKeysRandom,
            "volatile-random" => Policy::VolatileRandom,
            "volatile-ttl" => Policy::VolatileTtl,
            _ => Policy::NoEviction,
        }
    }

    /// Whether only keys with an expire may be evicted.
    pub fn volatile(self) -> bool {
        matches!(self, Policy::VolatileLru | Policy::VolatileLfu | Policy::VolatileRandom | Policy::VolatileTtl)
    }

    fn random(self) -> bool {
        matches!(self, Policy::AllKeysRandom | Policy::VolatileRandom)
    }

    /// How good a victim `o`, expiring at `expire_at` (0: never), is:
    /// higher is evicted first.
    fn score(self, o: &Obj, expire_at: i64) -> u64 {
        match self {
            Policy::AllKeysLfu | Policy::VolatileLfu => 255 - lfu_counter(o) as u64,
            Policy::VolatileTtl => u64::MAX - expire_at as u64,
            _ => idle_seconds(o),
        }
    }
}

// The settings, mirrored from the config by `configure` (every cron tick
// and after CONFIG SET) so that the check before each command is a load.
static MAXMEMORY: AtomicU64 = AtomicU64::new(0);
static POLICY: AtomicU8 = AtomicU8::new(0);
static SAMPLES: AtomicUsize = AtomicUsize::new(5);
static TENACITY: AtomicU32 = AtomicU32::new(10);

pub fn configure(config: &Config) {
    let num = |name: &str, default: u64| config.get(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let max = num("maxmemory", 0);
    let used = crate::alloc::used() as u64;
    if MAXMEMORY.swap(max, Relaxed) != max && max != 0 && max < used {
        tracing::warn!(
            "WARNING: the new maxmemory value set via CONFIG SET ({max}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy."
        );
    }
    let policy = Policy::parse(config.get("maxmemory-policy").unwrap_or("noeviction"));
    POLICY.store(policy as u8, Relaxed);
    SAMPLES.store(num("maxmemory-samples", 5).max(1) as usize, Relaxed);
    TENACITY.store(num("maxmemory-eviction-tenacity", 10) as u32, Relaxed);
}

/// The memory limit in bytes; 0 for none.
#[inline]
pub fn maxmemory() -> u64 {
    MAXMEMORY.load(Relaxed)
}

pub fn policy() -> Policy {
    Policy::ALL.get(POLICY.load(Relaxed) as usize).copied().unwrap_or(Policy::NoEviction)
}

/// How long one call may evict, by `maxmemory-eviction-tenacity` (Redis's
/// `evictionTimeLimitUs`): linear up to 500us at 10, then 15% more per
/// step, unlimited at 100.
pub fn time_limit(tenacity: u32) -> Option<Duration> {
    match tenacity {
        0..=10 => Some(Duration::from_micros(50 * tenacity as u64)),
        11..=99 => Some(Duration::from_micros((500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64)),
        _ => None,
    }
}

pub const POOL_SIZE: usize = 16;

struct Candidate {
    score: u64,
    db: usize,
    /// Kept allocated when the entry is replaced (Redis's cached sds).
    key: Vec<u8>,
}

/// Redis's eviction pool: the best candidates seen so far, sorted by
/// ascending score, in `entries[..len]`.
pub struct Pool {
    entries: Vec<Candidate>,
    len: usize,
}

impl Default for Pool {
    fn default() -> Self {
        Pool { entries: (0..POOL_SIZE).map(|_| Candidate { score: 0, db: 0, key: Vec::new() }).collect(), len: 0 }
    }
}

impl Pool {
    /// Offers a sampled key (Redis's `evictionPoolPopulate` insertion): it
    /// takes its place by score; when the pool is full the worst entry
    /// leaves, or the newcomer is dropped if it is worse than all.
    pub fn offer(&mut self, score: u64, db: usize, key: &[u8]) {
        let mut k = self.entries[..self.len].iter().position(|c| c.score >= score).unwrap_or(self.len);
        if k == 0 && self.len == POOL_SIZE {
            return;
        }
        if k == self.len && k < POOL_SIZE {
            self.len += 1;
        } else if self.len < POOL_SIZE {
            // Room on the right: shift the better ones up.
            self.entries[k..=self.len].rotate_right(1);
            self.len += 1;
        } else {
            // Full: drop the worst, shift the worse ones down.
            k -= 1;
            self.entries[..=k].rotate_left(1);
        }
        let c = &mut self.entries[k];
        c.score = score;
        c.db = db;
        c.key.clear();
        c.key.extend_from_slice(key);
    }

    /// Takes the best candidate out: its db, and its key swapped into
    /// `key` (whose old buffer the pool keeps).
    pub fn take_best(&mut self, key: &mut Vec<u8>) -> Option<usize> {
        self.len = self.len.checked_sub(1)?;
        let c = &mut self.entries[self.len];
        std::mem::swap(&mut c.key, key);
        Some(c.db)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// What `perform` achieved, as Redis's EVICT_* results.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Under the limit (or eviction does not apply now).
    Ok,
    /// Stopped at the time limit, still over: goes on at the next call;
    /// commands are not refused meanwhile.
    Running,
    /// Over the limit with nothing left to evict: deny-oom commands fail.
    Fail,
}

#[derive(Default)]
pub struct Evictor {
    pool: Pool,
    /// Db the random policies start from.
    next_db: usize,
    running: bool,
    /// Scratch key buffer, swapped with the pool's.
    key: Vec<u8>,
    /// Since when memory is over the limit (INFO *_eviction_exceeded_time).
    over_since: Option<Instant>,
    /// Time spent over the limit before `over_since`.
    pub exceeded_total: Duration,
    /// Whether the running command started over the limit with nothing
    /// to evict: scripts then refuse deny-oom calls until they write.
    pub oom_at_start: bool,
}

impl Evictor {
    /// Time spent over the limit: in total, and in the current stretch.
    pub fn exceeded_time(&self) -> (Duration, Duration) {
        let current = self.over_since.map_or(Duration::ZERO, |t| t.elapsed());
        (self.exceeded_total + current, current)
    }

    fn over(&mut self, over: bool) {
        match (over, self.over_since) {
            (true, None) => self.over_since = Some(Instant::now()),
            (false, Some(t)) => {
                self.exceeded_total += t.elapsed();
                self.over_since = None;
            }
            _ => {}
        }
    }
}

/// Redis's `performEvictions`: frees memory down to `maxmemory` by evicting
/// keys, each propagated as DEL and raising an `evicted` event (`caller` is
/// the client about to run a command, which receives its events too).
pub fn perform(srv: &mut Server, mut caller: Option<&mut Client>) -> Outcome {
    let max = maxmemory();
    if max == 0 {
        return Outcome::Ok;
    }
    // The AOF buffer is not counted (Redis's freeMemoryGetNotCountedMemory):
    // evicting keys would only grow it with their DELs.
    let used = (crate::alloc::used() as u64).saturating_sub(srv.persistence.aof.buffer_len() as u64);
    if used <= max {
        srv.evictor.running = false;
        srv.evictor.over(false);
        return Outcome::Ok;
    }
    // The dataset stays as it is while CLIENT PAUSE holds writes.
    if srv.pause_until_ms != 0 && srv.expire_paused() {
        return Outcome::Ok;
    }
    srv.evictor.over(true);
    let policy = policy();
    if policy == Policy::NoEviction {
        return Outcome::Fail;
    }
    let to_free = (used - max) as i64;
    let limit = time_limit(TENACITY.load(Relaxed));
    let start = Instant::now();
    let (mut freed, mut keys_freed) = (0i64, 0u64);
    while freed < to_free {
        let Some(db) = pick(srv, policy) else {
            srv.evictor.running = false;
            return Outcome::Fail;
        };
        let key = std::mem::take(&mut srv.evictor.key);
        let evicted = evict_key(srv, db, &key, policy.volatile(), caller.as_deref_mut());
        srv.evictor.key = key;
        if let Some(bytes) = evicted {
            freed += bytes;
            keys_freed += 1;
            if keys_freed.is_multiple_of(16) && limit.is_some_and(|l| start.elapsed() > l) {
                srv.evictor.running = true;
                return Outcome::Running;
            }
        }
    }
    if srv.evictor.running {
        Outcome::Running
    } else {
        Outcome::Ok
    }
}

/// Evicts one key: deletes it, counts it, raises its `evicted` event and
/// propagates a DEL. Returns the memory freed, or None if the key was gone
/// (or, with `volatile`, had no expire).
fn evict_key(srv: &mut Server, db: usize, key: &[u8], volatile: bool, caller: Option<&mut Client>) -> Option<i64> {
    // A background save still to reach the key writes it first: the
    // snapshot is of the dataset as it was when the save started.
    if srv.persistence.walking(srv.dbs.len()) {
        crate::persistence::snapshot::before_write_key(srv, db, key);
    }
    let before = crate::alloc::used() as i64;
    drop(srv.dbs[db].evict(key, volatile)?);
    let freed = before - crate::alloc::used() as i64;
    srv.stats.evicted_keys += 1;
    srv.notify(caller, class::EVICTED, "evicted", key, db);
    if srv.propagating() {
        srv.emit_write(db, vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(key)]);
    }
    Some(freed)
}

/// Chooses the next victim: its db, with its key in `srv.evictor.key`.
/// None when no db holds a key the policy may evict.
fn pick(srv: &mut Server, policy: Policy) -> Option<usize> {
    let Server { dbs, evictor, rng, .. } = srv;
    if policy.random() {
        let n = dbs.len();
        for _ in 0..n {
            evictor.next_db = evictor.next_db.wrapping_add(1);
            let id = evictor.next_db % n;
            let db = &dbs[id];
            let found =
                if policy.volatile() { db.volatile.random(rng).map(|e| e.0) } else { db.dict.random(rng).map(|e| e.0) };
            if let Some(k) = found {
                evictor.key.clear();
                evictor.key.extend_from_slice(k);
                return Some(id);
            }
        }
        return None;
    }
    let samples = SAMPLES.load(Relaxed);
    loop {
        let mut total = 0;
        for (id, db) in dbs.iter_mut().enumerate() {
            total += populate(&mut evictor.pool, id, db, policy, samples, rng);
        }
        if total == 0 {
            return None;
        }
        // Best first; a candidate deleted since it was sampled (a ghost) is
        // dropped and the next one tried, after sampling again if need be.
        while let Some(id) = evictor.pool.take_best(&mut evictor.key) {
            let db = &dbs[id];
            let key = &evictor.key[..];
            let live = if policy.volatile() { db.volatile.contains_key(key) } else { db.dict.contains_key(key) };
            if live {
                return Some(id);
            }
        }
    }
}

/// Samples one db into the pool; returns how many keys the policy could
/// pick from there.
fn populate(
    pool: &mut Pool,
    id: usize,
    db: &mut Db,
    policy: Policy,
    samples: usize,
    rng: &mut impl rand::Rng,
) -> usize {
    let Db { dict, volatile, .. } = db;
    if policy.volatile() {
        let size = volatile.len();
        if size > 0 {
            let dict = &*dict;
            volatile.sample(
                samples,
                rng,
                |k, _| k.prefetch(),
                |k, &at| {
                    if let Some(o) = dict.get(k) {
                        pool.offer(policy.score(o, at), id, k);
                    }
                },
            );
        }
        size
    } else {
        let size = dict.len();
        if size > 0 {
            dict.sample(samples, rng, |k, _| k.prefetch(), |k, o| pool.offer(policy.score(o, 0), id, k));
        }
        size
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::{lfu_decayed, lfu_log_incr, LFU_INIT_VAL};

    fn keys(pool: &Pool) -> Vec<(u64, String)> {
        pool.entries[..pool.len].iter().map(|c| (c.score, String::from_utf8_lossy(&c.key).into_owned())).collect()
    }

    #[test]
    fn pool_keeps_the_best_sorted() {
        let mut pool = Pool::default();
        for (score, key) in [(5, "e"), (1, "a"), (9, "i"), (3, "c")] {
            pool.offer(score, 0, key.as_bytes());
        }
        assert_eq!(keys(&pool), vec![(1, "a".into()), (3, "c".into()), (5, "e".into()), (9, "i".into())]);
        // Filled up: a worse key than all is refused, a better one pushes
        // the worst out.
        for s in 10..22 {
            pool.offer(s, 0, format!("k{s}").as_bytes());
        }
        assert_eq!(pool.len(), POOL_SIZE);
        pool.offer(0, 0, b"worst");
        assert!(keys(&pool).iter().all(|(_, k)| k != "worst"));
        pool.offer(100, 3, b"best");
        let k = keys(&pool);
        assert_eq!(k.len(), POOL_SIZE);
        assert_eq!(k[0], (3, "c".into()), "the lowest score left");
        assert_eq!(k[POOL_SIZE - 1], (100, "best".into()));
        assert!(k.windows(2).all(|w| w[0].0 <= w[1].0));
        // A middle score goes in place, dropping the lowest.
        pool.offer(6, 1, b"mid");
        let k = keys(&pool);
        assert_eq!(k[0], (5, "e".into()));
        assert!(k.windows(2).all(|w| w[0].0 <= w[1].0) && k.contains(&(6, "mid".into())));

        let mut key = Vec::new();
        assert_eq!(pool.take_best(&mut key), Some(3));
        assert_eq!(key, b"best");
        assert_eq!(pool.len(), POOL_SIZE - 1);
        let mut n = 0;
        while pool.take_best(&mut key).is_some() {
            n += 1;
        }
        assert_eq!(n, POOL_SIZE - 1);
        assert!(pool.is_empty() && pool.take_best(&mut key).is_none());
    }

    #[test]
    fn pool_with_room_shifts_right() {
        let mut pool = Pool::default();
        pool.offer(10, 0, b"x");
        pool.offer(20, 0, b"y");
        pool.offer(15, 0, b"m");
        pool.offer(15, 0, b"n");
        assert_eq!(keys(&pool), vec![(10, "x".into()), (15, "n".into()), (15, "m".into()), (20, "y".into())]);
    }

    #[test]
    fn lfu_counter_grows_logarithmically() {
        // Below LFU_INIT_VAL every hit counts; then the odds fall as
        // 1 / ((counter - 5) * log_factor + 1).
        assert_eq!(lfu_log_incr(0, 10, 0.999), 1);
        assert_eq!(lfu_log_incr(LFU_INIT_VAL, 10, 0.999), LFU_INIT_VAL + 1);
        assert_eq!(lfu_log_incr(6, 10, 1.0 / 11.0 - 1e-9), 7);
        assert_eq!(lfu_log_incr(6, 10, 1.0 / 11.0 + 1e-9), 6);
        assert_eq!(lfu_log_incr(255, 0, 0.0), 255);
        // With a log factor of 0 every hit counts.
        assert_eq!(lfu_log_incr(200, 0, 0.999), 201);
        // A million hits at the default factor stay well under 255, as in
        // Redis's table (factor 10: 1M hits ≈ 255 only at 100M).
        let mut rng = rand::thread_rng();
        let mut c = LFU_INIT_VAL;
        for _ in 0..100_000 {
            c = lfu_log_incr(c, 10, rand::Rng::gen::<f64>(&mut rng));
        }
        assert!((100..=200).contains(&c), "counter after 100k hits: {c}");
    }

    #[test]
    fn lfu_counter_decays_per_period() {
        let lru = (100 << 8) | 20;
        assert_eq!(lfu_decayed(lru, 100, 1), 20);
        assert_eq!(lfu_decayed(lru, 107, 1), 13);
        assert_eq!(lfu_decayed(lru, 107, 2), 17);
        assert_eq!(lfu_decayed(lru, 500, 1), 0);
        // No decay with lfu-decay-time 0.
        assert_eq!(lfu_decayed(lru, 500, 0), 20);
        // The 16-bit minutes clock wraps.
        let late = (0xFFF0 << 8) | 20;
        assert_eq!(lfu_decayed(late, 0x0005, 1), 0);
        assert_eq!(lfu_decayed(late, 0x0001, 5), 20 - (0xFFFF - 0xFFF0 + 1) / 5);
    }

    #[test]
    fn time_limits_by_tenacity() {
        assert_eq!(time_limit(0), Some(Duration::ZERO));
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(11), Some(Duration::from_micros(575)));
        assert!(time_limit(99).is_some_and(|d| d > Duration::from_secs(60)));
        assert_eq!(time_limit(100), None);
    }

    #[test]
    fn an_evicted_key_is_counted_and_propagated_as_del() {
        let mut srv = Server::new(crate::config::Config::default());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        srv.write_subscribers.push(tx);
        srv.dbs[2].set(b"big", Obj::from_bytes(&[b'x'; 4000]));
        srv.dbs[2].set(b"plain", Obj::from_bytes(b"v"));
        // Volatile policies leave keys without an expire alone.
        assert_eq!(evict_key(&mut srv, 2, b"plain", true, None), None);
        // (What it freed is measured on the process-wide counter, which
        // tests running alongside move too.)
        assert!(evict_key(&mut srv, 2, b"big", false, None).is_some());
        assert_eq!(evict_key(&mut srv, 2, b"big", false, None), None);
        assert_eq!(srv.stats.evicted_keys, 1);
        assert!(srv.dbs[2].peek(b"big").is_none() && srv.dbs[2].peek(b"plain").is_some());
        let w = rx.try_recv().expect("a propagated write");
        assert_eq!((w.db, w.argv), (2, vec![Bytes::from_static(b"DEL"), Bytes::from_static(b"big")]));
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn policies_parse_and_score() {
        for (i, p) in Policy::ALL.iter().enumerate() {
            assert_eq!(*p as usize, i);
        }
        assert_eq!(Policy::parse("volatile-ttl"), Policy::VolatileTtl);
        assert!(Policy::VolatileRandom.volatile() && !Policy::AllKeysLfu.volatile());
        let o = Obj::from_bytes(b"v");
        assert!(Policy::VolatileTtl.score(&o, 1_000) > Policy::VolatileTtl.score(&o, 2_000));
    }
}
