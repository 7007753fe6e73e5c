//! What the rdb_load fuzz target checks, shared with tests/persistence.rs,
//! which replays fuzz/seeds/rdb_load/ through it on the stable toolchain:
//! the RDB loader and the DUMP payload reader refuse damaged input with an
//! error, never a panic, and whatever they accept serializes and loads back.

use oxkey::persistence::rdb;

pub fn check(data: &[u8]) {
    let limits = rdb::Limits::default();
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
    }
}
