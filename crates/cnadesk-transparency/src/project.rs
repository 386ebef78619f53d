//! Which decisions of the audit log go into the public log, and what of
//! them may be said. Pure: the desk decides separately whether the case an
//! entry concerns is still undisclosed (then the entry is sealed).

use cnadesk_core::audit::{AuditAction, AuditEvent};
use serde_json::{json, Value};

/// What an entry concerns, which decides when it may be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Nothing undisclosed: readable at once.
    Public,
    /// A case (or a report that becomes one): sealed while it is undisclosed.
    Case {
        /// The case, when known.
        case: Option<i64>,
        /// The report.
        report: Option<i64>,
    },
}

/// A public entry derived from one audit event.
#[derive(Clone, Debug, PartialEq)]
pub struct Projected {
    /// The content (`type` first among its keys, then what may be said).
    pub content: Value,
    /// What it concerns.
    pub subject: Subject,
}

/// The actions that become entries (everything else stays internal).
pub const ACTIONS: &[AuditAction] = &[
    AuditAction::ScopeDecided,
    AuditAction::ScopePolicyAdopted,
    AuditAction::CaseOpened,
    AuditAction::CaseRecused,
    AuditAction::CaseStateChanged,
    AuditAction::CveReserved,
    AuditAction::CvePublished,
    AuditAction::CveUpdated,
    AuditAction::CveRejected,
    AuditAction::EmbargoSet,
    AuditAction::EmbargoChanged,
    AuditAction::EmbargoBroken,
    AuditAction::EmbargoLifted,
    AuditAction::AdvisoryPublished,
];

fn case_ref(e: &AuditEvent) -> Value {
    e.case_id
        .map_or(Value::Null, |c| json!(format!("CASE-{c}")))
}

fn case_subject(e: &AuditEvent) -> Subject {
    Subject::Case {
        case: e.case_id,
        report: e.report_id,
    }
}

