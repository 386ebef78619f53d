//! The history file (CSV) and the fit of the arrival process to it.

use std::collections::BTreeMap;
use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// The largest number of cases one event may carry in a history file.
pub const MAX_CASES_PER_EVENT: u32 = 1000;

/// What kind of arrival an event was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A report sent to the team.
    Report,
    /// A public disclosure the team had to react to.
    Disclosure,
}

impl EventKind {
    /// The spelling used in the history file and in JSON: `report` or `disclosure`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Report => "report",
            EventKind::Disclosure => "disclosure",
        }
    }

    /// Reads `report` or `disclosure` (ASCII case does not matter).
    pub fn parse(text: &str) -> Option<EventKind> {
        if text.eq_ignore_ascii_case("report") {
            Some(EventKind::Report)
        } else if text.eq_ignore_ascii_case("disclosure") {
            Some(EventKind::Disclosure)
        } else {
            None
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One arrival event of the history: a report or a disclosure, which may
/// yield many cases (CVEs) at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEvent {
    /// The day the event arrived.
    pub date: Date,
    /// Report or disclosure.
    pub kind: EventKind,
    /// How many cases (CVEs) the event yielded; the burst size.
    pub cases: u32,
    /// A free-text note (may be empty).
    pub note: String,
}

/// What is wrong with a history, or with a span asked of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The history has no events.
    #[error("the history has no events")]
    Empty,
    /// The first line that is neither blank nor a comment is not a header.
    #[error(
        "line {line}: the header must be `date,kind,cases,note` or `date,kind,cases`, found `{found}`"
    )]
    Header {
        /// 1-based line number.
        line: usize,
        /// The line as found (shortened when long).
        found: String,
    },
    /// A line has too few or too many columns.
    #[error("line {line}: expected {expected}, found {found}")]
    Columns {
        /// 1-based line number.
        line: usize,
        /// What was expected, e.g. `3 or 4 columns (date,kind,cases,note)`.
        expected: &'static str,
        /// How many columns the line has.
        found: usize,
    },
    /// One field of a line is wrong.
    #[error("line {line}, column \"{column}\": {problem}")]
    Field {
        /// 1-based line number.
        line: usize,
        /// The column name: `date`, `kind`, `cases`, `note` (or `extra`).
        column: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// [`fit_with_span`] was asked for fewer months than the history covers.
    #[error(
        "a span of {requested} months is shorter than the history, which covers {needed} months ({first} to {last})"
    )]
    SpanTooShort {
        /// The span asked for.
        requested: u32,
        /// The span the events cover.
        needed: u32,
        /// The first event's month, `YYYY-MM`.
        first: String,
        /// The last event's month, `YYYY-MM`.
        last: String,
    },
}

const COLUMNS: [&str; 4] = ["date", "kind", "cases", "note"];

fn column_name(index: usize) -> &'static str {
    COLUMNS.get(index).copied().unwrap_or("extra")
}

fn field_error(line: usize, column: &'static str, problem: String) -> HistoryError {
    HistoryError::Field {
        line,
        column,
        problem,
    }
}

/// Parses a history file. See the crate documentation for the format.
///
/// Never panics; every problem is a [`HistoryError`] naming the line (and the
/// column, when one is at fault).
pub fn parse_history(csv: &str) -> Result<Vec<HistoryEvent>, HistoryError> {
    let csv = csv.strip_prefix('\u{feff}').unwrap_or(csv);
    // Some(true): the header has a note column.
    let mut header: Option<bool> = None;
    let mut events = Vec::new();
    for (index, raw) in csv.lines().enumerate() {
        let line = index + 1;
        let text = raw.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        match header {
            None => header = Some(parse_header(line, text)?),
            Some(has_note) => events.push(parse_event(line, text, has_note)?),
        }
    }
    if events.is_empty() {
        return Err(HistoryError::Empty);
    }
    Ok(events)
}

fn parse_header(line: usize, text: &str) -> Result<bool, HistoryError> {
    let names: Vec<String> = text
        .split(',')
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    match names.as_slice() {
        ["date", "kind", "cases", "note"] => Ok(true),
        ["date", "kind", "cases"] => Ok(false),
        _ => Err(HistoryError::Header {
            line,
            found: shorten(text, 60),
        }),
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_string()
    } else {
        let mut short: String = text.chars().take(max_chars).collect();
        short.push('…');
        short
    }
}

