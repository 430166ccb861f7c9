//! The training loop as a library type. A [`Trainer`] holds the GAN, its data and where training
//! stands; [`Trainer::step`] takes one generator step (k discriminator steps first) and returns
//! its named scalars; [`Trainer::run`] drives epochs and the run's length and tells
//! [`Observer`]s what happened. Everything a run writes (log, grids, plots, checkpoints, the
//! progress bar) is an observer (`train::observers`), so the loop itself writes nothing and
//! knows no particular observer (`observers::train_into` puts the standard ones together).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::tensor::Device;

use super::checkpoint;
use super::gan::Gan;
use super::scalars::DeviceScalars;
use crate::config::{GNoise, TrainConfig};
use crate::data::{self, Dataset};
use crate::device::DeviceChoice;
use crate::error::{Error, Result};
use crate::model::noise;
use crate::rng::Rng;
use crate::run::checkpoint::{Progress, load_latest};
use crate::run::StepRecord;

/// What happened, told to every observer in order.
#[derive(Debug)]
pub enum Event<'a> {
    /// Before the first step of this invocation (a fresh run, or a resumed one).
    Start,
    /// A generator step was taken.
    Step(&'a StepRecord),
    /// An epoch was completed (`trainer.progress.epoch` counts the completed epochs).
    EpochEnd,
    /// The run stops.
    End(Outcome),
    /// The run stops with this error (a step, or an observer, failed). What observers return
    /// for it is ignored: the run's error is the one reported.
    Failed(&'a str),
}

/// Something that watches training: writes files, draws a progress bar, stops on NaN. An error
/// it returns stops the run with that error.
pub trait Observer {
    fn on_event(&mut self, trainer: &Trainer, event: &Event) -> Result<()>;
}

/// Asks a running [`Trainer::run`] to stop after the current step (Ctrl-C, SIGTERM, a caller).
#[derive(Clone, Debug, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// What [`Trainer::step_part`] takes: a whole step, or one of its halves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepPart {
    /// k discriminator updates, then one generator update.
    Full,
    /// One discriminator update.
    Critic,
    /// One generator update.
    Generator,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Finished,
    StoppedAtMaxSteps,
    Interrupted,
}

pub struct Summary {
    pub outcome: Outcome,
    pub steps: u64,
    pub seconds: f64,
    pub images_per_s: f64,
}

/// How long a resumed run goes on: the run's own length unless given here.
#[derive(Clone, Debug, Default)]
pub struct RunLength {
    pub epochs: Option<usize>,
    pub max_steps: Option<u64>,
}

pub struct Trainer {
    pub config: TrainConfig,
    pub gan: Gan,
    pub data: Dataset,
    pub progress: Progress,
    /// Generator noise (and fake labels), saved in checkpoints so a resumed run draws the same.
    pub noise_rng: Rng,
    /// The checkpoint this trainer was resumed from, and the newer ones that did not verify
    /// (each with the reason).
    pub resumed_from: Option<PathBuf>,
    pub skipped_checkpoints: Vec<String>,
    device: Device,
    /// The current epoch's batches (sample indices), and which epoch they belong to.
    batches: Vec<Vec<usize>>,
    batches_epoch: Option<u64>,
}

impl Trainer {
    /// A fresh run of `config` on its device (`config.device`; training uses its autodiff
    /// form); loads the dataset.
    pub fn new(config: TrainConfig, quiet: bool) -> Result<Self> {
        crate::eval::metric::check_names(&config.eval_metrics, config.keep_best.as_deref())?;
        config.validate()?;
        let data = data::load(&config.dataset, &config.data_options(quiet, false))?;
        Self::with_data(config, data)
    }

    /// A fresh run of `config` on data already in memory.
    pub fn with_data(config: TrainConfig, data: Dataset) -> Result<Self> {
        crate::eval::metric::check_names(&config.eval_metrics, config.keep_best.as_deref())?;
        config.validate()?;
        let spec = config.gan_spec(data.shape, data.num_classes())?;
        let device = config.device.device()?.autodiff();
        let gan = Gan::from_config(spec, &config, data.class_names.clone(), &device);
        let noise_rng = Rng::derived(config.seed, "noise", 0);
        let t = Self { config, gan, data, progress: Progress::default(), noise_rng, resumed_from: None, skipped_checkpoints: vec![], device, batches: vec![], batches_epoch: None };
        if t.steps_per_epoch() == 0 {
            let need = t.config.batch_size * t.config.d_steps;
            return Err(Error::config("batch_size", format!("one step needs {need} samples (batch_size x d_steps); dataset `{}` has {}", t.data.name, t.data.len)));
        }
        Ok(t)
    }

