//! CSAF export: the schema, and the mandatory tests against the official
//! CSAF test files.

use cnadesk_cve::csaf::{mandatory_tests, to_csaf, validate_csaf_schema, CsafPublisher};
use cnadesk_cve::model::CveRecord;
use serde_json::{json, Value};

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn publisher() -> CsafPublisher {
    CsafPublisher {
        name: "XMPP Standards Foundation".into(),
        namespace: "https://xmpp.org".into(),
        canonical_url: Some("https://cna.xmpp.example/advisories/CVE-2026-0001.csaf.json".into()),
    }
}

fn record() -> CveRecord {
    serde_json::from_value(json!({
        "dataType": "CVE_RECORD", "dataVersion": "5.1",
        "cveMetadata": {"cveId": "CVE-2026-0001", "assignerOrgId": "b3476cb9-2e3d-41a6-98d0-0f47421a65b6",
                        "state": "PUBLISHED", "datePublished": "2026-11-20T10:00:00.000Z"},
        "containers": {"cna": {
            "providerMetadata": {"orgId": "b3476cb9-2e3d-41a6-98d0-0f47421a65b6"},
            "title": "Message Carbons sender not checked",
            "descriptions": [{"lang": "en", "value": "Prosody before 0.12.4 accepts carbon copies from any sender."}],
            "affected": [
                {"vendor": "Prosody", "product": "Prosody", "defaultStatus": "unaffected",
                 "versions": [{"version": "0.12.0", "lessThan": "0.12.4", "status": "affected", "versionType": "semver"},
                              {"version": "0.11.0", "status": "unaffected"}]},
                {"vendor": "Prosody", "product": "prosody-modules", "versions": [{"version": "2026-01", "status": "affected"}]}
            ],
            "problemTypes": [{"descriptions": [{"lang": "en", "cweId": "CWE-346", "description": "CWE-346 Origin Validation Error", "type": "CWE"}]}],
            "references": [{"url": "https://prosody.im/security/advisory_20261120/"}],
            "metrics": [{"cvssV3_1": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", "baseScore": 7.5, "baseSeverity": "HIGH"}}]
        }}
    }))
    .unwrap()
}

#[test]
fn csaf_export_passes_the_schema_and_the_mandatory_tests() {
    let doc = to_csaf(&record(), &publisher()).unwrap();
    assert_eq!(validate_csaf_schema(&doc), Vec::<String>::new(), "{doc:#}");
    assert_eq!(mandatory_tests(&doc), Vec::new(), "{doc:#}");
    assert_eq!(doc["document"]["tracking"]["id"], "CVE-2026-0001");
    assert_eq!(doc["vulnerabilities"][0]["cve"], "CVE-2026-0001");
    assert_eq!(
        doc["vulnerabilities"][0]["cwe"],
        json!({"id": "CWE-346", "name": "Origin Validation Error"})
    );
    let status = &doc["vulnerabilities"][0]["product_status"];
    assert_eq!(status["known_affected"].as_array().unwrap().len(), 2);
    assert_eq!(status["known_not_affected"].as_array().unwrap().len(), 1);
    let tree = doc["product_tree"].to_string();
    assert!(tree.contains("vers:semver/>=0.12.0|<0.12.4"), "{tree}");
    assert_eq!(
        doc["vulnerabilities"][0]["remediations"][0]["details"],
        "Update to 0.12.4 or later."
    );
    assert_eq!(
        doc["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"],
        json!(7.5)
    );
}

#[test]
fn the_schema_check_catches_a_broken_document() {
    let mut doc = to_csaf(&record(), &publisher()).unwrap();
    doc["document"]["tracking"]["status"] = "published".into();
    assert!(!validate_csaf_schema(&doc).is_empty());
}

#[test]
fn mandatory_tests_agree_with_the_official_test_files() {
    let cases: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{DATA}/csaf/testcases.json")).unwrap(),
    )
    .unwrap();
    let mut checked = 0;
    for case in cases["tests"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        for (list, should_fail) in [("failures", true), ("valid", false)] {
            for file in case[list].as_array().into_iter().flatten() {
                let name = file["name"].as_str().unwrap();
                let doc: Value = serde_json::from_str(
                    &std::fs::read_to_string(format!("{DATA}/csaf/{name}")).unwrap(),
                )
                .unwrap();
                let failed = mandatory_tests(&doc).iter().any(|(t, _)| *t == id);
                assert_eq!(
                    failed,
                    should_fail,
                    "test {id} on {name}: {:?}",
                    mandatory_tests(&doc)
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "checked {checked} files");
}
