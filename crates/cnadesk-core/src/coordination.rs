//! Coordinated disclosure across implementations, pure: the status of a
//! product in a vulnerability, references to the specifications a
//! vulnerability concerns (XEPs, RFCs), the CVE counting guidance of CNA
//! rule 4.2.14, each vendor's checklist, reminders and the embargo rules.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a product stands in one vulnerability. Silence is `Unknown`, never
/// "not affected".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Nobody has said anything yet.
    Unknown,
    /// The vendor is looking into it.
    UnderInvestigation,
    /// Affected, no fix yet.
    Affected,
    /// Not affected.
    NotAffected,
    /// Affected, and a fix exists.
    Fixed,
}

impl ProductStatus {
    /// Every status, in the order forms offer them.
    pub const ALL: [ProductStatus; 5] = [
        ProductStatus::Unknown,
        ProductStatus::UnderInvestigation,
        ProductStatus::Affected,
        ProductStatus::NotAffected,
        ProductStatus::Fixed,
    ];

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            ProductStatus::Unknown => "unknown",
            ProductStatus::UnderInvestigation => "under_investigation",
            ProductStatus::Affected => "affected",
            ProductStatus::NotAffected => "not_affected",
            ProductStatus::Fixed => "fixed",
        }
    }

    /// In words.
    pub fn label(self) -> &'static str {
        match self {
            ProductStatus::Unknown => "unknown (no answer yet)",
            ProductStatus::UnderInvestigation => "under investigation",
            ProductStatus::Affected => "affected",
            ProductStatus::NotAffected => "not affected",
            ProductStatus::Fixed => "fixed",
        }
    }

    /// Whether the product has (or had) the flaw.
    pub fn vulnerable(self) -> bool {
        matches!(self, ProductStatus::Affected | ProductStatus::Fixed)
    }

    /// Whether the vendor has given an answer that settles their part.
    pub fn settled(self) -> bool {
        matches!(self, ProductStatus::NotAffected | ProductStatus::Fixed)
    }
}

impl fmt::Display for ProductStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProductStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        ProductStatus::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown status `{s}`"))
    }
}

/// A reference to a XEP: its number, and optionally the version and section
/// the flaw concerns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct XepRef {
    /// The XEP number (280 for XEP-0280).
    pub number: u16,
    /// The version read (`1.0.1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The section (`11`, `5.2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
}

impl fmt::Display for XepRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "XEP-{:04}", self.number)?;
        if let Some(v) = &self.version {
            write!(f, " v{v}")?;
        }
        if let Some(s) = &self.section {
            write!(f, " §{s}")?;
        }
        Ok(())
    }
}

/// Parses XEP references, one per line or separated by commas:
/// `XEP-0280 v1.0.1 §11`, `0280 1.0.1 section 11`, `xep-0313`.
/// The error names the entry that could not be read.
pub fn parse_xep_refs(text: &str) -> Result<Vec<XepRef>, String> {
    let mut out: Vec<XepRef> = Vec::new();
    for entry in text
        .split(['\n', ','])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let mut words = entry.split_whitespace();
        let first = words.next().unwrap_or_default();
        let digits = first
            .strip_prefix("XEP-")
            .or_else(|| first.strip_prefix("xep-"))
            .or_else(|| first.strip_prefix("XEP"))
            .unwrap_or(first);
        let number = digits
            .parse::<u16>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("`{entry}`: expected a XEP number such as XEP-0280"))?;
        let mut version = None;
        let mut section = None;
        let mut rest: Vec<&str> = words.collect();
        while let Some(w) = rest.first().copied() {
            rest.remove(0);
            let lower = w.to_ascii_lowercase();
            if lower == "section" || lower == "§" {
                let s = rest
                    .first()
                    .copied()
                    .ok_or_else(|| format!("`{entry}`: a section number must follow `{w}`"))?;
                rest.remove(0);
                section = Some(section_number(entry, s)?);
            } else if let Some(s) = w.strip_prefix('§') {
                section = Some(section_number(entry, s)?);
            } else if version.is_none() {
                let v = w.strip_prefix('v').unwrap_or(w);
                if v.is_empty() || !v.chars().all(|c| c.is_ascii_digit() || c == '.') {
                    return Err(format!(
                        "`{entry}`: `{w}` is neither a version (1.0.1) nor a section (§11)"
                    ));
                }
                version = Some(v.to_owned());
            } else {
                return Err(format!("`{entry}`: unexpected `{w}`"));
            }
        }
        let xep = XepRef {
            number,
            version,
            section,
        };
        if !out.contains(&xep) {
            out.push(xep);
        }
    }
    Ok(out)
}

