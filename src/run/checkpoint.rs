//! Checkpoint files: both networks (PyTorch state_dict names), both optimiser states, progress,
//! RNG state and the config, in one safetensors file written atomically and durably. Each carries
//! a SHA-256 of its tensors, checked on every load with the finiteness of every value, so a
//! corrupt file is named and refused; a run folder opens its newest checkpoint that verifies.
//! What goes into the tensors is training's business (`train::checkpoint`); this file knows the
//! format, the names and the order of a run's checkpoints.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::layout;
use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::model::NamedTensor;
use crate::rng::Rng;
use crate::tensor_file;

pub const FORMAT: &str = "gantry-checkpoint-1";
/// The prefixes of each network's tensors in a checkpoint (PyTorch names after them).
pub const G_PREFIX: &str = "G.";
pub const D_PREFIX: &str = "D.";
pub const G_LABEL_PREFIX: &str = "G_label.";
pub const D_LABEL_PREFIX: &str = "D_label.";

/// Where training stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Generator steps taken.
    pub step: u64,
    /// Current epoch (0-based) and the next batch index within it.
    pub epoch: u64,
    pub batch: usize,
}

/// Everything a checkpoint holds besides its tensors.
pub struct CheckpointInfo<'a> {
    pub config: &'a TrainConfig,
    pub progress: &'a Progress,
    pub noise_rng: &'a Rng,
    /// Updates each optimiser has taken (Adam's bias-correction time step).
    pub opt_steps: [u64; 2],
    /// Shape of the training data, so the networks can be rebuilt without loading the dataset.
    pub data_shape: [usize; 3],
    pub class_names: &'a [String],
}

pub fn last_path(run_dir: &Path) -> PathBuf {
    layout::file(run_dir, layout::LAST_CHECKPOINT)
}

/// Writes `tensors` with `info` as a checkpoint at `path` (atomically and durably). Weights that
/// are not finite are never saved over a good checkpoint.
pub fn write(path: &Path, tensors: &[NamedTensor], info: &CheckpointInfo) -> Result<()> {
    let mut meta = BTreeMap::new();
    meta.insert("format".into(), FORMAT.into());
    meta.insert("config".into(), info.config.to_toml());
    meta.insert("step".into(), info.progress.step.to_string());
    meta.insert("epoch".into(), info.progress.epoch.to_string());
    meta.insert("batch".into(), info.progress.batch.to_string());
    meta.insert("noise_rng".into(), serde_json::to_string(&info.noise_rng.state()).unwrap());
    meta.insert("opt_g_steps".into(), info.opt_steps[0].to_string());
    meta.insert("opt_d_steps".into(), info.opt_steps[1].to_string());
    meta.insert("data_shape".into(), serde_json::to_string(&info.data_shape).unwrap());
    meta.insert("class_names".into(), serde_json::to_string(info.class_names).unwrap());
    if let Some(name) = first_non_finite(tensors.iter()) {
        return Err(Error::NonFinite { step: info.progress.step, what: format!("tensor `{name}` (not saved; the last checkpoint is kept)"), value: f32::NAN });
    }
    meta.insert(CHECKSUM.into(), checksum(tensors.iter(), &meta));
    tensor_file::write(path, tensors, meta)
}

/// Metadata key of the checkpoint's SHA-256 (over its tensors and every other metadata entry).
const CHECKSUM: &str = "sha256";

