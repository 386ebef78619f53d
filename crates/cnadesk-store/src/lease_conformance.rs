//! What every backend must do with leases, so that several `serve`
//! processes on one database run each periodic job on one node at a time and
//! a running CVE job's heartbeat cannot outlive a takeover. Run by
//! `cnadesk-store-sql/tests/leases.rs` on SQLite and PostgreSQL.
#![allow(
    clippy::unwrap_used,
    reason = "test support, compiled only for tests: a failed step is a failed story"
)]

use std::sync::Arc;

use cnadesk_core::Actor;
use serde_json::json;

use crate::{JobKind, JobOutcome, JobState, NewJob, Store};

const T0: i64 = 1_800_000_000_000;

/// Taking, renewing, refusing, expiring, releasing.
pub async fn leases_take_renew_expire_release(store: &dyn Store) {
    assert!(store.leases().await.expect("leases").is_empty());
    assert!(store
        .take_lease("sweep", "a/1", T0 + 30_000, T0)
        .await
        .unwrap());
    // Held: another node is refused, the holder renews.
    assert!(!store
        .take_lease("sweep", "b/2", T0 + 40_000, T0 + 10_000)
        .await
        .unwrap());
    assert!(store
        .take_lease("sweep", "a/1", T0 + 40_000, T0 + 10_000)
        .await
        .unwrap());
    // Other names are independent.
    assert!(store
        .take_lease("deliver", "b/2", T0 + 40_000, T0 + 10_000)
        .await
        .unwrap());
    let all = store.leases().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].name, "deliver");
    let sweep = &all[1];
    assert_eq!(
        (sweep.holder.as_str(), sweep.expires_at_ms),
        ("a/1", T0 + 40_000)
    );
    assert_eq!(sweep.taken_at_ms, T0, "a renewal keeps when it was taken");
    assert!(sweep.is_held(T0 + 40_000) && !sweep.is_held(T0 + 40_001));
    // Still running at its last millisecond; taken over just after.
    assert!(!store
        .take_lease("sweep", "b/2", T0 + 70_000, T0 + 40_000)
        .await
        .unwrap());
    assert!(store
        .take_lease("sweep", "b/2", T0 + 71_000, T0 + 40_001)
        .await
        .unwrap());
    let sweep = store.leases().await.unwrap().remove(1);
    assert_eq!(
        (sweep.holder.as_str(), sweep.taken_at_ms),
        ("b/2", T0 + 40_001)
    );
    // The old holder cannot renew what was taken over.
    assert!(!store
        .take_lease("sweep", "a/1", T0 + 80_000, T0 + 41_000)
        .await
        .unwrap());
    // Releasing someone else's lease does nothing; one's own frees it at once.
    store.release_lease("sweep", "a/1").await.unwrap();
    assert!(!store
        .take_lease("sweep", "a/1", T0 + 80_000, T0 + 42_000)
        .await
        .unwrap());
    store.release_lease("sweep", "b/2").await.unwrap();
    assert!(store
        .take_lease("sweep", "a/1", T0 + 80_000, T0 + 42_000)
        .await
        .unwrap());
    store.release_lease("nothing", "a/1").await.unwrap();
}

/// Many nodes asking for one free (or expired) lease at the same moment:
/// exactly one gets it, every round.
pub async fn concurrent_takers_get_one_lease(store: Arc<dyn Store>) {
    for round in 0..10_i64 {
        let name = format!("race-{}", round % 2);
        // Rounds 0 and 1 start from no lease; every later round from the
        // lease of the round before last, which ran out (it lasted 50 s).
        let now = T0 + round * 100_000;
        let mut tasks = Vec::new();
        for node in 0..8 {
            let store = store.clone();
            let name = name.clone();
            tasks.push(tokio::spawn(async move {
                store
                    .take_lease(&name, &format!("node-{node}/{round}"), now + 50_000, now)
                    .await
                    .expect("take")
            }));
        }
        let mut winners = 0;
        for t in tasks {
            if t.await.expect("task") {
                winners += 1;
            }
        }
        assert_eq!(winners, 1, "round {round}: exactly one node holds {name}");
    }
}

/// A running job's heartbeat extends its lease only while that attempt
/// holds the job.
pub async fn job_heartbeats_are_fenced(store: &dyn Store) {
    let actor = Actor::system("lease-test");
    let job = store
        .enqueue_job(
            NewJob {
                kind: JobKind::CveReserve,
                case_id: None,
                subject: "reserve:lease-test".into(),
                payload: json!({"amount": 1}),
            },
            &actor,
            T0,
        )
        .await
        .expect("enqueue");
    assert!(
        !store.renew_job_lease(job.id, 1, T0 + 10_000).await.unwrap(),
        "a queued job has no lease to renew"
    );
    let first = store
        .claim_job(job.id, T0 + 10_000, T0 + 1)
        .await
        .unwrap()
        .expect("claimed");
    assert!(store
        .renew_job_lease(job.id, first.attempts, T0 + 20_000)
        .await
        .unwrap());
    let held = store.job(job.id).await.unwrap().unwrap();
    assert_eq!(held.lease_until_ms, Some(T0 + 20_000));
    // Renewed: no takeover before the new end.
    assert!(store
        .claim_job(job.id, T0 + 40_000, T0 + 15_000)
        .await
        .unwrap()
        .is_none());
    // The worker dies; after the lease another takes over, and the old
    // attempt's heartbeat is refused from then on.
    let second = store
        .claim_job(job.id, T0 + 40_000, T0 + 20_001)
        .await
        .unwrap()
        .expect("taken over");
    assert_eq!(second.attempts, first.attempts + 1);
    assert!(!store
        .renew_job_lease(job.id, first.attempts, T0 + 60_000)
        .await
        .unwrap());
    assert!(store
        .renew_job_lease(job.id, second.attempts, T0 + 60_000)
        .await
        .unwrap());
    let done = store
        .finish_job(
            job.id,
            second.attempts,
            JobOutcome::Failed {
                error: "test".into(),
            },
            &actor,
            T0 + 21_000,
        )
        .await
        .unwrap();
    assert_eq!(done.state, JobState::Failed);
    assert!(
        !store
            .renew_job_lease(job.id, second.attempts, T0 + 90_000)
            .await
            .unwrap(),
        "a finished job has no lease"
    );
}
