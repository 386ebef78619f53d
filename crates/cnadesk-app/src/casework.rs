//! The team's coordination work on a case: its vulnerabilities (with their
//! XEP and RFC references), the affected products and how many CVEs they
//! need, the product rows, inviting vendor contacts, a broken embargo, the
//! team's messages to vendors, and reading the files vendors sent. Each
//! step checks what was typed and says which field is wrong.

use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::coordination::{parse_rfc_refs, parse_xep_refs};
use cnadesk_core::report::email_problem;
use cnadesk_core::{Actor, UserId};
use cnadesk_store::{
    Case, CaseFile, CountChoice, CveIdFilter, NewVulnerability, Participant, StoreError,
};
use serde_json::json;

use crate::coordination::{message_body, product_update, ProductForm};
use crate::text::check_text;
use crate::App;

/// Why a step did not happen.
#[derive(Debug)]
pub enum CaseworkError {
    /// What was typed is wrong: (field, sentence) pairs; nothing changed.
    Invalid(Vec<(String, String)>),
    /// No such vulnerability, row, thread or file in this case.
    NotFound,
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for CaseworkError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => CaseworkError::NotFound,
            e => CaseworkError::Store(e),
        }
    }
}

fn text_ok(name: &str, value: &str, max: usize, required: bool) -> Option<(String, String)> {
    check_text(name, value, max, required, true)
        .err()
        .map(|e| (name.to_owned(), e))
}

/// A vulnerability as typed.
#[derive(Clone, Debug, Default)]
pub struct VulnerabilityInput {
    /// One line.
    pub title: String,
    /// What it is.
    pub summary: String,
    /// XEP references (`XEP-0280 v1.0.1 §11`, one per line or comma).
    pub xeps: String,
    /// RFC references.
    pub rfcs: String,
}

/// Adds a vulnerability to a case.
pub async fn add_vulnerability(
    app: &App,
    case: &Case,
    input: &VulnerabilityInput,
    actor: &Actor,
) -> Result<(), CaseworkError> {
    let mut errors: Vec<(String, String)> = [
        text_ok("title", &input.title, 200, true),
        text_ok("summary", &input.summary, 20_000, false),
    ]
    .into_iter()
    .flatten()
    .collect();
    let xeps = parse_xep_refs(&input.xeps).unwrap_or_else(|e| {
        errors.push(("xeps".into(), e));
        Vec::new()
    });
    let rfcs = parse_rfc_refs(&input.rfcs).unwrap_or_else(|e| {
        errors.push(("rfcs".into(), e));
        Vec::new()
    });
    if !errors.is_empty() {
        return Err(CaseworkError::Invalid(errors));
    }
    app.store
        .add_vulnerability(
            NewVulnerability {
                case_id: case.id,
                title: input.title.trim().to_owned(),
                summary: input.summary.trim().to_owned(),
                xeps,
                rfcs,
            },
            actor,
            app.now_ms(),
        )
        .await?;
    Ok(())
}

/// Adds products of the ecosystem registry (by key or name) to a
/// vulnerability; members affiliated with a newly affected product step
/// aside. Returns the members recused.
pub async fn add_products(
    app: &App,
    case: &Case,
    vulnerability: i64,
    keys: Vec<String>,
    actor: &Actor,
) -> Result<Vec<UserId>, CaseworkError> {
    let registry = app.scope.registry(&*app.store).await?;
    let mut products = Vec::new();
    let mut errors = Vec::new();
    for key in keys {
        match registry
            .product(&key)
            .or_else(|| registry.product_named(&key))
        {
            Some(p) => products.push((p.key.clone(), p.name.clone())),
            None => errors.push((
                "other".to_owned(),
                format!("`{key}` is not a product of the ecosystem registry (add it there first)"),
            )),
        }
    }
    if products.is_empty() && errors.is_empty() {
        errors.push(("other".into(), "pick at least one product".into()));
    }
    if !errors.is_empty() {
        return Err(CaseworkError::Invalid(errors));
    }
    app.store
        .add_affected_products(case.id, vulnerability, products, actor, app.now_ms())
        .await?;
    Ok(crate::team::recuse_affiliated(app, case).await?)
}

/// How many CVEs a vulnerability needs, as typed (CNA rule 4.2.14).
#[derive(Clone, Debug, Default)]
pub struct CountInput {
    /// `yes` or `no`: can the specification be implemented securely?
    pub secure_way: String,
    /// 0 to 1000.
    pub count: String,
    /// Why.
    pub reason: String,
}

/// Records how many CVEs a vulnerability needs.
pub async fn choose_count(
    app: &App,
    case: &Case,
    vulnerability: i64,
    input: &CountInput,
    actor: &Actor,
) -> Result<(), CaseworkError> {
    let mut errors = Vec::new();
    let secure = match input.secure_way.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => {
            errors.push((
                "secure_way".into(),
                "say whether the specification can be implemented securely".into(),
            ));
            None
        }
    };
    let count = input
        .count
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| (0..=1000).contains(n));
    if count.is_none() {
        errors.push(("count".into(), "must be a number from 0 to 1000".into()));
    }
    if let Some(e) = text_ok("reason", &input.reason, 2000, true) {
        errors.push(e);
    }
    let (Some(secure), Some(count), true) = (secure, count, errors.is_empty()) else {
        return Err(CaseworkError::Invalid(errors));
    };
    app.store
        .choose_cve_count(
            case.id,
            vulnerability,
            CountChoice {
                secure_way_exists: secure,
                count,
                reason: input.reason.trim().to_owned(),
            },
            actor,
            app.now_ms(),
        )
        .await?;
    Ok(())
}

