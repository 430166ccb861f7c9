//! The `gantry` command line (clap derive). Library errors become one line and a non-zero exit.

mod eval;
mod trained;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use gantry::data::{self, download};
use gantry::device::DeviceChoice;
use gantry::loss::GanLoss;
use gantry::loss::penalty::PenaltyKind;
use gantry::model::zoo::Conditioning;
use gantry::model::{self, ModelOptions};
use gantry::presets;
use gantry::config::{GNoise, Noise, TrainConfig};
use gantry::run::{RunLock, layout};
use trained::{DeviceArg, GeneratorArg, warn_skipped};
use gantry::sample;
use gantry::train::{self, Outcome, RunLength, StopSignal, TrainOptions, Trainer};

#[derive(Parser)]
#[command(name = "gantry", version, about = "A GAN laboratory: train, evaluate and explore classic GANs on the CPU")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a GAN (no arguments: preset `default`, on the built-in synth-digits).
    Train(TrainArgs),
    /// Generate samples from a trained generator (eval mode).
    Sample {
        #[command(flatten)]
        generator: GeneratorArg,
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
        /// Generate from these z vectors (a file of `gantry sample --save-z`, or any safetensors
        /// file with a float32 tensor `z`) instead of seed noise.
        #[arg(long, conflicts_with_all = ["classes", "seed"])]
        z_file: Option<PathBuf>,
        /// Write z and the samples as float32 tensors `z` and `x` (safetensors), to compare
        /// numbers rather than pictures (instead of the grid, unless --grid is given too).
        #[arg(long)]
        tensors: Option<PathBuf>,
        #[command(flatten)]
        device: DeviceArg,
        /// Print nothing but errors.
        #[arg(long)]
        quiet: bool,
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
    /// A live dashboard of the runs in RUNS_DIR (default `runs`): curves, grids, evaluations,
    /// comparisons, and the playground. Serves http://127.0.0.1:PORT until Ctrl-C; reads the
    /// runs, and writes only the playground's "save as run".
    Serve(ServeArgs),
    /// The dashboard's playground: a 2-D GAN trained live and steered from the page (GAN Lab on
    /// gantry's engine). Starts the server and prints the playground's address.
    Playground(ServeArgs),
    /// The fixed-noise grids of a run as an animated GIF, in training order.
    Animate {
        run: PathBuf,
        /// Default: RUN/progress.gif.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Time each frame shows, in milliseconds (the last one shows three times as long).
        #[arg(long, default_value_t = 300)]
        frame_ms: u32,
    },
    /// Time a workload (w1-w6, or `layers` for a per-layer profile; `gantry bench list`): median steps/s and images/s over repeats
    /// after warm-up, peak memory, the CPU and the instruction sets chosen on it.
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
        #[command(flatten)]
        device: DeviceArg,
    },
    /// List, fetch or verify datasets.
    Datasets {
        #[command(subcommand)]
        action: DatasetsAction,
    },
    /// Check a run's checkpoints.
    Checkpoint {
        #[command(subcommand)]
        action: CheckpointAction,
    },
}

