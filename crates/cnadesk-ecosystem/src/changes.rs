//! What a sync changed: products added, removed, archived or restored, and
//! DOAP data that appeared, disappeared or changed its XEP list.

use serde::Serialize;

use crate::registry::{Listing, Registry};

/// The difference between two registries.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Changes {
    /// Newly listed or archived products.
    pub added: Vec<String>,
    /// Products no longer on either list.
    pub removed: Vec<String>,
    /// Moved from the list to the archive.
    pub archived: Vec<String>,
    /// Moved from the archive back to the list.
    pub restored: Vec<String>,
    /// Products whose declared XEPs changed: (name, before, after).
    pub xeps_changed: Vec<(String, usize, usize)>,
    /// XEPs added to the XEP list.
    pub new_xeps: Vec<u16>,
    /// CNAs added to / removed from the CNA list.
    pub cnas_added: Vec<String>,
    /// CNAs no longer listed.
    pub cnas_removed: Vec<String>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }

    /// One line per kind of change, for people.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let list = |v: &[String]| v.join(", ");
        if !self.added.is_empty() {
            out.push(format!("{} added: {}", self.added.len(), list(&self.added)));
        }
        if !self.removed.is_empty() {
            out.push(format!(
                "{} removed: {}",
                self.removed.len(),
                list(&self.removed)
            ));
        }
        if !self.archived.is_empty() {
            out.push(format!(
                "{} archived: {}",
                self.archived.len(),
                list(&self.archived)
            ));
        }
        if !self.restored.is_empty() {
            out.push(format!(
                "{} back on the list: {}",
                self.restored.len(),
                list(&self.restored)
            ));
        }
        for (name, before, after) in &self.xeps_changed {
            out.push(format!("{name}: declared XEPs {before} → {after}"));
        }
        if !self.new_xeps.is_empty() {
            let xs: Vec<String> = self
                .new_xeps
                .iter()
                .map(|n| format!("XEP-{n:04}"))
                .collect();
            out.push(format!("{} new XEPs: {}", xs.len(), xs.join(", ")));
        }
        if !self.cnas_added.is_empty() {
            out.push(format!(
                "{} new CNAs: {}",
                self.cnas_added.len(),
                list(&self.cnas_added)
            ));
        }
        if !self.cnas_removed.is_empty() {
            out.push(format!(
                "{} CNAs no longer listed: {}",
                self.cnas_removed.len(),
                list(&self.cnas_removed)
            ));
        }
        out
    }
}

/// Compares two registries built from the XSF data (products added by
/// members are not part of the comparison).
pub fn diff(before: &Registry, after: &Registry) -> Changes {
    // Keyed by registry key: names are not unique (two entries are "Swift").
    type Row = (String, String, Listing, Option<usize>);
    let xsf = |r: &Registry| -> Vec<Row> {
        r.products()
            .iter()
            .filter(|p| p.listing != Listing::Local)
            .map(|p| {
                (
                    p.key.clone(),
                    p.name.clone(),
                    p.listing,
                    p.doap.as_ref().map(|d| d.xeps.len()),
                )
            })
            .collect()
    };
    let (old, new) = (xsf(before), xsf(after));
    let find = |v: &[Row], key: &str| {
        v.iter()
            .find(|(k, _, _, _)| k == key)
            .map(|(_, _, l, x)| (*l, *x))
    };
    let mut c = Changes::default();
    for (key, name, listing, xeps) in &new {
        match find(&old, key) {
            None => c.added.push(name.clone()),
            Some((was, had)) => {
                if was == Listing::Listed && *listing == Listing::Archived {
                    c.archived.push(name.clone());
                }
                if was == Listing::Archived && *listing == Listing::Listed {
                    c.restored.push(name.clone());
                }
                if had != *xeps {
                    c.xeps_changed
                        .push((name.clone(), had.unwrap_or(0), xeps.unwrap_or(0)));
                }
            }
        }
    }
    for (key, name, _, _) in &old {
        if find(&new, key).is_none() {
            c.removed.push(name.clone());
        }
    }
    c.new_xeps = after
        .xeps()
        .keys()
        .filter(|n| !before.xeps().contains_key(n))
        .copied()
        .collect();
    let names =
        |r: &Registry| -> Vec<String> { r.cnas().iter().map(|c| c.short_name.clone()).collect() };
    let (oc, nc) = (names(before), names(after));
    c.cnas_added = nc.iter().filter(|n| !oc.contains(n)).cloned().collect();
    c.cnas_removed = oc.iter().filter(|n| !nc.contains(n)).cloned().collect();
    c
}
