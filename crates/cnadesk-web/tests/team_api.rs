//! The team's JSON API: personal tokens made on the account page (shown
//! once, hashed at rest, scoped, revocable, audited), and the whole flow of
//! a report to a published CVE record driven through the API alone, with a
//! second member approving.

mod support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use cnadesk_core::audit::AuditAction;
use cnadesk_core::Role;
use cnadesk_store::prelude::*;
use serde_json::{json, Value};
use support::{Reply, TestApp};

/// Makes a token on the account page; returns the secret shown once.
async fn make_token(app: &TestApp, username: &str, scopes: &[&str]) -> String {
    let mut b = app.signed_in(username, Role::Member).await;
    let mut fields = vec![("name", "release script"), ("days", "30")];
    fields.extend(scopes.iter().map(|s| ("scope", *s)));
    let r = b
        .submit("/account/tokens", "/account/tokens", &fields)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let marker = "id=\"token-secret\">";
    let start = r.body.find(marker).expect("the token is shown") + marker.len();
    let secret = r.body[start..].split('<').next().unwrap().to_owned();
    assert!(secret.starts_with("cnd_"), "{secret}");
    // Shown once: the list does not carry it again.
    let again = b.get("/account/tokens").await;
    assert!(!again.body.contains(&secret));
    assert!(again.body.contains("release script"));
    secret
}

async fn call(app: &TestApp, token: &str, method: &str, path: &str, body: Option<Value>) -> Reply {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    app.send(req.body(body).unwrap()).await
}

