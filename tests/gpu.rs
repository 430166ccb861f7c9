//! The GPU path: burn's wgpu backend, on whatever Vulkan (or other wgpu) driver the machine has.
//! CI runs these on Mesa's lavapipe, a software Vulkan driver, so they need no GPU:
//! `cargo test --release --features gpu --test gpu` (`.ci/run` does it). `GANTRY_TEST_DEVICE`
//! picks another device (`vulkan`, `wgpu:1`, ...); the default is `wgpu`.
//!
//! The same PyTorch reference checks as on the CPU (`tests/common/golden.rs`), training runs that
//! follow the CPU's, checkpoints that move between the two devices, and every preset's step.
//!
//! On a software driver the first run of a shader is slow: llvmpipe compiles every kernel (and
//! every autotuning candidate) the first time it sees it, and then computes at a few percent of a
//! GPU's speed. With Debian 12's Mesa 22.3.6 and an empty shader cache, on 2 cores: the golden DCGAN
//! step 114 s, the penalties 77 s, the checkpoint test 104 s (Mesa 25.0.7 was several times slower).
//! Those, Inception's features and the 20-step runs (at batch 16) run always; the rest (20-step runs
//! at the presets' batch, every preset, the commands, the read-back count) run with
//! `GANTRY_GPU_TESTS=full` and say why they skip otherwise.
#![cfg(feature = "gpu")]

mod common;

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use gantry::device::{DeviceChoice, read_back_count};
use gantry::model::LayerSpec::*;
use gantry::config::TrainConfig;
use gantry::eval::generator::generate_n;
use gantry::run::TrainedModel;
use gantry::train::{Outcome, RunLength, StopSignal, Summary, TrainOptions, Trainer, train_into};

fn choice() -> DeviceChoice {
    std::env::var("GANTRY_TEST_DEVICE").map_or(DeviceChoice::Wgpu(None), |s| s.parse().expect("GANTRY_TEST_DEVICE"))
}

/// Whether the full GPU set was asked for (see the top of this file); says why not otherwise.
fn full() -> bool {
    let on = std::env::var("GANTRY_GPU_TESTS").is_ok_and(|v| v == "full");
    if !on {
        eprintln!("skipping: set GANTRY_GPU_TESTS=full for the full GPU set (minutes per test on a software driver with a cold shader cache)");
    }
    on
}

fn gpu() -> Device {
    let c = choice();
    eprintln!("device {}", c.describe());
    c.device().unwrap_or_else(|e| panic!("{e}"))
}

/// The device opens and computes: a matrix product and its gradient, read back.
#[test]
fn the_gpu_device_computes() {
    use burn::tensor::{Tensor, TensorData};
    let device = gpu().autodiff();
    let a = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3]), &device).require_grad();
    let b = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, -1.0, 2.0, 0.5, 1.0], [3, 2]), &device);
    let y = a.clone().matmul(b);
    let grads = y.clone().sum().backward();
    assert_eq!(gantry::device::read_back(&y), vec![0.5, 7.0, 2.0, 16.0]);
    let ga = a.grad(&grads).unwrap();
    assert_eq!(ga.into_data().convert::<f32>().try_to_vec::<f32>().unwrap(), vec![1.0, 1.0, 1.5, 1.0, 1.0, 1.5]);
}

#[test]
fn golden_dcgan_step_on_the_gpu() {
    common::golden::dcgan_step(&gpu().autodiff());
}

#[test]
fn golden_wgan_gp_penalties_on_the_gpu() {
    let l = |inp, out| Linear { inp, out, bias: true };
    common::golden::wgan_gp("wgan_gp_mlp.safetensors", vec![l(784, 32), LeakyRelu(0.2), l(32, 32), LeakyRelu(0.2), l(32, 1)], [784, 1, 1], &gpu().autodiff());
    let conv = |inp, out| Conv { inp, out, k: 4, s: 2, p: 1, bias: true };
    common::golden::wgan_gp(
        "wgan_gp_conv_layernorm.safetensors",
        vec![conv(1, 8), LeakyRelu(0.2), conv(8, 16), LayerNorm { shape: vec![16, 7, 7] }, LeakyRelu(0.2), Flatten, Linear { inp: 784, out: 1, bias: true }],
        [1, 28, 28],
        &gpu().autodiff(),
    );
}

#[test]
fn golden_inception_features_on_the_gpu() {
    common::golden::inception_features(&gpu());
}

