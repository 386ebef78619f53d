//! What a forecast is about: the stages of a case, the assumptions about
//! the team, and the simulated outcome per stage.

use serde::{Deserialize, Serialize};

/// One stage of handling a case, with its effort and its response-time target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stage {
    /// A short key, e.g. `acknowledge`.
    pub key: String,
    /// A label for people, e.g. `Acknowledge a report`.
    pub label: String,
    /// Team work needed for this stage, per case, in hours.
    pub effort_hours: f64,
    /// The target: a case meets it when the stage's work is finished within
    /// this many business days, counting its arrival day as day 1.
    pub target_business_days: u32,
}

/// What is assumed about the team and the simulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assumptions {
    /// Team members.
    pub members: u32,
    /// Hours each member gives to CNA work per week.
    pub hours_per_member_per_week: f64,
    /// The stages in priority order: each business day the team's hours go
    /// to stage 0 work first (oldest case first), then stage 1, and so on; a
    /// case enters stage k+1 only when stage k is finished.
    pub stages: Vec<Stage>,
    /// The simulated horizon per run, in months (after the warm-up).
    pub months: u32,
    /// Monte Carlo runs.
    pub runs: u32,
    /// The random seed; the same seed gives the same forecast.
    pub seed: u64,
    /// The acceptable breach probability (e.g. 0.05), for the members needed.
    pub max_breach: f64,
}

/// The simulated outcome for one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageResult {
    /// The stage key.
    pub key: String,
    /// The stage label.
    pub label: String,
    /// The target, in business days (the arrival day is day 1).
    pub target_business_days: u32,
    /// Breached counted cases / counted cases, over all runs (0.0 when no
    /// case was counted).
    pub breach_probability: f64,
    /// Nearest-rank median time to finish the stage, in business days from
    /// arrival, over the counted cases that finished it (0.0 when none did).
    pub median_business_days: f64,
    /// Nearest-rank 90th percentile of the same times.
    pub p90_business_days: f64,
    /// How many cases the breach probability is computed over (all runs).
    pub counted_cases: u64,
}
