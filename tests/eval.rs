//! Mode coverage, the domain classifier, the 2-D benchmarks, Stacked MNIST, interpolation and the
//! minimax toy.

use gantry::data::{self, DataOptions};
use gantry::eval::classifier::{self, Prediction};
use gantry::eval::{interpolate, minimax, modes, toy2d};

fn digits() -> Vec<String> {
    (0..10).map(|d| d.to_string()).collect()
}

/// Confident predictions of the given classes.
fn predictions(classes: &[usize]) -> Prediction {
    let mut probs = vec![0.0f32; classes.len() * 10];
    for (i, &c) in classes.iter().enumerate() {
        probs[i * 10 + c] = 0.9;
        probs[i * 10 + (c + 1) % 10] = 0.1;
    }
    Prediction { probs, features: vec![0.0; classes.len() * classifier::FEATURE_DIM] }
}

#[test]
fn a_uniform_histogram_says_yes_and_a_collapsed_one_says_no() {
    let uniform: Vec<usize> = (0..1000).map(|i| i % 10).collect();
    let r = modes::report(&predictions(&uniform), &digits(), None, None);
    assert_eq!(r.counts, vec![100; 10]);
    assert_eq!(r.modes_covered, 10);
    assert!(r.kl_uniform.abs() < 1e-12);
    assert!((r.mean_confidence - 0.9).abs() < 1e-6);
    assert!(r.sentence.starts_with("Yes"), "{}", r.sentence);

    // Collapsed onto '1' with a few '7's: one mode covered, KL near log 10.
    let collapsed: Vec<usize> = (0..1000).map(|i| if i % 50 == 0 { 7 } else { 1 }).collect();
    let r = modes::report(&predictions(&collapsed), &digits(), None, None);
    assert_eq!(r.modes_covered, 1);
    assert!(r.kl_uniform > 2.0, "{}", r.kl_uniform);
    assert!(r.sentence.starts_with("No: only 1 of 10") && r.sentence.contains("'1' alone makes up 98.0%"), "{}", r.sentence);

    // All present but skewed.
    let skewed: Vec<usize> = (0..1000).map(|i| if i < 280 { 3 } else { i % 10 }).collect();
    let r = modes::report(&predictions(&skewed), &digits(), None, None);
    assert_eq!(r.modes_covered, 10);
    assert!(r.sentence.starts_with("Not equally") && r.sentence.contains("'3'"), "{}", r.sentence);
}

#[test]
fn conditional_accuracy_counts_samples_of_the_requested_class() {
    let asked: Vec<u8> = (0..100).map(|i| (i % 10) as u8).collect();
    let got: Vec<usize> = (0..100).map(|i| if i < 80 { i % 10 } else { (i + 1) % 10 }).collect();
    let r = modes::report(&predictions(&got), &digits(), Some(&asked), None);
    assert!((r.conditional_accuracy.unwrap() - 0.8).abs() < 1e-12);
}

#[test]
fn stacked_mnist_modes_combine_the_three_channels() {
    let (a, b, c) = (predictions(&[1, 1, 2]), predictions(&[2, 2, 3]), predictions(&[3, 3, 4]));
    let r = modes::stacked_report([&a, &b, &c]);
    assert_eq!(r.modes, 2, "modes 123 and 234");
    assert_eq!(r.samples, 3);
}

#[test]
fn toy_benchmarks_count_modes_quality_and_reverse_kl() {
    for name in ["ring8", "grid25"] {
        let (centres, std) = data::kind(name).unwrap().point_modes().unwrap();
        let (pts, _) = data::toy::sample(name, 5000, 3).unwrap();
        let pts: Vec<[f32; 2]> = pts.chunks(2).map(|p| [p[0], p[1]]).collect();
        let r = toy2d::report(name, &pts, &centres, std);
        assert_eq!(r.modes_covered, centres.len(), "{name}: real data covers every mode");
        // Within 3σ in 2-D: 1 − exp(−4.5) ≈ 98.9%.
        assert!(r.high_quality > 0.97, "{name}: {}", r.high_quality);
        assert!(r.reverse_kl < 0.01, "{name}: {}", r.reverse_kl);
        // Everything on one mode, half of it off-centre by 10σ.
        let c = centres[0];
        let collapsed: Vec<[f32; 2]> = (0..100).map(|i| [c[0] + if i % 2 == 0 { 0.0 } else { 10.0 * std }, c[1]]).collect();
        let r = toy2d::report(name, &collapsed, &centres, std);
        assert_eq!(r.modes_covered, 1);
        assert!((r.high_quality - 0.5).abs() < 1e-9);
        assert!((r.reverse_kl - (centres.len() as f64).ln()).abs() < 1e-9, "all mass on one of K modes: KL = ln K");
    }
}

