//! The audit chain: every state change is recorded as an event that holds the
//! SHA-256 of the previous event and of its own canonical content, so that an
//! edit, deletion or reordering anywhere in the history is detectable.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a new event says (the store adds the sequence number and the hashes).
#[derive(Clone, Debug, PartialEq)]
pub struct EventDraft {
    /// Dotted action name, e.g. `report.created`.
    pub action: String,
    /// The case the event concerns, if any.
    pub case_id: Option<i64>,
    /// The report the event concerns, if any.
    pub report_id: Option<i64>,
    /// Details of the change. Never secrets.
    pub payload: Value,
}

impl EventDraft {
    /// A draft with an empty payload.
    pub fn new(action: &str) -> Self {
        Self {
            action: action.to_owned(),
            case_id: None,
            report_id: None,
            payload: Value::Object(Default::default()),
        }
    }

    /// Sets the case.
    pub fn case(mut self, id: crate::CaseId) -> Self {
        self.case_id = Some(id.0);
        self
    }

    /// Sets the report.
    pub fn report(mut self, id: crate::ReportId) -> Self {
        self.report_id = Some(id.0);
        self
    }

    /// Sets the payload.
    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }
}

/// An event as it is stored: the content plus its place in the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the chain, starting at 1, without gaps.
    pub seq: i64,
    /// When it happened, milliseconds since the Unix epoch (UTC).
    pub occurred_at_ms: i64,
    /// Who did it (see [`crate::Actor`]'s display form).
    pub actor: String,
    /// Dotted action name.
    pub action: String,
    /// The case concerned.
    pub case_id: Option<i64>,
    /// The report concerned.
    pub report_id: Option<i64>,
    /// Details.
    pub payload: Value,
    /// Hash of the previous event ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// Hash of this event's canonical content (which includes `prev_hash`).
    pub hash: String,
}

impl AuditEvent {
    /// Seals a draft as the event following `prev_hash` at position `seq`.
    pub fn seal(
        draft: EventDraft,
        seq: i64,
        occurred_at_ms: i64,
        actor: &crate::Actor,
        prev_hash: &str,
    ) -> Self {
        let mut event = AuditEvent {
            seq,
            occurred_at_ms,
            actor: actor.to_key(),
            action: draft.action,
            case_id: draft.case_id,
            report_id: draft.report_id,
            payload: draft.payload,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        event
    }

    /// The canonical content that is hashed: every field but `hash`, as JSON
    /// with object keys sorted and no insignificant whitespace.
    pub fn canonical_content(&self) -> String {
        let content = serde_json::json!({
            "seq": self.seq,
            "occurred_at_ms": self.occurred_at_ms,
            "actor": self.actor,
            "action": self.action,
            "case_id": self.case_id,
            "report_id": self.report_id,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
        });
        canonical_json(&content)
    }

    /// SHA-256 (hex) of [`Self::canonical_content`].
    pub fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_content().as_bytes()))
    }
}

/// Serializes a JSON value with object keys sorted recursively and no
/// whitespace, independent of how the map type orders its keys.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Why the chain is broken at an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The sequence has a gap or a reordering.
    #[error(
        "event {found}: expected sequence number {expected} (an event is missing or out of order)"
    )]
    Sequence {
        /// The sequence number that should have come.
        expected: i64,
        /// The one that came.
        found: i64,
    },
    /// `prev_hash` does not match the hash of the event before.
    #[error("event {seq}: prev_hash does not match the hash of event {prev_seq} (history was rewritten)")]
    PrevHash {
        /// The event whose link is broken.
        seq: i64,
        /// The event before it.
        prev_seq: i64,
    },
    /// The content no longer hashes to the stored hash.
    #[error("event {seq}: content does not match its hash (the event was edited)")]
    Content {
        /// The edited event.
        seq: i64,
    },
}

impl ChainError {
    /// The sequence number of the first bad event.
    pub fn seq(&self) -> i64 {
        match self {
            ChainError::Sequence { found, .. } => *found,
            ChainError::PrevHash { seq, .. } | ChainError::Content { seq } => *seq,
        }
    }
}

/// Walks a chain incrementally (events may arrive page by page).
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl ChainVerifier {
    /// Checks the next event; returns the first inconsistency.
    pub fn push(&mut self, event: &AuditEvent) -> Result<(), ChainError> {
        if event.seq != self.expected_seq {
            return Err(ChainError::Sequence {
                expected: self.expected_seq,
                found: event.seq,
            });
        }
        if event.prev_hash != self.prev_hash {
            return Err(ChainError::PrevHash {
                seq: event.seq,
                prev_seq: event.seq - 1,
            });
        }
        if event.compute_hash() != event.hash {
            return Err(ChainError::Content { seq: event.seq });
        }
        self.expected_seq += 1;
        self.prev_hash = event.hash.clone();
        Ok(())
    }

    /// How many events were verified.
    pub fn verified(&self) -> i64 {
        self.expected_seq - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, ReportId};

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let e = AuditEvent::seal(
                    EventDraft::new("report.created")
                        .report(ReportId(seq))
                        .payload(serde_json::json!({"b": 1, "a": [seq, "x"]})),
                    seq,
                    1_700_000_000_000 + seq,
                    &Actor::system("test"),
                    &prev,
                );
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(events: &[AuditEvent]) -> Result<i64, ChainError> {
        let mut v = ChainVerifier::default();
        for e in events {
            v.push(e)?;
        }
        Ok(v.verified())
    }

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let v = serde_json::json!({"z": {"b": 2, "a": 1}, "a": [ {"y": null, "x": "é\"q"} ]});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":[{"x":"é\"q","y":null}],"z":{"a":1,"b":2}}"#
        );
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn edited_payload_is_detected_at_that_event() {
        let mut events = chain(5);
        events[2].payload = serde_json::json!({"b": 2});
        assert_eq!(verify(&events), Err(ChainError::Content { seq: 3 }));
    }

    #[test]
    fn rehashed_edit_breaks_the_next_link() {
        let mut events = chain(5);
        events[2].actor = "member:1:mallory".into();
        events[2].hash = events[2].compute_hash();
        assert_eq!(
            verify(&events),
            Err(ChainError::PrevHash {
                seq: 4,
                prev_seq: 3
            })
        );
    }

    #[test]
    fn deletion_and_reordering_are_detected() {
        let mut events = chain(5);
        events.remove(1);
        assert_eq!(
            verify(&events),
            Err(ChainError::Sequence {
                expected: 2,
                found: 3
            })
        );
        let mut events = chain(3);
        events.swap(0, 1);
        assert_eq!(verify(&events).map_err(|e| e.seq()), Err(2));
    }
}
