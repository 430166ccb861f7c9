//! The fixed-noise sample grids of a run: `samples/*.png`, each listed with its step, epoch and
//! caption in `samples/index.jsonl` (training order). Runs from before the index are read by
//! their file names.

use std::path::Path;

use serde_json::Value;

use super::layout;
use super::lines::{append_json_line, complete_json_lines, json_step, keep_lines_up_to};
use crate::error::Result;

/// A fixed-noise grid of a run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Grid {
    /// Path relative to the run folder (`samples/…`).
    pub file: String,
    pub step: Option<u64>,
    pub epoch: Option<u64>,
    pub label: String,
}

/// Lists the grid `file` (a name in `samples/`) in the run's index.
pub fn append(run_dir: &Path, file: &str, step: u64, epoch: u64, label: &str) -> Result<()> {
    let entry = serde_json::json!({ "file": file, "step": step, "epoch": epoch, "label": label });
    append_json_line(&layout::file(run_dir, layout::GRID_INDEX), &entry)
}

/// Rewrites the index for a run that continues from a checkpoint at `step` (in `epoch`): the
/// grids up to it stay listed. A run from before the index gets one, from its grids' names.
pub fn keep_up_to(run_dir: &Path, step: u64, epoch: u64) -> Result<()> {
    let index = layout::file(run_dir, layout::GRID_INDEX);
    if step > 0 && !index.exists() {
        let old: String = grids(run_dir)
            .into_iter()
            .filter(|g| g.step.is_some_and(|s| s <= step) || g.epoch.is_some_and(|e| e <= epoch))
            .map(|g| format!("{}\n", serde_json::json!({ "file": g.file.trim_start_matches(&format!("{}/", layout::SAMPLES)), "step": g.step, "epoch": g.epoch, "label": g.label })))
            .collect();
        crate::tensor_file::write_atomic(&index, old.as_bytes())?;
    }
    keep_lines_up_to(&index, step, json_step)
}

/// The run's fixed-noise grids in training order (see [`grids_from`]).
pub fn grids(run_dir: &Path) -> Vec<Grid> {
    let samples = layout::file(run_dir, layout::SAMPLES);
    let names: Vec<String> = std::fs::read_dir(&samples)
        .map(|r| r.filter_map(|e| e.ok().filter(|e| e.path().is_file())?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    grids_from(&std::fs::read(layout::file(run_dir, layout::GRID_INDEX)).unwrap_or_default(), &names)
}

/// The grids among `files` (names in `samples/`) in training order: as `index` (the contents of
/// `samples/index.jsonl`) lists them where the run wrote one, else by file name (step grids by
/// step, then epoch grids by epoch).
pub fn grids_from(index: &[u8], files: &[String]) -> Vec<Grid> {
    let present = |f: &str| files.iter().any(|n| n == f);
    let in_samples = |name: &str| format!("{}/{name}", layout::SAMPLES);
    let listed: Vec<Grid> = complete_json_lines(index)
        .flatten()
        .filter_map(|r| {
            let file = r.get("file")?.as_str()?.to_string();
            present(&file).then(|| Grid {
                label: r.get("label").and_then(Value::as_str).unwrap_or(&file).to_string(),
                step: r.get("step").and_then(Value::as_u64),
                epoch: r.get("epoch").and_then(Value::as_u64),
                file: in_samples(&file),
            })
        })
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    let mut names = files.to_vec();
    names.sort();
    let png = |n: &&String| n.ends_with(".png");
    let steps = names.iter().filter(png).filter_map(|n| layout::step_of(Path::new(n)).map(|s| Grid { step: Some(s), epoch: None, label: format!("step {s}"), file: in_samples(n) }));
    let epochs = names.iter().filter(png).filter_map(|n| layout::epoch_of(Path::new(n)).map(|e| Grid { step: None, epoch: Some(e), label: format!("epoch {e}"), file: in_samples(n) }));
    steps.chain(epochs).collect()
}

/// The run's grid files with their captions in training order, for an animation; an error naming
/// the folder when it has none.
pub fn frames(run_dir: &Path) -> Result<Vec<(std::path::PathBuf, String)>> {
    let list = grids(run_dir);
    if list.is_empty() {
        return Err(crate::Error::bad_file(layout::file(run_dir, layout::SAMPLES), "no sample grids (samples/step_*.png) to animate: is this a run folder?"));
    }
    Ok(list.into_iter().map(|g| (layout::file(run_dir, &g.file), g.label)).collect())
}
