//! Export of a published CVE record as a CSAF 2.0 security advisory, and the
//! CSAF section 6.1 mandatory tests that apply to what is emitted.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Map, Value};

use crate::model::{CveRecord, Version};
use crate::osv::ExportError;
use crate::schema::EmbeddedSchema;

/// Who publishes the advisory.
#[derive(Clone, Debug)]
pub struct CsafPublisher {
    /// e.g. `XMPP Standards Foundation`.
    pub name: String,
    /// A URL the publisher controls, e.g. `https://xmpp.org`.
    pub namespace: String,
}

fn utc(value: &str) -> String {
    if value.ends_with('Z')
        || value
            .split('T')
            .nth(1)
            .is_some_and(|t| t.contains('+') || t.contains('-'))
    {
        value.to_owned()
    } else {
        format!("{value}Z")
    }
}

fn range_name(v: &Version) -> Option<String> {
    let scheme = match v.version_type.as_deref() {
        Some("semver") => "semver",
        _ => "generic",
    };
    match (&v.less_than, &v.less_than_or_equal) {
        (Some(u), _) if u == "*" => Some(format!("vers:{scheme}/>={}", v.version)),
        (Some(u), _) => Some(format!("vers:{scheme}/>={}|<{u}", v.version)),
        (None, Some(u)) => Some(format!("vers:{scheme}/>={}|<={u}", v.version)),
        _ => None,
    }
}

/// Converts a published record to a CSAF 2.0 security advisory.
pub fn to_csaf(record: &CveRecord, publisher: &CsafPublisher) -> Result<Value, ExportError> {
    let id = &record.cve_metadata.cve_id;
    let cna = record
        .published()
        .ok_or_else(|| ExportError::NotPublished(id.clone()))?;
    let released = record
        .cve_metadata
        .date_published
        .as_ref()
        .or(cna.date_public.as_ref())
        .or(record.cve_metadata.date_updated.as_ref())
        .or(cna.provider_metadata.date_updated.as_ref())
        .map(|d| utc(d))
        .ok_or_else(|| {
            ExportError::Date(format!("{id} has no publication date: CSAF needs one"))
        })?;
    let current = record
        .cve_metadata
        .date_updated
        .as_ref()
        .map(|d| utc(d))
        .unwrap_or_else(|| released.clone());
    let description = cna
        .descriptions
        .iter()
        .find(|d| d.lang.to_ascii_lowercase().starts_with("en"))
        .map(|d| d.value.clone())
        .unwrap_or_default();

    // Product tree: vendor → product → version or range; one id per leaf.
    let mut vendors: Vec<(String, Vec<Value>)> = Vec::new();
    let mut affected_ids = Vec::new();
    let mut unaffected_ids = Vec::new();
    let mut fixes: Vec<(String, String)> = Vec::new();
    let mut next = 0;
    for p in &cna.affected {
        let vendor = p.vendor.clone().unwrap_or_else(|| "unknown vendor".into());
        let product = p
            .product
            .clone()
            .or(p.package_name.clone())
            .unwrap_or_else(|| "unknown product".into());
        let mut leaves = Vec::new();
        for v in p.versions.iter().flatten() {
            next += 1;
            let pid = format!("CSAFPID-{next:04}");
            let (category, name) = match range_name(v) {
                Some(range) => ("product_version_range", range),
                None => ("product_version", v.version.clone()),
            };
            leaves.push(json!({
                "category": category,
                "name": name,
                "product": {"name": format!("{vendor} {product} {name}"), "product_id": pid},
            }));
            match v.status.as_str() {
                "affected" => {
                    if let Some(fixed) = v.less_than.as_ref().filter(|u| *u != "*") {
                        fixes.push((pid.clone(), fixed.clone()));
                    }
                    affected_ids.push(pid);
                }
                "unaffected" => unaffected_ids.push(pid),
                _ => {}
            }
        }
        if leaves.is_empty() {
            continue;
        }
        let product_branch =
            json!({"category": "product_name", "name": product, "branches": leaves});
        match vendors.iter_mut().find(|(v, _)| *v == vendor) {
            Some((_, products)) => products.push(product_branch),
            None => vendors.push((vendor, vec![product_branch])),
        }
    }
    let branches: Vec<Value> = vendors
        .into_iter()
        .map(|(vendor, products)| json!({"category": "vendor", "name": vendor, "branches": products}))
        .collect();

    let mut vulnerability = Map::new();
    vulnerability.insert("cve".into(), Value::String(id.clone()));
    if let Some((cwe, name)) = cna
        .problem_types
        .iter()
        .flatten()
        .flat_map(|p| p.descriptions.iter())
        .find_map(|d| d.cwe_id.clone().map(|c| (c, d.description.clone())))
    {
        let name = name.trim_start_matches(&cwe).trim().to_owned();
        vulnerability.insert(
            "cwe".into(),
            json!({"id": cwe, "name": if name.is_empty() { cwe.clone() } else { name }}),
        );
    }
    if let Some(t) = &cna.title {
        vulnerability.insert("title".into(), Value::String(t.clone()));
    }
    vulnerability.insert(
        "notes".into(),
        json!([{"category": "description", "title": "Vulnerability description", "text": description}]),
    );
    let mut status = Map::new();
    if !affected_ids.is_empty() {
        status.insert("known_affected".into(), json!(affected_ids));
    }
    if !unaffected_ids.is_empty() {
        status.insert("known_not_affected".into(), json!(unaffected_ids));
    }
    if !status.is_empty() {
        vulnerability.insert("product_status".into(), Value::Object(status));
    }
    let scores: Vec<Value> = cna
        .metrics
        .iter()
        .flatten()
        .flat_map(|m| m.cvss())
        .filter(|(k, _)| *k == "cvssV3_1" || *k == "cvssV3_0")
        .map(|(_, c)| {
            let mut cvss = json!({
                "version": c.version,
                "vectorString": c.vector_string,
                "baseScore": c.base_score,
            });
            if let Some(sev) = &c.base_severity {
                cvss["baseSeverity"] = Value::String(sev.clone());
            }
            json!({"cvss_v3": cvss, "products": affected_ids})
        })
        .filter(|_| !affected_ids.is_empty())
        .collect();
    if !scores.is_empty() {
        vulnerability.insert("scores".into(), Value::Array(scores));
    }
    let remediations: Vec<Value> = fixes
        .iter()
        .map(|(pid, fixed)| {
            json!({"category": "vendor_fix", "details": format!("Update to {fixed} or later."), "product_ids": [pid]})
        })
        .collect();
    if !remediations.is_empty() {
        vulnerability.insert("remediations".into(), Value::Array(remediations));
    }
    let references: Vec<Value> = cna
        .references
        .iter()
        .map(|r| {
            json!({"category": "external", "url": r.url, "summary": r.name.clone().unwrap_or_else(|| r.url.clone())})
        })
        .collect();
    if !references.is_empty() {
        vulnerability.insert("references".into(), Value::Array(references.clone()));
    }
    let mut document_refs = vec![json!({
        "category": "external",
        "summary": format!("CVE record {id}"),
        "url": format!("https://www.cve.org/CVERecord?id={id}"),
    })];
    document_refs.extend(references);
    let title = cna
        .title
        .clone()
        .unwrap_or_else(|| format!("Vulnerability {id}"));
    Ok(json!({
        "document": {
            "category": "csaf_security_advisory",
            "csaf_version": "2.0",
            "lang": "en",
            "title": title,
            "publisher": {"category": "coordinator", "name": publisher.name, "namespace": publisher.namespace},
            "notes": [{"category": "summary", "title": "Summary", "text": description}],
            "references": document_refs,
            "tracking": {
                "id": id,
                "status": "final",
                "version": "1",
                "initial_release_date": released,
                "current_release_date": current,
                "revision_history": [{"date": released, "number": "1", "summary": "Initial version."}],
                "generator": {"engine": {"name": "cnadesk", "version": env!("CARGO_PKG_VERSION")}},
            },
        },
        "product_tree": {"branches": branches},
        "vulnerabilities": [Value::Object(vulnerability)],
    }))
}

