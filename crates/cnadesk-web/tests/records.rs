//! The CVE record of a case: from case data to a valid, lint-clean record
//! with no hand-typed JSON, checked beside the fields, saved as immutable
//! versions, compared, and exported as CVE JSON, OSV and CSAF.

mod support;

use axum::http::StatusCode;
use cnadesk_core::audit::AuditAction;
use cnadesk_core::{CaseId, Role};
use cnadesk_cve::{csaf, lint, osv, LintContext, SchemaSet};
use cnadesk_store::prelude::*;
use support::{carbons_case, Browser, TestApp};

/// What a member fills in on top of the prefilled form.
fn complete(cve: &str) -> Vec<(&'static str, String)> {
    [
        ("cve_id", cve),
        ("title", "Message carbons spoofing in Prosody"),
        (
            "description",
            "Prosody before 0.12.4 accepts message carbons from any sender, which allows remote \
             attackers to inject messages into a conversation.",
        ),
        ("cwe_id", "CWE-346"),
        ("cwe_name", "Origin Validation Error"),
        (
            "cvss_vector",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N",
        ),
        ("date_public", "2026-11-20"),
        ("a0_vendor", "Prosody"),
        ("a0_product", "Prosody"),
        ("a0_repo", "https://hg.prosody.im/0.12/"),
        ("a0_introduced", "0.12.0"),
        ("a0_fixed", "0.12.4"),
        ("a0_vtype", "semver"),
        ("a1_vendor", ""),
        ("r0_url", "https://prosody.im/security/advisory_20261120/"),
        ("r0_tags", "vendor-advisory, patch"),
        ("c0_name", "Rita Reporter"),
        ("c0_type", "finder"),
        ("t0_date", "2026-11-01"),
        ("t0_text", "Reported to the XSF CNA"),
        ("note", "first draft"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

fn with(
    mut fields: Vec<(&'static str, String)>,
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    fields.retain(|(k, _)| *k != key);
    fields.push((key, value.to_owned()));
    fields
}

async fn post_record(
    member: &mut Browser<'_>,
    case: i64,
    action: &str,
    based_on: i64,
    fields: &[(&'static str, String)],
) -> support::Reply {
    let editor = format!("/desk/cases/{case}/record");
    let based = based_on.to_string();
    let mut all: Vec<(&str, &str)> = vec![("action", action), ("based_on", &based)];
    all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
    member.submit(&editor, &editor, &all).await
}

/// The HTML of the element with this id, up to the next row.
fn block<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &html[start..];
    let end = rest[1..]
        .find("class=\"row")
        .map(|e| e + 1)
        .unwrap_or(rest.len());
    &rest[..end]
}

#[tokio::test]
async fn a_case_becomes_a_valid_record_and_exports_without_typing_json() {
    let app = TestApp::new().await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let n = carbons_case(&app, &mut mia, "Carbons spoofing").await;

    // The editor starts from what the case knows.
    let editor = mia.get(&format!("/desk/cases/{n}/record")).await;
    assert_eq!(editor.status, StatusCode::OK);
    assert!(editor
        .body
        .contains(r#"name="title" value="Carbons spoofing""#));
    assert!(editor
        .body
        .contains("Message carbons from any sender are accepted"));
    // The product as the registry names it (from the scope decision), with its repository.
    assert!(editor
        .body
        .contains(r#"name="a0_product" value="Prosody IM""#));
    assert!(editor
        .body
        .contains(r#"name="a0_repo" value="https://hg.prosody.im/trunk/""#));
    assert!(editor
        .body
        .contains("Reported to the XMPP Standards Foundation CNA"));
    assert!(editor.body.contains("No version saved yet"));

    let r = post_record(&mut mia, n, "save", 0, &complete("cve-2026-10001")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/desk/cases/{n}/record/versions/1"));

    let versions = app.store.record_versions(CaseId(n)).await.unwrap();
    assert_eq!(versions.len(), 1);
    assert!(versions[0].publishable(), "{:?}", versions[0]);
    assert_eq!(versions[0].note, "first draft");
    let case = app.store.case(CaseId(n)).await.unwrap().unwrap();
    assert_eq!(
        case.cve_id.unwrap().as_str(),
        "CVE-2026-10001",
        "canonical form"
    );

    let page = mia.get(&r.location()).await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = editor.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(page
        .body
        .contains("valid against the CVE schema; lint: 0 errors, 0 warnings"));
    assert!(page.body.contains("Message carbons spoofing in Prosody"));
    assert!(page.body.contains("from 0.12.0 before 0.12.4"));
    assert!(
        page.body.contains("<strong>Prosody</strong>"),
        "vendor = product shown once"
    );
    assert!(page.body.contains("2026-11-01: Reported to the XSF CNA"));
    assert!(
        page.body.contains("6.5 MEDIUM"),
        "score computed from the vector"
    );

    // Exports, each checked against its official schema.
    let base = format!("/desk/cases/{n}/record/versions/1");
    let record = mia.get(&format!("{base}/record.json")).await;
    assert_eq!(record.status, StatusCode::OK);
    assert!(record
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("CVE-2026-10001.v1.record.json"));
    let record = record.json();
    assert!(SchemaSet::default_set().validate(&record).is_empty());
    assert!(lint(&record, &LintContext::default()).is_empty());
    assert_eq!(
        record["containers"]["cna"]["affected"][0]["versions"][0]["lessThan"],
        "0.12.4"
    );
    assert_eq!(
        record["containers"]["cna"]["credits"][0]["value"],
        "Rita Reporter"
    );

    let cna = mia.get(&format!("{base}/cna.json")).await.json();
    assert_eq!(cna["cnaContainer"], record["containers"]["cna"]);

    let osv_doc = mia.get(&format!("{base}/osv.json")).await.json();
    assert!(osv::validate_osv(&osv_doc).is_empty(), "{osv_doc:#}");
    assert!(osv_doc.to_string().contains("CVE-2026-10001"));

    let csaf_doc = mia.get(&format!("{base}/csaf.json")).await.json();
    assert!(
        csaf::validate_csaf_schema(&csaf_doc).is_empty(),
        "{csaf_doc:#}"
    );
    assert!(csaf::mandatory_tests(&csaf_doc).is_empty());
    assert_eq!(csaf_doc["vulnerabilities"][0]["cve"], "CVE-2026-10001");

    assert_eq!(
        mia.get(&format!("{base}/nope.json")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        mia.get(&format!("/desk/cases/{n}/record/versions/2"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // The case page shows the record's state and the audit trail has the save.
    let report = case.report_id.0;
    let case_page = mia.get(&format!("/desk/reports/{report}")).await;
    assert!(case_page.body.contains("version 1, valid and lint-clean"));
    let events = app
        .store
        .audit_events_for_report(case.report_id)
        .await
        .unwrap();
    let saved = events
        .iter()
        .find(|e| e.is(AuditAction::RecordVersionSaved))
        .expect("audited");
    assert_eq!(saved.payload["sha256"], versions[0].sha256.as_str());
}

#[tokio::test]
async fn check_shows_findings_beside_their_fields_and_saves_nothing() {
    let app = TestApp::new().await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let n = carbons_case(&app, &mut mia, "Carbons spoofing").await;
    let fields = with(
        with(
            complete("CVE-2026-10001"),
            "r0_url",
            "https://example.com/advisory",
        ),
        "a0_vtype",
        "",
    );
    let r = post_record(&mut mia, n, "check", 0, &fields).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Checked, not saved"));
    let reference = block(&r.body, "reference-0");
    assert!(
        reference.contains("reference-placeholder-url"),
        "the placeholder URL finding sits beside the reference: {reference}"
    );
    let affected = block(&r.body, "affected-0");
    assert!(
        affected.contains("issue error"),
        "a range without a version scheme is flagged on its row: {affected}"
    );
    assert!(
        !block(&r.body, "credit-0").contains("issue "),
        "no finding on a good row"
    );
    // What was typed is still there.
    assert!(r.body.contains(r#"value="https://example.com/advisory""#));
    assert!(app
        .store
        .record_versions(CaseId(n))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_beside_the_field_and_kept() {
    let app = TestApp::new().await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let n = carbons_case(&app, &mut mia, "Carbons spoofing").await;
    let fields = with(
        with(complete("CVE-26-1"), "cvss_vector", "CVSS:3.1/AV:N/AC:Q"),
        "description",
        "Kept <b>exactly</b> as typed, even when the form is refused.",
    );
    let r = post_record(&mut mia, n, "save", 0, &fields).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Not saved"));
    assert!(r.body.contains("is not a CVE ID"));
    assert!(r.body.contains("The CVSS vector does not parse"));
    assert!(r.body.contains(r#"value="CVSS:3.1/AV:N/AC:Q""#));
    assert!(r
        .body
        .contains("Kept &#60;b&#62;exactly&#60;/b&#62; as typed"));
    assert!(!r.body.contains("<b>exactly</b>"), "escaped");
    assert!(app
        .store
        .record_versions(CaseId(n))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        app.store.case(CaseId(n)).await.unwrap().unwrap().cve_id,
        None
    );
}

#[tokio::test]
async fn a_stale_save_is_refused_and_the_edit_kept() {
    let app = TestApp::new().await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let mut bob = app.signed_in("bob", Role::Member).await;
    let n = carbons_case(&app, &mut mia, "Carbons spoofing").await;
    let r = post_record(&mut bob, n, "save", 0, &complete("CVE-2026-10001")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Mia started before Bob saved.
    let mine = with(
        with(complete("CVE-2026-10001"), "title", "Mia's better title"),
        "note",
        "mia\u{0}'s title",
    );
    let r = post_record(&mut mia, n, "save", 0, &mine).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("someone saved version 1"));
    assert!(
        r.body.contains("Mia&#39;s better title"),
        "her edit is kept"
    );
    assert!(r.body.contains(r#"name="based_on" value="1""#));
    assert_eq!(app.store.record_versions(CaseId(n)).await.unwrap().len(), 1);
    // Saving again on top of Bob's version works, and his stays in the history.
    let r = post_record(&mut mia, n, "save", 1, &mine).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let all = app.store.record_versions(CaseId(n)).await.unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].document.contains("Mia's better title"));
    assert_eq!(
        all[0].note, "mia's title",
        "control characters dropped from the note"
    );
    assert!(!all[1].document.contains("Mia's better title"));
}

#[tokio::test]
async fn json_edits_survive_form_saves_and_diffs_show_changes() {
    let app = TestApp::new().await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let n = carbons_case(&app, &mut mia, "Carbons spoofing").await;
    let r = post_record(&mut mia, n, "save", 0, &complete("CVE-2026-10001")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);

    // An expert adds a field the form has no place for.
    let raw = format!("/desk/cases/{n}/record/json");
    let page = mia.get(&raw).await;
    assert_eq!(page.status, StatusCode::OK);
    let v1 = app
        .store
        .record_version(CaseId(n), 1)
        .await
        .unwrap()
        .unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(&v1.document).unwrap();
    doc["solutions"] = serde_json::json!([{"lang": "en", "value": "Upgrade to 0.12.4."}]);
    let json = serde_json::to_string_pretty(&doc).unwrap();
    let r = mia
        .submit(
            &raw,
            &raw,
            &[
                ("action", "save"),
                ("based_on", "1"),
                ("cve_id", "CVE-2026-10001"),
                ("json", &json),
                ("note", "solution added"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The form still edits the record, and keeps the solution.
    let editor = mia.get(&format!("/desk/cases/{n}/record")).await;
    assert!(editor.body.contains("Editing version 2"));
    let history = block(&editor.body, "versions");
    assert!(
        history.contains("v2") && history.contains("solution added"),
        "{history}"
    );
    assert!(history.contains("valid against the CVE schema; lint: 0 errors, 0 warnings"));
    assert!(
        !editor.body.contains("record-lossy"),
        "nothing the form would lose"
    );
    let fields = with(
        complete("CVE-2026-10001"),
        "title",
        "Carbons spoofing, renamed",
    );
    let r = post_record(&mut mia, n, "save", 2, &fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let v3 = app
        .store
        .record_version(CaseId(n), 3)
        .await
        .unwrap()
        .unwrap();
    assert!(
        v3.document.contains("Upgrade to 0.12.4."),
        "{}",
        v3.document
    );
    assert!(v3.document.contains("Carbons spoofing, renamed"));

    let diff = mia
        .get(&format!("/desk/cases/{n}/record/diff?from=2&to=3"))
        .await;
    assert_eq!(diff.status, StatusCode::OK);
    assert!(
        diff.body
            .contains(r#"<span class="del">-   &#34;title&#34;: &#34;Message carbons spoofing in Prosody&#34;"#),
        "{}",
        diff.body
    );
    assert!(diff
        .body
        .contains(r#"<span class="ins">+   &#34;title&#34;: &#34;Carbons spoofing, renamed&#34;"#));
    let same = mia
        .get(&format!("/desk/cases/{n}/record/diff?from=3&to=3"))
        .await;
    assert!(same.body.contains("The two versions are identical"));
    assert_eq!(
        mia.get(&format!("/desk/cases/{n}/record/diff?from=1&to=9"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A version with content the form cannot show is flagged before a form save.
    let mut doc: serde_json::Value = serde_json::from_str(&v3.document).unwrap();
    doc["descriptions"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({"lang": "de", "value": "Nachrichten können gefälscht werden."}));
    let r = mia
        .submit(
            &raw,
            &raw,
            &[
                ("action", "save"),
                ("based_on", "3"),
                ("cve_id", "CVE-2026-10001"),
                ("json", &doc.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let editor = mia.get(&format!("/desk/cases/{n}/record")).await;
    assert!(editor.body.contains("record-lossy"));
    assert!(block(&editor.body, "record-lossy").contains("<code>descriptions</code>"));
}

#[tokio::test]
async fn raw_json_mistakes_are_explained_and_the_text_kept() {
    let app = TestApp::new().await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let n = carbons_case(&app, &mut mia, "Carbons spoofing").await;
    let raw = format!("/desk/cases/{n}/record/json");
    let broken = "{\n  \"title\": \"x\",\n  oops\n}";
    let r = mia
        .submit(
            &raw,
            &raw,
            &[
                ("action", "save"),
                ("cve_id", "CVE-2026-10001"),
                ("json", broken),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("does not parse at line 3"), "{}", r.body);
    assert!(r.body.contains("  oops\n}</textarea>"), "the text is kept");

    // Schema problems are named by pointer.
    let r = mia
        .submit(
            &raw,
            &raw,
            &[
                ("action", "check"),
                ("cve_id", "CVE-2026-10001"),
                ("json", r#"{"providerMetadata": {"orgId": "00000000-0000-4000-8000-000000000000"}, "affected": [], "references": []}"#),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("schema error"));
    assert!(
        r.body.contains("data-pointer=\"/containers/cna"),
        "{}",
        r.body
    );
    assert!(app
        .store
        .record_versions(CaseId(n))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_cve_id_belongs_to_one_case() {
    let app = TestApp::new().await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let one = carbons_case(&app, &mut mia, "First").await;
    let two = carbons_case(&app, &mut mia, "Second").await;
    let r = post_record(&mut mia, one, "save", 0, &complete("CVE-2026-10001")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = post_record(&mut mia, two, "save", 0, &complete("CVE-2026-10001")).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let beside =
        &r.body[r.body.find("id=\"cve_id\"").unwrap()..r.body.find("id=\"title\"").unwrap()];
    assert!(
        beside.contains("belongs to"),
        "the error sits beside the CVE ID: {beside}"
    );
    assert!(
        r.body
            .contains(&format!("CVE-2026-10001 belongs to CASE-{one}")),
        "{}",
        r.body
    );
    assert!(app
        .store
        .record_versions(CaseId(two))
        .await
        .unwrap()
        .is_empty());
}
