//! [`Maintenance`] over SQL: the write probe, the key fingerprint, the
//! footprint.

use async_trait::async_trait;
use cnadesk_store::{Footprint, Maintenance, StoreError, StoreResult};
use sqlx::Row;

use crate::rows::db_err;
use crate::store::SqlStore;

const KEY_FINGERPRINT: &str = "key_fingerprint";
const WRITE_PROBE: &str = "write_probe";
/// Free space beside the SQLite file that counts as room again after a
/// full disk (4 MiB: a large report with its attachments and the journal).
const RECOVERY_FREE_BYTES: u64 = 4 << 20;

/// The size of the probe that shows a large report fits again (PostgreSQL).
const RECOVERY_PROBE_BYTES: usize = 1 << 20;

/// [`RECOVERY_PROBE_BYTES`] of hex from SHA-256 in counter mode: nothing a
/// compressor can shrink much.
fn large_probe_value(seed: i64) -> String {
    use sha2::{Digest, Sha256};
    let mut out = String::with_capacity(RECOVERY_PROBE_BYTES);
    let mut i: u64 = 0;
    while out.len() < RECOVERY_PROBE_BYTES {
        let block = Sha256::new()
            .chain_update(seed.to_le_bytes())
            .chain_update(i.to_le_bytes())
            .finalize();
        out.push_str(&hex::encode(block));
        i += 1;
    }
    out
}

impl SqlStore {
    /// Bytes free for this process on the SQLite file's filesystem.
    fn free_bytes(&self) -> Option<u64> {
        let dir = self.file.as_deref()?.parent()?;
        let dir = if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        };
        let stat = rustix::fs::statvfs(dir).ok()?;
        Some(stat.f_bavail.saturating_mul(stat.f_frsize))
    }

    /// What `PRAGMA quick_check` finds wrong with the SQLite file (within
    /// 4 s; `None` when it passes or takes longer).
    async fn integrity_problem(&self) -> Option<String> {
        let check = sqlx::query("PRAGMA quick_check(5)").fetch_all(&self.reader);
        match tokio::time::timeout(std::time::Duration::from_secs(4), check).await {
            Ok(Ok(rows)) => {
                let lines: Vec<String> = rows
                    .iter()
                    .filter_map(|r| r.try_get::<String, _>(0).ok())
                    .collect();
                (lines != ["ok"]).then(|| lines.join("; "))
            }
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => None,
        }
    }

    /// Sets a `desk_meta` value in its own transaction.
    async fn put_meta(&self, name: &str, value: &str, now_ms: i64) -> StoreResult<()> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO desk_meta (name, value, updated_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(name)
        .bind(value)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl Maintenance for SqlStore {
    async fn write_probe(&self, now_ms: i64) -> StoreResult<()> {
        let failing = self.health.failing();
        self.put_meta(WRITE_PROBE, &now_ms.to_string(), now_ms)
            .await?;
        if let Some(reason) = failing {
            // A page found damaged while serving stays a failure until the
            // file passes a check again (it will not heal by itself).
            if reason.contains(crate::rows::DAMAGED) && self.file.is_some() {
                if let Some(problem) = self.integrity_problem().await {
                    return Err(StoreError::Unavailable(format!(
                        "{}: {problem}; restore it from a backup",
                        crate::rows::DAMAGED
                    )));
                }
            }
            // A small write can fit where a report no longer does. After a
            // failure, writes count as working again only once a report
            // fits: SQLite, room beside the file (a probe would stay in the
            // file); PostgreSQL, a committed probe as large as a report
            // (incompressible, so TOAST cannot shrink it), then cleared.
            match self.free_bytes() {
                Some(free) if free < RECOVERY_FREE_BYTES => {
                    return Err(StoreError::Unavailable(format!(
                        "{reason}; {free} bytes free, waiting for at least {RECOVERY_FREE_BYTES}"
                    )));
                }
                Some(_) => {}
                None => {
                    let large = large_probe_value(now_ms);
                    self.put_meta(WRITE_PROBE, &large, now_ms).await?;
                    self.put_meta(WRITE_PROBE, &now_ms.to_string(), now_ms)
                        .await?;
                }
            }
            self.health.recovered();
        }
        Ok(())
    }

    fn write_failure(&self) -> Option<String> {
        self.health.failing()
    }

    async fn key_fingerprint(&self) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT value FROM desk_meta WHERE name = $1")
            .bind(KEY_FINGERPRINT)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        row.map(|r| r.try_get("value").map_err(db_err)).transpose()
    }

    async fn bind_key_fingerprint(&self, fingerprint: &str, now_ms: i64) -> StoreResult<String> {
        let mut tx = self.write_tx().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO desk_meta (name, value, updated_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(KEY_FINGERPRINT)
        .bind(fingerprint)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let row = sqlx::query("SELECT value FROM desk_meta WHERE name = $1")
            .bind(KEY_FINGERPRINT)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let recorded: String = row.try_get("value").map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(recorded)
    }

    async fn footprint(&self) -> StoreResult<Footprint> {
        let row = sqlx::query(
            "SELECT \
               (SELECT COUNT(*) FROM users) AS users, \
               (SELECT COUNT(*) FROM reports) AS reports, \
               (SELECT COUNT(*) FROM audit_events) AS audit_events, \
               (SELECT COUNT(*) FROM sessions) \
               + (SELECT COUNT(*) FROM vendor_sessions) \
               + (SELECT COUNT(*) FROM users WHERE totp_secret_enc IS NOT NULL) \
               + (SELECT COUNT(*) FROM outbox) \
               + (SELECT COUNT(*) FROM transparency_log) AS key_bound",
        )
        .fetch_one(&self.reader)
        .await
        .map_err(db_err)?;
        Ok(Footprint {
            users: row.try_get("users").map_err(db_err)?,
            reports: row.try_get("reports").map_err(db_err)?,
            audit_events: row.try_get("audit_events").map_err(db_err)?,
            key_bound: row.try_get("key_bound").map_err(db_err)?,
        })
    }
}
