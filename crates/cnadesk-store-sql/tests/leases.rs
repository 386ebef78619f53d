//! Leases on SQLite (always) and PostgreSQL (`#[ignore]`d unless asked for;
//! run, it needs `CNADESK_TEST_POSTGRES_URL`): one holder at a time, takeover
//! after expiry, fenced job heartbeats.

use std::sync::Arc;

use cnadesk_store::{lease_conformance, Store};
use cnadesk_store_sql::{open, sqlite_url_in, Migrate, SqlStore};

async fn sqlite() -> (tempfile::TempDir, SqlStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&sqlite_url_in(dir.path()), Migrate::Apply)
        .await
        .expect("open sqlite");
    (dir, store)
}

/// A fresh database on the test server; without one the test fails.
async fn postgres() -> SqlStore {
    let base = std::env::var("CNADESK_TEST_POSTGRES_URL")
        .expect("this test needs PostgreSQL: set CNADESK_TEST_POSTGRES_URL");
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
    open(&url, Migrate::Require).await.expect("open postgres")
}

async fn story(store: SqlStore) {
    lease_conformance::leases_take_renew_expire_release(&store).await;
    lease_conformance::job_heartbeats_are_fenced(&store).await;
    lease_conformance::concurrent_takers_get_one_lease(Arc::new(store) as Arc<dyn Store>).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_leases() {
    let (_dir, store) = sqlite().await;
    story(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: set CNADESK_TEST_POSTGRES_URL"]
async fn postgres_leases() {
    story(postgres().await).await;
}

/// Two processes are two pools: takers on separate SQLite connections to
/// one file still get one lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_leases_across_pools() {
    let (dir, first) = sqlite().await;
    let second = open(&sqlite_url_in(dir.path()), Migrate::Apply)
        .await
        .unwrap();
    let now = 1_800_000_000_000;
    let (a, b) = tokio::join!(
        first.take_lease("deliver-messages", "a/1", now + 30_000, now),
        second.take_lease("deliver-messages", "b/2", now + 30_000, now),
    );
    assert!(a.unwrap() ^ b.unwrap(), "exactly one pool holds it");
}
