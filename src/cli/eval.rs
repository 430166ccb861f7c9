//! `gantry eval …`, `gantry interpolate`, `gantry minimax`: judging and exploring trained models.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use burn::tensor::{Device, Tensor};
use clap::Subcommand;

use gantry::data::{self, DataOptions};
use gantry::eval::{self, FidExtractor, Image8, classifier, interpolate, minimax, modes, npz, stats, toy2d};
use gantry::model::GanSpec;
use gantry::model::net::host;
use gantry::rng::Rng;
use gantry::train::checkpoint::{self, Loaded};
use gantry::train::gan::Gan;
use gantry::train::trainer::{self, SampleGrid};

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EvalArgs {
    #[command(subcommand)]
    action: Option<EvalAction>,
    /// FID, IS, KID and precision/recall of a trained generator's samples: run directory or checkpoint.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Number of generated samples.
    #[arg(long, default_value_t = 10_000)]
    n: usize,
    /// Reference set: DATASET-test / DATASET-train (e.g. mnist-test), a folder of images, or a
    /// statistics file (.npz, FID only). Default: the test split of the run's dataset.
    #[arg(long)]
    against: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// pytorch-fid's `pt_inception-2015-12-05-6726825d.pth`, or its state dict as .safetensors
    /// (default: the cached copy, else a download).
    #[arg(long)]
    inception_weights: Option<PathBuf>,
    /// Where dataset files are (as for `train`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum EvalAction {
    /// FID between two sets, each a folder of images, a statistics file (.npz) or DATASET-test /
    /// DATASET-train. With --save-stats: write the first set's statistics to the second path.
    Fid {
        a: String,
        b: String,
        #[arg(long)]
        save_stats: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Mode coverage of a trained generator: class histogram (bar chart), KL to uniform, modes
    /// covered, confidence, classifier-feature Fréchet distance; 2-D and Stacked-MNIST benchmarks.
    Modes {
        #[arg(long)]
        checkpoint: PathBuf,
        #[arg(long, default_value_t = 10_000)]
        n: usize,
        /// Folder for the report files (default: RUN/eval).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Train (or load from the cache) the domain classifier of a labelled dataset and report its
    /// test accuracy.
    Classifier {
        dataset: String,
        #[arg(long, default_value_t = 5)]
        epochs: usize,
        #[command(flatten)]
        common: Common,
    },
}

pub fn run(a: EvalArgs) -> Result<()> {
    match a.action {
        Some(EvalAction::Fid { a: first, b, save_stats, common }) => fid(&first, &b, save_stats, &common),
        Some(EvalAction::Modes { checkpoint, n, out, common }) => modes_report(&checkpoint, n, out, &common),
        Some(EvalAction::Classifier { dataset, epochs, common }) => {
            let opts = data_opts(&common, false);
            let c = classifier::load_or_train(&dataset, &opts, &classifier::TrainOptions { epochs, seed: common.seed, quiet: common.quiet, ..Default::default() })?;
            let path = classifier::cache_path(&data::load(&dataset, &opts)?);
            println!("{} classifier: test accuracy {:.2}% ({})", c.dataset, 100.0 * c.test_accuracy, path.display());
            Ok(())
        }
        None => match a.checkpoint {
            Some(ckpt) => inception_eval(&ckpt, a.n, a.against.as_deref(), &a.common),
            None => bail!("gantry eval needs --checkpoint RUN (or a subcommand: fid, modes, classifier); see gantry eval --help"),
        },
    }
}

fn data_opts(c: &Common, test_split: bool) -> DataOptions {
    DataOptions { data_dir: c.data_dir.clone(), test_split, seed: 0, quiet: c.quiet, ..Default::default() }
}

/// A checkpoint's generator (and the rest of the pair) on the plain CPU device.
pub fn load_gan(ckpt: &Path) -> Result<(Loaded, Gan)> {
    let l = checkpoint::load(ckpt)?;
    let spec = trainer::gan_spec(&l.config, l.data_shape, l.class_names.len())?;
    let mut gan = Gan::from_config(spec, &l.config, l.class_names.clone(), &Device::flex());
    l.restore(&mut gan)?;
    Ok((l, gan))
}

/// The class names of a loaded conditional model; numbers when the checkpoint carries none.
pub fn class_names(l: &Loaded, classes: usize) -> Vec<String> {
    if l.class_names.len() == classes { l.class_names.clone() } else { (0..classes).map(|c| c.to_string()).collect() }
}

pub fn run_dir(ckpt: &Path) -> PathBuf {
    if ckpt.is_dir() { ckpt.to_path_buf() } else { ckpt.parent().and_then(|p| p.parent()).map(PathBuf::from).unwrap_or_default() }
}

/// `n` samples in eval mode, in batches; conditional models get the classes in turn (0, 1, …).
fn generate(gan: &Gan, l: &Loaded, n: usize, seed: u64, quiet: bool) -> (Tensor<4>, Option<Vec<u8>>) {
    let spec: &GanSpec = &gan.spec;
    let device = Device::flex();
    let mut rng = Rng::derived(seed, "eval-noise", 0);
    let labels = (spec.classes > 0).then(|| (0..n).map(|i| (i % spec.classes) as u8).collect::<Vec<u8>>());
    let bar = gantry::progress::bar(n as u64, quiet, "generating");
    let mut parts = Vec::new();
    for start in (0..n).step_by(500) {
        let m = (n - start).min(500);
        let grid = SampleGrid {
            z: trainer::noise(l.config.noise, m, spec.z_shape, &mut rng, &device),
            labels: labels.as_ref().map(|y| y[start..start + m].to_vec()),
            per_row: 8,
            captions: vec![],
        };
        parts.push(trainer::generate_grid(gan, &grid, true));
        bar.inc(m as u64);
    }
    bar.finish_and_clear();
    (Tensor::cat(parts, 0), labels)
}

enum Source {
    Images(Vec<Image8>),
    Stats(stats::Gaussian),
}

/// A folder, an .npz statistics file, or DATASET-test / DATASET-train.
fn source(spec: &str, c: &Common, image_size: Option<usize>) -> Result<Source> {
    let path = Path::new(spec);
    if path.extension().is_some_and(|e| e == "npz") {
        return Ok(Source::Stats(npz::load_stats(path)?));
    }
    if path.is_dir() {
        return Ok(Source::Images(eval::read_folder(path)?));
    }
    let (name, test) = match (spec.strip_suffix("-test"), spec.strip_suffix("-train")) {
        (Some(n), _) => (n, true),
        (_, Some(n)) => (n, false),
        _ => bail!("`{spec}` is not a folder, an .npz statistics file, or DATASET-test / DATASET-train (e.g. mnist-test)"),
    };
    let ds = data::load(name, &DataOptions { image_size, ..data_opts(c, test) })?;
    Ok(Source::Images(eval::dataset_images(&ds)?))
}

fn extractor(c: &Common) -> Result<FidExtractor> {
    let path = eval::locate_fid_weights(c.inception_weights.as_deref(), c.quiet)?;
    Ok(FidExtractor::from_file(&path)?)
}

fn gaussian(net: &FidExtractor, s: &Source, what: &str, quiet: bool) -> stats::Gaussian {
    match s {
        Source::Stats(g) => g.clone(),
        Source::Images(imgs) => {
            let f = net.pool3(imgs, quiet, what);
            stats::Gaussian::fit(&stats::Features::from_f32(imgs.len(), eval::inception::FEATURES, &f))
        }
    }
}

fn fid(a: &str, b: &str, save_stats: bool, c: &Common) -> Result<()> {
    let net = extractor(c)?;
    let first = source(a, c, None)?;
    let start = std::time::Instant::now();
    let ga = gaussian(&net, &first, a, c.quiet);
    if let Source::Images(imgs) = &first
        && !c.quiet
    {
        eprintln!("({} images of {a} in {:.1} s)", imgs.len(), start.elapsed().as_secs_f64());
    }
    if save_stats {
        npz::save_stats(Path::new(b), &ga)?;
        println!("wrote {} (mu, sigma of {a})", b);
        return Ok(());
    }
    let gb = gaussian(&net, &source(b, c, None)?, b, c.quiet);
    println!("FID: {:.4}", shown(stats::frechet_distance(&ga, &gb)));
    Ok(())
}

/// FID is non-negative; a rounding-level negative value (a set against itself) prints as 0.
fn shown(fid: f64) -> f64 {
    if fid < 0.0 && fid > -1e-6 { 0.0 } else { fid }
}

fn inception_eval(ckpt: &Path, n: usize, against: Option<&str>, c: &Common) -> Result<()> {
    let (l, gan) = load_gan(ckpt)?;
    if gan.spec.x_shape == [2, 1, 1] {
        bail!("{} generates 2-D points; use `gantry eval modes` for the 2-D benchmarks", l.path.display());
    }
    let against = against.map(str::to_string).unwrap_or_else(|| format!("{}-test", l.config.dataset));
    let reference = source(&against, c, l.config.image_size)?;
    let net = extractor(c)?;
    let started = std::time::Instant::now();
    let (x, _) = generate(&gan, &l, n, c.seed, c.quiet);
    let generated = net.outputs(&eval::quantise(&x), c.quiet, "generated");
    let images_per_s = n as f64 / started.elapsed().as_secs_f64();
    let out = run_dir(ckpt).join("eval");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    match reference {
        Source::Stats(g) => {
            let fid = stats::frechet_distance(&stats::Gaussian::fit(&generated.pool3), &g);
            let (is_mean, is_std) = generated.inception_score();
            println!("FID {fid:.3} against {against} (statistics file); IS {is_mean:.3} ± {is_std:.3}; {n} samples");
        }
        Source::Images(imgs) => {
            let reference = net.outputs(&imgs, c.quiet, &against);
            let r = eval::inception_report(&generated, &reference, c.seed);
            println!("{n} samples of {} against {against} ({} images):", l.path.display(), imgs.len());
            println!("  FID       {:.3}", r.fid);
            println!("  IS        {:.3} ± {:.3}", r.is_mean, r.is_std);
            println!("  KID       {:.5} ± {:.5}", r.kid_mean, r.kid_std);
            println!("  precision {:.3}   recall {:.3} (k = 3)", r.precision, r.recall);
            std::fs::write(out.join("inception.json"), serde_json::to_string_pretty(&r)?)?;
            println!("wrote {}", out.join("inception.json").display());
        }
    }
    if !c.quiet {
        eprintln!("generation and Inception features of the generated set: {images_per_s:.1} images/s");
    }
    Ok(())
}

fn modes_report(ckpt: &Path, n: usize, out: Option<PathBuf>, c: &Common) -> Result<()> {
    let (l, gan) = load_gan(ckpt)?;
    let out = out.unwrap_or_else(|| run_dir(ckpt).join("eval"));
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let dataset = l.config.dataset.as_str();
    let (x, requested) = generate(&gan, &l, n, c.seed, c.quiet);
    let train_opts = classifier::TrainOptions { seed: 0, quiet: c.quiet, ..Default::default() };
    if let Some((centres, std)) = data::toy::modes(dataset) {
        let pts: Vec<[f32; 2]> = host(&x).chunks(2).map(|p| [p[0], p[1]]).collect();
        let r = toy2d::report(dataset, &pts, &centres, std);
        gantry::viz::plot::scatter(&format!("{dataset}: {n} samples"), &pts, &centres, gantry::viz::plot::TOY_RANGE, &out.join("modes_scatter.png"))?;
        std::fs::write(out.join("modes.json"), serde_json::to_string_pretty(&r)?)?;
        println!("{}", r.sentence());
        println!("wrote {} and {}", out.join("modes_scatter.png").display(), out.join("modes.json").display());
        return Ok(());
    }
    if dataset == "stacked-mnist" {
        let clf = classifier::load_or_train("mnist", &data_opts(c, false), &train_opts)?;
        let preds: Vec<classifier::Prediction> = (0..3).map(|ch| clf.predict(&x.clone().narrow(1, ch, 1))).collect();
        let r = modes::stacked_report([&preds[0], &preds[1], &preds[2]]);
        std::fs::write(out.join("modes.json"), serde_json::to_string_pretty(&r)?)?;
        println!("Stacked MNIST: {} of 1000 modes covered by {} samples; KL(histogram || uniform) = {:.3} nats", r.modes, r.samples, r.kl_uniform);
        return Ok(());
    }
    let opts = DataOptions { image_size: l.config.image_size, ..data_opts(c, false) };
    let clf = classifier::load_or_train(dataset, &opts, &train_opts)?;
    if clf.shape != gan.spec.x_shape {
        bail!("the {dataset} classifier takes {:?} images, this generator makes {:?}", clf.shape, gan.spec.x_shape);
    }
    let test = data::load(dataset, &DataOptions { test_split: true, ..opts })?;
    let idx: Vec<usize> = (0..test.len.min(10_000)).collect();
    let reference = clf.predict(&test.batch(&idx, &Device::flex()));
    let reference = stats::Features::from_f32(idx.len(), classifier::FEATURE_DIM, &reference.features);
    let pred = clf.predict(&x);
    let r = modes::report(&pred, &clf.class_names, requested.as_deref(), Some(&reference));
    print!("{}", r.table());
    println!("Are all classes generated equally often? {}", r.sentence);
    println!("(classifier: LeNet, {:.2}% test accuracy on {dataset})", 100.0 * clf.test_accuracy);
    r.bar_chart(&format!("{dataset}: classes of {n} samples (red: uniform)"), &out.join("modes.png"))?;
    std::fs::write(out.join("modes.json"), serde_json::to_string_pretty(&r)?)?;
    println!("wrote {} and {}", out.join("modes.png").display(), out.join("modes.json").display());
    Ok(())
}

#[derive(clap::Args)]
pub struct InterpolateArgs {
    #[arg(long)]
    checkpoint: PathBuf,
    /// Noise seeds of the end points (one row per consecutive pair: 0 1 2 gives two rows).
    #[arg(long, num_args = 2.., default_values_t = [0u64, 1])]
    seeds: Vec<u64>,
    /// Images per row, end points included.
    #[arg(long, default_value_t = 10)]
    steps: usize,
    /// Spherical interpolation (slerp) instead of linear.
    #[arg(long)]
    spherical: bool,
    /// Conditional models: the class to draw (number or name).
    #[arg(long)]
    class: Option<String>,
    /// Saved z vectors (`gantry sample --save-z FILE`): interpolate between --from and --to of
    /// this file, or evaluate --expr.
    #[arg(long)]
    z_file: Option<PathBuf>,
    #[arg(long, requires = "z_file")]
    from: Option<usize>,
    #[arg(long, requires = "z_file")]
    to: Option<usize>,
    /// Latent arithmetic on the saved z vectors, e.g. "3 - 1 + 5".
    #[arg(long, requires = "z_file")]
    expr: Option<String>,
    /// Output PNG (default: RUN/interpolation.png or RUN/arithmetic.png).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn load_z_file(path: &Path) -> Result<Vec<Vec<f32>>> {
    let f = gantry::tensor_file::read(path)?;
    let z = f.tensors.get("z").with_context(|| format!("{}: tensor `z` missing (expected a file from gantry sample --save-z)", path.display()))?;
    let n = *z.shape.first().unwrap_or(&0);
    if n == 0 {
        bail!("{}: no z vectors in the file", path.display());
    }
    Ok(z.data.chunks(z.data.len() / n).map(|c| c.to_vec()).collect())
}

pub fn interpolate_cmd(a: InterpolateArgs) -> Result<()> {
    let (l, gan) = load_gan(&a.checkpoint)?;
    let spec = gan.spec.clone();
    if spec.x_shape == [2, 1, 1] {
        bail!("{} generates 2-D points; interpolation grids need an image model", l.path.display());
    }
    let zlen: usize = spec.z_shape.iter().product();
    let class = match &a.class {
        Some(c) if spec.classes > 0 => Some(super::parse_class(c, &class_names(&l, spec.classes))?),
        Some(_) => bail!("--class needs a conditional model; {} was trained without labels", l.path.display()),
        None => None,
    };
    let draw = |seed: u64| trainer::noise(l.config.noise, 1, spec.z_shape, &mut Rng::derived(seed, "interpolate", 0), &Device::flex());
    let (zs, per_row, default_name): (Vec<Vec<f32>>, usize, &str) = match (&a.z_file, &a.expr) {
        (Some(f), Some(expr)) => {
            let saved = load_z_file(f)?;
            let terms = interpolate::parse_expression(expr).map_err(anyhow::Error::msg).context("--expr")?;
            let mut row: Vec<Vec<f32>> = terms.iter().map(|&(_, i)| saved.get(i).cloned().with_context(|| format!("--expr: z index {i} out of range ({} saved)", saved.len()))).collect::<Result<_>>()?;
            row.push(interpolate::arithmetic(&saved, &terms).map_err(anyhow::Error::msg)?);
            let k = row.len();
            (row, k, "arithmetic.png")
        }
        (Some(f), None) => {
            let saved = load_z_file(f)?;
            let (i, j) = (a.from.unwrap_or(0), a.to.unwrap_or(1));
            let get = |i: usize| saved.get(i).cloned().with_context(|| format!("z index {i} out of range ({} saved)", saved.len()));
            (interpolate::path(&get(i)?, &get(j)?, a.steps, a.spherical), a.steps, "interpolation.png")
        }
        (None, _) => {
            let ends: Vec<Vec<f32>> = a.seeds.iter().map(|&s| host(&draw(s))).collect();
            let rows = ends.windows(2).flat_map(|p| interpolate::path(&p[0], &p[1], a.steps, a.spherical)).collect();
            (rows, a.steps, "interpolation.png")
        }
    };
    if zs.iter().any(|z| z.len() != zlen) {
        bail!("the z vectors have {} values; this generator takes {zlen}", zs[0].len());
    }
    let n = zs.len();
    let z = Tensor::<4>::from_data(burn::tensor::TensorData::new(zs.concat(), [n, spec.z_shape[0], spec.z_shape[1], spec.z_shape[2]]), &Device::flex());
    let labels = (spec.classes > 0).then(|| vec![class.unwrap_or(0); n]);
    let grid = SampleGrid { z, labels, per_row, captions: vec![] };
    let x = trainer::generate_grid(&gan, &grid, true);
    let path = a.out.unwrap_or_else(|| run_dir(&a.checkpoint).join(default_name));
    gantry::viz::grid::save_grid(&x, per_row, &[], &path)?;
    println!("wrote {} ({} images, {} per row{})", path.display(), n, per_row, if a.expr.is_some() { "; the last image is the result" } else { "" });
    Ok(())
}

#[derive(clap::Args)]
pub struct MinimaxArgs {
    #[arg(long, default_value_t = 12)]
    steps: usize,
    #[arg(long, default_value_t = 1.0)]
    lr: f64,
    #[arg(long, default_value_t = 1.0)]
    x0: f64,
    #[arg(long, default_value_t = 1.0)]
    y0: f64,
    /// Folder for minimax_alternating.png and minimax_simultaneous.png.
    #[arg(long, default_value = ".")]
    out: PathBuf,
}

pub fn minimax_cmd(a: MinimaxArgs) -> Result<()> {
    let alt = minimax::trajectory(minimax::Scheme::Alternating, a.x0, a.y0, a.lr, a.steps);
    let sim = minimax::trajectory(minimax::Scheme::Simultaneous, a.x0, a.y0, a.lr, a.steps);
    println!("min_x max_y x*y from ({}, {}), step size {}: alternating (y ascends, then x descends) vs simultaneous", a.x0, a.y0, a.lr);
    print!("{}", minimax::table(&alt, &sim));
    let r = |p: &(f64, f64)| (p.0 * p.0 + p.1 * p.1).sqrt();
    println!(
        "distance from the equilibrium (0, 0): alternating stays between {:.3} and {:.3} (it circles); simultaneous grows from {:.3} to {:.3} (it spirals out).",
        alt.iter().map(r).fold(f64::MAX, f64::min),
        alt.iter().map(r).fold(0.0, f64::max),
        r(&sim[0]),
        r(sim.last().unwrap())
    );
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    for (scheme, pts, name) in [(minimax::Scheme::Alternating, &alt, "minimax_alternating.png"), (minimax::Scheme::Simultaneous, &sim, "minimax_simultaneous.png")] {
        minimax::plot(scheme, pts, &a.out.join(name))?;
    }
    println!("wrote {} and {}", a.out.join("minimax_alternating.png").display(), a.out.join("minimax_simultaneous.png").display());
    Ok(())
}
