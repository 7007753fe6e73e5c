//! Every configuration parameter of Redis 7.2: the redis.conf-style file and
//! command-line overrides read at start-up, CONFIG GET / SET / REWRITE.
//!
//! The table below mirrors Redis's `standardConfig` table (config.c): name,
//! alias, flags, type with its bounds and default, and Redis's validation,
//! error texts and printing. Values are stored as the text CONFIG GET prints
//! and copied into typed fields (`Config::port`, `hz`, ...) that the server
//! reads on its hot paths.
//!
//! Each parameter also names the oxkey [`Feature`] it drives. While that
//! feature is not built, its [`Gate`] says which values are accepted: those
//! that leave the feature off (`appendonly no`, `save ""`) or that are
//! harmless to store (a listpack size limit). Any other value is refused at
//! start-up and by CONFIG SET with a message saying so; nothing is silently
//! ignored. When a feature lands, flip it in [`Feature::built`].

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::OnceLock;

use crate::util::{glob_match, parse_f64, parse_i64};

/// Per-parameter flags, as Redis's `*_CONFIG` flags.
pub mod flags {
    /// Settable only at start-up.
    pub const IMMUTABLE: u8 = 1 << 0;
    /// CONFIG SET needs `enable-protected-configs`.
    pub const PROTECTED: u8 = 1 << 1;
    /// The value is a secret (passwords).
    pub const SENSITIVE: u8 = 1 << 2;
    /// Not matched by CONFIG GET patterns, only by its exact name.
    pub const HIDDEN: u8 = 1 << 3;
    /// Takes several arguments (`save 3600 1 300 100`, `bind a b`).
    pub const MULTI_ARG: u8 = 1 << 4;
}
use flags::*;

/// The part of oxkey a parameter belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    /// Built: the server honours the parameter.
    Core,
    Rdb,
    Aof,
    Replication,
    Cluster,
    Acl,
    Tls,
    Modules,
    Eviction,
    ClientEviction,
    Lazyfree,
    LatencyMonitor,
    LatencyTracking,
    Defrag,
    KeyspaceEvents,
    Scripting,
    ClientTracking,
    /// Encodings of the collection types (listpack sizes, ...).
    Encodings,
    /// DUMP / RESTORE payload checks.
    Dump,
    /// Output-buffer and query-buffer limits on clients.
    ClientLimits,
    UnixSocket,
    Syslog,
    Daemonize,
    Supervised,
    OomScore,
    CpuAffinity,
    SocketMark,
    Watchdog,
    ProtectedMode,
    /// Re-binding listeners at run time (CONFIG SET port / bind).
    Relisten,
    /// `strcoll` users (SORT ALPHA, scripts).
    Collation,
    /// Process title and start-up logo.
    ProcessInfo,
    /// Performance knobs of Redis's allocator and event loop.
    Tuning,
}

impl Feature {
    /// Whether oxkey implements the feature. Flip a feature here when it
    /// lands; its parameters then accept every valid value.
    pub const fn built(self) -> bool {
        matches!(
            self,
            Feature::Core
                | Feature::Rdb
                | Feature::Aof
                | Feature::Dump
                | Feature::KeyspaceEvents
                | Feature::Eviction
                | Feature::ClientLimits
                | Feature::UnixSocket
                | Feature::ProtectedMode
                | Feature::LatencyMonitor
                | Feature::LatencyTracking
        )
    }

    fn what(self) -> &'static str {
        use Feature::*;
        match self {
            Core => "built",
            Rdb => "RDB persistence",
            Aof => "AOF persistence",
            Replication => "replication",
            Cluster => "cluster mode",
            Acl => "ACL users and files",
            Tls => "TLS",
            Modules => "modules",
            Eviction => "eviction",
            ClientEviction => "client eviction",
            Lazyfree => "lazy freeing",
            LatencyMonitor => "the latency monitor",
            LatencyTracking => "latency tracking",
            Defrag => "active defragmentation",
            KeyspaceEvents => "keyspace notifications",
            Scripting => "scripting",
            ClientTracking => "client-side caching",
            Encodings => "collection encodings",
            Dump => "DUMP/RESTORE",
            ClientLimits => "client buffer limits",
            UnixSocket => "unix sockets",
            Syslog => "syslog logging",
            Daemonize => "daemonizing",
            Supervised => "supervision by upstart/systemd",
            OomScore => "OOM score adjustment",
            CpuAffinity => "CPU affinity",
            SocketMark => "socket marks",
            Watchdog => "the software watchdog",
            ProtectedMode => "protected mode",
            Relisten => "re-binding listeners at run time",
            Collation => "locale collation",
            ProcessInfo => "process titles",
            Tuning => "this tuning knob",
        }
    }
}

/// Which values a parameter takes while its feature is not built.
#[derive(Clone, Copy)]
pub enum Gate {
    /// Any valid value: nothing observable depends on it yet.
    Free,
    /// Only these values (as CONFIG GET prints them): the feature stays off.
    Only(&'static [&'static str]),
    /// Only values the predicate accepts (it gets the CONFIG GET text).
    When(fn(&str) -> bool),
    /// Any value at start-up; at run time only the current one.
    StartupOnly,
}

/// How a numeric parameter is written and read, as Redis's numeric flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumFmt {
    Int,
    /// Accepts units (1k, 1kb, 1gb); printed in bytes.
    Memory,
    /// A memory value or `N%` (stored as -N).
    MemoryPercent,
    Octal,
}

/// Optional extra validation returning Redis's error text.
pub type StrCheck = fn(&str) -> Result<(), &'static str>;
pub type EnumCheck = fn(i32) -> Result<(), &'static str>;

#[derive(Clone, Copy)]
pub enum Kind {
    Bool {
        default: bool,
    },
    /// `unsigned`: Redis compares bounds as unsigned (uint, size_t, ull).
    Num {
        min: i64,
        max: i64,
        default: i64,
        unsigned: bool,
        fmt: NumFmt,
    },
    /// `default: None` is Redis's NULL string: empty input stores NULL and
    /// CONFIG REWRITE leaves the parameter out.
    Str {
        default: Option<&'static str>,
        check: Option<StrCheck>,
    },
    /// With MULTI_ARG the values are bit flags combined from several words.
    Enum {
        values: &'static [(&'static str, i32)],
        default: i32,
        check: Option<EnumCheck>,
    },
    Special(Special),
}

/// Parameters with their own syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyTrackingInfoPercentiles,
}

pub struct Param {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u8,
    pub kind: Kind,
    pub feature: Feature,
    pub gate: Gate,
}

impl Param {
    const fn alias(mut self, alias: &'static str) -> Self {
        self.alias = Some(alias);
        self
    }

    /// Belongs to `feature`; any valid value is harmless until it is built.
    const fn of(mut self, feature: Feature) -> Self {
        self.feature = feature;
        self
    }

    /// Belongs to `feature`; only `values` until it is built.
    const fn only(mut self, feature: Feature, values: &'static [&'static str]) -> Self {
        self.feature = feature;
        self.gate = Gate::Only(values);
        self
    }

    const fn when(mut self, feature: Feature, accept: fn(&str) -> bool) -> Self {
        self.feature = feature;
        self.gate = Gate::When(accept);
        self
    }

    const fn startup_only(mut self) -> Self {
        self.feature = Feature::Relisten;
        self.gate = Gate::StartupOnly;
        self
    }

    const fn check(mut self, f: StrCheck) -> Self {
        if let Kind::Str { default, .. } = self.kind {
            self.kind = Kind::Str { default, check: Some(f) };
        }
        self
    }

    const fn check_enum(mut self, f: EnumCheck) -> Self {
        if let Kind::Enum { values, default, .. } = self.kind {
            self.kind = Kind::Enum { values, default, check: Some(f) };
        }
        self
    }

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The default as CONFIG GET prints it.
    fn default_text(&self) -> String {
        match self.kind {
            Kind::Bool { default } => yes_no(default).into(),
            Kind::Num { default, fmt, .. } => fmt_num(default, fmt),
            Kind::Str { default, .. } => default.unwrap_or("").into(),
            Kind::Enum { values, default, .. } => enum_name(values, default, self.has(MULTI_ARG)),
            Kind::Special(s) => match s {
                Special::Dir => current_dir(),
                // Redis 7's built-in save points.
                Special::Save => "3600 1 300 100 60 10000".into(),
                Special::ClientOutputBufferLimit => fmt_obuf(&OBUF_DEFAULTS),
                Special::OomScoreAdjValues => "0 200 800".into(),
                Special::NotifyKeyspaceEvents => String::new(),
                Special::Bind => "* -::*".into(),
                Special::ReplicaOf => String::new(),
                Special::LatencyTrackingInfoPercentiles => "50 99 99.9".into(),
            },
        }
    }
}

const fn entry(name: &'static str, flags: u8, kind: Kind) -> Param {
    Param { name, alias: None, flags, kind, feature: Feature::Core, gate: Gate::Free }
}

const fn boolean(name: &'static str, flags: u8, default: bool) -> Param {
    entry(name, flags, Kind::Bool { default })
}

/// A signed integer (int, long, long long, ssize_t, time_t, off_t).
const fn int(name: &'static str, flags: u8, min: i64, max: i64, default: i64) -> Param {
    entry(name, flags, Kind::Num { min, max, default, unsigned: false, fmt: NumFmt::Int })
}

/// An unsigned integer (unsigned int, size_t): bounds compared unsigned.
const fn uint(name: &'static str, flags: u8, min: i64, max: i64, default: i64) -> Param {
    entry(name, flags, Kind::Num { min, max, default, unsigned: true, fmt: NumFmt::Int })
}

const fn memory(name: &'static str, flags: u8, min: i64, max: i64, default: i64) -> Param {
    entry(name, flags, Kind::Num { min, max, default, unsigned: false, fmt: NumFmt::Memory })
}

const fn umemory(name: &'static str, flags: u8, min: i64, max: i64, default: i64) -> Param {
    entry(name, flags, Kind::Num { min, max, default, unsigned: true, fmt: NumFmt::Memory })
}

const fn string(name: &'static str, flags: u8, default: Option<&'static str>) -> Param {
    entry(name, flags, Kind::Str { default, check: None })
}

const fn enumeration(name: &'static str, flags: u8, values: &'static [(&'static str, i32)], default: i32) -> Param {
    entry(name, flags, Kind::Enum { values, default, check: None })
}

const fn special(name: &'static str, flags: u8, s: Special) -> Param {
    entry(name, flags, Kind::Special(s))
}

const MODIFIABLE: u8 = 0;
const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
/// ULLONG_MAX as Redis stores it in its `long long` bound.
const ULLONG_MAX: i64 = -1;
const MB: i64 = 1024 * 1024;

const NO: &[&str] = &["no"];
const ZERO: &[&str] = &["0"];
const EMPTY: &[&str] = &[""];

const LOGLEVELS: &[(&str, i32)] = &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3), ("nothing", 4)];
const PROTECTED_ACTION: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("local", 2)];
const MAXMEMORY_POLICIES: &[(&str, i32)] = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
const SYSLOG_FACILITIES: &[(&str, i32)] = &[
    ("user", 0),
    ("local0", 1),
    ("local1", 2),
    ("local2", 3),
    ("local3", 4),
    ("local4", 5),
    ("local5", 6),
    ("local6", 7),
    ("local7", 8),
];
const SUPERVISED: &[(&str, i32)] = &[("upstart", 0), ("systemd", 1), ("auto", 2), ("no", 3)];
const AOF_FSYNC: &[(&str, i32)] = &[("everysec", 0), ("always", 1), ("no", 2)];
const SHUTDOWN_SAVE: i32 = 1;
const SHUTDOWN_NOSAVE: i32 = 2;
const SHUTDOWN_ON_SIG: &[(&str, i32)] =
    &[("default", 0), ("save", SHUTDOWN_SAVE), ("nosave", SHUTDOWN_NOSAVE), ("now", 4), ("force", 8)];
const REPL_DISKLESS_LOAD: &[(&str, i32)] = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
const TLS_AUTH_CLIENTS: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("optional", 2)];
const OOM_SCORE_ADJ: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB_DEFAULT: &[(&str, i32)] = &[("allchannels", 1), ("resetchannels", 0)];
const SANITIZE_DUMP: &[(&str, i32)] = &[("no", 0), ("yes", 1), ("clients", 2)];
const ENDPOINT_TYPES: &[(&str, i32)] = &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const PROPAGATION_ERROR: &[(&str, i32)] = &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];

