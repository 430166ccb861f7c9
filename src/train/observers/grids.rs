//! The fixed-noise sample grids of a run: `samples/step_*.png` every `sample_every` steps and
//! when a run stops early, `samples/epoch_*.png` at each epoch end. The noise (and, for
//! conditional models, one row per class) depends on the seed only, so grids show one z over time.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::rng::Rng;
use crate::sample::{SampleGrid, write_samples};
use crate::train::trainer::{Event, Observer, Outcome, Trainer};

pub struct SampleGrids {
    samples: PathBuf,
    fixed: Option<SampleGrid>,
}

impl SampleGrids {
    pub fn new(run_dir: &Path) -> Self {
        Self { samples: run_dir.join("samples"), fixed: None }
    }

    fn write(&mut self, t: &Trainer, name: &str, title: &str) -> Result<()> {
        let grid = self.fixed.get_or_insert_with(|| fixed_grid(t));
        let centres = t.data.kind.point_modes().map(|m| m.0);
        write_samples(&t.gan, grid, centres.as_deref(), &self.samples.join(name), title, false)
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
            Event::Start => self.fixed = Some(fixed_grid(t)),
            Event::Step(_) if step % t.config.sample_every == 0 => self.write(t, &format!("step_{step:07}.png"), &format!("step {step}"))?,
            Event::EpochEnd => self.write(t, &format!("epoch_{:03}.png", t.progress.epoch), &format!("epoch {}", t.progress.epoch))?,
            Event::End(Outcome::StoppedAtMaxSteps | Outcome::Interrupted) => self.write(t, &format!("step_{step:07}.png"), &format!("step {step}"))?,
            _ => {}
        }
        Ok(())
    }
}
