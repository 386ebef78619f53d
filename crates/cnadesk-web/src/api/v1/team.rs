//! The team's JSON API: each endpoint a thin call of the use case the
//! pages call (`cnadesk_app`), under a personal API token with the scope
//! it needs. Times are RFC 3339 UTC.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cnadesk_app::casework::{self, CaseworkError};
use cnadesk_app::coordination::{self, EmbargoChangeError};
use cnadesk_app::cve::{self, CveError};
use cnadesk_app::records::{self, Draft, Findings};
use cnadesk_app::text::rfc3339;
use cnadesk_app::tokens::Scope;
use cnadesk_app::triage::{self, CloseChoice, ScopeChoice, TriageError};
use cnadesk_core::{CaseId, CaseState, CveId, FieldError, ReportId, ReportState};
use cnadesk_cve_workflow::WorkflowError;
use cnadesk_store::{
    Approval, Case, CaseFilter, CveIdEntry, CveIdFilter, EmbargoOutcome, Job, Participant,
    RecordVersion, Report, ReportFilter, ReportSummary,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::api::json::ApiJson;
use crate::api::ApiMember;
use crate::{ApiError, AppState};

// ---- answers ------------------------------------------------------------------------

/// Who a token acts as.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// `admin` or `member`.
    pub role: String,
    /// The token's name.
    pub token: String,
    /// The token's scopes.
    pub scopes: Vec<String>,
    /// When the token expires.
    pub token_expires_at: Option<String>,
}

/// A report in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportItem {
    /// `REP-1`.
    #[schema(example = "REP-1")]
    pub id: String,
    /// Title.
    pub title: String,
    /// Affected product as the reporter named it.
    pub product: String,
    /// `new`, `triaging`, `accepted`, `closed` …
    pub state: String,
    /// Why it was closed, when it was.
    pub close_reason: Option<String>,
    /// Received.
    pub received_at: String,
    /// Its case, once accepted (`CASE-1`).
    pub case: Option<String>,
    /// The reporter wrote last.
    pub awaiting_reply: bool,
}

impl From<&ReportSummary> for ReportItem {
    fn from(r: &ReportSummary) -> Self {
        ReportItem {
            id: r.id.to_string(),
            title: r.title.clone(),
            product: r.product.clone(),
            state: r.state.as_str().to_owned(),
            close_reason: r.close_reason.map(|c| c.as_str().to_owned()),
            received_at: rfc3339(r.created_at_ms),
            case: r.case_id.map(|c| c.to_string()),
            awaiting_reply: r.awaiting_reply,
        }
    }
}

/// A whole report.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReportDetail {
    /// `REP-1`.
    pub id: String,
    /// State.
    pub state: String,
    /// `form`, `api` or `email`.
    pub channel: String,
    /// Received.
    pub received_at: String,
    /// Why it was closed, when it was.
    pub close_reason: Option<String>,
    /// The report it duplicates.
    pub duplicate_of: Option<String>,
    /// The report's fields as received (checked).
    #[schema(value_type = Object)]
    pub fields: Value,
    /// Its case, once accepted.
    pub case: Option<String>,
}

/// A case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseItem {
    /// `CASE-1`.
    #[schema(example = "CASE-1")]
    pub id: String,
    /// Its report.
    pub report: String,
    /// Title.
    pub title: String,
    /// `triage`, `confirmed`, `fix_in_progress`, `published` …
    pub state: String,
    /// The member it is assigned to (their user id).
    pub assignee: Option<i64>,
    /// Why it went to them.
    pub assignment_reason: Option<String>,
    /// Its CVE ID, once chosen.
    pub cve_id: Option<String>,
    /// Opened.
    pub opened_at: String,
    /// Last change.
    pub updated_at: String,
}

impl From<&Case> for CaseItem {
    fn from(c: &Case) -> Self {
        CaseItem {
            id: c.id.to_string(),
            report: c.report_id.to_string(),
            title: c.title.clone(),
            state: c.state.as_str().to_owned(),
            assignee: c.assignee.map(|u| u.0),
            assignment_reason: c.assignment_reason.clone(),
            cve_id: c.cve_id.as_ref().map(ToString::to_string),
            opened_at: rfc3339(c.created_at_ms),
            updated_at: rfc3339(c.updated_at_ms),
        }
    }
}

