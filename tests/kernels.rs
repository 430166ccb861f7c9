//! gantry's CPU kernels against burn's reference operations: forward values and both gradients
//! (input and weight) on random shapes — odd sizes, padding, stride 1 and 2, kernels 2, 4 and 5,
//! batch 1, output padding — plus the second-order path the gradient penalties use.

use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Tensor, TensorData, activation};
use gantry::kernels;
use gantry::kernels::conv::{self, ConvGeometry};
use gantry::device::read_back;
use gantry::rng::Rng;

fn random<const D: usize>(shape: [usize; D], rng: &mut Rng, device: &Device) -> Tensor<D> {
    let n = shape.iter().product();
    Tensor::from_data(TensorData::new(rng.uniform_vec(n, -1.0, 1.0), shape), device).require_grad()
}

fn assert_close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1.0);
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 2e-5 * scale, "{what}[{i}]: {g} vs burn's {w}");
    }
}

/// Forward values and the gradients of Σ out·r with respect to x and w, for one implementation.
fn run(f: impl Fn(Tensor<4>, Tensor<4>) -> Tensor<4>, x: &Tensor<4>, w: &Tensor<4>, rng_seed: u64) -> [Vec<f32>; 3] {
    let (x, w) = (x.clone().detach().require_grad(), w.clone().detach().require_grad());
    let y = f(x.clone(), w.clone());
    let r = random(y.dims(), &mut Rng::new(rng_seed), &y.device()).detach();
    let grads = (y.clone() * r).sum().backward();
    [read_back(&y), read_back(&x.grad(&grads).unwrap()), read_back(&w.grad(&grads).unwrap())]
}

/// (batch, in channels, height, width, out channels, kernel, stride, padding)
const SHAPES: &[(usize, usize, usize, usize, usize, usize, usize, usize)] = &[
    (1, 1, 28, 28, 4, 2, 2, 2),
    (2, 3, 7, 9, 5, 3, 1, 1),
    (3, 4, 16, 16, 6, 4, 2, 1),
    (1, 2, 11, 6, 3, 5, 1, 2),
    (2, 5, 9, 9, 2, 5, 2, 0),
    (2, 8, 2, 2, 1, 4, 2, 1),
    (4, 3, 1, 1, 7, 4, 2, 1),
    // ≥ 1024 output positions: the one-GEMM-per-sample forward.
    (2, 3, 34, 33, 4, 3, 1, 1),
    (2, 5, 32, 32, 3, 1, 1, 0),
    // 4×4 stride 2 with ≥ 32 channels each way: Winograd (odd and rectangular sizes, no padding).
    (3, 32, 7, 9, 33, 4, 2, 1),
    (2, 33, 8, 6, 32, 4, 2, 0),
    // The kernel covers the whole image: the dense weight gradient.
    (3, 6, 4, 4, 5, 4, 1, 0),
];

#[test]
fn conv2d_matches_burn_forward_and_gradients() {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(7);
    for &(n, c, h, w, o, k, s, p) in SHAPES {
        if h + 2 * p < k || w + 2 * p < k {
            continue;
        }
        let x = random([n, c, h, w], &mut rng, &device);
        let wt = random([o, c, k, k], &mut rng, &device);
        let ours = run(|x, w| kernels::conv2d(x, w, None, s, [p; 2]), &x, &wt, 1);
        let burn = run(|x, w| conv2d(x, w, None, ConvOptions::new([s; 2], [p; 2], [1, 1], 1)), &x, &wt, 1);
        for (name, (a, b)) in ["output", "input gradient", "weight gradient"].iter().zip(ours.iter().zip(&burn)) {
            assert_close(&format!("conv2d {name} {:?}", (n, c, h, w, o, k, s, p)), a, b);
        }
    }
}

