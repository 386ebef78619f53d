//! Inline SVG charts for the team workload dashboard and the public
//! statistics page.
//!
//! The charts are plain server-rendered SVG: no JavaScript, an accessible
//! name and description (`role="img"` labelled by the chart's `<title>` and
//! `<desc>`, the description listing every label with its value), a
//! `<title>` tooltip on every bar and marker, and CSS classes the page
//! stylesheet can theme: `bar`, `bar-over`, `capacity`, `target`, `grid`,
//! `axis`, `label`, `value` and `missing`. Presentation attributes give
//! sensible colours when no stylesheet applies (CSS rules override them).
//!
//! The markup is meant to be inserted with askama's `|safe`, so every piece
//! of caller text (titles, labels, units, notes, flags) is escaped here, and
//! every number written is finite: NaN, infinite and negative inputs are
//! drawn as 0.
//!
//! A chart has a pixel size (`width` and `height`) that grows with the
//! number of bars; put it in a container with `overflow-x: auto` (or give
//! `svg.chart` a `max-width: 100%; height: auto`) on narrow pages. The
//! element ids are derived from the chart's kind, title and data, so two
//! charts on one page need a different title or different data.

use std::fmt::Write as _;

/// Labels longer than this many characters are cut and end with "…".
const MAX_LABEL_CHARS: usize = 28;
/// Rough advance width of one character at the 12px chart font.
const CHAR_W: f64 = 7.0;
/// Default fill of `bar`.
const BAR_FILL: &str = "#3b6ea5";
/// Default fill of `bar-over`.
const OVER_FILL: &str = "#b23b3b";
/// Default stroke of the `capacity` and `target` markers.
const MARKER_STROKE: &str = "#222";
/// Default stroke of `grid` lines.
const GRID_STROKE: &str = "#ddd";
/// Default stroke of `axis` lines.
const AXIS_STROKE: &str = "#888";
/// Default fill of `missing` text.
const MISSING_FILL: &str = "#666";
/// What an empty chart says.
const NO_DATA: &str = "No data yet";

/// One bar of a [`column_chart`].
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// What the bar stands for, e.g. a month; drawn under the bar.
    pub label: String,
    /// The bar's height in the chart's unit (NaN, infinite and negative
    /// values are drawn as 0).
    pub value: f64,
    /// Extra text for the bar's tooltip, e.g. "3 of 4 cases".
    pub note: Option<String>,
}

