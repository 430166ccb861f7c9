//! The evaluations of a generator as library calls: Inception metrics against a reference set,
//! and the mode report its dataset calls for. Each returns a report that can write its files
//! (named by `run::layout`); the command line only prints.

use std::path::{Path, PathBuf};

use burn::tensor::Tensor;
use serde::Serialize;

use super::classifier::{self, Prediction};
use super::modes::{self, ModeReport, StackedReport};
use super::stats::{self, Features, Gaussian};
use super::toy2d::{self, ToyReport};
use super::generator::{Generator, generate_n, makes_points};
use super::{FidExtractor, Image8, InceptionReport, npz};
use crate::data::{self, DataOptions, ModeCount};
use crate::device::read_back;
use crate::error::{Error, Result};
use crate::run::layout;

/// A reference set for FID: images, or precomputed statistics (FID only).
pub enum ReferenceSet {
    Images(Vec<Image8>),
    Stats(Gaussian),
}

impl ReferenceSet {
    /// A folder of images, an `.npz` statistics file (pytorch-fid's `mu`, `sigma`), or
    /// `DATASET-test` / `DATASET-train`.
    pub fn open(spec: &str, data: &DataOptions) -> Result<Self> {
        let path = Path::new(spec);
        if path.extension().is_some_and(|e| e == "npz") {
            return Ok(Self::Stats(npz::load_stats(path)?));
        }
        if path.is_dir() {
            return Ok(Self::Images(super::read_folder(path)?));
        }
        let (name, test_split) = match (spec.strip_suffix("-test"), spec.strip_suffix("-train")) {
            (Some(n), _) => (n, true),
            (_, Some(n)) => (n, false),
            _ => return Err(Error::config("against", format!("`{spec}` is not a folder, an .npz statistics file, or DATASET-test / DATASET-train (e.g. mnist-test)"))),
        };
        let ds = data::load(name, &DataOptions { test_split, ..data.clone() })?;
        Ok(Self::Images(super::dataset_images(&ds)?))
    }

    /// The set's Gaussian of Inception pool3 features.
    pub fn gaussian(&self, net: &FidExtractor, what: &str, quiet: bool) -> Gaussian {
        match self {
            Self::Stats(g) => g.clone(),
            Self::Images(imgs) => Gaussian::fit(&Features::from_f32(imgs.len(), super::inception::FEATURES, &net.pool3(imgs, quiet, what))),
        }
    }
}

/// Every metric of two sets (`gantry eval A B`, `gantry.eval.compare`): FID; where both are
/// images also KID, precision/recall of `a` against `b` and the Inception Score of each.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    pub fid: f64,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImageComparison>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ImageComparison {
    pub n_a: usize,
    pub n_b: usize,
    pub kid_mean: f64,
    pub kid_std: f64,
    pub precision: f64,
    pub recall: f64,
    pub is_a_mean: f64,
    pub is_a_std: f64,
    pub is_b_mean: f64,
    pub is_b_std: f64,
}

pub fn compare_sets(a: &ReferenceSet, b: &ReferenceSet, net: &FidExtractor, seed: u64, quiet: bool) -> Comparison {
    match (a, b) {
        (ReferenceSet::Images(ia), ReferenceSet::Images(ib)) => {
            let (oa, ob) = (net.outputs(ia, quiet, "A"), net.outputs(ib, quiet, "B"));
            let r = super::inception_report(&oa, &ob, seed);
            let (is_b_mean, is_b_std) = ob.inception_score();
            let images = ImageComparison {
                n_a: r.n_generated,
                n_b: r.n_reference,
                kid_mean: r.kid_mean,
                kid_std: r.kid_std,
                precision: r.precision,
                recall: r.recall,
                is_a_mean: r.is_mean,
                is_a_std: r.is_std,
                is_b_mean,
                is_b_std,
            };
            Comparison { fid: r.fid, images: Some(images) }
        }
        _ => Comparison { fid: stats::frechet_distance(&a.gaussian(net, "A", quiet), &b.gaussian(net, "B", quiet)), images: None },
    }
}

impl Comparison {
    /// The numbers by name, in the order they are printed.
    pub fn values(&self) -> Vec<(&'static str, f64)> {
        let mut v = vec![("fid", self.fid)];
        if let Some(i) = &self.images {
            v.extend([("kid_mean", i.kid_mean), ("kid_std", i.kid_std), ("precision", i.precision), ("recall", i.recall)]);
            v.extend([("is_a_mean", i.is_a_mean), ("is_a_std", i.is_a_std), ("is_b_mean", i.is_b_mean), ("is_b_std", i.is_b_std)]);
            v.extend([("n_a", i.n_a as f64), ("n_b", i.n_b as f64)]);
        }
        v
    }

