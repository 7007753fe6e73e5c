//! A keyspace key: binary-safe bytes, 16 bytes in place.
//!
//! Most keys are short (`user:1000`, `session:ab12`): up to
//! [`INLINE_MAX`] bytes live inside the key itself, so the keyspace entry
//! holding it is one allocation, as Redis's embedded keys save one. Longer
//! keys point to one exactly sized heap buffer that starts with its length
//! (a thin pointer, where a `Box<[u8]>` would need 16 bytes and a second
//! word in the enum).

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::ptr::NonNull;

/// Longest key stored inline.
pub const INLINE_MAX: usize = 14;

/// Length of an inline key. An enum so that the values 15..=255 are free
/// for the compiler to tell the heap variant apart: `Key` stays 16 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum InlineLen {
    L0,
    L1,
    L2,
    L3,
    L4,
    L5,
    L6,
    L7,
    L8,
    L9,
    L10,
    L11,
    L12,
    L13,
    L14,
}

const LENS: [InlineLen; INLINE_MAX + 1] = {
    use InlineLen::*;
    [L0, L1, L2, L3, L4, L5, L6, L7, L8, L9, L10, L11, L12, L13, L14]
};

pub struct Key(Repr);

enum Repr {
    Inline { len: InlineLen, buf: [u8; INLINE_MAX] },
    Heap(HeapKey),
}

const _: () = assert!(std::mem::size_of::<Key>() == 16);

impl Key {
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, buf } => &buf[..*len as usize],
            Repr::Heap(h) => h.as_slice(),
        }
    }
}

impl Key {
    /// Prefetches a long key's heap buffer (a short one is in place).
    #[inline]
    pub fn prefetch(&self) {
        if let Repr::Heap(h) = &self.0 {
            crate::util::prefetch(h.0.as_ptr());
        }
    }
}

impl From<&[u8]> for Key {
    #[inline]
    fn from(data: &[u8]) -> Key {
        if data.len() <= INLINE_MAX {
            let mut buf = [0u8; INLINE_MAX];
            buf[..data.len()].copy_from_slice(data);
            Key(Repr::Inline { len: LENS[data.len()], buf })
        } else {
            Key(Repr::Heap(HeapKey::new(data)))
        }
    }
}

impl<const N: usize> From<&[u8; N]> for Key {
    fn from(data: &[u8; N]) -> Key {
        Key::from(&data[..])
    }
}

impl From<&bytes::Bytes> for Key {
    fn from(data: &bytes::Bytes) -> Key {
        Key::from(&data[..])
    }
}

impl Deref for Key {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Borrow<[u8]> for Key {
    #[inline]
    fn borrow(&self) -> &[u8] {
        self.as_slice()
    }
}

/// Hashes exactly as the `[u8]` it borrows as, so lookups by slice work.
impl Hash for Key {
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state)
    }
}

impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Key) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Key {}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        self.as_slice().cmp(other.as_slice())
    }
}

impl Clone for Key {
    fn clone(&self) -> Key {
        match &self.0 {
            Repr::Inline { len, buf } => Key(Repr::Inline { len: *len, buf: *buf }),
            Repr::Heap(h) => Key(Repr::Heap(HeapKey::new(h.as_slice()))),
        }
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

/// An owned heap buffer: the length as a native `usize`, then the bytes.
struct HeapKey(NonNull<u8>);

const LEN_SIZE: usize = std::mem::size_of::<usize>();

impl HeapKey {
    fn layout(len: usize) -> std::alloc::Layout {
        // A key is at most proto-max-bulk-len bytes: far from overflowing.
        std::alloc::Layout::from_size_align(LEN_SIZE + len, std::mem::align_of::<usize>())
            .unwrap_or_else(|_| std::alloc::handle_alloc_error(std::alloc::Layout::new::<usize>()))
    }

    fn new(data: &[u8]) -> HeapKey {
        let layout = Self::layout(data.len());
        // SAFETY: the layout has a non-zero size (it holds the length). The
        // writes stay inside the allocation: the length at offset 0 (aligned
        // for usize by the layout), the bytes right after it.
        unsafe {
            let p = std::alloc::alloc(layout);
            let Some(p) = NonNull::new(p) else { std::alloc::handle_alloc_error(layout) };
            p.as_ptr().cast::<usize>().write(data.len());
            std::ptr::copy_nonoverlapping(data.as_ptr(), p.as_ptr().add(LEN_SIZE), data.len());
            HeapKey(p)
        }
    }

    #[inline]
    fn len(&self) -> usize {
        // SAFETY: `new` wrote the length at the start of the allocation.
        unsafe { self.0.as_ptr().cast::<usize>().read() }
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        // SAFETY: `new` copied `len` initialized bytes after the length; the
        // buffer lives as long as `self` and is never written again.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().add(LEN_SIZE), self.len()) }
    }
}

impl Drop for HeapKey {
    fn drop(&mut self) {
        // SAFETY: allocated by `new` with the layout of this same length.
        unsafe { std::alloc::dealloc(self.0.as_ptr(), Self::layout(self.len())) }
    }
}

// SAFETY: a HeapKey uniquely owns its buffer, like a Box<[u8]>.
unsafe impl Send for HeapKey {}
// SAFETY: shared access only reads the immutable buffer.
unsafe impl Sync for HeapKey {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::hash_map::DefaultHasher;

    fn hash_of<T: Hash + ?Sized>(v: &T) -> u64 {
        let mut h = DefaultHasher::new();
        v.hash(&mut h);
        h.finish()
    }

    #[test]
    fn round_trips_every_length_around_the_inline_limit() {
        for n in [0, 1, 13, 14, 15, 16, 100, 5000] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
            let k = Key::from(&data[..]);
            assert_eq!(k.as_slice(), &data[..]);
            assert_eq!(matches!(k.0, Repr::Inline { .. }), n <= INLINE_MAX);
            let c = k.clone();
            assert_eq!(c, k);
            assert_eq!(hash_of(&k), hash_of(&data[..]), "hashes as the slice it borrows as");
        }
    }

    #[test]
    fn orders_and_compares_as_bytes() {
        let a = Key::from(&b"abc"[..]);
        let b = Key::from(&b"abcdefghijklmnopqrstuvwxyz"[..]);
        assert!(a < b);
        assert_ne!(a, b);
        assert_eq!(Key::from(&b"abcdefghijklmnopqrstuvwxyz"[..]), b);
    }
}
