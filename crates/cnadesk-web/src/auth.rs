//! Passwords, sessions, the second factor, and the extractors that guard the
//! team's pages.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use cnadesk_core::{Actor, Role};
use cnadesk_store::{NewSession, User};
use totp_rs::{Algorithm, TOTP};

use crate::security::{random_token, sha256_hex, ClientIp};
use crate::views::{Layout, NavMember};
use crate::{AppError, AppState};

pub use crate::cookies::SESSION_COOKIE;

pub use cnadesk_app::accounts::{
    check_password_policy, hash_password, verify_password, MIN_PASSWORD_CHARS,
};

/// A fresh session id: the row to store (hashed id) and the cookie to set.
pub fn new_session(
    state: &AppState,
    user: &User,
    mfa_pending: bool,
) -> (NewSession, Cookie<'static>) {
    let token = random_token();
    let now = state.now_ms();
    let ttl_ms = i64::try_from(state.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
    let row = NewSession {
        id_hash: sha256_hex(&token),
        user_id: user.id,
        mfa_pending,
        created_at_ms: now,
        expires_at_ms: now.saturating_add(ttl_ms),
    };
    let cookie = Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.cookie_secure)
        .build();
    (row, cookie)
}

/// Starts a session and returns the cookie to set.
pub async fn start_session(
    state: &AppState,
    user: &User,
    mfa_pending: bool,
) -> Result<Cookie<'static>, AppError> {
    let (row, cookie) = new_session(state, user, mfa_pending);
    state
        .store
        .create_session(
            row,
            &Actor::Member {
                id: user.id,
                username: user.username.clone(),
            },
        )
        .await?;
    Ok(cookie)
}

/// A cookie that removes the session cookie.
pub fn clear_session_cookie() -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, "")).path("/").build()
}

/// The hash of the session cookie of a request, if any.
pub fn session_hash(jar: &CookieJar) -> Option<String> {
    cookie_hash(jar, SESSION_COOKIE)
}

/// The hash of a session cookie `name` (team or vendor), if any.
pub fn cookie_hash(jar: &CookieJar, name: &str) -> Option<String> {
    jar.get(name)
        .map(|c| c.value())
        .filter(|v| !v.is_empty())
        .map(sha256_hex)
}

/// A password attempt the sign-in throttle let through: tell it how it went.
#[derive(Debug)]
pub struct LoginAttempt {
    throttle: std::sync::Arc<crate::LoginThrottle>,
    account: String,
    address: String,
    now_ms: i64,
}

impl LoginAttempt {
    /// The password was wrong (or the account unknown).
    pub fn failed(&self) {
        self.throttle
            .failed(&self.account, &self.address, self.now_ms);
    }

    /// The password was right: this address starts afresh for the account.
    pub fn succeeded(&self) {
        self.throttle.succeeded(&self.account, &self.address);
    }
}

/// The sign-in limits (see [`crate::LoginThrottle`]): per address, per
/// account and address, and a slow-down per account that only ever holds
/// back addresses that failed themselves. `kind` names the account table,
/// `name` the account. `Ok`: go ahead and report the outcome;
/// `Err(seconds)`: refused, retry after that many seconds.
pub fn login_allowed(
    state: &AppState,
    ip: &ClientIp,
    kind: &str,
    name: &str,
) -> Result<LoginAttempt, u64> {
    let address = ip.limit_key();
    // Keyed by a hash: a huge name cannot make the limiter hold it.
    let account = format!("{kind}:{}", sha256_hex(name));
    let now_ms = state.now_ms();
    match state.login_throttle.admit(&account, &address, now_ms) {
        Ok(()) => Ok(LoginAttempt {
            throttle: state.login_throttle.clone(),
            account,
            address,
            now_ms,
        }),
        Err(wait) => {
            tracing::warn!(client = %address, kind, "sign-in rate limit reached");
            Err(crate::ratelimit::retry_after_secs(wait))
        }
    }
}

