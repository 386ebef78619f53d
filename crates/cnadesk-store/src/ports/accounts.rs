//! Team accounts and the first-run setup.

use async_trait::async_trait;
use cnadesk_core::{Actor, UserId};

use crate::{NewUser, NewUserInvitation, StoreResult, User, UserCredentials, UserInvitation};

/// Team accounts (creation, invitation links, credentials for sign-in and
/// password changes, activation, the second factor and its recovery codes)
/// and the one-time setup link that creates the first admin.
#[async_trait]
pub trait Accounts: Send + Sync {
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

    /// Stores the TOTP secret of an account that has none, with its
    /// one-time recovery codes (keyed hashes), atomically. `Rejected` when
    /// a second factor is already enrolled.
    async fn enrol_totp(
        &self,
        id: UserId,
        totp_secret_enc: Vec<u8>,
        recovery_code_hashes: Vec<String>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    // ---- recovery codes ----------------------------------------------------

    /// Replaces every recovery code of an account with these (keyed hashes).
    async fn replace_recovery_codes(
        &self,
        id: UserId,
        code_hashes: Vec<String>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Uses a recovery code once: `true` if it was unused (it is now used,
    /// and audited), `false` if unknown or already used.
    async fn use_recovery_code(
        &self,
        id: UserId,
        code_hash: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<bool>;

    /// How many unused recovery codes an account has.
    async fn recovery_codes_left(&self, id: UserId) -> StoreResult<i64>;

    // ---- passwords and invitations ---------------------------------------

    /// Sets a new password hash and ends every session of the account but
    /// `keep_session` (the one asking), atomically. Returns how many
    /// sessions ended.
    async fn change_password(
        &self,
        id: UserId,
        password_hash: String,
        keep_session: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<u64>;

    /// Creates an account without a password (`user.password_hash` is
    /// ignored) and its invitation link, and queues its e-mail, atomically.
    /// `Conflict` when the username is taken.
    async fn invite_user(
        &self,
        user: NewUser,
        invitation: NewUserInvitation,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<User>;

    /// A new invitation link for an account that has no password yet; any
    /// earlier unused link stops working. `NotFound` for an unknown
    /// account, `Rejected` for one that has a password.
    async fn renew_user_invitation(
        &self,
        id: UserId,
        invitation: NewUserInvitation,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// The invitation with this token hash, used or not, expired or not.
    async fn user_invitation(&self, token_hash: &str) -> StoreResult<Option<UserInvitation>>;

    /// The latest invitation of each account that has no password yet.
    async fn open_user_invitations(&self) -> StoreResult<Vec<UserInvitation>>;

    /// Follows an invitation link: sets the account's first password and
    /// marks the link used, atomically, if the link is unused and unexpired
    /// and the account active and without a password (else `Rejected`).
    async fn accept_user_invitation(
        &self,
        token_hash: &str,
        password_hash: String,
        now_ms: i64,
    ) -> StoreResult<User>;

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
}
