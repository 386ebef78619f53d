//! [`ScopeStore`] over SQL: ecosystem annotations, scope decisions and policies.

use async_trait::async_trait;
use cnadesk_core::audit::{canonical_json, AuditAction, EventDraft};
use cnadesk_core::{Actor, ReportId};
use cnadesk_scope::Decision;
use cnadesk_store::{ScopeStore, StoreError, StoreResult};
use serde_json::json;

use crate::health::db_err;
use crate::rows::{self, sha256_hex};
use crate::store::{append_audit, fetch_report, SqlStore};

#[async_trait]
impl ScopeStore for SqlStore {
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
                AuditAction::EcosystemProductAdded
            } else {
                AuditAction::EcosystemProductAnnotated
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
        if !Decision::FINAL.contains(&d.decision) {
            return Err(StoreError::Rejected(format!(
                "`{}` is not a scope decision (in_scope, refer, out_of_scope)",
                d.decision.as_str()
            )));
        }
        if d.decision == Decision::Refer
            && d.referral_cna.as_deref().unwrap_or("").trim().is_empty()
        {
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
            .bind(d.decision.as_str())
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
            EventDraft::new(AuditAction::ScopeDecided)
                .report(d.report)
                .payload(json!({
                    "decision": d.decision.as_str(),
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
            EventDraft::new(AuditAction::ScopePolicyAdopted).payload(json!({
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
}
