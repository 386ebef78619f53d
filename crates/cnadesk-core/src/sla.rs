//! Response-time commitments: targets in wall-clock hours or business days,
//! a holiday calendar, and clocks that start, pause (waiting on the
//! reporter), resume, warn, breach and are met. All arithmetic is in UTC;
//! people see the result in their own time zone.

use std::collections::BTreeSet;

use jiff::civil::{Date, Weekday};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A target: how long something may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// Wall-clock hours (the 72-hour publication rule).
    Hours(i64),
    /// Business days: whole days that are neither weekend nor holiday, in UTC.
    BusinessDays(i64),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Target::Hours(1) => f.write_str("1 hour"),
            Target::Hours(h) => write!(f, "{h} hours"),
            Target::BusinessDays(1) => f.write_str("1 business day"),
            Target::BusinessDays(d) => write!(f, "{d} business days"),
        }
    }
}

impl Target {
    /// The amount of counted time the target allows, in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Target::Hours(h) => h * 3600,
            Target::BusinessDays(d) => d * 86_400,
        }
    }

    fn counts_business_time(self) -> bool {
        matches!(self, Target::BusinessDays(_))
    }
}

/// Which days count as business days.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Calendar {
    holidays: BTreeSet<Date>,
}

impl Calendar {
    /// A calendar with these holidays (weekends are never business days).
    pub fn new(holidays: impl IntoIterator<Item = Date>) -> Self {
        Calendar {
            holidays: holidays.into_iter().collect(),
        }
    }

    /// Whether a UTC date is a business day.
    pub fn is_business_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
            && !self.holidays.contains(&date)
    }

    /// Seconds in `[from, to)` that count for `target`.
    fn counted(&self, from: Timestamp, to: Timestamp, target: Target) -> i64 {
        if to <= from {
            return 0;
        }
        if !target.counts_business_time() {
            return to.as_second() - from.as_second();
        }
        let mut total = 0;
        let mut cursor = from;
        while cursor < to {
            let date = utc_date(cursor);
            let next_midnight = midnight_after(date);
            let end = if next_midnight < to {
                next_midnight
            } else {
                to
            };
            if self.is_business_day(date) {
                total += end.as_second() - cursor.as_second();
            }
            cursor = end;
        }
        total
    }

    /// The instant at which `amount` counted seconds have passed after `from`.
    fn advance(&self, from: Timestamp, amount: i64, target: Target) -> Timestamp {
        if !target.counts_business_time() {
            return from + SignedDuration::from_secs(amount);
        }
        let mut left = amount;
        let mut cursor = from;
        // Bounded: a calendar cannot hold more than a few years of holidays in a row.
        for _ in 0..20_000 {
            let date = utc_date(cursor);
            let next_midnight = midnight_after(date);
            if self.is_business_day(date) {
                let available = next_midnight.as_second() - cursor.as_second();
                if left <= available {
                    return cursor + SignedDuration::from_secs(left);
                }
                left -= available;
            }
            cursor = next_midnight;
        }
        cursor
    }
}

/// A moment given in milliseconds since the Unix epoch (the store's unit);
/// out-of-range values read as the epoch.
pub fn timestamp(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The UTC date of a moment in milliseconds.
pub fn utc_date_ms(ms: i64) -> Date {
    utc_date(timestamp(ms))
}

/// The UTC date of a moment.
pub fn utc_date(t: Timestamp) -> Date {
    t.to_zoned(jiff::tz::TimeZone::UTC).date()
}

fn midnight_after(date: Date) -> Timestamp {
    date.tomorrow()
        .ok()
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX)
}

/// One clock: when it started, when it was paused and resumed, when it was met.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Clock {
    /// Started.
    pub started: Option<Timestamp>,
    /// Pauses: (paused at, resumed at; `None` while paused).
    pub pauses: Vec<(Timestamp, Option<Timestamp>)>,
    /// Met (stopped for good).
    pub met: Option<Timestamp>,
}

