//! Leases (several nodes on one database).

use async_trait::async_trait;

use crate::{Lease, StoreResult};

/// Leases: which node runs a periodic job while several share one database,
/// and the heartbeat of a running job attempt.
#[async_trait]
pub trait Leases: Send + Sync {
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
