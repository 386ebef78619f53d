//! Two members deciding the same report at once: exactly one decision wins,

use super::*;

/// Two members deciding the same report at once: exactly one decision wins,
/// and the report and its case agree.
pub async fn concurrent_triage_decisions_exclude_each_other(store: std::sync::Arc<dyn Store>) {
    let actor = Actor::system("race");
    for round in 0..20 {
        let report = store
            .create_report(new_report("race", &format!("race-{round}")), T0 + round)
            .await
            .expect("report");
        let (a, b) = (store.clone(), store.clone());
        let accept = tokio::spawn({
            let actor = actor.clone();
            async move { a.accept_report(report.id, "case", &actor, T0 + 1).await }
        });
        let close = tokio::spawn({
            let actor = actor.clone();
            async move {
                b.close_report(
                    report.id,
                    CloseDecision {
                        reason: CloseReason::Spam,
                        duplicate_of: None,
                        detail: String::new(),
                    },
                    &actor,
                    T0 + 1,
                )
                .await
            }
        });
        let (accepted, closed) = (accept.await.expect("task"), close.await.expect("task"));
        assert!(
            accepted.is_ok() != closed.is_ok(),
            "round {round}: exactly one decision wins ({accepted:?} / {closed:?})"
        );
        let stored = store.report(report.id).await.unwrap().unwrap();
        let case = store.case_for_report(report.id).await.unwrap();
        match stored.state {
            ReportState::Accepted => assert!(case.is_some(), "round {round}"),
            ReportState::Closed => {
                assert!(case.is_none(), "round {round}: a closed report with a case")
            }
            ReportState::New => panic!("round {round}: no decision stored"),
        }
    }
    assert!(verify_chain(store.as_ref()).await.is_ok());
}
