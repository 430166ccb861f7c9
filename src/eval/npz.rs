//! NumPy `.npz` statistics files as pytorch-fid writes and reads them (`mu`, `sigma`, float64).

use std::io::Write;
use std::path::Path;

use super::stats::Gaussian;
use crate::error::{Error, Result};

fn npy(shape: &[usize], data: &[f64]) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {dims}, }}");
    // Magic (6) + version (2) + length (2) + header, padded with spaces to a multiple of 64, ending in \n.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data.iter().flat_map(|v| v.to_le_bytes()));
    out
}

/// Parse a `.npy` array of float32 or float64 (little-endian, C order) into (shape, values).
fn parse_npy(bytes: &[u8]) -> std::result::Result<(Vec<usize>, Vec<f64>), String> {
    if !bytes.starts_with(b"\x93NUMPY") || bytes.len() < 10 {
        return Err("not a .npy array (wrong magic)".into());
    }
    let (len, start) = match (bytes[6], bytes.get(8..12)) {
        (1, _) => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        (2 | 3, Some(len)) => (u32::from_le_bytes(len.try_into().unwrap()) as usize, 12),
        (2 | 3, None) => return Err("truncated .npy header".into()),
        (v, _) => return Err(format!(".npy version {v} is not supported")),
    };
    let header = std::str::from_utf8(bytes.get(start..start + len).ok_or("truncated .npy header")?).map_err(|_| "bad .npy header")?;
    if header.contains("'fortran_order': True") {
        return Err("Fortran-ordered arrays are not supported".into());
    }
    let size = if header.contains("'<f8'") {
        8
    } else if header.contains("'<f4'") {
        4
    } else {
        return Err(format!("expected float32 or float64 data, header says {}", header.trim()));
    };
    let shape_text = header.split("'shape':").nth(1).and_then(|s| s.split(')').next()).ok_or("no shape in .npy header")?;
    let shape: Vec<usize> = shape_text
        .trim_start_matches([' ', '('])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| format!("bad shape entry `{s}`")))
        .collect::<std::result::Result<_, _>>()?;
    // Checked: a header's shape can multiply past usize and wrap to the data's length.
    let data_len = shape.iter().try_fold(size as usize, |n: usize, &d| n.checked_mul(d)).ok_or_else(|| format!("shape {shape:?} is larger than any file"))?;
    let data = bytes.get(start + len..).and_then(|rest| rest.get(..data_len)).ok_or("truncated .npy data")?;
    let values = if size == 8 {
        data.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect()
    } else {
        data.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64).collect()
    };
    Ok((shape, values))
}

/// Write `mu` and `sigma` as an uncompressed `.npz` (what `np.savez` writes), atomically.
pub fn save_stats(path: &Path, g: &Gaussian) -> Result<()> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        let d = g.dim();
        for (name, shape, data) in [("mu.npy", vec![d], &g.mu), ("sigma.npy", vec![d, d], &g.sigma)] {
            zip.start_file(name, opts).map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
            zip.write_all(&npy(&shape, data)).map_err(|e| Error::io(path, e))?;
        }
        zip.finish().map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
    }
    crate::tensor_file::write_atomic(path, &buf.into_inner())
}

/// Read `mu` and `sigma` from an `.npz` written by pytorch-fid (`--save-stats`) or by gantry.
pub fn load_stats(path: &Path) -> Result<Gaussian> {
    let bad = |m: String| Error::bad_file(path, m);
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut budget = crate::data::idx::inflated_limit(bytes.len() as u64);
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(format!("not an .npz file ({e})")))?;
    let mut array = |name: &str| -> Result<(Vec<usize>, Vec<f64>)> {
        let f = zip.by_name(&format!("{name}.npy")).map_err(|_| bad(format!("array `{name}` missing (expected `mu` and `sigma`)")))?;
        let buf = crate::data::idx::read_inflated(f, &mut budget).map_err(|m| bad(format!("array `{name}`: {m}")))?;
        parse_npy(&buf).map_err(|m| bad(format!("array `{name}`: {m}")))
    };
    let (mu_shape, mu) = array("mu")?;
    let (sigma_shape, sigma) = array("sigma")?;
    let d = mu.len();
    if mu_shape != [d] || sigma_shape != [d, d] {
        return Err(bad(format!("`mu` has shape {mu_shape:?} and `sigma` {sigma_shape:?}; expected (d,) and (d, d)")));
    }
    Ok(Gaussian { mu, sigma })
}
