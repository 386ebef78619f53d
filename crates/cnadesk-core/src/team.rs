//! The team as assignment and recusal see it: profiles (time zone, capacity,
//! skills), absences, declared affiliations, recusals and the on-call rota.

use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::ids::{CaseId, UserId};

/// Areas a member covers.
pub const SKILLS: [&str; 4] = ["server", "client", "library", "protocol"];

/// What a member tells the team about how they work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The account.
    pub user: UserId,
    /// IANA time zone (`Europe/Berlin`); times are shown to them in it.
    pub time_zone: String,
    /// Open cases they take on at once (0: not stated).
    pub capacity: i64,
    /// Areas (see [`SKILLS`]).
    pub skills: Vec<String>,
}

impl Profile {
    /// The profile of a member who has not filled theirs in.
    pub fn empty(user: UserId) -> Self {
        Profile {
            user,
            time_zone: "UTC".into(),
            capacity: 0,
            skills: Vec::new(),
        }
    }

    /// Checks the fields a member typed; each error names its form field.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if jiff::tz::TimeZone::get(&self.time_zone).is_err() {
            return Err((
                "time_zone",
                format!(
                    "“{}” is not a time zone; use a name like Europe/Berlin or UTC",
                    self.time_zone
                ),
            ));
        }
        if !(0..=100).contains(&self.capacity) {
            return Err((
                "capacity",
                "The capacity must be from 0 to 100 open cases.".into(),
            ));
        }
        if let Some(s) = self.skills.iter().find(|s| !SKILLS.contains(&s.as_str())) {
            return Err(("skills", format!("Unknown area “{s}”.")));
        }
        Ok(())
    }
}

/// Why a member is away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AbsenceKind {
    /// Out of office (travel, leave, illness).
    OutOfOffice,
    /// A public holiday where they live.
    Holiday,
}

impl AbsenceKind {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AbsenceKind::OutOfOffice => "out_of_office",
            AbsenceKind::Holiday => "holiday",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            AbsenceKind::OutOfOffice => "out of office",
            AbsenceKind::Holiday => "holiday",
        }
    }
}

impl FromStr for AbsenceKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "out_of_office" => Ok(AbsenceKind::OutOfOffice),
            "holiday" => Ok(AbsenceKind::Holiday),
            _ => Err(format!("unknown absence kind {s:?}")),
        }
    }
}

/// A period a member is away, whole days, both ends included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Absence {
    /// Row id.
    pub id: i64,
    /// Who.
    pub user: UserId,
    /// Why.
    pub kind: AbsenceKind,
    /// First day away.
    pub starts_on: Date,
    /// Last day away.
    pub ends_on: Date,
    /// A note for the team.
    pub note: String,
}

impl Absence {
    /// Whether they are away on `date`.
    pub fn covers(&self, date: Date) -> bool {
        self.starts_on <= date && date <= self.ends_on
    }
}

/// Checks a new absence's dates.
pub fn check_absence(starts_on: Date, ends_on: Date) -> Result<(), (&'static str, String)> {
    if ends_on < starts_on {
        return Err(("ends_on", "The last day is before the first day.".into()));
    }
    if starts_on.until(ends_on).map(|s| s.get_days()).unwrap_or(0) > 366 {
        return Err(("ends_on", "An absence may last at most a year.".into()));
    }
    Ok(())
}

/// Why `user` is away on `date` ("out of office until 2026-12-01"), if they are.
pub fn away_reason(absences: &[Absence], user: UserId, date: Date) -> Option<String> {
    absences
        .iter()
        .filter(|a| a.user == user && a.covers(date))
        .max_by_key(|a| a.ends_on)
        .map(|a| format!("{} until {}", a.kind.label(), a.ends_on))
}

/// How a member is tied to a product.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// Contributes to or maintains it.
    WorksOn,
    /// Is employed or paid by its vendor.
    PaidBy,
}

impl Relation {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::WorksOn => "works_on",
            Relation::PaidBy => "paid_by",
        }
    }

    /// For people ("works on Prosody IM").
    pub fn label(self) -> &'static str {
        match self {
            Relation::WorksOn => "works on",
            Relation::PaidBy => "is paid by the vendor of",
        }
    }
}

