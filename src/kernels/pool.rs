//! Pooling on plain `f32` slices `[N·C planes of H×W]`: max pooling with a square window equal to
//! its stride (PyTorch's `MaxPool2d(k)`: no padding, floor of the output size), differentiable;
//! and, for inference (Inception's blocks), max and padding-excluding average pooling with any
//! square window, stride and padding.

use rayon::prelude::*;

/// The pooled planes and, for each output, the offset inside its input plane of the value taken:
/// the first largest in row-major window order, or the first NaN (as PyTorch).
pub fn forward(x: &[f32], planes: usize, [h, w]: [usize; 2], k: usize) -> (Vec<f32>, Vec<u32>) {
    let (oh, ow) = (h / k, w / k);
    let mut out = vec![0.0f32; planes * oh * ow];
    let mut arg = vec![0u32; planes * oh * ow];
    out.par_chunks_mut(oh * ow).zip(arg.par_chunks_mut(oh * ow)).enumerate().for_each(|(p, (out, arg))| {
        let plane = &x[p * h * w..][..h * w];
        for r in 0..oh {
            for c in 0..ow {
                let mut best = r * k * w + c * k;
                for i in r * k..r * k + k {
                    for j in c * k..c * k + k {
                        let v = plane[i * w + j];
                        if v > plane[best] || (v.is_nan() && !plane[best].is_nan()) {
                            best = i * w + j;
                        }
                    }
                }
                out[r * ow + c] = plane[best];
                arg[r * ow + c] = best as u32;
            }
        }
    });
    (out, arg)
}

/// The input gradient: each output's gradient goes to the input it took (windows do not overlap).
pub fn backward(dy: &[f32], arg: &[u32], planes: usize, [h, w]: [usize; 2], k: usize) -> Vec<f32> {
    let outputs = (h / k) * (w / k);
    let mut dx = vec![0.0f32; planes * h * w];
    dx.par_chunks_mut(h * w).enumerate().for_each(|(p, plane)| {
        for (&g, &a) in dy[p * outputs..][..outputs].iter().zip(&arg[p * outputs..][..outputs]) {
            plane[a as usize] += g;
        }
    });
    dx
}

/// How an inference pooling window reduces its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduce {
    /// The largest value (a NaN wins), padding never taken (PyTorch's `max_pool2d`).
    Max,
    /// The mean over the window's inputs inside the image (`avg_pool2d(count_include_pad=False)`).
    MeanInside,
}

/// A square pooling window: `kernel`×`kernel`, `stride`, `padding` on every side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Window {
    /// The output size along an axis of `size` (PyTorch's floor mode).
    pub fn output(&self, size: usize) -> usize {
        (size + 2 * self.padding - self.kernel) / self.stride + 1
    }
}

/// Inference pooling of every plane; the output planes are `[window.output(h), window.output(w)]`.
/// Each output combines its taps in row-major window order, as PyTorch's CPU kernels do, so the
/// sums round the same way. burn-flex's pooling walked every window element by element (a
/// quarter of the FID feature extraction's time); here each tap is one pass over an output row.
pub fn inference(x: &[f32], planes: usize, [h, w]: [usize; 2], window: Window, reduce: Reduce) -> Vec<f32> {
    let Window { kernel: k, stride: s, padding: p } = window;
    assert!(k > 0 && s > 0 && 2 * p <= k && h + 2 * p >= k && w + 2 * p >= k, "pooling window {window:?} fits a {h}x{w} plane");
    assert_eq!(x.len(), planes * h * w, "pooling input size");
    let (oh, ow) = (window.output(h), window.output(w));
    let columns: Vec<(usize, usize)> = (0..k).map(|kx| super::geometry::taps_inside(kx, w, ow, p, s)).collect();
    // Taps inside the image per output column (the mean's divisor, with the rows' count).
    let column_taps: Vec<usize> = (0..ow).map(|ox| columns.iter().filter(|&&(lo, hi)| (lo..hi).contains(&ox)).count()).collect();
    let start = if reduce == Reduce::Max { f32::NEG_INFINITY } else { 0.0 };
    let mut out = vec![start; planes * oh * ow];
    out.par_chunks_mut(oh * ow).enumerate().for_each(|(plane, out)| {
        pool_plane(&x[plane * h * w..][..h * w], out, [h, w], window, reduce, &columns, &column_taps);
    });
    out
}