#[derive(Subcommand)]
enum CheckpointAction {
    /// Verify every checkpoint of a run (checksum, finite values, readable config): one line each,
    /// non-zero exit if any fails.
    Verify { run: PathBuf },
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
    #[arg(long, value_enum)]
    loss: Option<GanLoss>,
    /// Input-gradient penalty on the critic (weight with --penalty-weight).
    #[arg(long, value_enum)]
    penalty: Option<PenaltyKind>,
    /// λ of gp/dragan, γ of r1 (default 10).
    #[arg(long)]
    penalty_weight: Option<f64>,
    /// WGAN weight clipping bound c.
    #[arg(long)]
    clip: Option<f64>,
    /// Class conditioning.
    #[arg(long, value_enum)]
    conditioning: Option<Conditioning>,
    /// Learned label embedding of this size instead of the one-hot.
    #[arg(long)]
    label_embedding: Option<usize>,
    #[arg(long)]
    z_dim: Option<usize>,
    /// Distribution of z.
    #[arg(long, value_enum)]
    noise: Option<Noise>,
    /// Which fakes the generator step uses.
    #[arg(long, value_enum)]
    g_noise: Option<GNoise>,
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
    /// Evaluate every N generator steps and at the end (`evals.jsonl`, shown by `gantry serve`).
    #[arg(long)]
    eval_every: Option<u64>,
    /// The metrics to evaluate, comma-separated: modes, fid, kid (default modes).
    #[arg(long, value_delimiter = ',')]
    eval_metrics: Option<Vec<String>>,
    /// Samples per evaluation (default 2000).
    #[arg(long)]
    eval_samples: Option<usize>,
    /// Keep checkpoints/best.safetensors, the lowest score of this metric so far (one of the
    /// evaluated metrics).
    #[arg(long)]
    keep_best: Option<String>,
    /// pytorch-fid's Inception weights for fid/kid evaluations (default: the downloaded copy).
    #[arg(long)]
    inception_weights: Option<PathBuf>,
    /// Run directory (default: runs/NAME, numbered if it exists).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Skip the mode-coverage check at the end of a run (class histogram of 2000 samples, where
    /// the data has a classifier).
    #[arg(long)]
    no_eval: bool,
    /// Where to train (cpu; wgpu[:N] or vulkan[:N] in GPU builds); a resumed run keeps its own unless given.
    #[arg(long)]
    device: Option<DeviceChoice>,
    #[arg(long)]
    quiet: bool,
}

/// Parses the command line; a usage error is one line, as every other error.
fn parse_args() -> Result<Cli> {
    use clap::error::ErrorKind;
    Cli::try_parse().or_else(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            let text = e.render().to_string();
            let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("For more information") && !l.starts_with("Usage:")).collect();
            Err(anyhow::anyhow!("{}", lines.join(" ").trim_start_matches("error: ")))
        }
    })
}

pub fn run() -> Result<()> {
    let cli = parse_args()?;
    let threads = match &cli.command {
        Command::Bench { threads, .. } => *threads,
        _ => None,
    };
    // The command runs on one of the pool's own threads: each parallel loop then shares its work
    // with the other workers directly, where from outside the pool it had to wake them and sleep
    // until they finished: a context switch around each of the hundreds of parallel loops in a
    // training step (`gantry bench w2`, 2 cores: 13–18 K context switches → 2 K).
    // 8 MiB stacks, as the main thread had (deep recursion in shader compilation or parsers).
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .stack_size(8 << 20)
        .thread_name(|i| format!("gantry-{i}"))
        .build()
        .context("cannot start the worker threads")?;
    pool.install(|| execute(cli))
}

fn execute(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train(a) => train(a),
        Command::Sample { generator, n, seed, grid, out_dir, batch_stats, class, classes, per_class, save_z, z_file, tensors, device, quiet } => {
            sample(SampleArgs { generator, n, seed, grid, out_dir, batch_stats, class, classes, per_class, save_z, z_file, tensors, device, quiet })
        }
        Command::Eval(a) => eval::run(a),
        Command::Interpolate(a) => eval::interpolate_cmd(a),
        Command::Minimax(a) => eval::minimax_cmd(a),
        Command::Models { name, z_dim, channels } => models(name, z_dim, channels),
        Command::Presets => {
            for (name, text) in presets::PRESETS {
                let c = TrainConfig::from_toml(text, name)?;
                gantry::eval::metric::check_names(&c.eval_metrics, c.keep_best.as_deref())?;
                println!("{name:<30} {}", c.description);
            }
            Ok(())
        }
        Command::Datasets { action } => datasets(action),
        Command::Serve(args) => serve(args, "/"),
        Command::Playground(args) => serve(args, "/playground"),
        Command::Animate { run, out, frame_ms } => {
            let out = out.unwrap_or_else(|| layout::file(&run, layout::ANIMATION));
            let frames = gantry::viz::animate::animate(&gantry::run::grids::frames(&run)?, &out, frame_ms)?;
            println!("{}: {frames} frames", out.display());
            Ok(())
        }
        Command::Checkpoint { action: CheckpointAction::Verify { run } } => {
            let checks = gantry::run::checkpoint::verify_run(&run);
            if checks.is_empty() {
                bail!("{}: no checkpoints (expected a run folder with checkpoints/*.safetensors)", run.display());
            }
            for (path, check) in &checks {
                match check {
                    Ok(step) => println!("ok  {} (step {step})", path.display()),
                    Err(why) => println!("BAD {why}"),
                }
            }
            let bad = checks.iter().filter(|c| c.1.is_err()).count();
            if bad > 0 {
                bail!("{bad} of {} checkpoints of {} do not verify", checks.len(), run.display());
            }
            Ok(())
        }
        Command::Bench { workload, batch_size, steps, repeats, warmup, json, model, device, .. } => {
            if workload == "list" {
                for (name, desc, batch) in gantry::bench::WORKLOADS {
                    println!("{name}  {desc} (batch {batch})");
                }
                println!("layers  per-layer forward/backward times of --model (default dcgan-28)");
                return Ok(());
            }
            if workload == "layers" {
                return print_layer_profile(&model, batch_size.unwrap_or(64), repeats, json, &device.device()?);
            }
            let r = gantry::bench::run(&workload, &gantry::bench::BenchOptions { batch_size, steps, repeats, warmup }, device.device)?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "{}: batch {}, {:.2} steps/s, {:.0} images/s (median of {}; {:?}), peak RSS {:.0} MiB, {} threads; {} (gemm {}, kernels {}); device {}",
                    r.workload, r.batch_size, r.steps_per_s, r.images_per_s, r.repeats.len(),
                    r.repeats.iter().map(|v| (v * 100.0).round() / 100.0).collect::<Vec<_>>(), r.peak_rss_mib, r.threads,
                    r.cpu, r.gemm_isa, r.kernels_isa, r.device
                );
            }
            Ok(())
        }
    }
}

