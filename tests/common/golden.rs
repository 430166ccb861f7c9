//! Checks against PyTorch's reference values in `../shared/golden`, parameterised by device so the
//! CPU tests and the GPU tests (`tests/gpu.rs`) run the same assertions.

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData, activation};
use gantry::eval::{self, FidExtractor, inception};
use gantry::loss::penalty::interpolate;
use gantry::loss::{GanLoss, Penalty};
use gantry::model::input_grad::critic_pass;
use gantry::model::layers::{Layer, Op};
use gantry::model::{Init, LayerSpec, ModelOptions, NamedTensor, Net, NetSpec, build_spec};
use gantry::rng::Rng;
use gantry::tensor_file;
use gantry::train::gan::Gan;
use gantry::optim::{OptimConfig, Optimizer};

const LR: f32 = 2e-4;

fn t4(t: &NamedTensor, device: &Device) -> Tensor<4> {
    let s = [t.shape[0], t.shape[1], t.shape[2], t.shape[3]];
    Tensor::from_data(TensorData::new(t.data.clone(), s), device)
}

fn tensor(t: &NamedTensor, shape: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(t.data.clone(), shape), device)
}

fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec().unwrap()
}

fn with_prefix(map: &HashMap<String, NamedTensor>, prefix: &str) -> HashMap<String, NamedTensor> {
    map.iter().filter_map(|(k, v)| k.strip_prefix(prefix).map(|r| (r.to_string(), v.clone()))).collect()
}

/// Weights after one Adam step: 1e-4 relative, except where the gradient is float noise.
fn assert_after_step(name: &str, got: &[f32], want: &[f32], grad: &[f32]) {
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    let gmax = grad.iter().fold(0f32, |m, v| m.max(v.abs()));
    let mut noisy = 0;
    for i in 0..got.len() {
        let err = (got[i] - want[i]).abs();
        // Exactly zero gradients (kernel taps that only ever see padding) leave weights unchanged.
        if grad[i] != 0.0 && grad[i].abs() < 1e-4 * gmax {
            noisy += 1;
            assert!(err <= 2.0 * LR + 1e-4 * scale, "{name}[{i}]: {} vs {} (noise-level gradient)", got[i], want[i]);
        } else {
            assert!(err <= 1e-4 * scale, "{name}[{i}]: {} vs {}, relative error {}", got[i], want[i], err / scale);
        }
    }
    assert!(noisy * 4 < got.len().max(8), "{name}: {noisy} of {} gradients are at noise level", got.len());
}

fn setup(gold: &HashMap<String, NamedTensor>, device: &Device) -> Gan {
    let spec = build_spec("dcgan-28", &ModelOptions::new(100, [1, 28, 28])).unwrap();
    let adam = OptimConfig::Adam { lr: LR as f64, beta1: 0.5, beta2: 0.999, eps: 1e-8 };
    let mut gan = Gan::new(spec, GanLoss::Bce, adam.clone(), adam, 0, device);
    gan.g.load_state_dict("G.", gold).unwrap();
    gan.d.load_state_dict("D.", gold).unwrap();
    gan
}

/// Generator forward that optionally zeroes ReLU outputs whose input is within (0, 2e-6].
fn g_forward(g: &Net, z: Tensor<4>, flip_knife_edges: bool) -> (Tensor<4>, usize) {
    let mut x = z;
    let mut edges = 0;
    for layer in &g.layers {
        if let (Layer::Op(Op::Relu), true) = (layer, flip_knife_edges) {
            let pre = host(x.clone().detach());
            let mask: Vec<f32> = pre.iter().map(|&v| if v > 0.0 && v <= 2e-6 { 0.0 } else { 1.0 }).collect();
            edges += mask.iter().filter(|m| **m == 0.0).count();
            let dims = x.dims();
            x = activation::relu(x) * Tensor::from_data(TensorData::new(mask, dims), &g.device());
        } else {
            x = layer.forward(x, None);
        }
    }
    (x, edges)
}

