//! Figures about the team's work, computed from the database: achieved
//! response times per quarter (the public `/stats` page), the workload
//! dashboard, and the inputs of the capacity forecast.

use std::collections::BTreeMap;

use cnadesk_core::audit::{AuditAction, AuditEvent};
use cnadesk_core::clocks::{self, Figures, Measured};
use cnadesk_core::sla::Target;
use cnadesk_core::sla_policy::{SlaPolicy, TargetKey};
use cnadesk_core::CaseState;
use cnadesk_forecast::{Assumptions, EventKind, HistoryEvent, Stage};
use cnadesk_store::StoreError;

use cnadesk_core::sla::{timestamp as ts, utc_date_ms as date_of};

use crate::team;
use crate::App;

/// One quarter of public figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Quarter {
    /// "2026-Q4".
    pub quarter: String,
    /// Reports received.
    pub reports: u32,
    /// CVE records published.
    pub published: u32,
    /// CVE IDs rejected.
    pub rejected: u32,
    /// Recusals (counted, never named).
    pub recusals: u32,
    /// Achieved figures per commitment, in policy order.
    pub figures: Vec<Figures>,
}

/// Every clock of every report, measured now, with the events they came from.
pub async fn all_clocks(
    app: &App,
) -> Result<(Vec<Measured>, Vec<cnadesk_core::audit::AuditEvent>), StoreError> {
    let mut actions: Vec<AuditAction> = clocks::ACTIONS.to_vec();
    actions.extend([AuditAction::CveRejected, AuditAction::CaseRecused]);
    let events = app.store.audit_events_by_actions(&actions, 0).await?;
    let measured = team::measure_events(app, &events, team::Audience::Public).await?;
    Ok((measured, events))
}

/// The public figures, newest quarter first. Clocks count in the quarter
/// they started; a clock still running past its target counts as missed.
pub async fn quarters(app: &App) -> Result<Vec<Quarter>, StoreError> {
    let (measured, events) = all_clocks(app).await?;
    let mut rows: BTreeMap<String, Quarter> = BTreeMap::new();
    for e in &events {
        let counter: fn(&mut Quarter) = match e.kind() {
            Some(AuditAction::ReportCreated) => |q| q.reports += 1,
            Some(AuditAction::CvePublished) => |q| q.published += 1,
            Some(AuditAction::CveRejected) => |q| q.rejected += 1,
            Some(AuditAction::CaseRecused) => |q| q.recusals += 1,
            _ => continue,
        };
        let q = clocks::quarter_of(ts(e.occurred_at_ms));
        counter(rows.entry(q.clone()).or_insert_with(|| Quarter::new(q)));
    }
    let mut by_quarter: BTreeMap<String, Vec<&Measured>> = BTreeMap::new();
    for m in &measured {
        if let Some(started) = m.tracked.clock.started {
            by_quarter
                .entry(clocks::quarter_of(started))
                .or_default()
                .push(m);
        }
    }
    for (q, clocks_of_quarter) in by_quarter {
        rows.entry(q.clone())
            .or_insert_with(|| Quarter::new(q))
            .figures = TargetKey::ALL
            .iter()
            .map(|k| clocks::figures(&clocks_of_quarter, *k))
            .collect();
    }
    Ok(rows.into_values().rev().collect())
}

impl Quarter {
    fn new(quarter: String) -> Self {
        Quarter {
            quarter,
            reports: 0,
            published: 0,
            rejected: 0,
            recusals: 0,
            figures: Vec::new(),
        }
    }
}

/// How long the public figures are reused.
pub const STATS_TTL_MS: i64 = 60_000;

/// The public figures last computed (`/stats` is public, and recomputing
/// means reading every clock event).
#[derive(Debug, Default)]
pub struct FiguresCache(std::sync::Mutex<Option<(i64, std::sync::Arc<Vec<Quarter>>)>>);

impl FiguresCache {
    fn get(&self, now_ms: i64) -> Option<std::sync::Arc<Vec<Quarter>>> {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        guard
            .as_ref()
            .filter(|(at, _)| (0..STATS_TTL_MS).contains(&(now_ms - at)))
            .map(|(_, q)| q.clone())
    }

    fn keep(&self, now_ms: i64, quarters: std::sync::Arc<Vec<Quarter>>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((now_ms, quarters));
    }
}

/// [`quarters`], reused for [`STATS_TTL_MS`] (the public page's figures).
pub async fn public_quarters(app: &App) -> Result<std::sync::Arc<Vec<Quarter>>, StoreError> {
    let now = app.now_ms();
    if let Some(q) = app.figures.get(now) {
        return Ok(q);
    }
    let q = std::sync::Arc::new(quarters(app).await?);
    app.figures.keep(now, q.clone());
    Ok(q)
}

/// The desk's own history as forecast events: each report is one arrival
/// event; a case that reserved several CVE IDs counts as that many cases.
pub async fn desk_history(app: &App) -> Result<Vec<HistoryEvent>, StoreError> {
    let events = app
        .store
        .audit_events_by_actions(
            &[AuditAction::ReportCreated, AuditAction::CveIdsRecorded],
            0,
        )
        .await?;
    let mut ids_per_report: BTreeMap<i64, u32> = BTreeMap::new();
    for e in events.iter().filter(|e| e.is(AuditAction::CveIdsRecorded)) {
        if let Some(r) = e.report_id {
            let n = e.payload["added"].as_array().map_or(0, |a| a.len()) as u32;
            *ids_per_report.entry(r).or_default() += n;
        }
    }
    Ok(events
        .iter()
        .filter(|e| e.is(AuditAction::ReportCreated))
        .map(|e| HistoryEvent {
            date: date_of(e.occurred_at_ms),
            kind: EventKind::Report,
            cases: e
                .report_id
                .and_then(|r| ids_per_report.get(&r).copied())
                .unwrap_or(1)
                .clamp(1, 1000),
            note: String::new(),
        })
        .collect())
}