/// A saved version of a case's CVE record.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionItem {
    /// 1, 2, …
    pub version: i64,
    /// The CVE ID it is for.
    pub cve_id: String,
    /// SHA-256 of the stored document (what an approval names).
    pub sha256: String,
    /// Schema errors when saved.
    pub schema_errors: i64,
    /// Lint errors when saved.
    pub lint_errors: i64,
    /// Lint warnings when saved.
    pub lint_warnings: i64,
    /// What changed.
    pub note: String,
    /// The author's user id.
    pub author: i64,
    /// Saved.
    pub saved_at: String,
    /// The CNA container.
    #[schema(value_type = Object)]
    pub container: Value,
}

impl From<&RecordVersion> for VersionItem {
    fn from(v: &RecordVersion) -> Self {
        VersionItem {
            version: v.version,
            cve_id: v.cve_id.to_string(),
            sha256: v.sha256.clone(),
            schema_errors: v.schema_errors,
            lint_errors: v.lint_errors,
            lint_warnings: v.lint_warnings,
            note: v.note.clone(),
            author: v.author.0,
            saved_at: rfc3339(v.created_at_ms),
            container: serde_json::from_str(&v.document).unwrap_or(Value::Null),
        }
    }
}

/// One finding of a check.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingItem {
    /// `error` or `warning`.
    pub severity: String,
    /// Where in the record (JSON pointer).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// The rule (schema keyword, or lint id and CNA rule).
    pub rule: String,
}

/// The result of checking a record.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResult {
    /// No schema error and no lint error.
    pub publishable: bool,
    /// In words.
    pub summary: String,
    /// Schema errors.
    pub schema_errors: usize,
    /// Lint errors.
    pub lint_errors: usize,
    /// Lint warnings.
    pub lint_warnings: usize,
    /// Every finding.
    pub findings: Vec<FindingItem>,
}

impl From<&Findings> for CheckResult {
    fn from(f: &Findings) -> Self {
        CheckResult {
            publishable: f.publishable(),
            summary: f.summary(),
            schema_errors: f.schema_errors,
            lint_errors: f.lint_errors,
            lint_warnings: f.lint_warnings,
            findings: f
                .all()
                .map(|i| FindingItem {
                    severity: i.severity.to_owned(),
                    pointer: i.pointer.clone(),
                    message: i.message.clone(),
                    rule: i.rule.clone(),
                })
                .collect(),
        }
    }
}

/// A saved version with its check.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedVersion {
    /// The version.
    pub version: VersionItem,
    /// Its check.
    pub check: CheckResult,
}

/// An approval.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApprovalItem {
    /// The version approved.
    pub version: i64,
    /// SHA-256 of exactly what was approved.
    pub sha256: String,
    /// The approver's user id.
    pub approver: i64,
    /// When.
    pub approved_at: String,
}

impl From<&Approval> for ApprovalItem {
    fn from(a: &Approval) -> Self {
        ApprovalItem {
            version: a.version,
            sha256: a.sha256.clone(),
            approver: a.approver.0,
            approved_at: rfc3339(a.approved_at_ms),
        }
    }
}

/// A CVE ID.
#[derive(Debug, Serialize, ToSchema)]
pub struct CveIdItem {
    /// `CVE-2026-1234`.
    pub cve_id: String,
    /// `reserved`, `published` or `rejected`.
    pub state: String,
    /// Its case.
    pub case: Option<String>,
    /// Reserved.
    pub reserved_at: String,
    /// Published.
    pub published_at: Option<String>,
    /// The record version published.
    pub published_version: Option<i64>,
}

impl From<&CveIdEntry> for CveIdItem {
    fn from(e: &CveIdEntry) -> Self {
        CveIdItem {
            cve_id: e.cve_id.to_string(),
            state: e.state.as_str().to_owned(),
            case: e.case_id.map(|c| c.to_string()),
            reserved_at: rfc3339(e.reserved_at_ms),
            published_at: e.published_at_ms.map(rfc3339),
            published_version: e.published_version,
        }
    }
}

/// A call to CVE Services, queued and run by the desk.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobItem {
    /// Its number.
    pub id: i64,
    /// `cve.reserve`, `cve.publish` …
    pub kind: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// The last error, if any.
    pub last_error: String,
    /// What CVE Services answered, once done.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
}

impl From<&Job> for JobItem {
    fn from(j: &Job) -> Self {
        JobItem {
            id: j.id,
            kind: j.kind.as_str().to_owned(),
            state: j.state.as_str().to_owned(),
            attempts: j.attempts,
            last_error: j.last_error.clone(),
            result: j.result.clone(),
        }
    }
}

/// A case's CVE IDs, approvals and calls to CVE Services.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseCve {
    /// The IDs reserved for it.
    pub ids: Vec<CveIdItem>,
    /// Approvals of its record versions, newest first.
    pub approvals: Vec<ApprovalItem>,
    /// Its calls to CVE Services, newest first.
    pub jobs: Vec<JobItem>,
}