use Feature::*;

/// Redis 7.2's `static_configs`, in its order.
pub static PARAMS: &[Param] = &[
    // Bool configs.
    boolean("rdbchecksum", IMMUTABLE, true).of(Rdb),
    boolean("daemonize", IMMUTABLE, false).only(Daemonize, NO),
    boolean("io-threads-do-reads", IMMUTABLE, false).of(Tuning),
    boolean("always-show-logo", IMMUTABLE, false).of(ProcessInfo),
    boolean("protected-mode", MODIFIABLE, true).of(ProtectedMode),
    boolean("rdbcompression", MODIFIABLE, true).of(Rdb),
    boolean("rdb-del-sync-files", MODIFIABLE, false).of(Replication),
    boolean("activerehashing", MODIFIABLE, true).of(Tuning),
    boolean("stop-writes-on-bgsave-error", MODIFIABLE, true).of(Rdb),
    boolean("set-proc-title", IMMUTABLE, true).of(ProcessInfo),
    boolean("dynamic-hz", MODIFIABLE, true).of(Tuning),
    boolean("lazyfree-lazy-eviction", MODIFIABLE, false).only(Lazyfree, NO),
    boolean("lazyfree-lazy-expire", MODIFIABLE, false).only(Lazyfree, NO),
    boolean("lazyfree-lazy-server-del", MODIFIABLE, false).only(Lazyfree, NO),
    boolean("lazyfree-lazy-user-del", MODIFIABLE, false).only(Lazyfree, NO),
    boolean("lazyfree-lazy-user-flush", MODIFIABLE, false).only(Lazyfree, NO),
    boolean("repl-disable-tcp-nodelay", MODIFIABLE, false).of(Replication),
    boolean("repl-diskless-sync", MODIFIABLE, true).of(Replication),
    boolean("aof-rewrite-incremental-fsync", MODIFIABLE, true).of(Aof),
    boolean("no-appendfsync-on-rewrite", MODIFIABLE, false).of(Aof),
    boolean("cluster-require-full-coverage", MODIFIABLE, true).of(Cluster),
    boolean("rdb-save-incremental-fsync", MODIFIABLE, true).of(Rdb),
    boolean("aof-load-truncated", MODIFIABLE, true).of(Aof),
    boolean("aof-use-rdb-preamble", MODIFIABLE, true).of(Aof),
    boolean("aof-timestamp-enabled", MODIFIABLE, false).of(Aof),
    boolean("cluster-replica-no-failover", MODIFIABLE, false).alias("cluster-slave-no-failover").of(Cluster),
    boolean("replica-lazy-flush", MODIFIABLE, false).alias("slave-lazy-flush").of(Replication),
    boolean("replica-serve-stale-data", MODIFIABLE, true).alias("slave-serve-stale-data").of(Replication),
    boolean("replica-read-only", MODIFIABLE, true).alias("slave-read-only").of(Replication),
    boolean("replica-ignore-maxmemory", MODIFIABLE, true).alias("slave-ignore-maxmemory").of(Replication),
    boolean("jemalloc-bg-thread", MODIFIABLE, true).of(Tuning),
    boolean("activedefrag", MODIFIABLE, false).only(Defrag, NO),
    boolean("syslog-enabled", IMMUTABLE, false).only(Syslog, NO),
    boolean("cluster-enabled", IMMUTABLE, false).only(Cluster, NO),
    boolean("appendonly", MODIFIABLE, false).only(Aof, NO),
    boolean("cluster-allow-reads-when-down", MODIFIABLE, false).of(Cluster),
    boolean("cluster-allow-pubsubshard-when-down", MODIFIABLE, true).of(Cluster),
    boolean("crash-log-enabled", MODIFIABLE, true).of(Tuning),
    boolean("crash-memcheck-enabled", MODIFIABLE, true).of(Tuning),
    boolean("use-exit-on-panic", MODIFIABLE | HIDDEN, false).of(Tuning),
    boolean("disable-thp", IMMUTABLE, true).of(Tuning),
    boolean("cluster-allow-replica-migration", MODIFIABLE, true).of(Cluster),
    boolean("replica-announced", MODIFIABLE, true).of(Replication),
    boolean("latency-tracking", MODIFIABLE, true).of(LatencyTracking),
    boolean("aof-disable-auto-gc", MODIFIABLE, false).of(Aof),
    boolean("replica-ignore-disk-write-errors", MODIFIABLE, false).of(Replication),
    // String configs.
    string("aclfile", IMMUTABLE, Some("")).only(Acl, EMPTY),
    string("unixsocket", IMMUTABLE, None).only(UnixSocket, EMPTY),
    string("pidfile", IMMUTABLE, None),
    string("replica-announce-ip", MODIFIABLE, None).alias("slave-announce-ip").of(Replication),
    string("masteruser", MODIFIABLE | SENSITIVE, None).of(Replication),
    string("cluster-announce-ip", MODIFIABLE, None).of(Cluster),
    string("cluster-config-file", IMMUTABLE, Some("nodes.conf")).of(Cluster),
    string("cluster-announce-hostname", MODIFIABLE, None).check(valid_hostname).of(Cluster),
    // Redis 7.2-rc3.
    string("cluster-announce-human-nodename", MODIFIABLE, None).check(valid_nodename).of(Cluster),
    string("syslog-ident", IMMUTABLE, Some("redis")).of(Syslog),
    string("dbfilename", MODIFIABLE | PROTECTED, Some("dump.rdb")).check(valid_dbfilename).of(Rdb),
    string("appendfilename", IMMUTABLE, Some("appendonly.aof")).check(valid_aof_filename).of(Aof),
    string("appenddirname", IMMUTABLE, Some("appendonlydir")).check(valid_aof_dirname).of(Aof),
    string("server_cpulist", IMMUTABLE, None).only(CpuAffinity, EMPTY),
    string("bio_cpulist", IMMUTABLE, None).of(CpuAffinity),
    string("aof_rewrite_cpulist", IMMUTABLE, None).of(CpuAffinity),
    string("bgsave_cpulist", IMMUTABLE, None).of(CpuAffinity),
    string("ignore-warnings", MODIFIABLE, Some("")).of(Tuning),
    string("proc-title-template", MODIFIABLE, Some("{title} {listen-addr} {server-mode}"))
        .check(valid_proc_title_template)
        .of(ProcessInfo),
    string("bind-source-addr", MODIFIABLE, None).of(Replication),
    string("logfile", IMMUTABLE, Some("")),
    // Redis 7.2; validated with setlocale() like Redis.
    string("locale-collate", MODIFIABLE, Some("")).of(Collation),
    // SDS configs.
    string("masterauth", MODIFIABLE | SENSITIVE, None).of(Replication),
    string("requirepass", MODIFIABLE | SENSITIVE, None),
    // Enum configs.
    enumeration("supervised", IMMUTABLE, SUPERVISED, 3).only(Supervised, NO),
    enumeration("syslog-facility", IMMUTABLE, SYSLOG_FACILITIES, 1).of(Syslog),
    enumeration("repl-diskless-load", MODIFIABLE, REPL_DISKLESS_LOAD, 0).of(Replication),
    // "nothing" is new in Redis 7.2.
    enumeration("loglevel", MODIFIABLE, LOGLEVELS, 2),
    enumeration("maxmemory-policy", MODIFIABLE, MAXMEMORY_POLICIES, 7).of(Eviction),
    enumeration("appendfsync", MODIFIABLE, AOF_FSYNC, 0).of(Aof),
    enumeration("oom-score-adj", MODIFIABLE, OOM_SCORE_ADJ, 0).only(OomScore, NO),
    enumeration("acl-pubsub-default", MODIFIABLE, ACL_PUBSUB_DEFAULT, 0).of(Acl),
    enumeration("sanitize-dump-payload", MODIFIABLE, SANITIZE_DUMP, 0).of(Dump),
    enumeration("enable-protected-configs", IMMUTABLE, PROTECTED_ACTION, 0),
    enumeration("enable-debug-command", IMMUTABLE, PROTECTED_ACTION, 0),
    enumeration("enable-module-command", IMMUTABLE, PROTECTED_ACTION, 0).only(Modules, NO),
    enumeration("cluster-preferred-endpoint-type", MODIFIABLE, ENDPOINT_TYPES, 0).of(Cluster),
    enumeration("propagation-error-behavior", MODIFIABLE, PROPAGATION_ERROR, 0).of(Replication),
    enumeration("shutdown-on-sigint", MODIFIABLE | MULTI_ARG, SHUTDOWN_ON_SIG, 0)
        .check_enum(valid_shutdown_flags)
        .when(Rdb, without_save_flag),
    enumeration("shutdown-on-sigterm", MODIFIABLE | MULTI_ARG, SHUTDOWN_ON_SIG, 0)
        .check_enum(valid_shutdown_flags)
        .when(Rdb, without_save_flag),
    // Integer configs.
    int("databases", IMMUTABLE, 1, INT_MAX, 16),
    int("port", MODIFIABLE, 0, 65535, 6379).startup_only(),
    int("io-threads", IMMUTABLE, 1, 128, 1),
    int("auto-aof-rewrite-percentage", MODIFIABLE, 0, INT_MAX, 100).of(Aof),
    int("cluster-replica-validity-factor", MODIFIABLE, 0, INT_MAX, 10)
        .alias("cluster-slave-validity-factor")
        .of(Cluster),
    int("list-max-listpack-size", MODIFIABLE, INT_MIN, INT_MAX, -2).alias("list-max-ziplist-size").of(Encodings),
    int("tcp-keepalive", MODIFIABLE, 0, INT_MAX, 300).of(Tuning),
    int("cluster-migration-barrier", MODIFIABLE, 0, INT_MAX, 1).of(Cluster),
    int("active-defrag-cycle-min", MODIFIABLE, 1, 99, 1).of(Defrag),
    int("active-defrag-cycle-max", MODIFIABLE, 1, 99, 25).of(Defrag),
    int("active-defrag-threshold-lower", MODIFIABLE, 0, 1000, 10).of(Defrag),
    int("active-defrag-threshold-upper", MODIFIABLE, 0, 1000, 100).of(Defrag),
    int("lfu-log-factor", MODIFIABLE, 0, INT_MAX, 10).of(Eviction),
    int("lfu-decay-time", MODIFIABLE, 0, INT_MAX, 1).of(Eviction),
    int("replica-priority", MODIFIABLE, 0, INT_MAX, 100).alias("slave-priority").of(Replication),
    int("repl-diskless-sync-delay", MODIFIABLE, 0, INT_MAX, 5).of(Replication),
    int("maxmemory-samples", MODIFIABLE, 1, INT_MAX, 5).of(Eviction),
    int("maxmemory-eviction-tenacity", MODIFIABLE, 0, 100, 10).of(Eviction),
    int("timeout", MODIFIABLE, 0, INT_MAX, 0),
    int("replica-announce-port", MODIFIABLE, 0, 65535, 0).alias("slave-announce-port").of(Replication),
    int("tcp-backlog", IMMUTABLE, 0, INT_MAX, 511),
    int("cluster-port", IMMUTABLE, 0, 65535, 0).of(Cluster),
    int("cluster-announce-bus-port", MODIFIABLE, 0, 65535, 0).of(Cluster),
    int("cluster-announce-port", MODIFIABLE, 0, 65535, 0).of(Cluster),
    int("cluster-announce-tls-port", MODIFIABLE, 0, 65535, 0).of(Cluster),
    int("repl-timeout", MODIFIABLE, 1, INT_MAX, 60).of(Replication),
    int("repl-ping-replica-period", MODIFIABLE, 1, INT_MAX, 10).alias("repl-ping-slave-period").of(Replication),
    int("list-compress-depth", MODIFIABLE, 0, INT_MAX, 0).of(Encodings),
    int("rdb-key-save-delay", MODIFIABLE | HIDDEN, INT_MIN, INT_MAX, 0).of(Rdb),
    // oxkey's own: the RDB version files and DUMP payloads are written in
    // (10 for readers such as Redis 7.0, which refuse 11). Hidden, as it is
    // not a Redis parameter.
    int("rdb-version", MODIFIABLE | HIDDEN, 10, 11, 11).of(Rdb),
    int("key-load-delay", MODIFIABLE | HIDDEN, INT_MIN, INT_MAX, 0).of(Rdb),
    int("active-expire-effort", MODIFIABLE, 1, 10, 1),
    int("hz", MODIFIABLE, 0, INT_MAX, 10),
    int("min-replicas-to-write", MODIFIABLE, 0, INT_MAX, 0).alias("min-slaves-to-write").only(Replication, ZERO),
    int("min-replicas-max-lag", MODIFIABLE, 0, INT_MAX, 10).alias("min-slaves-max-lag").of(Replication),
    int("watchdog-period", MODIFIABLE | HIDDEN, 0, INT_MAX, 0).only(Watchdog, ZERO),
    int("shutdown-timeout", MODIFIABLE, 0, INT_MAX, 10).of(Replication),
    int("repl-diskless-sync-max-replicas", MODIFIABLE, 0, INT_MAX, 0).of(Replication),
    // Unsigned int configs.
    uint("maxclients", MODIFIABLE, 1, UINT_MAX, 10000),
    entry(
        "unixsocketperm",
        IMMUTABLE,
        Kind::Num { min: 0, max: 0o777, default: 0, unsigned: true, fmt: NumFmt::Octal },
    )
    .of(UnixSocket),
    uint("socket-mark-id", IMMUTABLE, 0, UINT_MAX, 0).only(SocketMark, ZERO),
    // Unsigned long configs (bounds compared signed, as in Redis).
    int("active-defrag-max-scan-fields", MODIFIABLE, 1, LONG_MAX, 1000).of(Defrag),
    int("slowlog-max-len", MODIFIABLE, 0, LONG_MAX, 128),
    int("acllog-max-len", MODIFIABLE, 0, LONG_MAX, 128).of(Acl),
    // Long long configs.
    int("busy-reply-threshold", MODIFIABLE, 0, LONG_MAX, 5000).alias("lua-time-limit").of(Scripting),
    int("cluster-node-timeout", MODIFIABLE, 0, LONG_MAX, 15000).of(Cluster),
    int("cluster-ping-interval", MODIFIABLE | HIDDEN, 0, LONG_MAX, 0).of(Cluster),
    int("slowlog-log-slower-than", MODIFIABLE, -1, LONG_MAX, 10000),
    int("latency-monitor-threshold", MODIFIABLE, 0, LONG_MAX, 0).only(LatencyMonitor, ZERO),
    memory("proto-max-bulk-len", MODIFIABLE, MB, LONG_MAX, 512 * MB),
    int("stream-node-max-entries", MODIFIABLE, 0, LONG_MAX, 100).of(Encodings),
    memory("repl-backlog-size", MODIFIABLE, 1, LONG_MAX, MB).of(Replication),
    // Unsigned long long configs.
    umemory("maxmemory", MODIFIABLE, 0, ULLONG_MAX, 0).only(Eviction, ZERO),
    umemory("cluster-link-sendbuf-limit", MODIFIABLE, 0, ULLONG_MAX, 0).of(Cluster),
    // Size_t configs.
    uint("hash-max-listpack-entries", MODIFIABLE, 0, LONG_MAX, 512).alias("hash-max-ziplist-entries").of(Encodings),
    uint("set-max-intset-entries", MODIFIABLE, 0, LONG_MAX, 512).of(Encodings),
    // Redis 7.2 (listpack-encoded sets).
    uint("set-max-listpack-entries", MODIFIABLE, 0, LONG_MAX, 128).of(Encodings),
    uint("set-max-listpack-value", MODIFIABLE, 0, LONG_MAX, 64).of(Encodings),
    uint("zset-max-listpack-entries", MODIFIABLE, 0, LONG_MAX, 128).alias("zset-max-ziplist-entries").of(Encodings),
    umemory("active-defrag-ignore-bytes", MODIFIABLE, 1, LONG_MAX, 100 * MB).of(Defrag),
    umemory("hash-max-listpack-value", MODIFIABLE, 0, LONG_MAX, 64).alias("hash-max-ziplist-value").of(Encodings),
    umemory("stream-node-max-bytes", MODIFIABLE, 0, LONG_MAX, 4096).of(Encodings),
    umemory("zset-max-listpack-value", MODIFIABLE, 0, LONG_MAX, 64).alias("zset-max-ziplist-value").of(Encodings),
    umemory("hll-sparse-max-bytes", MODIFIABLE, 0, LONG_MAX, 3000).of(Encodings),
    uint("tracking-table-max-keys", MODIFIABLE, 0, LONG_MAX, 1_000_000).of(ClientTracking),
    umemory("client-query-buffer-limit", MODIFIABLE, MB, LONG_MAX, 1024 * MB).of(ClientLimits),
    entry(
        "maxmemory-clients",
        MODIFIABLE,
        Kind::Num { min: -100, max: LONG_MAX, default: 0, unsigned: false, fmt: NumFmt::MemoryPercent },
    )
    .only(ClientEviction, ZERO),
    // Other configs.
    int("repl-backlog-ttl", MODIFIABLE, 0, LONG_MAX, 3600).of(Replication),
    memory("auto-aof-rewrite-min-size", MODIFIABLE, 0, LONG_MAX, 64 * MB).of(Aof),
    int("loading-process-events-interval-bytes", MODIFIABLE | HIDDEN, 1024, INT_MAX, 2 * MB).of(Rdb),
    // TLS.
    int("tls-port", MODIFIABLE, 0, 65535, 0).only(Tls, ZERO),
    int("tls-session-cache-size", MODIFIABLE, 0, INT_MAX, 20 * 1024).of(Tls),
    int("tls-session-cache-timeout", MODIFIABLE, 0, INT_MAX, 300).of(Tls),
    boolean("tls-cluster", MODIFIABLE, false).only(Tls, NO),
    boolean("tls-replication", MODIFIABLE, false).only(Tls, NO),
    enumeration("tls-auth-clients", MODIFIABLE, TLS_AUTH_CLIENTS, 1).of(Tls),
    boolean("tls-prefer-server-ciphers", MODIFIABLE, false).of(Tls),
    boolean("tls-session-caching", MODIFIABLE, true).of(Tls),
    string("tls-cert-file", MODIFIABLE, None).of(Tls),
    string("tls-key-file", MODIFIABLE, None).of(Tls),
    string("tls-key-file-pass", MODIFIABLE, None).of(Tls),
    string("tls-client-cert-file", MODIFIABLE, None).of(Tls),
    string("tls-client-key-file", MODIFIABLE, None).of(Tls),
    string("tls-client-key-file-pass", MODIFIABLE, None).of(Tls),
    string("tls-dh-params-file", MODIFIABLE, None).of(Tls),
    string("tls-ca-cert-file", MODIFIABLE, None).of(Tls),
    string("tls-ca-cert-dir", MODIFIABLE, None).of(Tls),
    string("tls-protocols", MODIFIABLE, None).of(Tls),
    string("tls-ciphers", MODIFIABLE, None).of(Tls),
    string("tls-ciphersuites", MODIFIABLE, None).of(Tls),
    // Special configs.
    special("dir", MODIFIABLE | PROTECTED, Special::Dir),
    special("save", MODIFIABLE | MULTI_ARG, Special::Save).of(Rdb),
    special("client-output-buffer-limit", MODIFIABLE | MULTI_ARG, Special::ClientOutputBufferLimit).of(ClientLimits),
    special("oom-score-adj-values", MODIFIABLE | MULTI_ARG, Special::OomScoreAdjValues).of(OomScore),
    special("notify-keyspace-events", MODIFIABLE, Special::NotifyKeyspaceEvents).when(KeyspaceEvents, no_events),
    special("bind", MODIFIABLE | MULTI_ARG, Special::Bind).startup_only(),
    special("replicaof", IMMUTABLE | MULTI_ARG, Special::ReplicaOf).alias("slaveof").only(Replication, EMPTY),
    special("latency-tracking-info-percentiles", MODIFIABLE | MULTI_ARG, Special::LatencyTrackingInfoPercentiles)
        .of(LatencyTracking),
];

