//! A GAN under training: both networks, their optimisers, the loss and its regularisers, with the
//! two halves of a step (Algorithm 1 of Goodfellow et al.: k discriminator steps, then one
//! generator step). D's conditioning (label concatenation, ACGAN, projection) lives here, G's in
//! `model::generator`, so the networks themselves stay plain sequential nets.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::scalars::DeviceScalars;
use crate::config::TrainConfig;
use crate::error::Result;
use crate::loss::{GanLoss, Penalty, accuracy, cross_entropy, one_hot};
use crate::model::input_grad::critic_pass;
use crate::model::zoo::Conditioning;
use crate::model::generator::{g_input, label_embedding, label_features};
use crate::model::{GanSpec, GeneratorNet, Net, Noise};
use crate::optim::{OptimConfig, Optimizer, with_label};
use crate::rng::Rng;

pub struct Gan {
    pub spec: GanSpec,
    pub g: Net,
    pub d: Net,
    pub opt_g: Optimizer,
    pub opt_d: Optimizer,
    pub loss: GanLoss,
    /// Input-gradient penalty added to the critic loss.
    pub penalty: Option<Penalty>,
    /// WGAN weight clipping: every critic parameter clamped to [-c, c] after each critic step.
    pub clip: Option<f64>,
    /// Names of the classes of a conditional model (captions; saved in checkpoints).
    pub class_names: Vec<String>,
    /// Learned label embeddings (`label_embedding`): G's, and D's for concatenation. Trained by
    /// G's and D's optimisers and saved as `G_label.*` / `D_label.*`.
    pub g_label: Option<Net>,
    pub d_label: Option<Net>,
}

/// D's output split into the adversarial score `[N]` and, for ACGAN, class logits `[N, K]`.
struct Heads {
    score: Tensor<1>,
    class_logits: Option<Tensor<2>>,
}

impl Gan {
    pub fn new(spec: GanSpec, loss: GanLoss, opt_g: OptimConfig, opt_d: OptimConfig, seed: u64, device: &Device) -> Self {
        let mut init_rng = Rng::derived(seed, "init", 0);
        let g = Net::build(&spec.g, &mut init_rng, device);
        let d = Net::build(&spec.d, &mut init_rng, device);
        let g_label = if spec.labels.is_conditional() { label_embedding(&spec, &mut init_rng, device) } else { None };
        let d_label = if spec.labels.conditioning() == Conditioning::Concat { label_embedding(&spec, &mut init_rng, device) } else { None };
        Self {
            spec,
            g,
            d,
            opt_g: Optimizer::new(opt_g),
            opt_d: Optimizer::new(opt_d),
            loss,
            penalty: None,
            clip: None,
            class_names: vec![],
            g_label,
            d_label,
        }
    }

    /// The GAN a training config describes, freshly initialised from its seed.
    pub fn from_config(spec: GanSpec, c: &TrainConfig, class_names: Vec<String>, device: &Device) -> Self {
        let mut gan = Self::new(spec, c.loss, c.optim_g.clone(), c.optim_d.clone(), c.seed, device);
        gan.penalty = c.penalty.clone();
        gan.clip = c.clip;
        gan.class_names = class_names;
        gan
    }

    /// The generator as it is now (its weights copied off the autodiff graph), for sampling
    /// and evaluation during training.
    pub fn generator(&self, noise: Noise) -> GeneratorNet {
        GeneratorNet { spec: self.spec.clone(), g: self.g.valid(), label: self.g_label.as_ref().map(|e| e.valid()), noise }
    }

    /// Generator forward in training mode (batch statistics).
    pub fn generate(&self, z: Tensor<4>, labels: Option<&[u8]>, rng: &mut Rng) -> Tensor<4> {
        self.g.forward(g_input(&self.spec, self.g_label.as_ref(), z, labels), Some(rng))
    }

    /// What D makes of points `x` of an unconditional model, off the autodiff graph: the number
    /// the loss reports as "D(x)" (a probability for the BCE family, the raw score otherwise).
    /// The playground's heat map.
    pub fn critic_view(&self, x: Tensor<4>) -> Tensor<1> {
        let out = self.d.valid().forward_logits(x, None);
        self.loss.d_output(self.heads(out, None).score)
    }

