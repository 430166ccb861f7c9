//! Fully connected GANs on 28x28 images. Conditional variants take [z, one-hot] in G and
//! [flatten(x), one-hot] in D.

use super::gan_spec::{GanSpec, ModelOptions};
use crate::error::Result;
use crate::model::spec::{Init, LayerSpec::*, NetSpec};

fn lin(inp: usize, out: usize) -> crate::model::LayerSpec {
    Linear { inp, out, bias: true }
}

/// CS231n's vanilla GAN: Xavier-uniform Linear weights.
pub fn small(o: &ModelOptions) -> Result<GanSpec> {
    let g = NetSpec::new(Init::XavierLinear, vec![
        lin(o.g_in(), 1024), Relu, lin(1024, 1024), Relu, lin(1024, 784), Tanh, Reshape([1, 28, 28]),
    ]);
    let d = NetSpec::new(Init::XavierLinear, vec![
        Flatten, lin(784 + o.d_extra(), 256), LeakyRelu(0.01), lin(256, 256), LeakyRelu(0.01), lin(256, o.d_out()),
    ]);
    Ok(GanSpec::new("mlp-small", g, d, o, [1, 28, 28], false))
}

/// The widely copied PyTorch-GAN reference. Its `BatchNorm1d(n, 0.8)` passes 0.8 as *eps*
/// (the second positional argument), not momentum; we keep that value because it is what the
/// published results were trained with.
pub fn bn(o: &ModelOptions) -> Result<GanSpec> {
    let d = NetSpec::new(Init::PytorchDefault, vec![
        Flatten, lin(784 + o.d_extra(), 512), LeakyRelu(0.2), lin(512, 256), LeakyRelu(0.2), lin(256, o.d_out()), Sigmoid,
    ]);
    Ok(GanSpec::new("mlp-bn", bn_generator(o.g_in()), d, o, [1, 28, 28], false))
}

/// The conditional GAN of the same reference: the `mlp-bn` generator and a D with Dropout(0.4)
/// and no Sigmoid (it is trained with the least-squares loss).
pub fn cgan(o: &ModelOptions) -> Result<GanSpec> {
    let d = NetSpec::new(Init::PytorchDefault, vec![
        Flatten,
        lin(784 + o.d_extra(), 512), LeakyRelu(0.2),
        lin(512, 512), Dropout(0.4), LeakyRelu(0.2),
        lin(512, 512), Dropout(0.4), LeakyRelu(0.2),
        lin(512, o.d_out()),
    ]);
    Ok(GanSpec::new("mlp-cgan", bn_generator(o.g_in()), d, o, [1, 28, 28], false))
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
