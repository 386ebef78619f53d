//! Product annotations and scope decisions: saved, replaced, audited; a

use super::*;

/// Product annotations and scope decisions: saved, replaced, audited; a
/// decision that is not in scope blocks acceptance until a new one is made.
pub async fn scope_story(store: &dyn Store) {
    use crate::NewScopeDecision;
    use cnadesk_scope::Decision;
    let (ada_id, ada) = member(store, "scope-ada", Role::Member).await;

    // Annotations: created, then replaced; each change audited with before/after.
    let first = serde_json::json!({ "name": "Prosody IM", "aliases": ["Prosody"] });
    store
        .save_product_annotation("prosody-im", first.clone(), &ada, T0 + 1)
        .await
        .unwrap();
    let second = serde_json::json!({ "name": "Prosody IM", "aliases": ["Prosody", "prosody.im"] });
    let saved = store
        .save_product_annotation("prosody-im", second.clone(), &ada, T0 + 2)
        .await
        .unwrap();
    assert_eq!(saved.annotation, second);
    assert_eq!(saved.updated_by, Some(ada_id));
    let added = serde_json::json!({ "name": "Example Gateway", "added": true });
    store
        .save_product_annotation("example-gateway", added, &ada, T0 + 3)
        .await
        .unwrap();
    let all = store.product_annotations().await.unwrap();
    assert_eq!(
        all.iter().map(|a| a.key.as_str()).collect::<Vec<_>>(),
        vec!["example-gateway", "prosody-im"]
    );
    assert!(matches!(
        store
            .save_product_annotation("x", serde_json::json!([1]), &ada, T0 + 4)
            .await,
        Err(StoreError::Rejected(_))
    ));
    let events = store.audit_events(0, 10_000).await.unwrap();
    let annotated: Vec<_> = events
        .iter()
        .filter(|e| {
            e.is(AuditAction::EcosystemProductAnnotated) || e.is(AuditAction::EcosystemProductAdded)
        })
        .collect();
    assert_eq!(
        annotated.iter().map(|e| e.kind()).collect::<Vec<_>>(),
        vec![
            Some(AuditAction::EcosystemProductAnnotated),
            Some(AuditAction::EcosystemProductAnnotated),
            Some(AuditAction::EcosystemProductAdded)
        ]
    );
    assert_eq!(annotated[1].payload["before"], first);
    assert_eq!(annotated[1].payload["after"], second);

    // Scope decisions.
    let report = store
        .create_report(new_report("scope", "scope-1"), T0)
        .await
        .unwrap();
    let decision = |decision: Decision, overridden: bool, reason: &str| NewScopeDecision {
        report: report.id,
        decision,
        rule: Some("vendor-is-cna".into()),
        policy_version: "2026.1".into(),
        product_key: Some("mozilla-thunderbird".into()),
        referral_cna: (decision == Decision::Refer).then(|| "mozilla".into()),
        overridden,
        reason: reason.into(),
        input: serde_json::json!({ "product": "Thunderbird", "description": "" }),
        proposal: serde_json::json!({ "decision": "refer", "rule": "vendor-is-cna" }),
    };
    for (bad, why) in [
        (
            decision(Decision::NeedsHuman, false, ""),
            "not a scope decision",
        ),
        (decision(Decision::InScope, true, " "), "needs a reason"),
        (
            NewScopeDecision {
                referral_cna: None,
                ..decision(Decision::Refer, false, "")
            },
            "names the CNA",
        ),
    ] {
        match store.record_scope_decision(bad, &ada, T0 + 5).await {
            Err(StoreError::Rejected(m)) => assert!(m.contains(why), "{m}"),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
    assert!(matches!(
        store
            .record_scope_decision(
                decision(Decision::Refer, false, ""),
                &Actor::system("cli"),
                T0 + 5
            )
            .await,
        Err(StoreError::Rejected(_))
    ));
    let refer = store
        .record_scope_decision(decision(Decision::Refer, false, ""), &ada, T0 + 6)
        .await
        .unwrap();
    assert_eq!(refer.referral_cna.as_deref(), Some("mozilla"));
    assert_eq!(refer.input["product"], "Thunderbird");
    // A referral blocks acceptance.
    match store.accept_report(report.id, "t", &ada, T0 + 7).await {
        Err(StoreError::Rejected(m)) => assert!(m.contains("`refer`"), "{m}"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    // An override with a reason; then acceptance works and decisions freeze.
    let mut over = decision(
        Decision::InScope,
        true,
        "Thunderbird's XMPP code is maintained by the XSF",
    );
    over.referral_cna = None;
    store
        .record_scope_decision(over, &ada, T0 + 8)
        .await
        .unwrap();
    let history = store.scope_decisions(report.id).await.unwrap();
    assert_eq!(
        history.iter().map(|d| d.decision).collect::<Vec<_>>(),
        vec![Decision::InScope, Decision::Refer],
        "newest first"
    );
    assert!(history[0].overridden);
    store
        .accept_report(report.id, "t", &ada, T0 + 9)
        .await
        .unwrap();
    assert!(matches!(
        store
            .record_scope_decision(decision(Decision::Refer, false, ""), &ada, T0 + 10)
            .await,
        Err(StoreError::Rejected(_))
    ));
    let latest = store.latest_scope_decisions().await.unwrap();
    let mine: Vec<_> = latest.iter().filter(|d| d.report == report.id).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].decision, Decision::InScope);
    let events = store.audit_events_for_report(report.id).await.unwrap();
    let decided: Vec<_> = events
        .iter()
        .filter(|e| e.is(AuditAction::ScopeDecided))
        .collect();
    assert_eq!(decided.len(), 2);
    assert_eq!(decided[1].payload["overridden"], true);
    assert_eq!(decided[1].payload["proposed"], "refer");
    assert_eq!(decided[1].payload["policy_version"], "2026.1");
}
