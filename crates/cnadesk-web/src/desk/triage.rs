//! The triage queue, the report and case view, and triage actions.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_core::{AttachmentId, CaseId, CloseReason, ReportId, ReportState, UserId};
use cnadesk_store::{Author, CaseFilter, ReportFilter, Visibility};
use serde::Deserialize;

use super::case_and_report;
use crate::auth::Member;
use crate::extract::{CsrfForm, IdPath};
use crate::security::Csrf;
use crate::views::{fmt_age, fmt_ago, fmt_time, render, Layout};
use crate::{AppError, AppState};
use cnadesk_app::conversation::{self, MessageError};
use cnadesk_app::scope::scope_input;
use cnadesk_app::triage::{self, CloseChoice, ScopeChoice, TriageError};
use cnadesk_scope::Decision;

// ---- queue ---------------------------------------------------------------------------

struct QueueRow {
    id: String,
    number: i64,
    title: String,
    product: String,
    age: String,
    received: String,
    status: String,
    awaiting_reply: bool,
}

struct CaseRow {
    id: String,
    number: i64,
    cve_id: String,
    deadline: Option<super::cve::DeadlineView>,
    report_number: i64,
    title: String,
    state: String,
    assignee: String,
    updated: String,
}

struct Tab {
    key: &'static str,
    label: &'static str,
    active: bool,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    layout: Layout,
    tabs: Vec<Tab>,
    showing_cases: bool,
    rows: Vec<QueueRow>,
    cases: Vec<CaseRow>,
    empty_text: String,
    /// Record versions waiting for this member's review: (case, title,
    /// CVE ID, version, author).
    reviews: Vec<(i64, String, String, i64, String)>,
}

/// Which list the queue shows.
#[derive(Debug, Deserialize)]
pub struct QueueQuery {
    view: Option<String>,
}

const TABS: [(&str, &str); 5] = [
    ("new", "Awaiting triage"),
    ("cases", "Open cases"),
    ("closed", "Closed"),
    ("spam", "Spam"),
    ("all", "All reports"),
];

/// `GET /desk`
pub async fn queue(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    Query(q): Query<QueueQuery>,
) -> Result<Response, AppError> {
    let view = q
        .view
        .filter(|v| TABS.iter().any(|(k, _)| k == v))
        .unwrap_or_else(|| "new".into());
    let now = state.now_ms();
    let users = state.store.list_users().await?;
    let name_of = |id: Option<UserId>| {
        id.and_then(|id| users.iter().find(|u| u.id == id))
            .map(|u| u.display_name.clone())
            .unwrap_or_else(|| "unassigned".into())
    };
    let mut rows = Vec::new();
    let mut cases = Vec::new();
    if view == "cases" {
        let ids = state
            .store
            .cve_ids(cnadesk_store::CveIdFilter::default())
            .await?;
        let mut deadlines = super::cve::deadlines_by_case(&ids, now);
        cases = state
            .store
            .list_cases(CaseFilter {
                open_only: true,
                assignee: None,
            })
            .await?
            .into_iter()
            .map(|c| CaseRow {
                id: c.id.to_string(),
                number: c.id.0,
                cve_id: c.cve_id.as_ref().map(|i| i.to_string()).unwrap_or_default(),
                deadline: deadlines.remove(&c.id).map(|(_, d)| d),
                report_number: c.report_id.0,
                title: c.title,
                state: c.state.label().into(),
                assignee: name_of(c.assignee),
                updated: fmt_ago(c.updated_at_ms, now),
            })
            .collect();
    } else {
        let filter = match view.as_str() {
            "new" => ReportFilter {
                state: Some(ReportState::New),
                spam: Some(false),
                limit: 500,
            },
            "closed" => ReportFilter {
                state: Some(ReportState::Closed),
                spam: Some(false),
                limit: 500,
            },
            "spam" => ReportFilter {
                state: None,
                spam: Some(true),
                limit: 500,
            },
            _ => ReportFilter {
                limit: 500,
                ..Default::default()
            },
        };
        rows = state
            .store
            .list_reports(filter)
            .await?
            .into_iter()
            .map(|r| QueueRow {
                id: r.id.to_string(),
                number: r.id.0,
                title: r.title,
                product: r.product,
                age: fmt_age(r.created_at_ms, now),
                received: fmt_time(r.created_at_ms),
                status: match (r.state, r.close_reason, r.case_id) {
                    (ReportState::Closed, Some(reason), _) => format!("Closed: {}", reason.label()),
                    (ReportState::Accepted, _, Some(case)) => format!("Case {case}"),
                    (state, _, _) => state.as_str().to_owned(),
                },
                awaiting_reply: r.awaiting_reply,
            })
            .collect();
    }
    let empty_text = match view.as_str() {
        "new" => "Nothing awaits triage.",
        "cases" => "No open cases.",
        _ => "Nothing here.",
    }
    .to_owned();
    Ok(render(
        StatusCode::OK,
        &QueuePage {
            reviews: cnadesk_app::lifecycle::waiting_for_review(&state, member.user.id)
                .await?
                .into_iter()
                .map(|(c, v)| {
                    (
                        c.id.0,
                        c.title,
                        v.cve_id.to_string(),
                        v.version,
                        name_of(Some(v.author)),
                    )
                })
                .collect(),
            layout: member.layout(&state, "Triage queue", &csrf.token),
            tabs: TABS
                .iter()
                .map(|(key, label)| Tab {
                    key,
                    label,
                    active: *key == view,
                })
                .collect(),
            showing_cases: view == "cases",
            rows,
            cases,
            empty_text,
        },
    ))
}

