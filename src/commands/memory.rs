//! MEMORY USAGE / STATS / DOCTOR / MALLOC-STATS / PURGE / HELP, and the
//! INFO memory section: what the counting allocator (src/alloc.rs) and the
//! process report, broken down as Redis's `getMemoryOverheadData`.
//!
//! MEMORY USAGE estimates oxkey's own footprint of a key the way Redis
//! estimates its own: the keyspace entry, the key, and the value, whose
//! big collections are measured on `SAMPLES` elements and extrapolated.
//! Every block counts as the chunk the allocator carves for it.

use std::fmt::Write as _;

use bytes::Bytes;

use super::docs::*;
use super::{flags::*, keys, CommandDef, Ctx, NO_ELEMENTS, NO_KEYS};
use super::{key_spec, BeginSearch, FindKeys};
use crate::alloc::chunk_size;
use crate::cmd;
use crate::commands::server::{bytes_to_human, for_each_client, MemoryStats};
use crate::db::key::INLINE_MAX;
use crate::db::value::Str;
use crate::db::{Key, Obj, Value};
use crate::types::dict::Dict;
use crate::types::{hash::Hash, list::List, set::Set, stream::Stream, zset::ZSet};
use crate::util::{eq_ic, parse_i64};

pub static COMMANDS: &[CommandDef] = &[CommandDef {
    name: "memory",
    arity: -2,
    flags: 0,
    acl: 0,
    keys: NO_KEYS,
    key_specs: &[],
    key_finder: None,
    elements: NO_ELEMENTS,
    handler: None,
    subcommands: &[
        cmd!("doctor", 2, 0, 0, NO_KEYS, memory_doctor, "server", "4.0.0", "O(1)", "Outputs a memory problems report.")
            .with_tips(&["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
        cmd!(
            "help",
            2,
            LOADING | STALE,
            0,
            NO_KEYS,
            memory_help,
            "server",
            "4.0.0",
            "O(1)",
            "Returns helpful text about the different subcommands."
        ),
        cmd!(
            "malloc-stats",
            2,
            0,
            0,
            NO_KEYS,
            memory_malloc_stats,
            "server",
            "4.0.0",
            "Depends on how much memory is allocated, could be slow",
            "Returns the allocator statistics."
        )
        .with_tips(&["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
        cmd!(
            "purge",
            2,
            0,
            0,
            NO_KEYS,
            memory_purge,
            "server",
            "4.0.0",
            "Depends on how much memory is allocated, could be slow",
            "Asks the allocator to release memory."
        )
        .with_tips(&["request_policy:all_shards", "response_policy:all_succeeded"]),
        cmd!("stats", 2, 0, 0, NO_KEYS, memory_stats, "server", "4.0.0", "O(1)", "Returns details about memory usage.")
            .with_tips(&["nondeterministic_output", "request_policy:all_shards", "response_policy:special"]),
        cmd!(
            "usage",
            -3,
            READONLY,
            0,
            keys(2, 2, 1),
            memory_usage,
            "server",
            "4.0.0",
            "O(N) where N is the number of samples.",
            "Estimates the memory usage of a key."
        )
        .with_args(&[key("key", 0), integer("count").token("SAMPLES").optional()])
        .with_key_specs(&[key_spec(
            &["RO"],
            BeginSearch::Index(2),
            FindKeys::Range { lastkey: 0, step: 1, limit: 0 },
        )]),
    ],
    docs: NO_DOCS,
    tips: &[],
    group: "server",
    summary: "A container for memory diagnostics commands.",
    since: "4.0.0",
    complexity: "Depends on subcommand.",
}];

/// Elements sampled by default (Redis's OBJ_COMPUTE_SIZE_DEF_SAMPLES).
const DEFAULT_SAMPLES: usize = 5;

/// Heap bytes of a block of `n` bytes (nothing for an empty one, which
/// Rust does not allocate).
fn heap(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        chunk_size(n, 8)
    }
}

/// A boxed struct of type T.
fn boxed<T>() -> usize {
    chunk_size(std::mem::size_of::<T>(), std::mem::align_of::<T>())
}

/// A dict's own memory: its header and bucket arrays (the entries are
/// counted by the caller).
fn dict_tables<K: std::hash::Hash + Eq, V>(d: &Dict<K, V>) -> usize {
    chunk_size(std::mem::size_of_val(&**d), 8) + heap(d.slots() * std::mem::size_of::<usize>())
}

/// `total` elements estimated from the average of the first `samples`
/// (`sizes` yields each one's bytes).
fn extrapolate(total: usize, samples: usize, sizes: impl Iterator<Item = usize>) -> usize {
    let (mut n, mut sum) = (0usize, 0usize);
    for s in sizes.take(samples) {
        n += 1;
        sum += s;
    }
    if n == 0 {
        0
    } else {
        (sum as f64 / n as f64 * total as f64) as usize
    }
}

/// The memory of a key in the keyspace: its entry, its name and its value.
pub fn key_usage(key: &[u8], obj: &Obj, samples: usize) -> usize {
    // Short names live inside the entry; longer ones in a block that
    // starts with their length.
    let name = if key.len() > INLINE_MAX { heap(std::mem::size_of::<usize>() + key.len()) } else { 0 };
    chunk_size(Dict::<Key, Obj>::entry_size(), 8) + name + value_usage(&obj.val, samples)
}

/// The heap memory of a value beyond the object itself.
pub fn value_usage(v: &Value, samples: usize) -> usize {
    match v {
        Value::Int(_) | Value::Str(Str::Inline { .. }) => 0,
        Value::Str(Str::Boxed(b)) => heap(b.len()),
        Value::Str(Str::Raw(b)) => boxed::<Vec<u8>>() + heap(b.capacity()),
        Value::List(l) => boxed::<List>() + list_usage(l, samples),
        Value::Hash(h) => hash_usage(h, samples),
        Value::Set(s) => boxed::<Set>() + set_usage(s, samples),
        Value::ZSet(z) => zset_usage(z, samples),
        Value::Stream(s) => boxed::<Stream>() + stream_usage(s),
    }
}

fn list_usage(l: &List, samples: usize) -> usize {
    // The node ring (a listpack header of 24 bytes per node) and the nodes.
    let nodes = l.node_count();
    heap(nodes * 24) + extrapolate(nodes, samples, l.nodes().map(|n| heap(n.allocated())))
}

fn hash_usage(h: &Hash, samples: usize) -> usize {
    match h {
        Hash::Pack(lp) => heap(lp.allocated()),
        Hash::Table(d) => {
            let entry = chunk_size(Dict::<Box<[u8]>, Box<[u8]>>::entry_size(), 8);
            dict_tables(d) + extrapolate(d.len(), samples, d.iter().map(|(f, v)| entry + heap(f.len()) + heap(v.len())))
        }
    }
}

fn set_usage(s: &Set, samples: usize) -> usize {
    match s {
        Set::Ints(is) => heap(is.allocated()),
        Set::Pack(lp) => heap(lp.allocated()),
        Set::Table(d) => {
            let entry = chunk_size(Dict::<Box<[u8]>, ()>::entry_size(), 8);
            dict_tables(d) + extrapolate(d.len(), samples, d.keys().map(|m| entry + heap(m.len())))
        }
    }
}

fn zset_usage(z: &ZSet, samples: usize) -> usize {
    match z {
        ZSet::Pack(lp) => heap(lp.allocated()),
        ZSet::Skip(sorted) => {
            let dict = &sorted.dict;
            let entry = chunk_size(Dict::<Box<[u8]>, f64>::entry_size(), 8);
            // The skiplist keeps its own copy of each member (a slot and a
            // block) and a node of 3 words plus 4/3 levels on average.
            const NODE: usize = (3 * 3 + 4) * 8 / 3;
            let slot = std::mem::size_of::<Box<[u8]>>();
            let per_member = dict.keys().map(|m| entry + 2 * heap(m.len()) + slot + NODE);
            boxed::<crate::types::zset::Sorted>() + dict_tables(dict) + extrapolate(dict.len(), samples, per_member)
        }
    }
}

fn stream_usage(s: &Stream) -> usize {
    // Entries are packed in nodes; the groups' pending lists cost a B-tree
    // entry per pending ID, in the group and in its consumer.
    const PEL_ENTRY: usize = 16 + 24 + 8;
    let groups: usize = s
        .groups
        .iter()
        .map(|(name, g)| {
            let consumers: usize = g.consumers().map(|c| 64 + heap(c.name.len()) + c.pel.len() * 24).sum();
            128 + heap(name.len()) + g.pel.len() * PEL_ENTRY + consumers
        })
        .sum();
    s.entries.allocated() + groups
}

fn memory_usage(ctx: &mut Ctx, args: &[Bytes]) {
    let mut samples = DEFAULT_SAMPLES;
    let mut j = 3;
    while j < args.len() {
        if eq_ic(&args[j], "samples") && j + 1 < args.len() {
            match parse_i64(&args[j + 1]) {
                None => return ctx.not_integer(),
                Some(n) if n < 0 => return ctx.syntax_error(),
                Some(0) => samples = usize::MAX,
                Some(n) => samples = n as usize,
            }
            j += 2;
        } else {
            return ctx.syntax_error();
        }
    }
    // As Redis, the entry is read as it is: no expiry, no access.
    let usage = ctx.db().dict.get_key_value(&args[2][..]).map(|(k, o)| key_usage(k, o, samples));
    match usage {
        Some(n) => ctx.out().int(n as i64),
        None => ctx.out().null(),
    }
}

/// Redis's `redisMemOverhead`: where the allocated memory goes.
pub struct Overhead {
    pub used: u64,
    pub peak: u64,
    pub startup: u64,
    pub rss: u64,
    pub clients_normal: u64,
    pub aof_buffer: u64,
    /// (db, main dict, expires dict) for each db with keys.
    pub dbs: Vec<(usize, u64, u64)>,
    pub keys: u64,
    pub total: u64,
    pub dataset: u64,
}

impl Overhead {
    pub fn measure(ctx: &Ctx) -> Overhead {
        let m = MemoryStats::read();
        let startup = crate::alloc::startup() as u64;
        let mut clients_normal = 0u64;
        for_each_client(ctx, |c| clients_normal += c.memory(0) as u64);
        let main_entry = chunk_size(Dict::<Key, Obj>::entry_size(), 8) as u64;
        let expires_entry = chunk_size(Dict::<Key, i64>::entry_size(), 8) as u64;
        let slot = std::mem::size_of::<usize>() as u64;
        let mut dbs = Vec::new();
        let mut keys = 0;
        let aof_buffer = ctx.srv.persistence.aof.buffer_len() as u64;
        let mut total = startup + clients_normal + aof_buffer;
        for db in ctx.srv.dbs.iter().filter(|d| !d.is_empty()) {
            let main = db.dict.len() as u64 * main_entry + db.dict.slots() as u64 * slot;
            let expires = db.volatile.len() as u64 * expires_entry + db.volatile.slots() as u64 * slot;
            keys += db.dict.len() as u64;
            total += main + expires;
            dbs.push((db.id, main, expires));
        }
        let dataset = m.used.saturating_sub(total);
        Overhead {
            used: m.used,
            peak: m.peak,
            startup,
            rss: m.rss,
            clients_normal,
            aof_buffer,
            dbs,
            keys,
            total,
            dataset,
        }
    }

    /// The dataset's share of what was allocated since start-up.
    pub fn dataset_perc(&self) -> f64 {
        let net = self.used.saturating_sub(self.startup).max(1);
        self.dataset as f64 * 100.0 / net as f64
    }

    pub fn peak_perc(&self) -> f64 {
        ratio(self.used * 100, self.peak)
    }

    pub fn fragmentation(&self) -> f64 {
        ratio(self.rss, self.used)
    }
}

/// jemalloc's allocated, active and resident bytes; without its
/// statistics, what Redis reports then: the counted memory as allocated
/// and the RSS as active and resident.
fn allocator_figures(o: &Overhead) -> (u64, u64, u64) {
    match crate::alloc::allocator_stats() {
        (0, _, _) => (o.used, o.rss, o.rss),
        figures => figures,
    }
}

/// `a / b`, with 0 for b = 0.
fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Appends `name:value\r\n`.
macro_rules! field {
    ($s:expr, $name:literal, $($value:tt)+) => {
        let _ = write!($s, concat!($name, ":{}\r\n"), format_args!($($value)+));
    };
}

/// The `# Memory` section of INFO, with Redis 7.0's fields in its order.
pub fn info_section(ctx: &Ctx, s: &mut String) {
    let o = Overhead::measure(ctx);
    let total_system = MemoryStats::read().total_system;
    let maxmemory = crate::db::evict::maxmemory();
    let policy = ctx.srv.config.get("maxmemory-policy").unwrap_or("noeviction");
    let (allocated, active, resident) = allocator_figures(&o);
    field!(s, "used_memory", "{}", o.used);
    field!(s, "used_memory_human", "{}", bytes_to_human(o.used));
    field!(s, "used_memory_rss", "{}", o.rss);
    field!(s, "used_memory_rss_human", "{}", bytes_to_human(o.rss));
    field!(s, "used_memory_peak", "{}", o.peak);
    field!(s, "used_memory_peak_human", "{}", bytes_to_human(o.peak));
    field!(s, "used_memory_peak_perc", "{:.2}%", o.peak_perc());
    field!(s, "used_memory_overhead", "{}", o.total);
    field!(s, "used_memory_startup", "{}", o.startup);
    field!(s, "used_memory_dataset", "{}", o.dataset);
    field!(s, "used_memory_dataset_perc", "{:.2}%", o.dataset_perc());
    field!(s, "allocator_allocated", "{allocated}");
    field!(s, "allocator_active", "{active}");
    field!(s, "allocator_resident", "{resident}");
    field!(s, "total_system_memory", "{total_system}");
    field!(s, "total_system_memory_human", "{}", bytes_to_human(total_system));
    // The interpreters' heaps (inside used_memory too, as in Redis).
    let (scripts, eval_vm) = crate::scripting::eval_stats();
    let (libraries, functions, functions_vm) = crate::scripting::functions::vm_stats();
    field!(s, "used_memory_lua", "{eval_vm}");
    field!(s, "used_memory_vm_eval", "{eval_vm}");
    field!(s, "used_memory_lua_human", "{}", bytes_to_human(eval_vm as u64));
    field!(s, "used_memory_scripts_eval", "0");
    field!(s, "number_of_cached_scripts", "{scripts}");
    field!(s, "number_of_functions", "{functions}");
    field!(s, "number_of_libraries", "{libraries}");
    field!(s, "used_memory_vm_functions", "{functions_vm}");
    field!(s, "used_memory_vm_total", "{}", eval_vm + functions_vm);
    field!(s, "used_memory_vm_total_human", "{}", bytes_to_human((eval_vm + functions_vm) as u64));
    field!(s, "used_memory_functions", "0");
    field!(s, "used_memory_scripts", "0");
    field!(s, "used_memory_scripts_human", "0B");
    field!(s, "maxmemory", "{maxmemory}");
    field!(s, "maxmemory_human", "{}", bytes_to_human(maxmemory));
    field!(s, "maxmemory_policy", "{policy}");
    field!(s, "allocator_frag_ratio", "{:.2}", ratio(active, allocated));
    field!(s, "allocator_frag_bytes", "{}", active as i64 - allocated as i64);
    field!(s, "allocator_rss_ratio", "{:.2}", ratio(resident, active));
    field!(s, "allocator_rss_bytes", "{}", resident as i64 - active as i64);
    field!(s, "rss_overhead_ratio", "{:.2}", ratio(o.rss, resident));
    field!(s, "rss_overhead_bytes", "{}", o.rss as i64 - resident as i64);
    field!(s, "mem_fragmentation_ratio", "{:.2}", o.fragmentation());
    field!(s, "mem_fragmentation_bytes", "{}", o.rss as i64 - o.used as i64);
    // The AOF buffer is left out of eviction's count (no replicas yet).
    field!(s, "mem_not_counted_for_evict", "{}", o.aof_buffer);
    for name in ["mem_replication_backlog", "mem_total_replication_buffers", "mem_clients_slaves"] {
        let _ = write!(s, "{name}:0\r\n");
    }
    field!(s, "mem_clients_normal", "{}", o.clients_normal);
    field!(s, "mem_cluster_links", "0");
    field!(s, "mem_aof_buffer", "{}", o.aof_buffer);
    field!(s, "mem_allocator", "jemalloc-5.3.0");
    field!(s, "active_defrag_running", "0");
    field!(s, "lazyfree_pending_objects", "0");
    field!(s, "lazyfreed_objects", "0");
}

fn memory_stats(ctx: &mut Ctx, _args: &[Bytes]) {
    let o = Overhead::measure(ctx);
    let (allocated, active, resident) = allocator_figures(&o);
    let frag = o.fragmentation();
    let out = ctx.out();
    out.map(27 + o.dbs.len());
    fn int(out: &mut crate::protocol::Out, name: &str, v: u64) {
        out.bulk(name.as_bytes());
        out.int(v as i64);
    }
    int(out, "peak.allocated", o.peak);
    int(out, "total.allocated", o.used);
    int(out, "startup.allocated", o.startup);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", o.clients_normal);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", o.aof_buffer);
    int(out, "lua.caches", 0);
    int(out, "functions.caches", 0);
    for &(db, main, expires) in &o.dbs {
        out.bulk(format!("db.{db}").as_bytes());
        out.map(3);
        int(out, "overhead.hashtable.main", main);
        int(out, "overhead.hashtable.expires", expires);
        // Redis's cluster-mode slot index: none here.
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", o.total);
    int(out, "keys.count", o.keys);
    int(out, "keys.bytes-per-key", o.dataset.checked_div(o.keys).unwrap_or(0));
    int(out, "dataset.bytes", o.dataset);
    out.bulk(b"dataset.percentage");
    out.double(o.dataset_perc());
    out.bulk(b"peak.percentage");
    out.double(o.peak_perc());
    int(out, "allocator.allocated", allocated);
    int(out, "allocator.active", active);
    int(out, "allocator.resident", resident);
    out.bulk(b"allocator-fragmentation.ratio");
    out.double(ratio(active, allocated));
    int(out, "allocator-fragmentation.bytes", active.saturating_sub(allocated));
    out.bulk(b"allocator-rss.ratio");
    out.double(ratio(resident, active));
    int(out, "allocator-rss.bytes", resident.saturating_sub(active));
    out.bulk(b"rss-overhead.ratio");
    out.double(ratio(o.rss, resident));
    int(out, "rss-overhead.bytes", o.rss.saturating_sub(resident));
    out.bulk(b"fragmentation");
    out.double(frag);
    int(out, "fragmentation.bytes", o.rss.saturating_sub(o.used));
}

fn memory_doctor(ctx: &mut Ctx, _args: &[Bytes]) {
    let o = Overhead::measure(ctx);
    let mut clients = 0u64;
    for_each_client(ctx, |_| clients += 1);
    let text = doctor_report(&o, clients);
    ctx.out().verbatim(text.as_bytes());
}

/// Redis's `getMemoryDoctorReport`, on oxkey's figures (the allocator's
/// fragmentation and RSS checks are left out).
fn doctor_report(o: &Overhead, clients: u64) -> String {
    if o.used < 5 << 20 {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".into();
    }
    let mut issues = Vec::new();
    if o.peak as f64 / o.used as f64 > 1.5 {
        issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n".to_string());
    }
    if o.fragmentation() > 1.4 && o.rss.saturating_sub(o.used) > 10 << 20 {
        issues.push(" * High total RSS: This instance has a memory fragmentation and RSS overhead greater than 1.4 (this means that the Resident Set Size of the Redis process is much larger than the sum of the logical allocations Redis performed). This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. If the problem is a large peak memory, then there is no issue. Otherwise, make sure you are using the Jemalloc allocator and not the default libc malloc. Note: The currently used allocator is \"jemalloc-5.3.0\".\n\n".to_string());
    }
    if clients > 0 && o.clients_normal / clients > 200 * 1024 {
        issues.push(" * Big client buffers: The clients output buffers in this instance are greater than 200K per client (on average). This may result from different causes, like Pub/Sub clients subscribed to channels bot not receiving data fast enough, so that data piles on the Redis instance output buffer, or clients sending commands with large replies or very large sequences of commands in the same pipeline. Please use the CLIENT LIST command in order to investigate the issue if it causes problems in your instance, or to understand better why certain clients are using a big amount of memory.\n\n".to_string());
    }
    if issues.is_empty() {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
            .into();
    }
    let mut s = String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    for issue in issues {
        s.push_str(&issue);
    }
    s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    s
}

fn memory_malloc_stats(ctx: &mut Ctx, _args: &[Bytes]) {
    let report = crate::alloc::malloc_stats();
    ctx.out().verbatim(report.as_bytes());
}

fn memory_purge(ctx: &mut Ctx, _args: &[Bytes]) {
    crate::alloc::purge();
    ctx.ok();
}

fn memory_help(ctx: &mut Ctx, args: &[Bytes]) {
    const HELP: &[&str] = &[
        "DOCTOR",
        "    Return memory problems reports.",
        "MALLOC-STATS",
        "    Return internal statistics report from the memory allocator.",
        "PURGE",
        "    Attempt to purge dirty pages for reclamation by the allocator.",
        "STATS",
        "    Return information about the memory usage of the server.",
        "USAGE <key> [SAMPLES <count>]",
        "    Return memory in bytes used by <key> and its value. Nested values are",
        "    sampled up to <count> times (default: 5, 0 means sample all).",
    ];
    super::introspection::reply_help(ctx, args, HELP);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_by_encoding() {
        let small = Obj::from_bytes(b"bar");
        let int = Obj::from_bytes(b"12345");
        let embstr = Obj::from_bytes(&[b'x'; 40]);
        let raw = Obj::from_bytes(&[b'x'; 400]);
        assert_eq!(key_usage(b"foo", &small, 5), key_usage(b"foo", &int, 5));
        // A 40-byte string takes a block of exactly its size.
        assert_eq!(key_usage(b"foo", &embstr, 5) - key_usage(b"foo", &small, 5), 40);
        assert!(key_usage(b"foo", &raw, 5) > 400);
        // A 100-byte name takes a 112-byte block (its length first); a
        // 3-byte one lives in the entry.
        assert_eq!(key_usage(&[b'k'; 100], &small, 5), key_usage(b"foo", &small, 5) + 112);
    }

    #[test]
    fn extrapolates_from_samples() {
        assert_eq!(extrapolate(100, 5, [10, 20, 30, 40, 50, 1000].into_iter()), 3000);
        assert_eq!(extrapolate(6, usize::MAX, [10, 20, 30, 40, 50, 1000].into_iter()), 1150);
        assert_eq!(extrapolate(0, 5, std::iter::empty()), 0);
    }

    #[test]
    fn doctor_speaks_of_what_it_sees() {
        let mut o = Overhead {
            used: 1 << 20,
            peak: 1 << 20,
            startup: 0,
            rss: 8 << 20,
            clients_normal: 0,
            aof_buffer: 0,
            dbs: Vec::new(),
            keys: 0,
            total: 0,
            dataset: 0,
        };
        assert!(doctor_report(&o, 1).starts_with("Hi Sam, this instance is empty"));
        o.used = 100 << 20;
        o.peak = 100 << 20;
        o.rss = 105 << 20;
        assert!(doctor_report(&o, 1).starts_with("Hi Sam, I can't find any memory issue"));
        o.peak = 200 << 20;
        let r = doctor_report(&o, 1);
        assert!(r.starts_with("Sam, I detected") && r.contains("Peak memory") && !r.contains("High total RSS"));
    }
}
