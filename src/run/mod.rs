//! The run folder: the interface between training and everything that reads a run (`sample`,
//! `eval`, `serve`, `animate`, user programs). One file per part of the folder, each knowing its
//! file's name (`layout`) and format, with writers for the training observers and tolerant
//! readers for runs being written: checkpoints (verify, fall back, rotate), the lock, the status,
//! the log, the grid index, the evaluations, and the trained generator opened from a run (or from a state dict saved
//! elsewhere, `foreign`).

pub mod checkpoint;
pub mod evals;
pub mod foreign;
pub mod grids;
pub mod layout;
pub mod lines;
pub mod lock;
pub mod log;
pub mod status;
pub mod trained;

pub use checkpoint::Progress;
pub use lock::RunLock;
pub use log::{Scalars, StepRecord};
pub use status::{RunState, RunStatus};
pub use foreign::ForeignModel;
pub use trained::TrainedModel;
