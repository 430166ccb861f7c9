//! The matrix product of a fully connected layer, `[m, k] · [k, n]`, on gantry's GEMM: the
//! backward pass reads both operands transposed through strides, so nothing is copied.

use super::matrix::{View, matmul};

/// `x [m, k] · w [k, n]`.
pub fn forward(x: &[f32], w: &[f32], [m, k, n]: [usize; 3]) -> Vec<f32> {
    matmul(m, n, k, View::rows(x, k), View::rows(w, n))
}

/// `(dx = dy · wᵀ, dw = xᵀ · dy)`, each only if wanted.
pub fn backward(x: &[f32], w: &[f32], dy: &[f32], [m, k, n]: [usize; 3], want: [bool; 2]) -> [Option<Vec<f32>>; 2] {
    [
        want[0].then(|| matmul(m, k, n, View::rows(dy, n), View::transposed(w, n))),
        want[1].then(|| matmul(k, n, m, View::transposed(x, k), View::rows(dy, n))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain triple loop, in f64.
    fn reference(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        (0..m * n).map(|e| (0..k).map(|i| a[e / n * k + i] as f64 * b[i * n + e % n] as f64).sum::<f64>() as f32).collect()
    }

    fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols).map(|e| v[e % rows * cols + e / rows]).collect()
    }

    #[test]
    fn forward_and_both_gradients_match_the_definition() {
        let (m, k, n) = (5, 7, 3);
        let x: Vec<f32> = (0..m * k).map(|i| ((i * 7 % 11) as f32 - 5.0) / 4.0).collect();
        let w: Vec<f32> = (0..k * n).map(|i| ((i * 5 % 13) as f32 - 6.0) / 8.0).collect();
        let dy: Vec<f32> = (0..m * n).map(|i| ((i * 3 % 7) as f32 - 3.0) / 2.0).collect();
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-5);
        assert!(close(&forward(&x, &w, [m, k, n]), &reference(&x, &w, m, k, n)));
        let [dx, dw] = backward(&x, &w, &dy, [m, k, n], [true, true]);
        assert!(close(&dx.unwrap(), &reference(&dy, &transpose(&w, k, n), m, n, k)));
        assert!(close(&dw.unwrap(), &reference(&transpose(&x, m, k), &dy, k, m, n)));
        assert!(backward(&x, &w, &dy, [m, k, n], [false, true])[0].is_none());
    }
}
