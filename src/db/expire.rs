//! The active expire cycle, as Redis's `activeExpireCycle`: each tick,
//! sample volatile keys of every db and delete the expired ones, repeating
//! while more than a quarter of a sample was expired, within a CPU budget
//! of a quarter of the tick.

use std::time::{Duration, Instant};

use crate::executor::Server;
use crate::util::now_ms;

const KEYS_PER_LOOP: usize = 20;
/// Keep going in a db while more than this percentage of a sample expired.
const ACCEPTABLE_STALE: usize = 10;

pub fn active_cycle(srv: &mut Server, tick_ms: u64) {
    if !srv.active_expire_enabled {
        return;
    }
    let effort = srv.config.get("active-expire-effort").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).clamp(1, 10);
    let per_loop = KEYS_PER_LOOP + KEYS_PER_LOOP / 4 * (effort - 1);
    let budget = Duration::from_micros(tick_ms * 1000 * (25 + 2 * effort as u64) / 100);
    let start = Instant::now();
    let now = now_ms();
    for db in srv.dbs.iter_mut() {
        loop {
            if db.volatile.is_empty() {
                break;
            }
            let (sampled, expired) = db.active_expire(per_loop, now);
            if sampled == 0 || expired * 100 / sampled <= ACCEPTABLE_STALE || start.elapsed() > budget {
                break;
            }
        }
        if start.elapsed() > budget {
            break;
        }
    }
}