// ---- report and case view ------------------------------------------------------

struct Detail {
    label: &'static str,
    value: String,
}

struct ThreadItem {
    internal: bool,
    from_reporter: bool,
    author: String,
    when: String,
    body: String,
}

struct FileRow {
    id: i64,
    filename: String,
    content_type: String,
    size: String,
    sha256: String,
}

struct Choice {
    value: String,
    label: String,
    selected: bool,
}

struct EventRow {
    seq: i64,
    when: String,
    actor: String,
    action: String,
    details: String,
}

struct CaseView {
    id: String,
    number: i64,
    title: String,
    state: String,
    assignee: String,
    assignment_reason: String,
    transitions: Vec<Choice>,
    members: Vec<Choice>,
    cve_id: String,
    /// The latest record version and its checks, if any was saved.
    record: String,
    /// The most urgent publication clock (rule 4.5.1.4).
    deadline: Option<super::cve::DeadlineView>,
    /// What must happen now.
    next: Option<NextView>,
}

/// The next step, as the page shows it.
pub(crate) struct NextView {
    pub(crate) what: String,
    pub(crate) who: String,
    /// `open`, `post` or empty.
    pub(crate) kind: &'static str,
    pub(crate) label: String,
    pub(crate) target: String,
    pub(crate) fields: Vec<(String, String)>,
}

impl From<cnadesk_app::lifecycle::NextStep> for NextView {
    fn from(n: cnadesk_app::lifecycle::NextStep) -> Self {
        use cnadesk_app::lifecycle::StepAction;
        let (kind, label, target, fields) = match n.action {
            StepAction::None => ("", String::new(), String::new(), Vec::new()),
            StepAction::Open { label, href } => ("open", label, href, Vec::new()),
            StepAction::Post {
                label,
                action,
                fields,
            } => ("post", label, action, fields),
        };
        NextView {
            what: n.what,
            who: n.who,
            kind,
            label,
            target,
            fields,
        }
    }
}

/// Text a member typed into a form on this page, kept when the form fails.
#[derive(Default)]
struct Drafts {
    error: String,
    reply: String,
    note: String,
    close_detail: String,
    reason: String,
    scope_decision: String,
    scope_rule: String,
    scope_referral: String,
    scope_reason: String,
    scope_product: String,
}

