//! Coordinated disclosure end to end: a XEP-level flaw, the implementations
//! DOAP data names, two vendors who see only their own rows, an embargo that
//! lifts at its end (also after a restart) and publishes the advisory, and
//! the vendor portal's authorization for every route.

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use cnadesk_app::coordination::{sweep, CoordinationSettings, Sweep};
use cnadesk_core::audit::AuditAction;
use cnadesk_core::{CaseId, Role};
use cnadesk_store::prelude::*;
use cnadesk_store::JobFilter;
use cnadesk_web::{AppState, WebConfig};
use jiff::SignedDuration;
use support::{
    carbons_case, record_fields, save_record, set_embargo_in, Browser, TestApp, PASSWORD,
};

/// `YYYY-MM-DDTHH:MM` (UTC) `days` from the app's now.
fn in_days(app: &TestApp, days: i64) -> String {
    let at = app.state.clock.now() + SignedDuration::from_hours(24 * days);
    at.strftime("%Y-%m-%dT%H:%M").to_string()
}

fn unescape(html: &str) -> String {
    html.replace("&#x2f;", "/").replace("&#47;", "/")
}

/// The personal link shown once after an invitation.
fn invitation_link(html: &str) -> String {
    let html = unescape(html);
    let start = html
        .find("/vendor/invitations/")
        .expect("the invitation page shows the link");
    let tail = &html[start..];
    let end = tail
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '/' || c == '-' || c == '_'))
        .unwrap_or(tail.len());
    tail[..end].to_owned()
}

struct Setup {
    case: i64,
    vulnerability: i64,
    products: [String; 2],
}

