//! gantry's kernels as a burn backend extension: a `Flex` implementation running the slice kernels
//! of [`super::conv`] and [`super::batch_norm`] (and the one-pass LeakyReLU here), and an
//! `Autodiff<Flex>` implementation whose hand-written backward passes run them too. Both
//! convolutions are differentiable in the input and the weight, so the explicit input-gradient
//! graphs of the gradient penalties (which contain transposed convolutions of the critic's
//! convolutions) are differentiated through the same kernels.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Flex, TensorMetadata, backend_extension};
use burn::tensor::TensorData;
use rayon::prelude::*;

use super::{batch_norm, linear, pool, tanh};
use super::activation::leaky_relu_factor;
use super::conv::{ConvGeometry, conv_backward, conv_forward, conv_transpose_backward, conv_transpose_forward};

#[backend_extension(Flex, Autodiff)]
pub trait GantryKernels: Backend {
    /// Convolution without bias, dilation 1, one group: `x [N, C, H, W]`, `weight [O, C, kh, kw]`,
    /// one stride for both axes, zero padding `[padding_h, padding_w]`.
    fn gantry_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, stride: usize, padding_h: usize, padding_w: usize) -> FloatTensor<Self>;

    /// Transposed convolution without bias, dilation 1, one group: `x [N, Cin, H, W]`,
    /// `weight [Cin, Cout, kh, kw]`, output `[N, Cout, out_height, out_width]` (the output size
    /// carries the output padding).
    fn gantry_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding_h: usize,
        padding_w: usize,
        out_height: usize,
        out_width: usize,
    ) -> FloatTensor<Self>;

    /// `lhs [m, k] · rhs [k, n]` (a fully connected layer's product).
    fn gantry_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self>;

    /// Max pooling of `x [N, C, H, W]` with a `k`×`k` window and stride `k`, no padding.
    fn gantry_max_pool2d(x: FloatTensor<Self>, k: usize) -> FloatTensor<Self>;

    /// Inference pooling of `x [N, C, H, W]` (see [`pool::inference`]); not differentiated.
    fn gantry_pool2d_inference(x: FloatTensor<Self>, window: pool::Window, reduce: pool::Reduce) -> FloatTensor<Self>;

    /// tanh, its backward from the output (`1 − y²`).
    fn gantry_tanh(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// `max(x, 0) + slope·min(x, 0)` (ReLU for slope 0), one pass each way.
    fn gantry_leaky_relu(x: FloatTensor<Self>, slope: f64) -> FloatTensor<Self>;

    /// Per-channel batch statistics of `x [N, C, H, W]`: `[2, C]` = (mean, biased variance).
    /// Not differentiated (the BatchNorm backward accounts for the statistics' dependence on x).
    fn gantry_batch_stats(x: FloatTensor<Self>) -> FloatTensor<Self>;

    /// BatchNorm with the given `[2, C]` statistics: `(x − mean)·γ/sqrt(var + eps) + β`, followed
    /// in the same pass by LeakyReLU with `slope` (0: ReLU) if given. On the autodiff backend
    /// `stats` must be `gantry_batch_stats(x)` (training mode): the result is differentiable in x
    /// (through the statistics too), gamma and beta. Off it, any statistics (the running ones in
    /// eval mode).
    fn gantry_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        eps: f64,
        slope: Option<f64>,
    ) -> FloatTensor<Self>;
}

fn dims4(t: &FlexTensor) -> [usize; 4] {
    let s = t.shape();
    [s[0], s[1], s[2], s[3]]
}

/// The values of an f32 tensor in row-major order, copied only if the layout requires it.
fn values(t: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => std::borrow::Cow::Borrowed(s),
        None => std::borrow::Cow::Owned(t.to_contiguous().as_slice::<f32>().expect("contiguous f32 tensor").to_vec()),
    }
}

