//! Team accounts, for admins: list, create, activate and deactivate.

use crate::account::AccountForm;
use crate::auth::{Admin, Member};
use crate::extract::{CsrfForm, IdPath};
use crate::security::Csrf;
use crate::views::error_for;
use crate::views::{fmt_time, render, Layout};
use crate::{AppError, AppState};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_app::accounts::{self, AccountError, NewAccountInput};
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
    created: String,
}

impl UsersPage {
    fn error_for(&self, field: &str) -> String {
        error_for(&self.errors, field)
    }
}

async fn users_page(
    state: &AppState,
    admin: &Member,
    csrf: &str,
    form: Option<&AccountForm>,
    errors: Vec<FieldError>,
    created: String,
) -> Result<UsersPage, AppError> {
    let users = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| UserRow {
            id: u.id.0,
            is_self: u.id == admin.user.id,
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
        created,
    })
}

/// Query of the accounts page.
#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    created: Option<String>,
}

/// `GET /admin/users`
pub async fn users(
    State(state): State<AppState>,
    Admin(admin): Admin,
    csrf: Csrf,
    Query(q): Query<UsersQuery>,
) -> Result<Response, AppError> {
    let page = users_page(
        &state,
        &admin,
        &csrf.token,
        None,
        Vec::new(),
        q.created.unwrap_or_default(),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// `POST /admin/users`
pub async fn create_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<AccountForm>,
) -> Result<Response, AppError> {
    let input = NewAccountInput {
        username: form.username.clone(),
        display_name: form.display_name.clone(),
        email: form.email.clone(),
        password: form.password.clone(),
        confirm: form.confirm.clone(),
        role: form.role.clone(),
    };
    let errors = match accounts::create_user(&state, &input, &admin.actor()).await {
        Ok(u) => {
            return Ok(Redirect::to(&format!(
                "/admin/users?created={}",
                crate::auth::encode_component(&u.username)
            ))
            .into_response())
        }
        Err(AccountError::Invalid(errors)) => errors,
        Err(e) => return Err(account_error(e)),
    };
    let page = users_page(
        &state,
        &admin,
        &csrf.token,
        Some(&form),
        errors,
        String::new(),
    )
    .await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
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
