//! What the model builders share: [`ModelOptions`] in (data shape, latent size, [`Labels`] and
//! their [`Conditioning`]), [`GanSpec`] out.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::spec::{NetSpec, Shape3};

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
    /// Hidden layer widths for models that take them (`ModelEntry::sized`); None: the model's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Vec<usize>>,
}

impl ModelOptions {
    pub fn new(z_dim: usize, data_shape: Shape3) -> Self {
        Self { z_dim, data_shape, labels: Labels::NONE, hidden: None }
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
