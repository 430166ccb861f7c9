//! CS231n's DCGAN (InfoGAN architecture) for 28x28 images.

use super::gan_spec::{GanSpec, ModelOptions};
use crate::error::Result;
use crate::model::spec::{Init, LayerSpec::*, NetSpec};

pub fn build(o: &ModelOptions) -> Result<GanSpec> {
    let lin = |inp, out| Linear { inp, out, bias: true };
    let bn = |f| BatchNorm { features: f, eps: 1e-5 };
    let g = NetSpec::new(Init::XavierLinearConvT, vec![
        lin(o.z_dim, 1024), Relu, bn(1024),
        lin(1024, 7 * 7 * 128), Relu, bn(7 * 7 * 128),
        Reshape([128, 7, 7]),
        ConvT { inp: 128, out: 64, k: 4, s: 2, p: 1, bias: true }, Relu, bn(64),
        ConvT { inp: 64, out: 1, k: 4, s: 2, p: 1, bias: true }, Tanh,
    ]);
    let d = NetSpec::new(Init::XavierLinearConvT, vec![
        Conv { inp: 1, out: 32, k: 5, s: 1, p: 0, bias: true }, LeakyRelu(0.01), MaxPool2d(2),
        Conv { inp: 32, out: 64, k: 5, s: 1, p: 0, bias: true }, LeakyRelu(0.01), MaxPool2d(2),
        Flatten, lin(1024, 1024), LeakyRelu(0.01), lin(1024, 1),
    ]);
    Ok(GanSpec::new("dcgan-infogan", g, d, o, [1, 28, 28], true))
}