/// A recorded scope decision, for the page.
struct RecordedScope {
    decision: Decision,
    rule: String,
    policy_version: String,
    who: String,
    when: String,
    overridden: bool,
    reason: String,
    referral: String,
}

/// The scope section of the report page: the engine's proposal, what was
/// decided, and the form to decide.
struct ScopeSection {
    proposal: crate::scope_view::AssessmentView,
    recorded: Vec<RecordedScope>,
    can_decide: bool,
    decisions: Vec<Choice>,
    rules: Vec<Choice>,
    referral: String,
    reason: String,
    products: Vec<Choice>,
}

impl Drafts {
    /// Only an error (the form had nothing worth keeping).
    fn error(error: String) -> Self {
        Drafts {
            error,
            ..Default::default()
        }
    }
}

#[derive(Template)]
#[template(path = "report_view.html")]
struct ReportPage {
    layout: Layout,
    number: i64,
    id: String,
    title: String,
    product: String,
    received: String,
    channel: String,
    state: String,
    awaiting_triage: bool,
    closed_as: String,
    details: Vec<Detail>,
    description: String,
    impact: String,
    reproduction: String,
    pgp_key: String,
    files: Vec<FileRow>,
    thread: Vec<ThreadItem>,
    case: Option<CaseView>,
    close_reasons: Vec<Choice>,
    events: Vec<EventRow>,
    scope: ScopeSection,
    team: super::team::TeamPanel,
    /// What the desk told whom about this report (the outbox).
    sent: Vec<SentRow>,
    drafts: Drafts,
}

/// One message the desk sent (or will send) about a report.
struct SentRow {
    what: String,
    to: String,
    channel: String,
    state: String,
    when: String,
    error: String,
}

fn human_size(n: i64) -> String {
    match n {
        n if n < 1024 => format!("{n} B"),
        n if n < 1024 * 1024 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0)),
    }
}

