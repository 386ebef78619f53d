//! The team API's credential: a personal API token in
//! `Authorization: Bearer cnd_…`. Never a cookie, so the API needs no
//! anti-forgery token and a browser cannot be made to call it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use cnadesk_app::tokens::{self, Scope};
use cnadesk_core::Actor;
use cnadesk_store::{ApiToken, User};

use crate::{ApiError, AppState};

/// A team member acting through one of their API tokens.
#[derive(Debug, Clone)]
pub struct ApiMember {
    /// The member.
    pub user: User,
    /// The token used (its scopes bound what it may do).
    pub token: ApiToken,
}

impl ApiMember {
    /// The member as an audit actor.
    pub fn actor(&self) -> Actor {
        Actor::Member {
            id: self.user.id,
            username: self.user.username.clone(),
        }
    }

    /// `403 insufficient_scope` unless the token grants `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.token.allows(scope.as_str()) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!(
                    "this token does not have the `{}` scope ({})",
                    scope.as_str(),
                    scope.label()
                ),
            ))
        }
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

impl FromRequestParts<AppState> for ApiMember {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Err(unauthorized(
                "send a personal API token as `Authorization: Bearer cnd_…` (make one on your account page)",
            ));
        };
        let secret = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .unwrap_or_default();
        match tokens::authenticate(state, secret).await? {
            // A token made before the policy asked for a second factor is
            // no way round it.
            Some((_, user))
                if !user.totp_enabled && state.settings.accounts.totp_required(user.role) =>
            {
                Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "second_factor_required",
                    "this token's account must enrol a second factor (at /account/totp) before using the desk",
                ))
            }
            Some((token, user)) => Ok(ApiMember { user, token }),
            None => Err(unauthorized(
                "the token is unknown, expired or revoked, or its account is deactivated",
            )),
        }
    }
}
