//! [`Coordination`] over SQL: vulnerabilities and their products, the
//! embargo, the coordination threads and files, and published advisories
//! (vendor contacts, invitations and accounts are in `vendors.rs`).
//!
//! Every change appends its audit event in its own transaction, with the case
//! and its report set, and a payload without secrets, e-mail addresses,
//! statements or message bodies (bodies and files by SHA-256).

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, ContentSubject, EventDraft};
use cnadesk_core::{Actor, CaseId, ReportId};
use cnadesk_store::{
    Advisory, AffectedProduct, CaseFile, CaseMessage, Coordination, CountChoice, Embargo,
    EmbargoOutcome, EmbargoProposal, NewCaseFile, NewVulnerability, ProductUpdate, StoreError,
    StoreResult, Vulnerability,
};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::AnyConnection;

use crate::health::db_err;
use crate::rows::{flag, get, json_column, parsed, sha256_hex};
use crate::store::{append_audit, fetch_case, SqlStore};

const VULNERABILITY_COLUMNS: &str = "id, case_id, title, summary, xeps, rfcs, secure_way_exists, \
     cve_count, count_reason, created_at, updated_at";
const PRODUCT_COLUMNS: &str = "id, vulnerability_id, case_id, product_key, product_name, status, \
     affected_versions, fixed_versions, statement, fix_released, shared, status_at, versions_at, \
     statement_at, updated_by";
const EMBARGO_COLUMNS: &str = "case_id, ends_at, reason, set_at, set_by, pending_ends_at, \
     pending_reason, pending_by, pending_at, lifted_at, broken_at, broken_note, \
     publication_queued_at";
const MESSAGE_COLUMNS: &str = "id, case_id, participant_id, author, actor, body, created_at";
const FILE_COLUMNS: &str =
    "id, case_id, participant_id, filename, content_type, size, sha256, uploaded_by, created_at";

fn vulnerability(row: &AnyRow) -> StoreResult<Vulnerability> {
    Ok(Vulnerability {
        id: get(row, "id")?,
        case_id: CaseId(get(row, "case_id")?),
        title: get(row, "title")?,
        summary: get(row, "summary")?,
        xeps: json_column(row, "xeps")?,
        rfcs: json_column(row, "rfcs")?,
        secure_way_exists: get::<Option<i64>>(row, "secure_way_exists")?.map(|b| b != 0),
        cve_count: get(row, "cve_count")?,
        count_reason: get(row, "count_reason")?,
        created_at_ms: get(row, "created_at")?,
        updated_at_ms: get(row, "updated_at")?,
    })
}

fn affected_product(row: &AnyRow) -> StoreResult<AffectedProduct> {
    Ok(AffectedProduct {
        id: get(row, "id")?,
        vulnerability_id: get(row, "vulnerability_id")?,
        case_id: CaseId(get(row, "case_id")?),
        product_key: get(row, "product_key")?,
        product_name: get(row, "product_name")?,
        status: parsed(row, "status")?,
        affected_versions: get(row, "affected_versions")?,
        fixed_versions: get(row, "fixed_versions")?,
        statement: get(row, "statement")?,
        fix_released: flag(row, "fix_released")?,
        shared: flag(row, "shared")?,
        status_at_ms: get(row, "status_at")?,
        versions_at_ms: get(row, "versions_at")?,
        statement_at_ms: get(row, "statement_at")?,
        updated_by: get(row, "updated_by")?,
    })
}

