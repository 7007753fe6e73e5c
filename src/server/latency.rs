//! The operator's view of latency: per-command latency histograms
//! (`latency-tracking`, INFO latencystats, LATENCY HISTOGRAM) and the
//! latency monitor's event time series (`latency-monitor-threshold`,
//! LATENCY LATEST / HISTORY / GRAPH / DOCTOR).
//!
//! The histogram has the bucket layout of the HDR histogram Redis uses
//! (values in nanoseconds from 1 to 10^9, two significant digits: 128
//! linear sub-buckets per power of two), so percentiles and the
//! cumulative distribution come out as Redis computes them.

use std::collections::BTreeMap;

/// Smallest and largest recorded values (nanoseconds), as Redis's
/// LATENCY_HISTOGRAM_MIN_VALUE / MAX_VALUE.
const MIN_VALUE: u64 = 1;
const MAX_VALUE: u64 = 1_000_000_000;
/// 2 significant digits: values below 256 are exact, then 128 sub-buckets
/// per power of two.
const SUB_BUCKET_COUNT: u64 = 256;
const SUB_BUCKET_HALF_COUNT: usize = 128;
const SUB_BUCKET_HALF_COUNT_MAGNITUDE: u32 = 7;
const SUB_BUCKET_MASK: u64 = SUB_BUCKET_COUNT - 1;
/// Buckets needed to cover MAX_VALUE: 256 << 22 > 10^9.
const BUCKET_COUNT: usize = 23;
const COUNTS_LEN: usize = (BUCKET_COUNT + 1) * SUB_BUCKET_HALF_COUNT;

/// A latency histogram in HDR layout.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64; COUNTS_LEN]>,
    total: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: Box::new([0; COUNTS_LEN]), total: 0 }
    }
}

fn bucket_index(value: u64) -> u32 {
    // Position of the highest bit of value|mask, minus the sub-bucket bits.
    (64 - (value | SUB_BUCKET_MASK).leading_zeros()) - (SUB_BUCKET_HALF_COUNT_MAGNITUDE + 1)
}

fn sub_bucket_index(value: u64, bucket: u32) -> u64 {
    value >> bucket
}

fn counts_index(value: u64) -> usize {
    let bucket = bucket_index(value);
    let sub = sub_bucket_index(value, bucket) as usize;
    ((bucket as usize + 1) << SUB_BUCKET_HALF_COUNT_MAGNITUDE) + sub - SUB_BUCKET_HALF_COUNT
}

fn value_at_index(index: usize) -> u64 {
    let mut bucket = (index >> SUB_BUCKET_HALF_COUNT_MAGNITUDE) as i64 - 1;
    let mut sub = (index & (SUB_BUCKET_HALF_COUNT - 1)) as u64 + SUB_BUCKET_HALF_COUNT as u64;
    if bucket < 0 {
        sub -= SUB_BUCKET_HALF_COUNT as u64;
        bucket = 0;
    }
    sub << bucket
}

fn lowest_equivalent(value: u64) -> u64 {
    let bucket = bucket_index(value);
    sub_bucket_index(value, bucket) << bucket
}

fn equivalent_range(value: u64) -> u64 {
    let bucket = bucket_index(value);
    let sub = sub_bucket_index(value, bucket);
    let adjusted = if sub >= SUB_BUCKET_COUNT { bucket + 1 } else { bucket };
    1 << adjusted
}

fn highest_equivalent(value: u64) -> u64 {
    lowest_equivalent(value) + equivalent_range(value) - 1
}

impl Histogram {
    /// Records one duration, clamped to the range as Redis does.
    pub fn record_ns(&mut self, ns: u64) {
        let v = ns.clamp(MIN_VALUE, MAX_VALUE);
        self.counts[counts_index(v)] += 1;
        self.total += 1;
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The value (ns) at or below which `percentile` % of the samples are,
    /// as `hdr_value_at_percentile`.
    pub fn value_at_percentile(&self, percentile: f64) -> u64 {
        let requested = percentile.min(100.0);
        let wanted = (((requested / 100.0) * self.total as f64) + 0.5) as u64;
        let wanted = wanted.max(1);
        let mut seen = 0;
        let mut value = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                value = value_at_index(i);
                break;
            }
        }
        if percentile == 0.0 {
            lowest_equivalent(value)
        } else {
            highest_equivalent(value)
        }
    }

    /// The cumulative distribution LATENCY HISTOGRAM replies with: (upper
    /// bound in µs, samples at or below it) at powers of two from 1024 ns,
    /// only where the count grew; `hdr_iter_log` with Redis's parameters.
    pub fn cumulative_us(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut index: i64 = -1;
        let mut value = 0u64;
        let mut highest = 0u64;
        let mut cumulative = 0u64;
        let mut level = 1024u64;
        let mut level_lowest = lowest_equivalent(level);
        let mut previous = 0;
        loop {
            let has_next = cumulative < self.total;
            let peek = value_at_index((index + 1) as usize);
            if !(has_next || peek > level_lowest) {
                break;
            }
            let reported = loop {
                if value >= level_lowest {
                    level *= 2;
                    level_lowest = lowest_equivalent(level);
                    break true;
                }
                index += 1;
                let Some(&n) = self.counts.get(index as usize) else { break false };
                cumulative += n;
                value = value_at_index(index as usize);
                highest = highest_equivalent(value);
            };
            if !reported {
                break;
            }
            if cumulative > previous {
                out.push((highest / 1000, cumulative));
            }
            previous = cumulative;
        }
        out
    }
}

