//! [`Leases`] over SQL: leases for periodic jobs and the heartbeat of running CVE jobs. Each is
//! one statement on the writer: an upsert whose update applies only when the
//! lease is free, expired or already the asker's. PostgreSQL re-checks that
//! condition on the latest row version after waiting for a concurrent taker,
//! SQLite serializes writers, so of several nodes asking at once exactly one
//! is granted the lease.

use async_trait::async_trait;
use cnadesk_store::{Lease, Leases, StoreResult};

use crate::health::db_err;
use crate::rows::get;
use crate::store::SqlStore;

#[async_trait]
impl Leases for SqlStore {
    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, expires_at, taken_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
             expires_at = excluded.expires_at, \
             taken_at = CASE WHEN leases.holder = excluded.holder \
                        THEN leases.taken_at ELSE excluded.taken_at END \
             WHERE leases.holder = excluded.holder OR leases.expires_at < excluded.taken_at",
        )
        .bind(name)
        .bind(holder)
        .bind(until_ms)
        .bind(now_ms)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        sqlx::query("UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn leases(&self) -> StoreResult<Vec<Lease>> {
        sqlx::query("SELECT name, holder, expires_at, taken_at FROM leases ORDER BY name")
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| {
                Ok(Lease {
                    name: get(r, "name")?,
                    holder: get(r, "holder")?,
                    expires_at_ms: get(r, "expires_at")?,
                    taken_at_ms: get(r, "taken_at")?,
                })
            })
            .collect()
    }

    async fn renew_job_lease(
        &self,
        id: i64,
        attempt: i64,
        lease_until_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE jobs SET lease_until = $1 WHERE id = $2 AND state = 'running' AND attempts = $3",
        )
        .bind(lease_until_ms)
        .bind(id)
        .bind(attempt)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}
