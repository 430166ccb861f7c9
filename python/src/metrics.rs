//! Inception metrics between two sets, each a numpy array of images, a folder, an `.npz` of
//! statistics or `DATASET-test` / `DATASET-train`: gantry's pytorch-fid-compatible Inception.

use std::path::PathBuf;

use gantry::eval::report::ReferenceSet;
use gantry::eval::{FidExtractor, Image8, InceptionOutputs};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::convert;
use crate::errors::work;

/// A set as Python gave it: images, or a name for `ReferenceSet::open`.
enum SetArg {
    Images(Vec<Image8>),
    Named(String),
}

fn set_arg(py: Python<'_>, a: &Bound<'_, PyAny>, what: &str) -> PyResult<SetArg> {
    if a.is_instance_of::<PyString>() || a.hasattr("__fspath__")? {
        let s: PathBuf = a.extract()?;
        return Ok(SetArg::Named(s.to_string_lossy().into_owned()));
    }
    Ok(SetArg::Images(convert::images_in(py, a, what)?))
}

fn open(arg: SetArg, data: &gantry::data::DataOptions) -> gantry::Result<ReferenceSet> {
    match arg {
        SetArg::Images(i) => Ok(ReferenceSet::Images(i)),
        SetArg::Named(s) => ReferenceSet::open(&s, data),
    }
}

fn extractor(weights: Option<PathBuf>, quiet: bool) -> gantry::Result<FidExtractor> {
    let path = gantry::eval::locate_fid_weights(weights.as_deref(), quiet)?;
    FidExtractor::from_file(&path, &gantry::device::DeviceChoice::Cpu.device()?)
}

/// Every metric of two sets (as `gantry eval A B`): FID, and where both are images KID,
/// precision/recall and the Inception Score of each.
#[pyfunction]
#[pyo3(signature = (a, b, weights=None, data_dir=None, seed=0, quiet=true))]
fn compare<'py>(py: Python<'py>, a: Bound<'py, PyAny>, b: Bound<'py, PyAny>, weights: Option<PathBuf>, data_dir: Option<PathBuf>, seed: u64, quiet: bool) -> PyResult<Bound<'py, PyDict>> {
    let (sa, sb) = (set_arg(py, &a, "a")?, set_arg(py, &b, "b")?);
    let data = gantry::data::DataOptions { data_dir, quiet, ..Default::default() };
    let values = work(py, move || {
        let net = extractor(weights, quiet)?;
        let (ra, rb) = (open(sa, &data)?, open(sb, &data)?);
        Ok(gantry::eval::report::compare_sets(&ra, &rb, &net, seed, quiet).values())
    })?;
    let d = PyDict::new(py);
    for (k, x) in values {
        d.set_item(k, x)?;
    }
    Ok(d)
}

/// The Inception Score of a set of images: `(mean, std)` over 10 splits.
#[pyfunction]
#[pyo3(signature = (images, weights=None, quiet=true))]
fn inception_score(py: Python<'_>, images: Bound<'_, PyAny>, weights: Option<PathBuf>, quiet: bool) -> PyResult<(f64, f64)> {
    let imgs = convert::images_in(py, &images, "images")?;
    work(py, move || Ok(extractor(weights, quiet)?.outputs(&imgs, quiet, "images").inception_score()))
}

/// Inception pool3 features `(N, 2048)` float32 of images, as pytorch-fid computes them.
#[pyfunction]
#[pyo3(signature = (images, weights=None, quiet=true))]
fn inception_features<'py>(py: Python<'py>, images: Bound<'py, PyAny>, weights: Option<PathBuf>, quiet: bool) -> PyResult<Bound<'py, PyAny>> {
    let imgs = convert::images_in(py, &images, "images")?;
    let (data, n, d) = work(py, move || {
        let o: InceptionOutputs = extractor(weights, quiet)?.outputs(&imgs, quiet, "images");
        Ok((o.pool3.data.iter().map(|&v| v as f32).collect::<Vec<f32>>(), o.pool3.n, o.pool3.d))
    })?;
    convert::array(py, data, &[n, d])
}

/// Write the FID statistics (`mu`, `sigma`, pytorch-fid's `.npz`) of a set to `path`.
#[pyfunction]
#[pyo3(signature = (images, path, weights=None, data_dir=None, quiet=true))]
fn save_fid_stats(py: Python<'_>, images: Bound<'_, PyAny>, path: PathBuf, weights: Option<PathBuf>, data_dir: Option<PathBuf>, quiet: bool) -> PyResult<()> {
    let set = set_arg(py, &images, "images")?;
    let data = gantry::data::DataOptions { data_dir, quiet, ..Default::default() };
    work(py, move || {
        let net = extractor(weights, quiet)?;
        gantry::eval::npz::save_stats(&path, &open(set, &data)?.gaussian(&net, "images", quiet))
    })
}

/// The mode report of images or 2-D points from anywhere, as `dataset` counts modes: `(report as
/// JSON, summary, files written into `out`)`.
#[pyfunction]
#[pyo3(signature = (samples, dataset, out=None, data_dir=None, quiet=true))]
fn modes_of(py: Python<'_>, samples: Bound<'_, PyAny>, dataset: String, out: Option<PathBuf>, data_dir: Option<PathBuf>, quiet: bool) -> PyResult<(String, String, Vec<PathBuf>)> {
    let points = gantry::data::kind(&dataset).map(|k| k.is_points()).unwrap_or(false);
    let (data, shape) = convert::floats_in(py, &samples, "samples", if points { 2 } else { 4 })?;
    let dims = if points { [shape[0], shape[1], 1, 1] } else { [shape[0], shape[1], shape[2], shape[3]] };
    let opts = gantry::data::DataOptions { data_dir, quiet, ..Default::default() };
    work(py, move || {
        let x = burn::tensor::Tensor::<4>::from_data(burn::tensor::TensorData::new(data, dims), &gantry::device::DeviceChoice::Cpu.device()?);
        let r = gantry::eval::report::judge_modes(&x, None, &dataset, &opts, quiet)?;
        let files = match &out {
            Some(dir) => r.save(dir)?,
            None => vec![],
        };
        Ok((r.json(), r.summary(), files))
    })
}

/// The names and shapes of the Inception network's state dict (pytorch-fid's).
#[pyfunction]
fn inception_state_dict_shapes() -> Vec<(String, Vec<usize>)> {
    gantry::eval::inception::state_dict_shapes()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(inception_score, m)?)?;
    m.add_function(wrap_pyfunction!(inception_features, m)?)?;
    m.add_function(wrap_pyfunction!(save_fid_stats, m)?)?;
    m.add_function(wrap_pyfunction!(modes_of, m)?)?;
    m.add_function(wrap_pyfunction!(inception_state_dict_shapes, m)?)
}
