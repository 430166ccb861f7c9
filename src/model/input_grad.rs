//! The critic's input gradient ∇x D(x) built from differentiable tensor ops.
//!
//! burn has no double backward, so gradient penalties (WGAN-GP, R1, DRAGAN) cannot call `backward`
//! twice. Instead the critic runs forward keeping each layer's input, then each layer applies its
//! vector-Jacobian product in reverse order, starting from ∂(Σ scores)/∂scores = 1. Every VJP is an
//! ordinary differentiable expression of the layer's parameters and saved activations, so burn's
//! autodiff of a penalty on the result yields the exact second-order term (ReLU-type masks are
//! constants, as their derivative is zero almost everywhere — what PyTorch's double backward does).

use burn::tensor::{Tensor, activation};

use super::layers::{Layer, Op};
use super::net::Net;
use crate::error::{Error, Result};
use crate::kernels;
use crate::rng::Rng;

/// The critic's output `[N, O, 1, 1]` (logits: a trailing Sigmoid is skipped) and ∇x Σ seed·output.
pub struct CriticPass {
    pub output: Tensor<4>,
    pub input_grad: Tensor<4>,
}

/// Forward through `net` (training behaviour: dropout masks from `rng`) and the input gradient of
/// Σ seed ⊙ output (`seed` None: all ones, i.e. the gradient of the sum of the scores).
pub fn critic_pass(net: &Net, x: Tensor<4>, mut rng: Option<&mut Rng>, seed: Option<Tensor<4>>) -> Result<CriticPass> {
    let end = net.logits_end();
    let mut inputs = Vec::with_capacity(end);
    let mut masks = Vec::with_capacity(end);
    let mut h = x;
    for layer in &net.layers[..end] {
        if let Layer::BatchNorm(_) = layer {
            return Err(Error::config("model", "an input-gradient penalty needs a critic without BatchNorm".to_string()));
        }
        inputs.push(h.clone());
        let mask = match layer {
            Layer::Op(op @ (Op::Dropout(_) | Op::Dropout2d(_))) => {
                rng.as_deref_mut().and_then(|r| super::layers::dropout_mask(op, h.dims(), r, &h.device()))
            }
            _ => None,
        };
        h = match &mask {
            Some(m) => h * m.clone(),
            None => layer.forward_with(h, None, super::layers::BnMode::Batch),
        };
        masks.push(mask);
    }
    let mut g = seed.unwrap_or_else(|| h.ones_like());
    for i in (0..end).rev() {
        g = vjp(&net.layers[i], inputs[i].clone(), g, masks[i].clone());
    }
    Ok(CriticPass { output: h, input_grad: g })
}

/// Per-sample Euclidean norm of `[N, ...]`.
pub fn per_sample_norm(g: Tensor<4>) -> Tensor<1> {
    per_sample_sq_norm(g).sqrt()
}

pub fn per_sample_sq_norm(g: Tensor<4>) -> Tensor<1> {
    let [n, c, h, w] = g.dims();
    g.reshape([n, c * h * w]).powi_scalar(2).sum_dim(1).reshape([n])
}

/// ∂L/∂x from ∂L/∂y for one layer with input `x`.
fn vjp(layer: &Layer, x: Tensor<4>, g: Tensor<4>, mask: Option<Tensor<4>>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    match layer {
        Layer::Linear(l) => {
            let out = g.dims()[1];
            g.reshape([n, out]).matmul(l.weight.val().transpose()).reshape([n, c, h, w])
        }
        Layer::Conv2d(l) => {
            let [_, _, gh, gw] = g.dims();
            let k = l.weight.dims()[2];
            // Output padding restores the rows/columns that the strided forward dropped.
            let op = |size: usize, out: usize| size + 2 * l.padding - ((out - 1) * l.stride + k);
            kernels::conv_transpose2d(g, l.weight.val(), None, l.stride, [l.padding; 2], [op(h, gh), op(w, gw)])
        }
        Layer::ConvTranspose2d(l) => kernels::conv2d(g, l.weight.val(), None, l.stride, [l.padding; 2]),
        Layer::LayerNorm(ln) => {
            let flat = x.reshape([n, c * h * w]);
            let mean = flat.clone().mean_dim(1);
            let centered = flat - mean;
            let inv_std = centered.clone().powi_scalar(2).mean_dim(1).add_scalar(1e-5).sqrt().recip();
            let xhat = centered * inv_std.clone();
            let gx = g.reshape([n, c * h * w]) * ln.gamma.val().unsqueeze_dim(0);
            let dx = (gx.clone() - gx.clone().mean_dim(1) - xhat.clone() * (gx * xhat).mean_dim(1)) * inv_std;
            dx.reshape([n, c, h, w])
        }
        Layer::BatchNorm(_) => unreachable!("refused in critic_pass"),
        Layer::Op(op) => match op {
            Op::Relu => g * x.greater_elem(0.0).float(),
            Op::LeakyRelu(a) => g * x.greater_elem(0.0).float().mul_scalar(1.0 - a).add_scalar(*a),
            Op::Tanh => g * activation::tanh(x).powi_scalar(2).neg().add_scalar(1.0),
            Op::Sigmoid => {
                let s = activation::sigmoid(x);
                g * s.clone() * s.neg().add_scalar(1.0)
            }
            Op::Flatten | Op::Reshape(_) => g.reshape([n, c, h, w]),
            Op::Upsample2x => g.reshape([n, c, h, 2, w, 2]).sum_dim(5).sum_dim(3).reshape([n, c, h, w]),
            Op::MaxPool2d(k) => {
                // The gradient goes to the window's maximum (ties have probability zero on real data).
                let pooled = crate::kernels::max_pool2d(x.clone().detach(), *k);
                let [_, _, ph, pw] = pooled.dims();
                let up = |t: Tensor<4>| {
                    t.reshape([n, c, ph, 1, pw, 1]).repeat_dim(3, *k).repeat_dim(5, *k).reshape([n, c, ph * k, pw * k])
                };
                let crop = |t: Tensor<4>| t.pad_to(h, w);
                let is_max = crop(up(pooled.detach())).equal(x.detach()).float();
                crop(up(g)) * is_max
            }
            Op::Dropout(_) | Op::Dropout2d(_) => match mask {
                Some(m) => g * m,
                None => g,
            },
        },
    }
}

trait PadTo {
    fn pad_to(self, h: usize, w: usize) -> Self;
}

impl PadTo for Tensor<4> {
    /// Zero-pad bottom/right to `h × w` (max-pool windows never cover a trailing remainder).
    fn pad_to(self, h: usize, w: usize) -> Self {
        let [n, c, th, tw] = self.dims();
        if th == h && tw == w {
            return self;
        }
        let device = self.device();
        let out = Tensor::zeros([n, c, h, w], &device);
        out.slice_assign([0..n, 0..c, 0..th, 0..tw], self)
    }
}