fn parse_event(line: usize, text: &str, has_note: bool) -> Result<HistoryEvent, HistoryError> {
    let fields = split_fields(text)
        .map_err(|(index, problem)| field_error(line, column_name(index), problem.to_string()))?;
    let (min, max, expected) = if has_note {
        (3, 4, "3 or 4 columns (date,kind,cases,note)")
    } else {
        (3, 3, "3 columns (date,kind,cases)")
    };
    if !(min..=max).contains(&fields.len()) {
        return Err(HistoryError::Columns {
            line,
            expected,
            found: fields.len(),
        });
    }
    let date = parse_date(&fields[0]).map_err(|problem| field_error(line, "date", problem))?;
    let kind = parse_kind(&fields[1]).map_err(|problem| field_error(line, "kind", problem))?;
    let cases = parse_cases(&fields[2]).map_err(|problem| field_error(line, "cases", problem))?;
    let note = fields.get(3).cloned().unwrap_or_default();
    Ok(HistoryEvent {
        date,
        kind,
        cases,
        note,
    })
}

/// Splits one line into fields at commas. A field may be put in double
/// quotes (then it may hold commas, and `""` stands for one `"`). Unquoted
/// fields are trimmed; quoted ones are kept as written.
///
/// An error names the index of the field at fault and the problem.
fn split_fields(line: &str) -> Result<Vec<String>, (usize, &'static str)> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(' ' | '\t')) {
            chars.next();
        }
        let index = fields.len();
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '"' {
                    if chars.peek() == Some(&'"') {
                        chars.next();
                        field.push('"');
                    } else {
                        closed = true;
                        break;
                    }
                } else {
                    field.push(c);
                }
            }
            if !closed {
                return Err((index, "has an opening double quote but no closing one"));
            }
            while matches!(chars.peek(), Some(' ' | '\t')) {
                chars.next();
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return Err((index, "has text after its closing double quote")),
            }
        } else {
            let mut last = true;
            for c in chars.by_ref() {
                if c == ',' {
                    last = false;
                    break;
                }
                field.push(c);
            }
            fields.push(field.trim().to_string());
            if last {
                return Ok(fields);
            }
        }
    }
}

fn parse_date(text: &str) -> Result<Date, String> {
    if text.is_empty() {
        return Err("is empty; expected a date (YYYY-MM-DD)".to_string());
    }
    let not_a_date = || format!("{text:?} is not a date (YYYY-MM-DD)");
    let bytes = text.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                *b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(not_a_date());
    }
    // All ten bytes are ASCII, so these slices fall on character boundaries.
    let year: i16 = text[0..4].parse().map_err(|_| not_a_date())?;
    let month: i8 = text[5..7].parse().map_err(|_| not_a_date())?;
    let day: i8 = text[8..10].parse().map_err(|_| not_a_date())?;
    Date::new(year, month, day).map_err(|_| not_a_date())
}

fn parse_kind(text: &str) -> Result<EventKind, String> {
    if text.is_empty() {
        return Err("is empty; expected report or disclosure".to_string());
    }
    EventKind::parse(text)
        .ok_or_else(|| format!("{text:?} is not an event kind (report or disclosure)"))
}

fn parse_cases(text: &str) -> Result<u32, String> {
    if text.is_empty() {
        return Err(format!(
            "is empty; expected a whole number of cases from 1 to {MAX_CASES_PER_EVENT}"
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{text:?} is not a whole number (1 to {MAX_CASES_PER_EVENT})"
        ));
    }
    match text.parse::<u32>() {
        Ok(cases) if (1..=MAX_CASES_PER_EVENT).contains(&cases) => Ok(cases),
        _ => Err(format!(
            "{text} is out of range (1 to {MAX_CASES_PER_EVENT})"
        )),
    }
}

