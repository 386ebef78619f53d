//! `cnadesk ecosystem …` and `cnadesk scope …`: the registry and the scope
//! policy from the terminal, and the sync that refreshes the registry's data
//! (fetching lives here, at the edge; parsing is in `cnadesk-ecosystem`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use cnadesk_app::scope::{today, ScopeDesk};
use cnadesk_ecosystem::snapshot::files;
use cnadesk_ecosystem::{sources, Registry, Snapshot, SourceState, SyncState};
use cnadesk_scope::{Assessment, Decision, PastDecision, Policy, ScopeInput};
use cnadesk_store::prelude::*;
use cnadesk_store_sql::Migrate;
use futures_util::StreamExt;
use serde::Serialize;

use crate::config::Config;
use crate::DbArgs;

/// Output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people.
    #[default]
    Text,
    /// One JSON object.
    Json,
}

/// `cnadesk scope …`
#[derive(Debug, Args)]
pub struct ScopeArgs {
    #[command(flatten)]
    data: DbArgs,
    #[command(subcommand)]
    command: ScopeCommand,
}

#[derive(Debug, Subcommand)]
enum ScopeCommand {
    /// Decide whether a product is in scope, and say why.
    Check {
        /// A product name, URL or package URL (pkg:hex/xmpp).
        product: String,
        /// The vulnerability's description (XEP references, generic components, hosted services).
        #[arg(long, default_value = "")]
        description: String,
        /// text or json.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Apply this policy file instead of the one in force.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
    /// Apply a new policy version to every past decision and list those it would change.
    DryRun {
        /// The new policy file.
        #[arg(long, value_name = "FILE")]
        policy: PathBuf,
        /// text or json.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the policy in force.
    Show,
}

/// `cnadesk ecosystem …`
#[derive(Debug, Args)]
pub struct EcosystemArgs {
    #[command(flatten)]
    data: DbArgs,
    #[command(subcommand)]
    command: EcosystemCommand,
}

#[derive(Debug, Subcommand)]
enum EcosystemCommand {
    /// List the implementations that declare support for a XEP (from DOAP data).
    Xep {
        /// The XEP number (280 or 0280).
        number: String,
        /// text or json.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show what the registry knows about a product (name, alias, URL or package URL).
    Show {
        /// What to look up.
        product: String,
    },
    /// Refresh the registry's data from a directory or the live sources.
    Sync(SyncArgs),
}

/// `cnadesk ecosystem sync`
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Read the files from this directory (software.json, software_archive.json,
    /// software-history.csv, xeplist.json or xeplist.xml, CNAsList.json, doap/<product-key>.doap).
    #[arg(long, value_name = "DIR", conflicts_with = "live")]
    from: Option<PathBuf>,
    /// Fetch from the live URLs (xmpp.org data and every DOAP URL).
    #[arg(long)]
    live: bool,
    /// Accept a list that is empty or less than half the size of the one in use.
    #[arg(long)]
    force: bool,
    /// Base URL of the xmpp.org data files.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://raw.githubusercontent.com/xsf/xmpp.org/master/data"
    )]
    xmpp_org_data: String,
    /// Base URL for DOAP files hosted by xmpp.org (`/hosted-doap/…`).
    #[arg(long, value_name = "URL", default_value = "https://xmpp.org")]
    hosted_doap_base: String,
    /// The XEP list.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://xmpp.org/extensions/xeplist.xml"
    )]
    xep_list_url: String,
    /// The CVE Program's list of CNAs.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://raw.githubusercontent.com/CVEProject/cve-website/main/src/assets/data/CNAsList.json"
    )]
    cna_list_url: String,
}