/// Every name CONFIG knows (primary names and aliases), with its parameter.
struct Names {
    /// (name, index in PARAMS), primaries and aliases in table order.
    all: Vec<(&'static str, usize)>,
    by_lower: HashMap<&'static str, usize>,
    longest: usize,
}

fn names() -> &'static Names {
    static NAMES: OnceLock<Names> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut all = Vec::new();
        for (i, p) in PARAMS.iter().enumerate() {
            all.push((p.name, i));
            if let Some(a) = p.alias {
                all.push((a, i));
            }
        }
        let by_lower = all.iter().enumerate().map(|(n, &(name, _))| (name, n)).collect();
        let longest = all.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        Names { all, by_lower, longest }
    })
}

/// Finds a parameter by name or alias, case-insensitively. Returns the
/// position in `names().all` (which gives the name as registered).
fn lookup_name(name: &[u8]) -> Option<usize> {
    if name.len() > names().longest {
        return None;
    }
    let lower = std::str::from_utf8(name).ok()?.to_ascii_lowercase();
    names().by_lower.get(lower.as_str()).copied()
}

/// The parameter called `name` (or aliased so), case-insensitively.
pub fn param(name: &str) -> Option<&'static Param> {
    lookup_name(name.as_bytes()).map(|n| &PARAMS[names().all[n].1])
}

/// Whether values are being loaded at start-up or set by CONFIG SET.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Startup,
    Runtime,
}

/// One class's `client-output-buffer-limit`: hard bytes, soft bytes and
/// how many seconds the soft limit may be exceeded (0 bytes = no limit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard: u64,
    pub soft: u64,
    pub seconds: i64,
}

const OBUF_CLASSES: [&str; 3] = ["normal", "slave", "pubsub"];
const OBUF_DEFAULTS: [ObufLimit; 3] = [
    ObufLimit { hard: 0, soft: 0, seconds: 0 },
    ObufLimit { hard: 256 << 20, soft: 64 << 20, seconds: 60 },
    ObufLimit { hard: 32 << 20, soft: 8 << 20, seconds: 60 },
];

/// Why loading the start-up configuration failed.
#[derive(Debug)]
pub enum LoadError {
    /// A directive was refused: the report redis-server prints on stderr.
    Fatal(String),
    /// A file could not be read; logged as Redis logs it.
    Open(String),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Fatal(s) | LoadError::Open(s) => f.write_str(s),
        }
    }
}

/// How deep `include` may nest (Redis has no limit and overflows its stack).
const MAX_INCLUDE_DEPTH: usize = 32;

#[derive(Clone)]
pub struct Config {
    /// CONFIG GET text of every parameter, by index in PARAMS.
    values: Vec<String>,
    /// The first `save` line of the start-up configuration replaces the
    /// defaults, later ones add to it (Redis's `save_loaded`).
    save_loaded: bool,
    // Typed mirrors of the values the server reads.
    pub port: u16,
    /// Addresses to listen on, as configured (`* -::*` by default).
    pub bind: Vec<String>,
    pub databases: usize,
    pub requirepass: Option<String>,
    /// Clamped to 1..=500 as Redis does.
    pub hz: u32,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: i64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: usize,
    pub maxclients: usize,
    /// Idle seconds before a client is closed (0 = never).
    pub timeout: i64,
    pub tcp_keepalive: i64,
    pub tcp_backlog: i32,
    pub io_threads: usize,
    pub active_expire_effort: u32,
    /// Whether the cron rehashes key tables incrementally.
    pub activerehashing: bool,
    pub protected_mode: bool,
    /// Output buffer limits of the normal, replica and pubsub classes.
    pub obuf_limits: [ObufLimit; 3],
    pub unixsocket: Option<String>,
    pub unixsocketperm: u32,
    /// Milliseconds from which an event enters the latency monitor (0 = off).
    pub latency_monitor_threshold: i64,
    /// Milliseconds a script may run before it can be stopped (0 = never).
    pub busy_reply_threshold: i64,
    /// Microseconds slept per key loaded (`key-load-delay`, for tests).
    pub key_load_delay: u64,
    pub jemalloc_bg_thread: bool,
    pub encoding: crate::types::EncodingLimits,
    /// Bytes past which a sparse HyperLogLog turns dense.
    pub hll_sparse_max_bytes: usize,
    pub latency_tracking: bool,
    pub latency_tracking_percentiles: Vec<f64>,
    /// `no`, `yes` or `local`.
    pub enable_debug: String,
    /// `no`, `yes` or `local`.
    pub enable_protected_configs: String,
    pub loglevel: String,
    pub logfile: String,
    pub pidfile: Option<String>,
    /// Absolute path of the file the server was started with, for CONFIG
    /// REWRITE.
    pub config_file: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let mut c = Config {
            values: PARAMS.iter().map(|p| p.default_text()).collect(),
            save_loaded: false,
            port: 0,
            bind: Vec::new(),
            databases: 0,
            requirepass: None,
            hz: 0,
            proto_max_bulk_len: 0,
            client_query_buffer_limit: 0,
            slowlog_log_slower_than: 0,
            slowlog_max_len: 0,
            maxclients: 0,
            timeout: 0,
            tcp_keepalive: 0,
            tcp_backlog: 0,
            io_threads: 0,
            active_expire_effort: 0,
            activerehashing: false,
            protected_mode: false,
            obuf_limits: OBUF_DEFAULTS,
            unixsocket: None,
            unixsocketperm: 0,
            latency_monitor_threshold: 0,
            busy_reply_threshold: 0,
            key_load_delay: 0,
            encoding: Default::default(),
            hll_sparse_max_bytes: 3000,
            jemalloc_bg_thread: false,
            latency_tracking: false,
            latency_tracking_percentiles: Vec::new(),
            enable_debug: String::new(),
            enable_protected_configs: String::new(),
            loglevel: String::new(),
            logfile: String::new(),
            pidfile: None,
            config_file: None,
        };
        for i in 0..PARAMS.len() {
            c.mirror(i);
        }
        c
    }
}

