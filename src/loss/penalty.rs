//! Input-gradient penalties on the critic: WGAN-GP (Gulrajani et al. 2017), R1 (Mescheder et al.
//! 2018) and DRAGAN (Kodali et al. 2017). All three are functions of ∇x D(x) at some points; the
//! gradient itself comes from [`crate::model::input_grad`], so that autodiff of the penalty gives
//! the exact second-order term.

use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::model::input_grad::{per_sample_norm, per_sample_sq_norm};
use crate::rng::Rng;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Penalty {
    /// weight · mean((‖∇D(x̂)‖₂ − 1)²) on x̂ = α·x + (1−α)·G(z), α ~ U(0,1) per sample.
    Gp {
        #[serde(default = "ten")]
        weight: f64,
    },
    /// γ/2 · mean(‖∇D(x)‖²) on the real batch.
    R1 {
        #[serde(default = "ten")]
        gamma: f64,
    },
    /// weight · mean((‖∇D(x̃)‖₂ − 1)²) on x̃ = x + α·scale·std(x)·u, α, u ~ U(0,1): points around
    /// the real data (the reference implementation's perturbation).
    Dragan {
        #[serde(default = "ten")]
        weight: f64,
        #[serde(default = "half")]
        scale: f64,
    },
}

/// The penalties by name, as `--penalty` gives them (`none` removes a config's penalty).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PenaltyKind {
    /// WGAN-GP on interpolates.
    Gp,
    /// R1 on the real batch.
    R1,
    /// DRAGAN around the real data.
    Dragan,
    None,
}

impl PenaltyKind {
    /// The penalty of this kind with `weight` (λ, or R1's γ; default 10) and default settings.
    pub fn with_weight(self, weight: Option<f64>) -> Option<Penalty> {
        let w = weight.unwrap_or_else(ten);
        match self {
            Self::Gp => Some(Penalty::Gp { weight: w }),
            Self::R1 => Some(Penalty::R1 { gamma: w }),
            Self::Dragan => Some(Penalty::Dragan { weight: w, scale: half() }),
            Self::None => None,
        }
    }
}

fn ten() -> f64 {
    10.0
}
fn half() -> f64 {
    0.5
}

impl Penalty {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Gp { .. } => "WGAN-GP",
            Self::R1 { .. } => "R1",
            Self::Dragan { .. } => "DRAGAN",
        }
    }

    pub fn validate(&self) -> crate::Result<()> {
        let (w, extra) = match *self {
            Self::Gp { weight } => (weight, 1.0),
            Self::R1 { gamma } => (gamma, 1.0),
            Self::Dragan { weight, scale } => (weight, scale),
        };
        if !(w.is_finite() && w >= 0.0 && extra.is_finite() && extra > 0.0) {
            return Err(crate::Error::config("penalty", "weights must be finite and >= 0 (DRAGAN's scale > 0)".to_string()));
        }
        Ok(())
    }

    /// Where the penalty looks at the critic's gradient (`None`: on the real batch itself).
    pub fn points(&self, real: &Tensor<4>, fake: &Tensor<4>, rng: &mut Rng) -> Option<Tensor<4>> {
        let n = real.dims()[0];
        let device = real.device();
        let alpha = Tensor::<4>::from_data(TensorData::new(rng.uniform_vec(n, 0.0, 1.0), [n, 1, 1, 1]), &device);
        match *self {
            Self::Gp { .. } => Some(interpolate(real.clone().detach(), fake.clone().detach(), alpha)),
            Self::R1 { .. } => None,
            Self::Dragan { scale, .. } => {
                let real = real.clone().detach();
                // The batch's standard deviation stays on the device (no read-back inside a step).
                let std = real.clone().flatten::<1>(0, 3).var(0).sqrt().reshape([1, 1, 1, 1]);
                let u = Tensor::<4>::from_data(TensorData::new(rng.uniform_vec(real.shape().num_elements(), 0.0, 1.0), real.dims()), &device);
                Some(real + alpha * (u * std).mul_scalar(scale))
            }
        }
    }

    /// The weighted penalty from the input gradient at the points, and the per-sample gradient norms.
    pub fn value(&self, grad: Tensor<4>) -> (Tensor<1>, Tensor<1>) {
        match *self {
            Self::Gp { weight } | Self::Dragan { weight, .. } => {
                let norms = per_sample_norm(grad);
                (norms.clone().sub_scalar(1.0).powi_scalar(2).mean().mul_scalar(weight), norms)
            }
            Self::R1 { gamma } => {
                let sq = per_sample_sq_norm(grad);
                (sq.clone().mean().mul_scalar(gamma / 2.0), sq.detach().sqrt())
            }
        }
    }
}

/// x̂ = α·real + (1−α)·fake with α of shape `[N, 1, 1, 1]`.
pub fn interpolate(real: Tensor<4>, fake: Tensor<4>, alpha: Tensor<4>) -> Tensor<4> {
    real * alpha.clone() + fake * alpha.neg().add_scalar(1.0)
}
