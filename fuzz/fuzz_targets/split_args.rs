//! The inline-command splitter on arbitrary lines, against Redis's sdssplitargs.
//! The checks are in ../harness.rs.

#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::split_args_case(data));
