//! The audit log.

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, AuditEvent};
use cnadesk_core::{Actor, ReportId};

use crate::StoreResult;

/// The audit log: free-standing events and reading the hash chain back.
#[async_trait]
pub trait Audit: Send + Sync {
    /// Appends a free-standing audit event (for actions with no other state change).
    async fn record_event(
        &self,
        draft: cnadesk_core::audit::EventDraft,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<AuditEvent>;

    /// The position of the last audit event (0 for an empty log).
    async fn audit_head(&self) -> StoreResult<i64>;

    /// Audit events with `seq > after`, in order, at most `limit`.
    async fn audit_events(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEvent>>;

    /// Audit events concerning a report or its case, in order.
    async fn audit_events_for_report(&self, report: ReportId) -> StoreResult<Vec<AuditEvent>>;

    /// Audit events concerning any of `reports`, in order.
    async fn audit_events_for_reports(&self, reports: &[ReportId]) -> StoreResult<Vec<AuditEvent>>;

    /// Audit events with one of `actions` since `since_ms`, in order.
    async fn audit_events_by_actions(
        &self,
        actions: &[AuditAction],
        since_ms: i64,
    ) -> StoreResult<Vec<AuditEvent>>;
}
