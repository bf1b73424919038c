//! The global allocator: a small arena with a free list per size class, in
//! front of musl's malloc.
//!
//! Why: an invocation makes about a hundred small allocations, mostly inside
//! ureq and `http` (a `Bytes` per header value, the `HeaderMap`, ids and
//! URLs). musl's malloc, built to save memory rather than time, spent about
//! 30,000 of the 174,000 instructions an invocation cost (callgrind), and
//! now and then gave a page back to the kernel: a system call the loop does
//! not need. From the arena, a block is popped from and pushed back to its
//! class's list in a few instructions.
//!
//! The arena is [`ARENA`] bytes of `.bss`: no system call to get it, no
//! resident page until touched, and a hard cap on what the lists keep. Blocks
//! over [`LARGEST`] bytes, over-aligned blocks, and everything once the arena
//! is used up go to musl, which gives memory back. So a 6 MB event parsed
//! into a `serde_json::Value` costs what it costs under musl, plus at most
//! the arena and its 64 KiB of free lists, and the memory is returned when
//! the event is dropped.
//!
//! The trade-offs, all bounded by the arena's size: classes are powers of
//! two, so a block may waste up to half of itself (more under 16 bytes);
//! and arena space carved for one class stays with it, so after a burst of
//! one size the other sizes may find the arena used up and go to musl:
//! slower, never wrong.
//!
//! `make miri` runs these tests under Miri (`cargo +nightly miri test
//! --target x86_64-unknown-linux-gnu --bin bootstrap alloc::`). One thing
//! Miri can't model for any global allocator that reuses memory: a block
//! handed to a new owner while a `Box` argument that held it is still
//! protected (an open Miri/rlsf issue, rlsf#20); the tests don't do that.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

/// The smallest class: every block is 16-byte aligned.
const SMALLEST_SHIFT: u32 = 4;
const ALIGN: usize = 1 << SMALLEST_SHIFT;
/// Classes are 16, 32, 64, ... 4096 bytes.
const CLASSES: usize = 9;
/// The largest block served from the arena.
pub const LARGEST: usize = ALIGN << (CLASSES - 1);
/// The runtime's own working set is a few KiB an invocation; the rest of
/// the arena is for the handler's small allocations.
pub const ARENA: usize = 256 * 1024;
/// Free-list slots, one per block the arena could hold in each class.
const SLOTS: usize = slot_start(0) + capacity(0);
// A slot holds a block's number, offset / 16, in a u16.
const _: () = assert!(ARENA / ALIGN <= 1 << 16);

/// The most blocks of `class` the arena can hold.
const fn capacity(class: usize) -> usize {
    ARENA / class_bytes(class)
}

/// Where class `class`'s slots begin. The largest class, with the fewest
/// slots, comes first: the first slots of every class, the ones in use,
/// then share a few pages.
const fn slot_start(class: usize) -> usize {
    let mut start = 0;
    let mut k = class + 1;
    while k < CLASSES {
        start += capacity(k);
        k += 1;
    }
    start
}

const fn class_bytes(class: usize) -> usize {
    ALIGN << class
}

pub struct Allocator {
    locked: AtomicBool,
    lists: UnsafeCell<Lists>,
    /// Blocks are derived from the raw pointer `UnsafeCell::get` gives, never
    /// from a `&` or `&mut Arena`, so no later access narrows their rights.
    arena: UnsafeCell<Arena>,
}

// `lists` is only touched with `locked` held; each arena block has one owner.
unsafe impl Sync for Allocator {}

#[repr(align(16))]
struct Arena {
    _bytes: [u8; ARENA],
}

struct Lists {
    /// Bytes of the arena carved into blocks so far.
    carved: usize,
    /// Free blocks per class, as block numbers (offset / 16): class `c`
    /// keeps its `len[c]` entries from `slots[slot_start(c)]` on. Kept
    /// beside the blocks, not linked through them: the allocator never
    /// writes into a freed block, which its last owner (`Box`'s drop) may
    /// still hold a protected pointer to.
    /// Sixteen lengths for nine classes: `& 15` is an index that can't panic.
    len: [u32; 16],
    slots: [u16; SLOTS],
}

