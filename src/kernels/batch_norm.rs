//! BatchNorm on plain `f32` slices (`[N, C, L]`, L = H·W): statistics, forward and backward in
//! one or two passes each, accumulating in f64.

use rayon::prelude::*;

use super::leaky_relu_factor;

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

/// `y = act((x − mean)·γ / sqrt(var + eps) + β)` per channel, in place; `slope`: the following
/// LeakyReLU/ReLU fused in, or `None`.
#[allow(clippy::too_many_arguments)]
pub fn normalize_in_place(x: &mut [f32], channels: usize, l: usize, stats: &[f32], gamma: &[f32], beta: &[f32], eps: f64, slope: Option<f32>) {
    let (scale, shift) = affine(stats, gamma, beta, eps);
    // Without an activation the factor is 1 everywhere (and multiplying by it is exact).
    let slope = slope.unwrap_or(1.0);
    x.par_chunks_mut(l).enumerate().for_each(|(p, plane)| normalize_plane(plane, scale[p % channels], shift[p % channels], slope));
}

crate::simd_dispatch! {
    fn normalize_plane(plane: &mut [f32], scale: f32, shift: f32, slope: f32) {
        plane.iter_mut().for_each(|v| {
            let pre = *v * scale + shift;
            *v = pre * leaky_relu_factor(pre, slope);
        });
    }
}

/// Independent f32 accumulators per reduction: lets the compiler vectorise the sums.
const LANES: usize = 8;

/// dy scaled by the fused activation's derivative at the pre-activation `x·scale + shift`
/// (recomputed with the forward pass's f32 arithmetic, so on the same side of 0). `slope` 1:
/// no activation (dy unchanged).
#[inline(always)]
fn through_activation(g: f32, x: f32, scale: f32, shift: f32, slope: f32) -> f32 {
    g * leaky_relu_factor(x * scale + shift, slope)
}

crate::simd_dispatch! {
    /// Σ dy' and Σ dy'·(x − mean) over one plane (dy' = dy through the activation).
    fn plane_sums(dy: &[f32], x: &[f32], mean: f32, scale: f32, shift: f32, slope: f32) -> (f64, f64) {
        let (mut sum, mut dot) = ([0f32; LANES], [0f32; LANES]);
        let (dy_chunks, x_chunks) = (dy.chunks_exact(LANES), x.chunks_exact(LANES));
        let (dy_rest, x_rest) = (dy_chunks.remainder(), x_chunks.remainder());
        for (g, v) in dy_chunks.zip(x_chunks) {
            for j in 0..LANES {
                let g = through_activation(g[j], v[j], scale, shift, slope);
                sum[j] += g;
                dot[j] += g * (v[j] - mean);
            }
        }
        let (mut s, mut d) = (sum.iter().map(|&a| a as f64).sum::<f64>(), dot.iter().map(|&a| a as f64).sum::<f64>());
        for (&g, &v) in dy_rest.iter().zip(x_rest) {
            let g = through_activation(g, v, scale, shift, slope) as f64;
            s += g;
            d += g * (v - mean) as f64;
        }
        (s, d)
    }
}

crate::simd_dispatch! {
    /// One plane of dx: `k` = [per_dy, offset, per_x, mean, scale, shift, slope].
    fn dx_plane(dx: &mut [f32], dy: &[f32], x: &[f32], k: [f32; 7]) {
        let [per_dy, offset, per_x, mean, s, b, slope] = k;
        for ((d, &g), &v) in dx.iter_mut().zip(dy).zip(x) {
            *d = per_dy * through_activation(g, v, s, b, slope) - offset - (v - mean) * per_x;
        }
    }
}

/// Gradients of [`normalize_in_place`] with batch statistics (which depend on x) from `dy`:
/// `(dx, dγ, dβ)` with `dx = γ·invstd/M · (M·dy − Σdy − x̂·Σdy·x̂)`, where a fused activation
/// (`slope`) first scales dy by its derivative. Sums run in f32 lanes per plane and in f64 across
/// planes.
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
    let slope = slope.unwrap_or(1.0);
    // Per channel: Σ dy and Σ dy·x̂.
    let sums: Vec<(f64, f64)> = (0..channels)
        .into_par_iter()
        .map(|c| {
            let (mut sdy, mut sdxc) = (0.0f64, 0.0f64);
            for n in 0..batch {
                let at = (n * channels + c) * l;
                let (s, d) = plane_sums(&dy[at..at + l], &x[at..at + l], stats[c], scale[c], shift[c], slope);
                sdy += s;
                sdxc += d;
            }
            (sdy, sdxc * invstd[c])
        })
        .collect();
    let mut dx = vec![0.0f32; x.len()];
    dx.par_chunks_mut(l).enumerate().for_each(|(p, plane)| {
        let c = p % channels;
        let (inv, (sdy, sdyx)) = (invstd[c], sums[c]);
        let k = gamma[c] as f64 * inv / count;
        // dx = k·M·dy' − k·Σdy − (x − mean)·k·inv·Σdy·x̂, in f32.
        let (per_dy, offset, per_x) = ((k * count) as f32, (k * sdy) as f32, (k * inv * sdyx) as f32);
        dx_plane(plane, &dy[p * l..][..l], &x[p * l..][..l], [per_dy, offset, per_x, stats[c], scale[c], shift[c], slope]);
    });
    let dgamma = sums.iter().map(|s| s.1 as f32).collect();
    let dbeta = sums.iter().map(|s| s.0 as f32).collect();
    (dx, dgamma, dbeta)
}