/// Trains `c` into `out` (or resumes it there on `device`) with the standard observers.
fn train(c: TrainConfig, out: &Path, resume: Option<DeviceChoice>) -> Summary {
    let mut t = match resume {
        Some(device) => Trainer::resume(out, &RunLength { epochs: None, max_steps: c.max_steps }, Some(device), true).unwrap(),
        None => Trainer::new(c, true).unwrap(),
    };
    train_into(&mut t, &TrainOptions { out: out.into(), quiet: true }, &StopSignal::default()).unwrap()
}

/// `log.jsonl`'s value of `key` at every step.
fn logged(run: &Path, key: &str) -> Vec<f64> {
    std::fs::read_to_string(run.join("log.jsonl"))
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()?.get(key)?.as_f64())
        .collect()
}

/// The batch a 20-step run uses: the preset's in the full set, 16 otherwise (llvmpipe runs
/// `default`'s batch of 128 at ~24 s a step: 20 steps would take 8 minutes of CI).
fn twenty_step_batch(c: &TrainConfig) -> usize {
    if full() { c.batch_size } else { 16 }
}

/// 20 steps of a preset on the GPU and on the CPU, same seed: the run completes on the GPU with
/// finite losses and its files, and its losses equal the CPU's at the steps in `checks`, each to its
/// relative tolerance.
///
/// Why only some steps: float rounding alone is amplified by training. Adam moves every parameter
/// by about ±lr on its first steps whatever the size of its gradient, so elements whose gradient is
/// rounding noise move by lr in a direction the rounding picks, and a GAN's dynamics amplify that.
/// Measured on the CPU with gantry's kernels against burn's own operations (same arithmetic,
/// other summation order), `default` (lr 2e-3): loss_d equal to 5 digits at steps 0–1, 7e-4 apart at
/// step 2, 9 % at step 10, a factor of 3 at step 19, and parameters up to 0.8 of a tensor's largest
/// value apart after 8 steps. `wgan-gp-mnist` (lr 1e-4) stays within 1 % over the 20 steps. The
/// CPU's Winograd convolutions against its im2col ones (`GANTRY_WINOGRAD=off`; rounding again),
/// `default` at batch 16: loss_g 2.2e-4 apart at step 0 (after D's first update), 3.4e-4 at step 1.
fn twenty_steps_follow_the_cpu(mut c: TrainConfig, checks: &[(usize, f64)]) {
    let dir = tempfile::tempdir().unwrap();
    c.max_steps = Some(20);
    c.sample_every = 10;
    c.batch_size = twenty_step_batch(&c);
    let mut on_gpu = c.clone();
    on_gpu.device = choice();
    let s = train(on_gpu, &dir.path().join("gpu"), None);
    assert_eq!((s.outcome, s.steps), (Outcome::StoppedAtMaxSteps, 20));
    train(c, &dir.path().join("cpu"), None);
    for key in ["loss_d", "loss_g"] {
        let (g, c) = (logged(&dir.path().join("gpu"), key), logged(&dir.path().join("cpu"), key));
        assert_eq!((g.len(), c.len()), (20, 20), "{key}");
        assert!(g.iter().all(|v| v.is_finite()), "{key} on the GPU: {g:?}");
        for &(i, tol) in checks {
            let rel = (g[i] - c[i]).abs() / c[i].abs().max(1e-3);
            assert!(rel < tol, "{key} at step {i}: GPU {} vs CPU {} (relative {rel:.2e})", g[i], c[i]);
        }
    }
    for f in ["samples/step_0000010.png", "samples/step_0000020.png", "checkpoints/last.safetensors"] {
        assert!(dir.path().join("gpu").join(f).exists(), "{f}");
    }
}

#[test]
fn default_preset_trains_on_the_gpu_as_on_the_cpu() {
    let c = gantry::presets::preset("default").unwrap();
    twenty_steps_follow_the_cpu(c, &[(0, 1e-3), (1, 1e-2)]);
}

#[test]
fn wgan_gp_mnist_trains_on_the_gpu_as_on_the_cpu() {
    let Some(data) = common::data_dir() else { return };
    let mut c = gantry::presets::preset("wgan-gp-mnist").unwrap();
    c.data_dir = Some(data.join("mnist"));
    // Step 0 is 5 critic updates already: the CPU's two implementations differ by 8e-4 there.
    twenty_steps_follow_the_cpu(c, &[(0, 1e-3), (19, 0.05)]);
}

