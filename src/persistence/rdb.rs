//! The Redis RDB format: the encoder that writes files and DUMP payloads
//! as Redis 7.2 does (RDB version 11, or 10 for readers such as Redis 7.0),
//! and the decoder that reads every version Redis 2.x–7.2 and Valkey 7.2–9
//! write (1–11, and Valkey's 80).
//!
//! Everything a file or payload says is untrusted: lengths and counts are
//! checked against the data actually present before anything is
//! allocated from them, blobs (listpack, ziplist, intset, zipmap) are
//! validated entry by entry, duplicates are refused, and a damaged input
//! ends in an `Error`, never a panic.

use std::collections::HashSet;
use std::fmt;
use std::io::Read;

use super::{crc64::crc64, lzf};
use crate::config::Config;
use crate::db::value::{Str, INLINE_MAX};
use crate::db::{Obj, Value};
use crate::types::dict::Dict;
use crate::types::hash::Hash;
use crate::types::intset::IntSet;
use crate::types::list::{Fill, List};
use crate::types::listpack::{Entry, Listpack};
use crate::types::set::Set;
use crate::types::stream::{Nack, Stream, StreamId};
use crate::types::zset::{Scored, ZSet};
use crate::types::EncodingLimits;
use crate::util::parse_i64;

/// The version oxkey writes by default: Redis 7.2's.
pub const RDB_VERSION: u16 = 11;
/// Valkey 9's version ("VALKEY080"): the types oxkey knows are encoded as
/// in version 11.
pub const VALKEY_RDB_VERSION: u16 = 80;

// Value types (rdb.h).
pub const TYPE_STRING: u8 = 0;
pub const TYPE_LIST: u8 = 1;
pub const TYPE_SET: u8 = 2;
pub const TYPE_ZSET: u8 = 3;
pub const TYPE_HASH: u8 = 4;
pub const TYPE_ZSET_2: u8 = 5;
pub const TYPE_MODULE_PRE_GA: u8 = 6;
pub const TYPE_MODULE_2: u8 = 7;
pub const TYPE_HASH_ZIPMAP: u8 = 9;
pub const TYPE_LIST_ZIPLIST: u8 = 10;
pub const TYPE_SET_INTSET: u8 = 11;
pub const TYPE_ZSET_ZIPLIST: u8 = 12;
pub const TYPE_HASH_ZIPLIST: u8 = 13;
pub const TYPE_LIST_QUICKLIST: u8 = 14;
pub const TYPE_STREAM_LISTPACKS: u8 = 15;
pub const TYPE_HASH_LISTPACK: u8 = 16;
pub const TYPE_ZSET_LISTPACK: u8 = 17;
pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
pub const TYPE_SET_LISTPACK: u8 = 20;
pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;
/// Valkey 9: a hash whose fields have expiration times.
pub const TYPE_HASH_2: u8 = 22;

// Opcodes.
pub const OP_SLOT_INFO: u8 = 244;
pub const OP_FUNCTION2: u8 = 245;
pub const OP_FUNCTION_PRE_GA: u8 = 246;
pub const OP_MODULE_AUX: u8 = 247;
pub const OP_IDLE: u8 = 248;
pub const OP_FREQ: u8 = 249;
pub const OP_AUX: u8 = 250;
pub const OP_RESIZEDB: u8 = 251;
pub const OP_EXPIRETIME_MS: u8 = 252;
pub const OP_EXPIRETIME: u8 = 253;
pub const OP_SELECTDB: u8 = 254;
pub const OP_EOF: u8 = 255;

// Length encodings.
const LEN_6BIT: u8 = 0;
const LEN_14BIT: u8 = 1;
const LEN_32BIT: u8 = 0x80;
const LEN_64BIT: u8 = 0x81;
const ENC_VAL: u8 = 3;
const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

// Quicklist node containers.
const QUICKLIST_NODE_PLAIN: u64 = 1;
const QUICKLIST_NODE_PACKED: u64 = 2;

/// Largest string read into one allocation before its bytes have arrived.
const PREALLOC_MAX: usize = 1 << 20;

#[derive(Debug)]
pub enum Error {
    Io(std::io::Error),
    /// The data ended early.
    Truncated,
    /// The data is not a valid RDB encoding.
    Corrupt(String),
    /// Valid, but something oxkey cannot load (modules, newer versions).
    Unsupported(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "I/O error: {e}"),
            Error::Truncated => write!(f, "Short read: the RDB data ends unexpectedly"),
            Error::Corrupt(m) => write!(f, "Corrupt RDB data: {m}"),
            Error::Unsupported(m) => write!(f, "{m}"),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::Truncated
        } else {
            Error::Io(e)
        }
    }
}

fn corrupt<T>(msg: impl Into<String>) -> Result<T, Error> {
    Err(Error::Corrupt(msg.into()))
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

// ===========================================================================
// Encoder

/// What the access data of each key is saved as (Redis saves LRU idle time
/// or LFU frequency only under a matching maxmemory-policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessInfo {
    None,
    Idle,
    Freq,
}

#[derive(Clone, Copy, Debug)]
pub struct SaveOptions {
    /// 11 (Redis 7.2) or 10 (Redis 7.0: sets of strings are then written
    /// as plain sets, which 7.0 can read).
    pub version: u16,
    /// `rdbcompression`: LZF for strings longer than 20 bytes.
    pub compress: bool,
    pub access: AccessInfo,
}

impl SaveOptions {
    pub fn from_config(config: &Config) -> SaveOptions {
        let policy = config.get("maxmemory-policy").unwrap_or("noeviction");
        let access = if policy.ends_with("-lru") {
            AccessInfo::Idle
        } else if policy.ends_with("-lfu") {
            AccessInfo::Freq
        } else {
            AccessInfo::None
        };
        SaveOptions {
            version: config.get("rdb-version").and_then(|v| v.parse().ok()).unwrap_or(RDB_VERSION),
            compress: config.get("rdbcompression") != Some("no"),
            access,
        }
    }
}

pub fn write_len(out: &mut Vec<u8>, len: u64) {
    if len < 1 << 6 {
        out.push(len as u8 | (LEN_6BIT << 6));
    } else if len < 1 << 14 {
        out.push(((len >> 8) as u8) | (LEN_14BIT << 6));
        out.push(len as u8);
    } else if len <= u32::MAX as u64 {
        out.push(LEN_32BIT);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    } else {
        out.push(LEN_64BIT);
        out.extend_from_slice(&len.to_be_bytes());
    }
}

