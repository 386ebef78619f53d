//! CVE records of a case: checking a record against the CVE JSON schema
//! and the CNA rules' lint, and saving a new version of it (the case's CVE
//! ID set first when it changed). A version saved on a stale base is
//! refused, never merged silently.

use std::collections::HashMap;

use cnadesk_core::{Actor, CaseId, CveId, UserId};
use cnadesk_cve::editor::{
    form_words, wrap_record, AffectedRow, CreditRow, FieldMap, RecordForm, ReferenceRow,
    TimelineRow, PLACEHOLDER_CVE_ID,
};
use cnadesk_cve::{lint, LintContext, Severity};
use cnadesk_store::{Case, NewRecordVersion, RecordVersion, Report, StoreError};
use serde_json::Value;

use crate::text::rfc3339;
use crate::App;

/// One schema problem or lint finding.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Issue {
    /// `error` or `warning`.
    pub severity: &'static str,
    /// The JSON pointer in the record.
    pub pointer: String,
    /// What is wrong, in the form's words.
    pub message: String,
    /// What the validator or the lint said, for experts (empty: the
    /// message is all there is).
    pub detail: String,
    /// The rule: a lint id and its CNA rule, or the schema keyword.
    pub rule: String,
}

/// The findings of one check, by form field.
#[derive(Debug, Default, serde::Serialize)]
pub struct Findings {
    /// Schema errors.
    pub schema_errors: usize,
    /// Lint errors (publication is refused).
    pub lint_errors: usize,
    /// Lint warnings.
    pub lint_warnings: usize,
    /// Findings a form field shows, by field name.
    pub by_field: HashMap<String, Vec<Issue>>,
    /// Findings of no field.
    pub general: Vec<Issue>,
}

impl Findings {
    /// No schema error and no lint error.
    pub fn publishable(&self) -> bool {
        self.schema_errors == 0 && self.lint_errors == 0
    }

    /// Adds a finding to `field`, or to the general ones.
    pub fn push(&mut self, field: Option<&str>, issue: Issue) {
        match field {
            Some(f) => self.by_field.entry(f.to_owned()).or_default().push(issue),
            None => self.general.push(issue),
        }
    }

    /// The counts in words: every problem, those of the form itself (a
    /// missing CVE ID, a vector that does not parse) included.
    pub fn summary(&self) -> String {
        let checks = checks_summary(
            i64::try_from(self.schema_errors).unwrap_or(i64::MAX),
            i64::try_from(self.lint_errors).unwrap_or(i64::MAX),
            i64::try_from(self.lint_warnings).unwrap_or(i64::MAX),
        );
        match self.form_errors() {
            0 => checks,
            n => format!("{n} form error{}; {checks}", if n == 1 { "" } else { "s" }),
        }
    }

    /// Problems of the form itself (not of the record it makes).
    pub fn form_errors(&self) -> usize {
        self.all().filter(|i| i.rule == "form").count()
    }

    /// The form fields with an error, as the editor names them, in form
    /// order (for "not saved: correct …").
    pub fn fields_in_error(&self) -> Vec<String> {
        const ORDER: [&str; 12] = [
            "cve_id",
            "title",
            "date_public",
            "description",
            "cwe_id",
            "cvss_vector",
            "affected",
            "unsupported_when_assigned",
            "references",
            "credits",
            "timeline",
            "",
        ];
        let rank = |f: &str| {
            let head = f.split('-').next().unwrap_or(f);
            let head = match head {
                "reference" => "references",
                "credit" => "credits",
                other => other,
            };
            ORDER.iter().position(|o| *o == head).unwrap_or(ORDER.len())
        };
        let mut fields: Vec<&String> = self
            .by_field
            .iter()
            .filter(|(_, issues)| issues.iter().any(|i| i.severity == "error"))
            .map(|(f, _)| f)
            .collect();
        fields.sort_by_key(|f| (rank(f), f.to_string()));
        fields
            .into_iter()
            .map(|f| cnadesk_cve::editor::field_label(f))
            .collect()
    }

