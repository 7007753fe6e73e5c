//! Bitmap commands (Redis's bitops.c): SETBIT, GETBIT, BITCOUNT, BITPOS,
//! BITOP, BITFIELD and BITFIELD_RO over string values. The bit work lives
//! in `types/bitops.rs`; this file parses arguments in Redis's order and
//! keeps Redis's encodings (strings changed in place become raw).

use crate::executor::notify::class;
use std::borrow::Cow;

use bytes::Bytes;

use super::docs::*;
use super::{acl, flags::*, keys, CommandDef, Ctx};
use super::{key_at, key_spec, BeginSearch, FindKeys, FoundKey};
use crate::cmd;
use crate::db::value::I64_DIGITS;
use crate::db::{Db, Obj, Value};
use crate::types::bitops::{self, BitOp, Overflow, Range};
use crate::util::{eq_ic, parse_i64};

// Arguments several commands share, for COMMAND DOCS.
const RANGE_ARG: Arg = block(
    "range",
    &[
        integer("start"),
        block(
            "end-unit-block",
            &[
                integer("end"),
                oneof("unit", &[pure_token("byte", "BYTE"), pure_token("bit", "BIT")]).since("7.0.0").optional(),
            ],
        )
        .optional(),
    ],
)
.optional();

pub static COMMANDS: &[CommandDef] = &[
    cmd!(
        "bitcount",
        -2,
        READONLY,
        acl::BITMAP,
        keys(1, 1, 1),
        bitcount,
        "bitmap",
        "2.6.0",
        "O(N)",
        "Counts the number of set bits (population counting) in a string."
    )
    .with_args(&[key("key", 0), RANGE_ARG])
    .with_history(&[("7.0.0", "Added the `BYTE|BIT` option.")]),
    cmd!(
        "bitfield",
        -2,
        WRITE | DENYOOM,
        acl::BITMAP,
        keys(1, 1, 1),
        bitfield,
        "bitmap",
        "3.2.0",
        "O(1) for each subcommand specified",
        "Performs arbitrary bitfield integer operations on strings."
    )
    .with_args(&[
        key("key", 0),
        oneof(
            "operation",
            &[
                block("get-block", &[string("encoding"), integer("offset")]).token("GET"),
                block(
                    "write",
                    &[
                        oneof(
                            "overflow-block",
                            &[pure_token("wrap", "WRAP"), pure_token("sat", "SAT"), pure_token("fail", "FAIL")],
                        )
                        .token("OVERFLOW")
                        .optional(),
                        oneof(
                            "write-operation",
                            &[
                                block("set-block", &[string("encoding"), integer("offset"), integer("value")])
                                    .token("SET"),
                                block("incrby-block", &[string("encoding"), integer("offset"), integer("increment")])
                                    .token("INCRBY"),
                            ],
                        ),
                    ],
                ),
            ],
        )
        .optional()
        .multiple(),
    ])
    .with_key_specs(&[key_at(1, &["RW", "access", "update", "variable_flags"])
        .noted("This command allows both access and modification of the key")])
    .with_key_finder(bitfield_keys),
    cmd!(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        acl::BITMAP,
        keys(1, 1, 1),
        bitfield_ro,
        "bitmap",
        "6.0.0",
        "O(1) for each subcommand specified",
        "Performs arbitrary read-only bitfield integer operations on strings."
    )
    .with_args(&[
        key("key", 0),
        block("get-block", &[string("encoding"), integer("offset")])
            .token("GET")
            .optional()
            .multiple()
            .multiple_token(),
    ]),
    cmd!(
        "bitop",
        -4,
        WRITE | DENYOOM,
        acl::BITMAP,
        keys(2, -1, 1),
        bitop,
        "bitmap",
        "2.6.0",
        "O(N)",
        "Performs bitwise operations on multiple strings, and stores the result."
    )
    .with_args(&[
        oneof(
            "operation",
            &[pure_token("and", "AND"), pure_token("or", "OR"), pure_token("xor", "XOR"), pure_token("not", "NOT")],
        ),
        key("destkey", 0),
        key("key", 1).multiple(),
    ])
    .with_key_specs(&[
        key_at(2, &["OW", "update"]),
        key_spec(&["RO", "access"], BeginSearch::Index(3), FindKeys::Range { lastkey: -1, step: 1, limit: 0 }),
    ]),
    cmd!(
        "bitpos",
        -3,
        READONLY,
        acl::BITMAP,
        keys(1, 1, 1),
        bitpos,
        "bitmap",
        "2.8.7",
        "O(N)",
        "Finds the first set (1) or clear (0) bit in a string."
    )
    .with_args(&[key("key", 0), integer("bit"), RANGE_ARG])
    .with_history(&[("7.0.0", "Added the `BYTE|BIT` option.")]),
    cmd!(
        "getbit",
        3,
        READONLY | FAST,
        acl::BITMAP,
        keys(1, 1, 1),
        getbit,
        "bitmap",
        "2.2.0",
        "O(1)",
        "Returns a bit value by offset."
    )
    .with_args(&[key("key", 0), integer("offset")]),
    cmd!(
        "setbit",
        4,
        WRITE | DENYOOM,
        acl::BITMAP,
        keys(1, 1, 1),
        setbit,
        "bitmap",
        "2.2.0",
        "O(1)",
        "Sets or clears the bit at offset of the string value. Creates the key if it doesn't exist."
    )
    .with_args(&[key("key", 0), integer("offset"), integer("value")])
    .with_key_specs(&[key_spec(
        &["RW", "access", "update"],
        BeginSearch::Index(1),
        FindKeys::Range { lastkey: 0, step: 1, limit: 0 },
    )]),
];

