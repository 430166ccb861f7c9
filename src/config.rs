//! The training configuration: a TOML file (a preset or `--config`), every field overridable by
//! a flag. Unknown fields are refused, so a typo names the field instead of being ignored.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::loss::{GanLoss, Penalty};
use crate::data::DataOptions;
use crate::device::DeviceChoice;
use crate::model::zoo::{Conditioning, Labels};
use crate::model::{GanSpec, ModelOptions, Shape3, build_spec};
use crate::optim::OptimConfig;

pub use crate::model::Noise;

/// Which fakes the generator step uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum GNoise {
    /// The last discriminator step's fake batch (its graph kept), as the DCGAN tutorial does.
    Reuse,
    /// A fresh noise batch for the generator step, as Algorithm 1 of the GAN paper.
    Fresh,
}

fn d_model() -> String {
    "dcgan-28".into()
}
fn d_dataset() -> String {
    "synth-digits".into()
}
fn d_z() -> usize {
    100
}
fn d_noise() -> Noise {
    Noise::Normal
}
fn d_batch() -> usize {
    64
}
fn d_epochs() -> usize {
    1
}
fn d_one() -> usize {
    1
}
fn d_gnoise() -> GNoise {
    GNoise::Reuse
}
fn d_loss() -> GanLoss {
    GanLoss::Bce
}
fn d_adam() -> OptimConfig {
    OptimConfig::Adam { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8 }
}
fn d_sample_every() -> u64 {
    200
}
fn d_ckpt_every() -> u64 {
    500
}
fn d_eval_metrics() -> Vec<String> {
    vec!["modes".into()]
}

fn d_eval_samples() -> usize {
    2000
}

fn is_d_eval_metrics(m: &[String]) -> bool {
    m == d_eval_metrics()
}

fn is_d_eval_samples(n: &usize) -> bool {
    *n == d_eval_samples()
}

