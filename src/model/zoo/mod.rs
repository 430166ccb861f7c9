//! The model zoo: one file per family. Each turns [`ModelOptions`] into a [`GanSpec`]; adding a
//! family means adding a file and a line in [`MODELS`].

mod dcgan28;
mod dcgan32;
mod dcgan64;
mod gan_spec;
mod infogan;
mod mlp;
mod toy;
mod upsample;

pub use gan_spec::{Conditioning, GanSpec, Labels, ModelOptions};

use super::spec::Shape3;
use crate::error::{Error, Result};

type Builder = fn(&ModelOptions) -> Result<GanSpec>;

/// One model family member in the registry.
pub struct ModelEntry {
    pub name: &'static str,
    pub description: &'static str,
    pub build: Builder,
    /// Data shapes `[channels, height, width]` it works on; the first is the default.
    pub shapes: &'static [Shape3],
    /// Whether it has a conditional variant (labels into G, and into D as its conditioning says).
    pub conditional: bool,
    /// Whether its hidden layers' widths can be chosen (`hidden` in the config).
    pub sized: bool,
}

impl ModelEntry {
    /// The shape `gantry models` shows: the first with `channels` channels, or the default.
    pub fn default_shape(&self, channels: Option<usize>) -> Shape3 {
        channels.and_then(|c| self.shapes.iter().find(|s| s[0] == c)).unwrap_or(&self.shapes[0]).to_owned()
    }
}

const fn entry(name: &'static str, description: &'static str, build: Builder, shapes: &'static [Shape3], conditional: bool) -> ModelEntry {
    ModelEntry { name, description, build, shapes, conditional, sized: false }
}

/// Every model: adding one is a file with its builder and a line here.
pub const MODELS: &[ModelEntry] = &[
    entry("mlp-small", "vanilla GAN MLPs (CS231n): G 1024-1024-784 ReLU/Tanh, D 256-256 LeakyReLU(0.01)", mlp::small, &[[1, 28, 28]], true),
    entry("mlp-bn", "MLP GAN with BatchNorm1d (eps 0.8) in G, Sigmoid D (widely copied reference)", mlp::bn, &[[1, 28, 28]], true),
    ModelEntry { sized: true, ..entry("mlp-toy", "2-D toy data: G and D with three hidden layers of 512 ReLU (`hidden` chooses them)", toy::mlp_toy, &[[2, 1, 1]], true) },
    entry("mlp-cgan", "conditional MLP GAN (widely copied reference): mlp-bn generator, D with Dropout(0.4)", mlp::cgan, &[[1, 28, 28]], true),
    entry("dcgan-28", "28x28 DCGAN: 5 ConvTranspose / 5 Conv layers, BatchNorm, no conv bias", dcgan28::build, &[[1, 28, 28], [3, 28, 28]], true),
    entry("dcgan-28-ln", "dcgan-28 with a LayerNorm critic and no Sigmoid (for WGAN-GP, R1, DRAGAN)", dcgan28::layer_norm, &[[1, 28, 28], [3, 28, 28]], true),
    entry("dcgan-infogan", "InfoGAN-style DCGAN (CS231n): FC+ConvT generator, Conv+MaxPool+FC discriminator", infogan::build, &[[1, 28, 28]], false),
    entry("dcgan-upsample", "32x32 DCGAN with nearest upsampling + Conv (1 or 3 channels)", upsample::build, &[[1, 32, 32], [3, 32, 32]], false),
    entry("dcgan-32", "32x32 RGB DCGAN (CIFAR-10): ConvT 512-256-128, Conv 128-256-512", dcgan32::build, &[[3, 32, 32], [1, 32, 32]], true),
    entry("dcgan-64", "64x64 RGB DCGAN (CelebA): ConvT 512-256-128-64, Conv 64-128-256-512", dcgan64::build, &[[3, 64, 64], [1, 64, 64]], false),
];

pub fn model_names() -> Vec<&'static str> {
    MODELS.iter().map(|m| m.name).collect()
}

/// The registry entry of `name`.
pub fn model(name: &str) -> Result<&'static ModelEntry> {
    MODELS.iter().find(|m| m.name == name).ok_or_else(|| Error::config("model", format!("unknown model `{name}`; expected one of: {}", model_names().join(", "))))
}

/// The most hidden layers, and the widest one, that `hidden` accepts.
pub const MAX_HIDDEN_LAYERS: usize = 8;
pub const MAX_HIDDEN_WIDTH: usize = 4096;

impl ModelEntry {
    /// Refuses hidden layer widths for a model whose layers are fixed, and widths out of range.
    pub fn check_hidden(&self, hidden: Option<&[usize]>) -> Result<()> {
        let Some(widths) = hidden else { return Ok(()) };
        if !self.sized {
            let sized: Vec<&str> = MODELS.iter().filter(|m| m.sized).map(|m| m.name).collect();
            return Err(Error::config("hidden", format!("model {} has fixed layers; hidden layer widths apply to {}", self.name, sized.join(", "))));
        }
        if widths.is_empty() || widths.len() > MAX_HIDDEN_LAYERS || widths.iter().any(|&w| w == 0 || w > MAX_HIDDEN_WIDTH) {
            return Err(Error::config("hidden", format!("expected 1 to {MAX_HIDDEN_LAYERS} hidden layers of 1 to {MAX_HIDDEN_WIDTH} neurons each, got {widths:?}")));
        }
        Ok(())
    }

    /// Refuses labels for a model without a conditional variant.
    pub fn check_labels(&self, conditioning: Conditioning) -> Result<()> {
        if conditioning == Conditioning::None || self.conditional {
            return Ok(());
        }
        let with: Vec<&str> = MODELS.iter().filter(|m| m.conditional).map(|m| m.name).collect();
        Err(Error::config("conditioning", format!("model {} has no conditional variant; use {}", self.name, with.join(", "))))
    }
}

pub fn build_spec(name: &str, opts: &ModelOptions) -> Result<GanSpec> {
    let entry = model(name)?;
    entry.check_labels(opts.labels.conditioning())?;
    entry.check_hidden(opts.hidden.as_deref())?;
    if !entry.shapes.contains(&opts.data_shape) {
        return Err(Error::config(
            "model",
            format!("{name} works on data of shape {:?} (channels, height, width), the dataset gives {:?}", entry.shapes, opts.data_shape),
        ));
    }
    let spec = (entry.build)(opts)?;
    // Validate the wiring once, so a bad option is one clear message instead of a panic later.
    let g_out = spec.g.shapes(spec.g_in_shape()).map_err(|e| Error::config("model", format!("{name} generator: {e}")))?;
    if g_out.last() != Some(&spec.x_shape) {
        return Err(Error::config("model", format!("{name} generator outputs {:?}, data is {:?}", g_out.last(), spec.x_shape)));
    }
    let d_out = spec.d.shapes(spec.d_in_shape()).map_err(|e| Error::config("model", format!("{name} discriminator: {e}")))?;
    if d_out.last() != Some(&[opts.d_out(), 1, 1]) {
        return Err(Error::config("model", format!("{name} discriminator outputs {:?}, expected [{}, 1, 1]", d_out.last(), opts.d_out())));
    }
    Ok(spec)
}

