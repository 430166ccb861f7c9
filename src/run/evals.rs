//! Evaluations during training: `evals.jsonl` (one line per evaluation: `step`, `epoch`,
//! `seconds` and the metrics' numbers) and `keep_best`'s record `checkpoints/best.json` beside
//! `checkpoints/best.safetensors`.

use std::path::Path;

use serde_json::{Map, Value, json};

use super::layout;
use super::lines::{append_json_line, json_step, keep_lines_up_to};
use crate::error::{Error, Result};

/// Appends one evaluation line.
pub fn append(run_dir: &Path, line: Map<String, Value>) -> Result<()> {
    append_json_line(&layout::file(run_dir, layout::EVALS), &Value::Object(line))
}

/// Rewrites `evals.jsonl` keeping the evaluations up to `step`.
pub fn keep_up_to(run_dir: &Path, step: u64) -> Result<()> {
    keep_lines_up_to(&layout::file(run_dir, layout::EVALS), step, json_step)
}

/// `keep_best`'s record: which metric, the best score so far and where it was reached.
#[derive(Clone, Debug, PartialEq)]
pub struct BestRecord {
    pub metric: String,
    pub score: f64,
    pub step: u64,
    pub epoch: u64,
}

impl BestRecord {
    /// The record of a run whose best checkpoint exists too; None when either is missing or the
    /// record is unreadable.
    pub fn read(run_dir: &Path) -> Option<BestRecord> {
        if !layout::file(run_dir, layout::BEST_CHECKPOINT).exists() {
            return None;
        }
        let v: Value = serde_json::from_slice(&std::fs::read(layout::file(run_dir, layout::BEST_RECORD)).ok()?).ok()?;
        let metric = v.get("metric").and_then(Value::as_str).unwrap_or_default().to_string();
        Some(BestRecord { metric, score: v.get("score")?.as_f64()?, step: v.get("step")?.as_u64()?, epoch: v.get("epoch").and_then(Value::as_u64).unwrap_or(0) })
    }

    /// Writes the record (atomically); the checkpoint itself is written first by the caller.
    pub fn write(&self, run_dir: &Path) -> Result<()> {
        let record = json!({ "metric": self.metric, "score": self.score, "step": self.step, "epoch": self.epoch });
        crate::tensor_file::write_atomic(&layout::file(run_dir, layout::BEST_RECORD), record.to_string().as_bytes())
    }

    /// Removes the best checkpoint and its record (a run that starts over, or returns to a point
    /// before its best).
    pub fn remove(run_dir: &Path) -> Result<()> {
        for rel in [layout::BEST_CHECKPOINT, layout::BEST_RECORD] {
            let f = layout::file(run_dir, rel);
            match std::fs::remove_file(&f) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io(&f, e)),
                _ => {}
            }
        }
        Ok(())
    }
}
