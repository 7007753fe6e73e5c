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

/// The thresholds of the compact encodings, as the `*-max-listpack-*`,
/// `set-max-intset-entries` and `list-max-listpack-size` parameters set
/// them (the config keeps them typed: every write to a small collection
/// reads them).
#[derive(Clone, Copy, Debug)]
pub struct EncodingLimits {
    pub hash: hash::PackLimits,
    pub set: set::SetLimits,
    pub zset: hash::PackLimits,
    pub list_fill: list::Fill,
}

/// Redis's defaults.
impl Default for EncodingLimits {
    fn default() -> Self {
        EncodingLimits {
            hash: hash::PackLimits { entries: 512, value: 64 },
            set: set::SetLimits { intset_entries: 512, pack: hash::PackLimits { entries: 128, value: 64 } },
            zset: hash::PackLimits { entries: 128, value: 64 },
            list_fill: list::Fill(-2),
        }
    }
}
