//! Sampling from generators: noise, sample grids (fixed noise, one class, class rows), eval-mode
//! generation in batches, and [`TrainedModel`], a checkpoint opened for sampling and evaluation.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

use crate::data::{self, DatasetKind};
use crate::device::read_back;
use crate::error::{Error, Result};
use crate::eval::interpolate;
use crate::model::{GanSpec, NamedTensor};
use crate::rng::Rng;
use crate::train::checkpoint;
use crate::train::config::{Noise, TrainConfig};
use crate::train::gan::{Gan, g_input};
use crate::train::trainer::Trainer;
use crate::viz;

/// `n` noise vectors of shape `z` (normal, or uniform in [-1, 1]).
pub fn noise(kind: Noise, n: usize, z: [usize; 3], rng: &mut Rng, device: &Device) -> Tensor<4> {
    let len = n * z.iter().product::<usize>();
    let v = match kind {
        Noise::Normal => rng.normal_vec(len),
        Noise::Uniform => rng.uniform_vec(len, -1.0, 1.0),
    };
    Tensor::from_data(TensorData::new(v, [n, z[0], z[1], z[2]]), device)
}

/// What a sample grid shows: generator noise, labels for conditional models, the layout.
#[derive(Clone)]
pub struct SampleGrid {
    pub z: Tensor<4>,
    pub labels: Option<Vec<u8>>,
    /// Images per row.
    pub per_row: usize,
    /// Row captions (class names of a class grid).
    pub captions: Vec<String>,
}

impl SampleGrid {
    /// `n` samples of `rng`'s noise, 8 per row; conditional models draw class `class`.
    pub fn noise(kind: Noise, spec: &GanSpec, n: usize, class: Option<u8>, rng: &mut Rng, device: &Device) -> SampleGrid {
        let labels = (spec.classes() > 0).then(|| vec![class.unwrap_or(0); n]);
        SampleGrid { z: noise(kind, n, spec.z_shape, rng, device), labels, per_row: 8, captions: vec![] }
    }

    /// One row per class in `classes`, `cols` noise vectors shared by every row (a column shows
    /// one z across classes).
    pub fn classes(kind: Noise, spec: &GanSpec, classes: &[u8], names: &[String], cols: usize, rng: &mut Rng, device: &Device) -> SampleGrid {
        let z = noise(kind, cols, spec.z_shape, rng, device).repeat_dim(0, classes.len());
        let labels: Vec<u8> = classes.iter().flat_map(|&c| std::iter::repeat_n(c, cols)).collect();
        let captions = classes.iter().map(|&c| short_name(names, c)).collect();
        SampleGrid { z, labels: Some(labels), per_row: cols, captions }
    }
}

fn short_name(names: &[String], class: u8) -> String {
    let name = names.get(class as usize).cloned().unwrap_or_else(|| class.to_string());
    name.chars().take(10).collect()
}

/// What the generator makes of a grid's inputs: in eval mode (running BatchNorm statistics, no
/// dropout), or with the batch's own statistics as the training grids show it.
pub fn generate_grid(gan: &Gan, grid: &SampleGrid, eval_mode: bool) -> Tensor<4> {
    let g = gan.g.valid();
    let embedding = gan.g_label.as_ref().map(|e| e.valid());
    let input = g_input(&gan.spec, embedding.as_ref(), grid.z.clone().to_device(&g.device()), grid.labels.as_deref());
    if eval_mode { g.forward(input, None) } else { g.forward_batch_stats(input) }
}

/// A scatter plot of 2-D points `[N, 2, 1, 1]` over the data's mode centres.
pub fn write_points(title: &str, points: &Tensor<4>, centres: &[[f32; 2]], path: &Path) -> Result<()> {
    let pts: Vec<[f32; 2]> = read_back(points).chunks_exact(2).map(|p| [p[0], p[1]]).collect();
    viz::plot::scatter(title, &pts, centres, viz::plot::TOY_RANGE, &path.with_extension("png"))
}

/// Write a grid's samples: an image grid, or for 2-D data (`centres` given) a scatter plot.
pub fn write_samples(gan: &Gan, grid: &SampleGrid, centres: Option<&[[f32; 2]]>, path: &Path, title: &str, eval_mode: bool) -> Result<()> {
    let x = generate_grid(gan, grid, eval_mode);
    match centres {
        Some(c) => write_points(title, &x, c, path),
        None => viz::grid::save_grid(&x, grid.per_row, &grid.captions, path),
    }
}

/// A trained generator (with the rest of its GAN) opened from a checkpoint.
pub struct TrainedModel {
    pub gan: Gan,
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
    device: Device,
}

