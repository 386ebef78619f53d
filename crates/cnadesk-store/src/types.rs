//! Rows the store reads and writes.

use std::fmt;

use cnadesk_core::{
    AttachmentId, CaseId, CaseState, CloseReason, CveId, MessageId, ReportId, ReportState, Role,
    UserId, ValidReport,
};
use cnadesk_scope::Decision;
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

/// A new invitation link for a team account (the link itself is never
/// stored: only its SHA-256), with the e-mail that carries it.
#[derive(Clone)]
pub struct NewUserInvitation {
    /// SHA-256 (hex) of the link's token.
    pub token_hash: String,
    /// When the link stops working.
    pub expires_at_ms: i64,
    /// The e-mail with the link (sealed), queued in the same transaction;
    /// `None` when no mail is configured.
    pub outbox: Option<crate::NewOutboxMessage>,
}

impl fmt::Debug for NewUserInvitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUserInvitation")
            .field("token_hash", &"[redacted]")
            .field("expires_at_ms", &self.expires_at_ms)
            .field("mailed", &self.outbox.is_some())
            .finish()
    }
}

/// An invitation link of a team account, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInvitation {
    /// The account it sets up.
    pub user: User,
    /// When it was made.
    pub created_at_ms: i64,
    /// When it stops working.
    pub expires_at_ms: i64,
    /// When it was followed (it works once).
    pub used_at_ms: Option<i64>,
}

/// How the second factor of a sign-in was completed (for the audit log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecondFactor {
    /// A code from the authenticator app.
    Totp,
    /// A one-time recovery code.
    RecoveryCode,
}

impl SecondFactor {
    /// The name in audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactor::Totp => "totp",
            SecondFactor::RecoveryCode => "recovery_code",
        }
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
    /// Messages queued in the same transaction (the acknowledgement).
    pub outbox: Vec<crate::NewOutboxMessage>,
}

impl fmt::Debug for NewReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewReport")
            .field("title", &self.fields.title)
            .field("tracking_hash", &"[redacted]")
            .field("channel", &self.channel)
            .field("attachments", &self.attachments)
            .field("outbox", &self.outbox)
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

/// The state of a CVE ID as the desk last learnt it from CVE Services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CveIdState {
    /// Reserved, no record published.
    Reserved,
    /// A record is published.
    Published,
    /// Rejected.
    Rejected,
}

impl CveIdState {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            CveIdState::Reserved => "reserved",
            CveIdState::Published => "published",
            CveIdState::Rejected => "rejected",
        }
    }
}

impl std::str::FromStr for CveIdState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "reserved" => Ok(CveIdState::Reserved),
            "published" => Ok(CveIdState::Published),
            "rejected" => Ok(CveIdState::Rejected),
            other => Err(format!("unknown CVE ID state {other:?}")),
        }
    }
}

impl fmt::Display for CveIdState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A CVE ID the organization holds, as CVE Services reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceCveId {
    /// The ID.
    pub cve_id: CveId,
    /// Its state at CVE Services.
    pub state: CveIdState,
    /// When it was reserved (ms since the epoch).
    pub reserved_at_ms: i64,
    /// The CVE Services user who reserved it.
    pub reserved_by: String,
}

/// A CVE ID the desk knows about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CveIdEntry {
    /// The ID.
    pub cve_id: CveId,
    /// The case it is for, if linked.
    pub case_id: Option<CaseId>,
    /// State.
    pub state: CveIdState,
    /// Reserved at.
    pub reserved_at_ms: i64,
    /// The CVE Services user who reserved it.
    pub reserved_by: String,
    /// When the ID became public (starts the 72-hour publication clock).
    pub disclosed_at_ms: Option<i64>,
    /// When its record was first published.
    pub published_at_ms: Option<i64>,
    /// The record version last published.
    pub published_version: Option<i64>,
    /// The CNA container as CVE Services returned it after the last publication.
    pub published_document: Option<String>,
    /// Why it was rejected.
    pub rejected_reason: String,
    /// Last change.
    pub updated_at_ms: i64,
}

