//! The ports of the store: one trait per area, each implemented by every
//! backend. [`crate::Store`] is all of them together.

mod accounts;
mod api_tokens;
mod audit;
mod cases;
mod coordination;
mod cve_ids;
mod jobs;
mod leases;
mod notify;
mod records;
mod reports;
mod scope;
mod sessions;
mod team;
mod transparency;
mod vendors;

pub use accounts::Accounts;
pub use api_tokens::{ApiToken, ApiTokens, NewApiToken};
pub use audit::Audit;
pub use cases::Cases;
pub use coordination::Coordination;
pub use cve_ids::CveIds;
pub use jobs::Jobs;
pub use leases::Leases;
pub use notify::NotifyStore;
pub use records::Records;
pub use reports::Reports;
pub use scope::ScopeStore;
pub use sessions::Sessions;
pub use team::TeamStore;
pub use transparency::TransparencyStore;
pub use vendors::Vendors;