/// Where a clock stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum Status {
    /// Not started.
    NotStarted,
    /// Running, comfortably.
    Running {
        /// When it falls due (if nothing pauses it).
        due: Timestamp,
        /// Share of the target used, in per mille.
        used_permille: i64,
    },
    /// Paused (waiting on someone else).
    Paused {
        /// Share of the target used, in per mille.
        used_permille: i64,
    },
    /// Past the warning threshold, not yet due.
    Warning {
        /// When it falls due.
        due: Timestamp,
        /// Share used, per mille.
        used_permille: i64,
    },
    /// Past due, not met.
    Breached {
        /// When it fell due.
        due: Timestamp,
    },
    /// Met; on time or not.
    Met {
        /// Whether within the target.
        on_time: bool,
    },
}

/// A clock operation that does not fit its state.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ClockError {
    /// Start twice.
    #[error("the clock has already started")]
    AlreadyStarted,
    /// Pause, resume or meet before start.
    #[error("the clock has not started")]
    NotStarted,
    /// Pause while paused.
    #[error("the clock is already paused")]
    AlreadyPaused,
    /// Resume while running.
    #[error("the clock is not paused")]
    NotPaused,
    /// Anything after met.
    #[error("the clock has stopped")]
    Stopped,
    /// Time going backwards.
    #[error("that moment is before the clock's last change")]
    BeforeLastChange,
}

impl Clock {
    fn last_change(&self) -> Option<Timestamp> {
        let pause = self.pauses.last().map(|(p, r)| r.unwrap_or(*p));
        [self.started, pause, self.met].into_iter().flatten().max()
    }

    fn check(&self, at: Timestamp) -> Result<(), ClockError> {
        if self.met.is_some() {
            return Err(ClockError::Stopped);
        }
        if self.started.is_none() {
            return Err(ClockError::NotStarted);
        }
        if self.last_change().is_some_and(|l| at < l) {
            return Err(ClockError::BeforeLastChange);
        }
        Ok(())
    }

    /// Whether it is paused now.
    pub fn paused(&self) -> bool {
        self.pauses.last().is_some_and(|(_, r)| r.is_none())
    }

    /// Starts the clock.
    pub fn start(&mut self, at: Timestamp) -> Result<(), ClockError> {
        if self.started.is_some() {
            return Err(ClockError::AlreadyStarted);
        }
        self.started = Some(at);
        Ok(())
    }

    /// Pauses it (waiting on the reporter).
    pub fn pause(&mut self, at: Timestamp) -> Result<(), ClockError> {
        self.check(at)?;
        if self.paused() {
            return Err(ClockError::AlreadyPaused);
        }
        self.pauses.push((at, None));
        Ok(())
    }

    /// Resumes it.
    pub fn resume(&mut self, at: Timestamp) -> Result<(), ClockError> {
        self.check(at)?;
        match self.pauses.last_mut() {
            Some((_, r @ None)) => {
                *r = Some(at);
                Ok(())
            }
            _ => Err(ClockError::NotPaused),
        }
    }

    /// Stops it: the commitment was met at `at`.
    pub fn meet(&mut self, at: Timestamp) -> Result<(), ClockError> {
        self.check(at)?;
        if self.paused() {
            // Meeting while paused ends the pause at the same moment.
            self.resume(at)?;
        }
        self.met = Some(at);
        Ok(())
    }

    /// Counted seconds used up to `now` (pauses not counted).
    pub fn used(&self, now: Timestamp, target: Target, calendar: &Calendar) -> i64 {
        let Some(start) = self.started else { return 0 };
        let end = self.met.map_or(now, |m| m.min(now));
        let mut used = calendar.counted(start, end, target);
        for (p, r) in &self.pauses {
            let pause_end = r.unwrap_or(end).min(end);
            used -= calendar.counted(*p, pause_end, target);
        }
        used.max(0)
    }

