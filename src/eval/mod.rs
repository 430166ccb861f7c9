//! Evaluation of any generator (`generator::Generator`): Inception metrics compatible with
//! pytorch-fid (FID, IS, KID, precision/recall), a domain classifier for mode coverage, the 2-D
//! and Stacked-MNIST mode benchmarks, latent interpolation and the minimax toy. Evaluation never
//! depends on training: training uses it (`metric`), not the other way round.

pub mod classifier;
pub mod generator;
pub mod inception;
pub mod interpolate;
pub mod metric;
pub mod minimax;
pub mod modes;
pub mod npz;
pub mod report;
pub mod stats;
pub mod toy2d;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};

pub use generator::Generator;
pub use inception::Image8;
use inception::{FidInception, FEATURES};
use stats::Features;

use crate::data::download::{self, Checksum, RemoteFile};
use crate::error::{Error, Result};

/// pytorch-fid's FID weights (a torch.hub file: the name carries its SHA-256 prefix).
pub const FID_WEIGHTS: RemoteFile = RemoteFile {
    name: "pt_inception-2015-12-05-6726825d.pth",
    checksum: Checksum::Sha256Prefix("6726825d"),
    mirrors: &["https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"],
};

pub fn weights_dir() -> PathBuf {
    download::gantry_home().join("weights")
}

/// The FID weights: the given file, else the cached copy, else a download (checksum-verified).
pub fn locate_fid_weights(given: Option<&Path>, quiet: bool) -> Result<PathBuf> {
    if let Some(p) = given {
        return if p.exists() { Ok(p.to_path_buf()) } else { Err(Error::io(p, std::io::Error::from(std::io::ErrorKind::NotFound))) };
    }
    download::fetch(&FID_WEIGHTS, &weights_dir(), quiet).map_err(|e| Error::MissingDataset {
        name: "FID Inception weights".into(),
        message: format!(
            "download {}{} (pytorch-fid's release) and pass it with --inception-weights FILE, or put it in {} ({e})",
            FID_WEIGHTS.mirrors[0],
            FID_WEIGHTS.name,
            weights_dir().display()
        ),
    })
}

/// Inception pool3 features and logits for a set of images, batched, with a progress bar.
pub struct FidExtractor {
    pub net: FidInception,
    device: Device,
    pub batch_size: usize,
}

/// What the Inception network says about a set of images.
pub struct InceptionOutputs {
    pub pool3: Features,
    /// Bias-free logits `[n, 1008]` (the Inception Score's input).
    pub logits_unbiased: Vec<f64>,
}

impl FidExtractor {
    /// pytorch-fid's `.pth` file, or the same state dict saved as safetensors.
    pub fn from_file(path: &Path, device: &Device) -> Result<Self> {
        let tensors = crate::pth::read_named(path)?;
        Self::from_tensors(&tensors, device).map_err(|m| Error::bad_file(path, m))
    }

    pub fn from_tensors(tensors: &HashMap<String, crate::model::NamedTensor>, device: &Device) -> std::result::Result<Self, String> {
        Ok(Self { net: FidInception::from_state_dict(tensors, device)?, device: device.clone(), batch_size: 16 })
    }

    /// Pool3 features `[n, 2048]` (f32, as the network computes them).
    pub fn pool3(&self, images: &[Image8], quiet: bool, what: &str) -> Vec<f32> {
        use rayon::prelude::*;
        let bar = crate::progress::bar(images.len() as u64, quiet, &format!("Inception features ({what})"));
        let mut out = Vec::with_capacity(images.len() * FEATURES);
        for chunk in images.chunks(self.batch_size) {
            let pixels: Vec<f32> = chunk.par_iter().flat_map_iter(inception::preprocess).collect();
            let x = Tensor::<4>::from_data(TensorData::new(pixels, [chunk.len(), 3, inception::SIZE, inception::SIZE]), &self.device);
            out.extend(crate::device::read_back(&self.net.pool3(x)));
            bar.inc(chunk.len() as u64);
        }
        bar.finish_and_clear();
        out
    }

