//! Stream IDs and the stream log (appends, deletes, trims, range reads with
//! any COUNT) on arbitrary input, against a model. The checks are in
//! ../stream_case.rs.

#![no_main]

#[path = "../stream_case.rs"]
mod stream_case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| stream_case::stream_ids_case(data));
