//! Triage: accepting, closing, case transitions, assignment, notes, and the
//! OpenAPI document.

mod support;

use axum::http::StatusCode;
use cnadesk_core::audit::{AuditAction, AuditEvent};
use cnadesk_core::{CaseId, CaseState, CloseReason, ReportId, ReportState, Role};
use cnadesk_store::prelude::*;
use support::{api_report, TestApp};

#[tokio::test]
async fn a_member_accepts_a_report_moves_and_assigns_the_case() {
    let app = TestApp::new().await;
    let (_, id) = api_report(
        &app,
        "Carbons spoofing",
        "A description that is long enough.",
    )
    .await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let page = format!("/desk/reports/{id}");
    let queue = mia.get("/desk").await;
    assert!(queue.body.contains("Carbons spoofing"));

    let r = mia
        .submit(
            &page,
            &format!("{page}/accept"),
            &[("title", "Carbons spoofing in Prosody")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let case = app
        .store
        .case_for_report(ReportId(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(case.state, CaseState::Accepted);
    let mia_id = app
        .store
        .user_credentials("mia")
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    assert!(mia
        .get("/desk?view=cases")
        .await
        .body
        .contains("Carbons spoofing in Prosody"));
    assert!(
        !mia.get("/desk").await.body.contains("Carbons spoofing"),
        "no longer awaiting triage"
    );
    assert_eq!(
        mia.get(&format!("/desk/cases/{}", case.id.0))
            .await
            .location(),
        format!("/desk/reports/{id}#case")
    );

    // A refused move explains itself and changes nothing.
    let r = mia
        .submit(
            &page,
            &format!("/desk/cases/{}/transition", case.id.0),
            &[("to", "published"), ("reason", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("cannot move from Accepted to Published"));
    let r = mia
        .submit(
            &page,
            &format!("/desk/cases/{}/transition", case.id.0),
            &[("to", "in_coordination"), ("reason", "vendor contacted")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.store.case(case.id).await.unwrap().unwrap().state,
        CaseState::InCoordination
    );

    // The only member got the new case automatically, with the reason.
    assert_eq!(case.assignee, Some(mia_id));
    assert_eq!(
        case.assignment_reason.as_deref(),
        Some("assigned automatically to mia: 0 open cases, the lowest load")
    );
    // Overriding by hand needs a reason.
    let r = mia
        .submit(
            &page,
            &format!("/desk/cases/{}/assign", case.id.0),
            &[("assignee", &mia_id.0.to_string()), ("reason", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("needs a reason"), "{}", r.body);
    let r = mia
        .submit(
            &page,
            &format!("/desk/cases/{}/assign", case.id.0),
            &[
                ("assignee", &mia_id.0.to_string()),
                ("reason", "I know Prosody"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let assigned = app.store.case(case.id).await.unwrap().unwrap();
    assert_eq!(assigned.assignee, Some(mia_id));
    assert_eq!(
        assigned.assignment_reason.as_deref(),
        Some("I know Prosody")
    );
    let view = mia.get(&page).await.body;
    assert!(view.contains("I know Prosody"));
    assert!(
        view.contains(AuditAction::CaseAssigned.as_str()),
        "audit trail on the page"
    );
    let r = mia
        .submit(
            &page,
            &format!("/desk/cases/{}/assign", case.id.0),
            &[("assignee", "999"), ("reason", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        mia.get(&format!("/desk/cases/{}", CaseId(999).0))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn closing_needs_a_structured_reason_and_spam_has_its_own_list() {
    let app = TestApp::new().await;
    let (_, first) = api_report(&app, "Original", "A description that is long enough.").await;
    let (_, dup) = api_report(&app, "Same again", "A description that is long enough.").await;
    let (_, spam) = api_report(&app, "Cheap watches", "A description that is long enough.").await;
    let mut mia = app.signed_in("mia", Role::Member).await;

    let page = format!("/desk/reports/{dup}");
    let r = mia
        .submit(
            &page,
            &format!("{page}/close"),
            &[
                ("reason", "duplicate"),
                ("duplicate_of", ""),
                ("detail", "my careful note"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("must name the report it duplicates"));
    assert!(r.body.contains("my careful note"), "the note is kept");
    let r = mia
        .submit(
            &page,
            &format!("{page}/close"),
            &[
                ("reason", "duplicate"),
                ("duplicate_of", &format!("REP-{first}")),
                ("detail", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let closed = app.store.report(ReportId(dup)).await.unwrap().unwrap();
    assert_eq!(closed.state, ReportState::Closed);
    assert_eq!(closed.duplicate_of, Some(ReportId(first)));

    let page = format!("/desk/reports/{spam}");
    let r = mia
        .submit(&page, &format!("{page}/close"), &[("reason", "spam")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.store
            .report(ReportId(spam))
            .await
            .unwrap()
            .unwrap()
            .close_reason,
        Some(CloseReason::Spam)
    );
    let spam_tab = mia.get("/desk?view=spam").await.body;
    assert!(spam_tab.contains("Cheap watches") && !spam_tab.contains("Same again"));
    let closed_tab = mia.get("/desk?view=closed").await.body;
    assert!(closed_tab.contains("Same again") && !closed_tab.contains("Cheap watches"));
    let r = mia
        .submit(&page, &format!("{page}/close"), &[("reason", "nonsense")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = mia
        .submit(&page, &format!("{page}/accept"), &[("title", "late")])
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "closed reports cannot be accepted"
    );
}

#[tokio::test]
async fn an_empty_message_keeps_the_page_and_says_why() {
    let app = TestApp::new().await;
    let (_, id) = api_report(&app, "R", "A description that is long enough.").await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let page = format!("/desk/reports/{id}");
    let r = mia
        .submit(
            &page,
            &format!("{page}/messages"),
            &[("visibility", "reporter"), ("body", "   ")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("The message is required"));
    let r = mia
        .submit(
            &page,
            &format!("{page}/messages"),
            &[("visibility", "public"), ("body", "x")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        mia.get("/desk/reports/REP-x").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        mia.get("/desk/reports/999").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn every_change_is_in_an_intact_audit_chain() {
    let app = TestApp::new().await;
    let (_, id) = api_report(&app, "R", "A description that is long enough.").await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let page = format!("/desk/reports/{id}");
    mia.submit(
        &page,
        &format!("{page}/messages"),
        &[("visibility", "internal"), ("body", "note")],
    )
    .await;
    mia.submit(&page, &format!("{page}/accept"), &[("title", "T")])
        .await;
    let n = cnadesk_store::verify_audit_chain(app.store.as_ref())
        .await
        .unwrap();
    let events = app.store.audit_events(0, 100).await.unwrap();
    assert_eq!(n as usize, events.len());
    let actions: Vec<_> = events.iter().map(AuditEvent::kind).collect();
    for a in [
        AuditAction::UserCreated,
        AuditAction::ReportCreated,
        AuditAction::SessionSignedIn,
        AuditAction::NoteAdded,
        AuditAction::CaseOpened,
    ] {
        assert!(actions.contains(&Some(a)), "{a} not in {actions:?}");
    }
}

#[tokio::test]
async fn openapi_document_matches_the_snapshot() {
    let app = TestApp::new().await;
    let r = app.browser().get("/api/openapi.json").await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.json();
    assert!(doc["paths"]["/api/v1/reports"]["post"].is_object());
    insta::assert_json_snapshot!("openapi", doc);
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::new().await;
    let mut b = app.browser();
    let r = b.get("/healthz").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers.contains_key("x-request-id"),
        "every response carries a request id"
    );
    assert!(!r.headers.contains_key("set-cookie"));
    assert_eq!(b.get("/readyz").await.json()["database"], "sqlite");
    app.store.close().await;
    assert_eq!(
        b.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}
