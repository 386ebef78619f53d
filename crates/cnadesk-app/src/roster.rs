//! The team's roster and a member's own case actions: profile, absences,
//! affiliations (which recuse them from the cases they concern), the
//! on-call rota and its handover notes, stepping aside from a case, taking
//! one, and the response-time clock actions of a report. Each refusal is a
//! sentence for the member.

use cnadesk_core::audit::{AuditAction, EventDraft};
use cnadesk_core::team::{
    self, Absence, AbsenceKind, Affiliation, Profile, Recusal, RecusalSource, Relation,
};
use cnadesk_core::{Actor, CaseId, ReportId, Role, UserId};
use cnadesk_store::{CaseFilter, StoreError, User};
use jiff::civil::Date;

use crate::text::check_text;
use crate::App;

/// Why a roster step did not happen.
#[derive(Debug)]
pub enum RosterError {
    /// Refused, with a sentence for the member (nothing changed).
    Refused(String),
    /// No such absence, affiliation, shift, case or report (of theirs).
    NotFound,
    /// Not theirs to do (an admin's, or another member's).
    Forbidden,
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for RosterError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(_) => RosterError::NotFound,
            StoreError::Rejected(m) => RosterError::Refused(m),
            e => RosterError::Store(e),
        }
    }
}

fn refuse<T>(m: impl Into<String>) -> Result<T, RosterError> {
    Err(RosterError::Refused(m.into()))
}

/// Saves a member's profile: time zone, capacity (typed), skills.
pub async fn save_profile(
    app: &App,
    user: UserId,
    time_zone: &str,
    capacity: &str,
    skills: Vec<String>,
    actor: &Actor,
) -> Result<(), RosterError> {
    let Ok(capacity) = capacity.trim().parse::<i64>() else {
        return refuse(
            "The capacity must be a whole number of open cases (0 if you would rather not say).",
        );
    };
    let profile = Profile {
        user,
        time_zone: time_zone.trim().to_owned(),
        capacity,
        skills,
    };
    if let Err((_, m)) = profile.validate() {
        return refuse(m);
    }
    app.store.save_profile(profile, actor, app.now_ms()).await?;
    Ok(())
}

/// An absence as typed.
#[derive(Clone, Debug, Default)]
pub struct AbsenceInput {
    /// `out_of_office` or `holiday`.
    pub kind: String,
    /// First day, `YYYY-MM-DD`.
    pub starts_on: String,
    /// Last day, `YYYY-MM-DD`.
    pub ends_on: String,
    /// A note.
    pub note: String,
}

/// Records a member's time away.
pub async fn add_absence(
    app: &App,
    user: UserId,
    input: &AbsenceInput,
    actor: &Actor,
) -> Result<(), RosterError> {
    let kind: Result<AbsenceKind, _> = input.kind.parse();
    let starts: Result<Date, _> = input.starts_on.trim().parse();
    let ends: Result<Date, _> = input.ends_on.trim().parse();
    let (kind, starts_on, ends_on) = match (kind, starts, ends) {
        (Ok(k), Ok(s), Ok(e)) => (k, s, e),
        (Err(_), _, _) => return refuse("Choose out of office or holiday."),
        (_, Err(_), _) => return refuse("The first day is not a date (YYYY-MM-DD)."),
        (_, _, Err(_)) => return refuse("The last day is not a date (YYYY-MM-DD)."),
    };
    if let Err((_, m)) = team::check_absence(starts_on, ends_on) {
        return refuse(m);
    }
    check_text("The note", &input.note, 300, false, false).map_err(RosterError::Refused)?;
    app.store
        .add_absence(
            Absence {
                id: 0,
                user,
                kind,
                starts_on,
                ends_on,
                note: input.note.clone(),
            },
            actor,
            app.now_ms(),
        )
        .await?;
    Ok(())
}

/// Removes one of the member's own absences.
pub async fn remove_absence(
    app: &App,
    user: UserId,
    id: i64,
    actor: &Actor,
) -> Result<(), RosterError> {
    Ok(app
        .store
        .remove_absence(id, user, actor, app.now_ms())
        .await?)
}

