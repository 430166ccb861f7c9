//! Training behaviour a user relies on: resume continues exactly, seeds reproduce, the run
//! directory holds logs, grids, plots and checkpoints, optimisers follow PyTorch's rules.

use std::path::Path;

use gantry::config::TrainConfig;
use gantry::run::checkpoint;
use gantry::train::{Outcome, RunLength, StopSignal, Summary, TrainOptions, Trainer, train_into};

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

/// Trains `c` into `out` (or resumes the run there, to `c`'s length) with the standard observers.
fn train(c: TrainConfig, out: &Path, resume: bool) -> gantry::Result<Summary> {
    let mut t = match resume {
        true => Trainer::resume(out, &RunLength { epochs: None, max_steps: c.max_steps }, None, true)?,
        false => Trainer::new(c, true)?,
    };
    train_into(&mut t, &TrainOptions { out: out.into(), quiet: true }, &StopSignal::default())
}

fn run(c: TrainConfig, out: &Path, resume: bool) -> Summary {
    train(c, out, resume).unwrap()
}

#[test]
fn resume_is_exact() {
    let mut c = tiny("dcgan-28", "synth-digits");
    c.d_steps = 2;
    c.g_noise = gantry::config::GNoise::Fresh;
    check_resume(c);
}

#[test]
fn resume_is_exact_for_conditional_models_with_label_embeddings() {
    // mlp-cgan adds Dropout masks, labels drawn from the noise RNG and two embedding tables.
    let mut c = tiny("mlp-cgan", "synth-digits");
    c.conditioning = gantry::model::zoo::Conditioning::Concat;
    c.label_embedding = Some(5);
    c.d_steps = 2;
    check_resume(c);
}