/// Each read of a device value waits for the GPU: a generator step (here WGAN-GP with 5 critic
/// steps, and ACGAN) reads its numbers back once.
#[test]
fn a_gpu_step_reads_back_once() {
    if !full() {
        return;
    }
    use gantry::loss::{GanLoss, Penalty};
    let mut wgan = small("dcgan-28-ln");
    (wgan.loss, wgan.penalty, wgan.d_steps) = (GanLoss::Wgan, Some(Penalty::Gp { weight: 10.0 }), 5);
    let mut acgan = small("dcgan-28");
    acgan.conditioning = gantry::model::zoo::Conditioning::Acgan;
    for mut c in [wgan, acgan] {
        c.device = choice();
        let mut t = Trainer::new(c, true).unwrap();
        t.step().unwrap();
        let before = read_back_count();
        for _ in 0..3 {
            let r = t.step().unwrap();
            assert!(r.scalars.get("loss_d").is_some_and(f32::is_finite));
        }
        assert_eq!(read_back_count() - before, 3, "{}: reads per 3 steps", t.config.model);
    }
}

fn small(model: &str) -> TrainConfig {
    let mut c = gantry::presets::preset("default").unwrap();
    c.model = model.into();
    c.generated_size = Some(96);
    c.batch_size = 8;
    c.z_dim = 8;
    c.sample_every = 5;
    c.checkpoint_every = 4;
    c
}

/// A checkpoint written on the GPU resumes on the CPU, and one written on the CPU on the GPU; the
/// run goes on from its step with the log continuous, and samples from one checkpoint agree on both
/// devices up to float rounding.
///
/// (Weights after resuming are not compared with an all-CPU run's: rounding alone, amplified by
/// Adam, puts the CPU's two implementations up to 0.8 of a tensor's largest value apart after 8
/// steps — see `twenty_steps_follow_the_cpu`.)
#[test]
fn checkpoints_move_between_gpu_and_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| dir.path().join(name);
    let mut c = small("dcgan-28");
    c.max_steps = Some(6);
    let mut half = c.clone();
    half.max_steps = Some(3);
    let mut half_gpu = half.clone();
    half_gpu.device = choice();
    train(half_gpu, &run("gpu-then-cpu"), None);
    train(c.clone(), &run("gpu-then-cpu"), Some(DeviceChoice::Cpu));
    train(half, &run("cpu-then-gpu"), None);
    let s = train(c.clone(), &run("cpu-then-gpu"), Some(choice()));
    assert_eq!(s.steps, 6);
    for name in ["gpu-then-cpu", "cpu-then-gpu"] {
        for key in ["loss_d", "loss_g"] {
            let v = logged(&run(name), key);
            assert!(v.len() == 6 && v.iter().all(|x| x.is_finite()), "{name}: {key} {v:?}");
        }
    }
    // The resumed config records where the run went on.
    let config = std::fs::read_to_string(run("cpu-then-gpu").join("config.toml")).unwrap();
    assert!(config.contains(&format!("device = \"{}\"", choice())), "{config}");

    for name in ["gpu-then-cpu", "cpu-then-gpu"] {
        let grids: Vec<Vec<f32>> = [gpu(), Device::flex()]
            .iter()
            .map(|device| {
                let model = TrainedModel::open(&run(name), device).unwrap();
                gantry::device::read_back(&generate_n(&model.generator, 16, 5, true).unwrap().0)
            })
            .collect();
        let err = common::max_rel_err(&grids[0], &grids[1]);
        assert!(err < 1e-4, "{name}: samples of one checkpoint differ between GPU and CPU by {err}");
    }
}

/// Where a preset's data lives for the test: the real files, or files written in the official
/// format where those are not available offline (CIFAR-10, EMNIST).
fn preset_data(dataset: &str, real: &Path, fake: &Path) -> Option<PathBuf> {
    use std::io::Write;
    let gz = |path: PathBuf, bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap();
    };
    let idx = |dims: &[u32], kind: u8, body: Vec<u8>| -> Vec<u8> {
        let mut v = vec![0, 0, 8, kind];
        dims.iter().for_each(|d| v.extend(d.to_be_bytes()));
        v.extend(body);
        v
    };
    let n = 64u32;
    match dataset {
        "mnist" | "stacked-mnist" => Some(real.join("mnist")),
        "fashion-mnist" => Some(real.join("fashion-mnist")),
        "celeba" => Some(real.join("celeba-sample")),
        "cifar10" => {
            let dir = fake.join("cifar10");
            std::fs::create_dir_all(&dir).unwrap();
            for i in 1..=5 {
                let records: Vec<u8> = (0..n as usize).flat_map(|r| std::iter::once((r % 10) as u8).chain((0..3072).map(move |p| ((p * 7 + r * 13 + i) % 256) as u8))).collect();
                std::fs::write(dir.join(format!("data_batch_{i}.bin")), records).unwrap();
            }
            Some(dir)
        }
        "emnist-letters" => {
            let dir = fake.join("emnist");
            std::fs::create_dir_all(&dir).unwrap();
            let px: Vec<u8> = (0..n as usize * 784).map(|p| ((p * 31) % 256) as u8).collect();
            gz(dir.join("emnist-letters-train-images-idx3-ubyte.gz"), &idx(&[n, 28, 28], 3, px));
            gz(dir.join("emnist-letters-train-labels-idx1-ubyte.gz"), &idx(&[n], 1, (0..n).map(|i| (i % 26 + 1) as u8).collect()));
            Some(dir)
        }
        _ => None, // generated in memory
    }
}

