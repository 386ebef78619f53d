//! Export of a published CVE record as an OSV 1.7 document
//! (<https://ossf.github.io/osv-schema/>), with the CVE ID as the OSV `id`.

use serde_json::{json, Map, Value};

use crate::model::{CveRecord, Product};
use crate::schema::EmbeddedSchema;
use crate::words;

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

/// The OSV ecosystem of a Package URL type, and the package name OSV uses.
fn purl_package(purl: &str) -> Option<(&'static str, String)> {
    let rest = purl.strip_prefix("pkg:")?;
    let (kind, path) = rest.split_once('/')?;
    let path = path.split(['?', '#']).next()?;
    let eco = match kind {
        "npm" => "npm",
        "cargo" => "crates.io",
        "pypi" => "PyPI",
        "maven" => "Maven",
        "nuget" => "NuGet",
        "gem" => "RubyGems",
        "golang" => "Go",
        "hex" => "Hex",
        "composer" => "Packagist",
        "pub" => "Pub",
        _ => return None,
    };
    let name = match eco {
        // Maven names are group:artifact.
        "Maven" => path.replacen('/', ":", 1),
        _ => path.replace("%40", "@"),
    };
    Some((eco, name))
}

fn affected(p: &Product) -> Option<Value> {
    let mut item = Map::new();
    let mut package = match (&p.collection_url, &p.package_name) {
        (Some(url), Some(name)) => {
            ecosystem(url).map(|eco| json!({"ecosystem": eco, "name": name}))
        }
        _ => None,
    };
    if let Some(purl) = p.package_url.as_deref().filter(|u| !u.trim().is_empty()) {
        match &mut package {
            Some(pkg) => pkg["purl"] = json!(purl),
            None => {
                package = purl_package(purl)
                    .map(|(eco, name)| json!({"ecosystem": eco, "name": name, "purl": purl}));
            }
        }
    }
    let has_package = package.is_some();
    if let Some(pkg) = package {
        item.insert("package".into(), pkg);
    }
    let mut ranges = Vec::new();
    let mut unpackaged = Vec::new();
    let mut versions = Vec::new();
    for v in p
        .versions
        .iter()
        .flatten()
        .filter(|v| v.status == "affected")
    {
        // Bounds as exports take them: placeholders bound nothing, prose
        // ("before 1.0.4") states its bound, an unknown start is "0".
        let upper = v
            .less_than
            .as_deref()
            .filter(|u| words::is_version(u))
            .map(|u| ("fixed", u.trim().to_owned()))
            .or(v
                .less_than_or_equal
                .as_deref()
                .filter(|u| words::is_version(u))
                .map(|u| ("last_affected", u.trim().to_owned())));
        let open_ended =
            upper.is_none() && (v.less_than.is_some() || v.less_than_or_equal.is_some());
        let introduced = words::lower_bound(&v.version)
            .filter(|l| words::is_version(l))
            .unwrap_or("0")
            .to_owned();
        let events = match (upper, open_ended) {
            (Some((kind, u)), _) => {
                Some(vec![json!({"introduced": introduced}), json!({ kind: u })])
            }
            (None, true) => Some(vec![json!({"introduced": introduced})]),
            (None, false) if words::is_version(&v.version) => {
                versions.push(Value::String(v.version.trim().to_owned()));
                None
            }
            (None, false) => match words::prose_bound(&v.version) {
                Some(words::Bound::Below(u)) => {
                    Some(vec![json!({"introduced": "0"}), json!({"fixed": u})])
                }
                Some(words::Bound::UpTo(u)) => Some(vec![
                    json!({"introduced": "0"}),
                    json!({"last_affected": u}),
                ]),
                Some(words::Bound::From(l)) => Some(vec![json!({"introduced": l})]),
                None => None,
            },
        };
        let Some(events) = events else { continue };
        if v.version_type.as_deref() == Some("semver") {
            ranges.push(json!({"type": "SEMVER", "events": events}));
        } else if has_package {
            ranges.push(json!({"type": "ECOSYSTEM", "events": events}));
        } else {
            // OSV's ECOSYSTEM ranges need a package: kept, but outside.
            unpackaged.push(json!({"version_type": v.version_type, "events": events}));
        }
    }
    if ranges.is_empty()
        && versions.is_empty()
        && unpackaged.is_empty()
        && p.default_status.as_deref() != Some("affected")
    {
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
        if let Some(v) = v.as_ref().filter(|v| !words::is_placeholder(v)) {
            specific.insert(k.into(), Value::String(v.clone()));
        }
    }
    if !unpackaged.is_empty() {
        specific.insert("ranges".into(), Value::Array(unpackaged));
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
