//! Vulnerability reports: what a reporter submits, how it is validated, and
//! the report's own small life cycle (new → accepted as a case, or closed).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Limits on the free-text fields, in characters.
pub mod limits {
    /// Short fields: name, product, versions, credit, title.
    pub const SHORT: usize = 200;
    /// Contact (e-mail) address, in bytes: the longest address SMTP can
    /// carry. Checked by [`super::email_problem`].
    pub const CONTACT: usize = 254;
    /// Long fields: description, impact, reproduction steps.
    pub const LONG: usize = 50_000;
    /// Minimum length of the description.
    pub const MIN_DESCRIPTION: usize = 20;
    /// An ASCII-armored OpenPGP public key.
    pub const PGP_KEY: usize = 100_000;
}

/// What a reporter submits, before validation. Every field is optional here
/// so that a half-filled form can be shown back with its errors.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportInput {
    /// One-line summary.
    pub title: String,
    /// Reporter's name (optional).
    pub reporter_name: String,
    /// Reporter's e-mail address (optional).
    pub reporter_email: String,
    /// The reporter wishes to stay anonymous: no credit, name not shown publicly.
    pub anonymous: bool,
    /// Affected product, as the reporter names it.
    pub product: String,
    /// Affected versions.
    pub versions: String,
    /// The first version with the fix, if the reporter knows it.
    pub fixed_version: String,
    /// The weakness, as a CWE ID (`CWE-79`), if the reporter knows it.
    pub cwe: String,
    /// A CVSS 3.x or 4.0 vector, if the reporter scored it.
    pub cvss_vector: String,
    /// The vulnerability.
    pub description: String,
    /// What an attacker gains.
    pub impact: String,
    /// Steps to reproduce.
    pub reproduction: String,
    /// Whether the vulnerability is already public.
    pub already_public: bool,
    /// Where it is public.
    pub public_where: String,
    /// Whether the reporter asked another CNA.
    pub asked_other_cna: bool,
    /// Which CNA.
    pub other_cna: String,
    /// How the reporter wishes to be credited.
    pub credit: String,
    /// The reporter's OpenPGP public key, ASCII-armored.
    pub pgp_key: String,
}

/// A problem with one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// The field name as used in the form and the JSON API.
    pub field: String,
    /// A sentence for a human.
    pub message: String,
}

impl FieldError {
    /// A new error on `field`.
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

/// A report that passed validation: trimmed, with empty strings as `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidReport {
    /// One-line summary.
    pub title: String,
    /// Reporter's name.
    pub reporter_name: Option<String>,
    /// Reporter's e-mail.
    pub reporter_email: Option<String>,
    /// Anonymous report.
    pub anonymous: bool,
    /// Affected product.
    pub product: String,
    /// Affected versions.
    pub versions: Option<String>,
    /// The first fixed version.
    #[serde(default)]
    pub fixed_version: Option<String>,
    /// The weakness (`CWE-79`), normalized.
    #[serde(default)]
    pub cwe: Option<String>,
    /// A CVSS vector as typed (checked by the intake use case).
    #[serde(default)]
    pub cvss_vector: Option<String>,
    /// The vulnerability.
    pub description: String,
    /// Impact.
    pub impact: Option<String>,
    /// Steps to reproduce.
    pub reproduction: Option<String>,
    /// Already public.
    pub already_public: bool,
    /// Where.
    pub public_where: Option<String>,
    /// Asked another CNA.
    pub asked_other_cna: bool,
    /// Which CNA.
    pub other_cna: Option<String>,
    /// Preferred credit.
    pub credit: Option<String>,
    /// OpenPGP key.
    pub pgp_key: Option<String>,
}

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

fn check_len(errors: &mut Vec<FieldError>, field: &str, value: &str, max: usize) {
    let n = value.chars().count();
    if n > max {
        errors.push(FieldError::new(
            field,
            format!("is too long ({n} characters; at most {max})"),
        ));
    }
}

fn has_control_chars(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
}

/// A deliberately simple e-mail check: one `@`, something before it, a dot
/// in the domain, no spaces. Deliverability is proven by delivery, not regex.
pub fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
}

