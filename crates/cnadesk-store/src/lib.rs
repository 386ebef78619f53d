//! The store interface of cnadesk.
//!
//! The web layer and the binary hold an `Arc<dyn Store>` and never see SQL.
//! Every method that changes state writes its audit event(s) in the same
//! transaction as the change. Secrets (password hashes, session and tracking
//! tokens) only ever reach a store already hashed; TOTP secrets arrive
//! encrypted.
#![warn(clippy::unwrap_used)]

mod api_tokens;
#[cfg(feature = "conformance")]
pub mod conformance;
mod content;
mod coordination;
#[cfg(feature = "conformance")]
pub mod lease_conformance;
mod leases;
mod maintenance;
mod notify;
mod transparency;
mod types;

use async_trait::async_trait;
use cnadesk_core::audit::AuditEvent;
pub use cnadesk_core::team::{Absence, Affiliation, Profile, Recusal, Shift};
use cnadesk_core::{
    Actor, AttachmentId, CaseId, CaseState, CloseReason, CveId, ReportId, UserId, VendorId,
};

pub use api_tokens::{ApiToken, ApiTokens, NewApiToken};
pub use coordination::*;
pub use leases::Lease;
pub use maintenance::{Footprint, Maintenance};
pub use notify::*;
pub use transparency::*;
pub use types::*;

/// Errors a store reports.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A unique value is already taken (e.g. a username).
    #[error("{0} already exists")]
    Conflict(String),
    /// The domain refused the change (e.g. an invalid state transition).
    #[error("{0}")]
    Rejected(String),
    /// A one-time setup link was used, expired, or never existed.
    #[error("the setup link is invalid, expired, or already used")]
    SetupTokenInvalid,
    /// The database failed. The message is for logs, not for users.
    #[error("database error: {0}")]
    Database(String),
    /// The database cannot take the request now (a full disk, a read-only
    /// or damaged file, a lost connection): nothing was stored, and the same
    /// request may succeed once the cause is gone. The reason is for the
    /// operator (logs, `/readyz`), never for reporters.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