fn print_layer_profile(model: &str, batch: usize, repeats: usize, json: bool, device: &burn::tensor::Device) -> Result<()> {
    let timings = gantry::bench::profile_layers(model, gantry::model::zoo::model(model)?.default_shape(None), batch, repeats, device)?;
    let kernels = if gantry::kernels::enabled() { "gantry kernels" } else { "burn ops (GANTRY_KERNELS=burn)" };
    if json {
        for t in &timings {
            println!("{}", serde_json::to_string(t)?);
        }
        return Ok(());
    }
    use gantry::kernels::simd;
    println!("{model}, batch {batch}, {kernels}; medians of {repeats} in ms; {} (gemm {}, kernels {})", simd::cpu_model(), simd::gemm_level().name(), simd::level().name());
    println!("{:<4} {:<44} {:>18} {:>9} {:>9}", "net", "layer", "input", "forward", "backward");
    for t in &timings {
        let input = format!("{:?}", t.input);
        println!("{:<4} {:<44} {:>18} {:>9.2} {:>9.2}", format!("{}{}", t.net, t.index), t.layer, input, t.forward_ms, t.backward_ms);
    }
    let (f, b): (f64, f64) = (timings.iter().map(|t| t.forward_ms).sum(), timings.iter().map(|t| t.backward_ms).sum());
    println!("{:<4} {:<44} {:>18} {:>9.2} {:>9.2}", "", "total", "", f, b);
    Ok(())
}

/// Flags over the config: each given flag replaces its field.
fn apply(c: &mut TrainConfig, a: &TrainArgs) {
    macro_rules! set {
        ($($f:ident),*) => { $( if let Some(v) = a.$f.clone() { c.$f = v; } )* };
    }
    // Config fields that are themselves optional: a given flag replaces them.
    macro_rules! set_opt {
        ($($f:ident),*) => { $( if a.$f.is_some() { c.$f = a.$f.clone(); } )* };
    }
    set!(model, dataset, epochs, batch_size, d_steps, z_dim, seed, sample_every, checkpoint_every, loss, noise, g_noise, conditioning, device, eval_metrics, eval_samples);
    set_opt!(data_dir, image_size, generated_size, max_steps, label_embedding, clip, eval_every, keep_best, inception_weights);
    if a.keep_epoch_checkpoints {
        c.keep_epoch_checkpoints = true;
    }
    if let Some(kind) = a.penalty {
        c.penalty = kind.with_weight(a.penalty_weight);
    }
    if let Some(lr) = a.lr_g {
        c.optim_g.set_lr(lr);
    }
    if let Some(lr) = a.lr_d {
        c.optim_d.set_lr(lr);
    }
}

