//! The training loop: batches, k discriminator steps per generator step, logs, grids, plots,
//! checkpoints, resume and Ctrl-C.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::checkpoint::{self, Progress};
use super::config::{GNoise, Noise, TrainConfig};
use super::gan::{DStats, Gan};
use crate::data::{self, DataOptions};
use crate::error::{Error, Result};
use crate::model::zoo::Conditioning;
use crate::model::{GanSpec, ModelOptions, Net, build_spec};
use crate::rng::Rng;
use crate::viz;

/// Set by the Ctrl-C handler; the loop saves a checkpoint and stops.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// One line of `log.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogRecord {
    pub step: u64,
    pub epoch: u64,
    pub loss_d: f32,
    pub loss_g: f32,
    /// Mean D(x) on real data.
    pub d_real: f32,
    /// Mean D(G(z)) seen by the discriminator step.
    pub d_fake: f32,
    pub images_per_s: f32,
    /// Critic losses: the Wasserstein estimate mean D(x) − mean D(G(z)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasserstein: Option<f32>,
    /// Weighted gradient penalty, and the mean and max per-sample ‖∇x D‖ at its points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_norm_mean: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_norm_max: Option<f32>,
    /// ACGAN: the class head's accuracy on the real batch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_accuracy: Option<f32>,
}

pub struct TrainOptions {
    pub out: PathBuf,
    pub resume: bool,
    pub quiet: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Finished,
    StoppedAtMaxSteps,
    Interrupted,
}

pub struct Summary {
    pub outcome: Outcome,
    pub steps: u64,
    pub seconds: f64,
    pub images_per_s: f64,
    pub run_dir: PathBuf,
}

pub fn data_options(c: &TrainConfig, quiet: bool, test_split: bool) -> DataOptions {
    DataOptions {
        data_dir: c.data_dir.clone(),
        test_split,
        generated_size: c.generated_size,
        seed: c.seed,
        quiet,
        image_size: c.image_size,
        channels: None,
    }
}

/// The model pair for `c` on data of `data_shape` with `classes` labels (0: unlabelled). Also
/// refuses what cannot work: conditioning without labels, penalties on BatchNorm critics.
pub fn gan_spec(c: &TrainConfig, data_shape: [usize; 3], classes: usize) -> Result<GanSpec> {
    if c.conditioning != Conditioning::None && classes == 0 {
        return Err(Error::config(
            "conditioning",
            format!("dataset `{}` has no labels; a conditional model needs a labelled dataset (mnist, fashion-mnist, emnist-*, cifar10, synth-digits)", c.dataset),
        ));
    }
    let opts = ModelOptions::new(c.z_dim, data_shape).conditional(c.conditioning, classes).with_label_embedding(c.label_embedding);
    let spec = build_spec(&c.model, &opts)?;
    // BatchNorm couples the samples of a batch, so the per-sample input gradient is undefined.
    if let Some(p) = &c.penalty
        && spec.d.has_batch_norm()
    {
        return Err(Error::config("penalty", format!("the {} penalty needs a critic without BatchNorm; model {} has BatchNorm in D (use dcgan-28-ln or an MLP critic)", p.name(), c.model)));
    }
    Ok(spec)
}

pub fn noise(kind: Noise, n: usize, z: [usize; 3], rng: &mut Rng, device: &Device) -> Tensor<4> {
    let len = n * z.iter().product::<usize>();
    let v = match kind {
        Noise::Normal => rng.normal_vec(len),
        Noise::Uniform => rng.uniform_vec(len, -1.0, 1.0),
    };
    Tensor::from_data(TensorData::new(v, [n, z[0], z[1], z[2]]), device)
}

/// What a sample grid shows: generator noise, labels for conditional models, the layout.
#[derive(Clone)]
pub struct SampleGrid {
    pub z: Tensor<4>,
    pub labels: Option<Vec<u8>>,
    /// Images per row.
    pub per_row: usize,
    /// Row captions (class names of a class grid).
    pub captions: Vec<String>,
}

impl SampleGrid {
    /// `n` samples of `noise_rng`'s noise, 8 per row; conditional models draw class `class`.
    pub fn noise(kind: Noise, spec: &GanSpec, n: usize, class: Option<u8>, rng: &mut Rng, device: &Device) -> SampleGrid {
        let labels = (spec.classes > 0).then(|| vec![class.unwrap_or(0); n]);
        SampleGrid { z: noise(kind, n, spec.z_shape, rng, device), labels, per_row: 8, captions: vec![] }
    }

