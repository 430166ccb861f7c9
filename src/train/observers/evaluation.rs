//! Evaluation during training (`eval_every`): the configured metrics of the generator as it is,
//! every N generator steps and when the run ends, one line each in `evals.jsonl` (`step`,
//! `epoch`, `seconds` and the metrics' numbers). With `keep_best`, the checkpoint with the lowest
//! score of that metric so far is kept as `checkpoints/best.safetensors` (with `best.json`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, json};

use crate::error::{Error, Result};
use crate::eval::metric::{self, Metric, MetricSetup};
use crate::run::evals::{self, BestRecord};
use crate::run::layout;
use crate::train::trainer::{Event, Observer, Outcome, Trainer};

pub struct Evaluations {
    dir: PathBuf,
    metrics: Vec<(String, Box<dyn Metric>)>,
    /// The best score so far and its step.
    best: Option<(f64, u64)>,
    last_evaluated: Option<u64>,
}

impl Evaluations {
    pub fn new(run_dir: &Path) -> Self {
        Self { dir: run_dir.to_path_buf(), metrics: vec![], best: None, last_evaluated: None }
    }

    fn start(&mut self, t: &Trainer) -> Result<()> {
        let c = &t.config;
        let setup = MetricSetup::new(c.eval_data_options(true), &c.dataset, c.eval_samples, &t.device().clone().inner(), c.inception_weights.clone());
        self.metrics = c.eval_metrics.iter().map(|name| Ok((name.clone(), (metric::entry(name, "eval_metrics")?.build)(&setup)?))).collect::<Result<_>>()?;
        let step = t.progress.step;
        evals::keep_up_to(&self.dir, step)?;
        // A resumed run keeps the best it had reached by its checkpoint. A best from after the
        // checkpoint belongs to a timeline that was abandoned, and a fresh run starts over: their
        // files go (the next evaluation writes a new best).
        self.best = BestRecord::read(&self.dir).filter(|b| step > 0 && b.step <= step).map(|b| (b.score, b.step));
        if self.best.is_none() {
            BestRecord::remove(&self.dir)?;
        }
        self.last_evaluated = None;
        Ok(())
    }

    fn evaluate(&mut self, t: &Trainer) -> Result<()> {
        let started = Instant::now();
        let generator = t.gan.generator(t.config.noise);
        let mut line = Map::new();
        line.insert("step".into(), json!(t.progress.step));
        line.insert("epoch".into(), json!(t.progress.epoch));
        let mut score = None;
        for (name, m) in &mut self.metrics {
            let values = m
                .compute(&generator, t.progress.step, t.config.eval_samples, t.config.seed)
                .map_err(|e| Error::Other(format!("evaluation `{name}` at step {}: {e}", t.progress.step)))?;
            if t.config.keep_best.as_ref() == Some(name) {
                score = m.score(&values);
            }
            line.extend(values);
        }
        line.insert("seconds".into(), json!(started.elapsed().as_secs_f64()));
        evals::append(&self.dir, line)?;
        self.last_evaluated = Some(t.progress.step);
        if let Some(s) = score.filter(|s| s.is_finite())
            && self.best.is_none_or(|(b, _)| s < b)
        {
            t.save_checkpoint(&layout::file(&self.dir, layout::BEST_CHECKPOINT))?;
            let metric = t.config.keep_best.clone().unwrap_or_default();
            BestRecord { metric, score: s, step: t.progress.step, epoch: t.progress.epoch }.write(&self.dir)?;
            self.best = Some((s, t.progress.step));
        }
        Ok(())
    }
}

impl Observer for Evaluations {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        let Some(every) = t.config.eval_every else { return Ok(()) };
        match event {
            Event::Start => self.start(t),
            Event::Step(_) if t.progress.step.is_multiple_of(every) => self.evaluate(t),
            // The end of a run is measured too (not after Ctrl-C: the user wants out).
            Event::End(Outcome::Finished | Outcome::StoppedAtMaxSteps) if self.last_evaluated != Some(t.progress.step) => self.evaluate(t),
            _ => Ok(()),
        }
    }
}
