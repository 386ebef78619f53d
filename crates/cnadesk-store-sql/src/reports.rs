//! [`Reports`] over SQL: reports, attachments and their threads.

use async_trait::async_trait;
use cnadesk_core::audit::{report_digest, AuditAction, ContentSubject, EventDraft};
use cnadesk_core::{Actor, AttachmentId, CaseId, CloseReason, ReportId, ReportState};
use cnadesk_store::{
    Attachment, AttachmentMeta, Author, CloseDecision, Message, NewAttachment, NewMessage,
    NewReport, Report, ReportFilter, ReportSummary, Reports, StoreError, StoreResult, Visibility,
};
use serde_json::json;
use sqlx::{AnyConnection, Row};

use crate::health::db_err;
use crate::outbox::insert_outbox;
use crate::rows::{self, sha256_hex};
use crate::store::{append_audit, changed_meanwhile, fetch_report, flag, SqlStore};

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
         credit, pgp_key, state, channel, tracking_hash, created_at, updated_at, fixed_version, cwe, \
         cvss_vector) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, \
         $20, $21, $22) \
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
    .bind(&f.fixed_version)
    .bind(&f.cwe)
    .bind(&f.cvss_vector)
    .fetch_one(&mut *conn)
    .await
    .map_err(db_err)?;
    let id = ReportId(row.try_get("id").map_err(db_err)?);
    let files = insert_attachments(conn, id, &report.attachments, now_ms).await?;
    append_audit(
        conn,
        EventDraft::new(AuditAction::ReportCreated)
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
        insert_outbox(conn, &message, now_ms).await?;
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
        Visibility::Reporter => AuditAction::MessageShared,
        Visibility::Internal => AuditAction::NoteAdded,
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

#[async_trait]
impl Reports for SqlStore {
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
            EventDraft::new(AuditAction::ReportClosed)
                .report(id)
                .payload(json!({
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
}
