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

/// Half-width of the square that ring8 and grid25 scatter plots show (the modes lie within ±1.42).
pub const TOY_RANGE: f32 = 2.2;

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

/// Vertical bars (e.g. class shares) with their labels underneath and a dashed reference level
/// (e.g. the uniform share).
pub fn bar_chart(title: &str, labels: &[String], values: &[f64], reference: Option<f64>, path: &Path) -> Result<()> {
    let slot = (labels.iter().map(|l| l.len()).max().unwrap_or(1) * 8 + 8).max(24) as f64;
    let (l, r, t, b) = (60.0, 20.0, 30.0, 30.0);
    let (w, h) = ((l + r + slot * labels.len() as f64).max(title.len() as f64 * 8.0 + 16.0), 320.0);
    let mut c = Canvas::new(w as u32, h as u32);
    let top = values.iter().cloned().chain(reference).fold(0.0f64, f64::max).max(1e-12) * 1.1;
    let y = |v: f64| h - b - v / top * (h - t - b);
    c.line(l, y(0.0), w - r, y(0.0), BLACK);
    for (i, (&v, label)) in values.iter().zip(labels).enumerate() {
        let x0 = l + i as f64 * slot + 4.0;
        for px in x0 as i64..(x0 + slot - 8.0) as i64 {
            c.line(px as f64, y(0.0), px as f64, y(v), super::canvas::BLUE);
        }
        c.text(x0 as i64, (h - b + 8.0) as i64, label, BLACK);
    }
    if let Some(rv) = reference {
        let mut x = l;
        while x < w - r {
            c.line(x, y(rv), (x + 6.0).min(w - r), y(rv), RED);
            x += 12.0;
        }
        c.text(4, y(rv) as i64 - 4, &fmt(rv), RED);
    }
    c.text(4, y(top / 1.1) as i64 - 4, &fmt(top / 1.1), GREY);
    c.text(8, 8, title, BLACK);
    c.save(path)
}