    /// Adds a finding unless the field already shows the same words (the
    /// schema and the lint often say the same thing twice).
    fn push_once(&mut self, field: Option<&str>, issue: Issue) {
        let list = match field {
            Some(f) => self.by_field.entry(f.to_owned()).or_default(),
            None => &mut self.general,
        };
        if !list.iter().any(|i| i.message == issue.message) {
            list.push(issue);
        }
    }

    /// Adds the findings of another check.
    pub fn merge(&mut self, more: Findings) {
        self.schema_errors += more.schema_errors;
        self.lint_errors += more.lint_errors;
        self.lint_warnings += more.lint_warnings;
        for (k, v) in more.by_field {
            self.by_field.entry(k).or_default().extend(v);
        }
        self.general.extend(more.general);
    }

    /// Every finding, general ones first.
    pub fn all(&self) -> impl Iterator<Item = &Issue> {
        self.general.iter().chain(self.by_field.values().flatten())
    }
}

/// A problem with one field, as an error finding.
pub fn field_issue(message: String) -> Issue {
    Issue {
        severity: "error",
        pointer: String::new(),
        message,
        detail: String::new(),
        rule: "form".into(),
    }
}

/// `valid against the CVE schema; lint: 0 errors, 2 warnings`: the words for
/// a fresh check and for the counts stored with a version.
pub fn checks_summary(schema_errors: i64, lint_errors: i64, lint_warnings: i64) -> String {
    let plural = |n: i64| if n == 1 { "" } else { "s" };
    let schema = match schema_errors {
        0 => "valid against the CVE schema".to_owned(),
        n => format!("{n} schema error{}", plural(n)),
    };
    format!(
        "{schema}; lint: {lint_errors} error{}, {lint_warnings} warning{}",
        plural(lint_errors),
        plural(lint_warnings)
    )
}

/// Validates and lints a whole record; findings go to the field `map` names.
pub fn evaluate(app: &App, record: &Value, map: Option<&FieldMap>) -> Findings {
    let mut out = Findings::default();
    let field = |pointer: &str| map.and_then(|m| m.field_for(pointer)).map(str::to_owned);
    for p in app.schemas.validate(record) {
        out.schema_errors += 1;
        let f = field(&p.pointer);
        let issue = Issue {
            severity: "error",
            message: form_words(&p.pointer, &p.message),
            pointer: p.pointer,
            detail: p.message,
            rule: format!("CVE JSON schema {}: {}", app.schemas.version(), p.keyword),
        };
        out.push_once(f.as_deref(), issue);
    }
    let ctx = LintContext {
        own_advisories: Some(advisories_url(app)),
        ..LintContext::default()
    };
    for finding in lint(record, &ctx) {
        let severity = match finding.severity {
            Severity::Error => {
                out.lint_errors += 1;
                "error"
            }
            Severity::Warning => {
                out.lint_warnings += 1;
                "warning"
            }
        };
        let f = field(&finding.pointer);
        let issue = Issue {
            severity,
            message: form_words(&finding.pointer, &finding.message),
            pointer: finding.pointer,
            detail: finding.message,
            rule: format!("{} ({})", finding.id, finding.rule),
        };
        out.push_once(f.as_deref(), issue);
    }
    out
}

/// Where the desk's public advisories live (`…/advisories/`).
pub fn advisories_url(app: &App) -> String {
    format!(
        "{}/advisories/",
        app.settings.public_url.trim_end_matches('/')
    )
}

/// Accepts a bare CNA container, `{"cnaContainer": …}` as CVE Services
/// takes it, or a whole record (its CNA container is used).
pub fn container_of(doc: Value) -> Result<Value, String> {
    let inner = if let Some(c) = doc.get("cnaContainer") {
        c.clone()
    } else if let Some(c) = doc.pointer("/containers/cna") {
        c.clone()
    } else {
        doc
    };
    if inner.is_object() {
        Ok(inner)
    } else {
        Err("The JSON must be an object: a CNA container or a whole CVE record.".into())
    }
}

