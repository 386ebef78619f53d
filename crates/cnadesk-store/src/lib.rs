//! The store interface of cnadesk.
//!
//! The web layer and the binary hold an `Arc<dyn Store>` and never see SQL.
//! [`Store`] is the sum of the ports, one trait per area, each in its own
//! file under `ports/` ([`Accounts`], [`Sessions`], [`Reports`], [`Cases`],
//! [`Records`], [`CveIds`], [`Jobs`], [`ScopeStore`], [`TeamStore`],
//! [`NotifyStore`], [`Coordination`], [`Vendors`], [`Audit`],
//! [`TransparencyStore`], [`Leases`]) plus [`Maintenance`]; a backend
//! implements each port and is a `Store` by that.
//! Every method that changes state writes its audit event(s) in the same
//! transaction as the change. Secrets (password hashes, session and tracking
//! tokens) only ever reach a store already hashed; TOTP secrets arrive
//! encrypted.
#![warn(clippy::unwrap_used)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod content;
mod coordination;
#[cfg(feature = "conformance")]
pub mod lease_conformance;
mod leases;
mod maintenance;
mod notify;
mod ports;
mod transparency;
mod types;

pub use cnadesk_core::team::{Absence, Affiliation, Profile, Recusal, Shift};
use cnadesk_core::{CloseReason, ReportId};

pub use coordination::*;
pub use leases::Lease;
pub use maintenance::{Footprint, Maintenance};
pub use notify::*;
pub use ports::*;
pub use transparency::*;
pub use types::*;

/// Errors a store reports.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// A unique value is already taken (e.g. a username).
    #[error("{0} already exists")]
    Conflict(String),
    /// The domain refused the change (e.g. an invalid state transition).
    #[error("{0}")]
    Rejected(String),
    /// A one-time setup link was used, expired, or never existed.
    #[error("the setup link is invalid, expired, or already used")]
    SetupTokenInvalid,
    /// The database failed. The message is for logs, not for users.
    #[error("database error: {0}")]
    Database(String),
    /// The database cannot take the request now (a full disk, a read-only
    /// or damaged file, a lost connection): nothing was stored, and the same
    /// request may succeed once the cause is gone. The reason is for the
    /// operator (logs, `/readyz`), never for reporters.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

/// Result alias.
pub type StoreResult<T> = Result<T, StoreError>;

/// Everything cnadesk persists: every port together. Backends implement the
/// ports; `Store` comes with them. Code holding a `dyn Store` calls any
/// port's methods; code holding a concrete store brings the ports into scope
/// with [`prelude`].
pub trait Store:
    Maintenance
    + Accounts
    + ApiTokens
    + Sessions
    + Reports
    + Cases
    + Records
    + CveIds
    + Jobs
    + ScopeStore
    + TeamStore
    + NotifyStore
    + Coordination
    + Vendors
    + Audit
    + TransparencyStore
    + Leases
    + Send
    + Sync
    + 'static
{
}

impl<T> Store for T where
    T: Maintenance
        + Accounts
        + ApiTokens
        + Sessions
        + Reports
        + Cases
        + Records
        + CveIds
        + Jobs
        + ScopeStore
        + TeamStore
        + NotifyStore
        + Coordination
        + Vendors
        + Audit
        + TransparencyStore
        + Leases
        + Send
        + Sync
        + 'static
{
}

/// The store and its ports, for code that calls port methods on a concrete
/// store (`use cnadesk_store::prelude::*;`).
pub mod prelude {
    pub use crate::{
        Accounts, ApiTokens, Audit, Cases, Coordination, CveIds, Jobs, Leases, Maintenance,
        NotifyStore, Records, Reports, ScopeStore, Sessions, Store, TeamStore, TransparencyStore,
        Vendors,
    };
}

/// Why the audit chain could not be confirmed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The chain is broken at an event.
    #[error("{0}")]
    Broken(#[from] cnadesk_core::audit::ChainError),
    /// The store could not be read.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Walks the whole audit chain page by page; returns the number of events,
/// or the first inconsistency.
///
/// Then re-reads every content an event commits to by digest (a report's
/// fields, a message, a record version; the latest event per content) and
/// recomputes the digest: a broken chain is reported first, then the
/// earliest event whose content changed.
pub async fn verify_audit_chain(store: &dyn Store) -> Result<i64, VerifyError> {
    let mut verifier = cnadesk_core::audit::ChainVerifier::default();
    let mut claims = cnadesk_core::audit::ContentClaims::default();
    let mut after = 0;
    loop {
        let page = store.audit_events(after, 1000).await?;
        if page.is_empty() {
            break;
        }
        for event in &page {
            verifier.push(event)?;
            claims.push(event);
            after = event.seq;
        }
    }
    content::check_claims(store, claims.into_claims()).await?;
    Ok(verifier.verified())
}

/// A close decision as the triage form submits it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloseDecision {
    /// Why.
    pub reason: CloseReason,
    /// The report this duplicates, for [`CloseReason::Duplicate`].
    pub duplicate_of: Option<ReportId>,
    /// Free-text explanation (shown to the team).
    pub detail: String,
}
