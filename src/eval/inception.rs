//! The FID network of pytorch-fid: torchvision's InceptionV3 with the patches that reproduce the
//! TensorFlow graph FID was defined with — 1008 classes, average pools that exclude padding in
//! the A, C and E_1 blocks, a max-pool branch in the last block (E_2), BatchNorm eps 0.001 — read
//! from pytorch-fid's weight file (`pt_inception-2015-12-05-6726825d.pth`). Inference only:
//! every BatchNorm is folded into its convolution.

use std::collections::HashMap;

use burn::tensor::{Device, Tensor};

use crate::kernels;
use crate::kernels::pool::{Reduce, Window};
use crate::model::NamedTensor;
use crate::model::layers::tensor_from;

/// Side of the network's input.
pub const SIZE: usize = 299;
pub const FEATURES: usize = 2048;
pub const CLASSES: usize = 1008;
const BN_EPS: f64 = 0.001;

/// A BasicConv2d (conv without bias, BatchNorm, ReLU): its state-dict prefix and geometry.
#[derive(Clone, Debug)]
pub struct ConvSpec {
    pub name: String,
    pub cin: usize,
    pub cout: usize,
    pub k: [usize; 2],
    pub stride: usize,
    pub pad: [usize; 2],
}

fn c(prefix: &str, name: &str, cin: usize, cout: usize, k: [usize; 2], stride: usize, pad: [usize; 2]) -> ConvSpec {
    let name = if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") };
    ConvSpec { name, cin, cout, k, stride, pad }
}

/// Average pool 3×3 / stride 1 / pad 1 that ignores padded cells (the FID patch), or max pool
/// 3×3 / stride 1 / pad 1 (the last block).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PoolBranch {
    AvgExcludePad,
    Max,
}

/// One stage of the network, in forward order.
#[derive(Clone, Debug)]
pub enum Stage {
    Conv(ConvSpec),
    /// Max pool 3×3, stride 2.
    MaxPool,
    A { b1: ConvSpec, b5: [ConvSpec; 2], b3: [ConvSpec; 3], pool: ConvSpec },
    B { b3: ConvSpec, b3dbl: [ConvSpec; 3] },
    C { b1: ConvSpec, b7: [ConvSpec; 3], b7dbl: [ConvSpec; 5], pool: ConvSpec },
    D { b3: [ConvSpec; 2], b7x3: [ConvSpec; 4] },
    E { b1: ConvSpec, b3: ConvSpec, b3a: ConvSpec, b3b: ConvSpec, dbl: [ConvSpec; 2], dbla: ConvSpec, dblb: ConvSpec, pool: ConvSpec, pool_kind: PoolBranch },
}

fn block_a(p: &str, cin: usize, pool_features: usize) -> Stage {
    Stage::A {
        b1: c(p, "branch1x1", cin, 64, [1, 1], 1, [0, 0]),
        b5: [c(p, "branch5x5_1", cin, 48, [1, 1], 1, [0, 0]), c(p, "branch5x5_2", 48, 64, [5, 5], 1, [2, 2])],
        b3: [
            c(p, "branch3x3dbl_1", cin, 64, [1, 1], 1, [0, 0]),
            c(p, "branch3x3dbl_2", 64, 96, [3, 3], 1, [1, 1]),
            c(p, "branch3x3dbl_3", 96, 96, [3, 3], 1, [1, 1]),
        ],
        pool: c(p, "branch_pool", cin, pool_features, [1, 1], 1, [0, 0]),
    }
}

fn block_c(p: &str, c7: usize) -> Stage {
    let (row, col) = (([1, 7], [0, 3]), ([7, 1], [3, 0]));
    Stage::C {
        b1: c(p, "branch1x1", 768, 192, [1, 1], 1, [0, 0]),
        b7: [
            c(p, "branch7x7_1", 768, c7, [1, 1], 1, [0, 0]),
            c(p, "branch7x7_2", c7, c7, row.0, 1, row.1),
            c(p, "branch7x7_3", c7, 192, col.0, 1, col.1),
        ],
        b7dbl: [
            c(p, "branch7x7dbl_1", 768, c7, [1, 1], 1, [0, 0]),
            c(p, "branch7x7dbl_2", c7, c7, col.0, 1, col.1),
            c(p, "branch7x7dbl_3", c7, c7, row.0, 1, row.1),
            c(p, "branch7x7dbl_4", c7, c7, col.0, 1, col.1),
            c(p, "branch7x7dbl_5", c7, 192, row.0, 1, row.1),
        ],
        pool: c(p, "branch_pool", 768, 192, [1, 1], 1, [0, 0]),
    }
}

