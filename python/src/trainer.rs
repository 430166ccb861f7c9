//! `Trainer`: the library's Trainer from Python. `step()` takes one generator step; `run()`
//! trains into a run folder with the standard observers (the files `gantry train` writes) plus
//! one that hands every event to a Python callable. Training runs on a worker thread while the
//! calling thread waits without the GIL, checking for Ctrl-C / "interrupt kernel" every 50 ms:
//! an interrupt stops the run after its current step with a checkpoint, then raises
//! KeyboardInterrupt.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gantry::config::TrainConfig;
use gantry::run::{RunLock, StepRecord, layout};
use gantry::train::{Event, Observer, Outcome, RunLength, StopSignal, Trainer as LibTrainer, observers};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{self, Failure, PyResultExt, work};

#[pyclass(module = "gantry._gantry", frozen)]
pub struct Trainer {
    inner: Mutex<LibTrainer>,
    /// The stop signal of the run in progress (a fresh one per `run`).
    stop: Mutex<StopSignal>,
}

/// A step's record as a dict: step, epoch, then its scalars.
fn record_dict<'py>(py: Python<'py>, r: &StepRecord) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("step", r.step)?;
    d.set_item("epoch", r.epoch)?;
    for (k, v) in r.scalars.iter() {
        d.set_item(k, v)?;
    }
    Ok(d)
}

fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Finished => "finished",
        Outcome::StoppedAtMaxSteps => "stopped_at_max_steps",
        Outcome::Interrupted => "interrupted",
    }
}

/// Hands each event to a Python callable as a dict (`event`: start, step, epoch_end, end,
/// failed). An exception it raises stops the run; it is kept to be raised again as it was.
struct Callback {
    callable: Py<PyAny>,
    raised: Arc<Mutex<Option<PyErr>>>,
}

impl Observer for Callback {
    fn on_event(&mut self, t: &LibTrainer, event: &Event) -> gantry::Result<()> {
        if self.raised.lock().map(|r| r.is_some()).unwrap_or(true) {
            return Ok(());
        }
        let result = Python::attach(|py| -> PyResult<()> {
            let d = match event {
                Event::Step(r) => record_dict(py, r)?,
                _ => PyDict::new(py),
            };
            let name = match event {
                Event::Start => "start",
                Event::Step(_) => "step",
                Event::EpochEnd => "epoch_end",
                Event::End(o) => {
                    d.set_item("outcome", outcome_name(*o))?;
                    "end"
                }
                Event::Failed(message) => {
                    d.set_item("message", *message)?;
                    "failed"
                }
            };
            d.set_item("event", name)?;
            if !matches!(event, Event::Step(_)) {
                d.set_item("step", t.progress.step)?;
                d.set_item("epoch", t.progress.epoch)?;
            }
            d.set_item("total_steps", t.total_steps())?;
            self.callable.call1(py, (d,))?;
            Ok(())
        });
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                let message = Python::attach(|py| e.value(py).repr().map(|r| r.to_string()).unwrap_or_default());
                if let Ok(mut r) = self.raised.lock() {
                    *r = Some(e);
                }
                Err(gantry::Error::Other(format!("a callback raised {message}")))
            }
        }
    }
}

impl Trainer {
    fn new(t: LibTrainer) -> Self {
        Self { inner: Mutex::new(t), stop: Mutex::new(StopSignal::default()) }
    }

    fn with<T>(&self, f: impl FnOnce(&mut LibTrainer) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// `f` on the trainer when no `run` holds it; while one does (a callback, or another thread,
    /// asking), an exception rather than a wait for a lock that the run keeps to its end.
    fn idle<T>(&self, f: impl FnOnce(&mut LibTrainer) -> T) -> PyResult<T> {
        match self.inner.try_lock() {
            Ok(mut t) => Ok(f(&mut t)),
            Err(std::sync::TryLockError::Poisoned(p)) => Ok(f(&mut p.into_inner())),
            Err(std::sync::TryLockError::WouldBlock) => Err(Python::attach(|py| {
                errors::raise(py, "GantryError", "the trainer is running: its step, epoch and length come with each event a callback receives")
            })),
        }
    }
}

#[pymethods]
impl Trainer {
    /// A fresh run of the config `config_toml` (its dataset is loaded now).
    #[new]
    #[pyo3(signature = (config_toml, quiet=true))]
    fn py_new(py: Python<'_>, config_toml: &str, quiet: bool) -> PyResult<Self> {
        let config = TrainConfig::from_toml(config_toml, "config").py()?;
        gantry::eval::metric::check_names(&config.eval_metrics, config.keep_best.as_deref()).py()?;
        work(py, move || Ok(Trainer::new(LibTrainer::new(config, quiet)?)))
    }

    /// Continue the run at `path` (a run folder or checkpoint file) exactly where it stopped.
    #[staticmethod]
    #[pyo3(signature = (path, epochs=None, max_steps=None, quiet=true))]
    fn resume(py: Python<'_>, path: PathBuf, epochs: Option<usize>, max_steps: Option<u64>, quiet: bool) -> PyResult<Self> {
        if !path.exists() {
            return Err(errors::raise(py, "NotFoundError", &format!("{}: no such run folder or checkpoint file", path.display())));
        }
        work(py, move || Ok(Trainer::new(LibTrainer::resume(&path, &RunLength { epochs, max_steps }, None, quiet)?)))
    }

