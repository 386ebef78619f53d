//! Outbound e-mail: building messages (plain text plus HTML, or PGP/MIME
//! encrypted and signed, RFC 3156) and sending them over SMTP (lettre) or
//! into a directory (the `file` transport, for local use).

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::{ContentDisposition, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

use crate::openpgp::{encrypt_and_sign, PublicCert, SecretCert};

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain (only for a server on loopback).
    None,
    /// STARTTLS, required (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Where to send mail.
#[derive(Clone)]
pub struct SmtpSettings {
    /// Server name.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Protection.
    pub security: SmtpSecurity,
    /// Account, if the server wants one.
    pub username: Option<String>,
    /// Its password.
    pub password: Option<SecretString>,
    /// An extra CA certificate (PEM) to trust, for a private server.
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// A transport.
#[derive(Clone, Debug)]
pub enum Transport {
    /// SMTP.
    Smtp(SmtpSettings),
    /// One `.eml` file per message in this directory.
    File(PathBuf),
}

/// One message to one recipient.
#[derive(Clone)]
pub struct Outgoing {
    /// Recipient address.
    pub to: String,
    /// The subject shown outside the encryption (no details).
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
    /// Where answers go (the security address with a reply token).
    pub reply_to: Option<String>,
    /// Message-ID, without angle brackets.
    pub message_id: String,
    /// Encrypt to this key (and sign with the CNA key).
    pub encrypt_to: Option<PublicCert>,
}

/// A send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth trying again (connection, 4xx).
    #[error("temporary: {0}")]
    Temporary(String),
    /// Will not get better (5xx, a bad address, a broken key).
    #[error("permanent: {0}")]
    Permanent(String),
}

enum Inner {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    File(AsyncFileTransport<Tokio1Executor>),
}

/// Sends mail from the CNA's address.
pub struct Mailer {
    inner: Inner,
    from: Mailbox,
    key: Option<SecretCert>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    /// A mailer sending as `from` (`"XSF CNA <security@xmpp.org>"`), signing
    /// encrypted mail with `key`.
    pub fn new(from: &str, transport: &Transport, key: Option<SecretCert>) -> Result<Self, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("the sender address {from:?} is not valid: {e}"))?;
        let inner = match transport {
            Transport::File(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                Inner::File(AsyncFileTransport::new(dir))
            }
            Transport::Smtp(s) => {
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
                    .port(s.port)
                    .timeout(Some(Duration::from_secs(30)));
                if s.security != SmtpSecurity::None {
                    let mut params = TlsParameters::builder(s.host.clone());
                    if let Some(ca) = &s.ca_file {
                        let pem = std::fs::read(ca)
                            .map_err(|e| format!("cannot read {}: {e}", ca.display()))?;
                        let cert = Certificate::from_pem(&pem).map_err(|e| {
                            format!("{} is not a PEM certificate: {e}", ca.display())
                        })?;
                        params = params.add_root_certificate(cert);
                    }
                    let params = params.build().map_err(|e| format!("TLS settings: {e}"))?;
                    builder = builder.tls(match s.security {
                        SmtpSecurity::Tls => Tls::Wrapper(params),
                        _ => Tls::Required(params),
                    });
                }
                match (&s.username, &s.password) {
                    (Some(user), Some(pass)) => {
                        builder = builder.credentials(Credentials::new(
                            user.clone(),
                            pass.expose_secret().to_owned(),
                        ));
                    }
                    (Some(_), None) | (None, Some(_)) => {
                        return Err("SMTP needs both a username and a password, or neither".into())
                    }
                    (None, None) => {}
                }
                Inner::Smtp(builder.build())
            }
        };
        Ok(Mailer { inner, from, key })
    }

    /// The CNA's address.
    pub fn from(&self) -> &Mailbox {
        &self.from
    }

    /// Builds and sends one message.
    pub async fn send(&self, mail: &Outgoing) -> Result<(), SendError> {
        let message = build(mail, &self.from, self.key.as_ref()).map_err(SendError::Permanent)?;
        match &self.inner {
            Inner::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Temporary(e.to_string())
                }
            }),
            Inner::File(t) => t
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Temporary(e.to_string())),
        }
    }
}

/// `Auto-Submitted: auto-generated` (RFC 3834), so responders do not answer.
fn auto_submitted() -> HeaderValue {
    HeaderValue::new(
        HeaderName::new_from_ascii_str("Auto-Submitted"),
        "auto-generated".to_owned(),
    )
}

