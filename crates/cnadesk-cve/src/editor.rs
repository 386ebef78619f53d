//! The record editor's flat view of a CNA container.
//!
//! A member edits a [`RecordForm`]: plain fields and rows, no nesting. The
//! form turns into [`CaseFacts`] for the builder, and a saved container turns
//! back into a form. The container stays the source of truth: what the form
//! cannot show (e.g. `solutions`, `x_` fields) survives a form save through
//! [`merge`], and [`lossy_keys`] says when the form would change something it
//! cannot show, so the editor can warn before it happens.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::builder::{build_container, AffectedFact, BuildError, CaseFacts, RangeFact};
use crate::model::CnaPublishedContainer;

/// One affected product with (at most) one version range. Consecutive rows
/// naming the same product become one product with several ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedRow {
    /// Vendor or project.
    pub vendor: String,
    /// Product.
    pub product: String,
    /// Source repository URL.
    pub repo: String,
    /// Package registry URL (`collectionURL`).
    pub collection_url: String,
    /// Package name in that registry.
    pub package_name: String,
    /// Package URL (`pkg:github/bjc/prosody`), without a version.
    #[serde(default)]
    pub package_url: String,
    /// First affected version (`0` when every version before the fix is).
    pub introduced: String,
    /// First fixed version (exclusive bound).
    pub fixed: String,
    /// Last affected version (inclusive bound), when no fix exists.
    pub last_affected: String,
    /// Versioning scheme (`semver`, `custom`, `git`…).
    pub version_type: String,
}

/// A reference: URL and comma-separated CVE reference tags.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceRow {
    /// URL.
    pub url: String,
    /// Tags, separated by commas (`patch, vendor-advisory`).
    pub tags: String,
}

/// A credit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditRow {
    /// Who, as they want to be named.
    pub name: String,
    /// CVE credit type (`finder`, `reporter`, `remediation developer`…).
    pub kind: String,
}

/// A timeline entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineRow {
    /// `YYYY-MM-DD` or an RFC 3339 UTC timestamp.
    pub date: String,
    /// What happened.
    pub text: String,
}

/// Everything the structured editor shows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordForm {
    /// Short title.
    pub title: String,
    /// English description.
    pub description: String,
    /// CWE id (`CWE-346`).
    pub cwe_id: String,
    /// CWE name.
    pub cwe_name: String,
    /// Vulnerability type in words, when no CWE fits.
    pub problem_text: String,
    /// CVSS 3.0/3.1/4.0 vector.
    pub cvss_vector: String,
    /// When it became public: `YYYY-MM-DD` or an RFC 3339 UTC timestamp.
    pub date_public: String,
    /// Only products that no longer receive fixes are affected.
    pub unsupported_when_assigned: bool,
    /// Affected products and ranges.
    pub affected: Vec<AffectedRow>,
    /// References.
    pub references: Vec<ReferenceRow>,
    /// Credits.
    pub credits: Vec<CreditRow>,
    /// Timeline.
    pub timeline: Vec<TimelineRow>,
}

/// The credit types of CVE JSON 5.1, for the form's choice list.
pub const CREDIT_TYPES: [&str; 11] = [
    "finder",
    "reporter",
    "analyst",
    "coordinator",
    "remediation developer",
    "remediation reviewer",
    "remediation verifier",
    "tool",
    "sponsor",
    "technical",
    "other",
];

/// The reference tags of CVE JSON 5.1, shown as a hint beside the field.
pub const REFERENCE_TAGS: [&str; 19] = [
    "broken-link",
    "customer-entitlement",
    "exploit",
    "government-resource",
    "issue-tracking",
    "mailing-list",
    "mitigation",
    "not-applicable",
    "patch",
    "permissions-required",
    "media-coverage",
    "product",
    "related",
    "release-notes",
    "signature",
    "technical-description",
    "third-party-advisory",
    "vendor-advisory",
    "vdb-entry",
];

/// The CVE ID used to check a record whose real ID is not known yet
/// (schema-valid, and obviously not a real ID).
pub const PLACEHOLDER_CVE_ID: &str = "CVE-0000-0000";

/// Who the CNA is, for `providerMetadata`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provider {
    /// Organization UUID.
    pub org_id: String,
    /// Short name.
    pub short_name: Option<String>,
}

/// Where a finding about the container belongs on the form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldMap {
    /// Pointer prefix (relative to the container) → form field id.
    entries: Vec<(String, String)>,
}

