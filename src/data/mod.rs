//! Datasets: the registry of dataset kinds, loading by name, batching. Each kind lives in its own
//! file with its reader; `download` finds and fetches files.

pub mod cifar;
pub mod download;
pub mod emnist;
pub mod folder;
pub mod idx;
mod kind;
pub mod mnist;
pub mod stacked;
pub mod synth_digits;
pub mod toy;

use std::path::PathBuf;

use burn::tensor::{Device, Tensor, TensorData};

pub use download::{FileCheck, fetch_files, verify_files};
pub use kind::{DatasetKind, Downloads, ModeCount, NamePattern, SampleKind, kind};

use crate::error::Result;
use crate::model::Shape3;
use crate::rng::Rng;

/// Every dataset, in the order `gantry datasets list` shows them. A new dataset is a file with its
/// reader and `DatasetKind`, and a line here.
pub static DATASETS: &[&DatasetKind] = &[
    &synth_digits::SYNTH_DIGITS,
    &toy::RING8,
    &toy::GRID25,
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

/// Where and how to find a dataset.
#[derive(Clone, Debug, Default)]
pub struct DataOptions {
    pub data_dir: Option<PathBuf>,
    pub test_split: bool,
    /// Number of samples for the generated datasets (synth-digits, ring8, grid25, stacked-mnist).
    pub generated_size: Option<usize>,
    pub seed: u64,
    pub quiet: bool,
    /// Side length for image folders (CelebA), or to resize 28x28 images to (e.g. 32).
    pub image_size: Option<usize>,
    /// Channels for image folders (3 = RGB, 1 = grayscale).
    pub channels: Option<usize>,
}

impl DataOptions {
    /// The seed of generated data: the test split is drawn from a stream of its own.
    fn split_seed(&self) -> u64 {
        if self.test_split { self.seed.wrapping_add(1_000_003) } else { self.seed }
    }

    /// How many samples to generate: `generated_size`, else `train` (training split) or 10000 (test split).
    fn generated_len(&self, train: usize) -> usize {
        self.generated_size.unwrap_or(if self.test_split { 10_000 } else { train })
    }
}

const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
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

    /// Samples at `indices` as a `[N, C, H, W]` tensor, images mapped to [-1, 1].
    pub fn batch(&self, indices: &[usize], device: &Device) -> Tensor<4> {
        let m = self.sample_len();
        let mut v = Vec::with_capacity(indices.len() * m);
        for &i in indices {
            match &self.samples {
                Samples::Bytes(b) => v.extend(b[i * m..(i + 1) * m].iter().map(|&p| p as f32 / 127.5 - 1.0)),
                Samples::Floats(f) => v.extend_from_slice(&f[i * m..(i + 1) * m]),
            }
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
