//! The coordination page of a case: its vulnerabilities and the products
//! they affect, the implementations a XEP-level flaw may hit (from DOAP
//! data), the CVE count (rule 4.2.14), vendor invitations and checklists,
//! the embargo, the coordination threads and the vendors' files.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_core::coordination::{
    in_zone_with_utc, parse_datetime, suggested_cve_count, Checklist,
};
use cnadesk_core::report::without_controls;
use cnadesk_core::CaseId;
use cnadesk_store::{Case, EmbargoOutcome};
use serde::Deserialize;

use crate::auth::Member;
use crate::extract::{CsrfForm, IdPath};
use crate::security::Csrf;
use crate::views::file_download;
use crate::views::{render, Layout};
use crate::{AppError, AppState};
use cnadesk_app::casework::{self, CaseworkError, CountInput, VulnerabilityInput};
use cnadesk_app::coordination::{
    candidates, checklist_of, product_names, EmbargoChangeError, ProductForm, XepCandidates,
};

struct RowView {
    id: i64,
    product: String,
    key: String,
    status: String,
    status_label: String,
    affected_versions: String,
    fixed_versions: String,
    statement: String,
    fix_released: bool,
    shared: bool,
    status_at: String,
    versions_at: String,
    statement_at: String,
    updated_by: String,
}

struct VulnView {
    id: i64,
    title: String,
    summary: String,
    references: String,
    rows: Vec<RowView>,
    candidates: Vec<XepCandidates>,
    secure_way: String,
    count: String,
    count_reason: String,
    suggested: usize,
    explanation: String,
}

struct VendorRow {
    id: i64,
    contact: String,
    email: String,
    products: String,
    invited: String,
    accepted: String,
    checklist: Checklist,
    reminders: i64,
    consented: bool,
}

struct ThreadMessage {
    thread: String,
    author: String,
    at: String,
    body: String,
}

struct FileRow {
    id: i64,
    filename: String,
    size: i64,
    thread: String,
    at: String,
    sha256: String,
}

#[derive(Template)]
#[template(path = "coordination.html")]
struct Page {
    layout: Layout,
    case_number: i64,
    title: String,
    time_zone: String,
    embargo_end: String,
    embargo_reason: String,
    embargo_input: String,
    pending: Option<(String, String)>,
    lifted: String,
    broken: String,
    consent_policy: bool,
    vulnerabilities: Vec<VulnView>,
    listed_products: Vec<(String, String)>,
    vendors: Vec<VendorRow>,
    messages: Vec<ThreadMessage>,
    files: Vec<FileRow>,
    statuses: Vec<(String, String)>,
    total_count: i64,
    errors: Vec<(String, String)>,
    drafts: Drafts,
    notice: String,
}

/// What a member typed, kept when a form is refused.
#[derive(Clone, Debug, Default)]
pub struct Drafts {
    title: String,
    summary: String,
    xeps: String,
    rfcs: String,
    email: String,
    contact_name: String,
    embargo_end: String,
    embargo_reason: String,
    body: String,
}

impl Page {
    /// A field as its form labels it, where that differs from its name
    /// (for the list of problems).
    fn label<'a>(&self, field: &'a str) -> &'a str {
        match field {
            "email" => "E-mail address",
            other => other,
        }
    }
}

async fn time_zone_of(state: &AppState, member: &Member) -> Result<String, AppError> {
    Ok(crate::desk::time_zone_of(state, member.user.id).await?)
}

async fn the_case(state: &AppState, id: CaseId) -> Result<Case, AppError> {
    state.store.case(id).await?.ok_or(AppError::NotFound)
}

fn actor_name(key: &str, state: &AppState) -> String {
    match key.parse() {
        Ok(cnadesk_core::Actor::Member { username, .. }) => username,
        Ok(cnadesk_core::Actor::Vendor { .. }) => "vendor".to_owned(),
        Ok(cnadesk_core::Actor::System { component }) => {
            format!("{} ({component})", state.settings.cna_name)
        }
        _ => key.to_owned(),
    }
}

