//! The conformance stories against SQLite (always) and PostgreSQL. The
//! PostgreSQL tests are `#[ignore]`d unless asked for (`--include-ignored`,
//! as CI does); run, they need `CNADESK_TEST_POSTGRES_URL` and fail without it.
//!
//! One test per story per backend (`sqlite::records_story`,
//! `postgres::records_story`, …): a failure names its story and backend and
//! does not hide the others.

mod common;

use std::sync::Arc;

use cnadesk_store::conformance;
use cnadesk_store::prelude::*;
use cnadesk_store_sql::{open, Migrate, SqlStore};

use common::{sqlite, TestDb};

/// One test per story and backend: `sqlite::<story>` and `postgres::<story>`,
/// each on a fresh database. `$s` is the store, an `Arc<SqlStore>`.
macro_rules! stories {
    ($($story:ident: |$s:ident| $body:expr;)*) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $story() {
                    let (_dir, $s) = sqlite().await;
                    let $s = Arc::new($s);
                    $body;
                }
            )*
        }

        mod postgres {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL: set CNADESK_TEST_POSTGRES_URL"]
                async fn $story() {
                    let (db, store) = common::postgres().await;
                    let $s = Arc::new(store.clone());
                    $body;
                    store.close().await;
                    db.drop().await;
                }
            )*
        }
    };
}

stories! {
    run: |s| conformance::run(&*s).await;
    concurrent_appends: |s| conformance::concurrent_appends_keep_the_chain(s).await;
    concurrent_triage_decisions: |s| {
        conformance::concurrent_triage_decisions_exclude_each_other(s).await
    };
    tampering_is_detected: |s| super::tampering_is_detected(&s).await;
    records_story: |s| conformance::records_story(&*s).await;
    concurrent_record_saves: |s| {
        conformance::concurrent_record_saves_exclude_each_other(s).await
    };
    cve_program_story: |s| conformance::cve_program_story(&*s).await;
    scope_story: |s| conformance::scope_story(&*s).await;
    scope_policy_story: |s| conformance::scope_policy_story(&*s).await;
    team_story: |s| conformance::team_story(&*s).await;
    accounts_story: |s| conformance::accounts_story(&*s).await;
    notify_story: |s| conformance::notify_story(&*s).await;
    records_are_immutable: |s| super::records_are_immutable(&s).await;
    coordination_story: |s| conformance::coordination_story(&*s).await;
    concurrent_invitation_accepts: |s| {
        conformance::concurrent_invitation_accepts_exclude_each_other(s).await
    };
    transparency_story: |s| conformance::transparency_story(&*s).await;
    content_story: |s| {
        conformance::content_story(&*s).await;
    };
    content_tampering: |s| content_tampering_is_detected(&s).await;
    chains_from_before_digests: |s| chains_from_before_digests_still_verify(&s).await;
}

#[tokio::test]
async fn sqlite_creates_data_dir_and_uses_wal() {
    let (dir, store) = sqlite().await;
    assert!(dir.path().join("nested/data/cnadesk.sqlite3").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("nested/data"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "the data directory is private");
    }
    let n = store
        .execute_raw_for_tests("INSERT INTO setup_tokens (token_hash, expires_at) VALUES ('x', 1)")
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(
        dir.path().join("nested/data/cnadesk.sqlite3-wal").exists(),
        "WAL mode"
    );
    // Foreign keys are enforced.
    let fk = store
        .execute_raw_for_tests(
            "INSERT INTO sessions (id_hash, user_id, mfa_pending, created_at, expires_at) VALUES ('s', 999, 0, 0, 1)",
        )
        .await;
    assert!(fk.is_err(), "foreign keys must be on");
}

