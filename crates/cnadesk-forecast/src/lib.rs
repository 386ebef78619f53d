//! Capacity forecast for a CNA team: what would the workload be?
//!
//! From a history of arrival events (reports and public disclosures; one
//! event may yield many cases, as when one protocol flaw produced 12 CVEs
//! across clients) this crate estimates the expected cases per member per
//! month, the probability of breaching each response-time target with the
//! current team, and how many members keep every breach probability below a
//! chosen level. The method is a Monte Carlo simulation of a compound
//! ("bursty") Poisson arrival process fitted to the history; it is
//! deterministic given a seed.
//!
//! # The history file
//!
//! CSV, UTF-8. The first line that is neither blank nor a comment is the
//! header, exactly `date,kind,cases,note` or `date,kind,cases` (the note
//! column is optional; names are matched without regard to ASCII case or
//! surrounding spaces). Then one event per line:
//!
//! ```text
//! # date,kind,cases,note
//! date,kind,cases,note
//! 2017-02-01,disclosure,12,message carbons spoofing
//! 2017-03-14,report,1,"XSS in the web client, via the nickname"
//! 2017-05-02,report,2
//! ```
//!
//! - `date`: `YYYY-MM-DD`, a real calendar date.
//! - `kind`: `report` or `disclosure`.
//! - `cases`: a whole number from 1 to 1000: how many cases (CVEs) the
//!   event yielded. Required.
//! - `note`: free text, optional even when the header names it. A field may
//!   be put in double quotes, which lets it hold commas; inside quotes `""`
//!   stands for one `"`. Unquoted fields are trimmed of spaces.
//!
//! Blank lines and lines starting with `#` are ignored. Errors name the
//! line (1-based) and the column, e.g.
//! `line 4, column "date": "2017-13-01" is not a date (YYYY-MM-DD)`.
//! A file without events is an error too: `the history has no events`.
//!
//! # The fit
//!
//! [`fit`] counts the inclusive span of calendar months from the first to
//! the last event's month (or takes a longer span from [`fit_with_span`]).
//! Every event is one arrival; the Poisson rate λ is `events / months`
//! (the maximum-likelihood estimate). The burst size of an event is its
//! `cases`, and the empirical distribution of burst sizes is used as it is.
//!
//! # The simulation model
//!
//! - Time runs in business days: 21 per month and 5 per week (assumptions).
//! - Arrivals: each business day the number of events is Poisson with mean
//!   `λ_day = events_per_month / 21`; each event yields a burst size drawn
//!   from the history's events, each equally likely; every case then needs
//!   each stage's effort, in hours.
//! - Capacity: `members × hours_per_member_per_week / 5` hours per business
//!   day. Each day the hours go to the oldest unfinished stage-0 work first
//!   (first come, first served by arrival; cases waiting from earlier days
//!   come before the day's new arrivals), then to stage 1 in the same way,
//!   and so on. Work may be split across days. A case enters stage k+1 only
//!   when stage k is finished (possibly the same day); a stage with effort 0
//!   is finished as soon as the case reaches it.
//! - A case's time for stage k is the business day its stage-k work is
//!   finished minus its arrival day plus 1: measured from arrival (not from
//!   entering the stage), the arrival day being day 1. It breaches the
//!   stage when that time exceeds the stage's `target_business_days`.
//! - Each run starts with an empty queue, simulates a 3-month warm-up whose
//!   cases are not counted, then `months` months whose arrivals are counted.
//!   Arrivals stop at the horizon and the queue is not drained: a counted
//!   case unfinished at the end counts as breached for every stage it has
//!   not finished if it has already used up that stage's target (the
//!   breach is then certain), and is otherwise left out.
//! - `breach_probability` is breached counted cases / counted cases, over
//!   all runs (0.0 when there are none). The median and 90th percentile are
//!   nearest-rank percentiles (the smallest time t such that at least
//!   `ceil(p · n)` of the n values are `<= t`) over the counted cases that
//!   finished the stage (0.0 when none did).
//! - `members_needed` simulates teams of 1, 2, … 50 members with the same
//!   seed (hence the same arrivals) and reports the first for which every
//!   stage's breach probability is at most `max_breach`.
//!
//! The load figures (`cases_per_member_per_month`, `hours_needed_per_month`,
//! `hours_available_per_month`, `utilisation`) are exact arithmetic on the
//! fit, not simulated; the available hours use 52/12 weeks per month.
//!
//! # Example
//!
//! ```
//! use cnadesk_forecast::{fit, forecast, parse_history, Assumptions, Stage};
//!
//! let history = parse_history(
//!     "date,kind,cases,note\n\
//!      2023-01-10,report,1,\n\
//!      2023-06-02,disclosure,12,\"one flaw, many clients\"\n\
//!      2023-12-20,report,2,\n",
//! )
//! .unwrap();
//! let fit = fit(&history).unwrap();
//! assert_eq!(fit.months, 12);
//! let assumptions = Assumptions {
//!     members: 2,
//!     hours_per_member_per_week: 4.0,
//!     stages: vec![Stage {
//!         key: "acknowledge".into(),
//!         label: "Acknowledge a report".into(),
//!         effort_hours: 0.5,
//!         target_business_days: 2,
//!     }],
//!     months: 12,
//!     runs: 100,
//!     seed: 1,
//!     max_breach: 0.05,
//! };
//! let forecast = forecast(&fit, &assumptions).unwrap();
//! assert!((forecast.cases_per_member_per_month - 15.0 / 12.0 / 2.0).abs() < 1e-12);
//! assert!(forecast.to_string().contains("Method and assumptions:"));
//! ```
#![warn(clippy::unwrap_used)]
#![warn(missing_docs)]

mod forecast;
mod history;
mod model;
mod simulation;

pub use forecast::{
    forecast, validate, Forecast, ForecastError, MAX_CASES_PER_MONTH, MAX_MEMBERS_TRIED,
};
pub use history::{
    fit, fit_with_span, parse_history, EventKind, Fit, HistoryError, HistoryEvent,
    MAX_CASES_PER_EVENT,
};
pub use model::{Assumptions, Stage, StageResult};
pub use simulation::{
    sample_monthly_cases, simulate, BUSINESS_DAYS_PER_MONTH, BUSINESS_DAYS_PER_WEEK, MAX_MONTHS,
    MAX_RUNS, WARM_UP_MONTHS,
};
