//! [`ApiTokens`] over SQL (table `api_tokens`).

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::{Actor, UserId};
use cnadesk_store::{ApiToken, ApiTokens, NewApiToken, StoreError, StoreResult, User};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::health::db_err;
use crate::rows;
use crate::store::{append_audit, SqlStore};

const COLUMNS: &str = "id, user_id, name, scopes, created_at, expires_at, last_used_at, revoked_at";

/// A use is written at most this often per token.
const USE_RESOLUTION_MS: i64 = 60_000;

fn token(row: &AnyRow) -> StoreResult<ApiToken> {
    let scopes: String = row.try_get("scopes").map_err(db_err)?;
    Ok(ApiToken {
        id: row.try_get("id").map_err(db_err)?,
        user_id: UserId(row.try_get("user_id").map_err(db_err)?),
        name: row.try_get("name").map_err(db_err)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        created_at_ms: row.try_get("created_at").map_err(db_err)?,
        expires_at_ms: row.try_get("expires_at").map_err(db_err)?,
        last_used_at_ms: row.try_get("last_used_at").map_err(db_err)?,
        revoked_at_ms: row.try_get("revoked_at").map_err(db_err)?,
    })
}

impl SqlStore {
    async fn note_token_use(&self, id: i64, now_ms: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl ApiTokens for SqlStore {
    async fn create_api_token(
        &self,
        new: NewApiToken,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<ApiToken> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let sql = format!(
            "INSERT INTO api_tokens (user_id, name, scopes, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.user_id.0)
            .bind(&new.name)
            .bind(new.scopes.join(" "))
            .bind(&new.token_hash)
            .bind(now_ms)
            .bind(new.expires_at_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let created = token(&row)?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::ApiTokenCreated).payload(json!({
                "user_id": created.user_id.0,
                "token_id": created.id,
                "name": created.name,
                "scopes": created.scopes,
                "expires_at_ms": created.expires_at_ms,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn api_tokens_of(&self, user: UserId) -> StoreResult<Vec<ApiToken>> {
        let sql = format!("SELECT {COLUMNS} FROM api_tokens WHERE user_id = $1 ORDER BY id DESC");
        sqlx::query(&sql)
            .bind(user.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(token)
            .collect()
    }

    async fn use_api_token(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<(ApiToken, User)>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(token_hash)
            .bind(now_ms)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let found = token(&row)?;
        let user_sql = format!(
            "SELECT {} FROM users WHERE id = $1 AND active = 1",
            rows::USER_COLUMNS
        );
        let Some(user) = sqlx::query(&user_sql)
            .bind(found.user_id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let user = rows::user(&user)?;
        if found
            .last_used_at_ms
            .is_none_or(|at| now_ms - at >= USE_RESOLUTION_MS)
        {
            // Noting the use is best effort: a database that cannot take
            // writes (a full disk) still answers a token's reads.
            if let Err(e) = self.note_token_use(found.id, now_ms).await {
                tracing::warn!(token = found.id, error = %e, "could not note an API token's use");
            }
        }
        Ok(Some((found, user)))
    }

    async fn revoke_api_token(
        &self,
        user: UserId,
        id: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .bind(user.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("API token {id}")));
        }
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::ApiTokenRevoked)
                .payload(json!({ "user_id": user.0, "token_id": id })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }
}