impl TrainedModel {
    /// A run folder (its last checkpoint) or a checkpoint file, on `device`.
    pub fn open(path: &Path, device: &Device) -> Result<Self> {
        let (l, skipped_checkpoints) = checkpoint::load_latest(path)?;
        let spec = l.config.gan_spec(l.data_shape, l.class_names.len())?;
        let mut gan = Gan::from_config(spec, &l.config, l.class_names.clone(), device);
        l.restore(&mut gan)?;
        let run_dir = checkpoint::run_dir(path);
        let data_kind = data::kind(&l.config.dataset)?;
        let step = l.progress.step;
        Ok(Self { gan, config: l.config, path: l.path, run_dir, data_kind, skipped_checkpoints, step, device: device.clone() })
    }

    /// The generator a trainer holds right now (its weights copied off the autodiff graph),
    /// for evaluations during training; `run_dir` is where the run writes.
    pub fn from_trainer(t: &Trainer, run_dir: &Path) -> Self {
        let device = t.device().clone().inner();
        let mut gan = Gan::from_config(t.gan.spec.clone(), &t.config, t.gan.class_names.clone(), &device);
        gan.g = t.gan.g.valid();
        gan.g_label = t.gan.g_label.as_ref().map(|e| e.valid());
        Self {
            gan,
            config: t.config.clone(),
            path: checkpoint::last_path(run_dir),
            run_dir: run_dir.to_path_buf(),
            data_kind: t.data.kind,
            skipped_checkpoints: vec![],
            step: t.progress.step,
            device,
        }
    }

