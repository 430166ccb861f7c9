//! Checkpoints of a run: `checkpoints/last.safetensors` every `checkpoint_every` steps, at each
//! epoch end and when a run stops early, with a rolling set of `step_*.safetensors` beside it
//! (`keep_checkpoints`) and, with `keep_epoch_checkpoints`, one per epoch.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::train::checkpoint;
use crate::train::trainer::{Event, Observer, Outcome, Trainer};

pub struct Checkpoints {
    dir: PathBuf,
    last: PathBuf,
}

impl Checkpoints {
    pub fn new(run_dir: &Path) -> Self {
        Self { dir: run_dir.join("checkpoints"), last: checkpoint::last_path(run_dir) }
    }

    fn save(&self, t: &Trainer) -> Result<()> {
        t.save_checkpoint(&self.last)?;
        let step_file = self.dir.join(format!("step_{:07}.safetensors", t.progress.step));
        crate::tensor_file::copy_atomic(&self.last, &step_file)?;
        let mut old: Vec<(u64, PathBuf)> = std::fs::read_dir(&self.dir)
            .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).filter_map(|p| Some((checkpoint::step_of_file(&p)?, p))).collect())
            .unwrap_or_default();
        old.sort();
        while old.len() > t.config.keep_checkpoints.max(1) {
            let _ = std::fs::remove_file(old.remove(0).1);
        }
        Ok(())
    }
}

impl Observer for Checkpoints {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        match event {
            Event::Step(_) if t.progress.step.is_multiple_of(t.config.checkpoint_every) => self.save(t)?,
            Event::EpochEnd => {
                self.save(t)?;
                if t.config.keep_epoch_checkpoints {
                    let p = self.dir.join(format!("epoch_{:03}.safetensors", t.progress.epoch));
                    crate::tensor_file::copy_atomic(&self.last, &p)?;
                }
            }
            Event::End(Outcome::StoppedAtMaxSteps | Outcome::Interrupted) => self.save(t)?,
            _ => {}
        }
        Ok(())
    }
}
