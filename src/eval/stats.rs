//! The numbers of the standard tools, in float64: Fréchet distance between Gaussians fitted to
//! features (FID, as pytorch-fid computes it), Inception Score, Kernel Inception Distance and
//! improved precision/recall.

use nalgebra::{DMatrix, DVector, SymmetricEigen};

use crate::rng::Rng;

/// Row-major feature matrix: `n` samples of `d` features.
#[derive(Clone, Debug)]
pub struct Features {
    pub n: usize,
    pub d: usize,
    pub data: Vec<f64>,
}

impl Features {
    pub fn new(n: usize, d: usize, data: Vec<f64>) -> Self {
        assert_eq!(data.len(), n * d, "feature matrix size");
        Self { n, d, data }
    }
    pub fn from_f32(n: usize, d: usize, data: &[f32]) -> Self {
        Self::new(n, d, data.iter().map(|&v| v as f64).collect())
    }
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.d..(i + 1) * self.d]
    }
    fn matrix(&self) -> DMatrix<f64> {
        DMatrix::from_row_slice(self.n, self.d, &self.data)
    }
}

/// Mean and unbiased covariance (`np.mean(axis=0)`, `np.cov(rowvar=False)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Gaussian {
    pub mu: Vec<f64>,
    /// `d`×`d`, row-major.
    pub sigma: Vec<f64>,
}

impl Gaussian {
    pub fn fit(f: &Features) -> Gaussian {
        let x = f.matrix();
        let mu = x.row_mean();
        let centred = DMatrix::from_fn(f.n, f.d, |i, j| x[(i, j)] - mu[j]);
        let denom = (f.n.max(2) - 1) as f64;
        let cov = centred.transpose() * &centred / denom;
        Gaussian { mu: mu.iter().copied().collect(), sigma: row_major(&cov) }
    }
    pub fn dim(&self) -> usize {
        self.mu.len()
    }
    fn sigma_matrix(&self) -> DMatrix<f64> {
        DMatrix::from_row_slice(self.dim(), self.dim(), &self.sigma)
    }
}

fn row_major(m: &DMatrix<f64>) -> Vec<f64> {
    m.transpose().as_slice().to_vec()
}

/// Tr(sqrtm(A·B)) for symmetric positive semi-definite A, B, computed stably: with A = V·Λ·Vᵀ,
/// A·B is similar to C = Λ^½·Vᵀ·B·V·Λ^½, which is symmetric with real non-negative eigenvalues μ, and
/// the trace is Σ sqrt(μ). C is formed on the range of A only (eigenvalues of A above the rounding
/// level d·ε·λ_max), so rank-deficient covariances (fewer samples than features) add no square roots
/// of rounding noise. NaN when an input is not finite.
fn trace_sqrt_product(a: &DMatrix<f64>, b: &DMatrix<f64>) -> f64 {
    if a.iter().chain(b.iter()).any(|v| !v.is_finite()) {
        return f64::NAN;
    }
    let sym = |m: &DMatrix<f64>| (m + m.transpose()) * 0.5;
    let ea = SymmetricEigen::new(sym(a));
    let max = ea.eigenvalues.iter().cloned().fold(0.0, f64::max);
    let floor = max * a.nrows() as f64 * f64::EPSILON;
    let range: Vec<usize> = (0..ea.eigenvalues.len()).filter(|&i| ea.eigenvalues[i] > floor).collect();
    if range.is_empty() {
        return 0.0;
    }
    let v = ea.eigenvectors.select_columns(&range);
    let root = DVector::from_iterator(range.len(), range.iter().map(|&i| ea.eigenvalues[i].sqrt()));
    let half = DMatrix::from_diagonal(&root);
    let c = sym(&(&half * v.transpose() * b * &v * &half));
    SymmetricEigen::new(c).eigenvalues.iter().map(|&m| m.max(0.0).sqrt()).sum()
}

/// Fréchet distance ‖μ₁−μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2·Tr(sqrtm(Σ₁Σ₂)), with pytorch-fid's fallback:
/// when the square root is not finite, 1e-6 is added to both diagonals.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> f64 {
    assert_eq!(a.dim(), b.dim(), "Gaussians of different dimension");
    let diff: f64 = a.mu.iter().zip(&b.mu).map(|(x, y)| (x - y) * (x - y)).sum();
    let (sa, sb) = (a.sigma_matrix(), b.sigma_matrix());
    let mut tr_covmean = trace_sqrt_product(&sa, &sb);
    if !tr_covmean.is_finite() {
        let offset = DMatrix::<f64>::identity(a.dim(), a.dim()) * 1e-6;
        tr_covmean = trace_sqrt_product(&(&sa + &offset), &(&sb + &offset));
    }
    diff + sa.trace() + sb.trace() - 2.0 * tr_covmean
}