/// The container with the CNA's `providerMetadata` (its organization, short
/// name and now) when it carries none: a client of the API need not know
/// the CNA's organization UUID.
pub fn with_provider(app: &App, mut container: Value) -> Value {
    if let Some(obj) = container.as_object_mut() {
        if !obj.contains_key("providerMetadata") {
            let provider = app.settings.records.provider();
            let mut meta = serde_json::json!({
                "orgId": provider.org_id,
                "dateUpdated": rfc3339(app.now_ms()),
            });
            if let Some(short) = provider.short_name {
                meta["shortName"] = Value::from(short);
            }
            obj.insert("providerMetadata".into(), meta);
        }
    }
    container
}

/// Checks a CNA container as the record it would make under `cve` (a
/// placeholder ID while there is none).
pub fn check_container(app: &App, cve: Option<&CveId>, container: &Value) -> Findings {
    let cve_text = cve.map_or_else(|| PLACEHOLDER_CVE_ID.to_owned(), ToString::to_string);
    let record = wrap_record(
        &cve_text,
        &app.settings.records.provider(),
        container,
        &rfc3339(app.now_ms()),
    );
    evaluate(app, &record, None)
}

/// Why a version was not saved.
#[derive(Debug)]
pub enum SaveError {
    /// Someone saved a newer version than the one this was based on.
    Stale,
    /// The CVE ID belongs to another case (the sentence says which).
    CveTaken(String),
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for SaveError {
    fn from(e: StoreError) -> Self {
        SaveError::Store(e)
    }
}

/// A version to save.
#[derive(Debug)]
pub struct Draft<'a> {
    /// The case's CVE ID for it.
    pub cve: &'a CveId,
    /// The CNA container.
    pub container: &'a Value,
    /// Its check.
    pub findings: &'a Findings,
    /// What changed, in one line.
    pub note: &'a str,
    /// The version it was edited from (0: none).
    pub based_on: i64,
}

/// Sets the case's CVE ID if it changed, then stores the version.
pub async fn save(
    app: &App,
    case: &Case,
    draft: Draft<'_>,
    author: UserId,
    actor: &Actor,
) -> Result<RecordVersion, SaveError> {
    let now = app.now_ms();
    if case.cve_id.as_ref() != Some(draft.cve) {
        match app
            .store
            .set_case_cve_id(case.id, draft.cve, actor, now)
            .await
        {
            Ok(_) => {}
            Err(StoreError::Conflict(m)) => return Err(SaveError::CveTaken(format!("{m}."))),
            Err(e) => return Err(e.into()),
        }
    }
    let document = serde_json::to_string_pretty(draft.container)
        .map_err(|e| StoreError::Database(format!("record does not serialize: {e}")))?;
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    match app
        .store
        .save_record_version(
            case.id,
            NewRecordVersion {
                cve_id: draft.cve.clone(),
                document,
                based_on: draft.based_on,
                schema_errors: count(draft.findings.schema_errors),
                lint_errors: count(draft.findings.lint_errors),
                lint_warnings: count(draft.findings.lint_warnings),
                // One line of text: control characters (NUL would fail on
                // PostgreSQL) are dropped.
                note: draft
                    .note
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(500)
                    .collect(),
                author,
            },
            actor,
            now,
        )
        .await
    {
        Ok(v) => Ok(v),
        Err(StoreError::Conflict(_)) => Err(SaveError::Stale),
        Err(e) => Err(e.into()),
    }
}

/// The versions of a case's record, newest first.
pub async fn versions(app: &App, case: CaseId) -> Result<Vec<RecordVersion>, StoreError> {
    app.store.record_versions(case).await
}

/// An empty CWE name on the form takes the official one from the CWE list
/// (nobody types it).
pub fn fill_cwe_name(form: &mut RecordForm) {
    if form.cwe_name.trim().is_empty() {
        if let Some(entry) = cnadesk_cve::cwe::lookup(form.cwe_id.trim()) {
            form.cwe_name = entry.name.clone();
        }
    }
}

// ---- the first draft, from what the case knows ------------------------------------------

