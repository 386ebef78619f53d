//! Builds a CVE record from what a case knows, so that a member edits a
//! record instead of typing one. Pure: the caller gathers the facts.

use serde_json::{json, Map, Number, Value};

use crate::lint::score_vector;
use crate::model::{
    CnaContainer, CnaPublishedContainer, Containers, Credit, CveMetadata, CveRecord, Cvss,
    Description, Metric, ProblemType, ProblemTypeDescription, Product, ProviderMetadata,
    RecordState, Reference, TimelineEntry, Version,
};

/// One affected product as the case knows it.
#[derive(Clone, Debug, Default)]
pub struct AffectedFact {
    /// Vendor (or project).
    pub vendor: String,
    /// Product.
    pub product: String,
    /// Source repository.
    pub repo: Option<String>,
    /// Package registry and name, when the product is a package.
    pub package: Option<(String, String)>,
    /// Its Package URL (no version).
    pub package_url: Option<String>,
    /// Affected ranges: from `introduced`, fixed in `fixed` (exclusive) or
    /// up to `last_affected` (inclusive); neither: that version only.
    pub ranges: Vec<RangeFact>,
}

/// An affected range.
#[derive(Clone, Debug, Default)]
pub struct RangeFact {
    /// First affected version.
    pub introduced: String,
    /// First fixed version.
    pub fixed: Option<String>,
    /// Last affected version, when no fix exists yet.
    pub last_affected: Option<String>,
    /// `semver`, `custom`, `git`…
    pub version_type: String,
}

/// Everything the builder uses.
#[derive(Clone, Debug, Default)]
pub struct CaseFacts {
    /// The reserved CVE ID.
    pub cve_id: String,
    /// The CNA's organization UUID.
    pub org_id: String,
    /// The CNA's short name.
    pub short_name: Option<String>,
    /// Title.
    pub title: String,
    /// English description.
    pub description: String,
    /// Affected products.
    pub affected: Vec<AffectedFact>,
    /// CWE id and name, e.g. (`CWE-346`, `Origin Validation Error`).
    pub cwe: Option<(String, String)>,
    /// Free-text vulnerability type when no CWE fits.
    pub problem_text: Option<String>,
    /// A CVSS 3.x or 4.0 vector; score and severity are computed from it.
    pub cvss_vector: Option<String>,
    /// Public references: URL and tags (`vendor-advisory`, `patch`…).
    pub references: Vec<(String, Vec<String>)>,
    /// Credits: name and CVE credit type (`finder`, `reporter`…).
    pub credits: Vec<(String, String)>,
    /// When the vulnerability became public (RFC 3339, UTC).
    pub date_public: Option<String>,
    /// Timeline: time (RFC 3339, UTC) and what happened.
    pub timeline: Vec<(String, String)>,
    /// Every affected product no longer receives fixes.
    pub unsupported_when_assigned: bool,
}

/// Why a record cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// The CVSS vector does not score.
    #[error("cvss_vector: {0}")]
    Cvss(String),
}

fn en(value: &str) -> Description {
    Description {
        lang: "en".into(),
        value: value.trim().to_owned(),
        ..Default::default()
    }
}

fn product(fact: &AffectedFact) -> Product {
    let versions: Vec<Version> = fact
        .ranges
        .iter()
        .map(|r| Version {
            version: r.introduced.clone(),
            status: "affected".into(),
            version_type: (r.fixed.is_some() || r.last_affected.is_some())
                .then(|| r.version_type.trim().to_owned())
                .filter(|t| !t.is_empty()),
            less_than: r.fixed.clone(),
            less_than_or_equal: if r.fixed.is_none() {
                r.last_affected.clone()
            } else {
                None
            },
            ..Default::default()
        })
        .collect();
    let (collection_url, package_name) = match &fact.package {
        Some((url, name)) => (Some(url.clone()), Some(name.clone())),
        None => (None, None),
    };
    Product {
        vendor: Some(fact.vendor.clone()),
        product: Some(fact.product.clone()),
        collection_url,
        package_name,
        package_url: fact.package_url.clone(),
        repo: fact.repo.clone(),
        // With known ranges, versions outside them are unaffected; with
        // none, the product's status is honestly unknown.
        default_status: Some(
            if versions.is_empty() {
                "unknown"
            } else {
                "unaffected"
            }
            .into(),
        ),
        versions: (!versions.is_empty()).then_some(versions),
        ..Default::default()
    }
}

