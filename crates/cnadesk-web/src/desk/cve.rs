//! The CVE Program from the desk: reserve IDs for a case, approve a record
//! version as the second member, publish it to CVE Services, watch the
//! publication deadline, compare what is published with what is local, and
//! keep the organization's reserved IDs tidy (the stale-reservation report).
//!
//! Every write to CVE Services goes through `cnadesk-cve-workflow`: the
//! intent is stored first and an unclear outcome is reconciled by reading
//! back, so a page reload, a timeout or a crash never publishes twice.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_app::cve::{self, CveError};
use cnadesk_core::publication::{
    human_duration, publication_deadline, stale_reason, DeadlineState, ReservedUse,
};
use cnadesk_core::{CaseId, CveId, UserId};
use cnadesk_cve_workflow::{cna_container, CveDesk, WorkflowError};
use cnadesk_store::{CveIdEntry, CveIdFilter, CveIdState, Job, JobFilter, JobKind, JobState};
use serde::Deserialize;
use serde_json::Value;

use super::DiffLine;
use crate::auth::Member;
use crate::extract::{CsrfForm, IdPath, TokenOnly};
use crate::security::Csrf;
use crate::views::{fmt_ago, fmt_time, render, Layout};
use crate::{AppError, AppState};

/// Which CVE Services the desk talks to, for the banner on every CVE page.
pub(crate) struct ServiceView {
    configured: bool,
    label: &'static str,
    explanation: &'static str,
    url: String,
    org: String,
    production: bool,
}

fn service_view(state: &AppState) -> ServiceView {
    match &state.cve {
        Some(desk) => ServiceView {
            configured: true,
            label: desk.environment().label(),
            explanation: desk.environment().explanation(),
            url: desk.api_url().to_owned(),
            org: desk.org().to_owned(),
            production: *desk.environment() == cnadesk_cve_workflow::Environment::Production,
        },
        None => ServiceView {
            configured: false,
            label: "not configured",
            explanation: "CVE Services is not configured: set [cve_services] in the configuration (see cnadesk.example.toml), or try the whole flow locally with `cnadesk serve --demo`.",
            url: String::new(),
            org: String::new(),
            production: false,
        },
    }
}

fn desk(state: &AppState) -> Result<&CveDesk, String> {
    cnadesk_app::cve::desk(state)
}

/// The case's CVE page with the "not configured" explanation (409).
async fn not_configured(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    id: CaseId,
    mut drafts: Drafts,
    message: String,
) -> Result<Response, AppError> {
    drafts.error = message;
    case_page(state, member, csrf, id, drafts, StatusCode::CONFLICT).await
}

/// The publication clock of one ID, for pages.
pub(crate) struct DeadlineView {
    pub(crate) label: &'static str,
    pub(crate) warn: bool,
    pub(crate) due: String,
    pub(crate) remaining: String,
}

/// The most urgent publication clock of each case: its disclosed IDs
/// that still have no published record (and the published ones' outcome
/// when nothing is pending).
pub(crate) fn deadlines_by_case(
    entries: &[CveIdEntry],
    now_ms: i64,
) -> HashMap<CaseId, (String, DeadlineView)> {
    let mut out: HashMap<CaseId, (i64, String, DeadlineView)> = HashMap::new();
    for e in entries {
        let (Some(case), Some(view)) = (e.case_id, deadline_view(e, now_ms)) else {
            continue;
        };
        if e.state == CveIdState::Rejected {
            continue;
        }
        // Pending clocks first, earliest due first.
        let rank = if e.published_at_ms.is_none() {
            e.disclosed_at_ms.unwrap_or(0)
        } else {
            i64::MAX
        };
        if out.get(&case).is_none_or(|(r, _, _)| rank < *r) {
            out.insert(case, (rank, e.cve_id.to_string(), view));
        }
    }
    out.into_iter()
        .map(|(c, (_, id, v))| (c, (id, v)))
        .collect()
}

