//! The team pages: the roster (profiles, absences, affiliations), the
//! absence calendar, the on-call rota with handover, and the actions on a
//! case that concern the team (recuse oneself, take an offered case, pause a
//! clock while waiting on the reporter, record an inquiry).

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use cnadesk_core::team::{self, AbsenceKind, Profile, RecusalSource};
use cnadesk_core::{CaseId, ReportId, Role, UserId};
use cnadesk_store::StoreError;
use jiff::civil::Date;
use serde::Deserialize;

use cnadesk_app::roster::{self, AbsenceInput, RosterError};

use crate::auth::Member;
use crate::extract::{CsrfForm, IdPath, TokenOnly};
use crate::security::Csrf;
use crate::views::{fmt_time, render, Layout};
use crate::{AppError, AppState};
use cnadesk_core::sla::utc_date_ms as date_of;

/// One roster line.
struct RosterRow {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    active: bool,
    time_zone: String,
    local_now: String,
    capacity: String,
    open: i64,
    skills: String,
    status: String,
    on_call: bool,
    affiliations: Vec<String>,
}

struct Line {
    id: i64,
    text: String,
}

/// What a form on the team page kept after an error.
#[derive(Default)]
struct Drafts {
    form: String,
    error: String,
    time_zone: String,
    capacity: String,
    skills: Vec<String>,
    kind: String,
    starts_on: String,
    ends_on: String,
    note: String,
    product: String,
    relation: String,
}

#[derive(Template)]
#[template(path = "team.html")]
struct TeamPage {
    layout: Layout,
    rows: Vec<RosterRow>,
    my_absences: Vec<Line>,
    my_affiliations: Vec<Line>,
    skills: Vec<(String, bool)>,
    d: Drafts,
    policy_version: String,
    holidays: Vec<String>,
}

async fn team_page(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    d: Drafts,
    status: StatusCode,
) -> Result<Response, AppError> {
    let store = &*state.store;
    let now = state.now_ms();
    let today = date_of(now);
    let profiles: BTreeMap<UserId, Profile> = store
        .profiles()
        .await?
        .into_iter()
        .map(|p| (p.user, p))
        .collect();
    let counts: BTreeMap<UserId, i64> = store.open_case_counts().await?.into_iter().collect();
    let absences = store.absences().await?;
    let affiliations = store.affiliations().await?;
    let shifts = cnadesk_app::team::shifts_now(state).await?;
    let on_call = team::on_call(&shifts, now).map(|s| s.user);
    let rows = store
        .list_users()
        .await?
        .into_iter()
        .map(|u| {
            let p = profiles
                .get(&u.id)
                .cloned()
                .unwrap_or_else(|| Profile::empty(u.id));
            RosterRow {
                id: u.id.0,
                local_now: cnadesk_core::sla::local_time(
                    cnadesk_core::sla::timestamp(now),
                    &p.time_zone,
                ),
                time_zone: p.time_zone.clone(),
                capacity: if p.capacity > 0 {
                    p.capacity.to_string()
                } else {
                    "not stated".into()
                },
                open: counts.get(&u.id).copied().unwrap_or(0),
                skills: p.skills.join(", "),
                status: if !u.active {
                    "deactivated".into()
                } else {
                    team::away_reason(&absences, u.id, today).unwrap_or_else(|| "available".into())
                },
                on_call: on_call == Some(u.id),
                affiliations: affiliations
                    .iter()
                    .filter(|a| a.user == u.id)
                    .map(|a| format!("{} {}", a.relation.label(), a.product_name))
                    .collect(),
                username: u.username,
                display_name: u.display_name,
                role: u.role.as_str().to_owned(),
                active: u.active,
            }
        })
        .collect();
    let me = member.user.id;
    let mine = profiles
        .get(&me)
        .cloned()
        .unwrap_or_else(|| Profile::empty(me));
    let mut d = d;
    if d.form != "profile" {
        d.time_zone = mine.time_zone.clone();
        d.capacity = mine.capacity.to_string();
        d.skills = mine.skills.clone();
    }
    let skills = team::SKILLS
        .iter()
        .map(|s| (s.to_string(), d.skills.iter().any(|x| x == s)))
        .collect();
    let page = TeamPage {
        layout: member.layout(state, "Team", &csrf.token),
        rows,
        my_absences: absences
            .iter()
            .filter(|a| a.user == me && a.ends_on >= today)
            .map(|a| Line {
                id: a.id,
                text: format!(
                    "{} from {} to {}{}",
                    a.kind.label(),
                    a.starts_on,
                    a.ends_on,
                    if a.note.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", a.note)
                    }
                ),
            })
            .collect(),
        my_affiliations: affiliations
            .iter()
            .filter(|a| a.user == me)
            .map(|a| Line {
                id: a.id,
                text: format!("{} {}", a.relation.label(), a.product_name),
            })
            .collect(),
        skills,
        d,
        policy_version: state.team.policy().version.clone(),
        holidays: state
            .team
            .policy()
            .holidays
            .iter()
            .filter(|h| **h >= today)
            .map(|h| h.to_string())
            .collect(),
    };
    Ok(render(status, &page))
}

