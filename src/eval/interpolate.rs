//! Paths through the latent space: linear and spherical interpolation between noise vectors, and
//! latent arithmetic (`a - b + c`) on saved z vectors.

/// (1 − t)·a + t·b.
pub fn lerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| (1.0 - t) * x + t * y).collect()
}

/// Spherical interpolation (White 2016): along the great circle between a and b, which keeps
/// Gaussian noise at a typical norm; falls back to lerp for (anti)parallel vectors.
pub fn slerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let cos = (dot / (norm(a) * norm(b)).max(1e-12)).clamp(-1.0, 1.0);
    let omega = cos.acos();
    let so = omega.sin();
    if so.abs() < 1e-6 {
        return lerp(a, b, t);
    }
    let (wa, wb) = (((1.0 - t as f64) * omega).sin() / so, (t as f64 * omega).sin() / so);
    a.iter().zip(b).map(|(x, y)| (wa * *x as f64 + wb * *y as f64) as f32).collect()
}

/// `steps` points from a to b inclusive.
pub fn path(a: &[f32], b: &[f32], steps: usize, spherical: bool) -> Vec<Vec<f32>> {
    (0..steps)
        .map(|i| {
            let t = if steps == 1 { 0.0 } else { i as f32 / (steps - 1) as f32 };
            if spherical { slerp(a, b, t) } else { lerp(a, b, t) }
        })
        .collect()
}

/// Parse `3 - 1 + 5` into signed indices [(+1, 3), (−1, 1), (+1, 5)].
pub fn parse_expression(expr: &str) -> Result<Vec<(f32, usize)>, String> {
    let mut terms = Vec::new();
    let mut sign = 1.0;
    let mut expect_index = true;
    for tok in expr.replace('+', " + ").replace('-', " - ").split_whitespace() {
        match (tok, expect_index) {
            ("+", true) => {}
            ("-", true) => sign = -sign,
            ("+", false) => {
                sign = 1.0;
                expect_index = true
            }
            ("-", false) => {
                sign = -1.0;
                expect_index = true
            }
            (n, true) => {
                let i = n.parse::<usize>().map_err(|_| format!("`{n}` is not a z index (expected e.g. `3 - 1 + 5`)"))?;
                terms.push((sign, i));
                sign = 1.0;
                expect_index = false
            }
            (n, false) => return Err(format!("expected + or - before `{n}`")),
        }
    }
    if terms.is_empty() || expect_index {
        return Err(format!("`{expr}` is not an expression of z indices like `3 - 1 + 5`"));
    }
    Ok(terms)
}

/// Σ sign·z[index] over the terms; `zs` are the saved vectors.
pub fn arithmetic(zs: &[Vec<f32>], terms: &[(f32, usize)]) -> Result<Vec<f32>, String> {
    let d = zs.first().map(|z| z.len()).ok_or("no z vectors")?;
    let mut out = vec![0f32; d];
    for &(s, i) in terms {
        let z = zs.get(i).ok_or_else(|| format!("z index {i} out of range (the file holds {})", zs.len()))?;
        out.iter_mut().zip(z).for_each(|(o, v)| *o += s * v);
    }
    Ok(out)
}