/// Redis's rdbEncodeInteger: the special INT8/16/32 string encodings.
fn write_encoded_int(out: &mut Vec<u8>, v: i64) -> bool {
    let tag = |enc: u8| (ENC_VAL << 6) | enc;
    if let Ok(b) = i8::try_from(v) {
        out.push(tag(ENC_INT8));
        out.push(b as u8);
    } else if let Ok(h) = i16::try_from(v) {
        out.push(tag(ENC_INT16));
        out.extend_from_slice(&h.to_le_bytes());
    } else if let Ok(w) = i32::try_from(v) {
        out.push(tag(ENC_INT32));
        out.extend_from_slice(&w.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// Redis's rdbSaveRawString: integers of up to 11 characters in the
/// compact encodings, strings over 20 bytes LZF-compressed when that
/// saves space (and `compress` is on), else length and bytes.
pub fn write_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11 {
        if let Some(v) = parse_i64(s) {
            if write_encoded_int(out, v) {
                return;
            }
        }
    }
    if compress && s.len() > 20 {
        if let Some(c) = lzf::compress(s) {
            out.push((ENC_VAL << 6) | ENC_LZF);
            write_len(out, c.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// An integer string value (Redis's rdbSaveLongLongAsStringObject).
fn write_int_string(out: &mut Vec<u8>, v: i64) {
    if !write_encoded_int(out, v) {
        let text = crate::util::i64_to_bytes(v);
        write_len(out, text.len() as u64);
        out.extend_from_slice(&text);
    }
}

fn write_entry(out: &mut Vec<u8>, e: Entry<'_>, compress: bool) {
    match e {
        Entry::Int(i) => write_int_string(out, i),
        Entry::Str(s) => write_string(out, s, compress),
    }
}

/// The type byte a value is saved with.
pub fn value_type(v: &Value, version: u16) -> u8 {
    match v {
        Value::Int(_) | Value::Str(_) => TYPE_STRING,
        Value::List(_) => TYPE_LIST_QUICKLIST_2,
        Value::Set(s) => match &**s {
            Set::Ints(_) => TYPE_SET_INTSET,
            Set::Pack(_) if version >= 11 => TYPE_SET_LISTPACK,
            _ => TYPE_SET,
        },
        Value::ZSet(z) => match z {
            ZSet::Pack(_) => TYPE_ZSET_LISTPACK,
            ZSet::Skip(_) => TYPE_ZSET_2,
        },
        Value::Hash(h) => match h {
            Hash::Pack(_) => TYPE_HASH_LISTPACK,
            Hash::Table(_) => TYPE_HASH,
        },
        // Redis 7.0 (version 10) knows consumers without an active time.
        Value::Stream(_) if version >= 11 => TYPE_STREAM_LISTPACKS_3,
        Value::Stream(_) => TYPE_STREAM_LISTPACKS_2,
    }
}

/// Writes a value's payload (after its type byte), as rdbSaveObject.
pub fn write_value(out: &mut Vec<u8>, v: &Value, opts: &SaveOptions) {
    let c = opts.compress;
    match v {
        Value::Int(i) => write_int_string(out, *i),
        Value::Str(s) => write_string(out, s.as_slice(), c),
        Value::List(l) => {
            // Every node as a packed listpack (a listpack-encoded list is a
            // one-node quicklist), as Redis 7.2.
            let nodes: Vec<&Listpack> = l.nodes().filter(|n| !n.is_empty()).collect();
            write_len(out, nodes.len() as u64);
            for n in nodes {
                write_len(out, QUICKLIST_NODE_PACKED);
                write_string(out, n.as_bytes(), c);
            }
        }
        Value::Set(s) => match &**s {
            Set::Ints(is) => write_string(out, is.as_bytes(), c),
            Set::Pack(lp) if opts.version >= 11 => write_string(out, lp.as_bytes(), c),
            Set::Pack(lp) => {
                write_len(out, lp.len() as u64);
                for e in lp.iter() {
                    write_entry(out, e, c);
                }
            }
            Set::Table(d) => {
                write_len(out, d.len() as u64);
                for m in d.keys() {
                    write_string(out, m, c);
                }
            }
        },
        Value::ZSet(z) => match z {
            ZSet::Pack(lp) => write_string(out, lp.as_bytes(), c),
            ZSet::Skip(z) => {
                let list = &z.list;
                // From the greatest to the smallest, as Redis walks its
                // skiplist from the tail.
                write_len(out, list.len() as u64);
                let mut node = list.last();
                while let Some(h) = node {
                    let (m, score) = list.entry(h);
                    write_string(out, m, c);
                    out.extend_from_slice(&score.to_le_bytes());
                    node = list.prev(h);
                }
            }
        },
        Value::Hash(h) => match h {
            Hash::Pack(lp) => write_string(out, lp.as_bytes(), c),
            Hash::Table(d) => {
                write_len(out, d.len() as u64);
                for (f, v) in d.iter() {
                    write_string(out, f, c);
                    write_string(out, v, c);
                }
            }
        },
        Value::Stream(st) => write_stream(out, st, opts),
    }
}

/// A stream as rdbSaveObject writes one: its nodes as they are, keyed by
/// their master ID, the counters, then each consumer group with its
/// pending entries and consumers.
fn write_stream(out: &mut Vec<u8>, s: &Stream, opts: &SaveOptions) {
    let c = opts.compress;
    let e = &s.entries;
    write_len(out, e.node_count() as u64);
    for (key, lp) in e.node_blobs() {
        write_string(out, &key, c);
        write_string(out, lp, c);
    }
    write_len(out, e.length);
    for id in [e.last_id, e.first_id, e.max_deleted_entry_id] {
        write_len(out, id.ms);
        write_len(out, id.seq);
    }
    write_len(out, e.entries_added);
    write_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        write_string(out, name, c);
        write_len(out, g.last_id.ms);
        write_len(out, g.last_id.seq);
        // -1 (unknown) as an unsigned length, as Redis writes it.
        write_len(out, g.entries_read as u64);
        write_len(out, g.pel.len() as u64);
        for (id, nack) in &g.pel {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&nack.delivery_time.to_le_bytes());
            write_len(out, nack.delivery_count);
        }
        write_len(out, g.consumer_count() as u64);
        for consumer in g.consumers() {
            write_string(out, &consumer.name, c);
            out.extend_from_slice(&consumer.seen_time.to_le_bytes());
            if opts.version >= 11 {
                out.extend_from_slice(&consumer.active_time.to_le_bytes());
            }
            write_len(out, consumer.pel.len() as u64);
            for id in &consumer.pel {
                out.extend_from_slice(&id.to_be_bytes());
            }
        }
    }
}

/// One key with its expire (0: none) and access data (rdbSaveKeyValuePair).
pub fn write_key_value(out: &mut Vec<u8>, key: &[u8], obj: &Obj, expire_at: i64, opts: &SaveOptions) {
    if expire_at != 0 {
        out.push(OP_EXPIRETIME_MS);
        out.extend_from_slice(&expire_at.to_le_bytes());
    }
    match opts.access {
        AccessInfo::Idle => {
            out.push(OP_IDLE);
            write_len(out, crate::db::idle_seconds(obj));
        }
        AccessInfo::Freq => {
            out.push(OP_FREQ);
            out.push(crate::db::lfu_counter(obj) as u8);
        }
        AccessInfo::None => {}
    }
    out.push(value_type(&obj.val, opts.version));
    write_string(out, key, opts.compress);
    write_value(out, &obj.val, opts);
}

fn write_aux(out: &mut Vec<u8>, key: &str, val: &[u8]) {
    out.push(OP_AUX);
    write_string(out, key.as_bytes(), false);
    write_string(out, val, false);
}

/// The file header, AUX fields and function libraries, as rdbSaveRio
/// starts a file.
pub fn write_header(out: &mut Vec<u8>, opts: &SaveOptions, used_mem: u64, aof_base: bool, functions: &[Vec<u8>]) {
    out.extend_from_slice(format!("REDIS{:04}", opts.version).as_bytes());
    write_aux(out, "redis-ver", crate::REDIS_COMPAT_VERSION.as_bytes());
    write_aux(out, "redis-bits", b"64");
    write_aux(out, "ctime", (crate::util::now_ms() / 1000).to_string().as_bytes());
    write_aux(out, "used-mem", used_mem.to_string().as_bytes());
    write_aux(out, "aof-base", if aof_base { b"1" } else { b"0" });
    for code in functions {
        out.push(OP_FUNCTION2);
        write_string(out, code, opts.compress);
    }
}

/// SELECTDB and RESIZEDB before the keys of a non-empty database.
pub fn write_db_header(out: &mut Vec<u8>, db: usize, keys: usize, expires: usize) {
    out.push(OP_SELECTDB);
    write_len(out, db as u64);
    out.push(OP_RESIZEDB);
    write_len(out, keys as u64);
    write_len(out, expires as u64);
}

/// A DUMP payload: type, value, RDB version (2 bytes) and the CRC64 of all
/// that (8 bytes), little-endian.
pub fn dump_payload(v: &Value, opts: &SaveOptions) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(value_type(v, opts.version));
    write_value(&mut out, v, opts);
    out.extend_from_slice(&opts.version.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

// ===========================================================================
// Decoder

/// Bytes read from a file at a time, when reading ahead is allowed.
const FILE_BUFFER: usize = 256 * 1024;

/// A string's special encoding, decoded.
enum Encoded {
    Int(i64),
    Bytes(Vec<u8>),
}

/// A reader that keeps the CRC64 of everything consumed through it. With
/// a buffer it reads ahead, and computes the CRC over whole stretches of
/// the buffer (lazily, as they are left behind) rather than over each
/// small read; without one it consumes exactly what it is asked for (an
/// AOF's RDB preamble is followed by commands read from the same input).
pub struct Reader<R> {
    inner: R,
    buf: Box<[u8]>,
    /// The buffer's size once allocated (on the first read); 0 for none.
    capacity: usize,
    /// Consumed up to `start`, filled up to `end`; `buf[crc_from..start]`
    /// is consumed but not yet in `crc`.
    start: usize,
    end: usize,
    crc_from: usize,
    crc: u64,
    /// Bytes consumed, for error messages and progress.
    pub pos: u64,
}

impl<R: Read> Reader<R> {
    pub fn new(inner: R) -> Self {
        Self::with_buffer(inner, 0)
    }

    fn with_buffer(inner: R, capacity: usize) -> Self {
        Reader { inner, buf: Box::default(), capacity, start: 0, end: 0, crc_from: 0, crc: 0, pos: 0 }
    }

    /// The CRC64 of everything consumed so far.
    fn crc(&mut self) -> u64 {
        self.crc = crc64(self.crc, &self.buf[self.crc_from..self.start]);
        self.crc_from = self.start;
        self.crc
    }

    fn fill(&mut self, out: &mut [u8]) -> Result<()> {
        let n = out.len();
        if self.end - self.start >= n {
            out.copy_from_slice(&self.buf[self.start..self.start + n]);
            self.start += n;
            self.pos += n as u64;
            return Ok(());
        }
        self.fill_slow(out)
    }

    #[cold]
    fn fill_slow(&mut self, out: &mut [u8]) -> Result<()> {
        let have = self.end - self.start;
        out[..have].copy_from_slice(&self.buf[self.start..self.end]);
        self.start = self.end;
        self.crc();
        let mut done = have;
        if out.len() - done >= self.capacity {
            // Large, or no buffer: straight into `out`.
            self.inner.read_exact(&mut out[done..])?;
            self.crc = crc64(self.crc, &out[done..]);
            self.pos += out.len() as u64;
            return Ok(());
        }
        if self.buf.is_empty() {
            self.buf = vec![0u8; self.capacity].into_boxed_slice();
        }
        (self.start, self.end, self.crc_from) = (0, 0, 0);
        while done < out.len() {
            let got = match self.inner.read(&mut self.buf[self.end..]) {
                Ok(0) => return Err(Error::Truncated),
                Ok(got) => got,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            self.end += got;
            let take = (out.len() - done).min(self.end - self.start);
            out[done..done + take].copy_from_slice(&self.buf[self.start..self.start + take]);
            self.start += take;
            done += take;
        }
        self.pos += out.len() as u64;
        Ok(())
    }

    fn u8(&mut self) -> Result<u8> {
        let mut b = [0u8; 1];
        self.fill(&mut b)?;
        Ok(b[0])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut b = [0u8; N];
        self.fill(&mut b)?;
        Ok(b)
    }

    /// `n` bytes, allocated as they arrive past PREALLOC_MAX.
    fn bytes(&mut self, n: u64) -> Result<Vec<u8>> {
        let n = usize::try_from(n).map_err(|_| Error::Truncated)?;
        if n <= PREALLOC_MAX {
            let mut v = vec![0u8; n];
            self.fill(&mut v)?;
            return Ok(v);
        }
        let mut v = Vec::with_capacity(PREALLOC_MAX);
        while v.len() < n {
            let start = v.len();
            let step = (n - start).min(PREALLOC_MAX);
            v.resize(start + step, 0);
            self.fill(&mut v[start..])?;
        }
        Ok(v)
    }

    /// A length, or (with `true`) one of the special string encodings.
    fn len_or_enc(&mut self) -> Result<(u64, bool)> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => ((b & 0x3f) as u64, false),
            1 => ((((b & 0x3f) as u64) << 8) | self.u8()? as u64, false),
            3 => ((b & 0x3f) as u64, true),
            _ => match b {
                LEN_32BIT => (u32::from_be_bytes(self.array()?) as u64, false),
                LEN_64BIT => (u64::from_be_bytes(self.array()?), false),
                _ => return corrupt(format!("unknown length encoding {b:#04x}")),
            },
        })
    }

    pub fn length(&mut self) -> Result<u64> {
        match self.len_or_enc()? {
            (n, false) => Ok(n),
            _ => corrupt("encoded value where a length was expected"),
        }
    }

    /// A string in any of its encodings (integers come back as text).
    pub fn string(&mut self) -> Result<Vec<u8>> {
        let (n, enc) = self.len_or_enc()?;
        if !enc {
            return self.bytes(n);
        }
        Ok(match self.encoded(n)? {
            Encoded::Int(i) => crate::util::i64_to_bytes(i),
            Encoded::Bytes(b) => b,
        })
    }

    /// A string value: the integer encodings straight to an integer, short
    /// strings without a heap copy.
    fn string_object(&mut self) -> Result<Value> {
        let (n, enc) = self.len_or_enc()?;
        if enc {
            return Ok(match self.encoded(n)? {
                Encoded::Int(i) => Value::Int(i),
                Encoded::Bytes(b) => string_value(b),
            });
        }
        if n <= INLINE_MAX as u64 {
            let mut buf = [0u8; INLINE_MAX];
            let b = &mut buf[..n as usize];
            self.fill(b)?;
            return Ok(match parse_i64(b) {
                Some(i) => Value::Int(i),
                None => Value::Str(Str::new(b)),
            });
        }
        Ok(string_value(self.bytes(n)?))
    }

    /// A string in special encoding `enc`: an integer or LZF.
    fn encoded(&mut self, enc: u64) -> Result<Encoded> {
        let int = match enc as u8 {
            ENC_INT8 => self.u8()? as i8 as i64,
            ENC_INT16 => i16::from_le_bytes(self.array()?) as i64,
            ENC_INT32 => i32::from_le_bytes(self.array()?) as i64,
            ENC_LZF => {
                let clen = self.length()?;
                let len = self.length()?;
                // A back reference expands 3 bytes into at most 264.
                if len > clen.saturating_mul(90) || len == 0 {
                    return corrupt("LZF lengths are inconsistent");
                }
                let c = self.bytes(clen)?;
                return match lzf::decompress(&c, len as usize) {
                    Some(v) => Ok(Encoded::Bytes(v)),
                    None => corrupt("invalid LZF compressed string"),
                };
            }
            e => return corrupt(format!("unknown string encoding {e}")),
        };
        Ok(Encoded::Int(int))
    }

    /// A score of the old ZSET type: length-prefixed text, with 253/254/255
    /// for nan/+inf/-inf.
    fn text_double(&mut self) -> Result<f64> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let b = self.bytes(n as u64)?;
                match std::str::from_utf8(&b).ok().and_then(|t| t.trim().parse::<f64>().ok()) {
                    Some(v) => Ok(v),
                    None => corrupt("invalid double value"),
                }
            }
        }
    }

    fn binary_double(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// Reads a value of type `t`. None when it is an empty collection,
    /// which Redis skips on load.
    pub fn value(&mut self, t: u8, limits: &EncodingLimits) -> Result<Option<Value>> {
        Ok(Some(match t {
            TYPE_STRING => self.string_object()?,
            TYPE_LIST => {
                let n = self.length()?;
                let mut l = List::default();
                for _ in 0..n {
                    l.push_back(&self.string()?, limits.list_fill);
                }
                return Ok(nonempty_list(l));
            }
            TYPE_LIST_ZIPLIST => {
                let blob = self.string()?;
                let mut l = List::default();
                for e in ziplist_entries(&blob)? {
                    push_entry(&mut l, e, limits.list_fill);
                }
                return Ok(nonempty_list(l));
            }
            TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => return self.quicklist(t == TYPE_LIST_QUICKLIST_2, limits),
            TYPE_SET => {
                let n = self.length()?;
                let mut s: Option<Set> = None;
                for _ in 0..n {
                    let m = self.string()?;
                    // Redis picks the encoding from the announced size.
                    let set = s.get_or_insert_with(|| Set::for_member(&m, n.min(u32::MAX as u64) as usize, limits.set));
                    if !set.insert(&m, limits.set) {
                        return corrupt("duplicate set members detected");
                    }
                }
                match s {
                    Some(s) => Value::Set(Box::new(s)),
                    None => return Ok(None),
                }
            }
            TYPE_SET_INTSET => {
                let Some(is) = IntSet::from_bytes(self.string()?) else { return corrupt("invalid intset") };
                if is.is_empty() {
                    return Ok(None);
                }
                let mut s = Set::Ints(is);
                if s.len() > limits.set.intset_entries.min(1 << 30) {
                    s.convert_to_table();
                }
                Value::Set(Box::new(s))
            }
            TYPE_SET_LISTPACK => {
                let lp = listpack(self.string()?)?;
                if lp.is_empty() {
                    return Ok(None);
                }
                unique(lp.iter(), "set")?;
                let mut s = Set::Pack(lp);
                if s.len() > limits.set.pack.entries {
                    s.convert_to_table();
                }
                Value::Set(Box::new(s))
            }
            TYPE_ZSET | TYPE_ZSET_2 => {
                let n = self.length()?;
                let mut items: Vec<Scored> = Vec::with_capacity(n.min(1024) as usize);
                for _ in 0..n {
                    let m = self.string()?;
                    let s = if t == TYPE_ZSET_2 { self.binary_double()? } else { self.text_double()? };
                    items.push((m, s));
                }
                return zset_from_items(items, limits).map(|z| z.map(Value::ZSet));
            }
            TYPE_ZSET_ZIPLIST => {
                let blob = self.string()?;
                let items = scored_pairs(ziplist_entries(&blob)?)?;
                return zset_from_items(items, limits).map(|z| z.map(Value::ZSet));
            }
            TYPE_ZSET_LISTPACK => {
                let lp = listpack(self.string()?)?;
                return zset_from_listpack(lp, limits).map(|z| z.map(Value::ZSet));
            }
            TYPE_HASH => {
                let n = self.length()?;
                let mut h = if n as usize > limits.hash.entries { Hash::Table(Dict::new()) } else { Hash::default() };
                for _ in 0..n {
                    let f = self.string()?;
                    let v = self.string()?;
                    if !h.set(&f, &v, limits.hash) {
                        return corrupt("duplicate hash fields detected");
                    }
                }
                if h.is_empty() {
                    return Ok(None);
                }
                Value::Hash(h)
            }
            TYPE_HASH_ZIPMAP => {
                let blob = self.string()?;
                return hash_from_pairs(zipmap_pairs(&blob)?, limits);
            }
            TYPE_HASH_ZIPLIST => {
                let blob = self.string()?;
                let entries: Vec<Vec<u8>> = ziplist_entries(&blob)?.iter().map(|e| e.to_vec()).collect();
                return hash_from_pairs(pairs(entries)?, limits);
            }
            TYPE_HASH_LISTPACK => {
                let lp = listpack(self.string()?)?;
                if lp.is_empty() {
                    return Ok(None);
                }
                if !lp.len().is_multiple_of(2) {
                    return corrupt("hash listpack with an odd number of entries");
                }
                unique(lp.iter().step_by(2), "hash")?;
                let long = lp.iter().any(|e| entry_len(&e) > limits.hash.value);
                let mut h = Hash::Pack(lp);
                if h.len() > limits.hash.entries || long {
                    h = table_from(&h);
                }
                Value::Hash(h)
            }
            TYPE_MODULE_PRE_GA | TYPE_MODULE_2 => {
                return Err(Error::Unsupported("The RDB file contains module data: modules are not supported".into()))
            }
            TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
                Value::Stream(Box::new(self.stream(t)?))
            }
            TYPE_HASH_2 => {
                return Err(Error::Unsupported(
                    "The RDB file contains a hash with field expiration times (Valkey 9): not supported".into(),
                ))
            }
            t => return corrupt(format!("unknown RDB value type {t}")),
        }))
    }

    fn stream_id(&mut self) -> Result<StreamId> {
        let ms = self.length()?;
        Ok(StreamId::new(ms, self.length()?))
    }

    fn millis(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    /// A stream of type 15 (Redis 5–6.2), 19 (7.0: first ID, max deleted
    /// ID, entries added, groups' read counters) or 21 (7.2: consumers'
    /// active time), filled in for the older types as Redis fills them.
    fn stream(&mut self, t: u8) -> Result<Stream> {
        let mut s = Stream::new();
        let nodes = self.length()?;
        let mut live = 0u64;
        for _ in 0..nodes {
            let Ok(key) = <[u8; 16]>::try_from(self.string()?) else {
                return corrupt("Stream node key entry is not the size of a stream ID");
            };
            let blob = self.string()?;
            live += s.entries.load_node(StreamId::from_be_bytes(key), blob).map_err(|e| Error::Corrupt(e.into()))?;
        }
        let e = &mut s.entries;
        e.length = self.length()?;
        e.last_id = self.stream_id()?;
        if t >= TYPE_STREAM_LISTPACKS_2 {
            e.first_id = self.stream_id()?;
            e.max_deleted_entry_id = self.stream_id()?;
            e.entries_added = self.length()?;
        } else {
            e.first_id = e.edge_id(true, true);
            e.max_deleted_entry_id = StreamId::MIN;
            e.entries_added = e.length;
        }
        if e.length != live {
            return corrupt("Stream length inconsistent with its nodes");
        }
        if e.edge_id(false, false) > e.last_id {
            return corrupt("Stream last ID smaller than its last entry");
        }
        let groups = self.length()?;
        for _ in 0..groups {
            self.stream_group(&mut s, t)?;
        }
        Ok(s)
    }

    /// One consumer group: its global PEL, then its consumers, each with
    /// the IDs it owns (found in the global PEL).
    fn stream_group(&mut self, s: &mut Stream, t: u8) -> Result<()> {
        let name = self.string()?;
        let last_id = self.stream_id()?;
        let entries_read =
            if t >= TYPE_STREAM_LISTPACKS_2 { self.length()? as i64 } else { s.entries.estimate_distance(last_id) };
        if !s.create_group(&name, last_id, entries_read) {
            return corrupt(format!("Duplicated consumer group name {}", String::from_utf8_lossy(&name)));
        }
        let Some(g) = s.groups.get_mut(&name[..]) else { return corrupt("consumer group lost") };
        // Delivery time and count of each pending ID, until a consumer
        // claims it.
        let mut unowned = std::collections::BTreeMap::new();
        for _ in 0..self.length()? {
            let id = StreamId::from_be_bytes(self.array()?);
            let delivery = (self.millis()?, self.length()?);
            if unowned.insert(id, delivery).is_some() {
                return corrupt("Duplicated global PEL entry loading stream consumer group");
            }
        }
        for _ in 0..self.length()? {
            let cname = self.string()?;
            let seen_time = self.millis()?;
            let active_time = if t >= TYPE_STREAM_LISTPACKS_3 { self.millis()? } else { seen_time };
            let Some(consumer) = g.create_consumer(&cname, seen_time) else {
                return corrupt("Duplicate stream consumer detected.");
            };
            let mut owned = Vec::new();
            for _ in 0..self.length()? {
                let id = StreamId::from_be_bytes(self.array()?);
                let Some((delivery_time, delivery_count)) = unowned.remove(&id) else {
                    return corrupt("Consumer entry not found in group global PEL");
                };
                g.pel.insert(id, Nack { delivery_time, delivery_count, consumer });
                owned.push(id);
            }
            if let Some(c) = g.consumer_mut(consumer) {
                c.active_time = active_time;
                c.pel.extend(owned);
            }
        }
        if !unowned.is_empty() {
            return corrupt("Stream CG PEL entry without consumer");
        }
        Ok(())
    }

    fn quicklist(&mut self, v2: bool, limits: &EncodingLimits) -> Result<Option<Value>> {
        let n = self.length()?;
        let mut nodes: Vec<Listpack> = Vec::new();
        for _ in 0..n {
            let container = if v2 { self.length()? } else { QUICKLIST_NODE_PACKED };
            let blob = self.string()?;
            match container {
                QUICKLIST_NODE_PLAIN => {
                    // One large element per node: oxkey keeps it in a
                    // listpack node of its own.
                    let mut lp = Listpack::new();
                    if !lp.safe_to_add(blob.len()) {
                        return Err(Error::Unsupported("list element too large".into()));
                    }
                    lp.push_back(&blob);
                    nodes.push(lp);
                }
                QUICKLIST_NODE_PACKED if v2 => nodes.push(listpack(blob)?),
                QUICKLIST_NODE_PACKED => {
                    let mut lp = Listpack::new();
                    for e in ziplist_entries(&blob)? {
                        match e {
                            Entry::Int(i) => lp.push_back(&crate::util::i64_to_bytes(i)),
                            Entry::Str(s) => lp.push_back(s),
                        }
                    }
                    nodes.push(lp);
                }
                c => return corrupt(format!("unknown quicklist node container {c}")),
            }
        }
        Ok(nonempty_list(List::from_nodes(nodes, limits.list_fill)))
    }
}

/// A string value as Redis's tryObjectEncoding leaves a loaded string:
/// int when canonical, the bytes moved (not copied) otherwise.
fn string_value(v: Vec<u8>) -> Value {
    if v.len() <= 20 {
        if let Some(i) = parse_i64(&v) {
            return Value::Int(i);
        }
    }
    if v.len() <= INLINE_MAX {
        Value::Str(Str::new(&v))
    } else {
        Value::Str(Str::Boxed(v.into_boxed_slice()))
    }
}

fn nonempty_list(l: List) -> Option<Value> {
    (!l.is_empty()).then(|| Value::List(Box::new(l)))
}

fn push_entry(l: &mut List, e: Entry<'_>, fill: Fill) {
    match e {
        Entry::Int(i) => l.push_back(&crate::util::i64_to_bytes(i), fill),
        Entry::Str(s) => l.push_back(s, fill),
    }
}

fn entry_len(e: &Entry<'_>) -> usize {
    entry_text(e, &mut [0; 20]).len()
}

fn listpack(blob: Vec<u8>) -> Result<Listpack> {
    match Listpack::from_bytes(blob) {
        Some(lp) => Ok(lp),
        None => corrupt("invalid listpack"),
    }
}

/// Entries up to this many are checked for duplicates pairwise, without
/// allocating (small collections are the common case in a file).
const PAIRWISE_MAX: usize = 32;

/// Whether two entries hold the same bytes (an integer equals its decimal
/// text, as Redis's lpCompare has it).
fn same_entry(a: &Entry<'_>, b: &Entry<'_>) -> bool {
    match (a, b) {
        (Entry::Int(x), Entry::Int(y)) => x == y,
        (Entry::Str(x), Entry::Str(y)) => x == y,
        (Entry::Int(_), Entry::Str(s)) => a.eq_bytes(s),
        (Entry::Str(s), Entry::Int(_)) => b.eq_bytes(s),
    }
}

fn unique<'a>(entries: impl Iterator<Item = Entry<'a>>, what: &str) -> Result<()> {
    let entries: Vec<Entry<'a>> = entries.collect();
    let repeated = if entries.len() <= PAIRWISE_MAX {
        entries.iter().enumerate().any(|(i, a)| entries[..i].iter().any(|b| same_entry(a, b)))
    } else {
        let mut seen = HashSet::with_capacity(entries.len());
        !entries.iter().all(|e| seen.insert(e.to_vec()))
    };
    if repeated {
        return corrupt(format!("duplicate {what} members detected"));
    }
    Ok(())
}

