//! GAN losses on raw discriminator scores. For the BCE family the scores are logits (D(x) =
//! sigmoid(score)); every log-sigmoid is computed stably, so saturated discriminators give finite
//! losses and gradients.

use burn::tensor::{Device, Tensor, TensorData, activation};
use serde::{Deserialize, Serialize};

pub mod penalty;
pub use penalty::Penalty;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum GanLoss {
    /// BCE for D; non-saturating -log D(G(z)) for G (the default).
    Bce,
    /// BCE for D; the original minimax log(1 - D(G(z))) for G.
    BceMinimax,
    /// Least squares (LSGAN): 0.5(D(x)-1)^2 + 0.5 D(G(z))^2 and 0.5(D(G(z))-1)^2.
    Lsgan,
    /// Wasserstein critic: D(G(z)) - D(x); G: -D(G(z)).
    Wgan,
    /// Hinge: relu(1 - D(x)) + relu(1 + D(G(z))); G: -D(G(z)).
    Hinge,
}

impl GanLoss {
    /// Discriminator loss (a 1-element tensor) from scores on real and fake batches.
    pub fn d_loss(self, real: Tensor<1>, fake: Tensor<1>) -> Tensor<1> {
        match self {
            Self::Bce | Self::BceMinimax => softplus(-real).mean() + softplus(fake).mean(),
            Self::Lsgan => (real.sub_scalar(1.0).powi_scalar(2).mean() + fake.powi_scalar(2).mean()).mul_scalar(0.5),
            Self::Wgan => fake.mean() - real.mean(),
            Self::Hinge => activation::relu(real.neg().add_scalar(1.0)).mean() + activation::relu(fake.add_scalar(1.0)).mean(),
        }
    }

    /// Generator loss from the discriminator's scores on fakes.
    pub fn g_loss(self, fake: Tensor<1>) -> Tensor<1> {
        match self {
            Self::Bce => softplus(-fake).mean(),
            Self::BceMinimax => -softplus(fake).mean(),
            Self::Lsgan => fake.sub_scalar(1.0).powi_scalar(2).mean().mul_scalar(0.5),
            Self::Wgan | Self::Hinge => fake.mean().neg(),
        }
    }

    /// The number shown as "D(x)": a probability for the BCE family, the raw score otherwise.
    pub fn d_output(self, scores: Tensor<1>) -> Tensor<1> {
        if self.d_output_is_probability() { activation::sigmoid(scores) } else { scores }
    }

    /// Whether "D(x)" is a probability in [0, 1] (the BCE family) rather than a raw score.
    pub fn d_output_is_probability(self) -> bool {
        matches!(self, Self::Bce | Self::BceMinimax)
    }

    /// Whether D is a critic with unbounded scores (the Wasserstein estimate is logged).
    pub fn is_critic(self) -> bool {
        matches!(self, Self::Wgan | Self::Hinge)
    }
}

/// log(1 + exp(x)) without overflow: relu(x) + log1p(exp(-|x|)).
pub fn softplus(x: Tensor<1>) -> Tensor<1> {
    activation::relu(x.clone()) + x.abs().neg().exp().log1p()
}

/// `[N, K]` one-hot rows for `labels`.
pub fn one_hot(labels: &[u8], classes: usize, device: &Device) -> Tensor<2> {
    let mut v = vec![0f32; labels.len() * classes];
    for (i, &y) in labels.iter().enumerate() {
        v[i * classes + y as usize] = 1.0;
    }
    Tensor::from_data(TensorData::new(v, [labels.len(), classes]), device)
}

/// Mean cross-entropy of class logits `[N, K]` against `labels` (log-softmax inside: no softmax
/// may be applied before it).
/// Share of rows whose largest logit is the label's, as a 1-element device tensor.
pub fn accuracy(logits: Tensor<2>, labels: &[u8]) -> Tensor<1> {
    let n = labels.len();
    let device = logits.device();
    let truth = Tensor::<1>::from_data(TensorData::new(labels.iter().map(|&y| y as f32).collect::<Vec<f32>>(), [n]), &device);
    logits.argmax(1).float().reshape([n]).equal(truth).float().mean()
}

pub fn cross_entropy(logits: Tensor<2>, labels: &[u8]) -> Tensor<1> {
    let k = logits.dims()[1];
    let device = logits.device();
    let picked = activation::log_softmax(logits, 1) * one_hot(labels, k, &device);
    picked.sum_dim(1).mean().neg()
}
