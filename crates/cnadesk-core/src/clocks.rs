//! The response-time clocks of reports and cases, derived from the audit
//! log. Every start, pause, resume and stop is an audited event already (a
//! report arrives, a member writes to the reporter, a case opens, a CVE ID is
//! linked, the vulnerability becomes public, …), so the clocks cannot drift
//! from what happened, and the public figures can be recomputed by anyone
//! holding the log.
//!
//! | target        | starts                         | stops                                         | pauses |
//! |---------------|--------------------------------|-----------------------------------------------|--------|
//! | acknowledge   | `report.created`               | member `message.shared`, `case.opened`, `report.closed` | no |
//! | triage        | `report.created`               | `case.opened`, `report.closed`                | `sla.paused` until `sla.resumed` or a reporter message |
//! | cve_decision  | `case.opened`                  | a CVE ID for the case; closed or rejected     | as triage |
//! | publication   | `cve.disclosed_set` of each CVE ID (its disclosure time) | `cve.published` of that ID, state `published` | no |
//! | inquiry       | `sla.inquiry_received`         | `sla.inquiry_answered`                        | no |

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::audit::{AuditAction, AuditEvent};
use crate::ids::{CaseId, ReportId};
use crate::sla::{timestamp as ts, Clock, Status, Target};
use crate::sla_policy::{SlaPolicy, TargetKey};

/// Every audit action [`derive`] reads: what a store query for clocks must fetch.
pub const ACTIONS: [AuditAction; 17] = [
    AuditAction::ReportCreated,
    AuditAction::MessageShared,
    AuditAction::SlaPaused,
    AuditAction::SlaResumed,
    AuditAction::CaseOpened,
    AuditAction::ReportClosed,
    AuditAction::CaseCveIdSet,
    AuditAction::CveIdLinked,
    AuditAction::CveIdsRecorded,
    AuditAction::CaseStateChanged,
    AuditAction::CveDisclosedSet,
    AuditAction::CvePublished,
    AuditAction::SlaInquiryReceived,
    AuditAction::SlaInquiryAnswered,
    AuditAction::SlaWarned,
    AuditAction::SlaEscalated,
    AuditAction::SlaBreached,
];

/// The alerts a clock raises, each at most once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// The warning share of the target is used: the member working on it is told.
    Warning,
    /// The hand-on share is used: the next member on call is offered the work.
    Escalation,
    /// The target passed.
    Breach,
}

impl AlertKind {
    /// The audit action recording it.
    pub fn action(self) -> AuditAction {
        match self {
            AlertKind::Warning => AuditAction::SlaWarned,
            AlertKind::Escalation => AuditAction::SlaEscalated,
            AlertKind::Breach => AuditAction::SlaBreached,
        }
    }

    fn from_action(action: AuditAction) -> Option<Self> {
        [AlertKind::Warning, AlertKind::Escalation, AlertKind::Breach]
            .into_iter()
            .find(|k| k.action() == action)
    }
}

/// One clock of one report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackedClock {
    /// The report.
    pub report: ReportId,
    /// The case, once opened.
    pub case: Option<CaseId>,
    /// Which commitment.
    pub key: TargetKey,
    /// Several inquiries, or publications of several CVE IDs, are counted 0, 1, …
    pub instance: u32,
    /// What the clock is about when a report has several: the CVE ID of a
    /// publication clock.
    pub subject: Option<String>,
    /// The clock.
    pub clock: Clock,
    /// Alerts already raised.
    pub alerted: Vec<AlertKind>,
}

fn started(at: Timestamp) -> Clock {
    let mut clock = Clock::default();
    let _ = clock.start(at);
    clock
}

#[derive(Default)]
struct ReportClocks {
    case: Option<CaseId>,
    clocks: Vec<TrackedClock>,
}

impl ReportClocks {
    fn current(&mut self, key: TargetKey) -> Option<&mut TrackedClock> {
        self.clocks.iter_mut().rev().find(|c| c.key == key)
    }