/// What the editor starts from before any version exists: everything the
/// case, its report and its scope decision already know. The product as the
/// registry names it (and its repository), the reporter's versions as a
/// range, the weakness with its official CWE name, the CVSS vector, the
/// credit, the public reference if the reporter gave one and the desk's own
/// advisory page, and the `unsupported-when-assigned` tag when the product
/// was decided on as abandoned. Nothing is typed twice.
pub async fn draft_form(app: &App, case: &Case, report: &Report) -> Result<RecordForm, StoreError> {
    let mut form = form_from_report(app, case, report);
    let Some(decision) = app
        .store
        .scope_decisions(report.id)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(form);
    };
    // The tags of the rule the member decided under (also after an override).
    if let Some(rule) = decision
        .rule
        .as_deref()
        .and_then(|r| app.scope.policy().rule(r))
    {
        form.unsupported_when_assigned = rule.tags.iter().any(|t| t == "unsupported-when-assigned");
    }
    if let Some(key) = &decision.product_key {
        let registry = app.scope.registry(&*app.store).await?;
        if let (Some(product), Some(row)) = (registry.product(key), form.affected.first_mut()) {
            row.product = product.name.clone();
            if row.vendor.is_empty() {
                row.vendor = product.name.clone();
            }
            let repo = product
                .annotation
                .repositories
                .iter()
                .chain(product.doap.iter().flat_map(|d| d.repositories.iter()))
                .find(|u| u.starts_with("https://"))
                .or_else(|| {
                    // A home page on a forge is the repository.
                    product.homepage.as_ref().filter(|h| {
                        [
                            "https://github.com/",
                            "https://gitlab.com/",
                            "https://codeberg.org/",
                        ]
                        .iter()
                        .any(|forge| h.starts_with(forge))
                    })
                });
            if let Some(repo) = repo {
                row.repo = repo.clone();
            }
            if let Some(purl) = product.purls().into_iter().next() {
                row.package_url = purl;
            }
        }
    }
    Ok(form)
}

fn form_from_report(app: &App, case: &Case, report: &Report) -> RecordForm {
    let f = &report.fields;
    let (introduced, fixed, last_affected) = version_range(
        f.versions.as_deref().unwrap_or(""),
        f.fixed_version.as_deref(),
    );
    let version_type = if [&introduced, &fixed, &last_affected]
        .iter()
        .filter(|v| !v.is_empty() && v.as_str() != "0")
        .all(|v| looks_semver(v))
    {
        "semver"
    } else {
        "custom"
    };
    let mut form = RecordForm {
        title: case.title.clone(),
        description: f.description.trim().to_owned(),
        affected: vec![AffectedRow {
            product: f.product.clone(),
            version_type: if introduced.is_empty() {
                String::new()
            } else {
                version_type.to_owned()
            },
            introduced,
            fixed,
            last_affected,
            ..Default::default()
        }],
        timeline: vec![TimelineRow {
            date: crate::scope::today(report.created_at_ms),
            text: format!("Reported to the {} CNA", app.settings.cna_name),
        }],
        ..Default::default()
    };
    if let Some(cwe) = f.cwe.as_deref() {
        form.cwe_id = cwe.to_owned();
        form.cwe_name = cnadesk_cve::cwe::lookup(cwe)
            .map(|e| e.name.clone())
            .unwrap_or_default();
    }
    if let Some(vector) = f.cvss_vector.as_deref() {
        form.cvss_vector = vector.to_owned();
    }
    if let Some(credit) = f.credit.as_deref().filter(|c| !c.trim().is_empty()) {
        if !f.anonymous {
            form.credits.push(CreditRow {
                name: credit.trim().to_owned(),
                kind: "finder".into(),
            });
        }
    }
    if let Some(url) = f
        .public_where
        .as_deref()
        .map(str::trim)
        .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
    {
        form.references.push(ReferenceRow {
            url: url.to_owned(),
            tags: String::new(),
        });
    }
    if let Some(id) = &case.cve_id {
        // The desk's advisory goes public with the record.
        form.references.push(ReferenceRow {
            url: format!("{}{id}", advisories_url(app)),
            tags: "third-party-advisory".into(),
        });
    }
    form
}

