//! The fixed-noise sample grids of a run: `samples/step_*.png` every `sample_every` steps and
//! when a run stops early, `samples/epoch_*.png` at each epoch end, each listed with its step
//! and epoch in `samples/index.jsonl`. The noise (and, for conditional models, one row per class)
//! depends on the seed only, so grids show one z over time.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{append_json_line, complete_json_lines, json_step, keep_lines_up_to};
use crate::error::Result;
use crate::rng::Rng;
use crate::sample::{SampleGrid, write_samples};
use crate::train::trainer::{Event, Observer, Outcome, Trainer};

pub struct SampleGrids {
    samples: PathBuf,
    fixed: Option<SampleGrid>,
}

impl SampleGrids {
    pub fn new(run_dir: &Path) -> Self {
        Self { samples: run_dir.join("samples"), fixed: None }
    }

    fn index(&self) -> PathBuf {
        self.samples.join("index.jsonl")
    }

    fn write(&mut self, t: &Trainer, name: &str, title: &str) -> Result<()> {
        let grid = self.fixed.get_or_insert_with(|| fixed_grid(t));
        let centres = t.data.kind.point_modes().map(|m| m.0);
        write_samples(&t.gan, grid, centres.as_deref(), &self.samples.join(name), title, false)?;
        let entry = serde_json::json!({ "file": name, "step": t.progress.step, "epoch": t.progress.epoch, "label": title });
        append_json_line(&self.index(), &entry)
    }
}

/// The fixed grid of a run (a function of the seed only): 64 noise vectors, or for conditional
/// models one row of 8 per class.
pub fn fixed_grid(t: &Trainer) -> SampleGrid {
    let mut rng = Rng::derived(t.config.seed, "fixed-noise", 0);
    let spec = &t.gan.spec;
    let device = t.device().clone().inner();
    if spec.classes() > 0 {
        SampleGrid::classes(t.config.noise, spec, &spec.labels.all(), &t.gan.class_names, 8, &mut rng, &device)
    } else {
        SampleGrid::noise(t.config.noise, spec, 64, None, &mut rng, &device)
    }
}

impl Observer for SampleGrids {
    fn on_event(&mut self, t: &Trainer, event: &Event) -> Result<()> {
        let step = t.progress.step;
        match event {
            Event::Start => {
                self.fixed = Some(fixed_grid(t));
                let run_dir = self.samples.parent().unwrap_or(Path::new("."));
                if step > 0 && !self.index().exists() {
                    // A run from before the index: list its grids up to the checkpoint from their names.
                    let epoch = t.progress.epoch;
                    let old: String = grids(run_dir)
                        .into_iter()
                        .filter(|g| g.step.is_some_and(|s| s <= step) || g.epoch.is_some_and(|e| e <= epoch))
                        .map(|g| format!("{}\n", serde_json::json!({ "file": g.file.trim_start_matches("samples/"), "step": g.step, "epoch": g.epoch, "label": g.label })))
                        .collect();
                    crate::tensor_file::write_atomic(&self.index(), old.as_bytes())?;
                }
                keep_lines_up_to(&self.index(), step, json_step)?;
            }
            Event::Step(_) if step.is_multiple_of(t.config.sample_every) => self.write(t, &format!("step_{step:07}.png"), &format!("step {step}"))?,
            Event::EpochEnd => self.write(t, &format!("epoch_{:03}.png", t.progress.epoch), &format!("epoch {}", t.progress.epoch))?,
            // The step's grid, unless this step already wrote it.
            Event::End(Outcome::StoppedAtMaxSteps | Outcome::Interrupted) if !step.is_multiple_of(t.config.sample_every) => {
                self.write(t, &format!("step_{step:07}.png"), &format!("step {step}"))?
            }
            _ => {}
        }
        Ok(())
    }
}

/// A fixed-noise grid of a run.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Grid {
    /// Path relative to the run folder (`samples/…`).
    pub file: String,
    pub step: Option<u64>,
    pub epoch: Option<u64>,
    pub label: String,
}

/// The run's fixed-noise grids in training order (see [`grids_from`]).
pub fn grids(dir: &Path) -> Vec<Grid> {
    let samples = dir.join("samples");
    let names: Vec<String> = std::fs::read_dir(&samples)
        .map(|r| r.filter_map(|e| e.ok().filter(|e| e.path().is_file())?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    grids_from(&std::fs::read(samples.join("index.jsonl")).unwrap_or_default(), &names)
}

/// The grids among `files` (names in `samples/`) in training order: as `index` (the contents of
/// `samples/index.jsonl`) lists them where the run wrote one, else by file name (step grids by
/// step, then epoch grids by epoch).
pub fn grids_from(index: &[u8], files: &[String]) -> Vec<Grid> {
    let present = |f: &str| files.iter().any(|n| n == f);
    let listed: Vec<Grid> = complete_json_lines(index)
        .flatten()
        .filter_map(|r| {
            let file = r.get("file")?.as_str()?.to_string();
            present(&file).then(|| Grid {
                label: r.get("label").and_then(Value::as_str).unwrap_or(&file).to_string(),
                step: r.get("step").and_then(Value::as_u64),
                epoch: r.get("epoch").and_then(Value::as_u64),
                file: format!("samples/{file}"),
            })
        })
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    let mut names = files.to_vec();
    names.sort();
    let number = |n: &str, prefix: &str| n.strip_prefix(prefix)?.strip_suffix(".png")?.parse::<u64>().ok();
    let steps = names.iter().filter_map(|n| Some(Grid { step: Some(number(n, "step_")?), epoch: None, label: format!("step {}", number(n, "step_")?), file: format!("samples/{n}") }));
    let epochs = names.iter().filter_map(|n| Some(Grid { step: None, epoch: Some(number(n, "epoch_")?), label: format!("epoch {}", number(n, "epoch_")?), file: format!("samples/{n}") }));
    steps.chain(epochs).collect()
}
