//! The vendor portal: what an invited vendor contact sees and does.
//!
//! Vendor accounts are not team accounts: they live in their own table, sign
//! in at `/vendor/login`, and carry a session cookie scoped to `/vendor`, so
//! a vendor session can never open a team page. A vendor sees only the
//! cases they were invited to, in them only the vulnerabilities that list
//! their products, of those only their own rows and rows the coordinator
//! shared, the shared thread and their own private thread with the team.
//! Every view and change is audited.

use askama::Template;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use cnadesk_core::coordination::in_zone_with_utc;
use cnadesk_core::{Actor, CaseId, VendorId};
use cnadesk_store::{Case, CaseMessage, NewCaseFile, Participant, VendorAccount};
use serde::Deserialize;

use crate::auth::{cookie_hash, encode_component, login_allowed, safe_next};
use crate::extract::{
    CsrfChecking, CsrfForm, CsrfRule, CsrfVerdict, IdPath, RequestBody, ReshownForm, TokenOnly,
};
use crate::forms::{sanitize_content_type, sanitize_filename};
use crate::security::{random_token, sha256_hex, ClientIp, Csrf};
use crate::views::{file_download, render, Layout};
use crate::{AppError, AppState};
use cnadesk_app::coordination::{checklist_of, embargo_end_text, vendor_view, ProductForm};
use cnadesk_app::vendor_portal::{self, NewAccountInput, PortalError};

pub use crate::cookies::VENDOR_COOKIE;

/// Largest file a vendor uploads.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// A signed-in vendor contact.
#[derive(Clone, Debug)]
pub struct Vendor {
    /// The account.
    pub account: VendorAccount,
    /// Hash of the session id.
    pub session_hash: String,
}

impl Vendor {
    /// The vendor as an audit actor.
    pub fn actor(&self) -> Actor {
        Actor::Vendor {
            id: self.account.id,
        }
    }

    fn layout(&self, state: &AppState, title: &str, csrf: &str) -> Layout {
        let mut layout = Layout::public(state, title, csrf);
        layout.vendor = Some(self.account.display_name.clone());
        layout
    }
}

/// The hash of the vendor session cookie, if any.
fn vendor_session_hash(jar: &CookieJar) -> Option<String> {
    cookie_hash(jar, VENDOR_COOKIE)
}

/// Why a vendor page refused a request.
#[derive(Debug)]
pub enum VendorRejection {
    /// Not signed in: the vendor sign-in page, then back.
    SignIn(String),
    /// The store failed.
    Internal(AppError),
}

impl IntoResponse for VendorRejection {
    fn into_response(self) -> Response {
        match self {
            VendorRejection::SignIn(next) if next.is_empty() => {
                Redirect::to("/vendor/login").into_response()
            }
            VendorRejection::SignIn(next) => {
                Redirect::to(&format!("/vendor/login?next={}", encode_component(&next)))
                    .into_response()
            }
            VendorRejection::Internal(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Vendor {
    type Rejection = VendorRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let account = match vendor_session_hash(&jar) {
            Some(hash) => vendor_portal::session(state, &hash)
                .await
                .map_err(|e| VendorRejection::Internal(e.into()))?
                .map(|a| (a, hash)),
            None => None,
        };
        match account {
            Some((account, session_hash)) => Ok(Vendor {
                account,
                session_hash,
            }),
            None => {
                let next = if parts.method == axum::http::Method::GET {
                    parts.uri.path().to_owned()
                } else {
                    String::new()
                };
                Err(VendorRejection::SignIn(next))
            }
        }
    }
}

/// Only paths inside the portal are followed after sign-in.
fn vendor_next(next: Option<&str>) -> String {
    let next = safe_next(next);
    if next == "/vendor" || next.starts_with("/vendor/") {
        next
    } else {
        "/vendor".to_owned()
    }
}

async fn start_vendor_session(
    state: &AppState,
    vendor: VendorId,
) -> Result<Cookie<'static>, AppError> {
    let token = random_token();
    vendor_portal::start_session(state, &sha256_hex(&token), vendor, state.config.session_ttl)
        .await?;
    Ok(Cookie::build((VENDOR_COOKIE, token))
        .path("/vendor")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.cookie_secure)
        .build())
}

// ---- sign-in ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "vendor_login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: String,
}