/// Average days a case spends in each state, in life-cycle order, with the
/// number of stays counted, from `case.opened` and `case.state_changed`
/// events. A case still in an open state counts up to `now_ms`.
pub fn days_per_state(events: &[AuditEvent], now_ms: i64) -> Vec<(CaseState, f64, u32)> {
    let mut current: BTreeMap<i64, (CaseState, i64)> = BTreeMap::new();
    let mut totals: std::collections::HashMap<CaseState, (i64, u32)> = Default::default();
    let mut add = |app: CaseState, from: i64, to: i64| {
        let t = totals.entry(app).or_default();
        t.0 += to - from;
        t.1 += 1;
    };
    for e in events {
        let Some(case) = e.case_id else { continue };
        let state = match e.kind() {
            Some(AuditAction::CaseOpened) => e.payload["state"].as_str().unwrap_or("accepted"),
            Some(AuditAction::CaseStateChanged) => e.payload["to"].as_str().unwrap_or_default(),
            _ => continue,
        };
        if let Some((was, since)) = current.remove(&case) {
            add(was, since, e.occurred_at_ms);
        }
        if let Ok(state) = state.parse::<CaseState>() {
            current.insert(case, (state, e.occurred_at_ms));
        }
    }
    for (state, since) in current.into_values().filter(|(s, _)| s.is_open()) {
        add(state, since, now_ms);
    }
    CaseState::ALL
        .into_iter()
        .filter_map(|s| {
            totals
                .get(&s)
                .map(|(ms, n)| (s, *ms as f64 / 86_400_000.0 / f64::from(*n), *n))
        })
        .collect()
}

/// Effort assumptions of the forecast, in hours per case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effort {
    /// To acknowledge a report.
    pub acknowledge: f64,
    /// To triage it (scope, validity).
    pub triage: f64,
    /// To decide on a CVE and prepare the record.
    pub cve_decision: f64,
}

impl Default for Effort {
    fn default() -> Self {
        Effort {
            acknowledge: 0.25,
            triage: 2.0,
            cve_decision: 3.0,
        }
    }
}

fn whole_days(target: Target) -> u32 {
    match target {
        Target::BusinessDays(d) => d.clamp(1, 10_000) as u32,
        // Wall-clock hours as business days, rounded up (at least one).
        Target::Hours(h) => ((h + 23) / 24).clamp(1, 10_000) as u32,
    }
}

/// The forecast stages: the team's own work, with the policy's targets.
/// Publication after disclosure and inquiries depend on others and are not modelled.
pub fn stages(policy: &SlaPolicy, effort: Effort) -> Vec<Stage> {
    [
        (TargetKey::Acknowledge, effort.acknowledge),
        (TargetKey::Triage, effort.triage),
        (TargetKey::CveDecision, effort.cve_decision),
    ]
    .into_iter()
    .map(|(k, e)| {
        let spec = policy.target(k);
        Stage {
            key: k.as_str().to_owned(),
            label: spec.label.clone(),
            effort_hours: e,
            target_business_days: whole_days(spec.within),
        }
    })
    .collect()
}

/// The default assumptions for `members` members.
pub fn assumptions(
    policy: &SlaPolicy,
    members: u32,
    hours_per_week: f64,
    effort: Effort,
) -> Assumptions {
    Assumptions {
        members,
        hours_per_member_per_week: hours_per_week,
        stages: stages(policy, effort),
        months: 12,
        runs: 2000,
        seed: 2017,
        max_breach: 0.05,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(
        seq: i64,
        day: i64,
        action: AuditAction,
        case: i64,
        payload: serde_json::Value,
    ) -> AuditEvent {
        let draft = cnadesk_core::audit::EventDraft::new(action)
            .case(cnadesk_core::CaseId(case))
            .payload(payload);
        AuditEvent::seal(
            draft,
            seq,
            day * 86_400_000,
            &cnadesk_core::Actor::system("t"),
            "0",
        )
    }

    #[test]
    fn days_per_state_averages_each_stay_and_counts_open_ones_to_now() {
        let events = vec![
            event(
                1,
                0,
                AuditAction::CaseOpened,
                1,
                serde_json::json!({"state": "accepted"}),
            ),
            event(
                2,
                0,
                AuditAction::CaseOpened,
                2,
                serde_json::json!({"state": "accepted"}),
            ),
            event(
                3,
                2,
                AuditAction::CaseStateChanged,
                1,
                serde_json::json!({"to": "in_coordination"}),
            ),
            event(
                4,
                4,
                AuditAction::CaseStateChanged,
                2,
                serde_json::json!({"to": "closed"}),
            ),
            event(
                5,
                5,
                AuditAction::CaseStateChanged,
                1,
                serde_json::json!({"to": "published"}),
            ),
        ];
        assert_eq!(
            days_per_state(&events, 30 * 86_400_000),
            vec![
                (CaseState::Accepted, 3.0, 2),
                (CaseState::InCoordination, 3.0, 1)
            ],
            "closed and published stays are not counted to now"
        );
    }

    #[test]
    fn stages_take_the_policy_targets() {
        let s = stages(&SlaPolicy::bundled(), Effort::default());
        assert_eq!(
            s.iter()
                .map(|s| (s.key.as_str(), s.target_business_days))
                .collect::<Vec<_>>(),
            vec![("acknowledge", 2), ("triage", 5), ("cve_decision", 10)]
        );
        assert_eq!(whole_days(Target::Hours(72)), 3);
        assert_eq!(whole_days(Target::Hours(1)), 1);
    }
}