fn embargo(row: &AnyRow) -> StoreResult<Embargo> {
    let pending = match get::<Option<i64>>(row, "pending_ends_at")? {
        Some(ends_at_ms) => Some(EmbargoProposal {
            ends_at_ms,
            reason: get::<Option<String>>(row, "pending_reason")?.unwrap_or_default(),
            proposed_by: get::<Option<String>>(row, "pending_by")?.unwrap_or_default(),
            proposed_at_ms: get::<Option<i64>>(row, "pending_at")?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Embargo {
        case_id: CaseId(get(row, "case_id")?),
        ends_at_ms: get(row, "ends_at")?,
        reason: get(row, "reason")?,
        set_at_ms: get(row, "set_at")?,
        set_by: get(row, "set_by")?,
        pending,
        lifted_at_ms: get(row, "lifted_at")?,
        broken_at_ms: get(row, "broken_at")?,
        broken_note: get(row, "broken_note")?,
        publication_queued_at_ms: get(row, "publication_queued_at")?,
    })
}

fn case_message(row: &AnyRow) -> StoreResult<CaseMessage> {
    Ok(CaseMessage {
        id: get(row, "id")?,
        case_id: CaseId(get(row, "case_id")?),
        participant_id: get(row, "participant_id")?,
        author: get(row, "author")?,
        actor: get(row, "actor")?,
        body: get(row, "body")?,
        created_at_ms: get(row, "created_at")?,
    })
}

fn case_file(row: &AnyRow) -> StoreResult<CaseFile> {
    Ok(CaseFile {
        id: get(row, "id")?,
        case_id: CaseId(get(row, "case_id")?),
        participant_id: get(row, "participant_id")?,
        filename: get(row, "filename")?,
        content_type: get(row, "content_type")?,
        size: get(row, "size")?,
        sha256: get(row, "sha256")?,
        uploaded_by: get(row, "uploaded_by")?,
        created_at_ms: get(row, "created_at")?,
    })
}

/// The report of a case; `NotFound` when there is no such case.
pub(crate) async fn case_report(conn: &mut AnyConnection, case: CaseId) -> StoreResult<ReportId> {
    Ok(fetch_case(conn, case)
        .await?
        .ok_or_else(|| StoreError::NotFound(case.to_string()))?
        .report_id)
}

/// An event about a case, linked to the case and its report so that
/// notifications and the report's history find it.
pub(crate) fn case_event(action: AuditAction, case: CaseId, report: ReportId) -> EventDraft {
    EventDraft::new(action).case(case).report(report)
}

/// The case of a participant and the case's report.
pub(crate) async fn participant_case(
    conn: &mut AnyConnection,
    participant_id: i64,
) -> StoreResult<(CaseId, ReportId)> {
    let row = sqlx::query(
        "SELECT p.case_id AS case_id, c.report_id AS report_id FROM case_participants p \
         JOIN cases c ON c.id = p.case_id WHERE p.id = $1",
    )
    .bind(participant_id)
    .fetch_optional(&mut *conn)
    .await
    .map_err(db_err)?
    .ok_or_else(|| StoreError::NotFound(format!("participant {participant_id}")))?;
    Ok((
        CaseId(get(&row, "case_id")?),
        ReportId(get(&row, "report_id")?),
    ))
}

/// Checks that a thread named by a message or file is a participant of the case.
async fn check_thread(
    conn: &mut AnyConnection,
    case: CaseId,
    participant_id: Option<i64>,
) -> StoreResult<()> {
    let Some(p) = participant_id else {
        return Ok(());
    };
    sqlx::query("SELECT 1 AS one FROM case_participants WHERE id = $1 AND case_id = $2")
        .bind(p)
        .bind(case.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .map(|_| ())
        .ok_or_else(|| StoreError::NotFound(format!("participant {p} of {case}")))
}

/// Reads the embargo of a case and locks its row until the transaction ends
/// (a no-op update: PostgreSQL holds the row lock, SQLite has one writer), so
/// a decision taken on what was read cannot race another.
async fn lock_embargo(conn: &mut AnyConnection, case: CaseId) -> StoreResult<Option<Embargo>> {
    let sql = format!(
        "UPDATE embargoes SET set_at = set_at WHERE case_id = $1 RETURNING {EMBARGO_COLUMNS}"
    );
    sqlx::query(&sql)
        .bind(case.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .map(|r| embargo(&r))
        .transpose()
}

fn embargo_change_payload(previous_end: Option<i64>, end: i64, reason: &str) -> serde_json::Value {
    json!({ "previous_end": previous_end, "end": end, "reason": reason })
}

#[async_trait]
impl Coordination for SqlStore {
    async fn add_vulnerability(
        &self,
        v: NewVulnerability,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Vulnerability> {
        let title = v.title.trim();
        if title.is_empty() {
            return Err(StoreError::Rejected("a vulnerability needs a title".into()));
        }
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = case_report(&mut tx, v.case_id).await?;
        let sql = format!(
            "INSERT INTO vulnerabilities (case_id, title, summary, xeps, rfcs, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {VULNERABILITY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(v.case_id.0)
            .bind(title)
            .bind(&v.summary)
            .bind(json!(v.xeps).to_string())
            .bind(json!(v.rfcs).to_string())
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let stored = vulnerability(&row)?;
        append_audit(
            &mut tx,
            case_event(AuditAction::VulnerabilityAdded, v.case_id, report).payload(json!({
                "vulnerability": stored.id,
                "title": stored.title,
                "xeps": stored.xeps.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "rfcs": stored.rfcs,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn vulnerabilities(&self, case: CaseId) -> StoreResult<Vec<Vulnerability>> {
        let sql = format!(
            "SELECT {VULNERABILITY_COLUMNS} FROM vulnerabilities WHERE case_id = $1 ORDER BY created_at, id"
        );
        sqlx::query(&sql)
            .bind(case.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(vulnerability)
            .collect()
    }

    async fn choose_cve_count(
        &self,
        case: CaseId,
        vulnerability_id: i64,
        choice: CountChoice,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        if choice.count < 0 {
            return Err(StoreError::Rejected(
                "the number of CVE IDs cannot be negative".into(),
            ));
        }
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = case_report(&mut tx, case).await?;
        let n = sqlx::query(
            "UPDATE vulnerabilities SET secure_way_exists = $1, cve_count = $2, count_reason = $3, \
             updated_at = $4 WHERE id = $5 AND case_id = $6",
        )
        .bind(i64::from(choice.secure_way_exists))
        .bind(choice.count)
        .bind(&choice.reason)
        .bind(now_ms)
        .bind(vulnerability_id)
        .bind(case.0)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound(format!(
                "vulnerability {vulnerability_id} of {case}"
            )));
        }
        append_audit(
            &mut tx,
            case_event(AuditAction::VulnerabilityCountChosen, case, report).payload(json!({
                "vulnerability": vulnerability_id,
                "secure_way_exists": choice.secure_way_exists,
                "count": choice.count,
                "reason": choice.reason,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn add_affected_products(
        &self,
        case: CaseId,
        vulnerability_id: i64,
        products: Vec<(String, String)>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<usize> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = case_report(&mut tx, case).await?;
        let found = sqlx::query("SELECT id FROM vulnerabilities WHERE id = $1 AND case_id = $2")
            .bind(vulnerability_id)
            .bind(case.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        if found.is_none() {
            return Err(StoreError::NotFound(format!(
                "vulnerability {vulnerability_id} of {case}"
            )));
        }
        let mut added = Vec::new();
        for (key, name) in &products {
            let key = key.trim();
            if key.is_empty() {
                return Err(StoreError::Rejected(
                    "a product needs a registry key".into(),
                ));
            }
            let n = sqlx::query(
                "INSERT INTO affected_products (vulnerability_id, case_id, product_key, product_name, \
                 status, affected_versions, fixed_versions, statement, fix_released, shared) \
                 VALUES ($1, $2, $3, $4, 'unknown', '', '', '', 0, 0) \
                 ON CONFLICT (vulnerability_id, product_key) DO NOTHING",
            )
            .bind(vulnerability_id)
            .bind(case.0)
            .bind(key)
            .bind(name.trim())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if n == 1 {
                added.push(key.to_owned());
            }
        }
        if !added.is_empty() {
            sqlx::query("UPDATE vulnerabilities SET updated_at = $1 WHERE id = $2")
                .bind(now_ms)
                .bind(vulnerability_id)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            append_audit(
                &mut tx,
                case_event(AuditAction::VulnerabilityProductsAdded, case, report).payload(json!({
                    "vulnerability": vulnerability_id,
                    "products": added,
                })),
                actor,
                now_ms,
            )
            .await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(added.len())
    }

    async fn affected_products(&self, case: CaseId) -> StoreResult<Vec<AffectedProduct>> {
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM affected_products WHERE case_id = $1 \
             ORDER BY vulnerability_id, id"
        );
        sqlx::query(&sql)
            .bind(case.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(affected_product)
            .collect()
    }

    async fn update_affected_product(
        &self,
        case: CaseId,
        row_id: i64,
        update: ProductUpdate,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<AffectedProduct> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = case_report(&mut tx, case).await?;
        // Read and lock the row: the dates are stamped by comparing with
        // what is stored, so a concurrent update must wait.
        let sql = format!(
            "UPDATE affected_products SET shared = shared WHERE id = $1 AND case_id = $2 \
             RETURNING {PRODUCT_COLUMNS}"
        );
        let current = sqlx::query(&sql)
            .bind(row_id)
            .bind(case.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .map(|r| affected_product(&r))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("product row {row_id} of {case}")))?;
        let mut changed: Vec<&str> = Vec::new();
        if current.status != update.status {
            changed.push("status");
        }
        if current.affected_versions != update.affected_versions {
            changed.push("affected_versions");
        }
        if current.fixed_versions != update.fixed_versions {
            changed.push("fixed_versions");
        }
        if current.fix_released != update.fix_released {
            changed.push("fix_released");
        }
        if current.statement != update.statement {
            changed.push("statement");
        }
        if changed.is_empty() {
            return Ok(current);
        }
        let status_at = if current.status != update.status {
            Some(now_ms)
        } else {
            current.status_at_ms
        };
        let versions_changed = current.affected_versions != update.affected_versions
            || current.fixed_versions != update.fixed_versions
            || current.fix_released != update.fix_released;
        let versions_at = if versions_changed {
            Some(now_ms)
        } else {
            current.versions_at_ms
        };
        let statement_at = if current.statement != update.statement {
            Some(now_ms)
        } else {
            current.statement_at_ms
        };
        let sql = format!(
            "UPDATE affected_products SET status = $1, affected_versions = $2, fixed_versions = $3, \
             statement = $4, fix_released = $5, status_at = $6, versions_at = $7, statement_at = $8, \
             updated_by = $9 WHERE id = $10 RETURNING {PRODUCT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(update.status.as_str())
            .bind(&update.affected_versions)
            .bind(&update.fixed_versions)
            .bind(&update.statement)
            .bind(i64::from(update.fix_released))
            .bind(status_at)
            .bind(versions_at)
            .bind(statement_at)
            .bind(actor.to_key())
            .bind(row_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let stored = affected_product(&row)?;
        append_audit(
            &mut tx,
            case_event(AuditAction::VulnerabilityProductUpdated, case, report).payload(json!({
                "row": row_id,
                "vulnerability": stored.vulnerability_id,
                "product": stored.product_key,
                "changed": changed,
                "status": stored.status.as_str(),
                "fix_released": stored.fix_released,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn share_affected_product(
        &self,
        case: CaseId,
        row_id: i64,
        shared: bool,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = case_report(&mut tx, case).await?;
        let key: String = sqlx::query(
            "UPDATE affected_products SET shared = $1 WHERE id = $2 AND case_id = $3 \
             RETURNING product_key",
        )
        .bind(i64::from(shared))
        .bind(row_id)
        .bind(case.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .map(|r| get(&r, "product_key"))
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("product row {row_id} of {case}")))?;
        append_audit(
            &mut tx,
            case_event(AuditAction::VulnerabilityProductShared, case, report).payload(json!({
                "row": row_id,
                "product": key,
                "shared": shared,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn embargo(&self, case: CaseId) -> StoreResult<Option<Embargo>> {
        let sql = format!("SELECT {EMBARGO_COLUMNS} FROM embargoes WHERE case_id = $1");
        sqlx::query(&sql)
            .bind(case.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| embargo(&r))
            .transpose()
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
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = case_report(&mut tx, case).await?;
        let current = lock_embargo(&mut tx, case).await?;
        if current.as_ref().is_some_and(|e| e.lifted_at_ms.is_some()) {
            return Err(StoreError::Rejected(format!(
                "the embargo of {case} has been lifted; it cannot change"
            )));
        }
        let previous = current.as_ref().map(|e| e.ends_at_ms);
        // Counted under the embargo's row lock: a vendor acknowledging
        // meanwhile is either counted or acknowledges the new date.
        let acknowledged: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM case_participants WHERE case_id = $1 \
             AND acknowledged_at IS NOT NULL",
        )
        .bind(case.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)
        .and_then(|r| get(&r, "n"))?;
        let needs_consent = cnadesk_core::coordination::change_needs_consent(
            consent_policy,
            current.is_none(),
            usize::try_from(acknowledged).unwrap_or(0),
        );
        let (action, outcome) = match current {
            None => {
                sqlx::query(
                    "INSERT INTO embargoes (case_id, ends_at, reason, set_at, set_by) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(case.0)
                .bind(ends_at_ms)
                .bind(reason)
                .bind(now_ms)
                .bind(actor.to_key())
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                (AuditAction::EmbargoSet, EmbargoOutcome::Applied)
            }
            Some(_) if needs_consent => {
                sqlx::query(
                    "UPDATE embargoes SET pending_ends_at = $1, pending_reason = $2, pending_by = $3, \
                     pending_at = $4 WHERE case_id = $5",
                )
                .bind(ends_at_ms)
                .bind(reason)
                .bind(actor.to_key())
                .bind(now_ms)
                .bind(case.0)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
                clear_consents(&mut tx, case).await?;
                (AuditAction::EmbargoProposed, EmbargoOutcome::Proposed)
            }
            Some(_) => {
                apply_change(&mut tx, case, ends_at_ms, reason, &actor.to_key(), now_ms).await?;
                (AuditAction::EmbargoChanged, EmbargoOutcome::Applied)
            }
        };
        append_audit(
            &mut tx,
            case_event(action, case, report)
                .payload(embargo_change_payload(previous, ends_at_ms, reason)),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(outcome)
    }

    async fn consent_embargo(
        &self,
        participant_id: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<EmbargoOutcome> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let (case, report) = participant_case(&mut tx, participant_id).await?;
        let Some((current, pending)) = lock_embargo(&mut tx, case)
            .await?
            .filter(|e| e.lifted_at_ms.is_none())
            .and_then(|e| e.pending.clone().map(|p| (e, p)))
        else {
            return Err(StoreError::Rejected(format!(
                "no change of the embargo of {case} waits for consent"
            )));
        };
        let n = sqlx::query(
            "UPDATE case_participants SET consented_at = $1 WHERE id = $2 AND consented_at IS NULL",
        )
        .bind(now_ms)
        .bind(participant_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n == 0 {
            // Consented before: the change still waits for others.
            return Ok(EmbargoOutcome::Proposed);
        }
        append_audit(
            &mut tx,
            case_event(AuditAction::EmbargoConsented, case, report).payload(json!({
                "participant": participant_id,
                "end": pending.ends_at_ms,
            })),
            actor,
            now_ms,
        )
        .await?;
        let waiting: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM case_participants WHERE case_id = $1 \
             AND acknowledged_at IS NOT NULL AND consented_at IS NULL",
        )
        .bind(case.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)
        .and_then(|r| get(&r, "n"))?;
        let outcome = if waiting == 0 {
            apply_change(
                &mut tx,
                case,
                pending.ends_at_ms,
                &pending.reason,
                &pending.proposed_by,
                now_ms,
            )
            .await?;
            let mut payload = embargo_change_payload(
                Some(current.ends_at_ms),
                pending.ends_at_ms,
                &pending.reason,
            );
            payload["proposed_by"] = json!(pending.proposed_by);
            payload["consented"] = json!(true);
            append_audit(
                &mut tx,
                case_event(AuditAction::EmbargoChanged, case, report).payload(payload),
                actor,
                now_ms,
            )
            .await?;
            EmbargoOutcome::Applied
        } else {
            EmbargoOutcome::Proposed
        };
        tx.commit().await.map_err(db_err)?;
        Ok(outcome)
    }

    async fn break_embargo(
        &self,
        case: CaseId,
        disclosed_at_ms: i64,
        note: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = case_report(&mut tx, case).await?;
        let current = lock_embargo(&mut tx, case)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("the embargo of {case}")))?;
        if current.lifted_at_ms.is_some() {
            return Err(StoreError::Rejected(format!(
                "the embargo of {case} has been lifted already"
            )));
        }
        sqlx::query("UPDATE embargoes SET broken_at = $1, broken_note = $2 WHERE case_id = $3")
            .bind(disclosed_at_ms)
            .bind(note)
            .bind(case.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        append_audit(
            &mut tx,
            case_event(AuditAction::EmbargoBroken, case, report)
                .payload(json!({ "disclosed_at": disclosed_at_ms, "end": current.ends_at_ms })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn due_embargo_lifts(&self, now_ms: i64) -> StoreResult<Vec<Embargo>> {
        let sql = format!(
            "SELECT {EMBARGO_COLUMNS} FROM embargoes WHERE lifted_at IS NULL AND (ends_at <= $1 OR broken_at IS NOT NULL) \
             ORDER BY ends_at, case_id"
        );
        sqlx::query(&sql)
            .bind(now_ms)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(embargo)
            .collect()
    }

    async fn lift_embargo(&self, case: CaseId, actor: &Actor, now_ms: i64) -> StoreResult<bool> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        // Conditional: of two lifts racing, one does it.
        let lifted = sqlx::query(
            "UPDATE embargoes SET lifted_at = $1, pending_ends_at = NULL, pending_reason = NULL, \
             pending_by = NULL, pending_at = NULL \
             WHERE case_id = $2 AND lifted_at IS NULL AND (ends_at <= $1 OR broken_at IS NOT NULL) \
             RETURNING ends_at",
        )
        .bind(now_ms)
        .bind(case.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some(lifted) = lifted else {
            return Ok(false);
        };
        let end: i64 = get(&lifted, "ends_at")?;
        let report = case_report(&mut tx, case).await?;
        sqlx::query(
            "INSERT INTO advisories (case_id, published_at) VALUES ($1, $2) \
             ON CONFLICT (case_id) DO NOTHING",
        )
        .bind(case.0)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        append_audit(
            &mut tx,
            case_event(AuditAction::EmbargoLifted, case, report).payload(json!({ "end": end })),
            actor,
            now_ms,
        )
        .await?;
        append_audit(
            &mut tx,
            case_event(AuditAction::AdvisoryPublished, case, report)
                .payload(json!({ "published_at": now_ms })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn mark_publication_queued(&self, case: CaseId, now_ms: i64) -> StoreResult<()> {
        let n = sqlx::query(
            "UPDATE embargoes SET publication_queued_at = COALESCE(publication_queued_at, $1) \
             WHERE case_id = $2 AND lifted_at IS NOT NULL",
        )
        .bind(now_ms)
        .bind(case.0)
        .execute(&self.writer)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound(format!("a lifted embargo of {case}")));
        }
        Ok(())
    }

    async fn lifted_awaiting_publication(&self) -> StoreResult<Vec<Embargo>> {
        let sql = format!(
            "SELECT {EMBARGO_COLUMNS} FROM embargoes \
             WHERE lifted_at IS NOT NULL AND publication_queued_at IS NULL ORDER BY lifted_at, case_id"
        );
        sqlx::query(&sql)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(embargo)
            .collect()
    }

    async fn advisory(&self, case: CaseId) -> StoreResult<Option<Advisory>> {
        sqlx::query("SELECT case_id, published_at FROM advisories WHERE case_id = $1")
            .bind(case.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| advisory(&r))
            .transpose()
    }

    async fn advisories(&self) -> StoreResult<Vec<Advisory>> {
        sqlx::query(
            "SELECT case_id, published_at FROM advisories ORDER BY published_at DESC, case_id DESC",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(advisory)
        .collect()
    }

    async fn add_case_message(
        &self,
        case: CaseId,
        participant_id: Option<i64>,
        author: &str,
        body: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CaseMessage> {
        if body.trim().is_empty() {
            return Err(StoreError::Rejected("a message cannot be empty".into()));
        }
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = case_report(&mut tx, case).await?;
        check_thread(&mut tx, case, participant_id).await?;
        let sql = format!(
            "INSERT INTO case_messages (case_id, participant_id, author, actor, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {MESSAGE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(case.0)
            .bind(participant_id)
            .bind(author)
            .bind(actor.to_key())
            .bind(body)
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let stored = case_message(&row)?;
        append_audit(
            &mut tx,
            case_event(AuditAction::CoordinationMessage, case, report)
                .payload(json!({
                    "message": stored.id,
                    "participant": participant_id,
                    "sha256": sha256_hex(body.as_bytes()),
                }))
                .digest(
                    ContentSubject::CaseMessage(stored.id),
                    stored.content_digest(),
                ),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn case_messages(
        &self,
        case: CaseId,
        threads: Option<&[i64]>,
    ) -> StoreResult<Vec<CaseMessage>> {
        let filter = match threads {
            None => String::new(),
            Some([]) => " AND participant_id IS NULL".to_owned(),
            Some(list) => {
                let marks: Vec<String> = (0..list.len()).map(|i| format!("${}", i + 2)).collect();
                format!(
                    " AND (participant_id IS NULL OR participant_id IN ({}))",
                    marks.join(", ")
                )
            }
        };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM case_messages WHERE case_id = $1{filter} \
             ORDER BY created_at, id"
        );
        let mut query = sqlx::query(&sql).bind(case.0);
        for p in threads.unwrap_or_default() {
            query = query.bind(*p);
        }
        query
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(case_message)
            .collect()
    }

    async fn add_case_file(
        &self,
        file: NewCaseFile,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CaseFile> {
        let case = file.case_id;
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = case_report(&mut tx, case).await?;
        check_thread(&mut tx, case, file.participant_id).await?;
        let sha = sha256_hex(&file.bytes);
        let size = file.bytes.len() as i64;
        let sql = format!(
            "INSERT INTO case_files (case_id, participant_id, filename, content_type, size, sha256, \
             bytes, uploaded_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             RETURNING {FILE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(case.0)
            .bind(file.participant_id)
            .bind(&file.filename)
            .bind(&file.content_type)
            .bind(size)
            .bind(&sha)
            .bind(file.bytes)
            .bind(actor.to_key())
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let stored = case_file(&row)?;
        append_audit(
            &mut tx,
            case_event(AuditAction::CoordinationFileAdded, case, report).payload(json!({
                "file": stored.id,
                "participant": stored.participant_id,
                "sha256": sha,
                "size": size,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn case_files(&self, case: CaseId) -> StoreResult<Vec<CaseFile>> {
        let sql = format!(
            "SELECT {FILE_COLUMNS} FROM case_files WHERE case_id = $1 ORDER BY created_at, id"
        );
        sqlx::query(&sql)
            .bind(case.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(case_file)
            .collect()
    }

    async fn case_file(&self, case: CaseId, id: i64) -> StoreResult<Option<(CaseFile, Vec<u8>)>> {
        let sql =
            format!("SELECT {FILE_COLUMNS}, bytes FROM case_files WHERE id = $1 AND case_id = $2");
        sqlx::query(&sql)
            .bind(id)
            .bind(case.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| Ok((case_file(&r)?, get::<Vec<u8>>(&r, "bytes")?)))
            .transpose()
    }
}

fn advisory(row: &AnyRow) -> StoreResult<Advisory> {
    Ok(Advisory {
        case_id: CaseId(get(row, "case_id")?),
        published_at_ms: get(row, "published_at")?,
    })
}

/// Every participant's consent to an earlier proposal lapses.
async fn clear_consents(conn: &mut AnyConnection, case: CaseId) -> StoreResult<()> {
    sqlx::query("UPDATE case_participants SET consented_at = NULL WHERE case_id = $1")
        .bind(case.0)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Makes a new end the embargo's, dropping any pending change and the
/// consents given to it.
async fn apply_change(
    conn: &mut AnyConnection,
    case: CaseId,
    ends_at_ms: i64,
    reason: &str,
    set_by: &str,
    now_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE embargoes SET ends_at = $1, reason = $2, set_at = $3, set_by = $4, \
         pending_ends_at = NULL, pending_reason = NULL, pending_by = NULL, pending_at = NULL \
         WHERE case_id = $5",
    )
    .bind(ends_at_ms)
    .bind(reason)
    .bind(now_ms)
    .bind(set_by)
    .bind(case.0)
    .execute(&mut *conn)
    .await
    .map_err(db_err)?;
    clear_consents(conn, case).await
}
