//! The assumptions about the team, the forecast and its text report.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::history::Fit;
use crate::model::{Assumptions, StageResult};
use crate::simulation::{
    simulate, BUSINESS_DAYS_PER_MONTH, BUSINESS_DAYS_PER_WEEK, MAX_MONTHS, MAX_RUNS, WARM_UP_MONTHS,
};

/// The largest team [`forecast`] tries when looking for the members needed.
pub const MAX_MEMBERS_TRIED: u32 = 50;
/// The highest simulated load [`forecast`] accepts, in cases per month.
pub const MAX_CASES_PER_MONTH: f64 = 10_000.0;

/// The forecast: expected load, breach probabilities, members needed, and
/// the method in plain sentences.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// The arrival process fitted to the history.
    pub fit: Fit,
    /// The assumptions the forecast was made with.
    pub assumptions: Assumptions,
    /// Expected cases per month (from the fit).
    pub cases_per_month: f64,
    /// `cases_per_month / members` (exact, not simulated).
    pub cases_per_member_per_month: f64,
    /// `cases_per_month × sum of the stages' effort hours`.
    pub hours_needed_per_month: f64,
    /// `members × hours_per_member_per_week × 52 / 12`.
    pub hours_available_per_month: f64,
    /// `hours_needed_per_month / hours_available_per_month`.
    pub utilisation: f64,
    /// The simulated outcome per stage, in the assumptions' order.
    pub stages: Vec<StageResult>,
    /// The smallest team (1 to [`MAX_MEMBERS_TRIED`] members) for which every
    /// stage's breach probability is at most `max_breach`, simulated with the
    /// same seed; `None` when no team up to that size is enough.
    pub members_needed: Option<u32>,
    /// Plain sentences stating the method and every assumption.
    pub method: Vec<String>,
}

/// Assumptions (or a hand-made fit) that cannot be forecast.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    /// The team has no members.
    #[error("the team needs at least one member (members is 0)")]
    NoMembers,
    /// Hours per member per week is not a positive number.
    #[error("hours per member per week must be a positive number, got {0}")]
    Hours(f64),
    /// No stages.
    #[error("at least one stage is needed")]
    NoStages,
    /// A stage's effort is negative or not a number.
    #[error("stage \"{stage}\": effort must be 0 or more hours, got {effort}")]
    Effort {
        /// The stage key.
        stage: String,
        /// The effort given.
        effort: f64,
    },
    /// A stage's target is 0 business days (the arrival day is day 1).
    #[error(
        "stage \"{stage}\": the target must be at least 1 business day (the arrival day is day 1)"
    )]
    Target {
        /// The stage key.
        stage: String,
    },
    /// Runs out of range.
    #[error("runs must be from 1 to {max}, got {0}", max = MAX_RUNS)]
    Runs(u32),
    /// Months out of range.
    #[error("months must be from 1 to {max}, got {0}", max = MAX_MONTHS)]
    Months(u32),
    /// The acceptable breach probability is not strictly between 0 and 1.
    #[error("the acceptable breach probability must be between 0 and 1 (exclusive), got {0}")]
    MaxBreach(f64),
    /// The fit cannot be simulated (only a hand-made fit can get here).
    #[error("the fit cannot be simulated: {0}")]
    Fit(String),
}

/// Checks the assumptions and the fit; the first problem found is returned.
pub fn validate(fit: &Fit, assumptions: &Assumptions) -> Result<(), ForecastError> {
    let a = assumptions;
    if a.members == 0 {
        return Err(ForecastError::NoMembers);
    }
    let hours = a.hours_per_member_per_week;
    if !hours.is_finite() || hours <= 0.0 {
        return Err(ForecastError::Hours(hours));
    }
    if a.stages.is_empty() {
        return Err(ForecastError::NoStages);
    }
    for stage in &a.stages {
        if !stage.effort_hours.is_finite() || stage.effort_hours < 0.0 {
            return Err(ForecastError::Effort {
                stage: stage.key.clone(),
                effort: stage.effort_hours,
            });
        }
        if stage.target_business_days == 0 {
            return Err(ForecastError::Target {
                stage: stage.key.clone(),
            });
        }
    }
    if !(1..=MAX_RUNS).contains(&a.runs) {
        return Err(ForecastError::Runs(a.runs));
    }
    if !(1..=MAX_MONTHS).contains(&a.months) {
        return Err(ForecastError::Months(a.months));
    }
    if a.max_breach.is_nan() || a.max_breach <= 0.0 || a.max_breach >= 1.0 {
        return Err(ForecastError::MaxBreach(a.max_breach));
    }
    validate_fit(fit)
}

