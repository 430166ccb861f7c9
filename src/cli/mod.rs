//! The `gantry` command line (clap derive). Library errors become one line and a non-zero exit.

mod eval;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use gantry::data::{self, download};
use gantry::loss::{GanLoss, Penalty};
use gantry::model::zoo::Conditioning;
use gantry::model::{self, ModelOptions};
use gantry::presets;
use gantry::train::checkpoint;
use gantry::train::config::{GNoise, Noise, TrainConfig};
use gantry::train::trainer::{self, Outcome, TrainOptions};

#[derive(Parser)]
#[command(name = "gantry", version, about = "A GAN laboratory: train, evaluate and explore classic GANs on the CPU")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a GAN (no arguments: dcgan-28 on built-in synth-digits).
    Train(TrainArgs),
    /// Generate samples from a trained generator (eval mode).
    Sample {
        /// Run directory or checkpoint file.
        #[arg(long)]
        checkpoint: PathBuf,
        #[arg(long, default_value_t = 64)]
        n: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Write one grid PNG here (default: RUN/sample.png).
        #[arg(long)]
        grid: Option<PathBuf>,
        /// Write each sample as its own PNG into this directory instead.
        #[arg(long)]
        out_dir: Option<PathBuf>,
        /// Normalise with the batch's own BatchNorm statistics instead of the running ones (as the
        /// training grids do); the default is eval mode.
        #[arg(long)]
        batch_stats: bool,
        /// Conditional models: draw every sample from this class (a number or a class name).
        #[arg(long, conflicts_with = "classes")]
        class: Option<String>,
        /// Conditional models: a class-row grid (row = class, columns = noise), e.g. `0-9` or
        /// `0,3,7`; the default for conditional models is every class.
        #[arg(long)]
        classes: Option<String>,
        /// Columns of a class-row grid.
        #[arg(long, default_value_t = 8)]
        per_class: usize,
        /// Also save the z vectors of these samples (safetensors, tensor `z`) for
        /// `gantry interpolate --z-file`.
        #[arg(long)]
        save_z: Option<PathBuf>,
    },
    /// Evaluate: FID/IS/KID/precision-recall of a checkpoint (`--checkpoint RUN --against
    /// mnist-test`), `fid A B`, `modes --checkpoint RUN`, `classifier DATASET`.
    Eval(eval::EvalArgs),
    /// Interpolate in latent space between seeds or saved z vectors (linear or spherical), or do
    /// latent arithmetic; writes a grid PNG.
    Interpolate(eval::InterpolateArgs),
    /// The bilinear game min_x max_y x*y with plain gradient steps: a table and trajectory plots.
    Minimax(eval::MinimaxArgs),
    /// Print each model's layers, output shapes and parameter counts.
    Models {
        name: Option<String>,
        #[arg(long, default_value_t = 100)]
        z_dim: usize,
        /// Image channels for models that take 1 or 3.
        #[arg(long)]
        channels: Option<usize>,
    },
    /// List the presets.
    Presets,
    /// Time a workload (w1-w6, or `layers` for a per-layer profile; `gantry bench list`): median steps/s and images/s over repeats
    /// after warm-up, and peak memory.
    Bench {
        workload: String,
        #[arg(long)]
        batch_size: Option<usize>,
        /// Timed steps per repeat.
        #[arg(long, default_value_t = 10)]
        steps: usize,
        #[arg(long, default_value_t = 5)]
        repeats: usize,
        #[arg(long, default_value_t = 3)]
        warmup: usize,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Print one JSON line instead of the table row.
        #[arg(long)]
        json: bool,
        /// The model whose layers `gantry bench layers` profiles.
        #[arg(long, default_value = "dcgan-28")]
        model: String,
    },
    /// List, fetch or verify datasets.
    Datasets {
        #[command(subcommand)]
        action: DatasetsAction,
    },
}

