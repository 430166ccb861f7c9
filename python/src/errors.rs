//! Library errors and panics as Python exceptions (the classes live in `gantry/errors.py`), and
//! `work`: run library work on gantry's pool with the GIL released.

use std::panic::{AssertUnwindSafe, catch_unwind};

use gantry::Error;
use pyo3::prelude::*;

/// An error before it meets Python: the library's, or a panic's message.
pub enum Failure {
    Gantry(Error),
    Panic(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Gantry(e)
    }
}

/// `gantry.errors.<class>(message)` as a PyErr.
pub fn raise(py: Python<'_>, class: &str, message: &str) -> PyErr {
    match py.import("gantry.errors").and_then(|m| m.getattr(class)).and_then(|c| c.call1((message,))) {
        Ok(e) => PyErr::from_value(e),
        Err(e) => e,
    }
}

pub fn config_error(py: Python<'_>, field: &str, message: &str) -> PyErr {
    raise(py, "ConfigError", &Error::config(field, message).to_string())
}

pub fn shape_error(py: Python<'_>, what: &str, message: &str) -> PyErr {
    raise(py, "ArrayError", &format!("{what}: {message}"))
}

/// The exception class for a library error.
fn class_of(e: &Error) -> &'static str {
    match e {
        Error::Config { .. } => "ConfigError",
        Error::BadFile { .. } => "FileFormatError",
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => "NotFoundError",
        Error::Io { .. } => "GantryOSError",
        Error::MissingDataset { .. } => "DatasetNotFoundError",
        Error::Checkpoint { .. } => "CheckpointError",
        Error::NonFinite { .. } => "TrainingDiverged",
        Error::Download { .. } => "DownloadError",
        Error::Other(_) => "GantryError",
    }
}

pub fn to_py(py: Python<'_>, f: Failure) -> PyErr {
    match f {
        Failure::Gantry(e) => raise(py, class_of(&e), &e.to_string()),
        Failure::Panic(m) => raise(py, "GantryError", &format!("internal error (please report it): {m}")),
    }
}

/// Library results as Python results (where the GIL is held).
pub trait PyResultExt<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> PyResultExt<T> for gantry::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(|e| Python::attach(|py| to_py(py, Failure::Gantry(e))))
    }
}

/// Run `f` on gantry's worker pool with the GIL released; its error or panic becomes an exception.
pub fn work<T: Send>(py: Python<'_>, f: impl FnOnce() -> gantry::Result<T> + Send) -> PyResult<T> {
    let r = py.detach(|| crate::pool().install(|| catch_unwind(AssertUnwindSafe(f))));
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(to_py(py, Failure::Gantry(e))),
        Err(p) => Err(to_py(py, Failure::Panic(gantry::error::panic_message(&*p).to_owned()))),
    }
}