impl FieldMap {
    fn add(&mut self, pointer: String, field: impl Into<String>) {
        self.entries.push((pointer, field.into()));
    }

    /// The form field a pointer falls under. Pointers into a whole record
    /// (`/containers/cna/…`) and into a bare container both work; the longest
    /// matching prefix wins. `None`: the finding concerns the record as a whole.
    pub fn field_for(&self, pointer: &str) -> Option<&str> {
        if pointer == "/cveMetadata/cveId" {
            return Some("cve_id");
        }
        let p = pointer.strip_prefix("/containers/cna").unwrap_or(pointer);
        self.entries
            .iter()
            .filter(|(prefix, _)| {
                p == prefix
                    || (p.starts_with(prefix.as_str())
                        && p.as_bytes().get(prefix.len()) == Some(&b'/'))
            })
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, field)| field.as_str())
    }
}

fn none_if_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// `YYYY-MM-DD` becomes midnight UTC; anything else is kept as typed (the
/// schema then says what is wrong with it, at the right field).
fn timestamp(s: &str) -> String {
    let s = s.trim();
    let b = s.as_bytes();
    let is_date = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if is_date {
        format!("{s}T00:00:00Z")
    } else {
        s.to_owned()
    }
}

/// The inverse of [`timestamp`]: midnight UTC shows as a date.
fn date_of(s: &str) -> String {
    for suffix in ["T00:00:00Z", "T00:00:00.000Z", "T00:00:00.0Z"] {
        if let Some(d) = s.strip_suffix(suffix) {
            if d.len() == 10 {
                return d.to_owned();
            }
        }
    }
    s.to_owned()
}

impl AffectedRow {
    fn is_blank(&self) -> bool {
        [
            &self.vendor,
            &self.product,
            &self.repo,
            &self.collection_url,
            &self.package_name,
            &self.package_url,
            &self.introduced,
            &self.fixed,
            &self.last_affected,
        ]
        .iter()
        .all(|s| s.trim().is_empty())
    }

    fn same_product(&self, other: &AffectedRow) -> bool {
        self.vendor.trim() == other.vendor.trim()
            && self.product.trim() == other.product.trim()
            && self.repo.trim() == other.repo.trim()
            && self.collection_url.trim() == other.collection_url.trim()
            && self.package_name.trim() == other.package_name.trim()
            && self.package_url.trim() == other.package_url.trim()
    }

    fn has_range(&self) -> bool {
        [&self.introduced, &self.fixed, &self.last_affected]
            .iter()
            .any(|s| !s.trim().is_empty())
    }
}

impl RecordForm {
    /// Drops rows in which nothing was typed (the editor always offers one
    /// empty row per section).
    pub fn without_blank_rows(mut self) -> Self {
        self.affected.retain(|r| !r.is_blank());
        self.references
            .retain(|r| !(r.url.trim().is_empty() && r.tags.trim().is_empty()));
        self.credits.retain(|r| !r.name.trim().is_empty());
        self.timeline
            .retain(|r| !(r.date.trim().is_empty() && r.text.trim().is_empty()));
        self
    }