fn section_number(entry: &str, s: &str) -> Result<String, String> {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
        Ok(s.to_owned())
    } else {
        Err(format!("`{entry}`: `{s}` is not a section number"))
    }
}

/// Parses RFC references (`RFC 6120 §8.1.2.1`, `rfc6121`), one per line or
/// comma-separated, into their canonical form `RFC 6120 §8.1.2.1`.
pub fn parse_rfc_refs(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for entry in text
        .split(['\n', ','])
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        let lower = entry.to_ascii_lowercase();
        let rest = lower
            .strip_prefix("rfc")
            .ok_or_else(|| format!("`{entry}`: expected an RFC such as RFC 6120"))?
            .trim_start();
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let number = digits
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| format!("`{entry}`: expected an RFC number"))?;
        let tail = rest[digits.len()..].trim();
        let tail = tail
            .strip_prefix("section")
            .or_else(|| tail.strip_prefix('§'))
            .map(str::trim)
            .unwrap_or(tail);
        let canonical = if tail.is_empty() {
            format!("RFC {number}")
        } else {
            format!("RFC {number} §{}", section_number(entry, tail)?)
        };
        if !out.contains(&canonical) {
            out.push(canonical);
        }
    }
    Ok(out)
}

/// What CNA rule 4.2.14 suggests for the number of CVE IDs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountGuidance {
    /// Suggested number of IDs (0 while nothing is known to be affected).
    pub count: usize,
    /// Why, in words, citing the rule.
    pub explanation: String,
}

/// CNA rule 4.2.14: when a specification can be implemented securely, each
/// vulnerable implementation gets its own ID; when it cannot (the flaw is in
/// the specification itself), one ID covers it. `secure_way_exists` is the
/// member's judgement (`None`: not yet made); `vulnerable` is how many
/// products are known to be affected or fixed.
pub fn suggested_cve_count(secure_way_exists: Option<bool>, vulnerable: usize) -> CountGuidance {
    match secure_way_exists {
        None => CountGuidance {
            count: 0,
            explanation: "Decide first whether the specification can be implemented securely \
                          (CNA rule 4.2.14)."
                .into(),
        },
        Some(false) => CountGuidance {
            count: 1,
            explanation: "No secure way to implement the specification exists, so the flaw is \
                          in the specification: one CVE ID (CNA rule 4.2.14)."
                .into(),
        },
        Some(true) => CountGuidance {
            count: vulnerable,
            explanation: format!(
                "The specification can be implemented securely, so each vulnerable \
                 implementation gets its own CVE ID: {vulnerable} known affected or fixed \
                 (CNA rule 4.2.14)."
            ),
        },
    }
}

/// One vendor's progress in a case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Checklist {
    /// Invited (the invitation was queued).
    pub notified: bool,
    /// Accepted the invitation and acknowledged the embargo terms.
    pub acknowledged: bool,
    /// Every product of theirs is fixed or not affected.
    pub fixed: bool,
    /// Every fixed product of theirs has a released fix.
    pub released: bool,
}

/// A vendor's checklist from their acknowledgement and the status of each of
/// their products (status, fix released).
pub fn checklist(acknowledged: bool, products: &[(ProductStatus, bool)]) -> Checklist {
    let fixed = !products.is_empty() && products.iter().all(|(s, _)| s.settled());
    let released = fixed
        && products
            .iter()
            .all(|(s, released)| *s != ProductStatus::Fixed || *released);
    Checklist {
        notified: true,
        acknowledged,
        fixed,
        released,
    }
}

/// When vendors who have not answered are reminded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReminderSchedule {
    /// Time between the invitation (or the last reminder) and a reminder.
    pub every_ms: i64,
    /// Reminders sent at most.
    pub at_most: i64,
}

impl Default for ReminderSchedule {
    fn default() -> Self {
        ReminderSchedule {
            every_ms: 3 * 24 * 3600 * 1000,
            at_most: 3,
        }
    }
}