pub(crate) fn deadline_view(entry: &CveIdEntry, now_ms: i64) -> Option<DeadlineView> {
    let disclosed = entry.disclosed_at_ms?;
    // Published without a known time (found so by a refresh): not overdue.
    let published = entry
        .published_at_ms
        .or((entry.state == CveIdState::Published).then_some(disclosed));
    let d = publication_deadline(disclosed, published, now_ms);
    Some(DeadlineView {
        label: d.state.label(),
        warn: d.state.is_warning(),
        due: fmt_time(d.due_ms),
        remaining: match (d.state, d.remaining_ms) {
            (DeadlineState::Overdue, Some(r)) => format!("{} overdue", human_duration(r)),
            (_, Some(r)) => format!("{} left", human_duration(r)),
            _ => String::new(),
        },
    })
}

struct IdRow {
    cve_id: String,
    state: &'static str,
    reserved: String,
    age: String,
    reserved_by: String,
    case_number: i64,
    disclosed: String,
    deadline: Option<DeadlineView>,
    published: String,
    rejected_reason: String,
    stale: String,
    primary: bool,
}

fn id_row(e: &CveIdEntry, now_ms: i64, primary: Option<&CveId>, stale: Option<String>) -> IdRow {
    IdRow {
        cve_id: e.cve_id.to_string(),
        state: e.state.as_str(),
        reserved: if e.reserved_at_ms > 0 {
            fmt_time(e.reserved_at_ms)
        } else {
            "unknown".into()
        },
        age: if e.reserved_at_ms > 0 {
            fmt_ago(e.reserved_at_ms, now_ms)
        } else {
            String::new()
        },
        reserved_by: e.reserved_by.clone(),
        case_number: e.case_id.map(|c| c.0).unwrap_or(0),
        disclosed: e.disclosed_at_ms.map(fmt_time).unwrap_or_default(),
        deadline: deadline_view(e, now_ms),
        published: match (e.published_at_ms, e.published_version) {
            (Some(at), Some(v)) => format!("version {v}, first published {}", fmt_time(at)),
            (Some(at), None) => format!("first published {}", fmt_time(at)),
            _ => String::new(),
        },
        rejected_reason: e.rejected_reason.clone(),
        stale: stale.unwrap_or_default(),
        primary: primary == Some(&e.cve_id),
    }
}

struct JobRow {
    id: i64,
    what: String,
    state: &'static str,
    attempts: i64,
    last_error: String,
    requested: String,
    result: String,
    open: bool,
}

fn job_what(job: &Job) -> String {
    let p = &job.payload;
    match job.kind {
        JobKind::CveReserve => format!(
            "Reserve {} {} ID(s) for {}",
            p["amount"],
            p["batch"].as_str().unwrap_or(""),
            p["year"]
        ),
        JobKind::CvePublish => format!(
            "Publish {} (version {})",
            p["cve_id"].as_str().unwrap_or("?"),
            p["version"]
        ),
        JobKind::CveUpdate => format!(
            "Update {} to version {}",
            p["cve_id"].as_str().unwrap_or("?"),
            p["version"]
        ),
        JobKind::CveReject => format!("Reject {}", p["cve_id"].as_str().unwrap_or("?")),
    }
}