    /// For generated points `x` of an unconditional model: where G's loss pulls each point
    /// (−∇x of its own term of G's loss, the direction G's update moves it) and the norm of D's
    /// input gradient there. `x` lives on the autodiff device; both results are detached.
    pub fn generator_pull(&self, x: Tensor<4>) -> (Tensor<4>, Tensor<1>) {
        let n = x.dims()[0];
        let d = self.d.clone().no_grad();
        let x = x.detach();
        // burn keeps no graph after a backward pass: one forward pass per gradient.
        let input_grad = |f: &dyn Fn(Tensor<1>) -> Tensor<1>| {
            let x = x.clone().require_grad();
            let grads = f(self.heads(d.forward_logits(x.clone(), None), None).score).backward();
            x.grad(&grads).map(Tensor::from_inner).unwrap_or_else(|| x.zeros_like())
        };
        // G's loss is a mean over the batch: times n, each point's own term.
        let pull = input_grad(&|score| self.loss.g_loss(score).mul_scalar(n as f32)).neg();
        let d_grad = input_grad(&|score| score.sum());
        (pull.detach(), crate::model::input_grad::per_sample_norm(d_grad).detach())
    }

    /// D's input: the image, with the label concatenated for `Concat` conditioning.
    fn d_input(&self, x: Tensor<4>, labels: Option<&[u8]>) -> Tensor<4> {
        let (Conditioning::Concat, Some(y)) = (self.spec.labels.conditioning(), labels) else { return x };
        let [n, c, h, w] = x.dims();
        let feats = label_features(&self.spec, self.d_label.as_ref(), y, &x.device());
        if self.spec.label_planes {
            let planes = feats.repeat_dim(2, h).repeat_dim(3, w);
            Tensor::cat(vec![x, planes], 1)
        } else {
            Tensor::cat(vec![x.reshape([n, c * h * w, 1, 1]), feats], 1)
        }
    }

    /// The part of ∇(D's input) that belongs to the image (the label's VJP is a slice).
    fn image_grad(&self, grad: Tensor<4>, x_dims: [usize; 4]) -> Tensor<4> {
        if self.spec.labels.conditioning() != Conditioning::Concat {
            return grad;
        }
        let [n, c, h, w] = x_dims;
        if self.spec.label_planes {
            grad.slice([0..n, 0..c, 0..h, 0..w])
        } else {
            grad.slice([0..n, 0..c * h * w, 0..1, 0..1]).reshape(x_dims)
        }
    }

    fn heads(&self, out: Tensor<4>, labels: Option<&[u8]>) -> Heads {
        let [n, o, _, _] = out.dims();
        let out = out.reshape([n, o]);
        let score = out.clone().slice([0..n, 0..1]).reshape([n]);
        match (self.spec.labels.conditioning(), labels) {
            (Conditioning::Acgan, _) => Heads { score, class_logits: Some(out.slice([0..n, 1..o])) },
            (Conditioning::Projection, Some(y)) => {
                let proj = (out.slice([0..n, 1..o]) * one_hot(y, o - 1, &self.d.device())).sum_dim(1).reshape([n]);
                Heads { score: score + proj, class_logits: None }
            }
            _ => Heads { score, class_logits: None },
        }
    }

    fn discriminate(&self, x: Tensor<4>, labels: Option<&[u8]>, rng: &mut Rng) -> Heads {
        self.discriminate_by(&self.d, x, labels, rng)
    }

    /// D's heads computed by `d` (D itself, or D with its parameters untracked).
    fn discriminate_by(&self, d: &Net, x: Tensor<4>, labels: Option<&[u8]>, rng: &mut Rng) -> Heads {
        let out = d.forward_logits(self.d_input(x, labels), Some(rng));
        self.heads(out, labels)
    }

    /// D's heads and ∇x of the adversarial score, per sample, as differentiable tensors.
    fn discriminate_with_grad(&self, x: Tensor<4>, labels: Option<&[u8]>, rng: &mut Rng) -> Result<(Heads, Tensor<4>)> {
        let dims = x.dims();
        let n = dims[0];
        let device = x.device();
        let o = self.spec.d.shapes(self.spec.d_in_shape()).expect("wiring validated by build_spec").last().map_or(1, |s| s[0]);
        // Only the adversarial score is differentiated: seed 1 on it (plus the projection term).
        let seed = match (self.spec.labels.conditioning(), labels) {
            (Conditioning::Acgan, _) => Some(Tensor::cat(vec![Tensor::ones([n, 1], &device), Tensor::zeros([n, o - 1], &device)], 1)),
            (Conditioning::Projection, Some(y)) => Some(Tensor::cat(vec![Tensor::ones([n, 1], &device), one_hot(y, o - 1, &device)], 1)),
            _ => None,
        }
        .map(|s: Tensor<2>| s.reshape([n, o, 1, 1]));
        let pass = critic_pass(&self.d, self.d_input(x, labels), Some(rng), seed)?;
        Ok((self.heads(pass.output, labels), self.image_grad(pass.input_grad, dims)))
    }