/// A stored scope decision this binary does not know (written past the
/// CHECK constraint) is a database error naming it when read, not a panic.
#[tokio::test]
async fn an_unknown_stored_scope_decision_is_a_database_error() {
    let (_dir, store) = sqlite().await;
    conformance::scope_story(&store).await;
    // One writer connection: the PRAGMA holds for the INSERT after it.
    store
        .execute_raw_for_tests("PRAGMA ignore_check_constraints = ON")
        .await
        .unwrap();
    store
        .execute_raw_for_tests(
            "INSERT INTO scope_decisions (report_id, decision, rule_id, policy_version, \
             product_key, referral_cna, overridden, reason, input, proposal, decided_by, decided_at) \
             SELECT report_id, 'maybe', rule_id, policy_version, product_key, referral_cna, \
             overridden, reason, input, proposal, decided_by, decided_at + 1 \
             FROM scope_decisions ORDER BY id DESC LIMIT 1",
        )
        .await
        .unwrap();
    match store.latest_scope_decisions().await {
        Err(cnadesk_store::StoreError::Database(m)) => assert!(m.contains("maybe"), "{m}"),
        other => panic!("expected a database error, got {other:?}"),
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: set CNADESK_TEST_POSTGRES_URL"]
async fn postgres_requires_explicit_migration() {
    let db = TestDb::create().await;
    let url = db.url.clone();
    let err = open(&url, Migrate::Require).await.unwrap_err();
    assert!(err.to_string().contains("cnadesk migrate"), "{err}");
    // Every migration this binary knows, in order.
    let known: Vec<i64> = cnadesk_store_sql::Backend::Postgres
        .migrator()
        .iter()
        .map(|m| m.version)
        .collect();
    assert!(known.starts_with(&[1, 2, 3, 4, 5, 6, 7, 8, 9]), "{known:?}");
    assert_eq!(cnadesk_store_sql::migrate(&url).await.unwrap(), known);
    assert!(cnadesk_store_sql::migrate(&url).await.unwrap().is_empty());
    open(&url, Migrate::Require)
        .await
        .expect("opens once migrated")
        .close()
        .await;
    db.drop().await;
}

/// Editing an audit event with raw SQL breaks the chain at that event.
async fn tampering_is_detected(store: &SqlStore) {
    conformance::run(store).await;
    store
        .execute_raw_for_tests(
            "UPDATE audit_events SET payload = '{\"forged\":true}' WHERE seq = 5",
        )
        .await
        .unwrap();
    let err = conformance::verify_chain(store).await.unwrap_err();
    assert!(err.starts_with("event 5:"), "{err}");
}

/// Record versions, approvals and scope decisions cannot be changed or
/// deleted, even with raw SQL (after the stories that write them).
async fn records_are_immutable(store: &SqlStore) {
    conformance::records_story(store).await;
    conformance::cve_program_story(store).await;
    conformance::scope_story(store).await;
    for sql in [
        "UPDATE scope_decisions SET decision = 'refer'",
        "DELETE FROM scope_decisions",
        "UPDATE record_versions SET document = '{}' WHERE version = 1",
        "DELETE FROM record_versions WHERE version = 1",
        "UPDATE record_approvals SET approver_id = approver_id",
        "DELETE FROM record_approvals",
    ] {
        let err = store.execute_raw_for_tests(sql).await.unwrap_err();
        assert!(err.to_string().contains("immutable"), "{sql}: {err}");
    }
}

/// Editing what an audit event committed to (a report's fields, a message,
/// a note's visibility, a record version, a coordination message) with raw
/// SQL fails verification, naming the content and the event; undoing the
/// edit makes the chain verify again.
async fn content_tampering_is_detected(store: &SqlStore) {
    let s = conformance::content_story(store).await;
    let (r, m, n, c) = (s.report.0, s.message, s.note, s.case.0);
    let (v, cm) = (s.record_version, s.case_message);
    let drop_trigger = match store.kind() {
        cnadesk_store_sql::Backend::Sqlite => "DROP TRIGGER record_versions_no_update",
        cnadesk_store_sql::Backend::Postgres => {
            "DROP TRIGGER record_versions_no_change ON record_versions"
        }
    };
    store.execute_raw_for_tests(drop_trigger).await.unwrap();
    let edits = [
        (
            format!("UPDATE reports SET title = title || 'X' WHERE id = {r}"),
            format!("UPDATE reports SET title = substr(title, 1, length(title) - 1) WHERE id = {r}"),
            format!("report {r}'s content does not match the digest in event"),
            "(report.created)",
        ),
        (
            format!("UPDATE reports SET reporter_email = 'eve@example.org' WHERE id = {r}"),
            format!("UPDATE reports SET reporter_email = 'rita@example.org' WHERE id = {r}"),
            format!("report {r}'s content"),
            "(report.created)",
        ),
        (
            format!("UPDATE messages SET body = body || 'X' WHERE id = {m}"),
            format!("UPDATE messages SET body = substr(body, 1, length(body) - 1) WHERE id = {m}"),
            format!("message {m}'s content does not match the digest in event"),
            "(message.shared)",
        ),
        (
            format!("UPDATE messages SET visibility = 'reporter' WHERE id = {n}"),
            format!("UPDATE messages SET visibility = 'internal' WHERE id = {n}"),
            format!("message {n}'s content"),
            "(note.added)",
        ),
        (
            format!("UPDATE record_versions SET document = document || ' ' WHERE case_id = {c} AND version = {v}"),
            format!("UPDATE record_versions SET document = substr(document, 1, length(document) - 1) WHERE case_id = {c} AND version = {v}"),
            format!("record version {v} of case {c}'s content does not match the digest in event"),
            "(record.version_saved)",
        ),
        (
            format!("UPDATE case_messages SET body = body || 'X' WHERE id = {cm}"),
            format!("UPDATE case_messages SET body = substr(body, 1, length(body) - 1) WHERE id = {cm}"),
            format!("coordination message {cm}'s content does not match the digest in event"),
            "(coordination.message)",
        ),
    ];
    for (tamper, undo, what, action) in edits {
        assert_eq!(
            store.execute_raw_for_tests(&tamper).await.unwrap(),
            1,
            "{tamper}"
        );
        let err = conformance::verify_chain(store).await.unwrap_err();
        assert!(
            err.contains(&what) && err.contains(action),
            "{tamper}: {err}"
        );
        store.execute_raw_for_tests(&undo).await.unwrap();
        conformance::verify_chain(store)
            .await
            .unwrap_or_else(|e| panic!("after undoing {tamper}: {e}"));
    }
    // A deleted message is named as missing.
    store
        .execute_raw_for_tests(&format!("DELETE FROM case_messages WHERE id = {cm}"))
        .await
        .unwrap();
    let err = conformance::verify_chain(store).await.unwrap_err();
    assert!(
        err.contains(&format!("coordination message {cm} is missing")),
        "{err}"
    );
}

/// A database written before events carried content digests: the chain is
/// rewritten without them (as it was then). It still verifies; a report's
/// fields were never committed to, while message and record text are checked
/// against the text hashes those events always held.
async fn chains_from_before_digests_still_verify(store: &SqlStore) {
    use cnadesk_core::audit::GENESIS_HASH;
    let s = conformance::content_story(store).await;
    let events = store.audit_events(0, 100_000).await.unwrap();
    let mut prev = GENESIS_HASH.to_owned();
    for mut e in events {
        if let Some(map) = e.payload.as_object_mut() {
            map.remove(cnadesk_core::audit::DIGEST_KEY);
        }
        e.prev_hash = prev;
        e.hash = e.compute_hash();
        let payload = cnadesk_core::audit::canonical_json(&e.payload).replace('\'', "''");
        store
            .execute_raw_for_tests(&format!(
                "UPDATE audit_events SET payload = '{payload}', prev_hash = '{}', hash = '{}' \
                 WHERE seq = {}",
                e.prev_hash, e.hash, e.seq
            ))
            .await
            .unwrap();
        prev = e.hash;
    }
    store
        .execute_raw_for_tests(&format!(
            "UPDATE audit_head SET hash = '{prev}' WHERE id = 1"
        ))
        .await
        .unwrap();
    conformance::verify_chain(store)
        .await
        .expect("a chain without digests verifies");
    store
        .execute_raw_for_tests(&format!(
            "UPDATE reports SET title = 'not committed to' WHERE id = {}",
            s.report.0
        ))
        .await
        .unwrap();
    conformance::verify_chain(store)
        .await
        .expect("old report events hold no digest");
    store
        .execute_raw_for_tests(&format!(
            "UPDATE messages SET body = 'edited' WHERE id = {}",
            s.message
        ))
        .await
        .unwrap();
    let err = conformance::verify_chain(store).await.unwrap_err();
    assert!(
        err.contains(&format!("message {}'s content", s.message))
            && err.contains("(message.shared)"),
        "{err}"
    );
}