/// Redis's bitfieldGetKeys: the key is only read when every operation is
/// a well-formed GET (or OVERFLOW).
fn bitfield_keys(argv: &[Bytes]) -> Vec<FoundKey> {
    let mut i = 2;
    while i < argv.len() {
        let rest = argv.len() - i - 1;
        if eq_ic(&argv[i], "get") && rest >= 2 {
            i += 3;
        } else if eq_ic(&argv[i], "overflow") && rest >= 1 {
            i += 2;
        } else {
            return vec![(1, &["RW", "access", "update"])];
        }
    }
    vec![(1, &["RO", "access"])]
}

const BAD_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const BAD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

/// The argument as C code sees it: up to its first NUL byte. Redis
/// compares keywords with strcasecmp, so `get\0x` is GET.
fn c_str(arg: &[u8]) -> &[u8] {
    arg.iter().position(|&b| b == 0).map_or(arg, |n| &arg[..n])
}

fn keyword(arg: &[u8], kw: &str) -> bool {
    c_str(arg).eq_ignore_ascii_case(kw.as_bytes())
}

/// Redis's getBitOffsetFromArgument: a bit offset below 8 ×
/// proto-max-bulk-len. With `hash_bits` > 0 (BITFIELD), `#N` means N
/// fields of that width; the product wraps as Redis's does, and the
/// result is then range-checked.
fn bit_offset(ctx: &mut Ctx, arg: &[u8], hash_bits: u32) -> Option<u64> {
    let use_hash = hash_bits > 0 && arg.first() == Some(&b'#');
    let digits = if use_hash { &arg[1..] } else { arg };
    let mut offset = parse_i64(digits);
    if use_hash {
        offset = offset.map(|o| o.wrapping_mul(hash_bits as i64));
    }
    match offset {
        Some(o) if o >= 0 && (o >> 3) < ctx.srv.config.proto_max_bulk_len => Some(o as u64),
        _ => {
            ctx.error(BAD_OFFSET);
            None
        }
    }
}

/// Reads a string value for the bit commands: its bytes (integers are
/// printed), None for a missing key, Err(()) for another type. Counts the
/// keyspace hit or miss, as lookupKeyRead.
fn read_string<'a>(ctx: &'a mut Ctx, key: &[u8], scratch: &'a mut [u8; I64_DIGITS]) -> Result<Option<&'a [u8]>, ()> {
    let db = ctx.client.db;
    let srv = &mut *ctx.srv;
    let found = srv.dbs[db].get(key);
    let hit = found.is_some();
    let res = match found {
        None => Ok(None),
        Some(o) => o.val.str_bytes(scratch).map(Some).ok_or(()),
    };
    if hit {
        srv.stats.keyspace_hits += 1;
    } else {
        srv.stats.keyspace_misses += 1;
    }
    res
}

