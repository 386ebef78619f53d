//! Two members saving the same record version at once: exactly one wins.

use super::*;

/// Two members saving the same record version at once: exactly one wins.
pub async fn concurrent_record_saves_exclude_each_other(store: std::sync::Arc<dyn Store>) {
    let (user_id, actor) = member(&*store, "rec-race", Role::Member).await;
    let report = store
        .create_report(new_report("record race", "rec-race"), T0)
        .await
        .unwrap();
    let case = store
        .accept_report(report.id, "race", &actor, T0)
        .await
        .unwrap();
    for round in 0..20 {
        let mut tasks = Vec::new();
        for writer in 0..2 {
            let store = store.clone();
            let actor = actor.clone();
            let draft = record_draft(
                "CVE-2026-20000",
                &format!(r#"{{"round":{round},"writer":{writer}}}"#),
                round,
                user_id,
            );
            tasks.push(tokio::spawn(async move {
                store
                    .save_record_version(case.id, draft, &actor, T0 + round)
                    .await
            }));
        }
        let mut wins = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(v) => {
                    assert_eq!(v.version, round + 1);
                    wins += 1;
                }
                Err(StoreError::Conflict(_)) => {}
                Err(e) => panic!("round {round}: unexpected {e}"),
            }
        }
        assert_eq!(wins, 1, "round {round}: exactly one save wins");
    }
    assert_eq!(store.record_versions(case.id).await.unwrap().len(), 20);
    assert!(verify_chain(store.as_ref()).await.is_ok());
}