fn tensor(data: Vec<f32>, shape: [usize; 4]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

fn conv_geometry(x: &FlexTensor, weight: &FlexTensor, stride: usize, padding: [usize; 2]) -> (ConvGeometry, usize) {
    let [n, c, h, w] = dims4(x);
    let [o, _, kh, kw] = dims4(weight);
    (ConvGeometry::conv(n, c, [h, w], [kh, kw], stride, padding), o)
}

fn transposed_geometry(x: &FlexTensor, weight: &FlexTensor, stride: usize, padding: [usize; 2], out: [usize; 2]) -> (ConvGeometry, usize) {
    let [n, ci, h, w] = dims4(x);
    let [_, co, kh, kw] = dims4(weight);
    (ConvGeometry::transposed(n, co, [h, w], out, [kh, kw], stride, padding), ci)
}

fn conv2d_flex(x: &FlexTensor, weight: &FlexTensor, stride: usize, padding: [usize; 2]) -> FlexTensor {
    let (g, o) = conv_geometry(x, weight, stride, padding);
    tensor(conv_forward(&values(x), &values(weight), o, &g), [g.batch, o, g.out_height, g.out_width])
}

fn conv_transpose2d_flex(x: &FlexTensor, weight: &FlexTensor, stride: usize, padding: [usize; 2], out: [usize; 2]) -> FlexTensor {
    let (g, ci) = transposed_geometry(x, weight, stride, padding, out);
    tensor(conv_transpose_forward(&values(x), &values(weight), ci, &g), [g.batch, g.channels, g.height, g.width])
}

/// Elements per parallel task of the elementwise kernels.
const CHUNK: usize = 1 << 14;

/// Runs `f` on the values of an owned f32 tensor (row-major) and returns the tensor: in place when
/// it owns its contiguous buffer (as burn's own elementwise ops do), else on a contiguous copy.
fn update_owned(mut x: FlexTensor, f: impl FnOnce(&mut [f32])) -> FlexTensor {
    if let Some((start, end)) = x.layout().contiguous_offsets()
        && let Some(storage) = x.try_storage_mut::<f32>()
    {
        f(&mut storage[start..end]);
        return x;
    }
    let mut copy = values(&x).into_owned();
    f(&mut copy);
    FlexTensor::from_data(TensorData::new(copy, x.shape()))
}

fn tanh_flex(x: FlexTensor) -> FlexTensor {
    update_owned(x, |v| v.par_chunks_mut(CHUNK).for_each(tanh::tanh_in_place))
}

fn leaky_relu_flex(x: FlexTensor, slope: f64) -> FlexTensor {
    let slope = slope as f32;
    update_owned(x, |v| v.par_chunks_mut(CHUNK).for_each(|c| leaky_relu_chunk(c, slope)))
}

crate::simd_dispatch! {
    fn leaky_relu_chunk(v: &mut [f32], slope: f32) {
        v.iter_mut().for_each(|v| *v *= leaky_relu_factor(*v, slope))
    }
}

crate::simd_dispatch! {
    /// `g *= f(y)`: the gradient through a LeakyReLU/ReLU whose output is `y` (same sign as its input).
    fn through_leaky_relu(g: &mut [f32], y: &[f32], slope: f32) {
        g.iter_mut().zip(y).for_each(|(g, &y)| *g *= leaky_relu_factor(y, slope))
    }
}

/// `[N, C, L]` sizes of an NCHW tensor.
fn ncl(x: &FlexTensor) -> (usize, usize, usize) {
    let [n, c, h, w] = dims4(x);
    (n, c, h * w)
}

fn batch_stats_flex(x: &FlexTensor) -> FlexTensor {
    let (n, c, l) = ncl(x);
    FlexTensor::from_data(TensorData::new(batch_norm::batch_stats(&values(x), n, c, l), [2, c]))
}

/// Normalises `x` with the given statistics and affine parameters, in place when `x` owns its
/// buffer.
fn batch_norm_flex(x: FlexTensor, gamma: &FlexTensor, beta: &FlexTensor, stats: &FlexTensor, eps: f64, slope: Option<f64>) -> FlexTensor {
    let (_, c, l) = ncl(&x);
    let slope = slope.map(|a| a as f32);
    update_owned(x, |v| batch_norm::normalize_in_place(v, c, l, &values(stats), &values(gamma), &values(beta), eps, slope))
}

fn matmul_sizes(lhs: &FlexTensor, rhs: &FlexTensor) -> [usize; 3] {
    let (a, b) = (lhs.shape(), rhs.shape());
    [a[0], a[1], b[1]]
}

fn matmul_flex(lhs: &FlexTensor, rhs: &FlexTensor) -> FlexTensor {
    let [m, k, n] = matmul_sizes(lhs, rhs);
    FlexTensor::from_data(TensorData::new(linear::forward(&values(lhs), &values(rhs), [m, k, n]), [m, n]))
}

/// The pooled tensor and the offset in its input plane that each output took.
fn max_pool2d_flex(x: &FlexTensor, k: usize) -> (FlexTensor, Vec<u32>) {
    let [n, c, h, w] = dims4(x);
    let (y, arg) = pool::forward(&values(x), n * c, [h, w], k);
    (tensor(y, [n, c, h / k, w / k]), arg)
}

fn pool2d_inference_flex(x: &FlexTensor, window: pool::Window, reduce: pool::Reduce) -> FlexTensor {
    let [n, c, h, w] = dims4(x);
    let y = pool::inference(&values(x), n * c, [h, w], window, reduce);
    tensor(y, [n, c, window.output(h), window.output(w)])
}

impl GantryKernels for Flex {
    fn gantry_pool2d_inference(x: FlexTensor, window: pool::Window, reduce: pool::Reduce) -> FlexTensor {
        pool2d_inference_flex(&x, window, reduce)
    }

    fn gantry_matmul(lhs: FlexTensor, rhs: FlexTensor) -> FlexTensor {
        matmul_flex(&lhs, &rhs)
    }

    fn gantry_max_pool2d(x: FlexTensor, k: usize) -> FlexTensor {
        max_pool2d_flex(&x, k).0
    }

    fn gantry_conv2d(x: FlexTensor, weight: FlexTensor, stride: usize, padding_h: usize, padding_w: usize) -> FlexTensor {
        conv2d_flex(&x, &weight, stride, [padding_h, padding_w])
    }

    fn gantry_conv_transpose2d(
        x: FlexTensor,
        weight: FlexTensor,
        stride: usize,
        padding_h: usize,
        padding_w: usize,
        out_height: usize,
        out_width: usize,
    ) -> FlexTensor {
        conv_transpose2d_flex(&x, &weight, stride, [padding_h, padding_w], [out_height, out_width])
    }

    fn gantry_leaky_relu(x: FlexTensor, slope: f64) -> FlexTensor {
        leaky_relu_flex(x, slope)
    }

    fn gantry_tanh(x: FlexTensor) -> FlexTensor {
        tanh_flex(x)
    }

    fn gantry_batch_stats(x: FlexTensor) -> FlexTensor {
        batch_stats_flex(&x)
    }

    fn gantry_batch_norm(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, stats: FlexTensor, eps: f64, slope: Option<f64>) -> FlexTensor {
        batch_norm_flex(x, &gamma, &beta, &stats, eps, slope)
    }
}

/// What the backward passes keep: both operands and the geometry's free parameters.
type ConvState = (FlexTensor, FlexTensor, usize, [usize; 2]);

/// Registers the input and weight gradients of a two-operand op for the parents that track them.
fn register_both(grads: &mut Gradients, parents: [Option<NodeId>; 2], values: [Option<Vec<f32>>; 2], shapes: [[usize; 4]; 2]) {
    for ((id, value), shape) in parents.into_iter().zip(values).zip(shapes) {
        if let (Some(id), Some(value)) = (id, value) {
            grads.register::<Flex>(id, tensor(value, shape));
        }
    }
}

/// Backward of `gantry_conv2d` or, with `transposed`, of `gantry_conv_transpose2d`.
#[derive(Debug)]
struct ConvBackward {
    transposed: bool,
}

impl Backward<Flex, 2> for ConvBackward {
    type State = ConvState;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, weight, stride, padding) = ops.state;
        let want = ops.parents.each_ref().map(Option::is_some);
        let parents = ops.parents.map(|p| p.map(|n| n.id));
        let (xv, wv, gv) = (values(&x), values(&weight), values(&grad));
        if self.transposed {
            let [_, _, out_h, out_w] = dims4(&grad);
            let (g, ci) = transposed_geometry(&x, &weight, stride, padding, [out_h, out_w]);
            let d = conv_transpose_backward(&xv, &wv, &gv, ci, &g, want);
            register_both(grads, parents, d, [[g.batch, ci, g.out_height, g.out_width], [ci, g.channels, g.kernel[0], g.kernel[1]]]);
        } else {
            let (g, o) = conv_geometry(&x, &weight, stride, padding);
            let d = conv_backward(&xv, &wv, &gv, o, &g, want);
            register_both(grads, parents, d, [[g.batch, g.channels, g.height, g.width], [o, g.channels, g.kernel[0], g.kernel[1]]]);
        }
    }
}

