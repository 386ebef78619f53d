//! The team at work: who can take a case (capacity, absence, recusal), the
//! automatic assignment of new cases, the response-time clocks of open
//! reports and cases, and the sweep that warns, hands work on before it is
//! late and offers an absent member's cases to others.

use std::collections::{BTreeMap, BTreeSet};

use cnadesk_core::assignment::{Assignment, Candidate};
use cnadesk_core::audit::{AuditAction, AuditEvent, EventDraft};
use cnadesk_core::clocks::{self, AlertKind, Measured};
use cnadesk_core::sla::utc_date_ms as date_of;
use cnadesk_core::sla_policy::SlaPolicy;
use cnadesk_core::team::{self, AffectedProduct, Recusal, RecusalSource, Shift};
use cnadesk_core::{Actor, CaseId, ReportId, ReportState, UserId};
use cnadesk_store::{Case, CaseFilter, ReportFilter, StoreError};
use serde_json::json;

use crate::App;

/// The members as assignment sees them for `case` today.
pub async fn candidates(app: &App, case: Option<CaseId>) -> Result<Vec<Candidate>, StoreError> {
    let store = &*app.store;
    let today = date_of(app.now_ms());
    let counts: BTreeMap<UserId, i64> = store.open_case_counts().await?.into_iter().collect();
    let profiles: BTreeMap<UserId, i64> = store
        .profiles()
        .await?
        .into_iter()
        .map(|p| (p.user, p.capacity))
        .collect();
    let absences = store.absences().await?;
    let recusals = match case {
        Some(c) => store.recusals(Some(c)).await?,
        None => Vec::new(),
    };
    let last: BTreeMap<UserId, i64> = store.last_assignments().await?.into_iter().collect();
    Ok(store
        .list_users()
        .await?
        .into_iter()
        .map(|u| Candidate {
            capacity: profiles.get(&u.id).copied().unwrap_or(0),
            away: team::away_reason(&absences, u.id, today),
            recused: recusals
                .iter()
                .find(|r| r.user == u.id)
                .map(|r| r.reason.clone()),
            last_assigned_ms: last.get(&u.id).copied(),
            ..Candidate::new(
                u.id,
                &u.username,
                u.active,
                counts.get(&u.id).copied().unwrap_or(0),
            )
        })
        .collect())
}

/// The products a case is about: the product of its latest scope decision
/// and every product a vulnerability of the case lists.
pub async fn affected_products(app: &App, case: &Case) -> Result<Vec<AffectedProduct>, StoreError> {
    let policy = app.team.policy();
    let mut keys: Vec<String> = Vec::new();
    let decisions = app.store.scope_decisions(case.report_id).await?;
    if let Some(key) = decisions.first().and_then(|d| d.product_key.clone()) {
        keys.push(key);
    }
    // Every product a vulnerability of the case lists (coordination).
    for row in app.store.affected_products(case.id).await? {
        if !keys.contains(&row.product_key) {
            keys.push(row.product_key);
        }
    }
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let registry = app.scope.registry(&*app.store).await?;
    Ok(keys
        .into_iter()
        .map(|key| AffectedProduct {
            competitors: policy.competitors_of(&key),
            name: registry
                .product(&key)
                .map(|p| p.name.clone())
                .unwrap_or_else(|| key.clone()),
            key,
        })
        .collect())
}

/// Records the recusals that declared affiliations call for on `case`.
/// Returns the members newly recused.
pub async fn recuse_affiliated(app: &App, case: &Case) -> Result<Vec<UserId>, StoreError> {
    let affected = affected_products(app, case).await?;
    if affected.is_empty() {
        return Ok(Vec::new());
    }
    let affiliations = app.store.affiliations().await?;
    let mut newly = Vec::new();
    for (user, reason) in team::recusals_for(&affiliations, &affected) {
        let recorded = app
            .store
            .recuse(
                Recusal {
                    case: case.id,
                    user,
                    reason,
                    source: RecusalSource::Affiliation,
                    created_at_ms: 0,
                },
                &Actor::system("recusal"),
                app.now_ms(),
            )
            .await?;
        if recorded {
            newly.push(user);
        }
    }
    Ok(newly)
}