/// 2N steps in one go (crossing an epoch boundary) versus N, then resume to 2N.
fn check_resume(c: TrainConfig) {
    let dir = tempfile::tempdir().unwrap();
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
    use gantry::optim::{OptimConfig, Optimizer};

    /// Two steps on f(w) = sum(w * c) (gradient c) from w = 1; returns w.
    fn two_steps(cfg: OptimConfig, c: [f32; 2]) -> Vec<f32> {
        let dev = Device::flex().autodiff();
        let w = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 1.0], [1, 2]), &dev).require_grad();
        let mut net = Net { layers: vec![Layer::Linear(Linear { weight: Param::from_tensor(w), bias: None })] };
        let mut opt = Optimizer::new(cfg);
        for _ in 0..2 {
            let Layer::Linear(l) = &net.layers[0] else { unreachable!() };
            let loss = (l.weight.val() * Tensor::<2>::from_data(TensorData::new(c.to_vec(), [1, 2]), &dev)).sum();
            let mut grads = loss.backward();
            opt.step(&mut net, &mut grads);
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

fn log_lines(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("log.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn weight_clipping_keeps_every_critic_parameter_within_c() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = tiny("dcgan-28", "synth-digits");
    c.loss = gantry::loss::GanLoss::Wgan;
    c.clip = Some(0.01);
    c.d_steps = 2;
    c.optim_d = gantry::optim::OptimConfig::Rmsprop { lr: 5e-2, alpha: 0.99, eps: 1e-8, momentum: 0.0 };
    c.max_steps = Some(3);
    run(c, dir.path(), false);
    let l = checkpoint::load(dir.path()).unwrap();
    let mut checked = 0;
    for (name, t) in &l.file.tensors {
        if name.starts_with("D.") && !name.contains("running") && !name.contains("num_batches") {
            assert!(t.data.iter().all(|v| v.abs() <= 0.01), "{name} leaves [-0.01, 0.01]");
            checked += 1;
        }
    }
    assert_eq!(checked, 12, "every parameter of the dcgan-28 critic");
    let log = log_lines(dir.path());
    assert!(log.iter().all(|r| r["wasserstein"].is_number()), "critic runs log the Wasserstein estimate");
}

#[test]
fn gradient_penalty_runs_log_norms_and_refuse_batch_norm_critics() {
    let dir = tempfile::tempdir().unwrap();
    for (model, penalty) in [
        ("dcgan-28-ln", gantry::loss::Penalty::Gp { weight: 10.0 }),
        ("mlp-small", gantry::loss::Penalty::R1 { gamma: 1.0 }),
        ("mlp-small", gantry::loss::Penalty::Dragan { weight: 10.0, scale: 0.5 }),
    ] {
        let mut c = tiny(model, "synth-digits");
        c.loss = gantry::loss::GanLoss::Wgan;
        c.penalty = Some(penalty.clone());
        c.max_steps = Some(2);
        let out = dir.path().join(penalty.name());
        run(c, &out, false);
        for r in log_lines(&out) {
            assert!(r["penalty"].as_f64().unwrap().is_finite() && r["grad_norm_mean"].as_f64().unwrap() > 0.0, "{r}");
        }
    }
    let mut c = tiny("dcgan-28", "synth-digits");
    c.penalty = Some(gantry::loss::Penalty::Gp { weight: 10.0 });
    let err = train(c, &dir.path().join("bn"), false).err().unwrap().to_string();
    assert!(err.contains("BatchNorm") && err.contains("penalty"), "{err}");
}

#[test]
fn conditional_models_need_labels_and_train_with_them() {
    use gantry::model::zoo::Conditioning;
    let dir = tempfile::tempdir().unwrap();
    // An image folder has no labels.
    let images = dir.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    for i in 0..4u8 {
        image::RgbImage::from_pixel(40, 40, image::Rgb([i * 60, 10, 200])).save(images.join(format!("{i}.png"))).unwrap();
    }
    let mut c = tiny("dcgan-32", &format!("folder:{}", images.display()));
    c.image_size = Some(32);
    c.conditioning = Conditioning::Concat;
    let err = train(c, &dir.path().join("x"), false).err().unwrap().to_string();
    assert!(err.contains("no labels") && err.contains("conditional"), "{err}");

    let cases = [
        ("mlp-cgan", Conditioning::Concat, None),
        ("mlp-cgan", Conditioning::Concat, Some(6)),
        ("dcgan-28", Conditioning::Concat, Some(4)),
        ("dcgan-28", Conditioning::Acgan, None),
        ("dcgan-28-ln", Conditioning::Projection, None),
    ];
    for (model, cond, embedding) in cases {
        let mut c = tiny(model, "synth-digits");
        c.conditioning = cond;
        c.label_embedding = embedding;
        c.max_steps = Some(2);
        let out = dir.path().join(format!("{model}-{cond:?}-{embedding:?}"));
        run(c, &out, false);
        // Learned embeddings (10 classes x size) are saved beside the networks.
        let l = checkpoint::load(&out).unwrap();
        for prefix in ["G_label", "D_label"] {
            let t = l.file.tensors.get(&format!("{prefix}.0.weight"));
            assert_eq!(t.map(|t| t.shape.clone()), embedding.map(|e| vec![e, 10]), "{model} {cond:?} {prefix}");
        }
        // Class grid: one row of 8 per digit, captions in a left margin.
        let img = image::open(out.join("samples/step_0000002.png")).unwrap();
        assert_eq!(img.height(), 10 * 30 + 2, "{model} {cond:?}");
        let log = log_lines(&out);
        assert_eq!(log[0]["class_accuracy"].is_number(), cond == Conditioning::Acgan, "{model} {cond:?}");
    }
}

#[test]
fn resume_refuses_an_optimiser_state_that_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = tiny("mlp-small", "synth-digits");
    c.max_steps = Some(2);
    let out = dir.path().join("run");
    run(c.clone(), &out, false);
    // Cut one of D's Adam moments short, as an edited or foreign checkpoint might have it.
    let path = checkpoint::last_path(&out);
    let file = gantry::tensor_file::read(&path).unwrap();
    let mut tensors: Vec<_> = file.tensors.into_values().collect();
    let moment = tensors.iter_mut().find(|t| t.name.starts_with("opt_d.") && t.data.len() > 3).expect("an Adam moment of D");
    moment.data.truncate(3);
    moment.shape = vec![3];
    // Consistent with its checksum, as a file written by another program would be.
    let mut meta: std::collections::BTreeMap<String, String> = file.metadata.into_iter().collect();
    let sum = checkpoint::checksum(tensors.iter(), &meta);
    meta.insert("sha256".into(), sum);
    gantry::tensor_file::write(&path, &tensors, meta).unwrap();
    c.max_steps = Some(4);
    let err = train(c, &out, true).err().expect("resume must refuse").to_string();
    assert!(err.contains("discriminator optimiser") && err.contains("has 3 values"), "{err}");
}

/// On a GPU every read of a device value waits for the device: a generator step reads its numbers
/// back once, whatever the loss, penalty, k or conditioning.
#[test]
fn a_generator_step_reads_the_device_once() {
    use gantry::device::read_back_count;
    use gantry::loss::{GanLoss, Penalty};
    use gantry::model::zoo::Conditioning;
    let cases: [(&str, GanLoss, Option<Penalty>, usize, Conditioning); 4] = [
        ("dcgan-28", GanLoss::Bce, None, 1, Conditioning::None),
        ("dcgan-28-ln", GanLoss::Wgan, Some(Penalty::Gp { weight: 10.0 }), 5, Conditioning::None),
        ("mlp-small", GanLoss::Wgan, Some(Penalty::Dragan { weight: 10.0, scale: 0.5 }), 2, Conditioning::None),
        ("dcgan-28", GanLoss::Bce, None, 1, Conditioning::Acgan),
    ];
    for (model, loss, penalty, k, conditioning) in cases {
        let mut c = tiny(model, "synth-digits");
        (c.loss, c.penalty, c.d_steps, c.conditioning) = (loss, penalty, k, conditioning);
        let mut t = Trainer::new(c, true).unwrap();
        let before = read_back_count();
        let mut records = vec![];
        for _ in 0..3 {
            records.push(t.step().unwrap());
        }
        assert_eq!(read_back_count() - before, 3, "{model} {loss:?} k={k} {conditioning:?}: reads per 3 steps");
        for name in ["loss_d", "loss_g", "d_real", "d_fake", "images_per_s"] {
            assert!(records.iter().all(|r| r.scalars.get(name).is_some_and(f32::is_finite)), "{model}: {name}");
        }
        assert_eq!(records[2].scalars.get("grad_norm_mean").is_some(), t.config.penalty.is_some(), "{model}");
        assert_eq!(records[2].scalars.get("class_accuracy").is_some(), conditioning == Conditioning::Acgan, "{model}");
    }
}

/// Asks the run to stop once it reaches a step, as Ctrl-C would.
struct StopAt(u64, StopSignal);

impl gantry::train::Observer for StopAt {
    fn on_event(&mut self, _: &Trainer, event: &gantry::train::Event) -> gantry::Result<()> {
        if let gantry::train::Event::Step(r) = event
            && r.step >= self.0
        {
            self.1.request();
        }
        Ok(())
    }
}

/// The run's length is part of the run: a stopped run resumed with a plain `--resume` finishes
/// the length it was started with, and ends as the uninterrupted run does.
#[test]
fn plain_resume_finishes_the_run_that_was_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = tiny("dcgan-28", "synth-digits");
    c.epochs = 1;
    c.max_steps = Some(15); // 12 steps per epoch: the run takes two epochs
    run(c.clone(), &dir.path().join("whole"), false);

    let out = dir.path().join("stopped");
    let stop = StopSignal::default();
    let mut t = Trainer::new(c, true).unwrap();
    let mut observers = gantry::train::observers::standard(&out, true);
    observers.push(Box::new(StopAt(5, stop.clone())));
    let s = t.run(&mut observers, &stop).unwrap();
    assert_eq!((s.outcome, s.steps), (Outcome::Interrupted, 5));
    drop(observers); // they hold the run folder's lock
    let mut t = Trainer::resume(&out, &RunLength::default(), None, true).unwrap();
    let s = train_into(&mut t, &TrainOptions { out: out.clone(), quiet: true }, &StopSignal::default()).unwrap();
    assert_eq!((s.outcome, s.steps), (Outcome::StoppedAtMaxSteps, 15));
    assert_eq!(weights(&out), weights(&dir.path().join("whole")));
    // An explicit flag changes the length on purpose.
    let mut t = Trainer::resume(&out, &RunLength { epochs: None, max_steps: Some(17) }, None, true).unwrap();
    assert_eq!(train_into(&mut t, &TrainOptions { out, quiet: true }, &StopSignal::default()).unwrap().steps, 17);
}