#[test]
fn conv_transpose2d_matches_burn_forward_and_gradients() {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(8);
    for &(n, c, h, w, o, k, s, p) in SHAPES {
        for out_pad in [0, s - 1] {
            if (h - 1) * s + k + out_pad <= 2 * p || (w - 1) * s + k + out_pad <= 2 * p {
                continue;
            }
            let x = random([n, c, h, w], &mut rng, &device);
            let wt = random([c, o, k, k], &mut rng, &device);
            let ours = run(|x, w| kernels::conv_transpose2d(x, w, None, s, [p; 2], [out_pad, out_pad]), &x, &wt, 2);
            let options = ConvTransposeOptions::new([s; 2], [p; 2], [out_pad; 2], [1, 1], 1);
            let burn = run(|x, w| conv_transpose2d(x, w, None, options.clone()), &x, &wt, 2);
            for (name, (a, b)) in ["output", "input gradient", "weight gradient"].iter().zip(ours.iter().zip(&burn)) {
                assert_close(&format!("conv_transpose2d {name} {:?} output padding {out_pad}", (n, c, h, w, o, k, s, p)), a, b);
            }
        }
    }
}

/// Inception's 1×7 / 7×1 convolutions with per-axis padding.
#[test]
fn rectangular_kernels_match_burn() {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(12);
    for (kernel, padding, stride) in [([1, 7], [0, 3], 1), ([7, 1], [3, 0], 1), ([3, 5], [1, 2], 2)] {
        let x = random([2, 3, 9, 10], &mut rng, &device);
        let wt = random([4, 3, kernel[0], kernel[1]], &mut rng, &device);
        let ours = run(|x, w| kernels::conv2d(x, w, None, stride, padding), &x, &wt, 3);
        let burn = run(|x, w| conv2d(x, w, None, ConvOptions::new([stride; 2], padding, [1, 1], 1)), &x, &wt, 3);
        for (name, (a, b)) in ["output", "input gradient", "weight gradient"].iter().zip(ours.iter().zip(&burn)) {
            assert_close(&format!("conv2d {name} kernel {kernel:?} padding {padding:?}"), a, b);
        }
    }
}

/// burn's activation after a BatchNorm (the unfused reference).
fn burn_activation(y: Tensor<4>, slope: Option<f64>) -> Tensor<4> {
    match slope {
        None => y,
        Some(0.0) => activation::relu(y),
        Some(a) => activation::leaky_relu(y, a),
    }
}

#[test]
fn batch_norm_with_fused_activation_matches_burn_in_training_and_eval() {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(13);
    // No activation, ReLU, and the two LeakyReLU slopes of the DCGAN discriminators.
    for slope in [None, Some(0.0), Some(0.02), Some(0.2)] {
        for shape in [[4, 3, 5, 7], [16, 6, 1, 1], [1, 2, 3, 3], [8, 3, 2, 2]] {
            let x = random(shape, &mut rng, &device);
            let gamma = random([shape[1]], &mut rng, &device);
            let beta = random([shape[1]], &mut rng, &device);
            let r = random(shape, &mut rng, &device).detach();
            let mut results = Vec::new();
            for reference in [false, true] {
                let (xi, g, b) = (x.clone().detach().require_grad(), gamma.clone().detach().require_grad(), beta.clone().detach().require_grad());
                let (y, mean, var) = if reference {
                    let out = burn::tensor::module::batch_norm_train(xi.clone(), g.clone(), b.clone(), 1e-5);
                    (burn_activation(out.output, slope), out.mean, out.variance)
                } else {
                    kernels::batch_norm_train(xi.clone(), g.clone(), b.clone(), 1e-5, slope)
                };
                let grads = (y.clone() * r.clone()).sum().backward();
                results.push([read_back(&y), read_back(&mean), read_back(&var), read_back(&xi.grad(&grads).unwrap()), read_back(&g.grad(&grads).unwrap()), read_back(&b.grad(&grads).unwrap())]);
            }
            for (i, name) in ["output", "mean", "variance", "input gradient", "gamma gradient", "beta gradient"].iter().enumerate() {
                assert_close(&format!("batch_norm_train {name} {shape:?} slope {slope:?}"), &results[0][i], &results[1][i]);
            }
            // Eval mode (inference device): running statistics.
            let plain = Device::flex();
            let on = |t: &Tensor<1>| Tensor::<1>::from_data(t.to_data(), &plain);
            let (xe, mean, var) = (Tensor::<4>::from_data(x.to_data(), &plain), on(&gamma).mul_scalar(0.3), on(&beta).abs().add_scalar(0.5));
            let ours = kernels::batch_norm_eval(xe.clone(), on(&gamma), on(&beta), mean.clone(), var.clone(), 0.8, slope);
            let burn = burn_activation(burn::tensor::module::batch_norm(xe, on(&gamma), on(&beta), mean, var, 0.8), slope);
            assert_close(&format!("batch_norm eval {shape:?} slope {slope:?}"), &read_back(&ours), &read_back(&burn));
        }
    }
}

