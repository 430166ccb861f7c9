//! Dataset readers on real files (GANTRY_DATA_DIR) and on malformed files written here.

mod common;

use std::io::Write;
use std::path::Path;

use gantry::data::{self, DataOptions, cifar, idx};

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx_images(n: u32, h: u32, w: u32, data: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 3];
    for d in [n, h, w] {
        v.extend(d.to_be_bytes());
    }
    v.extend_from_slice(data);
    v
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 0, 8, 1];
    v.extend((labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

fn offline() {
    // Tests never download.
    unsafe { std::env::set_var("GANTRY_OFFLINE", "1") };
}

#[test]
fn real_mnist_and_fashion_mnist() {
    let Some(dir) = common::data_dir() else { return };
    offline();
    for (name, first_label, classes) in [("mnist", 5u8, "0"), ("fashion-mnist", 9u8, "T-shirt/top")] {
        let opts = DataOptions { data_dir: Some(dir.clone()), ..Default::default() };
        let train = data::load(name, &opts).unwrap();
        assert_eq!((train.len, train.shape), (60_000, [1, 28, 28]), "{name}");
        assert_eq!(train.labels.as_ref().unwrap()[0], first_label, "{name} first training label");
        assert_eq!(train.class_names[0], classes);
        let test = data::load(name, &DataOptions { test_split: true, ..opts }).unwrap();
        assert_eq!(test.len, 10_000);
        // Every class present, pixels span the byte range.
        let mut counts = [0usize; 10];
        train.labels.as_ref().unwrap().iter().for_each(|&l| counts[l as usize] += 1);
        assert!(counts.iter().all(|&c| c > 5000), "{name}: {counts:?}");
        let t = train.batch(&[0, 1], &burn::tensor::Device::flex());
        let v: Vec<f32> = t.into_data().convert::<f32>().try_to_vec().unwrap();
        assert!(v.iter().all(|x| (-1.0..=1.0).contains(x)) && v.contains(&-1.0) && v.contains(&1.0));
    }
    // dcgan-upsample input: MNIST resized to 32x32.
    let opts = DataOptions { data_dir: Some(dir), test_split: true, image_size: Some(32), ..Default::default() };
    assert_eq!(data::load("mnist", &opts).unwrap().shape, [1, 32, 32]);
}

#[test]
fn idx_rejects_malformed_files() {
    let good = idx_images(2, 2, 2, &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert!(idx::parse_idx(&good, 3).is_ok());
    let e = idx::parse_idx(&good[..good.len() - 1], 3).err().unwrap();
    assert!(e.contains("truncated"), "{e}");
    let mut wrong_magic = good.clone();
    wrong_magic[3] = 1;
    assert!(idx::parse_idx(&wrong_magic, 3).err().unwrap().contains("magic"));
    let mut longer = good.clone();
    longer.push(0);
    assert!(idx::parse_idx(&longer, 3).err().unwrap().contains("trailing"));
    assert!(idx::parse_idx(&good[..6], 3).err().unwrap().contains("header"));

    // Label count that disagrees with the image count names the label file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("img.gz"), gz(&good)).unwrap();
    std::fs::write(dir.path().join("lab"), idx_labels(&[1, 2, 3])).unwrap();
    let e = idx::read_split(&dir.path().join("img.gz"), &dir.path().join("lab"), false).err().unwrap().to_string();
    assert!(e.contains("lab") && e.contains("3 labels"), "{e}");
    // Truncated gzip stream.
    let z = gz(&good);
    std::fs::write(dir.path().join("cut.gz"), &z[..z.len() / 2]).unwrap();
    let e = idx::read_idx(&dir.path().join("cut.gz"), 3).err().unwrap().to_string();
    assert!(e.contains("cut.gz"), "{e}");
}

#[test]
fn emnist_images_are_presented_upright() {
    offline();
    let dir = tempfile::tempdir().unwrap();
    // One 2x3 image stored transposed (column-major) as EMNIST does: upright rows are [1 2 3], [4 5 6].
    let stored = [1u8, 4, 2, 5, 3, 6];
    let mut v = vec![0, 0, 8, 3];
    for d in [1u32, 2, 3] {
        v.extend(d.to_be_bytes());
    }
    v.extend(stored);
    std::fs::write(dir.path().join("emnist-letters-train-images-idx3-ubyte.gz"), gz(&v)).unwrap();
    std::fs::write(dir.path().join("emnist-letters-train-labels-idx1-ubyte.gz"), gz(&idx_labels(&[3]))).unwrap();
    let ds = data::load("emnist-letters", &DataOptions { data_dir: Some(dir.path().into()), ..Default::default() }).unwrap();
    let data::Samples::Bytes(px) = &ds.samples else { panic!() };
    assert_eq!(px, &vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(ds.labels.unwrap(), vec![2], "letters labels 1..26 become 0..25");
    assert_eq!(ds.class_names[2], "c");
    let e = data::load("emnist-nosuch", &DataOptions { data_dir: Some(dir.path().into()), ..Default::default() }).err().unwrap();
    assert!(e.to_string().contains("split"));
}

fn write_cifar(dir: &Path, file: &str, records: &[(u8, u8)]) {
    let mut v = Vec::new();
    for &(label, fill) in records {
        v.push(label);
        v.extend(std::iter::repeat_n(fill, 3072));
    }
    std::fs::write(dir.join(file), v).unwrap();
}

#[test]
fn cifar10_binary_reader() {
    offline();
    let dir = tempfile::tempdir().unwrap();
    for i in 1..=5 {
        write_cifar(dir.path(), &format!("data_batch_{i}.bin"), &[(i as u8, 10 * i as u8), (0, 0)]);
    }
    write_cifar(dir.path(), "test_batch.bin", &[(9, 255)]);
    let ds = data::load("cifar10", &DataOptions { data_dir: Some(dir.path().into()), ..Default::default() }).unwrap();
    assert_eq!((ds.len, ds.shape), (10, [3, 32, 32]));
    assert_eq!(&ds.labels.as_ref().unwrap()[..4], &[1, 0, 2, 0]);
    assert_eq!(ds.class_names[1], "automobile");
    let (_, labels) = cifar::read(dir.path(), false).unwrap();
    assert_eq!(labels, vec![9]);
    // Truncated record and out-of-range label.
    std::fs::write(dir.path().join("test_batch.bin"), vec![1u8; 3000]).unwrap();
    assert!(cifar::read(dir.path(), false).err().unwrap().to_string().contains("multiple"));
    write_cifar(dir.path(), "test_batch.bin", &[(12, 0)]);
    assert!(cifar::read(dir.path(), false).err().unwrap().to_string().contains("label 12"));
}

#[test]
fn image_folder_and_celeba_sample() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    image::RgbImage::from_pixel(40, 20, image::Rgb([255, 0, 0])).save(dir.path().join("sub/a.png")).unwrap();
    image::RgbImage::from_pixel(20, 40, image::Rgb([0, 0, 255])).save(dir.path().join("b.jpg")).unwrap();
    let name = format!("folder:{}", dir.path().display());
    let ds = data::load(&name, &DataOptions { image_size: Some(16), ..Default::default() }).unwrap();
    assert_eq!((ds.len, ds.shape), (2, [3, 16, 16]));
    let data::Samples::Bytes(px) = &ds.samples else { panic!() };
    // Sorted paths: b.jpg (blue) comes before sub/a.png (red); planes are CHW.
    assert!(px[0] < 30 && px[2 * 256] > 200, "first image blue");
    assert!(px[3 * 256] > 200 && px[3 * 256 + 2 * 256] < 30, "second image red");
    let grey = data::load(&name, &DataOptions { image_size: Some(8), channels: Some(1), ..Default::default() }).unwrap();
    assert_eq!(grey.shape, [1, 8, 8]);
    std::fs::write(dir.path().join("broken.png"), b"not a png").unwrap();
    let e = data::load(&name, &DataOptions { image_size: Some(8), ..Default::default() }).err().unwrap().to_string();
    assert!(e.contains("broken.png"), "{e}");

    let Some(data_dir) = common::data_dir() else { return };
    let celeba = data::load("celeba", &DataOptions { data_dir: Some(data_dir.join("celeba-sample")), image_size: Some(64), ..Default::default() }).unwrap();
    assert_eq!((celeba.len, celeba.shape), (32, [3, 64, 64]));
}

#[test]
fn builtin_datasets_are_deterministic_and_labelled() {
    let opts = DataOptions { generated_size: Some(200), seed: 7, ..Default::default() };
    let a = data::load("synth-digits", &opts).unwrap();
    let b = data::load("synth-digits", &opts).unwrap();
    let (data::Samples::Bytes(pa), data::Samples::Bytes(pb)) = (&a.samples, &b.samples) else { panic!() };
    assert_eq!(pa, pb);
    let mut counts = [0; 10];
    a.labels.unwrap().iter().for_each(|&l| counts[l as usize] += 1);
    assert_eq!(counts, [20; 10]);
    let other = data::load("synth-digits", &DataOptions { seed: 8, ..opts.clone() }).unwrap();
    let data::Samples::Bytes(po) = &other.samples else { panic!() };
    assert_ne!(pa, po, "the seed changes the data");

    for (name, modes, std) in [("ring8", 8, 0.02 / 1.414), ("grid25", 25, 0.05 / 2.828)] {
        let ds = data::load(name, &DataOptions { generated_size: Some(5000), ..Default::default() }).unwrap();
        let (centres, s) = data::kind(name).unwrap().point_modes().unwrap();
        assert_eq!(centres.len(), modes);
        assert!((s as f64 - std).abs() < 1e-6);
        let data::Samples::Floats(p) = &ds.samples else { panic!() };
        let labels = ds.labels.unwrap();
        for (i, pt) in p.chunks_exact(2).enumerate() {
            let c = centres[labels[i] as usize];
            assert!(((pt[0] - c[0]).powi(2) + (pt[1] - c[1]).powi(2)).sqrt() < 6.0 * s, "{name}: point far from its mode");
        }
    }
    // Ring radius 2/1.414, grid corners at ±4/2.828.
    let (ring, _) = data::kind("ring8").unwrap().point_modes().unwrap();
    assert!((ring[0][0] - 2.0 / 1.414).abs() < 1e-5);
    let (grid, _) = data::kind("grid25").unwrap().point_modes().unwrap();
    assert!((grid[0][0] + 4.0 / 2.828).abs() < 1e-5);
}

#[test]
fn batches_are_seeded_and_drop_last() {
    let a = data::epoch_batches(10, 4, true, 1, 0);
    assert_eq!(a.len(), 2);
    assert_eq!(a, data::epoch_batches(10, 4, true, 1, 0));
    assert_ne!(a, data::epoch_batches(10, 4, true, 1, 1), "each epoch reshuffles");
    assert_eq!(data::epoch_batches(10, 4, false, 1, 0).len(), 3);
}
