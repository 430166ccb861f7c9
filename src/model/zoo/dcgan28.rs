//! The 28x28 DCGAN of the course material (and of `../shared/golden/dcgan_step`; 1 channel, or 3
//! for Stacked MNIST), and its
//! LayerNorm-critic variant for gradient penalties (WGAN-GP refuses BatchNorm critics).

use super::gan_spec::{GanSpec, ModelOptions};
use crate::error::Result;
use crate::model::spec::{Init, LayerSpec, LayerSpec::*, NetSpec};

fn generator(o: &ModelOptions) -> NetSpec {
    let convt = |inp, out, k, s, p| ConvT { inp, out, k, s, p, bias: false };
    let bn = |f| BatchNorm { features: f, eps: 1e-5 };
    NetSpec::new(Init::PytorchDefault, vec![
        convt(o.g_in(), 256, 4, 2, 1), bn(256), Relu,
        convt(256, 128, 4, 2, 1), bn(128), Relu,
        convt(128, 64, 4, 2, 1), bn(64), Relu,
        convt(64, 32, 4, 2, 1), bn(32), Relu,
        convt(32, o.data_shape[0], 2, 2, 2), Tanh,
    ])
}

/// D with `norm(channels, side)` after the 2nd-4th convolutions; `sigmoid` for the BCE original.
fn discriminator(o: &ModelOptions, norm: impl Fn(usize, usize) -> LayerSpec, sigmoid: bool) -> NetSpec {
    let conv = |inp, out, k, s, p| Conv { inp, out, k, s, p, bias: false };
    let mut layers = vec![
        conv(o.data_shape[0] + o.d_extra(), 32, 2, 2, 2), LeakyRelu(0.02),
        conv(32, 64, 4, 2, 1), norm(64, 8), LeakyRelu(0.02),
        conv(64, 128, 4, 2, 1), norm(128, 4), LeakyRelu(0.02),
        conv(128, 256, 4, 2, 1), norm(256, 2), LeakyRelu(0.02),
        Conv { inp: 256, out: o.d_out(), k: 4, s: 2, p: 1, bias: true },
    ];
    if sigmoid {
        layers.push(Sigmoid);
    }
    NetSpec::new(Init::PytorchDefault, layers)
}

pub fn build(o: &ModelOptions) -> Result<GanSpec> {
    let d = discriminator(o, |f, _| BatchNorm { features: f, eps: 1e-5 }, true);
    Ok(GanSpec::new("dcgan-28", generator(o), d, o, o.data_shape, true))
}

/// `dcgan-28` with LayerNorm([C, H, W]) in place of the critic's BatchNorm and no Sigmoid.
pub fn layer_norm(o: &ModelOptions) -> Result<GanSpec> {
    let d = discriminator(o, |f, side| LayerNorm { shape: vec![f, side, side] }, false);
    Ok(GanSpec::new("dcgan-28-ln", generator(o), d, o, o.data_shape, true))
}
