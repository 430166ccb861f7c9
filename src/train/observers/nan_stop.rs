//! Stops a diverged run: the first non-finite scalar of a step ends training with one line that
//! names the step, the value and the last good checkpoint (the step is not logged or saved).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::run::checkpoint;
use crate::train::trainer::{Event, Observer, Trainer};

pub struct NanStop {
    last_checkpoint: PathBuf,
}

impl NanStop {
    pub fn new(run_dir: &Path) -> Self {
        Self { last_checkpoint: checkpoint::last_path(run_dir) }
    }
}

impl Observer for NanStop {
    fn on_event(&mut self, _: &Trainer, event: &Event) -> Result<()> {
        let Event::Step(r) = event else { return Ok(()) };
        match r.scalars.iter().find(|(_, v)| !v.is_finite()) {
            Some((name, value)) => {
                Err(Error::NonFinite { step: r.step, what: format!("{name} (last good checkpoint: {})", self.last_checkpoint.display()), value })
            }
            None => Ok(()),
        }
    }
}
