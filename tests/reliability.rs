//! Nothing is lost or silently corrupted: checkpoints are verified on load and resume falls back
//! to the newest one that verifies; one writer per run; a run killed at any moment (a checkpoint
//! write included) and resumed with a plain `--resume` ends bit-identical to an uninterrupted one;
//! a full disk leaves the previous checkpoint intact.

use std::path::Path;
use std::process::{Command, Stdio};

use gantry::run::checkpoint;

fn gantry(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gantry")).args(args).current_dir(cwd).env("GANTRY_OFFLINE", "1").output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

/// A small default run: 8 steps per epoch, a checkpoint every `every` steps.
fn small_run<'a>(out: &'a str, steps: &'a str, every: &'a str) -> Vec<&'a str> {
    vec!["train", "--generated-size", "64", "--batch-size", "8", "--z-dim", "8", "--max-steps", steps, "--checkpoint-every", every, "--sample-every", "1000", "--out", out, "--quiet", "--no-eval"]
}

fn weights(run: &Path) -> Vec<(String, Vec<f32>)> {
    let l = checkpoint::load(run).unwrap();
    let mut v: Vec<_> = l.file.tensors.into_iter().map(|(k, t)| (k, t.data)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn log_steps(run: &Path) -> Vec<u64> {
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    log.lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["step"].as_u64().unwrap()).collect()
}

/// Flips two bytes near the end of a file (inside the tensor data of a checkpoint).
fn flip_two_bytes(path: &Path) {
    let mut b = std::fs::read(path).unwrap();
    let n = b.len();
    b[n - 100] ^= 0x5a;
    b[n - 7] ^= 0x01;
    std::fs::write(path, b).unwrap();
}

#[test]
fn corrupt_checkpoints_are_named_and_resume_falls_back_to_one_that_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, err) = gantry(&small_run("whole", "6", "2"), d);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = gantry(&small_run("run", "6", "2"), d);
    assert_eq!(code, 0, "{err}");
    let last = checkpoint::last_path(&d.join("run"));
    flip_two_bytes(&last);
    flip_two_bytes(&d.join("run/checkpoints/step_0000006.safetensors"));
    let err = checkpoint::load(&last).err().expect("a corrupt checkpoint is refused").to_string();
    assert!(err.contains("last.safetensors") && err.contains("corrupt"), "{err}");
    let (code, out, _) = gantry(&["checkpoint", "verify", "run"], d);
    assert_ne!(code, 0);
    assert!(out.contains("BAD") && out.contains("ok ") && out.contains("step 4)"), "{out}");
    // Resume skips both, says so, goes back to step 4 and trains steps 5 and 6 again: the run
    // ends as the uninterrupted one, its log without gaps or repeats.
    let (code, out, err) = gantry(&["train", "--resume", "run", "--quiet", "--no-eval"], d);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("skipped a checkpoint") && err.contains("last.safetensors") && err.contains("step_0000006"), "{err}");
    assert!(err.contains("resuming from") && err.contains("(step 4)"), "{err}");
    assert!(out.contains("6 generator steps"), "{out}");
    assert_eq!(weights(&d.join("run")), weights(&d.join("whole")));
    assert_eq!(log_steps(&d.join("run")), (1..=6).collect::<Vec<_>>());

    // A weight that is not finite is refused with the tensor's name (here in a file without a
    // checksum, as written before checksums existed).
    let file = gantry::tensor_file::read(&last).unwrap();
    let mut tensors: Vec<_> = file.tensors.into_values().collect();
    tensors.sort_by(|a, b| a.name.cmp(&b.name));
    let t = tensors.iter_mut().find(|t| t.name == "G.0.weight").unwrap();
    t.data[3] = f32::NAN;
    let meta = file.metadata.into_iter().filter(|(k, _)| k != "sha256").collect();
    gantry::tensor_file::write(&last, &tensors, meta).unwrap();
    let err = checkpoint::load(&last).err().unwrap().to_string();
    assert!(err.contains("G.0.weight") && err.contains("not finite"), "{err}");
}

#[test]
fn a_second_writer_is_refused_with_the_holders_pid() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, err) = gantry(&small_run("run", "2", "1"), d);
    assert_eq!(code, 0, "{err}");
    let lock = gantry::run::RunLock::acquire(&d.join("run")).unwrap();
    let (code, _, err) = gantry(&["train", "--resume", "run", "--max-steps", "4", "--quiet", "--no-eval"], d);
    assert_eq!(code, 2);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains(&format!("PID {}", std::process::id())), "{err}");
    assert_eq!(log_steps(&d.join("run")), vec![1, 2], "the refused writer wrote nothing");
    drop(lock);
    let (code, out, err) = gantry(&["train", "--resume", "run", "--max-steps", "4", "--quiet", "--no-eval"], d);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("4 generator steps"), "{out}");
}

#[test]
fn killed_at_any_moment_and_resumed_plainly_ends_as_if_never_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A checkpoint every step, so some kills land inside a checkpoint write.
    let (code, _, err) = gantry(&small_run("whole", "30", "1"), d);
    assert_eq!(code, 0, "{err}");
    let run = d.join("killed");
    let mut kills = 0;
    for (round, at) in [2usize, 9, 15, 22].into_iter().enumerate() {
        let args = if round == 0 { small_run("killed", "30", "1") } else { vec!["train", "--resume", "killed", "--quiet", "--no-eval"] };
        let mut child = Command::new(env!("CARGO_BIN_EXE_gantry")).args(&args).current_dir(d).env("GANTRY_OFFLINE", "1").stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let started = std::time::Instant::now();
        let lines = || std::fs::read_to_string(run.join("log.jsonl")).map_or(0, |s| s.lines().count());
        while lines() < at && child.try_wait().unwrap().is_none() {
            assert!(started.elapsed().as_secs() < 120, "no progress");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 2, "the run was killed mid-way at least twice");
    let (code, out, err) = gantry(&["train", "--resume", "killed", "--quiet", "--no-eval"], d);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("30 generator steps"), "{out}");
    assert_eq!(weights(&run), weights(&d.join("whole")), "bit-identical to the uninterrupted run");
    assert_eq!(log_steps(&run), (1..=30).collect::<Vec<_>>(), "the log has every step once");
}

#[cfg(unix)]
#[test]
fn a_full_disk_mid_checkpoint_keeps_the_previous_checkpoint_and_stops_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, _, err) = gantry(&small_run("run", "2", "1"), d);
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read(checkpoint::last_path(&d.join("run"))).unwrap();
    // Files may grow to 1 MiB: the log and grids fit, a checkpoint (about 20 MB) does not.
    let cmd = format!("ulimit -f 1024; exec '{}' train --resume run --max-steps 4 --quiet --no-eval", env!("CARGO_BIN_EXE_gantry"));
    let out = Command::new("bash").args(["-c", &cmd]).current_dir(d).env("GANTRY_OFFLINE", "1").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("last.safetensors") && lines[0].contains("unchanged"), "{err}");
    assert_eq!(std::fs::read(checkpoint::last_path(&d.join("run"))).unwrap(), before, "the previous checkpoint is intact");
    let (code, out, _) = gantry(&["checkpoint", "verify", "run"], d);
    assert_eq!(code, 0, "{out}");
}
