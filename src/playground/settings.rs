//! A playground scene's settings as the page sends them (JSON, every field optional, unknown
//! fields refused) and as a share link carries them, turned into an ordinary [`TrainConfig`] of
//! `mlp-toy`: the same model, losses and optimisers as `gantry train`.

use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::data::{self, Dataset};
use crate::error::{Error, Result};
use crate::loss::{GanLoss, Penalty};
use crate::model::Noise;
use crate::optim::OptimConfig;

/// The distributions a scene can train on; `drawn` is the page's drawing (`points`).
pub const DATASETS: &[&str] = &["ring8", "grid25", "moons", "spiral", "line", "drawn"];
/// The most points a drawing may have.
pub const MAX_DRAWN: usize = 2000;
/// Bounds that keep one scene's step small enough for a shared server.
pub const MAX_NEURONS: usize = 1024;
pub const MAX_LAYERS: usize = 6;
pub const MAX_BATCH: usize = 1024;
pub const MAX_Z: usize = 16;
pub const MAX_D_STEPS: usize = 10;
/// Samples per epoch of the generated datasets.
const DATA_LEN: usize = 25_600;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regulariser {
    None,
    /// WGAN-GP's gradient penalty on interpolates.
    Gp,
    R1,
    Dragan,
    /// WGAN's weight clipping.
    Clip,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    Adam,
    Rmsprop,
    Sgd,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub dataset: String,
    /// The drawing, for `dataset = "drawn"`.
    pub points: Vec<[f32; 2]>,
    /// Hidden layers of G and D, and neurons in each.
    pub layers: usize,
    pub neurons: usize,
    pub loss: GanLoss,
    pub regulariser: Regulariser,
    /// λ of GP/DRAGAN, γ of R1; the bound c of clipping.
    pub weight: f64,
    pub optimizer: OptimizerKind,
    pub lr_d: f64,
    pub lr_g: f64,
    /// Discriminator steps per generator step (k).
    pub d_steps: usize,
    pub batch_size: usize,
    pub z_dim: usize,
    pub noise: Noise,
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            dataset: "ring8".into(),
            points: vec![],
            layers: 3,
            neurons: 512,
            loss: GanLoss::Bce,
            regulariser: Regulariser::None,
            weight: 10.0,
            optimizer: OptimizerKind::Adam,
            lr_d: 1e-4,
            lr_g: 1e-4,
            d_steps: 1,
            batch_size: 256,
            z_dim: 2,
            noise: Noise::Normal,
            seed: 0,
        }
    }
}

impl Settings {
    /// Settings from the page's JSON: a malformed message or an unknown field is one message.
    pub fn from_json(value: serde_json::Value) -> Result<Self> {
        serde_json::from_value(value).map_err(|e| Error::config("settings", e.to_string()))
    }

    /// Refuses what a shared server will not train: each field named with what it expects.
    pub fn check(&self) -> Result<()> {
        let range = |v: usize, lo: usize, hi: usize, field: &str| {
            if (lo..=hi).contains(&v) { Ok(()) } else { Err(Error::config(field, format!("expected {lo} to {hi}, got {v}"))) }
        };
        if !DATASETS.contains(&self.dataset.as_str()) {
            return Err(Error::config("dataset", format!("expected one of {}, got `{}`", DATASETS.join(", "), self.dataset)));
        }
        if self.points.len() > MAX_DRAWN {
            return Err(Error::config("points", format!("a drawing holds at most {MAX_DRAWN} points, got {}", self.points.len())));
        }
        // A drawing is checked whatever the dataset (a page may keep one while it shows another).
        if self.dataset == "drawn" || !self.points.is_empty() {
            data::plane::check_points(&self.points, "points")?;
        }
        range(self.layers, 1, MAX_LAYERS, "layers")?;
        range(self.neurons, 1, MAX_NEURONS, "neurons")?;
        range(self.d_steps, 1, MAX_D_STEPS, "d_steps")?;
        range(self.batch_size, 1, MAX_BATCH, "batch_size")?;
        range(self.z_dim, 1, MAX_Z, "z_dim")?;
        for (lr, field) in [(self.lr_d, "lr_d"), (self.lr_g, "lr_g")] {
            if !(lr.is_finite() && lr > 0.0 && lr <= 10.0) {
                return Err(Error::config(field, format!("expected a learning rate in (0, 10], got {lr}")));
            }
        }
        if !(self.weight.is_finite() && self.weight > 0.0 && self.weight <= 1e4) {
            return Err(Error::config("weight", format!("expected a number in (0, 10000], got {}", self.weight)));
        }
        self.config().validate()
    }