/// Every preset (its model, loss, penalty, clipping, conditioning, data) takes two generator steps
/// on the GPU, with finite numbers, and samples from its checkpoint.
#[test]
fn every_preset_steps_on_the_gpu() {
    if !full() {
        return;
    }
    let Some(real) = common::data_dir() else { return };
    let fake = tempfile::tempdir().unwrap();
    let device = gpu();
    for (name, _) in gantry::presets::PRESETS {
        let dir = tempfile::tempdir().unwrap();
        let mut c = gantry::presets::preset(name).unwrap();
        c.device = choice();
        c.data_dir = preset_data(&c.dataset, &real, fake.path());
        c.batch_size = 8;
        c.max_steps = Some(2);
        c.generated_size = c.generated_size.map(|_| 64).or(Some(64));
        let s = train(c, dir.path(), None);
        assert_eq!(s.steps, 2, "{name}");
        for key in ["loss_d", "loss_g"] {
            let v = logged(dir.path(), key);
            assert!(v.len() == 2 && v.iter().all(|x| x.is_finite()), "{name}: {key} {v:?}");
        }
        let model = TrainedModel::open(dir.path(), &device).unwrap();
        let x = gantry::device::read_back(&generate_n(&model.generator, 4, 1, true).unwrap().0);
        assert!(x.iter().all(|v| v.is_finite()), "{name}: samples");
        eprintln!("{name}: ok");
    }
}

fn gantry(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gantry")).args(args).current_dir(cwd).env("GANTRY_OFFLINE", "1").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// The commands a user runs, with `--device` on the GPU: train (naming the adapter), resume on the
/// CPU, sample, interpolate, mode coverage (its classifier trained on the GPU), bench.
#[test]
fn commands_run_on_the_gpu() {
    if !full() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let device = choice().to_string();
    let ok = |args: &[&str]| -> String {
        let (code, out, err) = gantry(args, d);
        assert_eq!(code, 0, "gantry {}: {err}", args.join(" "));
        out + &err
    };
    let out = ok(&["train", "--preset", "toy-ring8", "--max-steps", "3", "--batch-size", "16", "--generated-size", "256", "--out", "toy", "--device", &device]);
    assert!(out.contains(&format!("training on {device}: ")), "{out}");
    assert!(out.contains("of 8 modes covered"), "{out}");
    ok(&["train", "--preset", "default", "--generated-size", "64", "--batch-size", "8", "--z-dim", "8", "--max-steps", "2", "--out", "run", "--quiet", "--no-eval", "--device", &device]);
    ok(&["train", "--resume", "run", "--max-steps", "3", "--quiet", "--no-eval", "--device", "cpu"]);
    ok(&["sample", "--checkpoint", "run", "--n", "8", "--grid", "s.png", "--save-z", "z.safetensors", "--device", &device]);
    assert!(d.join("s.png").exists());
    ok(&["interpolate", "--checkpoint", "run", "--seeds", "1", "2", "--steps", "4", "--out", "i.png", "--device", &device]);
    assert!(d.join("i.png").exists());
    let out = ok(&["eval", "modes", "--checkpoint", "toy", "--n", "200", "--quiet", "--device", &device]);
    assert!(out.contains("of 8 modes covered"), "{out}");
    let out = ok(&["bench", "w5", "--batch-size", "8", "--steps", "1", "--repeats", "1", "--warmup", "1", "--json", "--device", &device]);
    let r: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(r["device"].as_str().unwrap().starts_with(&format!("{device}: ")), "{out}");
}

/// A device that is not there is one error line, not a panic.
#[test]
fn a_missing_gpu_is_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = gantry(&["sample", "--checkpoint", "nowhere", "--device", "wgpu:7"], dir.path());
    assert_ne!(code, 0);
    let lines: Vec<&str> = err.lines().filter(|l| !l.contains("XDG_RUNTIME_DIR")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("wgpu:7") && !lines[0].contains("panicked"), "{err}");
}
