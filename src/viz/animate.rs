//! `gantry animate`: a run's fixed-noise grids as one looping animated GIF, each frame captioned
//! with its step or epoch, the last frame held longer.

use std::path::{Path, PathBuf};

use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, Frame, Rgb, RgbImage, Rgba, RgbaImage};

use super::canvas::{BLACK, Canvas};
use crate::error::{Error, Result};

/// Height of the caption band above each frame.
const BAND: u32 = 14;

/// Writes `images` (files, each with its caption, in order) to `out` as one GIF; returns the
/// number of frames.
pub fn animate(images: &[(PathBuf, String)], out: &Path, frame_ms: u32) -> Result<usize> {
    let mut frames = Vec::with_capacity(images.len());
    let mut size = None;
    for (i, (path, label)) in images.iter().enumerate() {
        let img = crate::data::folder::open_image(&path)?.to_rgb8();
        let dims = img.dimensions();
        if *size.get_or_insert(dims) != dims {
            return Err(Error::bad_file(&path, format!("is {}x{}, the run's other grids are {}x{}", dims.0, dims.1, size.unwrap().0, size.unwrap().1)));
        }
        let hold = if i + 1 == images.len() { 3 } else { 1 };
        frames.push(Frame::from_parts(captioned(&img, label), 0, 0, Delay::from_numer_denom_ms(frame_ms * hold, 1)));
    }
    let mut bytes = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut bytes, 10);
        let fail = |e: image::ImageError| Error::Other(format!("encoding {}: {e}", out.display()));
        enc.set_repeat(Repeat::Infinite).map_err(fail)?;
        enc.encode_frames(frames).map_err(fail)?;
    }
    crate::tensor_file::write_atomic(out, &bytes)?;
    Ok(images.len())
}

/// The grid under a white band with `label`.
fn captioned(img: &RgbImage, label: &str) -> RgbaImage {
    let (w, h) = img.dimensions();
    let mut c = Canvas::new(w, h + BAND);
    c.text(3, 3, label, BLACK);
    image::imageops::replace(&mut c.img, img, 0, BAND as i64);
    RgbaImage::from_fn(w, h + BAND, |x, y| {
        let Rgb([r, g, b]) = *c.img.get_pixel(x, y);
        Rgba([r, g, b, 255])
    })
}
