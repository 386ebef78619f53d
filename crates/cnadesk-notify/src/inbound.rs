//! Reading received mail: MIME parsing (attachments kept), OpenPGP
//! decryption, recognising bounces and auto-replies, and finding the reply
//! token in the address.

use mail_parser::{MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

use crate::openpgp::{Decrypted, SignatureCheck};

/// A file that came with a message.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundAttachment {
    /// Its name (sanitised by the desk when stored).
    pub filename: String,
    /// Its declared type.
    pub content_type: String,
    /// The bytes.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for InboundAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundAttachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("size", &self.data.len())
            .finish()
    }
}

/// A message a person wrote.
#[derive(Clone, PartialEq, Eq)]
pub struct InboundMail {
    /// Hex SHA-256 of the Message-ID (of the raw message when it has none).
    pub message_id_hash: String,
    /// The sender's address.
    pub from: String,
    /// The sender's name, if given.
    pub from_name: Option<String>,
    /// The subject.
    pub subject: String,
    /// The text (from the text part, or the HTML part stripped of tags).
    pub text: String,
    /// Attachments.
    pub attachments: Vec<InboundAttachment>,
    /// The `+token` of the recipient address, if any.
    pub reply_token: Option<String>,
    /// Whether it arrived encrypted to the CNA key.
    pub encrypted: bool,
    /// The OpenPGP signature found inside, if encrypted.
    pub signature: Option<SignatureCheck>,
}

impl std::fmt::Debug for InboundMail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundMail")
            .field("message_id_hash", &self.message_id_hash)
            .field("encrypted", &self.encrypted)
            .field("attachments", &self.attachments)
            .finish_non_exhaustive()
    }
}

/// What a received message is.
#[derive(Debug, PartialEq, Eq)]
pub enum Classified {
    /// A bounce or an automatic reply: never a report.
    Automatic {
        /// How it was recognised.
        reason: String,
    },
    /// Mail from a person.
    Mail(Box<InboundMail>),
}

/// Decrypts an OpenPGP message with the CNA key.
pub type Decryptor<'a> = &'a dyn Fn(&[u8]) -> Result<Decrypted, String>;

/// Reads a received message. `Err` is the reason to quarantine it.
pub fn classify(
    raw: &[u8],
    mail_from: &str,
    rcpt_to: &[String],
    decrypt: Option<Decryptor<'_>>,
) -> Result<Classified, String> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| "malformed: not a MIME message".to_owned())?;
    if message.headers().is_empty() {
        return Err("malformed: no headers".into());
    }
    if let Some(reason) = automatic(&message, mail_from) {
        return Ok(Classified::Automatic { reason });
    }
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .filter(|a| a.contains('@'))
        .ok_or_else(|| "malformed: no sender address in From".to_owned())?;
    let from_name = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.name())
        .map(str::to_owned);
    let message_id_hash = hex::encode(Sha256::digest(
        message.message_id().map(str::as_bytes).unwrap_or(raw),
    ));
    let reply_token = token_in(&message, rcpt_to);
    let subject = message.subject().unwrap_or("").trim().to_owned();

    // PGP/MIME (RFC 3156) or an inline armored message.
    let pgp_mime = message.attachments().find(|p| {
        p.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("application")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("octet-stream"))
        }) && p
            .contents()
            .windows(27)
            .any(|w| w == b"-----BEGIN PGP MESSAGE-----")
    });
    let is_encrypted_type = message.content_type().is_some_and(|ct| {
        ct.subtype()
            .is_some_and(|s| s.eq_ignore_ascii_case("encrypted"))
    });
    let body_text = body_of(&message);
    let armored_inline = body_text.contains("-----BEGIN PGP MESSAGE-----");
    if (is_encrypted_type && pgp_mime.is_some()) || armored_inline {
        let Some(decrypt) = decrypt else {
            return Err("encrypted, but the desk has no OpenPGP key to read it".into());
        };
        let ciphertext: Vec<u8> = match pgp_mime {
            Some(part) if is_encrypted_type => part.contents().to_vec(),
            _ => armored_block(&body_text).into_bytes(),
        };
        let decrypted = decrypt(&ciphertext).map_err(|e| format!("cannot decrypt: {e}"))?;
        let (text, attachments) = if is_encrypted_type {
            // The plaintext of PGP/MIME is itself a MIME entity.
            let inner = MessageParser::default()
                .parse(&decrypted.plaintext)
                .ok_or_else(|| "malformed: the decrypted part is not MIME".to_owned())?;
            (body_of(&inner), attachments_of(&inner))
        } else {
            (
                String::from_utf8_lossy(&decrypted.plaintext).into_owned(),
                attachments_of(&message),
            )
        };
        return Ok(Classified::Mail(Box::new(InboundMail {
            message_id_hash,
            from: from.to_owned(),
            from_name,
            subject,
            text: text.trim().to_owned(),
            attachments,
            reply_token,
            encrypted: true,
            signature: Some(decrypted.signature),
        })));
    }
    Ok(Classified::Mail(Box::new(InboundMail {
        message_id_hash,
        from: from.to_owned(),
        from_name,
        subject,
        text: body_text.trim().to_owned(),
        attachments: attachments_of(&message),
        reply_token,
        encrypted: false,
        signature: None,
    })))
}