    /// The builder's facts, and where each part of the container came from.
    /// Row numbers in the map are indexes into this form's (non-blank) rows:
    /// call it on a form from [`RecordForm::without_blank_rows`].
    pub fn to_facts(&self, cve_id: &str, provider: &Provider) -> (CaseFacts, FieldMap) {
        let mut map = FieldMap::default();
        for (pointer, field) in [
            ("/title", "title"),
            ("/descriptions", "description"),
            ("/problemTypes", "cwe_id"),
            ("/metrics", "cvss_vector"),
            ("/datePublic", "date_public"),
            ("/tags", "unsupported_when_assigned"),
            ("/affected", "affected"),
            ("/references", "references"),
            ("/credits", "credits"),
            ("/timeline", "timeline"),
        ] {
            map.add(pointer.into(), field);
        }

        let mut affected: Vec<AffectedFact> = Vec::new();
        let mut previous: Option<&AffectedRow> = None;
        for (i, row) in self.affected.iter().enumerate() {
            let continues = previous.is_some_and(|p| p.same_product(row));
            if !continues {
                map.add(
                    format!("/affected/{}", affected.len()),
                    format!("affected-{i}"),
                );
                affected.push(AffectedFact {
                    vendor: row.vendor.trim().to_owned(),
                    product: row.product.trim().to_owned(),
                    repo: none_if_empty(&row.repo),
                    package: none_if_empty(&row.package_name)
                        .map(|name| (row.collection_url.trim().to_owned(), name)),
                    package_url: none_if_empty(&row.package_url),
                    ranges: Vec::new(),
                });
            }
            let index = affected.len() - 1;
            let fact = &mut affected[index];
            if row.has_range() {
                map.add(
                    format!("/affected/{index}/versions/{}", fact.ranges.len()),
                    format!("affected-{i}"),
                );
                let introduced = row.introduced.trim();
                fact.ranges.push(RangeFact {
                    introduced: if introduced.is_empty() {
                        "0"
                    } else {
                        introduced
                    }
                    .to_owned(),
                    fixed: none_if_empty(&row.fixed),
                    last_affected: none_if_empty(&row.last_affected),
                    version_type: row.version_type.trim().to_owned(),
                });
            }
            previous = Some(row);
        }
        for (i, _) in self.references.iter().enumerate() {
            map.add(format!("/references/{i}"), format!("reference-{i}"));
        }
        for (i, _) in self.credits.iter().enumerate() {
            map.add(format!("/credits/{i}"), format!("credit-{i}"));
        }
        for (i, _) in self.timeline.iter().enumerate() {
            map.add(format!("/timeline/{i}"), format!("timeline-{i}"));
        }

        let facts = CaseFacts {
            cve_id: cve_id.to_owned(),
            org_id: provider.org_id.clone(),
            short_name: provider.short_name.clone(),
            title: self.title.trim().to_owned(),
            description: self.description.trim().to_owned(),
            affected,
            cwe: none_if_empty(&self.cwe_id)
                .map(|id| (id.to_ascii_uppercase(), self.cwe_name.trim().to_owned())),
            problem_text: none_if_empty(&self.problem_text),
            cvss_vector: none_if_empty(&self.cvss_vector),
            references: self
                .references
                .iter()
                .map(|r| {
                    (
                        r.url.trim().to_owned(),
                        r.tags
                            .split(',')
                            .map(str::trim)
                            .filter(|t| !t.is_empty())
                            .map(str::to_owned)
                            .collect(),
                    )
                })
                .collect(),
            credits: self
                .credits
                .iter()
                .map(|c| (c.name.trim().to_owned(), c.kind.trim().to_owned()))
                .collect(),
            date_public: none_if_empty(&self.date_public).map(|d| timestamp(&d)),
            timeline: self
                .timeline
                .iter()
                .map(|t| (timestamp(&t.date), t.text.trim().to_owned()))
                .collect(),
            unsupported_when_assigned: self.unsupported_when_assigned,
        };
        (facts, map)
    }

    /// Builds the container this form describes, as JSON.
    pub fn build(
        &self,
        cve_id: &str,
        provider: &Provider,
        now: &str,
    ) -> Result<(Value, FieldMap), BuildError> {
        let (facts, map) = self.to_facts(cve_id, provider);
        let container = build_container(&facts, now)?;
        Ok((
            serde_json::to_value(container).expect("a container serializes"),
            map,
        ))
    }

