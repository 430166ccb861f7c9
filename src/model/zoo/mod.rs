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

/// How a model is told the class label.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Conditioning {
    /// Unconditional.
    #[default]
    None,
    /// One-hot label concatenated to z and to D's input (a vector for MLP critics, tiled planes
    /// for convolutional ones).
    Concat,
    /// ACGAN (Odena et al. 2017): G gets [z, one-hot]; D has a real/fake head and a class head.
    Acgan,
    /// Projection discriminator (Miyato & Koyama 2018): D(x, y) = ψ(φ(x)) + embed(y)·φ(x).
    Projection,
}

/// What a model needs to know about the data, the latent space and the labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelOptions {
    pub z_dim: usize,
    /// Image (or point) shape of the data: `[channels, height, width]`.
    pub data_shape: Shape3,
    #[serde(default)]
    pub classes: usize,
    #[serde(default)]
    pub conditioning: Conditioning,
    /// A learned label embedding of this size instead of the fixed one-hot (G's input, and D's
    /// for concatenation).
    #[serde(default)]
    pub label_embedding: Option<usize>,
}

impl ModelOptions {
    pub fn new(z_dim: usize, data_shape: Shape3) -> Self {
        Self { z_dim, data_shape, classes: 0, conditioning: Conditioning::None, label_embedding: None }
    }

    pub fn conditional(mut self, conditioning: Conditioning, classes: usize) -> Self {
        self.conditioning = conditioning;
        self.classes = if conditioning == Conditioning::None { 0 } else { classes };
        self
    }

    pub fn with_label_embedding(mut self, dim: Option<usize>) -> Self {
        self.label_embedding = dim;
        self
    }

    fn k(&self) -> usize {
        if self.conditioning == Conditioning::None { 0 } else { self.classes }
    }

    /// Features that represent a label: the embedding size, or the one-hot's K.
    fn label_dim(&self) -> usize {
        if self.k() == 0 { 0 } else { self.label_embedding.unwrap_or(self.classes) }
    }

    /// Generator input features: z, plus the one-hot label for every conditional model.
    pub fn g_in(&self) -> usize {
        self.z_dim + self.label_dim()
    }

    /// Extra discriminator input channels (or features, for MLPs): the label, when concatenated.
    pub fn d_extra(&self) -> usize {
        if self.conditioning == Conditioning::Concat { self.label_dim() } else { 0 }
    }

    /// Discriminator outputs: the score, plus one per class for ACGAN (class logits) and the
    /// projection discriminator (the class-embedding products).
    pub fn d_out(&self) -> usize {
        match self.conditioning {
            Conditioning::Acgan | Conditioning::Projection => 1 + self.classes,
            _ => 1,
        }
    }

    /// For models without a conditional variant.
    pub(crate) fn require_unconditional(&self, model: &str) -> Result<()> {
        if self.conditioning == Conditioning::None {
            Ok(())
        } else {
            Err(Error::config(
                "conditioning",
                format!("model {model} has no conditional variant; use mlp-small, mlp-bn, mlp-cgan, mlp-toy, dcgan-28, dcgan-28-ln or dcgan-32"),
            ))
        }
    }
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
    #[serde(default)]
    pub classes: usize,
    #[serde(default)]
    pub conditioning: Conditioning,
    /// Whether D takes a concatenated label as tiled image planes (conv) or as extra features (MLP).
    #[serde(default)]
    pub label_planes: bool,
    /// Size of the learned label embedding (None: one-hot labels).
    #[serde(default)]
    pub label_embedding: Option<usize>,
}

impl GanSpec {
    /// A pair for `o`; conditioning fields are filled in by [`build_spec`].
    pub fn new(name: &str, g: NetSpec, d: NetSpec, o: &ModelOptions, x_shape: Shape3, label_planes: bool) -> Self {
        GanSpec {
            name: name.into(),
            g,
            d,
            z_shape: [o.z_dim, 1, 1],
            x_shape,
            classes: 0,
            conditioning: Conditioning::None,
            label_planes,
            label_embedding: None,
        }
    }

    /// Features per label: the embedding size or the one-hot's K (0 when unconditional).
    pub fn label_dim(&self) -> usize {
        if self.conditioning == Conditioning::None { 0 } else { self.label_embedding.unwrap_or(self.classes) }
    }

    /// What G's first layer sees per sample: `[z + classes, 1, 1]` for conditional models.
    pub fn g_in_shape(&self) -> Shape3 {
        [self.z_shape[0] + self.label_dim(), 1, 1]
    }

    /// What D's first layer sees per sample.
    pub fn d_in_shape(&self) -> Shape3 {
        let [c, h, w] = self.x_shape;
        match (self.conditioning, self.label_planes) {
            (Conditioning::Concat, true) => [c + self.label_dim(), h, w],
            (Conditioning::Concat, false) => [c * h * w + self.label_dim(), 1, 1],
            _ => self.x_shape,
        }
    }
}

type Builder = fn(&ModelOptions) -> Result<GanSpec>;

/// Every model: name, one-line description, builder.
pub const MODELS: &[(&str, &str, Builder)] = &[
    ("mlp-small", "vanilla GAN MLPs (CS231n): G 1024-1024-784 ReLU/Tanh, D 256-256 LeakyReLU(0.01)", mlp::small),
    ("mlp-bn", "MLP GAN with BatchNorm1d (eps 0.8) in G, Sigmoid D (widely copied reference)", mlp::bn),
    ("mlp-toy", "2-D toy data: G and D with three hidden layers of 512 ReLU", toy::mlp_toy),
    ("mlp-cgan", "conditional MLP GAN (widely copied reference): mlp-bn generator, D with Dropout(0.4)", mlp::cgan),
    ("dcgan-28", "28x28 DCGAN: 5 ConvTranspose / 5 Conv layers, BatchNorm, no conv bias", dcgan28::build),
    ("dcgan-28-ln", "dcgan-28 with a LayerNorm critic and no Sigmoid (for WGAN-GP, R1, DRAGAN)", dcgan28::layer_norm),
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
    if opts.conditioning != Conditioning::None && opts.classes < 2 {
        return Err(Error::config("conditioning", "a conditional model needs a labelled dataset (at least 2 classes)".to_string()));
    }
    let mut spec = build(opts)?;
    spec.classes = opts.k();
    spec.conditioning = opts.conditioning;
    spec.label_embedding = if opts.k() > 0 { opts.label_embedding } else { None };
    if spec.label_embedding == Some(0) {
        return Err(Error::config("label_embedding", "must be at least 1".to_string()));
    }
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
