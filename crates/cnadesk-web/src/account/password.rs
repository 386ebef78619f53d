//! A member changes their own password; their other sessions end.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_app::accounts::{self, AccountError};
use cnadesk_core::FieldError;
use serde::Deserialize;

use crate::auth::Member;
use crate::extract::CsrfForm;
use crate::security::Csrf;
use crate::views::{error_for, render, Layout};
use crate::{AppError, AppState};

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    layout: Layout,
    notice: String,
    errors: Vec<FieldError>,
}

impl PasswordPage {
    fn error_for(&self, field: &str) -> String {
        error_for(&self.errors, field)
    }
}

/// `?ended=N` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct PasswordQuery {
    #[serde(default)]
    ended: Option<u64>,
}

/// `GET /account/password`
pub async fn password_form(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    Query(q): Query<PasswordQuery>,
) -> Response {
    let notice = q.ended.map_or_else(String::new, |n| {
        format!(
            "Your password was changed. {} other session{} of yours ended.",
            n,
            if n == 1 { "" } else { "s" }
        )
    });
    render(
        StatusCode::OK,
        &PasswordPage {
            layout: member.layout(&state, "Your password", &csrf.token),
            notice,
            errors: Vec::new(),
        },
    )
}

/// The password form.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ChangePasswordForm {
    current: String,
    password: String,
    confirm: String,
}

impl std::fmt::Debug for ChangePasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // What was typed is a secret: never in Debug output.
        f.debug_struct("ChangePasswordForm")
            .field("current", &"[redacted]")
            .field("password", &"[redacted]")
            .field("confirm", &"[redacted]")
            .finish()
    }
}

/// `POST /account/password`
pub async fn password_submit(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<ChangePasswordForm>,
) -> Result<Response, AppError> {
    // Guessing the current password from a stolen session is limited like
    // guessing it at sign-in.
    if let Err(wait) = state
        .login_limiter
        .try_now(&format!("password-user:{}", member.user.id.0))
    {
        let secs = crate::ratelimit::retry_after_secs(wait);
        let page = PasswordPage {
            layout: member.layout(&state, "Your password", &csrf.token),
            notice: String::new(),
            errors: vec![FieldError::new(
                "current",
                crate::auth::too_many_attempts(secs),
            )],
        };
        return Ok(crate::error::with_retry_after(
            render(StatusCode::TOO_MANY_REQUESTS, &page),
            secs,
        ));
    }
    let errors = match accounts::change_password(
        &state,
        &member.user,
        &member.session_hash,
        &form.current,
        &form.password,
        &form.confirm,
    )
    .await
    {
        Ok(ended) => {
            return Ok(Redirect::to(&format!("/account/password?ended={ended}")).into_response())
        }
        Err(AccountError::Invalid(errors)) => errors,
        Err(AccountError::Refused(m)) => return Err(AppError::Invalid(m)),
        Err(AccountError::Hash(e)) => return Err(e.into()),
        Err(AccountError::Store(e)) => return Err(e.into()),
    };
    Ok(render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &PasswordPage {
            layout: member.layout(&state, "Your password", &csrf.token),
            notice: String::new(),
            errors,
        },
    ))
}
