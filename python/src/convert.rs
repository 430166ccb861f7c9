//! Values across the boundary: Python keywords to TOML values for the config, numpy arrays in
//! and out (whole buffers, never per-element Python objects).

use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn, PyArrayMethods, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

use crate::errors;

/// A keyword's value as a config value; None clears an optional field.
pub fn to_toml(v: &Bound<'_, PyAny>, field: &str) -> PyResult<Option<toml::Value>> {
    let py = v.py();
    if v.is_none() {
        return Ok(None);
    }
    let value = if v.is_instance_of::<PyBool>() {
        toml::Value::Boolean(v.extract()?)
    } else if v.is_instance_of::<PyInt>() {
        toml::Value::Integer(v.extract().map_err(|_| errors::config_error(py, field, "the integer is out of range"))?)
    } else if v.is_instance_of::<PyFloat>() {
        toml::Value::Float(v.extract()?)
    } else if v.is_instance_of::<PyString>() {
        toml::Value::String(v.extract()?)
    } else if v.hasattr("__fspath__")? {
        toml::Value::String(v.call_method0("__fspath__")?.extract()?)
    } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        for item in v.try_iter()? {
            items.push(to_toml(&item?, field)?.ok_or_else(|| errors::config_error(py, field, "a list cannot hold None"))?);
        }
        toml::Value::Array(items)
    } else if let Ok(d) = v.cast::<PyDict>() {
        let mut table = toml::map::Map::new();
        for (k, item) in d.iter() {
            let key: String = k.extract().map_err(|_| errors::config_error(py, field, "table keys must be strings"))?;
            if let Some(val) = to_toml(&item, &format!("{field}.{key}"))? {
                table.insert(key, val);
            }
        }
        toml::Value::Table(table)
    } else {
        let t = v.get_type().name()?.to_string();
        return Err(errors::config_error(py, field, &format!("a value of type {t} cannot be a config value (expected a number, string, bool, list or dict)")));
    };
    Ok(Some(value))
}

/// A float32 numpy array of `shape` holding `data` (moved, not copied).
pub fn array<'py>(py: Python<'py>, data: Vec<f32>, shape: &[usize]) -> PyResult<Bound<'py, PyAny>> {
    let a = ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| PyTypeError::new_err(e.to_string()))?;
    Ok(a.into_pyarray(py).into_any())
}

pub fn array_u8(py: Python<'_>, data: Vec<u8>) -> Bound<'_, PyAny> {
    data.into_pyarray(py).into_any()
}

/// A dataset's samples as floats in [-1, 1] (images) or the points themselves, with their shape.
pub fn dataset_samples(ds: &gantry::data::Dataset) -> (Vec<f32>, Vec<usize>) {
    let x = ds.values();
    let [c, h, w] = ds.shape;
    let shape = if ds.kind.is_points() { vec![ds.len, c * h * w] } else { vec![ds.len, c, h, w] };
    (x, shape)
}

/// Images given from Python: float32/float64 `(N, C, H, W)` in [-1, 1], or uint8 `(N, C, H, W)`
/// in 0..255; `what` names the argument in messages. Returns 8-bit images as a PNG would hold them.
pub fn images_in(py: Python<'_>, a: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<gantry::eval::Image8>> {
    let (data, shape) = floats_in(py, a, what, 4)?;
    let [n, c, h, w] = [shape[0], shape[1], shape[2], shape[3]];
    if !(c == 1 || c == 3) || h < 2 || w < 2 {
        return Err(errors::shape_error(py, what, &format!("expected images (N, C, H, W) with C 1 or 3, got shape {shape:?}")));
    }
    let bytes = gantry::viz::grid::to_bytes(&data);
    Ok(bytes.chunks(c * h * w).take(n).map(|b| gantry::eval::Image8 { channels: c, h, w, bytes: b.to_vec() }).collect())
}

/// A numeric array of `ndim` dimensions as floats (uint8 images mapped to [-1, 1]); refuses
/// other dtypes, shapes, empty arrays and values that are not finite.
pub fn floats_in(py: Python<'_>, a: &Bound<'_, PyAny>, what: &str, ndim: usize) -> PyResult<(Vec<f32>, Vec<usize>)> {
    let (data, shape): (Vec<f32>, Vec<usize>) = if let Ok(x) = a.cast::<PyArrayDyn<f32>>() {
        (x.to_owned_array().iter().copied().collect(), x.shape().to_vec())
    } else if let Ok(x) = a.cast::<PyArrayDyn<f64>>() {
        (x.to_owned_array().iter().map(|&v| v as f32).collect(), x.shape().to_vec())
    } else if let Ok(x) = a.cast::<PyArrayDyn<u8>>() {
        (x.to_owned_array().iter().map(|&v| gantry::data::unit_value(v)).collect(), x.shape().to_vec())
    } else {
        let t = match a.getattr("dtype") {
            Ok(d) => format!("a numpy array of dtype {}", d.str()?),
            Err(_) => a.get_type().name()?.to_string(),
        };
        return Err(PyTypeError::new_err(format!("{what}: expected a numpy array of float32, float64 or uint8, got {t}")));
    };
    if shape.len() != ndim || shape.contains(&0) {
        return Err(errors::shape_error(py, what, &format!("expected a non-empty array of {ndim} dimensions, got shape {shape:?}")));
    }
    if let Some(bad) = data.iter().find(|v| !v.is_finite()) {
        return Err(errors::shape_error(py, what, &format!("holds {bad}; every value must be finite")));
    }
    Ok((data, shape))
}

/// Any numeric array (or a 0-d scalar) as float32 values and its shape: the tensors of a state
/// dict (int64 buffers such as `num_batches_tracked` included).
pub fn any_floats(py: Python<'_>, a: &Bound<'_, PyAny>, what: &str) -> PyResult<(Vec<f32>, Vec<usize>)> {
    let np = py.import("numpy")?;
    let kind: String = match a.getattr("dtype") {
        Ok(d) => d.getattr("kind")?.extract()?,
        Err(_) => return Err(PyTypeError::new_err(format!("{what}: expected a numpy array, got {}", a.get_type().name()?))),
    };
    if !matches!(kind.as_str(), "f" | "i" | "u" | "b") {
        return Err(PyTypeError::new_err(format!("{what}: expected a numeric array, got dtype {}", a.getattr("dtype")?.str()?)));
    }
    let x = np.call_method1("ascontiguousarray", (a, "float32"))?;
    let x = x.cast::<PyArrayDyn<f32>>().map_err(|e| PyTypeError::new_err(e.to_string()))?;
    Ok((x.to_owned_array().iter().copied().collect(), x.shape().to_vec()))
}