impl Allocator {
    pub const fn new() -> Allocator {
        Allocator {
            locked: AtomicBool::new(false),
            lists: UnsafeCell::new(Lists {
                carved: 0,
                len: [0; 16],
                slots: [0; SLOTS],
            }),
            arena: UnsafeCell::new(Arena { _bytes: [0; ARENA] }),
        }
    }

    /// The lists, locked until the guard drops. The runtime is one thread,
    /// so this is almost always one uncontended swap; a handler's own
    /// threads may wait a few instructions. Nothing done under the lock may
    /// panic or allocate: the panic hook allocates, and would wait forever.
    #[inline(always)]
    fn lock(&self) -> Guard<'_> {
        let mut spins = 0u32;
        while self.locked.swap(true, Ordering::Acquire) {
            while self.locked.load(Ordering::Relaxed) {
                spins = spins.wrapping_add(1);
                if spins % 64 == 0 {
                    // The holder may be descheduled: let it run.
                    std::thread::yield_now();
                } else {
                    std::hint::spin_loop();
                }
            }
        }
        Guard(self)
    }

    /// The arena's offset of `block`, when it is an arena block.
    #[inline(always)]
    fn offset_of(&self, block: *mut u8) -> Option<usize> {
        let offset = block.addr().wrapping_sub(self.arena.get().addr());
        (offset < ARENA).then_some(offset)
    }

    /// A block of `class` from the arena, or `None` when it has none left.
    #[inline(always)]
    fn take(&self, class: usize) -> Option<*mut u8> {
        let offset = self.lock().take(class)?;
        Some(self.arena.get().cast::<u8>().wrapping_add(offset))
    }
}

struct Guard<'a>(&'a Allocator);

impl Deref for Guard<'_> {
    type Target = Lists;

    #[inline(always)]
    fn deref(&self) -> &Lists {
        // SAFETY: the guard holds the lock: no `&mut` to the lists exists.
        unsafe { &*self.0.lists.get() }
    }
}

impl DerefMut for Guard<'_> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Lists {
        // SAFETY: the guard holds the lock: this is the only reference.
        unsafe { &mut *self.0.lists.get() }
    }
}

impl Drop for Guard<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        self.0.locked.store(false, Ordering::Release);
    }
}

impl Default for Allocator {
    fn default() -> Allocator {
        Allocator::new()
    }
}

/// The class of a block the arena may serve, or `None` for musl's.
#[inline(always)]
fn class_of(layout: Layout) -> Option<usize> {
    if layout.size() > LARGEST || layout.align() > ALIGN {
        return None;
    }
    let size = layout.size().max(ALIGN);
    Some((usize::BITS - (size - 1).leading_zeros() - SMALLEST_SHIFT) as usize)
}

impl Lists {
    /// The offset of a free block of `class`, if the arena has one left.
    #[inline(always)]
    fn take(&mut self, class: usize) -> Option<usize> {
        let class = class & 15;
        if let Some(index) = self.len[class].checked_sub(1) {
            self.len[class] = index;
            let block = self.slots.get(slot_start_of(class) + index as usize)?;
            return Some(*block as usize * ALIGN);
        }
        if ARENA - self.carved < class_bytes(class) {
            return None;
        }
        // Carved in order; every class is a multiple of 16 bytes, so every
        // block is 16-byte aligned.
        self.carved += class_bytes(class);
        Some(self.carved - class_bytes(class))
    }

    #[inline(always)]
    fn give(&mut self, offset: usize, class: usize) {
        let class = class & 15;
        let index = self.len[class] as usize;
        // A class can't have more free blocks than it has slots, short of a
        // double free; that one is dropped, never spilled into another
        // class's slots.
        if index < capacity(class) {
            if let Some(slot) = self.slots.get_mut(slot_start_of(class) + index) {
                *slot = (offset / ALIGN) as u16;
                self.len[class] += 1;
            }
        }
    }
}

