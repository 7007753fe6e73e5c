//! The process's global allocator: jemalloc (as Redis links it), counting
//! what it holds for us, as Redis's zmalloc counts `used_memory`.
//!
//! Eviction compares this figure with `maxmemory` before every command, so
//! it must be exact and cost next to nothing: glibc's `mallinfo2` walks
//! every arena and is only fit for INFO, and even one locked add per
//! allocation showed in SET/GET throughput. So each thread counts in its
//! own cache line with plain loads and stores (one writer per counter),
//! and the figure is their sum. Each block is counted as the size class
//! jemalloc serves it from (what `zmalloc_size` reports in Redis), which
//! is what the heap grows by: rounding is a large part of small
//! allocations.

use std::alloc::{GlobalAlloc, Layout};
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

/// The allocator everything goes to.
static INNER: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Bytes jemalloc spends on a block of `size` bytes aligned to `align`:
/// its size class, as `nallocx` would say. jemalloc is built with Redis's
/// 8-byte quantum (.cargo/config.toml): steps of 8 up to 64, of 16 up to
/// 128, then four classes per doubling (160, 192, 224, 256, 320...).
#[inline]
pub const fn chunk_size(size: usize, align: usize) -> usize {
    let size = if size < align { align } else { size };
    let class = if size <= 8 {
        8
    } else if size <= 64 {
        (size + 7) & !7
    } else if size <= 128 {
        (size + 15) & !15
    } else {
        let lg = usize::BITS - 1 - (size - 1).leading_zeros();
        let step = 1usize << (lg - 2);
        (size + step - 1) & !(step - 1)
    };
    // Aligned blocks come from a class that is a multiple of the alignment.
    (class + align - 1) & !(align - 1)
}

/// A block's size as handed to jemalloc: rounded up to its alignment.
/// With the 8-byte quantum jemalloc serves blocks of 24, 40 and 56 bytes
/// 8-aligned, while tikv-jemallocator asks plain malloc for any block
/// aligned to 16 bytes or less; the classes of multiples of 16 are all
/// aligned to 16. (Rounding to 8 changes no class: all are multiples of 8.)
#[inline]
fn padded(size: usize, align: usize) -> usize {
    (size + align - 1) & !(align - 1)
}

// SAFETY: every call is forwarded to jemalloc with its size rounded up to
// its alignment (`padded`, which `Layout::pad_to_align` also computes), the
// same way each time, so a block is freed with the layout it was made
// with; the counters are bookkeeping only.
unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let layout = layout.pad_to_align();
        let p = INNER.alloc(layout);
        if !p.is_null() {
            count(chunk_size(layout.size(), layout.align()) as isize);
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let layout = layout.pad_to_align();
        let p = INNER.alloc_zeroed(layout);
        if !p.is_null() {
            count(chunk_size(layout.size(), layout.align()) as isize);
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let layout = layout.pad_to_align();
        INNER.dealloc(ptr, layout);
        count(-(chunk_size(layout.size(), layout.align()) as isize));
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let layout = layout.pad_to_align();
        let new_size = padded(new_size, layout.align());
        let p = INNER.realloc(ptr, layout, new_size);
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
    // SAFETY: sysconf only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as u64
    } else {
        4096
    }
}

/// Zeroed pages straight from the system, for big arrays whose memory
/// must go back the moment they are dropped: the allocator would keep a
/// freed block's pages dirty for its decay time, and would clear a reused
/// one up front, where fresh pages are zero and are faulted in only as
/// they are touched. `None` when the system refuses. Counted in `used()`.
pub fn map_zeroed(bytes: usize) -> Option<std::ptr::NonNull<u8>> {
    // SAFETY: an anonymous private mapping touches no existing memory.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return None;
    }
    count(mapped_size(bytes) as isize);
    std::ptr::NonNull::new(p.cast())
}

/// Returns pages from [`map_zeroed`] to the system.
///
/// # Safety
/// `ptr` and `bytes` are those of one `map_zeroed` call, and nothing uses
/// the pages any more.
pub unsafe fn unmap(ptr: std::ptr::NonNull<u8>, bytes: usize) {
    // SAFETY: the caller hands back a whole mapping it no longer uses.
    unsafe { libc::munmap(ptr.as_ptr().cast(), bytes) };
    count(-(mapped_size(bytes) as isize));
}

fn mapped_size(bytes: usize) -> usize {
    let page = page_size() as usize;
    bytes.div_ceil(page) * page
}