#[derive(Subcommand)]
enum DatasetsAction {
    /// Known datasets.
    List,
    /// Download a dataset into the cache (MNIST, Fashion-MNIST, CIFAR-10, EMNIST).
    Fetch { name: String },
    /// Check a dataset's files against the official MD5 sums.
    Verify {
        name: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(clap::Args, Default)]
struct TrainArgs {
    /// A preset name (`gantry presets`).
    #[arg(long)]
    preset: Option<String>,
    /// A TOML config file (fields as in presets/*.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Continue the run in this directory exactly where its last checkpoint left it.
    #[arg(long)]
    resume: Option<PathBuf>,
    #[arg(long)]
    model: Option<String>,
    #[arg(long)]
    dataset: Option<String>,
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    image_size: Option<usize>,
    #[arg(long)]
    generated_size: Option<usize>,
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long)]
    batch_size: Option<usize>,
    #[arg(long)]
    lr_g: Option<f64>,
    #[arg(long)]
    lr_d: Option<f64>,
    #[arg(long)]
    d_steps: Option<usize>,
    /// bce, bce-minimax, lsgan, wgan or hinge.
    #[arg(long)]
    loss: Option<String>,
    /// Input-gradient penalty: gp, r1 or dragan (weight with --penalty-weight).
    #[arg(long)]
    penalty: Option<String>,
    /// λ of gp/dragan, γ of r1 (default 10).
    #[arg(long)]
    penalty_weight: Option<f64>,
    /// WGAN weight clipping bound c.
    #[arg(long)]
    clip: Option<f64>,
    /// Class conditioning: none, concat, acgan or projection.
    #[arg(long)]
    conditioning: Option<String>,
    /// Learned label embedding of this size instead of the one-hot.
    #[arg(long)]
    label_embedding: Option<usize>,
    #[arg(long)]
    z_dim: Option<usize>,
    /// normal or uniform.
    #[arg(long)]
    noise: Option<String>,
    /// reuse (G step uses the D step's fakes) or fresh (new noise for G).
    #[arg(long)]
    g_noise: Option<String>,
    #[arg(long)]
    seed: Option<u64>,
    /// Stop after N generator steps (checkpoint and grids written as at an epoch end); more
    /// epochs than configured are run if N needs them. With --resume: train until step N.
    #[arg(long)]
    max_steps: Option<u64>,
    #[arg(long)]
    sample_every: Option<u64>,
    #[arg(long)]
    checkpoint_every: Option<u64>,
    /// Keep a checkpoint per epoch.
    #[arg(long)]
    keep_epoch_checkpoints: bool,
    /// Run directory (default: runs/NAME, numbered if it exists).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    quiet: bool,
}

pub fn run() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Train(a) => train(a),
        Command::Sample { checkpoint, n, seed, grid, out_dir, batch_stats, class, classes, per_class, save_z } => {
            sample(SampleArgs { ckpt: checkpoint, n, seed, grid, out_dir, batch_stats, class, classes, per_class, save_z })
        }
        Command::Eval(a) => eval::run(a),
        Command::Interpolate(a) => eval::interpolate_cmd(a),
        Command::Minimax(a) => eval::minimax_cmd(a),
        Command::Models { name, z_dim, channels } => models(name, z_dim, channels),
        Command::Presets => {
            for (name, text) in presets::PRESETS {
                let c = TrainConfig::from_toml(text, name)?;
                println!("{name:<30} {}", c.description);
            }
            Ok(())
        }
        Command::Datasets { action } => datasets(action),
        Command::Bench { workload, batch_size, steps, repeats, warmup, threads, json, model } => {
            if workload == "list" {
                for (name, desc, batch) in gantry::bench::WORKLOADS {
                    println!("{name}  {desc} (batch {batch})");
                }
                println!("layers  per-layer forward/backward times of --model (default dcgan-28)");
                return Ok(());
            }
            if let Some(n) = threads {
                rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("cannot set the thread count")?;
            }
            if workload == "layers" {
                return print_layer_profile(&model, batch_size.unwrap_or(64), repeats, json);
            }
            let r = gantry::bench::run(&workload, &gantry::bench::BenchOptions { batch_size, steps, repeats, warmup })?;
            let r = gantry::bench::BenchResult { threads: threads.unwrap_or(r.threads), ..r };
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "{}: batch {}, {:.2} steps/s, {:.0} images/s (median of {}; {:?}), peak RSS {:.0} MiB, {} threads",
                    r.workload, r.batch_size, r.steps_per_s, r.images_per_s, r.repeats.len(),
                    r.repeats.iter().map(|v| (v * 100.0).round() / 100.0).collect::<Vec<_>>(), r.peak_rss_mib, r.threads
                );
            }
            Ok(())
        }
    }
}

