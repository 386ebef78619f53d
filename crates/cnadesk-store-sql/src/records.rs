//! [`Records`] over SQL: CVE record versions and their approvals.

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, ContentSubject, EventDraft};
use cnadesk_core::{publication, Actor, CaseId, UserId};
use cnadesk_store::{Approval, NewRecordVersion, RecordVersion, Records, StoreError, StoreResult};
use serde_json::json;
use sqlx::{AnyConnection, Row};

use crate::health::db_err;
use crate::rows::{self, sha256_hex};
use crate::store::{append_audit, fetch_case, SqlStore};

pub(crate) async fn latest_version(
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

#[async_trait]
impl Records for SqlStore {
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
            EventDraft::new(AuditAction::RecordVersionSaved)
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
            EventDraft::new(AuditAction::RecordApproved)
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
}
