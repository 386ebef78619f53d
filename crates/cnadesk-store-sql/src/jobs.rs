//! [`Jobs`] over SQL: the transactional outbox of CVE Services work.

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::Actor;
use cnadesk_store::{
    CveIdState, Job, JobEffect, JobFilter, JobKind, JobOutcome, JobState, Jobs, NewJob,
    PublicationRequest, StoreError, StoreResult,
};
use serde_json::json;
use sqlx::{AnyConnection, Row};

use crate::cve_ids::{fetch_cve_id, upsert_cve_ids_in};
use crate::health::db_err;
use crate::records::latest_version;
use crate::rows::{self, sha256_hex};
use crate::store::{append_audit, fetch_case, SqlStore};

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

async fn apply_effect(
    conn: &mut AnyConnection,
    job: &Job,
    effect: JobEffect,
    actor: &Actor,
    now_ms: i64,
    draft: &(dyn Fn(AuditAction, serde_json::Value) -> EventDraft + Sync),
) -> StoreResult<()> {
    match effect {
        JobEffect::None => {
            append_audit(
                &mut *conn,
                draft(
                    AuditAction::JobDone,
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
                    AuditAction::CveReserved,
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
                AuditAction::CveUpdated
            } else {
                AuditAction::CvePublished
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
                    AuditAction::CveRejected,
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

#[async_trait]
impl Jobs for SqlStore {
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
                "version {} was saved after version {}: approve and publish version {} instead",
                latest.version, request.version, latest.version
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
            EventDraft::new(AuditAction::RecordPublicationRequested)
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
        let draft = |action: AuditAction, payload: serde_json::Value| {
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
                        AuditAction::JobFailed,
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
}
