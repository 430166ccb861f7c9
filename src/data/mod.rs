//! Datasets: readers for the standard formats, built-in offline datasets, downloads, batching.

pub mod cifar;
pub mod download;
pub mod folder;
pub mod idx;
pub mod synth_digits;
pub mod toy;

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::model::Shape3;
use crate::rng::Rng;

/// Sample storage: images as bytes (CHW), or real-valued points for the toy data.
#[derive(Clone, Debug)]
pub enum Samples {
    Bytes(Vec<u8>),
    Floats(Vec<f32>),
}

#[derive(Clone, Debug)]
pub struct Dataset {
    pub name: String,
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
    /// Number of samples for the generated datasets (synth-digits, ring8, grid25).
    pub generated_size: Option<usize>,
    pub seed: u64,
    pub quiet: bool,
    /// Side length for image folders (CelebA), or to resize 28x28 images to (e.g. 32).
    pub image_size: Option<usize>,
    /// Channels for image folders (3 = RGB, 1 = grayscale).
    pub channels: Option<usize>,
}

pub const DATASETS: &[(&str, &str)] = &[
    ("synth-digits", "built-in: 28x28 synthetic handwritten digits 0-9, labelled, generated from a seed"),
    ("ring8", "built-in: 2-D mixture of 8 Gaussians on a circle"),
    ("grid25", "built-in: 2-D mixture of 25 Gaussians on a 5x5 grid"),
    ("mnist", "MNIST 28x28 digits (60000 train / 10000 test), IDX files"),
    ("fashion-mnist", "Fashion-MNIST 28x28 clothing (60000 / 10000), IDX files"),
    ("emnist-SPLIT", "EMNIST (SPLIT = byclass, bymerge, balanced, letters, digits, mnist), IDX files"),
    ("stacked-mnist", "Stacked MNIST: three random MNIST digits as the R, G, B planes of one 28x28 image (1000 modes)"),
    ("cifar10", "CIFAR-10 32x32 RGB (50000 / 10000), binary version"),
    ("celeba", "CelebA aligned faces (img_align_celeba folder), center-cropped and resized"),
    ("folder:PATH", "any folder of PNG/JPEG images, searched recursively"),
];

pub const EMNIST_SPLITS: &[&str] = &["byclass", "bymerge", "balanced", "letters", "digits", "mnist"];
const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
pub const FASHION_CLASSES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn emnist_classes(split: &str) -> Vec<String> {
    let digits = (0..10).map(|d| d.to_string());
    let upper = (b'A'..=b'Z').map(|c| (c as char).to_string());
    match split {
        "letters" => (b'a'..=b'z').map(|c| (c as char).to_string()).collect(),
        "digits" | "mnist" => names(&DIGITS),
        "byclass" => digits.chain(upper).chain((b'a'..=b'z').map(|c| (c as char).to_string())).collect(),
        _ => digits.chain(upper).chain("abdefghnqrt".chars().map(|c| c.to_string())).collect(),
    }
}

/// Look for `files` in `--data-dir` (as given, or its `<dataset>` subfolder), then the cache;
/// download into the cache when none has them.
fn locate(dataset: &str, files: &[download::RemoteFile], needed: &[&str], opts: &DataOptions) -> Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(d) = &opts.data_dir {
        candidates.push(d.join(dataset));
        candidates.push(d.clone());
    }
    let cache = download::cache_dir(dataset);
    candidates.push(cache.clone());
    for c in &candidates {
        if needed.iter().all(|f| c.join(f).exists()) {
            return Ok(c.clone());
        }
    }
    let mut errors = Vec::new();
    for f in files {
        if let Err(e) = download::fetch(f, &cache, opts.quiet) {
            errors.push(e.to_string());
        }
    }
    if errors.is_empty() {
        return Ok(cache);
    }
    Err(Error::MissingDataset {
        name: dataset.into(),
        message: format!(
            "expected {} in --data-dir DIR (or DIR/{dataset}) or in {}; download failed ({}). Copy the files there and pass --data-dir DIR.",
            needed.join(", "),
            cache.display(),
            errors.join("; ")
        ),
    })
}

