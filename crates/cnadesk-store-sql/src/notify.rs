//! [`NotifyStore`] over SQL: the outbox, members' contact details and
//! choices, inbound mail and the quarantine.

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::{Actor, ReportId, UserId};
use cnadesk_store::{
    Author, DeliveryOutcome, InboundFiling, JobState, MemberContact, NewMessage, NewOutboxMessage,
    NewQuarantined, NotificationPref, NotifyStore, OutboxFilter, OutboxMessage, Quarantined,
    StoreError, StoreResult, Visibility,
};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::health::db_err;
use crate::outbox::insert_outbox;
use crate::reports::{insert_attachments, insert_message, insert_report};
use crate::rows::{get, parsed};
use crate::store::{append_audit, fetch_user, SqlStore};

const OUTBOX_COLUMNS: &str = "id, dedupe_key, channel, recipient, template, report_id, case_id, \
     event_seq, context, sealed, state, attempts, next_attempt_at, lease_until, last_error, \
     created_at, updated_at, sent_at";
const QUARANTINE_COLUMNS: &str = "id, reason, mail_from, rcpt_to, size, received_at, released_at";

fn outbox_message(row: &AnyRow) -> StoreResult<OutboxMessage> {
    let context: String = get(row, "context")?;
    Ok(OutboxMessage {
        id: get(row, "id")?,
        dedupe_key: get(row, "dedupe_key")?,
        channel: parsed(row, "channel")?,
        recipient: get(row, "recipient")?,
        template: get(row, "template")?,
        report_id: get::<Option<i64>>(row, "report_id")?.map(ReportId),
        case_id: get::<Option<i64>>(row, "case_id")?.map(cnadesk_core::CaseId),
        event_seq: get(row, "event_seq")?,
        context: serde_json::from_str(&context).map_err(|e| StoreError::Database(e.to_string()))?,
        sealed: get(row, "sealed")?,
        state: parsed(row, "state")?,
        attempts: get(row, "attempts")?,
        next_attempt_at_ms: get(row, "next_attempt_at")?,
        lease_until_ms: get(row, "lease_until")?,
        last_error: get(row, "last_error")?,
        created_at_ms: get(row, "created_at")?,
        updated_at_ms: get(row, "updated_at")?,
        sent_at_ms: get(row, "sent_at")?,
    })
}

fn quarantined(row: &AnyRow, raw: Vec<u8>) -> StoreResult<Quarantined> {
    Ok(Quarantined {
        id: get(row, "id")?,
        reason: get(row, "reason")?,
        mail_from: get(row, "mail_from")?,
        rcpt_to: get(row, "rcpt_to")?,
        size: get(row, "size")?,
        raw,
        received_at_ms: get(row, "received_at")?,
        released_at_ms: get(row, "released_at")?,
    })
}