fn container() -> Value {
    json!({
        "title": "Message carbons spoofing in Prosody",
        "descriptions": [{
            "lang": "en",
            "value": "Prosody before 0.12.4 accepts message carbons from any sender, which allows remote attackers to inject messages into a conversation."
        }],
        "affected": [{
            "vendor": "Prosody",
            "product": "Prosody",
            "defaultStatus": "unaffected",
            "versions": [{"version": "0.12.0", "lessThan": "0.12.4", "status": "affected", "versionType": "semver"}]
        }],
        "problemTypes": [{"descriptions": [{"lang": "en", "description": "CWE-346 Origin Validation Error", "cweId": "CWE-346", "type": "CWE"}]}],
        "references": [{"url": "https://prosody.im/security/advisory_20261120/", "tags": ["vendor-advisory"]}],
        "metrics": [{"cvssV3_1": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N", "baseScore": 6.5, "baseSeverity": "MEDIUM"}}],
        "credits": [{"lang": "en", "value": "Rita Reporter", "type": "finder"}]
    })
}

#[tokio::test]
async fn a_report_becomes_a_published_cve_through_the_api_alone() {
    let (app, double) = TestApp::with_cve_double().await;
    let all = ["read", "triage", "records", "cve", "coordination"];
    let ada = make_token(&app, "ada", &all).await;
    let bob = make_token(&app, "bob", &["read", "records"]).await;

    // A reporter submits (no account).
    let r = app
        .send(
            Request::post("/api/v1/reports")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({
                        "title": "Carbons spoofing",
                        "product": "Prosody",
                        "description": "Message carbons from any sender are accepted, so a remote attacker can inject messages.",
                    })
                    .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let report = r.json()["id"].as_str().unwrap().to_owned();

    let me = call(&app, &ada, "GET", "/api/v1/me", None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.json()["username"], "ada");

    // Ada finds it and accepts it.
    let list = call(
        &app,
        &ada,
        "GET",
        "/api/v1/reports?state=new&q=carbons",
        None,
    )
    .await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert_eq!(list.json()[0]["id"], report.as_str());
    let r = call(
        &app,
        &ada,
        "POST",
        &format!("/api/v1/reports/{report}/accept"),
        Some(json!({"title": "Carbons spoofing in Prosody"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["state"], "accepted");
    let again = call(
        &app,
        &ada,
        "POST",
        &format!("/api/v1/reports/{report}/accept"),
        Some(json!({"title": "Twice"})),
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        again.body
    );

    // Ada reserves an ID.
    let r = call(
        &app,
        &ada,
        "POST",
        &format!("/api/v1/cases/{case}/cve/reserve"),
        Some(json!({"year": 2026})),
    )
    .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.json()["state"], "done", "{}", r.body);
    let cve = call(
        &app,
        &ada,
        "GET",
        &format!("/api/v1/cases/{case}/cve"),
        None,
    )
    .await;
    let cve_id = cve.json()["ids"][0]["cve_id"].as_str().unwrap().to_owned();
    assert_eq!(double.ids()[0].0, cve_id);

    // Ada checks, then saves the record.
    let body = json!({"cve_id": cve_id, "container": container(), "note": "first draft"});
    let r = call(
        &app,
        &ada,
        "POST",
        &format!("/api/v1/cases/{case}/record/check"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["publishable"], true, "{}", r.body);
    let r = call(
        &app,
        &ada,
        "POST",
        &format!("/api/v1/cases/{case}/record/versions"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.json()["version"]["version"], 1);
    // A save on a stale base is refused.
    let r = call(
        &app,
        &ada,
        "POST",
        &format!("/api/v1/cases/{case}/record/versions"),
        Some(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "stale");

    // Ada cannot approve her own version, nor publish it unapproved.
    let approve = format!("/api/v1/cases/{case}/record/versions/1/approve");
    let publish = format!("/api/v1/cases/{case}/record/versions/1/publish");
    let r = call(&app, &ada, "POST", &approve, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = call(&app, &ada, "POST", &publish, None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(double.record_count(), 0);

    // Bob's token cannot publish (no `cve` scope) but can approve.
    let r = call(&app, &bob, "POST", &publish, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "insufficient_scope");
    let r = call(&app, &bob, "POST", &approve, None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // Ada publishes; CVE Services holds the record.
    let r = call(&app, &ada, "POST", &publish, None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(r.json()["state"], "done", "{}", r.body);
    assert_eq!(double.record_count(), 1);
    let cve = call(
        &app,
        &ada,
        "GET",
        &format!("/api/v1/cases/{case}/cve"),
        None,
    )
    .await;
    assert_eq!(cve.json()["ids"][0]["state"], "published", "{}", cve.body);
    assert_eq!(cve.json()["ids"][0]["published_version"], 1);

    // Every step is in the audit log as the member who took it.
    let events = app.store.audit_events(0, 1000).await.unwrap();
    let by = |action: AuditAction| {
        events
            .iter()
            .find(|e| e.is(action))
            .map(|e| e.actor.clone())
            .unwrap_or_default()
    };
    assert!(by(AuditAction::ApiTokenCreated).contains("ada"));
    assert!(by(AuditAction::RecordApproved).contains("bob"));
}

#[tokio::test]
async fn tokens_are_checked_scoped_hashed_and_revocable() {
    let app = TestApp::new().await;
    let secret = make_token(&app, "ada", &["read"]).await;

    // No token, a wrong one, a cookie session: 401 with the scheme named.
    let r = app
        .send(Request::get("/api/v1/reports").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.headers[header::WWW_AUTHENTICATE],
        "Bearer realm=\"cnadesk\""
    );
    let r = call(&app, "cnd_not-a-token", "GET", "/api/v1/reports", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let mut browser = app.sign_in("ada").await;
    let r = browser.get("/api/v1/reports").await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "a session cookie is not a token"
    );

    // Read works; triage is outside the scope.
    let r = call(&app, &secret, "GET", "/api/v1/cases", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = call(
        &app,
        &secret,
        "POST",
        "/api/v1/reports/1/close",
        Some(json!({"reason": "spam"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

    // Bad requests name the field.
    let r = call(&app, &secret, "GET", "/api/v1/reports?state=nonsense", None).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["fields"][0]["field"], "state");

    // Only the hash is stored.
    let user = app.store.user_credentials("ada").await.unwrap().unwrap();
    let stored = app.store.api_tokens_of(user.user.id).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].scopes, ["read"]);
    assert!(stored[0].last_used_at_ms.is_some(), "use is noted");
    let dump = format!("{stored:?}");
    assert!(!dump.contains(&secret));

    // Revoked: it stops working at once.
    let page = browser.get("/account/tokens").await;
    let action = format!("/account/tokens/{}/revoke", stored[0].id);
    assert!(page.body.contains(&action));
    let r = browser.submit("/account/tokens", &action, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = call(&app, &secret, "GET", "/api/v1/cases", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Another member cannot revoke it (it is not theirs): 404.
    let mut eve = app.signed_in("eve", Role::Member).await;
    let r = eve.submit("/account/tokens", &action, &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A token request with problems names them and keeps what was typed.
    let r = browser
        .submit(
            "/account/tokens",
            "/account/tokens",
            &[("name", "ci"), ("days", "9999")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Choose at least one scope"), "{}", r.body);
    assert!(r.body.contains("from 1 to 366"));
    assert!(r.body.contains("value=\"ci\""));
}

#[tokio::test]
async fn a_deactivated_members_tokens_stop_working() {
    let app = TestApp::new().await;
    let secret = make_token(&app, "ada", &["read"]).await;
    let user = app.store.user_credentials("ada").await.unwrap().unwrap();
    app.store
        .set_user_active(user.user.id, false, &cnadesk_core::Actor::system("test"), 0)
        .await
        .unwrap();
    let r = call(&app, &secret, "GET", "/api/v1/cases", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// An embargo set through the API: a date in the past is refused with the
/// rule's sentence (422, nothing stored); a future date with a reason is set.
#[tokio::test]
async fn an_embargo_is_refused_or_set_through_the_api() {
    let app = TestApp::new().await;
    let ada = make_token(&app, "ada", &["read", "triage", "coordination"]).await;
    let r = app
        .send(
            Request::post("/api/v1/reports")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({
                        "title": "Carbons spoofing",
                        "product": "Prosody",
                        "description": "Message carbons from any sender are accepted, so a remote attacker can inject messages.",
                    })
                    .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let report = r.json()["id"].as_str().unwrap().to_owned();
    let r = call(
        &app,
        &ada,
        "POST",
        &format!("/api/v1/reports/{report}/accept"),
        Some(json!({"title": "Carbons spoofing in Prosody"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let case = r.json()["id"].as_str().unwrap().to_owned();
    // An invitation names what is wrong: a product not of the case, or an
    // address that is not one (the case has no product rows yet).
    let vendors = format!("/api/v1/cases/{case}/vendors");
    let bad = json!({"email": "vendor@example.org", "products": ["no-such-product"]});
    let r = call(&app, &ada, "POST", &vendors, Some(bad)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.json()["error"]["fields"][0]["field"],
        "products.0",
        "{}",
        r.body
    );
    let none = json!({"email": "not an address", "products": []});
    let r = call(&app, &ada, "POST", &vendors, Some(none)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let fields: Vec<String> = r.json()["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        fields.contains(&"email".to_owned()) && fields.contains(&"products".to_owned()),
        "{fields:?}"
    );
    let embargo = format!("/api/v1/cases/{case}/embargo");

    let past = json!({"ends_at": "2001-01-01T10:00:00Z", "reason": "Releases need a week"});
    let r = call(&app, &ada, "POST", &embargo, Some(past)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "refused", "{}", r.body);
    let r = call(
        &app,
        &ada,
        "GET",
        &format!("/api/v1/cases/{case}/coordination"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.json()["embargo_ends_at"].is_null(), "{}", r.body);

    let future = json!({"ends_at": "2099-01-01T10:00:00Z", "reason": "Releases need a week"});
    let r = call(&app, &ada, "POST", &embargo, Some(future)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.json()["embargo_reason"],
        "Releases need a week",
        "{}",
        r.body
    );
}

#[tokio::test]
async fn the_openapi_document_describes_the_team_api() {
    let app = TestApp::new().await;
    let r = app
        .send(
            Request::get("/api/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let doc = r.json();
    for path in [
        "/api/v1/reports",
        "/api/v1/reports/{id}/accept",
        "/api/v1/cases/{id}/record/versions",
        "/api/v1/cases/{id}/record/versions/{version}/approve",
        "/api/v1/cases/{id}/record/versions/{version}/publish",
        "/api/v1/cases/{id}/cve/reserve",
        "/api/v1/cases/{id}/embargo",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["scheme"],
        "bearer"
    );
}