/// The lines of a run's JSON-lines file.
fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn steps_of(lines: &[serde_json::Value]) -> Vec<u64> {
    lines.iter().map(|l| l["step"].as_u64().unwrap()).collect()
}

#[test]
fn evaluations_during_training_are_logged_kept_best_and_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("e");
    let mut c = tiny("mlp-toy", "ring8");
    c.z_dim = 2;
    c.eval_every = Some(5);
    c.keep_best = Some("modes".into());
    c.eval_samples = 500;
    c.max_steps = Some(12);
    run(c.clone(), &out, false);
    let evals = json_lines(&out.join("evals.jsonl"));
    assert_eq!(steps_of(&evals), [5, 10, 12], "every 5 steps and at the end");
    assert!(evals.iter().all(|e| e["modes_total"] == 8 && e["kl"].is_f64()));
    let best: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("checkpoints/best.json")).unwrap()).unwrap();
    let lowest = evals.iter().min_by(|a, b| a["kl"].as_f64().unwrap().total_cmp(&b["kl"].as_f64().unwrap())).unwrap();
    assert_eq!((&best["step"], &best["score"]), (&lowest["step"], &lowest["kl"]), "the best is the lowest KL");
    let best_ckpt = checkpoint::load(&out.join("checkpoints/best.safetensors")).unwrap();
    assert_eq!(best_ckpt.progress.step, best["step"].as_u64().unwrap());
    assert!(!checkpoint::run_checkpoints(&out).iter().any(|p| p.ends_with("best.safetensors")), "never resumed from");
    let status: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("status.json")).unwrap()).unwrap();
    assert_eq!((status["state"].as_str(), status["step"].as_u64(), status["total_steps"].as_u64()), (Some("stopped"), Some(12), Some(12)));
    let files = |lines: Vec<serde_json::Value>| lines.iter().map(|l| format!("{}@{}", l["file"].as_str().unwrap(), l["step"])).collect::<Vec<_>>();
    let grids = files(json_lines(&out.join("samples/index.jsonl")));
    // Step 12 ends epoch 1 (96 samples / 8) and the run: its epoch grid and its step grid.
    assert_eq!(grids, ["step_0000005.png@5", "step_0000010.png@10", "epoch_001.png@12", "step_0000012.png@12"], "each grid listed once, with its step");

    // Resumed to step 20: the first evaluations are kept, the next ones follow.
    c.max_steps = Some(20);
    run(c, &out, true);
    assert_eq!(steps_of(&json_lines(&out.join("evals.jsonl"))), [5, 10, 12, 15, 20]);
    let grids_after = files(json_lines(&out.join("samples/index.jsonl")));
    assert_eq!(grids_after[..4], grids[..]);
    assert_eq!(grids_after[4..], ["step_0000015.png@15", "step_0000020.png@20"]);
}

