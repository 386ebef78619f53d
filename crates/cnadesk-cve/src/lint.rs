//! The CNA Operational Rules 4.2.0, beyond what the schema can say.
//!
//! Every finding has a stable id, a severity (errors block publication) and
//! cites the rule it enforces.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::{CnaContainer, CnaPublishedContainer, CveRecord, Cvss, Version};

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks publication.
    Error,
    /// Worth a look; does not block.
    Warning,
}

/// One lint finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id, e.g. `cna-5.1.3-affected-product`.
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// JSON pointer to what is wrong.
    pub pointer: String,
    /// What is wrong and what to do.
    pub message: String,
    /// The rule, e.g. `CNA Operational Rules 4.2.0, 5.1.3`.
    pub rule: &'static str,
}

/// What the desk knows beyond the record.
#[derive(Clone, Debug, Default)]
pub struct LintContext {
    /// Names of affected products known to be end-of-life or archived
    /// (from the ecosystem registry). When every affected product is in this
    /// list, the record must carry `unsupported-when-assigned`.
    pub unsupported_products: Vec<String>,
    /// The address of the desk's own advisory pages (`https://…/advisories/`),
    /// which go public with the record: a reference under it is the CNA's
    /// advisory, not a placeholder, even on a desk served from a local
    /// address (a demo or test desk).
    pub own_advisories: Option<String>,
}

const R_513: &str =
    "CNA Operational Rules 4.2.0, 5.1.3: a CVE Record MUST identify at least one affected Product";
const R_514: &str = "CNA Operational Rules 4.2.0, 5.1.4: MUST identify at least one Product as “affected” or “unknown”";
const R_518: &str =
    "CNA Operational Rules 4.2.0, 5.1.8: MUST NOT only contain Products with “unaffected” status";
const R_517: &str =
    "CNA Operational Rules 4.2.0, 5.1.7: MUST specify the type or cause of the Vulnerability; SHOULD use CWE";
const R_5171: &str = "CNA Operational Rules 4.2.0, 5.1.7.1: MAY convey that there is not enough information to determine a type or cause at publication; MUST provide a problem type when sufficient information becomes available";
const R_CWE: &str = "CWE list 4.14 mapping guidance (MITRE), applying CNA Operational Rules 4.2.0, 5.1.7: SHOULD use CWE";
const R_5335: &str = "CNA Operational Rules 4.2.0, 5.1.10 and 5.3.3.5: a reference MUST NOT be a reference to the CVE Record itself";
const R_521: &str =
    "CNA Operational Rules 4.2.0, 5.2.1: the description MUST summarize the Vulnerability";
const R_524: &str = "CNA Operational Rules 4.2.0, 5.2.4: the description MUST NOT credit people, organizations, or tools";
const R_525: &str = "CNA Operational Rules 4.2.0, 5.2.5: MUST include one description in English";
const R_526: &str = "CNA Operational Rules 4.2.0, 5.2.6: MUST NOT contain information not relevant to the Vulnerability";
const R_527: &str = "CNA Operational Rules 4.2.0, 5.2.7: SHOULD NOT only describe one CVE Record as being different than another";
const R_531: &str = "CNA Operational Rules 4.2.0, 5.3.1: a public reference MUST exist before or with the CVE Record; 5.1.10: at least one public reference";
const R_VERSIONS: &str = "CVE Record Format: version ranges (lessThan/lessThanOrEqual above version; versionType with ranges)";
const R_CVSS: &str =
    "CVSS specification (FIRST): the base score and severity follow from the vector";
const R_42171: &str = "CNA Operational Rules 4.2.0, 4.2.17.1: records that only cover Products that no longer receive Fixes MUST be tagged “unsupported-when-assigned”";
const R_PURL: &str = "CVE Record Format 5.2 (packageURL MUST NOT include a version) and CVE Services' validatePURL: a parsable Package URL without version, `vers`, empty qualifier values, %3a or empty/./.. subpath segments";
const R_TIME: &str = "CVE Record Format: timestamps in UTC, emitted with Z";

