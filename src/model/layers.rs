//! Runtime layers built from a [`LayerSpec`]. Parameters are created from gantry's own seeded RNG
//! (so a seed fixes initialisation) and stored in PyTorch's layouts, except `Linear`, which keeps
//! burn's `[in, out]` layout and is transposed when exported.

use burn::module::{Module, Param, RunningState};
use burn::tensor::{Device, Tensor, TensorData, activation};

use super::spec::{Init, LayerSpec};
use crate::kernels;
use crate::rng::Rng;

pub(crate) fn tensor_from<const D: usize>(data: Vec<f32>, shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(data, shape), device)
}

fn param<const D: usize>(data: Vec<f32>, shape: [usize; D], device: &Device) -> Param<Tensor<D>> {
    let t = tensor_from(data, shape, device);
    Param::from_tensor(if device.is_autodiff() { t.require_grad() } else { t })
}

fn uniform(rng: &mut Rng, n: usize, bound: f64) -> Vec<f32> {
    rng.uniform_vec(n, -bound, bound)
}

#[derive(Module, Debug)]
pub struct Linear {
    /// `[in, out]` (burn's layout).
    pub weight: Param<Tensor<2>>,
    pub bias: Option<Param<Tensor<1>>>,
}

#[derive(Module, Debug)]
pub struct Conv2d {
    /// `[out, in, k, k]`.
    pub weight: Param<Tensor<4>>,
    pub bias: Option<Param<Tensor<1>>>,
    pub stride: usize,
    pub padding: usize,
}

#[derive(Module, Debug)]
pub struct ConvTranspose2d {
    /// `[in, out, k, k]`, as PyTorch.
    pub weight: Param<Tensor<4>>,
    pub bias: Option<Param<Tensor<1>>>,
    pub stride: usize,
    pub padding: usize,
}

/// BatchNorm as PyTorch defines it: batch statistics in training, running statistics updated with
/// momentum 0.1 from the *unbiased* batch variance, running statistics in eval mode.
#[derive(Module, Debug)]
pub struct BatchNorm {
    pub gamma: Param<Tensor<1>>,
    pub beta: Param<Tensor<1>>,
    pub running_mean: RunningState<Tensor<1>>,
    pub running_var: RunningState<Tensor<1>>,
    pub eps: f64,
}

/// LayerNorm over all non-batch dimensions, elementwise affine, eps 1e-5.
#[derive(Module, Debug)]
pub struct LayerNorm {
    /// Flattened `normalized_shape`.
    pub gamma: Param<Tensor<1>>,
    pub beta: Param<Tensor<1>>,
    /// PyTorch's `normalized_shape`, used when exporting.
    pub shape: Vec<usize>,
}

/// Parameter-free operations.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Relu,
    LeakyRelu(f64),
    Tanh,
    Sigmoid,
    Flatten,
    Reshape([usize; 3]),
    Upsample2x,
    MaxPool2d(usize),
    Dropout(f64),
    Dropout2d(f64),
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

// Parameter-free: nothing to visit, map or move.
impl Module for Op {
    fn visit<V: burn::module::ModuleVisitor>(&self, _visitor: &mut V) {}
    fn map<M: burn::module::ModuleMapper>(self, _mapper: &mut M) -> Self {
        self
    }
    fn to_device(self, _: &Device) -> Self {
        self
    }
    fn fork(self, _: &Device) -> Self {
        self
    }
    fn collect_devices(&self, devices: burn::module::Devices) -> burn::module::Devices {
        devices
    }
    fn materialize(self) -> Self {
        self
    }
    fn valid(&self) -> Self {
        self.clone()
    }
    fn train(self) -> Self {
        self
    }
}

impl burn::module::ModuleDisplayDefault for Op {
    fn content(&self, content: burn::module::Content) -> Option<burn::module::Content> {
        content.add_formatted(&self.to_string()).optional()
    }
}

impl burn::module::ModuleDisplay for Op {}

#[derive(Module, Debug)]
pub enum Layer {
    Linear(Linear),
    Conv2d(Conv2d),
    ConvTranspose2d(ConvTranspose2d),
    BatchNorm(BatchNorm),
    LayerNorm(LayerNorm),
    Op(Op),
}

