//! A LeNet-style domain classifier, trained by gantry on a labelled dataset's training split and
//! cached by dataset and content checksum. It answers "which class is this sample?" for mode
//! coverage, and its penultimate features give a domain-specific Fréchet distance.

use std::collections::BTreeMap;
use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::{Device, Tensor, activation};
use md5::{Digest, Md5};

use crate::data::{self, DataOptions, Dataset, Samples};
use crate::error::{Error, Result};
use crate::device::read_back;
use crate::model::spec::{Init, LayerSpec, NetSpec};
use crate::model::{Net, Shape3};
use crate::rng::Rng;
use crate::loss::{accuracy, cross_entropy};
use crate::optim::{OptimConfig, Optimizer};

/// Conv(c,32,5) ReLU MaxPool(2) Conv(32,64,5) ReLU MaxPool(2) Flatten Linear(·,128) ReLU Linear(128,K).
pub fn lenet(shape: Shape3, classes: usize) -> NetSpec {
    let [c, h, w] = shape;
    let side = |n: usize| ((n - 4) / 2 - 4) / 2;
    let flat = 64 * side(h) * side(w);
    NetSpec::new(
        Init::PytorchDefault,
        vec![
            LayerSpec::Conv { inp: c, out: 32, k: 5, s: 1, p: 0, bias: true },
            LayerSpec::Relu,
            LayerSpec::MaxPool2d(2),
            LayerSpec::Conv { inp: 32, out: 64, k: 5, s: 1, p: 0, bias: true },
            LayerSpec::Relu,
            LayerSpec::MaxPool2d(2),
            LayerSpec::Flatten,
            LayerSpec::Linear { inp: flat, out: 128, bias: true },
            LayerSpec::Relu,
            LayerSpec::Linear { inp: 128, out: classes, bias: true },
        ],
    )
}

/// Layers up to the 128-d penultimate features.
const FEATURE_LAYERS: usize = 9;
pub const FEATURE_DIM: usize = 128;

#[derive(Clone, Debug)]
pub struct TrainOptions {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub seed: u64,
    pub quiet: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self { epochs: 5, batch_size: 64, lr: 1e-3, seed: 0, quiet: false }
    }
}

pub struct Classifier {
    pub dataset: String,
    pub shape: Shape3,
    pub class_names: Vec<String>,
    pub net: Net,
    /// Accuracy on the dataset's test split, measured after training.
    pub test_accuracy: f64,
}

/// Class probabilities and penultimate features of a batch.
pub struct Prediction {
    /// `[n, K]`, row-major.
    pub probs: Vec<f32>,
    /// `[n, 128]`.
    pub features: Vec<f32>,
}

impl Prediction {
    pub fn top(&self, k: usize) -> Vec<(usize, f32)> {
        self.probs
            .chunks(k)
            .map(|p| p.iter().enumerate().fold((0, f32::MIN), |best, (i, &v)| if v > best.1 { (i, v) } else { best }))
            .collect()
    }
}

impl Classifier {
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }

    /// Predict in chunks; `x` is `[N, C, H, W]` in [-1, 1].
    pub fn predict(&self, x: &Tensor<4>) -> Prediction {
        let n = x.dims()[0];
        let (mut probs, mut features) = (Vec::new(), Vec::new());
        for start in (0..n).step_by(500) {
            let xb = x.clone().slice([start..(start + 500).min(n)]);
            let f = self.net.forward_range(xb, FEATURE_LAYERS, None);
            let logits = self.net.layers[FEATURE_LAYERS].forward(f.clone(), None);
            let m = f.dims()[0];
            probs.extend(read_back(&activation::softmax(logits.reshape([m, self.classes()]), 1)));
            features.extend(read_back(&f.reshape([m, FEATURE_DIM])));
        }
        Prediction { probs, features }
    }

    pub fn accuracy(&self, ds: &Dataset) -> f64 {
        let labels = ds.labels.as_ref().expect("labelled dataset");
        let device = self.net.device();
        let idx: Vec<usize> = (0..ds.len).collect();
        let top = self.predict(&ds.batch(&idx, &device)).top(self.classes());
        top.iter().zip(labels).filter(|((c, _), y)| *c == **y as usize).count() as f64 / ds.len as f64
    }

    fn metadata(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("format".into(), "gantry-classifier-1".into()),
            ("dataset".into(), self.dataset.clone()),
            ("shape".into(), serde_json::to_string(&self.shape).unwrap()),
            ("class_names".into(), serde_json::to_string(&self.class_names).unwrap()),
            ("test_accuracy".into(), self.test_accuracy.to_string()),
        ])
    }

    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        crate::tensor_file::write(path, &self.net.state_dict(), self.metadata())
    }

    pub fn load(path: &std::path::Path, device: &Device) -> Result<Classifier> {
        let file = crate::tensor_file::read(path)?;
        let bad = |m: &str| Error::bad_file(path, m.to_string());
        let meta = |k: &str| file.metadata.get(k).cloned().ok_or_else(|| bad(&format!("metadata `{k}` missing: not a gantry classifier")));
        if meta("format")? != "gantry-classifier-1" {
            return Err(bad("not a gantry classifier (metadata `format`)"));
        }
        let shape: Shape3 = serde_json::from_str(&meta("shape")?).map_err(|_| bad("metadata `shape` is malformed"))?;
        let class_names: Vec<String> = serde_json::from_str(&meta("class_names")?).map_err(|_| bad("metadata `class_names` is malformed"))?;
        let mut net = Net::build(&lenet(shape, class_names.len()), &mut Rng::new(0), device);
        net.load_state_dict("", &file.tensors).map_err(|m| bad(&m))?;
        let test_accuracy = meta("test_accuracy")?.parse().map_err(|_| bad("metadata `test_accuracy` is not a number"))?;
        Ok(Classifier { dataset: meta("dataset")?, shape, class_names, net, test_accuracy })
    }
}