/// `GET /desk/team`
pub async fn team_index(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
) -> Result<Response, AppError> {
    team_page(&state, &member, &csrf, Drafts::default(), StatusCode::OK).await
}

async fn refused(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    mut d: Drafts,
    form: &str,
    error: String,
) -> Result<Response, AppError> {
    d.form = form.to_owned();
    d.error = error;
    team_page(state, member, csrf, d, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// The profile form.
#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    capacity: String,
    #[serde(default)]
    skill_server: String,
    #[serde(default)]
    skill_client: String,
    #[serde(default)]
    skill_library: String,
    #[serde(default)]
    skill_protocol: String,
}

impl ProfileForm {
    fn skills(&self) -> Vec<String> {
        [
            ("server", &self.skill_server),
            ("client", &self.skill_client),
            ("library", &self.skill_library),
            ("protocol", &self.skill_protocol),
        ]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, _)| k.to_owned())
        .collect()
    }
}

/// `POST /desk/team/profile`: the member's own profile.
pub async fn team_profile(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<Response, AppError> {
    let d = Drafts {
        time_zone: form.time_zone.clone(),
        capacity: form.capacity.clone(),
        skills: form.skills(),
        ..Drafts::default()
    };
    let saved = roster::save_profile(
        &state,
        member.user.id,
        &form.time_zone,
        &form.capacity,
        form.skills(),
        &member.actor(),
    )
    .await;
    match saved {
        Ok(()) => Ok(Redirect::to("/desk/team#me").into_response()),
        Err(e) => roster_refused(&state, &member, &csrf, d, "profile", e).await,
    }
}

/// The absence form.
#[derive(Debug, Deserialize)]
pub struct AbsenceForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
    #[serde(default)]
    note: String,
}

/// `POST /desk/team/absences`: the member records time away.
pub async fn team_add_absence(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<AbsenceForm>,
) -> Result<Response, AppError> {
    let d = Drafts {
        kind: form.kind.clone(),
        starts_on: form.starts_on.clone(),
        ends_on: form.ends_on.clone(),
        note: form.note.clone(),
        ..Drafts::default()
    };
    let input = AbsenceInput {
        kind: form.kind,
        starts_on: form.starts_on,
        ends_on: form.ends_on,
        note: form.note,
    };
    match roster::add_absence(&state, member.user.id, &input, &member.actor()).await {
        Ok(()) => Ok(Redirect::to("/desk/team#absences").into_response()),
        Err(e) => roster_refused(&state, &member, &csrf, d, "absence", e).await,
    }
}

/// `POST /desk/team/absences/{id}/remove`: only one's own.
pub async fn team_remove_absence(
    State(state): State<AppState>,
    member: Member,
    IdPath(id): IdPath<i64>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    roster::remove_absence(&state, member.user.id, id, &member.actor())
        .await
        .map_err(roster_error)?;
    Ok(Redirect::to("/desk/team#absences").into_response())
}

/// The affiliation form.
#[derive(Debug, Deserialize)]
pub struct AffiliationForm {
    #[serde(default)]
    product: String,
    #[serde(default)]
    relation: String,
}