crate::simd_dispatch! {
    /// One plane of [`inference`]; `out` holds the start value (−∞ or 0).
    fn pool_plane(x: &[f32], out: &mut [f32], hw: [usize; 2], window: Window, reduce: Reduce, columns: &[(usize, usize)], column_taps: &[usize]) {
        let ([h, w], Window { kernel: k, stride: s, padding: p }) = (hw, window);
        for (oy, out) in out.chunks_exact_mut(column_taps.len()).enumerate() {
            let (mut rows, row_range) = (0, (0..k).filter_map(|ky| (oy * s + ky).checked_sub(p).filter(|&iy| iy < h)));
            for iy in row_range {
                rows += 1;
                let row = &x[iy * w..][..w];
                for (kx, &(lo, hi)) in columns.iter().enumerate().filter(|(_, (lo, hi))| lo < hi) {
                    let (out, first) = (&mut out[lo..hi], lo * s + kx - p);
                    match reduce {
                        Reduce::Max => each_tap(out, &row[first..], s, |m, v| *m = max_or_nan(*m, v)),
                        Reduce::MeanInside => each_tap(out, &row[first..], s, |a, v| *a += v),
                    }
                }
            }
            if reduce == Reduce::MeanInside {
                out.iter_mut().zip(column_taps).for_each(|(a, &c)| *a /= (rows * c) as f32);
            }
        }
    }
}

/// `combine(out[i], row[i·stride])` for every output; stride 1 as a plain zip, which vectorises.
#[inline(always)]
fn each_tap(out: &mut [f32], row: &[f32], stride: usize, combine: impl Fn(&mut f32, f32)) {
    if stride == 1 {
        out.iter_mut().zip(row).for_each(|(o, &v)| combine(o, v));
    } else {
        out.iter_mut().zip(row.iter().step_by(stride)).for_each(|(o, &v)| combine(o, v));
    }
}

/// PyTorch's max step: the new value if it is larger or NaN.
#[inline(always)]
fn max_or_nan(m: f32, v: f32) -> f32 {
    if v > m || v.is_nan() { v } else { m }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_first_maximum_and_routes_its_gradient() {
        // One 4x5 plane, 2x2 windows: the last column is dropped (floor).
        let x = [1., 3., 3., 0., 9., 2., 0., 1., 3., 9., -1., -2., 5., 5., 9., -3., -1., 5., 5., 9.];
        let (y, arg) = forward(&x, 1, [4, 5], 2);
        assert_eq!(y, vec![3., 3., -1., 5.]);
        assert_eq!(arg, vec![1, 2, 10, 12]);
        let dx = backward(&[1., 2., 3., 4.], &arg, 1, [4, 5], 2);
        assert_eq!(dx.iter().sum::<f32>(), 10.0);
        assert_eq!((dx[1], dx[2], dx[10], dx[12]), (1., 2., 3., 4.));
    }

    #[test]
    fn a_nan_wins_its_window() {
        let (y, _) = forward(&[1., f32::NAN, 7., 2.], 1, [2, 2], 2);
        assert!(y[0].is_nan());
    }

    /// The definition: each output over its window's inputs inside the plane, in window order.
    fn naive(x: &[f32], [h, w]: [usize; 2], win: Window, reduce: Reduce) -> Vec<f32> {
        let (oh, ow) = (win.output(h), win.output(w));
        let mut out = Vec::new();
        for oy in 0..oh {
            for ox in 0..ow {
                let taps: Vec<f32> = (0..win.kernel * win.kernel)
                    .filter_map(|t| {
                        let iy = (oy * win.stride + t / win.kernel).checked_sub(win.padding).filter(|&i| i < h)?;
                        let ix = (ox * win.stride + t % win.kernel).checked_sub(win.padding).filter(|&i| i < w)?;
                        Some(x[iy * w + ix])
                    })
                    .collect();
                out.push(match reduce {
                    Reduce::Max => taps.iter().fold(f32::NEG_INFINITY, |m, &v| max_or_nan(m, v)),
                    Reduce::MeanInside => taps.iter().sum::<f32>() / taps.len() as f32,
                });
            }
        }
        out
    }

    #[test]
    fn inference_pooling_matches_the_definition() {
        let mut state = 7u32;
        let mut next = || {
            state = state.wrapping_mul(1664525).wrapping_add(1013904223);
            (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        for (h, w, kernel, stride, padding) in [(7, 9, 3, 1, 1), (9, 8, 3, 2, 0), (6, 5, 3, 2, 1), (5, 5, 2, 2, 0), (4, 7, 3, 1, 0)] {
            let planes = 3;
            let mut x: Vec<f32> = (0..planes * h * w).map(|_| next()).collect();
            x[h * w + w + 1] = f32::NAN;
            let win = Window { kernel, stride, padding };
            for reduce in [Reduce::Max, Reduce::MeanInside] {
                let got = inference(&x, planes, [h, w], win, reduce);
                let want: Vec<f32> = x.chunks(h * w).flat_map(|plane| naive(plane, [h, w], win, reduce)).collect();
                assert_eq!(got.len(), want.len());
                for (g, e) in got.iter().zip(&want) {
                    assert!(g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan()), "{win:?} {reduce:?}: {g} vs {e}");
                }
                assert!(got.iter().any(|v| v.is_nan()), "the NaN reaches its windows");
            }
        }
    }
}