fn print_layer_profile(model: &str, batch: usize, repeats: usize, json: bool) -> Result<()> {
    let timings = gantry::bench::profile_layers(model, default_shape(model, None), batch, repeats)?;
    let kernels = if gantry::kernels::enabled() { "gantry kernels" } else { "burn ops (GANTRY_KERNELS=burn)" };
    if json {
        for t in &timings {
            println!("{}", serde_json::to_string(t)?);
        }
        return Ok(());
    }
    println!("{model}, batch {batch}, {kernels}; medians of {repeats} in ms");
    println!("{:<4} {:<44} {:>18} {:>9} {:>9}", "net", "layer", "input", "forward", "backward");
    for t in &timings {
        let input = format!("{:?}", t.input);
        println!("{:<4} {:<44} {:>18} {:>9.2} {:>9.2}", format!("{}{}", t.net, t.index), t.layer, input, t.forward_ms, t.backward_ms);
    }
    let (f, b): (f64, f64) = (timings.iter().map(|t| t.forward_ms).sum(), timings.iter().map(|t| t.backward_ms).sum());
    println!("{:<4} {:<44} {:>18} {:>9.2} {:>9.2}", "", "total", "", f, b);
    Ok(())
}

fn parse<T>(v: Option<String>, field: &str, f: impl Fn(&str) -> Option<T>, expected: &str) -> Result<Option<T>> {
    v.map(|s| f(&s).with_context(|| format!("--{field}: `{s}` is not one of {expected}"))).transpose()
}

fn apply(c: &mut TrainConfig, a: &TrainArgs) -> Result<()> {
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = a.$f.clone() { c.$f = v; } )* };
    }
    // Config fields that are themselves optional: a given flag replaces them.
    macro_rules! set_opt {
        ($($f:ident),*) => { $( if a.$f.is_some() { c.$f = a.$f.clone(); } )* };
    }
    set!(model, dataset, epochs, batch_size, d_steps, z_dim, seed, sample_every, checkpoint_every);
    set_opt!(data_dir, image_size, generated_size, max_steps);
    if a.keep_epoch_checkpoints {
        c.keep_epoch_checkpoints = true;
    }
    if let Some(l) = parse(a.loss.clone(), "loss", GanLoss::parse, GanLoss::NAMES)? {
        c.loss = l;
    }
    let noise = |s: &str| match s {
        "normal" => Some(Noise::Normal),
        "uniform" => Some(Noise::Uniform),
        _ => None,
    };
    if let Some(n) = parse(a.noise.clone(), "noise", noise, "normal, uniform")? {
        c.noise = n;
    }
    let gn = |s: &str| match s {
        "reuse" => Some(GNoise::Reuse),
        "fresh" => Some(GNoise::Fresh),
        _ => None,
    };
    if let Some(g) = parse(a.g_noise.clone(), "g-noise", gn, "reuse, fresh")? {
        c.g_noise = g;
    }
    let penalty = |s: &str| {
        let w = a.penalty_weight.unwrap_or(10.0);
        match s {
            "gp" => Some(Some(Penalty::Gp { weight: w })),
            "r1" => Some(Some(Penalty::R1 { gamma: w })),
            "dragan" => Some(Some(Penalty::Dragan { weight: w, scale: 0.5 })),
            "none" => Some(None),
            _ => None,
        }
    };
    if let Some(p) = parse(a.penalty.clone(), "penalty", penalty, "gp, r1, dragan, none")? {
        c.penalty = p;
    }
    if let Some(e) = a.label_embedding {
        c.label_embedding = Some(e);
    }
    if let Some(c_) = a.clip {
        c.clip = Some(c_);
    }
    let cond = |s: &str| match s {
        "none" => Some(Conditioning::None),
        "concat" => Some(Conditioning::Concat),
        "acgan" => Some(Conditioning::Acgan),
        "projection" => Some(Conditioning::Projection),
        _ => None,
    };
    if let Some(k) = parse(a.conditioning.clone(), "conditioning", cond, "none, concat, acgan, projection")? {
        c.conditioning = k;
    }
    if let Some(lr) = a.lr_g {
        c.optim_g.set_lr(lr);
    }
    if let Some(lr) = a.lr_d {
        c.optim_d.set_lr(lr);
    }
    Ok(())
}

fn fresh_dir(name: &str) -> PathBuf {
    let base = PathBuf::from("runs").join(name);
    if !base.exists() {
        return base;
    }
    (2..).map(|i| PathBuf::from("runs").join(format!("{name}-{i}"))).find(|p| !p.exists()).unwrap()
}

