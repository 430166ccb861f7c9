//! Where each file of a run folder lives: the one place that knows their names. Paths are
//! `/`-separated and relative to the run folder, so that the dashboard's confined reader and
//! the writers share them.
//!
//! ```text
//! RUN/config.toml            the run's TrainConfig           RUN/status.json      where it stands
//! RUN/log.jsonl              one line per generator step     RUN/evals.jsonl      evaluations
//! RUN/samples/*.png          fixed-noise grids               RUN/samples/index.jsonl  their order
//! RUN/checkpoints/last.safetensors, step_*.safetensors, epoch_*.safetensors, best.safetensors
//! RUN/checkpoints/best.json  keep_best's record              RUN/.lock            one writer
//! RUN/real.png, RUN/loss.png RUN/eval/{modes.json, modes.png, modes_scatter.png, inception.json}
//! ```

use std::path::{Path, PathBuf};

/// Where runs go by default (`gantry train`, `gantry.train` in Python).
pub const RUNS_DIR: &str = "runs";
pub const CONFIG: &str = "config.toml";
pub const STATUS: &str = "status.json";
pub const LOG: &str = "log.jsonl";
pub const EVALS: &str = "evals.jsonl";
pub const SAMPLES: &str = "samples";
pub const GRID_INDEX: &str = "samples/index.jsonl";
pub const CHECKPOINTS: &str = "checkpoints";
pub const LAST_CHECKPOINT: &str = "checkpoints/last.safetensors";
pub const BEST_CHECKPOINT: &str = "checkpoints/best.safetensors";
pub const BEST_RECORD: &str = "checkpoints/best.json";
pub const LOCK: &str = ".lock";
pub const REAL: &str = "real.png";
/// The drawing a playground run trains on (a points file, `points:FILE`).
pub const POINTS: &str = "points.csv";
/// Plots (`viz::plot`: the loss plot, the mode charts) are also written as SVG beside the PNG,
/// the same name with `.svg`.
pub const LOSS_PLOT: &str = "loss.png";
/// The reports of `gantry eval` and the end-of-run mode check.
pub const EVAL_DIR: &str = "eval";
/// Report files inside [`EVAL_DIR`] (or wherever `--out` puts them).
pub const MODES_REPORT: &str = "modes.json";
pub const MODES_CHART: &str = "modes.png";
pub const MODES_SCATTER: &str = "modes_scatter.png";
pub const INCEPTION_REPORT: &str = "inception.json";
/// What the exploring commands write into the run folder by default.
pub const SAMPLE_GRID: &str = "sample.png";
pub const INTERPOLATION: &str = "interpolation.png";
pub const ARITHMETIC: &str = "arithmetic.png";
pub const ANIMATION: &str = "progress.gif";
/// The end-of-run mode check's files, as paths in the run folder.
pub const RUN_MODES_REPORT: &str = "eval/modes.json";
pub const RUN_MODES_CHART: &str = "eval/modes.png";
pub const RUN_MODES_SCATTER: &str = "eval/modes_scatter.png";
/// The files whose presence makes a folder a run.
pub const MARKERS: [&str; 3] = [LOG, STATUS, CONFIG];
/// The pictures a run may have besides its grids.
pub const PICTURES: [&str; 4] = [LOSS_PLOT, REAL, RUN_MODES_CHART, RUN_MODES_SCATTER];

/// `rel` (a layout path) inside `run_dir`.
pub fn file(run_dir: &Path, rel: &str) -> PathBuf {
    rel.split('/').fold(run_dir.to_path_buf(), |p, part| p.join(part))
}

/// The run folder of `path`: a run folder itself, or the one a checkpoint file is in
/// (`RUN/checkpoints/FILE`).
pub fn run_dir_of(path: &Path) -> PathBuf {
    if path.is_dir() { path.to_path_buf() } else { path.parent().and_then(Path::parent).map(PathBuf::from).unwrap_or_default() }
}

/// Creates `parent/name` (or `name-2`, `name-3`, … when taken) and returns it: the folder is
/// claimed by its creation, so two writers never pick the same one.
pub fn claim_run_dir(parent: &Path, name: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(parent)?;
    for i in 1.. {
        let path = if i == 1 { parent.join(name) } else { parent.join(format!("{name}-{i}")) };
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!("an unbounded search ends by returning")
}

/// Where a new run named `name` goes by default: `runs/NAME`, numbered (`runs/NAME-2`, …) when
/// that exists.
pub fn fresh_run_dir(name: &str) -> PathBuf {
    let base = PathBuf::from(RUNS_DIR).join(name);
    if !base.exists() {
        return base;
    }
    (2..).map(|i| PathBuf::from(RUNS_DIR).join(format!("{name}-{i}"))).find(|p| !p.exists()).expect("a free name")
}

/// `samples/step_0000120.png` and `checkpoints/step_0000120.safetensors` by their step.
pub fn step_grid(step: u64) -> String {
    format!("step_{step:07}.png")
}

pub fn epoch_grid(epoch: u64) -> String {
    format!("epoch_{epoch:03}.png")
}

pub fn step_checkpoint(step: u64) -> String {
    format!("step_{step:07}.safetensors")
}

pub fn epoch_checkpoint(epoch: u64) -> String {
    format!("epoch_{epoch:03}.safetensors")
}

/// The step a file named by [`step_checkpoint`] or [`step_grid`] holds, for ordering.
pub fn step_of(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".safetensors").or_else(|| name.strip_suffix(".png"))?;
    stem.strip_prefix("step_")?.parse().ok()
}

/// The epoch a file named by [`epoch_checkpoint`] or [`epoch_grid`] holds.
pub fn epoch_of(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".safetensors").or_else(|| name.strip_suffix(".png"))?;
    stem.strip_prefix("epoch_")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_the_run_folder_are_built_from_their_folders() {
        for (in_run, name) in [(RUN_MODES_REPORT, MODES_REPORT), (RUN_MODES_CHART, MODES_CHART), (RUN_MODES_SCATTER, MODES_SCATTER)] {
            assert_eq!(in_run, format!("{EVAL_DIR}/{name}"));
        }
        assert_eq!(GRID_INDEX, format!("{SAMPLES}/index.jsonl"));
        assert!([LAST_CHECKPOINT, BEST_CHECKPOINT, BEST_RECORD].iter().all(|p| p.starts_with(&format!("{CHECKPOINTS}/"))));
    }

    #[test]
    fn step_and_epoch_files_are_read_back_by_their_names() {
        assert_eq!(step_of(Path::new(&step_checkpoint(120))), Some(120));
        assert_eq!(step_of(Path::new(&step_grid(7))), Some(7));
        assert_eq!(epoch_of(Path::new(&epoch_checkpoint(3))), Some(3));
        assert_eq!(epoch_of(Path::new(&epoch_grid(12))), Some(12));
        assert_eq!(step_of(Path::new("last.safetensors")), None);
        assert_eq!(file(Path::new("r"), LAST_CHECKPOINT), Path::new("r").join("checkpoints").join("last.safetensors"));
    }
}
