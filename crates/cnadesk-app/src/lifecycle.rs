//! The case carries itself: it follows the audit log instead of waiting for
//! a member to move it. A cursor (`lifecycle`) reads the events after it and
//! takes the steps they imply:
//!
//! - a case opened (the report accepted): an ID is reserved for it when the
//!   policy says so ([`LifecycleSettings::reserve_on_accept`]);
//! - an ID reserved or linked: the case moves to "CVE reserved", and the
//!   first version of its record is drafted from the case's facts
//!   ([`crate::records::draft_form`]) in the name of the member who accepted
//!   it, so that a second member reviews it;
//! - a record published at CVE Services, or an embargo lifted on a case with
//!   nothing left to publish: the case moves to "Published".
//!
//! Every step checks the case as it is now, so reading an event twice (two
//! nodes, a restart) changes nothing twice. Use cases that cause such events
//! call [`follow`] at once, so the member sees the result on the next page;
//! the periodic job catches up with events from workers and other nodes.

use cnadesk_core::audit::{AuditAction, AuditEvent};
use cnadesk_core::{Actor, CaseId, CaseState, UserId};
use cnadesk_cve::editor::wrap_record;
use cnadesk_cve_services::BatchType;
use cnadesk_cve_workflow::ReserveRequest;
use cnadesk_store::{Case, CveIdFilter, JobFilter, StoreError};

use crate::records::{self, Draft};
use crate::text::rfc3339;
use crate::App;

/// The fan-out cursor the lifecycle keeps.
pub const CURSOR: &str = "lifecycle";

/// What the desk does by itself.
#[derive(Clone, Debug)]
pub struct LifecycleSettings {
    /// Follow events at all (off: members move every case by hand).
    pub follow_events: bool,
    /// Reserve one CVE ID for a case when it is accepted.
    pub reserve_on_accept: bool,
    /// Draft the first record version from the case once it has an ID.
    pub draft_record: bool,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        Self {
            follow_events: true,
            reserve_on_accept: true,
            draft_record: true,
        }
    }
}

impl LifecycleSettings {
    /// Nothing by itself: members take every step.
    pub fn off() -> Self {
        Self {
            follow_events: false,
            reserve_on_accept: false,
            draft_record: false,
        }
    }
}

fn component() -> Actor {
    Actor::System {
        component: "lifecycle".into(),
    }
}

/// Reads the events after the cursor and takes the steps they imply.
/// Returns how many events were read. A step that fails is logged and
/// left to the members (the case page says what is missing); only a store
/// that cannot be read stops the sweep.
pub async fn follow(app: &App) -> Result<usize, StoreError> {
    if !app.settings.lifecycle.follow_events {
        return Ok(0);
    }
    let mut read = 0;
    loop {
        let after = app.store.notify_cursor(CURSOR).await?;
        let events = app.store.audit_events(after, 200).await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(read);
        };
        for event in &events {
            if let Err(e) = on_event(app, event).await {
                if matches!(e, StoreError::Unavailable(_)) {
                    return Err(e);
                }
                tracing::warn!(seq = event.seq, action = %event.action, error = %e, "a lifecycle step did not happen; the case page shows what is left");
            }
        }
        read += events.len();
        app.store
            .enqueue_messages(Vec::new(), Some((CURSOR, last)), app.now_ms())
            .await?;
    }
}

/// Starts the cursor at the end of the log on a desk that never ran it, so
/// that an existing desk does not act on its history.
pub async fn start_cursor_at_head(app: &App) -> Result<(), StoreError> {
    if app.store.notify_cursor(CURSOR).await? == 0 {
        crate::notify::cursor_to_head(app, CURSOR).await?;
    }
    Ok(())
}

/// [`follow`], for use cases: a failure is logged (the periodic job tries
/// again), never the caller's failure.
pub async fn follow_now(app: &App) {
    if let Err(e) = follow(app).await {
        tracing::warn!(error = %e, "the case could not follow its events now; the periodic job will");
    }
}

