//! The server's allocator: mimalloc, called the way its C API is fastest.
//!
//! A request allocates and frees many small values (the parsed document, rows, the response
//! tree), and a quarter of the server's CPU went to glibc's allocator under load; mimalloc cut
//! the server's CPU per request by 15-20% in `bench/run`. The `mimalloc` crate's allocator asks
//! for every block with `mi_malloc_aligned`, whose fast path only serves sizes that are powers
//! of two; a 24- or 40-byte block took the over-allocating path, about 80 instructions where
//! `mi_malloc` takes 20. `mi_malloc` returns blocks aligned to at least a machine word, so only
//! stricter alignments go to the aligned calls.
//!
//! Built without transparent huge pages (`no_thp`): with them, peak memory under load went from
//! 45 to 69 MiB for no measurable gain.

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};

/// The alignment every block `mi_malloc` returns has: mimalloc's blocks are whole machine
/// words, in pages aligned far beyond that.
const WORD: usize = std::mem::size_of::<usize>();

pub struct MiMalloc;

// SAFETY: each call forwards to the mimalloc function of the same contract, with the layout's
// alignment passed on whenever it is stricter than what `mi_malloc` guarantees.
unsafe impl GlobalAlloc for MiMalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= WORD {
                mi_malloc(layout.size()).cast()
            } else {
                mi_malloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe {
            if layout.align() <= WORD {
                mi_zalloc(layout.size()).cast()
            } else {
                mi_zalloc_aligned(layout.size(), layout.align()).cast()
            }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe {
            if layout.align() <= WORD {
                mi_realloc(ptr.cast::<c_void>(), new_size).cast()
            } else {
                mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size up to a few pages, at every alignment up to a page, comes back aligned,
    /// zeroed when asked, and keeps its bytes through a reallocation.
    #[test]
    fn blocks_are_aligned_as_asked() {
        let allocator = MiMalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in (1..=256).chain([1000, 4095, 4096, 5000, 70_000]) {
                let layout = Layout::from_size_align(size, align).expect("a layout");
                unsafe {
                    let block = allocator.alloc_zeroed(layout);
                    assert!(!block.is_null());
                    assert_eq!(block as usize % align, 0, "size {size}, align {align}");
                    assert!(std::slice::from_raw_parts(block, size)
                        .iter()
                        .all(|b| *b == 0));
                    block.write_bytes(0xab, size);
                    let grown = allocator.realloc(block, layout, size * 2);
                    assert_eq!(grown as usize % align, 0, "realloc {size}, align {align}");
                    assert!(std::slice::from_raw_parts(grown, size)
                        .iter()
                        .all(|b| *b == 0xab));
                    allocator.dealloc(
                        grown,
                        Layout::from_size_align(size * 2, align).expect("a layout"),
                    );
                    let block = allocator.alloc(layout);
                    assert_eq!(block as usize % align, 0, "size {size}, align {align}");
                    allocator.dealloc(block, layout);
                }
            }
        }
    }
}
