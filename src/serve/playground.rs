//! The playground's HTTP side: its page, sessions opened and closed, commands, frames streamed as
//! server-sent events, "save as run", and the minimax scene. Whatever a page sends, the answer is
//! a status and a JSON `{"error": …}` naming what was wrong; sessions live in `playground`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::state::AppState;
use crate::eval::minimax::{Scheme, trajectory};
use super::reply::{Checked, error};
use crate::playground::{Command, NotOpened, Playground, Refused, Settings, settings};
use crate::train::StepPart;

const PLAYGROUND_HTML: &str = include_str!("assets/playground.html");
const PLAYGROUND_JS: &str = include_str!("assets/playground.js");

type Sessions = State<Arc<Playground>>;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/playground", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PLAYGROUND_HTML) }))
        .route("/playground.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], PLAYGROUND_JS) }))
        .route("/api/playground", get(about))
        .route("/api/playground/sessions", post(open))
        .route("/api/playground/sessions/{id}", axum::routing::delete(close))
        .route("/api/playground/sessions/{id}/close", post(close))
        .route("/api/playground/sessions/{id}/frames", get(frames))
        .route("/api/playground/sessions/{id}/command", post(command))
        .route("/api/playground/sessions/{id}/save", post(save))
        .route("/api/playground/minimax", get(minimax))
        .layer(axum::middleware::from_fn(same_site))
}

/// Refuses writes that a page of another site sends (a browser says so in `Sec-Fetch-Site`);
/// with bodies that must be JSON (`body_json`), such a page cannot send them unasked either.
async fn same_site(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let cross = req.headers().get("sec-fetch-site").is_some_and(|v| v.as_bytes() == b"cross-site");
    if cross && req.method() != axum::http::Method::GET {
        return error(StatusCode::FORBIDDEN, "the playground takes commands from its own page only");
    }
    next.run(req).await
}

fn no_session(id: &str) -> Response {
    error(StatusCode::NOT_FOUND, format!("no playground session `{id}` (it ended after a while unwatched, or was closed); reload the page"))
}

type Body = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// The body as JSON (an empty body is `{}`), sent as `application/json`; or the status that
/// says why not (a body over the server's limit included).
fn json_body(headers: &HeaderMap, body: Body) -> Result<Value, Response> {
    let body = body.map_err(|e| error(e.status(), format!("the request body cannot be read: {}", e.body_text())))?;
    // No body at all is no settings: nothing to misread, whatever its type says.
    if body.is_empty() {
        return Ok(json!({}));
    }
    let json_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("application/json"));
    if !json_type {
        return Err(error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the request with Content-Type: application/json"));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&body).map_err(|e| error(StatusCode::BAD_REQUEST, format!("the request body is not JSON: {e}")))
}

fn settings_of(value: Value) -> Result<Settings, Response> {
    let s = Settings::from_json(value).map_err(|e| error(StatusCode::BAD_REQUEST, e))?;
    s.check().map_err(|e| error(StatusCode::BAD_REQUEST, e))?;
    Ok(s)
}

fn parse_id(id: &str) -> Option<u64> {
    id.parse().ok()
}

/// The defaults, the choices and the bounds the page builds its controls from.
async fn about(State(p): Sessions) -> Response {
    Json(json!({
        "defaults": Settings::default(),
        "datasets": settings::DATASETS,
        "max": { "layers": settings::MAX_LAYERS, "neurons": settings::MAX_NEURONS, "batch_size": settings::MAX_BATCH,
                 "z_dim": settings::MAX_Z, "d_steps": settings::MAX_D_STEPS, "points": settings::MAX_DRAWN },
        "sessions": { "running": p.len(), "max": p.limits().max_sessions },
        "max_steps_per_s": p.limits().max_steps_per_s,
    }))
    .into_response()
}

/// `POST /api/playground/sessions` with the settings (or none: the defaults) → `{"id": N}`.
async fn open(State(p): Sessions, headers: HeaderMap, body: Body) -> Response {
    let settings = match json_body(&headers, body).and_then(settings_of) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match p.open(settings) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        // The cap is a limit the client meets, not a fault of the server: 429, as a rate limit.
        Err(e @ NotOpened::Full { .. }) => error(StatusCode::TOO_MANY_REQUESTS, e),
        Err(e @ NotOpened::Failed(_)) => error(StatusCode::BAD_REQUEST, e),
    }
}

async fn close(State(p): Sessions, Checked(UrlPath(id)): Checked<UrlPath<String>>) -> Response {
    match parse_id(&id).is_some_and(|n| p.close(n)) {
        true => StatusCode::NO_CONTENT.into_response(),
        false => no_session(&id),
    }
}

