//! The rules of publishing to the CVE Program, without I/O: the two-person
//! rule, the publication deadline after public disclosure (CNA Operational
//! Rules 4.5.1.4), which reserved IDs are stale (rule 4.5.3.5), and how long
//! to wait before trying an unfinished call again.

use crate::{CaseState, UserId};

/// One hour in milliseconds.
pub const HOUR_MS: i64 = 3_600_000;
/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Rule 4.5.1.4: once a CVE ID is publicly disclosed, its record must be
/// published within 72 hours.
pub const PUBLICATION_DUE_AFTER_MS: i64 = 72 * HOUR_MS;
/// Rule 4.5.1.4 recommends 24 hours.
pub const PUBLICATION_RECOMMENDED_AFTER_MS: i64 = 24 * HOUR_MS;

/// Why a member may not approve a record version.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ApprovalRefused {
    /// The two-person rule: the author cannot approve their own version.
    #[error("the author of a version cannot approve it; a second member must")]
    OwnVersion,
    /// Only the latest version can be approved: an older one would never be published.
    #[error("only the latest version can be approved (version {latest} is newer)")]
    NotLatest {
        /// The latest version.
        latest: i64,
    },
    /// The version fails the schema or the CNA rules.
    #[error("this version does not pass the checks (schema or CNA rules); fix it first")]
    NotPublishable,
    /// Neutrality: a member recused from the case cannot be its second member.
    #[error("you are recused from this case ({reason}); another member must approve")]
    Recused {
        /// Why they are recused.
        reason: String,
    },
}

/// Whether `approver` may approve `version` of a record written by `author`;
/// `approver_recused` is the reason they are recused from the case, if they are.
pub fn check_approval(
    author: UserId,
    approver: UserId,
    version: i64,
    latest: i64,
    publishable: bool,
    approver_recused: Option<&str>,
) -> Result<(), ApprovalRefused> {
    if let Some(reason) = approver_recused {
        return Err(ApprovalRefused::Recused {
            reason: reason.to_owned(),
        });
    }
    if version != latest {
        return Err(ApprovalRefused::NotLatest { latest });
    }
    if !publishable {
        return Err(ApprovalRefused::NotPublishable);
    }
    if author == approver {
        return Err(ApprovalRefused::OwnVersion);
    }
    Ok(())
}

/// Where a record stands against its publication deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadlineState {
    /// Published in time (or before disclosure).
    Met,
    /// Published, but after the 72 hours.
    MetLate,
    /// Not published; within the recommended 24 hours.
    Open,
    /// Not published; past the recommended 24 hours, within the 72.
    RecommendedPassed,
    /// Not published, and the 72 hours are over.
    Overdue,
}

impl DeadlineState {
    /// A short label for pages.
    pub fn label(self) -> &'static str {
        match self {
            DeadlineState::Met => "met",
            DeadlineState::MetLate => "met late",
            DeadlineState::Open => "open",
            DeadlineState::RecommendedPassed => "past the recommended 24 h",
            DeadlineState::Overdue => "overdue",
        }
    }

    /// Whether the page should warn.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            DeadlineState::RecommendedPassed | DeadlineState::Overdue | DeadlineState::MetLate
        )
    }
}

/// The publication clock of a publicly disclosed CVE ID.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublicationDeadline {
    /// When the ID became public.
    pub disclosed_ms: i64,
    /// 24 hours later (recommended).
    pub recommended_ms: i64,
    /// 72 hours later (required).
    pub due_ms: i64,
    /// The state now.
    pub state: DeadlineState,
    /// Milliseconds until the deadline (negative when past); `None` once published.
    pub remaining_ms: Option<i64>,
}

/// The deadline of an ID disclosed at `disclosed_ms`, published at
/// `published_ms` (if it is), seen at `now_ms`.
pub fn publication_deadline(
    disclosed_ms: i64,
    published_ms: Option<i64>,
    now_ms: i64,
) -> PublicationDeadline {
    let due_ms = disclosed_ms + PUBLICATION_DUE_AFTER_MS;
    let recommended_ms = disclosed_ms + PUBLICATION_RECOMMENDED_AFTER_MS;
    let (state, remaining_ms) = match published_ms {
        Some(p) if p <= due_ms => (DeadlineState::Met, None),
        Some(_) => (DeadlineState::MetLate, None),
        None if now_ms > due_ms => (DeadlineState::Overdue, Some(due_ms - now_ms)),
        None if now_ms > recommended_ms => {
            (DeadlineState::RecommendedPassed, Some(due_ms - now_ms))
        }
        None => (DeadlineState::Open, Some(due_ms - now_ms)),
    };
    PublicationDeadline {
        disclosed_ms,
        recommended_ms,
        due_ms,
        state,
        remaining_ms,
    }
}

/// "41 h 20 min", "3 d 2 h", "15 min": a duration for people.
pub fn human_duration(ms: i64) -> String {
    let minutes = ms.abs() / 60_000;
    let (d, h, m) = (minutes / 1440, (minutes / 60) % 24, minutes % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else {
        format!("{m} min")
    }
}

/// How a reserved ID is used, for the stale-reservation report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReservedUse {
    /// Age of the reservation.
    pub age_ms: i64,
    /// The state of the case it belongs to, if any.
    pub case_state: Option<CaseState>,
    /// Whether the case's record uses this ID (a version exists and the
    /// record is for this ID).
    pub in_record: bool,
}