fn idx_dataset(name: &str, dir: &Path, prefix: &str, test: bool, transpose: bool, classes: Vec<String>) -> Result<Dataset> {
    let split = if test { "t10k" } else { "train" };
    let (img, lab) = if prefix.is_empty() {
        (format!("{split}-images-idx3-ubyte.gz"), format!("{split}-labels-idx1-ubyte.gz"))
    } else {
        let s = if test { "test" } else { "train" };
        (format!("{prefix}-{s}-images-idx3-ubyte.gz"), format!("{prefix}-{s}-labels-idx1-ubyte.gz"))
    };
    let find = |f: &str| {
        let p = dir.join(f);
        if p.exists() { p } else { dir.join(f.trim_end_matches(".gz")) }
    };
    let (pixels, mut labels, h, w) = idx::read_split(&find(&img), &find(&lab), transpose)?;
    if name == "emnist-letters" {
        labels.iter_mut().for_each(|l| *l = l.saturating_sub(1)); // letters are labelled 1..26
    }
    let len = labels.len();
    Ok(Dataset { name: name.into(), shape: [1, h, w], len, samples: Samples::Bytes(pixels), labels: Some(labels), class_names: classes })
}

/// Load a dataset by name.
pub fn load(name: &str, opts: &DataOptions) -> Result<Dataset> {
    let split_seed = if opts.test_split { opts.seed.wrapping_add(1_000_003) } else { opts.seed };
    let mut ds = match name {
        "synth-digits" => {
            let n = opts.generated_size.unwrap_or(if opts.test_split { 10_000 } else { 60_000 });
            let (pixels, labels) = synth_digits::generate(n, split_seed);
            Dataset { name: name.into(), shape: [1, 28, 28], len: n, samples: Samples::Bytes(pixels), labels: Some(labels), class_names: names(&DIGITS) }
        }
        "ring8" | "grid25" => {
            let n = opts.generated_size.unwrap_or(if opts.test_split { 10_000 } else { 100_000 });
            let (pts, labels) = toy::sample(name, n, split_seed).expect("known toy");
            let k = toy::modes(name).unwrap().0.len();
            Dataset {
                name: name.into(),
                shape: [2, 1, 1],
                len: n,
                samples: Samples::Floats(pts),
                labels: Some(labels),
                class_names: (0..k).map(|i| format!("mode {i}")).collect(),
            }
        }
        "mnist" | "fashion-mnist" => {
            let files = if name == "mnist" { download::MNIST } else { download::FASHION_MNIST };
            let needed: Vec<&str> = files.iter().map(|f| f.name).collect();
            let dir = locate(name, files, &needed, opts)?;
            let classes = if name == "mnist" { names(&DIGITS) } else { names(&FASHION_CLASSES) };
            idx_dataset(name, &dir, "", opts.test_split, false, classes)?
        }
        n if n.starts_with("emnist-") => {
            let split = &n["emnist-".len()..];
            if !EMNIST_SPLITS.contains(&split) {
                return Err(Error::config("dataset", format!("unknown EMNIST split `{split}`; expected one of {}", EMNIST_SPLITS.join(", "))));
            }
            let prefix = format!("emnist-{split}");
            let s = if opts.test_split { "test" } else { "train" };
            let needed = [format!("{prefix}-{s}-images-idx3-ubyte.gz"), format!("{prefix}-{s}-labels-idx1-ubyte.gz")];
            let needed: Vec<&str> = needed.iter().map(|s| s.as_str()).collect();
            let dir = locate_emnist(&needed, opts)?;
            idx_dataset(n, &dir, &prefix, opts.test_split, true, emnist_classes(split))?
        }
        "stacked-mnist" => {
            let mnist = load("mnist", &DataOptions { image_size: None, ..opts.clone() })?;
            let n = opts.generated_size.unwrap_or(if opts.test_split { 10_000 } else { 60_000 });
            stacked(&mnist, n, split_seed)
        }
        "cifar10" => {
            let needed = if opts.test_split { vec!["test_batch.bin"] } else { vec!["data_batch_1.bin", "data_batch_5.bin"] };
            let dir = locate_cifar(&needed, opts)?;
            let (pixels, labels) = cifar::read(&dir, !opts.test_split)?;
            let len = labels.len();
            Dataset { name: name.into(), shape: [3, 32, 32], len, samples: Samples::Bytes(pixels), labels: Some(labels), class_names: names(&cifar::CLASSES) }
        }
        _ => {
            let (label, dir) = if name == "celeba" {
                let base = opts.data_dir.clone().ok_or_else(|| Error::MissingDataset {
                    name: "celeba".into(),
                    message: "CelebA is not downloaded automatically (its licence forbids redistribution); pass --data-dir DIR with DIR/img_align_celeba or a folder of its images".into(),
                })?;
                let sub = base.join("img_align_celeba");
                ("celeba".to_string(), if sub.is_dir() { sub } else { base })
            } else if let Some(p) = name.strip_prefix("folder:") {
                (name.to_string(), PathBuf::from(p))
            } else {
                return Err(Error::config("dataset", format!("unknown dataset `{name}`; expected one of: {}", DATASETS.iter().map(|d| d.0).collect::<Vec<_>>().join(", "))));
            };
            if !dir.is_dir() {
                return Err(Error::MissingDataset { name: label, message: format!("{} is not a directory of images", dir.display()) });
            }
            let size = opts.image_size.unwrap_or(64);
            let c = opts.channels.unwrap_or(3);
            let pixels = folder::read(&dir, size, c)?;
            let len = pixels.len() / (c * size * size);
            return Ok(Dataset { name: label, shape: [c, size, size], len, samples: Samples::Bytes(pixels), labels: None, class_names: vec![] });
        }
    };
    if let Some(size) = opts.image_size
        && ds.shape[1] != size
        && ds.shape[1] > 1
    {
        ds = ds.resized(size);
    }
    Ok(ds)
}

