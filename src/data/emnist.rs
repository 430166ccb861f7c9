//! EMNIST (`emnist-SPLIT`): 28x28 handwritten characters in six splits, all in one zip of gzipped
//! IDX files. Images are stored transposed and presented upright; `letters` labels 1..26 become 0..25.

use std::path::PathBuf;

use super::dataset::{DIGITS, Dataset, DatasetKind, ModeCount, NamePattern, SampleKind, names};
use super::download::{self, Checksum, Downloads, RemoteFile};
use super::idx;
use super::options::DataOptions;
use crate::error::{Error, Result};

pub const SPLITS: &[&str] = &["byclass", "bymerge", "balanced", "letters", "digits", "mnist"];

const CACHE_FOLDER: &str = "emnist";

const FILES: &[RemoteFile] = &[RemoteFile {
    name: "gzip.zip",
    checksum: Checksum::Md5("58c8d27c78d21e728a6bc7b3cc06412e"),
    mirrors: &["https://biometrics.nist.gov/cs_links/EMNIST/"],
}];

pub static EMNIST: DatasetKind = DatasetKind {
    name: "emnist-SPLIT",
    description: "EMNIST (SPLIT = byclass, bymerge, balanced, letters, digits, mnist), IDX files",
    pattern: NamePattern::Prefix { prefix: "emnist-", check: check_split },
    load,
    downloads: Some(Downloads { cache_folder: CACHE_FOLDER, files: FILES }),
    shape: Some([1, 28, 28]),
    stored_transposed: true,
    class_names: |name| classes(split(name)),
    samples: SampleKind::Images,
    mode_count: ModeCount::OwnClassifier,
};

fn check_split(split: &str) -> Result<()> {
    if SPLITS.contains(&split) {
        Ok(())
    } else {
        Err(Error::config("dataset", format!("unknown EMNIST split `{split}`; expected one of {}", SPLITS.join(", "))))
    }
}

/// `letters` of `emnist-letters`.
fn split(name: &str) -> &str {
    EMNIST.parameter(name).expect("an EMNIST name")
}

fn classes(split: &str) -> Vec<String> {
    let digits = (0..10).map(|d| d.to_string());
    let upper = (b'A'..=b'Z').map(|c| (c as char).to_string());
    match split {
        "letters" => (b'a'..=b'z').map(|c| (c as char).to_string()).collect(),
        "digits" | "mnist" => names(&DIGITS),
        "byclass" => digits.chain(upper).chain((b'a'..=b'z').map(|c| (c as char).to_string())).collect(),
        _ => digits.chain(upper).chain("abdefghnqrt".chars().map(|c| c.to_string())).collect(),
    }
}

fn load(kind: &'static DatasetKind, name: &str, opts: &DataOptions) -> Result<Dataset> {
    let split = split(name);
    let part = if opts.test_split { "test" } else { "train" };
    let images = format!("emnist-{split}-{part}-images-idx3-ubyte.gz");
    let labels = format!("emnist-{split}-{part}-labels-idx1-ubyte.gz");
    let dir = locate(&[&images, &labels], opts)?;
    let mut ds = idx::load_dataset(kind, name, &dir, &images, &labels)?;
    if split == "letters" {
        // letters are labelled 1..26
        ds.labels.iter_mut().flatten().for_each(|l| *l = l.saturating_sub(1));
    }
    Ok(ds)
}

/// The folder with `needed` (gzipped or raw): `--data-dir DIR` as given, its `emnist/gzip`,
/// `emnist` or `gzip` subfolder, or the cache, where the zip is downloaded and extracted.
fn locate(needed: &[&str], opts: &DataOptions) -> Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(d) = &opts.data_dir {
        candidates.extend([d.join("emnist/gzip"), d.join("emnist"), d.join("gzip"), d.clone()]);
    }
    let cache = download::cache_dir(CACHE_FOLDER);
    candidates.push(cache.join("gzip"));
    if let Some(c) = candidates.iter().find(|c| needed.iter().all(|f| c.join(f).exists() || c.join(f.trim_end_matches(".gz")).exists())) {
        return Ok(c.clone());
    }
    let fetched = download::fetch(&FILES[0], &cache, opts.quiet).and_then(|zip_path| {
        let f = std::fs::File::open(&zip_path).map_err(|e| Error::io(&zip_path, e))?;
        let mut z = zip::ZipArchive::new(f).map_err(|e| Error::bad_file(&zip_path, e.to_string()))?;
        z.extract(&cache).map_err(|e| Error::bad_file(&zip_path, format!("cannot extract ({e})")))
    });
    match fetched {
        Ok(()) => Ok(cache.join("gzip")),
        Err(e) => Err(Error::MissingDataset {
            name: CACHE_FOLDER.into(),
            message: format!("expected {} in --data-dir DIR (or DIR/emnist/gzip); download failed ({e})", needed.join(", ")),
        }),
    }
}
