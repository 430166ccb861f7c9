//! The dashboard's error answers: a status and `{"error": "…"}` saying what was wrong, for the
//! handlers' own refusals and for the requests axum's extractors reject (a malformed query or
//! path), as `/api/openapi.json` documents them.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Json, Response};

pub fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(serde_json::json!({ "error": message.to_string() }))).into_response()
}

/// An extractor (`Path`, `Query`) whose rejection answers like every other refusal: its status,
/// and its text as `{"error": "bad request: …"}` instead of axum's plain text.
pub struct Checked<E>(pub E);

impl<S: Send + Sync, E: FromRequestParts<S>> FromRequestParts<S> for Checked<E> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        let plain = match E::from_request_parts(parts, state).await {
            Ok(e) => return Ok(Checked(e)),
            Err(rejection) => rejection.into_response(),
        };
        let status = plain.status();
        // A rejection's text is a short line; the cap only guards the read.
        let text = axum::body::to_bytes(plain.into_body(), 64 << 10).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        Err(error(status, format!("bad request: {text}")))
    }
}
