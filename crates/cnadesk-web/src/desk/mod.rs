//! The team's pages (`/desk`): the triage queue, a report and its case,
//! the CVE record and CVE IDs, coordination with vendors, the team (rota,
//! absences, affiliations), the workload dashboard and forecast, the
//! ecosystem registry, and a member's notification settings.

pub mod coordination;
mod cve;
mod dashboard;
mod ecosystem;
mod notify;
mod record;
mod team;
mod triage;

pub use cve::*;
pub use dashboard::*;
pub use ecosystem::*;
pub use notify::*;
pub use record::*;
pub use team::*;
pub use triage::*;

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
