//! MLPs for the 2-D toy mixtures (points are `[2, 1, 1]`): three hidden layers of 512 ReLU, or the
//! widths `hidden` gives (the playground's layers and neurons).

use super::gan_spec::{GanSpec, ModelOptions};
use crate::error::Result;
use crate::model::spec::{Init, LayerSpec, LayerSpec::*, NetSpec};

pub fn mlp_toy(o: &ModelOptions) -> Result<GanSpec> {
    let hidden = o.hidden.clone().unwrap_or_else(|| vec![512; 3]);
    let mlp = |inp: usize, out: usize| {
        let mut layers: Vec<LayerSpec> = Vec::new();
        let mut width = inp;
        for &h in &hidden {
            layers.extend([Linear { inp: width, out: h, bias: true }, Relu]);
            width = h;
        }
        layers.push(Linear { inp: width, out, bias: true });
        NetSpec::new(Init::PytorchDefault, layers)
    };
    Ok(GanSpec::new("mlp-toy", mlp(o.g_in(), 2), mlp(2 + o.d_extra(), o.d_out()), o, [2, 1, 1], true))
}
