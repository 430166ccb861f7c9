//! `gantry serve` over a real runs folder: every endpoint's status and JSON, a run being written
//! during the test (a half-written last line, new lines appearing), runs that were killed or
//! failed, traversal attempts, and the page itself in a real headless browser.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use gantry::serve::{ServeOptions, Server, start};
use gantry::config::TrainConfig;
use gantry::train::{StopSignal, TrainOptions, Trainer, train_into};
use serde_json::Value;

/// A finished toy run with evaluations every 20 steps: 60 log records, grids at 20, 40, 60.
fn trained_run(dir: &Path) {
    let mut c: TrainConfig = gantry::presets::preset("toy-ring8").unwrap();
    c.max_steps = Some(60);
    c.sample_every = 20;
    c.eval_every = Some(20);
    c.keep_best = Some("modes".into());
    let mut t = Trainer::new(c, true).unwrap();
    train_into(&mut t, &TrainOptions { out: dir.to_path_buf(), quiet: true }, &StopSignal::default()).unwrap();
}

/// A run "being written" by this test process: a status naming this PID, two complete log lines
/// and a half-written third.
fn live_run(dir: &Path) {
    std::fs::create_dir_all(dir.join("samples")).unwrap();
    let status = serde_json::json!({
        "state": "running", "step": 2, "total_steps": 100, "epoch": 0, "epochs": 1, "model": "mlp-toy",
        "dataset": "ring8", "loss": "bce", "pid": std::process::id(), "started": 0.0, "updated": 0.0, "command": "gantry train"
    });
    std::fs::write(dir.join("status.json"), status.to_string()).unwrap();
    std::fs::write(dir.join("log.jsonl"), "{\"step\":1,\"epoch\":0,\"loss_d\":1.0,\"loss_g\":2.0}\nnot json\n{\"step\":2,\"epoch\":0,\"loss_d\":0.9,\"loss_g\":2.1}\n{\"step\":3,\"ep").unwrap();
}

fn status_run(dir: &Path, state: &str, pid: u64, error: Option<&str>) {
    std::fs::create_dir_all(dir).unwrap();
    let mut status = serde_json::json!({
        "state": state, "step": 5, "total_steps": 10, "epoch": 0, "epochs": 1, "model": "dcgan-28",
        "dataset": "mnist", "loss": "wgan", "pid": pid, "started": 0.0, "updated": 0.0, "command": "gantry train"
    });
    if let Some(e) = error {
        status["error"] = e.into();
    }
    std::fs::write(dir.join("status.json"), status.to_string()).unwrap();
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    server: Option<Server>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("runs");
        trained_run(&root.join("ring"));
        live_run(&root.join("live"));
        // PIDs above Linux's limit (2^22) never run: the writer of this run is gone.
        status_run(&root.join("killed"), "running", 99_999_999, None);
        status_run(&root.join("failed"), "failed", 99_999_999, Some("step 5: loss_d is NaN"));
        std::fs::create_dir_all(root.join("not-a-run")).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("ring/leak.txt")).unwrap();
            std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
            std::fs::write(dir.path().join("elsewhere/log.jsonl"), "").unwrap();
            std::os::unix::fs::symlink(dir.path().join("elsewhere"), root.join("outside-run")).unwrap();
            // A run whose only run file links outside, and a report that links outside.
            std::fs::create_dir_all(root.join("linked")).unwrap();
            std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("linked/config.toml")).unwrap();
            std::fs::write(dir.path().join("outside.json"), r#"{"counts": [1, 2], "class_names": ["outside", "outside"]}"#).unwrap();
            std::fs::create_dir_all(root.join("ring/eval")).unwrap();
            std::os::unix::fs::symlink(dir.path().join("outside.json"), root.join("ring/eval/modes.json")).unwrap();
        }
        let server = start(&ServeOptions { runs_dir: root.clone(), addr: "127.0.0.1:0".parse().unwrap(), playground: Default::default() }).unwrap();
        Fixture { _dir: dir, root, server: Some(server) }
    }

    fn addr(&self) -> SocketAddr {
        self.server.as_ref().unwrap().addr
    }

    /// GET `path` exactly as written (no normalisation): status, content type and body.
    fn get(&self, path: &str) -> (u16, String, Vec<u8>) {
        self.get_from("localhost", path)
    }

    fn get_from(&self, host: &str, path: &str) -> (u16, String, Vec<u8>) {
        let mut s = TcpStream::connect(self.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete HTTP response");
        let head = String::from_utf8_lossy(&raw[..split]).to_string();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let kind = head.lines().find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_string())).unwrap_or_default();
        let body = raw[split + 4..].to_vec();
        let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(&body) } else { body };
        (status, kind, body)
    }

    fn json(&self, path: &str) -> Value {
        let (status, kind, body) = self.get(path);
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
        assert!(kind.starts_with("application/json"), "{path}: {kind}");
        serde_json::from_slice(&body).unwrap()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop();
        }
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = b.windows(2).position(|w| w == b"\r\n").unwrap();
        let n = usize::from_str_radix(std::str::from_utf8(&b[..end]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&b[end + 2..end + 2 + n]);
        b = &b[end + 4 + n..];
    }
}

