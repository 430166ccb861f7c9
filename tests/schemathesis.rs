//! The dashboard's API against its OpenAPI document (`/api/openapi.json`), fuzzed by schemathesis
//! (from PyPI, in a virtual environment of its own) on loopback over a folder with a real run:
//! every generated request must get a documented status and a body that matches its schema, never
//! a 5xx, and nothing may be written outside the runs folder. Bounded in examples and time; the
//! README's test command runs a short pass (`GANTRY_SCHEMATHESIS_SECONDS`, default 90, and
//! `GANTRY_SCHEMATHESIS_EXAMPLES`, default 15 per operation; a full pass gives it 600 s or more). The frames stream is left out: it never ends by
//! design (tests/playground.rs reads it). Skips, saying why, only where no Python 3.9+ is found.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use gantry::config::TrainConfig;
use gantry::playground::Limits;
use gantry::serve::{ServeOptions, start};
use gantry::train::{StopSignal, TrainOptions, Trainer, train_into};

fn python() -> Option<String> {
    let candidates = [std::env::var("GANTRY_PYTHON").ok(), Some("python3".into()), Some("python".into())];
    candidates.into_iter().flatten().find(|p| Command::new(p).args(["-c", "import sys; assert sys.version_info >= (3, 9)"]).output().is_ok_and(|o| o.status.success()))
}

fn listing(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(listing(&p));
        }
        out.push(p);
    }
    out.sort();
    out
}

#[test]
fn every_generated_request_gets_a_documented_answer() {
    let Some(python) = python() else {
        eprintln!("skipping: no Python 3.9 or newer found (python3; set GANTRY_PYTHON to choose one)");
        return;
    };
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-venv");
    let bin = venv.join("bin");
    if !bin.join("schemathesis").exists() {
        assert!(Command::new(&python).args(["-m", "venv"]).arg(&venv).status().unwrap().success(), "python3 -m venv");
        let pip = Command::new(bin.join("python")).args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "schemathesis>=4,<5"]).status().unwrap();
        assert!(pip.success(), "pip install schemathesis");
    }

    // A folder beside the runs folder: nothing may appear in it but the runs folder.
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    // The run is `default`, as in the document's examples, so that schemathesis's examples reach real files.
    let mut c: TrainConfig = gantry::presets::preset("toy-ring8").unwrap();
    c.max_steps = Some(40);
    c.sample_every = 20;
    c.eval_every = Some(20);
    let mut t = Trainer::new(c, true).unwrap();
    train_into(&mut t, &TrainOptions { out: runs.join("default"), quiet: true }, &StopSignal::default()).unwrap();
    std::fs::write(dir.path().join("secret.txt"), "outside the runs folder").unwrap();
    let before = listing(dir.path());

    // Sessions outlive the pass's pauses (a session ended by its idle time answers 404, which a
    // stateful test would take for a lost resource).
    let limits = Limits { max_sessions: 2, max_steps_per_s: 20.0, idle: Duration::from_secs(120) };
    let server = start(&ServeOptions { runs_dir: runs.clone(), addr: "127.0.0.1:0".parse().unwrap(), playground: limits }).unwrap();
    let examples = std::env::var("GANTRY_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "15".into());
    let seconds = std::env::var("GANTRY_SCHEMATHESIS_SECONDS").unwrap_or_else(|_| "90".into());
    let report = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("schemathesis-report");
    let status = Command::new(bin.join("schemathesis"))
        // Its cache (`.schemathesis/`) goes where it runs: under target, not in the checkout.
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .arg("run")
        .arg(format!("http://127.0.0.1:{}/api/openapi.json", server.addr.port()))
        // Sessions are ephemeral by design (closed by a page, ended unwatched): a session that a
        // scenario's earlier step closed answers 404, which `ensure_resource_availability` takes
        // for a lost resource; `use_after_free` still checks that closed sessions stay gone.
        .args(["--checks", "all", "--exclude-checks", "ensure_resource_availability", "--max-examples", &examples, "--workers", "1", "--request-timeout", "20", "--max-time", &seconds])
        .args(["--exclude-path-regex", "/frames$", "--suppress-health-check", "all", "--seed", "1", "--no-color"])
        .args(["--report", "junit", "--report-dir"])
        .arg(&report)
        .status()
        .unwrap();
    server.stop();
    assert!(status.success(), "schemathesis found failures (its report above; junit in {})", report.display());

    // Saved playground runs are new folders inside `runs`; beside it, nothing changed.
    let after: Vec<PathBuf> = listing(dir.path()).into_iter().filter(|p| !p.starts_with(&runs)).collect();
    let before: Vec<PathBuf> = before.into_iter().filter(|p| !p.starts_with(&runs)).collect();
    assert_eq!(after, before, "files outside the runs folder");
    assert_eq!(std::fs::read_to_string(dir.path().join("secret.txt")).unwrap(), "outside the runs folder");
}
