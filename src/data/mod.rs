//! Datasets: the registry of dataset kinds, loading by name, batching. Each kind lives in its own
//! file with its reader; what a dataset is lives in `dataset`, `download` finds and fetches files.

pub mod cifar;
mod dataset;
pub mod download;
pub mod emnist;
pub mod folder;
pub mod idx;
pub mod mnist;
mod options;
pub mod plane;
pub mod stacked;
pub mod synth_digits;
pub mod toy;

use std::path::{Path, PathBuf};

pub use dataset::{Dataset, DatasetKind, ModeCount, NamePattern, SampleKind, Samples, epoch_batches, unit_value};
pub use download::{Downloads, FileCheck};
pub use options::DataOptions;

use crate::error::{Error, Result};

/// Every dataset, in the order `gantry datasets list` shows them. A new dataset is a file with its
/// reader and `DatasetKind`, and a line here.
pub static DATASETS: &[&DatasetKind] = &[
    &synth_digits::SYNTH_DIGITS,
    &toy::RING8,
    &toy::GRID25,
    &plane::MOONS,
    &plane::SPIRAL,
    &plane::LINE,
    &plane::POINTS,
    &mnist::MNIST,
    &mnist::FASHION_MNIST,
    &emnist::EMNIST,
    &stacked::STACKED_MNIST,
    &cifar::CIFAR10,
    &folder::CELEBA,
    &folder::FOLDER,
];

/// The datasets that carry labels (conditional models can train on them).
pub fn labelled_dataset_names() -> Vec<&'static str> {
    DATASETS.iter().filter(|k| matches!(k.mode_count, ModeCount::OwnClassifier | ModeCount::Points)).map(|k| k.name).collect()
}

/// The kind of the dataset `name`: an unknown name, or an unknown parameter of a known family
/// (an EMNIST split), is a one-line config error.
pub fn kind(name: &str) -> Result<&'static DatasetKind> {
    for &k in DATASETS {
        match k.pattern {
            NamePattern::Exact if name == k.name => return Ok(k),
            NamePattern::Prefix { prefix, check } => {
                if let Some(parameter) = name.strip_prefix(prefix) {
                    check(parameter)?;
                    return Ok(k);
                }
            }
            NamePattern::Exact => {}
        }
    }
    let listed: Vec<&str> = DATASETS.iter().map(|k| k.name).collect();
    Err(Error::config("dataset", format!("unknown dataset `{name}`; expected one of: {}", listed.join(", "))))
}

/// Load a dataset by name, resized to `--image-size` where that differs from its own.
pub fn load(name: &str, opts: &DataOptions) -> Result<Dataset> {
    let kind = kind(name)?;
    let ds = (kind.load)(kind, name, opts)?;
    match opts.image_size {
        Some(size) if ds.shape[1] != size && ds.shape[1] > 1 => Ok(ds.resized(size)),
        _ => Ok(ds),
    }
}

/// The downloads that `gantry datasets fetch|verify NAME` handles: those of the dataset `name`,
/// or of the cache folder `name` (`emnist` for every EMNIST split).
fn downloads_named(name: &str) -> Result<&'static Downloads> {
    let by_folder = DATASETS.iter().filter_map(|k| k.downloads.as_ref()).find(|d| d.cache_folder == name);
    let downloads = match by_folder {
        Some(d) => Some(d),
        None => kind(name)?.downloads.as_ref(),
    };
    downloads.ok_or_else(|| Error::Other(format!("`{name}` has no downloadable files (built-in or user-supplied dataset)")))
}

/// Download every file of the dataset `name` into the cache (those already there and intact are
/// kept); returns their paths.
pub fn fetch_files(name: &str, quiet: bool) -> Result<Vec<PathBuf>> {
    download::fetch_all(downloads_named(name)?, quiet)
}

/// Check every file of the dataset `name`, looked for in `data_dir` (or its subfolder named like
/// the cache folder), then in the cache.
pub fn verify_files(name: &str, data_dir: Option<&Path>) -> Result<Vec<FileCheck>> {
    download::verify_all(downloads_named(name)?, data_dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names that each listed kind must answer to.
    fn examples(k: &DatasetKind) -> Vec<String> {
        match k.pattern {
            NamePattern::Exact => vec![k.name.to_string()],
            NamePattern::Prefix { prefix: "emnist-", .. } => emnist::SPLITS.iter().map(|s| format!("emnist-{s}")).collect(),
            NamePattern::Prefix { prefix, .. } => vec![format!("{prefix}/x")],
        }
    }

    #[test]
    fn every_listed_name_resolves_to_its_kind() {
        for &k in DATASETS {
            for name in examples(k) {
                assert!(std::ptr::eq(kind(&name).unwrap(), k), "{name}");
            }
        }
        assert_eq!(kind("folder:/x").unwrap().name, "folder:PATH");
        assert_eq!(kind("emnist-letters").unwrap().parameter("emnist-letters"), Some("letters"));
    }

    #[test]
    fn unknown_names_are_one_line_errors() {
        let e = kind("nosuch").unwrap_err().to_string();
        assert!(e.contains("unknown dataset `nosuch`") && e.contains("mnist, fashion-mnist") && !e.contains('\n'), "{e}");
        let e = kind("emnist-nosuch").unwrap_err().to_string();
        assert!(e.contains("unknown EMNIST split `nosuch`") && e.contains("letters") && !e.contains('\n'), "{e}");
        assert!(kind("emnist").is_err() && kind("MNIST").is_err());
    }

    #[test]
    fn listed_names_are_unique() {
        let mut names: Vec<&str> = DATASETS.iter().map(|k| k.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), DATASETS.len());
    }

    #[test]
    fn downloadable_kinds_have_checksummed_files() {
        let downloadable: Vec<&str> = DATASETS.iter().filter(|k| k.downloads.is_some()).map(|k| k.name).collect();
        assert_eq!(downloadable, ["mnist", "fashion-mnist", "emnist-SPLIT", "cifar10"]);
        for d in DATASETS.iter().filter_map(|k| k.downloads.as_ref()) {
            assert!(!d.files.is_empty() && !d.cache_folder.is_empty());
            for f in d.files {
                // `gantry datasets verify` speaks of the official MD5 sums.
                let crate::data::download::Checksum::Md5(sum) = f.checksum else { panic!("{}: not an MD5 sum", f.name) };
                assert!(!f.mirrors.is_empty() && sum.len() == 32 && sum.chars().all(|c| c.is_ascii_hexdigit()), "{}", f.name);
            }
        }
    }

    #[test]
    fn behaviour_is_a_property_of_the_kind() {
        for name in ["ring8", "grid25"] {
            let k = kind(name).unwrap();
            assert!(k.is_points() && k.mode_count == ModeCount::Points && k.shape == Some([2, 1, 1]));
            assert_eq!(k.point_modes().unwrap().0.len(), (k.class_names)(name).len());
        }
        assert_eq!(kind("stacked-mnist").unwrap().mode_count, ModeCount::PerChannel { classifier: "mnist", channels: 3 });
        assert_eq!(kind("celeba").unwrap().mode_count, ModeCount::Unavailable);
        assert_eq!((kind("emnist-balanced").unwrap().class_names)("emnist-balanced").len(), 47);
        assert!(kind("emnist-digits").unwrap().stored_transposed && !kind("mnist").unwrap().stored_transposed);
        assert!(kind("mnist").unwrap().point_modes().is_none());
    }
}