impl FromStr for Relation {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "works_on" => Ok(Relation::WorksOn),
            "paid_by" => Ok(Relation::PaidBy),
            _ => Err(format!("unknown relation {s:?}")),
        }
    }
}

/// A declared affiliation with a product of the ecosystem registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Affiliation {
    /// Row id.
    pub id: i64,
    /// Who.
    pub user: UserId,
    /// Registry key of the product.
    pub product_key: String,
    /// Its name when declared.
    pub product_name: String,
    /// How.
    pub relation: Relation,
}

/// Why a member stepped aside from a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecusalSource {
    /// Found by the desk from a declared affiliation.
    Affiliation,
    /// The member recused themself.
    SelfDeclared,
}

impl RecusalSource {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            RecusalSource::Affiliation => "affiliation",
            RecusalSource::SelfDeclared => "self",
        }
    }
}

impl FromStr for RecusalSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "affiliation" => Ok(RecusalSource::Affiliation),
            "self" => Ok(RecusalSource::SelfDeclared),
            _ => Err(format!("unknown recusal source {s:?}")),
        }
    }
}

/// A member recused from a case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recusal {
    /// The case.
    pub case: CaseId,
    /// Who.
    pub user: UserId,
    /// Why, in words shown on the case.
    pub reason: String,
    /// Found from an affiliation or declared.
    pub source: RecusalSource,
    /// When (ms).
    pub created_at_ms: i64,
}

/// The affected products of a case, as recusal sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffectedProduct {
    /// Registry key.
    pub key: String,
    /// Name.
    pub name: String,
    /// Its direct competitors (registry keys) when the policy recuses for those.
    pub competitors: Vec<String>,
}

/// The recusals a member's affiliations call for on a case about `affected`.
pub fn recusals_for(
    affiliations: &[Affiliation],
    affected: &[AffectedProduct],
) -> Vec<(UserId, String)> {
    let mut out: Vec<(UserId, String)> = Vec::new();
    for a in affiliations {
        for p in affected {
            let reason = if a.product_key == p.key {
                format!("{} {}", a.relation.label(), p.name)
            } else if p.competitors.contains(&a.product_key) {
                format!(
                    "{} {}, a direct competitor of {}",
                    a.relation.label(),
                    a.product_name,
                    p.name
                )
            } else {
                continue;
            };
            if !out.iter().any(|(u, _)| *u == a.user) {
                out.push((a.user, reason));
            }
        }
    }
    out
}

/// One on-call (triage duty) shift, `[starts_at, ends_at)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// Row id.
    pub id: i64,
    /// Who is on call.
    pub user: UserId,
    /// Start (ms).
    pub starts_at_ms: i64,
    /// End (ms, exclusive).
    pub ends_at_ms: i64,
    /// The note left for the next person.
    pub handover_note: Option<String>,
    /// When it was handed over (ms).
    pub handed_over_at_ms: Option<i64>,
}

/// The shift on call at `now_ms`.
pub fn on_call(shifts: &[Shift], now_ms: i64) -> Option<&Shift> {
    shifts
        .iter()
        .find(|s| s.starts_at_ms <= now_ms && now_ms < s.ends_at_ms)
}

/// Who to hand work to at `now_ms`: the member on call, then the following
/// shifts in order, skipping anyone `skip` rules out (away, recused, the
/// person it is being handed from).
pub fn next_on_call(
    shifts: &[Shift],
    now_ms: i64,
    mut skip: impl FnMut(UserId) -> bool,
) -> Option<UserId> {
    let mut upcoming: Vec<&Shift> = shifts.iter().filter(|s| s.ends_at_ms > now_ms).collect();
    upcoming.sort_by_key(|s| s.starts_at_ms);
    upcoming.into_iter().map(|s| s.user).find(|u| !skip(*u))
}

