//! The PyTorch-GAN reference DCGAN: nearest upsampling + Conv in G, strided Conv + Dropout2d in D.
//! BatchNorm eps 0.8 comes from its `BatchNorm2d(n, 0.8)` (second positional argument = eps).

use super::gan_spec::{GanSpec, ModelOptions};
use crate::error::Result;
use crate::model::spec::{Init, LayerSpec::*, NetSpec};

pub fn build(o: &ModelOptions) -> Result<GanSpec> {
    let c = o.data_shape[0];
    let conv = |inp, out, k, s, p| Conv { inp, out, k, s, p, bias: true };
    let g = NetSpec::new(Init::DcganPaper, vec![
        Linear { inp: o.z_dim, out: 128 * 8 * 8, bias: true }, Reshape([128, 8, 8]),
        BatchNorm { features: 128, eps: 1e-5 },
        Upsample2x, conv(128, 128, 3, 1, 1), BatchNorm { features: 128, eps: 0.8 }, Relu,
        Upsample2x, conv(128, 64, 3, 1, 1), BatchNorm { features: 64, eps: 0.8 }, Relu,
        conv(64, c, 3, 1, 1), Tanh,
    ]);
    let mut d = vec![];
    for (i, (inp, out)) in [(c, 16), (16, 32), (32, 64), (64, 128)].into_iter().enumerate() {
        d.extend([conv(inp, out, 3, 2, 1), LeakyRelu(0.2), Dropout2d(0.25)]);
        if i > 0 {
            d.push(BatchNorm { features: out, eps: 0.8 });
        }
    }
    d.extend([Flatten, Linear { inp: 128 * 2 * 2, out: 1, bias: true }, Sigmoid]);
    let d = NetSpec::new(Init::DcganPaper, d);
    Ok(GanSpec::new("dcgan-upsample", g, d, o, [c, 32, 32], true))
}
