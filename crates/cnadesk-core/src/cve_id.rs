//! CVE identifiers (`CVE-2026-12345`), checked once at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A syntactically valid CVE ID: `CVE-`, a four-digit year from 1999 on,
/// `-`, and four to nineteen digits (the pattern of the CVE JSON schema).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CveId(String);

impl CveId {
    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The year part.
    pub fn year(&self) -> u16 {
        self.0[4..8].parse().unwrap_or(0)
    }
}

impl fmt::Display for CveId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CveId {
    type Err = String;

    /// Accepts surrounding spaces and a lowercase `cve-` prefix; stores the
    /// canonical uppercase form.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let bad = || {
            format!(
                "“{s}” is not a CVE ID: expected CVE-YYYY-NNNN (a year and at least four digits)"
            )
        };
        let rest = s
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("CVE-"))
            .map(|_| &s[4..])
            .ok_or_else(bad)?;
        let (year, number) = rest.split_once('-').ok_or_else(bad)?;
        let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if year.len() != 4 || !digits(year) || !(4..=19).contains(&number.len()) || !digits(number)
        {
            return Err(bad());
        }
        let y: u16 = year.parse().map_err(|_| bad())?;
        if y < 1999 {
            return Err(format!("{s}: CVE IDs start in 1999"));
        }
        Ok(CveId(format!("CVE-{year}-{number}")))
    }
}

impl TryFrom<String> for CveId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<CveId> for String {
    fn from(id: CveId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_canonicalizes() {
        let id: CveId = " cve-2017-5589 ".parse().unwrap();
        assert_eq!(id.as_str(), "CVE-2017-5589");
        assert_eq!(id.year(), 2017);
        assert!("CVE-2026-1234567".parse::<CveId>().is_ok());
    }

    #[test]
    fn rejects_what_the_schema_rejects() {
        for bad in [
            "",
            "CVE-2017-558",
            "CVE-17-5589",
            "CVE-2017-55x9",
            "GHSA-2017-5589",
            "CVE-1998-0001",
            "CVE-2017-12345678901234567890",
            "CVE-2017",
        ] {
            assert!(bad.parse::<CveId>().is_err(), "{bad} accepted");
        }
    }
}