fn run<'a>(runs: &'a Value, name: &str) -> &'a Value {
    runs.as_array().unwrap().iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("run {name} listed"))
}

#[test]
fn the_api_lists_runs_with_their_state_and_serves_their_logs() {
    let f = Fixture::new();
    let runs = f.json("/api/runs");
    let names: Vec<&str> = runs.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["failed", "killed", "live", "ring"], "runs only, sorted; folders without run files and runs outside the folder (or whose files are) are not listed");

    let ring = run(&runs, "ring");
    assert_eq!(ring["state"], "stopped");
    assert_eq!((ring["model"].as_str(), ring["dataset"].as_str(), ring["loss"].as_str()), (Some("mlp-toy"), Some("ring8"), Some("bce")));
    assert_eq!((ring["step"].as_u64(), ring["total_steps"].as_u64()), (Some(60), Some(60)));
    assert!(ring["last"]["loss_d"].is_number() && ring["last_eval"]["modes_total"] == 8);
    assert_eq!(ring["best"]["metric"], "modes");
    assert_eq!(run(&runs, "live")["state"], "running");
    assert_eq!(run(&runs, "killed")["state"], "interrupted", "a running status whose writer is gone");
    let failed = run(&runs, "failed");
    assert_eq!((failed["state"].as_str(), failed["error"].as_str()), (Some("failed"), Some("step 5: loss_d is NaN")));

    let detail = f.json("/api/runs/ring");
    let grids: Vec<&str> = detail["grids"].as_array().unwrap().iter().map(|g| g["file"].as_str().unwrap()).collect();
    assert_eq!(grids, ["samples/step_0000020.png", "samples/step_0000040.png", "samples/step_0000060.png"]);
    assert_eq!(detail["evals"].as_array().unwrap().iter().map(|e| e["step"].as_u64().unwrap()).collect::<Vec<_>>(), [20, 40, 60]);
    assert!(detail["config"].as_str().unwrap().contains("model = \"mlp-toy\""));
    assert!(detail["reproduce"].as_str().unwrap().starts_with("gantry train --config "));
    assert!(detail["pictures"].as_array().unwrap().iter().any(|p| p == "loss.png"));

    let detail_text = String::from_utf8(f.get("/api/runs/ring").2).unwrap();
    assert!(detail["modes"].is_null() && !detail_text.contains("outside"), "a report linking outside the folder is not read");
    let log = f.json("/api/runs/ring/log?from=0");
    assert_eq!((log["records"].as_array().unwrap().len(), log["next"].as_u64()), (60, Some(60)));
    assert_eq!(f.json("/api/runs/ring/log?from=55")["records"].as_array().unwrap().len(), 5);
    assert_eq!(f.json("/api/runs/ring/log?from=500")["reset"], true, "a log shorter than asked for (rewritten on resume) says so");
    assert_eq!(f.json("/api/runs/ring/log?from=55&step=55")["reset"], false);
    let rewritten = f.json("/api/runs/ring/log?from=55&step=70");
    assert_eq!((rewritten["reset"].as_bool(), rewritten["records"].as_array().unwrap().len()), (Some(true), 60), "line 55 no longer holds the reader's step 70: all again");
    assert_eq!(f.json("/api/runs/ring/evals")["records"].as_array().unwrap().len(), 3);

    let rows = f.json("/api/compare?runs=ring,live");
    assert_eq!(rows.as_array().unwrap().iter().map(|r| r["run"].as_str().unwrap()).collect::<Vec<_>>(), ["live", "ring"]);
    let (status, kind, md) = f.get("/api/compare.md?runs=ring");
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/markdown"));
    let md = String::from_utf8(md).unwrap();
    assert!(md.starts_with("| run | model |") && md.contains("| ring | mlp-toy | ring8 | bce | 60 |"), "{md}");

    for (path, kind) in [("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css"), ("/files/ring/samples/step_0000020.png", "image/png")] {
        let (status, got, body) = f.get(path);
        assert_eq!((status, got.starts_with(kind)), (200, true), "{path}: {got}");
        assert!(!body.is_empty());
    }
    assert!(String::from_utf8(f.get("/").2).unwrap().contains("/app.js"), "the page loads its own script, no CDN");
    for missing in ["/api/runs/nope", "/api/runs/not-a-run", "/api/runs/nope/log", "/files/ring/samples/step_9.png", "/nothing-here"] {
        assert_eq!(f.get(missing).0, 404, "{missing}");
    }
}

