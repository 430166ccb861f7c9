//! `status.json` (`run::status`) kept up to date: rewritten atomically at the start, at most every
//! [`EVERY`] while steps go on, at each epoch end and when the run stops (finished, stopped,
//! interrupted, or failed with its error).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::run::status::{RunState, RunStatus};
use crate::train::trainer::{Event, Observer, Outcome, Trainer};

/// How often a running run's status is rewritten, at most.
const EVERY: Duration = Duration::from_secs(2);

pub struct StatusWriter {
    dir: PathBuf,
    status: Option<RunStatus>,
    written: Option<Instant>,
}

impl StatusWriter {
    pub fn new(run_dir: &Path) -> Self {
        Self { dir: run_dir.to_path_buf(), status: None, written: None }
    }

    fn write(&mut self, t: &Trainer, state: RunState, error: Option<&str>) -> Result<()> {
        let c = &t.config;
        let status = self.status.get_or_insert_with(|| {
            let loss = serde_json::to_value(c.loss).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            RunStatus::starting(&c.model, &c.dataset, &loss)
        });
        status.state = state;
        status.step = t.progress.step;
        status.total_steps = t.total_steps();
        status.epoch = t.progress.epoch;
        status.epochs = t.epochs();
        status.error = error.map(str::to_string);
        status.write(&self.dir)?;
        self.written = Some(Instant::now());
        Ok(())
    }
}

impl Observer for StatusWriter {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        match event {
            Event::Start | Event::EpochEnd => self.write(t, RunState::Running, None),
            Event::Step(_) if self.written.is_none_or(|w| w.elapsed() >= EVERY) => self.write(t, RunState::Running, None),
            Event::Step(_) => Ok(()),
            Event::End(outcome) => {
                let state = match outcome {
                    Outcome::Finished => RunState::Finished,
                    Outcome::StoppedAtMaxSteps => RunState::Stopped,
                    Outcome::Interrupted => RunState::Interrupted,
                };
                self.write(t, state, None)
            }
            // Only a run this writer started: a run that failed to start (another process holds
            // its lock) is not this process's to mark.
            Event::Failed(error) if self.status.is_some() => self.write(t, RunState::Failed, Some(error)),
            Event::Failed(_) => Ok(()),
        }
    }
}
