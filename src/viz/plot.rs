//! Line plots (loss curves, trajectories), 2-D scatter plots and bar charts, drawn by plotters
//! with a real font (DejaVu Sans, compiled in: no system fonts needed), round ticks and axis
//! labels. Each is written as PNG at `path` and as SVG beside it (same name, `.svg`).

use std::ops::Range;
use std::path::Path;
use std::sync::Once;

use image::Rgb;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

pub struct Series<'a> {
    pub name: &'a str,
    pub points: Vec<(f64, f64)>,
    pub color: Rgb<u8>,
}

/// Half-width of the square that ring8 and grid25 scatter plots show (the modes lie within ±1.42).
pub const TOY_RANGE: f32 = 2.2;

const FONT: &str = "sans-serif";
const BLUE: RGBColor = RGBColor(31, 119, 180);
const RED: RGBColor = RGBColor(214, 39, 40);

fn rgb(c: Rgb<u8>) -> RGBColor {
    RGBColor(c.0[0], c.0[1], c.0[2])
}

/// What a drawing returns: plotters' errors are generic over the backend; they become text.
type Drawn = std::result::Result<(), String>;

fn text_err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// A tick value as a person writes it: `10`, `0.5`, `2.5e-4` (never `10.0` or `63.25000001`).
fn tick(v: &f64) -> String {
    let v = *v;
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() >= 1e5 || v.abs() < 1e-3 {
        return format!("{v:.1e}");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn register_font() {
    static FONT_ONCE: Once = Once::new();
    FONT_ONCE.call_once(|| {
        // The bytes are DejaVu Sans as the `dejavu` crate ships it; a failure would leave text undrawn.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Draws with `png` into a pixel buffer saved as `path`, and with `svg` into `path` with `.svg`.
fn save(path: &Path, size: (u32, u32), png: impl FnOnce(&DrawingArea<BitMapBackend, Shift>) -> Drawn, svg: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Drawn) -> Result<()> {
    register_font();
    let fail = |m: String| Error::Other(format!("cannot draw {}: {m}", path.display()));
    let mut pixels = vec![255u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        png(&root).map_err(fail)?;
        root.present().map_err(|e| fail(text_err(e)))?;
    }
    let img = image::RgbImage::from_raw(size.0, size.1, pixels).expect("a buffer of the picture's size");
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut png_bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png_bytes), image::ImageFormat::Png).map_err(|e| fail(e.to_string()))?;
    crate::tensor_file::write_atomic(path, &png_bytes)?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        svg(&root).map_err(fail)?;
        root.present().map_err(|e| fail(text_err(e)))?;
    }
    crate::tensor_file::write_atomic(&path.with_extension("svg"), text.as_bytes())
}

/// The range of finite values, padded by `pad` of its width on each side (a unit range around a
/// constant).
fn padded(values: impl Iterator<Item = f64>, pad: f64) -> Range<f64> {
    let (lo, hi) = values.filter(|v| v.is_finite()).fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        return 0.0..1.0;
    }
    if hi - lo < 1e-12 {
        return lo - 0.5..hi + 0.5;
    }
    let pad = pad * (hi - lo);
    lo - pad..hi + pad
}

fn lines<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, xlabel: &str, series: &[Series]) -> Drawn {
    root.fill(&WHITE).map_err(text_err)?;
    let all = || series.iter().flat_map(|s| s.points.iter()).filter(|p| p.1.is_finite());
    let (xs, ys) = (padded(all().map(|p| p.0), 0.0), padded(all().map(|p| p.1), 0.05));
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 18))
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(62)
        .build_cartesian_2d(xs, ys)
        .map_err(text_err)?;
    chart
        .configure_mesh()
        .x_desc(xlabel)
        .x_label_formatter(&tick)
        .y_label_formatter(&tick)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 14))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(text_err)?;
    for s in series {
        let color = rgb(s.color);
        // A non-finite value breaks the line rather than drawing to infinity.
        let segments = s.points.split(|p| !p.1.is_finite());
        let mut labelled = false;
        for seg in segments.filter(|seg| !seg.is_empty()) {
            let drawn = chart.draw_series(LineSeries::new(seg.iter().copied(), color.stroke_width(2))).map_err(text_err)?;
            if !labelled {
                drawn.label(s.name).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
                labelled = true;
            }
        }
    }
    chart.configure_series_labels().label_font((FONT, 13)).background_style(WHITE.mix(0.85)).border_style(BLACK.mix(0.3)).position(SeriesLabelPosition::UpperRight).draw().map_err(text_err)
}