async fn on_event(app: &App, event: &AuditEvent) -> Result<(), StoreError> {
    let Some(case_id) = event.case_id.map(CaseId) else {
        return Ok(());
    };
    match event.kind() {
        Some(AuditAction::CaseOpened) => reserve_on_accept(app, case_id, event).await,
        Some(
            AuditAction::CveReserved | AuditAction::CveIdsRecorded | AuditAction::CaseCveIdSet,
        ) => {
            let Some(case) = app.store.case(case_id).await? else {
                return Ok(());
            };
            if case.cve_id.is_none() {
                return Ok(());
            }
            let case = move_to(app, case, CaseState::CveReserved, "a CVE ID was reserved").await?;
            draft_first_version(app, &case).await
        }
        Some(AuditAction::CvePublished) => {
            let Some(case) = app.store.case(case_id).await? else {
                return Ok(());
            };
            move_to(
                app,
                case,
                CaseState::Published,
                "its CVE record was published",
            )
            .await?;
            Ok(())
        }
        Some(AuditAction::EmbargoLifted) => {
            let Some(case) = app.store.case(case_id).await? else {
                return Ok(());
            };
            // With a CVE ID, the publication of its record moves the case.
            if case.cve_id.is_none() {
                move_to(
                    app,
                    case,
                    CaseState::Published,
                    "the embargo was lifted and the advisory is public",
                )
                .await?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Moves `case` to `to` when it may go there now (and is not there yet).
/// Under embargo a case stays put until the lift: the embargo is the
/// stronger fact.
async fn move_to(app: &App, case: Case, to: CaseState, why: &str) -> Result<Case, StoreError> {
    if case.state == to || case.state.transition(to).is_err() {
        return Ok(case);
    }
    if to == CaseState::CveReserved && case.state == CaseState::UnderEmbargo {
        return Ok(case);
    }
    match app
        .store
        .transition_case(case.id, to, why, &component(), app.now_ms())
        .await
    {
        Ok(c) => Ok(c),
        // Moved meanwhile by someone else: theirs stands.
        Err(StoreError::Conflict(_) | StoreError::Rejected(_)) => {
            Ok(app.store.case(case.id).await?.unwrap_or(case))
        }
        Err(e) => Err(e),
    }
}

/// The member who accepted the case (who drafted nothing, but whose
/// acceptance the draft continues).
async fn accepted_by(app: &App, case: &Case) -> Result<Option<(UserId, Actor)>, StoreError> {
    let events = app.store.audit_events_for_report(case.report_id).await?;
    Ok(events
        .iter()
        .filter(|e| e.kind() == Some(AuditAction::CaseOpened))
        .filter_map(|e| match e.actor.parse::<Actor>() {
            Ok(actor @ Actor::Member { .. }) => Some(actor),
            _ => None,
        })
        .next_back()
        .and_then(|actor| match &actor {
            Actor::Member { id, .. } => Some((*id, actor.clone())),
            _ => None,
        }))
}

async fn reserve_on_accept(
    app: &App,
    case_id: CaseId,
    event: &AuditEvent,
) -> Result<(), StoreError> {
    if !app.settings.lifecycle.reserve_on_accept || app.cve.is_none() {
        return Ok(());
    }
    let Some(case) = app.store.case(case_id).await? else {
        return Ok(());
    };
    if case.cve_id.is_some() || !case.state.is_open() {
        return Ok(());
    }
    let ids = app
        .store
        .cve_ids(CveIdFilter {
            case: Some(case_id),
            state: None,
        })
        .await?;
    let pending = app
        .store
        .jobs(JobFilter {
            case: Some(case_id),
            open_only: true,
            limit: 10,
        })
        .await?
        .iter()
        .any(|j| j.kind == cnadesk_store::JobKind::CveReserve);
    if !ids.is_empty() || pending {
        return Ok(());
    }
    let actor = event.actor.parse::<Actor>().unwrap_or_else(|_| component());
    let request = ReserveRequest {
        case: Some(case_id),
        amount: 1,
        year: year_of(app.now_ms()),
        batch: BatchType::Sequential,
    };
    if let Err(e) = crate::cve::reserve(app, request, &actor).await {
        tracing::warn!(case = %case_id, error = ?e, "reserving an ID on acceptance failed; a member can reserve one on the case's CVE page");
    }
    Ok(())
}

/// The calendar year (UTC) of a time.
pub fn year_of(ms: i64) -> i32 {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| i32::from(t.to_zoned(jiff::tz::TimeZone::UTC).year()))
        .unwrap_or(2026)
}

/// Saves version 1 of the record from the case's facts, when the case has
/// an ID and no version yet.
async fn draft_first_version(app: &App, case: &Case) -> Result<(), StoreError> {
    if !app.settings.lifecycle.draft_record {
        return Ok(());
    }
    let Some(cve) = case.cve_id.clone() else {
        return Ok(());
    };
    if !app.store.record_versions(case.id).await?.is_empty() {
        return Ok(());
    }
    let Some(report) = app.store.report(case.report_id).await? else {
        return Ok(());
    };
    let Some((author, actor)) = accepted_by(app, case).await? else {
        return Ok(());
    };
    let form = records::draft_form(app, case, &report).await?;
    let provider = app.settings.records.provider();
    let now = rfc3339(app.now_ms());
    let built = form.build(cve.as_str(), &provider, &now).or_else(|_| {
        // A vector that does not score is left for the member to fix.
        let mut without = form.clone();
        without.cvss_vector.clear();
        without.build(cve.as_str(), &provider, &now)
    });
    let Ok((container, map)) = built else {
        return Ok(());
    };
    let record = wrap_record(cve.as_str(), &provider, &container, &now);
    let findings = records::evaluate(app, &record, Some(&map));
    let draft = Draft {
        cve: &cve,
        container: &container,
        findings: &findings,
        note: "Drafted from the report when the case was accepted",
        based_on: 0,
    };
    match records::save(app, case, draft, author, &actor).await {
        Ok(_) | Err(records::SaveError::Stale) => Ok(()),
        Err(records::SaveError::CveTaken(m)) => {
            tracing::warn!(case = %case.id, "{m}");
            Ok(())
        }
        Err(records::SaveError::Store(e)) => Err(e),
    }
}

// ---- what the reporter sees ----------------------------------------------------------------

/// A stage of a report as its reporter knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Received, waiting for triage.
    Received,
    /// Accepted as a vulnerability in scope.
    Accepted,
    /// A CVE ID is reserved for it.
    CveReserved,
    /// The team works with the vendors.
    Coordinating,
    /// Under embargo until a date.
    UnderEmbargo,
    /// The CVE record and the advisory are public.
    Published,
    /// Closed (with nothing, or nothing more, to publish).
    Closed,
}

impl Stage {
    /// The stages a report goes through, in order.
    pub const PATH: [Stage; 5] = [
        Stage::Received,
        Stage::Accepted,
        Stage::CveReserved,
        Stage::Coordinating,
        Stage::Published,
    ];

    /// The stage's name.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Received => "Received",
            Stage::Accepted => "Accepted",
            Stage::CveReserved => "CVE ID reserved",
            Stage::Coordinating => "Coordinating with vendors",
            Stage::UnderEmbargo => "Under embargo",
            Stage::Published => "Published",
            Stage::Closed => "Closed",
        }
    }

    fn rank(self) -> usize {
        match self {
            Stage::Received => 0,
            Stage::Accepted => 1,
            Stage::CveReserved => 2,
            Stage::Coordinating | Stage::UnderEmbargo => 3,
            Stage::Published | Stage::Closed => 4,
        }
    }
}

