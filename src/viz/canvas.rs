//! A minimal RGB canvas with lines, points and 8x8 bitmap text (no font files needed).

use font8x8::UnicodeFonts;
use image::{Rgb, RgbImage};

pub struct Canvas {
    pub img: RgbImage,
}

pub const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
pub const BLACK: Rgb<u8> = Rgb([0, 0, 0]);
pub const GREY: Rgb<u8> = Rgb([200, 200, 200]);
pub const BLUE: Rgb<u8> = Rgb([31, 119, 180]);
pub const ORANGE: Rgb<u8> = Rgb([255, 127, 14]);
pub const RED: Rgb<u8> = Rgb([214, 39, 40]);
pub const GREEN: Rgb<u8> = Rgb([44, 160, 44]);

impl Canvas {
    pub fn new(w: u32, h: u32) -> Self {
        Self { img: RgbImage::from_pixel(w, h, WHITE) }
    }

    pub fn put(&mut self, x: i64, y: i64, c: Rgb<u8>) {
        if x >= 0 && y >= 0 && (x as u32) < self.img.width() && (y as u32) < self.img.height() {
            self.img.put_pixel(x as u32, y as u32, c);
        }
    }

    pub fn line(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: Rgb<u8>) {
        let n = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for i in 0..=n {
            let t = i as f64 / n as f64;
            self.put((x0 + t * (x1 - x0)).round() as i64, (y0 + t * (y1 - y0)).round() as i64, c);
        }
    }

    pub fn dot(&mut self, x: f64, y: f64, r: i64, c: Rgb<u8>) {
        for dy in -r..=r {
            for dx in -r..=r {
                if dx * dx + dy * dy <= r * r {
                    self.put(x.round() as i64 + dx, y.round() as i64 + dy, c);
                }
            }
        }
    }

    /// Text with its top-left corner at (x, y).
    pub fn text(&mut self, x: i64, y: i64, s: &str, c: Rgb<u8>) {
        for (i, ch) in s.chars().enumerate() {
            if let Some(glyph) = font8x8::BASIC_FONTS.get(ch) {
                for (row, bits) in glyph.iter().enumerate() {
                    for col in 0..8 {
                        if bits & (1 << col) != 0 {
                            self.put(x + 8 * i as i64 + col, y + row as i64, c);
                        }
                    }
                }
            }
        }
    }

    pub fn save(&self, path: &std::path::Path) -> crate::Result<()> {
        let mut bytes = Vec::new();
        self.img
            .write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
            .map_err(|e| crate::Error::Other(format!("encoding {}: {e}", path.display())))?;
        crate::tensor_file::write_atomic(path, &bytes)
    }
}