/// Why a bit command could not get its writable string.
enum WriteError {
    WrongType,
    NoMemory,
}

/// Redis's lookupStringForBitCommand: the string at `key` as a raw buffer
/// of at least `min_len` bytes (created, or zero-padded on the right),
/// handed to `f` with whether it was created or grown.
fn with_bits<R>(
    db: &mut Db,
    key: &[u8],
    min_len: usize,
    f: impl FnOnce(&mut Vec<u8>, bool) -> R,
) -> Result<R, WriteError> {
    fn grow(buf: &mut Vec<u8>, min_len: usize) -> Result<bool, WriteError> {
        if buf.len() >= min_len {
            return Ok(false);
        }
        // Only fails with proto-max-bulk-len raised past the machine's
        // memory: refuse rather than abort.
        buf.try_reserve(min_len - buf.len()).map_err(|_| WriteError::NoMemory)?;
        buf.resize(min_len, 0);
        Ok(true)
    }
    if let Some(o) = db.get_mut(key) {
        let buf = o.val.str_mut().ok_or(WriteError::WrongType)?;
        let grown = grow(buf, min_len)?;
        return Ok(f(buf, grown));
    }
    let mut buf = bitops::zeroed(min_len).ok_or(WriteError::NoMemory)?;
    let r = f(&mut buf, true);
    db.set(key, Obj::new(Value::raw(buf)));
    Ok(r)
}

fn write_error(ctx: &mut Ctx, e: WriteError) {
    match e {
        WriteError::WrongType => ctx.wrongtype(),
        WriteError::NoMemory => ctx.error("ERR Insufficient memory to grow the string"),
    }
}

fn setbit(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(offset) = bit_offset(ctx, &args[2], 0) else { return };
    let on = match parse_i64(&args[3]) {
        Some(v) if v & !1 == 0 => v == 1,
        _ => return ctx.error("ERR bit is not an integer or out of range"),
    };
    let byte = (offset >> 3) as usize;
    let mask = 1u8 << (7 - (offset & 7));
    let db = ctx.client.db;
    let res = with_bits(&mut ctx.srv.dbs[db], &args[1], byte + 1, |buf, grown| {
        let old = buf[byte] & mask != 0;
        // Only a real change (or a new/longer string) is a write.
        let changed = grown || old != on;
        if changed {
            buf[byte] = if on { buf[byte] | mask } else { buf[byte] & !mask };
        }
        (old, changed)
    });
    match res {
        Ok((old, changed)) => {
            if changed {
                ctx.dirty(1);
                ctx.notify(class::STRING, "setbit", &args[1]);
            }
            ctx.out().int(old as i64);
        }
        Err(e) => write_error(ctx, e),
    }
}

fn getbit(ctx: &mut Ctx, args: &[Bytes]) {
    let Some(offset) = bit_offset(ctx, &args[2], 0) else { return };
    let mut scratch = [0u8; I64_DIGITS];
    let bit = match read_string(ctx, &args[1], &mut scratch) {
        Err(()) => return ctx.wrongtype(),
        Ok(s) => s.and_then(|s| s.get((offset >> 3) as usize)).is_some_and(|b| b & (1 << (7 - (offset & 7))) != 0),
    };
    ctx.out().int(bit as i64);
}

/// The optional trailing BYTE|BIT unit; None (after a syntax error reply)
/// for anything else.
fn unit_is_bit(ctx: &mut Ctx, arg: Option<&Bytes>) -> Option<bool> {
    match arg {
        None => Some(false),
        Some(a) if keyword(a, "bit") => Some(true),
        Some(a) if keyword(a, "byte") => Some(false),
        Some(_) => {
            ctx.syntax_error();
            None
        }
    }
}

// Redis 7.2 parses BITCOUNT's and BITPOS's arguments before looking the key
// up, so a bad range is an error even on a missing key (7.0 answered 0).