    /// As a person reads it.
    pub fn summary(&self) -> String {
        let fid = if self.fid < 0.0 && self.fid > -1e-6 { 0.0 } else { self.fid };
        match &self.images {
            None => format!("FID: {fid:.4} (against statistics: FID only)"),
            Some(i) => format!(
                "A: {} images, B: {} images\nFID: {fid:.4}\nKID: {:.6} ± {:.6}\nprecision: {:.4}  recall: {:.4} (A against B, k = 3)\nIS of A: {:.4} ± {:.4}\nIS of B: {:.4} ± {:.4}",
                i.n_a, i.n_b, i.kid_mean, i.kid_std, i.precision, i.recall, i.is_a_mean, i.is_a_std, i.is_b_mean, i.is_b_std
            ),
        }
    }
}

/// Inception metrics of a model's samples: all of them against images, FID and IS against
/// statistics.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum InceptionEval {
    Full(InceptionReport),
    AgainstStats { n_generated: usize, fid: f64, is_mean: f64, is_std: f64 },
}

/// Refuses work that needs images from a generator that makes 2-D points.
pub fn require_images(g: &dyn Generator, what: &str) -> Result<()> {
    match makes_points(g) {
        true => Err(Error::Other(format!("this generator makes 2-D points; {what}"))),
        false => Ok(()),
    }
}

/// `n` samples of `g` (seed `seed`) against `against`, both through `net`.
pub fn inception_eval(g: &dyn Generator, net: &FidExtractor, n: usize, against: &ReferenceSet, what: &str, seed: u64, quiet: bool) -> Result<InceptionEval> {
    require_images(g, "use `gantry eval modes` for the 2-D benchmarks")?;
    let (x, _) = generate_n(g, n, seed, quiet)?;
    let generated = net.outputs(&super::quantise(&x), quiet, "generated");
    Ok(match against {
        ReferenceSet::Stats(g) => {
            let fid = stats::frechet_distance(&Gaussian::fit(&generated.pool3), g);
            let (is_mean, is_std) = generated.inception_score();
            InceptionEval::AgainstStats { n_generated: n, fid, is_mean, is_std }
        }
        ReferenceSet::Images(imgs) => InceptionEval::Full(super::inception_report(&generated, &net.outputs(imgs, quiet, what), seed)),
    })
}

impl InceptionEval {
    /// The numbers as a person reads them (`against` names the reference set).
    pub fn summary(&self, against: &str) -> String {
        match self {
            Self::AgainstStats { n_generated, fid, is_mean, is_std } => {
                format!("FID {fid:.3} against {against} (statistics file); IS {is_mean:.3} ± {is_std:.3}; {n_generated} samples")
            }
            Self::Full(r) => format!(
                "{} samples against {against} ({} images):\n  FID       {:.3}\n  IS        {:.3} ± {:.3}\n  KID       {:.5} ± {:.5}\n  precision {:.3}   recall {:.3} (k = 3)",
                r.n_generated, r.n_reference, r.fid, r.is_mean, r.is_std, r.kid_mean, r.kid_std, r.precision, r.recall
            ),
        }
    }

    /// Writes `inception.json` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<PathBuf> {
        write_json(dir, layout::INCEPTION_REPORT, self)
    }
}

/// Mode coverage as the model's data defines it.
pub enum ModeEval {
    /// 2-D mixtures: modes covered, high-quality share, reverse KL (VEEGAN/PacGAN), with the points.
    Points { report: ToyReport, points: Vec<[f32; 2]>, centres: Vec<[f32; 2]> },
    /// Stacked MNIST: 1000 modes, each channel classified by the MNIST classifier.
    Stacked(StackedReport),
    /// Labelled image data: the class histogram of the dataset's own classifier.
    Classes { report: ModeReport, dataset: String, classifier_accuracy: f64 },
}

/// `n` samples of `g` judged for mode coverage as `dataset` (the data it was trained on) defines
/// it; `data` locates the dataset (and sets the image size the generator makes); classifiers are
/// trained once and cached.
pub fn mode_eval(g: &dyn Generator, dataset: &str, n: usize, seed: u64, data: &DataOptions, quiet: bool) -> Result<ModeEval> {
    data::kind(dataset)?;
    let (x, requested) = generate_n(g, n, seed, quiet)?;
    judge_modes(&x, requested.as_deref(), dataset, data, quiet)
}

