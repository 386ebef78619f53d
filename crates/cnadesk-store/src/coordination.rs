//! Types of coordinated disclosure: vulnerabilities and the products they
//! affect, vendor contacts and their accounts, the embargo, the case threads
//! and files shared with vendors, and published advisories.

use std::fmt;

use cnadesk_core::coordination::{ProductStatus, XepRef};
use cnadesk_core::{CaseId, VendorId};

use crate::NewOutboxMessage;

/// One vulnerability of a case (a case holds one or more).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vulnerability {
    /// Id.
    pub id: i64,
    /// The case.
    pub case_id: CaseId,
    /// Short title.
    pub title: String,
    /// What the flaw is (embargoed while the case is).
    pub summary: String,
    /// The XEPs it concerns.
    pub xeps: Vec<XepRef>,
    /// The RFCs it concerns (`RFC 6120 §8.1`).
    pub rfcs: Vec<String>,
    /// The member's judgement for CNA rule 4.2.14: can the specification be
    /// implemented securely? `None`: not decided.
    pub secure_way_exists: Option<bool>,
    /// The number of CVE IDs chosen, with the reason.
    pub cve_count: Option<i64>,
    /// Why that number.
    pub count_reason: Option<String>,
    /// Created.
    pub created_at_ms: i64,
    /// Last change.
    pub updated_at_ms: i64,
}

impl Vulnerability {
    /// The specifications it concerns, as one line: `XEP-0280 v1.0.1 §11, RFC 6120`.
    pub fn references(&self) -> String {
        self.xeps
            .iter()
            .map(ToString::to_string)
            .chain(self.rfcs.iter().cloned())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A vulnerability as a member adds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVulnerability {
    /// The case.
    pub case_id: CaseId,
    /// Short title.
    pub title: String,
    /// What the flaw is.
    pub summary: String,
    /// XEPs.
    pub xeps: Vec<XepRef>,
    /// RFCs.
    pub rfcs: Vec<String>,
}

/// The CVE count a member chose for a vulnerability (CNA rule 4.2.14).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountChoice {
    /// Can the specification be implemented securely?
    pub secure_way_exists: bool,
    /// IDs chosen.
    pub count: i64,
    /// Why.
    pub reason: String,
}

/// One product's part in one vulnerability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffectedProduct {
    /// Id.
    pub id: i64,
    /// The vulnerability.
    pub vulnerability_id: i64,
    /// The case (denormalized for authorization checks).
    pub case_id: CaseId,
    /// The registry key of the product.
    pub product_key: String,
    /// Its name when added.
    pub product_name: String,
    /// Status.
    pub status: ProductStatus,
    /// Affected versions (free text: `< 2.1.3`, `0.11.0 – 0.12.4`).
    pub affected_versions: String,
    /// Fixed versions.
    pub fixed_versions: String,
    /// The vendor's statement.
    pub statement: String,
    /// The fix is released.
    pub fix_released: bool,
    /// Other vendors of the case may see this row.
    pub shared: bool,
    /// When the status last changed (`None`: never set).
    pub status_at_ms: Option<i64>,
    /// When the versions last changed.
    pub versions_at_ms: Option<i64>,
    /// When the statement last changed.
    pub statement_at_ms: Option<i64>,
    /// Who changed the row last (an actor key).
    pub updated_by: Option<String>,
}

/// What a vendor or member sets on a product row. Fields that did not change
/// keep their dates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductUpdate {
    /// Status.
    pub status: ProductStatus,
    /// Affected versions.
    pub affected_versions: String,
    /// Fixed versions.
    pub fixed_versions: String,
    /// Statement.
    pub statement: String,
    /// The fix is released.
    pub fix_released: bool,
}

/// A vendor contact invited to a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Participant {
    /// Id.
    pub id: i64,
    /// The case.
    pub case_id: CaseId,
    /// Where the invitation went.
    pub email: String,
    /// The contact's name, as the coordinator typed it.
    pub contact_name: String,
    /// Registry keys of the products this contact speaks for.
    pub products: Vec<String>,
    /// Invited at.
    pub invited_at_ms: i64,
    /// Who invited (an actor key).
    pub invited_by: String,
    /// When the current invitation link expires.
    pub invitation_expires_at_ms: i64,
    /// The account that accepted the invitation.
    pub vendor: Option<VendorId>,
    /// Accepted at.
    pub accepted_at_ms: Option<i64>,
    /// Acknowledged the embargo terms at.
    pub acknowledged_at_ms: Option<i64>,
    /// Consented to the pending embargo change at.
    pub consented_at_ms: Option<i64>,
    /// Reminders sent.
    pub reminders_sent: i64,
    /// Last reminder.
    pub last_reminded_at_ms: Option<i64>,
}

