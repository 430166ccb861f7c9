//! Optimisers with PyTorch's exact update rules (Adam, RMSprop, SGD with momentum). State is keyed
//! by parameter name so that checkpoints are readable and independent of burn's parameter ids.

use std::collections::{BTreeMap, HashMap};

use burn::module::Param;
use burn::tensor::{Gradients, Tensor};
use serde::{Deserialize, Serialize};

use crate::kernels::adam::AdamStep;
use crate::model::layers::ParamMut;
use crate::device::read_back;
use crate::model::{NamedTensor, Net};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum OptimConfig {
    Adam {
        lr: f64,
        #[serde(default = "d_beta1")]
        beta1: f64,
        #[serde(default = "d_beta2")]
        beta2: f64,
        #[serde(default = "d_eps")]
        eps: f64,
    },
    Rmsprop {
        lr: f64,
        #[serde(default = "d_alpha")]
        alpha: f64,
        #[serde(default = "d_eps")]
        eps: f64,
        #[serde(default)]
        momentum: f64,
    },
    Sgd {
        lr: f64,
        #[serde(default)]
        momentum: f64,
    },
}

fn d_beta1() -> f64 {
    0.9
}
fn d_beta2() -> f64 {
    0.999
}
fn d_eps() -> f64 {
    1e-8
}
fn d_alpha() -> f64 {
    0.99
}

impl OptimConfig {
    pub fn lr(&self) -> f64 {
        match self {
            Self::Adam { lr, .. } | Self::Rmsprop { lr, .. } | Self::Sgd { lr, .. } => *lr,
        }
    }
    pub fn set_lr(&mut self, new: f64) {
        match self {
            Self::Adam { lr, .. } | Self::Rmsprop { lr, .. } | Self::Sgd { lr, .. } => *lr = new,
        }
    }
    pub fn validate(&self, field: &str) -> crate::Result<()> {
        let bad = |m: &str| Err(crate::Error::config(field, m.to_string()));
        let lr = self.lr();
        if !(lr.is_finite() && lr > 0.0) {
            return bad(&format!("lr must be a positive number, got {lr}"));
        }
        match *self {
            Self::Adam { beta1, beta2, eps, .. } => {
                if !(0.0..1.0).contains(&beta1) || !(0.0..1.0).contains(&beta2) {
                    return bad("betas must be in [0, 1)");
                }
                if eps <= 0.0 {
                    return bad("eps must be positive");
                }
            }
            Self::Rmsprop { alpha, eps, momentum, .. } => {
                if !(0.0..1.0).contains(&alpha) || eps <= 0.0 || momentum < 0.0 {
                    return bad("alpha must be in [0, 1), eps positive, momentum >= 0");
                }
            }
            Self::Sgd { momentum, .. } => {
                if momentum < 0.0 {
                    return bad("momentum must be >= 0");
                }
            }
        }
        Ok(())
    }
}

/// The nets one optimiser updates: a network, and its learned label embedding if it has one
/// (state names `label.*`).
pub fn with_label<'a>(net: &'a mut Net, label: Option<&'a mut Net>) -> Vec<(&'static str, &'a mut Net)> {
    let mut nets = vec![("", net)];
    nets.extend(label.map(|e| ("label.", e)));
    nets
}

pub struct Optimizer {
    pub config: OptimConfig,
    /// Number of updates taken (Adam's bias-correction time step).
    pub steps: u64,
    /// Per parameter name: flattened state buffers (Adam: m, v; RMSprop: v[, buf]; SGD: buf).
    state: HashMap<String, Vec<Tensor<1>>>,
}

impl Optimizer {
    pub fn new(config: OptimConfig) -> Self {
        Self { config, steps: 0, state: HashMap::new() }
    }

    /// One update of every parameter of `net` that has a gradient in `grads`; those gradients are
    /// taken out of `grads` (so their buffers can be reused).
    pub fn step(&mut self, net: &mut Net, grads: &mut Gradients) {
        self.step_nets(&mut [("", net)], grads);
    }

