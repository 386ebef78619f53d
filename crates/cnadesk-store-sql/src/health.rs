//! Whether the database can take requests: how a failed statement is told
//! apart from a failure of the database as a whole ([`db_err`],
//! [`unavailable`]), and the process's record of such failures
//! ([`WriteHealth`]), which `/readyz` reads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cnadesk_store::StoreError;

/// A statement error as a store error. Every statement of the store ends
/// here, so this is also where a failure of the database as a whole is
/// recorded for `/readyz` (see [`WriteHealth`]).
pub(crate) fn db_err(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        if db.is_unique_violation() {
            return StoreError::Conflict(db.message().to_owned());
        }
    }
    match unavailable(&e) {
        Some(failure) => {
            let reason = failure.reason().to_owned();
            WriteHealth::PROCESS.record(failure);
            StoreError::Unavailable(reason)
        }
        None => StoreError::Database(e.to_string()),
    }
}

/// How a damaged SQLite file is named (and recognised again by `/readyz`).
pub(crate) const DAMAGED: &str = "the database file is damaged (not a database, or malformed)";

/// Why the database cannot take requests at all right now, when `e` says so
/// (as opposed to a fault of one query): a full disk, a read-only, damaged or
/// vanished file, I/O errors, a lock held too long, a lost server.
pub(crate) fn unavailable_reason(e: &sqlx::Error) -> Option<String> {
    unavailable(e).map(Failure::into_reason)
}

/// [`unavailable_reason`], telling a damaged file from the other failures.
pub(crate) fn unavailable(e: &sqlx::Error) -> Option<Failure> {
    let other = |reason: String| Some(Failure::Other(reason));
    match e {
        sqlx::Error::PoolTimedOut => other("no database connection became free in time".into()),
        sqlx::Error::PoolClosed => other("the database connection pool is closed".into()),
        sqlx::Error::Io(io) => other(format!("database I/O failed: {io}")),
        sqlx::Error::WorkerCrashed => other("the database worker stopped".into()),
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = db.message();
            // SQLite reports its (extended) result code as a number; the
            // primary code is the low byte. (Many PostgreSQL SQLSTATEs are
            // all digits too, e.g. 53100 for a full disk: ask the driver.)
            let sqlite = db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some();
            if let (true, Ok(n)) = (sqlite, code.parse::<i64>()) {
                let reason = match n & 0xff {
                    5 | 6 => "the database is locked by another process",
                    8 => "the database file or its directory is read-only",
                    10 => "the disk failed to read or write the database",
                    11 | 26 => {
                        return Some(Failure::Damaged(format!("{DAMAGED} (SQLite: {message})")))
                    }
                    13 => "the disk is full",
                    14 => "the database file cannot be opened",
                    _ => return None,
                };
                return other(format!("{reason} (SQLite: {message})"));
            }
            // PostgreSQL: SQLSTATE classes 08 (connection), 53 (insufficient
            // resources), 57 (operator intervention: shutdown; but not
            // 57014, a statement cancelled or timed out, which is a fault of
            // that statement only), 58 (system error: I/O), and a read-only
            // transaction (25006).
            let reason = match code.get(..2) {
                Some("57") if code == "57014" => return None,
                Some("08") => "the connection to PostgreSQL failed",
                Some("53") => "PostgreSQL is out of resources (disk, memory or connections)",
                Some("57") => "PostgreSQL is shutting down or refused the request",
                Some("58") => "PostgreSQL hit a system or I/O error",
                _ if code == "25006" => "PostgreSQL is read-only",
                _ => return None,
            };
            other(format!("{reason} (PostgreSQL {code}: {message})"))
        }
        _ => None,
    }
}

/// A failure of the database as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The SQLite file is damaged. It does not heal by itself: only a
    /// passing `PRAGMA quick_check` ends it, and no lesser failure replaces
    /// it.
    Damaged(String),
    /// Anything else (a full disk, a read-only file, a lost server…): ends
    /// once a write as large as a report commits again.
    Other(String),
}

impl Failure {
    /// The reason, in words.
    pub(crate) fn reason(&self) -> &str {
        match self {
            Failure::Damaged(r) | Failure::Other(r) => r,
        }
    }

    fn into_reason(self) -> String {
        match self {
            Failure::Damaged(r) | Failure::Other(r) => r,
        }
    }
}

/// Whether writes work: a handle on the one record of the process.
///
/// The record is process-global because [`db_err`], the one place every
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

#[cfg(test)]
mod tests {
    use super::*;

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
