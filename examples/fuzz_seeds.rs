//! Writes the fuzz targets' seed corpora (`fuzz/seeds/<target>/`): small valid files of every kind
//! gantry reads, made by gantry's own writers and the same crates the tests use, plus PyTorch's
//! `.pth` files from `../shared/golden/fid`. Run from the repository root:
//! `cargo run --release --example fuzz_seeds`. The seeds are committed; rerun only to change them.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use gantry::model::NamedTensor;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let put = |target: &str, name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)
    };

    // IDX: 28×28 images and a 2×3 pair, raw and gzip-compressed.
    for (n, h, w) in [(2, 28, 28), (2, 2, 3)] {
        let raw = idx_images(n, h, w);
        put("idx", &format!("{n}x{h}x{w}-idx3-ubyte"), &raw)?;
        put("idx", &format!("{n}x{h}x{w}-idx3-ubyte.gz"), &gz(&raw))?;
    }

    // CIFAR-10 binary: one and two records (label byte, 3,072 pixel bytes).
    for records in [1u8, 2] {
        let bytes: Vec<u8> = (0..records).flat_map(|r| std::iter::once(r).chain((0..3072).map(move |i| (i * (r as usize + 3) % 256) as u8))).collect();
        put("cifar", &format!("{records}-records.bin"), &bytes)?;
    }

    // Image folder: the first byte picks the extension (even PNG, odd JPEG), see fuzz/src/readers.rs.
    let rgb = image::RgbImage::from_fn(12, 10, |x, y| image::Rgb([(x * 20) as u8, (y * 24) as u8, 128]));
    let gray = image::GrayImage::from_fn(5, 7, |x, y| image::Luma([(x * 40 + y * 9) as u8]));
    let rgba = image::RgbaImage::from_fn(6, 6, |x, y| image::Rgba([(x * 40) as u8, (y * 40) as u8, 7, (x * y * 7) as u8]));
    let images: [(&str, image::DynamicImage); 3] = [("rgb", rgb.into()), ("gray", gray.into()), ("rgba", rgba.into())];
    for (what, img) in &images {
        put("image_folder", &format!("{what}.png"), &[&[0u8][..], &encode(img, image::ImageFormat::Png)?].concat())?;
        if *what != "rgba" {
            put("image_folder", &format!("{what}.jpg"), &[&[1u8][..], &encode(img, image::ImageFormat::Jpeg)?].concat())?;
        }
    }

    // Points files: commas, spaces, comments and blank lines.
    let commas: String = std::iter::once("# x,y\n".to_string()).chain((0..40).map(|i| format!("{},{}\n", (i as f32 * 0.37).sin(), (i as f32 * 0.11).cos()))).collect();
    put("points", "commas.csv", commas.as_bytes())?;
    put("points", "spaces.txt", b"0.5 -1.25\n\n# a comment\n1e-3 2E2\n-0 +3.5\n")?;

    // Configs: every preset.
    for (name, toml) in gantry::presets::PRESETS {
        put("config", &format!("{name}.toml"), toml.as_bytes())?;
    }

    // Safetensors: float32, float64 and int64 tensors with metadata; a z file (also the `z` target's seed).
    let z = NamedTensor { name: "z".into(), shape: vec![4, 3], data: (0..12).map(|i| i as f32 / 10.0).collect() };
    let dir = tempfile_dir()?;
    let z_path = dir.join("z.safetensors");
    gantry::tensor_file::write(&z_path, std::slice::from_ref(&z), BTreeMap::from([("made_by".into(), "gantry sample --save-z".into())]))?;
    put("safetensors", "z.safetensors", &std::fs::read(&z_path)?)?;
    put("z", "z.safetensors", &std::fs::read(&z_path)?)?;
    put("safetensors", "mixed.safetensors", &mixed_dtypes()?)?;

    // A checkpoint: a real one's metadata over its small tensors, with their checksum and without one
    // (a checkpoint without `sha256` is read unverified), so the fuzzer reaches past the checksum.
    put("checkpoint", "signed.safetensors", &small_checkpoint(&dir, true)?)?;
    put("checkpoint", "unsigned.safetensors", &small_checkpoint(&dir, false)?)?;

    // .npz statistics as gantry writes them.
    let g = gantry::eval::stats::Gaussian { mu: vec![0.5, -1.0], sigma: vec![1.0, 0.1, 0.1, 2.0] };
    let npz = dir.join("stats.npz");
    gantry::eval::npz::save_stats(&npz, &g)?;
    put("npz", "stats.npz", &std::fs::read(&npz)?)?;

    // PyTorch state dicts saved by PyTorch (zip and legacy formats), and a small hand-made legacy pickle.
    let golden = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/golden/fid");
    for f in ["small_zip.pth", "small_legacy.pth"] {
        put("pth", f, &std::fs::read(golden.join(f)).map_err(|e| format!("{}: {e}", golden.join(f).display()))?)?;
    }
    std::fs::remove_dir_all(&dir)?;
    println!("seeds written under {}", root.display());
    Ok(())
}

