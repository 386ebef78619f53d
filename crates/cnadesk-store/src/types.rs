//! Rows the store reads and writes.

use std::fmt;

use cnadesk_core::{
    AttachmentId, CaseId, CaseState, CloseReason, CveId, MessageId, ReportId, ReportState, Role,
    UserId, ValidReport,
};
use serde::{Deserialize, Serialize};

/// A new team account. The password arrives already hashed (Argon2id PHC string).
#[derive(Clone)]
pub struct NewUser {
    /// Unique sign-in name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Contact address.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Argon2id PHC string.
    pub password_hash: String,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("password_hash", &"[redacted]")
            .finish()
    }
}

/// A team account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Id.
    pub id: UserId,
    /// Unique sign-in name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Contact address.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Deactivated accounts cannot sign in.
    pub active: bool,
    /// Whether a TOTP second factor is enrolled.
    pub totp_enabled: bool,
    /// Creation time (ms since epoch).
    pub created_at_ms: i64,
}

/// An account with what is needed to check a sign-in.
#[derive(Clone)]
pub struct UserCredentials {
    /// The account.
    pub user: User,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// The TOTP secret, encrypted with the server key.
    pub totp_secret_enc: Option<Vec<u8>>,
}

impl fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .field("password_hash", &"[redacted]")
            .field(
                "totp_secret_enc",
                &self.totp_secret_enc.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// A new session; `id_hash` is the SHA-256 of the cookie value.
#[derive(Clone)]
pub struct NewSession {
    /// SHA-256 (hex) of the session id.
    pub id_hash: String,
    /// The account.
    pub user_id: UserId,
    /// Whether the second factor is still to be checked.
    pub mfa_pending: bool,
    /// Creation time.
    pub created_at_ms: i64,
    /// Expiry.
    pub expires_at_ms: i64,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSession")
            .field("id_hash", &"[redacted]")
            .field("user_id", &self.user_id)
            .field("mfa_pending", &self.mfa_pending)
            .field("expires_at_ms", &self.expires_at_ms)
            .finish()
    }
}

/// A live session and its account.
#[derive(Clone, Debug)]
pub struct SessionWithUser {
    /// The account (always active).
    pub user: User,
    /// Whether the second factor is still to be checked.
    pub mfa_pending: bool,
    /// Expiry.
    pub expires_at_ms: i64,
}

/// How a report arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The public web form.
    Web,
    /// The JSON API.
    Api,
    /// E-mail.
    Email,
}

impl Channel {
    /// Stable string.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Api => "api",
            Channel::Email => "email",
        }
    }

    /// Parses the stable string.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "web" => Some(Channel::Web),
            "api" => Some(Channel::Api),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }
}

/// A file to attach to a new report.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAttachment {
    /// The name the reporter gave it (sanitized).
    pub filename: String,
    /// The declared content type.
    pub content_type: String,
    /// The bytes.
    pub data: Vec<u8>,
}

impl fmt::Debug for NewAttachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAttachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("len", &self.data.len())
            .finish()
    }
}

/// A validated report ready to store.
#[derive(Clone)]
pub struct NewReport {
    /// The validated fields.
    pub fields: ValidReport,
    /// SHA-256 (hex) of the tracking token given to the reporter.
    pub tracking_hash: String,
    /// How it arrived.
    pub channel: Channel,
    /// Attached files.
    pub attachments: Vec<NewAttachment>,
}

impl fmt::Debug for NewReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewReport")
            .field("title", &self.fields.title)
            .field("tracking_hash", &"[redacted]")
            .field("channel", &self.channel)
            .field("attachments", &self.attachments)
            .finish()
    }
}

/// A stored report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Id.
    pub id: ReportId,
    /// The reporter's fields.
    pub fields: ValidReport,
    /// State.
    pub state: ReportState,
    /// Why it was closed.
    pub close_reason: Option<CloseReason>,
    /// Which report it duplicates.
    pub duplicate_of: Option<ReportId>,
    /// Explanation of the closing.
    pub close_detail: Option<String>,
    /// How it arrived.
    pub channel: Channel,
    /// Received at.
    pub created_at_ms: i64,
    /// Last change.
    pub updated_at_ms: i64,
}

/// A row of the triage queue.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportSummary {
    /// Id.
    pub id: ReportId,
    /// Title.
    pub title: String,
    /// Product.
    pub product: String,
    /// State.
    pub state: ReportState,
    /// Close reason.
    pub close_reason: Option<CloseReason>,
    /// Received at.
    pub created_at_ms: i64,
    /// The case, if accepted.
    pub case_id: Option<CaseId>,
    /// Messages from the reporter newer than the last team message.
    pub awaiting_reply: bool,
}

