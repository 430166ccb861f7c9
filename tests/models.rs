//! Parameter counts against PyTorch's (from the golden state_dict and the course notebooks' own
//! checks), and output shapes of every model.

mod common;

use gantry::model::{ModelOptions, build_spec, model_names};

fn spec(name: &str, z: usize, shape: [usize; 3]) -> gantry::model::GanSpec {
    build_spec(name, &ModelOptions::new(z, shape)).unwrap()
}

#[test]
fn dcgan28_counts_match_pytorch_state_dict() {
    let s = spec("dcgan-28", 100, [1, 28, 28]);
    let Some(path) = common::golden("dcgan_step.safetensors") else { return };
    let gold = gantry::tensor_file::read(&path).unwrap().tensors;
    let count = |prefix: &str| -> usize {
        gold.iter()
            .filter(|(k, _)| k.starts_with(prefix) && !k.contains("running") && !k.contains("num_batches"))
            .map(|(_, t)| t.data.len())
            .sum()
    };
    assert_eq!(s.g.num_params(), count("G."));
    assert_eq!(s.d.num_params(), count("D."));
}

#[test]
fn course_notebook_counts() {
    // CS231n's own checks: G with noise_dim 4 has 1858320 parameters, D 267009; the DC classifier
    // 1102721 and the DC generator with noise_dim 4, 6580801.
    assert_eq!(spec("mlp-small", 4, [1, 28, 28]).g.num_params(), 1_858_320);
    assert_eq!(spec("mlp-small", 96, [1, 28, 28]).d.num_params(), 267_009);
    assert_eq!(spec("dcgan-infogan", 96, [1, 28, 28]).d.num_params(), 1_102_721);
    assert_eq!(spec("dcgan-infogan", 4, [1, 28, 28]).g.num_params(), 6_580_801);
}

#[test]
fn hand_counted_architectures() {
    // mlp-bn: Linear layers + BatchNorm1d affine (2 per feature).
    let g = (100 * 128 + 128) + (128 * 256 + 256 + 512) + (256 * 512 + 512 + 1024) + (512 * 1024 + 1024 + 2048) + (1024 * 784 + 784);
    assert_eq!(spec("mlp-bn", 100, [1, 28, 28]).g.num_params(), g);
    assert_eq!(spec("mlp-bn", 100, [1, 28, 28]).d.num_params(), 784 * 512 + 512 + 512 * 256 + 256 + 257);
    // dcgan-32 (no conv bias): ConvT weights + BN.
    let g32 = 100 * 512 * 16 + 1024 + 512 * 256 * 16 + 512 + 256 * 128 * 16 + 256 + 128 * 3 * 16;
    assert_eq!(spec("dcgan-32", 100, [3, 32, 32]).g.num_params(), g32);
    let d32 = 3 * 128 * 16 + 128 * 256 * 16 + 512 + 256 * 512 * 16 + 1024 + 512 * 16;
    assert_eq!(spec("dcgan-32", 100, [3, 32, 32]).d.num_params(), d32);
    // dcgan-upsample on 1 channel.
    let gu = 100 * 8192 + 8192 + 256 + (128 * 128 * 9 + 128) + 256 + (128 * 64 * 9 + 64) + 128 + (64 * 9 + 1);
    assert_eq!(spec("dcgan-upsample", 100, [1, 32, 32]).g.num_params(), gu);
    let du = (9 * 16 + 16) + (16 * 32 * 9 + 32) + 64 + (32 * 64 * 9 + 64) + 128 + (64 * 128 * 9 + 128) + 256 + 513;
    assert_eq!(spec("dcgan-upsample", 100, [1, 32, 32]).d.num_params(), du);
    // mlp-toy: 3 hidden layers of 512.
    assert_eq!(spec("mlp-toy", 2, [2, 1, 1]).g.num_params(), (2 * 512 + 512) + 2 * (512 * 512 + 512) + (512 * 2 + 2));
}

