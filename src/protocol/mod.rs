//! RESP2/RESP3 and inline request decoding, and reply encoding.

pub mod decode;
pub mod reply;

pub use decode::{DecodeError, Decoder, Limits};
pub use reply::Out;