/// A vertical bar chart, e.g. cases per month.
///
/// `unit` follows the values in tooltips and in the description, e.g.
/// "cases". Bars of value 0 are not drawn (their label and value are). An
/// empty `bars` gives a small chart saying "No data yet".
pub fn column_chart(title: &str, bars: &[Bar], unit: &str) -> String {
    let cols: Vec<Column<'_>> = bars
        .iter()
        .map(|bar| {
            let value = clean(bar.value);
            let (short, cut) = short_label(&bar.label);
            Column {
                label: &bar.label,
                short,
                cut,
                value,
                tip: tooltip(&bar.label, &with_unit(value, unit), bar.note.as_deref()),
            }
        })
        .collect();

    let mut hash = Fnv::new();
    hash.text("column");
    hash.text(title);
    for col in &cols {
        hash.text(&col.tip);
    }
    let id = hash.id();
    if cols.is_empty() {
        return empty_chart(&id, title);
    }
    let desc = cols
        .iter()
        .map(|col| col.tip.as_str())
        .collect::<Vec<_>>()
        .join("; ");

    let scale = Scale::new(cols.iter().map(|col| col.value).fold(0.0, f64::max));
    let step = scale.step();
    let ticks: Vec<(f64, String)> = scale
        .ticks()
        .into_iter()
        .map(|tick| (tick, fmt_tick(tick, step)))
        .collect();

    let count = cols.len();
    let band: f64 = if count <= 20 {
        44.0
    } else if count <= 60 {
        30.0
    } else {
        22.0
    };
    let bar_w = band * 0.7;
    let longest = cols
        .iter()
        .map(|col| col.short.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let rotate = longest * CHAR_W > band - 6.0;
    let tick_chars = ticks
        .iter()
        .map(|(_, text)| text.chars().count())
        .max()
        .unwrap_or(1) as f64;
    let mut left = tick_chars * CHAR_W + 14.0;
    if rotate {
        // A label turned by 45° reaches left of its bar.
        left = left.max(longest * CHAR_W * 0.72 - band / 2.0 + 6.0);
    }
    let top = 20.0;
    let plot_h = 200.0;
    let plot_w = band * count as f64;
    let base = top + plot_h;
    let bottom = if rotate {
        longest * CHAR_W * 0.72 + 24.0
    } else {
        26.0
    };
    let width = left + plot_w + 12.0;
    let height = base + bottom;
    let value_font = if band < 30.0 {
        r#" font-size="10""#
    } else {
        ""
    };

    let mut out = String::with_capacity(1024 + 400 * count);
    open_svg(&mut out, &id, width, height, title, &desc);
    for (tick, text) in &ticks {
        let y = fmt_num(base - scale.fraction(*tick) * plot_h);
        if *tick > 0.0 {
            let _ = write!(
                out,
                r#"<line class="grid" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="{GRID_STROKE}"/>"#,
                x1 = fmt_num(left),
                x2 = fmt_num(left + plot_w),
            );
        }
        let _ = write!(
            out,
            r#"<text class="axis" x="{x}" y="{y}" dy="4" text-anchor="end">{text}</text>"#,
            x = fmt_num(left - 6.0),
        );
    }
    for (i, col) in cols.iter().enumerate() {
        let cx = left + band * (i as f64 + 0.5);
        let h = if col.value > 0.0 {
            (scale.fraction(col.value) * plot_h).max(1.0)
        } else {
            0.0
        };
        if col.value > 0.0 {
            let _ = write!(
                out,
                r#"<rect class="bar" x="{x}" y="{y}" width="{w}" height="{h}" fill="{BAR_FILL}"><title>{tip}</title></rect>"#,
                x = fmt_num(cx - bar_w / 2.0),
                y = fmt_num(base - h),
                w = fmt_num(bar_w),
                h = fmt_num(h),
                tip = esc(&col.tip),
            );
        }
        let _ = write!(
            out,
            r#"<text class="value" x="{x}" y="{y}" text-anchor="middle"{value_font}>{v}</text>"#,
            x = fmt_num(cx),
            y = fmt_num(base - h - 5.0),
            v = fmt_num(col.value),
        );
        let x = fmt_num(cx);
        let y = fmt_num(base + 16.0);
        let placement = if rotate {
            format!(r#"text-anchor="end" transform="rotate(-45 {x} {y})""#)
        } else {
            r#"text-anchor="middle""#.to_owned()
        };
        let _ = write!(
            out,
            r#"<text class="label" x="{x}" y="{y}" {placement}>{full}{short}</text>"#,
            full = label_title(col.label, col.cut),
            short = esc(&col.short),
        );
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="{AXIS_STROKE}"/><line class="axis" x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="{AXIS_STROKE}"/></svg>"#,
        l = fmt_num(left),
        t = fmt_num(top),
        b = fmt_num(base),
        r = fmt_num(left + plot_w),
    );
    out
}

/// One member's load in a [`load_chart`].
#[derive(Clone, Debug, PartialEq)]
pub struct LoadRow {
    /// Who, e.g. the member's display name; drawn left of the bar.
    pub label: String,
    /// Their open load in the chart's unit (NaN, infinite and negative
    /// values are drawn as 0).
    pub open: f64,
    /// How much they can take on, if known; drawn as a `capacity` marker.
    pub capacity: Option<f64>,
    /// A short remark shown after the value and in the tooltip, e.g.
    /// "away" or "over capacity".
    pub flag: Option<String>,
}

/// Horizontal bars: open load per member, with a capacity marker line.
///
/// The part of a bar beyond the member's capacity is drawn as a separate
/// `bar-over` rectangle. `unit` follows the values, e.g. "cases". An empty
/// `rows` gives a small chart saying "No data yet".
pub fn load_chart(title: &str, rows: &[LoadRow], unit: &str) -> String {
    let rows: Vec<Row<'_>> = rows
        .iter()
        .map(|row| {
            let open = clean(row.open);
            let capacity = row.capacity.map(clean);
            let flag = row
                .flag
                .as_deref()
                .map(str::trim)
                .filter(|flag| !flag.is_empty());
            let mut value_text = fmt_num(open);
            let mut detail = format!("{} open", with_unit(open, unit));
            if let Some(cap) = capacity {
                let _ = write!(value_text, " / {}", fmt_num(cap));
                let _ = write!(detail, ", capacity {}", with_unit(cap, unit));
            }
            let unit = unit.trim();
            if !unit.is_empty() {
                let _ = write!(value_text, " {unit}");
            }
            if let Some(flag) = flag {
                let _ = write!(value_text, " · {flag}");
            }
            Row {
                label: &row.label,
                value: Some(open),
                limit: capacity,
                marker_class: "capacity",
                marker_tip: capacity
                    .map(|cap| format!("{}: capacity {}", row.label, with_unit(cap, unit)))
                    .unwrap_or_default(),
                tip: tooltip(&row.label, &detail, flag),
                value_text,
            }
        })
        .collect();
    bar_rows("load", title, &rows)
}

/// One row of a [`target_chart`], e.g. a quarter.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetRow {
    /// What the row stands for, e.g. "2025 Q1"; drawn left of the bar.
    pub label: String,
    /// The achieved value, e.g. the median days to publish; `None` is drawn
    /// as "no data".
    pub achieved: Option<f64>,
    /// The target, e.g. days; drawn as a `target` marker. A target of 0 (or
    /// NaN, infinite or negative) means no target: no marker is drawn.
    pub target: f64,
}

/// Horizontal "achieved vs target" bars, e.g. median days vs target days
/// per quarter.
///
/// Each row shows a bar for the achieved value and a `target` marker line;
/// the target is read as an upper limit, so the part of a bar beyond it is
/// drawn as a separate `bar-over` rectangle. `unit` follows the values,
/// e.g. "days". An empty `rows` gives a small chart saying "No data yet".
pub fn target_chart(title: &str, rows: &[TargetRow], unit: &str) -> String {
    let rows: Vec<Row<'_>> = rows
        .iter()
        .map(|row| {
            let achieved = row.achieved.map(clean);
            let target = clean(row.target);
            let limit = (target > 0.0).then_some(target);
            let target_text = match limit {
                Some(target) => format!("target {}", with_unit(target, unit)),
                None => "no target".to_owned(),
            };
            let value = match achieved {
                Some(achieved) => with_unit(achieved, unit),
                None => "no data".to_owned(),
            };
            let value_text = match (achieved, limit) {
                (Some(achieved), Some(target)) => {
                    format!("{} (target {})", with_unit(achieved, unit), fmt_num(target))
                }
                (Some(achieved), None) => with_unit(achieved, unit),
                (None, _) => String::new(),
            };
            Row {
                label: &row.label,
                value: achieved,
                limit,
                marker_class: "target",
                marker_tip: format!("{}: {target_text}", row.label),
                tip: tooltip(&row.label, &value, Some(target_text.as_str())),
                value_text,
            }
        })
        .collect();
    bar_rows("target", title, &rows)
}

/// A bar of a column chart, ready to draw.
struct Column<'a> {
    /// The full label.
    label: &'a str,
    /// The label as drawn.
    short: String,
    /// Whether `short` was cut.
    cut: bool,
    /// The cleaned value.
    value: f64,
    /// The tooltip (and description entry), not escaped.
    tip: String,
}

