//! Built-in 2-D mixtures of Gaussians (the VEEGAN/PacGAN benchmarks), deterministic by seed.

use super::dataset::{Dataset, DatasetKind, ModeCount, NamePattern, SampleKind, Samples};
use super::options::DataOptions;
use crate::error::Result;
use crate::model::Shape3;
use crate::rng::Rng;

/// A point (x, y) as a sample of shape C×H×W.
const SHAPE: Shape3 = [2, 1, 1];

pub static RING8: DatasetKind = DatasetKind {
    name: "ring8",
    description: "built-in: 2-D mixture of 8 Gaussians on a circle",
    pattern: NamePattern::Exact,
    load,
    downloads: None,
    shape: Some(SHAPE),
    stored_transposed: false,
    class_names: |_| mode_names(ring8()),
    samples: SampleKind::Points { modes: Some(ring8) },
    mode_count: ModeCount::Points,
};

pub static GRID25: DatasetKind = DatasetKind {
    name: "grid25",
    description: "built-in: 2-D mixture of 25 Gaussians on a 5x5 grid",
    class_names: |_| mode_names(grid25()),
    samples: SampleKind::Points { modes: Some(grid25) },
    ..RING8
};

/// Mode centres (after scaling) and the per-coordinate std: 8 on a circle of radius 2.
fn ring8() -> (Vec<[f32; 2]>, f32) {
    let s = 1.0 / 1.414;
    let c = (0..8)
        .map(|k| {
            let a = 2.0 * std::f64::consts::PI * k as f64 / 8.0;
            [(2.0 * a.cos() * s) as f32, (2.0 * a.sin() * s) as f32]
        })
        .collect();
    (c, (0.02 * s) as f32)
}

/// Mode centres (after scaling) and the per-coordinate std: a 5x5 grid at {-4..4}².
fn grid25() -> (Vec<[f32; 2]>, f32) {
    let s = 1.0 / 2.828;
    let mut c = Vec::new();
    for x in [-4.0, -2.0, 0.0, 2.0, 4.0] {
        for y in [-4.0, -2.0, 0.0, 2.0, 4.0] {
            c.push([(x * s) as f32, (y * s) as f32]);
        }
    }
    (c, (0.05 * s) as f32)
}

/// The labels are the modes the points came from.
fn mode_names((centres, _): (Vec<[f32; 2]>, f32)) -> Vec<String> {
    (0..centres.len()).map(|i| format!("mode {i}")).collect()
}

fn load(kind: &'static DatasetKind, name: &str, opts: &DataOptions) -> Result<Dataset> {
    let (points, labels) = draw(kind, opts.generated_len(100_000), opts.split_seed());
    Ok(Dataset::new(kind, name, SHAPE, Samples::Floats(points), Some(labels)))
}

/// `n` points of `kind`'s mixture (x, y interleaved) and the index of the mode each came from.
fn draw(kind: &DatasetKind, n: usize, seed: u64) -> (Vec<f32>, Vec<u8>) {
    let (centres, std) = kind.point_modes().expect("a 2-D mixture");
    let mut rng = Rng::derived(seed, kind.name, 0);
    let mut points = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let k = rng.below(centres.len());
        points.push(centres[k][0] + std * rng.normal() as f32);
        points.push(centres[k][1] + std * rng.normal() as f32);
        labels.push(k as u8);
    }
    (points, labels)
}

/// `n` points of the dataset `name` (x, y interleaved) and their modes; None unless it is 2-D points.
pub fn sample(name: &str, n: usize, seed: u64) -> Option<(Vec<f32>, Vec<u8>)> {
    let kind = [&RING8, &GRID25].into_iter().find(|k| k.name == name)?;
    Some(draw(kind, n, seed))
}
