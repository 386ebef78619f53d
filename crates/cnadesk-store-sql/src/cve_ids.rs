//! [`CveIds`] over SQL: the CVE IDs the desk knows.

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::{Actor, CaseId, CveId};
use cnadesk_store::{
    Case, CveIdEntry, CveIdFilter, CveIdState, CveIds, ServiceCveId, StoreError, StoreResult,
};
use serde_json::json;
use sqlx::AnyConnection;

use crate::health::db_err;
use crate::rows;
use crate::store::{append_audit, fetch_case, SqlStore};

pub(crate) async fn fetch_cve_id(
    conn: &mut AnyConnection,
    id: &CveId,
) -> StoreResult<Option<CveIdEntry>> {
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

pub(crate) async fn upsert_cve_ids_in(
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
        let mut draft = EventDraft::new(AuditAction::CveIdsRecorded)
            .payload(json!({ "added": added, "changed": changed }));
        if let Some(case) = &case {
            draft = draft.case(case.id).report(case.report_id);
        }
        append_audit(&mut *conn, draft, actor, now_ms).await?;
    }
    Ok(out)
}

#[async_trait]
impl CveIds for SqlStore {
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
            EventDraft::new(AuditAction::CveIdLinked)
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
        let mut draft = EventDraft::new(AuditAction::CveDisclosedSet).payload(json!({
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
}
