//! The CVE record of a case: the structured editor, the raw JSON editor,
//! saved versions with their preview and exports, and diffs between versions.
//!
//! Every save is a new immutable version; nothing here edits a version.
//! Validation (the official schema) and lint (the CNA rules) run on every
//! check and save, and their findings are shown beside the fields they concern.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_core::{CaseId, CveId};
use cnadesk_cve::editor::{
    lossy_keys, merge, wrap_record, AffectedRow, CreditRow, RecordForm, ReferenceRow, TimelineRow,
    CREDIT_TYPES, PLACEHOLDER_CVE_ID, REFERENCE_TAGS,
};
use cnadesk_store::{Case, RecordVersion, Report};
use serde::Deserialize;
use serde_json::Value;

use cnadesk_app::records::{
    checks_summary, container_of, evaluate, field_issue, save, Draft, Findings, Issue, SaveError,
};

use super::DiffLine;
use crate::auth::Member;
use crate::extract::{CsrfForm, IdPath};
use crate::security::Csrf;
use crate::views::{fmt_time, render, rfc3339, Layout};
use crate::{AppError, AppState};

// ---- shared ----------------------------------------------------------------------------

/// A case, its report, and every version of its record (newest first).
struct Loaded {
    case: Case,
    report: Report,
    versions: Vec<RecordVersion>,
}

impl Loaded {
    fn latest(&self) -> Option<&RecordVersion> {
        self.versions.first()
    }

    /// The latest version number, 0 when none was saved.
    fn latest_number(&self) -> i64 {
        self.latest().map(|v| v.version).unwrap_or(0)
    }

    fn version(&self, n: i64) -> Result<&RecordVersion, AppError> {
        self.versions
            .iter()
            .find(|v| v.version == n)
            .ok_or(AppError::NotFound)
    }
}