/// Which CVE IDs to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CveIdFilter {
    /// Only the IDs of this case.
    pub case: Option<CaseId>,
    /// Only IDs in this state.
    pub state: Option<CveIdState>,
}

/// A second member's approval of one record version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    /// The case.
    pub case_id: CaseId,
    /// The version approved.
    pub version: i64,
    /// SHA-256 of the approved document (what exactly was approved).
    pub sha256: String,
    /// Who approved.
    pub approver: UserId,
    /// When.
    pub approved_at_ms: i64,
}

/// Kinds of background jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    /// Reserve CVE IDs for a case (`POST /cve-id`).
    CveReserve,
    /// Publish a record (`POST /cve/{id}/cna`).
    CvePublish,
    /// Update a published record (`PUT /cve/{id}/cna`).
    CveUpdate,
    /// Reject an ID (with a record when it was published, without otherwise).
    CveReject,
}

impl JobKind {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::CveReserve => "cve.reserve",
            JobKind::CvePublish => "cve.publish",
            JobKind::CveUpdate => "cve.update",
            JobKind::CveReject => "cve.reject",
        }
    }

    /// Every kind.
    pub const ALL: [JobKind; 4] = [
        JobKind::CveReserve,
        JobKind::CvePublish,
        JobKind::CveUpdate,
        JobKind::CveReject,
    ];
}

impl std::str::FromStr for JobKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        JobKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown job kind {s:?}"))
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a job stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for its (next) attempt.
    Queued,
    /// A worker holds it (until its lease ends).
    Running,
    /// Finished with success.
    Done,
    /// Finished without success; will not be tried again.
    Failed,
}

impl JobState {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    /// Not finished.
    pub fn is_open(self) -> bool {
        matches!(self, JobState::Queued | JobState::Running)
    }
}

impl std::str::FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "queued" => Ok(JobState::Queued),
            "running" => Ok(JobState::Running),
            "done" => Ok(JobState::Done),
            "failed" => Ok(JobState::Failed),
            other => Err(format!("unknown job state {other:?}")),
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit of work with a side effect outside the database (a call to CVE
/// Services), written in the same transaction as the decision that caused
/// it (transactional outbox) and carried out by a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Id.
    pub id: i64,
    /// Kind.
    pub kind: JobKind,
    /// The case, if any.
    pub case_id: Option<CaseId>,
    /// What the job acts on (e.g. `cve:CVE-2026-1234`); one open job per subject.
    pub subject: String,
    /// Kind-specific input, JSON.
    pub payload: serde_json::Value,
    /// State.
    pub state: JobState,
    /// Attempts started so far.
    pub attempts: i64,
    /// Not before.
    pub next_attempt_at_ms: i64,
    /// A running job's lease ends here (then another worker may take it over).
    pub lease_until_ms: Option<i64>,
    /// The last failure, for people.
    pub last_error: String,
    /// Kind-specific output, JSON.
    pub result: Option<serde_json::Value>,
    /// Who asked (actor key).
    pub requested_by: String,
    /// Created.
    pub created_at_ms: i64,
    /// Last change.
    pub updated_at_ms: i64,
}

/// A job to enqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    /// Kind.
    pub kind: JobKind,
    /// The case, if any.
    pub case_id: Option<CaseId>,
    /// What the job acts on; `Conflict` while another open job has the same subject.
    pub subject: String,
    /// Input.
    pub payload: serde_json::Value,
}

/// What happened in an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobOutcome {
    /// Done; `effect` is applied in the same transaction.
    Done {
        /// Output (JSON).
        result: serde_json::Value,
        /// What the job changed outside, mirrored in the desk.
        effect: JobEffect,
    },
    /// Unclear or temporary failure: try again at `at_ms`.
    Retry {
        /// Why.
        error: String,
        /// Next attempt.
        at_ms: i64,
    },
    /// Final failure.
    Failed {
        /// Why.
        error: String,
    },
}

