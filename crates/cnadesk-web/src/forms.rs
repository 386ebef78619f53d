//! Reading the multipart report form without losing what was typed.

use axum::extract::multipart::Field;
use axum::extract::{FromRequest, Multipart, Request};
use cnadesk_core::{FieldError, ReportInput};
use cnadesk_store::NewAttachment;

use crate::extract::{CsrfChecking, CsrfRule, CsrfVerdict, RequestBody};
use crate::security::Csrf;
use crate::{AppState, WebConfig};

/// What the report form carried, even when part of it was unusable.
#[derive(Debug, Default)]
pub struct ReportForm {
    /// The text fields.
    pub input: ReportInput,
    /// Files within the limits.
    pub attachments: Vec<NewAttachment>,
    /// Problems found while reading (too large, bad encoding…, and an
    /// anti-forgery token that is not this browser's).
    pub errors: Vec<FieldError>,
}

/// The report form as sent to `POST /report`, read by [`read_report_form`]
/// with its anti-forgery token checked: a bad or missing token is one more
/// error in [`ReportForm::errors`], so the form comes back with what was
/// typed and nothing is stored. `None` when the body is not
/// `multipart/form-data`.
#[derive(Debug)]
pub struct ReportSubmission(pub Option<ReportForm>);

impl FromRequest<AppState> for ReportSubmission {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let csrf = Csrf::from_parts(&parts, state);
        let Ok(multipart) = Multipart::from_request(Request::from_parts(parts, body), state).await
        else {
            return Ok(ReportSubmission(None));
        };
        Ok(ReportSubmission(Some(
            read_report_form(multipart, &state.config, &csrf).await,
        )))
    }
}

impl CsrfChecking for ReportSubmission {
    const RULE: CsrfRule = CsrfRule::Reshown;
    const BODY: RequestBody = RequestBody::Multipart;
}

pub use cnadesk_app::text::{sanitize_content_type, sanitize_filename};

fn set_text(input: &mut ReportInput, name: &str, value: String) -> bool {
    let checked = matches!(value.as_str(), "yes" | "on" | "true" | "1");
    match name {
        "title" => input.title = value,
        "reporter_name" => input.reporter_name = value,
        "reporter_email" => input.reporter_email = value,
        "anonymous" => input.anonymous = checked,
        "product" => input.product = value,
        "versions" => input.versions = value,
        "fixed_version" => input.fixed_version = value,
        "cwe" => input.cwe = value,
        "cvss_vector" => input.cvss_vector = value,
        "description" => input.description = value,
        "impact" => input.impact = value,
        "reproduction" => input.reproduction = value,
        "already_public" => input.already_public = checked,
        "public_where" => input.public_where = value,
        "asked_other_cna" => input.asked_other_cna = checked,
        "other_cna" => input.other_cna = value,
        "credit" => input.credit = value,
        "pgp_key" => input.pgp_key = value,
        _ => return false,
    }
    true
}

/// One metric of the calculator: its abbreviation, label and values
/// (value, label).
pub type Metric = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The CVSS 3.1 base metrics the form's calculator offers, in vector order.
pub const CVSS31_BASE: [Metric; 8] = [
    (
        "AV",
        "Attack vector",
        &[
            ("N", "Network"),
            ("A", "Adjacent"),
            ("L", "Local"),
            ("P", "Physical"),
        ],
    ),
    ("AC", "Attack complexity", &[("L", "Low"), ("H", "High")]),
    (
        "PR",
        "Privileges required",
        &[("N", "None"), ("L", "Low"), ("H", "High")],
    ),
    (
        "UI",
        "User interaction",
        &[("N", "None"), ("R", "Required")],
    ),
    ("S", "Scope", &[("U", "Unchanged"), ("C", "Changed")]),
    (
        "C",
        "Confidentiality",
        &[("N", "None"), ("L", "Low"), ("H", "High")],
    ),
    (
        "I",
        "Integrity",
        &[("N", "None"), ("L", "Low"), ("H", "High")],
    ),
    (
        "A",
        "Availability",
        &[("N", "None"), ("L", "Low"), ("H", "High")],
    ),
];

/// The vector the calculator's choices make (in vector order; empty when
/// nothing was chosen). Partial choices make a partial vector, which the
/// intake check refuses in words, so nothing chosen is lost.
fn calculated_vector(choices: &[(String, String)]) -> String {
    let parts: Vec<String> = CVSS31_BASE
        .iter()
        .filter_map(|(metric, _, values)| {
            let (_, v) = choices.iter().find(|(m, v)| m == metric && !v.is_empty())?;
            values
                .iter()
                .any(|(allowed, _)| allowed == v)
                .then(|| format!("{metric}:{v}"))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("CVSS:3.1/{}", parts.join("/"))
    }
}

/// Largest text field in bytes (the longest field allows 50,000 characters).
const MAX_TEXT_FIELD_BYTES: usize = 256 * 1024;

/// The outcome of reading one form field.
enum Read {
    Done(Vec<u8>),
    /// The field alone is over its limit (its bytes were discarded).
    FieldTooLarge,
    /// The whole submission is over the limit: stop reading.
    TotalTooLarge,
    /// The stream broke off.
    Broken,
}

/// Reads a field chunk by chunk, never holding more than `field_limit`
/// bytes, and counting every byte against the submission's `total`.
async fn read_field(
    field: &mut Field<'_>,
    field_limit: usize,
    total: &mut usize,
    total_limit: usize,
) -> Read {
    let mut data = Vec::new();
    let mut over = false;
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                *total += chunk.len();
                if *total > total_limit {
                    return Read::TotalTooLarge;
                }
                if !over {
                    if data.len() + chunk.len() > field_limit {
                        over = true;
                        data = Vec::new();
                    } else {
                        data.extend_from_slice(&chunk);
                    }
                }
            }
            Ok(None) => break,
            Err(_) => return Read::Broken,
        }
    }
    if over {
        Read::FieldTooLarge
    } else {
        Read::Done(data)
    }
}

