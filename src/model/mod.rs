//! Networks: layer specs (`spec`), runtime layers (`layers`), the sequential net (`net`), and one
//! file per model family that turns options into a generator/discriminator pair.

pub mod input_grad;
pub mod layers;
pub mod net;
pub mod spec;
pub mod zoo;

pub use net::{NamedTensor, Net};
pub use spec::{Init, LayerSpec, NetSpec, Shape3};
pub use zoo::{GanSpec, ModelOptions, build_spec, model_names};
