//! Leases on SQLite (always) and PostgreSQL (`#[ignore]`d unless asked for;
//! run, it needs `CNADESK_TEST_POSTGRES_URL`): one holder at a time, takeover
//! after expiry, fenced job heartbeats.

mod common;

use std::sync::Arc;

use cnadesk_store::lease_conformance;
use cnadesk_store::prelude::*;
use cnadesk_store_sql::{open, Migrate, SqlStore};

use common::{postgres, sqlite, sqlite_url};

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
    let (db, store) = postgres().await;
    story(store.clone()).await;
    store.close().await;
    db.drop().await;
}

/// Two processes are two pools: takers on separate SQLite connections to
/// one file still get one lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_leases_across_pools() {
    let (dir, first) = sqlite().await;
    let second = open(&sqlite_url(dir.path()), Migrate::Apply).await.unwrap();
    let now = 1_800_000_000_000;
    let (a, b) = tokio::join!(
        first.take_lease("deliver-messages", "a/1", now + 30_000, now),
        second.take_lease("deliver-messages", "b/2", now + 30_000, now),
    );
    assert!(a.unwrap() ^ b.unwrap(), "exactly one pool holds it");
}
