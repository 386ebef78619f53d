//! [`Store`] over SQL.

use async_trait::async_trait;
use cnadesk_core::audit::{canonical_json, report_digest, AuditEvent, ContentSubject, EventDraft};
use cnadesk_core::publication;
use cnadesk_core::team::{Absence, Affiliation, Profile, Recusal, Shift};
use cnadesk_core::{
    Actor, AttachmentId, CaseId, CaseState, CloseReason, CveId, ReportId, ReportState, UserId,
    VendorId,
};
use cnadesk_store::{
    Advisory, AffectedProduct, Approval, Attachment, AttachmentMeta, Author, Case, CaseFile,
    CaseFilter, CaseMessage, CloseDecision, CountChoice, CveIdEntry, CveIdFilter, CveIdState,
    DeliveryOutcome, Embargo, EmbargoOutcome, InboundFiling, Job, JobEffect, JobFilter, JobKind,
    JobOutcome, JobState, MemberContact, Message, NewAttachment, NewCaseFile, NewInvitation,
    NewJob, NewMessage, NewOutboxMessage, NewQuarantined, NewRecordVersion, NewReport, NewSession,
    NewUser, NewVendorAccount, NewVulnerability, NotificationPref, OutboxFilter, OutboxMessage,
    Participant, ProductUpdate, PublicationRequest, Quarantined, RecordVersion, Report,
    ReportFilter, ReportSummary, ServiceCveId, SessionWithUser, Store, StoreError, StoreResult,
    User, UserCredentials, VendorAccount, Visibility, Vulnerability,
};
use serde_json::json;
use sqlx::{AnyConnection, AnyPool, Row};

use crate::rows::{self, db_err, sha256_hex};
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

/// Inserts a report with its attachments, its audit event and the messages
/// it queues (its acknowledgement), on an open transaction.
pub(crate) async fn insert_report(
    conn: &mut AnyConnection,
    report: &NewReport,
    now_ms: i64,
) -> StoreResult<ReportId> {
    let f = &report.fields;
    let row = sqlx::query(
        "INSERT INTO reports (title, reporter_name, reporter_email, anonymous, product, versions, \
         description, impact, reproduction, already_public, public_where, asked_other_cna, other_cna, \
         credit, pgp_key, state, channel, tracking_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19) \
         RETURNING id",
    )
    .bind(&f.title)
    .bind(&f.reporter_name)
    .bind(&f.reporter_email)
    .bind(flag(f.anonymous))
    .bind(&f.product)
    .bind(&f.versions)
    .bind(&f.description)
    .bind(&f.impact)
    .bind(&f.reproduction)
    .bind(flag(f.already_public))
    .bind(&f.public_where)
    .bind(flag(f.asked_other_cna))
    .bind(&f.other_cna)
    .bind(&f.credit)
    .bind(&f.pgp_key)
    .bind(ReportState::New.as_str())
    .bind(report.channel.as_str())
    .bind(&report.tracking_hash)
    .bind(now_ms)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    let id = ReportId(row.try_get("id").map_err(db_err)?);
    let files = insert_attachments(conn, id, &report.attachments, now_ms).await?;
    append_audit(
        conn,
        EventDraft::new("report.created")
            .report(id)
            .payload(json!({
                "channel": report.channel.as_str(),
                "product": f.product,
                "attachments": files,
            }))
            .digest(ContentSubject::Report(id.0), report_digest(id, f)),
        &Actor::Reporter { report: id },
        now_ms,
    )
    .await?;
    for message in &report.outbox {
        let mut message = message.clone();
        message.report_id = Some(id);
        crate::notify::insert_outbox(conn, &message, now_ms).await?;
    }
    Ok(id)
}