async fn page(
    state: &AppState,
    member: &Member,
    csrf: &str,
    case: &Case,
    errors: Vec<(String, String)>,
    drafts: Drafts,
    notice: &str,
) -> Result<Page, AppError> {
    let tz = time_zone_of(state, member).await?;
    let embargo = state.store.embargo(case.id).await?;
    let products = state.store.affected_products(case.id).await?;
    let participants = state.store.participants(case.id).await?;
    let registry = state.scope.registry(&*state.store).await?;
    let mut vulnerabilities = Vec::new();
    let mut total_count = 0;
    for v in state.store.vulnerabilities(case.id).await? {
        let rows: Vec<RowView> = products
            .iter()
            .filter(|p| p.vulnerability_id == v.id)
            .map(|p| RowView {
                id: p.id,
                product: p.product_name.clone(),
                key: p.product_key.clone(),
                status: p.status.as_str().into(),
                status_label: p.status.label().into(),
                affected_versions: p.affected_versions.clone(),
                fixed_versions: p.fixed_versions.clone(),
                statement: p.statement.clone(),
                fix_released: p.fix_released,
                shared: p.shared,
                status_at: p
                    .status_at_ms
                    .map_or_else(|| "no answer yet".into(), |t| in_zone_with_utc(t, &tz)),
                versions_at: p
                    .versions_at_ms
                    .map(|t| in_zone_with_utc(t, &tz))
                    .unwrap_or_default(),
                statement_at: p
                    .statement_at_ms
                    .map(|t| in_zone_with_utc(t, &tz))
                    .unwrap_or_default(),
                updated_by: p
                    .updated_by
                    .as_deref()
                    .map(|k| actor_name(k, state))
                    .unwrap_or_default(),
            })
            .collect();
        let vulnerable = products
            .iter()
            .filter(|p| p.vulnerability_id == v.id && p.status.vulnerable())
            .count();
        let guidance = suggested_cve_count(v.secure_way_exists, vulnerable);
        total_count += v.cve_count.unwrap_or(0);
        let references = v.references();
        vulnerabilities.push(VulnView {
            id: v.id,
            candidates: candidates(&registry, &v, &products),
            title: v.title,
            summary: v.summary,
            references,
            rows,
            secure_way: match v.secure_way_exists {
                Some(true) => "yes".into(),
                Some(false) => "no".into(),
                None => String::new(),
            },
            count: v.cve_count.map(|c| c.to_string()).unwrap_or_default(),
            count_reason: v.count_reason.unwrap_or_default(),
            suggested: guidance.count,
            explanation: guidance.explanation,
        });
    }
    let mut listed_products: Vec<(String, String)> = products
        .iter()
        .map(|p| (p.product_key.clone(), p.product_name.clone()))
        .collect();
    listed_products.sort();
    listed_products.dedup();
    let thread_name = |p: Option<i64>| match p {
        None => "shared with every vendor".to_owned(),
        Some(id) => participants.iter().find(|x| x.id == id).map_or_else(
            || format!("vendor #{id}"),
            |x| format!("private: {}", x.email),
        ),
    };
    let messages = state
        .store
        .case_messages(case.id, None)
        .await?
        .into_iter()
        .map(|m| ThreadMessage {
            thread: thread_name(m.participant_id),
            author: m.author,
            at: in_zone_with_utc(m.created_at_ms, &tz),
            body: m.body,
        })
        .collect();
    let files = state
        .store
        .case_files(case.id)
        .await?
        .into_iter()
        .map(|f| FileRow {
            id: f.id,
            filename: f.filename,
            size: f.size,
            thread: thread_name(f.participant_id),
            at: in_zone_with_utc(f.created_at_ms, &tz),
            sha256: f.sha256,
        })
        .collect();
    let vendors = participants
        .iter()
        .map(|p| VendorRow {
            id: p.id,
            contact: p.contact_name.clone(),
            email: p.email.clone(),
            products: product_names(&p.products, &products),
            invited: in_zone_with_utc(p.invited_at_ms, &tz),
            accepted: p
                .accepted_at_ms
                .map_or_else(|| "not yet".into(), |t| in_zone_with_utc(t, &tz)),
            checklist: checklist_of(p, &products),
            reminders: p.reminders_sent,
            consented: p.consented_at_ms.is_some(),
        })
        .collect();
    let embargo_input = embargo
        .as_ref()
        .and_then(|e| jiff::Timestamp::from_millisecond(e.ends_at_ms).ok())
        .and_then(|ts| {
            jiff::tz::TimeZone::get(&tz)
                .ok()
                .map(|z| ts.to_zoned(z).strftime("%Y-%m-%dT%H:%M").to_string())
        })
        .unwrap_or_default();
    Ok(Page {
        layout: member.layout(state, &format!("Coordination of case #{}", case.id.0), csrf),
        case_number: case.id.0,
        title: case.title.clone(),
        embargo_end: cnadesk_app::coordination::embargo_end_text(embargo.as_ref(), &tz),
        embargo_reason: embargo
            .as_ref()
            .map(|e| e.reason.clone())
            .unwrap_or_default(),
        embargo_input,
        pending: embargo
            .as_ref()
            .and_then(|e| e.pending.as_ref())
            .map(|p| (in_zone_with_utc(p.ends_at_ms, &tz), p.reason.clone())),
        lifted: embargo
            .as_ref()
            .and_then(|e| e.lifted_at_ms)
            .map(|t| in_zone_with_utc(t, &tz))
            .unwrap_or_default(),
        broken: embargo
            .as_ref()
            .and_then(|e| e.broken_at_ms.map(|t| (t, e.broken_note.clone())))
            .map(|(t, note)| {
                format!(
                    "{} — {}",
                    in_zone_with_utc(t, &tz),
                    note.unwrap_or_default()
                )
            })
            .unwrap_or_default(),
        consent_policy: state.settings.coordination.embargo_change_needs_consent,
        time_zone: tz,
        vulnerabilities,
        listed_products,
        vendors,
        messages,
        files,
        statuses: cnadesk_app::coordination::status_choices(),
        total_count,
        errors,
        drafts,
        notice: notice.to_owned(),
    })
}

