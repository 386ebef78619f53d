//! What is public: published advisories assembled from the store (one per
//! case), with their records, products, scores, references and timeline.
//!
//! What is public is read from the store in one place ([`load`]): a case
//! whose advisory was published at the end of its embargo, or whose CVE
//! record was published. A case whose embargo still runs is never listed,
//! whatever else is true of it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use cnadesk_core::{CaseId, CveId};
use cnadesk_cve::model::{CveRecord, Version};
use cnadesk_store::{AffectedProduct, CveIdFilter, CveIdState, StoreResult, Vulnerability};
use serde_json::Value;

use crate::text::rfc3339;
use crate::App;

/// Settings of the public pages.
#[derive(Clone, Debug)]
pub struct PublicSettings {
    /// `Contact:` lines of `security.txt` (URIs: `mailto:`, `https:`);
    /// empty: the security address when mail is configured, and the report form.
    pub contacts: Vec<String>,
    /// How long `security.txt` stays valid from the day it is served.
    pub security_txt_days: i64,
    /// How often the public pages look for changes (0: on every request).
    pub refresh: Duration,
}

impl Default for PublicSettings {
    fn default() -> Self {
        Self {
            contacts: Vec::new(),
            security_txt_days: 180,
            refresh: Duration::ZERO,
        }
    }
}

// ---- what is public -------------------------------------------------------------

/// One product row of an advisory.
#[derive(Clone, Debug)]
pub struct ProductRow {
    /// Vendor (from the record) or empty.
    pub vendor: String,
    /// Product name.
    pub product: String,
    /// `affected`, `not affected`, `fixed` … in words.
    pub status: String,
    /// Affected versions in words.
    pub affected: String,
    /// Fixed versions in words.
    pub fixed: String,
    /// The vendor's statement (coordination).
    pub statement: String,
}

impl ProductRow {
    /// The product as a reader names it: the vendor and the product, or the
    /// product alone when it already says who makes it (`Prosody IM` of
    /// vendor `Prosody IM` or `Prosody`).
    pub fn name(&self) -> String {
        cnadesk_cve::words::product_name(&self.vendor, &self.product)
    }
}

#[cfg(test)]
mod product_name_tests {
    use super::ProductRow;

    fn row(vendor: &str, product: &str) -> ProductRow {
        ProductRow {
            vendor: vendor.into(),
            product: product.into(),
            status: String::new(),
            affected: String::new(),
            fixed: String::new(),
            statement: String::new(),
        }
    }

    #[test]
    fn a_vendor_the_product_already_names_is_said_once() {
        assert_eq!(row("Prosody IM", "Prosody IM").name(), "Prosody IM");
        assert_eq!(row("prosody", "Prosody IM").name(), "Prosody IM");
        assert_eq!(row("", "Dino").name(), "Dino");
        assert_eq!(
            row("Ignite Realtime", "Openfire").name(),
            "Ignite Realtime Openfire"
        );
        // A word of the vendor inside a longer word is not the vendor.
        assert_eq!(row("Pro", "Prosody").name(), "Pro Prosody");
    }
}

/// One published CVE record of an advisory.
#[derive(Clone, Debug)]
pub struct PublishedRecord {
    /// The ID.
    pub cve_id: CveId,
    /// The whole record (CVE JSON 5.x).
    pub record: Value,
    /// The record, typed (`None` if it does not read as one).
    pub typed: Option<CveRecord>,
    /// Last updated.
    pub updated_at_ms: i64,
}

/// A CVSS score of an advisory.
#[derive(Clone, Debug)]
pub struct Score {
    /// `3.1`, `4.0` …
    pub version: String,
    /// The base score.
    pub score: f64,
    /// `CRITICAL`, `HIGH`, `MEDIUM`, `LOW`, `NONE`.
    pub severity: String,
    /// The vector.
    pub vector: String,
    /// The vector in words.
    pub explained: Vec<(String, String)>,
}

