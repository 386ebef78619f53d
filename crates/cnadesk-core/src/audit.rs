//! The audit chain: every state change is recorded as an event that holds the
//! SHA-256 of the previous event and of its own canonical content, so that an
//! edit, deletion or reordering anywhere in the history is detectable.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Declares [`AuditAction`] from one list of (variant, dotted name), so that
/// the enum, [`AuditAction::as_str`], [`AuditAction::parse`] and
/// [`AuditAction::ALL`] cannot disagree.
macro_rules! audit_actions {
    ($( $(#[doc = $doc:literal])* $variant:ident => $name:literal, )*) => {
        /// Every action the audit log records, named in this one place.
        ///
        /// The dotted name ([`Self::as_str`]) is what an event stores and what
        /// its hash covers, so a name never changes once released; a log may
        /// hold names a later version added, which is why
        /// [`AuditEvent::action`] stays a string ([`AuditEvent::kind`] reads
        /// it back as an action).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum AuditAction {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl AuditAction {
            /// Every action, in declaration order.
            pub const ALL: &'static [AuditAction] = &[$( AuditAction::$variant, )*];

            /// The dotted name stored in events, e.g. `report.created`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( AuditAction::$variant => $name, )*
                }
            }

            /// The action with this dotted name; `None` for a name this
            /// version does not know.
            pub fn parse(name: &str) -> Option<Self> {
                match name {
                    $( $name => Some(AuditAction::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

audit_actions! {
    // ---- reports and their threads
    /// A report was received (web form, API or e-mail).
    ReportCreated => "report.created",
    /// A reporter's e-mail reply added attachments to their report.
    ReportFilesAdded => "report.files_added",
    /// A report awaiting triage was closed with a reason.
    ReportClosed => "report.closed",
    /// A message the reporter sees was added to a report's thread.
    MessageShared => "message.shared",
    /// An internal note was added to a report's thread.
    NoteAdded => "note.added",
    /// A member downloaded an attachment of a report.
    AttachmentDownloaded => "attachment.downloaded",
    // ---- cases
    /// A report was accepted as a case.
    CaseOpened => "case.opened",
    /// A case moved to another state.
    CaseStateChanged => "case.state_changed",
    /// A case was assigned (or unassigned).
    CaseAssigned => "case.assigned",
    /// A case was offered to the next member on call.
    CaseOffered => "case.offered",
    /// A member recused themself from a case.
    CaseRecused => "case.recused",
    /// A case took its CVE ID.
    CaseCveIdSet => "case.cve_id_set",
    // ---- CVE records
    /// A new version of a case's record was saved.
    RecordVersionSaved => "record.version_saved",
    /// A second member approved a record version.
    RecordApproved => "record.approved",
    /// Publication of a record version was requested (a job queued).
    RecordPublicationRequested => "record.publication_requested",
    // ---- CVE IDs and jobs
    /// CVE IDs were recorded as CVE Services reports them.
    CveIdsRecorded => "cve.ids_recorded",
    /// A known CVE ID was linked to a case.
    CveIdLinked => "cve.id_linked",
    /// When a CVE ID became public was set or cleared.
    CveDisclosedSet => "cve.disclosed_set",
    /// CVE IDs were reserved at CVE Services.
    CveReserved => "cve.reserved",
    /// A CVE record was published.
    CvePublished => "cve.published",
    /// A published CVE record was updated.
    CveUpdated => "cve.updated",
    /// A CVE ID was rejected.
    CveRejected => "cve.rejected",
    /// A job finished without an effect of its own.
    JobDone => "job.done",
    /// A job attempt failed.
    JobFailed => "job.failed",
    // ---- scope and the ecosystem
    /// A scope decision was recorded on a report.
    ScopeDecided => "scope.decided",
    /// The desk adopted a scope policy version.
    ScopePolicyAdopted => "scope.policy_adopted",
    /// A member added a product to the ecosystem registry.
    EcosystemProductAdded => "ecosystem.product_added",
    /// A member annotated a product of the ecosystem registry.
    EcosystemProductAnnotated => "ecosystem.product_annotated",
    // ---- accounts and sessions
    /// A team account was created.
    UserCreated => "user.created",
    /// A team account was activated.
    UserActivated => "user.activated",
    /// A team account was deactivated.
    UserDeactivated => "user.deactivated",
    /// A member enrolled a second factor.
    UserTotpEnrolled => "user.totp_enrolled",
    /// A member's second factor was removed.
    UserTotpRemoved => "user.totp_removed",
    /// An admin invited a member by an e-mailed link (the account has no
    /// password until the link is followed).
    UserInvited => "user.invited",
    /// An admin made a new invitation link for an account not yet set up.
    UserInvitationRenewed => "user.invitation_renewed",
    /// An invited member followed the link and chose a password.
    UserInvitationAccepted => "user.invitation_accepted",
    /// A member changed their own password (their other sessions ended).
    UserPasswordChanged => "user.password_changed",
    /// A member's one-time recovery codes were made (replacing any before).
    UserRecoveryCodesGenerated => "user.recovery_codes_generated",
    /// A member signed in with a recovery code instead of a TOTP code.
    UserRecoveryCodeUsed => "user.recovery_code_used",
    /// A password was verified; the second factor is pending.
    SessionPasswordVerified => "session.password_verified",
    /// A member signed in.
    SessionSignedIn => "session.signed_in",
    /// A member signed out.
    SessionSignedOut => "session.signed_out",
    /// A member made a personal API token.
    ApiTokenCreated => "api_token.created",
    /// A member revoked a personal API token.
    ApiTokenRevoked => "api_token.revoked",
    // ---- the team
    /// A member's profile was saved.
    TeamProfileSaved => "team.profile_saved",
    /// An absence was recorded.
    TeamAbsenceAdded => "team.absence_added",
    /// An absence was removed.
    TeamAbsenceRemoved => "team.absence_removed",
    /// A member declared an affiliation.
    TeamAffiliationDeclared => "team.affiliation_declared",
    /// A member withdrew an affiliation.
    TeamAffiliationWithdrawn => "team.affiliation_withdrawn",
    /// A member's contact details were saved.
    TeamContactSaved => "team.contact_saved",
    /// A member's notification choices were saved.
    TeamNotificationsChosen => "team.notifications_chosen",
    /// The on-call rota was planned.
    RotaPlanned => "rota.planned",
    /// A handover note was left on a shift.
    RotaHandedOver => "rota.handed_over",
    // ---- response-time clocks
    /// The response-time clocks of a report were paused.
    SlaPaused => "sla.paused",
    /// The response-time clocks of a report run again.
    SlaResumed => "sla.resumed",
    /// A reporter's inquiry was received.
    SlaInquiryReceived => "sla.inquiry_received",
    /// A reporter's inquiry was answered.
    SlaInquiryAnswered => "sla.inquiry_answered",
    /// A response-time target is close: the member working on it was warned.
    SlaWarned => "sla.warned",
    /// A response-time target is closer: the work was escalated.
    SlaEscalated => "sla.escalated",
    /// A response-time target passed.
    SlaBreached => "sla.breached",
    // ---- notifications and mail
    /// An outbox message failed for good.
    NotifyFailed => "notify.failed",
    /// A failed outbox message was queued again.
    NotifyRetried => "notify.retried",
    /// Inbound mail that could not be filed was quarantined.
    MailQuarantined => "mail.quarantined",
    /// Quarantined mail was marked as dealt with.
    MailReleased => "mail.released",
    // ---- coordination
    /// A vulnerability was added to a case.
    VulnerabilityAdded => "vulnerability.added",
    /// The CVE count of a vulnerability was chosen.
    VulnerabilityCountChosen => "vulnerability.count_chosen",
    /// Products were added to a vulnerability.
    VulnerabilityProductsAdded => "vulnerability.products_added",
    /// A product row of a vulnerability changed.
    VulnerabilityProductUpdated => "vulnerability.product_updated",
    /// A product row was shared (or no longer) with the other vendors.
    VulnerabilityProductShared => "vulnerability.product_shared",
    /// A vendor contact was invited to a case.
    VendorInvited => "vendor.invited",
    /// An address already invited to the case was invited again.
    VendorReinvited => "vendor.reinvited",
    /// A vendor accepted an invitation.
    VendorAccepted => "vendor.accepted",
    /// A vendor acknowledged the embargo terms.
    VendorAcknowledged => "vendor.acknowledged",
    /// A vendor was reminded.
    VendorReminded => "vendor.reminded",
    /// A vendor viewed a case.
    VendorViewed => "vendor.viewed",
    /// A case's embargo was set.
    EmbargoSet => "embargo.set",
    /// A change of the embargo end awaits the vendors' consent.
    EmbargoProposed => "embargo.proposed",
    /// The embargo end changed.
    EmbargoChanged => "embargo.changed",
    /// A vendor consented to the pending embargo change.
    EmbargoConsented => "embargo.consented",
    /// A public disclosure before the end was recorded.
    EmbargoBroken => "embargo.broken",
    /// The embargo was lifted.
    EmbargoLifted => "embargo.lifted",
    /// After the lift, publication of the records could not be queued.
    EmbargoPublicationNotQueued => "embargo.publication_not_queued",
    /// A case's advisory was published.
    AdvisoryPublished => "advisory.published",
    /// A message was added to a coordination thread.
    CoordinationMessage => "coordination.message",
    /// A file was added to a case's coordination.
    CoordinationFileAdded => "coordination.file_added",
    /// A coordination file was downloaded.
    CoordinationFileDownloaded => "coordination.file_downloaded",
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dotted name that is no [`AuditAction`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit action `{0}`")]
pub struct UnknownAction(pub String);

impl FromStr for AuditAction {
    type Err = UnknownAction;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        AuditAction::parse(name).ok_or_else(|| UnknownAction(name.to_owned()))
    }
}

/// What a new event says (the store adds the sequence number and the hashes).
#[derive(Clone, Debug, PartialEq)]
pub struct EventDraft {
    /// What happened.
    pub action: AuditAction,
    /// The case the event concerns, if any.
    pub case_id: Option<i64>,
    /// The report the event concerns, if any.
    pub report_id: Option<i64>,
    /// Details of the change. Never secrets.
    pub payload: Value,
}

impl EventDraft {
    /// A draft with an empty payload.
    pub fn new(action: AuditAction) -> Self {
        Self {
            action,
            case_id: None,
            report_id: None,
            payload: Value::Object(Default::default()),
        }
    }

    /// Sets the case.
    pub fn case(mut self, id: crate::CaseId) -> Self {
        self.case_id = Some(id.0);
        self
    }

    /// Sets the report.
    pub fn report(mut self, id: crate::ReportId) -> Self {
        self.report_id = Some(id.0);
        self
    }

    /// Sets the payload.
    pub fn payload(mut self, payload: Value) -> Self {
        self.payload = payload;
        self
    }

    /// Commits the event to the content it describes: the payload gets a
    /// [`DIGEST_KEY`] entry naming `subject` and its digest (one of
    /// [`report_digest`], [`message_digest`], [`case_message_digest`],
    /// [`record_version_digest`]). Set the payload first.
    pub fn digest(mut self, subject: ContentSubject, sha256: String) -> Self {
        if !self.payload.is_object() {
            self.payload = Value::Object(Default::default());
        }
        if let Value::Object(map) = &mut self.payload {
            map.insert(DIGEST_KEY.to_owned(), subject.to_json(sha256));
        }
        self
    }
}

/// An event as it is stored: the content plus its place in the chain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Position in the chain, starting at 1, without gaps.
    pub seq: i64,
    /// When it happened, milliseconds since the Unix epoch (UTC).
    pub occurred_at_ms: i64,
    /// Who did it (see [`crate::Actor`]'s display form).
    pub actor: String,
    /// Dotted action name (an [`AuditAction`]'s, or one of a later version).
    pub action: String,
    /// The case concerned.
    pub case_id: Option<i64>,
    /// The report concerned.
    pub report_id: Option<i64>,
    /// Details.
    pub payload: Value,
    /// Hash of the previous event ([`GENESIS_HASH`] for the first).
    pub prev_hash: String,
    /// Hash of this event's canonical content (which includes `prev_hash`).
    pub hash: String,
}

impl AuditEvent {
    /// Seals a draft as the event following `prev_hash` at position `seq`.
    pub fn seal(
        draft: EventDraft,
        seq: i64,
        occurred_at_ms: i64,
        actor: &crate::Actor,
        prev_hash: &str,
    ) -> Self {
        let mut event = AuditEvent {
            seq,
            occurred_at_ms,
            actor: actor.to_key(),
            action: draft.action.as_str().to_owned(),
            case_id: draft.case_id,
            report_id: draft.report_id,
            payload: draft.payload,
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        event
    }

    /// The action, if this version knows it.
    pub fn kind(&self) -> Option<AuditAction> {
        AuditAction::parse(&self.action)
    }

    /// Whether the event records `action`.
    pub fn is(&self, action: AuditAction) -> bool {
        self.action == action.as_str()
    }

    /// The canonical content that is hashed: every field but `hash`, as JSON
    /// with object keys sorted and no insignificant whitespace.
    pub fn canonical_content(&self) -> String {
        let content = serde_json::json!({
            "seq": self.seq,
            "occurred_at_ms": self.occurred_at_ms,
            "actor": self.actor,
            "action": self.action,
            "case_id": self.case_id,
            "report_id": self.report_id,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
        });
        canonical_json(&content)
    }

    /// SHA-256 (hex) of [`Self::canonical_content`].
    pub fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical_content().as_bytes()))
    }
}

/// Serializes a JSON value with object keys sorted recursively and no
/// whitespace, independent of how the map type orders its keys.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Why the chain is broken at an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The sequence has a gap or a reordering.
    #[error(
        "event {found}: expected sequence number {expected} (an event is missing or out of order)"
    )]
    Sequence {
        /// The sequence number that should have come.
        expected: i64,
        /// The one that came.
        found: i64,
    },
    /// `prev_hash` does not match the hash of the event before.
    #[error("event {seq}: prev_hash does not match the hash of event {prev_seq} (history was rewritten)")]
    PrevHash {
        /// The event whose link is broken.
        seq: i64,
        /// The event before it.
        prev_seq: i64,
    },
    /// The content no longer hashes to the stored hash.
    #[error("event {seq}: content does not match its hash (the event was edited)")]
    Content {
        /// The edited event.
        seq: i64,
    },
    /// What an event describes (a report's fields, a message, a record
    /// version) was changed or removed after the event committed to it.
    #[error("{}", describe_digest_error(.subject, *.seq, .action, *.missing))]
    Digest {
        /// The latest event that committed to the content.
        seq: i64,
        /// Its action.
        action: String,
        /// The content.
        subject: ContentSubject,
        /// The content is gone (rather than changed).
        missing: bool,
    },
}

fn describe_digest_error(
    subject: &ContentSubject,
    seq: i64,
    action: &str,
    missing: bool,
) -> String {
    if missing {
        format!("{subject} is missing, but event {seq} ({action}) holds the digest of its content (it was deleted)")
    } else {
        format!("{subject}'s content does not match the digest in event {seq} ({action}) (it was edited)")
    }
}

impl ChainError {
    /// The sequence number of the first bad event.
    pub fn seq(&self) -> i64 {
        match self {
            ChainError::Sequence { found, .. } => *found,
            ChainError::PrevHash { seq, .. }
            | ChainError::Content { seq }
            | ChainError::Digest { seq, .. } => *seq,
        }
    }
}

/// Walks a chain incrementally (events may arrive page by page).
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_owned(),
        }
    }
}

