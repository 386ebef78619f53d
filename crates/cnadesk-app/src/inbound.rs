//! Inbound mail: the SMTP listener hands received mail to [`DeskMailSink`],
//! which files it as a new report (through [`crate::intake`], like the form
//! and the API), as a reporter's reply, or keeps it in the quarantine.

use std::sync::Arc;

use async_trait::async_trait;
use cnadesk_core::ReportId;
use cnadesk_core::ReportInput;
use cnadesk_notify::inbound::{self, Classified, InboundMail};
use cnadesk_notify::openpgp::{self, PublicCert};
use cnadesk_notify::smtp_server::{Envelope, MailSink};
use cnadesk_store::{Channel, InboundFiling, NewAttachment, NewQuarantined, NewReport, StoreError};

use crate::notify::report_of_token;
use crate::App;

/// Files mail received by the SMTP listener.
pub struct DeskMailSink {
    app: App,
}

impl DeskMailSink {
    /// A sink filing into `app`.
    pub fn new(app: App) -> Arc<Self> {
        Arc::new(DeskMailSink { app })
    }
}

/// What became of a received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filed {
    /// A new report.
    Report(ReportId),
    /// A reply on a report.
    Reply(ReportId),
    /// Already filed (a redelivery).
    Duplicate(ReportId),
    /// Kept in the quarantine, with the reason.
    Quarantined(i64, String),
}

#[async_trait]
impl MailSink for DeskMailSink {
    async fn deliver(
        &self,
        envelope: Envelope,
        raw: Vec<u8>,
        oversize: bool,
    ) -> Result<(), String> {
        file_mail(&self.app, &envelope, raw, oversize)
            .await
            .map(|filed| tracing::info!(?filed, peer = %envelope.peer, "inbound mail"))
            .map_err(|e| e.to_string())
    }
}

