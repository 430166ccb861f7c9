//! A GAN under training: both networks, their optimisers and the loss, with the two halves of a
//! step (Algorithm 1 of Goodfellow et al.: k discriminator steps, then one generator step).

use burn::tensor::{Device, Tensor};

use super::optim::{OptimConfig, Optimizer};
use crate::loss::GanLoss;
use crate::model::{GanSpec, Net};
use crate::rng::Rng;

pub struct Gan {
    pub spec: GanSpec,
    pub g: Net,
    pub d: Net,
    pub opt_g: Optimizer,
    pub opt_d: Optimizer,
    pub loss: GanLoss,
}

/// Scalars of one half-step, read back from the device.
#[derive(Clone, Copy, Debug, Default)]
pub struct DStats {
    pub loss_d: f32,
    /// Mean D(x) on the real batch (probability for BCE losses, raw score otherwise).
    pub d_real: f32,
    /// Mean D(G(z)) on the fake batch, before the D update.
    pub d_fake: f32,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct GStats {
    pub loss_g: f32,
    /// Mean D(G(z)) seen by the generator step (after the D update).
    pub d_fake: f32,
}

pub fn scalar(t: Tensor<1>) -> f32 {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("float")[0]
}

impl Gan {
    pub fn new(spec: GanSpec, loss: GanLoss, opt_g: OptimConfig, opt_d: OptimConfig, seed: u64, device: &Device) -> Self {
        let mut init_rng = Rng::derived(seed, "init", 0);
        let g = Net::build(&spec.g, &mut init_rng, device);
        let d = Net::build(&spec.d, &mut init_rng, device);
        Self { spec, g, d, opt_g: Optimizer::new(opt_g), opt_d: Optimizer::new(opt_d), loss }
    }

    fn scores(&self, x: Tensor<4>, rng: &mut Rng) -> Tensor<1> {
        let n = x.dims()[0];
        self.d.forward_logits(x, Some(rng)).reshape([n])
    }

    /// Generator forward in training mode (batch statistics).
    pub fn generate(&self, z: Tensor<4>, rng: &mut Rng) -> Tensor<4> {
        self.g.forward(z, Some(rng))
    }

    /// One discriminator update on a real batch and a fake batch (detached from G here).
    pub fn d_step(&mut self, real: Tensor<4>, fake: Tensor<4>, rng: &mut Rng) -> DStats {
        let s_real = self.scores(real, rng);
        let s_fake = self.scores(fake.detach(), rng);
        let loss = self.loss.d_loss(s_real.clone(), s_fake.clone());
        let grads = loss.backward();
        let stats = DStats {
            loss_d: scalar(loss.detach()),
            d_real: scalar(self.loss.d_output(s_real.detach()).mean()),
            d_fake: scalar(self.loss.d_output(s_fake.detach()).mean()),
        };
        self.opt_d.step(&mut self.d, &grads);
        stats
    }

    /// One generator update through `fake`, which must still carry G's graph.
    pub fn g_step(&mut self, fake: Tensor<4>, rng: &mut Rng) -> GStats {
        let s_fake = self.scores(fake, rng);
        let loss = self.loss.g_loss(s_fake.clone());
        let grads = loss.backward();
        let stats = GStats { loss_g: scalar(loss.detach()), d_fake: scalar(self.loss.d_output(s_fake.detach()).mean()) };
        self.opt_g.step(&mut self.g, &grads);
        stats
    }
}
