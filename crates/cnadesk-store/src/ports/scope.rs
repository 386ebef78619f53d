//! The ecosystem annotations and the scope decisions.

use async_trait::async_trait;
use cnadesk_core::{Actor, ReportId};

use crate::{NewScopeDecision, PolicyVersion, ProductAnnotation, ScopeDecision, StoreResult};

/// The team's annotations of the ecosystem registry, scope decisions on
/// reports, and the adopted scope policy versions.
#[async_trait]
pub trait ScopeStore: Send + Sync {
    /// Every product annotation (and product added by a member).
    async fn product_annotations(&self) -> StoreResult<Vec<ProductAnnotation>>;

    /// Creates or replaces the annotation of one product; audited as
    /// `ecosystem.product_added` (first save of an added product) or
    /// `ecosystem.product_annotated`, with the previous and new annotation.
    async fn save_product_annotation(
        &self,
        key: &str,
        annotation: serde_json::Value,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<ProductAnnotation>;

    /// Records a scope decision on a report (audited as `scope.decided`).
    /// Rejected when the report is closed or already accepted as a case.
    async fn record_scope_decision(
        &self,
        decision: NewScopeDecision,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<ScopeDecision>;

    /// The scope decisions of one report, newest first.
    async fn scope_decisions(&self, report: ReportId) -> StoreResult<Vec<ScopeDecision>>;

    /// The latest scope decision of every report, oldest report first.
    async fn latest_scope_decisions(&self) -> StoreResult<Vec<ScopeDecision>>;

    /// Records that the desk runs under this policy version (audited as
    /// `scope.policy_adopted` the first time). `Ok(false)`: already adopted
    /// with the same text. `Conflict`: the version was adopted with other
    /// text (a changed policy needs a new version).
    async fn adopt_scope_policy(
        &self,
        version: &str,
        effective: &str,
        document: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<bool>;

    /// Every adopted policy version, most recently adopted first.
    async fn scope_policies(&self) -> StoreResult<Vec<PolicyVersion>>;
}