/// Builds the message: multipart/alternative, or when a key is given, the
/// same entity encrypted to it and signed with the CNA key as PGP/MIME.
pub fn build(mail: &Outgoing, from: &Mailbox, key: Option<&SecretCert>) -> Result<Message, String> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| format!("the recipient address {:?} is not valid: {e}", mail.to))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}>", mail.message_id)))
        .raw_header(auto_submitted());
    if let Some(reply_to) = &mail.reply_to {
        let reply_to: Mailbox = reply_to
            .parse()
            .map_err(|e| format!("the reply address {reply_to:?} is not valid: {e}"))?;
        builder = builder.reply_to(reply_to);
    }
    let body = MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone());
    let message = match &mail.encrypt_to {
        None => builder.multipart(body),
        Some(recipient) => {
            let key = key.ok_or("encrypted mail needs the CNA's OpenPGP key to sign it")?;
            let armored = encrypt_and_sign(&body.formatted(), &[recipient], key)?;
            builder.multipart(
                MultiPart::encrypted("application/pgp-encrypted".to_owned())
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::parse("application/pgp-encrypted").expect("valid"))
                            .body("Version: 1\r\n".to_owned()),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(
                                ContentType::parse(
                                    "application/octet-stream; name=\"encrypted.asc\"",
                                )
                                .expect("valid"),
                            )
                            .header(ContentDisposition::inline_with_name("encrypted.asc"))
                            .body(armored),
                    ),
            )
        }
    };
    message.map_err(|e| format!("cannot build the message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outgoing() -> Outgoing {
        Outgoing {
            to: "Mallory <r@example.org>".into(),
            subject: "[XSF CNA] Report #1 received".into(),
            text: "Carbons spoofing details".into(),
            html: "<p>Carbons spoofing details</p>".into(),
            reply_to: Some("security+r1.abc@xsf.test".into()),
            message_id: "n1.abc@xsf.test".into(),
            encrypt_to: None,
        }
    }

    fn from() -> Mailbox {
        "XSF CNA <security@xsf.test>".parse().unwrap()
    }

    #[test]
    fn plain_mail_has_both_forms_and_the_headers() {
        let raw =
            String::from_utf8(build(&outgoing(), &from(), None).unwrap().formatted()).unwrap();
        assert!(raw.contains("Auto-Submitted: auto-generated"));
        assert!(raw.contains("Reply-To: security+r1.abc@xsf.test"));
        assert!(raw.contains("Message-ID: <n1.abc@xsf.test>"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/html"));
        assert!(raw.contains("Carbons spoofing details"));
    }

    #[test]
    fn encrypted_mail_hides_the_body_and_decrypts_to_it() {
        let cna = SecretCert::generate("XSF CNA <security@xsf.test>").unwrap();
        let reporter = SecretCert::generate("Mallory <r@example.org>").unwrap();
        let mut mail = outgoing();
        mail.encrypt_to = Some(reporter.public());
        let raw = build(&mail, &from(), Some(&cna)).unwrap().formatted();
        let text = String::from_utf8_lossy(&raw);
        assert!(text.contains("multipart/encrypted"));
        assert!(text.contains("protocol=\"application/pgp-encrypted\""));
        assert!(
            !text.contains("Carbons spoofing details"),
            "the body leaked: {text}"
        );
        let start = text.find("-----BEGIN PGP MESSAGE-----").unwrap();
        let end = text.find("-----END PGP MESSAGE-----").unwrap() + 25;
        let armored = text[start..end].replace("\r\n", "\n");
        let out =
            crate::openpgp::decrypt_and_verify(armored.as_bytes(), &reporter, &[&cna.public()])
                .unwrap();
        let inner = String::from_utf8(out.plaintext).unwrap();
        assert!(inner.contains("Carbons spoofing details"));
        assert!(inner.contains("multipart/alternative"));
        assert_eq!(
            out.signature,
            crate::openpgp::SignatureCheck::Valid {
                fingerprint: cna.fingerprint()
            }
        );
        // Without the CNA key nothing is sent unsigned.
        assert!(build(&mail, &from(), None).is_err());
    }

    #[test]
    fn bad_addresses_are_refused_with_the_address() {
        let mut mail = outgoing();
        mail.to = "not an address".into();
        let err = build(&mail, &from(), None).unwrap_err();
        assert!(err.contains("not an address"), "{err}");
    }

    #[test]
    fn the_password_never_reaches_debug_output() {
        let s = SmtpSettings {
            host: "mx".into(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: Some("bot".into()),
            password: Some(SecretString::from("hunter2")),
            ca_file: None,
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
