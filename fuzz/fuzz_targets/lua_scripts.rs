//! Random scripts in the Lua sandbox (EVAL_RO on an in-process server):
//! the input as script text, or library calls built from it. The checks
//! are in ../lua_case.rs.

#![no_main]

#[path = "../lua_case.rs"]
mod lua_case;

libfuzzer_sys::fuzz_target!(|data: &[u8]| lua_case::lua_scripts_case(data));
