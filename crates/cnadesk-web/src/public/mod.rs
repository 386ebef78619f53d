//! What anyone may use without an account: the report form and the
//! private tracking page, the published advisories and their feeds, the
//! transparency log, the response-time figures, the scope policy, the
//! CNA's OpenPGP key, and the health checks.

pub mod advisories;
pub mod health;
mod report;
mod stats;
pub mod transparency;

pub use report::*;
pub use stats::*;
