//! A member's personal API tokens: made (shown once), listed, revoked.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_app::tokens::{self, Scope, TokenError, TokenRequest, MAX_DAYS};
use serde::Deserialize;

use crate::auth::Member;
use crate::extract::{CsrfForm, IdPath, TokenOnly};
use crate::security::Csrf;
use crate::views::{fmt_time, render, Layout};
use crate::{AppError, AppState};

struct TokenRow {
    id: i64,
    name: String,
    scopes: String,
    created: String,
    expires: String,
    last_used: String,
    live: bool,
    status: String,
}

struct ScopeChoice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

#[derive(Template)]
#[template(path = "api_tokens.html")]
struct TokensPage {
    layout: Layout,
    tokens: Vec<TokenRow>,
    secret: String,
    created_name: String,
    notice: String,
    errors: Vec<String>,
    name: String,
    scopes: Vec<ScopeChoice>,
    days: String,
    max_days: i64,
}

/// `?done=revoked`
#[derive(Debug, Default, Deserialize)]
pub struct TokensQuery {
    #[serde(default)]
    done: Option<String>,
}

async fn page(
    state: &AppState,
    member: &Member,
    csrf: &str,
    request: &TokenRequest,
) -> Result<TokensPage, AppError> {
    let now = state.now_ms();
    let tokens = tokens::list(state, member.user.id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            live: t.is_live(now),
            status: if t.revoked_at_ms.is_some() {
                "revoked".into()
            } else {
                "expired".into()
            },
            name: t.name,
            scopes: t.scopes.join(", "),
            created: fmt_time(t.created_at_ms),
            expires: t.expires_at_ms.map_or_else(|| "never".into(), fmt_time),
            last_used: t.last_used_at_ms.map_or_else(|| "never".into(), fmt_time),
        })
        .collect();
    Ok(TokensPage {
        layout: member.layout(state, "API tokens", csrf),
        tokens,
        secret: String::new(),
        created_name: String::new(),
        notice: String::new(),
        errors: Vec::new(),
        name: request.name.clone(),
        scopes: Scope::ALL
            .into_iter()
            .map(|s| ScopeChoice {
                value: s.as_str(),
                label: s.label(),
                selected: request.scopes.iter().any(|r| r == s.as_str()),
            })
            .collect(),
        days: request.days.clone(),
        max_days: MAX_DAYS,
    })
}

fn blank() -> TokenRequest {
    TokenRequest {
        name: String::new(),
        scopes: vec![Scope::Read.as_str().to_owned()],
        days: "90".into(),
    }
}

/// `GET /account/tokens`
pub async fn api_tokens(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    Query(q): Query<TokensQuery>,
) -> Result<Response, AppError> {
    let mut p = page(&state, &member, &csrf.token, &blank()).await?;
    if q.done.as_deref() == Some("revoked") {
        p.notice = "The token was revoked: it no longer works.".into();
    }
    Ok(render(StatusCode::OK, &p))
}

/// `POST /account/tokens`: `name`, `scope` (repeated), `days`.
pub async fn create_api_token(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let request = TokenRequest {
        name: field("name"),
        scopes: pairs
            .iter()
            .filter(|(k, _)| k == "scope")
            .map(|(_, v)| v.clone())
            .collect(),
        days: field("days"),
    };
    match tokens::create(&state, member.user.id, &request, &member.actor()).await {
        Ok((token, secret)) => {
            let mut p = page(&state, &member, &csrf.token, &blank()).await?;
            p.secret = secret;
            p.created_name = token.name;
            Ok(render(StatusCode::CREATED, &p))
        }
        Err(TokenError::Invalid(errors)) => {
            let mut p = page(&state, &member, &csrf.token, &request).await?;
            p.errors = errors.into_iter().map(|(_, m)| m).collect();
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &p))
        }
        Err(TokenError::Store(e)) => Err(e.into()),
    }
}

/// `POST /account/tokens/{id}/revoke`
pub async fn revoke_api_token(
    State(state): State<AppState>,
    member: Member,
    IdPath(id): IdPath<i64>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    tokens::revoke(&state, member.user.id, id, &member.actor()).await?;
    Ok(Redirect::to("/account/tokens?done=revoked").into_response())
}
