//! The response-time commitments as the team publishes them: a versioned
//! TOML file (`policy/xsf-sla.toml`) with one target per commitment, the
//! warning and hand-on thresholds, the team's holidays, the rota shift length
//! and the recusal rule for competitors. Parsing only; no I/O.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::sla::{Calendar, Target};

/// The policy the desk ships with.
pub const BUNDLED: &str = include_str!("../policy/xsf-sla.toml");

/// The commitments the desk measures. Every policy defines all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKey {
    /// Tell the reporter a person has read the report.
    Acknowledge,
    /// Accept the report as a case or close it.
    Triage,
    /// Decide whether the case gets a CVE ID.
    CveDecision,
    /// Publish the CVE record after the vulnerability became public.
    Publication,
    /// Answer another CNA, the Root or the CVE Program.
    Inquiry,
}

impl TargetKey {
    /// Every target, in the order of a report's life.
    pub const ALL: [TargetKey; 5] = [
        TargetKey::Acknowledge,
        TargetKey::Triage,
        TargetKey::CveDecision,
        TargetKey::Publication,
        TargetKey::Inquiry,
    ];

    /// The stable key used in the policy file and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKey::Acknowledge => "acknowledge",
            TargetKey::Triage => "triage",
            TargetKey::CveDecision => "cve_decision",
            TargetKey::Publication => "publication",
            TargetKey::Inquiry => "inquiry",
        }
    }

    /// Whether waiting on the reporter pauses this clock.
    pub fn pausable(self) -> bool {
        matches!(self, TargetKey::Triage | TargetKey::CveDecision)
    }
}

impl fmt::Display for TargetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TargetKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        TargetKey::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown target {s:?}"))
    }
}

/// Parses "2 business days", "1 business day" or "72 hours".
pub fn parse_within(s: &str) -> Result<Target, String> {
    let t = s.trim();
    let (n, unit) = t
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("{s:?}: write \"<n> business days\" or \"<n> hours\""))?;
    let n: i64 = n
        .parse()
        .ok()
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| format!("{s:?}: the number must be a whole number from 1"))?;
    match unit
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .as_str()
    {
        "business days" | "business day" => Ok(Target::BusinessDays(n)),
        "hours" | "hour" => Ok(Target::Hours(n)),
        _ => Err(format!(
            "{s:?}: the unit must be \"business days\" or \"hours\""
        )),
    }
}

/// Shows a target the way the policy writes it.
pub fn describe(target: Target) -> String {
    match target {
        Target::BusinessDays(1) => "1 business day".into(),
        Target::BusinessDays(n) => format!("{n} business days"),
        Target::Hours(1) => "1 hour".into(),
        Target::Hours(n) => format!("{n} hours"),
    }
}

/// One commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TargetSpec {
    /// Which commitment.
    pub key: TargetKey,
    /// A label for people.
    pub label: String,
    /// When its clock starts, in words.
    pub starts: String,
    /// When it stops.
    pub stops: String,
    /// When it pauses, if it does.
    pub pauses: Option<String>,
    /// The target.
    pub within: Target,
    /// Tighter (or looser) targets per severity (`critical`, `high`, …).
    pub by_severity: BTreeMap<String, Target>,
}

impl TargetSpec {
    /// The target for a case of `severity` (lower case, e.g. `critical`).
    pub fn for_severity(&self, severity: Option<&str>) -> Target {
        severity
            .and_then(|s| self.by_severity.get(&s.to_ascii_lowercase()))
            .copied()
            .unwrap_or(self.within)
    }
}

/// The whole policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlaPolicy {
    /// Version, e.g. `2026.1`.
    pub version: String,
    /// From when it applies.
    pub effective: Date,
    /// Title.
    pub name: String,
    /// What the team promises, in prose.
    pub summary: String,
    /// Warning threshold, per mille of the target.
    pub warn_permille: i64,
    /// Hand-on threshold, per mille of the target.
    pub escalate_permille: i64,
    /// Team holidays.
    pub holidays: Vec<Date>,
    /// Length of an on-call shift, in days.
    pub shift_days: i64,
    /// Whether affiliation with a direct competitor recuses too.
    pub recuse_competitors: bool,
    /// Groups of direct competitors, by registry key.
    pub competitor_groups: Vec<Vec<String>>,
    /// The commitments, one per [`TargetKey`], in that order.
    pub targets: Vec<TargetSpec>,
}

