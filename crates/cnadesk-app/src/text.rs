//! Text: checks of what people type, file names and types of
//! attachments, and timestamps as records, feeds and pages write them.

use jiff::Timestamp;

/// Checks free text a member or reporter typed: not empty when required,
/// at most `max` characters, and no control characters (only line breaks
/// and tabs where `multiline`). Returns the problem as a sentence.
pub fn check_text(
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

/// Keeps the last path component and a safe set of characters.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ' ' | '+'))
        .take(100)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "attachment".into()
    } else {
        cleaned
    }
}

/// A declared content type if it looks like one, else octet-stream.
pub fn sanitize_content_type(ct: Option<&str>) -> String {
    match ct {
        Some(ct)
            if ct.len() <= 100
                && ct.contains('/')
                && ct
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/.+-_".contains(c)) =>
        {
            ct.to_ascii_lowercase()
        }
        _ => "application/octet-stream".into(),
    }
}

/// RFC 3339 UTC to the second with `Z`, as CVE records, feeds and
/// security.txt want it.
pub fn rfc3339(ms: i64) -> String {
    cnadesk_core::sla::timestamp(ms)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `2026-11-24 21:37 UTC`.
pub fn fmt_time(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A UTC time as messages print it (the templates add "UTC").
pub fn utc(ms: i64) -> String {
    cnadesk_core::sla::timestamp(ms)
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
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
}
