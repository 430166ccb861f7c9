//! What a training run writes and shows, one observer per file. [`standard`] is the registry of
//! the observers `gantry train` uses, in the order they hear each event: the NaN stop comes
//! before anything records a step.

mod checkpoints;
mod grids;
mod log;
mod loss_plot;
mod nan_stop;
mod progress_bar;
mod run_files;

use std::path::Path;

pub use checkpoints::Checkpoints;
pub use grids::SampleGrids;
pub use log::LogWriter;
pub use loss_plot::LossPlot;
pub use nan_stop::NanStop;
pub use progress_bar::ProgressBar;
pub use run_files::{RunFiles, RunLock};

use super::trainer::Observer;
use crate::error::{Error, Result};

/// The observers of a run written into `run_dir`.
pub fn standard(run_dir: &Path, quiet: bool) -> Vec<Box<dyn Observer>> {
    vec![
        Box::new(RunFiles::new(run_dir)),
        Box::new(NanStop::new(run_dir)),
        Box::new(LogWriter::new(run_dir)),
        Box::new(ProgressBar::new(quiet)),
        Box::new(SampleGrids::new(run_dir)),
        Box::new(LossPlot::new(run_dir)),
        Box::new(Checkpoints::new(run_dir)),
    ]
}

fn io<T>(r: std::io::Result<T>, p: &Path) -> Result<T> {
    r.map_err(|e| Error::io(p, e))
}
