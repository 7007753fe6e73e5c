//! What a key holds: a typed value plus the metadata Redis keeps on every
//! object (LRU clock; the expire time is the db's, see `Db::volatile`).
//!
//! Strings come in Redis's three encodings: `int` (a canonical decimal
//! integer, kept as an i64), `embstr` (short strings written once) and
//! `raw` (long strings and strings modified in place). OBJECT ENCODING
//! reports them as Redis does; the representation behind them is chosen
//! for memory: a short string lives inside the object, with no allocation.

use std::borrow::Cow;
use std::cell::Cell;

use crate::types::{hash::Hash, list::List, set::Set, stream::Stream, zset::ZSet};

#[derive(Clone)]
pub struct Obj {
    pub val: Value,
    /// Access clock in seconds (OBJECT IDLETIME, LRU eviction).
    pub lru: u32,
    /// Epoch of the snapshot that has serialized this object, or that was
    /// running when it was created (it then stays out of that snapshot).
    /// A Cell, so the snapshot marks objects while scanning the dict by
    /// shared reference; it fits the padding after `lru`.
    pub snap: Cell<u32>,
}

/// A value. Keep every variant at most 16 bytes (box big ones): the enum
/// stays 24 bytes, and every key pays for it.
#[derive(Clone)]
pub enum Value {
    /// A string holding a canonical decimal integer (Redis's int encoding).
    Int(i64),
    /// Any other string (Redis's embstr and raw encodings).
    Str(Str),
    List(Box<List>),
    /// Unboxed: a hash or zset is 16 bytes (a listpack, or a pointer).
    Hash(Hash),
    Set(Box<Set>),
    ZSet(ZSet),
    Stream(Box<Stream>),
}

/// Longest string Redis stores as embstr.
pub const EMBSTR_MAX: usize = 44;

/// Longest string kept inside the object itself.
pub const INLINE_MAX: usize = 22;

pub use crate::util::{fmt_i64, I64_DIGITS};

/// The bytes of a string value.
#[derive(Clone)]
pub enum Str {
    /// Up to INLINE_MAX bytes stored in place (embstr).
    Inline { len: u8, buf: [u8; INLINE_MAX] },
    /// An exactly sized allocation, as SET stores a value: embstr up to
    /// EMBSTR_MAX bytes, raw beyond.
    Boxed(Box<[u8]>),
    /// A growable buffer for strings changed in place (APPEND, SETRANGE,
    /// SETBIT...): always raw, as Redis's unshared sds.
    Raw(Box<Vec<u8>>),
}

impl Str {
    /// Stores `data` as Redis's createStringObject would: embstr when short,
    /// raw when long.
    pub fn new(data: &[u8]) -> Str {
        if data.len() <= INLINE_MAX {
            let mut buf = [0u8; INLINE_MAX];
            buf[..data.len()].copy_from_slice(data);
            Str::Inline { len: data.len() as u8, buf }
        } else {
            Str::Boxed(data.into())
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            Str::Inline { len, buf } => &buf[..*len as usize],
            Str::Boxed(b) => b,
            Str::Raw(v) => v,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Inline { .. } => "embstr",
            Str::Boxed(b) if b.len() <= EMBSTR_MAX => "embstr",
            _ => "raw",
        }
    }
}

impl Obj {
    pub fn new(val: Value) -> Self {
        Obj { val, lru: crate::db::lru_clock(), snap: Cell::new(crate::db::snapshot_epoch()) }
    }

    /// A string object with the encoding Redis would pick for `data`.
    pub fn from_bytes(data: &[u8]) -> Self {
        Obj::new(Value::from_bytes(data))
    }

    pub fn type_name(&self) -> &'static str {
        match self.val {
            Value::Int(_) | Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    pub fn encoding(&self) -> &'static str {
        match &self.val {
            Value::Int(_) => "int",
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(s) => s.encoding(),
        }
    }
}

impl Value {
    /// Prefetches the heap block a command on this value reads first: a
    /// long string's bytes, a listpack, the head of a big structure.
    #[inline]
    pub fn prefetch(&self) {
        let p: *const u8 = match self {
            Value::Int(_) | Value::Str(Str::Inline { .. }) => return,
            Value::Str(Str::Boxed(b)) => b.as_ptr(),
            Value::Str(Str::Raw(v)) => v.as_ptr(),
            Value::List(l) => std::ptr::from_ref(&**l).cast(),
            Value::Hash(Hash::Pack(lp)) | Value::ZSet(ZSet::Pack(lp)) => lp.as_bytes().as_ptr(),
            Value::Hash(Hash::Table(t)) => std::ptr::from_ref(&**t).cast(),
            Value::Set(s) => std::ptr::from_ref(&**s).cast(),
            Value::ZSet(ZSet::Skip(z)) => std::ptr::from_ref(&**z).cast(),
            Value::Stream(s) => std::ptr::from_ref(&**s).cast(),
        };
        crate::util::prefetch(p);
    }

    /// Prefetches what looking `members` up in this collection reads
    /// first: their hash-table buckets, chain entries and names (a
    /// listpack is one block, which `prefetch` already fetches).
    pub fn prefetch_elements(&self, members: &[&[u8]]) {
        let name = |k: &[u8]| crate::util::prefetch(k.as_ptr());
        match self {
            Value::Hash(Hash::Table(t)) => t.prefetch(members, |k, _| name(k)),
            Value::Set(s) => {
                if let Set::Table(t) = &**s {
                    t.prefetch(members, |k, _| name(k))
                }
            }
            Value::ZSet(ZSet::Skip(z)) => z.dict.prefetch(members, |k, _| name(k)),
            _ => {}
        }
    }