/// Recuses affiliated members, then assigns the case by the assignment
/// policy. `None` when the policy leaves it to a person (nobody eligible).
pub async fn auto_assign(app: &App, case_id: CaseId) -> Result<Option<Assignment>, StoreError> {
    let Some(case) = app.store.case(case_id).await? else {
        return Ok(None);
    };
    recuse_affiliated(app, &case).await?;
    let candidates = candidates(app, Some(case_id)).await?;
    let Some(assignment) = app.assignment.propose(&candidates) else {
        return Ok(None);
    };
    app.store
        .assign_case(
            case_id,
            assignment.assignee,
            &assignment.reason,
            &Actor::system("assignment"),
            app.now_ms(),
        )
        .await?;
    Ok(Some(assignment))
}

/// The team's response-time commitments (the SLA policy in force).
#[derive(Debug)]
pub struct TeamDesk {
    policy: SlaPolicy,
}

impl TeamDesk {
    /// With the shipped SLA policy.
    pub fn bundled() -> Self {
        TeamDesk::new(SlaPolicy::bundled())
    }

    /// With this policy.
    pub fn new(policy: SlaPolicy) -> Self {
        TeamDesk { policy }
    }

    /// The policy.
    pub fn policy(&self) -> &SlaPolicy {
        &self.policy
    }
}

/// The severity of a case from its latest record (`critical`, `high`, …).
pub async fn severity(app: &App, case: CaseId) -> Result<Option<String>, StoreError> {
    let versions = app.store.record_versions(case).await?;
    Ok(versions.first().and_then(|v| severity_in(&v.document)))
}

fn severity_in(document: &str) -> Option<String> {
    let doc: serde_json::Value = serde_json::from_str(document).ok()?;
    doc["metrics"].as_array()?.iter().find_map(|m| {
        ["cvssV4_0", "cvssV3_1", "cvssV3_0"]
            .iter()
            .find_map(|k| m[*k]["baseSeverity"].as_str())
            .map(|s| s.to_ascii_lowercase())
    })
}

/// Measures the clocks of these reports at now.
pub async fn measure_reports(app: &App, reports: &[ReportId]) -> Result<Vec<Measured>, StoreError> {
    let events = app.store.audit_events_for_reports(reports).await?;
    measure_events(app, &events, Audience::Team).await
}

/// Who will see measured clocks: the public may not learn anything from a
/// case still under embargo, such as the severity in its unpublished record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Team pages and the sweep.
    Team,
    /// `/stats`: severities only from published cases.
    Public,
}

/// Measures the clocks in these events at now.
pub async fn measure_events(
    app: &App,
    events: &[AuditEvent],
    audience: Audience,
) -> Result<Vec<Measured>, StoreError> {
    let tracked = clocks::derive(events);
    // Only CVE decisions have per-severity targets.
    let wanted: BTreeSet<CaseId> = tracked
        .iter()
        .filter(|t| t.key == cnadesk_core::sla_policy::TargetKey::CveDecision)
        .filter_map(|t| t.case)
        .collect();
    let published: BTreeSet<CaseId> = match audience {
        Audience::Team => BTreeSet::new(),
        Audience::Public => app
            .store
            .list_cases(CaseFilter::default())
            .await?
            .into_iter()
            .filter(|c| c.state == cnadesk_core::CaseState::Published)
            .map(|c| c.id)
            .collect(),
    };
    let mut severities: BTreeMap<CaseId, Option<String>> = BTreeMap::new();
    for c in wanted {
        if audience == Audience::Team || published.contains(&c) {
            severities.insert(c, severity(app, c).await?);
        }
    }
    Ok(clocks::measure(
        tracked,
        app.team.policy(),
        app.clock.now(),
        |c| severities.get(&c).cloned().flatten(),
    ))
}