    fn start(&mut self, report: ReportId, key: TargetKey, at: Timestamp) {
        let instance = self.clocks.iter().filter(|c| c.key == key).count() as u32;
        if key != TargetKey::Inquiry && instance > 0 {
            return;
        }
        let clock = started(at);
        self.clocks.push(TrackedClock {
            report,
            case: self.case,
            key,
            instance,
            subject: None,
            clock,
            alerted: Vec::new(),
        });
    }

    /// The publication clock of one CVE ID follows that ID's disclosure
    /// time: set, moved (an unmet clock restarts from the new time) or
    /// cleared. A clock already met stays as it was.
    fn disclose(&mut self, report: ReportId, cve: &str, at: Option<Timestamp>) {
        let pos = self
            .clocks
            .iter()
            .position(|c| c.key == TargetKey::Publication && c.subject.as_deref() == Some(cve));
        if let Some(i) = pos {
            if self.clocks[i].clock.met.is_some() {
                return;
            }
            match at {
                Some(t) => self.clocks[i].clock = started(t),
                None => {
                    self.clocks.remove(i);
                }
            }
            return;
        }
        let Some(t) = at else { return };
        let instance = self
            .clocks
            .iter()
            .filter(|c| c.key == TargetKey::Publication)
            .map(|c| c.instance + 1)
            .max()
            .unwrap_or(0);
        self.clocks.push(TrackedClock {
            report,
            case: self.case,
            key: TargetKey::Publication,
            instance,
            subject: Some(cve.to_owned()),
            clock: started(t),
            alerted: Vec::new(),
        });
    }

    /// Publication of one CVE ID (or, with `None`, of the case) meets its clock(s).
    fn publish(&mut self, cve: Option<&str>, at: Timestamp) {
        for c in self.clocks.iter_mut().filter(|c| {
            c.key == TargetKey::Publication
                && c.clock.met.is_none()
                && (cve.is_none() || c.subject.as_deref() == cve)
        }) {
            let start = c.clock.started.unwrap_or(at);
            let _ = c.clock.meet(at.max(start));
        }
    }

    fn meet(&mut self, key: TargetKey, at: Timestamp) {
        if let Some(c) = self.current(key) {
            if c.clock.met.is_none() {
                let started = c.clock.started.unwrap_or(at);
                let _ = c.clock.meet(at.max(started));
            }
        }
    }

    fn pause_all(&mut self, at: Timestamp) {
        for c in self.clocks.iter_mut().filter(|c| c.key.pausable()) {
            let _ = c.clock.pause(at);
        }
    }

    fn resume_all(&mut self, at: Timestamp) {
        for c in self.clocks.iter_mut().filter(|c| c.key.pausable()) {
            let _ = c.clock.resume(at);
        }
    }
}

