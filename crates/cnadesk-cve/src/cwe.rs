//! The CWE list (MITRE, version 4.14, shipped in `data/cwe/`): names for
//! the IDs in records and reports, a search for forms, and the CWE team's
//! mapping guidance (which entries a vulnerability may be mapped to).

use std::sync::OnceLock;

/// The CWE list version shipped.
pub const VERSION: &str = "4.14";

const CSV: &str = include_str!("../data/cwe/cwe-4.14.csv");

/// How the CWE team says an entry may be used to map a vulnerability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// Fine for root-cause mapping.
    Allowed,
    /// Allowed, but a reviewer should look (often a too-abstract Class).
    AllowedWithReview,
    /// A better, more specific entry should be chosen.
    Discouraged,
    /// Must not be used (categories, views, deprecated entries).
    Prohibited,
}

impl Usage {
    fn parse(s: &str) -> Usage {
        match s {
            "Allowed" => Usage::Allowed,
            "Allowed-with-Review" => Usage::AllowedWithReview,
            "Discouraged" => Usage::Discouraged,
            _ => Usage::Prohibited,
        }
    }

    /// Words for a person choosing a CWE; `None` when there is nothing to say.
    pub fn warning(self) -> Option<&'static str> {
        match self {
            Usage::Allowed => None,
            Usage::AllowedWithReview => Some(
                "the CWE team allows this entry for mapping only after review: a more specific weakness may fit better",
            ),
            Usage::Discouraged => Some(
                "the CWE team discourages mapping vulnerabilities to this entry: choose a more specific weakness",
            ),
            Usage::Prohibited => Some(
                "the CWE team prohibits mapping vulnerabilities to this entry (a category, view or deprecated entry): choose a weakness",
            ),
        }
    }
}

/// One entry of the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `CWE-79`.
    pub id: String,
    /// The official name.
    pub name: String,
    /// `weakness`, `category` or `view`.
    pub kind: String,
    /// The mapping guidance.
    pub usage: Usage,
}

fn all_entries() -> &'static [Entry] {
    static LIST: OnceLock<Vec<Entry>> = OnceLock::new();
    LIST.get_or_init(|| {
        let mut reader = csv::Reader::from_reader(CSV.as_bytes());
        reader
            .records()
            .filter_map(Result::ok)
            .filter_map(|r| {
                Some(Entry {
                    id: r.get(0)?.to_owned(),
                    name: r.get(1)?.to_owned(),
                    kind: r.get(2)?.to_owned(),
                    usage: Usage::parse(r.get(5)?),
                })
            })
            .collect()
    })
}

/// Every entry, in ID order as shipped.
pub fn entries() -> &'static [Entry] {
    all_entries()
}

/// The entry for an ID (`CWE-79`).
pub fn lookup(id: &str) -> Option<&'static Entry> {
    all_entries()
        .iter()
        .find(|e| e.id.eq_ignore_ascii_case(id.trim()))
}

/// The weaknesses a vulnerability may be mapped to (no categories, views
/// or prohibited entries), for the lists forms offer.
pub fn mappable() -> impl Iterator<Item = &'static Entry> {
    all_entries()
        .iter()
        .filter(|e| e.kind == "weakness" && e.usage != Usage::Prohibited)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_list_is_read() {
        assert_eq!(entries().len(), 1426);
        let xss = lookup("CWE-79").unwrap();
        assert!(xss
            .name
            .starts_with("Improper Neutralization of Input During Web Page Generation"));
        assert_eq!(xss.usage, Usage::Allowed);
        assert_eq!(lookup("cwe-346").unwrap().name, "Origin Validation Error");
        assert!(lookup("CWE-999999").is_none());
    }

    #[test]
    fn guidance_is_read_and_worded() {
        // A category: prohibited for mapping.
        let category = lookup("CWE-2").unwrap();
        assert_eq!(category.usage, Usage::Prohibited);
        assert!(category.usage.warning().unwrap().contains("prohibits"));
        // Improper Input Validation is discouraged or for review only.
        let c20 = lookup("CWE-20").unwrap();
        assert_ne!(c20.usage, Usage::Allowed);
        assert!(c20.usage.warning().is_some());
        assert!(mappable().all(|e| e.kind == "weakness"));
        assert!(mappable().count() > 800);
    }
}
