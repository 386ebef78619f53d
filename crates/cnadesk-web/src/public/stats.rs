//! `/stats`: the public response-time dashboard (achieved response times
//! per quarter beside the published targets, misses included).

use crate::charts::{target_chart, TargetRow};
use crate::views::{render, Layout};
use crate::{AppError, AppState};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cnadesk_app::workload::{self};
use cnadesk_core::sla_policy::{describe, TargetKey};

struct FigureCell {
    counted: u32,
    on_time: String,
    missed: u32,
    open: u32,
    median: String,
    p90: String,
}

struct QuarterRow {
    quarter: String,
    reports: u32,
    published: u32,
    rejected: u32,
    recusals: u32,
    cells: Vec<FigureCell>,
}

struct TargetHead {
    label: String,
    target: String,
    unit: String,
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    layout: Layout,
    policy_name: String,
    policy_version: String,
    summary: String,
    heads: Vec<TargetHead>,
    rows: Vec<QuarterRow>,
    charts: Vec<String>,
}

fn num(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.1}")).unwrap_or_else(|| "–".into())
}

/// `GET /stats`: achieved response times per quarter beside the targets,
/// misses included; counts of reports, published and rejected CVEs and
/// recusals. No report, case or member is named.
pub async fn stats(State(state): State<AppState>) -> Result<Response, AppError> {
    // Only quarters that are over: a running quarter's figures would move
    // as embargoed cases move, and tell the public about them.
    let current = cnadesk_core::clocks::quarter_of(state.clock.now());
    let quarters: Vec<workload::Quarter> = workload::public_quarters(&state)
        .await?
        .iter()
        .filter(|q| q.quarter < current)
        .cloned()
        .collect();
    let policy = state.team.policy();
    let shown = [
        TargetKey::Acknowledge,
        TargetKey::Triage,
        TargetKey::CveDecision,
        TargetKey::Publication,
    ];
    let heads = shown
        .iter()
        .map(|k| {
            let t = policy.target(*k);
            TargetHead {
                label: t.label.clone(),
                target: describe(t.within),
                unit: cnadesk_core::clocks::unit_name(t.within).to_owned(),
            }
        })
        .collect();
    let rows = quarters
        .iter()
        .map(|q| QuarterRow {
            quarter: q.quarter.clone(),
            reports: q.reports,
            published: q.published,
            rejected: q.rejected,
            recusals: q.recusals,
            cells: shown
                .iter()
                .map(|k| {
                    let f = q.figures.iter().find(|f| f.key == *k);
                    match f {
                        Some(f) => FigureCell {
                            counted: f.counted,
                            on_time: f
                                .on_time
                                .checked_mul(100)
                                .and_then(|x| x.checked_div(f.counted))
                                .map(|p| format!("{p}%"))
                                .unwrap_or_else(|| "–".into()),
                            missed: f.missed,
                            open: f.open,
                            median: num(f.median),
                            p90: num(f.p90),
                        },
                        None => FigureCell {
                            counted: 0,
                            on_time: "–".into(),
                            missed: 0,
                            open: 0,
                            median: "–".into(),
                            p90: "–".into(),
                        },
                    }
                })
                .collect(),
        })
        .collect();
    let charts = [TargetKey::Acknowledge, TargetKey::Triage]
        .iter()
        .map(|k| {
            let t = policy.target(*k);
            let target = cnadesk_core::clocks::in_unit(t.within.seconds(), t.within);
            target_chart(
                &format!(
                    "{}: 90th percentile per quarter against the target",
                    t.label
                ),
                &quarters
                    .iter()
                    .rev()
                    .map(|q| TargetRow {
                        label: q.quarter.clone(),
                        achieved: q.figures.iter().find(|f| f.key == *k).and_then(|f| f.p90),
                        target,
                    })
                    .collect::<Vec<_>>(),
                cnadesk_core::clocks::unit_name(t.within),
            )
        })
        .collect();
    let page = StatsPage {
        layout: Layout::public(&state, "Response times", ""),
        policy_name: policy.name.clone(),
        policy_version: policy.version.clone(),
        summary: policy.summary.clone(),
        heads,
        rows,
        charts,
    };
    Ok(render(StatusCode::OK, &page))
}
