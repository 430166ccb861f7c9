//! Training: the GAN step, what a checkpoint of it holds, the [`Trainer`] loop, the observers
//! that write a run (through `run`) and the mode check a run ends with. The configuration is
//! `config`'s, the optimisers `optim`'s.

pub mod checkpoint;
pub mod gan;
pub mod mode_check;
pub mod observers;
pub mod scalars;
pub mod trainer;

pub use observers::{TrainOptions, train_into, write_stepped_run};
pub use trainer::{Event, Observer, Outcome, RunLength, StepPart, StopSignal, Summary, Trainer};