// jemalloc's control interface, from the library tikv-jemallocator links
// (its symbols carry the `_rjem_` prefix).
extern "C" {
    #[link_name = "_rjem_mallctl"]
    fn mallctl(
        name: *const std::ffi::c_char,
        oldp: *mut std::ffi::c_void,
        oldlenp: *mut usize,
        newp: *mut std::ffi::c_void,
        newlen: usize,
    ) -> i32;
    #[link_name = "_rjem_malloc_stats_print"]
    fn malloc_stats_print(
        write: Option<unsafe extern "C" fn(*mut std::ffi::c_void, *const std::ffi::c_char)>,
        opaque: *mut std::ffi::c_void,
        opts: *const std::ffi::c_char,
    );
}

/// Releases the dirty pages of every arena to the system (MEMORY PURGE),
/// as Redis's `jemalloc_purge`.
pub fn purge() {
    // SAFETY: a write-less, read-less control call on a NUL-terminated
    // name ("arena.<MALLCTL_ARENAS_ALL>.purge").
    unsafe {
        mallctl(c"arena.4096.purge".as_ptr(), std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut(), 0);
    }
}

/// `jemalloc-bg-thread`: jemalloc's own thread returns freed pages to the
/// system after its decay time (without it they wait for the next
/// allocation activity in their arena), as Redis turns it on by default.
pub fn set_background_thread(on: bool) {
    let mut value = on;
    // SAFETY: writes a bool, whose size is passed, to a NUL-terminated name.
    unsafe {
        mallctl(
            c"background_thread".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            (&mut value as *mut bool).cast(),
            std::mem::size_of::<bool>(),
        );
    }
}

/// jemalloc's allocated, active and resident bytes (INFO allocator_*);
/// zeros when it was built without statistics.
pub fn allocator_stats() -> (u64, u64, u64) {
    // SAFETY: writing the epoch (a u64) refreshes the statistics; each
    // statistic is read into a usize, whose size is passed along.
    unsafe {
        let mut epoch: u64 = 1;
        mallctl(
            c"epoch".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            (&mut epoch as *mut u64).cast(),
            std::mem::size_of::<u64>(),
        );
        let read = |name: &std::ffi::CStr| {
            let mut v: usize = 0;
            let mut len = std::mem::size_of::<usize>();
            let rc = mallctl(name.as_ptr(), (&mut v as *mut usize).cast(), &mut len, std::ptr::null_mut(), 0);
            if rc == 0 {
                v as u64
            } else {
                0
            }
        };
        (read(c"stats.allocated"), read(c"stats.active"), read(c"stats.resident"))
    }
}

/// jemalloc's statistics report (MEMORY MALLOC-STATS).
pub fn malloc_stats() -> String {
    unsafe extern "C" fn append(out: *mut std::ffi::c_void, text: *const std::ffi::c_char) {
        // SAFETY: `out` is the String passed below, `text` a C string.
        unsafe {
            let out = &mut *out.cast::<String>();
            out.push_str(&std::ffi::CStr::from_ptr(text).to_string_lossy());
        }
    }
    let mut out = String::new();
    // SAFETY: the callback only appends to `out`, which outlives the call.
    unsafe { malloc_stats_print(Some(append), (&mut out as *mut String).cast(), std::ptr::null()) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_as_jemalloc_has_them() {
        for (size, class) in [
            (1, 8),
            (8, 8),
            (9, 16),
            (17, 24),
            (40, 40),
            (57, 64),
            (65, 80),
            (100, 112),
            (128, 128),
            (129, 160),
            (200, 224),
        ] {
            assert_eq!(chunk_size(size, 1), class, "{size}");
        }
        for (size, class) in [(256, 256), (257, 320), (1000, 1024), (1025, 1280), (5000, 5120), (100_000, 114_688)] {
            assert_eq!(chunk_size(size, 8), class, "{size}");
        }
        assert_eq!(chunk_size(64, 64), 64);
        assert_eq!(chunk_size(65, 64), 128);
        // What jemalloc itself reports for a block.
        for size in [1, 17, 41, 56, 100, 333, 4000, 70_000] {
            let layout = Layout::from_size_align(size, 8).expect("layout");
            // SAFETY: a fresh block of that layout, freed right after.
            unsafe {
                let p = INNER.alloc(layout);
                assert_eq!(tikv_jemallocator::usable_size(p), chunk_size(size, 8), "{size}");
                INNER.dealloc(p, layout);
            }
        }
    }
}
