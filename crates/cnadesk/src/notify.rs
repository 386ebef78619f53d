//! E-mail, XMPP and the CNA's OpenPGP key: from the configuration to a
//! running notifier, the inbound SMTP listener, and `cnadesk openpgp`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use cnadesk_app::notify::NotifyDesk;
use cnadesk_notify::mail::{Mailer, SmtpSecurity, SmtpSettings, Transport};
use cnadesk_notify::openpgp::SecretCert;
use cnadesk_notify::smtp_server::ListenerConfig;
use cnadesk_notify::xmpp::{XmppNotifier, XmppSettings};
use secrecy::ExposeSecret;

use crate::config::Config;

/// `cnadesk openpgp …`
#[derive(Debug, Args)]
pub struct OpenPgpArgs {
    #[command(subcommand)]
    command: OpenPgpCommand,
}

#[derive(Debug, Subcommand)]
enum OpenPgpCommand {
    /// Generate the CNA's key (Ed25519 signing, Curve25519 encryption) into a
    /// file readable only by its owner, and print the public key.
    Generate {
        /// The key's user id.
        #[arg(long, value_name = "\"NAME <ADDRESS>\"")]
        user_id: String,
        /// Where to write the secret key (refused if it exists).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// Runs `cnadesk openpgp`.
pub fn run(args: OpenPgpArgs) -> anyhow::Result<()> {
    match args.command {
        OpenPgpCommand::Generate { user_id, out } => {
            if out.exists() {
                bail!("{} exists; not overwriting a key", out.display());
            }
            let key = SecretCert::generate(&user_id).map_err(anyhow::Error::msg)?;
            crate::config::write_private(&out, &key.to_armored())?;
            let mut stdout = std::io::stdout().lock();
            use std::io::Write;
            writeln!(
                stdout,
                "secret key written to {} (fingerprint {})\nset [openpgp] key_file = {:?} and publish this public key:\n\n{}",
                out.display(),
                key.fingerprint(),
                out.display().to_string(),
                key.public().to_armored()
            )?;
            Ok(())
        }
    }
}

/// The CNA key from `[openpgp]`, if configured.
pub fn cna_key(config: &Config) -> anyhow::Result<Option<SecretCert>> {
    let Some(path) = &config.openpgp.key_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("invalid configuration: openpgp.key_file {}", path.display()))?;
    let passphrase = config
        .openpgp
        .passphrase
        .as_ref()
        .map(|p| p.expose_secret().to_owned());
    SecretCert::parse_armored(&text, passphrase.as_deref())
        .map(Some)
        .map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration: openpgp.key_file {}: {e}",
                path.display()
            )
        })
}

/// The mailer from `[mail]`, if configured.
pub fn mailer(config: &Config, key: Option<SecretCert>) -> anyhow::Result<Option<Mailer>> {
    let m = &config.mail;
    let Some(from) = &m.from else {
        return Ok(None);
    };
    let bad = |what: &str| anyhow::anyhow!("invalid configuration: mail.{what}");
    let transport = match m.transport.as_str() {
        "file" => Transport::File(
            m.dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join("mail")),
        ),
        "smtp" => {
            let host = m
                .host
                .clone()
                .ok_or_else(|| bad("host is required for the smtp transport"))?;
            Transport::Smtp(SmtpSettings {
                port: m.port.unwrap_or(match m.security {
                    SmtpSecurity::Tls => 465,
                    SmtpSecurity::Starttls => 587,
                    SmtpSecurity::None => 25,
                }),
                host,
                security: m.security,
                username: m.username.clone(),
                password: m.password.clone(),
                ca_file: m.ca_file.clone(),
            })
        }
        other => {
            return Err(bad(&format!(
                "transport {other:?}: expected \"smtp\" or \"file\""
            )))
        }
    };
    Mailer::new(from, &transport, key)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("invalid configuration: mail: {e}"))
}

/// The XMPP settings from `[xmpp]`, if configured.
pub fn xmpp_settings(config: &Config) -> anyhow::Result<Option<XmppSettings>> {
    let x = &config.xmpp;
    let Some(jid) = &x.jid else {
        return Ok(None);
    };
    let password = x.password.clone().ok_or_else(|| {
        anyhow::anyhow!("invalid configuration: xmpp.password is required with xmpp.jid")
    })?;
    Ok(Some(XmppSettings {
        jid: jid.clone(),
        password,
        server: x.server.clone(),
        tls: x.tls,
        room: x.room.clone(),
        nick: x.nick.clone(),
    }))
}

/// The inbound listener's settings, if `[mail] inbound_listen` is set.
pub fn listener(config: &Config) -> anyhow::Result<Option<(std::net::SocketAddr, ListenerConfig)>> {
    let Some(addr) = config.mail.inbound_listen else {
        return Ok(None);
    };
    let from = config.mail.from.as_deref().ok_or_else(|| {
        anyhow::anyhow!(
            "invalid configuration: mail.inbound_listen needs mail.from (the security address)"
        )
    })?;
    let address = from
        .rsplit_once('<')
        .map_or(from, |(_, a)| a.trim_end_matches('>'))
        .trim();
    let Some((local, domain)) = address.split_once('@') else {
        bail!("invalid configuration: mail.from {from:?} has no address");
    };
    Ok(Some((
        addr,
        ListenerConfig {
            hostname: domain.to_owned(),
            local_part: local.to_owned(),
            domain: domain.to_owned(),
            max_bytes: config.mail.inbound_max_bytes,
        },
    )))
}

/// Everything `serve` needs to reach people.
pub fn desk(config: &Config) -> anyhow::Result<NotifyDesk> {
    let key = cna_key(config)?;
    let mut desk = NotifyDesk::new().with_plaintext_details(config.mail.plaintext_details);
    if let Some(mailer) = mailer(config, key.clone())? {
        desk = desk.with_mail(mailer);
    }
    if let Some(settings) = xmpp_settings(config)? {
        let room = settings.room.clone();
        desk = desk.with_xmpp(XmppNotifier::spawn(settings), room);
    }
    if let Some(key) = key {
        desk = desk.with_key(key);
    }
    Ok(desk)
}
