//! The official examples and the CVE Services test vectors, against every
//! shipped schema version.

use cnadesk_cve::model::CveRecord;
use cnadesk_cve::schema::{prepare, SchemaSet, Target};
use serde_json::Value;

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");

fn load(rel: &str) -> Value {
    let path = format!("{SHARED}/{rel}");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
        .unwrap()
}

fn versions() -> Vec<SchemaSet> {
    ["5.2.0", "5.1.1", "5.1.0"]
        .iter()
        .map(|v| SchemaSet::load(Some(v)).unwrap())
        .collect()
}

#[test]
fn official_examples_are_valid_and_round_trip() {
    for set in versions() {
        for name in [
            "full-record-basic-example.json",
            "full-record-advanced-example.json",
        ] {
            let doc = load(&format!("cve-schema-examples/{name}"));
            let problems = set.validate(&doc);
            assert!(
                problems.is_empty(),
                "{name} against {}: {problems:#?}",
                set.version()
            );
            let record: CveRecord = serde_json::from_value(doc.clone()).unwrap();
            let again = serde_json::to_value(&record).unwrap();
            assert_eq!(again, doc, "{name} round-trips");
        }
    }
}

/// Verdicts per vector. `_fail` vectors fail; `_published` and `_pass` pass.
/// Two files without `_fail` in their names are invalid records all the same
/// (a RESERVED fixture and a legacy-layout REJECTED fixture).
const VECTORS: &[(&str, bool)] = &[
    ("5.0/CVE-2017-4024_published.json", true),
    ("5.0/CVE-2017-4024_fail.json", false),
    ("5.0/CVE-2017-4024_fail_cveMetadata.json", false),
    ("5.0/CVE-2017-4024_published_fail.json", false),
    ("5.0/CVE-2017-4024_published_bad_datePublic.json", false),
    ("5.0/CVE-2017-4024_version_fail.json", false),
    ("5.0/CVE-2017-4024_rejected_fail.json", false),
    ("5.0/CVE-2017-4024_reserved_fail.json", false),
    ("5.0/CVE-2017-5833_reserved.json", false),
    ("5.0/CVE-2017-5835_rejected.json", false),
    ("5.0/rejectCveExample.json", false),
    ("cna-container/cna-container_pass.json", true),
    ("cna-container/cna-container_fail.json", false),
    ("cna-container/cna-container-missing-container.json", false),
];

#[test]
fn every_test_vector_gets_its_verdict_with_pointers() {
    let dir = format!("{SHARED}/cve-services-vectors");
    // Every vector in the folder is listed (ADP bodies and list responses are not CNA documents).
    for entry in walk(&dir) {
        let rel = entry.strip_prefix(&format!("{dir}/")).unwrap().to_owned();
        if rel.ends_with("adpContainerExample.json") || rel.ends_with("cveRecordList.json") {
            continue;
        }
        assert!(
            VECTORS.iter().any(|(v, _)| *v == rel),
            "{rel} has no expected verdict"
        );
    }
    for set in versions() {
        for (rel, valid) in VECTORS {
            let raw = load(&format!("cve-services-vectors/{rel}"));
            let (doc, target) = prepare(&raw);
            let problems = set.validate_as(&doc, target);
            assert_eq!(
                problems.is_empty(),
                *valid,
                "{rel} as {} against {}: {problems:#?}",
                target.label(),
                set.version()
            );
            for p in &problems {
                assert!(!p.message.is_empty() && !p.keyword.is_empty());
                assert!(
                    p.message.chars().count() < 400,
                    "short messages: {}",
                    p.message
                );
                // The pointer names a place in the document (or the parent of a missing member).
                let exists = doc.pointer(&p.pointer).is_some()
                    || p.keyword == "required"
                    || p.pointer == "/cveMetadata/state";
                assert!(exists, "{rel}: pointer {} not in the document", p.pointer);
            }
            if !valid {
                assert!(
                    problems
                        .iter()
                        .any(|p| !p.pointer.is_empty() || p.keyword == "required"),
                    "{rel}: at least one problem points at a field: {problems:#?}"
                );
            }
        }
    }
}

fn walk(dir: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(p.to_str().unwrap()));
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p.to_str().unwrap().to_owned());
        }
    }
    out
}

fn basic() -> Value {
    load("cve-schema-examples/full-record-basic-example.json")
}