fn pairs(entries: Vec<Vec<u8>>) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if !entries.len().is_multiple_of(2) {
        return corrupt("odd number of entries in a field/value encoding");
    }
    let mut it = entries.into_iter();
    let mut out = Vec::new();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

fn table_from(h: &Hash) -> Hash {
    let mut d = Dict::new();
    for (f, v) in h.iter() {
        d.insert(f.to_vec().into_boxed_slice(), v.to_vec().into_boxed_slice());
    }
    Hash::Table(d)
}

fn hash_from_pairs(pairs: Vec<(Vec<u8>, Vec<u8>)>, limits: &EncodingLimits) -> Result<Option<Value>> {
    if pairs.is_empty() {
        return Ok(None);
    }
    let mut h = if pairs.len() > limits.hash.entries { Hash::Table(Dict::new()) } else { Hash::default() };
    for (f, v) in &pairs {
        if !h.set(f, v, limits.hash) {
            return corrupt("duplicate hash fields detected");
        }
    }
    Ok(Some(Value::Hash(h)))
}

fn score_of(e: &Entry<'_>) -> Result<f64> {
    let s = match e {
        Entry::Int(i) => *i as f64,
        Entry::Str(t) => match std::str::from_utf8(t).ok().and_then(|t| crate::util::parse_f64(t.as_bytes())) {
            Some(v) => v,
            None => return corrupt("invalid sorted set score"),
        },
    };
    if s.is_nan() {
        return corrupt("sorted set with a NaN score");
    }
    Ok(s)
}

