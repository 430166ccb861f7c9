//! The named numbers of a training step. Losses, penalties and heads push device tensors under
//! their own names while the step runs; the step reads them all back at once (one small tensor),
//! so a step waits for the device once, and a new loss adds a number without touching a shared
//! record type. Their host form, [`Scalars`], is `log.jsonl`'s record (`run::log`).

use burn::tensor::Tensor;

use crate::device::read_back;
use crate::run::log::Scalars;

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