/// Samples per event, as Redis's LATENCY_TS_LEN.
const TS_LEN: usize = 160;

/// One event's time series: the latest sample of each second it happened
/// in (the worst of that second), in a ring, and the all-time maximum.
#[derive(Clone)]
pub struct Series {
    samples: [(i64, u64); TS_LEN],
    next: usize,
    pub max: u64,
}

impl Series {
    /// Samples oldest first, as (unix seconds, milliseconds).
    pub fn samples(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        (0..TS_LEN).map(move |j| self.samples[(self.next + j) % TS_LEN]).filter(|s| s.0 != 0)
    }

    /// The sample written last.
    pub fn latest(&self) -> (i64, u64) {
        self.samples[(self.next + TS_LEN - 1) % TS_LEN]
    }
}

/// The latency monitor's events by name.
#[derive(Default)]
pub struct Monitor {
    pub events: BTreeMap<&'static str, Series>,
}

impl Monitor {
    /// Redis's `latencyAddSampleIfNeeded`: records `ms` for `event` when
    /// the monitor is on and the latency reaches its threshold.
    #[inline]
    pub fn add_if_needed(&mut self, threshold_ms: i64, event: &'static str, ms: u64) {
        if threshold_ms > 0 && ms >= threshold_ms as u64 {
            self.add(event, ms, crate::util::now_ms() / 1000);
        }
    }

    /// Redis's `latencyAddSample`: one sample per second, the worst.
    pub fn add(&mut self, event: &'static str, ms: u64, now_s: i64) {
        let ts = self.events.entry(event).or_insert_with(|| Series { samples: [(0, 0); TS_LEN], next: 0, max: 0 });
        ts.max = ts.max.max(ms);
        let prev = (ts.next + TS_LEN - 1) % TS_LEN;
        if ts.samples[prev].0 == now_s {
            ts.samples[prev].1 = ts.samples[prev].1.max(ms);
            return;
        }
        ts.samples[ts.next] = (now_s, ms);
        ts.next = (ts.next + 1) % TS_LEN;
    }

    /// Forgets one event; whether it was there.
    pub fn reset(&mut self, event: &[u8]) -> bool {
        let Some(name) = self.events.keys().find(|k| k.as_bytes() == event).copied() else { return false };
        self.events.remove(name);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hdr_layout() {
        // Exact below 256, then 128 sub-buckets per power of two.
        assert_eq!(highest_equivalent(1), 1);
        assert_eq!(highest_equivalent(255), 255);
        assert_eq!(highest_equivalent(1000), 1003);
        assert_eq!(highest_equivalent(1024), 1031);
        assert_eq!(lowest_equivalent(1031), 1024);
        for v in [1u64, 200, 256, 1000, 4096, 123_456, 999_999_999] {
            let i = counts_index(v);
            assert!(i < COUNTS_LEN);
            assert_eq!(value_at_index(i), lowest_equivalent(v));
        }
    }

    #[test]
    fn percentiles_as_hdr() {
        let mut h = Histogram::default();
        for _ in 0..99 {
            h.record_ns(1000);
        }
        h.record_ns(50_000);
        assert_eq!(h.value_at_percentile(50.0), 1003);
        assert_eq!(h.value_at_percentile(99.0), 1003);
        assert_eq!(h.value_at_percentile(99.9), highest_equivalent(50_000));
        assert_eq!(h.value_at_percentile(100.0), highest_equivalent(50_000));
        // Nothing below the smallest value: zero is recorded as 1 ns.
        let mut z = Histogram::default();
        z.record_ns(0);
        assert_eq!(z.value_at_percentile(50.0), 1);
    }

    #[test]
    fn cumulative_distribution() {
        let mut h = Histogram::default();
        h.record_ns(1);
        h.record_ns(1000);
        h.record_ns(3000);
        h.record_ns(40_000);
        // Levels 1024, 2048, ... reported at the highest equivalent value of
        // the first bucket at or past each one; unchanged counts skipped.
        assert_eq!(h.cumulative_us(), vec![(1, 2), (4, 3), (66, 4)]);
        assert!(Histogram::default().cumulative_us().is_empty());
    }

    #[test]
    fn one_sample_per_second() {
        let mut m = Monitor::default();
        m.add("command", 5, 100);
        m.add("command", 9, 100);
        m.add("command", 7, 100);
        m.add("command", 3, 101);
        let ts = &m.events["command"];
        assert_eq!(ts.samples().collect::<Vec<_>>(), vec![(100, 9), (101, 3)]);
        assert_eq!(ts.latest(), (101, 3));
        assert_eq!(ts.max, 9);
        for s in 0..200 {
            m.add("command", 1, 1000 + s);
        }
        assert_eq!(m.events["command"].samples().count(), TS_LEN);
        assert!(m.reset(b"command"));
        assert!(!m.reset(b"command"));
    }
}