/// Derives every clock from audit events (any order; any reports).
pub fn derive(events: &[AuditEvent]) -> Vec<TrackedClock> {
    let mut sorted: Vec<&AuditEvent> = events.iter().filter(|e| e.report_id.is_some()).collect();
    sorted.sort_by_key(|e| e.seq);
    let mut reports: BTreeMap<i64, ReportClocks> = BTreeMap::new();
    for e in sorted {
        let rid = e.report_id.unwrap_or_default();
        let report = ReportId(rid);
        let r = reports.entry(rid).or_default();
        let at = ts(e.occurred_at_ms);
        if let Some(c) = e.case_id {
            r.case = Some(CaseId(c));
            for clock in &mut r.clocks {
                clock.case = Some(CaseId(c));
            }
        }
        let payload = &e.payload;
        let Some(action) = e.kind() else {
            continue;
        };
        match action {
            AuditAction::ReportCreated => {
                r.start(report, TargetKey::Acknowledge, at);
                r.start(report, TargetKey::Triage, at);
            }
            AuditAction::MessageShared => match e.actor.parse() {
                Ok(crate::Actor::Member { .. }) => r.meet(TargetKey::Acknowledge, at),
                Ok(crate::Actor::Reporter { .. }) => r.resume_all(at),
                _ => {}
            },
            AuditAction::SlaPaused => r.pause_all(at),
            AuditAction::SlaResumed => r.resume_all(at),
            AuditAction::CaseOpened => {
                r.meet(TargetKey::Acknowledge, at);
                r.meet(TargetKey::Triage, at);
                r.start(report, TargetKey::CveDecision, at);
            }
            AuditAction::ReportClosed => {
                r.meet(TargetKey::Acknowledge, at);
                r.meet(TargetKey::Triage, at);
            }
            AuditAction::CaseCveIdSet | AuditAction::CveIdLinked => {
                r.meet(TargetKey::CveDecision, at)
            }
            AuditAction::CveIdsRecorded => {
                if e.case_id.is_some() && payload["added"].as_array().is_some_and(|a| !a.is_empty())
                {
                    r.meet(TargetKey::CveDecision, at);
                }
            }
            AuditAction::CaseStateChanged => match payload["to"].as_str() {
                Some("closed" | "rejected") => r.meet(TargetKey::CveDecision, at),
                Some("published") => r.publish(None, at),
                _ => {}
            },
            AuditAction::CveDisclosedSet => {
                if let Some(cve) = payload["cve_id"].as_str() {
                    r.disclose(report, cve, payload["disclosed_at"].as_i64().map(ts));
                }
            }
            AuditAction::CvePublished => r.publish(payload["cve_id"].as_str(), at),
            AuditAction::SlaInquiryReceived => {
                let open = r
                    .current(TargetKey::Inquiry)
                    .is_some_and(|c| c.clock.met.is_none());
                if !open {
                    r.start(report, TargetKey::Inquiry, at);
                }
            }
            AuditAction::SlaInquiryAnswered => r.meet(TargetKey::Inquiry, at),
            action => {
                if let Some(kind) = AlertKind::from_action(action) {
                    let key = payload["target"].as_str().and_then(|k| k.parse().ok());
                    let instance = payload["instance"].as_u64().unwrap_or(0) as u32;
                    if let Some(c) = r
                        .clocks
                        .iter_mut()
                        .find(|c| Some(c.key) == key && c.instance == instance)
                    {
                        c.alerted.push(kind);
                    }
                }
            }
        }
    }
    reports.into_values().flat_map(|r| r.clocks).collect()
}

/// A clock measured against the policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Measured {
    /// The clock.
    pub tracked: TrackedClock,
    /// The target that applies (severity-specific where the policy says so).
    pub target: Target,
    /// Where it stands.
    pub status: Status,
    /// Counted seconds used so far.
    pub used_seconds: i64,
}

/// Measures clocks at `now`; `severity` gives a case's severity when known.
pub fn measure(
    clocks: Vec<TrackedClock>,
    policy: &SlaPolicy,
    now: Timestamp,
    severity: impl Fn(CaseId) -> Option<String>,
) -> Vec<Measured> {
    let calendar = policy.calendar();
    clocks
        .into_iter()
        .map(|c| {
            let sev = c.case.and_then(&severity);
            let target = policy.target(c.key).for_severity(sev.as_deref());
            let status = c.clock.status(now, target, &calendar, policy.warn_permille);
            let used_seconds = c.clock.used(now, target, &calendar);
            Measured {
                tracked: c,
                target,
                status,
                used_seconds,
            }
        })
        .collect()
}

/// An alert due now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Which clock.
    pub report: ReportId,
    /// Its case.
    pub case: Option<CaseId>,
    /// Which commitment.
    pub key: TargetKey,
    /// Which instance.
    pub instance: u32,
    /// What to raise.
    pub kind: AlertKind,
    /// Share of the target used, per mille.
    pub used_permille: i64,
}

