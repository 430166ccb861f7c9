//! A sequential network (PyTorch's `nn.Sequential`) with PyTorch-named state dicts.

use std::collections::HashMap;

use burn::module::{Module, Param, RunningState};
use burn::tensor::{Device, Tensor};

use super::layers::{BnMode, Layer, ParamMut, tensor_from, transpose};
use super::spec::NetSpec;
use crate::device::read_back;
use crate::rng::Rng;

#[derive(Module, Debug)]
pub struct Net {
    pub layers: Vec<Layer>,
}

/// A host-side tensor with a PyTorch state_dict name and shape.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Runs `layers` in order (BatchNorm in `mode`, or as fits the device); a BatchNorm directly
/// followed by ReLU/LeakyReLU runs as one fused step (one pass over the activations each way).
fn run_layers(layers: &[Layer], mut x: Tensor<4>, mut rng: Option<&mut Rng>, mode: Option<BnMode>) -> Tensor<4> {
    let mut i = 0;
    while i < layers.len() {
        let bn_mode = mode.unwrap_or_else(|| BnMode::default_for(&x));
        match (&layers[i], layers.get(i + 1).and_then(Layer::activation_slope)) {
            (Layer::BatchNorm(bn), Some(slope)) => {
                x = bn.forward(x, bn_mode, Some(slope));
                i += 2;
            }
            (layer, _) => {
                x = layer.forward_with(x, rng.as_deref_mut(), bn_mode);
                i += 1;
            }
        }
    }
    x
}

impl Net {
    pub fn build(spec: &NetSpec, rng: &mut Rng, device: &Device) -> Net {
        Net { layers: spec.layers.iter().map(|l| Layer::build(l, spec.init, rng, device)).collect() }
    }

    pub fn forward(&self, x: Tensor<4>, rng: Option<&mut Rng>) -> Tensor<4> {
        self.forward_range(x, self.layers.len(), rng)
    }

    /// Output before a trailing Sigmoid: losses of sigmoid discriminators work on logits so that
    /// saturated outputs never give NaN or infinite losses.
    pub fn forward_logits(&self, x: Tensor<4>, rng: Option<&mut Rng>) -> Tensor<4> {
        self.forward_range(x, self.logits_end(), rng)
    }

    /// Number of layers up to the logits (all but a trailing Sigmoid).
    pub fn logits_end(&self) -> usize {
        match self.layers.last() {
            Some(Layer::Op(super::layers::Op::Sigmoid)) => self.layers.len() - 1,
            _ => self.layers.len(),
        }
    }

    /// Forward with BatchNorm on batch statistics but running statistics left untouched (and no
    /// dropout): how sample grids are drawn during training, as in the DCGAN reference, because
    /// early running statistics lag far behind the batch statistics.
    pub fn forward_batch_stats(&self, x: Tensor<4>) -> Tensor<4> {
        run_layers(&self.layers, x, None, Some(BnMode::Batch))
    }

    /// Output of the first `n` layers (e.g. a classifier's penultimate features).
    pub fn forward_range(&self, x: Tensor<4>, n: usize, rng: Option<&mut Rng>) -> Tensor<4> {
        run_layers(&self.layers[..n], x, rng, None)
    }