#[derive(clap::Args)]
struct ServeArgs {
    #[arg(default_value = "runs")]
    runs_dir: PathBuf,
    #[arg(long, default_value_t = 6006)]
    port: u16,
    /// The address to listen on; other machines can reach the dashboard only with e.g. 0.0.0.0.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Playground sessions training at once (one more is refused with a message).
    #[arg(long, default_value_t = 4)]
    sessions: usize,
    /// Steps per second a playground session takes at most.
    #[arg(long, default_value_t = 100.0)]
    max_steps_per_s: f64,
}

fn serve(args: ServeArgs, page: &str) -> Result<()> {
    let runs_dir = args.runs_dir;
    if page == "/playground" {
        // The playground saves its runs here; an empty folder is a fine start.
        std::fs::create_dir_all(&runs_dir).with_context(|| format!("cannot create {}", runs_dir.display()))?;
    }
    if !runs_dir.is_dir() {
        bail!("{}: no such folder of runs (train one with `gantry train`, or name the folder: gantry serve FOLDER)", runs_dir.display());
    }
    if args.sessions == 0 || !(args.max_steps_per_s.is_finite() && args.max_steps_per_s > 0.0) {
        bail!("--sessions and --max-steps-per-s must be positive");
    }
    let limits = gantry::playground::Limits { max_sessions: args.sessions, max_steps_per_s: args.max_steps_per_s, ..Default::default() };
    let addr = std::net::SocketAddr::new(args.host, args.port);
    let server = gantry::serve::start(&gantry::serve::ServeOptions { runs_dir: runs_dir.clone(), addr, playground: limits })?;
    println!("gantry: serving the runs in {} at http://{}{page} (Ctrl-C stops)", runs_dir.display(), server.addr);
    server.wait()?;
    Ok(())
}

/// A stop signal that Ctrl-C and SIGTERM raise.
fn stop_on_ctrl_c() -> StopSignal {
    let stop = StopSignal::default();
    let raised = stop.clone();
    let _ = ctrlc::set_handler(move || {
        raised.request();
        eprintln!("\ngantry: interrupted; saving a checkpoint before exiting");
    });
    stop
}

fn train(a: TrainArgs) -> Result<()> {
    // `_lock` is held to the end, the mode-coverage check included.
    let (mut trainer, out, _lock) = match &a.resume {
        Some(run) => {
            // The run's own config and length, unless this command changes the length or device;
            // locked before its checkpoint is read, so no other writer can move it on meanwhile.
            if !run.exists() {
                let message = "no such run folder or checkpoint file".to_string();
                return Err(gantry::Error::Checkpoint { path: run.clone(), message }.into());
            }
            let out = layout::run_dir_of(run);
            let lock = RunLock::acquire(&out)?;
            let length = RunLength { epochs: a.epochs, max_steps: a.max_steps };
            let trainer = Trainer::resume(run, &length, a.device, a.quiet)?;
            if let Some(from) = &trainer.resumed_from {
                warn_skipped(&trainer.skipped_checkpoints, &format!("resuming from {} (step {})", from.display(), trainer.progress.step));
            }
            (trainer, out, lock)
        }
        None => {
            let (mut config, name) = match &a.config {
                Some(path) => {
                    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
                    (TrainConfig::from_toml(&text, &path.display().to_string())?, path.file_stem().unwrap_or_default().to_string_lossy().to_string())
                }
                None => {
                    let name = a.preset.clone().unwrap_or_else(|| "default".into());
                    let config = presets::preset(&name)?;
                    if a.preset.is_none() && a.model.is_none() && a.dataset.is_none() {
                        eprintln!("gantry: no preset given: training the default, {} on the built-in {} (preset `default`)", config.model, config.dataset);
                    }
                    (config, name)
                }
            };
            apply(&mut config, &a);
            // Refused before a run folder is made for it.
            config.validate()?;
            gantry::eval::metric::check_names(&config.eval_metrics, config.keep_best.as_deref())?;
            let out = a.out.clone().unwrap_or_else(|| layout::fresh_run_dir(&name));
            let lock = RunLock::acquire(&out)?;
            (Trainer::new(config, a.quiet)?, out, lock)
        }
    };
    if !trainer.config.device.is_cpu() && !a.quiet {
        eprintln!("gantry: training on {}", trainer.config.device.describe());
    }
    let s = train::train_into(&mut trainer, &TrainOptions { out: out.clone(), quiet: a.quiet }, &stop_on_ctrl_c())?;
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
        out.display()
    );
    if s.outcome == Outcome::Interrupted {
        std::process::exit(130);
    }
    if !a.no_eval && train::mode_check::applies(&trainer.config) {
        match train::mode_check::run(&out, &trainer.config.device.device()?, a.quiet) {
            Ok((report, files)) => println!("{} (histogram: {})", report.headline(), files[0].display()),
            // The run itself succeeded; the check is extra.
            Err(e) => eprintln!("gantry: mode-coverage check skipped: {e:#}"),
        }
    }
    Ok(())
}

