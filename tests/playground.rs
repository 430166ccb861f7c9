//! The playground (`gantry serve`'s `/playground`): driven in a real headless Chromium over the
//! DevTools protocol (play and see points move, a discriminator step that changes the heat map
//! and not the points, a drawn distribution, WGAN-GP, save as run and find it in the runs list),
//! and a bounded load test on loopback (many sessions opening, streaming and closing, malformed
//! messages among them, a cap that refuses clearly, memory back to where it started).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use gantry::playground::Limits;
use gantry::serve::{ServeOptions, Server, start};
use headless_chrome::protocol::cdp::Input;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value;

fn server(runs: &std::path::Path, limits: Limits) -> Server {
    start(&ServeOptions { runs_dir: runs.to_path_buf(), addr: "127.0.0.1:0".parse().unwrap(), playground: limits }).unwrap()
}

/// One HTTP/1.1 request; the status and the body (read up to `limit` bytes or the end).
fn request(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    // A server may answer (and close) before reading all of a body it refuses.
    let _ = s.write_all(head.as_bytes()).and_then(|()| s.write_all(body));
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// Reads one server-sent frame of session `id` (the latest) and closes the stream.
fn one_frame(addr: SocketAddr, id: u64) -> Value {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(s, "GET /api/playground/sessions/{id}/frames HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "the stream ended before a frame");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(at) = text.find("data: ")
            && let Some(end) = text[at..].find("\n\n")
        {
            return json(&text[at + 6..at + end]);
        }
    }
}

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0)
}

const CAP: usize = 3;