/// The base of an address without its `+detail`, lower-cased.
fn base_of(address: &str) -> Option<String> {
    let (local, domain) = address.rsplit_once('@')?;
    let base = local.split_once('+').map_or(local, |(b, _)| b);
    Some(format!("{base}@{domain}").to_ascii_lowercase())
}

/// The reply token of a message: from an envelope recipient, else from a
/// To/Cc address of the same mailbox (another mailbox's `+detail` is not
/// ours).
fn token_in(message: &mail_parser::Message<'_>, rcpt_to: &[String]) -> Option<String> {
    if let Some(t) = rcpt_to.iter().find_map(|a| token_of(a)) {
        return Some(t);
    }
    let ours: Vec<String> = rcpt_to.iter().filter_map(|a| base_of(a)).collect();
    message
        .to()
        .into_iter()
        .chain(message.cc())
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .filter(|a| base_of(a).is_some_and(|b| ours.contains(&b)))
        .find_map(token_of)
}

/// The reply token of a raw message (as [`classify`] finds it), read from
/// its headers only: to know whose key to check a signature with before
/// decrypting.
pub fn reply_token(raw: &[u8], rcpt_to: &[String]) -> Option<String> {
    let message = MessageParser::default().parse_headers(raw)?;
    token_in(&message, rcpt_to)
}

/// The `+token` of an address (`security+TOKEN@domain`).
pub fn token_of(address: &str) -> Option<String> {
    let (local, _) = address.rsplit_once('@')?;
    let (_, token) = local.split_once('+')?;
    (!token.is_empty()).then(|| token.to_owned())
}

/// Recognises bounces (RFC 3464 reports, the null sender) and automatic
/// replies (RFC 3834 `Auto-Submitted`, and the headers common responders set).
fn automatic(message: &mail_parser::Message<'_>, mail_from: &str) -> Option<String> {
    if let Some(ct) = message.content_type() {
        if ct.ctype().eq_ignore_ascii_case("multipart")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        {
            let kind = ct.attribute("report-type").unwrap_or("report");
            return Some(format!("bounce (multipart/report; report-type={kind})"));
        }
    }
    if mail_from.trim().is_empty() {
        return Some("bounce (empty envelope sender)".into());
    }
    if let Some(v) = message.header_raw("Auto-Submitted") {
        if !v.trim().eq_ignore_ascii_case("no") {
            return Some(format!("automatic reply (Auto-Submitted: {})", v.trim()));
        }
    }
    for header in ["X-Autoreply", "X-Autorespond", "X-Auto-Response"] {
        if message.header_raw(header).is_some() {
            return Some(format!("automatic reply ({header})"));
        }
    }
    if let Some(p) = message.header_raw("Precedence") {
        let p = p.trim().to_ascii_lowercase();
        if matches!(p.as_str(), "auto_reply" | "bulk" | "junk") {
            return Some(format!("automatic reply (Precedence: {p})"));
        }
    }
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_ascii_lowercase();
    if from.starts_with("mailer-daemon@") || from.starts_with("postmaster@") {
        return Some(format!("bounce (from {from})"));
    }
    None
}

