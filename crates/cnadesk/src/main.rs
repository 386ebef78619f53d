//! `cnadesk`: the one binary of the desk.
#![allow(clippy::print_stdout)]

mod backup;
mod config;
mod cve;
mod ecosystem;
mod forecast;
mod jobs;
mod notify;
mod record;
mod startup;
mod transparency;

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use cnadesk_core::{Actor, Clock, Role, SystemClock};
use cnadesk_store::prelude::*;
use cnadesk_store::NewUser;
use cnadesk_store_sql::{open, Backend, Migrate};

use crate::config::{Config, Overrides};

/// cnadesk: vulnerability intake, triage and coordination for a CVE Numbering Authority.
#[derive(Debug, Parser)]
#[command(name = "cnadesk", version, about, long_about = None)]
struct Cli {
    /// A TOML configuration file (see cnadesk.example.toml).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the desk (web pages and API).
    Serve(ServeArgs),
    /// Apply database migrations (required for PostgreSQL before `serve`).
    Migrate(DbArgs),
    /// Start a new desk explicitly: create (or take the configured) secret
    /// key, create the database, and record which key it belongs to.
    Init(DbArgs),
    /// Manage team accounts from the terminal.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Copy the SQLite database to a new file while the desk serves, and check the copy.
    ///
    /// The copy is consistent (`VACUUM INTO`), readable by its owner only and
    /// never overwrites a file; it is checked with `PRAGMA integrity_check` and
    /// the audit chain (with the content its events commit to). PostgreSQL:
    /// use pg_dump (see README.md). Exit 1 when the copy fails its checks, 2
    /// when refused.
    Backup(backup::BackupArgs),
    /// Check a backup and put it in place of the SQLite database (the desk stopped).
    ///
    /// The backup is checked (integrity, audit chain) before anything changes;
    /// restore refuses while a desk has the database open, replaces a database
    /// that holds data only with --force, and refuses a data directory whose
    /// secret key is not the backup's. Exit 1 when the backup fails its
    /// checks, 2 when refused.
    Restore(backup::RestoreArgs),
    /// Check the audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Load the configuration, report problems, and print it with secrets redacted.
    CheckConfig(DbArgs),
    /// Check CVE records: schema validation and the CNA rules.
    Record {
        #[command(subcommand)]
        command: record::RecordCommand,
    },
    /// CVE Services from the terminal: quota, reserve, list, show, publish, reject.
    Cve(cve::CveArgs),
    /// The scope policy: check a product, dry-run a new policy version, show the policy.
    Scope(ecosystem::ScopeArgs),
    /// The XMPP ecosystem registry: XEP implementations, products, sync.
    Ecosystem(ecosystem::EcosystemArgs),
    /// Capacity forecast: expected load per member and the probability of
    /// missing each response-time target, from a history of arrivals.
    Forecast(forecast::ForecastArgs),
    /// The CNA's OpenPGP key.
    Openpgp(notify::OpenPgpArgs),
    /// The public transparency log: verify a desk's log or a downloaded copy.
    Transparency(transparency::TransparencyArgs),
    /// Tools for development and demos.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DevCommand {
    /// Run a local double of the CVE Services API 2.8.1 (same routes, rules
    /// and error codes) and print the credentials it accepts: an
    /// organization admin, a user without the ADMIN role, and a user of a
    /// second CNA (to transfer IDs to).
    CveServices {
        /// Address to listen on (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:8090", value_name = "ADDR")]
        bind: SocketAddr,
        /// The CNA's short name.
        #[arg(long, default_value = "xsf", value_name = "NAME")]
        org: String,
        /// How many IDs the CNA may hold RESERVED at once.
        #[arg(long, default_value_t = 100, value_name = "N")]
        quota: i64,
        /// The username of the CNA's organization admin (ADMIN role).
        #[arg(long, default_value = "cna-admin@example.invalid", value_name = "USER")]
        user: String,
    },
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on [env: CNADESK_BIND] [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// CVE Services base URL [env: CNADESK_CVE_API_URL] [default: from cve_services.environment].
    #[arg(long, value_name = "URL")]
    api_url: Option<String>,
    /// Demo: talk to an in-memory CVE Services double started inside the
    /// desk instead of the real service (nothing reaches the CVE Program),
    /// with a separate database in DATA_DIR/demo that is reset at every start.
    #[arg(long)]
    demo: bool,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DbArgs {
    /// Directory of the SQLite database and the secret key [env: CNADESK_DATA_DIR] [default: ./cnadesk-data].
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Database URL, e.g. postgres://… [env: CNADESK_DATABASE_URL] [default: SQLite in the data directory].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create a team account. The password is read from standard input.
    CreateUser {
        /// Sign-in name (lowercase letters, digits, . _ -).
        #[arg(long)]
        username: String,
        /// Name shown to others [default: the username].
        #[arg(long)]
        display_name: Option<String>,
        /// Contact address.
        #[arg(long)]
        email: String,
        /// `admin` or `member`.
        #[arg(long, default_value = "member")]
        role: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// List team accounts.
    ListUsers(DbArgs),
    /// Turn off a member's second factor (TOTP) so they can enrol again,
    /// e.g. after a lost phone or a restored secret key. Audited.
    ResetTotp {
        /// The member's sign-in name.
        #[arg(value_name = "USER")]
        username: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Walk the hash chain; exit non-zero naming the first bad event.
    Verify(DbArgs),
}

impl DbArgs {
    pub(crate) fn overrides(&self) -> Overrides {
        Overrides {
            bind: None,
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            api_url: None,
        }
    }
}

pub(crate) fn init_tracing(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.log.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

pub(crate) async fn open_store(
    config: &Config,
    migrate: Migrate,
) -> anyhow::Result<cnadesk_store_sql::SqlStore> {
    let url = config.database_url();
    let backend = Backend::from_url(&url)?;
    let migrate = match backend {
        // SQLite is embedded: keep it up to date without a separate step.
        Backend::Sqlite => migrate,
        Backend::Postgres => Migrate::Require,
    };
    Ok(open(&url, migrate).await?)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let file = cli.config.as_deref();
    match cli.command {
        Command::Serve(args) => {
            let mut overrides = args.db.overrides();
            overrides.bind = args.bind;
            overrides.api_url = args.api_url;
            let mut config = Config::load(file, &overrides)?;
            init_tracing(&config);
            if args.demo {
                // The demo desk keeps its own SQLite database, reset at every
                // start like the CVE Services double it talks to: demo IDs and
                // jobs never mix with a real desk's data.
                let dir = config.data_dir.join("demo");
                if dir.exists() {
                    std::fs::remove_dir_all(&dir)
                        .with_context(|| format!("cannot reset {}", dir.display()))?;
                }
                if let Some(url) = config.database_url.take() {
                    println!("{}", demo_ignores_database(&url, &config.data_dir));
                }
                config.data_dir = dir;
                // Without mail configured, the demo desk's mail goes to
                // files (DATA_DIR/demo/mail), so every message can be read.
                if config.mail.from.is_none() {
                    config.mail.from = Some("Demo CNA <security@demo.invalid>".into());
                    config.mail.transport = "file".into();
                    config.mail.dir = None;
                }
            }
            serve(config, args.demo).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Init(db) => {
            let config = Config::load(file, &db.overrides())?;
            init_tracing(&config);
            let (store, key, _) = startup::open_desk(&config, startup::Intent::Init).await?;
            store.close().await;
            println!(
                "initialised a new desk: database {}, secret key {} (fingerprint {})",
                cnadesk_store_sql::redact_url(&config.database_url()),
                if config.secret_key.is_some() {
                    "configured".to_owned()
                } else {
                    config.key_path().display().to_string()
                },
                key.fingerprint()
            );
            println!(
                "keep a copy of the secret key with your backups: the desk cannot run without it"
            );
            println!("next: `cnadesk serve`, which prints the link that creates the first admin");
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate(db) => {
            let config = Config::load(file, &db.overrides())?;
            init_tracing(&config);
            let url = config.database_url();
            let applied = cnadesk_store_sql::migrate(&url).await?;
            if applied.is_empty() {
                println!(
                    "database is up to date ({})",
                    cnadesk_store_sql::redact_url(&url)
                );
            } else {
                println!(
                    "applied migrations {applied:?} to {}",
                    cnadesk_store_sql::redact_url(&url)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CheckConfig(db) => {
            let config = Config::load(file, &db.overrides())?;
            println!("configuration is valid");
            println!("{config:#?}");
            println!(
                "database: {}",
                cnadesk_store_sql::redact_url(&config.database_url())
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit {
            command: AuditCommand::Verify(db),
        } => {
            let config = Config::load(file, &db.overrides())?;
            init_tracing(&config);
            if config.database_url.is_none() {
                let path = config.data_dir.join("cnadesk.sqlite3");
                if !path.exists() {
                    bail!("no database at {}", path.display());
                }
            }
            let store = open_store(&config, Migrate::Require).await?;
            let result = cnadesk_store::verify_audit_chain(&store).await;
            store.close().await;
            match result {
                Ok(n) => {
                    println!("audit chain intact: {n} events verified");
                    Ok(ExitCode::SUCCESS)
                }
                Err(cnadesk_store::VerifyError::Broken(e)) => {
                    println!("audit chain BROKEN at event {}: {e}", e.seq());
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Backup(args) => backup::run_backup(file, args).await,
        Command::Restore(args) => backup::run_restore(file, args).await,
        Command::Admin { command } => admin(file, command).await,
        Command::Record { command } => record::run(command),
        Command::Cve(args) => cve::run(file, args).await,
        Command::Scope(args) => ecosystem::run_scope(file, args).await,
        Command::Ecosystem(args) => ecosystem::run_ecosystem(file, args).await,
        Command::Forecast(args) => forecast::run(file, args),
        Command::Openpgp(args) => notify::run(args).map(|()| ExitCode::SUCCESS),
        Command::Transparency(args) => transparency::run(args).await,
        Command::Dev {
            command:
                DevCommand::CveServices {
                    bind,
                    org,
                    quota,
                    user,
                },
        } => dev_cve_services(bind, &org, quota, &user).await,
    }
}

/// What `serve --demo` says when a database URL is configured: the demo
/// never touches it.
fn demo_ignores_database(url: &secrecy::SecretString, data_dir: &std::path::Path) -> String {
    use secrecy::ExposeSecret;
    let from = if std::env::var_os("CNADESK_DATABASE_URL").is_some() {
        "CNADESK_DATABASE_URL"
    } else {
        "the configured database_url"
    };
    format!(
        "demo mode: {from} ({}) is not used: the demo desk runs on its own SQLite database in {}, \
         reset at every start; nothing is read from or written to that database.",
        cnadesk_store_sql::redact_url(url.expose_secret()),
        data_dir.join("demo").display()
    )
}

/// `cnadesk dev cve-services`: the double, until interrupted. The key is new
/// on every start and printed: this is a local test service, not a secret store.
async fn dev_cve_services(
    bind: SocketAddr,
    org: &str,
    quota: i64,
    user: &str,
) -> anyhow::Result<ExitCode> {
    use cnadesk_cve_services::double::{Double, DoubleConfig, Org};
    let new_key = || hex::encode(rand::random::<[u8; 16]>());
    let key = new_key();
    let double = Double::with_cna(DoubleConfig::default(), org, quota, user, &key);
    // The first user is the organization admin; the others are there to
    // try what a plain user may do, and transfers to another CNA.
    double.add_admin(org, user, &key);
    let plain = "cna-user@example.invalid";
    let plain_key = new_key();
    double.add_user(org, plain, &plain_key);
    let other = if org == "other-cna" {
        "another-cna"
    } else {
        "other-cna"
    };
    double.add_org(Org {
        short_name: other.to_owned(),
        uuid: "5b0c3e1a-7d2f-4e8a-9c6b-1f2e3d4c5b6a".to_owned(),
        id_quota: quota,
        secretariat: false,
    });
    let other_user = "other-admin@example.invalid";
    let other_key = new_key();
    double.add_admin(other, other_user, &other_key);
    let (_, base) = double.spawn(bind).await?;
    println!("CVE Services double listening on {base}");
    println!("CVE-API-ORG={org}");
    println!("CVE-API-USER={user}");
    println!("CVE-API-KEY={key}");
    println!(
        "The user above is an organization admin (ADMIN role). A user of {org} without that role:"
    );
    println!("CVE-API-USER={plain}");
    println!("CVE-API-KEY={plain_key}");
    println!("Another CNA (to transfer IDs to), and its organization admin:");
    println!("CVE-API-ORG={other}");
    println!("CVE-API-USER={other_user}");
    println!("CVE-API-KEY={other_key}");
    tokio::signal::ctrl_c().await?;
    Ok(ExitCode::SUCCESS)
}

async fn admin(file: Option<&std::path::Path>, command: AdminCommand) -> anyhow::Result<ExitCode> {
    match command {
        AdminCommand::CreateUser {
            username,
            display_name,
            email,
            role,
            db,
        } => {
            let config = Config::load(file, &db.overrides())?;
            init_tracing(&config);
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let password = read_password()?;
            let display_name = display_name.unwrap_or_else(|| username.clone());
            let errors = cnadesk_app::accounts::validate_new_account(
                &username,
                &display_name,
                &email,
                &password,
                &password,
            );
            if !errors.is_empty() {
                for e in &errors {
                    eprintln!("{}: {}", e.field, e.message);
                }
                return Ok(ExitCode::from(2));
            }
            let store = open_store(&config, Migrate::Apply).await?;
            let password_hash = cnadesk_app::accounts::hash_password(password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let user = store
                .create_user(
                    NewUser {
                        username: username.trim().to_owned(),
                        display_name: display_name.trim().to_owned(),
                        email: email.trim().to_owned(),
                        role,
                        password_hash,
                    },
                    &Actor::system("cli"),
                    SystemClock.now().as_millisecond(),
                )
                .await?;
            store.close().await;
            println!("created {} {} ({})", user.role, user.username, user.id);
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::ListUsers(db) => {
            let config = Config::load(file, &db.overrides())?;
            let store = open_store(&config, Migrate::Require).await?;
            for u in store.list_users().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\ttotp={}",
                    u.id,
                    u.username,
                    u.role,
                    u.email,
                    if u.active { "active" } else { "deactivated" },
                    if u.totp_enabled { "on" } else { "off" }
                );
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::ResetTotp { username, db } => {
            let config = Config::load(file, &db.overrides())?;
            init_tracing(&config);
            let store = open_store(&config, Migrate::Require).await?;
            let name = username.trim().to_lowercase();
            let Some(creds) = store.user_credentials(&name).await? else {
                store.close().await;
                eprintln!(
                    "there is no team account {name:?}; nothing changed (`cnadesk admin list-users` lists them)"
                );
                return Ok(ExitCode::from(2));
            };
            let user = creds.user;
            if creds.totp_secret_enc.is_none() {
                store.close().await;
                println!(
                    "{} ({}) has no second factor; nothing changed",
                    user.username, user.id
                );
                return Ok(ExitCode::SUCCESS);
            }
            store
                .set_user_totp(
                    user.id,
                    None,
                    &Actor::system("cli"),
                    SystemClock.now().as_millisecond(),
                )
                .await?;
            store.close().await;
            println!(
                "turned off the second factor of {} ({}); audited as user.totp_removed. \
                 They sign in with their password and enrol again at /account/totp.",
                user.username, user.id
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads a password: prompted without echo on a terminal, else one line of stdin.
fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let p = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        if p != again {
            bail!("the passwords differ");
        }
        Ok(p)
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from standard input")?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// The CVE Services the desk talks to: the demo double, the configured
/// service, or none.
async fn cve_desk(
    config: &Config,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    demo: bool,
) -> anyhow::Result<Option<cnadesk_cve_workflow::CveDesk>> {
    use cnadesk_cve_services::{Client, Credentials};
    use cnadesk_cve_workflow::{CveDesk, Environment};
    if demo {
        use cnadesk_cve_services::double::{Double, DoubleConfig, Org};
        let org = config
            .records
            .short_name
            .clone()
            .unwrap_or_else(|| "XSF".into());
        let key = hex::encode(rand::random::<[u8; 16]>());
        let user = "demo@cnadesk.invalid";
        let double = Double::with_cna(DoubleConfig::default(), &org, 100, user, &key);
        double.add_org(Org {
            short_name: org.clone(),
            uuid: config
                .records
                .org_id
                .clone()
                .unwrap_or_else(|| cnadesk_app::PLACEHOLDER_ORG_ID.to_owned()),
            id_quota: 100,
            secretariat: false,
        });
        let (_, base) = double.spawn(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let client = Client::new(
            &base,
            Credentials {
                org,
                user: user.into(),
                key: key.into(),
            },
        )?
        .with_erlcheck(config.cve_services.erlcheck);
        tracing::warn!(%base, "demo mode: CVE Services is an in-memory double; nothing reaches the CVE Program");
        return Ok(Some(
            CveDesk::new(store, client, clock, Environment::Demo)
                .with_lease(config.nodes.cve_lease()),
        ));
    }
    let Some(settings) = config.cve_services()? else {
        return Ok(None);
    };
    let client = Client::new(&settings.api_url, settings.credentials)?
        .with_policy(settings.timeout, 3, std::time::Duration::from_millis(500))?
        .with_erlcheck(settings.erlcheck);
    Ok(Some(
        CveDesk::new(store, client, clock, settings.environment)
            .with_lease(config.nodes.cve_lease()),
    ))
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    // The demo desk is new at every start (its data dir was just reset).
    let intent = if demo {
        startup::Intent::Init
    } else {
        startup::Intent::Serve
    };
    let (store, key, new_desk) = startup::open_desk(&config, intent).await?;
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let addr = listener.local_addr()?;
    let public_url = config.public_url.clone().unwrap_or_else(|| {
        if addr.ip().is_unspecified() {
            // Listening on all interfaces: links need a reachable host name.
            tracing::warn!("listening on {addr}; set public_url so links name a reachable host");
            format!("http://127.0.0.1:{}", addr.port())
        } else {
            format!("http://{addr}")
        }
    });
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let backend = store.backend();
    let store: Arc<dyn Store> = Arc::new(store);
    let web_config = config.web(public_url.clone());
    let mut app = cnadesk_app::App::new(
        store.clone(),
        clock.clone(),
        web_config.settings.clone(),
        key,
    );
    let desk = cve_desk(&config, store.clone(), clock.clone(), demo).await?;
    let service = match &desk {
        Some(d) => format!("{} ({})", d.environment().label(), d.api_url()),
        None => "not configured".into(),
    };
    let (stop_worker, worker_stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = desk.clone().map(|d| {
        let every = d.poll_every();
        tokio::spawn(d.worker(every, async {
            let _ = worker_stopped.await;
        }))
    });
    if let Some(d) = desk {
        app = app.with_cve(d);
    }
    app = app
        .with_scope(ecosystem::scope_desk(&config)?)
        .with_team(cnadesk_app::team::TeamDesk::new(config.sla_policy()?))
        .with_notify(notify::desk(&config)?);
    let inbound = match notify::listener(&config)? {
        Some((addr, listener_config)) => {
            let l = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen for mail on {addr}"))?;
            let sink = cnadesk_app::inbound::DeskMailSink::new(app.clone());
            tracing::info!(%addr, "receiving mail");
            Some((
                l.local_addr()?,
                tokio::spawn(cnadesk_notify::smtp_server::serve(l, listener_config, sink)),
            ))
        }
        None => None,
    };
    // The policy version in force is recorded (and its text kept) the first
    // time the desk runs under it; changed text under an adopted version is refused.
    let (policy, document) = config.scope_policy_document()?;
    let adopted = store
        .adopt_scope_policy(
            &policy.version,
            &policy.effective,
            &document,
            &Actor::system("serve"),
            clock.now().as_millisecond(),
        )
        .await;
    match adopted {
        Ok(true) => tracing::info!(version = %policy.version, "scope policy version adopted"),
        Ok(false) => {}
        Err(cnadesk_store::StoreError::Conflict(m)) => bail!("{m}"),
        Err(e) => return Err(e.into()),
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "cnadesk listening on http://{addr} (database: {backend}; public URL: {public_url})"
    )?;
    writeln!(out, "CVE Services: {service}")?;
    writeln!(
        out,
        "Notifications: e-mail {}, XMPP {}{}",
        if app.notify.mail_enabled() {
            "on"
        } else {
            "off"
        },
        if app.notify.xmpp_enabled() {
            "on"
        } else {
            "off"
        },
        match &inbound {
            Some((addr, _)) => format!("; receiving mail on {addr}"),
            None => String::new(),
        }
    )?;
    if demo {
        writeln!(
            out,
            "demo mode: CVE Services is an in-memory double on this machine; nothing reaches the CVE Program.\n           The demo desk's data is in {} and is reset at every start.",
            config.data_dir.display()
        )?;
    }
    if store.count_users().await? == 0 {
        let token = cnadesk_app::keys::random_token();
        let expires = clock.now().as_millisecond() + 3_600_000;
        store
            .put_setup_token(&cnadesk_app::keys::sha256_hex(&token), expires)
            .await?;
        writeln!(
            out,
            "first run: create the first admin at {public_url}/setup/{token}\n           (this link works once and expires in 1 hour; restart for a new one)"
        )?;
    }
    out.flush()?;
    drop(out);
    tracing::info!(%addr, backend, "serving");
    // A new desk's messages start at the end of the log (a desk prepared
    // with `admin create-user` tells nobody of that). Only at the start that
    // created the desk: done later, by a second node, it could skip events
    // the first one has not told yet.
    if new_desk {
        cnadesk_app::notify::start_cursor_at_head(&app).await?;
    }
    // The case life cycle follows events from now on: a desk that never ran
    // it does not act on its history.
    cnadesk_app::lifecycle::start_cursor_at_head(&app).await?;
    // The periodic jobs (response-time and coordination sweeps every minute;
    // fan-out, transparency log and delivery every tick), each run by the
    // node that holds its lease, so several nodes can share the database.
    let jobs = jobs::Runner::new(
        store.clone(),
        clock.clone(),
        config.nodes.holder(),
        config.nodes.lease(),
    )
    .with_desk_jobs(&app)
    .start();
    let router = cnadesk_web::router(cnadesk_web::AppState::with_app(app, web_config));
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await;
    // Running jobs finish (whatever ended the server); the leases go to the
    // other nodes at once. A job stuck longer than its lease is left behind:
    // its lease runs out and another node takes it over.
    if tokio::time::timeout(config.nodes.lease(), jobs.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("a periodic job did not finish within its lease; stopping without it");
    }
    if let Some((_, task)) = inbound {
        task.abort();
    }
    let _ = stop_worker.send(());
    if let Some(w) = worker {
        let _ = w.await;
    }
    served?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
