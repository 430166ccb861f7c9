//! `gantry serve`: a live dashboard over a folder of runs, served by the binary itself (axum on a
//! small tokio runtime). The page, its script and its style are compiled in, so it works offline.
//! The runs folder is read on each request ([`runs`]), and only files inside it are served; the
//! one thing that writes is the playground's "save as run" ([`playground`]), into a new folder.
//!
//! Endpoints: `/` (the page; its views are `#/`, `#/run/NAME`, `#/compare?runs=A,B`),
//! `/api/runs`, `/api/runs/NAME`, `/api/runs/NAME/log?from=LINE`,
//! `/api/runs/NAME/evals?from=LINE`, `/api/compare?runs=A,B` (JSON) and `/api/compare.md`
//! (a Markdown table), `/files/NAME/PATH` (a run's pictures and files); the playground at
//! `/playground` with its API under `/api/playground` ([`playground`]).

mod playground;
mod reply;
pub mod runs;
mod state;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::playground::{Limits, Playground};
use reply::Checked;
use runs::RunsDir;
pub use state::AppState;

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");
/// The API, described for clients and checkers (`tests/serve.rs` holds it to the router's routes).
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

pub struct ServeOptions {
    pub runs_dir: PathBuf,
    pub addr: SocketAddr,
    /// How many playground sessions, how fast, how long unwatched.
    pub playground: Limits,
}

/// A running server: its address, and the thread that runs it until [`Server::stop`].
pub struct Server {
    pub addr: SocketAddr,
    pub playground: Arc<Playground>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl Server {
    /// Blocks until the server ends.
    pub fn wait(mut self) -> Result<()> {
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r.map_err(|e| Error::Other(format!("the dashboard server stopped: {e}"))),
            Some(Err(_)) => Err(Error::Other("the dashboard server thread panicked".into())),
            None => Ok(()),
        }
    }

    pub fn stop(mut self) {
        self.playground.close_all();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Binds `opts.addr` (port 0: any free port) and serves `opts.runs_dir` on a background thread.
pub fn start(opts: &ServeOptions) -> Result<Server> {
    let dir = RunsDir::open(&opts.runs_dir).map_err(|e| Error::io(&opts.runs_dir, e))?;
    let listener = std::net::TcpListener::bind(opts.addr).map_err(|e| Error::Other(format!("cannot listen on {}: {e}", opts.addr)))?;
    listener.set_nonblocking(true).map_err(|e| Error::Other(format!("cannot listen on {}: {e}", opts.addr)))?;
    let addr = listener.local_addr().map_err(|e| Error::Other(e.to_string()))?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let playground = Arc::new(Playground::new(opts.runs_dir.clone(), opts.playground.clone())?);
    let app = router(AppState::new(Arc::new(dir), playground.clone()), addr.ip().is_loopback());
    let thread = std::thread::Builder::new()
        .name("gantry-serve".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                axum::serve(listener, app).with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
            })
        })
        .map_err(|e| Error::Other(format!("cannot start the server thread: {e}")))?;
    Ok(Server { addr, playground, shutdown: Some(tx), thread: Some(thread) })
}

/// Every answer: `nosniff`; and a server bound to a loopback address answers only requests
/// addressed to a loopback name, so a web page elsewhere cannot read it by rebinding its own
/// name to 127.0.0.1.
async fn guard(local_only: bool, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let name = host.rsplit_once(':').filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit())).map_or(host, |(n, _)| n);
    let loopback = matches!(name, "localhost" | "127.0.0.1" | "[::1]") || name.ends_with(".localhost");
    let mut response = if local_only && !loopback { reply::error(StatusCode::FORBIDDEN, "gantry serve answers only to localhost") } else { next.run(req).await };
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    response
}

pub fn router(state: AppState, local_only: bool) -> Router {
    Router::new()
        .route("/", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX_HTML) }))
        .route("/app.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], APP_JS) }))
        .route("/style.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE_CSS) }))
        .route("/api/openapi.json", get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON) }))
        .route("/api/runs", get(list_runs))
        .route("/api/runs/{run}", get(run_detail))
        .route("/api/runs/{run}/log", get(run_log))
        .route("/api/runs/{run}/evals", get(run_evals))
        .route("/api/compare", get(compare_json))
        .route("/api/compare.md", get(compare_markdown))
        .route("/files/{*path}", get(file))
        .merge(playground::routes())
        .fallback(|| async { not_found("no such page") })
        .layer(axum::middleware::from_fn(move |req, next| guard(local_only, req, next)))
        .with_state(state)
}

type Dir = State<Arc<RunsDir>>;

fn not_found(what: &str) -> Response {
    reply::error(StatusCode::NOT_FOUND, what)
}

/// Runs blocking file reads off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> std::result::Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(|_| (StatusCode::INTERNAL_SERVER_ERROR, "the request failed").into_response())
}

async fn list_runs(State(dir): Dir) -> Response {
    match blocking(move || dir.list()).await {
        Ok(list) => Json(list).into_response(),
        Err(r) => r,
    }
}

async fn run_detail(State(dir): Dir, Checked(UrlPath(run)): Checked<UrlPath<String>>) -> Response {
    match blocking(move || dir.detail(&run)).await {
        Ok(Some(d)) => Json(d).into_response(),
        Ok(None) => not_found("no such run"),
        Err(r) => r,
    }
}

/// `?from=LINE&step=S`: the reader holds lines before LINE, the last of them at step S.
#[derive(Deserialize)]
struct From {
    #[serde(default)]
    from: usize,
    step: Option<u64>,
}

