//! [`Audit`] over SQL: free-standing events and reading the chain.

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, AuditEvent, EventDraft};
use cnadesk_core::{Actor, ReportId};
use cnadesk_store::{Audit, StoreResult};
use sqlx::Row;

use crate::health::db_err;
use crate::rows;
use crate::store::{append_audit, SqlStore};

#[async_trait]
impl Audit for SqlStore {
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

    async fn audit_head(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_one(&self.reader)
            .await
            .map_err(db_err)?;
        row.try_get("seq").map_err(db_err)
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

    async fn audit_events_for_reports(&self, reports: &[ReportId]) -> StoreResult<Vec<AuditEvent>> {
        let mut out = Vec::new();
        for chunk in reports.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {} FROM audit_events WHERE report_id IN ({}) ORDER BY seq",
                rows::AUDIT_COLUMNS,
                placeholders.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for r in chunk {
                q = q.bind(r.0);
            }
            for row in q.fetch_all(&self.reader).await.map_err(db_err)? {
                out.push(rows::audit_event(&row)?);
            }
        }
        out.sort_by_key(|e| e.seq);
        Ok(out)
    }

    async fn audit_events_by_actions(
        &self,
        actions: &[AuditAction],
        since_ms: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        if actions.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (2..=actions.len() + 1).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {} FROM audit_events WHERE occurred_at >= $1 AND action IN ({}) ORDER BY seq",
            rows::AUDIT_COLUMNS,
            placeholders.join(", ")
        );
        let mut q = sqlx::query(&sql).bind(since_ms);
        for a in actions {
            q = q.bind(a.as_str());
        }
        q.fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(rows::audit_event)
            .collect()
    }
}
