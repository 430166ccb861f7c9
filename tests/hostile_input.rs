//! Every reader of files a user hands gantry survives hostile input: thousands of mutated versions
//! of a valid file (bit flips, truncations, inflated length and shape fields, inserted and
//! deleted bytes) each end in an error or a valid result — never a panic, a hang, or an
//! allocation far beyond the file's size — plus crafted deep and self-referencing pickles; and the
//! fuzz targets' corpora and regression files (`fuzz/`), replayed without the fuzzer.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gantry::rng::Rng;

mod common;

/// The fuzz targets' readers, allocation counter and allowance (`fuzz/src/readers.rs`), shared so
/// that the corpora and regression files replay here through the fuzz targets' own checks.
#[path = "../fuzz/src/readers.rs"]
#[allow(dead_code)]
mod fuzz_readers;
use fuzz_readers::{allowance, peak_since, reset_peak};

#[global_allocator]
static ALLOCATOR: fuzz_readers::Counting = fuzz_readers::Counting;

/// One mutation of `seed`, drawn by `rng`.
fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut b = seed.to_vec();
    let at = |rng: &mut Rng, len: usize| if len == 0 { 0 } else { rng.below(len) };
    match rng.below(6) {
        0 => {
            for _ in 0..1 + rng.below(4) {
                let i = at(rng, b.len());
                if let Some(x) = b.get_mut(i) {
                    *x ^= 1 << rng.below(8);
                }
            }
        }
        1 => b.truncate(at(rng, b.len())),
        2 => {
            // An inflated length or shape field: a large 4- or 8-byte number, either byte order.
            let values: [u64; 5] = [u32::MAX as u64, i32::MAX as u64, 1 << 31, u64::MAX, 1 << 40];
            let v = values[rng.below(values.len())];
            let width = if rng.below(2) == 0 { 4 } else { 8 };
            let bytes = if rng.below(2) == 0 { v.to_le_bytes() } else { v.to_be_bytes() };
            let i = at(rng, b.len().saturating_sub(width));
            for (k, x) in bytes.iter().skip(8 - width).enumerate() {
                if let Some(y) = b.get_mut(i + k) {
                    *y = *x;
                }
            }
        }
        3 => {
            let i = at(rng, b.len());
            let n = 1 + rng.below(16);
            b.splice(i..i, (0..n).map(|_| rng.below(256) as u8));
        }
        4 => {
            let i = at(rng, b.len());
            let n = (1 + rng.below(16)).min(b.len() - i);
            b.drain(i..i + n);
        }
        _ => {
            // A byte set to an extreme value (0, 0xff) or a small number.
            let i = at(rng, b.len());
            if let Some(x) = b.get_mut(i) {
                *x = [0u8, 0xff, 0x7f, 1, 2][rng.below(5)];
            }
        }
    }
    b
}

/// Runs `read` on `cases` mutations of `seed` (written to `path` first); each must return (Ok or
/// Err) without panicking, within `limit`, allocating within [`allowance`]. Returns how many of
/// them read as valid.
fn survive(what: &str, seed: &[u8], path: &Path, cases: usize, limit: Duration, read: impl Fn(&Path) -> bool) -> usize {
    let mut rng = Rng::new(seed.len() as u64);
    let mut valid = 0;
    for case in 0..cases {
        let bytes = mutate(seed, &mut rng);
        std::fs::write(path, &bytes).unwrap();
        let since = reset_peak();
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(path)));
        let (took, peak) = (started.elapsed(), peak_since(since));
        let keep = || std::fs::write(path.with_extension("failing"), &bytes).unwrap();
        if outcome.is_err() {
            keep();
            panic!("{what}: case {case} panicked (input kept at {})", path.with_extension("failing").display());
        }
        if took > limit {
            keep();
            panic!("{what}: case {case} took {took:?}");
        }
        if peak > allowance(bytes.len()) {
            keep();
            panic!("{what}: case {case} allocated {peak} bytes for a file of {}", bytes.len());
        }
        valid += usize::from(outcome.unwrap());
    }
    eprintln!("{what}: {cases} mutated files, {valid} still valid, none panicked, hung or over-allocated");
    valid
}

