//! Scope policy versions: adopted once, text fixed per version, audited.

use super::*;

/// Scope policy versions: adopted once, text fixed per version, audited.
pub async fn scope_policy_story(store: &dyn Store) {
    let cli = Actor::system("serve");
    assert!(store
        .adopt_scope_policy("2026.1", "2026-12-01", "version = \"2026.1\"", &cli, T0)
        .await
        .unwrap());
    assert!(!store
        .adopt_scope_policy("2026.1", "2026-12-01", "version = \"2026.1\"", &cli, T0 + 1)
        .await
        .unwrap());
    match store
        .adopt_scope_policy(
            "2026.1",
            "2026-12-01",
            "version = \"2026.1\" # edited",
            &cli,
            T0 + 2,
        )
        .await
    {
        Err(StoreError::Conflict(m)) => assert!(m.contains("needs a new version"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(store
        .adopt_scope_policy("2027.1", "2027-01-01", "version = \"2027.1\"", &cli, T0 + 3)
        .await
        .unwrap());
    let versions = store.scope_policies().await.unwrap();
    assert_eq!(
        versions
            .iter()
            .map(|v| v.version.as_str())
            .collect::<Vec<_>>(),
        vec!["2027.1", "2026.1"]
    );
    assert_eq!(versions[1].document, "version = \"2026.1\"");
    assert_eq!(versions[1].adopted_at_ms, T0);
    let events = store.audit_events(0, 10_000).await.unwrap();
    let adopted: Vec<_> = events
        .iter()
        .filter(|e| e.is(AuditAction::ScopePolicyAdopted))
        .map(|e| e.payload["version"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(adopted, vec!["2026.1", "2027.1"]);
}