/// The reports with something still to do: awaiting triage, or with an open case.
pub async fn open_reports(app: &App) -> Result<(Vec<ReportId>, Vec<Case>), StoreError> {
    let new = app
        .store
        .list_reports(ReportFilter {
            state: Some(ReportState::New),
            spam: Some(false),
            limit: 0,
        })
        .await?;
    let cases = app
        .store
        .list_cases(CaseFilter {
            open_only: true,
            assignee: None,
        })
        .await?;
    let mut ids: BTreeSet<ReportId> = new.iter().map(|r| r.id).collect();
    ids.extend(cases.iter().map(|c| c.report_id));
    // An inquiry can arrive after a case is published or closed.
    let mut inquiry_open: BTreeMap<i64, bool> = BTreeMap::new();
    for e in app
        .store
        .audit_events_by_actions(
            &[
                AuditAction::SlaInquiryReceived,
                AuditAction::SlaInquiryAnswered,
            ],
            0,
        )
        .await?
    {
        inquiry_open.insert(
            e.report_id.unwrap_or_default(),
            e.is(AuditAction::SlaInquiryReceived),
        );
    }
    ids.extend(
        inquiry_open
            .into_iter()
            .filter(|(_, open)| *open)
            .map(|(r, _)| ReportId(r)),
    );
    Ok((ids.into_iter().collect(), cases))
}

/// What one sweep did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sweep {
    /// Warnings sent.
    pub warnings: usize,
    /// Items handed on.
    pub escalations: usize,
    /// Breaches recorded.
    pub breaches: usize,
    /// Cases of absent members offered to others.
    pub offered: usize,
}

/// The shifts around now (a year each way is plenty for hand-on).
pub async fn shifts_now(app: &App) -> Result<Vec<Shift>, StoreError> {
    let now = app.now_ms();
    let year = 366 * 86_400_000;
    app.store.shifts(now - year, now + year).await
}

/// Warns, hands on and records breaches for every clock that crossed a
/// threshold since the last sweep, and offers the cases of members who are
/// away to the member the assignment policy would choose. Safe to run
/// often: each alert and each offer happens once.
pub async fn sweep(app: &App) -> Result<Sweep, StoreError> {
    let now = app.now_ms();
    let (reports, cases) = open_reports(app).await?;
    let measured = measure_reports(app, &reports).await?;
    let policy = app.team.policy();
    let alerts = clocks::alerts_due(&measured, policy);
    let shifts = shifts_now(app).await?;
    let absences = app.store.absences().await?;
    let users = app.store.list_users().await?;
    let active: BTreeSet<UserId> = users.iter().filter(|u| u.active).map(|u| u.id).collect();
    let today = date_of(now);
    let on_call = team::on_call(&shifts, now).map(|s| s.user);
    let all_recusals = app.store.recusals(None).await?;
    let present =
        |u: UserId| active.contains(&u) && team::away_reason(&absences, u, today).is_none();
    let mut done = Sweep::default();
    for alert in alerts {
        let case = cases.iter().find(|c| Some(c.id) == alert.case);
        let assignee = case.and_then(|c| c.assignee);
        let recused: Vec<UserId> = all_recusals
            .iter()
            .filter(|r| Some(r.case) == alert.case)
            .map(|r| r.user)
            .collect();
        let label = &policy.target(alert.key).label;
        let mut payload = json!({
            "target": alert.key.as_str(),
            "instance": alert.instance,
            "used_permille": alert.used_permille,
        });
        match alert.kind {
            AlertKind::Warning => {
                // Whoever holds it, if present; else whoever is on call and present.
                let to = [assignee, on_call]
                    .into_iter()
                    .flatten()
                    .find(|u| present(*u))
                    .or_else(|| {
                        team::next_on_call(&shifts, now, |u| !present(u) || recused.contains(&u))
                    });
                payload["to"] = json!(to.map(|u| u.0));
                payload["message"] = json!(format!(
                    "{label}: {}% of the target used",
                    alert.used_permille / 10
                ));
                done.warnings += 1;
            }
            AlertKind::Escalation => {
                // Handed on past whoever holds it now: the assignee, or
                // the member on call for a report not yet triaged.
                let holder = assignee.or(on_call);
                let to = team::next_on_call(&shifts, now, |u| {
                    Some(u) == holder || !present(u) || recused.contains(&u)
                });
                payload["offered_to"] = json!(to.map(|u| u.0));
                payload["from"] = json!(holder.map(|u| u.0));
                payload["message"] = json!(format!(
                    "{label}: {}% of the target used; handed on to the next member on call",
                    alert.used_permille / 10
                ));
                done.escalations += 1;
            }
            AlertKind::Breach => {
                payload["message"] = json!(format!("{label}: the target passed"));
                done.breaches += 1;
            }
        }
        let mut draft = EventDraft::new(alert.kind.action())
            .report(alert.report)
            .payload(payload);
        if let Some(c) = alert.case {
            draft = draft.case(c);
        }
        app.store
            .record_event(draft, &Actor::system("sla"), now)
            .await?;
    }
    // Cases of absent members: offered before their deadlines slip.
    let offers = open_offers(app, None).await?;
    for case in &cases {
        let Some(assignee) = case.assignee else {
            continue;
        };
        let Some(away) = team::away_reason(&absences, assignee, today) else {
            continue;
        };
        if offers.iter().any(|o| o.case == case.id) {
            continue;
        }
        let candidates: Vec<Candidate> = candidates(app, Some(case.id))
            .await?
            .into_iter()
            .filter(|c| c.id != assignee)
            .collect();
        let Some(proposal) = app.assignment.propose(&candidates) else {
            continue;
        };
        let Some(to) = proposal.assignee else {
            continue;
        };
        let name = users
            .iter()
            .find(|u| u.id == assignee)
            .map(|u| u.username.clone())
            .unwrap_or_default();
        app.store
            .record_event(
                EventDraft::new(AuditAction::CaseOffered)
                    .case(case.id)
                    .report(case.report_id)
                    .payload(json!({
                        "offered_to": to.0,
                        "from": assignee.0,
                        "message": format!("{name} is {away}; {}", proposal.reason),
                    })),
                &Actor::system("assignment"),
                now,
            )
            .await?;
        done.offered += 1;
    }
    Ok(done)
}

