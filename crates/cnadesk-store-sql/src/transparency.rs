//! [`TransparencyStore`] over SQL: entries chained under the database's
//! constraints (`seq` and `prev_hash` are unique, so two appenders racing
//! cannot fork the chain: one of them fails and retries later).

use async_trait::async_trait;
use cnadesk_core::{CaseId, ReportId};
use cnadesk_store::{
    NewTransparencyEntry, StoreError, StoreResult, TransparencyEntry, TransparencyRow,
    TransparencyStore,
};
use cnadesk_transparency::{commitment, entry_hash, GENESIS};
use sqlx::any::AnyRow;

use crate::health::db_err;
use crate::notify::advance_cursor;
use crate::rows::{flag, get};
use crate::store::SqlStore;

const COLUMNS: &str =
    "seq, time, commitment, prev_hash, hash, content, salt, case_id, report_id, sealed, revealed_at";

fn row(r: &AnyRow) -> StoreResult<TransparencyRow> {
    let seq: i64 = get(r, "seq")?;
    let content: String = get(r, "content")?;
    let content = serde_json::from_str(&content)
        .map_err(|e| StoreError::Database(format!("transparency_log.content: {e}")))?;
    Ok(TransparencyRow {
        entry: TransparencyEntry {
            seq: u64::try_from(seq).unwrap_or(0),
            time: get(r, "time")?,
            commitment: get(r, "commitment")?,
            prev: get(r, "prev_hash")?,
            hash: get(r, "hash")?,
            content: Some(content),
            salt: Some(get(r, "salt")?),
            revealed: get(r, "revealed_at")?,
        },
        sealed: flag(r, "sealed")?,
        case_id: get::<Option<i64>>(r, "case_id")?.map(CaseId),
        report_id: get::<Option<i64>>(r, "report_id")?.map(ReportId),
    })
}

#[async_trait]
impl TransparencyStore for SqlStore {
    async fn append_transparency(
        &self,
        entries: Vec<NewTransparencyEntry>,
        cursor: Option<(&str, i64)>,
    ) -> StoreResult<usize> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let last = sqlx::query("SELECT seq, hash FROM transparency_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let (mut seq, mut prev): (i64, String) = match last {
            Some(r) => (get(&r, "seq")?, get(&r, "hash")?),
            None => (0, GENESIS.to_owned()),
        };
        let mut appended = 0;
        for e in entries {
            if let Some(audit) = e.audit_seq {
                let taken =
                    sqlx::query("SELECT 1 AS one FROM transparency_log WHERE audit_seq = $1")
                        .bind(audit)
                        .fetch_optional(&mut *tx)
                        .await
                        .map_err(db_err)?;
                if taken.is_some() {
                    continue;
                }
            }
            let committed = commitment(&e.salt, &e.content)
                .ok_or_else(|| StoreError::Rejected("the salt is not hex".into()))?;
            seq += 1;
            // RFC 3339 UTC, to the millisecond (the order within a second shows).
            let time = cnadesk_core::sla::timestamp(e.time_ms).to_string();
            let hash = entry_hash(u64::try_from(seq).unwrap_or(0), &time, &committed, &prev);
            sqlx::query(
                "INSERT INTO transparency_log (seq, time, commitment, prev_hash, hash, content, \
                 salt, case_id, report_id, audit_seq, sealed, revealed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)",
            )
            .bind(seq)
            .bind(&time)
            .bind(&committed)
            .bind(&prev)
            .bind(&hash)
            .bind(e.content.to_string())
            .bind(&e.salt)
            .bind(e.case_id.map(|c| c.0))
            .bind(e.report_id.map(|r| r.0))
            .bind(e.audit_seq)
            .bind(i64::from(e.sealed))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            prev = hash;
            appended += 1;
        }
        if let Some((name, at)) = cursor {
            advance_cursor(&mut tx, name, at).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(appended)
    }

    async fn transparency_entries(
        &self,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<TransparencyRow>> {
        let sql =
            format!("SELECT {COLUMNS} FROM transparency_log WHERE seq > $1 ORDER BY seq LIMIT $2");
        sqlx::query(&sql)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(row)
            .collect()
    }

    async fn transparency_last(&self) -> StoreResult<Option<TransparencyRow>> {
        let sql = format!("SELECT {COLUMNS} FROM transparency_log ORDER BY seq DESC LIMIT 1");
        sqlx::query(&sql)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(row)
            .transpose()
    }

    async fn sealed_transparency_subjects(
        &self,
    ) -> StoreResult<Vec<(Option<CaseId>, Option<ReportId>)>> {
        sqlx::query(
            "SELECT DISTINCT case_id, report_id FROM transparency_log WHERE sealed = 1 \
             ORDER BY case_id, report_id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| {
            Ok((
                get::<Option<i64>>(r, "case_id")?.map(CaseId),
                get::<Option<i64>>(r, "report_id")?.map(ReportId),
            ))
        })
        .collect()
    }

    async fn reveal_transparency(
        &self,
        case: Option<CaseId>,
        report: Option<ReportId>,
        revealed_at: &str,
    ) -> StoreResult<usize> {
        let done = sqlx::query(
            "UPDATE transparency_log SET sealed = 0, revealed_at = $1 \
             WHERE sealed = 1 AND (case_id = $2 OR report_id = $3)",
        )
        .bind(revealed_at)
        .bind(case.map(|c| c.0))
        .bind(report.map(|r| r.0))
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(0))
    }
}
