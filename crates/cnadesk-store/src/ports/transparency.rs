//! The public transparency log.

use async_trait::async_trait;
use cnadesk_core::{CaseId, ReportId};

use crate::{NewTransparencyEntry, StoreResult, TransparencyRow};

/// The public transparency log: appending hash-chained entries, reading them,
/// revealing sealed ones.
#[async_trait]
pub trait TransparencyStore: Send + Sync {
    /// Appends entries after the last one (hash-chained; an audit event is
    /// taken at most once) and, in the same transaction, moves the cursor
    /// `cursor.0` to `cursor.1` (never backwards). Returns how many were
    /// appended.
    async fn append_transparency(
        &self,
        entries: Vec<NewTransparencyEntry>,
        cursor: Option<(&str, i64)>,
    ) -> StoreResult<usize>;

    /// Entries with `seq > after`, in order, at most `limit`.
    async fn transparency_entries(
        &self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<TransparencyRow>>;

    /// The last entry, if any.
    async fn transparency_last(&self) -> StoreResult<Option<TransparencyRow>>;

    /// The distinct (case, report) pairs that still have sealed entries.
    async fn sealed_transparency_subjects(
        &self,
    ) -> StoreResult<Vec<(Option<CaseId>, Option<ReportId>)>>;

    /// Reveals the sealed entries of `case` and of `report` (either may be
    /// absent); returns how many.
    async fn reveal_transparency(
        &self,
        case: Option<CaseId>,
        report: Option<ReportId>,
        revealed_at: &str,
    ) -> StoreResult<usize>;
}
