//! Every route of the route table ([`cnadesk_web::routes`]), tried by an
//! anonymous visitor, a member, an admin and a vendor, and every `POST`
//! tried without a valid form token.
//!
//! The table is the router's own data: a route added to the router is in it
//! with its access and anti-forgery rule. What the table cannot give is a
//! concrete path for a route with parameters: [`EXAMPLES`] has one for each,
//! and a route missing from it fails `every_route_is_covered`.

mod support;

use axum::http::StatusCode;
use cnadesk_core::{CaseId, ReportId, ReportState, Role};
use cnadesk_store::prelude::*;
use cnadesk_store::NewVendorAccount;
use cnadesk_web::{routes, Access, CsrfRule, RequestBody, RouteMethod, RouteSpec};
use support::{api_report, Browser, TestApp, PASSWORD};

/// (path as registered, path to request) for every route with parameters.
/// Ids are those of the first report and case of a fresh desk.
const EXAMPLES: &[(&str, &str)] = &[
    ("/track/{token}", "/track/not-a-token"),
    ("/track/{token}/messages", "/track/not-a-token/messages"),
    ("/setup/{token}", "/setup/not-a-token"),
    ("/desk/reports/{id}", "/desk/reports/1"),
    ("/desk/reports/{id}/accept", "/desk/reports/1/accept"),
    ("/desk/reports/{id}/close", "/desk/reports/1/close"),
    ("/desk/reports/{id}/messages", "/desk/reports/1/messages"),
    (
        "/desk/reports/{id}/attachments/{attachment}",
        "/desk/reports/1/attachments/1",
    ),
    ("/desk/cases/{id}", "/desk/cases/1"),
    ("/desk/cases/{id}/transition", "/desk/cases/1/transition"),
    ("/desk/cases/{id}/assign", "/desk/cases/1/assign"),
    ("/desk/cases/{id}/record", "/desk/cases/1/record"),
    ("/desk/cases/{id}/record/json", "/desk/cases/1/record/json"),
    ("/desk/cases/{id}/record/diff", "/desk/cases/1/record/diff"),
    (
        "/desk/cases/{id}/record/versions/{version}",
        "/desk/cases/1/record/versions/1",
    ),
    (
        "/desk/cases/{id}/record/versions/{version}/{file}",
        "/desk/cases/1/record/versions/1/osv.json",
    ),
    ("/desk/cases/{id}/cve", "/desk/cases/1/cve"),
    ("/desk/cases/{id}/cve/reserve", "/desk/cases/1/cve/reserve"),
    ("/desk/cases/{id}/cve/link", "/desk/cases/1/cve/link"),
    (
        "/desk/cases/{id}/cve/disclosed",
        "/desk/cases/1/cve/disclosed",
    ),
    ("/desk/cases/{id}/cve/approve", "/desk/cases/1/cve/approve"),
    ("/desk/cases/{id}/cve/publish", "/desk/cases/1/cve/publish"),
    (
        "/desk/cases/{id}/cve/jobs/{job}/run",
        "/desk/cases/1/cve/jobs/1/run",
    ),
    ("/desk/cases/{id}/cve/drift", "/desk/cases/1/cve/drift"),
    (
        "/desk/ecosystem/products/{key}",
        "/desk/ecosystem/products/prosody-im",
    ),
    ("/desk/ecosystem/xeps/{number}", "/desk/ecosystem/xeps/280"),
    ("/desk/reports/{id}/scope", "/desk/reports/1/scope"),
    (
        "/desk/team/absences/{id}/remove",
        "/desk/team/absences/1/remove",
    ),
    (
        "/desk/team/affiliations/{id}/withdraw",
        "/desk/team/affiliations/1/withdraw",
    ),
    ("/desk/rota/{id}/handover", "/desk/rota/1/handover"),
    ("/desk/cases/{id}/recuse", "/desk/cases/1/recuse"),
    ("/desk/cases/{id}/take", "/desk/cases/1/take"),
    ("/desk/reports/{id}/clock", "/desk/reports/1/clock"),
    ("/admin/outbox/{id}/retry", "/admin/outbox/1/retry"),
    ("/admin/mail/quarantine/{id}", "/admin/mail/quarantine/1"),
    (
        "/admin/mail/quarantine/{id}/raw",
        "/admin/mail/quarantine/1/raw",
    ),
    (
        "/admin/mail/quarantine/{id}/release",
        "/admin/mail/quarantine/1/release",
    ),
    (
        "/desk/cases/{id}/coordination",
        "/desk/cases/1/coordination",
    ),
    (
        "/desk/cases/{id}/vulnerabilities",
        "/desk/cases/1/vulnerabilities",
    ),
    (
        "/desk/cases/{id}/vulnerabilities/{v}/products",
        "/desk/cases/1/vulnerabilities/1/products",
    ),
    (
        "/desk/cases/{id}/vulnerabilities/{v}/count",
        "/desk/cases/1/vulnerabilities/1/count",
    ),
    (
        "/desk/cases/{id}/products/{row}",
        "/desk/cases/1/products/1",
    ),
    ("/desk/cases/{id}/vendors", "/desk/cases/1/vendors"),
    ("/desk/cases/{id}/embargo", "/desk/cases/1/embargo"),
    (
        "/desk/cases/{id}/embargo/broken",
        "/desk/cases/1/embargo/broken",
    ),
    (
        "/desk/cases/{id}/coordination/messages",
        "/desk/cases/1/coordination/messages",
    ),
    (
        "/desk/cases/{id}/coordination/files/{file}",
        "/desk/cases/1/coordination/files/1",
    ),
    ("/advisories/{name}", "/advisories/CVE-2026-0001"),
    (
        "/vendor/invitations/{token}",
        "/vendor/invitations/not-a-token",
    ),
    ("/vendor/cases/{id}", "/vendor/cases/1"),
    (
        "/vendor/cases/{id}/acknowledge",
        "/vendor/cases/1/acknowledge",
    ),
    ("/vendor/cases/{id}/consent", "/vendor/cases/1/consent"),
    (
        "/vendor/cases/{id}/products/{row}",
        "/vendor/cases/1/products/1",
    ),
    ("/vendor/cases/{id}/messages", "/vendor/cases/1/messages"),
    ("/vendor/cases/{id}/files", "/vendor/cases/1/files"),
    ("/vendor/cases/{id}/files/{file}", "/vendor/cases/1/files/1"),
    ("/admin/users/{id}/active", "/admin/users/1/active"),
    ("/admin/users/{id}/invitation", "/admin/users/1/invitation"),
    ("/invitation/{token}", "/invitation/not-a-token"),
    ("/account/tokens/{id}/revoke", "/account/tokens/1/revoke"),
    ("/api/v1/reports/{id}", "/api/v1/reports/1"),
    ("/api/v1/reports/{id}/accept", "/api/v1/reports/1/accept"),
    ("/api/v1/reports/{id}/close", "/api/v1/reports/1/close"),
    ("/api/v1/reports/{id}/scope", "/api/v1/reports/1/scope"),
    ("/api/v1/cases/{id}", "/api/v1/cases/1"),
    (
        "/api/v1/cases/{id}/record/versions",
        "/api/v1/cases/1/record/versions",
    ),
    (
        "/api/v1/cases/{id}/record/check",
        "/api/v1/cases/1/record/check",
    ),
    (
        "/api/v1/cases/{id}/record/versions/{version}/approve",
        "/api/v1/cases/1/record/versions/1/approve",
    ),
    (
        "/api/v1/cases/{id}/record/versions/{version}/publish",
        "/api/v1/cases/1/record/versions/1/publish",
    ),
    ("/api/v1/cases/{id}/cve", "/api/v1/cases/1/cve"),
    (
        "/api/v1/cases/{id}/cve/reserve",
        "/api/v1/cases/1/cve/reserve",
    ),
    (
        "/api/v1/cases/{id}/coordination",
        "/api/v1/cases/1/coordination",
    ),
    ("/api/v1/cases/{id}/embargo", "/api/v1/cases/1/embargo"),
    ("/api/v1/cases/{id}/vendors", "/api/v1/cases/1/vendors"),
];

