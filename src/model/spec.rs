//! Plain-data description of a network: the layer list of a PyTorch `nn.Sequential`, in the same
//! order, so that parameter names (`0.weight`, `3.running_var`, ...) match PyTorch's state_dict and
//! `gantry models` can print shapes and parameter counts without building anything.

use serde::{Deserialize, Serialize};

/// Per-sample activation shape `[channels, height, width]`; a feature vector is `[features, 1, 1]`.
pub type Shape3 = [usize; 3];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LayerSpec {
    Linear { inp: usize, out: usize, bias: bool },
    Conv { inp: usize, out: usize, k: usize, s: usize, p: usize, bias: bool },
    ConvT { inp: usize, out: usize, k: usize, s: usize, p: usize, bias: bool },
    /// BatchNorm1d or BatchNorm2d (chosen by the input shape), momentum 0.1.
    BatchNorm { features: usize, eps: f64 },
    /// LayerNorm over the given trailing shape (elementwise affine), eps 1e-5.
    LayerNorm { shape: Vec<usize> },
    Relu,
    LeakyRelu(f64),
    Tanh,
    Sigmoid,
    Flatten,
    Reshape(Shape3),
    Upsample2x,
    MaxPool2d(usize),
    Dropout(f64),
    Dropout2d(f64),
}

/// How parameters are initialised, per layer kind.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Init {
    /// PyTorch's defaults (kaiming-uniform with a = sqrt(5): U(±1/sqrt(fan_in)) for weights and biases).
    PytorchDefault,
    /// Xavier-uniform weights for Linear and ConvTranspose2d layers; PyTorch defaults elsewhere.
    XavierLinearConvT,
    /// Xavier-uniform weights for Linear layers; PyTorch defaults elsewhere.
    XavierLinear,
    /// The DCGAN paper: conv weights N(0, 0.02), BatchNorm weight N(1, 0.02), biases 0.
    DcganPaper,
    /// A label embedding (PyTorch's nn.Embedding): Linear weights N(0, 1).
    Embedding,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetSpec {
    pub layers: Vec<LayerSpec>,
    pub init: Init,
}

impl LayerSpec {
    pub fn name(&self) -> String {
        match self {
            LayerSpec::Linear { inp, out, bias } => format!("Linear({inp}, {out}{})", nb(*bias)),
            LayerSpec::Conv { inp, out, k, s, p, bias } => {
                format!("Conv2d({inp}, {out}, k={k}, s={s}, p={p}{})", nb(*bias))
            }
            LayerSpec::ConvT { inp, out, k, s, p, bias } => {
                format!("ConvTranspose2d({inp}, {out}, k={k}, s={s}, p={p}{})", nb(*bias))
            }
            LayerSpec::BatchNorm { features, eps } => format!("BatchNorm({features}, eps={eps})"),
            LayerSpec::LayerNorm { shape } => format!("LayerNorm({shape:?})"),
            LayerSpec::Relu => "ReLU".into(),
            LayerSpec::LeakyRelu(a) => format!("LeakyReLU({a})"),
            LayerSpec::Tanh => "Tanh".into(),
            LayerSpec::Sigmoid => "Sigmoid".into(),
            LayerSpec::Flatten => "Flatten".into(),
            LayerSpec::Reshape(s) => format!("Reshape({}, {}, {})", s[0], s[1], s[2]),
            LayerSpec::Upsample2x => "Upsample(scale=2, nearest)".into(),
            LayerSpec::MaxPool2d(k) => format!("MaxPool2d({k})"),
            LayerSpec::Dropout(p) => format!("Dropout({p})"),
            LayerSpec::Dropout2d(p) => format!("Dropout2d({p})"),
        }
    }