/// A row of a horizontal chart, ready to draw.
struct Row<'a> {
    /// The full label.
    label: &'a str,
    /// The cleaned value; `None` is drawn as "no data".
    value: Option<f64>,
    /// The cleaned capacity or target: where the marker is drawn and
    /// `bar-over` starts.
    limit: Option<f64>,
    /// The marker's class.
    marker_class: &'static str,
    /// The marker's tooltip, not escaped.
    marker_tip: String,
    /// The bar's tooltip (and description entry), not escaped.
    tip: String,
    /// The text after the bar, not escaped.
    value_text: String,
}

/// Draws horizontal bars (the load and target charts).
fn bar_rows(kind: &str, title: &str, rows: &[Row<'_>]) -> String {
    let mut hash = Fnv::new();
    hash.text(kind);
    hash.text(title);
    for row in rows {
        hash.text(&row.tip);
    }
    let id = hash.id();
    if rows.is_empty() {
        return empty_chart(&id, title);
    }
    let desc = rows
        .iter()
        .map(|row| row.tip.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let shorts: Vec<(String, bool)> = rows.iter().map(|row| short_label(row.label)).collect();
    let largest = rows
        .iter()
        .flat_map(|row| [row.value, row.limit])
        .flatten()
        .fold(0.0, f64::max);
    let scale = Scale::new(largest);
    let step = scale.step();

    let longest_label = shorts
        .iter()
        .map(|(short, _)| short.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let longest_value = rows
        .iter()
        .map(|row| row.value_text.chars().count())
        .max()
        .unwrap_or(0) as f64;
    let left = (longest_label * CHAR_W + 16.0).max(48.0);
    let plot_w = 420.0;
    let row_h = 30.0;
    let bar_h = 18.0;
    let top = 10.0;
    let base = top + row_h * rows.len() as f64;
    let width = left + plot_w + (longest_value * CHAR_W + 16.0).max(24.0);
    let height = base + 26.0;
    let x_of = |value: f64| left + scale.fraction(value) * plot_w;

    let mut out = String::with_capacity(1024 + 600 * rows.len());
    open_svg(&mut out, &id, width, height, title, &desc);
    for tick in scale.ticks() {
        let x = fmt_num(x_of(tick));
        if tick > 0.0 {
            let _ = write!(
                out,
                r#"<line class="grid" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="{GRID_STROKE}"/>"#,
                y1 = fmt_num(top),
                y2 = fmt_num(base),
            );
        }
        let _ = write!(
            out,
            r#"<text class="axis" x="{x}" y="{y}" text-anchor="middle">{text}</text>"#,
            y = fmt_num(base + 16.0),
            text = fmt_tick(tick, step),
        );
    }
    for (i, (row, (short, cut))) in rows.iter().zip(&shorts).enumerate() {
        let row_top = top + row_h * i as f64;
        let text_y = fmt_num(row_top + row_h / 2.0 + 4.0);
        let bar_y = fmt_num(row_top + (row_h - bar_h) / 2.0);
        let bar_height = fmt_num(bar_h);
        let _ = write!(
            out,
            r#"<text class="label" x="{x}" y="{text_y}" text-anchor="end">{full}{short}</text>"#,
            x = fmt_num(left - 8.0),
            full = label_title(row.label, *cut),
            short = esc(short),
        );
        match row.value {
            Some(value) => {
                let (within, over) = match row.limit {
                    Some(limit) if value > limit => (limit, true),
                    _ => (value, false),
                };
                if within > 0.0 {
                    let _ = write!(
                        out,
                        r#"<rect class="bar" x="{x}" y="{bar_y}" width="{w}" height="{bar_height}" fill="{BAR_FILL}"><title>{tip}</title></rect>"#,
                        x = fmt_num(left),
                        w = fmt_num((x_of(within) - left).max(1.0)),
                        tip = esc(&row.tip),
                    );
                }
                if over {
                    let start = x_of(within);
                    let _ = write!(
                        out,
                        r#"<rect class="bar-over" x="{x}" y="{bar_y}" width="{w}" height="{bar_height}" fill="{OVER_FILL}"><title>{tip}</title></rect>"#,
                        x = fmt_num(start),
                        w = fmt_num((x_of(value) - start).max(1.0)),
                        tip = esc(&row.tip),
                    );
                }
                let end = x_of(value.max(row.limit.unwrap_or(0.0)));
                let _ = write!(
                    out,
                    r#"<text class="value" x="{x}" y="{text_y}">{text}</text>"#,
                    x = fmt_num(end + 6.0),
                    text = esc(&row.value_text),
                );
            }
            None => {
                let _ = write!(
                    out,
                    r#"<text class="missing" x="{x}" y="{text_y}" fill="{MISSING_FILL}" font-style="italic"><title>{tip}</title>no data</text>"#,
                    x = fmt_num(left + 6.0),
                    tip = esc(&row.tip),
                );
            }
        }
        if let Some(limit) = row.limit {
            let x = fmt_num(x_of(limit));
            let _ = write!(
                out,
                r#"<line class="{class}" x1="{x}" y1="{y1}" x2="{x}" y2="{y2}" stroke="{MARKER_STROKE}" stroke-width="2" stroke-dasharray="4 3"><title>{tip}</title></line>"#,
                class = row.marker_class,
                y1 = fmt_num(row_top + 3.0),
                y2 = fmt_num(row_top + row_h - 3.0),
                tip = esc(&row.marker_tip),
            );
        }
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="{l}" y1="{t}" x2="{l}" y2="{b}" stroke="{AXIS_STROKE}"/><line class="axis" x1="{l}" y1="{b}" x2="{r}" y2="{b}" stroke="{AXIS_STROKE}"/></svg>"#,
        l = fmt_num(left),
        t = fmt_num(top),
        b = fmt_num(base),
        r = fmt_num(left + plot_w),
    );
    out
}

/// Writes the opening `<svg>` tag with the chart's `<title>` and `<desc>`.
fn open_svg(out: &mut String, id: &str, width: f64, height: f64, title: &str, desc: &str) {
    let w = fmt_num(width.ceil());
    let h = fmt_num(height.ceil());
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="{id}-t {id}-d" viewBox="0 0 {w} {h}" width="{w}" height="{h}" class="chart" font-family="sans-serif" font-size="12"><title id="{id}-t">{t}</title><desc id="{id}-d">{d}</desc>"#,
        t = esc(title),
        d = esc(desc),
    );
}

/// A small chart saying "No data yet".
fn empty_chart(id: &str, title: &str) -> String {
    let mut out = String::with_capacity(512);
    open_svg(&mut out, id, 320.0, 60.0, title, NO_DATA);
    let _ = write!(
        out,
        r#"<text class="missing" x="160" y="34" text-anchor="middle" fill="{MISSING_FILL}" font-style="italic">{NO_DATA}</text></svg>"#
    );
    out
}

/// The value axis: from 0 to a round maximum in 4 or 5 equal steps.
struct Scale {
    /// The axis maximum (finite, above 0).
    max: f64,
    /// How many steps the axis has.
    intervals: usize,
}

impl Scale {
    /// The axis for values up to `largest`.
    fn new(largest: f64) -> Self {
        let max = nice_max(largest);
        let lead = max / 10f64.powi(max.log10().floor() as i32);
        // 2 × 10^k splits into 4 steps of 0.5 × 10^k; 1 and 5 × 10^k into 5.
        let intervals = if (lead - 2.0).abs() < 0.01 { 4 } else { 5 };
        Scale { max, intervals }
    }

    /// The distance between two ticks.
    fn step(&self) -> f64 {
        self.max / self.intervals as f64
    }

    /// The tick values, 0 and the maximum included.
    fn ticks(&self) -> Vec<f64> {
        (0..=self.intervals)
            .map(|i| self.max * i as f64 / self.intervals as f64)
            .collect()
    }

    /// Where `value` lies on the axis, from 0 to 1.
    fn fraction(&self, value: f64) -> f64 {
        (clean(value) / self.max).clamp(0.0, 1.0)
    }
}

/// The smallest 1, 2 or 5 × 10^k at or above `max`; 1 when `max` is not a
/// positive finite number.
fn nice_max(max: f64) -> f64 {
    if !max.is_finite() || max <= 0.0 {
        return 1.0;
    }
    let base = 10f64.powi(max.log10().floor() as i32);
    for step in [1.0, 2.0, 5.0, 10.0] {
        let candidate = step * base;
        if candidate.is_finite() && candidate > 0.0 && candidate >= max * (1.0 - 1e-9) {
            return candidate;
        }
    }
    max
}

/// The value to draw: NaN, infinite and negative values become 0.
fn clean(value: f64) -> f64 {
    if value.is_finite() && value > 0.0 {
        value
    } else {
        0.0
    }
}

/// A number in compact form: integers without decimals, others rounded to
/// one decimal; never "NaN" or "inf" (non-finite values print as "0").
fn fmt_num(value: f64) -> String {
    if !value.is_finite() {
        return "0".to_owned();
    }
    let tenths = (value * 10.0).round();
    if !tenths.is_finite() {
        return format!("{value:.0}");
    }
    if tenths == 0.0 {
        // Also avoids "-0".
        return "0".to_owned();
    }
    if tenths % 10.0 == 0.0 {
        format!("{:.0}", tenths / 10.0)
    } else {
        format!("{:.1}", tenths / 10.0)
    }
}

/// A tick label: like [`fmt_num`], with more decimals when the ticks are
/// closer than 0.1 apart (so they stay distinct).
fn fmt_tick(value: f64, step: f64) -> String {
    if step.is_finite() && step > 0.0 && step < 0.099 {
        let decimals = (-step.log10()).ceil().clamp(1.0, 12.0) as usize;
        let text = format!("{value:.decimals$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            text
        }
    } else {
        fmt_num(value)
    }
}

/// A value followed by its unit, e.g. "3 cases".
fn with_unit(value: f64, unit: &str) -> String {
    let unit = unit.trim();
    if unit.is_empty() {
        fmt_num(value)
    } else {
        format!("{} {unit}", fmt_num(value))
    }
}

/// "label: value (note)", the note left out when missing or blank.
fn tooltip(label: &str, value: &str, note: Option<&str>) -> String {
    match note.map(str::trim).filter(|note| !note.is_empty()) {
        Some(note) => format!("{label}: {value} ({note})"),
        None => format!("{label}: {value}"),
    }
}

/// The label as drawn (whitespace collapsed, cut to [`MAX_LABEL_CHARS`]
/// characters ending with "…"), and whether it was cut.
fn short_label(label: &str) -> (String, bool) {
    let flat = label.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= MAX_LABEL_CHARS {
        return (flat, false);
    }
    let mut cut: String = flat.chars().take(MAX_LABEL_CHARS - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    (cut, true)
}

/// A `<title>` with the full label for a drawn label that was cut.
fn label_title(label: &str, cut: bool) -> String {
    if cut {
        format!("<title>{}</title>", esc(label))
    } else {
        String::new()
    }
}

/// Escapes text for XML content and attribute values.
///
/// `& < > " '` become entities; tabs and line breaks become spaces;
/// characters XML does not allow (other control characters, U+FFFE,
/// U+FFFF) become U+FFFD.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
    out
}

/// Whether XML 1.0 allows `c` in a document (tab and line breaks aside).
fn is_xml_char(c: char) -> bool {
    matches!(
        c,
        '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}'
    )
}

/// 64-bit FNV-1a, for the chart's element ids.
struct Fnv(u64);

impl Fnv {
    /// A hash of nothing.
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    /// Adds `text` and a separator (a byte UTF-8 never uses).
    fn text(&mut self, text: &str) {
        for byte in text.bytes().chain([0xff]) {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The id: "chart-" and the hash in hex.
    fn id(&self) -> String {
        format!("chart-{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: f64) -> Bar {
        Bar {
            label: label.to_owned(),
            value,
            note: None,
        }
    }

    fn load(label: &str, open: f64, capacity: Option<f64>) -> LoadRow {
        LoadRow {
            label: label.to_owned(),
            open,
            capacity,
            flag: None,
        }
    }

    fn target(label: &str, achieved: Option<f64>, target: f64) -> TargetRow {
        TargetRow {
            label: label.to_owned(),
            achieved,
            target,
        }
    }

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// The chart's id, from `aria-labelledby`.
    fn id_of(svg: &str) -> &str {
        let key = "aria-labelledby=\"";
        let start = svg.find(key).expect("aria-labelledby") + key.len();
        let rest = &svg[start..];
        &rest[..rest.find("-t ").expect("title id")]
    }

    /// The opening tags (up to `>`) that start with `open`.
    fn tags<'a>(svg: &'a str, open: &str) -> Vec<&'a str> {
        svg.match_indices(open)
            .map(|(i, _)| {
                let rest = &svg[i..];
                &rest[..rest.find('>').expect("end of tag")]
            })
            .collect()
    }

    /// A numeric attribute of a tag.
    fn attr(tag: &str, name: &str) -> f64 {
        let key = format!(" {name}=\"");
        let start = tag.find(key.as_str()).expect("attribute") + key.len();
        let rest = &tag[start..];
        rest[..rest.find('"').expect("end quote")]
            .parse()
            .expect("a number")
    }

    /// Width and height from the viewBox.
    fn view_box(svg: &str) -> (f64, f64) {
        let key = "viewBox=\"0 0 ";
        let start = svg.find(key).expect("viewBox") + key.len();
        let rest = &svg[start..];
        let mut parts = rest[..rest.find('"').expect("end quote")]
            .split(' ')
            .map(|part| part.parse::<f64>().expect("a number"));
        (parts.next().expect("width"), parts.next().expect("height"))
    }

    /// Every `&` starts an entity this module writes.
    fn assert_entities_only(svg: &str) {
        for (i, _) in svg.match_indices('&') {
            let rest = &svg[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                    .iter()
                    .any(|entity| rest.starts_with(entity)),
                "bare & in {svg}"
            );
        }
    }

    /// Every `<` starts a tag this module writes.
    fn assert_chart_tags_only(svg: &str) {
        for (i, _) in svg.match_indices('<') {
            let rest = svg[i + 1..].trim_start_matches('/');
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphabetic())
                .collect();
            assert!(
                ["svg", "title", "desc", "rect", "line", "text"].contains(&name.as_str()),
                "unexpected <{name} in {svg}"
            );
        }
    }

    #[test]
    fn escapes_every_caller_text() {
        let nasty = r#"<script>&"'"#;
        let escaped = "&lt;script&gt;&amp;&quot;&#39;";
        let svgs = [
            column_chart(
                nasty,
                &[Bar {
                    label: nasty.to_owned(),
                    value: 3.0,
                    note: Some(nasty.to_owned()),
                }],
                nasty,
            ),
            load_chart(
                nasty,
                &[LoadRow {
                    label: nasty.to_owned(),
                    open: 7.0,
                    capacity: Some(5.0),
                    flag: Some(nasty.to_owned()),
                }],
                nasty,
            ),
            target_chart(
                nasty,
                &[target(nasty, Some(12.0), 10.0), target(nasty, None, 10.0)],
                nasty,
            ),
            column_chart(nasty, &[], nasty),
        ];
        for svg in &svgs {
            assert!(!svg.contains("<script"), "{svg}");
            assert!(!svg.contains('\''), "{svg}");
            assert!(svg.contains(escaped), "{svg}");
            assert!(
                svg.contains(&format!("<title id=\"{}-t\">{escaped}</title>", id_of(svg))),
                "{svg}"
            );
            assert_entities_only(svg);
            assert_chart_tags_only(svg);
        }
        // Label, unit and note, each escaped, in the bar's tooltip.
        assert!(svgs[0].contains(&format!(
            "<title>{escaped}: 3 {escaped} ({escaped})</title>"
        )));
    }

    #[test]
    fn escapes_control_characters() {
        assert_eq!(
            esc("a\u{0}b\u{1b}c\nd\u{fffe}"),
            "a\u{fffd}b\u{fffd}c d\u{fffd}"
        );
        assert_eq!(esc("Zoë … 日本"), "Zoë … 日本");
    }

    #[test]
    fn empty_input_says_no_data() {
        let svgs = [
            column_chart("Cases per month", &[], "cases"),
            load_chart("Open cases", &[], "cases"),
            target_chart("Days to publish", &[], "days"),
        ];
        for svg in &svgs {
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\""));
            assert!(svg.ends_with("</svg>"));
            assert!(svg.contains(">No data yet</text>"), "{svg}");
            assert!(svg.contains("viewBox=\"0 0 320 60\""), "{svg}");
            assert_eq!(count(svg, "<rect"), 0);
            assert_eq!(count(svg, "<line"), 0);
        }
        assert_ne!(id_of(&svgs[0]), id_of(&svgs[1]));
    }

    #[test]
    fn nan_infinite_and_negative_values_are_drawn_as_zero() {
        let column = column_chart(
            "Odd",
            &[
                bar("a", f64::NAN),
                bar("b", f64::INFINITY),
                bar("c", f64::NEG_INFINITY),
                bar("d", -4.0),
                bar("e", 2.5),
            ],
            "cases",
        );
        let all_nan = column_chart("Odd", &[bar("a", f64::NAN)], "cases");
        let loads = load_chart(
            "Load",
            &[
                load("x", f64::NAN, Some(f64::INFINITY)),
                load("y", f64::INFINITY, Some(f64::NAN)),
                load("z", -1.0, Some(-2.0)),
            ],
            "cases",
        );
        let targets = target_chart(
            "Days",
            &[
                target("q", Some(f64::NAN), f64::NAN),
                target("r", Some(-3.0), f64::NEG_INFINITY),
                target("s", Some(f64::INFINITY), 4.0),
            ],
            "days",
        );
        for svg in [&column, &all_nan, &loads, &targets] {
            assert!(!svg.contains("NaN"), "{svg}");
            assert!(!svg.contains("inf"), "{svg}");
            assert!(!svg.contains("=\"-"), "negative attribute in {svg}");
            assert_chart_tags_only(svg);
        }
        assert_eq!(count(&column, r#"<rect class="bar""#), 1);
        assert!(column.contains("<title>e: 2.5 cases</title>"));
        assert!(column.contains("a: 0 cases; b: 0 cases; c: 0 cases; d: 0 cases; e: 2.5 cases"));
        assert_eq!(count(&loads, "<rect"), 0);
        assert!(loads.contains("x: 0 cases open, capacity 0 cases"));
        assert_eq!(count(&targets, "<rect"), 0);
        assert!(targets.contains("q: 0 days (no target)"));
    }

    #[test]
    fn one_rect_per_non_zero_bar() {
        let svg = column_chart(
            "Cases per month",
            &[
                bar("Jan", 3.0),
                bar("Feb", 0.0),
                bar("Mar", 7.0),
                bar("Apr", 0.0),
                bar("May", 0.25),
            ],
            "cases",
        );
        assert_eq!(count(&svg, r#"<rect class="bar""#), 3);
        assert_eq!(count(&svg, "<rect"), 3);
        assert_eq!(count(&svg, r#"<text class="label""#), 5);
        assert_eq!(count(&svg, r#"<text class="value""#), 5);
        // Taller value, taller bar.
        let rects = tags(&svg, "<rect");
        assert!(attr(rects[1], "height") > attr(rects[0], "height"));
        assert!(
            close(attr(rects[1], "height"), 140.0),
            "7 of 10 on a 200px plot"
        );
    }

    #[test]
    fn all_zero_values_draw_no_bars_on_a_unit_axis() {
        let svg = column_chart("Quiet", &[bar("a", 0.0), bar("b", 0.0)], "");
        assert_eq!(count(&svg, "<rect"), 0);
        assert!(svg.contains(">1</text>"), "{svg}");
        assert!(
            svg.contains("<desc id=\"") && svg.contains(">a: 0; b: 0</desc>"),
            "{svg}"
        );
    }

    #[test]
    fn tooltips_carry_label_value_unit_and_note() {
        let svg = column_chart(
            "Published",
            &[Bar {
                label: "2025-03".to_owned(),
                value: 3.0,
                note: Some("3 of 4 cases".to_owned()),
            }],
            "cases",
        );
        assert!(svg.contains("<title>2025-03: 3 cases (3 of 4 cases)</title></rect>"));
        assert!(svg.contains(">2025-03: 3 cases (3 of 4 cases)</desc>"));
    }

    #[test]
    fn over_capacity_rows_get_a_bar_over_and_a_capacity_marker() {
        let svg = load_chart(
            "Open cases",
            &[
                load("Alice", 7.0, Some(5.0)),
                load("Bob", 3.0, Some(5.0)),
                load("Carol", 2.0, None),
            ],
            "cases",
        );
        assert_eq!(count(&svg, r#"<rect class="bar-over""#), 1);
        assert_eq!(count(&svg, r#"<rect class="bar""#), 3);
        assert_eq!(count(&svg, r#"<line class="capacity""#), 2);
        assert!(svg.contains("<title>Alice: capacity 5 cases</title></line>"));
        assert!(svg.contains("Alice: 7 cases open, capacity 5 cases"));
        assert!(svg.contains(">7 / 5 cases</text>"));

        // Axis 0..10 over 420px: Alice's bar stops at her capacity, where
        // the over-capacity part starts and runs to 7.
        let over = tags(&svg, r#"<rect class="bar-over""#)[0];
        let alice = tags(&svg, r#"<rect class="bar""#)[0];
        let capacity = tags(&svg, r#"<line class="capacity""#)[0];
        assert!(close(attr(alice, "width"), 210.0));
        assert!(close(attr(over, "x"), attr(capacity, "x1")));
        assert!(close(attr(over, "x"), attr(alice, "x") + 210.0));
        assert!((attr(over, "width") - 84.0).abs() < 0.11);
    }

    #[test]
    fn zero_capacity_makes_the_whole_load_over_capacity() {
        let svg = load_chart(
            "Open cases",
            &[LoadRow {
                label: "Dave".to_owned(),
                open: 2.0,
                capacity: Some(0.0),
                flag: Some("away".to_owned()),
            }],
            "cases",
        );
        assert_eq!(count(&svg, r#"<rect class="bar""#), 0);
        assert_eq!(count(&svg, r#"<rect class="bar-over""#), 1);
        assert_eq!(count(&svg, r#"<line class="capacity""#), 1);
        assert!(svg.contains(">2 / 0 cases · away</text>"));
        assert!(svg.contains("<title>Dave: 2 cases open, capacity 0 cases (away)</title>"));
    }

    #[test]
    fn target_chart_marks_targets_and_missing_values() {
        let svg = target_chart(
            "Median days to publish",
            &[
                target("2025 Q1", Some(12.0), 10.0),
                target("2025 Q2", None, 10.0),
                target("2025 Q3", Some(4.0), 10.0),
                target("2025 Q4", Some(3.0), 0.0),
            ],
            "days",
        );
        assert_eq!(count(&svg, r#"class="missing""#), 1);
        assert!(svg.contains("no data</text>"));
        assert!(svg.contains("<title>2025 Q2: no data (target 10 days)</title>"));
        assert_eq!(count(&svg, r#"<line class="target""#), 3);
        assert_eq!(count(&svg, r#"<rect class="bar-over""#), 1);
        assert_eq!(count(&svg, r#"<rect class="bar""#), 3);
        assert!(svg.contains(">12 days (target 10)</text>"));
        assert!(svg.contains(">3 days</text>"));
        assert!(svg.contains("2025 Q4: 3 days (no target)"));
    }

    #[test]
    fn nice_axis_maximum() {
        assert!(close(nice_max(7.0), 10.0));
        assert!(close(nice_max(0.3), 0.5));
        assert!(close(nice_max(42.0), 50.0));
        assert!(close(nice_max(10.0), 10.0));
        assert!(close(nice_max(11.0), 20.0));
        assert!(close(nice_max(150.0), 200.0));
        assert!(close(nice_max(1000.0), 1000.0));
        assert!(close(nice_max(0.07), 0.1));
        assert!(close(nice_max(0.0), 1.0));
        assert!(close(nice_max(-3.0), 1.0));
        assert!(close(nice_max(f64::NAN), 1.0));
        assert!(close(nice_max(f64::INFINITY), 1.0));
        assert!(nice_max(f64::MAX).is_finite());
    }

    #[test]
    fn charts_draw_the_nice_axis_with_grid_lines() {
        let seven = column_chart("A", &[bar("a", 7.0)], "");
        assert!(seven.contains(">10</text>"));
        assert!(!seven.contains(">12</text>"));
        assert_eq!(count(&seven, r#"<line class="grid""#), 5);

        let twelve = column_chart("B", &[bar("a", 12.0)], "");
        assert!(twelve.contains(">20</text>") && twelve.contains(">15</text>"));
        assert_eq!(count(&twelve, r#"<line class="grid""#), 4);

        let small = column_chart("C", &[bar("a", 0.3)], "");
        assert!(small.contains(">0.5</text>") && small.contains(">0.1</text>"));

        let tiny = column_chart("D", &[bar("a", 0.07)], "");
        assert!(
            tiny.contains(">0.02</text>") && tiny.contains(">0.08</text>"),
            "{tiny}"
        );

        let loads = load_chart("E", &[load("a", 42.0, Some(30.0))], "");
        assert!(loads.contains(">50</text>"));
    }

    #[test]
    fn numbers_are_compact() {
        assert_eq!(fmt_num(3.0), "3");
        assert_eq!(fmt_num(2.5), "2.5");
        assert_eq!(fmt_num(2.25), "2.3");
        assert_eq!(fmt_num(0.96), "1");
        assert_eq!(fmt_num(1234.0), "1234");
        assert_eq!(fmt_num(0.04), "0");
        assert_eq!(fmt_num(-0.01), "0");
        assert_eq!(fmt_num(-1.5), "-1.5");
        assert_eq!(fmt_num(f64::NAN), "0");
        assert_eq!(fmt_num(f64::INFINITY), "0");
        assert_eq!(fmt_tick(0.05, 0.05), "0.05");
        assert_eq!(fmt_tick(0.1, 0.05), "0.1");
        assert_eq!(fmt_tick(0.4, 0.1), "0.4");
    }

    #[test]
    fn ids_are_deterministic_and_distinct() {
        let first = column_chart("Cases per month", &[bar("Jan", 3.0)], "cases");
        let again = column_chart("Cases per month", &[bar("Jan", 3.0)], "cases");
        assert_eq!(first, again);
        let id = id_of(&first);
        assert!(
            id.starts_with("chart-") && id.len() == "chart-".len() + 16,
            "{id}"
        );
        assert!(first.contains(&format!("aria-labelledby=\"{id}-t {id}-d\"")));
        assert!(first.contains(&format!("<title id=\"{id}-t\">Cases per month</title>")));
        assert!(first.contains(&format!("<desc id=\"{id}-d\">Jan: 3 cases</desc>")));

        let other_title = column_chart("Cases per quarter", &[bar("Jan", 3.0)], "cases");
        let other_label = column_chart("Cases per month", &[bar("Feb", 3.0)], "cases");
        let other_kind = load_chart("Cases per month", &[load("Jan", 3.0, None)], "cases");
        assert_ne!(id, id_of(&other_title));
        assert_ne!(id, id_of(&other_label));
        assert_ne!(id, id_of(&other_kind));
        assert_ne!(id_of(&other_title), id_of(&other_label));
    }

    #[test]
    fn long_labels_are_cut_but_kept_whole_in_titles() {
        let long = "A very long component name that goes on and on";
        let drawn = "A very long component name…";
        let svg = column_chart("Cases", &[bar(long, 2.0)], "cases");
        assert!(svg.contains(&format!("<title>{long}: 2 cases</title></rect>")));
        assert!(svg.contains(&format!("<title>{long}</title>{drawn}</text>")));
        assert!(svg.contains(&format!(">{long}: 2 cases</desc>")));
        // Only in the two titles and the description, never drawn whole.
        assert_eq!(count(&svg, long), 3);

        let rows = load_chart("Load", &[load(long, 2.0, Some(4.0))], "cases");
        assert!(rows.contains(&format!("<title>{long}</title>{drawn}</text>")));
        let tip = format!("<title>{long}: 2 cases open, capacity 4 cases</title>");
        assert!(rows.contains(&tip));

        let (short, cut) = short_label(long);
        assert!(cut);
        assert!(short.chars().count() <= MAX_LABEL_CHARS);
        assert_eq!(
            short_label("Short  label"),
            ("Short label".to_owned(), false)
        );
    }

    #[test]
    fn hundreds_of_bars_widen_the_chart() {
        let bars: Vec<Bar> = (0..300_u32)
            .map(|i| bar(&format!("Week {i}"), f64::from(i % 7)))
            .collect();
        let svg = column_chart("Cases per week", &bars, "cases");
        let non_zero = bars.iter().filter(|bar| bar.value > 0.0).count();
        assert_eq!(count(&svg, r#"<rect class="bar""#), non_zero);
        assert_eq!(count(&svg, r#"<text class="label""#), 300);
        let (width, height) = view_box(&svg);
        assert!(width >= 300.0 * 20.0, "{width}");
        for rect in tags(&svg, "<rect") {
            assert!(attr(rect, "x") >= 0.0);
            assert!(attr(rect, "x") + attr(rect, "width") <= width);
            assert!(attr(rect, "y") + attr(rect, "height") <= height);
        }
        let few = column_chart("Cases per week", &bars[..3], "cases");
        assert!(view_box(&few).0 < width);
    }
}
