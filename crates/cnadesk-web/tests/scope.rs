//! Scope in triage: the proposal on the report page, confirming or
//! overriding it, acceptance gated on it; and the public /scope page.

mod support;

use axum::http::StatusCode;
use cnadesk_core::audit::AuditAction;
use cnadesk_core::{ReportId, Role};
use cnadesk_scope::Decision;
use cnadesk_store::prelude::*;
use support::{api_report_about, TestApp};

async fn report(app: &TestApp, product: &str, description: &str) -> i64 {
    api_report_about(app, product, &format!("A flaw in {product}"), description)
        .await
        .1
}

/// Posts the accept form of a report.
async fn accept(member: &mut support::Browser<'_>, id: i64, title: &str) -> support::Reply {
    member
        .submit(
            &format!("/desk/reports/{id}"),
            &format!("/desk/reports/{id}/accept"),
            &[("title", title)],
        )
        .await
}

/// Accepts a report and opens its case's record editor.
async fn accept_and_open_record(
    app: &TestApp,
    member: &mut support::Browser<'_>,
    id: i64,
) -> String {
    let case = support::accept_as_case(app, member, id, "Crash").await;
    member.get(&format!("/desk/cases/{case}/record")).await.body
}

#[tokio::test]
async fn an_in_scope_proposal_is_confirmed_by_accepting() {
    let app = TestApp::new().await;
    let id = report(
        &app,
        "Prosody IM 0.12",
        "A crafted stanza crashes the server.",
    )
    .await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let page = ada.get(&format!("/desk/reports/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"id="scope-decision">In scope</span>"#),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains(r#"<code id="scope-rule">xsf-listed</code>"#));
    assert!(page
        .body
        .contains("Prosody IM is an XMPP server (listed on xmpp.org); it is in scope."));

    let r = accept(&mut ada, id, "Stanza crash").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let decisions = app.store.scope_decisions(ReportId(id)).await.unwrap();
    assert_eq!(decisions.len(), 1);
    let d = &decisions[0];
    assert_eq!(
        (d.decision, d.rule.as_deref(), d.policy_version.as_str()),
        (Decision::InScope, Some("xsf-listed"), "2026.1")
    );
    assert_eq!(d.product_key.as_deref(), Some("prosody-im"));
    assert!(!d.overridden);
    assert_eq!(d.input["product"], "Prosody IM 0.12");
    let page = ada.get(&format!("/desk/reports/{id}")).await;
    assert!(
        page.body.contains(r#"id="scope-recorded""#),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains(r#"id="scope-form""#),
        "decided in triage only"
    );
}

#[tokio::test]
async fn a_referral_must_be_decided_before_anything_is_accepted() {
    let app = TestApp::new().await;
    let id = report(
        &app,
        "Mozilla Thunderbird",
        "The chat account can be spoofed.",
    )
    .await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let page = ada.get(&format!("/desk/reports/{id}")).await;
    assert!(page.body.contains("Refer to another CNA"), "{}", page.body);
    assert!(page.body.contains("Mozilla Corporation (mozilla)"));
    assert!(page.body.contains(r#"name="referral" value="mozilla""#));

    // Accepting is refused: the proposal is not "in scope".
    let r = accept(&mut ada, id, "Spoofing").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("record a scope decision"), "{}", r.body);
    assert!(app
        .store
        .case_for_report(ReportId(id))
        .await
        .unwrap()
        .is_none());

    // Confirming the referral as proposed.
    let r = ada
        .submit(
            &format!("/desk/reports/{id}"),
            &format!("/desk/reports/{id}/scope"),
            &[
                ("decision", "refer"),
                ("rule", "vendor-is-cna"),
                ("referral", "mozilla"),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let d = &app.store.scope_decisions(ReportId(id)).await.unwrap()[0];
    assert_eq!(d.referral_cna.as_deref(), Some("mozilla"));
    assert!(!d.overridden);
    // The close form now proposes closing as out of scope, naming the CNA.
    let page = ada.get(&format!("/desk/reports/{id}")).await;
    assert!(
        page.body
            .contains(r#"<option value="out_of_scope" selected>"#),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("Referred to mozilla (rule vendor-is-cna, policy 2026.1)."));
    // And accepting is refused by the store as well.
    let r = accept(&mut ada, id, "Spoofing").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("`refer`"), "{}", r.body);
}

#[tokio::test]
async fn overriding_needs_a_reason_and_keeps_what_was_typed() {
    let app = TestApp::new().await;
    let id = report(
        &app,
        "Mozilla Thunderbird",
        "The chat account can be spoofed.",
    )
    .await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let page = format!("/desk/reports/{id}");
    let action = format!("/desk/reports/{id}/scope");

    let r = ada
        .submit(
            &page,
            &action,
            &[
                ("decision", "in_scope"),
                ("rule", "xsf-listed"),
                ("referral", ""),
                ("reason", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("departs from the proposal"), "{}", r.body);
    assert!(r.body.contains(r#"<option value="in_scope" selected>"#));
    assert!(r.body.contains(r#"<option value="xsf-listed" selected>"#));

    for (fields, message) in [
        (vec![("decision", "maybe")], "Choose a decision"),
        (
            vec![("decision", "in_scope"), ("rule", "no-such-rule")],
            "is not a rule of policy 2026.1",
        ),
        (
            vec![("decision", "refer"), ("referral", "nosuchcna")],
            "not a CNA short name",
        ),
    ] {
        let r = ada.submit(&page, &action, &fields).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(r.body.contains(message), "{message}: {}", r.body);
    }
    assert!(app
        .store
        .scope_decisions(ReportId(id))
        .await
        .unwrap()
        .is_empty());

    let reason = "The XMPP code in Thunderbird is maintained by an XSF member project";
    let r = ada
        .submit(
            &page,
            &action,
            &[
                ("decision", "in_scope"),
                ("rule", ""),
                ("referral", ""),
                ("reason", reason),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let d = &app.store.scope_decisions(ReportId(id)).await.unwrap()[0];
    assert!(d.overridden);
    assert_eq!(d.reason, reason);
    assert_eq!(d.proposal["decision"], "refer");
    let events = app
        .store
        .audit_events_for_report(ReportId(id))
        .await
        .unwrap();
    let e = events
        .iter()
        .find(|e| e.is(AuditAction::ScopeDecided))
        .unwrap();
    assert_eq!(e.payload["overridden"], true);
    assert_eq!(e.payload["proposed"], "refer");
    // Now the report can be accepted.
    let r = accept(&mut ada, id, "Spoofing").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn the_public_scope_page_is_the_policy_file() {
    let app = TestApp::new().await;
    let mut anon = app.browser();
    let r = anon.get("/scope").await;
    assert_eq!(r.status, StatusCode::OK);
    let policy = cnadesk_scope::Policy::default_xsf();
    assert!(r
        .body
        .contains(r#"<strong id="policy-version">2026.1</strong>"#));
    for rule in &policy.rules {
        let question = rule.question.replace('\'', "&#39;");
        assert!(r.body.contains(&question), "{} missing", rule.question);
        assert!(r.body.contains(&format!(r#"id="rule-{}""#, rule.id)));
    }
    assert!(
        r.body.contains("OpenSSL Software Foundation"),
        "components name their CNA"
    );
    let r = anon.get("/scope?product=Cheogram+Android").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(r#"id="check-result""#));
    assert!(r.body.contains("is a fork of Conversations"), "{}", r.body);
    assert!(
        !r.body.contains("/desk/ecosystem"),
        "no links into the desk for the public"
    );
}

#[tokio::test]
async fn an_abandoned_product_starts_its_record_tagged_unsupported_when_assigned() {
    let app = TestApp::new().await;
    let id = report(
        &app,
        "as3xmppclient",
        "A crafted stanza crashes the client.",
    )
    .await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let page = ada.get(&format!("/desk/reports/{id}")).await;
    assert!(
        page.body
            .contains(r#"<code id="scope-rule">abandoned</code>"#),
        "{}",
        page.body
    );
    let editor = accept_and_open_record(&app, &mut ada, id).await;
    assert!(
        editor.contains(r#"name="unsupported_when_assigned" value="1" checked"#),
        "{editor}"
    );
    assert!(editor.contains(r#"name="a0_repo" value="https://github.com/lyokato/as3xmppclient""#));

    // A listed product does not get the tag.
    let id = report(&app, "Dino", "A crafted stanza crashes the client.").await;
    let editor = accept_and_open_record(&app, &mut ada, id).await;
    assert!(
        editor.contains(r#"name="unsupported_when_assigned" value="1" >"#),
        "the box is there, unticked: {editor}"
    );
    assert!(editor.contains(r#"name="a0_product" value="Dino""#));
}

#[tokio::test]
async fn earlier_policy_versions_stay_readable_as_adopted() {
    let app = TestApp::new().await;
    let actor = cnadesk_core::Actor::system("serve");
    let old = cnadesk_scope::DEFAULT_POLICY
        .replace("version = \"2026.1\"", "version = \"2025.9\"")
        .replace(
            "Are forks in scope?",
            "Are forks of listed projects in scope?",
        );
    app.store
        .adopt_scope_policy("2025.9", "2025-09-01", &old, &actor, 1_000)
        .await
        .unwrap();
    app.store
        .adopt_scope_policy(
            "2026.1",
            "2026-12-01",
            cnadesk_scope::DEFAULT_POLICY,
            &actor,
            2_000,
        )
        .await
        .unwrap();
    let mut anon = app.browser();
    let r = anon.get("/scope").await;
    assert!(
        r.body
            .contains(r#"<a href="/scope?version=2025.9">2025.9</a>"#),
        "{}",
        r.body
    );
    assert!(!r.body.contains(r#"id="superseded""#));
    let r = anon.get("/scope?version=2025.9").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(r#"id="superseded""#));
    assert!(r.body.contains("Are forks of listed projects in scope?"));
    assert!(r
        .body
        .contains(r#"<strong id="policy-version">2025.9</strong>"#));
    assert_eq!(
        anon.get("/scope?version=1999.1").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn the_public_check_never_uses_the_teams_annotations() {
    let app = TestApp::new().await;
    let member = app.user("bob", Role::Member).await;
    let actor = cnadesk_core::Actor::Member {
        id: member.id,
        username: member.username.clone(),
    };
    // A product a member added while triaging an embargoed report, and a
    // vendor contact on a listed one.
    app.store
        .save_product_annotation(
            "secret-gateway",
            serde_json::json!({ "name": "Secret Gateway", "added": true, "categories": ["component"] }),
            &actor,
            1,
        )
        .await
        .unwrap();
    app.store
        .save_product_annotation(
            "dino",
            serde_json::json!({ "name": "Dino", "vendor_contacts": ["security-private@dino.example"], "aliases": ["Moonbeam Chat"] }),
            &actor,
            2,
        )
        .await
        .unwrap();
    let mut anon = app.browser();
    let r = anon.get("/scope?product=Secret+Gateway").await;
    assert!(r.body.contains("matches no product"), "{}", r.body);
    assert!(!r.body.contains("added to the registry by the team"));
    let r = anon.get("/scope?product=Moonbeam+Chat").await;
    assert!(!r.body.contains("security-private@dino.example"));
    assert!(
        r.body.contains("matches no product"),
        "the team's alias is not public"
    );
    // The desk itself does use them.
    let id = report(
        &app,
        "Secret Gateway",
        "A crafted stanza crashes the gateway.",
    )
    .await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let page = ada.get(&format!("/desk/reports/{id}")).await;
    assert!(
        page.body.contains("Secret Gateway is an XMPP component"),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn an_ambiguous_report_is_resolved_by_choosing_the_product() {
    let app = TestApp::new().await;
    let id = report(&app, "Swift", "A crafted stanza crashes it.").await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let page = format!("/desk/reports/{id}");
    let action = format!("/desk/reports/{id}/scope");
    let body = ada.get(&page).await.body;
    assert!(body.contains("Needs a human"), "{body}");
    assert!(
        body.contains(r#"<option value="swift-https-swift-im-swift-html" >Swift</option>"#),
        "{body}"
    );

    // A rule that decides something else is refused.
    let r = ada
        .submit(
            &page,
            &action,
            &[
                ("decision", "out_of_scope"),
                ("rule", "xsf-listed"),
                ("product", "swift-https-swift-im-swift-html"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("Rule `xsf-listed` decides “In scope”"),
        "{}",
        r.body
    );
    let r = ada
        .submit(
            &page,
            &action,
            &[
                ("decision", "in_scope"),
                ("rule", "xsf-listed"),
                ("product", "no-such-product"),
                ("reason", "x"),
            ],
        )
        .await;
    assert!(
        r.body
            .contains("`no-such-product` is not a product in the registry."),
        "{}",
        r.body
    );

    let r = ada
        .submit(
            &page,
            &action,
            &[
                ("decision", "in_scope"),
                ("rule", "xsf-listed"),
                ("product", "swift-https-swift-im-swift-html"),
                (
                    "reason",
                    "The reporter means the desktop client of swift.im",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let d = &app.store.scope_decisions(ReportId(id)).await.unwrap()[0];
    assert_eq!(
        d.product_key.as_deref(),
        Some("swift-https-swift-im-swift-html")
    );
    assert!(d.overridden);
}