async fn fetch_outbox(conn: &mut AnyConnection, id: i64) -> StoreResult<Option<OutboxMessage>> {
    let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1");
    sqlx::query(&sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .map(|r| outbox_message(&r))
        .transpose()
}

/// Moves the fan-out cursor `name` to `seq`, never backwards: two fan-outs
/// racing cannot replay the log.
pub(crate) async fn advance_cursor(
    conn: &mut AnyConnection,
    name: &str,
    seq: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO notify_cursors (name, last_seq) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET last_seq = excluded.last_seq \
         WHERE notify_cursors.last_seq < excluded.last_seq",
    )
    .bind(name)
    .bind(seq)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl NotifyStore for SqlStore {
    async fn enqueue_messages(
        &self,
        messages: Vec<NewOutboxMessage>,
        cursor: Option<(&str, i64)>,
        now_ms: i64,
    ) -> StoreResult<usize> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let mut new = 0;
        for m in &messages {
            if insert_outbox(&mut tx, m, now_ms).await? {
                new += 1;
            }
        }
        if let Some((name, seq)) = cursor {
            advance_cursor(&mut tx, name, seq).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(new)
    }

    async fn notify_cursor(&self, name: &str) -> StoreResult<i64> {
        let row = sqlx::query("SELECT last_seq FROM notify_cursors WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        row.map(|r| get(&r, "last_seq"))
            .transpose()
            .map(|s| s.unwrap_or(0))
    }

    async fn outbox(&self, filter: OutboxFilter) -> StoreResult<Vec<OutboxMessage>> {
        let limit = if filter.limit > 0 { filter.limit } else { 100 };
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ($1 = '' OR state = $1) \
             AND ($2 = 0 OR report_id = $2) ORDER BY id DESC LIMIT $3"
        );
        sqlx::query(&sql)
            .bind(filter.state.map(|s| s.as_str()).unwrap_or(""))
            .bind(filter.report.map(|r| r.0).unwrap_or(0))
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(outbox_message)
            .collect()
    }

    async fn due_messages(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<OutboxMessage>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE (state = 'queued' AND next_attempt_at <= $1) \
             OR (state = 'running' AND lease_until < $1) ORDER BY next_attempt_at, id LIMIT $2"
        );
        sqlx::query(&sql)
            .bind(now_ms)
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(outbox_message)
            .collect()
    }

    async fn claim_message(
        &self,
        id: i64,
        lease_until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Option<OutboxMessage>> {
        let sql = format!(
            "UPDATE outbox SET state = 'running', attempts = attempts + 1, lease_until = $1, \
             updated_at = $2 WHERE id = $3 AND ((state = 'queued' AND next_attempt_at <= $2) \
             OR (state = 'running' AND lease_until < $2)) RETURNING {OUTBOX_COLUMNS}"
        );
        sqlx::query(&sql)
            .bind(lease_until_ms)
            .bind(now_ms)
            .bind(id)
            .fetch_optional(&self.writer)
            .await
            .map_err(db_err)?
            .map(|r| outbox_message(&r))
            .transpose()
    }

    async fn finish_message(
        &self,
        id: i64,
        attempt: i64,
        outcome: DeliveryOutcome,
        now_ms: i64,
    ) -> StoreResult<OutboxMessage> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let (state, next_at, error, sent_at) = match &outcome {
            DeliveryOutcome::Sent => (JobState::Done, None, String::new(), Some(now_ms)),
            DeliveryOutcome::Retry { error, at_ms } => {
                (JobState::Queued, Some(*at_ms), error.clone(), None)
            }
            DeliveryOutcome::Failed { error } => (JobState::Failed, None, error.clone(), None),
        };
        // Fenced on the attempt, like jobs: a sender whose lease was taken
        // over cannot overwrite the newer attempt.
        let updated = sqlx::query(
            "UPDATE outbox SET state = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
             lease_until = NULL, last_error = $3, sent_at = $4, updated_at = $5 \
             WHERE id = $6 AND state = 'running' AND attempts = $7",
        )
        .bind(state.as_str())
        .bind(next_at)
        .bind(&error)
        .bind(sent_at)
        .bind(now_ms)
        .bind(id)
        .bind(attempt)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "attempt {attempt} of message {id} no longer holds it"
            )));
        }
        let stored = fetch_outbox(&mut tx, id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("message {id}")))?;
        if stored.state == JobState::Failed {
            let mut draft = EventDraft::new(AuditAction::NotifyFailed).payload(json!({
                "message": id,
                "channel": stored.channel.as_str(),
                "template": stored.template,
                "attempts": stored.attempts,
                "error": stored.last_error,
            }));
            draft.report_id = stored.report_id.map(|r| r.0);
            draft.case_id = stored.case_id.map(|c| c.0);
            append_audit(&mut tx, draft, &Actor::system("notify"), now_ms).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn retry_message(&self, id: i64, actor: &Actor, now_ms: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let updated = sqlx::query(
            "UPDATE outbox SET state = 'queued', next_attempt_at = $1, last_error = '', updated_at = $1 \
             WHERE id = $2 AND state = 'failed'",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Rejected(format!(
                "message {id} is not a failed message"
            )));
        }
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::NotifyRetried).payload(json!({ "message": id })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn member_contacts(&self) -> StoreResult<Vec<MemberContact>> {
        sqlx::query("SELECT user_id, jid, openpgp_key FROM member_contacts ORDER BY user_id")
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| {
                Ok(MemberContact {
                    user: UserId(get(r, "user_id")?),
                    jid: get(r, "jid")?,
                    openpgp_key: get(r, "openpgp_key")?,
                })
            })
            .collect()
    }

    async fn save_member_contact(
        &self,
        contact: MemberContact,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        if fetch_user(&mut tx, contact.user).await?.is_none() {
            return Err(StoreError::NotFound(contact.user.to_string()));
        }
        sqlx::query(
            "INSERT INTO member_contacts (user_id, jid, openpgp_key, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET jid = excluded.jid, \
             openpgp_key = excluded.openpgp_key, updated_at = excluded.updated_at",
        )
        .bind(contact.user.0)
        .bind(&contact.jid)
        .bind(&contact.openpgp_key)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::TeamContactSaved).payload(json!({
                "user": contact.user.0,
                "jid": !contact.jid.is_empty(),
                "openpgp_key": !contact.openpgp_key.is_empty(),
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn notification_prefs(&self) -> StoreResult<Vec<NotificationPref>> {
        sqlx::query(
            "SELECT user_id, event, email, xmpp FROM notification_prefs ORDER BY user_id, event",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            Ok(NotificationPref {
                user: UserId(get(r, "user_id")?),
                event: get(r, "event")?,
                email: get::<i64>(r, "email")? != 0,
                xmpp: get::<i64>(r, "xmpp")? != 0,
            })
        })
        .collect()
    }

    async fn save_notification_prefs(
        &self,
        user: UserId,
        prefs: Vec<NotificationPref>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        if prefs.iter().any(|p| p.user != user) {
            return Err(StoreError::Rejected(
                "choices can only be saved for one member at a time".into(),
            ));
        }
        let mut tx = self.write_tx().await.map_err(db_err)?;
        sqlx::query("DELETE FROM notification_prefs WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for p in &prefs {
            sqlx::query(
                "INSERT INTO notification_prefs (user_id, event, email, xmpp, updated_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(user.0)
            .bind(&p.event)
            .bind(i64::from(p.email))
            .bind(i64::from(p.xmpp))
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        let summary: serde_json::Map<String, serde_json::Value> = prefs
            .iter()
            .map(|p| (p.event.clone(), json!({"email": p.email, "xmpp": p.xmpp})))
            .collect();
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::TeamNotificationsChosen)
                .payload(json!({ "user": user.0, "choices": summary })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn inbound_mail(&self, hash: &str) -> StoreResult<Option<ReportId>> {
        sqlx::query("SELECT report_id FROM inbound_mail WHERE message_id_hash = $1")
            .bind(hash)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| get(&r, "report_id").map(ReportId))
            .transpose()
    }

    async fn file_inbound_mail(
        &self,
        hash: &str,
        filing: InboundFiling,
        now_ms: i64,
    ) -> StoreResult<(ReportId, bool)> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let seen: Option<i64> =
            sqlx::query("SELECT report_id FROM inbound_mail WHERE message_id_hash = $1")
                .bind(hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?
                .map(|r| get(&r, "report_id"))
                .transpose()?;
        if let Some(id) = seen {
            return Ok((ReportId(id), false));
        }
        let report = match &filing {
            InboundFiling::NewReport(report) => insert_report(&mut tx, report, now_ms).await?,
            InboundFiling::Reply {
                report,
                body,
                attachments,
            } => {
                let actor = Actor::Reporter { report: *report };
                insert_message(
                    &mut tx,
                    &NewMessage {
                        report_id: *report,
                        author: Author::Reporter,
                        visibility: Visibility::Reporter,
                        body: body.clone(),
                    },
                    &actor,
                    now_ms,
                )
                .await?;
                let files = insert_attachments(&mut tx, *report, attachments, now_ms).await?;
                if !files.is_empty() {
                    append_audit(
                        &mut tx,
                        EventDraft::new(AuditAction::ReportFilesAdded)
                            .report(*report)
                            .payload(json!({ "attachments": files })),
                        &actor,
                        now_ms,
                    )
                    .await?;
                }
                *report
            }
        };
        // Unique: of two deliveries racing, the second fails here and rolls back.
        sqlx::query(
            "INSERT INTO inbound_mail (message_id_hash, report_id, received_at) VALUES ($1, $2, $3)",
        )
        .bind(hash)
        .bind(report.0)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok((report, true))
    }

    async fn quarantine_mail(&self, mail: NewQuarantined, now_ms: i64) -> StoreResult<i64> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let row = sqlx::query(
            "INSERT INTO mail_quarantine (reason, mail_from, rcpt_to, size, raw, received_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(&mail.reason)
        .bind(&mail.mail_from)
        .bind(&mail.rcpt_to)
        .bind(mail.raw.len() as i64)
        .bind(mail.raw.clone())
        .bind(now_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let id: i64 = get(&row, "id")?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::MailQuarantined).payload(json!({
                "quarantine": id,
                "reason": mail.reason,
                "size": mail.raw.len(),
            })),
            &Actor::system("mail"),
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(id)
    }

    async fn quarantined_mail(&self, include_released: bool) -> StoreResult<Vec<Quarantined>> {
        let sql = format!(
            "SELECT {QUARANTINE_COLUMNS} FROM mail_quarantine \
             WHERE ($1 = 1 OR released_at IS NULL) ORDER BY id DESC LIMIT 500"
        );
        sqlx::query(&sql)
            .bind(i64::from(include_released))
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| quarantined(r, Vec::new()))
            .collect()
    }

    async fn quarantined(&self, id: i64) -> StoreResult<Option<Quarantined>> {
        let sql = format!("SELECT {QUARANTINE_COLUMNS}, raw FROM mail_quarantine WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| {
                let raw: Vec<u8> = get(&r, "raw")?;
                quarantined(&r, raw)
            })
            .transpose()
    }

    async fn release_quarantined(&self, id: i64, actor: &Actor, now_ms: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let updated = sqlx::query(
            "UPDATE mail_quarantine SET released_at = $1 WHERE id = $2 AND released_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("quarantined mail {id}")));
        }
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::MailReleased).payload(json!({ "quarantine": id })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }
}
