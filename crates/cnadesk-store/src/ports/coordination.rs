//! Coordination of a case.

use async_trait::async_trait;
use cnadesk_core::{Actor, CaseId};

use crate::{
    Advisory, AffectedProduct, CaseFile, CaseMessage, CountChoice, Embargo, EmbargoOutcome,
    NewCaseFile, NewVulnerability, ProductUpdate, StoreResult, Vulnerability,
};

/// Coordination of a case: vulnerabilities and affected products, the
/// embargo and the advisory, the coordination threads and files.
#[async_trait]
pub trait Coordination: Send + Sync {
    /// Adds a vulnerability to a case (audited as `vulnerability.added`).
    async fn add_vulnerability(
        &self,
        vulnerability: NewVulnerability,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Vulnerability>;

    /// The vulnerabilities of a case, oldest first.
    async fn vulnerabilities(&self, case: CaseId) -> StoreResult<Vec<Vulnerability>>;

    /// Records the CVE count chosen for a vulnerability of `case` (audited as
    /// `vulnerability.count_chosen`). `NotFound` when it is not that case's.
    async fn choose_cve_count(
        &self,
        case: CaseId,
        vulnerability: i64,
        choice: CountChoice,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Adds products (registry key, name) to a vulnerability of `case` with
    /// status `unknown`; products already listed are skipped. Audited as
    /// `vulnerability.products_added` when any was new. Returns how many.
    async fn add_affected_products(
        &self,
        case: CaseId,
        vulnerability: i64,
        products: Vec<(String, String)>,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<usize>;

    /// Every product row of every vulnerability of a case.
    async fn affected_products(&self, case: CaseId) -> StoreResult<Vec<AffectedProduct>>;

    /// Sets a product row of `case`; each of status, versions and statement
    /// takes a new date only when it changed. Audited as
    /// `vulnerability.product_updated` with the names of the changed fields
    /// (never the statement's text). `NotFound` when not that case's row.
    async fn update_affected_product(
        &self,
        case: CaseId,
        row: i64,
        update: ProductUpdate,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<AffectedProduct>;

    /// Shares (or stops sharing) a product row with the other vendors of the
    /// case (audited as `vulnerability.product_shared`).
    async fn share_affected_product(
        &self,
        case: CaseId,
        row: i64,
        shared: bool,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    // ---- embargo and advisory ---------------------------------------------------

    /// A case's embargo, if one was set.
    async fn embargo(&self, case: CaseId) -> StoreResult<Option<Embargo>>;

    /// Sets or changes the embargo end. When `consent_policy` asks for
    /// consent, an embargo exists and some participant has acknowledged it
    /// (decided in the same transaction: `coordination::change_needs_consent`),
    /// the change is stored as pending and every participant's earlier
    /// consent is cleared (`embargo.proposed`); otherwise it applies at once
    /// and clears any pending change (`embargo.set` the first time, then
    /// `embargo.changed` with the previous end). `Rejected` once lifted.
    async fn set_embargo(
        &self,
        case: CaseId,
        ends_at_ms: i64,
        reason: &str,
        consent_policy: bool,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<EmbargoOutcome>;

    /// A participant consents to the pending change (`embargo.consented`).
    /// When every participant who acknowledged the embargo has consented,
    /// the change applies in the same transaction (`embargo.changed`) and
    /// `Applied` is returned. `Rejected` when nothing is pending.
    async fn consent_embargo(
        &self,
        participant: i64,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<EmbargoOutcome>;

    /// Records a public disclosure before the end (`embargo.broken`).
    async fn break_embargo(
        &self,
        case: CaseId,
        disclosed_at_ms: i64,
        note: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<()>;

    /// Embargoes whose end has come and that are not lifted yet.
    async fn due_embargo_lifts(&self, now_ms: i64) -> StoreResult<Vec<Embargo>>;

    /// Lifts an embargo whose end has come and publishes the case's advisory,
    /// in one transaction (`embargo.lifted`, `advisory.published`).
    /// `Ok(false)`: already lifted, or the end has not come.
    async fn lift_embargo(&self, case: CaseId, actor: &Actor, now_ms: i64) -> StoreResult<bool>;

    /// Notes that publication of the records was queued (or found not
    /// possible) after the lift, so the worker does it once.
    async fn mark_publication_queued(&self, case: CaseId, now_ms: i64) -> StoreResult<()>;

    /// Lifted embargoes whose publication step has not run.
    async fn lifted_awaiting_publication(&self) -> StoreResult<Vec<Embargo>>;

    /// The published advisory of a case.
    async fn advisory(&self, case: CaseId) -> StoreResult<Option<Advisory>>;

    /// Every published advisory, newest first.
    async fn advisories(&self) -> StoreResult<Vec<Advisory>>;

    // ---- coordination threads and files -----------------------------------------

    /// Adds a message to a coordination thread (audited as
    /// `coordination.message` with the body's SHA-256).
    async fn add_case_message(
        &self,
        case: CaseId,
        participant: Option<i64>,
        author: &str,
        body: &str,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CaseMessage>;

    /// The coordination messages of a case, oldest first: every thread when
    /// `threads` is `None`, else the shared thread and the listed participants'.
    async fn case_messages(
        &self,
        case: CaseId,
        threads: Option<&[i64]>,
    ) -> StoreResult<Vec<CaseMessage>>;

    /// Stores an uploaded file (audited as `coordination.file_added` with its
    /// SHA-256).
    async fn add_case_file(
        &self,
        file: NewCaseFile,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<CaseFile>;

    /// The files of a case (without content).
    async fn case_files(&self, case: CaseId) -> StoreResult<Vec<CaseFile>>;

    /// One file of `case` with its content.
    async fn case_file(&self, case: CaseId, id: i64) -> StoreResult<Option<(CaseFile, Vec<u8>)>>;
}
