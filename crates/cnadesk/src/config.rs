//! Configuration: defaults → TOML file (`--config`) → `CNADESK_*` environment
//! (`__` for nesting) → `CNADESK_*_FILE` secrets → command-line flags.
//! Unknown keys are rejected; secrets never appear in `Debug` output or logs.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The whole configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Directory for the SQLite database and the generated secret key.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; unset for SQLite in `data_dir`.
    pub database_url: Option<SecretString>,
    /// The URL people use to reach the desk (links in pages and e-mails).
    pub public_url: Option<String>,
    /// 64 hex characters; unset: generated once into `data_dir/secret.key`.
    pub secret_key: Option<SecretString>,
    /// The CNA's name on pages.
    pub cna_name: String,
    /// Logging.
    pub log: LogConfig,
    /// Sign-in and sessions.
    pub security: SecurityConfig,
    /// Team accounts: the second-factor policy, invitation links.
    pub accounts: AccountsConfig,
    /// Report intake limits.
    pub intake: IntakeConfig,
    /// CVE records.
    pub records: RecordsConfig,
    /// CVE Services (reserve, publish, reject).
    pub cve_services: CveServicesConfig,
    /// The scope policy.
    pub scope: ScopeConfig,
    /// The response-time commitments.
    pub sla: SlaConfig,
    /// E-mail out (SMTP or files) and in (the SMTP listener).
    pub mail: MailConfig,
    /// XMPP notifications.
    pub xmpp: XmppConfig,
    /// The CNA's OpenPGP key.
    pub openpgp: OpenPgpConfig,
    /// Coordinated disclosure: embargo consent, vendor reminders, invitations.
    pub coordination: CoordinationConfig,
    /// The public pages: security.txt, how fresh the advisory pages are.
    pub public: PublicConfig,
    /// What the desk does by itself as a case goes on.
    pub lifecycle: LifecycleConfig,
    /// Several `serve` processes on one database: leases of the periodic jobs.
    pub nodes: crate::jobs::NodesConfig,
}

/// What the desk does by itself as a case goes on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LifecycleConfig {
    /// Move cases as events happen (an ID reserved, a record published, an
    /// embargo lifted); off: members move every case by hand.
    pub follow_events: bool,
    /// Reserve one CVE ID for a case when its report is accepted (with CVE
    /// Services configured).
    pub reserve_on_accept: bool,
    /// Draft the first version of a case's record from the report once the
    /// case has an ID (a second member then reviews it).
    pub draft_record: bool,
}

impl Default for LifecycleConfig {
    fn default() -> Self {
        let d = cnadesk_app::lifecycle::LifecycleSettings::default();
        Self {
            follow_events: d.follow_events,
            reserve_on_accept: d.reserve_on_accept,
            draft_record: d.draft_record,
        }
    }
}

/// Team accounts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsConfig {
    /// Every member must enrol a TOTP second factor before using the desk
    /// (admins must anyway unless `security.require_totp_for_admins` is off too).
    pub require_totp: bool,
    /// Days an invitation link for a new member works.
    pub invitation_days: u32,
}

impl Default for AccountsConfig {
    fn default() -> Self {
        let d = cnadesk_app::accounts::AccountSettings::default();
        AccountsConfig {
            require_totp: d.require_totp,
            invitation_days: u32::try_from(d.invitation_ttl_ms / (24 * 3600 * 1000)).unwrap_or(7),
        }
    }
}

/// The public pages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublicConfig {
    /// `Contact:` URIs of `/.well-known/security.txt` (RFC 9116), e.g.
    /// `["mailto:security@xmpp.org"]`; empty: the security address of
    /// `[mail]` (if set) and the report form.
    pub contacts: Vec<String>,
    /// Days `security.txt` stays valid from the day it is served (RFC 9116
    /// advises less than a year).
    pub security_txt_days: u32,
    /// Milliseconds the public pages serve what they rendered before looking
    /// for changes again (0: look on every request).
    pub refresh_ms: u64,
}

impl Default for PublicConfig {
    fn default() -> Self {
        PublicConfig {
            contacts: Vec::new(),
            security_txt_days: 180,
            refresh_ms: 500,
        }
    }
}

/// Coordinated disclosure.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoordinationConfig {
    /// Changing an embargo date waits for the consent of every vendor who
    /// acknowledged the current date.
    pub embargo_change_needs_consent: bool,
    /// Days between reminders to vendors who have not answered.
    pub reminder_days: u32,
    /// Reminders at most.
    pub reminders_at_most: u32,
    /// Days an invitation link works.
    pub invitation_days: u32,
}

impl Default for CoordinationConfig {
    fn default() -> Self {
        CoordinationConfig {
            embargo_change_needs_consent: false,
            reminder_days: 3,
            reminders_at_most: 3,
            invitation_days: 14,
        }
    }
}