/// The session's frames: the latest at once, then each new one, until the page goes away or the
/// session ends.
async fn frames(State(p): Sessions, Checked(UrlPath(id)): Checked<UrlPath<String>>) -> Response {
    let Some(rx) = parse_id(&id).and_then(|n| p.frames(n)) else {
        return no_session(&id);
    };
    let stream = futures_util::stream::unfold((rx, true), |(mut rx, first)| async move {
        if !first {
            rx.changed().await.ok()?;
        }
        let frame = rx.borrow_and_update().clone();
        Some((Ok::<Event, Infallible>(Event::default().data(&*frame)), (rx, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(5))).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandBody {
    action: String,
    #[serde(default)]
    settings: Option<Value>,
    #[serde(default)]
    slow: Option<bool>,
}

/// `{"action": "play" | "pause" | "step" | "d_step" | "g_step" | "slow" | "reset", …}`.
async fn command(State(p): Sessions, Checked(UrlPath(id)): Checked<UrlPath<String>>, headers: HeaderMap, body: Body) -> Response {
    let Some(n) = parse_id(&id) else {
        return no_session(&id);
    };
    let body: CommandBody =
        match json_body(&headers, body).and_then(|v| serde_json::from_value(v).map_err(|e| error(StatusCode::BAD_REQUEST, format!("a command is {{\"action\": …}}: {e}")))) {
            Ok(b) => b,
            Err(r) => return r,
        };
    // Settings sent with any action are checked (only `reset` applies them).
    let settings = match body.settings.map(settings_of).transpose() {
        Ok(s) => s,
        Err(r) => return r,
    };
    let command = match body.action.as_str() {
        "play" => Command::Play,
        "pause" => Command::Pause,
        "step" => Command::Step(StepPart::Full),
        "d_step" => Command::Step(StepPart::Critic),
        "g_step" => Command::Step(StepPart::Generator),
        "slow" => Command::Slow(body.slow.unwrap_or(true)),
        "reset" => Command::Reset(settings.unwrap_or_default()),
        other => {
            return error(StatusCode::BAD_REQUEST, format!("unknown action `{other}`; expected play, pause, step, d_step, g_step, slow or reset"));
        }
    };
    match p.send(n, command) {
        Ok(()) => Json(json!({ "ok": true })).into_response(),
        Err(Refused::NoSession) => no_session(&id),
        Err(Refused::Busy) => error(StatusCode::TOO_MANY_REQUESTS, "the session has not taken the commands before this one yet; wait for its next frame"),
    }
}

async fn save(State(p): Sessions, Checked(UrlPath(id)): Checked<UrlPath<String>>, headers: HeaderMap, body: Body) -> Response {
    match json_body(&headers, body) {
        Ok(v) if v.is_object() => {}
        Ok(_) => return error(StatusCode::BAD_REQUEST, "the body of a save is empty or a JSON object"),
        Err(r) => return r,
    }
    let Some(n) = parse_id(&id) else {
        return no_session(&id);
    };
    match tokio::task::spawn_blocking(move || p.save(n)).await {
        Ok(Ok(run)) => Json(json!({ "run": run })).into_response(),
        Ok(Err(e)) => error(StatusCode::CONFLICT, e),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "saving failed"),
    }
}

#[derive(Deserialize)]
struct MinimaxQuery {
    x0: Option<f64>,
    y0: Option<f64>,
    lr: Option<f64>,
    steps: Option<usize>,
}

const MAX_MINIMAX_STEPS: usize = 2000;

/// Both trajectories of min_x max_y x·y from (x0, y0) (`eval::minimax`).
async fn minimax(Checked(Query(q)): Checked<Query<MinimaxQuery>>) -> Response {
    let (x0, y0, lr, steps) = (q.x0.unwrap_or(1.0), q.y0.unwrap_or(1.0), q.lr.unwrap_or(0.1), q.steps.unwrap_or(200));
    if ![x0, y0].iter().all(|v| v.is_finite() && v.abs() <= 10.0) {
        return error(StatusCode::BAD_REQUEST, "x0 and y0: expected numbers within ±10");
    }
    if !(lr.is_finite() && lr > 0.0 && lr <= 1.0) {
        return error(StatusCode::BAD_REQUEST, format!("lr: expected a number in (0, 1], got {lr}"));
    }
    if steps == 0 || steps > MAX_MINIMAX_STEPS {
        return error(StatusCode::BAD_REQUEST, format!("steps: expected 1 to {MAX_MINIMAX_STEPS}, got {steps}"));
    }
    Json(json!({
        "alternating": trajectory(Scheme::Alternating, x0, y0, lr, steps),
        "simultaneous": trajectory(Scheme::Simultaneous, x0, y0, lr, steps),
    }))
    .into_response()
}