#[derive(Debug)]
struct MatmulBackward;

impl Backward<Flex, 2> for MatmulBackward {
    /// Both operands.
    type State = (FlexTensor, FlexTensor);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (lhs, rhs) = ops.state;
        let want = ops.parents.each_ref().map(Option::is_some);
        let [m, k, n] = matmul_sizes(&lhs, &rhs);
        let [dl, dr] = linear::backward(&values(&lhs), &values(&rhs), &values(&grad), [m, k, n], want);
        for ((parent, value), shape) in ops.parents.into_iter().zip([dl, dr]).zip([[m, k], [k, n]]) {
            if let (Some(node), Some(value)) = (parent, value) {
                grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(value, shape)));
            }
        }
    }
}

#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    /// The input's shape, the window, and the offset each output took.
    type State = ([usize; 4], usize, Vec<u32>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let ([n, c, h, w], k, arg) = ops.state;
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, tensor(pool::backward(&values(&grad), &arg, n * c, [h, w], k), [n, c, h, w]));
        }
    }
}

#[derive(Debug)]
struct TanhBackward;

impl Backward<Flex, 1> for TanhBackward {
    /// The output.
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let Some(node) = node_x else { return };
        let y = values(&ops.state);
        let dx = update_owned(grad, |g| g.par_chunks_mut(CHUNK).zip(y.par_chunks(CHUNK)).for_each(|(g, y)| tanh::through_tanh(g, y)));
        grads.register::<Flex>(node.id, dx);
    }
}