/// Files one received message (or quarantines it). `Err` only when nothing
/// was stored, so the sender may try again.
pub async fn file_mail(
    app: &App,
    envelope: &Envelope,
    raw: Vec<u8>,
    oversize: bool,
) -> Result<Filed, StoreError> {
    let quarantine = |reason: String, raw: Vec<u8>| async move {
        let id = app
            .store
            .quarantine_mail(
                NewQuarantined {
                    reason: reason.clone(),
                    mail_from: envelope.mail_from.clone(),
                    rcpt_to: envelope.rcpt_to.join(", "),
                    raw,
                },
                app.now_ms(),
            )
            .await?;
        Ok(Filed::Quarantined(id, reason))
    };
    if oversize {
        return quarantine(format!("oversize ({} bytes)", raw.len()), raw).await;
    }
    let desk = &app.notify;
    // A reply's signature is checked against the reporter's key on file;
    // the report comes from the envelope, which is outside the encryption.
    let mut known = Vec::new();
    if let Some(report) =
        inbound::reply_token(&raw, &envelope.rcpt_to).and_then(|token| report_of_token(app, &token))
    {
        if let Some(key) = app
            .store
            .report(report)
            .await?
            .and_then(|r| r.fields.pgp_key)
        {
            known.extend(PublicCert::parse_armored(&key).ok());
        }
    }
    let known_refs: Vec<&PublicCert> = known.iter().collect();
    let decrypt = |data: &[u8]| match &desk.key {
        Some(key) => openpgp::decrypt_and_verify(data, key, &known_refs),
        None => Err("no key".to_owned()),
    };
    let classified = inbound::classify(
        &raw,
        &envelope.mail_from,
        &envelope.rcpt_to,
        desk.key
            .as_ref()
            .map(|_| &decrypt as inbound::Decryptor<'_>),
    );
    let mail = match classified {
        Err(reason) => return quarantine(reason, raw).await,
        Ok(Classified::Automatic { reason }) => return quarantine(reason, raw).await,
        Ok(Classified::Mail(mail)) => *mail,
    };
    if let Some(seen) = app.store.inbound_mail(&mail.message_id_hash).await? {
        return Ok(Filed::Duplicate(seen));
    }
    let filing = match &mail.reply_token {
        Some(token) => match report_of_token(app, token) {
            Some(report) => {
                let Some(stored) = app.store.report(report).await? else {
                    let why = format!("the reply names report {report}, which does not exist");
                    return quarantine(why, raw).await;
                };
                let note = reply_note(&mail, stored.fields.reporter_email.as_deref());
                InboundFiling::Reply {
                    report,
                    body: format!("{note}{}", nonempty(&mail.text)),
                    attachments: attachments(&mail),
                }
            }
            None => {
                let why = format!("the reply address carries an unknown token ({token})");
                return quarantine(why, raw).await;
            }
        },
        None => match new_report(app, &mail) {
            Ok(report) => InboundFiling::NewReport(Box::new(report)),
            Err(reason) => return quarantine(reason, raw).await,
        },
    };
    let is_reply = matches!(filing, InboundFiling::Reply { .. });
    let (report, new) = app
        .store
        .file_inbound_mail(&mail.message_id_hash, filing, app.now_ms())
        .await?;
    Ok(match (new, is_reply) {
        (false, _) => Filed::Duplicate(report),
        (true, true) => Filed::Reply(report),
        (true, false) => Filed::Report(report),
    })
}

fn nonempty(text: &str) -> &str {
    if text.trim().is_empty() {
        "(no text; see the attached files)"
    } else {
        text
    }
}

fn attachments(mail: &InboundMail) -> Vec<NewAttachment> {
    mail.attachments
        .iter()
        .map(|a| NewAttachment {
            filename: crate::text::sanitize_filename(&a.filename),
            content_type: a.content_type.clone(),
            data: a.data.clone(),
        })
        .collect()
}

/// The first line of a reply filed from e-mail: who sent it (flagged when
/// not the reporter's address on file) and how it was protected. It always
/// comes first, so a body imitating it cannot pass for it.
fn reply_note(mail: &InboundMail, reporter_email: Option<&str>) -> String {
    let sender = if reporter_email.is_some_and(|e| e.eq_ignore_ascii_case(&mail.from)) {
        format!("from {} (the reporter's address)", mail.from)
    } else {
        format!("from {}, NOT the reporter's address on file", mail.from)
    };
    let protection = match signature_note(mail) {
        n if n.is_empty() => "not encrypted".to_owned(),
        n => n,
    };
    format!("[By e-mail {sender}; {protection}.]\n\n")
}

/// How the mail was protected, for the team (empty when it was not).
fn signature_note(mail: &InboundMail) -> String {
    use openpgp::SignatureCheck;
    if !mail.encrypted {
        return String::new();
    }
    let verdict = match &mail.signature {
        Some(SignatureCheck::Valid { fingerprint }) => {
            format!("signature checked against the key on file ({fingerprint})")
        }
        Some(SignatureCheck::UnknownKey { issuer }) => {
            format!("signed by a key not on file ({issuer}), not checked")
        }
        Some(SignatureCheck::Invalid { reason }) => format!("BAD signature: {reason}"),
        Some(SignatureCheck::Unsigned) | None => "not signed".to_owned(),
    };
    format!("encrypted with OpenPGP, {verdict}")
}

fn new_report(app: &App, mail: &InboundMail) -> Result<NewReport, String> {
    let title: String = {
        let t = mail.subject.trim();
        let t = if t.is_empty() { "Report by e-mail" } else { t };
        t.chars().filter(|c| !c.is_control()).take(200).collect()
    };
    let mut description: String = mail
        .text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .collect();
    let mut files = attachments(mail);
    if description.chars().count() > 50_000 {
        files.push(NewAttachment {
            filename: "message.txt".into(),
            content_type: "text/plain".into(),
            data: description.clone().into_bytes(),
        });
        description = description.chars().take(49_000).collect::<String>()
            + "\n\n[Shortened; the whole text is attached as message.txt.]";
    }
    if description.trim().chars().count() < 20 {
        description = format!(
            "{}\n\n(The e-mail had little text; see its attached files.)",
            description.trim()
        );
    }
    let signature = match signature_note(mail) {
        n if n.is_empty() => String::new(),
        n => format!("[By e-mail from {}; {n}.]\n\n", mail.from),
    };
    let input = ReportInput {
        title,
        reporter_name: mail.from_name.clone().unwrap_or_default(),
        reporter_email: mail.from.clone(),
        product: "(not stated: reported by e-mail)".into(),
        description: format!("{signature}{description}"),
        ..Default::default()
    };
    match crate::intake::prepare(app, &input, files, Channel::Email) {
        Ok(prepared) => Ok(prepared.report),
        Err(errors) => {
            let why: Vec<String> = errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            Err(format!("cannot be filed as a report: {}", why.join("; ")))
        }
    }
}
