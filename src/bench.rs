//! Benchmark workloads (`gantry bench`): the training steps and sampling users wait for, timed as
//! steps/s (median of repeats after warm-up), with the process's peak resident memory. The same
//! workloads are implemented in PyTorch under `bench/pytorch/` for a side-by-side comparison.

use std::time::Instant;

use burn::tensor::{Device, Tensor, TensorData};

use crate::data::{Dataset, Samples};
use crate::device::{DeviceChoice, read_back};
use crate::error::{Error, Result};
use crate::kernels::simd;
use crate::loss::{GanLoss, Penalty};
use crate::config::{GNoise, Noise, TrainConfig};
use crate::model::{ModelOptions, Net, Shape3, build_spec, noise};
use crate::optim::OptimConfig;
use crate::rng::Rng;
use crate::train::Trainer;

/// name, description, default batch size.
pub const WORKLOADS: &[(&str, &str, usize)] = &[
    ("w1", "dcgan-28 train step (BCE, Adam 2e-4, D step + G step)", 64),
    ("w2", "mlp-small train step (BCE, Adam 1e-3)", 128),
    ("w3", "WGAN-GP step, dcgan-28-ln LayerNorm critic: 5 critic steps with the penalty + 1 G step", 64),
    ("w4", "dcgan-32 train step on 3x32x32 (BCE, Adam 2e-4)", 64),
    ("w5", "dcgan-28 generator sampling, eval mode", 256),
    ("w6", "FID feature extraction: InceptionV3 (pytorch-fid's) to pool3 on 299x299, random weights", 50),
    ("p1", "playground frame, default scene (mlp-toy 3x512): 256 generated points with their pull, a 64x64 heat map, the 17x17 manifold, as JSON", 256),
    ("p2", "playground step, default scene (mlp-toy 3x512, ring8, BCE, Adam, batch 256)", 256),
    ("p3", "playground step button to its frame: a Step command to a session until the frame with the new step is published", 256),
    ("p4", "playground playing: frames a playing session publishes (one per timed step)", 256),
];

#[derive(Clone, Debug)]
pub struct BenchOptions {
    pub batch_size: Option<usize>,
    /// Timed steps per repeat.
    pub steps: usize,
    pub repeats: usize,
    pub warmup: usize,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct BenchResult {
    pub workload: String,
    pub batch_size: usize,
    pub steps_per_s: f64,
    pub images_per_s: f64,
    /// Every repeat's steps/s.
    pub repeats: Vec<f64>,
    pub peak_rss_mib: f64,
    pub threads: usize,
    /// The CPU's model name, and the instruction sets the matrix products and gantry's own
    /// kernels chose on it at run time.
    pub cpu: String,
    /// Where the workload ran: `cpu (flex backend)`, or the GPU adapter (`wgpu: NAME (API, type)`).
    pub device: String,
    pub gemm_isa: &'static str,
    pub kernels_isa: &'static str,
}

/// Peak resident set size of this process (Linux `VmHWM`), in MiB.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(0.0, |kb| kb / 1024.0)
}

fn random(shape: [usize; 4], rng: &mut Rng, device: &Device) -> Tensor<4> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(rng.uniform_vec(n, -1.0, 1.0), shape), device)
}

fn adam(lr: f64, beta1: f64, beta2: f64) -> OptimConfig {
    OptimConfig::Adam { lr, beta1, beta2, eps: 1e-8 }
}

/// One timed unit of work, built once and stepped many times.
type Step = Box<dyn FnMut()>;

/// Unlabelled random images of `shape`, enough for a few epochs of `per_step` samples a step.
fn random_images(shape: Shape3, per_step: usize, rng: &mut Rng) -> Dataset {
    let len = per_step * 4;
    let bytes = (0..len * shape.iter().product::<usize>()).map(|_| rng.below(256) as u8).collect();
    // An unlabelled image folder is what this is, as far as training can tell.
    Dataset::new(&crate::data::folder::FOLDER, "random", shape, Samples::Bytes(bytes), None)
}

/// The playground's default scene at `batch` generated points per step.
fn playground_settings(batch: usize) -> crate::playground::Settings {
    crate::playground::Settings { batch_size: batch, ..Default::default() }
}

/// A training workload: the trainer's own generator step on random images.

fn training(config: TrainConfig, shape: Shape3, rng: &mut Rng) -> Result<(Step, usize)> {
    let per_step = config.batch_size * config.d_steps;
    let mut trainer = Trainer::with_data(config, random_images(shape, per_step, rng))?;
    let step: Step = Box::new(move || {
        trainer.step().expect("a benchmark step");
    });
    Ok((step, per_step))
}