fn block_e(p: &str, cin: usize, pool_kind: PoolBranch) -> Stage {
    Stage::E {
        b1: c(p, "branch1x1", cin, 320, [1, 1], 1, [0, 0]),
        b3: c(p, "branch3x3_1", cin, 384, [1, 1], 1, [0, 0]),
        b3a: c(p, "branch3x3_2a", 384, 384, [1, 3], 1, [0, 1]),
        b3b: c(p, "branch3x3_2b", 384, 384, [3, 1], 1, [1, 0]),
        dbl: [c(p, "branch3x3dbl_1", cin, 448, [1, 1], 1, [0, 0]), c(p, "branch3x3dbl_2", 448, 384, [3, 3], 1, [1, 1])],
        dbla: c(p, "branch3x3dbl_3a", 384, 384, [1, 3], 1, [0, 1]),
        dblb: c(p, "branch3x3dbl_3b", 384, 384, [3, 1], 1, [1, 0]),
        pool: c(p, "branch_pool", cin, 192, [1, 1], 1, [0, 0]),
        pool_kind,
    }
}

/// pytorch-fid's FID InceptionV3 up to pool3, stage by stage.
pub fn architecture() -> Vec<Stage> {
    vec![
        Stage::Conv(c("", "Conv2d_1a_3x3", 3, 32, [3, 3], 2, [0, 0])),
        Stage::Conv(c("", "Conv2d_2a_3x3", 32, 32, [3, 3], 1, [0, 0])),
        Stage::Conv(c("", "Conv2d_2b_3x3", 32, 64, [3, 3], 1, [1, 1])),
        Stage::MaxPool,
        Stage::Conv(c("", "Conv2d_3b_1x1", 64, 80, [1, 1], 1, [0, 0])),
        Stage::Conv(c("", "Conv2d_4a_3x3", 80, 192, [3, 3], 1, [0, 0])),
        Stage::MaxPool,
        block_a("Mixed_5b", 192, 32),
        block_a("Mixed_5c", 256, 64),
        block_a("Mixed_5d", 288, 64),
        Stage::B {
            b3: c("Mixed_6a", "branch3x3", 288, 384, [3, 3], 2, [0, 0]),
            b3dbl: [
                c("Mixed_6a", "branch3x3dbl_1", 288, 64, [1, 1], 1, [0, 0]),
                c("Mixed_6a", "branch3x3dbl_2", 64, 96, [3, 3], 1, [1, 1]),
                c("Mixed_6a", "branch3x3dbl_3", 96, 96, [3, 3], 2, [0, 0]),
            ],
        },
        block_c("Mixed_6b", 128),
        block_c("Mixed_6c", 160),
        block_c("Mixed_6d", 160),
        block_c("Mixed_6e", 192),
        Stage::D {
            b3: [c("Mixed_7a", "branch3x3_1", 768, 192, [1, 1], 1, [0, 0]), c("Mixed_7a", "branch3x3_2", 192, 320, [3, 3], 2, [0, 0])],
            b7x3: [
                c("Mixed_7a", "branch7x7x3_1", 768, 192, [1, 1], 1, [0, 0]),
                c("Mixed_7a", "branch7x7x3_2", 192, 192, [1, 7], 1, [0, 3]),
                c("Mixed_7a", "branch7x7x3_3", 192, 192, [7, 1], 1, [3, 0]),
                c("Mixed_7a", "branch7x7x3_4", 192, 192, [3, 3], 2, [0, 0]),
            ],
        },
        block_e("Mixed_7b", 1280, PoolBranch::AvgExcludePad),
        block_e("Mixed_7c", 2048, PoolBranch::Max),
    ]
}

