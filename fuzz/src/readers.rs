//! The readers of untrusted bytes that the fuzz targets drive, and the checks every input must pass.
//! Shared by the fuzz targets (through `lib.rs`) and by `tests/hostile_input.rs`, which replays the
//! committed corpora and regression files through the same code under `cargo test`; so this file
//! depends on gantry and std only.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};

/// One reader: gantry's function for a file a user hands it, and where the bytes are put for it.
pub struct Reader {
    /// The fuzz target's name (also its folder under `corpus/`, `seeds/` and `regressions/`).
    pub name: &'static str,
    /// The file the input is written to, inside a scratch folder, for readers that take a path.
    pub file: fn(&[u8]) -> (&'static str, &[u8]),
    /// Reads the file (or the scratch folder) and says whether it read as valid.
    pub read: fn(&Path) -> bool,
}

/// The image folder reader picks the decoder by extension: the first byte chooses PNG (even) or JPEG (odd).
fn image_file(b: &[u8]) -> (&'static str, &[u8]) {
    match b.split_first() {
        Some((k, rest)) if k % 2 == 1 => ("face.jpg", rest),
        Some((_, rest)) => ("face.png", rest),
        None => ("face.png", b),
    }
}

/// Every reader of user files, in the order the README lists them.
pub const READERS: &[Reader] = &[
    Reader { name: "idx", file: |b| ("images-idx3-ubyte", b), read: |p| gantry::data::idx::read_idx(p, 3).is_ok() },
    Reader { name: "cifar", file: |b| ("test_batch.bin", b), read: |p| gantry::data::cifar::read(p.parent().unwrap(), false).is_ok() },
    Reader { name: "image_folder", file: image_file, read: |p| gantry::data::folder::read(p.parent().unwrap(), 16, 3).is_ok() },
    Reader { name: "points", file: |b| ("points.csv", b), read: |p| gantry::data::plane::read_points(p).is_ok() },
    Reader { name: "config", file: |b| ("config.toml", b), read: read_config },
    Reader { name: "safetensors", file: |b| ("tensors.safetensors", b), read: |p| gantry::tensor_file::read(p).is_ok() },
    Reader { name: "checkpoint", file: |b| ("tensors.safetensors", b), read: |p| gantry::run::checkpoint::load(p).is_ok() },
    Reader { name: "z", file: |b| ("tensors.safetensors", b), read: |p| gantry::sample::load_z(p).is_ok() },
    Reader { name: "npz", file: |b| ("stats.npz", b), read: |p| gantry::eval::npz::load_stats(p).is_ok() },
    Reader { name: "pth", file: |b| ("generator.pth", b), read: |p| gantry::pth::read_named(p).is_ok() },
];

/// A TOML config as `gantry train --config` reads it: text (lossily, as the mutation tests do), then checks.
fn read_config(p: &Path) -> bool {
    let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    gantry::config::TrainConfig::from_toml(&text, "fuzzed").is_ok()
}

pub fn reader(name: &str) -> &'static Reader {
    READERS.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no reader named {name}"))
}

/// What a reader may allocate at most for a file of `len` bytes.
pub fn allowance(len: usize) -> usize {
    64 * len + (64 << 20)
}

/// Counts the bytes this thread holds, and the most it held since [`reset_peak`].
pub struct Counting;

thread_local! {
    static HELD: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let _ = HELD.try_with(|h| {
                h.set(h.get() + layout.size());
                let _ = PEAK.try_with(|m| m.set(m.get().max(h.get())));
            });
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        let _ = HELD.try_with(|h| h.set(h.get().saturating_sub(layout.size())));
    }
}

/// Starts a measurement: the bytes held now.
pub fn reset_peak() -> usize {
    let held = HELD.with(Cell::get);
    PEAK.with(|m| m.set(held));
    held
}

/// The most this thread held beyond `since` (from [`reset_peak`]).
pub fn peak_since(since: usize) -> usize {
    PEAK.with(Cell::get).saturating_sub(since)
}

/// Writes `input` where `reader` reads it, inside `scratch` (emptied first), and reads it: an error or a
/// valid value, and an allocation within [`allowance`]. A panic propagates (the fuzzer reports it).
/// Returns whether it read as valid, or what went wrong.
pub fn check(reader: &Reader, input: &[u8], scratch: &Path) -> Result<bool, String> {
    let (name, bytes) = (reader.file)(input);
    if let Ok(entries) = std::fs::read_dir(scratch) {
        for e in entries.flatten() {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let path = scratch.join(name);
    std::fs::write(&path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let since = reset_peak();
    let valid = (reader.read)(&path);
    let peak = peak_since(since);
    if peak > allowance(bytes.len()) {
        return Err(format!("{}: allocated {peak} bytes for a file of {} bytes", reader.name, bytes.len()));
    }
    Ok(valid)
}

/// A scratch folder of this process's own (in the system's temporary folder, `/dev/shm` where there is one).
pub fn scratch(reader: &Reader) -> PathBuf {
    let base = if Path::new("/dev/shm").is_dir() { PathBuf::from("/dev/shm") } else { std::env::temp_dir() };
    let dir = base.join(format!("gantry-fuzz-{}-{}", reader.name, std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}