#[test]
fn a_run_being_written_is_read_as_it_grows() {
    let f = Fixture::new();
    let log = f.json("/api/runs/live/log?from=0");
    let steps: Vec<u64> = log["records"].as_array().unwrap().iter().map(|r| r["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, [1, 2], "the half-written third line waits for its newline");
    assert_eq!((log["skipped"].as_u64(), log["next"].as_u64()), (Some(1), Some(3)));
    // The writer finishes the line and adds one.
    let mut file = std::fs::OpenOptions::new().append(true).open(f.root.join("live/log.jsonl")).unwrap();
    write!(file, "och\":0,\"loss_d\":0.8,\"loss_g\":2.2}}\n{{\"step\":4,\"epoch\":0,\"loss_d\":0.7,\"loss_g\":2.3}}\n").unwrap();
    let more = f.json("/api/runs/live/log?from=3");
    let steps: Vec<u64> = more["records"].as_array().unwrap().iter().map(|r| r["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, [3, 4]);
    assert_eq!(run(&f.json("/api/runs"), "live")["step"], 4);
    // A run without grids, evaluations or config still has a page.
    let detail = f.json("/api/runs/live");
    assert!(detail["grids"].as_array().unwrap().is_empty() && detail["config"].is_null());
}

#[test]
fn only_files_inside_the_runs_folder_are_served() {
    let f = Fixture::new();
    assert_eq!(f.get("/files/ring/config.toml").0, 200);
    let attempts = [
        "/files/ring/../ring/config.toml",
        "/files/ring/%2e%2e/ring/config.toml",
        "/files/ring/%2E%2E/%2E%2E/secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/ring/..%2f..%2fsecret.txt",
        "/files/ring/%252e%252e/secret.txt",
        "/files/ring//etc/passwd",
        "/files/ring/%2Fetc%2Fpasswd",
        "/files//etc/passwd",
        "/files/ring/..\\..\\secret.txt",
        "/files/ring/%5c..%5c..%5csecret.txt",
        "/files/ring/.lock",
        "/files/ring/leak.txt",
        "/files/outside-run/log.jsonl",
        "/files/ring/%00",
        "/files/ring/%zz",
        "/files/ring/samples",
        "/api/runs/..",
        "/api/runs/%2e%2e",
        "/api/runs/outside-run",
        "/api/runs/%2e%2e%2fsecret.txt/log",
        "/api/runs/linked",
        "/files/linked/config.toml",
        "/files/ring/checkpoints/last.safetensors",
    ];
    for path in attempts {
        let (status, _, body) = f.get(path);
        assert_eq!(status, 404, "{path}");
        assert!(!String::from_utf8_lossy(&body).contains("outside"), "{path} leaked the file");
    }
    // Bound to 127.0.0.1, it answers only requests addressed to a loopback name (DNS rebinding).
    assert_eq!(f.get_from("evil.example:6006", "/api/runs").0, 403);
    assert_eq!(f.get_from("127.0.0.1:6006", "/api/runs").0, 200);
    let (_, _, headers_checked) = f.get("/api/runs");
    assert!(!headers_checked.is_empty());
}

/// The browser that `.ci/run` installs (Debian's chromium), or one named by GANTRY_CHROMIUM.
fn browser() -> Option<PathBuf> {
    let named = std::env::var_os("GANTRY_CHROMIUM").map(PathBuf::from);
    named.into_iter().chain(["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].map(PathBuf::from)).find(|p| p.exists())
}

fn headless(browser: &Path, profile: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--virtual-time-budget=8000", "--run-all-compositor-stages-before-draw"])
        .args(args)
        .output()
        .expect("the browser starts");
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `name="value"` of the first element in `dom` that contains `marker`.
fn attribute<'a>(dom: &'a str, marker: &str, name: &str) -> Option<&'a str> {
    let at = dom.find(marker)?;
    let start = dom[..at].rfind('<')?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let v = tag.split(&format!("{name}=\"")).nth(1)?;
    Some(&v[..v.find('"')?])
}

#[test]
fn the_run_page_draws_the_curves_and_the_chosen_grid_in_a_browser() {
    let Some(browser) = browser() else {
        eprintln!("skipped: no chromium (/usr/bin/chromium; .ci/run installs Debian's chromium, or set GANTRY_CHROMIUM)");
        return;
    };
    let f = Fixture::new();
    let profile = tempfile::tempdir().unwrap();
    let url = format!("http://{}/#/run/ring?grid=1", f.addr());
    let dom = headless(&browser, profile.path(), &["--dump-dom", &url]);
    for series in ["loss_d", "loss_g", "d_real", "d_fake"] {
        let count = attribute(&dom, &format!("data-series=\"{series}\""), "data-count");
        assert_eq!(count, Some("60"), "the {series} curve has the run's 60 points:\n{}", &dom[..dom.len().min(3000)]);
    }
    let polyline_points = attribute(&dom, "data-series=\"loss_d\"", "points").unwrap().split_whitespace().count();
    assert_eq!(polyline_points, 60, "every step is drawn");
    assert_eq!(attribute(&dom, "id=\"grid-image\"", "data-file"), Some("samples/step_0000040.png"), "the slider's second grid");
    assert!(dom.contains("id=\"grid-label\">step 40<"), "the slider names its grid");
    assert!(dom.contains("data-chart=\"eval-kl\""), "the evaluations are charted");

    // Screenshots of the run page and the compare page (look at them: target/screenshots/).
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    for (name, page) in [("run.png", format!("http://{}/#/run/ring", f.addr())), ("compare.png", format!("http://{}/#/compare?runs=ring,live", f.addr()))] {
        let path = shots.join(name);
        let _ = std::fs::remove_file(&path);
        headless(&browser, profile.path(), &["--window-size=1400,1800", &format!("--screenshot={}", path.display()), &page]);
        let png = std::fs::read(&path).unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a screenshot of {page} at {}", path.display());
        eprintln!("screenshot: {}", path.display());
    }
}

/// Each `.route("PATH", METHOD(…)…)` in the server's source, as (PATH, method) pairs (`{*rest}`
/// written `{rest}`, as OpenAPI names a parameter).
fn routes_in_source() -> Vec<(String, String)> {
    let mut routes = vec![];
    for file in ["src/serve/mod.rs", "src/serve/playground.rs"] {
        let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        for part in text.split(".route(\"").skip(1) {
            let (path, rest) = part.split_once('"').unwrap();
            let end = [".route(", ".merge(", ".fallback(", ".layer("].iter().filter_map(|m| rest.find(m)).min().unwrap_or(rest.len());
            let call = &rest[..end];
            for method in ["get", "post", "put", "delete", "patch"] {
                let called = call.match_indices(&format!("{method}(")).any(|(i, _)| i == 0 || !call.as_bytes()[i - 1].is_ascii_alphanumeric() && call.as_bytes()[i - 1] != b'_');
                if called {
                    routes.push((path.replace("{*", "{"), method.to_string()));
                }
            }
        }
    }
    routes.sort();
    routes
}

#[test]
fn the_openapi_document_describes_every_route_and_nothing_else() {
    let doc: Value = serde_json::from_str(gantry::serve::OPENAPI_JSON).unwrap();
    assert_eq!(doc["openapi"].as_str().map(|v| &v[..2]), Some("3."));
    let mut documented = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((path.clone(), method.clone()));
            let op = &item[method];
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}: responses");
        }
    }
    documented.sort();
    let routes = routes_in_source();
    assert!(routes.len() >= 15, "routes found in the source: {routes:?}");
    assert_eq!(routes, documented, "the router's routes (left) and /api/openapi.json's operations (right)");
    // Every $ref names something that exists.
    let text = gantry::serve::OPENAPI_JSON;
    for r in text.split("\"$ref\": \"#/").skip(1) {
        let pointer = format!("/{}", &r[..r.find('"').unwrap()]);
        assert!(doc.pointer(&pointer).is_some(), "dangling $ref {pointer}");
    }

    // The server serves it.
    let f = Fixture::new();
    assert_eq!(f.json("/api/openapi.json"), doc);
    // A malformed query or path is a documented JSON error, not axum's plain text.
    for path in ["/api/runs/ring/log?from=minus-one", "/api/runs/%ff%fe", "/api/playground/sessions/%ff/frames"] {
        let (status, kind, body) = f.get(path);
        assert_eq!((status, kind.starts_with("application/json")), (400, true), "{path}: {}", String::from_utf8_lossy(&body));
        assert!(serde_json::from_slice::<Value>(&body).unwrap()["error"].is_string());
    }
}
