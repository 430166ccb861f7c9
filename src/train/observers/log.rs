//! `log.jsonl`: one JSON line per generator step (`step`, `epoch` and the step's named scalars).
//! A resumed run first rewrites the log up to its checkpoint, so it continues without gaps or
//! repeats.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{io, keep_lines_up_to};
use crate::error::Result;
use crate::train::scalars::StepRecord;
use crate::train::trainer::{Event, Observer, Trainer};

pub struct LogWriter {
    path: PathBuf,
    file: Option<File>,
}

impl LogWriter {
    pub fn new(run_dir: &Path) -> Self {
        Self { path: run_dir.join("log.jsonl"), file: None }
    }
}

/// The records of a run's log up to `step`; lines that are not records are skipped.
pub fn read_log(path: &Path, up_to_step: u64) -> Vec<StepRecord> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(StepRecord::from_json).filter(|r| r.step <= up_to_step).collect()
}

fn line(r: &StepRecord) -> String {
    serde_json::to_string(r).expect("a record serialises")
}

impl Observer for LogWriter {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        match event {
            Event::Start => {
                // Keep the raw lines of the steps before the checkpoint, in their own field order.
                keep_lines_up_to(&self.path, t.progress.step, |l| StepRecord::from_json(l).map(|r| r.step))?;
                self.file = Some(io(std::fs::OpenOptions::new().append(true).open(&self.path), &self.path)?);
            }
            Event::Step(r) => {
                if let Some(f) = &mut self.file {
                    io(writeln!(f, "{}", line(r)), &self.path)?;
                }
            }
            Event::EpochEnd | Event::End(_) | Event::Failed(_) => {}
        }
        Ok(())
    }
}
