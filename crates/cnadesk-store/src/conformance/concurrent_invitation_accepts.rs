//! Two vendors using one invitation link at once: exactly one is bound.

use super::*;

/// Two vendors using one invitation link at once: exactly one is bound.
pub async fn concurrent_invitation_accepts_exclude_each_other(store: std::sync::Arc<dyn Store>) {
    use crate::{NewInvitation, NewVendorAccount};
    let (_, ada) = member(&*store, "race-inv-ada", Role::Admin).await;
    let report = store
        .create_report(new_report("invitation race", "race-inv"), T0)
        .await
        .unwrap();
    let case = store
        .accept_report(report.id, "race", &ada, T0)
        .await
        .unwrap();
    for round in 0..5 {
        let token = format!("race-token-{round}");
        let p = store
            .invite_vendor(
                NewInvitation {
                    case_id: case.id,
                    email: format!("vendor{round}@example.org"),
                    contact_name: String::new(),
                    products: Vec::new(),
                    token_hash: token.clone(),
                    expires_at_ms: T0 + 1000,
                    outbox: None,
                },
                &ada,
                T0,
            )
            .await
            .unwrap();
        let mut accounts = Vec::new();
        for who in ["a", "b"] {
            accounts.push(
                store
                    .create_vendor_account(
                        NewVendorAccount {
                            email: format!("{who}{round}@race.example"),
                            display_name: who.into(),
                            password_hash: "x".into(),
                            time_zone: "UTC".into(),
                        },
                        T0,
                    )
                    .await
                    .unwrap()
                    .id,
            );
        }
        let tasks: Vec<_> = accounts
            .iter()
            .map(|id| {
                let (store, token, id) = (store.clone(), token.clone(), *id);
                (
                    id,
                    tokio::spawn(async move { store.accept_invitation(&token, id, T0 + 1).await }),
                )
            })
            .collect();
        let mut winners = Vec::new();
        for (account, t) in tasks {
            match t.await.unwrap() {
                Ok(_) => winners.push(account),
                Err(StoreError::SetupTokenInvalid) => {}
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: one accept wins");
        let stored = store
            .participants(case.id)
            .await
            .unwrap()
            .into_iter()
            .find(|x| x.id == p.id)
            .unwrap();
        assert_eq!(stored.vendor, Some(winners[0]), "the winner is bound");
        assert_eq!(stored.accepted_at_ms, Some(T0 + 1));
    }
    verify_chain(&*store).await.expect("chain intact");
}
