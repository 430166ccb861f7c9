//! Generators trained in PyTorch (`../shared/golden/torch_generators`, saved as course notebooks
//! save them) load into gantry's models from the command line and reproduce PyTorch's
//! `G.eval()(z)`; a file of another architecture is refused naming the first tensor that differs.

mod common;

use std::process::Command;

use gantry::run::{ForeignModel, TrainedModel};
use gantry::tensor_file;

/// (weights file, gantry model, file of z and expected x)
const GENERATORS: &[(&str, &str, &str)] = &[
    ("seed000_dcgan28.pth", "dcgan-28", "seed000_dcgan28_expected.safetensors"),
    ("seed000_dcgan28_legacy.pth", "dcgan-28", "seed000_dcgan28_expected.safetensors"),
    ("cs231n_infogan.pth", "dcgan-infogan", "cs231n_infogan_expected.safetensors"),
];

fn gantry(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gantry")).args(args).env("GANTRY_OFFLINE", "1").output().unwrap()
}

#[test]
fn pytorch_generators_reproduce_their_outputs_from_the_command_line() {
    let Some(dir) = common::golden("torch_generators") else { return };
    let tmp = tempfile::tempdir().unwrap();
    for (file, model, expected) in GENERATORS {
        let out = tmp.path().join(format!("{file}.safetensors"));
        let (weights, z) = (dir.join(file), dir.join(expected));
        let grid = tmp.path().join(format!("{file}.png"));
        let args = ["sample", "--weights", weights.to_str().unwrap(), "--model", model, "--z-file", z.to_str().unwrap(), "--tensors", out.to_str().unwrap(), "--grid", grid.to_str().unwrap(), "--quiet"];
        let o = gantry(&args);
        assert!(o.status.success(), "{file}: {}", String::from_utf8_lossy(&o.stderr));
        let (got, want) = (tensor_file::read(&out).unwrap(), tensor_file::read(&z).unwrap());
        assert_eq!(got.tensors["x"].shape, want.tensors["x"].shape, "{file}");
        let err = common::max_rel_err(&got.tensors["x"].data, &want.tensors["x"].data);
        assert!(err < 1e-5, "{file}: max relative error {err}");
    }
}

#[test]
fn a_generator_of_another_architecture_is_refused_naming_the_tensor() {
    let Some(dir) = common::golden("torch_generators") else { return };
    let device = burn::tensor::Device::flex();
    let e = TrainedModel::from_weights(&dir.join("cs231n_infogan.pth"), &ForeignModel::new("dcgan-28"), &device).err().expect("refused").to_string();
    assert!(e.contains("cs231n_infogan.pth") && e.contains("`0.weight` has shape [1024, 96]"), "{e}");
    let e = TrainedModel::from_weights(&dir.join("seed000_dcgan28.pth"), &ForeignModel::new("mlp-small"), &device).err().expect("refused").to_string();
    assert!(e.contains("`network.0.weight`") && e.contains("expected [1024, "), "{e}");
    let o = gantry(&["eval", "modes", "--weights", dir.join("seed000_dcgan28.pth").to_str().unwrap(), "--model", "dcgan-infogan"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.lines().count() == 1 && err.contains("network."), "{err}");
    let missing = gantry(&["sample", "--weights", "no/such.pth", "--model", "dcgan-28"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no/such.pth: no such weights file"));
}
