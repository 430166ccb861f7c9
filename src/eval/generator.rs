//! What evaluation needs of a generator: a batch from noise and optional labels, its shapes,
//! its classes and its prior. A run's trained model and a generator under training are both a
//! [`GeneratorNet`], which implements it; evaluation never needs to know how it was trained.

use burn::tensor::{Device, Tensor, TensorData};

use crate::device::read_back;
use crate::error::{Error, Result};
use crate::model::{GeneratorNet, Noise, noise};
use crate::rng::Rng;

pub trait Generator {
    /// Samples `[N, C, H, W]` in [-1, 1] (or `[N, 2, 1, 1]` points) for noise `z`
    /// (`[N, z_shape]`) and, for a conditional generator, one label per sample; in eval mode.
    fn generate(&self, z: Tensor<4>, labels: Option<&[u8]>) -> Tensor<4>;
    /// The shape of one noise vector.
    fn z_shape(&self) -> [usize; 3];
    /// The shape of one sample.
    fn x_shape(&self) -> [usize; 3];
    /// Classes of a conditional generator; 0 for an unconditional one.
    fn classes(&self) -> usize;
    /// The distribution z is drawn from.
    fn noise(&self) -> Noise;
    fn device(&self) -> Device;
}

impl Generator for GeneratorNet {
    fn generate(&self, z: Tensor<4>, labels: Option<&[u8]>) -> Tensor<4> {
        self.forward(z, labels, true)
    }
    fn z_shape(&self) -> [usize; 3] {
        self.spec.z_shape
    }
    fn x_shape(&self) -> [usize; 3] {
        self.spec.x_shape
    }
    fn classes(&self) -> usize {
        self.spec.classes()
    }
    fn noise(&self) -> Noise {
        self.noise
    }
    fn device(&self) -> Device {
        GeneratorNet::device(self)
    }
}

/// Samples per generator call when many are drawn.
const BATCH: usize = 500;

/// `n` samples of noise seed `seed` in batches of 500, with a progress bar; a conditional
/// generator gets the classes in turn (0, 1, …), returned beside the samples.
pub fn generate_n(g: &dyn Generator, n: usize, seed: u64, quiet: bool) -> Result<(Tensor<4>, Option<Vec<u8>>)> {
    if n == 0 {
        return Err(Error::config("n", "at least 1 sample is needed"));
    }
    let (classes, device) = (g.classes(), g.device());
    let mut rng = Rng::derived(seed, "eval-noise", 0);
    let labels = (classes > 0).then(|| (0..n).map(|i| (i % classes) as u8).collect::<Vec<u8>>());
    let bar = crate::progress::bar(n as u64, quiet, "generating");
    let mut parts = Vec::new();
    for start in (0..n).step_by(BATCH) {
        let m = (n - start).min(BATCH);
        let z = noise(g.noise(), m, g.z_shape(), &mut rng, &device);
        parts.push(g.generate(z, labels.as_ref().map(|y| &y[start..start + m])));
        bar.inc(m as u64);
    }
    bar.finish_and_clear();
    Ok((Tensor::cat(parts, 0), labels))
}

/// Samples of the given z vectors (each of the generator's z size), all of `class` for a
/// conditional generator (class 0 if none).
pub fn from_z(g: &dyn Generator, zs: &[Vec<f32>], class: Option<u8>) -> Result<Tensor<4>> {
    let zlen: usize = g.z_shape().iter().product();
    if let Some(z) = zs.iter().find(|z| z.len() != zlen) {
        return Err(Error::config("z", format!("the z vectors have {} values; this generator takes {zlen}", z.len())));
    }
    let [a, b, c] = g.z_shape();
    let z = Tensor::<4>::from_data(TensorData::new(zs.concat(), [zs.len(), a, b, c]), &g.device());
    let labels = (g.classes() > 0).then(|| vec![class.unwrap_or(0); zs.len()]);
    Ok(g.generate(z, labels.as_deref()))
}

/// The noise vector of seed `seed` that interpolation between seeds starts from.
pub fn seed_z(g: &dyn Generator, seed: u64) -> Vec<f32> {
    read_back(&noise(g.noise(), 1, g.z_shape(), &mut Rng::derived(seed, "interpolate", 0), &g.device()))
}

/// Whether `g` makes 2-D points (the toy mixtures) rather than images.
pub fn makes_points(g: &dyn Generator) -> bool {
    let [_, h, w] = g.x_shape();
    h == 1 && w == 1
}
