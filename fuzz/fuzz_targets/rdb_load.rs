//! The RDB loader and the DUMP payload reader on arbitrary bytes. The
//! checks are in ../rdb_check.rs.

#![no_main]

#[path = "../rdb_check.rs"]
mod rdb_check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| rdb_check::check(data));
