//! One playground scene: a [`Trainer`] of a 2-D GAN and what the page draws of it. A frame holds
//! the real and generated points, D's output over the plane (the heat map), G's image of an even
//! grid of z (the warped manifold), the pull of G's loss on each generated point, the critic's
//! gradient norms, the loss curves and, for the mixtures, mode coverage over time.

use std::collections::VecDeque;
use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use super::settings::Settings;
use crate::device::read_back;
use crate::error::{Error, Result};
use crate::eval::toy2d;
use crate::model::{Noise, noise};
use crate::rng::Rng;
use crate::run::StepRecord;
use crate::train::{StepPart, Trainer};

/// What a frame shows: generated points, heat-map cells per side, z lattice per side.
pub const VIEW_POINTS: usize = 256;
pub const HEAT_SIZE: usize = 64;
pub const LATTICE: usize = 17;
/// The plane drawn: [-RANGE, RANGE]² (the 2-D datasets lie within about ±1.6).
pub const RANGE: f32 = 2.2;
/// Mode coverage is measured every this many generator steps, on this many samples.
const MODES_EVERY: u64 = 50;
const MODE_SAMPLES: usize = 2500;
/// The loss curves and mode series a frame carries at most (older points thinned).
const CURVE_POINTS: usize = 400;
/// Steps of the log kept for "save as run" (the most recent; about 20 MB).
pub const MAX_LOG: usize = 50_000;

pub struct Scene {
    pub settings: Settings,
    pub trainer: Trainer,
    /// The last [`MAX_LOG`] generator steps' records, for "save as run".
    pub log: VecDeque<StepRecord>,
    real: Vec<f32>,
    z_view: Tensor<4>,
    z_lattice: Tensor<4>,
    z_modes: Tensor<4>,
    plane: Tensor<4>,
    curves: Curves,
    modes: Vec<ModePoint>,
    /// The last update's numbers (a discriminator step by hand included).
    last: Option<StepRecord>,
    /// Discriminator updates taken by hand since the last generator step.
    d_by_hand: u64,
}

#[derive(Default, Serialize)]
pub struct Curves {
    step: Vec<u64>,
    loss_d: Vec<f32>,
    loss_g: Vec<f32>,
    /// Every `stride`-th step is kept (doubled whenever the curve fills up).
    #[serde(skip)]
    stride: u64,
}

#[derive(Clone, Serialize)]
pub struct ModePoint {
    step: u64,
    covered: usize,
    high_quality: f64,
    kl: f64,
}

#[derive(Serialize)]
pub struct Frame<'a> {
    pub step: u64,
    pub d_by_hand: u64,
    pub range: f32,
    pub real: &'a [f32],
    pub fake: Vec<f32>,
    /// −∇x of G's loss at each generated point.
    pub pull: Vec<f32>,
    pub grad_norm: GradNorm,
    pub heat: Heat,
    pub lattice: Lattice,
    pub curves: &'a Curves,
    pub modes: Option<ModeSeries<'a>>,
    pub last: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Serialize)]
pub struct GradNorm {
    pub mean: f32,
    pub max: f32,
}

/// D's output over the plane, row by row from the top (y = RANGE) down, quantised to 0..=255
/// between `lo` and `hi`. `probability`: the BCE family's D(x) in [0, 1]; else raw scores.
#[derive(Serialize)]
pub struct Heat {
    pub size: usize,
    pub lo: f32,
    pub hi: f32,
    pub probability: bool,
    pub values: Vec<u8>,
}

/// G's image of an even `size`×`size` lattice of z (the first two coordinates; the rest 0).
#[derive(Serialize)]
pub struct Lattice {
    pub size: usize,
    pub points: Vec<f32>,
}

#[derive(Serialize)]
pub struct ModeSeries<'a> {
    total: usize,
    series: &'a [ModePoint],
}

