//! Triage: a received report is accepted as a case (confirming its scope),
//! given a scope decision, or closed. Each step is refused with a sentence
//! for the member when the input or the report's state does not allow it.

use cnadesk_core::{Actor, CaseId, CaseState, CloseReason, ReportId, UserId};
use cnadesk_scope::{Assessment, Decision, ScopeInput};
use cnadesk_store::{Case, CloseDecision, NewScopeDecision, StoreError};

use crate::scope::scope_input;
use crate::text::check_text;
use crate::App;

/// Why a triage step did not happen.
#[derive(Debug)]
pub enum TriageError {
    /// Refused, with a sentence for the member (nothing changed).
    Refused(String),
    /// No such report.
    NotFound,
    /// The store failed.
    Store(StoreError),
}

impl From<StoreError> for TriageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(m) => TriageError::Refused(m),
            StoreError::NotFound(_) => TriageError::NotFound,
            e => TriageError::Store(e),
        }
    }
}

/// The report's scope: its input and the policy's proposal.
async fn proposal(
    app: &App,
    report: ReportId,
) -> Result<
    (
        ScopeInput,
        Assessment,
        std::sync::Arc<cnadesk_ecosystem::Registry>,
    ),
    TriageError,
> {
    let report = app
        .store
        .report(report)
        .await?
        .ok_or(TriageError::NotFound)?;
    let registry = app.scope.registry(&*app.store).await?;
    let input = scope_input(&report.fields);
    let proposal = app.scope.assess(&registry, &input, app.now_ms());
    Ok((input, proposal, registry))
}

/// Accepts a report as a case titled `title`. Accepting confirms the
/// scope: with no decision recorded yet, an in-scope proposal is recorded
/// as confirmed; anything else must be decided first. The new case goes
/// to the member the assignment policy chooses (affiliated members
/// recused); a failure there leaves it unassigned, not unaccepted.
pub async fn accept(
    app: &App,
    report: ReportId,
    title: &str,
    actor: &Actor,
) -> Result<Case, TriageError> {
    check_text("The case title", title, 200, true, false).map_err(TriageError::Refused)?;
    if app.store.scope_decisions(report).await?.is_empty() {
        let (input, proposal, _) = proposal(app, report).await?;
        if proposal.decision != Decision::InScope {
            return Err(TriageError::Refused(format!(
                "The scope proposal is “{}”: record a scope decision (in the Scope section) before accepting.",
                proposal.decision.label()
            )));
        }
        let chosen = Chosen {
            decision: Decision::InScope,
            rule: proposal.rule.clone(),
            referral: None,
            product: proposal.product.as_ref().map(|p| p.key.clone()),
        };
        let decision = new_scope_decision(
            report,
            &input,
            &proposal,
            chosen,
            "Confirmed by accepting the report.",
        );
        app.store
            .record_scope_decision(decision, actor, app.now_ms())
            .await?;
    }
    let case = app
        .store
        .accept_report(report, title, actor, app.now_ms())
        .await?;
    tracing::info!(report = %report, case = %case.id, "report accepted as a case");
    if let Err(e) = crate::team::auto_assign(app, case.id).await {
        tracing::error!(case = %case.id, error = %e, "automatic assignment failed; the case stays unassigned");
    }
    // What acceptance sets going (an ID, the first draft), at once.
    crate::lifecycle::follow_now(app).await;
    let case = app.store.case(case.id).await?.unwrap_or(case);
    Ok(case)
}

/// A scope decision as a member entered it (text fields as typed).
#[derive(Clone, Debug, Default)]
pub struct ScopeChoice {
    /// `in_scope`, `refer` or `out_of_scope`.
    pub decision: String,
    /// The policy rule that decides it (empty: none).
    pub rule: String,
    /// The CNA referred to (its short name), for `refer`.
    pub referral: String,
    /// The product's registry key; `None`: the proposal's; empty: none.
    pub product: Option<String>,
    /// Why (required when departing from the proposal).
    pub reason: String,
}

/// Records a scope decision: confirms the proposal or overrides it with a
/// reason. The rule must belong to the policy and decide the same; the
/// product must be in the registry; a referral names a known CNA.
pub async fn decide_scope(
    app: &App,
    report: ReportId,
    choice: &ScopeChoice,
    actor: &Actor,
) -> Result<(), TriageError> {
    let refuse = |m: String| Err(TriageError::Refused(m));
    let (input, proposal, registry) = proposal(app, report).await?;
    let decision = match choice.decision.parse::<Decision>() {
        Ok(d) if d != Decision::NeedsHuman => d,
        _ => return refuse("Choose a decision: in scope, refer, or out of scope.".into()),
    };
    let rule = Some(choice.rule.trim().to_owned()).filter(|r| !r.is_empty());
    if let Some(r) = &rule {
        let policy = app.scope.policy();
        match policy.rule(r) {
            None => return refuse(format!("`{r}` is not a rule of policy {}.", policy.version)),
            Some(found) if found.decision != decision => {
                return refuse(format!(
                    "Rule `{r}` decides “{}”: choose that decision, or no rule and explain in the reason.",
                    found.decision.label()
                ))
            }
            Some(_) => {}
        }
    }
    let product = match choice.product.as_deref().map(str::trim) {
        None => proposal.product.as_ref().map(|p| p.key.clone()),
        Some("") => None,
        Some(key) => match registry.product(key) {
            Some(p) => Some(p.key.clone()),
            None => return refuse(format!("`{key}` is not a product in the registry.")),
        },
    };
    let referral = choice.referral.trim().to_owned();
    let referral = if decision == Decision::Refer {
        let proposed = proposal.referral.as_ref().map(|r| r.short_name.as_str());
        match registry.cna(&referral) {
            Some(c) => Some(c.short_name.clone()),
            None if !referral.is_empty() && Some(referral.as_str()) == proposed => Some(referral),
            None if referral.is_empty() => {
                return refuse("A referral names the CNA (its short name, e.g. mozilla).".into())
            }
            None => {
                return refuse(format!(
                    "`{referral}` is not a CNA short name in the CNA list."
                ))
            }
        }
    } else {
        None
    };
    check_text("The reason", &choice.reason, 2000, false, true).map_err(TriageError::Refused)?;
    let chosen = Chosen {
        decision,
        rule,
        referral,
        product,
    };
    let new = new_scope_decision(report, &input, &proposal, chosen, &choice.reason);
    if new.overridden && new.reason.is_empty() {
        return refuse(format!(
            "This departs from the proposal ({}{}): give a reason.",
            proposal.decision.label(),
            proposal
                .rule
                .as_deref()
                .map(|r| format!(", rule {r}"))
                .unwrap_or_default()
        ));
    }
    app.store
        .record_scope_decision(new, actor, app.now_ms())
        .await?;
    Ok(())
}

