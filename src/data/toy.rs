//! Built-in 2-D mixtures of Gaussians (the VEEGAN/PacGAN benchmarks), deterministic by seed.

use crate::rng::Rng;

/// Mode centres (after scaling) and the per-coordinate std of each mixture.
pub fn modes(name: &str) -> Option<(Vec<[f32; 2]>, f32)> {
    match name {
        "ring8" => {
            let s = 1.0 / 1.414;
            let c = (0..8)
                .map(|k| {
                    let a = 2.0 * std::f64::consts::PI * k as f64 / 8.0;
                    [(2.0 * a.cos() * s) as f32, (2.0 * a.sin() * s) as f32]
                })
                .collect();
            Some((c, (0.02 * s) as f32))
        }
        "grid25" => {
            let s = 1.0 / 2.828;
            let mut c = Vec::new();
            for x in [-4.0, -2.0, 0.0, 2.0, 4.0] {
                for y in [-4.0, -2.0, 0.0, 2.0, 4.0] {
                    c.push([(x * s) as f32, (y * s) as f32]);
                }
            }
            Some((c, (0.05 * s) as f32))
        }
        _ => None,
    }
}

/// `n` points (x, y interleaved) and the index of the mode each came from.
pub fn sample(name: &str, n: usize, seed: u64) -> Option<(Vec<f32>, Vec<u8>)> {
    let (centres, std) = modes(name)?;
    let mut rng = Rng::derived(seed, name, 0);
    let mut pts = Vec::with_capacity(2 * n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let k = rng.below(centres.len());
        pts.push(centres[k][0] + std * rng.normal() as f32);
        pts.push(centres[k][1] + std * rng.normal() as f32);
        labels.push(k as u8);
    }
    Some((pts, labels))
}
