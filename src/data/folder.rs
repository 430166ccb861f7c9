//! Folders of PNG/JPEG images (CelebA's `img_align_celeba`, or any folder), read recursively,
//! center-cropped to a square and resized to the model's size. Unlabelled.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;

use super::dataset::{Dataset, DatasetKind, ModeCount, NamePattern, SampleKind, Samples};
use super::options::DataOptions;
use crate::error::{Error, Result};

pub static CELEBA: DatasetKind = DatasetKind {
    name: "celeba",
    description: "CelebA aligned faces (img_align_celeba folder), center-cropped and resized",
    pattern: NamePattern::Exact,
    load: load_celeba,
    downloads: None,
    shape: None,
    stored_transposed: false,
    class_names: |_| vec![],
    samples: SampleKind::Images,
    mode_count: ModeCount::Unavailable,
};

pub static FOLDER: DatasetKind = DatasetKind {
    name: "folder:PATH",
    description: "any folder of PNG/JPEG images, searched recursively",
    pattern: NamePattern::Prefix { prefix: "folder:", check: |_| Ok(()) },
    load: load_folder,
    ..CELEBA
};

/// CelebA from `--data-dir DIR`: DIR/img_align_celeba, or DIR itself.
fn load_celeba(kind: &'static DatasetKind, name: &str, opts: &DataOptions) -> Result<Dataset> {
    let base = opts.data_dir.clone().ok_or_else(|| Error::MissingDataset {
        name: name.into(),
        message: "CelebA is not downloaded automatically (its licence forbids redistribution); pass --data-dir DIR with DIR/img_align_celeba or a folder of its images".into(),
    })?;
    let sub = base.join("img_align_celeba");
    load_images(kind, name, if sub.is_dir() { &sub } else { &base }, opts)
}

/// `folder:PATH`: the images under PATH.
fn load_folder(kind: &'static DatasetKind, name: &str, opts: &DataOptions) -> Result<Dataset> {
    load_images(kind, name, Path::new(kind.parameter(name).expect("a folder: name")), opts)
}

/// Every image under `dir` at `--image-size` (default 64) with `--channels` (default 3).
fn load_images(kind: &'static DatasetKind, name: &str, dir: &Path, opts: &DataOptions) -> Result<Dataset> {
    if !dir.is_dir() {
        return Err(Error::MissingDataset { name: name.into(), message: format!("{} is not a directory of images", dir.display()) });
    }
    let size = opts.image_size.unwrap_or(64);
    let channels = opts.channels.unwrap_or(3);
    let pixels = read(dir, size, channels)?;
    Ok(Dataset::new(kind, name, [channels, size, size], Samples::Bytes(pixels), None))
}

/// A `.png`, `.jpg` or `.jpeg` file name (any case).
pub fn is_image(p: &Path) -> bool {
    matches!(p.extension().and_then(|x| x.to_str()).map(|x| x.to_ascii_lowercase()).as_deref(), Some("png" | "jpg" | "jpeg"))
}

pub fn list_images(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for e in entries {
            let p = e.map_err(|e| Error::io(&d, e))?.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_image(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Decodes an image file (format by extension), refusing one that claims more pixels than [`max_pixels`]
/// allows for its size: a few hundred bytes can claim a picture of gigabytes, and decoders allocate it
/// from the header before they find the data missing.
pub fn open_image(path: &Path) -> Result<image::DynamicImage> {
    use image::ImageDecoder;
    let len = std::fs::metadata(path).map_err(|e| Error::io(path, e))?.len();
    let mut reader = image::ImageReader::open(path).map_err(|e| Error::io(path, e))?;
    // Also bounds what a decoder allocates before the pixels (a PNG's compressed colour profile, say).
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(8 * max_pixels(len));
    reader.limits(limits);
    // The decoders are other crates' code: a corrupt file that trips one of their assertions (zune-jpeg
    // 0.5.15 multiplies a corrupt DC coefficient with overflow checks on) is this file's error, not a crash.
    std::panic::catch_unwind(move || {
        let cannot = |e: image::ImageError| Error::bad_file(path, format!("cannot decode image ({e})"));
        let decoder = reader.into_decoder().map_err(cannot)?;
        let (w, h) = decoder.dimensions();
        if u64::from(w) * u64::from(h) > max_pixels(len) {
            let most = max_pixels(len);
            return Err(Error::bad_file(path, format!("a {len}-byte file claims a {w}×{h} image; gantry decodes at most {most} pixels from a file this size (save it smaller or less compressed)")));
        }
        image::DynamicImage::from_decoder(decoder).map_err(cannot)
    })
    .unwrap_or_else(|panic| Err(Error::bad_file(path, format!("cannot decode image (its decoder failed: {})", crate::error::panic_message(&*panic)))))
}

/// The most pixels gantry decodes from a `len`-byte image file: 4 Mi and 4 per byte (a 12-megapixel photo
/// passes from 2 MB of JPEG). Decoding may hold 8 bytes a pixel (RGBA, 16 bits), so what a reader holds stays near
/// the allowance `tests/hostile_input.rs` and the fuzz targets check (64 bytes a byte and 64 MiB).
pub fn max_pixels(len: u64) -> u64 {
    (4 << 20) + 4 * len
}

/// Load every image as `channels` (1 = grayscale, 3 = RGB) × size × size, CHW bytes.
pub fn read(dir: &Path, size: usize, channels: usize) -> Result<Vec<u8>> {
    let files = list_images(dir)?;
    if files.is_empty() {
        return Err(Error::bad_file(dir, "no .png/.jpg/.jpeg images found (searched recursively)"));
    }
    let mut out = Vec::with_capacity(files.len() * channels * size * size);
    for f in files {
        let img = open_image(&f)?;
        let (w, h) = (img.width(), img.height());
        let side = w.min(h);
        let img = img.crop_imm((w - side) / 2, (h - side) / 2, side, side).resize_exact(size as u32, size as u32, FilterType::Triangle);
        match channels {
            1 => out.extend(img.to_luma8().into_raw()),
            _ => {
                let rgb = img.to_rgb8();
                for c in 0..3 {
                    out.extend(rgb.pixels().map(|p| p.0[c]));
                }
            }
        }
    }
    Ok(out)
}
