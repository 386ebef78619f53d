//! [`TeamStore`] over SQL: profiles, absences, affiliations, recusals and the
//! rota.

use async_trait::async_trait;
use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::team::{Absence, Affiliation, Profile, Recusal, Shift};
use cnadesk_core::{Actor, CaseId, UserId};
use cnadesk_store::{StoreError, StoreResult, TeamStore};
use serde_json::json;
use sqlx::any::AnyRow;

use crate::health::db_err;
use crate::rows::{self, get, parsed};
use crate::store::{append_audit, fetch_case, fetch_user, SqlStore};

fn profile(row: &AnyRow) -> StoreResult<Profile> {
    let skills: String = get(row, "skills")?;
    Ok(Profile {
        user: UserId(get(row, "user_id")?),
        time_zone: get(row, "time_zone")?,
        capacity: get(row, "capacity")?,
        skills: serde_json::from_str(&skills).map_err(|e| StoreError::Database(e.to_string()))?,
    })
}

fn absence(row: &AnyRow) -> StoreResult<Absence> {
    Ok(Absence {
        id: get(row, "id")?,
        user: UserId(get(row, "user_id")?),
        kind: parsed(row, "kind")?,
        starts_on: parsed(row, "starts_on")?,
        ends_on: parsed(row, "ends_on")?,
        note: get(row, "note")?,
    })
}

fn affiliation(row: &AnyRow) -> StoreResult<Affiliation> {
    Ok(Affiliation {
        id: get(row, "id")?,
        user: UserId(get(row, "user_id")?),
        product_key: get(row, "product_key")?,
        product_name: get(row, "product_name")?,
        relation: parsed(row, "relation")?,
    })
}

fn recusal(row: &AnyRow) -> StoreResult<Recusal> {
    Ok(Recusal {
        case: CaseId(get(row, "case_id")?),
        user: UserId(get(row, "user_id")?),
        reason: get(row, "reason")?,
        source: parsed(row, "source")?,
        created_at_ms: get(row, "created_at")?,
    })
}

fn shift(row: &AnyRow) -> StoreResult<Shift> {
    Ok(Shift {
        id: get(row, "id")?,
        user: UserId(get(row, "user_id")?),
        starts_at_ms: get(row, "starts_at")?,
        ends_at_ms: get(row, "ends_at")?,
        handover_note: get(row, "handover_note")?,
        handed_over_at_ms: get(row, "handed_over_at")?,
    })
}

const ABSENCE_COLUMNS: &str = "id, user_id, kind, starts_on, ends_on, note";
const AFFILIATION_COLUMNS: &str = "id, user_id, product_key, product_name, relation";
const RECUSAL_COLUMNS: &str = "case_id, user_id, reason, source, created_at";
const SHIFT_COLUMNS: &str = "id, user_id, starts_at, ends_at, handover_note, handed_over_at";