impl Stage {
    pub fn convs(&self) -> Vec<&ConvSpec> {
        match self {
            Stage::Conv(s) => vec![s],
            Stage::MaxPool => vec![],
            Stage::A { b1, b5, b3, pool } => [b1].into_iter().chain(b5).chain(b3).chain([pool]).collect(),
            Stage::B { b3, b3dbl } => [b3].into_iter().chain(b3dbl).collect(),
            Stage::C { b1, b7, b7dbl, pool } => [b1].into_iter().chain(b7).chain(b7dbl).chain([pool]).collect(),
            Stage::D { b3, b7x3 } => b3.iter().chain(b7x3).collect(),
            Stage::E { b1, b3, b3a, b3b, dbl, dbla, dblb, pool, .. } => {
                [b1, b3, b3a, b3b].into_iter().chain(dbl).chain([dbla, dblb, pool]).collect()
            }
        }
    }
}

/// Every tensor of the network's state dict with its shape, as PyTorch names them.
pub fn state_dict_shapes() -> Vec<(String, Vec<usize>)> {
    let mut out = Vec::new();
    for stage in architecture() {
        for s in stage.convs() {
            out.push((format!("{}.conv.weight", s.name), vec![s.cout, s.cin, s.k[0], s.k[1]]));
            for t in ["weight", "bias", "running_mean", "running_var"] {
                out.push((format!("{}.bn.{t}", s.name), vec![s.cout]));
            }
            out.push((format!("{}.bn.num_batches_tracked", s.name), vec![]));
        }
    }
    out.push(("fc.weight".into(), vec![CLASSES, FEATURES]));
    out.push(("fc.bias".into(), vec![CLASSES]));
    out
}

/// A convolution with its BatchNorm folded in: conv(x)·s + (β − μ·s), s = γ / sqrt(σ² + eps).
struct Folded {
    weight: Tensor<4>,
    bias: Tensor<1>,
}

pub struct FidInception {
    stages: Vec<Stage>,
    convs: HashMap<String, Folded>,
    /// `[1008, 2048]` and `[1008]`, host-side: logits are a small matrix product.
    pub fc_weight: Vec<f32>,
    pub fc_bias: Vec<f32>,
}

impl FidInception {
    /// Build from a state dict; a missing tensor or a wrong shape is reported by name.
    pub fn from_state_dict(tensors: &HashMap<String, NamedTensor>, device: &Device) -> Result<Self, String> {
        let get = |name: &str, shape: &[usize]| -> Result<&NamedTensor, String> {
            let t = tensors.get(name).ok_or_else(|| format!("tensor `{name}` missing (not pytorch-fid's FID Inception weights?)"))?;
            let numel: usize = shape.iter().product();
            if t.data.len() != numel || (t.shape.as_slice() != shape && !(shape.is_empty() && t.data.len() == 1)) {
                return Err(format!("tensor `{name}` has shape {:?}, expected {shape:?}", t.shape));
            }
            Ok(t)
        };
        let shapes: HashMap<String, Vec<usize>> = state_dict_shapes().into_iter().collect();
        let stages = architecture();
        let mut convs = HashMap::new();
        for stage in &stages {
            for s in stage.convs() {
                let shape = |t: &str| shapes[&format!("{}.{t}", s.name)].clone();
                let w = get(&format!("{}.conv.weight", s.name), &shape("conv.weight"))?;
                let bn = |t: &str| get(&format!("{}.bn.{t}", s.name), &shape(&format!("bn.{t}")));
                let (gamma, beta, mean, var) = (bn("weight")?, bn("bias")?, bn("running_mean")?, bn("running_var")?);
                let per_out = w.data.len() / s.cout;
                let mut weight = w.data.clone();
                let mut bias = vec![0f32; s.cout];
                for o in 0..s.cout {
                    let scale = gamma.data[o] as f64 / (var.data[o] as f64 + BN_EPS).sqrt();
                    weight[o * per_out..(o + 1) * per_out].iter_mut().for_each(|v| *v = (*v as f64 * scale) as f32);
                    bias[o] = (beta.data[o] as f64 - mean.data[o] as f64 * scale) as f32;
                }
                let folded = Folded {
                    weight: tensor_from(weight, [s.cout, s.cin, s.k[0], s.k[1]], device),
                    bias: tensor_from(bias, [s.cout], device),
                };
                convs.insert(s.name.clone(), folded);
            }
        }
        let fc_weight = get("fc.weight", &[CLASSES, FEATURES])?.data.clone();
        let fc_bias = get("fc.bias", &[CLASSES])?.data.clone();
        Ok(Self { stages, convs, fc_weight, fc_bias })
    }

