//! One HTML error page for the UI, one JSON error envelope for the API.
//! Server errors are logged and never echoed to the client.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cnadesk_core::FieldError;
use cnadesk_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::views::{render, Layout};

/// An error shown as an HTML page.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 404.
    #[error("This page does not exist, or you may not see it.")]
    NotFound,
    /// 403.
    #[error("You may not do this.")]
    Forbidden,
    /// 403 on a failed anti-forgery check.
    #[error("This form has expired or was not sent from this site. Go back, reload the page and send it again.")]
    Csrf,
    /// 422 with an explanation.
    #[error("{0}")]
    Invalid(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 410.
    #[error("{0}")]
    Gone(String),
    /// 429, with the seconds until a retry can succeed (sent as `Retry-After`).
    #[error("Too many attempts. Wait a few minutes and try again.")]
    TooManyRequests(u64),
    /// 500: logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
    /// 503: the database cannot store anything now (the reason is logged,
    /// not shown); nothing of the request was kept, and it may be sent again.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// Seconds a client is asked to wait (`Retry-After`) when the desk cannot
/// store anything for now.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 30;

impl AppError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::Csrf => StatusCode::FORBIDDEN,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Gone(_) => StatusCode::GONE,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<cnadesk_app::accounts::HashFailed> for AppError {
    fn from(e: cnadesk_app::accounts::HashFailed) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => AppError::NotFound,
            StoreError::Conflict(m) => AppError::Conflict(format!("{m}.")),
            StoreError::Rejected(m) => AppError::Invalid(m),
            StoreError::SetupTokenInvalid => AppError::Gone(e.to_string()),
            StoreError::Database(m) => AppError::Internal(m),
            StoreError::Unavailable(m) => AppError::Unavailable(m),
        }
    }
}

#[derive(Clone, Debug, Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    message: String,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "request failed");
                "Something went wrong on our side. It has been logged; please try again later."
                    .to_owned()
            }
            AppError::Unavailable(reason) => {
                log_unavailable(reason);
                "The desk cannot store anything right now, so nothing you sent has been kept. Please try again in a minute.".to_owned()
            }
            other => other.to_string(),
        };
        let page = ErrorPage {
            layout: Layout {
                cna_name: "cnadesk".into(),
                title: status.canonical_reason().unwrap_or("Error").into(),
                ..Layout::default()
            },
            status: status.as_u16(),
            message,
        };
        let mut response = render(status, &page);
        // The router's `error_pages` renders the page again in the desk's
        // own layout (the CNA's name, the demo banner): it needs the state,
        // which an error does not have.
        response.extensions_mut().insert(ErrorShown(page));
        match self {
            AppError::TooManyRequests(secs) => with_retry_after(response, secs),
            AppError::Unavailable(_) => unavailable(response),
            _ => response,
        }
    }
}

/// The error page a response shows (a response extension).
#[derive(Clone, Debug)]
struct ErrorShown(ErrorPage);

/// Middleware: an error page, rendered where the state is unknown, is
/// rendered again with the desk's layout: the CNA's name from the
/// configuration instead of the software's, and the demo banner.
pub(crate) async fn error_pages(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(req).await;
    let Some(ErrorShown(page)) = response.extensions().get::<ErrorShown>().cloned() else {
        return response;
    };
    let page = ErrorPage {
        layout: Layout::public(&state, &page.layout.title, ""),
        ..page
    };
    let (mut parts, _) = response.into_parts();
    let fresh = render(
        StatusCode::from_u16(page.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        &page,
    );
    // The new body replaces the old one, which may have been compressed.
    for stale in [
        axum::http::header::CONTENT_ENCODING,
        axum::http::header::CONTENT_LENGTH,
        axum::http::header::ETAG,
    ] {
        parts.headers.remove(stale);
    }
    let (fresh_parts, body) = fresh.into_parts();
    for (name, value) in &fresh_parts.headers {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, body)
}

/// What a `429` says when its cause cannot tell a better time: one minute.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 60;

/// `response` with a `Retry-After` header of `secs` seconds (at least one).
pub fn with_retry_after(mut response: Response, secs: u64) -> Response {
    response.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(secs.max(1)),
    );
    response
}