fn bitcount(ctx: &mut Ctx, args: &[Bytes]) {
    let range = match args.len() {
        2 => None,
        4 | 5 => {
            let (Some(start), Some(end)) = (parse_i64(&args[2]), parse_i64(&args[3])) else {
                return ctx.not_integer();
            };
            let Some(isbit) = unit_is_bit(ctx, args.get(4)) else { return };
            Some((start, end, isbit))
        }
        _ => return ctx.syntax_error(),
    };
    let mut scratch = [0u8; I64_DIGITS];
    let s = match read_string(ctx, &args[1], &mut scratch) {
        Err(()) => return ctx.wrongtype(),
        Ok(None) => return ctx.out().int(0),
        Ok(Some(s)) => s,
    };
    let count = match range {
        None => bitops::count_range(s, Range::all(s.len())),
        Some((start, end, _)) if start < 0 && end < 0 && start > end => 0,
        Some((start, end, isbit)) => bitops::count_range(s, Range::new(s.len(), start, end, isbit)),
    };
    ctx.out().int(count as i64);
}

fn bitpos(ctx: &mut Ctx, args: &[Bytes]) {
    let bit = match parse_i64(&args[2]) {
        None => return ctx.not_integer(),
        Some(b @ (0 | 1)) => b == 1,
        Some(_) => return ctx.error("ERR The bit argument must be 1 or 0."),
    };
    // (start, end if given, BIT unit)
    let range = match args.len() {
        3 => None,
        4..=6 => {
            let Some(start) = parse_i64(&args[3]) else { return ctx.not_integer() };
            let Some(isbit) = unit_is_bit(ctx, args.get(5)) else { return };
            let end = match args.get(4) {
                None => None,
                Some(a) => match parse_i64(a) {
                    Some(e) => Some(e),
                    None => return ctx.not_integer(),
                },
            };
            Some((start, end, isbit))
        }
        _ => return ctx.syntax_error(),
    };
    let mut scratch = [0u8; I64_DIGITS];
    let s = match read_string(ctx, &args[1], &mut scratch) {
        Err(()) => return ctx.wrongtype(),
        // A missing key is an infinite run of zeros.
        Ok(None) => return ctx.out().int(if bit { -1 } else { 0 }),
        Ok(Some(s)) => s,
    };
    let pos = match range {
        None => bitops::bitpos_range(s, bit, Range::all(s.len()), false),
        Some((start, end, isbit)) => {
            let len = s.len() as i64;
            let end_or_last = end.unwrap_or(if isbit { (len << 3) + 7 } else { len - 1 });
            bitops::bitpos_range(s, bit, Range::new(s.len(), start, end_or_last, isbit), end.is_some())
        }
    };
    ctx.out().int(pos);
}

fn bitop(ctx: &mut Ctx, args: &[Bytes]) {
    let op = match &args[1] {
        a if keyword(a, "and") => BitOp::And,
        a if keyword(a, "or") => BitOp::Or,
        a if keyword(a, "xor") => BitOp::Xor,
        a if keyword(a, "not") => BitOp::Not,
        _ => return ctx.syntax_error(),
    };
    if op == BitOp::Not && args.len() != 4 {
        return ctx.error("ERR BITOP NOT must be called with a single source key.");
    }
    let db = ctx.client.db;
    let srv = &mut *ctx.srv;
    // Look every source up first, in order, as Redis does (expiring keys,
    // counting hits, failing at the first non-string); then borrow them
    // all at once.
    for key in &args[3..] {
        let found = srv.dbs[db].get(key).map(|o| o.val.is_string());
        if found.is_some() {
            srv.stats.keyspace_hits += 1;
        } else {
            srv.stats.keyspace_misses += 1;
        }
        if found == Some(false) {
            return ctx.wrongtype();
        }
    }
    let d = &mut srv.dbs[db];
    let result = {
        let srcs: Vec<Cow<[u8]>> =
            args[3..].iter().map(|k| d.dict.get(&k[..]).and_then(|o| o.val.as_bytes()).unwrap_or_default()).collect();
        let srcs: Vec<&[u8]> = srcs.iter().map(|s| &s[..]).collect();
        bitops::bitop(op, &srcs)
    };
    let len = result.len();
    let changed = if len > 0 {
        d.set(&args[2], Obj::new(Value::raw(result)));
        true
    } else {
        d.del(&args[2]).is_some()
    };
    if changed {
        ctx.dirty(1);
        let event = if len > 0 { (class::STRING, "set") } else { (class::GENERIC, "del") };
        ctx.notify(event.0, event.1, &args[2]);
    }
    ctx.out().int(len as i64);
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

/// One BITFIELD operation, parsed.
struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    /// SET value or INCRBY increment.
    value: i64,
    overflow: Overflow,
}

