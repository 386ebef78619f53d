//! JSON bodies of the API: read with the field named in every error.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use cnadesk_core::FieldError;
use serde::de::DeserializeOwned;

use crate::{ApiError, AppState};

/// Reads a JSON body: `application/json` (or `+json`), within the body
/// limit, UTF-8, one object, every field problem named by its path.
pub(crate) fn read_json<T: DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            let essence = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        })
        .unwrap_or(false);
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with `Content-Type: application/json`",
        ));
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "the body is larger than {} bytes",
                    state.config.max_body_bytes
                ),
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", e.body_text())
        }
    })?;
    if std::str::from_utf8(&body).is_err() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_utf8",
            "the body is not valid UTF-8",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(&body);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("unexpected data after the JSON object: {e}"),
        )
    })?;
    Ok(value)
}

/// A JSON body as an extractor (see [`read_json`]).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state).await;
        read_json(state, &headers, body).map(ApiJson)
    }
}

/// Names the field behind a deserialization error, using the path that
/// `serde_path_to_error` tracked.
fn json_error(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("the body is not valid JSON: {inner}"),
        ),
        serde_json::error::Category::Io => {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", inner.to_string())
        }
        serde_json::error::Category::Data => {
            let message = inner.to_string();
            // Missing and unknown fields are reported by serde at the parent
            // path; pull the field name out of the message.
            let field = if let Some(name) = between(&message, "missing field `", "`") {
                join_path(&path, name)
            } else if let Some(name) = between(&message, "unknown field `", "`") {
                // The tracked path already ends at the unknown field.
                if path.rsplit('.').next() == Some(name) {
                    path.clone()
                } else {
                    join_path(&path, name)
                }
            } else if path == "." {
                "body".to_owned()
            } else {
                path.clone()
            };
            let human = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            ApiError::fields(vec![FieldError::new(&field, human)])
        }
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s[from..].find(end)?;
    Some(&s[from..from + len])
}

fn join_path(parent: &str, name: &str) -> String {
    if parent == "." || parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}
