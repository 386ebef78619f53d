//! Many concurrent writers must still produce one unbroken chain.

use super::*;

/// Many concurrent writers must still produce one unbroken chain.
pub async fn concurrent_appends_keep_the_chain(store: std::sync::Arc<dyn Store>) {
    let before = verify_chain(store.as_ref()).await.expect("chain before");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for j in 0..10 {
                store
                    .record_event(
                        EventDraft::new(AuditAction::AttachmentDownloaded)
                            .payload(serde_json::json!({"i": i, "j": j})),
                        &Actor::system("stress"),
                        T0 + i * 100 + j,
                    )
                    .await
                    .expect("append");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(verify_chain(store.as_ref()).await, Ok(before + 80));
}
