//! The named numbers of a training step. Losses, penalties and heads push device tensors under
//! their own names while the step runs; the step reads them all back at once (one small tensor),
//! so a step waits for the device once, and a new loss adds a number without touching a shared
//! record type.

use burn::tensor::Tensor;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::device::read_back;

/// Scalars still on the device, in the order they were pushed.
#[derive(Default)]
pub struct DeviceScalars {
    names: Vec<String>,
    values: Vec<Tensor<1>>,
}

impl DeviceScalars {
    /// Adds a 1-element tensor (detached here) under `name`; a later push of the same name wins.
    pub fn push(&mut self, name: &str, value: Tensor<1>) {
        let value = value.detach().reshape([1]);
        match self.names.iter().position(|n| n == name) {
            Some(i) => self.values[i] = value,
            None => {
                self.names.push(name.to_string());
                self.values.push(value);
            }
        }
    }

    /// Appends `other`'s scalars (replacing those of the same name).
    pub fn extend(&mut self, other: DeviceScalars) {
        for (n, v) in other.names.into_iter().zip(other.values) {
            self.push(&n, v);
        }
    }

    /// All values in one read from the device.
    pub fn read(self) -> Scalars {
        if self.values.is_empty() {
            return Scalars::default();
        }
        let values = read_back(&Tensor::cat(self.values, 0));
        Scalars(self.names.into_iter().zip(values).collect())
    }
}

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
