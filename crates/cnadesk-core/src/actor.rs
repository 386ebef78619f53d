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
