//! Pure data structures, with no knowledge of the protocol.

pub mod bitops;
pub mod dict;
pub mod geohash;
pub mod hash;
pub mod hyperloglog;
pub mod intset;
pub mod list;
pub mod listpack;
pub mod longdouble;
pub mod set;
pub mod skiplist;
pub mod stream;
pub mod zset;
