//! The RESP / inline request decoder on arbitrary bytes, split at arbitrary points, with random limits.
//! The checks are in ../harness.rs.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::decoder_case(data));
