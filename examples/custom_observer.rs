//! Training through the library with an observer of your own.
//!
//! `cargo run --release --example custom_observer` trains the default experiment (dcgan-infogan on
//! the built-in synth-digits, made small here) with gantry's standard observers (log, grids,
//! loss plot, checkpoints) plus `LossWatch`, which keeps a running mean of the generator's loss
//! and stops the run through the `StopSignal` once it has seen enough steps.

use std::path::Path;

use gantry::train::{Event, Observer, Outcome, StopSignal, Summary, Trainer};

/// Running mean of `loss_g` over the last `window` steps; asks the run to stop after `max_steps`.
pub struct LossWatch {
    pub window: usize,
    pub max_steps: u64,
    pub stop: StopSignal,
    pub losses: Vec<f32>,
}

impl Observer for LossWatch {
    fn on_event(&mut self, _trainer: &Trainer, event: &Event) -> gantry::Result<()> {
        match event {
            Event::Step(record) => {
                // Every loss, penalty and head reports its numbers by name.
                if let Some(loss_g) = record.scalars.get("loss_g") {
                    self.losses.push(loss_g);
                }
                if record.step % self.window as u64 == 0 {
                    let recent = &self.losses[self.losses.len().saturating_sub(self.window)..];
                    println!("step {:>4}: mean loss_g over the last {} steps {:.3}", record.step, recent.len(), recent.iter().sum::<f32>() / recent.len() as f32);
                }
                if record.step >= self.max_steps {
                    self.stop.request();
                }
            }
            Event::End(outcome) => println!("run ended: {outcome:?}"),
            Event::Failed(error) => eprintln!("run failed: {error}"),
            Event::Start | Event::EpochEnd => {}
        }
        Ok(())
    }
}

/// Trains a small default run into `out` until `LossWatch` stops it after `steps` steps.
pub fn train_with_watch(out: &Path, steps: u64) -> gantry::Result<(Summary, Vec<f32>)> {
    let mut config = gantry::presets::preset("default")?;
    config.generated_size = Some(2048);
    config.batch_size = 16;
    config.z_dim = 16;
    config.sample_every = 10;
    // The device is the config's (`device = "cpu"` by default), chosen once when the trainer is made.
    let mut trainer = Trainer::new(config, true)?;
    let stop = StopSignal::default();
    let mut observers = gantry::train::observers::standard(out, true);
    observers.push(Box::new(LossWatch { window: 5, max_steps: steps, stop: stop.clone(), losses: vec![] }));
    let summary = trainer.run(&mut observers, &stop)?;
    assert_eq!(summary.outcome, Outcome::Interrupted, "LossWatch stops the run");
    // The observers were moved into the list; read the watch's losses back from the run's log.
    let losses = gantry::run::log::read_log(out, summary.steps).iter().filter_map(|r| r.scalars.get("loss_g")).collect();
    Ok((summary, losses))
}

#[allow(dead_code)] // the test includes this file for `train_with_watch` only
fn main() -> gantry::Result<()> {
    let out = Path::new("runs/custom-observer");
    let (summary, losses) = train_with_watch(out, 20)?;
    println!("{} steps in {:.1} s; {} losses logged; run folder {}", summary.steps, summary.seconds, losses.len(), out.display());
    Ok(())
}