    /// One generator step (k discriminator steps first): `{step, epoch, loss_d, loss_g, …}`.
    fn step<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        self.idle(|_| ())?;
        let r = work(py, || self.with(|t| t.step()))?;
        record_dict(py, &r)
    }

    /// Train into the run folder `out` until the run's length, telling `callback` each event.
    /// Returns `(outcome, steps, seconds, images_per_s)`.
    #[pyo3(signature = (out, callback=None))]
    fn run(&self, py: Python<'_>, out: PathBuf, callback: Option<Py<PyAny>>) -> PyResult<(String, u64, f64, f64)> {
        self.idle(|_| ())?;
        let raised = Arc::new(Mutex::new(None));
        let stop = StopSignal::default();
        *self.stop.lock().unwrap_or_else(|p| p.into_inner()) = stop.clone();
        let callback = callback.map(|callable| Callback { callable, raised: raised.clone() });
        let (result, interrupt) = py.detach(|| {
            let mut interrupt = None;
            let result = std::thread::scope(|s| {
                let worker = s.spawn(|| {
                    crate::pool().install(|| {
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            let _lock = RunLock::acquire(&out)?;
                            self.with(|t| {
                                // The Python side draws progress; the terminal's bar stays quiet.
                                let mut all = observers::standard(&out, true);
                                if let Some(c) = callback {
                                    all.push(Box::new(c));
                                }
                                t.run(&mut all, &stop)
                            })
                        }))
                    })
                });
                while !worker.is_finished() {
                    std::thread::sleep(Duration::from_millis(50));
                    if interrupt.is_none()
                        && let Err(e) = Python::attach(|py| py.check_signals())
                    {
                        stop.request();
                        interrupt = Some(e);
                    }
                }
                worker.join().unwrap_or_else(|p| Err(p))
            });
            (result, interrupt)
        });
        if let Some(e) = raised.lock().ok().and_then(|mut r| r.take()) {
            return Err(e);
        }
        let summary = match result {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(errors::to_py(py, Failure::Gantry(e))),
            Err(p) => return Err(errors::to_py(py, Failure::Panic(gantry::error::panic_message(&*p).to_owned()))),
        };
        if let Some(e) = interrupt {
            return Err(e);
        }
        Ok((outcome_name(summary.outcome).to_string(), summary.steps, summary.seconds, summary.images_per_s))
    }

    /// Ask a running `run` to stop after its current step (with a checkpoint).
    fn stop(&self) {
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).request();
    }

    /// Write a checkpoint of everything needed to continue exactly.
    fn save_checkpoint(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        self.idle(|_| ())?;
        work(py, || self.with(|t| t.save_checkpoint(&path)))
    }

    /// The config as JSON (every field, defaults included).
    #[getter]
    fn config_json(&self) -> PyResult<String> {
        self.idle(|t| serde_json::to_string(&t.config).unwrap_or_default())
    }

    #[getter]
    fn config_toml(&self) -> PyResult<String> {
        self.idle(|t| t.config.to_toml())
    }

    /// Generator steps taken.
    #[getter]
    fn step_count(&self) -> PyResult<u64> {
        self.idle(|t| t.progress.step)
    }

    /// Completed epochs.
    #[getter]
    fn epoch(&self) -> PyResult<u64> {
        self.idle(|t| t.progress.epoch)
    }

    #[getter]
    fn total_steps(&self) -> PyResult<u64> {
        self.idle(|t| t.total_steps())
    }

    #[getter]
    fn steps_per_epoch(&self) -> PyResult<u64> {
        self.idle(|t| t.steps_per_epoch())
    }

    /// Whether runs of this config end with the mode check.
    #[getter]
    fn counts_modes(&self) -> PyResult<bool> {
        self.idle(|t| gantry::train::mode_check::applies(&t.config))
    }

    /// The checkpoint a resumed trainer continues from.
    #[getter]
    fn resumed_from(&self) -> PyResult<Option<PathBuf>> {
        self.idle(|t| t.resumed_from.clone())
    }
}

/// The mode check a run ends with (`gantry train` does it too): `(headline, files)`.
#[pyfunction]
#[pyo3(signature = (run_dir, quiet=true))]
fn mode_check(py: Python<'_>, run_dir: PathBuf, quiet: bool) -> PyResult<(String, Vec<PathBuf>)> {
    work(py, move || {
        let config = gantry::run::checkpoint::load_latest(&run_dir)?.0.config;
        let (report, files) = gantry::train::mode_check::run(&run_dir, &config.device.device()?, quiet)?;
        Ok((report.headline(), files))
    })
}

/// Where a new run named `name` goes by default (`runs/NAME`, numbered when taken).
#[pyfunction]
fn fresh_run_dir(name: &str) -> PathBuf {
    layout::fresh_run_dir(name)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Trainer>()?;
    m.add_function(wrap_pyfunction!(mode_check, m)?)?;
    m.add_function(wrap_pyfunction!(fresh_run_dir, m)?)
}
