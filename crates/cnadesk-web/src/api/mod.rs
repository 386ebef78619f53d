//! The JSON API (`/api/v1`) and its OpenAPI document.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use cnadesk_core::{FieldError, ReportInput};
use cnadesk_store::{Channel, NewAttachment};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::error::{ApiErrorBody, ApiErrorDetail, ApiFieldError};
use crate::forms::{sanitize_content_type, sanitize_filename};
use crate::public::{intake, IntakeError};
use crate::security::ClientIp;
use crate::{ApiError, AppState};

/// A vulnerability report submitted through the API.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportRequest {
    /// One line that names the problem.
    #[serde(default)]
    #[schema(required = true, example = "Message Carbons sender not checked")]
    pub title: String,
    /// Your name (optional).
    #[serde(default)]
    pub reporter_name: String,
    /// Your e-mail address (optional; the tracking link works without it).
    #[serde(default)]
    pub reporter_email: String,
    /// Stay anonymous: no credit and no name on record.
    #[serde(default)]
    pub anonymous: bool,
    /// The affected software.
    #[serde(default)]
    #[schema(required = true, example = "Prosody")]
    pub product: String,
    /// Affected versions.
    #[serde(default)]
    pub versions: String,
    /// The vulnerability (at least 20 characters).
    #[serde(default)]
    #[schema(required = true)]
    pub description: String,
    /// What an attacker gains.
    #[serde(default)]
    pub impact: String,
    /// How to reproduce it.
    #[serde(default)]
    pub reproduction: String,
    /// Whether it is already public.
    #[serde(default)]
    pub already_public: bool,
    /// Where it is public (required when `already_public`).
    #[serde(default)]
    pub public_where: String,
    /// Whether you asked another CNA.
    #[serde(default)]
    pub asked_other_cna: bool,
    /// Which CNA (required when `asked_other_cna`).
    #[serde(default)]
    pub other_cna: String,
    /// How you wish to be credited.
    #[serde(default)]
    pub credit: String,
    /// Your OpenPGP public key, ASCII-armored.
    #[serde(default)]
    pub pgp_key: String,
    /// Files (proof of concept, logs).
    #[serde(default)]
    pub attachments: Vec<AttachmentRequest>,
}

/// A file attached to an API report.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRequest {
    /// File name.
    pub filename: String,
    /// Media type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The bytes, base64 (standard alphabet, padded).
    pub content_base64: String,
}

/// The answer to a stored report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportCreated {
    /// The report's identifier.
    #[schema(example = "REP-1")]
    pub id: String,
    /// The reporter's private tracking page. Keep it: it is shown only once.
    pub tracking_url: String,
    /// The token inside the tracking URL.
    pub tracking_token: String,
    /// The report's state.
    #[schema(example = "new")]
    pub state: String,
}

impl ReportRequest {
    fn into_parts(self) -> (ReportInput, Vec<AttachmentRequest>) {
        (
            ReportInput {
                title: self.title,
                reporter_name: self.reporter_name,
                reporter_email: self.reporter_email,
                anonymous: self.anonymous,
                product: self.product,
                versions: self.versions,
                description: self.description,
                impact: self.impact,
                reproduction: self.reproduction,
                already_public: self.already_public,
                public_where: self.public_where,
                asked_other_cna: self.asked_other_cna,
                other_cna: self.other_cna,
                credit: self.credit,
                pgp_key: self.pgp_key,
            },
            self.attachments,
        )
    }
}

fn decode_attachments(
    state: &AppState,
    files: Vec<AttachmentRequest>,
) -> Result<Vec<NewAttachment>, Vec<FieldError>> {
    let mut errors = Vec::new();
    let max = state.config.max_attachments;
    if files.len() > max {
        errors.push(FieldError::new(
            "attachments",
            format!("at most {max} files can be attached"),
        ));
    }
    let mut out = Vec::new();
    for (i, f) in files.into_iter().enumerate().take(max) {
        match base64::engine::general_purpose::STANDARD.decode(f.content_base64.trim()) {
            Ok(data) if data.len() > state.config.max_attachment_bytes => {
                errors.push(FieldError::new(
                    &format!("attachments.{i}.content_base64"),
                    format!("is larger than {} bytes", state.config.max_attachment_bytes),
                ))
            }
            Ok(data) => out.push(NewAttachment {
                filename: sanitize_filename(&f.filename),
                content_type: sanitize_content_type(f.content_type.as_deref()),
                data,
            }),
            Err(e) => errors.push(FieldError::new(
                &format!("attachments.{i}.content_base64"),
                format!("is not valid base64 ({e})"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
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

/// Submit a vulnerability report.
///
/// No account is needed. The answer carries the private tracking URL where
/// the reporter follows the report and talks with the team.
#[utoipa::path(
    post,
    path = "/api/v1/reports",
    tag = "reports",
    request_body(content = ReportRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Stored", body = ReportCreated),
        (status = 400, description = "The body is not valid JSON or not UTF-8", body = ApiErrorBody),
        (status = 413, description = "The body is too large", body = ApiErrorBody),
        (status = 415, description = "The body is not `application/json`", body = ApiErrorBody),
        (status = 422, description = "Fields are missing or invalid; each is named", body = ApiErrorBody),
        (status = 429, description = "Too many reports from this address; `Retry-After` says when to send again", body = ApiErrorBody),
        (status = 503, description = "The desk cannot store reports right now (e.g. its disk is full): the report was NOT received; send it again after `Retry-After` seconds", body = ApiErrorBody),
    )
)]
pub async fn create_report(
    State(state): State<AppState>,
    ip: ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
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
            "send the report as JSON with `Content-Type: application/json`",
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
    let request: ReportRequest = serde_path_to_error::deserialize(&mut de).map_err(json_error)?;
    de.end().map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("unexpected data after the JSON object: {e}"),
        )
    })?;
    let (input, files) = request.into_parts();
    let mut errors = input.validate().err().unwrap_or_default();
    let attachments = match decode_attachments(&state, files) {
        Ok(a) => a,
        Err(mut e) => {
            errors.append(&mut e);
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    match intake(&state, &input, attachments, Channel::Api, ip).await {
        Ok((report, token)) => Ok((
            StatusCode::CREATED,
            Json(ReportCreated {
                id: report.id.to_string(),
                tracking_url: state.url(&format!("/track/{token}")),
                tracking_token: token,
                state: report.state.as_str().to_owned(),
            }),
        )
            .into_response()),
        Err(IntakeError::Invalid(errors)) => Err(ApiError::fields(errors)),
        Err(IntakeError::RateLimited(secs)) => Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many reports from this address in the last hour",
        )
        .retry_after(secs)),
        Err(IntakeError::Store(e)) => Err(e.into()),
    }
}

/// The OpenAPI document of the JSON API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cnadesk API",
        description = "Vulnerability intake and case handling for a CVE Numbering Authority.",
        license(name = "Apache-2.0")
    ),
    paths(create_report, crate::health::healthz, crate::health::readyz),
    components(schemas(ReportRequest, AttachmentRequest, ReportCreated, ApiErrorBody, ApiErrorDetail, ApiFieldError)),
    tags(
        (name = "reports", description = "Submitting vulnerability reports"),
        (name = "health", description = "Liveness and readiness")
    )
)]
pub struct ApiDoc;

/// `GET /api/openapi.json`
pub async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
