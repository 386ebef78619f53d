//! Export of a published CVE record as an OSV 1.7 document
//! (<https://ossf.github.io/osv-schema/>), with the CVE ID as the OSV `id`.

use serde_json::{json, Map, Value};

use crate::model::{CveRecord, Product};
use crate::schema::EmbeddedSchema;

/// The OSV schema version emitted.
pub const OSV_SCHEMA_VERSION: &str = "1.7.5";

/// Why a record cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Only published records are exported.
    #[error("{0} is not published: only published records can be exported")]
    NotPublished(String),
    /// A required date is missing or unusable.
    #[error("{0}")]
    Date(String),
}

/// OSV needs UTC timestamps ending in Z: a timestamp without a zone is taken
/// as UTC (as the CVE format intends); one with another offset is refused.
fn utc(value: &str, what: &str) -> Result<String, ExportError> {
    if value.ends_with('Z') {
        return Ok(value.to_owned());
    }
    let time_part = value.split('T').nth(1).unwrap_or("");
    if time_part.contains('+') || time_part.contains('-') {
        return Err(ExportError::Date(format!(
            "{what} `{value}` has a UTC offset; write it in UTC with Z"
        )));
    }
    Ok(format!("{value}Z"))
}

/// The OSV ecosystem of a package registry URL, when OSV knows it.
fn ecosystem(collection_url: &str) -> Option<&'static str> {
    let u = collection_url.to_ascii_lowercase();
    [
        ("crates.io", "crates.io"),
        ("npmjs", "npm"),
        ("pypi.org", "PyPI"),
        ("hex.pm", "Hex"),
        ("rubygems", "RubyGems"),
        ("packagist", "Packagist"),
        ("nuget", "NuGet"),
        ("repo.maven", "Maven"),
        ("maven.org", "Maven"),
        ("pkg.go.dev", "Go"),
        ("proxy.golang.org", "Go"),
        ("pub.dev", "Pub"),
    ]
    .iter()
    .find(|(needle, _)| u.contains(needle))
    .map(|(_, eco)| *eco)
}

fn affected(p: &Product) -> Option<Value> {
    let mut item = Map::new();
    if let (Some(url), Some(name)) = (&p.collection_url, &p.package_name) {
        if let Some(eco) = ecosystem(url) {
            item.insert("package".into(), json!({"ecosystem": eco, "name": name}));
        }
    }
    let mut ranges = Vec::new();
    let mut versions = Vec::new();
    for v in p
        .versions
        .iter()
        .flatten()
        .filter(|v| v.status == "affected")
    {
        let upper = v
            .less_than
            .as_ref()
            .map(|u| ("fixed", u))
            .or(v.less_than_or_equal.as_ref().map(|u| ("last_affected", u)));
        match upper {
            Some((kind, upper)) => {
                let mut events = vec![json!({"introduced": v.version})];
                if upper != "*" {
                    events.push(json!({ kind: upper }));
                }
                let semver = v.version_type.as_deref() == Some("semver");
                ranges.push(json!({
                    "type": if semver { "SEMVER" } else { "ECOSYSTEM" },
                    "events": events,
                }));
            }
            None => versions.push(Value::String(v.version.clone())),
        }
    }
    if ranges.is_empty() && versions.is_empty() && p.default_status.as_deref() != Some("affected") {
        return None;
    }
    if !ranges.is_empty() {
        item.insert("ranges".into(), Value::Array(ranges));
    }
    if !versions.is_empty() {
        item.insert("versions".into(), Value::Array(versions));
    }
    let mut specific = Map::new();
    for (k, v) in [
        ("vendor", &p.vendor),
        ("product", &p.product),
        ("default_status", &p.default_status),
        ("repo", &p.repo),
    ] {
        if let Some(v) = v {
            specific.insert(k.into(), Value::String(v.clone()));
        }
    }
    item.insert("database_specific".into(), Value::Object(specific));
    Some(Value::Object(item))
}

fn reference_type(tags: &[String]) -> &'static str {
    let has = |t: &str| tags.iter().any(|x| x == t);
    if has("vendor-advisory") || has("third-party-advisory") {
        "ADVISORY"
    } else if has("patch") {
        "FIX"
    } else if has("exploit") {
        "EVIDENCE"
    } else if has("issue-tracking") {
        "REPORT"
    } else if has("mailing-list") {
        "DISCUSSION"
    } else if has("technical-description") {
        "ARTICLE"
    } else {
        "WEB"
    }
}

