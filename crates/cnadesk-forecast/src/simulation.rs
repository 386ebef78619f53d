//! The Monte Carlo core: compound Poisson arrivals, a team working the
//! stages in priority order, first come first served within a stage.

use std::collections::VecDeque;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::history::Fit;
use crate::model::{Assumptions, StageResult};

/// Business days in a month (an assumption of the model).
pub const BUSINESS_DAYS_PER_MONTH: u32 = 21;
/// Business days in a week (an assumption of the model).
pub const BUSINESS_DAYS_PER_WEEK: u32 = 5;
/// Months simulated at the start of every run whose cases are not counted.
pub const WARM_UP_MONTHS: u32 = 3;
/// The longest horizon [`simulate`] runs, in months; longer ones are cut.
pub const MAX_MONTHS: u32 = 120;
/// The most runs [`simulate`] does; more are cut.
pub const MAX_RUNS: u32 = 100_000;
/// The highest daily event rate the sampler draws from; higher rates are
/// cut to it (only reachable by calling [`simulate`] with an unvalidated fit).
const MAX_EVENTS_PER_DAY: f64 = 10_000.0;
/// Knuth's method multiplies uniforms down to `exp(-λ)`; a large λ is split
/// into pieces no larger than this (a sum of Poisson draws is Poisson).
const POISSON_PIECE: f64 = 30.0;
/// Rounding slack when a case's remaining work is compared with the hours left.
const EPSILON: f64 = 1e-9;

/// Draws arrivals: events per business day and cases per event.
struct Arrivals {
    /// Number of Knuth pieces per day (0 when there are no arrivals).
    pieces: u32,
    /// `exp(-λ_day / pieces)`.
    piece_limit: f64,
    /// Burst sizes with events, ascending.
    sizes: Vec<u32>,
    /// Cumulative event counts, aligned with `sizes`.
    cumulative: Vec<u64>,
    /// Total event count (the last cumulative value).
    total: u64,
}

impl Arrivals {
    fn new(fit: &Fit) -> Self {
        let mut sizes = Vec::new();
        let mut cumulative = Vec::new();
        let mut total: u64 = 0;
        for &(size, count) in &fit.burst_sizes {
            if count > 0 {
                total += u64::from(count);
                sizes.push(size);
                cumulative.push(total);
            }
        }
        let rate = fit.events_per_month;
        let lambda_day = if total > 0 && rate.is_finite() && rate > 0.0 {
            (rate / f64::from(BUSINESS_DAYS_PER_MONTH)).min(MAX_EVENTS_PER_DAY)
        } else {
            0.0
        };
        let (pieces, piece_limit) = if lambda_day > 0.0 {
            let pieces = (lambda_day / POISSON_PIECE).ceil().max(1.0);
            (pieces as u32, (-lambda_day / pieces).exp())
        } else {
            (0, 1.0)
        };
        Arrivals {
            pieces,
            piece_limit,
            sizes,
            cumulative,
            total,
        }
    }

    /// The number of events on one business day: Poisson(λ_day), by Knuth's
    /// multiplication method.
    fn events_today(&self, rng: &mut StdRng) -> u32 {
        let mut events = 0u32;
        for _ in 0..self.pieces {
            let mut product = 1.0_f64;
            loop {
                product *= rng.gen::<f64>();
                if product <= self.piece_limit {
                    break;
                }
                events = events.saturating_add(1);
            }
        }
        events
    }

    /// The number of cases one event yields: drawn from the history's
    /// events, each equally likely.
    fn burst(&self, rng: &mut StdRng) -> u32 {
        match self.sizes.as_slice() {
            [] => 0,
            [only] => *only,
            _ => {
                let draw = rng.gen_range(0..self.total);
                let index = self.cumulative.partition_point(|&c| c <= draw);
                self.sizes.get(index).copied().unwrap_or(0)
            }
        }
    }

    /// The cases arriving on one business day.
    fn cases_today(&self, rng: &mut StdRng) -> u32 {
        let mut cases = 0u32;
        for _ in 0..self.events_today(rng) {
            cases = cases.saturating_add(self.burst(rng));
        }
        cases
    }
}