fn notice(done: &str) -> &'static str {
    match done {
        "vulnerability" => "Vulnerability added.",
        "products" => "Products added.",
        "products_recused" => "Products added; members affiliated with them were recused.",
        "count" => "CVE count recorded.",
        "product" => "Product updated.",
        "embargo" => "Embargo date set.",
        "proposed" => {
            "The new date waits for the consent of the vendors who acknowledged the embargo."
        }
        "broken" => "Broken embargo recorded; the 72-hour publication clock runs.",
        "message" => "Message sent.",
        _ => "",
    }
}

/// `GET /desk/cases/{id}/coordination`
pub async fn coordination(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    Query(q): Query<crate::desk::NoticeQuery>,
) -> Result<Response, AppError> {
    let case = the_case(&state, id).await?;
    let p = page(
        &state,
        &member,
        &csrf.token,
        &case,
        Vec::new(),
        Drafts::default(),
        notice(&q.done),
    )
    .await?;
    Ok(render(StatusCode::OK, &p))
}

async fn refused(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    case: &Case,
    errors: Vec<(String, String)>,
    drafts: Drafts,
) -> Result<Response, AppError> {
    let p = page(state, member, &csrf.token, case, errors, drafts, "").await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &p))
}

/// The page again with the fields a casework step refused, or the error.
async fn casework_refused(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    case: &Case,
    error: CaseworkError,
    drafts: Drafts,
) -> Result<Response, AppError> {
    match error {
        CaseworkError::Invalid(errors) => refused(state, member, csrf, case, errors, drafts).await,
        CaseworkError::NotFound => Err(AppError::NotFound),
        CaseworkError::Store(e) => Err(e.into()),
    }
}

fn done(case: &Case, what: &str) -> Response {
    Redirect::to(&format!(
        "/desk/cases/{}/coordination?done={what}",
        case.id.0
    ))
    .into_response()
}

fn text_ok(name: &str, value: &str, max: usize, required: bool) -> Option<(String, String)> {
    crate::desk::check_text(name, value, max, required, true)
        .err()
        .map(|e| (name.to_owned(), e))
}

/// The new-vulnerability form.
#[derive(Debug, Deserialize)]
pub struct VulnerabilityForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    xeps: String,
    #[serde(default)]
    rfcs: String,
}

