//! A member's recovery codes: how many are left, and new ones (shown once)
//! in exchange for a current code from the authenticator app.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::auth::{matching_step, totp, Member};
use crate::extract::CsrfForm;
use crate::security::Csrf;
use crate::views::{render, Layout};
use crate::{AppError, AppState};

#[derive(Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryPage {
    layout: Layout,
    enabled: bool,
    codes_left: i64,
    /// New codes: shown this once.
    codes: Vec<String>,
    error: String,
}

async fn page(
    state: &AppState,
    member: &Member,
    csrf: &str,
    error: String,
) -> Result<RecoveryPage, AppError> {
    Ok(RecoveryPage {
        layout: member.layout(state, "Recovery codes", csrf),
        enabled: member.user.totp_enabled,
        codes_left: state.store.recovery_codes_left(member.user.id).await?,
        codes: Vec::new(),
        error,
    })
}

/// `GET /account/recovery-codes`
pub async fn recovery_codes(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
) -> Result<Response, AppError> {
    let page = page(&state, &member, &csrf.token, String::new()).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The form: a current code from the app.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct RegenerateForm {
    code: String,
}

impl std::fmt::Debug for RegenerateForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // What was typed is a secret: never in Debug output.
        f.debug_struct("RegenerateForm")
            .field("code", &"[redacted]")
            .finish()
    }
}

/// `POST /account/recovery-codes`: new codes replace the old ones.
pub async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<RegenerateForm>,
) -> Result<Response, AppError> {
    if !member.user.totp_enabled {
        let page = page(
            &state,
            &member,
            &csrf.token,
            "Turn on two-factor sign-in first: recovery codes come with it.".into(),
        )
        .await?;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    if let Err(wait) = state
        .login_limiter
        .try_now(&format!("totp-user:{}", member.user.id.0))
    {
        let secs = crate::ratelimit::retry_after_secs(wait);
        let page = page(
            &state,
            &member,
            &csrf.token,
            crate::auth::too_many_attempts(secs),
        )
        .await?;
        return Ok(crate::error::with_retry_after(
            render(StatusCode::TOO_MANY_REQUESTS, &page),
            secs,
        ));
    }
    let secret = state
        .store
        .user_credentials_by_id(member.user.id)
        .await?
        .and_then(|c| c.totp_secret_enc)
        .and_then(|enc| state.key.open("totp", &enc))
        .ok_or_else(|| {
            AppError::Internal(format!(
                "the TOTP secret of {} cannot be decrypted (was the secret key changed?)",
                member.user.username
            ))
        })?;
    let now_secs = state.clock.now().as_second();
    // Each time step is accepted once, here as at sign-in.
    let accepted = match matching_step(&totp(secret)?, &form.code, now_secs) {
        Some(step) => state.store.use_totp_step(member.user.id, step).await?,
        None => false,
    };
    if !accepted {
        let page = page(
            &state,
            &member,
            &csrf.token,
            "That code is not valid (or was already used). Enter the current code from your app; if you just used it, wait for the next one.".into(),
        )
        .await?;
        return Ok(render(StatusCode::UNAUTHORIZED, &page));
    }
    let codes = cnadesk_app::recovery::regenerate(&state, member.user.id, &member.actor()).await?;
    let mut page = page(&state, &member, &csrf.token, String::new()).await?;
    page.codes = codes;
    Ok(render(StatusCode::OK, &page))
}