fn scored_pairs(entries: Vec<Entry<'_>>) -> Result<Vec<Scored>> {
    if !entries.len().is_multiple_of(2) {
        return corrupt("sorted set with an odd number of entries");
    }
    let mut out = Vec::with_capacity(entries.len() / 2);
    for c in entries.chunks(2) {
        out.push((c[0].to_vec(), score_of(&c[1])?));
    }
    Ok(out)
}

fn zset_from_items(mut items: Vec<Scored>, limits: &EncodingLimits) -> Result<Option<ZSet>> {
    if items.is_empty() {
        return Ok(None);
    }
    if items.iter().any(|(_, s)| s.is_nan()) {
        return corrupt("sorted set with a NaN score");
    }
    let mut seen = HashSet::with_capacity(items.len().min(1 << 16));
    for (m, _) in &items {
        if !seen.insert(m.as_slice()) {
            return corrupt("duplicate sorted set members detected");
        }
    }
    // By score (-0 and 0 are equal, as in the skiplist), then member.
    items.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then_with(|| a.0.cmp(&b.0)));
    Ok(Some(ZSet::from_sorted(items, limits.zset)))
}

/// A listpack zset is kept byte for byte when it is valid, ordered and
/// within the limits (so DUMP after RESTORE gives the same payload);
/// otherwise it is rebuilt.
fn zset_from_listpack(lp: Listpack, limits: &EncodingLimits) -> Result<Option<ZSet>> {
    if lp.is_empty() {
        return Ok(None);
    }
    let entries: Vec<Entry<'_>> = lp.iter().collect();
    if !entries.len().is_multiple_of(2) {
        return corrupt("sorted set with an odd number of entries");
    }
    let scores = entries.chunks_exact(2).map(|p| score_of(&p[1])).collect::<Result<Vec<f64>>>()?;
    let mut fits = scores.len() <= limits.zset.entries;
    let mut ordered = true;
    for (i, pair) in entries.chunks_exact(2).enumerate() {
        let mut buf = [0u8; 20];
        let member = entry_text(&pair[0], &mut buf);
        fits &= member.len() <= limits.zset.value;
        if i > 0 {
            let mut prev_buf = [0u8; 20];
            let prev = entry_text(&entries[2 * i - 2], &mut prev_buf);
            let (a, b) = (scores[i - 1], scores[i]);
            ordered &= a < b || (a == b && prev < member);
        }
    }
    if ordered && fits {
        unique(entries.iter().step_by(2).copied(), "sorted set")?;
        return Ok(Some(ZSet::Pack(lp)));
    }
    zset_from_items(scored_pairs(entries)?, limits)
}

