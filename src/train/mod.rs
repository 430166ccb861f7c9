//! Training: optimisers, the GAN step, configuration, checkpoints and the loop.

pub mod checkpoint;
pub mod config;
pub mod gan;
pub mod optim;
pub mod trainer;