/// A vendor taking part in a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct ParticipantItem {
    /// Its number.
    pub id: i64,
    /// The contact's address.
    pub email: String,
    /// The contact's name.
    pub contact_name: String,
    /// Registry keys of its products.
    pub products: Vec<String>,
    /// Invited.
    pub invited_at: String,
    /// The invitation was accepted.
    pub accepted_at: Option<String>,
    /// The embargo terms were acknowledged.
    pub acknowledged_at: Option<String>,
}

impl From<&Participant> for ParticipantItem {
    fn from(p: &Participant) -> Self {
        ParticipantItem {
            id: p.id,
            email: p.email.clone(),
            contact_name: p.contact_name.clone(),
            products: p.products.clone(),
            invited_at: rfc3339(p.invited_at_ms),
            accepted_at: p.accepted_at_ms.map(rfc3339),
            acknowledged_at: p.acknowledged_at_ms.map(rfc3339),
        }
    }
}

/// A case's coordination: embargo and vendors.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseCoordination {
    /// When the embargo ends, if one is set.
    pub embargo_ends_at: Option<String>,
    /// Its reason.
    pub embargo_reason: Option<String>,
    /// It was lifted.
    pub embargo_lifted_at: Option<String>,
    /// A change waiting for vendors' consent: its end.
    pub embargo_proposed_end: Option<String>,
    /// The vendors.
    pub participants: Vec<ParticipantItem>,
}

/// An invited vendor with its personal link (shown once).
#[derive(Debug, Serialize, ToSchema)]
pub struct Invited {
    /// The participant.
    pub participant: ParticipantItem,
    /// The invitation link (also e-mailed when mail is configured).
    pub invitation_url: String,
}

// ---- requests --------------------------------------------------------------------

/// `?state=&q=&limit=`
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this state.
    #[serde(default)]
    pub state: Option<String>,
    /// Only items whose title or product contains this (any case).
    #[serde(default)]
    pub q: Option<String>,
    /// At most this many (default 100, at most 1000).
    #[serde(default)]
    pub limit: Option<usize>,
}

impl ListQuery {
    fn limit(&self) -> usize {
        self.limit.unwrap_or(100).clamp(1, 1000)
    }

    fn matches(&self, texts: &[&str]) -> bool {
        match self.q.as_deref().map(str::trim) {
            None | Some("") => true,
            Some(q) => {
                let q = q.to_lowercase();
                texts.iter().any(|t| t.to_lowercase().contains(&q))
            }
        }
    }
}

/// Accept a report as a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// The case's title.
    pub title: String,
}

/// Close a report without a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseRequest {
    /// `duplicate`, `out_of_scope`, `not_a_vulnerability`, `spam` or `other`.
    pub reason: String,
    /// For a duplicate: the report it duplicates (`REP-12`).
    #[serde(default)]
    pub duplicate_of: String,
    /// A note.
    #[serde(default)]
    pub detail: String,
}

/// Decide a report's scope.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScopeRequest {
    /// `in_scope`, `refer` or `out_of_scope`.
    pub decision: String,
    /// The policy rule that decides it.
    #[serde(default)]
    pub rule: String,
    /// The CNA referred to (short name), for `refer`.
    #[serde(default)]
    pub referral: String,
    /// The product's registry key; absent: the proposal's; empty: none.
    #[serde(default)]
    pub product: Option<String>,
    /// Why (required when departing from the proposal).
    #[serde(default)]
    pub reason: String,
}

/// Check a record, or save it as a new version.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordRequest {
    /// The CVE ID (required to save).
    #[serde(default)]
    pub cve_id: String,
    /// A CNA container, `{"cnaContainer": …}`, or a whole CVE record.
    #[schema(value_type = Object)]
    pub container: Value,
    /// What changed (saving).
    #[serde(default)]
    pub note: String,
    /// The version this was edited from (0: none); saving on a stale base
    /// is refused with 409.
    #[serde(default)]
    pub based_on: i64,
}

/// Reserve CVE IDs for a case.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveBody {
    /// How many (1–1000).
    #[serde(default = "one")]
    pub amount: u32,
    /// The year of the IDs.
    pub year: i32,
    /// `sequential` (default), `non-sequential` or `priority`.
    #[serde(default)]
    pub batch: String,
}

fn one() -> u32 {
    1
}

/// Set or change a case's embargo.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbargoRequest {
    /// When it ends (RFC 3339, e.g. `2027-01-15T10:00:00Z`).
    pub ends_at: String,
    /// Why this date.
    pub reason: String,
}

