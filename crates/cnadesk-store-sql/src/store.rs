//! The SQL store: the [`SqlStore`] struct, its pools and construction, and
//! the helpers several ports share. Each port is implemented in its own file
//! (`accounts.rs`, `sessions.rs`, `reports.rs`, … `leases.rs`).

use cnadesk_core::audit::{canonical_json, AuditEvent, EventDraft};
use cnadesk_core::{Actor, CaseId, ReportId, UserId};
use cnadesk_store::{Case, Report, StoreError, StoreResult, User};
use sqlx::{AnyConnection, AnyPool, Row};

use crate::health::db_err;
use crate::rows;
use crate::Backend;

/// The SQL store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SqlStore {
    backend: Backend,
    pub(crate) reader: AnyPool,
    pub(crate) writer: AnyPool,
    /// The SQLite file (for the free space beside it).
    pub(crate) file: Option<std::path::PathBuf>,
}

impl SqlStore {
    pub(crate) fn new(backend: Backend, reader: AnyPool, writer: AnyPool) -> Self {
        Self {
            backend,
            reader,
            writer,
            file: None,
        }
    }

    /// The store of an SQLite file.
    pub(crate) fn with_file(mut self, file: Option<std::path::PathBuf>) -> Self {
        self.file = file;
        self
    }

    /// The backend.
    pub fn kind(&self) -> Backend {
        self.backend
    }

    /// Closes the pools (waits for connections to be returned).
    pub async fn close(&self) {
        self.writer.close().await;
        self.reader.close().await;
    }

    /// Runs raw SQL on the write connection. For tests that must tamper with
    /// stored data to prove that tampering is detected; never used by cnadesk.
    #[doc(hidden)]
    pub async fn execute_raw_for_tests(&self, sql: &str) -> StoreResult<u64> {
        sqlx::query(sql)
            .execute(&self.writer)
            .await
            .map(|r| r.rows_affected())
            .map_err(db_err)
    }
}

/// Appends an event to the audit chain inside the caller's transaction.
/// Bumping the head row first takes the write lock on it, so concurrent
/// appends are serialized by the database and the chain cannot fork.
pub(crate) async fn append_audit(
    conn: &mut AnyConnection,
    draft: EventDraft,
    actor: &Actor,
    now_ms: i64,
) -> StoreResult<AuditEvent> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    let seq: i64 = head.try_get("seq").map_err(db_err)?;
    let prev: String = head.try_get("hash").map_err(db_err)?;
    let event = AuditEvent::seal(draft, seq, now_ms, actor, &prev);
    sqlx::query(
        "INSERT INTO audit_events (seq, occurred_at, actor, action, case_id, report_id, payload, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(event.seq)
    .bind(event.occurred_at_ms)
    .bind(&event.actor)
    .bind(&event.action)
    .bind(event.case_id)
    .bind(event.report_id)
    .bind(canonical_json(&event.payload))
    .bind(&event.prev_hash)
    .bind(&event.hash)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&event.hash)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(event)
}

/// A conditional update found the row in another state than it was read in.
pub(crate) fn changed_meanwhile(what: &str) -> StoreError {
    StoreError::Rejected(format!(
        "{what} was changed by someone else meanwhile; reload the page and decide again"
    ))
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

pub(crate) async fn fetch_report(
    conn: &mut AnyConnection,
    id: ReportId,
) -> StoreResult<Option<Report>> {
    let sql = format!("SELECT {} FROM reports WHERE id = $1", rows::REPORT_COLUMNS);
    sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .map(|r| rows::report(&r))
        .transpose()
}

pub(crate) async fn fetch_case(conn: &mut AnyConnection, id: CaseId) -> StoreResult<Option<Case>> {
    let sql = format!("SELECT {} FROM cases WHERE id = $1", rows::CASE_COLUMNS);
    sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .map(|r| rows::case(&r))
        .transpose()
}

pub(crate) async fn fetch_user(conn: &mut AnyConnection, id: UserId) -> StoreResult<Option<User>> {
    let sql = format!("SELECT {} FROM users WHERE id = $1", rows::USER_COLUMNS);
    sqlx::query(&sql)
        .bind(id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .map(|r| rows::user(&r))
        .transpose()
}