/// Whether `example` is a path that `pattern` (with `{name}` segments) matches.
fn matches(pattern: &str, example: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let e: Vec<&str> = example.split('/').collect();
    p.len() == e.len()
        && p.iter().zip(&e).all(|(p, e)| {
            if p.starts_with('{') && p.ends_with('}') {
                !e.is_empty()
            } else {
                p == e
            }
        })
}

/// The path to request for a route.
fn request_path(route: &RouteSpec) -> &'static str {
    if !route.path.contains('{') {
        return route.path;
    }
    EXAMPLES
        .iter()
        .find(|(registered, _)| *registered == route.path)
        .map(|(_, example)| *example)
        .unwrap_or_else(|| panic!("{} has no example path in EXAMPLES", route.path))
}

#[test]
fn every_route_is_covered() {
    let all = routes();
    assert!(all.len() >= 100, "{} routes", all.len());
    for route in all {
        let path = request_path(route);
        assert!(matches(route.path, path), "{path} is not a {}", route.path);
        // The table's access against the URL spaces.
        let expected: &[Access] = if route.path.starts_with("/admin/") {
            &[Access::Admin]
        } else if route.path.starts_with("/desk") || route.path.starts_with("/account/") {
            &[Access::Member, Access::Admin]
        } else if route.path.starts_with("/vendor/invitations/") {
            &[Access::Token]
        } else if route.path.starts_with("/vendor/login") {
            &[Access::Public]
        } else if route.path.starts_with("/vendor") {
            &[Access::Vendor]
        } else if route.path.starts_with("/track/")
            || route.path.starts_with("/setup/")
            || route.path.starts_with("/invitation/")
        {
            &[Access::Token]
        } else if route.path == "/login/totp" {
            &[Access::Pending]
        } else if route.path.starts_with("/api/v1/") && route.path != "/api/v1/reports" {
            &[Access::Bearer]
        } else if route.path == "/api/v1/reports" {
            // Anyone submits; listing takes a token.
            &[Access::Public, Access::Bearer]
        } else {
            &[Access::Public]
        };
        assert!(
            expected.contains(&route.access),
            "{} {} is {:?}",
            route.method.as_str(),
            route.path,
            route.access
        );
        match route.method {
            RouteMethod::Get => assert_eq!(route.csrf, CsrfRule::Safe, "{}", route.path),
            RouteMethod::Post => assert_ne!(route.csrf, CsrfRule::Safe, "{}", route.path),
        }
    }
    for (registered, _) in EXAMPLES {
        assert!(
            all.iter().any(|r| r.path == *registered),
            "stale example for {registered}"
        );
    }
    // The only exemptions from form tokens are the JSON API's: anonymous
    // report intake, and the team's endpoints, which take a bearer token and
    // never a cookie (so a forged cross-site request carries no credential).
    for r in all.iter().filter(|r| r.csrf == CsrfRule::Exempt) {
        assert_eq!(r.method, RouteMethod::Post, "{}", r.path);
        assert!(r.path.starts_with("/api/v1/"), "{}", r.path);
        assert!(
            matches!(r.body, RequestBody::Json | RequestBody::Empty),
            "{}",
            r.path
        );
        assert!(
            r.access == Access::Bearer || r.path == "/api/v1/reports",
            "{} is exempt without a bearer token",
            r.path
        );
    }
}