/// Plans consecutive shifts of `shift_days` days from `start` (00:00 UTC),
/// taking the members in turn, `count` shifts long.
pub fn plan_rota(
    members: &[UserId],
    start: Date,
    shift_days: i64,
    count: usize,
) -> Vec<(UserId, i64, i64)> {
    let Ok(base) = start.to_zoned(jiff::tz::TimeZone::UTC) else {
        return Vec::new();
    };
    let base = base.timestamp().as_millisecond();
    let len = shift_days.max(1) * 86_400_000;
    if members.is_empty() {
        return Vec::new();
    }
    (0..count)
        .map(|i| {
            let from = base + len * i as i64;
            (members[i % members.len()], from, from + len)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn absences_cover_whole_days_inclusively() {
        let a = vec![Absence {
            id: 1,
            user: UserId(2),
            kind: AbsenceKind::OutOfOffice,
            starts_on: d("2026-11-23"),
            ends_on: d("2026-12-01"),
            note: String::new(),
        }];
        assert_eq!(
            away_reason(&a, UserId(2), d("2026-12-01")).as_deref(),
            Some("out of office until 2026-12-01")
        );
        assert_eq!(away_reason(&a, UserId(2), d("2026-12-02")), None);
        assert_eq!(away_reason(&a, UserId(2), d("2026-11-22")), None);
        assert_eq!(away_reason(&a, UserId(3), d("2026-11-25")), None);
        assert!(check_absence(d("2026-12-02"), d("2026-12-01")).is_err());
        assert!(check_absence(d("2026-12-01"), d("2026-12-01")).is_ok());
    }

    #[test]
    fn affiliations_recuse_for_the_product_and_listed_competitors() {
        let affs = vec![
            Affiliation {
                id: 1,
                user: UserId(1),
                product_key: "prosody-im".into(),
                product_name: "Prosody IM".into(),
                relation: Relation::WorksOn,
            },
            Affiliation {
                id: 2,
                user: UserId(2),
                product_key: "ejabberd".into(),
                product_name: "ejabberd".into(),
                relation: Relation::PaidBy,
            },
        ];
        let prosody = AffectedProduct {
            key: "prosody-im".into(),
            name: "Prosody IM".into(),
            competitors: vec![],
        };
        assert_eq!(
            recusals_for(&affs, std::slice::from_ref(&prosody)),
            vec![(UserId(1), "works on Prosody IM".to_owned())]
        );
        let with_competitors = AffectedProduct {
            competitors: vec!["ejabberd".into()],
            ..prosody
        };
        let r = recusals_for(&affs, &[with_competitors]);
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[1].1,
            "is paid by the vendor of ejabberd, a direct competitor of Prosody IM"
        );
    }

    #[test]
    fn the_rota_rotates_and_hands_on_past_those_skipped() {
        let plan = plan_rota(&[UserId(1), UserId(2), UserId(3)], d("2026-11-23"), 7, 4);
        assert_eq!(plan.len(), 4);
        assert_eq!(plan[3].0, UserId(1));
        assert_eq!(plan[1].1 - plan[0].1, 7 * 86_400_000);
        let shifts: Vec<Shift> = plan
            .iter()
            .enumerate()
            .map(|(i, (u, s, e))| Shift {
                id: i as i64,
                user: *u,
                starts_at_ms: *s,
                ends_at_ms: *e,
                handover_note: None,
                handed_over_at_ms: None,
            })
            .collect();
        let now = plan[0].1 + 1000;
        assert_eq!(on_call(&shifts, now).map(|s| s.user), Some(UserId(1)));
        assert_eq!(
            next_on_call(&shifts, now, |u| u == UserId(1)),
            Some(UserId(2))
        );
        assert_eq!(
            next_on_call(&shifts, now, |u| u != UserId(3)),
            Some(UserId(3))
        );
        assert_eq!(next_on_call(&shifts, now, |_| true), None);
        assert!(on_call(&shifts, plan[3].2).is_none());
    }

    #[test]
    fn profiles_are_checked_field_by_field() {
        let mut p = Profile::empty(UserId(1));
        assert!(p.validate().is_ok());
        p.time_zone = "Mars/Olympus".into();
        assert_eq!(p.validate().unwrap_err().0, "time_zone");
        p.time_zone = "America/New_York".into();
        p.skills = vec!["gardening".into()];
        assert_eq!(p.validate().unwrap_err().0, "skills");
    }
}