impl ChainVerifier {
    /// Checks the next event; returns the first inconsistency.
    pub fn push(&mut self, event: &AuditEvent) -> Result<(), ChainError> {
        if event.seq != self.expected_seq {
            return Err(ChainError::Sequence {
                expected: self.expected_seq,
                found: event.seq,
            });
        }
        if event.prev_hash != self.prev_hash {
            return Err(ChainError::PrevHash {
                seq: event.seq,
                prev_seq: event.seq - 1,
            });
        }
        if event.compute_hash() != event.hash {
            return Err(ChainError::Content { seq: event.seq });
        }
        self.expected_seq += 1;
        self.prev_hash = event.hash.clone();
        Ok(())
    }

    /// How many events were verified.
    pub fn verified(&self) -> i64 {
        self.expected_seq - 1
    }
}

// ---- content digests ----------------------------------------------------------

/// The payload key under which an event commits to the content it describes
/// (`{"of": "report", "id": 12, "sha256": "…"}`).
pub const DIGEST_KEY: &str = "digest";

/// Content an audit event can commit to by digest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentSubject {
    /// What the reporter submitted in a report.
    Report(i64),
    /// A message or internal note on a report's thread.
    Message(i64),
    /// A message of a case's coordination thread.
    CaseMessage(i64),
    /// One saved version of a case's CVE record.
    RecordVersion {
        /// The case.
        case: i64,
        /// The version number.
        version: i64,
    },
}

