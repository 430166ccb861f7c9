//! Training: optimisers, the GAN step, the loop with logs, grids and checkpoints.

pub mod optim;
pub mod gan;
