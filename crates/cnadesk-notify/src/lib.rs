//! Messages that reach people.
//!
//! - [`templates`]: every message cnadesk writes, as text, HTML and a chat line.
//! - [`mail`]: outbound e-mail over SMTP (lettre) or into files, PGP/MIME
//!   encrypted and signed when the recipient has a key.
//! - [`smtp_server`]: the inbound listener the CNA's mail server relays the
//!   security address to.
//! - [`inbound`]: reading received mail (MIME, OpenPGP, bounces, reply tokens).
//! - [`openpgp`]: keys, encryption, signatures (rPGP).
//! - [`xmpp`]: the bot that posts to the team's room and to members.
//!
//! Nothing here touches the database: the desk (`cnadesk-web`) decides what
//! to send and files what arrives.
#![warn(clippy::unwrap_used)]

pub mod inbound;
pub mod mail;
pub mod openpgp;
pub mod smtp_server;
pub mod templates;
pub mod xmpp;