/// Redis's getBitfieldTypeFromArgument: `i1`..`i64` or `u1`..`u63`.
fn bitfield_type(ctx: &mut Ctx, arg: &[u8]) -> Option<(bool, u32)> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => {
            ctx.error(BAD_TYPE);
            return None;
        }
    };
    match parse_i64(c_str(&arg[1..])) {
        Some(b) if b >= 1 && b <= if signed { 64 } else { 63 } => Some((signed, b as u32)),
        _ => {
            ctx.error(BAD_TYPE);
            None
        }
    }
}

/// Parses the BITFIELD operations; None after an error reply.
fn parse_fields(ctx: &mut Ctx, args: &[Bytes]) -> Option<Vec<Field>> {
    let mut fields = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let rest = args.len() - j - 1;
        let sub = &args[j];
        let op = if keyword(sub, "get") && rest >= 2 {
            FieldOp::Get
        } else if keyword(sub, "set") && rest >= 3 {
            FieldOp::Set
        } else if keyword(sub, "incrby") && rest >= 3 {
            FieldOp::IncrBy
        } else if keyword(sub, "overflow") && rest >= 1 {
            let kind = &args[j + 1];
            overflow = if keyword(kind, "wrap") {
                Overflow::Wrap
            } else if keyword(kind, "sat") {
                Overflow::Sat
            } else if keyword(kind, "fail") {
                Overflow::Fail
            } else {
                ctx.error("ERR Invalid OVERFLOW type specified");
                return None;
            };
            j += 2;
            continue;
        } else {
            ctx.syntax_error();
            return None;
        };
        let (signed, bits) = bitfield_type(ctx, &args[j + 1])?;
        let offset = bit_offset(ctx, &args[j + 2], bits)?;
        let mut value = 0;
        if op != FieldOp::Get {
            match parse_i64(&args[j + 3]) {
                Some(v) => value = v,
                None => {
                    ctx.not_integer();
                    return None;
                }
            }
        }
        fields.push(Field { op, offset, bits, signed, value, overflow });
        j += if op == FieldOp::Get { 3 } else { 4 };
    }
    Some(fields)
}

fn bitfield(ctx: &mut Ctx, args: &[Bytes]) {
    bitfield_generic(ctx, args, false);
}

fn bitfield_ro(ctx: &mut Ctx, args: &[Bytes]) {
    bitfield_generic(ctx, args, true);
}

fn bitfield_generic(ctx: &mut Ctx, args: &[Bytes], ro_command: bool) {
    let Some(fields) = parse_fields(ctx, args) else { return };
    let writes = fields.iter().filter(|f| f.op != FieldOp::Get);
    let Some(highest) = writes.map(|f| f.offset + f.bits as u64 - 1).max() else {
        // Only GETs: a read, the key may be missing.
        let mut scratch = [0u8; I64_DIGITS];
        let s = match read_string(ctx, &args[1], &mut scratch) {
            Err(()) => return ctx.wrongtype(),
            Ok(s) => s.unwrap_or(&[]),
        };
        let values: Vec<i64> = fields.iter().map(|f| read_field(s, f)).collect();
        let out = ctx.out();
        out.array(values.len());
        values.into_iter().for_each(|v| out.int(v));
        return;
    };
    if ro_command {
        return ctx.error("ERR BITFIELD_RO only supports the GET subcommand");
    }
    let db = ctx.client.db;
    let res = with_bits(&mut ctx.srv.dbs[db], &args[1], (highest >> 3) as usize + 1, |buf, grown| {
        let mut changes = 0u64;
        let replies: Vec<Option<i64>> = fields
            .iter()
            .map(|f| {
                if f.op == FieldOp::Get {
                    return Some(read_field(buf, f));
                }
                let (reply, changed) = write_field(buf, f)?;
                // A new or longer string counts as a change even when the
                // field keeps its value.
                if grown || changed {
                    changes += 1;
                }
                Some(reply)
            })
            .collect();
        (replies, changes)
    });
    match res {
        Ok((replies, changes)) => {
            ctx.dirty(changes);
            if changes > 0 {
                ctx.notify(class::STRING, "setbit", &args[1]);
            }
            let out = ctx.out();
            out.array(replies.len());
            for r in replies {
                match r {
                    Some(v) => out.int(v),
                    None => out.null(),
                }
            }
        }
        Err(e) => write_error(ctx, e),
    }
}

