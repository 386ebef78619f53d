//! [`Cases`] over SQL: accepting reports as cases, state, assignment.

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::{Actor, CaseId, CaseState, CveId, ReportId, ReportState, UserId};
use cnadesk_scope::Decision;
use cnadesk_store::{Case, CaseFilter, Cases, StoreError, StoreResult};
use serde_json::json;
use sqlx::Row;

use crate::health::db_err;
use crate::rows;
use crate::store::{
    append_audit, changed_meanwhile, fetch_case, fetch_report, fetch_user, flag, SqlStore,
};

#[async_trait]
impl Cases for SqlStore {
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
        let latest_scope = latest_scope
            .map(|(d,)| d.parse::<Decision>())
            .transpose()
            .map_err(|e| StoreError::Database(format!("decision: {e}")))?;
        if let Some(decision) = latest_scope.filter(|d| *d != Decision::InScope) {
            return Err(StoreError::Rejected(format!(
                "the scope decision on {report} is `{}`; record an in-scope decision before accepting it",
                decision.as_str()
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
            EventDraft::new(AuditAction::CaseOpened)
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
            EventDraft::new(AuditAction::CaseStateChanged)
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
            EventDraft::new(AuditAction::CaseAssigned)
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
            EventDraft::new(AuditAction::CaseCveIdSet)
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
}
