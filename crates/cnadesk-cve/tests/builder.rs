//! A record built from case facts is valid, lint-clean, and exports.

use cnadesk_cve::builder::{build_record, AffectedFact, BuildError, CaseFacts, RangeFact};
use cnadesk_cve::csaf::{mandatory_tests, to_csaf, validate_csaf_schema, CsafPublisher};
use cnadesk_cve::osv::{to_osv, validate_osv};
use cnadesk_cve::{lint, LintContext, SchemaSet};

fn facts() -> CaseFacts {
    CaseFacts {
        cve_id: "CVE-2026-0042".into(),
        org_id: "b3476cb9-2e3d-41a6-98d0-0f47421a65b6".into(),
        short_name: Some("XSF".into()),
        title: "Message Carbons sender not checked".into(),
        description: "Prosody before 0.12.4 and Dino before 0.4.4 accept Message Carbons (XEP-0280) copies from any remote entity, letting an attacker inject forged messages into a victim's conversations.".into(),
        affected: vec![
            AffectedFact {
                vendor: "Prosody".into(),
                product: "Prosody".into(),
                repo: Some("https://hg.prosody.im/trunk".into()),
                package: None,
                package_url: None,
                ranges: vec![RangeFact { introduced: "0.12.0".into(), fixed: Some("0.12.4".into()), last_affected: None, version_type: "semver".into() }],
            },
            AffectedFact {
                vendor: "Dino".into(),
                product: "Dino".into(),
                repo: None,
                package: None,
                package_url: Some("pkg:github/dino/dino".into()),
                ranges: vec![RangeFact { introduced: "0.4.0".into(), fixed: None, last_affected: Some("0.4.3".into()), version_type: "semver".into() }],
            },
        ],
        cwe: Some(("CWE-346".into(), "Origin Validation Error".into())),
        problem_text: None,
        cvss_vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N".into()),
        references: vec![("https://prosody.im/security/advisory_20261120/".into(), vec!["vendor-advisory".into()])],
        credits: vec![("Rita Reporter".into(), "finder".into())],
        date_public: Some("2026-11-20T09:00:00Z".into()),
        timeline: vec![("2026-11-01T00:00:00Z".into(), "Reported to the XSF CNA".into())],
        unsupported_when_assigned: false,
    }
}

const NOW: &str = "2026-11-24T12:00:00Z";

#[test]
fn a_built_record_is_valid_lint_clean_and_exports() {
    let record = build_record(&facts(), NOW).unwrap();
    let doc = serde_json::to_value(&record).unwrap();
    assert_eq!(
        SchemaSet::default_set().validate(&doc),
        Vec::new(),
        "{doc:#}"
    );
    assert_eq!(lint(&doc, &LintContext::default()), Vec::new());
    let cvss = &doc["containers"]["cna"]["metrics"][0]["cvssV3_1"];
    assert_eq!(
        cvss["baseScore"],
        serde_json::json!(6.5),
        "computed from the vector"
    );
    assert_eq!(cvss["baseSeverity"], "MEDIUM");
    let dino = &doc["containers"]["cna"]["affected"][1]["versions"][0];
    assert_eq!(dino["lessThanOrEqual"], "0.4.3");
    assert!(validate_osv(&to_osv(&record).unwrap()).is_empty());
    let csaf = to_csaf(
        &record,
        &CsafPublisher {
            name: "XSF".into(),
            namespace: "https://xmpp.org".into(),
            canonical_url: None,
        },
    )
    .unwrap();
    assert!(validate_csaf_schema(&csaf).is_empty());
    assert!(mandatory_tests(&csaf).is_empty());
}

#[test]
fn unknown_versions_stay_unknown_and_eol_products_are_tagged() {
    let mut f = facts();
    f.affected[1].ranges.clear();
    f.unsupported_when_assigned = true;
    f.cvss_vector = Some("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:H/VA:N/SC:N/SI:N/SA:N".into());
    let doc = serde_json::to_value(build_record(&f, NOW).unwrap()).unwrap();
    assert_eq!(
        doc["containers"]["cna"]["affected"][1]["defaultStatus"],
        "unknown"
    );
    assert_eq!(
        doc["containers"]["cna"]["tags"],
        serde_json::json!(["unsupported-when-assigned"])
    );
    assert_eq!(
        doc["containers"]["cna"]["metrics"][0]["cvssV4_0"]["baseScore"],
        serde_json::json!(8.7)
    );
    assert!(SchemaSet::default_set().validate(&doc).is_empty());
    assert!(lint(
        &doc,
        &LintContext {
            unsupported_products: vec!["Prosody".into(), "Dino".into()],
            ..LintContext::default()
        }
    )
    .is_empty());
}

#[test]
fn a_bad_vector_is_refused_with_the_field_named() {
    let mut f = facts();
    f.cvss_vector = Some("CVSS:3.1/AV:N".into());
    let err = build_record(&f, NOW).unwrap_err();
    assert!(
        matches!(err, BuildError::Cvss(ref m) if m.contains("lacks the base metrics")),
        "{err}"
    );
    assert!(err.to_string().starts_with("cvss_vector:"));
}
