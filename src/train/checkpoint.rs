//! Checkpoints: both networks (PyTorch state_dict names), both optimiser states, progress, RNG
//! state and the config, in one safetensors file written atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::config::TrainConfig;
use super::gan::Gan;
use super::optim::with_label;
use crate::error::{Error, Result};
use crate::model::NamedTensor;
use crate::rng::Rng;
use crate::tensor_file;

pub const FORMAT: &str = "gantry-checkpoint-1";

/// Where training stands.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    /// Generator steps taken.
    pub step: u64,
    /// Current epoch (0-based) and the next batch index within it.
    pub epoch: u64,
    pub batch: usize,
}

pub fn last_path(run_dir: &Path) -> PathBuf {
    run_dir.join("checkpoints").join("last.safetensors")
}

pub fn save(path: &Path, gan: &Gan, config: &TrainConfig, progress: &Progress, noise_rng: &Rng) -> Result<()> {
    let mut tensors: Vec<NamedTensor> = Vec::new();
    fn prefixed(p: &'static str, v: Vec<NamedTensor>) -> impl Iterator<Item = NamedTensor> {
        v.into_iter().map(move |mut t| {
            t.name = format!("{p}{}", t.name);
            t
        })
    }
    tensors.extend(prefixed("G.", gan.g.state_dict()));
    tensors.extend(prefixed("D.", gan.d.state_dict()));
    if let Some(e) = &gan.g_label {
        tensors.extend(prefixed("G_label.", e.state_dict()));
    }
    if let Some(e) = &gan.d_label {
        tensors.extend(prefixed("D_label.", e.state_dict()));
    }
    tensors.extend(gan.opt_g.state_dict("opt_g."));
    tensors.extend(gan.opt_d.state_dict("opt_d."));
    let mut meta = BTreeMap::new();
    meta.insert("format".into(), FORMAT.into());
    meta.insert("config".into(), config.to_toml());
    meta.insert("step".into(), progress.step.to_string());
    meta.insert("epoch".into(), progress.epoch.to_string());
    meta.insert("batch".into(), progress.batch.to_string());
    meta.insert("noise_rng".into(), serde_json::to_string(&noise_rng.state()).unwrap());
    meta.insert("opt_g_steps".into(), gan.opt_g.steps.to_string());
    meta.insert("opt_d_steps".into(), gan.opt_d.steps.to_string());
    meta.insert("data_shape".into(), serde_json::to_string(&gan.spec.x_shape).unwrap());
    meta.insert("class_names".into(), serde_json::to_string(&gan.class_names).unwrap());
    tensor_file::write(path, &tensors, meta)
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
    pub path: PathBuf,
}

/// The run folder of `path`: a run folder itself, or the one a checkpoint file is in
/// (`RUN/checkpoints/FILE`).
pub fn run_dir(path: &Path) -> PathBuf {
    if path.is_dir() { path.to_path_buf() } else { path.parent().and_then(Path::parent).map(PathBuf::from).unwrap_or_default() }
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
    Ok(Loaded { file, config, progress, noise_rng: Rng::from_state(state), data_shape, class_names, path: file_path })
}

impl Loaded {
    /// Put weights and optimiser states into `gan`; a model that does not fit is one clear error.
    pub fn restore(&self, gan: &mut Gan) -> Result<()> {
        let bad = |m: String| Error::Checkpoint { path: self.path.clone(), message: m };
        gan.g.load_state_dict("G.", &self.file.tensors).map_err(|m| bad(format!("generator: {m}")))?;
        gan.d.load_state_dict("D.", &self.file.tensors).map_err(|m| bad(format!("discriminator: {m}")))?;
        if let Some(e) = &mut gan.g_label {
            e.load_state_dict("G_label.", &self.file.tensors).map_err(|m| bad(format!("generator label embedding: {m}")))?;
        }
        if let Some(e) = &mut gan.d_label {
            e.load_state_dict("D_label.", &self.file.tensors).map_err(|m| bad(format!("discriminator label embedding: {m}")))?;
        }
        let device = gan.g.device();
        gan.opt_g.load_state_dict("opt_g.", &self.file.tensors, &device);
        gan.opt_d.load_state_dict("opt_d.", &self.file.tensors, &device);
        let g_nets = &mut with_label(&mut gan.g, gan.g_label.as_mut());
        gan.opt_g.check_fits(g_nets).map_err(|m| bad(format!("generator optimiser: {m}")))?;
        let d_nets = &mut with_label(&mut gan.d, gan.d_label.as_mut());
        gan.opt_d.check_fits(d_nets).map_err(|m| bad(format!("discriminator optimiser: {m}")))?;
        let num = |k: &str| self.file.metadata.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        gan.opt_g.steps = num("opt_g_steps");
        gan.opt_d.steps = num("opt_d_steps");
        Ok(())
    }
}
