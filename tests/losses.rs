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
