//! MLPs for the 2-D toy mixtures (points are `[2, 1, 1]`).

use super::{GanSpec, ModelOptions, require_shape};
use crate::error::Result;
use crate::model::spec::{Init, LayerSpec::*, NetSpec};

pub fn mlp_toy(o: &ModelOptions) -> Result<GanSpec> {
    require_shape("mlp-toy", o, &[[2, 1, 1]])?;
    let lin = |inp, out| Linear { inp, out, bias: true };
    let g = NetSpec::new(Init::PytorchDefault, vec![
        lin(o.z_dim, 512), Relu, lin(512, 512), Relu, lin(512, 512), Relu, lin(512, 2),
    ]);
    let d = NetSpec::new(Init::PytorchDefault, vec![
        lin(2, 512), Relu, lin(512, 512), Relu, lin(512, 512), Relu, lin(512, 1),
    ]);
    Ok(GanSpec { name: "mlp-toy".into(), g, d, z_shape: [o.z_dim, 1, 1], x_shape: [2, 1, 1] })
}
