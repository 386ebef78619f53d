//! Pages anyone may use: the report form and the private tracking page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_core::{FieldError, ReportInput};
use cnadesk_store::{Author, Channel, NewAttachment, Report};
use serde::Deserialize;

use cnadesk_app::conversation::{self, MessageError};
use cnadesk_app::intake;

use crate::extract::CsrfForm;
use crate::forms::ReportSubmission;
use crate::security::{sha256_hex, ClientIp, Csrf};
use crate::views::{fmt_time, render, Layout};
use crate::{AppError, AppState};

/// Why intake refused a report.
#[derive(Debug)]
pub(crate) enum IntakeError {
    /// Field problems.
    Invalid(Vec<FieldError>),
    /// Too many reports from this address: retry after this many seconds.
    RateLimited(u64),
    /// The store failed.
    Store(cnadesk_store::StoreError),
}

/// Takes a report from the form or the API: the intake use case, with the
/// address's rate limit (an HTTP matter) between checking and storing.
pub(crate) async fn intake(
    state: &AppState,
    input: &ReportInput,
    attachments: Vec<NewAttachment>,
    channel: Channel,
    ip: ClientIp,
) -> Result<(Report, String), IntakeError> {
    // Checked first, so a refused form does not use up the allowance.
    let prepared =
        intake::prepare(state, input, attachments, channel).map_err(IntakeError::Invalid)?;
    if let Err(wait) = state.intake_limiter.try_now(&ip.limit_key()) {
        return Err(IntakeError::RateLimited(
            crate::ratelimit::retry_after_secs(wait),
        ));
    }
    intake::store(state, prepared)
        .await
        .map_err(IntakeError::Store)
}

/// The layout of a page for someone not signed in.
pub(crate) fn public_layout(state: &AppState, title: &str, csrf: &str) -> Layout {
    Layout::public(state, title, csrf)
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    layout: Layout,
}

/// `GET /`
pub async fn home(State(state): State<AppState>, csrf: Csrf) -> Response {
    render(
        StatusCode::OK,
        &HomePage {
            layout: public_layout(&state, "Report a vulnerability", &csrf.token),
        },
    )
}

/// `GET /static/style.css`
pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/style.css"),
    )
        .into_response()
}

/// `GET /static/record-editor.js`: live checks in the record editor (the
/// only script; the pages work without it).
pub async fn record_editor_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/record-editor.js"),
    )
        .into_response()
}

/// The fallback for unknown paths.
pub async fn not_found() -> AppError {
    AppError::NotFound
}

#[derive(Template)]
#[template(path = "report_form.html")]
struct ReportFormPage {
    layout: Layout,
    input: ReportInput,
    errors: Vec<FieldError>,
    max_attachments: usize,
    max_attachment_mb: usize,
    /// The desk could not store the report (a fault on its side): say it
    /// was not received, without blaming the form.
    unavailable: bool,
    /// The CWE entries a vulnerability may be mapped to: ID and name.
    cwes: Vec<(&'static str, &'static str)>,
    /// The calculator's metrics.
    cvss_metrics: &'static [crate::forms::Metric],
}

