//! Notification pages: a member's channels and choices, the admin's view of
//! the outbox and of the mail quarantine.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_notify::openpgp::PublicCert;
use cnadesk_store::{MemberContact, NotificationPref};
use serde::Deserialize;

use crate::auth::Member;
use crate::extract::CsrfForm;
use crate::security::Csrf;
use crate::views::{render, Layout};
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
