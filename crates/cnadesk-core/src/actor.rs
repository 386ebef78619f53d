//! Who did something: recorded on every audit event.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{ReportId, UserId};

/// The author of a state change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A signed-in team member.
    Member {
        /// The account.
        id: UserId,
        /// The account's username at the time of the action.
        username: String,
    },
    /// A reporter acting through the private tracking link of a report.
    Reporter {
        /// The report whose link was used.
        report: ReportId,
    },
    /// A vendor contact signed in to the vendor portal.
    Vendor {
        /// The vendor account.
        id: crate::ids::VendorId,
    },
    /// cnadesk itself (intake, setup, command line, worker).
    System {
        /// The component that acted, e.g. `intake` or `cli`.
        component: String,
    },
}

impl Actor {
    /// A system actor.
    pub fn system(component: &str) -> Self {
        Actor::System {
            component: component.to_owned(),
        }
    }

    /// The compact form stored in the audit table, e.g. `member:3:alice`.
    pub fn to_key(&self) -> String {
        self.to_string()
    }
}

/// A stored actor key that is not one of the four forms.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not an actor: `{0}` (expected member:ID:NAME, reporter:REP-N, vendor:ID or system:NAME)")]
pub struct BadActor(pub String);

impl std::str::FromStr for Actor {
    type Err = BadActor;

    /// Reads the compact form of [`Actor::to_key`] back.
    fn from_str(s: &str) -> Result<Self, BadActor> {
        let bad = || BadActor(s.to_owned());
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "member" => {
                let (id, username) = rest.split_once(':').ok_or_else(bad)?;
                Ok(Actor::Member {
                    id: UserId(id.parse().map_err(|_| bad())?),
                    username: username.to_owned(),
                })
            }
            "reporter" => Ok(Actor::Reporter {
                report: rest.parse().map_err(|_| bad())?,
            }),
            "vendor" => Ok(Actor::Vendor {
                id: crate::ids::VendorId(rest.parse().map_err(|_| bad())?),
            }),
            "system" if !rest.is_empty() => Ok(Actor::system(rest)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Member { id, username } => write!(f, "member:{}:{}", id.0, username),
            Actor::Reporter { report } => write!(f, "reporter:{report}"),
            Actor::Vendor { id } => write!(f, "vendor:{}", id.0),
            Actor::System { component } => write!(f, "system:{component}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_actor_reads_back_from_its_key() {
        let actors = [
            Actor::Member {
                id: UserId(3),
                username: "alice".into(),
            },
            Actor::Reporter {
                report: ReportId(12),
            },
            Actor::Vendor {
                id: crate::ids::VendorId(7),
            },
            Actor::system("intake"),
        ];
        for a in actors {
            assert_eq!(a.to_key().parse::<Actor>(), Ok(a.clone()), "{a}");
        }
        for bad in [
            "",
            "member:3",
            "member:x:alice",
            "reporter:abc",
            "system:",
            "robot:1",
        ] {
            assert!(bad.parse::<Actor>().is_err(), "{bad}");
        }
    }
}
