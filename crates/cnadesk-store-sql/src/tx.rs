//! Write transactions that never outlive a failure.
//!
//! sqlx counts a connection's transaction depth and lowers it only when
//! `COMMIT` or `ROLLBACK` succeeds. On SQLite, a `COMMIT` that fails (a full
//! disk, an I/O error) therefore left the single writer connection "inside" a
//! transaction: every later `BEGIN` became a savepoint within it, the
//! savepoints were released, the callers were told their writes were stored,
//! and nothing ever reached the file. [`WriteTx`] runs `BEGIN`/`COMMIT` itself
//! and discards its connection whenever a transaction ends in any way other
//! than a successful `COMMIT`: closing an SQLite or PostgreSQL connection
//! rolls back whatever it had open, and the next write starts on a fresh
//! connection. A write is reported as stored only once `COMMIT` returned.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Executor};

use crate::store::SqlStore;
use crate::Backend;

/// An open write transaction on a connection of the writer pool. Deref to
/// the connection to run statements; [`WriteTx::commit`] to keep them.
/// Dropped without a successful commit, the connection is closed (rolling
/// back) instead of going back to the pool.
pub(crate) struct WriteTx {
    conn: PoolConnection<Any>,
    committed: bool,
    health: WriteHealth,
}

/// Whether writes are failing for a reason of the database as a whole (a
/// full disk, a read-only file…), shared by the store's clones. Set when a
/// transaction cannot begin or commit for such a reason; cleared only when a
/// write as large as a big report commits again (the `/readyz` probe), since
/// a small write can still fit where a report no longer does.
#[derive(Clone, Debug, Default)]
pub(crate) struct WriteHealth(Arc<Mutex<Option<String>>>);

/// The last failure of a database as a whole seen by any statement of this
/// process (a statement inside a transaction, a read), until a probe clears
/// it. Statements report through `db_err`, which knows no store; a process
/// serves one database, so one slot suffices.
static OBSERVED: Mutex<Option<String>> = Mutex::new(None);

impl WriteHealth {
    /// The reason writes are failing, if they are.
    pub(crate) fn failing(&self) -> Option<String> {
        let own = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        own.or_else(|| OBSERVED.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Notes a failure of the database as a whole seen by any statement.
    pub(crate) fn observed(reason: &str) {
        *OBSERVED.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.to_owned());
    }

    /// Notes a failed write (only failures of the database as a whole).
    pub(crate) fn note(&self, e: &sqlx::Error) {
        if let Some(reason) = crate::rows::unavailable_reason(e) {
            tracing::error!(%reason, "a write could not be stored");
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
        }
    }

    /// Writes work again.
    pub(crate) fn recovered(&self) {
        let own = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        let seen = OBSERVED.lock().unwrap_or_else(|e| e.into_inner()).take();
        if own.is_some() || seen.is_some() {
            tracing::info!("writes are stored again");
        }
    }
}

impl SqlStore {
    /// Begins a write transaction (SQLite: `BEGIN IMMEDIATE`, so the write
    /// lock is taken up front and a second process waits instead of failing
    /// half-way).
    pub(crate) async fn write_tx(&self) -> Result<WriteTx, sqlx::Error> {
        let mut conn = self
            .writer
            .acquire()
            .await
            .inspect_err(|e| self.health.note(e))?;
        let begin = match self.kind() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        if let Err(e) = conn.execute(begin).await {
            self.health.note(&e);
            conn.close_on_drop();
            return Err(e);
        }
        Ok(WriteTx {
            conn,
            committed: false,
            health: self.health.clone(),
        })
    }
}

impl WriteTx {
    /// Commits. On failure the transaction is rolled back and the connection
    /// discarded, so no later write can run inside what was left open.
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        match self.conn.execute("COMMIT").await {
            Ok(_) => {
                self.committed = true;
                Ok(())
            }
            Err(e) => {
                self.health.note(&e);
                // Best effort: SQLite may already have rolled back by itself;
                // the connection is closed on drop in any case.
                let _ = self.conn.execute("ROLLBACK").await;
                Err(e)
            }
        }
    }
}

impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.conn
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.conn
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if !self.committed {
            self.conn.close_on_drop();
        }
    }
}