impl ReminderSchedule {
    /// Whether a vendor invited at `invited_at_ms`, last reminded at
    /// `last_reminded_ms` after `sent` reminders, who has or has not
    /// `answered`, is due a reminder at `now_ms`.
    pub fn due(
        &self,
        answered: bool,
        invited_at_ms: i64,
        last_reminded_ms: Option<i64>,
        sent: i64,
        now_ms: i64,
    ) -> bool {
        !answered
            && sent < self.at_most
            && now_ms - last_reminded_ms.unwrap_or(invited_at_ms) >= self.every_ms
    }
}

/// Whether a vendor has answered: accepted, acknowledged, and no product of
/// theirs is still `Unknown`.
pub fn answered(accepted: bool, acknowledged: bool, statuses: &[ProductStatus]) -> bool {
    accepted && acknowledged && statuses.iter().all(|s| *s != ProductStatus::Unknown)
}

/// Why an embargo change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmbargoError {
    /// Every change needs a reason.
    #[error("give the reason for the embargo date")]
    NoReason,
    /// The end must lie in the future.
    #[error("the embargo must end in the future")]
    InPast,
    /// The embargo already ended.
    #[error("the embargo has already been lifted")]
    Lifted,
}

/// Checks a new embargo end against the rules: a reason, a future date, and
/// an embargo that has not ended yet.
pub fn check_embargo_change(
    ends_at_ms: i64,
    reason: &str,
    lifted: bool,
    now_ms: i64,
) -> Result<(), EmbargoError> {
    if lifted {
        return Err(EmbargoError::Lifted);
    }
    if reason.trim().is_empty() {
        return Err(EmbargoError::NoReason);
    }
    if ends_at_ms <= now_ms {
        return Err(EmbargoError::InPast);
    }
    Ok(())
}

/// Whether a change of an existing embargo waits for consent: when the
/// policy asks for it and some vendor has acknowledged the current terms.
/// Setting the first date never waits (nobody has agreed to anything yet).
pub fn change_needs_consent(policy_requires: bool, first_date: bool, acknowledged: usize) -> bool {
    policy_requires && !first_date && acknowledged > 0
}

/// Parses a date-time typed in a form: `2026-12-01T14:00` (or with seconds)
/// in the time zone `tz`, or with an explicit `Z`/offset. Returns ms since
/// the epoch.
pub fn parse_datetime(text: &str, tz: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("enter a date and time".into());
    }
    if let Ok(ts) = text.parse::<jiff::Timestamp>() {
        return Ok(ts.as_millisecond());
    }
    let zone = jiff::tz::TimeZone::get(tz).map_err(|_| format!("unknown time zone `{tz}`"))?;
    let civil = text
        .parse::<jiff::civil::DateTime>()
        .map_err(|_| format!("`{text}` is not a date and time such as 2026-12-01T14:00"))?;
    civil
        .to_zoned(zone)
        .map(|z| z.timestamp().as_millisecond())
        .map_err(|e| format!("`{text}`: {e}"))
}

