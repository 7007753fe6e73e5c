//! oxkey: a Redis/Valkey-compatible in-memory data structure server.

pub mod alloc;
pub mod commands;
pub mod config;
pub mod db;
pub mod executor;
pub mod persistence;
pub mod protocol;
pub mod scripting;
pub mod server;
pub mod types;
pub mod util;

/// oxkey's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Redis version whose behaviour oxkey implements, as INFO reports it.
pub const REDIS_COMPAT_VERSION: &str = "7.2.4";
/// The Valkey version clients may test for, as INFO reports it.
pub const VALKEY_COMPAT_VERSION: &str = "8.0.1";