#[test]
fn classifier_learns_synth_digits() {
    let opts = |test| DataOptions { test_split: test, generated_size: Some(if test { 500 } else { 3000 }), ..Default::default() };
    let (train, test) = (data::load("synth-digits", &opts(false)).unwrap(), data::load("synth-digits", &opts(true)).unwrap());
    let c = classifier::train(&train, &test, &classifier::TrainOptions { epochs: 2, quiet: true, ..Default::default() }, &burn::tensor::Device::flex()).unwrap();
    assert!(c.test_accuracy > 0.9, "test accuracy {}", c.test_accuracy);
    // Saved and reloaded, it predicts the same.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    c.save(&path).unwrap();
    let back = classifier::Classifier::load(&path, &burn::tensor::Device::flex()).unwrap();
    assert_eq!(back.accuracy(&test), c.test_accuracy);
    assert_eq!(back.class_names, c.class_names);
}

#[test]
fn stacked_mnist_is_three_mnist_digits() {
    let Some(dir) = std::env::var_os("GANTRY_DATA_DIR") else {
        eprintln!("skipping: GANTRY_DATA_DIR is not set (Stacked MNIST is built from MNIST)");
        return;
    };
    let opts = DataOptions { data_dir: Some(dir.into()), generated_size: Some(50), test_split: true, ..Default::default() };
    let s = data::load("stacked-mnist", &opts).unwrap();
    assert_eq!((s.shape, s.len), ([3, 28, 28], 50));
    let mnist = data::load("mnist", &DataOptions { generated_size: None, ..opts.clone() }).unwrap();
    let (data::Samples::Bytes(sp), data::Samples::Bytes(mp)) = (&s.samples, &mnist.samples) else { panic!("images") };
    let planes: std::collections::HashSet<&[u8]> = mp.chunks(784).collect();
    assert!(sp.chunks(784).all(|p| planes.contains(p)), "every channel is an MNIST test image");
    let again = data::load("stacked-mnist", &opts).unwrap();
    let data::Samples::Bytes(ap) = &again.samples else { panic!("images") };
    assert_eq!(ap, sp, "deterministic by seed");
}

#[test]
fn interpolation_ends_at_its_end_points_and_slerp_keeps_the_norm() {
    let (a, b) = (vec![1.0f32, 0.0], vec![0.0f32, 1.0]);
    for spherical in [false, true] {
        let p = interpolate::path(&a, &b, 5, spherical);
        assert_eq!(p.len(), 5);
        assert!(p[0].iter().zip(&a).all(|(x, y)| (x - y).abs() < 1e-6));
        assert!(p[4].iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-6));
    }
    let mid = interpolate::slerp(&a, &b, 0.5);
    assert!((mid[0].hypot(mid[1]) - 1.0).abs() < 1e-6, "slerp stays on the unit circle");
    let mid = interpolate::lerp(&a, &b, 0.5);
    assert!((mid[0].hypot(mid[1]) - 0.5f32.sqrt()).abs() < 1e-6, "lerp cuts the chord");
    let terms = interpolate::parse_expression("3 - 1 + 0").unwrap();
    assert_eq!(terms, vec![(1.0, 3), (-1.0, 1), (1.0, 0)]);
    let zs = vec![vec![1.0, 1.0], vec![2.0, 0.0], vec![0.0, 0.0], vec![5.0, 5.0]];
    assert_eq!(interpolate::arithmetic(&zs, &terms).unwrap(), vec![4.0, 6.0]);
    assert!(interpolate::parse_expression("3 -").is_err() && interpolate::parse_expression("3 4").is_err());
    assert!(interpolate::arithmetic(&zs, &[(1.0, 9)]).is_err());
}

#[test]
fn alternating_steps_circle_and_simultaneous_steps_spiral_out() {
    let alt = minimax::trajectory(minimax::Scheme::Alternating, 1.0, 1.0, 1.0, 12);
    assert_eq!(alt[1], (-1.0, 2.0), "y ascends first (y = 1 + 1), then x descends with the new y (x = 1 - 2)");
    assert_eq!(alt[6], (1.0, 1.0), "back at the start after six steps: a cycle");
    assert_eq!(alt[12], (1.0, 1.0));
    let sim = minimax::trajectory(minimax::Scheme::Simultaneous, 1.0, 1.0, 1.0, 12);
    assert_eq!(sim[1], (0.0, 2.0));
    let r = |p: (f64, f64)| p.0.hypot(p.1);
    for t in 0..12 {
        assert!((r(sim[t + 1]) / r(sim[t]) - 2f64.sqrt()).abs() < 1e-12, "the distance grows by sqrt(2) per step");
    }
}
