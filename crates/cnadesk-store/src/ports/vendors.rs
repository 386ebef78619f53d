//! Vendor contacts, accounts and sessions.

use async_trait::async_trait;
use cnadesk_core::{Actor, CaseId, VendorId};

use crate::{
    NewInvitation, NewOutboxMessage, NewVendorAccount, Participant, StoreResult, VendorAccount,
};

/// Vendors: contacts invited to a case, their invitation links, vendor
/// accounts and their sessions.
#[async_trait]
pub trait Vendors: Send + Sync {
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

    // ---- vendor accounts and sessions -------------------------------------------

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
}