const CASES: usize = 2000;
const LIMIT: Duration = Duration::from_secs(5);

fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A valid IDX image file of `n` 28x28 images.
fn idx_images(n: usize) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for d in [n as u32, 28, 28] {
        b.extend(d.to_be_bytes());
    }
    b.extend((0..n * 784).map(|i| (i * 7 % 256) as u8));
    b
}

#[test]
fn idx_and_gzip_readers_survive_mutations() {
    let dir = tempfile::tempdir().unwrap();
    let raw = idx_images(4);
    let read = |p: &Path| gantry::data::idx::read_idx(p, 3).is_ok();
    survive("IDX", &raw, &dir.path().join("x-idx3-ubyte"), CASES, LIMIT, read);
    survive("IDX, gzip", &gz(&raw), &dir.path().join("x-idx3-ubyte.gz"), CASES, LIMIT, read);
}

#[test]
fn cifar10_reader_survives_mutations() {
    let dir = tempfile::tempdir().unwrap();
    let seed: Vec<u8> = (0..3).flat_map(|r| std::iter::once(r as u8).chain((0..3072).map(move |i| (i * r % 256) as u8))).collect();
    survive("CIFAR-10 binary", &seed, &dir.path().join("test_batch.bin"), CASES, LIMIT, |p| gantry::data::cifar::read(p.parent().unwrap(), false).is_ok());
}

#[test]
fn image_folder_reader_survives_mutations() {
    for (ext, format) in [("png", image::ImageFormat::Png), ("jpg", image::ImageFormat::Jpeg)] {
        let dir = tempfile::tempdir().unwrap();
        let img = image::RgbImage::from_fn(24, 20, |x, y| image::Rgb([(x * 10) as u8, (y * 12) as u8, 128]));
        let mut seed = std::io::Cursor::new(Vec::new());
        img.write_to(&mut seed, format).unwrap();
        let path = dir.path().join(format!("face.{ext}"));
        survive(&format!("image folder ({ext})"), seed.get_ref(), &path, CASES / 2, LIMIT, |p| gantry::data::folder::read(p.parent().unwrap(), 16, 3).is_ok());
    }
}

#[test]
fn points_file_reader_survives_mutations() {
    let dir = tempfile::tempdir().unwrap();
    let seed: String = std::iter::once("# x,y\n".to_string()).chain((0..200).map(|i| format!("{},{}\n", (i as f32 * 0.37).sin(), (i as f32 * 0.11).cos()))).collect();
    survive("points file", seed.as_bytes(), &dir.path().join("p.csv"), CASES, LIMIT, |p| gantry::data::plane::read_points(p).is_ok());
}

#[test]
fn config_reader_survives_mutations() {
    let dir = tempfile::tempdir().unwrap();
    let seed = gantry::presets::PRESETS.iter().find(|p| p.0 == "wgan-gp-mnist").unwrap().1;
    survive("TOML config", seed.as_bytes(), &dir.path().join("c.toml"), CASES, LIMIT, |p| {
        let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
        gantry::config::TrainConfig::from_toml(&text, "mutated").is_ok()
    });
}

