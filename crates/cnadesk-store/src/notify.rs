//! Types of the message outbox, members' contact details and choices, and
//! inbound mail bookkeeping.

use std::fmt;

use cnadesk_core::{CaseId, ReportId, UserId};

use crate::JobState;

/// How a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutboxChannel {
    /// E-mail (SMTP or the file transport).
    Email,
    /// XMPP (a direct message, or the team's room).
    Xmpp,
}

impl OutboxChannel {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxChannel::Email => "email",
            OutboxChannel::Xmpp => "xmpp",
        }
    }
}

impl std::str::FromStr for OutboxChannel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "email" => Ok(OutboxChannel::Email),
            "xmpp" => Ok(OutboxChannel::Xmpp),
            other => Err(format!("unknown channel {other:?}")),
        }
    }
}

impl fmt::Display for OutboxChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message to queue.
#[derive(Clone, PartialEq)]
pub struct NewOutboxMessage {
    /// Unique for ever: a second message with the same key is not queued
    /// (e.g. `ev:42:email:user:3`: event 42, told to member 3 by e-mail).
    pub dedupe_key: String,
    /// Channel.
    pub channel: OutboxChannel,
    /// E-mail address, JID, or the team room's JID.
    pub recipient: String,
    /// Which template renders it.
    pub template: String,
    /// The report concerned.
    pub report_id: Option<ReportId>,
    /// The case concerned.
    pub case_id: Option<CaseId>,
    /// The audit event that caused it, if any.
    pub event_seq: Option<i64>,
    /// The template's context (no secrets).
    pub context: serde_json::Value,
    /// Secret parts, already sealed by the caller (a reporter's tracking link).
    pub sealed: Option<Vec<u8>>,
}

impl fmt::Debug for NewOutboxMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewOutboxMessage")
            .field("dedupe_key", &self.dedupe_key)
            .field("channel", &self.channel)
            .field("template", &self.template)
            .field("sealed", &self.sealed.as_ref().map(|_| "[sealed]"))
            .finish_non_exhaustive()
    }
}

/// A queued (or finished) message.
#[derive(Clone, PartialEq)]
pub struct OutboxMessage {
    /// Id.
    pub id: i64,
    /// See [`NewOutboxMessage::dedupe_key`].
    pub dedupe_key: String,
    /// Channel.
    pub channel: OutboxChannel,
    /// Recipient.
    pub recipient: String,
    /// Template.
    pub template: String,
    /// The report concerned.
    pub report_id: Option<ReportId>,
    /// The case concerned.
    pub case_id: Option<CaseId>,
    /// The audit event that caused it.
    pub event_seq: Option<i64>,
    /// The template's context.
    pub context: serde_json::Value,
    /// Sealed secret parts.
    pub sealed: Option<Vec<u8>>,
    /// `Queued`, `Running` (being sent), `Done` (sent) or `Failed` (given up).
    pub state: JobState,
    /// Attempts started.
    pub attempts: i64,
    /// Not before.
    pub next_attempt_at_ms: i64,
    /// A sending attempt holds it until then.
    pub lease_until_ms: Option<i64>,
    /// The last failure.
    pub last_error: String,
    /// Queued at.
    pub created_at_ms: i64,
    /// Last change.
    pub updated_at_ms: i64,
    /// Sent at.
    pub sent_at_ms: Option<i64>,
}

impl fmt::Debug for OutboxMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutboxMessage")
            .field("id", &self.id)
            .field("dedupe_key", &self.dedupe_key)
            .field("channel", &self.channel)
            .field("template", &self.template)
            .field("state", &self.state)
            .field("attempts", &self.attempts)
            .field("sealed", &self.sealed.as_ref().map(|_| "[sealed]"))
            .finish_non_exhaustive()
    }
}

/// What a sending attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Handed to the server.
    Sent,
    /// Temporary failure: try again at `at_ms`.
    Retry {
        /// Why.
        error: String,
        /// When.
        at_ms: i64,
    },
    /// Given up.
    Failed {
        /// Why.
        error: String,
    },
}

/// Which outbox messages to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxFilter {
    /// Only this state.
    pub state: Option<JobState>,
    /// Only this report's messages.
    pub report: Option<ReportId>,
    /// At most this many, newest first (0: 100).
    pub limit: i64,
}

/// How a member is reached besides their account's e-mail address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberContact {
    /// The member.
    pub user: UserId,
    /// XMPP address for direct messages (empty: none).
    pub jid: String,
    /// ASCII-armored OpenPGP public key (empty: none).
    pub openpgp_key: String,
}

impl MemberContact {
    /// No contact details besides the account's e-mail address.
    pub fn none(user: UserId) -> Self {
        MemberContact {
            user,
            jid: String::new(),
            openpgp_key: String::new(),
        }
    }
}

/// A member's choice for one kind of event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationPref {
    /// The member.
    pub user: UserId,
    /// The kind of event (`new_report`, `assigned`, …).
    pub event: String,
    /// Tell by e-mail.
    pub email: bool,
    /// Tell by XMPP.
    pub xmpp: bool,
}

/// Mail to keep aside.
#[derive(Clone, PartialEq, Eq)]
pub struct NewQuarantined {
    /// Why it could not be filed.
    pub reason: String,
    /// The envelope sender.
    pub mail_from: String,
    /// The envelope recipients, comma-separated.
    pub rcpt_to: String,
    /// The message as received.
    pub raw: Vec<u8>,
}

impl fmt::Debug for NewQuarantined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewQuarantined")
            .field("reason", &self.reason)
            .field("size", &self.raw.len())
            .finish_non_exhaustive()
    }
}

/// Quarantined mail.
#[derive(Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// Id.
    pub id: i64,
    /// Why.
    pub reason: String,
    /// Envelope sender.
    pub mail_from: String,
    /// Envelope recipients.
    pub rcpt_to: String,
    /// Size in bytes.
    pub size: i64,
    /// The message (empty in listings).
    pub raw: Vec<u8>,
    /// Received at.
    pub received_at_ms: i64,
    /// When an admin released (discarded) it.
    pub released_at_ms: Option<i64>,
}

impl fmt::Debug for Quarantined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Quarantined")
            .field("id", &self.id)
            .field("reason", &self.reason)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Where an inbound message goes.
#[derive(Debug)]
pub enum InboundFiling {
    /// A new report (its acknowledgement is in `report.outbox`).
    NewReport(Box<crate::NewReport>),
    /// A message from the reporter on an existing report.
    Reply {
        /// The report.
        report: ReportId,
        /// The text.
        body: String,
        /// Files attached to the mail.
        attachments: Vec<crate::NewAttachment>,
    },
}
