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

/// What `gantry interpolate` lays out in latent space.
pub enum LatentPath {
    /// One row per consecutive pair of seeds' noise, `steps` images each (ends included).
    Seeds { seeds: Vec<u64>, steps: usize, spherical: bool },
    /// A row between two saved z vectors.
    Saved { zs: Vec<Vec<f32>>, from: usize, to: usize, steps: usize, spherical: bool },
    /// The terms of an expression like `3 - 1 + 5` over saved z vectors, then its result.
    Arithmetic { zs: Vec<Vec<f32>>, expr: String },
}

/// The z vectors a [`LatentPath`] of `g` lays out, and how many go in a row.
pub fn latent_rows(g: &dyn super::generator::Generator, latent: &LatentPath) -> crate::Result<(Vec<Vec<f32>>, usize)> {
    use crate::Error;
    let pick = |zs: &[Vec<f32>], i: usize| zs.get(i).cloned().ok_or_else(|| Error::config("z", format!("z index {i} out of range ({} saved)", zs.len())));
    Ok(match latent {
        LatentPath::Seeds { seeds, steps, spherical } => {
            let ends: Vec<Vec<f32>> = seeds.iter().map(|&s| super::generator::seed_z(g, s)).collect();
            (ends.windows(2).flat_map(|p| path(&p[0], &p[1], *steps, *spherical)).collect(), *steps)
        }
        LatentPath::Saved { zs, from, to, steps, spherical } => (path(&pick(zs, *from)?, &pick(zs, *to)?, *steps, *spherical), *steps),
        LatentPath::Arithmetic { zs, expr } => {
            let terms = parse_expression(expr).map_err(|m| Error::config("expr", m))?;
            let mut row = terms.iter().map(|&(_, i)| pick(zs, i)).collect::<crate::Result<Vec<_>>>()?;
            row.push(arithmetic(zs, &terms).map_err(|m| Error::config("expr", m))?);
            let k = row.len();
            (row, k)
        }
    })
}