async fn load(state: &AppState, id: CaseId) -> Result<Loaded, AppError> {
    let case = state.store.case(id).await?.ok_or(AppError::NotFound)?;
    let report = state
        .store
        .report(case.report_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let versions = state.store.record_versions(id).await?;
    Ok(Loaded {
        case,
        report,
        versions,
    })
}

fn parse_document(v: &RecordVersion) -> Value {
    serde_json::from_str(&v.document).unwrap_or(Value::Null)
}

// ---- the structured editor ---------------------------------------------------------------

struct RowView<T> {
    index: usize,
    row: T,
    issues: Vec<Issue>,
}

struct VersionRow {
    version: i64,
    when: String,
    author: String,
    note: String,
    status: String,
    publishable: bool,
}

struct Choice {
    value: &'static str,
    label: &'static str,
}

#[derive(Template)]
#[template(path = "record_edit.html")]
struct EditPage {
    layout: Layout,
    case_number: i64,
    case_id: String,
    case_title: String,
    cve_id: String,
    based_on: i64,
    note: String,
    notice: String,
    error: String,
    placeholder_org: bool,
    lossy: Vec<&'static str>,
    reporter_versions: String,
    form: RecordForm,
    affected: Vec<RowView<AffectedRow>>,
    references: Vec<RowView<ReferenceRow>>,
    credits: Vec<RowView<CreditRow>>,
    timeline: Vec<RowView<TimelineRow>>,
    checked: bool,
    findings: Findings,
    versions: Vec<VersionRow>,
    credit_types: Vec<Choice>,
    version_types: Vec<Choice>,
    reference_tags: String,
}

impl EditPage {
    /// Whether the version scheme is one of the choices offered.
    fn known_version_type(&self, t: &str) -> bool {
        self.version_types.iter().any(|c| c.value == t)
    }

    /// The findings beside one field.
    fn issues(&self, field: &str) -> &[Issue] {
        self.findings
            .by_field
            .get(field)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

fn rows<T: Clone + Default>(items: &[T], prefix: &str, findings: &Findings) -> Vec<RowView<T>> {
    items
        .iter()
        .cloned()
        .chain(std::iter::once(T::default()))
        .enumerate()
        .map(|(index, row)| RowView {
            index,
            row,
            issues: findings
                .by_field
                .get(&format!("{prefix}-{index}"))
                .cloned()
                .unwrap_or_default(),
        })
        .collect()
}

/// Everything that varies between showing the editor fresh and showing it
/// again after a check or a refused save.
struct EditState {
    form: RecordForm,
    cve_id: String,
    based_on: i64,
    note: String,
    notice: String,
    error: String,
    checked: bool,
    findings: Findings,
}

async fn edit_page(
    state: &AppState,
    member: &Member,
    csrf: &str,
    loaded: &Loaded,
    s: EditState,
) -> Result<EditPage, AppError> {
    let users = state.store.list_users().await?;
    let versions = loaded
        .versions
        .iter()
        .map(|v| VersionRow {
            version: v.version,
            when: fmt_time(v.created_at_ms),
            author: users
                .iter()
                .find(|u| u.id == v.author)
                .map(|u| u.display_name.clone())
                .unwrap_or_else(|| v.author.to_string()),
            note: v.note.clone(),
            status: summary_of(v),
            publishable: v.publishable(),
        })
        .collect();
    let lossy = match loaded.latest() {
        Some(v) => lossy_keys(&parse_document(v), &state.settings.records.provider()),
        None => Vec::new(),
    };
    let form = s.form;
    Ok(EditPage {
        layout: member.layout(state, &format!("Record of {}", loaded.case.id), csrf),
        case_number: loaded.case.id.0,
        case_id: loaded.case.id.to_string(),
        case_title: loaded.case.title.clone(),
        cve_id: s.cve_id,
        based_on: s.based_on,
        note: s.note,
        notice: s.notice,
        error: s.error,
        placeholder_org: state.settings.records.org_id.is_none(),
        lossy,
        reporter_versions: loaded.report.fields.versions.clone().unwrap_or_default(),
        affected: rows(&form.affected, "affected", &s.findings),
        references: rows(&form.references, "reference", &s.findings),
        credits: rows(&form.credits, "credit", &s.findings),
        timeline: rows(&form.timeline, "timeline", &s.findings),
        form,
        checked: s.checked,
        findings: s.findings,
        versions,
        credit_types: CREDIT_TYPES
            .iter()
            .map(|t| Choice { value: t, label: t })
            .collect(),
        version_types: [
            ("", "(none)"),
            ("semver", "semver"),
            ("custom", "custom"),
            ("git", "git"),
            ("python", "python"),
            ("maven", "maven"),
            ("rpm", "rpm"),
        ]
        .into_iter()
        .map(|(value, label)| Choice { value, label })
        .collect(),
        reference_tags: REFERENCE_TAGS.join(", "),
    })
}

fn summary_of(v: &RecordVersion) -> String {
    checks_summary(v.schema_errors, v.lint_errors, v.lint_warnings)
}

/// `GET /desk/cases/{id}/record`
pub async fn record_editor(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
) -> Result<Response, AppError> {
    let loaded = load(&state, id).await?;
    let (form, notice) = match loaded.latest() {
        Some(v) => (
            RecordForm::from_container(&parse_document(v)),
            format!("Editing version {}. Saving makes a new version.", v.version),
        ),
        None => (
            cnadesk_app::records::draft_form(&state, &loaded.case, &loaded.report).await?,
            "No version saved yet: the form is filled from the case and its report.".to_owned(),
        ),
    };
    let s = EditState {
        form,
        cve_id: loaded
            .case
            .cve_id
            .as_ref()
            .map(|c| c.to_string())
            .or_else(|| loaded.latest().map(|v| v.cve_id.to_string()))
            .unwrap_or_default(),
        based_on: loaded.latest_number(),
        note: String::new(),
        notice,
        error: String::new(),
        checked: false,
        findings: Findings::default(),
    };
    let page = edit_page(&state, &member, &csrf.token, &loaded, s).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The most rows of one kind a form may submit.
const MAX_ROWS: usize = 200;

/// The structured form as submitted: fixed fields and numbered rows
/// (`a0_vendor`, `r2_url`, …).
#[derive(Debug, Default)]
struct Submitted {
    action: String,
    cve_id: String,
    based_on: i64,
    note: String,
    form: RecordForm,
}

fn parse_submitted(pairs: Vec<(String, String)>) -> Result<Submitted, AppError> {
    let mut out = Submitted::default();
    let mut affected: BTreeMap<usize, AffectedRow> = BTreeMap::new();
    let mut references: BTreeMap<usize, ReferenceRow> = BTreeMap::new();
    let mut credits: BTreeMap<usize, CreditRow> = BTreeMap::new();
    let mut timeline: BTreeMap<usize, TimelineRow> = BTreeMap::new();
    let f = &mut out.form;
    for (key, value) in pairs {
        match key.as_str() {
            // Checked by `CsrfForm` before the form is read.
            "csrf" => {}
            "action" => out.action = value,
            "cve_id" => out.cve_id = value,
            "note" => out.note = value,
            "based_on" => {
                out.based_on = value
                    .parse()
                    .map_err(|_| AppError::Invalid("based_on must be a number".into()))?
            }
            "title" => f.title = value,
            "description" => f.description = value,
            "cwe_id" => f.cwe_id = value,
            "cwe_name" => f.cwe_name = value,
            "problem_text" => f.problem_text = value,
            "cvss_vector" => f.cvss_vector = value,
            "date_public" => f.date_public = value,
            "unsupported_when_assigned" => f.unsupported_when_assigned = !value.is_empty(),
            other => {
                let Some((head, name)) = other.split_once('_') else {
                    continue;
                };
                let (kind, index) = head.split_at(1.min(head.len()));
                let Ok(i) = index.parse::<usize>() else {
                    continue;
                };
                if i >= MAX_ROWS {
                    return Err(AppError::Invalid(format!(
                        "A record form has at most {MAX_ROWS} rows per section."
                    )));
                }
                match (kind, name) {
                    ("a", _) => {
                        let row = affected.entry(i).or_default();
                        match name {
                            "vendor" => row.vendor = value,
                            "product" => row.product = value,
                            "repo" => row.repo = value,
                            "collection" => row.collection_url = value,
                            "package" => row.package_name = value,
                            "purl" => row.package_url = value,
                            "introduced" => row.introduced = value,
                            "fixed" => row.fixed = value,
                            "last" => row.last_affected = value,
                            "vtype" => row.version_type = value,
                            _ => {}
                        }
                    }
                    ("r", "url") => references.entry(i).or_default().url = value,
                    ("r", "tags") => references.entry(i).or_default().tags = value,
                    ("c", "name") => credits.entry(i).or_default().name = value,
                    ("c", "type") => credits.entry(i).or_default().kind = value,
                    ("t", "date") => timeline.entry(i).or_default().date = value,
                    ("t", "text") => timeline.entry(i).or_default().text = value,
                    _ => {}
                }
            }
        }
    }
    f.affected = affected.into_values().collect();
    f.references = references.into_values().collect();
    f.credits = credits.into_values().collect();
    f.timeline = timeline.into_values().collect();
    out.form = std::mem::take(&mut out.form).without_blank_rows();
    Ok(out)
}

/// `POST /desk/cases/{id}/record`: check, or save a new version.
pub async fn record_submit(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let mut sub = parse_submitted(pairs)?;
    let loaded = load(&state, id).await?;
    let provider = state.settings.records.provider();
    let now = state.now_ms();
    let mut findings = Findings::default();
    cnadesk_app::records::fill_cwe_name(&mut sub.form);
    let cve = match sub.cve_id.parse::<CveId>() {
        Ok(c) => Some(c),
        Err(m) => {
            let m = if sub.cve_id.trim().is_empty() {
                "A CVE ID is needed: reserve one and enter it here.".to_owned()
            } else {
                m
            };
            findings.push(Some("cve_id"), field_issue(m));
            None
        }
    };
    let cve_text = cve
        .as_ref()
        .map(|c| c.to_string())
        .unwrap_or_else(|| PLACEHOLDER_CVE_ID.into());
    let built = match sub.form.build(&cve_text, &provider, &rfc3339(now)) {
        Ok(b) => Some(b),
        Err(e) => {
            findings.push(
                Some("cvss_vector"),
                field_issue(format!("The CVSS vector does not parse: {e}")),
            );
            // Check everything else without the metrics.
            let mut without = sub.form.clone();
            without.cvss_vector.clear();
            if let Ok((doc, map)) = without.build(&cve_text, &provider, &rfc3339(now)) {
                let record = wrap_record(&cve_text, &provider, &doc, &rfc3339(now));
                findings.merge(evaluate(&state, &record, Some(&map)));
            }
            None
        }
    };
    let mut container = None;
    if let Some((doc, map)) = built {
        let previous = loaded.latest().map(parse_document);
        let merged = merge(previous.as_ref(), &doc);
        let record = wrap_record(&cve_text, &provider, &merged, &rfc3339(now));
        findings.merge(evaluate(&state, &record, Some(&map)));
        container = Some(merged);
    }
    let again = |findings: Findings, error: String, notice: String, based_on: i64| EditState {
        form: sub.form.clone(),
        cve_id: sub.cve_id.clone(),
        based_on,
        note: sub.note.clone(),
        notice,
        error,
        checked: true,
        findings,
    };
    // The editor again, with what was typed, the findings and a message.
    let show = |status: StatusCode, s: EditState| {
        let (state, member, csrf, loaded) = (&state, &member, &csrf, &loaded);
        async move {
            let page = edit_page(state, member, &csrf.token, loaded, s).await?;
            Ok::<_, AppError>(render(status, &page))
        }
    };
    // "Not saved" names the fields that stop it.
    let correct = |findings: &Findings| {
        let fields = findings.fields_in_error();
        if fields.is_empty() {
            "Not saved: correct the problems listed above.".to_owned()
        } else {
            format!("Not saved: correct {} (marked below).", fields.join(", "))
        }
    };
    if sub.action != "save" {
        let notice = format!("Checked, not saved: {}.", findings.summary());
        return show(
            StatusCode::OK,
            again(findings, String::new(), notice, sub.based_on),
        )
        .await;
    }
    let (Some(cve), Some(container)) = (cve, container) else {
        let error = correct(&findings);
        let s = again(findings, error, String::new(), sub.based_on);
        return show(StatusCode::UNPROCESSABLE_ENTITY, s).await;
    };
    let draft = Draft {
        cve: &cve,
        container: &container,
        findings: &findings,
        note: &sub.note,
        based_on: sub.based_on,
    };
    let saved = save(&state, &loaded.case, draft, member.user.id, &member.actor()).await;
    match saved {
        Ok(v) => Ok(Redirect::to(&format!(
            "/desk/cases/{}/record/versions/{}",
            loaded.case.id.0, v.version
        ))
        .into_response()),
        Err(SaveError::Stale) => {
            let latest = loaded.latest_number();
            let error = format!(
                "Not saved: someone saved version {latest} while you were editing. Your \
                 changes are still below; compare with version {latest}, then save again \
                 to make yours the latest (theirs stays in the history)."
            );
            let s = again(findings, error, String::new(), latest);
            show(StatusCode::CONFLICT, s).await
        }
        Err(SaveError::CveTaken(m)) => {
            let mut findings = findings;
            findings.push(Some("cve_id"), field_issue(m));
            let error = correct(&findings);
            let s = again(findings, error, String::new(), sub.based_on);
            show(StatusCode::CONFLICT, s).await
        }
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}

// ---- the raw JSON editor -----------------------------------------------------------------

#[derive(Template)]
#[template(path = "record_json.html")]
struct JsonPage {
    layout: Layout,
    case_number: i64,
    case_id: String,
    cve_id: String,
    based_on: i64,
    note: String,
    json: String,
    error: String,
    notice: String,
    checked: bool,
    findings: Findings,
}

impl JsonPage {
    /// The raw editor showing `json`, for the latest version of the record.
    fn new(state: &AppState, member: &Member, csrf: &Csrf, loaded: &Loaded, json: String) -> Self {
        JsonPage {
            layout: member.layout(
                state,
                &format!("Record JSON of {}", loaded.case.id),
                &csrf.token,
            ),
            case_number: loaded.case.id.0,
            case_id: loaded.case.id.to_string(),
            cve_id: loaded
                .case
                .cve_id
                .as_ref()
                .map(|c| c.to_string())
                .unwrap_or_default(),
            based_on: loaded.latest_number(),
            note: String::new(),
            json,
            error: String::new(),
            notice: String::new(),
            checked: false,
            findings: Findings::default(),
        }
    }
}

/// `GET /desk/cases/{id}/record/json`
pub async fn record_json(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
) -> Result<Response, AppError> {
    let loaded = load(&state, id).await?;
    let provider = state.settings.records.provider();
    let json = match loaded.latest() {
        Some(v) => v.document.clone(),
        None => {
            let form =
                cnadesk_app::records::draft_form(&state, &loaded.case, &loaded.report).await?;
            let (doc, _) = form
                .build(PLACEHOLDER_CVE_ID, &provider, &rfc3339(state.now_ms()))
                .map_err(|e| AppError::Internal(e.to_string()))?;
            serde_json::to_string_pretty(&doc).expect("JSON serializes")
        }
    };
    let page = JsonPage::new(&state, &member, &csrf, &loaded, json);
    Ok(render(StatusCode::OK, &page))
}

/// The raw editor's form.
#[derive(Debug, Deserialize)]
pub struct JsonForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    cve_id: String,
    #[serde(default)]
    based_on: i64,
    #[serde(default)]
    note: String,
    #[serde(default)]
    json: String,
}

/// `POST /desk/cases/{id}/record/json`
pub async fn record_json_submit(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<JsonForm>,
) -> Result<Response, AppError> {
    let loaded = load(&state, id).await?;
    let provider = state.settings.records.provider();
    let now = state.now_ms();
    let mut findings = Findings::default();
    let mut error = String::new();
    let cve = form.cve_id.parse::<CveId>();
    if let Err(m) = &cve {
        findings.push(Some("cve_id"), field_issue(m.clone()));
    }
    let container = match serde_json::from_str::<Value>(&form.json) {
        Ok(v) => match container_of(v) {
            Ok(c) => Some(c),
            Err(m) => {
                error = m;
                None
            }
        },
        Err(e) => {
            error = format!(
                "The JSON does not parse at line {}, column {}: {e}",
                e.line(),
                e.column()
            );
            None
        }
    };
    if let Some(c) = &container {
        let cve_text = cve
            .as_ref()
            .map(|c| c.to_string())
            .unwrap_or_else(|_| PLACEHOLDER_CVE_ID.into());
        let record = wrap_record(&cve_text, &provider, c, &rfc3339(now));
        findings.merge(evaluate(&state, &record, None));
    }
    let mut page = JsonPage {
        cve_id: form.cve_id.clone(),
        based_on: form.based_on,
        note: form.note.clone(),
        error,
        checked: true,
        findings,
        ..JsonPage::new(&state, &member, &csrf, &loaded, form.json.clone())
    };
    if form.action != "save" || !page.error.is_empty() || cve.is_err() {
        let status = if form.action == "save" {
            if page.error.is_empty() {
                page.error = "Not saved: correct the CVE ID.".into();
            }
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            page.notice = format!("Checked, not saved: {}.", page.findings.summary());
            StatusCode::OK
        };
        return Ok(render(status, &page));
    }
    let (Ok(cve), Some(container)) = (cve, container) else {
        return Err(AppError::Internal("checked above".into()));
    };
    let draft = Draft {
        cve: &cve,
        container: &container,
        findings: &page.findings,
        note: &form.note,
        based_on: form.based_on,
    };
    match save(&state, &loaded.case, draft, member.user.id, &member.actor()).await {
        Ok(v) => Ok(Redirect::to(&format!(
            "/desk/cases/{}/record/versions/{}",
            loaded.case.id.0, v.version
        ))
        .into_response()),
        Err(SaveError::Stale) => {
            let latest = loaded.latest_number();
            page.error = format!(
                "Not saved: someone saved version {latest} while you were editing. Your JSON is \
                 still below; save again to make it the latest (theirs stays in the history)."
            );
            page.based_on = latest;
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(SaveError::CveTaken(m)) => {
            page.error = format!("Not saved: {m}");
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(SaveError::Store(e)) => Err(e.into()),
    }
}

// ---- versions: preview, exports, diff ------------------------------------------------------

/// A record as the public will read it.
#[derive(Default)]
pub(crate) struct Preview {
    cve_id: String,
    title: String,
    description: String,
    date_public: String,
    problem_types: Vec<String>,
    metrics: Vec<(String, String, String)>,
    affected: Vec<(String, Vec<String>)>,
    references: Vec<(String, String)>,
    credits: Vec<(String, String)>,
    timeline: Vec<(String, String)>,
    tags: Vec<String>,
}

fn preview(cve_id: &str, doc: &Value) -> Preview {
    use cnadesk_cve::model::CnaPublishedContainer;
    let Ok(c) = serde_json::from_value::<CnaPublishedContainer>(doc.clone()) else {
        return Preview {
            cve_id: cve_id.to_owned(),
            description: "(this version is not a readable CNA container)".into(),
            ..Default::default()
        };
    };
    let ranges = |p: &cnadesk_cve::model::Product| -> Vec<String> {
        let mut out: Vec<String> = p
            .versions
            .iter()
            .flatten()
            .map(|v| {
                let bound = match (&v.less_than, &v.less_than_or_equal) {
                    (Some(lt), _) => format!("from {} before {lt}", v.version),
                    (None, Some(le)) => format!("from {} up to {le}", v.version),
                    (None, None) => v.version.clone(),
                };
                format!("{}: {bound}", v.status)
            })
            .collect();
        if let Some(d) = &p.default_status {
            out.push(format!("other versions: {d}"));
        }
        out
    };
    Preview {
        cve_id: cve_id.to_owned(),
        title: c.title.clone().unwrap_or_default(),
        description: c
            .descriptions
            .iter()
            .find(|d| d.lang.to_ascii_lowercase().starts_with("en"))
            .map(|d| d.value.clone())
            .unwrap_or_default(),
        date_public: c.date_public.clone().unwrap_or_default(),
        problem_types: c
            .problem_types
            .iter()
            .flatten()
            .flat_map(|p| &p.descriptions)
            .map(|d| d.description.clone())
            .collect(),
        metrics: c
            .metrics
            .iter()
            .flatten()
            .filter_map(|m| {
                m.cvss_v4_0
                    .as_ref()
                    .map(|x| ("CVSS 4.0", x))
                    .or(m.cvss_v3_1.as_ref().map(|x| ("CVSS 3.1", x)))
                    .or(m.cvss_v3_0.as_ref().map(|x| ("CVSS 3.0", x)))
            })
            .map(|(label, x)| {
                (
                    label.to_owned(),
                    format!(
                        "{} {}",
                        x.base_score,
                        x.base_severity.clone().unwrap_or_default()
                    ),
                    x.vector_string.clone(),
                )
            })
            .collect(),
        affected: c
            .affected
            .iter()
            .map(|p| {
                // "Prosody", not "Prosody Prosody", when vendor and product agree.
                let mut parts: Vec<&str> = Vec::new();
                for part in [
                    p.vendor.as_deref(),
                    p.product.as_deref(),
                    p.package_name.as_deref(),
                ]
                .into_iter()
                .flatten()
                {
                    if !parts.contains(&part) {
                        parts.push(part);
                    }
                }
                let name = parts.join(" ");
                (name, ranges(p))
            })
            .collect(),
        references: c
            .references
            .iter()
            .map(|r| (r.url.clone(), r.tags.clone().unwrap_or_default().join(", ")))
            .collect(),
        credits: c
            .credits
            .iter()
            .flatten()
            .map(|cr| (cr.value.clone(), cr.kind.clone().unwrap_or_default()))
            .collect(),
        timeline: c
            .timeline
            .iter()
            .flatten()
            .map(|t| {
                let day = t.time.strip_suffix("T00:00:00Z").unwrap_or(&t.time);
                (day.to_owned(), t.value.clone())
            })
            .collect(),
        tags: c.tags.clone().unwrap_or_default(),
    }
}

#[derive(Template)]
#[template(path = "record_version.html")]
struct VersionPage {
    layout: Layout,
    case_number: i64,
    case_id: String,
    version: i64,
    latest: i64,
    author: String,
    when: String,
    note: String,
    sha256: String,
    findings: Findings,
    preview: Preview,
    json: String,
    review: Review,
}

/// The second member's part, on the latest version's page.
#[derive(Default)]
struct Review {
    /// This member wrote (or drafted) the version.
    mine: bool,
    /// Who approved this exact version.
    approvers: Vec<String>,
    /// A member other than the author approved it.
    approved: bool,
    /// The version published at CVE Services (0: none).
    published_version: i64,
    /// An embargo runs: publication waits for its lift.
    embargo_until: String,
    /// CVE Services is configured.
    can_publish: bool,
    /// A publication is queued or running.
    publishing: bool,
    /// The changes since the published version.
    diff: Vec<super::DiffLine>,
}

async fn review_of(
    state: &AppState,
    member: &Member,
    loaded: &Loaded,
    v: &RecordVersion,
) -> Result<Review, AppError> {
    let approvals = state.store.record_approvals(loaded.case.id).await?;
    let users = state.store.list_users().await?;
    let name = |id: cnadesk_core::UserId| {
        users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.display_name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let of_this: Vec<_> = approvals
        .iter()
        .filter(|a| a.version == v.version && a.sha256 == v.sha256)
        .collect();
    let entry = state.store.cve_id_entry(&v.cve_id).await?;
    let published_version = entry
        .as_ref()
        .and_then(|e| e.published_version)
        .unwrap_or(0);
    let diff = match entry.as_ref().and_then(|e| e.published_document.as_deref()) {
        Some(published) if published_version != v.version => {
            let old = serde_json::from_str::<Value>(published)
                .map(|d| {
                    serde_json::to_string_pretty(&cnadesk_cve_workflow::without_provider(&d))
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            let new = serde_json::to_string_pretty(&cnadesk_cve_workflow::without_provider(
                &parse_document(v),
            ))
            .unwrap_or_default();
            super::diff_lines(&old, &new)
        }
        _ => Vec::new(),
    };
    let embargo = state.store.embargo(loaded.case.id).await?;
    let jobs = state
        .store
        .jobs(cnadesk_store::JobFilter {
            case: Some(loaded.case.id),
            open_only: true,
            limit: 20,
        })
        .await?;
    Ok(Review {
        mine: v.author == member.user.id,
        approvers: of_this.iter().map(|a| name(a.approver)).collect(),
        approved: of_this.iter().any(|a| a.approver != v.author),
        published_version,
        embargo_until: embargo
            .filter(|e| e.lifted_at_ms.is_none() && e.broken_at_ms.is_none())
            .map(|e| fmt_time(e.ends_at_ms))
            .unwrap_or_default(),
        can_publish: state.cve.is_some(),
        publishing: jobs.iter().any(|j| {
            matches!(
                j.kind,
                cnadesk_store::JobKind::CvePublish | cnadesk_store::JobKind::CveUpdate
            )
        }),
        diff,
    })
}

/// A version's container, and the whole published record around it.
fn document_and_record(state: &AppState, v: &RecordVersion) -> (Value, Value) {
    let doc = parse_document(v);
    let record = wrap_record(
        v.cve_id.as_str(),
        &state.settings.records.provider(),
        &doc,
        &rfc3339(v.created_at_ms),
    );
    (doc, record)
}

/// `GET /desk/cases/{id}/record/versions/{version}`
pub async fn record_version(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath((id, n)): IdPath<(CaseId, i64)>,
) -> Result<Response, AppError> {
    let loaded = load(&state, id).await?;
    let v = loaded.version(n)?;
    let (doc, record) = document_and_record(&state, v);
    let author = state
        .store
        .user(v.author)
        .await?
        .map(|u| u.display_name)
        .unwrap_or_else(|| v.author.to_string());
    let review = if v.version == loaded.latest_number() {
        review_of(&state, &member, &loaded, v).await?
    } else {
        Review::default()
    };
    let page = VersionPage {
        layout: member.layout(
            &state,
            &format!("{} version {}", v.cve_id, v.version),
            &csrf.token,
        ),
        case_number: loaded.case.id.0,
        case_id: loaded.case.id.to_string(),
        version: v.version,
        latest: loaded.latest_number(),
        author,
        when: fmt_time(v.created_at_ms),
        note: v.note.clone(),
        sha256: v.sha256.clone(),
        findings: evaluate(&state, &record, None),
        preview: preview(v.cve_id.as_str(), &doc),
        json: v.document.clone(),
        review,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /desk/cases/{id}/record/versions/{version}/{file}`: the record as
/// CVE JSON (`record.json`), as CVE Services takes it (`cna.json`), as OSV
/// (`osv.json`) or as a CSAF advisory (`csaf.json`).
pub async fn record_export(
    State(state): State<AppState>,
    _member: Member,
    IdPath((case, n, file)): IdPath<(CaseId, i64, String)>,
) -> Result<Response, AppError> {
    // One query: the version is only found under its own case.
    let v = state
        .store
        .record_version(case, n)
        .await?
        .ok_or(AppError::NotFound)?;
    let (doc, record) = document_and_record(&state, &v);
    let typed = || {
        serde_json::from_value::<cnadesk_cve::CveRecord>(record.clone()).map_err(|e| {
            AppError::Invalid(format!(
                "Version {} is not a readable CVE record ({e}); fix it in the editor first.",
                v.version
            ))
        })
    };
    let body = match file.as_str() {
        "record.json" => record.clone(),
        "cna.json" => serde_json::json!({ "cnaContainer": doc }),
        "osv.json" => cnadesk_cve::osv::to_osv(&typed()?)
            .map_err(|e| AppError::Invalid(format!("No OSV export: {e}")))?,
        "csaf.json" => cnadesk_cve::csaf::to_csaf(
            &typed()?,
            &cnadesk_cve::csaf::CsafPublisher {
                name: state.settings.cna_name.clone(),
                namespace: state.settings.records.advisory_namespace.clone(),
                // Where it will be once public.
                canonical_url: Some(state.url(&format!("/advisories/{}.csaf.json", v.cve_id))),
            },
        )
        .map_err(|e| AppError::Invalid(format!("No CSAF export: {e}")))?,
        _ => return Err(AppError::NotFound),
    };
    let name = format!("{}.v{}.{}", v.cve_id, v.version, file);
    let mut res = (
        StatusCode::OK,
        serde_json::to_string_pretty(&body).expect("JSON serializes"),
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[derive(Template)]
#[template(path = "record_diff.html")]
struct DiffPage {
    layout: Layout,
    case_number: i64,
    case_id: String,
    from: i64,
    to: i64,
    versions: Vec<i64>,
    lines: Vec<DiffLine>,
    identical: bool,
}

/// Which versions to compare.
#[derive(Debug, Deserialize)]
pub struct DiffQuery {
    from: Option<i64>,
    to: Option<i64>,
}

/// `GET /desk/cases/{id}/record/diff?from=1&to=2`
pub async fn record_diff(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<CaseId>,
    Query(q): Query<DiffQuery>,
) -> Result<Response, AppError> {
    let loaded = load(&state, id).await?;
    let to = q.to.unwrap_or(loaded.latest_number());
    let from = q.from.unwrap_or((to - 1).max(1));
    let find = |n: i64| loaded.version(n);
    let (a, b) = (find(from)?, find(to)?);
    // Pretty JSON with sorted keys, so a diff shows content, not layout.
    let pretty = |v: &RecordVersion| {
        let doc = parse_document(v);
        let mut text = format!("CVE ID: {}\n", v.cve_id);
        text.push_str(&serde_json::to_string_pretty(&doc).expect("JSON serializes"));
        text.push('\n');
        text
    };
    let (old, new) = (pretty(a), pretty(b));
    let lines = super::diff_lines(&old, &new);
    let page = DiffPage {
        layout: member.layout(
            &state,
            &format!("Record of {}: version {from} → {to}", loaded.case.id),
            &csrf.token,
        ),
        case_number: loaded.case.id.0,
        case_id: loaded.case.id.to_string(),
        from,
        to,
        versions: loaded.versions.iter().map(|v| v.version).collect(),
        identical: lines.is_empty(),
        lines,
    };
    Ok(render(StatusCode::OK, &page))
}
