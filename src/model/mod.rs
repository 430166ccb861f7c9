//! Networks: layer specs (`spec`), runtime layers (`layers`), the sequential net (`net`), one
//! file per model family that turns options into a generator/discriminator pair (`zoo`), and the
//! generator as a whole with its conditioning and prior (`generator`, `noise`).

pub mod generator;
pub mod input_grad;
pub mod layers;
pub mod net;
pub mod noise;
pub mod spec;
pub mod zoo;

pub use generator::GeneratorNet;
pub use net::{NamedTensor, Net};
pub use noise::{Noise, noise};
pub use spec::{Init, LayerSpec, NetSpec, Shape3};
pub use zoo::{GanSpec, ModelOptions, build_spec, model_names};
