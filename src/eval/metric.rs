//! Metrics computed during training (`eval_every`), by name. Each takes a generator and returns
//! named numbers for `evals.jsonl`, with one of them its score for `keep_best` (lower is
//! better). A new metric is a type implementing [`Metric`] and a line in [`METRICS`]; the
//! names a config gives are checked here ([`check_names`]).

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{Map, Value, json};

use super::generator::{Generator, generate_n};
use super::report::{ModeEval, mode_eval, require_images};
use super::stats::{self, Features, Gaussian};
use super::{FidExtractor, InceptionOutputs};
use crate::data::DataOptions;
use crate::error::{Error, Result};
use crate::rng::Rng;

pub trait Metric {
    /// Named numbers for `n` samples of `g` drawn with `seed` (the same noise each time). `step`
    /// names the generator's weights: metrics that share samples (FID and KID) draw them once
    /// per step.
    fn compute(&mut self, g: &dyn Generator, step: u64, n: usize, seed: u64) -> Result<Map<String, Value>>;
    /// The number `keep_best` compares, lower is better, among what `compute` returned.
    fn score(&self, values: &Map<String, Value>) -> Option<f64>;
}

/// What a metric is built from: the run's data and the metrics built before it (so FID and
/// KID share one Inception pass).
pub struct MetricSetup {
    /// Where the run's data is and the image size its generator makes
    /// (`TrainConfig::eval_data_options`).
    pub data: DataOptions,
    /// The run's dataset: its classifier counts modes, its test split is FID's and KID's reference.
    pub dataset: String,
    pub samples: usize,
    pub device: burn::tensor::Device,
    /// pytorch-fid's weights file; None: the cached download.
    pub inception_weights: Option<std::path::PathBuf>,
    inception: RefCell<Option<Rc<RefCell<InceptionProbe>>>>,
}

impl MetricSetup {
    pub fn new(data: DataOptions, dataset: &str, samples: usize, device: &burn::tensor::Device, inception_weights: Option<std::path::PathBuf>) -> Self {
        Self { data, dataset: dataset.to_string(), samples, device: device.clone(), inception_weights, inception: RefCell::new(None) }
    }

    fn inception(&self) -> Result<Rc<RefCell<InceptionProbe>>> {
        if let Some(p) = &*self.inception.borrow() {
            return Ok(p.clone());
        }
        let probe = Rc::new(RefCell::new(InceptionProbe::new(self)?));
        *self.inception.borrow_mut() = Some(probe.clone());
        Ok(probe)
    }
}

pub struct MetricEntry {
    pub name: &'static str,
    pub description: &'static str,
    pub build: fn(&MetricSetup) -> Result<Box<dyn Metric>>,
}

pub const METRICS: &[MetricEntry] = &[
    MetricEntry {
        name: "modes",
        description: "class histogram by the dataset's classifier (or 2-D modes): modes covered, KL to uniform (score: KL)",
        build: |s| Ok(Box::new(Modes { dataset: s.dataset.clone(), data: s.data.clone() })),
    },
    MetricEntry { name: "fid", description: "FID against the dataset's test split (as many images as samples; score: FID)", build: |s| Ok(Box::new(Fid(s.inception()?))) },
    MetricEntry { name: "kid", description: "KID against the dataset's test split (score: KID mean)", build: |s| Ok(Box::new(Kid(s.inception()?))) },
];

/// Checks the metrics a run names (`eval_metrics`, `keep_best`) before it starts.
pub fn check_names(eval_metrics: &[String], keep_best: Option<&str>) -> Result<()> {
    for m in eval_metrics {
        entry(m, "eval_metrics")?;
    }
    if let Some(best) = keep_best {
        entry(best, "keep_best")?;
    }
    Ok(())
}