fn workload(name: &str, batch: usize, choice: DeviceChoice) -> Result<(Step, usize)> {
    let mut rng = Rng::new(0);
    let device = &choice.device()?;
    let config = |model: &str, z_dim: usize, loss: GanLoss, opt: OptimConfig| TrainConfig {
        model: model.into(),
        z_dim,
        batch_size: batch,
        loss,
        optim_g: opt.clone(),
        optim_d: opt,
        device: choice,
        ..TrainConfig::default()
    };
    Ok(match name {
        "w1" => training(config("dcgan-28", 100, GanLoss::Bce, adam(2e-4, 0.5, 0.999)), [1, 28, 28], &mut rng)?,
        "w2" => {
            let c = TrainConfig { noise: Noise::Uniform, g_noise: GNoise::Fresh, ..config("mlp-small", 96, GanLoss::Bce, adam(1e-3, 0.5, 0.999)) };
            training(c, [1, 28, 28], &mut rng)?
        }
        "w3" => {
            let c = TrainConfig {
                d_steps: 5,
                g_noise: GNoise::Fresh,
                penalty: Some(Penalty::Gp { weight: 10.0 }),
                ..config("dcgan-28-ln", 100, GanLoss::Wgan, adam(1e-4, 0.0, 0.9))
            };
            training(c, [1, 28, 28], &mut rng)?
        }
        "w4" => training(config("dcgan-32", 100, GanLoss::Bce, adam(2e-4, 0.5, 0.999)), [3, 32, 32], &mut rng)?,
        "w5" => {
            let device = device.clone();
            let spec = build_spec("dcgan-28", &ModelOptions::new(100, [1, 28, 28]))?;
            let g = Net::build(&spec.g, &mut rng, &device);
            let mut r = Rng::new(1);
            let step: Step = Box::new(move || {
                let z = noise(Noise::Normal, batch, [100, 1, 1], &mut r, &device);
                let x = g.forward(z, None);
                // Read back, as a user saving images would.
                let _ = read_back(&x);
            });
            (step, batch)
        }
        "w6" => {
            // Random weights (BatchNorms as identities): speed does not depend on the values.
            let tensors = crate::eval::inception::state_dict_shapes()
                .into_iter()
                .map(|(name, shape)| {
                    let n: usize = shape.iter().product();
                    let data = match name.rsplit('.').next() {
                        Some("running_var") | Some("weight") if name.contains(".bn.") => vec![1.0; n],
                        Some("bias" | "running_mean" | "num_batches_tracked") if name.contains(".bn.") => vec![0.0; n.max(1)],
                        _ => rng.uniform_vec(n, -0.05, 0.05),
                    };
                    (name.clone(), crate::model::NamedTensor { name, shape, data })
                })
                .collect();
            let net = crate::eval::inception::FidInception::from_state_dict(&tensors, device).map_err(|m| Error::config("workload", m))?;
            let x = random([batch, 3, crate::eval::inception::SIZE, crate::eval::inception::SIZE], &mut rng, device);
            let step: Step = Box::new(move || {
                let _ = read_back(&net.pool3(x.clone()));
            });
            (step, batch)
        }
        // The playground trains on the CPU (its scenes' configs name no device).
        "p1" | "p2" | "p3" | "p4" if !choice.is_cpu() => return Err(Error::config("device", "the playground workloads run on the CPU")),
        "p1" | "p2" => {
            let mut scene = crate::playground::scene::Scene::new(playground_settings(batch))?;
            let frame = name == "p1";
            let step: Step = Box::new(move || {
                if frame {
                    std::hint::black_box(serde_json::to_string(&scene.frame()).expect("a frame"));
                } else {
                    scene.take(crate::train::StepPart::Full).expect("a playground step");
                }
            });
            (step, 1)
        }
        "p3" | "p4" => {
            use crate::playground::{Command, Limits, Playground};
            let playground = Playground::new(std::env::temp_dir(), Limits { max_sessions: 1, ..Limits::default() })?;
            let id = playground.open(playground_settings(batch))?;
            let ended = || Error::Other("the playground session ended".into());
            let mut frames = playground.frames(id).ok_or_else(ended)?;
            let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().map_err(|e| Error::Other(e.to_string()))?;
            let step_of = |f: &str| serde_json::from_str::<serde_json::Value>(f).ok().and_then(|v| v["step"].as_u64());
            // The first frame of the scene, then the timed ones.
            while step_of(&frames.borrow_and_update()).is_none() {
                rt.block_on(frames.changed()).map_err(|_| ended())?;
            }
            let by_hand = name == "p3";
            if !by_hand {
                playground.send(id, Command::Play).map_err(|_| ended())?;
            }
            let step: Step = Box::new(move || {
                let before = step_of(&frames.borrow_and_update());
                if by_hand {
                    playground.send(id, Command::Step(crate::train::StepPart::Full)).expect("the session takes the command");
                }
                loop {
                    rt.block_on(frames.changed()).expect("the session runs");
                    if step_of(&frames.borrow_and_update()) != before {
                        break;
                    }
                }
            });
            (step, 1)
        }
        other => {
            let names: Vec<&str> = WORKLOADS.iter().map(|w| w.0).collect();
            return Err(Error::config("workload", format!("unknown workload `{other}`; expected one of {}", names.join(", "))));
        }
    })
}