/// SHA-256 over every tensor's name, shape and little-endian f32 values (in name order) and every
/// metadata entry but the checksum itself (in key order).
pub fn checksum<'a>(tensors: impl Iterator<Item = &'a NamedTensor>, metadata: &BTreeMap<String, String>) -> String {
    use sha2::{Digest, Sha256};
    let mut sorted: Vec<&NamedTensor> = tensors.collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    let mut h = Sha256::new();
    let mut text = |t: &str| {
        h.update((t.len() as u64).to_le_bytes());
        h.update(t.as_bytes());
    };
    for (k, v) in metadata.iter().filter(|(k, _)| *k != CHECKSUM) {
        text(k);
        text(v);
    }
    for t in sorted {
        h.update((t.name.len() as u64).to_le_bytes());
        h.update(t.name.as_bytes());
        h.update((t.shape.len() as u64).to_le_bytes());
        t.shape.iter().for_each(|d| h.update((*d as u64).to_le_bytes()));
        t.data.iter().for_each(|v| h.update(v.to_le_bytes()));
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// The name of the first tensor (in name order) holding a NaN or infinity.
fn first_non_finite<'a>(tensors: impl Iterator<Item = &'a NamedTensor>) -> Option<String> {
    tensors.filter(|t| t.data.iter().any(|v| !v.is_finite())).map(|t| t.name.as_str()).min().map(str::to_string)
}

/// The checksum matches and every value is finite (files from before checksums: values only).
fn verify(file: &tensor_file::TensorFile) -> std::result::Result<(), String> {
    let metadata: BTreeMap<String, String> = file.metadata.clone().into_iter().collect();
    if let Some(want) = file.metadata.get(CHECKSUM)
        && *want != checksum(file.tensors.values(), &metadata)
    {
        return Err("its contents do not match their checksum: the file is corrupt".into());
    }
    match first_non_finite(file.tensors.values()) {
        Some(n) => Err(format!("tensor `{n}` holds values that are not finite (NaN or infinite)")),
        None => Ok(()),
    }
}

pub struct Loaded {
    pub file: tensor_file::TensorFile,
    pub config: TrainConfig,
    pub progress: Progress,
    pub noise_rng: Rng,
    /// Shape of the training data, so the networks can be rebuilt without loading the dataset.
    pub data_shape: [usize; 3],
    /// The dataset's class names (empty when unlabelled); their count is the model's class count.
    pub class_names: Vec<String>,
    /// Updates each optimiser had taken (0 where the file does not say).
    pub opt_steps: [u64; 2],
    pub path: PathBuf,
}

/// The step a checkpoint file of a run holds by its name (`step_0000120.safetensors`), for ordering.
fn step_of_file(path: &Path) -> Option<u64> {
    path.extension().is_some_and(|e| e == "safetensors").then(|| layout::step_of(path)).flatten()
}

/// Every checkpoint file of a run, newest first: `last`, then the step checkpoints by the step
/// they hold, then the epoch checkpoints (newest epoch first). `keep_best`'s checkpoint is an
/// earlier state kept for its score, never one to resume from.
pub fn run_checkpoints(run_dir: &Path) -> Vec<PathBuf> {
    let dir = layout::file(run_dir, layout::CHECKPOINTS);
    let best = layout::file(run_dir, layout::BEST_CHECKPOINT);
    let files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|e| e == "safetensors") && *p != last_path(run_dir) && *p != best).collect())
        .unwrap_or_default();
    let (mut steps, mut epochs): (Vec<PathBuf>, Vec<PathBuf>) = files.into_iter().partition(|p| step_of_file(p).is_some());
    steps.sort_by_key(|p| std::cmp::Reverse(step_of_file(p)));
    epochs.sort_by_key(|p| std::cmp::Reverse(layout::epoch_of(p)));
    std::iter::once(last_path(run_dir)).filter(|p| p.exists()).chain(steps).chain(epochs).collect()
}

/// Each checkpoint of a run (newest first) with the step it holds, or why it does not verify.
pub fn verify_run(run_dir: &Path) -> Vec<(PathBuf, std::result::Result<u64, String>)> {
    run_checkpoints(run_dir).into_iter().map(|p| (p.clone(), load(&p).map(|l| l.progress.step).map_err(|e| e.to_string()))).collect()
}

