//! The CVE IDs the desk knows.

use async_trait::async_trait;
use cnadesk_core::{Actor, CaseId, CveId};

use crate::{CveIdEntry, CveIdFilter, ServiceCveId, StoreResult};

/// The CVE IDs the desk knows, as CVE Services reports them, and their links
/// to cases.
#[async_trait]
pub trait CveIds: Send + Sync {
    /// Records IDs as CVE Services reports them: unknown IDs are added (linked
    /// to `case` when given), known ones take the service's state. When
    /// `case` is given, unlinked IDs are linked to it and the case takes the
    /// first as its CVE ID if it has none. Audited as `cve.ids_recorded`
    /// when anything changed.
    async fn upsert_cve_ids(
        &self,
        ids: &[ServiceCveId],
        case: Option<CaseId>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Vec<CveIdEntry>>;

    /// CVE IDs the desk knows, newest reservation first.
    async fn cve_ids(&self, filter: CveIdFilter) -> StoreResult<Vec<CveIdEntry>>;

    /// One CVE ID.
    async fn cve_id_entry(&self, id: &CveId) -> StoreResult<Option<CveIdEntry>>;

    /// Links a known, unlinked ID to a case (`Conflict` when another case
    /// has it); the case takes it as its CVE ID if it has none.
    async fn link_cve_id(
        &self,
        id: &CveId,
        case: CaseId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CveIdEntry>;

    /// Sets (or clears) when an ID became public: the 72-hour publication
    /// clock of CNA rule 4.5.1.4 starts there.
    async fn set_cve_id_disclosed(
        &self,
        id: &CveId,
        disclosed_at_ms: Option<i64>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CveIdEntry>;
}