/// A moment shown in a time zone with the UTC value beside it:
/// `2026-12-01 15:00 CET (2026-12-01 14:00 UTC)`.
pub fn in_zone_with_utc(ms: i64, tz: &str) -> String {
    let Ok(ts) = jiff::Timestamp::from_millisecond(ms) else {
        return ms.to_string();
    };
    let utc = ts.strftime("%Y-%m-%d %H:%M UTC").to_string();
    match jiff::tz::TimeZone::get(tz) {
        Ok(zone) if tz != "UTC" => {
            let local = ts.to_zoned(zone).strftime("%Y-%m-%d %H:%M %Z").to_string();
            format!("{local} ({utc})")
        }
        _ => utc,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xep_references_read_number_version_and_section() {
        let refs = parse_xep_refs("XEP-0280 v1.0.1 §11, 0313 section 5.2\nxep-0045").unwrap();
        assert_eq!(
            refs,
            vec![
                XepRef {
                    number: 280,
                    version: Some("1.0.1".into()),
                    section: Some("11".into())
                },
                XepRef {
                    number: 313,
                    version: None,
                    section: Some("5.2".into())
                },
                XepRef {
                    number: 45,
                    version: None,
                    section: None
                },
            ]
        );
        assert_eq!(refs[0].to_string(), "XEP-0280 v1.0.1 §11");
        let err = parse_xep_refs("XEP-0280, carbons").unwrap_err();
        assert!(err.contains("`carbons`"), "{err}");
        assert!(parse_xep_refs("XEP-0280 1.0 lol").is_err());
        assert_eq!(parse_xep_refs(" , ").unwrap(), vec![]);
    }

    #[test]
    fn rfc_references_are_canonical() {
        assert_eq!(
            parse_rfc_refs("rfc6120 section 8.1.2.1, RFC 6121").unwrap(),
            vec!["RFC 6120 §8.1.2.1".to_owned(), "RFC 6121".to_owned()]
        );
        assert!(parse_rfc_refs("6120").unwrap_err().contains("6120"));
    }

    #[test]
    fn counting_follows_rule_4_2_14() {
        assert_eq!(suggested_cve_count(None, 4).count, 0);
        assert_eq!(suggested_cve_count(Some(false), 4).count, 1);
        assert_eq!(suggested_cve_count(Some(true), 4).count, 4);
        assert!(suggested_cve_count(Some(true), 4)
            .explanation
            .contains("4.2.14"));
    }

    #[test]
    fn checklist_needs_every_product_settled_and_released() {
        use ProductStatus::*;
        let c = checklist(true, &[(Fixed, false), (NotAffected, false)]);
        assert!(c.fixed && !c.released && c.acknowledged);
        let c = checklist(false, &[(Fixed, true), (NotAffected, false)]);
        assert!(c.fixed && c.released && !c.acknowledged);
        let c = checklist(true, &[(Fixed, true), (Affected, false)]);
        assert!(!c.fixed && !c.released);
        assert!(!checklist(true, &[]).fixed);
    }

    #[test]
    fn reminders_follow_the_schedule() {
        let s = ReminderSchedule {
            every_ms: 100,
            at_most: 2,
        };
        assert!(!s.due(false, 0, None, 0, 99));
        assert!(s.due(false, 0, None, 0, 100));
        assert!(!s.due(true, 0, None, 0, 1000));
        assert!(!s.due(false, 0, Some(150), 1, 200));
        assert!(s.due(false, 0, Some(150), 1, 250));
        assert!(!s.due(false, 0, Some(150), 2, 1000));
        assert!(!answered(true, true, &[ProductStatus::Unknown]));
        assert!(answered(true, true, &[ProductStatus::Affected]));
        assert!(!answered(true, false, &[ProductStatus::Affected]));
    }

    #[test]
    fn embargo_changes_need_a_reason_and_a_future_date() {
        assert_eq!(
            check_embargo_change(10, " ", false, 0),
            Err(EmbargoError::NoReason)
        );
        assert_eq!(
            check_embargo_change(10, "r", false, 10),
            Err(EmbargoError::InPast)
        );
        assert_eq!(
            check_embargo_change(10, "r", true, 0),
            Err(EmbargoError::Lifted)
        );
        assert!(check_embargo_change(10, "r", false, 0).is_ok());
        assert!(change_needs_consent(true, false, 1));
        assert!(!change_needs_consent(true, true, 1));
        assert!(!change_needs_consent(true, false, 0));
        assert!(!change_needs_consent(false, false, 3));
    }

    #[test]
    fn datetimes_are_read_in_the_viewers_zone() {
        let utc = parse_datetime("2026-12-01T14:00", "UTC").unwrap();
        let berlin = parse_datetime("2026-12-01T15:00", "Europe/Berlin").unwrap();
        assert_eq!(utc, berlin);
        assert_eq!(
            parse_datetime("2026-12-01T14:00:00Z", "Asia/Tokyo").unwrap(),
            utc
        );
        assert!(parse_datetime("tomorrow", "UTC").is_err());
        assert!(parse_datetime("2026-12-01T14:00", "Mars/Base").is_err());
        assert_eq!(
            in_zone_with_utc(utc, "Europe/Berlin"),
            "2026-12-01 15:00 CET (2026-12-01 14:00 UTC)"
        );
        assert_eq!(in_zone_with_utc(utc, "UTC"), "2026-12-01 14:00 UTC");
    }
}