impl ReportFormPage {
    /// A field as the form labels it (for the list of problems).
    fn label<'a>(&self, field: &'a str) -> &'a str {
        match field {
            "title" => "Title",
            "product" => "Affected product",
            "versions" => "Affected versions",
            "fixed_version" => "Fixed in version",
            "cwe" => "Weakness (CWE)",
            "cvss_vector" => "Severity (CVSS)",
            "description" => "Description",
            "impact" => "Impact",
            "reproduction" => "Steps to reproduce",
            "public_where" => "Where it was disclosed",
            "other_cna" => "Which CNA",
            "reporter_name" => "Name",
            "reporter_email" => "E-mail address",
            "credit" => "Credit",
            "pgp_key" => "OpenPGP public key",
            "attachments" => "Files",
            "form" => "The form:",
            other => other,
        }
    }

    /// Whether the vector typed or calculated has `metric:value`.
    fn chosen(&self, metric: &str, value: &str) -> bool {
        let v = self.input.cvss_vector.trim();
        v.starts_with("CVSS:3.")
            && v.split('/')
                .skip(1)
                .any(|part| part.split_once(':') == Some((metric, value)))
    }

    /// The error message for a field, for the template.
    fn error_for(&self, field: &str) -> String {
        self.errors
            .iter()
            .filter(|e| e.field == field)
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn form_page(
    state: &AppState,
    csrf: &str,
    mut input: ReportInput,
    errors: Vec<FieldError>,
) -> ReportFormPage {
    // Invisible characters in the address are refused, and not shown back.
    input.reporter_email = cnadesk_core::report::without_controls(&input.reporter_email);
    ReportFormPage {
        layout: public_layout(state, "Report a vulnerability", csrf),
        input,
        errors,
        max_attachments: state.config.max_attachments,
        max_attachment_mb: state.config.max_attachment_bytes / (1024 * 1024),
        unavailable: false,
        cwes: cnadesk_cve::cwe::mappable()
            .map(|e| (e.id.as_str(), e.name.as_str()))
            .collect(),
        cvss_metrics: &crate::forms::CVSS31_BASE,
    }
}

/// `GET /report`
pub async fn report_form(State(state): State<AppState>, csrf: Csrf) -> Response {
    render(
        StatusCode::OK,
        &form_page(&state, &csrf.token, ReportInput::default(), Vec::new()),
    )
}

/// `POST /report` (multipart): stores the report and sends the reporter to
/// their private tracking page; on any problem, shows the form again with
/// what was typed and each problem beside its field.
pub async fn submit_report(
    State(state): State<AppState>,
    csrf: Csrf,
    ip: ClientIp,
    ReportSubmission(form): ReportSubmission,
) -> Response {
    let Some(form) = form else {
        return render(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &form_page(
                &state,
                &csrf.token,
                ReportInput::default(),
                vec![FieldError::new(
                    "form",
                    "the form must be sent as multipart/form-data",
                )],
            ),
        );
    };
    // The reading problems, the last of them a bad anti-forgery token.
    let mut errors = form.errors;
    if let Err(mut field_errors) = form.input.validate() {
        errors.append(&mut field_errors);
    }
    if !errors.is_empty() {
        let status = if errors.iter().any(|e| e.message.contains("too large")) {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        return render(status, &form_page(&state, &csrf.token, form.input, errors));
    }
    match intake(&state, &form.input, form.attachments, Channel::Web, ip).await {
        Ok((_, token)) => Redirect::to(&format!("/track/{token}?received=1")).into_response(),
        Err(IntakeError::Invalid(errors)) => render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &form_page(&state, &csrf.token, form.input, errors),
        ),
        Err(IntakeError::RateLimited(secs)) => crate::error::with_retry_after(
            render(
                StatusCode::TOO_MANY_REQUESTS,
                &form_page(
                    &state,
                    &csrf.token,
                    form.input,
                    vec![FieldError::new(
                        "form",
                        format!(
                            "too many reports from your address in the last hour; please send again in {} (your text is kept below)",
                            crate::ratelimit::wait_in_words(secs)
                        ),
                    )],
                ),
            ),
            secs,
        ),
        Err(IntakeError::Store(cnadesk_store::StoreError::Unavailable(reason))) => {
            // The form again, typed text kept, saying it was NOT received.
            crate::error::log_unavailable(&reason);
            let mut page = form_page(&state, &csrf.token, form.input, Vec::new());
            page.unavailable = true;
            crate::error::unavailable(render(StatusCode::SERVICE_UNAVAILABLE, &page))
        }
        Err(IntakeError::Store(e)) => AppError::from(e).into_response(),
    }
}

/// One message as the reporter sees it.
struct ThreadItem {
    from_team: bool,
    author: String,
    when: String,
    body: String,
}

#[derive(Template)]
#[template(path = "tracking.html")]
struct TrackingPage {
    layout: Layout,
    token: String,
    tracking_url: String,
    just_received: bool,
    report_id: String,
    title: String,
    product: String,
    received: String,
    status: String,
    status_detail: String,
    /// The stages: name, reached, current.
    path: Vec<(&'static str, bool, bool)>,
    cve_id: String,
    advisory_url: String,
    credit: String,
    embargo_end: String,
    thread: Vec<ThreadItem>,
    can_reply: bool,
    error: String,
    /// What the reporter typed, shown again when it could not be sent.
    draft: String,
}

async fn tracking_response(
    state: &AppState,
    token: &str,
    csrf: &str,
    just_received: bool,
    error: String,
    draft: &str,
    status_code: StatusCode,
) -> Result<Response, AppError> {
    let report = state
        .store
        .report_by_tracking_hash(&sha256_hex(token))
        .await?
        .ok_or(AppError::NotFound)?;
    let view = cnadesk_app::lifecycle::reporter_view(state, &report).await?;
    let thread = state
        .store
        .messages(report.id, false)
        .await?
        .into_iter()
        .map(|m| ThreadItem {
            from_team: matches!(m.author, Author::Member { .. }),
            author: match m.author {
                Author::Member { .. } => format!("{} team", state.settings.cna_name),
                Author::Reporter => "You".to_owned(),
            },
            when: fmt_time(m.created_at_ms),
            body: m.body,
        })
        .collect();
    let page = TrackingPage {
        layout: public_layout(state, "Your report", csrf),
        token: token.to_owned(),
        tracking_url: state.url(&format!("/track/{token}")),
        just_received,
        report_id: report.id.to_string(),
        title: report.fields.title,
        product: report.fields.product,
        received: fmt_time(report.created_at_ms),
        status: view.stage.label().to_owned(),
        status_detail: view.text,
        path: view.path,
        cve_id: view.cve_id.unwrap_or_default(),
        advisory_url: view.advisory_url.unwrap_or_default(),
        credit: view.credit.unwrap_or_default(),
        embargo_end: view.embargo_end.unwrap_or_default(),
        thread,
        can_reply: true,
        error,
        draft: draft.to_owned(),
    };
    let mut res = render(status_code, &page);
    // The token is in the URL: never leak it through the Referer header, and
    // keep the page out of caches and search engines.
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res.headers_mut()
        .insert("x-robots-tag", HeaderValue::from_static("noindex"));
    Ok(res)
}

/// Query of the tracking page.
#[derive(Debug, Deserialize)]
pub struct TrackingQuery {
    received: Option<String>,
}

/// `GET /track/{token}`
pub async fn tracking_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    axum::extract::Query(q): axum::extract::Query<TrackingQuery>,
    csrf: Csrf,
) -> Result<Response, AppError> {
    tracking_response(
        &state,
        &token,
        &csrf.token,
        q.received.is_some(),
        String::new(),
        "",
        StatusCode::OK,
    )
    .await
}

/// The reporter's reply form.
#[derive(Debug, Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    body: String,
}

