//! maxmemory and eviction, INFO memory and the MEMORY commands, against a
//! real server. Error texts and field names are redis-server 7.0.15's.

mod common;

use common::{err, Resp, TestServer};

const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

fn info_fields(c: &mut common::RawConn, section: &str) -> std::collections::HashMap<String, String> {
    let Resp::Bulk(Some(text)) = c.cmd(&["INFO", section]) else { panic!("INFO reply") };
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn info_u64(c: &mut common::RawConn, section: &str, field: &str) -> u64 {
    info_fields(c, section)[field].parse().expect("number")
}

fn int(r: Resp) -> i64 {
    match r {
        Resp::Int(n) => n,
        other => panic!("not an integer: {other:?}"),
    }
}

#[test]
fn noeviction_refuses_denyoom_commands() {
    let s = TestServer::start();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v"]), Resp::ok());
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "1"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "k2", "v"]), err(OOM));
    assert_eq!(c.cmd(&["INCR", "n"]), err(OOM));
    assert_eq!(c.cmd(&["RPUSH", "l", "x"]), err(OOM));
    // Reads and deletions still run; nothing was evicted.
    assert_eq!(c.cmd(&["GET", "k"]), Resp::bulk("v"));
    assert_eq!(c.cmd(&["DBSIZE"]), Resp::Int(1));
    // In MULTI even queueing is refused, and EXEC then aborts.
    assert_eq!(c.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "k"]), err(OOM));
    assert_eq!(c.cmd(&["EXEC"]), err("EXECABORT Transaction discarded because of previous errors."));
    assert_eq!(c.cmd(&["DEL", "k"]), Resp::Int(1));
    let stats = info_fields(&mut c, "stats");
    assert_eq!(stats["evicted_keys"], "0");
    assert!(stats["total_eviction_exceeded_time"].parse::<u64>().is_ok());
    let errors = info_fields(&mut c, "errorstats");
    assert_eq!(errors["errorstat_OOM"], "count=4");
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "k2", "v"]), Resp::ok());
}

#[test]
fn exec_of_a_transaction_queued_before_the_limit_is_refused_if_it_writes() {
    let s = TestServer::start();
    let mut c = s.raw();
    let mut admin = s.raw();
    assert_eq!(c.cmd(&["MULTI"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "a", "1"]), Resp::Simple("QUEUED".into()));
    assert_eq!(admin.cmd(&["CONFIG", "SET", "maxmemory", "1"]), Resp::ok());
    assert_eq!(c.cmd(&["EXEC"]), err(&format!("EXECABORT Transaction discarded because of: {OOM}")));
    // The transaction is gone.
    assert_eq!(c.cmd(&["EXEC"]), err("ERR EXEC without MULTI"));
    assert_eq!(admin.cmd(&["CONFIG", "SET", "maxmemory", "0"]), Resp::ok());
    assert_eq!(c.cmd(&["EXISTS", "a"]), Resp::Int(0));
}

/// Key classes of the policy tests, 400 keys of 1000 bytes each.
const CLASS_KEYS: usize = 400;

/// Creates `CLASS_KEYS` keys named `{class}:{i}` from a DUMP payload with
/// RESTORE's TTL (ms, 0 = none) and access data (`IDLETIME n` / `FREQ n`).
fn restore_class(c: &mut common::RawConn, payload: &[u8], class: &str, ttl_ms: u64, access: &[&str]) {
    let ttl = ttl_ms.to_string();
    for i in 0..CLASS_KEYS {
        let key = format!("{class}:{i}");
        let mut args: Vec<&[u8]> = vec![b"RESTORE", key.as_bytes(), ttl.as_bytes(), payload];
        args.extend(access.iter().map(|a| a.as_bytes()));
        c.send_cmd(&args);
    }
    for _ in 0..CLASS_KEYS {
        assert_eq!(c.read(), Resp::ok());
    }
}