/// Inception Score over `splits` consecutive equal splits (`n / splits` samples each, the rest unused): exp(E_x KL(p(y|x) ‖ p(y))) per split,
/// returned as (mean, population std) over the splits. `logits` is `n`×`classes`, row-major.
pub fn inception_score(logits: &[f64], classes: usize, splits: usize) -> (f64, f64) {
    let chunk = logits.len() / classes / splits;
    let probs: Vec<Vec<f64>> = logits.chunks(classes).map(softmax).collect();
    let scores: Vec<f64> = (0..splits)
        .map(|s| {
            let part = &probs[s * chunk..(s + 1) * chunk];
            let py: Vec<f64> = (0..classes).map(|k| part.iter().map(|p| p[k]).sum::<f64>() / part.len() as f64).collect();
            let kl: f64 = part
                .iter()
                .map(|p| p.iter().zip(&py).map(|(&pk, &qk)| if pk > 0.0 { pk * (pk.ln() - qk.ln()) } else { 0.0 }).sum::<f64>())
                .sum::<f64>()
                / part.len() as f64;
            kl.exp()
        })
        .collect();
    mean_std(&scores)
}

pub fn softmax(x: &[f64]) -> Vec<f64> {
    let max = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = x.iter().map(|v| (v - max).exp()).collect();
    let s: f64 = e.iter().sum();
    e.into_iter().map(|v| v / s).collect()
}

/// Mean and population standard deviation.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64;
    (m, var.sqrt())
}

/// Unbiased MMD² with the cubic polynomial kernel k(x, y) = (x·y/d + 1)³ (KID's kernel).
pub fn mmd2_polynomial(a: &Features, b: &Features) -> f64 {
    let (xa, xb) = (a.matrix(), b.matrix());
    let d = a.d as f64;
    let k = |g: DMatrix<f64>| g.map(|v| (v / d + 1.0).powi(3));
    let (kxx, kyy, kxy) = (k(&xa * xa.transpose()), k(&xb * xb.transpose()), k(&xa * xb.transpose()));
    let (m, n) = (a.n as f64, b.n as f64);
    let off_diag = |g: &DMatrix<f64>| g.sum() - g.trace();
    off_diag(&kxx) / (m * (m - 1.0)) + off_diag(&kyy) / (n * (n - 1.0)) - 2.0 * kxy.sum() / (m * n)
}

/// KID as the standard tools report it: mean and std of the unbiased MMD² over `subsets` random
/// subsets of `subset_size` samples from each set (capped at the set sizes).
pub fn kid(a: &Features, b: &Features, subsets: usize, subset_size: usize, rng: &mut Rng) -> (f64, f64) {
    let size = subset_size.min(a.n).min(b.n);
    let pick = |f: &Features, rng: &mut Rng| {
        let mut idx: Vec<usize> = (0..f.n).collect();
        rng.shuffle(&mut idx);
        Features::new(size, f.d, idx[..size].iter().flat_map(|&i| f.row(i).to_vec()).collect())
    };
    let values: Vec<f64> = (0..subsets).map(|_| mmd2_polynomial(&pick(a, rng), &pick(b, rng))).collect();
    mean_std(&values)
}

fn sq_dist(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum()
}

/// Squared distance from each sample to its k-th nearest neighbour in the same set (itself excluded).
fn knn_radii(f: &Features, k: usize) -> Vec<f64> {
    use rayon::prelude::*;
    (0..f.n)
        .into_par_iter()
        .map(|i| {
            let mut d: Vec<f64> = (0..f.n).filter(|&j| j != i).map(|j| sq_dist(f.row(i), f.row(j))).collect();
            let k = k.min(d.len()).max(1) - 1;
            d.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
            d[k]
        })
        .collect()
}

/// Fraction of `query` samples inside the k-NN manifold of `support` (the union of balls around
/// each support sample with its k-th neighbour distance as radius).
fn coverage(support: &Features, radii: &[f64], query: &Features) -> f64 {
    use rayon::prelude::*;
    let inside = (0..query.n)
        .into_par_iter()
        .filter(|&i| (0..support.n).any(|j| sq_dist(query.row(i), support.row(j)) <= radii[j]))
        .count();
    inside as f64 / query.n as f64
}

/// Improved precision and recall (Kynkäänniemi et al. 2019): precision = share of generated
/// samples inside the real manifold, recall = share of real samples inside the generated one.
pub fn precision_recall(real: &Features, fake: &Features, k: usize) -> (f64, f64) {
    let precision = coverage(real, &knn_radii(real, k), fake);
    let recall = coverage(fake, &knn_radii(fake, k), real);
    (precision, recall)
}
