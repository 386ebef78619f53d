//! [`Maintenance`] over SQL: the backend's name and ping, the write probe,
//! the key fingerprint, the footprint.

use std::time::Duration;

use async_trait::async_trait;
use cnadesk_store::{Footprint, Maintenance, StoreError, StoreResult};
use sqlx::Row;

use crate::health::{db_err, Failure, WriteHealth};
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

/// How recent a commit lets `/readyz` skip its own probe.
const RECENT_COMMIT: Duration = Duration::from_secs(5);

/// How long the probe's writes may wait (behind a long write, a busy
/// server) before the database counts as not answering.
const PROBE_BUDGET: Duration = Duration::from_secs(5);

/// How long `/readyz` waits for `PRAGMA quick_check` (it goes on running,
/// and clears the damage if it passes; meanwhile the file counts as
/// damaged still).
const CHECK_BUDGET: Duration = Duration::from_secs(4);

impl SqlStore {
    /// Bytes free for this process on the SQLite file's filesystem.
    fn free_bytes(&self) -> Option<u64> {
        let dir = crate::rows::dir_of(self.file.as_deref()?);
        let stat = rustix::fs::statvfs(dir).ok()?;
        Some(stat.f_bavail.saturating_mul(stat.f_frsize))
    }

    /// Checks a file recorded as damaged (failure `generation`) with
    /// `PRAGMA quick_check`: `Ok` when it passes (and the damage is then
    /// cleared), otherwise why it still counts as damaged. At most one check
    /// runs at a time; one that outlasts [`CHECK_BUDGET`] goes on in the
    /// background and clears the damage itself if it passes.
    async fn check_damage(&self, generation: u64) -> Result<(), String> {
        let Some(running) = WriteHealth::PROCESS.start_check() else {
            return Err("a check of the file is running".into());
        };
        let reader = self.reader.clone();
        let health = WriteHealth::PROCESS;
        let check = tokio::spawn(async move {
            let _running = running;
            let found = crate::rows::check_pragma(&reader, "quick_check(5)").await;
            if matches!(&found, Ok(problems) if problems.is_empty()) {
                health.clear(generation);
            }
            found
        });
        match tokio::time::timeout(CHECK_BUDGET, check).await {
            Ok(Ok(Ok(problems))) if problems.is_empty() => Ok(()),
            Ok(Ok(Ok(problems))) => {
                Err(format!("{}; restore it from a backup", problems.join("; ")))
            }
            Ok(Ok(Err(e))) => Err(format!("the check of the file failed: {e}")),
            Ok(Err(e)) => Err(format!("the check of the file stopped: {e}")),
            Err(_) => Err(format!(
                "the check of the file did not finish within {} s",
                CHECK_BUDGET.as_secs()
            )),
        }
    }

    /// Sets a `desk_meta` value in one autocommit statement.
    async fn put_meta(&self, name: &str, value: &str, now_ms: i64) -> StoreResult<()> {
        let put = sqlx::query(
            "INSERT INTO desk_meta (name, value, updated_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, \
             updated_at_ms = excluded.updated_at_ms",
        )
        .bind(name)
        .bind(value)
        .bind(now_ms)
        .execute(&self.writer);
        match tokio::time::timeout(PROBE_BUDGET, put).await {
            Ok(Ok(_)) => {
                WriteHealth::PROCESS.committed();
                Ok(())
            }
            Ok(Err(e)) => Err(db_err(e)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "the database did not answer within {} s",
                PROBE_BUDGET.as_secs()
            ))),
        }
    }
}

#[async_trait]
impl Maintenance for SqlStore {
    fn backend(&self) -> &'static str {
        self.kind().name()
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn write_probe(&self, now_ms: i64) -> StoreResult<()> {
        let (failure, generation) = WriteHealth::PROCESS.failing();
        match &failure {
            None if WriteHealth::PROCESS.recently_committed(RECENT_COMMIT) => return Ok(()),
            None | Some(Failure::Other(_)) => {}
            // A page found damaged while serving stays a failure until the
            // file passes a check again (it will not heal by itself).
            Some(Failure::Damaged(reason)) => {
                if let Err(why) = self.check_damage(generation).await {
                    return Err(StoreError::Unavailable(format!("{reason}: {why}")));
                }
            }
        }
        self.put_meta(WRITE_PROBE, &now_ms.to_string(), now_ms)
            .await?;
        if let Some(Failure::Other(reason)) = failure {
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
            WriteHealth::PROCESS.clear(generation);
        }
        Ok(())
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
        // Only "any at all?" matters: `EXISTS` stops at the first row
        // instead of counting whole tables.
        let row = sqlx::query(
            "SELECT \
               CAST(CASE WHEN EXISTS (SELECT 1 FROM users) THEN 1 ELSE 0 END AS BIGINT) \
                 AS users, \
               CAST(CASE WHEN EXISTS (SELECT 1 FROM reports) THEN 1 ELSE 0 END AS BIGINT) \
                 AS reports, \
               CAST(CASE WHEN EXISTS (SELECT 1 FROM audit_events) THEN 1 ELSE 0 END AS BIGINT) \
                 AS audit_events, \
               CAST(CASE WHEN EXISTS (SELECT 1 FROM sessions) \
                 OR EXISTS (SELECT 1 FROM vendor_sessions) \
                 OR EXISTS (SELECT 1 FROM users WHERE totp_secret_enc IS NOT NULL) \
                 OR EXISTS (SELECT 1 FROM outbox) \
                 OR EXISTS (SELECT 1 FROM transparency_log) THEN 1 ELSE 0 END AS BIGINT) \
                 AS key_bound",
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
