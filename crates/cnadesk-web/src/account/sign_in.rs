//! First-run setup, sign-in with a second factor, sign-out, TOTP enrolment,
//! and account administration.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use base64::Engine;
use cnadesk_core::report::without_controls;
use cnadesk_core::{Actor, FieldError, Role};
use cnadesk_store::{NewUser, SecondFactor, User};
use rand::RngCore;
use serde::Deserialize;

use crate::auth::{
    clear_session_cookie, hash_password, matching_step, new_session, otpauth_url, qr_svg,
    safe_next, session_hash, start_session, totp, verify_password, Member, PendingSecondFactor,
};
use crate::extract::{CsrfForm, CsrfVerdict, ReshownForm, TokenOnly};
use crate::public::public_layout;
use crate::security::{sha256_hex, ClientIp, Csrf};
use crate::views::error_for;
use crate::views::{render, Layout};
use crate::{AppError, AppState};
use cnadesk_app::accounts::validate_new_account;

// ---- first-run setup ----------------------------------------------------------

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    layout: Layout,
    token: String,
    username: String,
    display_name: String,
    email: String,
    errors: Vec<FieldError>,
}

impl SetupPage {
    fn error_for(&self, field: &str) -> String {
        error_for(&self.errors, field)
    }
}

/// `GET /setup/{token}`
pub async fn setup_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: Csrf,
) -> Result<Response, AppError> {
    if !state
        .store
        .setup_token_valid(&sha256_hex(&token), state.now_ms())
        .await?
    {
        return Err(setup_gone());
    }
    Ok(render(
        StatusCode::OK,
        &SetupPage {
            layout: public_layout(&state, "Create the first admin", &csrf.token),
            token,
            username: String::new(),
            display_name: String::new(),
            email: String::new(),
            errors: Vec::new(),
        },
    ))
}

fn setup_gone() -> AppError {
    AppError::Gone(
        "This setup link is invalid, expired, or already used. Restart `cnadesk serve` on an empty database for a new one, or create an account with `cnadesk admin create-user`.".into(),
    )
}

/// The first-run setup form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AccountForm {
    username: String,
    display_name: String,
    email: String,
    password: String,
    confirm: String,
}

/// `POST /setup/{token}`
pub async fn setup_submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: Csrf,
    ReshownForm { form, verdict }: ReshownForm<AccountForm>,
) -> Result<Response, AppError> {
    if !state
        .store
        .setup_token_valid(&sha256_hex(&token), state.now_ms())
        .await?
    {
        return Err(setup_gone());
    }
    let mut errors = validate_new_account(
        &form.username,
        &form.display_name,
        &form.email,
        &form.password,
        &form.confirm,
    );
    if verdict == CsrfVerdict::Invalid {
        errors.push(FieldError::new(
            "form",
            "this form expired; check the fields and send it again",
        ));
    }
    if !errors.is_empty() {
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                layout: public_layout(&state, "Create the first admin", &csrf.token),
                token,
                username: form.username,
                display_name: form.display_name,
                // Invisible characters are refused, and not shown back.
                email: without_controls(&form.email),
                errors,
            },
        ));
    }
    let admin = NewUser {
        username: form.username.trim().to_owned(),
        display_name: form.display_name.trim().to_owned(),
        email: form.email.trim().to_owned(),
        role: Role::Admin,
        password_hash: hash_password(form.password).await?,
    };
    let user = state
        .store
        .consume_setup_token(&sha256_hex(&token), admin, state.now_ms())
        .await
        .map_err(|e| match e {
            cnadesk_store::StoreError::SetupTokenInvalid => setup_gone(),
            other => other.into(),
        })?;
    tracing::info!(user = %user.username, "first admin created through the setup link");
    let cookie = start_session(&state, &user, false).await?;
    Ok((
        CookieJar::new().add(cookie),
        Redirect::to("/account/totp?welcome=1"),
    )
        .into_response())
}

// ---- sign-in ---------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    layout: Layout,
    username: String,
    next: String,
    error: String,
}

/// Query with an optional return path.
#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    welcome: Option<String>,
}