    /// One row per class in `classes`, `cols` noise vectors shared by every row (a column shows
    /// one z across classes).
    pub fn classes(kind: Noise, spec: &GanSpec, classes: &[u8], names: &[String], cols: usize, rng: &mut Rng, device: &Device) -> SampleGrid {
        let z = noise(kind, cols, spec.z_shape, rng, device);
        let z = z.repeat_dim(0, classes.len());
        let labels: Vec<u8> = classes.iter().flat_map(|&c| std::iter::repeat_n(c, cols)).collect();
        let captions = classes.iter().map(|&c| short_name(names, c)).collect();
        SampleGrid { z, labels: Some(labels), per_row: cols, captions }
    }
}

fn short_name(names: &[String], class: u8) -> String {
    let name = names.get(class as usize).cloned().unwrap_or_else(|| class.to_string());
    name.chars().take(10).collect()
}

/// The fixed grid of a run (a function of the seed only): 64 noise vectors, or for conditional
/// models one row of 8 per class.
pub fn fixed_grid(c: &TrainConfig, spec: &GanSpec, class_names: &[String], device: &Device) -> SampleGrid {
    let mut rng = Rng::derived(c.seed, "fixed-noise", 0);
    if spec.classes > 0 {
        let all: Vec<u8> = (0..spec.classes as u8).collect();
        SampleGrid::classes(c.noise, spec, &all, class_names, 8, &mut rng, device)
    } else {
        SampleGrid::noise(c.noise, spec, 64, None, &mut rng, device)
    }
}

/// Generator in eval mode (running BatchNorm statistics, no dropout) on a plain device.
pub fn eval_generator(g: &Net) -> Net {
    use burn::module::Module;
    g.valid()
}

fn is_points(spec: &GanSpec) -> bool {
    spec.x_shape == [2, 1, 1]
}

/// What the generator makes of a grid's inputs (eval mode, or batch statistics).
pub fn generate_grid(gan: &Gan, grid: &SampleGrid, eval_mode: bool) -> Tensor<4> {
    let g = eval_generator(&gan.g);
    let embedding = gan.g_label.as_ref().map(eval_generator);
    let input = super::gan::g_input(&gan.spec, embedding.as_ref(), grid.z.clone().to_device(&g.device()), grid.labels.as_deref());
    if eval_mode { g.forward(input, None) } else { g.forward_batch_stats(input) }
}

/// Write a grid's samples: an image grid, or a scatter plot for 2-D data.
pub fn write_samples(gan: &Gan, grid: &SampleGrid, dataset: &str, path: &Path, title: &str, eval_mode: bool) -> Result<()> {
    let spec = &gan.spec;
    let x = generate_grid(gan, grid, eval_mode);
    if is_points(spec) {
        let v: Vec<f32> = x.into_data().convert::<f32>().try_to_vec().unwrap();
        let pts: Vec<[f32; 2]> = v.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
        let centres = data::toy::modes(dataset).map(|m| m.0).unwrap_or_default();
        viz::plot::scatter(title, &pts, &centres, viz::plot::TOY_RANGE, &path.with_extension("png"))
    } else {
        viz::grid::save_grid(&x, grid.per_row, &grid.captions, path)
    }
}

fn write_loss_plot(log: &[LogRecord], path: &Path) -> Result<()> {
    use viz::canvas::{BLUE, GREEN, ORANGE, RED};
    use viz::plot::{Series, line_plot};
    let s = |f: fn(&LogRecord) -> f32| log.iter().map(|r| (r.step as f64, f(r) as f64)).collect::<Vec<_>>();
    line_plot(
        "losses and discriminator outputs",
        "generator step",
        &[
            Series { name: "loss_d", points: s(|r| r.loss_d), color: BLUE },
            Series { name: "loss_g", points: s(|r| r.loss_g), color: ORANGE },
            Series { name: "D(x)", points: s(|r| r.d_real), color: GREEN },
            Series { name: "D(G(z))", points: s(|r| r.d_fake), color: RED },
        ],
        path,
    )
}

fn read_log(path: &Path, up_to_step: u64) -> Vec<LogRecord> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<LogRecord>(l).ok())
        .filter(|r| r.step <= up_to_step)
        .collect()
}

fn io<T>(r: std::io::Result<T>, p: &Path) -> Result<T> {
    r.map_err(|e| Error::io(p, e))
}

