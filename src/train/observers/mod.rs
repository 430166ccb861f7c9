//! What a training run writes and shows, one observer per file, each writing through `run`
//! (which knows the files' names and formats). [`standard`] is the registry of the observers
//! `gantry train` uses, in the order they hear each event: the NaN stop comes before anything
//! records a step.

mod checkpoints;
mod evaluation;
mod grids;
mod log;
mod loss_plot;
mod nan_stop;
mod progress_bar;
mod run_files;
mod status;

use std::path::{Path, PathBuf};

pub use checkpoints::Checkpoints;
pub use evaluation::Evaluations;
pub use grids::SampleGrids;
pub use log::LogWriter;
pub use loss_plot::LossPlot;
pub use nan_stop::NanStop;
pub use progress_bar::ProgressBar;
pub use run_files::RunFiles;
pub use status::StatusWriter;

use super::trainer::{Event, Observer, Outcome, StopSignal, Summary, Trainer};
use crate::run::StepRecord;
use crate::error::Result;

/// The observers of a run written into `run_dir`.
pub fn standard(run_dir: &Path, quiet: bool) -> Vec<Box<dyn Observer>> {
    vec![
        Box::new(RunFiles::new(run_dir)),
        Box::new(NanStop::new(run_dir)),
        Box::new(StatusWriter::new(run_dir)),
        Box::new(LogWriter::new(run_dir)),
        Box::new(ProgressBar::new(quiet)),
        Box::new(SampleGrids::new(run_dir)),
        Box::new(LossPlot::new(run_dir)),
        Box::new(Checkpoints::new(run_dir)),
        Box::new(Evaluations::new(run_dir)),
    ]
}

/// The run folder of a trainer that was stepped by hand (the playground's "save as run"): what
/// [`train_into`] writes had it taken the steps of `records` and been interrupted after the last
/// (config, real data, status, log, loss plot, the last grid, and a checkpoint that `--resume`
/// continues from).
pub fn write_stepped_run(trainer: &Trainer, records: &[StepRecord], run_dir: &Path) -> Result<()> {
    let mut files: Vec<Box<dyn Observer>> = vec![Box::new(RunFiles::new(run_dir)), Box::new(StatusWriter::new(run_dir)), Box::new(Checkpoints::new(run_dir))];
    let mut history: Vec<Box<dyn Observer>> = vec![Box::new(LogWriter::new(run_dir)), Box::new(LossPlot::new(run_dir))];
    for o in files.iter_mut().chain(history.iter_mut()) {
        o.on_event(trainer, &Event::Start)?;
    }
    let mut grids = SampleGrids::new(run_dir);
    grids.on_event(trainer, &Event::Start)?;
    grids.write_current(trainer)?;
    for r in records {
        for o in history.iter_mut() {
            o.on_event(trainer, &Event::Step(r))?;
        }
    }
    for o in files.iter_mut().chain(history.iter_mut()) {
        o.on_event(trainer, &Event::End(Outcome::Interrupted))?;
    }
    Ok(())
}

/// Where a run writes, and how it shows progress.
pub struct TrainOptions {
    pub out: PathBuf,
    pub quiet: bool,
}

/// Train `trainer` into a run folder with the standard observers (log, grids, loss plot,
/// checkpoints, progress bar, NaN stop).
pub fn train_into(trainer: &mut Trainer, opts: &TrainOptions, stop: &StopSignal) -> Result<Summary> {
    let mut observers = standard(&opts.out, opts.quiet);
    trainer.run(&mut observers, stop)
}