/// `POST /desk/team/affiliations`: the member declares a product they work
/// on or are paid by; the name is looked up in the ecosystem registry.
pub async fn team_declare_affiliation(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<AffiliationForm>,
) -> Result<Response, AppError> {
    let d = Drafts {
        product: form.product.clone(),
        relation: form.relation.clone(),
        ..Drafts::default()
    };
    let declared = roster::declare_affiliation(
        &state,
        member.user.id,
        &form.product,
        &form.relation,
        &member.actor(),
    )
    .await;
    match declared {
        Ok(()) => Ok(Redirect::to("/desk/team#affiliations").into_response()),
        Err(e) => roster_refused(&state, &member, &csrf, d, "affiliation", e).await,
    }
}

/// `POST /desk/team/affiliations/{id}/withdraw`: only one's own.
pub async fn team_withdraw_affiliation(
    State(state): State<AppState>,
    member: Member,
    IdPath(id): IdPath<i64>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    roster::withdraw_affiliation(&state, member.user.id, id, &member.actor())
        .await
        .map_err(roster_error)?;
    Ok(Redirect::to("/desk/team#affiliations").into_response())
}

/// A roster refusal as an error page (actions without a form to show again).
fn roster_error(e: RosterError) -> AppError {
    match e {
        RosterError::Refused(m) => AppError::Invalid(m),
        RosterError::NotFound => AppError::NotFound,
        RosterError::Forbidden => AppError::Forbidden,
        RosterError::Store(e) => e.into(),
    }
}

/// The team page again with the refusal in its section, or the error.
async fn roster_refused(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    drafts: Drafts,
    section: &'static str,
    e: RosterError,
) -> Result<Response, AppError> {
    match e {
        RosterError::Refused(m) => refused(state, member, csrf, drafts, section, m).await,
        e => Err(roster_error(e)),
    }
}

// ---- calendar ---------------------------------------------------------------------

struct CalendarRow {
    username: String,
    cells: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "team_calendar.html")]
struct CalendarPage {
    layout: Layout,
    month: String,
    previous: String,
    next: String,
    days: Vec<(String, String, bool)>,
    rows: Vec<CalendarRow>,
    error: String,
}

/// The calendar query.
#[derive(Debug, Deserialize, Default)]
pub struct MonthQuery {
    #[serde(default)]
    month: String,
}

/// `GET /desk/team/calendar?month=YYYY-MM`: who is away or on call, day by day.
pub async fn team_calendar(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    Query(q): Query<MonthQuery>,
) -> Result<Response, AppError> {
    let today = date_of(state.now_ms());
    let (first, error) = if q.month.trim().is_empty() {
        (today.first_of_month(), String::new())
    } else {
        match format!("{}-01", q.month.trim()).parse::<Date>() {
            Ok(d) => (d, String::new()),
            Err(_) => (
                today.first_of_month(),
                format!(
                    "“{}” is not a month (YYYY-MM); showing this month.",
                    q.month.trim()
                ),
            ),
        }
    };
    let last = first.last_of_month();
    let policy = state.team.policy();
    let calendar = policy.calendar();
    let mut days = Vec::new();
    let mut d = first;
    while d <= last {
        days.push((
            d.day().to_string(),
            format!("{:?}", d.weekday()).chars().take(2).collect(),
            calendar.is_business_day(d),
        ));
        match d.tomorrow() {
            Ok(n) => d = n,
            Err(_) => break,
        }
    }
    let absences = state.store.absences().await?;
    let to_ms = |date: Date| {
        date.to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_millisecond())
            .unwrap_or(0)
    };
    let shifts = state
        .store
        .shifts(to_ms(first), to_ms(last) + 86_400_000)
        .await?;
    let rows = state
        .store
        .list_users()
        .await?
        .into_iter()
        .filter(|u| u.active)
        .map(|u| {
            let mut cells = Vec::new();
            let mut day = first;
            while day <= last {
                let noon = to_ms(day) + 12 * 3_600_000;
                let (class, text) =
                    if let Some(a) = absences.iter().find(|a| a.user == u.id && a.covers(day)) {
                        match a.kind {
                            AbsenceKind::OutOfOffice => ("away", "OOO"),
                            AbsenceKind::Holiday => ("holiday", "hol"),
                        }
                    } else if !calendar.is_business_day(day) {
                        ("off", "")
                    } else if shifts
                        .iter()
                        .any(|s| s.user == u.id && s.starts_at_ms <= noon && noon < s.ends_at_ms)
                    {
                        ("oncall", "on call")
                    } else {
                        ("", "")
                    };
                cells.push((class.to_owned(), text.to_owned()));
                match day.tomorrow() {
                    Ok(n) => day = n,
                    Err(_) => break,
                }
            }
            CalendarRow {
                username: u.username,
                cells,
            }
        })
        .collect();
    let month = |d: Date| format!("{:04}-{:02}", d.year(), d.month());
    let page = CalendarPage {
        layout: member.layout(&state, "Team calendar", &csrf.token),
        month: month(first),
        previous: first.yesterday().map(month).unwrap_or_default(),
        next: last.tomorrow().map(month).unwrap_or_default(),
        days,
        rows,
        error: error.clone(),
    };
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(status, &page))
}