#[test]
fn evaluation_settings_are_checked_before_training() {
    let mut c = tiny("mlp-toy", "ring8");
    c.keep_best = Some("fid".into());
    let refused = |c: &TrainConfig| Trainer::new(c.clone(), true).err().expect("refused before training").to_string();
    let e = refused(&c);
    assert!(e.contains("keep_best") && e.contains("eval_every"), "{e}");
    c.eval_every = Some(10);
    c.eval_metrics = vec!["modes".into(), "sharpness".into()];
    let e = refused(&c);
    assert!(e.contains("eval_metrics") && e.contains("unknown metric `sharpness`") && e.contains("fid"), "{e}");
}

#[test]
fn a_failed_run_says_so_in_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("f");
    let mut c = tiny("mlp-toy", "ring8");
    c.z_dim = 2;
    // Steps of 1e30 overflow the weights within a few steps.
    c.optim_d.set_lr(1e30);
    c.optim_g.set_lr(1e30);
    let Err(err) = train(c, &out, false) else { panic!("a run with steps of 1e30 should fail") };
    let err = err.to_string();
    let status: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("status.json")).unwrap()).unwrap();
    assert_eq!(status["state"], "failed");
    assert_eq!(status["error"].as_str(), Some(err.as_str()));
}

#[test]
fn a_run_from_before_the_grid_index_keeps_its_grids_when_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("old");
    let mut c = tiny("mlp-toy", "ring8");
    c.z_dim = 2;
    c.max_steps = Some(10);
    run(c.clone(), &out, false);
    std::fs::remove_file(out.join("samples/index.jsonl")).unwrap();
    c.max_steps = Some(15);
    run(c, &out, true);
    let listed: Vec<String> = gantry::run::grids::grids(&out).into_iter().map(|g| g.file).collect();
    // Step 12 ends epoch 1 (96 samples / 8).
    assert_eq!(listed, ["samples/step_0000005.png", "samples/step_0000010.png", "samples/epoch_001.png", "samples/step_0000015.png"]);
}