    /// The form showing a container. Fields the form has no place for are
    /// left out (see [`lossy_keys`]).
    pub fn from_container(doc: &Value) -> RecordForm {
        let c: CnaPublishedContainer = match serde_json::from_value(doc.clone()) {
            Ok(c) => c,
            Err(_) => return RecordForm::default(),
        };
        let mut form = RecordForm {
            title: c.title.clone().unwrap_or_default(),
            description: c
                .descriptions
                .iter()
                .find(|d| d.lang.to_ascii_lowercase().starts_with("en"))
                .or(c.descriptions.first())
                .map(|d| d.value.clone())
                .unwrap_or_default(),
            date_public: c.date_public.as_deref().map(date_of).unwrap_or_default(),
            unsupported_when_assigned: c
                .tags
                .as_ref()
                .is_some_and(|t| t.iter().any(|t| t == "unsupported-when-assigned")),
            ..Default::default()
        };
        if let Some(d) = c
            .problem_types
            .iter()
            .flatten()
            .flat_map(|p| &p.descriptions)
            .next()
        {
            match &d.cwe_id {
                Some(id) => {
                    form.cwe_id = id.clone();
                    form.cwe_name = d
                        .description
                        .strip_prefix(id.as_str())
                        .unwrap_or(&d.description)
                        .trim()
                        .to_owned();
                }
                None => form.problem_text = d.description.clone(),
            }
        }
        if let Some(m) = c.metrics.iter().flatten().next() {
            if let Some(cvss) = m
                .cvss_v4_0
                .as_ref()
                .or(m.cvss_v3_1.as_ref())
                .or(m.cvss_v3_0.as_ref())
            {
                form.cvss_vector = cvss.vector_string.clone();
            }
        }
        for p in &c.affected {
            let base = AffectedRow {
                vendor: p.vendor.clone().unwrap_or_default(),
                product: p.product.clone().unwrap_or_default(),
                repo: p.repo.clone().unwrap_or_default(),
                collection_url: p.collection_url.clone().unwrap_or_default(),
                package_name: p.package_name.clone().unwrap_or_default(),
                package_url: p.package_url.clone().unwrap_or_default(),
                ..Default::default()
            };
            let versions: Vec<_> = p
                .versions
                .iter()
                .flatten()
                .filter(|v| v.status == "affected")
                .collect();
            if versions.is_empty() {
                form.affected.push(base.clone());
            }
            for v in versions {
                form.affected.push(AffectedRow {
                    introduced: v.version.clone(),
                    fixed: v.less_than.clone().unwrap_or_default(),
                    last_affected: v.less_than_or_equal.clone().unwrap_or_default(),
                    version_type: v.version_type.clone().unwrap_or_default(),
                    ..base.clone()
                });
            }
        }
        form.references = c
            .references
            .iter()
            .map(|r| ReferenceRow {
                url: r.url.clone(),
                tags: r.tags.clone().unwrap_or_default().join(", "),
            })
            .collect();
        form.credits = c
            .credits
            .iter()
            .flatten()
            .map(|cr| CreditRow {
                name: cr.value.clone(),
                kind: cr.kind.clone().unwrap_or_default(),
            })
            .collect();
        form.timeline = c
            .timeline
            .iter()
            .flatten()
            .map(|t| TimelineRow {
                date: date_of(&t.time),
                text: t.value.clone(),
            })
            .collect();
        form
    }
}

/// The container keys the structured form writes. Everything else in a
/// container is the raw editor's business and survives a form save.
pub const FORM_KEYS: [&str; 11] = [
    "providerMetadata",
    "title",
    "descriptions",
    "affected",
    "problemTypes",
    "metrics",
    "references",
    "credits",
    "timeline",
    "datePublic",
    "tags",
];

