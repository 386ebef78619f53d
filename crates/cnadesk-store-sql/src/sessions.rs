//! [`Sessions`] over SQL: team members' sessions.

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::Actor;
use cnadesk_store::{NewSession, SecondFactor, SessionWithUser, Sessions, StoreError, StoreResult};
use serde_json::json;
use sqlx::Row;

use crate::health::db_err;
use crate::rows;
use crate::store::{append_audit, flag, SqlStore};

#[async_trait]
impl Sessions for SqlStore {
    async fn create_session(&self, session: NewSession, actor: &Actor) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        // Expired sessions are swept whenever a new one starts.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(session.created_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, mfa_pending, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.id_hash)
        .bind(session.user_id.0)
        .bind(flag(session.mfa_pending))
        .bind(session.created_at_ms)
        .bind(session.expires_at_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        append_audit(
            &mut tx,
            EventDraft::new(if session.mfa_pending {
                AuditAction::SessionPasswordVerified
            } else {
                AuditAction::SessionSignedIn
            })
            .payload(json!({ "user_id": session.user_id.0 })),
            actor,
            session.created_at_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn session(&self, id_hash: &str, now_ms: i64) -> StoreResult<Option<SessionWithUser>> {
        let sql = format!(
            "SELECT s.mfa_pending AS s_mfa_pending, s.expires_at AS s_expires_at, {} \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.active = 1",
            rows::USER_COLUMNS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let Some(row) = sqlx::query(&sql)
            .bind(id_hash)
            .bind(now_ms)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        Ok(Some(SessionWithUser {
            user: rows::user(&row)?,
            mfa_pending: row.try_get::<i64, _>("s_mfa_pending").map_err(db_err)? != 0,
            expires_at_ms: row.try_get("s_expires_at").map_err(db_err)?,
        }))
    }

    async fn complete_session_mfa(
        &self,
        pending_hash: &str,
        new_session: NewSession,
        second_factor: SecondFactor,
        actor: &Actor,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        // The pending session is replaced by a new one (new id), so a pending
        // cookie planted in a victim's browser never becomes a full session.
        let n = sqlx::query(
            "DELETE FROM sessions WHERE id_hash = $1 AND mfa_pending = 1 AND user_id = $2 AND expires_at > $3",
        )
        .bind(pending_hash)
        .bind(new_session.user_id.0)
        .bind(new_session.created_at_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound("pending session".into()));
        }
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, mfa_pending, created_at, expires_at) VALUES ($1, $2, 0, $3, $4)",
        )
        .bind(&new_session.id_hash)
        .bind(new_session.user_id.0)
        .bind(new_session.created_at_ms)
        .bind(new_session.expires_at_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::SessionSignedIn).payload(json!({
                "user_id": new_session.user_id.0,
                "second_factor": second_factor.as_str(),
            })),
            actor,
            new_session.created_at_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn delete_session(&self, id_hash: &str, actor: &Actor, now_ms: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let n = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        if n > 0 {
            append_audit(
                &mut tx,
                EventDraft::new(AuditAction::SessionSignedOut),
                actor,
                now_ms,
            )
            .await?;
        }
        tx.commit().await.map_err(db_err)
    }
}