/// How many keys of a class are left (EXISTS does not touch them).
fn left(c: &mut common::RawConn, class: &str) -> usize {
    let keys: Vec<String> = (0..CLASS_KEYS).map(|i| format!("{class}:{i}")).collect();
    let mut args = vec!["EXISTS"];
    args.extend(keys.iter().map(String::as_str));
    int(c.cmd(&args)) as usize
}

/// Lowers maxmemory by about `keys` keys' worth, lets commands evict,
/// lifts the limit again and returns how many keys went.
fn squeeze(c: &mut common::RawConn, keys: u64) -> u64 {
    let used = info_u64(c, "memory", "used_memory");
    let before = int(c.cmd(&["DBSIZE"]));
    let max = used - keys * 1100;
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", &max.to_string()]), Resp::ok());
    // Each command evicts before it runs, for up to 500us (tenacity 10),
    // until memory is under the limit (give or take INFO's own reply).
    let fits = (0..200).any(|_| {
        assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
        info_u64(c, "memory", "used_memory") <= max + 64 * 1024
    });
    assert!(fits, "still over {max}");
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), Resp::ok());
    let gone = (before - int(c.cmd(&["DBSIZE"]))) as u64;
    assert_eq!(info_u64(c, "stats", "evicted_keys"), gone);
    gone
}

fn payload(c: &mut common::RawConn) -> Vec<u8> {
    assert_eq!(c.cmd(&["SET", "template", &"x".repeat(1000)]), Resp::ok());
    let Resp::Bulk(Some(p)) = c.cmd(&["DUMP", "template"]) else { panic!("DUMP") };
    assert_eq!(c.cmd(&["DEL", "template"]), Resp::Int(1));
    p
}

/// Under `policy`: cold and hot keys, each with and without an expire.
/// Returns the keys left per class (cold-plain, cold-volatile, hot-plain,
/// hot-volatile) after evicting about 200.
fn evict_under(policy: &str) -> [usize; 4] {
    let s = TestServer::start_with(&["--maxmemory-policy", policy]);
    let mut c = s.raw();
    let p = payload(&mut c);
    let (cold, hot): (&[&str], &[&str]) =
        if policy.ends_with("-lfu") { (&["FREQ", "0"], &["FREQ", "255"]) } else { (&["IDLETIME", "100000"], &[]) };
    restore_class(&mut c, &p, "cold-plain", 0, cold);
    restore_class(&mut c, &p, "cold-volatile", 10_000_000, cold);
    restore_class(&mut c, &p, "hot-plain", 0, hot);
    restore_class(&mut c, &p, "hot-volatile", 10_000_000, hot);
    let evicted = squeeze(&mut c, 200);
    assert!((150..400).contains(&evicted), "{policy}: {evicted} keys evicted");
    ["cold-plain", "cold-volatile", "hot-plain", "hot-volatile"].map(|class| left(&mut c, class))
}

/// Hot keys the approximated LRU/LFU may still evict: while the pool is
/// nearly empty (the first rounds) a sample can hold hot keys only.
const HOT_SLACK: usize = 5;

#[test]
fn allkeys_lru_evicts_the_idle_keys() {
    let [cold_plain, cold_volatile, hot_plain, hot_volatile] = evict_under("allkeys-lru");
    assert!(hot_plain + hot_volatile >= 2 * CLASS_KEYS - HOT_SLACK, "{hot_plain} {hot_volatile}");
    assert!(cold_plain < CLASS_KEYS && cold_volatile < CLASS_KEYS);
}

#[test]
fn allkeys_lfu_evicts_the_rarely_used_keys() {
    let [cold_plain, cold_volatile, hot_plain, hot_volatile] = evict_under("allkeys-lfu");
    assert!(hot_plain + hot_volatile >= 2 * CLASS_KEYS - HOT_SLACK, "{hot_plain} {hot_volatile}");
    assert!(cold_plain < CLASS_KEYS && cold_volatile < CLASS_KEYS);
}