fn train(a: TrainArgs) -> Result<()> {
    let (mut config, name) = if let Some(run) = &a.resume {
        let l = checkpoint::load(run)?;
        (l.config, run.display().to_string())
    } else if let Some(path) = &a.config {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
        (TrainConfig::from_toml(&text, &path.display().to_string())?, path.file_stem().unwrap().to_string_lossy().to_string())
    } else {
        let name = a.preset.clone().unwrap_or_else(|| "default".into());
        if a.preset.is_none() && a.model.is_none() && a.dataset.is_none() {
            eprintln!("gantry: no preset given: training the default, dcgan-28 on the built-in synth-digits (preset `default`)");
        }
        (presets::preset(&name)?, name)
    };
    apply(&mut config, &a)?;
    if a.resume.is_some() {
        // A resumed run's length comes from this command's flags, not from the earlier command's.
        config.max_steps = a.max_steps;
    }
    config.validate()?;
    let out = match (&a.resume, &a.out) {
        (Some(r), _) => r.clone(),
        (None, Some(o)) => o.clone(),
        (None, None) => fresh_dir(&name),
    };
    let _ = ctrlc::set_handler(|| {
        trainer::INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        eprintln!("\ngantry: interrupted; saving a checkpoint before exiting");
    });
    let s = trainer::train(config, &TrainOptions { out: out.clone(), resume: a.resume.is_some(), quiet: a.quiet })?;
    let how = match s.outcome {
        Outcome::Finished => "finished",
        Outcome::StoppedAtMaxSteps => "stopped at --max-steps",
        Outcome::Interrupted => "interrupted (checkpoint saved; continue with --resume)",
    };
    println!(
        "{how}: {} generator steps in {:.1} s ({:.0} images/s). Run directory: {} (samples/, loss.png, log.jsonl, checkpoints/)",
        s.steps,
        s.seconds,
        s.images_per_s,
        s.run_dir.display()
    );
    if s.outcome == Outcome::Interrupted {
        std::process::exit(130);
    }
    Ok(())
}

struct SampleArgs {
    ckpt: PathBuf,
    n: usize,
    seed: u64,
    grid: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    batch_stats: bool,
    class: Option<String>,
    classes: Option<String>,
    per_class: usize,
    save_z: Option<PathBuf>,
}

/// A class given as a number or as a name (case-insensitive).
pub(crate) fn parse_class(s: &str, names: &[String]) -> Result<u8> {
    let s = s.trim();
    let k = names.len();
    let idx = match s.parse::<usize>() {
        Ok(i) => i,
        Err(_) => names.iter().position(|n| n.eq_ignore_ascii_case(s)).ok_or_else(|| anyhow::anyhow!("--class: `{s}` is not a class of this model ({})", names.join(", ")))?,
    };
    if idx >= k {
        bail!("--class: {idx} is out of range; this model has {k} classes (0-{})", k - 1);
    }
    Ok(idx as u8)
}

/// `0-9`, `0,3,7` or names, for `--classes`.
fn parse_classes(s: &str, names: &[String]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        match part.split_once('-') {
            Some((a, b)) if a.trim().parse::<usize>().is_ok() => {
                let (a, b) = (parse_class(a, names)?, parse_class(b, names)?);
                if a > b {
                    bail!("--classes: empty range `{part}`");
                }
                out.extend(a..=b);
            }
            _ => out.push(parse_class(part, names)?),
        }
    }
    Ok(out)
}