#[test]
fn errors_name_the_field_and_say_what_is_wrong() {
    let set = SchemaSet::default_set();
    let mut doc = basic();
    doc["cveMetadata"]["cveId"] = "CVE-22-1".into();
    doc["containers"]["cna"]["references"][0]["url"] = "not a url".into();
    doc["containers"]["cna"]["descriptions"][0]["lang"] = "de".into();
    doc["cveMetadata"]["assignerShortname"] = "typo".into();
    let problems = set.validate(&doc);
    let find = |ptr: &str| {
        problems
            .iter()
            .find(|p| p.pointer == ptr)
            .unwrap_or_else(|| panic!("no problem at {ptr}: {problems:#?}"))
    };
    let id = find("/cveMetadata/cveId");
    assert_eq!(id.keyword, "pattern");
    assert!(id
        .message
        .contains("\"CVE-22-1\" does not have the expected form"));
    let url = find("/containers/cna/references/0/url");
    assert_eq!(url.keyword, "format");
    assert!(url.message.contains("is not a valid uri"));
    assert!(find("/containers/cna/descriptions")
        .message
        .contains("English"));
    assert!(find("/cveMetadata").message.contains("`assignerShortname`"));
    // No message repeats the whole record.
    assert!(
        problems
            .iter()
            .all(|p| !p.message.contains("CVE-1900-1234")),
        "{problems:#?}"
    );
}

#[test]
fn a_bad_state_is_named_instead_of_two_branches_of_noise() {
    let mut doc = basic();
    doc["cveMetadata"]["state"] = "RESERVED".into();
    let problems = SchemaSet::default_set().validate(&doc);
    assert!(
        problems.iter().any(|p| p.pointer == "/cveMetadata/state"),
        "{problems:#?}"
    );
}

#[test]
fn containers_are_validated_against_their_definition() {
    let set = SchemaSet::default_set();
    let cna = basic()["containers"]["cna"].clone();
    assert_eq!(Target::detect(&cna), Target::PublishedContainer);
    assert!(set.validate(&cna).is_empty());
    let mut bad = cna.clone();
    bad.as_object_mut().unwrap().remove("affected");
    let problems = set.validate(&bad);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].keyword, "required");
    assert!(problems[0].message.contains("\"affected\""));
}

#[test]
fn schema_versions_are_data() {
    let versions = cnadesk_cve::schema::available_versions();
    assert_eq!(versions[0].0, "5.2.0", "the default comes first");
    assert!(versions.iter().any(|(v, _)| v == "5.1.1"));
    assert!(versions.iter().any(|(v, _)| v == "5.1.0"));
    let err = SchemaSet::load(Some("9.9")).unwrap_err().to_string();
    assert!(err.contains("9.9") && err.contains("5.1.1"), "{err}");
}

/// What 5.2.0 refuses that 5.1.1 accepted: unknown keys inside `affected[]`
/// and Package URLs CVE Services refuses; and a 5.1 record is still judged
/// by the schema it was published under.
#[test]
fn five_two_refuses_what_five_one_accepted() {
    let set = SchemaSet::load(Some("5.2.0")).unwrap();
    let mut doc = load("cve-schema-examples/full-record-basic-example.json");
    doc["dataVersion"] = "5.2".into();
    assert!(set.validate(&doc).is_empty(), "{:#?}", set.validate(&doc));
    // A valid purl passes.
    doc["containers"]["cna"]["affected"][0]["packageURL"] = "pkg:github/example/example".into();
    assert!(set.validate(&doc).is_empty(), "{:#?}", set.validate(&doc));
    // An unknown key inside affected[]: refused by 5.2.0, not by 5.1.1.
    let mut unknown = doc.clone();
    unknown["containers"]["cna"]["affected"][0]["x_generator"] = "tool".into();
    assert!(!set.validate(&unknown).is_empty());
    let older = SchemaSet::load(Some("5.1.1")).unwrap();
    let mut as_51 = unknown.clone();
    as_51["dataVersion"] = "5.1".into();
    as_51["containers"]["cna"]["affected"][0]
        .as_object_mut()
        .unwrap()
        .remove("packageURL");
    assert!(older.validate(&as_51).is_empty());
    // The record's dataVersion picks: the same 5.1 record under the 5.2.0
    // set is judged as 5.1.1.
    assert!(
        set.validate(&as_51).is_empty(),
        "{:#?}",
        set.validate(&as_51)
    );
    // Package URLs: the schema says only "a URI" (so a purl with a
    // version is schema-valid, as any JSON Schema validator says); CVE
    // Services checks the rest in code, and so does the lint, as an error.
    for bad in ["pkg:github/example/example@1.0", "pkg:npm/foo?vers=1"] {
        let mut d = doc.clone();
        d["containers"]["cna"]["affected"][0]["packageURL"] = bad.into();
        assert!(set.validate(&d).is_empty(), "{bad}");
        assert!(set.is_valid(&d, Target::Record), "{bad}");
        let lint = cnadesk_cve::lint(&d, &cnadesk_cve::LintContext::default());
        assert!(
            lint.iter().any(|f| f.id == "cve-services-purl"
                && f.severity == cnadesk_cve::Severity::Error
                && f.pointer == "/containers/cna/affected/0/packageURL"),
            "{bad}: {lint:#?}"
        );
    }
    // A number where the purl belongs: the schema itself refuses it.
    let mut d = doc.clone();
    d["containers"]["cna"]["affected"][0]["packageURL"] = 7.into();
    assert!(!set.validate(&d).is_empty());
}
