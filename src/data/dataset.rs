//! What a dataset is: the loaded [`Dataset`] (its [`Samples`], labels and class names), and one
//! [`DatasetKind`] per dataset (or family: `emnist-SPLIT`, `folder:PATH`) that holds everything
//! that depends on which dataset it is, so callers ask the kind instead of matching names. The
//! kinds themselves live beside their readers; `super::DATASETS` lists them.

use burn::tensor::{Device, Tensor, TensorData};

use super::download::Downloads;
use super::options::DataOptions;
use crate::error::Result;
use crate::model::Shape3;
use crate::rng::Rng;

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
    /// A point in the plane; for a mixture of Gaussians `modes` gives the centres and the
    /// per-coordinate std (None: a shape with no modes to count, such as two moons).
    Points { modes: Option<fn() -> (Vec<[f32; 2]>, f32)> },
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

impl DatasetKind {
    pub fn is_points(&self) -> bool {
        matches!(self.samples, SampleKind::Points { .. })
    }

    /// For 2-D point data, the mixture centres to mark in plots (none for shapes without modes);
    /// None for images.
    pub fn point_centres(&self) -> Option<Vec<[f32; 2]>> {
        self.is_points().then(|| self.point_modes().map(|m| m.0).unwrap_or_default())
    }

    /// Mixture centres and std of 2-D point data; None for images and shapes without modes.
    pub fn point_modes(&self) -> Option<(Vec<[f32; 2]>, f32)> {
        match self.samples {
            SampleKind::Points { modes } => modes.map(|m| m()),
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

/// Sample storage: images as bytes (CHW), or real-valued points for the toy data.
#[derive(Clone, Debug)]
pub enum Samples {
    Bytes(Vec<u8>),
    Floats(Vec<f32>),
}

#[derive(Clone, Debug)]
pub struct Dataset {
    pub name: String,
    pub kind: &'static DatasetKind,
    pub shape: Shape3,
    pub len: usize,
    pub samples: Samples,
    pub labels: Option<Vec<u8>>,
    pub class_names: Vec<String>,
}

/// An 8-bit pixel as the networks see it: 0..255 mapped to [-1, 1].
pub fn unit_value(p: u8) -> f32 {
    p as f32 / 127.5 - 1.0
}

pub(super) const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

pub(super) fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

impl Dataset {
    /// A dataset of `kind` called `name` with the kind's class names; its length follows from the samples.
    pub(crate) fn new(kind: &'static DatasetKind, name: &str, shape: Shape3, samples: Samples, labels: Option<Vec<u8>>) -> Dataset {
        let values = match &samples {
            Samples::Bytes(b) => b.len(),
            Samples::Floats(f) => f.len(),
        };
        let len = values / shape.iter().product::<usize>();
        Dataset { name: name.into(), kind, shape, len, samples, labels, class_names: (kind.class_names)(name) }
    }

    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// Bilinear resize of every image to `size`×`size` (e.g. MNIST 28 → 32 for dcgan-upsample).
    pub fn resized(mut self, size: usize) -> Dataset {
        let Samples::Bytes(px) = &self.samples else { return self };
        let [c, h, w] = self.shape;
        let mut out = Vec::with_capacity(self.len * c * size * size);
        for plane in px.chunks_exact(h * w) {
            let img = image::GrayImage::from_raw(w as u32, h as u32, plane.to_vec()).expect("plane size");
            out.extend(image::imageops::resize(&img, size as u32, size as u32, image::imageops::FilterType::Triangle).into_raw());
        }
        self.samples = Samples::Bytes(out);
        self.shape = [c, size, size];
        self
    }

    pub fn sample_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Appends the values of samples `range` (images mapped to [-1, 1]) to `out`.
    fn extend_values(&self, range: std::ops::Range<usize>, out: &mut Vec<f32>) {
        let m = self.sample_len();
        match &self.samples {
            Samples::Bytes(b) => out.extend(b[range.start * m..range.end * m].iter().map(|&p| unit_value(p))),
            Samples::Floats(f) => out.extend_from_slice(&f[range.start * m..range.end * m]),
        }
    }

    /// Every sample's values (images mapped to [-1, 1]), one after another.
    pub fn values(&self) -> Vec<f32> {
        let mut v = Vec::with_capacity(self.len * self.sample_len());
        self.extend_values(0..self.len, &mut v);
        v
    }

    /// Samples at `indices` as a `[N, C, H, W]` tensor, images mapped to [-1, 1].
    pub fn batch(&self, indices: &[usize], device: &Device) -> Tensor<4> {
        let mut v = Vec::with_capacity(indices.len() * self.sample_len());
        for &i in indices {
            self.extend_values(i..i + 1, &mut v);
        }
        let [c, h, w] = self.shape;
        Tensor::from_data(TensorData::new(v, [indices.len(), c, h, w]), device)
    }

    pub fn labels_at(&self, indices: &[usize]) -> Option<Vec<u8>> {
        self.labels.as_ref().map(|l| indices.iter().map(|&i| l[i]).collect())
    }
}

/// Shuffled batches for one epoch from a seeded RNG: the order depends only on (seed, epoch),
/// so a resumed run sees exactly the batches it would have seen.
pub fn epoch_batches(len: usize, batch_size: usize, drop_last: bool, seed: u64, epoch: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..len).collect();
    Rng::derived(seed, "data-order", epoch).shuffle(&mut order);
    let mut out: Vec<Vec<usize>> = order.chunks(batch_size).map(|c| c.to_vec()).collect();
    if drop_last && out.last().is_some_and(|b| b.len() < batch_size) {
        out.pop();
    }
    out
}