impl std::fmt::Display for ContentSubject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContentSubject::Report(id) => write!(f, "report {id}"),
            ContentSubject::Message(id) => write!(f, "message {id}"),
            ContentSubject::CaseMessage(id) => write!(f, "coordination message {id}"),
            ContentSubject::RecordVersion { case, version } => {
                write!(f, "record version {version} of case {case}")
            }
        }
    }
}

impl ContentSubject {
    /// The payload entry of an event committing to this content.
    pub fn to_json(&self, sha256: String) -> Value {
        match self {
            ContentSubject::Report(id) => {
                serde_json::json!({"of": "report", "id": id, "sha256": sha256})
            }
            ContentSubject::Message(id) => {
                serde_json::json!({"of": "message", "id": id, "sha256": sha256})
            }
            ContentSubject::CaseMessage(id) => {
                serde_json::json!({"of": "case_message", "id": id, "sha256": sha256})
            }
            ContentSubject::RecordVersion { case, version } => serde_json::json!({
                "of": "record_version", "case": case, "version": version, "sha256": sha256
            }),
        }
    }

    fn from_json(value: &Value) -> Option<(Self, String)> {
        let sha256 = value.get("sha256")?.as_str()?.to_owned();
        let id = || value.get("id").and_then(Value::as_i64);
        let subject = match value.get("of")?.as_str()? {
            "report" => ContentSubject::Report(id()?),
            "message" => ContentSubject::Message(id()?),
            "case_message" => ContentSubject::CaseMessage(id()?),
            "record_version" => ContentSubject::RecordVersion {
                case: value.get("case")?.as_i64()?,
                version: value.get("version")?.as_i64()?,
            },
            _ => return None,
        };
        Some((subject, sha256))
    }
}

