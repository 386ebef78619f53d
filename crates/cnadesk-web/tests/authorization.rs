//! Every route, tried by an anonymous visitor, a member, and an admin.
//! A route added to the router without a row here fails `every_route_is_covered`.

mod support;

use axum::http::StatusCode;
use cnadesk_core::{ReportId, ReportState, Role};
use cnadesk_store::prelude::*;
use support::{api_report, TestApp};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Access {
    /// Anyone.
    Public,
    /// Signed-in members and admins.
    Member,
    /// Admins only.
    Admin,
    /// Only a session whose second factor is pending.
    Pending,
    /// Only with the right private token in the URL.
    Token,
    /// Signed-in vendor contacts (the vendor portal; which case and rows
    /// they reach is tested in tests/coordination.rs).
    Vendor,
}

/// (method, path as registered, path to request, who may use it)
const ROUTES: &[(&str, &str, &str, Access)] = &[
    ("GET", "/", "/", Access::Public),
    ("GET", "/healthz", "/healthz", Access::Public),
    ("GET", "/readyz", "/readyz", Access::Public),
    (
        "GET",
        "/static/style.css",
        "/static/style.css",
        Access::Public,
    ),
    (
        "GET",
        "/static/record-editor.js",
        "/static/record-editor.js",
        Access::Public,
    ),
    ("GET", "/report", "/report", Access::Public),
    ("POST", "/report", "/report", Access::Public),
    ("GET", "/track/{token}", "/track/not-a-token", Access::Token),
    (
        "POST",
        "/track/{token}/messages",
        "/track/not-a-token/messages",
        Access::Token,
    ),
    ("POST", "/api/v1/reports", "/api/v1/reports", Access::Public),
    (
        "GET",
        "/api/openapi.json",
        "/api/openapi.json",
        Access::Public,
    ),
    ("GET", "/setup/{token}", "/setup/not-a-token", Access::Token),
    (
        "POST",
        "/setup/{token}",
        "/setup/not-a-token",
        Access::Token,
    ),
    ("GET", "/login", "/login", Access::Public),
    ("POST", "/login", "/login", Access::Public),
    ("GET", "/login/totp", "/login/totp", Access::Pending),
    ("POST", "/login/totp", "/login/totp", Access::Pending),
    ("POST", "/logout", "/logout", Access::Public),
    ("GET", "/account/totp", "/account/totp", Access::Member),
    ("POST", "/account/totp", "/account/totp", Access::Member),
    ("GET", "/desk", "/desk", Access::Member),
    (
        "GET",
        "/desk/reports/{id}",
        "/desk/reports/1",
        Access::Member,
    ),
    (
        "POST",
        "/desk/reports/{id}/accept",
        "/desk/reports/1/accept",
        Access::Member,
    ),
    (
        "POST",
        "/desk/reports/{id}/close",
        "/desk/reports/1/close",
        Access::Member,
    ),
    (
        "POST",
        "/desk/reports/{id}/messages",
        "/desk/reports/1/messages",
        Access::Member,
    ),
    (
        "GET",
        "/desk/reports/{id}/attachments/{attachment}",
        "/desk/reports/1/attachments/1",
        Access::Member,
    ),
    ("GET", "/desk/cases/{id}", "/desk/cases/1", Access::Member),
    (
        "POST",
        "/desk/cases/{id}/transition",
        "/desk/cases/1/transition",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/assign",
        "/desk/cases/1/assign",
        Access::Member,
    ),
    (
        "GET",
        "/desk/cases/{id}/record",
        "/desk/cases/1/record",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/record",
        "/desk/cases/1/record",
        Access::Member,
    ),
    (
        "GET",
        "/desk/cases/{id}/record/json",
        "/desk/cases/1/record/json",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/record/json",
        "/desk/cases/1/record/json",
        Access::Member,
    ),
    (
        "GET",
        "/desk/cases/{id}/record/diff",
        "/desk/cases/1/record/diff",
        Access::Member,
    ),
    (
        "GET",
        "/desk/cases/{id}/record/versions/{version}",
        "/desk/cases/1/record/versions/1",
        Access::Member,
    ),
    (
        "GET",
        "/desk/cases/{id}/record/versions/{version}/{file}",
        "/desk/cases/1/record/versions/1/osv.json",
        Access::Member,
    ),
    (
        "GET",
        "/desk/cases/{id}/cve",
        "/desk/cases/1/cve",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/cve/reserve",
        "/desk/cases/1/cve/reserve",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/cve/link",
        "/desk/cases/1/cve/link",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/cve/disclosed",
        "/desk/cases/1/cve/disclosed",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/cve/approve",
        "/desk/cases/1/cve/approve",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/cve/publish",
        "/desk/cases/1/cve/publish",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/cve/jobs/{job}/run",
        "/desk/cases/1/cve/jobs/1/run",
        Access::Member,
    ),
    (
        "GET",
        "/desk/cases/{id}/cve/drift",
        "/desk/cases/1/cve/drift",
        Access::Member,
    ),
    ("GET", "/desk/cve", "/desk/cve", Access::Member),
    ("POST", "/desk/cve/sync", "/desk/cve/sync", Access::Member),
    (
        "POST",
        "/desk/cve/reject",
        "/desk/cve/reject",
        Access::Member,
    ),
    ("GET", "/desk/ecosystem", "/desk/ecosystem", Access::Member),
    (
        "GET",
        "/desk/ecosystem/new",
        "/desk/ecosystem/new",
        Access::Member,
    ),
    (
        "POST",
        "/desk/ecosystem/products",
        "/desk/ecosystem/products",
        Access::Member,
    ),
    (
        "GET",
        "/desk/ecosystem/products/{key}",
        "/desk/ecosystem/products/prosody-im",
        Access::Member,
    ),
    (
        "POST",
        "/desk/ecosystem/products/{key}",
        "/desk/ecosystem/products/prosody-im",
        Access::Member,
    ),
    (
        "GET",
        "/desk/ecosystem/xeps/{number}",
        "/desk/ecosystem/xeps/280",
        Access::Member,
    ),
    (
        "POST",
        "/desk/reports/{id}/scope",
        "/desk/reports/1/scope",
        Access::Member,
    ),
    ("GET", "/scope", "/scope", Access::Public),
    ("GET", "/stats", "/stats", Access::Public),
    ("GET", "/desk/dashboard", "/desk/dashboard", Access::Member),
    ("GET", "/desk/forecast", "/desk/forecast", Access::Member),
    ("POST", "/desk/forecast", "/desk/forecast", Access::Member),
    ("GET", "/desk/team", "/desk/team", Access::Member),
    (
        "POST",
        "/desk/team/profile",
        "/desk/team/profile",
        Access::Member,
    ),
    (
        "POST",
        "/desk/team/absences",
        "/desk/team/absences",
        Access::Member,
    ),
    (
        "POST",
        "/desk/team/absences/{id}/remove",
        "/desk/team/absences/1/remove",
        Access::Member,
    ),
    (
        "POST",
        "/desk/team/affiliations",
        "/desk/team/affiliations",
        Access::Member,
    ),
    (
        "POST",
        "/desk/team/affiliations/{id}/withdraw",
        "/desk/team/affiliations/1/withdraw",
        Access::Member,
    ),
    (
        "GET",
        "/desk/team/calendar",
        "/desk/team/calendar",
        Access::Member,
    ),
    ("GET", "/desk/rota", "/desk/rota", Access::Member),
    ("POST", "/desk/rota/plan", "/desk/rota/plan", Access::Admin),
    (
        "POST",
        "/desk/rota/{id}/handover",
        "/desk/rota/1/handover",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/recuse",
        "/desk/cases/1/recuse",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/take",
        "/desk/cases/1/take",
        Access::Member,
    ),
    (
        "POST",
        "/desk/reports/{id}/clock",
        "/desk/reports/1/clock",
        Access::Member,
    ),
    (
        "GET",
        "/desk/settings/notifications",
        "/desk/settings/notifications",
        Access::Member,
    ),
    (
        "POST",
        "/desk/settings/notifications",
        "/desk/settings/notifications",
        Access::Member,
    ),
    ("GET", "/admin/outbox", "/admin/outbox", Access::Admin),
    (
        "POST",
        "/admin/outbox/{id}/retry",
        "/admin/outbox/1/retry",
        Access::Admin,
    ),
    (
        "GET",
        "/admin/mail/quarantine",
        "/admin/mail/quarantine",
        Access::Admin,
    ),
    (
        "GET",
        "/admin/mail/quarantine/{id}",
        "/admin/mail/quarantine/1",
        Access::Admin,
    ),
    (
        "GET",
        "/admin/mail/quarantine/{id}/raw",
        "/admin/mail/quarantine/1/raw",
        Access::Admin,
    ),
    (
        "POST",
        "/admin/mail/quarantine/{id}/release",
        "/admin/mail/quarantine/1/release",
        Access::Admin,
    ),
    ("GET", "/pgp-key.asc", "/pgp-key.asc", Access::Public),
    (
        "GET",
        "/desk/cases/{id}/coordination",
        "/desk/cases/1/coordination",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/vulnerabilities",
        "/desk/cases/1/vulnerabilities",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/vulnerabilities/{v}/products",
        "/desk/cases/1/vulnerabilities/1/products",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/vulnerabilities/{v}/count",
        "/desk/cases/1/vulnerabilities/1/count",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/products/{row}",
        "/desk/cases/1/products/1",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/vendors",
        "/desk/cases/1/vendors",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/embargo",
        "/desk/cases/1/embargo",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/embargo/broken",
        "/desk/cases/1/embargo/broken",
        Access::Member,
    ),
    (
        "POST",
        "/desk/cases/{id}/coordination/messages",
        "/desk/cases/1/coordination/messages",
        Access::Member,
    ),
    (
        "GET",
        "/desk/cases/{id}/coordination/files/{file}",
        "/desk/cases/1/coordination/files/1",
        Access::Member,
    ),
    (
        "GET",
        "/advisories/{name}",
        "/advisories/CVE-2026-0001",
        Access::Public,
    ),
    ("GET", "/advisories", "/advisories", Access::Public),
    (
        "GET",
        "/advisories.atom",
        "/advisories.atom",
        Access::Public,
    ),
    ("GET", "/policy", "/policy", Access::Public),
    ("GET", "/contact", "/contact", Access::Public),
    (
        "GET",
        "/.well-known/security.txt",
        "/.well-known/security.txt",
        Access::Public,
    ),
    ("GET", "/transparency", "/transparency", Access::Public),
    (
        "GET",
        "/transparency/log.jsonl",
        "/transparency/log.jsonl",
        Access::Public,
    ),
    (
        "GET",
        "/transparency/head",
        "/transparency/head",
        Access::Public,
    ),
    ("GET", "/vendor/login", "/vendor/login", Access::Public),
    ("POST", "/vendor/login", "/vendor/login", Access::Public),
    (
        "GET",
        "/vendor/invitations/{token}",
        "/vendor/invitations/not-a-token",
        Access::Token,
    ),
    (
        "POST",
        "/vendor/invitations/{token}",
        "/vendor/invitations/not-a-token",
        Access::Token,
    ),
    ("GET", "/vendor", "/vendor", Access::Vendor),
    ("POST", "/vendor/logout", "/vendor/logout", Access::Vendor),
    (
        "GET",
        "/vendor/cases/{id}",
        "/vendor/cases/1",
        Access::Vendor,
    ),
    (
        "POST",
        "/vendor/cases/{id}/acknowledge",
        "/vendor/cases/1/acknowledge",
        Access::Vendor,
    ),
    (
        "POST",
        "/vendor/cases/{id}/consent",
        "/vendor/cases/1/consent",
        Access::Vendor,
    ),
    (
        "POST",
        "/vendor/cases/{id}/products/{row}",
        "/vendor/cases/1/products/1",
        Access::Vendor,
    ),
    (
        "POST",
        "/vendor/cases/{id}/messages",
        "/vendor/cases/1/messages",
        Access::Vendor,
    ),
    (
        "POST",
        "/vendor/cases/{id}/files",
        "/vendor/cases/1/files",
        Access::Vendor,
    ),
    (
        "GET",
        "/vendor/cases/{id}/files/{file}",
        "/vendor/cases/1/files/1",
        Access::Vendor,
    ),
    ("GET", "/admin/users", "/admin/users", Access::Admin),
    ("POST", "/admin/users", "/admin/users", Access::Admin),
    (
        "POST",
        "/admin/users/{id}/active",
        "/admin/users/1/active",
        Access::Admin,
    ),
];