/// `?next=` on the sign-in page.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

/// `GET /vendor/login`
pub async fn login_form(
    State(state): State<AppState>,
    csrf: Csrf,
    Query(q): Query<NextQuery>,
) -> Response {
    render(
        StatusCode::OK,
        &LoginPage {
            layout: Layout::public(&state, "Vendor sign-in", &csrf.token),
            email: String::new(),
            next: vendor_next(q.next.as_deref()),
            error: String::new(),
        },
    )
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Why a vendor's password was not accepted.
#[derive(Debug)]
enum PasswordRefusal {
    /// Wrong e-mail or password.
    Wrong,
    /// Too many attempts: retry after this many seconds.
    TooMany(u64),
}

impl PasswordRefusal {
    /// The sentence for the form.
    fn message(&self) -> String {
        match self {
            PasswordRefusal::Wrong => "Wrong e-mail or password.".to_owned(),
            PasswordRefusal::TooMany(secs) => crate::auth::too_many_attempts(*secs),
        }
    }

    /// `page` rendered with the status of this refusal (and `Retry-After`).
    fn respond(&self, page: impl FnOnce(StatusCode) -> Response) -> Response {
        match self {
            PasswordRefusal::Wrong => page(StatusCode::UNAUTHORIZED),
            PasswordRefusal::TooMany(secs) => {
                crate::error::with_retry_after(page(StatusCode::TOO_MANY_REQUESTS), *secs)
            }
        }
    }
}

/// What a password check came to.
enum PasswordCheck {
    /// The account it opens.
    Passed(VendorAccount),
    /// Refused (the form says why).
    Refused(PasswordRefusal),
}

/// Checks a vendor's e-mail and password against the rate limits.
async fn check_vendor_password(
    state: &AppState,
    ip: &ClientIp,
    email: &str,
    password: &str,
) -> Result<PasswordCheck, AppError> {
    let email = email.trim().to_lowercase();
    let attempt = match login_allowed(state, ip, "vendor-login", &email) {
        Ok(attempt) => attempt,
        Err(secs) => return Ok(PasswordCheck::Refused(PasswordRefusal::TooMany(secs))),
    };
    match vendor_portal::authenticate(state, &email, password).await? {
        Some(account) => {
            attempt.succeeded();
            Ok(PasswordCheck::Passed(account))
        }
        None => {
            attempt.failed();
            Ok(PasswordCheck::Refused(PasswordRefusal::Wrong))
        }
    }
}

/// `POST /vendor/login`
pub async fn login_submit(
    State(state): State<AppState>,
    csrf: Csrf,
    ip: ClientIp,
    ReshownForm { form, verdict }: ReshownForm<LoginForm>,
) -> Result<Response, AppError> {
    let next = vendor_next(Some(&form.next));
    let again = |status: StatusCode, error: &str| {
        render(
            status,
            &LoginPage {
                layout: Layout::public(&state, "Vendor sign-in", &csrf.token),
                email: form.email.clone(),
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
    match check_vendor_password(&state, &ip, &form.email, &form.password).await? {
        PasswordCheck::Passed(account) => {
            let cookie = start_vendor_session(&state, account.id).await?;
            Ok((CookieJar::new().add(cookie), Redirect::to(&next)).into_response())
        }
        PasswordCheck::Refused(refusal) => {
            Ok(refusal.respond(|status| again(status, &refusal.message())))
        }
    }
}

/// `POST /vendor/logout`
pub async fn logout(
    State(state): State<AppState>,
    vendor: Vendor,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    vendor_portal::end_session(&state, &vendor.session_hash).await?;
    let gone = Cookie::build((VENDOR_COOKIE, "")).path("/vendor").build();
    Ok((CookieJar::new().add(gone), Redirect::to("/vendor/login")).into_response())
}

// ---- invitations ----------------------------------------------------------------------

#[derive(Template)]
#[template(path = "vendor_invitation.html")]
struct InvitationPage {
    layout: Layout,
    case_number: i64,
    email: String,
    has_account: bool,
    signed_in_as: Option<String>,
    display_name: String,
    time_zone: String,
    errors: Vec<(String, String)>,
}

async fn invitation_page(
    state: &AppState,
    csrf: &str,
    participant: &Participant,
    signed_in: Option<&VendorAccount>,
    draft: (&str, &str),
    errors: Vec<(String, String)>,
) -> Result<InvitationPage, AppError> {
    let has_account = vendor_portal::has_account(state, &participant.email).await?;
    Ok(InvitationPage {
        layout: Layout::public(state, "Invitation", csrf),
        case_number: participant.case_id.0,
        email: participant.email.clone(),
        has_account,
        signed_in_as: signed_in
            .filter(|a| a.email == participant.email)
            .map(|a| a.display_name.clone()),
        display_name: if draft.0.is_empty() {
            participant.contact_name.clone()
        } else {
            draft.0.to_owned()
        },
        time_zone: if draft.1.is_empty() {
            "UTC".into()
        } else {
            draft.1.to_owned()
        },
        errors,
    })
}

async fn signed_in_vendor(
    state: &AppState,
    jar: &CookieJar,
) -> Result<Option<VendorAccount>, AppError> {
    match vendor_session_hash(jar) {
        Some(h) => Ok(vendor_portal::session(state, &h).await?),
        None => Ok(None),
    }
}

/// `GET /vendor/invitations/{token}`: create an account, or sign in to an
/// existing one, to accept.
pub async fn invitation(
    State(state): State<AppState>,
    csrf: Csrf,
    jar: CookieJar,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let Some(participant) = vendor_portal::open_invitation(&state, &sha256_hex(&token)).await?
    else {
        return Err(AppError::Gone(
            "This invitation link was used already, has expired, or does not exist. \
             Ask the coordinator for a new one."
                .into(),
        ));
    };
    let signed_in = signed_in_vendor(&state, &jar).await?;
    let page = invitation_page(
        &state,
        &csrf.token,
        &participant,
        signed_in.as_ref(),
        ("", ""),
        Vec::new(),
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

/// The invitation form: a new account's name, time zone and password, or
/// the existing account's password.
#[derive(Debug, Deserialize)]
pub struct InvitationForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

/// `POST /vendor/invitations/{token}`
pub async fn accept_invitation(
    State(state): State<AppState>,
    csrf: Csrf,
    ip: ClientIp,
    jar: CookieJar,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm<InvitationForm>,
) -> Result<Response, AppError> {
    let hash = sha256_hex(&token);
    let Some(participant) = vendor_portal::open_invitation(&state, &hash).await? else {
        return Err(AppError::Gone(
            "This invitation link was used already, has expired, or does not exist.".into(),
        ));
    };
    let signed_in = signed_in_vendor(&state, &jar)
        .await?
        .filter(|a| a.email == participant.email);
    let existing = vendor_portal::has_account(&state, &participant.email).await?;
    let signed_in_page = signed_in.clone();
    let again = |errors: Vec<(String, String)>| {
        let state = state.clone();
        let participant = participant.clone();
        let signed_in = signed_in_page.clone();
        let csrf = csrf.token.clone();
        let draft = (form.display_name.clone(), form.time_zone.clone());
        async move {
            let page = invitation_page(
                &state,
                &csrf,
                &participant,
                signed_in.as_ref(),
                (&draft.0, &draft.1),
                errors,
            )
            .await?;
            Ok::<_, AppError>(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    };
    let account = match (signed_in, existing) {
        (Some(account), _) => account,
        (None, true) => {
            match check_vendor_password(&state, &ip, &participant.email, &form.password).await? {
                PasswordCheck::Passed(account) => account,
                PasswordCheck::Refused(refusal) => {
                    // The same page, with the refusal's status (401, or a
                    // 429 that says when).
                    let mut page = again(vec![("password".into(), refusal.message())]).await?;
                    return Ok(refusal.respond(|status| {
                        *page.status_mut() = status;
                        page
                    }));
                }
            }
        }
        (None, false) => {
            let input = NewAccountInput {
                display_name: form.display_name.clone(),
                time_zone: form.time_zone.clone(),
                password: form.password.clone(),
                confirm: form.confirm.clone(),
            };
            match vendor_portal::create_account(&state, &participant, &input).await {
                Ok(account) => account,
                Err(PortalError::Invalid(errors)) => return again(errors).await,
                Err(e) => return Err(plain(e)),
            }
        }
    };
    let Some(accepted) = vendor_portal::accept_invitation(&state, &hash, account.id).await? else {
        return Err(AppError::Gone(
            "This invitation link was used already, has expired, or does not exist.".into(),
        ));
    };
    let cookie = start_vendor_session(&state, account.id).await?;
    Ok((
        CookieJar::new().add(cookie),
        Redirect::to(&format!("/vendor/cases/{}", accepted.case_id.0)),
    )
        .into_response())
}

// ---- the portal -----------------------------------------------------------------------

struct CaseRow {
    number: i64,
    title: String,
    embargo_end: String,
    acknowledged: bool,
}

#[derive(Template)]
#[template(path = "vendor_home.html")]
struct HomePage {
    layout: Layout,
    cases: Vec<CaseRow>,
}

/// `GET /vendor`: the cases this vendor was invited to.
pub async fn home(
    State(state): State<AppState>,
    vendor: Vendor,
    csrf: Csrf,
) -> Result<Response, AppError> {
    let mut cases = Vec::new();
    for (p, case) in vendor_portal::invited_cases(&state, vendor.account.id).await? {
        let embargo = state.store.embargo(case.id).await?;
        cases.push(CaseRow {
            number: case.id.0,
            // Before the terms are acknowledged, no details.
            title: if p.acknowledged_at_ms.is_some() {
                case.title.clone()
            } else {
                format!(
                    "Case #{} (acknowledge the embargo terms to read it)",
                    case.id.0
                )
            },
            embargo_end: embargo_end_text(embargo.as_ref(), &vendor.account.time_zone),
            acknowledged: p.acknowledged_at_ms.is_some(),
        });
    }
    Ok(render(
        StatusCode::OK,
        &HomePage {
            layout: vendor.layout(&state, "Your cases", &csrf.token),
            cases,
        },
    ))
}

/// The participation of `vendor` in case `id`, or 404 (a case they were not
/// invited to does not exist for them).
async fn participation(
    state: &AppState,
    vendor: &Vendor,
    id: CaseId,
) -> Result<(Case, Participant), AppError> {
    vendor_portal::participation(state, vendor.account.id, id)
        .await
        .map_err(plain)
}

fn sentences(errors: Vec<(String, String)>) -> String {
    errors
        .into_iter()
        .map(|(field, sentence)| format!("{field}: {sentence}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A refusal of the portal as the error page (for steps with no form to
/// show again).
fn plain(e: PortalError) -> AppError {
    match e {
        PortalError::Invalid(errors) => AppError::Invalid(sentences(errors)),
        PortalError::Conflict(errors) => AppError::Conflict(sentences(errors)),
        PortalError::Forbidden => AppError::Forbidden,
        PortalError::NotFound => AppError::NotFound,
        PortalError::Hash(e) => e.into(),
        PortalError::Store(e) => e.into(),
    }
}

struct RowView {
    id: i64,
    product: String,
    mine: bool,
    status: String,
    status_label: String,
    affected_versions: String,
    fixed_versions: String,
    statement: String,
    fix_released: bool,
    status_at: String,
}

struct VulnView {
    title: String,
    summary: String,
    references: String,
    rows: Vec<RowView>,
}

struct MessageView {
    author: String,
    at: String,
    body: String,
    private: bool,
}

struct FileView {
    id: i64,
    filename: String,
    size: i64,
    by: String,
    at: String,
}

#[derive(Template)]
#[template(path = "vendor_case.html")]
struct CasePage {
    layout: Layout,
    case_number: i64,
    title: String,
    embargo_end: String,
    embargo_reason: String,
    lifted: bool,
    pending: Option<(String, String)>,
    consented: bool,
    acknowledged: bool,
    checklist: cnadesk_core::coordination::Checklist,
    vulnerabilities: Vec<VulnView>,
    messages: Vec<MessageView>,
    files: Vec<FileView>,
    statuses: Vec<(String, String)>,
    errors: Vec<(String, String)>,
    notice: String,
}

async fn case_page(
    state: &AppState,
    vendor: &Vendor,
    csrf: &str,
    case: &Case,
    participant: &Participant,
    errors: Vec<(String, String)>,
    notice: &str,
) -> Result<CasePage, AppError> {
    let tz = &vendor.account.time_zone;
    let embargo = state.store.embargo(case.id).await?;
    let products = state.store.affected_products(case.id).await?;
    let acknowledged = participant.acknowledged_at_ms.is_some();
    let mut vulnerabilities = Vec::new();
    let mut messages = Vec::new();
    let mut files = Vec::new();
    if acknowledged {
        let view = vendor_view(
            participant,
            state.store.vulnerabilities(case.id).await?,
            &products,
        );
        for (v, rows) in view {
            let references = v.references();
            vulnerabilities.push(VulnView {
                title: v.title,
                summary: v.summary,
                references,
                rows: rows
                    .into_iter()
                    .map(|(p, mine)| RowView {
                        id: p.id,
                        product: p.product_name,
                        mine,
                        status: p.status.as_str().into(),
                        status_label: p.status.label().into(),
                        affected_versions: p.affected_versions,
                        fixed_versions: p.fixed_versions,
                        statement: p.statement,
                        fix_released: p.fix_released,
                        status_at: p
                            .status_at_ms
                            .map(|t| in_zone_with_utc(t, tz))
                            .unwrap_or_else(|| "never answered".into()),
                    })
                    .collect(),
            });
        }
        for m in state
            .store
            .case_messages(case.id, Some(&[participant.id]))
            .await?
        {
            messages.push(message_view(m, tz));
        }
        for f in state.store.case_files(case.id).await? {
            if f.participant_id.is_none() || f.participant_id == Some(participant.id) {
                files.push(FileView {
                    id: f.id,
                    filename: f.filename,
                    size: f.size,
                    by: if matches!(
                        f.uploaded_by.parse(),
                        Ok(cnadesk_core::Actor::Vendor { .. })
                    ) {
                        "you".into()
                    } else {
                        state.settings.cna_name.clone()
                    },
                    at: in_zone_with_utc(f.created_at_ms, tz),
                });
            }
        }
    }
    Ok(CasePage {
        layout: vendor.layout(state, &format!("Case #{}", case.id.0), csrf),
        case_number: case.id.0,
        title: if acknowledged {
            case.title.clone()
        } else {
            String::new()
        },
        embargo_end: embargo_end_text(embargo.as_ref(), tz),
        // The reason may name other vendors: only after the terms.
        embargo_reason: embargo
            .as_ref()
            .filter(|_| acknowledged)
            .map(|e| e.reason.clone())
            .unwrap_or_default(),
        lifted: embargo.as_ref().is_some_and(|e| e.lifted_at_ms.is_some()),
        pending: embargo
            .as_ref()
            .filter(|_| acknowledged)
            .and_then(|e| e.pending.as_ref())
            .map(|p| (in_zone_with_utc(p.ends_at_ms, tz), p.reason.clone())),
        consented: participant.consented_at_ms.is_some(),
        acknowledged,
        checklist: checklist_of(participant, &products),
        vulnerabilities,
        messages,
        files,
        statuses: cnadesk_app::coordination::status_choices(),
        errors,
        notice: notice.to_owned(),
    })
}

fn message_view(m: CaseMessage, tz: &str) -> MessageView {
    MessageView {
        author: m.author,
        at: in_zone_with_utc(m.created_at_ms, tz),
        body: m.body,
        private: m.participant_id.is_some(),
    }
}

/// The case page again, with what was wrong, under `status`.
async fn refused(
    state: &AppState,
    vendor: &Vendor,
    csrf: &Csrf,
    case: &Case,
    participant: &Participant,
    status: StatusCode,
    errors: Vec<(String, String)>,
) -> Result<Response, AppError> {
    let page = case_page(state, vendor, &csrf.token, case, participant, errors, "").await?;
    Ok(render(status, &page))
}

/// The case page again with what the portal refused (422 for what was
/// typed, 409 for the case's state), or the error page.
async fn portal_refused(
    state: &AppState,
    vendor: &Vendor,
    csrf: &Csrf,
    case: &Case,
    participant: &Participant,
    error: PortalError,
) -> Result<Response, AppError> {
    match error {
        PortalError::Invalid(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            refused(state, vendor, csrf, case, participant, status, errors).await
        }
        PortalError::Conflict(errors) => {
            let status = StatusCode::CONFLICT;
            refused(state, vendor, csrf, case, participant, status, errors).await
        }
        e => Err(plain(e)),
    }
}

fn notice_for(done: &str) -> &'static str {
    match done {
        "acknowledged" => "Thank you: the embargo terms are acknowledged.",
        "status" => "Saved.",
        "message" => "Message sent.",
        "file" => "File uploaded.",
        "consented" => "Your consent to the new date is recorded.",
        _ => "",
    }
}

/// `GET /vendor/cases/{id}` (audited as `vendor.viewed`).
pub async fn case_view(
    State(state): State<AppState>,
    vendor: Vendor,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    Query(q): Query<crate::desk::NoticeQuery>,
) -> Result<Response, AppError> {
    let (case, participant) = participation(&state, &vendor, id).await?;
    let page = case_page(
        &state,
        &vendor,
        &csrf.token,
        &case,
        &participant,
        Vec::new(),
        notice_for(&q.done),
    )
    .await?;
    let shown: Vec<i64> = page
        .vulnerabilities
        .iter()
        .flat_map(|v| v.rows.iter().map(|r| r.id))
        .collect();
    vendor_portal::record_view(
        &state,
        &vendor.account,
        &case,
        &participant,
        &shown,
        page.acknowledged,
    )
    .await?;
    Ok(render(StatusCode::OK, &page))
}

fn back(case: &Case, done: &str) -> Response {
    Redirect::to(&format!("/vendor/cases/{}?done={done}", case.id.0)).into_response()
}

/// `POST /vendor/cases/{id}/acknowledge`
pub async fn acknowledge(
    State(state): State<AppState>,
    vendor: Vendor,
    IdPath(id): IdPath<CaseId>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let (case, participant) = participation(&state, &vendor, id).await?;
    vendor_portal::acknowledge(&state, &vendor.account, &participant).await?;
    Ok(back(&case, "acknowledged"))
}

/// `POST /vendor/cases/{id}/consent`
pub async fn consent(
    State(state): State<AppState>,
    vendor: Vendor,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let (case, participant) = participation(&state, &vendor, id).await?;
    match vendor_portal::consent(&state, &vendor.account, &participant).await {
        Ok(()) => Ok(back(&case, "consented")),
        Err(e) => portal_refused(&state, &vendor, &csrf, &case, &participant, e).await,
    }
}

/// `POST /vendor/cases/{id}/products/{row}`: sets status, versions and
/// statement of one of the vendor's own products.
pub async fn update_product(
    State(state): State<AppState>,
    vendor: Vendor,
    csrf: Csrf,
    IdPath((id, row)): IdPath<(CaseId, i64)>,
    CsrfForm(form): CsrfForm<ProductForm>,
) -> Result<Response, AppError> {
    let (case, participant) = participation(&state, &vendor, id).await?;
    match vendor_portal::update_product(&state, &vendor.account, &case, &participant, row, &form)
        .await
    {
        Ok(()) => Ok(back(&case, "status")),
        Err(PortalError::Invalid(errors)) => {
            let mut page = case_page(
                &state,
                &vendor,
                &csrf.token,
                &case,
                &participant,
                errors,
                "",
            )
            .await?;
            // Keep what they typed.
            for v in &mut page.vulnerabilities {
                for r in v.rows.iter_mut().filter(|r| r.id == row) {
                    r.affected_versions = form.affected_versions.clone();
                    r.fixed_versions = form.fixed_versions.clone();
                    r.statement = form.statement.clone();
                }
            }
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(e) => portal_refused(&state, &vendor, &csrf, &case, &participant, e).await,
    }
}

/// The message form.
#[derive(Debug, Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    body: String,
    /// `shared` or `private`.
    #[serde(default)]
    thread: String,
}

/// `POST /vendor/cases/{id}/messages`
pub async fn post_message(
    State(state): State<AppState>,
    vendor: Vendor,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<MessageForm>,
) -> Result<Response, AppError> {
    let (case, participant) = participation(&state, &vendor, id).await?;
    match vendor_portal::post_message(
        &state,
        &vendor.account,
        &case,
        &participant,
        &form.thread,
        &form.body,
    )
    .await
    {
        Ok(()) => Ok(back(&case, "message")),
        Err(e) => portal_refused(&state, &vendor, &csrf, &case, &participant, e).await,
    }
}

/// Reads a one-file upload form (`csrf`, `file`) within `limit` bytes.
pub async fn read_upload(
    mut multipart: Multipart,
    limit: usize,
) -> Result<(String, Option<NewCaseFile>), String> {
    let mut csrf = String::new();
    let mut file = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("the form could not be read ({})", e.body_text()))?
    {
        let name = field.name().unwrap_or("").to_owned();
        let filename = sanitize_filename(field.file_name().unwrap_or(""));
        let content_type = sanitize_content_type(field.content_type());
        let mut data = Vec::new();
        while let Some(chunk) = field
            .chunk()
            .await
            .map_err(|e| format!("the upload broke off ({})", e.body_text()))?
        {
            if data.len() + chunk.len() > limit {
                return Err(format!(
                    "the file is larger than {} MB",
                    limit / (1024 * 1024)
                ));
            }
            data.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&data).into_owned(),
            "file" if !data.is_empty() => {
                file = Some(NewCaseFile {
                    case_id: CaseId(0),
                    participant_id: None,
                    filename,
                    content_type,
                    bytes: data,
                })
            }
            _ => {}
        }
    }
    Ok((csrf, file))
}

/// The vendor's upload form, read by [`read_upload`] within
/// [`MAX_FILE_BYTES`], its anti-forgery token checked: a form that was read
/// whole with a bad or missing token is refused with the 403 page; a form
/// that could not be read (too large, cut off) is `Err` with the reason,
/// for the page to show.
#[derive(Debug)]
pub struct CsrfUpload(pub Result<Option<NewCaseFile>, String>);

impl FromRequest<AppState> for CsrfUpload {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let csrf = Csrf::from_parts(&parts, state);
        let multipart = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        match read_upload(multipart, MAX_FILE_BYTES).await {
            Ok((token, file)) => {
                CsrfVerdict::of(&csrf, &token)
                    .require()
                    .map_err(IntoResponse::into_response)?;
                Ok(CsrfUpload(Ok(file)))
            }
            Err(reason) => Ok(CsrfUpload(Err(reason))),
        }
    }
}

impl CsrfChecking for CsrfUpload {
    const RULE: CsrfRule = CsrfRule::Checked;
    const BODY: RequestBody = RequestBody::Multipart;
}

/// `POST /vendor/cases/{id}/files`: a patch or advisory, private to this
/// vendor and the team.
pub async fn upload(
    State(state): State<AppState>,
    vendor: Vendor,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfUpload(read): CsrfUpload,
) -> Result<Response, AppError> {
    let (case, participant) = participation(&state, &vendor, id).await?;
    match vendor_portal::add_file(&state, &vendor.account, &case, &participant, read).await {
        Ok(()) => Ok(back(&case, "file")),
        Err(e) => portal_refused(&state, &vendor, &csrf, &case, &participant, e).await,
    }
}

/// `GET /vendor/cases/{id}/files/{file}`: the vendor's own files and those
/// the team shared with every vendor (audited).
pub async fn download(
    State(state): State<AppState>,
    vendor: Vendor,
    IdPath((id, file)): IdPath<(CaseId, i64)>,
) -> Result<Response, AppError> {
    let (case, participant) = participation(&state, &vendor, id).await?;
    let (meta, bytes) =
        vendor_portal::read_file(&state, &vendor.account, &case, &participant, file)
            .await
            .map_err(plain)?;
    Ok(file_download(&meta.filename, bytes))
}
