//! 2-D distributions without modes to count, as GAN Lab offers them: two moons, a spiral, a line,
//! and points of your own (`points:FILE`, the playground's drawn distribution). Each is drawn
//! deterministically from the seed, in the plane the mixtures use (within about ±1.6).

use std::path::Path;

use super::dataset::{Dataset, DatasetKind, ModeCount, NamePattern, SampleKind, Samples};
use super::options::DataOptions;
use crate::error::{Error, Result};
use crate::model::Shape3;
use crate::rng::Rng;

const SHAPE: Shape3 = [2, 1, 1];

pub static MOONS: DatasetKind = DatasetKind {
    name: "moons",
    description: "built-in: two interleaving half circles (2-D)",
    pattern: NamePattern::Exact,
    load,
    downloads: None,
    shape: Some(SHAPE),
    stored_transposed: false,
    class_names: |_| vec![],
    samples: SampleKind::Points { modes: None },
    mode_count: ModeCount::Unavailable,
};

pub static SPIRAL: DatasetKind = DatasetKind { name: "spiral", description: "built-in: a spiral arm (2-D)", ..MOONS };

pub static LINE: DatasetKind = DatasetKind { name: "line", description: "built-in: a line segment (2-D)", ..MOONS };

pub static POINTS: DatasetKind = DatasetKind {
    name: "points:FILE",
    description: "2-D points of your own: a text file of `x,y` lines; samples are drawn around them",
    pattern: NamePattern::Prefix { prefix: "points:", check: |_| Ok(()) },
    load: load_file,
    ..MOONS
};

/// The noise around each point of a drawn distribution (per coordinate).
const DRAWN_STD: f32 = 0.03;
/// The most points a points file or a drawing may hold, and the largest file read.
pub const MAX_POINTS: usize = 100_000;
const MAX_FILE_BYTES: u64 = 8 << 20;
/// Coordinates beyond this are refused: the plane the models see is about ±2.
const MAX_COORD: f32 = 100.0;

fn load(kind: &'static DatasetKind, name: &str, opts: &DataOptions) -> Result<Dataset> {
    let n = opts.generated_len(100_000);
    let mut rng = Rng::derived(opts.split_seed(), kind.name, 0);
    let mut points = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let [x, y] = match kind.name {
            "moons" => moon_point(&mut rng),
            "spiral" => spiral_point(&mut rng),
            _ => line_point(&mut rng),
        };
        points.extend([x, y]);
    }
    Ok(Dataset::new(kind, name, SHAPE, Samples::Floats(points), None))
}

fn noise(rng: &mut Rng, std: f64) -> f32 {
    (std * rng.normal()) as f32
}

/// sklearn's make_moons (noise 0.05), centred and scaled into the plane.
fn moon_point(rng: &mut Rng) -> [f32; 2] {
    let t = rng.uniform(0.0, std::f64::consts::PI);
    let (x, y) = if rng.below(2) == 0 { (t.cos(), t.sin()) } else { (1.0 - t.cos(), 0.5 - t.sin()) };
    [((x - 0.5) * 1.1) as f32 + noise(rng, 0.05), ((y - 0.25) * 1.1) as f32 + noise(rng, 0.05)]
}

/// One arm of 1.5 turns, denser near the centre as the angle is uniform.
fn spiral_point(rng: &mut Rng) -> [f32; 2] {
    let t = rng.uniform(0.0, 3.0 * std::f64::consts::PI);
    let r = 0.15 + 1.35 * t / (3.0 * std::f64::consts::PI);
    [(r * t.cos()) as f32 + noise(rng, 0.03), (r * t.sin()) as f32 + noise(rng, 0.03)]
}

fn line_point(rng: &mut Rng) -> [f32; 2] {
    let t = rng.uniform(-1.2, 1.2);
    [t as f32 + noise(rng, 0.02), (0.5 * t) as f32 + noise(rng, 0.02)]
}