#[test]
fn volatile_lru_evicts_only_idle_keys_with_an_expire() {
    let [cold_plain, cold_volatile, hot_plain, hot_volatile] = evict_under("volatile-lru");
    assert_eq!((cold_plain, hot_plain), (CLASS_KEYS, CLASS_KEYS));
    assert!(hot_volatile >= CLASS_KEYS - HOT_SLACK, "{hot_volatile}");
    assert!(cold_volatile < CLASS_KEYS - 100);
}

#[test]
fn volatile_lfu_evicts_only_rarely_used_keys_with_an_expire() {
    let [cold_plain, cold_volatile, hot_plain, hot_volatile] = evict_under("volatile-lfu");
    assert_eq!((cold_plain, hot_plain), (CLASS_KEYS, CLASS_KEYS));
    assert!(hot_volatile >= CLASS_KEYS - HOT_SLACK, "{hot_volatile}");
    assert!(cold_volatile < CLASS_KEYS - 100);
}

#[test]
fn allkeys_random_evicts_from_every_class() {
    let left = evict_under("allkeys-random");
    assert!(left.iter().all(|&n| n < CLASS_KEYS), "{left:?}");
}

#[test]
fn volatile_random_evicts_only_keys_with_an_expire() {
    let [cold_plain, cold_volatile, hot_plain, hot_volatile] = evict_under("volatile-random");
    assert_eq!((cold_plain, hot_plain), (CLASS_KEYS, CLASS_KEYS));
    assert!(cold_volatile < CLASS_KEYS && hot_volatile < CLASS_KEYS);
}

#[test]
fn volatile_ttl_evicts_the_soonest_to_expire() {
    let s = TestServer::start_with(&["--maxmemory-policy", "volatile-ttl"]);
    let mut c = s.raw();
    let p = payload(&mut c);
    restore_class(&mut c, &p, "plain", 0, &[]);
    restore_class(&mut c, &p, "soon", 1_000_000, &[]);
    restore_class(&mut c, &p, "late", 100_000_000, &[]);
    let evicted = squeeze(&mut c, 200);
    assert!(evicted >= 150);
    assert_eq!(left(&mut c, "plain"), CLASS_KEYS);
    let late_evicted = CLASS_KEYS - left(&mut c, "late");
    assert!(late_evicted <= HOT_SLACK, "{late_evicted} of the later keys evicted");
    assert_eq!(left(&mut c, "soon"), CLASS_KEYS - evicted as usize + late_evicted);
}

#[test]
fn volatile_policies_without_volatile_keys_refuse_writes() {
    let s = TestServer::start_with(&["--maxmemory-policy", "volatile-lru"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v"]), Resp::ok());
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "1"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "k2", "v"]), err(OOM));
    assert_eq!(c.cmd(&["DBSIZE"]), Resp::Int(1));
    // allkeys-lru can free memory: everything goes, and still over the
    // limit, writes fail.
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "k2", "v"]), err(OOM));
    assert_eq!(c.cmd(&["DBSIZE"]), Resp::Int(0));
    assert_eq!(info_u64(&mut c, "stats", "evicted_keys"), 1);
}

#[test]
fn evictions_raise_evicted_events() {
    let s = TestServer::start_with(&["--maxmemory-policy", "allkeys-random", "--notify-keyspace-events", "Ee"]);
    let mut c = s.raw();
    let mut sub = s.raw();
    assert_eq!(
        sub.cmd(&["SUBSCRIBE", "__keyevent@3__:evicted"]),
        Resp::Array(Some(vec![Resp::bulk("subscribe"), Resp::bulk("__keyevent@3__:evicted"), Resp::Int(1)]))
    );
    assert_eq!(c.cmd(&["SELECT", "3"]), Resp::ok());
    for k in ["a", "b", "c"] {
        assert_eq!(c.cmd(&["SET", k, "v"]), Resp::ok());
    }
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "1"]), Resp::ok());
    assert_eq!(c.cmd(&["GET", "a"]), Resp::Bulk(None));
    let mut evicted: Vec<String> = (0..3)
        .map(|_| match sub.read() {
            Resp::Array(Some(m)) => {
                assert_eq!(m[..2], [Resp::bulk("message"), Resp::bulk("__keyevent@3__:evicted")]);
                match &m[2] {
                    Resp::Bulk(Some(k)) => String::from_utf8_lossy(k).into_owned(),
                    other => panic!("key: {other:?}"),
                }
            }
            other => panic!("message: {other:?}"),
        })
        .collect();
    evicted.sort();
    assert_eq!(evicted, ["a", "b", "c"]);
    assert_eq!(info_u64(&mut c, "stats", "evicted_keys"), 3);
}