/// Run a workload: `warmup` untimed steps, then `repeats` timings of `steps` steps each.
pub fn run(name: &str, opts: &BenchOptions, choice: DeviceChoice) -> Result<BenchResult> {
    let name = name.to_ascii_lowercase();
    let default_batch = WORKLOADS.iter().find(|w| w.0 == name).map_or(64, |w| w.2);
    let batch = opts.batch_size.unwrap_or(default_batch);
    let (mut step, images_per_step) = workload(&name, batch, choice)?;
    for _ in 0..opts.warmup {
        step();
    }
    let mut rates = Vec::with_capacity(opts.repeats);
    for _ in 0..opts.repeats.max(1) {
        let t = Instant::now();
        for _ in 0..opts.steps.max(1) {
            step();
        }
        rates.push(opts.steps.max(1) as f64 / t.elapsed().as_secs_f64());
    }
    let mut sorted = rates.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = sorted[sorted.len() / 2];
    Ok(BenchResult {
        workload: name,
        batch_size: batch,
        steps_per_s: median,
        images_per_s: median * images_per_step as f64,
        repeats: rates,
        peak_rss_mib: peak_rss_mib(),
        threads: rayon::current_num_threads(),
        cpu: simd::cpu_model(),
        device: choice.describe(),
        gemm_isa: simd::gemm_level().name(),
        kernels_isa: simd::level().name(),
    })
}

/// One layer's time in a training step: forward (on the autodiff device, as in training) and
/// backward (input and parameter gradients), medians in milliseconds.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LayerTiming {
    pub net: &'static str,
    pub index: usize,
    pub layer: String,
    pub input: [usize; 4],
    pub forward_ms: f64,
    pub backward_ms: f64,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Per-layer forward/backward times of a model's G and D on data of `data_shape` at a batch size:
/// each layer runs on its real input (the previous layer's output), the backward pass on a random
/// output gradient.
pub fn profile_layers(model: &str, data_shape: [usize; 3], batch: usize, repeats: usize, device: &Device) -> Result<Vec<LayerTiming>> {
    let train = device.clone().autodiff();
    let spec = build_spec(model, &ModelOptions::new(100, data_shape))?;
    let mut rng = Rng::new(0);
    let mut timings = Vec::new();
    for (net_name, net_spec, input_shape) in [("G", &spec.g, spec.z_shape), ("D", &spec.d, spec.x_shape)] {
        let net = Net::build(net_spec, &mut rng, &train);
        let [c, h, w] = input_shape;
        let mut x = random([batch, c, h, w], &mut rng, &train);
        for (index, (layer, layer_spec)) in net.layers.iter().zip(&net_spec.layers).enumerate() {
            let input = x.dims();
            let (mut fwd, mut bwd) = (Vec::new(), Vec::new());
            let mut out = None;
            for _ in 0..repeats.max(1) + 1 {
                let xi = x.clone().detach().require_grad();
                let t = Instant::now();
                let y = layer.forward(xi.clone(), Some(&mut rng));
                let _ = read_back(&y);
                let f = t.elapsed().as_secs_f64();
                let grad = random(y.dims(), &mut rng, &train);
                let t = Instant::now();
                let grads = (y.clone() * grad).sum().backward();
                let _ = xi.grad(&grads).map(|g| read_back(&g));
                let b = t.elapsed().as_secs_f64();
                fwd.push(f);
                bwd.push(b);
                out = Some(y.detach());
            }
            // The first repeat warms caches and allocators.
            fwd.remove(0);
            bwd.remove(0);
            timings.push(LayerTiming {
                net: net_name,
                index,
                layer: layer_spec.name(),
                input,
                forward_ms: median(fwd) * 1e3,
                backward_ms: median(bwd) * 1e3,
            });
            x = out.expect("at least one repeat");
        }
    }
    Ok(timings)
}
