//! The public transparency log as the store keeps it.

use cnadesk_core::{CaseId, ReportId};
pub use cnadesk_transparency::Entry as TransparencyEntry;
use serde_json::Value;

/// An entry to append; the store chains it to the last one.
#[derive(Clone, Debug, PartialEq)]
pub struct NewTransparencyEntry {
    /// When the decision was made (UTC ms).
    pub time_ms: i64,
    /// The public content (never embargoed details).
    pub content: Value,
    /// The commitment's salt (hex, random).
    pub salt: String,
    /// The case it concerns: sealed entries are revealed with their case.
    pub case_id: Option<CaseId>,
    /// The report it concerns (a scope decision before the case exists).
    pub report_id: Option<ReportId>,
    /// The audit event it was derived from (appended at most once).
    pub audit_seq: Option<i64>,
    /// Served as its commitment only until revealed.
    pub sealed: bool,
}

/// A stored entry: the whole entry (content and salt included), whether it
/// is still sealed, and what it concerns.
#[derive(Clone, Debug, PartialEq)]
pub struct TransparencyRow {
    /// The entry with its content and salt.
    pub entry: TransparencyEntry,
    /// Still withheld.
    pub sealed: bool,
    /// The case it concerns.
    pub case_id: Option<CaseId>,
    /// The report it concerns.
    pub report_id: Option<ReportId>,
}

impl TransparencyRow {
    /// The entry as the public may see it now.
    pub fn served(&self) -> TransparencyEntry {
        if self.sealed {
            self.entry.sealed_copy()
        } else {
            self.entry.clone()
        }
    }
}
