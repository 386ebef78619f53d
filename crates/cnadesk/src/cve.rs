//! `cnadesk cve …`: CVE Services from the terminal, through the same client,
//! configuration and workflow as the web pages (intents stored first,
//! unclear outcomes reconciled; publication still needs a second member's
//! approval in the desk).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use cnadesk_core::{Actor, CaseId, Clock, CveId, SystemClock};
use cnadesk_cve_services::{BatchType, Client};
use cnadesk_cve_workflow::{describe, CveDesk, ReserveRequest, WorkflowError};
use cnadesk_store::{Job, JobState, Store};
use cnadesk_store_sql::Migrate;

use crate::config::{Config, CveServicesSettings};

/// Arguments shared by every `cve` subcommand.
#[derive(Debug, Args)]
pub struct CveArgs {
    /// CVE Services base URL [env: CNADESK_CVE_API_URL] [default: from cve_services.environment].
    #[arg(long, global = true, value_name = "URL")]
    pub api_url: Option<String>,
    #[command(flatten)]
    pub data: crate::DbArgs,
    #[command(subcommand)]
    pub command: CveCommand,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum CveCommand {
    /// Show the organization's ID quota.
    Quota,
    /// Reserve IDs (for a case, or unlinked for later use).
    Reserve {
        /// How many.
        #[arg(long, default_value_t = 1)]
        amount: u32,
        /// The year of the IDs [default: this year].
        #[arg(long)]
        year: Option<i32>,
        /// `sequential`, `non-sequential` or `priority`.
        #[arg(long, default_value = "sequential")]
        batch: String,
        /// The case the IDs are for, e.g. CASE-3.
        #[arg(long, value_name = "CASE")]
        case: Option<String>,
    },
    /// List the organization's IDs at CVE Services and refresh the desk's list.
    List {
        /// Only IDs in this state: reserved, published or rejected.
        #[arg(long)]
        state: Option<String>,
    },
    /// Show one ID and, when published, its record.
    Show {
        /// The CVE ID.
        id: String,
    },
    /// Publish (or update) the latest record version of a case; it must be
    /// approved in the desk by a member other than its author.
    Publish {
        /// The case, e.g. CASE-3.
        case: String,
        /// The version to publish [default: the latest].
        #[arg(long)]
        version: Option<i64>,
    },
    /// Reject an ID: an unused reservation, or a published record withdrawn.
    Reject {
        /// The CVE ID.
        id: String,
        /// Why (recorded; published in a rejection record).
        #[arg(long)]
        reason: String,
    },
}

fn client(
    settings: CveServicesSettings,
) -> anyhow::Result<(Client, cnadesk_cve_workflow::Environment)> {
    let client = Client::new(&settings.api_url, settings.credentials)?.with_policy(
        settings.timeout,
        3,
        std::time::Duration::from_millis(500),
    )?;
    Ok((client, settings.environment))
}

fn print_job(job: &Job) -> ExitCode {
    match job.state {
        JobState::Done => {
            println!("done: {}", job.result.clone().unwrap_or_default());
            ExitCode::SUCCESS
        }
        JobState::Failed => {
            eprintln!("failed: {}", job.last_error);
            ExitCode::FAILURE
        }
        _ => {
            eprintln!(
                "not finished ({}); the desk's worker reads back and finishes it (job {}): {}",
                job.state, job.id, job.last_error
            );
            ExitCode::from(3)
        }
    }
}

fn failure(e: WorkflowError) -> anyhow::Error {
    match e {
        WorkflowError::Service(s) => anyhow::anyhow!(describe(&s)),
        other => anyhow::anyhow!(other),
    }
}

/// Runs `cnadesk cve …`.
pub async fn run(file: Option<&std::path::Path>, args: CveArgs) -> anyhow::Result<ExitCode> {
    let overrides = crate::config::Overrides {
        api_url: args.api_url.clone(),
        ..args.data.overrides()
    };
    let config = Config::load(file, &overrides)?;
    crate::init_tracing(&config);
    let Some(settings) = config.cve_services()? else {
        bail!("CVE Services is not configured: set [cve_services] (environment, org, user, api_key) or CNADESK_CVE_API_URL/ORG/USER/KEY");
    };
    eprintln!(
        "CVE Services ({}): {}",
        settings.environment.label(),
        settings.api_url
    );
    let (client, environment) = client(settings)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store: Arc<dyn Store> = Arc::new(crate::open_store(&config, Migrate::Apply).await?);
    let desk = CveDesk::new(store.clone(), client.clone(), clock.clone(), environment);
    let actor = Actor::system("cli");
    match args.command {
        CveCommand::Quota => {
            let q = desk.quota().await.map_err(failure)?;
            println!(
                "quota {}; reserved {}; available {}",
                q.id_quota, q.total_reserved, q.available
            );
            Ok(ExitCode::SUCCESS)
        }
        CveCommand::Reserve {
            amount,
            year,
            batch,
            case,
        } => {
            let batch = match batch.as_str() {
                "sequential" => BatchType::Sequential,
                "non-sequential" => BatchType::NonSequential,
                "priority" => BatchType::Priority,
                other => {
                    bail!("--batch must be sequential, non-sequential or priority, not `{other}`")
                }
            };
            let case = case.map(|c| parse_case(&c)).transpose()?;
            let year =
                year.unwrap_or_else(|| clock.now().to_zoned(jiff::tz::TimeZone::UTC).year().into());
            let job = desk
                .reserve(
                    ReserveRequest {
                        case,
                        amount,
                        year,
                        batch,
                    },
                    &actor,
                )
                .await
                .map_err(failure)?;
            Ok(print_job(&job))
        }
        CveCommand::List { state } => {
            let state = state.map(|s| s.to_ascii_uppercase());
            if let Some(s) = &state {
                if !["RESERVED", "PUBLISHED", "REJECTED"].contains(&s.as_str()) {
                    bail!("--state must be reserved, published or rejected");
                }
            }
            let ids = client
                .list_ids(state.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!(describe(&e)))?;
            desk.sync_ids(&actor).await.map_err(failure)?;
            for info in &ids {
                let id: Option<CveId> = info.cve_id.parse().ok();
                let case = match &id {
                    Some(id) => store
                        .cve_id_entry(id)
                        .await?
                        .and_then(|e| e.case_id)
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "-".into()),
                    None => "-".into(),
                };
                println!(
                    "{}\t{:?}\t{}\t{}",
                    info.cve_id,
                    info.state,
                    info.reserved.as_deref().unwrap_or("-"),
                    case
                );
            }
            eprintln!("{} IDs", ids.len());
            Ok(ExitCode::SUCCESS)
        }
        CveCommand::Show { id } => {
            let id: CveId = id.parse().map_err(anyhow::Error::msg)?;
            let info = client
                .get_id(id.as_str())
                .await
                .map_err(|e| anyhow::anyhow!(describe(&e)))?;
            println!("{}", serde_json::to_string_pretty(&info)?);
            if let Some(record) = desk.published_record(&id).await.map_err(failure)? {
                println!("{}", serde_json::to_string_pretty(&record)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        CveCommand::Publish { case, version } => {
            let case = parse_case(&case)?;
            let version = match version {
                Some(v) => v,
                None => store
                    .record_versions(case)
                    .await?
                    .first()
                    .map(|v| v.version)
                    .with_context(|| format!("{case} has no record version"))?,
            };
            let job = desk.publish(case, version, &actor).await.map_err(failure)?;
            Ok(print_job(&job))
        }
        CveCommand::Reject { id, reason } => {
            let id: CveId = id.parse().map_err(anyhow::Error::msg)?;
            if store.cve_id_entry(&id).await?.is_none() {
                desk.sync_ids(&actor).await.map_err(failure)?;
            }
            let job = desk.reject(&id, &reason, &actor).await.map_err(failure)?;
            Ok(print_job(&job))
        }
    }
}

fn parse_case(s: &str) -> anyhow::Result<CaseId> {
    s.parse()
        .map_err(|_| anyhow::anyhow!("`{s}` is not a case (expected CASE-3 or 3)"))
}