/// What a sign-in page says when it refuses an attempt for `secs` seconds.
/// Passwords and second-factor codes alike.
pub fn too_many_attempts(secs: u64) -> String {
    format!(
        "Too many sign-in attempts. Try again in {}.",
        crate::ratelimit::wait_in_words(secs)
    )
}

/// A signed-in member with both factors done.
#[derive(Clone, Debug)]
pub struct Member {
    /// The account.
    pub user: User,
    /// Hash of the session id (for sign-out).
    pub session_hash: String,
}

impl Member {
    /// The member as an audit actor.
    pub fn actor(&self) -> Actor {
        Actor::Member {
            id: self.user.id,
            username: self.user.username.clone(),
        }
    }

    /// The layout for a page this member sees.
    pub fn layout(&self, state: &AppState, title: &str, csrf: &str) -> Layout {
        Layout {
            cna_name: state.settings.cna_name.clone(),
            title: title.to_owned(),
            member: Some(NavMember {
                display_name: self.user.display_name.clone(),
                is_admin: self.user.role == Role::Admin,
            }),
            csrf: csrf.to_owned(),
            vendor: None,
            meta: None,
            demo: state.is_demo(),
        }
    }
}

/// Why a team page refused a request.
#[derive(Debug)]
pub enum AuthRejection {
    /// Not signed in: go to the sign-in page, then come back.
    SignIn(String),
    /// Password done, second factor pending.
    SecondFactor,
    /// A second factor must be enrolled first (the account policy).
    EnrolTotp,
    /// Signed in but not allowed.
    Forbidden,
    /// The store failed.
    Internal(AppError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::SignIn(next) => {
                let target = if next == "/" || next.is_empty() {
                    "/login".to_owned()
                } else {
                    format!("/login?next={}", encode_component(&next))
                };
                Redirect::to(&target).into_response()
            }
            AuthRejection::SecondFactor => Redirect::to("/login/totp").into_response(),
            AuthRejection::EnrolTotp => Redirect::to("/account/totp").into_response(),
            AuthRejection::Forbidden => AppError::Forbidden.into_response(),
            AuthRejection::Internal(e) => e.into_response(),
        }
    }
}

async fn load_session(
    parts: &Parts,
    state: &AppState,
) -> Result<Option<(cnadesk_store::SessionWithUser, String)>, AuthRejection> {
    let jar = CookieJar::from_headers(&parts.headers);
    let Some(hash) = session_hash(&jar) else {
        return Ok(None);
    };
    let session = state
        .store
        .session(&hash, state.now_ms())
        .await
        .map_err(|e| AuthRejection::Internal(e.into()))?;
    Ok(session.map(|s| (s, hash)))
}

impl FromRequestParts<AppState> for Member {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let path = parts.uri.path().to_owned();
        let Some((session, hash)) = load_session(parts, state).await? else {
            let next = if parts.method == axum::http::Method::GET {
                parts
                    .uri
                    .path_and_query()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            return Err(AuthRejection::SignIn(next));
        };
        if session.mfa_pending {
            return Err(AuthRejection::SecondFactor);
        }
        // Under the policy, nothing but enrolment (and signing out, which
        // needs no member) until a second factor is enrolled.
        if !session.user.totp_enabled
            && state.settings.accounts.totp_required(session.user.role)
            && path != "/account/totp"
        {
            return Err(AuthRejection::EnrolTotp);
        }
        Ok(Member {
            user: session.user,
            session_hash: hash,
        })
    }
}

/// A signed-in admin.
#[derive(Clone, Debug)]
pub struct Admin(pub Member);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let member = Member::from_request_parts(parts, state).await?;
        if member.user.role.can_manage_users() {
            Ok(Admin(member))
        } else {
            Err(AuthRejection::Forbidden)
        }
    }
}

/// A session whose password was checked and whose second factor is pending.
#[derive(Clone, Debug)]
pub struct PendingSecondFactor {
    /// The account.
    pub user: User,
    /// Hash of the session id.
    pub session_hash: String,
}

