//! An invited member follows their link and chooses a password, then goes
//! on to enrol a second factor.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use cnadesk_app::accounts::{self, AcceptError};
use serde::Deserialize;

use crate::auth::start_session;
use crate::extract::CsrfForm;
use crate::public::public_layout;
use crate::security::Csrf;
use crate::views::{fmt_time, render, Layout};
use crate::{AppError, AppState};

#[derive(Template)]
#[template(path = "invitation.html")]
struct InvitationPage {
    layout: Layout,
    token: String,
    username: String,
    display_name: String,
    expires: String,
    error: String,
}

/// A link that does not work, said plainly (410).
fn link_error(e: AcceptError) -> AppError {
    match e {
        AcceptError::Link(problem) => AppError::Gone(problem.sentence()),
        AcceptError::Password(m) => AppError::Invalid(m),
        AcceptError::Hash(e) => e.into(),
        AcceptError::Store(e) => e.into(),
    }
}

async fn page(
    state: &AppState,
    token: String,
    csrf: &str,
    error: String,
) -> Result<InvitationPage, AppError> {
    let inv = accounts::invitation(state, &token)
        .await
        .map_err(link_error)?;
    Ok(InvitationPage {
        layout: public_layout(state, "Choose your password", csrf),
        token,
        username: inv.user.username,
        display_name: inv.user.display_name,
        expires: fmt_time(inv.expires_at_ms),
        error,
    })
}

/// The page, with the token in its URL kept out of `Referer` headers.
fn private(status: StatusCode, page: &InvitationPage) -> Response {
    let mut res = render(status, page);
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

/// `GET /invitation/{token}`
pub async fn invitation_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: Csrf,
) -> Result<Response, AppError> {
    let page = page(&state, token, &csrf.token, String::new()).await?;
    Ok(private(StatusCode::OK, &page))
}

/// The password form of an invitation.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ChoosePasswordForm {
    password: String,
    confirm: String,
}

impl std::fmt::Debug for ChoosePasswordForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // What was typed is a secret: never in Debug output.
        f.debug_struct("ChoosePasswordForm")
            .field("password", &"[redacted]")
            .field("confirm", &"[redacted]")
            .finish()
    }
}

/// `POST /invitation/{token}`: the account's first password; signed in,
/// on to second-factor enrolment.
pub async fn invitation_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<ChoosePasswordForm>,
) -> Result<Response, AppError> {
    match accounts::accept_invitation(&state, &token, &form.password, &form.confirm).await {
        Ok(user) => {
            tracing::info!(user = %user.username, "an invited member chose their password");
            let cookie = start_session(&state, &user, false).await?;
            Ok((
                CookieJar::new().add(cookie),
                Redirect::to("/account/totp?welcome=1"),
            )
                .into_response())
        }
        Err(AcceptError::Password(m)) => {
            let page = page(&state, token, &csrf.token, m).await?;
            Ok(private(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => Err(link_error(e)),
    }
}