#[test]
fn linear_matches_burn_forward_and_gradients() {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(17);
    for (m, k, n) in [(7, 5, 3), (64, 100, 1024), (1, 33, 70)] {
        let x = random([m, k], &mut rng, &device);
        let w = random([k, n], &mut rng, &device);
        let b = random([n], &mut rng, &device);
        let r = random([m, n], &mut rng, &device).detach();
        let results: Vec<[Vec<f32>; 4]> = [true, false]
            .iter()
            .map(|&ours| {
                let (xi, wi, bi) = (x.clone().detach().require_grad(), w.clone().detach().require_grad(), b.clone().detach().require_grad());
                let y = if ours { kernels::linear(xi.clone(), wi.clone(), Some(bi.clone())) } else { burn::tensor::module::linear(xi.clone(), wi.clone(), Some(bi.clone())) };
                let grads = (y.clone() * r.clone()).sum().backward();
                [read_back(&y), read_back(&xi.grad(&grads).unwrap()), read_back(&wi.grad(&grads).unwrap()), read_back(&bi.grad(&grads).unwrap())]
            })
            .collect();
        for (i, name) in ["output", "input gradient", "weight gradient", "bias gradient"].iter().enumerate() {
            assert_close(&format!("linear {m}x{k}x{n} {name}"), &results[0][i], &results[1][i]);
        }
    }
}

#[test]
fn tanh_matches_burn_forward_and_gradient() {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(23);
    // Values from 0 to saturation, both signs, and a length that leaves remainders after every vector width.
    let x = random([3, 1, 37, 29], &mut rng, &device).mul_scalar(4.0);
    let r = random([3, 1, 37, 29], &mut rng, &device).detach();
    let results: Vec<[Vec<f32>; 2]> = [true, false]
        .iter()
        .map(|&ours| {
            let xi = x.clone().detach().require_grad();
            let y = if ours { kernels::tanh(xi.clone()) } else { activation::tanh(xi.clone()) };
            let grads = (y.clone() * r.clone()).sum().backward();
            [read_back(&y), read_back(&xi.grad(&grads).unwrap())]
        })
        .collect();
    assert_close("tanh output", &results[0][0], &results[1][0]);
    assert_close("tanh input gradient", &results[0][1], &results[1][1]);
}

#[test]
fn max_pool_matches_burn_forward_and_gradient() {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(19);
    // Odd sizes drop the last row and column, as PyTorch's floor mode.
    for (shape, k) in [([2, 3, 24, 24], 2), ([1, 2, 9, 7], 2), ([3, 1, 9, 9], 3)] {
        let x = random(shape, &mut rng, &device);
        let results: Vec<[Vec<f32>; 2]> = [true, false]
            .iter()
            .map(|&ours| {
                let xi = x.clone().detach().require_grad();
                let y = if ours { kernels::max_pool2d(xi.clone(), k) } else { burn::tensor::module::max_pool2d(xi.clone(), burn::tensor::ops::MaxPoolOptions::new([k, k])) };
                let r = Tensor::<4>::ones(y.dims(), &device).cumsum(3);
                let grads = (y.clone() * r).sum().backward();
                [read_back(&y), read_back(&xi.grad(&grads).unwrap())]
            })
            .collect();
        assert_close(&format!("max_pool2d {shape:?} output"), &results[0][0], &results[1][0]);
        assert_close(&format!("max_pool2d {shape:?} input gradient"), &results[0][1], &results[1][1]);
    }
}