/// The container a form save produces: `built` for the keys the form owns,
/// `previous` for every other key.
pub fn merge(previous: Option<&Value>, built: &Value) -> Value {
    let mut out: Map<String, Value> = previous
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for key in FORM_KEYS {
        out.remove(key);
    }
    if let Some(b) = built.as_object() {
        for (k, v) in b {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// The keys whose content a form save would change although nobody edited
/// them, because the form cannot show all of it (e.g. a second language, a
/// version with status `unaffected`). Empty: the form is safe to use.
pub fn lossy_keys(doc: &Value, provider: &Provider) -> Vec<&'static str> {
    let form = RecordForm::from_container(doc);
    let Ok((rebuilt, _)) = form.build(PLACEHOLDER_CVE_ID, provider, "1970-01-01T00:00:00Z") else {
        return vec!["metrics"];
    };
    FORM_KEYS
        .iter()
        .copied()
        .filter(|k| *k != "providerMetadata")
        .filter(|k| doc.get(k).unwrap_or(&Value::Null) != rebuilt.get(k).unwrap_or(&Value::Null))
        .collect()
}

/// A whole PUBLISHED record around a container, as CVE Services returns it
/// and as the exports read it.
pub fn wrap_record(cve_id: &str, provider: &Provider, container: &Value, published: &str) -> Value {
    let mut meta = json!({
        "cveId": cve_id,
        "assignerOrgId": provider.org_id,
        "state": "PUBLISHED",
        "datePublished": published,
        "dateUpdated": published,
    });
    if let Some(short) = &provider.short_name {
        meta["assignerShortName"] = json!(short);
    }
    json!({
        "dataType": "CVE_RECORD",
        "dataVersion": "5.2",
        "cveMetadata": meta,
        "containers": { "cna": container },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{lint, LintContext, SchemaSet};

    fn provider() -> Provider {
        Provider {
            org_id: "1b7a5b45-2b4c-4ba4-9b48-1c2c1e4a3c2d".into(),
            short_name: Some("XSF".into()),
        }
    }

    fn form() -> RecordForm {
        RecordForm {
            title: "Message carbons spoofing in Example Client".into(),
            description: "Example Client before 2.3.1 accepts carbon copies of messages from any \
                          sender, which allows remote attackers to inject messages into a \
                          conversation by sending a forged carbon."
                .into(),
            cwe_id: "cwe-346".into(),
            cwe_name: "Origin Validation Error".into(),
            cvss_vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N".into(),
            date_public: "2026-10-01".into(),
            affected: vec![
                AffectedRow {
                    vendor: "Example".into(),
                    product: "Example Client".into(),
                    introduced: "2.0.0".into(),
                    fixed: "2.3.1".into(),
                    version_type: "semver".into(),
                    ..Default::default()
                },
                AffectedRow {
                    vendor: "Example".into(),
                    product: "Example Client".into(),
                    introduced: "1.0.0".into(),
                    last_affected: "1.9.9".into(),
                    version_type: "semver".into(),
                    ..Default::default()
                },
                AffectedRow {
                    vendor: "Other".into(),
                    product: "Other Lib".into(),
                    ..Default::default()
                },
            ],
            references: vec![ReferenceRow {
                url: "https://client.xmpp-demo.net/security/2026-1".into(),
                tags: "vendor-advisory, patch".into(),
            }],
            credits: vec![CreditRow {
                name: "Rita Reporter".into(),
                kind: "finder".into(),
            }],
            timeline: vec![TimelineRow {
                date: "2026-09-01".into(),
                text: "Reported to the CNA".into(),
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_form_builds_a_valid_clean_record() {
        let (container, _) = form()
            .build("CVE-2026-10001", &provider(), "2026-11-24T10:00:00Z")
            .unwrap();
        let record = wrap_record(
            "CVE-2026-10001",
            &provider(),
            &container,
            "2026-11-24T10:00:00Z",
        );
        let problems = SchemaSet::default_set().validate(&record);
        assert!(problems.is_empty(), "{problems:#?}");
        let findings = lint(&record, &LintContext::default());
        assert!(findings.is_empty(), "{findings:#?}");
        // Rows of one product become one product with two ranges.
        assert_eq!(container["affected"].as_array().unwrap().len(), 2);
        assert_eq!(
            container["affected"][0]["versions"][1]["lessThanOrEqual"],
            "1.9.9"
        );
        assert_eq!(container["affected"][1]["defaultStatus"], "unknown");
        assert_eq!(
            container["problemTypes"][0]["descriptions"][0]["cweId"],
            "CWE-346"
        );
        assert_eq!(container["datePublic"], "2026-10-01T00:00:00Z");
        assert_eq!(container["metrics"][0]["cvssV3_1"]["baseScore"], 6.5);
    }

    #[test]
    fn form_and_container_round_trip() {
        let f = form();
        let (container, _) = f
            .build("CVE-2026-10001", &provider(), "2026-11-24T10:00:00Z")
            .unwrap();
        let back = RecordForm::from_container(&container);
        let mut expected = f.clone();
        expected.cwe_id = "CWE-346".into();
        assert_eq!(back, expected);
        assert!(lossy_keys(&container, &provider()).is_empty());
    }

    #[test]
    fn blank_rows_are_dropped_and_typed_ones_kept() {
        let mut f = form();
        f.references.push(ReferenceRow::default());
        f.affected.insert(1, AffectedRow::default());
        f.credits.push(CreditRow {
            name: " ".into(),
            kind: "finder".into(),
        });
        let cleaned = f.without_blank_rows();
        assert_eq!(cleaned.references.len(), 1);
        assert_eq!(cleaned.affected.len(), 3);
        assert_eq!(cleaned.credits.len(), 1);
    }

    #[test]
    fn findings_map_back_to_the_row_that_caused_them() {
        let mut f = form();
        f.affected[1].version_type.clear();
        f.references[0].url = "not a url".into();
        let (container, map) = f
            .build("CVE-2026-10001", &provider(), "2026-11-24T10:00:00Z")
            .unwrap();
        let record = wrap_record(
            "CVE-2026-10001",
            &provider(),
            &container,
            "2026-11-24T10:00:00Z",
        );
        let problems = SchemaSet::default_set().validate(&record);
        let fields: Vec<_> = problems.iter().map(|p| map.field_for(&p.pointer)).collect();
        assert!(fields.contains(&Some("reference-0")), "{problems:#?}");
        let findings = lint(&record, &LintContext::default());
        let lint_fields: Vec<_> = findings.iter().map(|f| map.field_for(&f.pointer)).collect();
        assert!(lint_fields.contains(&Some("affected-1")), "{findings:#?}");
        assert_eq!(
            map.field_for("/containers/cna/affected/1/product"),
            Some("affected-2")
        );
        assert_eq!(
            map.field_for("/containers/cna/affected/0/versions/0/lessThan"),
            Some("affected-0")
        );
        assert_eq!(
            map.field_for("/containers/cna/titles"),
            None,
            "prefixes end at a segment"
        );
        assert_eq!(map.field_for("/cveMetadata/cveId"), Some("cve_id"));
        assert_eq!(
            map.field_for("/containers/cna/descriptions/0/value"),
            Some("description")
        );
    }

    #[test]
    fn merge_keeps_what_the_form_cannot_show() {
        let (built, _) = form()
            .build("CVE-2026-10001", &provider(), "2026-11-24T10:00:00Z")
            .unwrap();
        let previous = json!({
            "title": "old title",
            "solutions": [{"lang": "en", "value": "Upgrade to 2.3.1."}],
            "x_generator": {"engine": "hand"},
        });
        let merged = merge(Some(&previous), &built);
        assert_eq!(merged["title"], built["title"]);
        assert_eq!(merged["solutions"], previous["solutions"]);
        assert_eq!(merged["x_generator"], previous["x_generator"]);
        // A key the form owns and now leaves empty is removed, not kept.
        let previous = json!({"credits": [{"lang": "en", "value": "Old"}]});
        let mut f = form();
        f.credits.clear();
        let (built, _) = f
            .build("CVE-2026-10001", &provider(), "2026-11-24T10:00:00Z")
            .unwrap();
        assert!(merge(Some(&previous), &built).get("credits").is_none());
    }

    #[test]
    fn lossy_keys_name_what_a_form_save_would_drop() {
        let (mut container, _) = form()
            .build("CVE-2026-10001", &provider(), "2026-11-24T10:00:00Z")
            .unwrap();
        container["descriptions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"lang": "de", "value": "Beschreibung"}));
        container["affected"][0]["versions"]
            .as_array_mut()
            .unwrap()
            .push(json!({"version": "2.3.1", "status": "unaffected"}));
        container["solutions"] = json!([{"lang": "en", "value": "Upgrade."}]);
        assert_eq!(
            lossy_keys(&container, &provider()),
            ["descriptions", "affected"]
        );
    }

    #[test]
    fn unusual_dates_are_kept_for_the_schema_to_judge() {
        assert_eq!(timestamp("2026-01-02"), "2026-01-02T00:00:00Z");
        assert_eq!(timestamp("2026-01-02T03:04:05Z"), "2026-01-02T03:04:05Z");
        assert_eq!(timestamp("yesterday"), "yesterday");
        assert_eq!(date_of("2026-01-02T00:00:00.000Z"), "2026-01-02");
        assert_eq!(date_of("2026-01-02T03:04:05Z"), "2026-01-02T03:04:05Z");
    }
}

// ---- findings in the form's words ----------------------------------------------------------

/// What a form field is called on the editor (`affected-0` → "Affected
/// product 1"), for "not saved" and the summary.
pub fn field_label(field: &str) -> String {
    let numbered = |prefix: &str, name: &str| {
        field
            .strip_prefix(prefix)
            .and_then(|n| n.parse::<usize>().ok())
            .map(|n| format!("{name} {}", n + 1))
    };
    numbered("affected-", "Affected product")
        .or_else(|| numbered("reference-", "Reference"))
        .or_else(|| numbered("credit-", "Credit"))
        .or_else(|| numbered("timeline-", "Timeline entry"))
        .unwrap_or_else(|| {
            match field {
                "cve_id" => "CVE ID",
                "title" => "Title",
                "date_public" => "Made public on",
                "description" => "Description",
                "cwe_id" => "CWE ID",
                "cwe_name" => "CWE name",
                "problem_text" => "Vulnerability type",
                "cvss_vector" => "CVSS vector",
                "affected" => "Affected products",
                "unsupported_when_assigned" => "No longer supported",
                "references" => "References",
                "credits" => "Credits",
                "timeline" => "Timeline",
                other => other,
            }
            .to_owned()
        })
}

/// The editor's name for what a JSON pointer into a CNA container (or a
/// whole record) points at.
fn pointer_label(pointer: &str) -> &'static str {
    let p = pointer.strip_prefix("/containers/cna").unwrap_or(pointer);
    let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    let last_name = parts
        .iter()
        .rev()
        .find(|s| s.parse::<usize>().is_err())
        .copied()
        .unwrap_or("");
    let top = parts.first().copied().unwrap_or("");
    match (top, last_name) {
        ("cveMetadata", _) => "CVE ID",
        ("affected", "lessThan") => "Fixed in",
        ("affected", "lessThanOrEqual") => "Last affected",
        ("affected", "versionType") => "Version scheme",
        ("affected", "version") => "Affected from",
        ("affected", "versions") => "Versions",
        ("affected", "vendor") => "Vendor",
        ("affected", "product") => "Product",
        ("affected", "repo") => "Repository",
        ("affected", "collectionURL") => "Package registry",
        ("affected", "packageName") => "Package name",
        ("affected", "packageURL") => "Package URL",
        ("affected", "defaultStatus") => "Other versions",
        ("affected", _) => "Affected products",
        ("descriptions", _) => "Description",
        ("title", _) => "Title",
        ("problemTypes", "cweId") => "CWE ID",
        ("problemTypes", "description") => "CWE name",
        ("problemTypes", _) => "Vulnerability type",
        ("metrics", _) => "CVSS vector",
        ("references", "url") => "Reference URL",
        ("references", "tags") => "Reference tags",
        ("references", _) => "References",
        ("credits", "value") => "Credit name",
        ("credits", "type") => "Credit type",
        ("credits", _) => "Credits",
        ("timeline", "time") => "Timeline date",
        ("timeline", "value") => "Timeline text",
        ("timeline", _) => "Timeline",
        ("datePublic", _) => "Made public on",
        ("tags", _) => "No longer supported",
        _ => "",
    }
}

/// JSON names as the editor's labels, longest first.
const NAMES: [(&str, &str); 10] = [
    ("packageURL", "Package URL"),
    ("lessThanOrEqual", "Last affected"),
    ("lessThan", "Fixed in"),
    ("versionType", "Version scheme"),
    ("vectorString", "vector"),
    ("baseScore", "score"),
    ("baseSeverity", "severity"),
    ("cweId", "CWE ID"),
    ("collectionURL", "Package registry"),
    ("packageName", "Package name"),
];

/// CVSS base metrics by abbreviation.
const METRICS: [(&str, &str); 16] = [
    ("AV", "Attack vector"),
    ("AC", "Attack complexity"),
    ("AT", "Attack requirements"),
    ("PR", "Privileges required"),
    ("UI", "User interaction"),
    ("S", "Scope"),
    ("C", "Confidentiality"),
    ("I", "Integrity"),
    ("A", "Availability"),
    ("VC", "Confidentiality (vulnerable system)"),
    ("VI", "Integrity (vulnerable system)"),
    ("VA", "Availability (vulnerable system)"),
    ("SC", "Confidentiality (subsequent systems)"),
    ("SI", "Integrity (subsequent systems)"),
    ("SA", "Availability (subsequent systems)"),
    ("E", "Exploit maturity"),
];

fn with_labels(message: &str) -> String {
    let mut out = message.to_owned();
    for (name, label) in NAMES {
        out = out.replace(name, label);
    }
    out
}

/// The `…`-quoted parts of a message.
fn quoted(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

/// A schema or lint finding said in the editor's words: what the field is
/// called on the form and what to do, instead of JSON pointers and schema
/// keywords (the caller keeps those as the expert detail).
pub fn form_words(pointer: &str, message: &str) -> String {
    let label = pointer_label(pointer);
    let name = if label.is_empty() {
        "This field"
    } else {
        label
    };
    let m = message.trim();
    // Lint: an empty range.
    if m.starts_with("lessThan `") || m.starts_with("lessThanOrEqual `") {
        let q = quoted(m);
        if let [upper, lower, ..] = q.as_slice() {
            let bound = if m.starts_with("lessThanOrEqual") {
                "Last affected"
            } else {
                "Fixed in"
            };
            return format!(
                "{bound} ({upper}) must be later than Affected from ({lower}); as typed, no version is affected."
            );
        }
    }
    if m.starts_with("the range starting at") {
        return "A range (Fixed in or Last affected) needs a Version scheme: choose semver, custom, git…".into();
    }
    // Lint: a vector missing base metrics.
    if let Some(rest) = m.split("lacks the base metric").nth(1) {
        let list = rest.trim_start_matches('s').trim();
        let named: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|abbr| {
                METRICS
                    .iter()
                    .find(|(a, _)| *a == abbr)
                    .map_or_else(|| abbr.to_owned(), |(_, n)| format!("{n} ({abbr})"))
            })
            .collect();
        return format!(
            "The CVSS vector lacks a value for {}: add it to the vector.",
            named.join(", ")
        );
    }
    // Schema keywords, as the validator words them.
    if let Some((property, _)) = m.split_once(" is a required property") {
        let property = property.trim_matches('"');
        let what = pointer_label(&format!("{pointer}/{property}"));
        let what = if what.is_empty() { property } else { what };
        return format!("{what} is required.");
    }
    if m.contains("is shorter than")
        || m.contains("has less than")
        || m.contains("should be non-empty")
        || m.contains("is not longer than")
    {
        return format!("{name} must not be empty.");
    }
    if m.contains("is longer than") || m.contains("has more than") {
        return format!("{name} is too long.");
    }
    if m.contains("is not a \"uri\"") || m.contains("is not a \"uri-reference\"") {
        return format!("{name} must be a full address (https://…).");
    }
    if m.contains("is not a \"date-time\"") || m.contains("is not a \"date\"") {
        return format!("{name} must be a date (YYYY-MM-DD) or a UTC time.");
    }
    if m.contains("does not match") {
        return format!("{name} is not in the expected form.");
    }
    if m.starts_with('{') || m.starts_with('[') {
        // The validator printed the whole object: say what it concerns.
        if label == "Versions" || m.contains("\"lessThan") {
            return "A version range is incomplete: a range (Fixed in or Last affected) needs Affected from and a Version scheme.".into();
        }
        return format!("{name} is incomplete or has a value the record format does not allow.");
    }
    let worded = with_labels(m);
    let mut chars = worded.chars();
    let sentence = match chars.next() {
        Some(c) => c.to_uppercase().collect::<String>() + chars.as_str(),
        None => worded,
    };
    if label.is_empty() || sentence.starts_with(label) {
        sentence
    } else {
        format!("{label}: {sentence}")
    }
}

#[cfg(test)]
mod words_tests {
    use super::{field_label, form_words};

    #[test]
    fn findings_speak_the_forms_language() {
        assert_eq!(
            form_words(
                "/containers/cna/affected/0/versions/0/lessThan",
                "lessThan `0.12.0` must be above version `0.12.4`: the range is empty"
            ),
            "Fixed in (0.12.0) must be later than Affected from (0.12.4); as typed, no version is affected."
        );
        let m = form_words(
            "/containers/cna/metrics/0/cvssV3_1/vectorString",
            "`CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H` lacks the base metric A",
        );
        assert_eq!(
            m,
            "The CVSS vector lacks a value for Availability (A): add it to the vector."
        );
        assert_eq!(
            form_words(
                "/containers/cna/affected/0/versions/0",
                "\"versionType\" is a required property"
            ),
            "Version scheme is required."
        );
        assert_eq!(
            form_words(
                "/containers/cna/descriptions/0/value",
                "\"\" is shorter than 1 character"
            ),
            "Description must not be empty."
        );
        let raw = form_words(
            "/containers/cna/affected/0/versions/0",
            "{\"lessThan\":\"1.0\",\"status\":\"affected\",\"version\":\"0\"} is not valid under any of the given schemas",
        );
        assert!(raw.starts_with("A version range is incomplete"), "{raw}");
        assert!(!raw.contains('{'));
        // Anything else keeps its sentence, JSON names replaced by labels.
        assert_eq!(
            form_words(
                "/containers/cna/metrics/0/cvssV3_1/baseScore",
                "baseScore 9.8 does not fit"
            ),
            "CVSS vector: Score 9.8 does not fit"
        );
        assert_eq!(field_label("affected-1"), "Affected product 2");
        assert_eq!(field_label("cvss_vector"), "CVSS vector");
    }
}