#[tokio::test]
async fn anonymous_visitors_reach_only_public_routes() {
    let app = TestApp::new().await;
    api_report(&app, "A report", "A description that is long enough.").await;
    for route in routes() {
        let (method, path, access) = (route.method.as_str(), request_path(route), route.access);
        let mut b = app.browser();
        let r = match route.method {
            RouteMethod::Get => b.get(path).await,
            RouteMethod::Post => {
                let token = b.csrf().await;
                b.post_form(path, &[("csrf", &token)]).await
            }
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
            // No token: 401 naming the scheme, and no cookie.
            Access::Bearer => {
                assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{method} {path}");
                assert!(
                    r.headers.contains_key("www-authenticate"),
                    "{method} {path}"
                );
            }
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
    for route in routes() {
        let path = request_path(route);
        if route.method != RouteMethod::Get || path.contains("attachments") {
            continue;
        }
        let r = member.get(path).await;
        match route.access {
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
            // Nor an API token.
            Access::Bearer => assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{path}"),
            _ => {}
        }
    }
    let token = member.csrf().await;
    let admin_posts: Vec<_> = routes()
        .iter()
        .filter(|r| r.method == RouteMethod::Post && r.access == Access::Admin)
        .collect();
    assert!(admin_posts.len() >= 5, "{admin_posts:?}");
    for route in admin_posts {
        let path = request_path(route);
        let r = member
            .post_form(
                path,
                &[("csrf", &token), ("active", "0"), ("username", "x")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!r.body.contains("This form has expired"), "{path}");
    }
    let mut admin = app.signed_in("ada", Role::Admin).await;
    assert_eq!(admin.get("/admin/users").await.status, StatusCode::OK);
}

/// A browser signed in to the vendor portal as a new vendor account that
/// takes part in no case.
async fn vendor_browser(app: &TestApp) -> Browser<'_> {
    let hash = cnadesk_web::auth::hash_password(PASSWORD.into())
        .await
        .unwrap();
    app.store
        .create_vendor_account(
            NewVendorAccount {
                email: "sec@vendor.example".into(),
                display_name: "Vendor security".into(),
                password_hash: hash,
                time_zone: "UTC".into(),
            },
            0,
        )
        .await
        .unwrap();
    let mut v = app.browser();
    let r = v
        .submit(
            "/vendor/login",
            "/vendor/login",
            &[("email", "sec@vendor.example"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    v
}

/// The fields sent with a form token: enough for every form to be read.
const FIELDS: &[(&str, &str)] = &[
    ("title", "x"),
    ("reason", "spam"),
    ("visibility", "reporter"),
    ("body", "x"),
    ("to", "closed"),
    ("active", "0"),
    ("username", "mia"),
    ("password", PASSWORD),
    ("email", "sec@vendor.example"),
    ("code", "123456"),
];

/// Posts `route` with `token` (`None`: no `csrf` field at all) in the body
/// the route reads.
async fn post_with(b: &mut Browser<'_>, route: &RouteSpec, token: Option<&str>) -> support::Reply {
    let path = request_path(route);
    match route.body {
        RequestBody::Form => {
            let mut fields: Vec<(&str, &str)> = token.map(|t| ("csrf", t)).into_iter().collect();
            fields.extend_from_slice(FIELDS);
            b.post_form(path, &fields).await
        }
        RequestBody::Multipart => {
            let mut form = support::Multipart::new();
            if let Some(t) = token {
                form = form.text("csrf", t);
            }
            let (ct, body) = form
                .text("title", "A report about a flaw")
                .text("product", "Prosody")
                .text("description", "A description that is long enough.")
                .text("reporter_email", "rita@example.org")
                .file("file", "fix.patch", "text/x-diff", b"--- a\n+++ b\n")
                .finish();
            b.request("POST", path, Some(&ct), body).await
        }
        RequestBody::Json | RequestBody::Empty => unreachable!("{route:?}"),
    }
}

#[tokio::test]
async fn state_changes_without_the_form_token_are_refused() {
    let app = TestApp::new().await;
    let (_, id) = api_report(&app, "A report", "A description that is long enough.").await;
    assert_eq!(id, 1, "the example paths name report 1");
    let mut member = app.signed_in("mia", Role::Member).await;
    let mut admin = app.signed_in("ada", Role::Admin).await;
    let mut vendor = vendor_browser(&app).await;
    let reports_before = app
        .store
        .list_reports(Default::default())
        .await
        .unwrap()
        .len();
    let mut tried = 0;
    for route in routes().iter().filter(|r| r.method == RouteMethod::Post) {
        let path = request_path(route);
        if route.csrf == CsrfRule::Exempt {
            continue;
        }
        let b = match route.access {
            Access::Admin => &mut admin,
            Access::Vendor => &mut vendor,
            _ => &mut member,
        };
        for token in [Some("forged"), None] {
            let r = post_with(b, route, token).await;
            match route.csrf {
                CsrfRule::Checked => {
                    assert_eq!(r.status, StatusCode::FORBIDDEN, "{path} ({token:?})");
                    assert!(
                        r.body
                            .contains("This form has expired or was not sent from this site"),
                        "{path} ({token:?}): {}",
                        r.body
                    );
                }
                CsrfRule::Reshown => {
                    // The form again (403 or 422, with a word about the
                    // expired form), or refused before: a second factor
                    // that is not pending (403), a setup link that is not
                    // one (410).
                    assert!(
                        matches!(
                            r.status,
                            StatusCode::FORBIDDEN
                                | StatusCode::UNPROCESSABLE_ENTITY
                                | StatusCode::GONE
                        ),
                        "{path} ({token:?}): {}",
                        r.status
                    );
                    if r.status != StatusCode::GONE && route.access != Access::Pending {
                        assert!(r.body.contains("expired"), "{path} ({token:?}): {}", r.body);
                    }
                }
                CsrfRule::Safe | CsrfRule::Exempt => unreachable!("{route:?}"),
            }
            tried += 1;
        }
    }
    let posts = routes()
        .iter()
        .filter(|r| r.method == RouteMethod::Post && r.csrf != CsrfRule::Exempt)
        .count();
    assert_eq!(tried, 2 * posts);
    assert!(posts >= 55, "{posts} POST routes");
    // Nothing changed.
    let report = app.store.report(ReportId(id)).await.unwrap().unwrap();
    assert_eq!(report.state, ReportState::New, "nothing changed");
    assert!(app
        .store
        .messages(ReportId(id), true)
        .await
        .unwrap()
        .is_empty());
    assert!(app.store.case(CaseId(1)).await.unwrap().is_none());
    assert_eq!(
        app.store
            .list_reports(Default::default())
            .await
            .unwrap()
            .len(),
        reports_before
    );
    assert!(
        member.get("/desk").await.status == StatusCode::OK,
        "still signed in"
    );
    assert!(
        vendor.get("/vendor").await.status == StatusCode::OK,
        "the vendor is still signed in"
    );
}