/// Stacked MNIST (VEEGAN, PacGAN): `n` images whose three channels are independently drawn MNIST
/// digits, so there are 1000 modes (one per digit triple). Unlabelled: its modes are counted by
/// classifying each channel (`gantry eval modes`).
fn stacked(mnist: &Dataset, n: usize, seed: u64) -> Dataset {
    let Samples::Bytes(px) = &mnist.samples else { unreachable!("MNIST holds images") };
    let plane = 28 * 28;
    let mut rng = Rng::derived(seed, "stacked-mnist", 0);
    let mut out = Vec::with_capacity(n * 3 * plane);
    for _ in 0..n * 3 {
        let i = rng.below(mnist.len);
        out.extend_from_slice(&px[i * plane..(i + 1) * plane]);
    }
    Dataset { name: "stacked-mnist".into(), shape: [3, 28, 28], len: n, samples: Samples::Bytes(out), labels: None, class_names: vec![] }
}

fn locate_cifar(needed: &[&str], opts: &DataOptions) -> Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(d) = &opts.data_dir {
        for sub in ["cifar10/cifar-10-batches-bin", "cifar-10-batches-bin", "cifar10", ""] {
            candidates.push(d.join(sub));
        }
    }
    let cache = download::cache_dir("cifar10");
    candidates.push(cache.join("cifar-10-batches-bin"));
    if let Some(c) = candidates.iter().find(|c| needed.iter().all(|f| c.join(f).exists())) {
        return Ok(c.clone());
    }
    let fetched = download::fetch(&download::CIFAR10[0], &cache, opts.quiet).and_then(|tgz| {
        let f = std::fs::File::open(&tgz).map_err(|e| Error::io(&tgz, e))?;
        tar::Archive::new(flate2::read::GzDecoder::new(f)).unpack(&cache).map_err(|e| Error::bad_file(&tgz, format!("cannot extract ({e})")))
    });
    match fetched {
        Ok(()) => Ok(cache.join("cifar-10-batches-bin")),
        Err(e) => Err(Error::MissingDataset {
            name: "cifar10".into(),
            message: format!("expected {} (CIFAR-10 binary version) in --data-dir DIR or DIR/cifar-10-batches-bin; download failed ({e})", needed.join(", ")),
        }),
    }
}

fn locate_emnist(needed: &[&str], opts: &DataOptions) -> Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(d) = &opts.data_dir {
        candidates.extend([d.join("emnist/gzip"), d.join("emnist"), d.join("gzip"), d.clone()]);
    }
    let cache = download::cache_dir("emnist");
    candidates.push(cache.join("gzip"));
    if let Some(c) = candidates.iter().find(|c| needed.iter().all(|f| c.join(f).exists() || c.join(f.trim_end_matches(".gz")).exists())) {
        return Ok(c.clone());
    }
    let fetched = download::fetch(&download::EMNIST[0], &cache, opts.quiet).and_then(|zip_path| {
        let f = std::fs::File::open(&zip_path).map_err(|e| Error::io(&zip_path, e))?;
        let mut z = zip::ZipArchive::new(f).map_err(|e| Error::bad_file(&zip_path, e.to_string()))?;
        z.extract(&cache).map_err(|e| Error::bad_file(&zip_path, format!("cannot extract ({e})")))
    });
    match fetched {
        Ok(()) => Ok(cache.join("gzip")),
        Err(e) => Err(Error::MissingDataset {
            name: "emnist".into(),
            message: format!("expected {} in --data-dir DIR (or DIR/emnist/gzip); download failed ({e})", needed.join(", ")),
        }),
    }
}

impl Dataset {
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