/// `POST /desk/cases/{id}/vulnerabilities`
pub async fn add_vulnerability(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<VulnerabilityForm>,
) -> Result<Response, AppError> {
    let case = the_case(&state, id).await?;
    let input = VulnerabilityInput {
        title: form.title.clone(),
        summary: form.summary.clone(),
        xeps: form.xeps.clone(),
        rfcs: form.rfcs.clone(),
    };
    match casework::add_vulnerability(&state, &case, &input, &member.actor()).await {
        Ok(()) => Ok(done(&case, "vulnerability")),
        Err(e) => {
            let drafts = Drafts {
                title: form.title,
                summary: form.summary,
                xeps: form.xeps,
                rfcs: form.rfcs,
                ..Drafts::default()
            };
            casework_refused(&state, &member, &csrf, &case, e, drafts).await
        }
    }
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

/// `POST /desk/cases/{id}/vulnerabilities/{v}/products`: `product` repeated
/// (registry keys picked from the candidates), and `other` (one more key).
pub async fn add_products(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath((id, v)): IdPath<(CaseId, i64)>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let case = the_case(&state, id).await?;
    let mut keys: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "product")
        .map(|(_, v)| v.clone())
        .collect();
    let other = field(&pairs, "other").trim();
    if !other.is_empty() {
        keys.push(other.to_owned());
    }
    match casework::add_products(&state, &case, v, keys, &member.actor()).await {
        Ok(recused) if recused.is_empty() => Ok(done(&case, "products")),
        Ok(_) => Ok(done(&case, "products_recused")),
        Err(e) => casework_refused(&state, &member, &csrf, &case, e, Drafts::default()).await,
    }
}

/// The CVE count form.
#[derive(Debug, Deserialize)]
pub struct CountForm {
    #[serde(default)]
    secure_way: String,
    #[serde(default)]
    count: String,
    #[serde(default)]
    reason: String,
}

/// `POST /desk/cases/{id}/vulnerabilities/{v}/count`
pub async fn choose_count(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath((id, v)): IdPath<(CaseId, i64)>,
    CsrfForm(form): CsrfForm<CountForm>,
) -> Result<Response, AppError> {
    let case = the_case(&state, id).await?;
    let input = CountInput {
        secure_way: form.secure_way,
        count: form.count,
        reason: form.reason,
    };
    match casework::choose_count(&state, &case, v, &input, &member.actor()).await {
        Ok(()) => Ok(done(&case, "count")),
        Err(e) => casework_refused(&state, &member, &csrf, &case, e, Drafts::default()).await,
    }
}

/// `POST /desk/cases/{id}/products/{row}`: the team sets a row (for a
/// vendor who answered by other means) and whether other vendors see it.
pub async fn update_product(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath((id, row)): IdPath<(CaseId, i64)>,
    CsrfForm(form): CsrfForm<ProductForm>,
) -> Result<Response, AppError> {
    let case = the_case(&state, id).await?;
    match casework::set_product_row(&state, &case, row, &form, &member.actor()).await {
        Ok(()) => Ok(done(&case, "product")),
        Err(e) => casework_refused(&state, &member, &csrf, &case, e, Drafts::default()).await,
    }
}

/// `POST /desk/cases/{id}/vendors`: `email`, `contact_name`, `product` repeated.
pub async fn invite_vendor(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let case = the_case(&state, id).await?;
    let email = field(&pairs, "email");
    let contact_name = field(&pairs, "contact_name");
    let picked: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "product")
        .map(|(_, v)| v.clone())
        .collect();
    let invited =
        casework::invite_vendor(&state, &case, email, contact_name, &picked, &member.actor()).await;
    let link = match invited {
        Ok((_, link)) => link,
        Err(e) => {
            let drafts = Drafts {
                // Invisible characters are refused, and not shown back.
                email: without_controls(email.trim()),
                contact_name: contact_name.trim().to_owned(),
                ..Drafts::default()
            };
            return casework_refused(&state, &member, &csrf, &case, e, drafts).await;
        }
    };
    // The link is shown once, here, so it can be passed on by other means
    // when e-mail is off; the desk keeps only its hash.
    let mail = if state.notify.mail_enabled() {
        "It was e-mailed to them."
    } else {
        "E-mail is not configured: send them this link yourself."
    };
    let email = email.trim().to_lowercase();
    let p = page(
        &state,
        &member,
        &csrf.token,
        &case,
        Vec::new(),
        Drafts::default(),
        &format!("Invitation for {email} created. {mail} Personal link (shown only now): {link}"),
    )
    .await?;
    Ok(render(StatusCode::OK, &p))
}