/// A policy file that cannot be used, with what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SLA policy: {0}")]
pub struct SlaPolicyError(pub String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: String,
    effective: String,
    name: String,
    summary: String,
    warn_at_percent: i64,
    escalate_at_percent: i64,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    rota: RawRota,
    #[serde(default)]
    recusal: RawRecusal,
    #[serde(rename = "target")]
    targets: Vec<RawTarget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRota {
    shift_days: i64,
}

impl Default for RawRota {
    fn default() -> Self {
        RawRota { shift_days: 7 }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRecusal {
    #[serde(default)]
    competitors: bool,
    #[serde(default)]
    competitor_groups: Vec<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    key: String,
    label: String,
    starts: String,
    stops: String,
    #[serde(default)]
    pauses: Option<String>,
    within: String,
    #[serde(default)]
    by_severity: BTreeMap<String, String>,
}

const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

impl SlaPolicy {
    /// The policy shipped with cnadesk.
    pub fn bundled() -> SlaPolicy {
        // The bundled file is tested below; failing here is a build defect.
        SlaPolicy::parse(BUNDLED).unwrap_or_else(|e| panic!("bundled SLA policy: {e}"))
    }

    /// Parses and checks a policy file.
    pub fn parse(text: &str) -> Result<SlaPolicy, SlaPolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| SlaPolicyError(e.to_string()))?;
        let err = |m: String| SlaPolicyError(m);
        if raw.version.trim().is_empty() {
            return Err(err("`version` is empty".into()));
        }
        let effective: Date = raw
            .effective
            .parse()
            .map_err(|_| err(format!("`effective`: {:?} is not a date", raw.effective)))?;
        for (field, v) in [
            ("warn_at_percent", raw.warn_at_percent),
            ("escalate_at_percent", raw.escalate_at_percent),
        ] {
            if !(1..=100).contains(&v) {
                return Err(err(format!("`{field}` must be from 1 to 100, not {v}")));
            }
        }
        if raw.escalate_at_percent < raw.warn_at_percent {
            return Err(err(
                "`escalate_at_percent` must not be below `warn_at_percent`".into(),
            ));
        }
        let mut holidays = Vec::new();
        for (i, h) in raw.holidays.iter().enumerate() {
            holidays.push(
                h.parse::<Date>()
                    .map_err(|_| err(format!("`holidays[{i}]`: {h:?} is not a date")))?,
            );
        }
        holidays.sort();
        holidays.dedup();
        if !(1..=31).contains(&raw.rota.shift_days) {
            return Err(err(format!(
                "`rota.shift_days` must be from 1 to 31, not {}",
                raw.rota.shift_days
            )));
        }
        let mut targets: Vec<TargetSpec> = Vec::new();
        for (i, t) in raw.targets.into_iter().enumerate() {
            let at = |m: String| err(format!("`target[{i}]` ({}): {m}", t.key));
            let key: TargetKey = t.key.parse().map_err(at)?;
            if targets.iter().any(|x| x.key == key) {
                return Err(at("defined twice".into()));
            }
            let within = parse_within(&t.within).map_err(|m| at(format!("`within` {m}")))?;
            let mut by_severity = BTreeMap::new();
            for (s, w) in &t.by_severity {
                if !SEVERITIES.contains(&s.as_str()) {
                    return Err(at(format!(
                        "`by_severity`: unknown severity {s:?} (use {})",
                        SEVERITIES.join(", ")
                    )));
                }
                by_severity.insert(
                    s.clone(),
                    parse_within(w).map_err(|m| at(format!("`by_severity.{s}` {m}")))?,
                );
            }
            targets.push(TargetSpec {
                key,
                label: t.label,
                starts: t.starts,
                stops: t.stops,
                pauses: t.pauses,
                within,
                by_severity,
            });
        }
        for key in TargetKey::ALL {
            if !targets.iter().any(|t| t.key == key) {
                return Err(err(format!("no `[[target]]` with key = \"{key}\"")));
            }
        }
        // The team may promise faster publication than CNA rule 4.5.1.4, not slower.
        let rule = crate::publication::PUBLICATION_DUE_AFTER_MS / 1000;
        if let Some(t) = targets.iter().find(|t| t.key == TargetKey::Publication) {
            let slowest = t
                .by_severity
                .values()
                .chain([&t.within])
                .map(|x| x.seconds())
                .max();
            if slowest.is_some_and(|s| s > rule) {
                return Err(err(format!(
                    "the publication target may not exceed the {} hours of CNA rule 4.5.1.4",
                    rule / 3600
                )));
            }
        }
        targets.sort_by_key(|t| t.key);
        Ok(SlaPolicy {
            version: raw.version.trim().to_owned(),
            effective,
            name: raw.name,
            summary: raw.summary.trim().to_owned(),
            warn_permille: raw.warn_at_percent * 10,
            escalate_permille: raw.escalate_at_percent * 10,
            holidays,
            shift_days: raw.rota.shift_days,
            recuse_competitors: raw.recusal.competitors,
            competitor_groups: raw.recusal.competitor_groups,
            targets,
        })
    }

    /// The commitment for `key` (every policy has all of them).
    pub fn target(&self, key: TargetKey) -> &TargetSpec {
        self.targets
            .iter()
            .find(|t| t.key == key)
            .unwrap_or(&self.targets[0])
    }

    /// The business-day calendar.
    pub fn calendar(&self) -> Calendar {
        Calendar::new(self.holidays.iter().copied())
    }

    /// The products whose affiliated members are recused from a case about
    /// `product` besides `product` itself: its direct competitors, when the
    /// policy says so.
    pub fn competitors_of(&self, product: &str) -> Vec<String> {
        if !self.recuse_competitors {
            return Vec::new();
        }
        let mut out: Vec<String> = self
            .competitor_groups
            .iter()
            .filter(|g| g.iter().any(|p| p == product))
            .flatten()
            .filter(|p| *p != product)
            .cloned()
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_policy_parses_with_every_target() {
        let p = SlaPolicy::parse(BUNDLED).unwrap();
        assert_eq!(p.version, "2026.1");
        assert_eq!(p.warn_permille, 750);
        assert_eq!(p.escalate_permille, 900);
        assert_eq!(
            p.target(TargetKey::Publication).within,
            Target::Hours(72),
            "the 72-hour CNA rule"
        );
        let cve = p.target(TargetKey::CveDecision);
        assert_eq!(cve.for_severity(Some("CRITICAL")), Target::BusinessDays(2));
        assert_eq!(cve.for_severity(Some("low")), Target::BusinessDays(10));
        assert_eq!(cve.for_severity(None), Target::BusinessDays(10));
        assert!(!p.calendar().is_business_day("2026-12-25".parse().unwrap()));
        assert_eq!(p.shift_days, 7);
    }

    #[test]
    fn within_reads_days_and_hours_and_refuses_the_rest() {
        assert_eq!(parse_within("1 business day"), Ok(Target::BusinessDays(1)));
        assert_eq!(parse_within(" 72  hours "), Ok(Target::Hours(72)));
        assert!(parse_within("3 weeks").unwrap_err().contains("unit"));
        assert!(parse_within("0 hours")
            .unwrap_err()
            .contains("whole number"));
        assert!(parse_within("soon").is_err());
        assert_eq!(describe(Target::BusinessDays(2)), "2 business days");
    }

    #[test]
    fn broken_policies_say_what_and_where() {
        let missing = BUNDLED.replace("key = \"inquiry\"", "key = \"triage\"");
        let e = SlaPolicy::parse(&missing).unwrap_err().to_string();
        assert!(e.contains("`target[4]` (triage): defined twice"), "{e}");
        let bad = BUNDLED.replace("within = \"72 hours\"", "within = \"72 fortnights\"");
        let e = SlaPolicy::parse(&bad).unwrap_err().to_string();
        assert!(e.contains("target[3]") && e.contains("unit"), "{e}");
        let sev = BUNDLED.replace("high = ", "severe = ");
        assert!(SlaPolicy::parse(&sev)
            .unwrap_err()
            .to_string()
            .contains("unknown severity \"severe\""));
        let order = BUNDLED.replace("escalate_at_percent = 90", "escalate_at_percent = 50");
        assert!(SlaPolicy::parse(&order)
            .unwrap_err()
            .to_string()
            .contains("must not be below"));
        let slow = BUNDLED.replace("within = \"72 hours\"", "within = \"4 business days\"");
        assert!(SlaPolicy::parse(&slow)
            .unwrap_err()
            .to_string()
            .contains("may not exceed the 72 hours of CNA rule 4.5.1.4"));
        let holiday = BUNDLED.replace("\"2026-12-24\"", "\"2026-12-32\"");
        assert!(SlaPolicy::parse(&holiday)
            .unwrap_err()
            .to_string()
            .contains("`holidays[0]`"));
    }

    #[test]
    fn competitors_recuse_only_when_the_policy_says_so() {
        let on = BUNDLED
            .replace("competitors = false", "competitors = true")
            .replace(
                "competitor_groups = []",
                "competitor_groups = [[\"prosody-im\", \"ejabberd\", \"openfire\"]]",
            );
        let p = SlaPolicy::parse(&on).unwrap();
        assert_eq!(p.competitors_of("ejabberd"), ["openfire", "prosody-im"]);
        assert!(p.competitors_of("dino").is_empty());
        assert!(SlaPolicy::bundled().competitors_of("ejabberd").is_empty());
    }
}
