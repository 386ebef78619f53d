//! Typed identifiers, so a report id can never be passed where a case id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident, $prefix:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The prefix used in the human-readable form (`REP-12`).
            pub const PREFIX: &'static str = $prefix;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}-{}", $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            /// Accepts both `12` and `REP-12`.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let digits = s
                    .strip_prefix(concat!($prefix, "-"))
                    .unwrap_or(s);
                digits
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map($name)
                    .ok_or_else(|| ParseIdError(s.to_owned()))
            }
        }
    };
}

/// An identifier that could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid identifier")]
pub struct ParseIdError(pub String);

id_type!(
    /// A vulnerability report as submitted by a reporter.
    ReportId,
    "REP"
);
id_type!(
    /// A case: an accepted report the team works on.
    CaseId,
    "CASE"
);
id_type!(
    /// A team account.
    UserId,
    "USER"
);
id_type!(
    /// A message on a report thread (shared with the reporter or internal).
    MessageId,
    "MSG"
);
id_type!(
    /// A file attached to a report.
    AttachmentId,
    "ATT"
);
id_type!(
    /// A vendor contact's account (the vendor portal; not a team account).
    VendorId,
    "VENDOR"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_display_with_prefix_and_parse_both_forms() {
        assert_eq!(ReportId(12).to_string(), "REP-12");
        assert_eq!("REP-12".parse::<ReportId>(), Ok(ReportId(12)));
        assert_eq!("12".parse::<ReportId>(), Ok(ReportId(12)));
        assert!("CASE-12".parse::<ReportId>().is_err());
        assert!("0".parse::<CaseId>().is_err());
        assert!("-3".parse::<CaseId>().is_err());
    }
}