impl Scene {
    pub fn new(settings: Settings) -> Result<Self> {
        settings.check()?;
        let data = settings.dataset()?;
        let trainer = Trainer::with_data(settings.config(), data)?;
        let device = trainer.device().clone();
        let mut rng = Rng::derived(settings.seed, "playground", 0);
        let idx: Vec<usize> = (0..VIEW_POINTS).map(|_| rng.below(trainer.data.len)).collect();
        let real = read_back(&trainer.data.batch(&idx, &device.clone().inner()));
        let z_shape = trainer.gan.spec.z_shape;
        let z_view = noise(settings.noise, VIEW_POINTS, z_shape, &mut rng, &device);
        let z_modes = noise(settings.noise, MODE_SAMPLES, z_shape, &mut rng, &device.clone().inner());
        let z_lattice = lattice_z(settings.noise, settings.z_dim, &device.clone().inner());
        let plane = plane_points(&device.clone().inner());
        let mut scene = Self {
            settings,
            trainer,
            log: VecDeque::new(),
            real,
            z_view,
            z_lattice,
            z_modes,
            plane,
            curves: Curves { stride: 1, ..Default::default() },
            modes: vec![],
            last: None,
            d_by_hand: 0,
        };
        scene.measure_modes();
        Ok(scene)
    }

    pub fn step(&self) -> u64 {
        self.trainer.progress.step
    }

    /// One update (a whole step, or one half by hand). A loss that is no longer a number stops
    /// here with a message that says what to change.
    pub fn take(&mut self, part: StepPart) -> Result<()> {
        let record = self.trainer.step_part(part)?;
        if let Some((what, value)) = record.scalars.iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::NonFinite { step: record.step, what: what.to_string(), value });
        }
        if part == StepPart::Critic {
            self.d_by_hand += 1;
        } else {
            self.d_by_hand = 0;
            self.curves.push(&record);
            if self.log.len() == MAX_LOG {
                self.log.pop_front();
            }
            self.log.push_back(record.clone());
            if record.step.is_multiple_of(MODES_EVERY) {
                self.measure_modes();
            }
        }
        self.last = Some(record);
        Ok(())
    }

    fn measure_modes(&mut self) {
        let Some((centres, std)) = self.trainer.data.kind.point_modes() else {
            return;
        };
        let x = self.trainer.gan.g.valid().forward(self.z_modes.clone(), None);
        let r = toy2d::report(&self.settings.dataset, &crate::sample::point_pairs(&read_back(&x)), &centres, std);
        self.modes.push(ModePoint { step: self.step(), covered: r.modes_covered, high_quality: r.high_quality, kl: r.reverse_kl });
        if self.modes.len() > CURVE_POINTS {
            // Thin the older half, keep the recent half whole.
            let half = self.modes.len() / 2;
            let kept: Vec<ModePoint> = self.modes[..half].iter().step_by(2).cloned().chain(self.modes[half..].iter().cloned()).collect();
            self.modes = kept;
        }
    }

    /// Everything the page draws.
    pub fn frame(&self) -> Frame<'_> {
        let gan = &self.trainer.gan;
        let g = gan.g.valid();
        let fake_t = g.forward(self.z_view.clone().inner(), None);
        let fake = read_back(&fake_t);
        let (pull, norms) = gan.generator_pull(Tensor::from_inner(fake_t));
        let norms = read_back(&norms);
        let heat = read_back(&gan.critic_view(self.plane.clone()));
        let lattice = read_back(&g.forward(self.z_lattice.clone(), None));
        let probability = gan.loss.d_output_is_probability();
        let (lo, hi) = if probability { (0.0, 1.0) } else { min_max(&heat) };
        Frame {
            step: self.step(),
            d_by_hand: self.d_by_hand,
            range: RANGE,
            real: &self.real,
            fake: rounded(fake),
            pull: rounded(read_back(&pull)),
            grad_norm: GradNorm { mean: norms.iter().sum::<f32>() / norms.len().max(1) as f32, max: norms.iter().copied().fold(0.0, f32::max) },
            heat: Heat { size: HEAT_SIZE, lo, hi, probability, values: heat.iter().map(|&v| quantise(v, lo, hi)).collect() },
            lattice: Lattice { size: LATTICE, points: rounded(lattice) },
            curves: &self.curves,
            modes: self.trainer.data.kind.point_modes().map(|(c, _)| ModeSeries { total: c.len(), series: &self.modes }),
            last: self.last.as_ref().map(|r| r.scalars.iter().map(|(k, v)| (k.to_string(), serde_json::json!(v))).collect()),
        }
    }

    /// Writes this scene as an ordinary run folder into `run_dir` (which exists and is empty):
    /// `--resume` goes on for five more epochs' worth of steps; a drawing is kept in the run
    /// (`run::layout::POINTS`, dataset `points:FILE` by its absolute path).
    pub fn save_as_run(&mut self, run_dir: &Path) -> Result<()> {
        let scene_config = self.trainer.config.clone();
        let result = self.write_run(run_dir);
        // The scene itself goes on as it was.
        self.trainer.config = scene_config;
        result
    }

    fn write_run(&mut self, run_dir: &Path) -> Result<()> {
        if self.settings.dataset == "drawn" {
            let file = crate::run::layout::file(run_dir, crate::run::layout::POINTS);
            crate::data::plane::write_points(&file, &self.settings.points)?;
            let absolute = std::path::absolute(&file).map_err(|e| Error::io(&file, e))?;
            self.trainer.config.dataset = format!("points:{}", absolute.display());
        }
        // Generator steps by hand take no batches, so the step count can run ahead of the epochs:
        // the run's length is counted from whichever is further on.
        let per_epoch = self.trainer.steps_per_epoch().max(1);
        let done = self.trainer.progress.epoch.max(self.step().div_ceil(per_epoch));
        self.trainer.config.epochs = (done + 5) as usize;
        self.trainer.config.max_steps = None;
        crate::train::write_stepped_run(&self.trainer, self.log.make_contiguous(), run_dir)
    }
}

