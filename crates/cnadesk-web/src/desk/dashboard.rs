//! The workload dashboard (team), the public response-time statistics
//! (`/stats`) and the capacity forecast page. Charts are inline SVG.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use cnadesk_core::audit::AuditAction;
use cnadesk_core::sla::Status;
use cnadesk_core::UserId;
use serde::Deserialize;

use super::team::{clock_status, time_zone_of};
use crate::auth::Member;
use crate::charts::{column_chart, load_chart, Bar, LoadRow};
use crate::extract::CsrfForm;
use crate::security::Csrf;
use crate::views::{fmt_age, fmt_time, render, Layout};
use crate::{AppError, AppState};
use cnadesk_app::team::{notices_for, open_offers};
use cnadesk_app::workload::{self, Effort};
use cnadesk_core::sla::utc_date_ms as date_of;

struct RiskRow {
    report: i64,
    what: String,
    assignee: String,
    class: String,
    status: String,
}

struct Item {
    href: String,
    text: String,
    age: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    layout: Layout,
    load_svg: String,
    months_svg: String,
    phases_svg: String,
    risks: Vec<RiskRow>,
    oldest: Vec<Item>,
    offers: Vec<Item>,
    notices: Vec<Item>,
}

/// `GET /desk/dashboard`: load per member against capacity, clocks at
/// risk, the oldest open items, cases per month and time per phase.
pub async fn dashboard(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
) -> Result<Response, AppError> {
    let now = state.now_ms();
    let store = &*state.store;
    let users = store.list_users().await?;
    let name = |id: Option<UserId>| {
        id.and_then(|id| users.iter().find(|u| u.id == id))
            .map(|u| u.username.clone())
            .unwrap_or_else(|| "unassigned".into())
    };
    let profiles: BTreeMap<UserId, i64> = store
        .profiles()
        .await?
        .into_iter()
        .map(|p| (p.user, p.capacity))
        .collect();
    let counts: BTreeMap<UserId, i64> = store.open_case_counts().await?.into_iter().collect();
    let absences = store.absences().await?;
    let today = date_of(now);
    let rows: Vec<LoadRow> = users
        .iter()
        .filter(|u| u.active)
        .map(|u| {
            let open = counts.get(&u.id).copied().unwrap_or(0);
            let capacity = profiles.get(&u.id).copied().filter(|c| *c > 0);
            LoadRow {
                label: u.username.clone(),
                open: open as f64,
                capacity: capacity.map(|c| c as f64),
                flag: cnadesk_core::team::away_reason(&absences, u.id, today),
            }
        })
        .collect();
    let load_svg = load_chart("Open cases per member against capacity", &rows, "cases");

    let (reports, cases) = cnadesk_app::team::open_reports(&state).await?;
    let measured = cnadesk_app::team::measure_reports(&state, &reports).await?;
    let tz = time_zone_of(&state, member.user.id).await?;
    let policy = state.team.policy();
    let mut risks: Vec<(i64, RiskRow)> = measured
        .iter()
        .filter(|m| matches!(m.status, Status::Warning { .. } | Status::Breached { .. }))
        .map(|m| {
            let (class, status) = clock_status(&m.status, &tz);
            let assignee = m
                .tracked
                .case
                .and_then(|c| cases.iter().find(|x| x.id == c))
                .and_then(|c| c.assignee);
            let order = match m.status {
                Status::Breached { due } | Status::Warning { due, .. } => due.as_millisecond(),
                _ => i64::MAX,
            };
            (
                order,
                RiskRow {
                    report: m.tracked.report.0,
                    what: policy.target(m.tracked.key).label.clone(),
                    assignee: name(assignee),
                    class,
                    status,
                },
            )
        })
        .collect();
    risks.sort_by_key(|(o, _)| *o);

    let new_reports = store
        .list_reports(cnadesk_store::ReportFilter {
            state: Some(cnadesk_core::ReportState::New),
            spam: Some(false),
            limit: 0,
        })
        .await?;
    let mut oldest: Vec<(i64, Item)> = new_reports
        .iter()
        .map(|r| {
            (
                r.created_at_ms,
                Item {
                    href: format!("/desk/reports/{}", r.id.0),
                    text: format!("{} awaiting triage: {}", r.id, r.title),
                    age: fmt_age(r.created_at_ms, now),
                },
            )
        })
        .chain(cases.iter().map(|c| {
            (
                c.created_at_ms,
                Item {
                    href: format!("/desk/reports/{}#case", c.report_id.0),
                    text: format!(
                        "{} ({}, {}): {}",
                        c.id,
                        c.state.label(),
                        name(c.assignee),
                        c.title
                    ),
                    age: fmt_age(c.created_at_ms, now),
                },
            )
        }))
        .collect();
    oldest.sort_by_key(|(t, _)| *t);

    // Cases per month (last 12) and time per phase, from the audit log.
    let events = store
        .audit_events_by_actions(&[AuditAction::CaseOpened, AuditAction::CaseStateChanged], 0)
        .await?;
    let mut months: BTreeMap<String, f64> = BTreeMap::new();
    let mut d = today.first_of_month();
    for _ in 0..12 {
        months.insert(format!("{:04}-{:02}", d.year(), d.month()), 0.0);
        d = d.checked_sub(jiff::Span::new().months(1)).unwrap_or(d);
    }
    for e in events.iter().filter(|e| e.is(AuditAction::CaseOpened)) {
        let date = date_of(e.occurred_at_ms);
        if let Some(n) = months.get_mut(&format!("{:04}-{:02}", date.year(), date.month())) {
            *n += 1.0;
        }
    }
    let months_svg = column_chart(
        "Cases opened per month",
        &months
            .iter()
            .map(|(m, n)| Bar {
                label: m.clone(),
                value: *n,
                note: None,
            })
            .collect::<Vec<_>>(),
        "cases",
    );
    let phases_svg = column_chart(
        "Average days per case in each state",
        &workload::days_per_state(&events, now)
            .into_iter()
            .map(|(state, days, n)| Bar {
                label: state.label().to_owned(),
                value: days,
                note: Some(format!("{n} case(s)")),
            })
            .collect::<Vec<_>>(),
        "days",
    );
    let offers = open_offers(&state, Some(member.user.id))
        .await?
        .into_iter()
        .map(|o| Item {
            href: format!("/desk/reports/{}#team", o.report.0),
            text: format!("{}: {}", o.case, o.message),
            age: fmt_time(o.at_ms),
        })
        .collect();
    let notices = notices_for(&state, member.user.id)
        .await?
        .into_iter()
        .map(|n| Item {
            href: format!("/desk/reports/{}#clocks", n.report.0),
            text: format!("{}: {}", n.report, n.message),
            age: fmt_time(n.at_ms),
        })
        .collect();
    let page = DashboardPage {
        layout: member.layout(&state, "Workload", &csrf.token),
        load_svg,
        months_svg,
        phases_svg,
        risks: risks.into_iter().map(|(_, r)| r).collect(),
        oldest: oldest.into_iter().take(10).map(|(_, i)| i).collect(),
        offers,
        notices,
    };
    Ok(render(StatusCode::OK, &page))
}