fn job_row(job: &Job) -> JobRow {
    let result = match &job.result {
        Some(r) if r.get("ids").is_some() => {
            let ids: Vec<&str> = r["ids"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut s = ids.join(", ");
            if r["partial"] == true {
                s.push_str(" (fewer than asked: the range ran out)");
            }
            if r["recovered"] == true {
                s.push_str(" (found after an unanswered request)");
            }
            s
        }
        _ => String::new(),
    };
    JobRow {
        id: job.id,
        what: job_what(job),
        state: match job.state {
            JobState::Queued if job.attempts > 0 => "waiting to retry",
            other => other.as_str(),
        },
        attempts: job.attempts,
        last_error: job.last_error.clone(),
        requested: fmt_time(job.created_at_ms),
        result,
        open: job.state.is_open(),
    }
}

struct VersionView {
    version: i64,
    cve_id: String,
    author: String,
    mine: bool,
    publishable: bool,
    sha256: String,
    approvers: Vec<String>,
    approved: bool,
    i_approved: bool,
    published_version: i64,
}

/// What a member typed, kept when a form is refused.
#[derive(Default)]
struct Drafts {
    error: String,
    notice: String,
    amount: String,
    year: String,
    batch: String,
}

#[derive(Template)]
#[template(path = "case_cve.html")]
struct CasePage {
    layout: Layout,
    case_number: i64,
    case_id: String,
    case_title: String,
    report_number: i64,
    service: ServiceView,
    ids: Vec<IdRow>,
    unlinked: Vec<String>,
    latest: Option<VersionView>,
    jobs: Vec<JobRow>,
    /// Where "try now" posts (`…/jobs/{job}/run`).
    jobs_base: String,
    publishing: bool,
    drafts: Drafts,
    this_year: i32,
    /// The case's IDs that are not rejected (a further reservation must
    /// name them to confirm).
    existing: String,
}

async fn names(state: &AppState) -> Result<HashMap<UserId, String>, AppError> {
    Ok(state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

fn this_year(state: &AppState) -> i32 {
    state
        .clock
        .now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .year()
        .into()
}

async fn case_page(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    id: CaseId,
    drafts: Drafts,
    status: StatusCode,
) -> Result<Response, AppError> {
    let case = state.store.case(id).await?.ok_or(AppError::NotFound)?;
    let now = state.now_ms();
    let entries = state
        .store
        .cve_ids(CveIdFilter {
            case: Some(id),
            state: None,
        })
        .await?;
    let unlinked = state
        .store
        .cve_ids(CveIdFilter {
            case: None,
            state: Some(CveIdState::Reserved),
        })
        .await?
        .into_iter()
        .filter(|e| e.case_id.is_none())
        .map(|e| e.cve_id.to_string())
        .collect();
    let names = names(state).await?;
    let versions = state.store.record_versions(id).await?;
    let approvals = state.store.record_approvals(id).await?;
    let jobs = state
        .store
        .jobs(JobFilter {
            case: Some(id),
            open_only: false,
            limit: 20,
        })
        .await?;
    let latest = versions.first().map(|v| {
        let of_this: Vec<_> = approvals
            .iter()
            .filter(|a| a.version == v.version && a.sha256 == v.sha256)
            .collect();
        VersionView {
            version: v.version,
            cve_id: v.cve_id.to_string(),
            author: names.get(&v.author).cloned().unwrap_or_default(),
            mine: v.author == member.user.id,
            publishable: v.publishable(),
            sha256: v.sha256.clone(),
            approvers: of_this
                .iter()
                .map(|a| {
                    format!(
                        "{} ({})",
                        names.get(&a.approver).cloned().unwrap_or_default(),
                        fmt_time(a.approved_at_ms)
                    )
                })
                .collect(),
            approved: of_this.iter().any(|a| a.approver != v.author),
            i_approved: of_this.iter().any(|a| a.approver == member.user.id),
            published_version: entries
                .iter()
                .find(|e| e.cve_id == v.cve_id)
                .and_then(|e| e.published_version)
                .unwrap_or(0),
        }
    });
    let page = CasePage {
        layout: member.layout(state, &format!("CVE Program: {}", case.id), &csrf.token),
        case_number: id.0,
        case_id: id.to_string(),
        case_title: case.title.clone(),
        report_number: case.report_id.0,
        service: service_view(state),
        ids: entries
            .iter()
            .map(|e| {
                let unused = e.state == CveIdState::Reserved
                    && case.cve_id.as_ref() != Some(&e.cve_id)
                    && !versions.iter().any(|v| v.cve_id == e.cve_id);
                let stale = unused.then(|| {
                    "reserved and unused: give it to another vulnerability of this case, or reject it"
                        .to_owned()
                });
                id_row(e, now, case.cve_id.as_ref(), stale)
            })
            .collect(),
        existing: entries
            .iter()
            .filter(|e| e.state != CveIdState::Rejected)
            .map(|e| e.cve_id.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        unlinked,
        latest,
        publishing: jobs.iter().any(|j| {
            j.state.is_open() && matches!(j.kind, JobKind::CvePublish | JobKind::CveUpdate)
        }),
        jobs: jobs.iter().map(job_row).collect(),
        jobs_base: format!("/desk/cases/{}/cve/jobs", id.0),
        drafts,
        this_year: this_year(state),
    };
    Ok(render(status, &page))
}

/// A notice after a redirect.
#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    pub(crate) done: String,
}

/// The notices that tell of something to look at (a warning, not a
/// success): CVE Services answered unclearly, differently, or not at all.
const WARNINGS: [&str; 3] = ["published-differs", "queued", "failed"];

/// The style of a notice shown on a page: `warning` or `notice`.
fn notice_class(notice: &str) -> &'static str {
    if WARNINGS.iter().any(|w| notice_text(w) == notice) {
        "warning"
    } else {
        "notice"
    }
}

impl CasePage {
    fn notice_class(&self) -> &'static str {
        notice_class(&self.drafts.notice)
    }
}

impl IdsPage {
    fn notice_class(&self) -> &'static str {
        notice_class(&self.notice)
    }
}

