//! What the commands that run a trained model share: `--device`, which generator (a run's, or
//! one trained elsewhere), and opening a run's model with a warning for each checkpoint that did
//! not verify.

use anyhow::Result;

use gantry::device::DeviceChoice;
use std::path::PathBuf;

use gantry::run::{ForeignModel, TrainedModel};

/// `--device` of the commands that only run a trained model.
#[derive(clap::Args, Clone, Copy, Default)]
pub struct DeviceArg {
    /// cpu (default); wgpu[:N] or vulkan[:N] in GPU builds.
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

impl DeviceArg {
    pub fn device(self) -> Result<burn::tensor::Device> {
        Ok(self.device.device()?)
    }
}

/// A trained model, with a warning for each newer checkpoint of its run that did not verify.
pub fn open_model(path: &std::path::Path, device: &burn::tensor::Device) -> Result<TrainedModel> {
    let model = TrainedModel::open(path, device)?;
    warn_skipped(&model.skipped_checkpoints, &format!("using {}", model.path.display()));
    Ok(model)
}

/// One warning line per checkpoint that did not verify, then which one is used instead.
pub fn warn_skipped(skipped: &[String], used: &str) {
    for why in skipped {
        eprintln!("gantry: skipped a checkpoint: {why}");
    }
    if !skipped.is_empty() {
        eprintln!("gantry: {used}");
    }
}

/// Which generator a command works on: a run's (`--checkpoint`) or one trained elsewhere
/// (`--weights FILE --model NAME`, a PyTorch state_dict).
#[derive(clap::Args, Clone, Default)]
pub struct GeneratorArg {
    /// Run directory or checkpoint file.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// A generator trained elsewhere: its state_dict as saved by torch.save (.pth, zip or legacy
    /// format) or .safetensors; give --model too.
    #[arg(long, conflicts_with = "checkpoint", requires = "model")]
    pub weights: Option<PathBuf>,
    /// The gantry model with the same layers as --weights (`gantry models`).
    #[arg(long, requires = "weights")]
    pub model: Option<String>,
    /// The dataset --weights was trained on (default: mnist for 1×28×28 models).
    #[arg(long, requires = "weights")]
    pub dataset: Option<String>,
    /// z's length for --weights (default: read off the first layer).
    #[arg(long, requires = "weights")]
    pub z_dim: Option<usize>,
}

impl GeneratorArg {
    pub fn given(&self) -> bool {
        self.checkpoint.is_some() || self.weights.is_some()
    }

    /// The generator named, on `device`.
    pub fn open(&self, device: &burn::tensor::Device) -> Result<TrainedModel> {
        match (&self.checkpoint, &self.weights, &self.model) {
            (Some(run), _, _) => open_model(run, device),
            (None, Some(weights), Some(model)) => {
                let foreign = ForeignModel { dataset: self.dataset.clone(), z_dim: self.z_dim, ..ForeignModel::new(model) };
                Ok(TrainedModel::from_weights(weights, &foreign, device)?)
            }
            _ => anyhow::bail!("needs --checkpoint RUN, or --weights FILE --model NAME for a generator trained elsewhere"),
        }
    }
}