#[derive(Debug)]
struct LeakyReluBackward;

impl Backward<Flex, 1> for LeakyReluBackward {
    /// The output (positive exactly where the input is, for slope ≥ 0) and the slope.
    type State = (FlexTensor, f64);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (y, slope) = ops.state;
        let Some(node) = node_x else { return };
        let (y, slope) = (values(&y), slope as f32);
        // The output gradient is consumed here: it is scaled in place unless its buffer is shared.
        let dx = update_owned(grad, |g| {
            g.par_chunks_mut(CHUNK).zip(y.par_chunks(CHUNK)).for_each(|(g, y)| {
                through_leaky_relu(g, y, slope)
            })
        });
        grads.register::<Flex>(node.id, dx);
    }
}

#[derive(Debug)]
struct BatchNormBackward;

impl Backward<Flex, 3> for BatchNormBackward {
    /// Input, gamma, beta, statistics, eps, the fused activation's slope.
    type State = (FlexTensor, FlexTensor, FlexTensor, FlexTensor, f64, Option<f64>);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, gamma, beta, stats, eps, slope) = ops.state;
        let (n, c, l) = ncl(&x);
        let (xv, gv, sv, gammav, betav) = (values(&x), values(&grad), values(&stats), values(&gamma), values(&beta));
        let (dx, dgamma, dbeta) = batch_norm::backward(&xv, &gv, n, c, l, &sv, &gammav, &betav, eps, slope.map(|a| a as f32));
        if let Some(node) = node_x {
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dx, x.shape())));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dgamma, [c])));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, FlexTensor::from_data(TensorData::new(dbeta, [c])));
        }
    }
}