/// Samples `months` monthly case counts from the fitted arrival process (the
/// same sampler [`simulate`] uses: 21 business days a month, Poisson events
/// each day, each event's cases drawn from the history's burst sizes).
///
/// The counts follow a compound Poisson law: mean `λ·E[K]`, variance
/// `λ·E[K²]`, where λ is `events_per_month` and K the burst size. Useful to
/// check the sampler and to show how uneven months can be.
pub fn sample_monthly_cases(fit: &Fit, months: u32, seed: u64) -> Vec<u32> {
    let arrivals = Arrivals::new(fit);
    let mut rng = StdRng::seed_from_u64(seed);
    (0..months)
        .map(|_| {
            let mut cases = 0u32;
            for _ in 0..BUSINESS_DAYS_PER_MONTH {
                cases = cases.saturating_add(arrivals.cases_today(&mut rng));
            }
            cases
        })
        .collect()
}

/// One case waiting for (or part way through) a stage.
#[derive(Debug, Clone, Copy)]
struct Job {
    /// The business day the case arrived (0 is the first day of the run).
    arrival: u32,
    /// Hours of this stage's work still to do.
    remaining: f64,
}

/// Runs the Monte Carlo simulation described in the crate documentation and
/// reports, per stage, the breach probability and the median and 90th
/// percentile time (business days from arrival, the arrival day being day 1).
///
/// [`forecast`](crate::forecast()) validates the assumptions first; called directly,
/// this does not, but it never panics or runs away: `months` is cut to
/// 1..=[`MAX_MONTHS`], `runs` to at most [`MAX_RUNS`], and no stages give an
/// empty result.
pub fn simulate(fit: &Fit, assumptions: &Assumptions) -> Vec<StageResult> {
    let stages = &assumptions.stages;
    let count = stages.len();
    if count == 0 {
        return Vec::new();
    }
    let months = assumptions.months.clamp(1, MAX_MONTHS);
    let runs = assumptions.runs.min(MAX_RUNS);
    let warm_up_days = WARM_UP_MONTHS * BUSINESS_DAYS_PER_MONTH;
    let total_days = warm_up_days + months * BUSINESS_DAYS_PER_MONTH;
    let capacity = f64::from(assumptions.members) * assumptions.hours_per_member_per_week
        / f64::from(BUSINESS_DAYS_PER_WEEK);
    let efforts: Vec<f64> = stages.iter().map(|s| s.effort_hours).collect();
    let targets: Vec<u32> = stages.iter().map(|s| s.target_business_days).collect();

    let arrivals = Arrivals::new(fit);
    let mut rng = StdRng::seed_from_u64(assumptions.seed);
    let mut queues: Vec<VecDeque<Job>> = vec![VecDeque::new(); count];
    // times[stage][t]: counted cases that finished the stage in t business days.
    let mut times: Vec<Vec<u64>> = vec![vec![0; total_days as usize + 2]; count];
    let mut counted = vec![0u64; count];
    let mut breached = vec![0u64; count];

    for _ in 0..runs {
        for queue in &mut queues {
            queue.clear();
        }
        for day in 0..total_days {
            let new_cases = arrivals.cases_today(&mut rng);
            for _ in 0..new_cases {
                queues[0].push_back(Job {
                    arrival: day,
                    remaining: efforts[0],
                });
            }
            let mut hours = capacity;
            for stage in 0..count {
                while let Some(front) = queues[stage].front_mut() {
                    if front.remaining <= hours + EPSILON {
                        hours = (hours - front.remaining).max(0.0);
                        let arrival = front.arrival;
                        queues[stage].pop_front();
                        if arrival >= warm_up_days {
                            let time = day - arrival + 1;
                            counted[stage] += 1;
                            if time > targets[stage] {
                                breached[stage] += 1;
                            }
                            if let Some(slot) = times[stage].get_mut(time as usize) {
                                *slot += 1;
                            }
                        }
                        if stage + 1 < count {
                            queues[stage + 1].push_back(Job {
                                arrival,
                                remaining: efforts[stage + 1],
                            });
                        }
                    } else {
                        front.remaining -= hours;
                        hours = 0.0;
                        break;
                    }
                }
            }
        }
        // The horizon ends. A counted case still waiting in stage j has
        // finished neither stage j nor any later stage. It has already spent
        // `total_days - arrival` business days, so its time will be at least
        // one more than that: when `spent >= target` the breach is certain
        // and counted; otherwise the case is left out.
        for (waiting_in, queue) in queues.iter().enumerate() {
            for job in queue {
                if job.arrival < warm_up_days {
                    continue;
                }
                let spent = total_days - job.arrival;
                for stage in waiting_in..count {
                    if spent >= targets[stage] {
                        counted[stage] += 1;
                        breached[stage] += 1;
                    }
                }
            }
        }
    }

    stages
        .iter()
        .enumerate()
        .map(|(i, stage)| {
            let finished: u64 = times[i].iter().sum();
            StageResult {
                key: stage.key.clone(),
                label: stage.label.clone(),
                target_business_days: stage.target_business_days,
                breach_probability: if counted[i] == 0 {
                    0.0
                } else {
                    breached[i] as f64 / counted[i] as f64
                },
                median_business_days: nearest_rank(&times[i], finished, 50),
                p90_business_days: nearest_rank(&times[i], finished, 90),
                counted_cases: counted[i],
            }
        })
        .collect()
}

