//! Parsers for the raw data files, one function per format. They take text
//! and return typed values or a [`SourceError`] naming the file and the place.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A data file that could not be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{file}: {message}")]
pub struct SourceError {
    /// Which file (as named in the snapshot).
    pub file: String,
    /// What is wrong, and where.
    pub message: String,
}

impl SourceError {
    pub(crate) fn new(file: &str, message: impl Into<String>) -> Self {
        SourceError {
            file: file.to_owned(),
            message: message.into(),
        }
    }
}

/// One entry of xmpp.org's `software.json` or `software_archive.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftwareEntry {
    /// Display name (the list's key).
    pub name: String,
    /// client, server, library, component, tool, integrated-platform.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Operating systems, or programming languages for libraries.
    #[serde(default)]
    pub platforms: Vec<String>,
    /// Home page (null when a DOAP file is given).
    #[serde(default)]
    pub url: Option<String>,
    /// The DOAP file's URL, or `/hosted-doap/<slug>.doap`.
    #[serde(default)]
    pub doap: Option<String>,
}

/// Parses `software.json` or `software_archive.json`.
pub fn parse_software(file: &str, text: &str) -> Result<Vec<SoftwareEntry>, SourceError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error_free(de).map_err(|m| SourceError::new(file, m))
}

fn serde_path_to_error_free<'de, T: Deserialize<'de>>(
    de: &mut serde_json::Deserializer<serde_json::de::StrRead<'de>>,
) -> Result<T, String> {
    T::deserialize(de).map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))
}

/// One row of the derived listing history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRow {
    /// Product name as listed.
    pub name: String,
    /// `listed` or `archived`.
    pub list_status: String,
    /// First commit date that lists it.
    pub first_seen_in_list: Option<String>,
    /// Last commit date that changed its entry.
    pub last_entry_change: Option<String>,
    /// When it moved to the archive.
    pub archived_on: Option<String>,
    /// The last renewal date before renewals were dropped (January 2023).
    pub last_renewed_2023_snapshot: Option<String>,
}

/// Parses `software-history.csv`.
pub fn parse_history(file: &str, text: &str) -> Result<Vec<HistoryRow>, SourceError> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| SourceError::new(file, e.to_string()))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| SourceError::new(file, format!("missing column `{name}`")))
    };
    let (name, status, first, last, archived, renewed) = (
        col("name")?,
        col("list_status")?,
        col("first_seen_in_list")?,
        col("last_entry_change")?,
        col("archived_on")?,
        col("last_renewed_2023_snapshot")?,
    );
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let r = record.map_err(|e| SourceError::new(file, format!("row {}: {e}", i + 2)))?;
        let get = |c: usize| {
            r.get(c)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        rows.push(HistoryRow {
            name: get(name)
                .ok_or_else(|| SourceError::new(file, format!("row {}: no name", i + 2)))?,
            list_status: get(status).unwrap_or_default(),
            first_seen_in_list: get(first),
            last_entry_change: get(last),
            archived_on: get(archived),
            last_renewed_2023_snapshot: get(renewed),
        });
    }
    Ok(rows)
}

/// One XEP a project declares in its DOAP file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupportedXep {
    /// The XEP number.
    pub number: u16,
    /// The XEP version implemented.
    pub version: Option<String>,
    /// complete, partial, planned, wontfix, removed, deprecated.
    pub status: Option<String>,
    /// The project version that first supported it.
    pub since: Option<String>,
    /// A free-text note.
    pub note: Option<String>,
}

/// A release listed in a DOAP file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The version string.
    pub revision: String,
    /// The release date, as written.
    pub created: Option<String>,
}

/// What a DOAP file says about a project.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Doap {
    /// Project name.
    pub name: Option<String>,
    /// One-line description.
    pub shortdesc: Option<String>,
    /// Home page.
    pub homepage: Option<String>,
    /// Repository locations and browse URLs.
    pub repositories: Vec<String>,
    /// Programming languages.
    pub languages: Vec<String>,
    /// Operating systems.
    pub os: Vec<String>,
    /// Supported XEPs.
    pub xeps: Vec<SupportedXep>,
    /// Implemented RFC numbers.
    pub rfcs: Vec<u32>,
    /// Releases.
    pub releases: Vec<Release>,
}