/// Invite a vendor contact.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteRequest {
    /// The contact's address.
    pub email: String,
    /// The contact's name.
    #[serde(default)]
    pub contact_name: String,
    /// Registry keys of the products they answer for (rows of the case).
    pub products: Vec<String>,
}

// ---- helpers -------------------------------------------------------------------------

fn report_id(s: &str) -> Result<ReportId, ApiError> {
    s.parse().map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no report `{s}`"),
        )
    })
}

fn case_id(s: &str) -> Result<CaseId, ApiError> {
    s.parse()
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no case `{s}`")))
}

async fn the_case(state: &AppState, id: &str) -> Result<Case, ApiError> {
    let id = case_id(id)?;
    state
        .store
        .case(id)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("no case {id}")))
}

fn refused(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", message)
}

fn triage_error(e: TriageError) -> ApiError {
    match e {
        TriageError::Refused(m) => refused(m),
        TriageError::NotFound => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such report")
        }
        TriageError::Store(e) => e.into(),
    }
}

fn workflow_error(e: WorkflowError) -> ApiError {
    match e {
        WorkflowError::Store(cnadesk_store::StoreError::Rejected(m)) => refused(m),
        WorkflowError::Store(e) => e.into(),
        WorkflowError::Service(s) => ApiError::new(
            StatusCode::BAD_GATEWAY,
            "cve_services",
            cnadesk_cve_workflow::describe(&s),
        ),
        WorkflowError::Invalid(m) => refused(m),
    }
}

fn cve_error(e: CveError) -> ApiError {
    match e {
        CveError::NotConfigured(m) => ApiError::new(StatusCode::CONFLICT, "not_configured", m),
        CveError::Workflow(e) => workflow_error(e),
    }
}

fn created<T: Serialize>(body: T) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

// ---- endpoints ------------------------------------------------------------------------

/// Who this token acts as, and what it may do.
#[utoipa::path(
    get, path = "/api/v1/me", tag = "team",
    security(("token" = [])),
    responses(
        (status = 200, description = "The token's member and scopes", body = Me),
        (status = 401, description = "No token, or an unknown, expired or revoked one", body = crate::error::ApiErrorBody),
    )
)]
pub async fn me(member: ApiMember) -> Json<Me> {
    Json(Me {
        username: member.user.username.clone(),
        display_name: member.user.display_name.clone(),
        role: member.user.role.as_str().to_owned(),
        token: member.token.name.clone(),
        scopes: member.token.scopes.clone(),
        token_expires_at: member.token.expires_at_ms.map(rfc3339),
    })
}

/// Reports, newest first.
#[utoipa::path(
    get, path = "/api/v1/reports", tag = "team",
    security(("token" = ["read"])),
    params(ListQuery),
    responses(
        (status = 200, description = "Reports", body = Vec<ReportItem>),
        (status = 403, description = "The token lacks the `read` scope", body = crate::error::ApiErrorBody),
        (status = 422, description = "Unknown state", body = crate::error::ApiErrorBody),
    )
)]
pub async fn list_reports(
    State(state): State<AppState>,
    member: ApiMember,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<ReportItem>>, ApiError> {
    member.require(Scope::Read)?;
    let wanted = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<ReportState>()
                .map_err(|e| ApiError::fields(vec![FieldError::new("state", e)]))?,
        ),
    };
    let reports = state
        .store
        .list_reports(ReportFilter {
            state: wanted,
            ..Default::default()
        })
        .await?;
    Ok(Json(
        reports
            .iter()
            .filter(|r| q.matches(&[&r.title, &r.product, &r.id.to_string()]))
            .take(q.limit())
            .map(ReportItem::from)
            .collect(),
    ))
}

fn report_detail(report: &Report, case: Option<&Case>) -> ReportDetail {
    ReportDetail {
        id: report.id.to_string(),
        state: report.state.as_str().to_owned(),
        channel: report.channel.as_str().to_owned(),
        received_at: rfc3339(report.created_at_ms),
        close_reason: report.close_reason.map(|c| c.as_str().to_owned()),
        duplicate_of: report.duplicate_of.map(|r| r.to_string()),
        fields: serde_json::to_value(&report.fields).unwrap_or(Value::Null),
        case: case.map(|c| c.id.to_string()),
    }
}

