//! Figures about the team's work, computed from the database: achieved
//! response times per quarter (the public `/stats` page), the workload
//! dashboard, and the inputs of the capacity forecast.

use std::collections::BTreeMap;

use cnadesk_core::clocks::{self, Figures, Measured};
use cnadesk_core::sla::Target;
use cnadesk_core::sla_policy::{SlaPolicy, TargetKey};
use cnadesk_forecast::{Assumptions, EventKind, HistoryEvent, Stage};
use cnadesk_store::StoreError;

use crate::team_desk::{self, date_of, ts, CLOCK_ACTIONS};
use crate::AppState;

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
    state: &AppState,
) -> Result<(Vec<Measured>, Vec<cnadesk_core::audit::AuditEvent>), StoreError> {
    let mut actions: Vec<&str> = CLOCK_ACTIONS.to_vec();
    actions.extend(["cve.rejected", "case.recused"]);
    let events = state.store.audit_events_by_actions(&actions, 0).await?;
    let measured = team_desk::measure_events(state, &events).await?;
    Ok((measured, events))
}

/// The public figures, newest quarter first. Clocks count in the quarter
/// they started; a clock still running past its target counts as missed.
pub async fn quarters(state: &AppState) -> Result<Vec<Quarter>, StoreError> {
    let (measured, events) = all_clocks(state).await?;
    let mut by_quarter: BTreeMap<String, Quarter> = BTreeMap::new();
    let entry = |map: &mut BTreeMap<String, Quarter>, q: String| {
        map.entry(q.clone())
            .or_insert_with(|| Quarter {
                quarter: q,
                reports: 0,
                published: 0,
                rejected: 0,
                recusals: 0,
                figures: Vec::new(),
            })
            .quarter
            .clone()
    };
    for e in &events {
        let q = clocks::quarter_of(ts(e.occurred_at_ms));
        let key = entry(&mut by_quarter, q);
        let Some(row) = by_quarter.get_mut(&key) else {
            continue;
        };
        match e.action.as_str() {
            "report.created" => row.reports += 1,
            "cve.published" => row.published += 1,
            "cve.rejected" => row.rejected += 1,
            "case.recused" => row.recusals += 1,
            _ => {}
        }
    }
    for (q, row) in by_quarter.iter_mut() {
        let in_quarter: Vec<&Measured> = measured
            .iter()
            .filter(|m| {
                m.tracked
                    .clock
                    .started
                    .is_some_and(|s| clocks::quarter_of(s) == *q)
            })
            .collect();
        row.figures = TargetKey::ALL
            .iter()
            .map(|k| clocks::figures(&in_quarter, *k))
            .collect();
    }
    Ok(by_quarter.into_values().rev().collect())
}

/// The desk's own history as forecast events: each report is one arrival
/// event; a case that reserved several CVE IDs counts as that many cases.
pub async fn desk_history(state: &AppState) -> Result<Vec<HistoryEvent>, StoreError> {
    let events = state
        .store
        .audit_events_by_actions(&["report.created", "cve.ids_recorded"], 0)
        .await?;
    let mut ids_per_report: BTreeMap<i64, u32> = BTreeMap::new();
    for e in events.iter().filter(|e| e.action == "cve.ids_recorded") {
        if let Some(r) = e.report_id {
            let n = e.payload["added"].as_array().map_or(0, |a| a.len()) as u32;
            *ids_per_report.entry(r).or_default() += n;
        }
    }
    Ok(events
        .iter()
        .filter(|e| e.action == "report.created")
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
