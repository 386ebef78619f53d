//! Notifications and mail.

use async_trait::async_trait;
use cnadesk_core::{Actor, ReportId, UserId};

use crate::{
    DeliveryOutcome, InboundFiling, MemberContact, NewOutboxMessage, NewQuarantined,
    NotificationPref, OutboxFilter, OutboxMessage, Quarantined, StoreResult,
};

/// Notifications: the message outbox and its fan-out cursors, members'
/// contact details and choices, inbound and quarantined mail.
#[async_trait]
pub trait NotifyStore: Send + Sync {
    /// Queues messages (skipping any whose `dedupe_key` was ever queued) and,
    /// in the same transaction, moves the fan-out cursor `cursor.0` to
    /// `cursor.1`. Returns how many were new.
    async fn enqueue_messages(
        &self,
        messages: Vec<NewOutboxMessage>,
        cursor: Option<(&str, i64)>,
        now_ms: i64,
    ) -> StoreResult<usize>;

    /// Where the fan-out cursor `name` stands (0 before the first run).
    async fn notify_cursor(&self, name: &str) -> StoreResult<i64>;

    /// Outbox messages, newest first.
    async fn outbox(&self, filter: OutboxFilter) -> StoreResult<Vec<OutboxMessage>>;

    /// Queued messages whose time has come and sending ones whose lease ended.
    async fn due_messages(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<OutboxMessage>>;

    /// Takes a due message for one sending attempt (`None` if another took it).
    async fn claim_message(
        &self,
        id: i64,
        lease_until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Option<OutboxMessage>>;

    /// Records the outcome of attempt `attempt`; refused if that attempt no
    /// longer holds the message.
    async fn finish_message(
        &self,
        id: i64,
        attempt: i64,
        outcome: DeliveryOutcome,
        now_ms: i64,
    ) -> StoreResult<OutboxMessage>;

    /// Queues a failed message again (an admin's decision, audited).
    async fn retry_message(&self, id: i64, actor: &Actor, now_ms: i64) -> StoreResult<()>;

    /// Every member's contact details.
    async fn member_contacts(&self) -> StoreResult<Vec<MemberContact>>;

    /// Saves a member's contact details (audited without the key itself).
    async fn save_member_contact(
        &self,
        contact: MemberContact,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Every stored choice (members without a row get the defaults).
    async fn notification_prefs(&self) -> StoreResult<Vec<NotificationPref>>;

    /// Replaces one member's choices.
    async fn save_notification_prefs(
        &self,
        user: UserId,
        prefs: Vec<NotificationPref>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// The report an inbound message (by the hash of its Message-ID) was filed on.
    async fn inbound_mail(&self, message_id_hash: &str) -> StoreResult<Option<ReportId>>;

    /// Files an inbound message (as a new report, or as a reporter's message
    /// on an existing one) and remembers its Message-ID hash, in one
    /// transaction. Returns the report and whether the mail was new: a
    /// redelivered message returns the report it was filed on and changes
    /// nothing.
    async fn file_inbound_mail(
        &self,
        message_id_hash: &str,
        filing: InboundFiling,
        now_ms: i64,
    ) -> StoreResult<(ReportId, bool)>;

    /// Keeps mail that could not be filed (audited with reason and size only).
    async fn quarantine_mail(&self, mail: NewQuarantined, now_ms: i64) -> StoreResult<i64>;

    /// Quarantined mail, newest first, without the raw message.
    async fn quarantined_mail(&self, include_released: bool) -> StoreResult<Vec<Quarantined>>;

    /// One quarantined message with its raw content.
    async fn quarantined(&self, id: i64) -> StoreResult<Option<Quarantined>>;

    /// Marks quarantined mail as dealt with (audited).
    async fn release_quarantined(&self, id: i64, actor: &Actor, now_ms: i64) -> StoreResult<()>;
}
