//! The case carries itself (the life cycle on, as a desk runs by default):
//! accepting a report reserves an ID and drafts version 1 from the report's
//! facts in the accepting member's name; a second member approves and
//! publishes from the version page; the case becomes Published by itself;
//! the reporter's tracking page and mails say each stage; a second
//! reservation needs a confirmation naming the ID the case has.

mod support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use cnadesk_core::{CaseId, ReportId, Role};
use cnadesk_notify::mail::{Mailer, Transport};
use cnadesk_store::prelude::*;
use cnadesk_store::OutboxFilter;
use support::{Multipart, TestApp};

/// A report with every fact the form can take, through the JSON API.
async fn full_report(app: &TestApp) -> (String, i64) {
    let body = serde_json::json!({
        "title": "Carbons accepted from any sender",
        "product": "Prosody",
        "versions": "0.12.0 to 0.12.3",
        "fixed_version": "0.12.4",
        "cwe": "cwe-346",
        "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N",
        "description": "Prosody accepts message carbons from any sender, which allows remote attackers to inject messages into a conversation.",
        "reporter_email": "rita@example.org",
        "credit": "Rita R.",
    });
    let r = app
        .send(
            Request::post("/api/v1/reports")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let j = r.json();
    let id = j["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("REP-")
        .parse()
        .unwrap();
    (j["tracking_token"].as_str().unwrap().to_owned(), id)
}

#[tokio::test]
async fn accept_then_approve_and_publish_and_the_case_follows() {
    let (mut app, double) = TestApp::with_cve_double_lifecycle(true).await;
    let mail = app.dir.path().join("mail");
    let mailer = Mailer::new(
        "XSF CNA <security@example.org>",
        &Transport::File(mail),
        None,
    )
    .unwrap();
    app.state = app
        .state
        .clone()
        .with_notify(cnadesk_app::notify::NotifyDesk::new().with_mail(mailer));
    app.router = cnadesk_web::router(app.state.clone());
    let mut alice = app.signed_in("alice", Role::Member).await;
    let mut bob = app.signed_in("bob", Role::Member).await;
    let (token, report) = full_report(&app).await;
    let tracking = format!("/track/{token}");
    let mut reporter = app.browser();
    let page = reporter.get(&tracking).await.body;
    assert!(page.contains("<strong>Received</strong>"), "{page}");

    // Alice accepts: an ID is reserved and version 1 drafted, by themselves.
    let report_page = format!("/desk/reports/{report}");
    let r = alice
        .submit(
            &report_page,
            &format!("{report_page}/accept"),
            &[("title", "Carbons accepted from any sender")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let case = app
        .store
        .case_for_report(ReportId(report))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(case.state.label(), "CVE reserved");
    let cve = case.cve_id.clone().expect("an ID reserved on acceptance");
    assert_eq!(double.ids().len(), 1, "exactly one ID reserved");
    let versions = app.store.record_versions(case.id).await.unwrap();
    assert_eq!(versions.len(), 1);
    let v1 = &versions[0];
    assert!(v1.publishable(), "the draft passes the checks");
    let alice_id = app
        .store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "alice")
        .unwrap()
        .id;
    assert_eq!(
        v1.author, alice_id,
        "drafted in the accepting member's name"
    );
    let doc: serde_json::Value = serde_json::from_str(&v1.document).unwrap();
    assert_eq!(
        doc["problemTypes"][0]["descriptions"][0]["cweId"],
        "CWE-346"
    );
    assert_eq!(
        doc["problemTypes"][0]["descriptions"][0]["description"],
        "CWE-346 Origin Validation Error"
    );
    assert_eq!(doc["metrics"][0]["cvssV3_1"]["baseScore"], 6.5);
    let range = &doc["affected"][0]["versions"][0];
    assert_eq!(range["version"], "0.12.0");
    assert_eq!(range["lessThan"], "0.12.4");
    assert_eq!(range["versionType"], "semver");
    assert_eq!(doc["credits"][0]["value"], "Rita R.");
    assert!(doc["references"][0]["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/advisories/{cve}")));

    // Alice's page: one next step, which is Bob's.
    let body = alice.get(&report_page).await.body;
    assert!(body.contains("A second member reviews version 1"), "{body}");
    // The reporter knows the ID.
    let page = reporter.get(&tracking).await.body;
    assert!(page.contains("<strong>CVE ID reserved</strong>"), "{page}");
    assert!(page.contains(&cve.to_string()), "{page}");

    // Bob: the version waits for him in the queue; Alice's does not.
    let queue = bob.get("/desk").await.body;
    assert!(queue.contains("Waiting for your review"), "{queue}");
    assert!(queue.contains(&format!("/desk/cases/{}/record/versions/1", case.id.0)));
    assert!(!alice
        .get("/desk")
        .await
        .body
        .contains("Waiting for your review"));
    let version_page = format!("/desk/cases/{}/record/versions/1", case.id.0);
    let body = alice.get(&version_page).await.body;
    assert!(
        !body.contains("approve-publish"),
        "the author cannot approve"
    );
    let body = bob.get(&version_page).await.body;
    assert!(body.contains("Approve and publish version 1"), "{body}");
    let r = bob
        .submit(
            &version_page,
            &format!("/desk/cases/{}/cve/approve", case.id.0),
            &[("version", "1"), ("then", "publish")],
        )
        .await;
    assert_eq!(
        r.location(),
        format!("/desk/cases/{}/cve?done=published", case.id.0)
    );
    let case = app.store.case(case.id).await.unwrap().unwrap();
    assert_eq!(case.state.label(), "Published", "nobody moved it");
    let body = bob
        .get(&format!("/desk/cases/{}/cve", case.id.0))
        .await
        .body;
    assert!(body.contains("two-person-done"), "{body}");
    assert!(!body.contains("A second member must approve"), "{body}");
    assert!(body.contains("public since its publication"), "{body}");
    assert!(body.contains("Reserve another ID"), "{body}");
    let body = alice.get(&report_page).await.body;
    assert!(body.contains("Close the case"), "{body}");

    // The reporter: stage, ID, advisory, credit; and mail at each stage.
    let page = reporter.get(&tracking).await.body;
    assert!(page.contains("<strong>Published</strong>"), "{page}");
    assert!(page.contains(&format!("/advisories/{cve}")), "{page}");
    assert!(page.contains("Rita R."), "{page}");
    cnadesk_app::notify::fan_out(&app.state).await.unwrap();
    let to_rita: Vec<String> = app
        .store
        .outbox(OutboxFilter {
            report: Some(ReportId(report)),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.recipient == "rita@example.org")
        .map(|m| m.template)
        .collect();
    for template in [
        "report_ack",
        "report_stage",
        "cve_assigned",
        "advisory_published",
    ] {
        assert!(
            to_rita.iter().any(|t| t == template),
            "{template} not in {to_rita:?}"
        );
    }
}

#[tokio::test]
async fn a_second_reservation_needs_a_confirmation_naming_the_first() {
    let (app, double) = TestApp::with_cve_double_lifecycle(true).await;
    let mut alice = app.signed_in("alice", Role::Member).await;
    let (_, report) = full_report(&app).await;
    let report_page = format!("/desk/reports/{report}");
    alice
        .submit(
            &report_page,
            &format!("{report_page}/accept"),
            &[("title", "Carbons")],
        )
        .await;
    let case = app
        .store
        .case_for_report(ReportId(report))
        .await
        .unwrap()
        .unwrap();
    let first = case.cve_id.unwrap().to_string();
    let page = format!("/desk/cases/{}/cve", case.id.0);
    let fields = [("amount", "1"), ("year", "2026"), ("batch", "sequential")];
    let r = alice
        .submit(&page, &format!("{page}/reserve"), &fields)
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.body.contains(&format!("This case already has {first}")),
        "{}",
        r.body
    );
    assert_eq!(double.ids().len(), 1, "nothing reserved");
    let mut confirmed = fields.to_vec();
    confirmed.push(("another", &first));
    let r = alice
        .submit(&page, &format!("{page}/reserve"), &confirmed)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(double.ids().len(), 2);
    // The second ID is shown as unused, the first stays the record's.
    let body = alice.get(&page).await.body;
    assert!(body.contains("reserved and unused"), "{body}");
    let case = app.store.case(CaseId(case.id.0)).await.unwrap().unwrap();
    assert_eq!(case.cve_id.unwrap().to_string(), first);
}

#[tokio::test]
async fn the_report_form_refuses_unknown_cwes_and_vectors_that_do_not_score() {
    let app = TestApp::new().await;
    let mut anyone = app.browser();
    let token = anyone.csrf().await;
    let (ct, body) = Multipart::new()
        .text("csrf", &token)
        .text("title", "Carbons")
        .text("product", "Prosody")
        .text(
            "description",
            "Message carbons are accepted from any sender at all.",
        )
        .text("cwe", "CWE-999999")
        .text("cvss_AV", "N")
        .text("cvss_AC", "L")
        .finish();
    let r = anyone.request("POST", "/report", Some(&ct), body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("is not in the CWE list 4.14"), "{}", r.body);
    assert!(r.body.contains("does not score"), "{}", r.body);
    // What was chosen is kept: the partial vector and the CWE as typed.
    assert!(r.body.contains("CVSS:3.1/AV:N/AC:L"), "{}", r.body);
    assert!(r.body.contains("CWE-999999"), "{}", r.body);
}

#[tokio::test]
async fn the_editor_names_the_cwe_and_speaks_the_forms_language() {
    let (app, _double) = TestApp::with_cve_double_lifecycle(true).await;
    let mut alice = app.signed_in("alice", Role::Member).await;
    let (_, report) = full_report(&app).await;
    let report_page = format!("/desk/reports/{report}");
    alice
        .submit(
            &report_page,
            &format!("{report_page}/accept"),
            &[("title", "Carbons")],
        )
        .await;
    let case = app
        .store
        .case_for_report(ReportId(report))
        .await
        .unwrap()
        .unwrap();
    let cve = case.cve_id.unwrap().to_string();
    let editor = format!("/desk/cases/{}/record", case.id.0);
    let mut fields = support::record_fields(&cve, "0.11.0");
    for (k, v) in fields.iter_mut() {
        match *k {
            // A discouraged entry, its name left for the desk to fill.
            "cwe_id" => *v = "CWE-20".into(),
            "cwe_name" => v.clear(),
            _ => {}
        }
    }
    let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    pairs.push(("action", "check"));
    pairs.push(("based_on", "1"));
    let r = alice.submit(&editor, &editor, &pairs).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // The empty range is said in the form's words, the JSON kept as detail.
    assert!(
        r.body
            .contains("Fixed in (0.11.0) must be later than Affected from (0.12.0)"),
        "{}",
        r.body
    );
    assert!(r.body.contains("class=\"expert\""), "{}", r.body);
    // The CWE's official name was filled in, and its guidance warns.
    assert!(
        r.body.contains("value=\"Improper Input Validation\""),
        "{}",
        r.body
    );
    assert!(r.body.contains("discourages mapping"), "{}", r.body);
    // A save that cannot happen names the field that stops it.
    let mut pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| match *k {
            "cvss_vector" => (*k, "CVSS:3.1/AV:N"),
            _ => (*k, v.as_str()),
        })
        .collect();
    pairs.push(("action", "save"));
    pairs.push(("based_on", "1"));
    let r = alice.submit(&editor, &editor, &pairs).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("Not saved: correct CVSS vector"),
        "{}",
        r.body
    );
    assert!(
        r.body.contains("form error"),
        "the summary counts it: {}",
        r.body
    );
}