/// A case offered to a member (on escalation or because its assignee is away).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The case.
    pub case: CaseId,
    /// Its report.
    pub report: ReportId,
    /// To whom.
    pub to: UserId,
    /// From whom (the holder when it was made).
    pub from: Option<UserId>,
    /// Made because `from` is away (rather than on a clock's hand-on).
    pub because_away: bool,
    /// Why.
    pub message: String,
    /// When (ms).
    pub at_ms: i64,
}

/// Offers still standing, for one member or all (see [`live_offers`]).
pub async fn open_offers(app: &App, to: Option<UserId>) -> Result<Vec<Offer>, StoreError> {
    let events = app.store.audit_events_by_actions(&OFFER_ACTIONS, 0).await?;
    Ok(live_offers(app, &events)
        .await?
        .into_values()
        .filter(|o| to.is_none_or(|t| t == o.to))
        .collect())
}

/// The offers in `events` that still stand: not followed by an assignment,
/// on an open case, to a member who is active, present and not recused from
/// it, and, when made because the holder was away, while they still are.
pub async fn live_offers(
    app: &App,
    events: &[AuditEvent],
) -> Result<BTreeMap<CaseId, Offer>, StoreError> {
    let mut offers = offers_in(events);
    if offers.is_empty() {
        return Ok(offers);
    }
    let today = date_of(app.now_ms());
    let absences = app.store.absences().await?;
    let recusals = app.store.recusals(None).await?;
    let active: BTreeSet<UserId> = app
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.active)
        .map(|u| u.id)
        .collect();
    let open: BTreeSet<CaseId> = app
        .store
        .list_cases(CaseFilter {
            open_only: true,
            assignee: None,
        })
        .await?
        .into_iter()
        .map(|c| c.id)
        .collect();
    let away = |u: UserId| team::away_reason(&absences, u, today).is_some();
    offers.retain(|case, o| {
        open.contains(case)
            && active.contains(&o.to)
            && !away(o.to)
            && !recusals.iter().any(|r| r.case == *case && r.user == o.to)
            && !(o.because_away && o.from.is_some_and(|f| !away(f)))
    });
    Ok(offers)
}