struct Lint<'a> {
    base: String,
    out: Vec<Finding>,
    ctx: &'a LintContext,
}

impl Lint<'_> {
    fn push(
        &mut self,
        id: &'static str,
        severity: Severity,
        path: &str,
        message: String,
        rule: &'static str,
    ) {
        self.out.push(Finding {
            id,
            severity,
            pointer: format!("{}{}", self.base, path),
            message,
            rule,
        });
    }
}

/// Lints a whole record or a bare published CNA container.
pub fn lint(doc: &Value, ctx: &LintContext) -> Vec<Finding> {
    let (container, base, record) =
        if doc.get("dataType").is_some() || doc.get("cveMetadata").is_some() {
            match serde_json::from_value::<CveRecord>(doc.clone()) {
                Ok(r) => match &r.containers.cna {
                    CnaContainer::Published(c) => {
                        ((**c).clone(), "/containers/cna".to_owned(), Some(r))
                    }
                    CnaContainer::Rejected(_) => return rejected_findings(&r),
                },
                Err(e) => return unreadable(e),
            }
        } else {
            match serde_json::from_value::<CnaPublishedContainer>(doc.clone()) {
                Ok(c) => (c, String::new(), None),
                Err(e) => return unreadable(e),
            }
        };
    let mut l = Lint {
        base,
        out: Vec::new(),
        ctx,
    };
    if let Some(r) = &record {
        let m = &r.cve_metadata;
        for (name, value) in [
            ("dateUpdated", &m.date_updated),
            ("dateReserved", &m.date_reserved),
            ("datePublished", &m.date_published),
        ] {
            if let Some(v) = value {
                check_time(&mut l.out, &format!("/cveMetadata/{name}"), v);
            }
        }
    }
    lint_container(&mut l, &container);
    // Package URLs as CVE Services checks them in code (the schema says
    // only "a URI").
    for (i, p) in container.affected.iter().enumerate() {
        if let Some(message) = p.package_url.as_deref().and_then(crate::purl::problem) {
            let pointer = format!("/affected/{i}/packageURL");
            l.push(
                "cve-services-purl",
                Severity::Error,
                &pointer,
                message,
                R_PURL,
            );
        }
    }
    l.out.sort_by_key(|f| f.severity);
    l.out
}

fn unreadable(e: serde_json::Error) -> Vec<Finding> {
    vec![Finding {
        id: "record-unreadable",
        severity: Severity::Error,
        pointer: String::new(),
        message: format!(
            "the record cannot be read as a CVE record: {e}; validate it against the schema first"
        ),
        rule: "CVE Record Format",
    }]
}

fn rejected_findings(r: &CveRecord) -> Vec<Finding> {
    let mut out = Vec::new();
    if let Some(v) = &r.cve_metadata.date_rejected {
        check_time(&mut out, "/cveMetadata/dateRejected", v);
    }
    out
}

fn check_time(out: &mut Vec<Finding>, pointer: &str, value: &str) {
    if !value.ends_with('Z') {
        out.push(Finding {
            id: "time-not-utc-z",
            severity: Severity::Error,
            pointer: pointer.to_owned(),
            message: format!(
                "timestamp `{value}` must be in UTC and end with Z (e.g. 2026-11-24T10:00:00Z)"
            ),
            rule: R_TIME,
        });
    }
}

fn lint_container(l: &mut Lint<'_>, c: &CnaPublishedContainer) {
    // Timestamps.
    let mut times = Vec::new();
    if let Some(v) = &c.provider_metadata.date_updated {
        times.push(("/providerMetadata/dateUpdated".to_owned(), v.clone()));
    }
    if let Some(v) = &c.date_assigned {
        times.push(("/dateAssigned".to_owned(), v.clone()));
    }
    if let Some(v) = &c.date_public {
        times.push(("/datePublic".to_owned(), v.clone()));
    }
    for (i, t) in c.timeline.iter().flatten().enumerate() {
        times.push((format!("/timeline/{i}/time"), t.time.clone()));
    }
    for (p, v) in times {
        let pointer = format!("{}{}", l.base, p);
        check_time(&mut l.out, &pointer, &v);
    }
    lint_affected(l, c);
    lint_problem_types(l, c);
    lint_descriptions(l, c);
    lint_references(l, c);
    lint_metrics(l, c);
    lint_tags(l, c);
}

