//! A trained generator opened from a run folder (its newest checkpoint that verifies) or a
//! checkpoint file: what `sample`, `eval`, `interpolate` and the dashboard's readers work with.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor};

use super::checkpoint;
use super::layout;
use crate::config::TrainConfig;
use crate::data::{self, DatasetKind};
use crate::error::{Error, Result};
use crate::model::{GanSpec, GeneratorNet};
use crate::rng::Rng;
use crate::sample::{self, SampleGrid};

/// A run's generator as its newest verified checkpoint holds it (G and G's label embedding are
/// all that is built: D and the optimiser states stay in the file), with the run's config and
/// what the commands need to name classes and place their output.
pub struct TrainedModel {
    /// The generator, its label embedding and its prior, on the device it was opened on.
    pub generator: GeneratorNet,
    pub config: TrainConfig,
    /// The checkpoint file read.
    pub path: PathBuf,
    /// The run folder it belongs to (where reports go by default).
    pub run_dir: PathBuf,
    /// The kind of data it was trained on (images or 2-D points, how modes are counted).
    pub data_kind: &'static DatasetKind,
    /// Newer checkpoints of the run that did not verify, each with the reason (a run folder
    /// opens its newest checkpoint that verifies).
    pub skipped_checkpoints: Vec<String>,
    /// The generator step the weights belong to.
    pub step: u64,
    /// Whether it comes from a gantry run (a checkpoint with D, a log, a run folder), rather than
    /// a state dict trained elsewhere (`run::foreign`).
    pub from_run: bool,
    /// The dataset's class names as the checkpoint recorded them.
    pub(super) recorded_class_names: Vec<String>,
}

impl TrainedModel {
    /// A run folder (its last checkpoint that verifies) or a checkpoint file, on `device`.
    pub fn open(path: &Path, device: &Device) -> Result<Self> {
        let (l, skipped_checkpoints) = checkpoint::load_latest(path)?;
        let spec = l.config.gan_spec(l.data_shape, l.class_names.len())?;
        let mut generator = GeneratorNet::new(spec, l.config.noise, device);
        generator.load_state_dict(&l.file.tensors, checkpoint::G_PREFIX, checkpoint::G_LABEL_PREFIX).map_err(|message| Error::Checkpoint { path: l.path.clone(), message })?;
        let data_kind = data::kind(&l.config.dataset)?;
        Ok(Self {
            generator,
            run_dir: layout::run_dir_of(path),
            data_kind,
            skipped_checkpoints,
            step: l.progress.step,
            from_run: true,
            recorded_class_names: l.class_names,
            config: l.config,
            path: l.path,
        })
    }

    /// The tensors of network `which` (`G` or `D`) under PyTorch's names, with its spec: G as
    /// loaded, D from the checkpoint file (only a run's checkpoint has one).
    pub fn state_dict(&self, which: &str) -> Result<(crate::model::NetSpec, Vec<crate::model::NamedTensor>)> {
        match which {
            "G" => Ok((self.spec().g.clone(), self.generator.g.state_dict())),
            "D" if !self.from_run => Err(Error::Other(format!("{} holds a generator only; there is no discriminator", self.path.display()))),
            "D" => {
                let prefix = checkpoint::D_PREFIX;
                let file = crate::tensor_file::read(&self.path)?;
                let mut d: Vec<_> = file.tensors.into_iter().filter_map(|(k, t)| k.strip_prefix(prefix).map(|n| crate::model::NamedTensor { name: n.to_string(), ..t })).collect();
                d.sort_by(|a, b| a.name.cmp(&b.name));
                Ok((self.spec().d.clone(), d))
            }
            other => Err(Error::config("which", format!("`{other}` is not a network (G or D)"))),
        }
    }

    pub fn spec(&self) -> &GanSpec {
        &self.generator.spec
    }

    pub fn device(&self) -> Device {
        self.generator.device()
    }

