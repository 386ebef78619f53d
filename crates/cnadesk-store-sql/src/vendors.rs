//! [`Vendors`] over SQL: vendor contacts, invitations, accounts and sessions.

use async_trait::async_trait;
use cnadesk_core::audit::AuditAction;
use cnadesk_core::{Actor, CaseId, VendorId};
use cnadesk_store::{
    NewInvitation, NewOutboxMessage, NewVendorAccount, Participant, StoreError, StoreResult,
    VendorAccount, Vendors,
};
use serde_json::json;
use sqlx::any::AnyRow;

use crate::coordination::{case_event, case_report, participant_case};
use crate::health::db_err;
use crate::outbox::insert_outbox;
use crate::rows::{get, json_column};
use crate::store::{append_audit, SqlStore};

const PARTICIPANT_COLUMNS: &str = "id, case_id, email, contact_name, products, \
     invitation_expires_at, invited_at, invited_by, vendor_id, accepted_at, acknowledged_at, \
     consented_at, reminders_sent, last_reminded_at";

const VENDOR_COLUMNS: &str = "id, email, display_name, time_zone, created_at";

fn participant(row: &AnyRow) -> StoreResult<Participant> {
    Ok(Participant {
        id: get(row, "id")?,
        case_id: CaseId(get(row, "case_id")?),
        email: get(row, "email")?,
        contact_name: get(row, "contact_name")?,
        products: json_column(row, "products")?,
        invited_at_ms: get(row, "invited_at")?,
        invited_by: get(row, "invited_by")?,
        invitation_expires_at_ms: get(row, "invitation_expires_at")?,
        vendor: get::<Option<i64>>(row, "vendor_id")?.map(VendorId),
        accepted_at_ms: get(row, "accepted_at")?,
        acknowledged_at_ms: get(row, "acknowledged_at")?,
        consented_at_ms: get(row, "consented_at")?,
        reminders_sent: get(row, "reminders_sent")?,
        last_reminded_at_ms: get(row, "last_reminded_at")?,
    })
}

fn vendor_account(row: &AnyRow) -> StoreResult<VendorAccount> {
    Ok(VendorAccount {
        id: VendorId(get(row, "id")?),
        email: get(row, "email")?,
        display_name: get(row, "display_name")?,
        time_zone: get(row, "time_zone")?,
        created_at_ms: get(row, "created_at")?,
    })
}

fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[async_trait]
impl Vendors for SqlStore {
    async fn invite_vendor(
        &self,
        invitation: NewInvitation,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Participant> {
        let case = invitation.case_id;
        let email = normalize_email(&invitation.email);
        if email.is_empty() || !email.contains('@') {
            return Err(StoreError::Rejected(
                "an invitation needs an e-mail address".into(),
            ));
        }
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let report = case_report(&mut tx, case).await?;
        // An address already invited to the case: lock its row and merge.
        let sql = format!(
            "UPDATE case_participants SET reminders_sent = reminders_sent \
             WHERE case_id = $1 AND email = $2 \
             RETURNING {PARTICIPANT_COLUMNS}"
        );
        let existing = sqlx::query(&sql)
            .bind(case.0)
            .bind(&email)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .map(|r| participant(&r))
            .transpose()?;
        let mut products: Vec<String> = existing
            .as_ref()
            .map(|p| p.products.clone())
            .unwrap_or_default();
        for p in &invitation.products {
            let p = p.trim();
            if !p.is_empty() && !products.iter().any(|q| q == p) {
                products.push(p.to_owned());
            }
        }
        let contact_name = invitation.contact_name.trim();
        let (stored, action) = match existing {
            Some(existing) => {
                let sql = format!(
                    "UPDATE case_participants SET products = $1, contact_name = $2, token_hash = $3, \
                     invitation_expires_at = $4 WHERE id = $5 RETURNING {PARTICIPANT_COLUMNS}"
                );
                let name = if contact_name.is_empty() {
                    existing.contact_name.as_str()
                } else {
                    contact_name
                };
                let row = sqlx::query(&sql)
                    .bind(json!(products).to_string())
                    .bind(name)
                    .bind(&invitation.token_hash)
                    .bind(invitation.expires_at_ms)
                    .bind(existing.id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                (participant(&row)?, AuditAction::VendorReinvited)
            }
            None => {
                let sql = format!(
                    "INSERT INTO case_participants (case_id, email, contact_name, products, token_hash, \
                     invitation_expires_at, invited_at, invited_by, reminders_sent) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) RETURNING {PARTICIPANT_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(case.0)
                    .bind(&email)
                    .bind(contact_name)
                    .bind(json!(products).to_string())
                    .bind(&invitation.token_hash)
                    .bind(invitation.expires_at_ms)
                    .bind(now_ms)
                    .bind(actor.to_key())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
                (participant(&row)?, AuditAction::VendorInvited)
            }
        };
        append_audit(
            &mut tx,
            case_event(action, case, report).payload(json!({
                "participant": stored.id,
                "products": stored.products,
            })),
            actor,
            now_ms,
        )
        .await?;
        if let Some(message) = &invitation.outbox {
            let mut message = message.clone();
            message.case_id.get_or_insert(case);
            insert_outbox(&mut tx, &message, now_ms).await?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn participants(&self, case: CaseId) -> StoreResult<Vec<Participant>> {
        let sql = format!(
            "SELECT {PARTICIPANT_COLUMNS} FROM case_participants WHERE case_id = $1 \
             ORDER BY invited_at, id"
        );
        sqlx::query(&sql)
            .bind(case.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(participant)
            .collect()
    }

    async fn participations(&self, vendor: VendorId) -> StoreResult<Vec<Participant>> {
        let sql = format!(
            "SELECT {PARTICIPANT_COLUMNS} FROM case_participants WHERE vendor_id = $1 \
             ORDER BY case_id, id"
        );
        sqlx::query(&sql)
            .bind(vendor.0)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(participant)
            .collect()
    }

    async fn invitation(&self, token_hash: &str, now_ms: i64) -> StoreResult<Option<Participant>> {
        let sql = format!(
            "SELECT {PARTICIPANT_COLUMNS} FROM case_participants \
             WHERE token_hash = $1 AND invitation_expires_at > $2"
        );
        sqlx::query(&sql)
            .bind(token_hash)
            .bind(now_ms)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| participant(&r))
            .transpose()
    }

    async fn accept_invitation(
        &self,
        token_hash: &str,
        vendor: VendorId,
        now_ms: i64,
    ) -> StoreResult<Participant> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        // Conditional: of two accepts racing, the second finds no row with
        // this hash (PostgreSQL re-checks the condition after the first
        // commits; SQLite has one writer).
        let sql = format!(
            "UPDATE case_participants SET token_hash = NULL, vendor_id = $1, accepted_at = $2 \
             WHERE token_hash = $3 AND invitation_expires_at > $2 RETURNING {PARTICIPANT_COLUMNS}"
        );
        let stored = sqlx::query(&sql)
            .bind(vendor.0)
            .bind(now_ms)
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .map(|r| participant(&r))
            .transpose()?
            .ok_or(StoreError::SetupTokenInvalid)?;
        let report = case_report(&mut tx, stored.case_id).await?;
        append_audit(
            &mut tx,
            case_event(AuditAction::VendorAccepted, stored.case_id, report).payload(json!({
                "participant": stored.id,
                "vendor": vendor.0,
            })),
            &Actor::Vendor { id: vendor },
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(stored)
    }

    async fn acknowledge_embargo(
        &self,
        participant_id: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let (case, report) = participant_case(&mut tx, participant_id).await?;
        let n = sqlx::query(
            "UPDATE case_participants SET acknowledged_at = $1 \
             WHERE id = $2 AND acknowledged_at IS NULL",
        )
        .bind(now_ms)
        .bind(participant_id)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        append_audit(
            &mut tx,
            case_event(AuditAction::VendorAcknowledged, case, report)
                .payload(json!({ "participant": participant_id })),
            actor,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(true)
    }

    async fn remind_vendor(
        &self,
        participant_id: i64,
        new_link: Option<(String, i64)>,
        outbox: Option<NewOutboxMessage>,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        let sql = format!(
            "UPDATE case_participants SET reminders_sent = reminders_sent + 1, last_reminded_at = $1 \
             WHERE id = $2 RETURNING {PARTICIPANT_COLUMNS}"
        );
        let stored = sqlx::query(&sql)
            .bind(now_ms)
            .bind(participant_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .map(|r| participant(&r))
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("participant {participant_id}")))?;
        if let Some((hash, expires_at_ms)) = &new_link {
            // A used link is never revived: it would let its holder bind the
            // participant to another account.
            let n = sqlx::query(
                "UPDATE case_participants SET token_hash = $1, invitation_expires_at = $2 \
                 WHERE id = $3 AND accepted_at IS NULL",
            )
            .bind(hash)
            .bind(*expires_at_ms)
            .bind(participant_id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
            if n != 1 {
                return Err(StoreError::Rejected(format!(
                    "participant {participant_id} has accepted the invitation; a reminder cannot carry a new link"
                )));
            }
        }
        let report = case_report(&mut tx, stored.case_id).await?;
        append_audit(
            &mut tx,
            case_event(AuditAction::VendorReminded, stored.case_id, report).payload(json!({
                "participant": participant_id,
                "reminder": stored.reminders_sent,
                "new_link": new_link.is_some(),
            })),
            &Actor::system("reminders"),
            now_ms,
        )
        .await?;
        if let Some(mut message) = outbox {
            message.case_id.get_or_insert(stored.case_id);
            insert_outbox(&mut tx, &message, now_ms).await?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn create_vendor_account(
        &self,
        account: NewVendorAccount,
        now_ms: i64,
    ) -> StoreResult<VendorAccount> {
        let email = normalize_email(&account.email);
        if email.is_empty() {
            return Err(StoreError::Rejected(
                "a vendor account needs an e-mail address".into(),
            ));
        }
        let sql = format!(
            "INSERT INTO vendor_accounts (email, display_name, password_hash, time_zone, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {VENDOR_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(&email)
            .bind(account.display_name.trim())
            .bind(&account.password_hash)
            .bind(&account.time_zone)
            .bind(now_ms)
            .fetch_one(&self.writer)
            .await
            .map_err(|e| match db_err(e) {
                StoreError::Conflict(_) => {
                    StoreError::Conflict("a vendor account with this e-mail address".into())
                }
                other => other,
            })?;
        vendor_account(&row)
    }

    async fn vendor_account(&self, id: VendorId) -> StoreResult<Option<VendorAccount>> {
        let sql = format!("SELECT {VENDOR_COLUMNS} FROM vendor_accounts WHERE id = $1");
        sqlx::query(&sql)
            .bind(id.0)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| vendor_account(&r))
            .transpose()
    }

    async fn vendor_credentials(
        &self,
        email: &str,
    ) -> StoreResult<Option<(VendorAccount, String)>> {
        let sql =
            format!("SELECT {VENDOR_COLUMNS}, password_hash FROM vendor_accounts WHERE email = $1");
        sqlx::query(&sql)
            .bind(normalize_email(email))
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| Ok((vendor_account(&r)?, get(&r, "password_hash")?)))
            .transpose()
    }

    async fn create_vendor_session(
        &self,
        id_hash: &str,
        vendor: VendorId,
        expires_at_ms: i64,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO vendor_sessions (id_hash, vendor_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id_hash)
        .bind(vendor.0)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn vendor_session(
        &self,
        id_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Option<VendorAccount>> {
        let sql = "SELECT a.id, a.email, a.display_name, a.time_zone, a.created_at \
             FROM vendor_sessions s JOIN vendor_accounts a ON a.id = s.vendor_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2";
        sqlx::query(sql)
            .bind(id_hash)
            .bind(now_ms)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|r| vendor_account(&r))
            .transpose()
    }

    async fn delete_vendor_session(&self, id_hash: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM vendor_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