fn lint_affected(l: &mut Lint<'_>, c: &CnaPublishedContainer) {
    let identified = c.affected.iter().any(|p| {
        (p.vendor
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty() && v != "n/a")
            && p.product
                .as_deref()
                .is_some_and(|v| !v.trim().is_empty() && v != "n/a"))
            || (p.collection_url.is_some() && p.package_name.is_some())
    });
    if !identified {
        l.push(
            "cna-5.1.3-affected-product",
            Severity::Error,
            "/affected",
            "no affected product is identified: give vendor and product (or collectionURL and packageName)".into(),
            R_513,
        );
    }
    let mut statuses = Vec::new();
    for p in &c.affected {
        if let Some(s) = &p.default_status {
            statuses.push(s.as_str());
        }
        for v in p.versions.iter().flatten() {
            statuses.push(v.status.as_str());
            for ch in v.changes.iter().flatten() {
                if let Some(s) = ch.get("status").and_then(Value::as_str) {
                    statuses.push(s);
                }
            }
        }
    }
    if !statuses
        .iter()
        .any(|s| matches!(*s, "affected" | "unknown"))
    {
        l.push(
            "cna-5.1.4-affected-status",
            Severity::Error,
            "/affected",
            "no product or version has status \"affected\" or \"unknown\"".into(),
            R_514,
        );
    }
    if !statuses.is_empty() && statuses.iter().all(|s| *s == "unaffected") {
        l.push(
            "cna-5.1.8-only-unaffected",
            Severity::Error,
            "/affected",
            "every status is \"unaffected\": that is not a vulnerability".into(),
            R_518,
        );
    }
    for (i, p) in c.affected.iter().enumerate() {
        for (j, v) in p.versions.iter().flatten().enumerate() {
            lint_version(l, &format!("/affected/{i}/versions/{j}"), v);
        }
    }
}

/// Compares dotted numeric versions (`1.2.10` > `1.2.9`); `None` when either
/// is not purely numeric, so only comparable versions are judged.
pub fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    let parse = |s: &str| -> Option<Vec<u64>> {
        let s = s.trim().trim_start_matches('v');
        s.split(['.', '-', '_'])
            .map(|p| p.parse::<u64>().ok())
            .collect()
    };
    let (mut x, mut y) = (parse(a)?, parse(b)?);
    let n = x.len().max(y.len());
    x.resize(n, 0);
    y.resize(n, 0);
    Some(x.cmp(&y))
}

fn lint_version(l: &mut Lint<'_>, path: &str, v: &Version) {
    let ranged = v.less_than.is_some() || v.less_than_or_equal.is_some() || v.changes.is_some();
    if ranged
        && v.version_type
            .as_deref()
            .is_none_or(|t| t.trim().is_empty())
    {
        l.push(
            "version-range-needs-type",
            Severity::Error,
            &format!("{path}/versionType"),
            format!(
                "the range starting at `{}` has no versionType (e.g. \"semver\", \"custom\", \"git\"); ranges are meaningless without one",
                v.version
            ),
            R_VERSIONS,
        );
    }
    if let Some(upper) = v.less_than.as_deref().filter(|u| *u != "*") {
        if upper == v.version
            || compare_versions(upper, &v.version).is_some_and(|o| o != Ordering::Greater)
        {
            l.push(
                "version-less-than-not-above",
                Severity::Error,
                &format!("{path}/lessThan"),
                format!(
                    "lessThan `{upper}` must be above version `{}`: the range is empty",
                    v.version
                ),
                R_VERSIONS,
            );
        }
    }
    if let Some(upper) = v.less_than_or_equal.as_deref().filter(|u| *u != "*") {
        if compare_versions(upper, &v.version) == Some(Ordering::Less) {
            l.push(
                "version-less-than-not-above",
                Severity::Error,
                &format!("{path}/lessThanOrEqual"),
                format!(
                    "lessThanOrEqual `{upper}` is below version `{}`: the range is empty",
                    v.version
                ),
                R_VERSIONS,
            );
        }
    }
}

