//! What a key holds: a typed value plus the metadata Redis keeps on every
//! object (expire time, LRU clock).

use crate::types::{hash::Hash, list::List, set::Set, zset::ZSet};

#[derive(Clone)]
pub struct Obj {
    pub val: Value,
    /// Absolute expire time in Unix milliseconds; 0 when the key persists.
    pub expire_at: i64,
    /// Access clock in seconds (OBJECT IDLETIME, LRU eviction).
    pub lru: u32,
}

#[derive(Clone)]
pub enum Value {
    /// A string holding a canonical decimal integer (Redis's int encoding).
    Int(i64),
    /// Any other string. `raw` records Redis's raw (vs embstr) encoding:
    /// long strings and strings grown in place by APPEND/SETRANGE.
    Str {
        data: Vec<u8>,
        raw: bool,
    },
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
}

/// Longest string Redis stores as embstr.
pub const EMBSTR_MAX: usize = 44;

impl Obj {
    pub fn new(val: Value) -> Self {
        Obj { val, expire_at: 0, lru: crate::db::value::lru_clock() }
    }

    /// A string object with the encoding Redis would pick for `data`.
    pub fn from_bytes(data: &[u8]) -> Self {
        Obj::new(Value::from_bytes(data))
    }

    pub fn type_name(&self) -> &'static str {
        match self.val {
            Value::Int(_) | Value::Str { .. } => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    pub fn encoding(&self) -> &'static str {
        match &self.val {
            Value::Int(_) => "int",
            Value::Str { data, raw } => {
                if *raw || data.len() > EMBSTR_MAX {
                    "raw"
                } else {
                    "embstr"
                }
            }
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
        }
    }
}

impl Value {
    pub fn from_bytes(data: &[u8]) -> Self {
        if data.len() <= 20 {
            if let Some(i) = crate::util::parse_i64(data) {
                return Value::Int(i);
            }
        }
        Value::Str { data: data.to_vec(), raw: false }
    }

    /// The string's bytes (integers are printed).
    pub fn as_bytes(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match self {
            Value::Int(i) => Some(std::borrow::Cow::Owned(crate::util::i64_to_bytes(*i))),
            Value::Str { data, .. } => Some(std::borrow::Cow::Borrowed(data)),
            _ => None,
        }
    }
}

/// Seconds clock, wrapped to 24 bits as Redis's LRU clock is.
pub fn lru_clock() -> u32 {
    ((crate::util::now_ms() / 1000) as u32) & 0xFF_FFFF
}