/// One report.
#[utoipa::path(
    get, path = "/api/v1/reports/{id}", tag = "team",
    security(("token" = ["read"])),
    params(("id" = String, Path, description = "`REP-1` or `1`")),
    responses(
        (status = 200, description = "The report", body = ReportDetail),
        (status = 404, description = "No such report", body = crate::error::ApiErrorBody),
    )
)]
pub async fn get_report(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
) -> Result<Json<ReportDetail>, ApiError> {
    member.require(Scope::Read)?;
    let id = report_id(&id)?;
    let report = state.store.report(id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no report {id}"),
        )
    })?;
    let case = state.store.case_for_report(id).await?;
    Ok(Json(report_detail(&report, case.as_ref())))
}

/// Accept a report as a case (confirming its scope, assigning the case).
#[utoipa::path(
    post, path = "/api/v1/reports/{id}/accept", tag = "team",
    security(("token" = ["triage"])),
    params(("id" = String, Path, description = "`REP-1` or `1`")),
    request_body(content = AcceptRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "The new case", body = CaseItem),
        (status = 422, description = "Refused (the sentence says why)", body = crate::error::ApiErrorBody),
    )
)]
pub async fn accept_report(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AcceptRequest>,
) -> Result<Response, ApiError> {
    member.require(Scope::Triage)?;
    let id = report_id(&id)?;
    let case = triage::accept(&state, id, &body.title, &member.actor())
        .await
        .map_err(triage_error)?;
    // Assignment happened after the case was stored: read it back.
    let case = state.store.case(case.id).await?.unwrap_or(case);
    Ok(created(CaseItem::from(&case)))
}

/// Close a report without a case.
#[utoipa::path(
    post, path = "/api/v1/reports/{id}/close", tag = "team",
    security(("token" = ["triage"])),
    params(("id" = String, Path, description = "`REP-1` or `1`")),
    request_body(content = CloseRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The closed report", body = ReportDetail),
        (status = 422, description = "Refused (the sentence says why)", body = crate::error::ApiErrorBody),
    )
)]
pub async fn close_report(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CloseRequest>,
) -> Result<Json<ReportDetail>, ApiError> {
    member.require(Scope::Triage)?;
    let id = report_id(&id)?;
    let choice = CloseChoice {
        reason: body.reason,
        duplicate_of: body.duplicate_of,
        detail: body.detail,
    };
    triage::close(&state, id, &choice, &member.actor())
        .await
        .map_err(triage_error)?;
    let report = state.store.report(id).await?.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no report {id}"),
        )
    })?;
    Ok(Json(report_detail(&report, None)))
}

/// Record a scope decision on a report.
#[utoipa::path(
    post, path = "/api/v1/reports/{id}/scope", tag = "team",
    security(("token" = ["triage"])),
    params(("id" = String, Path, description = "`REP-1` or `1`")),
    request_body(content = ScopeRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Recorded"),
        (status = 422, description = "Refused (the sentence says why)", body = crate::error::ApiErrorBody),
    )
)]
pub async fn decide_scope(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ScopeRequest>,
) -> Result<StatusCode, ApiError> {
    member.require(Scope::Triage)?;
    let id = report_id(&id)?;
    let choice = ScopeChoice {
        decision: body.decision,
        rule: body.rule,
        referral: body.referral,
        product: body.product,
        reason: body.reason,
    };
    triage::decide_scope(&state, id, &choice, &member.actor())
        .await
        .map_err(triage_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Cases, newest first.
#[utoipa::path(
    get, path = "/api/v1/cases", tag = "team",
    security(("token" = ["read"])),
    params(ListQuery),
    responses(
        (status = 200, description = "Cases", body = Vec<CaseItem>),
        (status = 422, description = "Unknown state", body = crate::error::ApiErrorBody),
    )
)]
pub async fn list_cases(
    State(state): State<AppState>,
    member: ApiMember,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<CaseItem>>, ApiError> {
    member.require(Scope::Read)?;
    let wanted = match q.state.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            CaseState::ALL
                .into_iter()
                .find(|c| c.as_str() == s)
                .ok_or_else(|| {
                    ApiError::fields(vec![FieldError::new(
                        "state",
                        format!("`{s}` is not a case state"),
                    )])
                })?,
        ),
    };
    let mut cases = state.store.list_cases(CaseFilter::default()).await?;
    cases.sort_by_key(|c| std::cmp::Reverse(c.id.0));
    Ok(Json(
        cases
            .iter()
            .filter(|c| wanted.is_none_or(|w| c.state == w))
            .filter(|c| {
                let cve = c
                    .cve_id
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                q.matches(&[&c.title, &cve, &c.id.to_string()])
            })
            .take(q.limit())
            .map(CaseItem::from)
            .collect(),
    ))
}

