//! The fuzz binary's global allocator: the system allocator, counting on each
//! thread the bytes allocated since its last `reset` and the peak of that count.
//! A decoder that sizes a buffer from a length field it has not checked shows up
//! here even when the operating system would hand out the (untouched) memory;
//! so does one that keeps many buffers alive. This module is the crate's only
//! unsafe code.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct CountingAllocator;

thread_local! {
    /// Bytes allocated minus bytes freed on this thread since `reset` (freeing
    /// older memory takes it below zero).
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn note(grown: isize) {
    // `try_with`: allocations during thread teardown are not counted.
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(grown);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn size(bytes: usize) -> isize {
    isize::try_from(bytes).unwrap_or(isize::MAX)
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counting touches only thread-local `Cell`s.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(size(layout.size()));
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(size(layout.size()));
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-size(layout.size()));
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(size(new_size).saturating_sub(size(layout.size())));
        // SAFETY: `ptr` came from `System` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Starts counting afresh on this thread.
pub fn reset() {
    let _ = LIVE.try_with(|live| live.set(0));
    let _ = PEAK.try_with(|peak| peak.set(0));
}

/// The most bytes this thread held at once since `reset`, beyond what it held then.
pub fn peak() -> usize {
    PEAK.try_with(Cell::get).map_or(0, |p| usize::try_from(p).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_counts_what_is_held_at_once() {
        reset();
        let a = std::hint::black_box(vec![0u8; 1000]);
        let b = std::hint::black_box(vec![0u8; 3000]);
        drop(a);
        let c = std::hint::black_box(vec![0u8; 500]);
        let p = peak();
        assert!((4000..5000).contains(&p), "peak {p}");
        drop((b, c));
        reset();
        assert_eq!(peak(), 0);
    }
}