fn read_field(s: &[u8], f: &Field) -> i64 {
    if f.signed {
        bitops::get_signed(s, f.offset, f.bits)
    } else {
        bitops::get_unsigned(s, f.offset, f.bits) as i64
    }
}

/// Runs a SET or INCRBY: Some((reply, whether the field changed)), or None
/// when OVERFLOW FAIL refused it (nothing is written).
fn write_field(buf: &mut [u8], f: &Field) -> Option<(i64, bool)> {
    let fail = f.overflow == Overflow::Fail;
    if f.signed {
        let old = bitops::get_signed(buf, f.offset, f.bits);
        let (incr_base, incr) = if f.op == FieldOp::IncrBy { (old, f.value) } else { (f.value, 0) };
        let (overflow, limit) = bitops::check_signed_overflow(incr_base, incr, f.bits, f.overflow);
        if overflow != 0 && fail {
            return None;
        }
        let new = if overflow != 0 { limit } else { incr_base.wrapping_add(incr) };
        bitops::set_signed(buf, f.offset, f.bits, new);
        let reply = if f.op == FieldOp::IncrBy { new } else { old };
        Some((reply, old != new))
    } else {
        let old = bitops::get_unsigned(buf, f.offset, f.bits);
        let (base, incr) = if f.op == FieldOp::IncrBy { (old, f.value) } else { (f.value as u64, 0) };
        let (overflow, limit) = bitops::check_unsigned_overflow(base, incr, f.bits, f.overflow);
        if overflow != 0 && fail {
            return None;
        }
        let new = if overflow != 0 { limit } else { base.wrapping_add(incr as u64) };
        bitops::set_unsigned(buf, f.offset, f.bits, new);
        let reply = if f.op == FieldOp::IncrBy { new } else { old };
        Some((reply as i64, old != new))
    }
}

#[cfg(test)]
mod tests {
    //! What each command propagates; expected forms are those Redis 7.0.15
    //! wrote to its AOF for the same commands.

    use crate::commands::hyperloglog::tests::propagated;

    #[test]
    fn bit_commands_propagate_only_real_changes() {
        let cmds = [
            "SETBIT b 7 1",
            "SETBIT b 7 1",
            "SETBIT b 7 0",
            // Growing the string is a change even when the bit stays 0.
            "SETBIT b 100 0",
            "SETBIT nb 0 0",
            "BITFIELD b GET u8 0",
            "BITFIELD b SET u8 0 255",
            "BITFIELD b SET u8 0 255",
            "BITFIELD b SET u8 0 255 SET u8 200 0",
            // Creates the key, but no field was written.
            "BITFIELD nf OVERFLOW FAIL INCRBY u8 0 300",
            "BITFIELD b INCRBY u8 0 0",
            "BITOP AND d b",
            "BITOP AND e nokey",
            "BITOP AND d nokey",
            "BITFIELD_RO b GET u8 0",
            "BITFIELD b INCRBY u8 0 1 INCRBY u8 8 1",
            "EXISTS nf",
        ];
        let want: &[&[&str]] = &[
            &["SETBIT b 7 1"],
            &[],
            &["SETBIT b 7 0"],
            &["SETBIT b 100 0"],
            &["SETBIT nb 0 0"],
            &[],
            &["BITFIELD b SET u8 0 255"],
            &[],
            &["BITFIELD b SET u8 0 255 SET u8 200 0"],
            &[],
            &[],
            &["BITOP AND d b"],
            &[],
            &["BITOP AND d nokey"],
            &[],
            &["BITFIELD b INCRBY u8 0 1 INCRBY u8 8 1"],
            &[],
        ];
        let got = propagated(&cmds);
        for (i, (got, want)) in got.iter().zip(want).enumerate() {
            assert_eq!(got, want, "{}", cmds[i]);
        }
    }
}
