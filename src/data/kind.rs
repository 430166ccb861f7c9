//! What a dataset is: one [`DatasetKind`] per dataset (or family: `emnist-SPLIT`, `folder:PATH`)
//! holds everything that depends on which dataset it is, so callers ask the kind instead of
//! matching names. The kinds themselves live beside their readers; `super::DATASETS` lists them.

use super::download::RemoteFile;
use super::{DATASETS, DataOptions, Dataset};
use crate::error::{Error, Result};
use crate::model::Shape3;

/// Which dataset names a kind answers to.
#[derive(Clone, Copy, Debug)]
pub enum NamePattern {
    /// Exactly the kind's name.
    Exact,
    /// `prefix` then a parameter (an EMNIST split, a folder path) that `check` accepts or explains.
    Prefix { prefix: &'static str, check: fn(&str) -> Result<()> },
}

/// What one sample is.
#[derive(Clone, Copy, Debug)]
pub enum SampleKind {
    Images,
    /// A point in the plane from a mixture of Gaussians: `modes` gives the centres and the
    /// per-coordinate std.
    Points { modes: fn() -> (Vec<[f32; 2]>, f32) },
}

/// How `gantry eval modes` counts the modes that a generator covers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ModeCount {
    /// Labelled images: a LeNet trained on this dataset classifies the samples.
    OwnClassifier,
    /// 2-D points: each sample belongs to its nearest mixture centre.
    Points,
    /// Each of `channels` planes is classified by the classifier of the dataset `classifier`;
    /// a mode is one tuple of classes (Stacked MNIST: 10³).
    PerChannel { classifier: &'static str, channels: usize },
    /// Nothing to count modes by (unlabelled image folders).
    Unavailable,
}

/// The files a kind downloads, and the cache folder they go to (one for all EMNIST splits).
#[derive(Clone, Copy, Debug)]
pub struct Downloads {
    pub cache_folder: &'static str,
    pub files: &'static [RemoteFile],
}

#[derive(Debug)]
pub struct DatasetKind {
    /// The name as listed: `mnist`, or a pattern such as `emnist-SPLIT`.
    pub name: &'static str,
    pub description: &'static str,
    pub pattern: NamePattern,
    /// Reads or generates the dataset `name`, one that this kind matches.
    pub load: fn(&'static DatasetKind, &str, &DataOptions) -> Result<Dataset>,
    /// None for built-in and user-supplied data.
    pub downloads: Option<Downloads>,
    /// Every sample's shape as published, before `--image-size`; None where the options decide
    /// it (image folders).
    pub shape: Option<Shape3>,
    /// Images stored transposed (column-major), as in EMNIST; they are presented upright.
    pub stored_transposed: bool,
    /// The class names of the dataset `name`; empty when it is unlabelled.
    pub class_names: fn(&str) -> Vec<String>,
    pub samples: SampleKind,
    pub mode_count: ModeCount,
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

impl DatasetKind {
    pub fn is_points(&self) -> bool {
        matches!(self.samples, SampleKind::Points { .. })
    }

    /// Mixture centres and std of 2-D point data; None for images.
    pub fn point_modes(&self) -> Option<(Vec<[f32; 2]>, f32)> {
        match self.samples {
            SampleKind::Points { modes } => Some(modes()),
            SampleKind::Images => None,
        }
    }

    /// The part of `name` after this kind's prefix (`letters` of `emnist-letters`); None for
    /// kinds matched exactly.
    pub fn parameter<'a>(&self, name: &'a str) -> Option<&'a str> {
        match self.pattern {
            NamePattern::Prefix { prefix, .. } => name.strip_prefix(prefix),
            NamePattern::Exact => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::emnist;

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