/// The team sets a product row (for a vendor who answered by other means)
/// and whether other vendors see it.
pub async fn set_product_row(
    app: &App,
    case: &Case,
    row: i64,
    form: &ProductForm,
    actor: &Actor,
) -> Result<(), CaseworkError> {
    let update = product_update(form).map_err(CaseworkError::Invalid)?;
    let now = app.now_ms();
    let shared = form.shared.is_some();
    let current = app
        .store
        .affected_products(case.id)
        .await?
        .into_iter()
        .find(|p| p.id == row)
        .ok_or(CaseworkError::NotFound)?;
    app.store
        .update_affected_product(case.id, row, update, actor, now)
        .await?;
    if current.shared != shared {
        app.store
            .share_affected_product(case.id, row, shared, actor, now)
            .await?;
    }
    Ok(())
}

/// Invites a vendor contact for the products picked (those not of the case
/// are ignored); returns the participant and the personal link, shown once.
pub async fn invite_vendor(
    app: &App,
    case: &Case,
    email: &str,
    contact_name: &str,
    picked: &[String],
    actor: &Actor,
) -> Result<(Participant, String), CaseworkError> {
    let email = email.trim().to_lowercase();
    let contact_name = contact_name.trim();
    let listed = app.store.affected_products(case.id).await?;
    let products: Vec<String> = picked
        .iter()
        .filter(|v| listed.iter().any(|p| &p.product_key == *v))
        .cloned()
        .collect();
    let mut errors = Vec::new();
    if let Some(problem) = email_problem(&email) {
        errors.push(("email".into(), problem.into()));
    }
    if let Some(e) = text_ok("contact_name", contact_name, 100, false) {
        errors.push(e);
    }
    if products.is_empty() {
        errors.push((
            "product".into(),
            "pick the products this contact speaks for (add them to a vulnerability first)".into(),
        ));
    }
    if !errors.is_empty() {
        return Err(CaseworkError::Invalid(errors));
    }
    Ok(crate::coordination::invite(app, case, &email, contact_name, products, actor).await?)
}

/// Someone disclosed publicly: the embargo is broken at `disclosed_at` (a
/// time already parsed in the member's zone, or why it is not one), and the
/// case's CVE IDs count as public from then, which starts the 72-hour
/// publication clock of CNA rule 4.5.1.4.
pub async fn break_embargo(
    app: &App,
    case: &Case,
    disclosed_at: Result<i64, String>,
    note: &str,
    actor: &Actor,
) -> Result<(), CaseworkError> {
    let now = app.now_ms();
    let mut errors = Vec::new();
    if let Some(e) = text_ok("note", note, 2000, true) {
        errors.push(e);
    }
    let at = match disclosed_at {
        Ok(t) if t <= now => Some(t),
        Ok(_) => {
            errors.push(("disclosed_at".into(), "lies in the future".into()));
            None
        }
        Err(e) => {
            errors.push(("disclosed_at".into(), e));
            None
        }
    };
    let Some(at) = at.filter(|_| errors.is_empty()) else {
        return Err(CaseworkError::Invalid(errors));
    };
    match app
        .store
        .break_embargo(case.id, at, note.trim(), actor, now)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => {
            return Err(CaseworkError::Invalid(vec![(
                "note".into(),
                "the case has no embargo".into(),
            )]))
        }
        Err(StoreError::Rejected(m)) => {
            return Err(CaseworkError::Invalid(vec![("note".into(), m)]))
        }
        Err(e) => return Err(e.into()),
    }
    for entry in app
        .store
        .cve_ids(CveIdFilter {
            case: Some(case.id),
            ..Default::default()
        })
        .await?
    {
        if entry.disclosed_at_ms.is_none() {
            app.store
                .set_cve_id_disclosed(&entry.cve_id, Some(at), actor, now)
                .await?;
        }
    }
    Ok(())
}

/// A team member writes to the vendors: `thread` is `shared` (every vendor
/// of the case) or a participant's number (that vendor only).
pub async fn team_message(
    app: &App,
    case: &Case,
    thread: &str,
    body: &str,
    member_name: &str,
    actor: &Actor,
) -> Result<(), CaseworkError> {
    let thread = if thread == "shared" {
        None
    } else {
        let p: i64 = thread.parse().map_err(|_| CaseworkError::NotFound)?;
        app.store
            .participants(case.id)
            .await?
            .iter()
            .find(|x| x.id == p)
            .ok_or(CaseworkError::NotFound)?;
        Some(p)
    };
    let body = message_body(body).map_err(|e| CaseworkError::Invalid(vec![("body".into(), e)]))?;
    let author = format!("{member_name} ({})", app.settings.cna_name);
    app.store
        .add_case_message(case.id, thread, &author, &body, actor, app.now_ms())
        .await?;
    Ok(())
}

/// A file of the case's coordination, read with an audit event naming who
/// read which file.
pub async fn read_case_file(
    app: &App,
    case: &Case,
    file: i64,
    actor: &Actor,
) -> Result<Option<(CaseFile, Vec<u8>)>, StoreError> {
    let Some((meta, bytes)) = app.store.case_file(case.id, file).await? else {
        return Ok(None);
    };
    app.store
        .record_event(
            EventDraft::new(AuditAction::CoordinationFileDownloaded)
                .case(case.id)
                .report(case.report_id)
                .payload(json!({ "file": meta.id, "sha256": meta.sha256 })),
            actor,
            app.now_ms(),
        )
        .await?;
    Ok(Some((meta, bytes)))
}