    /// Continue the run whose checkpoint is `path` (a run folder or a checkpoint file) exactly
    /// where it stopped, on its own device unless `device` is given. The run's config wins,
    /// its length included; `length` changes the length on purpose (`epochs` alone replaces a
    /// step limit).
    pub fn resume(path: &Path, length: &RunLength, device: Option<DeviceChoice>, quiet: bool) -> Result<Self> {
        let (loaded, skipped) = load_latest(path)?;
        let mut config = loaded.config.clone();
        if let Some(e) = length.epochs {
            config.epochs = e;
            config.max_steps = None;
        }
        if length.max_steps.is_some() {
            config.max_steps = length.max_steps;
        }
        if let Some(d) = device {
            config.device = d;
        }
        let mut t = Self::new(config, quiet)?;
        checkpoint::restore(&loaded, &mut t.gan)?;
        t.progress = loaded.progress.clone();
        t.noise_rng = loaded.noise_rng.clone();
        t.resumed_from = Some(loaded.path);
        t.skipped_checkpoints = skipped;
        Ok(t)
    }

    /// The autodiff device training runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Generator steps per epoch.
    pub fn steps_per_epoch(&self) -> u64 {
        (self.data.len / self.config.batch_size / self.config.d_steps) as u64
    }

    /// Epochs the run takes: `max_steps` adds epochs when it needs more than configured.
    pub fn epochs(&self) -> u64 {
        let configured = self.config.epochs as u64;
        match self.config.max_steps {
            Some(n) => configured.max(n.div_ceil(self.steps_per_epoch().max(1))),
            None => configured,
        }
    }

    /// The run's length in generator steps.
    pub fn total_steps(&self) -> u64 {
        self.config.max_steps.unwrap_or(u64::MAX).min(self.steps_per_epoch() * self.epochs())
    }

    /// Whether the current epoch has no room for another generator step.
    fn epoch_exhausted(&mut self) -> bool {
        self.progress.batch + self.config.d_steps > self.epoch_batches().len()
    }

    fn epoch_batches(&mut self) -> &[Vec<usize>] {
        if self.batches_epoch != Some(self.progress.epoch) {
            let c = &self.config;
            self.batches = data::epoch_batches(self.data.len, c.batch_size, c.drop_last, c.seed, self.progress.epoch);
            self.batches_epoch = Some(self.progress.epoch);
        }
        &self.batches
    }

    fn next_epoch(&mut self) {
        self.progress.epoch += 1;
        self.progress.batch = 0;
    }

    /// One generator step: k discriminator steps on the next k batches, then the generator step.
    /// Starts the next epoch first when this one is used up. The scalars are read back from the
    /// device once.
    pub fn step(&mut self) -> Result<StepRecord> {
        self.step_part(StepPart::Full)
    }