    /// Every trainable parameter with its full PyTorch name (`3.weight`).
    pub fn params_mut(&mut self, f: &mut dyn FnMut(&str, ParamMut)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.params_mut(&mut |suffix, p| f(&format!("{i}.{suffix}"), p));
        }
    }

    /// WGAN weight clipping: clamp every parameter to [-c, c].
    pub fn clamp_params(&mut self, c: f64) {
        use super::layers::replace_param;
        self.params_mut(&mut |_, p| match p {
            ParamMut::R1(p) => replace_param(p, |v| v.clamp(-c, c)),
            ParamMut::R2(p) => replace_param(p, |v| v.clamp(-c, c)),
            ParamMut::R4(p) => replace_param(p, |v| v.clamp(-c, c)),
        });
    }

    /// Gradients of every parameter present in `grads`, in PyTorch names, shapes and layouts.
    pub fn grad_dict(&mut self, grads: &burn::tensor::Gradients) -> Vec<NamedTensor> {
        let mut out = Vec::new();
        self.params_mut(&mut |name, p| {
            let t = match p {
                ParamMut::R1(p) => p.val().grad(grads).map(|g| (g.dims().to_vec(), read_back(&Tensor::from_inner(g)))),
                ParamMut::R2(p) => p.val().grad(grads).map(|g| {
                    // Linear keeps [in, out]; PyTorch's weight is [out, in].
                    let [i, o] = g.dims();
                    (vec![o, i], transpose(&read_back(&Tensor::<2>::from_inner(g)), i, o))
                }),
                ParamMut::R4(p) => p.val().grad(grads).map(|g| (g.dims().to_vec(), read_back(&Tensor::from_inner(g)))),
            };
            if let Some((shape, data)) = t {
                out.push(NamedTensor { name: name.to_string(), shape, data });
            }
        });
        out
    }

    /// Parameters and buffers in PyTorch names, shapes and layouts.
    pub fn state_dict(&self) -> Vec<NamedTensor> {
        let mut out = Vec::new();
        for (i, layer) in self.layers.iter().enumerate() {
            let mut push = |suffix: &str, shape: Vec<usize>, data: Vec<f32>| {
                out.push(NamedTensor { name: format!("{i}.{suffix}"), shape, data })
            };
            match layer {
                Layer::Linear(l) => {
                    let [inp, outf] = l.weight.val().dims();
                    push("weight", vec![outf, inp], transpose(&read_back(&l.weight.val()), inp, outf));
                    if let Some(b) = &l.bias {
                        push("bias", vec![outf], read_back(&b.val()));
                    }
                }
                Layer::Conv2d(super::layers::Conv2d { weight, bias, .. })
                | Layer::ConvTranspose2d(super::layers::ConvTranspose2d { weight, bias, .. }) => {
                    push("weight", weight.val().dims().to_vec(), read_back(&weight.val()));
                    if let Some(b) = bias {
                        push("bias", b.val().dims().to_vec(), read_back(&b.val()));
                    }
                }
                Layer::BatchNorm(bn) => {
                    let c = bn.gamma.val().dims()[0];
                    push("weight", vec![c], read_back(&bn.gamma.val()));
                    push("bias", vec![c], read_back(&bn.beta.val()));
                    push("running_mean", vec![c], read_back(&bn.running_mean.value_sync()));
                    push("running_var", vec![c], read_back(&bn.running_var.value_sync()));
                }
                Layer::LayerNorm(ln) => {
                    push("weight", ln.shape.clone(), read_back(&ln.gamma.val()));
                    push("bias", ln.shape.clone(), read_back(&ln.beta.val()));
                }
                Layer::Op(_) => {}
            }
        }
        out
    }

    /// Load parameters and buffers from PyTorch-named tensors (`prefix` + name). Every tensor the
    /// network needs must be present with the right shape.
    pub fn load_state_dict(&mut self, prefix: &str, tensors: &HashMap<String, NamedTensor>) -> Result<(), String> {
        let device = self.device();
        let get = |name: &str, shape: &[usize]| -> Result<Vec<f32>, String> {
            let key = format!("{prefix}{name}");
            let t = tensors.get(&key).ok_or_else(|| format!("missing tensor `{key}`"))?;
            if t.shape != shape {
                return Err(format!("tensor `{key}` has shape {:?}, expected {:?}", t.shape, shape));
            }
            Ok(t.data.clone())
        };
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let n = |s: &str| format!("{i}.{s}");
            match layer {
                Layer::Linear(l) => {
                    let [inp, outf] = l.weight.val().dims();
                    let w = get(&n("weight"), &[outf, inp])?;
                    set(&mut l.weight, transpose(&w, outf, inp), &device);
                    if let Some(b) = &mut l.bias {
                        set(b, get(&n("bias"), &[outf])?, &device);
                    }
                }
                Layer::Conv2d(super::layers::Conv2d { weight, bias, .. }) => {
                    let dims = weight.val().dims();
                    set(weight, get(&n("weight"), &dims)?, &device);
                    if let Some(b) = bias {
                        set(b, get(&n("bias"), &[dims[0]])?, &device);
                    }
                }
                Layer::ConvTranspose2d(super::layers::ConvTranspose2d { weight, bias, .. }) => {
                    let dims = weight.val().dims();
                    set(weight, get(&n("weight"), &dims)?, &device);
                    if let Some(b) = bias {
                        set(b, get(&n("bias"), &[dims[1]])?, &device);
                    }
                }
                Layer::BatchNorm(bn) => {
                    let c = bn.gamma.val().dims()[0];
                    set(&mut bn.gamma, get(&n("weight"), &[c])?, &device);
                    set(&mut bn.beta, get(&n("bias"), &[c])?, &device);
                    bn.running_mean = RunningState::new(tensor_from(get(&n("running_mean"), &[c])?, [c], &device));
                    bn.running_var = RunningState::new(tensor_from(get(&n("running_var"), &[c])?, [c], &device));
                }
                Layer::LayerNorm(ln) => {
                    let shape = ln.shape.clone();
                    set(&mut ln.gamma, get(&n("weight"), &shape)?, &device);
                    set(&mut ln.beta, get(&n("bias"), &shape)?, &device);
                }
                Layer::Op(_) => {}
            }
        }
        Ok(())
    }

    pub fn device(&self) -> Device {
        self.devices().first().cloned().unwrap_or_default()
    }
}

fn set<const D: usize>(p: &mut Param<Tensor<D>>, data: Vec<f32>, device: &Device) {
    let shape: [usize; D] = p.val().dims();
    let t = tensor_from(data, shape, device);
    let t = if device.is_autodiff() { t.require_grad() } else { t };
    *p = Param::initialized(p.id, t);
}

