//! CVE records for cnadesk: a typed model of CVE JSON 5.x, validation against
//! the official schemas (shipped as data in `schemas/`), and a lint of the
//! CNA Operational Rules beyond what the schema can say.
//!
//! Pure: no I/O besides the embedded schema files.
#![warn(clippy::unwrap_used)]

pub mod builder;
pub mod csaf;
pub mod cwe;
pub mod editor;
pub mod explain;
pub mod lint;
pub mod model;
pub mod osv;
pub mod purl;
pub mod schema;
pub mod words;

pub use lint::{lint, Finding, LintContext, Severity};
pub use model::CveRecord;
pub use schema::{Problem, SchemaSet, Target};
