//! Audit events commit to the content they describe: `report.created`,

use super::*;

/// What [`content_story`] stored, for a backend's test to tamper with.
#[derive(Clone, Debug)]
pub struct ContentStory {
    /// A report.
    pub report: ReportId,
    /// The reporter's message on it.
    pub message: i64,
    /// A member's internal note on it.
    pub note: i64,
    /// The case opened from it.
    pub case: cnadesk_core::CaseId,
    /// Version 1 of the case's record.
    pub record_version: i64,
    /// A message of the case's shared coordination thread.
    pub case_message: i64,
}

/// Audit events commit to the content they describe: `report.created`,
/// `message.shared`, `note.added`, `record.version_saved` and
/// `coordination.message` carry the digest of exactly what was stored, and
/// the chain verifies. Works on an empty store or after the other stories.
pub async fn content_story(store: &dyn Store) -> ContentStory {
    use cnadesk_core::audit::{ContentClaim, ContentSubject, DigestScheme};

    let (ada_id, ada) = member(store, "digest-ada", Role::Admin).await;
    let report = store
        .create_report(new_report("digest one", "digest-1"), T0)
        .await
        .unwrap();
    let reporter = Actor::Reporter { report: report.id };
    let message = store
        .add_message(
            NewMessage {
                report_id: report.id,
                author: Author::Reporter,
                visibility: Visibility::Reporter,
                body: "It also works over BOSH.\nÜnïcode ✓".into(),
            },
            &reporter,
            T0 + 1,
        )
        .await
        .unwrap();
    let note = store
        .add_message(
            NewMessage {
                report_id: report.id,
                author: Author::Member {
                    id: ada_id,
                    name: "Ada".into(),
                },
                visibility: Visibility::Internal,
                body: "Reproduced on 0.12.3.".into(),
            },
            &ada,
            T0 + 2,
        )
        .await
        .unwrap();
    let case = store
        .accept_report(report.id, "digest one", &ada, T0 + 3)
        .await
        .unwrap();
    let version = store
        .save_record_version(
            case.id,
            record_draft("CVE-2026-20001", r#"{"title": "digest"}"#, 0, ada_id),
            &ada,
            T0 + 4,
        )
        .await
        .unwrap();
    let case_message = store
        .add_case_message(
            case.id,
            None,
            "Ada (XSF)",
            "Embargo until May.",
            &ada,
            T0 + 5,
        )
        .await
        .unwrap();

    // Each event holds the digest of the row as it is read back.
    let stored = store.report(report.id).await.unwrap().unwrap();
    let thread = store.messages(report.id, true).await.unwrap();
    let expected = [
        (ContentSubject::Report(report.id.0), stored.content_digest()),
        (
            ContentSubject::Message(message.id.0),
            thread[0].content_digest(),
        ),
        (
            ContentSubject::Message(note.id.0),
            thread[1].content_digest(),
        ),
        (
            ContentSubject::RecordVersion {
                case: case.id.0,
                version: version.version,
            },
            version.content_digest(),
        ),
        (
            ContentSubject::CaseMessage(case_message.id),
            case_message.content_digest(),
        ),
    ];
    let events = store.audit_events_for_report(report.id).await.unwrap();
    for (subject, digest) in expected {
        let claim = events
            .iter()
            .filter_map(ContentClaim::of)
            .find(|c| c.subject == subject)
            .unwrap_or_else(|| panic!("no event commits to {subject}"));
        assert_eq!(claim.scheme, DigestScheme::Canonical, "{subject}");
        assert_eq!(claim.sha256, digest, "{subject}");
    }
    verify_chain(store).await.expect("the chain verifies");
    ContentStory {
        report: report.id,
        message: message.id.0,
        note: note.id.0,
        case: case.id,
        record_version: version.version,
        case_message: case_message.id,
    }
}