#[test]
fn lowering_maxmemory_evicts_without_any_command() {
    let s = TestServer::start_with(&["--maxmemory-policy", "allkeys-lru", "--enable-debug-command", "yes"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["DEBUG", "POPULATE", "1000", "k", "1000"]), Resp::ok());
    let mut admin = s.raw();
    let used = info_u64(&mut admin, "memory", "used_memory");
    assert_eq!(admin.cmd(&["CONFIG", "SET", "maxmemory", &(used - 300_000).to_string()]), Resp::ok());
    // The cron (10 times a second) does it; INFO itself does not evict.
    std::thread::sleep(std::time::Duration::from_millis(500));
    let Resp::Bulk(Some(text)) = admin.cmd(&["INFO", "stats"]) else { panic!("INFO") };
    let text = String::from_utf8_lossy(&text).into_owned();
    assert!(!text.contains("\r\nevicted_keys:0\r\n"), "{text}");
}

#[test]
fn info_memory_fields_are_sane() {
    let s = TestServer::start_with(&["--enable-debug-command", "yes"]);
    let mut c = s.raw();
    let before = info_fields(&mut c, "memory");
    assert_eq!(c.cmd(&["DEBUG", "POPULATE", "100000", "key", "100"]), Resp::ok());
    let m = info_fields(&mut c, "memory");
    let n = |k: &str| m[k].parse::<u64>().unwrap_or_else(|_| panic!("{k}: {}", m[k]));
    let used = n("used_memory");
    // 100k keys of 100 bytes take well over 10 MB (Redis: about 15 MB).
    assert!(used > before["used_memory"].parse::<u64>().unwrap_or(0) + 10_000_000, "{used}");
    assert!(n("used_memory_rss") > used / 2);
    assert!(n("used_memory_peak") >= used);
    assert!(n("used_memory_startup") > 0 && n("used_memory_startup") < used);
    assert_eq!(n("used_memory_dataset") + n("used_memory_overhead"), used);
    assert!(n("used_memory_dataset") > n("used_memory_overhead"));
    assert!(n("mem_clients_normal") > 0);
    assert!(m["used_memory_human"].ends_with('M'));
    assert!(m["mem_fragmentation_ratio"].parse::<f64>().is_ok_and(|r| r > 0.5 && r < 3.0));
    assert_eq!(m["maxmemory"], "0");
    assert_eq!(m["maxmemory_human"], "0B");
    assert_eq!(m["maxmemory_policy"], "noeviction");
    assert_eq!(m["mem_allocator"], "jemalloc-5.3.0");
    assert!(n("allocator_allocated") <= n("allocator_active") && n("allocator_active") <= n("allocator_resident"));
    assert!(n("allocator_allocated") > used / 2 && n("allocator_resident") > used / 2);
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "100mb", "maxmemory-policy", "allkeys-lfu"]), Resp::ok());
    let m = info_fields(&mut c, "memory");
    assert_eq!((m["maxmemory"].as_str(), m["maxmemory_human"].as_str()), ("104857600", "100.00M"));
    assert_eq!(m["maxmemory_policy"], "allkeys-lfu");
    // Deleting the keys gives their memory back.
    assert_eq!(c.cmd(&["FLUSHALL"]), Resp::ok());
    assert!(info_u64(&mut c, "memory", "used_memory") < used / 4);
}

