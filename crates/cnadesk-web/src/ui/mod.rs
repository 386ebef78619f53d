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

pub use account::*;
pub use cve::*;
pub use dashboard::*;
pub use desk::*;
pub use ecosystem::*;
pub use notify::*;
pub use record::*;
pub use team::*;

use cnadesk_core::report::email_problem;
use cnadesk_core::FieldError;

/// Checks the fields of a new account (also used by `cnadesk admin create-user`).
pub fn validate_new_account(
    username: &str,
    display_name: &str,
    email: &str,
    password: &str,
    confirm: &str,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let u = username.trim();
    if u.len() < 2
        || u.len() > 40
        || !u
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
    {
        errors.push(FieldError::new(
            "username",
            "must be 2 to 40 characters: lowercase letters, digits, dot, dash or underscore",
        ));
    }
    let d = display_name.trim();
    if d.is_empty() || d.chars().count() > 100 || d.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "display_name",
            "is required (at most 100 characters, one line)",
        ));
    }
    if let Some(problem) = email_problem(email.trim()) {
        errors.push(FieldError::new("email", problem));
    }
    if let Err(m) = crate::auth::check_password_policy(password, confirm) {
        errors.push(FieldError::new("password", format!("The password {m}")));
    }
    errors
}

/// Checks free text a member or reporter typed: not empty when required,
/// at most `max` characters, and no control characters (only line breaks
/// and tabs where `multiline`). Returns the problem as a sentence.
pub(crate) fn check_text(
    label: &str,
    text: &str,
    max: usize,
    required: bool,
    multiline: bool,
) -> Result<(), String> {
    let n = text.chars().count();
    if required && text.trim().is_empty() {
        return Err(format!("{label} is required."));
    }
    if n > max {
        return Err(format!(
            "{label} is too long ({n} characters; at most {max})."
        ));
    }
    let bad = text
        .chars()
        .any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t')));
    if bad {
        return Err(format!(
            "{label} contains control characters{}.",
            if multiline { "" } else { " or line breaks" }
        ));
    }
    Ok(())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_checks() {
        assert!(check_text("Title", "ok", 10, true, false).is_ok());
        assert!(check_text("Title", "  ", 10, true, false)
            .unwrap_err()
            .contains("required"));
        assert!(check_text("Title", "a\nb", 10, true, false).is_err());
        assert!(check_text("Body", "a\nb\tc", 10, true, true).is_ok());
        assert!(check_text("Body", "a\u{0}b", 10, true, true).is_err());
        assert!(check_text("Body", "ééééé", 4, true, true)
            .unwrap_err()
            .contains("too long"));
    }

    #[test]
    fn account_validation_names_each_field() {
        let errors = validate_new_account("A B", "", "x", "short", "short");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["username", "display_name", "email", "password"]);
        for bad in [
            "ada\0@example.org",
            "ada@\u{1}example.org",
            "\u{1b}ada@example.org",
        ] {
            let errors =
                validate_new_account("ada", "Ada", bad, "a long passphrase", "a long passphrase");
            assert_eq!(errors.len(), 1, "{bad:?}: {errors:?}");
            assert_eq!(errors[0].field, "email");
            assert!(errors[0].message.contains("control characters"));
        }
        assert!(validate_new_account(
            "ada",
            "Ada L.",
            "ada@example.org",
            "a long passphrase",
            "a long passphrase"
        )
        .is_empty());
    }
}