/// One dcgan-28 step on `device` (an autodiff device) against PyTorch; skips without the file.
pub fn dcgan_step(device: &Device) {
    let Some(path) = super::golden("dcgan_step.safetensors") else { return };
    let gold = tensor_file::read(&path).unwrap().tensors;
    let device = &device.clone();
    let mut gan = setup(&gold, device);
    let (z, real) = (t4(&gold["z"], device), t4(&gold["real"], device));
    let mut rng = Rng::new(0);

    // The product's own step: G forward, D update, G update.
    let fake = gan.generate(z.clone(), None, &mut rng);
    assert!(super::max_rel_err(&host(fake.clone()), &gold["fake"].data) < 1e-4, "G(z) differs");
    let d = gan.d_step(real.clone(), None, fake.clone(), None, &mut rng).unwrap().read();
    let g = gan.g_step(fake, None, &mut rng).read();
    let (loss_d, loss_g) = (d.get("loss_d").unwrap(), g.get("loss_g").unwrap());
    let rel = |a: f32, b: &str| ((a - gold[b].data[0]) / gold[b].data[0]).abs();
    assert!(rel(loss_d, "loss_d") < 1e-4, "loss_d {} vs {}", loss_d, gold["loss_d"].data[0]);
    assert!(rel(loss_g, "loss_g") < 1e-4, "loss_g {} vs {}", loss_g, gold["loss_g"].data[0]);

    // D after its step: weights (Adam rule above) and running statistics of its three passes.
    let after_d = with_prefix(&gold, "after.D.");
    let grad_d = with_prefix(&gold, "grad.D.");
    let mut checked = 0;
    for t in gan.d.state_dict() {
        let want = &after_d[&t.name];
        assert_eq!(t.shape, want.shape, "D.{}", t.name);
        match grad_d.get(&t.name) {
            Some(grad) => assert_after_step(&format!("D.{}", t.name), &t.data, &want.data, &grad.data),
            // The third of D's passes runs through the updated D, so its statistics inherit the
            // noise-level Adam elements above: 5e-4 here, 1e-4 everywhere else.
            None => {
                let err = super::max_rel_err(&t.data, &want.data);
                assert!(err < 5e-4, "D.{}: relative error {err}", t.name);
            }
        }
        checked += 1;
    }
    assert_eq!(checked, after_d.keys().filter(|k| !k.ends_with("num_batches_tracked")).count());

    // G's gradient, on PyTorch's updated D so that this half is checked on PyTorch's inputs.
    let grad_g = with_prefix(&gold, "grad.G.");
    let mut matched = None;
    for flip in [false, true] {
        let mut gan2 = setup(&gold, device);
        gan2.d.load_state_dict("D.", &with_prefix(&gold, "after.")).unwrap();
        let (fake, edges) = g_forward(&gan2.g, z.clone(), flip);
        if flip && edges == 0 {
            break;
        }
        let scores = gan2.d.forward_logits(fake, None).reshape([8]);
        let mut grads = GanLoss::Bce.g_loss(scores).backward();
        let mut worst = 0f32;
        let mut mine = HashMap::new();
        gan2.g.params_mut(&mut |name, p| {
            let v = match p {
                gantry::model::layers::ParamMut::R1(p) => host(p.val().grad(&grads).unwrap()),
                gantry::model::layers::ParamMut::R4(p) => host(p.val().grad(&grads).unwrap()),
                gantry::model::layers::ParamMut::R2(p) => host(p.val().grad(&grads).unwrap()),
            };
            worst = worst.max(super::max_rel_err(&v, &grad_g[name].data));
            mine.insert(name.to_string(), v);
        });
        if worst < 1e-4 {
            let mut opt = Optimizer::new(OptimConfig::Adam { lr: LR as f64, beta1: 0.5, beta2: 0.999, eps: 1e-8 });
            opt.step(&mut gan2.g, &mut grads);
            matched = Some((gan2, mine));
            break;
        }
        eprintln!("generator gradients with knife-edge flip={flip}: worst relative error {worst}");
    }
    let (gan2, grads) = matched.expect("generator gradients match PyTorch to 1e-4");

    // G after Adam (BatchNorm running statistics come from the product's own step above).
    let after_g = with_prefix(&gold, "after.G.");
    let running: HashMap<String, NamedTensor> = gan.g.state_dict().into_iter().map(|t| (t.name.clone(), t)).collect();
    for t in gan2.g.state_dict() {
        let want = &after_g[&t.name];
        match grads.get(&t.name) {
            Some(grad) => assert_after_step(&format!("G.{}", t.name), &t.data, &want.data, grad),
            None => {
                let err = super::max_rel_err(&running[&t.name].data, &want.data);
                assert!(err < 1e-4, "G.{}: relative error {err}", t.name);
            }
        }
    }
}

