//! The XMPP ecosystem registry.
//!
//! - `sources`: parsers for each data format (xmpp.org software list and
//!   archive, listing history, DOAP, XEP list, CVE Program CNA list).
//! - `snapshot`: the raw texts, shipped in `data/` or synced into a directory.
//! - `registry`: products with their DOAP data and the team's annotations;
//!   lookup by name, alias, URL or package; XEP → implementations.
//! - `changes`: what differs between two registries (the sync summary).
//! - `names`: the normalisation behind every lookup.
//!
//! No I/O: fetching and writing files lives in the binary.
#![warn(clippy::unwrap_used)]

pub mod changes;
pub mod names;
pub mod registry;
pub mod snapshot;
pub mod sources;

pub use changes::{diff, Changes};
pub use registry::{
    slug, Annotation, Component, Listing, Match, MatchKind, Product, Registry, XepImplementations,
};
pub use snapshot::{Snapshot, SourceState, SyncState};
pub use sources::{Cna, Doap, SourceError, SupportedXep, Xep};