/// E-mail. Unset `from`: no e-mail is sent or received.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// The security address the desk sends from and receives at
    /// (`"XSF CNA <security@xmpp.org>"`); replies come back to `local+token@domain`.
    pub from: Option<String>,
    /// `smtp` or `file`.
    pub transport: String,
    /// For `file`: the directory for `.eml` files (default `data_dir/mail`).
    pub dir: Option<PathBuf>,
    /// SMTP server.
    pub host: Option<String>,
    /// SMTP port (default 587; 465 for `tls`; 25 for `none`).
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none` (loopback only).
    pub security: cnadesk_notify::mail::SmtpSecurity,
    /// SMTP account.
    pub username: Option<String>,
    /// Its password (`CNADESK_MAIL__PASSWORD` or `CNADESK_MAIL_PASSWORD_FILE`).
    pub password: Option<SecretString>,
    /// An extra CA certificate (PEM) for a private SMTP server.
    pub ca_file: Option<PathBuf>,
    /// Where the inbound SMTP listener listens (unset: no inbound mail).
    pub inbound_listen: Option<SocketAddr>,
    /// Inbound messages above this size go to the quarantine.
    pub inbound_max_bytes: usize,
    /// Put details of unpublished vulnerabilities in unencrypted mail.
    pub plaintext_details: bool,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: None,
            transport: "smtp".into(),
            dir: None,
            host: None,
            port: None,
            security: cnadesk_notify::mail::SmtpSecurity::Starttls,
            username: None,
            password: None,
            ca_file: None,
            inbound_listen: None,
            inbound_max_bytes: 25 * 1024 * 1024,
            plaintext_details: false,
        }
    }
}

/// XMPP. Unset `jid`: no XMPP messages.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct XmppConfig {
    /// The bot account (`cna-bot@xmpp.org`).
    pub jid: Option<String>,
    /// Its password (`CNADESK_XMPP__PASSWORD` or `CNADESK_XMPP_PASSWORD_FILE`).
    pub password: Option<SecretString>,
    /// `host:port` to connect to instead of looking the domain up.
    pub server: Option<String>,
    /// STARTTLS (on by default; off only for a server on loopback).
    pub tls: bool,
    /// The team's multi-user chat room (`security@conference.xmpp.org`).
    pub room: Option<String>,
    /// The bot's nickname in the room.
    pub nick: String,
}

impl Default for XmppConfig {
    fn default() -> Self {
        Self {
            jid: None,
            password: None,
            server: None,
            tls: true,
            room: None,
            nick: "cnadesk".into(),
        }
    }
}

/// The CNA's OpenPGP key (signs encrypted mail, decrypts inbound mail).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenPgpConfig {
    /// ASCII-armored secret key (`cnadesk keys generate` writes one).
    pub key_file: Option<PathBuf>,
    /// Its passphrase (`CNADESK_OPENPGP__PASSPHRASE` or `CNADESK_OPENPGP_PASSPHRASE_FILE`).
    pub passphrase: Option<SecretString>,
}

/// Which SLA policy applies.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaConfig {
    /// A policy file (TOML); unset: the shipped XSF commitments.
    pub policy: Option<PathBuf>,
}

/// Which scope policy applies.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScopeConfig {
    /// A policy file (TOML); unset: the shipped XSF policy.
    pub policy: Option<PathBuf>,
}

/// How to reach CVE Services. Unset altogether: the CVE pages explain how
/// to configure it (or use `serve --demo`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CveServicesConfig {
    /// `test` or `production` (the Program's two instances), or `custom`
    /// with `api_url`. Must be chosen explicitly.
    pub environment: Option<String>,
    /// The API base URL; overrides `environment` (`--api-url`, `CNADESK_CVE_API_URL`).
    pub api_url: Option<String>,
    /// `CVE-API-ORG`: the organization's short name (`CNADESK_CVE_API_ORG[_FILE]`).
    pub org: Option<String>,
    /// `CVE-API-USER`: the account's username (`CNADESK_CVE_API_USER[_FILE]`).
    pub user: Option<String>,
    /// `CVE-API-KEY`: the account's API key (`CNADESK_CVE_API_KEY[_FILE]`).
    pub api_key: Option<SecretString>,
    /// Seconds before a call counts as unanswered.
    pub timeout_seconds: u64,
    /// The CVE Program's enrichment check: publications ask CVE Services
    /// (`erlcheck=true`) to refuse a record without a CVSS metric and a CWE.
    pub erlcheck: bool,
}

impl Default for CveServicesConfig {
    fn default() -> Self {
        Self {
            environment: None,
            api_url: None,
            org: None,
            user: None,
            api_key: None,
            timeout_seconds: 30,
            erlcheck: false,
        }
    }
}

/// Resolved CVE Services settings.
#[derive(Debug)]
pub struct CveServicesSettings {
    /// Which instance.
    pub environment: cnadesk_cve_workflow::Environment,
    /// Base URL.
    pub api_url: String,
    /// The three credentials.
    pub credentials: cnadesk_cve_services::Credentials,
    /// Request timeout.
    pub timeout: std::time::Duration,
    /// Ask CVE Services for the enrichment check on publications.
    pub erlcheck: bool,
}

/// Short environment variables for CVE Services (`CNADESK_CVE_API_URL`…,
/// each also as `…_FILE`) and the setting each one sets.
const CVE_ENV: [(&str, &str); 4] = [
    ("CVE_API_URL", "api_url"),
    ("CVE_API_ORG", "org"),
    ("CVE_API_USER", "user"),
    ("CVE_API_KEY", "api_key"),
];

/// CVE record settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordsConfig {
    /// The CNA's organization UUID at the CVE Program.
    pub org_id: Option<String>,
    /// The CNA's short name.
    pub short_name: Option<String>,
    /// The CSAF publisher namespace (the CNA's web site).
    pub advisory_namespace: String,
    /// The CVE JSON schema version records are validated against.
    #[serde(deserialize_with = "version_text")]
    pub schema_version: Option<String>,
}

/// A version as text, also when an environment variable made it a number
/// (`CNADESK_RECORDS__SCHEMA_VERSION=5.2` arrives as the float 5.2).
fn version_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        String(String),
        Integer(i64),
        Float(f64),
    }
    Ok(Option::<Text>::deserialize(d)?.map(|t| match t {
        Text::String(s) => s,
        Text::Integer(i) => i.to_string(),
        Text::Float(f) => f.to_string(),
    }))
}

impl Default for RecordsConfig {
    fn default() -> Self {
        let d = cnadesk_app::RecordSettings::default();
        Self {
            org_id: d.org_id,
            short_name: d.short_name,
            advisory_namespace: d.advisory_namespace,
            schema_version: d.schema_version,
        }
    }
}

/// Logging settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `cnadesk_web=debug,info`.
    pub level: String,
    /// `pretty` or `json`.
    pub format: String,
}

/// Sign-in and session settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// Mark cookies `Secure`; unset: on when `public_url` is https.
    pub cookie_secure: Option<bool>,
    /// Admins must enrol TOTP before using the desk (whatever
    /// `accounts.require_totp` says).
    pub require_totp_for_admins: bool,
    /// Session lifetime in hours.
    pub session_hours: u64,
    /// Wrong passwords per account from one address per 15 minutes (per address:
    /// five times this many attempts; an account failing from many addresses
    /// slows each failing address down, never one that has not failed).
    pub login_attempts_per_15min: u32,
    /// Reverse proxies (addresses) whose `X-Forwarded-For` header names the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Intake limits.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    /// Reports accepted per address per hour (0: unlimited).
    pub reports_per_ip_per_hour: u32,
    /// Messages a reporter may send per hour, per report and per address
    /// (0: unlimited).
    pub replies_per_hour: u32,
    /// Largest attachment in bytes.
    pub max_attachment_bytes: usize,
    /// Most attachments per report.
    pub max_attachments: usize,
    /// Largest request body in bytes.
    pub max_body_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./cnadesk-data"),
            database_url: None,
            public_url: None,
            secret_key: None,
            cna_name: "XMPP Standards Foundation".into(),
            log: LogConfig::default(),
            security: SecurityConfig::default(),
            accounts: AccountsConfig::default(),
            intake: IntakeConfig::default(),
            records: RecordsConfig::default(),
            cve_services: CveServicesConfig::default(),
            scope: ScopeConfig::default(),
            sla: SlaConfig::default(),
            mail: MailConfig::default(),
            xmpp: XmppConfig::default(),
            openpgp: OpenPgpConfig::default(),
            coordination: CoordinationConfig::default(),
            public: PublicConfig::default(),
            lifecycle: LifecycleConfig::default(),
            nodes: crate::jobs::NodesConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: "pretty".into(),
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            cookie_secure: None,
            require_totp_for_admins: true,
            session_hours: 12,
            login_attempts_per_15min: 10,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for IntakeConfig {
    fn default() -> Self {
        let web = cnadesk_web::WebConfig::default();
        Self {
            reports_per_ip_per_hour: web.reports_per_ip_per_hour,
            replies_per_hour: web.replies_per_hour,
            max_attachment_bytes: web.max_attachment_bytes,
            max_attachments: web.max_attachments,
            max_body_bytes: web.max_body_bytes,
        }
    }
}

/// `8-4-4-4-12` hexadecimal digits.
fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Secrets that may come from a file named by `CNADESK_<NAME>_FILE`, and
/// the setting each one sets.
const FILE_SECRETS: [(&str, &str); 5] = [
    ("DATABASE_URL", "database_url"),
    ("SECRET_KEY", "secret_key"),
    ("MAIL_PASSWORD", "mail.password"),
    ("XMPP_PASSWORD", "xmpp.password"),
    ("OPENPGP_PASSPHRASE", "openpgp.passphrase"),
];

/// Values given on the command line (highest precedence).
#[derive(Debug, Default)]
pub struct Overrides {
    /// `--bind`.
    pub bind: Option<SocketAddr>,
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--api-url` (CVE Services).
    pub api_url: Option<String>,
}