impl SqlStore {
    /// Deletes row `id` of `table` if it belongs to `user` (`NotFound`
    /// otherwise: someone else's row looks like no row), and audits it.
    #[allow(clippy::too_many_arguments)]
    async fn delete_owned<T>(
        &self,
        table: &str,
        columns: &str,
        id: i64,
        user: UserId,
        decode: fn(&AnyRow) -> StoreResult<T>,
        event: impl FnOnce(&T) -> EventDraft,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let sql = format!("DELETE FROM {table} WHERE id = $1 AND user_id = $2 RETURNING {columns}");
        let row = sqlx::query(&sql)
            .bind(id)
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("{table} row {id}")))?;
        let gone = decode(&row)?;
        append_audit(&mut tx, event(&gone), actor, now_ms).await?;
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl TeamStore for SqlStore {
    async fn profiles(&self) -> StoreResult<Vec<Profile>> {
        sqlx::query(
            "SELECT user_id, time_zone, capacity, skills FROM member_profiles ORDER BY user_id",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?
        .iter()
        .map(profile)
        .collect()
    }

    async fn save_profile(&self, p: Profile, actor: &Actor, now_ms: i64) -> StoreResult<()> {
        p.validate().map_err(|(_, m)| StoreError::Rejected(m))?;
        let mut tx = self.write_tx().await.map_err(db_err)?;
        fetch_user(&mut tx, p.user)
            .await?
            .ok_or_else(|| StoreError::NotFound(p.user.to_string()))?;
        let skills =
            serde_json::to_string(&p.skills).map_err(|e| StoreError::Database(e.to_string()))?;
        sqlx::query("DELETE FROM member_profiles WHERE user_id = $1")
            .bind(p.user.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO member_profiles (user_id, time_zone, capacity, skills, updated_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(p.user.0)
        .bind(&p.time_zone)
        .bind(p.capacity)
        .bind(&skills)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::TeamProfileSaved).payload(json!({
                "user": p.user.0,
                "time_zone": p.time_zone,
                "capacity": p.capacity,
                "skills": p.skills,
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn absences(&self) -> StoreResult<Vec<Absence>> {
        let sql = format!("SELECT {ABSENCE_COLUMNS} FROM absences ORDER BY starts_on, id");
        sqlx::query(&sql)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(absence)
            .collect()
    }

    async fn add_absence(&self, a: Absence, actor: &Actor, now_ms: i64) -> StoreResult<Absence> {
        cnadesk_core::team::check_absence(a.starts_on, a.ends_on)
            .map_err(|(_, m)| StoreError::Rejected(m))?;
        let mut tx = self.write_tx().await.map_err(db_err)?;
        fetch_user(&mut tx, a.user)
            .await?
            .ok_or_else(|| StoreError::NotFound(a.user.to_string()))?;
        let sql = format!(
            "INSERT INTO absences (user_id, kind, starts_on, ends_on, note, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {ABSENCE_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(a.user.0)
            .bind(a.kind.as_str())
            .bind(a.starts_on.to_string())
            .bind(a.ends_on.to_string())
            .bind(a.note.trim())
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let saved = absence(&row)?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::TeamAbsenceAdded).payload(json!({
                "id": saved.id,
                "user": saved.user.0,
                "kind": saved.kind.as_str(),
                "starts_on": saved.starts_on.to_string(),
                "ends_on": saved.ends_on.to_string(),
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(saved)
    }

    async fn remove_absence(
        &self,
        id: i64,
        user: UserId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.delete_owned(
            "absences",
            ABSENCE_COLUMNS,
            id,
            user,
            absence,
            |gone| {
                EventDraft::new(AuditAction::TeamAbsenceRemoved).payload(json!({
                    "id": id,
                    "user": user.0,
                    "starts_on": gone.starts_on.to_string(),
                    "ends_on": gone.ends_on.to_string(),
                }))
            },
            actor,
            now_ms,
        )
        .await
    }

    async fn affiliations(&self) -> StoreResult<Vec<Affiliation>> {
        let sql = format!(
            "SELECT {AFFILIATION_COLUMNS} FROM affiliations ORDER BY user_id, product_name"
        );
        sqlx::query(&sql)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(affiliation)
            .collect()
    }

    async fn declare_affiliation(
        &self,
        a: Affiliation,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Affiliation> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        fetch_user(&mut tx, a.user)
            .await?
            .ok_or_else(|| StoreError::NotFound(a.user.to_string()))?;
        let sql = format!(
            "INSERT INTO affiliations (user_id, product_key, product_name, relation, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {AFFILIATION_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(a.user.0)
            .bind(&a.product_key)
            .bind(&a.product_name)
            .bind(a.relation.as_str())
            .bind(now_ms)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| match db_err(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!(
                    "an affiliation with {} is already declared",
                    a.product_name
                )),
                other => other,
            })?;
        let saved = affiliation(&row)?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::TeamAffiliationDeclared).payload(json!({
                "id": saved.id,
                "user": saved.user.0,
                "product": saved.product_key,
                "product_name": saved.product_name,
                "relation": saved.relation.as_str(),
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(saved)
    }

    async fn withdraw_affiliation(
        &self,
        id: i64,
        user: UserId,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        self.delete_owned(
            "affiliations",
            AFFILIATION_COLUMNS,
            id,
            user,
            affiliation,
            |gone| {
                EventDraft::new(AuditAction::TeamAffiliationWithdrawn).payload(json!({
                    "id": id,
                    "user": user.0,
                    "product": gone.product_key,
                    "product_name": gone.product_name,
                }))
            },
            actor,
            now_ms,
        )
        .await
    }

    async fn recusals(&self, case: Option<CaseId>) -> StoreResult<Vec<Recusal>> {
        let rows = match case {
            Some(c) => {
                let sql = format!(
                    "SELECT {RECUSAL_COLUMNS} FROM recusals WHERE case_id = $1 ORDER BY created_at, user_id"
                );
                sqlx::query(&sql).bind(c.0).fetch_all(&self.reader).await
            }
            None => {
                let sql =
                    format!("SELECT {RECUSAL_COLUMNS} FROM recusals ORDER BY created_at, case_id, user_id");
                sqlx::query(&sql).fetch_all(&self.reader).await
            }
        }
        .map_err(db_err)?;
        rows.iter().map(recusal).collect()
    }

    async fn recuse(&self, r: Recusal, actor: &Actor, now_ms: i64) -> StoreResult<bool> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let case = fetch_case(&mut tx, r.case)
            .await?
            .ok_or_else(|| StoreError::NotFound(r.case.to_string()))?;
        let user = fetch_user(&mut tx, r.user)
            .await?
            .ok_or_else(|| StoreError::NotFound(r.user.to_string()))?;
        // Concurrent recusals of the same member: the second inserts nothing.
        let inserted = sqlx::query(
            "INSERT INTO recusals (case_id, user_id, reason, source, created_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (case_id, user_id) DO NOTHING",
        )
        .bind(r.case.0)
        .bind(r.user.0)
        .bind(r.reason.trim())
        .bind(r.source.as_str())
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if inserted == 0 {
            return Ok(false);
        }
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::CaseRecused)
                .case(r.case)
                .report(case.report_id)
                .payload(json!({
                    "user": r.user.0,
                    "source": r.source.as_str(),
                    "reason": r.reason.trim(),
                })),
            actor,
            now_ms,
        )
        .await?;
        if case.assignee == Some(r.user) {
            let reason = format!("{} recused: {}", user.username, r.reason.trim());
            sqlx::query(
                "UPDATE cases SET assignee_id = NULL, assignment_reason = $1, updated_at = $2 WHERE id = $3",
            )
            .bind(&reason)
            .bind(now_ms)
            .bind(r.case.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            append_audit(
                &mut tx,
                EventDraft::new(AuditAction::CaseAssigned)
                    .case(r.case)
                    .report(case.report_id)
                    .payload(json!({ "from": r.user.0, "to": null, "reason": reason })),
                actor,
                now_ms,
            )
            .await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn shift(&self, id: i64) -> StoreResult<Option<Shift>> {
        let sql = format!("SELECT {SHIFT_COLUMNS} FROM rota_shifts WHERE id = $1");
        sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .as_ref()
            .map(shift)
            .transpose()
    }

    async fn shifts(&self, from_ms: i64, to_ms: i64) -> StoreResult<Vec<Shift>> {
        let sql = format!(
            "SELECT {SHIFT_COLUMNS} FROM rota_shifts WHERE ends_at > $1 AND starts_at < $2 ORDER BY starts_at, id"
        );
        sqlx::query(&sql)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(shift)
            .collect()
    }

    async fn plan_rota(
        &self,
        shifts: Vec<(UserId, i64, i64)>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()> {
        let Some(first) = shifts.iter().map(|s| s.1).min() else {
            return Err(StoreError::Rejected("the rota plan has no shifts".into()));
        };
        if shifts.iter().any(|(_, s, e)| e <= s) {
            return Err(StoreError::Rejected(
                "a shift must end after it starts".into(),
            ));
        }
        if first < now_ms {
            return Err(StoreError::Rejected(
                "a plan cannot change shifts that have begun; start it later".into(),
            ));
        }
        let mut sorted: Vec<(i64, i64)> = shifts.iter().map(|(_, s, e)| (*s, *e)).collect();
        sorted.sort();
        if sorted.windows(2).any(|w| w[1].0 < w[0].1) {
            return Err(StoreError::Rejected("the planned shifts overlap".into()));
        }
        let mut tx = self.write_tx().await.map_err(db_err)?;
        for (u, _, _) in &shifts {
            let user = fetch_user(&mut tx, *u)
                .await?
                .ok_or_else(|| StoreError::Rejected(format!("{u} does not exist")))?;
            if !user.active {
                return Err(StoreError::Rejected(format!(
                    "{} is deactivated",
                    user.username
                )));
            }
        }
        let removed = sqlx::query("DELETE FROM rota_shifts WHERE starts_at >= $1")
            .bind(first)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        // A shift running into the new plan ends where the plan begins.
        sqlx::query("UPDATE rota_shifts SET ends_at = $1 WHERE starts_at < $1 AND ends_at > $1")
            .bind(first)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        for (u, s, e) in &shifts {
            sqlx::query(
                "INSERT INTO rota_shifts (user_id, starts_at, ends_at, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(u.0)
            .bind(s)
            .bind(e)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::RotaPlanned).payload(json!({
                "from": first,
                "replaced": removed,
                "shifts": shifts.iter().map(|(u, s, e)| json!({"user": u.0, "starts_at": s, "ends_at": e})).collect::<Vec<_>>(),
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn hand_over(&self, id: i64, note: &str, actor: &Actor, now_ms: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let sql = format!(
            "UPDATE rota_shifts SET handover_note = $1, handed_over_at = $2 WHERE id = $3 RETURNING {SHIFT_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(note.trim())
            .bind(now_ms)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| StoreError::NotFound(format!("shift {id}")))?;
        let s = shift(&row)?;
        append_audit(
            &mut tx,
            EventDraft::new(AuditAction::RotaHandedOver).payload(json!({
                "shift": id,
                "user": s.user.0,
                "note": note.trim(),
            })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    async fn last_assignments(&self) -> StoreResult<Vec<(UserId, i64)>> {
        let sql = format!(
            "SELECT {} FROM audit_events WHERE action = $1 ORDER BY seq",
            rows::AUDIT_COLUMNS
        );
        let mut last: std::collections::BTreeMap<i64, i64> = Default::default();
        for row in sqlx::query(&sql)
            .bind(AuditAction::CaseAssigned.as_str())
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
        {
            let e = rows::audit_event(&row)?;
            if let Some(to) = e.payload["to"].as_i64() {
                last.insert(to, e.occurred_at_ms);
            }
        }
        Ok(last.into_iter().map(|(u, t)| (UserId(u), t)).collect())
    }
}