async fn report_page(
    state: &AppState,
    member: &Member,
    csrf: &str,
    id: ReportId,
    drafts: Drafts,
) -> Result<ReportPage, AppError> {
    let report = state.store.report(id).await?.ok_or(AppError::NotFound)?;
    let f = &report.fields;
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    let mut details = vec![
        Detail {
            label: "Reporter",
            value: if f.anonymous {
                "anonymous".into()
            } else {
                f.reporter_name
                    .clone()
                    .unwrap_or_else(|| "(no name given)".into())
            },
        },
        Detail {
            label: "Contact",
            value: f
                .reporter_email
                .clone()
                .unwrap_or_else(|| "(tracking link only)".into()),
        },
        Detail {
            label: "Versions",
            value: f.versions.clone().unwrap_or_else(|| "(not given)".into()),
        },
        Detail {
            label: "Already public",
            value: match &f.public_where {
                Some(w) => format!("yes: {w}"),
                None => yes_no(f.already_public),
            },
        },
        Detail {
            label: "Asked another CNA",
            value: match &f.other_cna {
                Some(c) => format!("yes: {c}"),
                None => yes_no(f.asked_other_cna),
            },
        },
        Detail {
            label: "Preferred credit",
            value: f.credit.clone().unwrap_or_else(|| "(none)".into()),
        },
    ];
    if let Some(of) = report.duplicate_of {
        details.push(Detail {
            label: "Duplicate of",
            value: of.to_string(),
        });
    }
    if let Some(d) = &report.close_detail {
        details.push(Detail {
            label: "Closing note",
            value: d.clone(),
        });
    }
    let files = state
        .store
        .attachments(id)
        .await?
        .into_iter()
        .map(|a| FileRow {
            id: a.id.0,
            filename: a.filename,
            content_type: a.content_type,
            size: human_size(a.size),
            sha256: a.sha256,
        })
        .collect();
    let thread = state
        .store
        .messages(id, true)
        .await?
        .into_iter()
        .map(|m| ThreadItem {
            internal: m.visibility == Visibility::Internal,
            from_reporter: matches!(m.author, Author::Reporter),
            author: match m.author {
                Author::Member { name, .. } => name,
                Author::Reporter => "Reporter".into(),
            },
            when: fmt_time(m.created_at_ms),
            body: m.body,
        })
        .collect();
    let users = state.store.list_users().await?;
    let case = state.store.case_for_report(id).await?;
    let team = super::team::team_panel(state, member, id, case.as_ref()).await?;
    let latest_record = match &case {
        Some(c) => state.store.record_versions(c.id).await?.into_iter().next(),
        None => None,
    };
    let mut deadline = match &case {
        Some(c) => {
            let ids = state
                .store
                .cve_ids(cnadesk_store::CveIdFilter {
                    case: Some(c.id),
                    state: None,
                })
                .await?;
            super::cve::deadlines_by_case(&ids, state.now_ms())
                .remove(&c.id)
                .map(|(_, d)| d)
        }
        None => None,
    };
    let next = match &case {
        Some(c) => Some(cnadesk_app::lifecycle::next_step(state, c, member.user.id).await?),
        None => None,
    };
    let case = match case {
        Some(c) => Some(CaseView {
            next: next.map(NextView::from),
            deadline: deadline.take(),
            cve_id: c.cve_id.as_ref().map(|c| c.to_string()).unwrap_or_default(),
            record: latest_record
                .map(|v| {
                    format!(
                        "version {}, {}",
                        v.version,
                        if v.publishable() {
                            "valid and lint-clean"
                        } else {
                            "not yet publishable"
                        }
                    )
                })
                .unwrap_or_default(),
            id: c.id.to_string(),
            number: c.id.0,
            title: c.title.clone(),
            state: c.state.label().into(),
            assignee: c
                .assignee
                .and_then(|a| users.iter().find(|u| u.id == a))
                .map(|u| u.display_name.clone())
                .unwrap_or_else(|| "unassigned".into()),
            assignment_reason: c.assignment_reason.clone().unwrap_or_default(),
            transitions: c
                .state
                .by_hand()
                .iter()
                .map(|s| Choice {
                    value: s.as_str().into(),
                    label: s.label().into(),
                    selected: false,
                })
                .collect(),
            members: users
                .iter()
                .filter(|u| u.active)
                .map(|u| Choice {
                    value: u.id.0.to_string(),
                    label: u.display_name.clone(),
                    selected: Some(u.id) == c.assignee,
                })
                .collect(),
        }),
        None => None,
    };
    let events = state
        .store
        .audit_events_for_report(id)
        .await?
        .into_iter()
        .map(|e| EventRow {
            seq: e.seq,
            when: fmt_time(e.occurred_at_ms),
            actor: e.actor,
            action: e.action,
            details: cnadesk_core::audit::canonical_json(&e.payload),
        })
        .collect();
    let registry = state.scope.registry(&*state.store).await?;
    let proposal = state
        .scope
        .assess(&registry, &scope_input(f), state.now_ms());
    let recorded: Vec<RecordedScope> = state
        .store
        .scope_decisions(id)
        .await?
        .into_iter()
        .map(|d| RecordedScope {
            decision: d.decision,
            rule: d.rule.unwrap_or_default(),
            policy_version: d.policy_version,
            who: users
                .iter()
                .find(|u| u.id == d.decided_by)
                .map(|u| u.display_name.clone())
                .unwrap_or_else(|| d.decided_by.to_string()),
            when: fmt_time(d.decided_at_ms),
            overridden: d.overridden,
            reason: d.reason,
            referral: d.referral_cna.unwrap_or_default(),
        })
        .collect();
    let mut drafts = drafts;
    if let Some(latest) = recorded.first() {
        if drafts.reason.is_empty() && latest.decision != Decision::InScope {
            drafts.reason = CloseReason::OutOfScope.as_str().into();
            if drafts.close_detail.is_empty() {
                drafts.close_detail = if latest.referral.is_empty() {
                    format!(
                        "Out of scope (rule {}, policy {}).",
                        latest.rule, latest.policy_version
                    )
                } else {
                    format!(
                        "Referred to {} (rule {}, policy {}).",
                        latest.referral, latest.rule, latest.policy_version
                    )
                };
            }
        }
    }
    let chosen_decision = if !drafts.scope_decision.is_empty() {
        drafts.scope_decision.clone()
    } else {
        proposal.decision.as_str().to_owned()
    };
    let chosen_rule = if !drafts.scope_decision.is_empty() {
        drafts.scope_rule.clone()
    } else {
        proposal.rule.clone().unwrap_or_default()
    };
    let scope = ScopeSection {
        proposal: crate::scope_view::AssessmentView::new(&proposal),
        can_decide: report.state.awaits_triage(),
        decisions: Decision::FINAL
            .iter()
            .map(|d| Choice {
                value: d.as_str().into(),
                label: d.label().into(),
                selected: chosen_decision == d.as_str(),
            })
            .collect(),
        rules: std::iter::once(Choice {
            value: String::new(),
            label: "(no rule: explain in the reason)".into(),
            selected: chosen_rule.is_empty(),
        })
        .chain(state.scope.policy().rules.iter().map(|r| Choice {
            value: r.id.clone(),
            label: format!("{}: {}", r.id, r.question),
            selected: chosen_rule == r.id,
        }))
        .collect(),
        referral: if drafts.scope_decision.is_empty() {
            proposal
                .referral
                .as_ref()
                .map(|r| r.short_name.clone())
                .unwrap_or_default()
        } else {
            drafts.scope_referral.clone()
        },
        reason: drafts.scope_reason.clone(),
        products: product_choices(&proposal, &drafts),
        recorded,
    };
    let sent = state
        .store
        .outbox(cnadesk_store::OutboxFilter {
            report: Some(id),
            limit: 200,
            ..Default::default()
        })
        .await?
        .into_iter()
        .map(|m| SentRow {
            state: cnadesk_app::notify::delivery_status(&m),
            what: m.template.replace('_', " "),
            to: m.recipient,
            channel: m.channel.to_string(),
            when: fmt_time(m.sent_at_ms.unwrap_or(m.created_at_ms)),
            error: m.last_error,
        })
        .collect();
    Ok(ReportPage {
        team,
        sent,
        layout: member.layout(state, &format!("{id}: {}", f.title), csrf),
        number: id.0,
        id: id.to_string(),
        title: f.title.clone(),
        product: f.product.clone(),
        received: fmt_time(report.created_at_ms),
        channel: report.channel.as_str().into(),
        state: report.state.as_str().into(),
        awaiting_triage: report.state.awaits_triage(),
        closed_as: report
            .close_reason
            .map(|r| r.label().to_owned())
            .unwrap_or_default(),
        details,
        description: f.description.clone(),
        impact: f.impact.clone().unwrap_or_default(),
        reproduction: f.reproduction.clone().unwrap_or_default(),
        pgp_key: f.pgp_key.clone().unwrap_or_default(),
        files,
        thread,
        case,
        close_reasons: CloseReason::ALL
            .iter()
            .map(|r| Choice {
                value: r.as_str().into(),
                label: r.label().into(),
                selected: drafts.reason == r.as_str(),
            })
            .collect(),
        events,
        scope,
        drafts,
    })
}