    /// A string value encoded as Redis's tryObjectEncoding leaves a
    /// command argument: int when it is a canonical i64, else embstr/raw.
    pub fn from_bytes(data: &[u8]) -> Self {
        if data.len() <= I64_DIGITS {
            if let Some(i) = crate::util::parse_i64(data) {
                return Value::Int(i);
            }
        }
        Value::Str(Str::new(data))
    }

    /// A string value that is never int-encoded (Redis's
    /// createStringObject, e.g. the result of INCRBYFLOAT).
    pub fn string(data: &[u8]) -> Self {
        Value::Str(Str::new(data))
    }

    /// A raw-encoded string owning `data` (Redis's createRawStringObject).
    pub fn raw(data: Vec<u8>) -> Self {
        Value::Str(Str::Raw(Box::new(data)))
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Str(_))
    }

    /// The bytes of a string value without allocating: integers are
    /// printed into `scratch`. None for other types.
    #[inline]
    pub fn str_bytes<'a>(&'a self, scratch: &'a mut [u8; I64_DIGITS]) -> Option<&'a [u8]> {
        match self {
            Value::Int(i) => Some(fmt_i64(*i, scratch)),
            Value::Str(s) => Some(s.as_slice()),
            _ => None,
        }
    }

    /// The string's bytes (integers are printed).
    pub fn as_bytes(&self) -> Option<Cow<'_, [u8]>> {
        match self {
            Value::Int(i) => {
                let mut scratch = [0u8; I64_DIGITS];
                Some(Cow::Owned(fmt_i64(*i, &mut scratch).to_vec()))
            }
            Value::Str(s) => Some(Cow::Borrowed(s.as_slice())),
            _ => None,
        }
    }

    /// Length of a string value (STRLEN); None for other types.
    pub fn str_len(&self) -> Option<usize> {
        match self {
            Value::Int(i) => Some(i64_len(*i)),
            Value::Str(s) => Some(s.len()),
            _ => None,
        }
    }

    /// The string as a growable buffer, converting it to the raw encoding
    /// first (Redis's dbUnshareStringValue): what in-place writers use.
    /// None for other types.
    pub fn str_mut(&mut self) -> Option<&mut Vec<u8>> {
        let bytes = match self {
            Value::Str(Str::Raw(_)) => None,
            Value::Int(i) => Some(fmt_i64(*i, &mut [0u8; I64_DIGITS]).to_vec()),
            Value::Str(s) => Some(s.as_slice().to_vec()),
            _ => return None,
        };
        if let Some(b) = bytes {
            *self = Value::raw(b);
        }
        match self {
            Value::Str(Str::Raw(v)) => Some(v),
            _ => None,
        }
    }
}

/// Number of bytes in the decimal form of `v`.
fn i64_len(v: i64) -> usize {
    let mut n = v.unsigned_abs();
    let mut len = (v < 0) as usize + 1;
    while n >= 10 {
        n /= 10;
        len += 1;
    }
    len
}

/// Seconds clock, wrapped to 24 bits as Redis's LRU clock is.
pub fn lru_clock() -> u32 {
    ((crate::util::now_ms() / 1000) as u32) & 0xFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: Value) -> &'static str {
        Obj::new(v).encoding()
    }

    #[test]
    fn values_stay_small() {
        assert_eq!(std::mem::size_of::<Str>(), 24);
        assert_eq!(std::mem::size_of::<Value>(), 24);
        // With its 16-byte key and chain link, a keyspace entry is then 56
        // bytes: a jemalloc size class of its own.
        assert_eq!(std::mem::size_of::<Obj>(), 32);
    }

    #[test]
    fn encodings_as_redis_picks_them() {
        // Values checked with OBJECT ENCODING on Redis 7.0 after SET.
        assert_eq!(enc(Value::from_bytes(b"123")), "int");
        assert_eq!(enc(Value::from_bytes(b"-9223372036854775808")), "int");
        assert_eq!(enc(Value::from_bytes(b"9223372036854775808")), "embstr");
        assert_eq!(enc(Value::from_bytes(b"0123")), "embstr");
        assert_eq!(enc(Value::from_bytes(b"")), "embstr");
        assert_eq!(enc(Value::from_bytes(&[b'a'; 22])), "embstr");
        assert_eq!(enc(Value::from_bytes(&[b'a'; 23])), "embstr");
        assert_eq!(enc(Value::from_bytes(&[b'a'; 44])), "embstr");
        assert_eq!(enc(Value::from_bytes(&[b'a'; 45])), "raw");
        assert_eq!(enc(Value::string(b"3")), "embstr");
        assert_eq!(enc(Value::raw(b"x".to_vec())), "raw");
    }

    #[test]
    fn in_place_writes_make_raw() {
        for mut v in [Value::from_bytes(b"12"), Value::from_bytes(b"ab"), Value::from_bytes(&[b'z'; 30])] {
            let before = v.as_bytes().map(|b| b.into_owned());
            let buf = v.str_mut().map(|b| b.clone());
            assert_eq!(buf, before);
            assert_eq!(enc(v), "raw");
        }
    }

    #[test]
    fn integers_print_and_measure() {
        for v in [0, 7, -7, 10, 99, -100, i64::MAX, i64::MIN] {
            let mut buf = [0u8; I64_DIGITS];
            assert_eq!(fmt_i64(v, &mut buf), v.to_string().as_bytes());
            assert_eq!(i64_len(v), v.to_string().len());
            assert_eq!(Value::Int(v).str_len(), Some(v.to_string().len()));
        }
    }
}
