//! The process's global allocator: the system allocator, counting what it
//! holds for us, as Redis's zmalloc counts `used_memory`.
//!
//! Eviction compares this figure with `maxmemory` before every command, so
//! it must be exact and cost next to nothing: glibc's `mallinfo2` walks
//! every arena and is only fit for INFO, and even one locked add per
//! allocation showed in SET/GET throughput. So each thread counts in its
//! own cache line with plain loads and stores (one writer per counter),
//! and the figure is their sum. Each block is counted as the chunk glibc
//! carves for it (the request plus its 8-byte header, rounded up to 16, at
//! least 32 bytes), which is what the heap grows by; that keeps
//! `used_memory` close to the RSS on small keys, where headers and
//! rounding are a large part of each allocation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, AtomicU64, AtomicUsize, Ordering::Relaxed};

pub struct Counting;

/// Unit tests count too, so that memory figures are exercised.
#[cfg(test)]
#[global_allocator]
static TEST_ALLOCATOR: Counting = Counting;

/// A thread's counter, alone in its cache line.
#[repr(align(64))]
struct Counter(AtomicIsize);

/// Threads beyond this many share one locked counter.
const COUNTERS: usize = 64;
static PER_THREAD: [Counter; COUNTERS] = [const { Counter(AtomicIsize::new(0)) }; COUNTERS];
static SHARED: AtomicIsize = AtomicIsize::new(0);
/// Counters handed out so far (may pass COUNTERS).
static HANDED_OUT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    // Constant-initialized and without a destructor: reading it never
    // allocates and works until the thread is gone.
    static MY_COUNTER: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// `used()` when the server finished starting (INFO used_memory_startup).
static STARTUP: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicU64 = AtomicU64::new(0);

#[inline]
fn count(delta: isize) {
    let i = MY_COUNTER.with(|c| {
        let mut i = c.get();
        if i == usize::MAX {
            i = HANDED_OUT.fetch_add(1, Relaxed);
            c.set(i);
        }
        i
    });
    match PER_THREAD.get(i) {
        // Only this thread writes it: no locked instruction needed.
        Some(Counter(n)) => n.store(n.load(Relaxed) + delta, Relaxed),
        None => {
            SHARED.fetch_add(delta, Relaxed);
        }
    }
}

/// Bytes glibc's heap spends on a block of `size` bytes aligned to
/// `align`: Redis's `zmalloc_size` counterpart for this allocator.
#[inline]
pub const fn chunk_size(size: usize, align: usize) -> usize {
    // request2size: header word, 16-byte granularity, 32-byte minimum.
    let chunk = (size + 8 + 15) & !15;
    let chunk = if chunk < 32 { 32 } else { chunk };
    // Over-aligned blocks may waste up to the alignment in front.
    if align > 16 {
        chunk + align
    } else {
        chunk
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// counters are bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            count(chunk_size(layout.size(), layout.align()) as isize);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            count(chunk_size(layout.size(), layout.align()) as isize);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        count(-(chunk_size(layout.size(), layout.align()) as isize));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            count(chunk_size(new_size, layout.align()) as isize - chunk_size(layout.size(), layout.align()) as isize);
        }
        p
    }
}

/// Bytes allocated right now (Redis's `zmalloc_used_memory`).
#[inline]
pub fn used() -> usize {
    let threads = HANDED_OUT.load(Relaxed).min(COUNTERS);
    let sum: isize = PER_THREAD[..threads].iter().map(|c| c.0.load(Relaxed)).sum::<isize>() + SHARED.load(Relaxed);
    // Blocks freed by another thread than the one that allocated them
    // make single counters negative, never the sum.
    sum.max(0) as usize
}

/// Records the memory of the server once started, before any data.
pub fn mark_startup() {
    STARTUP.store(used(), Relaxed);
}

pub fn startup() -> usize {
    STARTUP.load(Relaxed)
}

/// The highest `used()` sampled so far, after sampling it now (Redis
/// samples its peak in the cron and when INFO or MEMORY read it).
pub fn peak() -> u64 {
    let now = used() as u64;
    PEAK.fetch_max(now, Relaxed).max(now)
}

/// Resident set size of the process, from /proc/self/statm.
pub fn rss() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        .unwrap_or(0);
    pages * page_size()
}

fn page_size() -> u64 {
    extern "C" {
        fn sysconf(name: i32) -> i64;
    }
    const SC_PAGESIZE: i32 = 30;
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { sysconf(SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

/// Gives free heap memory back to the system (MEMORY PURGE), with glibc's
/// `malloc_trim`, looked up at run time so another libc simply skips it.
pub fn purge() {
    extern "C" {
        fn dlsym(handle: *mut std::ffi::c_void, symbol: *const std::ffi::c_char) -> *mut std::ffi::c_void;
    }
    // SAFETY: dlsym with RTLD_DEFAULT (null) and a NUL-terminated name only
    // looks a symbol up; a non-null "malloc_trim" is glibc's
    // `int malloc_trim(size_t pad)`.
    unsafe {
        let sym = dlsym(std::ptr::null_mut(), c"malloc_trim".as_ptr());
        if !sym.is_null() {
            let trim: unsafe extern "C" fn(usize) -> i32 = std::mem::transmute(sym);
            trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_as_glibc_carves_them() {
        assert_eq!(chunk_size(0, 1), 32);
        assert_eq!(chunk_size(24, 8), 32);
        assert_eq!(chunk_size(25, 8), 48);
        assert_eq!(chunk_size(40, 8), 48);
        assert_eq!(chunk_size(100, 1), 112);
        assert_eq!(chunk_size(64, 64), 144);
    }
}