/// `GET /desk/reports/{id}`
pub async fn report_view(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<ReportId>,
) -> Result<Response, AppError> {
    let page = report_page(&state, &member, &csrf.token, id, Drafts::default()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// Shows the report page again with an error and the member's drafts.
async fn again(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    id: ReportId,
    drafts: Drafts,
) -> Result<Response, AppError> {
    let page = report_page(state, member, &csrf.token, id, drafts).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// The accept form.
#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    title: String,
}

/// `POST /desk/reports/{id}/accept`
pub async fn accept_report(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<ReportId>,
    CsrfForm(form): CsrfForm<AcceptForm>,
) -> Result<Response, AppError> {
    match triage::accept(&state, id, &form.title, &member.actor()).await {
        Ok(_) => Ok(Redirect::to(&format!("/desk/reports/{}#case", id.0)).into_response()),
        Err(e) => refused(&state, &member, &csrf, id, e, Drafts::error).await,
    }
}

/// The report page again with the member's drafts when a triage step was
/// refused; other failures as errors.
async fn refused(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    id: ReportId,
    error: TriageError,
    drafts: impl FnOnce(String) -> Drafts,
) -> Result<Response, AppError> {
    match error {
        TriageError::Refused(m) => again(state, member, csrf, id, drafts(m)).await,
        TriageError::NotFound => Err(AppError::NotFound),
        TriageError::Store(e) => Err(e.into()),
    }
}

/// The products a member can decide on: the proposal's, the candidates, or none.
fn product_choices(proposal: &cnadesk_scope::Assessment, drafts: &Drafts) -> Vec<Choice> {
    let chosen = if drafts.scope_decision.is_empty() {
        proposal
            .product
            .as_ref()
            .map(|p| p.key.clone())
            .unwrap_or_default()
    } else {
        drafts.scope_product.clone()
    };
    let mut options: Vec<(String, String)> = Vec::new();
    for p in proposal.product.iter().chain(proposal.candidates.iter()) {
        if !options.iter().any(|(k, _)| *k == p.key) {
            options.push((p.key.clone(), p.name.clone()));
        }
    }
    std::iter::once(Choice {
        value: String::new(),
        label: "(none: not in the registry)".into(),
        selected: chosen.is_empty(),
    })
    .chain(options.into_iter().map(|(key, name)| Choice {
        selected: chosen == key,
        value: key,
        label: name,
    }))
    .collect()
}

/// The scope decision form.
#[derive(Debug, Deserialize)]
pub struct ScopeForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    referral: String,
    /// Absent: the proposal's product; empty: none.
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    reason: String,
}

/// `POST /desk/reports/{id}/scope`: confirms the proposal or overrides it
/// with a reason.
pub async fn decide_scope(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<ReportId>,
    CsrfForm(form): CsrfForm<ScopeForm>,
) -> Result<Response, AppError> {
    let drafts = |error: String| Drafts {
        error,
        scope_decision: form.decision.clone(),
        scope_rule: form.rule.clone(),
        scope_referral: form.referral.clone(),
        scope_reason: form.reason.clone(),
        scope_product: form.product.clone().unwrap_or_default(),
        ..Default::default()
    };
    let choice = ScopeChoice {
        decision: form.decision.clone(),
        rule: form.rule.clone(),
        referral: form.referral.clone(),
        product: form.product.clone(),
        reason: form.reason.clone(),
    };
    match triage::decide_scope(&state, id, &choice, &member.actor()).await {
        Ok(()) => Ok(Redirect::to(&format!("/desk/reports/{}#scope", id.0)).into_response()),
        Err(e) => refused(&state, &member, &csrf, id, e, drafts).await,
    }
}

/// The close form.
#[derive(Debug, Deserialize)]
pub struct CloseForm {
    reason: String,
    #[serde(default)]
    duplicate_of: String,
    #[serde(default)]
    detail: String,
}

/// `POST /desk/reports/{id}/close`
pub async fn close_report(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<ReportId>,
    CsrfForm(form): CsrfForm<CloseForm>,
) -> Result<Response, AppError> {
    let drafts = |error: String| Drafts {
        error,
        close_detail: form.detail.clone(),
        reason: form.reason.clone(),
        ..Default::default()
    };
    let choice = CloseChoice {
        reason: form.reason.clone(),
        duplicate_of: form.duplicate_of.clone(),
        detail: form.detail.clone(),
    };
    match triage::close(&state, id, &choice, &member.actor()).await {
        Ok(()) => Ok(Redirect::to(&format!("/desk/reports/{}", id.0)).into_response()),
        Err(e) => refused(&state, &member, &csrf, id, e, drafts).await,
    }
}

/// The message form (reply to the reporter or internal note).
#[derive(Debug, Deserialize)]
pub struct MessageForm {
    visibility: String,
    body: String,
}

/// `POST /desk/reports/{id}/messages`
pub async fn post_message(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<ReportId>,
    CsrfForm(form): CsrfForm<MessageForm>,
) -> Result<Response, AppError> {
    let visibility = Visibility::parse(&form.visibility).ok_or_else(|| {
        AppError::Invalid("A message is either shared with the reporter or internal.".into())
    })?;
    let drafts = |error: String| match visibility {
        Visibility::Reporter => Drafts {
            error,
            reply: form.body.clone(),
            ..Default::default()
        },
        Visibility::Internal => Drafts {
            error,
            note: form.body.clone(),
            ..Default::default()
        },
    };
    let author = (member.user.id, member.user.display_name.as_str());
    match conversation::member_writes(&state, id, author, visibility, &form.body, &member.actor())
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/desk/reports/{}#thread", id.0)).into_response()),
        Err(MessageError::Refused(m)) => again(&state, &member, &csrf, id, drafts(m)).await,
        Err(MessageError::Store(e)) => Err(e.into()),
    }
}