    /// One update (one time step) of several nets (e.g. from [`with_label`]); state names get each
    /// net's prefix.
    pub fn step_nets(&mut self, nets: &mut [(&str, &mut Net)], grads: &mut Gradients) {
        self.steps += 1;
        let t = self.steps as i32;
        let config = self.config.clone();
        let state = &mut self.state;
        for (prefix, net) in nets.iter_mut() {
            net.params_mut(&mut |name, p| {
                let key = format!("{prefix}{name}");
                let update = |value: Tensor<1>, grad: Tensor<1>| -> Tensor<1> {
                    let bufs = state.remove(&key);
                    let (new, bufs) = apply(&config, t, value, grad, bufs);
                    state.insert(key.clone(), bufs);
                    new
                };
                match p {
                    ParamMut::R1(p) => update_param(p, grads, update),
                    ParamMut::R2(p) => update_param(p, grads, update),
                    ParamMut::R4(p) => update_param(p, grads, update),
                }
            });
        }
    }

    /// Whether every state buffer belongs to a parameter of `nets` (named as in [`Self::step_nets`])
    /// and has its size: a checkpoint from another model, or an edited one, does not.
    pub fn check_fits(&self, nets: &mut [(&str, &mut Net)]) -> Result<(), String> {
        let mut sizes = HashMap::new();
        for (prefix, net) in nets.iter_mut() {
            net.params_mut(&mut |name, p| {
                sizes.insert(format!("{prefix}{name}"), p.numel());
            });
        }
        for (key, bufs) in &self.state {
            let want = sizes.get(key).ok_or_else(|| format!("optimiser state `{key}` belongs to no parameter of this model"))?;
            if let Some(b) = bufs.iter().find(|b| b.dims()[0] != *want) {
                return Err(format!("optimiser state `{key}` has {} values, its parameter {want}", b.dims()[0]));
            }
        }
        Ok(())
    }

    pub fn state_dict(&self, prefix: &str) -> Vec<NamedTensor> {
        let mut out = Vec::new();
        let mut names: Vec<_> = self.state.keys().collect();
        names.sort();
        for name in names {
            for (i, t) in self.state[name].iter().enumerate() {
                out.push(NamedTensor { name: format!("{prefix}{name}#{i}"), shape: t.dims().to_vec(), data: read_back(t) });
            }
        }
        out
    }

    pub fn load_state_dict(&mut self, prefix: &str, tensors: &HashMap<String, NamedTensor>, device: &burn::tensor::Device) {
        let mut found: BTreeMap<String, Vec<(usize, Tensor<1>)>> = BTreeMap::new();
        for (key, t) in tensors {
            if let Some(rest) = key.strip_prefix(prefix)
                && let Some((name, idx)) = rest.rsplit_once('#')
                && let Ok(idx) = idx.parse::<usize>()
            {
                let tensor = crate::model::layers::tensor_from(t.data.clone(), [t.data.len()], &device.clone().inner());
                found.entry(name.to_string()).or_default().push((idx, tensor));
            }
        }
        self.state = found
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_by_key(|x| x.0);
                (k, v.into_iter().map(|x| x.1).collect())
            })
            .collect();
    }
}

fn update_param<const D: usize>(
    p: &mut Param<Tensor<D>>,
    grads: &mut Gradients,
    update: impl FnOnce(Tensor<1>, Tensor<1>) -> Tensor<1>,
) {
    let Some(grad) = p.val().grad_remove(grads) else { return };
    crate::model::layers::replace_param(p, |value| {
        let shape: [usize; D] = value.dims();
        let n: usize = shape.iter().product();
        update(value.reshape([n]), grad.reshape([n])).reshape(shape)
    });
}

fn apply(c: &OptimConfig, t: i32, p: Tensor<1>, g: Tensor<1>, bufs: Option<Vec<Tensor<1>>>) -> (Tensor<1>, Vec<Tensor<1>>) {
    match *c {
        OptimConfig::Adam { lr, beta1, beta2, eps } if crate::kernels::applies(&p) => {
            crate::kernels::adam::adam_update(p, g, bufs, AdamStep { lr, beta1, beta2, eps, t })
        }
        _ => apply_tensor_ops(c, t, p, g, bufs),
    }
}

