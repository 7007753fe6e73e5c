//! Pure data structures, with no knowledge of the protocol.

pub mod dict;
pub mod listpack;
pub mod intset;
pub mod skiplist;