impl Config {
    /// The value of a parameter (by name or alias) as CONFIG GET prints it.
    pub fn get(&self, name: &str) -> Option<&str> {
        lookup_name(name.as_bytes()).map(|n| self.values[names().all[n].1].as_str())
    }

    fn value_of(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// Non-hidden parameters whose name or alias matches a glob, with their
    /// values, in table order.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let Some(glob) = Glob::compile(pattern, names().longest) else { return Vec::new() };
        names()
            .all
            .iter()
            .filter(|&&(name, i)| !PARAMS[i].has(HIDDEN) && glob.matches(name.as_bytes()))
            .map(|&(name, i)| (name, self.values[i].clone()))
            .collect()
    }

    /// CONFIG GET: each argument is an exact name (answered under the name
    /// as given, hidden parameters included) or a glob over the names and
    /// aliases of the non-hidden ones. Each name appears once.
    pub fn config_get(&self, patterns: &[&[u8]]) -> Vec<(Vec<u8>, &str)> {
        let all = &names().all;
        let mut seen = vec![false; all.len()];
        let mut out = Vec::new();
        for &pat in patterns {
            if !pat.iter().any(|c| matches!(c, b'[' | b'*' | b'?')) {
                if let Some(n) = lookup_name(pat) {
                    if !seen[n] {
                        seen[n] = true;
                        out.push((pat.to_vec(), self.values[all[n].1].as_str()));
                    }
                }
                continue;
            }
            let Some(glob) = Glob::compile(pat, names().longest) else { continue };
            for (n, &(name, i)) in all.iter().enumerate() {
                if !seen[n] && !PARAMS[i].has(HIDDEN) && glob.matches(name.as_bytes()) {
                    seen[n] = true;
                    out.push((name.as_bytes().to_vec(), self.values[i].as_str()));
                }
            }
        }
        out
    }

    /// Sets one parameter as CONFIG SET does (a multi-argument value is
    /// split at spaces); `startup` also allows immutable and protected
    /// ones. The error text is what follows `ERR ` in CONFIG SET's reply.
    pub fn set(&mut self, name: &str, value: &str, startup: bool) -> Result<(), String> {
        if startup {
            let n = lookup_name(name.as_bytes())
                .ok_or_else(|| format!("Unknown option or number of arguments for CONFIG SET - '{name}'"))?;
            let (shown, i) = names().all[n];
            let args = split_config_set_value(&PARAMS[i], value);
            return self
                .set_param(i, shown, &args, Phase::Startup)
                .map_err(|e| format!("CONFIG SET failed (possibly related to argument '{shown}') - {e}"));
        }
        self.config_set(&[(name.as_bytes(), value.as_bytes())], false)
    }

    /// CONFIG SET with one or more name/value pairs: all are set or none,
    /// with Redis's checks in Redis's order and its error texts (returned
    /// without the `ERR ` prefix). `client_is_local` decides
    /// `enable-protected-configs local`.
    pub fn config_set(&mut self, pairs: &[(&[u8], &[u8])], client_is_local: bool) -> Result<(), String> {
        let all = &names().all;
        // (index in names().all, index in PARAMS). Redis registers an alias
        // as an entry of its own, so a name and its alias are no duplicates.
        let mut targets: Vec<(usize, usize)> = Vec::with_capacity(pairs.len());
        let mut failure: Option<String> = None;
        for &(name, _) in pairs {
            let shown = String::from_utf8_lossy(name);
            let Some(n) = lookup_name(name) else {
                return Err(failure
                    .unwrap_or_else(|| format!("Unknown option or number of arguments for CONFIG SET - '{shown}'")));
            };
            if failure.is_some() {
                continue;
            }
            let p = &PARAMS[all[n].1];
            if p.has(IMMUTABLE) {
                failure = Some(format!(
                    "CONFIG SET failed (possibly related to argument '{shown}') - can't set immutable config"
                ));
            } else if p.has(PROTECTED) && !allow_protected(&self.enable_protected_configs, client_is_local) {
                failure = Some(format!(
                    "CONFIG SET failed (possibly related to argument '{shown}') - can't set protected config"
                ));
            } else if targets.iter().any(|&(m, _)| m == n) {
                failure =
                    Some(format!("CONFIG SET failed (possibly related to argument '{shown}') - duplicate parameter"));
            }
            targets.push((n, all[n].1));
        }
        if let Some(f) = failure {
            return Err(f);
        }
        let before = self.clone();
        for (&(n, i), &(_, value)) in targets.iter().zip(pairs) {
            let registered = all[n].0;
            let value = String::from_utf8_lossy(value);
            let args = split_config_set_value(&PARAMS[i], &value);
            if let Err(e) = self.set_param(i, registered, &args, Phase::Runtime) {
                self.restore(before);
                return Err(format!("CONFIG SET failed (possibly related to argument '{registered}') - {e}"));
            }
        }
        Ok(())
    }

    /// Puts back a previous state, redoing the side effects of the
    /// parameters that act on the process.
    fn restore(&mut self, before: Config) {
        let dir_changed = before.value_of("dir") != self.value_of("dir");
        let locale_changed = before.value_of("locale-collate") != self.value_of("locale-collate");
        let bg_thread_changed = before.jemalloc_bg_thread != self.jemalloc_bg_thread;
        *self = before;
        if bg_thread_changed {
            crate::alloc::set_background_thread(self.jemalloc_bg_thread);
        }
        if dir_changed {
            if let Err(e) = std::env::set_current_dir(self.value_of("dir")) {
                tracing::warn!("Failed restoring failed CONFIG SET command. Error setting dir: {e}");
            }
        }
        if locale_changed {
            let _ = set_collate_locale(self.value_of("locale-collate"));
        }
        crate::server::logging::set_verbosity(&self.loglevel);
    }

    /// Validates `args` for parameter `i`, stores the result and updates the
    /// typed mirror. Errors are Redis's bare reasons.
    fn set_param(&mut self, i: usize, name: &str, args: &[String], phase: Phase) -> Result<(), String> {
        let p = &PARAMS[i];
        let text = self.parse(i, args, phase)?;
        if !p.feature.built() {
            let accepted = match p.gate {
                Gate::Free => true,
                Gate::Only(values) => values.contains(&text.as_str()),
                Gate::When(accept) => accept(&text),
                Gate::StartupOnly => phase == Phase::Startup || text == self.values[i],
            };
            if !accepted {
                return Err(refusal(p, name, args));
            }
        }
        // The open files limit must take the new number of clients.
        if phase == Phase::Runtime && p.name == "maxclients" {
            crate::server::fit_maxclients(text.parse().unwrap_or(0))?;
        }
        self.values[i] = text;
        self.mirror(i);
        Ok(())
    }

    /// Parses `args` for parameter `i` into its CONFIG GET text.
    fn parse(&mut self, i: usize, args: &[String], phase: Phase) -> Result<String, String> {
        let p = &PARAMS[i];
        let first = args.first().map(String::as_str).unwrap_or("");
        match p.kind {
            Kind::Bool { .. } => match first.to_ascii_lowercase().as_str() {
                "yes" => Ok("yes".into()),
                "no" => Ok("no".into()),
                _ => Err("argument must be 'yes' or 'no'".into()),
            },
            Kind::Num { min, max, unsigned, fmt, .. } => {
                let mut v = parse_num(first, fmt)?;
                check_bounds(v, min, max, unsigned, fmt)?;
                if p.name == "hz" {
                    // Redis takes hz as a hint and caps it (updateHZ).
                    v = v.clamp(1, 500);
                }
                Ok(fmt_num(v, fmt))
            }
            Kind::Str { check, .. } => {
                if let Some(check) = check {
                    check(first)?;
                }
                if p.name == "locale-collate" {
                    set_collate_locale(first)?;
                }
                Ok(first.to_string())
            }
            Kind::Enum { values, check, .. } => {
                let bitflags = p.has(MULTI_ARG);
                let v = enum_value(values, args, bitflags).ok_or_else(|| {
                    let names: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
                    format!("argument(s) must be one of the following: {}", names.join(", "))
                })?;
                if let Some(check) = check {
                    check(v)?;
                }
                Ok(enum_name(values, v, bitflags))
            }
            Kind::Special(s) => self.parse_special(s, args, phase),
        }
    }