/// Series on shared axes, with a title, axis labels, round ticks and a legend.
pub fn line_plot(title: &str, xlabel: &str, series: &[Series], path: &Path) -> Result<()> {
    save(path, (900, 420), |r| lines(r, title, xlabel, series), |r| lines(r, title, xlabel, series))
}

fn points<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, pts: &[[f32; 2]], centres: &[[f32; 2]], range: f32) -> Drawn {
    root.fill(&WHITE).map_err(text_err)?;
    let r = range as f64;
    let mut chart = ChartBuilder::on(root).caption(title, (FONT, 16)).margin(12).x_label_area_size(36).y_label_area_size(44).build_cartesian_2d(-r..r, -r..r).map_err(text_err)?;
    chart.configure_mesh().x_desc("x").y_desc("y").x_label_formatter(&tick).y_label_formatter(&tick).label_style((FONT, 12)).axis_desc_style((FONT, 13)).light_line_style(WHITE.mix(0.0)).draw().map_err(text_err)?;
    chart
        .draw_series(pts.iter().map(|p| Circle::new((p[0] as f64, p[1] as f64), 2, BLUE.mix(0.6).filled())))
        .map_err(text_err)?
        .label("generated")
        .legend(|(x, y)| Circle::new((x + 10, y), 3, BLUE.filled()));
    chart
        .draw_series(centres.iter().map(|p| Cross::new((p[0] as f64, p[1] as f64), 5, RED.stroke_width(2))))
        .map_err(text_err)?
        .label("mode centres")
        .legend(|(x, y)| Cross::new((x + 10, y), 4, RED.stroke_width(2)));
    chart.configure_series_labels().label_font((FONT, 12)).background_style(WHITE.mix(0.85)).border_style(BLACK.mix(0.3)).draw().map_err(text_err)
}

/// Scatter of 2-D points (blue) over reference centres (red crosses), on a fixed square range.
pub fn scatter(title: &str, pts: &[[f32; 2]], centres: &[[f32; 2]], range: f32, path: &Path) -> Result<()> {
    save(path, (520, 540), |r| points(r, title, pts, centres, range), |r| points(r, title, pts, centres, range))
}

fn bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, title: &str, labels: &[String], values: &[f64], reference: Option<f64>, ylabel: &str) -> Drawn {
    root.fill(&WHITE).map_err(text_err)?;
    let n = labels.len().max(1);
    let top = values.iter().copied().chain(reference).filter(|v| v.is_finite()).fold(0.0f64, f64::max).max(1e-12) * 1.3; // room for the legend above the bars
    let mut chart = ChartBuilder::on(root).caption(title, (FONT, 16)).margin(12).x_label_area_size(40).y_label_area_size(58).build_cartesian_2d(0f64..n as f64, 0f64..top).map_err(text_err)?;
    let label_of = |x: &f64| {
        let i = x.floor() as usize;
        if (x - i as f64 - 0.5).abs() < 1e-6 { labels.get(i).cloned().unwrap_or_default() } else { String::new() }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(2 * n + 1)
        .x_label_formatter(&label_of)
        .y_desc(ylabel)
        .y_label_formatter(&tick)
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 13))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(text_err)?;
    chart.draw_series(values.iter().enumerate().map(|(i, &v)| Rectangle::new([(i as f64 + 0.15, 0.0), (i as f64 + 0.85, v.max(0.0))], BLUE.filled()))).map_err(text_err)?;
    if let Some(rv) = reference {
        chart
            .draw_series(DashedLineSeries::new([(0.0, rv), (n as f64, rv)], 8, 5, RED.stroke_width(2).into()))
            .map_err(text_err)?
            .label(format!("uniform share {rv:.3}"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
        chart.configure_series_labels().label_font((FONT, 12)).background_style(WHITE.mix(0.85)).border_style(BLACK.mix(0.3)).draw().map_err(text_err)?;
    }
    Ok(())
}

/// Vertical bars (e.g. class shares) with their labels underneath and a dashed reference level
/// (e.g. the uniform share).
pub fn bar_chart(title: &str, labels: &[String], values: &[f64], reference: Option<f64>, path: &Path) -> Result<()> {
    let width = (120 + 44 * labels.len() as u32).clamp(460, 1600);
    save(path, (width, 340), |r| bars(r, title, labels, values, reference, "share"), |r| bars(r, title, labels, values, reference, "share"))
}
