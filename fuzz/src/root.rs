//! The fuzz crate's root: the oracles of `lib.rs` (a plain module, so that
//! `codec/tests/fuzz_corpus_replay.rs` can include the same file) and the
//! allocation limit every target runs under.
//!
//! libFuzzer's `-malloc_limit_mb` works through a sanitizer's malloc hooks,
//! so a build without AddressSanitizer (`fuzz/run`'s default, for
//! throughput) would lose the "no oversized allocation" oracle. The global
//! allocator below keeps it in every build: one allocation over
//! `FUZZ_MALLOC_LIMIT_MB` (default 256 MiB, the same limit `fuzz/run` gives
//! libFuzzer) aborts, which libFuzzer reports as a crash with its input.

#[path = "lib.rs"]
mod oracles;
pub use oracles::*;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, refusing single allocations over the limit.
struct Limited;

/// The limit in bytes; 0 until read from the environment.
static LIMIT: AtomicUsize = AtomicUsize::new(0);

const DEFAULT_LIMIT_MB: usize = 256;

fn limit() -> usize {
    let known = LIMIT.load(Ordering::Relaxed);
    if known != 0 {
        return known;
    }
    // Reading the environment allocates: the limit is the default until it
    // is known, which a first allocation of that size cannot reach anyway.
    LIMIT.store(DEFAULT_LIMIT_MB << 20, Ordering::Relaxed);
    let mb = std::env::var("FUZZ_MALLOC_LIMIT_MB")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&mb| mb > 0)
        .unwrap_or(DEFAULT_LIMIT_MB);
    LIMIT.store(mb << 20, Ordering::Relaxed);
    mb << 20
}

fn check(size: usize) {
    if size > limit() {
        // Standard error is unbuffered: this write allocates nothing.
        let msg = b"==siospec-fuzz== allocation over FUZZ_MALLOC_LIMIT_MB: aborting\n";
        let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), msg);
        std::process::abort();
    }
}

// SAFETY: every call forwards to the system allocator unchanged, after a
// size check that allocates nothing (`limit` only allocates while LIMIT is
// still 0, and then for its own small strings, which pass the check).
unsafe impl GlobalAlloc for Limited {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: the caller's layout contract is passed on as is.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        check(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        check(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Limited = Limited;
