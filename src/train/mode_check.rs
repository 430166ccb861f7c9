//! What a run answers itself when it ends: "are all classes generated?", the class histogram of
//! 2000 eval-mode samples by the dataset's classifier (trained once and cached, as `gantry eval
//! modes` uses it), written into the run's `eval/` folder.

use std::path::{Path, PathBuf};

use burn::tensor::Device;

use crate::config::TrainConfig;
use crate::data::{self, ModeCount};
use crate::error::Result;
use crate::eval::report::{ModeEval, mode_eval};
use crate::run::{TrainedModel, layout};

/// Samples the end-of-run check draws, and their seed.
pub const SAMPLES: usize = 2000;

/// Whether runs on `config`'s dataset get the check (a classifier or mode centres to count with).
pub fn applies(config: &TrainConfig) -> bool {
    data::kind(&config.dataset).is_ok_and(|k| matches!(k.mode_count, ModeCount::OwnClassifier | ModeCount::Points))
}

/// The check of the run in `run_dir` (its newest checkpoint, opened on `device`), and the files
/// it wrote.
pub fn run(run_dir: &Path, device: &Device, quiet: bool) -> Result<(ModeEval, Vec<PathBuf>)> {
    let model = TrainedModel::open(run_dir, device)?;
    let data = model.config.eval_data_options(quiet);
    let report = mode_eval(&model.generator, &model.config.dataset, SAMPLES, 0, &data, quiet)?;
    let files = report.save(&layout::file(run_dir, layout::EVAL_DIR))?;
    Ok((report, files))
}