#[test]
fn bias_is_added_per_channel() {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(9);
    let x = random([2, 3, 6, 6], &mut rng, &device);
    let w = random([4, 3, 3, 3], &mut rng, &device);
    let b = random([4], &mut rng, &device);
    let ours = kernels::conv2d(x.clone(), w.clone(), Some(b.clone()), 1, [1, 1]);
    let burn = conv2d(x, w, Some(b), ConvOptions::new([1; 2], [1; 2], [1, 1], 1));
    assert_close("conv2d with bias", &read_back(&ours), &read_back(&burn));
}

#[test]
fn leaky_relu_matches_burn_and_pytorch_at_zero() {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(10);
    for slope in [0.0, 0.02, 0.2] {
        let mut v = rng.uniform_vec(5000, -1.0, 1.0);
        v[..100].iter_mut().for_each(|x| *x = 0.0);
        let x = Tensor::<4>::from_data(TensorData::new(v, [2, 5, 20, 25]), &device).require_grad();
        let r = random([2, 5, 20, 25], &mut rng, &device).detach();
        let mut results = Vec::new();
        for reference in [false, true] {
            let xi = x.clone().detach().require_grad();
            let y = if reference {
                if slope == 0.0 { activation::relu(xi.clone()) } else { activation::leaky_relu(xi.clone(), slope) }
            } else {
                kernels::leaky_relu(xi.clone(), slope)
            };
            let g = (y.clone() * r.clone()).sum().backward();
            results.push([read_back(&y), read_back(&xi.grad(&g).unwrap())]);
        }
        assert_close(&format!("leaky_relu({slope}) output"), &results[0][0], &results[1][0]);
        // At exactly 0 PyTorch's gradient is the slope (`x > 0 ? g : g·slope`); burn's leaky_relu
        // uses 1 there, so zeros are checked against PyTorch's rule and the rest against burn.
        let r = read_back(&r);
        let want: Vec<f32> = results[1][1].iter().enumerate().map(|(i, &g)| if i < 100 { r[i] * slope as f32 } else { g }).collect();
        assert_close(&format!("leaky_relu({slope}) gradient"), &results[0][1], &want);
    }
}

/// The gradient penalties differentiate the transposed convolution that is a convolution's input
/// gradient: d/dw of ‖conv_transpose(g, w)‖² must agree with burn's ops.
#[test]
fn second_order_path_matches_burn() {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(11);
    let g = random([3, 6, 4, 4], &mut rng, &device);
    let w = random([6, 2, 4, 4], &mut rng, &device);
    let penalty = |ours: bool| {
        let (g, w) = (g.clone().detach().require_grad(), w.clone().detach().require_grad());
        let dx = if ours {
            kernels::conv_transpose2d(g.clone(), w.clone(), None, 2, [1, 1], [1, 1])
        } else {
            conv_transpose2d(g.clone(), w.clone(), None, ConvTransposeOptions::new([2; 2], [1; 2], [1; 2], [1, 1], 1))
        };
        let grads = dx.powi_scalar(2).sum().backward();
        [read_back(&g.grad(&grads).unwrap()), read_back(&w.grad(&grads).unwrap())]
    };
    let (ours, burn) = (penalty(true), penalty(false));
    assert_close("∂‖ convT ‖²/∂g", &ours[0], &burn[0]);
    assert_close("∂‖ convT ‖²/∂w", &ours[1], &burn[1]);
}

