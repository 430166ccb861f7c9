//! gantry: a GAN laboratory on burn. See README.md for the commands and ARCHITECTURE.md for the map.

pub mod alloc_policy;
pub mod bench;
pub mod config;
pub mod data;
pub mod device;
pub mod error;
pub mod eval;
pub mod kernels;
pub mod loss;
pub mod model;
pub mod optim;
pub mod playground;
pub mod presets;
pub mod pth;
pub mod progress;
pub mod rng;
pub mod run;
pub mod sample;
pub mod serve;
pub mod tensor_file;
pub mod train;
pub mod viz;

pub use error::{Error, Result};
