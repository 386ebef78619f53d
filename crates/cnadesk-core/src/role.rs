//! Team roles and what each may do.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The role of a team account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the desk: manages accounts and policies, and does everything a member does.
    Admin,
    /// Triages reports and works cases.
    Member,
}

impl Role {
    /// The stable string stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Whether this role may manage team accounts.
    pub fn can_manage_users(self) -> bool {
        matches!(self, Role::Admin)
    }

    /// Whether this role may triage reports and work cases.
    pub fn can_triage(self) -> bool {
        matches!(self, Role::Admin | Role::Member)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(format!("unknown role `{other}` (expected admin or member)")),
        }
    }
}
