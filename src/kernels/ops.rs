//! The tensor-level operations that the models call (re-exported as `kernels::conv2d`, …): each
//! runs gantry's kernel where it [`applies`], else burn's own operation; and the switch that turns
//! gantry's kernels on or off ([`enabled`], [`set_enabled`]).

use std::sync::atomic::{AtomicU8, Ordering};

use burn::backend::{Dispatch, DispatchDevice};
use burn::tensor::module;
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, ConvTransposeOptions, MaxPoolOptions};
use burn::tensor::{DType, Tensor};

use super::extension::GantryKernels;
use super::pool;

/// 0: not decided yet (read the environment), 1: on, 2: off.
static STATE: AtomicU8 = AtomicU8::new(0);

/// Whether gantry's kernels are used (default yes; `GANTRY_KERNELS=burn` turns them off).
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        0 => {
            let on = !matches!(std::env::var("GANTRY_KERNELS").as_deref(), Ok("burn" | "off" | "0"));
            STATE.store(if on { 1 } else { 2 }, Ordering::Relaxed);
            on
        }
        s => s == 1,
    }
}

/// Turn gantry's kernels on or off for the whole process.
pub fn set_enabled(on: bool) {
    STATE.store(if on { 1 } else { 2 }, Ordering::Relaxed);
}

/// Whether gantry's kernels serve `x` (on, f32, flex backend).
pub fn applies<const D: usize>(x: &Tensor<D>) -> bool {
    enabled() && x.dtype() == DType::F32 && matches!(x.device().inner().as_dispatch(), DispatchDevice::Flex(_))
}

fn add_bias(y: Tensor<4>, bias: Option<Tensor<1>>) -> Tensor<4> {
    match bias {
        Some(b) => {
            let c = b.dims()[0];
            y + b.reshape([1, c, 1, 1])
        }
        None => y,
    }
}

/// 2-D convolution (dilation 1, one group, one stride for both axes, padding `[h, w]`) as
/// PyTorch's `Conv2d`.
pub fn conv2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, stride: usize, padding: [usize; 2]) -> Tensor<4> {
    if !applies(&x) {
        return module::conv2d(x, weight, bias, ConvOptions::new([stride; 2], padding, [1, 1], 1));
    }
    let y = <Dispatch as GantryKernels>::gantry_conv2d(x.into_dispatch(), weight.into_dispatch(), stride, padding[0], padding[1]);
    add_bias(Tensor::from_dispatch(y), bias)
}

/// 2-D transposed convolution (dilation 1, one group, one stride for both axes, padding and
/// output padding `[h, w]`) as PyTorch's `ConvTranspose2d`.
pub fn conv_transpose2d(x: Tensor<4>, weight: Tensor<4>, bias: Option<Tensor<1>>, stride: usize, padding: [usize; 2], output_padding: [usize; 2]) -> Tensor<4> {
    if !applies(&x) {
        let options = ConvTransposeOptions::new([stride; 2], padding, output_padding, [1, 1], 1);
        return module::conv_transpose2d(x, weight, bias, options);
    }
    let ([_, _, h, w], [_, _, kh, kw]) = (x.dims(), weight.dims());
    let out = |size: usize, k: usize, axis: usize| (size - 1) * stride + k + output_padding[axis] - 2 * padding[axis];
    let (oh, ow) = (out(h, kh, 0), out(w, kw, 1));
    let y = <Dispatch as GantryKernels>::gantry_conv_transpose2d(x.into_dispatch(), weight.into_dispatch(), stride, padding[0], padding[1], oh, ow);
    add_bias(Tensor::from_dispatch(y), bias)
}

/// A fully connected layer, `x [N, in] · weight [in, out] + bias`, as burn's `linear`.
pub fn linear(x: Tensor<2>, weight: Tensor<2>, bias: Option<Tensor<1>>) -> Tensor<2> {
    if !applies(&x) {
        return module::linear(x, weight, bias);
    }
    let y: Tensor<2> = Tensor::from_dispatch(<Dispatch as GantryKernels>::gantry_matmul(x.into_dispatch(), weight.into_dispatch()));
    match bias {
        Some(b) => y + b.unsqueeze_dim(0),
        None => y,
    }
}

/// PyTorch's `MaxPool2d(k)`: window and stride `k`, no padding, the first maximum of a window
/// taking its gradient.
pub fn max_pool2d(x: Tensor<4>, k: usize) -> Tensor<4> {
    if !applies(&x) {
        return module::max_pool2d(x, MaxPoolOptions::new([k, k]));
    }
    Tensor::from_dispatch(<Dispatch as GantryKernels>::gantry_max_pool2d(x.into_dispatch(), k))
}

