//! `Model`: a trained generator (a run's newest verified checkpoint, or a state dict trained
//! elsewhere) with sampling, grids, interpolation, the mode report and its weights.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use burn::tensor::{Tensor, TensorData};
use gantry::eval::interpolate::{LatentPath, latent_rows};
use gantry::model::{LayerSpec, NamedTensor, NetSpec, Noise};
use gantry::run::{ForeignModel, TrainedModel};
use gantry::sample::SampleGrid;
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::IntoPyArray;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::convert;
use crate::errors::{self, work};

#[pyclass(module = "gantry._gantry", frozen)]
pub struct Model {
    inner: Mutex<TrainedModel>,
}

fn device_of(name: &str) -> gantry::Result<burn::tensor::Device> {
    name.parse::<gantry::device::DeviceChoice>().map_err(|e| gantry::Error::config("device", e.to_string()))?.device()
}

impl Model {
    pub fn new(m: TrainedModel) -> Self {
        Self { inner: Mutex::new(m) }
    }

    fn with<T>(&self, f: impl FnOnce(&TrainedModel) -> T) -> T {
        f(&self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Work on the model with the GIL released.
    fn work<T: Send>(&self, py: Python<'_>, f: impl FnOnce(&TrainedModel) -> gantry::Result<T> + Send) -> PyResult<T> {
        work(py, || self.with(f))
    }
}

/// A class given as a number or a name.
fn class_arg(m: &TrainedModel, cls: Option<&Bound<'_, PyAny>>) -> gantry::Result<Option<u8>> {
    match cls {
        None => Ok(None),
        Some(c) if c.is_none() => Ok(None),
        Some(c) => m.parse_class(&c.str().map(|s| s.to_string()).unwrap_or_default()).map(Some),
    }
}

fn png_of(f: impl FnOnce(&std::path::Path) -> gantry::Result<()>) -> gantry::Result<Vec<u8>> {
    let dir = tempfile::tempdir().map_err(|e| gantry::Error::io(std::env::temp_dir(), e))?;
    let path = dir.path().join("picture.png");
    f(&path)?;
    std::fs::read(&path).map_err(|e| gantry::Error::io(&path, e))
}

/// A net's tensors as PyTorch's `state_dict` holds them: with each BatchNorm's
/// `num_batches_tracked` (gantry keeps no count; it is `steps`, which PyTorch uses only when
/// momentum is None), so that `load_state_dict(strict=True)` takes them.
fn state_dict_of<'py>(py: Python<'py>, spec: &NetSpec, tensors: Vec<NamedTensor>, steps: u64) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for t in tensors {
        d.set_item(&t.name, convert::array(py, t.data, &t.shape)?)?;
    }
    for (i, layer) in spec.layers.iter().enumerate() {
        if matches!(layer, LayerSpec::BatchNorm { .. }) {
            let count = ArrayD::from_shape_vec(IxDyn(&[]), vec![steps as i64]).expect("a 0-d array");
            d.set_item(format!("{i}.num_batches_tracked"), count.into_pyarray(py))?;
        }
    }
    Ok(d)
}

#[pymethods]
impl Model {
    /// A run folder (its newest checkpoint that verifies) or a checkpoint file.
    #[staticmethod]
    #[pyo3(signature = (path, device="cpu"))]
    fn open(py: Python<'_>, path: PathBuf, device: &str) -> PyResult<Self> {
        if !path.exists() {
            return Err(errors::raise(py, "NotFoundError", &format!("{}: no such run folder or checkpoint file", path.display())));
        }
        let device = device.to_string();
        work(py, move || Ok(Model::new(TrainedModel::open(&path, &device_of(&device)?)?)))
    }

    /// A generator trained elsewhere: `tensors` (name -> float32 array, a state dict) or the
    /// weights file `path`, loaded into zoo model `model`.
    #[staticmethod]
    #[pyo3(signature = (model, tensors=None, path=None, dataset=None, z_dim=None, noise="normal", device="cpu"))]
    #[allow(clippy::too_many_arguments)]
    fn from_state_dict(
        py: Python<'_>,
        model: &str,
        tensors: Option<&Bound<'_, PyDict>>,
        path: Option<PathBuf>,
        dataset: Option<String>,
        z_dim: Option<usize>,
        noise: &str,
        device: &str,
    ) -> PyResult<Self> {
        let noise: Noise = toml::Value::String(noise.into()).try_into().map_err(|_| errors::config_error(py, "noise", &format!("`{noise}` is not a prior (normal or uniform)")))?;
        let foreign = ForeignModel { dataset, z_dim, noise, ..ForeignModel::new(model) };
        let mut named = HashMap::new();
        if let Some(t) = tensors {
            for (k, v) in t.iter() {
                let name: String = k.extract()?;
                let (data, shape) = convert::any_floats(py, &v, &name)?;
                named.insert(name.clone(), NamedTensor { name, shape, data });
            }
        }
        let device = device.to_string();
        work(py, move || {
            let device = device_of(&device)?;
            let m = match &path {
                Some(p) => TrainedModel::from_weights(p, &foreign, &device)?,
                None => TrainedModel::from_state_dict(&named, &foreign, std::path::Path::new("state_dict"), &device)?,
            };
            Ok(Model::new(m))
        })
    }

