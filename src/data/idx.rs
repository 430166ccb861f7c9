//! IDX files (MNIST, Fashion-MNIST, EMNIST), raw or gzip-compressed.

use std::io::Read;
use std::path::Path;

use super::dataset::{Dataset, DatasetKind, Samples};
use crate::error::{Error, Result};

/// Read a whole file, gunzipping when it starts with the gzip magic. The gunzipped bytes are bounded by
/// [`inflated_limit`]: a small gzip can expand a thousandfold.
pub fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut budget = inflated_limit(raw.len() as u64);
        read_inflated(flate2::read::GzDecoder::new(&raw[..]), &mut budget).map_err(|m| Error::bad_file(path, format!("gzip data: {m}")))
    } else {
        Ok(raw)
    }
}

/// Reads a decompressing reader to its end, taking what it yields from `budget` (one budget per file, shared
/// by its members): an error once the budget is spent.
pub fn read_inflated(reader: impl Read, budget: &mut u64) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    reader.take(*budget + 1).read_to_end(&mut out).map_err(|e| format!("corrupt or truncated ({e})"))?;
    *budget = budget.checked_sub(out.len() as u64).ok_or_else(|| "expands past what gantry reads from a file this size (16 bytes a byte and 16 MiB)".to_string())?;
    Ok(out)
}

/// The most gantry inflates from a file of `compressed` bytes (gzip; zip members, all together): 16 bytes per byte and 16 MiB,
/// far above real datasets (MNIST's gzip expands 5×), far below deflate's 1032× of a hostile file.
pub fn inflated_limit(compressed: u64) -> u64 {
    16 * compressed + (16 << 20)
}

/// An IDX array of unsigned bytes: its dimensions and data.
pub struct IdxArray {
    pub dims: Vec<usize>,
    pub data: Vec<u8>,
}

/// Parse an IDX file of u8 values with the expected number of dimensions (1 = labels, 3 = images).
pub fn read_idx(path: &Path, expected_rank: usize) -> Result<IdxArray> {
    let bytes = read_maybe_gz(path)?;
    parse_idx(&bytes, expected_rank).map_err(|m| Error::bad_file(path, m))
}

pub fn parse_idx(bytes: &[u8], expected_rank: usize) -> std::result::Result<IdxArray, String> {
    if bytes.len() < 4 {
        return Err(format!("file is {} bytes, too short for an IDX header", bytes.len()));
    }
    let magic = u32::from_be_bytes(bytes[0..4].try_into().unwrap());
    let expected_magic = 0x0800 + expected_rank as u32;
    if magic != expected_magic {
        return Err(format!("wrong magic number 0x{magic:08x}, expected 0x{expected_magic:08x} (IDX, unsigned bytes, {expected_rank} dimensions)"));
    }
    let header = 4 + 4 * expected_rank;
    if bytes.len() < header {
        return Err(format!("truncated header: {} bytes, expected at least {header}", bytes.len()));
    }
    let dims: Vec<usize> =
        (0..expected_rank).map(|i| u32::from_be_bytes(bytes[4 + 4 * i..8 + 4 * i].try_into().unwrap()) as usize).collect();
    let have = bytes.len() - header;
    // Checked: three u32 dimensions can multiply past usize and wrap to the data's length.
    let Some(n) = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) else {
        return Err(format!("dimensions {dims:?} need more data bytes than a file can hold, the file has {have}"));
    };
    if have != n {
        return Err(format!("dimensions {dims:?} need {n} data bytes, the file has {have} ({})", if have < n { "truncated" } else { "trailing data" }));
    }
    Ok(IdxArray { dims, data: bytes[header..].to_vec() })
}

/// Images and labels of one split, checked against each other.
pub fn read_split(images: &Path, labels: &Path, transpose: bool) -> Result<(Vec<u8>, Vec<u8>, usize, usize)> {
    let img = read_idx(images, 3)?;
    let lab = read_idx(labels, 1)?;
    let (n, h, w) = (img.dims[0], img.dims[1], img.dims[2]);
    if lab.dims[0] != n {
        return Err(Error::bad_file(labels, format!("{} labels, but {} has {n} images", lab.dims[0], images.display())));
    }
    let mut data = img.data;
    if transpose {
        // EMNIST stores each image transposed (column-major); present it upright.
        let mut out = vec![0u8; data.len()];
        for k in 0..n {
            let (src, dst) = (&data[k * h * w..(k + 1) * h * w], &mut out[k * h * w..(k + 1) * h * w]);
            for r in 0..h {
                for c in 0..w {
                    dst[r * w + c] = src[c * h + r];
                }
            }
        }
        data = out;
    }
    Ok((data, lab.data, h, w))
}

/// The labelled images of `kind` in the IDX files `images` and `labels` of `dir`, each gzipped or
/// (the name without `.gz`) raw.
pub fn load_dataset(kind: &'static DatasetKind, name: &str, dir: &Path, images: &str, labels: &str) -> Result<Dataset> {
    let find = |f: &str| {
        let p = dir.join(f);
        if p.exists() { p } else { dir.join(f.trim_end_matches(".gz")) }
    };
    let (pixels, labels, h, w) = read_split(&find(images), &find(labels), kind.stored_transposed)?;
    Ok(Dataset::new(kind, name, [1, h, w], Samples::Bytes(pixels), Some(labels)))
}