/// Declares a product the member works on or is paid by, named as typed
/// and looked up in the ecosystem registry; the member is then recused from
/// the open cases it concerns.
pub async fn declare_affiliation(
    app: &App,
    user: UserId,
    product: &str,
    relation: &str,
    actor: &Actor,
) -> Result<(), RosterError> {
    let Ok(relation) = relation.parse::<Relation>() else {
        return refuse("Choose how you are tied to the product.");
    };
    check_text("The product", product, 300, true, false).map_err(RosterError::Refused)?;
    let registry = app.scope.registry(&*app.store).await?;
    let text = product.trim();
    let mut found: Vec<String> = registry
        .product(text)
        .map(|p| vec![p.key.clone()])
        .unwrap_or_else(|| registry.lookup(text).into_iter().map(|m| m.key).collect());
    found.sort();
    found.dedup();
    let product = match found.as_slice() {
        [one] => registry.product(one).cloned(),
        [] => None,
        many => {
            let names: Vec<String> = many
                .iter()
                .filter_map(|k| registry.product(k))
                .map(|p| format!("{} ({})", p.name, p.key))
                .collect();
            return refuse(format!(
                "“{text}” matches several products: {}. Type the key shown in brackets.",
                names.join(", ")
            ));
        }
    };
    let Some(product) = product else {
        return refuse(format!(
            "“{text}” is not in the ecosystem registry. Add it there first, then declare it here."
        ));
    };
    match app
        .store
        .declare_affiliation(
            Affiliation {
                id: 0,
                user,
                product_key: product.key.clone(),
                product_name: product.name.clone(),
                relation,
            },
            actor,
            app.now_ms(),
        )
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict(m)) => return refuse(format!("{m}.")),
        Err(e) => return Err(e.into()),
    }
    // The new affiliation recuses them from the open cases it concerns.
    let open = app
        .store
        .list_cases(CaseFilter {
            open_only: true,
            assignee: None,
        })
        .await?;
    for case in open {
        crate::team::recuse_affiliated(app, &case).await?;
    }
    Ok(())
}

/// Withdraws one of the member's own affiliations.
pub async fn withdraw_affiliation(
    app: &App,
    user: UserId,
    id: i64,
    actor: &Actor,
) -> Result<(), RosterError> {
    Ok(app
        .store
        .withdraw_affiliation(id, user, actor, app.now_ms())
        .await?)
}

/// An admin plans `count` shifts from `start`, members in the turn order
/// given by username (commas or spaces).
pub async fn plan_rota(
    app: &App,
    admin: &User,
    start: &str,
    order: &str,
    count: &str,
    actor: &Actor,
) -> Result<(), RosterError> {
    if admin.role != Role::Admin {
        return Err(RosterError::Forbidden);
    }
    let Ok(start) = start.trim().parse::<Date>() else {
        return refuse("The first day is not a date (YYYY-MM-DD).");
    };
    let count = match count.trim().parse::<usize>() {
        Ok(n) if (1..=104).contains(&n) => n,
        _ => return refuse("The number of shifts must be from 1 to 104."),
    };
    let users = app.store.list_users().await?;
    let mut turn = Vec::new();
    for name in order
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        match users.iter().find(|u| u.username == name && u.active) {
            Some(u) => turn.push(u.id),
            None => return refuse(format!("“{name}” is not an active member.")),
        }
    }
    if turn.is_empty() {
        return refuse("Name the members on call, in turn order.");
    }
    let plan = team::plan_rota(&turn, start, app.team.policy().shift_days, count);
    app.store.plan_rota(plan, actor, app.now_ms()).await?;
    Ok(())
}

/// The member on a shift (or an admin) leaves a note for the next.
pub async fn hand_over(
    app: &App,
    member: &User,
    shift: i64,
    note: &str,
    actor: &Actor,
) -> Result<(), RosterError> {
    let found = app.store.shift(shift).await?.ok_or(RosterError::NotFound)?;
    if found.user != member.id && member.role != Role::Admin {
        return Err(RosterError::Forbidden);
    }
    check_text("The handover note", note, 4000, true, true).map_err(RosterError::Refused)?;
    app.store
        .hand_over(shift, note, actor, app.now_ms())
        .await?;
    Ok(())
}

