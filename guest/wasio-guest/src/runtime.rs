//! What Rust's std gives a component, for `no_std` builds (the crate
//! without its `std` feature): a heap, `cabi_realloc` (through which the
//! host hands the guest lists and strings), a panic handler, and stderr.
//!
//! Each is the smallest thing that behaves as std's does for a handler:
//! the heap starts in the free end of the initial linear memory, as
//! wasi-libc's malloc does, so a short connection never grows its memory
//! (growing costs the host an `mprotect` per instance, and resetting the
//! grown pages another); a panic prints its message to stderr and traps.

use alloc::alloc::{Layout, alloc, realloc};
use core::alloc::GlobalAlloc;
use core::arch::wasm32;
use core::cell::{Cell, UnsafeCell};
use core::fmt;

/// The size of a WebAssembly page.
const PAGE: usize = 64 * 1024;

unsafe extern "C" {
    // Defined by wasm-ld: the first byte after the static data and the
    // stack, and the end of the initial memory.
    static __heap_base: u8;
    static __heap_end: u8;
}

/// dlmalloc's source of memory: the initial memory's free end once, then
/// `memory.grow`. Segments come back contiguous (each grow extends the
/// memory just past the last), so dlmalloc merges them into one.
struct LinearMemory {
    initial_given: Cell<bool>,
}

// SAFETY: `alloc` returns either the initial memory's free end (once: no
// one else uses it, since this crate's allocator is the component's only
// one) or pages fresh from `memory.grow`; both are zeroed, as
// `allocates_zeros` says. Nothing is ever returned to the system, which the
// `free*` and `remap` answers say.
unsafe impl dlmalloc::Allocator for LinearMemory {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        if !self.initial_given.replace(true) {
            let (base, end) = (
                &raw const __heap_base as usize,
                &raw const __heap_end as usize,
            );
            if end > base && end - base >= size {
                return (base as *mut u8, end - base, 0);
            }
        }
        let pages = size.div_ceil(PAGE);
        let previous = wasm32::memory_grow(0, pages);
        if previous == usize::MAX {
            return (core::ptr::null_mut(), 0, 0);
        }
        ((previous * PAGE) as *mut u8, pages * PAGE, 0)
    }

    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        core::ptr::null_mut()
    }

    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false
    }

    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }

    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        PAGE
    }
}

/// The component's global allocator: one dlmalloc, unlocked.
struct Heap(UnsafeCell<dlmalloc::Dlmalloc<LinearMemory>>);

// SAFETY: wasm32-wasip2 components are single-threaded, and the allocator
// is not re-entered (dlmalloc calls nothing that allocates).
unsafe impl Sync for Heap {}

// SAFETY: delegates to dlmalloc, which upholds `GlobalAlloc`'s contract.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).malloc(layout.size(), layout.align()) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).calloc(layout.size(), layout.align()) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { (*self.0.get()).free(ptr, layout.size(), layout.align()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size) }
    }
}

#[global_allocator]
static HEAP: Heap = Heap(UnsafeCell::new(
    const {
        let mut heap = dlmalloc::Dlmalloc::new_with_allocator(LinearMemory {
            initial_given: Cell::new(false),
        });
        // dlmalloc rounds its first request up to the granularity; at the
        // default 64 KiB it would never fit the initial memory's free end
        // (the rest of a page after the static data).
        assert!(heap.set_granularity(4096));
        heap
    },
));

/// The canonical ABI's allocation function, which std (through wasi-libc)
/// exports in a std build: the host calls it to place lists and strings
/// in the guest's memory.
///
/// # Safety
///
/// Called by the host as the canonical ABI specifies: `old_ptr` and
/// `old_len` describe an earlier allocation of this function (or are 0),
/// and `align` is a power of two.
#[unsafe(export_name = "cabi_realloc")]
unsafe extern "C" fn cabi_realloc(
    old_ptr: *mut u8,
    old_len: usize,
    align: usize,
    new_len: usize,
) -> *mut u8 {
    if new_len == 0 {
        // Any aligned, non-null pointer will do for an empty allocation.
        return align as *mut u8;
    }
    // SAFETY: the layouts are those of the host's requests (see above).
    let ptr = unsafe {
        if old_len == 0 {
            alloc(Layout::from_size_align_unchecked(new_len, align))
        } else {
            realloc(
                old_ptr,
                Layout::from_size_align_unchecked(old_len, align),
                new_len,
            )
        }
    };
    if ptr.is_null() {
        // The canonical ABI has no way to report this; trapping is what
        // std's allocation-failure handler does too.
        wasm32::unreachable()
    }
    ptr
}

/// Prints a panic's message to stderr and traps, as std does with
/// `panic = "abort"`.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    eprint(format_args!("{info}\n"));
    wasm32::unreachable()
}

/// Writes to the component's stderr (the host's log). A failure is
/// ignored, as `eprint!` cannot report it either.
pub(crate) fn eprint(args: fmt::Arguments<'_>) {
    /// The most `blocking-write-and-flush` takes at once.
    const MAX_WRITE: usize = 4096;
    let text = alloc::fmt::format(args);
    let stderr = wasip2::cli::stderr::get_stderr();
    for chunk in text.as_bytes().chunks(MAX_WRITE) {
        if stderr.blocking_write_and_flush(chunk).is_err() {
            return;
        }
    }
}