/// The alerts due at `now` that were not raised before. A clock that jumped
/// past several thresholds at once raises each of them, in order.
pub fn alerts_due(measured: &[Measured], policy: &SlaPolicy) -> Vec<Alert> {
    let mut out = Vec::new();
    for m in measured {
        if m.tracked.clock.met.is_some() || m.tracked.clock.started.is_none() {
            continue;
        }
        let total = m.target.seconds().max(1);
        let used_permille = m.used_seconds * 1000 / total;
        let mut kinds = Vec::new();
        if used_permille >= policy.warn_permille {
            kinds.push(AlertKind::Warning);
        }
        if used_permille >= policy.escalate_permille {
            kinds.push(AlertKind::Escalation);
        }
        if m.used_seconds >= total {
            kinds.push(AlertKind::Breach);
        }
        for kind in kinds {
            if !m.tracked.alerted.contains(&kind) {
                out.push(Alert {
                    report: m.tracked.report,
                    case: m.tracked.case,
                    key: m.tracked.key,
                    instance: m.tracked.instance,
                    kind,
                    used_permille,
                });
            }
        }
    }
    out
}

/// A duration in a target's unit: business days or hours.
pub fn in_unit(seconds: i64, target: Target) -> f64 {
    match target {
        Target::Hours(_) => seconds as f64 / 3600.0,
        Target::BusinessDays(_) => seconds as f64 / 86_400.0,
    }
}

/// The unit's name.
pub fn unit_name(target: Target) -> &'static str {
    match target {
        Target::Hours(_) => "hours",
        Target::BusinessDays(_) => "business days",
    }
}

/// Achieved figures for one commitment over a set of clocks.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Figures {
    /// Which commitment.
    pub key: TargetKey,
    /// Clocks counted (met or already breached).
    pub counted: u32,
    /// Met within the target.
    pub on_time: u32,
    /// Met late, or still open past the target: the misses.
    pub missed: u32,
    /// Still running within the target (not counted yet).
    pub open: u32,
    /// Median time taken by met clocks, in the target's unit.
    pub median: Option<f64>,
    /// 90th percentile (nearest rank) of met clocks, in the target's unit.
    pub p90: Option<f64>,
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

/// Figures for `key` over `measured` (already filtered to a period).
pub fn figures(measured: &[&Measured], key: TargetKey) -> Figures {
    let mut f = Figures {
        key,
        counted: 0,
        on_time: 0,
        missed: 0,
        open: 0,
        median: None,
        p90: None,
    };
    let mut taken: Vec<f64> = Vec::new();
    for m in measured.iter().filter(|m| m.tracked.key == key) {
        match m.status {
            Status::Met { on_time } => {
                f.counted += 1;
                if on_time {
                    f.on_time += 1;
                } else {
                    f.missed += 1;
                }
                taken.push(in_unit(m.used_seconds, m.target));
            }
            Status::Breached { .. } => {
                f.counted += 1;
                f.missed += 1;
            }
            Status::NotStarted => {}
            _ => f.open += 1,
        }
    }
    taken.sort_by(|a, b| a.total_cmp(b));
    f.median = percentile(&taken, 50.0);
    f.p90 = percentile(&taken, 90.0);
    f
}

