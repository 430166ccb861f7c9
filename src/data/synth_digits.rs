//! `synth-digits`: 28x28 handwriting-like digits drawn from stroke skeletons with random affine
//! jitter, stroke width and blur. Labelled, deterministic by seed, unlimited in size; it lets the
//! default run and the tests work with no files at all.

use super::dataset::{DIGITS, Dataset, DatasetKind, ModeCount, NamePattern, SampleKind, Samples, names};
use super::options::DataOptions;
use crate::error::Result;
use crate::model::Shape3;
use crate::rng::Rng;
use rayon::prelude::*;

const SHAPE: Shape3 = [1, 28, 28];

pub static SYNTH_DIGITS: DatasetKind = DatasetKind {
    name: "synth-digits",
    description: "built-in: 28x28 synthetic handwritten digits 0-9, labelled, generated from a seed",
    pattern: NamePattern::Exact,
    load,
    downloads: None,
    shape: Some(SHAPE),
    stored_transposed: false,
    class_names: |_| names(&DIGITS),
    samples: SampleKind::Images,
    mode_count: ModeCount::OwnClassifier,
};

fn load(kind: &'static DatasetKind, name: &str, opts: &DataOptions) -> Result<Dataset> {
    let (pixels, labels) = generate(opts.generated_len(60_000), opts.split_seed());
    Ok(Dataset::new(kind, name, SHAPE, Samples::Bytes(pixels), Some(labels)))
}

type Stroke = Vec<(f64, f64)>;

fn arc(cx: f64, cy: f64, rx: f64, ry: f64, from_deg: f64, to_deg: f64) -> Stroke {
    let n = 24;
    (0..=n)
        .map(|i| {
            let a = (from_deg + (to_deg - from_deg) * i as f64 / n as f64).to_radians();
            (cx + rx * a.cos(), cy + ry * a.sin())
        })
        .collect()
}

/// Stroke skeletons in a unit box (x right, y down). Angles: 0° right, 90° down.
fn skeleton(digit: u8) -> Vec<Stroke> {
    match digit {
        0 => vec![arc(0.5, 0.5, 0.3, 0.42, 0.0, 360.0)],
        1 => vec![vec![(0.52, 0.08), (0.5, 0.92)], vec![(0.34, 0.24), (0.52, 0.08)]],
        2 => {
            let mut top = arc(0.5, 0.32, 0.26, 0.23, 190.0, 390.0);
            top.extend([(0.22, 0.92), (0.82, 0.92)]);
            vec![top]
        }
        3 => vec![arc(0.5, 0.3, 0.25, 0.2, 200.0, 450.0), arc(0.5, 0.71, 0.28, 0.21, -90.0, 160.0)],
        4 => vec![vec![(0.66, 0.92), (0.66, 0.08), (0.2, 0.64), (0.84, 0.64)]],
        5 => {
            let mut s = vec![(0.76, 0.1), (0.32, 0.1), (0.28, 0.45)];
            s.extend(arc(0.49, 0.66, 0.28, 0.26, -140.0, 150.0));
            vec![s]
        }
        6 => vec![vec![(0.7, 0.08), (0.46, 0.28), (0.31, 0.55), (0.29, 0.7)], arc(0.51, 0.7, 0.22, 0.21, 0.0, 360.0)],
        7 => vec![vec![(0.2, 0.1), (0.82, 0.1), (0.42, 0.92)]],
        8 => vec![arc(0.5, 0.29, 0.21, 0.19, 0.0, 360.0), arc(0.5, 0.7, 0.26, 0.22, 0.0, 360.0)],
        _ => vec![arc(0.5, 0.3, 0.24, 0.21, 0.0, 360.0), vec![(0.74, 0.3), (0.7, 0.6), (0.56, 0.92)]],
    }
}