/// Which reports to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportFilter {
    /// Only this state.
    pub state: Option<ReportState>,
    /// Only (or never) spam.
    pub spam: Option<bool>,
    /// At most this many (0: no limit).
    pub limit: i64,
}

/// Attachment metadata.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    /// Id.
    pub id: AttachmentId,
    /// The report.
    pub report_id: ReportId,
    /// File name.
    pub filename: String,
    /// Declared type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the bytes.
    pub sha256: String,
}

/// An attachment with its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Metadata.
    pub meta: AttachmentMeta,
    /// Bytes.
    pub data: Vec<u8>,
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("meta", &self.meta)
            .finish()
    }
}

/// Who may read a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Shared with the reporter (shown on the tracking page).
    Reporter,
    /// An internal note: the team only.
    Internal,
}

impl Visibility {
    /// Stable string.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Reporter => "reporter",
            Visibility::Internal => "internal",
        }
    }

    /// Parses the stable string.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "reporter" => Some(Visibility::Reporter),
            "internal" => Some(Visibility::Internal),
            _ => None,
        }
    }
}

/// Who wrote a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Author {
    /// A team member.
    Member {
        /// Account.
        id: UserId,
        /// Display name at the time.
        name: String,
    },
    /// The reporter (through the tracking link).
    Reporter,
}

/// A new message on a report thread.
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// The report.
    pub report_id: ReportId,
    /// Author.
    pub author: Author,
    /// Who may read it. A reporter can only write `Reporter` messages.
    pub visibility: Visibility,
    /// Text (plain; rendered escaped).
    pub body: String,
}

/// A stored message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Id.
    pub id: MessageId,
    /// The report.
    pub report_id: ReportId,
    /// Author.
    pub author: Author,
    /// Visibility.
    pub visibility: Visibility,
    /// Text.
    pub body: String,
    /// Written at.
    pub created_at_ms: i64,
}

/// A case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Id.
    pub id: CaseId,
    /// The report it was opened from.
    pub report_id: ReportId,
    /// Title.
    pub title: String,
    /// State.
    pub state: CaseState,
    /// Assignee.
    pub assignee: Option<UserId>,
    /// Why the assignee was chosen.
    pub assignment_reason: Option<String>,
    /// The CVE ID of the case, once one is known.
    pub cve_id: Option<CveId>,
    /// Opened at.
    pub created_at_ms: i64,
    /// Last change.
    pub updated_at_ms: i64,
}

/// Which cases to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// Only open cases (not closed, rejected or published).
    pub open_only: bool,
    /// Only cases assigned to this member.
    pub assignee: Option<UserId>,
}

/// A new version of a case's CVE record, as the editor saves it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRecordVersion {
    /// The CVE ID the record is for.
    pub cve_id: CveId,
    /// The CNA container, as JSON text.
    pub document: String,
    /// The version the editor started from (0 for the first): saving fails
    /// with `Conflict` when someone saved another version meanwhile.
    pub based_on: i64,
    /// Schema errors at the time of saving (0 = schema-valid).
    pub schema_errors: i64,
    /// Lint findings at error level.
    pub lint_errors: i64,
    /// Lint findings at warning level.
    pub lint_warnings: i64,
    /// What changed, in the author's words (may be empty).
    pub note: String,
    /// Who saved it.
    pub author: UserId,
}

/// A saved, immutable version of a case's CVE record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordVersion {
    /// The case.
    pub case_id: CaseId,
    /// 1, 2, 3… per case.
    pub version: i64,
    /// The CVE ID the record is for.
    pub cve_id: CveId,
    /// The CNA container, as JSON text.
    pub document: String,
    /// SHA-256 of `document` (also in the audit event).
    pub sha256: String,
    /// Schema errors at the time of saving.
    pub schema_errors: i64,
    /// Lint errors at the time of saving.
    pub lint_errors: i64,
    /// Lint warnings at the time of saving.
    pub lint_warnings: i64,
    /// The author's note.
    pub note: String,
    /// Who saved it.
    pub author: UserId,
    /// When.
    pub created_at_ms: i64,
}

impl RecordVersion {
    /// Schema-valid and without lint errors: fit to be published.
    pub fn publishable(&self) -> bool {
        self.schema_errors == 0 && self.lint_errors == 0
    }
}