    pub fn spec(&self) -> &GanSpec {
        &self.gan.spec
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The 2-D mode centres when this model generates points of a toy mixture.
    pub fn point_modes(&self) -> Option<(Vec<[f32; 2]>, f32)> {
        self.data_kind.point_modes()
    }

    /// Refuses work that needs images from a model that makes 2-D points.
    pub fn require_images(&self, what: &str) -> Result<()> {
        match self.point_modes() {
            Some(_) => Err(Error::bad_file(&self.path, format!("this model generates 2-D points; {what}"))),
            None => Ok(()),
        }
    }

    /// The class names of a conditional model (numbers when the checkpoint carries none); empty
    /// for an unconditional one.
    pub fn class_names(&self) -> Vec<String> {
        let k = self.spec().classes();
        if self.gan.class_names.len() == k { self.gan.class_names.clone() } else { (0..k).map(|c| c.to_string()).collect() }
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
        SampleGrid::noise(self.config.noise, self.spec(), n, class, &mut Rng::derived(seed, "sample", 0), &self.device)
    }

    /// A class-row grid: one row per class, `per_class` noise vectors of seed `seed` shared by
    /// the rows.
    pub fn class_grid(&self, classes: &[u8], per_class: usize, seed: u64) -> SampleGrid {
        SampleGrid::classes(self.config.noise, self.spec(), classes, &self.class_names(), per_class, &mut Rng::derived(seed, "sample", 0), &self.device)
    }

    /// A grid's samples as an image grid (or scatter plot) at `path`.
    pub fn write_grid(&self, grid: &SampleGrid, path: &Path, title: &str, eval_mode: bool) -> Result<()> {
        let centres = self.point_modes().map(|m| m.0);
        write_samples(&self.gan, grid, centres.as_deref(), path, title, eval_mode)
    }

    /// Each sample of a grid as its own PNG (`00000.png`, …) in `dir`: at the model's size and
    /// channel count (grey for one channel), as a folder for FID tools wants them.
    pub fn write_images(&self, grid: &SampleGrid, dir: &Path, eval_mode: bool) -> Result<usize> {
        self.require_images("--out-dir writes images (use --grid for a scatter plot)")?;
        let x = generate_grid(&self.gan, grid, eval_mode);
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let images = crate::eval::quantise(&x);
        for (i, img) in images.iter().enumerate() {
            img.save(&dir.join(format!("{i:05}.png")))?;
        }
        Ok(images.len())
    }

    /// `n` samples in eval mode, in batches of 500; a conditional model gets the classes in turn
    /// (0, 1, …), returned beside the images.
    pub fn generate(&self, n: usize, seed: u64, quiet: bool) -> Result<(Tensor<4>, Option<Vec<u8>>)> {
        if n == 0 {
            return Err(Error::config("n", "at least 1 sample is needed"));
        }
        let spec = self.spec();
        let mut rng = Rng::derived(seed, "eval-noise", 0);
        let labels = (spec.classes() > 0).then(|| (0..n).map(|i| (i % spec.classes()) as u8).collect::<Vec<u8>>());
        let bar = crate::progress::bar(n as u64, quiet, "generating");
        let mut parts = Vec::new();
        for start in (0..n).step_by(500) {
            let m = (n - start).min(500);
            let grid = SampleGrid {
                z: noise(self.config.noise, m, spec.z_shape, &mut rng, &self.device),
                labels: labels.as_ref().map(|y| y[start..start + m].to_vec()),
                per_row: 8,
                captions: vec![],
            };
            parts.push(generate_grid(&self.gan, &grid, true));
            bar.inc(m as u64);
        }
        bar.finish_and_clear();
        Ok((Tensor::cat(parts, 0), labels))
    }

    /// A grid of the images of `zs`, `per_row` to a row, at `path`.
    pub fn write_z_grid(&self, zs: &[Vec<f32>], class: Option<u8>, per_row: usize, path: &Path) -> Result<()> {
        viz::grid::save_grid(&self.from_z(zs, class)?, per_row, &[], path)
    }

    /// The noise vector of seed `seed` that `gantry interpolate --seeds` starts from.
    pub fn seed_z(&self, seed: u64) -> Vec<f32> {
        read_back(&noise(self.config.noise, 1, self.spec().z_shape, &mut Rng::derived(seed, "interpolate", 0), &self.device))
    }

    /// The z vectors a [`LatentPath`] lays out, and how many go in a row.
    pub fn latent_rows(&self, path: &LatentPath) -> Result<(Vec<Vec<f32>>, usize)> {
        let pick = |zs: &[Vec<f32>], i: usize| zs.get(i).cloned().ok_or_else(|| Error::config("z", format!("z index {i} out of range ({} saved)", zs.len())));
        Ok(match path {
            LatentPath::Seeds { seeds, steps, spherical } => {
                let ends: Vec<Vec<f32>> = seeds.iter().map(|&s| self.seed_z(s)).collect();
                (ends.windows(2).flat_map(|p| interpolate::path(&p[0], &p[1], *steps, *spherical)).collect(), *steps)
            }
            LatentPath::Saved { zs, from, to, steps, spherical } => (interpolate::path(&pick(zs, *from)?, &pick(zs, *to)?, *steps, *spherical), *steps),
            LatentPath::Arithmetic { zs, expr } => {
                let terms = interpolate::parse_expression(expr).map_err(|m| Error::config("expr", m))?;
                let mut row = terms.iter().map(|&(_, i)| pick(zs, i)).collect::<Result<Vec<_>>>()?;
                row.push(interpolate::arithmetic(zs, &terms).map_err(|m| Error::config("expr", m))?);
                let k = row.len();
                (row, k)
            }
        })
    }

    /// Images of the given z vectors (each of the generator's z size), in eval mode.
    pub fn from_z(&self, zs: &[Vec<f32>], class: Option<u8>) -> Result<Tensor<4>> {
        let spec = self.spec();
        let zlen: usize = spec.z_shape.iter().product();
        if let Some(z) = zs.iter().find(|z| z.len() != zlen) {
            return Err(Error::config("z", format!("the z vectors have {} values; this generator takes {zlen}", z.len())));
        }
        let [a, b, c] = spec.z_shape;
        let z = Tensor::<4>::from_data(TensorData::new(zs.concat(), [zs.len(), a, b, c]), &self.device);
        let labels = (spec.classes() > 0).then(|| vec![class.unwrap_or(0); zs.len()]);
        Ok(generate_grid(&self.gan, &SampleGrid { z, labels, per_row: 1, captions: vec![] }, true))
    }
}

/// What `gantry interpolate` lays out in latent space.
pub enum LatentPath {
    /// One row per consecutive pair of seeds' noise, `steps` images each (ends included).
    Seeds { seeds: Vec<u64>, steps: usize, spherical: bool },
    /// A row between two saved z vectors.
    Saved { zs: Vec<Vec<f32>>, from: usize, to: usize, steps: usize, spherical: bool },
    /// The terms of an expression like `3 - 1 + 5` over saved z vectors, then its result.
    Arithmetic { zs: Vec<Vec<f32>>, expr: String },
}

/// Save a grid's z vectors (tensor `z`, `[n, z]`) for `gantry interpolate --z-file`.
pub fn save_z(grid: &SampleGrid, path: &Path) -> Result<usize> {
    let [n, c, h, w] = grid.z.dims();
    let z = NamedTensor { name: "z".into(), shape: vec![n, c * h * w], data: read_back(&grid.z) };
    crate::tensor_file::write(path, &[z], Default::default())?;
    Ok(n)
}

/// The z vectors of a file written by [`save_z`].
pub fn load_z(path: &Path) -> Result<Vec<Vec<f32>>> {
    let f = crate::tensor_file::read(path)?;
    let z = f.tensors.get("z").ok_or_else(|| Error::bad_file(path, "tensor `z` missing (expected a file from gantry sample --save-z)"))?;
    let n = *z.shape.first().unwrap_or(&0);
    if n == 0 || z.data.is_empty() {
        return Err(Error::bad_file(path, "no z vectors in the file"));
    }
    Ok(z.data.chunks(z.data.len() / n).map(|c| c.to_vec()).collect())
}
