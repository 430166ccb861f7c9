//! `gantry eval …`, `gantry interpolate`, `gantry minimax`: judging and exploring trained models.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;

use super::trained::{DeviceArg, GeneratorArg};
use gantry::data::{self, DataOptions};
use gantry::eval::generator::from_z;
use gantry::eval::interpolate::{LatentPath, latent_rows};
use gantry::eval::report::{self, ReferenceSet};
use gantry::eval::{self, FidExtractor, classifier, minimax, npz, stats};
use gantry::run::layout;
use gantry::sample;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EvalArgs {
    #[command(subcommand)]
    action: Option<EvalAction>,
    /// Two sets A B (folders of images, .npz statistics, DATASET-test / DATASET-train): FID, KID,
    /// precision/recall and the IS of each, as torch-fidelity reports them (FID only against .npz).
    #[arg(num_args = 2, value_names = ["A", "B"], conflicts_with_all = ["checkpoint", "weights"])]
    sets: Vec<String>,
    /// FID, IS, KID and precision/recall of a trained generator's samples.
    #[command(flatten)]
    generator: GeneratorArg,
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
    #[command(flatten)]
    device: DeviceArg,
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
        #[command(flatten)]
        generator: GeneratorArg,
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
        Some(EvalAction::Modes { generator, n, out, common }) => modes_report(&generator, n, out, &common),
        Some(EvalAction::Classifier { dataset, epochs, common }) => {
            let opts = data_opts(&common);
            let train = classifier::TrainOptions { epochs, seed: common.seed, quiet: common.quiet, ..Default::default() };
            let c = classifier::load_or_train(&dataset, &opts, &train, &common.device.device()?)?;
            let path = classifier::cache_path(&data::load(&dataset, &opts)?);
            println!("{} classifier: test accuracy {:.2}% ({})", c.dataset, 100.0 * c.test_accuracy, path.display());
            Ok(())
        }
        None if a.sets.len() == 2 => compare(&a.sets[0], &a.sets[1], &a.common),
        None if a.generator.given() => inception_eval(&a.generator, a.n, a.against.as_deref(), &a.common),
        None => bail!("gantry eval needs --checkpoint RUN or --weights FILE --model NAME (or a subcommand: fid, modes, classifier); see gantry eval --help"),
    }
}

fn data_opts(c: &Common) -> DataOptions {
    DataOptions { data_dir: c.data_dir.clone(), seed: 0, quiet: c.quiet, ..Default::default() }
}

fn extractor(c: &Common) -> Result<FidExtractor> {
    let path = eval::locate_fid_weights(c.inception_weights.as_deref(), c.quiet)?;
    Ok(FidExtractor::from_file(&path, &c.device.device()?)?)
}

fn fid(a: &str, b: &str, save_stats: bool, c: &Common) -> Result<()> {
    let net = extractor(c)?;
    let first = ReferenceSet::open(a, &data_opts(c))?;
    let start = std::time::Instant::now();
    let ga = first.gaussian(&net, a, c.quiet);
    if let ReferenceSet::Images(imgs) = &first
        && !c.quiet
    {
        eprintln!("({} images of {a} in {:.1} s)", imgs.len(), start.elapsed().as_secs_f64());
    }
    if save_stats {
        npz::save_stats(Path::new(b), &ga)?;
        println!("wrote {} (mu, sigma of {a})", b);
        return Ok(());
    }
    let gb = ReferenceSet::open(b, &data_opts(c))?.gaussian(&net, b, c.quiet);
    println!("FID: {:.4}", shown(stats::frechet_distance(&ga, &gb)));
    Ok(())
}

fn compare(a: &str, b: &str, c: &Common) -> Result<()> {
    let net = extractor(c)?;
    let (sa, sb) = (ReferenceSet::open(a, &data_opts(c))?, ReferenceSet::open(b, &data_opts(c))?);
    let r = report::compare_sets(&sa, &sb, &net, c.seed, c.quiet);
    println!("{}", r.summary());
    Ok(())
}

/// FID is non-negative; a rounding-level negative value (a set against itself) prints as 0.
fn shown(fid: f64) -> f64 {
    if fid < 0.0 && fid > -1e-6 { 0.0 } else { fid }
}

fn inception_eval(generator: &GeneratorArg, n: usize, against: Option<&str>, c: &Common) -> Result<()> {
    let model = generator.open(&c.device.device()?)?;
    let against = against.map(str::to_string).unwrap_or_else(|| format!("{}-test", model.config.dataset));
    let reference = ReferenceSet::open(&against, &DataOptions { image_size: model.config.image_size, ..data_opts(c) })?;
    let net = extractor(c)?;
    model.require_images("use `gantry eval modes` for the 2-D benchmarks")?;
    let started = std::time::Instant::now();
    let result = report::inception_eval(&model.generator, &net, n, &reference, &against, c.seed, c.quiet)?;
    let seconds = started.elapsed().as_secs_f64();
    println!("{}", result.summary(&against));
    if let report::InceptionEval::Full(_) = result {
        println!("wrote {}", result.save(&model.run_file(layout::EVAL_DIR))?.display());
    }
    if !c.quiet {
        eprintln!("({n} samples generated and evaluated in {seconds:.1} s)");
    }
    Ok(())
}

fn modes_report(generator: &GeneratorArg, n: usize, out: Option<PathBuf>, c: &Common) -> Result<()> {
    let model = generator.open(&c.device.device()?)?;
    let out = out.unwrap_or_else(|| model.run_file(layout::EVAL_DIR));
    let data = DataOptions { image_size: model.config.image_size, ..data_opts(c) };
    let r = report::mode_eval(&model.generator, &model.config.dataset, n, c.seed, &data, c.quiet)?;
    println!("{}", r.summary().trim_end());
    let files = r.save(&out)?;
    println!("wrote {}", files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" and "));
    Ok(())
}

#[derive(clap::Args)]
pub struct InterpolateArgs {
    #[command(flatten)]
    generator: GeneratorArg,
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
    #[command(flatten)]
    device: DeviceArg,
}

pub fn interpolate_cmd(a: InterpolateArgs) -> Result<()> {
    let model = a.generator.open(&a.device.device()?)?;
    model.require_images("interpolation grids need an image model")?;
    let class = a.class.as_deref().map(|c| model.parse_class(c)).transpose().map_err(|e| anyhow::anyhow!("--class: {e}"))?;
    let (path, default_name) = match (&a.z_file, &a.expr) {
        (Some(f), Some(expr)) => (LatentPath::Arithmetic { zs: sample::load_z(f)?, expr: expr.clone() }, layout::ARITHMETIC),
        (Some(f), None) => {
            let (from, to) = (a.from.unwrap_or(0), a.to.unwrap_or(1));
            (LatentPath::Saved { zs: sample::load_z(f)?, from, to, steps: a.steps, spherical: a.spherical }, layout::INTERPOLATION)
        }
        (None, _) => (LatentPath::Seeds { seeds: a.seeds.clone(), steps: a.steps, spherical: a.spherical }, layout::INTERPOLATION),
    };
    let (zs, per_row) = latent_rows(&model.generator, &path)?;
    let out = a.out.unwrap_or_else(|| model.run_file(default_name));
    gantry::viz::grid::save_grid(&from_z(&model.generator, &zs, class)?, per_row, &[], &out)?;
    println!("wrote {} ({} images, {} per row{})", out.display(), zs.len(), per_row, if a.expr.is_some() { "; the last image is the result" } else { "" });
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
