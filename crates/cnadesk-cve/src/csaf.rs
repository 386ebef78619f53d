//! Export of a published CVE record as a CSAF 2.0 security advisory, and the
//! CSAF section 6.1 mandatory tests that apply to what is emitted.

use std::collections::{BTreeSet, HashMap};

use serde_json::{json, Map, Value};

use crate::model::{CveRecord, Version};
use crate::osv::ExportError;
use crate::schema::EmbeddedSchema;
use crate::words;

/// Who publishes the advisory.
#[derive(Clone, Debug)]
pub struct CsafPublisher {
    /// e.g. `XMPP Standards Foundation`.
    pub name: String,
    /// A URL the publisher controls, e.g. `https://xmpp.org`.
    pub namespace: String,
    /// Where this advisory is published (its canonical URL, a `self`
    /// reference), when the publisher serves it.
    pub canonical_url: Option<String>,
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

/// What a version entry names in the product tree: a version, a range
/// (`vers:` syntax), or nothing (placeholders, prose that states no bound):
/// then the product itself is what the status is about.
fn leaf_name(v: &Version) -> Option<(&'static str, String)> {
    let scheme = match v.version_type.as_deref() {
        Some("semver") => "semver",
        _ => "generic",
    };
    let lower = words::lower_bound(&v.version).filter(|l| words::is_version(l));
    let range = |upper: Option<String>| {
        let mut parts = Vec::new();
        if let Some(l) = lower {
            parts.push(format!(">={l}"));
        }
        if let Some(u) = upper {
            parts.push(u);
        }
        (!parts.is_empty()).then(|| {
            (
                "product_version_range",
                format!("vers:{scheme}/{}", parts.join("|")),
            )
        })
    };
    let bound = |u: &str, op: &str| (words::is_version(u)).then(|| format!("{op}{}", u.trim()));
    match (&v.less_than, &v.less_than_or_equal) {
        (Some(u), _) if words::is_placeholder(u) => range(None),
        (Some(u), _) => range(bound(u, "<")),
        (None, Some(u)) if words::is_placeholder(u) => range(None),
        (None, Some(u)) => range(bound(u, "<=")),
        _ if words::is_version(&v.version) => {
            Some(("product_version", v.version.trim().to_owned()))
        }
        _ => match words::prose_bound(&v.version)? {
            words::Bound::Below(u) => {
                Some(("product_version_range", format!("vers:{scheme}/<{u}")))
            }
            words::Bound::UpTo(u) => {
                Some(("product_version_range", format!("vers:{scheme}/<={u}")))
            }
            words::Bound::From(l) => {
                Some(("product_version_range", format!("vers:{scheme}/>={l}")))
            }
        },
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
        let named = |s: &Option<String>| s.clone().filter(|v| !words::is_placeholder(v));
        let vendor = named(&p.vendor).unwrap_or_else(|| "unknown vendor".into());
        // A product no record field names is left out (its text is in the
        // description): "n/a" is no product.
        let Some(product) = named(&p.product).or(named(&p.package_name)) else {
            continue;
        };
        let helper = p
            .package_url
            .as_ref()
            .filter(|u| !u.trim().is_empty())
            .map(|u| json!({ "purl": u }));
        let full_name = |name: Option<&str>| {
            let base = words::product_name(p.vendor.as_deref().unwrap_or(""), &product);
            match name {
                Some(n) => format!("{base} {n}"),
                None => base,
            }
        };
        let mut leaves = Vec::new();
        let mut bare: Option<String> = None;
        for v in p.versions.iter().flatten() {
            let pid = match leaf_name(v) {
                Some((category, name)) => {
                    next += 1;
                    let pid = format!("CSAFPID-{next:04}");
                    let mut full = json!({"name": full_name(Some(&name)), "product_id": pid});
                    if let Some(h) = &helper {
                        full["product_identification_helper"] = h.clone();
                    }
                    leaves.push(json!({"category": category, "name": name, "product": full}));
                    pid
                }
                // No version: the status is the product's.
                None => match &bare {
                    Some(pid) => pid.clone(),
                    None => {
                        next += 1;
                        let pid = format!("CSAFPID-{next:04}");
                        bare = Some(pid.clone());
                        pid
                    }
                },
            };
            match v.status.as_str() {
                "affected" => {
                    if let Some(fixed) = v.less_than.as_ref().filter(|u| words::is_version(u)) {
                        fixes.push((pid.clone(), fixed.trim().to_owned()));
                    }
                    if !affected_ids.contains(&pid) {
                        affected_ids.push(pid);
                    }
                }
                "unaffected" if !unaffected_ids.contains(&pid) => unaffected_ids.push(pid),
                _ => {}
            }
        }
        let mut product_branch = json!({"category": "product_name", "name": product});
        if leaves.is_empty() {
            // The product itself is the leaf.
            let Some(pid) = bare else { continue };
            let mut full = json!({"name": full_name(None), "product_id": pid});
            if let Some(h) = &helper {
                full["product_identification_helper"] = h.clone();
            }
            product_branch["product"] = full;
        } else {
            if let Some(pid) = bare {
                // Some entries had versions, others none: the product too.
                leaves.push(json!({
                    "category": "product_version_range",
                    "name": "vers:generic/*",
                    "product": {"name": full_name(Some("(every version)")), "product_id": pid},
                }));
            }
            product_branch["branches"] = Value::Array(leaves);
        }
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
    // The CWE list's own name (test 6.1.11); an ID the list does not know
    // is left out rather than named wrongly.
    if let Some(entry) = cna
        .problem_types
        .iter()
        .flatten()
        .flat_map(|p| p.descriptions.iter())
        .find_map(|d| d.cwe_id.as_deref().and_then(crate::cwe::lookup))
    {
        vulnerability.insert("cwe".into(), json!({"id": entry.id, "name": entry.name}));
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
        // One score per CVSS version for the same products (test 6.1.7):
        // the first one the record lists (other scenarios stay in the
        // CVE record).
        .scan(Vec::new(), |seen: &mut Vec<String>, (_, c)| {
            let first = !seen.contains(&c.version);
            seen.push(c.version.clone());
            Some(first.then_some(c))
        })
        .flatten()
        .map(|c| {
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
    let mut document_refs = Vec::new();
    if let Some(url) = &publisher.canonical_url {
        document_refs.push(json!({
            "category": "self",
            "summary": format!("This advisory ({id}) as CSAF"),
            "url": url,
        }));
    }
    document_refs.push(json!({
        "category": "external",
        "summary": format!("CVE record {id}"),
        "url": format!("https://www.cve.org/CVERecord?id={id}"),
    }));
    document_refs.extend(references);
    let title = cna
        .title
        .clone()
        .unwrap_or_else(|| format!("Vulnerability {id}"));
    // A record that names no product ("n/a") cannot make a security
    // advisory's product tree: it is exported as a CSAF base document with
    // its vulnerability, rather than with an invented product.
    let category = if branches.is_empty() {
        "csaf_base"
    } else {
        "csaf_security_advisory"
    };
    let mut doc = json!({
        "document": {
            "category": category,
            "csaf_version": "2.0",
            "lang": "en",
            "title": title,
            "publisher": {"category": "coordinator", "name": publisher.name, "namespace": publisher.namespace},
            // A published CVE record is public: TLP:WHITE (CSAF 2.0 labels).
            "distribution": {"tlp": {"label": "WHITE", "url": "https://www.first.org/tlp/"}},
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
        "vulnerabilities": [Value::Object(vulnerability)],
    });
    if !branches.is_empty() {
        doc["product_tree"] = json!({ "branches": branches });
    }
    Ok(doc)
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