/// The registry data in `dir` (written by `ecosystem sync`), each file
/// falling back to the shipped snapshot when the sync has not written it.
pub fn load_snapshot(dir: &Path) -> anyhow::Result<Snapshot> {
    let mut s = Snapshot::bundled();
    let synced = [
        files::SOFTWARE,
        files::ARCHIVE,
        files::HISTORY,
        files::XEPS,
        files::CNA_LIST,
        files::DOAPS,
    ];
    if !synced.iter().any(|f| dir.join(f).exists()) {
        return Ok(s);
    }
    // A file that does not read or parse is passed over (the shipped copy
    // stays in use) with a warning, so one damaged file cannot stop the desk.
    let mut damaged: Vec<String> = Vec::new();
    let mut read = |name: &str| -> Option<String> {
        let p = dir.join(name);
        if !p.exists() {
            return None;
        }
        let checked = std::fs::read_to_string(&p)
            .map_err(|e| e.to_string())
            .and_then(|t| match name {
                files::DOAPS => serde_json::from_str::<BTreeMap<String, String>>(&t)
                    .map(|_| t)
                    .map_err(|e| e.to_string()),
                files::SYNC_STATE => Ok(t),
                _ => validate(name, &t).map(|_| t),
            });
        match checked {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(file = %p.display(), error = %e, "damaged ecosystem file passed over; the shipped copy is used");
                damaged.push(name.to_owned());
                None
            }
        }
    };
    if let Some(t) = read(files::SOFTWARE) {
        s.software = t;
    }
    if let Some(t) = read(files::ARCHIVE) {
        s.archive = t;
    }
    if let Some(t) = read(files::HISTORY) {
        s.history = Some(t);
    }
    if let Some(t) = read(files::XEPS) {
        s.xeps = t;
    }
    if let Some(t) = read(files::CNA_LIST) {
        s.cna_list = t;
    }
    if let Some(t) = read(files::DOAPS) {
        let synced: BTreeMap<String, String> =
            serde_json::from_str(&t).context("reading doap.json")?;
        s.doaps.extend(synced);
    }
    let state: SyncState = read(files::SYNC_STATE)
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    if !damaged.is_empty() {
        s.origin = format!(
            "data synced into {} (damaged, shipped copy used: {})",
            dir.display(),
            damaged.join(", ")
        );
        return Ok(s);
    }
    s.origin = format!(
        "data synced into {} (last sync {}), over the shipped snapshot",
        dir.display(),
        state.last_run.as_deref().unwrap_or("unknown")
    );
    Ok(s)
}

/// The directory synced ecosystem data lives in.
pub fn ecosystem_dir(config: &Config) -> PathBuf {
    config.data_dir.join("ecosystem")
}

/// The scope desk for this configuration: the synced (or shipped) data and
/// the policy in force.
pub fn scope_desk(config: &Config) -> anyhow::Result<ScopeDesk> {
    let snapshot = load_snapshot(&ecosystem_dir(config))?;
    Ok(ScopeDesk::new(snapshot, config.scope_policy()?)?)
}

/// The store, when there is one already (commands that only read must not
/// create an empty database).
async fn existing_store(config: &Config) -> anyhow::Result<Option<cnadesk_store_sql::SqlStore>> {
    if config.database_url.is_none() && !config.data_dir.join("cnadesk.sqlite3").exists() {
        return Ok(None);
    }
    Ok(Some(crate::open_store(config, Migrate::Require).await?))
}

/// The registry with the team's annotations when a database exists.
async fn registry(desk: &ScopeDesk, config: &Config) -> anyhow::Result<std::sync::Arc<Registry>> {
    match existing_store(config).await? {
        Some(store) => {
            let r = desk.registry(&store).await?;
            store.close().await;
            Ok(r)
        }
        None => Ok(desk.public_registry()),
    }
}

fn now_ms() -> i64 {
    use cnadesk_core::Clock;
    cnadesk_core::SystemClock.now().as_millisecond()
}

