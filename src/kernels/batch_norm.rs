//! BatchNorm on plain `f32` slices (`[N, C, L]`, L = H·W): statistics, forward and backward in
//! one or two passes each, accumulating in f64.

use rayon::prelude::*;

use super::activation::leaky_relu_factor;

/// Per-channel `[mean…, biased variance…]` (length 2·C).
pub fn batch_stats(x: &[f32], batch: usize, channels: usize, l: usize) -> Vec<f32> {
    let count = (batch * l) as f64;
    let sums = per_channel(batch, channels, l, 0.0, |_, at| x[at..][..l].iter().map(|&v| v as f64).sum::<f64>());
    let mean: Vec<f64> = sums.iter().map(|s| s / count).collect();
    let squares = per_channel(batch, channels, l, 0.0, |c, at| x[at..][..l].iter().map(|&v| (v as f64 - mean[c]).powi(2)).sum::<f64>());
    mean.iter().map(|&m| m as f32).chain(squares.iter().map(|&s| (s / count) as f32)).collect()
}

/// `zero + Σ_n plane(c, offset of plane (n, c))` for every channel c, summed in batch order: in parallel
/// over blocks of channels, so that small planes (one value each after a fully connected layer)
/// are read row by row.
fn per_channel<T: Send + Sync + Copy + std::ops::Add<Output = T>>(
    batch: usize,
    channels: usize,
    l: usize,
    zero: T,
    plane: impl Fn(usize, usize) -> T + Sync,
) -> Vec<T> {
    let block = (1usize << 12).div_ceil(l.max(1) * batch).clamp(1, channels.max(1));
    let blocks: Vec<Vec<T>> = (0..channels.div_ceil(block))
        .into_par_iter()
        .map(|b| {
            let cs = b * block..((b + 1) * block).min(channels);
            let mut acc = vec![zero; cs.len()];
            for n in 0..batch {
                for (a, c) in acc.iter_mut().zip(cs.clone()) {
                    *a = *a + plane(c, (n * channels + c) * l);
                }
            }
            acc
        })
        .collect();
    blocks.concat()
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
    if l < LANES {
        let (scale, shift) = (expand(&scale, l), expand(&shift, l));
        x.par_chunks_mut(channels * l).for_each(|row| normalize_row(row, &scale, &shift, slope));
        return;
    }
    for_each_plane(x, l, |p, plane| normalize_plane(plane, scale[p % channels], shift[p % channels], slope));
}

/// Per-channel values repeated over each channel's `l` positions: one sample's row of parameters,
/// so that tiny planes (`l` < `LANES`; one value after a fully connected layer) are processed a
/// whole row at a time.
fn expand(per_channel: &[f32], l: usize) -> Vec<f32> {
    per_channel.iter().flat_map(|&v| std::iter::repeat_n(v, l)).collect()
}

crate::simd_dispatch! {
    fn normalize_row(row: &mut [f32], scale: &[f32], shift: &[f32], slope: f32) {
        for ((v, &s), &b) in row.iter_mut().zip(scale).zip(shift) {
            let pre = *v * s + b;
            *v = pre * leaky_relu_factor(pre, slope);
        }
    }
}

crate::simd_dispatch! {
    fn normalize_plane(plane: &mut [f32], scale: f32, shift: f32, slope: f32) {
        plane.iter_mut().for_each(|v| {
            let pre = *v * scale + shift;
            *v = pre * leaky_relu_factor(pre, slope);
        });
    }
}

/// Two sums added together.
#[derive(Clone, Copy)]
struct Pair((f64, f64));

impl std::ops::Add for Pair {
    type Output = Pair;
    fn add(self, o: Pair) -> Pair {
        Pair((self.0.0 + o.0.0, self.0.1 + o.0.1))
    }
}

/// Runs `f(p, plane)` on every plane of length `l`, in parallel over tasks of whole planes of at
/// least `CHUNK` elements (planes of a fully connected BatchNorm hold one value each).
fn for_each_plane(x: &mut [f32], l: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    const CHUNK: usize = 1 << 13;
    let per_task = CHUNK.div_ceil(l.max(1));
    x.par_chunks_mut(l * per_task).enumerate().for_each(|(t, planes)| {
        planes.chunks_mut(l).enumerate().for_each(|(j, plane)| f(t * per_task + j, plane));
    });
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

/// Σ dy' and Σ dy'·(x − mean) over a few values, in f64.
#[inline(always)]
fn sums_f64(dy: &[f32], x: &[f32], mean: f32, scale: f32, shift: f32, slope: f32) -> (f64, f64) {
    let (mut s, mut d) = (0.0, 0.0);
    for (&g, &v) in dy.iter().zip(x) {
        let g = through_activation(g, v, scale, shift, slope) as f64;
        s += g;
        d += g * (v - mean) as f64;
    }
    (s, d)
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
        let (s, d) = sums_f64(dy_rest, x_rest, mean, scale, shift, slope);
        (sum.iter().map(|&a| a as f64).sum::<f64>() + s, dot.iter().map(|&a| a as f64).sum::<f64>() + d)
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

crate::simd_dispatch! {
    /// One sample's row of dx for tiny planes, with each element's coefficients as in [`dx_plane`].
    fn dx_row(dx: &mut [f32], dy: &[f32], x: &[f32], k: &[[f32; 6]], slope: f32) {
        for (((d, &g), &v), &[per_dy, offset, per_x, mean, s, b]) in dx.iter_mut().zip(dy).zip(x).zip(k) {
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
    let sums: Vec<(f64, f64)> = per_channel(
        batch,
        channels,
        l,
        Pair((0.0, 0.0)),
        |c, at| {
            let (dy, x) = (&dy[at..at + l], &x[at..at + l]);
            Pair(if l < LANES { sums_f64(dy, x, stats[c], scale[c], shift[c], slope) } else { plane_sums(dy, x, stats[c], scale[c], shift[c], slope) })
        },
    )
    .into_iter()
    .enumerate()
    .map(|(c, Pair((sdy, sdxc)))| (sdy, sdxc * invstd[c]))
    .collect();
    // dx = k·M·dy' − k·Σdy − (x − mean)·k·inv·Σdy·x̂ with k = γ·inv/M, in f32: per channel
    // [per_dy, offset, per_x, mean, scale, shift].
    let coefficients = |c: usize| {
        let (inv, (sdy, sdyx)) = (invstd[c], sums[c]);
        let k = gamma[c] as f64 * inv / count;
        [(k * count) as f32, (k * sdy) as f32, (k * inv * sdyx) as f32, stats[c], scale[c], shift[c]]
    };
    let mut dx = vec![0.0f32; x.len()];
    if l < LANES {
        let per_channel: Vec<[f32; 6]> = (0..channels).map(coefficients).collect();
        let row: Vec<[f32; 6]> = per_channel.iter().flat_map(|&k| std::iter::repeat_n(k, l)).collect();
        let width = channels * l;
        dx.par_chunks_mut(width).enumerate().for_each(|(n, d)| dx_row(d, &dy[n * width..][..width], &x[n * width..][..width], &row, slope));
    } else {
        for_each_plane(&mut dx, l, |p, plane| {
            let [per_dy, offset, per_x, mean, s, b] = coefficients(p % channels);
            dx_plane(plane, &dy[p * l..][..l], &x[p * l..][..l], [per_dy, offset, per_x, mean, s, b, slope]);
        });
    }
    let dgamma = sums.iter().map(|s| s.1 as f32).collect();
    let dbeta = sums.iter().map(|s| s.0 as f32).collect();
    (dx, dgamma, dbeta)
}
