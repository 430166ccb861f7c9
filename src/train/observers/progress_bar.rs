//! The progress bar of a run: steps done of the run's length, rate, ETA and the latest losses.

use crate::error::Result;
use crate::train::trainer::{Event, Observer, Trainer};

pub struct ProgressBar {
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
}

impl ProgressBar {
    pub fn new(quiet: bool) -> Self {
        Self { quiet, bar: None }
    }
}

impl Observer for ProgressBar {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        match event {
            Event::Start => {
                let bar = crate::progress::bar(t.total_steps(), self.quiet, "training");
                bar.set_position(t.progress.step);
                self.bar = Some(bar);
            }
            Event::Step(r) => {
                if let Some(bar) = &self.bar {
                    let v = |k: &str| r.scalars.get(k).unwrap_or(f32::NAN);
                    bar.set_message(format!("epoch {} loss_d {:.3} loss_g {:.3} {:.0} img/s", r.epoch + 1, v("loss_d"), v("loss_g"), v("images_per_s")));
                    bar.inc(1);
                }
            }
            Event::EpochEnd | Event::Failed(_) => {}
            Event::End(_) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
            }
        }
        Ok(())
    }
}

impl Drop for ProgressBar {
    /// A run that ended in an error leaves its bar where it stopped.
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.abandon();
        }
    }
}