/// Samples `x` (`[N, C, H, W]` images or `[N, 2, 1, 1]` points, from a generator or elsewhere)
/// judged for mode coverage as `dataset` defines it; `requested` are the classes a conditional
/// generator was asked for.
pub fn judge_modes(x: &Tensor<4>, requested: Option<&[u8]>, dataset: &str, data: &DataOptions, quiet: bool) -> Result<ModeEval> {
    let kind = data::kind(dataset)?;
    let train_opts = classifier::TrainOptions { seed: 0, quiet, ..Default::default() };
    let device = &x.device();
    match kind.mode_count {
        ModeCount::OwnClassifier => {}
        ModeCount::Points => {
            let (centres, std) = kind.point_modes().expect("a points dataset has modes");
            if x.dims()[1..] != [2, 1, 1] {
                return Err(Error::config("dataset", format!("`{dataset}` holds 2-D points; these samples have shape {:?}", x.dims())));
            }
            let points = crate::sample::point_pairs(&read_back(x));
            return Ok(ModeEval::Points { report: toy2d::report(dataset, &points, &centres, std), points, centres });
        }
        ModeCount::PerChannel { classifier: of, channels: 3 } => {
            let clf = classifier::load_or_train(of, data, &train_opts, device)?;
            let preds: Vec<Prediction> = (0..3).map(|ch| clf.predict(&x.clone().narrow(1, ch, 1))).collect();
            return Ok(ModeEval::Stacked(modes::stacked_report([&preds[0], &preds[1], &preds[2]])));
        }
        ModeCount::PerChannel { .. } | ModeCount::Unavailable => {
            return Err(Error::config("dataset", format!("`{dataset}` has no classes to count modes by (no labels); use FID (`gantry eval --checkpoint`) instead")));
        }
    }
    let clf = classifier::load_or_train(dataset, data, &train_opts, device)?;
    let [_, c, h, w] = x.dims();
    if clf.shape != [c, h, w] {
        return Err(Error::config("dataset", format!("the {dataset} classifier takes {:?} images, these are {:?}", clf.shape, [c, h, w])));
    }
    let test = data::load(dataset, &DataOptions { test_split: true, ..data.clone() })?;
    let idx: Vec<usize> = (0..test.len.min(10_000)).collect();
    let reference = clf.predict(&test.batch(&idx, device));
    let reference = Features::from_f32(idx.len(), classifier::FEATURE_DIM, &reference.features);
    let report = modes::report(&clf.predict(x), &clf.class_names, requested, Some(&reference));
    Ok(ModeEval::Classes { report, dataset: dataset.to_string(), classifier_accuracy: clf.test_accuracy })
}

impl ModeEval {
    /// Writes the report's files into `dir` (`modes.json`, and a scatter plot or bar chart);
    /// returns their paths.
    pub fn save(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let picture = match self {
            Self::Points { report, points, centres } => {
                let plot = dir.join(layout::MODES_SCATTER);
                crate::viz::plot::scatter(&format!("{}: {} samples", report.dataset, report.samples), points, centres, crate::viz::plot::TOY_RANGE, &plot)?;
                Some(plot)
            }
            Self::Stacked(_) => None,
            Self::Classes { report, dataset, .. } => {
                let chart = dir.join(layout::MODES_CHART);
                report.bar_chart(&format!("{dataset}: classes of {} samples (red: uniform)", report.samples), &chart)?;
                Some(chart)
            }
        };
        let report = write_text(dir, layout::MODES_REPORT, &self.json())?;
        Ok(picture.into_iter().chain([report]).collect())
    }

    /// The report as `modes.json` holds it.
    pub fn json(&self) -> String {
        let value = match self {
            Self::Points { report, .. } => serde_json::to_string_pretty(report),
            Self::Stacked(r) => serde_json::to_string_pretty(r),
            Self::Classes { report, .. } => serde_json::to_string_pretty(report),
        };
        value.expect("a report serialises")
    }

    /// One line: how many modes the samples cover and how evenly.
    pub fn headline(&self) -> String {
        match self {
            Self::Points { report, .. } => report.sentence(),
            Self::Stacked(r) => format!("Stacked MNIST: {} of 1000 modes covered, KL(histogram || uniform) {:.3} nats", r.modes, r.kl_uniform),
            Self::Classes { report, .. } => {
                let n = report.samples.max(1) as f64;
                let smallest = report.counts.iter().copied().min().unwrap_or(0) as f64 / n;
                format!(
                    "modes: {} of {} classes generated, the rarest at {:.1}% of {} samples, KL(histogram || uniform) {:.3} nats",
                    report.counts.iter().filter(|&&c| c > 0).count(),
                    report.counts.len(),
                    100.0 * smallest,
                    report.samples,
                    report.kl_uniform
                )
            }
        }
    }

    /// The report as a person reads it.
    pub fn summary(&self) -> String {
        match self {
            Self::Points { report, .. } => report.sentence(),
            Self::Stacked(r) => format!("Stacked MNIST: {} of 1000 modes covered by {} samples; KL(histogram || uniform) = {:.3} nats", r.modes, r.samples, r.kl_uniform),
            Self::Classes { report, dataset, classifier_accuracy } => format!(
                "{}Are all classes generated equally often? {}\n(classifier: LeNet, {:.2}% test accuracy on {dataset})",
                report.table(),
                report.sentence,
                100.0 * classifier_accuracy
            ),
        }
    }
}

fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> Result<PathBuf> {
    write_text(dir, name, &serde_json::to_string_pretty(value).map_err(|e| Error::Other(e.to_string()))?)
}

fn write_text(dir: &Path, name: &str, text: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|e| Error::io(&path, e))?;
    Ok(path)
}