/// The audit actions that make and end offers.
const OFFER_ACTIONS: [AuditAction; 3] = [
    AuditAction::SlaEscalated,
    AuditAction::CaseOffered,
    AuditAction::CaseAssigned,
];

/// The latest offer of each case not yet followed by an assignment, from
/// audit events (any others are ignored).
pub fn offers_in(events: &[AuditEvent]) -> BTreeMap<CaseId, Offer> {
    let mut offers: BTreeMap<CaseId, Offer> = BTreeMap::new();
    for e in events
        .iter()
        .filter(|e| e.kind().is_some_and(|a| OFFER_ACTIONS.contains(&a)))
    {
        let Some(case) = e.case_id.map(CaseId) else {
            continue;
        };
        if e.is(AuditAction::CaseAssigned) {
            offers.remove(&case);
            continue;
        }
        let Some(user) = e.payload["offered_to"].as_i64() else {
            continue;
        };
        offers.insert(
            case,
            Offer {
                case,
                report: ReportId(e.report_id.unwrap_or_default()),
                to: UserId(user),
                from: e.payload["from"].as_i64().map(UserId),
                because_away: e.is(AuditAction::CaseOffered),
                message: e.payload["message"].as_str().unwrap_or_default().to_owned(),
                at_ms: e.occurred_at_ms,
            },
        );
    }
    offers
}

/// What a member may do with the clocks of one report right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockActions {
    /// A running clock that waiting on the reporter pauses.
    pub can_pause: bool,
    /// A paused clock.
    pub can_resume: bool,
    /// An inquiry awaiting its answer.
    pub inquiry_open: bool,
}

impl ClockActions {
    /// From the report's measured clocks.
    pub fn of(measured: &[Measured]) -> Self {
        let mut a = ClockActions::default();
        for c in measured
            .iter()
            .map(|m| &m.tracked)
            .filter(|t| t.clock.met.is_none())
        {
            a.can_pause |= c.key.pausable() && !c.clock.paused();
            a.can_resume |= c.clock.paused();
            a.inquiry_open |= c.key == cnadesk_core::sla_policy::TargetKey::Inquiry;
        }
        a
    }
}

/// A warning addressed to a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The report.
    pub report: ReportId,
    /// What.
    pub message: String,
    /// When (ms).
    pub at_ms: i64,
}

/// Warnings to `user`, and reports handed on to them, over the last fortnight, newest first.
pub async fn notices_for(app: &App, user: UserId) -> Result<Vec<Notice>, StoreError> {
    let since = app.now_ms() - 14 * 86_400_000;
    let mut out: Vec<Notice> = app
        .store
        .audit_events_by_actions(&[AuditAction::SlaWarned, AuditAction::SlaEscalated], since)
        .await?
        .into_iter()
        // Warnings to them; hand-ons of reports not yet a case (a case's
        // hand-on is an offer they can take).
        .filter(|e| match e.kind() {
            Some(AuditAction::SlaWarned) => e.payload["to"].as_i64() == Some(user.0),
            _ => e.case_id.is_none() && e.payload["offered_to"].as_i64() == Some(user.0),
        })
        .map(|e| Notice {
            report: ReportId(e.report_id.unwrap_or_default()),
            message: e.payload["message"].as_str().unwrap_or_default().to_owned(),
            at_ms: e.occurred_at_ms,
        })
        .collect();
    out.reverse();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_comes_from_the_newest_cvss_of_the_record() {
        let doc = r#"{"metrics":[{"format":"CVSS","cvssV3_1":{"baseSeverity":"CRITICAL"}}]}"#;
        assert_eq!(severity_in(doc).as_deref(), Some("critical"));
        assert_eq!(severity_in(r#"{"metrics":[]}"#), None);
        assert_eq!(severity_in("not json"), None);
    }
}
