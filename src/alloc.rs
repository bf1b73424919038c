//! The global allocator: a free list per size class, in front of musl's
//! malloc.
//!
//! Why: an invocation makes some sixty small allocations, mostly inside
//! ureq and `http` (a `Bytes` per header value, the `HeaderMap`, ids and
//! URLs), and musl's malloc, built to save memory rather than time, spent
//! about 40,000 of the 174,000 instructions an invocation cost (callgrind).
//! It also gave a page back to the kernel now and then, a system call the
//! loop does not need. Here a small block is popped from and pushed back to
//! its class's list in a few instructions, and small blocks are never handed
//! back: the runtime's working set is the same on every invocation, so the
//! lists stay as long as the busiest invocation needed.
//!
//! Blocks over [`LARGEST`] bytes (the transport's buffers, big events) and
//! over-aligned blocks go straight to musl, which does those well.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

/// The smallest class: every block is 16-byte aligned and can hold the
/// free list's link.
const SMALLEST_SHIFT: u32 = 4;
/// Classes are 16, 32, 64, ... 4096 bytes.
const CLASSES: usize = 9;
/// The largest block served from the lists.
pub const LARGEST: usize = 1 << (SMALLEST_SHIFT as usize + CLASSES - 1);
/// Blocks are carved from chunks this big, asked of musl as needed.
const CHUNK: usize = 64 * 1024;
const ALIGN: usize = 1 << SMALLEST_SHIFT;

pub struct Allocator {
    locked: AtomicBool,
    lists: UnsafeCell<Lists>,
}

// The lists are only touched with `locked` held.
unsafe impl Sync for Allocator {}

struct Lists {
    /// Freed blocks of each class, linked through their first word. Sixteen
    /// slots for nine classes so `& 15` is an index that can't panic.
    free: [*mut Free; 16],
    /// The unused rest of the current chunk.
    next: *mut u8,
    end: *mut u8,
}

struct Free {
    next: *mut Free,
}

impl Allocator {
    pub const fn new() -> Allocator {
        Allocator {
            locked: AtomicBool::new(false),
            lists: UnsafeCell::new(Lists {
                free: [ptr::null_mut(); 16],
                next: ptr::null_mut(),
                end: ptr::null_mut(),
            }),
        }
    }

    /// Runs `f` on the lists with the lock held. The runtime is one thread,
    /// so this is almost always one uncontended swap; a handler's own
    /// threads may wait a few instructions. `f` must not panic or allocate:
    /// the panic hook allocates, and would wait here forever.
    #[inline(always)]
    fn with_lists<T>(&self, f: impl FnOnce(&mut Lists) -> T) -> T {
        while self.locked.swap(true, Ordering::Acquire) {
            while self.locked.load(Ordering::Relaxed) {
                std::hint::spin_loop();
            }
        }
        // SAFETY: the lock is held, so no other reference to the lists exists.
        let result = f(unsafe { &mut *self.lists.get() });
        self.locked.store(false, Ordering::Release);
        result
    }
}

impl Default for Allocator {
    fn default() -> Allocator {
        Allocator::new()
    }
}

/// The class of a block this allocator serves, or `None` for musl's.
#[inline(always)]
fn class_of(layout: Layout) -> Option<usize> {
    if layout.size() > LARGEST || layout.align() > ALIGN {
        return None;
    }
    let size = layout.size().max(ALIGN);
    Some((usize::BITS - (size - 1).leading_zeros() - SMALLEST_SHIFT) as usize)
}

fn class_bytes(class: usize) -> usize {
    ALIGN << class
}

impl Lists {
    #[inline(always)]
    fn take(&mut self, class: usize) -> *mut u8 {
        let head = self.free[class & 15];
        if !head.is_null() {
            // SAFETY: every block on a list is a freed block of this class,
            // big enough and aligned for the link written when it was freed.
            self.free[class & 15] = unsafe { (*head).next };
            return head.cast();
        }
        let bytes = class_bytes(class);
        if (self.end as usize) - (self.next as usize) < bytes {
            // The chunk's rest (less than one block) is left unused.
            // SAFETY: CHUNK is non-zero and ALIGN a power of two.
            let chunk = unsafe { System.alloc(Layout::from_size_align_unchecked(CHUNK, ALIGN)) };
            if chunk.is_null() {
                return chunk;
            }
            self.next = chunk;
            self.end = chunk.wrapping_add(CHUNK);
        }
        let block = self.next;
        self.next = block.wrapping_add(bytes);
        block
    }

    #[inline(always)]
    fn give(&mut self, block: *mut u8, class: usize) {
        let block = block.cast::<Free>();
        // SAFETY: the block came from `take` for this class and its owner is
        // done with it: its first word is ours.
        unsafe { (*block).next = self.free[class & 15] };
        self.free[class & 15] = block;
    }
}

unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_of(layout) {
            Some(class) => self.with_lists(|lists| lists.take(class)),
            // SAFETY: the caller's contract for `layout` is System's.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match class_of(layout) {
            Some(_) => {
                // SAFETY: as for `alloc`.
                let block = unsafe { self.alloc(layout) };
                if !block.is_null() {
                    // SAFETY: the block holds at least `layout.size()` bytes.
                    unsafe { ptr::write_bytes(block, 0, layout.size()) };
                }
                block
            }
            // musl's calloc knows when fresh pages are already zero.
            // SAFETY: as for `alloc`.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        match class_of(layout) {
            Some(class) => self.with_lists(|lists| lists.give(block, class)),
            // SAFETY: `block` came from System with this layout.
            None => unsafe { System.dealloc(block, layout) },
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` makes a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class_of(layout), class_of(new_layout)) {
            // Same class: the block already has room.
            (Some(old), Some(new)) if old == new => block,
            // SAFETY: as for `dealloc`; musl moves or grows in place.
            (None, None) => unsafe { System.realloc(block, layout, new_size) },
            _ => {
                // SAFETY: as for `alloc` and `dealloc`; the two blocks are
                // distinct and each holds at least the bytes copied.
                unsafe {
                    let moved = self.alloc(new_layout);
                    if !moved.is_null() {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                    moved
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 1).unwrap()
    }

    #[test]
    fn sizes_fall_in_the_smallest_class_that_holds_them() {
        let class = |size| class_of(layout(size)).map(class_bytes);
        assert_eq!(class(1), Some(16));
        assert_eq!(class(16), Some(16));
        assert_eq!(class(17), Some(32));
        assert_eq!(class(100), Some(128));
        assert_eq!(class(LARGEST), Some(LARGEST));
        assert_eq!(class(LARGEST + 1), None);
        assert_eq!(class_of(Layout::from_size_align(64, 32).unwrap()), None);
        assert_eq!(
            class_of(Layout::from_size_align(64, 16).unwrap()).map(class_bytes),
            Some(64)
        );
    }

    #[test]
    fn blocks_are_aligned_and_do_not_overlap() {
        let allocator = Allocator::new();
        let mut blocks = Vec::new();
        for (i, size) in [1, 8, 16, 24, 33, 100, 1000, 4096, 5000, 70_000]
            .iter()
            .cycle()
            .take(400)
            .enumerate()
        {
            let layout = Layout::from_size_align(*size, 16).unwrap();
            let block = unsafe { allocator.alloc(layout) };
            assert!(!block.is_null());
            assert_eq!(block as usize % 16, 0);
            unsafe { ptr::write_bytes(block, i as u8, *size) };
            blocks.push((block, layout, i as u8));
        }
        for (block, layout, fill) in blocks {
            let bytes = unsafe { std::slice::from_raw_parts(block, layout.size()) };
            assert!(
                bytes.iter().all(|&b| b == fill),
                "a block of {} was overwritten",
                layout.size()
            );
            unsafe { allocator.dealloc(block, layout) };
        }
    }

    #[test]
    fn a_freed_block_is_reused_and_zeroed_when_asked() {
        let allocator = Allocator::new();
        unsafe {
            let first = allocator.alloc(layout(40));
            ptr::write_bytes(first, 0xAB, 40);
            allocator.dealloc(first, layout(40));
            let again = allocator.alloc_zeroed(layout(64));
            assert_eq!(again, first, "a 64-byte class block should come back");
            assert!(std::slice::from_raw_parts(again, 64).iter().all(|&b| b == 0));
            allocator.dealloc(again, layout(64));
        }
    }

    #[test]
    fn realloc_keeps_the_bytes_across_classes_and_to_musl() {
        let allocator = Allocator::new();
        unsafe {
            let mut block = allocator.alloc(layout(10));
            for i in 0..10 {
                *block.add(i) = i as u8;
            }
            let mut size = 10;
            for new_size in [12, 300, 4096, 9000, 100_000, 2000, 5] {
                let moved = allocator.realloc(block, layout(size), new_size);
                assert!(!moved.is_null());
                let kept = size.min(new_size).min(10);
                for i in 0..kept {
                    assert_eq!(
                        *moved.add(i),
                        i as u8,
                        "byte {i} lost growing {size} to {new_size}"
                    );
                }
                if new_size == 12 {
                    assert_eq!(moved, block, "a block that still fits stays put");
                }
                block = moved;
                size = new_size;
            }
            allocator.dealloc(block, layout(size));
        }
    }

    #[test]
    fn threads_never_get_the_same_block() {
        static SHARED: Allocator = Allocator::new();
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    for round in 0..2_000usize {
                        let size = 16 + (round * 7 + t as usize * 13) % 500;
                        let mut held = Vec::with_capacity(8);
                        for k in 0..8u8 {
                            let block = unsafe { SHARED.alloc(layout(size)) };
                            unsafe { ptr::write_bytes(block, t ^ k, size) };
                            held.push((block, t ^ k));
                        }
                        for (block, fill) in held {
                            let bytes = unsafe { std::slice::from_raw_parts(block, size) };
                            assert!(bytes.iter().all(|&b| b == fill), "another thread wrote here");
                            unsafe { SHARED.dealloc(block, layout(size)) };
                        }
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
    }
}