struct SampleArgs {
    generator: GeneratorArg,
    n: usize,
    seed: u64,
    grid: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    batch_stats: bool,
    class: Option<String>,
    classes: Option<String>,
    per_class: usize,
    save_z: Option<PathBuf>,
    z_file: Option<PathBuf>,
    tensors: Option<PathBuf>,
    device: DeviceArg,
    quiet: bool,
}

fn sample(a: SampleArgs) -> Result<()> {
    let model = a.generator.open(&a.device.device()?)?;
    let conditional = model.spec().classes() > 0;
    let class = a.class.as_deref().map(|c| model.parse_class(c).map_err(|e| anyhow::anyhow!("--class: {e}"))).transpose()?;
    sample::check_count("n", a.n, model.spec().x_shape.iter().product())?;
    let grid = match (&a.z_file, class, &a.classes) {
        (Some(f), _, _) => sample::SampleGrid::from_z(model.spec(), &sample::load_z(f)?, class, &model.device()).with_context(|| format!("--z-file {}", f.display()))?,
        (None, Some(c), _) => model.noise_grid(a.n, Some(c), a.seed),
        (None, None, Some(list)) => model.class_grid(&model.parse_classes(list).map_err(|e| anyhow::anyhow!("--classes: {e}"))?, a.per_class, a.seed),
        (None, None, None) if conditional && a.out_dir.is_none() => {
            model.class_grid(&model.spec().labels.all(), a.per_class, a.seed)
        }
        (None, None, None) => model.noise_grid(a.n, None, a.seed),
    };
    let say = |line: String| {
        if !a.quiet {
            println!("{line}");
        }
    };
    if let Some(path) = &a.save_z {
        let n = sample::save_z(&grid, path)?;
        say(format!("wrote {n} z vectors to {} (gantry interpolate --z-file)", path.display()));
    }
    // The samples as numbers, made once for --tensors and --out-dir.
    let x = (a.tensors.is_some() || a.out_dir.is_some()).then(|| model.generate_grid(&grid, !a.batch_stats));
    if let (Some(path), Some(x)) = (&a.tensors, &x) {
        let n = sample::save_tensors(&grid, x, path)?;
        say(format!("wrote z and x of {n} samples to {}", path.display()));
    }
    if let (Some(dir), Some(x)) = (&a.out_dir, &x) {
        model.require_images("--out-dir writes images (use --grid for a scatter plot)")?;
        let n = gantry::eval::write_images(x, dir)?;
        say(format!("wrote {n} images to {}", dir.display()));
    } else if a.tensors.is_none() || a.grid.is_some() {
        let path = a.grid.clone().unwrap_or_else(|| model.run_file(layout::SAMPLE_GRID));
        let n = grid.z.dims()[0];
        model.write_grid(&grid, &path, &format!("{n} samples"), !a.batch_stats)?;
        say(format!("wrote {}", path.display()));
    }
    Ok(())
}

fn models(name: Option<String>, z_dim: usize, channels: Option<usize>) -> Result<()> {
    let entries: Vec<&model::zoo::ModelEntry> = match &name {
        Some(n) => vec![model::zoo::model(n)?],
        None => model::zoo::MODELS.iter().collect(),
    };
    for entry in entries {
        let spec = model::build_spec(entry.name, &ModelOptions::new(z_dim, entry.default_shape(channels)))?;
        println!("== {}: {}", entry.name, entry.description);
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
