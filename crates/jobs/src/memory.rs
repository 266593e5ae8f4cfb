//! Giving freed memory back to the operating system after a burst of jobs. glibc keeps the heap
//! a big job grew (a server's user list, an import's rows) mapped after it is freed, so the
//! resident size after the hourly jobs stayed near their peak; `malloc_trim` returns the free
//! pages. Measured in docs/performance.md ("Memory after the hourly jobs").

/// Returns the allocator's free memory to the operating system (glibc only; elsewhere nothing).
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers and
    // is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}
