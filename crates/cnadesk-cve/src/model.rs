//! A typed model of CVE JSON 5.x records.
//!
//! Every struct keeps the members it does not model in `extra`, so a record
//! parsed and serialized again carries the same JSON value (the official
//! examples and test vectors are checked for this). Numbers that are scores
//! stay `serde_json::Number`, so `10` does not come back as `10.0`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// Members a struct does not model, kept verbatim.
pub type Extra = Map<String, Value>;

/// A whole CVE record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CveRecord {
    /// Always `CVE_RECORD`.
    pub data_type: String,
    /// Format version, e.g. `5.1`.
    pub data_version: String,
    /// Identity and state.
    pub cve_metadata: CveMetadata,
    /// The CNA's container and any ADP containers.
    pub containers: Containers,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `PUBLISHED` or `REJECTED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordState {
    /// A published record.
    Published,
    /// A rejected record.
    Rejected,
}

/// `cveMetadata`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CveMetadata {
    /// `CVE-YYYY-NNNN…`.
    pub cve_id: String,
    /// The assigning organization's UUID.
    pub assigner_org_id: String,
    /// Its short name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigner_short_name: Option<String>,
    /// Who requested the ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester_user_id: Option<String>,
    /// Last update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_updated: Option<String>,
    /// Record serial.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<Number>,
    /// Reservation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_reserved: Option<String>,
    /// Publication time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_published: Option<String>,
    /// Rejection time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_rejected: Option<String>,
    /// State.
    pub state: RecordState,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `containers`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Containers {
    /// The CNA's container.
    pub cna: CnaContainer,
    /// Containers added by Authorized Data Publishers (kept as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adp: Option<Vec<Value>>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The CNA container: published or rejected.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CnaContainer {
    /// A rejected record's container (has `rejectedReasons`).
    Rejected(CnaRejectedContainer),
    /// A published record's container.
    Published(Box<CnaPublishedContainer>),
}

/// `providerMetadata`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderMetadata {
    /// The provider's UUID.
    pub org_id: String,
    /// Its short name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short_name: Option<String>,
    /// Last update of the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_updated: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A rejected record's CNA container.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CnaRejectedContainer {
    /// Provider.
    pub provider_metadata: ProviderMetadata,
    /// Why the ID was rejected.
    pub rejected_reasons: Vec<Description>,
    /// IDs that replace it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<Vec<String>>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A published record's CNA container.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CnaPublishedContainer {
    /// Provider.
    pub provider_metadata: ProviderMetadata,
    /// When the CNA assigned the ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_assigned: Option<String>,
    /// When the vulnerability became public.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_public: Option<String>,
    /// A short title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Descriptions (one in English at least).
    pub descriptions: Vec<Description>,
    /// Affected products.
    pub affected: Vec<Product>,
    /// CPE applicability statements (kept as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe_applicability: Option<Value>,
    /// Problem types (CWE…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem_types: Option<Vec<ProblemType>>,
    /// References.
    pub references: Vec<Reference>,
    /// Impacts (CAPEC…), kept as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impacts: Option<Vec<Value>>,
    /// Metrics (CVSS…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Vec<Metric>>,
    /// Required configurations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configurations: Option<Vec<Description>>,
    /// Workarounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workarounds: Option<Vec<Description>>,
    /// Solutions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub solutions: Option<Vec<Description>>,
    /// Known exploits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exploits: Option<Vec<Description>>,
    /// Timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineEntry>>,
    /// Credits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credits: Option<Vec<Credit>>,
    /// Source (kept as is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Value>,
    /// CNA tags, e.g. `unsupported-when-assigned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Taxonomy mappings (kept as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taxonomy_mappings: Option<Value>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A text in a language.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Description {
    /// BCP 47 language tag.
    pub lang: String,
    /// The text.
    pub value: String,
    /// Rich versions (HTML, images), kept as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supporting_media: Option<Vec<Value>>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// An affected product.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// Vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// Package registry URL.
    #[serde(
        rename = "collectionURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub collection_url: Option<String>,
    /// Package name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_name: Option<String>,
    /// Package URL, without a version (CVE JSON 5.2).
    #[serde(
        rename = "packageURL",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub package_url: Option<String>,
    /// CPEs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpes: Option<Vec<String>>,
    /// Modules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modules: Option<Vec<String>>,
    /// Files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_files: Option<Vec<String>>,
    /// Routines (kept as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_routines: Option<Vec<Value>>,
    /// Platforms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platforms: Option<Vec<String>>,
    /// Source repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Status of versions not listed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_status: Option<String>,
    /// Versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<Vec<Version>>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A version or range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Version {
    /// The (first) version.
    pub version: String,
    /// `affected`, `unaffected` or `unknown`.
    pub status: String,
    /// Versioning scheme (`semver`, `git`, `custom`…), required with ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_type: Option<String>,
    /// Upper bound, exclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub less_than: Option<String>,
    /// Upper bound, inclusive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub less_than_or_equal: Option<String>,
    /// Status changes within the range (kept as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Value>>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A problem type.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProblemType {
    /// Its descriptions.
    pub descriptions: Vec<ProblemTypeDescription>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One problem type description (a CWE or free text).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProblemTypeDescription {
    /// Language.
    pub lang: String,
    /// Text, e.g. `CWE-346 Origin Validation Error`.
    pub description: String,
    /// `CWE-NNN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwe_id: Option<String>,
    /// e.g. `CWE`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A reference.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// The URL.
    pub url: String,
    /// A name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tags such as `patch`, `vendor-advisory`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A metric entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// e.g. `CVSS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Scenarios (kept as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenarios: Option<Vec<Value>>,
    /// CVSS 4.0.
    #[serde(rename = "cvssV4_0", default, skip_serializing_if = "Option::is_none")]
    pub cvss_v4_0: Option<Cvss>,
    /// CVSS 3.1.
    #[serde(rename = "cvssV3_1", default, skip_serializing_if = "Option::is_none")]
    pub cvss_v3_1: Option<Cvss>,
    /// CVSS 3.0.
    #[serde(rename = "cvssV3_0", default, skip_serializing_if = "Option::is_none")]
    pub cvss_v3_0: Option<Cvss>,
    /// CVSS 2.0.
    #[serde(rename = "cvssV2_0", default, skip_serializing_if = "Option::is_none")]
    pub cvss_v2_0: Option<Cvss>,
    /// Other formats (kept as they are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other: Option<Value>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// The parts of a CVSS object the desk checks; the rest is kept verbatim.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cvss {
    /// `2.0`, `3.0`, `3.1` or `4.0`.
    pub version: String,
    /// The vector.
    pub vector_string: String,
    /// The base score.
    pub base_score: Number,
    /// The severity (not in CVSS 2.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_severity: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A timeline entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// When.
    pub time: String,
    /// Language.
    pub lang: String,
    /// What happened.
    pub value: String,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A credit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Credit {
    /// Language.
    pub lang: String,
    /// Who.
    pub value: String,
    /// e.g. `finder`, `reporter`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The credited person's user id, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Anything else.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CveRecord {
    /// The published CNA container, if the record is published.
    pub fn published(&self) -> Option<&CnaPublishedContainer> {
        match &self.containers.cna {
            CnaContainer::Published(c) => Some(c),
            CnaContainer::Rejected(_) => None,
        }
    }
}

impl Metric {
    /// The CVSS objects of this entry, newest version first.
    pub fn cvss(&self) -> impl Iterator<Item = (&'static str, &Cvss)> {
        [
            ("cvssV4_0", self.cvss_v4_0.as_ref()),
            ("cvssV3_1", self.cvss_v3_1.as_ref()),
            ("cvssV3_0", self.cvss_v3_0.as_ref()),
            ("cvssV2_0", self.cvss_v2_0.as_ref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
    }
}