fn notice_text(done: &str) -> &'static str {
    match done {
        "reserved" => "Reserved.",
        "approved" => "Approved. Any member can now publish this version.",
        "published" => "Published to CVE Services; the record read back from the service matches the approved version.",
        "published-differs" => "Published to CVE Services, but the record the service returned differs from the approved version; compare them before anything else.",
        "updated" => "The published record was updated; the record read back from the service matches the approved version.",
        "queued" => "CVE Services did not answer clearly. The desk will read back and finish (or retry) on its own; this page shows the state.",
        "running" => "This call is in progress: a worker (on this node or another) holds it and renews its lease while it runs. If that worker stopped, its lease runs out within a minute; then the desk's worker, or Try now, takes the call over and reads back first.",
        "linked" => "Linked to this case.",
        "disclosed" => "Saved. The publication clock runs from the disclosure time.",
        "failed" => "The operation failed; see the error in the list below.",
        "rejected" => "Rejected.",
        "synced" => "The list now matches CVE Services.",
        _ => "",
    }
}

/// `GET /desk/cases/{id}/cve`
pub async fn case_cve(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    let drafts = Drafts {
        notice: notice_text(&q.done).to_owned(),
        ..Default::default()
    };
    case_page(&state, &member, &csrf, id, drafts, StatusCode::OK).await
}

/// Where to go after a call: the page with a notice that says how it went.
fn after_job(job: &Job, base: &str) -> Response {
    let done = match job.state {
        JobState::Done => match job.kind {
            JobKind::CveReserve => "reserved",
            JobKind::CveReject => "rejected",
            _ if job
                .result
                .as_ref()
                .is_some_and(|r| r["read_back_matches"] == false) =>
            {
                "published-differs"
            }
            JobKind::CveUpdate => "updated",
            JobKind::CvePublish => "published",
        },
        JobState::Failed => "failed",
        JobState::Running => "running",
        JobState::Queued => "queued",
    };
    Redirect::to(&format!("{base}?done={done}")).into_response()
}