    /// Trainable parameter count (buffers such as running statistics are not parameters).
    pub fn num_params(&self) -> usize {
        match self {
            LayerSpec::Linear { inp, out, bias } => inp * out + if *bias { *out } else { 0 },
            LayerSpec::Conv { inp, out, k, bias, .. } | LayerSpec::ConvT { inp, out, k, bias, .. } => {
                inp * out * k * k + if *bias { *out } else { 0 }
            }
            LayerSpec::BatchNorm { features, .. } => 2 * features,
            LayerSpec::LayerNorm { shape } => 2 * shape.iter().product::<usize>(),
            _ => 0,
        }
    }

    /// Output shape for a given input shape, or a message saying why the input does not fit.
    pub fn output_shape(&self, x: Shape3) -> Result<Shape3, String> {
        let [c, h, w] = x;
        let flat = c * h * w;
        let conv_out = |n: usize, k: usize, s: usize, p: usize| -> Result<usize, String> {
            if n + 2 * p < k {
                return Err(format!("spatial size {n} too small for kernel {k}"));
            }
            Ok((n + 2 * p - k) / s + 1)
        };
        match self {
            LayerSpec::Linear { inp, out, .. } => {
                if flat != *inp || h != 1 || w != 1 {
                    return Err(format!("{} expects {inp} features, got {x:?}", self.name()));
                }
                Ok([*out, 1, 1])
            }
            LayerSpec::Conv { inp, out, k, s, p, .. } => {
                if c != *inp {
                    return Err(format!("{} expects {inp} channels, got {c}", self.name()));
                }
                Ok([*out, conv_out(h, *k, *s, *p)?, conv_out(w, *k, *s, *p)?])
            }
            LayerSpec::ConvT { inp, out, k, s, p, .. } => {
                if c != *inp {
                    return Err(format!("{} expects {inp} channels, got {c}", self.name()));
                }
                let o = |n: usize| ((n - 1) * s + k).checked_sub(2 * p).ok_or("negative size".to_string());
                Ok([*out, o(h)?, o(w)?])
            }
            LayerSpec::BatchNorm { features, .. } => {
                if c != *features {
                    return Err(format!("{} expects {features} channels, got {c}", self.name()));
                }
                Ok(x)
            }
            LayerSpec::LayerNorm { shape } => {
                if shape.iter().product::<usize>() != flat {
                    return Err(format!("{} does not fit {x:?}", self.name()));
                }
                Ok(x)
            }
            LayerSpec::Flatten => Ok([flat, 1, 1]),
            LayerSpec::Reshape(s) => {
                if s.iter().product::<usize>() != flat {
                    return Err(format!("cannot reshape {x:?} to {s:?}"));
                }
                Ok(*s)
            }
            LayerSpec::Upsample2x => Ok([c, 2 * h, 2 * w]),
            LayerSpec::MaxPool2d(k) => Ok([c, h / k, w / k]),
            _ => Ok(x),
        }
    }
}

fn nb(bias: bool) -> &'static str {
    if bias { "" } else { ", bias=False" }
}

impl NetSpec {
    pub fn new(init: Init, layers: Vec<LayerSpec>) -> Self {
        Self { layers, init }
    }

    pub fn num_params(&self) -> usize {
        self.layers.iter().map(LayerSpec::num_params).sum()
    }

    /// Shapes after each layer, or the first layer that does not fit.
    pub fn shapes(&self, input: Shape3) -> Result<Vec<Shape3>, String> {
        let mut x = input;
        let mut out = Vec::with_capacity(self.layers.len());
        for (i, l) in self.layers.iter().enumerate() {
            x = l.output_shape(x).map_err(|e| format!("layer {i} ({}): {e}", l.name()))?;
            out.push(x);
        }
        Ok(out)
    }

    /// True when the last layer is a Sigmoid: the loss then works on the logits before it.
    pub fn ends_with_sigmoid(&self) -> bool {
        matches!(self.layers.last(), Some(LayerSpec::Sigmoid))
    }

    pub fn has_batch_norm(&self) -> bool {
        self.layers.iter().any(|l| matches!(l, LayerSpec::BatchNorm { .. }))
    }
}