/// The forecast form.
#[derive(Debug, Deserialize, Default)]
pub struct ForecastForm {
    #[serde(default)]
    members: String,
    #[serde(default)]
    hours: String,
    #[serde(default)]
    history: String,
}

#[derive(Template)]
#[template(path = "forecast.html")]
struct ForecastPage {
    layout: Layout,
    members: String,
    hours: String,
    history: String,
    error: String,
    source: String,
    result: Option<cnadesk_forecast::Forecast>,
}

async fn forecast_page(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    form: ForecastForm,
) -> Result<Response, AppError> {
    let mut error = String::new();
    let members = if form.members.trim().is_empty() {
        state
            .store
            .list_users()
            .await?
            .iter()
            .filter(|u| u.active)
            .count() as u32
    } else {
        match form.members.trim().parse::<u32>() {
            Ok(n) if (1..=50).contains(&n) => n,
            _ => {
                error = "The number of members must be from 1 to 50.".into();
                1
            }
        }
    };
    let hours = if form.hours.trim().is_empty() {
        4.0
    } else {
        match form.hours.trim().parse::<f64>() {
            Ok(h) if h > 0.0 && h <= 60.0 => h,
            _ => {
                if error.is_empty() {
                    error =
                        "The hours per member per week must be a number above 0 and at most 60."
                            .into();
                }
                4.0
            }
        }
    };
    let (events, source) = if form.history.trim().is_empty() {
        (
            workload::desk_history(state).await?,
            "the desk's own reports".to_owned(),
        )
    } else {
        match cnadesk_forecast::parse_history(&form.history) {
            Ok(ev) => (ev, "the history pasted below".to_owned()),
            Err(e) => {
                if error.is_empty() {
                    error = format!("History: {e}");
                }
                (Vec::new(), String::new())
            }
        }
    };
    let mut result = None;
    if error.is_empty() {
        match cnadesk_forecast::fit(&events) {
            Ok(fit) => {
                let a = workload::assumptions(
                    state.team.policy(),
                    members.max(1),
                    hours,
                    Effort::default(),
                );
                // Thousands of simulated months: off the request threads.
                let run = tokio::task::spawn_blocking(move || cnadesk_forecast::forecast(&fit, &a));
                match run.await {
                    Ok(Ok(f)) => result = Some(f),
                    Ok(Err(e)) => error = e.to_string(),
                    Err(e) => return Err(AppError::Internal(format!("forecast: {e}"))),
                }
            }
            Err(e) => error = format!("History: {e}"),
        }
    }
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ForecastPage {
        layout: member.layout(state, "Capacity forecast", &csrf.token),
        members: members.to_string(),
        hours: format!("{hours}"),
        history: form.history,
        error,
        source,
        result,
    };
    Ok(render(status, &page))
}

/// `GET /desk/forecast`: the forecast from the desk's own history.
pub async fn forecast(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
) -> Result<Response, AppError> {
    forecast_page(&state, &member, &csrf, ForecastForm::default()).await
}

/// `POST /desk/forecast`: with other assumptions or a pasted CSV history.
pub async fn forecast_submit(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<ForecastForm>,
) -> Result<Response, AppError> {
    forecast_page(&state, &member, &csrf, form).await
}
