//! Fully connected GANs on 28x28 images.

use super::{GanSpec, ModelOptions, require_shape};
use crate::error::Result;
use crate::model::spec::{Init, LayerSpec::*, NetSpec};

fn lin(inp: usize, out: usize) -> crate::model::LayerSpec {
    Linear { inp, out, bias: true }
}

/// CS231n's vanilla GAN: Xavier-uniform Linear weights.
pub fn small(o: &ModelOptions) -> Result<GanSpec> {
    require_shape("mlp-small", o, &[[1, 28, 28]])?;
    let g = NetSpec::new(Init::XavierLinear, vec![
        lin(o.z_dim, 1024), Relu, lin(1024, 1024), Relu, lin(1024, 784), Tanh, Reshape([1, 28, 28]),
    ]);
    let d = NetSpec::new(Init::XavierLinear, vec![
        Flatten, lin(784, 256), LeakyRelu(0.01), lin(256, 256), LeakyRelu(0.01), lin(256, 1),
    ]);
    Ok(GanSpec { name: "mlp-small".into(), g, d, z_shape: [o.z_dim, 1, 1], x_shape: [1, 28, 28] })
}

/// The widely copied PyTorch-GAN reference. Its `BatchNorm1d(n, 0.8)` passes 0.8 as *eps*
/// (the second positional argument), not momentum; we keep that value because it is what the
/// published results were trained with.
pub fn bn(o: &ModelOptions) -> Result<GanSpec> {
    require_shape("mlp-bn", o, &[[1, 28, 28]])?;
    Ok(GanSpec { name: "mlp-bn".into(), g: bn_generator(o.z_dim), d: bn_discriminator(), z_shape: [o.z_dim, 1, 1], x_shape: [1, 28, 28] })
}

pub fn bn_generator(inp: usize) -> NetSpec {
    let bn = |f| BatchNorm { features: f, eps: 0.8 };
    NetSpec::new(Init::PytorchDefault, vec![
        lin(inp, 128), LeakyRelu(0.2),
        lin(128, 256), bn(256), LeakyRelu(0.2),
        lin(256, 512), bn(512), LeakyRelu(0.2),
        lin(512, 1024), bn(1024), LeakyRelu(0.2),
        lin(1024, 784), Tanh, Reshape([1, 28, 28]),
    ])
}

fn bn_discriminator() -> NetSpec {
    NetSpec::new(Init::PytorchDefault, vec![
        Flatten, lin(784, 512), LeakyRelu(0.2), lin(512, 256), LeakyRelu(0.2), lin(256, 1), Sigmoid,
    ])
}
