//! Accounts a team can run: invitation links, a member's own password
//! change, the second factor's enrolment with recovery codes.

use super::*;

/// Invitations (a pending account without a password, the link stored as a
/// hash, its e-mail queued with it, used once, expiring, renewed), a
/// password change that ends the other sessions, TOTP enrolment with
/// recovery codes that each work once, and the audit of each.
pub async fn accounts_story(store: &dyn Store) {
    use crate::{NewOutboxMessage, NewUserInvitation, OutboxChannel, OutboxFilter};
    let (ada_id, ada) = member(store, "acc-ada", Role::Admin).await;
    let mail = |key: &str| NewOutboxMessage {
        dedupe_key: key.to_owned(),
        channel: OutboxChannel::Email,
        recipient: "acc-bo@example.org".into(),
        template: "member_invitation".into(),
        report_id: None,
        case_id: None,
        event_seq: None,
        context: serde_json::json!({"username": "acc-bo"}),
        sealed: Some(vec![7, 7]),
    };

    // ---- an invitation: an account without a password, and its mail ----
    let bo = store
        .invite_user(
            new_user("acc-bo", Role::Member),
            NewUserInvitation {
                token_hash: "inv-1".into(),
                expires_at_ms: T0 + 1000,
                outbox: Some(mail("user-invite:1")),
            },
            &ada,
            T0,
        )
        .await
        .unwrap();
    let creds = store.user_credentials("acc-bo").await.unwrap().unwrap();
    assert_eq!(
        creds.password_hash, "",
        "no password until the link is followed"
    );
    assert!(creds.user.active && !creds.user.totp_enabled);
    let queued = store
        .outbox(OutboxFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.dedupe_key == "user-invite:1")
        .expect("the invitation mail is queued with the account");
    assert_eq!(queued.template, "member_invitation");
    assert_eq!(queued.sealed.as_deref(), Some(&[7u8, 7][..]));
    assert!(matches!(
        store
            .invite_user(
                new_user("acc-bo", Role::Member),
                NewUserInvitation {
                    token_hash: "inv-dup".into(),
                    expires_at_ms: T0 + 1000,
                    outbox: Some(mail("user-invite:dup")),
                },
                &ada,
                T0,
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        !store
            .outbox(OutboxFilter::default())
            .await
            .unwrap()
            .iter()
            .any(|m| m.dedupe_key == "user-invite:dup"),
        "a refused invitation queues nothing"
    );
    let open = store.open_user_invitations().await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].user.id, bo.id);
    assert_eq!(open[0].expires_at_ms, T0 + 1000);
    let inv = store.user_invitation("inv-1").await.unwrap().unwrap();
    assert_eq!((inv.user.id, inv.used_at_ms), (bo.id, None));
    assert!(store.user_invitation("nope").await.unwrap().is_none());

    // Renewed: the old link is dead, the new one works until it expires.
    store
        .renew_user_invitation(
            bo.id,
            NewUserInvitation {
                token_hash: "inv-2".into(),
                expires_at_ms: T0 + 2000,
                outbox: None,
            },
            &ada,
            T0 + 1,
        )
        .await
        .unwrap();
    assert!(store.user_invitation("inv-1").await.unwrap().is_none());
    assert!(matches!(
        store
            .accept_user_invitation("inv-2", "$argon2id$bo".into(), T0 + 2000)
            .await,
        Err(StoreError::Rejected(_))
    ));
    let accepted = store
        .accept_user_invitation("inv-2", "$argon2id$bo".into(), T0 + 10)
        .await
        .unwrap();
    assert_eq!(accepted.id, bo.id);
    let creds = store.user_credentials("acc-bo").await.unwrap().unwrap();
    assert_eq!(creds.password_hash, "$argon2id$bo");
    assert_eq!(
        store
            .user_invitation("inv-2")
            .await
            .unwrap()
            .unwrap()
            .used_at_ms,
        Some(T0 + 10)
    );
    assert!(
        matches!(
            store
                .accept_user_invitation("inv-2", "$argon2id$again".into(), T0 + 11)
                .await,
            Err(StoreError::Rejected(_))
        ),
        "a link works once"
    );
    assert!(store.open_user_invitations().await.unwrap().is_empty());
    assert!(
        matches!(
            store
                .renew_user_invitation(
                    bo.id,
                    NewUserInvitation {
                        token_hash: "inv-3".into(),
                        expires_at_ms: T0 + 2000,
                        outbox: None,
                    },
                    &ada,
                    T0 + 12,
                )
                .await,
            Err(StoreError::Rejected(_))
        ),
        "no new link for an account that is set up"
    );
    // A deactivated account's link does not set it up.
    let cy = store
        .invite_user(
            new_user("acc-cy", Role::Member),
            NewUserInvitation {
                token_hash: "inv-cy".into(),
                expires_at_ms: T0 + 1000,
                outbox: None,
            },
            &ada,
            T0 + 13,
        )
        .await
        .unwrap();
    store
        .set_user_active(cy.id, false, &ada, T0 + 14)
        .await
        .unwrap();
    assert!(matches!(
        store
            .accept_user_invitation("inv-cy", "$argon2id$cy".into(), T0 + 15)
            .await,
        Err(StoreError::Rejected(_))
    ));
    assert_eq!(
        store
            .user_credentials("acc-cy")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        ""
    );

    // ---- a password change ends the other sessions ----
    let bo_actor = Actor::Member {
        id: bo.id,
        username: bo.username.clone(),
    };
    for id in ["acc-s1", "acc-s2", "acc-s3"] {
        store
            .create_session(
                NewSession {
                    id_hash: id.into(),
                    user_id: bo.id,
                    mfa_pending: false,
                    created_at_ms: T0 + 20,
                    expires_at_ms: T0 + 100_000,
                },
                &bo_actor,
            )
            .await
            .unwrap();
    }
    let ended = store
        .change_password(bo.id, "$argon2id$new".into(), "acc-s2", &bo_actor, T0 + 21)
        .await
        .unwrap();
    assert_eq!(ended, 2);
    assert!(store.session("acc-s1", T0 + 22).await.unwrap().is_none());
    assert!(store.session("acc-s3", T0 + 22).await.unwrap().is_none());
    assert!(store.session("acc-s2", T0 + 22).await.unwrap().is_some());
    assert_eq!(
        store
            .user_credentials("acc-bo")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "$argon2id$new"
    );

    // ---- enrolment with recovery codes; each code works once ----
    let codes: Vec<String> = (0..10).map(|i| format!("code-{i}")).collect();
    store
        .enrol_totp(bo.id, vec![1, 2, 3], codes.clone(), &bo_actor, T0 + 30)
        .await
        .unwrap();
    assert!(store.user(bo.id).await.unwrap().unwrap().totp_enabled);
    assert!(
        matches!(
            store
                .enrol_totp(bo.id, vec![4], codes.clone(), &bo_actor, T0 + 31)
                .await,
            Err(StoreError::Rejected(_))
        ),
        "a second enrolment does not replace the first"
    );
    assert_eq!(store.recovery_codes_left(bo.id).await.unwrap(), 10);
    assert!(store
        .use_recovery_code(bo.id, "code-3", &bo_actor, T0 + 32)
        .await
        .unwrap());
    assert!(!store
        .use_recovery_code(bo.id, "code-3", &bo_actor, T0 + 33)
        .await
        .unwrap());
    assert!(
        !store
            .use_recovery_code(ada_id, "code-4", &ada, T0 + 33)
            .await
            .unwrap(),
        "a code is its account's only"
    );
    assert_eq!(store.recovery_codes_left(bo.id).await.unwrap(), 9);
    store
        .replace_recovery_codes(bo.id, vec!["fresh".into()], &bo_actor, T0 + 34)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left(bo.id).await.unwrap(), 1);
    assert!(!store
        .use_recovery_code(bo.id, "code-4", &bo_actor, T0 + 35)
        .await
        .unwrap());
    // Removing the second factor removes its recovery codes.
    store
        .set_user_totp(bo.id, None, &ada, T0 + 36)
        .await
        .unwrap();
    assert_eq!(store.recovery_codes_left(bo.id).await.unwrap(), 0);

    // ---- the audit of each step ----
    let events = store
        .audit_events_by_actions(
            &[
                AuditAction::UserInvited,
                AuditAction::UserInvitationRenewed,
                AuditAction::UserInvitationAccepted,
                AuditAction::UserPasswordChanged,
                AuditAction::UserRecoveryCodesGenerated,
                AuditAction::UserRecoveryCodeUsed,
            ],
            T0,
        )
        .await
        .unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        names,
        [
            "user.invited",
            "user.invitation_renewed",
            "user.invitation_accepted",
            "user.invited",
            "user.password_changed",
            "user.recovery_codes_generated",
            "user.recovery_code_used",
            "user.recovery_codes_generated",
        ]
    );
    let changed = &events[4];
    assert_eq!(changed.payload["sessions_ended"], 2);
    assert_eq!(events[6].payload["codes_left"], 9);
    for e in &events {
        let text = e.payload.to_string();
        assert!(
            !text.contains("inv-") && !text.contains("code-") && !text.contains("argon2"),
            "no secret in the audit log: {text}"
        );
    }
}