    /// The training config of this scene: `mlp-toy` with these layers, on this dataset (a drawing
    /// is `points:FILE` once saved as a run).
    pub fn config(&self) -> TrainConfig {
        let optim = |lr: f64| match self.optimizer {
            // Adam with β1 = 0.5, as the GAN papers and the toy preset use it.
            OptimizerKind::Adam => OptimConfig::Adam { lr, beta1: 0.5, beta2: 0.999, eps: 1e-8 },
            OptimizerKind::Rmsprop => OptimConfig::Rmsprop { lr, alpha: 0.99, eps: 1e-8, momentum: 0.0 },
            OptimizerKind::Sgd => OptimConfig::Sgd { lr, momentum: 0.0 },
        };
        let (penalty, clip) = match self.regulariser {
            Regulariser::None => (None, None),
            Regulariser::Gp => (Some(Penalty::Gp { weight: self.weight }), None),
            Regulariser::R1 => (Some(Penalty::R1 { gamma: self.weight }), None),
            Regulariser::Dragan => (Some(Penalty::Dragan { weight: self.weight, scale: 0.5 }), None),
            Regulariser::Clip => (None, Some(self.weight)),
        };
        TrainConfig {
            description: format!("playground: mlp-toy {}x{} on {}", self.layers, self.neurons, self.dataset),
            model: "mlp-toy".into(),
            dataset: self.dataset.clone(),
            generated_size: Some(DATA_LEN),
            hidden: Some(vec![self.neurons; self.layers]),
            z_dim: self.z_dim,
            noise: self.noise,
            batch_size: self.batch_size,
            d_steps: self.d_steps,
            loss: self.loss,
            penalty,
            clip,
            optim_g: optim(self.lr_g),
            optim_d: optim(self.lr_d),
            seed: self.seed,
            sample_every: 100,
            ..TrainConfig::default()
        }
    }

    /// The scene's data: a built-in distribution by name, or samples around the drawing.
    pub fn dataset(&self) -> Result<Dataset> {
        if self.dataset == "drawn" {
            return data::plane::drawn(&self.points, "drawn", DATA_LEN, self.seed);
        }
        // The config carries the generated length and the seed.
        data::load(&self.dataset, &self.config().data_options(true, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_settings_name_the_field() {
        for (json, field) in [
            (serde_json::json!({"lr_d": -1.0}), "lr_d"),
            (serde_json::json!({"neurons": 0}), "neurons"),
            (serde_json::json!({"layers": 100}), "layers"),
            (serde_json::json!({"dataset": "mnist"}), "dataset"),
            (serde_json::json!({"dataset": "drawn"}), "points"),
            (serde_json::json!({"dataset": "drawn", "points": vec![[0.0f32, 0.0]; MAX_DRAWN + 1]}), "points"),
            (serde_json::json!({"regulariser": "gp", "weight": f64::MAX}), "weight"),
        ] {
            let e = Settings::from_json(json.clone()).and_then(|s| s.check()).unwrap_err().to_string();
            assert!(e.contains(field), "{json}: {e}");
        }
        for json in [serde_json::json!({"nosuch": 1}), serde_json::json!({"lr_d": "fast"}), serde_json::json!([1, 2])] {
            assert!(Settings::from_json(json).unwrap_err().to_string().contains("settings"));
        }
        Settings::default().check().unwrap();
    }
}