/// The metric called `name`, or a one-line error naming the known ones (`field`: the config
/// field that named it).
pub fn entry(name: &str, field: &str) -> Result<&'static MetricEntry> {
    METRICS.iter().find(|m| m.name == name).ok_or_else(|| {
        Error::config(field, format!("unknown metric `{name}` (known: {})", METRICS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")))
    })
}

fn number(values: &Map<String, Value>, key: &str) -> Option<f64> {
    values.get(key).and_then(Value::as_f64)
}

struct Modes {
    dataset: String,
    data: DataOptions,
}

impl Metric for Modes {
    fn compute(&mut self, g: &dyn Generator, _step: u64, n: usize, seed: u64) -> Result<Map<String, Value>> {
        let values = match mode_eval(g, &self.dataset, n, seed, &self.data, true)? {
            ModeEval::Classes { report, .. } => json!({
                "modes_covered": report.counts.iter().filter(|&&c| c > 0).count(),
                "modes_total": report.counts.len(),
                "kl": report.kl_uniform,
                "rarest_share": report.counts.iter().copied().min().unwrap_or(0) as f64 / report.samples.max(1) as f64,
                "histogram": report.counts,
                "classes": report.class_names,
            }),
            ModeEval::Points { report, .. } => json!({
                "modes_covered": report.modes_covered,
                "modes_total": report.modes,
                "high_quality": report.high_quality,
                "kl": report.reverse_kl,
            }),
            ModeEval::Stacked(r) => json!({ "modes_covered": r.modes, "modes_total": 1000, "kl": r.kl_uniform }),
        };
        Ok(values.as_object().cloned().unwrap_or_default())
    }

    fn score(&self, values: &Map<String, Value>) -> Option<f64> {
        number(values, "kl")
    }
}

/// Inception features of the reference images (once) and of the latest samples, shared by FID
/// and KID.
struct InceptionProbe {
    net: FidExtractor,
    reference: Features,
    reference_gaussian: Gaussian,
    /// The samples' features, and the model step and seed they belong to.
    latest: Option<(u64, u64, InceptionOutputs)>,
}

impl InceptionProbe {
    fn new(setup: &MetricSetup) -> Result<Self> {
        let weights = super::locate_fid_weights(setup.inception_weights.as_deref(), true)?;
        let net = FidExtractor::from_file(&weights, &setup.device)?;
        let test = crate::data::load(&setup.dataset, &DataOptions { test_split: true, ..setup.data.clone() })?;
        let images = super::dataset_images(&test)?;
        let images = &images[..images.len().min(setup.samples)];
        let reference = net.outputs(images, true, "reference").pool3;
        let reference_gaussian = Gaussian::fit(&reference);
        Ok(Self { net, reference, reference_gaussian, latest: None })
    }

    fn samples(&mut self, g: &dyn Generator, step: u64, n: usize, seed: u64) -> Result<&InceptionOutputs> {
        require_images(g, "FID and KID need images")?;
        if !matches!(&self.latest, Some((s, z, _)) if *s == step && *z == seed) {
            let (x, _) = generate_n(g, n, seed, true)?;
            self.latest = Some((step, seed, self.net.outputs(&super::quantise(&x), true, "generated")));
        }
        Ok(&self.latest.as_ref().expect("just computed").2)
    }
}

struct Fid(Rc<RefCell<InceptionProbe>>);

impl Metric for Fid {
    fn compute(&mut self, g: &dyn Generator, step: u64, n: usize, seed: u64) -> Result<Map<String, Value>> {
        let mut probe = self.0.borrow_mut();
        let generated = Gaussian::fit(&probe.samples(g, step, n, seed)?.pool3);
        let fid = stats::frechet_distance(&generated, &probe.reference_gaussian);
        Ok(json!({ "fid": fid }).as_object().cloned().unwrap_or_default())
    }

    fn score(&self, values: &Map<String, Value>) -> Option<f64> {
        number(values, "fid")
    }
}

struct Kid(Rc<RefCell<InceptionProbe>>);

impl Metric for Kid {
    fn compute(&mut self, g: &dyn Generator, step: u64, n: usize, seed: u64) -> Result<Map<String, Value>> {
        let mut probe = self.0.borrow_mut();
        let generated = probe.samples(g, step, n, seed)?.pool3.clone();
        let (mean, std) = stats::kid(&generated, &probe.reference, 100, 1000, &mut Rng::new(seed));
        Ok(json!({ "kid": mean, "kid_std": std }).as_object().cloned().unwrap_or_default())
    }

    fn score(&self, values: &Map<String, Value>) -> Option<f64> {
        number(values, "kid")
    }
}