/// One case.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}", tag = "team",
    security(("token" = ["read"])),
    params(("id" = String, Path, description = "`CASE-1` or `1`")),
    responses(
        (status = 200, description = "The case", body = CaseItem),
        (status = 404, description = "No such case", body = crate::error::ApiErrorBody),
    )
)]
pub async fn get_case(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
) -> Result<Json<CaseItem>, ApiError> {
    member.require(Scope::Read)?;
    Ok(Json(CaseItem::from(&the_case(&state, &id).await?)))
}

/// The versions of a case's CVE record, newest first.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/record/versions", tag = "team",
    security(("token" = ["read"])),
    params(("id" = String, Path, description = "`CASE-1` or `1`")),
    responses((status = 200, description = "Versions", body = Vec<VersionItem>))
)]
pub async fn record_versions(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
) -> Result<Json<Vec<VersionItem>>, ApiError> {
    member.require(Scope::Read)?;
    let case = the_case(&state, &id).await?;
    let versions = records::versions(&state, case.id).await?;
    Ok(Json(versions.iter().map(VersionItem::from).collect()))
}

/// The container and CVE ID of a record request, with field errors.
fn record_parts(
    state: &AppState,
    body: &RecordRequest,
) -> (Result<Value, ApiError>, Option<CveId>, Vec<FieldError>) {
    let mut errors = Vec::new();
    let cve = match body.cve_id.trim() {
        "" => None,
        s => match s.parse::<CveId>() {
            Ok(c) => Some(c),
            Err(m) => {
                errors.push(FieldError::new("cve_id", m));
                None
            }
        },
    };
    let container = records::container_of(body.container.clone())
        .map(|c| records::with_provider(state, c))
        .map_err(|m| ApiError::fields(vec![FieldError::new("container", m)]));
    (container, cve, errors)
}

/// Check a record against the CVE schema and the CNA rules, without saving.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/record/check", tag = "team",
    security(("token" = ["records"])),
    params(("id" = String, Path, description = "`CASE-1` or `1`")),
    request_body(content = RecordRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The findings", body = CheckResult),
        (status = 422, description = "The container or the CVE ID is not one", body = crate::error::ApiErrorBody),
    )
)]
pub async fn check_record(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecordRequest>,
) -> Result<Json<CheckResult>, ApiError> {
    member.require(Scope::Records)?;
    the_case(&state, &id).await?;
    let (container, cve, errors) = record_parts(&state, &body);
    if !errors.is_empty() {
        return Err(ApiError::fields(errors));
    }
    let findings = records::check_container(&state, cve.as_ref(), &container?);
    Ok(Json(CheckResult::from(&findings)))
}

/// Check a record and save it as a new version (saved also with findings;
/// publication is refused until it passes).
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/record/versions", tag = "team",
    security(("token" = ["records"])),
    params(("id" = String, Path, description = "`CASE-1` or `1`")),
    request_body(content = RecordRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Saved", body = SavedVersion),
        (status = 409, description = "A newer version was saved meanwhile (`stale`), or the CVE ID belongs to another case (`cve_taken`)", body = crate::error::ApiErrorBody),
        (status = 422, description = "The container or the CVE ID is missing or not one", body = crate::error::ApiErrorBody),
    )
)]
pub async fn save_record(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RecordRequest>,
) -> Result<Response, ApiError> {
    member.require(Scope::Records)?;
    let case = the_case(&state, &id).await?;
    let (container, cve, mut errors) = record_parts(&state, &body);
    if cve.is_none() && errors.is_empty() {
        errors.push(FieldError::new(
            "cve_id",
            "is required to save: reserve an ID and name it here",
        ));
    }
    let (Some(cve), true) = (cve, errors.is_empty()) else {
        return Err(ApiError::fields(errors));
    };
    let container = container?;
    let findings = records::check_container(&state, Some(&cve), &container);
    let draft = Draft {
        cve: &cve,
        container: &container,
        findings: &findings,
        note: &body.note,
        based_on: body.based_on,
    };
    match records::save(&state, &case, draft, member.user.id, &member.actor()).await {
        Ok(v) => Ok(created(SavedVersion {
            version: VersionItem::from(&v),
            check: CheckResult::from(&findings),
        })),
        Err(records::SaveError::Stale) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "stale",
            format!(
                "version {} is not the latest: read the versions and save again on the latest",
                body.based_on
            ),
        )),
        Err(records::SaveError::CveTaken(m)) => {
            Err(ApiError::new(StatusCode::CONFLICT, "cve_taken", m))
        }
        Err(records::SaveError::Store(e)) => Err(e.into()),
    }
}