// ---- rota -----------------------------------------------------------------------------

struct ShiftRow {
    id: i64,
    username: String,
    from: String,
    to: String,
    current: bool,
    note: String,
    handed_over: String,
    mine: bool,
}

#[derive(Template)]
#[template(path = "rota.html")]
struct RotaPage {
    layout: Layout,
    shifts: Vec<ShiftRow>,
    on_call: String,
    members: Vec<(i64, String)>,
    can_plan: bool,
    shift_days: i64,
    error: String,
    start: String,
    order: String,
    count: String,
}

async fn rota_page(
    state: &AppState,
    member: &Member,
    csrf: &Csrf,
    error: String,
    drafts: (String, String, String),
) -> Result<Response, AppError> {
    let now = state.now_ms();
    let users = state.store.list_users().await?;
    let name = |id: UserId| {
        users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.username.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let shifts = state
        .store
        .shifts(now - 14 * 86_400_000, now + 120 * 86_400_000)
        .await?;
    let current = team::on_call(&shifts, now).map(|s| s.id);
    let page = RotaPage {
        layout: member.layout(state, "On-call rota", &csrf.token),
        on_call: team::on_call(&shifts, now)
            .map(|s| name(s.user))
            .unwrap_or_else(|| "nobody (no shift planned now)".into()),
        shifts: shifts
            .iter()
            .map(|s| ShiftRow {
                id: s.id,
                username: name(s.user),
                from: fmt_time(s.starts_at_ms),
                to: fmt_time(s.ends_at_ms),
                current: Some(s.id) == current,
                note: s.handover_note.clone().unwrap_or_default(),
                handed_over: s.handed_over_at_ms.map(fmt_time).unwrap_or_default(),
                mine: s.user == member.user.id,
            })
            .collect(),
        members: users
            .iter()
            .filter(|u| u.active)
            .map(|u| (u.id.0, u.username.clone()))
            .collect(),
        can_plan: member.user.role == Role::Admin,
        shift_days: state.team.policy().shift_days,
        error: error.clone(),
        start: drafts.0,
        order: drafts.1,
        count: drafts.2,
    };
    let status = if error.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok(render(status, &page))
}

/// The first day a new plan can start: tomorrow (UTC), since a plan does
/// not rewrite shifts that have begun.
fn next_day(now_ms: i64) -> String {
    let today = date_of(now_ms);
    today.tomorrow().unwrap_or(today).to_string()
}

/// `GET /desk/rota`
pub async fn rota(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
) -> Result<Response, AppError> {
    let start = next_day(state.now_ms());
    rota_page(
        &state,
        &member,
        &csrf,
        String::new(),
        (start, String::new(), "8".into()),
    )
    .await
}

/// The rota plan form.
#[derive(Debug, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    start: String,
    /// Usernames in turn order, separated by commas or spaces.
    #[serde(default)]
    order: String,
    #[serde(default)]
    count: String,
}