/// The nearest-rank percentile of a histogram of whole business days: the
/// smallest time `t` such that at least `ceil(percent/100 · total)` values
/// are `<= t`. 0.0 when there are no values.
fn nearest_rank(histogram: &[u64], total: u64, percent: u64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    let rank = (total.saturating_mul(percent)).div_ceil(100).max(1);
    let mut seen = 0u64;
    for (time, &n) in histogram.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return time as f64;
        }
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        // Values 1, 2, 2, 3, 10.
        let mut histogram = vec![0u64; 12];
        histogram[1] = 1;
        histogram[2] = 2;
        histogram[3] = 1;
        histogram[10] = 1;
        assert_eq!(nearest_rank(&histogram, 5, 50), 2.0); // rank 3
        assert_eq!(nearest_rank(&histogram, 5, 90), 10.0); // rank 5
        assert_eq!(nearest_rank(&histogram, 5, 60), 2.0); // rank 3
        assert_eq!(nearest_rank(&histogram, 5, 61), 3.0); // rank 4
        assert_eq!(nearest_rank(&[], 0, 50), 0.0);
    }

    #[test]
    fn burst_draws_follow_the_counts() {
        let fit = Fit {
            first_month: "2024-01".into(),
            last_month: "2024-01".into(),
            months: 1,
            events: 4,
            cases: 15,
            events_per_month: 4.0,
            burst_sizes: vec![(1, 3), (12, 1)],
            mean_burst: 3.75,
            cases_per_month: 15.0,
            largest_burst: 12,
        };
        let arrivals = Arrivals::new(&fit);
        let mut rng = StdRng::seed_from_u64(7);
        let draws: u32 = 40_000;
        let twelves = (0..draws)
            .filter(|_| arrivals.burst(&mut rng) == 12)
            .count();
        let share = twelves as f64 / f64::from(draws);
        // Expected 0.25; standard error about 0.0022.
        assert!((share - 0.25).abs() < 0.01, "share of 12s {share}");
    }

    #[test]
    fn poisson_mean_and_variance_for_small_and_large_rates() {
        for rate in [0.3_f64, 4.0, 75.0] {
            let fit = Fit {
                first_month: "2024-01".into(),
                last_month: "2024-01".into(),
                months: 1,
                events: 1,
                cases: 1,
                events_per_month: rate * f64::from(BUSINESS_DAYS_PER_MONTH),
                burst_sizes: vec![(1, 1)],
                mean_burst: 1.0,
                cases_per_month: rate * f64::from(BUSINESS_DAYS_PER_MONTH),
                largest_burst: 1,
            };
            let arrivals = Arrivals::new(&fit);
            let mut rng = StdRng::seed_from_u64(11);
            let n: u32 = 50_000;
            let draws: Vec<f64> = (0..n)
                .map(|_| f64::from(arrivals.events_today(&mut rng)))
                .collect();
            let mean = draws.iter().sum::<f64>() / f64::from(n);
            let var = draws.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / f64::from(n - 1);
            let se = (rate / f64::from(n)).sqrt();
            assert!((mean - rate).abs() < 4.0 * se, "rate {rate}: mean {mean}");
            assert!(
                (var / rate - 1.0).abs() < 0.05,
                "rate {rate}: variance {var}"
            );
        }
    }
}