    /// A whole step, or one half of it taken by hand (the playground's buttons): one
    /// discriminator update on the next batch (`step` does not advance: it counts generator
    /// steps), or one generator update on fresh noise.
    pub fn step_part(&mut self, part: StepPart) -> Result<StepRecord> {
        let k = match part {
            StepPart::Full => self.config.d_steps,
            StepPart::Critic => 1,
            StepPart::Generator => 0,
        };
        if k > 0 && self.progress.batch + k > self.epoch_batches().len() {
            self.next_epoch();
        }
        let t0 = Instant::now();
        let step = self.progress.step;
        let (classes, z_shape) = (self.gan.spec.classes(), self.gan.spec.z_shape);
        // Dropout masks and penalty points: a stream per step, so a resumed run draws the same
        // (a half step by hand has its own stream, named by where it stands).
        let mut layer_rng = match part {
            StepPart::Full => Rng::derived(self.config.seed, "layers", step),
            _ => Rng::derived(self.config.seed, "layers-by-hand", (step << 20) ^ ((self.progress.epoch << 40) + self.progress.batch as u64)),
        };
        // Labels of fakes are drawn uniformly after their noise, from the same RNG.
        let draw_labels = |n: usize, rng: &mut Rng| (classes > 0).then(|| (0..n).map(|_| rng.below(classes) as u8).collect::<Vec<u8>>());
        let first = self.progress.batch;
        let batches: Vec<Vec<usize>> = if k > 0 { self.epoch_batches()[first..first + k].to_vec() } else { vec![] };
        let mut scalars = DeviceScalars::default();
        let mut fake = None;
        for idx in &batches {
            let real = self.data.batch(idx, &self.device);
            let real_labels = if classes > 0 { self.data.labels_at(idx) } else { None };
            let z = noise(self.config.noise, idx.len(), z_shape, &mut self.noise_rng, &self.device);
            let fake_labels = draw_labels(idx.len(), &mut self.noise_rng);
            let f = self.gan.generate(z, fake_labels.as_deref(), &mut layer_rng);
            // Only the last critic step's numbers are reported.
            scalars = self.gan.d_step(real, real_labels.as_deref(), f.clone(), fake_labels.as_deref(), &mut layer_rng)?;
            fake = Some((f, fake_labels));
        }
        let n = batches.first().map_or(self.config.batch_size, Vec::len);
        if part != StepPart::Critic {
            let (fake, fake_labels) = match (self.config.g_noise, fake) {
                (GNoise::Reuse, Some(f)) => f,
                _ => {
                    let z = noise(self.config.noise, n, z_shape, &mut self.noise_rng, &self.device);
                    let labels = draw_labels(n, &mut self.noise_rng);
                    (self.gan.generate(z, labels.as_deref(), &mut layer_rng), labels)
                }
            };
            scalars.extend(self.gan.g_step(fake, fake_labels.as_deref(), &mut layer_rng));
        }
        let mut scalars = scalars.read();
        self.progress.batch += k;
        if part != StepPart::Critic {
            self.progress.step += 1;
        }
        scalars.set("images_per_s", (n * k.max(1)) as f32 / t0.elapsed().as_secs_f32());
        scalars.put_first(&["loss_d", "loss_g", "d_real", "d_fake", "images_per_s"]);
        Ok(StepRecord { step: self.progress.step, epoch: self.progress.epoch, scalars })
    }

    /// Train until the run's length is reached or `stop` is requested, telling `observers` (in
    /// order) about the start, each step, each epoch end and the end.
    pub fn run(&mut self, observers: &mut [Box<dyn Observer>], stop: &StopSignal) -> Result<Summary> {
        let started = Instant::now();
        let start_step = self.progress.step;
        let outcome = match self.run_until_stopped(observers, stop) {
            Ok(outcome) => outcome,
            Err(e) => {
                // Every observer hears it, whatever the others answer.
                let message = e.to_string();
                for o in observers.iter_mut() {
                    let _ = o.on_event(self, &Event::Failed(&message));
                }
                return Err(e);
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let images = (self.progress.step - start_step) as f64 * (self.config.batch_size * self.config.d_steps) as f64;
        Ok(Summary { outcome, steps: self.progress.step, seconds, images_per_s: images / seconds.max(1e-9) })
    }

    fn run_until_stopped(&mut self, observers: &mut [Box<dyn Observer>], stop: &StopSignal) -> Result<Outcome> {
        let (epochs, total) = (self.epochs(), self.total_steps());
        self.notify(observers, &Event::Start)?;
        let outcome = loop {
            if self.progress.epoch >= epochs {
                break Outcome::Finished;
            }
            if self.epoch_exhausted() {
                self.next_epoch();
                self.notify(observers, &Event::EpochEnd)?;
                continue;
            }
            if self.progress.step >= total {
                break Outcome::StoppedAtMaxSteps;
            }
            let record = self.step()?;
            self.notify(observers, &Event::Step(&record))?;
            if stop.is_requested() {
                break Outcome::Interrupted;
            }
        };
        self.notify(observers, &Event::End(outcome))?;
        Ok(outcome)
    }

    fn notify(&self, observers: &mut [Box<dyn Observer>], event: &Event) -> Result<()> {
        observers.iter_mut().try_for_each(|o| o.on_event(self, event))
    }

    /// Write a checkpoint of everything needed to continue exactly (atomically).
    pub fn save_checkpoint(&self, path: &Path) -> Result<()> {
        checkpoint::save(path, &self.gan, &self.config, &self.progress, &self.noise_rng)
    }
}
