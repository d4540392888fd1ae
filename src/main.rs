// A quarter of dfopt's time went to glibc's malloc/free on small strings (perf over the corpus);
// mimalloc halves that.
#[global_allocator]
static GLOBAL: Mimalloc = Mimalloc;

/// mimalloc through its plain entry points whenever they give the alignment asked for. The
/// `mimalloc` crate calls `mi_malloc_aligned` for every allocation, which in mimalloc 3 checks the
/// alignment again before it reaches the same free list (6% of dfopt's instructions over the
/// corpus, for a million allocations, nearly all of alignment 1 to 8).
struct Mimalloc;

/// The alignment of every block `mi_malloc` returns: its size classes are whole machine words.
const WORD: usize = std::mem::size_of::<usize>();

// SAFETY: every pointer comes from mimalloc and goes back to it; a layout whose alignment a plain
// block may not have takes mimalloc's aligned entry points, as the `mimalloc` crate does.
unsafe impl std::alloc::GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys::{mi_malloc, mi_malloc_aligned};
        if layout.align() <= WORD {
            mi_malloc(layout.size()).cast()
        } else {
            mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        use libmimalloc_sys::{mi_zalloc, mi_zalloc_aligned};
        if layout.align() <= WORD {
            mi_zalloc(layout.size()).cast()
        } else {
            mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: std::alloc::Layout) {
        libmimalloc_sys::mi_free(ptr.cast());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        use libmimalloc_sys::{mi_realloc, mi_realloc_aligned};
        if layout.align() <= WORD {
            mi_realloc(ptr.cast(), new_size).cast()
        } else {
            mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
        }
    }
}

fn main() {
    std::process::exit(dfopt::cli::main());
}
