//! The command line: bad input gives one clear line and a non-zero exit; the main commands work.

use std::process::Command;

fn gantry(args: &[&str], cwd: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gantry")).args(args).current_dir(cwd).env("GANTRY_OFFLINE", "1").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn one_line_error(args: &[&str], cwd: &std::path::Path, must_contain: &[&str]) {
    let (code, _, err) = gantry(args, cwd);
    assert_ne!(code, 0, "{args:?} should fail");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty() && !l.starts_with("gantry: no preset")).collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one error line, got:\n{err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    for m in must_contain {
        assert!(lines[0].contains(m), "{args:?}: `{}` does not mention `{m}`", lines[0]);
    }
}

#[test]
fn errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    one_line_error(&["train", "--dataset", "mnist", "--data-dir", "/nonexistent", "--quiet"], d, &["mnist", "--data-dir", "train-images-idx3-ubyte.gz"]);
    std::fs::write(d.join("bad.toml"), "model = \"dcgan-28\"\nbatchsize = 3\n").unwrap();
    one_line_error(&["train", "--config", "bad.toml"], d, &["batchsize"]);
    std::fs::write(d.join("bad2.toml"), "batch_size = \"many\"\n").unwrap();
    one_line_error(&["train", "--config", "bad2.toml"], d, &["batch_size"]);
    one_line_error(&["train", "--model", "nosuch"], d, &["model", "nosuch"]);
    one_line_error(&["train", "--loss", "hinge2"], d, &["--loss", "hinge2"]);
    one_line_error(&["train", "--batch-size", "0"], d, &["batch_size"]);
    std::fs::write(d.join("junk.safetensors"), b"garbage").unwrap();
    one_line_error(&["sample", "--checkpoint", "junk.safetensors"], d, &["junk.safetensors"]);
    one_line_error(&["sample", "--checkpoint", "no_such_run"], d, &["no_such_run"]);
    one_line_error(&["train", "--resume", "no_such_run"], d, &["no_such_run"]);
    one_line_error(&["serve", "no_such_runs"], d, &["no_such_runs"]);
    one_line_error(&["animate", "no_such_run"], d, &["no_such_run", "samples"]);
    one_line_error(&["train", "--eval-every", "10", "--eval-metrics", "modes,sharpness"], d, &["eval_metrics", "sharpness"]);
    one_line_error(&["train", "--keep-best", "fid"], d, &["keep_best", "eval_every"]);
    // A config refused before training leaves no run folder behind.
    std::fs::write(d.join("metrics.toml"), "eval_every = 10\neval_metrics = [\"sharpness\"]\n").unwrap();
    one_line_error(&["train", "--config", "metrics.toml"], d, &["eval_metrics", "sharpness"]);
    assert!(!d.join("runs/metrics").exists(), "no run folder for a refused config");
}

#[test]
fn animate_makes_a_looping_gif_of_the_grids_in_training_order() {
    use image::AnimationDecoder;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, err) = gantry(&["train", "--preset", "toy-ring8", "--max-steps", "30", "--sample-every", "10", "--out", "r", "--quiet", "--no-eval"], d);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = gantry(&["animate", "r"], d);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 frames"), "{out}");
    let gif = image::codecs::gif::GifDecoder::new(std::io::BufReader::new(std::fs::File::open(d.join("r/progress.gif")).unwrap())).unwrap();
    let frames = gif.into_frames().collect_frames().unwrap();
    assert_eq!(frames.len(), 3, "steps 10, 20, 30");
    let grid = image::open(d.join("r/samples/step_0000010.png")).unwrap();
    assert_eq!(frames[0].buffer().width(), grid.width());
    assert!(frames[0].buffer().height() > grid.height(), "a caption band above the grid");
    // The frames differ: training moved the samples.
    assert_ne!(frames[0].buffer().as_raw(), frames[2].buffer().as_raw());
}