/// The public entry for `event`, if it is a decision the log records.
/// Contents never carry names of members, reporters or vendors, titles,
/// descriptions or free text written under embargo.
pub fn project(event: &AuditEvent) -> Option<Projected> {
    let p = &event.payload;
    let action = event.kind()?;
    let (content, subject) = match action {
        AuditAction::ScopeDecided => {
            let decision = p["decision"].as_str().unwrap_or_default();
            let mut c = json!({
                "type": "scope.decision",
                "decision": decision,
                "rule": p["rule"],
                "policy_version": p["policy_version"],
                "overridden": p["overridden"].as_bool().unwrap_or(false),
            });
            // In scope: the report becomes a case, and the product is an
            // embargoed detail until the case is disclosed, so the entry is
            // sealed with it. A referral or an out-of-scope decision ends
            // here: it is public at once, but without the product or the
            // CNA referred to, which would tell of a vulnerability that may
            // still be undisclosed elsewhere.
            let subject = if decision == "in_scope" {
                c["product"] = p["product"].clone();
                case_subject(event)
            } else {
                Subject::Public
            };
            (c, subject)
        }
        AuditAction::ScopePolicyAdopted => (
            json!({
                "type": "policy.adopted",
                "policy": "scope",
                "version": p["version"],
                "effective": p["effective"],
                "sha256": p["sha256"],
            }),
            Subject::Public,
        ),
        AuditAction::CaseOpened => (
            json!({ "type": action.as_str(), "case": case_ref(event) }),
            case_subject(event),
        ),
        // Counted, never named: which member stepped aside from which case
        // is the team's business.
        AuditAction::CaseRecused => (json!({ "type": "recusal", "count": 1 }), Subject::Public),
        AuditAction::CveReserved => (
            json!({
                "type": action.as_str(),
                "count": p["ids"].as_array().map_or(0, Vec::len),
            }),
            Subject::Public,
        ),
        AuditAction::CvePublished | AuditAction::CveUpdated => (
            json!({
                "type": action.as_str(),
                "cve_id": p["cve_id"],
                "record_sha256": p["published_sha256"],
            }),
            Subject::Public,
        ),
        // The reason is what CVE Services publishes for a rejected record;
        // an ID reserved for a case is told of only once the case is public.
        AuditAction::CveRejected => (
            json!({ "type": action.as_str(), "cve_id": p["cve_id"], "reason": p["reason"] }),
            if event.case_id.is_some() {
                case_subject(event)
            } else {
                Subject::Public
            },
        ),
        // Disputes of a published record (rule 4.6): when one is opened
        // and how it ended. The member's reason stays internal.
        AuditAction::CaseStateChanged => {
            let (from, to) = (
                p["from"].as_str().unwrap_or_default(),
                p["to"].as_str().unwrap_or_default(),
            );
            let content = if to == "disputed" {
                json!({ "type": "dispute.opened", "case": case_ref(event) })
            } else if from == "disputed" {
                let outcome = match to {
                    "published" => "record upheld",
                    "rejected" => "record rejected",
                    "closed" => "closed",
                    other => other,
                };
                json!({ "type": "dispute.resolved", "case": case_ref(event), "outcome": outcome })
            } else {
                return None;
            };
            (content, case_subject(event))
        }
        AuditAction::EmbargoSet | AuditAction::EmbargoChanged => (
            json!({
                "type": action.as_str(),
                "case": case_ref(event),
                "end_ms": p["end"],
                "previous_end_ms": p["previous_end"],
            }),
            case_subject(event),
        ),
        AuditAction::EmbargoBroken => (
            json!({ "type": action.as_str(), "case": case_ref(event) }),
            case_subject(event),
        ),
        AuditAction::EmbargoLifted => (
            json!({ "type": action.as_str(), "case": case_ref(event) }),
            case_subject(event),
        ),
        AuditAction::AdvisoryPublished => (
            json!({ "type": action.as_str(), "case": case_ref(event) }),
            case_subject(event),
        ),
        _ => return None,
    };
    let mut content = content;
    if let Value::Object(map) = &mut content {
        map.retain(|_, v| !v.is_null());
    }
    Some(Projected { content, subject })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: AuditAction, payload: Value) -> AuditEvent {
        AuditEvent {
            seq: 9,
            occurred_at_ms: 0,
            actor: "member:1:alice".into(),
            action: action.as_str().into(),
            case_id: Some(4),
            report_id: Some(7),
            payload,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn in_scope_decisions_are_tied_to_their_case_and_the_rest_are_public() {
        let payload = |d: &str| {
            json!({"decision": d, "rule": "xmpp-implementation", "policy_version": "2026.1",
                   "product": "prosody", "referral": null, "overridden": false, "reason": "secret words"})
        };
        let inside = project(&event(AuditAction::ScopeDecided, payload("in_scope"))).unwrap();
        assert_eq!(
            inside.subject,
            Subject::Case {
                case: Some(4),
                report: Some(7)
            }
        );
        assert_eq!(inside.content["product"], "prosody");
        // The member's free-text reason is never public.
        assert!(inside.content.get("reason").is_none());
        let payload_referred = json!({"decision": "refer", "rule": "vendor-cna",
            "policy_version": "2026.1", "product": "libexpat", "referral": "Example CNA",
            "overridden": false});
        let referred = project(&event(AuditAction::ScopeDecided, payload_referred)).unwrap();
        assert_eq!(referred.subject, Subject::Public);
        assert_eq!(referred.content["rule"], "vendor-cna");
        // Neither the product nor the CNA referred to: the vulnerability may
        // still be undisclosed there.
        assert!(referred.content.get("referral").is_none());
        assert!(referred.content.get("product").is_none());
    }

    #[test]
    fn a_rejection_waits_for_its_case_but_not_without_one() {
        let payload = json!({"job": 3, "cve_id": "CVE-2026-1000", "reason": "duplicate"});
        let of_case = project(&event(AuditAction::CveRejected, payload.clone())).unwrap();
        assert!(matches!(
            of_case.subject,
            Subject::Case { case: Some(4), .. }
        ));
        let mut unlinked = event(AuditAction::CveRejected, payload);
        unlinked.case_id = None;
        unlinked.report_id = None;
        let p = project(&unlinked).unwrap();
        assert_eq!(p.subject, Subject::Public);
        assert_eq!(p.content["reason"], "duplicate");
    }

    #[test]
    fn recusals_are_counted_without_names_and_reservations_without_ids() {
        let r = project(&event(
            AuditAction::CaseRecused,
            json!({"user": 3, "source": "affiliation", "reason": "works for Example"}),
        ))
        .unwrap();
        assert_eq!(r.content, json!({"type": "recusal", "count": 1}));
        let ids = project(&event(
            AuditAction::CveReserved,
            json!({"job": 1, "ids": ["CVE-2026-1000", "CVE-2026-1001"]}),
        ))
        .unwrap();
        assert_eq!(
            ids.content,
            json!({"type": AuditAction::CveReserved.as_str(), "count": 2})
        );
        assert_eq!(ids.subject, Subject::Public);
    }

    #[test]
    fn internal_events_are_not_projected() {
        for action in [
            AuditAction::SessionSignedIn,
            AuditAction::NoteAdded,
            AuditAction::VendorInvited,
            AuditAction::ReportCreated,
        ] {
            assert!(project(&event(action, json!({}))).is_none(), "{action}");
        }
        for &action in ACTIONS {
            let payload = json!({"ids": [], "from": "published", "to": "disputed"});
            assert!(project(&event(action, payload)).is_some(), "{action}");
        }
        // Other state changes are internal.
        let triage = json!({"from": "accepted", "to": "in_progress", "reason": "x"});
        assert!(project(&event(AuditAction::CaseStateChanged, triage)).is_none());
    }

    #[test]
    fn disputes_and_their_outcome_without_the_reason() {
        let opened = json!({"from": "published", "to": "disputed", "reason": "vendor says no"});
        let p = project(&event(AuditAction::CaseStateChanged, opened)).unwrap();
        assert_eq!(
            p.content,
            json!({"type": "dispute.opened", "case": "CASE-4"})
        );
        let ended = json!({"from": "disputed", "to": "rejected", "reason": "not a vuln"});
        let p = project(&event(AuditAction::CaseStateChanged, ended)).unwrap();
        assert_eq!(p.content["outcome"], "record rejected");
        assert!(p.content.get("reason").is_none());
    }
}