/// Where a report stands, in the reporter's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReporterView {
    /// The stage.
    pub stage: Stage,
    /// One or two sentences on what it means and what comes next.
    pub text: String,
    /// The path of stages: (name, reached, current).
    pub path: Vec<(&'static str, bool, bool)>,
    /// The CVE ID, once one is the case's.
    pub cve_id: Option<String>,
    /// The advisory, once public.
    pub advisory_url: Option<String>,
    /// The credit as it will appear (or appears) in the record.
    pub credit: Option<String>,
    /// When the embargo ends (UTC, as text), while one runs.
    pub embargo_end: Option<String>,
}

/// Where `report` stands, as its reporter may know it. The reporter is a
/// party to the embargo (they found the flaw and agreed to coordinated
/// disclosure), so its end date is theirs to know; nothing else of the
/// coordination (vendors, their messages) is.
pub async fn reporter_view(
    app: &App,
    report: &cnadesk_store::Report,
) -> Result<ReporterView, StoreError> {
    use cnadesk_core::ReportState;
    let case = app.store.case_for_report(report.id).await?;
    let embargo = match &case {
        Some(c) => app.store.embargo(c.id).await?,
        None => None,
    };
    let running = embargo
        .as_ref()
        .filter(|e| e.lifted_at_ms.is_none() && e.broken_at_ms.is_none());
    let versions = match &case {
        Some(c) => app.store.record_versions(c.id).await?,
        None => Vec::new(),
    };
    let published = match case.as_ref().and_then(|c| c.cve_id.as_ref()) {
        Some(id) => app
            .store
            .cve_id_entry(id)
            .await?
            .is_some_and(|e| e.state == cnadesk_store::CveIdState::Published),
        None => false,
    };
    let (stage, text) = match (report.state, &case) {
        (ReportState::New, _) => (
            Stage::Received,
            "Your report is waiting for triage by the team.".to_owned(),
        ),
        (ReportState::Closed, _) => (
            Stage::Closed,
            format!(
                "The team closed this report ({}). You can still write to them below.",
                report
                    .close_reason
                    .map(|r| r.label())
                    .unwrap_or("closed")
                    .to_lowercase()
            ),
        ),
        (ReportState::Accepted, None) => (
            Stage::Accepted,
            "The team accepted your report as a vulnerability.".to_owned(),
        ),
        (ReportState::Accepted, Some(c)) => match c.state {
            CaseState::Published => (
                Stage::Published,
                "The CVE record and the advisory are public. Thank you for reporting it.".to_owned(),
            ),
            CaseState::Closed if published => (
                Stage::Published,
                "The CVE record and the advisory are public, and the case is closed. Thank you for reporting it.".to_owned(),
            ),
            CaseState::Closed | CaseState::Rejected => (
                Stage::Closed,
                "The team closed the case of your report. You can still write to them below.".to_owned(),
            ),
            _ if running.is_some() => (
                Stage::UnderEmbargo,
                "The team and the vendors agreed on a date for publication. Until then, please keep the details private.".to_owned(),
            ),
            CaseState::InCoordination => (
                Stage::Coordinating,
                "The team is working with the affected vendors on a fix and a date for publication.".to_owned(),
            ),
            _ if c.cve_id.is_some() => (
                Stage::CveReserved,
                "A CVE ID is reserved for the vulnerability; the team is preparing its record. It stays private until publication.".to_owned(),
            ),
            _ => (
                Stage::Accepted,
                "The team confirmed the vulnerability and opened a case for it.".to_owned(),
            ),
        },
    };
    let credit = match versions.first() {
        Some(v) => serde_json::from_str::<serde_json::Value>(&v.document)
            .ok()
            .and_then(|doc| {
                let names: Vec<String> = doc["credits"]
                    .as_array()?
                    .iter()
                    .filter_map(|c| c["value"].as_str().map(str::to_owned))
                    .collect();
                (!names.is_empty()).then(|| names.join(", "))
            }),
        None => report
            .fields
            .credit
            .clone()
            .filter(|_| !report.fields.anonymous),
    };
    let public = stage == Stage::Published;
    let cve_id = case
        .as_ref()
        .and_then(|c| c.cve_id.as_ref())
        .map(ToString::to_string);
    let path = Stage::PATH
        .iter()
        .map(|s| {
            let current = s.rank() == stage.rank() && stage != Stage::Closed;
            (
                if current { stage.label() } else { s.label() },
                s.rank() <= stage.rank(),
                current,
            )
        })
        .collect();
    Ok(ReporterView {
        stage,
        text,
        path,
        advisory_url: cve_id
            .as_ref()
            .filter(|_| public)
            .map(|id| format!("{}{id}", records::advisories_url(app))),
        cve_id,
        credit,
        embargo_end: running.map(|e| crate::text::utc(e.ends_at_ms)),
    })
}