fn credit_type(cve: Option<&str>) -> &'static str {
    match cve.unwrap_or("other") {
        "finder" => "FINDER",
        "reporter" => "REPORTER",
        "analyst" => "ANALYST",
        "coordinator" => "COORDINATOR",
        "remediation developer" => "REMEDIATION_DEVELOPER",
        "remediation reviewer" => "REMEDIATION_REVIEWER",
        "remediation verifier" => "REMEDIATION_VERIFIER",
        "tool" => "TOOL",
        "sponsor" => "SPONSOR",
        _ => "OTHER",
    }
}

/// Converts a published record to OSV.
pub fn to_osv(record: &CveRecord) -> Result<Value, ExportError> {
    let id = &record.cve_metadata.cve_id;
    let cna = record
        .published()
        .ok_or_else(|| ExportError::NotPublished(id.clone()))?;
    let modified = record
        .cve_metadata
        .date_updated
        .as_ref()
        .or(cna.provider_metadata.date_updated.as_ref())
        .or(record.cve_metadata.date_published.as_ref())
        .ok_or_else(|| {
            ExportError::Date(format!(
                "{id} has no dateUpdated or datePublished: OSV requires `modified`"
            ))
        })?;
    let mut doc = Map::new();
    doc.insert("schema_version".into(), OSV_SCHEMA_VERSION.into());
    doc.insert("id".into(), Value::String(id.clone()));
    doc.insert("modified".into(), utc(modified, "modified")?.into());
    if let Some(p) = record
        .cve_metadata
        .date_published
        .as_ref()
        .or(cna.date_public.as_ref())
    {
        doc.insert("published".into(), utc(p, "published")?.into());
    }
    if let Some(t) = &cna.title {
        doc.insert("summary".into(), Value::String(t.clone()));
    }
    if let Some(d) = cna
        .descriptions
        .iter()
        .find(|d| d.lang.to_ascii_lowercase().starts_with("en"))
    {
        doc.insert("details".into(), Value::String(d.value.clone()));
    }
    let affected: Vec<Value> = cna.affected.iter().filter_map(affected).collect();
    doc.insert("affected".into(), Value::Array(affected));
    let mut severity = Vec::new();
    for m in cna.metrics.iter().flatten() {
        for (key, cvss) in m.cvss() {
            let kind = match key {
                "cvssV4_0" => "CVSS_V4",
                "cvssV3_1" | "cvssV3_0" => "CVSS_V3",
                _ => "CVSS_V2",
            };
            severity.push(json!({"type": kind, "score": cvss.vector_string}));
        }
    }
    if !severity.is_empty() {
        doc.insert("severity".into(), Value::Array(severity));
    }
    let references: Vec<Value> = cna
        .references
        .iter()
        .map(|r| {
            json!({
                "type": reference_type(r.tags.as_deref().unwrap_or(&[])),
                "url": r.url,
            })
        })
        .collect();
    doc.insert("references".into(), Value::Array(references));
    let credits: Vec<Value> = cna
        .credits
        .iter()
        .flatten()
        .map(|c| json!({"name": c.value, "type": credit_type(c.kind.as_deref())}))
        .collect();
    if !credits.is_empty() {
        doc.insert("credits".into(), Value::Array(credits));
    }
    let cwes: Vec<Value> = cna
        .problem_types
        .iter()
        .flatten()
        .flat_map(|p| p.descriptions.iter())
        .filter_map(|d| d.cwe_id.clone().map(Value::String))
        .collect();
    let mut specific = Map::new();
    if !cwes.is_empty() {
        specific.insert("cwe_ids".into(), Value::Array(cwes));
    }
    if let Some(cna_name) = &record.cve_metadata.assigner_short_name {
        specific.insert("cna".into(), Value::String(cna_name.clone()));
    }
    doc.insert("database_specific".into(), Value::Object(specific));
    Ok(Value::Object(doc))
}

static OSV_SCHEMA: EmbeddedSchema = EmbeddedSchema::new(
    "OSV",
    include_str!("../schemas/osv/osv-schema-1.7.5.json"),
    &[],
);

/// Validates an OSV document against the shipped OSV schema; returns the
/// problems (empty: valid).
pub fn validate_osv(doc: &Value) -> Vec<String> {
    OSV_SCHEMA.problems(doc)
}
