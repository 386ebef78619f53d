//! Scope you can explain.
//!
//! - `policy`: the versioned policy file (TOML): one rule per question, each
//!   with a plain-language statement, a condition and a decision; the CNAs
//!   that cover particular channels. `policy/xsf-scope.toml` is the default.
//! - `engine`: applies a policy to a report with the ecosystem registry and
//!   answers with the matched product, the decision, the rule that fired, the
//!   policy version, a rationale and, for referrals, the CNA to refer to.
//!   Ambiguity is an answer of its own (`needs_human`), never a guess.
//!   `dry_run` re-applies a new policy version to past decisions.
#![warn(clippy::unwrap_used)]

pub mod engine;
pub mod policy;

pub use engine::{
    assess, dry_run, Assessment, DryRunChange, PastDecision, ProductRef, Referral, ScopeInput,
    XepRef,
};
pub use policy::{Condition, Coverage, Decision, Policy, PolicyError, Rule, DEFAULT_POLICY};
