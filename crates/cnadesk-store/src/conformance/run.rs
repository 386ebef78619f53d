//! Runs the whole story against an empty store.

use super::*;

/// Runs the whole story against an empty store.
pub async fn run(store: &dyn Store) {
    store.ping().await.expect("ping");
    assert!(["sqlite", "postgres"].contains(&store.backend()));

    // ---- first-run setup ---------------------------------------------------
    assert_eq!(store.count_users().await.unwrap(), 0, "store starts empty");
    store.put_setup_token("hash-old", T0 + 1000).await.unwrap();
    store
        .put_setup_token("hash-setup", T0 + 1000)
        .await
        .unwrap();
    assert!(
        !store.setup_token_valid("hash-old", T0).await.unwrap(),
        "a new setup token replaces the old one"
    );
    assert!(store.setup_token_valid("hash-setup", T0).await.unwrap());
    assert!(
        !store
            .setup_token_valid("hash-setup", T0 + 1000)
            .await
            .unwrap(),
        "setup tokens expire"
    );
    let expired = store
        .consume_setup_token("hash-setup", new_user("early", Role::Admin), T0 + 2000)
        .await;
    assert!(matches!(expired, Err(StoreError::SetupTokenInvalid)));
    let admin = store
        .consume_setup_token("hash-setup", new_user("ada", Role::Admin), T0 + 1)
        .await
        .expect("setup creates the first admin");
    assert_eq!(admin.role, Role::Admin);
    assert!(admin.active && !admin.totp_enabled);
    let again = store
        .consume_setup_token("hash-setup", new_user("eve", Role::Admin), T0 + 2)
        .await;
    assert!(
        matches!(again, Err(StoreError::SetupTokenInvalid)),
        "a setup link works once"
    );
    store.put_setup_token("hash-late", T0 + 9999).await.unwrap();
    assert!(
        !store.setup_token_valid("hash-late", T0 + 3).await.unwrap(),
        "no setup once an account exists"
    );
    assert!(matches!(
        store
            .consume_setup_token("hash-late", new_user("eve", Role::Admin), T0 + 3)
            .await,
        Err(StoreError::SetupTokenInvalid)
    ));

    // ---- accounts --------------------------------------------------------------
    let ada = Actor::Member {
        id: admin.id,
        username: admin.username.clone(),
    };
    let bob = store
        .create_user(new_user("bob", Role::Member), &ada, T0 + 10)
        .await
        .unwrap();
    let dup = store
        .create_user(new_user("bob", Role::Admin), &ada, T0 + 11)
        .await;
    assert!(matches!(dup, Err(StoreError::Conflict(_))), "{dup:?}");
    assert_eq!(store.count_users().await.unwrap(), 2);
    let names: Vec<String> = store
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["ada", "bob"]);
    assert_eq!(store.user(bob.id).await.unwrap().unwrap(), bob);
    let creds = store.user_credentials("bob").await.unwrap().unwrap();
    assert_eq!(creds.password_hash, "$argon2id$fake$bob");
    assert_eq!(creds.totp_secret_enc, None);
    assert!(store.user_credentials("nobody").await.unwrap().is_none());
    assert!(
        !format!("{creds:?}").contains("fake$bob"),
        "credentials are redacted from Debug"
    );

    // TOTP enrolment and replay protection.
    store
        .set_user_totp(bob.id, Some(vec![1, 2, 3]), &ada, T0 + 12)
        .await
        .unwrap();
    let creds = store.user_credentials_by_id(bob.id).await.unwrap().unwrap();
    assert_eq!(creds.totp_secret_enc, Some(vec![1, 2, 3]));
    assert!(creds.user.totp_enabled);
    assert!(store.use_totp_step(bob.id, 100).await.unwrap());
    assert!(
        !store.use_totp_step(bob.id, 100).await.unwrap(),
        "a TOTP step is single-use"
    );
    assert!(!store.use_totp_step(bob.id, 99).await.unwrap());
    assert!(store.use_totp_step(bob.id, 101).await.unwrap());

    // Sessions.
    store
        .create_session(
            NewSession {
                id_hash: "sess-bob".into(),
                user_id: bob.id,
                mfa_pending: true,
                created_at_ms: T0 + 20,
                expires_at_ms: T0 + 10_000,
            },
            &Actor::system("auth"),
        )
        .await
        .unwrap();
    let s = store.session("sess-bob", T0 + 21).await.unwrap().unwrap();
    assert!(s.mfa_pending);
    assert_eq!(s.user.id, bob.id);
    let bob_actor = Actor::Member {
        id: bob.id,
        username: "bob".into(),
    };
    let full = |hash: &str| NewSession {
        id_hash: hash.into(),
        user_id: bob.id,
        mfa_pending: false,
        created_at_ms: T0 + 22,
        expires_at_ms: T0 + 10_000,
    };
    let mallory = store
        .create_user(new_user("mallory", Role::Member), &Actor::system("t"), T0)
        .await
        .unwrap();
    let not_mine = NewSession {
        user_id: mallory.id,
        ..full("sess-x")
    };
    assert!(
        store
            .complete_session_mfa("sess-bob", not_mine, SecondFactor::Totp, &bob_actor)
            .await
            .is_err(),
        "a pending session only completes for its own account"
    );
    store
        .complete_session_mfa(
            "sess-bob",
            full("sess-bob-2"),
            SecondFactor::Totp,
            &bob_actor,
        )
        .await
        .unwrap();
    assert!(
        store.session("sess-bob", T0 + 23).await.unwrap().is_none(),
        "the pending id is gone: the session was rotated"
    );
    let rotated = store.session("sess-bob-2", T0 + 23).await.unwrap().unwrap();
    assert!(!rotated.mfa_pending);
    assert!(store
        .complete_session_mfa(
            "sess-bob",
            full("sess-bob-3"),
            SecondFactor::Totp,
            &bob_actor
        )
        .await
        .is_err());
    assert!(
        store
            .session("sess-bob-2", T0 + 10_000)
            .await
            .unwrap()
            .is_none(),
        "sessions expire"
    );
    assert!(store.session("sess-nope", T0).await.unwrap().is_none());

    // ---- intake ------------------------------------------------------------------
    let r1 = store
        .create_report(new_report("Carbons spoofing", "track-1"), T0 + 100)
        .await
        .unwrap();
    assert_eq!(r1.state, ReportState::New);
    assert_eq!(r1.channel, Channel::Web);
    assert!(
        r1.fields.description.contains("<script>"),
        "text is stored as given"
    );
    let r2 = store
        .create_report(new_report("Buy cheap watches", "track-2"), T0 + 200)
        .await
        .unwrap();
    let r3 = store
        .create_report(new_report("Carbons spoofing again", "track-3"), T0 + 300)
        .await
        .unwrap();
    assert!(matches!(
        store.create_report(new_report("x", "track-1"), T0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.report(r1.id).await.unwrap().unwrap(), r1);
    assert_eq!(
        store
            .report_by_tracking_hash("track-2")
            .await
            .unwrap()
            .unwrap()
            .id,
        r2.id
    );
    assert!(store
        .report_by_tracking_hash("track-9")
        .await
        .unwrap()
        .is_none());
    assert!(store.report(ReportId(9999)).await.unwrap().is_none());

    let files = store.attachments(r1.id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].filename, "poc.py");
    assert_eq!(files[0].size, 15);
    let file = store.attachment(r1.id, files[0].id).await.unwrap().unwrap();
    assert_eq!(file.data, b"print('poc')\n\x00\xff");
    assert!(
        store
            .attachment(r2.id, files[0].id)
            .await
            .unwrap()
            .is_none(),
        "an attachment is only found through its own report"
    );

    let queue = store.list_reports(ReportFilter::default()).await.unwrap();
    let ids: Vec<ReportId> = queue.iter().map(|r| r.id).collect();
    assert_eq!(ids, [r3.id, r2.id, r1.id], "newest first");
    let limited = store
        .list_reports(ReportFilter {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);

    // ---- messages ------------------------------------------------------------------
    let from_reporter = store
        .add_message(
            NewMessage {
                report_id: r1.id,
                author: Author::Reporter,
                visibility: Visibility::Reporter,
                body: "Any news?".into(),
            },
            &Actor::Reporter { report: r1.id },
            T0 + 400,
        )
        .await
        .unwrap();
    assert_eq!(from_reporter.author, Author::Reporter);
    let q = store.list_reports(ReportFilter::default()).await.unwrap();
    assert!(q.iter().find(|r| r.id == r1.id).unwrap().awaiting_reply);
    assert!(!q.iter().find(|r| r.id == r2.id).unwrap().awaiting_reply);
    assert!(matches!(
        store
            .add_message(
                NewMessage {
                    report_id: r1.id,
                    author: Author::Reporter,
                    visibility: Visibility::Internal,
                    body: "sneaky".into(),
                },
                &Actor::Reporter { report: r1.id },
                T0 + 401,
            )
            .await,
        Err(StoreError::Rejected(_))
    ));
    assert!(matches!(
        store
            .add_message(
                NewMessage {
                    report_id: r1.id,
                    author: Author::Member {
                        id: bob.id,
                        name: "bob".into()
                    },
                    visibility: Visibility::Reporter,
                    body: "   ".into(),
                },
                &bob_actor,
                T0 + 401,
            )
            .await,
        Err(StoreError::Rejected(_))
    ));
    store
        .add_message(
            NewMessage {
                report_id: r1.id,
                author: Author::Member {
                    id: bob.id,
                    name: "bob".into(),
                },
                visibility: Visibility::Internal,
                body: "Looks real; reproduced on 0.12.2.".into(),
            },
            &bob_actor,
            T0 + 402,
        )
        .await
        .unwrap();
    store
        .add_message(
            NewMessage {
                report_id: r1.id,
                author: Author::Member {
                    id: bob.id,
                    name: "bob".into(),
                },
                visibility: Visibility::Reporter,
                body: "Thanks, we reproduced it.".into(),
            },
            &bob_actor,
            T0 + 403,
        )
        .await
        .unwrap();
    let public = store.messages(r1.id, false).await.unwrap();
    assert_eq!(
        public.len(),
        2,
        "internal notes are not in the reporter's thread"
    );
    assert!(public.iter().all(|m| m.visibility == Visibility::Reporter));
    let all = store.messages(r1.id, true).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[1].visibility, Visibility::Internal);
    let q = store.list_reports(ReportFilter::default()).await.unwrap();
    assert!(!q.iter().find(|r| r.id == r1.id).unwrap().awaiting_reply);

    // ---- triage ------------------------------------------------------------------
    let spam = store
        .close_report(
            r2.id,
            CloseDecision {
                reason: CloseReason::Spam,
                duplicate_of: None,
                detail: "advert".into(),
            },
            &bob_actor,
            T0 + 500,
        )
        .await
        .unwrap();
    assert_eq!(spam.state, ReportState::Closed);
    assert_eq!(spam.close_reason, Some(CloseReason::Spam));
    for bad in [
        CloseDecision {
            reason: CloseReason::Duplicate,
            duplicate_of: None,
            detail: String::new(),
        },
        CloseDecision {
            reason: CloseReason::Duplicate,
            duplicate_of: Some(r3.id),
            detail: String::new(),
        },
        CloseDecision {
            reason: CloseReason::Duplicate,
            duplicate_of: Some(ReportId(9999)),
            detail: String::new(),
        },
        CloseDecision {
            reason: CloseReason::OutOfScope,
            duplicate_of: Some(r1.id),
            detail: String::new(),
        },
    ] {
        let got = store
            .close_report(r3.id, bad.clone(), &bob_actor, T0 + 501)
            .await;
        assert!(
            matches!(got, Err(StoreError::Rejected(_))),
            "{bad:?}: {got:?}"
        );
    }
    let dup = store
        .close_report(
            r3.id,
            CloseDecision {
                reason: CloseReason::Duplicate,
                duplicate_of: Some(r1.id),
                detail: String::new(),
            },
            &bob_actor,
            T0 + 502,
        )
        .await
        .unwrap();
    assert_eq!(dup.duplicate_of, Some(r1.id));
    assert_eq!(dup.close_detail, None);
    let spam_only = store
        .list_reports(ReportFilter {
            spam: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(spam_only.iter().map(|r| r.id).collect::<Vec<_>>(), [r2.id]);
    let not_spam = store
        .list_reports(ReportFilter {
            spam: Some(false),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(not_spam.len(), 2);
    let new_only = store
        .list_reports(ReportFilter {
            state: Some(ReportState::New),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(new_only.iter().map(|r| r.id).collect::<Vec<_>>(), [r1.id]);

    // ---- cases ----------------------------------------------------------------------
    assert!(matches!(
        store.accept_report(r1.id, "  ", &bob_actor, T0 + 600).await,
        Err(StoreError::Rejected(_))
    ));
    assert!(matches!(
        store
            .accept_report(r2.id, "spam case", &bob_actor, T0 + 600)
            .await,
        Err(StoreError::Rejected(_))
    ));
    let case = store
        .accept_report(
            r1.id,
            "Message Carbons spoofing in Prosody",
            &bob_actor,
            T0 + 600,
        )
        .await
        .unwrap();
    assert_eq!(case.state, CaseState::Accepted);
    assert_eq!(case.report_id, r1.id);
    assert_eq!(case.assignee, None);
    assert_eq!(
        store.report(r1.id).await.unwrap().unwrap().state,
        ReportState::Accepted
    );
    assert!(matches!(
        store
            .accept_report(r1.id, "again", &bob_actor, T0 + 601)
            .await,
        Err(StoreError::Rejected(_))
    ));
    assert_eq!(store.case_for_report(r1.id).await.unwrap().unwrap(), case);
    assert_eq!(store.case(case.id).await.unwrap().unwrap(), case);
    let q = store.list_reports(ReportFilter::default()).await.unwrap();
    assert_eq!(
        q.iter().find(|r| r.id == r1.id).unwrap().case_id,
        Some(case.id)
    );

    let refused = store
        .transition_case(case.id, CaseState::Disputed, "", &bob_actor, T0 + 700)
        .await;
    assert!(
        matches!(refused, Err(StoreError::Rejected(ref m)) if m.contains("cannot move")),
        "{refused:?}"
    );
    let moved = store
        .transition_case(
            case.id,
            CaseState::InCoordination,
            "vendor contacted",
            &bob_actor,
            T0 + 701,
        )
        .await
        .unwrap();
    assert_eq!(moved.state, CaseState::InCoordination);
    assert_eq!(moved.updated_at_ms, T0 + 701);

    let assigned = store
        .assign_case(case.id, Some(bob.id), "on triage duty", &ada, T0 + 800)
        .await
        .unwrap();
    assert_eq!(assigned.assignee, Some(bob.id));
    assert_eq!(
        assigned.assignment_reason.as_deref(),
        Some("on triage duty")
    );
    assert_eq!(store.open_case_counts().await.unwrap(), vec![(bob.id, 1)]);
    let mine = store
        .list_cases(CaseFilter {
            open_only: true,
            assignee: Some(bob.id),
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    let adas = store
        .list_cases(CaseFilter {
            open_only: false,
            assignee: Some(admin.id),
        })
        .await
        .unwrap();
    assert!(adas.is_empty());

    // Deactivation ends sessions and blocks assignment.
    store
        .create_session(
            NewSession {
                created_at_ms: T0 + 890,
                ..full("sess-bob-live")
            },
            &bob_actor,
        )
        .await
        .unwrap();
    assert!(store
        .session("sess-bob-live", T0 + 899)
        .await
        .unwrap()
        .is_some());
    store
        .set_user_active(bob.id, false, &ada, T0 + 900)
        .await
        .unwrap();
    assert!(
        store
            .session("sess-bob-live", T0 + 901)
            .await
            .unwrap()
            .is_none(),
        "deactivation ends sessions"
    );
    assert!(!store.user(bob.id).await.unwrap().unwrap().active);
    assert!(matches!(
        store
            .assign_case(case.id, Some(bob.id), "x", &ada, T0 + 902)
            .await,
        Err(StoreError::Rejected(_))
    ));
    store
        .set_user_active(bob.id, true, &ada, T0 + 903)
        .await
        .unwrap();
    let cleared = store
        .assign_case(case.id, None, "", &ada, T0 + 904)
        .await
        .unwrap();
    assert_eq!(cleared.assignee, None);
    store
        .transition_case(case.id, CaseState::Closed, "fixed upstream", &ada, T0 + 905)
        .await
        .unwrap();
    assert!(store
        .list_cases(CaseFilter {
            open_only: true,
            assignee: None,
        })
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store.list_cases(CaseFilter::default()).await.unwrap().len(),
        1
    );
    store
        .set_user_totp(bob.id, None, &ada, T0 + 906)
        .await
        .unwrap();
    assert!(!store.user(bob.id).await.unwrap().unwrap().totp_enabled);
    store
        .delete_session("sess-none", &ada, T0 + 907)
        .await
        .unwrap();

    // ---- audit ------------------------------------------------------------------------
    let free = store
        .record_event(
            EventDraft::new(AuditAction::AttachmentDownloaded)
                .payload(serde_json::json!({"z": 1, "a": "b"})),
            &Actor::system("story"),
            T0 + 1000,
        )
        .await
        .unwrap();
    let events = store.audit_events(0, 10_000).await.unwrap();
    assert_eq!(
        events.last().unwrap(),
        &free,
        "stored events read back as written"
    );
    let actions: Vec<AuditAction> = events.iter().filter_map(AuditEvent::kind).collect();
    for expected in [
        AuditAction::UserCreated,
        AuditAction::UserTotpEnrolled,
        AuditAction::SessionPasswordVerified,
        AuditAction::SessionSignedIn,
        AuditAction::ReportCreated,
        AuditAction::MessageShared,
        AuditAction::NoteAdded,
        AuditAction::ReportClosed,
        AuditAction::CaseOpened,
        AuditAction::CaseStateChanged,
        AuditAction::CaseAssigned,
        AuditAction::UserDeactivated,
        AuditAction::UserActivated,
        AuditAction::UserTotpRemoved,
        AuditAction::AttachmentDownloaded,
    ] {
        assert!(
            actions.contains(&expected),
            "no {expected} event in {actions:?}"
        );
    }
    assert_eq!(
        events
            .iter()
            .filter(|e| e.is(AuditAction::SessionSignedOut))
            .count(),
        0,
        "ending an unknown session changes nothing and audits nothing"
    );
    let page = store.audit_events(2, 3).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
    let for_r1 = store.audit_events_for_report(r1.id).await.unwrap();
    assert!(for_r1.iter().all(|e| e.report_id == Some(r1.id.0)));
    assert!(for_r1
        .iter()
        .any(|e| e.is(AuditAction::CaseOpened) && e.case_id == Some(case.id.0)));
    assert!(for_r1
        .iter()
        .any(|e| e.is(AuditAction::NoteAdded) && e.case_id.is_none()));
    let n = verify_chain(store).await.expect("the chain verifies");
    assert_eq!(n, events.len() as i64);
}