    /// `rel` (a `run::layout` path) in this model's run folder.
    pub fn run_file(&self, rel: &str) -> PathBuf {
        layout::file(&self.run_dir, rel)
    }

    /// The 2-D mode centres when this model generates points of a toy mixture.
    pub fn point_modes(&self) -> Option<(Vec<[f32; 2]>, f32)> {
        self.data_kind.point_modes()
    }

    /// Whether this model makes 2-D points rather than images.
    pub fn makes_points(&self) -> bool {
        self.data_kind.is_points()
    }

    /// Refuses work that needs images from a model that makes 2-D points.
    pub fn require_images(&self, what: &str) -> Result<()> {
        if self.makes_points() {
            return Err(Error::bad_file(&self.path, format!("this model generates 2-D points; {what}")));
        }
        Ok(())
    }

    /// The class names of a conditional model (numbers when the checkpoint carries none); empty
    /// for an unconditional one.
    pub fn class_names(&self) -> Vec<String> {
        let k = self.spec().classes();
        if self.recorded_class_names.len() == k { self.recorded_class_names.clone() } else { (0..k).map(|c| c.to_string()).collect() }
    }

    fn require_conditional(&self) -> Result<()> {
        if self.spec().classes() == 0 {
            return Err(Error::Other(format!("needs a conditional model; {} was trained without labels", self.path.display())));
        }
        Ok(())
    }

    /// A class given as a number or a name (case-insensitive).
    pub fn parse_class(&self, s: &str) -> Result<u8> {
        self.require_conditional()?;
        let (s, names) = (s.trim(), self.class_names());
        let k = names.len();
        let idx = match s.parse::<usize>() {
            Ok(i) => i,
            Err(_) => names.iter().position(|n| n.eq_ignore_ascii_case(s)).ok_or_else(|| Error::Other(format!("`{s}` is not a class of this model ({})", names.join(", "))))?,
        };
        if idx >= k {
            return Err(Error::Other(format!("{idx} is out of range; this model has {k} classes (0-{})", k - 1)));
        }
        Ok(idx as u8)
    }

    /// `0-9`, `0,3,7` or names.
    pub fn parse_classes(&self, s: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        for part in s.split(',') {
            match part.split_once('-') {
                Some((a, b)) if a.trim().parse::<usize>().is_ok() => {
                    let (a, b) = (self.parse_class(a)?, self.parse_class(b)?);
                    if a > b {
                        return Err(Error::Other(format!("empty range `{part}`")));
                    }
                    out.extend(a..=b);
                }
                _ => out.push(self.parse_class(part)?),
            }
        }
        Ok(out)
    }

    /// `n` noise samples of seed `seed`, all of `class` for a conditional model (class 0 if none).
    pub fn noise_grid(&self, n: usize, class: Option<u8>, seed: u64) -> SampleGrid {
        SampleGrid::noise(self.config.noise, self.spec(), n, class, &mut Rng::derived(seed, "sample", 0), &self.device())
    }

    /// A class-row grid: one row per class, `per_class` noise vectors of seed `seed` shared by
    /// the rows.
    pub fn class_grid(&self, classes: &[u8], per_class: usize, seed: u64) -> SampleGrid {
        SampleGrid::classes(self.config.noise, self.spec(), classes, &self.class_names(), per_class, &mut Rng::derived(seed, "sample", 0), &self.device())
    }

    /// What the generator makes of a grid's inputs (eval mode, or the batch's own statistics).
    pub fn generate_grid(&self, grid: &SampleGrid, eval_mode: bool) -> Tensor<4> {
        sample::generate_grid(&self.generator, grid, eval_mode)
    }

    /// A grid's samples as an image grid (or scatter plot) at `path`.
    pub fn write_grid(&self, grid: &SampleGrid, path: &Path, title: &str, eval_mode: bool) -> Result<()> {
        let centres = self.data_kind.point_centres();
        sample::write_samples(&self.generator, grid, centres.as_deref(), path, title, eval_mode)
    }
}