/// An invitation as a coordinator sends it.
#[derive(Clone)]
pub struct NewInvitation {
    /// The case.
    pub case_id: CaseId,
    /// Where it goes (stored lower-cased).
    pub email: String,
    /// The contact's name.
    pub contact_name: String,
    /// Products the contact speaks for (registry keys).
    pub products: Vec<String>,
    /// SHA-256 of the invitation token.
    pub token_hash: String,
    /// When the link expires.
    pub expires_at_ms: i64,
    /// The invitation e-mail, queued in the same transaction (`None`: e-mail off).
    pub outbox: Option<NewOutboxMessage>,
}

impl fmt::Debug for NewInvitation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewInvitation")
            .field("case_id", &self.case_id)
            .field("products", &self.products)
            .finish_non_exhaustive()
    }
}

/// A vendor contact's account (separate from team accounts: a vendor
/// session can never open a team page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorAccount {
    /// Id.
    pub id: VendorId,
    /// E-mail (the sign-in name), lower-cased.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// IANA time zone for dates.
    pub time_zone: String,
    /// Created.
    pub created_at_ms: i64,
}

/// A vendor account as created from an invitation.
#[derive(Clone)]
pub struct NewVendorAccount {
    /// E-mail.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Argon2 hash of the password.
    pub password_hash: String,
    /// Time zone.
    pub time_zone: String,
}

impl fmt::Debug for NewVendorAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewVendorAccount")
            .field("email", &self.email)
            .field("password_hash", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// A case's embargo.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Embargo {
    /// The case.
    pub case_id: CaseId,
    /// When it ends (UTC ms).
    pub ends_at_ms: i64,
    /// Why this date.
    pub reason: String,
    /// When it was set.
    pub set_at_ms: i64,
    /// Who set it (actor key).
    pub set_by: String,
    /// A change waiting for the vendors' consent.
    pub pending: Option<EmbargoProposal>,
    /// When it was lifted (the advisory published).
    pub lifted_at_ms: Option<i64>,
    /// When someone disclosed publicly before the end.
    pub broken_at_ms: Option<i64>,
    /// What happened, when broken.
    pub broken_note: Option<String>,
    /// When publication of the approved records was queued after the lift.
    pub publication_queued_at_ms: Option<i64>,
}

/// A proposed embargo change waiting for consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbargoProposal {
    /// The new end.
    pub ends_at_ms: i64,
    /// Why.
    pub reason: String,
    /// Who proposed it.
    pub proposed_by: String,
    /// When.
    pub proposed_at_ms: i64,
}

/// What happened to an embargo change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmbargoOutcome {
    /// The date changed.
    Applied,
    /// The change waits for the vendors' consent.
    Proposed,
}

/// A message in a case's coordination threads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseMessage {
    /// Id.
    pub id: i64,
    /// The case.
    pub case_id: CaseId,
    /// `None`: the shared thread (every vendor of the case and the team);
    /// `Some(p)`: the private thread of participant `p` with the team.
    pub participant_id: Option<i64>,
    /// Author's name as shown.
    pub author: String,
    /// Author (actor key).
    pub actor: String,
    /// Text.
    pub body: String,
    /// Written at.
    pub created_at_ms: i64,
}

/// A file (patch, advisory draft) a vendor or member uploaded to a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFile {
    /// Id.
    pub id: i64,
    /// The case.
    pub case_id: CaseId,
    /// The participant thread it belongs to (`None`: uploaded by the team
    /// for every vendor of the case).
    pub participant_id: Option<i64>,
    /// File name as uploaded (sanitized).
    pub filename: String,
    /// Declared content type.
    pub content_type: String,
    /// Size in bytes.
    pub size: i64,
    /// SHA-256 of the content.
    pub sha256: String,
    /// Uploader (actor key).
    pub uploaded_by: String,
    /// Uploaded at.
    pub created_at_ms: i64,
}

/// A file as uploaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewCaseFile {
    /// The case.
    pub case_id: CaseId,
    /// The participant thread (`None`: shared by the team).
    pub participant_id: Option<i64>,
    /// File name.
    pub filename: String,
    /// Content type.
    pub content_type: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// A published advisory (the public side of a case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Advisory {
    /// The case.
    pub case_id: CaseId,
    /// Published at.
    pub published_at_ms: i64,
}
