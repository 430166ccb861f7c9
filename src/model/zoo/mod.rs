//! The model zoo: one file per family. Each turns [`ModelOptions`] into a [`GanSpec`]; adding a
//! family means adding a file and a line in [`MODELS`].

mod dcgan28;
mod dcgan32;
mod dcgan64;
mod infogan;
mod mlp;
mod toy;
mod upsample;

use serde::{Deserialize, Serialize};

use super::spec::{NetSpec, Shape3};
use crate::error::{Error, Result};

/// What a model needs to know about the data and the latent space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelOptions {
    pub z_dim: usize,
    /// Image (or point) shape of the data: `[channels, height, width]`.
    pub data_shape: Shape3,
}

/// A generator/discriminator pair and the shapes they work on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GanSpec {
    pub name: String,
    pub g: NetSpec,
    pub d: NetSpec,
    /// Generator input per sample (`[z, 1, 1]`).
    pub z_shape: Shape3,
    /// Generator output and discriminator input per sample.
    pub x_shape: Shape3,
}

type Builder = fn(&ModelOptions) -> Result<GanSpec>;

/// Every model: name, one-line description, builder.
pub const MODELS: &[(&str, &str, Builder)] = &[
    ("mlp-small", "vanilla GAN MLPs (CS231n): G 1024-1024-784 ReLU/Tanh, D 256-256 LeakyReLU(0.01)", mlp::small),
    ("mlp-bn", "MLP GAN with BatchNorm1d (eps 0.8) in G, Sigmoid D (widely copied reference)", mlp::bn),
    ("mlp-toy", "2-D toy data: G and D with three hidden layers of 512 ReLU", toy::mlp_toy),
    ("dcgan-28", "28x28 DCGAN: 5 ConvTranspose / 5 Conv layers, BatchNorm, no conv bias", dcgan28::build),
    ("dcgan-infogan", "InfoGAN-style DCGAN (CS231n): FC+ConvT generator, Conv+MaxPool+FC discriminator", infogan::build),
    ("dcgan-upsample", "32x32 DCGAN with nearest upsampling + Conv (1 or 3 channels)", upsample::build),
    ("dcgan-32", "32x32 RGB DCGAN (CIFAR-10): ConvT 512-256-128, Conv 128-256-512", dcgan32::build),
    ("dcgan-64", "64x64 RGB DCGAN (CelebA): ConvT 512-256-128-64, Conv 64-128-256-512", dcgan64::build),
];

pub fn model_names() -> Vec<&'static str> {
    MODELS.iter().map(|m| m.0).collect()
}

pub fn build_spec(name: &str, opts: &ModelOptions) -> Result<GanSpec> {
    let (_, _, build) = MODELS.iter().find(|m| m.0 == name).ok_or_else(|| {
        Error::config("model", format!("unknown model `{name}`; expected one of: {}", model_names().join(", ")))
    })?;
    let spec = build(opts)?;
    // Validate the wiring once, so a bad option is one clear message instead of a panic later.
    let g_out = spec.g.shapes(spec.z_shape).map_err(|e| Error::config("model", format!("{name} generator: {e}")))?;
    if g_out.last() != Some(&spec.x_shape) {
        return Err(Error::config("model", format!("{name} generator outputs {:?}, data is {:?}", g_out.last(), spec.x_shape)));
    }
    spec.d.shapes(spec.x_shape).map_err(|e| Error::config("model", format!("{name} discriminator: {e}")))?;
    Ok(spec)
}

pub(crate) fn require_shape(model: &str, opts: &ModelOptions, allowed: &[Shape3]) -> Result<()> {
    if allowed.contains(&opts.data_shape) {
        Ok(())
    } else {
        Err(Error::config(
            "model",
            format!("{model} works on data of shape {allowed:?} (channels, height, width), the dataset gives {:?}", opts.data_shape),
        ))
    }
}
