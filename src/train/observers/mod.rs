//! What a training run writes and shows, one observer per file. [`standard`] is the registry of
//! the observers `gantry train` uses, in the order they hear each event: the NaN stop comes
//! before anything records a step.

mod checkpoints;
mod evaluation;
pub mod grids;
mod log;
mod loss_plot;
mod nan_stop;
mod progress_bar;
mod run_files;
mod status;

use std::path::Path;

pub use checkpoints::Checkpoints;
pub use evaluation::Evaluations;
pub use grids::SampleGrids;
pub use log::LogWriter;
pub use loss_plot::LossPlot;
pub use nan_stop::NanStop;
pub use progress_bar::ProgressBar;
pub use run_files::{RunFiles, RunLock};
pub use status::{RunState, RunStatus, StatusWriter, host_name, now, shell_quote};

use super::trainer::Observer;
use crate::error::{Error, Result};

/// The observers of a run written into `run_dir`.
pub fn standard(run_dir: &Path, quiet: bool) -> Vec<Box<dyn Observer>> {
    vec![
        Box::new(RunFiles::new(run_dir)),
        Box::new(NanStop::new(run_dir)),
        Box::new(StatusWriter::new(run_dir)),
        Box::new(LogWriter::new(run_dir)),
        Box::new(ProgressBar::new(quiet)),
        Box::new(SampleGrids::new(run_dir)),
        Box::new(LossPlot::new(run_dir)),
        Box::new(Checkpoints::new(run_dir)),
        Box::new(Evaluations::new(run_dir)),
    ]
}

/// Rewrites the JSON-lines file at `path` keeping only the lines whose step (`step_of`) is at most
/// `step`, in one atomic replacement: a resumed run continues its logs without gaps or repeats,
/// and a crash meanwhile cannot lose them. Lines without a step are dropped; a file that cannot be
/// read (other than a missing one) is an error, never taken for an empty one.
fn keep_lines_up_to(path: &Path, step: u64, step_of: impl Fn(&str) -> Option<u64>) -> Result<()> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => vec![],
        Err(e) => return Err(Error::io(path, e)),
    };
    let mut kept = Vec::with_capacity(bytes.len());
    for line in bytes.split(|&b| b == b'\n') {
        if std::str::from_utf8(line).ok().and_then(&step_of).is_some_and(|s| s <= step) {
            kept.extend_from_slice(line);
            kept.push(b'\n');
        }
    }
    crate::tensor_file::write_atomic(path, &kept)
}

/// The complete lines of JSON-lines text (a last line without its newline is still being
/// written): each a JSON object, or None for a line that is not one.
pub fn complete_json_lines(bytes: &[u8]) -> impl Iterator<Item = Option<serde_json::Map<String, serde_json::Value>>> {
    let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(&[][..], |end| &bytes[..end]);
    complete.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| match serde_json::from_slice(l) {
        Ok(serde_json::Value::Object(m)) => Some(m),
        _ => None,
    })
}

/// Appends `value` as one line to the JSON-lines file at `path` (created if missing).
fn append_json_line(path: &Path, value: &serde_json::Value) -> Result<()> {
    use std::io::Write;
    let mut file = io(std::fs::OpenOptions::new().create(true).append(true).open(path), path)?;
    io(writeln!(file, "{value}"), path)
}

/// The `step` field of a JSON line.
fn json_step(line: &str) -> Option<u64> {
    serde_json::from_str::<serde_json::Value>(line).ok()?.get("step")?.as_u64()
}

fn io<T>(r: std::io::Result<T>, p: &Path) -> Result<T> {
    r.map_err(|e| Error::io(p, e))
}