/// Approve a record version (a second member: not its author).
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/record/versions/{version}/approve", tag = "team",
    security(("token" = ["records"])),
    params(
        ("id" = String, Path, description = "`CASE-1` or `1`"),
        ("version" = i64, Path, description = "The version"),
    ),
    responses(
        (status = 201, description = "Approved", body = ApprovalItem),
        (status = 409, description = "Already approved by this member", body = crate::error::ApiErrorBody),
        (status = 422, description = "Refused: the author, not the latest version, or it does not pass the checks", body = crate::error::ApiErrorBody),
    )
)]
pub async fn approve_version(
    State(state): State<AppState>,
    member: ApiMember,
    Path((id, version)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    member.require(Scope::Records)?;
    let case = the_case(&state, &id).await?;
    match cve::approve(&state, case.id, version, member.user.id, &member.actor()).await {
        Ok(a) => Ok(created(ApprovalItem::from(&a))),
        Err(cnadesk_store::StoreError::Rejected(m)) => Err(refused(m)),
        Err(e) => Err(e.into()),
    }
}

/// Publish an approved record version to CVE Services.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/record/versions/{version}/publish", tag = "team",
    security(("token" = ["cve"])),
    params(
        ("id" = String, Path, description = "`CASE-1` or `1`"),
        ("version" = i64, Path, description = "The version"),
    ),
    responses(
        (status = 202, description = "The publication job (done at once when CVE Services answered)", body = JobItem),
        (status = 409, description = "CVE Services is not configured", body = crate::error::ApiErrorBody),
        (status = 422, description = "Refused: not approved by a second member, under embargo …", body = crate::error::ApiErrorBody),
        (status = 502, description = "CVE Services refused or did not answer", body = crate::error::ApiErrorBody),
    )
)]
pub async fn publish_version(
    State(state): State<AppState>,
    member: ApiMember,
    Path((id, version)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    member.require(Scope::Cve)?;
    let case = the_case(&state, &id).await?;
    let job = cve::publish(&state, case.id, version, &member.actor())
        .await
        .map_err(cve_error)?;
    Ok((StatusCode::ACCEPTED, Json(JobItem::from(&job))).into_response())
}

/// Reserve CVE IDs for a case.
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/cve/reserve", tag = "team",
    security(("token" = ["cve"])),
    params(("id" = String, Path, description = "`CASE-1` or `1`")),
    request_body(content = ReserveBody, content_type = "application/json"),
    responses(
        (status = 202, description = "The reservation job (done at once when CVE Services answered)", body = JobItem),
        (status = 409, description = "CVE Services is not configured", body = crate::error::ApiErrorBody),
        (status = 422, description = "Refused", body = crate::error::ApiErrorBody),
        (status = 502, description = "CVE Services refused or did not answer", body = crate::error::ApiErrorBody),
    )
)]
pub async fn reserve_ids(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReserveBody>,
) -> Result<Response, ApiError> {
    member.require(Scope::Cve)?;
    let case = the_case(&state, &id).await?;
    let request = cve::reservation(
        Some(case.id),
        &body.amount.to_string(),
        &body.year.to_string(),
        &body.batch,
    )
    .map_err(refused)?;
    let job = cve::reserve(&state, request, &member.actor())
        .await
        .map_err(cve_error)?;
    Ok((StatusCode::ACCEPTED, Json(JobItem::from(&job))).into_response())
}

/// A case's CVE IDs, approvals and calls to CVE Services.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/cve", tag = "team",
    security(("token" = ["read"])),
    params(("id" = String, Path, description = "`CASE-1` or `1`")),
    responses((status = 200, description = "IDs, approvals and jobs", body = CaseCve))
)]
pub async fn case_cve(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
) -> Result<Json<CaseCve>, ApiError> {
    member.require(Scope::Read)?;
    let case = the_case(&state, &id).await?;
    let ids = state
        .store
        .cve_ids(CveIdFilter {
            case: Some(case.id),
            state: None,
        })
        .await?;
    let approvals = state.store.record_approvals(case.id).await?;
    let jobs = state
        .store
        .jobs(cnadesk_store::JobFilter {
            case: Some(case.id),
            ..Default::default()
        })
        .await?;
    Ok(Json(CaseCve {
        ids: ids.iter().map(CveIdItem::from).collect(),
        approvals: approvals.iter().map(ApprovalItem::from).collect(),
        jobs: jobs.iter().map(JobItem::from).collect(),
    }))
}