/// Turns a workflow refusal into the page again with the message.
async fn refused(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    id: CaseId,
    mut drafts: Drafts,
    e: WorkflowError,
) -> Result<Response, AppError> {
    let status = match &e {
        WorkflowError::Store(cnadesk_store::StoreError::Conflict(_)) => StatusCode::CONFLICT,
        WorkflowError::Store(cnadesk_store::StoreError::NotFound(_)) => {
            return Err(AppError::NotFound)
        }
        WorkflowError::Store(cnadesk_store::StoreError::Database(m)) => {
            return Err(AppError::Internal(m.clone()))
        }
        WorkflowError::Store(cnadesk_store::StoreError::Unavailable(m)) => {
            return Err(AppError::Unavailable(m.clone()))
        }
        WorkflowError::Service(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    drafts.error = workflow_message(e);
    case_page(state, member, csrf, id, drafts, status).await
}

/// A refusal of the CVE workflow in words for the page.
fn workflow_message(e: WorkflowError) -> String {
    match e {
        WorkflowError::Service(s) => cnadesk_cve_workflow::describe(&s),
        // The store's own words, as a sentence (its `Display` of a conflict
        // appends "already exists", which fits a taken name, not a newer
        // version or a job already running).
        WorkflowError::Store(
            cnadesk_store::StoreError::Conflict(m) | cnadesk_store::StoreError::Rejected(m),
        ) => sentence(&m),
        other => sentence(&other.to_string()),
    }
}

/// `text` as a sentence: a capital first letter and a full stop.
fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The reservation form.
#[derive(Debug, Deserialize)]
pub struct ReserveForm {
    /// The IDs the member saw the case has, confirming another reservation.
    #[serde(default)]
    another: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    batch: String,
}

/// `POST /desk/cases/{id}/cve/reserve`
pub async fn case_cve_reserve(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<ReserveForm>,
) -> Result<Response, AppError> {
    state.store.case(id).await?.ok_or(AppError::NotFound)?;
    let mut drafts = Drafts {
        amount: form.amount.clone(),
        year: form.year.clone(),
        batch: form.batch.clone(),
        ..Default::default()
    };
    // A case that has an ID gets another only when the member confirms,
    // naming the ones it has (a second click takes nothing by accident).
    let existing: Vec<String> = state
        .store
        .cve_ids(CveIdFilter {
            case: Some(id),
            state: None,
        })
        .await?
        .into_iter()
        .filter(|e| e.state != CveIdState::Rejected)
        .map(|e| e.cve_id.to_string())
        .collect();
    if !existing.is_empty() && form.another != existing.join(", ") {
        drafts.error = format!(
            "This case already has {}. To reserve another ID (one per vulnerable implementation, rule 4.2.14), tick the box that names it and reserve again.",
            existing.join(", ")
        );
        let status = StatusCode::CONFLICT;
        return case_page(&state, &member, &csrf, id, drafts, status).await;
    }
    let request = match cve::reservation(Some(id), &form.amount, &form.year, &form.batch) {
        Ok(r) => r,
        Err(m) => {
            drafts.error = m;
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return case_page(&state, &member, &csrf, id, drafts, status).await;
        }
    };
    match cve::reserve(&state, request, &member.actor()).await {
        Ok(job) => Ok(after_job(&job, &format!("/desk/cases/{}/cve", id.0))),
        Err(CveError::NotConfigured(m)) => {
            not_configured(&state, &member, &csrf, id, drafts, m).await
        }
        Err(CveError::Workflow(e)) => refused(&state, &member, &csrf, id, drafts, e).await,
    }
}

/// A form naming one ID.
#[derive(Debug, Deserialize)]
pub struct IdForm {
    #[serde(default)]
    cve_id: String,
    #[serde(default)]
    disclosed_at: String,
    /// `1`: it became public now.
    #[serde(default)]
    now: String,
    #[serde(default)]
    clear: String,
}

fn parse_id(s: &str) -> Result<CveId, AppError> {
    s.parse()
        .map_err(|e: String| AppError::Invalid(format!("CVE ID: {e}")))
}

/// `POST /desk/cases/{id}/cve/link`: takes a reserved, unlinked ID for the case.
pub async fn case_cve_link(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<IdForm>,
) -> Result<Response, AppError> {
    let cve = parse_id(&form.cve_id)?;
    match state
        .store
        .link_cve_id(&cve, id, &member.actor(), state.now_ms())
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/desk/cases/{}/cve?done=linked", id.0)).into_response()),
        Err(e) => refused(&state, &member, &csrf, id, Drafts::default(), e.into()).await,
    }
}

/// `POST /desk/cases/{id}/cve/disclosed`: when the ID became public (UTC),
/// or clears it.
pub async fn case_cve_disclosed(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<IdForm>,
) -> Result<Response, AppError> {
    let cve = parse_id(&form.cve_id)?;
    let entry = state
        .store
        .cve_id_entry(&cve)
        .await?
        .filter(|e| e.case_id == Some(id))
        .ok_or(AppError::NotFound)?;
    let at = if !form.clear.is_empty() {
        None
    } else if form.now == "1" {
        Some(state.now_ms())
    } else if form.disclosed_at.trim().is_empty() {
        let drafts = Drafts {
            error: "Enter when the ID became public (UTC), or choose “It became public just now”: the 72-hour publication clock starts there.".into(),
            ..Default::default()
        };
        return case_page(
            &state,
            &member,
            &csrf,
            id,
            drafts,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    } else {
        match parse_utc(&form.disclosed_at) {
            Some(ms) if ms <= state.now_ms() + 60_000 => Some(ms),
            Some(_) => {
                let drafts = Drafts {
                    error: "The disclosure time is in the future; enter when the ID became public (UTC).".into(),
                    ..Default::default()
                };
                return case_page(
                    &state,
                    &member,
                    &csrf,
                    id,
                    drafts,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
            None => {
                let drafts = Drafts {
                    error: format!(
                        "“{}” is not a date and time; use YYYY-MM-DDTHH:MM (UTC).",
                        form.disclosed_at.trim()
                    ),
                    ..Default::default()
                };
                return case_page(
                    &state,
                    &member,
                    &csrf,
                    id,
                    drafts,
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        }
    };
    state
        .store
        .set_cve_id_disclosed(&entry.cve_id, at, &member.actor(), state.now_ms())
        .await?;
    Ok(Redirect::to(&format!("/desk/cases/{}/cve?done=disclosed", id.0)).into_response())
}

/// `2026-11-24T10:30` (a `datetime-local` field, read as UTC), with or
/// without seconds and a `Z`.
fn parse_utc(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z');
    let civil: jiff::civil::DateTime = s.parse().ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// A form naming a record version.
#[derive(Debug, Deserialize)]
pub struct VersionForm {
    #[serde(default)]
    version: String,
    /// `publish`: publish at once after approving.
    #[serde(default)]
    then: String,
}

impl VersionForm {
    /// The version named; a form naming none is for no page that exists.
    fn version(&self) -> Result<i64, AppError> {
        self.version.trim().parse().map_err(|_| AppError::NotFound)
    }
}

/// `POST /desk/cases/{id}/cve/approve`: the second member approves the
/// exact version they saw.
pub async fn case_cve_approve(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<VersionForm>,
) -> Result<Response, AppError> {
    let version = form.version()?;
    match cve::approve(&state, id, version, member.user.id, &member.actor()).await {
        Ok(_) if form.then == "publish" => {
            match cve::publish(&state, id, version, &member.actor()).await {
                Ok(job) => Ok(after_job(&job, &format!("/desk/cases/{}/cve", id.0))),
                Err(CveError::NotConfigured(m)) => {
                    not_configured(&state, &member, &csrf, id, Drafts::default(), m).await
                }
                Err(CveError::Workflow(e)) => {
                    refused(&state, &member, &csrf, id, Drafts::default(), e).await
                }
            }
        }
        Ok(_) => {
            Ok(Redirect::to(&format!("/desk/cases/{}/cve?done=approved", id.0)).into_response())
        }
        Err(e) => refused(&state, &member, &csrf, id, Drafts::default(), e.into()).await,
    }
}

/// `POST /desk/cases/{id}/cve/publish`
pub async fn case_cve_publish(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<VersionForm>,
) -> Result<Response, AppError> {
    let version = form.version()?;
    match cve::publish(&state, id, version, &member.actor()).await {
        Ok(job) => Ok(after_job(&job, &format!("/desk/cases/{}/cve", id.0))),
        Err(CveError::NotConfigured(m)) => {
            not_configured(&state, &member, &csrf, id, Drafts::default(), m).await
        }
        Err(CveError::Workflow(e)) => {
            refused(&state, &member, &csrf, id, Drafts::default(), e).await
        }
    }
}

/// `POST /desk/cases/{id}/cve/jobs/{job}/run`: tries a waiting job now.
pub async fn case_cve_run_job(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath((id, job_id)): IdPath<(CaseId, i64)>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let job = state
        .store
        .job(job_id)
        .await?
        .filter(|j| j.case_id == Some(id))
        .ok_or(AppError::NotFound)?;
    let desk = match desk(&state) {
        Ok(d) => d,
        Err(m) => return not_configured(&state, &member, &csrf, id, Drafts::default(), m).await,
    };
    match desk.run_job(job.id).await {
        Ok(job) => Ok(after_job(&job, &format!("/desk/cases/{}/cve", id.0))),
        Err(e) => refused(&state, &member, &csrf, id, Drafts::default(), e).await,
    }
}

#[derive(Template)]
#[template(path = "case_cve_drift.html")]
struct DriftPage {
    layout: Layout,
    case_number: i64,
    cve_id: String,
    service: ServiceView,
    local_version: i64,
    published_version: i64,
    error: String,
    not_published: bool,
    identical: bool,
    lines: Vec<DiffLine>,
}

/// Pretty JSON without `providerMetadata` (which the service sets), so a
/// diff shows content. (Object keys come out sorted: `serde_json` maps are ordered.)
fn comparable(container: &Value) -> String {
    let c = cnadesk_cve_workflow::without_provider(container);
    serde_json::to_string_pretty(&c).unwrap_or_default() + "\n"
}

/// `GET /desk/cases/{id}/cve/drift`: what CVE Services publishes now
/// against the latest local version.
pub async fn case_cve_drift(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
) -> Result<Response, AppError> {
    let case = state.store.case(id).await?.ok_or(AppError::NotFound)?;
    let versions = state.store.record_versions(id).await?;
    let latest = versions.first().ok_or(AppError::NotFound)?;
    let entry = state.store.cve_id_entry(&latest.cve_id).await?;
    let local: Value = serde_json::from_str(&latest.document).unwrap_or(Value::Null);
    let mut page = DriftPage {
        layout: member.layout(
            &state,
            &format!("{}: published and local", latest.cve_id),
            &csrf.token,
        ),
        case_number: case.id.0,
        cve_id: latest.cve_id.to_string(),
        service: service_view(&state),
        local_version: latest.version,
        published_version: entry.and_then(|e| e.published_version).unwrap_or(0),
        error: String::new(),
        not_published: false,
        identical: false,
        lines: Vec::new(),
    };
    let published = match desk(&state) {
        Err(m) => {
            page.error = m;
            None
        }
        Ok(desk) => match desk.published_record(&latest.cve_id).await {
            Ok(Some(record)) => cna_container(&record).cloned(),
            Ok(None) => {
                page.not_published = true;
                None
            }
            Err(e) => {
                page.error = workflow_message(e);
                None
            }
        },
    };
    if let Some(published) = published {
        let (old, new) = (comparable(&published), comparable(&local));
        page.lines = super::diff_lines(&old, &new);
        page.identical = page.lines.is_empty();
    }
    Ok(render(StatusCode::OK, &page))
}

// ---- the organization's IDs --------------------------------------------------------------

#[derive(Template)]
#[template(path = "cve_ids.html")]
struct IdsPage {
    layout: Layout,
    service: ServiceView,
    quota: String,
    quota_error: String,
    ids: Vec<IdRow>,
    stale: Vec<IdRow>,
    error: String,
    notice: String,
    reason_draft: String,
    reason_for: String,
    jobs: Vec<JobRow>,
}

async fn ids_page(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    error: String,
    notice: String,
    draft: (String, String),
    status: StatusCode,
) -> Result<Response, AppError> {
    let now = state.now_ms();
    let entries = state.store.cve_ids(CveIdFilter::default()).await?;
    // One query for every case; record versions only for the cases whose
    // record names a reserved ID (is there a record using it yet?).
    let cases: HashMap<CaseId, cnadesk_store::Case> = state
        .store
        .list_cases(cnadesk_store::CaseFilter::default())
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut ids = Vec::new();
    let mut stale = Vec::new();
    for e in &entries {
        let case = e.case_id.and_then(|c| cases.get(&c));
        let reason = if e.state == CveIdState::Reserved {
            let in_record = match case {
                Some(c) if c.cve_id.as_ref() == Some(&e.cve_id) => {
                    !state.store.record_versions(c.id).await?.is_empty()
                }
                _ => false,
            };
            stale_reason(ReservedUse {
                age_ms: now - e.reserved_at_ms,
                case_state: case.map(|c| c.state),
                in_record,
            })
        } else {
            None
        };
        if reason.is_some() {
            stale.push(id_row(e, now, None, reason.clone()));
        }
        ids.push(id_row(e, now, None, reason));
    }
    let (quota, quota_error) = match desk(state) {
        Err(m) => (String::new(), m),
        Ok(desk) => match desk.quota().await {
            Ok(q) => (
                format!(
                    "{} of {} reserved; {} available",
                    q.total_reserved, q.id_quota, q.available
                ),
                String::new(),
            ),
            Err(WorkflowError::Service(e)) => (String::new(), cnadesk_cve_workflow::describe(&e)),
            Err(e) => (String::new(), e.to_string()),
        },
    };
    let jobs = state
        .store
        .jobs(JobFilter {
            case: None,
            open_only: false,
            limit: 20,
        })
        .await?;
    let page = IdsPage {
        jobs: jobs.iter().map(job_row).collect(),
        layout: member.layout(state, "CVE IDs", &csrf.token),
        service: service_view(state),
        quota,
        quota_error,
        ids,
        stale,
        error,
        notice,
        reason_for: draft.0,
        reason_draft: draft.1,
    };
    Ok(render(status, &page))
}

/// `GET /desk/cve`: every ID with its age and case, the quota, and the
/// stale-reservation report.
pub async fn cve_ids(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, AppError> {
    ids_page(
        &state,
        &member,
        &csrf,
        String::new(),
        notice_text(&q.done).to_owned(),
        Default::default(),
        StatusCode::OK,
    )
    .await
}

/// `POST /desk/cve/sync`: reads the organization's IDs from CVE Services.
pub async fn cve_sync(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let result = match desk(&state) {
        Err(m) => Err(m),
        Ok(desk) => desk
            .sync_ids(&member.actor())
            .await
            .map_err(workflow_message),
    };
    match result {
        Ok(_) => Ok(Redirect::to("/desk/cve?done=synced").into_response()),
        Err(m) => {
            ids_page(
                &state,
                &member,
                &csrf,
                m,
                String::new(),
                Default::default(),
                StatusCode::BAD_GATEWAY,
            )
            .await
        }
    }
}

/// The rejection form.
#[derive(Debug, Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    cve_id: String,
    #[serde(default)]
    reason: String,
}

/// `POST /desk/cve/reject`: rejects an ID with the reason recorded (an
/// unused reservation, rule 4.5.3.5, or a published record withdrawn).
pub async fn cve_reject(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<RejectForm>,
) -> Result<Response, AppError> {
    let cve = parse_id(&form.cve_id)?;
    let again = |m: String, status| {
        let draft = (cve.to_string(), form.reason.clone());
        let (state, member, csrf) = (&state, &member, &csrf);
        async move { ids_page(state, member, csrf, m, String::new(), draft, status).await }
    };
    if let Err(m) = super::check_text("The reason", &form.reason, 2000, true, true) {
        return again(m, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let desk = match desk(&state) {
        Ok(d) => d,
        Err(m) => return again(m, StatusCode::CONFLICT).await,
    };
    let published = state
        .store
        .cve_id_entry(&cve)
        .await?
        .is_some_and(|e| e.state == CveIdState::Published);
    if published && member.user.role != cnadesk_core::Role::Admin {
        return again(
            format!("{cve} is published: withdrawing a public record takes an admin."),
            StatusCode::FORBIDDEN,
        )
        .await;
    }
    match desk.reject(&cve, &form.reason, &member.actor()).await {
        Ok(job) => Ok(after_job(&job, "/desk/cve")),
        Err(WorkflowError::Store(cnadesk_store::StoreError::NotFound(_))) => {
            Err(AppError::NotFound)
        }
        Err(WorkflowError::Store(cnadesk_store::StoreError::Database(m))) => {
            Err(AppError::Internal(m))
        }
        Err(WorkflowError::Store(cnadesk_store::StoreError::Unavailable(m))) => {
            Err(AppError::Unavailable(m))
        }
        Err(WorkflowError::Service(s)) => {
            again(cnadesk_cve_workflow::describe(&s), StatusCode::BAD_GATEWAY).await
        }
        Err(e) => again(workflow_message(e), StatusCode::CONFLICT).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_version_is_refused_in_a_sentence() {
        let e = WorkflowError::Store(cnadesk_store::StoreError::Conflict(
            "version 3 was saved after version 2: approve and publish version 3 instead".into(),
        ));
        assert_eq!(
            workflow_message(e),
            "Version 3 was saved after version 2: approve and publish version 3 instead."
        );
        assert_eq!(sentence("done."), "Done.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn disclosure_times_are_utc() {
        assert_eq!(parse_utc("1970-01-01T00:01"), Some(60_000));
        assert_eq!(parse_utc("1970-01-01T00:01:30Z"), Some(90_000));
        assert_eq!(parse_utc("yesterday"), None);
    }
}
