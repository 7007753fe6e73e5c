//! Every configuration parameter: the redis.conf-style file, command-line
//! overrides, CONFIG GET/SET. Values are validated by kind, stored as the
//! text CONFIG GET prints, and mirrored into typed fields the server reads.

use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// A byte count accepting units (1k, 1kb, 1mb, 1gb, ...).
    Memory {
        min: i64,
        max: i64,
    },
    Str,
    Enum(&'static [&'static str]),
    /// Several values in one (bind, save, client-output-buffer-limit...).
    List,
}

pub struct Param {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    /// Only settable at start-up (file or command line).
    pub immutable: bool,
}

const fn p(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param { name, alias: None, kind, default, immutable: false }
}

const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param { name, alias: None, kind, default, immutable: true }
}

const INT: Kind = Kind::Int { min: i64::MIN, max: i64::MAX };
const UINT: Kind = Kind::Int { min: 0, max: i64::MAX };
const MEM: Kind = Kind::Memory { min: 0, max: i64::MAX };

pub static PARAMS: &[Param] = &[
    fixed("port", Kind::Int { min: 0, max: 65535 }, "6379"),
    fixed("bind", Kind::List, "* -::*"),
    fixed("databases", Kind::Int { min: 1, max: i32::MAX as i64 }, "16"),
    p("requirepass", Kind::Str, ""),
    p("hz", Kind::Int { min: 0, max: i32::MAX as i64 }, "10"),
    p("proto-max-bulk-len", Kind::Memory { min: 1024 * 1024, max: i64::MAX }, "536870912"),
    p("client-query-buffer-limit", Kind::Memory { min: 1024 * 1024, max: i64::MAX }, "1073741824"),
    p("slowlog-log-slower-than", INT, "10000"),
    p("slowlog-max-len", UINT, "128"),
    p("loglevel", Kind::Enum(&["debug", "verbose", "notice", "warning", "nothing"]), "notice"),
    fixed("logfile", Kind::Str, ""),
    p("maxclients", Kind::Int { min: 1, max: i32::MAX as i64 }, "10000"),
    p("timeout", UINT, "0"),
    p("tcp-keepalive", UINT, "300"),
    fixed("tcp-backlog", UINT, "511"),
    fixed("io-threads", Kind::Int { min: 1, max: 128 }, "1"),
    p("enable-debug-command", Kind::Enum(&["no", "yes", "local"]), "no"),
    p("maxmemory", MEM, "0"),
    p("dir", Kind::Str, "."),
    p("dbfilename", Kind::Str, "dump.rdb"),
    p("save", Kind::List, ""),
    p("appendonly", Kind::Bool, "no"),
    p("notify-keyspace-events", Kind::Str, ""),
    p("protected-mode", Kind::Bool, "yes"),
    p("daemonize", Kind::Bool, "no"),
    p("latency-tracking", Kind::Bool, "yes"),
    p("active-expire-effort", Kind::Int { min: 1, max: 10 }, "1"),
    p("lazyfree-lazy-user-flush", Kind::Bool, "no"),
];

pub fn param(name: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.name.eq_ignore_ascii_case(name) || p.alias.is_some_and(|a| a.eq_ignore_ascii_case(name)))
}

/// Parses a memory value like Redis's `memtoull`: digits with an optional
/// unit k, kb, m, mb, g, gb (case-insensitive; k = 1000, kb = 1024).
pub fn parse_memory(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let split = lower.find(|c: char| !c.is_ascii_digit() && c != '-').unwrap_or(lower.len());
    let (num, unit) = lower.split_at(split);
    let mul: i64 = match unit {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    num.parse::<i64>().ok()?.checked_mul(mul)
}

#[derive(Clone)]
pub struct Config {
    values: BTreeMap<&'static str, String>,
    // Typed mirrors of the values the server reads on hot paths.
    pub port: u16,
    pub bind: Vec<String>,
    pub databases: usize,
    pub requirepass: Option<String>,
    pub hz: u32,
    pub proto_max_bulk_len: i64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: usize,
    pub maxclients: usize,
    pub timeout: i64,
    pub io_threads: usize,
    pub enable_debug: String,
    pub loglevel: String,
    pub logfile: String,
    /// Path of the file the server was started with, for CONFIG REWRITE.
    pub config_file: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        let mut c = Config {
            values: BTreeMap::new(),
            port: 6379,
            bind: Vec::new(),
            databases: 16,
            requirepass: None,
            hz: 10,
            proto_max_bulk_len: 512 * 1024 * 1024,
            slowlog_log_slower_than: 10000,
            slowlog_max_len: 128,
            maxclients: 10000,
            timeout: 0,
            io_threads: 1,
            enable_debug: "no".into(),
            loglevel: "notice".into(),
            logfile: String::new(),
            config_file: None,
        };
        for p in PARAMS {
            c.values.insert(p.name, p.default.to_string());
            c.apply(p.name);
        }
        c
    }
}

impl Config {
    pub fn get(&self, name: &str) -> Option<&str> {
        param(name).and_then(|p| self.values.get(p.name)).map(|s| s.as_str())
    }

