//! The transparency log's pages: the log as JSON lines, its signed head,
//! and a page to read it.

use askama::Template;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::{AppError, AppState};
use cnadesk_app::transparency::{head, log_lines, rows};

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
    let mut layout = crate::views::Layout::public(&state, "Transparency log", "");
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
