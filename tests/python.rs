//! The Python package, from the README's test command: builds the wheel (maturin, through pip) into
//! a virtual environment of its own, then runs its pytest suite, which also executes the example
//! notebook on a real Jupyter kernel. Skips, saying why, only where no Python 3 is found.

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> Option<String> {
    let candidates = [std::env::var("GANTRY_PYTHON").ok(), Some("python3".into()), Some("python".into())];
    candidates.into_iter().flatten().find(|p| Command::new(p).args(["-c", "import sys; assert sys.version_info >= (3, 9)"]).output().is_ok_and(|o| o.status.success()))
}

fn run(cmd: &mut Command, what: &str) {
    let status = cmd.status().unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(status.success(), "{what} failed ({status})");
}

#[test]
fn python_package_builds_and_passes_its_tests_and_notebook() {
    let Some(python) = python() else {
        eprintln!("skipping: no Python 3.9 or newer found (python3; set GANTRY_PYTHON to choose one)");
        return;
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-venv");
    let bin = venv.join("bin");
    if !bin.join("python").exists() {
        run(Command::new(&python).args(["-m", "venv"]).arg(&venv), "python3 -m venv");
    }
    // `pip install ./python[test]` as a user would run it: maturin builds the extension (cargo, in this
    // workspace's target folder) and pip installs it with the test tools (pytest, nbclient, ipykernel).
    run(Command::new(bin.join("python")).args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]).arg(format!("{}[test]", repo.join("python").display())), "pip install ./python[test]");
    run(
        Command::new(bin.join("python")).args(["-m", "pytest", "-q", "-p", "no:cacheprovider"]).arg(repo.join("python/tests")).env("GANTRY_BIN", env!("CARGO_BIN_EXE_gantry")).env("GANTRY_OFFLINE", "1"),
        "pytest python/tests",
    );
}
