//! The dashboard's error answers: a status and `{"error": "…"}` saying what was wrong, for the
//! handlers' own refusals and for the requests axum's extractors reject (a malformed query or
//! path), as `/api/openapi.json` documents them.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};

pub fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(serde_json::json!({ "error": message.to_string() }))).into_response()
}

/// A rejected path or query parameter (its status, its text) as an error answer.
pub fn rejected(status: StatusCode, text: String) -> Response {
    error(status, format!("bad request: {text}"))
}
