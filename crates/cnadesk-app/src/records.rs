//! CVE records of a case: checking a record against the CVE JSON schema
//! and the CNA rules' lint, and saving a new version of it (the case's CVE
//! ID set first when it changed). A version saved on a stale base is
//! refused, never merged silently.

use std::collections::HashMap;

use cnadesk_core::{Actor, CaseId, CveId, UserId};
use cnadesk_cve::editor::{wrap_record, FieldMap, PLACEHOLDER_CVE_ID};
use cnadesk_cve::{lint, LintContext, Severity};
use cnadesk_store::{Case, NewRecordVersion, RecordVersion, StoreError};
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
    /// What is wrong, in words.
    pub message: String,
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

    /// The counts in words.
    pub fn summary(&self) -> String {
        checks_summary(
            i64::try_from(self.schema_errors).unwrap_or(i64::MAX),
            i64::try_from(self.lint_errors).unwrap_or(i64::MAX),
            i64::try_from(self.lint_warnings).unwrap_or(i64::MAX),
        )
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
        out.push(
            f.as_deref(),
            Issue {
                severity: "error",
                pointer: p.pointer,
                message: p.message,
                rule: format!("CVE JSON schema {}: {}", app.schemas.version(), p.keyword),
            },
        );
    }
    for finding in lint(record, &LintContext::default()) {
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
        out.push(
            f.as_deref(),
            Issue {
                severity,
                pointer: finding.pointer,
                message: finding.message,
                rule: format!("{} ({})", finding.id, finding.rule),
            },
        );
    }
    out
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