/// A case about XEP-0280 with two declared implementations listed.
async fn xep_case(app: &TestApp, ada: &mut Browser<'_>, title: &str) -> Setup {
    let case = carbons_case(app, ada, title).await;
    let page = format!("/desk/cases/{case}/coordination");
    let r = ada
        .submit(
            &page,
            &format!("/desk/cases/{case}/vulnerabilities"),
            &[
                ("title", "Carbon copies accepted from any sender"),
                (
                    "summary",
                    "Clients accept XEP-0280 carbons whose sender is not their own account.",
                ),
                ("xeps", "XEP-0280 v1.0.1 §11"),
                ("rfcs", "RFC 6120 section 8.1.2.1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let vulnerability = app.store.vulnerabilities(CaseId(case)).await.unwrap()[0].id;
    let registry = app.state.scope.registry(&*app.store).await.unwrap();
    let found = registry.implementations(280);
    assert!(found.declared.len() >= 2, "DOAP data declares XEP-0280");
    let products = [
        found.declared[0].0.key.clone(),
        found.declared[1].0.key.clone(),
    ];
    let r = ada
        .submit(
            &page,
            &format!("/desk/cases/{case}/vulnerabilities/{vulnerability}/products"),
            &[("product", &products[0]), ("product", &products[1])],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    Setup {
        case,
        vulnerability,
        products,
    }
}

/// Invites `email` for `product` and accepts as a new vendor account;
/// returns the vendor's browser (signed in) and the participant id.
async fn vendor<'a>(
    app: &'a TestApp,
    ada: &mut Browser<'_>,
    case: i64,
    email: &str,
    product: &str,
) -> Browser<'a> {
    let page = format!("/desk/cases/{case}/coordination");
    let r = ada
        .submit(
            &page,
            &format!("/desk/cases/{case}/vendors"),
            &[
                ("email", email),
                ("contact_name", "Kim"),
                ("product", product),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link = invitation_link(&r.body);
    let mut v = app.browser();
    let form = v.get(&link).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    assert!(form.body.contains("Create your vendor account"));
    let r = v
        .submit(
            &link,
            &link,
            &[
                ("display_name", email),
                ("time_zone", "Europe/Berlin"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/vendor/cases/{case}"));
    // The link works once.
    assert_eq!(app.browser().get(&link).await.status, StatusCode::GONE);
    v
}

async fn row_of(app: &TestApp, case: i64, product: &str) -> i64 {
    app.store
        .affected_products(CaseId(case))
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.product_key == product)
        .unwrap()
        .id
}

async fn set_status(
    v: &mut Browser<'_>,
    case: i64,
    row: i64,
    status: &str,
    statement: &str,
) -> support::Reply {
    let page = format!("/vendor/cases/{case}");
    v.submit(
        &page,
        &format!("{page}/products/{row}"),
        &[
            ("status", status),
            ("affected_versions", "< 2.1.3"),
            ("fixed_versions", "2.1.3"),
            ("statement", statement),
        ],
    )
    .await
}

#[tokio::test]
async fn a_xep_level_flaw_is_coordinated_and_the_embargo_lifts_on_time() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let s = xep_case(&app, &mut ada, "Carbons spoofing across clients").await;
    let n = s.case;
    let page = format!("/desk/cases/{n}/coordination");

    // The page proposes every implementation that declares XEP-0280, and
    // those without DOAP data as unknown support.
    let html = ada.get(&page).await.body;
    let registry = app.state.scope.registry(&*app.store).await.unwrap();
    let found = registry.implementations(280);
    for (product, _) in &found.declared {
        assert!(
            html.contains(&format!("value=\"{}\"", product.key)),
            "{} is proposed",
            product.key
        );
    }
    let unknown = found
        .unknown
        .first()
        .expect("some implementations lack DOAP data");
    assert!(html.contains(&format!("value=\"{}\"", unknown.key)));
    assert!(html.contains("unknown support (no DOAP data)"));
    assert!(html.contains("XEP-0280 v1.0.1 §11"));
    assert!(html.contains("RFC 6120 §8.1.2.1"));
    // Silence is shown as silence.
    assert!(html.contains("unknown (no answer yet)"));

    // CVE counting guidance (rule 4.2.14) and the recorded choice.
    assert!(html.contains("Decide first whether the specification"));
    let r = ada
        .submit(
            &page,
            &format!("/desk/cases/{n}/vulnerabilities/{}/count", s.vulnerability),
            &[
                ("secure_way", "yes"),
                ("count", "2"),
                ("reason", "Other clients check the sender"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let v = &app.store.vulnerabilities(CaseId(n)).await.unwrap()[0];
    assert_eq!(
        (v.secure_way_exists, v.cve_count),
        (Some(true), Some(2)),
        "the choice is stored"
    );

    // The embargo: a week from now, in UTC.
    let end = in_days(&app, 7);
    let r = ada
        .submit(
            &page,
            &format!("/desk/cases/{n}/embargo"),
            &[
                ("ends_at", &format!("{end}:00Z")),
                ("reason", "Releases need a week"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // A change without a reason is refused, and what was typed is kept.
    let r = ada
        .submit(
            &page,
            &format!("/desk/cases/{n}/embargo"),
            &[("ends_at", "2099-01-01T10:00"), ("reason", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("2099-01-01T10:00"));

    // Two vendors, each for one product.
    let mut v1 = vendor(&app, &mut ada, n, "sec@one.example", &s.products[0]).await;
    let mut v2 = vendor(&app, &mut ada, n, "sec@two.example", &s.products[1]).await;
    let row1 = row_of(&app, n, &s.products[0]).await;
    let row2 = row_of(&app, n, &s.products[1]).await;

    // Before acknowledging the terms, no details and no changes.
    let before = v1.get(&format!("/vendor/cases/{n}")).await;
    assert_eq!(before.status, StatusCode::OK);
    assert!(!before
        .body
        .contains("Carbon copies accepted from any sender"));
    assert!(
        before.body.contains(" UTC)"),
        "the end in their zone, UTC beside: {}",
        before.body
    );
    let r = set_status(&mut v1, n, row1, "affected", "no").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for v in [&mut v1, &mut v2] {
        let page = format!("/vendor/cases/{n}");
        let r = v.submit(&page, &format!("{page}/acknowledge"), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }

    // Each sets a different status; neither sees the other's statement.
    let r = set_status(
        &mut v1,
        n,
        row1,
        "affected",
        "Statement ONE: patch in review",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = set_status(
        &mut v2,
        n,
        row2,
        "not_affected",
        "Statement TWO: we check the sender",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p1 = v1.get(&format!("/vendor/cases/{n}")).await.body;
    let p2 = v2.get(&format!("/vendor/cases/{n}")).await.body;
    assert!(p1.contains("Carbon copies accepted from any sender"));
    assert!(p1.contains("Statement ONE") && !p1.contains("Statement TWO"));
    assert!(p2.contains("Statement TWO") && !p2.contains("Statement ONE"));
    assert!(!p1.contains(&format!("/products/{row2}")));
    // The audit log says which rows each vendor was shown.
    let events = app.store.audit_events(0, 10_000).await.unwrap();
    let shown: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e.is(AuditAction::VendorViewed) && e.payload["acknowledged"] == true)
        .map(|e| &e.payload["rows"])
        .collect();
    assert!(shown.contains(&&serde_json::json!([row1])));
    assert!(shown.contains(&&serde_json::json!([row2])));
    assert!(!shown.iter().any(|r| r.as_array().unwrap().len() > 1));
    // Nor change it.
    let r = set_status(&mut v2, n, row1, "fixed", "hijack").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let rows = app.store.affected_products(CaseId(n)).await.unwrap();
    let one = rows.iter().find(|p| p.id == row1).unwrap();
    assert_eq!(one.status.as_str(), "affected");
    assert!(one.status_at_ms.is_some() && one.statement_at_ms.is_some());
    // The coordinator sees both.
    let html = ada.get(&page).await.body;
    assert!(html.contains("Statement ONE") && html.contains("Statement TWO"));

    // Shared by the coordinator, vendor two sees vendor one's row.
    let r = ada
        .submit(
            &page,
            &format!("/desk/cases/{n}/products/{row1}"),
            &[
                ("status", "affected"),
                ("affected_versions", "< 2.1.3"),
                ("fixed_versions", "2.1.3"),
                ("statement", "Statement ONE: patch in review"),
                ("shared", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(v2
        .get(&format!("/vendor/cases/{n}"))
        .await
        .body
        .contains("Statement ONE"));

    // Private threads stay private; the shared thread reaches both.
    let vpage = format!("/vendor/cases/{n}");
    let r = v1
        .submit(
            &vpage,
            &format!("{vpage}/messages"),
            &[("body", "Private question ONE"), ("thread", "private")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = ada
        .submit(
            &page,
            &format!("/desk/cases/{n}/coordination/messages"),
            &[("body", "Shared note to all vendors"), ("thread", "shared")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let p2 = v2.get(&vpage).await.body;
    assert!(p2.contains("Shared note to all vendors"));
    assert!(!p2.contains("Private question ONE"));
    assert!(ada.get(&page).await.body.contains("Private question ONE"));

    // Every view is audited with who saw which rows.
    let events = app.store.audit_events(0, 10_000).await.unwrap();
    let views: Vec<_> = events
        .iter()
        .filter(|e| e.is(AuditAction::VendorViewed))
        .collect();
    assert!(views.len() >= 4);
    assert!(views.iter().all(|e| e.actor.starts_with("vendor:")));

    // Nothing is public before the end; the worker lifts it at the end.
    let advisory = format!("/advisories/CASE-{n}");
    assert_eq!(
        app.browser().get(&advisory).await.status,
        StatusCode::NOT_FOUND
    );
    app.clock.advance(SignedDuration::from_hours(24 * 7 - 1));
    assert_eq!(sweep(&app.state).await.unwrap().lifted, 0, "not yet");
    assert_eq!(
        app.browser().get(&advisory).await.status,
        StatusCode::NOT_FOUND
    );
    app.clock.advance(SignedDuration::from_hours(2));
    let done = sweep(&app.state).await.unwrap();
    assert_eq!(done.lifted, 1);
    let public = app.browser().get(&advisory).await;
    assert_eq!(public.status, StatusCode::OK);
    assert!(public
        .body
        .contains("Carbon copies accepted from any sender"));
    assert!(public.body.contains("Statement TWO"));
    // No approved record: publication is not queued, and the log says why.
    let events = app.store.audit_events(0, 10_000).await.unwrap();
    assert!(events
        .iter()
        .any(|e| e.is(AuditAction::EmbargoPublicationNotQueued)));
    // A second sweep does nothing more.
    assert_eq!(sweep(&app.state).await.unwrap(), Sweep::default());
}

#[tokio::test]
async fn a_lift_due_during_a_restart_happens_when_the_server_is_back_and_queues_the_approved_record(
) {
    let (app, double) = TestApp::with_cve_double().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let mut bob = app.signed_in("bob", Role::Member).await;
    let s = xep_case(&app, &mut ada, "Carbons spoofing").await;
    let n = s.case;
    // A reserved ID, a record, a second member's approval.
    let cve_page = format!("/desk/cases/{n}/cve");
    let r = ada
        .submit(
            &cve_page,
            &format!("{cve_page}/reserve"),
            &[("amount", "1"), ("year", "2026"), ("batch", "sequential")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cve = app
        .store
        .case(CaseId(n))
        .await
        .unwrap()
        .unwrap()
        .cve_id
        .unwrap()
        .to_string();
    save_record(&mut ada, n, 0, &record_fields(&cve, "0.12.4")).await;
    let r = bob
        .submit(
            &cve_page,
            &format!("{cve_page}/approve"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The embargo ends in an hour.
    set_embargo_in(&app, &mut ada, n, 1).await;

    // While the embargo runs, the record cannot be published by hand.
    let r = bob
        .submit(
            &cve_page,
            &format!("{cve_page}/publish"),
            &[("version", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("under embargo"), "{}", r.body);
    assert_eq!(double.record_count(), 0);

    // The server stops; the end passes while it is down; a new server
    // process opens the same database.
    let url = cnadesk_store_sql::sqlite_url_in(app.dir.path());
    app.clock.advance(SignedDuration::from_hours(3));
    let reopened = Arc::new(
        cnadesk_store_sql::open(&url, cnadesk_store_sql::Migrate::Apply)
            .await
            .unwrap(),
    );
    let restarted = AppState::new(
        reopened.clone() as Arc<dyn Store>,
        app.clock.clone(),
        WebConfig::default(),
        cnadesk_web::ServerKey::generate(),
    );
    let done = sweep(&restarted).await.unwrap();
    assert_eq!((done.lifted, done.publications), (1, 1));
    let embargo = reopened.embargo(CaseId(n)).await.unwrap().unwrap();
    assert!(embargo.lifted_at_ms.is_some() && embargo.publication_queued_at_ms.is_some());
    let jobs = reopened
        .jobs(JobFilter {
            case: Some(CaseId(n)),
            open_only: true,
            limit: 0,
        })
        .await
        .unwrap();
    assert!(
        jobs.iter()
            .any(|j| format!("{:?}", j.kind).contains("Publish")),
        "publication of the approved record is queued: {jobs:?}"
    );
    assert!(reopened.advisory(CaseId(n)).await.unwrap().is_some());
    assert_eq!(sweep(&restarted).await.unwrap(), Sweep::default());
    // The advisory is public under the CVE ID.
    let router = cnadesk_web::router(restarted);
    let res = tower::ServiceExt::oneshot(
        router,
        axum::http::Request::get(format!("/advisories/{cve}"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn changes_wait_for_consent_and_unanswered_vendors_are_reminded() {
    let mut app = TestApp::with_config(WebConfig {
        settings: cnadesk_app::Settings {
            coordination: CoordinationSettings {
                embargo_change_needs_consent: true,
                ..CoordinationSettings::default()
            },
            ..Default::default()
        },
        ..WebConfig::default()
    })
    .await;
    // E-mail as files, to read what vendors are sent.
    let mail_dir = app.dir.path().join("mail");
    let mailer = cnadesk_notify::mail::Mailer::new(
        "XSF CNA <security@xmpp.example>",
        &cnadesk_notify::mail::Transport::File(mail_dir.clone()),
        None,
    )
    .unwrap();
    app.state = app.state.clone().with_notify(
        cnadesk_app::notify::NotifyDesk::new()
            .with_mail(mailer)
            // Even where the policy allows details in plain e-mail,
            // vendors get none before they acknowledged the terms.
            .with_plaintext_details(true),
    );
    app.router = cnadesk_web::router(app.state.clone());
    let mut ada = app.signed_in("ada", Role::Member).await;
    let s = xep_case(&app, &mut ada, "Carbons spoofing").await;
    let n = s.case;
    let page = format!("/desk/cases/{n}/coordination");
    let first = format!("{}:00Z", in_days(&app, 10));
    let r = ada
        .submit(
            &page,
            &format!("/desk/cases/{n}/embargo"),
            &[("ends_at", &first), ("reason", "Ten days")],
        )
        .await;
    assert_eq!(
        r.location(),
        format!("{page}?done=embargo"),
        "the first date applies"
    );
    let mut v1 = vendor(&app, &mut ada, n, "sec@one.example", &s.products[0]).await;
    let vpage = format!("/vendor/cases/{n}");
    v1.submit(&vpage, &format!("{vpage}/acknowledge"), &[])
        .await;
    // A second contact who never accepts.
    let r = ada
        .submit(
            &page,
            &format!("/desk/cases/{n}/vendors"),
            &[("email", "silent@two.example"), ("product", &s.products[1])],
        )
        .await;
    let silent_link = invitation_link(&r.body);

    // A later change waits for the vendor who acknowledged.
    let later = format!("{}:00Z", in_days(&app, 20));
    let r = ada
        .submit(
            &page,
            &format!("/desk/cases/{n}/embargo"),
            &[("ends_at", &later), ("reason", "A vendor needs more time")],
        )
        .await;
    assert_eq!(r.location(), format!("{page}?done=proposed"));
    let e = app.store.embargo(CaseId(n)).await.unwrap().unwrap();
    assert!(e.pending.is_some());
    let before = e.ends_at_ms;
    assert!(v1.get(&vpage).await.body.contains("id=\"consent\""));
    let r = v1.submit(&vpage, &format!("{vpage}/consent"), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let e = app.store.embargo(CaseId(n)).await.unwrap().unwrap();
    assert!(e.pending.is_none() && e.ends_at_ms > before, "applied");

    // Three days on, the vendor who never answered is reminded with a new
    // link; the old one stops working. The one who answered is not.
    let row1 = row_of(&app, n, &s.products[0]).await;
    set_status(&mut v1, n, row1, "fixed", "Released").await;
    // The checklist on the coordinator's page: vendor one acknowledged and
    // fixed (not yet released), the silent one nothing.
    let html = ada.get(&page).await.body;
    let v1_id = app.store.participants(CaseId(n)).await.unwrap()[0].id;
    let row = &html[html.find(&format!("id=\"vendor-{v1_id}\"")).unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert_eq!(row.matches('✔').count(), 2, "{row}");
    assert_eq!(row.matches('✘').count(), 1, "{row}");
    app.clock.advance(SignedDuration::from_hours(24 * 3));
    let done = sweep(&app.state).await.unwrap();
    assert_eq!(done.reminders, 1);
    let participants = app.store.participants(CaseId(n)).await.unwrap();
    let silent = participants
        .iter()
        .find(|p| p.email == "silent@two.example")
        .unwrap();
    assert_eq!(silent.reminders_sent, 1);
    assert_eq!(
        app.browser().get(&silent_link).await.status,
        StatusCode::GONE
    );
    assert_eq!(
        sweep(&app.state).await.unwrap().reminders,
        0,
        "not again at once"
    );
    // What reached the vendors: the invitations, the embargo change, the
    // reminder; never the vulnerability's details.
    cnadesk_app::notify::fan_out(&app.state).await.unwrap();
    cnadesk_app::notify::deliver_due(&app.state).await.unwrap();
    let mails: Vec<String> = std::fs::read_dir(&mail_dir)
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .collect();
    let to = |who: &str, subject: &str| {
        mails
            .iter()
            .any(|m| m.contains(&format!("To: {who}")) && m.contains(subject))
    };
    assert!(to("sec@one.example", "Invitation to coordinate case #"));
    assert!(to("sec@one.example", "embargo now ends"));
    assert!(to("silent@two.example", "Reminder: case #"));
    for m in mails
        .iter()
        .filter(|m| m.contains("To: sec@one.example") || m.contains("To: silent@two.example"))
    {
        assert!(
            !m.contains("Carbon") && !m.contains("A vendor needs more time"),
            "no details, no reasons: {m}"
        );
    }
}

/// Every vendor-facing route, for the invited vendor, a vendor of another
/// product in the same case, a vendor of another case, and anonymous.
#[tokio::test]
async fn vendor_routes_admit_only_the_invited_vendor() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let s = xep_case(&app, &mut ada, "Carbons spoofing").await;
    let other = xep_case(&app, &mut ada, "Another case").await;
    let n = s.case;
    let mut invited = vendor(&app, &mut ada, n, "sec@one.example", &s.products[0]).await;
    let mut same_case = vendor(&app, &mut ada, n, "sec@two.example", &s.products[1]).await;
    let mut other_case = vendor(
        &app,
        &mut ada,
        other.case,
        "sec@three.example",
        &s.products[0],
    )
    .await;
    for v in [&mut invited, &mut same_case] {
        let page = format!("/vendor/cases/{n}");
        v.submit(&page, &format!("{page}/acknowledge"), &[]).await;
    }
    let opage = format!("/vendor/cases/{}", other.case);
    other_case
        .submit(&opage, &format!("{opage}/acknowledge"), &[])
        .await;
    let row = row_of(&app, n, &s.products[0]).await;
    // The invited vendor uploads a patch.
    let (ct, body) = support::Multipart::new()
        .text("csrf", &invited.csrf().await)
        .file("file", "fix.patch", "text/x-diff", b"--- a\n+++ b\n")
        .finish();
    let r = invited
        .request("POST", &format!("/vendor/cases/{n}/files"), Some(&ct), body)
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let file = app.store.case_files(CaseId(n)).await.unwrap()[0].id;

    let get_routes = [
        format!("/vendor/cases/{n}"),
        format!("/vendor/cases/{n}/files/{file}"),
    ];
    let post_routes = [
        (format!("/vendor/cases/{n}/acknowledge"), vec![]),
        (format!("/vendor/cases/{n}/consent"), vec![]),
        (
            format!("/vendor/cases/{n}/products/{row}"),
            vec![("status", "affected")],
        ),
        (
            format!("/vendor/cases/{n}/messages"),
            vec![("body", "hello"), ("thread", "private")],
        ),
    ];
    // The invited vendor.
    for path in &get_routes {
        assert_eq!(invited.get(path).await.status, StatusCode::OK, "{path}");
    }
    let dl = invited.get(&get_routes[1]).await;
    assert_eq!(dl.bytes, b"--- a\n+++ b\n");
    assert!(invited
        .get("/vendor")
        .await
        .body
        .contains(&format!("/vendor/cases/{n}")));
    for (path, fields) in &post_routes {
        let token = invited.csrf().await;
        let mut all = vec![("csrf", token.as_str())];
        all.extend(fields.iter().copied());
        let r = invited.post_form(path, &all).await;
        // Consent with nothing pending is refused; the rest is done.
        let expected = if path.ends_with("/consent") {
            StatusCode::CONFLICT
        } else {
            StatusCode::SEE_OTHER
        };
        assert_eq!(r.status, expected, "{path}: {}", r.body);
        // Without the form token, nothing is done.
        let mut forged = vec![("csrf", "forged")];
        forged.extend(fields.iter().copied());
        assert_eq!(
            invited.post_form(path, &forged).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let (ct, body) = support::Multipart::new()
        .text("csrf", "forged")
        .file("file", "x.patch", "text/plain", b"x")
        .finish();
    let r = invited
        .request("POST", &format!("/vendor/cases/{n}/files"), Some(&ct), body)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.store.case_files(CaseId(n)).await.unwrap().len(), 1);
    // A vendor of another product in the same case: the case, not the row
    // or the file.
    assert_eq!(same_case.get(&get_routes[0]).await.status, StatusCode::OK);
    assert_eq!(
        same_case.get(&get_routes[1]).await.status,
        StatusCode::NOT_FOUND
    );
    let token = same_case.csrf().await;
    let r = same_case
        .post_form(
            &format!("/vendor/cases/{n}/products/{row}"),
            &[("csrf", &token), ("status", "fixed")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // A vendor of another case: nothing of this one exists.
    for path in &get_routes {
        assert_eq!(
            other_case.get(path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    for (path, fields) in &post_routes {
        let token = other_case.csrf().await;
        let mut all = vec![("csrf", token.as_str())];
        all.extend(fields.iter().copied());
        assert_eq!(
            other_case.post_form(path, &all).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let (ct, body) = support::Multipart::new()
        .text("csrf", &other_case.csrf().await)
        .file("file", "x.patch", "text/plain", b"x")
        .finish();
    let r = other_case
        .request("POST", &format!("/vendor/cases/{n}/files"), Some(&ct), body)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!other_case
        .get("/vendor")
        .await
        .body
        .contains(&format!("/vendor/cases/{n}\"")));
    // Anonymous: the vendor sign-in.
    let mut anon = app.browser();
    for path in get_routes.iter().chain(post_routes.iter().map(|(p, _)| p)) {
        let r = if get_routes.contains(path) {
            anon.get(path).await
        } else {
            let token = anon.csrf().await;
            anon.post_form(path, &[("csrf", &token)]).await
        };
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(r.location().starts_with("/vendor/login"), "{path}");
    }
    // A vendor session opens no team page.
    for path in [
        "/desk".to_owned(),
        format!("/desk/cases/{n}/coordination"),
        "/desk/reports/1".to_owned(),
    ] {
        let r = invited.get(&path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert!(r.location().starts_with("/login"), "{path}");
    }
    // Only the one product row changed, by the invited vendor.
    let rows = app.store.affected_products(CaseId(n)).await.unwrap();
    assert_eq!(
        rows.iter().find(|p| p.id == row).unwrap().status.as_str(),
        "affected"
    );
    // Vendors sign in again with e-mail and password.
    let mut again = app.browser();
    let r = again
        .submit(
            "/vendor/login",
            "/vendor/login",
            &[
                ("email", "SEC@one.example"),
                ("password", PASSWORD),
                ("next", "/vendor"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(again.get(&get_routes[0]).await.status, StatusCode::OK);
    let r = app
        .browser()
        .submit(
            "/vendor/login",
            "/vendor/login",
            &[
                ("email", "sec@one.example"),
                ("password", "wrong password here"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_invitation_address_with_control_characters_is_refused_in_words() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let s = xep_case(&app, &mut ada, "Carbons spoofing").await;
    let n = s.case;
    let page = format!("/desk/cases/{n}/coordination");
    for bad in [
        "sec\0@one.example",
        "sec@one.\u{1}example",
        "\u{1b}sec@one.example",
    ] {
        let r = ada
            .submit(
                &page,
                &format!("/desk/cases/{n}/vendors"),
                &[
                    ("email", bad),
                    ("contact_name", "Kim Kept"),
                    ("product", &s.products[0]),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert!(
            r.body
                .contains("<a href=\"#email\">E-mail address</a> contains control characters"),
            "{}",
            r.body
        );
        assert!(r.body.contains("Kim Kept"), "the other fields are kept");
        assert!(!r.body.contains(['\0', '\u{1}', '\u{1b}']));
    }
    assert!(app.store.participants(CaseId(n)).await.unwrap().is_empty());
}
