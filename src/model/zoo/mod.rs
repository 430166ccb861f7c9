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

/// How a model is told the class label, validated once: the one description of conditioning
/// shared by the model options, the [`GanSpec`] and the GAN (a config gives its `conditioning`
/// and `label_embedding`; the dataset gives the classes).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels {
    conditioning: Conditioning,
    /// Number of classes (0 when unconditional).
    classes: usize,
    /// A learned label embedding of this size instead of the fixed one-hot.
    embedding: Option<usize>,
}

impl Labels {
    /// Unconditional: no labels reach either network.
    pub const NONE: Labels = Labels { conditioning: Conditioning::None, classes: 0, embedding: None };

    /// `conditioning` over `classes` classes; an unconditional model ignores the classes.
    pub fn new(conditioning: Conditioning, classes: usize, embedding: Option<usize>) -> Result<Labels> {
        Self::check_embedding(embedding)?;
        if conditioning == Conditioning::None {
            return Ok(Labels::NONE);
        }
        if classes < 2 {
            return Err(Error::config("conditioning", "a conditional model needs a labelled dataset (at least 2 classes)".to_string()));
        }
        if classes > 256 {
            return Err(Error::config("conditioning", format!("labels are bytes: at most 256 classes, the dataset has {classes}")));
        }
        Ok(Labels { conditioning, classes, embedding })
    }

    /// The embedding size is checked before the classes are known (a config's own check).
    pub fn check_embedding(embedding: Option<usize>) -> Result<()> {
        if embedding == Some(0) {
            return Err(Error::config("label_embedding", "must be at least 1".to_string()));
        }
        Ok(())
    }

    pub fn conditioning(&self) -> Conditioning {
        self.conditioning
    }

    pub fn is_conditional(&self) -> bool {
        self.conditioning != Conditioning::None
    }

    /// Number of classes (0 when unconditional).
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Every class label, in order (empty when unconditional).
    pub fn all(&self) -> Vec<u8> {
        (0..self.classes).map(|c| c as u8).collect()
    }

    pub fn embedding(&self) -> Option<usize> {
        self.embedding
    }

    /// Features that represent a label: the embedding size, or the one-hot's K (0 when unconditional).
    pub fn label_dim(&self) -> usize {
        if self.is_conditional() { self.embedding.unwrap_or(self.classes) } else { 0 }
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
}

/// What a model needs to know about the data, the latent space and the labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelOptions {
    pub z_dim: usize,
    /// Image (or point) shape of the data: `[channels, height, width]`.
    pub data_shape: Shape3,
    #[serde(default)]
    pub labels: Labels,
}

impl ModelOptions {
    pub fn new(z_dim: usize, data_shape: Shape3) -> Self {
        Self { z_dim, data_shape, labels: Labels::NONE }
    }

    pub fn with_labels(mut self, labels: Labels) -> Self {
        self.labels = labels;
        self
    }

    /// Generator input features: z, plus the label for every conditional model.
    pub fn g_in(&self) -> usize {
        self.z_dim + self.labels.label_dim()
    }

    pub fn d_extra(&self) -> usize {
        self.labels.d_extra()
    }

    pub fn d_out(&self) -> usize {
        self.labels.d_out()
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
    pub labels: Labels,
    /// Whether D takes a concatenated label as tiled image planes (conv) or as extra features (MLP).
    #[serde(default)]
    pub label_planes: bool,
}

impl GanSpec {
    /// A pair for `o` (its labels included).
    pub fn new(name: &str, g: NetSpec, d: NetSpec, o: &ModelOptions, x_shape: Shape3, label_planes: bool) -> Self {
        GanSpec {
            name: name.into(),
            g,
            d,
            z_shape: [o.z_dim, 1, 1],
            x_shape,
            labels: o.labels,
            label_planes,
        }
    }

    /// Number of classes (0 when unconditional).
    pub fn classes(&self) -> usize {
        self.labels.classes()
    }

    /// What G's first layer sees per sample: `[z + label features, 1, 1]` for conditional models.
    pub fn g_in_shape(&self) -> Shape3 {
        [self.z_shape[0] + self.labels.label_dim(), 1, 1]
    }

    /// What D's first layer sees per sample.
    pub fn d_in_shape(&self) -> Shape3 {
        let [c, h, w] = self.x_shape;
        match (self.labels.d_extra(), self.label_planes) {
            (0, _) => self.x_shape,
            (extra, true) => [c + extra, h, w],
            (extra, false) => [c * h * w + extra, 1, 1],
        }
    }
}

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
}

impl ModelEntry {
    /// The shape `gantry models` shows: the first with `channels` channels, or the default.
    pub fn default_shape(&self, channels: Option<usize>) -> Shape3 {
        channels.and_then(|c| self.shapes.iter().find(|s| s[0] == c)).unwrap_or(&self.shapes[0]).to_owned()
    }
}

const fn entry(name: &'static str, description: &'static str, build: Builder, shapes: &'static [Shape3], conditional: bool) -> ModelEntry {
    ModelEntry { name, description, build, shapes, conditional }
}

/// Every model: adding one is a file with its builder and a line here.
pub const MODELS: &[ModelEntry] = &[
    entry("mlp-small", "vanilla GAN MLPs (CS231n): G 1024-1024-784 ReLU/Tanh, D 256-256 LeakyReLU(0.01)", mlp::small, &[[1, 28, 28]], true),
    entry("mlp-bn", "MLP GAN with BatchNorm1d (eps 0.8) in G, Sigmoid D (widely copied reference)", mlp::bn, &[[1, 28, 28]], true),
    entry("mlp-toy", "2-D toy data: G and D with three hidden layers of 512 ReLU", toy::mlp_toy, &[[2, 1, 1]], true),
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

impl ModelEntry {
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

