//! The dataset as commands: the base file of `aof-use-rdb-preamble no`
//! (Redis's rewriteAppendOnlyFileRio), and the RESP encoding every AOF
//! record uses.

use crate::db::{Obj, Value};
use crate::types::listpack::Entry;
use crate::types::stream::{Stream, StreamId};

/// Items per command when a collection is written, as Redis's
/// AOF_REWRITE_ITEMS_PER_CMD.
const ITEMS_PER_CMD: usize = 64;

/// `*<n>\r\n` or `$<n>\r\n`.
pub fn write_count(out: &mut Vec<u8>, prefix: u8, n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.push(prefix);
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

pub fn write_bulk(out: &mut Vec<u8>, s: &[u8]) {
    write_count(out, b'$', s.len());
    out.extend_from_slice(s);
    out.extend_from_slice(b"\r\n");
}

fn write_entry(out: &mut Vec<u8>, e: Entry<'_>) {
    match e {
        Entry::Int(i) => write_bulk(out, &crate::util::i64_to_bytes(i)),
        Entry::Str(s) => write_bulk(out, s),
    }
}

/// A command as a RESP array of bulk strings (catAppendOnlyGenericCommand).
pub fn write_command<A: AsRef<[u8]>>(out: &mut Vec<u8>, argv: &[A]) {
    write_count(out, b'*', argv.len());
    for a in argv {
        write_bulk(out, a.as_ref());
    }
}

pub fn write_select(out: &mut Vec<u8>, db: usize) {
    write_command(out, &[b"SELECT".as_slice(), db.to_string().as_bytes()]);
}

/// Writes `items` as commands `name key item...`, at most ITEMS_PER_CMD
/// items (of `width` arguments each) per command.
fn write_batched<T>(
    out: &mut Vec<u8>,
    name: &[u8],
    key: &[u8],
    total: usize,
    width: usize,
    items: impl Iterator<Item = T>,
    mut put: impl FnMut(&mut Vec<u8>, T),
) {
    let mut left = total;
    let mut in_cmd = 0;
    for item in items {
        if in_cmd == 0 {
            let n = left.min(ITEMS_PER_CMD);
            write_count(out, b'*', 2 + n * width);
            write_bulk(out, name);
            write_bulk(out, key);
        }
        put(out, item);
        in_cmd += 1;
        left = left.saturating_sub(1);
        if in_cmd == ITEMS_PER_CMD || left == 0 {
            in_cmd = 0;
        }
    }
}

/// The commands that rebuild one key, then its expire (PEXPIREAT).
pub fn write_key(out: &mut Vec<u8>, key: &[u8], obj: &Obj, expire_at: i64) {
    match &obj.val {
        Value::Int(i) => write_command(out, &[b"SET".as_slice(), key, &crate::util::i64_to_bytes(*i)]),
        Value::Str(s) => write_command(out, &[b"SET".as_slice(), key, s.as_slice()]),
        Value::List(l) => write_batched(out, b"RPUSH", key, l.len(), 1, l.iter(), write_entry),
        Value::Set(s) => write_batched(out, b"SADD", key, s.len(), 1, s.iter(), write_entry),
        Value::ZSet(z) => write_batched(out, b"ZADD", key, z.len(), 2, z.iter(), |out, (m, score)| {
            write_bulk(out, crate::util::d2string(score).as_bytes());
            write_bulk(out, &m);
        }),
        Value::Hash(h) => write_batched(out, b"HMSET", key, h.len(), 2, h.iter(), |out, (f, v)| {
            write_entry(out, f);
            write_entry(out, v);
        }),
        Value::Stream(s) => write_stream(out, key, s),
    }
    if expire_at != 0 {
        write_command(out, &[b"PEXPIREAT".as_slice(), key, expire_at.to_string().as_bytes()]);
    }
}

/// A stream as Redis's rewriteStreamObject writes it: its entries (XADD),
/// its counters (XSETID), each group (XGROUP CREATE) with its consumers
/// (XGROUP CREATECONSUMER) and their pending entries (XCLAIM ... FORCE).
fn write_stream(out: &mut Vec<u8>, key: &[u8], s: &Stream) {
    let e = &s.entries;
    let id = |i: StreamId| i.to_vec();
    let mut num = [0u8; 20];
    let mut empty = true;
    for entry in e.range(StreamId::MIN, StreamId::MAX, false) {
        empty = false;
        write_count(out, b'*', 3 + 2 * entry.len);
        write_bulk(out, b"XADD");
        write_bulk(out, key);
        write_bulk(out, &id(entry.id));
        for (f, v) in entry.fields() {
            write_bulk(out, f.bytes(&mut num));
            write_bulk(out, v.bytes(&mut num));
        }
    }
    if empty {
        // An empty stream: added and trimmed away at once.
        let last = id(e.last_id);
        write_command(out, &[b"XADD".as_slice(), key, b"MAXLEN", b"0", &last, b"x", b"y"]);
    }
    write_command(
        out,
        &[
            b"XSETID".as_slice(),
            key,
            &id(e.last_id),
            b"ENTRIESADDED",
            e.entries_added.to_string().as_bytes(),
            b"MAXDELETEDID",
            &id(e.max_deleted_entry_id),
        ],
    );
    for (name, g) in &s.groups {
        write_command(
            out,
            &[
                b"XGROUP".as_slice(),
                b"CREATE",
                key,
                name,
                &id(g.last_id),
                b"ENTRIESREAD",
                g.entries_read.to_string().as_bytes(),
            ],
        );
        for c in g.consumers() {
            write_command(out, &[b"XGROUP".as_slice(), b"CREATECONSUMER", key, name, &c.name]);
            for pending in &c.pel {
                let Some(nack) = g.pel.get(pending) else { continue };
                write_command(
                    out,
                    &[
                        b"XCLAIM".as_slice(),
                        key,
                        name,
                        &c.name,
                        b"0",
                        &id(*pending),
                        b"TIME",
                        nack.delivery_time.to_string().as_bytes(),
                        b"RETRYCOUNT",
                        nack.delivery_count.to_string().as_bytes(),
                        b"JUSTID",
                        b"FORCE",
                    ],
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_resp_arrays() {
        let mut out = Vec::new();
        write_command(&mut out, &[b"SET".as_slice(), b"k", b""]);
        write_select(&mut out, 12);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*2\r\n$6\r\nSELECT\r\n$2\r\n12\r\n");
    }

    #[test]
    fn collections_are_split_every_64_items() {
        let mut out = Vec::new();
        let items: Vec<i64> = (0..130).collect();
        write_batched(&mut out, b"RPUSH", b"l", items.len(), 1, items.iter(), |o, i| {
            write_bulk(o, i.to_string().as_bytes())
        });
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(text.matches("RPUSH").count(), 3);
        assert!(text.starts_with("*66\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\n0\r\n"));
        assert!(text.contains("*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$3\r\n128\r\n$3\r\n129\r\n"));
    }
}
