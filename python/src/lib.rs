//! `gantry._gantry`: the native half of the Python package, a thin PyO3 layer over the gantry
//! library. Python keeps the idiom (keywords, docstrings, tqdm, pandas, `_repr_png_`); this layer
//! converts arguments, runs the library's work on gantry's worker pool with the GIL released,
//! and turns every library error (and any panic) into one of `gantry.errors`' exceptions.

mod convert;
mod errors;
mod metrics;
mod model;
mod trainer;

use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use errors::{PyResultExt, work};

/// The worker threads every call runs on: the calling thread waits (without the GIL) while
/// the work runs on one of the pool's threads, whose parallel loops then share the work
/// without waking and sleeping around each loop (as `gantry` itself does).
pub(crate) fn pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .stack_size(8 << 20)
            .thread_name(|i| format!("gantry-{i}"))
            .build()
            .expect("gantry's worker threads")
    })
}

/// `[(name, description)]` of the built-in presets.
#[pyfunction]
fn presets() -> PyResult<Vec<(String, String)>> {
    gantry::presets::PRESETS
        .iter()
        .map(|(name, text)| Ok((name.to_string(), gantry::config::TrainConfig::from_toml(text, name).py()?.description)))
        .collect()
}

/// `[(name, description)]` of the models.
#[pyfunction]
fn models() -> Vec<(String, String)> {
    gantry::model::zoo::MODELS.iter().map(|m| (m.name.to_string(), m.description.to_string())).collect()
}

/// `[(name, description)]` of the dataset kinds.
#[pyfunction]
fn dataset_kinds() -> Vec<(String, String)> {
    gantry::data::DATASETS.iter().map(|k| (k.name.to_string(), k.description.to_string())).collect()
}

/// The class names of a dataset (empty when unlabelled), without reading it.
#[pyfunction]
fn dataset_class_names(name: &str) -> PyResult<Vec<String>> {
    Ok((gantry::data::kind(name).py()?.class_names)(name))
}

/// A config as TOML: `preset` (or the TOML text `toml_text`) with `fields` replaced, validated.
#[pyfunction]
#[pyo3(signature = (preset=None, toml_text=None, origin=None, fields=None))]
fn resolve_config(preset: Option<&str>, toml_text: Option<&str>, origin: Option<&str>, fields: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
    let base = match (toml_text, preset) {
        (Some(text), _) => gantry::config::TrainConfig::from_toml(text, origin.unwrap_or("config")).py()?,
        (None, p) => gantry::presets::preset(p.unwrap_or("default")).py()?,
    };
    let mut given = Vec::new();
    if let Some(fields) = fields {
        for (k, v) in fields.iter() {
            let name: String = k.extract()?;
            given.push((name.clone(), convert::to_toml(&v, &name)?));
        }
    }
    Ok(base.with_fields(&given).py()?.to_toml())
}

/// A dataset's samples: `(x, labels, class_names)`, x float32 `(N, C, H, W)` in [-1, 1] (points
/// `(N, 2)`), labels uint8 or None.
#[pyfunction]
#[pyo3(signature = (name, split="train", data_dir=None, image_size=None, generated_size=None, seed=0))]
fn load_dataset<'py>(
    py: Python<'py>,
    name: &str,
    split: &str,
    data_dir: Option<std::path::PathBuf>,
    image_size: Option<usize>,
    generated_size: Option<usize>,
    seed: u64,
) -> PyResult<(Bound<'py, PyAny>, Option<Bound<'py, PyAny>>, Vec<String>)> {
    let test_split = match split {
        "train" => false,
        "test" => true,
        other => return Err(errors::config_error(py, "split", &format!("`{other}` is not a split (train or test)"))),
    };
    let opts = gantry::data::DataOptions { data_dir, test_split, generated_size, seed, quiet: true, image_size, channels: None };
    let name = name.to_string();
    let (x, shape, labels, classes) = work(py, move || {
        let ds = gantry::data::load(&name, &opts)?;
        let (x, shape) = convert::dataset_samples(&ds);
        Ok((x, shape, ds.labels.clone(), ds.class_names.clone()))
    })?;
    let labels = labels.map(|l| convert::array_u8(py, l));
    Ok((convert::array(py, x, &shape)?, labels, classes))
}

#[pymodule]
fn _gantry(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(presets, m)?)?;
    m.add_function(wrap_pyfunction!(models, m)?)?;
    m.add_function(wrap_pyfunction!(dataset_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(resolve_config, m)?)?;
    m.add_function(wrap_pyfunction!(load_dataset, m)?)?;
    m.add_function(wrap_pyfunction!(dataset_class_names, m)?)?;
    model::register(m)?;
    trainer::register(m)?;
    metrics::register(m)?;
    Ok(())
}