// ---- the one next step of a case ----------------------------------------------------------

/// What the one button of a next step does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepAction {
    /// Nothing to press (someone else's turn, or a wait).
    None,
    /// Open a page (`href`).
    Open {
        /// Button text.
        label: String,
        /// Where.
        href: String,
    },
    /// Send a form (`POST action` with the hidden `fields`).
    Post {
        /// Button text.
        label: String,
        /// The form's action.
        action: String,
        /// Hidden fields.
        fields: Vec<(String, String)>,
    },
}

/// What must happen now on a case, who must do it, and the button that
/// does it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextStep {
    /// What, in one sentence.
    pub what: String,
    /// Who (a name, "you", "any member but …").
    pub who: String,
    /// The button.
    pub action: StepAction,
}

/// The next step of `case` as `viewer` sees it.
pub async fn next_step(app: &App, case: &Case, viewer: UserId) -> Result<NextStep, StoreError> {
    let n = case.id.0;
    let users = app.store.list_users().await?;
    let name = |id: UserId| {
        if id == viewer {
            "you".to_owned()
        } else {
            users
                .iter()
                .find(|u| u.id == id)
                .map(|u| u.display_name.clone())
                .unwrap_or_else(|| id.to_string())
        }
    };
    let owner = case
        .assignee
        .map(name)
        .unwrap_or_else(|| "any member (the case is unassigned)".to_owned());
    let step = |what: String, who: String, action: StepAction| NextStep { what, who, action };
    let open = |label: &str, href: String| StepAction::Open {
        label: label.to_owned(),
        href,
    };
    match case.state {
        CaseState::Closed | CaseState::Rejected => {
            return Ok(step(
                "Nothing: the case is finished.".into(),
                "nobody".into(),
                StepAction::None,
            ))
        }
        CaseState::Published => {
            // Vendors still working on their fixes keep the case open.
            let participants = app.store.participants(case.id).await?;
            let products = app.store.affected_products(case.id).await?;
            let waiting: Vec<&str> = participants
                .iter()
                .filter(|p| !crate::coordination::checklist_of(p, &products).released)
                .map(|p| p.contact_name.as_str())
                .collect();
            if !waiting.is_empty() {
                return Ok(step(
                    format!(
                        "Wait for the vendors: {} of {} have not yet released a fix for every product of theirs ({}); then close the case.",
                        waiting.len(),
                        participants.len(),
                        waiting.join(", ")
                    ),
                    "the vendors".into(),
                    open("See the coordination", format!("/desk/cases/{n}/coordination")),
                ));
            }
            return Ok(step(
                "Close the case: the record and the advisory are public, and the reporter was told."
                    .into(),
                owner,
                StepAction::Post {
                    label: "Close the case".into(),
                    action: format!("/desk/cases/{n}/transition"),
                    fields: vec![
                        ("to".into(), CaseState::Closed.as_str().into()),
                        ("reason".into(), "Published; nothing left to do.".into()),
                    ],
                },
            ));
        }
        _ => {}
    }
    let jobs = app
        .store
        .jobs(JobFilter {
            case: Some(case.id),
            open_only: true,
            limit: 20,
        })
        .await?;
    let pending = |kinds: &[cnadesk_store::JobKind]| jobs.iter().any(|j| kinds.contains(&j.kind));
    let Some(cve) = &case.cve_id else {
        if pending(&[cnadesk_store::JobKind::CveReserve]) {
            return Ok(step(
                "Wait: an ID is being reserved at CVE Services; the desk finishes it on its own."
                    .into(),
                "the desk".into(),
                open("See the call", format!("/desk/cases/{n}/cve")),
            ));
        }
        if app.cve.is_none() {
            return Ok(step(
                "Reserve a CVE ID: CVE Services is not configured, so enter an ID reserved elsewhere in the record editor.".into(),
                owner,
                open("Open the record editor", format!("/desk/cases/{n}/record")),
            ));
        }
        return Ok(step(
            "Reserve a CVE ID for the case; its record is then drafted from the report.".into(),
            owner,
            StepAction::Post {
                label: "Reserve one CVE ID".into(),
                action: format!("/desk/cases/{n}/cve/reserve"),
                fields: vec![
                    ("amount".into(), "1".into()),
                    ("year".into(), year_of(app.now_ms()).to_string()),
                    ("batch".into(), "sequential".into()),
                ],
            },
        ));
    };
    let versions = app.store.record_versions(case.id).await?;
    let Some(latest) = versions.first() else {
        return Ok(step(
            format!("Write the record of {cve}: the editor starts from the report."),
            owner,
            open("Write the record", format!("/desk/cases/{n}/record")),
        ));
    };
    let version_page = format!("/desk/cases/{n}/record/versions/{}", latest.version);
    if !latest.publishable() {
        return Ok(step(
            format!(
                "Fix the record: version {} does not pass the checks.",
                latest.version
            ),
            owner,
            open("Fix the record", format!("/desk/cases/{n}/record")),
        ));
    }
    let entry = app.store.cve_id_entry(&latest.cve_id).await?;
    let published = entry.as_ref().and_then(|e| e.published_version);
    if published == Some(latest.version) {
        return Ok(step(
            format!("Nothing now: version {} is published.", latest.version),
            "nobody".into(),
            StepAction::None,
        ));
    }
    if pending(&[
        cnadesk_store::JobKind::CvePublish,
        cnadesk_store::JobKind::CveUpdate,
    ]) {
        return Ok(step(
            "Wait: the publication is in progress; the desk finishes it on its own.".into(),
            "the desk".into(),
            open("See the call", format!("/desk/cases/{n}/cve")),
        ));
    }
    let approvals = app.store.record_approvals(case.id).await?;
    let approved = approvals.iter().any(|a| {
        a.version == latest.version && a.sha256 == latest.sha256 && a.approver != latest.author
    });
    if !approved {
        let author = name(latest.author);
        return Ok(if latest.author == viewer {
            step(
                format!(
                    "A second member reviews version {} of the record (you wrote it, or accepted the case it was drafted from).",
                    latest.version
                ),
                "any member but you".into(),
                open("See the version", version_page),
            )
        } else {
            step(
                format!(
                    "Review version {} of the record and approve it.",
                    latest.version
                ),
                format!("any member but {author}"),
                open(&format!("Review version {}", latest.version), version_page),
            )
        });
    }
    let embargo = app.store.embargo(case.id).await?;
    if let Some(e) = embargo.filter(|e| e.lifted_at_ms.is_none() && e.broken_at_ms.is_none()) {
        return Ok(step(
            format!(
                "Wait: version {} is approved and is published when the embargo ends ({} UTC).",
                latest.version,
                crate::text::utc(e.ends_at_ms)
            ),
            "the desk".into(),
            open(
                "See the coordination",
                format!("/desk/cases/{n}/coordination"),
            ),
        ));
    }
    Ok(step(
        format!("Publish version {} of the record.", latest.version),
        owner,
        StepAction::Post {
            label: format!("Publish version {}", latest.version),
            action: format!("/desk/cases/{n}/cve/publish"),
            fields: vec![("version".into(), latest.version.to_string())],
        },
    ))
}

/// The record versions waiting for `viewer`'s review: the latest version
/// of each open case, passing the checks, written by someone else, not yet
/// approved by another member, and not a case `viewer` is recused from.
pub async fn waiting_for_review(
    app: &App,
    viewer: UserId,
) -> Result<Vec<(Case, cnadesk_store::RecordVersion)>, StoreError> {
    let cases = app
        .store
        .list_cases(cnadesk_store::CaseFilter {
            open_only: true,
            assignee: None,
        })
        .await?;
    let recused: Vec<CaseId> = app
        .store
        .recusals(None)
        .await?
        .into_iter()
        .filter(|r| r.user == viewer)
        .map(|r| r.case)
        .collect();
    let mut out = Vec::new();
    for case in cases {
        if recused.contains(&case.id) {
            continue;
        }
        let versions = app.store.record_versions(case.id).await?;
        let Some(latest) = versions.into_iter().next() else {
            continue;
        };
        if latest.author == viewer || !latest.publishable() {
            continue;
        }
        let approved = app.store.record_approvals(case.id).await?.iter().any(|a| {
            a.version == latest.version && a.sha256 == latest.sha256 && a.approver != latest.author
        });
        if !approved {
            out.push((case, latest));
        }
    }
    Ok(out)
}