    /// The due moment if the clock keeps running from `now`.
    pub fn due(&self, now: Timestamp, target: Target, calendar: &Calendar) -> Option<Timestamp> {
        self.started?;
        let left = target.seconds() - self.used(now, target, calendar);
        Some(if left <= 0 {
            // Already past: the moment the target was reached.
            self.moment_used(target.seconds(), target, calendar)
                .unwrap_or(now)
        } else {
            calendar.advance(now, left, target)
        })
    }

    /// The moment at which `amount` counted seconds had been used, if it has passed.
    fn moment_used(&self, amount: i64, target: Target, calendar: &Calendar) -> Option<Timestamp> {
        let start = self.started?;
        let mut left = amount;
        let mut cursor = start;
        for (p, r) in &self.pauses {
            let run = calendar.counted(cursor, *p, target);
            if run >= left {
                return Some(calendar.advance(cursor, left, target));
            }
            left -= run;
            cursor = (*r)?;
        }
        Some(calendar.advance(cursor, left, target))
    }

    /// Where the clock stands at `now`; `warn_permille` is the warning
    /// threshold (750 = at 75 % of the target).
    pub fn status(
        &self,
        now: Timestamp,
        target: Target,
        calendar: &Calendar,
        warn_permille: i64,
    ) -> Status {
        if self.started.is_none() {
            return Status::NotStarted;
        }
        let used = self.used(now, target, calendar);
        let used_permille = used * 1000 / target.seconds().max(1);
        if self.met.is_some() {
            return Status::Met {
                on_time: used <= target.seconds(),
            };
        }
        let due = self.due(now, target, calendar).unwrap_or(now);
        if used >= target.seconds() {
            return Status::Breached { due };
        }
        if self.paused() {
            return Status::Paused { used_permille };
        }
        if used_permille >= warn_permille {
            Status::Warning { due, used_permille }
        } else {
            Status::Running { due, used_permille }
        }
    }
}

