//! One test per lint rule: a known-good container passes clean, and each
//! mutation produces exactly the finding it should.

use cnadesk_cve::lint::{compare_versions, is_placeholder_url};
use cnadesk_cve::{lint, LintContext, SchemaSet, Severity};
use serde_json::{json, Value};

fn good() -> Value {
    json!({
        "providerMetadata": {"orgId": "b3476cb9-2e3d-41a6-98d0-0f47421a65b6", "dateUpdated": "2026-11-20T10:00:00.000Z"},
        "datePublic": "2026-11-20T09:00:00.000Z",
        "title": "Message Carbons sender not checked in Prosody",
        "descriptions": [{
            "lang": "en",
            "value": "Prosody before 0.12.4 accepts Message Carbons (XEP-0280) copies from any remote entity, so a remote attacker can inject forged messages that appear to come from the victim's own account."
        }],
        "affected": [{
            "vendor": "Prosody",
            "product": "Prosody",
            "defaultStatus": "unaffected",
            "versions": [{"version": "0.12.0", "lessThan": "0.12.4", "status": "affected", "versionType": "semver"}]
        }],
        "problemTypes": [{"descriptions": [{"lang": "en", "cweId": "CWE-346", "description": "CWE-346 Origin Validation Error", "type": "CWE"}]}],
        "references": [{"url": "https://prosody.im/security/advisory_20261120/", "tags": ["vendor-advisory"]}],
        "metrics": [
            {"format": "CVSS", "cvssV3_1": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", "baseScore": 7.5, "baseSeverity": "HIGH"}},
            {"format": "CVSS", "cvssV4_0": {"version": "4.0", "vectorString": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:H/VA:N/SC:N/SI:N/SA:N/E:P", "baseScore": 8.7, "baseSeverity": "HIGH"}}
        ],
        "credits": [{"lang": "en", "value": "Rita Reporter", "type": "finder"}],
        "timeline": [{"time": "2026-11-01T00:00:00Z", "lang": "en", "value": "Reported"}]
    })
}

fn ids(doc: &Value, ctx: &LintContext) -> Vec<&'static str> {
    lint(doc, ctx).into_iter().map(|f| f.id).collect()
}

fn only(doc: &Value, id: &str) {
    let findings = lint(doc, &LintContext::default());
    assert!(
        findings.iter().any(|f| f.id == id),
        "expected {id}, got {findings:#?}"
    );
    assert!(
        findings.iter().all(|f| f.id == id),
        "expected only {id}, got {findings:#?}"
    );
}

#[test]
fn the_good_container_is_schema_valid_and_lint_clean() {
    assert!(SchemaSet::default_set().validate(&good()).is_empty());
    assert_eq!(ids(&good(), &LintContext::default()), Vec::<&str>::new());
    let record = json!({
        "dataType": "CVE_RECORD", "dataVersion": "5.1",
        "cveMetadata": {"cveId": "CVE-2026-0001", "assignerOrgId": "b3476cb9-2e3d-41a6-98d0-0f47421a65b6", "state": "PUBLISHED", "datePublished": "2026-11-20T10:00:00Z"},
        "containers": {"cna": good()}
    });
    assert!(SchemaSet::default_set().validate(&record).is_empty());
    assert_eq!(ids(&record, &LintContext::default()), Vec::<&str>::new());
}

#[test]
fn affected_product_must_be_identified() {
    let mut d = good();
    d["affected"][0]["vendor"] = "n/a".into();
    only(&d, "cna-5.1.3-affected-product");
}

#[test]
fn some_product_must_be_affected_or_unknown() {
    let mut d = good();
    d["affected"][0]["versions"][0]["status"] = "unaffected".into();
    let got = ids(&d, &LintContext::default());
    assert!(got.contains(&"cna-5.1.4-affected-status"));
    assert!(got.contains(&"cna-5.1.8-only-unaffected"));
    let mut d = good();
    d["affected"][0]["versions"][0]["status"] = "unknown".into();
    assert!(
        ids(&d, &LintContext::default()).is_empty(),
        "unknown counts"
    );
}

#[test]
fn vulnerability_type_and_cwe() {
    let mut d = good();
    d.as_object_mut().unwrap().remove("problemTypes");
    only(&d, "cna-5.1.7-problem-type");
    let mut d = good();
    d["problemTypes"][0]["descriptions"][0] = json!({"lang": "en", "description": "Spoofing"});
    only(&d, "cna-5.1.7-cwe");
    assert_eq!(
        lint(&d, &LintContext::default())[0].severity,
        Severity::Warning
    );
}

#[test]
fn description_must_not_be_only_a_title() {
    let mut d = good();
    d["descriptions"][0]["value"] = "Message Carbons sender not checked in Prosody".into();
    only(&d, "cna-5.2.1-summary");
}

#[test]
fn description_must_not_credit_people() {
    let mut d = good();
    d["descriptions"][0]["value"] = format!(
        "{} This issue was discovered by Rita Reporter.",
        d["descriptions"][0]["value"].as_str().unwrap()
    )
    .into();
    only(&d, "cna-5.2.4-credit-in-description");
}

#[test]
fn description_must_not_merely_compare_with_another_cve() {
    let mut d = good();
    d["descriptions"][0]["value"] =
        "Prosody has an issue in carbons handling, similar to CVE-2017-5589 in other clients."
            .into();
    only(&d, "cna-5.2.7-only-different");
}

#[test]
fn description_must_be_english_and_without_placeholders() {
    let mut d = good();
    d["descriptions"][0]["lang"] = "de".into();
    only(&d, "cna-5.2.5-english");
    let mut d = good();
    d["descriptions"][0]["value"] =
        "todo: write the description of the carbons issue in Prosody before publishing it".into();
    only(&d, "cna-5.2.6-placeholder-text");
}

#[test]
fn a_public_reference_is_required_and_placeholders_are_refused() {
    let mut d = good();
    d["references"] = json!([]);
    only(&d, "cna-5.3.1-public-reference");
    for url in [
        "https://example.com/advisory",
        "https://localhost/x",
        "https://TBD",
        "https://advisory.invalid/1",
    ] {
        let mut d = good();
        d["references"][0]["url"] = url.into();
        only(&d, "reference-placeholder-url");
    }
    assert!(!is_placeholder_url("https://prosody.im/security/"));
    assert!(!is_placeholder_url("https://github.com/example-org/x"));
}

#[test]
fn version_ranges_must_be_consistent() {
    let mut d = good();
    d["affected"][0]["versions"][0]["lessThan"] = "0.11.9".into();
    only(&d, "version-less-than-not-above");
    let mut d = good();
    d["affected"][0]["versions"][0]["lessThan"] = "0.12.0".into();
    only(&d, "version-less-than-not-above");
    let mut d = good();
    d["affected"][0]["versions"][0]
        .as_object_mut()
        .unwrap()
        .remove("versionType");
    let got = ids(&d, &LintContext::default());
    assert!(got.contains(&"version-range-needs-type"), "{got:?}");
    assert_eq!(
        compare_versions("0.12.10", "0.12.9"),
        Some(std::cmp::Ordering::Greater)
    );
    assert_eq!(
        compare_versions("1.0", "1.0.0"),
        Some(std::cmp::Ordering::Equal)
    );
    assert_eq!(compare_versions("1.0rc1", "1.0"), None);
}

#[test]
fn cvss_vectors_parse_and_scores_match() {
    let mut d = good();
    d["metrics"][0]["cvssV3_1"]["baseScore"] = json!(9.8);
    only(&d, "cvss-score-mismatch");
    let mut d = good();
    d["metrics"][0]["cvssV3_1"]["baseSeverity"] = "CRITICAL".into();
    only(&d, "cvss-severity-mismatch");
    let mut d = good();
    d["metrics"][0]["cvssV3_1"]["vectorString"] = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H".into();
    only(&d, "cvss-vector-invalid");
    let mut d = good();
    d["metrics"][0]["cvssV3_1"]["vectorString"] =
        "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N".into();
    only(&d, "cvss-vector-invalid");
    let mut d = good();
    d["metrics"][1]["cvssV4_0"]["baseScore"] = json!(9.3);
    only(&d, "cvss-score-mismatch");
    // CVSS 3.0 is checked too.
    let mut d = good();
    d["metrics"][0] = json!({"cvssV3_0": {"version": "3.0", "vectorString": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "baseScore": 9.8, "baseSeverity": "CRITICAL"}});
    assert!(ids(&d, &LintContext::default()).is_empty());
    d["metrics"][0]["cvssV3_0"]["baseScore"] = json!(5.0);
    only(&d, "cvss-score-mismatch");
}

#[test]
fn unsupported_products_need_the_tag() {
    let ctx = LintContext {
        unsupported_products: vec!["prosody".into()],
        ..LintContext::default()
    };
    let d = good();
    assert_eq!(ids(&d, &ctx), ["cna-4.2.17-unsupported-when-assigned"]);
    let mut tagged = good();
    tagged["tags"] = json!(["unsupported-when-assigned"]);
    assert!(ids(&tagged, &ctx).is_empty());
    assert!(
        ids(&d, &LintContext::default()).is_empty(),
        "no registry data, no finding"
    );
}

#[test]
fn timestamps_must_end_with_z() {
    let mut d = good();
    d["datePublic"] = "2026-11-20T09:00:00".into();
    only(&d, "time-not-utc-z");
    let mut d = good();
    d["timeline"][0]["time"] = "2026-11-01T00:00:00+02:00".into();
    only(&d, "time-not-utc-z");
}

#[test]
fn unreadable_documents_get_one_clear_finding() {
    let f = lint(&json!({"descriptions": 5}), &LintContext::default());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].id, "record-unreadable");
}