fn sample(a: SampleArgs) -> Result<()> {
    use burn::tensor::Device;
    use trainer::SampleGrid;
    let (l, gan) = eval::load_gan(&a.ckpt)?;
    let spec = gan.spec.clone();
    let device = Device::flex();
    let mut rng = gantry::rng::Rng::derived(a.seed, "sample", 0);
    let conditional = spec.classes > 0;
    if !conditional && (a.class.is_some() || a.classes.is_some()) {
        bail!("--class/--classes need a conditional model; {} was trained without labels", l.path.display());
    }
    let names = eval::class_names(&l, spec.classes);
    let grid = match (&a.class, &a.classes) {
        (Some(c), _) => SampleGrid::noise(l.config.noise, &spec, a.n, Some(parse_class(c, &names)?), &mut rng, &device),
        (None, Some(list)) => SampleGrid::classes(l.config.noise, &spec, &parse_classes(list, &names)?, &names, a.per_class, &mut rng, &device),
        (None, None) if conditional && a.out_dir.is_none() => {
            let all: Vec<u8> = (0..spec.classes as u8).collect();
            SampleGrid::classes(l.config.noise, &spec, &all, &names, a.per_class, &mut rng, &device)
        }
        (None, None) => SampleGrid::noise(l.config.noise, &spec, a.n, None, &mut rng, &device),
    };
    let run_dir = eval::run_dir(&a.ckpt);
    if let Some(path) = &a.save_z {
        let [n, c, h, w] = grid.z.dims();
        let z = gantry::model::NamedTensor { name: "z".into(), shape: vec![n, c * h * w], data: gantry::model::net::host(&grid.z) };
        gantry::tensor_file::write(path, &[z], Default::default())?;
        println!("wrote {n} z vectors to {} (gantry interpolate --z-file)", path.display());
    }
    if let Some(dir) = a.out_dir {
        if spec.x_shape == [2, 1, 1] {
            bail!("--out-dir writes images; this model generates 2-D points (use --grid for a scatter plot)");
        }
        let x = trainer::generate_grid(&gan, &grid, !a.batch_stats);
        let n = x.dims()[0];
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for i in 0..n {
            let one = x.clone().narrow(0, i, 1);
            gantry::viz::grid::save_grid(&one, 1, &[], &dir.join(format!("{i:05}.png")))?;
        }
        println!("wrote {n} images to {}", dir.display());
    } else {
        let path = a.grid.unwrap_or_else(|| run_dir.join("sample.png"));
        let n = grid.z.dims()[0];
        trainer::write_samples(&gan, &grid, &l.config.dataset, &path, &format!("{n} samples"), !a.batch_stats)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn default_shape(name: &str, channels: Option<usize>) -> [usize; 3] {
    match name {
        "dcgan-upsample" => [channels.unwrap_or(1), 32, 32],
        "dcgan-32" => [channels.unwrap_or(3), 32, 32],
        "dcgan-64" => [channels.unwrap_or(3), 64, 64],
        "mlp-toy" => [2, 1, 1],
        _ => [1, 28, 28],
    }
}

fn models(name: Option<String>, z_dim: usize, channels: Option<usize>) -> Result<()> {
    let names: Vec<&str> = match &name {
        Some(n) => vec![n.as_str()],
        None => model::model_names(),
    };
    for n in names {
        let spec = model::build_spec(n, &ModelOptions::new(z_dim, default_shape(n, channels)))?;
        let desc = model::zoo::MODELS.iter().find(|m| m.0 == n).map(|m| m.1).unwrap_or("");
        println!("== {n}: {desc}");
        for (label, net, input) in [("G", &spec.g, spec.z_shape), ("D", &spec.d, spec.x_shape)] {
            println!("  {label}: input {input:?}");
            let shapes = net.shapes(input).map_err(anyhow::Error::msg)?;
            for (i, (l, s)) in net.layers.iter().zip(shapes).enumerate() {
                let p = l.num_params();
                println!("    {i:>2}  {:<44} -> {:<16} {}", l.name(), format!("{s:?}"), if p > 0 { p.to_string() } else { String::new() });
            }
            println!("    {label} parameters: {}", net.num_params());
        }
    }
    Ok(())
}

fn datasets(action: DatasetsAction) -> Result<()> {
    match action {
        DatasetsAction::List => {
            for kind in data::DATASETS {
                println!("{:<16} {}", kind.name, kind.description);
            }
            println!("cache: {}", download::gantry_home().join("datasets").display());
        }
        DatasetsAction::Fetch { name } => {
            for p in data::fetch_files(&name, false)? {
                println!("ok {}", p.display());
            }
        }
        DatasetsAction::Verify { name, data_dir } => {
            let checks = data::verify_files(&name, data_dir.as_deref())?;
            for c in &checks {
                match (&c.path, &c.digest) {
                    (Some(p), Some(got)) => {
                        println!("{} {} ({got}{})", if c.ok { "ok " } else { "BAD" }, p.display(), if c.ok { "" } else { ", expected the official sum" })
                    }
                    _ => println!("missing {}", c.name),
                }
            }
            let bad = checks.iter().filter(|c| !c.ok).count();
            if bad > 0 {
                bail!("{bad} file(s) of {name} missing or not matching the official MD5");
            }
        }
    }
    Ok(())
}