impl Config {
    /// Loads the configuration from every source.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        Self::load_from(file, overrides, std::env::vars())
    }

    /// [`Self::load`] with an explicit environment (for tests).
    pub fn load_from(
        file: Option<&Path>,
        overrides: &Overrides,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Config> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.exists() {
                bail!("the configuration file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        // Variables for the test suite and CI share the prefix but are not settings.
        let reserved = |key: &str| {
            let k = key.to_ascii_lowercase();
            k.starts_with("test_")
                || k.starts_with("ci_")
                || k.ends_with("_file")
                || CVE_ENV
                    .iter()
                    .any(|(name, _)| name.eq_ignore_ascii_case(key))
        };
        // figment's Env reads the process environment; feed ours explicitly.
        figment = figment.merge(env_figment(&env, &reserved));
        for (name, setting) in FILE_SECRETS {
            let var = format!("CNADESK_{name}_FILE");
            if let Some((_, path)) = env.iter().find(|(k, _)| *k == var) {
                let value = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read {var}={path}"))?;
                figment = figment.merge(Serialized::default(setting, value.trim().to_owned()));
            }
        }
        for (name, setting) in CVE_ENV {
            let path = format!("cve_services.{setting}");
            let var = format!("CNADESK_{name}");
            if let Some((_, value)) = env.iter().find(|(k, _)| *k == var) {
                figment = figment.merge(Serialized::default(&path, value.trim().to_owned()));
            }
            let file_var = format!("{var}_FILE");
            if let Some((_, file)) = env.iter().find(|(k, _)| *k == file_var) {
                let value = std::fs::read_to_string(file)
                    .with_context(|| format!("cannot read {file_var}={file}"))?;
                figment = figment.merge(Serialized::default(&path, value.trim().to_owned()));
            }
        }
        if let Some(url) = &overrides.api_url {
            figment = figment.merge(Serialized::default("cve_services.api_url", url.clone()));
        }
        if let Some(bind) = overrides.bind {
            figment = figment.merge(Serialized::default("bind", bind.to_string()));
        }
        if let Some(dir) = &overrides.data_dir {
            figment = figment.merge(Serialized::default("data_dir", dir.display().to_string()));
        }
        if let Some(url) = &overrides.database_url {
            figment = figment.merge(Serialized::default("database_url", url.clone()));
        }
        let config: Config = figment.extract().map_err(|e| {
            let msgs: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
            anyhow::anyhow!("invalid configuration:\n  - {}", msgs.join("\n  - "))
        })?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        if !["pretty", "json"].contains(&self.log.format.as_str()) {
            bail!(
                "invalid configuration: log.format must be `pretty` or `json`, not `{}`",
                self.log.format
            );
        }
        if self.public.security_txt_days == 0 || self.public.security_txt_days > 366 {
            anyhow::bail!(
                "invalid configuration: public.security_txt_days must be between 1 and 366 (RFC 9116: less than a year)"
            );
        }
        if let Some(bad) = self.public.contacts.iter().find(|c| {
            !(c.starts_with("mailto:") || c.starts_with("https://") || c.starts_with("tel:"))
        }) {
            anyhow::bail!(
                "invalid configuration: public.contacts: {bad:?} is not a mailto:, https: or tel: URI (RFC 9116)"
            );
        }
        if self.coordination.reminder_days == 0 || self.coordination.invitation_days == 0 {
            bail!(
                "invalid configuration: coordination.reminder_days and coordination.invitation_days must be at least 1"
            );
        }
        if self.accounts.invitation_days == 0 {
            bail!("invalid configuration: accounts.invitation_days must be at least 1");
        }
        if let Some(url) = &self.public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("invalid configuration: public_url must start with http:// or https://");
            }
        }
        if let Some(key) = &self.secret_key {
            cnadesk_app::ServerKey::from_hex(key.expose_secret())
                .map_err(|e| anyhow::anyhow!("invalid configuration: secret_key: {e}"))?;
        }
        if let Some(url) = &self.database_url {
            cnadesk_store_sql::Backend::from_url(url.expose_secret())
                .map_err(|e| anyhow::anyhow!("invalid configuration: database_url: {e}"))?;
        }
        if let Some(id) = &self.records.org_id {
            if !is_uuid(id) {
                bail!("invalid configuration: records.org_id must be a UUID (8-4-4-4-12 hex digits), not `{id}`");
            }
        }
        if let Some(v) = &self.records.schema_version {
            let known: Vec<String> = cnadesk_cve::schema::available_versions()
                .into_iter()
                .map(|(v, _)| v)
                .collect();
            if !known.contains(v) {
                bail!(
                    "invalid configuration: records.schema_version `{v}` is not shipped (available: {})",
                    known.join(", ")
                );
            }
        }
        if !self.records.advisory_namespace.starts_with("https://") {
            bail!("invalid configuration: records.advisory_namespace must be an https:// URL");
        }
        self.cve_services()?;
        self.scope_policy()?;
        self.sla_policy()?;
        self.nodes.check()?;
        if !(1..=24 * 365).contains(&self.security.session_hours) {
            bail!("invalid configuration: security.session_hours must be between 1 and 8760");
        }
        Ok(())
    }

    /// The scope policy in force and its text: the configured file, or the shipped one.
    pub fn scope_policy_document(&self) -> anyhow::Result<(cnadesk_scope::Policy, String)> {
        match &self.scope.policy {
            None => Ok((
                cnadesk_scope::Policy::default_xsf(),
                cnadesk_scope::DEFAULT_POLICY.to_owned(),
            )),
            Some(path) => {
                let bad = |e: &dyn std::fmt::Display| {
                    anyhow::anyhow!(
                        "invalid configuration: scope.policy {}: {e}",
                        path.display()
                    )
                };
                let text = std::fs::read_to_string(path).map_err(|e| bad(&e))?;
                let policy = cnadesk_scope::Policy::parse(&text).map_err(|e| bad(&e))?;
                Ok((policy, text))
            }
        }
    }

    /// The SLA policy in force: the configured file, or the shipped one.
    pub fn sla_policy(&self) -> anyhow::Result<cnadesk_core::sla_policy::SlaPolicy> {
        match &self.sla.policy {
            None => Ok(cnadesk_core::sla_policy::SlaPolicy::bundled()),
            Some(path) => {
                let bad = |e: &dyn std::fmt::Display| {
                    anyhow::anyhow!("invalid configuration: sla.policy {}: {e}", path.display())
                };
                let text = std::fs::read_to_string(path).map_err(|e| bad(&e))?;
                cnadesk_core::sla_policy::SlaPolicy::parse(&text).map_err(|e| bad(&e))
            }
        }
    }

    /// The scope policy in force.
    pub fn scope_policy(&self) -> anyhow::Result<cnadesk_scope::Policy> {
        Ok(self.scope_policy_document()?.0)
    }

    /// The CVE Services settings, `None` when none is configured.
    pub fn cve_services(&self) -> anyhow::Result<Option<CveServicesSettings>> {
        use cnadesk_cve_workflow::Environment;
        let c = &self.cve_services;
        if c.environment.is_none()
            && c.api_url.is_none()
            && c.org.is_none()
            && c.user.is_none()
            && c.api_key.is_none()
        {
            return Ok(None);
        }
        let mut missing = Vec::new();
        if c.org.as_deref().unwrap_or("").trim().is_empty() {
            missing.push("cve_services.org (CNADESK_CVE_API_ORG)");
        }
        if c.user.as_deref().unwrap_or("").trim().is_empty() {
            missing.push("cve_services.user (CNADESK_CVE_API_USER)");
        }
        if c.api_key
            .as_ref()
            .is_none_or(|k| k.expose_secret().trim().is_empty())
        {
            missing.push("cve_services.api_key (CNADESK_CVE_API_KEY or CNADESK_CVE_API_KEY_FILE)");
        }
        if !missing.is_empty() {
            bail!(
                "invalid configuration: CVE Services needs {}",
                missing.join(", ")
            );
        }
        let (environment, api_url) = match (c.environment.as_deref(), c.api_url.as_deref()) {
            (_, Some(url)) => {
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    bail!("invalid configuration: cve_services.api_url must be an http(s) URL, not `{url}`");
                }
                let url = url.trim_end_matches('/');
                let env = match url {
                    Environment::PRODUCTION_URL => Environment::Production,
                    Environment::TEST_URL => Environment::Test,
                    _ => Environment::Custom,
                };
                (env, url.to_owned())
            }
            (Some("test"), None) => (Environment::Test, Environment::TEST_URL.to_owned()),
            (Some("production"), None) => {
                (Environment::Production, Environment::PRODUCTION_URL.to_owned())
            }
            (Some("custom"), None) => {
                bail!("invalid configuration: cve_services.environment = \"custom\" needs cve_services.api_url")
            }
            (Some(other), None) => bail!(
                "invalid configuration: cve_services.environment must be `test`, `production` or `custom`, not `{other}`"
            ),
            (None, None) => bail!(
                "invalid configuration: choose cve_services.environment = \"test\" or \"production\" (or set api_url)"
            ),
        };
        if !(1..=600).contains(&c.timeout_seconds) {
            bail!("invalid configuration: cve_services.timeout_seconds must be between 1 and 600");
        }
        Ok(Some(CveServicesSettings {
            environment,
            api_url,
            credentials: cnadesk_cve_services::Credentials {
                org: c.org.clone().unwrap_or_default().trim().to_owned(),
                user: c.user.clone().unwrap_or_default().trim().to_owned(),
                key: c.api_key.clone().unwrap_or_else(|| SecretString::from("")),
            },
            timeout: std::time::Duration::from_secs(c.timeout_seconds),
            erlcheck: c.erlcheck,
        }))
    }

    /// The database URL: the configured one, or SQLite inside `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose_secret().to_owned(),
            None => cnadesk_store_sql::sqlite_url_in(&self.data_dir),
        }
    }

    /// What the use cases read.
    pub fn settings(&self, public_url: String) -> cnadesk_app::Settings {
        cnadesk_app::Settings {
            public_url,
            cna_name: self.cna_name.clone(),
            records: cnadesk_app::RecordSettings {
                org_id: self.records.org_id.clone(),
                short_name: self.records.short_name.clone(),
                advisory_namespace: self.records.advisory_namespace.clone(),
                schema_version: self.records.schema_version.clone(),
            },
            coordination: cnadesk_app::coordination::CoordinationSettings {
                embargo_change_needs_consent: self.coordination.embargo_change_needs_consent,
                reminders: cnadesk_core::coordination::ReminderSchedule {
                    every_ms: i64::from(self.coordination.reminder_days) * 24 * 3600 * 1000,
                    at_most: i64::from(self.coordination.reminders_at_most),
                },
                invitation_ttl_ms: i64::from(self.coordination.invitation_days) * 24 * 3600 * 1000,
            },
            public: cnadesk_app::advisories::PublicSettings {
                contacts: self.public.contacts.clone(),
                security_txt_days: i64::from(self.public.security_txt_days),
                refresh: std::time::Duration::from_millis(self.public.refresh_ms),
            },
            lifecycle: cnadesk_app::lifecycle::LifecycleSettings {
                follow_events: self.lifecycle.follow_events,
                reserve_on_accept: self.lifecycle.reserve_on_accept,
                draft_record: self.lifecycle.draft_record,
            },
            accounts: cnadesk_app::accounts::AccountSettings {
                require_totp: self.accounts.require_totp,
                require_totp_for_admins: self.security.require_totp_for_admins,
                invitation_ttl_ms: i64::from(self.accounts.invitation_days) * 24 * 3600 * 1000,
            },
        }
    }

    /// The web layer's settings.
    pub fn web(&self, public_url: String) -> cnadesk_web::WebConfig {
        cnadesk_web::WebConfig {
            cookie_secure: self
                .security
                .cookie_secure
                .unwrap_or_else(|| public_url.starts_with("https://")),
            settings: self.settings(public_url),
            session_ttl: std::time::Duration::from_secs(self.security.session_hours * 3600),
            login_attempts_per_15min: self.security.login_attempts_per_15min,
            reports_per_ip_per_hour: self.intake.reports_per_ip_per_hour,
            replies_per_hour: self.intake.replies_per_hour,
            max_attachment_bytes: self.intake.max_attachment_bytes,
            max_attachments: self.intake.max_attachments,
            max_body_bytes: self.intake.max_body_bytes,
            trusted_proxies: self.security.trusted_proxies.clone(),
        }
    }

    /// Where the secret key is kept when it is not configured.
    pub fn key_path(&self) -> PathBuf {
        self.data_dir.join("secret.key")
    }

    /// The server key as configured or as found in `data_dir`, never
    /// created here (see [`Config::write_pending_key`]).
    pub fn existing_server_key(&self) -> anyhow::Result<Option<cnadesk_app::ServerKey>> {
        if let Some(key) = &self.secret_key {
            return Ok(Some(cnadesk_app::ServerKey::from_hex(key.expose_secret())?));
        }
        let path = self.key_path();
        match std::fs::read_to_string(&path) {
            Ok(hex) => cnadesk_app::ServerKey::from_hex(&hex)
                .map(Some)
                .with_context(|| format!("{} is not a valid key", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Where a new key waits until the database has recorded it.
    fn pending_key_path(&self) -> PathBuf {
        self.data_dir.join("secret.key.new")
    }

    /// A new key left in `secret.key.new` by a start that stopped before
    /// the database recorded it (`None` without one, or if it is unreadable).
    pub fn pending_server_key(&self) -> Option<cnadesk_app::ServerKey> {
        let hex = std::fs::read_to_string(self.pending_key_path()).ok()?;
        cnadesk_app::ServerKey::from_hex(&hex).ok()
    }

    /// Writes a new key to `secret.key.new` (owner-only, synced). It becomes
    /// the desk's `secret.key` only once the database recorded it
    /// ([`Config::adopt_pending_key`]), so a start that fails half-way never
    /// leaves a `secret.key` the database does not know.
    pub fn write_pending_key(&self) -> anyhow::Result<cnadesk_app::ServerKey> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create {}", self.data_dir.display()))?;
        let path = self.pending_key_path();
        // An unreadable leftover (a write cut short by a full disk).
        let _ = std::fs::remove_file(&path);
        let key = cnadesk_app::ServerKey::generate();
        write_private(&path, &key.to_hex())?;
        tracing::info!(path = %path.display(), "generated a new secret key");
        Ok(key)
    }

    /// Makes the pending key the desk's `secret.key`, never replacing an
    /// existing one: if another process put the same key there meanwhile,
    /// that is fine; a different one is an error.
    pub fn adopt_pending_key(&self, key: &cnadesk_app::ServerKey) -> anyhow::Result<()> {
        let (pending, path) = (self.pending_key_path(), self.key_path());
        match std::fs::hard_link(&pending, &path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let existing = self.existing_server_key()?;
                if existing.map(|k| k.fingerprint()) != Some(key.fingerprint()) {
                    bail!(
                        "{} appeared while the desk started, with another key",
                        path.display()
                    );
                }
            }
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", path.display()));
            }
        }
        sync_dir(&path)?;
        let _ = std::fs::remove_file(&pending);
        Ok(())
    }

    /// Removes a pending key that will not become the desk's.
    pub fn discard_pending_key(&self) {
        let _ = std::fs::remove_file(self.pending_key_path());
    }
}

