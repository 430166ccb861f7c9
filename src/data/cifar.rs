//! CIFAR-10 binary version: records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B).

use std::path::Path;

use crate::error::{Error, Result};

pub const RECORD: usize = 1 + 3 * 32 * 32;
pub const CLASSES: [&str; 10] = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// Read `data_batch_1..5.bin` (train) or `test_batch.bin` from `dir`; returns CHW pixels and labels.
pub fn read(dir: &Path, train: bool) -> Result<(Vec<u8>, Vec<u8>)> {
    let files: Vec<String> =
        if train { (1..=5).map(|i| format!("data_batch_{i}.bin")).collect() } else { vec!["test_batch.bin".into()] };
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for f in files {
        let path = dir.join(&f);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        if bytes.is_empty() || bytes.len() % RECORD != 0 {
            return Err(Error::bad_file(&path, format!("size {} is not a multiple of the {RECORD}-byte CIFAR-10 record (truncated?)", bytes.len())));
        }
        for rec in bytes.chunks_exact(RECORD) {
            if rec[0] > 9 {
                return Err(Error::bad_file(&path, format!("label {} out of range 0-9: not a CIFAR-10 binary file", rec[0])));
            }
            labels.push(rec[0]);
            pixels.extend_from_slice(&rec[1..]);
        }
    }
    Ok((pixels, labels))
}
