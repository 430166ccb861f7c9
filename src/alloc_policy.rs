//! How the process's memory allocator treats the large, short-lived buffers of a training step.
//!
//! A step allocates and frees the same few-MiB buffers (im2col columns, activations, gradients)
//! over and over. glibc's defaults hand such buffers back to the kernel (`mmap`/`munmap`, or
//! trimming the heap top) and fault fresh zeroed pages in on the next step: measured on the
//! dcgan-28 training step (W1, 2 cores) that is ~15 % of the step (8.5 vs 10.0 steps/s), for
//! ~5 MiB less peak memory. [`keep_freed_memory`] lets the heap keep them instead, and keeps one
//! heap for all threads: the CLI's work runs on rayon's threads, and glibc's per-thread heaps
//! (capped at 64 MiB each and trimmed on their own) faulted the buffers of a dcgan-32 step in
//! afresh — elementwise layers on 8 MiB activations ran 2–3× slower.

/// Buffers up to this size come from the heap rather than their own mapping.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: i32 = 64 << 20;
/// Free memory at the heap top is returned to the kernel only beyond this.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_THRESHOLD: i32 = 256 << 20;

/// Keeps freed buffers (up to 64 MiB each, 256 MiB in all at the heap top) for reuse instead of
/// returning them to the kernel, in one heap shared by all threads. Call once at start-up, before
/// other threads allocate. A no-op outside glibc (other allocators have their own policies), or
/// if the environment sets `GLIBC_TUNABLES`, `MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_` or
/// `MALLOC_ARENA_MAX` (the user's choice wins).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if ["GLIBC_TUNABLES", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_ARENA_MAX"].iter().all(|v| std::env::var_os(v).is_none()) {
        // SAFETY: mallopt only changes allocator parameters; it is called before other threads
        // exist. Both thresholds must be set together: setting either disables glibc's dynamic
        // threshold adjustment.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