/// Train from `config` into `opts.out` (or continue the run there with `opts.resume`).
pub fn train(mut config: TrainConfig, opts: &TrainOptions) -> Result<Summary> {
    let run = opts.out.clone();
    let device = Device::flex().autodiff();
    let loaded = if opts.resume { Some(checkpoint::load(&run)?) } else { None };
    if let Some(l) = &loaded {
        // The run's own config wins, except for how long to train.
        let (epochs, max_steps) = (config.epochs, config.max_steps);
        config = l.config.clone();
        config.epochs = epochs.max(config.epochs);
        config.max_steps = max_steps;
    }
    config.validate()?;
    let data = data::load(&config.dataset, &data_options(&config, opts.quiet, false))?;
    let spec = gan_spec(&config, data.shape, data.num_classes())?;
    let mut gan = Gan::from_config(spec.clone(), &config, data.class_names.clone(), &device);
    let (mut progress, mut noise_rng) = match &loaded {
        Some(l) => {
            l.restore(&mut gan)?;
            (l.progress.clone(), l.noise_rng.clone())
        }
        None => (Progress::default(), Rng::derived(config.seed, "noise", 0)),
    };

    for d in ["samples", "checkpoints"] {
        io(std::fs::create_dir_all(run.join(d)), &run.join(d))?;
    }
    crate::tensor_file::write_atomic(&run.join("config.toml"), config.to_toml().as_bytes())?;
    let log_path = run.join("log.jsonl");
    let mut history = if opts.resume { read_log(&log_path, progress.step) } else { vec![] };
    // Rewrite the log so that a resumed run continues it without the steps after the checkpoint.
    let mut log_file = io(std::fs::File::create(&log_path), &log_path)?;
    for r in &history {
        io(writeln!(log_file, "{}", serde_json::to_string(r).unwrap()), &log_path)?;
    }

    let fixed = fixed_grid(&config, &spec, &gan.class_names, &device.clone().inner());
    if !opts.resume {
        let first: Vec<usize> = (0..data.len.min(64)).collect();
        let real = data.batch(&first, &Device::flex());
        if is_points(&spec) {
            let v: Vec<f32> = data.batch(&(0..data.len.min(2000)).collect::<Vec<_>>(), &Device::flex()).into_data().convert::<f32>().try_to_vec().unwrap();
            let pts: Vec<[f32; 2]> = v.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
            let centres = data::toy::modes(&config.dataset).map(|m| m.0).unwrap_or_default();
            viz::plot::scatter("real data", &pts, &centres, viz::plot::TOY_RANGE, &run.join("real.png"))?;
        } else {
            viz::grid::save_grid(&real, 8, &[], &run.join("real.png"))?;
        }
    }

    let per_epoch = data.len / config.batch_size / config.d_steps;
    // `max_steps` sets the run's length: more epochs than configured are run if it needs them.
    let epochs = match config.max_steps {
        Some(n) => config.epochs.max(n.div_ceil(per_epoch.max(1) as u64) as usize),
        None => config.epochs,
    };
    let total_steps = config.max_steps.unwrap_or(u64::MAX).min(per_epoch as u64 * epochs as u64);
    let bar = crate::progress::bar(total_steps, opts.quiet, "training");
    bar.set_position(progress.step);
    let started = Instant::now();
    let start_step = progress.step;
    let mut outcome = Outcome::Finished;
    let save = |gan: &Gan, progress: &Progress, rng: &Rng, config: &TrainConfig| -> Result<()> {
        let last = checkpoint::last_path(&run);
        checkpoint::save(&last, gan, config, progress, rng)?;
        let dir = run.join("checkpoints");
        let step_file = dir.join(format!("step_{:07}.safetensors", progress.step));
        io(std::fs::copy(&last, &step_file), &step_file)?;
        let mut old: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("step_"))).collect())
            .unwrap_or_default();
        old.sort();
        while old.len() > config.keep_checkpoints.max(1) {
            let _ = std::fs::remove_file(old.remove(0));
        }
        Ok(())
    };

    'epochs: while (progress.epoch as usize) < epochs {
        let batches = data::epoch_batches(data.len, config.batch_size, config.drop_last, config.seed, progress.epoch);
        while progress.batch + config.d_steps <= batches.len() {
            if progress.step >= total_steps {
                outcome = Outcome::StoppedAtMaxSteps;
                break 'epochs;
            }
            let t0 = Instant::now();
            // Dropout masks and penalty points: a stream per step, so a resumed run draws the same.
            let mut layer_rng = Rng::derived(config.seed, "layers", progress.step);
            let mut d = DStats::default();
            let mut fake = None;
            // Labels of fakes are drawn uniformly after their noise, from the same RNG.
            let draw_labels = |n: usize, rng: &mut Rng| (spec.classes > 0).then(|| (0..n).map(|_| rng.below(spec.classes) as u8).collect::<Vec<u8>>());
            for k in 0..config.d_steps {
                let idx = &batches[progress.batch + k];
                let real = data.batch(idx, &device);
                let real_labels = if spec.classes > 0 { data.labels_at(idx) } else { None };
                let z = noise(config.noise, idx.len(), spec.z_shape, &mut noise_rng, &device);
                let fake_labels = draw_labels(idx.len(), &mut noise_rng);
                let f = gan.generate(z, fake_labels.as_deref(), &mut layer_rng);
                d = gan.d_step(real, real_labels.as_deref(), f.clone(), fake_labels.as_deref(), &mut layer_rng)?;
                fake = Some((f, fake_labels));
            }
            let n = batches[progress.batch].len();
            let (fake, fake_labels) = match config.g_noise {
                GNoise::Reuse => fake.expect("at least one D step"),
                GNoise::Fresh => {
                    let z = noise(config.noise, n, spec.z_shape, &mut noise_rng, &device);
                    let labels = draw_labels(n, &mut noise_rng);
                    (gan.generate(z, labels.as_deref(), &mut layer_rng), labels)
                }
            };
            let g = gan.g_step(fake, fake_labels.as_deref(), &mut layer_rng);
            progress.batch += config.d_steps;
            progress.step += 1;
            for (what, v) in [("loss_d", d.loss_d), ("loss_g", g.loss_g)] {
                if !v.is_finite() {
                    bar.abandon();
                    return Err(Error::NonFinite { step: progress.step, what: format!("{what} (last good checkpoint: {})", checkpoint::last_path(&run).display()), value: v });
                }
            }
            let ips = (n * config.d_steps) as f32 / t0.elapsed().as_secs_f32();
            let rec = LogRecord {
                step: progress.step,
                epoch: progress.epoch,
                loss_d: d.loss_d,
                loss_g: g.loss_g,
                d_real: d.d_real,
                d_fake: d.d_fake,
                images_per_s: ips,
                wasserstein: config.loss.is_critic().then_some(d.d_real - d.d_fake),
                penalty: d.penalty.map(|p| p.0),
                grad_norm_mean: d.penalty.map(|p| p.1),
                grad_norm_max: d.penalty.map(|p| p.2),
                class_accuracy: d.class_accuracy,
            };
            io(writeln!(log_file, "{}", serde_json::to_string(&rec).unwrap()), &log_path)?;
            bar.set_message(format!("epoch {} loss_d {:.3} loss_g {:.3} {:.0} img/s", progress.epoch + 1, d.loss_d, g.loss_g, ips));
            bar.inc(1);
            history.push(rec);
            if progress.step % config.sample_every == 0 {
                write_samples(&gan, &fixed, &config.dataset, &run.join(format!("samples/step_{:07}.png", progress.step)), &format!("step {}", progress.step), false)?;
            }
            if progress.step % config.checkpoint_every == 0 {
                save(&gan, &progress, &noise_rng, &config)?;
            }
            if INTERRUPTED.load(Ordering::SeqCst) {
                outcome = Outcome::Interrupted;
                break 'epochs;
            }
        }
        // End of epoch: grid, plot, checkpoint.
        progress.epoch += 1;
        progress.batch = 0;
        write_samples(&gan, &fixed, &config.dataset, &run.join(format!("samples/epoch_{:03}.png", progress.epoch)), &format!("epoch {}", progress.epoch), false)?;
        write_loss_plot(&history, &run.join("loss.png"))?;
        save(&gan, &progress, &noise_rng, &config)?;
        if config.keep_epoch_checkpoints {
            let p = run.join(format!("checkpoints/epoch_{:03}.safetensors", progress.epoch));
            io(std::fs::copy(checkpoint::last_path(&run), &p), &p)?;
        }
    }
    if outcome != Outcome::Finished {
        // Stopped mid-epoch: written as at an epoch end.
        write_samples(&gan, &fixed, &config.dataset, &run.join(format!("samples/step_{:07}.png", progress.step)), &format!("step {}", progress.step), false)?;
        write_loss_plot(&history, &run.join("loss.png"))?;
        save(&gan, &progress, &noise_rng, &config)?;
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let images = (progress.step - start_step) as f64 * (config.batch_size * config.d_steps) as f64;
    Ok(Summary { outcome, steps: progress.step, seconds, images_per_s: images / seconds.max(1e-9), run_dir: run })
}
