//! `POST /api/v1/reports`: a vulnerability report, without an account.

use crate::api::json::read_json;
use crate::error::ApiErrorBody;
use crate::forms::{sanitize_content_type, sanitize_filename};
use crate::public::{intake, IntakeError};
use crate::security::ClientIp;
use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use cnadesk_core::{FieldError, ReportInput};
use cnadesk_store::{Channel, NewAttachment};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
    /// The first version with the fix, if you know it.
    #[serde(default)]
    pub fixed_version: String,
    /// The weakness as a CWE ID (`CWE-79`), if you know it.
    #[serde(default)]
    pub cwe: String,
    /// A CVSS 3.1 or 4.0 vector, if you scored it.
    #[serde(default)]
    pub cvss_vector: String,
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
                fixed_version: self.fixed_version,
                cwe: self.cwe,
                cvss_vector: self.cvss_vector,
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
    let request: ReportRequest = read_json(&state, &headers, body)?;
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
