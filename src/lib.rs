//! gantry: a GAN laboratory on burn. See README.md for the commands.

pub mod error;
pub mod model;
pub mod rng;

pub use error::{Error, Result};
pub mod loss;
pub mod tensor_file;
pub mod train;
pub mod data;
pub mod progress;
pub mod viz;
pub mod presets;
pub mod bench;
pub mod eval;
pub mod kernels;
pub mod alloc_policy;
