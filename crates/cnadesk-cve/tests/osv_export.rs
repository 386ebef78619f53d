//! OSV export: what it emits passes the official OSV schema and carries the
//! record's facts.

use cnadesk_cve::model::CveRecord;
use cnadesk_cve::osv::{to_osv, validate_osv};
use serde_json::{json, Value};

const SPECS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn record() -> CveRecord {
    serde_json::from_value(json!({
        "dataType": "CVE_RECORD", "dataVersion": "5.1",
        "cveMetadata": {"cveId": "CVE-2026-0001", "assignerOrgId": "b3476cb9-2e3d-41a6-98d0-0f47421a65b6",
                        "assignerShortName": "XSF", "state": "PUBLISHED",
                        "datePublished": "2026-11-20T10:00:00.000Z", "dateUpdated": "2026-11-21T08:00:00.000Z"},
        "containers": {"cna": {
            "providerMetadata": {"orgId": "b3476cb9-2e3d-41a6-98d0-0f47421a65b6"},
            "title": "Message Carbons sender not checked",
            "descriptions": [{"lang": "en", "value": "slixmpp before 1.8.5 accepts carbon copies from any sender."}],
            "affected": [
                {"vendor": "Poezio", "product": "slixmpp", "collectionURL": "https://pypi.org/", "packageName": "slixmpp",
                 "defaultStatus": "unaffected",
                 "versions": [{"version": "1.0.0", "lessThan": "1.8.5", "status": "affected", "versionType": "semver"}]},
                {"vendor": "Prosody", "product": "Prosody", "defaultStatus": "unaffected",
                 "versions": [{"version": "0.12.3", "status": "affected"}, {"version": "0.12.4", "status": "unaffected"}]},
                {"vendor": "Dino", "product": "Dino", "defaultStatus": "unaffected",
                 "versions": [{"version": "0.4.0", "status": "unaffected"}]}
            ],
            "problemTypes": [{"descriptions": [{"lang": "en", "cweId": "CWE-346", "description": "CWE-346 Origin Validation Error", "type": "CWE"}]}],
            "references": [{"url": "https://example.net/advisory", "tags": ["vendor-advisory"]}, {"url": "https://example.net/fix", "tags": ["patch"]}],
            "metrics": [{"cvssV3_1": {"version": "3.1", "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N", "baseScore": 7.5, "baseSeverity": "HIGH"}}],
            "credits": [{"lang": "en", "value": "Rita Reporter", "type": "finder"}]
        }}
    }))
    .unwrap()
}

#[test]
fn osv_export_passes_the_schema_and_carries_the_facts() {
    let osv = to_osv(&record()).unwrap();
    assert_eq!(validate_osv(&osv), Vec::<String>::new(), "{osv:#}");
    assert_eq!(osv["id"], "CVE-2026-0001");
    assert_eq!(osv["modified"], "2026-11-21T08:00:00.000Z");
    assert_eq!(osv["summary"], "Message Carbons sender not checked");
    let affected = osv["affected"].as_array().unwrap();
    assert_eq!(affected.len(), 2, "the only-unaffected product is left out");
    assert_eq!(
        affected[0]["package"],
        json!({"ecosystem": "PyPI", "name": "slixmpp"})
    );
    assert_eq!(
        affected[0]["ranges"][0],
        json!({"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.8.5"}]})
    );
    assert_eq!(affected[1]["versions"], json!(["0.12.3"]));
    assert_eq!(affected[1]["database_specific"]["product"], "Prosody");
    assert_eq!(
        osv["severity"][0],
        json!({"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:N"})
    );
    assert_eq!(osv["references"][0]["type"], "ADVISORY");
    assert_eq!(osv["references"][1]["type"], "FIX");
    assert_eq!(
        osv["credits"][0],
        json!({"name": "Rita Reporter", "type": "FINDER"})
    );
    assert_eq!(osv["database_specific"]["cwe_ids"], json!(["CWE-346"]));
}

#[test]
fn official_examples_export_to_valid_osv() {
    for name in [
        "full-record-basic-example.json",
        "full-record-advanced-example.json",
    ] {
        let doc: Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{SPECS}/cve-schema-examples/{name}")).unwrap(),
        )
        .unwrap();
        let mut record: CveRecord = serde_json::from_value(doc).unwrap();
        if record.cve_metadata.date_updated.is_none()
            && record
                .published()
                .unwrap()
                .provider_metadata
                .date_updated
                .is_none()
        {
            // The basic example has no date at all: OSV needs `modified`.
            let err = to_osv(&record).unwrap_err().to_string();
            assert!(err.contains("`modified`"), "{err}");
            record.cve_metadata.date_updated = Some("2026-01-01T00:00:00Z".into());
        }
        let osv = to_osv(&record).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(validate_osv(&osv), Vec::<String>::new(), "{name}: {osv:#}");
        record.cve_metadata.date_updated = Some("2026-01-01T00:00:00+02:00".into());
        assert!(to_osv(&record)
            .unwrap_err()
            .to_string()
            .contains("UTC offset"));
    }
}

#[test]
fn the_schema_check_catches_a_broken_document() {
    let mut osv = to_osv(&record()).unwrap();
    osv["modified"] = "yesterday".into();
    osv.as_object_mut().unwrap().remove("id");
    let problems = validate_osv(&osv);
    assert!(problems.len() >= 2, "{problems:?}");
}

#[test]
fn rejected_records_are_not_exported() {
    let rejected: CveRecord = serde_json::from_value(json!({
        "dataType": "CVE_RECORD", "dataVersion": "5.1",
        "cveMetadata": {"cveId": "CVE-2026-0002", "assignerOrgId": "b3476cb9-2e3d-41a6-98d0-0f47421a65b6", "state": "REJECTED"},
        "containers": {"cna": {"providerMetadata": {"orgId": "b3476cb9-2e3d-41a6-98d0-0f47421a65b6"},
                               "rejectedReasons": [{"lang": "en", "value": "Duplicate of CVE-2026-0001."}]}}
    }))
    .unwrap();
    assert!(to_osv(&rejected)
        .unwrap_err()
        .to_string()
        .contains("not published"));
}