const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// Parses a DOAP file (RDF/XML with the XMPP DOAP extension).
pub fn parse_doap(file: &str, text: &str) -> Result<Doap, SourceError> {
    let doc =
        roxmltree::Document::parse(text).map_err(|e| SourceError::new(file, e.to_string()))?;
    let project = doc
        .descendants()
        .find(|n| n.has_tag_name("Project") || n.tag_name().name() == "Project")
        .ok_or_else(|| SourceError::new(file, "no <Project> element"))?;
    let resource = |n: roxmltree::Node| n.attribute((RDF, "resource")).map(str::to_owned);
    let child_text = |n: roxmltree::Node, name: &str| {
        n.children()
            .find(|c| c.tag_name().name() == name)
            .and_then(|c| c.text())
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    let mut doap = Doap {
        name: child_text(project, "name"),
        shortdesc: child_text(project, "shortdesc"),
        ..Doap::default()
    };
    for n in project.children().filter(|n| n.is_element()) {
        match n.tag_name().name() {
            "homepage" if doap.homepage.is_none() => doap.homepage = resource(n),
            // `programming-langauge` is a typo found in real DOAP files.
            "programming-language" | "programming-langauge" => {
                if let Some(t) = n.text().map(str::trim).filter(|t| !t.is_empty()) {
                    doap.languages.push(t.to_owned());
                }
            }
            "os" => {
                if let Some(t) = n.text().map(str::trim).filter(|t| !t.is_empty()) {
                    doap.os.push(t.to_owned());
                }
            }
            "repository" => {
                for r in n
                    .descendants()
                    .filter(|d| matches!(d.tag_name().name(), "location" | "browse"))
                {
                    if let Some(url) = resource(r) {
                        if !doap.repositories.contains(&url) {
                            doap.repositories.push(url);
                        }
                    }
                }
            }
            "release" => {
                for v in n.descendants().filter(|d| d.tag_name().name() == "Version") {
                    if let Some(revision) = child_text(v, "revision") {
                        doap.releases.push(Release {
                            revision,
                            created: child_text(v, "created"),
                        });
                    }
                }
            }
            "implements" => {
                if let Some(url) = resource(n) {
                    if let Some(rfc) = rfc_number(&url) {
                        if !doap.rfcs.contains(&rfc) {
                            doap.rfcs.push(rfc);
                        }
                    }
                }
                for s in n
                    .descendants()
                    .filter(|d| d.tag_name().name() == "SupportedXep")
                {
                    let Some(number) = s
                        .children()
                        .find(|c| c.tag_name().name() == "xep")
                        .and_then(resource)
                        .and_then(|u| xep_number_in_url(&u))
                    else {
                        continue;
                    };
                    doap.xeps.push(SupportedXep {
                        number,
                        version: child_text(s, "version"),
                        status: child_text(s, "status"),
                        since: child_text(s, "since"),
                        note: child_text(s, "note"),
                    });
                }
            }
            _ => {}
        }
    }
    Ok(doap)
}

fn rfc_number(url: &str) -> Option<u32> {
    let lower = url.to_ascii_lowercase();
    let at = lower.rfind("rfc")?;
    let digits: String = lower[at + 3..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn xep_number_in_url(url: &str) -> Option<u16> {
    let lower = url.to_ascii_lowercase();
    let at = lower.rfind("xep-")?;
    let digits: String = lower[at + 4..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// `software-xeps.json`: XEP lists transcribed from DOAP files that are not
/// shipped as files (Openfire's).
#[derive(Clone, Debug, Deserialize)]
pub struct DerivedSupport {
    /// XEP entries.
    pub xeps: Vec<DerivedXep>,
    /// RFC numbers, as strings.
    #[serde(default)]
    pub rfcs: Vec<String>,
    /// Where the DOAP was read.
    #[serde(default)]
    pub doap_source: Option<serde_json::Value>,
}

/// One XEP entry in `software-xeps.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct DerivedXep {
    /// Zero-padded number.
    pub number: String,
    /// Version.
    pub version: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Since.
    pub since: Option<String>,
    /// Note.
    pub note: Option<String>,
}

/// Parses `software-xeps.json` into DOAP-shaped support lists.
pub fn parse_derived_support(
    file: &str,
    text: &str,
) -> Result<BTreeMap<String, Doap>, SourceError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let raw: BTreeMap<String, DerivedSupport> =
        serde_path_to_error_free(de).map_err(|m| SourceError::new(file, m))?;
    Ok(raw
        .into_iter()
        .map(|(name, d)| {
            let doap = Doap {
                name: Some(name.clone()),
                xeps: d
                    .xeps
                    .into_iter()
                    .filter_map(|x| {
                        Some(SupportedXep {
                            number: x.number.parse().ok()?,
                            version: x.version,
                            status: x.status,
                            since: x.since,
                            note: x.note,
                        })
                    })
                    .collect(),
                rfcs: d.rfcs.iter().filter_map(|r| r.parse().ok()).collect(),
                ..Doap::default()
            };
            (name, doap)
        })
        .collect())
}

/// One XEP of the XEP list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Xep {
    /// Number.
    pub number: u16,
    /// Title.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub title: String,
    /// Short name (`N/A` when none).
    #[serde(default)]
    pub shortname: Option<String>,
    /// Status as written in the XML (Draft is shown as Stable on xmpp.org).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub status: String,
    /// Standards Track, Informational, …
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Latest revision.
    #[serde(default)]
    pub last_revision_version: Option<String>,
    /// Latest revision date.
    #[serde(default)]
    pub last_revision_date: Option<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Parses the XEP list: our `xeplist.json`, or xmpp.org's `xeplist.xml`.
pub fn parse_xeps(file: &str, text: &str) -> Result<Vec<Xep>, SourceError> {
    if text.trim_start().starts_with('<') {
        return parse_xeplist_xml(file, text);
    }
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error_free(de).map_err(|m| SourceError::new(file, m))
}

fn parse_xeplist_xml(file: &str, text: &str) -> Result<Vec<Xep>, SourceError> {
    let doc =
        roxmltree::Document::parse(text).map_err(|e| SourceError::new(file, e.to_string()))?;
    let mut out = Vec::new();
    for x in doc.descendants().filter(|n| n.has_tag_name("xep")) {
        let text_of = |name: &str| {
            x.children()
                .find(|c| c.tag_name().name() == name)
                .and_then(|c| c.text())
                .map(|t| t.trim().to_owned())
        };
        let Some(number) = text_of("number").and_then(|n| n.parse().ok()) else {
            continue;
        };
        let last = x
            .children()
            .find(|c| c.tag_name().name() == "last-revision");
        let last_of = |name: &str| {
            last.and_then(|l| l.children().find(|c| c.tag_name().name() == name))
                .and_then(|c| c.text())
                .map(|t| t.trim().to_owned())
        };
        out.push(Xep {
            number,
            title: text_of("title").unwrap_or_default(),
            shortname: text_of("shortname"),
            status: text_of("status").unwrap_or_default(),
            kind: text_of("type"),
            last_revision_version: last_of("version"),
            last_revision_date: last_of("date"),
        });
    }
    if out.is_empty() {
        return Err(SourceError::new(file, "no <xep> entries"));
    }
    Ok(out)
}

/// A CVE Numbering Authority from the CVE Program's partner list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cna {
    /// Short name (e.g. `mozilla`, `GitHub_M`).
    pub short_name: String,
    /// CNA ID.
    pub cna_id: String,
    /// Organization name.
    pub organization: String,
    /// Published scope, as plain text.
    pub scope: String,
    /// Organization types (Vendor, Open Source, …).
    pub types: Vec<String>,
    /// Roles (CNA, Root, CNA-LR, …).
    pub roles: Vec<String>,
    /// E-mail addresses.
    pub emails: Vec<String>,
    /// Contact pages and forms.
    pub contact_urls: Vec<String>,
    /// Country.
    pub country: Option<String>,
}

impl Cna {
    /// Whether this CNA is a CNA of last resort.
    pub fn is_last_resort(&self) -> bool {
        self.roles.iter().any(|r| r == "CNA-LR")
    }

    /// The first way to contact it, for people.
    pub fn contact(&self) -> Option<&str> {
        self.emails
            .first()
            .or(self.contact_urls.first())
            .map(String::as_str)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCna {
    short_name: String,
    #[serde(rename = "cnaID", default)]
    cna_id: String,
    organization_name: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    contact: Vec<RawContact>,
    #[serde(rename = "CNA", default)]
    cna: Option<RawCnaInfo>,
    #[serde(default)]
    country: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawContact {
    #[serde(default)]
    email: Vec<RawEmail>,
    #[serde(default)]
    contact: Vec<RawUrl>,
    #[serde(default)]
    form: Vec<RawUrl>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEmail {
    email_addr: String,
}

#[derive(Deserialize)]
struct RawUrl {
    #[serde(default)]
    url: String,
}

#[derive(Deserialize, Default)]
struct RawCnaInfo {
    #[serde(default, rename = "type")]
    types: Vec<String>,
    #[serde(default)]
    roles: Vec<RawRole>,
}

#[derive(Deserialize)]
struct RawRole {
    role: String,
}

/// Parses the CVE Program's `CNAsList.json`.
pub fn parse_cna_list(file: &str, text: &str) -> Result<Vec<Cna>, SourceError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let raw: Vec<RawCna> = serde_path_to_error_free(de).map_err(|m| SourceError::new(file, m))?;
    Ok(raw
        .into_iter()
        .map(|r| {
            let info = r.cna.unwrap_or_default();
            Cna {
                short_name: r.short_name,
                cna_id: r.cna_id,
                organization: r.organization_name,
                scope: strip_html(&r.scope),
                types: info.types,
                roles: info.roles.into_iter().map(|r| r.role).collect(),
                emails: r
                    .contact
                    .iter()
                    .flat_map(|c| c.email.iter().map(|e| e.email_addr.clone()))
                    .filter(|e| !e.is_empty())
                    .collect(),
                contact_urls: r
                    .contact
                    .iter()
                    .flat_map(|c| c.contact.iter().chain(c.form.iter()))
                    .map(|u| u.url.clone())
                    .filter(|u| !u.is_empty())
                    .collect(),
                country: r.country.filter(|c| !c.is_empty()),
            }
        })
        .collect())
}

/// Removes HTML tags and decodes the few entities the CNA list uses.
pub fn strip_html(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doap_supported_xeps_rfcs_and_repositories() {
        let doap = parse_doap(
            "dino.doap",
            include_str!("../data/xmpp-software/vendor-doap/dino.doap"),
        )
        .unwrap();
        assert_eq!(doap.name.as_deref(), Some("Dino"));
        assert!(doap
            .repositories
            .iter()
            .any(|r| r == "https://github.com/dino/dino.git"));
        assert!(doap.rfcs.contains(&6120));
        let carbons = doap.xeps.iter().find(|x| x.number == 280).unwrap();
        assert_eq!(carbons.status.as_deref(), Some("complete"));
        let muc = doap.xeps.iter().find(|x| x.number == 45).unwrap();
        assert_eq!(muc.status.as_deref(), Some("partial"));
    }

    #[test]
    fn broken_doap_names_the_file_and_place() {
        let err = parse_doap("x.doap", "<rdf:RDF><Project>").unwrap_err();
        assert_eq!(err.file, "x.doap");
        assert!(!err.message.is_empty());
        let err = parse_doap("y.doap", "<a/>").unwrap_err();
        assert!(err.message.contains("Project"), "{err}");
    }

    #[test]
    fn xeplist_xml_from_xmpp_org() {
        let xml = r#"<xep-infos><xep accepted="true"><number>280</number><title>Message Carbons</title>
            <status>Draft</status><type>Standards Track</type><shortname>carbons</shortname>
            <last-revision><date>2022-09-29</date><version>1.0.1</version></last-revision></xep></xep-infos>"#;
        let xeps = parse_xeps("xeplist.xml", xml).unwrap();
        assert_eq!(xeps.len(), 1);
        assert_eq!(xeps[0].number, 280);
        assert_eq!(xeps[0].title, "Message Carbons");
        assert_eq!(xeps[0].last_revision_version.as_deref(), Some("1.0.1"));
    }

    #[test]
    fn software_json_errors_carry_line_and_column() {
        let err = parse_software("software.json", "[{\"name\": 3}]").unwrap_err();
        assert!(err.message.contains("line 1"), "{err}");
    }

    #[test]
    fn cna_scope_html_is_stripped() {
        assert_eq!(
            strip_html("<strong>Root Scope:</strong> Alphabet&amp;co <a href='x'>here</a>"),
            "Root Scope: Alphabet&co here"
        );
    }
}
