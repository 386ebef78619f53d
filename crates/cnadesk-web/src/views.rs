//! Shared view helpers: the page layout, time formatting and file downloads.

use askama::Template;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// What the layout of every page needs.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// The CNA's name.
    pub cna_name: String,
    /// The page title.
    pub title: String,
    /// The signed-in member, if any.
    pub member: Option<NavMember>,
    /// The anti-forgery token (for the sign-out form).
    pub csrf: String,
    /// The signed-in vendor contact's name, on vendor portal pages.
    pub vendor: Option<String>,
    /// OpenGraph and feed links of a public page.
    pub meta: Option<PageMeta>,
    /// A demo desk (CVE Services simulated): every page says so, and no
    /// CVE ID links to cve.org.
    pub demo: bool,
}

/// What a public page tells link previews and feed readers.
#[derive(Clone, Debug, Default)]
pub struct PageMeta {
    /// The page's absolute URL (`og:url`, canonical).
    pub url: String,
    /// A one-paragraph description (`og:description`).
    pub description: String,
    /// `website` or `article`.
    pub kind: &'static str,
    /// An Atom feed of the page (`<link rel="alternate">`).
    pub feed: Option<String>,
}

impl Layout {
    /// The layout of a page seen without signing in.
    pub fn public(state: &crate::AppState, title: &str, csrf: &str) -> Self {
        Layout {
            cna_name: state.settings.cna_name.clone(),
            title: title.to_owned(),
            member: None,
            csrf: csrf.to_owned(),
            vendor: None,
            meta: None,
            demo: state.is_demo(),
        }
    }
}

/// The signed-in member as the navigation shows them.
#[derive(Clone, Debug)]
pub struct NavMember {
    /// Name.
    pub display_name: String,
    /// Whether to show the admin links.
    pub is_admin: bool,
}

/// Renders a template into a response, or a plain 500 if rendering fails.
pub fn render<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "template rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

pub use cnadesk_app::text::{fmt_time, rfc3339};

/// `3 h`, `2 d`: how long ago, compactly (a table's "Age", "… old").
pub fn fmt_age(ms: i64, now_ms: i64) -> String {
    let secs = (now_ms - ms).max(0) / 1000;
    match secs {
        s if s < 60 => "< 1 min".into(),
        s if s < 3600 => format!("{} min", s / 60),
        s if s < 86_400 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

/// `just now`, `1 minute ago`, `3 hours ago`, `2 days ago`: how long ago,
/// in words.
pub fn fmt_ago(ms: i64, now_ms: i64) -> String {
    let secs = (now_ms - ms).max(0) / 1000;
    let (n, unit) = match secs {
        s if s < 60 => return "just now".into(),
        s if s < 3600 => (s / 60, "minute"),
        s if s < 86_400 => (s / 3600, "hour"),
        s => (s / 86_400, "day"),
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

/// A stored file as a download that never renders in the browser.
pub fn file_download(filename: &str, bytes: Vec<u8>) -> Response {
    let disposition = format!(
        "attachment; filename=\"{}\"",
        filename.replace(['"', '\\'], "_")
    );
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'"),
    );
    res
}

/// The message for one field (for templates).
pub(crate) fn error_for(errors: &[cnadesk_core::FieldError], field: &str) -> String {
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
    fn times_format() {
        assert_eq!(fmt_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(fmt_age(0, 59_000), "< 1 min");
        assert_eq!(fmt_age(0, 61_000), "1 min");
        assert_eq!(fmt_age(0, 7_200_000), "2 h");
        assert_eq!(fmt_age(0, 3 * 86_400_000), "3 d");
        assert_eq!(fmt_age(10, 0), "< 1 min");
        assert_eq!(fmt_ago(0, 59_000), "just now");
        assert_eq!(fmt_ago(0, 61_000), "1 minute ago");
        assert_eq!(fmt_ago(0, 125_000), "2 minutes ago");
        assert_eq!(fmt_ago(0, 3_600_000), "1 hour ago");
        assert_eq!(fmt_ago(0, 7_200_000), "2 hours ago");
        assert_eq!(fmt_ago(0, 86_400_000), "1 day ago");
        assert_eq!(fmt_ago(0, 3 * 86_400_000), "3 days ago");
        assert_eq!(fmt_ago(10, 0), "just now");
    }
}
