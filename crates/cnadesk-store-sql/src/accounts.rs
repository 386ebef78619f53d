//! [`Accounts`] over SQL: team accounts and the first-run setup.

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::{Actor, UserId};
use cnadesk_store::{
    Accounts, NewUser, NewUserInvitation, StoreError, StoreResult, User, UserCredentials,
    UserInvitation,
};
use serde_json::json;
use sqlx::{AnyConnection, Row};

use crate::health::db_err;
use crate::outbox::insert_outbox;
use crate::rows;
use crate::store::{append_audit, fetch_user, flag, SqlStore};

/// The columns of an invitation joined with its account (`u.` columns
/// under their own names, the invitation's prefixed `i_`).
fn invitation_select() -> String {
    format!(
        "SELECT i.created_at AS i_created_at, i.expires_at AS i_expires_at, i.used_at AS i_used_at, {} \
         FROM user_invitations i JOIN users u ON u.id = i.user_id",
        rows::USER_COLUMNS
            .split(", ")
            .map(|c| format!("u.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn invitation(row: &sqlx::any::AnyRow) -> StoreResult<UserInvitation> {
    Ok(UserInvitation {
        user: rows::user(row)?,
        created_at_ms: row.try_get("i_created_at").map_err(db_err)?,
        expires_at_ms: row.try_get("i_expires_at").map_err(db_err)?,
        used_at_ms: row.try_get("i_used_at").map_err(db_err)?,
    })
}

/// Stores an invitation link (dropping the account's unused ones) and
/// queues its e-mail, on an open transaction.
async fn put_invitation(
    conn: &mut AnyConnection,
    user: &User,
    invitation: &NewUserInvitation,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM user_invitations WHERE user_id = $1 AND used_at IS NULL")
        .bind(user.id.0)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query(
        "INSERT INTO user_invitations (user_id, token_hash, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(user.id.0)
    .bind(&invitation.token_hash)
    .bind(now_ms)
    .bind(invitation.expires_at_ms)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    if let Some(message) = &invitation.outbox {
        insert_outbox(conn, message, now_ms).await?;
    }
    Ok(())
}

/// Stores recovery code hashes for an account, replacing its others, on an
/// open transaction, and audits it.
async fn put_recovery_codes(
    conn: &mut AnyConnection,
    id: UserId,
    code_hashes: &[String],
    actor: &Actor,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(id.0)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    for hash in code_hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
        )
        .bind(id.0)
        .bind(hash)
        .bind(now_ms)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    }
    append_audit(
        conn,
        EventDraft::new(AuditAction::UserRecoveryCodesGenerated).payload(json!({
            "user_id": id.0,
            "codes": code_hashes.len(),
        })),
        actor,
        now_ms,
    )
    .await?;
    Ok(())
}

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
        if !enabled {
            // Recovery codes stand in for the second factor: they go with it.
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
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

    async fn enrol_totp(
        &self,
        id: UserId,
        totp_secret_enc: Vec<u8>,
        recovery_code_hashes: Vec<String>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let n = sqlx::query(
            "UPDATE users SET totp_secret_enc = $1, totp_last_step = NULL, updated_at = $2 \
             WHERE id = $3 AND totp_secret_enc IS NULL",
        )
        .bind(totp_secret_enc)
        .bind(now_ms)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n == 0 {
            return Err(match fetch_user(&mut tx, id).await? {
                None => StoreError::NotFound(id.to_string()),
                Some(_) => StoreError::Rejected("a second factor is already enrolled".into()),
            });
        }
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::UserTotpEnrolled).payload(json!({ "user_id": id.0 })),
            actor,
            now_ms,
        )
        .await?;
        put_recovery_codes(&mut tx, id, &recovery_code_hashes, actor, now_ms).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn replace_recovery_codes(
        &self,
        id: UserId,
        code_hashes: Vec<String>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        if fetch_user(&mut tx, id).await?.is_none() {
            return Err(StoreError::NotFound(id.to_string()));
        }
        put_recovery_codes(&mut tx, id, &code_hashes, actor, now_ms).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn use_recovery_code(
        &self,
        id: UserId,
        code_hash: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        // Conditional on being unused: two sign-ins racing with one code,
        // one wins.
        let n = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now_ms)
        .bind(id.0)
        .bind(code_hash)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        let left: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(id.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?
        .try_get("n")
        .map_err(db_err)?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::UserRecoveryCodeUsed).payload(json!({
                "user_id": id.0,
                "codes_left": left,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn recovery_codes_left(&self, id: UserId) -> StoreResult<i64> {
        sqlx::query(
            "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(id.0)
        .fetch_one(&self.reader)
        .await
        .map_err(db_err)?
        .try_get("n")
        .map_err(db_err)
    }

    async fn change_password(
        &self,
        id: UserId,
        password_hash: String,
        keep_session: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<u64> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let n = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(now_ms)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound(id.to_string()));
        }
        let ended = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id_hash <> $2")
            .bind(id.0)
            .bind(keep_session)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::UserPasswordChanged).payload(json!({
                "user_id": id.0,
                "sessions_ended": ended,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(ended)
    }

    async fn invite_user(
        &self,
        user: NewUser,
        invitation: NewUserInvitation,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<User> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        // No password until the link is followed: an empty hash matches none.
        let pending = NewUser {
            password_hash: String::new(),
            ..user
        };
        let created = insert_user(&mut tx, &pending, now_ms).await?;
        put_invitation(&mut tx, &created, &invitation, now_ms).await?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::UserInvited).payload(json!({
                "user_id": created.id.0,
                "username": created.username,
                "role": created.role.as_str(),
                "expires_at": invitation.expires_at_ms,
                "mailed": invitation.outbox.is_some(),
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(created)
    }

    async fn renew_user_invitation(
        &self,
        id: UserId,
        invitation: NewUserInvitation,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let sql = format!(
            "SELECT {}, password_hash FROM users WHERE id = $1",
            rows::USER_COLUMNS
        );
        let creds = sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .map(|r| credentials(&r))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        if !creds.password_hash.is_empty() {
            return Err(StoreError::Rejected(format!(
                "{} has already chosen a password",
                creds.user.username
            )));
        }
        put_invitation(&mut tx, &creds.user, &invitation, now_ms).await?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::UserInvitationRenewed).payload(json!({
                "user_id": id.0,
                "username": creds.user.username,
                "expires_at": invitation.expires_at_ms,
                "mailed": invitation.outbox.is_some(),
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn user_invitation(&self, token_hash: &str) -> StoreResult<Option<UserInvitation>> {
        let sql = format!("{} WHERE i.token_hash = $1", invitation_select());
        sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| invitation(&r))
            .transpose()
    }

    async fn open_user_invitations(&self) -> StoreResult<Vec<UserInvitation>> {
        let sql = format!(
            "{} WHERE u.password_hash = '' AND i.id = \
             (SELECT MAX(j.id) FROM user_invitations j WHERE j.user_id = u.id) \
             ORDER BY u.username",
            invitation_select()
        );
        sqlx::query(&sql)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(invitation)
            .collect()
    }

    async fn accept_user_invitation(
        &self,
        token_hash: &str,
        password_hash: String,
        now_ms: i64,
    ) -> StoreResult<User> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        // Conditional on being unused and unexpired: two tabs following the
        // same link, one wins.
        let row = sqlx::query(
            "UPDATE user_invitations SET used_at = $1 \
             WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 RETURNING user_id",
        )
        .bind(now_ms)
        .bind(token_hash)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(row) = row else {
            return Err(StoreError::Rejected(
                "the invitation link is unknown, used or expired".into(),
            ));
        };
        let id = UserId(row.try_get("user_id").map_err(db_err)?);
        let n = sqlx::query(
            "UPDATE users SET password_hash = $1, updated_at = $2 \
             WHERE id = $3 AND password_hash = '' AND active = 1",
        )
        .bind(password_hash)
        .bind(now_ms)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Rejected(
                "the account is deactivated or already set up".into(),
            ));
        }
        let user = fetch_user(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::UserInvitationAccepted).payload(json!({
                "user_id": id.0,
                "username": user.username,
            })),
            &Actor::Member {
                id,
                username: user.username.clone(),
            },
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(user)
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