#[test]
fn memory_usage_grows_with_the_value() {
    let s = TestServer::start();
    let mut c = s.raw();
    let usage = |c: &mut common::RawConn, k: &str| int(c.cmd(&["MEMORY", "USAGE", k]));
    assert_eq!(c.cmd(&["SET", "int", "12345"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "short", "abc"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "embstr", &"x".repeat(40)]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "raw", &"x".repeat(1000)]), Resp::ok());
    let (i, short, emb, raw) =
        (usage(&mut c, "int"), usage(&mut c, "short"), usage(&mut c, "embstr"), usage(&mut c, "raw"));
    assert!(i > 0 && i <= short && short < emb && emb < raw, "{i} {short} {emb} {raw}");
    assert!((1000..1300).contains(&raw), "{raw}");
    for j in 0..10 {
        c.cmd(&["HSET", "small-hash", &format!("f{j}"), "v"]);
    }
    for j in 0..1000 {
        c.cmd(&["HSET", "big-hash", &format!("f{j}"), "value"]);
        c.cmd(&["RPUSH", "list", &format!("element-{j}")]);
        c.cmd(&["SADD", "set", &format!("member-{j}")]);
        c.cmd(&["ZADD", "zset", &j.to_string(), &format!("member-{j}")]);
        c.cmd(&["XADD", "stream", "*", "field", &format!("value-{j}")]);
    }
    let small = usage(&mut c, "small-hash");
    assert!(small < usage(&mut c, "big-hash"));
    for k in ["big-hash", "list", "set", "zset", "stream"] {
        let n = usage(&mut c, k);
        assert!((5_000..200_000).contains(&n), "{k}: {n}");
        // Sampling all elements gives about the same estimate.
        let all = int(c.cmd(&["MEMORY", "USAGE", k, "SAMPLES", "0"]));
        assert!(all as f64 / n as f64 > 0.7 && (all as f64 / n as f64) < 1.3, "{k}: {n} vs {all}");
    }
    assert_eq!(c.cmd(&["MEMORY", "USAGE", "missing"]), Resp::Bulk(None));
    assert_eq!(c.cmd(&["MEMORY", "USAGE", "int", "SAMPLES"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["MEMORY", "USAGE", "int", "SAMPLES", "-1"]), err("ERR syntax error"));
    assert_eq!(c.cmd(&["MEMORY", "USAGE", "int", "SAMPLES", "x"]), err("ERR value is not an integer or out of range"));
    assert_eq!(c.cmd(&["MEMORY", "USAGE", "int", "FOO", "1"]), err("ERR syntax error"));
}

