//! Intake: one path for a report, whether it came by the form, the JSON API
//! or e-mail. The report is checked, given a tracking token (returned once,
//! stored only hashed) and stored with its acknowledgement queued in the
//! same transaction, so an acknowledged report is never lost.

use cnadesk_core::{FieldError, ReportInput};
use cnadesk_store::{Channel, NewAttachment, NewReport, Report, StoreError};

use crate::keys::{random_token, sha256_hex};
use crate::App;

/// Why intake refused a report.
#[derive(Debug)]
pub enum IntakeError {
    /// Field problems, in the words of the form.
    Invalid(Vec<FieldError>),
    /// The store failed (nothing was stored).
    Store(StoreError),
}

impl From<StoreError> for IntakeError {
    fn from(e: StoreError) -> Self {
        IntakeError::Store(e)
    }
}

/// A checked report ready to store, and the reporter's tracking token.
#[derive(Debug)]
pub struct Prepared {
    /// What the store is given.
    pub report: NewReport,
    /// The tracking token (shown to the reporter once).
    pub token: String,
}

/// Checks a report and prepares it for the store: fields, the reporter's
/// OpenPGP key (one that cannot encrypt would only fail later, silently
/// for the reporter), the tracking token and the acknowledgement.
pub fn prepare(
    app: &App,
    input: &ReportInput,
    attachments: Vec<NewAttachment>,
    channel: Channel,
) -> Result<Prepared, Vec<FieldError>> {
    let fields = input.validate()?;
    let mut facts = Vec::new();
    if let Some(cwe) = &fields.cwe {
        if cnadesk_cve::cwe::lookup(cwe).is_none() {
            facts.push(FieldError::new(
                "cwe",
                format!(
                    "is not in the CWE list {}: choose one from the list (or leave it empty)",
                    cnadesk_cve::cwe::VERSION
                ),
            ));
        }
    }
    if let Some(vector) = &fields.cvss_vector {
        if let Err(e) = cnadesk_cve::lint::score_vector(vector) {
            facts.push(FieldError::new(
                "cvss_vector",
                format!("does not score ({e}); pick every base metric, or leave it empty"),
            ));
        }
    }
    if !facts.is_empty() {
        return Err(facts);
    }
    if let Some(key) = &fields.pgp_key {
        let problem = match cnadesk_notify::openpgp::PublicCert::parse_armored(key) {
            Ok(cert) if cert.can_encrypt() => None,
            Ok(_) => Some("has no key that can encrypt (add an encryption subkey)".to_owned()),
            Err(e) => Some(e),
        };
        if let Some(message) = problem {
            return Err(vec![FieldError::new("pgp_key", message)]);
        }
    }
    let token = random_token();
    let outbox = crate::notify::acknowledgement(app, &fields, &token)
        .into_iter()
        .collect();
    Ok(Prepared {
        report: NewReport {
            fields,
            tracking_hash: sha256_hex(&token),
            channel,
            attachments,
            outbox,
        },
        token,
    })
}

/// Stores a prepared report (its acknowledgement in the same transaction).
pub async fn store(app: &App, prepared: Prepared) -> Result<(Report, String), StoreError> {
    let Prepared { report, token } = prepared;
    let channel = report.channel;
    let report = app.store.create_report(report, app.now_ms()).await?;
    tracing::info!(report = %report.id, channel = channel.as_str(), "report received");
    Ok((report, token))
}

/// Checks and stores a report; returns it with the tracking token.
pub async fn submit(
    app: &App,
    input: &ReportInput,
    attachments: Vec<NewAttachment>,
    channel: Channel,
) -> Result<(Report, String), IntakeError> {
    let prepared = prepare(app, input, attachments, channel).map_err(IntakeError::Invalid)?;
    Ok(store(app, prepared).await?)
}