impl Curves {
    fn push(&mut self, r: &StepRecord) {
        if !r.step.is_multiple_of(self.stride) {
            return;
        }
        let get = |k: &str| r.scalars.get(k).unwrap_or(f32::NAN);
        self.step.push(r.step);
        self.loss_d.push(get("loss_d"));
        self.loss_g.push(get("loss_g"));
        if self.step.len() >= CURVE_POINTS {
            self.stride *= 2;
            let keep: Vec<usize> = (0..self.step.len()).filter(|&i| self.step[i].is_multiple_of(self.stride)).collect();
            self.step = keep.iter().map(|&i| self.step[i]).collect();
            self.loss_d = keep.iter().map(|&i| self.loss_d[i]).collect();
            self.loss_g = keep.iter().map(|&i| self.loss_g[i]).collect();
        }
    }
}

/// Four decimals are finer than a pixel and halve a frame's size.
fn rounded(v: Vec<f32>) -> Vec<f32> {
    v.into_iter().map(|x| (x * 1e4).round() / 1e4).collect()
}

fn min_max(v: &[f32]) -> (f32, f32) {
    let finite = v.iter().copied().filter(|x| x.is_finite());
    let lo = finite.clone().fold(f32::INFINITY, f32::min);
    let hi = finite.fold(f32::NEG_INFINITY, f32::max);
    if lo.is_finite() && hi > lo { (lo, hi) } else { (lo.min(0.0), lo.max(0.0) + 1.0) }
}

fn quantise(v: f32, lo: f32, hi: f32) -> u8 {
    if !v.is_finite() {
        return 0;
    }
    (255.0 * ((v - lo) / (hi - lo)).clamp(0.0, 1.0)).round() as u8
}

