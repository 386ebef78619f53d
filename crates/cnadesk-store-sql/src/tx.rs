//! Write transactions that never outlive a failure.
//!
//! sqlx counts a connection's transaction depth and lowers it only when
//! `COMMIT` or `ROLLBACK` succeeds. On SQLite, a `COMMIT` that fails (a full
//! disk, an I/O error) therefore left the single writer connection "inside" a
//! transaction: every later `BEGIN` became a savepoint within it, the
//! savepoints were released, the callers were told their writes were stored,
//! and nothing ever reached the file. [`WriteTx`] therefore runs
//! `BEGIN`/`COMMIT`/`ROLLBACK` itself (sqlx's counter is never involved) and
//! makes sure no transaction is left open on a connection that goes back to
//! the pool: a transaction dropped without commit is rolled back before its
//! connection is returned, and a connection whose `ROLLBACK` fails, or whose
//! `COMMIT` failed, is closed (closing an SQLite or PostgreSQL connection
//! rolls back whatever it had open; the next write starts on a fresh one).
//! A write is reported as stored only once `COMMIT` returned, and the
//! commit is noted in the record of whether writes work
//! ([`crate::health::WriteHealth`]).

use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Executor};

use crate::health::{self, WriteHealth};
use crate::store::SqlStore;
use crate::Backend;

/// An open write transaction on a connection of the writer pool. Deref to
/// the connection to run statements; [`WriteTx::commit`] to keep them.
/// Dropped without a successful commit, it is rolled back before the
/// connection goes back to the pool (see the module documentation).
pub(crate) struct WriteTx {
    /// `Some` until the transaction is committed or dropped.
    conn: Option<PoolConnection<Any>>,
}

impl SqlStore {
    /// Begins a write transaction (SQLite: `BEGIN IMMEDIATE`, so the write
    /// lock is taken up front and a second process waits instead of failing
    /// half-way).
    pub(crate) async fn write_tx(&self) -> Result<WriteTx, sqlx::Error> {
        let mut conn = self.writer.acquire().await?;
        let begin = match self.kind() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        if let Err(e) = conn.execute(begin).await {
            // No transaction was opened: the connection is fine and goes
            // back to the pool, unless the database as a whole failed.
            if health::unavailable(&e).is_some() {
                conn.close_on_drop();
            }
            return Err(e);
        }
        Ok(WriteTx { conn: Some(conn) })
    }
}

impl WriteTx {
    /// Commits. On failure the transaction is rolled back and the connection
    /// discarded, so no later write can run inside what was left open.
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        // The connection stays in `self` while `COMMIT` runs: if this future
        // is dropped half-way, `Drop` rolls back (or closes) as for any
        // transaction that did not commit.
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        let result = conn.execute("COMMIT").await.map(|_| ());
        let Some(mut conn) = self.conn.take() else {
            return result;
        };
        match &result {
            Ok(()) => WriteHealth::PROCESS.committed(),
            Err(_) => {
                // Best effort: SQLite may already have rolled back by itself;
                // the connection is closed in any case.
                let _ = conn.execute("ROLLBACK").await;
                conn.close_on_drop();
            }
        }
        result
    }

    fn conn(&self) -> &PoolConnection<Any> {
        match &self.conn {
            Some(conn) => conn,
            // `conn` is taken only by `commit` and `drop`, which consume
            // the transaction.
            None => unreachable!("a WriteTx is used after commit"),
        }
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        self.conn()
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match &mut self.conn {
            Some(conn) => conn,
            None => unreachable!("a WriteTx is used after commit"),
        }
    }
}

impl Drop for WriteTx {
    /// Not committed (a no-op return, an error, a cancelled future): roll
    /// back, then the connection goes back to the pool. The task owns the
    /// connection until `ROLLBACK` returned, so the pool (for SQLite, the
    /// single writer) cannot hand it out before; a failed `ROLLBACK` closes
    /// it. Without a runtime to run `ROLLBACK` on, the connection is closed.
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = conn.execute("ROLLBACK").await {
                        tracing::debug!(error = %e, "rollback failed; closing the connection");
                        conn.close_on_drop();
                    }
                });
            }
            Err(_) => conn.close_on_drop(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A transaction dropped without commit is rolled back before the single
    /// SQLite writer is handed out again, and the writer is kept (not
    /// reconnected): a temporary table, which lives as long as its
    /// connection, is still there.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_transaction_rolls_back_and_keeps_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::open(&crate::sqlite_url_in(dir.path()), crate::Migrate::Apply)
            .await
            .unwrap();
        let mut tx = store.write_tx().await.unwrap();
        tx.execute("CREATE TEMP TABLE this_connection (x INTEGER)")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        for i in 0..20 {
            let mut tx = store.write_tx().await.unwrap();
            sqlx::query("INSERT INTO setup_tokens (token_hash, expires_at) VALUES ($1, 1)")
                .bind(format!("t{i}"))
                .execute(&mut *tx)
                .await
                .unwrap();
            drop(tx);
            let mut tx = store.write_tx().await.unwrap();
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM setup_tokens")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!(n, 0, "rolled back before the writer was reused");
            tx.execute("SELECT x FROM this_connection")
                .await
                .expect("the same connection");
        }
    }
}