    fn parse_special(&mut self, s: Special, args: &[String], phase: Phase) -> Result<String, String> {
        const WRONG_ARGS: &str = "wrong number of arguments";
        match s {
            Special::Dir => {
                if args.len() != 1 {
                    return Err(WRONG_ARGS.into());
                }
                std::env::set_current_dir(&args[0]).map_err(|e| strerror(&e))?;
                Ok(current_dir())
            }
            Special::Save => {
                // A single "" clears the save points at once (Redis 7.2).
                let reset = args.len() == 1 && args[0].is_empty();
                let args = if reset { &[][..] } else { args };
                if !args.len().is_multiple_of(2) {
                    return Err("Invalid save parameters".into());
                }
                let mut points = Vec::with_capacity(args.len() / 2);
                for pair in args.chunks(2) {
                    let seconds = c_strtoll(&pair[0]).filter(|&v| v >= 1);
                    let changes = c_strtoll(&pair[1]).filter(|&v| v >= 0);
                    match (seconds, changes) {
                        // `changes` is a C int.
                        (Some(s), Some(c)) => points.push(format!("{s} {}", c as i32)),
                        _ => return Err("Invalid save parameters".into()),
                    }
                }
                // At start-up the first `save` line replaces the defaults and
                // the following ones add to it; CONFIG SET replaces.
                let mut text = String::new();
                if phase == Phase::Startup && self.save_loaded && !reset {
                    text = self.value_of("save").to_string();
                }
                if phase == Phase::Startup {
                    self.save_loaded = true;
                }
                for point in points {
                    if !text.is_empty() {
                        text.push(' ');
                    }
                    text.push_str(&point);
                }
                Ok(text)
            }
            Special::ClientOutputBufferLimit => {
                if !args.len().is_multiple_of(4) {
                    return Err("Wrong number of arguments in buffer limit configuration.".into());
                }
                let mut limits = parse_obuf(self.value_of("client-output-buffer-limit"));
                for group in args.chunks(4) {
                    let class = match group[0].to_ascii_lowercase().as_str() {
                        "normal" => 0,
                        "slave" | "replica" => 1,
                        "pubsub" => 2,
                        _ => return Err("Invalid client class specified in buffer limit configuration.".into()),
                    };
                    let hard = memtoull(&group[1]);
                    let soft = memtoull(&group[2]);
                    // `soft_seconds` is a C int.
                    let seconds = c_strtoll(&group[3]).map(|v| v as i32).filter(|&v| v >= 0);
                    match (hard, soft, seconds) {
                        (Some(hard), Some(soft), Some(seconds)) => {
                            limits[class] = ObufLimit { hard, soft, seconds: seconds as i64 }
                        }
                        _ => {
                            return Err(
                                "Error in hard, soft or soft_seconds setting in buffer limit configuration.".into()
                            )
                        }
                    }
                }
                Ok(fmt_obuf(&limits))
            }
            Special::OomScoreAdjValues => {
                if args.len() != 3 {
                    return Err(WRONG_ARGS.into());
                }
                let mut values = [0i64; 3];
                for (v, a) in values.iter_mut().zip(args) {
                    *v = c_strtoll(a)
                        .filter(|v| (-2000..=2000).contains(v))
                        .ok_or("Invalid oom-score-adj-values, elements must be between -2000 and 2000.".to_string())?;
                }
                if values[1] < values[0] || values[2] < values[1] {
                    tracing::warn!(
                        "The oom-score-adj-values configuration may not work for non-privileged processes! Please consult the documentation."
                    );
                }
                Ok(format!("{} {} {}", values[0], values[1], values[2]))
            }
            Special::NotifyKeyspaceEvents => {
                if args.len() != 1 {
                    return Err(WRONG_ARGS.into());
                }
                let flags = keyspace_events_flags(&args[0])
                    .ok_or("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string())?;
                Ok(keyspace_events_string(flags))
            }
            Special::Bind => {
                if args.len() > 16 {
                    return Err("Too many bind addresses specified.".into());
                }
                if args.len() == 1 && args[0].is_empty() {
                    return Ok(String::new());
                }
                Ok(args.join(" "))
            }
            Special::ReplicaOf => {
                if args.len() != 2 {
                    return Err(WRONG_ARGS.into());
                }
                if args[0].eq_ignore_ascii_case("no") && args[1].eq_ignore_ascii_case("one") {
                    return Ok(String::new());
                }
                let port = c_strtoll(&args[1]).filter(|p| (0..=65535).contains(p)).ok_or("Invalid master port")?;
                Ok(format!("{} {port}", args[0]))
            }
            Special::LatencyTrackingInfoPercentiles => {
                if args.len() == 1 && args[0].is_empty() {
                    return Ok(String::new());
                }
                let mut out = Vec::with_capacity(args.len());
                for a in args {
                    let v = parse_f64(a.as_bytes()).ok_or("Invalid latency-tracking-info-percentiles parameters")?;
                    if !(0.0..=100.0).contains(&v) {
                        return Err(
                            "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]".into()
                        );
                    }
                    out.push(fmt_percentile(v));
                }
                Ok(out.join(" "))
            }
        }
    }

    /// The numeric value of parameter `i`.
    fn num(&self, i: usize) -> i64 {
        match PARAMS[i].kind {
            Kind::Num { fmt, .. } => num_of(&self.values[i], fmt),
            _ => 0,
        }
    }

    /// Copies parameter `i` into its typed field.
    fn mirror(&mut self, i: usize) {
        let text = &self.values[i];
        let n = self.num(i);
        match PARAMS[i].name {
            "port" => self.port = n as u16,
            "bind" => self.bind = text.split(' ').filter(|s| !s.is_empty()).map(String::from).collect(),
            "databases" => self.databases = n as usize,
            "requirepass" => self.requirepass = (!text.is_empty()).then(|| text.clone()),
            "hz" => self.hz = n as u32,
            "proto-max-bulk-len" => self.proto_max_bulk_len = n,
            "client-query-buffer-limit" => self.client_query_buffer_limit = n,
            "slowlog-log-slower-than" => self.slowlog_log_slower_than = n,
            "slowlog-max-len" => self.slowlog_max_len = n as usize,
            "maxclients" => self.maxclients = n as usize,
            "timeout" => self.timeout = n,
            "tcp-keepalive" => self.tcp_keepalive = n,
            "tcp-backlog" => self.tcp_backlog = n as i32,
            "io-threads" => self.io_threads = n as usize,
            "active-expire-effort" => self.active_expire_effort = n as u32,
            "activerehashing" => self.activerehashing = text == "yes",
            "protected-mode" => self.protected_mode = text == "yes",
            "client-output-buffer-limit" => self.obuf_limits = parse_obuf(text),
            "unixsocket" => self.unixsocket = (!text.is_empty()).then(|| text.clone()),
            "unixsocketperm" => self.unixsocketperm = n as u32,
            "latency-monitor-threshold" => self.latency_monitor_threshold = n,
            "busy-reply-threshold" => self.busy_reply_threshold = n,
            "key-load-delay" => self.key_load_delay = n.max(0) as u64,
            "hash-max-listpack-entries" => self.encoding.hash.entries = n.max(0) as usize,
            "hash-max-listpack-value" => self.encoding.hash.value = n.max(0) as usize,
            "set-max-intset-entries" => self.encoding.set.intset_entries = n.max(0) as usize,
            "set-max-listpack-entries" => self.encoding.set.pack.entries = n.max(0) as usize,
            "set-max-listpack-value" => self.encoding.set.pack.value = n.max(0) as usize,
            "zset-max-listpack-entries" => self.encoding.zset.entries = n.max(0) as usize,
            "zset-max-listpack-value" => self.encoding.zset.value = n.max(0) as usize,
            "list-max-listpack-size" => self.encoding.list_fill = crate::types::list::Fill(n),
            "hll-sparse-max-bytes" => self.hll_sparse_max_bytes = n.max(0) as usize,
            // Acts on the allocator at once, at start-up and on CONFIG SET.
            "jemalloc-bg-thread" => {
                self.jemalloc_bg_thread = text == "yes";
                crate::alloc::set_background_thread(self.jemalloc_bg_thread);
            }
            "latency-tracking" => self.latency_tracking = text == "yes",
            "latency-tracking-info-percentiles" => {
                self.latency_tracking_percentiles = text.split(' ').filter_map(|p| parse_f64(p.as_bytes())).collect()
            }
            "enable-debug-command" => self.enable_debug = text.clone(),
            "enable-protected-configs" => self.enable_protected_configs = text.clone(),
            "loglevel" => {
                self.loglevel = text.clone();
                crate::server::logging::set_verbosity(text);
            }
            "logfile" => self.logfile = text.clone(),
            "pidfile" => self.pidfile = (!text.is_empty()).then(|| text.clone()),
            _ => {}
        }
    }

    /// The save points as (seconds, changes) pairs.
    pub fn save_points(&self) -> Vec<(i64, i64)> {
        let v: Vec<i64> = self.value_of("save").split(' ').filter_map(|s| s.parse().ok()).collect();
        v.chunks(2).filter(|c| c.len() == 2).map(|c| (c[0], c[1])).collect()
    }

    /// The keyspace notification classes as Redis's NOTIFY_* bit flags.
    pub fn notify_keyspace_events(&self) -> u32 {
        keyspace_events_flags(self.value_of("notify-keyspace-events")).unwrap_or(0)
    }

    /// Whether Redis's protected mode is in force: `protected-mode yes` and
    /// no password (Redis 7.0 applies it whatever `bind` says). Clients
    /// from other hosts are then refused (`-DENIED ...`) by the listener.
    pub fn protected_mode_active(&self) -> bool {
        self.protected_mode && self.requirepass.is_none()
    }

    // ---- Start-up ---------------------------------------------------------

    /// Loads the start-up configuration as redis-server does: the file (if
    /// any), then what was read from standard input, then the command-line
    /// options, all parsed as one text.
    pub fn load_startup(&mut self, file: Option<&str>, stdin: Option<&str>, options: &str) -> Result<(), LoadError> {
        // As with `include`, a file name with wildcards reads every match.
        let mut text = String::new();
        for path in file.map(expand_include).unwrap_or_default() {
            text.push_str(&read_config_file(&path)?);
        }
        if let Some(s) = stdin {
            text.push_str(s);
        }
        text.push('\n');
        text.push_str(options);
        self.load_text_at(&text, 0)?;
        if !self.logfile.is_empty() {
            if let Err(e) = std::fs::OpenOptions::new().create(true).append(true).open(&self.logfile) {
                return Err(LoadError::Fatal(format!("{}Can't open the log file: {}\n", fatal_header(), strerror(&e))));
            }
        }
        Ok(())
    }

    /// Loads a redis.conf-style file (with `include`).
    pub fn load_file(&mut self, path: &str) -> Result<(), LoadError> {
        let text = read_config_file(path)?;
        self.load_text_at(&text, 0)
    }

    /// Loads redis.conf-style text.
    pub fn load_text(&mut self, text: &str) -> Result<(), LoadError> {
        self.load_text_at(text, 0)
    }

    fn load_text_at(&mut self, text: &str, depth: usize) -> Result<(), LoadError> {
        for (n, raw) in text.split('\n').enumerate() {
            let line = raw.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |why: &str| {
                LoadError::Fatal(format!(
                    "{}Reading the configuration file, at line {}\n>>> '{line}'\n{why}\n",
                    fatal_header(),
                    n + 1
                ))
            };
            let argv = split_config_line(line).ok_or_else(|| fail("Unbalanced quotes in configuration line"))?;
            let Some((name, rest)) = argv.split_first() else { continue };
            let name = name.to_ascii_lowercase();
            if let Some(k) = lookup_name(name.as_bytes()) {
                let i = names().all[k].1;
                let p = &PARAMS[i];
                if !p.has(MULTI_ARG) && argv.len() != 2 {
                    return Err(fail("wrong number of arguments"));
                }
                // One non-empty argument of a multi-argument parameter is
                // split again, so that `--save "3600 1 300 100"` works.
                let split;
                let args = if p.has(MULTI_ARG) && argv.len() == 2 && !argv[1].is_empty() {
                    split =
                        split_config_line(&argv[1]).ok_or_else(|| fail("Unbalanced quotes in configuration line"))?;
                    &split[..]
                } else {
                    rest
                };
                self.set_param(i, &name, args, Phase::Startup).map_err(|e| fail(&e))?;
                continue;
            }
            match name.as_str() {
                // Deprecated and ignored, as in Redis.
                "list-max-ziplist-entries" | "list-max-ziplist-value" | "lua-replicate-commands" if argv.len() == 2 => {
                }
                "include" if argv.len() == 2 => {
                    if depth >= MAX_INCLUDE_DEPTH {
                        return Err(fail("Too many nested include directives"));
                    }
                    for path in expand_include(&argv[1]) {
                        let text = read_config_file(&path)?;
                        self.load_text_at(&text, depth + 1)?;
                    }
                }
                "rename-command" if argv.len() == 3 => {
                    if crate::commands::table().lookup(argv[1].as_bytes()).is_none() {
                        return Err(fail("No such command in rename-command"));
                    }
                    return Err(fail("rename-command is not supported yet by oxkey"));
                }
                "user" if argv.len() >= 2 => {
                    return Err(fail("user is not supported yet by oxkey (needs ACL users and files)"))
                }
                "loadmodule" if argv.len() >= 2 => {
                    return Err(fail("loadmodule is not supported yet by oxkey (needs modules)"))
                }
                _ if name.contains('.') => {
                    if argv.len() < 2 {
                        return Err(fail("Module config specified without value"));
                    }
                    return Err(fail(&format!(
                        "{name} is not supported yet by oxkey (module configurations need modules)"
                    )));
                }
                // A bare `sentinel` line is left to main() in Redis.
                "sentinel" if argv.len() == 1 => {}
                "sentinel" => return Err(fail("sentinel directive while not in sentinel mode")),
                _ => return Err(fail("Bad directive or wrong number of arguments")),
            }
        }
        Ok(())
    }

    // ---- CONFIG REWRITE ---------------------------------------------------

    /// Rewrites the configuration file in place as Redis's `rewriteConfig`:
    /// comments and lines it does not rewrite stay, each parameter reuses
    /// the line(s) it had, parameters that differ from their default are
    /// appended after a `# Generated by CONFIG REWRITE` line. The error text
    /// follows `ERR `.
    pub fn rewrite(&self) -> Result<(), String> {
        let Some(path) = &self.config_file else {
            return Err("The server is running without a config file".into());
        };
        let old = match std::fs::read(path) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(format!("Rewriting config file: {}", strerror(&e))),
        };
        let content = self.rewrite_content(&old);
        overwrite_file(path, &content).map_err(|e| {
            tracing::warn!("CONFIG REWRITE failed: {}", strerror(&e));
            format!("Rewriting config file: {}", strerror(&e))
        })?;
        tracing::warn!("CONFIG REWRITE executed with success.");
        Ok(())
    }

    /// The new content of a configuration file whose old content is `old`.
    pub fn rewrite_content(&self, old: &str) -> String {
        let mut rw = Rewrite::read(old);
        for (i, p) in PARAMS.iter().enumerate() {
            self.rewrite_param(i, p, &mut rw);
        }
        // No ACL users beyond `default` and no modules yet: their lines go.
        rw.mark("user");
        rw.mark("loadmodule");
        rw.finish()
    }

