//! The conformance stories: the behaviour every backend must show, one story
//! per file under `conformance/` ([`run`] walks every store method; the
//! others each cover one section). Backends call them from their tests, one
//! test per story (SQLite always, PostgreSQL when asked for), so
//! a failure names its story and does not hide the others.
//!
//! A story panics with a message on the first deviation, like a test does.
//! Compiled only with the `conformance` feature (it needs tokio).
#![allow(
    clippy::unwrap_used,
    reason = "test support, compiled only for tests: a failed step is a failed story"
)]

use cnadesk_core::audit::{AuditAction, AuditEvent, EventDraft};
use cnadesk_core::{Actor, CaseState, CloseReason, ReportId, ReportInput, ReportState, Role};

use crate::{
    Author, CaseFilter, Channel, CloseDecision, NewAttachment, NewMessage, NewRecordVersion,
    NewReport, NewSession, NewUser, ReportFilter, SecondFactor, Store, StoreError, Visibility,
};

mod accounts;
mod concurrent_appends;
mod concurrent_invitation_accepts;
mod concurrent_record_saves;
mod concurrent_triage;
mod content;
mod coordination;
mod cve_program;
mod notify;
mod records;
mod run;
mod scope;
mod scope_policy;
mod team;
mod transparency;

pub use accounts::accounts_story;
pub use concurrent_appends::concurrent_appends_keep_the_chain;
pub use concurrent_invitation_accepts::concurrent_invitation_accepts_exclude_each_other;
pub use concurrent_record_saves::concurrent_record_saves_exclude_each_other;
pub use concurrent_triage::concurrent_triage_decisions_exclude_each_other;
pub use content::content_story;
pub use content::ContentStory;
pub use coordination::coordination_story;
pub use cve_program::cve_program_story;
pub use notify::notify_story;
pub use records::records_story;
pub use run::run;
pub use scope::scope_story;
pub use scope_policy::scope_policy_story;
pub use team::team_story;
pub use transparency::transparency_story;

const T0: i64 = 1_790_000_000_000;

/// Creates an account and the actor it acts as.
async fn member(store: &dyn Store, username: &str, role: Role) -> (cnadesk_core::UserId, Actor) {
    let u = store
        .create_user(new_user(username, role), &Actor::system("story"), T0)
        .await
        .unwrap();
    (
        u.id,
        Actor::Member {
            id: u.id,
            username: u.username,
        },
    )
}

fn new_user(username: &str, role: Role) -> NewUser {
    NewUser {
        username: username.to_owned(),
        display_name: format!("{username} (display)"),
        email: format!("{username}@example.org"),
        role,
        password_hash: format!("$argon2id$fake${username}"),
    }
}

fn new_report(title: &str, tracking_hash: &str) -> NewReport {
    let fields = ReportInput {
        title: title.to_owned(),
        reporter_name: "Rita Reporter".into(),
        reporter_email: "rita@example.org".into(),
        product: "Prosody".into(),
        versions: "0.12.0 – 0.12.3".into(),
        description: "Message carbons can be spoofed by a remote entity <script>alert(1)</script>"
            .into(),
        credit: "Rita R.".into(),
        ..Default::default()
    }
    .validate()
    .expect("story report is valid");
    NewReport {
        outbox: Vec::new(),
        fields,
        tracking_hash: tracking_hash.to_owned(),
        channel: Channel::Web,
        attachments: vec![NewAttachment {
            filename: "poc.py".into(),
            content_type: "text/x-python".into(),
            data: b"print('poc')\n\x00\xff".to_vec(),
        }],
    }
}

/// Verifies the whole audit chain of a store and returns the number of events.
pub async fn verify_chain(store: &dyn Store) -> Result<i64, String> {
    crate::verify_audit_chain(store)
        .await
        .map_err(|e| e.to_string())
}

fn record_draft(
    cve: &str,
    doc: &str,
    based_on: i64,
    author: cnadesk_core::UserId,
) -> NewRecordVersion {
    NewRecordVersion {
        cve_id: cve.parse().expect("story CVE ID"),
        document: doc.to_owned(),
        based_on,
        schema_errors: 0,
        lint_errors: 1,
        lint_warnings: 2,
        note: " first draft ".into(),
        author,
    }
}

fn service_id(id: &str, state: crate::CveIdState, at: i64) -> crate::ServiceCveId {
    crate::ServiceCveId {
        cve_id: id.parse().expect("story CVE ID"),
        state,
        reserved_at_ms: at,
        reserved_by: "bot".into(),
    }
}