#[test]
fn every_route_is_covered() {
    let source = include_str!("../src/lib.rs");
    let mut registered = Vec::new();
    for chunk in source.split(".route(").skip(1) {
        let path = chunk.split('"').nth(1).unwrap().to_owned();
        let handlers_part = &chunk[..chunk.find("\n        .").unwrap_or(chunk.len())];
        for (needle, method) in [("get(", "GET"), ("post(", "POST")] {
            if handlers_part.contains(needle) {
                registered.push((method.to_owned(), path.clone()));
            }
        }
    }
    assert!(registered.len() >= 25, "parsed {registered:?}");
    for (method, path) in &registered {
        assert!(
            ROUTES.iter().any(|(m, p, _, _)| m == method && p == path),
            "{method} {path} has no row in the authorization table"
        );
    }
    assert_eq!(registered.len(), ROUTES.len(), "stale rows in the table");
}

#[tokio::test]
async fn anonymous_visitors_reach_only_public_routes() {
    let app = TestApp::new().await;
    api_report(&app, "A report", "A description that is long enough.").await;
    for (method, _, path, access) in ROUTES {
        let mut b = app.browser();
        let r = if *method == "GET" {
            b.get(path).await
        } else {
            let token = b.csrf().await;
            b.post_form(path, &[("csrf", &token)]).await
        };
        match access {
            Access::Member | Access::Admin => {
                assert_eq!(r.status, StatusCode::SEE_OTHER, "{method} {path}");
                assert!(
                    r.location().starts_with("/login"),
                    "{method} {path} -> {}",
                    r.location()
                );
            }
            Access::Pending => {
                assert_eq!(r.status, StatusCode::SEE_OTHER, "{method} {path}");
                assert!(r.location().starts_with("/login"), "{method} {path}");
            }
            Access::Vendor => {
                assert_eq!(r.status, StatusCode::SEE_OTHER, "{method} {path}");
                assert!(
                    r.location().starts_with("/vendor/login"),
                    "{method} {path} -> {}",
                    r.location()
                );
            }
            Access::Token => assert!(
                matches!(r.status, StatusCode::NOT_FOUND | StatusCode::GONE),
                "{method} {path}: {}",
                r.status
            ),
            Access::Public => assert!(
                !r.status.is_server_error() && r.status != StatusCode::FORBIDDEN,
                "{method} {path}: {}",
                r.status
            ),
        }
    }
}