    /// `n` samples of seed `seed` (eval mode unless `eval_mode` is False), float32 (N, C, H, W)
    /// in [-1, 1] (points: (N, 2)).
    #[pyo3(signature = (n, seed=0, cls=None, eval_mode=true))]
    fn sample<'py>(&self, py: Python<'py>, n: usize, seed: u64, cls: Option<Bound<'py, PyAny>>, eval_mode: bool) -> PyResult<Bound<'py, PyAny>> {
        let class = self.with(|m| class_arg(m, cls.as_ref())).map_err(|e| errors::to_py(py, e.into()))?;
        let (x, shape, points) = self.work(py, |m| {
            gantry::sample::check_count("n", n, m.spec().x_shape.iter().product())?;
            let x = m.generate_grid(&m.noise_grid(n, class, seed), eval_mode);
            Ok((gantry::device::read_back(&x), x.dims(), m.makes_points()))
        })?;
        let shape: Vec<usize> = if points { vec![shape[0], shape[1] * shape[2] * shape[3]] } else { shape.to_vec() };
        convert::array(py, x, &shape)
    }

    /// What the generator makes of `z` ((N, z_dim) or (N, *z_shape)), with one label per sample
    /// for a conditional model.
    #[pyo3(signature = (z, labels=None, eval_mode=true))]
    fn generate<'py>(&self, py: Python<'py>, z: Bound<'py, PyAny>, labels: Option<Vec<u8>>, eval_mode: bool) -> PyResult<Bound<'py, PyAny>> {
        let (zshape, classes) = self.with(|m| (m.spec().z_shape, m.spec().classes()));
        let zlen: usize = zshape.iter().product();
        let (data, shape) = convert::any_floats(py, &z, "z")?;
        if shape.len() < 2 || shape[1..].iter().product::<usize>() != zlen || data.is_empty() {
            return Err(errors::shape_error(py, "z", &format!("expected shape (N, {zlen}) or (N, {}, {}, {}), got {shape:?}", zshape[0], zshape[1], zshape[2])));
        }
        if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
            return Err(errors::shape_error(py, "z", &format!("holds {bad}; every value must be finite")));
        }
        let n = shape[0];
        let labels = match (labels, classes) {
            (Some(l), k) if k > 0 => {
                if l.len() != n || l.iter().any(|&c| c as usize >= k) {
                    return Err(errors::shape_error(py, "labels", &format!("expected {n} labels in 0..{k}")));
                }
                Some(l)
            }
            (Some(_), _) => return Err(errors::config_error(py, "labels", "this generator is unconditional")),
            (None, k) => gantry::sample::cycled_labels(k, n, None),
        };
        let (x, dims) = self.work(py, move |m| {
            gantry::sample::check_count("z", n, m.spec().x_shape.iter().product())?;
            let z = Tensor::<4>::from_data(TensorData::new(data, [n, zshape[0], zshape[1], zshape[2]]), &m.device());
            let grid = SampleGrid { z, labels, per_row: 8, captions: vec![] };
            let x = m.generate_grid(&grid, eval_mode);
            Ok((gantry::device::read_back(&x), x.dims()))
        })?;
        convert::array(py, x, &dims)
    }

    /// A PNG of a sample grid: `n` samples of `seed` (of class `cls`), or rows of `classes`
    /// with `per_class` columns.
    #[pyo3(signature = (n=64, seed=0, cls=None, classes=None, per_class=8, eval_mode=true))]
    fn grid_png<'py>(&self, py: Python<'py>, n: usize, seed: u64, cls: Option<Bound<'py, PyAny>>, classes: Option<String>, per_class: usize, eval_mode: bool) -> PyResult<Bound<'py, PyBytes>> {
        let class = self.with(|m| class_arg(m, cls.as_ref())).map_err(|e| errors::to_py(py, e.into()))?;
        let png = self.work(py, move |m| {
            let per_sample = m.spec().x_shape.iter().product();
            gantry::sample::check_count("per_class", per_class, per_sample)?;
            gantry::sample::check_count("n", n, per_sample)?;
            let grid = match (&classes, class) {
                (Some(list), _) => m.class_grid(&m.parse_classes(list)?, per_class, seed),
                (None, Some(c)) => m.noise_grid(n, Some(c), seed),
                (None, None) if m.spec().classes() > 0 => m.class_grid(&m.spec().labels.all(), per_class, seed),
                (None, None) => m.noise_grid(n, None, seed),
            };
            png_of(|p| m.write_grid(&grid, p, &format!("{n} samples"), eval_mode))
        })?;
        Ok(PyBytes::new(py, &png))
    }

    /// Latent interpolation between consecutive `seeds` (one row per pair, `steps` images per
    /// row, linear or spherical): `(images, per_row, png)`.
    #[pyo3(signature = (seeds, steps=10, spherical=false, cls=None))]
    fn interpolate<'py>(&self, py: Python<'py>, seeds: Vec<u64>, steps: usize, spherical: bool, cls: Option<Bound<'py, PyAny>>) -> PyResult<(Bound<'py, PyAny>, usize, Bound<'py, PyBytes>)> {
        let class = self.with(|m| class_arg(m, cls.as_ref())).map_err(|e| errors::to_py(py, e.into()))?;
        let (x, dims, per_row, png) = self.work(py, move |m| {
            m.require_images("interpolation grids need an image model")?;
            gantry::sample::check_count("steps", steps.saturating_mul(seeds.len().max(2) - 1), m.spec().x_shape.iter().product())?;
            let (zs, per_row) = latent_rows(&m.generator, &LatentPath::Seeds { seeds, steps, spherical })?;
            let x = gantry::eval::generator::from_z(&m.generator, &zs, class)?;
            let png = png_of(|p| gantry::viz::grid::save_grid(&x, per_row, &[], p))?;
            Ok((gantry::device::read_back(&x), x.dims(), per_row, png))
        })?;
        Ok((convert::array(py, x, &dims)?, per_row, PyBytes::new(py, &png)))
    }

    /// The mode report of `n` samples: `(report as JSON, summary text, files written)`; files
    /// go to `out` (default: the run's `eval/`).
    #[pyo3(signature = (n=10000, seed=0, out=None, data_dir=None, quiet=true))]
    fn modes(&self, py: Python<'_>, n: usize, seed: u64, out: Option<PathBuf>, data_dir: Option<PathBuf>, quiet: bool) -> PyResult<(String, String, Vec<PathBuf>)> {
        self.work(py, move |m| {
            let mut data = m.config.eval_data_options(quiet);
            data.data_dir = data_dir.or(data.data_dir);
            let r = gantry::eval::report::mode_eval(&m.generator, &m.config.dataset, n, seed, &data, quiet)?;
            let out = out.unwrap_or_else(|| m.run_file(gantry::run::layout::EVAL_DIR));
            let files = r.save(&out)?;
            Ok((r.json(), r.summary(), files))
        })
    }

    /// G's (or, from a run, D's) tensors under PyTorch's names.
    #[pyo3(signature = (which="G"))]
    fn state_dict<'py>(&self, py: Python<'py>, which: &str) -> PyResult<Bound<'py, PyDict>> {
        let which = which.to_string();
        let (spec, tensors, steps) = self.work(py, move |m| m.state_dict(&which).map(|(spec, t)| (spec, t, m.step)))?;
        state_dict_of(py, &spec, tensors, steps)
    }

    /// Whether it comes from a gantry run (with a log, a discriminator and a run folder).
    #[getter]
    fn from_run(&self) -> bool {
        self.with(|m| m.from_run)
    }

    /// The run's config as TOML.
    /// The config as JSON (every field, defaults included).
    #[getter]
    fn config_json(&self) -> String {
        self.with(|m| serde_json::to_string(&m.config).unwrap_or_default())
    }

    #[getter]
    fn config_toml(&self) -> String {
        self.with(|m| m.config.to_toml())
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.with(|m| m.path.clone())
    }

    #[getter]
    fn run_dir(&self) -> PathBuf {
        self.with(|m| m.run_dir.clone())
    }

    /// The generator step the weights belong to.
    #[getter]
    fn step(&self) -> u64 {
        self.with(|m| m.step)
    }

    #[getter]
    fn class_names(&self) -> Vec<String> {
        self.with(|m| m.class_names())
    }

    #[getter]
    fn z_shape(&self) -> Vec<usize> {
        self.with(|m| m.spec().z_shape.to_vec())
    }

    #[getter]
    fn x_shape(&self) -> Vec<usize> {
        self.with(|m| m.spec().x_shape.to_vec())
    }

    /// Whether the generator makes 2-D points rather than images.
    #[getter]
    fn makes_points(&self) -> bool {
        self.with(|m| m.makes_points())
    }

    /// Newer checkpoints of the run that did not verify, each with the reason.
    #[getter]
    fn skipped_checkpoints(&self) -> Vec<String> {
        self.with(|m| m.skipped_checkpoints.clone())
    }

    /// The run's log as written: one JSON object per step.
    fn log_json(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        self.work(py, |m| Ok(if m.from_run { gantry::run::log::read_log(&m.run_dir, u64::MAX).iter().map(gantry::run::log::line).collect() } else { vec![] }))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()
}
