//! Personal API tokens: a member makes one for a script or a tool, with
//! only the scopes it needs. The token is shown once; the store keeps its
//! SHA-256. It acts as its member (their role, their recusals, the
//! two-person rule) and never beyond its scopes; revoking it, or
//! deactivating the member, ends it at once.

use cnadesk_core::{Actor, UserId};
use cnadesk_store::{ApiToken, NewApiToken, StoreError, User};

use crate::keys::{random_token, sha256_hex};
use crate::text::check_text;
use crate::App;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// Read reports, cases, records, CVE IDs and coordination.
    Read,
    /// Accept and close reports, decide their scope.
    Triage,
    /// Check and save record versions, approve a version.
    Records,
    /// Reserve CVE IDs and publish records.
    Cve,
    /// Invite vendors and set embargoes.
    Coordination,
}

impl Scope {
    /// Every scope, in the order forms list them.
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::Triage,
        Scope::Records,
        Scope::Cve,
        Scope::Coordination,
    ];

    /// Its name in tokens and the API (`read`, `triage` …).
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Triage => "triage",
            Scope::Records => "records",
            Scope::Cve => "cve",
            Scope::Coordination => "coordination",
        }
    }

    /// What it allows, in words.
    pub fn label(self) -> &'static str {
        match self {
            Scope::Read => "read reports, cases, records, CVE IDs and coordination",
            Scope::Triage => "accept and close reports, decide their scope",
            Scope::Records => "check and save record versions, approve a version",
            Scope::Cve => "reserve CVE IDs and publish records",
            Scope::Coordination => "invite vendors and set embargoes",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| {
                format!("`{s}` is not a scope (read, triage, records, cve, coordination)")
            })
    }
}

/// The prefix of every token, so a leaked one is recognisable (e.g. by
/// secret scanners) and never mistaken for a session cookie.
pub const PREFIX: &str = "cnd_";

/// Longest token lifetime a member may choose, in days.
pub const MAX_DAYS: i64 = 366;

/// A token as a member asks for it.
#[derive(Clone, Debug, Default)]
pub struct TokenRequest {
    /// Their name for it (what it is for).
    pub name: String,
    /// Scope names.
    pub scopes: Vec<String>,
    /// Days until it expires (1 to [`MAX_DAYS`]).
    pub days: String,
}

/// Why a token was not made.
#[derive(Debug)]
pub enum TokenError {
    /// The request was wrong: (field, sentence).
    Invalid(Vec<(String, String)>),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        TokenError::Store(e)
    }
}

/// Makes a token for `user`; returns it with the secret (shown once).
pub async fn create(
    app: &App,
    user: UserId,
    request: &TokenRequest,
    actor: &Actor,
) -> Result<(ApiToken, String), TokenError> {
    let mut errors = Vec::new();
    if let Err(m) = check_text("The name", &request.name, 100, true, false) {
        errors.push(("name".to_owned(), m));
    }
    let mut scopes: Vec<Scope> = Vec::new();
    for s in &request.scopes {
        match s.parse::<Scope>() {
            Ok(scope) if !scopes.contains(&scope) => scopes.push(scope),
            Ok(_) => {}
            Err(m) => errors.push(("scopes".to_owned(), m)),
        }
    }
    if scopes.is_empty() && errors.iter().all(|(f, _)| f != "scopes") {
        errors.push(("scopes".to_owned(), "Choose at least one scope.".to_owned()));
    }
    scopes.sort();
    let days = match request.days.trim().parse::<i64>() {
        Ok(d) if (1..=MAX_DAYS).contains(&d) => d,
        _ => {
            errors.push((
                "days".to_owned(),
                format!("The lifetime is a number of days from 1 to {MAX_DAYS}."),
            ));
            0
        }
    };
    if !errors.is_empty() {
        return Err(TokenError::Invalid(errors));
    }
    let secret = format!("{PREFIX}{}", random_token());
    let now = app.now_ms();
    let token = app
        .store
        .create_api_token(
            NewApiToken {
                user_id: user,
                name: request.name.trim().to_owned(),
                scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
                token_hash: sha256_hex(&secret),
                expires_at_ms: Some(now + days * 86_400_000),
            },
            actor,
            now,
        )
        .await?;
    Ok((token, secret))
}

/// The member and token a presented secret stands for, if it is live.
pub async fn authenticate(app: &App, secret: &str) -> Result<Option<(ApiToken, User)>, StoreError> {
    if !secret.starts_with(PREFIX) {
        return Ok(None);
    }
    app.store
        .use_api_token(&sha256_hex(secret), app.now_ms())
        .await
}

/// A member's tokens, newest first.
pub async fn list(app: &App, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
    app.store.api_tokens_of(user).await
}

/// Revokes one of `user`'s tokens.
pub async fn revoke(app: &App, user: UserId, id: i64, actor: &Actor) -> Result<(), StoreError> {
    app.store
        .revoke_api_token(user, id, actor, app.now_ms())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_and_unknown_ones_are_named() {
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        let err = "admin".parse::<Scope>().unwrap_err();
        assert!(err.contains("`admin`"), "{err}");
    }
}