/// `POST /desk/rota/plan`: an admin plans shifts from a date, members in turn.
pub async fn rota_plan(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    CsrfForm(form): CsrfForm<PlanForm>,
) -> Result<Response, AppError> {
    let drafts = (form.start.clone(), form.order.clone(), form.count.clone());
    let planned = roster::plan_rota(
        &state,
        &member.user,
        &form.start,
        &form.order,
        &form.count,
        &member.actor(),
    )
    .await;
    match planned {
        Ok(()) => Ok(Redirect::to("/desk/rota").into_response()),
        Err(RosterError::Refused(m)) => rota_page(&state, &member, &csrf, m, drafts).await,
        Err(e) => Err(roster_error(e)),
    }
}

/// The handover form.
#[derive(Debug, Deserialize)]
pub struct HandoverForm {
    #[serde(default)]
    note: String,
}

/// `POST /desk/rota/{id}/handover`: the member on that shift (or an admin)
/// leaves a note for the next.
pub async fn rota_handover(
    State(state): State<AppState>,
    member: Member,
    csrf: Csrf,
    IdPath(id): IdPath<i64>,
    CsrfForm(form): CsrfForm<HandoverForm>,
) -> Result<Response, AppError> {
    let handed = roster::hand_over(&state, &member.user, id, &form.note, &member.actor()).await;
    match handed {
        Ok(()) => Ok(Redirect::to("/desk/rota").into_response()),
        Err(RosterError::Refused(m)) => {
            let start = next_day(state.now_ms());
            rota_page(
                &state,
                &member,
                &csrf,
                m,
                (start, String::new(), "8".into()),
            )
            .await
        }
        Err(e) => Err(roster_error(e)),
    }
}

// ---- case actions ------------------------------------------------------------------

/// The recusal form.
#[derive(Debug, Deserialize)]
pub struct RecuseForm {
    #[serde(default)]
    reason: String,
}

/// `POST /desk/cases/{id}/recuse`: the member steps aside from a case.
pub async fn case_recuse(
    State(state): State<AppState>,
    member: Member,
    IdPath(id): IdPath<CaseId>,
    CsrfForm(form): CsrfForm<RecuseForm>,
) -> Result<Response, AppError> {
    let (case, report) = super::case_and_report(&state, id).await?;
    roster::recuse(&state, member.user.id, case, &form.reason, &member.actor())
        .await
        .map_err(roster_error)?;
    Ok(Redirect::to(&format!("/desk/reports/{}#team", report.0)).into_response())
}

/// `POST /desk/cases/{id}/take`: a member takes a case offered to them, or
/// an unassigned one.
pub async fn case_take(
    State(state): State<AppState>,
    member: Member,
    IdPath(id): IdPath<CaseId>,
    _: CsrfForm<TokenOnly>,
) -> Result<Response, AppError> {
    let case = super::case_from_path(&state, id).await?;
    roster::take_case(&state, &member.user, case.id, &member.actor())
        .await
        .map_err(roster_error)?;
    Ok(Redirect::to(&format!("/desk/reports/{}#case", case.report_id.0)).into_response())
}

/// The clock form.
#[derive(Debug, Deserialize)]
pub struct ClockForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
}

/// `POST /desk/reports/{id}/clock`: pause while waiting on the reporter,
/// resume, or record an inquiry from another CNA or the Root and its answer.
pub async fn report_clock(
    State(state): State<AppState>,
    member: Member,
    IdPath(report): IdPath<i64>,
    CsrfForm(form): CsrfForm<ClockForm>,
) -> Result<Response, AppError> {
    let report = ReportId(report);
    roster::clock_action(
        &state,
        member.user.id,
        report,
        &form.action,
        &form.note,
        &member.actor(),
    )
    .await
    .map_err(roster_error)?;
    Ok(Redirect::to(&format!("/desk/reports/{}#clocks", report.0)).into_response())
}

// ---- the team panel of the report page --------------------------------------------

/// One clock on the report page.
pub(crate) struct ClockRow {
    pub(crate) label: String,
    pub(crate) target: String,
    pub(crate) class: String,
    pub(crate) status: String,
}

/// The team section of a report page: clocks, recusals, offers and actions.
pub(crate) struct TeamPanel {
    pub(crate) clocks: Vec<ClockRow>,
    pub(crate) recusals: Vec<String>,
    pub(crate) case_number: i64,
    pub(crate) recused: bool,
    pub(crate) offer: String,
    pub(crate) can_take: bool,
    pub(crate) can_pause: bool,
    pub(crate) can_resume: bool,
    pub(crate) inquiry_open: bool,
}