/// An entry's bytes, an integer printed into `buf`.
fn entry_text<'b>(e: &Entry<'b>, buf: &'b mut [u8; 20]) -> &'b [u8] {
    match *e {
        Entry::Str(s) => s,
        Entry::Int(i) => crate::db::value::fmt_i64(i, buf),
    }
}

/// The entries of a ziplist (the encoding of Redis 3.2–6.2), validated.
pub fn ziplist_entries(z: &[u8]) -> Result<Vec<Entry<'_>>> {
    let bad = || Error::Corrupt("invalid ziplist".into());
    if z.len() < 11 || z[z.len() - 1] != 0xFF {
        return Err(bad());
    }
    let total = u32::from_le_bytes([z[0], z[1], z[2], z[3]]) as usize;
    if total != z.len() {
        return Err(bad());
    }
    let count = u16::from_le_bytes([z[8], z[9]]);
    let mut out = Vec::new();
    let mut p = 10;
    let end = z.len() - 1;
    let mut prev_len = 0usize;
    while p < end {
        let start = p;
        let prevlen = match z[p] {
            0xFE => {
                let b = z.get(p + 1..p + 5).ok_or_else(bad)?;
                p += 5;
                u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
            }
            0xFF => return Err(bad()),
            n => {
                p += 1;
                n as usize
            }
        };
        if prevlen != prev_len {
            return Err(bad());
        }
        let e = *z.get(p).ok_or_else(bad)?;
        let take = |from: usize, n: usize| z.get(from..from.checked_add(n)?).filter(|_| from + n <= end);
        let (entry, next) = match e >> 6 {
            0 => {
                let n = (e & 0x3f) as usize;
                (Entry::Str(take(p + 1, n).ok_or_else(bad)?), p + 1 + n)
            }
            1 => {
                let lo = *z.get(p + 1).ok_or_else(bad)? as usize;
                let n = (((e & 0x3f) as usize) << 8) | lo;
                (Entry::Str(take(p + 2, n).ok_or_else(bad)?), p + 2 + n)
            }
            2 => {
                let b = take(p + 1, 4).ok_or_else(bad)?;
                let n = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
                (Entry::Str(take(p + 5, n).ok_or_else(bad)?), p + 5 + n)
            }
            _ => {
                let (n, v) = match e {
                    0xC0 => (2, take(p + 1, 2).map(|b| i16::from_le_bytes([b[0], b[1]]) as i64)),
                    0xD0 => (4, take(p + 1, 4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64)),
                    0xE0 => (8, take(p + 1, 8).and_then(|b| b.try_into().ok()).map(i64::from_le_bytes)),
                    0xF0 => (3, take(p + 1, 3).map(|b| (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as i64)),
                    0xFE => (1, take(p + 1, 1).map(|b| b[0] as i8 as i64)),
                    0xF1..=0xFD => (0, Some((e & 0x0f) as i64 - 1)),
                    _ => return Err(bad()),
                };
                (Entry::Int(v.ok_or_else(bad)?), p + 1 + n)
            }
        };
        if next > end {
            return Err(bad());
        }
        out.push(entry);
        prev_len = next - start;
        p = next;
    }
    if count != u16::MAX && count as usize != out.len() {
        return Err(bad());
    }
    Ok(out)
}

/// The (field, value) pairs of a zipmap (hashes of Redis before 2.6).
fn zipmap_pairs(z: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let bad = || Error::Corrupt("invalid zipmap".into());
    let mut p = 1usize;
    let read_len = |p: &mut usize| -> Result<Option<usize>> {
        match *z.get(*p).ok_or_else(bad)? {
            255 => Ok(None),
            254 => {
                let b = z.get(*p + 1..*p + 5).ok_or_else(bad)?;
                *p += 5;
                Ok(Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize))
            }
            n => {
                *p += 1;
                Ok(Some(n as usize))
            }
        }
    };
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    while let Some(flen) = read_len(&mut p)? {
        let field = z.get(p..p.checked_add(flen).ok_or_else(bad)?).ok_or_else(bad)?;
        p += flen;
        let vlen = read_len(&mut p)?.ok_or_else(bad)?;
        let free = *z.get(p).ok_or_else(bad)? as usize;
        p += 1;
        let value = z.get(p..p.checked_add(vlen).ok_or_else(bad)?).ok_or_else(bad)?;
        p += vlen + free;
        if !seen.insert(field) {
            return corrupt("duplicate hash fields detected");
        }
        out.push((field.to_vec(), value.to_vec()));
    }
    if p + 1 != z.len() {
        return Err(bad());
    }
    Ok(out)
}

// ===========================================================================
// Whole files and DUMP payloads

/// What a loaded file said besides its keys.
#[derive(Default, Debug)]
pub struct LoadInfo {
    pub version: u16,
    pub keys_loaded: u64,
    pub keys_expired: u64,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// FUNCTION libraries (their source code), kept to be saved again.
    pub functions: Vec<Vec<u8>>,
    /// The stored checksum was verified (false when it is 0 or disabled).
    pub checksum_verified: bool,
    /// Bytes read.
    pub size: u64,
}

/// A key read from a file: database, name, object (expire and access data
/// applied).
pub struct LoadedKey {
    pub db: usize,
    pub key: Vec<u8>,
    pub obj: Obj,
    /// Unix ms; 0 when the key has no expire.
    pub expire_at: i64,
}