fn looks_semver(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let parts: Vec<&str> = v.split('.').collect();
    (2..=3).contains(&parts.len())
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// A version as a reporter writes one (`0.12.3`, `v1.2`, `2024-01`): starts
/// with a digit (after an optional `v`).
fn version_token(word: &str) -> Option<&str> {
    let w =
        word.trim_matches(|c: char| matches!(c, ',' | ';' | '(' | ')' | '[' | ']' | '"' | '\''));
    let w = w.trim_end_matches('.');
    let rest = w.strip_prefix('v').unwrap_or(w);
    (rest.starts_with(|c: char| c.is_ascii_digit())
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '~')))
    .then_some(w)
}

/// The reporter's affected versions (free text) and fixed version as one
/// range: `(introduced, fixed, last_affected)`, empty strings where unknown.
/// "0.12.0 to 0.12.3" → from 0.12.0 up to 0.12.3; "before 1.0.4" or
/// "< 1.0.4" → every version before 1.0.4; one version → from it (up to
/// the fix, when given); nothing → every version before the fix.
pub fn version_range(versions: &str, fixed: Option<&str>) -> (String, String, String) {
    let lower = versions.to_ascii_lowercase();
    let words: Vec<&str> = versions
        .split(|c: char| c.is_whitespace() || c == '–' || c == '—')
        .flat_map(|w| w.split("..."))
        .collect();
    let tokens: Vec<&str> = words.iter().filter_map(|w| version_token(w)).collect();
    let upper_only = [
        "before",
        "prior to",
        "<",
        "up to",
        "until",
        "earlier than",
        "below",
    ]
    .iter()
    .any(|w| lower.trim_start().starts_with(w))
        || lower.contains("and earlier")
        || lower.contains("and older")
        || lower.contains("and below");
    let fixed = fixed.map(str::trim).filter(|f| !f.is_empty());
    let inclusive_upper = lower.contains("up to")
        || lower.contains("and earlier")
        || lower.contains("and older")
        || lower.trim_start().starts_with("<=");
    match (tokens.as_slice(), fixed) {
        ([], Some(fix)) => ("0".into(), fix.into(), String::new()),
        ([], None) => Default::default(),
        // "before 1.0.4" or "up to 1.0.3" with a fixed version: the fix is
        // the bound.
        ([_], Some(fix)) if upper_only => ("0".into(), fix.into(), String::new()),
        ([one], Some(fix)) => (one.to_string(), fix.into(), String::new()),
        ([one], None) if upper_only && !inclusive_upper => {
            ("0".into(), one.to_string(), String::new())
        }
        ([one], None) if upper_only => ("0".into(), String::new(), one.to_string()),
        ([one], None) => (one.to_string(), String::new(), String::new()),
        ([first, .., _], Some(fix)) => (first.to_string(), fix.into(), String::new()),
        ([first, .., last], None) => (first.to_string(), String::new(), last.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::version_range;

    fn r(versions: &str, fixed: Option<&str>) -> (String, String, String) {
        version_range(versions, fixed)
    }

    fn t(a: &str, b: &str, c: &str) -> (String, String, String) {
        (a.into(), b.into(), c.into())
    }

    #[test]
    fn reporters_versions_become_one_range() {
        // From–to, with and without the fix.
        assert_eq!(
            r("0.12.0 to 0.12.3", Some("0.12.4")),
            t("0.12.0", "0.12.4", "")
        );
        assert_eq!(r("0.12.0 - 0.12.3", None), t("0.12.0", "", "0.12.3"));
        assert_eq!(r("v1.2 – v1.4", None), t("v1.2", "", "v1.4"));
        // Upper bounds only.
        assert_eq!(r("before 1.0.4", None), t("0", "1.0.4", ""));
        assert_eq!(r("< 1.0.4", Some("1.0.4")), t("0", "1.0.4", ""));
        assert_eq!(r("up to 1.0.3", None), t("0", "", "1.0.3"));
        assert_eq!(r("1.0.3 and earlier", Some("1.0.4")), t("0", "1.0.4", ""));
        // One version: from it; nothing: everything before the fix.
        assert_eq!(r("0.12.2", None), t("0.12.2", "", ""));
        assert_eq!(r("0.12.2", Some("0.12.4")), t("0.12.2", "0.12.4", ""));
        assert_eq!(r("", Some("0.12.4")), t("0", "0.12.4", ""));
        assert_eq!(r("all of them", None), t("", "", ""));
    }
}
