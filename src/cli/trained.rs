//! What the commands that run a trained model share: `--device`, and opening a run's model with
//! a warning for each checkpoint that did not verify.

use anyhow::Result;

use gantry::device::DeviceChoice;
use gantry::run::TrainedModel;

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