/// `cnadesk scope …`
pub async fn run_scope(file: Option<&Path>, args: ScopeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(file, &args.data.overrides())?;
    crate::init_tracing(&config);
    let mut out = std::io::stdout().lock();
    match args.command {
        ScopeCommand::Check {
            product,
            description,
            format,
            policy,
        } => {
            let desk = scope_desk(&config)?;
            let policy = match policy {
                Some(p) => read_policy(&p)?,
                None => desk.policy().clone(),
            };
            let reg = registry(&desk, &config).await?;
            let input = ScopeInput {
                product,
                description,
            };
            let a = cnadesk_scope::assess(&policy, &reg, &input, &today(now_ms()));
            match format {
                Format::Json => {
                    serde_json::to_writer_pretty(&mut out, &CheckJson::new(&a))?;
                    use std::io::Write;
                    writeln!(out)?;
                }
                Format::Text => print_assessment(&mut out, &policy, &input.product, &a)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        ScopeCommand::DryRun { policy, format } => {
            let new = read_policy(&policy)?;
            let desk = scope_desk(&config)?;
            let Some(store) = existing_store(&config).await? else {
                bail!("no database: there are no past decisions to compare");
            };
            let reg = desk.registry(&store).await?;
            let stored = store.latest_scope_decisions().await?;
            let total = stored.len();
            let past: Vec<PastDecision> = stored
                .into_iter()
                .filter_map(|d| {
                    Some(PastDecision {
                        subject: d.report.to_string(),
                        input: serde_json::from_value(d.input).ok()?,
                        decision: d.decision,
                        rule: d.rule,
                        policy_version: d.policy_version,
                    })
                })
                .collect();
            store.close().await;
            let changes = cnadesk_scope::dry_run(&new, &reg, &past, &today(now_ms()));
            use std::io::Write;
            if past.len() < total {
                eprintln!(
                    "{} stored decisions could not be read and were left out",
                    total - past.len()
                );
            }
            match format {
                Format::Json => {
                    serde_json::to_writer_pretty(
                        &mut out,
                        &serde_json::json!({
                            "policy_version": new.version,
                            "decisions": past.len(),
                            "changes": changes,
                        }),
                    )?;
                    writeln!(out)?;
                }
                Format::Text => {
                    writeln!(
                        out,
                        "policy {} against {} past decisions: {} would change",
                        new.version,
                        past.len(),
                        changes.len()
                    )?;
                    for c in &changes {
                        writeln!(
                            out,
                            "{}: {} ({}, policy {}) → {} ({})\n    {}",
                            c.past.subject,
                            c.past.decision.label(),
                            c.past.rule.as_deref().unwrap_or("no rule"),
                            c.past.policy_version,
                            c.proposal.decision.label(),
                            c.proposal.rule.as_deref().unwrap_or("no rule"),
                            c.proposal.rationale
                        )?;
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ScopeCommand::Show => {
            let p = config.scope_policy()?;
            use std::io::Write;
            writeln!(
                out,
                "{} — version {} (effective {})",
                p.name, p.version, p.effective
            )?;
            for r in &p.rules {
                writeln!(
                    out,
                    "\n[{}] {}\n  → {}",
                    r.id,
                    r.question,
                    r.decision.label()
                )?;
                writeln!(out, "  {}", r.statement.trim().replace('\n', "\n  "))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read_policy(path: &Path) -> anyhow::Result<Policy> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Policy::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The JSON answer of `scope check`.
#[derive(Serialize)]
struct CheckJson<'a> {
    decision: Decision,
    product: Option<&'a str>,
    product_key: Option<&'a str>,
    rule: Option<&'a str>,
    question: Option<&'a str>,
    policy_version: &'a str,
    rationale: &'a str,
    referral: Option<&'a cnadesk_scope::Referral>,
    tags: &'a [String],
    candidates: Vec<&'a str>,
    xeps: &'a [cnadesk_scope::XepRef],
    counting: Option<&'a str>,
    notes: &'a [String],
}

impl<'a> CheckJson<'a> {
    fn new(a: &'a Assessment) -> Self {
        CheckJson {
            decision: a.decision,
            product: a.product.as_ref().map(|p| p.name.as_str()),
            product_key: a.product.as_ref().map(|p| p.key.as_str()),
            rule: a.rule.as_deref(),
            question: a.question.as_deref(),
            policy_version: &a.policy_version,
            rationale: &a.rationale,
            referral: a.referral.as_ref(),
            tags: &a.tags,
            candidates: a.candidates.iter().map(|c| c.name.as_str()).collect(),
            xeps: &a.xeps,
            counting: a.counting.as_deref(),
            notes: &a.notes,
        }
    }
}

fn print_assessment(
    out: &mut impl std::io::Write,
    policy: &Policy,
    asked: &str,
    a: &Assessment,
) -> anyhow::Result<()> {
    let title = a
        .product
        .as_ref()
        .map(|p| p.name.clone())
        .unwrap_or_else(|| match a.xeps.first() {
            Some(x) if a.rule.is_some() => format!("XEP-{:04} {}", x.number, x.title),
            _ => format!("“{}”", asked.trim()),
        });
    writeln!(out, "{title}: {}", a.decision.label().to_uppercase())?;
    writeln!(out, "  why       {}", a.rationale)?;
    if let (Some(rule), Some(q)) = (&a.rule, &a.question) {
        writeln!(out, "  rule      {rule}: {q}")?;
    }
    writeln!(
        out,
        "  policy    {} version {} (effective {})",
        policy.name, a.policy_version, policy.effective
    )?;
    if let Some(p) = &a.product {
        writeln!(
            out,
            "  product   {} ({}; matched by {} “{}”)",
            p.name,
            p.listing.label(),
            p.matched_by.label(),
            p.matched
        )?;
    }
    for c in a.candidates.iter().filter(|_| a.product.is_none()) {
        writeln!(out, "  candidate {} ({})", c.name, c.listing.label())?;
    }
    if let Some(r) = &a.referral {
        writeln!(
            out,
            "  refer to  {} ({}){}",
            r.name,
            r.short_name,
            r.contact
                .as_deref()
                .map(|c| format!(" · {c}"))
                .unwrap_or_default()
        )?;
    }
    if !a.tags.is_empty() {
        writeln!(out, "  tags      {}", a.tags.join(", "))?;
    }
    for x in &a.xeps {
        writeln!(
            out,
            "  XEP       XEP-{:04} {} ({} implementations declare support)",
            x.number, x.title, x.declared_implementations
        )?;
    }
    if let Some(c) = &a.counting {
        writeln!(out, "  counting  {c}")?;
    }
    for n in &a.notes {
        writeln!(out, "  note      {n}")?;
    }
    Ok(())
}

/// `cnadesk ecosystem …`
pub async fn run_ecosystem(file: Option<&Path>, args: EcosystemArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(file, &args.data.overrides())?;
    crate::init_tracing(&config);
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match args.command {
        EcosystemCommand::Xep { number, format } => {
            let n = cnadesk_ecosystem::names::xep_number(&number).with_context(|| {
                format!("`{number}` is not a XEP number (280, 0280 or XEP-0280)")
            })?;
            let desk = scope_desk(&config)?;
            let reg = registry(&desk, &config).await?;
            let imp = reg.implementations(n);
            let Some(xep) = imp.xep else {
                bail!("XEP-{n:04} is not on the XEP list");
            };
            match format {
                Format::Json => {
                    let declared: Vec<serde_json::Value> = imp
                        .declared
                        .iter()
                        .map(|(p, s)| {
                            serde_json::json!({
                                "product": p.name,
                                "key": p.key,
                                "categories": p.categories,
                                "listing": p.listing,
                                "status": s.status,
                                "version": s.version,
                                "since": s.since,
                                "note": s.note,
                            })
                        })
                        .collect();
                    let unknown: Vec<&str> = imp.unknown.iter().map(|p| p.name.as_str()).collect();
                    serde_json::to_writer_pretty(
                        &mut out,
                        &serde_json::json!({
                            "xep": { "number": n, "title": xep.title, "status": xep.status,
                                     "version": xep.last_revision_version },
                            "implementations": declared,
                            "unknown_support": unknown,
                        }),
                    )?;
                    writeln!(out)?;
                }
                Format::Text => {
                    writeln!(
                        out,
                        "XEP-{n:04} {} ({}{})",
                        xep.title,
                        xep.status,
                        xep.last_revision_version
                            .as_deref()
                            .map(|v| format!(", version {v}"))
                            .unwrap_or_default()
                    )?;
                    writeln!(
                        out,
                        "{} implementations declare support:",
                        imp.declared.len()
                    )?;
                    for (p, s) in &imp.declared {
                        writeln!(
                            out,
                            "  {:<28} {:<18} {:<10} {}{}",
                            p.name,
                            p.categories.join(","),
                            s.status.as_deref().unwrap_or("-"),
                            s.version
                                .as_deref()
                                .map(|v| format!("v{v}"))
                                .unwrap_or_default(),
                            s.since
                                .as_deref()
                                .map(|v| format!(" since {v}"))
                                .unwrap_or_default()
                        )?;
                    }
                    writeln!(
                        out,
                        "{} maintained implementations have no DOAP data (support unknown).",
                        imp.unknown.len()
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        EcosystemCommand::Show { product } => {
            let desk = scope_desk(&config)?;
            let reg = registry(&desk, &config).await?;
            let found = reg.lookup(&product);
            if found.is_empty() {
                writeln!(
                    out,
                    "“{product}” matches no product in the registry ({})",
                    reg.origin()
                )?;
                return Ok(ExitCode::from(1));
            }
            for m in found {
                let Some(p) = reg.product(&m.key) else {
                    continue;
                };
                writeln!(out, "{} [{}] — {}", p.name, p.key, p.listing.label())?;
                writeln!(out, "  categories {}", p.categories.join(", "))?;
                if let Some(h) = &p.homepage {
                    writeln!(out, "  homepage   {h}")?;
                }
                if let Some(d) = &p.doap_url {
                    writeln!(out, "  DOAP       {d}")?;
                }
                if let Some(d) = &p.doap {
                    writeln!(out, "  XEPs       {} declared", d.xeps.len())?;
                    for r in &d.repositories {
                        writeln!(out, "  repository {r}")?;
                    }
                }
                if let Some(h) = &p.history {
                    writeln!(
                        out,
                        "  history    first listed {}{}",
                        h.first_seen_in_list.as_deref().unwrap_or("?"),
                        h.archived_on
                            .as_deref()
                            .map(|a| format!(", archived {a}"))
                            .unwrap_or_default()
                    )?;
                }
                let a = &p.annotation;
                if let Some(f) = &a.fork_of {
                    writeln!(out, "  fork of    {f}")?;
                }
                if let Some(c) = &a.own_cna {
                    writeln!(out, "  CNA        {c}")?;
                }
                if let Some(e) = &a.end_of_life {
                    writeln!(out, "  end of life {e}")?;
                }
                if !a.aliases.is_empty() {
                    writeln!(out, "  aliases    {}", a.aliases.join(", "))?;
                }
                if !a.packages.is_empty() {
                    writeln!(out, "  packages   {}", a.packages.join(", "))?;
                }
                if let Some(n) = &a.note {
                    writeln!(out, "  note       {n}")?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        EcosystemCommand::Sync(args) => sync(&config, args, &mut out).await,
    }
}

/// Where a sync reads from.
enum Origin {
    Dir(PathBuf),
    Live(reqwest::Client, SyncArgs),
}

impl Origin {
    fn describe(&self, file: &str) -> String {
        match self {
            Origin::Dir(d) => d.join(file).display().to_string(),
            Origin::Live(_, a) => match file {
                files::SOFTWARE | files::ARCHIVE => {
                    format!("{}/{file}", a.xmpp_org_data.trim_end_matches('/'))
                }
                files::XEPS => a.xep_list_url.clone(),
                files::CNA_LIST => a.cna_list_url.clone(),
                other => other.to_owned(),
            },
        }
    }

    /// Fetches a data file. `Ok(None)`: this origin does not have it.
    async fn fetch(&self, file: &str) -> Result<Option<String>, String> {
        match self {
            Origin::Dir(d) => {
                let mut p = d.join(file);
                if file == files::XEPS && !p.exists() {
                    p = d.join(files::XEPS_XML);
                }
                if !p.exists() {
                    return Ok(None);
                }
                std::fs::read_to_string(&p)
                    .map(Some)
                    .map_err(|e| format!("{}: {e}", p.display()))
            }
            Origin::Live(client, _) => {
                if file == files::HISTORY {
                    // Derived from git history; there is no live source.
                    return Ok(None);
                }
                get(client, &self.describe(file)).await.map(Some)
            }
        }
    }

    async fn fetch_doap(&self, key: &str, url: &str) -> Result<Option<String>, String> {
        match self {
            Origin::Dir(d) => {
                let p = d.join("doap").join(format!("{key}.doap"));
                if !p.exists() {
                    return Ok(None);
                }
                std::fs::read_to_string(&p)
                    .map(Some)
                    .map_err(|e| format!("{}: {e}", p.display()))
            }
            Origin::Live(client, a) => {
                let full = if url.starts_with('/') {
                    format!("{}{url}", a.hosted_doap_base.trim_end_matches('/'))
                } else {
                    url.to_owned()
                };
                get(client, &full).await.map(Some)
            }
        }
    }
}

/// The largest file a sync accepts (the CNA list is about 1 MB).
const MAX_FETCH_BYTES: usize = 16 * 1024 * 1024;

async fn get(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let mut r = client
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("{url}: HTTP {}", r.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| format!("{url}: {e}"))? {
        if body.len() + chunk.len() > MAX_FETCH_BYTES {
            return Err(format!(
                "{url}: larger than {} MiB, refused",
                MAX_FETCH_BYTES / (1024 * 1024)
            ));
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|_| format!("{url}: not UTF-8 text"))
}

/// Parses a data file; the number of entries it holds.
fn validate(file: &str, text: &str) -> Result<usize, String> {
    let r = match file {
        files::SOFTWARE | files::ARCHIVE => sources::parse_software(file, text).map(|v| v.len()),
        files::HISTORY => sources::parse_history(file, text).map(|v| v.len()),
        files::XEPS => sources::parse_xeps(file, text).map(|v| v.len()),
        files::CNA_LIST => sources::parse_cna_list(file, text).map(|v| v.len()),
        _ => Ok(1),
    };
    r.map_err(|e| e.to_string())
}

/// The text in use for a data file.
fn current_text<'a>(s: &'a Snapshot, file: &str) -> Option<&'a str> {
    match file {
        files::SOFTWARE => Some(&s.software),
        files::ARCHIVE => Some(&s.archive),
        files::HISTORY => s.history.as_deref(),
        files::XEPS => Some(&s.xeps),
        files::CNA_LIST => Some(&s.cna_list),
        _ => None,
    }
}

/// Writes a file through a temporary name, so a crash leaves the old one.
fn write_atomic(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// `cnadesk ecosystem sync`: every source is fetched and checked before it
/// replaces the data in use; a source that fails keeps its last good data,
/// and the summary says so. Annotations live in the database and are never
/// touched.
async fn sync(
    config: &Config,
    args: SyncArgs,
    out: &mut impl std::io::Write,
) -> anyhow::Result<ExitCode> {
    let force = args.force;
    let origin = match (&args.from, args.live) {
        (Some(d), _) => Origin::Dir(d.clone()),
        (None, true) => Origin::Live(
            reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .user_agent(concat!(
                    "cnadesk/",
                    env!("CARGO_PKG_VERSION"),
                    " (ecosystem sync)"
                ))
                .build()?,
            args,
        ),
        (None, false) => bail!("say where from: --from DIR, or --live"),
    };
    let dir = ecosystem_dir(config);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let before_snapshot = load_snapshot(&dir)?;
    let before = Registry::build(&before_snapshot, &[])?;
    let mut state: SyncState = std::fs::read_to_string(dir.join(files::SYNC_STATE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let stamp = cnadesk_core::Clock::now(&cnadesk_core::SystemClock).to_string();
    let mut failures: Vec<String> = Vec::new();

    // First fetch and check every file; only then write, so that the list and
    // the archive change together (a project moving between them never vanishes).
    let mut fetched_files: Vec<(&str, String)> = Vec::new();
    let mut failed_files: Vec<&str> = Vec::new();
    for file in [
        files::SOFTWARE,
        files::ARCHIVE,
        files::HISTORY,
        files::XEPS,
        files::CNA_LIST,
    ] {
        let from = origin.describe(file);
        let result = match origin.fetch(file).await {
            Ok(Some(text)) => validate(file, &text).and_then(|count| {
                let before = current_text(&before_snapshot, file)
                    .and_then(|t| validate(file, t).ok())
                    .unwrap_or(0);
                if !force && (count == 0 || count * 2 < before) {
                    Err(format!(
                        "has {count} entries where the data in use has {before}; refused (use --force to accept a shrink by half or more)"
                    ))
                } else {
                    Ok(Some(text))
                }
            }),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let entry = state.sources.entry(file.to_owned()).or_insert(SourceState {
            from: from.clone(),
            fetched_at: None,
            error: None,
        });
        match result {
            Ok(Some(text)) => {
                *entry = SourceState {
                    from,
                    fetched_at: Some(stamp.clone()),
                    error: None,
                };
                fetched_files.push((file, text));
            }
            Ok(None) => {}
            Err(e) => {
                entry.error = Some(e.clone());
                failed_files.push(file);
                failures.push(format!(
                    "{file}: {e}; kept the last good data ({})",
                    entry
                        .fetched_at
                        .as_deref()
                        .map(|t| format!("fetched {t}"))
                        .unwrap_or_else(|| "shipped snapshot".into())
                ));
            }
        }
    }
    let pair = [files::SOFTWARE, files::ARCHIVE];
    let pair_failed = failed_files.iter().any(|f| pair.contains(f));
    for (file, text) in &fetched_files {
        if pair_failed && pair.contains(file) {
            failures.push(format!(
                "{file}: kept as it was, because the list and the archive change together"
            ));
            if let Some(e) = state.sources.get_mut(*file) {
                e.error = Some("not applied: its pair failed".into());
            }
            continue;
        }
        write_atomic(&dir.join(file), text)?;
    }

    // DOAP files of every listed and archived product with a DOAP URL.
    let mut snapshot = load_snapshot(&dir)?;
    let mut doaps: BTreeMap<String, String> = std::fs::read_to_string(dir.join(files::DOAPS))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let entries: Vec<(String, String)> = {
        let listed = sources::parse_software(files::SOFTWARE, &snapshot.software)?;
        let archived = sources::parse_software(files::ARCHIVE, &snapshot.archive)?;
        listed
            .into_iter()
            .chain(archived)
            .filter_map(|e| Some((cnadesk_ecosystem::slug(&e.name), e.doap?)))
            .collect()
    };
    let bar = indicatif::ProgressBar::new(entries.len() as u64).with_style(
        indicatif::ProgressStyle::with_template("DOAP files {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let origin_ref = &origin;
    let mut results =
        futures_util::stream::iter(entries.into_iter().map(|(key, url)| async move {
            let r = origin_ref.fetch_doap(&key, &url).await;
            (key, url, r)
        }))
        .buffer_unordered(8);
    let mut fetched = 0usize;
    while let Some((key, url, r)) = results.next().await {
        bar.inc(1);
        bar.set_message(key.clone());
        let entry_key = format!("doap:{url}");
        let r = r.and_then(|t| match t {
            Some(text) => sources::parse_doap(&url, &text)
                .map(|_| Some(text))
                .map_err(|e| e.to_string()),
            None => Ok(None),
        });
        match r {
            Ok(Some(text)) => {
                fetched += 1;
                doaps.insert(url.clone(), text);
                state.sources.insert(
                    entry_key,
                    SourceState {
                        from: url,
                        fetched_at: Some(stamp.clone()),
                        error: None,
                    },
                );
            }
            Ok(None) => {}
            Err(e) => {
                let kept = doaps.contains_key(&url) || snapshot.doaps.contains_key(&url);
                failures.push(format!(
                    "DOAP of {key}: {e}; {}",
                    if kept {
                        "kept the last good copy"
                    } else {
                        "no copy yet"
                    }
                ));
                let s = state.sources.entry(entry_key).or_insert(SourceState {
                    from: url,
                    fetched_at: None,
                    error: None,
                });
                s.error = Some(e);
            }
        }
    }
    drop(results);
    bar.finish_and_clear();
    write_atomic(&dir.join(files::DOAPS), &serde_json::to_string(&doaps)?)?;
    state.last_run = Some(stamp);
    write_atomic(
        &dir.join(files::SYNC_STATE),
        &serde_json::to_string_pretty(&state)?,
    )?;

    snapshot = load_snapshot(&dir)?;
    let after = Registry::build(&snapshot, &[])?;
    let changes = cnadesk_ecosystem::diff(&before, &after);
    writeln!(
        out,
        "synced into {}: {} products ({} listed, {} archived), {} DOAP files fetched, {} XEPs, {} CNAs",
        dir.display(),
        after.products().len(),
        after.products().iter().filter(|p| p.listing == cnadesk_ecosystem::Listing::Listed).count(),
        after.products().iter().filter(|p| p.listing == cnadesk_ecosystem::Listing::Archived).count(),
        fetched,
        after.xeps().len(),
        after.cnas().len()
    )?;
    if changes.is_empty() {
        writeln!(out, "no changes")?;
    } else {
        writeln!(out, "changes:")?;
        for l in changes.lines() {
            writeln!(out, "  {l}")?;
        }
    }
    for w in after.warnings() {
        writeln!(out, "warning: {w}")?;
    }
    writeln!(
        out,
        "a running desk reads the new data when it restarts; annotations are untouched"
    )?;
    if failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{} sources failed (the desk keeps using the last good data):",
        failures.len()
    )?;
    for f in &failures {
        writeln!(out, "  {f}")?;
    }
    Ok(ExitCode::from(1))
}