    fn rewrite_param(&self, i: usize, p: &Param, rw: &mut Rewrite) {
        let name = p.name;
        let text = &self.values[i];
        let default = p.default_text();
        match p.kind {
            Kind::Bool { .. } | Kind::Enum { .. } => rw.line(name, format!("{name} {text}"), *text != default),
            Kind::Num { fmt, default: d, .. } => {
                let v = num_of(text, fmt);
                let shown = match fmt {
                    NumFmt::MemoryPercent if v < 0 => format!("{}%", -v),
                    NumFmt::Memory | NumFmt::MemoryPercent => format_memory(v),
                    NumFmt::Octal => format!("{:o}", v as u64),
                    NumFmt::Int => v.to_string(),
                };
                rw.line(name, format!("{name} {shown}"), v != d);
            }
            Kind::Str { default, .. } => {
                if default.is_none() && text.is_empty() {
                    // A NULL string is left out so that it stays NULL.
                    rw.mark(name);
                } else {
                    rw.line(name, format!("{name} {}", repr(text)), default != Some(text.as_str()));
                }
            }
            Kind::Special(s) => match s {
                Special::Dir => rw.line(name, format!("dir {}", repr(text)), true),
                Special::Save => {
                    let points = self.save_points();
                    if points.is_empty() {
                        rw.line(name, "save \"\"".into(), true);
                    }
                    for (s, c) in points {
                        rw.line(name, format!("save {s} {c}"), true);
                    }
                    rw.mark(name);
                }
                Special::ClientOutputBufferLimit => {
                    let limits = parse_obuf(text);
                    for (class, (l, d)) in limits.iter().zip(OBUF_DEFAULTS.iter()).enumerate() {
                        let force = l.hard != d.hard || l.soft != d.soft || l.seconds != d.seconds;
                        let class = if class == 1 { "replica" } else { OBUF_CLASSES[class] };
                        let line = format!(
                            "{name} {class} {} {} {}",
                            format_memory(l.hard as i64),
                            format_memory(l.soft as i64),
                            l.seconds
                        );
                        rw.line(name, line, force);
                    }
                }
                Special::OomScoreAdjValues => rw.line(name, format!("{name} {text}"), *text != default),
                Special::NotifyKeyspaceEvents => rw.line(name, format!("{name} {}", repr(text)), !text.is_empty()),
                Special::Bind => {
                    if *text == default {
                        rw.mark(name);
                    } else if text.is_empty() {
                        rw.line(name, "bind \"\"".into(), true);
                    } else {
                        rw.line(name, format!("bind {text}"), true);
                    }
                }
                Special::ReplicaOf => {
                    if text.is_empty() {
                        rw.mark(name);
                    } else {
                        rw.line(name, format!("{name} {text}"), true);
                    }
                }
                Special::LatencyTrackingInfoPercentiles => {
                    let shown = if text.is_empty() { "\"\"" } else { text };
                    rw.line(name, format!("{name} {shown}"), true);
                }
            },
        }
    }
}

/// Whether `enable-protected-configs` (or a similar `no|yes|local`
/// setting) lets this client act.
pub fn allow_protected(setting: &str, client_is_local: bool) -> bool {
    setting == "yes" || (setting == "local" && client_is_local)
}

/// The message for a value oxkey cannot honour yet.
fn refusal(p: &Param, name: &str, args: &[String]) -> String {
    if let Gate::StartupOnly = p.gate {
        return format!("changing {name} at run time is not supported yet by oxkey (it is applied at start-up)");
    }
    let shown = if args.iter().all(|a| a.is_empty()) { "\"\"".to_string() } else { args.join(" ") };
    format!("{name} {shown} is not supported yet by oxkey (needs {})", p.feature.what())
}

/// CONFIG SET's argument vector for a value: multi-argument parameters are
/// split at every single space (Redis's sdssplitlen), so "" gives none.
fn split_config_set_value(p: &Param, value: &str) -> Vec<String> {
    if !p.has(MULTI_ARG) {
        return vec![value.to_string()];
    }
    if value.is_empty() {
        return Vec::new();
    }
    value.split(' ').map(String::from).collect()
}

/// Splits a configuration line like Redis's `sdssplitargs`.
fn split_config_line(line: &str) -> Option<Vec<String>> {
    let args = crate::protocol::decode::split_args(line.as_bytes())?;
    Some(args.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect())
}

fn fatal_header() -> String {
    format!("\n*** FATAL CONFIG FILE ERROR (oxkey {}) ***\n", crate::VERSION)
}

fn read_config_file(path: &str) -> Result<String, LoadError> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| LoadError::Open(format!("Fatal error, can't open config file '{path}': {}", strerror(&e))))
}

/// The files an `include` names: the path itself, or for a path with
/// wildcards the matching files in alphabetical order (none is fine).
fn expand_include(path: &str) -> Vec<String> {
    if !path.contains(['*', '?', '[']) {
        return vec![path.to_string()];
    }
    let mut found = vec![if path.starts_with('/') { "/".to_string() } else { String::new() }];
    for part in path.split('/').filter(|p| !p.is_empty()) {
        let mut next = Vec::new();
        for base in &found {
            let join = |name: &str| {
                if base.is_empty() || base.ends_with('/') {
                    format!("{base}{name}")
                } else {
                    format!("{base}/{name}")
                }
            };
            if !part.contains(['*', '?', '[']) {
                next.push(join(part));
                continue;
            }
            let dir = if base.is_empty() { "." } else { base.as_str() };
            let Ok(entries) = std::fs::read_dir(dir) else { continue };
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| {
                    (part.starts_with('.') || !n.starts_with('.')) && glob_match(part.as_bytes(), n.as_bytes(), false)
                })
                .collect();
            names.sort();
            next.extend(names.iter().map(|n| join(n)));
        }
        found = next;
    }
    found.retain(|p| std::path::Path::new(p).is_file());
    found
}

/// One element of a compiled glob.
enum Tok {
    /// A run of stars.
    Star,
    Any,
    /// A byte, lower-cased.
    Byte(u8),
    /// Which bytes a `[...]` class accepts.
    Class(Box<[bool; 256]>),
}

/// A CONFIG GET pattern compiled once for all the parameter names, with the
/// results of `util::glob_match` (case-insensitive). Star runs collapse and
/// each class becomes a byte set, so matching a name costs at most tokens x
/// name length; a pattern needing more bytes than the longest name is
/// dropped while compiling. Whatever the pattern, the work stays bounded.
struct Glob(Vec<Tok>);

impl Glob {
    fn compile(pattern: &[u8], longest: usize) -> Option<Glob> {
        let fold = |c: u8| c.to_ascii_lowercase();
        let (mut toks, mut need, mut stars, mut p) = (Vec::new(), 0usize, 0usize, 0usize);
        while p < pattern.len() {
            let tok = match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    // Redis gives up past 1000 nested stars (util::glob_match).
                    stars += 1;
                    if stars > 1000 && p < pattern.len() {
                        return None;
                    }
                    toks.push(Tok::Star);
                    continue;
                }
                b'?' => Tok::Any,
                b'\\' if p + 1 < pattern.len() => {
                    p += 1;
                    Tok::Byte(fold(pattern[p]))
                }
                b'[' => {
                    let (set, next) = compile_class(pattern, p);
                    p = next;
                    need += 1;
                    if need > longest {
                        return None;
                    }
                    toks.push(Tok::Class(set));
                    continue;
                }
                c => Tok::Byte(fold(c)),
            };
            need += 1;
            if need > longest {
                return None;
            }
            toks.push(tok);
            p += 1;
        }
        Some(Glob(toks))
    }

    /// The iterative matcher of `util::glob_match`, over tokens.
    fn matches(&self, name: &[u8]) -> bool {
        let toks = &self.0;
        let (mut t, mut s) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while s < name.len() {
            if let Some(tok) = toks.get(t) {
                let c = name[s];
                let step = match tok {
                    Tok::Star => {
                        t += 1;
                        if t == toks.len() {
                            return true;
                        }
                        star = Some((t, s));
                        continue;
                    }
                    Tok::Any => true,
                    Tok::Byte(b) => c.to_ascii_lowercase() == *b,
                    Tok::Class(set) => set[c as usize],
                };
                if step {
                    t += 1;
                    s += 1;
                    continue;
                }
            }
            match star {
                Some((st, ss)) => {
                    t = st;
                    s = ss + 1;
                    star = Some((st, ss + 1));
                }
                None => return false,
            }
        }
        toks[t..].iter().all(|t| matches!(t, Tok::Star))
    }
}

/// The bytes the class at `pattern[start] == '['` accepts (with the syntax
/// of `util::glob_match`: `^`, ranges either way round, `\x`, unterminated
/// to the end) and the index after it.
fn compile_class(pattern: &[u8], start: usize) -> (Box<[bool; 256]>, usize) {
    let fold = |c: u8| c.to_ascii_lowercase();
    let mut folded = [false; 256];
    let mut p = start + 1;
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    loop {
        match pattern.get(p) {
            None => break,
            Some(b']') => {
                p += 1;
                break;
            }
            Some(b'\\') if p + 1 < pattern.len() => {
                folded[fold(pattern[p + 1]) as usize] = true;
                p += 2;
            }
            Some(&lo) if pattern.get(p + 1) == Some(&b'-') && p + 2 < pattern.len() => {
                let (lo, hi) = (fold(lo), fold(pattern[p + 2]));
                let (lo, hi) = if lo > hi { (hi, lo) } else { (lo, hi) };
                for v in lo..=hi {
                    folded[v as usize] = true;
                }
                p += 3;
            }
            Some(&x) => {
                folded[fold(x) as usize] = true;
                p += 1;
            }
        }
    }
    let mut set = Box::new([false; 256]);
    for (c, accepted) in set.iter_mut().enumerate() {
        *accepted = folded[fold(c as u8) as usize] != negate;
    }
    (set, p.min(pattern.len()))
}

/// The error text of an I/O error, as C's strerror() (without Rust's
/// "(os error N)" suffix).
pub fn strerror(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(pos) => s[..pos].to_string(),
        None => s,
    }
}

fn current_dir() -> String {
    std::env::current_dir().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default()
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

// ---- Numbers -------------------------------------------------------------

/// Redis's `memtoull`: digits and an optional unit (b, k, kb, m, mb, g, gb,
/// any case; k = 1000, kb = 1024). As in C, no digits read as 0, too many
/// saturate, and the multiplication wraps.
pub fn memtoull(s: &str) -> Option<u64> {
    if s.starts_with('-') {
        return None;
    }
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let mul: u64 = match s[digits..].to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    if digits >= 128 {
        return None;
    }
    let val = if digits == 0 { 0 } else { s[..digits].parse::<u64>().unwrap_or(u64::MAX) };
    Some(val.wrapping_mul(mul))
}

/// C's `strtoll(s, &end, 10)` requiring the whole string be consumed:
/// leading spaces and a sign allowed, overflow saturates.
fn c_strtoll(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let mut p = b.iter().take_while(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)).count();
    let neg = match b.get(p) {
        Some(b'-') => {
            p += 1;
            true
        }
        Some(b'+') => {
            p += 1;
            false
        }
        _ => false,
    };
    let digits = b[p..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        // Nothing converted: the end pointer stays at the start.
        return b.is_empty().then_some(0);
    }
    if p + digits != b.len() {
        return None;
    }
    let mut v: i128 = 0;
    for &c in &b[p..] {
        v = (v * 10 + (c - b'0') as i128).min(i64::MAX as i128 + 1);
    }
    let v = if neg { -v } else { v };
    Some(v.clamp(i64::MIN as i128, i64::MAX as i128) as i64)
}

/// C's `strtoll(s, &end, 8)` with errno and end checks (octal configs).
fn c_strtoll_octal(s: &str) -> Option<i64> {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if body.is_empty() || !body.bytes().all(|c| (b'0'..=b'7').contains(&c)) {
        return s.is_empty().then_some(0);
    }
    let v = i64::from_str_radix(body, 8).ok()?;
    Some(if neg { -v } else { v })
}

