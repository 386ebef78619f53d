//! What an admin does with mail: queue a failed message again, and mark
//! quarantined mail as dealt with (both audited by the store).

use cnadesk_core::Actor;
use cnadesk_store::StoreError;

use crate::App;

/// Queues a failed outbox message again.
pub async fn retry_message(app: &App, id: i64, actor: &Actor) -> Result<(), StoreError> {
    app.store.retry_message(id, actor, app.now_ms()).await
}

/// Marks quarantined mail as dealt with.
pub async fn release_quarantined(app: &App, id: i64, actor: &Actor) -> Result<(), StoreError> {
    app.store.release_quarantined(id, actor, app.now_ms()).await
}
