//! The dashboard's error answers: a status and `{"error": "…"}` saying what was wrong.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};

pub fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(serde_json::json!({ "error": message.to_string() }))).into_response()
}
