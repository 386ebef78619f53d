//! The store's own health and identity: which backend it is, whether the
//! database answers and can take writes now, and which secret key the
//! desk's data was created with.

use async_trait::async_trait;

use crate::StoreResult;

/// What a database already holds, to tell a new desk from one whose files
/// were lost (see [`Maintenance::footprint`]). Each count says only whether
/// there is any: 0 (none) or 1 (at least one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Footprint {
    /// Team accounts.
    pub users: i64,
    /// Reports received.
    pub reports: i64,
    /// Audit events.
    pub audit_events: i64,
    /// Rows that can only be read or checked with the desk's secret key:
    /// sessions, second factors, queued mail, transparency log entries.
    pub key_bound: i64,
}

impl Footprint {
    /// Nothing at all: a database that was just created (or emptied).
    pub fn is_empty(&self) -> bool {
        self.users == 0 && self.reports == 0 && self.audit_events == 0 && self.key_bound == 0
    }
}

/// The store's health and identity.
#[async_trait]
pub trait Maintenance: Send + Sync {
    /// Which backend this is (`sqlite` or `postgres`), for logs and `/readyz`.
    fn backend(&self) -> &'static str;

    /// Checks that the database answers.
    async fn ping(&self) -> StoreResult<()>;

    /// Whether the database can durably store something right now: `Ok`
    /// when a write committed moments ago and none failed since, otherwise
    /// once a probe row commits (bounded in time). `/readyz` and start-up
    /// use it. After writes failed for a reason of the database as a whole
    /// (a full disk, a read-only or damaged file…), `Err` with that reason
    /// until a report fits again (and a damaged file passes a check); its
    /// success ends the failure.
    async fn write_probe(&self, now_ms: i64) -> StoreResult<()>;

    /// The fingerprint of the secret key the desk's data was created with,
    /// once recorded.
    async fn key_fingerprint(&self) -> StoreResult<Option<String>>;

    /// Records `fingerprint` as the desk's key unless one is recorded
    /// already; returns the recorded one (so two nodes starting at once
    /// agree on the first).
    async fn bind_key_fingerprint(&self, fingerprint: &str, now_ms: i64) -> StoreResult<String>;

    /// What the database holds.
    async fn footprint(&self) -> StoreResult<Footprint>;
}
