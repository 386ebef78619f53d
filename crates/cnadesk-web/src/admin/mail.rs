//! Mail, for admins: the outbox (every message with its status, retry)
//! and the quarantine of received mail that could not be filed.

use crate::auth::Admin;
use crate::extract::{CsrfForm, TokenOnly};
use crate::security::Csrf;
use crate::views::{fmt_time, render, Layout};
use crate::{AppError, AppState};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_store::{JobState, OutboxFilter};
use serde::Deserialize;

struct OutboxRow {
    id: i64,
    channel: String,
    recipient: String,
    template: String,
    state: String,
    last_error: String,
    created: String,
    sent: String,
    link: String,
    failed: bool,
}

#[derive(Template)]
#[template(path = "outbox.html")]
struct OutboxPage {
    layout: Layout,
    rows: Vec<OutboxRow>,
    filter: String,
    mail_enabled: bool,
    xmpp_enabled: bool,
    xmpp_connected: bool,
}

/// `?state=queued|running|done|failed`
#[derive(Debug, Default, Deserialize)]
pub struct OutboxQuery {
    #[serde(default)]
    state: String,
}

/// `GET /admin/outbox`: every message with its status.
pub async fn outbox(
    State(state): State<AppState>,
    Admin(admin): Admin,
    csrf: Csrf,
    Query(q): Query<OutboxQuery>,
) -> Result<Response, AppError> {
    let filter_state = match q.state.as_str() {
        "" => None,
        s => Some(s.parse::<JobState>().map_err(|_| AppError::NotFound)?),
    };
    let messages = state
        .store
        .outbox(OutboxFilter {
            state: filter_state,
            report: None,
            limit: 500,
        })
        .await?;
    let rows = messages
        .into_iter()
        .map(|m| OutboxRow {
            state: cnadesk_app::notify::delivery_status(&m),
            id: m.id,
            channel: m.channel.to_string(),
            recipient: m.recipient,
            template: m.template,
            last_error: m.last_error,
            created: fmt_time(m.created_at_ms),
            sent: m.sent_at_ms.map(fmt_time).unwrap_or_default(),
            link: match (m.case_id, m.report_id) {
                (Some(c), _) => format!("/desk/cases/{c}"),
                (None, Some(r)) => format!("/desk/reports/{r}"),
                _ => String::new(),
            },
            failed: m.state == JobState::Failed,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &OutboxPage {
            layout: admin.layout(&state, "Outbox", &csrf.token),
            rows,
            filter: q.state,
            mail_enabled: state.notify.mail_enabled(),
            xmpp_enabled: state.notify.xmpp_enabled(),
            xmpp_connected: state.notify.xmpp_connected(),
        },
    ))
}

/// `POST /admin/outbox/{id}/retry`: queue a failed message again.
pub async fn outbox_retry(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    cnadesk_app::mail_admin::retry_message(&state, id, &admin.actor()).await?;
    Ok(Redirect::to("/admin/outbox").into_response())
}

struct QuarantineRow {
    id: i64,
    reason: String,
    mail_from: String,
    rcpt_to: String,
    size: i64,
    received: String,
    released: String,
}

#[derive(Template)]
#[template(path = "quarantine.html")]
struct QuarantinePage {
    layout: Layout,
    rows: Vec<QuarantineRow>,
    all: bool,
}

#[derive(Template)]
#[template(path = "quarantined_mail.html")]
struct QuarantinedPage {
    layout: Layout,
    row: QuarantineRow,
    raw: String,
    truncated: bool,
}

/// `?all=1` to include released mail.
#[derive(Debug, Default, Deserialize)]
pub struct QuarantineQuery {
    #[serde(default)]
    all: Option<String>,
}

fn quarantine_row(q: &cnadesk_store::Quarantined) -> QuarantineRow {
    QuarantineRow {
        id: q.id,
        reason: q.reason.clone(),
        mail_from: if q.mail_from.is_empty() {
            "<> (a bounce)".into()
        } else {
            q.mail_from.clone()
        },
        rcpt_to: q.rcpt_to.clone(),
        size: q.size,
        received: fmt_time(q.received_at_ms),
        released: q.released_at_ms.map(fmt_time).unwrap_or_default(),
    }
}

/// `GET /admin/mail/quarantine`
pub async fn quarantine(
    State(state): State<AppState>,
    Admin(admin): Admin,
    csrf: Csrf,
    Query(q): Query<QuarantineQuery>,
) -> Result<Response, AppError> {
    let all = q.all.is_some();
    let rows = state
        .store
        .quarantined_mail(all)
        .await?
        .iter()
        .map(quarantine_row)
        .collect();
    Ok(render(
        StatusCode::OK,
        &QuarantinePage {
            layout: admin.layout(&state, "Mail quarantine", &csrf.token),
            rows,
            all,
        },
    ))
}

/// `GET /admin/mail/quarantine/{id}`: the message as received (as text).
pub async fn quarantined_mail(
    State(state): State<AppState>,
    Admin(admin): Admin,
    csrf: Csrf,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let q = state
        .store
        .quarantined(id)
        .await?
        .ok_or(AppError::NotFound)?;
    const SHOWN: usize = 256 * 1024;
    let truncated = q.raw.len() > SHOWN;
    let raw = String::from_utf8_lossy(&q.raw[..q.raw.len().min(SHOWN)]).into_owned();
    Ok(render(
        StatusCode::OK,
        &QuarantinedPage {
            layout: admin.layout(&state, &format!("Quarantined mail {id}"), &csrf.token),
            row: quarantine_row(&q),
            raw,
            truncated,
        },
    ))
}

/// `GET /admin/mail/quarantine/{id}/raw`: download as `.eml` (never rendered).
pub async fn quarantined_raw(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let q = state
        .store
        .quarantined(id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"quarantine-{id}.eml\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        q.raw,
    )
        .into_response())
}

/// `POST /admin/mail/quarantine/{id}/release`: dealt with.
pub async fn quarantine_release(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<i64>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    cnadesk_app::mail_admin::release_quarantined(&state, id, &admin.actor()).await?;
    Ok(Redirect::to("/admin/mail/quarantine").into_response())
}