/// What is wrong with an e-mail address someone typed (already trimmed),
/// said as a form says it after the field's name; `None`: it looks like one.
/// Control characters (NUL, SOH, ESC, …) get their own words: nobody sees
/// them, and a stored one would make every mail to the address fail. An
/// address longer than [`limits::CONTACT`] (254) cannot be mailed either.
pub fn email_problem(s: &str) -> Option<&'static str> {
    if s.chars().any(char::is_control) {
        Some("contains control characters (invisible ones such as NUL or ESC, often from a copy and paste); type the address again")
    } else if s.len() > limits::CONTACT {
        Some("is too long for an e-mail address (at most 254 characters)")
    } else if !looks_like_email(s) {
        Some("is not an e-mail address (expected name@example.org)")
    } else {
        None
    }
}

/// `s` without its control characters: how a refused e-mail address is
/// shown back in its form (the invisible characters are refused, and never
/// echoed).
pub fn without_controls(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

/// A CWE ID as people write it (`CWE-79`, `cwe 79`, `79`) in its one
/// form (`CWE-79`); `None` when it is none.
pub fn normalize_cwe(s: &str) -> Option<String> {
    let t = s.trim();
    let rest = if t.len() >= 3 && t[..3].eq_ignore_ascii_case("cwe") {
        &t[3..]
    } else {
        t
    };
    let rest = rest.trim_start_matches(['-', ' ', ':']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    // What may follow the number: nothing, or the name as a list shows it
    // (`CWE-79: Improper Neutralization…`).
    let after = &rest[digits.len()..];
    let ok = !digits.is_empty()
        && digits.len() <= 7
        && (after.is_empty() || after.starts_with([':', ' ', '(']));
    ok.then(|| format!("CWE-{}", digits.trim_start_matches('0').max("0")))
}

impl ReportInput {
    /// Validates every field and returns all problems at once.
    pub fn validate(&self) -> Result<ValidReport, Vec<FieldError>> {
        let mut errors = Vec::new();
        let short_fields = [
            ("title", &self.title),
            ("reporter_name", &self.reporter_name),
            ("product", &self.product),
            ("versions", &self.versions),
            ("fixed_version", &self.fixed_version),
            ("cwe", &self.cwe),
            ("cvss_vector", &self.cvss_vector),
            ("public_where", &self.public_where),
            ("other_cna", &self.other_cna),
            ("credit", &self.credit),
        ];
        for (field, value) in short_fields {
            check_len(&mut errors, field, value, limits::SHORT);
            if value.contains('\n') || has_control_chars(value) {
                errors.push(FieldError::new(
                    field,
                    "must be a single line without control characters",
                ));
            }
        }
        for (field, value) in [
            ("description", &self.description),
            ("impact", &self.impact),
            ("reproduction", &self.reproduction),
        ] {
            check_len(&mut errors, field, value, limits::LONG);
            if has_control_chars(value) {
                errors.push(FieldError::new(field, "contains control characters"));
            }
        }
        if self.title.trim().is_empty() {
            errors.push(FieldError::new(
                "title",
                "is required: one line that names the problem",
            ));
        }
        if self.product.trim().is_empty() {
            errors.push(FieldError::new(
                "product",
                "is required: which software is affected?",
            ));
        }
        let description_len = self.description.trim().chars().count();
        if description_len < limits::MIN_DESCRIPTION {
            errors.push(FieldError::new(
                "description",
                format!(
                    "is required and must say what the vulnerability is (at least {} characters)",
                    limits::MIN_DESCRIPTION
                ),
            ));
        }
        let email = self.reporter_email.trim();
        if let Some(problem) = email_problem(email).filter(|_| !email.is_empty()) {
            errors.push(FieldError::new("reporter_email", problem));
        }
        if self.already_public && self.public_where.trim().is_empty() {
            errors.push(FieldError::new(
                "public_where",
                "is required when the vulnerability is already public: where was it disclosed?",
            ));
        }
        if self.asked_other_cna && self.other_cna.trim().is_empty() {
            errors.push(FieldError::new(
                "other_cna",
                "is required when you asked another CNA: which one?",
            ));
        }
        let cwe = normalize_cwe(&self.cwe);
        if !self.cwe.trim().is_empty() && cwe.is_none() {
            errors.push(FieldError::new(
                "cwe",
                "is not a CWE ID: write it as CWE-79 (or leave it empty)",
            ));
        }
        let vector = self.cvss_vector.trim();
        if !vector.is_empty() && !vector.starts_with("CVSS:") {
            errors.push(FieldError::new(
                "cvss_vector",
                "is not a CVSS vector: it starts with CVSS:3.1/ or CVSS:4.0/ (or leave it empty)",
            ));
        }
        let key = self.pgp_key.trim();
        check_len(&mut errors, "pgp_key", key, limits::PGP_KEY);
        let armored = key.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----")
            && key.ends_with("-----END PGP PUBLIC KEY BLOCK-----");
        if !key.is_empty() && !armored {
            errors.push(FieldError::new(
                "pgp_key",
                "must be an ASCII-armored OpenPGP public key (-----BEGIN PGP PUBLIC KEY BLOCK----- … -----END PGP PUBLIC KEY BLOCK-----)",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidReport {
            title: self.title.trim().to_owned(),
            reporter_name: if self.anonymous {
                None
            } else {
                opt(&self.reporter_name)
            },
            reporter_email: opt(email),
            anonymous: self.anonymous,
            product: self.product.trim().to_owned(),
            versions: opt(&self.versions),
            fixed_version: opt(&self.fixed_version),
            cwe,
            cvss_vector: opt(vector),
            description: self.description.trim().to_owned(),
            impact: opt(&self.impact),
            reproduction: opt(&self.reproduction),
            already_public: self.already_public,
            public_where: if self.already_public {
                opt(&self.public_where)
            } else {
                None
            },
            asked_other_cna: self.asked_other_cna,
            other_cna: if self.asked_other_cna {
                opt(&self.other_cna)
            } else {
                None
            },
            credit: if self.anonymous {
                None
            } else {
                opt(&self.credit)
            },
            pgp_key: opt(key),
        })
    }
}

/// Where a report stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportState {
    /// Waiting for triage.
    New,
    /// Accepted: a case was opened for it.
    Accepted,
    /// Closed without a case, with a [`CloseReason`].
    Closed,
}

impl ReportState {
    /// The stable string stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportState::New => "new",
            ReportState::Accepted => "accepted",
            ReportState::Closed => "closed",
        }
    }

    /// Whether a triage decision (accept or close) can still be taken.
    pub fn awaits_triage(self) -> bool {
        self == ReportState::New
    }
}

impl FromStr for ReportState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "new" => Ok(ReportState::New),
            "accepted" => Ok(ReportState::Accepted),
            "closed" => Ok(ReportState::Closed),
            other => Err(format!("unknown report state `{other}`")),
        }
    }
}