    fn conv(&self, s: &ConvSpec, x: Tensor<4>) -> Tensor<4> {
        let f = &self.convs[&s.name];
        let y = kernels::conv2d(x, f.weight.clone(), Some(f.bias.clone()), s.stride, s.pad);
        kernels::leaky_relu(y, 0.0)
    }

    fn chain(&self, specs: &[ConvSpec], mut x: Tensor<4>) -> Tensor<4> {
        for s in specs {
            x = self.conv(s, x);
        }
        x
    }

    /// The A and C blocks: a 1×1 branch, two conv chains, and a 1×1 after the padding-excluding
    /// average pool, concatenated along channels.
    fn four_branches(&self, b1: &ConvSpec, left: &[ConvSpec], right: &[ConvSpec], pool: &ConvSpec, x: Tensor<4>) -> Tensor<4> {
        let pooled = pool_branch(x.clone(), PoolBranch::AvgExcludePad);
        Tensor::cat(vec![self.conv(b1, x.clone()), self.chain(left, x.clone()), self.chain(right, x), self.conv(pool, pooled)], 1)
    }

    /// Pool3 features `[N, 2048]` of inputs already resized to 299×299 and mapped to [-1, 1].
    pub fn pool3(&self, mut x: Tensor<4>) -> Tensor<2> {
        let max_s2 = |x: Tensor<4>| kernels::pool2d_inference(x, Window { kernel: 3, stride: 2, padding: 0 }, Reduce::Max);
        for stage in &self.stages {
            x = match stage {
                Stage::Conv(s) => self.conv(s, x),
                Stage::MaxPool => max_s2(x),
                Stage::A { b1, b5, b3, pool } => self.four_branches(b1, b5, b3, pool, x),
                Stage::B { b3, b3dbl } => Tensor::cat(vec![self.conv(b3, x.clone()), self.chain(b3dbl, x.clone()), max_s2(x)], 1),
                Stage::C { b1, b7, b7dbl, pool } => self.four_branches(b1, b7, b7dbl, pool, x),
                Stage::D { b3, b7x3 } => Tensor::cat(vec![self.chain(b3, x.clone()), self.chain(b7x3, x.clone()), max_s2(x)], 1),
                Stage::E { b1, b3, b3a, b3b, dbl, dbla, dblb, pool, pool_kind } => {
                    let t3 = self.conv(b3, x.clone());
                    let td = self.chain(dbl, x.clone());
                    Tensor::cat(
                        vec![
                            self.conv(b1, x.clone()),
                            self.conv(b3a, t3.clone()),
                            self.conv(b3b, t3),
                            self.conv(dbla, td.clone()),
                            self.conv(dblb, td),
                            self.conv(pool, pool_branch(x, *pool_kind)),
                        ],
                        1,
                    )
                }
            };
        }
        let [n, ch, h, w] = x.dims();
        x.reshape([n, ch, h * w]).mean_dim(2).reshape([n, ch])
    }

    /// Logits `[N, 1008]` from pool3 features; `with_bias = false` gives the bias-free logits that
    /// the Inception Score uses.
    pub fn logits(&self, pool3: &[f32], with_bias: bool) -> Vec<f32> {
        let n = pool3.len() / FEATURES;
        let mut out = vec![0f32; n * CLASSES];
        for i in 0..n {
            let f = &pool3[i * FEATURES..(i + 1) * FEATURES];
            for k in 0..CLASSES {
                let w = &self.fc_weight[k * FEATURES..(k + 1) * FEATURES];
                let dot: f64 = f.iter().zip(w).map(|(a, b)| *a as f64 * *b as f64).sum();
                out[i * CLASSES + k] = (dot + if with_bias { self.fc_bias[k] as f64 } else { 0.0 }) as f32;
            }
        }
        out
    }
}

