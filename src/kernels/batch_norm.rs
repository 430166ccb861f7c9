//! BatchNorm on plain `f32` slices (`[N, C, L]`, L = H·W): statistics, forward and backward in
//! one or two passes each, accumulating in f64.

use rayon::prelude::*;

/// Per-channel `[mean…, biased variance…]` (length 2·C).
pub fn batch_stats(x: &[f32], batch: usize, channels: usize, l: usize) -> Vec<f32> {
    let count = (batch * l) as f64;
    let per_channel: Vec<(f32, f32)> = (0..channels)
        .into_par_iter()
        .map(|c| {
            let planes = || (0..batch).map(move |n| &x[(n * channels + c) * l..][..l]);
            let mean = planes().map(|p| p.iter().map(|&v| v as f64).sum::<f64>()).sum::<f64>() / count;
            let var = planes().map(|p| p.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>()).sum::<f64>() / count;
            (mean as f32, var as f32)
        })
        .collect();
    per_channel.iter().map(|s| s.0).chain(per_channel.iter().map(|s| s.1)).collect()
}

/// `scale_c = γ_c / sqrt(var_c + eps)`, `shift_c = β_c − mean_c · scale_c`.
fn affine(stats: &[f32], gamma: &[f32], beta: &[f32], eps: f64) -> (Vec<f32>, Vec<f32>) {
    let c = gamma.len();
    let scale: Vec<f32> = (0..c).map(|i| (gamma[i] as f64 / (stats[c + i] as f64 + eps).sqrt()) as f32).collect();
    let shift = (0..c).map(|i| beta[i] - stats[i] * scale[i]).collect();
    (scale, shift)
}

/// LeakyReLU with `slope` (0: ReLU) applied to a BatchNorm output in the same pass; `None`: no
/// activation.
#[inline(always)]
fn activate(v: f32, slope: Option<f32>) -> f32 {
    match slope {
        Some(a) if v <= 0.0 => v * a,
        _ => v,
    }
}

/// The activation's derivative at pre-activation `v` (PyTorch's convention at 0: the slope).
#[inline(always)]
fn activation_slope(v: f32, slope: Option<f32>) -> f32 {
    match slope {
        Some(a) if v <= 0.0 => a,
        _ => 1.0,
    }
}

/// `y = act((x − mean)·γ / sqrt(var + eps) + β)` per channel, in place; `slope`: the following
/// LeakyReLU/ReLU fused in, or `None`.
pub fn normalize_in_place(x: &mut [f32], channels: usize, l: usize, stats: &[f32], gamma: &[f32], beta: &[f32], eps: f64, slope: Option<f32>) {
    let (scale, shift) = affine(stats, gamma, beta, eps);
    x.par_chunks_mut(l).enumerate().for_each(|(p, plane)| {
        let (s, b) = (scale[p % channels], shift[p % channels]);
        plane.iter_mut().for_each(|v| *v = activate(*v * s + b, slope));
    });
}

/// Gradients of [`normalize_in_place`] with batch statistics (which depend on x) from `dy`:
/// `(dx, dγ, dβ)` with `dx = γ·invstd/M · (M·dy − Σdy − x̂·Σdy·x̂)`, where a fused activation
/// (`slope`) first scales dy by its derivative at the recomputed pre-activation.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    x: &[f32],
    dy: &[f32],
    batch: usize,
    channels: usize,
    l: usize,
    stats: &[f32],
    gamma: &[f32],
    beta: &[f32],
    eps: f64,
    slope: Option<f32>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let count = (batch * l) as f64;
    let invstd: Vec<f64> = (0..channels).map(|c| 1.0 / (stats[channels + c] as f64 + eps).sqrt()).collect();
    let (scale, shift) = affine(stats, gamma, beta, eps);
    // dy through the fused activation: the same f32 arithmetic as the forward pass gives the same
    // pre-activation, hence the same side of 0.
    let dy_at = |c: usize, g: f32, v: f32| -> f32 { if slope.is_some() { g * activation_slope(v * scale[c] + shift[c], slope) } else { g } };
    // Per channel: Σ dy and Σ dy·x̂.
    let sums: Vec<(f64, f64)> = (0..channels)
        .into_par_iter()
        .map(|c| {
            let (mean, inv) = (stats[c] as f64, invstd[c]);
            let (mut sdy, mut sdyx) = (0.0f64, 0.0f64);
            for n in 0..batch {
                let at = (n * channels + c) * l;
                for (&g, &v) in dy[at..at + l].iter().zip(&x[at..at + l]) {
                    let g = dy_at(c, g, v);
                    sdy += g as f64;
                    sdyx += g as f64 * (v as f64 - mean) * inv;
                }
            }
            (sdy, sdyx)
        })
        .collect();
    let mut dx = vec![0.0f32; x.len()];
    dx.par_chunks_mut(l).enumerate().for_each(|(p, plane)| {
        let c = p % channels;
        let (mean, inv, (sdy, sdyx)) = (stats[c] as f64, invstd[c], sums[c]);
        let k = gamma[c] as f64 * inv / count;
        let (dy, x) = (&dy[p * l..][..l], &x[p * l..][..l]);
        for ((d, &g), &v) in plane.iter_mut().zip(dy).zip(x) {
            let g = dy_at(c, g, v);
            let xhat = (v as f64 - mean) * inv;
            *d = (k * (count * g as f64 - sdy - xhat * sdyx)) as f32;
        }
    });
    let dgamma = sums.iter().map(|s| s.1 as f32).collect();
    let dbeta = sums.iter().map(|s| s.0 as f32).collect();
    (dx, dgamma, dbeta)
}
