//! Pure data structures, with no knowledge of the protocol.

pub mod bitops;
pub mod dict;
pub mod geohash;
pub mod hyperloglog;
pub mod listpack;
pub mod intset;
pub mod skiplist;
pub mod hash;
pub mod set;
pub mod zset;
pub mod list;
pub mod longdouble;
pub mod stream;