/// The embargo form: a date-time in the member's zone (or with `Z`) and a reason.
#[derive(Debug, Deserialize)]
pub struct EmbargoForm {
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    reason: String,
}

/// `POST /desk/cases/{id}/embargo`
pub async fn set_embargo(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<EmbargoForm>,
) -> Result<Response, AppError> {
    let case = the_case(&state, id).await?;
    let tz = time_zone_of(&state, &member).await?;
    let drafts = Drafts {
        embargo_end: form.ends_at.clone(),
        embargo_reason: form.reason.clone(),
        ..Drafts::default()
    };
    let mut errors = Vec::new();
    if let Some(e) = text_ok("reason", &form.reason, 2000, true) {
        errors.push(e);
    }
    let ends = match parse_datetime(&form.ends_at, &tz) {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(("ends_at".into(), e));
            None
        }
    };
    let Some(ends) = ends.filter(|_| errors.is_empty()) else {
        return refused(&state, &member, &csrf, &case, errors, drafts).await;
    };
    match cnadesk_app::coordination::change_embargo(
        &state,
        case.id,
        ends,
        &form.reason,
        &member.actor(),
    )
    .await
    {
        Ok(EmbargoOutcome::Applied) => Ok(done(&case, "embargo")),
        Ok(EmbargoOutcome::Proposed) => Ok(done(&case, "proposed")),
        Err(EmbargoChangeError::Refused(e)) => {
            refused(
                &state,
                &member,
                &csrf,
                &case,
                vec![("ends_at".into(), e)],
                drafts,
            )
            .await
        }
        Err(EmbargoChangeError::Store(e)) => Err(e.into()),
    }
}

/// The broken-embargo form.
#[derive(Debug, Deserialize)]
pub struct BrokenForm {
    #[serde(default)]
    disclosed_at: String,
    #[serde(default)]
    note: String,
}

/// `POST /desk/cases/{id}/embargo/broken`: someone disclosed publicly. The
/// case's CVE IDs become public then, which starts the 72-hour publication
/// clock of CNA rule 4.5.1.4.
pub async fn embargo_broken(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<BrokenForm>,
) -> Result<Response, AppError> {
    let case = the_case(&state, id).await?;
    let tz = time_zone_of(&state, &member).await?;
    let at = if form.disclosed_at.trim().is_empty() {
        Ok(state.now_ms())
    } else {
        parse_datetime(&form.disclosed_at, &tz)
    };
    match casework::break_embargo(&state, &case, at, &form.note, &member.actor()).await {
        Ok(()) => Ok(done(&case, "broken")),
        Err(e) => casework_refused(&state, &member, &csrf, &case, e, Drafts::default()).await,
    }
}

/// The team's message form.
#[derive(Debug, Deserialize)]
pub struct ThreadForm {
    #[serde(default)]
    body: String,
    /// `shared` or a participant id.
    #[serde(default)]
    thread: String,
}

/// `POST /desk/cases/{id}/coordination/messages`
pub async fn post_message(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<ThreadForm>,
) -> Result<Response, AppError> {
    let case = the_case(&state, id).await?;
    let name = &member.user.display_name;
    match casework::team_message(
        &state,
        &case,
        &form.thread,
        &form.body,
        name,
        &member.actor(),
    )
    .await
    {
        Ok(()) => Ok(done(&case, "message")),
        Err(e) => {
            let drafts = Drafts {
                body: form.body,
                ..Drafts::default()
            };
            casework_refused(&state, &member, &csrf, &case, e, drafts).await
        }
    }
}

/// `GET /desk/cases/{id}/coordination/files/{file}` (audited).
pub async fn download_file(
    State(state): State<AppState>,
    member: Member,
    IdPath((id, file)): IdPath<(CaseId, i64)>,
) -> Result<Response, AppError> {
    let case = the_case(&state, id).await?;
    let (meta, bytes) = casework::read_case_file(&state, &case, file, &member.actor())
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(file_download(&meta.filename, bytes))
}
