//! gantry's fuzz targets (cargo-fuzz, libFuzzer): one per reader of untrusted bytes. See `fuzz/README.md`.

mod readers;
pub use readers::*;

/// Every allocation is counted, so a target can fail an input that allocates out of proportion to its size.
#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The fuzz target for the reader named `$name`: each input must read as an error or a valid value,
/// allocate within [`allowance`], never panic (libFuzzer reports a panic as a crash) and finish
/// within libFuzzer's `-timeout`.
#[macro_export]
macro_rules! fuzz_reader {
    ($name:literal) => {
        static SCRATCH: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
        libfuzzer_sys::fuzz_target!(|input: &[u8]| {
            let reader = $crate::reader($name);
            let scratch = SCRATCH.get_or_init(|| {
                // libfuzzer-sys aborts on any panic, even one gantry catches (it does around other crates'
                // image decoders); the default hook lets those be caught as in the product. A panic that
                // escapes the reader still aborts, at the target's C boundary, and libFuzzer reports it.
                let _ = std::panic::take_hook();
                $crate::scratch(reader)
            });
            if let Err(e) = $crate::check(reader, input, scratch) {
                panic!("{e}");
            }
        });
    };
}
