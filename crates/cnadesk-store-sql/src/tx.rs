//! Write transactions that never outlive a failure, and the record of
//! whether writes work.
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
//! A write is reported as stored only once `COMMIT` returned.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, Executor};

use crate::rows::Failure;
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

/// Whether writes work: a handle on the one record of the process.
///
/// The record is process-global because `rows::db_err`, the one place every
/// failed statement passes through (inside a transaction or not, reads
/// included), knows no store. A cnadesk process serves one database, so one
/// record is the database's record; the store's clones share it by
/// construction. (Tests that open several databases in one process share it
/// too; none of them depends on it.)
///
/// A failure of the database as a whole is recorded when any statement
/// meets one. [`Failure::Damaged`] is sticky: no lesser failure replaces it,
/// and only a passing `PRAGMA quick_check` clears it. [`Failure::Other`] is
/// cleared when a write as large as a big report commits again (the
/// `/readyz` probe), since a small write can still fit where a report no
/// longer does. The record also holds when a write last committed, so that
/// `/readyz` need not commit a probe of its own while writes are flowing.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WriteHealth(());

struct Record {
    failure: Option<Failure>,
    /// Bumped whenever `failure` changes, so that a probe clears only the
    /// failure it saw, never one recorded while it ran.
    generation: u64,
    last_commit: Option<Instant>,
}

static RECORD: Mutex<Record> = Mutex::new(Record {
    failure: None,
    generation: 0,
    last_commit: None,
});

/// Set while a `quick_check` runs (at most one at a time).
static CHECKING: AtomicBool = AtomicBool::new(false);

fn record() -> std::sync::MutexGuard<'static, Record> {
    RECORD.lock().unwrap_or_else(|e| e.into_inner())
}

impl WriteHealth {
    /// The process's record.
    pub(crate) const PROCESS: WriteHealth = WriteHealth(());

    /// The failure recorded, if any, with its generation (for
    /// [`WriteHealth::clear`]).
    pub(crate) fn failing(self) -> (Option<Failure>, u64) {
        let r = record();
        (r.failure.clone(), r.generation)
    }

    /// Records a failure of the database as a whole (a damaged file is never
    /// replaced by a lesser failure).
    pub(crate) fn record(self, failure: Failure) {
        let mut r = record();
        if matches!(r.failure, Some(Failure::Damaged(_))) && matches!(failure, Failure::Other(_)) {
            return;
        }
        if r.failure.is_none() {
            tracing::error!(reason = failure.reason(), "the database cannot take writes");
        }
        r.failure = Some(failure);
        r.generation += 1;
    }

    /// Clears the failure of `generation` (a newer one stays).
    pub(crate) fn clear(self, generation: u64) {
        let mut r = record();
        if r.generation == generation && r.failure.is_some() {
            r.failure = None;
            r.generation += 1;
            tracing::info!("writes are stored again");
        }
    }

    /// Notes a successful commit.
    pub(crate) fn committed(self) {
        record().last_commit = Some(Instant::now());
    }

    /// Whether a write committed within `window` and no failure is recorded.
    pub(crate) fn recently_committed(self, window: Duration) -> bool {
        let r = record();
        r.failure.is_none() && r.last_commit.is_some_and(|t| t.elapsed() < window)
    }

    /// The right to run the one `quick_check`, unless one runs already.
    pub(crate) fn start_check(self) -> Option<CheckRunning> {
        // (Not `then_some`: a guard built for nothing would reset the flag
        // of the check that runs when dropped.)
        if CHECKING
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            Some(CheckRunning(()))
        } else {
            None
        }
    }
}

/// Held while the one `quick_check` runs; dropping it lets the next start.
pub(crate) struct CheckRunning(());

impl Drop for CheckRunning {
    fn drop(&mut self) {
        CHECKING.store(false, Ordering::Release);
    }
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
            if crate::rows::unavailable(&e).is_some() {
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

    /// The record's rules: a damaged file is not replaced by a lesser
    /// failure, and a probe clears only the failure it saw.
    #[test]
    fn damage_is_sticky_and_clearing_needs_the_same_generation() {
        let health = WriteHealth::PROCESS;
        health.record(Failure::Damaged("damaged".into()));
        let (_, seen) = health.failing();
        health.record(Failure::Other("disk full".into()));
        assert_eq!(health.failing().0, Some(Failure::Damaged("damaged".into())));
        assert_eq!(health.failing().1, seen, "a lesser failure changes nothing");
        health.record(Failure::Damaged("damaged again".into()));
        health.clear(seen);
        assert!(health.failing().0.is_some(), "a newer failure stays");
        let (_, now) = health.failing();
        health.clear(now);
        assert_eq!(health.failing().0, None);
        let first = health.start_check().expect("no check runs");
        assert!(health.start_check().is_none(), "one check at a time");
        drop(first);
        assert!(health.start_check().is_some());
    }
}