/// A published advisory: one case.
#[derive(Clone, Debug)]
pub struct Advisory {
    /// The case.
    pub case_id: CaseId,
    /// Its stable name: the first CVE ID, or `CASE-n`.
    pub name: String,
    /// The title.
    pub title: String,
    /// The summary (the record's English description).
    pub summary: String,
    /// When it became public.
    pub published_at_ms: i64,
    /// Last change.
    pub updated_at_ms: i64,
    /// The published records (one per CVE ID).
    pub records: Vec<PublishedRecord>,
    /// The coordinated vulnerabilities with their products.
    pub vulnerabilities: Vec<(Vulnerability, Vec<AffectedProduct>)>,
    /// Per product: status, versions, statement.
    pub products: Vec<ProductRow>,
    /// Registry keys of the products (for per-product feeds).
    pub product_keys: BTreeSet<String>,
    /// The highest score.
    pub score: Option<Score>,
    /// References (URL, name).
    pub references: Vec<(String, String)>,
    /// Credits (who, role).
    pub credits: Vec<(String, String)>,
    /// Timeline (when, what), oldest first.
    pub timeline: Vec<(String, String)>,
    /// Weaknesses (CWE id and name).
    pub weaknesses: Vec<String>,
}

impl Advisory {
    /// `/advisories/NAME`.
    pub fn path(&self) -> String {
        format!("/advisories/{}", self.name)
    }

    /// The severity in lower case (`high`), or `unscored`.
    pub fn severity(&self) -> String {
        self.score
            .as_ref()
            .map_or_else(|| "unscored".to_owned(), |s| s.severity.to_lowercase())
    }

    /// The year it was published.
    pub fn year(&self) -> i16 {
        cnadesk_core::sla::utc_date_ms(self.published_at_ms).year()
    }

    /// The record of `id`, if this advisory has it.
    pub fn record(&self, id: &str) -> Option<&PublishedRecord> {
        self.records.iter().find(|r| r.cve_id.as_str() == id)
    }

    /// The names of the products it concerns.
    pub fn product_names(&self) -> BTreeSet<String> {
        self.products.iter().map(|p| p.product.clone()).collect()
    }
}

