//! Reports, their attachments and their threads.

use async_trait::async_trait;
use cnadesk_core::{Actor, AttachmentId, ReportId};

use crate::{
    Attachment, AttachmentMeta, CloseDecision, Message, NewMessage, NewReport, Report,
    ReportFilter, ReportSummary, StoreResult,
};

/// Reports as received (with their attachments) and the message thread of
/// each report.
#[async_trait]
pub trait Reports: Send + Sync {
    /// Stores a new report with its attachments.
    async fn create_report(&self, report: NewReport, now_ms: i64) -> StoreResult<Report>;

    /// A report by id.
    async fn report(&self, id: ReportId) -> StoreResult<Option<Report>>;

    /// A report by the hash of its tracking token.
    async fn report_by_tracking_hash(&self, hash: &str) -> StoreResult<Option<Report>>;

    /// Reports, newest first, optionally in one state.
    async fn list_reports(&self, filter: ReportFilter) -> StoreResult<Vec<ReportSummary>>;

    /// Closes a report awaiting triage with a structured reason.
    async fn close_report(
        &self,
        id: ReportId,
        decision: CloseDecision,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Report>;

    /// Attachment metadata of a report.
    async fn attachments(&self, report: ReportId) -> StoreResult<Vec<AttachmentMeta>>;

    /// One attachment with its bytes, only if it belongs to `report`.
    async fn attachment(
        &self,
        report: ReportId,
        id: AttachmentId,
    ) -> StoreResult<Option<Attachment>>;

    // ---- messages --------------------------------------------------------------

    /// Adds a message or internal note to a report's thread.
    async fn add_message(
        &self,
        message: NewMessage,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Message>;

    /// The thread of a report, oldest first; internal notes only when asked.
    async fn messages(&self, report: ReportId, include_internal: bool)
        -> StoreResult<Vec<Message>>;
}
