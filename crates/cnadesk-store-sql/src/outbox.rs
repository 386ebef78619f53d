//! Queueing a message in the outbox, on an open transaction: shared by
//! the ports whose writes queue mail (a new report's acknowledgement, the
//! notifications, vendor invitations and reminders).

use cnadesk_store::{NewOutboxMessage, StoreResult};
use sqlx::AnyConnection;

use crate::health::db_err;

/// Queues one message on an open transaction unless its key was ever
/// queued; returns whether it was new.
pub(crate) async fn insert_outbox(
    conn: &mut AnyConnection,
    m: &NewOutboxMessage,
    now_ms: i64,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO outbox (dedupe_key, channel, recipient, template, report_id, case_id, event_seq, \
         context, sealed, state, attempts, next_attempt_at, last_error, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', 0, $10, '', $10, $10) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&m.dedupe_key)
    .bind(m.channel.as_str())
    .bind(&m.recipient)
    .bind(&m.template)
    .bind(m.report_id.map(|r| r.0))
    .bind(m.case_id.map(|c| c.0))
    .bind(m.event_seq)
    .bind(m.context.to_string())
    .bind(m.sealed.clone())
    .bind(now_ms)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(done.rows_affected() == 1)
}