impl<C: CheckpointStrategy> GantryKernels for Autodiff<Flex, C> {
    fn gantry_matmul(lhs: FloatTensor<Self>, rhs: FloatTensor<Self>) -> FloatTensor<Self> {
        match MatmulBackward.prepare::<C>([lhs.node(), rhs.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (lhs, rhs) = (lhs.into_primitive(), rhs.into_primitive());
                let y = matmul_flex(&lhs, &rhs);
                prep.finish((lhs, rhs), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(matmul_flex(lhs.primitive(), rhs.primitive())),
        }
    }

    fn gantry_max_pool2d(x: FloatTensor<Self>, k: usize) -> FloatTensor<Self> {
        match MaxPoolBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let x = x.into_primitive();
                let (y, arg) = max_pool2d_flex(&x, k);
                prep.finish((dims4(&x), k, arg), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(max_pool2d_flex(x.primitive(), k).0),
        }
    }

    fn gantry_batch_stats(x: FloatTensor<Self>) -> FloatTensor<Self> {
        <FloatTensor<Self>>::new(batch_stats_flex(x.primitive()))
    }

    fn gantry_pool2d_inference(x: FloatTensor<Self>, window: pool::Window, reduce: pool::Reduce) -> FloatTensor<Self> {
        <FloatTensor<Self>>::new(pool2d_inference_flex(x.primitive(), window, reduce))
    }

    fn gantry_batch_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        stats: FloatTensor<Self>,
        eps: f64,
        slope: Option<f64>,
    ) -> FloatTensor<Self> {
        let stats = stats.into_primitive();
        match BatchNormBackward.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (x, gamma, beta) = (x.into_primitive(), gamma.into_primitive(), beta.into_primitive());
                // The input is kept for the backward pass, so the output gets its own buffer.
                let y = batch_norm_flex(x.clone(), &gamma, &beta, &stats, eps, slope);
                prep.finish((x, gamma, beta, stats, eps, slope), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(batch_norm_flex(x.into_primitive(), gamma.primitive(), beta.primitive(), &stats, eps, slope)),
        }
    }

    fn gantry_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match TanhBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = tanh_flex(x.into_primitive());
                prep.finish(y.clone(), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(tanh_flex(x.into_primitive())),
        }
    }

    fn gantry_leaky_relu(x: FloatTensor<Self>, slope: f64) -> FloatTensor<Self> {
        match LeakyReluBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = leaky_relu_flex(x.into_primitive(), slope);
                prep.finish((y.clone(), slope), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(leaky_relu_flex(x.into_primitive(), slope)),
        }
    }

    fn gantry_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, stride: usize, padding_h: usize, padding_w: usize) -> FloatTensor<Self> {
        let padding = [padding_h, padding_w];
        match (ConvBackward { transposed: false }).prepare::<C>([x.node(), weight.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (x, weight) = (x.into_primitive(), weight.into_primitive());
                let out = conv2d_flex(&x, &weight, stride, padding);
                prep.finish((x, weight, stride, padding), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(conv2d_flex(x.primitive(), weight.primitive(), stride, padding)),
        }
    }

    fn gantry_conv_transpose2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        stride: usize,
        padding_h: usize,
        padding_w: usize,
        out_height: usize,
        out_width: usize,
    ) -> FloatTensor<Self> {
        let (padding, out) = ([padding_h, padding_w], [out_height, out_width]);
        match (ConvBackward { transposed: true }).prepare::<C>([x.node(), weight.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (x, weight) = (x.into_primitive(), weight.into_primitive());
                let y = conv_transpose2d_flex(&x, &weight, stride, padding, out);
                prep.finish((x, weight, stride, padding), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(conv_transpose2d_flex(x.primitive(), weight.primitive(), stride, padding, out)),
        }
    }
}
