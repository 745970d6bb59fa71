//! Giving memory back while the service waits for its next scan.
//!
//! A scan allocates on several short-lived threads (one per collector); glibc keeps what they
//! freed in per-thread arenas, so a service that scans every 15 minutes would otherwise hold its
//! peak for good. Trimming after each cycle returns those free pages to the system.

/// Return the allocator's free pages to the system.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub(crate) fn release_free_memory() {
    // SAFETY: malloc_trim only walks glibc's own free lists and takes no pointer from us; it is
    // safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators give memory back on their own.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub(crate) fn release_free_memory() {}
