//! How a scope assessment is shown (the report page and the public /scope page).

use cnadesk_scope::{Assessment, Decision};

/// An assessment, ready for a template.
#[derive(Clone, Debug, Default)]
pub(crate) struct AssessmentView {
    /// `in_scope`, `refer`, …
    pub decision: String,
    /// "In scope", …
    pub decision_label: String,
    /// Product name, or empty.
    pub product: String,
    /// Product key (for the link), or empty.
    pub product_key: String,
    /// How the product was found.
    pub matched_by: String,
    /// Rule id, or empty.
    pub rule: String,
    /// The question the rule answers.
    pub question: String,
    /// Policy version.
    pub policy_version: String,
    /// The rationale.
    pub rationale: String,
    /// "Name (short)" of the CNA referred to.
    pub referral: String,
    /// How to reach it.
    pub referral_contact: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Candidate products when ambiguous: (key, name, listing).
    pub candidates: Vec<(String, String, String)>,
    /// XEPs: (number, "XEP-0280 Message Carbons", declared implementations).
    pub xeps: Vec<(u16, String, usize)>,
    /// Counting guidance.
    pub counting: String,
    /// Notes.
    pub notes: Vec<String>,
}

impl AssessmentView {
    pub(crate) fn new(a: &Assessment) -> Self {
        AssessmentView {
            decision: a.decision.as_str().into(),
            decision_label: a.decision.label().into(),
            product: a
                .product
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            product_key: a
                .product
                .as_ref()
                .map(|p| p.key.clone())
                .unwrap_or_default(),
            matched_by: a
                .product
                .as_ref()
                .map(|p| format!("by {} “{}”", p.matched_by.label(), p.matched))
                .unwrap_or_default(),
            rule: a.rule.clone().unwrap_or_default(),
            question: a.question.clone().unwrap_or_default(),
            policy_version: a.policy_version.clone(),
            rationale: a.rationale.clone(),
            referral: a
                .referral
                .as_ref()
                .map(|r| format!("{} ({})", r.name, r.short_name))
                .unwrap_or_default(),
            referral_contact: a
                .referral
                .as_ref()
                .and_then(|r| r.contact.clone())
                .unwrap_or_default(),
            tags: a.tags.clone(),
            candidates: a
                .candidates
                .iter()
                .map(|c| (c.key.clone(), c.name.clone(), c.listing.label().to_owned()))
                .collect(),
            xeps: a
                .xeps
                .iter()
                .map(|x| {
                    (
                        x.number,
                        format!("XEP-{:04} {}", x.number, x.title),
                        x.declared_implementations,
                    )
                })
                .collect(),
            counting: a.counting.clone().unwrap_or_default(),
            notes: a.notes.clone(),
        }
    }

    /// Whether a person must decide.
    pub(crate) fn needs_human(&self) -> bool {
        self.decision == Decision::NeedsHuman.as_str()
    }
}