/// The state change a finished job brings to the desk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JobEffect {
    /// Nothing besides the job itself.
    None,
    /// IDs were reserved (linked to the job's case).
    Reserved(Vec<ServiceCveId>),
    /// A record version is now what CVE Services publishes.
    Published {
        /// The ID.
        cve_id: CveId,
        /// The version published.
        version: i64,
        /// The CNA container as read back from CVE Services.
        document: String,
    },
    /// The ID is rejected.
    Rejected {
        /// The ID.
        cve_id: CveId,
        /// Why.
        reason: String,
    },
}

/// A request to publish (or update) the latest approved version of a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicationRequest {
    /// The case.
    pub case_id: CaseId,
    /// The version the member saw and wants published (must be the latest, approved).
    pub version: i64,
}

/// Which jobs to list.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobFilter {
    /// Only the jobs of this case.
    pub case: Option<CaseId>,
    /// Only queued and running jobs.
    pub open_only: bool,
    /// At most this many, newest first (0: 100).
    pub limit: i64,
}

/// The team's annotation of one ecosystem product (or a product a member
/// added). The annotation itself is the registry's JSON shape; the store keeps
/// it as it is.
#[derive(Clone, Debug, PartialEq)]
pub struct ProductAnnotation {
    /// The registry key (`prosody-im`).
    pub key: String,
    /// The annotation, as JSON.
    pub annotation: serde_json::Value,
    /// When it last changed.
    pub updated_at_ms: i64,
    /// Who changed it last (none for the command line).
    pub updated_by: Option<UserId>,
}

/// A scope decision to record for a report.
#[derive(Clone, Debug, PartialEq)]
pub struct NewScopeDecision {
    /// The report.
    pub report: ReportId,
    /// What is decided: in scope, refer or out of scope (`needs_human` is
    /// the engine's answer, never a decision a member records; the store
    /// rejects it).
    pub decision: Decision,
    /// The rule that decides (none when a member overrides without one).
    pub rule: Option<String>,
    /// The policy version in force.
    pub policy_version: String,
    /// The product decided on (registry key).
    pub product_key: Option<String>,
    /// The CNA referred to, for `refer`.
    pub referral_cna: Option<String>,
    /// Whether the member departed from the engine's proposal.
    pub overridden: bool,
    /// The member's reason (required for an override).
    pub reason: String,
    /// What the engine read (product text, description).
    pub input: serde_json::Value,
    /// What the engine proposed.
    pub proposal: serde_json::Value,
}

/// A recorded scope decision.
#[derive(Clone, Debug, PartialEq)]
pub struct ScopeDecision {
    /// Row id.
    pub id: i64,
    /// The report.
    pub report: ReportId,
    /// In scope, refer or out of scope.
    pub decision: Decision,
    /// The rule.
    pub rule: Option<String>,
    /// The policy version it was made under.
    pub policy_version: String,
    /// The product.
    pub product_key: Option<String>,
    /// The CNA referred to.
    pub referral_cna: Option<String>,
    /// Whether it departs from the proposal.
    pub overridden: bool,
    /// The member's reason.
    pub reason: String,
    /// The engine's input.
    pub input: serde_json::Value,
    /// The engine's proposal.
    pub proposal: serde_json::Value,
    /// Who decided.
    pub decided_by: UserId,
    /// When.
    pub decided_at_ms: i64,
}

/// A version of the scope policy the desk has run under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersion {
    /// The policy's version.
    pub version: String,
    /// Its effective date.
    pub effective: String,
    /// SHA-256 of the document.
    pub sha256: String,
    /// The policy file as adopted.
    pub document: String,
    /// When the desk first ran under it.
    pub adopted_at_ms: i64,
}
