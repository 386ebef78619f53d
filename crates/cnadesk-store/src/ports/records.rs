//! CVE record versions and their approvals.

use async_trait::async_trait;
use cnadesk_core::{Actor, CaseId, UserId};

use crate::{Approval, NewRecordVersion, RecordVersion, StoreResult};

/// The CVE record of a case: immutable versions and their approvals (the
/// two-person rule).
#[async_trait]
pub trait Records: Send + Sync {
    /// Saves a new, immutable version of a case's record, numbered one past
    /// the latest. `Conflict` when the latest is not `based_on` (someone saved
    /// meanwhile); nothing is written then.
    async fn save_record_version(
        &self,
        case: CaseId,
        version: NewRecordVersion,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<RecordVersion>;

    /// Every version of a case's record, newest first.
    async fn record_versions(&self, case: CaseId) -> StoreResult<Vec<RecordVersion>>;

    /// One version of a case's record.
    async fn record_version(
        &self,
        case: CaseId,
        version: i64,
    ) -> StoreResult<Option<RecordVersion>>;

    // ---- approvals (two-person rule) ---------------------------------------------

    /// Approves a version of a case's record as the second member. Refused
    /// (`Rejected`) when the approver wrote it, when it is not the latest
    /// version, or when it does not pass the checks; `Conflict` when they
    /// already approved it. Audited as `record.approved` with the SHA-256.
    async fn approve_record_version(
        &self,
        case: CaseId,
        version: i64,
        approver: UserId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Approval>;

    /// Every approval of a case's record, newest first.
    async fn record_approvals(&self, case: CaseId) -> StoreResult<Vec<Approval>>;
}