/// Closing a report as a member entered it (text fields as typed).
#[derive(Clone, Debug, Default)]
pub struct CloseChoice {
    /// A [`CloseReason`] (`duplicate`, `out_of_scope` …).
    pub reason: String,
    /// For a duplicate: the report it duplicates (`REP-12` or `12`).
    pub duplicate_of: String,
    /// A note.
    pub detail: String,
}

/// Closes a report without a case.
pub async fn close(
    app: &App,
    report: ReportId,
    choice: &CloseChoice,
    actor: &Actor,
) -> Result<(), TriageError> {
    check_text("The note", &choice.detail, 5000, false, true).map_err(TriageError::Refused)?;
    let Ok(reason) = choice.reason.parse::<CloseReason>() else {
        return Err(TriageError::Refused("Choose a reason for closing.".into()));
    };
    let duplicate_of = match choice.duplicate_of.trim() {
        "" => None,
        s => match s.parse::<ReportId>() {
            Ok(r) => Some(r),
            Err(_) => {
                return Err(TriageError::Refused(format!(
                    "`{s}` is not a report number (e.g. REP-12 or 12)."
                )))
            }
        },
    };
    let decision = CloseDecision {
        reason,
        duplicate_of: if reason == CloseReason::Duplicate {
            duplicate_of
        } else {
            None
        },
        detail: choice.detail.clone(),
    };
    app.store
        .close_report(report, decision, actor, app.now_ms())
        .await?;
    Ok(())
}

/// Moves a case to another state (`to` as typed) with a reason, if the
/// case's life cycle allows the move; a refusal says which moves are.
pub async fn move_case(
    app: &App,
    case: CaseId,
    to: &str,
    reason: &str,
    actor: &Actor,
) -> Result<(), TriageError> {
    check_text("The reason", reason, 1000, false, false).map_err(TriageError::Refused)?;
    let to = to.parse::<CaseState>().map_err(TriageError::Refused)?;
    let current = app.store.case(case).await?.ok_or(TriageError::NotFound)?;
    if let Err(e) = current.state.transition_by_hand(to) {
        let by_hand: Vec<&str> = current.state.by_hand().iter().map(|s| s.label()).collect();
        return Err(TriageError::Refused(
            if current.state.transition(to).is_ok() {
                format!(
                "a case cannot move from {} to {} by hand: it becomes Published when its CVE record is published; allowed by hand: {}",
                e.from.label(),
                e.to.label(),
                by_hand.join(", ")
            )
            } else {
                e.to_string()
            },
        ));
    }
    app.store
        .transition_case(case, to, reason, actor, app.now_ms())
        .await?;
    Ok(())
}

/// Assigns a case by hand (`None`: unassigns it), through the assignment
/// policy, which checks the member may take it and records why.
pub async fn assign(
    app: &App,
    case: CaseId,
    assignee: Option<UserId>,
    reason: &str,
    actor: &Actor,
) -> Result<(), TriageError> {
    check_text("The reason", reason, 1000, false, false).map_err(TriageError::Refused)?;
    let candidates = crate::team::candidates(app, Some(case)).await?;
    let assignment = app
        .assignment
        .manual(&candidates, assignee, reason)
        .map_err(TriageError::Refused)?;
    app.store
        .assign_case(
            case,
            assignment.assignee,
            &assignment.reason,
            actor,
            app.now_ms(),
        )
        .await?;
    Ok(())
}

/// What was decided on the scope form, checked.
struct Chosen {
    decision: Decision,
    rule: Option<String>,
    referral: Option<String>,
    product: Option<String>,
}

fn new_scope_decision(
    report: ReportId,
    input: &ScopeInput,
    proposal: &Assessment,
    chosen: Chosen,
    reason: &str,
) -> NewScopeDecision {
    let Chosen {
        decision,
        rule,
        referral,
        product,
    } = chosen;
    let referral = referral.filter(|r| !r.trim().is_empty());
    let proposed_product = proposal.product.as_ref().map(|p| p.key.clone());
    let overridden = decision != proposal.decision
        || rule != proposal.rule
        || product != proposed_product
        || (decision == Decision::Refer
            && referral.as_deref() != proposal.referral.as_ref().map(|r| r.short_name.as_str()));
    NewScopeDecision {
        report,
        decision,
        rule,
        policy_version: proposal.policy_version.clone(),
        product_key: product,
        referral_cna: if decision == Decision::Refer {
            referral
        } else {
            None
        },
        overridden,
        reason: reason.trim().to_owned(),
        // Both are plain data: serializing them cannot fail.
        input: serde_json::to_value(input).unwrap_or_default(),
        proposal: serde_json::to_value(proposal).unwrap_or_default(),
    }
}