#[test]
fn train_sample_models_presets() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, out, err) = gantry(
        &["train", "--preset", "default", "--generated-size", "64", "--batch-size", "8", "--z-dim", "8", "--max-steps", "3", "--out", "run", "--quiet", "--no-eval"],
        d,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 generator steps"), "{out}");
    // --max-steps sets the run's length: a resumed run goes past its configured single epoch
    // (64 / 8 = 8 steps) when asked for more steps, and a plain --resume then has nothing to do.
    let (code, out, err) = gantry(&["train", "--resume", "run", "--max-steps", "11", "--quiet", "--no-eval"], d);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("11 generator steps"), "{out}");
    let (code, out, err) = gantry(&["train", "--resume", "run", "--quiet", "--no-eval"], d);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("11 generator steps"), "{out}");
    let (code, _, err) = gantry(&["sample", "--checkpoint", "run", "--n", "16", "--grid", "g.png"], d);
    assert_eq!(code, 0, "{err}");
    assert_eq!(image::open(d.join("g.png")).unwrap().width(), 8 * 30 + 2);
    let (code, _, _) = gantry(&["sample", "--checkpoint", "run", "--n", "3", "--out-dir", "imgs"], d);
    assert_eq!(code, 0);
    assert_eq!(std::fs::read_dir(d.join("imgs")).unwrap().count(), 3);
    // Each sample at its own size and channel count, as FID tools read a folder.
    let one = image::open(d.join("imgs/00000.png")).unwrap();
    assert_eq!((one.width(), one.height(), one.color()), (28, 28, image::ColorType::L8));
    // Incompatible checkpoint: a run of another model cannot be resumed as this one.
    let (_, out, _) = gantry(&["models", "dcgan-28"], d);
    assert!(out.contains("G parameters: 1098816") && out.contains("D parameters: 693249"), "{out}");
    let (_, out, _) = gantry(&["presets"], d);
    for p in ["vanilla-mnist", "lsgan-mnist", "dcgan28-mnist", "dcgan32-cifar10", "dcgan64-celeba", "toy-ring8"] {
        assert!(out.contains(p), "preset {p} listed");
    }
    let (code, out, _) = gantry(&["datasets", "list"], d);
    assert_eq!(code, 0);
    assert!(out.contains("synth-digits") && out.contains("cifar10"));
}

#[test]
fn datasets_verify_checks_md5() {
    let Some(dir) = std::env::var_os("GANTRY_DATA_DIR") else {
        eprintln!("skipping: GANTRY_DATA_DIR is not set");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = gantry(&["datasets", "verify", "mnist", "--data-dir", dir.to_str().unwrap()], tmp.path());
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.lines().filter(|l| l.starts_with("ok")).count(), 4);
    std::fs::create_dir(tmp.path().join("mnist")).unwrap();
    for f in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"] {
        std::fs::copy(std::path::Path::new(&dir).join("mnist").join(f), tmp.path().join("mnist").join(f)).unwrap();
    }
    std::fs::write(tmp.path().join("mnist/t10k-labels-idx1-ubyte.gz"), b"tampered").unwrap();
    let (code, out, _) = gantry(&["datasets", "verify", "mnist", "--data-dir", tmp.path().to_str().unwrap()], tmp.path());
    assert_ne!(code, 0);
    assert!(out.contains("BAD"), "{out}");
}

#[test]
fn sample_a_chosen_class_or_a_class_grid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, err) = gantry(
        &["train", "--preset", "default", "--model", "mlp-cgan", "--conditioning", "concat", "--generated-size", "64", "--batch-size", "8", "--z-dim", "8", "--max-steps", "2", "--out", "run", "--quiet", "--no-eval"],
        d,
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = gantry(&["sample", "--checkpoint", "run", "--class", "7", "--n", "16", "--grid", "sevens.png"], d);
    assert_eq!(code, 0, "{err}");
    assert_eq!(image::open(d.join("sevens.png")).unwrap().height(), 2 * 30 + 2);
    let (code, _, err) = gantry(&["sample", "--checkpoint", "run", "--classes", "0-9", "--grid", "rows.png"], d);
    assert_eq!(code, 0, "{err}");
    assert_eq!(image::open(d.join("rows.png")).unwrap().height(), 10 * 30 + 2);
    one_line_error(&["sample", "--checkpoint", "run", "--class", "12"], d, &["--class", "12"]);
    // An unconditional run refuses --class.
    gantry(&["train", "--preset", "default", "--generated-size", "64", "--batch-size", "8", "--z-dim", "8", "--max-steps", "1", "--out", "plain", "--quiet", "--no-eval"], d);
    one_line_error(&["sample", "--checkpoint", "plain", "--class", "3"], d, &["conditional"]);
}

#[test]
fn bench_runs_every_workload_and_reports_json() {
    let dir = tempfile::tempdir().unwrap();
    for w in ["w1", "w2", "w3", "w4", "w5"] {
        let (code, out, err) = gantry(&["bench", w, "--batch-size", "2", "--steps", "1", "--repeats", "1", "--warmup", "0", "--json"], dir.path());
        assert_eq!(code, 0, "{w}: {err}");
        let r: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(r["workload"], w);
        assert!(r["steps_per_s"].as_f64().unwrap() > 0.0 && r["peak_rss_mib"].as_f64().unwrap() > 0.0, "{out}");
    }
    one_line_error(&["bench", "w9"], dir.path(), &["w9", "w1"]);
}

