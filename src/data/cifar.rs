//! CIFAR-10 binary version: records of 1 label byte + 3072 pixel bytes (1024 R, 1024 G, 1024 B),
//! downloaded as one tar.gz.

use std::path::{Path, PathBuf};

use super::dataset::{Dataset, DatasetKind, ModeCount, NamePattern, SampleKind, Samples, names};
use super::download::{self, Checksum, Downloads, RemoteFile};
use super::options::DataOptions;
use crate::error::{Error, Result};
use crate::model::Shape3;

const SHAPE: Shape3 = [3, 32, 32];
pub const RECORD: usize = 1 + 3 * 32 * 32;
pub const CLASSES: [&str; 10] = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

const CACHE_FOLDER: &str = "cifar10";
/// The folder that the archive unpacks to.
const BATCHES: &str = "cifar-10-batches-bin";

const FILES: &[RemoteFile] = &[RemoteFile {
    name: "cifar-10-binary.tar.gz",
    checksum: Checksum::Md5("c32a1d4ab5d03f1284b67883e8d87530"),
    mirrors: &["https://www.cs.toronto.edu/~kriz/"],
}];

pub static CIFAR10: DatasetKind = DatasetKind {
    name: "cifar10",
    description: "CIFAR-10 32x32 RGB (50000 / 10000), binary version",
    pattern: NamePattern::Exact,
    load,
    downloads: Some(Downloads { cache_folder: CACHE_FOLDER, files: FILES }),
    shape: Some(SHAPE),
    stored_transposed: false,
    class_names: |_| names(&CLASSES),
    samples: SampleKind::Images,
    mode_count: ModeCount::OwnClassifier,
};

fn load(kind: &'static DatasetKind, name: &str, opts: &DataOptions) -> Result<Dataset> {
    let needed = if opts.test_split { vec!["test_batch.bin"] } else { vec!["data_batch_1.bin", "data_batch_5.bin"] };
    let dir = locate(&needed, opts)?;
    let (pixels, labels) = read(&dir, !opts.test_split)?;
    Ok(Dataset::new(kind, name, SHAPE, Samples::Bytes(pixels), Some(labels)))
}

/// The folder with `needed`: in `--data-dir DIR` (as given, or a subfolder that the archive or
/// the cache would have), else in the cache, where the archive is downloaded and unpacked.
fn locate(needed: &[&str], opts: &DataOptions) -> Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(d) = &opts.data_dir {
        for sub in ["cifar10/cifar-10-batches-bin", BATCHES, CACHE_FOLDER, ""] {
            candidates.push(d.join(sub));
        }
    }
    let cache = download::cache_dir(CACHE_FOLDER);
    candidates.push(cache.join(BATCHES));
    if let Some(c) = candidates.iter().find(|c| needed.iter().all(|f| c.join(f).exists())) {
        return Ok(c.clone());
    }
    let fetched = download::fetch(&FILES[0], &cache, opts.quiet).and_then(|tgz| {
        let f = std::fs::File::open(&tgz).map_err(|e| Error::io(&tgz, e))?;
        tar::Archive::new(flate2::read::GzDecoder::new(f)).unpack(&cache).map_err(|e| Error::bad_file(&tgz, format!("cannot extract ({e})")))
    });
    match fetched {
        Ok(()) => Ok(cache.join(BATCHES)),
        Err(e) => Err(Error::MissingDataset {
            name: CACHE_FOLDER.into(),
            message: format!("expected {} (CIFAR-10 binary version) in --data-dir DIR or DIR/cifar-10-batches-bin; download failed ({e})", needed.join(", ")),
        }),
    }
}

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
