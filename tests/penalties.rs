//! Gradient penalties: the input gradient built from per-layer VJPs must match PyTorch's double
//! backward (golden WGAN-GP files), and each layer's VJP must match finite differences.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use gantry::model::input_grad::critic_pass;
use gantry::model::{Init, LayerSpec, LayerSpec::*, Net, NetSpec};
use gantry::rng::Rng;

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec().unwrap()
}

#[test]
fn wgan_gp_mlp_matches_pytorch() {
    let l = |inp, out| Linear { inp, out, bias: true };
    common::golden::wgan_gp("wgan_gp_mlp.safetensors", vec![l(784, 32), LeakyRelu(0.2), l(32, 32), LeakyRelu(0.2), l(32, 1)], [784, 1, 1], &Device::flex().autodiff());
}

#[test]
fn wgan_gp_conv_layernorm_matches_pytorch() {
    let conv = |inp, out| Conv { inp, out, k: 4, s: 2, p: 1, bias: true };
    common::golden::wgan_gp(
        "wgan_gp_conv_layernorm.safetensors",
        vec![conv(1, 8), LeakyRelu(0.2), conv(8, 16), LayerNorm { shape: vec![16, 7, 7] }, LeakyRelu(0.2), Flatten, Linear { inp: 784, out: 1, bias: true }],
        [1, 28, 28],
        &Device::flex().autodiff(),
    );
}

/// <seed, J u> by central differences against <VJP(seed), u>, for a one-layer net.
fn vjp_matches_finite_differences(layer: LayerSpec, x_shape: [usize; 4]) {
    let device = Device::flex().autodiff();
    let mut rng = Rng::new(7);
    let net = Net::build(&NetSpec::new(Init::PytorchDefault, vec![layer.clone()]), &mut rng, &device);
    let n: usize = x_shape.iter().product();
    let rand = |rng: &mut Rng, shape: [usize; 4]| -> Tensor<4> {
        Tensor::from_data(TensorData::new(rng.normal_vec(shape.iter().product()), shape), &device)
    };
    let x = rand(&mut rng, x_shape);
    let u = rand(&mut rng, x_shape);
    let out_shape = net.forward_logits(x.clone(), Some(&mut Rng::new(3))).dims();
    let seed = rand(&mut rng, out_shape);
    let pass = critic_pass(&net, x.clone(), Some(&mut Rng::new(3)), Some(seed.clone())).unwrap();
    let analytic: f64 = host((pass.input_grad * u.clone()).sum())[0] as f64;
    let f = |eps: f64| -> f64 {
        let y = net.forward_logits(x.clone() + u.clone().mul_scalar(eps), Some(&mut Rng::new(3)));
        host((y * seed.clone()).sum())[0] as f64
    };
    let eps = 1e-2;
    let numeric = (f(eps) - f(-eps)) / (2.0 * eps);
    let tol = 2e-3 * (1.0 + numeric.abs()) * (n as f64).sqrt().max(1.0) / 4.0;
    assert!((analytic - numeric).abs() <= tol, "{layer:?} on {x_shape:?}: VJP {analytic} vs finite differences {numeric}");
}

#[test]
fn every_critic_layer_vjp_matches_finite_differences() {
    let cases: Vec<(LayerSpec, [usize; 4])> = vec![
        (Linear { inp: 12, out: 5, bias: true }, [3, 12, 1, 1]),
        (Linear { inp: 2 * 3 * 3, out: 4, bias: false }, [2, 2, 3, 3]),
        (Conv { inp: 2, out: 3, k: 4, s: 2, p: 1, bias: true }, [2, 2, 9, 9]),
        (Conv { inp: 1, out: 3, k: 2, s: 2, p: 2, bias: false }, [1, 1, 7, 7]),
        (Conv { inp: 3, out: 2, k: 5, s: 1, p: 0, bias: true }, [2, 3, 8, 7]),
        (Conv { inp: 2, out: 2, k: 3, s: 2, p: 1, bias: true }, [1, 2, 10, 10]),
        (ConvT { inp: 3, out: 2, k: 4, s: 2, p: 1, bias: true }, [2, 3, 4, 5]),
        (LayerNorm { shape: vec![3, 4, 4] }, [2, 3, 4, 4]),
        (Relu, [2, 3, 5, 5]),
        (LeakyRelu(0.2), [2, 3, 5, 5]),
        (Tanh, [2, 4, 1, 1]),
        (Sigmoid, [2, 4, 1, 1]), // a lone trailing Sigmoid is skipped as logits; see the pair below
        (Tanh, [2, 4, 1, 1]),
        (Flatten, [2, 3, 2, 2]),
        (Reshape([4, 2, 2]), [2, 16, 1, 1]),
        (Upsample2x, [2, 2, 3, 3]),
        (MaxPool2d(2), [2, 2, 7, 6]),
        (Dropout(0.4), [3, 8, 1, 1]),
        (Dropout2d(0.25), [2, 4, 3, 3]),
    ];
    for (layer, shape) in cases {
        vjp_matches_finite_differences(layer, shape);
    }
}

#[test]
fn batch_norm_critics_are_refused() {
    let device = Device::flex().autodiff();
    let net = Net::build(&NetSpec::new(Init::PytorchDefault, vec![BatchNorm { features: 3, eps: 1e-5 }]), &mut Rng::new(0), &device);
    let x = Tensor::<4>::zeros([2, 3, 1, 1], &device);
    let err = critic_pass(&net, x, None, None).err().expect("BatchNorm refused").to_string();
    assert!(err.contains("BatchNorm"), "{err}");
}