/// Inserts a message with its audit event on an open transaction.
pub(crate) async fn insert_message(
    conn: &mut AnyConnection,
    message: &NewMessage,
    actor: &Actor,
    now_ms: i64,
) -> StoreResult<Message> {
    if message.body.trim().is_empty() {
        return Err(StoreError::Rejected("a message cannot be empty".into()));
    }
    let (kind, user_id, name) = match &message.author {
        Author::Member { id, name } => ("member", Some(id.0), name.clone()),
        Author::Reporter => {
            if message.visibility != Visibility::Reporter {
                return Err(StoreError::Rejected(
                    "a reporter cannot write internal notes".into(),
                ));
            }
            ("reporter", None, "Reporter".to_owned())
        }
    };
    if fetch_report(&mut *conn, message.report_id).await?.is_none() {
        return Err(StoreError::NotFound(message.report_id.to_string()));
    }
    let sql = format!(
        "INSERT INTO messages (report_id, author_kind, author_user_id, author_name, visibility, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {}",
        rows::MESSAGE_COLUMNS
    );
    let row = sqlx::query(&sql)
        .bind(message.report_id.0)
        .bind(kind)
        .bind(user_id)
        .bind(&name)
        .bind(message.visibility.as_str())
        .bind(&message.body)
        .bind(now_ms)
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    let stored = rows::message(&row)?;
    let action = match message.visibility {
        Visibility::Reporter => "message.shared",
        Visibility::Internal => "note.added",
    };
    let case_id: Option<i64> = sqlx::query("SELECT id FROM cases WHERE report_id = $1")
        .bind(message.report_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .map(|r| r.try_get("id"))
        .transpose()
        .map_err(db_err)?;
    let mut draft = EventDraft::new(action)
        .report(message.report_id)
        .payload(json!({
            "message_id": stored.id.0,
            "body_sha256": sha256_hex(message.body.as_bytes()),
        }))
        .digest(
            ContentSubject::Message(stored.id.0),
            stored.content_digest(),
        );
    draft.case_id = case_id;
    append_audit(&mut *conn, draft, actor, now_ms).await?;
    Ok(stored)
}

/// Stores attachments of a report; returns their audit summary.
pub(crate) async fn insert_attachments(
    conn: &mut AnyConnection,
    report: ReportId,
    attachments: &[NewAttachment],
    now_ms: i64,
) -> StoreResult<Vec<serde_json::Value>> {
    let mut files = Vec::new();
    for a in attachments {
        let sha = sha256_hex(&a.data);
        sqlx::query(
            "INSERT INTO attachments (report_id, filename, content_type, size, sha256, data, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(report.0)
        .bind(&a.filename)
        .bind(&a.content_type)
        .bind(a.data.len() as i64)
        .bind(&sha)
        .bind(a.data.clone())
        .bind(now_ms)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
        files.push(json!({"filename": a.filename, "size": a.data.len(), "sha256": sha}));
    }
    Ok(files)
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
fn changed_meanwhile(what: &str) -> StoreError {
    StoreError::Rejected(format!(
        "{what} was changed by someone else meanwhile; reload the page and decide again"
    ))
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

async fn fetch_report(conn: &mut AnyConnection, id: ReportId) -> StoreResult<Option<Report>> {
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
    EventDraft::new("user.created").payload(json!({
        "user_id": user.id.0,
        "username": user.username,
        "role": user.role.as_str(),
    }))
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> &'static str {
        self.backend.name()
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db_err)?;
        Ok(())
    }

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
            "user.activated"
        } else {
            "user.deactivated"
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
            "user.totp_enrolled"
        } else {
            "user.totp_removed"
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
                "session.password_verified"
            } else {
                "session.signed_in"
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
            EventDraft::new("session.signed_in").payload(json!({
                "user_id": new_session.user_id.0,
                "second_factor": "totp",
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
                EventDraft::new("session.signed_out"),
                actor,
                now_ms,
            )
            .await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn create_report(&self, report: NewReport, now_ms: i64) -> StoreResult<Report> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let id = insert_report(&mut tx, &report, now_ms).await?;
        let stored = fetch_report(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::Database("report vanished".into()))?;
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn report(&self, id: ReportId) -> StoreResult<Option<Report>> {
        let mut conn = self.reader.acquire().await.map_err(db_err)?;
        fetch_report(&mut conn, id).await
    }

    async fn report_by_tracking_hash(&self, hash: &str) -> StoreResult<Option<Report>> {
        let sql = format!(
            "SELECT {} FROM reports WHERE tracking_hash = $1",
            rows::REPORT_COLUMNS
        );
        sqlx::query(&sql)
            .bind(hash)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| rows::report(&r))
            .transpose()
    }

    async fn list_reports(&self, filter: ReportFilter) -> StoreResult<Vec<ReportSummary>> {
        let rows = sqlx::query(
            "SELECT r.id, r.title, r.product, r.state, r.close_reason, r.created_at, c.id AS case_id, \
               CAST(CASE WHEN COALESCE((SELECT MAX(m.id) FROM messages m \
                                        WHERE m.report_id = r.id AND m.author_kind = 'reporter'), 0) \
                           > COALESCE((SELECT MAX(m.id) FROM messages m \
                                        WHERE m.report_id = r.id AND m.author_kind = 'member' \
                                        AND m.visibility = 'reporter'), 0) \
                    THEN 1 ELSE 0 END AS BIGINT) AS awaiting \
             FROM reports r LEFT JOIN cases c ON c.report_id = r.id \
             WHERE ($1 = '' OR r.state = $1) \
               AND ($2 = -1 OR CAST(CASE WHEN r.close_reason = 'spam' THEN 1 ELSE 0 END AS BIGINT) = $2) \
             ORDER BY r.id DESC LIMIT $3",
        )
        .bind(filter.state.map(|s| s.as_str()).unwrap_or(""))
        .bind(filter.spam.map(i64::from).unwrap_or(-1))
        .bind(if filter.limit > 0 { filter.limit } else { i64::MAX })
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let close: Option<String> = row.try_get("close_reason").map_err(db_err)?;
                let state: String = row.try_get("state").map_err(db_err)?;
                Ok(ReportSummary {
                    id: ReportId(row.try_get("id").map_err(db_err)?),
                    title: row.try_get("title").map_err(db_err)?,
                    product: row.try_get("product").map_err(db_err)?,
                    state: state.parse().map_err(StoreError::Database)?,
                    close_reason: close
                        .map(|c| c.parse::<CloseReason>().map_err(StoreError::Database))
                        .transpose()?,
                    created_at_ms: row.try_get("created_at").map_err(db_err)?,
                    case_id: row
                        .try_get::<Option<i64>, _>("case_id")
                        .map_err(db_err)?
                        .map(CaseId),
                    awaiting_reply: row.try_get::<i64, _>("awaiting").map_err(db_err)? != 0,
                })
            })
            .collect()
    }

    async fn close_report(
        &self,
        id: ReportId,
        decision: CloseDecision,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Report> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = fetch_report(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        if !report.state.awaits_triage() {
            return Err(StoreError::Rejected(format!(
                "{id} is already {}; only new reports can be closed",
                report.state
            )));
        }
        match (decision.reason, decision.duplicate_of) {
            (CloseReason::Duplicate, None) => {
                return Err(StoreError::Rejected(
                    "a duplicate must name the report it duplicates".into(),
                ))
            }
            (CloseReason::Duplicate, Some(of)) if of == id => {
                return Err(StoreError::Rejected(
                    "a report cannot duplicate itself".into(),
                ))
            }
            (CloseReason::Duplicate, Some(of)) => {
                if fetch_report(&mut tx, of).await?.is_none() {
                    return Err(StoreError::Rejected(format!("{of} does not exist")));
                }
            }
            (_, Some(_)) => {
                return Err(StoreError::Rejected(
                    "only a duplicate names another report".into(),
                ))
            }
            (_, None) => {}
        }
        let detail = decision.detail.trim();
        // Conditional on the state read above: a concurrent decision makes
        // this update touch nothing instead of overwriting it.
        let n = sqlx::query(
            "UPDATE reports SET state = $1, close_reason = $2, duplicate_of = $3, close_detail = $4, updated_at = $5 \
             WHERE id = $6 AND state = $7",
        )
        .bind(ReportState::Closed.as_str())
        .bind(decision.reason.as_str())
        .bind(decision.duplicate_of.map(|r| r.0))
        .bind((!detail.is_empty()).then_some(detail))
        .bind(now_ms)
        .bind(id.0)
        .bind(report.state.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Err(changed_meanwhile(&id.to_string()));
        }
        append_audit(
            &mut tx,
            EventDraft::new("report.closed").report(id).payload(json!({
                "reason": decision.reason.as_str(),
                "duplicate_of": decision.duplicate_of.map(|r| r.0),
                "detail": detail,
            })),
            actor,
            now_ms,
        )
        .await?;
        let stored = fetch_report(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn attachments(&self, report: ReportId) -> StoreResult<Vec<AttachmentMeta>> {
        let sql = format!(
            "SELECT {} FROM attachments WHERE report_id = $1 ORDER BY id",
            rows::ATTACHMENT_COLUMNS
        );
        sqlx::query(&sql)
            .bind(report.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::attachment_meta)
            .collect()
    }

    async fn attachment(
        &self,
        report: ReportId,
        id: AttachmentId,
    ) -> StoreResult<Option<Attachment>> {
        let sql = format!(
            "SELECT {}, data FROM attachments WHERE report_id = $1 AND id = $2",
            rows::ATTACHMENT_COLUMNS
        );
        let Some(row) = sqlx::query(&sql)
            .bind(report.0)
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        Ok(Some(Attachment {
            meta: rows::attachment_meta(&row)?,
            data: row.try_get("data").map_err(db_err)?,
        }))
    }

    async fn add_message(
        &self,
        message: NewMessage,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Message> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let stored = insert_message(&mut tx, &message, actor, now_ms).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn messages(
        &self,
        report: ReportId,
        include_internal: bool,
    ) -> StoreResult<Vec<Message>> {
        let sql = format!(
            "SELECT {} FROM messages WHERE report_id = $1 AND ($2 = 1 OR visibility = 'reporter') ORDER BY id",
            rows::MESSAGE_COLUMNS
        );
        sqlx::query(&sql)
            .bind(report.0)
            .bind(flag(include_internal))
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::message)
            .collect()
    }

    async fn accept_report(
        &self,
        report: ReportId,
        title: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Case> {
        let title = title.trim();
        if title.is_empty() {
            return Err(StoreError::Rejected("a case needs a title".into()));
        }
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let existing = fetch_report(&mut tx, report)
            .await?
            .ok_or_else(|| StoreError::NotFound(report.to_string()))?;
        if !existing.state.awaits_triage() {
            return Err(StoreError::Rejected(format!(
                "{report} is already {}; only new reports can be accepted",
                existing.state
            )));
        }
        let latest_scope: Option<(String,)> = sqlx::query_as(
            "SELECT decision FROM scope_decisions WHERE report_id = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(report.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if let Some((decision,)) = latest_scope.filter(|(d,)| d != "in_scope") {
            return Err(StoreError::Rejected(format!(
                "the scope decision on {report} is `{decision}`; record an in-scope decision before accepting it"
            )));
        }
        let n = sqlx::query(
            "UPDATE reports SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(ReportState::Accepted.as_str())
        .bind(now_ms)
        .bind(report.0)
        .bind(existing.state.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Err(changed_meanwhile(&report.to_string()));
        }
        let sql = format!(
            "INSERT INTO cases (report_id, title, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING {}",
            rows::CASE_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(report.0)
            .bind(title)
            .bind(CaseState::Accepted.as_str())
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let case = rows::case(&row)?;
        append_audit(
            &mut tx,
            EventDraft::new("case.opened")
                .report(report)
                .case(case.id)
                .payload(json!({ "title": title, "state": case.state.as_str() })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(case)
    }

    async fn case(&self, id: CaseId) -> StoreResult<Option<Case>> {
        let mut conn = self.reader.acquire().await.map_err(db_err)?;
        fetch_case(&mut conn, id).await
    }

    async fn case_for_report(&self, report: ReportId) -> StoreResult<Option<Case>> {
        let sql = format!(
            "SELECT {} FROM cases WHERE report_id = $1",
            rows::CASE_COLUMNS
        );
        sqlx::query(&sql)
            .bind(report.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| rows::case(&r))
            .transpose()
    }

    async fn list_cases(&self, filter: CaseFilter) -> StoreResult<Vec<Case>> {
        let sql = format!(
            "SELECT {} FROM cases WHERE ($1 = 0 OR state NOT IN ('closed', 'rejected', 'published')) \
             AND ($2 = 0 OR assignee_id = $2) ORDER BY id DESC",
            rows::CASE_COLUMNS
        );
        sqlx::query(&sql)
            .bind(flag(filter.open_only))
            .bind(filter.assignee.map(|u| u.0).unwrap_or(0))
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::case)
            .collect()
    }

    async fn transition_case(
        &self,
        id: CaseId,
        to: CaseState,
        reason: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Case> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let case = fetch_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        case.state
            .transition(to)
            .map_err(|e| StoreError::Rejected(e.to_string()))?;
        let n = sqlx::query(
            "UPDATE cases SET state = $1, updated_at = $2 WHERE id = $3 AND state = $4",
        )
        .bind(to.as_str())
        .bind(now_ms)
        .bind(id.0)
        .bind(case.state.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Err(changed_meanwhile(&id.to_string()));
        }
        append_audit(
            &mut tx,
            EventDraft::new("case.state_changed")
                .case(id)
                .report(case.report_id)
                .payload(json!({
                    "from": case.state.as_str(),
                    "to": to.as_str(),
                    "reason": reason.trim(),
                })),
            actor,
            now_ms,
        )
        .await?;
        let updated = fetch_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        tx.commit().await.map_err(db_err)?;
        Ok(updated)
    }

    async fn assign_case(
        &self,
        id: CaseId,
        assignee: Option<UserId>,
        reason: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Case> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let case = fetch_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        if let Some(user) = assignee {
            let u = fetch_user(&mut tx, user)
                .await?
                .ok_or_else(|| StoreError::Rejected(format!("{user} does not exist")))?;
            if !u.active {
                return Err(StoreError::Rejected(format!(
                    "{} is deactivated",
                    u.username
                )));
            }
            if let Some(r) =
                sqlx::query("SELECT reason FROM recusals WHERE case_id = $1 AND user_id = $2")
                    .bind(id.0)
                    .bind(user.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_err)?
            {
                let reason: String = r.try_get("reason").map_err(db_err)?;
                return Err(StoreError::Rejected(format!(
                    "{} is recused from this case: {reason}",
                    u.username
                )));
            }
        }
        sqlx::query(
            "UPDATE cases SET assignee_id = $1, assignment_reason = $2, updated_at = $3 WHERE id = $4",
        )
        .bind(assignee.map(|u| u.0))
        .bind(reason.trim())
        .bind(now_ms)
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        append_audit(
            &mut tx,
            EventDraft::new("case.assigned")
                .case(id)
                .report(case.report_id)
                .payload(json!({
                    "from": case.assignee.map(|u| u.0),
                    "to": assignee.map(|u| u.0),
                    "reason": reason.trim(),
                })),
            actor,
            now_ms,
        )
        .await?;
        let updated = fetch_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        tx.commit().await.map_err(db_err)?;
        Ok(updated)
    }

    async fn open_case_counts(&self) -> StoreResult<Vec<(UserId, i64)>> {
        let rows = sqlx::query(
            "SELECT assignee_id, COUNT(*) AS n FROM cases \
             WHERE assignee_id IS NOT NULL AND state NOT IN ('closed', 'rejected', 'published') \
             GROUP BY assignee_id ORDER BY assignee_id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|r| {
                Ok((
                    UserId(r.try_get("assignee_id").map_err(db_err)?),
                    r.try_get("n").map_err(db_err)?,
                ))
            })
            .collect()
    }

    async fn set_case_cve_id(
        &self,
        id: CaseId,
        cve_id: &CveId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Case> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let case = fetch_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        if case.cve_id.as_ref() == Some(cve_id) {
            return Ok(case);
        }
        let taken: Option<i64> = sqlx::query("SELECT id FROM cases WHERE cve_id = $1")
            .bind(cve_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .map(|r| r.try_get("id"))
            .transpose()
            .map_err(db_err)?;
        if let Some(other) = taken {
            return Err(StoreError::Conflict(format!(
                "{cve_id} belongs to {}",
                CaseId(other)
            )));
        }
        sqlx::query("UPDATE cases SET cve_id = $1, updated_at = $2 WHERE id = $3")
            .bind(cve_id.as_str())
            .bind(now_ms)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        append_audit(
            &mut tx,
            EventDraft::new("case.cve_id_set")
                .report(case.report_id)
                .case(id)
                .payload(json!({
                    "cve_id": cve_id.as_str(),
                    "previous": case.cve_id.as_ref().map(|c| c.as_str()),
                })),
            actor,
            now_ms,
        )
        .await?;
        let case = fetch_case(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        tx.commit().await.map_err(db_err)?;
        Ok(case)
    }

    async fn save_record_version(
        &self,
        case_id: CaseId,
        new: NewRecordVersion,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<RecordVersion> {
        if serde_json::from_str::<serde_json::Value>(&new.document).is_err() {
            return Err(StoreError::Rejected("a record version must be JSON".into()));
        }
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let case = fetch_case(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(case_id.to_string()))?;
        let latest: i64 = sqlx::query(
            "SELECT COALESCE(MAX(version), 0) AS latest FROM record_versions WHERE case_id = $1",
        )
        .bind(case_id.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?
        .try_get("latest")
        .map_err(db_err)?;
        let stale = || {
            StoreError::Conflict(format!(
                "the record of {case_id} was saved by someone else meanwhile"
            ))
        };
        if latest != new.based_on {
            return Err(stale());
        }
        let sha256 = sha256_hex(new.document.as_bytes());
        let sql = format!(
            "INSERT INTO record_versions ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             RETURNING {}",
            rows::RECORD_COLUMNS,
            rows::RECORD_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(case_id.0)
            .bind(latest + 1)
            .bind(new.cve_id.as_str())
            .bind(&new.document)
            .bind(&sha256)
            .bind(new.schema_errors)
            .bind(new.lint_errors)
            .bind(new.lint_warnings)
            .bind(new.note.trim())
            .bind(new.author.0)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await
            // Two saves based on the same version: the second one collides
            // on the primary key, which is the same stale edit.
            .map_err(|e| match db_err(e) {
                StoreError::Conflict(_) => stale(),
                other => other,
            })?;
        let stored = rows::record_version(&row)?;
        append_audit(
            &mut tx,
            EventDraft::new("record.version_saved")
                .report(case.report_id)
                .case(case_id)
                .payload(json!({
                    "version": stored.version,
                    "cve_id": stored.cve_id.as_str(),
                    "sha256": stored.sha256,
                    "schema_errors": stored.schema_errors,
                    "lint_errors": stored.lint_errors,
                    "lint_warnings": stored.lint_warnings,
                }))
                .digest(
                    ContentSubject::RecordVersion {
                        case: case_id.0,
                        version: stored.version,
                    },
                    stored.content_digest(),
                ),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn record_versions(&self, case: CaseId) -> StoreResult<Vec<RecordVersion>> {
        let sql = format!(
            "SELECT {} FROM record_versions WHERE case_id = $1 ORDER BY version DESC",
            rows::RECORD_COLUMNS
        );
        sqlx::query(&sql)
            .bind(case.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::record_version)
            .collect()
    }

    async fn record_version(
        &self,
        case: CaseId,
        version: i64,
    ) -> StoreResult<Option<RecordVersion>> {
        let mut conn = self.reader.acquire().await.map_err(db_err)?;
        fetch_record_version(&mut conn, case, version).await
    }

    async fn approve_record_version(
        &self,
        case_id: CaseId,
        version: i64,
        approver: UserId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Approval> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let case = fetch_case(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(case_id.to_string()))?;
        let latest = latest_version(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("a record of {case_id}")))?;
        let v = if latest.version == version {
            latest.clone()
        } else {
            fetch_record_version(&mut tx, case_id, version)
                .await?
                .ok_or_else(|| StoreError::NotFound(format!("version {version} of {case_id}")))?
        };
        let recused: Option<String> =
            sqlx::query("SELECT reason FROM recusals WHERE case_id = $1 AND user_id = $2")
                .bind(case_id.0)
                .bind(approver.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .map(|r| r.try_get("reason"))
                .transpose()
                .map_err(db_err)?;
        publication::check_approval(
            v.author,
            approver,
            v.version,
            latest.version,
            v.publishable(),
            recused.as_deref(),
        )
        .map_err(|e| StoreError::Rejected(e.to_string()))?;
        let sql = format!(
            "INSERT INTO record_approvals ({}) VALUES ($1, $2, $3, $4, $5) RETURNING {}",
            rows::APPROVAL_COLUMNS,
            rows::APPROVAL_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(case_id.0)
            .bind(version)
            .bind(approver.0)
            .bind(&v.sha256)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match db_err(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict(format!("you already approved version {version}"))
                }
                other => other,
            })?;
        let approval = rows::approval(&row)?;
        append_audit(
            &mut tx,
            EventDraft::new("record.approved")
                .report(case.report_id)
                .case(case_id)
                .payload(json!({
                    "version": version,
                    "cve_id": v.cve_id.as_str(),
                    "sha256": v.sha256,
                    "author": v.author.0,
                    "approver": approver.0,
                })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(approval)
    }

    async fn product_annotations(&self) -> StoreResult<Vec<cnadesk_store::ProductAnnotation>> {
        let sql = format!(
            "SELECT {} FROM product_annotations ORDER BY product_key",
            rows::ANNOTATION_COLUMNS
        );
        sqlx::query(&sql)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::product_annotation)
            .collect()
    }

    async fn save_product_annotation(
        &self,
        key: &str,
        annotation: serde_json::Value,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<cnadesk_store::ProductAnnotation> {
        let key = key.trim();
        if key.is_empty() {
            return Err(StoreError::Rejected("a product needs a key".into()));
        }
        if !annotation.is_object() {
            return Err(StoreError::Rejected(
                "an annotation is a JSON object".into(),
            ));
        }
        let by = match actor {
            Actor::Member { id, .. } => Some(id.0),
            _ => None,
        };
        let text = canonical_json(&annotation);
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let sql = format!(
            "SELECT {} FROM product_annotations WHERE product_key = $1",
            rows::ANNOTATION_COLUMNS
        );
        let before = sqlx::query(&sql)
            .bind(key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(rows::product_annotation)
            .transpose()?;
        let sql = format!(
            "INSERT INTO product_annotations ({cols}) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (product_key) DO UPDATE SET annotation = $2, updated_at = $3, updated_by = $4 \
             RETURNING {cols}",
            cols = rows::ANNOTATION_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(key)
            .bind(&text)
            .bind(now_ms)
            .bind(by)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let saved = rows::product_annotation(&row)?;
        let added = before.is_none() && annotation.get("added") == Some(&json!(true));
        append_audit(
            &mut tx,
            EventDraft::new(if added {
                "ecosystem.product_added"
            } else {
                "ecosystem.product_annotated"
            })
            .payload(json!({
                "product": key,
                "before": before.map(|b| b.annotation),
                "after": annotation,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(saved)
    }

    async fn record_scope_decision(
        &self,
        d: cnadesk_store::NewScopeDecision,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<cnadesk_store::ScopeDecision> {
        let Actor::Member { id: member, .. } = actor else {
            return Err(StoreError::Rejected(
                "scope decisions are made by team members".into(),
            ));
        };
        if !matches!(d.decision.as_str(), "in_scope" | "refer" | "out_of_scope") {
            return Err(StoreError::Rejected(format!(
                "`{}` is not a scope decision (in_scope, refer, out_of_scope)",
                d.decision
            )));
        }
        if d.decision == "refer" && d.referral_cna.as_deref().unwrap_or("").trim().is_empty() {
            return Err(StoreError::Rejected(
                "a referral names the CNA it refers to".into(),
            ));
        }
        if d.overridden && d.reason.trim().is_empty() {
            return Err(StoreError::Rejected(
                "overriding the proposal needs a reason".into(),
            ));
        }
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = fetch_report(&mut tx, d.report)
            .await?
            .ok_or_else(|| StoreError::NotFound(d.report.to_string()))?;
        if !report.state.awaits_triage() {
            return Err(StoreError::Rejected(format!(
                "{} is already {}; scope is decided during triage",
                d.report, report.state
            )));
        }
        let sql = format!(
            "INSERT INTO scope_decisions (report_id, decision, rule_id, policy_version, product_key, \
             referral_cna, overridden, reason, input, proposal, decided_by, decided_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {}",
            rows::SCOPE_COLUMNS
        );
        let row = sqlx::query(&sql)
            .bind(d.report.0)
            .bind(&d.decision)
            .bind(&d.rule)
            .bind(&d.policy_version)
            .bind(&d.product_key)
            .bind(&d.referral_cna)
            .bind(i64::from(d.overridden))
            .bind(d.reason.trim())
            .bind(canonical_json(&d.input))
            .bind(canonical_json(&d.proposal))
            .bind(member.0)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let saved = rows::scope_decision(&row)?;
        append_audit(
            &mut tx,
            EventDraft::new("scope.decided")
                .report(d.report)
                .payload(json!({
                    "decision": d.decision,
                    "rule": d.rule,
                    "policy_version": d.policy_version,
                    "product": d.product_key,
                    "referral": d.referral_cna,
                    "overridden": d.overridden,
                    "proposed": d.proposal.get("decision"),
                    "proposed_rule": d.proposal.get("rule"),
                    "reason": d.reason.trim(),
                })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(saved)
    }

    async fn scope_decisions(
        &self,
        report: ReportId,
    ) -> StoreResult<Vec<cnadesk_store::ScopeDecision>> {
        let sql = format!(
            "SELECT {} FROM scope_decisions WHERE report_id = $1 ORDER BY id DESC",
            rows::SCOPE_COLUMNS
        );
        sqlx::query(&sql)
            .bind(report.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::scope_decision)
            .collect()
    }

    async fn latest_scope_decisions(&self) -> StoreResult<Vec<cnadesk_store::ScopeDecision>> {
        let sql = format!(
            "SELECT {} FROM scope_decisions WHERE id IN \
             (SELECT MAX(id) FROM scope_decisions GROUP BY report_id) ORDER BY report_id",
            rows::SCOPE_COLUMNS
        );
        sqlx::query(&sql)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::scope_decision)
            .collect()
    }

    async fn adopt_scope_policy(
        &self,
        version: &str,
        effective: &str,
        document: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let sha256 = sha256_hex(document.as_bytes());
        let mut tx = self.write_tx().await.map_err(db_err)?;
        // One statement decides: of two nodes adopting at once, one inserts,
        // the other (PostgreSQL: after waiting for it) finds the row.
        let inserted = sqlx::query(
            "INSERT INTO scope_policies (version, effective, sha256, document, adopted_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (version) DO NOTHING",
        )
        .bind(version)
        .bind(effective)
        .bind(&sha256)
        .bind(document)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected()
            == 1;
        if !inserted {
            let (seen,): (String,) =
                sqlx::query_as("SELECT sha256 FROM scope_policies WHERE version = $1")
                    .bind(version)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if seen == sha256 {
                return Ok(false);
            }
            return Err(StoreError::Conflict(format!(
                "scope policy version {version} was adopted with different text; a changed policy needs a new version"
            )));
        }
        append_audit(
            &mut tx,
            EventDraft::new("scope.policy_adopted").payload(json!({
                "version": version,
                "effective": effective,
                "sha256": sha256,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn scope_policies(&self) -> StoreResult<Vec<cnadesk_store::PolicyVersion>> {
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT version, effective, sha256, document, adopted_at FROM scope_policies \
             ORDER BY adopted_at DESC, version DESC",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(version, effective, sha256, document, adopted_at_ms)| {
                cnadesk_store::PolicyVersion {
                    version,
                    effective,
                    sha256,
                    document,
                    adopted_at_ms,
                }
            })
            .collect())
    }

    async fn record_approvals(&self, case: CaseId) -> StoreResult<Vec<Approval>> {
        let sql = format!(
            "SELECT {} FROM record_approvals WHERE case_id = $1 ORDER BY version DESC, approved_at DESC",
            rows::APPROVAL_COLUMNS
        );
        sqlx::query(&sql)
            .bind(case.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::approval)
            .collect()
    }

    async fn upsert_cve_ids(
        &self,
        ids: &[ServiceCveId],
        case: Option<CaseId>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Vec<CveIdEntry>> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let out = upsert_cve_ids_in(&mut tx, ids, case, actor, now_ms).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(out)
    }

    async fn cve_ids(&self, filter: CveIdFilter) -> StoreResult<Vec<CveIdEntry>> {
        let sql = format!(
            "SELECT {} FROM cve_ids WHERE ($1 = 0 OR case_id = $2) AND ($3 = '' OR state = $3) \
             ORDER BY reserved_at DESC, cve_id DESC",
            rows::CVE_ID_COLUMNS
        );
        sqlx::query(&sql)
            .bind(i64::from(filter.case.is_some()))
            .bind(filter.case.map(|c| c.0).unwrap_or(0))
            .bind(filter.state.map(|s| s.as_str()).unwrap_or(""))
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::cve_id_entry)
            .collect()
    }

    async fn cve_id_entry(&self, id: &CveId) -> StoreResult<Option<CveIdEntry>> {
        let mut conn = self.reader.acquire().await.map_err(db_err)?;
        fetch_cve_id(&mut conn, id).await
    }

    async fn link_cve_id(
        &self,
        id: &CveId,
        case_id: CaseId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CveIdEntry> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let case = fetch_case(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(case_id.to_string()))?;
        let entry = fetch_cve_id(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        match entry.case_id {
            Some(c) if c == case_id => return Ok(entry),
            Some(c) => return Err(StoreError::Conflict(format!("{id} belongs to {c}"))),
            None => {}
        }
        let linked = sqlx::query(
            "UPDATE cve_ids SET case_id = $1, updated_at = $2 WHERE cve_id = $3 AND case_id IS NULL",
        )
        .bind(case_id.0)
        .bind(now_ms)
        .bind(id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if linked.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "{id} was linked to another case meanwhile"
            )));
        }
        adopt_as_case_id(&mut tx, &case, id, now_ms).await?;
        append_audit(
            &mut tx,
            EventDraft::new("cve.id_linked")
                .report(case.report_id)
                .case(case_id)
                .payload(json!({ "cve_id": id.as_str() })),
            actor,
            now_ms,
        )
        .await?;
        let entry = fetch_cve_id(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        tx.commit().await.map_err(db_err)?;
        Ok(entry)
    }

    async fn set_cve_id_disclosed(
        &self,
        id: &CveId,
        disclosed_at_ms: Option<i64>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CveIdEntry> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let entry = fetch_cve_id(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        sqlx::query("UPDATE cve_ids SET disclosed_at = $1, updated_at = $2 WHERE cve_id = $3")
            .bind(disclosed_at_ms)
            .bind(now_ms)
            .bind(id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut draft = EventDraft::new("cve.disclosed_set").payload(json!({
            "cve_id": id.as_str(),
            "disclosed_at": disclosed_at_ms,
            "previous": entry.disclosed_at_ms,
        }));
        if let Some(c) = entry.case_id {
            draft = draft.case(c);
            if let Some(case) = fetch_case(&mut tx, c).await? {
                draft = draft.report(case.report_id);
            }
        }
        append_audit(&mut tx, draft, actor, now_ms).await?;
        let entry = fetch_cve_id(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        tx.commit().await.map_err(db_err)?;
        Ok(entry)
    }

    async fn enqueue_job(&self, job: NewJob, actor: &Actor, now_ms: i64) -> StoreResult<Job> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let job = insert_job(&mut tx, job, actor, now_ms).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(job)
    }

    async fn request_publication(
        &self,
        request: PublicationRequest,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Job> {
        let case_id = request.case_id;
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let case = fetch_case(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(case_id.to_string()))?;
        let latest = latest_version(&mut tx, case_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("a record of {case_id}")))?;
        // Under a running embargo nothing is published: the lift queues it.
        let embargoed = sqlx::query(
            "SELECT 1 AS one FROM embargoes WHERE case_id = $1 AND lifted_at IS NULL \
             AND broken_at IS NULL",
        )
        .bind(case_id.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        if embargoed.is_some() {
            return Err(StoreError::Rejected(
                "the case is under embargo; its approved record is published when the embargo lifts"
                    .into(),
            ));
        }
        if latest.version != request.version {
            return Err(StoreError::Conflict(format!(
                "version {} was saved after version {}; approve and publish the latest",
                latest.version, request.version
            )));
        }
        if !latest.publishable() {
            return Err(StoreError::Rejected(
                "this version does not pass the checks (schema or CNA rules)".into(),
            ));
        }
        let approvers: Vec<i64> = sqlx::query(
            "SELECT approver_id FROM record_approvals WHERE case_id = $1 AND version = $2 AND sha256 = $3 \
             AND approver_id NOT IN (SELECT user_id FROM recusals WHERE case_id = $1)",
        )
        .bind(case_id.0)
        .bind(latest.version)
        .bind(&latest.sha256)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| r.try_get("approver_id").map_err(db_err))
        .collect::<StoreResult<_>>()?;
        if !approvers.iter().any(|a| *a != latest.author.0) {
            return Err(StoreError::Rejected(format!(
                "version {} needs the approval of a second member before it can be published",
                latest.version
            )));
        }
        let entry = fetch_cve_id(&mut tx, &latest.cve_id).await?.ok_or_else(|| {
            StoreError::Rejected(format!(
                "{} is not among the organization's IDs known to the desk; reserve it here or refresh the ID list",
                latest.cve_id
            ))
        })?;
        match entry.case_id {
            Some(c) if c != case_id => {
                return Err(StoreError::Rejected(format!(
                    "{} belongs to {c}",
                    latest.cve_id
                )))
            }
            _ => {}
        }
        if entry.state == CveIdState::Published && entry.published_version == Some(latest.version) {
            return Err(StoreError::Conflict(format!(
                "version {} is what CVE Services publishes already",
                latest.version
            )));
        }
        if entry.case_id.is_none() {
            sqlx::query(
                "UPDATE cve_ids SET case_id = $1, updated_at = $2 WHERE cve_id = $3 AND case_id IS NULL",
            )
            .bind(case_id.0)
            .bind(now_ms)
            .bind(latest.cve_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        let kind = match entry.state {
            CveIdState::Reserved => JobKind::CvePublish,
            CveIdState::Published => JobKind::CveUpdate,
            CveIdState::Rejected => {
                return Err(StoreError::Rejected(format!(
                    "{} is rejected; it cannot be published",
                    latest.cve_id
                )))
            }
        };
        let job = insert_job(
            &mut tx,
            NewJob {
                kind,
                case_id: Some(case_id),
                subject: format!("cve:{}", latest.cve_id),
                payload: json!({
                    "cve_id": latest.cve_id.as_str(),
                    "version": latest.version,
                    "sha256": latest.sha256,
                }),
            },
            actor,
            now_ms,
        )
        .await?;
        append_audit(
            &mut tx,
            EventDraft::new("record.publication_requested")
                .report(case.report_id)
                .case(case_id)
                .payload(json!({
                    "job": job.id,
                    "kind": kind.as_str(),
                    "cve_id": latest.cve_id.as_str(),
                    "version": latest.version,
                    "sha256": latest.sha256,
                })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(job)
    }

    async fn job(&self, id: i64) -> StoreResult<Option<Job>> {
        let mut conn = self.reader.acquire().await.map_err(db_err)?;
        fetch_job(&mut conn, id).await
    }

    async fn jobs(&self, filter: JobFilter) -> StoreResult<Vec<Job>> {
        let sql = format!(
            "SELECT {} FROM jobs WHERE ($1 = 0 OR case_id = $2) \
             AND ($3 = 0 OR state IN ('queued', 'running')) ORDER BY id DESC LIMIT $4",
            rows::JOB_COLUMNS
        );
        sqlx::query(&sql)
            .bind(i64::from(filter.case.is_some()))
            .bind(filter.case.map(|c| c.0).unwrap_or(0))
            .bind(i64::from(filter.open_only))
            .bind(if filter.limit > 0 { filter.limit } else { 100 })
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::job)
            .collect()
    }

    async fn due_jobs(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<Job>> {
        let sql = format!(
            "SELECT {} FROM jobs WHERE (state = 'queued' AND next_attempt_at <= $1) \
             OR (state = 'running' AND lease_until < $1) ORDER BY next_attempt_at, id LIMIT $2",
            rows::JOB_COLUMNS
        );
        sqlx::query(&sql)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::job)
            .collect()
    }

    async fn claim_job(
        &self,
        id: i64,
        lease_until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Option<Job>> {
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_until = $1, \
             updated_at = $2 WHERE id = $3 AND (state = 'queued' \
             OR (state = 'running' AND lease_until < $2)) RETURNING {}",
            rows::JOB_COLUMNS
        );
        sqlx::query(&sql)
            .bind(lease_until_ms)
            .bind(now_ms)
            .bind(id)
            .fetch_optional(&self.writer)
            .await
            .map_err(db_err)?
            .map(|r| rows::job(&r))
            .transpose()
    }

    async fn finish_job(
        &self,
        id: i64,
        attempt: i64,
        outcome: JobOutcome,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Job> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let job = fetch_job(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
        if job.state != JobState::Running || job.attempts != attempt {
            return Err(StoreError::Conflict(format!(
                "attempt {attempt} of job {id} no longer holds it"
            )));
        }
        let (state, next_at, error, result) = match &outcome {
            JobOutcome::Done { result, .. } => (
                JobState::Done,
                job.next_attempt_at_ms,
                String::new(),
                Some(result.to_string()),
            ),
            JobOutcome::Retry { error, at_ms } => (JobState::Queued, *at_ms, error.clone(), None),
            JobOutcome::Failed { error } => (
                JobState::Failed,
                job.next_attempt_at_ms,
                error.clone(),
                None,
            ),
        };
        // Fenced on the attempt: a runner whose lease was taken over cannot
        // overwrite the new attempt's state, whatever the isolation level.
        let updated = sqlx::query(
            "UPDATE jobs SET state = $1, next_attempt_at = $2, lease_until = NULL, \
             last_error = $3, result = $4, updated_at = $5 \
             WHERE id = $6 AND state = 'running' AND attempts = $7",
        )
        .bind(state.as_str())
        .bind(next_at)
        .bind(&error)
        .bind(result)
        .bind(now_ms)
        .bind(id)
        .bind(attempt)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "attempt {attempt} of job {id} no longer holds it"
            )));
        }
        let report = match job.case_id {
            Some(c) => fetch_case(&mut tx, c).await?.map(|c| c.report_id),
            None => None,
        };
        let draft = |action: &str, payload: serde_json::Value| {
            let mut d = EventDraft::new(action).payload(payload);
            if let Some(c) = job.case_id {
                d = d.case(c);
            }
            if let Some(r) = report {
                d = d.report(r);
            }
            d
        };
        match outcome {
            JobOutcome::Done { effect, .. } => {
                apply_effect(&mut tx, &job, effect, actor, now_ms, &draft).await?
            }
            JobOutcome::Failed { error } => {
                append_audit(
                    &mut tx,
                    draft(
                        "job.failed",
                        json!({ "job": id, "kind": job.kind.as_str(), "subject": job.subject, "error": error }),
                    ),
                    actor,
                    now_ms,
                )
                .await?;
            }
            JobOutcome::Retry { .. } => {}
        }
        let job = fetch_job(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
        tx.commit().await.map_err(db_err)?;
        Ok(job)
    }

    async fn enqueue_messages(
        &self,
        messages: Vec<NewOutboxMessage>,
        cursor: Option<(&str, i64)>,
        now_ms: i64,
    ) -> StoreResult<usize> {
        self.notify_enqueue(messages, cursor, now_ms).await
    }

    async fn notify_cursor(&self, name: &str) -> StoreResult<i64> {
        self.notify_cursor_at(name).await
    }

    async fn outbox(&self, filter: OutboxFilter) -> StoreResult<Vec<OutboxMessage>> {
        self.notify_outbox(filter).await
    }

    async fn due_messages(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
        self.notify_due(now_ms, limit).await
    }

    async fn claim_message(
        &self,
        id: i64,
        lease_until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Option<OutboxMessage>> {
        self.notify_claim(id, lease_until_ms, now_ms).await
    }

    async fn finish_message(
        &self,
        id: i64,
        attempt: i64,
        outcome: DeliveryOutcome,
        now_ms: i64,
    ) -> StoreResult<OutboxMessage> {
        self.notify_finish(id, attempt, outcome, now_ms).await
    }

    async fn retry_message(&self, id: i64, actor: &Actor, now_ms: i64) -> StoreResult<()> {
        self.notify_retry(id, actor, now_ms).await
    }

    async fn member_contacts(&self) -> StoreResult<Vec<MemberContact>> {
        self.notify_contacts().await
    }

    async fn save_member_contact(
        &self,
        contact: MemberContact,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.notify_save_contact(contact, actor, now_ms).await
    }

    async fn notification_prefs(&self) -> StoreResult<Vec<NotificationPref>> {
        self.notify_prefs().await
    }

    async fn save_notification_prefs(
        &self,
        user: UserId,
        prefs: Vec<NotificationPref>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.notify_save_prefs(user, prefs, actor, now_ms).await
    }

    async fn inbound_mail(&self, message_id_hash: &str) -> StoreResult<Option<ReportId>> {
        self.notify_inbound(message_id_hash).await
    }

    async fn file_inbound_mail(
        &self,
        message_id_hash: &str,
        filing: InboundFiling,
        now_ms: i64,
    ) -> StoreResult<(ReportId, bool)> {
        self.notify_file_inbound(message_id_hash, filing, now_ms)
            .await
    }

    async fn quarantine_mail(&self, mail: NewQuarantined, now_ms: i64) -> StoreResult<i64> {
        self.notify_quarantine(mail, now_ms).await
    }

    async fn quarantined_mail(&self, include_released: bool) -> StoreResult<Vec<Quarantined>> {
        self.notify_quarantined_list(include_released).await
    }

    async fn quarantined(&self, id: i64) -> StoreResult<Option<Quarantined>> {
        self.notify_quarantined_one(id).await
    }

    async fn release_quarantined(&self, id: i64, actor: &Actor, now_ms: i64) -> StoreResult<()> {
        self.notify_release(id, actor, now_ms).await
    }

    // ---- coordination (coordination.rs) ------------------------------------------

    async fn add_vulnerability(
        &self,
        vulnerability: NewVulnerability,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Vulnerability> {
        self.coord_add_vulnerability(vulnerability, actor, now_ms)
            .await
    }

    async fn vulnerabilities(&self, case: CaseId) -> StoreResult<Vec<Vulnerability>> {
        self.coord_vulnerabilities(case).await
    }

    async fn choose_cve_count(
        &self,
        case: CaseId,
        vulnerability: i64,
        choice: CountChoice,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.coord_choose_cve_count(case, vulnerability, choice, actor, now_ms)
            .await
    }

    async fn add_affected_products(
        &self,
        case: CaseId,
        vulnerability: i64,
        products: Vec<(String, String)>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<usize> {
        self.coord_add_affected_products(case, vulnerability, products, actor, now_ms)
            .await
    }

    async fn affected_products(&self, case: CaseId) -> StoreResult<Vec<AffectedProduct>> {
        self.coord_affected_products(case).await
    }

    async fn update_affected_product(
        &self,
        case: CaseId,
        row: i64,
        update: ProductUpdate,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<AffectedProduct> {
        self.coord_update_affected_product(case, row, update, actor, now_ms)
            .await
    }

    async fn share_affected_product(
        &self,
        case: CaseId,
        row: i64,
        shared: bool,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.coord_share_affected_product(case, row, shared, actor, now_ms)
            .await
    }

    async fn invite_vendor(
        &self,
        invitation: NewInvitation,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Participant> {
        self.coord_invite_vendor(invitation, actor, now_ms).await
    }

    async fn participants(&self, case: CaseId) -> StoreResult<Vec<Participant>> {
        self.coord_participants(case).await
    }

    async fn participations(&self, vendor: VendorId) -> StoreResult<Vec<Participant>> {
        self.coord_participations(vendor).await
    }

    async fn invitation(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Participant>> {
        self.coord_invitation(token_hash, now_ms).await
    }

    async fn accept_invitation(
        &self,
        token_hash: &str,
        vendor: VendorId,
        now_ms: i64,
    ) -> StoreResult<Participant> {
        self.coord_accept_invitation(token_hash, vendor, now_ms)
            .await
    }

    async fn acknowledge_embargo(
        &self,
        participant: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<bool> {
        self.coord_acknowledge_embargo(participant, actor, now_ms)
            .await
    }

    async fn remind_vendor(
        &self,
        participant: i64,
        new_link: Option<(String, i64)>,
        outbox: Option<NewOutboxMessage>,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.coord_remind_vendor(participant, new_link, outbox, now_ms)
            .await
    }

    async fn create_vendor_account(
        &self,
        account: NewVendorAccount,
        now_ms: i64,
    ) -> StoreResult<VendorAccount> {
        self.coord_create_vendor_account(account, now_ms).await
    }

    async fn vendor_account(&self, id: VendorId) -> StoreResult<Option<VendorAccount>> {
        self.coord_vendor_account(id).await
    }

    async fn vendor_credentials(
        &self,
        email: &str,
    ) -> StoreResult<Option<(VendorAccount, String)>> {
        self.coord_vendor_credentials(email).await
    }

    async fn create_vendor_session(
        &self,
        id_hash: &str,
        vendor: VendorId,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.coord_create_vendor_session(id_hash, vendor, expires_at_ms, now_ms)
            .await
    }

    async fn vendor_session(
        &self,
        id_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<VendorAccount>> {
        self.coord_vendor_session(id_hash, now_ms).await
    }

    async fn delete_vendor_session(&self, id_hash: &str) -> StoreResult<()> {
        self.coord_delete_vendor_session(id_hash).await
    }

    async fn embargo(&self, case: CaseId) -> StoreResult<Option<Embargo>> {
        self.coord_embargo(case).await
    }

    async fn set_embargo(
        &self,
        case: CaseId,
        ends_at_ms: i64,
        reason: &str,
        consent_policy: bool,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<EmbargoOutcome> {
        self.coord_set_embargo(case, ends_at_ms, reason, consent_policy, actor, now_ms)
            .await
    }

    async fn consent_embargo(
        &self,
        participant: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<EmbargoOutcome> {
        self.coord_consent_embargo(participant, actor, now_ms).await
    }

    async fn break_embargo(
        &self,
        case: CaseId,
        disclosed_at_ms: i64,
        note: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.coord_break_embargo(case, disclosed_at_ms, note, actor, now_ms)
            .await
    }

    async fn due_embargo_lifts(&self, now_ms: i64) -> StoreResult<Vec<Embargo>> {
        self.coord_due_embargo_lifts(now_ms).await
    }

    async fn lift_embargo(&self, case: CaseId, actor: &Actor, now_ms: i64) -> StoreResult<bool> {
        self.coord_lift_embargo(case, actor, now_ms).await
    }

    async fn mark_publication_queued(&self, case: CaseId, now_ms: i64) -> StoreResult<()> {
        self.coord_mark_publication_queued(case, now_ms).await
    }

    async fn lifted_awaiting_publication(&self) -> StoreResult<Vec<Embargo>> {
        self.coord_lifted_awaiting_publication().await
    }

    async fn advisory(&self, case: CaseId) -> StoreResult<Option<Advisory>> {
        self.coord_advisory(case).await
    }

    async fn advisories(&self) -> StoreResult<Vec<Advisory>> {
        self.coord_advisories().await
    }

    async fn add_case_message(
        &self,
        case: CaseId,
        participant: Option<i64>,
        author: &str,
        body: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CaseMessage> {
        self.coord_add_case_message(case, participant, author, body, actor, now_ms)
            .await
    }

    async fn case_messages(
        &self,
        case: CaseId,
        threads: Option<&[i64]>,
    ) -> StoreResult<Vec<CaseMessage>> {
        self.coord_case_messages(case, threads).await
    }

    async fn add_case_file(
        &self,
        file: NewCaseFile,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CaseFile> {
        self.coord_add_case_file(file, actor, now_ms).await
    }

    async fn case_files(&self, case: CaseId) -> StoreResult<Vec<CaseFile>> {
        self.coord_case_files(case).await
    }

    async fn case_file(&self, case: CaseId, id: i64) -> StoreResult<Option<(CaseFile, Vec<u8>)>> {
        self.coord_case_file(case, id).await
    }

    async fn audit_head(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_one(&self.reader)
            .await
            .map_err(db_err)?;
        row.try_get("seq").map_err(db_err)
    }

    async fn record_event(
        &self,
        draft: EventDraft,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<AuditEvent> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let event = append_audit(&mut tx, draft, actor, now_ms).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(event)
    }

    async fn audit_events(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
            rows::AUDIT_COLUMNS
        );
        sqlx::query(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::audit_event)
            .collect()
    }

    async fn profiles(&self) -> StoreResult<Vec<Profile>> {
        self.team_profiles().await
    }

    async fn save_profile(&self, profile: Profile, actor: &Actor, now_ms: i64) -> StoreResult<()> {
        self.team_save_profile(profile, actor, now_ms).await
    }

    async fn absences(&self) -> StoreResult<Vec<Absence>> {
        self.team_absences().await
    }

    async fn add_absence(
        &self,
        absence: Absence,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Absence> {
        self.team_add_absence(absence, actor, now_ms).await
    }

    async fn remove_absence(
        &self,
        id: i64,
        user: UserId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.team_remove_absence(id, user, actor, now_ms).await
    }

    async fn affiliations(&self) -> StoreResult<Vec<Affiliation>> {
        self.team_affiliations().await
    }

    async fn declare_affiliation(
        &self,
        affiliation: Affiliation,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Affiliation> {
        self.team_declare_affiliation(affiliation, actor, now_ms)
            .await
    }

    async fn withdraw_affiliation(
        &self,
        id: i64,
        user: UserId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.team_withdraw_affiliation(id, user, actor, now_ms)
            .await
    }

    async fn recusals(&self, case: Option<CaseId>) -> StoreResult<Vec<Recusal>> {
        self.team_recusals(case).await
    }

    async fn recuse(&self, recusal: Recusal, actor: &Actor, now_ms: i64) -> StoreResult<bool> {
        self.team_recuse(recusal, actor, now_ms).await
    }

    async fn shift(&self, id: i64) -> StoreResult<Option<Shift>> {
        self.team_shift(id).await
    }

    async fn shifts(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<Shift>> {
        self.team_shifts(from_ms, to_ms).await
    }

    async fn plan_rota(
        &self,
        shifts: Vec<(UserId, i64, i64)>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.team_plan_rota(shifts, actor, now_ms).await
    }

    async fn hand_over(
        &self,
        shift: i64,
        note: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.team_hand_over(shift, note, actor, now_ms).await
    }

    async fn last_assignments(&self) -> StoreResult<Vec<(UserId, i64)>> {
        self.team_last_assignments().await
    }

    async fn audit_events_for_reports(&self, reports: &[ReportId]) -> StoreResult<Vec<AuditEvent>> {
        self.events_for_reports(reports).await
    }

    async fn audit_events_by_actions(
        &self,
        actions: &[&str],
        since_ms: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        self.events_by_actions(actions, since_ms).await
    }

    async fn append_transparency(
        &self,
        entries: Vec<cnadesk_store::NewTransparencyEntry>,
        cursor: Option<(&str, i64)>,
    ) -> StoreResult<usize> {
        self.tlog_append(entries, cursor).await
    }

    async fn transparency_entries(
        &self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<cnadesk_store::TransparencyRow>> {
        self.tlog_entries(after, limit).await
    }

    async fn transparency_last(&self) -> StoreResult<Option<cnadesk_store::TransparencyRow>> {
        self.tlog_last().await
    }

    async fn sealed_transparency_subjects(
        &self,
    ) -> StoreResult<Vec<(Option<CaseId>, Option<ReportId>)>> {
        self.tlog_sealed_subjects().await
    }

    async fn reveal_transparency(
        &self,
        case: Option<CaseId>,
        report: Option<ReportId>,
        revealed_at: &str,
    ) -> StoreResult<usize> {
        self.tlog_reveal(case, report, revealed_at).await
    }

    async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        until: i64,
        now: i64,
    ) -> StoreResult<bool> {
        self.lease_take(name, holder, until, now).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.lease_release(name, holder).await
    }

    async fn leases(&self) -> StoreResult<Vec<cnadesk_store::Lease>> {
        self.lease_list().await
    }

    async fn renew_job_lease(&self, id: i64, attempt: i64, until: i64) -> StoreResult<bool> {
        self.job_lease_renew(id, attempt, until).await
    }

    async fn audit_events_for_report(&self, report: ReportId) -> StoreResult<Vec<AuditEvent>> {
        let sql = format!(
            "SELECT {} FROM audit_events WHERE report_id = $1 ORDER BY seq",
            rows::AUDIT_COLUMNS
        );
        sqlx::query(&sql)
            .bind(report.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::audit_event)
            .collect()
    }
}

async fn latest_version(
    conn: &mut AnyConnection,
    case: CaseId,
) -> StoreResult<Option<RecordVersion>> {
    let sql = format!(
        "SELECT {} FROM record_versions WHERE case_id = $1 ORDER BY version DESC LIMIT 1",
        rows::RECORD_COLUMNS
    );
    sqlx::query(&sql)
        .bind(case.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .map(|r| rows::record_version(&r))
        .transpose()
}

async fn fetch_record_version(
    conn: &mut AnyConnection,
    case: CaseId,
    version: i64,
) -> StoreResult<Option<RecordVersion>> {
    let sql = format!(
        "SELECT {} FROM record_versions WHERE case_id = $1 AND version = $2",
        rows::RECORD_COLUMNS
    );
    sqlx::query(&sql)
        .bind(case.0)
        .bind(version)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .map(|r| rows::record_version(&r))
        .transpose()
}

async fn fetch_cve_id(conn: &mut AnyConnection, id: &CveId) -> StoreResult<Option<CveIdEntry>> {
    let sql = format!(
        "SELECT {} FROM cve_ids WHERE cve_id = $1",
        rows::CVE_ID_COLUMNS
    );
    sqlx::query(&sql)
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .map(|r| rows::cve_id_entry(&r))
        .transpose()
}

async fn fetch_job(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<Job>> {
    let sql = format!("SELECT {} FROM jobs WHERE id = $1", rows::JOB_COLUMNS);
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .map(|r| rows::job(&r))
        .transpose()
}

async fn insert_job(
    conn: &mut AnyConnection,
    job: NewJob,
    actor: &Actor,
    now_ms: i64,
) -> StoreResult<Job> {
    let sql = format!(
        "INSERT INTO jobs (kind, case_id, subject, payload, state, next_attempt_at, requested_by, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, 'queued', $5, $6, $5, $5) RETURNING {}",
        rows::JOB_COLUMNS
    );
    let subject = job.subject.clone();
    let row = sqlx::query(&sql)
        .bind(job.kind.as_str())
        .bind(job.case_id.map(|c| c.0))
        .bind(&job.subject)
        .bind(job.payload.to_string())
        .bind(now_ms)
        .bind(actor.to_key())
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict(format!(
                "another operation on {} is still in progress",
                subject.trim_start_matches("cve:")
            )),
            other => other,
        })?;
    rows::job(&row)
}

/// The case takes `id` as its CVE ID when it has none (and no other case has it).
async fn adopt_as_case_id(
    conn: &mut AnyConnection,
    case: &Case,
    id: &CveId,
    now_ms: i64,
) -> StoreResult<()> {
    if case.cve_id.is_some() {
        return Ok(());
    }
    let taken = sqlx::query("SELECT id FROM cases WHERE cve_id = $1")
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    if taken.is_none() {
        sqlx::query("UPDATE cases SET cve_id = $1, updated_at = $2 WHERE id = $3")
            .bind(id.as_str())
            .bind(now_ms)
            .bind(case.id.0)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

async fn upsert_cve_ids_in(
    conn: &mut AnyConnection,
    ids: &[ServiceCveId],
    case_id: Option<CaseId>,
    actor: &Actor,
    now_ms: i64,
) -> StoreResult<Vec<CveIdEntry>> {
    let case = match case_id {
        Some(c) => Some(
            fetch_case(&mut *conn, c)
                .await?
                .ok_or_else(|| StoreError::NotFound(c.to_string()))?,
        ),
        None => None,
    };
    let mut added = Vec::new();
    let mut changed = Vec::new();
    let mut out = Vec::new();
    for id in ids {
        match fetch_cve_id(&mut *conn, &id.cve_id).await? {
            None => {
                sqlx::query(
                    "INSERT INTO cve_ids (cve_id, case_id, state, reserved_at, reserved_by, updated_at, \
                     published_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(id.cve_id.as_str())
                .bind(case_id.map(|c| c.0))
                .bind(id.state.as_str())
                .bind(id.reserved_at_ms)
                .bind(&id.reserved_by)
                .bind(now_ms)
                .bind((id.state == CveIdState::Published).then_some(now_ms))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
                added.push(id.cve_id.as_str().to_owned());
            }
            Some(known) => {
                let link = known.case_id.is_none() && case_id.is_some();
                if known.state != id.state || link {
                    // An ID found published (e.g. outside the desk) counts as
                    // published from now for the deadline.
                    sqlx::query(
                        "UPDATE cve_ids SET state = $1, case_id = COALESCE(case_id, $2), \
                         updated_at = $3, published_at = CASE WHEN $1 = 'published' \
                         THEN COALESCE(published_at, $3) ELSE published_at END WHERE cve_id = $4",
                    )
                    .bind(id.state.as_str())
                    .bind(case_id.map(|c| c.0))
                    .bind(now_ms)
                    .bind(id.cve_id.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(db_err)?;
                    changed.push(json!({
                        "cve_id": id.cve_id.as_str(),
                        "state": id.state.as_str(),
                        "was": known.state.as_str(),
                    }));
                }
            }
        }
        out.push(
            fetch_cve_id(&mut *conn, &id.cve_id)
                .await?
                .ok_or_else(|| StoreError::NotFound(id.cve_id.to_string()))?,
        );
    }
    if let (Some(case), Some(first)) = (&case, out.iter().find(|e| e.case_id == case_id)) {
        adopt_as_case_id(&mut *conn, case, &first.cve_id, now_ms).await?;
    }
    if !added.is_empty() || !changed.is_empty() {
        let mut draft = EventDraft::new("cve.ids_recorded")
            .payload(json!({ "added": added, "changed": changed }));
        if let Some(case) = &case {
            draft = draft.case(case.id).report(case.report_id);
        }
        append_audit(&mut *conn, draft, actor, now_ms).await?;
    }
    Ok(out)
}

async fn apply_effect(
    conn: &mut AnyConnection,
    job: &Job,
    effect: JobEffect,
    actor: &Actor,
    now_ms: i64,
    draft: &(dyn Fn(&str, serde_json::Value) -> EventDraft + Sync),
) -> StoreResult<()> {
    match effect {
        JobEffect::None => {
            append_audit(
                &mut *conn,
                draft(
                    "job.done",
                    json!({ "job": job.id, "kind": job.kind.as_str(), "subject": job.subject }),
                ),
                actor,
                now_ms,
            )
            .await?;
        }
        JobEffect::Reserved(ids) => {
            upsert_cve_ids_in(&mut *conn, &ids, job.case_id, actor, now_ms).await?;
            append_audit(
                &mut *conn,
                draft(
                    "cve.reserved",
                    json!({
                        "job": job.id,
                        "ids": ids.iter().map(|i| i.cve_id.as_str()).collect::<Vec<_>>(),
                    }),
                ),
                actor,
                now_ms,
            )
            .await?;
        }
        JobEffect::Published {
            cve_id,
            version,
            document,
        } => {
            let done = sqlx::query(
                "UPDATE cve_ids SET state = 'published', published_at = COALESCE(published_at, $1), \
                 published_version = $2, published_document = $3, updated_at = $1 WHERE cve_id = $4",
            )
            .bind(now_ms)
            .bind(version)
            .bind(&document)
            .bind(cve_id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(cve_id.to_string()));
            }
            let action = if job.kind == JobKind::CveUpdate {
                "cve.updated"
            } else {
                "cve.published"
            };
            append_audit(
                &mut *conn,
                draft(
                    action,
                    json!({
                        "job": job.id,
                        "cve_id": cve_id.as_str(),
                        "version": version,
                        "sha256": job.payload.get("sha256"),
                        "published_sha256": sha256_hex(document.as_bytes()),
                    }),
                ),
                actor,
                now_ms,
            )
            .await?;
        }
        JobEffect::Rejected { cve_id, reason } => {
            let done = sqlx::query(
                "UPDATE cve_ids SET state = 'rejected', rejected_reason = $1, updated_at = $2 \
                 WHERE cve_id = $3",
            )
            .bind(&reason)
            .bind(now_ms)
            .bind(cve_id.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound(cve_id.to_string()));
            }
            append_audit(
                &mut *conn,
                draft(
                    "cve.rejected",
                    json!({ "job": job.id, "cve_id": cve_id.as_str(), "reason": reason }),
                ),
                actor,
                now_ms,
            )
            .await?;
        }
    }
    Ok(())
}

fn credentials(row: &sqlx::any::AnyRow) -> StoreResult<UserCredentials> {
    Ok(UserCredentials {
        user: rows::user(row)?,
        password_hash: row.try_get("password_hash").map_err(db_err)?,
        totp_secret_enc: row.try_get("totp_secret_enc").map_err(db_err)?,
    })
}