/// `GET /desk/reports/{id}/attachments/{attachment}`: always a download,
/// never rendered by the browser, and every download is audited.
pub async fn download_attachment(
    State(state): State<AppState>,
    member: Member,
    IdPath((id, aid)): IdPath<(ReportId, AttachmentId)>,
) -> Result<Response, AppError> {
    let file = conversation::read_attachment(&state, id, aid, &member.actor())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(crate::views::file_download(&file.meta.filename, file.data))
}

/// `GET /desk/cases/{id}`: the case lives on its report's page.
pub async fn case_redirect(
    State(state): State<AppState>,
    _member: Member,
    IdPath(id): IdPath<CaseId>,
) -> Result<Response, AppError> {
    let case = state.store.case(id).await?.ok_or(AppError::NotFound)?;
    Ok(Redirect::to(&format!("/desk/reports/{}#case", case.report_id.0)).into_response())
}

/// The state-change form.
#[derive(Debug, Deserialize)]
pub struct TransitionForm {
    to: String,
    #[serde(default)]
    reason: String,
}

/// `POST /desk/cases/{id}/transition`
pub async fn transition_case(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<TransitionForm>,
) -> Result<Response, AppError> {
    let (case_id, report_id) = case_and_report(&state, id).await?;
    match triage::move_case(&state, case_id, &form.to, &form.reason, &member.actor()).await {
        Ok(()) => Ok(Redirect::to(&format!("/desk/reports/{}#case", report_id.0)).into_response()),
        Err(e) => refused(&state, &member, &csrf, report_id, e, Drafts::error).await,
    }
}

/// The assignment form.
#[derive(Debug, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    assignee: String,
    #[serde(default)]
    reason: String,
}

/// `POST /desk/cases/{id}/assign`
pub async fn assign_case(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<AssignForm>,
) -> Result<Response, AppError> {
    let (case_id, report_id) = case_and_report(&state, id).await?;
    let chosen = match form.assignee.trim() {
        "" => None,
        s => Some(
            s.parse::<UserId>()
                .map_err(|_| AppError::Invalid("Unknown member.".into()))?,
        ),
    };
    match triage::assign(&state, case_id, chosen, &form.reason, &member.actor()).await {
        Ok(()) => Ok(Redirect::to(&format!("/desk/reports/{}#case", report_id.0)).into_response()),
        Err(e) => refused(&state, &member, &csrf, report_id, e, Drafts::error).await,
    }
}