/// Options of a load.
pub struct LoadOptions {
    pub limits: EncodingLimits,
    /// `rdbchecksum`: verify the CRC64 trailer (when the file has one).
    pub verify_checksum: bool,
    /// Number of databases: a SELECTDB beyond it is an error.
    pub databases: usize,
    /// Expired keys are dropped (a master loading at start-up), with `now`.
    pub drop_expired_at: Option<i64>,
}

/// Parses the magic and version.
fn read_magic<R: Read>(r: &mut Reader<R>) -> Result<u16> {
    let head: [u8; 9] = r.array()?;
    let (magic, digits): (&[u8], &[u8]) = if &head[..5] == b"REDIS" {
        (&head[..5], &head[5..9])
    } else if &head[..6] == b"VALKEY" {
        (&head[..6], &head[6..9])
    } else {
        return corrupt("Wrong signature trying to load DB from file");
    };
    let version = std::str::from_utf8(digits).ok().and_then(|d| d.parse::<u16>().ok());
    match (magic, version) {
        (b"REDIS", Some(v)) if (1..=RDB_VERSION).contains(&v) => Ok(v),
        (b"VALKEY", Some(VALKEY_RDB_VERSION)) => Ok(VALKEY_RDB_VERSION),
        (_, Some(v)) => Err(Error::Unsupported(format!("Can't handle RDB format version {v}"))),
        _ => corrupt("Wrong signature trying to load DB from file"),
    }
}

/// What receives a load: each key (which it may refuse, e.g. a duplicate,
/// with an error), and what the file says about itself besides. Offsets
/// are where the reader stands after the item.
pub trait Observer {
    fn key(&mut self, k: LoadedKey) -> Result<()>;
    fn aux(&mut self, _offset: u64, _key: &[u8], _value: &[u8]) {}
    fn select_db(&mut self, _offset: u64, _db: u64) {}
    /// RESIZEDB: the announced size of the db just selected (untrusted).
    fn resize_db(&mut self, _db: usize, _keys: u64, _expires: u64) {}
}

/// A closure taking the keys, as an observer.
struct Sink<F>(F);

impl<F: FnMut(LoadedKey) -> Result<()>> Observer for Sink<F> {
    fn key(&mut self, k: LoadedKey) -> Result<()> {
        (self.0)(k)
    }
}

/// Where a load was when it failed (redis-check-rdb's state).
#[derive(Debug, Default)]
pub struct Position {
    /// Bytes read when the error was found.
    pub offset: u64,
    /// What it was doing, in redis-check-rdb's words ("read-type", ...).
    pub doing: &'static str,
    /// The key whose value was being read, and its type.
    pub key: Option<Vec<u8>>,
    pub key_type: Option<u8>,
}

/// Reads a whole RDB stream, handing each key to `sink` (which may refuse
/// it, e.g. a duplicate key, with an error). Reads no byte past the
/// stream's end.
pub fn load<R: Read>(input: R, opts: &LoadOptions, sink: impl FnMut(LoadedKey) -> Result<()>) -> Result<LoadInfo> {
    load_with(input, opts, &mut Sink(sink))
}

/// As `load`, reporting to `obs`.
pub fn load_with<R: Read>(input: R, opts: &LoadOptions, obs: &mut impl Observer) -> Result<LoadInfo> {
    run_load(Reader::new(input), opts, obs).map_err(|(e, _)| e)
}

/// Reads a whole RDB file (reading ahead: nothing may follow it in
/// `input`), reporting to `obs` and, on failure, where it stopped.
pub fn load_observed<R: Read>(
    input: R,
    opts: &LoadOptions,
    obs: &mut impl Observer,
) -> Result<LoadInfo, (Error, Position)> {
    run_load(Reader::with_buffer(input, FILE_BUFFER), opts, obs)
}

fn run_load<R: Read>(
    mut r: Reader<R>,
    opts: &LoadOptions,
    obs: &mut impl Observer,
) -> Result<LoadInfo, (Error, Position)> {
    // redis-check-rdb names type 0 until the first key is read.
    let mut at = Position { doing: "start", key_type: Some(TYPE_STRING), ..Default::default() };
    match load_body(&mut r, opts, obs, &mut at) {
        Ok(info) => Ok(LoadInfo { size: r.pos, ..info }),
        Err(e) => {
            at.offset = r.pos;
            Err((e, at))
        }
    }
}

fn load_body<R: Read>(
    r: &mut Reader<R>,
    opts: &LoadOptions,
    obs: &mut impl Observer,
    at: &mut Position,
) -> Result<LoadInfo> {
    let version = read_magic(r)?;
    let mut info = LoadInfo { version, ..Default::default() };
    let mut db = 0usize;
    let mut expire_at: i64 = 0;
    let mut lru_idle: Option<u64> = None;
    let mut lfu_freq: Option<u8> = None;
    loop {
        at.doing = "read-type";
        let t = r.u8()?;
        match t {
            OP_EXPIRETIME => {
                at.doing = "read-expire";
                expire_at = (u32::from_le_bytes(r.array()?) as i64) * 1000;
                continue;
            }
            OP_EXPIRETIME_MS => {
                at.doing = "read-expire";
                expire_at = i64::from_le_bytes(r.array()?);
                continue;
            }
            OP_FREQ => {
                lfu_freq = Some(r.u8()?);
                continue;
            }
            OP_IDLE => {
                lru_idle = Some(r.length()?);
                continue;
            }
            OP_EOF => break,
            OP_SELECTDB => {
                at.doing = "read-len";
                let n = r.length()?;
                obs.select_db(r.pos, n);
                if n >= opts.databases as u64 {
                    return corrupt(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases. Exiting",
                        opts.databases
                    ));
                }
                db = n as usize;
                continue;
            }
            OP_RESIZEDB => {
                // Only a hint: the observer bounds what it sizes from it.
                at.doing = "read-len";
                let keys = r.length()?;
                let expires = r.length()?;
                obs.resize_db(db, keys, expires);
                continue;
            }
            OP_SLOT_INFO => {
                at.doing = "read-len";
                r.length()?;
                r.length()?;
                r.length()?;
                continue;
            }
            OP_AUX => {
                at.doing = "read-aux";
                let k = r.string()?;
                let v = r.string()?;
                obs.aux(r.pos, &k, &v);
                info.aux.push((k, v));
                continue;
            }
            OP_MODULE_AUX => {
                at.doing = "read-module-aux";
                return Err(Error::Unsupported(
                    "The RDB file contains module auxiliary data: modules are not supported".into(),
                ));
            }
            OP_FUNCTION_PRE_GA => {
                at.doing = "read-function";
                return Err(Error::Unsupported("Pre-release function format not supported.".into()));
            }
            OP_FUNCTION2 => {
                at.doing = "read-function";
                info.functions.push(r.string()?);
                continue;
            }
            TYPE_STRING..=TYPE_MODULE_2 | TYPE_HASH_ZIPMAP..=TYPE_HASH_2 => {}
            t => return corrupt(format!("Invalid object type: {t}")),
        }
        at.doing = "read-key";
        at.key_type = Some(t);
        let key = r.string()?;
        at.doing = "read-object-value";
        let value = match r.value(t, &opts.limits) {
            Ok(v) => v,
            Err(e) => {
                at.key = Some(key);
                return Err(e);
            }
        };
        at.key_type = None;
        let (exp, idle, freq) = (std::mem::take(&mut expire_at), lru_idle.take(), lfu_freq.take());
        let Some(val) = value else { continue };
        if let Some(now) = opts.drop_expired_at {
            if exp != 0 && exp < now {
                info.keys_expired += 1;
                continue;
            }
        }
        let mut obj = Obj::new(val);
        set_access(&mut obj, idle, freq.map(|f| f as u32));
        obs.key(LoadedKey { db, key, obj, expire_at: exp })?;
        info.keys_loaded += 1;
    }
    at.doing = "check-sum";
    let computed = r.crc();
    if version >= 5 {
        let stored = u64::from_le_bytes(r.array()?);
        if opts.verify_checksum && stored != 0 {
            if stored != computed {
                return corrupt("Wrong RDB checksum");
            }
            info.checksum_verified = true;
        }
    }
    Ok(info)
}

/// Applies RESTORE's or a file's IDLETIME / FREQ to a new object, as
/// Redis's objectSetLRUOrLFU: FREQ counts under an LFU policy, IDLETIME
/// otherwise.
pub fn set_access(obj: &mut Obj, idle: Option<u64>, freq: Option<u32>) {
    const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;
    if crate::db::lfu_enabled() {
        // Without FREQ a new object starts at LFU_INIT_VAL, as createObject.
        let minutes = ((crate::util::now_ms() / 60_000) & 0xFFFF) as u32;
        obj.lru = (minutes << 8) | freq.unwrap_or(crate::db::LFU_INIT_VAL).min(255);
    } else if let Some(idle) = idle {
        let clock = crate::db::lru_clock() as i64;
        let idle = i64::try_from(idle).unwrap_or(i64::MAX).min(LRU_CLOCK_MAX);
        let mut abs = clock - idle;
        if abs < 0 {
            abs += LRU_CLOCK_MAX;
        }
        obj.lru = abs as u32;
    }
}