fn validate_fit(fit: &Fit) -> Result<(), ForecastError> {
    let rate = fit.events_per_month;
    if !rate.is_finite() || rate < 0.0 {
        return Err(ForecastError::Fit(format!(
            "events per month must be 0 or more, got {rate}"
        )));
    }
    if !fit.cases_per_month.is_finite() || fit.cases_per_month < 0.0 {
        return Err(ForecastError::Fit(format!(
            "cases per month must be 0 or more, got {}",
            fit.cases_per_month
        )));
    }
    let events: u64 = fit
        .burst_sizes
        .iter()
        .map(|&(_, count)| u64::from(count))
        .sum();
    let cases: f64 = fit
        .burst_sizes
        .iter()
        .map(|&(size, count)| f64::from(size) * f64::from(count))
        .sum();
    if rate > 0.0 && events == 0 {
        return Err(ForecastError::Fit(
            "events arrive but there are no burst sizes to draw from".to_string(),
        ));
    }
    let simulated = if events > 0 {
        rate * cases / events as f64
    } else {
        0.0
    };
    let load = simulated.max(fit.cases_per_month);
    if load > MAX_CASES_PER_MONTH {
        return Err(ForecastError::Fit(format!(
            "{load:.0} cases per month is more than this model simulates ({MAX_CASES_PER_MONTH:.0})"
        )));
    }
    Ok(())
}

/// Makes the forecast: exact load figures from the fit, breach
/// probabilities by [`simulate`], and the members needed by simulating
/// teams of 1, 2, … [`MAX_MEMBERS_TRIED`] members with the same seed (so the
/// same arrivals) until every stage's breach probability is at most
/// `max_breach`.
pub fn forecast(fit: &Fit, assumptions: &Assumptions) -> Result<Forecast, ForecastError> {
    validate(fit, assumptions)?;
    let a = assumptions;
    let members = f64::from(a.members);
    let cases_per_month = fit.cases_per_month;
    let effort: f64 = a.stages.iter().map(|s| s.effort_hours).sum();
    let hours_needed_per_month = cases_per_month * effort;
    let hours_available_per_month = members * a.hours_per_member_per_week * 52.0 / 12.0;
    let utilisation = hours_needed_per_month / hours_available_per_month;
    let stages = simulate(fit, a);

    fn within(results: &[StageResult], max_breach: f64) -> bool {
        results.iter().all(|r| r.breach_probability <= max_breach)
    }
    let mut members_needed = None;
    for team in 1..=MAX_MEMBERS_TRIED {
        let ok = if team == a.members {
            within(&stages, a.max_breach)
        } else {
            let trial = Assumptions {
                members: team,
                ..a.clone()
            };
            within(&simulate(fit, &trial), a.max_breach)
        };
        if ok {
            members_needed = Some(team);
            break;
        }
    }

    let method = method_sentences(fit, a, hours_available_per_month);
    Ok(Forecast {
        fit: fit.clone(),
        assumptions: a.clone(),
        cases_per_month,
        cases_per_member_per_month: cases_per_month / members,
        hours_needed_per_month,
        hours_available_per_month,
        utilisation,
        stages,
        members_needed,
        method,
    })
}

fn percent(p: f64) -> String {
    format!("{:.1}%", p * 100.0)
}

