//! The conversation of a report: the reporter writes from the private
//! tracking page; members reply (shared with the reporter) or leave
//! internal notes. Attachments are read only with an audit event naming
//! who read which file.

use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::{Actor, AttachmentId, ReportId, UserId};
use cnadesk_store::{Attachment, Author, Message, NewMessage, Report, StoreError, Visibility};
use serde_json::json;

use crate::keys::sha256_hex;
use crate::text::check_text;
use crate::App;

/// Longest message, in characters.
pub const MAX_MESSAGE_CHARS: usize = 50_000;

/// Why a message was not added.
#[derive(Debug)]
pub enum MessageError {
    /// Refused, with a sentence for the writer (nothing stored).
    Refused(String),
    /// The store failed (nothing stored).
    Store(StoreError),
}

impl From<StoreError> for MessageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(m) => MessageError::Refused(m),
            e => MessageError::Store(e),
        }
    }
}

/// The report a tracking token opens, if any.
pub async fn report_of_tracking_token(
    app: &App,
    token: &str,
) -> Result<Option<Report>, StoreError> {
    app.store.report_by_tracking_hash(&sha256_hex(token)).await
}

/// The reporter writes to the team (shared).
pub async fn reporter_writes(
    app: &App,
    report: ReportId,
    body: &str,
) -> Result<Message, MessageError> {
    let body = body.trim();
    check_text("The message", body, MAX_MESSAGE_CHARS, true, true)
        .map_err(MessageError::Refused)?;
    Ok(app
        .store
        .add_message(
            NewMessage {
                report_id: report,
                author: Author::Reporter,
                visibility: Visibility::Reporter,
                body: body.to_owned(),
            },
            &Actor::Reporter { report },
            app.now_ms(),
        )
        .await?)
}

/// A member replies to the reporter (`Visibility::Reporter`) or leaves an
/// internal note.
pub async fn member_writes(
    app: &App,
    report: ReportId,
    member: (UserId, &str),
    visibility: Visibility,
    body: &str,
    actor: &Actor,
) -> Result<Message, MessageError> {
    check_text("The message", body, MAX_MESSAGE_CHARS, true, true)
        .map_err(MessageError::Refused)?;
    let (id, name) = member;
    Ok(app
        .store
        .add_message(
            NewMessage {
                report_id: report,
                author: Author::Member {
                    id,
                    name: name.to_owned(),
                },
                visibility,
                body: body.trim().to_owned(),
            },
            actor,
            app.now_ms(),
        )
        .await?)
}

/// An attached file, read with an `attachment.downloaded` event (who, which
/// file, its SHA-256); `None` when the report has no such file.
pub async fn read_attachment(
    app: &App,
    report: ReportId,
    attachment: AttachmentId,
    actor: &Actor,
) -> Result<Option<Attachment>, StoreError> {
    let Some(file) = app.store.attachment(report, attachment).await? else {
        return Ok(None);
    };
    app.store
        .record_event(
            EventDraft::new(AuditAction::AttachmentDownloaded)
                .report(report)
                .payload(json!({"attachment_id": attachment.0, "sha256": file.meta.sha256})),
            actor,
            app.now_ms(),
        )
        .await?;
    Ok(Some(file))
}