/// The arrival process fitted to a history: a Poisson rate of events per
/// month and the empirical distribution of cases per event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fit {
    /// The month of the first event, `YYYY-MM`.
    pub first_month: String,
    /// The month of the last event, `YYYY-MM`.
    pub last_month: String,
    /// The calendar months the rates are divided by: the inclusive span
    /// from the first to the last event's month, or a longer span given to
    /// [`fit_with_span`].
    pub months: u32,
    /// Number of events.
    pub events: u32,
    /// Number of cases (the sum of the events' burst sizes).
    pub cases: u32,
    /// `events / months`: the maximum-likelihood Poisson rate λ.
    pub events_per_month: f64,
    /// `(cases per event, number of events)`, ascending by size.
    pub burst_sizes: Vec<(u32, u32)>,
    /// `cases / events`.
    pub mean_burst: f64,
    /// `cases / months`.
    pub cases_per_month: f64,
    /// The largest number of cases one event yielded.
    pub largest_burst: u32,
}

/// Fits the arrival process to a history, over the inclusive span of
/// calendar months from the first to the last event's month.
pub fn fit(events: &[HistoryEvent]) -> Result<Fit, HistoryError> {
    fit_inner(events, None)
}

/// Like [`fit`], but divides by `months` instead of the events' own span;
/// for a history known to cover a longer period (quiet months at either
/// end). `months` must be at least the span of the events.
pub fn fit_with_span(events: &[HistoryEvent], months: u32) -> Result<Fit, HistoryError> {
    fit_inner(events, Some(months))
}

fn month_index(date: Date) -> i32 {
    i32::from(date.year()) * 12 + i32::from(date.month()) - 1
}

fn month_label(index: i32) -> String {
    format!(
        "{:04}-{:02}",
        index.div_euclid(12),
        index.rem_euclid(12) + 1
    )
}

fn fit_inner(events: &[HistoryEvent], span: Option<u32>) -> Result<Fit, HistoryError> {
    let (Some(first), Some(last)) = (
        events.iter().map(|e| month_index(e.date)).min(),
        events.iter().map(|e| month_index(e.date)).max(),
    ) else {
        return Err(HistoryError::Empty);
    };
    let needed = u32::try_from(last - first + 1).unwrap_or(u32::MAX);
    let months = match span {
        None => needed,
        Some(requested) if requested >= needed => requested,
        Some(requested) => {
            return Err(HistoryError::SpanTooShort {
                requested,
                needed,
                first: month_label(first),
                last: month_label(last),
            })
        }
    };
    let mut sizes: BTreeMap<u32, u32> = BTreeMap::new();
    let mut cases: u64 = 0;
    for event in events {
        let count = sizes.entry(event.cases).or_insert(0);
        *count = count.saturating_add(1);
        cases += u64::from(event.cases);
    }
    let event_count = u32::try_from(events.len()).unwrap_or(u32::MAX);
    let cases = u32::try_from(cases).unwrap_or(u32::MAX);
    let largest_burst = sizes.keys().next_back().copied().unwrap_or(0);
    let months_f = f64::from(months);
    Ok(Fit {
        first_month: month_label(first),
        last_month: month_label(last),
        months,
        events: event_count,
        cases,
        events_per_month: f64::from(event_count) / months_f,
        burst_sizes: sizes.into_iter().collect(),
        mean_burst: f64::from(cases) / f64::from(event_count),
        cases_per_month: f64::from(cases) / months_f,
        largest_burst,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_handles_quotes() {
        assert_eq!(
            split_fields(r#"a, "b, c" ,"say ""hi""",d"#).unwrap(),
            vec!["a", "b, c", "say \"hi\"", "d"]
        );
        assert_eq!(split_fields("a,b,").unwrap(), vec!["a", "b", ""]);
        assert_eq!(split_fields(r#""""#).unwrap(), vec![""]);
        assert_eq!(
            split_fields(r#"a,"b"#),
            Err((1, "has an opening double quote but no closing one"))
        );
        assert_eq!(
            split_fields(r#"a,"b"c"#),
            Err((1, "has text after its closing double quote"))
        );
    }

    #[test]
    fn month_labels() {
        assert_eq!(
            month_label(month_index(Date::constant(2015, 1, 31))),
            "2015-01"
        );
        assert_eq!(
            month_label(month_index(Date::constant(2024, 12, 1))),
            "2024-12"
        );
    }
}
