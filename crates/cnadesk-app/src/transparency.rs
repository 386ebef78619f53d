//! The public transparency log: decisions of the audit log projected into
//! public entries (`cnadesk_transparency::project`), sealed while the case
//! they concern is undisclosed and revealed when it is; served as JSON lines
//! with a head signed by the CNA's Ed25519 key.

use cnadesk_core::{CaseId, ReportId};
use cnadesk_store::{NewTransparencyEntry, StoreError, TransparencyRow};
use cnadesk_transparency::project::{project as project_event, Subject};
use cnadesk_transparency::{Head, LogKey, GENESIS};

use crate::advisories::is_public;
use crate::text::rfc3339;
use crate::{App, ServerKey};

/// The fan-out cursor of the projection.
pub const CURSOR: &str = "transparency";

/// The log's signing key, derived from the server key (so it survives
/// restarts and needs no file of its own).
pub fn log_key(key: &ServerKey) -> LogKey {
    let seed = hex::decode(key.sign("transparency-log-ed25519", b"seed"))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .unwrap_or([0; 32]);
    LogKey::from_seed(seed)
}

fn salt() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The case a subject belongs to, when there is one yet.
async fn case_of(
    app: &App,
    case: Option<CaseId>,
    report: Option<ReportId>,
) -> Result<Option<cnadesk_store::Case>, StoreError> {
    if let Some(c) = case {
        return app.store.case(c).await;
    }
    match report {
        Some(r) => app.store.case_for_report(r).await,
        None => Ok(None),
    }
}

/// Appends the entries of the audit events not yet projected; returns how
/// many. Entries about a case that is not yet public are sealed.
pub async fn project(app: &App) -> Result<usize, StoreError> {
    let mut appended = 0;
    loop {
        let after = app.store.notify_cursor(CURSOR).await?;
        let events = app.store.audit_events(after, 500).await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(appended);
        };
        let mut entries = Vec::new();
        for event in &events {
            let Some(p) = project_event(event) else {
                continue;
            };
            let (case_id, report_id, sealed) = match p.subject {
                Subject::Public => (None, None, false),
                Subject::Case { case, report } => {
                    let case = case_of(app, case.map(CaseId), report.map(ReportId)).await?;
                    match case {
                        Some(c) => (Some(c.id), Some(c.report_id), !is_public(app, c.id).await?),
                        // A decision on a report that is not a case yet.
                        None => (None, report.map(ReportId), true),
                    }
                }
            };
            entries.push(NewTransparencyEntry {
                time_ms: event.occurred_at_ms,
                content: p.content,
                salt: salt(),
                case_id,
                report_id,
                audit_seq: Some(event.seq),
                sealed,
            });
        }
        appended += app
            .store
            .append_transparency(entries, Some((CURSOR, last)))
            .await?;
    }
}

/// Reveals the sealed entries of every case that has become public.
pub async fn reveal(app: &App) -> Result<usize, StoreError> {
    let mut revealed = 0;
    let now = rfc3339(app.now_ms());
    for (case, report) in app.store.sealed_transparency_subjects().await? {
        let Some(c) = case_of(app, case, report).await? else {
            continue;
        };
        if is_public(app, c.id).await? {
            revealed += app
                .store
                .reveal_transparency(Some(c.id), Some(c.report_id), &now)
                .await?;
        }
    }
    Ok(revealed)
}

/// Projects new decisions, then reveals what may now be read.
pub async fn sweep(app: &App) -> Result<(usize, usize), StoreError> {
    let appended = project(app).await?;
    let revealed = reveal(app).await?;
    Ok((appended, revealed))
}

/// The head of the log as it stands, signed now.
pub async fn head(app: &App) -> Result<Head, StoreError> {
    let last = app.store.transparency_last().await?;
    let (size, hash) = last.map_or((0, GENESIS.to_owned()), |r| (r.entry.seq, r.entry.hash));
    Ok(app.log_key.sign_head(size, &hash, &rfc3339(app.now_ms())))
}

/// The stored entries in order, up to entry `size` when given, read a
/// thousand at a time.
pub async fn rows(app: &App, size: Option<u64>) -> Result<Vec<TransparencyRow>, StoreError> {
    let mut out = Vec::new();
    loop {
        let after = out.last().map_or(0, |r: &TransparencyRow| {
            i64::try_from(r.entry.seq).unwrap_or(i64::MAX)
        });
        let page = app.store.transparency_entries(after, 1000).await?;
        if page.is_empty() {
            return Ok(out);
        }
        for row in page {
            if size.is_some_and(|n| row.entry.seq > n) {
                return Ok(out);
            }
            out.push(row);
        }
    }
}

/// The log as served (sealed entries as their commitment), up to entry
/// `size` when given.
pub async fn log_lines(app: &App, size: Option<u64>) -> Result<String, StoreError> {
    Ok(rows(app, size)
        .await?
        .iter()
        .map(|r| r.served().to_line() + "\n")
        .collect())
}