/// `n` samples around the points of a drawing: each picks a point uniformly and adds a little
/// Gaussian noise. Refuses an empty drawing, too many points and coordinates that are not finite
/// or lie far outside the plane.
pub fn drawn(points: &[[f32; 2]], name: &str, n: usize, seed: u64) -> Result<Dataset> {
    check_points(points, "points")?;
    let mut rng = Rng::derived(seed, "points", 0);
    let mut out = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let [x, y] = points[rng.below(points.len())];
        out.extend([x + noise(&mut rng, DRAWN_STD as f64), y + noise(&mut rng, DRAWN_STD as f64)]);
    }
    Ok(Dataset::new(&POINTS, name, SHAPE, Samples::Floats(out), None))
}

pub fn check_points(points: &[[f32; 2]], field: &str) -> Result<()> {
    if points.is_empty() || points.len() > MAX_POINTS {
        return Err(Error::config(field, format!("expected 1 to {MAX_POINTS} points, got {}", points.len())));
    }
    if let Some(p) = points.iter().find(|p| !p.iter().all(|v| v.is_finite() && v.abs() <= MAX_COORD)) {
        return Err(Error::config(field, format!("every coordinate must be a number within ±{MAX_COORD}, got {p:?}")));
    }
    Ok(())
}

fn load_file(_kind: &'static DatasetKind, name: &str, opts: &DataOptions) -> Result<Dataset> {
    let path = Path::new(name.strip_prefix("points:").unwrap_or(name));
    let points = read_points(path)?;
    drawn(&points, name, opts.generated_len(100_000), opts.split_seed())
}

/// A points file: one `x,y` (or `x y`) per line; blank lines and lines starting with `#` skipped.
pub fn read_points(path: &Path) -> Result<Vec<[f32; 2]>> {
    let len = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    if len > MAX_FILE_BYTES {
        return Err(Error::bad_file(path, format!("{len} bytes; a points file holds at most {MAX_POINTS} points ({MAX_FILE_BYTES} bytes)")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut points = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let values: Vec<&str> = line.split(|c: char| c == ',' || c.is_whitespace()).filter(|v| !v.is_empty()).collect();
        let parsed: Option<Vec<f32>> = values.iter().map(|v| v.parse().ok()).collect();
        match parsed.as_deref() {
            Some(&[x, y]) => points.push([x, y]),
            _ => {
                return Err(Error::bad_file(path, format!("line {}: expected two numbers `x,y`, got `{line}`", i + 1)));
            }
        }
        if points.len() > MAX_POINTS {
            return Err(Error::bad_file(path, format!("more than {MAX_POINTS} points")));
        }
    }
    check_points(&points, "points").map_err(|e| Error::bad_file(path, e.to_string()))?;
    Ok(points)
}

/// Writes points as a points file (`x,y` lines) that `points:FILE` reads back.
pub fn write_points(path: &Path, points: &[[f32; 2]]) -> Result<()> {
    let text: String = std::iter::once("# x,y\n".to_string()).chain(points.iter().map(|[x, y]| format!("{x},{y}\n"))).collect();
    crate::tensor_file::write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_stay_in_the_plane_and_follow_the_seed() {
        for kind in [&MOONS, &SPIRAL, &LINE] {
            let (name, opts) = (kind.name, DataOptions { generated_size: Some(2000), ..Default::default() });
            let a = load(kind, name, &opts).unwrap();
            let b = load(kind, name, &opts).unwrap();
            assert_eq!(a.values(), b.values(), "{name}");
            assert!(a.values().iter().all(|v| v.abs() < 2.0), "{name}");
            assert!(a.kind.is_points() && a.kind.point_modes().is_none() && a.kind.point_centres() == Some(vec![]));
        }
    }

    #[test]
    fn a_points_file_round_trips_and_bad_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        write_points(&path, &[[0.5, -0.25], [1.0, 1.0]]).unwrap();
        assert_eq!(read_points(&path).unwrap(), vec![[0.5, -0.25], [1.0, 1.0]]);
        let d = load_file(&POINTS, &format!("points:{}", path.display()), &DataOptions { generated_size: Some(100), ..Default::default() }).unwrap();
        assert_eq!(d.len, 100);
        for (text, expect) in [("1,2,3\n", "line 1"), ("1,nan\n", "±100"), ("", "1 to"), ("1e9 0\n", "±100")] {
            std::fs::write(&path, text).unwrap();
            let e = read_points(&path).unwrap_err().to_string();
            assert!(e.contains("p.csv") && e.contains(expect), "{text:?}: {e}");
        }
    }
}