/// Reserved IDs with no case and no record after this long are stale.
pub const UNASSIGNED_STALE_AFTER_MS: i64 = 7 * DAY_MS;
/// Reserved IDs whose case has no record version for this long are stale.
pub const UNUSED_STALE_AFTER_MS: i64 = 90 * DAY_MS;

/// Why a reserved ID has no publication plan (rule 4.5.3.5: IDs that will
/// not be used must be rejected), or `None` when it has one.
pub fn stale_reason(u: ReservedUse) -> Option<String> {
    match u.case_state {
        None if u.age_ms >= UNASSIGNED_STALE_AFTER_MS => Some(format!(
            "reserved {} ago and not linked to any case",
            human_duration(u.age_ms)
        )),
        None => None,
        Some(CaseState::Closed) if !u.in_record => {
            Some("its case is closed and no record was written with it".into())
        }
        Some(_) if !u.in_record && u.age_ms >= UNUSED_STALE_AFTER_MS => Some(format!(
            "reserved {} ago and still no record uses it",
            human_duration(u.age_ms)
        )),
        Some(_) => None,
    }
}

/// How long to wait before attempt `attempts + 1` of a call whose outcome
/// was unclear: 30 s, 1 min, 2 min… capped at one hour.
pub fn retry_delay_ms(attempts: u32) -> i64 {
    let base: i64 = 30_000;
    base.saturating_mul(1i64 << attempts.min(7)).min(HOUR_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_person_rule() {
        let (a, b) = (UserId(1), UserId(2));
        assert_eq!(
            check_approval(a, a, 2, 2, true, None),
            Err(ApprovalRefused::OwnVersion)
        );
        assert_eq!(check_approval(a, b, 2, 2, true, None), Ok(()));
        assert_eq!(
            check_approval(a, b, 1, 2, true, None),
            Err(ApprovalRefused::NotLatest { latest: 2 })
        );
        assert_eq!(
            check_approval(a, b, 2, 2, false, None),
            Err(ApprovalRefused::NotPublishable)
        );
        assert_eq!(
            check_approval(a, b, 2, 2, true, Some("works on Dino")),
            Err(ApprovalRefused::Recused {
                reason: "works on Dino".into()
            })
        );
    }

    #[test]
    fn deadline_follows_rule_4_5_1_4() {
        let t0 = 1_000_000_000_000;
        let d = publication_deadline(t0, None, t0 + HOUR_MS);
        assert_eq!(d.state, DeadlineState::Open);
        assert_eq!(d.due_ms, t0 + 72 * HOUR_MS);
        assert_eq!(d.remaining_ms, Some(71 * HOUR_MS));
        assert_eq!(
            publication_deadline(t0, None, t0 + 25 * HOUR_MS).state,
            DeadlineState::RecommendedPassed
        );
        let late = publication_deadline(t0, None, t0 + 73 * HOUR_MS);
        assert_eq!(late.state, DeadlineState::Overdue);
        assert_eq!(late.remaining_ms, Some(-HOUR_MS));
        // Exactly at 72 h is still in time.
        assert_eq!(
            publication_deadline(t0, Some(t0 + 72 * HOUR_MS), t0 + 100 * HOUR_MS).state,
            DeadlineState::Met
        );
        assert_eq!(
            publication_deadline(t0, Some(t0 + 72 * HOUR_MS + 1), t0 + 100 * HOUR_MS).state,
            DeadlineState::MetLate
        );
        // Published before it was disclosed: met.
        assert_eq!(
            publication_deadline(t0, Some(t0 - DAY_MS), t0).state,
            DeadlineState::Met
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(41 * HOUR_MS + 20 * 60_000), "1 d 17 h");
        assert_eq!(human_duration(5 * HOUR_MS + 60_000), "5 h 1 min");
        assert_eq!(human_duration(-15 * 60_000), "15 min");
    }

    #[test]
    fn stale_reservations() {
        let unlinked = |age_ms| ReservedUse {
            age_ms,
            case_state: None,
            in_record: false,
        };
        assert_eq!(stale_reason(unlinked(DAY_MS)), None);
        assert!(stale_reason(unlinked(8 * DAY_MS))
            .unwrap()
            .contains("not linked"));
        let closed = ReservedUse {
            age_ms: HOUR_MS,
            case_state: Some(CaseState::Closed),
            in_record: false,
        };
        assert!(stale_reason(closed).unwrap().contains("closed"));
        // A closed case whose record used the ID: publishing is the plan.
        assert_eq!(
            stale_reason(ReservedUse {
                in_record: true,
                ..closed
            }),
            None
        );
        let open = ReservedUse {
            age_ms: 91 * DAY_MS,
            case_state: Some(CaseState::Accepted),
            in_record: false,
        };
        assert!(stale_reason(open).unwrap().contains("no record"));
        assert_eq!(
            stale_reason(ReservedUse {
                age_ms: 10 * DAY_MS,
                ..open
            }),
            None
        );
    }

    #[test]
    fn retries_back_off_and_cap() {
        assert_eq!(retry_delay_ms(0), 30_000);
        assert_eq!(retry_delay_ms(1), 60_000);
        assert_eq!(retry_delay_ms(3), 240_000);
        assert_eq!(retry_delay_ms(40), HOUR_MS);
    }
}