fn method_sentences(fit: &Fit, a: &Assumptions, hours_available_per_month: f64) -> Vec<String> {
    let days_per_month = BUSINESS_DAYS_PER_MONTH;
    let lambda_day = fit.events_per_month / f64::from(days_per_month);
    let hours_per_day =
        f64::from(a.members) * a.hours_per_member_per_week / f64::from(BUSINESS_DAYS_PER_WEEK);
    let work = a
        .stages
        .iter()
        .map(|s| {
            format!(
                "{} {} h (target {} business day{})",
                s.label,
                s.effort_hours,
                s.target_business_days,
                if s.target_business_days == 1 { "" } else { "s" }
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        format!(
            "Arrivals are a compound (bursty) Poisson process fitted to the history: {} events carrying {} cases over {} calendar months ({} to {}).",
            fit.events, fit.cases, fit.months, fit.first_month, fit.last_month
        ),
        format!(
            "Event rate λ = events / months = {:.3} events per month (the maximum-likelihood estimate), i.e. {:.4} per business day.",
            fit.events_per_month, lambda_day
        ),
        format!(
            "Each event brings a burst of cases drawn from the history's own events, each equally likely (mean {:.2} cases per event, largest {}): one event can yield many CVEs.",
            fit.mean_burst, fit.largest_burst
        ),
        format!(
            "Expected load: {:.2} cases per month, {:.2} per member with {} member{}; the past rate is assumed to continue, with no trend or seasonality.",
            fit.cases_per_month,
            fit.cases_per_month / f64::from(a.members.max(1)),
            a.members,
            if a.members == 1 { "" } else { "s" }
        ),
        format!(
            "Time runs in business days: {days_per_month} per month and {BUSINESS_DAYS_PER_WEEK} per week; holidays and absences are not modelled."
        ),
        format!(
            "Each member gives {} hours a week, so the team works {:.2} hours each business day; the hours available per month ({:.1}) use 52/12 weeks per month.",
            a.hours_per_member_per_week, hours_per_day, hours_available_per_month
        ),
        format!("Work per case, fixed for every case: {work}."),
        "Each business day the team's hours go to the first stage's work first, oldest case first, then to the next stage, and so on; a case enters a stage only when the previous one is finished, and work may be split across days.".to_string(),
        "A stage's time is counted in business days from the case's arrival, the arrival day being day 1 (not from entering the stage); a breach is a time beyond the target.".to_string(),
        format!(
            "Each run simulates a {WARM_UP_MONTHS}-month warm-up whose cases are not counted, then {} months; {} runs with seed {}.",
            a.months, a.runs, a.seed
        ),
        "Breach probability = breached counted cases / counted cases over all runs. A case unfinished when a run ends counts as breached if it has already used up its target, and is otherwise left out.".to_string(),
        "The median and 90th percentile are nearest-rank values over the counted cases that finished the stage.".to_string(),
        format!(
            "Members needed: the smallest team of 1 to {MAX_MEMBERS_TRIED} members for which every stage's breach probability is at most {}, each simulated with the same seed (the same arrivals).",
            percent(a.max_breach)
        ),
    ]
}

fn days(value: f64) -> String {
    if (value - 1.0).abs() < 1e-9 {
        "1 day".to_string()
    } else {
        format!("{value:.0} days")
    }
}

impl fmt::Display for Forecast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = &self.assumptions;
        let fit = &self.fit;
        writeln!(f, "Capacity forecast")?;
        writeln!(f)?;
        writeln!(f, "Expected load:")?;
        let rows = [
            (
                "History",
                format!(
                    "{} events, {} cases, {} to {} ({} months)",
                    fit.events, fit.cases, fit.first_month, fit.last_month, fit.months
                ),
            ),
            ("Cases per month", format!("{:.2}", self.cases_per_month)),
            ("Team members", a.members.to_string()),
            (
                "Cases per member per month",
                format!("{:.2}", self.cases_per_member_per_month),
            ),
            (
                "Hours needed per month",
                format!("{:.1}", self.hours_needed_per_month),
            ),
            (
                "Hours available per month",
                format!(
                    "{:.1} ({} x {} h/week x 52/12)",
                    self.hours_available_per_month, a.members, a.hours_per_member_per_week
                ),
            ),
            ("Utilisation", percent(self.utilisation)),
        ];
        let width = rows.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
        for (key, value) in &rows {
            let label = format!("{key}:");
            writeln!(f, "  {label:<width$}  {value}")?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "Response-time targets ({} runs x {} months, seed {}; business days, the arrival day is day 1):",
            a.runs, a.months, a.seed
        )?;
        let header = [
            "Stage".to_string(),
            "Target".to_string(),
            "Breach probability".to_string(),
            "Median".to_string(),
            "90th percentile".to_string(),
        ];
        let cells: Vec<[String; 5]> = self
            .stages
            .iter()
            .map(|s| {
                [
                    s.label.clone(),
                    days(f64::from(s.target_business_days)),
                    percent(s.breach_probability),
                    days(s.median_business_days),
                    days(s.p90_business_days),
                ]
            })
            .collect();
        let mut widths = [0usize; 5];
        for row in std::iter::once(&header).chain(cells.iter()) {
            for (w, cell) in widths.iter_mut().zip(row.iter()) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(cells.iter()) {
            let mut line = String::from("  ");
            for (i, (cell, &w)) in row.iter().zip(widths.iter()).enumerate() {
                if i > 0 {
                    line.push_str("   ");
                }
                line.push_str(&format!("{cell:<w$}"));
            }
            writeln!(f, "{}", line.trim_end())?;
        }
        writeln!(f)?;
        match self.members_needed {
            Some(n) => writeln!(
                f,
                "Members needed for a breach probability of at most {} at every stage: {} (the team has {}).",
                percent(a.max_breach),
                n,
                a.members
            )?,
            None => writeln!(
                f,
                "Members needed for a breach probability of at most {} at every stage: more than {} (no team of 1 to {} members is enough).",
                percent(a.max_breach),
                MAX_MEMBERS_TRIED,
                MAX_MEMBERS_TRIED
            )?,
        }
        writeln!(f)?;
        writeln!(f, "Method and assumptions:")?;
        for sentence in &self.method {
            writeln!(f, "  - {sentence}")?;
        }
        Ok(())
    }
}
