//! Sampling from a generator: sample grids (fixed noise, one class, class rows), generating a
//! grid's samples, writing them as a picture, and saved z vectors.

use std::path::Path;

use burn::tensor::{Device, Tensor};

use crate::device::read_back;
use crate::error::{Error, Result};
use crate::model::{GanSpec, GeneratorNet, NamedTensor, Noise, noise};
use crate::rng::Rng;
use crate::viz;

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
    /// `n` samples of `rng`'s noise, 8 per row; conditional models draw class `class`, or every
    /// class in turn (0, 1, …, 0, 1, …) when none is given.
    pub fn noise(kind: Noise, spec: &GanSpec, n: usize, class: Option<u8>, rng: &mut Rng, device: &Device) -> SampleGrid {
        let labels = cycled_labels(spec.classes(), n, class);
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

    /// The given z vectors (each of the generator's z size), 8 per row; conditional models draw
    /// class `class`.
    pub fn from_z(spec: &GanSpec, zs: &[Vec<f32>], class: Option<u8>, device: &Device) -> Result<SampleGrid> {
        let [c, h, w] = spec.z_shape;
        if let Some(bad) = zs.iter().find(|z| z.len() != c * h * w) {
            return Err(Error::Other(format!("z vectors of length {} given; this generator takes {}", bad.len(), c * h * w)));
        }
        let data: Vec<f32> = zs.concat();
        let z = Tensor::from_data(burn::tensor::TensorData::new(data, [zs.len(), c, h, w]), device);
        let labels = cycled_labels(spec.classes(), zs.len(), class);
        Ok(SampleGrid { z, labels, per_row: 8, captions: vec![] })
    }
}

/// The labels of `n` samples of a model with `classes` classes (None when unconditional): all
/// `class`, or every class in turn.
pub fn cycled_labels(classes: usize, n: usize, class: Option<u8>) -> Option<Vec<u8>> {
    (classes > 0).then(|| (0..n).map(|i| class.unwrap_or((i % classes) as u8)).collect())
}

/// The most values (samples × values per sample) one request may ask for: 2^28 floats, 1 GiB
/// of output (a quarter of a million 32×32 RGB images), so that a mistyped count is refused
/// with a message instead of exhausting memory.
pub const MAX_VALUES: usize = 1 << 28;

/// Refuses `n` samples of `per_sample` values each when they exceed [`MAX_VALUES`]; `what`
/// names the argument.
pub fn check_count(what: &str, n: usize, per_sample: usize) -> Result<()> {
    if n == 0 {
        return Err(Error::config(what, "must be at least 1"));
    }
    let most = MAX_VALUES / per_sample.max(1);
    if n > most {
        return Err(Error::config(what, format!("{n} samples are too many at once (at most {most} of this generator's {per_sample} values each); draw them in batches")));
    }
    Ok(())
}

/// Samples generated per forward pass in eval mode, so that memory stays bounded whatever n is.
const EVAL_BATCH: usize = 4096;

fn short_name(names: &[String], class: u8) -> String {
    let name = names.get(class as usize).cloned().unwrap_or_else(|| class.to_string());
    name.chars().take(10).collect()
}

/// What the generator makes of a grid's inputs: in eval mode (running BatchNorm statistics, no
/// dropout), or with the batch's own statistics as the training grids show it.
pub fn generate_grid(generator: &GeneratorNet, grid: &SampleGrid, eval_mode: bool) -> Tensor<4> {
    let n = grid.z.dims()[0];
    if !eval_mode || n <= EVAL_BATCH {
        // Batch statistics couple the samples: one pass.
        return generator.forward(grid.z.clone(), grid.labels.as_deref(), eval_mode);
    }
    let parts = (0..n).step_by(EVAL_BATCH).map(|start| {
        let len = EVAL_BATCH.min(n - start);
        let labels = grid.labels.as_ref().map(|l| &l[start..start + len]);
        generator.forward(grid.z.clone().narrow(0, start, len), labels, true)
    });
    Tensor::cat(parts.collect(), 0)
}

/// 2-D points from their interleaved coordinates (x, y, x, y, …).
pub fn point_pairs(v: &[f32]) -> Vec<[f32; 2]> {
    v.chunks_exact(2).map(|p| [p[0], p[1]]).collect()
}

/// A scatter plot of 2-D points `[N, 2, 1, 1]` over the data's mode centres.
pub fn write_points(title: &str, points: &Tensor<4>, centres: &[[f32; 2]], path: &Path) -> Result<()> {
    let pts = point_pairs(&read_back(points));
    viz::plot::scatter(title, &pts, centres, viz::plot::TOY_RANGE, &path.with_extension("png"))
}

/// Write a grid's samples: an image grid, or for 2-D data (`centres` given) a scatter plot.
pub fn write_samples(generator: &GeneratorNet, grid: &SampleGrid, centres: Option<&[[f32; 2]]>, path: &Path, title: &str, eval_mode: bool) -> Result<()> {
    let x = generate_grid(generator, grid, eval_mode);
    match centres {
        Some(c) => write_points(title, &x, c, path),
        None => viz::grid::save_grid(&x, grid.per_row, &grid.captions, path),
    }
}

/// Save a grid's z vectors (tensor `z`, `[n, z]`) for `gantry interpolate --z-file`.
pub fn save_z(grid: &SampleGrid, path: &Path) -> Result<usize> {
    let [n, c, h, w] = grid.z.dims();
    let z = NamedTensor { name: "z".into(), shape: vec![n, c * h * w], data: read_back(&grid.z) };
    crate::tensor_file::write(path, &[z], Default::default())?;
    Ok(n)
}

/// A grid's z and the samples `x` made of them, as float32 tensors `z` `[n, z]` and `x` (the
/// generator's output shape), for programs that compare numbers rather than pictures.
pub fn save_tensors(grid: &SampleGrid, x: &Tensor<4>, path: &Path) -> Result<usize> {
    let [n, c, h, w] = grid.z.dims();
    let z = NamedTensor { name: "z".into(), shape: vec![n, c * h * w], data: read_back(&grid.z) };
    let x = NamedTensor { name: "x".into(), shape: x.dims().to_vec(), data: read_back(x) };
    crate::tensor_file::write(path, &[z, x], Default::default())?;
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
