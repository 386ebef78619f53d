//! The CSAF export judged by a validator nobody here wrote: BSI's
//! `@secvisogram/csaf-validator-lib` (npm), schema tests and every mandatory
//! test of CSAF 2.0 section 6.1, over the export of every published record
//! in the test data: the official examples and the real published records
//! in `tests/data/real-records/` (legacy "n/a" records included). The same
//! records' OSV exports pass the OSV schema, and no export carries `n/a`,
//! `unspecified` or `*` as a product or version.
//!
//! Needs `node` and `npm` (Debian packages `nodejs` and `npm`; `.ci/run`
//! installs them) and the npm registry, so it is `#[ignore]`d: run it with
//! `-- --include-ignored`; without them it then fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use cnadesk_cve::csaf::{to_csaf, CsafPublisher};
use cnadesk_cve::model::CveRecord;
use cnadesk_cve::osv::{to_osv, validate_osv};
use serde_json::Value;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
const HARNESS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/csaf-validator");

/// Every published record of the test data, with its file name.
fn published_records() -> Vec<(String, CveRecord)> {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in ["cve-schema-examples", "real-records"] {
        if let Ok(entries) = std::fs::read_dir(Path::new(DATA).join(dir)) {
            files.extend(
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "json")),
            );
        }
    }
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let record: CveRecord =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            record.published()?;
            Some((path.file_name()?.to_string_lossy().into_owned(), record))
        })
        .collect()
}

fn words_of(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == key {
                    if let Some(s) = x.as_str() {
                        out.push(s.to_owned());
                    }
                }
                words_of(x, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| words_of(x, key, out)),
        _ => {}
    }
}

#[test]
#[ignore = "needs node and npm (BSI's CSAF validator from the npm registry)"]
fn every_csaf_export_passes_bsis_mandatory_tests() {
    let records = published_records();
    assert!(
        records.len() >= 2,
        "no records found under {DATA}: {}",
        records.len()
    );
    let work = tempfile::tempdir().unwrap();
    for f in ["package.json", "validate.mjs"] {
        std::fs::copy(Path::new(HARNESS).join(f), work.path().join(f)).unwrap();
    }
    let npm = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--silent"])
        .current_dir(work.path())
        .status()
        .expect("npm (Debian package npm; `.ci/run` installs it)");
    assert!(npm.success(), "npm install of the BSI validator failed");

    let publisher = CsafPublisher {
        name: "XMPP Standards Foundation".into(),
        namespace: "https://xmpp.org".into(),
        canonical_url: Some("https://cna.xmpp.example/advisories/CVE.csaf.json".into()),
    };
    let mut files = Vec::new();
    for (name, record) in &records {
        // A record without any date cannot become CSAF: the export says so
        // (the official examples carry none); it is not judged.
        let csaf = match to_csaf(record, &publisher) {
            Ok(c) => c,
            Err(e @ cnadesk_cve::osv::ExportError::Date(_)) => {
                eprintln!("{name}: not exported: {e}");
                continue;
            }
            Err(e) => panic!("{name}: {e}"),
        };
        let osv = to_osv(record).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(validate_osv(&osv), Vec::<String>::new(), "{name}: {osv:#}");
        // No placeholder as a product or a version, in either export.
        let mut names = Vec::new();
        words_of(&csaf["product_tree"], "name", &mut names);
        let mut versions = Vec::new();
        for a in osv["affected"].as_array().into_iter().flatten() {
            for v in a["versions"].as_array().into_iter().flatten() {
                versions.push(v.as_str().unwrap_or("").to_owned());
            }
            for key in ["introduced", "fixed", "last_affected"] {
                words_of(&a["ranges"], key, &mut versions);
            }
        }
        for bad in ["n/a", "N/A", "unspecified", "*"] {
            assert!(
                !names.iter().any(|n| n.split_whitespace().any(|w| w == bad)),
                "{name}: CSAF names {bad}: {names:?}"
            );
            assert!(
                !versions.iter().any(|v| v == bad),
                "{name}: OSV version {bad}: {versions:?}"
            );
        }
        let file = work.path().join(name.replace(".json", ".csaf.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(&csaf).unwrap()).unwrap();
        files.push(file);
    }
    let out = Command::new("node")
        .arg("validate.mjs")
        .args(&files)
        .current_dir(work.path())
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!files.is_empty(), "no record could be exported");
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.len(), files.len());
    let failed: Vec<&Value> = results.iter().filter(|r| r["isValid"] != true).collect();
    eprintln!(
        "BSI CSAF validator: {} of {} exports pass the schema and all {} tests",
        results.len() - failed.len(),
        results.len(),
        results[0]["tests"]
    );
    assert!(failed.is_empty(), "{failed:#?}");
}
