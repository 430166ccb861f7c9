//! Evaluation during training (`eval_every`): the configured metrics of the generator as it is,
//! every N generator steps and when the run ends, one JSON line each in `evals.jsonl` (`step`,
//! `epoch`, `seconds` and the metrics' numbers). With `keep_best`, the checkpoint with the lowest
//! score of that metric so far is kept as `checkpoints/best.safetensors` (with `best.json`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value, json};

use super::{append_json_line, json_step, keep_lines_up_to};
use crate::error::{Error, Result};
use crate::eval::metric::{self, Metric, MetricSetup};
use crate::eval::report::eval_data_options;
use crate::sample::TrainedModel;
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

    pub fn log_path(run_dir: &Path) -> PathBuf {
        run_dir.join("evals.jsonl")
    }

    fn best_paths(&self) -> (PathBuf, PathBuf) {
        let dir = self.dir.join("checkpoints");
        (dir.join("best.safetensors"), dir.join("best.json"))
    }

    fn start(&mut self, t: &Trainer) -> Result<()> {
        let c = &t.config;
        let setup = MetricSetup::new(eval_data_options(c, true), &c.dataset, c.eval_samples, &t.device().clone().inner(), c.inception_weights.clone());
        self.metrics = c.eval_metrics.iter().map(|name| Ok((name.clone(), (metric::entry(name, "eval_metrics")?.build)(&setup)?))).collect::<Result<_>>()?;
        let step = t.progress.step;
        keep_lines_up_to(&Self::log_path(&self.dir), step, json_step)?;
        // A resumed run keeps the best it had reached by its checkpoint. A best from after the
        // checkpoint belongs to a timeline that was abandoned, and a fresh run starts over: their
        // files go (the next evaluation writes a new best).
        let (best_ckpt, best_json) = self.best_paths();
        let recorded = std::fs::read(&best_json)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| Some((v.get("score")?.as_f64()?, v.get("step")?.as_u64()?)));
        self.best = recorded.filter(|&(_, s)| step > 0 && s <= step && best_ckpt.exists());
        if self.best.is_none() {
            for f in [&best_ckpt, &best_json] {
                match std::fs::remove_file(f) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(f, e)),
                    _ => {}
                }
            }
        }
        self.last_evaluated = None;
        Ok(())
    }

    fn evaluate(&mut self, t: &Trainer) -> Result<()> {
        let started = Instant::now();
        let model = TrainedModel::from_trainer(t, &self.dir);
        let mut line = Map::new();
        line.insert("step".into(), json!(t.progress.step));
        line.insert("epoch".into(), json!(t.progress.epoch));
        let mut score = None;
        for (name, m) in &mut self.metrics {
            let values = m.compute(&model, t.config.eval_samples, t.config.seed).map_err(|e| Error::Other(format!("evaluation `{name}` at step {}: {e}", t.progress.step)))?;
            if t.config.keep_best.as_ref() == Some(name) {
                score = m.score(&values);
            }
            line.extend(values);
        }
        line.insert("seconds".into(), json!(started.elapsed().as_secs_f64()));
        append_json_line(&Self::log_path(&self.dir), &Value::Object(line))?;
        self.last_evaluated = Some(t.progress.step);
        if let Some(s) = score.filter(|s| s.is_finite())
            && self.best.is_none_or(|(b, _)| s < b)
        {
            let (ckpt, json_path) = self.best_paths();
            t.save_checkpoint(&ckpt)?;
            let metric = t.config.keep_best.clone().unwrap_or_default();
            let record = json!({ "metric": metric, "score": s, "step": t.progress.step, "epoch": t.progress.epoch });
            crate::tensor_file::write_atomic(&json_path, record.to_string().as_bytes())?;
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