/// How the digest in an event was computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DigestScheme {
    /// The canonical digest of the whole content ([`report_digest`] and
    /// friends), under [`DIGEST_KEY`].
    Canonical,
    /// Events written before content digests existed: SHA-256 of the text
    /// alone ([`text_sha256`] of a message body or a record's document), as
    /// `body_sha256` or `sha256` in the payload.
    TextSha256,
}

/// An event's commitment to the content it describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentClaim {
    /// The content.
    pub subject: ContentSubject,
    /// The digest it had (hex).
    pub sha256: String,
    /// How `sha256` was computed.
    pub scheme: DigestScheme,
    /// The event.
    pub seq: i64,
    /// Its action.
    pub action: String,
    /// The event's report (holds a message).
    pub report_id: Option<i64>,
    /// The event's case (holds a coordination message or a record version).
    pub case_id: Option<i64>,
}

impl ContentClaim {
    /// The content `event` commits to, if any: its [`DIGEST_KEY`] entry or,
    /// for events written before that existed, the text digests they held.
    /// Events committing to nothing (older `report.created`, everything
    /// else) give `None`.
    pub fn of(event: &AuditEvent) -> Option<ContentClaim> {
        let p = &event.payload;
        let claim = |subject, sha256: String, scheme| ContentClaim {
            subject,
            sha256,
            scheme,
            seq: event.seq,
            action: event.action.clone(),
            report_id: event.report_id,
            case_id: event.case_id,
        };
        if let Some((subject, sha256)) = p.get(DIGEST_KEY).and_then(ContentSubject::from_json) {
            return Some(claim(subject, sha256, DigestScheme::Canonical));
        }
        let text = |key: &str| p.get(key).and_then(Value::as_str).map(str::to_owned);
        let int = |key: &str| p.get(key).and_then(Value::as_i64);
        let (subject, sha256) = match event.kind()? {
            AuditAction::MessageShared | AuditAction::NoteAdded => (
                ContentSubject::Message(int("message_id")?),
                text("body_sha256")?,
            ),
            AuditAction::CoordinationMessage => (
                ContentSubject::CaseMessage(int("message")?),
                text("sha256")?,
            ),
            AuditAction::RecordVersionSaved => (
                ContentSubject::RecordVersion {
                    case: event.case_id?,
                    version: int("version")?,
                },
                text("sha256")?,
            ),
            _ => return None,
        };
        Some(claim(subject, sha256, DigestScheme::TextSha256))
    }

