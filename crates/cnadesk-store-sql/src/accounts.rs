//! [`Accounts`] over SQL: team accounts and the first-run setup.

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::{Actor, UserId};
use cnadesk_store::{Accounts, NewUser, StoreError, StoreResult, User, UserCredentials};
use serde_json::json;
use sqlx::{AnyConnection, Row};

use crate::health::db_err;
use crate::rows;
use crate::store::{append_audit, fetch_user, flag, SqlStore};

async fn insert_user(conn: &mut AnyConnection, user: &NewUser, now_ms: i64) -> StoreResult<User> {
    let sql = format!(
        "INSERT INTO users (username, display_name, email, role, password_hash, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING {}",
        rows::USER_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(&user.email)
        .bind(user.role.as_str())
        .bind(&user.password_hash)
        .bind(now_ms)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => {
                StoreError::Conflict(format!("username `{}`", user.username))
            }
            other => other,
        })?;
    rows::user(&row)
}

fn user_created_event(user: &User) -> EventDraft {
    EventDraft::new(AuditAction::UserCreated).payload(json!({
        "user_id": user.id.0,
        "username": user.username,
        "role": user.role.as_str(),
    }))
}

fn credentials(row: &sqlx::any::AnyRow) -> StoreResult<UserCredentials> {
    Ok(UserCredentials {
        user: rows::user(row)?,
        password_hash: row.try_get("password_hash").map_err(db_err)?,
        totp_secret_enc: row.try_get("totp_secret_enc").map_err(db_err)?,
    })
}

#[async_trait]
impl Accounts for SqlStore {
    async fn count_users(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.reader)
            .await
            .map_err(db_err)?;
        row.try_get("n").map_err(db_err)
    }

    async fn create_user(&self, user: NewUser, actor: &Actor, now_ms: i64) -> StoreResult<User> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let created = insert_user(&mut tx, &user, now_ms).await?;
        append_audit(&mut tx, user_created_event(&created), actor, now_ms).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn user(&self, id: UserId) -> StoreResult<Option<User>> {
        let mut conn = self.reader.acquire().await.map_err(db_err)?;
        fetch_user(&mut conn, id).await
    }

    async fn user_credentials(&self, username: &str) -> StoreResult<Option<UserCredentials>> {
        let sql = format!(
            "SELECT {}, password_hash FROM users WHERE username = $1",
            rows::USER_COLUMNS
        );
        sqlx::query(&sql)
            .bind(username)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| credentials(&r))
            .transpose()
    }

    async fn user_credentials_by_id(&self, id: UserId) -> StoreResult<Option<UserCredentials>> {
        let sql = format!(
            "SELECT {}, password_hash FROM users WHERE id = $1",
            rows::USER_COLUMNS
        );
        sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| credentials(&r))
            .transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {} FROM users ORDER BY username", rows::USER_COLUMNS);
        sqlx::query(&sql)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::user)
            .collect()
    }

    async fn set_user_active(
        &self,
        id: UserId,
        active: bool,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let user = fetch_user(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        sqlx::query("UPDATE users SET active = $1, updated_at = $2 WHERE id = $3")
            .bind(flag(active))
            .bind(now_ms)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut ended = 0;
        if !active {
            ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
        }
        let action = if active {
            AuditAction::UserActivated
        } else {
            AuditAction::UserDeactivated
        };
        append_audit(
            &mut tx,
            EventDraft::new(action).payload(json!({
                "user_id": id.0,
                "username": user.username,
                "sessions_ended": ended,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn set_user_totp(
        &self,
        id: UserId,
        totp_secret_enc: Option<Vec<u8>>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let enabled = totp_secret_enc.is_some();
        let n = sqlx::query(
            "UPDATE users SET totp_secret_enc = $1, totp_last_step = NULL, updated_at = $2 WHERE id = $3",
        )
        .bind(totp_secret_enc)
        .bind(now_ms)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        let action = if enabled {
            AuditAction::UserTotpEnrolled
        } else {
            AuditAction::UserTotpRemoved
        };
        append_audit(
            &mut tx,
            EventDraft::new(action).payload(json!({ "user_id": id.0 })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn use_totp_step(&self, id: UserId, step: i64) -> StoreResult<bool> {
        let n = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 \
             AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(id.0)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        Ok(n == 1)
    }

    async fn put_setup_token(&self, token_hash: &str, expires_at_ms: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        sqlx::query("DELETE FROM setup_tokens WHERE used_at IS NULL")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("INSERT INTO setup_tokens (token_hash, expires_at) VALUES ($1, $2)")
            .bind(token_hash)
            .bind(expires_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    async fn setup_token_valid(&self, token_hash: &str, now_ms: i64) -> StoreResult<bool> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM setup_tokens WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_one(&self.reader)
        .await
        .map_err(db_err)?;
        let n: i64 = row.try_get("n").map_err(db_err)?;
        Ok(n == 1 && self.count_users().await? == 0)
    }

    async fn consume_setup_token(
        &self,
        token_hash: &str,
        admin: NewUser,
        now_ms: i64,
    ) -> StoreResult<User> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let used = sqlx::query(
            "UPDATE setup_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1",
        )
        .bind(now_ms)
        .bind(token_hash)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        let users: i64 = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?
            .try_get("n")
            .map_err(db_err)?;
        if used != 1 || users != 0 {
            return Err(StoreError::SetupTokenInvalid);
        }
        let user = insert_user(&mut tx, &admin, now_ms).await?;
        append_audit(
            &mut tx,
            user_created_event(&user),
            &Actor::system("setup"),
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(user)
    }
}
