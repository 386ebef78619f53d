//! The cnadesk domain.
//!
//! Everything here is pure: no database, no network, no clock reads except
//! through the injected [`clock::Clock`]. The store and web crates depend on
//! this crate, never the other way round.
#![warn(clippy::unwrap_used)]

pub mod actor;
pub mod assignment;
pub mod audit;
pub mod case;
pub mod clock;
pub mod clocks;
pub mod coordination;
pub mod cve_id;
pub mod ids;
pub mod publication;
pub mod report;
pub mod role;
pub mod sla;
pub mod sla_policy;
pub mod team;

pub use actor::Actor;
pub use case::{CaseState, TransitionError};
pub use clock::{Clock, FixedClock, SystemClock};
pub use cve_id::CveId;
pub use ids::{AttachmentId, CaseId, MessageId, ReportId, UserId, VendorId};
pub use report::{CloseReason, FieldError, ReportInput, ReportState, ValidReport};
pub use role::Role;