/// `POST /track/{token}/messages`
pub async fn tracking_reply(
    State(state): State<AppState>,
    Path(token): Path<String>,
    csrf: Csrf,
    ip: ClientIp,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> Result<Response, AppError> {
    let report = conversation::report_of_tracking_token(&state, &token)
        .await?
        .ok_or(AppError::NotFound)?;
    // A flood from one link or one address is slowed down, like intake;
    // the page comes back with the text kept and says when to send it.
    let limited = state
        .reply_limiter
        .try_now(&format!("report:{}", report.id.0))
        .and_then(|()| state.reply_limiter.try_now(&ip.limit_key()));
    if let Err(wait) = limited {
        let secs = crate::ratelimit::retry_after_secs(wait);
        let page = tracking_response(
            &state,
            &token,
            &csrf.token,
            false,
            format!(
                "Your message has NOT been sent: too many messages in the last hour. Your text is kept below; please send it again in {}.",
                crate::ratelimit::wait_in_words(secs)
            ),
            &form.body,
            StatusCode::TOO_MANY_REQUESTS,
        )
        .await?;
        return Ok(crate::error::with_retry_after(page, secs));
    }
    match conversation::reporter_writes(&state, report.id, &form.body).await {
        Ok(_) => Ok(Redirect::to(&format!("/track/{token}#thread")).into_response()),
        Err(MessageError::Refused(m)) => {
            tracking_response(
                &state,
                &token,
                &csrf.token,
                false,
                m,
                &form.body,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(MessageError::Store(cnadesk_store::StoreError::Unavailable(reason))) => {
            // The page again, typed text kept, saying it was NOT sent.
            crate::error::log_unavailable(&reason);
            let page = tracking_response(
                &state,
                &token,
                &csrf.token,
                false,
                "Your message has NOT been sent: the desk cannot store anything right now (the fault is on our side). Your text is kept below; please send it again in a minute.".to_owned(),
                &form.body,
                StatusCode::SERVICE_UNAVAILABLE,
            )
            .await?;
            Ok(crate::error::unavailable(page))
        }
        Err(MessageError::Store(e)) => Err(e.into()),
    }
}

/// One rule on the public scope page.
struct PublicRule {
    id: String,
    question: String,
    statement: String,
    decision: String,
    decision_label: String,
    tags: Vec<String>,
}

#[derive(Template)]
#[template(path = "scope.html")]
struct ScopePage {
    layout: Layout,
    name: String,
    version: String,
    effective: String,
    summary: String,
    rules: Vec<PublicRule>,
    /// (CNA name, short name, evidence)
    coverage: Vec<(String, String, String)>,
    last_resort: String,
    /// (name, kind, CNA or empty)
    components: Vec<(String, String, String)>,
    data_origin: String,
    product: String,
    result: Option<crate::scope_view::AssessmentView>,
    /// Versions the desk has run under: (version, effective, adopted, shown).
    versions: Vec<(String, String, String, bool)>,
    /// The version in force, when an older one is shown.
    superseded_by: String,
}

/// The product check on the scope page.
#[derive(Debug, Deserialize)]
pub struct ScopeQuery {
    #[serde(default)]
    product: String,
    #[serde(default)]
    version: String,
}

/// `GET /scope`: the scope policy in force, rendered from the policy file
/// (what we publish is what we apply), with a product check.
pub async fn scope_page(
    State(state): State<AppState>,
    Query(q): Query<ScopeQuery>,
) -> Result<Response, AppError> {
    let in_force = state.scope.policy();
    let adopted = state.store.scope_policies().await?;
    // An earlier version, as it was adopted (decisions name their version).
    let older = match q.version.trim() {
        "" => None,
        v if v == in_force.version => None,
        v => {
            let stored = adopted
                .iter()
                .find(|p| p.version == v)
                .ok_or(AppError::NotFound)?;
            Some(
                cnadesk_scope::Policy::parse(&stored.document)
                    .map_err(|e| AppError::Internal(format!("stored policy {v}: {e}")))?,
            )
        }
    };
    let policy = older.as_ref().unwrap_or(in_force);
    // Only published data: the team's annotations and added products stay in the desk.
    let registry = state.scope.public_registry();
    let cna_name = |short: &str, fallback: Option<&str>| {
        registry
            .cna(short)
            .map(|c| c.organization.clone())
            .or(fallback.map(str::to_owned))
            .unwrap_or_else(|| short.to_owned())
    };
    let product: String = q.product.chars().take(300).collect();
    let result = (!product.trim().is_empty() && older.is_none()).then(|| {
        crate::scope_view::AssessmentView::new(&state.scope.assess(
            &registry,
            &cnadesk_scope::ScopeInput {
                product: product.clone(),
                description: String::new(),
            },
            state.now_ms(),
        ))
    });
    let page = ScopePage {
        // A public page without forms that need a token: no cookie.
        layout: public_layout(&state, "Scope", ""),
        name: policy.name.clone(),
        version: policy.version.clone(),
        effective: policy.effective.clone(),
        summary: policy.summary.trim().to_owned(),
        rules: policy
            .rules
            .iter()
            .map(|r| PublicRule {
                id: r.id.clone(),
                question: r.question.clone(),
                statement: r.statement.trim().to_owned(),
                decision: r.decision.as_str().into(),
                decision_label: r.decision.label().into(),
                tags: r.tags.clone(),
            })
            .collect(),
        coverage: policy
            .coverage
            .iter()
            .map(|c| {
                (
                    cna_name(&c.cna, c.cna_name.as_deref()),
                    c.cna.clone(),
                    c.evidence.clone(),
                )
            })
            .collect(),
        last_resort: format!(
            "{} ({})",
            cna_name(&policy.last_resort, None),
            policy.last_resort
        ),
        components: registry
            .components()
            .iter()
            .map(|c| {
                (
                    c.name.clone(),
                    c.kind.clone(),
                    c.cna
                        .as_deref()
                        .map(|s| cna_name(s, None))
                        .unwrap_or_default(),
                )
            })
            .collect(),
        data_origin: state.scope.origin().to_owned(),
        product,
        result,
        versions: adopted
            .iter()
            .map(|v| {
                (
                    v.version.clone(),
                    v.effective.clone(),
                    fmt_time(v.adopted_at_ms),
                    v.version == policy.version,
                )
            })
            .collect(),
        superseded_by: if older.is_some() {
            in_force.version.clone()
        } else {
            String::new()
        },
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /pgp-key.asc`: the CNA's OpenPGP public key.
pub async fn cna_public_key(State(state): State<AppState>) -> Result<Response, AppError> {
    let key = state.notify.public_key().ok_or(AppError::NotFound)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pgp-keys"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        key.to_armored(),
    )
        .into_response())
}