#[test]
fn the_desks_own_advisory_is_not_a_placeholder() {
    // A desk served from a local address (a demo) references its own
    // advisory page, which goes public with the record.
    let mut d = good();
    d["references"] = json!([{ "url": "http://127.0.0.1:8099/advisories/CVE-2026-0001" }]);
    let plain = LintContext::default();
    assert!(ids(&d, &plain).contains(&"reference-placeholder-url"));
    let own = LintContext {
        own_advisories: Some("http://127.0.0.1:8099/advisories/".into()),
        ..LintContext::default()
    };
    assert!(!ids(&d, &own).contains(&"reference-placeholder-url"));
    // Anything else on that host still is one.
    d["references"] = json!([{ "url": "http://127.0.0.1:8099/elsewhere" }]);
    assert!(ids(&d, &own).contains(&"reference-placeholder-url"));
}

#[test]
fn rules_of_4_2_0_on_cwes_and_references() {
    // A prohibited entry (a category) is an error; a discouraged one a
    // warning; a name other than the list's a warning.
    let mut d = good();
    d["problemTypes"][0]["descriptions"][0]["cweId"] = json!("CWE-2");
    d["problemTypes"][0]["descriptions"][0]["description"] = json!("CWE-2 7PK - Environment");
    assert!(ids(&d, &LintContext::default()).contains(&"cwe-mapping-prohibited"));
    let mut d = good();
    d["problemTypes"][0]["descriptions"][0]["cweId"] = json!("CWE-20");
    d["problemTypes"][0]["descriptions"][0]["description"] =
        json!("CWE-20 Improper Input Validation");
    only(&d, "cwe-mapping-discouraged");
    let mut d = good();
    d["problemTypes"][0]["descriptions"][0]["description"] = json!(": Weak Authentication");
    only(&d, "cwe-name-not-official");
    // 5.1.7.1: "not enough information" for now.
    let mut d = good();
    d["problemTypes"] = json!([{"descriptions": [{"lang": "en", "description": "NVD-CWE-noinfo: not enough information", "type": "text"}]}]);
    only(&d, "cna-5.1.7.1-not-enough-information");
    // 5.3.3.5: the CVE Record itself is no reference.
    let mut d = good();
    d["references"] = json!([
        {"url": "https://prosody.im/security/advisory_20261120/"},
        {"url": "https://www.cve.org/CVERecord?id=CVE-2026-0001"}
    ]);
    only(&d, "cna-5.3.3.5-self-reference");
    // Every finding cites 4.2.0.
    for f in cnadesk_cve::lint(&d, &LintContext::default()) {
        assert!(!f.rule.contains("Rules 4.0,"), "{}", f.rule);
    }
}