fn lint_problem_types(l: &mut Lint<'_>, c: &CnaPublishedContainer) {
    let descriptions: Vec<_> = c
        .problem_types
        .iter()
        .flatten()
        .flat_map(|p| p.descriptions.iter())
        .filter(|d| !d.description.trim().is_empty())
        .collect();
    if descriptions.is_empty() {
        l.push(
            "cna-5.1.7-problem-type",
            Severity::Error,
            "/problemTypes",
            "the type of vulnerability is missing: add a problem type (preferably a CWE)".into(),
            R_517,
        );
    } else if !descriptions.iter().any(|d| d.cwe_id.is_some()) {
        let no_info = descriptions.iter().any(|d| {
            let t = d.description.to_ascii_lowercase();
            t.contains("noinfo") || t.contains("not enough information")
        });
        if no_info {
            l.push(
                "cna-5.1.7.1-not-enough-information",
                Severity::Warning,
                "/problemTypes",
                "the problem type says there is not enough information: update the record with a CWE once the cause is known".into(),
                R_5171,
            );
        } else {
            l.push(
                "cna-5.1.7-cwe",
                Severity::Warning,
                "/problemTypes",
                "no problem type names a CWE; the rules recommend classifying with CWE".into(),
                R_517,
            );
        }
    }
    for (i, p) in c.problem_types.iter().flatten().enumerate() {
        for (j, d) in p.descriptions.iter().enumerate() {
            let Some(id) = d.cwe_id.as_deref() else {
                continue;
            };
            let path = format!("/problemTypes/{i}/descriptions/{j}/cweId");
            let Some(entry) = crate::cwe::lookup(id) else {
                l.push(
                    "cwe-unknown",
                    Severity::Warning,
                    &path,
                    format!(
                        "{id} is not in the CWE list {}: check the number",
                        crate::cwe::VERSION
                    ),
                    R_CWE,
                );
                continue;
            };
            if !d.description.contains(entry.name.as_str()) {
                l.push(
                    "cwe-name-not-official",
                    Severity::Warning,
                    &path,
                    format!(
                        "the CWE list names {} “{}”: use the official name",
                        entry.id, entry.name
                    ),
                    R_CWE,
                );
            }
            let severity = match entry.usage {
                crate::cwe::Usage::Prohibited => Some(Severity::Error),
                crate::cwe::Usage::Discouraged => Some(Severity::Warning),
                _ => None,
            };
            if let (Some(severity), Some(warning)) = (severity, entry.usage.warning()) {
                l.push(
                    if severity == Severity::Error {
                        "cwe-mapping-prohibited"
                    } else {
                        "cwe-mapping-discouraged"
                    },
                    severity,
                    &path,
                    format!("{}: {warning}", entry.id),
                    R_CWE,
                );
            }
        }
    }
}

const CREDIT_PHRASES: [&str; 9] = [
    "discovered by",
    "reported by",
    "found by",
    "thanks to",
    "credit to",
    "credited to",
    "identified by",
    "acknowledgement",
    "acknowledgment",
];

const DIFFERENT_PHRASES: [&str; 6] = [
    "similar to cve-",
    "like cve-",
    "different from cve-",
    "different than cve-",
    "different vulnerability than cve-",
    "variant of cve-",
];

const PLACEHOLDERS: [&str; 5] = ["todo", "tbd", "lorem ipsum", "[description]", "fixme"];

