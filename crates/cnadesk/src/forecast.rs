//! `cnadesk forecast`: the capacity forecast from a CSV history of arrivals,
//! with the targets of the SLA policy in force.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use cnadesk_app::workload::{self, Effort};

use crate::config::{Config, Overrides};

/// Output format.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// For programs.
    Json,
}

/// `cnadesk forecast`
#[derive(Debug, Args)]
pub struct ForecastArgs {
    /// CSV of past arrivals: `date,kind,cases[,note]` (kind: report or disclosure).
    #[arg(long)]
    history: PathBuf,
    /// Team members sharing the work.
    #[arg(long)]
    members: u32,
    /// Hours each member gives per week.
    #[arg(long, default_value_t = 4.0)]
    hours_per_week: f64,
    /// Hours to acknowledge a report.
    #[arg(long, default_value_t = Effort::default().acknowledge)]
    acknowledge_hours: f64,
    /// Hours to triage a report.
    #[arg(long, default_value_t = Effort::default().triage)]
    triage_hours: f64,
    /// Hours to decide on a CVE and prepare the record.
    #[arg(long, default_value_t = Effort::default().cve_decision)]
    decision_hours: f64,
    /// Stretch the history over this many months (e.g. quiet months after the last event).
    #[arg(long)]
    span_months: Option<u32>,
    /// Acceptable breach probability, for "members needed".
    #[arg(long, default_value_t = 0.05)]
    max_breach: f64,
    /// Simulated months per run.
    #[arg(long, default_value_t = 12)]
    months: u32,
    /// Monte Carlo runs.
    #[arg(long, default_value_t = 2000)]
    runs: u32,
    /// Random seed (the same seed gives the same result).
    #[arg(long, default_value_t = 2017)]
    seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// Runs the forecast and prints it.
pub fn run(file: Option<&Path>, args: ForecastArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(file, &Overrides::default())?;
    let policy = config.sla_policy()?;
    let text = std::fs::read_to_string(&args.history)
        .with_context(|| format!("cannot read {}", args.history.display()))?;
    let events = cnadesk_forecast::parse_history(&text)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.history.display()))?;
    let fit = match args.span_months {
        Some(m) => cnadesk_forecast::fit_with_span(&events, m),
        None => cnadesk_forecast::fit(&events),
    }
    .map_err(|e| anyhow::anyhow!("{}: {e}", args.history.display()))?;
    let mut assumptions = workload::assumptions(
        &policy,
        args.members,
        args.hours_per_week,
        Effort {
            acknowledge: args.acknowledge_hours,
            triage: args.triage_hours,
            cve_decision: args.decision_hours,
        },
    );
    assumptions.months = args.months;
    assumptions.runs = args.runs;
    assumptions.seed = args.seed;
    assumptions.max_breach = args.max_breach;
    let forecast = cnadesk_forecast::forecast(&fit, &assumptions)?;
    let mut out = std::io::stdout().lock();
    match args.format {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&forecast)?)?,
        Format::Text => {
            writeln!(out, "{forecast}")?;
            writeln!(
                out,
                "Targets from the SLA policy {} (version {}); publication after disclosure and inquiries depend on others and are not modelled.",
                policy.name, policy.version
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