impl fmt::Display for ReportState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a report was closed without a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseReason {
    /// Not a security vulnerability.
    NotAVulnerability,
    /// Duplicate of another report (named in the decision).
    Duplicate,
    /// Outside the CNA's scope.
    OutOfScope,
    /// Spam or abuse.
    Spam,
    /// Not enough information to act, and the reporter did not supply more.
    InsufficientInformation,
}

impl CloseReason {
    /// Every reason, in the order shown in the UI.
    pub const ALL: [CloseReason; 5] = [
        CloseReason::NotAVulnerability,
        CloseReason::Duplicate,
        CloseReason::OutOfScope,
        CloseReason::Spam,
        CloseReason::InsufficientInformation,
    ];

    /// The stable string stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::NotAVulnerability => "not_a_vulnerability",
            CloseReason::Duplicate => "duplicate",
            CloseReason::OutOfScope => "out_of_scope",
            CloseReason::Spam => "spam",
            CloseReason::InsufficientInformation => "insufficient_information",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            CloseReason::NotAVulnerability => "Not a vulnerability",
            CloseReason::Duplicate => "Duplicate",
            CloseReason::OutOfScope => "Out of scope",
            CloseReason::Spam => "Spam",
            CloseReason::InsufficientInformation => "Insufficient information",
        }
    }
}

