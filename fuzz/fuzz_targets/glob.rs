//! glob_match on arbitrary patterns and strings, against Redis's stringmatchlen.
//! The checks are in ../harness.rs.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::glob_case(data));
