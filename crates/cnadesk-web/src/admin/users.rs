//! Team accounts, for admins: list, create, activate and deactivate.

use crate::account::AccountForm;
use crate::auth::{hash_password, Admin, Member};
use crate::extract::{CsrfForm, IdPath};
use crate::security::Csrf;
use crate::views::error_for;
use crate::views::{fmt_time, render, Layout};
use crate::{AppError, AppState};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_app::accounts::validate_new_account;
use cnadesk_core::report::without_controls;
use cnadesk_core::{FieldError, Role, UserId};
use cnadesk_store::NewUser;
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
    let mut errors = validate_new_account(
        &form.username,
        &form.display_name,
        &form.email,
        &form.password,
        &form.confirm,
    );
    let role = form.role.as_deref().unwrap_or("member").parse::<Role>();
    if let Err(m) = &role {
        errors.push(FieldError::new("role", m.clone()));
    }
    if errors.is_empty() {
        let new = NewUser {
            username: form.username.trim().to_owned(),
            display_name: form.display_name.trim().to_owned(),
            email: form.email.trim().to_owned(),
            role: role.unwrap_or(Role::Member),
            password_hash: hash_password(form.password.clone()).await?,
        };
        match state
            .store
            .create_user(new, &admin.actor(), state.now_ms())
            .await
        {
            Ok(u) => {
                return Ok(Redirect::to(&format!(
                    "/admin/users?created={}",
                    crate::auth::encode_component(&u.username)
                ))
                .into_response())
            }
            Err(cnadesk_store::StoreError::Conflict(_)) => {
                errors.push(FieldError::new("username", "is already taken"))
            }
            Err(e) => return Err(e.into()),
        }
    }
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
    if id == admin.user.id && !active {
        return Err(AppError::Invalid(
            "You cannot deactivate your own account; ask another admin.".into(),
        ));
    }
    state
        .store
        .set_user_active(id, active, &admin.actor(), state.now_ms())
        .await?;
    Ok(Redirect::to("/admin/users").into_response())
}