impl FromStr for CloseReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CloseReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown close reason `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cwe_ids_are_read_as_people_write_them() {
        use super::normalize_cwe;
        for (typed, id) in [
            ("CWE-79", "CWE-79"),
            ("cwe 79", "CWE-79"),
            ("79", "CWE-79"),
            ("CWE-0346", "CWE-346"),
            ("CWE-346: Origin Validation Error", "CWE-346"),
        ] {
            assert_eq!(normalize_cwe(typed).as_deref(), Some(id), "{typed}");
        }
        for bad in ["", "XSS", "CWE-", "CWE-79x", "NVD-CWE-Other"] {
            assert_eq!(normalize_cwe(bad), None, "{bad}");
        }
    }

    fn valid() -> ReportInput {
        ReportInput {
            title: "Carbons spoofing".into(),
            product: "Prosody".into(),
            description: "A remote user can forge message carbons from any sender.".into(),
            ..Default::default()
        }
    }

    #[test]
    fn minimal_report_is_valid_and_trimmed() {
        let mut input = valid();
        input.title = "  Carbons spoofing \t".into();
        input.versions = "   ".into();
        let v = input.validate().expect("valid");
        assert_eq!(v.title, "Carbons spoofing");
        assert_eq!(v.versions, None);
    }

    #[test]
    fn every_problem_is_reported_by_field() {
        let input = ReportInput {
            reporter_email: "not-an-address".into(),
            already_public: true,
            asked_other_cna: true,
            pgp_key: "hello".into(),
            description: "short".into(),
            ..Default::default()
        };
        let errors = input.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "title",
            "product",
            "description",
            "reporter_email",
            "public_where",
            "other_cna",
            "pgp_key",
        ] {
            assert!(fields.contains(&f), "missing error for {f}: {fields:?}");
        }
    }

    #[test]
    fn too_long_and_multiline_short_fields_are_rejected() {
        let mut input = valid();
        input.product = "x".repeat(limits::SHORT + 1);
        input.title = "two\nlines".into();
        let errors = input.validate().unwrap_err();
        assert!(errors
            .iter()
            .any(|e| e.field == "product" && e.message.contains("too long")));
        assert!(errors
            .iter()
            .any(|e| e.field == "title" && e.message.contains("single line")));
    }

    #[test]
    fn anonymous_reports_drop_name_and_credit() {
        let mut input = valid();
        input.anonymous = true;
        input.reporter_name = "Alice".into();
        input.credit = "Alice of Wonderland".into();
        let v = input.validate().unwrap();
        assert_eq!(v.reporter_name, None);
        assert_eq!(v.credit, None);
    }

    #[test]
    fn email_check() {
        assert!(looks_like_email("a@example.org"));
        assert!(!looks_like_email("a@b"));
        assert!(!looks_like_email("a b@example.org"));
        assert!(!looks_like_email("@example.org"));
        assert!(!looks_like_email("a@@example.org"));
        for bad in [
            "a\0b@example.org",
            "a@exa\u{1}mple.org",
            "a@example.org\u{1b}",
        ] {
            assert!(!looks_like_email(bad), "{bad:?}");
            assert!(email_problem(bad).unwrap().contains("control characters"));
        }
        assert_eq!(email_problem("a@example.org"), None);
        let longest = format!("{}@example.org", "a".repeat(limits::CONTACT - 12));
        assert_eq!(longest.len(), limits::CONTACT);
        assert_eq!(email_problem(&longest), None);
        let too_long = format!("a{longest}");
        assert!(email_problem(&too_long).unwrap().starts_with("is too long"));
        let mut input = valid();
        input.reporter_email = format!("{}@example.org", "a".repeat(400));
        let errors = input.validate().unwrap_err();
        assert_eq!(errors.len(), 1, "one problem, said once: {errors:?}");
        assert_eq!(errors[0].field, "reporter_email");
        assert!(errors[0].message.starts_with("is too long"));
        assert_eq!(without_controls("\u{1b}a\0@b.org\n"), "a@b.org");
        assert!(email_problem("a@b")
            .unwrap()
            .starts_with("is not an e-mail"));
        for bad in [
            "rita\0@example.org",
            "\u{1}rita@example.org",
            "rita@example.org\u{1b}",
        ] {
            let mut input = valid();
            input.reporter_email = bad.into();
            let errors = input.validate().unwrap_err();
            assert!(
                errors.iter().any(
                    |e| e.field == "reporter_email" && e.message.contains("control characters")
                ),
                "{bad:?}: {errors:?}"
            );
        }
    }

    #[test]
    fn close_reasons_round_trip() {
        for r in CloseReason::ALL {
            assert_eq!(r.as_str().parse::<CloseReason>(), Ok(r));
        }
    }
}