/// How BatchNorm normalises: running statistics (eval), batch statistics (train) with or
/// without updating the running statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BnMode {
    Running,
    Batch,
    BatchUpdate,
}

impl BnMode {
    /// Training behaviour on the autodiff device, inference off it.
    pub fn default_for(x: &Tensor<4>) -> Self {
        if x.device().is_autodiff() { BnMode::BatchUpdate } else { BnMode::Running }
    }
}

/// Replace a parameter's value by `f(value)` (computed off the autodiff graph), keeping its id.
pub fn replace_param<const D: usize>(p: &mut Param<Tensor<D>>, f: impl FnOnce(Tensor<D>) -> Tensor<D>) {
    // The value is moved out (a one-element placeholder takes its place meanwhile), so that `f`
    // gets the only reference to its buffer and can update it in place.
    let placeholder = Param::initialized(p.id, Tensor::zeros([1; D], &p.val().device()));
    let value = std::mem::replace(p, placeholder).into_value();
    *p = Param::initialized(p.id, Tensor::from_inner(f(value.inner())).require_grad());
}

/// A mutable view of one parameter, whatever its rank.
pub enum ParamMut<'a> {
    R1(&'a mut Param<Tensor<1>>),
    R2(&'a mut Param<Tensor<2>>),
    R4(&'a mut Param<Tensor<4>>),
}

impl ParamMut<'_> {
    /// Number of values.
    pub fn numel(&self) -> usize {
        match self {
            ParamMut::R1(p) => p.val().dims().iter().product(),
            ParamMut::R2(p) => p.val().dims().iter().product(),
            ParamMut::R4(p) => p.val().dims().iter().product(),
        }
    }
}

impl Layer {
    pub fn build(spec: &LayerSpec, init: Init, rng: &mut Rng, device: &Device) -> Layer {
        let xavier_linear = matches!(init, Init::XavierLinear | Init::XavierLinearConvT);
        match *spec {
            LayerSpec::Linear { inp, out, bias } => {
                let default_bound = 1.0 / (inp as f64).sqrt();
                let wb = if xavier_linear { (6.0 / (inp + out) as f64).sqrt() } else { default_bound };
                // Drawn in PyTorch's [out, in] order, then stored transposed.
                let w = if init == Init::Embedding { normal(rng, inp * out, 0.0, 1.0) } else { uniform(rng, inp * out, wb) };
                let w = transpose(&w, out, inp);
                let b = bias.then(|| param(uniform(rng, out, default_bound), [out], device));
                Layer::Linear(Linear { weight: param(w, [inp, out], device), bias: b })
            }
            LayerSpec::Conv { inp, out, k, s, p, bias } => {
                let n = out * inp * k * k;
                let fan_in = (inp * k * k) as f64;
                let (w, b) = if init == Init::DcganPaper {
                    (normal(rng, n, 0.0, 0.02), vec![0.0; out])
                } else {
                    (uniform(rng, n, 1.0 / fan_in.sqrt()), uniform(rng, out, 1.0 / fan_in.sqrt()))
                };
                Layer::Conv2d(Conv2d {
                    weight: param(w, [out, inp, k, k], device),
                    bias: bias.then(|| param(b, [out], device)),
                    stride: s,
                    padding: p,
                })
            }
            LayerSpec::ConvT { inp, out, k, s, p, bias } => {
                let n = inp * out * k * k;
                // PyTorch computes ConvTranspose2d's fan_in from weight.size(1) = out channels.
                let fan_in = (out * k * k) as f64;
                let fan_out = (inp * k * k) as f64;
                let w = match init {
                    Init::DcganPaper => normal(rng, n, 0.0, 0.02),
                    Init::XavierLinearConvT => uniform(rng, n, (6.0 / (fan_in + fan_out)).sqrt()),
                    _ => uniform(rng, n, 1.0 / fan_in.sqrt()),
                };
                let b = if init == Init::DcganPaper { vec![0.0; out] } else { uniform(rng, out, 1.0 / fan_in.sqrt()) };
                Layer::ConvTranspose2d(ConvTranspose2d {
                    weight: param(w, [inp, out, k, k], device),
                    bias: bias.then(|| param(b, [out], device)),
                    stride: s,
                    padding: p,
                })
            }
            LayerSpec::BatchNorm { features, eps } => {
                let g = if init == Init::DcganPaper { normal(rng, features, 1.0, 0.02) } else { vec![1.0; features] };
                Layer::BatchNorm(BatchNorm {
                    gamma: param(g, [features], device),
                    beta: param(vec![0.0; features], [features], device),
                    running_mean: RunningState::new(Tensor::zeros([features], device)),
                    running_var: RunningState::new(Tensor::ones([features], device)),
                    eps,
                })
            }
            LayerSpec::LayerNorm { ref shape } => {
                let n = shape.iter().product();
                Layer::LayerNorm(LayerNorm {
                    gamma: param(vec![1.0; n], [n], device),
                    beta: param(vec![0.0; n], [n], device),
                    shape: shape.clone(),
                })
            }
            LayerSpec::Relu => Layer::Op(Op::Relu),
            LayerSpec::LeakyRelu(a) => Layer::Op(Op::LeakyRelu(a)),
            LayerSpec::Tanh => Layer::Op(Op::Tanh),
            LayerSpec::Sigmoid => Layer::Op(Op::Sigmoid),
            LayerSpec::Flatten => Layer::Op(Op::Flatten),
            LayerSpec::Reshape(s) => Layer::Op(Op::Reshape(s)),
            LayerSpec::Upsample2x => Layer::Op(Op::Upsample2x),
            LayerSpec::MaxPool2d(k) => Layer::Op(Op::MaxPool2d(k)),
            LayerSpec::Dropout(p) => Layer::Op(Op::Dropout(p)),
            LayerSpec::Dropout2d(p) => Layer::Op(Op::Dropout2d(p)),
        }
    }

    /// Forward pass on `[N, C, H, W]` (vectors as `[N, F, 1, 1]`). Training behaviour (batch
    /// statistics, dropout) applies when the tensor is on an autodiff device and `rng` is given.
    pub fn forward(&self, x: Tensor<4>, rng: Option<&mut Rng>) -> Tensor<4> {
        let mode = BnMode::default_for(&x);
        self.forward_with(x, rng, mode)
    }

    /// The slope of a ReLU (0) or LeakyReLU layer, which a preceding BatchNorm can fuse.
    pub fn activation_slope(&self) -> Option<f64> {
        match self {
            Layer::Op(Op::Relu) => Some(0.0),
            Layer::Op(Op::LeakyRelu(a)) => Some(*a),
            _ => None,
        }
    }

    pub fn forward_with(&self, x: Tensor<4>, rng: Option<&mut Rng>, bn_mode: BnMode) -> Tensor<4> {
        let [n, c, h, w] = x.dims();
        let training = x.device().is_autodiff();
        match self {
            Layer::Linear(l) => {
                let y = kernels::linear(x.reshape([n, c * h * w]), l.weight.val(), l.bias.as_ref().map(|b| b.val()));
                let out = y.dims()[1];
                y.reshape([n, out, 1, 1])
            }
            Layer::Conv2d(l) => kernels::conv2d(x, l.weight.val(), l.bias.as_ref().map(|b| b.val()), l.stride, [l.padding; 2]),
            Layer::ConvTranspose2d(l) => {
                kernels::conv_transpose2d(x, l.weight.val(), l.bias.as_ref().map(|b| b.val()), l.stride, [l.padding; 2], [0, 0])
            }
            Layer::BatchNorm(bn) => bn.forward(x, bn_mode, None),
            Layer::LayerNorm(ln) => {
                let flat = x.reshape([n, c * h * w]);
                let mean = flat.clone().mean_dim(1);
                let centered = flat - mean;
                let var = centered.clone().powi_scalar(2).mean_dim(1);
                let y = centered / var.add_scalar(1e-5).sqrt();
                let y = y * ln.gamma.val().unsqueeze_dim(0) + ln.beta.val().unsqueeze_dim(0);
                y.reshape([n, c, h, w])
            }
            Layer::Op(op) => match op {
                Op::Relu => kernels::leaky_relu(x, 0.0),
                Op::LeakyRelu(a) => kernels::leaky_relu(x, *a),
                Op::Tanh => kernels::tanh(x),
                Op::Sigmoid => activation::sigmoid(x),
                Op::Flatten => x.reshape([n, c * h * w, 1, 1]),
                Op::Reshape(s) => x.reshape([n, s[0], s[1], s[2]]),
                Op::Upsample2x => x
                    .reshape([n, c, h, 1, w, 1])
                    .repeat_dim(3, 2)
                    .repeat_dim(5, 2)
                    .reshape([n, c, 2 * h, 2 * w]),
                Op::MaxPool2d(k) => kernels::max_pool2d(x, *k),
                Op::Dropout(_) | Op::Dropout2d(_) => match rng {
                    Some(rng) if training => match dropout_mask(op, [n, c, h, w], rng, &x.device()) {
                        Some(mask) => x * mask,
                        None => x,
                    },
                    _ => x,
                },
            },
        }
    }

    /// Visit every trainable parameter with its PyTorch name suffix (`weight`, `bias`).
    pub fn params_mut(&mut self, f: &mut dyn FnMut(&str, ParamMut)) {
        match self {
            Layer::Linear(l) => {
                f("weight", ParamMut::R2(&mut l.weight));
                if let Some(b) = &mut l.bias {
                    f("bias", ParamMut::R1(b));
                }
            }
            Layer::Conv2d(Conv2d { weight, bias, .. }) | Layer::ConvTranspose2d(ConvTranspose2d { weight, bias, .. }) => {
                f("weight", ParamMut::R4(weight));
                if let Some(b) = bias {
                    f("bias", ParamMut::R1(b));
                }
            }
            Layer::BatchNorm(BatchNorm { gamma, beta, .. }) | Layer::LayerNorm(LayerNorm { gamma, beta, .. }) => {
                f("weight", ParamMut::R1(gamma));
                f("bias", ParamMut::R1(beta));
            }
            Layer::Op(_) => {}
        }
    }
}

impl BatchNorm {
    /// BatchNorm, followed by LeakyReLU with `slope` (0: ReLU) when the next layer is one (fused).
    pub fn forward(&self, x: Tensor<4>, mode: BnMode, slope: Option<f64>) -> Tensor<4> {
        if mode == BnMode::Running {
            let device = x.device();
            return kernels::batch_norm_eval(
                x,
                self.gamma.val(),
                self.beta.val(),
                self.running_mean.value().to_device(&device),
                self.running_var.value().to_device(&device),
                self.eps,
                slope,
            );
        }
        let [n, _, h, w] = x.dims();
        let count = (n * h * w) as f64;
        let (output, mean, variance) = kernels::batch_norm_train(x, self.gamma.val(), self.beta.val(), self.eps, slope);
        if mode == BnMode::Batch {
            return output;
        }
        let device = output.device();
        let unbiased = if count > 1.0 { count / (count - 1.0) } else { 1.0 };
        let m = 0.1;
        let rm = self.running_mean.value_sync().to_device(&device).mul_scalar(1.0 - m) + mean.detach().mul_scalar(m);
        let rv = self.running_var.value_sync().to_device(&device).mul_scalar(1.0 - m) + variance.detach().mul_scalar(m * unbiased);
        self.running_mean.update(rm.detach());
        self.running_var.update(rv.detach());
        output
    }
}

/// The scaled keep-mask of a dropout layer (None for p = 0). Masks come from gantry's RNG so
/// that a seed (and a resume) fixes them.
pub(crate) fn dropout_mask(op: &Op, [n, c, h, w]: [usize; 4], rng: &mut Rng, device: &Device) -> Option<Tensor<4>> {
    let (p, per_channel) = match *op {
        Op::Dropout(p) => (p, false),
        Op::Dropout2d(p) => (p, true),
        _ => return None,
    };
    if p <= 0.0 {
        return None;
    }
    let keep = 1.0 - p;
    let units = if per_channel { n * c } else { n * c * h * w };
    let m: Vec<f32> = (0..units).map(|_| if rng.next_f64() < keep { (1.0 / keep) as f32 } else { 0.0 }).collect();
    Some(if per_channel { tensor_from(m, [n, c, 1, 1], device) } else { tensor_from(m, [n, c, h, w], device) })
}

pub(crate) fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    out
}

fn normal(rng: &mut Rng, n: usize, mean: f64, std: f64) -> Vec<f32> {
    (0..n).map(|_| (mean + std * rng.normal()) as f32).collect()
}
