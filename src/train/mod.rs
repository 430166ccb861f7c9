//! Training: optimisers, the GAN step, configuration, checkpoints, the [`Trainer`] loop and the
//! observers that write a run.

pub mod checkpoint;
pub mod config;
pub mod gan;
pub mod observers;
pub mod optim;
pub mod scalars;
pub mod trainer;

pub use trainer::{Event, Observer, Outcome, RunLength, StopSignal, Summary, Trainer};
