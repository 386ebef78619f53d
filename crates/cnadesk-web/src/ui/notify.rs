//! Notification pages: a member's channels and choices, the admin's view of
//! the outbox and of the mail quarantine.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_notify::openpgp::PublicCert;
use cnadesk_store::{JobState, MemberContact, NotificationPref, OutboxFilter};
use serde::Deserialize;

use crate::auth::{Admin, Member};
use crate::extract::{CsrfForm, TokenOnly};
use crate::security::Csrf;
use crate::views::{fmt_time, render, Layout};
use crate::{AppError, AppState};
use cnadesk_app::notify::{choices_of, EVENTS};

struct ChoiceRow {
    event: String,
    label: String,
    email: bool,
    xmpp: bool,
}

#[derive(Template)]
#[template(path = "notify_settings.html")]
struct SettingsPage {
    layout: Layout,
    email: String,
    jid: String,
    openpgp_key: String,
    key_summary: String,
    rows: Vec<ChoiceRow>,
    mail_enabled: bool,
    xmpp_enabled: bool,
    plaintext_details: bool,
    errors: Vec<(String, String)>,
    saved: bool,
}

/// `?saved=1` after saving.
#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

fn key_summary(armored: &str) -> String {
    if armored.trim().is_empty() {
        return String::new();
    }
    match PublicCert::parse_armored(armored) {
        Ok(cert) => format!("{} ({})", cert.fingerprint(), cert.user_ids().join(", ")),
        Err(e) => e,
    }
}

async fn settings_page(
    state: &AppState,
    member: &Member,
    csrf: &str,
    draft: Option<(MemberContact, Vec<NotificationPref>)>,
    errors: Vec<(String, String)>,
    saved: bool,
) -> Result<SettingsPage, AppError> {
    let (contact, prefs) = match draft {
        Some(d) => d,
        None => {
            let contact = state
                .store
                .member_contacts()
                .await?
                .into_iter()
                .find(|c| c.user == member.user.id)
                .unwrap_or_else(|| MemberContact::none(member.user.id));
            let prefs = choices_of(&state.store.notification_prefs().await?, member.user.id);
            (contact, prefs)
        }
    };
    let rows = EVENTS
        .iter()
        .map(|(event, label)| {
            let p = prefs.iter().find(|p| p.event == *event);
            ChoiceRow {
                event: (*event).to_owned(),
                label: (*label).to_owned(),
                email: p.is_some_and(|p| p.email),
                xmpp: p.is_some_and(|p| p.xmpp),
            }
        })
        .collect();
    Ok(SettingsPage {
        layout: member.layout(state, "Notifications", csrf),
        email: member.user.email.clone(),
        key_summary: if errors.is_empty() {
            key_summary(&contact.openpgp_key)
        } else {
            String::new()
        },
        jid: contact.jid,
        openpgp_key: contact.openpgp_key,
        rows,
        mail_enabled: state.notify.mail_enabled(),
        xmpp_enabled: state.notify.xmpp_enabled(),
        plaintext_details: state.notify.plaintext_details(),
        errors,
        saved,
    })
}

/// `GET /desk/settings/notifications`
pub async fn notify_settings(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    Query(q): Query<SavedQuery>,
) -> Result<Response, AppError> {
    let page = settings_page(
        &state,
        &member,
        &csrf.token,
        None,
        Vec::new(),
        q.saved.is_some(),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// A bare-bones check of an XMPP address: `local@domain[/resource]`.
fn looks_like_jid(s: &str) -> bool {
    let bare = s.split_once('/').map_or(s, |(b, _)| b);
    let Some((local, domain)) = bare.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.') | (domain == "localhost")
        && !domain.contains('@')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '\''))
        && s.len() <= 3071
}

/// `POST /desk/settings/notifications`: channels and choices together.
pub async fn notify_settings_save(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let user = member.user.id;
    let contact = MemberContact {
        user,
        jid: get("jid").trim().to_owned(),
        openpgp_key: get("openpgp_key").trim().replace("\r\n", "\n"),
    };
    let prefs: Vec<NotificationPref> = EVENTS
        .iter()
        .map(|(event, _)| NotificationPref {
            user,
            event: (*event).to_owned(),
            email: !get(&format!("email_{event}")).is_empty(),
            xmpp: !get(&format!("xmpp_{event}")).is_empty(),
        })
        .collect();
    let mut errors = Vec::new();
    if contact.jid.chars().any(char::is_control) {
        errors.push((
            "jid".to_owned(),
            "contains control characters (invisible ones such as NUL or ESC); type the address again"
                .to_owned(),
        ));
    } else if !contact.jid.is_empty() && !looks_like_jid(&contact.jid) {
        errors.push((
            "jid".to_owned(),
            "is not an XMPP address (expected name@example.org)".to_owned(),
        ));
    }
    if !contact.openpgp_key.is_empty() {
        match PublicCert::parse_armored(&contact.openpgp_key) {
            Ok(cert) if cert.can_encrypt() => {}
            Ok(_) => errors.push((
                "openpgp_key".to_owned(),
                "has no key that can encrypt (add an encryption subkey)".to_owned(),
            )),
            Err(e) => errors.push(("openpgp_key".to_owned(), e)),
        }
    }
    if !errors.is_empty() {
        let page = settings_page(
            &state,
            &member,
            &csrf.token,
            Some((contact, prefs)),
            errors,
            false,
        )
        .await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let now = state.now_ms();
    state
        .store
        .save_member_contact(contact, &member.actor(), now)
        .await?;
    state
        .store
        .save_notification_prefs(user, prefs, &member.actor(), now)
        .await?;
    Ok(Redirect::to("/desk/settings/notifications?saved=1").into_response())
}

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
    state
        .store
        .retry_message(id, &admin.actor(), state.now_ms())
        .await?;
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
    state
        .store
        .release_quarantined(id, &admin.actor(), state.now_ms())
        .await?;
    Ok(Redirect::to("/admin/mail/quarantine").into_response())
}

/// `GET /pgp-key.asc`: the CNA's OpenPGP public key.
pub async fn cna_public_key(State(state): State<AppState>) -> Result<Response, AppError> {
    let key = state.notify.public_key().ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pgp-keys"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        key.to_armored(),
    )
        .into_response())
}