fn tempfile_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("gantry-fuzz-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn idx_images(n: usize, h: usize, w: usize) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for d in [n, h, w] {
        b.extend((d as u32).to_be_bytes());
    }
    b.extend((0..n * h * w).map(|i| (i * 7 % 256) as u8));
    b
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn encode(img: &image::DynamicImage, format: image::ImageFormat) -> image::ImageResult<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format)?;
    Ok(out.into_inner())
}

/// A safetensors file of the three dtypes gantry reads (F32, F64, I64), by the safetensors crate itself.
fn mixed_dtypes() -> Result<Vec<u8>, safetensors::SafeTensorError> {
    use safetensors::{Dtype, tensor::TensorView};
    let f32s: Vec<u8> = [1.5f32, -2.0, 0.25].iter().flat_map(|v| v.to_le_bytes()).collect();
    let f64s: Vec<u8> = [3.0f64, 4.5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let i64s: Vec<u8> = [7i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let views = vec![
        ("a".to_string(), TensorView::new(Dtype::F32, vec![3], &f32s)?),
        ("b".to_string(), TensorView::new(Dtype::F64, vec![1, 2], &f64s)?),
        ("n".to_string(), TensorView::new(Dtype::I64, vec![2], &i64s)?),
    ];
    safetensors::serialize(views, &Some(std::collections::HashMap::from([("k".to_string(), "v".to_string())])))
}

/// The hostile-input test's seed checkpoint: a trained step of the toy model, tensors of ≤512 values.
fn small_checkpoint(dir: &Path, signed: bool) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut c = gantry::presets::preset("default")?;
    (c.model, c.dataset, c.z_dim, c.generated_size, c.batch_size, c.max_steps) = ("mlp-toy".into(), "ring8".into(), 2, Some(64), 32, Some(1));
    c.hidden = Some(vec![8]);
    let mut t = gantry::train::Trainer::new(c, true)?;
    t.step()?;
    let full = dir.join("full.safetensors");
    t.save_checkpoint(&full)?;
    let file = gantry::tensor_file::read(&full)?;
    let mut small: Vec<_> = file.tensors.into_values().filter(|t| t.data.len() <= 512).collect();
    small.sort_by(|a, b| a.name.cmp(&b.name));
    let mut meta: BTreeMap<String, String> = file.metadata.into_iter().collect();
    meta.remove("sha256");
    if signed {
        meta.insert("sha256".into(), gantry::run::checkpoint::checksum(small.iter(), &meta));
    }
    let seed = dir.join("seed.safetensors");
    gantry::tensor_file::write(&seed, &small, meta)?;
    gantry::run::checkpoint::load(&seed)?;
    Ok(std::fs::read(seed)?)
}