/// A case's embargo and vendors.
#[utoipa::path(
    get, path = "/api/v1/cases/{id}/coordination", tag = "team",
    security(("token" = ["read"])),
    params(("id" = String, Path, description = "`CASE-1` or `1`")),
    responses((status = 200, description = "Embargo and vendors", body = CaseCoordination))
)]
pub async fn case_coordination(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
) -> Result<Json<CaseCoordination>, ApiError> {
    member.require(Scope::Read)?;
    let case = the_case(&state, &id).await?;
    let embargo = state.store.embargo(case.id).await?;
    let participants = state.store.participants(case.id).await?;
    Ok(Json(CaseCoordination {
        embargo_ends_at: embargo.as_ref().map(|e| rfc3339(e.ends_at_ms)),
        embargo_reason: embargo.as_ref().map(|e| e.reason.clone()),
        embargo_lifted_at: embargo.as_ref().and_then(|e| e.lifted_at_ms.map(rfc3339)),
        embargo_proposed_end: embargo
            .as_ref()
            .and_then(|e| e.pending.as_ref().map(|p| rfc3339(p.ends_at_ms))),
        participants: participants.iter().map(ParticipantItem::from).collect(),
    }))
}

/// Set or change a case's embargo (a change may wait for vendors' consent).
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/embargo", tag = "team",
    security(("token" = ["coordination"])),
    params(("id" = String, Path, description = "`CASE-1` or `1`")),
    request_body(content = EmbargoRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Applied, or proposed to the vendors", body = CaseCoordination),
        (status = 422, description = "Refused (the sentence says why)", body = crate::error::ApiErrorBody),
    )
)]
pub async fn set_embargo(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EmbargoRequest>,
) -> Result<Json<CaseCoordination>, ApiError> {
    member.require(Scope::Coordination)?;
    let case = the_case(&state, &id).await?;
    let ends = body
        .ends_at
        .trim()
        .parse::<jiff::Timestamp>()
        .map_err(|e| {
            ApiError::fields(vec![FieldError::new(
                "ends_at",
                format!("is not an RFC 3339 time such as 2027-01-15T10:00:00Z ({e})"),
            )])
        })?
        .as_millisecond();
    match coordination::change_embargo(&state, case.id, ends, &body.reason, &member.actor()).await {
        Ok(EmbargoOutcome::Applied | EmbargoOutcome::Proposed) => {
            case_coordination(State(state), member, Path(id)).await
        }
        Err(EmbargoChangeError::Refused(m)) => Err(refused(m)),
        Err(EmbargoChangeError::Store(e)) => Err(e.into()),
    }
}

/// Invite a vendor contact to a case (the link is e-mailed when mail is
/// configured, and returned once).
#[utoipa::path(
    post, path = "/api/v1/cases/{id}/vendors", tag = "team",
    security(("token" = ["coordination"])),
    params(("id" = String, Path, description = "`CASE-1` or `1`")),
    request_body(content = InviteRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Invited", body = Invited),
        (status = 409, description = "Already invited", body = crate::error::ApiErrorBody),
        (status = 422, description = "Refused (each field named)", body = crate::error::ApiErrorBody),
    )
)]
pub async fn invite_vendor(
    State(state): State<AppState>,
    member: ApiMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<InviteRequest>,
) -> Result<Response, ApiError> {
    member.require(Scope::Coordination)?;
    let case = the_case(&state, &id).await?;
    // The API names a product that is not the case's (the page only offers
    // the case's); the rest is the invitation use case's own check.
    let rows = state.store.affected_products(case.id).await?;
    let unknown: Vec<FieldError> = body
        .products
        .iter()
        .enumerate()
        .filter(|(_, p)| !rows.iter().any(|r| &r.product_key == *p))
        .map(|(i, p)| {
            FieldError::new(
                &format!("products.{i}"),
                format!("`{p}` is not a product of this case"),
            )
        })
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::fields(unknown));
    }
    let invited = casework::invite_vendor(
        &state,
        &case,
        &body.email,
        &body.contact_name,
        &body.products,
        &member.actor(),
    )
    .await;
    let (participant, link) = match invited {
        Ok(done) => done,
        Err(CaseworkError::Invalid(errors)) => {
            let fields = errors
                .into_iter()
                .map(|(field, m)| {
                    let field = if field == "product" {
                        "products".to_owned()
                    } else {
                        field
                    };
                    FieldError::new(&field, m)
                })
                .collect();
            return Err(ApiError::fields(fields));
        }
        Err(CaseworkError::NotFound) => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "no such case",
            ))
        }
        Err(CaseworkError::Store(e)) => return Err(e.into()),
    };
    Ok(created(Invited {
        participant: ParticipantItem::from(&participant),
        invitation_url: link,
    }))
}
