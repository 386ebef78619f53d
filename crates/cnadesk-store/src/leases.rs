//! Leases: which node runs a periodic job while several `serve` processes
//! share one database.
//!
//! A lease is a row (job name, holder, expiry). It is taken with one
//! conditional statement, so of several nodes asking at once exactly one
//! gets it; the holder renews it while it lives; a lease that ran out (its
//! node died) is taken over by the next node that asks.

/// Who holds a lease, until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The job it guards (`response-times`, `deliver-messages`, …).
    pub name: String,
    /// The holder (a node name with a per-process suffix).
    pub holder: String,
    /// The lease ends here (UTC ms) unless renewed; 0 once released.
    pub expires_at_ms: i64,
    /// When this holder took it (renewals keep it).
    pub taken_at_ms: i64,
}

impl Lease {
    /// Whether the lease still runs at `now_ms`.
    pub fn is_held(&self, now_ms: i64) -> bool {
        self.expires_at_ms >= now_ms
    }
}