/// Parses a numeric parameter as Redis's `numericParseString`.
fn parse_num(s: &str, fmt: NumFmt) -> Result<i64, String> {
    match fmt {
        NumFmt::Memory | NumFmt::MemoryPercent => {
            if let Some(v) = memtoull(s) {
                return Ok(v as i64);
            }
            if fmt == NumFmt::MemoryPercent && s.len() > 1 && s.ends_with('%') {
                if let Some(v) = parse_i64(&s.as_bytes()[..s.len() - 1]).filter(|&v| v >= 0) {
                    // Percentages are stored negative.
                    return Ok(-v);
                }
            }
            Err(if fmt == NumFmt::Memory {
                "argument must be a memory value".into()
            } else {
                "argument must be a memory or percent value".into()
            })
        }
        NumFmt::Octal => c_strtoll_octal(s).ok_or_else(|| "argument couldn't be parsed as an octal number".into()),
        NumFmt::Int => parse_i64(s.as_bytes()).ok_or_else(|| "argument couldn't be parsed into an integer".into()),
    }
}

/// Redis's `numericBoundaryCheck`.
fn check_bounds(v: i64, min: i64, max: i64, unsigned: bool, fmt: NumFmt) -> Result<(), String> {
    if unsigned {
        let (u, lo, hi) = (v as u64, min as u64, max as u64);
        if u > hi || u < lo {
            return Err(if fmt == NumFmt::Octal {
                format!("argument must be between {lo:o} and {hi:o} inclusive")
            } else {
                format!("argument must be between {lo} and {hi} inclusive")
            });
        }
    } else if fmt == NumFmt::MemoryPercent && v < 0 {
        if v < min {
            return Err(format!("percentage argument must be less or equal to {}", -min));
        }
    } else if v > max || v < min {
        return Err(format!("argument must be between {min} and {max} inclusive"));
    }
    Ok(())
}

/// CONFIG GET's text of a numeric value.
fn fmt_num(v: i64, fmt: NumFmt) -> String {
    match fmt {
        NumFmt::MemoryPercent if v < 0 => format!("{}%", v.unsigned_abs()),
        NumFmt::Memory | NumFmt::MemoryPercent => (v as u64).to_string(),
        NumFmt::Octal => format!("{:o}", v as u64),
        NumFmt::Int => v.to_string(),
    }
}

/// The value back from CONFIG GET's text.
fn num_of(text: &str, fmt: NumFmt) -> i64 {
    if let Some(p) = text.strip_suffix('%') {
        return -p.parse::<i64>().unwrap_or(0);
    }
    match fmt {
        NumFmt::Octal => i64::from_str_radix(text, 8).unwrap_or(0),
        _ => text.parse::<i64>().or_else(|_| text.parse::<u64>().map(|u| u as i64)).unwrap_or(0),
    }
}

/// Redis's `rewriteConfigFormatMemory`: gb, mb or kb when exact.
fn format_memory(bytes: i64) -> String {
    const GB: i64 = 1 << 30;
    const KB: i64 = 1 << 10;
    if bytes != 0 && bytes % GB == 0 {
        format!("{}gb", bytes / GB)
    } else if bytes != 0 && bytes % MB == 0 {
        format!("{}mb", bytes / MB)
    } else if bytes != 0 && bytes % KB == 0 {
        format!("{}kb", bytes / KB)
    } else {
        bytes.to_string()
    }
}

/// `%f` with trailing zeros (and a trailing dot) removed.
fn fmt_percentile(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

// ---- Enums and special values --------------------------------------------

/// Redis's `configEnumGetValue`: one word, or for bit flags several words
/// OR-ed together.
fn enum_value(values: &[(&str, i32)], args: &[String], bitflags: bool) -> Option<i32> {
    if args.is_empty() || (!bitflags && args.len() != 1) {
        return None;
    }
    let mut v = 0;
    for a in args {
        let mut matched = false;
        for &(name, val) in values {
            if name.eq_ignore_ascii_case(a) {
                v |= val;
                matched = true;
            }
        }
        if !matched {
            return None;
        }
    }
    Some(v)
}

/// Redis's `configEnumGetName`: the first exact match, else for bit flags
/// the names of the set bits.
fn enum_name(values: &[(&str, i32)], v: i32, bitflags: bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut unmatched = v;
    for &(name, val) in values {
        if val == v {
            return name.to_string();
        }
        if bitflags && val != 0 && val == unmatched & val {
            names.push(name);
            unmatched &= !val;
        }
    }
    if names.is_empty() || unmatched != 0 {
        return "unknown".into();
    }
    names.join(" ")
}

fn valid_shutdown_flags(v: i32) -> Result<(), &'static str> {
    if v & SHUTDOWN_SAVE != 0 && v & SHUTDOWN_NOSAVE != 0 {
        return Err("shutdown options SAVE and NOSAVE can't be used simultaneously");
    }
    Ok(())
}

/// Saving on a signal needs persistence.
fn without_save_flag(v: &str) -> bool {
    !v.split(' ').any(|w| w == "save")
}

/// Notifications are only sent with K or E among the classes.
fn no_events(v: &str) -> bool {
    !v.contains(['K', 'E'])
}

fn parse_obuf(text: &str) -> [ObufLimit; 3] {
    let mut limits = OBUF_DEFAULTS;
    let words: Vec<&str> = text.split(' ').collect();
    for group in words.chunks(4) {
        if let [class, hard, soft, seconds] = group {
            if let Some(c) = OBUF_CLASSES.iter().position(|n| n == class) {
                limits[c] = ObufLimit {
                    hard: hard.parse().unwrap_or(0),
                    soft: soft.parse().unwrap_or(0),
                    seconds: seconds.parse().unwrap_or(0),
                };
            }
        }
    }
    limits
}

fn fmt_obuf(limits: &[ObufLimit; 3]) -> String {
    let parts: Vec<String> = OBUF_CLASSES
        .iter()
        .zip(limits)
        .map(|(class, l)| format!("{class} {} {} {}", l.hard, l.soft, l.seconds))
        .collect();
    parts.join(" ")
}

// Redis's NOTIFY_* flags.
const NOTIFY_KEYSPACE: u32 = 1 << 0;
const NOTIFY_KEYEVENT: u32 = 1 << 1;
const NOTIFY_KEY_MISS: u32 = 1 << 11;
const NOTIFY_NEW: u32 = 1 << 14;
/// The classes in `A`, in the order they print, with their letters.
const NOTIFY_CLASSES: &[(char, u32)] = &[
    ('g', 1 << 2),
    ('$', 1 << 3),
    ('l', 1 << 4),
    ('s', 1 << 5),
    ('h', 1 << 6),
    ('z', 1 << 7),
    ('x', 1 << 8),
    ('e', 1 << 9),
    ('t', 1 << 10),
    ('d', 1 << 13),
];

/// Redis's `keyspaceEventsStringToFlags`.
pub fn keyspace_events_flags(s: &str) -> Option<u32> {
    let all: u32 = NOTIFY_CLASSES.iter().map(|c| c.1).sum();
    let mut flags = 0;
    for c in s.chars() {
        flags |= match c {
            'A' => all,
            'K' => NOTIFY_KEYSPACE,
            'E' => NOTIFY_KEYEVENT,
            'm' => NOTIFY_KEY_MISS,
            'n' => NOTIFY_NEW,
            _ => NOTIFY_CLASSES.iter().find(|(l, _)| *l == c)?.1,
        };
    }
    Some(flags)
}

/// Redis's `keyspaceEventsFlagsToString`.
fn keyspace_events_string(flags: u32) -> String {
    let all: u32 = NOTIFY_CLASSES.iter().map(|c| c.1).sum();
    let mut s = String::new();
    if flags & all == all {
        s.push('A');
    } else {
        for &(letter, bit) in NOTIFY_CLASSES {
            if flags & bit != 0 {
                s.push(letter);
            }
        }
        if flags & NOTIFY_NEW != 0 {
            s.push('n');
        }
    }
    for (bit, letter) in [(NOTIFY_KEYSPACE, 'K'), (NOTIFY_KEYEVENT, 'E'), (NOTIFY_KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(letter);
        }
    }
    s
}

// ---- String validators ---------------------------------------------------

fn is_basename(s: &str) -> bool {
    !s.contains(['/', '\\'])
}

fn valid_dbfilename(s: &str) -> Result<(), &'static str> {
    if !is_basename(s) {
        return Err("dbfilename can't be a path, just a filename");
    }
    Ok(())
}

fn valid_aof_filename(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("appendfilename can't be empty");
    }
    if !is_basename(s) {
        return Err("appendfilename can't be a path, just a filename");
    }
    Ok(())
}

fn valid_aof_dirname(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("appenddirname can't be empty");
    }
    if !is_basename(s) {
        return Err("appenddirname can't be a path, just a dirname");
    }
    Ok(())
}

fn valid_hostname(s: &str) -> Result<(), &'static str> {
    if s.len() >= 256 {
        return Err("Hostnames must be less than 256 characters");
    }
    if !s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.') {
        return Err("Hostnames may only contain alphanumeric characters, hyphens or dots");
    }
    Ok(())
}

fn valid_nodename(s: &str) -> Result<(), &'static str> {
    if s.bytes().any(|c| !c.is_ascii_alphanumeric() && b"!#$%&()*+:;<>?@[]^{|}~".contains(&c)) {
        return Err("Announced human node name contained invalid character");
    }
    Ok(())
}

/// Redis's `validateProcTitleTemplate`: `{var}` with known variables, `{{`
/// for a brace, and something left once expanded and trimmed.
fn valid_proc_title_template(s: &str) -> Result<(), &'static str> {
    const INVALID: &str = "template format is invalid or contains unknown variables";
    let mut out = String::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if after.is_empty() {
            return Err(INVALID);
        }
        if let Some(r) = after.strip_prefix('{') {
            out.push('{');
            rest = r;
            continue;
        }
        let close = after.find('}').ok_or(INVALID)?;
        // Values as when Redis validates: an empty title, a standalone
        // server listening on TCP.
        match &after[..close] {
            "title" | "server-mode" | "unixsocket" | "config-file" => {}
            "listen-addr" => out.push_str("*:6379"),
            "port" => out.push_str("6379"),
            "tls-port" => out.push('0'),
            _ => return Err(INVALID),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    if out.trim_matches(' ').is_empty() {
        return Err(INVALID);
    }
    Ok(())
}

/// Sets the process's LC_COLLATE as Redis's `updateLocaleCollate`.
fn set_collate_locale(name: &str) -> Result<(), String> {
    #[cfg(target_os = "linux")]
    const LC_COLLATE: i32 = 3;
    #[cfg(not(target_os = "linux"))]
    const LC_COLLATE: i32 = 1;
    extern "C" {
        fn setlocale(category: i32, locale: *const std::ffi::c_char) -> *mut std::ffi::c_char;
    }
    let c = std::ffi::CString::new(name).map_err(|_| "Invalid locale name".to_string())?;
    // SAFETY: setlocale with a valid NUL-terminated string; the returned
    // pointer is only compared with NULL.
    let r = unsafe { setlocale(LC_COLLATE, c.as_ptr()) };
    if r.is_null() {
        return Err("Invalid locale name".into());
    }
    Ok(())
}