#[test]
fn every_model_wires_up_and_runs() {
    use burn::tensor::{Device, Tensor};
    let shapes = [
        ("mlp-small", [1, 28, 28]),
        ("mlp-bn", [1, 28, 28]),
        ("mlp-cgan", [1, 28, 28]),
        ("mlp-toy", [2, 1, 1]),
        ("dcgan-28", [1, 28, 28]),
        ("dcgan-28-ln", [1, 28, 28]),
        ("dcgan-infogan", [1, 28, 28]),
        ("dcgan-upsample", [3, 32, 32]),
        ("dcgan-32", [3, 32, 32]),
        ("dcgan-64", [3, 64, 64]),
    ];
    assert_eq!(shapes.len(), model_names().len());
    let device = Device::flex();
    for (name, shape) in shapes {
        let s = spec(name, 16, shape);
        let mut rng = gantry::rng::Rng::new(0);
        let g = gantry::model::Net::build(&s.g, &mut rng, &device);
        let d = gantry::model::Net::build(&s.d, &mut rng, &device);
        let z = Tensor::<4>::zeros([2, 16, 1, 1], &device);
        let x = g.forward(z, None);
        assert_eq!(x.dims(), [2, shape[0], shape[1], shape[2]], "{name}");
        assert_eq!(d.forward(x, None).dims(), [2, 1, 1, 1], "{name}");
        assert_eq!(s.g.shapes(s.z_shape).unwrap().last().unwrap(), &shape);
    }
    // A model on data of the wrong shape is one clear error naming the field.
    let e = build_spec("dcgan-28", &ModelOptions::new(100, [3, 32, 32])).err().unwrap();
    assert!(e.to_string().contains("model") && e.to_string().contains("[3, 32, 32]"), "{e}");
}

#[test]
fn conditional_variants_take_labels_where_the_course_puts_them() {
    use gantry::model::zoo::{Conditioning, Labels};
    let cond = |name: &str, c: Conditioning, shape| build_spec(name, &ModelOptions::new(100, shape).with_labels(Labels::new(c, 10, None).unwrap())).unwrap();
    // Conditional WGAN with the dcgan-28 networks: G input 110 channels, D input 11 planes.
    let s = cond("dcgan-28", Conditioning::Concat, [1, 28, 28]);
    assert_eq!((s.g_in_shape(), s.d_in_shape()), ([110, 1, 1], [11, 28, 28]));
    // MLPs: G input 110, D input 784 + 10.
    for m in ["mlp-bn", "mlp-small", "mlp-cgan"] {
        let s = cond(m, Conditioning::Concat, [1, 28, 28]);
        assert_eq!((s.g_in_shape(), s.d_in_shape()), ([110, 1, 1], [794, 1, 1]), "{m}");
    }
    // The reference conditional MLP discriminator: 794-512-512-512-1 with two Dropout(0.4).
    let s = cond("mlp-cgan", Conditioning::Concat, [1, 28, 28]);
    assert_eq!(s.d.num_params(), 794 * 512 + 512 + 2 * (512 * 512 + 512) + 512 + 1);
    // ACGAN / projection: D sees the image only and has 1 + 10 outputs.
    for c in [Conditioning::Acgan, Conditioning::Projection] {
        let s = cond("dcgan-32", c, [3, 32, 32]);
        assert_eq!((s.g_in_shape(), s.d_in_shape()), ([110, 1, 1], [3, 32, 32]));
        assert_eq!(s.d.shapes(s.d_in_shape()).unwrap().last(), Some(&[11, 1, 1]));
    }
    let e = build_spec("dcgan-infogan", &ModelOptions::new(100, [1, 28, 28]).with_labels(Labels::new(Conditioning::Concat, 10, None).unwrap())).unwrap_err();
    assert!(e.to_string().contains("no conditional variant"), "{e}");
}
