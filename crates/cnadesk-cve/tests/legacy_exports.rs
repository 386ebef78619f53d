//! Records as older CNAs wrote them: "n/a" products and versions,
//! "unspecified" and "*" bounds, prose ranges ("before 1.0.4"), free-text
//! CWE names. Neither export turns a placeholder into a product or a
//! version; prose states its bound; both exports pass their schemas and
//! the CSAF mandatory tests the desk runs.

use cnadesk_cve::csaf::{mandatory_tests, to_csaf, validate_csaf_schema, CsafPublisher};
use cnadesk_cve::model::CveRecord;
use cnadesk_cve::osv::{to_osv, validate_osv};
use serde_json::{json, Value};

fn legacy(affected: Value, cwe: Value) -> CveRecord {
    serde_json::from_value(json!({
        "dataType": "CVE_RECORD", "dataVersion": "5.0",
        "cveMetadata": {"cveId": "CVE-2017-5589", "assignerOrgId": "8254265b-2729-46b6-b9e3-3dfca2d5bfca",
                        "assignerShortName": "mitre", "state": "PUBLISHED",
                        "datePublished": "2017-02-09T00:00:00.000Z", "dateUpdated": "2024-08-05T15:11:00.000Z"},
        "containers": {"cna": {
            "providerMetadata": {"orgId": "8254265b-2729-46b6-b9e3-3dfca2d5bfca", "shortName": "mitre"},
            "descriptions": [{"lang": "en", "value": "An issue was discovered in xabber before 1.0.4: a remote attacker can impersonate any user, including contacts, via message carbons."}],
            "affected": affected,
            "problemTypes": cwe,
            "references": [{"url": "https://rt-solutions.de/en/cve-2017-5589/"}]
        }}
    }))
    .unwrap()
}

fn publisher() -> CsafPublisher {
    CsafPublisher {
        name: "XMPP Standards Foundation".into(),
        namespace: "https://xmpp.org".into(),
        canonical_url: Some("https://cna.xmpp.example/advisories/CVE-2017-5589.csaf.json".into()),
    }
}

/// Every product name and version (or range) a CSAF product tree holds.
fn tree_names(csaf: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>) {
        if let Some(name) = v.get("name").and_then(Value::as_str) {
            out.push(name.to_owned());
        }
        for b in v
            .get("branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            walk(b, out);
        }
    }
    let mut out = Vec::new();
    for b in csaf["product_tree"]["branches"]
        .as_array()
        .into_iter()
        .flatten()
    {
        walk(b, &mut out);
    }
    out
}

fn osv_versions(osv: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for a in osv["affected"].as_array().into_iter().flatten() {
        for v in a["versions"].as_array().into_iter().flatten() {
            out.push(v.as_str().unwrap_or("").to_owned());
        }
        for r in a["ranges"].as_array().into_iter().flatten() {
            for e in r["events"].as_array().into_iter().flatten() {
                for (_, v) in e.as_object().unwrap() {
                    out.push(v.as_str().unwrap_or("").to_owned());
                }
            }
        }
    }
    out
}

fn assert_clean(record: &CveRecord) -> (Value, Value) {
    let osv = to_osv(record).unwrap();
    assert_eq!(validate_osv(&osv), Vec::<String>::new(), "{osv:#}");
    let csaf = to_csaf(record, &publisher()).unwrap();
    assert_eq!(
        validate_csaf_schema(&csaf),
        Vec::<String>::new(),
        "{csaf:#}"
    );
    assert_eq!(mandatory_tests(&csaf), Vec::new(), "{csaf:#}");
    for bad in ["n/a", "N/A", "unspecified", "*"] {
        assert!(
            !osv_versions(&osv).iter().any(|v| v == bad),
            "OSV {bad}: {osv:#}"
        );
        for name in tree_names(&csaf) {
            assert!(
                !name.split_whitespace().any(|w| w == bad),
                "CSAF {name}: {csaf:#}"
            );
            assert!(!name.contains("vers:generic/>=unspecified"), "{name}");
        }
    }
    (osv, csaf)
}

