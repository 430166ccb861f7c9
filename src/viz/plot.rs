//! Line plots (loss curves) and 2-D scatter plots.

use std::path::Path;

use image::Rgb;

use super::canvas::{BLACK, Canvas, GREY, RED};
use crate::error::Result;

pub struct Series<'a> {
    pub name: &'a str,
    pub points: Vec<(f64, f64)>,
    pub color: Rgb<u8>,
}

fn fmt(v: f64) -> String {
    if v.abs() >= 1000.0 || (v != 0.0 && v.abs() < 0.01) { format!("{v:.1e}") } else { format!("{v:.2}") }
}

/// Plot series on shared axes, with a title, axis labels and a legend.
pub fn line_plot(title: &str, xlabel: &str, series: &[Series], path: &Path) -> Result<()> {
    let (w, h) = (900.0, 420.0);
    let (l, r, t, b) = (70.0, 20.0, 30.0, 40.0);
    let mut c = Canvas::new(w as u32, h as u32);
    let pts = series.iter().flat_map(|s| s.points.iter()).filter(|p| p.1.is_finite());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    if x1 == x0 {
        x1 = x0 + 1.0;
    }
    if y1 == y0 {
        y1 = y0 + 1.0;
    }
    let sx = |x: f64| l + (x - x0) / (x1 - x0) * (w - l - r);
    let sy = |y: f64| h - b - (y - y0) / (y1 - y0) * (h - t - b);
    for i in 0..=4 {
        let y = y0 + (y1 - y0) * i as f64 / 4.0;
        c.line(l, sy(y), w - r, sy(y), GREY);
        c.text(4, sy(y) as i64 - 4, &fmt(y), BLACK);
        let x = x0 + (x1 - x0) * i as f64 / 4.0;
        c.text(sx(x) as i64 - 16, (h - b + 6.0) as i64, &fmt(x), BLACK);
    }
    c.line(l, t, l, h - b, BLACK);
    c.line(l, h - b, w - r, h - b, BLACK);
    c.text(l as i64, 8, title, BLACK);
    c.text((w / 2.0) as i64, (h - 14.0) as i64, xlabel, BLACK);
    for (k, s) in series.iter().enumerate() {
        for p in s.points.windows(2) {
            if p[0].1.is_finite() && p[1].1.is_finite() {
                c.line(sx(p[0].0), sy(p[0].1), sx(p[1].0), sy(p[1].1), s.color);
            }
        }
        let lx = (w - r - 160.0) as i64;
        let ly = (t + 6.0 + 14.0 * k as f64) as i64;
        c.line(lx as f64, ly as f64 + 4.0, lx as f64 + 20.0, ly as f64 + 4.0, s.color);
        c.text(lx + 26, ly, s.name, BLACK);
    }
    c.save(path)
}

/// Scatter of 2-D points (blue) over reference centres (red), on a fixed square range.
pub fn scatter(title: &str, points: &[[f32; 2]], centres: &[[f32; 2]], range: f32, path: &Path) -> Result<()> {
    let size = 500.0;
    let mut c = Canvas::new(size as u32, size as u32 + 20);
    let s = |v: f32| ((v + range) / (2.0 * range)) as f64 * (size - 20.0) + 10.0;
    c.line(s(0.0), 30.0, s(0.0), size + 10.0, GREY);
    c.line(10.0, s(0.0) + 20.0, size - 10.0, s(0.0) + 20.0, GREY);
    for p in points {
        c.dot(s(p[0]), s(-p[1]) + 20.0, 1, super::canvas::BLUE);
    }
    for p in centres {
        c.dot(s(p[0]), s(-p[1]) + 20.0, 3, RED);
    }
    c.text(8, 6, title, BLACK);
    c.save(path)
}