/// Reads the report form. Never fails: problems are collected in `errors`
/// and whatever was read is kept; the last problem, if any, is a `csrf`
/// field that is not this browser's token (checked against `csrf`). The
/// route has no body limit of its own: the limits are enforced here, while
/// streaming, so that the text typed before an oversized file survives.
async fn read_report_form(mut multipart: Multipart, config: &WebConfig, csrf: &Csrf) -> ReportForm {
    let mut form = ReportForm::default();
    let mut token = String::new();
    let mut calculator: Vec<(String, String)> = Vec::new();
    let mb = |n: usize| n as f64 / (1024.0 * 1024.0);
    let too_large = format!(
        "the submission is too large (at most {:.1} MB in total); remove or shrink attachments",
        mb(config.max_body_bytes)
    );
    let mut total = 0usize;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                form.errors.push(FieldError::new(
                    "form",
                    format!("the form could not be read completely ({})", e.body_text()),
                ));
                break;
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        let is_file = name == "attachments";
        let filename = sanitize_filename(field.file_name().unwrap_or(""));
        let has_name = field.file_name().is_some_and(|n| !n.is_empty());
        let content_type = sanitize_content_type(field.content_type());
        let limit = if is_file {
            config.max_attachment_bytes
        } else {
            MAX_TEXT_FIELD_BYTES
        };
        match read_field(&mut field, limit, &mut total, config.max_body_bytes).await {
            Read::Done(data) if is_file => {
                if data.is_empty() && !has_name {
                    continue; // the empty file input of a form without files
                }
                if form.attachments.len() >= config.max_attachments {
                    form.errors.push(FieldError::new(
                        "attachments",
                        format!("at most {} files can be attached", config.max_attachments),
                    ));
                } else {
                    form.attachments.push(NewAttachment {
                        filename,
                        content_type,
                        data,
                    });
                }
            }
            Read::Done(bytes) => match String::from_utf8(bytes) {
                Ok(text) if name == "csrf" => token = text,
                Ok(text) if name.starts_with("cvss_") && name != "cvss_vector" => {
                    calculator.push((name[5..].to_owned(), text));
                }
                Ok(text) => {
                    set_text(&mut form.input, &name, text);
                }
                Err(e) => {
                    // Keep what can be kept and say which field was broken.
                    set_text(
                        &mut form.input,
                        &name,
                        String::from_utf8_lossy(e.as_bytes()).into_owned(),
                    );
                    form.errors
                        .push(FieldError::new(&name, "is not valid UTF-8 text"));
                }
            },
            Read::FieldTooLarge if is_file => form.errors.push(FieldError::new(
                "attachments",
                format!(
                    "{filename} is larger than {:.1} MB",
                    mb(config.max_attachment_bytes)
                ),
            )),
            Read::FieldTooLarge => form.errors.push(FieldError::new(&name, "is too long")),
            Read::TotalTooLarge => {
                form.errors.push(FieldError::new(
                    if is_file { "attachments" } else { "form" },
                    too_large.clone(),
                ));
                break;
            }
            Read::Broken => {
                form.errors.push(FieldError::new(
                    "form",
                    "the upload was cut off; please send the form again",
                ));
                break;
            }
        }
    }
    if form.input.cvss_vector.trim().is_empty() {
        form.input.cvss_vector = calculated_vector(&calculator);
    }
    if CsrfVerdict::of(csrf, &token) == CsrfVerdict::Invalid {
        form.errors.push(FieldError::new(
            "form",
            "this form expired or did not come from this site; check the fields and send it again",
        ));
    }
    form
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_calculator_makes_a_vector_in_order() {
        let pick = |pairs: &[(&str, &str)]| {
            calculated_vector(
                &pairs
                    .iter()
                    .map(|(m, v)| ((*m).to_owned(), (*v).to_owned()))
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            pick(&[
                ("A", "N"),
                ("AV", "N"),
                ("AC", "L"),
                ("PR", "N"),
                ("UI", "R"),
                ("S", "U"),
                ("C", "N"),
                ("I", "H")
            ]),
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N"
        );
        assert_eq!(pick(&[]), "");
        assert_eq!(pick(&[("AV", ""), ("AC", "")]), "");
        // Partial and unknown choices: what is valid is kept.
        assert_eq!(pick(&[("AV", "X"), ("AC", "H")]), "CVSS:3.1/AC:H");
    }

    #[test]
    fn filenames_are_sanitized() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\x\\poc.py"), "poc.py");
        assert_eq!(sanitize_filename("<script>.html"), "script.html");
        assert_eq!(sanitize_filename(".hidden"), "hidden");
        assert_eq!(sanitize_filename(""), "attachment");
    }

    #[test]
    fn content_types_are_sanitized() {
        assert_eq!(sanitize_content_type(Some("text/plain")), "text/plain");
        assert_eq!(
            sanitize_content_type(Some("text/html; charset=\"x\"")),
            "application/octet-stream"
        );
        assert_eq!(sanitize_content_type(None), "application/octet-stream");
    }
}
