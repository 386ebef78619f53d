//! Team accounts, for admins: list, invite a member by an e-mailed link (the
//! link is also shown once, for a desk without mail), make a new link for
//! an invitation not yet followed, activate and deactivate.

use std::collections::HashMap;

use crate::auth::{Admin, Member};
use crate::extract::{CsrfForm, IdPath, TokenOnly};
use crate::security::Csrf;
use crate::views::error_for;
use crate::views::{fmt_time, render, Layout};
use crate::{AppError, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_app::accounts::{self, AccountError, InviteInput, Invited};
use cnadesk_core::report::without_controls;
use cnadesk_core::{FieldError, UserId};
use serde::Deserialize;

struct UserRow {
    id: i64,
    username: String,
    display_name: String,
    email: String,
    role: String,
    active: bool,
    totp: bool,
    created: String,
    is_self: bool,
    /// An invitation not yet followed: when its link expires (or expired).
    invitation: Option<String>,
}

/// An invitation just made, for the admin to see once.
struct NewLink {
    username: String,
    email: String,
    link: String,
    expires: String,
    mailed: bool,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    username: String,
    display_name: String,
    email: String,
    role: String,
    errors: Vec<FieldError>,
    invited: Option<NewLink>,
}

impl UsersPage {
    fn error_for(&self, field: &str) -> String {
        error_for(&self.errors, field)
    }
}

/// The invitation form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteForm {
    username: String,
    display_name: String,
    email: String,
    role: Option<String>,
}

async fn users_page(
    state: &AppState,
    admin: &Member,
    csrf: &str,
    form: Option<&InviteForm>,
    errors: Vec<FieldError>,
    invited: Option<NewLink>,
) -> Result<UsersPage, AppError> {
    let now = state.now_ms();
    let open: HashMap<UserId, i64> = state
        .store
        .open_user_invitations()
        .await?
        .into_iter()
        .map(|i| (i.user.id, i.expires_at_ms))
        .collect();
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id.0,
            is_self: u.id == admin.user.id,
            invitation: open.get(&u.id).map(|&at| {
                if at > now {
                    format!("invited; the link works until {}", fmt_time(at))
                } else {
                    format!("invited; the link expired {}", fmt_time(at))
                }
            }),
            username: u.username,
            display_name: u.display_name,
            email: u.email,
            role: u.role.to_string(),
            active: u.active,
            totp: u.totp_enabled,
            created: fmt_time(u.created_at_ms),
        })
        .collect();
    Ok(UsersPage {
        layout: admin.layout(state, "Team accounts", csrf),
        users,
        username: form.map(|f| f.username.clone()).unwrap_or_default(),
        display_name: form.map(|f| f.display_name.clone()).unwrap_or_default(),
        // Invisible characters are refused, and not shown back.
        email: form.map(|f| without_controls(&f.email)).unwrap_or_default(),
        role: form
            .and_then(|f| f.role.clone())
            .unwrap_or_else(|| "member".into()),
        errors,
        invited,
    })
}

fn new_link(invited: Invited) -> NewLink {
    NewLink {
        username: invited.user.username,
        email: invited.user.email,
        link: invited.link,
        expires: fmt_time(invited.expires_at_ms),
        mailed: invited.mailed,
    }
}

/// `GET /admin/users`
pub async fn users(
    State(state): State<AppState>,
    Admin(admin): Admin,
    csrf: Csrf,
) -> Result<Response, AppError> {
    let page = users_page(&state, &admin, &csrf.token, None, Vec::new(), None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/users`: invites a member. The page shows the link once.
pub async fn invite_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Result<Response, AppError> {
    let input = InviteInput {
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        email: form.email.clone(),
        role: form.role.clone(),
    };
    let errors = match accounts::invite_user(&state, &input, &admin.actor()).await {
        Ok(invited) => {
            let page = users_page(
                &state,
                &admin,
                &csrf.token,
                None,
                Vec::new(),
                Some(new_link(invited)),
            )
            .await?;
            return Ok(render(StatusCode::OK, &page));
        }
        Err(AccountError::Invalid(errors)) => errors,
        Err(e) => return Err(account_error(e)),
    };
    let page = users_page(&state, &admin, &csrf.token, Some(&form), errors, None).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// `POST /admin/users/{id}/invitation`: a new link for an invitation not
/// yet followed (the old link stops working).
pub async fn renew_invitation(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdPath(id): IdPath<UserId>,
    csrf: Csrf,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let invited = accounts::renew_invitation(&state, id, &admin.actor())
        .await
        .map_err(account_error)?;
    let page = users_page(
        &state,
        &admin,
        &csrf.token,
        None,
        Vec::new(),
        Some(new_link(invited)),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// The activate/deactivate form.
#[derive(Debug, Deserialize)]
pub struct ActiveForm {
    active: String,
}

/// `POST /admin/users/{id}/active`
pub async fn set_user_active(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdPath(id): IdPath<UserId>,
    CsrfForm(form): CsrfForm<ActiveForm>,
) -> Result<Response, AppError> {
    let active = form.active == "1";
    accounts::set_user_active(&state, admin.user.id, id, active, &admin.actor())
        .await
        .map_err(account_error)?;
    Ok(Redirect::to("/admin/users").into_response())
}

/// An account step's refusal as the error page.
fn account_error(e: AccountError) -> AppError {
    match e {
        AccountError::Invalid(errors) => AppError::Invalid(
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        AccountError::Refused(m) => AppError::Invalid(m),
        AccountError::Hash(e) => e.into(),
        AccountError::Store(e) => e.into(),
    }
}
