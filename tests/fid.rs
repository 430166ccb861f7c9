//! The Inception metrics against pytorch-fid / SciPy / NumPy reference values in
//! `../shared/golden/fid` (see its README): checkpoint readers, the resize, the FID network with
//! formula weights, Fréchet distance, IS and KID.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use gantry::eval::stats::{self, Features, Gaussian};
use gantry::eval::{self, inception};
use gantry::pth;
use gantry::model::NamedTensor;
use gantry::tensor_file;

fn golden_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/golden/fid");
    if d.exists() {
        Some(d)
    } else {
        eprintln!("skipping: {} not found (the golden reference values live beside the repository)", d.display());
        None
    }
}

fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum::<f64>().sqrt();
    let den: f64 = b.iter().map(|y| y * y).sum::<f64>().sqrt().max(1e-30);
    num / den
}


#[test]
fn both_checkpoint_formats_read_the_same_tensors() {
    let Some(dir) = golden_dir() else { return };
    let expected = tensor_file::read_f64(&dir.join("small_expected.safetensors")).unwrap();
    for file in ["small_zip.pth", "small_legacy.pth"] {
        let sd = pth::read_state_dict(&dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(sd.len(), expected.len(), "{file}: tensor count");
        for (name, (shape, values)) in &expected {
            let t = sd.get(name).unwrap_or_else(|| panic!("{file}: `{name}` missing"));
            assert_eq!(&t.shape, shape, "{file}: `{name}` shape");
            assert_eq!(&t.values, values, "{file}: `{name}` values");
        }
        assert_eq!(sd["bn.num_batches_tracked"].dtype, pth::DType::I64);
        // The transposed view shares fc.weight's storage: strides must be honoured.
        let (w, wt) = (&sd["fc.weight"], &sd["fc.weight_t"]);
        assert_eq!(wt.values[1], w.values[2], "{file}: fc.weight_t[0][1] == fc.weight[1][0]");
    }
}

#[test]
fn truncated_or_foreign_checkpoints_are_refused_with_the_file_name() {
    let Some(dir) = golden_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(dir.join("small_legacy.pth")).unwrap();
    let cut = tmp.path().join("cut.pth");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let msg = pth::read_state_dict(&cut).unwrap_err().to_string();
    assert!(msg.contains("cut.pth") && msg.contains("truncated"), "{msg}");
    let other = tmp.path().join("other.pth");
    std::fs::write(&other, b"\x80\x02K\x05.").unwrap();
    let msg = pth::read_state_dict(&other).unwrap_err().to_string();
    assert!(msg.contains("other.pth") && msg.contains("magic"), "{msg}");
}

#[test]
fn resize_matches_pytorch_bilinear() {
    let Some(dir) = golden_dir() else { return };
    let golden = tensor_file::read(&dir.join("features.safetensors")).unwrap();
    let corner = &golden.tensors["resized_corner"].data;
    for (i, img) in common::golden::fid_images(&dir).iter().enumerate() {
        let x = inception::preprocess(img);
        let s = inception::SIZE;
        for ch in 0..3 {
            for y in 0..4 {
                for xx in 0..4 {
                    let got = (x[(ch * s + y) * s + xx] + 1.0) / 2.0;
                    let want = corner[((i * 3 + ch) * 4 + y) * 4 + xx];
                    assert!((got - want).abs() < 2e-6, "image {i} channel {ch} ({y},{xx}): {got} vs {want}");
                }
            }
        }
    }
}

#[test]
fn fid_inception_features_and_logits_match_pytorch_fid() {
    common::golden::inception_features(&burn::tensor::Device::flex());
}

fn stats_file(dir: &std::path::Path) -> HashMap<String, (Vec<usize>, Vec<f64>)> {
    tensor_file::read_f64(&dir.join("statistics.safetensors")).unwrap()
}

fn features(s: &HashMap<String, (Vec<usize>, Vec<f64>)>, key: &str) -> Features {
    let (shape, v) = &s[key];
    Features::new(shape[0], shape[1], v.clone())
}

#[test]
fn gaussian_fit_and_frechet_distance_match_pytorch_fid() {
    let Some(dir) = golden_dir() else { return };
    let s = stats_file(&dir);
    let (a, b) = (Gaussian::fit(&features(&s, "feat_a_f64")), Gaussian::fit(&features(&s, "feat_b_f64")));
    assert!(rel_err(&a.mu, &s["mu_a_f64"].1) < 1e-12);
    assert!(rel_err(&a.sigma, &s["sigma_a_f64"].1) < 1e-12);
    assert!(rel_err(&b.sigma, &s["sigma_b_f64"].1) < 1e-12);
    let fid = stats::frechet_distance(&a, &b);
    let want = s["fid_ab_f64"].1[0];
    assert!(((fid - want) / want).abs() < 1e-6, "FID {fid} vs {want}");
    assert!(stats::frechet_distance(&a, &a).abs() < 1e-6 * want, "FID of a set against itself");
    // Fewer samples than dimensions: singular covariances.
    let (c, d) = (Gaussian::fit(&features(&s, "feat_c_f64")), Gaussian::fit(&features(&s, "feat_d_f64")));
    let fid = stats::frechet_distance(&c, &d);
    let want = s["fid_cd_f64"].1[0];
    assert!(((fid - want) / want).abs() < 1e-4, "singular FID {fid} vs {want}");
}

#[test]
fn inception_score_and_kid_match_the_reference() {
    let Some(dir) = golden_dir() else { return };
    let s = stats_file(&dir);
    let (mean, std) = stats::inception_score(&s["is_logits_f64"].1, 10, 10);
    let (wm, ws) = (s["is_mean_f64"].1[0], s["is_std_f64"].1[0]);
    assert!(((mean - wm) / wm).abs() < 1e-9 && ((std - ws) / ws).abs() < 1e-6, "IS {mean}±{std} vs {wm}±{ws}");
    let kid = stats::mmd2_polynomial(&features(&s, "feat_a_f64"), &features(&s, "feat_b_f64"));
    let want = s["kid_ab_f64"].1[0];
    assert!(((kid - want) / want).abs() < 1e-8, "KID {kid} vs {want}");
}

#[test]
fn statistics_files_round_trip_as_npz() {
    let Some(dir) = golden_dir() else { return };
    let s = stats_file(&dir);
    let g = Gaussian { mu: s["mu_a_f64"].1.clone(), sigma: s["sigma_a_f64"].1.clone() };
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("stats.npz");
    eval::npz::save_stats(&path, &g).unwrap();
    assert_eq!(eval::npz::load_stats(&path).unwrap(), g);
}

#[test]
fn precision_recall_follow_the_knn_manifold_definition() {
    // Real points on a line 0..10; fakes: half on the real manifold, half far away.
    let real = Features::new(11, 1, (0..=10).map(|i| i as f64).collect());
    let fake = Features::new(4, 1, vec![2.5, 7.0, 100.0, 200.0]);
    let (p, r) = stats::precision_recall(&real, &fake, 3);
    assert_eq!(p, 0.5, "two of four fakes lie within a real sample's 3-NN ball");
    // The fakes' 3-NN radii are huge (their 3rd neighbour is far away), so every real point is
    // inside the ball around 2.5.
    assert_eq!(r, 1.0);
}

#[test]
fn fid_and_kid_during_training_are_logged_and_keep_the_best() {
    use gantry::train::{StopSignal, TrainOptions, Trainer, train_into};
    let Some(_) = golden_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let mut w: Vec<NamedTensor> = common::golden::formula_weights().into_values().collect();
    w.sort_by(|a, b| a.name.cmp(&b.name));
    let weights = tmp.path().join("fid.safetensors");
    tensor_file::write(&weights, &w, Default::default()).unwrap();
    let mut c = gantry::presets::preset("default").unwrap();
    (c.model, c.generated_size, c.batch_size, c.z_dim, c.max_steps, c.sample_every) = ("mlp-small".into(), Some(64), 8, 8, Some(4), 2);
    (c.eval_every, c.eval_metrics, c.eval_samples, c.keep_best, c.inception_weights) = (Some(2), vec!["fid".into(), "kid".into()], 8, Some("fid".into()), Some(weights));
    let out = tmp.path().join("run");
    let mut t = Trainer::new(c, true).unwrap();
    train_into(&mut t, &TrainOptions { out: out.clone(), quiet: true }, &StopSignal::default()).unwrap();
    let evals: Vec<serde_json::Value> = std::fs::read_to_string(out.join("evals.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(evals.iter().map(|e| e["step"].as_u64().unwrap()).collect::<Vec<_>>(), [2, 4]);
    for e in &evals {
        assert!(e["fid"].as_f64().is_some_and(|f| f.is_finite() && f > 0.0), "{e}");
        assert!(e["kid"].as_f64().is_some_and(f64::is_finite) && e["kid_std"].is_f64(), "{e}");
    }
    let best: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("checkpoints/best.json")).unwrap()).unwrap();
    let lowest = evals.iter().map(|e| e["fid"].as_f64().unwrap()).fold(f64::INFINITY, f64::min);
    assert_eq!((best["metric"].as_str(), best["score"].as_f64()), (Some("fid"), Some(lowest)));
}

#[test]
fn eval_commands_run_end_to_end_with_given_weights() {
    let Some(dir) = golden_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let mut w: Vec<NamedTensor> = common::golden::formula_weights().into_values().collect();
    w.sort_by(|a, b| a.name.cmp(&b.name));
    tensor_file::write(&d.join("fid.safetensors"), &w, Default::default()).unwrap();
    std::fs::create_dir_all(d.join("a")).unwrap();
    for f in ["mnist_0.png", "mnist_1.png", "pattern_0.png", "celeba_000001.png"] {
        std::fs::copy(dir.join("images").join(f), d.join("a").join(f)).unwrap();
    }
    let gantry = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_gantry")).args(args).current_dir(d).env("GANTRY_OFFLINE", "1").output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    gantry(&["train", "--preset", "default", "--generated-size", "64", "--batch-size", "8", "--z-dim", "8", "--max-steps", "2", "--out", "run0", "--quiet", "--no-eval"]);
    // A set against itself: ~0. Against its saved statistics: the same.
    let out = gantry(&["eval", "fid", "a", "a", "--inception-weights", "fid.safetensors", "--quiet"]);
    let fid: f64 = out.trim().strip_prefix("FID: ").unwrap().parse().unwrap();
    assert!(fid.abs() < 1e-3, "{out}");
    gantry(&["eval", "fid", "--save-stats", "a", "a.npz", "--inception-weights", "fid.safetensors", "--quiet"]);
    let out = gantry(&["eval", "fid", "a", "a.npz", "--inception-weights", "fid.safetensors", "--quiet"]);
    assert!(out.trim().strip_prefix("FID: ").unwrap().parse::<f64>().unwrap().abs() < 1e-3, "{out}");
    // Two sets: every metric, as torch-fidelity reports them; against statistics, FID only.
    gantry(&["sample", "--checkpoint", "run0", "--n", "6", "--out-dir", "b", "--quiet"]);
    let out = gantry(&["eval", "a", "b", "--inception-weights", "fid.safetensors", "--quiet"]);
    for m in ["A: 4 images, B: 6 images", "FID: ", "KID: ", "precision: ", "recall: ", "IS of A: ", "IS of B: "] {
        assert!(out.contains(m), "{m} missing from:\n{out}");
    }
    let out = gantry(&["eval", "b", "a.npz", "--inception-weights", "fid.safetensors", "--quiet"]);
    assert!(out.contains("FID: ") && out.contains("FID only") && !out.contains("KID"), "{out}");
    // A generator's own samples against a folder: every metric is reported and saved.
    gantry(&["train", "--preset", "default", "--generated-size", "64", "--batch-size", "8", "--z-dim", "8", "--max-steps", "2", "--out", "run", "--quiet", "--no-eval"]);
    let out = gantry(&["eval", "--checkpoint", "run", "--n", "12", "--against", "a", "--inception-weights", "fid.safetensors", "--quiet"]);
    for m in ["FID", "IS", "KID", "precision"] {
        assert!(out.contains(m), "{m} missing from:\n{out}");
    }
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("run/eval/inception.json")).unwrap()).unwrap();
    assert_eq!(report["n_generated"], 12);
    assert!(report["fid"].as_f64().unwrap() > 0.0);
}
