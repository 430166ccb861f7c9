//! The generator's prior: the distribution its noise vectors z are drawn from.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Noise {
    /// Standard normal z.
    Normal,
    /// Uniform in [-1, 1].
    Uniform,
}

/// `n` noise vectors of shape `z` (normal, or uniform in [-1, 1]).
pub fn noise(kind: Noise, n: usize, z: [usize; 3], rng: &mut Rng, device: &Device) -> Tensor<4> {
    let len = n * z.iter().product::<usize>();
    let v = match kind {
        Noise::Normal => rng.normal_vec(len),
        Noise::Uniform => rng.uniform_vec(len, -1.0, 1.0),
    };
    Tensor::from_data(TensorData::new(v, [n, z[0], z[1], z[2]]), device)
}
