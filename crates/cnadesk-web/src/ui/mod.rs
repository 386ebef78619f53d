//! The team's pages: setup, sign-in, triage queue, report and case view,
//! accounts.

mod account;
pub mod coordination;
mod cve;
mod dashboard;
mod desk;
mod ecosystem;
mod notify;
mod record;
mod team;
mod tokens;

pub use account::*;
pub use cve::*;
pub use dashboard::*;
pub use desk::*;
pub use ecosystem::*;
pub use notify::*;
pub use record::*;
pub use team::*;
pub use tokens::*;

use cnadesk_core::FieldError;

pub(crate) use cnadesk_app::text::check_text;

/// One line of a diff as pages show it: `kind` is `ins`, `del`, `same` or
/// `gap` (the CSS class).
pub(crate) struct DiffLine {
    pub(crate) kind: &'static str,
    pub(crate) text: String,
}

/// A line diff of two texts with three lines of context, gaps marked.
/// Empty when they are the same.
pub(crate) fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut lines = Vec::new();
    for group in diff.grouped_ops(3) {
        if !lines.is_empty() {
            lines.push(DiffLine {
                kind: "gap",
                text: "…".into(),
            });
        }
        for op in group {
            for change in diff.iter_changes(&op) {
                let (kind, sign) = match change.tag() {
                    similar::ChangeTag::Delete => ("del", '-'),
                    similar::ChangeTag::Insert => ("ins", '+'),
                    similar::ChangeTag::Equal => ("same", ' '),
                };
                lines.push(DiffLine {
                    kind,
                    text: format!("{sign} {}", change.value().trim_end_matches('\n')),
                });
            }
        }
    }
    lines
}

/// The message for one field (for templates).
pub(crate) fn error_for(errors: &[FieldError], field: &str) -> String {
    errors
        .iter()
        .filter(|e| e.field == field)
        .map(|e| e.message.as_str())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The case named in a URL (`NotFound` for anything else).
pub(crate) async fn case_from_path(
    state: &crate::AppState,
    id: cnadesk_core::CaseId,
) -> Result<cnadesk_store::Case, crate::AppError> {
    state.store.case(id).await?.ok_or(crate::AppError::NotFound)
}

pub(crate) async fn case_and_report(
    state: &crate::AppState,
    id: cnadesk_core::CaseId,
) -> Result<(cnadesk_core::CaseId, cnadesk_core::ReportId), crate::AppError> {
    let case = case_from_path(state, id).await?;
    Ok((case.id, case.report_id))
}
