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

#[cfg(test)]
mod tests {
    use super::*;

    fn team() -> Vec<Candidate> {
        vec![
            Candidate {
                id: UserId(1),
                username: "alice".into(),
                active: true,
                open_cases: 2,
            },
            Candidate {
                id: UserId(2),
                username: "bob".into(),
                active: false,
                open_cases: 0,
            },
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
}