/// Syncs the directory holding `path`, so a created or renamed entry
/// survives a crash.
fn sync_dir(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync {}", dir.display()))?;
    }
    Ok(())
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    // On disk before anything uses it; a write cut short (a full disk)
    // leaves no partial file behind.
    if let Err(e) = f.write_all(contents.as_bytes()).and_then(|()| f.sync_all()) {
        drop(f);
        let _ = std::fs::remove_file(path);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    sync_dir(path)
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot create {}", path.display()))
}

/// The `CNADESK_*` variables of `env` as a figment provider.
fn env_figment(env: &[(String, String)], reserved: &dyn Fn(&str) -> bool) -> Figment {
    let mut figment = Figment::new();
    for (key, value) in env {
        let Some(name) = key.strip_prefix("CNADESK_") else {
            continue;
        };
        if name.is_empty() || reserved(name) {
            continue;
        }
        let path = name.to_ascii_lowercase().replace("__", ".");
        // Parse the value like figment's Env does (numbers, booleans), but
        // keep it a string where that fails.
        let parsed: figment::value::Value = value
            .parse()
            .unwrap_or_else(|_| figment::value::Value::from(value.clone()));
        figment = figment.merge(Serialized::default(&path, parsed));
    }
    figment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Vec<(String, String)> {
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults() {
        let c = Config::load_from(None, &Overrides::default(), env(&[])).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./cnadesk-data"));
        assert!(c
            .database_url()
            .starts_with("sqlite://./cnadesk-data/cnadesk.sqlite3"));
        assert_eq!(c.public_url, None);
    }

    #[test]
    fn a_second_factor_is_required_unless_turned_off_explicitly() {
        let load =
            |vars: &[(&str, &str)]| Config::load_from(None, &Overrides::default(), env(vars));
        let accounts = load(&[]).unwrap().settings(String::new()).accounts;
        assert!(accounts.require_totp && accounts.require_totp_for_admins);
        assert_eq!(accounts.invitation_ttl_ms, 7 * 24 * 3600 * 1000);
        let relaxed = load(&[
            ("CNADESK_ACCOUNTS__REQUIRE_TOTP", "false"),
            ("CNADESK_ACCOUNTS__INVITATION_DAYS", "2"),
        ])
        .unwrap()
        .settings(String::new())
        .accounts;
        assert!(!relaxed.require_totp && relaxed.require_totp_for_admins);
        assert_eq!(relaxed.invitation_ttl_ms, 2 * 24 * 3600 * 1000);
        let err = load(&[("CNADESK_ACCOUNTS__INVITATION_DAYS", "0")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("accounts.invitation_days"), "{err}");
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:9000\"\ncna_name = \"From file\"\n[security]\nsession_hours = 3\n",
        )
        .unwrap();
        let secret = dir.path().join("db");
        std::fs::write(&secret, "postgres://u:pw@localhost/db\n").unwrap();
        let c = Config::load_from(
            Some(&file),
            &Overrides {
                data_dir: Some("/tmp/flag".into()),
                ..Default::default()
            },
            env(&[
                ("CNADESK_CNA_NAME", "From env"),
                ("CNADESK_SECURITY__SESSION_HOURS", "5"),
                ("CNADESK_DATABASE_URL_FILE", secret.to_str().unwrap()),
                ("CNADESK_TEST_POSTGRES_URL", "ignored"),
                ("CNADESK_DATA_DIR", "/tmp/env"),
            ]),
        )
        .unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:9000", "file over default");
        assert_eq!(c.cna_name, "From env", "env over file");
        assert_eq!(c.security.session_hours, 5, "nested env with __");
        assert_eq!(
            c.database_url(),
            "postgres://u:pw@localhost/db",
            "secret from _FILE"
        );
        assert_eq!(c.data_dir, PathBuf::from("/tmp/flag"), "flag over env");
    }

    #[test]
    fn record_settings_are_checked() {
        let load =
            |vars: &[(&str, &str)]| Config::load_from(None, &Overrides::default(), env(vars));
        let c = load(&[
            (
                "CNADESK_RECORDS__ORG_ID",
                "1b7a5b45-2b4c-4ba4-9b48-1c2c1e4a3c2d",
            ),
            ("CNADESK_RECORDS__SCHEMA_VERSION", "5.1.0"),
        ])
        .unwrap();
        let web = c.settings("http://127.0.0.1:8080".into());
        assert_eq!(
            web.records.provider().org_id,
            "1b7a5b45-2b4c-4ba4-9b48-1c2c1e4a3c2d"
        );
        assert_eq!(web.records.schema_version.as_deref(), Some("5.1.0"));
        assert_eq!(
            Config::load_from(None, &Overrides::default(), env(&[]))
                .unwrap()
                .settings("http://x".into())
                .records
                .provider()
                .org_id,
            cnadesk_app::PLACEHOLDER_ORG_ID
        );
        let err = load(&[("CNADESK_RECORDS__ORG_ID", "xsf")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("records.org_id must be a UUID"), "{err}");
        let err = load(&[("CNADESK_RECORDS__SCHEMA_VERSION", "9.9")])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("not shipped (available: 5.2.0, 5.1.1"),
            "{err}"
        );
        let err = load(&[("CNADESK_RECORDS__ADVISORY_NAMESPACE", "http://xmpp.org")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("advisory_namespace"), "{err}");
    }

    #[test]
    fn the_enrichment_check_is_off_unless_configured() {
        let creds = [
            ("CNADESK_CVE_API_ORG", "xsf"),
            ("CNADESK_CVE_API_USER", "bot@xmpp.org"),
            ("CNADESK_CVE_API_KEY", "k-e-y"),
        ];
        let settings = |file: Option<&std::path::Path>, vars: &[(&str, &str)]| {
            Config::load_from(file, &Overrides::default(), env(vars))
                .unwrap()
                .cve_services()
                .unwrap()
                .unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[cve_services]\nenvironment = \"test\"\n").unwrap();
        assert!(!settings(Some(&file), &creds).erlcheck);
        std::fs::write(
            &file,
            "[cve_services]\nenvironment = \"test\"\nerlcheck = true\n",
        )
        .unwrap();
        assert!(settings(Some(&file), &creds).erlcheck);
        // Also from the environment, over the file.
        let mut vars = creds.to_vec();
        vars.push(("CNADESK_CVE_SERVICES__ERLCHECK", "false"));
        assert!(!settings(Some(&file), &vars).erlcheck);
        // A value that is not a boolean is refused with the key's name.
        std::fs::write(
            &file,
            "[cve_services]\nenvironment = \"test\"\nerlcheck = \"sometimes\"\n",
        )
        .unwrap();
        let err = Config::load_from(Some(&file), &Overrides::default(), env(&creds))
            .unwrap_err()
            .to_string();
        assert!(err.contains("erlcheck"), "{err}");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[security]\nrequire_totp = true\n").unwrap();
        let err = Config::load_from(Some(&file), &Overrides::default(), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unknown field") && err.contains("require_totp"),
            "{err}"
        );
        let err = Config::load_from(
            None,
            &Overrides::default(),
            env(&[("CNADESK_BIND_ADDR", "x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("bind_addr"), "{err}");
    }

    #[test]
    fn secrets_are_redacted_from_debug() {
        let c = Config::load_from(
            None,
            &Overrides::default(),
            env(&[
                ("CNADESK_DATABASE_URL", "postgres://u:hunter2@db/x"),
                ("CNADESK_SECRET_KEY", &"ab".repeat(32)),
            ]),
        )
        .unwrap();
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(!debug.contains(&"ab".repeat(32)), "{debug}");
    }

    #[test]
    fn bad_values_are_explained() {
        let err = Config::load_from(
            None,
            &Overrides::default(),
            env(&[("CNADESK_SECRET_KEY", "short")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("secret_key"), "{err}");
        let err = Config::load_from(
            None,
            &Overrides::default(),
            env(&[("CNADESK_DATABASE_URL", "mysql://x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("database_url") && err.contains("unsupported"),
            "{err}"
        );
        let err = Config::load_from(
            None,
            &Overrides::default(),
            env(&[("CNADESK_BIND", "nope")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("bind"), "{err}");
    }

    #[test]
    fn cve_services_are_explicit_and_layered() {
        use cnadesk_cve_workflow::Environment;
        // Nothing set: not configured.
        let c = Config::load_from(None, &Overrides::default(), env(&[])).unwrap();
        assert!(c.cve_services().unwrap().is_none());
        // Credentials without an environment: refused, the choice is explicit.
        let creds = [
            ("CNADESK_CVE_API_ORG", "xsf"),
            ("CNADESK_CVE_API_USER", "bot@xmpp.org"),
            ("CNADESK_CVE_API_KEY", "k-e-y-secret"),
        ];
        let err = Config::load_from(None, &Overrides::default(), env(&creds))
            .unwrap_err()
            .to_string();
        assert!(err.contains("cve_services.environment"), "{err}");
        let mut vars = creds.to_vec();
        vars.push(("CNADESK_CVE_SERVICES__ENVIRONMENT", "test"));
        let c = Config::load_from(None, &Overrides::default(), env(&vars)).unwrap();
        let s = c.cve_services().unwrap().unwrap();
        assert_eq!(s.environment, Environment::Test);
        assert_eq!(s.api_url, Environment::TEST_URL);
        assert_eq!(s.credentials.org, "xsf");
        assert!(
            !format!("{c:?}").contains("k-e-y-secret"),
            "the key stays out of Debug"
        );
        // The URL from the environment, then from the command line.
        vars.push(("CNADESK_CVE_API_URL", "https://cveawg.mitre.org/api/"));
        let c = Config::load_from(None, &Overrides::default(), env(&vars)).unwrap();
        let s = c.cve_services().unwrap().unwrap();
        assert_eq!(s.environment, Environment::Production);
        assert_eq!(s.api_url, Environment::PRODUCTION_URL);
        let o = Overrides {
            api_url: Some("http://127.0.0.1:8090/api".into()),
            ..Overrides::default()
        };
        let s = Config::load_from(None, &o, env(&vars))
            .unwrap()
            .cve_services()
            .unwrap()
            .unwrap();
        assert_eq!(s.environment, Environment::Custom);
        assert_eq!(s.api_url, "http://127.0.0.1:8090/api");
        // The key from a file, trimmed.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "from-file-key\n").unwrap();
        let file = file.to_str().unwrap().to_owned();
        let vars = [
            ("CNADESK_CVE_API_ORG", "xsf"),
            ("CNADESK_CVE_API_USER", "bot"),
            ("CNADESK_CVE_API_KEY_FILE", file.as_str()),
            ("CNADESK_CVE_SERVICES__ENVIRONMENT", "test"),
        ];
        let s = Config::load_from(None, &Overrides::default(), env(&vars))
            .unwrap()
            .cve_services()
            .unwrap()
            .unwrap();
        assert_eq!(s.credentials.key.expose_secret(), "from-file-key");
        // A missing credential is named.
        let err = Config::load_from(
            None,
            &Overrides::default(),
            env(&[
                ("CNADESK_CVE_API_ORG", "xsf"),
                ("CNADESK_CVE_SERVICES__ENVIRONMENT", "test"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("cve_services.user") && err.contains("cve_services.api_key"),
            "{err}"
        );
    }
}
