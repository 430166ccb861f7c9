//! One dcgan-28 training step against PyTorch (../shared/golden/dcgan_step.safetensors): the
//! generated batch, both losses, every gradient, every weight and BatchNorm statistic after Adam.
//!
//! Two places are ill-conditioned in float32 whatever the implementation, and the test treats them
//! explicitly instead of loosening every tolerance:
//! - Adam's first update is lr·g/(|g|+eps) ≈ ±lr: for a gradient at float-noise level its sign is
//!   noise. Such elements (|g| < 1e-4·max|g| of the tensor) may differ by up to 2·lr.
//! - A ReLU input within 2e-6 of zero can land on either side of the threshold. The generator
//!   gradient is checked with both choices for those elements; one must match PyTorch to 1e-4.

mod common;

use std::collections::HashMap;

use burn::tensor::{Device, Tensor, TensorData, activation};
use gantry::loss::GanLoss;
use gantry::model::layers::{Layer, Op};
use gantry::model::{ModelOptions, NamedTensor, Net, build_spec};
use gantry::rng::Rng;
use gantry::tensor_file;
use gantry::train::gan::Gan;
use gantry::train::optim::{OptimConfig, Optimizer};

const LR: f32 = 2e-4;

fn t4(t: &NamedTensor, device: &Device) -> Tensor<4> {
    let s = [t.shape[0], t.shape[1], t.shape[2], t.shape[3]];
    Tensor::from_data(TensorData::new(t.data.clone(), s), device)
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

#[test]
fn dcgan_step_matches_pytorch() {
    let Some(path) = common::golden("dcgan_step.safetensors") else { return };
    let gold = tensor_file::read(&path).unwrap().tensors;
    let device = Device::flex().autodiff();
    let mut gan = setup(&gold, &device);
    let (z, real) = (t4(&gold["z"], &device), t4(&gold["real"], &device));
    let mut rng = Rng::new(0);

    // The product's own step: G forward, D update, G update.
    let fake = gan.generate(z.clone(), None, &mut rng);
    assert!(common::max_rel_err(&host(fake.clone()), &gold["fake"].data) < 1e-4, "G(z) differs");
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
                let err = common::max_rel_err(&t.data, &want.data);
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
        let mut gan2 = setup(&gold, &device);
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
            worst = worst.max(common::max_rel_err(&v, &grad_g[name].data));
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
                let err = common::max_rel_err(&running[&t.name].data, &want.data);
                assert!(err < 1e-4, "G.{}: relative error {err}", t.name);
            }
        }
    }
}
