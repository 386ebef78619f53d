//! Team accounts and the first-run setup.

use async_trait::async_trait;
use cnadesk_core::{Actor, UserId};

use crate::{NewUser, StoreResult, User, UserCredentials};

/// Team accounts (creation, credentials for sign-in, activation, the second
/// factor) and the one-time setup link that creates the first admin.
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