    pub fn outputs(&self, images: &[Image8], quiet: bool, what: &str) -> InceptionOutputs {
        let pool3 = self.pool3(images, quiet, what);
        let logits = self.net.logits(&pool3, false).into_iter().map(|v| v as f64).collect();
        InceptionOutputs { pool3: Features::from_f32(images.len(), FEATURES, &pool3), logits_unbiased: logits }
    }
}

impl InceptionOutputs {
    /// IS over 10 splits (fewer when there are fewer than 10 samples).
    pub fn inception_score(&self) -> (f64, f64) {
        stats::inception_score(&self.logits_unbiased, inception::CLASSES, 10.min(self.pool3.n.max(1)))
    }
}

/// Read the images of a folder as pytorch-fid does: the folder's own files (not sub-folders), sorted,
/// converted to RGB (grey images kept as one channel and replicated later).
pub fn read_folder(dir: &Path) -> Result<Vec<Image8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| crate::data::folder::is_image(p))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::bad_file(dir, "no .png/.jpg/.jpeg images in this folder"));
    }
    files.iter().map(|f| read_image(f)).collect()
}

pub fn read_image(path: &Path) -> Result<Image8> {
    let img = crate::data::folder::open_image(path)?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    Ok(match img.color().has_color() {
        false => Image8 { channels: 1, h, w, bytes: img.to_luma8().into_raw() },
        true => {
            let rgb = img.to_rgb8();
            let bytes = (0..3).flat_map(|c| rgb.pixels().map(move |p| p.0[c])).collect();
            Image8 { channels: 3, h, w, bytes }
        }
    })
}

/// Split a `[N, C, H, W]` batch in [-1, 1] into 8-bit images, quantised exactly as a PNG would
/// store them, so that in-memory and folder evaluation agree.
pub fn quantise(batch: &Tensor<4>) -> Vec<Image8> {
    let [n, c, h, w] = batch.dims();
    let bytes = crate::viz::grid::to_bytes(&crate::device::read_back(batch));
    bytes.chunks(c * h * w).take(n).map(|b| Image8 { channels: c, h, w, bytes: b.to_vec() }).collect()
}

/// Each sample of a `[N, C, H, W]` batch as its own PNG (`00000.png`, …) in `dir`, at its size
/// and channel count (grey for one channel): a folder as FID tools read it.
pub fn write_images(batch: &Tensor<4>, dir: &Path) -> Result<usize> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let images = quantise(batch);
    for (i, img) in images.iter().enumerate() {
        img.save(&dir.join(format!("{i:05}.png")))?;
    }
    Ok(images.len())
}

/// The images of a dataset (byte images only).
pub fn dataset_images(ds: &crate::data::Dataset) -> Result<Vec<Image8>> {
    let crate::data::Samples::Bytes(px) = &ds.samples else {
        return Err(Error::Other(format!("dataset `{}` holds points, not images", ds.name)));
    };
    let [c, h, w] = ds.shape;
    Ok(px.chunks(c * h * w).map(|b| Image8 { channels: c, h, w, bytes: b.to_vec() }).collect())
}

/// FID, IS, KID and precision/recall of a generated set against a reference set.
#[derive(Clone, Debug, serde::Serialize)]
pub struct InceptionReport {
    pub n_generated: usize,
    pub n_reference: usize,
    pub fid: f64,
    pub is_mean: f64,
    pub is_std: f64,
    pub kid_mean: f64,
    pub kid_std: f64,
    pub precision: f64,
    pub recall: f64,
}

pub fn inception_report(generated: &InceptionOutputs, reference: &InceptionOutputs, seed: u64) -> InceptionReport {
    let (g, r) = (&generated.pool3, &reference.pool3);
    let fid = stats::frechet_distance(&stats::Gaussian::fit(g), &stats::Gaussian::fit(r));
    let (is_mean, is_std) = generated.inception_score();
    let (kid_mean, kid_std) = stats::kid(g, r, 100, 1000, &mut crate::rng::Rng::new(seed));
    let (precision, recall) = stats::precision_recall(r, g, 3);
    InceptionReport { n_generated: g.n, n_reference: r.n, fid, is_mean, is_std, kid_mean, kid_std, precision, recall }
}
