//! MLPs for the 2-D toy mixtures (points are `[2, 1, 1]`).

use super::gan_spec::{GanSpec, ModelOptions};
use crate::error::Result;
use crate::model::spec::{Init, LayerSpec::*, NetSpec};

pub fn mlp_toy(o: &ModelOptions) -> Result<GanSpec> {
    let lin = |inp, out| Linear { inp, out, bias: true };
    let g = NetSpec::new(Init::PytorchDefault, vec![
        lin(o.g_in(), 512), Relu, lin(512, 512), Relu, lin(512, 512), Relu, lin(512, 2),
    ]);
    let d = NetSpec::new(Init::PytorchDefault, vec![
        lin(2 + o.d_extra(), 512), Relu, lin(512, 512), Relu, lin(512, 512), Relu, lin(512, o.d_out()),
    ]);
    Ok(GanSpec::new("mlp-toy", g, d, o, [2, 1, 1], true))
}