fn lint_descriptions(l: &mut Lint<'_>, c: &CnaPublishedContainer) {
    let english: Vec<(usize, &str)> = c
        .descriptions
        .iter()
        .enumerate()
        .filter(|(_, d)| d.lang.to_ascii_lowercase().starts_with("en"))
        .map(|(i, d)| (i, d.value.trim()))
        .collect();
    if english.is_empty() {
        l.push(
            "cna-5.2.5-english",
            Severity::Error,
            "/descriptions",
            "there is no description in English (lang \"en\")".into(),
            R_525,
        );
    }
    let title = c.title.as_deref().unwrap_or("").trim().to_lowercase();
    for (i, text) in english {
        let path = format!("/descriptions/{i}/value");
        let lower = text.to_lowercase();
        let words = text.split_whitespace().count();
        if words < 8 || lower == title {
            l.push(
                "cna-5.2.1-summary",
                Severity::Error,
                &path,
                format!("the description reads like a title ({words} words): say what the flaw is, in which product and versions, and what an attacker gains"),
                R_521,
            );
        }
        if let Some(p) = CREDIT_PHRASES.iter().find(|p| lower.contains(*p)) {
            l.push(
                "cna-5.2.4-credit-in-description",
                Severity::Error,
                &path,
                format!(
                    "the description credits someone (\"{p}\"); move credit to the credits element"
                ),
                R_524,
            );
        }
        if let Some(p) = DIFFERENT_PHRASES.iter().find(|p| lower.contains(*p)) {
            if words < 30 {
                l.push(
                    "cna-5.2.7-only-different",
                    Severity::Warning,
                    &path,
                    format!("the description mostly compares with another CVE (\"{}\"); describe this vulnerability on its own", p.trim_end_matches("cve-")),
                    R_527,
                );
            }
        }
        if let Some(p) = PLACEHOLDERS.iter().find(|p| {
            lower
                .split(|ch: char| !ch.is_alphanumeric() && ch != '[' && ch != ']')
                .any(|w| w == **p)
                || (p.contains(' ') && lower.contains(*p))
        }) {
            l.push(
                "cna-5.2.6-placeholder-text",
                Severity::Error,
                &path,
                format!("the description contains placeholder text (\"{p}\")"),
                R_526,
            );
        }
    }
}

/// The host of a URL, lowercased, without port or credentials.
fn host(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let host = if authority.starts_with('[') {
        authority.split(']').next()?.trim_start_matches('[')
    } else {
        authority.split(':').next()?
    };
    Some(host.to_ascii_lowercase())
}

/// Whether a URL is a CVE Record at the CVE Program (cve.org, the CVE
/// Services API, the old cve.mitre.org pages).
pub fn is_cve_record_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let Some(h) = host(&lower) else {
        return false;
    };
    let path = lower.split_once("://").map(|(_, r)| r).unwrap_or("");
    match h.as_str() {
        "www.cve.org" | "cve.org" => path.contains("/cverecord"),
        "cve.mitre.org" => path.contains("cvename.cgi"),
        "cveawg.mitre.org" | "cveawg-test.mitre.org" => path.contains("/api/cve/"),
        _ => false,
    }
}

/// Whether a reference URL is a placeholder rather than a real public page.
pub fn is_placeholder_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if ["todo", "tbd", "placeholder", "changeme"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return true;
    }
    match host(url) {
        None => true,
        Some(h) => {
            matches!(
                h.as_str(),
                "example.com"
                    | "example.org"
                    | "example.net"
                    | "localhost"
                    | "127.0.0.1"
                    | "::1"
                    | ""
            ) || [
                ".example.com",
                ".example.org",
                ".example.net",
                ".example",
                ".invalid",
                ".test",
                ".localhost",
            ]
            .iter()
            .any(|s| h.ends_with(s))
        }
    }
}