#[test]
fn checkpoint_npz_and_z_readers_survive_mutations() {
    let dir = tempfile::tempdir().unwrap();
    // A small checkpoint: a real one's metadata over a few small tensors, with their checksum.
    let mut c = gantry::presets::preset("default").unwrap();
    (c.model, c.dataset, c.z_dim, c.generated_size, c.batch_size, c.max_steps) = ("mlp-toy".into(), "ring8".into(), 2, Some(64), 32, Some(1));
    let mut t = gantry::train::Trainer::new(c, true).unwrap();
    t.step().unwrap();
    let full = dir.path().join("full.safetensors");
    t.save_checkpoint(&full).unwrap();
    let file = gantry::tensor_file::read(&full).unwrap();
    let mut small: Vec<_> = file.tensors.into_values().filter(|t| t.data.len() <= 512).collect();
    small.sort_by(|a, b| a.name.cmp(&b.name));
    let mut meta: std::collections::BTreeMap<String, String> = file.metadata.into_iter().collect();
    let sum = gantry::run::checkpoint::checksum(small.iter(), &meta);
    meta.insert("sha256".into(), sum);
    let seed_path = dir.path().join("seed.safetensors");
    gantry::tensor_file::write(&seed_path, &small, meta).unwrap();
    assert!(gantry::run::checkpoint::load(&seed_path).is_ok(), "the seed checkpoint reads");
    let seed = std::fs::read(&seed_path).unwrap();
    survive("safetensors checkpoint", &seed, &dir.path().join("m.safetensors"), CASES, LIMIT, |p| gantry::run::checkpoint::load(p).is_ok());

    let g = gantry::eval::stats::Gaussian { mu: vec![0.5, -1.0, 2.0], sigma: vec![1.0, 0.1, 0.0, 0.1, 2.0, 0.3, 0.0, 0.3, 1.5] };
    let npz = dir.path().join("seed.npz");
    gantry::eval::npz::save_stats(&npz, &g).unwrap();
    survive(".npz statistics", &std::fs::read(&npz).unwrap(), &dir.path().join("m.npz"), CASES, LIMIT, |p| gantry::eval::npz::load_stats(p).is_ok());

    let z = gantry::model::NamedTensor { name: "z".into(), shape: vec![4, 8], data: (0..32).map(|i| i as f32 / 10.0).collect() };
    let zf = dir.path().join("z.safetensors");
    gantry::tensor_file::write(&zf, &[z], Default::default()).unwrap();
    survive("z file", &std::fs::read(&zf).unwrap(), &dir.path().join("mz.safetensors"), CASES, LIMIT, |p| gantry::sample::load_z(p).is_ok());
}

#[test]
fn pytorch_checkpoint_readers_survive_mutations() {
    let Some(golden) = common::golden("fid") else { return };
    let dir = tempfile::tempdir().unwrap();
    for file in ["small_zip.pth", "small_legacy.pth"] {
        let seed = std::fs::read(golden.join(file)).unwrap();
        survive(file, &seed, &dir.path().join(file), CASES, LIMIT, |p| gantry::pth::read_state_dict(p).is_ok());
    }
}

/// A legacy-format `.pth` body: the pickle protocol header and `pickle`.
fn legacy_pickle(pickle: &[u8]) -> Vec<u8> {
    let mut b = vec![0x80, 0x02];
    b.extend(pickle);
    b
}

#[test]
fn deep_and_self_referencing_pickles_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.pth");
    let depth = 200_000;
    // MARK × depth, None, then LIST × depth: a list nested `depth` deep.
    let mut deep: Vec<u8> = std::iter::repeat_n(b'(', depth).collect();
    deep.push(b'N');
    deep.extend(std::iter::repeat_n(b'l', depth));
    deep.push(b'.');
    // A list memoised and re-read into itself, doubling each round (a "billion laughs").
    let mut laughs = vec![b']', b'q', 0];
    for i in 0..64u8 {
        laughs.extend([b'(', b'h', i, b'h', i, b'l', b'q', i + 1]);
    }
    laughs.push(b'.');
    for (what, pickle) in [("deep", deep), ("self-referencing", laughs)] {
        std::fs::write(&path, legacy_pickle(&pickle)).unwrap();
        let since = reset_peak();
        let started = Instant::now();
        let r = gantry::pth::read_state_dict(&path);
        assert!(started.elapsed() < LIMIT, "{what}: took {:?}", started.elapsed());
        assert!(peak_since(since) < allowance(pickle.len()), "{what}: allocated too much");
        let err = r.err().unwrap_or_else(|| panic!("{what}: accepted")).to_string();
        assert!(err.contains("hostile.pth") && (err.contains("deeper than") || err.contains("copies its objects")), "{what}: {err}");
    }
}

