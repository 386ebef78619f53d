//! Team members' sessions.

use async_trait::async_trait;
use cnadesk_core::Actor;

use crate::{NewSession, SecondFactor, SessionWithUser, StoreResult};

/// Team members' sessions, from sign-in (and the second factor) to sign-out.
#[async_trait]
pub trait Sessions: Send + Sync {
    /// Creates a session (the id is stored hashed). A session with
    /// `mfa_pending` only allows completing the second factor.
    async fn create_session(&self, session: NewSession, actor: &Actor) -> StoreResult<()>;

    /// The session and its (active) user, if the session exists and has not expired.
    async fn session(&self, id_hash: &str, now_ms: i64) -> StoreResult<Option<SessionWithUser>>;

    /// Completes the second factor: the pending session is replaced by
    /// `new_session` (a new id, never the pending one), atomically; the
    /// audit event says which `second_factor` completed it.
    async fn complete_session_mfa(
        &self,
        pending_hash: &str,
        new_session: NewSession,
        second_factor: SecondFactor,
        actor: &Actor,
    ) -> StoreResult<()>;

    /// Ends a session.
    async fn delete_session(&self, id_hash: &str, actor: &Actor, now_ms: i64) -> StoreResult<()>;
}
