//! The CVE Program steps of a case: reserving IDs, the second member's
//! approval of a record version, and publication (through
//! `cnadesk-cve-workflow`, which queues and runs the calls to CVE Services).

use cnadesk_core::{Actor, CaseId, UserId};
use cnadesk_cve_services::BatchType;
use cnadesk_cve_workflow::{CveDesk, ReserveRequest, WorkflowError};
use cnadesk_store::{Approval, Job, StoreError};

use crate::App;

/// Why a CVE step did not happen.
#[derive(Debug)]
pub enum CveError {
    /// CVE Services is not configured (the sentence says how to set it up).
    NotConfigured(String),
    /// The workflow refused or failed.
    Workflow(WorkflowError),
}

impl From<WorkflowError> for CveError {
    fn from(e: WorkflowError) -> Self {
        CveError::Workflow(e)
    }
}

impl From<StoreError> for CveError {
    fn from(e: StoreError) -> Self {
        CveError::Workflow(e.into())
    }
}

/// CVE Services, or why there is none.
pub fn desk(app: &App) -> Result<&CveDesk, String> {
    app.cve.as_deref().ok_or_else(|| {
        "CVE Services is not configured: set [cve_services] in the configuration, or run `cnadesk serve --demo`.".to_owned()
    })
}

/// A reservation as typed (`amount`, `year`, `batch`), checked.
pub fn reservation(
    case: Option<CaseId>,
    amount: &str,
    year: &str,
    batch: &str,
) -> Result<ReserveRequest, String> {
    let amount = amount
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=1000).contains(n));
    let year = year
        .trim()
        .parse::<i32>()
        .ok()
        .filter(|y| (1999..=9999).contains(y));
    let batch = match batch {
        "" | "sequential" => Some(BatchType::Sequential),
        "non-sequential" => Some(BatchType::NonSequential),
        "priority" => Some(BatchType::Priority),
        _ => None,
    };
    match (amount, year, batch) {
        (Some(amount), Some(year), Some(batch)) => Ok(ReserveRequest {
            case,
            amount,
            year,
            batch,
        }),
        _ => Err("How many: a number from 1 to 1000; year: four digits; numbering: sequential, non-sequential or priority.".into()),
    }
}

/// Queues a reservation of IDs (for `request.case`, which must exist).
pub async fn reserve(app: &App, request: ReserveRequest, actor: &Actor) -> Result<Job, CveError> {
    if let Some(case) = request.case {
        app.store
            .case(case)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("case {case}")))?;
    }
    let desk = desk(app).map_err(CveError::NotConfigured)?;
    Ok(desk.reserve(request, actor).await?)
}

/// The second member approves the exact version they saw.
pub async fn approve(
    app: &App,
    case: CaseId,
    version: i64,
    approver: UserId,
    actor: &Actor,
) -> Result<Approval, StoreError> {
    app.store
        .approve_record_version(case, version, approver, actor, app.now_ms())
        .await
}

/// Queues the publication of an approved version.
pub async fn publish(
    app: &App,
    case: CaseId,
    version: i64,
    actor: &Actor,
) -> Result<Job, CveError> {
    let desk = desk(app).map_err(CveError::NotConfigured)?;
    let job = desk.publish(case, version, actor).await?;
    // The case follows its publication at once.
    crate::lifecycle::follow_now(app).await;
    Ok(job)
}
