//! The public transparency log: decisions of the audit log projected into
//! public entries (`cnadesk_transparency::project`), sealed while the case
//! they concern is undisclosed and revealed when it is; served as JSON lines
//! with a head signed by the CNA's Ed25519 key.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use cnadesk_core::{CaseId, ReportId};
use cnadesk_store::{NewTransparencyEntry, StoreError, TransparencyRow};
use cnadesk_transparency::project::{project as project_event, Subject};
use cnadesk_transparency::{Head, LogKey, GENESIS};

use crate::public_site::is_public;
use crate::views::rfc3339;
use crate::{AppError, AppState, ServerKey};

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
    state: &AppState,
    case: Option<CaseId>,
    report: Option<ReportId>,
) -> Result<Option<cnadesk_store::Case>, StoreError> {
    if let Some(c) = case {
        return state.store.case(c).await;
    }
    match report {
        Some(r) => state.store.case_for_report(r).await,
        None => Ok(None),
    }
}

/// Appends the entries of the audit events not yet projected; returns how
/// many. Entries about a case that is not yet public are sealed.
pub async fn project(state: &AppState) -> Result<usize, StoreError> {
    let mut appended = 0;
    loop {
        let after = state.store.notify_cursor(CURSOR).await?;
        let events = state.store.audit_events(after, 500).await?;
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
                    let case = case_of(state, case.map(CaseId), report.map(ReportId)).await?;
                    match case {
                        Some(c) => (
                            Some(c.id),
                            Some(c.report_id),
                            !is_public(state, c.id).await?,
                        ),
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
        appended += state
            .store
            .append_transparency(entries, Some((CURSOR, last)))
            .await?;
    }
}

/// Reveals the sealed entries of every case that has become public.
pub async fn reveal(state: &AppState) -> Result<usize, StoreError> {
    let mut revealed = 0;
    let now = rfc3339(state.now_ms());
    for (case, report) in state.store.sealed_transparency_subjects().await? {
        let Some(c) = case_of(state, case, report).await? else {
            continue;
        };
        if is_public(state, c.id).await? {
            revealed += state
                .store
                .reveal_transparency(Some(c.id), Some(c.report_id), &now)
                .await?;
        }
    }
    Ok(revealed)
}

/// Projects new decisions, then reveals what may now be read.
pub async fn sweep(state: &AppState) -> Result<(usize, usize), StoreError> {
    let appended = project(state).await?;
    let revealed = reveal(state).await?;
    Ok((appended, revealed))
}

/// The head of the log as it stands, signed now.
pub async fn head(state: &AppState) -> Result<Head, StoreError> {
    let last = state.store.transparency_last().await?;
    let (size, hash) = last.map_or((0, GENESIS.to_owned()), |r| (r.entry.seq, r.entry.hash));
    Ok(state
        .log_key
        .sign_head(size, &hash, &rfc3339(state.now_ms())))
}

/// The stored entries in order, up to entry `size` when given, read a
/// thousand at a time.
async fn rows(state: &AppState, size: Option<u64>) -> Result<Vec<TransparencyRow>, StoreError> {
    let mut out = Vec::new();
    loop {
        let after = out.last().map_or(0, |r: &TransparencyRow| {
            i64::try_from(r.entry.seq).unwrap_or(i64::MAX)
        });
        let page = state.store.transparency_entries(after, 1000).await?;
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
pub async fn log_lines(state: &AppState, size: Option<u64>) -> Result<String, StoreError> {
    Ok(rows(state, size)
        .await?
        .iter()
        .map(|r| r.served().to_line() + "\n")
        .collect())
}

/// `?size=N`: the log as a head of that size covers it.
#[derive(Debug, Default, serde::Deserialize)]
pub struct LogQuery {
    /// Entries 1 to `size` only.
    #[serde(default)]
    pub size: Option<u64>,
}

/// `GET /transparency/log.jsonl` (`?size=N` for the first N entries, as a
/// head of that size signs them).
pub async fn log_route(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<LogQuery>,
) -> Result<Response, AppError> {
    Ok((
        [
            (header::CONTENT_TYPE, "application/jsonl; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        log_lines(&state, q.size).await?,
    )
        .into_response())
}

/// `GET /transparency/head`
pub async fn head_route(State(state): State<AppState>) -> Result<Response, AppError> {
    let head = head(&state).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        serde_json::to_string_pretty(&head).unwrap_or_default(),
    )
        .into_response())
}

struct Row {
    seq: u64,
    time: String,
    kind: String,
    detail: String,
    sealed: bool,
}

#[derive(Template)]
#[template(path = "transparency.html")]
struct Page {
    layout: crate::views::Layout,
    rows: Vec<Row>,
    size: u64,
    sealed: usize,
    key: String,
    base: String,
}

/// `GET /transparency`: the newest entries and how to check the log.
pub async fn page(State(state): State<AppState>) -> Result<Response, AppError> {
    let stored = rows(&state, None).await?;
    let sealed = stored.iter().filter(|r| r.sealed).count();
    let size = stored.last().map_or(0, |r| r.entry.seq);
    // The newest 200, newest first; sealed ones as their commitment.
    let rows = stored
        .iter()
        .rev()
        .take(200)
        .map(|r| {
            let served = r.served();
            let (kind, detail) = match &served.content {
                None => (
                    "sealed".to_owned(),
                    format!("commitment {}", served.commitment),
                ),
                Some(c) => {
                    let detail = c
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| k.as_str() != "type")
                        .map(|(k, v)| {
                            format!(
                                "{k}: {}",
                                v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    (c["type"].as_str().unwrap_or("?").to_owned(), detail)
                }
            };
            Row {
                seq: served.seq,
                time: served.time,
                kind,
                detail,
                sealed: r.sealed,
            }
        })
        .collect();
    let mut layout =
        crate::views::Layout::anonymous(&state.config.cna_name, "Transparency log", "");
    layout.meta = Some(crate::views::PageMeta {
        url: state.url("/transparency"),
        description: "The CNA's public, hash-chained and signed log of its decisions.".into(),
        kind: "website",
        feed: None,
    });
    let page = Page {
        layout,
        rows,
        size,
        sealed,
        key: state.log_key.public_hex(),
        base: state.url(""),
    };
    Ok(crate::views::render(StatusCode::OK, &page))
}