#[tokio::test]
async fn members_cannot_use_admin_routes_but_can_use_the_desk() {
    let app = TestApp::new().await;
    api_report(&app, "A report", "A description that is long enough.").await;
    let mut member = app.signed_in("mia", Role::Member).await;
    for (method, _, path, access) in ROUTES {
        if *method != "GET" || path.contains("attachments") {
            continue;
        }
        let r = member.get(path).await;
        match access {
            Access::Admin => assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}"),
            Access::Member => assert!(
                r.status == StatusCode::OK
                    || (path.contains("cases") && r.status == StatusCode::NOT_FOUND),
                "{path}: {}",
                r.status
            ),
            Access::Pending => assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}"),
            // A team session is not a vendor session.
            Access::Vendor => {
                assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
                assert!(r.location().starts_with("/vendor/login"), "{path}");
            }
            _ => {}
        }
    }
    let token = member.csrf().await;
    for path in [
        "/admin/users",
        "/admin/users/1/active",
        "/desk/rota/plan",
        "/admin/outbox/1/retry",
        "/admin/mail/quarantine/1/release",
    ] {
        let r = member
            .post_form(
                path,
                &[("csrf", &token), ("active", "0"), ("username", "x")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    let mut admin = app.signed_in("ada", Role::Admin).await;
    assert_eq!(admin.get("/admin/users").await.status, StatusCode::OK);
}

#[tokio::test]
async fn state_changes_without_the_form_token_are_refused() {
    let app = TestApp::new().await;
    let (_, id) = api_report(&app, "A report", "A description that is long enough.").await;
    let mut member = app.signed_in("mia", Role::Member).await;
    for path in [
        format!("/desk/reports/{id}/accept"),
        format!("/desk/reports/{id}/close"),
        format!("/desk/reports/{id}/messages"),
        "/desk/cases/1/cve/reserve".to_owned(),
        "/desk/cases/1/cve/approve".to_owned(),
        "/desk/cases/1/cve/publish".to_owned(),
        "/desk/cve/reject".to_owned(),
        "/desk/cve/sync".to_owned(),
        format!("/desk/reports/{id}/scope"),
        "/desk/ecosystem/products".to_owned(),
        "/desk/ecosystem/products/prosody-im".to_owned(),
        "/desk/team/profile".to_owned(),
        "/desk/team/absences".to_owned(),
        "/desk/team/affiliations".to_owned(),
        "/desk/team/absences/1/remove".to_owned(),
        "/desk/team/affiliations/1/withdraw".to_owned(),
        "/desk/rota/1/handover".to_owned(),
        "/desk/rota/plan".to_owned(),
        "/desk/cases/1/recuse".to_owned(),
        "/desk/cases/1/take".to_owned(),
        format!("/desk/reports/{id}/clock"),
        "/desk/forecast".to_owned(),
        // Coordination: the token is checked before anything is looked up.
        "/desk/cases/1/vulnerabilities".to_owned(),
        "/desk/cases/1/vulnerabilities/1/products".to_owned(),
        "/desk/cases/1/vulnerabilities/1/count".to_owned(),
        "/desk/cases/1/products/1".to_owned(),
        "/desk/cases/1/vendors".to_owned(),
        "/desk/cases/1/embargo".to_owned(),
        "/desk/cases/1/embargo/broken".to_owned(),
        "/desk/cases/1/coordination/messages".to_owned(),
        "/desk/settings/notifications".to_owned(),
        "/logout".to_owned(),
    ] {
        let r = member
            .post_form(
                &path,
                &[
                    ("csrf", "forged"),
                    ("title", "x"),
                    ("reason", "spam"),
                    ("visibility", "reporter"),
                    ("body", "x"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    let report = app.store.report(ReportId(id)).await.unwrap().unwrap();
    assert_eq!(report.state, ReportState::New, "nothing changed");
    assert!(app
        .store
        .messages(ReportId(id), true)
        .await
        .unwrap()
        .is_empty());
    assert!(
        member.get("/desk").await.status == StatusCode::OK,
        "still signed in"
    );
}
