//! Sample grids: images in [-1, 1] quantised to 8 bits exactly as a PNG stores them.

use std::path::Path;

use burn::tensor::Tensor;
use image::{Rgb, RgbImage};

use super::canvas::Canvas;
use crate::error::Result;

/// [-1, 1] → bytes (round half away from zero, clamped), as saving a PNG would.
pub fn to_bytes(x: &[f32]) -> Vec<u8> {
    x.iter().map(|v| ((v + 1.0) * 127.5).round().clamp(0.0, 255.0) as u8).collect()
}

/// A `[N, C, H, W]` batch as a grid with `nrow` images per row and 2-pixel gaps.
pub fn grid_image(batch: &Tensor<4>, nrow: usize) -> RgbImage {
    let [n, c, h, w] = batch.dims();
    let data = to_bytes(&crate::device::read_back(batch));
    let pad = 2;
    let cols = nrow.min(n).max(1);
    let rows = n.div_ceil(cols);
    let mut img = RgbImage::from_pixel((cols * (w + pad) + pad) as u32, (rows * (h + pad) + pad) as u32, Rgb([40, 40, 40]));
    for k in 0..n {
        let (gx, gy) = (pad + (k % cols) * (w + pad), pad + (k / cols) * (h + pad));
        for y in 0..h {
            for x in 0..w {
                let at = |ch: usize| data[((k * c + ch) * h + y) * w + x];
                let px = if c >= 3 { Rgb([at(0), at(1), at(2)]) } else { Rgb([at(0); 3]) };
                img.put_pixel((gx + x) as u32, (gy + y) as u32, px);
            }
        }
    }
    img
}

/// Save a grid, with optional row captions (e.g. class names) in a margin on the left.
pub fn save_grid(batch: &Tensor<4>, nrow: usize, captions: &[String], path: &Path) -> Result<()> {
    let img = grid_image(batch, nrow);
    let margin = captions.iter().map(|c| c.len()).max().unwrap_or(0) as u32 * 8 + if captions.is_empty() { 0 } else { 6 };
    let mut canvas = Canvas::new(img.width() + margin, img.height());
    image::imageops::overlay(&mut canvas.img, &img, margin as i64, 0);
    let row_h = (img.height() as usize - 2) / captions.len().max(1);
    for (i, cap) in captions.iter().enumerate() {
        canvas.text(2, (2 + i * row_h + row_h / 2) as i64 - 4, cap, super::canvas::BLACK);
    }
    canvas.save(path)
}