/// The update rules as burn tensor operations (any backend).
fn apply_tensor_ops(c: &OptimConfig, t: i32, p: Tensor<1>, g: Tensor<1>, bufs: Option<Vec<Tensor<1>>>) -> (Tensor<1>, Vec<Tensor<1>>) {
    match *c {
        OptimConfig::Adam { lr, beta1, beta2, eps } => {
            let (m, v) = match bufs {
                Some(b) => (
                    b[0].clone().mul_scalar(beta1) + g.clone().mul_scalar(1.0 - beta1),
                    b[1].clone().mul_scalar(beta2) + g.clone().powi_scalar(2).mul_scalar(1.0 - beta2),
                ),
                None => (g.clone().mul_scalar(1.0 - beta1), g.powi_scalar(2).mul_scalar(1.0 - beta2)),
            };
            let bc1 = 1.0 - beta1.powi(t);
            let bc2 = 1.0 - beta2.powi(t);
            let denom = v.clone().sqrt().div_scalar(bc2.sqrt()).add_scalar(eps);
            let new = p - m.clone().div(denom).mul_scalar(lr / bc1);
            (new, vec![m, v])
        }
        OptimConfig::Rmsprop { lr, alpha, eps, momentum } => {
            let (v, buf) = match bufs {
                Some(mut b) => {
                    let v = b[0].clone().mul_scalar(alpha) + g.clone().powi_scalar(2).mul_scalar(1.0 - alpha);
                    (v, if b.len() > 1 { Some(b.remove(1)) } else { None })
                }
                None => (g.clone().powi_scalar(2).mul_scalar(1.0 - alpha), None),
            };
            let step = g.div(v.clone().sqrt().add_scalar(eps));
            if momentum > 0.0 {
                let buf = match buf {
                    Some(b) => b.mul_scalar(momentum) + step,
                    None => step,
                };
                (p - buf.clone().mul_scalar(lr), vec![v, buf])
            } else {
                (p - step.mul_scalar(lr), vec![v])
            }
        }
        OptimConfig::Sgd { lr, momentum } => {
            if momentum > 0.0 {
                let buf = match bufs {
                    Some(b) => b[0].clone().mul_scalar(momentum) + g,
                    None => g,
                };
                (p - buf.clone().mul_scalar(lr), vec![buf])
            } else {
                (p - g.mul_scalar(lr), vec![])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::read_back;

    /// The fused Adam kernel follows the tensor-operation version over several steps (first step
    /// included), on more elements than one parallel chunk.
    #[test]
    fn fused_adam_matches_tensor_ops() {
        let device = burn::tensor::Device::flex();
        let n = 70_001;
        let values = |k: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * 0.37 + k).sin() * 0.5).collect() };
        let tensor = |v: Vec<f32>| Tensor::<1>::from_data(burn::tensor::TensorData::new(v, [n]), &device);
        if !crate::kernels::applies(&tensor(values(0.0))) {
            eprintln!("skipped: gantry's kernels are off");
            return;
        }
        let c = OptimConfig::Adam { lr: 1e-3, beta1: 0.5, beta2: 0.999, eps: 1e-8 };
        let (mut p_fused, mut p_ops) = (tensor(values(0.0)), tensor(values(0.0)));
        let (mut s_fused, mut s_ops) = (None, None);
        for t in 1..=3 {
            let g = values(t as f32);
            let (p, s) = apply(&c, t, p_fused, tensor(g.clone()), s_fused);
            (p_fused, s_fused) = (p, Some(s));
            let (p, s) = apply_tensor_ops(&c, t, p_ops, tensor(g), s_ops);
            (p_ops, s_ops) = (p, Some(s));
        }
        let mut pairs = vec![(read_back(&p_fused), read_back(&p_ops))];
        for (a, b) in s_fused.unwrap().iter().zip(s_ops.unwrap().iter()) {
            pairs.push((read_back(a), read_back(b)));
        }
        for (a, b) in pairs {
            for (x, y) in a.iter().zip(&b) {
                assert!((x - y).abs() <= 1e-6 * (1.0 + y.abs()), "{x} vs {y}");
            }
        }
    }
}
