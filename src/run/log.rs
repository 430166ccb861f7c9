//! `log.jsonl`: one JSON line per generator step (`step`, `epoch` and the step's named scalars,
//! in a stable order). A resumed run first rewrites the log up to its checkpoint
//! ([`keep_up_to`]), so it continues without gaps or repeats.

use std::path::Path;

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::layout;
use super::lines::keep_lines_up_to;

/// Named host values of one step, in a stable order (the order of `log.jsonl`'s fields).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scalars(pub Vec<(String, f32)>);

impl Scalars {
    pub fn get(&self, name: &str) -> Option<f32> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    pub fn set(&mut self, name: &str, value: f32) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    /// Moves `names` (those present) to the front, in that order; the rest keep theirs.
    pub fn put_first(&mut self, names: &[&str]) {
        let rank = |n: &str| names.iter().position(|m| *m == n).unwrap_or(names.len());
        self.0.sort_by_key(|(n, _)| rank(n));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, f32)> {
        self.0.iter().map(|(n, v)| (n.as_str(), *v))
    }
}

/// One generator step as logged: where it was, and its named scalars.
#[derive(Clone, Debug, PartialEq)]
pub struct StepRecord {
    pub step: u64,
    pub epoch: u64,
    pub scalars: Scalars,
}

impl StepRecord {
    /// A `log.jsonl` line read back (fields other than `step` and `epoch` are scalars); `None`
    /// for a line that is not one (a half-written last line, say).
    pub fn from_json(line: &str) -> Option<StepRecord> {
        let v: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line).ok()?;
        let step = v.get("step")?.as_u64()?;
        let epoch = v.get("epoch")?.as_u64()?;
        let scalars = v.iter().filter(|(k, _)| *k != "step" && *k != "epoch").filter_map(|(k, x)| Some((k.clone(), x.as_f64()? as f32))).collect();
        Some(StepRecord { step, epoch, scalars: Scalars(scalars) })
    }
}

impl Serialize for StepRecord {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2 + self.scalars.0.len()))?;
        m.serialize_entry("step", &self.step)?;
        m.serialize_entry("epoch", &self.epoch)?;
        for (k, v) in self.scalars.iter() {
            m.serialize_entry(k, &v)?;
        }
        m.end()
    }
}

/// The records of a run's log up to `step`; lines that are not records are skipped.
pub fn read_log(run_dir: &Path, up_to_step: u64) -> Vec<StepRecord> {
    let path = layout::file(run_dir, layout::LOG);
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(StepRecord::from_json).filter(|r| r.step <= up_to_step).collect()
}

/// Rewrites the run's log keeping the raw lines of the steps up to `step` (in their own field
/// order), for a run that continues from a checkpoint at `step`.
pub fn keep_up_to(run_dir: &Path, step: u64) -> crate::Result<()> {
    keep_lines_up_to(&layout::file(run_dir, layout::LOG), step, |l| StepRecord::from_json(l).map(|r| r.step))
}

/// A record as one `log.jsonl` line (without the newline).
pub fn line(r: &StepRecord) -> String {
    serde_json::to_string(r).expect("a record serialises")
}
