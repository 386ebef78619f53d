//! The scope desk: the scope policy in force, the ecosystem data it reads,
//! and the registry with the team's annotations from the store.

use std::sync::{Arc, Mutex};

use cnadesk_ecosystem::{Annotation, Registry, Snapshot};
use cnadesk_scope::{Assessment, Policy, ScopeInput};
use cnadesk_store::{Store, StoreError};

/// The annotations a registry was built with, and the registry.
type Cached = (Vec<(String, serde_json::Value)>, Arc<Registry>);

/// The policy and the ecosystem data, shared by the pages and the commands.
pub struct ScopeDesk {
    snapshot: Snapshot,
    policy: Policy,
    /// The registry from the data alone: what the public may query.
    public: Arc<Registry>,
    cache: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for ScopeDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScopeDesk")
            .field("policy_version", &self.policy.version)
            .field("data", &self.snapshot.origin)
            .finish()
    }
}

impl ScopeDesk {
    /// A desk over this data and policy. Fails when the data cannot be
    /// imported at all.
    pub fn new(snapshot: Snapshot, policy: Policy) -> Result<Self, cnadesk_ecosystem::SourceError> {
        let base = Arc::new(Registry::build(&snapshot, &[])?);
        Ok(ScopeDesk {
            snapshot,
            policy,
            public: base.clone(),
            cache: Mutex::new(Some((Vec::new(), base))),
        })
    }

    /// The shipped data and the shipped XSF policy.
    pub fn bundled() -> Self {
        Self::new(Snapshot::bundled(), Policy::default_xsf())
            .unwrap_or_else(|e| panic!("the shipped ecosystem data does not import: {e}"))
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The data's origin, for people.
    pub fn origin(&self) -> &str {
        &self.snapshot.origin
    }

    /// The registry from the published data only, without the team's
    /// annotations and added products (which may come from embargoed reports):
    /// what public pages use.
    pub fn public_registry(&self) -> Arc<Registry> {
        self.public.clone()
    }

    /// The registry with the team's current annotations.
    pub async fn registry(&self, store: &dyn Store) -> Result<Arc<Registry>, StoreError> {
        let rows: Vec<(String, serde_json::Value)> = store
            .product_annotations()
            .await?
            .into_iter()
            .map(|a| (a.key, a.annotation))
            .collect();
        if let Some((seen, reg)) = self.cache.lock().map_err(poisoned)?.as_ref() {
            if *seen == rows {
                return Ok(reg.clone());
            }
        }
        let annotations: Vec<(String, Annotation)> = rows
            .iter()
            .filter_map(|(k, v)| match serde_json::from_value(v.clone()) {
                Ok(a) => Some((k.clone(), a)),
                Err(e) => {
                    tracing::warn!(product = %k, error = %e, "unreadable product annotation skipped");
                    None
                }
            })
            .collect();
        let reg = Arc::new(
            Registry::build(&self.snapshot, &annotations)
                .map_err(|e| StoreError::Database(format!("ecosystem data: {e}")))?,
        );
        *self.cache.lock().map_err(poisoned)? = Some((rows, reg.clone()));
        Ok(reg)
    }

    /// Applies the policy on the given day (ms since the epoch, UTC).
    pub fn assess(&self, registry: &Registry, input: &ScopeInput, now_ms: i64) -> Assessment {
        cnadesk_scope::assess(&self.policy, registry, input, &today(now_ms))
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Database("scope cache lock poisoned".into())
}

/// The UTC date of a moment (ms since the epoch), as YYYY-MM-DD.
pub fn today(now_ms: i64) -> String {
    cnadesk_core::sla::utc_date_ms(now_ms).to_string()
}

/// What the engine reads from a report: the product field, and the
/// description with the places it is public (links often name the project).
pub fn scope_input(fields: &cnadesk_core::ValidReport) -> ScopeInput {
    let mut description = fields.description.clone();
    for extra in [&fields.public_where, &fields.other_cna]
        .into_iter()
        .flatten()
    {
        description.push('\n');
        description.push_str(extra);
    }
    ScopeInput {
        product: fields.product.clone(),
        description,
    }
}

/// Why the team's annotation of a product was not saved.
#[derive(Debug)]
pub enum AnnotationError {
    /// Refused, with a sentence for the form (nothing saved).
    Refused(String),
    /// The store failed.
    Store(StoreError),
}

/// Saves the team's annotation of an ecosystem product (or a product a
/// member added), audited; the registry sees it at its next read.
pub async fn save_annotation(
    app: &crate::App,
    key: &str,
    annotation: &Annotation,
    actor: &cnadesk_core::Actor,
) -> Result<(), AnnotationError> {
    let value = serde_json::to_value(annotation).map_err(|e| {
        AnnotationError::Store(StoreError::Database(format!("annotation to JSON: {e}")))
    })?;
    match app
        .store
        .save_product_annotation(key, value, actor, app.now_ms())
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::Rejected(m)) => Err(AnnotationError::Refused(m)),
        Err(e) => Err(AnnotationError::Store(e)),
    }
}
