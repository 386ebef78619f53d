//! Who works a case. Assignment is manual today; a policy plugs in through
//! [`AssignmentPolicy`] so automatic assignment can replace [`ManualAssignment`]
//! without touching the store or the web layer.

use crate::ids::UserId;

/// A team member as an assignment policy sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The account.
    pub id: UserId,
    /// Username, for explanations.
    pub username: String,
    /// Whether the account is active.
    pub active: bool,
    /// Open cases currently assigned.
    pub open_cases: i64,
    /// How many open cases they take on (0: no limit recorded; counted as 1
    /// for balancing so members without a figure are not overloaded).
    pub capacity: i64,
    /// Away now: the reason shown ("out of office until 2026-12-01").
    pub away: Option<String>,
    /// Recused from this case: the reason shown ("works on Prosody IM").
    pub recused: Option<String>,
    /// When they were last given a case (ms), for turn-taking among equals.
    pub last_assigned_ms: Option<i64>,
}

impl Candidate {
    /// A candidate with no capacity, absence or recusal recorded.
    pub fn new(id: UserId, username: &str, active: bool, open_cases: i64) -> Self {
        Candidate {
            id,
            username: username.to_owned(),
            active,
            open_cases,
            capacity: 0,
            away: None,
            recused: None,
            last_assigned_ms: None,
        }
    }
}

/// The outcome of an assignment decision, with the reason recorded on the case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Who gets the case (`None`: unassigned).
    pub assignee: Option<UserId>,
    /// Why, in one sentence.
    pub reason: String,
}

/// Picks an assignee for a case.
pub trait AssignmentPolicy: Send + Sync {
    /// Proposes an assignment, or `None` when the policy leaves it to a person.
    fn propose(&self, candidates: &[Candidate]) -> Option<Assignment>;

    /// Validates a manual choice made by a member.
    fn manual(
        &self,
        candidates: &[Candidate],
        chosen: Option<UserId>,
        reason: &str,
    ) -> Result<Assignment, String> {
        let reason = reason.trim();
        match chosen {
            None => Ok(Assignment {
                assignee: None,
                reason: if reason.is_empty() {
                    "unassigned".to_owned()
                } else {
                    reason.to_owned()
                },
            }),
            Some(id) => {
                let c = candidates
                    .iter()
                    .find(|c| c.id == id)
                    .ok_or_else(|| format!("{id} is not a team member"))?;
                if !c.active {
                    return Err(format!("{} is deactivated", c.username));
                }
                Ok(Assignment {
                    assignee: Some(id),
                    reason: if reason.is_empty() {
                        format!("assigned manually to {}", c.username)
                    } else {
                        reason.to_owned()
                    },
                })
            }
        }
    }
}

/// The default until automatic assignment exists: never proposes, accepts
/// any active member chosen by hand.
#[derive(Debug, Default, Clone, Copy)]
pub struct ManualAssignment;

impl AssignmentPolicy for ManualAssignment {
    fn propose(&self, _candidates: &[Candidate]) -> Option<Assignment> {
        None
    }
}

/// Automatic assignment: weighted round robin. Among members who are active,
/// present, not recused and under capacity, the one with the lowest open load
/// relative to capacity gets the case; among equals, the one who waited
/// longest. The reason names who was skipped and why.
#[derive(Debug, Default, Clone, Copy)]
pub struct BalancedAssignment;

impl BalancedAssignment {
    fn load_permille(c: &Candidate) -> i64 {
        c.open_cases * 1000 / c.capacity.max(1)
    }
}

impl AssignmentPolicy for BalancedAssignment {
    fn propose(&self, candidates: &[Candidate]) -> Option<Assignment> {
        let mut skipped: Vec<String> = Vec::new();
        let mut eligible: Vec<&Candidate> = Vec::new();
        for c in candidates {
            if !c.active {
                continue;
            } else if let Some(r) = &c.recused {
                skipped.push(format!("{} (recused: {r})", c.username));
            } else if let Some(a) = &c.away {
                skipped.push(format!("{} ({a})", c.username));
            } else if c.capacity > 0 && c.open_cases >= c.capacity {
                skipped.push(format!(
                    "{} (at capacity, {} of {})",
                    c.username, c.open_cases, c.capacity
                ));
            } else {
                eligible.push(c);
            }
        }
        let chosen = eligible.iter().min_by_key(|c| {
            (
                Self::load_permille(c),
                c.last_assigned_ms.unwrap_or(i64::MIN),
                c.id,
            )
        })?;
        let load = if chosen.capacity > 0 {
            format!(
                "{} of {} open cases, the lowest load",
                chosen.open_cases, chosen.capacity
            )
        } else {
            format!("{} open cases, the lowest load", chosen.open_cases)
        };
        let mut reason = format!("assigned automatically to {}: {load}", chosen.username);
        if !skipped.is_empty() {
            reason.push_str(&format!("; skipped {}", skipped.join(", ")));
        }
        Some(Assignment {
            assignee: Some(chosen.id),
            reason,
        })
    }