/// Cell centres of the heat map, row by row from the top.
fn plane_points(device: &Device) -> Tensor<4> {
    let cell = 2.0 * RANGE / HEAT_SIZE as f32;
    let mut v = Vec::with_capacity(2 * HEAT_SIZE * HEAT_SIZE);
    for row in 0..HEAT_SIZE {
        for col in 0..HEAT_SIZE {
            v.extend([-RANGE + (col as f32 + 0.5) * cell, RANGE - (row as f32 + 0.5) * cell]);
        }
    }
    Tensor::from_data(TensorData::new(v, [HEAT_SIZE * HEAT_SIZE, 2, 1, 1]), device)
}

/// An even lattice over the prior's bulk (±2 for the normal, ±1 for the uniform) in z's first
/// two coordinates.
fn lattice_z(kind: Noise, z_dim: usize, device: &Device) -> Tensor<4> {
    let extent = match kind {
        Noise::Normal => 2.0,
        Noise::Uniform => 1.0,
    };
    let mut v = vec![0.0f32; LATTICE * LATTICE * z_dim];
    for i in 0..LATTICE {
        for j in 0..LATTICE {
            let at = (i * LATTICE + j) * z_dim;
            v[at] = -extent + 2.0 * extent * j as f32 / (LATTICE - 1) as f32;
            if z_dim > 1 {
                v[at + 1] = extent - 2.0 * extent * i as f32 / (LATTICE - 1) as f32;
            }
        }
    }
    Tensor::from_data(TensorData::new(v, [LATTICE * LATTICE, z_dim, 1, 1]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Settings {
        Settings { neurons: 64, batch_size: 64, ..Settings::default() }
    }

    #[test]
    fn a_discriminator_step_changes_the_heat_map_and_leaves_the_points() {
        let mut scene = Scene::new(small()).unwrap();
        let before = scene.frame();
        let (heat, fake) = (before.heat.values.clone(), before.fake.clone());
        scene.take(StepPart::Critic).unwrap();
        let after = scene.frame();
        assert_eq!(after.fake, fake, "G did not move");
        assert_ne!(after.heat.values, heat, "D's surface moved");
        assert_eq!((after.step, after.d_by_hand), (0, 1));
        scene.take(StepPart::Generator).unwrap();
        let moved = scene.frame();
        assert_ne!(moved.fake, fake);
        assert_eq!((moved.step, moved.d_by_hand), (1, 0));
        assert_eq!(moved.fake.len(), 2 * VIEW_POINTS);
        assert_eq!(moved.heat.values.len(), HEAT_SIZE * HEAT_SIZE);
        assert_eq!(moved.lattice.points.len(), 2 * LATTICE * LATTICE);
        assert!(moved.pull.iter().all(|v| v.is_finite()) && moved.pull.iter().any(|&v| v != 0.0));
        // ring8 has modes to count: measured at the start.
        assert_eq!(moved.modes.as_ref().map(|m| m.total), Some(8));
    }

    #[test]
    fn every_loss_and_regulariser_trains_a_step() {
        use super::super::settings::Regulariser;
        use crate::loss::GanLoss;
        for (loss, regulariser, weight) in [
            (GanLoss::Bce, Regulariser::None, 10.0),
            (GanLoss::BceMinimax, Regulariser::None, 10.0),
            (GanLoss::Lsgan, Regulariser::None, 10.0),
            (GanLoss::Hinge, Regulariser::None, 10.0),
            (GanLoss::Wgan, Regulariser::Clip, 0.01),
            (GanLoss::Wgan, Regulariser::Gp, 10.0),
            (GanLoss::Bce, Regulariser::R1, 10.0),
            (GanLoss::Bce, Regulariser::Dragan, 10.0),
        ] {
            let mut scene = Scene::new(Settings { loss, regulariser, weight, dataset: "moons".into(), ..small() }).unwrap();
            scene.take(StepPart::Full).unwrap();
            let f = scene.frame();
            assert!(f.grad_norm.mean.is_finite() && f.grad_norm.max >= f.grad_norm.mean, "{loss:?} {regulariser:?}");
            assert!(f.modes.is_none());
            if regulariser == Regulariser::Gp {
                assert!(f.last.unwrap().contains_key("grad_norm_mean"));
            }
        }
    }
}