/// Result alias.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything cnadesk persists.
#[async_trait]
pub trait Store: Maintenance + ApiTokens + Send + Sync + 'static {
    /// Which backend this is (`sqlite` or `postgres`), for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    // ---- team accounts -------------------------------------------------

    /// Number of team accounts (0 on a fresh install).
    async fn count_users(&self) -> StoreResult<i64>;

    /// Creates an account. `Conflict` when the username is taken.
    async fn create_user(&self, user: NewUser, actor: &Actor, now_ms: i64) -> StoreResult<User>;

    /// An account by id.
    async fn user(&self, id: UserId) -> StoreResult<Option<User>>;

    /// An account by username, with its credentials, for sign-in.
    async fn user_credentials(&self, username: &str) -> StoreResult<Option<UserCredentials>>;

    /// An account's credentials by id (for TOTP checks).
    async fn user_credentials_by_id(&self, id: UserId) -> StoreResult<Option<UserCredentials>>;

    /// All accounts, by username.
    async fn list_users(&self) -> StoreResult<Vec<User>>;

    /// Activates or deactivates an account; deactivation ends its sessions.
    async fn set_user_active(
        &self,
        id: UserId,
        active: bool,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Stores (or clears) the encrypted TOTP secret of an account.
    async fn set_user_totp(
        &self,
        id: UserId,
        totp_secret_enc: Option<Vec<u8>>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Records the last TOTP time step used, refusing a replay of the same or
    /// an older step. Returns `false` when the step was already used.
    async fn use_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool>;

    // ---- first-run setup -------------------------------------------------

    /// Replaces any pending setup token with a new one (hash only).
    async fn put_setup_token(&self, token_hash: &str, expires_at_ms: i64) -> StoreResult<()>;

    /// Whether a setup token is valid now (without consuming it).
    async fn setup_token_valid(&self, token_hash: &str, now_ms: i64) -> StoreResult<bool>;

    /// Consumes a setup token and creates the first admin, atomically:
    /// fails with `SetupTokenInvalid` if the token is unknown, expired or
    /// used, or if any account already exists.
    async fn consume_setup_token(
        &self,
        token_hash: &str,
        admin: NewUser,
        now_ms: i64,
    ) -> StoreResult<User>;

    // ---- sessions ----------------------------------------------------------

    /// Creates a session (the id is stored hashed). A session with
    /// `mfa_pending` only allows completing the second factor.
    async fn create_session(&self, session: NewSession, actor: &Actor) -> StoreResult<()>;

    /// The session and its (active) user, if the session exists and has not expired.
    async fn session(&self, id_hash: &str, now_ms: i64) -> StoreResult<Option<SessionWithUser>>;

    /// Completes the second factor: the pending session is replaced by
    /// `new_session` (a new id, never the pending one), atomically.
    async fn complete_session_mfa(
        &self,
        pending_hash: &str,
        new_session: NewSession,
        actor: &Actor,
    ) -> StoreResult<()>;

    /// Ends a session.
    async fn delete_session(&self, id_hash: &str, actor: &Actor, now_ms: i64) -> StoreResult<()>;

    // ---- reports -------------------------------------------------------------

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

    // ---- cases -----------------------------------------------------------------

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

    // ---- CVE records -------------------------------------------------------------

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

    // ---- CVE IDs -------------------------------------------------------------------

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

    // ---- jobs (transactional outbox) ----------------------------------------------

    /// Enqueues a job. `Conflict` while another open job has the same subject.
    async fn enqueue_job(&self, job: NewJob, actor: &Actor, now_ms: i64) -> StoreResult<Job>;

    /// Stores the intent to publish the latest version of a case's record
    /// (a `cve.publish` job, or `cve.update` when the ID is already
    /// published), after checking in the same transaction that the version
    /// is still the latest, passes the checks and is approved by a member
    /// other than its author, and that no embargo of the case is running
    /// (`Rejected`). Audited as `record.publication_requested`.
    async fn request_publication(
        &self,
        request: PublicationRequest,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Job>;

    /// One job.
    async fn job(&self, id: i64) -> StoreResult<Option<Job>>;

    /// Jobs, newest first.
    async fn jobs(&self, filter: JobFilter) -> StoreResult<Vec<Job>>;

    /// Queued jobs whose time has come and running jobs whose lease ended.
    async fn due_jobs(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<Job>>;

    /// Takes a job for one attempt until `lease_until_ms`: only a queued job,
    /// or a running one whose lease ended (its worker is gone). `None` when
    /// another worker holds it or it is finished.
    async fn claim_job(
        &self,
        id: i64,
        lease_until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Option<Job>>;

    /// Ends the attempt `attempt` of a running job. `Conflict` when that
    /// attempt no longer holds the job. A `Done` outcome applies its effect in
    /// the same transaction.
    async fn finish_job(
        &self,
        id: i64,
        attempt: i64,
        outcome: JobOutcome,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Job>;

    // ---- ecosystem and scope --------------------------------------------------------

    /// Every product annotation (and product added by a member).
    async fn product_annotations(&self) -> StoreResult<Vec<ProductAnnotation>>;

    /// Creates or replaces the annotation of one product; audited as
    /// `ecosystem.product_added` (first save of an added product) or
    /// `ecosystem.product_annotated`, with the previous and new annotation.
    async fn save_product_annotation(
        &self,
        key: &str,
        annotation: serde_json::Value,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<ProductAnnotation>;

    /// Records a scope decision on a report (audited as `scope.decided`).
    /// Rejected when the report is closed or already accepted as a case.
    async fn record_scope_decision(
        &self,
        decision: NewScopeDecision,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<ScopeDecision>;

    /// The scope decisions of one report, newest first.
    async fn scope_decisions(&self, report: ReportId) -> StoreResult<Vec<ScopeDecision>>;

    /// The latest scope decision of every report, oldest report first.
    async fn latest_scope_decisions(&self) -> StoreResult<Vec<ScopeDecision>>;

    /// Records that the desk runs under this policy version (audited as
    /// `scope.policy_adopted` the first time). `Ok(false)`: already adopted
    /// with the same text. `Conflict`: the version was adopted with other
    /// text (a changed policy needs a new version).
    async fn adopt_scope_policy(
        &self,
        version: &str,
        effective: &str,
        document: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<bool>;

    /// Every adopted policy version, most recently adopted first.
    async fn scope_policies(&self) -> StoreResult<Vec<PolicyVersion>>;

    // ---- team: profiles, absences, affiliations, recusals, rota ---------------------

    /// Every member profile that was filled in.
    async fn profiles(&self) -> StoreResult<Vec<Profile>>;

    /// Creates or replaces a member's profile (audited as `team.profile_saved`).
    async fn save_profile(&self, profile: Profile, actor: &Actor, now_ms: i64) -> StoreResult<()>;

    /// Every recorded absence, by first day.
    async fn absences(&self) -> StoreResult<Vec<Absence>>;

    /// Records an absence (audited as `team.absence_added`).
    async fn add_absence(
        &self,
        absence: Absence,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Absence>;

    /// Removes an absence of `user` (audited as `team.absence_removed`);
    /// `NotFound` when it is not theirs or does not exist.
    async fn remove_absence(
        &self,
        id: i64,
        user: UserId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Every declared affiliation.
    async fn affiliations(&self) -> StoreResult<Vec<Affiliation>>;

    /// Declares an affiliation (audited as `team.affiliation_declared`);
    /// `Conflict` when the member already declared that product.
    async fn declare_affiliation(
        &self,
        affiliation: Affiliation,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Affiliation>;

    /// Withdraws an affiliation of `user` (audited as `team.affiliation_withdrawn`).
    async fn withdraw_affiliation(
        &self,
        id: i64,
        user: UserId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Recusals of one case, or of every case.
    async fn recusals(&self, case: Option<CaseId>) -> StoreResult<Vec<Recusal>>;

    /// Records a recusal (audited as `case.recused`). A recused assignee is
    /// unassigned in the same transaction (audited as `case.assigned`).
    /// `Ok(false)`: that member was already recused from the case.
    async fn recuse(&self, recusal: Recusal, actor: &Actor, now_ms: i64) -> StoreResult<bool>;

    /// One on-call shift.
    async fn shift(&self, id: i64) -> StoreResult<Option<Shift>>;

    /// On-call shifts that overlap `[from_ms, to_ms)`, by start.
    async fn shifts(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<Shift>>;

    /// Replaces the shifts starting at or after the first new shift's start
    /// with `shifts` (member, start, end), audited as `rota.planned`; a shift
    /// running into the plan ends where it begins. Rejected when the plan
    /// starts before `now_ms` (the past is not rewritten) or its shifts overlap.
    async fn plan_rota(
        &self,
        shifts: Vec<(UserId, i64, i64)>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Leaves the handover note on a shift (audited as `rota.handed_over`).
    async fn hand_over(
        &self,
        shift: i64,
        note: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// When each member was last given a case (ms), from the audit log.
    async fn last_assignments(&self) -> StoreResult<Vec<(UserId, i64)>>;

    // ---- notifications ---------------------------------------------------------

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

    // ---- coordination -------------------------------------------------------------

    /// Adds a vulnerability to a case (audited as `vulnerability.added`).
    async fn add_vulnerability(
        &self,
        vulnerability: NewVulnerability,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Vulnerability>;

    /// The vulnerabilities of a case, oldest first.
    async fn vulnerabilities(&self, case: CaseId) -> StoreResult<Vec<Vulnerability>>;

    /// Records the CVE count chosen for a vulnerability of `case` (audited as
    /// `vulnerability.count_chosen`). `NotFound` when it is not that case's.
    async fn choose_cve_count(
        &self,
        case: CaseId,
        vulnerability: i64,
        choice: CountChoice,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Adds products (registry key, name) to a vulnerability of `case` with
    /// status `unknown`; products already listed are skipped. Audited as
    /// `vulnerability.products_added` when any was new. Returns how many.
    async fn add_affected_products(
        &self,
        case: CaseId,
        vulnerability: i64,
        products: Vec<(String, String)>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<usize>;

    /// Every product row of every vulnerability of a case.
    async fn affected_products(&self, case: CaseId) -> StoreResult<Vec<AffectedProduct>>;

    /// Sets a product row of `case`; each of status, versions and statement
    /// takes a new date only when it changed. Audited as
    /// `vulnerability.product_updated` with the names of the changed fields
    /// (never the statement's text). `NotFound` when not that case's row.
    async fn update_affected_product(
        &self,
        case: CaseId,
        row: i64,
        update: ProductUpdate,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<AffectedProduct>;

    /// Shares (or stops sharing) a product row with the other vendors of the
    /// case (audited as `vulnerability.product_shared`).
    async fn share_affected_product(
        &self,
        case: CaseId,
        row: i64,
        shared: bool,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Invites a vendor contact (audited as `vendor.invited`, without the
    /// address) and queues the invitation e-mail in the same transaction.
    /// Inviting an address already invited to the case adds the products and
    /// replaces the link (`vendor.reinvited`).
    async fn invite_vendor(
        &self,
        invitation: NewInvitation,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Participant>;

    /// The vendor contacts of a case, by invitation.
    async fn participants(&self, case: CaseId) -> StoreResult<Vec<Participant>>;

    /// Every case participation of a vendor account.
    async fn participations(&self, vendor: VendorId) -> StoreResult<Vec<Participant>>;

    /// The participant whose invitation link has this hash, if the link has
    /// not expired and has not been used.
    async fn invitation(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Participant>>;

    /// Uses an invitation link: the participant is bound to `vendor` and the
    /// link stops working (audited as `vendor.accepted`).
    /// `SetupTokenInvalid` when the link is unknown, expired or used.
    async fn accept_invitation(
        &self,
        token_hash: &str,
        vendor: VendorId,
        now_ms: i64,
    ) -> StoreResult<Participant>;

    /// Records that a vendor acknowledged the embargo terms (audited as
    /// `vendor.acknowledged`). `Ok(false)` when they already had.
    async fn acknowledge_embargo(
        &self,
        participant: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<bool>;

    /// Records a reminder (audited as `vendor.reminded`), replacing the
    /// invitation link when `new_link` (hash, expiry) is given, and queues
    /// the reminder e-mail in the same transaction.
    async fn remind_vendor(
        &self,
        participant: i64,
        new_link: Option<(String, i64)>,
        outbox: Option<NewOutboxMessage>,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Creates a vendor account. `Conflict` when the e-mail has one.
    async fn create_vendor_account(
        &self,
        account: NewVendorAccount,
        now_ms: i64,
    ) -> StoreResult<VendorAccount>;

    /// A vendor account by id.
    async fn vendor_account(&self, id: VendorId) -> StoreResult<Option<VendorAccount>>;

    /// A vendor account and its password hash, by e-mail (any case).
    async fn vendor_credentials(&self, email: &str)
        -> StoreResult<Option<(VendorAccount, String)>>;

    /// Starts a vendor session (the id stored hashed).
    async fn create_vendor_session(
        &self,
        id_hash: &str,
        vendor: VendorId,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// The account of a vendor session that has not expired.
    async fn vendor_session(
        &self,
        id_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<VendorAccount>>;

    /// Ends a vendor session.
    async fn delete_vendor_session(&self, id_hash: &str) -> StoreResult<()>;

    /// A case's embargo, if one was set.
    async fn embargo(&self, case: CaseId) -> StoreResult<Option<Embargo>>;

    /// Sets or changes the embargo end. When `consent_policy` asks for
    /// consent, an embargo exists and some participant has acknowledged it
    /// (decided in the same transaction: `coordination::change_needs_consent`),
    /// the change is stored as pending and every participant's earlier
    /// consent is cleared (`embargo.proposed`); otherwise it applies at once
    /// and clears any pending change (`embargo.set` the first time, then
    /// `embargo.changed` with the previous end). `Rejected` once lifted.
    async fn set_embargo(
        &self,
        case: CaseId,
        ends_at_ms: i64,
        reason: &str,
        consent_policy: bool,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<EmbargoOutcome>;

    /// A participant consents to the pending change (`embargo.consented`).
    /// When every participant who acknowledged the embargo has consented,
    /// the change applies in the same transaction (`embargo.changed`) and
    /// `Applied` is returned. `Rejected` when nothing is pending.
    async fn consent_embargo(
        &self,
        participant: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<EmbargoOutcome>;

    /// Records a public disclosure before the end (`embargo.broken`).
    async fn break_embargo(
        &self,
        case: CaseId,
        disclosed_at_ms: i64,
        note: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Embargoes whose end has come and that are not lifted yet.
    async fn due_embargo_lifts(&self, now_ms: i64) -> StoreResult<Vec<Embargo>>;

    /// Lifts an embargo whose end has come and publishes the case's advisory,
    /// in one transaction (`embargo.lifted`, `advisory.published`).
    /// `Ok(false)`: already lifted, or the end has not come.
    async fn lift_embargo(&self, case: CaseId, actor: &Actor, now_ms: i64) -> StoreResult<bool>;

    /// Notes that publication of the records was queued (or found not
    /// possible) after the lift, so the worker does it once.
    async fn mark_publication_queued(&self, case: CaseId, now_ms: i64) -> StoreResult<()>;

    /// Lifted embargoes whose publication step has not run.
    async fn lifted_awaiting_publication(&self) -> StoreResult<Vec<Embargo>>;

    /// The published advisory of a case.
    async fn advisory(&self, case: CaseId) -> StoreResult<Option<Advisory>>;

    /// Every published advisory, newest first.
    async fn advisories(&self) -> StoreResult<Vec<Advisory>>;

    /// Adds a message to a coordination thread (audited as
    /// `coordination.message` with the body's SHA-256).
    async fn add_case_message(
        &self,
        case: CaseId,
        participant: Option<i64>,
        author: &str,
        body: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CaseMessage>;

    /// The coordination messages of a case, oldest first: every thread when
    /// `threads` is `None`, else the shared thread and the listed participants'.
    async fn case_messages(
        &self,
        case: CaseId,
        threads: Option<&[i64]>,
    ) -> StoreResult<Vec<CaseMessage>>;

    /// Stores an uploaded file (audited as `coordination.file_added` with its
    /// SHA-256).
    async fn add_case_file(
        &self,
        file: NewCaseFile,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CaseFile>;

    /// The files of a case (without content).
    async fn case_files(&self, case: CaseId) -> StoreResult<Vec<CaseFile>>;

    /// One file of `case` with its content.
    async fn case_file(&self, case: CaseId, id: i64) -> StoreResult<Option<(CaseFile, Vec<u8>)>>;

    // ---- audit -------------------------------------------------------------------

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
        actions: &[&str],
        since_ms: i64,
    ) -> StoreResult<Vec<AuditEvent>>;

    // ---- transparency log ----------------------------------------------------------

    /// Appends entries after the last one (hash-chained; an audit event is
    /// taken at most once) and, in the same transaction, moves the cursor
    /// `cursor.0` to `cursor.1` (never backwards). Returns how many were
    /// appended.
    async fn append_transparency(
        &self,
        entries: Vec<NewTransparencyEntry>,
        cursor: Option<(&str, i64)>,
    ) -> StoreResult<usize>;

    /// Entries with `seq > after`, in order, at most `limit`.
    async fn transparency_entries(
        &self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<TransparencyRow>>;

    /// The last entry, if any.
    async fn transparency_last(&self) -> StoreResult<Option<TransparencyRow>>;

    /// The distinct (case, report) pairs that still have sealed entries.
    async fn sealed_transparency_subjects(
        &self,
    ) -> StoreResult<Vec<(Option<CaseId>, Option<ReportId>)>>;

    /// Reveals the sealed entries of `case` and of `report` (either may be
    /// absent); returns how many.
    async fn reveal_transparency(
        &self,
        case: Option<CaseId>,
        report: Option<ReportId>,
        revealed_at: &str,
    ) -> StoreResult<usize>;

    // ---- leases (several nodes on one database) -------------------------------------

    /// Takes the lease `name` for `holder` until `until_ms`, or extends it:
    /// granted when nobody holds it, when `holder` already does, or when the
    /// lease ended before `now_ms` (its holder is gone). One conditional
    /// statement, so of several nodes asking at once exactly one gets it.
    /// `Ok(false)`: another holder's lease runs.
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<bool>;

    /// Gives up a lease `holder` holds, so another node may take it at once
    /// (a graceful stop). Nothing changes when someone else holds it.
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;

    /// Every lease, by name.
    async fn leases(&self) -> StoreResult<Vec<Lease>>;

    /// Extends the lease of attempt `attempt` of a running job to
    /// `lease_until_ms` (the heartbeat of a running attempt). `Ok(false)`:
    /// that attempt no longer holds the job (finished, or taken over).
    async fn renew_job_lease(
        &self,
        id: i64,
        attempt: i64,
        lease_until_ms: i64,
    ) -> StoreResult<bool>;
}

/// Why the audit chain could not be confirmed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken at an event.
    #[error("{0}")]
    Broken(#[from] cnadesk_core::audit::ChainError),
    /// The store could not be read.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Walks the whole audit chain page by page; returns the number of events,
/// or the first inconsistency.
///
/// Then re-reads every content an event commits to by digest (a report's
/// fields, a message, a record version; the latest event per content) and
/// recomputes the digest: a broken chain is reported first, then the
/// earliest event whose content changed.
pub async fn verify_audit_chain(store: &dyn Store) -> Result<i64, VerifyError> {
    let mut verifier = cnadesk_core::audit::ChainVerifier::default();
    let mut claims = cnadesk_core::audit::ContentClaims::default();
    let mut after = 0;
    loop {
        let page = store.audit_events(after, 1000).await?;
        if page.is_empty() {
            break;
        }
        for event in &page {
            verifier.push(event)?;
            claims.push(event);
            after = event.seq;
        }
    }
    content::check_claims(store, claims.into_claims()).await??;
    Ok(verifier.verified())
}

/// A close decision as the triage form submits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseDecision {
    /// Why.
    pub reason: CloseReason,
    /// The report this duplicates, for [`CloseReason::Duplicate`].
    pub duplicate_of: Option<ReportId>,
    /// Free-text explanation (shown to the team).
    pub detail: String,
}