async fn lines(dir: Arc<RunsDir>, run: String, q: From, file: &'static str) -> Response {
    match blocking(move || dir.run(&run).map(|r| r.lines(file, q.from, q.step))).await {
        Ok(Some(chunk)) => Json(chunk).into_response(),
        Ok(None) => not_found("no such run"),
        Err(r) => r,
    }
}

async fn run_log(State(dir): Dir, Checked(UrlPath(run)): Checked<UrlPath<String>>, Checked(Query(q)): Checked<Query<From>>) -> Response {
    lines(dir, run, q, crate::run::layout::LOG).await
}

async fn run_evals(State(dir): Dir, Checked(UrlPath(run)): Checked<UrlPath<String>>, Checked(Query(q)): Checked<Query<From>>) -> Response {
    lines(dir, run, q, crate::run::layout::EVALS).await
}

#[derive(Deserialize)]
struct CompareQuery {
    #[serde(default)]
    runs: String,
}

/// One row of the comparison table: a run's final numbers.
#[derive(Serialize)]
struct CompareRow {
    run: String,
    state: String,
    model: Option<String>,
    dataset: Option<String>,
    loss: Option<String>,
    step: u64,
    loss_d: Option<f64>,
    loss_g: Option<f64>,
    fid: Option<f64>,
    kid: Option<f64>,
    modes: Option<String>,
    kl: Option<f64>,
    best: Option<String>,
}

fn compare_rows(dir: &RunsDir, names: &str) -> Vec<CompareRow> {
    let wanted: Vec<&str> = names.split(',').filter(|n| !n.is_empty()).collect();
    // Only the runs asked for are read; none named: all of them.
    let picked = if wanted.is_empty() { dir.list() } else { dir.summaries(&wanted) };
    picked
        .into_iter()
        .map(|r| {
            let num = |m: &serde_json::Map<String, Value>, k: &str| m.get(k).and_then(Value::as_f64);
            let eval = r.last_eval.clone().unwrap_or_default();
            let modes = match (eval.get("modes_covered").and_then(Value::as_u64), eval.get("modes_total").and_then(Value::as_u64)) {
                (Some(c), Some(t)) => Some(format!("{c}/{t}")),
                _ => None,
            };
            let best = r.best.as_ref().and_then(|b| Some(format!("{} {:.4} at step {}", b.get("metric")?.as_str()?, b.get("score")?.as_f64()?, b.get("step")?.as_u64()?)));
            CompareRow {
                loss_d: num(&r.last, "loss_d"),
                loss_g: num(&r.last, "loss_g"),
                fid: num(&eval, "fid"),
                kid: num(&eval, "kid"),
                kl: num(&eval, "kl"),
                modes,
                best,
                run: r.name,
                state: r.state,
                model: r.model,
                dataset: r.dataset,
                loss: r.loss,
                step: r.step,
            }
        })
        .collect()
}

async fn compare_json(State(dir): Dir, Checked(Query(q)): Checked<Query<CompareQuery>>) -> Response {
    match blocking(move || compare_rows(&dir, &q.runs)).await {
        Ok(rows) => Json(rows).into_response(),
        Err(r) => r,
    }
}

async fn compare_markdown(State(dir): Dir, Checked(Query(q)): Checked<Query<CompareQuery>>) -> Response {
    match blocking(move || markdown(&compare_rows(&dir, &q.runs))).await {
        Ok(text) => ([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], text).into_response(),
        Err(r) => r,
    }
}

fn markdown(rows: &[CompareRow]) -> String {
    let f = |v: Option<f64>, digits: usize| v.map_or("–".to_string(), |v| format!("{v:.digits$}"));
    let s = |v: &Option<String>| v.clone().unwrap_or_else(|| "–".into());
    let mut out = String::from("| run | model | dataset | loss | steps | loss_d | loss_g | FID | KID | modes | KL | best |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.run,
            s(&r.model),
            s(&r.dataset),
            s(&r.loss),
            r.step,
            f(r.loss_d, 3),
            f(r.loss_g, 3),
            f(r.fid, 2),
            f(r.kid, 4),
            s(&r.modes),
            f(r.kl, 3),
            s(&r.best)
        ));
    }
    out
}

/// `%XX`-decoded text, or None for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The content type of a file the dashboard serves; other kinds (checkpoints, …) are not served.
fn content_type(path: &str) -> Option<&'static str> {
    match path.rsplit_once('.')?.1 {
        "png" => Some("image/png"),
        "gif" => Some("image/gif"),
        "json" => Some("application/json"),
        "jsonl" | "toml" | "txt" | "md" => Some("text/plain; charset=utf-8"),
        _ => None,
    }
}

/// The largest file `/files/` serves.
const FILE_CAP: u64 = 64 << 20;

/// `/files/RUN/PATH`: decoded once, each part a plain name, the real path inside the runs folder.
async fn file(State(dir): Dir, uri: Uri) -> Response {
    let raw = uri.path().strip_prefix("/files/").unwrap_or_default().to_string();
    let found = blocking(move || {
        let decoded = percent_decode(&raw)?;
        let (run, rest) = decoded.split_once('/')?;
        let kind = content_type(rest)?;
        Some((kind, dir.run(run)?.read(rest, FILE_CAP)?))
    })
    .await;
    match found {
        Ok(Some((kind, bytes))) => ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-cache")], bytes).into_response(),
        Ok(None) => not_found("no such file"),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn percent_decoding_is_strict() {
        assert_eq!(percent_decode("a%2Fb%20c").as_deref(), Some("a/b c"));
        assert_eq!(percent_decode("%2e%2e").as_deref(), Some(".."));
        assert_eq!(percent_decode("%2"), None);
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}
