//! The fixed-noise sample grids of a run: `samples/step_*.png` every `sample_every` steps and
//! when a run stops early, `samples/epoch_*.png` at each epoch end, each listed in the run's grid
//! index (`run::grids`). The noise (and, for conditional models, one row per class) depends on
//! the seed only, so grids show one z over time.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::rng::Rng;
use crate::run::{grids, layout};
use crate::sample::{SampleGrid, write_samples};
use crate::train::trainer::{Event, Observer, Outcome, Trainer};

pub struct SampleGrids {
    run_dir: PathBuf,
    fixed: Option<SampleGrid>,
}

impl SampleGrids {
    pub fn new(run_dir: &Path) -> Self {
        Self { run_dir: run_dir.to_path_buf(), fixed: None }
    }

    fn write(&mut self, t: &Trainer, name: &str, title: &str) -> Result<()> {
        let grid = self.fixed.get_or_insert_with(|| fixed_grid(t));
        let centres = t.data.kind.point_centres();
        let path = layout::file(&self.run_dir, layout::SAMPLES).join(name);
        write_samples(&t.gan.generator(t.config.noise), grid, centres.as_deref(), &path, title, false)?;
        grids::append(&self.run_dir, name, t.progress.step, t.progress.epoch, title)
    }

    /// The grid of the step the trainer stands at, now (a run written by hand:
    /// `write_stepped_run`).
    pub fn write_current(&mut self, t: &Trainer) -> Result<()> {
        let step = t.progress.step;
        self.write(t, &layout::step_grid(step), &format!("step {step}"))
    }
}

/// The fixed grid of a run (a function of the seed only): 64 noise vectors, or for conditional
/// models one row of 8 per class.
pub fn fixed_grid(t: &Trainer) -> SampleGrid {
    let mut rng = Rng::derived(t.config.seed, "fixed-noise", 0);
    let spec = &t.gan.spec;
    let device = t.device().clone().inner();
    if spec.classes() > 0 {
        SampleGrid::classes(t.config.noise, spec, &spec.labels.all(), &t.gan.class_names, 8, &mut rng, &device)
    } else {
        SampleGrid::noise(t.config.noise, spec, 64, None, &mut rng, &device)
    }
}

impl Observer for SampleGrids {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        let step = t.progress.step;
        match event {
            Event::Start => {
                self.fixed = Some(fixed_grid(t));
                grids::keep_up_to(&self.run_dir, step, t.progress.epoch)?;
            }
            Event::Step(_) if step.is_multiple_of(t.config.sample_every) => self.write(t, &layout::step_grid(step), &format!("step {step}"))?,
            Event::EpochEnd => self.write(t, &layout::epoch_grid(t.progress.epoch), &format!("epoch {}", t.progress.epoch))?,
            // The step's grid, unless this step already wrote it.
            Event::End(Outcome::StoppedAtMaxSteps | Outcome::Interrupted) if !step.is_multiple_of(t.config.sample_every) => {
                self.write(t, &layout::step_grid(step), &format!("step {step}"))?
            }
            _ => {}
        }
        Ok(())
    }
}