/// Train on `train` (Adam, the learning rate halved every epoch, stopping early once a window of
/// `CONVERGENCE_WINDOW` batches had no error), measure on `test`.
pub fn train(train: &Dataset, test: &Dataset, opts: &TrainOptions, device: &Device) -> Result<Classifier> {
    let labels = train.labels.as_ref().ok_or_else(|| Error::config("dataset", format!("`{}` has no labels: a classifier needs a labelled dataset", train.name)))?;
    if !matches!(train.samples, Samples::Bytes(_)) {
        return Err(Error::config("dataset", format!("`{}` holds 2-D points; its modes are measured directly", train.name)));
    }
    let device = device.clone().autodiff();
    let spec = lenet(train.shape, train.num_classes());
    let mut net = Net::build(&spec, &mut Rng::derived(opts.seed, "classifier-init", 0), &device);
    let mut opt = Optimizer::new(OptimConfig::Adam { lr: opts.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
    // Adam, with the learning rate halved after every epoch.
    let batches: Vec<(usize, Vec<usize>)> = (0..opts.epochs)
        .flat_map(|e| data::epoch_batches(train.len, opts.batch_size, true, opts.seed, e as u64).into_iter().map(move |b| (e, b)))
        .collect();
    let bar = crate::progress::bar(batches.len() as u64, opts.quiet, &format!("training the {} classifier", train.name));
    // Misclassified training samples in the current window, kept on the device and read once per window.
    let mut wrong = Tensor::<1>::zeros([1], &device);
    for (i, (epoch, idx)) in batches.iter().enumerate() {
        opt.config.set_lr(opts.lr * 0.5f64.powi(*epoch as i32));
        let x = train.batch(idx, &device);
        let y: Vec<u8> = idx.iter().map(|&j| labels[j]).collect();
        let logits = net.forward(x, None).reshape([idx.len(), train.num_classes()]);
        wrong = wrong + (accuracy(logits.clone().detach(), &y).neg() + 1.0) * idx.len() as f32;
        let loss = cross_entropy(logits, &y);
        if (i + 1) % CONVERGENCE_WINDOW == 0 {
            let [l, w] = read_back(&Tensor::cat(vec![loss.clone().detach(), wrong.clone()], 0))[..] else { unreachable!() };
            if !l.is_finite() {
                return Err(Error::NonFinite { step: i as u64, what: "classifier loss".into(), value: l });
            }
            bar.set_message(format!("training the {} classifier (loss {l:.3})", train.name));
            // Every sample of the last window classified right: this data has nothing left to teach.
            if w.round() == 0.0 {
                break;
            }
            wrong = Tensor::<1>::zeros([1], &device);
        }
        let mut grads = loss.backward();
        opt.step(&mut net, &mut grads);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut c = Classifier { dataset: train.name.clone(), shape: train.shape, class_names: train.class_names.clone(), net: net.valid(), test_accuracy: 0.0 };
    c.test_accuracy = c.accuracy(test);
    Ok(c)
}

/// Names the architecture and training recipe in cache file names: a changed recipe retrains.
const RECIPE: &str = "lenet-v3";

/// Training stops early once a whole window of this many batches was classified without an error.
const CONVERGENCE_WINDOW: usize = 100;

/// A short content checksum of a dataset (pixels and labels), so a cached classifier is reused only
/// for exactly the data it was trained on.
pub fn fingerprint(ds: &Dataset) -> String {
    let mut h = Md5::new();
    if let Samples::Bytes(b) = &ds.samples {
        h.update(b);
    }
    if let Some(l) = &ds.labels {
        h.update(l);
    }
    h.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
}

pub fn cache_path(ds: &Dataset) -> PathBuf {
    crate::data::download::gantry_home().join("classifiers").join(format!("{}-{}-{RECIPE}.safetensors", ds.name, fingerprint(ds)))
}

/// The cached classifier for `dataset`, trained (and cached) first if there is none.
pub fn load_or_train(dataset: &str, data_opts: &DataOptions, opts: &TrainOptions, device: &Device) -> Result<Classifier> {
    let train_opts = DataOptions { test_split: false, ..data_opts.clone() };
    let train_set = data::load(dataset, &train_opts)?;
    let path = cache_path(&train_set);
    if path.exists() {
        return Classifier::load(&path, device);
    }
    let test_set = data::load(dataset, &DataOptions { test_split: true, ..data_opts.clone() })?;
    let c = train(&train_set, &test_set, opts, device)?;
    c.save(&path)?;
    Ok(c)
}