fn d_keep() -> usize {
    3
}
fn d_true() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    #[serde(default)]
    pub description: String,
    #[serde(default = "d_model")]
    pub model: String,
    #[serde(default = "d_dataset")]
    pub dataset: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Resize images to this side (e.g. 32 for dcgan-upsample on MNIST; 64 for CelebA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_size: Option<usize>,
    /// Samples per epoch for the generated datasets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_size: Option<usize>,
    #[serde(default = "d_z")]
    pub z_dim: usize,
    #[serde(default = "d_noise")]
    pub noise: Noise,
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    #[serde(default = "d_epochs")]
    pub epochs: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u64>,
    /// Discriminator steps per generator step (k of Algorithm 1).
    #[serde(default = "d_one")]
    pub d_steps: usize,
    #[serde(default = "d_gnoise")]
    pub g_noise: GNoise,
    #[serde(default = "d_loss")]
    pub loss: GanLoss,
    /// Input-gradient penalty on the critic: `{ kind = "gp", weight = 10 }`, `r1`, `dragan`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty: Option<Penalty>,
    /// WGAN weight clipping bound c (every critic parameter kept in [-c, c]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<f64>,
    /// Class conditioning: none, concat, acgan, projection.
    #[serde(default)]
    pub conditioning: Conditioning,
    /// A learned label embedding of this size (initialised N(0, 1), as nn.Embedding) instead of
    /// the fixed one-hot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_embedding: Option<usize>,
    /// The widths of the hidden layers of G and D, for models that take them (mlp-toy:
    /// `hidden = [512, 512, 512]` by default; the playground's layers and neurons).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Vec<usize>>,
    #[serde(default = "d_adam")]
    pub optim_g: OptimConfig,
    #[serde(default = "d_adam")]
    pub optim_d: OptimConfig,
    #[serde(default)]
    pub seed: u64,
    /// Fixed-noise sample grid every N generator steps (and at each epoch end).
    #[serde(default = "d_sample_every")]
    pub sample_every: u64,
    #[serde(default = "d_ckpt_every")]
    pub checkpoint_every: u64,
    /// Rolling step checkpoints kept besides `last`.
    #[serde(default = "d_keep")]
    pub keep_checkpoints: usize,
    /// Also keep one checkpoint per epoch.
    #[serde(default)]
    pub keep_epoch_checkpoints: bool,
    #[serde(default = "d_true")]
    pub drop_last: bool,
    /// Where to train: cpu (default), wgpu, wgpu:N, vulkan, vulkan:N (GPU builds only).
    #[serde(default, skip_serializing_if = "DeviceChoice::is_cpu_ref")]
    pub device: DeviceChoice,
    /// Evaluate every N generator steps (and at the end) into `evals.jsonl`; off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_every: Option<u64>,
    /// The metrics `eval_every` computes, by name: modes, fid, kid (`eval::metric::METRICS`).
    #[serde(default = "d_eval_metrics", skip_serializing_if = "is_d_eval_metrics")]
    pub eval_metrics: Vec<String>,
    /// Samples per evaluation (FID and KID also take as many reference images).
    #[serde(default = "d_eval_samples", skip_serializing_if = "is_d_eval_samples")]
    pub eval_samples: usize,
    /// Keep `checkpoints/best.safetensors`: the checkpoint with the lowest score of this metric
    /// (one of `eval_metrics`) so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_best: Option<String>,
    /// pytorch-fid's Inception weights for `fid`/`kid` during training (as `gantry eval
    /// --inception-weights`); default: the downloaded copy in the cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inception_weights: Option<PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

impl TrainConfig {
    pub fn from_toml(text: &str, origin: &str) -> Result<Self> {
        let c: TrainConfig = toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            // The key is quoted in "unknown field" messages; otherwise read it off the offending line.
            let from_span = e.span().and_then(|sp| {
                let line_start = text[..sp.start].rfind('\n').map_or(0, |i| i + 1);
                text[line_start..].split('=').next().map(|k| k.trim().to_string())
            });
            let field = if msg.starts_with("unknown field") {
                msg.split('`').nth(1).unwrap_or("?").to_string()
            } else {
                from_span.filter(|k| !k.is_empty()).unwrap_or_else(|| "?".into())
            };
            Error::config(field, format!("{msg} (in {origin})"))
        })?;
        c.validate()?;
        Ok(c)
    }

    /// This config with `fields` replaced, as a flag or a Python keyword replaces them: each a
    /// field name and its value (None clears an optional field back to its default). `lr_g` and
    /// `lr_d` set the optimisers' learning rates. An unknown name is refused with the list of
    /// fields; a value of the wrong type names its field.
    pub fn with_fields(&self, fields: &[(String, Option<toml::Value>)]) -> Result<Self> {
        let base = toml::Value::try_from(self).expect("serialisable config");
        let mut table = base.as_table().cloned().unwrap_or_default();
        let mut lrs = Vec::new();
        for (name, value) in fields {
            match (name.as_str(), value) {
                ("lr_g" | "lr_d", Some(v)) => lrs.push((name.as_str(), v.as_float().or_else(|| v.as_integer().map(|i| i as f64)).ok_or_else(|| Error::config(name, format!("expected a number, got {v}")))?)),
                (_, Some(v)) => drop(table.insert(name.clone(), v.clone())),
                (_, None) => drop(table.remove(name)),
            }
        }
        let mut c: TrainConfig = toml::Value::Table(table.clone()).try_into().map_err(|e: toml::de::Error| {
            let msg = e.message().to_string();
            let field = match msg.strip_prefix("unknown field `") {
                Some(rest) => rest.split('`').next().unwrap_or("?").to_string(),
                // The first given field that alone fails to read is the one named.
                None => fields.iter().find(|(n, v)| Self::field_fails(&base, n, v.as_ref())).map_or("?".into(), |f| f.0.clone()),
            };
            Error::config(field, msg)
        })?;
        for (name, lr) in lrs {
            if name == "lr_g" { c.optim_g.set_lr(lr) } else { c.optim_d.set_lr(lr) }
        }
        c.validate()?;
        Ok(c)
    }

    fn field_fails(base: &toml::Value, name: &str, value: Option<&toml::Value>) -> bool {
        let mut table = base.as_table().cloned().unwrap_or_default();
        match value {
            Some(v) => drop(table.insert(name.to_string(), v.clone())),
            None => drop(table.remove(name)),
        }
        toml::Value::Table(table).try_into::<TrainConfig>().is_err()
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("serialisable config")
    }

    pub fn validate(&self) -> Result<()> {
        let positive = |v: usize, f: &str| if v == 0 { Err(Error::config(f, "must be at least 1")) } else { Ok(()) };
        positive(self.batch_size, "batch_size")?;
        positive(self.epochs, "epochs")?;
        positive(self.z_dim, "z_dim")?;
        positive(self.d_steps, "d_steps")?;
        if self.sample_every == 0 || self.checkpoint_every == 0 {
            return Err(Error::config("sample_every/checkpoint_every", "must be at least 1"));
        }
        self.optim_g.validate("optim_g")?;
        self.optim_d.validate("optim_d")?;
        if let Some(p) = &self.penalty {
            p.validate()?;
        }
        if let Some(c) = self.clip
            && !(c.is_finite() && c > 0.0)
        {
            return Err(Error::config("clip", format!("must be a positive number, got {c}")));
        }
        self.validate_evaluation()?;
        // The model's fit to the data (shapes, classes) is checked by `gan_spec` once the data is known.
        let model = crate::model::zoo::model(&self.model)?;
        model.check_labels(self.conditioning)?;
        model.check_hidden(self.hidden.as_deref())?;
        Labels::check_embedding(self.label_embedding)
    }

    fn validate_evaluation(&self) -> Result<()> {
        if self.eval_every == Some(0) {
            return Err(Error::config("eval_every", "must be at least 1 (leave it out to evaluate only at the end)"));
        }
        if self.eval_samples < 2 {
            return Err(Error::config("eval_samples", "must be at least 2"));
        }
        // The metrics' names are checked where metrics live (`eval::metric::check_names`).
        if let Some(best) = &self.keep_best
            && (self.eval_every.is_none() || !self.eval_metrics.contains(best))
        {
            return Err(Error::config("keep_best", format!("`{best}` is kept by the evaluations during training: set eval_every and list `{best}` in eval_metrics")));
        }
        Ok(())
    }

    /// The data options a run's evaluations use: the run's data folder and image size with the
    /// datasets' standard splits (not the run's generated size or seed), so that every run of a
    /// dataset shares one cached classifier and one reference set.
    pub fn eval_data_options(&self, quiet: bool) -> DataOptions {
        DataOptions { data_dir: self.data_dir.clone(), image_size: self.image_size, quiet, ..Default::default() }
    }

    /// Where and how to find this run's data (`test_split`: the held-out split).
    pub fn data_options(&self, quiet: bool, test_split: bool) -> DataOptions {
        DataOptions {
            data_dir: self.data_dir.clone(),
            test_split,
            generated_size: self.generated_size,
            seed: self.seed,
            quiet,
            image_size: self.image_size,
            channels: None,
        }
    }

    /// The model pair for data of `data_shape` with `classes` labels (0: unlabelled). Also
    /// refuses what cannot work: conditioning without labels, penalties on BatchNorm critics.
    pub fn gan_spec(&self, data_shape: Shape3, classes: usize) -> Result<GanSpec> {
        if self.conditioning != Conditioning::None && classes == 0 {
            return Err(Error::config(
                "conditioning",
                format!("dataset `{}` has no labels; a conditional model needs a labelled dataset ({})", self.dataset, crate::data::labelled_dataset_names().join(", ")),
            ));
        }
        let labels = Labels::new(self.conditioning, classes, self.label_embedding)?;
        let mut opts = ModelOptions::new(self.z_dim, data_shape).with_labels(labels);
        opts.hidden = self.hidden.clone();
        let spec = build_spec(&self.model, &opts)?;
        // BatchNorm couples the samples of a batch, so the per-sample input gradient is undefined.
        if let Some(p) = &self.penalty
            && spec.d.has_batch_norm()
        {
            return Err(Error::config("penalty", format!("the {} penalty needs a critic without BatchNorm; model {} has BatchNorm in D (use dcgan-28-ln or an MLP critic)", p.name(), self.model)));
        }
        Ok(spec)
    }
}