impl FromRequestParts<AppState> for PendingSecondFactor {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match load_session(parts, state).await? {
            Some((s, hash)) if s.mfa_pending => Ok(PendingSecondFactor {
                user: s.user,
                session_hash: hash,
            }),
            Some(_) => Err(AuthRejection::Forbidden),
            None => Err(AuthRejection::SignIn(String::new())),
        }
    }
}

/// Only same-site relative paths are followed after sign-in (no open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() <= 2000
                // Browsers drop tabs and newlines from URLs (`/\t/evil` becomes
                // `//evil`); a path never needs them, nor backslashes or spaces.
                && n.chars().all(|c| c.is_ascii_graphic() && c != '\\') =>
        {
            n.to_owned()
        }
        _ => "/desk".to_owned(),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// TOTP parameters: RFC 6238 defaults that every authenticator app supports.
pub fn totp(secret: Vec<u8>) -> Result<TOTP, AppError> {
    TOTP::new(Algorithm::SHA1, 6, 1, 30, secret)
        .map_err(|e| AppError::Internal(format!("TOTP setup: {e}")))
}

/// The time step a code is valid for at `now_secs` (one step of drift either
/// way), or `None`.
pub fn matching_step(totp: &TOTP, code: &str, now_secs: i64) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = now_secs.div_euclid(30);
    [step, step - 1, step + 1].into_iter().find(|s| {
        u64::try_from(*s * 30)
            .map(|t| totp.generate(t) == code)
            .unwrap_or(false)
    })
}

/// The `otpauth://` URL authenticator apps read from the QR code.
pub fn otpauth_url(issuer: &str, account: &str, secret: &[u8]) -> String {
    let secret = data_encoding::BASE32_NOPAD.encode(secret);
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        encode_component(issuer),
        encode_component(account),
        encode_component(issuer)
    )
}

/// An SVG QR code of `data`.
pub fn qr_svg(data: &str) -> String {
    qrcode::QrCode::new(data.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color>()
                .min_dimensions(200, 200)
                .build()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse battery".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
    }

    #[test]
    fn password_policy() {
        assert!(check_password_policy("short", "short").is_err());
        assert!(check_password_policy("long enough pass", "long enough pasS").is_err());
        assert!(check_password_policy("long enough pass", "long enough pass").is_ok());
    }

    #[test]
    fn next_is_never_an_open_redirect() {
        assert_eq!(safe_next(Some("/desk/reports/1")), "/desk/reports/1");
        assert_eq!(safe_next(Some("//evil.example")), "/desk");
        assert_eq!(safe_next(Some("https://evil.example")), "/desk");
        assert_eq!(safe_next(Some("/\\evil.example")), "/desk");
        assert_eq!(safe_next(None), "/desk");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/desk");
        assert_eq!(safe_next(Some("/\n")), "/desk");
        assert_eq!(safe_next(Some("/desk?view=spam")), "/desk?view=spam");
    }

    #[test]
    fn totp_matches_rfc6238_vector_and_drift() {
        // RFC 6238 appendix B, SHA-1, T = 59 s -> 94287082 (8 digits); we use
        // 6 digits, i.e. the last six: 287082.
        let t = totp(b"12345678901234567890".to_vec()).unwrap();
        assert_eq!(t.generate(59), "287082");
        assert_eq!(matching_step(&t, "287082", 59), Some(1));
        assert_eq!(
            matching_step(&t, "287 082", 70),
            Some(1),
            "one step of drift"
        );
        assert_eq!(matching_step(&t, "287082", 200), None);
        assert_eq!(matching_step(&t, "28708x", 59), None);
    }

    #[test]
    fn otpauth_url_is_encoded() {
        let url = otpauth_url("XMPP Standards Foundation", "ada", b"12345678901234567890");
        assert_eq!(
            url,
            "otpauth://totp/XMPP%20Standards%20Foundation:ada?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=XMPP%20Standards%20Foundation&algorithm=SHA1&digits=6&period=30"
        );
        assert!(qr_svg(&url).contains("<svg"));
    }
}