#[test]
fn the_server_stays_up_under_many_sessions_and_malformed_messages() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { max_sessions: CAP, max_steps_per_s: 50.0, idle: Duration::from_secs(2) };
    let srv = server(dir.path(), limits);
    let addr = srv.addr;
    let small = br#"{"neurons": 32, "batch_size": 32}"#;
    // Warm up once (allocator pools, the first model), then measure from there.
    let (_, b) = request(addr, "POST", "/api/playground/sessions", small);
    let id = json(&b)["id"].as_u64().unwrap();
    one_frame(addr, id);
    assert_eq!(request(addr, "DELETE", &format!("/api/playground/sessions/{id}"), b"").0, 204);
    std::thread::sleep(Duration::from_millis(500));
    let start_kib = resident_kib();

    let hostile: &[(&str, &str, &[u8])] = &[
        ("POST", "/api/playground/sessions", b"{\"lr_d\": NaN}"),
        ("POST", "/api/playground/sessions", b"{\"neurons\": 0}"),
        ("POST", "/api/playground/sessions", b"{\"layers\": 1000000}"),
        ("POST", "/api/playground/sessions", b"{\"nosuch\": 1}"),
        ("POST", "/api/playground/sessions", b"[[[[[[[[[["),
        ("POST", "/api/playground/sessions", b"\xff\xfe\x00garbage"),
        ("POST", "/api/playground/sessions/99999/command", b"{\"action\": \"play\"}"),
        ("POST", "/api/playground/sessions/abc/command", b"{}"),
        ("GET", "/api/playground/sessions/-1/frames", b""),
        ("GET", "/api/playground/minimax?lr=NaN", b""),
        ("GET", "/api/playground/minimax?steps=100000000", b""),
        ("GET", "/api/playground/minimax?x0=zz", b""),
    ];
    // A million drawn points: refused by the body limit or the points check, never trained.
    // Refused with a reason: a body that is not declared JSON (a form of another site could send
    // it unasked), a write from another site, a body over the server's limit (as JSON too).
    let mut plain = TcpStream::connect(addr).unwrap();
    write!(plain, "POST /api/playground/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").unwrap();
    let mut answer = String::new();
    let _ = plain.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 415") && answer.contains("application/json"), "{answer}");
    let mut cross = TcpStream::connect(addr).unwrap();
    write!(cross, "POST /api/playground/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nSec-Fetch-Site: cross-site\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}").unwrap();
    let mut answer = String::new();
    let _ = cross.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let million = format!("{{\"dataset\": \"drawn\", \"points\": [{}[0,0]]}}", "[0.1,0.2],".repeat(1_000_000));
    for round in 0..3 {
        let mut ids = vec![];
        for _ in 0..CAP {
            let (status, body) = request(addr, "POST", "/api/playground/sessions", small);
            assert_eq!(status, 201, "round {round}: {body}");
            ids.push(json(&body)["id"].as_u64().unwrap());
        }
        let (status, body) = request(addr, "POST", "/api/playground/sessions", small);
        assert_eq!(status, 429, "beyond the cap: {body}");
        assert!(json(&body)["error"].as_str().unwrap().contains("the playground is full"), "{body}");
        for &id in &ids {
            for action in [r#"{"action":"play"}"#, r#"{"action":"d_step"}"#, r#"{"action":"fly"}"#, r#"{"action":"reset","settings":{"lr_g":-1}}"#, "{{{"] {
                let (status, body) = request(addr, "POST", &format!("/api/playground/sessions/{id}/command"), action.as_bytes());
                assert!(matches!(status, 200 | 400 | 429), "{action}: {status} {body}");
                assert!(status == 200 || json(&body)["error"].is_string());
            }
            let f = one_frame(addr, id);
            assert!(f["fake"].is_array() || f["message"].is_string(), "{f}");
        }
        for &(method, path, body) in hostile {
            let (status, text) = request(addr, method, path, body);
            assert!((400..500).contains(&status), "{method} {path}: {status} {text}");
        }
        let (status, body) = request(addr, "POST", "/api/playground/sessions", million.as_bytes());
        assert!((400..500).contains(&status), "a million points: {status}");
        assert!(status != 413 || json(&body)["error"].is_string(), "{body}");
        // Half are closed by the page, the rest are left to time out unwatched.
        for &id in &ids[..ids.len() / 2] {
            assert_eq!(request(addr, "POST", &format!("/api/playground/sessions/{id}/close"), b"").0, 204);
        }
        let t0 = Instant::now();
        while !srv.playground.is_empty() {
            assert!(t0.elapsed() < Duration::from_secs(10), "idle sessions end within seconds");
            assert_eq!(request(addr, "GET", "/api/playground", b"").0, 200, "the server answers throughout");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let end_kib = resident_kib();
    eprintln!("resident memory: {start_kib} KiB after warm-up, {end_kib} KiB after 3 rounds of sessions");
    assert!(end_kib < start_kib + 64 * 1024, "memory returns near its start level: {start_kib} → {end_kib} KiB");
    srv.stop();
}

/// The browser that `.ci/run` installs (Debian's chromium), or one named by GANTRY_CHROMIUM.
fn chromium() -> Option<PathBuf> {
    let named = std::env::var_os("GANTRY_CHROMIUM").map(PathBuf::from);
    named.into_iter().chain(["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].map(PathBuf::from)).find(|p| p.exists())
}

/// The value of `js` in the page (passed through JSON, so arrays and objects come by value).
fn eval(tab: &Tab, js: &str) -> Value {
    let text = tab.evaluate(&format!("JSON.stringify({js})"), true).unwrap_or_else(|e| panic!("{js}: {e}")).value.unwrap_or(Value::Null);
    text.as_str().map_or(Value::Null, |t| serde_json::from_str(t).unwrap_or(Value::Null))
}

/// Waits until `js` is true in the page.
fn wait_for(tab: &Tab, js: &str, what: &str) {
    let t0 = Instant::now();
    while eval(tab, &format!("!!({js})")) != Value::Bool(true) {
        assert!(t0.elapsed() < Duration::from_secs(60), "timed out waiting for {what} ({js}); message: {}", eval(tab, "document.getElementById('message').textContent"));
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn click(tab: &Tab, selector: &str) {
    tab.find_element(selector).unwrap_or_else(|e| panic!("{selector}: {e}")).click().unwrap();
}

fn screenshot(tab: &Tab, name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a screenshot");
    let path = dir.join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
    path
}

fn mouse(tab: &Tab, kind: Input::DispatchMouseEventTypeOption, x: f64, y: f64) {
    tab.call_method(Input::DispatchMouseEvent {
        Type: kind,
        x,
        y,
        modifiers: None,
        timestamp: None,
        button: Some(Input::MouseButton::Left),
        buttons: Some(1),
        click_count: Some(1),
        force: None,
        tangential_pressure: None,
        tilt_x: None,
        tilt_y: None,
        twist: None,
        delta_x: None,
        delta_y: None,
        pointer_Type: None,
    })
    .unwrap();
}

/// A fingerprint of the plane's pixels.
const PIXELS: &str = "(() => { const d = document.getElementById('plane').getContext('2d').getImageData(0, 0, 512, 512).data; let h = 0; for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) >>> 0; return h; })()";

#[test]
fn a_learner_plays_steps_draws_switches_the_loss_and_saves_a_run_in_a_browser() {
    let Some(path) = chromium() else {
        eprintln!("skipped: no chromium (/usr/bin/chromium; .ci/run installs Debian's chromium, or set GANTRY_CHROMIUM)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path(), Limits::default());
    let options = LaunchOptions::default_builder()
        .path(Some(path))
        .headless(true)
        .sandbox(false)
        .window_size(Some((1500, 1000)))
        .idle_browser_timeout(Duration::from_secs(300))
        .build()
        .unwrap();
    let browser = Browser::new(options).unwrap();
    let tab = browser.new_tab().unwrap();
    tab.set_default_timeout(Duration::from_secs(60));
    // Small networks keep the test quick on two cores; the page takes the settings from its link.
    let base = format!("http://{}/playground", srv.addr);
    tab.navigate_to(&format!("{base}#neurons=64&batch_size=128&lr_d=0.001&lr_g=0.001")).unwrap().wait_until_navigated().unwrap();
    wait_for(&tab, "window.playground.frames > 0 && window.playground.frame.settings.neurons === 64", "the first frame");
    screenshot(&tab, "playground-start.png");

    // Play: generated points move and the picture changes between frames.
    let fake0 = eval(&tab, "window.playground.frame.fake");
    let pixels0 = eval(&tab, PIXELS);
    click(&tab, "#play");
    wait_for(&tab, "window.playground.frame.playing && window.playground.frame.step >= 20", "20 steps of play");
    assert_ne!(eval(&tab, "window.playground.frame.fake"), fake0, "generated points moved");
    let pixels1 = eval(&tab, PIXELS);
    wait_for(&tab, &format!("{PIXELS} !== {pixels1}"), "the next frame");
    assert_ne!(pixels1, pixels0);
    click(&tab, "#play");
    wait_for(&tab, "!window.playground.frame.playing", "pause");
    screenshot(&tab, "playground-playing.png");

    // One discriminator step: the heat map changes, the generated points stay put.
    let before =
        eval(&tab, "({fake: window.playground.frame.fake, heat: window.playground.frame.heat.values, d: window.playground.frame.d_by_hand, step: window.playground.frame.step})");
    click(&tab, "#d-step");
    wait_for(&tab, &format!("window.playground.frame.d_by_hand === {}", before["d"].as_u64().unwrap() + 1), "a discriminator step");
    let after = eval(&tab, "({fake: window.playground.frame.fake, heat: window.playground.frame.heat.values, step: window.playground.frame.step})");
    assert_eq!(after["fake"], before["fake"], "G untouched by D's step");
    assert_ne!(after["heat"], before["heat"], "D's surface changed");
    assert_eq!(after["step"], before["step"]);

    // Draw a stroke from the plane's upper left to its centre: the real points follow it.
    click(&tab, "#draw");
    let origin = eval(&tab, "(() => { const r = document.getElementById('plane').getBoundingClientRect(); return [r.left, r.top]; })()");
    let (left, top) = (origin[0].as_f64().unwrap(), origin[1].as_f64().unwrap());
    mouse(&tab, Input::DispatchMouseEventTypeOption::MousePressed, left + 100.0, top + 100.0);
    for i in 1..=40 {
        let t = i as f64 / 40.0;
        mouse(&tab, Input::DispatchMouseEventTypeOption::MouseMoved, left + 100.0 + 156.0 * t, top + 100.0 + 156.0 * t);
    }
    mouse(&tab, Input::DispatchMouseEventTypeOption::MouseReleased, left + 256.0, top + 256.0);
    wait_for(&tab, "window.playground.frame.settings.dataset === 'drawn' && window.playground.frame.step === 0", "the drawn distribution");
    // The stroke runs from (-1.34, 1.34) to (0, 0) in the plane: every real point lies near y = -x there.
    let real: Vec<f64> = serde_json::from_value(eval(&tab, "window.playground.frame.real")).unwrap();
    assert!(real.len() >= 100);
    for p in real.chunks(2) {
        assert!((p[0] + p[1]).abs() < 0.25 && p[0] > -1.6 && p[0] < 0.2, "a real point off the drawing: {p:?}");
    }
    click(&tab, "#draw");
    screenshot(&tab, "playground-drawn.png");

    // WGAN-GP from the form: the critic's penalty and gradient norms appear.
    eval(&tab, "(document.getElementById('f-loss').value = 'wgan', document.getElementById('f-regulariser').value = 'gp', true)");
    click(&tab, "#reset");
    wait_for(&tab, "window.playground.frame.settings.loss === 'wgan' && window.playground.frame.settings.regulariser === 'gp'", "WGAN-GP");
    click(&tab, "#step");
    wait_for(&tab, "window.playground.frame.step === 1 && window.playground.frame.last.grad_norm_mean !== undefined", "a WGAN-GP step");
    assert!(eval(&tab, "document.getElementById('readout').textContent").as_str().unwrap().contains("penalty ‖∇D‖ mean"));

    // The share link carries the scene.
    click(&tab, "#share");
    let link = eval(&tab, "document.getElementById('share-link').value");
    let link = link.as_str().unwrap();
    assert!(link.contains("loss=wgan") && link.contains("regulariser=gp") && link.contains("dataset=drawn") && link.contains("points="), "{link}");

    // Save as run, and find it in the runs list.
    click(&tab, "#save");
    wait_for(&tab, "!!document.getElementById('saved-run')", "the saved run");
    let run = eval(&tab, "document.getElementById('saved-run').textContent");
    let run = run.as_str().unwrap().to_string();
    assert!(dir.path().join(&run).join("checkpoints/last.safetensors").is_file());
    screenshot(&tab, "playground-saved.png");
    tab.navigate_to(&format!("http://{}/#/", srv.addr)).unwrap().wait_until_navigated().unwrap();
    wait_for(&tab, &format!("document.body.textContent.includes({})", serde_json::to_string(&run).unwrap()), "the run in the runs list");
    screenshot(&tab, "playground-runs-list.png");

    // The minimax scene draws both trajectories.
    tab.navigate_to(&base).unwrap().wait_until_navigated().unwrap();
    wait_for(&tab, "window.playground.frames > 0", "the playground again");
    click(&tab, "#tab-minimax");
    wait_for(&tab, "document.getElementById('scene-gan').offsetParent === null && document.getElementById('minimax').getBoundingClientRect().top < 200", "the minimax scene in place of the GAN");
    std::thread::sleep(Duration::from_millis(1500));
    let ink = eval(
        &tab,
        "(() => { const d = document.getElementById('minimax').getContext('2d').getImageData(0, 0, 512, 512).data; let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i + 2] > 200 && d[i] < 100) n++; return n; })()",
    );
    assert!(ink.as_u64().unwrap() > 200, "the alternating (blue) trajectory is drawn: {ink}");
    screenshot(&tab, "playground-minimax.png");
    srv.stop();
}

#[test]
fn a_saved_scene_resumes_and_samples_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let srv = server(dir.path(), Limits::default());
    let settings = br#"{"neurons": 32, "batch_size": 64, "dataset": "drawn", "points": [[0.5, 0.5], [-0.5, -0.5]]}"#;
    let (status, body) = request(srv.addr, "POST", "/api/playground/sessions", settings);
    assert_eq!(status, 201, "{body}");
    let id = json(&body)["id"].as_u64().unwrap();
    for _ in 0..5 {
        assert_eq!(request(srv.addr, "POST", &format!("/api/playground/sessions/{id}/command"), br#"{"action":"step"}"#).0, 200);
    }
    let t0 = Instant::now();
    while one_frame(srv.addr, id)["step"] != 5 {
        assert!(t0.elapsed() < Duration::from_secs(30));
    }
    let (status, body) = request(srv.addr, "POST", &format!("/api/playground/sessions/{id}/save"), b"");
    assert_eq!(status, 200, "{body}");
    let run = dir.path().join(json(&body)["run"].as_str().unwrap());
    srv.stop();
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    assert_eq!(log.lines().count(), 5, "{log}");
    let gantry = env!("CARGO_BIN_EXE_gantry");
    let out = std::process::Command::new(gantry).args(["train", "--resume"]).arg(&run).args(["--max-steps", "8", "--quiet", "--no-eval"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log = std::fs::read_to_string(run.join("log.jsonl")).unwrap();
    let steps: Vec<u64> = log.lines().map(|l| json(l)["step"].as_u64().unwrap()).collect();
    assert_eq!(steps, (1..=8).collect::<Vec<u64>>());
    let out = std::process::Command::new(gantry).args(["sample", "--checkpoint"]).arg(&run).args(["--n", "16"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
