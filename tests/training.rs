//! Training behaviour a user relies on: resume continues exactly, seeds reproduce, the run
//! directory holds logs, grids, plots and checkpoints, optimisers follow PyTorch's rules.

use std::path::Path;

use gantry::train::checkpoint;
use gantry::train::config::TrainConfig;
use gantry::train::trainer::{Outcome, TrainOptions, train};

fn tiny(model: &str, dataset: &str) -> TrainConfig {
    let mut c = gantry::presets::preset("default").unwrap();
    c.model = model.into();
    c.dataset = dataset.into();
    c.generated_size = Some(96);
    c.batch_size = 8;
    c.epochs = 3;
    c.z_dim = 8;
    c.sample_every = 5;
    c.checkpoint_every = 4;
    c
}

fn weights(run: &Path) -> Vec<(String, Vec<f32>)> {
    let l = checkpoint::load(run).unwrap();
    let mut v: Vec<_> = l.file.tensors.into_iter().map(|(k, t)| (k, t.data)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn run(c: TrainConfig, out: &Path, resume: bool) -> gantry::train::trainer::Summary {
    train(c, &TrainOptions { out: out.into(), resume, quiet: true }).unwrap()
}

#[test]
fn resume_is_exact() {
    // dcgan-upsample exercises BatchNorm running stats and Dropout2d masks; 2N steps in one go
    // (crossing an epoch boundary) versus N, then resume to 2N.
    let dir = tempfile::tempdir().unwrap();
    let mut c = tiny("dcgan-28", "synth-digits");
    c.d_steps = 2;
    c.g_noise = gantry::train::config::GNoise::Fresh;
    let n = 7; // 96/8/2 = 6 steps per epoch: the resume happens mid-epoch 2
    let mut full = c.clone();
    full.max_steps = Some(2 * n);
    let s = run(full, &dir.path().join("a"), false);
    assert_eq!((s.outcome, s.steps), (Outcome::StoppedAtMaxSteps, 2 * n));

    let mut half = c.clone();
    half.max_steps = Some(n);
    run(half, &dir.path().join("b"), false);
    let mut rest = c.clone();
    rest.max_steps = Some(2 * n);
    let s = run(rest, &dir.path().join("b"), true);
    assert_eq!(s.steps, 2 * n);
    let (a, b) = (weights(&dir.path().join("a")), weights(&dir.path().join("b")));
    assert_eq!(a.len(), b.len());
    for ((ka, va), (kb, vb)) in a.iter().zip(&b) {
        assert_eq!(ka, kb);
        assert_eq!(va, vb, "{ka} differs after resume");
    }
    // The resumed log continues without gaps or repeats.
    let log = std::fs::read_to_string(dir.path().join("b/log.jsonl")).unwrap();
    let steps: Vec<u64> = log.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, (1..=2 * n).collect::<Vec<_>>());
}

#[test]
fn run_directory_contents_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = tiny("mlp-bn", "synth-digits");
    c.epochs = 1;
    let s = run(c.clone(), &dir.path().join("r"), false);
    assert_eq!(s.outcome, Outcome::Finished);
    let r = dir.path().join("r");
    for f in ["config.toml", "log.jsonl", "loss.png", "real.png", "samples/step_0000010.png", "samples/epoch_001.png", "checkpoints/last.safetensors"] {
        assert!(r.join(f).exists(), "{f} missing");
    }
    let line: serde_json::Value = serde_json::from_str(std::fs::read_to_string(r.join("log.jsonl")).unwrap().lines().next().unwrap()).unwrap();
    for k in ["step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "images_per_s"] {
        assert!(line.get(k).is_some(), "log field {k}");
    }
    let grid = image::open(r.join("samples/epoch_001.png")).unwrap();
    assert_eq!((grid.width(), grid.height()), (8 * 30 + 2, 8 * 30 + 2));
    // Same seed, same weights; another seed, other weights.
    run(c.clone(), &dir.path().join("r2"), false);
    assert_eq!(weights(&r), weights(&dir.path().join("r2")));
    c.seed = 1;
    run(c, &dir.path().join("r3"), false);
    assert_ne!(weights(&r), weights(&dir.path().join("r3")));
}

#[test]
fn toy_run_writes_scatter_plots() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = tiny("mlp-toy", "ring8");
    c.z_dim = 2;
    c.epochs = 1;
    run(c, &dir.path().join("t"), false);
    assert!(dir.path().join("t/samples/epoch_001.png").exists());
    assert!(dir.path().join("t/real.png").exists());
}

mod optimisers {
    use burn::module::Param;
    use burn::tensor::{Device, Tensor, TensorData};
    use gantry::model::layers::{Layer, Linear};
    use gantry::model::Net;
    use gantry::train::optim::{OptimConfig, Optimizer};

    /// Two steps on f(w) = sum(w * c) (gradient c) from w = 1; returns w.
    fn two_steps(cfg: OptimConfig, c: [f32; 2]) -> Vec<f32> {
        let dev = Device::flex().autodiff();
        let w = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 1.0], [1, 2]), &dev).require_grad();
        let mut net = Net { layers: vec![Layer::Linear(Linear { weight: Param::from_tensor(w), bias: None })] };
        let mut opt = Optimizer::new(cfg);
        for _ in 0..2 {
            let Layer::Linear(l) = &net.layers[0] else { unreachable!() };
            let loss = (l.weight.val() * Tensor::<2>::from_data(TensorData::new(c.to_vec(), [1, 2]), &dev)).sum();
            let grads = loss.backward();
            opt.step(&mut net, &grads);
        }
        let Layer::Linear(l) = &net.layers[0] else { unreachable!() };
        l.weight.val().into_data().convert::<f32>().try_to_vec().unwrap()
    }

    fn close(a: &[f32], b: &[f64]) -> bool {
        a.iter().zip(b).all(|(x, y)| (*x as f64 - y).abs() < 1e-6)
    }

    #[test]
    fn sgd_momentum_rmsprop_adam_follow_pytorch() {
        // SGD momentum 0.9, lr 0.1: buf1 = g, buf2 = 0.9g + g → w = 1 - 0.1g - 0.19g.
        let w = two_steps(OptimConfig::Sgd { lr: 0.1, momentum: 0.9 }, [1.0, -2.0]);
        assert!(close(&w, &[1.0 - 0.29, 1.0 + 0.58]), "{w:?}");
        // RMSprop alpha 0.99: v1 = 0.01g², v2 = 0.0199g²; w = 1 - lr g/(sqrt v + eps) twice.
        let w = two_steps(OptimConfig::Rmsprop { lr: 0.01, alpha: 0.99, eps: 1e-8, momentum: 0.0 }, [1.0, -2.0]);
        let step = |g: f64| 0.01 * g.signum() * (1.0 / 0.01f64.sqrt() + 1.0 / 0.0199f64.sqrt());
        assert!(close(&w, &[1.0 - step(1.0), 1.0 - step(-2.0)]), "{w:?}");
        // Adam with a constant gradient moves by lr each step (bias correction exact).
        let w = two_steps(OptimConfig::Adam { lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8 }, [1.0, -2.0]);
        assert!(close(&w, &[0.98, 1.02]), "{w:?}");
    }
}