/// Every file of the fuzz targets' committed corpora (`fuzz/corpus/<target>/`, minimised from the
/// fuzzing runs, seeds included) and regression files (`fuzz/regressions/<target>/`: the inputs that
/// once crashed, hung or over-allocated, each kept after its fix) reads as an error or a valid value,
/// within the time limit and the allowance, as under the fuzzer.
#[test]
fn fuzz_corpora_and_regressions_replay() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let (mut replayed, mut regressions) = (0, 0);
    for reader in fuzz_readers::READERS {
        let scratch = tempfile::tempdir().unwrap();
        let mut files = vec![];
        for (kind, dir) in [("corpus", fuzz.join("corpus").join(reader.name)), ("regressions", fuzz.join("regressions").join(reader.name))] {
            let listed: Vec<PathBuf> = std::fs::read_dir(&dir).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
            assert!(kind == "regressions" || !listed.is_empty(), "{}: no corpus committed", dir.display());
            regressions += usize::from(kind == "regressions") * listed.len();
            files.extend(listed);
        }
        for file in files {
            let input = std::fs::read(&file).unwrap();
            let started = Instant::now();
            let outcome = std::panic::catch_unwind(|| fuzz_readers::check(reader, &input, scratch.path()));
            match outcome {
                Err(_) => panic!("{}: {} panicked", reader.name, file.display()),
                Ok(Err(e)) => panic!("{}: {e}", file.display()),
                // Each regression is a broken or hostile file: refused, also where a release build would
                // not have panicked (no overflow checks) but read it wrongly.
                Ok(Ok(valid)) => assert!(!(valid && file.starts_with(fuzz.join("regressions"))), "{}: read as valid", file.display()),
            }
            assert!(started.elapsed() < LIMIT, "{}: {} took {:?}", reader.name, file.display(), started.elapsed());
            replayed += 1;
        }
    }
    eprintln!("{replayed} corpus and regression files replayed ({regressions} regressions), none panicked, hung or over-allocated");
}

/// A gzip IDX file, an `.npz` and a `.pth` whose members inflate a thousandfold (200 MiB of zeros) are refused
/// after reading a bounded amount, with a message that names the file.
#[test]
fn compression_bombs_are_refused_without_inflating() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 200 << 20];
    let mut idx = idx_images(1);
    idx.extend(&zeros);
    let gz_path = dir.path().join("bomb-idx3-ubyte.gz");
    std::fs::write(&gz_path, gz(&idx)).unwrap();

    let zip_of = |path: &Path, members: &[&str]| {
        let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let deflate = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true);
        for name in members {
            zip.start_file(*name, deflate).unwrap();
            zip.write_all(&zeros).unwrap();
        }
        zip.finish().unwrap();
    };
    let (npz_path, pth_path) = (dir.path().join("bomb.npz"), dir.path().join("bomb.pth"));
    zip_of(&npz_path, &["mu.npy", "sigma.npy"]);
    zip_of(&pth_path, &["archive/data.pkl"]);

    let cases: [(&Path, fn(&Path) -> String); 3] = [
        (&gz_path, |p| gantry::data::idx::read_idx(p, 3).err().expect("a gzip bomb is refused").to_string()),
        (&npz_path, |p| gantry::eval::npz::load_stats(p).err().expect("an .npz bomb is refused").to_string()),
        (&pth_path, |p| gantry::pth::read_state_dict(p).err().expect("a .pth bomb is refused").to_string()),
    ];
    for (path, read) in cases {
        let len = std::fs::metadata(path).unwrap().len() as usize;
        assert!(len < 1 << 20, "{}: the bomb is small ({len} bytes)", path.display());
        let since = reset_peak();
        let message = read(path);
        assert!(peak_since(since) < allowance(len), "{}: allocated {} bytes", path.display(), peak_since(since));
        assert!(message.contains(&path.display().to_string()) && message.contains("expand"), "{message}");
    }
}