/// The text of a message: its text parts, or its HTML stripped of tags.
fn body_of(message: &mail_parser::Message<'_>) -> String {
    let texts: Vec<String> = (0..message.text_body_count())
        .filter_map(|i| message.body_text(i).map(|t| t.into_owned()))
        .collect();
    if !texts.is_empty() {
        return texts.join("\n\n");
    }
    message
        .body_html(0)
        .map(|h| strip_tags(&h))
        .unwrap_or_default()
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&")
}

fn attachments_of(message: &mail_parser::Message<'_>) -> Vec<InboundAttachment> {
    message
        .attachments()
        .filter(|p| !p.is_message() || p.attachment_name().is_some())
        .filter(|p| {
            // The control part of PGP/MIME is not a file.
            !p.content_type().is_some_and(|ct| {
                ct.subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("pgp-encrypted"))
            })
        })
        .enumerate()
        .map(|(i, p)| InboundAttachment {
            filename: p
                .attachment_name()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("attachment-{}", i + 1)),
            content_type: p
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(s) => format!("{}/{}", ct.ctype(), s),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_else(|| "application/octet-stream".into()),
            data: p.contents().to_vec(),
        })
        .collect()
}

/// The armored block inside a text.
fn armored_block(text: &str) -> String {
    let start = text.find("-----BEGIN PGP MESSAGE-----").unwrap_or(0);
    let end = text[start..]
        .find("-----END PGP MESSAGE-----")
        .map(|i| start + i + "-----END PGP MESSAGE-----".len())
        .unwrap_or(text.len());
    text[start..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(headers: &str, body: &str) -> Vec<u8> {
        format!("{headers}\r\n\r\n{body}").into_bytes()
    }

    fn person(raw: &[u8], rcpt: &str) -> InboundMail {
        match classify(raw, "r@example.org", &[rcpt.to_owned()], None).unwrap() {
            Classified::Mail(m) => *m,
            other => panic!("not a person's mail: {other:?}"),
        }
    }

    #[test]
    fn a_plain_mail_with_an_attachment_is_read() {
        let raw = mail(
            "From: Mallory <r@example.org>\r\nTo: security@xsf.test\r\nSubject: Carbons spoofing\r\n\
             Message-ID: <1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b",
            "--b\r\nContent-Type: text/plain\r\n\r\nThe client accepts forged carbons.\r\n--b\r\n\
             Content-Type: text/x-python; name=poc.py\r\nContent-Disposition: attachment; filename=poc.py\r\n\
             Content-Transfer-Encoding: base64\r\n\r\ncHJpbnQoMSk=\r\n--b--\r\n",
        );
        let m = person(&raw, "security@xsf.test");
        assert_eq!(m.from, "r@example.org");
        assert_eq!(m.from_name.as_deref(), Some("Mallory"));
        assert_eq!(m.subject, "Carbons spoofing");
        assert_eq!(m.text, "The client accepts forged carbons.");
        assert_eq!(m.attachments.len(), 1);
        assert_eq!(m.attachments[0].filename, "poc.py");
        assert_eq!(m.attachments[0].content_type, "text/x-python");
        assert_eq!(m.attachments[0].data, b"print(1)");
        assert_eq!(m.reply_token, None);
        assert_eq!(
            m.message_id_hash,
            hex::encode(Sha256::digest(b"1@example.org"))
        );
        assert!(!m.encrypted);
    }

    #[test]
    fn the_reply_token_comes_from_the_envelope_or_the_headers() {
        let raw = mail(
            "From: r@example.org\r\nTo: \"XSF\" <security+r12.abc@xsf.test>\r\nSubject: Re: x",
            "more",
        );
        assert_eq!(
            person(&raw, "security@xsf.test").reply_token.as_deref(),
            Some("r12.abc")
        );
        let raw = mail(
            "From: r@example.org\r\nTo: security@xsf.test\r\nSubject: x",
            "y",
        );
        assert_eq!(
            person(&raw, "security+r3.zz@xsf.test")
                .reply_token
                .as_deref(),
            Some("r3.zz")
        );
        assert_eq!(
            reply_token(&raw, &["security+r3.zz@xsf.test".into()]).as_deref(),
            Some("r3.zz")
        );
        // Someone else's plus-address in Cc is not a token of ours.
        let raw = mail(
            "From: r@example.org\r\nTo: security@xsf.test\r\nCc: me+sent@mail.example\r\nSubject: x",
            "y",
        );
        assert_eq!(person(&raw, "security@xsf.test").reply_token, None);
    }

    #[test]
    fn html_only_mail_is_read_as_text() {
        let raw = mail(
            "From: r@example.org\r\nSubject: x\r\nContent-Type: text/html",
            "<p>Hello &amp; <b>bye</b></p>",
        );
        assert_eq!(person(&raw, "security@xsf.test").text, "Hello & bye");
    }

    #[test]
    fn bounces_and_auto_replies_are_recognised() {
        let cases = [
            ("From: MAILER-DAEMON@mx.test\r\nSubject: Undelivered", "r@x", "bounce"),
            (
                "From: mx@mx.test\r\nSubject: failure\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b",
                "r@x",
                "delivery-status",
            ),
            ("From: r@example.org\r\nSubject: hi", "", "empty envelope"),
            ("From: r@example.org\r\nSubject: Out\r\nAuto-Submitted: auto-replied", "r@x", "Auto-Submitted"),
            ("From: r@example.org\r\nSubject: Out\r\nX-Autoreply: yes", "r@x", "X-Autoreply"),
            ("From: r@example.org\r\nSubject: Out\r\nPrecedence: bulk", "r@x", "Precedence"),
        ];
        for (headers, sender, expect) in cases {
            let raw = mail(headers, "--b--\r\n");
            match classify(&raw, sender, &[], None).unwrap() {
                Classified::Automatic { reason } => assert!(reason.contains(expect), "{reason}"),
                Classified::Mail(_) => panic!("{headers} taken for a person's mail"),
            }
        }
        let raw = mail(
            "From: r@example.org\r\nSubject: hi\r\nAuto-Submitted: no",
            "body",
        );
        assert!(matches!(
            classify(&raw, "r@x", &[], None).unwrap(),
            Classified::Mail(_)
        ));
    }

    #[test]
    fn malformed_and_undecryptable_mail_is_for_the_quarantine() {
        assert!(classify(b"", "r@x", &[], None)
            .unwrap_err()
            .contains("malformed"));
        let raw = mail("Subject: no sender", "x");
        assert!(classify(&raw, "r@x", &[], None)
            .unwrap_err()
            .contains("From"));
        let raw = mail(
            "From: r@example.org\r\nSubject: x",
            "-----BEGIN PGP MESSAGE-----\r\nabc\r\n-----END PGP MESSAGE-----\r\n",
        );
        assert!(classify(&raw, "r@x", &[], None)
            .unwrap_err()
            .contains("no OpenPGP key"));
        let fails = |_: &[u8]| -> Result<Decrypted, String> { Err("wrong key".into()) };
        let err = classify(&raw, "r@x", &[], Some(&fails)).unwrap_err();
        assert!(err.contains("cannot decrypt: wrong key"), "{err}");
    }
}
