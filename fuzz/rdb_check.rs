//! What the rdb_load fuzz target checks, shared with tests/persistence.rs,
//! which replays fuzz/seeds/rdb_load/ through it on the stable toolchain:
//! the RDB loader and the DUMP payload reader refuse damaged input with an
//! error, never a panic, and whatever they accept serializes and loads back.
//! A stream that loads is also read, edited and grown the way its commands
//! do (ranges both ways, every field, group reads, XDEL, XTRIM, XADD), so
//! that a node the loader let through cannot make them panic.

use oxkey::db::Value;
use oxkey::persistence::rdb;
use oxkey::types::stream::{NewId, NodeLimits, Stream, StreamId, Trim};

pub fn check(data: &[u8]) {
    let limits = oxkey::types::EncodingLimits::default();
    let opts = rdb::LoadOptions { limits, verify_checksum: false, databases: 16, drop_expired_at: None };
    let save = rdb::SaveOptions { version: rdb::RDB_VERSION, compress: true, access: rdb::AccessInfo::None };
    let mut values = Vec::new();
    let _ = rdb::load(data, &opts, |k| {
        values.push(k.obj.val);
        Ok(())
    });
    // The same bytes as a DUMP payload (the CRC is not checked here, so the
    // fuzzer reaches the value decoder).
    if data.len() >= 10 {
        if let Ok(v) = rdb::restore_payload(data, &limits) {
            values.push(v);
        }
    }
    for v in values {
        let p = rdb::dump_payload(&v, &save);
        assert!(rdb::verify_dump_payload(&p));
        let back = rdb::restore_payload(&p, &limits);
        assert!(back.is_ok(), "a value oxkey wrote does not load back: {:?}", back.err());
        if let Value::Stream(mut s) = v {
            exercise(&mut s);
        }
    }
}

fn exercise(s: &mut Stream) {
    let e = &s.entries;
    let forward: Vec<StreamId> = e.range(StreamId::MIN, StreamId::MAX, false).map(|x| x.id).collect();
    let backward: Vec<StreamId> = e.range(StreamId::MIN, StreamId::MAX, true).map(|x| x.id).collect();
    assert_eq!(forward.len() as u64, e.length, "the live entries are the stream's length");
    assert!(forward.iter().rev().eq(backward.iter()), "both directions see the same entries");
    for x in e.range(StreamId::MIN, StreamId::MAX, false) {
        for (f, v) in x.fields() {
            let _ = (f.bytes(&mut [0; 20]).len(), v.bytes(&mut [0; 20]).len());
        }
    }
    let _ = (e.edge_id(true, false), e.last_valid_id(), e.radix_tree_nodes(), e.allocated());
    for g in s.groups.values() {
        let _ = e.lag(g);
        for c in g.consumers() {
            for id in &c.pel {
                assert!(g.pel.get(id).is_some_and(|n| g.name_of(n.consumer) == &c.name[..]));
            }
        }
    }
    let names: Vec<Box<[u8]>> = s.groups.keys().cloned().collect();
    for name in names {
        let Stream { entries, groups } = &mut *s;
        let Some(g) = groups.get_mut(&name) else { continue };
        let (reader, _) = g.find_or_create(b"fuzz-reader", 1);
        if let Some(start) = g.last_id.next() {
            g.deliver_new(entries, reader, start, 3, false, 2, |_, _, _| {});
        }
        g.deliver_history(entries, reader, StreamId::MIN, 0, 3, |_, _| {});
        g.autoclaim(entries, reader, StreamId::MIN, 5, 0, 4, false);
    }
    let e = &mut s.entries;
    let every_other: Vec<StreamId> = forward.iter().step_by(2).copied().collect();
    e.delete(&every_other);
    e.trim(Trim::MaxLen(e.length / 2), true, 0);
    e.trim(Trim::MaxLen(e.length / 2), false, 0);
    let pairs: [&[u8]; 2] = [b"field", b"value"];
    let _ = e.append(&pairs, NewId::Auto, 1, NodeLimits::default());
    let after: Vec<StreamId> = e.range(StreamId::MIN, StreamId::MAX, false).map(|x| x.id).collect();
    assert_eq!(after.len() as u64, e.length);
}
