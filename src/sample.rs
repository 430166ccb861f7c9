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

    /// The given z vectors (each of the generator's z size), 8 per row; conditional models draw
    /// class `class`.
    pub fn from_z(spec: &GanSpec, zs: &[Vec<f32>], class: Option<u8>, device: &Device) -> Result<SampleGrid> {
        let [c, h, w] = spec.z_shape;
        if let Some(bad) = zs.iter().find(|z| z.len() != c * h * w) {
            return Err(Error::Other(format!("z vectors of length {} given; this generator takes {}", bad.len(), c * h * w)));
        }
        let data: Vec<f32> = zs.concat();
        let z = Tensor::from_data(burn::tensor::TensorData::new(data, [zs.len(), c, h, w]), device);
        let labels = (spec.classes() > 0).then(|| vec![class.unwrap_or(0); zs.len()]);
        Ok(SampleGrid { z, labels, per_row: 8, captions: vec![] })
    }
}

fn short_name(names: &[String], class: u8) -> String {
    let name = names.get(class as usize).cloned().unwrap_or_else(|| class.to_string());
    name.chars().take(10).collect()
}

/// What the generator makes of a grid's inputs: in eval mode (running BatchNorm statistics, no
/// dropout), or with the batch's own statistics as the training grids show it.
pub fn generate_grid(generator: &GeneratorNet, grid: &SampleGrid, eval_mode: bool) -> Tensor<4> {
    generator.forward(grid.z.clone(), grid.labels.as_deref(), eval_mode)
}

/// A scatter plot of 2-D points `[N, 2, 1, 1]` over the data's mode centres.
pub fn write_points(title: &str, points: &Tensor<4>, centres: &[[f32; 2]], path: &Path) -> Result<()> {
    let pts: Vec<[f32; 2]> = read_back(points).chunks_exact(2).map(|p| [p[0], p[1]]).collect();
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
