//! A CVE call whose worker died (its node was killed mid-call) holds its job
//! only until its short lease runs out: "Try now" then takes it over, reads
//! back and finishes without publishing twice. A worker that lives renews
//! its lease while a slow call runs, so nobody takes its job meanwhile.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use cnadesk_core::{CaseId, Role};
use cnadesk_cve_services::double::Fault;
use cnadesk_store::prelude::*;
use cnadesk_store::{JobState, PublicationRequest};
use support::{carbons_case, case_cve_id, record_fields, reserve, save_record, TestApp};

/// A case with a reserved ID and an approved version 1; returns the case
/// number and the ID.
async fn approved_case(app: &TestApp) -> (i64, String) {
    let mut ada = app.signed_in("ada", Role::Member).await;
    let mut bob = app.signed_in("bob", Role::Member).await;
    let n = carbons_case(app, &mut ada, "Carbons spoofing").await;
    let r = reserve(&mut ada, n, "1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cve = case_cve_id(app, n).await;
    save_record(&mut ada, n, 0, &record_fields(&cve, "0.12.4")).await;
    let page = format!("/desk/cases/{n}/cve");
    let r = bob
        .submit(&page, &format!("{page}/approve"), &[("version", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    (n, cve)
}

/// The queued publication of version 1 (as the publish button stores it).
async fn queued_publication(app: &TestApp, n: i64) -> cnadesk_store::Job {
    let bob = app
        .store
        .user_credentials("bob")
        .await
        .unwrap()
        .unwrap()
        .user;
    app.store
        .request_publication(
            PublicationRequest {
                case_id: CaseId(n),
                version: 1,
            },
            &cnadesk_core::Actor::Member {
                id: bob.id,
                username: bob.username,
            },
            app.state.clock.now().as_millisecond(),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn try_now_takes_over_a_dead_workers_call_once_its_lease_ran_out() {
    let (app, double) = TestApp::with_cve_double().await;
    let desk = app.state.cve.clone().expect("a CVE desk");
    assert_eq!(desk.lease(), cnadesk_cve_workflow::DEFAULT_LEASE);
    let (n, cve) = approved_case(&app).await;
    let job = queued_publication(&app, n).await;
    // Another node's worker took the job and sent the record; CVE Services
    // published it, and then that node was killed before it heard back.
    let now = app.state.clock.now().as_millisecond();
    let lease_ms = desk.lease().as_millis() as i64;
    let taken = app
        .store
        .claim_job(job.id, now + lease_ms, now)
        .await
        .unwrap()
        .expect("the other node claims it");
    let version = app
        .store
        .record_version(CaseId(n), 1)
        .await
        .unwrap()
        .unwrap();
    let container: serde_json::Value = serde_json::from_str(&version.document).unwrap();
    desk.client().publish(&cve, &container).await.unwrap();
    assert_eq!(double.record_count(), 1);
    // A tripwire: a second POST would take this fault.
    double.inject(&format!("POST /cve/{cve}/cna"), Fault::Status(500));

    // While the lease runs, "Try now" leaves the call to its worker.
    let mut bob = app.sign_in("bob").await;
    let page = format!("/desk/cases/{n}/cve");
    let run = format!("{page}/jobs/{}/run", job.id);
    let r = bob.submit(&page, &run, &[]).await;
    assert_eq!(r.location(), format!("{page}?done=running"));
    let shown = bob.get(&r.location()).await;
    assert!(
        shown.body.contains("Try now, takes the call over"),
        "{}",
        shown.body
    );
    let still = app.store.job(job.id).await.unwrap().unwrap();
    assert_eq!(
        (still.state, still.attempts),
        (JobState::Running, taken.attempts)
    );

    // The lease (60 s, never renewed: its node is dead) runs out.
    app.clock
        .advance(jiff::SignedDuration::from_millis(lease_ms + 1));
    let r = bob.submit(&page, &run, &[]).await;
    assert_eq!(r.location(), format!("{page}?done=published"));
    let done = app.store.job(job.id).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Done, "{}", done.last_error);
    assert_eq!(done.attempts, 2);
    assert_eq!(done.result.as_ref().unwrap()["read_back_matches"], true);
    assert_eq!(double.record_count(), 1, "published once");
    assert_eq!(double.pending_faults(), 1, "no second POST was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_living_worker_keeps_its_job_through_a_slow_call() {
    let (app, double) = TestApp::with_cve_double().await;
    let desk = (*app.state.cve.clone().expect("a CVE desk"))
        .clone()
        .with_lease(Duration::from_secs(1));
    let (n, cve) = approved_case(&app).await;
    let job = queued_publication(&app, n).await;
    // CVE Services takes 1.5 s to answer (the client waits 2 s): longer
    // than the lease.
    double.inject(
        &format!("POST /cve/{cve}/cna"),
        Fault::Delay(Duration::from_millis(1500)),
    );
    let slow = tokio::spawn({
        let desk = desk.clone();
        async move { desk.run_job(job.id).await }
    });
    // Time passes on the desk's clock; the heartbeat (every third of the
    // lease) extends the lease each time.
    tokio::time::sleep(Duration::from_millis(100)).await;
    app.clock.advance(jiff::SignedDuration::from_millis(900));
    tokio::time::sleep(Duration::from_millis(700)).await;
    app.clock.advance(jiff::SignedDuration::from_millis(900));
    // Without the heartbeat the first lease would have ended 800 ms ago.
    let other = Arc::new(desk.clone());
    let seen = other.run_job(job.id).await.unwrap();
    assert_eq!(
        (seen.state, seen.attempts),
        (JobState::Running, 1),
        "a renewed lease is not taken over"
    );
    let done = slow.await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Done, "{}", done.last_error);
    assert_eq!(done.attempts, 1);
    assert_eq!(double.record_count(), 1);
    assert_eq!(double.pending_faults(), 0);
}
