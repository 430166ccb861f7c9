//! Checkpoints of a run: `checkpoints/last.safetensors` every `checkpoint_every` steps, at each
//! epoch end and when a run stops early, with a rolling set of `step_*.safetensors` beside it
//! (`keep_checkpoints`) and, with `keep_epoch_checkpoints`, one per epoch.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::run::checkpoint::{keep_epoch_copy, keep_step_copy, last_path};
use crate::train::trainer::{Event, Observer, Outcome, Trainer};

pub struct Checkpoints {
    run_dir: PathBuf,
}

impl Checkpoints {
    pub fn new(run_dir: &Path) -> Self {
        Self { run_dir: run_dir.to_path_buf() }
    }

    fn save(&self, t: &Trainer) -> Result<()> {
        t.save_checkpoint(&last_path(&self.run_dir))?;
        keep_step_copy(&self.run_dir, t.progress.step, t.config.keep_checkpoints)
    }
}

impl Observer for Checkpoints {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        match event {
            Event::Step(_) if t.progress.step.is_multiple_of(t.config.checkpoint_every) => self.save(t)?,
            Event::EpochEnd => {
                self.save(t)?;
                if t.config.keep_epoch_checkpoints {
                    keep_epoch_copy(&self.run_dir, t.progress.epoch)?;
                }
            }
            Event::End(Outcome::StoppedAtMaxSteps | Outcome::Interrupted) => self.save(t)?,
            _ => {}
        }
        Ok(())
    }
}
