//! Jobs: the transactional outbox.

use async_trait::async_trait;
use cnadesk_core::Actor;

use crate::{Job, JobFilter, JobOutcome, NewJob, PublicationRequest, StoreResult};

/// Jobs (the transactional outbox of work on CVE Services): enqueued with the
/// change that asks for them, claimed with a lease, finished once.
#[async_trait]
pub trait Jobs: Send + Sync {
    /// Enqueues a job. `Conflict` while another open job has the same subject.
    async fn enqueue_job(&self, job: NewJob, actor: &Actor, now_ms: i64) -> StoreResult<Job>;

    /// Stores the intent to publish the latest version of a case's record
    /// (a `cve.publish` job, or `cve.update` when the ID is already
    /// published), after checking in the same transaction that the version
    /// is still the latest, passes the checks and is approved by a member
    /// other than its author, and that no embargo of the case is running
    /// (`Rejected`). Audited as `record.publication_requested`.
    async fn request_publication(
        &self,
        request: PublicationRequest,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Job>;

    /// One job.
    async fn job(&self, id: i64) -> StoreResult<Option<Job>>;

    /// Jobs, newest first.
    async fn jobs(&self, filter: JobFilter) -> StoreResult<Vec<Job>>;

    /// Queued jobs whose time has come and running jobs whose lease ended.
    async fn due_jobs(&self, now_ms: i64, limit: i64) -> StoreResult<Vec<Job>>;

    /// Takes a job for one attempt until `lease_until_ms`: only a queued job,
    /// or a running one whose lease ended (its worker is gone). `None` when
    /// another worker holds it or it is finished.
    async fn claim_job(
        &self,
        id: i64,
        lease_until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<Option<Job>>;

    /// Ends the attempt `attempt` of a running job. `Conflict` when that
    /// attempt no longer holds the job. A `Done` outcome applies its effect in
    /// the same transaction.
    async fn finish_job(
        &self,
        id: i64,
        attempt: i64,
        outcome: JobOutcome,
        actor: &Actor,
        now_ms: i64,
    ) -> StoreResult<Job>;
}