#[test]
fn memory_stats_doctor_purge() {
    let s = TestServer::start();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v"]), Resp::ok());
    assert_eq!(c.cmd(&["SELECT", "5"]), Resp::ok());
    assert_eq!(c.cmd(&["SET", "k", "v", "EX", "100"]), Resp::ok());
    let Resp::Array(Some(stats)) = c.cmd(&["MEMORY", "STATS"]) else { panic!("MEMORY STATS") };
    let names: Vec<String> = stats
        .iter()
        .step_by(2)
        .map(|n| match n {
            Resp::Bulk(Some(b)) => String::from_utf8_lossy(b).into_owned(),
            other => panic!("name {other:?}"),
        })
        .collect();
    assert_eq!(
        names,
        [
            "peak.allocated",
            "total.allocated",
            "startup.allocated",
            "replication.backlog",
            "clients.slaves",
            "clients.normal",
            "cluster.links",
            "aof.buffer",
            "lua.caches",
            "functions.caches",
            "db.0",
            "db.5",
            "overhead.total",
            "keys.count",
            "keys.bytes-per-key",
            "dataset.bytes",
            "dataset.percentage",
            "peak.percentage",
            "allocator.allocated",
            "allocator.active",
            "allocator.resident",
            "allocator-fragmentation.ratio",
            "allocator-fragmentation.bytes",
            "allocator-rss.ratio",
            "allocator-rss.bytes",
            "rss-overhead.ratio",
            "rss-overhead.bytes",
            "fragmentation",
            "fragmentation.bytes",
        ]
    );
    assert_eq!(stats[27], Resp::Int(2), "keys.count");
    let Resp::Array(Some(db5)) = &stats[23] else { panic!("db.5: {:?}", stats[23]) };
    assert_eq!(db5[0], Resp::bulk("overhead.hashtable.main"));
    assert_eq!(db5[2], Resp::bulk("overhead.hashtable.expires"));
    assert!(matches!(db5[3], Resp::Int(n) if n > 0));
    assert_eq!(db5[4..], [Resp::bulk("overhead.hashtable.slot-to-keys"), Resp::Int(0)]);
    let Resp::Bulk(Some(doctor)) = c.cmd(&["MEMORY", "DOCTOR"]) else { panic!("MEMORY DOCTOR") };
    assert!(String::from_utf8_lossy(&doctor).starts_with("Hi Sam, this instance is empty"));
    assert_eq!(c.cmd(&["MEMORY", "PURGE"]), Resp::ok());
    let Resp::Bulk(Some(stats)) = c.cmd(&["MEMORY", "MALLOC-STATS"]) else { panic!("MEMORY MALLOC-STATS") };
    assert!(String::from_utf8_lossy(&stats).starts_with("___ Begin jemalloc statistics ___"));
    let Resp::Array(Some(help)) = c.cmd(&["MEMORY", "HELP"]) else { panic!("MEMORY HELP") };
    assert_eq!(help.len(), 14);
    assert_eq!(c.cmd(&["MEMORY", "nope"]), err("ERR unknown subcommand 'nope'. Try MEMORY HELP."));
}

#[test]
fn object_freq_and_idletime_follow_the_policy() {
    let s = TestServer::start();
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SET", "k", "v"]), Resp::ok());
    let Resp::Bulk(Some(p)) = c.cmd(&["DUMP", "k"]) else { panic!("DUMP") };
    let mut args: Vec<&[u8]> = vec![b"RESTORE", b"old", b"0", &p, b"IDLETIME", b"500"];
    c.send_cmd(&args);
    assert_eq!(c.read(), Resp::ok());
    assert!((500..=501).contains(&int(c.cmd(&["OBJECT", "IDLETIME", "old"]))));
    assert!(int(c.cmd(&["OBJECT", "IDLETIME", "k"])) <= 1);
    assert_eq!(
        c.cmd(&["OBJECT", "FREQ", "k"]),
        err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
    );
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory-policy", "volatile-lfu"]), Resp::ok());
    assert_eq!(
        c.cmd(&["OBJECT", "IDLETIME", "k"]),
        err("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
    );
    args = vec![b"RESTORE", b"hot", b"0", &p, b"FREQ", b"200"];
    c.send_cmd(&args);
    assert_eq!(c.read(), Resp::ok());
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "hot"]), Resp::Int(200));
    // A new key starts at LFU_INIT_VAL; the first hits count for sure.
    assert_eq!(c.cmd(&["SET", "new", "v"]), Resp::ok());
    assert_eq!(c.cmd(&["OBJECT", "FREQ", "new"]), Resp::Int(5));
    c.cmd(&["GET", "new"]);
    assert!(int(c.cmd(&["OBJECT", "FREQ", "new"])) <= 6);
    for _ in 0..1000 {
        c.cmd(&["GET", "new"]);
    }
    let freq = int(c.cmd(&["OBJECT", "FREQ", "new"]));
    assert!((7..=30).contains(&freq), "freq after 1000 hits: {freq}");
}