    /// Compares the digest of the content as it is now (`None`: gone) with
    /// the claim.
    pub fn check(&self, found: Option<&str>) -> Result<(), ChainError> {
        match found {
            Some(digest) if digest == self.sha256 => Ok(()),
            found => Err(ChainError::Digest {
                seq: self.seq,
                action: self.action.clone(),
                subject: self.subject.clone(),
                missing: found.is_none(),
            }),
        }
    }
}

/// The latest claim per content along a chain: a later event about the same
/// content (an edit) replaces the earlier one.
#[derive(Clone, Debug, Default)]
pub struct ContentClaims {
    latest: std::collections::BTreeMap<ContentSubject, ContentClaim>,
}

impl ContentClaims {
    /// Takes note of what `event` commits to.
    pub fn push(&mut self, event: &AuditEvent) {
        if let Some(claim) = ContentClaim::of(event) {
            self.latest.insert(claim.subject.clone(), claim);
        }
    }

    /// The latest claims, by event.
    pub fn into_claims(self) -> Vec<ContentClaim> {
        let mut claims: Vec<ContentClaim> = self.latest.into_values().collect();
        claims.sort_by_key(|c| c.seq);
        claims
    }
}

/// SHA-256 (hex) of a text: the legacy [`DigestScheme::TextSha256`].
pub fn text_sha256(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The canonical digest: SHA-256 of a tag naming the kind of content and the
/// version of its field list, a newline, and the fields as canonical JSON.
/// Changing what a kind covers means a new tag, never a changed one, so
/// events written earlier keep verifying. Outside cnadesk the same digest is
/// `sha256(tag + "\n" + json.dumps(fields, sort_keys=True,
/// separators=(",", ":"), ensure_ascii=False))` in Python.
fn content_digest(tag: &str, fields: Value) -> String {
    let mut hasher = Sha256::new();
    hasher.update(tag.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical_json(&fields).as_bytes());
    hex::encode(hasher.finalize())
}

/// The digest of what a reporter submitted: every field of the report.
pub fn report_digest(id: crate::ReportId, report: &crate::ValidReport) -> String {
    // No `..`: a new field must be added here (under a new tag) consciously.
    let crate::ValidReport {
        title,
        reporter_name,
        reporter_email,
        anonymous,
        product,
        versions,
        fixed_version,
        cwe,
        cvss_vector,
        description,
        impact,
        reproduction,
        already_public,
        public_where,
        asked_other_cna,
        other_cna,
        credit,
        pgp_key,
    } = report;
    let mut content = serde_json::json!({
            "id": id.0,
            "title": title,
            "reporter_name": reporter_name,
            "reporter_email": reporter_email,
            "anonymous": anonymous,
            "product": product,
            "versions": versions,
            "description": description,
            "impact": impact,
            "reproduction": reproduction,
            "already_public": already_public,
            "public_where": public_where,
            "asked_other_cna": asked_other_cna,
            "other_cna": other_cna,
            "credit": credit,
            "pgp_key": pgp_key,
    });
    // Facts added later are part of the content only when given, so that
    // reports stored before them still verify.
    for (key, value) in [
        ("fixed_version", fixed_version),
        ("cwe", cwe),
        ("cvss_vector", cvss_vector),
    ] {
        if let Some(v) = value {
            content[key] = serde_json::json!(v);
        }
    }
    content_digest("cnadesk.report.v1", content)
}

/// A message (or internal note) on a report's thread, as digested.
#[derive(Clone, Copy, Debug)]
pub struct MessageContent<'a> {
    /// Id.
    pub id: i64,
    /// The report.
    pub report_id: i64,
    /// The member who wrote it (`None`: the reporter).
    pub author: Option<(i64, &'a str)>,
    /// `reporter` or `internal`.
    pub visibility: &'a str,
    /// Text.
    pub body: &'a str,
    /// Written at.
    pub created_at_ms: i64,
}

/// The digest of a message on a report's thread.
pub fn message_digest(m: &MessageContent<'_>) -> String {
    content_digest(
        "cnadesk.message.v1",
        serde_json::json!({
            "id": m.id,
            "report_id": m.report_id,
            "author_user_id": m.author.map(|a| a.0),
            "author_name": m.author.map(|a| a.1),
            "visibility": m.visibility,
            "body": m.body,
            "created_at_ms": m.created_at_ms,
        }),
    )
}

/// A message of a coordination thread, as digested.
#[derive(Clone, Copy, Debug)]
pub struct CaseMessageContent<'a> {
    /// Id.
    pub id: i64,
    /// The case.
    pub case_id: i64,
    /// The thread (`None`: shared).
    pub participant_id: Option<i64>,
    /// Author's name as shown.
    pub author: &'a str,
    /// Author (actor key).
    pub actor: &'a str,
    /// Text.
    pub body: &'a str,
    /// Written at.
    pub created_at_ms: i64,
}

