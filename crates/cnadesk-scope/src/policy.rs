//! The policy file: version, effective date, rules, coverage of other CNAs.

use serde::{Deserialize, Serialize};

/// The policy shipped with cnadesk.
pub const DEFAULT_POLICY: &str = include_str!("../policy/xsf-scope.toml");

/// What a rule decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// We assign.
    InScope,
    /// Another CNA assigns; we say which.
    Refer,
    /// Nobody should assign through us.
    OutOfScope,
    /// The engine cannot decide: a person must.
    NeedsHuman,
}

impl Decision {
    /// Every decision a person can record.
    pub const FINAL: [Decision; 3] = [Decision::InScope, Decision::Refer, Decision::OutOfScope];

    /// The stable string.
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::InScope => "in_scope",
            Decision::Refer => "refer",
            Decision::OutOfScope => "out_of_scope",
            Decision::NeedsHuman => "needs_human",
        }
    }

    /// For people.
    pub fn label(self) -> &'static str {
        match self {
            Decision::InScope => "In scope",
            Decision::Refer => "Refer to another CNA",
            Decision::OutOfScope => "Out of scope",
            Decision::NeedsHuman => "Needs a human",
        }
    }
}

impl std::str::FromStr for Decision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Decision::InScope,
            Decision::Refer,
            Decision::OutOfScope,
            Decision::NeedsHuman,
        ]
        .into_iter()
        .find(|d| d.as_str() == s)
        .ok_or_else(|| format!("unknown decision `{s}`"))
    }
}

/// The condition a rule tests (see the policy file's header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// The product named is a generic component.
    GenericComponent,
    /// About a hosted service, naming no registered software.
    HostedService,
    /// The report points at a channel another CNA covers.
    SpecificCna,
    /// The product's vendor (or recorded CNA) is a CNA.
    VendorCna,
    /// A registered fork.
    Fork,
    /// Archived or past end of life.
    Archived,
    /// A registered XMPP library.
    XmppLibrary,
    /// Listed or added to the registry.
    Registered,
    /// About a XEP itself.
    Protocol,
}

/// One rule: one question, one answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id, stored with every decision.
    pub id: String,
    /// The question it answers, in plain language.
    pub question: String,
    /// The answer, in plain language (shown on /scope).
    pub statement: String,
    /// When it applies.
    pub when: Condition,
    /// What it decides.
    pub decision: Decision,
    /// The sentence given with a decision (placeholders filled in).
    pub rationale: String,
    /// Tags for the record (e.g. `unsupported-when-assigned`).
    #[serde(default)]
    pub tags: Vec<String>,
}

/// Another CNA that covers a channel: a forge's advisories, a distribution,
/// a package registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// CNA short name (as in the CNA list).
    pub cna: String,
    /// Its name, for CNAs newer than the imported CNA list.
    #[serde(default)]
    pub cna_name: Option<String>,
    /// What the report shows, in words ("The product is a Hex package").
    pub evidence: String,
    /// URL fragments (lower case) that show it.
    #[serde(default)]
    pub url_contains: Vec<String>,
    /// Package URL types (`hex`) that show it.
    #[serde(default)]
    pub purl_types: Vec<String>,
    /// Phrases (lower case) that show it.
    #[serde(default)]
    pub words: Vec<String>,
}

/// A scope policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Version, stored with every decision.
    pub version: String,
    /// The date from which it applies (YYYY-MM-DD).
    pub effective: String,
    /// Title.
    pub name: String,
    /// What is in scope, in a paragraph.
    pub summary: String,
    /// The CNA of last resort.
    pub last_resort: String,
    /// Words that mark a hosted service.
    #[serde(default)]
    pub hosted_words: Vec<String>,
    /// Rules, in the order they are tried.
    #[serde(rename = "rule")]
    pub rules: Vec<Rule>,
    /// Coverage of other CNAs.
    #[serde(default, rename = "coverage")]
    pub coverage: Vec<Coverage>,
}

/// A policy file that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct PolicyError(pub String);

impl Policy {
    /// The shipped XSF policy.
    pub fn default_xsf() -> Policy {
        Policy::parse(DEFAULT_POLICY).unwrap_or_else(|e| {
            // The shipped file is tested; this cannot happen in a build that passed its tests.
            panic!("the shipped scope policy is invalid: {e}")
        })
    }

    /// Parses and checks a policy file.
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let policy: Policy = toml::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        policy.check()?;
        Ok(policy)
    }

    fn check(&self) -> Result<(), PolicyError> {
        if self.version.trim().is_empty() {
            return Err(PolicyError("`version` is empty".into()));
        }
        let d = self.effective.as_bytes();
        let date_like = d.len() == 10
            && d.iter().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    *c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            });
        if !date_like {
            return Err(PolicyError(format!(
                "`effective` must be a date like 2026-12-01, not `{}`",
                self.effective
            )));
        }
        if self.rules.is_empty() {
            return Err(PolicyError("the policy has no [[rule]]".into()));
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.id.trim().is_empty() {
                return Err(PolicyError(format!("rule {} has an empty `id`", i + 1)));
            }
            if self.rules[..i].iter().any(|o| o.id == r.id) {
                return Err(PolicyError(format!("rule id `{}` is used twice", r.id)));
            }
            if r.decision == Decision::NeedsHuman {
                return Err(PolicyError(format!(
                    "rule `{}`: a rule decides in_scope, refer or out_of_scope; needs_human is what the engine answers when no rule can",
                    r.id
                )));
            }
            if r.statement.trim().is_empty() || r.question.trim().is_empty() {
                return Err(PolicyError(format!(
                    "rule `{}` needs a `question` and a `statement`",
                    r.id
                )));
            }
        }
        Ok(())
    }

    /// A rule by id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_parses_and_answers_every_question() {
        let p = Policy::default_xsf();
        assert_eq!(p.version, "2026.1");
        for when in [
            Condition::GenericComponent,
            Condition::HostedService,
            Condition::SpecificCna,
            Condition::VendorCna,
            Condition::Fork,
            Condition::Archived,
            Condition::XmppLibrary,
            Condition::Registered,
            Condition::Protocol,
        ] {
            assert!(
                p.rules.iter().any(|r| r.when == when),
                "{when:?} has no rule"
            );
        }
    }

    #[test]
    fn bad_policies_say_what_is_wrong() {
        let good = DEFAULT_POLICY;
        let twice = format!(
            "{good}\n[[rule]]\nid = \"fork\"\nquestion = \"q\"\nstatement = \"s\"\nwhen = \"fork\"\ndecision = \"in_scope\"\nrationale = \"r\"\n"
        );
        assert_eq!(
            Policy::parse(&twice).unwrap_err().0,
            "rule id `fork` is used twice"
        );
        let bad_date = good.replace("effective = \"2026-11-25\"", "effective = \"soon\"");
        assert!(Policy::parse(&bad_date)
            .unwrap_err()
            .0
            .contains("effective"));
        let bad_when = good.replace("when = \"fork\"", "when = \"forked\"");
        let e = Policy::parse(&bad_when).unwrap_err().0;
        assert!(e.contains("forked"), "{e}");
        let human = good.replace(
            "when = \"fork\"\ndecision = \"in_scope\"",
            "when = \"fork\"\ndecision = \"needs_human\"",
        );
        assert!(Policy::parse(&human).unwrap_err().0.contains("needs_human"));
    }
}
