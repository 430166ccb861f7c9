//! Max pooling with a square window equal to its stride (PyTorch's `MaxPool2d(k)`: no padding,
//! floor of the output size) on plain `f32` slices `[N·C planes of H×W]`.

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
}