fn versions_text(versions: &[Version], status: &str) -> String {
    versions
        .iter()
        .filter(|v| v.status == status)
        .map(|v| match (&v.less_than, &v.less_than_or_equal) {
            (Some(u), _) if u == "*" => format!("{} and later", v.version),
            (Some(u), _) if v.version == "0" => format!("before {u}"),
            (Some(u), _) => format!("{} to before {u}", v.version),
            (None, Some(u)) => format!("{} to {u}", v.version),
            _ => v.version.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `case`'s embargo still runs (set, neither lifted nor broken).
pub async fn under_embargo(app: &App, case: CaseId) -> StoreResult<bool> {
    Ok(app
        .store
        .embargo(case)
        .await?
        .is_some_and(|e| e.lifted_at_ms.is_none() && e.broken_at_ms.is_none()))
}

/// Whether anything of `case` may be public: the same rule as [`load`]:
/// its embargo (if any) is over, and its advisory was published (the lift,
/// also after a broken embargo) or a record of it was.
pub async fn is_public(app: &App, case: CaseId) -> StoreResult<bool> {
    if under_embargo(app, case).await? {
        return Ok(false);
    }
    if app.store.advisory(case).await?.is_some() {
        return Ok(true);
    }
    Ok(app
        .store
        .cve_ids(CveIdFilter {
            case: Some(case),
            state: Some(CveIdState::Published),
        })
        .await?
        .iter()
        .any(|e| e.published_at_ms.is_some()))
}

/// Everything public, newest first.
pub async fn load(app: &App) -> StoreResult<Vec<Advisory>> {
    let mut cases: BTreeMap<CaseId, i64> = BTreeMap::new();
    for a in app.store.advisories().await? {
        cases.insert(a.case_id, a.published_at_ms);
    }
    let published = app
        .store
        .cve_ids(CveIdFilter {
            case: None,
            state: Some(CveIdState::Published),
        })
        .await?;
    for e in &published {
        if let (Some(case), Some(at)) = (e.case_id, e.published_at_ms) {
            let first = cases.entry(case).or_insert(at);
            *first = (*first).min(at);
        }
    }
    let mut out = Vec::new();
    for (case_id, published_at_ms) in cases {
        // Defence in depth: publication is refused under embargo, but a
        // running embargo hides the case whatever else happened.
        if under_embargo(app, case_id).await? {
            continue;
        }
        let Some(case) = app.store.case(case_id).await? else {
            continue;
        };
        let records: Vec<PublishedRecord> = published
            .iter()
            .filter(|e| e.case_id == Some(case_id))
            .filter_map(|e| {
                let doc: Value = serde_json::from_str(e.published_document.as_deref()?).ok()?;
                let first = e.published_at_ms?;
                let mut record = cnadesk_cve::editor::wrap_record(
                    e.cve_id.as_str(),
                    &app.settings.records.provider(),
                    &doc,
                    &rfc3339(first),
                );
                record["cveMetadata"]["dateUpdated"] = Value::from(rfc3339(e.updated_at_ms));
                Some(PublishedRecord {
                    cve_id: e.cve_id.clone(),
                    typed: serde_json::from_value(record.clone()).ok(),
                    record,
                    updated_at_ms: e.updated_at_ms,
                })
            })
            .collect();
        let vulns = app.store.vulnerabilities(case_id).await?;
        let affected = app.store.affected_products(case_id).await?;
        out.push(assemble(case, published_at_ms, records, vulns, affected));
    }
    out.sort_by(|a, b| {
        b.published_at_ms
            .cmp(&a.published_at_ms)
            .then(b.case_id.0.cmp(&a.case_id.0))
    });
    Ok(out)
}

fn assemble(
    case: cnadesk_store::Case,
    published_at_ms: i64,
    records: Vec<PublishedRecord>,
    vulns: Vec<Vulnerability>,
    affected: Vec<AffectedProduct>,
) -> Advisory {
    let name = records
        .first()
        .map(|r| r.cve_id.to_string())
        .or_else(|| case.cve_id.as_ref().map(ToString::to_string))
        .unwrap_or_else(|| case.id.to_string());
    let containers: Vec<_> = records
        .iter()
        .filter_map(|r| r.typed.as_ref()?.published())
        .collect();
    let title = containers
        .iter()
        .find_map(|c| c.title.clone())
        .unwrap_or_else(|| case.title.clone());
    let summary = containers
        .iter()
        .flat_map(|c| &c.descriptions)
        .find(|d| d.lang.starts_with("en"))
        .map(|d| d.value.clone())
        .or_else(|| vulns.first().map(|v| v.summary.clone()))
        .unwrap_or_default();
    let mut products = Vec::new();
    let mut seen = BTreeSet::new();
    // The coordination rows first: they carry the vendors' own words.
    for p in &affected {
        seen.insert(p.product_name.to_lowercase());
        products.push(ProductRow {
            vendor: String::new(),
            product: p.product_name.clone(),
            status: p.status.label().to_owned(),
            affected: p.affected_versions.clone(),
            fixed: p.fixed_versions.clone(),
            statement: p.statement.clone(),
        });
    }
    for c in &containers {
        for a in &c.affected {
            let product = a.product.clone().unwrap_or_default();
            if product.is_empty() || !seen.insert(product.to_lowercase()) {
                continue;
            }
            let versions = a.versions.clone().unwrap_or_default();
            let affected_text = versions_text(&versions, "affected");
            let fixed = versions
                .iter()
                .filter(|v| v.status == "affected")
                .filter_map(|v| v.less_than.clone().filter(|u| u != "*"))
                .chain(
                    versions
                        .iter()
                        .filter(|v| v.status == "unaffected")
                        .map(|v| v.version.clone()),
                )
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ");
            products.push(ProductRow {
                vendor: a.vendor.clone().unwrap_or_default(),
                product,
                status: if affected_text.is_empty() {
                    a.default_status.clone().unwrap_or_else(|| "unknown".into())
                } else {
                    "affected".into()
                },
                affected: affected_text,
                fixed,
                statement: String::new(),
            });
        }
    }
    let score = containers
        .iter()
        .flat_map(|c| c.metrics.iter().flatten())
        .flat_map(|m| m.cvss())
        .filter_map(|(_, cvss)| {
            let score = cvss.base_score.as_f64()?;
            Some(Score {
                version: cvss.version.clone(),
                score,
                severity: cvss
                    .base_severity
                    .clone()
                    .unwrap_or_else(|| severity_of(score).to_owned()),
                explained: cnadesk_cve::explain::explain_vector(&cvss.vector_string),
                vector: cvss.vector_string.clone(),
            })
        })
        .max_by(|a, b| a.score.total_cmp(&b.score));
    let mut references = Vec::new();
    let mut urls = BTreeSet::new();
    for r in containers.iter().flat_map(|c| &c.references) {
        if urls.insert(r.url.clone()) {
            references.push((r.url.clone(), r.name.clone().unwrap_or_default()));
        }
    }
    let credits = containers
        .iter()
        .flat_map(|c| c.credits.iter().flatten())
        .map(|c| {
            (
                c.value.clone(),
                c.kind.clone().unwrap_or_default().replace('_', " "),
            )
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut timeline: Vec<(String, String)> = containers
        .iter()
        .flat_map(|c| c.timeline.iter().flatten())
        .map(|t| (t.time.chars().take(10).collect(), t.value.clone()))
        .collect();
    // By date; on one day the record's own events come first, then the
    // publication of the advisory.
    timeline.sort();
    timeline.dedup();
    timeline.push((
        rfc3339(published_at_ms).chars().take(10).collect(),
        "Advisory published".into(),
    ));
    timeline.sort_by(|a, b| a.0.cmp(&b.0));
    let weaknesses = containers
        .iter()
        .flat_map(|c| c.problem_types.iter().flatten())
        .flat_map(|p| &p.descriptions)
        .map(|d| match &d.cwe_id {
            Some(id) if !d.description.contains(id.as_str()) => {
                format!("{id}: {}", d.description)
            }
            _ => d.description.clone(),
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let updated_at_ms = records
        .iter()
        .map(|r| r.updated_at_ms)
        .chain(affected.iter().flat_map(|p| {
            [p.status_at_ms, p.versions_at_ms, p.statement_at_ms]
                .into_iter()
                .flatten()
        }))
        .chain(std::iter::once(published_at_ms))
        .max()
        .unwrap_or(published_at_ms);
    Advisory {
        case_id: case.id,
        name,
        title,
        summary,
        published_at_ms,
        updated_at_ms,
        product_keys: affected.iter().map(|p| p.product_key.clone()).collect(),
        vulnerabilities: vulns
            .into_iter()
            .map(|v| {
                let rows = affected
                    .iter()
                    .filter(|p| p.vulnerability_id == v.id)
                    .cloned()
                    .collect();
                (v, rows)
            })
            .collect(),
        records,
        products,
        score,
        references,
        credits,
        timeline,
        weaknesses,
    }
}

/// The CVSS 3 / 4 rating of a score.
pub fn severity_of(score: f64) -> &'static str {
    match score {
        s if s >= 9.0 => "CRITICAL",
        s if s >= 7.0 => "HIGH",
        s if s >= 4.0 => "MEDIUM",
        s if s > 0.0 => "LOW",
        _ => "NONE",
    }
}