/// Describes a clock's state for a member in `time_zone`.
pub(crate) fn clock_status(
    status: &cnadesk_core::sla::Status,
    time_zone: &str,
) -> (String, String) {
    use cnadesk_core::sla::Status;
    let local = |t: jiff::Timestamp| cnadesk_core::sla::local_time(t, time_zone);
    match status {
        Status::NotStarted => ("".into(), "not started".into()),
        Status::Running { due, used_permille } => (
            "ok".into(),
            format!("running, {}% used, due {}", used_permille / 10, local(*due)),
        ),
        Status::Paused { used_permille } => (
            "paused".into(),
            format!(
                "paused (waiting on the reporter), {}% used",
                used_permille / 10
            ),
        ),
        Status::Warning { due, used_permille } => (
            "warn".into(),
            format!("at risk, {}% used, due {}", used_permille / 10, local(*due)),
        ),
        Status::Breached { due } => ("late".into(), format!("missed, was due {}", local(*due))),
        Status::Met { on_time: true } => ("met".into(), "met on time".into()),
        Status::Met { on_time: false } => ("late".into(), "met late".into()),
    }
}

/// The member's time zone (UTC when not stated).
pub(crate) async fn time_zone_of(state: &AppState, user: UserId) -> Result<String, StoreError> {
    Ok(state
        .store
        .profiles()
        .await?
        .into_iter()
        .find(|p| p.user == user)
        .map(|p| p.time_zone)
        .unwrap_or_else(|| "UTC".into()))
}

pub(crate) async fn team_panel(
    state: &AppState,
    member: &Member,
    report: ReportId,
    case: Option<&cnadesk_store::Case>,
) -> Result<TeamPanel, StoreError> {
    let tz = time_zone_of(state, member.user.id).await?;
    let events = state.store.audit_events_for_report(report).await?;
    let measured =
        cnadesk_app::team::measure_events(state, &events, cnadesk_app::team::Audience::Team)
            .await?;
    let policy = state.team.policy();
    let clocks = measured
        .iter()
        .map(|m| {
            let (class, status) = clock_status(&m.status, &tz);
            ClockRow {
                label: policy.target(m.tracked.key).label.clone(),
                target: cnadesk_core::sla_policy::describe(m.target),
                class,
                status,
            }
        })
        .collect();
    let can = cnadesk_app::team::ClockActions::of(&measured);
    let mut panel = TeamPanel {
        clocks,
        recusals: Vec::new(),
        case_number: 0,
        recused: false,
        offer: String::new(),
        can_take: false,
        can_pause: can.can_pause,
        can_resume: can.can_resume,
        inquiry_open: can.inquiry_open,
    };
    if let Some(c) = case {
        let users = state.store.list_users().await?;
        let recusals = state.store.recusals(Some(c.id)).await?;
        panel.case_number = c.id.0;
        panel.recused = recusals.iter().any(|r| r.user == member.user.id);
        panel.recusals = recusals
            .iter()
            .map(|r| {
                let name = users
                    .iter()
                    .find(|u| u.id == r.user)
                    .map(|u| u.username.clone())
                    .unwrap_or_else(|| r.user.to_string());
                let how = match r.source {
                    RecusalSource::Affiliation => "declared affiliation",
                    RecusalSource::SelfDeclared => "recused themself",
                };
                format!(
                    "{name}: {} ({how}, {})",
                    r.reason,
                    fmt_time(r.created_at_ms)
                )
            })
            .collect();
        let offer = cnadesk_app::team::live_offers(state, &events)
            .await?
            .remove(&c.id)
            .filter(|o| o.to == member.user.id);
        panel.offer = offer.map(|o| o.message).unwrap_or_default();
        let open_case = c.state.is_open();
        panel.can_take = open_case
            && !panel.recused
            && c.assignee != Some(member.user.id)
            && (!panel.offer.is_empty() || c.assignee.is_none());
    }
    Ok(panel)
}
