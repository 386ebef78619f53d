//! Cases opened from reports.

use async_trait::async_trait;
use cnadesk_core::{Actor, CaseId, CaseState, CveId, ReportId, UserId};

use crate::{Case, CaseFilter, StoreResult};

/// Cases: accepting a report, state, assignment, and the CVE ID of a case.
#[async_trait]
pub trait Cases: Send + Sync {
    /// Accepts a report awaiting triage as a case (state `accepted`).
    async fn accept_report(
        &self,
        report: ReportId,
        title: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Case>;

    /// A case by id.
    async fn case(&self, id: CaseId) -> StoreResult<Option<Case>>;

    /// The case opened from a report, if any.
    async fn case_for_report(&self, report: ReportId) -> StoreResult<Option<Case>>;

    /// Cases, newest first.
    async fn list_cases(&self, filter: CaseFilter) -> StoreResult<Vec<Case>>;

    /// Moves a case to another state if the domain allows the move.
    async fn transition_case(
        &self,
        id: CaseId,
        to: CaseState,
        reason: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Case>;

    /// Sets (or clears) the assignee of a case with the reason.
    async fn assign_case(
        &self,
        id: CaseId,
        assignee: Option<UserId>,
        reason: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Case>;

    /// Open cases per member (for assignment policies and the queue).
    async fn open_case_counts(&self) -> StoreResult<Vec<(UserId, i64)>>;

    /// Sets the CVE ID of a case. `Conflict` when another case has it.
    async fn set_case_cve_id(
        &self,
        id: CaseId,
        cve_id: &CveId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Case>;
}