/// Every SIMD level this CPU runs (scalar, AVX2+FMA, AVX-512) gives the scalar path's results
/// bit for bit: BatchNorm forward and backward with each fused activation, Adam (first and later
/// steps), LeakyReLU forward and backward, inference pooling. Lengths leave remainders after every
/// vector width.
#[test]
fn simd_paths_match_the_scalar_path_exactly() {
    use gantry::kernels::adam::{AdamStep, adam_in_place};
    use gantry::kernels::batch_norm;
    use gantry::kernels::pool::{self, Reduce, Window};
    use gantry::kernels::simd::{self, Simd};
    let mut rng = Rng::new(11);
    // Planes long enough for the vector paths, and one value each (the row path of BatchNorm after
    // a fully connected layer).
    let geometries = [(3, 5, 7 * 7 + 3), (5, 37, 1)];
    let bn_inputs: Vec<_> = geometries
        .iter()
        .map(|&(n, c, l)| {
            let (x, dy) = (rng.uniform_vec(n * c * l, -2.0, 2.0), rng.uniform_vec(n * c * l, -1.0, 1.0));
            (x, dy, rng.uniform_vec(c, 0.5, 1.5), rng.uniform_vec(c, -0.5, 0.5))
        })
        .collect();
    let (p0, g) = (rng.uniform_vec(70_003, -1.0, 1.0), rng.uniform_vec(70_003, -1.0, 1.0));
    let outputs = |level: Simd| -> Vec<Vec<f32>> {
        simd::set_cap(level);
        let mut out = vec![];
        for (&(n, c, l), (x, dy, gamma, beta)) in geometries.iter().zip(&bn_inputs) {
            let stats = batch_norm::batch_stats(x, n, c, l);
            for slope in [None, Some(0.0), Some(0.2)] {
                let mut y = x.clone();
                batch_norm::normalize_in_place(&mut y, c, l, &stats, gamma, beta, 1e-5, slope);
                let (dx, dg, db) = batch_norm::backward(x, dy, n, c, l, &stats, gamma, beta, 1e-5, slope);
                out.extend([y, dx, dg, db]);
            }
        }
        let (mut p, mut m, mut v) = (p0.clone(), vec![0.0; p0.len()], vec![0.0; p0.len()]);
        for t in 1..=3 {
            adam_in_place(&mut p, &g, &mut m, &mut v, AdamStep { lr: 1e-3, beta1: 0.5, beta2: 0.999, eps: 1e-8, t }, t == 1);
        }
        out.extend([p, m, v]);
        let mut t: Vec<f32> = p0.iter().map(|v| v * 6.0).collect();
        gantry::kernels::tanh::tanh_in_place(&mut t);
        let mut g2 = g.clone();
        gantry::kernels::tanh::through_tanh(&mut g2, &t);
        out.extend([t, g2]);
        let device = Device::flex().autodiff();
        let xt = Tensor::<1>::from_data(TensorData::new(p0.clone(), [70_003]), &device).require_grad();
        let y = kernels::leaky_relu(xt.clone(), 0.2);
        let grads = (y.clone() * Tensor::from_data(TensorData::new(g.clone(), [70_003]), &device)).sum().backward();
        out.extend([read_back(&y), read_back(&xt.grad(&grads).unwrap())]);
        for (window, reduce) in [(Window { kernel: 3, stride: 1, padding: 1 }, Reduce::MeanInside), (Window { kernel: 3, stride: 2, padding: 0 }, Reduce::Max)] {
            out.push(pool::inference(&p0[..3 * 37 * 41], 3, [37, 41], window, reduce));
        }
        // A 4×4 stride-2 convolution with 32 channels each way (the Winograd transforms), over
        // 20 samples: one block of 16 vector lanes and 4 single ones.
        let conv = ConvGeometry::conv(20, 32, [8, 8], [4, 4], 2, [1, 1]);
        let (x, w) = (&p0[..20 * 32 * 64], &g[..32 * 32 * 16]);
        out.push(conv::conv_forward(x, w, 32, &conv));
        out.push(conv::conv_transpose_forward(&p0[..20 * 32 * 16], w, 32, &conv));
        out
    };
    let scalar = outputs(Simd::Scalar);
    for level in simd::available() {
        assert_eq!(outputs(level), scalar, "{level:?} differs from the scalar path");
        eprintln!("{level:?}: identical to scalar");
    }
    simd::set_cap(Simd::Avx512);
}