/// Builds the published CNA container. `now` is an RFC 3339 UTC timestamp.
pub fn build_container(facts: &CaseFacts, now: &str) -> Result<CnaPublishedContainer, BuildError> {
    let metrics = match &facts.cvss_vector {
        Some(vector) => {
            let s = score_vector(vector).map_err(BuildError::Cvss)?;
            let cvss = Cvss {
                version: s.version.into(),
                vector_string: vector.trim().to_owned(),
                base_score: Number::from_f64(s.score).unwrap_or_else(|| Number::from(0)),
                base_severity: Some(s.severity),
                extra: Map::new(),
            };
            let mut m = Metric {
                format: Some("CVSS".into()),
                scenarios: Some(vec![json!({"lang": "en", "value": "GENERAL"})]),
                ..Default::default()
            };
            match s.key {
                "cvssV4_0" => m.cvss_v4_0 = Some(cvss),
                "cvssV3_0" => m.cvss_v3_0 = Some(cvss),
                _ => m.cvss_v3_1 = Some(cvss),
            }
            Some(vec![m])
        }
        None => None,
    };
    let problem = match (&facts.cwe, &facts.problem_text) {
        (Some((id, name)), _) => Some(ProblemTypeDescription {
            lang: "en".into(),
            description: format!("{id} {name}"),
            cwe_id: Some(id.clone()),
            kind: Some("CWE".into()),
            ..Default::default()
        }),
        (None, Some(text)) => Some(ProblemTypeDescription {
            lang: "en".into(),
            description: text.clone(),
            kind: Some("text".into()),
            ..Default::default()
        }),
        (None, None) => None,
    };
    Ok(CnaPublishedContainer {
        provider_metadata: ProviderMetadata {
            org_id: facts.org_id.clone(),
            short_name: facts.short_name.clone(),
            date_updated: Some(now.to_owned()),
            ..Default::default()
        },
        title: (!facts.title.trim().is_empty()).then(|| facts.title.trim().to_owned()),
        date_public: facts.date_public.clone(),
        descriptions: vec![en(&facts.description)],
        affected: facts.affected.iter().map(product).collect(),
        problem_types: problem.map(|d| {
            vec![ProblemType {
                descriptions: vec![d],
                ..Default::default()
            }]
        }),
        references: facts
            .references
            .iter()
            .map(|(url, tags)| Reference {
                url: url.clone(),
                tags: (!tags.is_empty()).then(|| tags.clone()),
                ..Default::default()
            })
            .collect(),
        metrics,
        credits: (!facts.credits.is_empty()).then(|| {
            facts
                .credits
                .iter()
                .map(|(name, kind)| Credit {
                    lang: "en".into(),
                    value: name.clone(),
                    kind: (!kind.trim().is_empty()).then(|| kind.trim().to_owned()),
                    ..Default::default()
                })
                .collect()
        }),
        timeline: (!facts.timeline.is_empty()).then(|| {
            facts
                .timeline
                .iter()
                .map(|(time, value)| TimelineEntry {
                    time: time.clone(),
                    lang: "en".into(),
                    value: value.clone(),
                    ..Default::default()
                })
                .collect()
        }),
        tags: facts
            .unsupported_when_assigned
            .then(|| vec!["unsupported-when-assigned".to_owned()]),
        ..Default::default()
    })
}

/// Builds a whole PUBLISHED record around the container.
pub fn build_record(facts: &CaseFacts, now: &str) -> Result<CveRecord, BuildError> {
    Ok(CveRecord {
        data_type: "CVE_RECORD".into(),
        data_version: "5.2".into(),
        cve_metadata: CveMetadata {
            cve_id: facts.cve_id.clone(),
            assigner_org_id: facts.org_id.clone(),
            assigner_short_name: facts.short_name.clone(),
            requester_user_id: None,
            date_updated: Some(now.to_owned()),
            serial: None,
            date_reserved: None,
            date_published: Some(now.to_owned()),
            date_rejected: None,
            state: RecordState::Published,
            extra: Map::new(),
        },
        containers: Containers {
            cna: CnaContainer::Published(Box::new(build_container(facts, now)?)),
            adp: None,
            extra: Map::new(),
        },
        extra: Map::<String, Value>::new(),
    })
}