static CSAF_SCHEMA: EmbeddedSchema = EmbeddedSchema::new(
    "CSAF",
    include_str!("../schemas/csaf/csaf_json_schema.json"),
    &[
        (
            "https://www.first.org/cvss/cvss-v2.0.json",
            include_str!("../schemas/csaf/cvss-v2.0.json"),
        ),
        (
            "https://www.first.org/cvss/cvss-v3.0.json",
            include_str!("../schemas/csaf/cvss-v3.0.json"),
        ),
        (
            "https://www.first.org/cvss/cvss-v3.1.json",
            include_str!("../schemas/csaf/cvss-v3.1.json"),
        ),
    ],
);

/// Validates a CSAF document against the shipped CSAF 2.0 schema (FIRST
/// CVSS schemas resolved locally); returns the problems.
pub fn validate_csaf_schema(doc: &Value) -> Vec<String> {
    CSAF_SCHEMA.problems(doc)
}

const STATUS_LISTS: [&str; 8] = [
    "first_affected",
    "first_fixed",
    "fixed",
    "known_affected",
    "known_not_affected",
    "last_affected",
    "recommended",
    "under_investigation",
];

fn walk<'a>(v: &'a Value, key: Option<&str>, defs: &mut Vec<&'a str>, refs: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            if matches!(key, Some("full_product_name" | "product"))
                || key == Some("full_product_names_item")
            {
                if let Some(id) = map.get("product_id").and_then(Value::as_str) {
                    defs.push(id);
                }
            }
            for (k, child) in map {
                match (k.as_str(), child) {
                    ("full_product_names", Value::Array(items)) => {
                        for item in items {
                            walk(item, Some("full_product_names_item"), defs, refs);
                        }
                    }
                    ("product_reference" | "relates_to_product_reference", Value::String(s)) => {
                        refs.push(s)
                    }
                    (k, Value::Array(items))
                        if k == "product_ids" || k == "products" || STATUS_LISTS.contains(&k) =>
                    {
                        refs.extend(items.iter().filter_map(Value::as_str));
                    }
                    (k, child) => walk(child, Some(k), defs, refs),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, key, defs, refs);
            }
        }
        _ => {}
    }
}