#[test]
fn interrupt_saves_a_checkpoint_and_resume_continues() {
    // SIGTERM (as `timeout` or `kill` send) takes the same path as Ctrl-C.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["train", "--model", "mlp-small", "--generated-size", "20000", "--batch-size", "16", "--z-dim", "8", "--out", "run", "--quiet", "--no-eval"])
        .current_dir(d)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = d.join("run/log.jsonl");
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&log).map_or(true, |s| s.lines().count() < 3) {
        assert!(started.elapsed().as_secs() < 120, "training never logged a step");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(130), "{stdout}");
    assert!(stdout.contains("interrupted (checkpoint saved"), "{stdout}");
    let saved: u64 = stdout.split("interrupted (checkpoint saved; continue with --resume): ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let (code, stdout, err) = gantry(&["train", "--resume", "run", "--max-steps", &(saved + 2).to_string(), "--quiet", "--no-eval"], d);
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains(&format!("{} generator steps", saved + 2)), "{stdout}");
}

#[test]
fn eval_interpolate_and_minimax_commands() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, out, _) = gantry(&["minimax", "--steps", "6", "--out", "mm"], d);
    assert_eq!(code, 0);
    assert!(out.contains("it circles") && out.contains("spirals out"), "{out}");
    assert!(d.join("mm/minimax_alternating.png").exists() && d.join("mm/minimax_simultaneous.png").exists());

    // A 2-D toy run: `eval modes` reports the VEEGAN/PacGAN numbers and a scatter plot.
    let (code, out, err) = gantry(&["train", "--preset", "toy-ring8", "--max-steps", "5", "--batch-size", "16", "--generated-size", "256", "--out", "toy", "--quiet"], d);
    // The run reports its own mode coverage at the end (the 2-D mixtures need no classifier).
    assert!(out.contains("modes") && out.contains("toy/eval/modes_scatter.png"), "{out}");
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = gantry(&["eval", "modes", "--checkpoint", "toy", "--n", "500", "--quiet"], d);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("of 8 modes covered") && out.contains("high-quality") && out.contains("reverse KL"), "{out}");
    assert!(d.join("toy/eval/modes_scatter.png").exists() && d.join("toy/eval/modes.json").exists());

    // Interpolation between seeds, saved z vectors and latent arithmetic on an image model.
    let (code, _, err) = gantry(&["train", "--preset", "default", "--generated-size", "64", "--batch-size", "8", "--z-dim", "8", "--max-steps", "2", "--out", "run", "--quiet", "--no-eval"], d);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = gantry(&["interpolate", "--checkpoint", "run", "--seeds", "1", "2", "3", "--steps", "5", "--spherical", "--out", "i.png"], d);
    assert_eq!(code, 0, "{err}");
    let img = image::open(d.join("i.png")).unwrap();
    assert_eq!((img.width(), img.height()), (5 * 30 + 2, 2 * 30 + 2), "two rows of five");
    let (code, _, err) = gantry(&["sample", "--checkpoint", "run", "--n", "8", "--grid", "s.png", "--save-z", "z.safetensors"], d);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = gantry(&["interpolate", "--checkpoint", "run", "--z-file", "z.safetensors", "--expr", "3 - 1 + 5", "--out", "a.png"], d);
    assert_eq!(code, 0, "{err}");
    assert_eq!(image::open(d.join("a.png")).unwrap().width(), 4 * 30 + 2, "three operands and the result");
    one_line_error(&["interpolate", "--checkpoint", "run", "--z-file", "z.safetensors", "--expr", "3 - 99"], d, &["99"]);

    // Without the Inception weights, FID says where to get them.
    std::fs::create_dir_all(d.join("imgs")).unwrap();
    let home = d.join("home");
    let out = Command::new(env!("CARGO_BIN_EXE_gantry"))
        .args(["eval", "fid", "imgs", "imgs"])
        .current_dir(d)
        .env("GANTRY_OFFLINE", "1")
        .env("GANTRY_HOME", &home)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0));
    assert!(err.contains("--inception-weights") && err.contains("pt_inception-2015-12-05-6726825d.pth"), "{err}");
    one_line_error(&["eval", "fid", "imgs", "imgs", "--inception-weights", "nope.pth"], d, &["nope.pth"]);
}
