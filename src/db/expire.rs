//! The active expire cycle, as Redis's `activeExpireCycle` (its slow
//! cycle, run by the cron `hz` times a second): sample volatile keys of
//! each db and delete the expired ones, repeating in a db while more than
//! 10% of a sample was expired, within a CPU budget of 25% of the tick.
//! `active-expire-effort` raises all three, as in Redis.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use crate::executor::Server;
use crate::util::now_ms;

const KEYS_PER_LOOP: usize = 20;
const SLOW_TIME_PERC: u64 = 25;
const ACCEPTABLE_STALE: usize = 10;
/// Dbs visited per call, unless the previous call ran out of time.
const DBS_PER_CALL: usize = 16;

// State carried between calls, as the statics of Redis's function: the db
// to start from (so time is shared fairly) and whether the last call hit
// its time limit (then every db is visited).
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);
static TIMELIMIT_EXIT: AtomicBool = AtomicBool::new(false);

/// One cron tick of expiry work. Also refreshes the clock and policy that
/// key lookups use for LRU/LFU tracking, which must advance every tick
/// even when active expiry is off (DEBUG SET-ACTIVE-EXPIRE 0).
pub fn active_cycle(srv: &mut Server, tick_ms: u64) {
    super::refresh_access(&srv.config);
    if !srv.active_expire_enabled || srv.dbs.is_empty() {
        return;
    }
    let effort =
        srv.config.get("active-expire-effort").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).clamp(1, 10) - 1;
    let keys_per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * effort;
    let acceptable_stale = ACCEPTABLE_STALE - effort;
    let time_perc = SLOW_TIME_PERC + 2 * effort as u64;
    let timelimit = Duration::from_micros((time_perc * 1000 * tick_ms / 100).max(1));

    let n = srv.dbs.len();
    let dbs_per_call = if TIMELIMIT_EXIT.load(Relaxed) { n } else { n.min(DBS_PER_CALL) };
    let start = Instant::now();
    let mut next = NEXT_DB.load(Relaxed);
    let mut iteration = 0u32;
    let mut timelimit_exit = false;
    for _ in 0..dbs_per_call {
        let db = &mut srv.dbs[next % n];
        // Advance first, so a db that eats the budget is not first again.
        next = next.wrapping_add(1);
        while let Some((sampled, expired)) = db.expire_round(keys_per_loop, now_ms()) {
            iteration += 1;
            if iteration.is_multiple_of(16) && start.elapsed() > timelimit {
                timelimit_exit = true;
                break;
            }
            if sampled > 0 && expired * 100 / sampled <= acceptable_stale {
                break;
            }
        }
        if timelimit_exit {
            break;
        }
    }
    NEXT_DB.store(next, Relaxed);
    TIMELIMIT_EXIT.store(timelimit_exit, Relaxed);
}
