//! Losses against ../shared/golden/losses.safetensors, extreme logits included.

mod common;

use burn::tensor::{Device, Tensor, TensorData};
use gantry::loss::GanLoss;

#[test]
fn losses_match_pytorch() {
    let Some(path) = common::golden("losses.safetensors") else { return };
    let g = gantry::tensor_file::read(&path).unwrap().tensors;
    let dev = Device::flex();
    let t = |k: &str| Tensor::<1>::from_data(TensorData::new(g[k].data.clone(), [g[k].data.len()]), &dev);
    let v = |x: Tensor<1>| x.into_scalar::<f32>();
    let (r, f) = (t("logits_real"), t("logits_fake"));
    assert!(g["logits_real"].data.iter().any(|x| x.abs() >= 100.0), "golden has extreme logits");
    let cases = [
        ("bce_d", v(GanLoss::Bce.d_loss(r.clone(), f.clone()))),
        ("bce_g_nonsaturating", v(GanLoss::Bce.g_loss(f.clone()))),
        ("bce_g_minimax", v(GanLoss::BceMinimax.g_loss(f.clone()))),
        ("ls_d", v(GanLoss::Lsgan.d_loss(r.clone(), f.clone()))),
        ("ls_g", v(GanLoss::Lsgan.g_loss(f.clone()))),
        ("wgan_d", v(GanLoss::Wgan.d_loss(r.clone(), f.clone()))),
        ("wgan_g", v(GanLoss::Wgan.g_loss(f.clone()))),
        ("hinge_d", v(GanLoss::Hinge.d_loss(r.clone(), f.clone()))),
        ("hinge_g", v(GanLoss::Hinge.g_loss(f.clone()))),
    ];
    for (k, got) in cases {
        let want = g[k].data[0];
        assert!(got.is_finite(), "{k} is not finite");
        assert!((got - want).abs() <= 1e-5 * want.abs().max(1.0), "{k}: {got} vs {want}");
    }
}

#[test]
fn saturated_discriminator_gives_finite_gradients() {
    let dev = Device::flex().autodiff();
    let x = Tensor::<1>::from_data(TensorData::new(vec![-100.0f32, 100.0, 0.0], [3]), &dev).require_grad();
    for loss in [GanLoss::Bce, GanLoss::BceMinimax] {
        let l = loss.d_loss(x.clone(), x.clone()) + loss.g_loss(x.clone());
        let grad: Vec<f32> = x.grad(&l.backward()).unwrap().into_data().convert::<f32>().try_to_vec().unwrap();
        assert!(l.into_scalar::<f32>().is_finite() && grad.iter().all(|g| g.is_finite()));
    }
}

#[test]
fn acgan_cross_entropy_is_on_logits() {
    // Hand-computed: logits (0, ln 3) for label 1 give -log(3/4); (2, 2) for label 0 give log 2.
    let dev = Device::flex();
    let logits = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 3f32.ln(), 2.0, 2.0], [2, 2]), &dev);
    let ce = gantry::loss::cross_entropy(logits, &[1, 0]).into_scalar::<f32>();
    let want = ((-(0.75f64).ln()) + 2f64.ln()) / 2.0;
    assert!((ce as f64 - want).abs() < 1e-6, "{ce} vs {want}");
}

#[test]
fn penalties_match_hand_computed_values_on_a_linear_critic() {
    use gantry::loss::Penalty;
    use gantry::model::input_grad::critic_pass;
    use gantry::model::{Init, LayerSpec, Net, NetSpec};
    // D(x) = w·x + b has ∇x D = w for every x: R1 = γ/2 ‖w‖², GP = DRAGAN = λ(‖w‖ − 1)².
    let dev = Device::flex().autodiff();
    let net = Net::build(&NetSpec::new(Init::PytorchDefault, vec![LayerSpec::Flatten, LayerSpec::Linear { inp: 4, out: 1, bias: true }]), &mut gantry::rng::Rng::new(3), &dev);
    let w: Vec<f32> = net.state_dict()[0].data.clone();
    let norm = w.iter().map(|v| (*v as f64).powi(2)).sum::<f64>().sqrt();
    let x = Tensor::<4>::from_data(TensorData::new(vec![0.5f32; 12], [3, 1, 2, 2]), &dev);
    let mut rng = gantry::rng::Rng::new(1);
    for (p, want) in [
        (Penalty::R1 { gamma: 4.0 }, 2.0 * norm * norm),
        (Penalty::Gp { weight: 10.0 }, 10.0 * (norm - 1.0).powi(2)),
        (Penalty::Dragan { weight: 3.0, scale: 0.5 }, 3.0 * (norm - 1.0).powi(2)),
    ] {
        let points = p.points(&x, &x.clone().mul_scalar(-1.0), &mut rng).unwrap_or(x.clone());
        let pass = critic_pass(&net, points, None, None).unwrap();
        let (value, norms) = p.value(pass.input_grad);
        let got = value.into_scalar::<f32>() as f64;
        assert!((got - want).abs() < 1e-5 * want.max(1.0), "{}: {got} vs {want}", p.name());
        let norms: Vec<f32> = norms.into_data().convert::<f32>().try_to_vec().unwrap();
        assert!(norms.iter().all(|n| (*n as f64 - norm).abs() < 1e-5), "{}: norms {norms:?} vs {norm}", p.name());
    }
}