    /// Parameters whose name (or alias) matches a glob, with their values.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for p in PARAMS {
            let names = std::iter::once(p.name).chain(p.alias);
            for n in names {
                if crate::util::glob_match(pattern, n.as_bytes(), true) {
                    out.push((n, self.values.get(p.name).cloned().unwrap_or_default()));
                }
            }
        }
        out
    }

    /// Validates and sets one parameter. `startup` allows immutable ones.
    /// The error text is what follows `ERR ` in CONFIG SET's reply.
    pub fn set(&mut self, name: &str, value: &str, startup: bool) -> Result<(), String> {
        let p =
            param(name).ok_or_else(|| format!("Unknown option or number of arguments for CONFIG SET - '{name}'"))?;
        if p.immutable && !startup {
            return Err(format!(
                "CONFIG SET failed (possibly related to argument '{}') - can't set immutable config",
                p.name
            ));
        }
        let canonical = normalize(p, value)
            .map_err(|e| format!("CONFIG SET failed (possibly related to argument '{}') - {e}", p.name))?;
        self.values.insert(p.name, canonical);
        self.apply(p.name);
        Ok(())
    }

    /// Copies a stored value into its typed mirror.
    fn apply(&mut self, name: &str) {
        let v = self.values.get(name).cloned().unwrap_or_default();
        let int = || v.parse::<i64>().unwrap_or(0);
        match name {
            "port" => self.port = int() as u16,
            "bind" => self.bind = v.split_whitespace().map(String::from).collect(),
            "databases" => self.databases = int() as usize,
            "requirepass" => self.requirepass = if v.is_empty() { None } else { Some(v.clone()) },
            "hz" => self.hz = int().clamp(1, 500) as u32,
            "proto-max-bulk-len" => self.proto_max_bulk_len = int(),
            "slowlog-log-slower-than" => self.slowlog_log_slower_than = int(),
            "slowlog-max-len" => self.slowlog_max_len = int() as usize,
            "maxclients" => self.maxclients = int() as usize,
            "timeout" => self.timeout = int(),
            "io-threads" => self.io_threads = int() as usize,
            "enable-debug-command" => self.enable_debug = v,
            "loglevel" => self.loglevel = v,
            "logfile" => self.logfile = v,
            _ => {}
        }
    }

    /// Reads a redis.conf-style file (with `include`) into this config.
    pub fn load_file(&mut self, path: &str) -> Result<(), String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("Fatal error, can't open config file '{path}': {e}"))?;
        self.load_text(&text, Some(path))
    }

    pub fn load_text(&mut self, text: &str, path: Option<&str>) -> Result<(), String> {
        for (lineno, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let args = crate::protocol::decode::split_args(line.as_bytes())
                .ok_or_else(|| bad_line(path, lineno, line, "Unbalanced quotes in configuration line"))?;
            let args: Vec<String> = args.into_iter().map(|a| String::from_utf8_lossy(&a).into_owned()).collect();
            let Some((name, rest)) = args.split_first() else { continue };
            if name.eq_ignore_ascii_case("include") {
                for inc in rest {
                    self.load_file(inc)?;
                }
                continue;
            }
            self.set(name, &rest.join(" "), true).map_err(|e| bad_line(path, lineno, line, &e))?;
        }
        Ok(())
    }
}

fn bad_line(path: Option<&str>, lineno: usize, line: &str, why: &str) -> String {
    format!(
        "*** FATAL CONFIG FILE ERROR ***\nReading the configuration file{}, at line {}\n>>> '{}'\n{}",
        path.map(|p| format!(" '{p}'")).unwrap_or_default(),
        lineno + 1,
        line,
        why
    )
}

/// Validates a value for its kind and returns the canonical text.
fn normalize(p: &Param, value: &str) -> Result<String, String> {
    match p.kind {
        Kind::Bool => match value.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int { min, max } => {
            let v = crate::util::parse_i64(value.as_bytes()).ok_or("argument couldn't be parsed into an integer")?;
            if v < min || v > max {
                return Err(format!("argument must be between {min} and {max} inclusive"));
            }
            Ok(v.to_string())
        }
        Kind::Memory { min, max } => {
            let v = parse_memory(value).ok_or("argument must be a memory value")?;
            if v < min || v > max {
                return Err(format!("argument must be between {min} and {max} inclusive"));
            }
            Ok(v.to_string())
        }
        Kind::Str | Kind::List => Ok(value.to_string()),
        Kind::Enum(names) => names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(value))
            .map(|n| n.to_string())
            .ok_or_else(|| format!("argument(s) must be one of the following: {}", names.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_syntax_units_and_errors() {
        let mut c = Config::default();
        c.load_text("# comment\nport 7000\nproto-max-bulk-len 1gb\nrequirepass \"a b\"\n", None).unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.proto_max_bulk_len, 1 << 30);
        assert_eq!(c.requirepass.as_deref(), Some("a b"));
        assert!(c.load_text("no-such-thing 1\n", None).is_err());
        assert!(c.set("hz", "abc", false).is_err());
        assert!(c.set("port", "1", false).is_err(), "immutable");
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
    }
}
