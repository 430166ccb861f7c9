//! DCGAN for 64x64 RGB images (CelebA): the `dcgan-32` pattern one level deeper, with the widths of
//! the DCGAN reference (ngf = ndf = 64). No conv bias; DCGAN-paper initialisation.

use super::gan_spec::{GanSpec, ModelOptions};
use crate::error::Result;
use crate::model::spec::{Init, LayerSpec::*, NetSpec};

pub fn build(o: &ModelOptions) -> Result<GanSpec> {
    let c = o.data_shape[0];
    let convt = |inp, out, k, s, p| ConvT { inp, out, k, s, p, bias: false };
    let conv = |inp, out, k, s, p| Conv { inp, out, k, s, p, bias: false };
    let bn = |f| BatchNorm { features: f, eps: 1e-5 };
    let g = NetSpec::new(Init::DcganPaper, vec![
        convt(o.z_dim, 512, 4, 1, 0), bn(512), Relu,
        convt(512, 256, 4, 2, 1), bn(256), Relu,
        convt(256, 128, 4, 2, 1), bn(128), Relu,
        convt(128, 64, 4, 2, 1), bn(64), Relu,
        convt(64, c, 4, 2, 1), Tanh,
    ]);
    let d = NetSpec::new(Init::DcganPaper, vec![
        conv(c, 64, 4, 2, 1), LeakyRelu(0.2),
        conv(64, 128, 4, 2, 1), bn(128), LeakyRelu(0.2),
        conv(128, 256, 4, 2, 1), bn(256), LeakyRelu(0.2),
        conv(256, 512, 4, 2, 1), bn(512), LeakyRelu(0.2),
        conv(512, 1, 4, 1, 0), Sigmoid,
    ]);
    Ok(GanSpec::new("dcgan-64", g, d, o, [c, 64, 64], true))
}