#[test]
fn n_a_products_and_versions_become_nothing() {
    let r = legacy(
        json!([{"vendor": "n/a", "product": "n/a", "versions": [{"version": "n/a", "status": "affected"}]}]),
        json!([{"descriptions": [{"lang": "en", "description": "n/a", "type": "text"}]}]),
    );
    let (osv, csaf) = assert_clean(&r);
    assert!(csaf.get("product_tree").is_none(), "{csaf:#}");
    assert_eq!(csaf["document"]["category"], "csaf_base");
    assert!(osv_versions(&osv).is_empty(), "{osv:#}");
}

#[test]
fn unknown_starts_and_open_ends_are_read_as_bounds() {
    let r = legacy(
        json!([
            {"vendor": "xabber", "product": "xabber", "versions": [
                {"version": "unspecified", "lessThan": "1.0.4", "status": "affected", "versionType": "custom"},
                {"version": "*", "lessThanOrEqual": "1.0.3", "status": "affected", "versionType": "custom"}
            ]},
            {"vendor": "Gajim", "product": "Gajim", "versions": [
                {"version": "0.16", "lessThan": "*", "status": "affected", "versionType": "custom"}
            ]}
        ]),
        json!([{"descriptions": [{"lang": "en", "cweId": "CWE-20", "description": "CWE-20", "type": "CWE"}]}]),
    );
    let (osv, csaf) = assert_clean(&r);
    let events = &osv["affected"][0]["database_specific"]["ranges"][0]["events"];
    assert_eq!(
        events,
        &json!([{"introduced": "0"}, {"fixed": "1.0.4"}]),
        "{osv:#}"
    );
    let names = tree_names(&csaf);
    assert!(
        names.contains(&"vers:generic/<1.0.4".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"vers:generic/<=1.0.3".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"vers:generic/>=0.16".to_owned()),
        "{names:?}"
    );
    // The CWE carries the list's name, not the record's bare ID (6.1.11).
    assert_eq!(
        csaf["vulnerabilities"][0]["cwe"],
        json!({"id": "CWE-20", "name": "Improper Input Validation"})
    );
    // TLP and the canonical URL from the publisher.
    assert_eq!(csaf["document"]["distribution"]["tlp"]["label"], "WHITE");
    assert_eq!(csaf["document"]["references"][0]["category"], "self");
}

#[test]
fn prose_ranges_become_ranges_not_versions() {
    let r = legacy(
        json!([{"vendor": "xabber", "product": "xabber", "versions": [
            {"version": "before 1.0.4", "status": "affected"},
            {"version": "2.3 and earlier", "status": "affected"}
        ]}]),
        json!([{"descriptions": [{"lang": "en", "cweId": "CWE-287", "description": ": Weak Authentication", "type": "CWE"}]}]),
    );
    let (osv, csaf) = assert_clean(&r);
    assert_eq!(
        osv["affected"][0]["database_specific"]["ranges"],
        json!([
            {"version_type": null, "events": [{"introduced": "0"}, {"fixed": "1.0.4"}]},
            {"version_type": null, "events": [{"introduced": "0"}, {"last_affected": "2.3"}]}
        ])
    );
    let names = tree_names(&csaf);
    assert!(
        names.contains(&"vers:generic/<1.0.4".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"vers:generic/<=2.3".to_owned()),
        "{names:?}"
    );
    assert_eq!(
        csaf["vulnerabilities"][0]["cwe"]["name"],
        "Improper Authentication"
    );
}

#[test]
fn a_package_url_names_the_package() {
    let r = legacy(
        json!([{"vendor": "xmpp.js", "product": "@xmpp/client", "packageURL": "pkg:npm/%40xmpp/client",
                "versions": [{"version": "0", "lessThan": "0.13.2", "status": "affected", "versionType": "semver"}]}]),
        json!([{"descriptions": [{"lang": "en", "cweId": "CWE-346", "description": "CWE-346 Origin Validation Error", "type": "CWE"}]}]),
    );
    let (osv, csaf) = assert_clean(&r);
    assert_eq!(
        osv["affected"][0]["package"],
        json!({"ecosystem": "npm", "name": "@xmpp/client", "purl": "pkg:npm/%40xmpp/client"})
    );
    let text = csaf.to_string();
    assert!(
        text.contains("\"product_identification_helper\":{\"purl\":\"pkg:npm/%40xmpp/client\"}"),
        "{csaf:#}"
    );
}
