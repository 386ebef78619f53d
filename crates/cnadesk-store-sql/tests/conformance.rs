//! The conformance story against SQLite (always) and PostgreSQL (when
//! `CNADESK_TEST_POSTGRES_URL` is set; then an unreachable server fails the
//! test instead of skipping it).

use std::sync::Arc;

use cnadesk_store::{conformance, Store};
use cnadesk_store_sql::{open, sqlite_url_in, Migrate, SqlStore};

async fn sqlite() -> (tempfile::TempDir, SqlStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(
        &sqlite_url_in(&dir.path().join("nested/data")),
        Migrate::Apply,
    )
    .await
    .expect("open sqlite");
    (dir, store)
}

/// A fresh database on the test PostgreSQL server, or `None` when no server is
/// configured. Each test gets its own database.
async fn postgres() -> Option<SqlStore> {
    let base = std::env::var("CNADESK_TEST_POSTGRES_URL").ok()?;
    let name = format!("cnadesk_test_{:016x}", rand::random::<u64>());
    sqlx::any::install_default_drivers();
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap_or_else(|e| panic!("CNADESK_TEST_POSTGRES_URL is set but unreachable: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    let url = format!("{prefix}/{name}");
    cnadesk_store_sql::migrate(&url).await.expect("migrate");
    Some(open(&url, Migrate::Require).await.expect("open postgres"))
}

fn announce(backend: &str) {
    eprintln!("conformance story: running against {backend}");
}

#[tokio::test]
async fn sqlite_conformance() {
    let (_dir, store) = sqlite().await;
    announce("sqlite");
    conformance::run(&store).await;
}

#[tokio::test]
async fn sqlite_concurrent_appends() {
    let (_dir, store) = sqlite().await;
    conformance::concurrent_appends_keep_the_chain(Arc::new(store) as Arc<dyn Store>).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_triage_decisions() {
    let (_dir, store) = sqlite().await;
    conformance::concurrent_triage_decisions_exclude_each_other(Arc::new(store) as Arc<dyn Store>)
        .await;
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

#[tokio::test]
async fn sqlite_tampering_is_detected() {
    let (_dir, store) = sqlite().await;
    conformance::run(&store).await;
    store
        .execute_raw_for_tests(
            "UPDATE audit_events SET payload = '{\"forged\":true}' WHERE seq = 5",
        )
        .await
        .unwrap();
    let err = conformance::verify_chain(&store).await.unwrap_err();
    assert!(err.starts_with("event 5:"), "{err}");
}

#[tokio::test]
async fn postgres_conformance() {
    let Some(store) = postgres().await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set CNADESK_TEST_POSTGRES_URL: the PostgreSQL story may not be skipped there"
        );
        eprintln!("conformance story: PostgreSQL skipped (CNADESK_TEST_POSTGRES_URL not set)");
        return;
    };
    announce("postgres");
    conformance::run(&store).await;
}

#[tokio::test]
async fn postgres_concurrent_appends() {
    let Some(store) = postgres().await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set CNADESK_TEST_POSTGRES_URL"
        );
        return;
    };
    conformance::concurrent_appends_keep_the_chain(Arc::new(store) as Arc<dyn Store>).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_triage_decisions() {
    let Some(store) = postgres().await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set CNADESK_TEST_POSTGRES_URL"
        );
        return;
    };
    conformance::concurrent_triage_decisions_exclude_each_other(Arc::new(store) as Arc<dyn Store>)
        .await;
}

#[tokio::test]
async fn postgres_requires_explicit_migration() {
    let Ok(base) = std::env::var("CNADESK_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set CNADESK_TEST_POSTGRES_URL"
        );
        return;
    };
    sqlx::any::install_default_drivers();
    let name = format!("cnadesk_test_{:016x}", rand::random::<u64>());
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
        .await
        .expect("reach test postgres");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{name}");
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
        .expect("opens once migrated");
}

/// Record versions cannot be changed or deleted, even with raw SQL.
async fn records_are_immutable(store: &SqlStore) {
    conformance::records_story(store).await;
    conformance::cve_program_story(store).await;
    conformance::scope_story(store).await;
    conformance::scope_policy_story(store).await;
    conformance::team_story(store).await;
    conformance::notify_story(store).await;
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

#[tokio::test]
async fn sqlite_records() {
    let (_dir, store) = sqlite().await;
    records_are_immutable(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_record_saves() {
    let (_dir, store) = sqlite().await;
    conformance::concurrent_record_saves_exclude_each_other(Arc::new(store) as Arc<dyn Store>)
        .await;
}

#[tokio::test]
async fn postgres_records() {
    let Some(store) = postgres().await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set CNADESK_TEST_POSTGRES_URL"
        );
        return;
    };
    records_are_immutable(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_record_saves() {
    let Some(store) = postgres().await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set CNADESK_TEST_POSTGRES_URL"
        );
        return;
    };
    conformance::concurrent_record_saves_exclude_each_other(Arc::new(store) as Arc<dyn Store>)
        .await;
}

#[tokio::test]
async fn sqlite_coordination() {
    let (_dir, store) = sqlite().await;
    conformance::coordination_story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_concurrent_invitation_accepts() {
    let (_dir, store) = sqlite().await;
    conformance::concurrent_invitation_accepts_exclude_each_other(Arc::new(store) as Arc<dyn Store>)
        .await;
}

#[tokio::test]
async fn postgres_coordination() {
    let Some(store) = postgres().await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set CNADESK_TEST_POSTGRES_URL"
        );
        return;
    };
    conformance::coordination_story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_concurrent_invitation_accepts() {
    let Some(store) = postgres().await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set CNADESK_TEST_POSTGRES_URL"
        );
        return;
    };
    conformance::concurrent_invitation_accepts_exclude_each_other(Arc::new(store) as Arc<dyn Store>)
        .await;
}

#[tokio::test]
async fn sqlite_transparency() {
    let (_dir, store) = sqlite().await;
    conformance::transparency_story(&store).await;
}

#[tokio::test]
async fn postgres_transparency() {
    let Some(store) = postgres().await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set CNADESK_TEST_POSTGRES_URL"
        );
        return;
    };
    conformance::transparency_story(&store).await;
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

#[tokio::test]
async fn sqlite_content_tampering() {
    let (_dir, store) = sqlite().await;
    content_tampering_is_detected(&store).await;
}

#[tokio::test]
async fn postgres_content_tampering() {
    let Some(store) = postgres().await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set CNADESK_TEST_POSTGRES_URL"
        );
        return;
    };
    content_tampering_is_detected(&store).await;
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

#[tokio::test]
async fn sqlite_chains_from_before_digests() {
    let (_dir, store) = sqlite().await;
    chains_from_before_digests_still_verify(&store).await;
}

#[tokio::test]
async fn postgres_chains_from_before_digests() {
    let Some(store) = postgres().await else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must set CNADESK_TEST_POSTGRES_URL"
        );
        return;
    };
    chains_from_before_digests_still_verify(&store).await;
}
