//! Personal API tokens of team members. A token reaches the store only as
//! its SHA-256; it acts as its member with at most the scopes it was given.

use async_trait::async_trait;
use cnadesk_core::{Actor, UserId};

use crate::{StoreResult, User};

/// A token to create (the token itself was shown once and is not here).
#[derive(Clone, Debug)]
pub struct NewApiToken {
    /// Whose it is.
    pub user_id: UserId,
    /// The member's name for it.
    pub name: String,
    /// What it may do (see the web crate's API scopes).
    pub scopes: Vec<String>,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// When it stops working (`None`: when revoked).
    pub expires_at_ms: Option<i64>,
}

/// A stored token, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    /// Its number.
    pub id: i64,
    /// Whose it is.
    pub user_id: UserId,
    /// The member's name for it.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<String>,
    /// Created.
    pub created_at_ms: i64,
    /// Expiry, if any.
    pub expires_at_ms: Option<i64>,
    /// Last used (to the minute).
    pub last_used_at_ms: Option<i64>,
    /// Revoked.
    pub revoked_at_ms: Option<i64>,
}

impl ApiToken {
    /// Whether it works at `now_ms`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.revoked_at_ms.is_none() && self.expires_at_ms.is_none_or(|e| e > now_ms)
    }

    /// Whether it grants `scope`.
    pub fn allows(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// Personal API tokens.
#[async_trait]
pub trait ApiTokens: Send + Sync {
    /// Stores a new token (audited as `api_token.created`).
    async fn create_api_token(
        &self,
        token: NewApiToken,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<ApiToken>;

    /// A member's tokens, newest first (revoked ones included).
    async fn api_tokens_of(&self, user: UserId) -> StoreResult<Vec<ApiToken>>;

    /// The live token with this hash and its active member, noting the use
    /// (at most once a minute).
    async fn use_api_token(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<(ApiToken, User)>>;

    /// Revokes a token of `user` (audited as `api_token.revoked`);
    /// `NotFound` when `user` has no such live token.
    async fn revoke_api_token(
        &self,
        user: UserId,
        id: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;
}