/// A WGAN-GP critic's penalty, its gradients and the total critic loss on `device` (autodiff)
/// against PyTorch's double backward; skips without the file.
pub fn wgan_gp(file: &str, layers: Vec<LayerSpec>, x_shape: [usize; 3], device: &Device) {
    let Some(path) = super::golden(file) else { return };
    let gold: HashMap<String, NamedTensor> = tensor_file::read(&path).unwrap().tensors;
    let device = &device.clone();
    let mut net = Net::build(&NetSpec::new(Init::PytorchDefault, layers), &mut Rng::new(0), device);
    net.load_state_dict("critic.", &gold).unwrap();
    let shape = [8, x_shape[0], x_shape[1], x_shape[2]];
    let (real, fake) = (tensor(&gold["real"], shape, device), tensor(&gold["fake"], shape, device));
    let alpha = Tensor::<4>::from_data(TensorData::new(gold["alpha"].data.clone(), [8, 1, 1, 1]), device);
    let lambda = gold["lambda"].data[0] as f64;

    // burn has no retain_graph: each backward gets its own forward.
    let penalty = |net: &Net| {
        let pass = critic_pass(net, interpolate(real.clone(), fake.clone(), alpha.clone()), None, None).unwrap();
        Penalty::Gp { weight: 1.0 }.value(pass.input_grad)
    };
    let (gp, norms) = penalty(&net);
    let err = super::max_rel_err(&host(norms.clone()), &gold["input_grad_norm"].data);
    assert!(err < 1e-4, "{file}: input-gradient norms differ by {err}");
    let err = super::max_rel_err(&host(gp.clone()), &gold["gp"].data);
    assert!(err < 1e-4, "{file}: gp differs by {err}");

    let compare = |net: &mut Net, grads: &burn::tensor::Gradients, prefix: &str| {
        let got: HashMap<String, Vec<f32>> = net.grad_dict(grads).into_iter().map(|t| (t.name, t.data)).collect();
        for (key, want) in gold.iter().filter(|(k, _)| k.starts_with(prefix)) {
            match got.get(&key[prefix.len()..]) {
                Some(g) => {
                    let err = super::max_rel_err(g, &want.data);
                    assert!(err < 1e-4, "{file}: {key} differs by {err}");
                }
                // Parameters outside the graph (biases, for the penalty) must have zero gradient.
                None => assert!(want.data.iter().all(|v| *v == 0.0), "{file}: no gradient for {key}"),
            }
        }
    };
    compare(&mut net, &gp.clone().backward(), "grad_gp.critic.");

    let score = |x: Tensor<4>| net.forward(x, None).reshape([8]);
    let total = score(fake.clone()).mean() - score(real.clone()).mean() + penalty(&net).0.mul_scalar(lambda);
    let err = super::max_rel_err(&host(total.clone()), &gold["critic_loss_total"].data);
    assert!(err < 1e-4, "{file}: total critic loss differs by {err}");
    compare(&mut net, &total.backward(), "grad_total.critic.");
}

/// The README's formula weights, over the state-dict names sorted as byte strings.
pub fn formula_weights() -> HashMap<String, NamedTensor> {
    let mut shapes = inception::state_dict_shapes();
    shapes.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    shapes
        .into_iter()
        .enumerate()
        .map(|(k, (name, shape))| {
            let n: usize = shape.iter().product();
            let base = |i: usize| ((0.7 * i as f64 + 1.3 * k as f64 + 0.1).sin() as f32) as f64;
            let fan_in = n as f64 / shape.first().copied().unwrap_or(1) as f64;
            let data: Vec<f32> = (0..n)
                .map(|i| {
                    let b = base(i);
                    let v = if name.ends_with("running_var") {
                        1.0 + 0.5 * b.abs()
                    } else if name.ends_with("running_mean") || name.ends_with("bn.bias") {
                        0.1 * b
                    } else if name.ends_with("bn.weight") {
                        1.0 + 0.1 * b
                    } else if name == "fc.bias" {
                        0.01 * b
                    } else if name.ends_with("num_batches_tracked") {
                        0.0
                    } else {
                        b * (3.0 / fan_in).sqrt()
                    };
                    v as f32
                })
                .collect();
            (name.clone(), NamedTensor { name, shape, data })
        })
        .collect()
}

pub fn fid_images(dir: &std::path::Path) -> Vec<eval::Image8> {
    let order = std::fs::read_to_string(dir.join("images/ORDER.txt")).unwrap();
    order.lines().filter(|l| !l.trim().is_empty()).map(|f| eval::read_image(&dir.join("images").join(f.trim())).unwrap()).collect()
}

/// pytorch-fid's network (formula weights) on the golden images on `device`: pool3 features and
/// logits; skips without the files.
pub fn inception_features(device: &Device) {
    let Some(dir) = super::golden("fid") else { return };
    let golden = tensor_file::read(&dir.join("features.safetensors")).unwrap();
    let net = FidExtractor::from_tensors(&formula_weights(), device).unwrap();
    let images = fid_images(&dir);
    let pool3 = net.pool3(&images, true, "golden");
    let want = &golden.tensors["pool3"].data;
    let n = images.len();
    for i in 0..n {
        let r = l2_rel_err(&f64s(&pool3[i * 2048..(i + 1) * 2048]), &f64s(&want[i * 2048..(i + 1) * 2048]));
        assert!(r < 1e-4, "image {i}: pool3 relative error {r}");
    }
    for (bias, key) in [(true, "logits"), (false, "logits_unbiased")] {
        let r = l2_rel_err(&f64s(&net.net.logits(&pool3, bias)), &f64s(&golden.tensors[key].data));
        assert!(r < 1e-4, "{key}: relative error {r}");
    }
}

/// ‖a − b‖ / ‖b‖ over a whole feature vector.
fn l2_rel_err(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt().max(1e-30);
    num / den
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| x as f64).collect()
}