fn lint_references(l: &mut Lint<'_>, c: &CnaPublishedContainer) {
    if c.references.is_empty() {
        l.push(
            "cna-5.3.1-public-reference",
            Severity::Error,
            "/references",
            "there is no reference: a public reference must exist before or when the record is published".into(),
            R_531,
        );
    }
    for (i, r) in c.references.iter().enumerate() {
        if is_cve_record_url(&r.url) {
            l.push(
                "cna-5.3.3.5-self-reference",
                Severity::Error,
                &format!("/references/{i}/url"),
                format!(
                    "`{}` is a CVE Record: a reference must be a public page about the vulnerability, not the record itself",
                    r.url
                ),
                R_5335,
            );
        }
        let own = l
            .ctx
            .own_advisories
            .as_deref()
            .is_some_and(|prefix| !prefix.is_empty() && r.url.starts_with(prefix));
        if !own && is_placeholder_url(&r.url) {
            l.push(
                "reference-placeholder-url",
                Severity::Error,
                &format!("/references/{i}/url"),
                format!("`{}` is a placeholder, not a public reference", r.url),
                R_531,
            );
        }
    }
}

/// The CVSS v4.0 base metrics: the CVE `baseScore` is the CVSS-B score.
const V4_BASE: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];
const V3_BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];

/// The base score and severity of a CVSS 3.x or 4.0 vector whose metrics are
/// already split. For 4.0 only the base metrics are scored (CVSS-B), which
/// is what a CVE record's `baseScore` states.
fn base_score(prefix: &str, metrics: &[(&str, &str)]) -> Result<(f64, cvss::Severity), String> {
    if prefix == "CVSS:4.0/" {
        let base: Vec<String> = metrics
            .iter()
            .filter(|(k, _)| V4_BASE.contains(k))
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        format!("{prefix}{}", base.join("/"))
            .parse::<cvss::v4::Vector>()
            .map(|v| {
                let s = v.score();
                (s.clone().value(), s.severity())
            })
            .map_err(|e| e.to_string())
    } else {
        let vector = format!(
            "{prefix}{}",
            metrics
                .iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect::<Vec<_>>()
                .join("/")
        );
        vector
            .parse::<cvss::v3::Vector>()
            .map(|v| {
                let s = v.base_score();
                (s.value(), s.severity())
            })
            .map_err(|e| e.to_string())
    }
}

/// A scored vector: the CVE metric key, version, base score and severity
/// (upper case, as CVE records write it).
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// `cvssV3_1`, `cvssV3_0` or `cvssV4_0`.
    pub key: &'static str,
    /// `3.1`, `3.0` or `4.0`.
    pub version: &'static str,
    /// Base score.
    pub score: f64,
    /// e.g. `HIGH`.
    pub severity: String,
}

/// Scores a CVSS 3.0, 3.1 or 4.0 vector string, refusing vectors without
/// every base metric.
pub fn score_vector(vector: &str) -> Result<Scored, String> {
    let vector = vector.trim();
    let (key, version, prefix, required): (&str, &str, &str, &[&str]) =
        if vector.starts_with("CVSS:3.1/") {
            ("cvssV3_1", "3.1", "CVSS:3.1/", &V3_BASE)
        } else if vector.starts_with("CVSS:3.0/") {
            ("cvssV3_0", "3.0", "CVSS:3.0/", &V3_BASE)
        } else if vector.starts_with("CVSS:4.0/") {
            ("cvssV4_0", "4.0", "CVSS:4.0/", &V4_BASE)
        } else {
            return Err(format!("`{vector}` is not a CVSS 3.0, 3.1 or 4.0 vector"));
        };
    let metrics: Vec<(&str, &str)> = vector[prefix.len()..]
        .split('/')
        .filter_map(|m| m.split_once(':'))
        .collect();
    let missing: Vec<&str> = required
        .iter()
        .filter(|m| !metrics.iter().any(|(k, _)| k == *m))
        .copied()
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "`{vector}` lacks the base metrics {}",
            missing.join(", ")
        ));
    }
    let (score, severity) = base_score(prefix, &metrics)?;
    Ok(Scored {
        key,
        version,
        score,
        severity: severity.as_str().to_ascii_uppercase(),
    })
}