/// Pooling for inference (no gradient flows through it): `window` over `x [N, C, H, W]` reduced
/// by `reduce`, as PyTorch's `max_pool2d` resp. `avg_pool2d(count_include_pad=False)`.
pub fn pool2d_inference(x: Tensor<4>, window: pool::Window, reduce: pool::Reduce) -> Tensor<4> {
    if !applies(&x) {
        let pool::Window { kernel, stride, padding } = window;
        return match reduce {
            pool::Reduce::Max => module::max_pool2d(x, MaxPoolOptions::new([kernel; 2]).with_stride([stride; 2]).with_padding([padding; 2])),
            pool::Reduce::MeanInside => {
                module::avg_pool2d(x, AvgPoolOptions::new([kernel; 2]).with_stride([stride; 2]).with_padding([padding; 2]).with_count_include_pad(false))
            }
        };
    }
    Tensor::from_dispatch(<Dispatch as GantryKernels>::gantry_pool2d_inference(x.into_dispatch(), window, reduce))
}

/// tanh within an f32 ulp (see [`mod@super::tanh`]), the gradient from the output.
pub fn tanh<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !applies(&x) {
        return burn::tensor::activation::tanh(x);
    }
    Tensor::from_dispatch(<Dispatch as GantryKernels>::gantry_tanh(x.into_dispatch()))
}

/// LeakyReLU (`slope` 0: ReLU) as PyTorch's, including the gradient at 0 (slope, resp. 0).
pub fn leaky_relu<const D: usize>(x: Tensor<D>, slope: f64) -> Tensor<D> {
    if !applies(&x) {
        return if slope == 0.0 { burn::tensor::activation::relu(x) } else { burn::tensor::activation::leaky_relu(x, slope) };
    }
    Tensor::from_dispatch(<Dispatch as GantryKernels>::gantry_leaky_relu(x.into_dispatch(), slope))
}

/// The activation that follows a BatchNorm, applied by burn's operations.
fn activate_after(y: Tensor<4>, slope: Option<f64>) -> Tensor<4> {
    match slope {
        Some(a) => leaky_relu(y, a),
        None => y,
    }
}

/// BatchNorm in training mode (batch statistics) over `[N, C, H, W]`, followed by LeakyReLU with
/// `slope` (0: ReLU) if given: the output and the batch's per-channel mean and biased variance
/// (for the running statistics). gantry's kernel does normalisation and activation in one pass
/// each way.
pub fn batch_norm_train(x: Tensor<4>, gamma: Tensor<1>, beta: Tensor<1>, eps: f64, slope: Option<f64>) -> (Tensor<4>, Tensor<1>, Tensor<1>) {
    if !applies(&x) {
        let out = module::batch_norm_train(x, gamma, beta, eps);
        return (activate_after(out.output, slope), out.mean, out.variance);
    }
    let stats: Tensor<2> = Tensor::from_dispatch(<Dispatch as GantryKernels>::gantry_batch_stats(x.clone().into_dispatch()));
    let c = gamma.dims()[0];
    let y = <Dispatch as GantryKernels>::gantry_batch_norm(
        x.into_dispatch(),
        gamma.into_dispatch(),
        beta.into_dispatch(),
        stats.clone().into_dispatch(),
        eps,
        slope,
    );
    let mean = stats.clone().slice([0..1, 0..c]).reshape([c]);
    let var = stats.slice([1..2, 0..c]).reshape([c]);
    (Tensor::from_dispatch(y), mean, var)
}

/// BatchNorm in eval mode (running statistics), followed by LeakyReLU with `slope` if given.
/// gantry's kernel serves inference only (tensors off the autodiff device); with autodiff it is
/// burn's operation.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_eval(x: Tensor<4>, gamma: Tensor<1>, beta: Tensor<1>, mean: Tensor<1>, var: Tensor<1>, eps: f64, slope: Option<f64>) -> Tensor<4> {
    if !applies(&x) || x.device().is_autodiff() {
        return activate_after(module::batch_norm(x, gamma, beta, mean, var, eps), slope);
    }
    let c = gamma.dims()[0];
    let stats = Tensor::cat(vec![mean, var], 0).reshape([2, c]);
    let y = <Dispatch as GantryKernels>::gantry_batch_norm(x.into_dispatch(), gamma.into_dispatch(), beta.into_dispatch(), stats.into_dispatch(), eps, slope);
    Tensor::from_dispatch(y)
}