/// `slot_start`, looked up: it is a loop when computed.
#[inline(always)]
fn slot_start_of(class: usize) -> usize {
    const STARTS: [usize; 16] = {
        let mut starts = [SLOTS; 16];
        let mut class = 0;
        while class < CLASSES {
            starts[class] = slot_start(class);
            class += 1;
        }
        starts
    };
    STARTS[class & 15]
}

unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(block) = class_of(layout).and_then(|class| self.take(class)) {
            return block;
        }
        // SAFETY: the caller's contract for `layout` is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if let Some(block) = class_of(layout).and_then(|class| self.take(class)) {
            // SAFETY: the block holds at least `layout.size()` bytes.
            unsafe { ptr::write_bytes(block, 0, layout.size()) };
            return block;
        }
        // musl's calloc knows when fresh pages are already zero.
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        match (self.offset_of(block), class_of(layout)) {
            (Some(offset), Some(class)) => self.lock().give(offset, class),
            // SAFETY: a block outside the arena came from System with `layout`.
            _ => unsafe { System.dealloc(block, layout) },
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` makes a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        let in_arena = self.offset_of(block).is_some();
        match (in_arena, class_of(layout), class_of(new_layout)) {
            // The block's class already has room.
            (true, Some(old), Some(new)) if old == new => block,
            // SAFETY: a block outside the arena came from System with
            // `layout`; musl moves it or grows it in place.
            (false, _, None) => unsafe { System.realloc(block, layout, new_size) },
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
    fn every_class_has_a_slot_for_each_block_the_arena_can_hold() {
        for class in 0..CLASSES {
            assert_eq!(slot_start_of(class), slot_start(class));
            assert_eq!(capacity(class), ARENA / class_bytes(class));
            // Each class's slots end where the next smaller class's begin.
            let end = if class == 0 { SLOTS } else { slot_start(class - 1) };
            assert_eq!(slot_start(class) + capacity(class), end);
        }
        assert_eq!(slot_start(CLASSES - 1), 0);
        assert_eq!(slot_start_of(CLASSES), SLOTS);
    }

    #[test]
    fn blocks_are_aligned_and_do_not_overlap() {
        static ALLOCATOR: Allocator = Allocator::new();
        let mut blocks = Vec::new();
        let sizes = [1, 8, 16, 24, 33, 100, 1000, 4096, 5000, 70_000];
        // Miri checks every byte written, slowly: fewer, smaller blocks.
        let (sizes, count) = if cfg!(miri) {
            (&sizes[..9], 27)
        } else {
            (&sizes[..], 400)
        };
        for (i, size) in sizes.iter().cycle().take(count).enumerate() {
            let layout = Layout::from_size_align(*size, 16).unwrap();
            let block = unsafe { ALLOCATOR.alloc(layout) };
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
            unsafe { ALLOCATOR.dealloc(block, layout) };
        }
    }

    #[test]
    fn a_freed_block_is_reused_and_zeroed_when_asked() {
        static ALLOCATOR: Allocator = Allocator::new();
        unsafe {
            let first = ALLOCATOR.alloc(layout(40));
            assert!(
                ALLOCATOR.offset_of(first).is_some(),
                "small blocks come from the arena"
            );
            ptr::write_bytes(first, 0xAB, 40);
            ALLOCATOR.dealloc(first, layout(40));
            let again = ALLOCATOR.alloc_zeroed(layout(64));
            assert_eq!(again, first, "a 64-byte class block should come back");
            assert!(std::slice::from_raw_parts(again, 64).iter().all(|&b| b == 0));
            ALLOCATOR.dealloc(again, layout(64));
        }
    }

    #[test]
    fn a_full_arena_hands_over_to_musl_and_keeps_no_more() {
        static ALLOCATOR: Allocator = Allocator::new();
        let fill = ARENA / LARGEST;
        let mut blocks: Vec<_> = (0..fill + 3)
            .map(|_| unsafe { ALLOCATOR.alloc(layout(LARGEST)) })
            .collect();
        let from_arena = blocks
            .iter()
            .filter(|&&b| ALLOCATOR.offset_of(b).is_some())
            .count();
        assert_eq!(
            from_arena, fill,
            "the arena holds exactly ARENA / LARGEST of the largest class"
        );
        // A small block, and a grown one, still work once the arena is full.
        let small = unsafe { ALLOCATOR.alloc(layout(16)) };
        assert!(!small.is_null() && ALLOCATOR.offset_of(small).is_none());
        unsafe { *small = 7 };
        let grown = unsafe { ALLOCATOR.realloc(small, layout(16), 100) };
        assert_eq!(unsafe { *grown }, 7);
        unsafe { ALLOCATOR.dealloc(grown, layout(100)) };
        // Freed arena blocks are reused; musl's go back to musl.
        let freed = blocks.pop().unwrap();
        unsafe { ALLOCATOR.dealloc(freed, layout(LARGEST)) };
        let arena_block = blocks.remove(0);
        unsafe { ALLOCATOR.dealloc(arena_block, layout(LARGEST)) };
        assert_eq!(unsafe { ALLOCATOR.alloc(layout(LARGEST)) }, arena_block);
        for block in blocks {
            unsafe { ALLOCATOR.dealloc(block, layout(LARGEST)) };
        }
    }

    #[test]
    fn realloc_keeps_the_bytes_across_classes_and_to_musl() {
        static ALLOCATOR: Allocator = Allocator::new();
        unsafe {
            let mut block = ALLOCATOR.alloc(layout(10));
            for i in 0..10 {
                *block.add(i) = i as u8;
            }
            // Carved right after the block: growing in place would overwrite it.
            let neighbour = ALLOCATOR.alloc(layout(16));
            ptr::write_bytes(neighbour, 0xEE, 16);
            let mut size = 10;
            for new_size in [12, 300, 4096, 9000, 100_000, 2000, 5] {
                let moved = ALLOCATOR.realloc(block, layout(size), new_size);
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
            ALLOCATOR.dealloc(block, layout(size));
            let neighbour_bytes = std::slice::from_raw_parts(neighbour, 16);
            assert!(
                neighbour_bytes.iter().all(|&b| b == 0xEE),
                "a realloc wrote past its block"
            );
            ALLOCATOR.dealloc(neighbour, layout(16));
        }
    }

    #[test]
    fn over_aligned_blocks_go_to_musl_and_back() {
        static ALLOCATOR: Allocator = Allocator::new();
        for align in [32, 64, 4096] {
            let small = Layout::from_size_align(48, align).unwrap();
            unsafe {
                let block = ALLOCATOR.alloc(small);
                assert_eq!(block as usize % align, 0, "align {align}");
                assert!(
                    ALLOCATOR.offset_of(block).is_none(),
                    "align {align} came from the arena"
                );
                *block = 42;
                let grown = ALLOCATOR.realloc(block, small, 5000);
                assert_eq!(grown as usize % align, 0, "align {align} after realloc");
                assert_eq!(*grown, 42);
                ALLOCATOR.dealloc(grown, Layout::from_size_align(5000, align).unwrap());
            }
        }
    }

    #[test]
    fn threads_never_get_the_same_block() {
        static ALLOCATOR: Allocator = Allocator::new();
        // Miri (`cargo +nightly miri test alloc::`) is slow and needs fewer.
        let rounds = if cfg!(miri) { 10 } else { 2_000 };
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                std::thread::spawn(move || {
                    for round in 0..rounds {
                        let size = 16 + (round * 7 + t as usize * 13) % 500;
                        let mut held = Vec::with_capacity(8);
                        for k in 0..8u8 {
                            let block = unsafe { ALLOCATOR.alloc(layout(size)) };
                            unsafe { ptr::write_bytes(block, t ^ k, size) };
                            held.push((block, t ^ k));
                        }
                        for (block, fill) in held {
                            let bytes = unsafe { std::slice::from_raw_parts(block, size) };
                            assert!(bytes.iter().all(|&b| b == fill), "another thread wrote here");
                            unsafe { ALLOCATOR.dealloc(block, layout(size)) };
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