    /// One discriminator (critic) update on a real batch and a fake batch (detached from G here).
    /// Returns the step's numbers still on the device: `loss_d`, `d_real`, `d_fake`, and where
    /// they apply `wasserstein`, `class_accuracy`, `penalty`, `grad_norm_mean`, `grad_norm_max`.
    pub fn d_step(&mut self, real: Tensor<4>, real_labels: Option<&[u8]>, fake: Tensor<4>, fake_labels: Option<&[u8]>, rng: &mut Rng) -> Result<DeviceScalars> {
        let fake = fake.detach();
        let mut stats = DeviceScalars::default();
        // R1 needs the real batch's input gradient: that pass also gives the real scores.
        let (real_heads, r1_grad) = match self.penalty {
            Some(Penalty::R1 { .. }) => {
                let (h, g) = self.discriminate_with_grad(real.clone(), real_labels, rng)?;
                (h, Some(g))
            }
            _ => (self.discriminate(real.clone(), real_labels, rng), None),
        };
        let fake_heads = self.discriminate(fake.clone(), fake_labels, rng);
        let mut loss = self.loss.d_loss(real_heads.score.clone(), fake_heads.score.clone());
        let mut class_accuracy = None;
        if let (Some(lr), Some(lf), Some(yr), Some(yf)) = (&real_heads.class_logits, &fake_heads.class_logits, real_labels, fake_labels) {
            loss = loss + cross_entropy(lr.clone(), yr) + cross_entropy(lf.clone(), yf);
            class_accuracy = Some(accuracy(lr.clone().detach(), yr));
        }
        let mut penalty_stats = None;
        if let Some(penalty) = self.penalty.clone() {
            let grad = match r1_grad {
                Some(g) => g,
                None => {
                    let points = penalty.points(&real, &fake, rng).expect("GP and DRAGAN have points");
                    // Interpolates take the real labels (the conditional WGAN-GP convention).
                    self.discriminate_with_grad(points, real_labels, rng)?.1
                }
            };
            let (value, norms) = penalty.value(grad);
            let norms = norms.detach();
            penalty_stats = Some((value.clone(), norms.clone().mean(), norms.max()));
            loss = loss + value;
        }
        let mut grads = loss.backward();
        let d_real = self.loss.d_output(real_heads.score.detach()).mean();
        let d_fake = self.loss.d_output(fake_heads.score.detach()).mean();
        stats.push("loss_d", loss);
        stats.push("d_real", d_real.clone());
        stats.push("d_fake", d_fake.clone());
        if self.loss.is_critic() {
            stats.push("wasserstein", d_real - d_fake);
        }
        if let Some((value, mean, max)) = penalty_stats {
            stats.push("penalty", value);
            stats.push("grad_norm_mean", mean);
            stats.push("grad_norm_max", max);
        }
        if let Some(a) = class_accuracy {
            stats.push("class_accuracy", a);
        }
        self.opt_d.step_nets(&mut with_label(&mut self.d, self.d_label.as_mut()), &mut grads);
        if let Some(c) = self.clip {
            self.d.clamp_params(c);
            if let Some(e) = &mut self.d_label {
                e.clamp_params(c);
            }
        }
        Ok(stats)
    }

    /// One generator update through `fake`, which must still carry G's graph.
    /// Returns `loss_g`, still on the device.
    pub fn g_step(&mut self, fake: Tensor<4>, fake_labels: Option<&[u8]>, rng: &mut Rng) -> DeviceScalars {
        // G's update needs no gradient of D's parameters: with them untracked, the backward pass
        // skips D's weight gradients (BatchNorm running statistics are shared with D and still
        // updated, as in PyTorch).
        let d = self.d.clone().no_grad();
        let heads = self.discriminate_by(&d, fake, fake_labels, rng);
        let mut loss = self.loss.g_loss(heads.score.clone());
        if let (Some(logits), Some(y)) = (heads.class_logits, fake_labels) {
            loss = loss + cross_entropy(logits, y);
        }
        let mut grads = loss.backward();
        let mut stats = DeviceScalars::default();
        stats.push("loss_g", loss);
        self.opt_g.step_nets(&mut with_label(&mut self.g, self.g_label.as_mut()), &mut grads);
        stats
    }
}
