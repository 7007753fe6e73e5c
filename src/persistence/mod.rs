//! Persistence in Redis's own formats: RDB snapshots, AOF, DUMP/RESTORE.

pub mod crc64;
pub mod lzf;
pub mod rdb;