/// Checks a CVSS object; returns problems as (field, message).
pub fn check_cvss(key: &str, cvss: &Cvss) -> Vec<(&'static str, String)> {
    let vector = cvss.vector_string.trim();
    let (prefix, base_metrics): (&str, &[&str]) = match key {
        "cvssV3_1" => ("CVSS:3.1/", &V3_BASE),
        "cvssV3_0" => ("CVSS:3.0/", &V3_BASE),
        "cvssV4_0" => ("CVSS:4.0/", &V4_BASE),
        _ => return Vec::new(),
    };
    if !vector.starts_with(prefix) {
        return vec![(
            "vectorString",
            format!("`{vector}` must start with {prefix} in {key}"),
        )];
    }
    let present: Vec<(&str, &str)> = vector[prefix.len()..]
        .split('/')
        .filter_map(|m| m.split_once(':'))
        .collect();
    let missing: Vec<&str> = base_metrics
        .iter()
        .filter(|m| !present.iter().any(|(k, _)| k == *m))
        .copied()
        .collect();
    if !missing.is_empty() {
        return vec![(
            "vectorString",
            format!(
                "`{vector}` lacks the base metric{} {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", ")
            ),
        )];
    }
    let computed = base_score(prefix, &present);
    let (score, severity) = match computed {
        Ok(x) => x,
        Err(e) => {
            return vec![(
                "vectorString",
                format!("`{vector}` is not a valid vector: {e}"),
            )]
        }
    };
    let mut out = Vec::new();
    let stated = cvss.base_score.as_f64().unwrap_or(f64::NAN);
    if (stated - score).abs() > 0.05 {
        out.push((
            "baseScore",
            format!("baseScore {stated} does not match the vector, which scores {score:.1}"),
        ));
    }
    if let Some(sev) = &cvss.base_severity {
        if !sev.eq_ignore_ascii_case(severity.as_str()) {
            out.push((
                "baseSeverity",
                format!(
                    "baseSeverity {sev} does not match the vector, whose severity is {}",
                    severity.as_str().to_ascii_uppercase()
                ),
            ));
        }
    }
    out
}

fn lint_metrics(l: &mut Lint<'_>, c: &CnaPublishedContainer) {
    for (i, m) in c.metrics.iter().flatten().enumerate() {
        for (key, cvss) in m.cvss() {
            for (field, message) in check_cvss(key, cvss) {
                let id = match field {
                    "vectorString" => "cvss-vector-invalid",
                    "baseScore" => "cvss-score-mismatch",
                    _ => "cvss-severity-mismatch",
                };
                l.push(
                    id,
                    Severity::Error,
                    &format!("/metrics/{i}/{key}/{field}"),
                    message,
                    R_CVSS,
                );
            }
        }
    }
}

fn lint_tags(l: &mut Lint<'_>, c: &CnaPublishedContainer) {
    if l.ctx.unsupported_products.is_empty() {
        return;
    }
    let names: Vec<String> = c
        .affected
        .iter()
        .filter_map(|p| p.product.clone())
        .collect();
    let all_unsupported = !names.is_empty()
        && names.iter().all(|n| {
            l.ctx
                .unsupported_products
                .iter()
                .any(|u| u.eq_ignore_ascii_case(n))
        });
    let tagged = c
        .tags
        .iter()
        .flatten()
        .any(|t| t == "unsupported-when-assigned");
    if all_unsupported && !tagged {
        l.push(
            "cna-4.2.17-unsupported-when-assigned",
            Severity::Error,
            "/tags",
            format!(
                "every affected product ({}) no longer receives fixes: tag the record \"unsupported-when-assigned\"",
                names.join(", ")
            ),
            R_42171,
        );
    }
}