#[test]
fn a_background_save_keeps_the_keys_evicted_while_it_runs() {
    // About one key per 20us: the walk takes a while.
    let s = TestServer::start_with(&[
        "--maxmemory-policy",
        "allkeys-random",
        "--rdb-key-save-delay",
        "20",
        "--enable-debug-command",
        "yes",
    ]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["DEBUG", "POPULATE", "5000", "key", "500"]), Resp::ok());
    let used = info_u64(&mut c, "memory", "used_memory");
    assert_eq!(c.cmd(&["BGSAVE"]), Resp::Simple("Background saving started".into()));
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", &(used - 1_000_000).to_string()]), Resp::ok());
    loop {
        assert_eq!(c.cmd(&["PING"]), Resp::Simple("PONG".into()));
        if info_fields(&mut c, "persistence")["rdb_bgsave_in_progress"] == "0" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(info_fields(&mut c, "persistence")["rdb_last_bgsave_status"], "ok");
    // Still above the limit, the cron goes on evicting: stop it before
    // comparing the count with the keys left.
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), Resp::ok());
    let evicted = info_u64(&mut c, "stats", "evicted_keys");
    assert!(evicted > 500, "{evicted} evicted");
    assert_eq!(int(c.cmd(&["DBSIZE"])), 5000 - evicted as i64);
    // The file holds the dataset as it was when BGSAVE started.
    let dir = s.dir.to_string_lossy().into_owned();
    let loaded = TestServer::start_with(&["--dir", &dir]);
    assert_eq!(loaded.raw().cmd(&["DBSIZE"]), Resp::Int(5000));
}

#[test]
fn evicted_keys_reach_the_aof_as_del() {
    let s = TestServer::start_with(&["--maxmemory-policy", "allkeys-random", "--appendonly", "yes"]);
    let mut c = s.raw();
    assert_eq!(c.cmd(&["SELECT", "2"]), Resp::ok());
    for k in ["evict:a", "evict:b"] {
        assert_eq!(c.cmd(&["SET", k, "v"]), Resp::ok());
    }
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "1"]), Resp::ok());
    assert_eq!(c.cmd(&["DBSIZE"]), Resp::Int(0));
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "0"]), Resp::ok());
    let incr = s.dir.join("appendonlydir/appendonly.aof.1.incr.aof");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let aof = std::fs::read_to_string(&incr).unwrap_or_default();
        let dels = ["evict:a", "evict:b"]
            .iter()
            .filter(|k| aof.contains(&format!("*2\r\n$3\r\nDEL\r\n${}\r\n{k}\r\n", k.len())))
            .count();
        if dels == 2 {
            assert!(aof.contains("*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"), "{aof:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no DEL of the evicted keys in the AOF: {aof:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The server's resident set size, read from /proc without talking to it
/// (a command would itself give jemalloc the activity that purges).
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    let kb = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).expect("VmRSS");
    kb.trim().trim_end_matches("kB").trim().parse::<u64>().expect("VmRSS number") * 1024
}

#[test]
fn freed_memory_goes_back_to_the_system_on_its_own() {
    // jemalloc-bg-thread yes (the default, as Redis): pages freed by a
    // FLUSHALL are returned after jemalloc's decay time with no further
    // command.
    let srv = TestServer::start();
    let mut c = srv.raw();
    let value = "v".repeat(200);
    let mut batch = Vec::new();
    for i in 0..200_000 {
        batch.extend_from_slice(&common::encode_cmd(&[b"SET", format!("key:{i}").as_bytes(), value.as_bytes()]));
        if i % 1000 == 999 {
            c.send(&batch);
            batch.clear();
            for _ in 0..1000 {
                assert_eq!(c.read(), Resp::ok());
            }
        }
    }
    let full = rss_bytes(srv.pid());
    assert!(full > 60 << 20, "{full}");
    assert_eq!(c.cmd(&["FLUSHALL", "SYNC"]), Resp::ok());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while rss_bytes(srv.pid()) > full / 3 {
        assert!(std::time::Instant::now() < deadline, "RSS {} of {full} still held after 30 s", rss_bytes(srv.pid()));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}