fn seg_dist(px: f64, py: f64, a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((px - a.0) * dx + (py - a.1) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let (qx, qy) = (a.0 + t * dx - px, a.1 + t * dy - py);
    (qx * qx + qy * qy).sqrt()
}

/// One digit's strokes in pixel coordinates, stroke width and blur: everything random about it.
struct Glyph {
    strokes: Vec<Stroke>,
    width: f64,
    blur: f64,
}

/// Draw one digit's random pose, in a fixed order of draws from `rng`.
fn draw(digit: u8, rng: &mut Rng) -> Glyph {
    let angle = rng.uniform(-0.22, 0.22);
    let (sx, sy) = (rng.uniform(0.8, 1.1), rng.uniform(0.85, 1.1));
    let shear = rng.uniform(-0.25, 0.25);
    let (tx, ty) = (rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5));
    let width = rng.uniform(1.3, 2.7);
    let wobble = 0.035;
    let (ca, sa) = (angle.cos(), angle.sin());
    // Unit box -> 20x20 box centred in 28x28 (as MNIST), with the affine jitter about the centre.
    let strokes: Vec<Stroke> = skeleton(digit)
        .into_iter()
        .map(|s| {
            let (jx, jy) = (rng.uniform(-wobble, wobble), rng.uniform(-wobble, wobble));
            s.into_iter()
                .map(|(x, y)| {
                    let (x, y) = ((x - 0.5 + jx) * 20.0 * sx, (y - 0.5 + jy) * 20.0 * sy);
                    let x = x + shear * y;
                    (14.0 + tx + ca * x - sa * y, 14.0 + ty + sa * x + ca * y)
                })
                .collect()
        })
        .collect();
    // Random blur: mix with a 3x3 box-filtered copy.
    let blur = rng.uniform(0.0, 0.6);
    Glyph { strokes, width, blur }
}

/// Render one glyph as 28x28 bytes.
fn rasterize(g: &Glyph) -> Vec<u8> {
    // Ink falls to 0 at distance width/2 + 1 from the skeleton, so each segment only needs the
    // pixels in its bounding box grown by that much (min over segments is order-free: same bytes).
    let reach = g.width / 2.0 + 1.0;
    let mut dist = [f64::MAX; 28 * 28];
    for s in &g.strokes {
        for w in s.windows(2) {
            let span = |u: f64, v: f64| {
                let lo = (u.min(v) - reach - 0.5).floor().max(0.0) as usize;
                let hi = ((u.max(v) + reach - 0.5).ceil().max(-1.0) + 1.0).min(28.0) as usize;
                lo..hi.max(lo)
            };
            for r in span(w[0].1, w[1].1) {
                for c in span(w[0].0, w[1].0) {
                    let d = &mut dist[r * 28 + c];
                    *d = d.min(seg_dist(c as f64 + 0.5, r as f64 + 0.5, w[0], w[1]));
                }
            }
        }
    }
    let img: Vec<f64> = dist.iter().map(|d| (1.0 - (d - g.width / 2.0)).clamp(0.0, 1.0)).collect();
    let mut out = vec![0u8; 28 * 28];
    for r in 0..28 {
        for c in 0..28 {
            let mut acc = 0.0;
            let mut n = 0.0;
            for dr in -1i32..=1 {
                for dc in -1i32..=1 {
                    let (rr, cc) = (r as i32 + dr, c as i32 + dc);
                    if (0..28).contains(&rr) && (0..28).contains(&cc) {
                        acc += img[rr as usize * 28 + cc as usize];
                        n += 1.0;
                    }
                }
            }
            let v = (1.0 - g.blur) * img[r * 28 + c] + g.blur * acc / n;
            out[r * 28 + c] = (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        }
    }
    out
}

/// `n` digits with balanced labels (digit i % 10 in a shuffled order), deterministic by seed.
pub fn generate(n: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Rng::derived(seed, "synth-digits", 0);
    let mut labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    rng.shuffle(&mut labels);
    // Poses are drawn in order from one stream; the pixels are then rendered in parallel.
    let glyphs: Vec<Glyph> = labels.iter().map(|&l| draw(l, &mut rng)).collect();
    let pixels = glyphs.par_iter().flat_map_iter(rasterize).collect();
    (pixels, labels)
}