/// The member steps aside from a case, with a reason.
pub async fn recuse(
    app: &App,
    user: UserId,
    case: CaseId,
    reason: &str,
    actor: &Actor,
) -> Result<(), RosterError> {
    check_text("The reason", reason, 500, true, false).map_err(RosterError::Refused)?;
    app.store
        .recuse(
            Recusal {
                case,
                user,
                reason: reason.trim().to_owned(),
                source: RecusalSource::SelfDeclared,
                created_at_ms: 0,
            },
            actor,
            app.now_ms(),
        )
        .await?;
    Ok(())
}

/// A member takes a case offered to them, or an unassigned one.
pub async fn take_case(
    app: &App,
    member: &User,
    case: CaseId,
    actor: &Actor,
) -> Result<(), RosterError> {
    let case = app.store.case(case).await?.ok_or(RosterError::NotFound)?;
    let events = app.store.audit_events_for_report(case.report_id).await?;
    let offer = crate::team::live_offers(app, &events)
        .await?
        .remove(&case.id)
        .filter(|o| o.to == member.id);
    let reason =
        match (&offer, case.assignee) {
            (Some(o), _) => format!(
                "{} took the case offered to them: {}",
                member.username, o.message
            ),
            (None, None) => format!("{} took the unassigned case", member.username),
            (None, Some(_)) => return refuse(
                "This case is assigned and was not offered to you; ask for it to be reassigned.",
            ),
        };
    app.store
        .assign_case(case.id, Some(member.id), &reason, actor, app.now_ms())
        .await?;
    Ok(())
}

/// Pauses a report's clocks while waiting on the reporter (`pause`),
/// resumes them (`resume`), or records an inquiry from another CNA or the
/// Root (`inquiry_received`) and its answer (`inquiry_answered`). Only a
/// change the clocks accept is recorded; a recused member keeps no clocks.
pub async fn clock_action(
    app: &App,
    user: UserId,
    report: ReportId,
    action: &str,
    note: &str,
    actor: &Actor,
) -> Result<(), RosterError> {
    let report = app
        .store
        .report(report)
        .await?
        .ok_or(RosterError::NotFound)?;
    let kind = match action {
        "pause" => AuditAction::SlaPaused,
        "resume" => AuditAction::SlaResumed,
        "inquiry_received" => AuditAction::SlaInquiryReceived,
        "inquiry_answered" => AuditAction::SlaInquiryAnswered,
        _ => return refuse("Unknown clock action."),
    };
    check_text("The note", note, 1000, false, false).map_err(RosterError::Refused)?;
    let case = app.store.case_for_report(report.id).await?;
    if let Some(c) = &case {
        if let Some(r) = app
            .store
            .recusals(Some(c.id))
            .await?
            .into_iter()
            .find(|r| r.user == user)
        {
            return refuse(format!(
                "You are recused from this case ({}); another member keeps its clocks.",
                r.reason
            ));
        }
    }
    let measured = crate::team::measure_reports(app, &[report.id]).await?;
    let can = crate::team::ClockActions::of(&measured);
    let refusal = match action {
        "pause" if !can.can_pause => Some("No running clock can be paused on this report."),
        "resume" if !can.can_resume => Some("No clock is paused on this report."),
        "inquiry_received" if can.inquiry_open => {
            Some("An inquiry is already open; record its answer first.")
        }
        "inquiry_answered" if !can.inquiry_open => Some("No inquiry is open on this report."),
        _ => None,
    };
    if let Some(m) = refusal {
        return refuse(m);
    }
    let mut draft = EventDraft::new(kind)
        .report(report.id)
        .payload(serde_json::json!({ "note": note.trim() }));
    if let Some(c) = case {
        draft = draft.case(c.id);
    }
    app.store.record_event(draft, actor, app.now_ms()).await?;
    Ok(())
}
