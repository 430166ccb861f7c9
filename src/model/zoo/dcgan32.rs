//! DCGAN for 32x32 RGB images (CIFAR-10). Convolutions carry no bias (BatchNorm follows them, as in
//! the DCGAN reference implementation); DCGAN-paper initialisation.

use super::gan_spec::{GanSpec, ModelOptions};
use crate::error::Result;
use crate::model::spec::{Init, LayerSpec::*, NetSpec};

pub fn build(o: &ModelOptions) -> Result<GanSpec> {
    let c = o.data_shape[0];
    let convt = |inp, out, k, s, p| ConvT { inp, out, k, s, p, bias: false };
    let conv = |inp, out, k, s, p| Conv { inp, out, k, s, p, bias: false };
    let bn = |f| BatchNorm { features: f, eps: 1e-5 };
    let g = NetSpec::new(Init::DcganPaper, vec![
        convt(o.g_in(), 512, 4, 1, 0), bn(512), Relu,
        convt(512, 256, 4, 2, 1), bn(256), Relu,
        convt(256, 128, 4, 2, 1), bn(128), Relu,
        convt(128, c, 4, 2, 1), Tanh,
    ]);
    let d = NetSpec::new(Init::DcganPaper, vec![
        conv(c + o.d_extra(), 128, 4, 2, 1), LeakyRelu(0.2),
        conv(128, 256, 4, 2, 1), bn(256), LeakyRelu(0.2),
        conv(256, 512, 4, 2, 1), bn(512), LeakyRelu(0.2),
        Conv { inp: 512, out: o.d_out(), k: 4, s: 1, p: 0, bias: false }, Sigmoid,
    ]);
    Ok(GanSpec::new("dcgan-32", g, d, o, [c, 32, 32], true))
}