/// Redis's verifyDumpPayload: at least a version and a CRC, a version not
/// newer than this server's, and a matching CRC64.
pub fn verify_dump_payload(p: &[u8]) -> bool {
    if p.len() < 10 {
        return false;
    }
    let footer = &p[p.len() - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return false;
    }
    let crc = crc64(0, &p[..p.len() - 8]);
    crc.to_le_bytes() == footer[2..10]
}

/// Reads the value of a DUMP payload already checked by
/// `verify_dump_payload`. Empty collections are bad data here.
pub fn restore_payload(p: &[u8], limits: &EncodingLimits) -> Result<Value> {
    let body = &p[..p.len().saturating_sub(10)];
    let mut r = Reader::new(body);
    let t = r.u8()?;
    match r.value(t, limits)? {
        Some(v) => Ok(v),
        None => corrupt("empty keys are not allowed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(version: u16) -> SaveOptions {
        SaveOptions { version, compress: true, access: AccessInfo::None }
    }

    #[test]
    fn lengths_round_trip() {
        for n in [0u64, 1, 63, 64, 16383, 16384, u32::MAX as u64, u32::MAX as u64 + 1, u64::MAX] {
            let mut out = Vec::new();
            write_len(&mut out, n);
            let mut r = Reader::new(&out[..]);
            assert_eq!(r.length().ok(), Some(n));
        }
    }

    #[test]
    fn strings_use_redis_encodings() {
        // Bytes as Redis 7.0 writes them (DUMP of SET k <v>).
        let mut out = Vec::new();
        write_string(&mut out, b"12", true);
        assert_eq!(out, b"\xc0\x0c");
        out.clear();
        write_string(&mut out, b"-300", true);
        assert_eq!(out, b"\xc1\xd4\xfe");
        out.clear();
        write_string(&mut out, b"100000", true);
        assert_eq!(out, b"\xc2\xa0\x86\x01\x00");
        out.clear();
        write_string(&mut out, b"012", true);
        assert_eq!(out, b"\x03012");
        out.clear();
        write_string(&mut out, &[b'a'; 40], true);
        assert_eq!(out, b"\xc3\x09\x28\x01aa\xe0\x1b\x00\x01aa");
        for s in [&b"12"[..], b"-300", b"100000", b"012", &[b'a'; 40], b"12345678901", b"-2147483649"] {
            let mut out = Vec::new();
            write_string(&mut out, s, true);
            assert_eq!(Reader::new(&out[..]).string().ok().as_deref(), Some(s));
        }
    }

    #[test]
    fn dump_payload_matches_redis() {
        // DUMP of `SET k aaaa…(40 a)` on Redis 7.0.15.
        let v = Value::from_bytes(&[b'a'; 40]);
        let p = dump_payload(&v, &opts(10));
        assert_eq!(p, b"\x00\xc3\x09\x28\x01aa\xe0\x1b\x00\x01aa\x0a\x00\xcf\x09\x2f\xaa\xae\x25\x83\x1d");
        assert!(verify_dump_payload(&p));
        let mut bad = p.clone();
        bad[3] ^= 1;
        assert!(!verify_dump_payload(&bad));
        let back =
            restore_payload(&p, &EncodingLimits::default()).ok().and_then(|v| v.as_bytes().map(|b| b.into_owned()));
        assert_eq!(back, Some(vec![b'a'; 40]));
    }

    #[test]
    fn damaged_payloads_are_refused() {
        let mut rng_state = 12345u64;
        let mut next = || {
            rng_state = rng_state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (rng_state >> 33) as u8
        };
        for t in 0..=25u8 {
            for _ in 0..200 {
                let len = next() as usize % 40;
                let mut p = vec![t];
                p.extend((0..len).map(|_| next()));
                let _ = Reader::new(&p[..]).value(t, &EncodingLimits::default());
            }
        }
    }

    #[test]
    fn ziplists_decode() {
        // A ziplist of "a", 5, 300 built by hand.
        let mut z = vec![0u8; 10];
        z.extend_from_slice(&[0x00, 0x01, b'a']);
        z.extend_from_slice(&[0x03, 0xF6]);
        z.extend_from_slice(&[0x02, 0xC0, 0x2c, 0x01]);
        z.push(0xFF);
        let n = z.len() as u32;
        z[0..4].copy_from_slice(&n.to_le_bytes());
        z[8..10].copy_from_slice(&3u16.to_le_bytes());
        let e = ziplist_entries(&z).ok();
        assert_eq!(e, Some(vec![Entry::Str(b"a"), Entry::Int(5), Entry::Int(300)]));
        z[11] = 0x05;
        assert!(ziplist_entries(&z).is_err());
    }

    /// A value of type `t` from `body`, or the error text.
    fn read(t: u8, body: &[u8]) -> Result<Option<Value>, String> {
        Reader::new(body).value(t, &EncodingLimits::default()).map_err(|e| e.to_string())
    }

    fn text(v: &Value) -> Vec<Vec<u8>> {
        match v {
            Value::List(l) => l.iter().map(|e| e.to_vec()).collect(),
            Value::Hash(h) => h.iter().flat_map(|(f, v)| [f.to_vec(), v.to_vec()]).collect(),
            Value::ZSet(z) => z.iter().flat_map(|(m, s)| [m, s.to_string().into_bytes()]).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn old_encodings_decode() {
        // Linked list (type 1): length then strings, one int-encoded.
        let v = read(TYPE_LIST, b"\x02\x01a\xc0\x07").ok().flatten();
        assert_eq!(v.as_ref().map(text), Some(vec![b"a".to_vec(), b"7".to_vec()]));
        // ZSET (type 3): text scores, 254 = +inf, 255 = -inf.
        let v = read(TYPE_ZSET, b"\x03\x01a\x031.5\x01b\xfe\x01c\xff").ok().flatten();
        let want: Vec<Vec<u8>> = [&b"c"[..], b"-inf", b"a", b"1.5", b"b", b"inf"].iter().map(|x| x.to_vec()).collect();
        assert_eq!(v.as_ref().map(text), Some(want));
        // A NaN score is refused.
        assert!(read(TYPE_ZSET, b"\x01\x01a\xfd").is_err());
        // Zipmap (Redis < 2.6 hashes): zmlen, field, value with 1 free byte.
        let zm = b"\x02\x01f\x02\x01vvX\x02gg\x00\x00\xff";
        let mut body = vec![zm.len() as u8];
        body.extend_from_slice(zm);
        let v = read(TYPE_HASH_ZIPMAP, &body).ok().flatten();
        assert_eq!(v.as_ref().map(text), Some(vec![b"f".to_vec(), b"vv".to_vec(), b"gg".to_vec(), b"".to_vec()]));
        // Duplicates are refused, empty collections skipped.
        assert!(read(TYPE_SET, b"\x02\x01a\x01a").is_err());
        assert!(read(TYPE_HASH, b"\x02\x01a\x01b\x01a\x01c").is_err());
        assert!(matches!(read(TYPE_SET, b"\x00"), Ok(None)));
        // Modules are refused with a clear error.
        assert!(read(TYPE_MODULE_2, b"\x00").is_err_and(|e| e.contains("module")));
    }

    #[test]
    fn hash_ziplist_decodes() {
        let mut z = vec![0u8; 10];
        z.extend_from_slice(&[0x00, 0x01, b'f']);
        z.extend_from_slice(&[0x03, 0xF2]);
        z.push(0xFF);
        let n = z.len() as u32;
        z[0..4].copy_from_slice(&n.to_le_bytes());
        z[8..10].copy_from_slice(&2u16.to_le_bytes());
        let mut body = Vec::new();
        write_string(&mut body, &z, false);
        let v = read(TYPE_HASH_ZIPLIST, &body).ok().flatten();
        assert_eq!(v.as_ref().map(text), Some(vec![b"f".to_vec(), b"1".to_vec()]));
    }

    /// A stream of 150 entries (two nodes), one deleted, a group whose
    /// consumer has two pending entries, as the commands would leave it.
    fn sample_stream() -> Stream {
        use crate::types::stream::{NewId, NodeLimits};
        let mut s = Stream::new();
        for i in 1..=150u64 {
            let v = i.to_string();
            let pairs: [&[u8]; 2] = [b"f", v.as_bytes()];
            s.entries.append(&pairs, NewId::Exact(StreamId::new(i, 1)), 0, NodeLimits::default()).expect("append");
        }
        s.entries.delete(&[StreamId::new(3, 1)]);
        assert!(s.create_group(b"g", StreamId::MIN, 0));
        let Stream { entries, groups } = &mut s;
        let g = groups.get_mut(&b"g"[..]).expect("group");
        let (alice, _) = g.find_or_create(b"alice", 1000);
        g.deliver_new(entries, alice, StreamId::new(0, 1), 2, false, 2000, |_, _, _| {});
        s
    }

    fn stream_of(v: &Value) -> &Stream {
        match v {
            Value::Stream(s) => s,
            _ => panic!("not a stream"),
        }
    }

    #[test]
    fn streams_round_trip_in_both_versions() {
        let v = Value::Stream(Box::new(sample_stream()));
        for (version, t) in [(11, TYPE_STREAM_LISTPACKS_3), (10, TYPE_STREAM_LISTPACKS_2)] {
            let p = dump_payload(&v, &opts(version));
            assert_eq!(p[0], t);
            let back = restore_payload(&p, &EncodingLimits::default()).expect("loads back");
            assert_eq!(dump_payload(&back, &opts(version)), p, "version {version}");
            let (a, b) = (stream_of(&v), stream_of(&back));
            assert_eq!(b.entries.length, 149);
            assert_eq!(b.entries.node_count(), 2);
            assert_eq!(b.entries.max_deleted_entry_id, StreamId::new(3, 1));
            let (g, orig) = (&b.groups[&b"g"[..]], &a.groups[&b"g"[..]]);
            assert_eq!((g.last_id, g.entries_read, &g.pel), (orig.last_id, orig.entries_read, &orig.pel));
            assert_eq!(g.last_id, StreamId::new(2, 1));
            let alice = g.consumers().next().expect("alice");
            assert_eq!((alice.seen_time, alice.pel.len()), (1000, 2));
            // Version 10 has no active time: it loads as the seen time.
            let want =
                if version == 11 { a.groups[&b"g"[..]].consumers().next().map(|c| c.active_time) } else { Some(1000) };
            assert_eq!(Some(alice.active_time), want);
        }
    }

    #[test]
    fn type_15_streams_get_the_counters_redis_gives_them() {
        // Redis 5-6.2's stream: no first ID, max deleted ID, entries added,
        // read counters or active times.
        let s = sample_stream();
        let e = &s.entries;
        let mut p = Vec::new();
        write_len(&mut p, e.node_count() as u64);
        for (key, lp) in e.node_blobs() {
            write_string(&mut p, &key, false);
            write_string(&mut p, lp, false);
        }
        write_len(&mut p, e.length);
        write_len(&mut p, e.last_id.ms);
        write_len(&mut p, e.last_id.seq);
        write_len(&mut p, 1);
        write_string(&mut p, b"g", false);
        write_len(&mut p, 2);
        write_len(&mut p, 1);
        write_len(&mut p, 2);
        for id in [StreamId::new(1, 1), StreamId::new(2, 1)] {
            p.extend_from_slice(&id.to_be_bytes());
            p.extend_from_slice(&2000i64.to_le_bytes());
            write_len(&mut p, 1);
        }
        write_len(&mut p, 1);
        write_string(&mut p, b"alice", false);
        p.extend_from_slice(&1000i64.to_le_bytes());
        write_len(&mut p, 2);
        p.extend_from_slice(&StreamId::new(1, 1).to_be_bytes());
        p.extend_from_slice(&StreamId::new(2, 1).to_be_bytes());
        let v = Reader::new(&p[..])
            .value(TYPE_STREAM_LISTPACKS, &EncodingLimits::default())
            .expect("loads")
            .expect("value");
        let b = stream_of(&v);
        assert_eq!(b.entries.entries_added, 149, "the length");
        assert_eq!(b.entries.max_deleted_entry_id, StreamId::MIN);
        assert_eq!(b.entries.first_id, StreamId::new(1, 1));
        let g = &b.groups[&b"g"[..]];
        // Estimated as Redis does: 2-1 is neither the first nor the last
        // entry, so the count is unknown.
        assert_eq!(g.entries_read, -1);
        assert_eq!(g.consumers().next().map(|c| (c.seen_time, c.active_time)), Some((1000, 1000)));
        // A pending ID no consumer owns, or one owned twice, is refused.
        let cut = p.len() - 33;
        let mut orphan = p[..cut].to_vec();
        orphan.push(0);
        let e = Reader::new(&orphan[..])
            .value(TYPE_STREAM_LISTPACKS, &EncodingLimits::default())
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("without consumer")));
        let mut twice = p[..cut].to_vec();
        twice.push(2);
        twice.extend_from_slice(&StreamId::new(1, 1).to_be_bytes());
        twice.extend_from_slice(&StreamId::new(1, 1).to_be_bytes());
        assert!(Reader::new(&twice[..]).value(TYPE_STREAM_LISTPACKS, &EncodingLimits::default()).is_err());
    }

    #[test]
    fn damaged_stream_nodes_are_refused() {
        let v = Value::Stream(Box::new(sample_stream()));
        let p = dump_payload(&v, &SaveOptions { version: 11, compress: false, access: AccessInfo::None });
        let body = &p[..p.len() - 10];
        assert!(Reader::new(&body[1..]).value(body[0], &EncodingLimits::default()).is_ok());
        // Every single-byte change is either refused or loads a stream the
        // commands can walk.
        for at in 1..body.len() {
            for x in [0x01u8, 0x80, 0xFF] {
                let mut b = body.to_vec();
                b[at] ^= x;
                if let Ok(Some(Value::Stream(s))) = Reader::new(&b[1..]).value(b[0], &EncodingLimits::default()) {
                    let n = s.entries.range(StreamId::MIN, StreamId::MAX, false).count() as u64;
                    assert_eq!(n, s.entries.length);
                    let back = s.entries.range(StreamId::MIN, StreamId::MAX, true).count() as u64;
                    assert_eq!(back, n);
                }
            }
        }
    }

    #[test]
    fn listpack_duplicates_are_refused() {
        let blob = |lp: &[u8]| {
            let mut b = Vec::new();
            write_string(&mut b, lp, false);
            b
        };
        // "5" as a string and 5 as an integer are the same member.
        let lp = [12, 0, 0, 0, 2, 0, 0x81, b'5', 2, 5, 1, 0xFF];
        assert!(read(TYPE_SET_LISTPACK, &blob(&lp)).is_err_and(|e| e.contains("duplicate")));
        let mut z = Listpack::new();
        for e in ["a", "1", "b", "2"] {
            z.push_back(e.as_bytes());
        }
        assert!(read(TYPE_ZSET_LISTPACK, &blob(z.as_bytes())).is_ok_and(|v| v.is_some()));
        // Ordered by score, but "a" twice.
        let mut z = Listpack::new();
        for e in ["a", "1", "a", "2"] {
            z.push_back(e.as_bytes());
        }
        assert!(read(TYPE_ZSET_LISTPACK, &blob(z.as_bytes())).is_err_and(|e| e.contains("duplicate")));
        // Out of order: rebuilt in order.
        let mut z = Listpack::new();
        for e in ["b", "2", "a", "1"] {
            z.push_back(e.as_bytes());
        }
        let v = read(TYPE_ZSET_LISTPACK, &blob(z.as_bytes())).ok().flatten();
        assert_eq!(v.as_ref().map(text), Some(vec![b"a".to_vec(), b"1".to_vec(), b"b".to_vec(), b"2".to_vec()]));
    }

    #[test]
    fn checksums_hold_across_read_buffers() {
        // Values of every size around the buffer sizes, compressed or not.
        let o = SaveOptions { version: 11, compress: false, access: AccessInfo::None };
        let mut f = Vec::new();
        write_header(&mut f, &o, 0, false, &[]);
        write_db_header(&mut f, 0, 0, 0);
        let sizes: Vec<usize> =
            (0..40).map(|i| i * 7919 % 300_000).chain([4095, 4096, 4097, 262_143, 262_144]).collect();
        for (i, n) in sizes.iter().enumerate() {
            let v: Vec<u8> = (0..*n).map(|j| (j * 31 + i) as u8).collect();
            write_key_value(&mut f, format!("k{i}").as_bytes(), &Obj::new(Value::from_bytes(&v)), 0, &o);
        }
        f.push(OP_EOF);
        let crc = crc64(0, &f);
        f.extend_from_slice(&crc.to_le_bytes());
        let opts = LoadOptions {
            limits: EncodingLimits::default(),
            verify_checksum: true,
            databases: 16,
            drop_expired_at: None,
        };
        // Read exactly and read ahead.
        for ahead in [false, true] {
            let mut lens = Vec::new();
            let sink = |k: LoadedKey| {
                lens.push(k.obj.val.as_bytes().map_or(0, |b| b.len()));
                Ok(())
            };
            let info = if ahead {
                load_observed(&f[..], &opts, &mut Sink(sink)).map_err(|(e, _)| e)
            } else {
                load(&f[..], &opts, sink)
            };
            let info = info.expect("loads");
            assert!(info.checksum_verified);
            assert_eq!(info.size, f.len() as u64);
            assert_eq!(lens, sizes);
            let mut bad = f.clone();
            bad[f.len() / 2] ^= 1;
            assert!(load_observed(&bad[..], &opts, &mut Sink(|_| Ok(()))).is_err());
            assert!(load(&bad[..], &opts, |_| Ok(())).is_err());
        }
    }
}