/// A moment as a person in `time_zone` reads it, with the UTC value beside
/// it ("2026-03-30 16:00 CEST (14:00 UTC)"). Unknown zones show UTC.
pub fn local_time(at: Timestamp, time_zone: &str) -> String {
    let utc = at.to_zoned(jiff::tz::TimeZone::UTC);
    match jiff::tz::TimeZone::get(time_zone) {
        Ok(tz) if time_zone != "UTC" => {
            let local = at.to_zoned(tz);
            format!(
                "{} ({} UTC)",
                local.strftime("%Y-%m-%d %H:%M %Z"),
                utc.strftime("%H:%M")
            )
        }
        _ => utc.strftime("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn business_days_skip_weekends_and_holidays() {
        let cal = Calendar::new([d("2026-12-25"), d("2026-12-28")]);
        let mut c = Clock::default();
        // Thursday 24 December, 10:00 UTC; 2 business days.
        c.start(t("2026-12-24T10:00:00Z")).unwrap();
        // Counted: rest of 24th (14 h), 25th holiday, weekend, 28th holiday,
        // 29th (24 h), then 10 h of the 30th.
        assert_eq!(
            c.due(t("2026-12-24T10:00:00Z"), Target::BusinessDays(2), &cal),
            Some(t("2026-12-30T10:00:00Z"))
        );
        // Started on a Saturday: counting begins Monday 00:00.
        let mut s = Clock::default();
        s.start(t("2026-11-28T15:00:00Z")).unwrap();
        assert_eq!(
            s.due(
                t("2026-11-28T15:00:00Z"),
                Target::BusinessDays(1),
                &Calendar::default()
            ),
            Some(t("2026-12-01T00:00:00Z"))
        );
    }

    #[test]
    fn hours_are_wall_clock_including_weekends() {
        let mut c = Clock::default();
        c.start(t("2026-11-27T12:00:00Z")).unwrap(); // a Friday
        assert_eq!(
            c.due(
                t("2026-11-27T12:00:00Z"),
                Target::Hours(72),
                &Calendar::default()
            ),
            Some(t("2026-11-30T12:00:00Z"))
        );
    }

    #[test]
    fn pauses_stop_the_clock_and_warnings_and_breaches_follow() {
        let cal = Calendar::default();
        let target = Target::BusinessDays(2);
        let mut c = Clock::default();
        c.start(t("2026-11-23T00:00:00Z")).unwrap(); // Monday
        assert!(matches!(
            c.status(t("2026-11-23T12:00:00Z"), target, &cal, 750),
            Status::Running {
                used_permille: 250,
                ..
            }
        ));
        // Waiting on the reporter from Monday 12:00 to Wednesday 12:00.
        c.pause(t("2026-11-23T12:00:00Z")).unwrap();
        assert_eq!(
            c.pause(t("2026-11-23T13:00:00Z")),
            Err(ClockError::AlreadyPaused)
        );
        assert!(matches!(
            c.status(t("2026-11-25T00:00:00Z"), target, &cal, 750),
            Status::Paused { used_permille: 250 }
        ));
        c.resume(t("2026-11-25T12:00:00Z")).unwrap();
        // 12 h used before the pause, 36 h left from Wednesday 12:00.
        assert_eq!(
            c.due(t("2026-11-25T12:00:00Z"), target, &cal),
            Some(t("2026-11-27T00:00:00Z"))
        );
        assert!(matches!(
            c.status(t("2026-11-26T00:00:00Z"), target, &cal, 750),
            Status::Running {
                used_permille: 500,
                ..
            }
        ));
        // 36 of 48 hours used at Thursday 12:00: the warning.
        assert!(matches!(
            c.status(t("2026-11-26T12:00:00Z"), target, &cal, 750),
            Status::Warning {
                used_permille: 750,
                ..
            }
        ));
        assert_eq!(
            c.status(t("2026-11-27T01:00:00Z"), target, &cal, 750),
            Status::Breached {
                due: t("2026-11-27T00:00:00Z")
            }
        );
        c.meet(t("2026-11-27T02:00:00Z")).unwrap();
        assert_eq!(
            c.status(t("2026-11-30T00:00:00Z"), target, &cal, 750),
            Status::Met { on_time: false }
        );
        assert_eq!(
            c.resume(t("2026-11-30T00:00:00Z")),
            Err(ClockError::Stopped)
        );
    }

    #[test]
    fn time_cannot_run_backwards_on_a_clock() {
        let mut c = Clock::default();
        assert_eq!(
            c.pause(t("2026-11-23T00:00:00Z")),
            Err(ClockError::NotStarted)
        );
        c.start(t("2026-11-23T10:00:00Z")).unwrap();
        assert_eq!(
            c.start(t("2026-11-23T11:00:00Z")),
            Err(ClockError::AlreadyStarted)
        );
        assert_eq!(
            c.pause(t("2026-11-23T09:00:00Z")),
            Err(ClockError::BeforeLastChange)
        );
        assert_eq!(
            c.resume(t("2026-11-23T11:00:00Z")),
            Err(ClockError::NotPaused)
        );
    }

    #[test]
    fn people_read_times_in_their_zone_across_dst() {
        // Berlin switches to summer time on 29 March 2026.
        assert_eq!(
            local_time(t("2026-03-27T15:00:00Z"), "Europe/Berlin"),
            "2026-03-27 16:00 CET (15:00 UTC)"
        );
        assert_eq!(
            local_time(t("2026-03-30T15:00:00Z"), "Europe/Berlin"),
            "2026-03-30 17:00 CEST (15:00 UTC)"
        );
        assert_eq!(
            local_time(t("2026-03-30T15:00:00Z"), "Not/AZone"),
            "2026-03-30 15:00 UTC"
        );
    }
}