/// The digest of a coordination message.
pub fn case_message_digest(m: &CaseMessageContent<'_>) -> String {
    content_digest(
        "cnadesk.case_message.v1",
        serde_json::json!({
            "id": m.id,
            "case_id": m.case_id,
            "participant_id": m.participant_id,
            "author": m.author,
            "actor": m.actor,
            "body": m.body,
            "created_at_ms": m.created_at_ms,
        }),
    )
}

/// A saved version of a CVE record, as digested.
#[derive(Clone, Copy, Debug)]
pub struct RecordVersionContent<'a> {
    /// The case.
    pub case_id: i64,
    /// Version number.
    pub version: i64,
    /// The CVE ID.
    pub cve_id: &'a str,
    /// The record (CNA container) as saved, JSON text.
    pub document: &'a str,
    /// SHA-256 of `document` as stored beside it.
    pub sha256: &'a str,
    /// Schema errors, lint errors and lint warnings at the time.
    pub counts: (i64, i64, i64),
    /// The author's note.
    pub note: &'a str,
    /// Who saved it.
    pub author_id: i64,
    /// When.
    pub created_at_ms: i64,
}

/// The digest of a saved record version.
pub fn record_version_digest(v: &RecordVersionContent<'_>) -> String {
    content_digest(
        "cnadesk.record_version.v1",
        serde_json::json!({
            "case_id": v.case_id,
            "version": v.version,
            "cve_id": v.cve_id,
            "document": v.document,
            "sha256": v.sha256,
            "schema_errors": v.counts.0,
            "lint_errors": v.counts.1,
            "lint_warnings": v.counts.2,
            "note": v.note,
            "author_id": v.author_id,
            "created_at_ms": v.created_at_ms,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, ReportId};

    fn chain(n: i64) -> Vec<AuditEvent> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let e = AuditEvent::seal(
                    EventDraft::new(AuditAction::ReportCreated)
                        .report(ReportId(seq))
                        .payload(serde_json::json!({"b": 1, "a": [seq, "x"]})),
                    seq,
                    1_700_000_000_000 + seq,
                    &Actor::system("test"),
                    &prev,
                );
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn verify(events: &[AuditEvent]) -> Result<i64, ChainError> {
        let mut v = ChainVerifier::default();
        for e in events {
            v.push(e)?;
        }
        Ok(v.verified())
    }

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let v = serde_json::json!({"z": {"b": 2, "a": 1}, "a": [ {"y": null, "x": "é\"q"} ]});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":[{"x":"é\"q","y":null}],"z":{"a":1,"b":2}}"#
        );
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
    }

    #[test]
    fn edited_payload_is_detected_at_that_event() {
        let mut events = chain(5);
        events[2].payload = serde_json::json!({"b": 2});
        assert_eq!(verify(&events), Err(ChainError::Content { seq: 3 }));
    }

    #[test]
    fn rehashed_edit_breaks_the_next_link() {
        let mut events = chain(5);
        events[2].actor = "member:1:mallory".into();
        events[2].hash = events[2].compute_hash();
        assert_eq!(
            verify(&events),
            Err(ChainError::PrevHash {
                seq: 4,
                prev_seq: 3
            })
        );
    }

    #[test]
    fn deletion_and_reordering_are_detected() {
        let mut events = chain(5);
        events.remove(1);
        assert_eq!(
            verify(&events),
            Err(ChainError::Sequence {
                expected: 2,
                found: 3
            })
        );
        let mut events = chain(3);
        events.swap(0, 1);
        assert_eq!(verify(&events).map_err(|e| e.seq()), Err(2));
    }
    fn sample_report() -> crate::ValidReport {
        crate::ValidReport {
            title: "XSS in the MUC subject".into(),
            reporter_name: Some("Ada".into()),
            reporter_email: Some("ada@example.org".into()),
            anonymous: false,
            product: "Prosody".into(),
            versions: Some("0.12".into()),
            fixed_version: None,
            cwe: None,
            cvss_vector: None,
            description: "A subject with <script> runs in the web client.".into(),
            impact: None,
            reproduction: Some("Set the subject.".into()),
            already_public: false,
            public_where: None,
            asked_other_cna: false,
            other_cna: None,
            credit: None,
            pgp_key: None,
        }
    }

    fn sealed(seq: i64, draft: EventDraft) -> AuditEvent {
        AuditEvent::seal(
            draft,
            seq,
            1_700_000_000_000,
            &Actor::system("test"),
            GENESIS_HASH,
        )
    }

    #[test]
    fn report_digest_is_stable_and_covers_every_field() {
        let report = sample_report();
        let digest = report_digest(ReportId(12), &report);
        // A known answer: the encoding must never change for existing events.
        assert_eq!(
            digest,
            "4ec6ffa56983dda64e64e53b22cfe47f4879e8b7372a9f8623f963240f4cca77"
        );
        assert_ne!(report_digest(ReportId(13), &report), digest);
        let edits: [fn(&mut crate::ValidReport); 6] = [
            |r| r.title.push('!'),
            |r| r.reporter_email = None,
            |r| r.anonymous = true,
            |r| r.versions = Some("0.12 ".into()),
            |r| r.description = r.description.replace("<script>", "<b>"),
            |r| r.pgp_key = Some(String::new()),
        ];
        for edit in edits {
            let mut changed = report.clone();
            edit(&mut changed);
            assert_ne!(report_digest(ReportId(12), &changed), digest, "{changed:?}");
        }
        // Field boundaries are part of the encoding.
        let (mut a, mut b) = (report.clone(), report);
        a.title = "ab".into();
        a.versions = Some("c".into());
        b.title = "a".into();
        b.versions = Some("bc".into());
        assert_ne!(
            report_digest(ReportId(1), &a),
            report_digest(ReportId(1), &b)
        );
    }

    #[test]
    fn kinds_of_content_never_share_a_digest() {
        let m = MessageContent {
            id: 1,
            report_id: 1,
            author: None,
            visibility: "reporter",
            body: "hello",
            created_at_ms: 5,
        };
        let c = CaseMessageContent {
            id: 1,
            case_id: 1,
            participant_id: None,
            author: "Ada",
            actor: "member:1:ada",
            body: "hello",
            created_at_ms: 5,
        };
        assert_ne!(message_digest(&m), case_message_digest(&c));
        let internal = MessageContent {
            visibility: "internal",
            ..m
        };
        assert_ne!(message_digest(&m), message_digest(&internal));
        let v = RecordVersionContent {
            case_id: 1,
            version: 1,
            cve_id: "CVE-2026-0001",
            document: "{}",
            sha256: &text_sha256("{}"),
            counts: (0, 0, 0),
            note: "",
            author_id: 1,
            created_at_ms: 5,
        };
        let edited = RecordVersionContent {
            document: "{ }",
            ..v
        };
        assert_ne!(record_version_digest(&v), record_version_digest(&edited));
    }

    #[test]
    fn claims_are_read_from_digests_and_from_older_events() {
        let report = sample_report();
        let digest = report_digest(ReportId(3), &report);
        let created = sealed(
            1,
            EventDraft::new(AuditAction::ReportCreated)
                .report(ReportId(3))
                .payload(serde_json::json!({"channel": "web"}))
                .digest(ContentSubject::Report(3), digest.clone()),
        );
        let claim = ContentClaim::of(&created).unwrap();
        assert_eq!(claim.subject, ContentSubject::Report(3));
        assert_eq!(claim.scheme, DigestScheme::Canonical);
        assert_eq!(created.payload["channel"], "web", "the payload is kept");
        assert_eq!(claim.check(Some(&digest)), Ok(()));
        let edited = claim.check(Some("00")).unwrap_err();
        assert_eq!(edited.seq(), 1);
        assert_eq!(
            edited.to_string(),
            "report 3's content does not match the digest in event 1 (report.created) (it was edited)"
        );
        assert!(claim
            .check(None)
            .unwrap_err()
            .to_string()
            .contains("missing"));

        // Written before digests: a report commits to nothing, messages and
        // record versions to their text.
        let old_report = sealed(
            2,
            EventDraft::new(AuditAction::ReportCreated)
                .payload(serde_json::json!({"product": "x"})),
        );
        assert_eq!(ContentClaim::of(&old_report), None);
        let old_message = sealed(
            3,
            EventDraft::new(AuditAction::MessageShared)
                .payload(serde_json::json!({"message_id": 9, "body_sha256": text_sha256("hi")})),
        );
        let claim = ContentClaim::of(&old_message).unwrap();
        assert_eq!(
            (claim.subject.clone(), claim.scheme),
            (ContentSubject::Message(9), DigestScheme::TextSha256)
        );
        assert_eq!(claim.check(Some(&text_sha256("hi"))), Ok(()));
        let mut old_version = sealed(
            4,
            EventDraft::new(AuditAction::RecordVersionSaved)
                .payload(serde_json::json!({"version": 2, "sha256": text_sha256("{}")})),
        );
        assert_eq!(ContentClaim::of(&old_version), None, "no case, no claim");
        old_version.case_id = Some(7);
        assert_eq!(
            ContentClaim::of(&old_version).unwrap().subject,
            ContentSubject::RecordVersion {
                case: 7,
                version: 2
            }
        );
    }

    #[test]
    fn every_action_reads_back_from_its_name() {
        let mut names = std::collections::HashSet::new();
        for &action in AuditAction::ALL {
            let name = action.as_str();
            assert_eq!(AuditAction::parse(name), Some(action));
            assert_eq!(name.parse::<AuditAction>(), Ok(action));
            assert_eq!(action.to_string(), name);
            assert!(names.insert(name), "{name} is named twice");
            let (area, what) = name.split_once('.').expect("a dotted name");
            assert!(
                [area, what].iter().all(|part| !part.is_empty()
                    && part.chars().all(|c| c.is_ascii_lowercase() || c == '_')),
                "{name} is not a dotted lower-case name"
            );
            let event = sealed(1, EventDraft::new(action));
            assert_eq!(event.action, name);
            assert_eq!(event.kind(), Some(action));
            assert!(event.is(action));
        }
        assert_eq!(names.len(), AuditAction::ALL.len());
        assert_eq!(AuditAction::parse("report.deleted"), None);
        assert_eq!(
            "report.deleted".parse::<AuditAction>(),
            Err(UnknownAction("report.deleted".into()))
        );
    }

    #[test]
    fn the_latest_claim_about_a_content_counts() {
        let mut claims = ContentClaims::default();
        for (seq, sha) in [(1, "aa"), (2, "bb")] {
            claims.push(&sealed(
                seq,
                EventDraft::new(if seq == 1 {
                    AuditAction::ReportCreated
                } else {
                    AuditAction::ReportFilesAdded
                })
                .digest(ContentSubject::Report(1), sha.into()),
            ));
        }
        claims.push(&sealed(
            3,
            EventDraft::new(AuditAction::CoordinationMessage)
                .digest(ContentSubject::CaseMessage(4), "cc".into()),
        ));
        claims.push(&sealed(4, EventDraft::new(AuditAction::CaseAssigned)));
        let claims = claims.into_claims();
        assert_eq!(claims.len(), 2);
        assert_eq!(
            (
                claims[0].seq,
                claims[0].action.as_str(),
                claims[0].sha256.as_str()
            ),
            (2, "report.files_added", "bb")
        );
        assert_eq!(claims[1].subject, ContentSubject::CaseMessage(4));
    }
}
