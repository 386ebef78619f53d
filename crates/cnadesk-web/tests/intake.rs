//! Reporting a vulnerability through the form and the API, including every
//! kind of bad input, and the reporter's tracking page.

mod support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use cnadesk_core::audit::AuditAction;
use cnadesk_core::{ReportId, Role};
use cnadesk_store::prelude::*;
use cnadesk_web::WebConfig;
use support::{api_report, csrf_from, Multipart, TestApp};

const DESCRIPTION: &str = "Carbons from a remote entity are accepted <script>alert('x')</script>";

async fn post_json(app: &TestApp, content_type: &str, body: impl Into<Body>) -> support::Reply {
    app.send(
        Request::post("/api/v1/reports")
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn api_stores_a_report_and_returns_a_working_tracking_link() {
    let app = TestApp::new().await;
    let body = serde_json::json!({
        "title": "Carbons spoofing",
        "product": "Prosody",
        "description": DESCRIPTION,
        "attachments": [{"filename": "../poc.py", "content_type": "text/x-python", "content_base64": "cHJpbnQoMSkK"}],
    });
    let r = post_json(&app, "application/json; charset=utf-8", body.to_string()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let j = r.json();
    assert_eq!(j["id"], "REP-1");
    assert_eq!(j["state"], "new");
    let token = j["tracking_token"].as_str().unwrap();
    assert!(token.len() >= 40, "unguessable token");
    assert!(j["tracking_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/track/{token}")));
    let files = app.store.attachments(ReportId(1)).await.unwrap();
    assert_eq!(files[0].filename, "poc.py");
    assert_eq!(files[0].size, 9);
    let mut reporter = app.browser();
    let page = reporter.get(&format!("/track/{token}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Carbons spoofing"));
    assert!(page.body.contains("Received"));
    assert_eq!(page.headers[header::REFERRER_POLICY], "no-referrer");
    // The token is stored only as a hash.
    assert!(app
        .store
        .report_by_tracking_hash(token)
        .await
        .unwrap()
        .is_none());
    assert!(app
        .store
        .report_by_tracking_hash(&cnadesk_web::security::sha256_hex(token))
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn api_names_every_bad_field() {
    let app = TestApp::new().await;
    let r = post_json(
        &app,
        "application/json",
        r#"{"reporter_email": "nope", "already_public": true, "attachments": [{"filename": "a", "content_base64": "***"}]}"#,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let j = r.json();
    assert_eq!(j["error"]["code"], "invalid_fields");
    let fields: Vec<&str> = j["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    for f in [
        "title",
        "product",
        "description",
        "reporter_email",
        "public_where",
        "attachments.0.content_base64",
    ] {
        assert!(fields.contains(&f), "{f} missing in {fields:?}");
    }
}

#[tokio::test]
async fn api_rejects_wrong_types_unknown_fields_bad_json_and_bad_encoding() {
    let app = TestApp::new().await;
    let r = post_json(&app, "application/json", r#"{"title": 5}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["fields"][0]["field"], "title");

    let r = post_json(&app, "application/json", r#"{"titel": "x"}"#).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["error"]["fields"][0]["field"], "titel");

    let r = post_json(&app, "application/json", r#"{"title": "#).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["code"], "invalid_json");

    let r = post_json(&app, "application/json", b"{\"title\": \"\xff\"}".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error"]["code"], "invalid_utf8");

    let r = post_json(&app, "text/plain", "{}").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(r.json()["error"]["code"], "unsupported_media_type");

    let r = post_json(&app, "application/json", "{} {}").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn oversized_bodies_get_413_not_500() {
    let app = TestApp::with_config(WebConfig {
        max_body_bytes: 2048,
        ..Default::default()
    })
    .await;
    let big = serde_json::json!({"title": "x", "product": "p", "description": "y".repeat(5000)});
    let r = post_json(&app, "application/json", big.to_string()).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");

    // The form keeps what was typed before the oversized file.
    let mut b = app.browser();
    let token = b.csrf().await;
    let (ct, body) = Multipart::new()
        .text("csrf", &token)
        .text("title", "Typed title survives")
        .text("product", "Prosody")
        .file(
            "attachments",
            "big.bin",
            "application/octet-stream",
            &[7u8; 4096],
        )
        .finish();
    let r = b.request("POST", "/report", Some(&ct), body).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(r.body.contains("Typed title survives"), "{}", r.body);
    assert!(r.body.contains("too large"));
}

#[tokio::test]
async fn intake_is_rate_limited_per_address() {
    let app = TestApp::with_config(WebConfig {
        reports_per_ip_per_hour: 2,
        ..Default::default()
    })
    .await;
    api_report(&app, "one", "A description that is long enough.").await;
    api_report(&app, "two", "A description that is long enough.").await;
    let body = serde_json::json!({"title": "three", "product": "p", "description": "A description that is long enough."});
    let r = post_json(&app, "application/json", body.to_string()).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.json()["error"]["code"], "rate_limited");
    // When the oldest of the two leaves the hour.
    let wait: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&wait), "{wait}");
    // The form says so too, and keeps the text.
    let mut b = app.browser();
    let token = b.csrf().await;
    let (ct, body) = Multipart::new()
        .text("csrf", &token)
        .text("title", "Kept while waiting")
        .text("product", "Prosody")
        .text("description", DESCRIPTION)
        .finish();
    let r = b.request("POST", "/report", Some(&ct), body).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.body.contains("Kept while waiting"));
    assert!(
        r.body.contains("please send again in 60 minutes"),
        "{}",
        r.body
    );
    let wait: u64 = r.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3500..=3600).contains(&wait), "{wait}");
}

#[tokio::test]
async fn control_characters_in_the_reporter_email_are_refused() {
    let app = TestApp::new().await;
    for bad in [
        "rita\0@example.org",
        "rita@exa\u{1}mple.org",
        "\u{1b}[31mrita@example.org",
    ] {
        // The API names the field and stores nothing.
        let body = serde_json::json!({
            "title": "Carbons spoofing",
            "product": "Prosody",
            "description": DESCRIPTION,
            "reporter_email": bad,
        });
        let r = post_json(&app, "application/json", body.to_string()).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad:?}: {}",
            r.body
        );
        let fields = &r.json()["error"]["fields"];
        assert_eq!(fields.as_array().unwrap().len(), 1, "{fields}");
        assert_eq!(fields[0]["field"], "reporter_email");
        assert!(fields[0]["message"]
            .as_str()
            .unwrap()
            .contains("contains control characters"));
        // The form says so in its words, and keeps the rest.
        let mut b = app.browser();
        let token = b.csrf().await;
        let (ct, body) = Multipart::new()
            .text("csrf", &token)
            .text("title", "Kept title")
            .text("product", "Kept product")
            .text("description", DESCRIPTION)
            .text("reporter_name", "Rita Reporter")
            .text("reporter_email", bad)
            .finish();
        let r = b.request("POST", "/report", Some(&ct), body).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert!(
            r.body.contains(
                "<a href=\"#reporter_email\">E-mail address</a> contains control characters"
            ),
            "{}",
            r.body
        );
        for kept in ["Kept title", "Kept product", "Rita Reporter"] {
            assert!(r.body.contains(kept), "{kept}");
        }
        assert!(
            !r.body.contains(['\0', '\u{1}', '\u{1b}']),
            "the invisible characters are not shown back"
        );
        assert!(r.body.contains("example.org"));
    }
    assert!(app
        .store
        .list_reports(Default::default())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_form_keeps_input_and_explains_each_error() {
    let app = TestApp::new().await;
    let mut b = app.browser();
    let token = b.csrf().await;
    let (ct, body) = Multipart::new()
        .text("csrf", &token)
        .text("title", "My <b>title</b>")
        .text("description", "too short")
        .text("reporter_email", "not-an-email")
        .finish();
    let r = b.request("POST", "/report", Some(&ct), body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("My &#60;b&#62;title&#60;/b&#62;"),
        "typed text kept and escaped"
    );
    assert!(r.body.contains("not-an-email"));
    assert!(r.body.contains("is required: which software is affected?"));
    assert!(r.body.contains("is not an e-mail address"));
    assert!(app
        .store
        .list_reports(Default::default())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn the_form_refuses_a_missing_token_but_keeps_the_text() {
    let app = TestApp::new().await;
    let mut b = app.browser();
    let (ct, body) = Multipart::new()
        .text("title", "Kept title")
        .text("product", "Prosody")
        .text("description", DESCRIPTION)
        .finish();
    let r = b.request("POST", "/report", Some(&ct), body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Kept title"));
    assert!(r.body.contains("this form expired"));
    // Sending again from the re-rendered page works.
    let token = csrf_from(&r.body);
    let (ct, body) = Multipart::new()
        .text("csrf", &token)
        .text("title", "Kept title")
        .text("product", "Prosody")
        .text("description", DESCRIPTION)
        .finish();
    let r = b.request("POST", "/report", Some(&ct), body).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn invalid_utf8_in_a_form_field_is_reported_not_fatal() {
    let app = TestApp::new().await;
    let mut b = app.browser();
    let token = b.csrf().await;
    let (ct, body) = Multipart::new()
        .text("csrf", &token)
        .text("title", "Fine title")
        .raw("product", b"Pros\xffody")
        .text("description", DESCRIPTION)
        .finish();
    let r = b.request("POST", "/report", Some(&ct), body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("is not valid UTF-8"));
    assert!(r.body.contains("Fine title"));
}

#[tokio::test]
async fn a_form_report_with_attachment_reaches_the_member_safely() {
    let app = TestApp::new().await;
    let mut reporter = app.browser();
    let token = reporter.csrf().await;
    let (ct, body) = Multipart::new()
        .text("csrf", &token)
        .text("title", "XSS <img src=x onerror=alert(1)>")
        .text("product", "Converse.js")
        .text("description", DESCRIPTION)
        .text("already_public", "yes")
        .text("public_where", "https://example.org/post")
        .file(
            "attachments",
            "exploit.html",
            "text/html",
            b"<script>alert(1)</script>",
        )
        .finish();
    let r = reporter.request("POST", "/report", Some(&ct), body).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let tracking = r.location();
    assert!(tracking.starts_with("/track/") && tracking.ends_with("?received=1"));
    let page = reporter.get(&tracking).await;
    assert!(page.body.contains("your report REP-1 was received"));

    let mut member = app.signed_in("mia", Role::Member).await;
    let view = member.get("/desk/reports/1").await;
    assert_eq!(view.status, StatusCode::OK);
    assert!(
        !view.body.contains("<script>alert"),
        "payload must be escaped"
    );
    assert!(!view.body.contains("<img src=x"), "payload must be escaped");
    assert!(view.body.contains("&#60;script&#62;"));
    assert!(view.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let file = member.get("/desk/reports/1/attachments/1").await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(
        file.headers[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    assert_eq!(
        file.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"exploit.html\""
    );
    assert_eq!(file.bytes, b"<script>alert(1)</script>");
    assert_eq!(
        member.get("/desk/reports/2/attachments/1").await.status,
        StatusCode::NOT_FOUND
    );
    let events = app
        .store
        .audit_events_for_report(ReportId(1))
        .await
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.is(AuditAction::AttachmentDownloaded)));
}

#[tokio::test]
async fn the_tracking_page_shows_shared_messages_only() {
    let app = TestApp::new().await;
    let (token, id) = api_report(&app, "Leaky", "A description that is long enough.").await;
    let mut member = app.signed_in("mia", Role::Member).await;
    let page = format!("/desk/reports/{id}");
    let r = member
        .submit(
            &page,
            &format!("{page}/messages"),
            &[
                ("visibility", "internal"),
                ("body", "SECRET-NOTE vendor is X"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = member
        .submit(
            &page,
            &format!("{page}/messages"),
            &[("visibility", "reporter"), ("body", "We reproduced it.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mut reporter = app.browser();
    let track = reporter.get(&format!("/track/{token}")).await;
    assert!(track.body.contains("We reproduced it."));
    assert!(!track.body.contains("SECRET-NOTE"));
    assert!(
        !track.body.contains("mia"),
        "member names are not shown to reporters"
    );
    // The reporter answers; the member sees it flagged in the queue.
    let r = reporter
        .submit(
            &format!("/track/{token}"),
            &format!("/track/{token}/messages"),
            &[("body", "Thanks!")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let queue = member.get("/desk").await;
    assert!(queue.body.contains("reporter wrote"));
    // An empty reply keeps the page and says why.
    let r = reporter
        .submit(
            &format!("/track/{token}"),
            &format!("/track/{token}/messages"),
            &[("body", "  ")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reporter.get("/track/wrong").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let app = TestApp::with_config(WebConfig {
        reports_per_ip_per_hour: 1,
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..Default::default()
    })
    .await;
    let body = serde_json::json!({"title": "t", "product": "p", "description": "A description that is long enough."}).to_string();
    let send = |client: &'static str| {
        let body = body.clone();
        let app = &app;
        async move {
            app.send(
                Request::post("/api/v1/reports")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header("x-forwarded-for", client)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .status
        }
    };
    assert_eq!(send("198.51.100.1").await, StatusCode::CREATED);
    assert_eq!(
        send("198.51.100.2").await,
        StatusCode::CREATED,
        "another client"
    );
    assert_eq!(send("198.51.100.1").await, StatusCode::TOO_MANY_REQUESTS);
}

/// The seconds of a reply's `Retry-After`.
fn retry_after(r: &support::Reply) -> u64 {
    r.headers
        .get(header::RETRY_AFTER)
        .unwrap_or_else(|| panic!("a {} without Retry-After: {}", r.status, r.body))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// What every 503 of the desk asks a client to wait, in seconds.
const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 30;

/// Makes the store's one writer connection refuse every write (SQLite
/// answers code 8, read-only, as for a read-only file), and checks it does.
async fn refuse_writes(app: &TestApp) {
    app.store
        .execute_raw_for_tests("PRAGMA query_only = ON")
        .await
        .unwrap();
    let refused = app
        .store
        .execute_raw_for_tests("INSERT INTO setup_tokens (token_hash, expires_at) VALUES ('x', 1)")
        .await;
    assert!(
        matches!(&refused, Err(cnadesk_store::StoreError::Unavailable(reason)) if reason.contains("read-only")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn when_nothing_can_be_stored_the_form_and_the_reply_say_so_and_keep_the_text() {
    let app = TestApp::new().await;
    let (token, id) = api_report(&app, "Stored before", "A description that is long enough.").await;
    let track = format!("/track/{token}");
    let mut reporter = app.browser();
    let reply_csrf = csrf_from(&reporter.get(&track).await.body);
    let mut b = app.browser();
    let form_csrf = b.csrf().await;

    // The report form: a 503 that says when, NOT received, text kept.
    refuse_writes(&app).await;
    let (ct, body) = Multipart::new()
        .text("csrf", &form_csrf)
        .text("title", "Typed while the disk is full")
        .text("product", "Prosody")
        .text("description", DESCRIPTION)
        .text("reporter_email", "rita@example.org")
        .finish();
    let r = b.request("POST", "/report", Some(&ct), body).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(retry_after(&r), UNAVAILABLE_RETRY_AFTER_SECS);
    assert!(
        r.body.contains("Your report has NOT been received."),
        "{}",
        r.body
    );
    for kept in [
        "Typed while the disk is full",
        "Prosody",
        "rita@example.org",
    ] {
        assert!(r.body.contains(kept), "{kept}: {}", r.body);
    }

    // The tracking page's reply: the same, NOT sent, text kept.
    refuse_writes(&app).await;
    let r = reporter
        .post_form(
            &format!("{track}/messages"),
            &[("csrf", &reply_csrf), ("body", "My reply, typed once")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(retry_after(&r), UNAVAILABLE_RETRY_AFTER_SECS);
    assert!(
        r.body.contains("Your message has NOT been sent"),
        "{}",
        r.body
    );
    assert!(r.body.contains("My reply, typed once"), "{}", r.body);

    // The API too.
    refuse_writes(&app).await;
    let body = serde_json::json!({"title": "T", "product": "p", "description": DESCRIPTION});
    let r = post_json(&app, "application/json", body.to_string()).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "unavailable");
    assert_eq!(retry_after(&r), UNAVAILABLE_RETRY_AFTER_SECS);

    // Nothing was kept; once writes work again, the same reply goes through.
    app.store
        .execute_raw_for_tests("PRAGMA query_only = OFF")
        .await
        .unwrap();
    let reports = app.store.list_reports(Default::default()).await.unwrap();
    assert_eq!(reports.len(), 1, "only the report stored before");
    let messages = app.store.messages(ReportId(id), true).await.unwrap();
    assert!(messages.is_empty(), "{messages:?}");
    let r = reporter
        .post_form(
            &format!("{track}/messages"),
            &[("csrf", &reply_csrf), ("body", "My reply, typed once")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        app.store.messages(ReportId(id), true).await.unwrap().len(),
        1
    );
}

#[tokio::test]
async fn reporter_replies_are_rate_limited_and_keep_the_text() {
    let app = TestApp::with_config(WebConfig {
        replies_per_hour: 2,
        ..Default::default()
    })
    .await;
    let (token, id) = api_report(&app, "Replies", "A description that is long enough.").await;
    let track = format!("/track/{token}");
    let mut reporter = app.browser();
    for body in ["first", "second"] {
        let r = reporter
            .submit(&track, &format!("{track}/messages"), &[("body", body)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let r = reporter
        .submit(
            &track,
            &format!("{track}/messages"),
            &[("body", "third, typed with care")],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(
        (3500..=3600).contains(&retry_after(&r)),
        "{}",
        retry_after(&r)
    );
    assert!(r.body.contains("has NOT been sent"), "{}", r.body);
    assert!(
        r.body.contains("third, typed with care"),
        "the text is kept"
    );
    let stored = app.store.messages(ReportId(id), false).await.unwrap();
    assert_eq!(stored.len(), 2, "the third was not stored");
}