/// Redis's `sdscatrepr`: a double-quoted string with C escapes.
pub fn repr(s: &str) -> String {
    let mut out = String::from("\"");
    for &b in s.as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            b' '..=b'~' => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

// ---- CONFIG REWRITE ------------------------------------------------------

const REWRITE_SIGNATURE: &str = "# Generated by CONFIG REWRITE";

/// Redis's `rewriteConfigState`.
struct Rewrite {
    lines: Vec<String>,
    /// Option (lower-case primary name) -> the lines that set it.
    option_lines: HashMap<String, VecDeque<usize>>,
    /// Options whose old lines are blanked when not reused.
    rewritten: HashSet<String>,
    needs_signature: bool,
}

impl Rewrite {
    /// Redis's `rewriteConfigReadOldFile`.
    fn read(old: &str) -> Rewrite {
        let mut rw = Rewrite {
            lines: Vec::new(),
            option_lines: HashMap::new(),
            rewritten: HashSet::new(),
            needs_signature: true,
        };
        if old.is_empty() {
            return rw;
        }
        for raw in old.split('\n') {
            let line = raw.trim_matches(|c| matches!(c, '\r' | '\n' | '\t' | ' ')).to_string();
            if line.is_empty() || line.starts_with('#') {
                if line == REWRITE_SIGNATURE {
                    rw.needs_signature = false;
                }
                rw.lines.push(line);
                continue;
            }
            let option = split_config_line(&line).and_then(|argv| {
                let name = argv.first()?.to_ascii_lowercase();
                match lookup_name(name.as_bytes()) {
                    Some(n) => Some(PARAMS[names().all[n].1].name.to_string()),
                    None if matches!(
                        name.as_str(),
                        "include" | "rename-command" | "user" | "loadmodule" | "sentinel"
                    ) =>
                    {
                        Some(name)
                    }
                    None => None,
                }
            });
            match option {
                Some(option) => {
                    rw.option_lines.entry(option).or_default().push_back(rw.lines.len());
                    rw.lines.push(line);
                }
                // Unparsable or unknown (a module's, a removed parameter).
                None => rw.lines.push(format!("# ??? {line}")),
            }
        }
        rw
    }

    fn mark(&mut self, option: &str) {
        self.rewritten.insert(option.to_string());
    }

    /// Redis's `rewriteConfigRewriteLine`: reuse the option's next old line,
    /// or append when `force`.
    fn line(&mut self, option: &str, line: String, force: bool) {
        self.mark(option);
        if let Some(n) = self.option_lines.get_mut(option).and_then(|l| l.pop_front()) {
            self.lines[n] = line;
            return;
        }
        if !force {
            return;
        }
        if self.needs_signature {
            self.lines.push(REWRITE_SIGNATURE.to_string());
            self.needs_signature = false;
        }
        self.lines.push(line);
    }

    /// Blanks the unused old lines of rewritten options and joins the lines,
    /// collapsing runs of empty lines.
    fn finish(mut self) -> String {
        for (option, lines) in &self.option_lines {
            if self.rewritten.contains(option) {
                for &n in lines {
                    self.lines[n].clear();
                }
            }
        }
        let mut out = String::new();
        let mut was_empty = false;
        for line in &self.lines {
            if line.is_empty() {
                if was_empty {
                    continue;
                }
                was_empty = true;
            } else {
                was_empty = false;
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// Replaces `path` atomically: write a temporary file beside it, sync,
/// rename over it, sync the directory.
fn overwrite_file(path: &str, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    let tmp = format!("{path}.{:06x}", std::process::id() ^ (crate::util::now_us() as u32 & 0xffffff));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(content.as_bytes())?;
        f.sync_all()?;
        f.set_permissions(std::fs::Permissions::from_mode(0o644 & !umask()))?;
        std::fs::rename(&tmp, path)?;
        let dir = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty());
        std::fs::File::open(dir.unwrap_or(std::path::Path::new(".")))?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The process's umask, from /proc (022 where it cannot be read).
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("Umask:"))?;
            u32::from_str_radix(line["Umask:".len()..].trim(), 8).ok()
        })
        .unwrap_or(0o022)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(c: &mut Config, pairs: &[(&str, &str)]) -> Result<(), String> {
        let pairs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect();
        c.config_set(&pairs, false)
    }

    #[test]
    fn typed_fields_follow_config_set() {
        let mut c = Config::default();
        assert!(c.activerehashing);
        set(&mut c, &[("activerehashing", "no"), ("hll-sparse-max-bytes", "100")]).unwrap();
        assert!(!c.activerehashing);
        assert_eq!(c.hll_sparse_max_bytes, 100);
    }

    #[test]
    fn table_has_unique_names_and_valid_defaults() {
        let mut seen = HashSet::new();
        for p in PARAMS {
            assert!(seen.insert(p.name), "duplicate {}", p.name);
            if let Some(a) = p.alias {
                assert!(seen.insert(a), "duplicate {a}");
            }
            // Every default passes its own gate.
            let text = p.default_text();
            match p.gate {
                Gate::Only(v) => assert!(v.contains(&text.as_str()), "{}", p.name),
                Gate::When(f) => assert!(f(&text), "{}", p.name),
                _ => {}
            }
        }
        assert!(names().all.len() > 200);
    }

    #[test]
    fn memory_values_like_memtoull() {
        assert_eq!(memtoull("1k"), Some(1000));
        assert_eq!(memtoull("1KB"), Some(1024));
        assert_eq!(memtoull("3Gb"), Some(3 << 30));
        assert_eq!(memtoull(""), Some(0));
        assert_eq!(memtoull("kb"), Some(0));
        assert_eq!(memtoull("18446744073709551616"), Some(u64::MAX));
        assert_eq!(memtoull("-1"), None);
        assert_eq!(memtoull("1 kb"), None);
        assert_eq!(memtoull("+1"), None);
        assert_eq!(format_memory(1 << 30), "1gb");
        assert_eq!(format_memory(3 * 1024 * 1024), "3mb");
        assert_eq!(format_memory(1025), "1025");
        assert_eq!(format_memory(0), "0");
    }

    #[test]
    fn c_number_parsing() {
        assert_eq!(c_strtoll(" +12"), Some(12));
        assert_eq!(c_strtoll("-5"), Some(-5));
        assert_eq!(c_strtoll(""), Some(0));
        assert_eq!(c_strtoll(" "), None);
        assert_eq!(c_strtoll("1a"), None);
        assert_eq!(c_strtoll("99999999999999999999"), Some(i64::MAX));
        assert_eq!(c_strtoll_octal("777"), Some(511));
        assert_eq!(c_strtoll_octal("8"), None);
        assert_eq!(c_strtoll_octal(""), Some(0));
    }

    #[test]
    fn values_print_as_redis() {
        let mut c = Config::default();
        let v = parse_num("10%", NumFmt::MemoryPercent).unwrap();
        assert_eq!((v, fmt_num(v, NumFmt::MemoryPercent)), (-10, "10%".to_string()));
        assert_eq!(
            check_bounds(-101, -100, i64::MAX, false, NumFmt::MemoryPercent).unwrap_err(),
            "percentage argument must be less or equal to 100"
        );
        set(&mut c, &[("oom-score-adj-values", "1 2 3")]).unwrap();
        set(&mut c, &[("shutdown-on-sigint", "nosave force")]).unwrap();
        assert_eq!(c.get("shutdown-on-sigint"), Some("nosave force"));
        set(&mut c, &[("client-output-buffer-limit", "normal 1mb 2k 3 replica 1 2 3")]).unwrap();
        assert_eq!(
            c.get("client-output-buffer-limit"),
            Some("normal 1048576 2000 3 slave 1 2 3 pubsub 33554432 8388608 60")
        );
        set(&mut c, &[("hz", "100000")]).unwrap();
        assert_eq!((c.get("hz"), c.hz), (Some("500"), 500));
        set(&mut c, &[("latency-tracking-info-percentiles", "50 99.5 100")]).unwrap();
        assert_eq!(c.get("latency-tracking-info-percentiles"), Some("50 99.5 100"));
        assert_eq!(keyspace_events_string(keyspace_events_flags("Kgm$lshzxetdn").unwrap()), "AKm");
        assert_eq!(keyspace_events_string(keyspace_events_flags("Ex").unwrap()), "xE");
        set(&mut c, &[("oom-score-adj-values", "0 200 800"), ("slave-priority", "7")]).unwrap();
        assert_eq!(c.get("replica-priority"), Some("7"));
        assert!(c.protected_mode_active());
        // Redis 7.0 protects whatever the bind; a password lifts it.
        c.load_text("bind 127.0.0.1").unwrap();
        assert!(c.protected_mode_active());
        c.load_text("requirepass x").unwrap();
        assert!(!c.protected_mode_active());
    }

    #[test]
    fn config_set_errors_in_redis_order() {
        let mut c = Config::default();
        assert_eq!(
            set(&mut c, &[("daemonize", "yes"), ("nosuch", "1")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
        );
        assert_eq!(
            set(&mut c, &[("hz", "5"), ("nosuch", "1")]).unwrap_err(),
            "Unknown option or number of arguments for CONFIG SET - 'nosuch'"
        );
        assert_eq!(
            set(&mut c, &[("hz", "5"), ("HZ", "6")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter"
        );
        assert_eq!(
            set(&mut c, &[("dir", "/")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"
        );
        // All or nothing.
        assert!(set(&mut c, &[("hz", "50"), ("maxclients", "0")]).is_err());
        assert_eq!(c.get("hz"), Some("10"));
        assert_eq!(
            set(&mut c, &[("min-replicas-to-write", "1")]).unwrap_err(),
            "CONFIG SET failed (possibly related to argument 'min-replicas-to-write') - min-replicas-to-write 1 is not supported yet by oxkey (needs replication)"
        );
        assert!(set(&mut c, &[("min-replicas-to-write", "0"), ("port", "6379")]).is_ok());
        assert!(set(&mut c, &[("port", "6380")]).unwrap_err().contains("changing port at run time"));
    }

    #[test]
    fn file_syntax_units_and_errors() {
        let mut c = Config::default();
        c.load_text("# comment\nport 7000\nproto-max-bulk-len 1gb\nrequirepass \"a b\"\n  save \"\"  \n").unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.proto_max_bulk_len, 1 << 30);
        assert_eq!(c.requirepass.as_deref(), Some("a b"));
        let e = c.load_text("\nhz abc\n").unwrap_err().to_string();
        assert!(e.contains("at line 2\n>>> 'hz abc'\nargument couldn't be parsed into an integer\n"), "{e}");
        let e = c.load_text("no-such-thing 1").unwrap_err().to_string();
        assert!(e.ends_with("Bad directive or wrong number of arguments\n"), "{e}");
        assert!(c.load_text("port 1 2").unwrap_err().to_string().ends_with("wrong number of arguments\n"));
        assert!(c.load_text("port \"1").unwrap_err().to_string().contains("Unbalanced quotes"));
        assert!(c.load_text("min-replicas-to-write 1").unwrap_err().to_string().contains("not supported yet by oxkey"));
        assert!(c.load_text("list-max-ziplist-entries 5").is_ok());
    }

    #[test]
    fn globs_are_bounded() {
        let c = Config::default();
        assert!(c.matching(b"*").len() > 190);
        assert_eq!(c.matching(b"slaveof").len(), 1);
        assert!(c.matching(b"*hidden*").is_empty());
        let evil = "a*".repeat(100_000);
        assert!(c.matching(evil.as_bytes()).is_empty());
        assert!(c.config_get(&[evil.as_bytes()]).is_empty());
        assert!(Glob::compile(&[b'?'; 1000], 40).is_none());
        assert!(Glob::compile(b"[unterminated", 40).is_some());
        // The same answers as util::glob_match on every name.
        let patterns: &[&[u8]] = &[
            b"*",
            b"hz",
            b"HZ",
            b"h?",
            b"*-max-*",
            b"[a-c]*",
            b"[^a-c]*",
            b"[c-a]*",
            b"*[",
            b"[]*",
            b"\\h*",
            b"h\\",
            b"*o*t*",
            b"slave*",
            b"*x",
            b"[sz]et-max-*-entries",
            b"[\\]]*",
            b"a[",
            b"*[-]*",
            b"[!a]*",
        ];
        for &pat in patterns {
            let glob = Glob::compile(pat, 64).unwrap();
            for &(name, _) in &names().all {
                let n = name.as_bytes();
                assert_eq!(glob.matches(n), glob_match(pat, n, true), "{} on {name}", String::from_utf8_lossy(pat));
            }
        }
    }

    #[test]
    fn rewrite_keeps_comments_and_reuses_lines() {
        let mut c = Config::default();
        set(&mut c, &[("hz", "20"), ("maxmemory-samples", "7"), ("slave-priority", "50"), ("save", "")]).unwrap();
        let old = "# top\nport 6379\nhz 10\nslave-priority 1\nsave \"\"\nsave \"\"\nnosuch 1\ninclude /x.conf\n\n\n";
        let new = c.rewrite_content(old);
        let expected_start = "# top\nport 6379\nhz 20\nreplica-priority 50\nsave \"\"\n\n# ??? nosuch 1\ninclude /x.conf\n\n# Generated by CONFIG REWRITE\n";
        assert!(new.starts_with(expected_start), "{new}");
        assert!(new.contains("\nmaxmemory-samples 7\n"));
        assert!(new.contains("\ndir \""));
        assert!(new.contains("\nlatency-tracking-info-percentiles 50 99 99.9\n"));
        assert!(!new.contains("hz 10"));
    }

    #[test]
    fn proc_title_templates() {
        assert!(valid_proc_title_template("{title} {listen-addr} {server-mode}").is_ok());
        assert!(valid_proc_title_template("{title}").is_err());
        assert!(valid_proc_title_template("{foo} x").is_err());
        assert!(valid_proc_title_template("x {{").is_ok());
        assert!(valid_proc_title_template("x {").is_err());
    }
}