/// A timestamp as (seconds part, fraction), so that `…:00.00000Z` and
/// `…:00.000Z` are the same instant. Timestamps are compared as UTC text up
/// to the seconds, which is exact for the `Z` form CSAF documents use.
fn instant_key(date: &str) -> (String, f64) {
    let d = date.trim_end_matches('Z');
    match d.split_once('.') {
        Some((whole, frac)) => (whole.to_owned(), format!("0.{frac}").parse().unwrap_or(0.0)),
        None => (d.to_owned(), 0.0),
    }
}

/// A version number (integer or semantic) as comparable parts, without
/// pre-release or build metadata.
fn version_key(v: &str) -> Vec<u64> {
    v.split(['+', '-'])
        .next()
        .unwrap_or(v)
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// The section 6.1 mandatory tests cnadesk checks on what it emits: 6.1.1
/// (every referenced product id is defined), 6.1.2 (no id defined twice),
/// 6.1.16 (the document version is the latest revision), 6.1.22 (no
/// revision number twice) and the `csaf_security_advisory` profile tests
/// 6.1.27.4 (product tree), .5 (vulnerability notes), .6 (product status),
/// .11 (vulnerabilities). Returns (test id, message) per failure.
pub fn mandatory_tests(doc: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let (mut defs, mut refs) = (Vec::new(), Vec::new());
    if let Some(tree) = doc.get("product_tree") {
        walk(tree, None, &mut defs, &mut Vec::new());
    }
    walk(doc, None, &mut Vec::new(), &mut refs);
    let defined: BTreeSet<&str> = defs.iter().copied().collect();
    for r in refs
        .iter()
        .filter(|r| !defined.contains(**r))
        .collect::<BTreeSet<_>>()
    {
        out.push((
            "6.1.1",
            format!("product id {r} is referenced but not defined"),
        ));
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for d in &defs {
        *seen.entry(d).or_default() += 1;
    }
    for (d, n) in seen.iter().filter(|(_, n)| **n > 1) {
        out.push(("6.1.2", format!("product id {d} is defined {n} times")));
    }
    let history: Vec<&Value> = doc
        .pointer("/document/tracking/revision_history")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut numbers = HashMap::new();
    for h in &history {
        if let Some(n) = h.get("number").and_then(Value::as_str) {
            *numbers.entry(n).or_insert(0) += 1;
        }
    }
    for (n, c) in numbers.iter().filter(|(_, c)| **c > 1) {
        out.push(("6.1.22", format!("revision number {n} appears {c} times")));
    }
    // Items sorted by their instant, ties by version order (10 after 9).
    let mut by_date: Vec<((String, f64), Vec<u64>, &str)> = history
        .iter()
        .filter_map(|h| {
            let date = h.get("date")?.as_str()?;
            let number = h.get("number")?.as_str()?;
            Some((instant_key(date), version_key(number), number))
        })
        .collect();
    by_date.sort_by(|a, b| {
        a.0 .0
            .cmp(&b.0 .0)
            .then(a.0 .1.total_cmp(&b.0 .1))
            .then(a.1.cmp(&b.1))
    });
    let status = doc
        .pointer("/document/tracking/status")
        .and_then(Value::as_str);
    if let (Some((_, _, last)), Some(version)) = (
        by_date.last(),
        doc.pointer("/document/tracking/version")
            .and_then(Value::as_str),
    ) {
        let strip = |v: &str| {
            let v = v.split('+').next().unwrap_or(v);
            if status == Some("draft") {
                v.split('-').next().unwrap_or(v).to_owned()
            } else {
                v.to_owned()
            }
        };
        if strip(last) != strip(version) {
            out.push((
                "6.1.16",
                format!("the document version {version} is not the latest revision {last}"),
            ));
        }
    }
    if doc.pointer("/document/category").and_then(Value::as_str) == Some("csaf_security_advisory") {
        if doc.get("product_tree").is_none() {
            out.push((
                "6.1.27.4",
                "a security advisory needs a product tree".into(),
            ));
        }
        let vulns = doc.get("vulnerabilities").and_then(Value::as_array);
        if vulns.is_none_or(|v| v.is_empty()) {
            out.push((
                "6.1.27.11",
                "a security advisory needs vulnerabilities".into(),
            ));
        }
        for (i, v) in vulns.into_iter().flatten().enumerate() {
            if v.get("notes").is_none() {
                out.push(("6.1.27.5", format!("vulnerability {i} has no notes")));
            }
            if v.get("product_status").is_none() {
                out.push((
                    "6.1.27.6",
                    format!("vulnerability {i} has no product status"),
                ));
            }
        }
    }
    out
}
