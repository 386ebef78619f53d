//! The CVE Program from the desk's pages, against the CVE Services double:
//! a member reserves an ID for a case and writes the record, a second member
//! approves that exact version, it is published, and what CVE Services
//! returns equals what was approved. Also: the two-person rule, stale
//! reservations, drift, the 72-hour clock, and faults.

mod support;

use axum::http::StatusCode;
use cnadesk_core::audit::AuditAction;
use cnadesk_core::{CaseId, ReportId, Role};
use cnadesk_cve_services::double::Fault;
use cnadesk_store::prelude::*;
use cnadesk_store::{CveIdFilter, CveIdState};
use support::{carbons_case, case_cve_id, record_fields, reserve, save_record, TestApp};

#[tokio::test]
async fn reserve_author_approve_publish_and_read_back() {
    let (app, double) = TestApp::with_cve_double().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let mut bob = app.signed_in("bob", Role::Member).await;
    let n = carbons_case(&app, &mut ada, "Carbons spoofing").await;

    let page = ada.get(&format!("/desk/cases/{n}/cve")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("CVE Services: test"),
        "the environment is shown"
    );
    assert!(page.body.contains("No CVE ID yet"));

    // Ada reserves one ID for the case.
    let r = reserve(&mut ada, n, "1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/desk/cases/{n}/cve?done=reserved"));
    let cve = case_cve_id(&app, n).await;
    assert_eq!(double.ids().len(), 1);
    assert_eq!(double.ids()[0].0, cve);
    let page = ada.get(&r.location()).await;
    assert!(page.body.contains(&cve));
    assert!(page.body.contains("the record&#39;s ID") || page.body.contains("the record's ID"));

    // Ada writes the record; she cannot approve it herself.
    save_record(&mut ada, n, 0, &record_fields(&cve, "0.12.4")).await;
    let page = ada.get(&format!("/desk/cases/{n}/cve")).await;
    assert!(page.body.contains("id=\"two-person\""));
    assert!(!page.body.contains("id=\"approve\""));
    assert!(!page.body.contains("id=\"publish\""));
    let r = ada
        .submit(
            &format!("/desk/cases/{n}/cve"),
            &format!("/desk/cases/{n}/cve/approve"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("cannot approve"), "{}", r.body);
    // Nor publish without a second member.
    let r = ada
        .submit(
            &format!("/desk/cases/{n}/cve"),
            &format!("/desk/cases/{n}/cve/publish"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("second member"), "{}", r.body);
    assert_eq!(double.record_count(), 0);

    // Bob approves the exact version he sees.
    let page = bob.get(&format!("/desk/cases/{n}/cve")).await;
    assert!(page.body.contains("id=\"approve\""));
    let r = bob
        .submit(
            &format!("/desk/cases/{n}/cve"),
            &format!("/desk/cases/{n}/cve/approve"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = ada.get(&format!("/desk/cases/{n}/cve")).await;
    assert!(page.body.contains("bob display"), "the approver is named");
    assert!(page.body.contains("id=\"publish\""));

    // Ada publishes; CVE Services returns what was approved.
    let r = ada
        .submit(
            &format!("/desk/cases/{n}/cve"),
            &format!("/desk/cases/{n}/cve/publish"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/desk/cases/{n}/cve?done=published"));
    assert_eq!(double.record_count(), 1);
    let approved = app
        .store
        .record_version(CaseId(n), 1)
        .await
        .unwrap()
        .unwrap();
    let approved: serde_json::Value = serde_json::from_str(&approved.document).unwrap();
    let published = app
        .state
        .cve
        .as_ref()
        .unwrap()
        .published_record(&cve.parse().unwrap())
        .await
        .unwrap()
        .expect("published");
    assert!(cnadesk_cve_workflow::same_content(
        &published["containers"]["cna"],
        &approved
    ));
    let entry = app
        .store
        .cve_id_entry(&cve.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.state, CveIdState::Published);

    // No drift right after publication.
    let drift = ada.get(&format!("/desk/cases/{n}/cve/drift")).await;
    assert!(
        drift.body.contains("id=\"drift-identical\""),
        "{}",
        drift.body
    );

    // A new edit: the approval does not carry over, and drift shows the change.
    save_record(&mut ada, n, 1, &record_fields(&cve, "0.12.5")).await;
    let page = bob.get(&format!("/desk/cases/{n}/cve")).await;
    assert!(
        page.body.contains("id=\"approve\""),
        "version 2 needs its own approval"
    );
    assert!(!page.body.contains("id=\"publish\""));
    let r = bob
        .submit(
            &format!("/desk/cases/{n}/cve"),
            &format!("/desk/cases/{n}/cve/publish"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "an old version cannot be published"
    );
    let drift = ada.get(&format!("/desk/cases/{n}/cve/drift")).await;
    assert!(drift.body.contains("id=\"drift\""));
    assert!(drift.body.contains("0.12.5"));

    // Withdrawing the public record takes an admin.
    let r = bob
        .submit(
            "/desk/cve",
            "/desk/cve/reject",
            &[
                ("cve_id", &cve),
                ("reason", "Not a vulnerability after all."),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r.body.contains("takes an admin"));
    assert_eq!(
        app.store
            .cve_id_entry(&cve.parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .state,
        CveIdState::Published
    );

    // The audit trail names both members and the hash.
    let events = app
        .store
        .audit_events_for_report(ReportId(1))
        .await
        .unwrap();
    let approved_event = events
        .iter()
        .find(|e| e.is(AuditAction::RecordApproved))
        .unwrap();
    assert!(approved_event.actor.contains("bob"));
    assert!(events.iter().any(|e| e.is(AuditAction::CvePublished)));
}

#[tokio::test]
async fn an_unanswered_publication_is_finished_without_a_duplicate() {
    let (app, double) = TestApp::with_cve_double().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let mut bob = app.signed_in("bob", Role::Member).await;
    let n = carbons_case(&app, &mut ada, "Carbons spoofing").await;
    reserve(&mut ada, n, "1").await;
    let cve = case_cve_id(&app, n).await;
    save_record(&mut ada, n, 0, &record_fields(&cve, "0.12.4")).await;
    let cve_page = format!("/desk/cases/{n}/cve");
    bob.submit(
        &cve_page,
        &format!("{cve_page}/approve"),
        &[("version", "1")],
    )
    .await;
    double.inject(&format!("POST /cve/{cve}/cna"), Fault::CommitThenDrop);
    // A tripwire: a second POST would take this fault.
    double.inject(&format!("POST /cve/{cve}/cna"), Fault::Status(500));
    let r = bob
        .submit(
            &cve_page,
            &format!("{cve_page}/publish"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(r.location(), format!("{cve_page}?done=queued"));
    let page = bob.get(&r.location()).await;
    assert!(page.body.contains("waiting to retry"), "{}", page.body);
    assert!(page.body.contains("id=\"publishing\""));
    assert!(
        !page.body.contains("id=\"publish\""),
        "no second publish button"
    );
    // A second request while one is in flight is refused.
    let r = ada
        .submit(
            &cve_page,
            &format!("{cve_page}/publish"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    // "Try now": the desk reads back, finds it published, and is done.
    let job = app
        .store
        .jobs(cnadesk_store::JobFilter {
            case: Some(CaseId(n)),
            open_only: true,
            limit: 0,
        })
        .await
        .unwrap()
        .remove(0);
    let r = bob
        .submit(&cve_page, &format!("{cve_page}/jobs/{}/run", job.id), &[])
        .await;
    assert_eq!(r.location(), format!("{cve_page}?done=published"));
    assert_eq!(double.record_count(), 1);
    assert_eq!(double.pending_faults(), 1, "no second POST was sent");
    let job = app.store.job(job.id).await.unwrap().unwrap();
    assert_eq!(job.state, cnadesk_store::JobState::Done);
}

#[tokio::test]
async fn stale_reservations_are_listed_and_rejected_with_a_reason() {
    let (app, double) = TestApp::with_cve_double().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let n = carbons_case(&app, &mut ada, "Not a vulnerability after all").await;
    reserve(&mut ada, n, "2").await;
    let overview = ada.get("/desk/cve").await;
    assert!(
        overview.body.contains("2 of 10 reserved; 8 available"),
        "{}",
        overview.body
    );
    assert!(overview.body.contains("id=\"no-stale\""));
    // The case is closed without a record: its IDs have no publication plan.
    let r = ada
        .submit(
            "/desk/reports/1",
            &format!("/desk/cases/{n}/transition"),
            &[("to", "closed"), ("reason", "not a vulnerability")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let overview = ada.get("/desk/cve").await;
    assert!(
        overview.body.contains("its case is closed"),
        "{}",
        overview.body
    );
    let ids = app
        .store
        .cve_ids(CveIdFilter {
            case: Some(CaseId(n)),
            state: None,
        })
        .await
        .unwrap();
    let target = ids[0].cve_id.to_string();
    // An empty reason is refused and nothing is sent.
    let r = ada
        .submit(
            "/desk/cve",
            "/desk/cve/reject",
            &[("cve_id", &target), ("reason", " ")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(double
        .ids()
        .iter()
        .all(|(_, s, _)| *s == cnadesk_cve_services::IdState::Reserved));
    let r = ada
        .submit(
            "/desk/cve",
            "/desk/cve/reject",
            &[
                ("cve_id", &target),
                ("reason", "Unused: the case was closed."),
            ],
        )
        .await;
    assert_eq!(r.location(), "/desk/cve?done=rejected");
    assert!(double
        .ids()
        .iter()
        .any(|(id, s, _)| *id == target && *s == cnadesk_cve_services::IdState::Rejected));
    let entry = app
        .store
        .cve_id_entry(&target.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.rejected_reason, "Unused: the case was closed.");
    let overview = ada.get("/desk/cve").await;
    assert!(overview.body.contains("1 of 10 reserved; 9 available"));
}

#[tokio::test]
async fn the_publication_clock_runs_from_disclosure() {
    let (app, _double) = TestApp::with_cve_double().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let n = carbons_case(&app, &mut ada, "Carbons spoofing").await;
    reserve(&mut ada, n, "1").await;
    let cve = case_cve_id(&app, n).await;
    let page = format!("/desk/cases/{n}/cve");
    // A time in the future is refused, the typed value explained.
    let r = ada
        .submit(
            &page,
            &format!("{page}/disclosed"),
            &[("cve_id", &cve), ("disclosed_at", "2999-01-01T00:00")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // An empty time starts no clock: it must be given, or "now" chosen.
    let r = ada
        .submit(
            &page,
            &format!("{page}/disclosed"),
            &[("cve_id", &cve), ("disclosed_at", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("It became public just now"), "{}", r.body);
    assert!(app
        .store
        .cve_id_entry(&cve.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .disclosed_at_ms
        .is_none());
    let r = ada
        .submit(
            &page,
            &format!("{page}/disclosed"),
            &[("cve_id", &cve), ("disclosed_at", ""), ("now", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let body = ada.get(&page).await.body;
    assert!(body.contains("3 d 0 h left"), "{body}");
    // 30 hours later: past the recommended 24 h, shown on the case and in the queue.
    // (Sessions last 12 hours: sign in again.)
    app.clock.advance(jiff::SignedDuration::from_hours(30));
    let mut ada = app.signed_in("ada-later", Role::Member).await;
    let body = ada.get(&page).await.body;
    assert!(body.contains("past the recommended 24 h"), "{body}");
    let queue = ada.get("/desk?view=cases").await.body;
    assert!(
        queue.contains("publication past the recommended 24 h"),
        "{queue}"
    );
    app.clock.advance(jiff::SignedDuration::from_hours(43));
    let mut ada = app.signed_in("ada-latest", Role::Member).await;
    let case_page = ada.get("/desk/reports/1").await.body;
    assert!(case_page.contains("publication overdue"), "{case_page}");
}

#[tokio::test]
async fn without_cve_services_the_pages_say_how_to_set_it_up() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let n = carbons_case(&app, &mut ada, "Carbons spoofing").await;
    let overview = ada.get("/desk/cve").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("not configured"));
    assert!(overview.body.contains("serve --demo"));
    let r = reserve(&mut ada, n, "1").await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("not configured"));
    // Bad input is explained and kept.
    let (app, double) = TestApp::with_cve_double().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let n = carbons_case(&app, &mut ada, "Carbons spoofing").await;
    let r = reserve(&mut ada, n, "lots").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("value=\"lots\""), "the input is kept");
    assert!(double.ids().is_empty());
    // The service's refusal is shown in its words.
    let r = reserve(&mut ada, n, "11").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = ada.get(&r.location()).await.body;
    assert!(page.contains("EXCEEDED_ID_QUOTA"), "{page}");
}