/// `GET /login`
pub async fn login_form(
    State(state): State<AppState>,
    csrf: Csrf,
    Query(q): Query<NextQuery>,
) -> Response {
    render(
        StatusCode::OK,
        &LoginPage {
            layout: public_layout(&state, "Sign in", &csrf.token),
            username: String::new(),
            next: safe_next(q.next.as_deref()),
            error: String::new(),
        },
    )
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /login`
pub async fn login_submit(
    State(state): State<AppState>,
    csrf: Csrf,
    ip: ClientIp,
    ReshownForm { form, verdict }: ReshownForm<LoginForm>,
) -> Result<Response, AppError> {
    let next = safe_next(Some(&form.next));
    let again = |status: StatusCode, error: &str| {
        render(
            status,
            &LoginPage {
                layout: public_layout(&state, "Sign in", &csrf.token),
                username: form.username.clone(),
                next: next.clone(),
                error: error.to_owned(),
            },
        )
    };
    if verdict == CsrfVerdict::Invalid {
        return Ok(again(
            StatusCode::FORBIDDEN,
            "The form expired. Please sign in again.",
        ));
    }
    let username = form.username.trim().to_lowercase();
    let attempt = match crate::auth::login_allowed(&state, &ip, "login-user", &username) {
        Ok(attempt) => attempt,
        Err(secs) => {
            return Ok(crate::error::with_retry_after(
                again(
                    StatusCode::TOO_MANY_REQUESTS,
                    &crate::auth::too_many_attempts(secs),
                ),
                secs,
            ));
        }
    };
    // Usernames are short and printable: anything else cannot exist, and is
    // never sent to the database.
    let plausible = username.len() <= 100 && !username.chars().any(char::is_control);
    let creds = if plausible {
        state.store.user_credentials(&username).await?
    } else {
        None
    };
    // An invited account has no password until its link is followed: it
    // is checked like an unknown one.
    let ok = verify_password(
        form.password.clone(),
        creds
            .as_ref()
            .map(|c| c.password_hash.clone())
            .filter(|h| !h.is_empty()),
    )
    .await;
    let Some(creds) = creds.filter(|c| ok && c.user.active) else {
        attempt.failed();
        return Ok(again(
            StatusCode::UNAUTHORIZED,
            "Wrong username or password, or the account is deactivated.",
        ));
    };
    attempt.succeeded();
    let pending = creds.totp_secret_enc.is_some();
    let cookie = start_session(&state, &creds.user, pending).await?;
    let target = if pending {
        format!("/login/totp?next={}", crate::auth::encode_component(&next))
    } else {
        next
    };
    Ok((CookieJar::new().add(cookie), Redirect::to(&target)).into_response())
}

#[derive(Template)]
#[template(path = "totp.html")]
struct TotpPage {
    layout: Layout,
    next: String,
    error: String,
}

/// `GET /login/totp`
pub async fn totp_form(
    State(state): State<AppState>,
    _pending: PendingSecondFactor,
    csrf: Csrf,
    Query(q): Query<NextQuery>,
) -> Response {
    render(
        StatusCode::OK,
        &TotpPage {
            layout: public_layout(&state, "Second factor", &csrf.token),
            next: safe_next(q.next.as_deref()),
            error: String::new(),
        },
    )
}

/// The second-factor form.
#[derive(Debug, Deserialize)]
pub struct CodeForm {
    code: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    sealed: String,
}

fn decrypt_totp_secret(
    state: &AppState,
    user: &User,
    enc: Option<Vec<u8>>,
) -> Result<Vec<u8>, AppError> {
    enc.and_then(|e| state.key.open("totp", &e)).ok_or_else(|| {
        AppError::Internal(format!(
            "the TOTP secret of {} cannot be decrypted (was the secret key changed?)",
            user.username
        ))
    })
}

/// `POST /login/totp`
pub async fn totp_submit(
    State(state): State<AppState>,
    pending: PendingSecondFactor,
    csrf: Csrf,
    ReshownForm { form, verdict }: ReshownForm<CodeForm>,
) -> Result<Response, AppError> {
    let next = safe_next(Some(&form.next));
    let again = |status: StatusCode, error: &str| {
        render(
            status,
            &TotpPage {
                layout: public_layout(&state, "Second factor", &csrf.token),
                next: next.clone(),
                error: error.to_owned(),
            },
        )
    };
    if verdict == CsrfVerdict::Invalid {
        return Ok(again(
            StatusCode::FORBIDDEN,
            "The form expired. Enter the code again.",
        ));
    }
    if let Err(wait) = state
        .login_limiter
        .try_now(&format!("totp-user:{}", pending.user.id.0))
    {
        let secs = crate::ratelimit::retry_after_secs(wait);
        return Ok(crate::error::with_retry_after(
            again(
                StatusCode::TOO_MANY_REQUESTS,
                &crate::auth::too_many_attempts(secs),
            ),
            secs,
        ));
    }
    let actor = Actor::Member {
        id: pending.user.id,
        username: pending.user.username.clone(),
    };
    // A recovery code works once in place of the app's code.
    let (accepted, second_factor) = if cnadesk_app::recovery::looks_like_a_code(&form.code) {
        let used =
            cnadesk_app::recovery::use_code(&state, pending.user.id, &form.code, &actor).await?;
        (used, SecondFactor::RecoveryCode)
    } else {
        let creds = state
            .store
            .user_credentials_by_id(pending.user.id)
            .await?
            .ok_or(AppError::Forbidden)?;
        let secret = decrypt_totp_secret(&state, &pending.user, creds.totp_secret_enc)?;
        let now_secs = state.clock.now().as_second();
        let accepted = match matching_step(&totp(secret)?, &form.code, now_secs) {
            Some(step) => state.store.use_totp_step(pending.user.id, step).await?,
            None => false,
        };
        (accepted, SecondFactor::Totp)
    };
    if !accepted {
        return Ok(again(
            StatusCode::UNAUTHORIZED,
            "That code is not valid (or was already used). Enter the current code from your app, or an unused recovery code.",
        ));
    }
    // A new session id replaces the pending one (no session fixation).
    let (row, cookie) = new_session(&state, &pending.user, false);
    state
        .store
        .complete_session_mfa(&pending.session_hash, row, second_factor, &actor)
        .await?;
    Ok((CookieJar::new().add(cookie), Redirect::to(&next)).into_response())
}

/// `POST /logout`
pub async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    if let Some(hash) = session_hash(&jar) {
        let actor = match state.store.session(&hash, state.now_ms()).await? {
            Some(s) => Actor::Member {
                id: s.user.id,
                username: s.user.username,
            },
            None => Actor::system("auth"),
        };
        state
            .store
            .delete_session(&hash, &actor, state.now_ms())
            .await?;
    }
    Ok((jar.add(clear_session_cookie()), Redirect::to("/login")).into_response())
}

// ---- TOTP enrolment ------------------------------------------------------------------

#[derive(Template)]
#[template(path = "totp_enrol.html")]
struct TotpEnrolPage {
    layout: Layout,
    enabled: bool,
    welcome: bool,
    required: bool,
    /// Recovery codes just made: shown this once.
    recovery_codes: Vec<String>,
    /// Unused recovery codes.
    codes_left: i64,
    secret_b32: String,
    otpauth: String,
    qr_svg: String,
    sealed: String,
    error: String,
}

fn enrol_page(
    state: &AppState,
    member: &Member,
    csrf: &str,
    welcome: bool,
    error: String,
) -> TotpEnrolPage {
    let mut layout = member.layout(state, "Two-factor sign-in", csrf);
    let required = state.settings.accounts.totp_required(member.user.role);
    if member.user.totp_enabled {
        return TotpEnrolPage {
            layout,
            enabled: true,
            welcome,
            required,
            recovery_codes: Vec::new(),
            codes_left: 0,
            secret_b32: String::new(),
            otpauth: String::new(),
            qr_svg: String::new(),
            sealed: String::new(),
            error,
        };
    }
    if required {
        // Until enrolled, the navigation would only lead back here.
        layout.member = None;
    }
    let mut secret = vec![0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    // The pending secret travels in the form, sealed to this member, so
    // nothing half-enrolled is ever stored.
    let mut payload = member.user.id.0.to_be_bytes().to_vec();
    payload.extend_from_slice(&secret);
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(state.key.seal("totp-enrol", &payload));
    let otpauth = otpauth_url(&state.settings.cna_name, &member.user.username, &secret);
    TotpEnrolPage {
        layout,
        enabled: false,
        welcome,
        required,
        recovery_codes: Vec::new(),
        codes_left: 0,
        secret_b32: data_encoding::BASE32_NOPAD.encode(&secret),
        qr_svg: qr_svg(&otpauth),
        otpauth,
        sealed,
        error,
    }
}

/// `GET /account/totp`
pub async fn totp_enrol_form(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    Query(q): Query<NextQuery>,
) -> Result<Response, AppError> {
    let mut page = enrol_page(
        &state,
        &member,
        &csrf.token,
        q.welcome.is_some(),
        String::new(),
    );
    if page.enabled {
        page.codes_left = state.store.recovery_codes_left(member.user.id).await?;
    }
    Ok(render(StatusCode::OK, &page))
}

/// `POST /account/totp`
pub async fn totp_enrol_submit(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, AppError> {
    if member.user.totp_enabled {
        return Ok(Redirect::to("/account/totp").into_response());
    }
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(form.sealed.as_bytes())
        .ok()
        .and_then(|b| state.key.open("totp-enrol", &b))
        .filter(|p| p.len() == 28 && p[..8] == member.user.id.0.to_be_bytes())
        .map(|p| p[8..].to_vec())
        .ok_or_else(|| {
            AppError::Invalid("The enrolment form was altered or expired; start again.".into())
        })?;
    let now_secs = state.clock.now().as_second();
    if matching_step(&totp(secret.clone())?, &form.code, now_secs).is_none() {
        let mut page = enrol_page(
            &state,
            &member,
            &csrf.token,
            false,
            "That code does not match. Scan the new code below and enter the number your app shows.".into(),
        );
        // Keep the secret the member already scanned.
        page.secret_b32 = data_encoding::BASE32_NOPAD.encode(&secret);
        page.otpauth = otpauth_url(&state.settings.cna_name, &member.user.username, &secret);
        page.qr_svg = qr_svg(&page.otpauth);
        page.sealed = form.sealed;
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let codes = cnadesk_app::recovery::enrol(
        &state,
        member.user.id,
        state.key.seal("totp", &secret),
        &member.actor(),
    )
    .await?;
    // The codes are shown this once (never stored readable), on the page
    // that now says the second factor is on.
    let mut enrolled = member.clone();
    enrolled.user.totp_enabled = true;
    let mut page = enrol_page(&state, &enrolled, &csrf.token, false, String::new());
    page.codes_left = i64::try_from(codes.len()).unwrap_or(0);
    page.recovery_codes = codes;
    Ok(render(StatusCode::OK, &page))
}