/// The pool branch of the A, C and E blocks (3×3, stride 1, padding 1).
fn pool_branch(x: Tensor<4>, kind: PoolBranch) -> Tensor<4> {
    let reduce = match kind {
        PoolBranch::AvgExcludePad => Reduce::MeanInside,
        PoolBranch::Max => Reduce::Max,
    };
    kernels::pool2d_inference(x, Window { kernel: 3, stride: 1, padding: 1 }, reduce)
}

/// Bilinear resize of one CHW image to `size`×`size`, exactly as PyTorch's `F.interpolate(...,
/// mode="bilinear", align_corners=False)` without antialiasing: half-pixel centres, source
/// coordinates clamped at 0, the last row/column repeated.
pub fn resize_bilinear(img: &[f32], channels: usize, h: usize, w: usize, size: usize) -> Vec<f32> {
    let axis = |inp: usize| -> Vec<(usize, usize, f32)> {
        let scale = inp as f32 / size as f32;
        (0..size)
            .map(|d| {
                let src = (scale * (d as f32 + 0.5) - 0.5).max(0.0);
                let i0 = (src as usize).min(inp - 1);
                let i1 = if i0 < inp - 1 { i0 + 1 } else { i0 };
                (i0, i1, src - i0 as f32)
            })
            .collect()
    };
    let (ys, xs) = (axis(h), axis(w));
    let mut out = vec![0f32; channels * size * size];
    for ch in 0..channels {
        let plane = &img[ch * h * w..(ch + 1) * h * w];
        for (oy, &(y0, y1, ly)) in ys.iter().enumerate() {
            for (ox, &(x0, x1, lx)) in xs.iter().enumerate() {
                let top = (1.0 - lx) * plane[y0 * w + x0] + lx * plane[y0 * w + x1];
                let bottom = (1.0 - lx) * plane[y1 * w + x0] + lx * plane[y1 * w + x1];
                out[(ch * size + oy) * size + ox] = (1.0 - ly) * top + ly * bottom;
            }
        }
    }
    out
}

/// pytorch-fid's input pipeline for one 8-bit CHW image (1 or 3 channels): RGB (grey
/// replicated), [0, 1], bilinear resize to 299×299, then 2x − 1.
pub fn preprocess(img: &Image8) -> Vec<f32> {
    let plane = img.h * img.w;
    let chw: Vec<f32> = (0..3)
        .flat_map(|ch| {
            let src = if img.channels == 1 { 0 } else { ch };
            img.bytes[src * plane..(src + 1) * plane].iter().map(|&b| b as f32 / 255.0)
        })
        .collect();
    resize_bilinear(&chw, 3, img.h, img.w, SIZE).into_iter().map(|v| 2.0 * v - 1.0).collect()
}

/// One 8-bit image, CHW (as datasets hold them and PNG files decode to).
#[derive(Clone, Debug)]
pub struct Image8 {
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    pub bytes: Vec<u8>,
}

impl Image8 {
    /// A PNG of the image at its own size: grey for one channel, RGB for three.
    pub fn save(&self, path: &std::path::Path) -> crate::Result<()> {
        let plane = self.h * self.w;
        let (w, h) = (self.w as u32, self.h as u32);
        let saved = match self.channels {
            1 => image::GrayImage::from_raw(w, h, self.bytes.clone()).map(|i| i.save(path)),
            3 => {
                let hwc: Vec<u8> = (0..plane).flat_map(|p| (0..3).map(move |c| (c, p))).map(|(c, p)| self.bytes[c * plane + p]).collect();
                image::RgbImage::from_raw(w, h, hwc).map(|i| i.save(path))
            }
            c => return Err(crate::Error::bad_file(path, format!("cannot save an image of {c} channels as PNG"))),
        };
        match saved {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(crate::Error::bad_file(path, format!("cannot write PNG ({e})"))),
            None => Err(crate::Error::bad_file(path, "image size does not match its pixels")),
        }
    }
}
