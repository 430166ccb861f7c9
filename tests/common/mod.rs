#![allow(dead_code)]
use std::path::PathBuf;

/// `../shared/golden` relative to the crate, or None (the test then says why it skips).
pub fn golden(name: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/golden").join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: golden file {} not found", p.display());
        None
    }
}

/// Real datasets come from GANTRY_DATA_DIR (set by .ci/run); without it the test skips.
pub fn data_dir() -> Option<PathBuf> {
    match std::env::var_os("GANTRY_DATA_DIR") {
        Some(d) => Some(PathBuf::from(d)),
        None => {
            eprintln!("skipping: GANTRY_DATA_DIR is not set (it points at the real MNIST/Fashion-MNIST files)");
            None
        }
    }
}

pub fn max_rel_err(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}
pub mod golden;
