//! The JSON API (`/api/v1`) and its OpenAPI document.
//!
//! - `v1::reports`: report intake, without an account.
//! - `v1::team`: the team's endpoints, under a personal API token
//!   ([`ApiMember`]), each a thin call of the use case the pages call.

mod bearer;
mod json;
pub mod v1;

pub use bearer::ApiMember;
pub use v1::*;

use axum::response::IntoResponse;
use axum::Json;
use utoipa::OpenApi;

use crate::error::{ApiErrorBody, ApiErrorDetail, ApiFieldError};
use v1::reports::{AttachmentRequest, ReportCreated, ReportRequest};

/// The OpenAPI document of the JSON API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "cnadesk API",
        description = "Vulnerability intake and case handling for a CVE Numbering Authority. \
            Reports are submitted without an account. The team's endpoints take a personal \
            API token (`Authorization: Bearer cnd_…`, made on the account page) and act as \
            its member, within the token's scopes.",
        license(name = "Apache-2.0")
    ),
    paths(
        v1::reports::create_report,
        v1::team::me,
        v1::team::list_reports,
        v1::team::get_report,
        v1::team::accept_report,
        v1::team::close_report,
        v1::team::decide_scope,
        v1::team::list_cases,
        v1::team::get_case,
        v1::team::record_versions,
        v1::team::check_record,
        v1::team::save_record,
        v1::team::approve_version,
        v1::team::publish_version,
        v1::team::reserve_ids,
        v1::team::case_cve,
        v1::team::case_coordination,
        v1::team::set_embargo,
        v1::team::invite_vendor,
        crate::public::health::healthz,
        crate::public::health::readyz
    ),
    components(schemas(
        ReportRequest, AttachmentRequest, ReportCreated, ApiErrorBody, ApiErrorDetail, ApiFieldError,
        v1::team::Me, v1::team::ReportItem, v1::team::ReportDetail, v1::team::CaseItem, v1::team::VersionItem,
        v1::team::FindingItem, v1::team::CheckResult, v1::team::SavedVersion, v1::team::ApprovalItem,
        v1::team::CveIdItem, v1::team::JobItem, v1::team::CaseCve, v1::team::ParticipantItem,
        v1::team::CaseCoordination, v1::team::Invited, v1::team::AcceptRequest, v1::team::CloseRequest,
        v1::team::ScopeRequest, v1::team::RecordRequest, v1::team::ReserveBody, v1::team::EmbargoRequest,
        v1::team::InviteRequest
    )),
    modifiers(&TokenScheme),
    tags(
        (name = "reports", description = "Submitting vulnerability reports"),
        (name = "team", description = "The team's work: triage, records, CVE IDs, coordination (personal API token)"),
        (name = "health", description = "Liveness and readiness")
    )
)]
pub struct ApiDoc;

/// Declares the `token` security scheme (HTTP bearer).
struct TokenScheme;

impl utoipa::Modify for TokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A personal API token (`cnd_…`); its scopes: read, triage, records, cve, coordination.",
                    ))
                    .build(),
            ),
        );
    }
}

/// `GET /api/openapi.json`
pub async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