    fn manual(
        &self,
        candidates: &[Candidate],
        chosen: Option<UserId>,
        reason: &str,
    ) -> Result<Assignment, String> {
        // A manual choice needs a reason here, and never goes to a recused member.
        if let Some(c) = chosen.and_then(|id| candidates.iter().find(|c| c.id == id)) {
            if let Some(r) = &c.recused {
                return Err(format!("{} is recused from this case: {r}", c.username));
            }
        }
        if chosen.is_some() && reason.trim().is_empty() {
            return Err("overriding the automatic assignment needs a reason".into());
        }
        ManualAssignment.manual(candidates, chosen, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team() -> Vec<Candidate> {
        vec![
            Candidate::new(UserId(1), "alice", true, 2),
            Candidate::new(UserId(2), "bob", false, 0),
        ]
    }

    #[test]
    fn manual_assignment_checks_the_member() {
        let p = ManualAssignment;
        assert_eq!(p.propose(&team()), None);
        let a = p.manual(&team(), Some(UserId(1)), "").unwrap();
        assert_eq!(a.assignee, Some(UserId(1)));
        assert_eq!(a.reason, "assigned manually to alice");
        assert!(p
            .manual(&team(), Some(UserId(2)), "x")
            .unwrap_err()
            .contains("deactivated"));
        assert!(p.manual(&team(), Some(UserId(9)), "x").is_err());
        assert_eq!(p.manual(&team(), None, "").unwrap().assignee, None);
    }

    fn member(id: i64, name: &str, open: i64, capacity: i64) -> Candidate {
        Candidate {
            capacity,
            ..Candidate::new(UserId(id), name, true, open)
        }
    }

    #[test]
    fn balanced_assignment_weighs_load_against_capacity() {
        // alice 2/4 = 50 %, bob 1/3 = 33 %, carol 0/1 but recused, dave away,
        // erin at capacity.
        let team = vec![
            member(1, "alice", 2, 4),
            member(2, "bob", 1, 3),
            Candidate {
                recused: Some("works on Prosody IM".into()),
                ..member(3, "carol", 0, 1)
            },
            Candidate {
                away: Some("out of office until 2026-12-01".into()),
                ..member(4, "dave", 0, 5)
            },
            member(5, "erin", 2, 2),
            Candidate::new(UserId(6), "frank", false, 0),
        ];
        let a = BalancedAssignment.propose(&team).unwrap();
        assert_eq!(a.assignee, Some(UserId(2)));
        assert_eq!(
            a.reason,
            "assigned automatically to bob: 1 of 3 open cases, the lowest load; skipped carol (recused: works on Prosody IM), dave (out of office until 2026-12-01), erin (at capacity, 2 of 2)"
        );
    }

    #[test]
    fn equals_take_turns_and_nobody_eligible_means_a_person_decides() {
        let mut team = vec![member(1, "alice", 1, 2), member(2, "bob", 1, 2)];
        team[0].last_assigned_ms = Some(2_000);
        team[1].last_assigned_ms = Some(1_000);
        assert_eq!(
            BalancedAssignment.propose(&team).unwrap().assignee,
            Some(UserId(2))
        );
        team[1].last_assigned_ms = Some(3_000);
        assert_eq!(
            BalancedAssignment.propose(&team).unwrap().assignee,
            Some(UserId(1))
        );
        let nobody = vec![Candidate {
            away: Some("on holiday".into()),
            ..member(1, "alice", 0, 2)
        }];
        assert_eq!(BalancedAssignment.propose(&nobody), None);
    }

    #[test]
    fn a_recused_member_cannot_be_chosen_by_hand_either() {
        let team = vec![Candidate {
            recused: Some("paid by ProcessOne".into()),
            ..member(1, "alice", 0, 2)
        }];
        let e = BalancedAssignment
            .manual(&team, Some(UserId(1)), "urgent")
            .unwrap_err();
        assert!(e.contains("recused"), "{e}");
        assert!(BalancedAssignment
            .manual(&[member(2, "bob", 0, 2)], Some(UserId(2)), " ")
            .unwrap_err()
            .contains("needs a reason"));
    }
}