/// The calendar quarter of a moment ("2026-Q4").
pub fn quarter_of(at: Timestamp) -> String {
    let d = at.to_zoned(jiff::tz::TimeZone::UTC).date();
    format!("{}-Q{}", d.year(), (d.month() - 1) / 3 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, EventDraft};
    use crate::ids::ReportId;
    use serde_json::json;

    struct Log {
        events: Vec<AuditEvent>,
    }

    impl Log {
        fn new() -> Self {
            Log { events: Vec::new() }
        }
        fn push(
            &mut self,
            at: &str,
            actor: &str,
            action: AuditAction,
            case: Option<i64>,
            payload: serde_json::Value,
        ) {
            let mut draft = EventDraft::new(action).report(ReportId(1)).payload(payload);
            if let Some(c) = case {
                draft = draft.case(CaseId(c));
            }
            let seq = self.events.len() as i64 + 1;
            let at: Timestamp = at.parse().unwrap();
            let mut e = AuditEvent::seal(
                draft,
                seq,
                at.as_millisecond(),
                &crate::Actor::system("t"),
                "0",
            );
            e.actor = actor.to_owned();
            self.events.push(e);
        }
    }

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn find(clocks: &[Measured], key: TargetKey) -> &Measured {
        clocks.iter().find(|m| m.tracked.key == key).unwrap()
    }

    #[test]
    fn a_report_walks_through_its_clocks() {
        let policy = SlaPolicy::bundled();
        let mut log = Log::new();
        // Friday 27 November 2026, 16:00 UTC.
        log.push(
            "2026-11-27T16:00:00Z",
            "system:intake",
            AuditAction::ReportCreated,
            None,
            json!({}),
        );
        // Monday: a member asks the reporter a question and pauses triage.
        log.push(
            "2026-11-30T09:00:00Z",
            "member:1:alice",
            AuditAction::MessageShared,
            None,
            json!({}),
        );
        log.push(
            "2026-11-30T09:01:00Z",
            "member:1:alice",
            AuditAction::SlaPaused,
            None,
            json!({}),
        );
        // The reporter answers on Wednesday: triage resumes.
        log.push(
            "2026-12-02T09:01:00Z",
            "reporter:1",
            AuditAction::MessageShared,
            None,
            json!({}),
        );
        let clocks = measure(
            derive(&log.events),
            &policy,
            t("2026-12-02T12:00:00Z"),
            |_| None,
        );
        let ack = find(&clocks, TargetKey::Acknowledge);
        // Met Monday 09:00: 8 h of Friday + 9 h of Monday = 17 h < 2 days.
        assert_eq!(ack.status, Status::Met { on_time: true });
        assert_eq!(ack.used_seconds, 17 * 3600);
        let triage = find(&clocks, TargetKey::Triage);
        // 8 h Friday + 9 h 1 min Monday + ~3 h Wednesday; paused Monday 09:01 to Wednesday 09:01.
        assert_eq!(
            triage.used_seconds,
            8 * 3600 + 9 * 3600 + 60 + 2 * 3600 + 59 * 60
        );
        assert!(matches!(triage.status, Status::Running { .. }));

        // A case opens: triage met, CVE decision starts.
        log.push(
            "2026-12-02T13:00:00Z",
            "member:1:alice",
            AuditAction::CaseOpened,
            Some(7),
            json!({}),
        );
        let clocks = measure(
            derive(&log.events),
            &policy,
            t("2026-12-03T00:00:00Z"),
            |_| None,
        );
        assert_eq!(
            find(&clocks, TargetKey::Triage).status,
            Status::Met { on_time: true }
        );
        let cve = find(&clocks, TargetKey::CveDecision);
        assert_eq!(cve.tracked.case, Some(CaseId(7)));
        assert_eq!(cve.target, crate::sla::Target::BusinessDays(10));
        // A critical case has 2 business days: due Friday 13:00.
        let critical = measure(
            derive(&log.events),
            &policy,
            t("2026-12-03T00:00:00Z"),
            |_| Some("critical".into()),
        );
        match find(&critical, TargetKey::CveDecision).status {
            Status::Running { due, .. } => assert_eq!(due, t("2026-12-04T13:00:00Z")),
            ref s => panic!("{s:?}"),
        }
    }

    #[test]
    fn alerts_are_raised_once_each_in_order() {
        let policy = SlaPolicy::bundled();
        let mut log = Log::new();
        // Monday 09:00; acknowledge within 2 business days = Wednesday 09:00.
        log.push(
            "2026-11-30T09:00:00Z",
            "system:intake",
            AuditAction::ReportCreated,
            None,
            json!({}),
        );
        // At 80 %: a warning only.
        // Tuesday 22:00: 15 h of Monday + 22 h = 37 h of 48 (77 %).
        let at = t("2026-12-01T22:00:00Z");
        let m = measure(derive(&log.events), &policy, at, |_| None);
        let alerts = alerts_due(&m, &policy);
        let ack: Vec<_> = alerts
            .iter()
            .filter(|a| a.key == TargetKey::Acknowledge)
            .map(|a| a.kind)
            .collect();
        assert_eq!(ack, vec![AlertKind::Warning]);
        // Once recorded it is not raised again; past the deadline, escalation then breach.
        log.push(
            "2026-12-01T22:00:00Z",
            "system:sla",
            AuditAction::SlaWarned,
            None,
            json!({"target": "acknowledge", "instance": 0}),
        );
        let m = measure(
            derive(&log.events),
            &policy,
            t("2026-12-02T10:00:00Z"),
            |_| None,
        );
        let ack: Vec<_> = alerts_due(&m, &policy)
            .into_iter()
            .filter(|a| a.key == TargetKey::Acknowledge)
            .map(|a| a.kind)
            .collect();
        assert_eq!(ack, vec![AlertKind::Escalation, AlertKind::Breach]);
        // A met clock raises nothing.
        log.push(
            "2026-12-02T10:30:00Z",
            "member:2:bob",
            AuditAction::MessageShared,
            None,
            json!({}),
        );
        let m = measure(
            derive(&log.events),
            &policy,
            t("2026-12-02T11:00:00Z"),
            |_| None,
        );
        assert!(alerts_due(&m, &policy)
            .iter()
            .all(|a| a.key != TargetKey::Acknowledge));
        assert_eq!(
            find(&m, TargetKey::Acknowledge).status,
            Status::Met { on_time: false }
        );
    }

    #[test]
    fn publication_runs_from_disclosure_in_wall_clock_hours() {
        let policy = SlaPolicy::bundled();
        let mut log = Log::new();
        log.push(
            "2026-11-20T09:00:00Z",
            "system:intake",
            AuditAction::ReportCreated,
            None,
            json!({}),
        );
        log.push(
            "2026-11-20T10:00:00Z",
            "member:1:alice",
            AuditAction::CaseOpened,
            Some(3),
            json!({}),
        );
        // Disclosed Friday 12:00, recorded later; 72 hours = Monday 12:00 (weekends count).
        log.push(
            "2026-11-27T18:00:00Z",
            "member:1:alice",
            AuditAction::CveDisclosedSet,
            Some(3),
            json!({"cve_id": "CVE-2026-9", "disclosed_at": t("2026-11-27T12:00:00Z").as_millisecond()}),
        );
        let m = measure(
            derive(&log.events),
            &policy,
            t("2026-11-30T11:00:00Z"),
            |_| None,
        );
        match find(&m, TargetKey::Publication).status {
            Status::Warning { due, .. } => assert_eq!(due, t("2026-11-30T12:00:00Z")),
            ref s => panic!("{s:?}"),
        }
        log.push(
            "2026-11-30T11:30:00Z",
            "system:worker",
            AuditAction::CvePublished,
            Some(3),
            json!({}),
        );
        let m = measure(
            derive(&log.events),
            &policy,
            t("2026-12-01T00:00:00Z"),
            |_| None,
        );
        assert_eq!(
            find(&m, TargetKey::Publication).status,
            Status::Met { on_time: true }
        );
        assert!(
            (in_unit(
                find(&m, TargetKey::Publication).used_seconds,
                Target::Hours(72)
            ) - 71.5)
                .abs()
                < 1e-9
        );
    }

    #[test]
    fn each_disclosed_cve_id_has_its_own_publication_clock() {
        let policy = SlaPolicy::bundled();
        let ms = |s: &str| t(s).as_millisecond();
        let mut log = Log::new();
        log.push(
            "2026-11-20T09:00:00Z",
            "system:intake",
            AuditAction::ReportCreated,
            None,
            json!({}),
        );
        log.push(
            "2026-11-20T10:00:00Z",
            "member:1:a",
            AuditAction::CaseOpened,
            Some(3),
            json!({}),
        );
        log.push(
            "2026-11-23T09:00:00Z",
            "member:1:a",
            AuditAction::CveDisclosedSet,
            Some(3),
            json!({"cve_id": "CVE-2026-1", "disclosed_at": ms("2026-11-23T09:00:00Z")}),
        );
        log.push(
            "2026-11-24T09:00:00Z",
            "system:worker",
            AuditAction::CvePublished,
            Some(3),
            json!({"cve_id": "CVE-2026-1"}),
        );
        // A second ID disclosed after the first was published gets its own clock.
        log.push(
            "2026-11-25T09:00:00Z",
            "member:1:a",
            AuditAction::CveDisclosedSet,
            Some(3),
            json!({"cve_id": "CVE-2026-2", "disclosed_at": ms("2026-11-25T09:00:00Z")}),
        );
        // Moving the first ID's date changes nothing: it is published.
        log.push(
            "2026-11-25T10:00:00Z",
            "member:1:a",
            AuditAction::CveDisclosedSet,
            Some(3),
            json!({"cve_id": "CVE-2026-1", "disclosed_at": ms("2026-11-25T10:00:00Z")}),
        );
        let m = measure(
            derive(&log.events),
            &policy,
            t("2026-11-26T09:00:00Z"),
            |_| None,
        );
        let publ: Vec<_> = m
            .iter()
            .filter(|m| m.tracked.key == TargetKey::Publication)
            .collect();
        assert_eq!(publ.len(), 2);
        assert_eq!(publ[0].tracked.subject.as_deref(), Some("CVE-2026-1"));
        assert_eq!(publ[0].status, Status::Met { on_time: true });
        assert_eq!(
            (publ[1].tracked.instance, publ[1].used_seconds),
            (1, 24 * 3600)
        );
        // Clearing the second ID's disclosure removes only its clock.
        log.push(
            "2026-11-26T10:00:00Z",
            "member:1:a",
            AuditAction::CveDisclosedSet,
            Some(3),
            json!({"cve_id": "CVE-2026-2", "disclosed_at": null}),
        );
        let m = measure(
            derive(&log.events),
            &policy,
            t("2026-11-26T11:00:00Z"),
            |_| None,
        );
        let subjects: Vec<_> = m.iter().filter_map(|m| m.tracked.subject.clone()).collect();
        assert_eq!(subjects, ["CVE-2026-1"]);
    }

    #[test]
    fn inquiries_each_get_their_own_clock() {
        let policy = SlaPolicy::bundled();
        let mut log = Log::new();
        log.push(
            "2026-11-23T09:00:00Z",
            "system:intake",
            AuditAction::ReportCreated,
            None,
            json!({}),
        );
        log.push(
            "2026-11-23T10:00:00Z",
            "member:1:a",
            AuditAction::SlaInquiryReceived,
            None,
            json!({}),
        );
        log.push(
            "2026-11-24T10:00:00Z",
            "member:1:a",
            AuditAction::SlaInquiryAnswered,
            None,
            json!({}),
        );
        log.push(
            "2026-11-25T10:00:00Z",
            "member:1:a",
            AuditAction::SlaInquiryReceived,
            None,
            json!({}),
        );
        let m = measure(
            derive(&log.events),
            &policy,
            t("2026-11-25T11:00:00Z"),
            |_| None,
        );
        let inq: Vec<_> = m
            .iter()
            .filter(|m| m.tracked.key == TargetKey::Inquiry)
            .collect();
        assert_eq!(inq.len(), 2);
        assert_eq!(inq[0].status, Status::Met { on_time: true });
        assert_eq!(inq[1].tracked.instance, 1);
    }

    #[test]
    fn figures_count_misses_and_use_nearest_rank_percentiles() {
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 50.0), Some(2.0));
        assert_eq!(
            percentile(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90.0),
            Some(9.0)
        );
        assert_eq!(percentile(&[], 90.0), None);
        assert_eq!(quarter_of(t("2026-11-25T00:00:00Z")), "2026-Q4");
        assert_eq!(quarter_of(t("2027-01-01T00:00:00Z")), "2027-Q1");
    }
}
