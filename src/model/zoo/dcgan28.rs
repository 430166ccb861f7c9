//! The 28x28 DCGAN of the course material (and of `../shared/golden/dcgan_step`).

use super::{GanSpec, ModelOptions, require_shape};
use crate::error::Result;
use crate::model::spec::{Init, LayerSpec::*, NetSpec};

pub fn build(o: &ModelOptions) -> Result<GanSpec> {
    require_shape("dcgan-28", o, &[[1, 28, 28]])?;
    let convt = |inp, out, k, s, p| ConvT { inp, out, k, s, p, bias: false };
    let conv = |inp, out, k, s, p| Conv { inp, out, k, s, p, bias: false };
    let bn = |f| BatchNorm { features: f, eps: 1e-5 };
    let g = NetSpec::new(Init::PytorchDefault, vec![
        convt(o.z_dim, 256, 4, 2, 1), bn(256), Relu,
        convt(256, 128, 4, 2, 1), bn(128), Relu,
        convt(128, 64, 4, 2, 1), bn(64), Relu,
        convt(64, 32, 4, 2, 1), bn(32), Relu,
        convt(32, 1, 2, 2, 2), Tanh,
    ]);
    let d = NetSpec::new(Init::PytorchDefault, vec![
        conv(1, 32, 2, 2, 2), LeakyRelu(0.02),
        conv(32, 64, 4, 2, 1), bn(64), LeakyRelu(0.02),
        conv(64, 128, 4, 2, 1), bn(128), LeakyRelu(0.02),
        conv(128, 256, 4, 2, 1), bn(256), LeakyRelu(0.02),
        Conv { inp: 256, out: 1, k: 4, s: 2, p: 1, bias: true }, Sigmoid,
    ]);
    Ok(GanSpec { name: "dcgan-28".into(), g, d, z_shape: [o.z_dim, 1, 1], x_shape: [1, 28, 28] })
}