/// A run folder's newest checkpoint that verifies (with the reasons the newer ones were
/// skipped), or a checkpoint file itself.
pub fn load_latest(path: &Path) -> Result<(Loaded, Vec<String>)> {
    if !path.is_dir() {
        return Ok((load(path)?, vec![]));
    }
    let mut skipped = vec![];
    for candidate in run_checkpoints(path) {
        match load(&candidate) {
            Ok(l) => return Ok((l, skipped)),
            Err(e) => skipped.push(e.to_string()),
        }
    }
    match skipped.first() {
        Some(_) => Err(Error::Checkpoint { path: path.to_path_buf(), message: format!("no checkpoint of this run verifies ({})", skipped.join("; ")) }),
        None => Ok((load(path)?, vec![])),
    }
}

/// Accepts a run directory (its `checkpoints/last.safetensors`) or a checkpoint file.
pub fn load(path: &Path) -> Result<Loaded> {
    let file_path = if path.is_dir() { last_path(path) } else { path.to_path_buf() };
    if !file_path.exists() {
        return Err(Error::Checkpoint { path: file_path, message: "no such checkpoint (expected a run directory or a .safetensors checkpoint)".into() });
    }
    let bad = |m: String| Error::Checkpoint { path: file_path.clone(), message: m };
    let file = tensor_file::read(&file_path).map_err(|e| bad(e.to_string()))?;
    if file.metadata.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(bad(format!("not a gantry checkpoint (metadata `format` is not {FORMAT})")));
    }
    verify(&file).map_err(bad)?;
    let get = |k: &str| file.metadata.get(k).cloned().ok_or_else(|| bad(format!("metadata `{k}` missing")));
    let num = |k: &str| get(k).and_then(|v| v.parse::<u64>().map_err(|_| bad(format!("metadata `{k}` is not a number"))));
    let config = TrainConfig::from_toml(&get("config")?, &file_path.display().to_string())?;
    let progress = Progress { step: num("step")?, epoch: num("epoch")?, batch: num("batch")? as usize };
    let state: [u64; 4] = serde_json::from_str(&get("noise_rng")?).map_err(|_| bad("metadata `noise_rng` is malformed".into()))?;
    let data_shape: [usize; 3] =
        serde_json::from_str(&get("data_shape")?).map_err(|_| bad("metadata `data_shape` is malformed".into()))?;
    let class_names: Vec<String> = match file.metadata.get("class_names") {
        Some(v) => serde_json::from_str(v).map_err(|_| bad("metadata `class_names` is malformed".into()))?,
        None => vec![],
    };
    let opt_steps = ["opt_g_steps", "opt_d_steps"].map(|k| file.metadata.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0));
    Ok(Loaded { file, config, progress, noise_rng: Rng::from_state(state), data_shape, class_names, opt_steps, path: file_path })
}

/// Copies the run's last checkpoint to `checkpoints/step_*.safetensors` for its step and keeps
/// the newest `keep` of those (at least one).
pub fn keep_step_copy(run_dir: &Path, step: u64, keep: usize) -> Result<()> {
    let dir = layout::file(run_dir, layout::CHECKPOINTS);
    tensor_file::copy_atomic(&last_path(run_dir), &dir.join(layout::step_checkpoint(step)))?;
    let mut old: Vec<(u64, PathBuf)> =
        std::fs::read_dir(&dir).map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).filter_map(|p| Some((step_of_file(&p)?, p))).collect()).unwrap_or_default();
    old.sort();
    while old.len() > keep.max(1) {
        let _ = std::fs::remove_file(old.remove(0).1);
    }
    Ok(())
}

/// Copies the run's last checkpoint to `checkpoints/epoch_*.safetensors` for `epoch`.
pub fn keep_epoch_copy(run_dir: &Path, epoch: u64) -> Result<()> {
    tensor_file::copy_atomic(&last_path(run_dir), &layout::file(run_dir, layout::CHECKPOINTS).join(layout::epoch_checkpoint(epoch)))
}
