//! The case life cycle of a CNA, as an explicit state machine.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a case stands in the CNA life cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    /// Opened, scope and validity not yet confirmed.
    Triage,
    /// Accepted as an in-scope vulnerability.
    Accepted,
    /// Vendors are being contacted and coordinated.
    InCoordination,
    /// A CVE ID is reserved for the case.
    CveReserved,
    /// Details are under embargo until an agreed date.
    UnderEmbargo,
    /// The CVE record and advisory are public.
    Published,
    /// Finished (no further action).
    Closed,
    /// The CVE was rejected (duplicate, not a vulnerability, unused ID).
    Rejected,
    /// A published record is disputed.
    Disputed,
}

impl CaseState {
    /// Every state, in life-cycle order.
    pub const ALL: [CaseState; 9] = [
        CaseState::Triage,
        CaseState::Accepted,
        CaseState::InCoordination,
        CaseState::CveReserved,
        CaseState::UnderEmbargo,
        CaseState::Published,
        CaseState::Closed,
        CaseState::Rejected,
        CaseState::Disputed,
    ];

    /// The stable string stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::Triage => "triage",
            CaseState::Accepted => "accepted",
            CaseState::InCoordination => "in_coordination",
            CaseState::CveReserved => "cve_reserved",
            CaseState::UnderEmbargo => "under_embargo",
            CaseState::Published => "published",
            CaseState::Closed => "closed",
            CaseState::Rejected => "rejected",
            CaseState::Disputed => "disputed",
        }
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            CaseState::Triage => "Triage",
            CaseState::Accepted => "Accepted",
            CaseState::InCoordination => "In coordination",
            CaseState::CveReserved => "CVE reserved",
            CaseState::UnderEmbargo => "Under embargo",
            CaseState::Published => "Published",
            CaseState::Closed => "Closed",
            CaseState::Rejected => "Rejected",
            CaseState::Disputed => "Disputed",
        }
    }

    /// The states this one may move to. This table is the whole policy.
    pub fn successors(self) -> &'static [CaseState] {
        use CaseState::*;
        match self {
            Triage => &[Accepted, Closed, Rejected],
            // Published follows the publication of a record or an
            // advisory, which may come before any other step.
            Accepted => &[
                InCoordination,
                CveReserved,
                UnderEmbargo,
                Published,
                Closed,
                Rejected,
            ],
            InCoordination => &[CveReserved, UnderEmbargo, Published, Closed, Rejected],
            CveReserved => &[InCoordination, UnderEmbargo, Published, Rejected],
            UnderEmbargo => &[InCoordination, CveReserved, Published, Rejected],
            Published => &[Disputed, Closed],
            Disputed => &[Published, Rejected, Closed],
            // A closed case can be reopened when new information arrives.
            Closed => &[Accepted],
            Rejected => &[Disputed],
        }
    }

    /// The moves a member may make by hand: every successor, except that
    /// an accepted case (or one in coordination) becomes Published only by
    /// the publication itself, never by a member saying so.
    pub fn by_hand(self) -> Vec<CaseState> {
        self.successors()
            .iter()
            .copied()
            .filter(|to| {
                !(*to == CaseState::Published
                    && matches!(self, CaseState::Accepted | CaseState::InCoordination))
            })
            .collect()
    }

    /// Checks a move a member makes by hand ([`CaseState::by_hand`]).
    pub fn transition_by_hand(self, to: CaseState) -> Result<CaseState, TransitionError> {
        if self.by_hand().contains(&to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// Whether the case still needs work from the team.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            CaseState::Closed | CaseState::Rejected | CaseState::Published
        )
    }

    /// Checks a move; the error says which moves are allowed instead.
    pub fn transition(self, to: CaseState) -> Result<CaseState, TransitionError> {
        if self.successors().contains(&to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

/// A refused state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a case cannot move from {} to {}; allowed from {}: {}", from.label(), to.label(), from.label(), allowed(*from))]
pub struct TransitionError {
    /// The current state.
    pub from: CaseState,
    /// The refused target.
    pub to: CaseState,
}

fn allowed(from: CaseState) -> String {
    let names: Vec<&str> = from.successors().iter().map(|s| s.label()).collect();
    if names.is_empty() {
        "nothing".to_owned()
    } else {
        names.join(", ")
    }
}

impl fmt::Display for CaseState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CaseState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CaseState::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown case state `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::CaseState::{self, *};

    /// The full table of allowed moves, written out independently of
    /// `successors()`: every pair not listed here must be refused.
    const ALLOWED: &[(CaseState, CaseState)] = &[
        (Triage, Accepted),
        (Triage, Closed),
        (Triage, Rejected),
        (Accepted, InCoordination),
        (Accepted, CveReserved),
        (Accepted, UnderEmbargo),
        (Accepted, Published),
        (Accepted, Closed),
        (Accepted, Rejected),
        (InCoordination, CveReserved),
        (InCoordination, UnderEmbargo),
        (InCoordination, Published),
        (InCoordination, Closed),
        (InCoordination, Rejected),
        (CveReserved, InCoordination),
        (CveReserved, UnderEmbargo),
        (CveReserved, Published),
        (CveReserved, Rejected),
        (UnderEmbargo, InCoordination),
        (UnderEmbargo, CveReserved),
        (UnderEmbargo, Published),
        (UnderEmbargo, Rejected),
        (Published, Disputed),
        (Published, Closed),
        (Disputed, Published),
        (Disputed, Rejected),
        (Disputed, Closed),
        (Closed, Accepted),
        (Rejected, Disputed),
    ];

    #[test]
    fn transition_table_is_exactly_the_allowed_moves() {
        for from in CaseState::ALL {
            for to in CaseState::ALL {
                let expected = ALLOWED.contains(&(from, to));
                let got = from.transition(to);
                assert_eq!(got.is_ok(), expected, "{from} -> {to}");
                if let Err(e) = got {
                    assert_eq!((e.from, e.to), (from, to));
                }
            }
        }
    }

    #[test]
    fn published_comes_from_events_not_from_a_hand_move() {
        assert!(Accepted.transition(Published).is_ok());
        assert!(Accepted.transition_by_hand(Published).is_err());
        assert!(InCoordination.transition_by_hand(Published).is_err());
        assert!(CveReserved.transition_by_hand(Published).is_ok());
        assert!(Accepted.by_hand().contains(&Closed));
    }

    #[test]
    fn refused_move_explains_the_alternatives() {
        let err = Published.transition(Triage).unwrap_err();
        assert_eq!(
            err.to_string(),
            "a case cannot move from Published to Triage; allowed from Published: Disputed, Closed"
        );
    }

    #[test]
    fn no_self_loops_and_states_round_trip() {
        for s in CaseState::ALL {
            assert!(s.transition(s).is_err());
            assert_eq!(s.as_str().parse::<CaseState>(), Ok(s));
        }
    }
}