/// `response` (a 503) with the `Retry-After` every 503 of the desk sends:
/// [`UNAVAILABLE_RETRY_AFTER_SECS`].
pub fn unavailable(response: Response) -> Response {
    with_retry_after(response, UNAVAILABLE_RETRY_AFTER_SECS)
}

/// Logs why the desk answered 503 ([`cnadesk_store::StoreError::Unavailable`]):
/// the one log line of every such answer, page, form or API.
pub fn log_unavailable(reason: &str) {
    tracing::error!(%reason, "the database cannot store anything; answered 503");
}

/// The JSON error envelope of the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorBody {
    /// The error.
    pub error: ApiErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorDetail {
    /// HTTP status.
    pub status: u16,
    /// Stable machine-readable code.
    pub code: String,
    /// A sentence for a human.
    pub message: String,
    /// Per-field problems (for `invalid_fields`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<ApiFieldError>,
}

/// A problem with one field.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiFieldError {
    /// The field (a dotted path for nested fields, e.g. `attachments.0.content_base64`).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// An API error.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: Vec<ApiFieldError>,
    retry_after_secs: Option<u64>,
}

impl ApiError {
    /// A new error.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: Vec::new(),
            retry_after_secs: None,
        }
    }

    /// Tells the client to retry after `secs` seconds (`Retry-After`). A
    /// `429` without it says [`DEFAULT_RETRY_AFTER_SECS`].
    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// 422 with field errors.
    pub fn fields(errors: Vec<FieldError>) -> Self {
        let n = errors.len();
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid_fields",
            message: if n == 1 {
                "1 field is invalid".into()
            } else {
                format!("{n} fields are invalid")
            },
            fields: errors
                .into_iter()
                .map(|e| ApiFieldError {
                    field: e.field,
                    message: e.message,
                })
                .collect(),
            retry_after_secs: None,
        }
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Database(m) => {
                tracing::error!(error = %m, "api request failed");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "internal error; it has been logged",
                )
            }
            StoreError::Unavailable(reason) => {
                log_unavailable(&reason);
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the desk cannot store anything right now; nothing of this request was kept; retry later",
                )
            }
            StoreError::NotFound(m) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{m} not found"))
            }
            StoreError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            other => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "rejected",
                other.to_string(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self
            .retry_after_secs
            .or((self.status == StatusCode::TOO_MANY_REQUESTS).then_some(DEFAULT_RETRY_AFTER_SECS))
            .or((self.status == StatusCode::SERVICE_UNAVAILABLE)
                .then_some(UNAVAILABLE_RETRY_AFTER_SECS));
        let status = self.status;
        let mut response = (
            self.status,
            Json(ApiErrorBody {
                error: ApiErrorDetail {
                    status: self.status.as_u16(),
                    code: self.code.to_owned(),
                    message: self.message,
                    fields: self.fields,
                },
            }),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750: say which scheme the API takes.
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"cnadesk\""),
            );
        }
        match retry_after {
            Some(secs) => with_retry_after(response, secs),
            None => response,
        }
    }
}

#[cfg(test)]
mod retry_after_tests {
    use super::*;

    fn retry_after(response: &Response) -> Option<&str> {
        response
            .headers()
            .get(axum::http::header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap())
    }

    #[test]
    fn every_429_says_when_to_retry() {
        let page = AppError::TooManyRequests(42).into_response();
        assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry_after(&page), Some("42"));
        let api = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "slow down")
            .retry_after(7)
            .into_response();
        assert_eq!(retry_after(&api), Some("7"));
        let bare = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "slow down")
            .into_response();
        assert_eq!(retry_after(&bare), Some("60"), "a sensible bound");
        let other = ApiError::new(StatusCode::NOT_FOUND, "not_found", "no").into_response();
        assert_eq!(retry_after(&other), None);
        assert_eq!(retry_after(&AppError::NotFound.into_response()), None);
    }

    #[test]
    fn every_503_says_when_to_retry() {
        let thirty = UNAVAILABLE_RETRY_AFTER_SECS.to_string();
        let page = AppError::Unavailable("disk full".into()).into_response();
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after(&page), Some(thirty.as_str()));
        let api = ApiError::from(StoreError::Unavailable("disk full".into())).into_response();
        assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after(&api), Some(thirty.as_str()));
        let bare = unavailable(StatusCode::SERVICE_UNAVAILABLE.into_response());
        assert_eq!(retry_after(&bare), Some(thirty.as_str()));
    }
}
