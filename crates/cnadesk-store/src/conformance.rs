//! The conformance story: one walk through every store method, with the
//! behaviour every backend must show. Backends call [`run`] from their tests
//! (SQLite always, PostgreSQL when a server is configured).
//!
//! It panics with a message on the first deviation, like a test does.

use cnadesk_core::audit::EventDraft;
use cnadesk_core::{Actor, CaseState, CloseReason, ReportId, ReportInput, ReportState, Role};

use crate::{
    Author, CaseFilter, Channel, CloseDecision, NewAttachment, NewMessage, NewRecordVersion,
    NewReport, NewSession, NewUser, ReportFilter, Store, StoreError, Visibility,
};

const T0: i64 = 1_790_000_000_000;

/// Creates an account and the actor it acts as.
async fn member(store: &dyn Store, username: &str, role: Role) -> (cnadesk_core::UserId, Actor) {
    let u = store
        .create_user(new_user(username, role), &Actor::system("story"), T0)
        .await
        .unwrap();
    (
        u.id,
        Actor::Member {
            id: u.id,
            username: u.username,
        },
    )
}

fn new_user(username: &str, role: Role) -> NewUser {
    NewUser {
        username: username.to_owned(),
        display_name: format!("{username} (display)"),
        email: format!("{username}@example.org"),
        role,
        password_hash: format!("$argon2id$fake${username}"),
    }
}

fn new_report(title: &str, tracking_hash: &str) -> NewReport {
    let fields = ReportInput {
        title: title.to_owned(),
        reporter_name: "Rita Reporter".into(),
        reporter_email: "rita@example.org".into(),
        product: "Prosody".into(),
        versions: "0.12.0 – 0.12.3".into(),
        description: "Message carbons can be spoofed by a remote entity <script>alert(1)</script>"
            .into(),
        credit: "Rita R.".into(),
        ..Default::default()
    }
    .validate()
    .expect("story report is valid");
    NewReport {
        outbox: Vec::new(),
        fields,
        tracking_hash: tracking_hash.to_owned(),
        channel: Channel::Web,
        attachments: vec![NewAttachment {
            filename: "poc.py".into(),
            content_type: "text/x-python".into(),
            data: b"print('poc')\n\x00\xff".to_vec(),
        }],
    }
}

/// Verifies the whole audit chain of a store and returns the number of events.
pub async fn verify_chain(store: &dyn Store) -> Result<i64, String> {
    crate::verify_audit_chain(store)
        .await
        .map_err(|e| e.to_string())
}

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
            .complete_session_mfa("sess-bob", not_mine, &bob_actor)
            .await
            .is_err(),
        "a pending session only completes for its own account"
    );
    store
        .complete_session_mfa("sess-bob", full("sess-bob-2"), &bob_actor)
        .await
        .unwrap();
    assert!(
        store.session("sess-bob", T0 + 23).await.unwrap().is_none(),
        "the pending id is gone: the session was rotated"
    );
    let rotated = store.session("sess-bob-2", T0 + 23).await.unwrap().unwrap();
    assert!(!rotated.mfa_pending);
    assert!(store
        .complete_session_mfa("sess-bob", full("sess-bob-3"), &bob_actor)
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
        .transition_case(case.id, CaseState::Published, "", &bob_actor, T0 + 700)
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
            EventDraft::new("policy.noted").payload(serde_json::json!({"z": 1, "a": "b"})),
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
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for expected in [
        "user.created",
        "user.totp_enrolled",
        "session.password_verified",
        "session.signed_in",
        "report.created",
        "message.shared",
        "note.added",
        "report.closed",
        "case.opened",
        "case.state_changed",
        "case.assigned",
        "user.deactivated",
        "user.activated",
        "user.totp_removed",
        "policy.noted",
    ] {
        assert!(
            actions.contains(&expected),
            "no {expected} event in {actions:?}"
        );
    }
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "session.signed_out")
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
        .any(|e| e.action == "case.opened" && e.case_id == Some(case.id.0)));
    assert!(for_r1
        .iter()
        .any(|e| e.action == "note.added" && e.case_id.is_none()));
    let n = verify_chain(store).await.expect("the chain verifies");
    assert_eq!(n, events.len() as i64);
}

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
                        EventDraft::new("stress").payload(serde_json::json!({"i": i, "j": j})),
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

fn record_draft(
    cve: &str,
    doc: &str,
    based_on: i64,
    author: cnadesk_core::UserId,
) -> NewRecordVersion {
    NewRecordVersion {
        cve_id: cve.parse().expect("story CVE ID"),
        document: doc.to_owned(),
        based_on,
        schema_errors: 0,
        lint_errors: 1,
        lint_warnings: 2,
        note: " first draft ".into(),
        author,
    }
}

/// CVE IDs and record versions: numbered, immutable through the interface,
/// refused when stale, audited with the document's hash.
pub async fn records_story(store: &dyn Store) {
    let (ada_id, ada) = member(store, "rec-ada", Role::Admin).await;
    let r1 = store
        .create_report(new_report("records one", "rec-1"), T0)
        .await
        .unwrap();
    let r2 = store
        .create_report(new_report("records two", "rec-2"), T0)
        .await
        .unwrap();
    let c1 = store
        .accept_report(r1.id, "one", &ada, T0 + 1)
        .await
        .unwrap();
    let c2 = store
        .accept_report(r2.id, "two", &ada, T0 + 1)
        .await
        .unwrap();
    assert_eq!(c1.cve_id, None, "a new case has no CVE ID");

    let cve: cnadesk_core::CveId = "CVE-2026-10001".parse().unwrap();
    let with_id = store
        .set_case_cve_id(c1.id, &cve, &ada, T0 + 2)
        .await
        .unwrap();
    assert_eq!(with_id.cve_id.as_ref(), Some(&cve));
    assert_eq!(
        store.case(c1.id).await.unwrap().unwrap().cve_id,
        Some(cve.clone())
    );
    assert!(
        matches!(
            store.set_case_cve_id(c2.id, &cve, &ada, T0 + 3).await,
            Err(StoreError::Conflict(_))
        ),
        "one CVE ID belongs to one case"
    );
    assert!(matches!(
        store
            .set_case_cve_id(cnadesk_core::CaseId(9_999), &cve, &ada, T0 + 3)
            .await,
        Err(StoreError::NotFound(_))
    ));

    assert!(store.record_versions(c1.id).await.unwrap().is_empty());
    let doc1 = r#"{"title":"v1"}"#;
    let v1 = store
        .save_record_version(
            c1.id,
            record_draft("CVE-2026-10001", doc1, 0, ada_id),
            &ada,
            T0 + 10,
        )
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.document, doc1, "the document is stored byte for byte");
    assert_eq!(v1.note, "first draft");
    assert_eq!(
        (v1.schema_errors, v1.lint_errors, v1.lint_warnings),
        (0, 1, 2)
    );
    assert!(!v1.publishable());
    assert_eq!(
        v1.sha256, "6fe4905e51874d269d63cfa3d512bb56d2f4ad0dcf2bc27b7aca495198c37073",
        "SHA-256 of the document"
    );
    let stale = store
        .save_record_version(
            c1.id,
            record_draft("CVE-2026-10001", r#"{"title":"other"}"#, 0, ada_id),
            &ada,
            T0 + 11,
        )
        .await;
    assert!(
        matches!(stale, Err(StoreError::Conflict(_))),
        "a save based on an old version is refused: {stale:?}"
    );
    let v2 = store
        .save_record_version(
            c1.id,
            record_draft("CVE-2026-10001", r#"{"title":"v2"}"#, 1, ada_id),
            &ada,
            T0 + 12,
        )
        .await
        .unwrap();
    assert_eq!(v2.version, 2);
    assert!(matches!(
        store
            .save_record_version(
                c1.id,
                record_draft("CVE-2026-10001", "not json", 2, ada_id),
                &ada,
                T0 + 13
            )
            .await,
        Err(StoreError::Rejected(_))
    ));
    assert!(matches!(
        store
            .save_record_version(
                cnadesk_core::CaseId(9_999),
                record_draft("CVE-2026-10001", doc1, 0, ada_id),
                &ada,
                T0 + 13
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    // Versions are numbered per case.
    let other = store
        .save_record_version(
            c2.id,
            record_draft("CVE-2026-10002", doc1, 0, ada_id),
            &ada,
            T0 + 14,
        )
        .await
        .unwrap();
    assert_eq!(other.version, 1);

    let all = store.record_versions(c1.id).await.unwrap();
    assert_eq!(all.iter().map(|v| v.version).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(all[1], v1, "a version reads back as it was saved");
    assert_eq!(
        store.record_version(c1.id, 1).await.unwrap(),
        Some(v1.clone())
    );
    assert_eq!(store.record_version(c1.id, 3).await.unwrap(), None);
    assert_eq!(store.record_version(c2.id, 2).await.unwrap(), None);

    let events = store.audit_events_for_report(r1.id).await.unwrap();
    let saved: Vec<_> = events
        .iter()
        .filter(|e| e.action == "record.version_saved")
        .collect();
    assert_eq!(saved.len(), 2, "each saved version is audited once");
    assert_eq!(saved[0].case_id, Some(c1.id.0));
    assert_eq!(saved[0].payload["sha256"], v1.sha256.as_str());
    assert_eq!(saved[0].payload["version"], 1);
    assert!(events
        .iter()
        .any(|e| e.action == "case.cve_id_set" && e.payload["cve_id"] == "CVE-2026-10001"));
    assert!(verify_chain(store).await.is_ok());
}

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

fn service_id(id: &str, state: crate::CveIdState, at: i64) -> crate::ServiceCveId {
    crate::ServiceCveId {
        cve_id: id.parse().expect("story CVE ID"),
        state,
        reserved_at_ms: at,
        reserved_by: "bot".into(),
    }
}

/// CVE IDs, approvals (the two-person rule) and the job outbox: reserving,
/// approving, requesting publication, claiming, retrying and finishing.
pub async fn cve_program_story(store: &dyn Store) {
    use crate::{
        CveIdFilter, CveIdState, JobEffect, JobFilter, JobKind, JobOutcome, JobState, NewJob,
        PublicationRequest,
    };
    let (ada_id, ada) = member(store, "pub-ada", Role::Member).await;
    let (bob_id, bob) = member(store, "pub-bob", Role::Member).await;
    let report = store
        .create_report(new_report("publication", "pub-1"), T0)
        .await
        .unwrap();
    let case = store
        .accept_report(report.id, "publication", &ada, T0 + 1)
        .await
        .unwrap();

    // A reservation job finishes with the IDs: they are linked to the case,
    // and the case takes the first as its CVE ID.
    let reserve = store
        .enqueue_job(
            NewJob {
                kind: JobKind::CveReserve,
                case_id: Some(case.id),
                subject: format!("reserve:{}", case.id),
                payload: serde_json::json!({ "amount": 2 }),
            },
            &ada,
            T0 + 2,
        )
        .await
        .unwrap();
    assert_eq!(reserve.state, JobState::Queued);
    assert!(
        matches!(
            store
                .enqueue_job(
                    NewJob {
                        kind: JobKind::CveReserve,
                        case_id: Some(case.id),
                        subject: format!("reserve:{}", case.id),
                        payload: serde_json::json!({}),
                    },
                    &ada,
                    T0 + 2,
                )
                .await,
            Err(StoreError::Conflict(_))
        ),
        "one open job per subject"
    );
    assert_eq!(store.due_jobs(T0 + 1, 10).await.unwrap(), vec![]);
    assert_eq!(store.due_jobs(T0 + 2, 10).await.unwrap().len(), 1);
    let claimed = store
        .claim_job(reserve.id, T0 + 1_000, T0 + 3)
        .await
        .unwrap()
        .expect("a queued job can be claimed");
    assert_eq!((claimed.state, claimed.attempts), (JobState::Running, 1));
    assert_eq!(
        store
            .claim_job(reserve.id, T0 + 1_000, T0 + 4)
            .await
            .unwrap(),
        None,
        "a held lease cannot be taken"
    );
    // Retry: back in the queue, not due before its time.
    let retried = store
        .finish_job(
            reserve.id,
            1,
            JobOutcome::Retry {
                error: "timed out".into(),
                at_ms: T0 + 500,
            },
            &Actor::system("worker"),
            T0 + 5,
        )
        .await
        .unwrap();
    assert_eq!(
        (retried.state, retried.last_error.as_str()),
        (JobState::Queued, "timed out")
    );
    assert!(store.due_jobs(T0 + 499, 10).await.unwrap().is_empty());
    let again = store
        .claim_job(reserve.id, T0 + 600, T0 + 500)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.attempts, 2);
    // The worker died: after its lease another may take over; the old
    // attempt can no longer finish the job.
    assert_eq!(store.due_jobs(T0 + 601, 10).await.unwrap().len(), 1);
    let third = store
        .claim_job(reserve.id, T0 + 2_000, T0 + 601)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.attempts, 3);
    assert!(matches!(
        store
            .finish_job(
                reserve.id,
                2,
                JobOutcome::Failed { error: "x".into() },
                &ada,
                T0 + 602
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let ids = vec![
        service_id("CVE-2026-30001", CveIdState::Reserved, T0 + 3),
        service_id("CVE-2026-30002", CveIdState::Reserved, T0 + 3),
    ];
    let done = store
        .finish_job(
            reserve.id,
            3,
            JobOutcome::Done {
                result: serde_json::json!({ "reserved": 2 }),
                effect: JobEffect::Reserved(ids.clone()),
            },
            &Actor::system("worker"),
            T0 + 603,
        )
        .await
        .unwrap();
    assert_eq!(done.state, JobState::Done);
    assert_eq!(done.result, Some(serde_json::json!({ "reserved": 2 })));
    let of_case = store
        .cve_ids(CveIdFilter {
            case: Some(case.id),
            state: None,
        })
        .await
        .unwrap();
    assert_eq!(of_case.len(), 2);
    assert!(of_case.iter().all(|e| e.state == CveIdState::Reserved));
    let cve1: cnadesk_core::CveId = "CVE-2026-30001".parse().unwrap();
    assert_eq!(
        store.case(case.id).await.unwrap().unwrap().cve_id,
        Some(cve1.clone())
    );

    // A sync from the service adds unknown IDs unlinked and updates states.
    store
        .upsert_cve_ids(
            &[
                service_id("CVE-2026-30002", CveIdState::Rejected, T0 + 3),
                service_id("CVE-2026-30099", CveIdState::Reserved, T0 + 7),
            ],
            None,
            &Actor::system("sync"),
            T0 + 700,
        )
        .await
        .unwrap();
    let stray: cnadesk_core::CveId = "CVE-2026-30099".parse().unwrap();
    let entry = store.cve_id_entry(&stray).await.unwrap().unwrap();
    assert_eq!(entry.case_id, None);
    assert_eq!(
        store
            .cve_ids(CveIdFilter {
                case: None,
                state: Some(CveIdState::Rejected),
            })
            .await
            .unwrap()
            .len(),
        1
    );
    let linked = store
        .link_cve_id(&stray, case.id, &ada, T0 + 701)
        .await
        .unwrap();
    assert_eq!(linked.case_id, Some(case.id));
    let other_report = store
        .create_report(new_report("other", "pub-2"), T0)
        .await
        .unwrap();
    let other = store
        .accept_report(other_report.id, "other", &ada, T0 + 1)
        .await
        .unwrap();
    assert!(matches!(
        store.link_cve_id(&stray, other.id, &ada, T0 + 702).await,
        Err(StoreError::Conflict(_))
    ));
    let disclosed = store
        .set_cve_id_disclosed(&cve1, Some(T0 + 800), &ada, T0 + 800)
        .await
        .unwrap();
    assert_eq!(disclosed.disclosed_at_ms, Some(T0 + 800));

    // The two-person rule.
    let mut draft = record_draft("CVE-2026-30001", r#"{"title":"one"}"#, 0, ada_id);
    draft.lint_errors = 0;
    let v1 = store
        .save_record_version(case.id, draft.clone(), &ada, T0 + 900)
        .await
        .unwrap();
    let request = PublicationRequest {
        case_id: case.id,
        version: 1,
    };
    assert!(
        matches!(
            store
                .request_publication(request.clone(), &ada, T0 + 901)
                .await,
            Err(StoreError::Rejected(_))
        ),
        "no publication without approval"
    );
    assert!(
        matches!(
            store
                .approve_record_version(case.id, 1, ada_id, &ada, T0 + 902)
                .await,
            Err(StoreError::Rejected(_))
        ),
        "the author cannot approve"
    );
    let approval = store
        .approve_record_version(case.id, 1, bob_id, &bob, T0 + 903)
        .await
        .unwrap();
    assert_eq!(approval.sha256, v1.sha256);
    assert!(matches!(
        store
            .approve_record_version(case.id, 1, bob_id, &bob, T0 + 904)
            .await,
        Err(StoreError::Conflict(_))
    ));
    // A new edit invalidates the approval.
    let v2 = store
        .save_record_version(
            case.id,
            NewRecordVersion {
                document: r#"{"title":"two"}"#.into(),
                based_on: 1,
                ..draft.clone()
            },
            &ada,
            T0 + 905,
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .request_publication(request.clone(), &bob, T0 + 906)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        matches!(
            store
                .request_publication(
                    PublicationRequest {
                        case_id: case.id,
                        version: 2
                    },
                    &bob,
                    T0 + 906
                )
                .await,
            Err(StoreError::Rejected(_))
        ),
        "the approval of version 1 does not carry over to version 2"
    );
    assert!(
        matches!(
            store
                .approve_record_version(case.id, 1, bob_id, &bob, T0 + 907)
                .await,
            Err(StoreError::Rejected(_))
        ),
        "an older version cannot be approved"
    );
    store
        .approve_record_version(case.id, 2, bob_id, &bob, T0 + 908)
        .await
        .unwrap();
    let publish = store
        .request_publication(
            PublicationRequest {
                case_id: case.id,
                version: 2,
            },
            &ada,
            T0 + 909,
        )
        .await
        .unwrap();
    assert_eq!(publish.kind, JobKind::CvePublish);
    assert_eq!(publish.payload["sha256"], v2.sha256.as_str());
    assert!(
        matches!(
            store
                .request_publication(
                    PublicationRequest {
                        case_id: case.id,
                        version: 2
                    },
                    &ada,
                    T0 + 910
                )
                .await,
            Err(StoreError::Conflict(_))
        ),
        "one publication of an ID in flight at a time"
    );
    let running = store
        .claim_job(publish.id, T0 + 5_000, T0 + 911)
        .await
        .unwrap()
        .unwrap();
    store
        .finish_job(
            publish.id,
            running.attempts,
            JobOutcome::Done {
                result: serde_json::json!({}),
                effect: JobEffect::Published {
                    cve_id: cve1.clone(),
                    version: 2,
                    document: r#"{"title":"two"}"#.into(),
                },
            },
            &Actor::system("worker"),
            T0 + 912,
        )
        .await
        .unwrap();
    let published = store.cve_id_entry(&cve1).await.unwrap().unwrap();
    assert_eq!(published.state, CveIdState::Published);
    assert_eq!(
        (published.published_at_ms, published.published_version),
        (Some(T0 + 912), Some(2))
    );
    // The published version cannot be sent again…
    assert!(matches!(
        store
            .request_publication(
                PublicationRequest {
                    case_id: case.id,
                    version: 2,
                },
                &ada,
                T0 + 913,
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    // …a new, approved version goes out as an update.
    store
        .save_record_version(
            case.id,
            NewRecordVersion {
                document: r#"{"title":"three"}"#.into(),
                based_on: 2,
                ..draft.clone()
            },
            &ada,
            T0 + 914,
        )
        .await
        .unwrap();
    store
        .approve_record_version(case.id, 3, bob_id, &bob, T0 + 915)
        .await
        .unwrap();
    let update = store
        .request_publication(
            PublicationRequest {
                case_id: case.id,
                version: 3,
            },
            &ada,
            T0 + 916,
        )
        .await
        .unwrap();
    assert_eq!(update.kind, JobKind::CveUpdate);
    assert_eq!(
        store
            .jobs(JobFilter {
                case: Some(case.id),
                open_only: true,
                limit: 0
            })
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(store.record_approvals(case.id).await.unwrap().len(), 3);

    let events = store.audit_events_for_report(report.id).await.unwrap();
    for action in [
        "cve.reserved",
        "cve.ids_recorded",
        "cve.id_linked",
        "cve.disclosed_set",
        "record.approved",
        "record.publication_requested",
        "cve.published",
    ] {
        assert!(
            events.iter().any(|e| e.action == action),
            "no {action} event"
        );
    }
    assert!(verify_chain(store).await.is_ok());
}

/// Product annotations and scope decisions: saved, replaced, audited; a
/// decision that is not in scope blocks acceptance until a new one is made.
pub async fn scope_story(store: &dyn Store) {
    use crate::NewScopeDecision;
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
        .filter(|e| e.action.starts_with("ecosystem."))
        .collect();
    assert_eq!(
        annotated
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        vec![
            "ecosystem.product_annotated",
            "ecosystem.product_annotated",
            "ecosystem.product_added"
        ]
    );
    assert_eq!(annotated[1].payload["before"], first);
    assert_eq!(annotated[1].payload["after"], second);

    // Scope decisions.
    let report = store
        .create_report(new_report("scope", "scope-1"), T0)
        .await
        .unwrap();
    let decision = |decision: &str, overridden: bool, reason: &str| NewScopeDecision {
        report: report.id,
        decision: decision.into(),
        rule: Some("vendor-is-cna".into()),
        policy_version: "2026.1".into(),
        product_key: Some("mozilla-thunderbird".into()),
        referral_cna: (decision == "refer").then(|| "mozilla".into()),
        overridden,
        reason: reason.into(),
        input: serde_json::json!({ "product": "Thunderbird", "description": "" }),
        proposal: serde_json::json!({ "decision": "refer", "rule": "vendor-is-cna" }),
    };
    for (bad, why) in [
        (decision("maybe", false, ""), "not a scope decision"),
        (decision("in_scope", true, " "), "needs a reason"),
        (
            NewScopeDecision {
                referral_cna: None,
                ..decision("refer", false, "")
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
            .record_scope_decision(decision("refer", false, ""), &Actor::system("cli"), T0 + 5)
            .await,
        Err(StoreError::Rejected(_))
    ));
    let refer = store
        .record_scope_decision(decision("refer", false, ""), &ada, T0 + 6)
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
        "in_scope",
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
        history
            .iter()
            .map(|d| d.decision.as_str())
            .collect::<Vec<_>>(),
        vec!["in_scope", "refer"],
        "newest first"
    );
    assert!(history[0].overridden);
    store
        .accept_report(report.id, "t", &ada, T0 + 9)
        .await
        .unwrap();
    assert!(matches!(
        store
            .record_scope_decision(decision("refer", false, ""), &ada, T0 + 10)
            .await,
        Err(StoreError::Rejected(_))
    ));
    let latest = store.latest_scope_decisions().await.unwrap();
    let mine: Vec<_> = latest.iter().filter(|d| d.report == report.id).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].decision, "in_scope");
    let events = store.audit_events_for_report(report.id).await.unwrap();
    let decided: Vec<_> = events
        .iter()
        .filter(|e| e.action == "scope.decided")
        .collect();
    assert_eq!(decided.len(), 2);
    assert_eq!(decided[1].payload["overridden"], true);
    assert_eq!(decided[1].payload["proposed"], "refer");
    assert_eq!(decided[1].payload["policy_version"], "2026.1");
}

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
        .filter(|e| e.action == "scope.policy_adopted")
        .map(|e| e.payload["version"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(adopted, vec!["2026.1", "2027.1"]);
}

/// The team: profiles, absences, affiliations, recusals (which unassign and
/// bar approval), the rota with handover, and the audit of each.
pub async fn team_story(store: &dyn Store) {
    use crate::{Absence, Affiliation, Profile, Recusal};
    use cnadesk_core::team::{AbsenceKind, RecusalSource, Relation};
    use cnadesk_core::CaseId;
    let (ada_id, ada) = member(store, "team-ada", Role::Admin).await;
    let (bo_id, bo) = member(store, "team-bo", Role::Member).await;

    // Profiles: saved, replaced, checked.
    let mut p = Profile::empty(bo_id);
    p.time_zone = "America/New_York".into();
    p.capacity = 3;
    p.skills = vec!["server".into(), "protocol".into()];
    store.save_profile(p.clone(), &bo, T0 + 1).await.unwrap();
    p.capacity = 4;
    store.save_profile(p.clone(), &bo, T0 + 2).await.unwrap();
    let profiles = store.profiles().await.unwrap();
    assert_eq!(profiles.iter().filter(|x| x.user == bo_id).count(), 1);
    assert_eq!(profiles.iter().find(|x| x.user == bo_id), Some(&p));
    let mut bad = p.clone();
    bad.time_zone = "Nowhere/Special".into();
    assert!(matches!(
        store.save_profile(bad, &bo, T0 + 3).await,
        Err(StoreError::Rejected(_))
    ));

    // Absences: added, refused when backwards, removed only by their owner.
    let away = store
        .add_absence(
            Absence {
                id: 0,
                user: bo_id,
                kind: AbsenceKind::OutOfOffice,
                starts_on: "2026-12-01".parse().unwrap(),
                ends_on: "2026-12-05".parse().unwrap(),
                note: " conference ".into(),
            },
            &bo,
            T0 + 4,
        )
        .await
        .unwrap();
    assert_eq!(away.note, "conference");
    let backwards = Absence {
        starts_on: "2026-12-09".parse().unwrap(),
        ..away.clone()
    };
    assert!(matches!(
        store.add_absence(backwards, &bo, T0 + 5).await,
        Err(StoreError::Rejected(_))
    ));
    assert!(store.absences().await.unwrap().contains(&away));
    assert!(matches!(
        store.remove_absence(away.id, ada_id, &ada, T0 + 6).await,
        Err(StoreError::NotFound(_))
    ));

    // Affiliations: one per product and member.
    let aff = store
        .declare_affiliation(
            Affiliation {
                id: 0,
                user: ada_id,
                product_key: "prosody-im".into(),
                product_name: "Prosody IM".into(),
                relation: Relation::WorksOn,
            },
            &ada,
            T0 + 7,
        )
        .await
        .unwrap();
    assert!(matches!(
        store.declare_affiliation(aff.clone(), &ada, T0 + 8).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store
            .affiliations()
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.user == ada_id)
            .collect::<Vec<_>>(),
        vec![aff.clone()]
    );

    // Recusal: the recused assignee is unassigned, cannot be assigned or approve.
    let r = store
        .create_report(new_report("team story", "team-1"), T0 + 9)
        .await
        .unwrap();
    let case = store
        .accept_report(r.id, "team", &bo, T0 + 10)
        .await
        .unwrap();
    store
        .assign_case(case.id, Some(ada_id), "by hand", &bo, T0 + 11)
        .await
        .unwrap();
    let recusal = Recusal {
        case: case.id,
        user: ada_id,
        reason: "works on Prosody IM".into(),
        source: RecusalSource::Affiliation,
        created_at_ms: 0,
    };
    assert!(store.recuse(recusal.clone(), &bo, T0 + 12).await.unwrap());
    assert!(!store.recuse(recusal, &bo, T0 + 13).await.unwrap(), "once");
    let after = store.case(case.id).await.unwrap().unwrap();
    assert_eq!(after.assignee, None);
    assert!(after
        .assignment_reason
        .as_deref()
        .unwrap_or_default()
        .contains("recused"));
    let again = store
        .assign_case(case.id, Some(ada_id), "please", &bo, T0 + 14)
        .await;
    assert!(
        matches!(&again, Err(StoreError::Rejected(m)) if m.contains("recused")),
        "{again:?}"
    );
    let recusals = store.recusals(Some(case.id)).await.unwrap();
    assert_eq!(recusals.len(), 1);
    assert_eq!(recusals[0].created_at_ms, T0 + 12);
    assert!(store
        .recusals(Some(CaseId(9_999)))
        .await
        .unwrap()
        .is_empty());
    let cve = "CVE-2026-10777";
    let v1 = store
        .save_record_version(
            case.id,
            NewRecordVersion {
                lint_errors: 0,
                ..record_draft(cve, r#"{"title":"team"}"#, 0, bo_id)
            },
            &bo,
            T0 + 15,
        )
        .await
        .unwrap();
    let refused = store
        .approve_record_version(case.id, v1.version, ada_id, &ada, T0 + 16)
        .await;
    assert!(
        matches!(&refused, Err(StoreError::Rejected(m)) if m.contains("recused")),
        "{refused:?}"
    );

    // An approval given before the approver was recused no longer counts.
    let (cy_id, cy) = member(store, "team-cy", Role::Member).await;
    store
        .approve_record_version(case.id, v1.version, cy_id, &cy, T0 + 16)
        .await
        .unwrap();
    store
        .recuse(
            Recusal {
                case: case.id,
                user: cy_id,
                reason: "joined the vendor".into(),
                source: RecusalSource::SelfDeclared,
                created_at_ms: 0,
            },
            &cy,
            T0 + 16,
        )
        .await
        .unwrap();
    let publish = store
        .request_publication(
            crate::PublicationRequest {
                case_id: case.id,
                version: v1.version,
            },
            &bo,
            T0 + 16,
        )
        .await;
    assert!(
        matches!(&publish, Err(StoreError::Rejected(m)) if m.contains("second member")),
        "{publish:?}"
    );

    // Rota: planned, re-planned from a later date, handed over.
    let day = 86_400_000;
    store
        .plan_rota(
            vec![
                (ada_id, T0, T0 + 7 * day),
                (bo_id, T0 + 7 * day, T0 + 14 * day),
            ],
            &ada,
            T0,
        )
        .await
        .unwrap();
    store
        .plan_rota(vec![(ada_id, T0 + 10 * day, T0 + 17 * day)], &ada, T0 + 18)
        .await
        .unwrap();
    let past = store
        .plan_rota(vec![(bo_id, T0 + day, T0 + 2 * day)], &ada, T0 + 2 * day)
        .await;
    assert!(
        matches!(&past, Err(StoreError::Rejected(m)) if m.contains("begun")),
        "{past:?}"
    );
    let overlap = store
        .plan_rota(
            vec![
                (bo_id, T0 + 20 * day, T0 + 22 * day),
                (ada_id, T0 + 21 * day, T0 + 23 * day),
            ],
            &ada,
            T0 + 19,
        )
        .await;
    assert!(
        matches!(&overlap, Err(StoreError::Rejected(m)) if m.contains("overlap")),
        "{overlap:?}"
    );
    let shifts = store.shifts(T0, T0 + 30 * day).await.unwrap();
    assert_eq!(
        shifts
            .iter()
            .map(|s| (s.user, s.starts_at_ms, s.ends_at_ms))
            .collect::<Vec<_>>(),
        vec![
            (ada_id, T0, T0 + 7 * day),
            (bo_id, T0 + 7 * day, T0 + 10 * day),
            (ada_id, T0 + 10 * day, T0 + 17 * day)
        ],
        "a shift running into the new plan is cut where it begins"
    );
    store
        .hand_over(
            shifts[0].id,
            "CVE-2026-10777 waits on Prosody",
            &ada,
            T0 + 19,
        )
        .await
        .unwrap();
    let handed = store.shift(shifts[0].id).await.unwrap().unwrap();
    assert_eq!(store.shift(-1).await.unwrap(), None);
    assert_eq!(
        handed.handover_note.as_deref(),
        Some("CVE-2026-10777 waits on Prosody")
    );
    assert!(matches!(
        store.plan_rota(vec![], &ada, T0 + 20).await,
        Err(StoreError::Rejected(_))
    ));

    // Turn-taking data and the audit trail.
    let last = store.last_assignments().await.unwrap();
    assert!(last.contains(&(ada_id, T0 + 11)), "{last:?}");
    let actions: Vec<String> = store
        .audit_events_by_actions(
            &[
                "team.profile_saved",
                "team.absence_added",
                "team.affiliation_declared",
                "case.recused",
                "rota.planned",
                "rota.handed_over",
            ],
            T0,
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "team.profile_saved",
            "team.profile_saved",
            "team.absence_added",
            "team.affiliation_declared",
            "case.recused",
            "case.recused",
            "rota.planned",
            "rota.planned",
            "rota.handed_over"
        ]
    );
    let for_report = store.audit_events_for_reports(&[r.id]).await.unwrap();
    assert_eq!(
        for_report.first().map(|e| e.action.as_str()),
        Some("report.created")
    );
    assert!(for_report.iter().all(|e| e.report_id == Some(r.id.0)));
    store
        .remove_absence(away.id, bo_id, &bo, T0 + 21)
        .await
        .unwrap();
    store
        .withdraw_affiliation(aff.id, ada_id, &ada, T0 + 22)
        .await
        .unwrap();
    assert!(!store.absences().await.unwrap().contains(&away));
}

/// The outbox, contact details, choices, inbound filing and the quarantine.
pub async fn notify_story(store: &dyn Store) {
    use crate::{
        DeliveryOutcome, InboundFiling, JobState, MemberContact, NewOutboxMessage, NewQuarantined,
        NotificationPref, OutboxChannel, OutboxFilter,
    };
    let (ada_id, ada) = member(store, "notify-ada", Role::Admin).await;
    let message = |key: &str| NewOutboxMessage {
        dedupe_key: key.to_owned(),
        channel: OutboxChannel::Email,
        recipient: "ada@example.org".into(),
        template: "member_event".into(),
        report_id: None,
        case_id: None,
        event_seq: Some(7),
        context: serde_json::json!({"n": 1}),
        sealed: Some(vec![1, 2, 3]),
    };

    // A report's acknowledgement is queued with the report, in its transaction.
    let mut report = new_report("notify story", "notify-hash");
    let mut ack = message("ack:notify-story");
    ack.template = "report_ack".into();
    report.outbox = vec![ack];
    let report = store.create_report(report, T0).await.unwrap();
    let queued = store
        .outbox(OutboxFilter {
            report: Some(report.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].template, "report_ack");
    assert_eq!(
        queued[0].report_id,
        Some(report.id),
        "linked to the new report"
    );
    assert_eq!(queued[0].sealed.as_deref(), Some(&[1u8, 2, 3][..]));

    // The fan-out: keys are unique for ever, and the cursor moves with the rows.
    assert_eq!(store.notify_cursor("story").await.unwrap(), 0);
    let n = store
        .enqueue_messages(vec![message("k1"), message("k2")], Some(("story", 7)), T0)
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(store.notify_cursor("story").await.unwrap(), 7);
    let again = store
        .enqueue_messages(vec![message("k1")], Some(("story", 5)), T0 + 1)
        .await
        .unwrap();
    assert_eq!(again, 0, "a key is never queued twice");
    assert_eq!(
        store.notify_cursor("story").await.unwrap(),
        7,
        "the cursor never goes back"
    );

    // Sending: claimed once, fenced on the attempt, retried, sent.
    let due = store.due_messages(T0, 10).await.unwrap();
    let k1 = due.iter().find(|m| m.dedupe_key == "k1").unwrap().clone();
    let claimed = store
        .claim_message(k1.id, T0 + 1000, T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.attempts, 1);
    assert!(store
        .claim_message(k1.id, T0 + 1000, T0)
        .await
        .unwrap()
        .is_none());
    store
        .finish_message(
            k1.id,
            1,
            DeliveryOutcome::Retry {
                error: "421 try later".into(),
                at_ms: T0 + 500,
            },
            T0 + 1,
        )
        .await
        .unwrap();
    assert!(!store
        .due_messages(T0 + 100, 10)
        .await
        .unwrap()
        .iter()
        .any(|m| m.id == k1.id));
    assert!(store
        .claim_message(k1.id, T0 + 2000, T0 + 100)
        .await
        .unwrap()
        .is_none());
    store
        .claim_message(k1.id, T0 + 2000, T0 + 500)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        store
            .finish_message(k1.id, 1, DeliveryOutcome::Sent, T0 + 501)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let sent = store
        .finish_message(k1.id, 2, DeliveryOutcome::Sent, T0 + 501)
        .await
        .unwrap();
    assert_eq!(sent.state, JobState::Done);
    assert_eq!(sent.sent_at_ms, Some(T0 + 501));
    assert_eq!(sent.last_error, "");

    // A lease that ended lets another sender take over.
    let k2 = due.iter().find(|m| m.dedupe_key == "k2").unwrap().clone();
    store
        .claim_message(k2.id, T0 + 10, T0)
        .await
        .unwrap()
        .unwrap();
    let taken = store
        .claim_message(k2.id, T0 + 100, T0 + 11)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.attempts, 2);
    let failed = store
        .finish_message(
            k2.id,
            2,
            DeliveryOutcome::Failed {
                error: "550 no such user".into(),
            },
            T0 + 12,
        )
        .await
        .unwrap();
    assert_eq!(failed.state, JobState::Failed);
    let listed = store
        .outbox(OutboxFilter {
            state: Some(JobState::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|m| m.id).collect::<Vec<_>>(), vec![k2.id]);
    assert!(matches!(
        store.retry_message(k1.id, &ada, T0 + 13).await,
        Err(StoreError::Rejected(_))
    ));
    store.retry_message(k2.id, &ada, T0 + 13).await.unwrap();
    assert!(store
        .due_messages(T0 + 13, 10)
        .await
        .unwrap()
        .iter()
        .any(|m| m.id == k2.id));

    // Contact details and choices.
    let contact = MemberContact {
        user: ada_id,
        jid: "ada@xmpp.example".into(),
        openpgp_key: "-----BEGIN PGP PUBLIC KEY BLOCK-----".into(),
    };
    store
        .save_member_contact(contact.clone(), &ada, T0)
        .await
        .unwrap();
    let mut changed = contact.clone();
    changed.jid = "ada@other.example".into();
    store
        .save_member_contact(changed.clone(), &ada, T0 + 1)
        .await
        .unwrap();
    let contacts = store.member_contacts().await.unwrap();
    assert_eq!(
        contacts
            .iter()
            .filter(|c| c.user == ada_id)
            .collect::<Vec<_>>(),
        vec![&changed]
    );
    let pref = |event: &str, email, xmpp| NotificationPref {
        user: ada_id,
        event: event.into(),
        email,
        xmpp,
    };
    store
        .save_notification_prefs(ada_id, vec![pref("assigned", true, false)], &ada, T0)
        .await
        .unwrap();
    store
        .save_notification_prefs(
            ada_id,
            vec![
                pref("assigned", false, true),
                pref("new_report", false, false),
            ],
            &ada,
            T0 + 1,
        )
        .await
        .unwrap();
    let prefs: Vec<_> = store
        .notification_prefs()
        .await
        .unwrap()
        .into_iter()
        .filter(|p| p.user == ada_id)
        .collect();
    assert_eq!(
        prefs,
        vec![
            pref("assigned", false, true),
            pref("new_report", false, false)
        ]
    );
    let mut foreign = pref("assigned", true, true);
    foreign.user = cnadesk_core::UserId(ada_id.0 + 1000);
    assert!(matches!(
        store
            .save_notification_prefs(ada_id, vec![foreign], &ada, T0 + 2)
            .await,
        Err(StoreError::Rejected(_))
    ));

    // Inbound mail: a new report, a reply, and a redelivery filed once.
    let mut by_mail = new_report("by mail", "mail-hash");
    by_mail.channel = Channel::Email;
    let (filed, new) = store
        .file_inbound_mail(
            "mid-1",
            InboundFiling::NewReport(Box::new(by_mail.clone())),
            T0,
        )
        .await
        .unwrap();
    assert!(new);
    assert_eq!(
        store.report(filed).await.unwrap().unwrap().channel,
        Channel::Email
    );
    let (again, new) = store
        .file_inbound_mail("mid-1", InboundFiling::NewReport(Box::new(by_mail)), T0 + 1)
        .await
        .unwrap();
    assert_eq!(
        (again, new),
        (filed, false),
        "a redelivery is not filed twice"
    );
    let reply = InboundFiling::Reply {
        report: filed,
        body: "more detail".into(),
        attachments: vec![NewAttachment {
            filename: "poc.py".into(),
            content_type: "text/x-python".into(),
            data: b"print(1)".to_vec(),
        }],
    };
    store
        .file_inbound_mail("mid-2", reply, T0 + 2)
        .await
        .unwrap();
    assert_eq!(store.inbound_mail("mid-2").await.unwrap(), Some(filed));
    assert_eq!(store.inbound_mail("mid-3").await.unwrap(), None);
    let messages = store.messages(filed, false).await.unwrap();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].author, Author::Reporter);
    assert_eq!(messages[0].body, "more detail");
    assert_eq!(store.attachments(filed).await.unwrap().len(), 2);
    let bad_reply = InboundFiling::Reply {
        report: ReportId(999_999),
        body: "lost?".into(),
        attachments: Vec::new(),
    };
    assert!(matches!(
        store.file_inbound_mail("mid-4", bad_reply, T0 + 3).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        store.inbound_mail("mid-4").await.unwrap(),
        None,
        "rolled back"
    );

    // The quarantine keeps the whole message until an admin releases it.
    let id = store
        .quarantine_mail(
            NewQuarantined {
                reason: "malformed".into(),
                mail_from: "x@example.org".into(),
                rcpt_to: "security@xsf.example".into(),
                raw: b"not a mail".to_vec(),
            },
            T0,
        )
        .await
        .unwrap();
    let listed = store.quarantined_mail(false).await.unwrap();
    assert!(listed
        .iter()
        .any(|q| q.id == id && q.size == 10 && q.raw.is_empty()));
    assert_eq!(
        store.quarantined(id).await.unwrap().unwrap().raw,
        b"not a mail"
    );
    store.release_quarantined(id, &ada, T0 + 1).await.unwrap();
    assert!(!store
        .quarantined_mail(false)
        .await
        .unwrap()
        .iter()
        .any(|q| q.id == id));
    assert!(store
        .quarantined_mail(true)
        .await
        .unwrap()
        .iter()
        .any(|q| q.id == id));
    assert!(matches!(
        store.release_quarantined(id, &ada, T0 + 2).await,
        Err(StoreError::NotFound(_))
    ));
    let events = verify_chain(store).await.expect("chain intact");
    assert_eq!(
        store.audit_head().await.unwrap(),
        events,
        "the head is the last event"
    );
}

/// Coordinated disclosure: vulnerabilities and their products (dates stamped
/// only on change), vendor invitations (single use, expiring), vendor
/// accounts and sessions, the embargo with consent, its lift and the
/// advisory, threads and files — every change audited without addresses,
/// statements or bodies.
pub async fn coordination_story(store: &dyn Store) {
    use crate::{
        Advisory, CountChoice, EmbargoOutcome, EmbargoProposal, NewCaseFile, NewInvitation,
        NewOutboxMessage, NewVendorAccount, NewVulnerability, OutboxChannel, OutboxFilter,
        ProductUpdate,
    };
    use cnadesk_core::coordination::{ProductStatus, XepRef};

    const INVITED: &str = "vendor.contact@example.org";
    const OTHER: &str = "other@vendor.example";
    const STATEMENT: &str = "STATEMENT-SECRET: we fixed it quietly";
    const BODY: &str = "BODY-SECRET-p1";
    // SHA-256 of BODY and of PATCH.
    const BODY_SHA: &str = "0f3306b19b30aa180e39a96f0b1878cf044fa2c3380082c7d87fc11602ee77cf";
    const PATCH: &[u8] = b"--- a/x\n+++ b/x\n\x00\xff";
    const PATCH_SHA: &str = "81e67fab0c5ab0719a4f7a7a3c56e3c291425c9edeceb8329bb9989f3e63ce46";

    let (_, ada) = member(store, "coord-ada", Role::Admin).await;
    let r1 = store
        .create_report(new_report("coordination one", "coord-1"), T0)
        .await
        .unwrap();
    let r2 = store
        .create_report(new_report("coordination two", "coord-2"), T0)
        .await
        .unwrap();
    let c1 = store
        .accept_report(r1.id, "carbons", &ada, T0 + 1)
        .await
        .unwrap();
    let c2 = store
        .accept_report(r2.id, "muc", &ada, T0 + 1)
        .await
        .unwrap();
    let head_before = store.audit_head().await.unwrap();

    // ---- vulnerabilities ---------------------------------------------------------
    let xeps = vec![
        XepRef {
            number: 280,
            version: Some("1.0.1".into()),
            section: Some("11".into()),
        },
        XepRef {
            number: 313,
            version: None,
            section: None,
        },
    ];
    let v1 = store
        .add_vulnerability(
            NewVulnerability {
                case_id: c1.id,
                title: "Carbons spoofing".into(),
                summary: "A remote entity can inject carbons.".into(),
                xeps: xeps.clone(),
                rfcs: vec!["RFC 6120 §8.1.2.1".into()],
            },
            &ada,
            T0 + 2,
        )
        .await
        .unwrap();
    assert_eq!(v1.case_id, c1.id);
    assert_eq!(v1.title, "Carbons spoofing");
    assert_eq!(v1.summary, "A remote entity can inject carbons.");
    assert_eq!(v1.xeps, xeps);
    assert_eq!(v1.rfcs, vec!["RFC 6120 §8.1.2.1".to_owned()]);
    assert_eq!(
        (v1.secure_way_exists, v1.cve_count, v1.count_reason.clone()),
        (None, None, None),
        "nothing is decided yet"
    );
    assert_eq!((v1.created_at_ms, v1.updated_at_ms), (T0 + 2, T0 + 2));
    let v2 = store
        .add_vulnerability(
            NewVulnerability {
                case_id: c1.id,
                title: "MAM leak".into(),
                summary: String::new(),
                xeps: Vec::new(),
                rfcs: Vec::new(),
            },
            &ada,
            T0 + 3,
        )
        .await
        .unwrap();
    let v_other = store
        .add_vulnerability(
            NewVulnerability {
                case_id: c2.id,
                title: "Other case".into(),
                summary: String::new(),
                xeps: Vec::new(),
                rfcs: Vec::new(),
            },
            &ada,
            T0 + 3,
        )
        .await
        .unwrap();
    assert_eq!(
        store.vulnerabilities(c1.id).await.unwrap(),
        vec![v1.clone(), v2.clone()],
        "a case's vulnerabilities, oldest first, as stored"
    );
    assert_eq!(
        store.vulnerabilities(c2.id).await.unwrap(),
        vec![v_other],
        "another case's are not mixed in"
    );
    assert!(matches!(
        store
            .add_vulnerability(
                NewVulnerability {
                    case_id: cnadesk_core::CaseId(999_999),
                    title: "nowhere".into(),
                    summary: String::new(),
                    xeps: Vec::new(),
                    rfcs: Vec::new(),
                },
                &ada,
                T0 + 3,
            )
            .await,
        Err(StoreError::NotFound(_))
    ));

    // The CVE count (CNA rule 4.2.14), only through the vulnerability's case.
    let choice = CountChoice {
        secure_way_exists: true,
        count: 2,
        reason: "two implementations got it wrong".into(),
    };
    assert!(matches!(
        store
            .choose_cve_count(c2.id, v1.id, choice.clone(), &ada, T0 + 4)
            .await,
        Err(StoreError::NotFound(_))
    ));
    store
        .choose_cve_count(c1.id, v1.id, choice, &ada, T0 + 4)
        .await
        .unwrap();
    let v1_now = store.vulnerabilities(c1.id).await.unwrap()[0].clone();
    assert_eq!(v1_now.secure_way_exists, Some(true));
    assert_eq!(v1_now.cve_count, Some(2));
    assert_eq!(
        v1_now.count_reason.as_deref(),
        Some("two implementations got it wrong")
    );
    assert_eq!(v1_now.updated_at_ms, T0 + 4);
    store
        .choose_cve_count(
            c1.id,
            v2.id,
            CountChoice {
                secure_way_exists: false,
                count: 1,
                reason: "the XEP itself".into(),
            },
            &ada,
            T0 + 4,
        )
        .await
        .unwrap();
    assert_eq!(
        store.vulnerabilities(c1.id).await.unwrap()[1].secure_way_exists,
        Some(false),
        "false is not None"
    );

    // ---- products ------------------------------------------------------------------
    let added = store
        .add_affected_products(
            c1.id,
            v1.id,
            vec![
                ("prosody".into(), "Prosody IM".into()),
                ("ejabberd".into(), "ejabberd".into()),
                ("prosody".into(), "Prosody again".into()),
            ],
            &ada,
            T0 + 5,
        )
        .await
        .unwrap();
    assert_eq!(added, 2, "a product is listed once per vulnerability");
    let added = store
        .add_affected_products(
            c1.id,
            v1.id,
            vec![
                ("prosody".into(), "Prosody IM".into()),
                ("tigase".into(), "Tigase".into()),
            ],
            &ada,
            T0 + 6,
        )
        .await
        .unwrap();
    assert_eq!(added, 1, "products already listed are skipped");
    let head = store.audit_head().await.unwrap();
    assert_eq!(
        store
            .add_affected_products(
                c1.id,
                v1.id,
                vec![("tigase".into(), "Tigase".into())],
                &ada,
                T0 + 6
            )
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store.audit_head().await.unwrap(),
        head,
        "nothing new, nothing audited"
    );
    assert_eq!(
        store
            .add_affected_products(
                c1.id,
                v2.id,
                vec![("prosody".into(), "Prosody IM".into())],
                &ada,
                T0 + 6
            )
            .await
            .unwrap(),
        1,
        "the same product in another vulnerability is another row"
    );
    assert!(matches!(
        store
            .add_affected_products(c2.id, v1.id, vec![("x".into(), "X".into())], &ada, T0 + 6)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let rows = store.affected_products(c1.id).await.unwrap();
    assert_eq!(rows.len(), 4);
    assert!(store.affected_products(c2.id).await.unwrap().is_empty());
    let prosody = rows
        .iter()
        .find(|r| r.product_key == "prosody" && r.vulnerability_id == v1.id)
        .unwrap()
        .clone();
    assert_eq!(prosody.product_name, "Prosody IM", "the first name stays");
    assert_eq!(prosody.case_id, c1.id);
    assert_eq!(prosody.status, ProductStatus::Unknown, "silence is unknown");
    assert!(!prosody.shared && !prosody.fix_released);
    assert_eq!(
        (
            prosody.status_at_ms,
            prosody.versions_at_ms,
            prosody.statement_at_ms,
            prosody.updated_by.clone()
        ),
        (None, None, None, None)
    );
    assert!(prosody.affected_versions.is_empty() && prosody.statement.is_empty());

    // Updates stamp only what changed.
    let mut update = ProductUpdate {
        status: ProductStatus::Affected,
        affected_versions: "< 0.12.4".into(),
        fixed_versions: String::new(),
        statement: STATEMENT.into(),
        fix_released: false,
    };
    let u = store
        .update_affected_product(c1.id, prosody.id, update.clone(), &ada, T0 + 10)
        .await
        .unwrap();
    assert_eq!(u.status, ProductStatus::Affected);
    assert_eq!(u.affected_versions, "< 0.12.4");
    assert_eq!(u.statement, STATEMENT);
    assert_eq!(
        (u.status_at_ms, u.versions_at_ms, u.statement_at_ms),
        (Some(T0 + 10), Some(T0 + 10), Some(T0 + 10))
    );
    assert_eq!(u.updated_by.as_deref(), Some(ada.to_key().as_str()));
    let head = store.audit_head().await.unwrap();
    let same = store
        .update_affected_product(c1.id, prosody.id, update.clone(), &ada, T0 + 15)
        .await
        .unwrap();
    assert_eq!(same, u, "nothing changed: no date moves");
    assert_eq!(
        store.audit_head().await.unwrap(),
        head,
        "and nothing is audited"
    );
    update.status = ProductStatus::Fixed;
    let u = store
        .update_affected_product(c1.id, prosody.id, update.clone(), &ada, T0 + 20)
        .await
        .unwrap();
    assert_eq!(
        (u.status_at_ms, u.versions_at_ms, u.statement_at_ms),
        (Some(T0 + 20), Some(T0 + 10), Some(T0 + 10)),
        "only the status moved"
    );
    update.fix_released = true;
    let u = store
        .update_affected_product(c1.id, prosody.id, update.clone(), &ada, T0 + 30)
        .await
        .unwrap();
    assert!(u.fix_released);
    assert_eq!(
        (u.status_at_ms, u.versions_at_ms, u.statement_at_ms),
        (Some(T0 + 20), Some(T0 + 30), Some(T0 + 10)),
        "a released fix counts as a version change"
    );
    update.fixed_versions = "0.12.4".into();
    update.statement = format!("{STATEMENT} (updated)");
    let u = store
        .update_affected_product(c1.id, prosody.id, update.clone(), &ada, T0 + 40)
        .await
        .unwrap();
    assert_eq!(u.fixed_versions, "0.12.4");
    assert_eq!(
        (u.status_at_ms, u.versions_at_ms, u.statement_at_ms),
        (Some(T0 + 20), Some(T0 + 40), Some(T0 + 40))
    );
    assert!(matches!(
        store
            .update_affected_product(
                c2.id,
                prosody.id,
                ProductUpdate {
                    status: ProductStatus::NotAffected,
                    ..update.clone()
                },
                &ada,
                T0 + 41
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    let stored = store
        .affected_products(c1.id)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == prosody.id)
        .unwrap();
    assert_eq!(stored, u, "another case's call changed nothing");

    // Sharing a row with the other vendors.
    store
        .share_affected_product(c1.id, prosody.id, true, &ada, T0 + 42)
        .await
        .unwrap();
    assert!(matches!(
        store
            .share_affected_product(c2.id, prosody.id, false, &ada, T0 + 43)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let shared: Vec<_> = store
        .affected_products(c1.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.shared)
        .map(|r| r.id)
        .collect();
    assert_eq!(shared, vec![prosody.id]);

    // ---- invitations -----------------------------------------------------------------
    let outbox_message = |key: &str, recipient: &str| NewOutboxMessage {
        dedupe_key: key.to_owned(),
        channel: OutboxChannel::Email,
        recipient: recipient.to_owned(),
        template: "vendor_invitation".into(),
        report_id: None,
        case_id: None,
        event_seq: None,
        context: serde_json::json!({"case": c1.id.0}),
        sealed: Some(vec![9, 9]),
    };
    let p1 = store
        .invite_vendor(
            NewInvitation {
                case_id: c1.id,
                email: " Vendor.Contact@Example.ORG ".into(),
                contact_name: "Val".into(),
                products: vec!["prosody".into()],
                token_hash: "inv-1".into(),
                expires_at_ms: T0 + 1000,
                outbox: Some(outbox_message("coord:invite:1", INVITED)),
            },
            &ada,
            T0 + 50,
        )
        .await
        .unwrap();
    assert_eq!(p1.email, INVITED, "addresses are stored lower-cased");
    assert_eq!(p1.case_id, c1.id);
    assert_eq!(p1.contact_name, "Val");
    assert_eq!(p1.products, vec!["prosody".to_owned()]);
    assert_eq!(p1.invited_at_ms, T0 + 50);
    assert_eq!(p1.invited_by, ada.to_key());
    assert_eq!(p1.invitation_expires_at_ms, T0 + 1000);
    assert_eq!(
        (p1.vendor, p1.accepted_at_ms, p1.acknowledged_at_ms),
        (None, None, None)
    );
    assert_eq!((p1.reminders_sent, p1.last_reminded_at_ms), (0, None));
    let queued = store
        .outbox(OutboxFilter::default())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.dedupe_key == "coord:invite:1")
        .expect("the invitation is queued with the participant");
    assert_eq!(queued.case_id, Some(c1.id));
    assert_eq!(queued.template, "vendor_invitation");
    assert_eq!(queued.sealed.as_deref(), Some(&[9u8, 9][..]));

    let p2 = store
        .invite_vendor(
            NewInvitation {
                case_id: c1.id,
                email: OTHER.into(),
                contact_name: "Ola".into(),
                products: vec!["ejabberd".into()],
                token_hash: "inv-2".into(),
                expires_at_ms: T0 + 1000,
                outbox: None,
            },
            &ada,
            T0 + 51,
        )
        .await
        .unwrap();
    // Inviting the same address again adds products and replaces the link.
    let again = store
        .invite_vendor(
            NewInvitation {
                case_id: c1.id,
                email: "VENDOR.contact@example.org".into(),
                contact_name: "Val V.".into(),
                products: vec!["tigase".into(), "prosody".into()],
                token_hash: "inv-1b".into(),
                expires_at_ms: T0 + 2000,
                outbox: Some(outbox_message("coord:invite:2", INVITED)),
            },
            &ada,
            T0 + 52,
        )
        .await
        .unwrap();
    assert_eq!(again.id, p1.id, "one participant per address and case");
    assert_eq!(
        again.products,
        vec!["prosody".to_owned(), "tigase".to_owned()]
    );
    assert_eq!(again.invitation_expires_at_ms, T0 + 2000);
    assert_eq!(again.invited_at_ms, T0 + 50, "first invited then");
    assert_eq!(
        store
            .participants(c1.id)
            .await
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        vec![p1.id, p2.id]
    );
    assert!(store.participants(c2.id).await.unwrap().is_empty());
    assert!(matches!(
        store
            .invite_vendor(
                NewInvitation {
                    case_id: cnadesk_core::CaseId(999_999),
                    email: OTHER.into(),
                    contact_name: String::new(),
                    products: Vec::new(),
                    token_hash: "inv-x".into(),
                    expires_at_ms: T0 + 1000,
                    outbox: Some(outbox_message("coord:invite:lost", OTHER)),
                },
                &ada,
                T0 + 53,
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        !store
            .outbox(OutboxFilter::default())
            .await
            .unwrap()
            .iter()
            .any(|m| m.dedupe_key == "coord:invite:lost"),
        "a failed invitation queues nothing"
    );

    // Links: the replaced one is dead, the new one works until it expires.
    assert_eq!(store.invitation("inv-1", T0 + 60).await.unwrap(), None);
    assert_eq!(
        store.invitation("inv-1b", T0 + 60).await.unwrap(),
        Some(again.clone())
    );
    assert_eq!(store.invitation("inv-1b", T0 + 2000).await.unwrap(), None);
    assert_eq!(store.invitation("nope", T0 + 60).await.unwrap(), None);

    // ---- vendor accounts and sessions ----------------------------------------------
    let account = store
        .create_vendor_account(
            NewVendorAccount {
                email: "Vendor.Contact@example.org".into(),
                display_name: "Val".into(),
                password_hash: "$argon2id$fake$val".into(),
                time_zone: "Europe/Berlin".into(),
            },
            T0 + 70,
        )
        .await
        .unwrap();
    assert_eq!(account.email, INVITED);
    assert_eq!(account.display_name, "Val");
    assert_eq!(account.time_zone, "Europe/Berlin");
    assert_eq!(account.created_at_ms, T0 + 70);
    assert!(matches!(
        store
            .create_vendor_account(
                NewVendorAccount {
                    email: "vendor.contact@EXAMPLE.org".into(),
                    display_name: "Eve".into(),
                    password_hash: "x".into(),
                    time_zone: "UTC".into(),
                },
                T0 + 71,
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        store.vendor_account(account.id).await.unwrap(),
        Some(account.clone())
    );
    assert_eq!(
        store
            .vendor_credentials("VENDOR.CONTACT@example.org")
            .await
            .unwrap(),
        Some((account.clone(), "$argon2id$fake$val".to_owned()))
    );
    assert_eq!(store.vendor_credentials(OTHER).await.unwrap(), None);
    store
        .create_vendor_session("vs-1", account.id, T0 + 100, T0 + 70)
        .await
        .unwrap();
    assert_eq!(
        store.vendor_session("vs-1", T0 + 99).await.unwrap(),
        Some(account.clone())
    );
    assert_eq!(
        store.vendor_session("vs-1", T0 + 100).await.unwrap(),
        None,
        "sessions expire"
    );
    store.delete_vendor_session("vs-1").await.unwrap();
    assert_eq!(store.vendor_session("vs-1", T0 + 80).await.unwrap(), None);
    let val = Actor::Vendor { id: account.id };

    // Accepting: once, before expiry.
    assert!(matches!(
        store.accept_invitation("inv-1", account.id, T0 + 80).await,
        Err(StoreError::SetupTokenInvalid)
    ));
    assert!(matches!(
        store
            .accept_invitation("inv-1b", account.id, T0 + 2000)
            .await,
        Err(StoreError::SetupTokenInvalid)
    ));
    let accepted = store
        .accept_invitation("inv-1b", account.id, T0 + 80)
        .await
        .unwrap();
    assert_eq!(accepted.id, p1.id);
    assert_eq!(accepted.vendor, Some(account.id));
    assert_eq!(accepted.accepted_at_ms, Some(T0 + 80));
    assert!(matches!(
        store.accept_invitation("inv-1b", account.id, T0 + 81).await,
        Err(StoreError::SetupTokenInvalid)
    ));
    assert_eq!(
        store.invitation("inv-1b", T0 + 81).await.unwrap(),
        None,
        "a used link is dead"
    );
    assert_eq!(
        store.participations(account.id).await.unwrap(),
        vec![accepted.clone()]
    );

    // Reminders: counted; a new link replaces the old one; a used link is
    // never revived.
    store
        .remind_vendor(
            p2.id,
            Some(("inv-2b".into(), T0 + 5000)),
            Some(outbox_message("coord:remind:1", OTHER)),
            T0 + 1100,
        )
        .await
        .unwrap();
    let p2_now = store
        .participants(c1.id)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.id == p2.id)
        .unwrap();
    assert_eq!(
        (p2_now.reminders_sent, p2_now.last_reminded_at_ms),
        (1, Some(T0 + 1100))
    );
    assert_eq!(p2_now.invitation_expires_at_ms, T0 + 5000);
    assert_eq!(store.invitation("inv-2", T0 + 900).await.unwrap(), None);
    assert!(store
        .invitation("inv-2b", T0 + 1100)
        .await
        .unwrap()
        .is_some());
    assert!(store
        .outbox(OutboxFilter::default())
        .await
        .unwrap()
        .iter()
        .any(|m| m.dedupe_key == "coord:remind:1" && m.case_id == Some(c1.id)));
    assert!(matches!(
        store
            .remind_vendor(
                p1.id,
                Some(("inv-1c".into(), T0 + 5000)),
                Some(outbox_message("coord:remind:refused", INVITED)),
                T0 + 1101
            )
            .await,
        Err(StoreError::Rejected(_))
    ));
    assert!(!store
        .outbox(OutboxFilter::default())
        .await
        .unwrap()
        .iter()
        .any(|m| m.dedupe_key == "coord:remind:refused"));
    store
        .remind_vendor(p1.id, None, None, T0 + 1102)
        .await
        .unwrap();
    let p1_now = store.participations(account.id).await.unwrap()[0].clone();
    assert_eq!(
        p1_now.reminders_sent, 1,
        "the refused reminder was not counted"
    );
    assert!(matches!(
        store.remind_vendor(999_999, None, None, T0 + 1103).await,
        Err(StoreError::NotFound(_))
    ));
    let other_account = store
        .create_vendor_account(
            NewVendorAccount {
                email: OTHER.into(),
                display_name: "Ola".into(),
                password_hash: "$argon2id$fake$ola".into(),
                time_zone: "UTC".into(),
            },
            T0 + 1150,
        )
        .await
        .unwrap();
    store
        .accept_invitation("inv-2b", other_account.id, T0 + 1200)
        .await
        .unwrap();
    let ola = Actor::Vendor {
        id: other_account.id,
    };

    // Acknowledging the embargo terms, once.
    assert!(store
        .acknowledge_embargo(p1.id, &val, T0 + 1300)
        .await
        .unwrap());
    assert!(!store
        .acknowledge_embargo(p1.id, &val, T0 + 1301)
        .await
        .unwrap());
    assert_eq!(
        store.participations(account.id).await.unwrap()[0].acknowledged_at_ms,
        Some(T0 + 1300),
        "the first acknowledgement's date stays"
    );
    assert!(matches!(
        store.acknowledge_embargo(999_999, &val, T0 + 1302).await,
        Err(StoreError::NotFound(_))
    ));

    // ---- the embargo ---------------------------------------------------------------
    assert_eq!(store.embargo(c1.id).await.unwrap(), None);
    assert_eq!(
        store
            .set_embargo(c1.id, T0 + 10_000, "90 days", true, &ada, T0 + 1400)
            .await
            .unwrap(),
        EmbargoOutcome::Applied,
        "the first date never waits for consent"
    );
    let e = store.embargo(c1.id).await.unwrap().unwrap();
    assert_eq!((e.ends_at_ms, e.reason.as_str()), (T0 + 10_000, "90 days"));
    assert_eq!((e.set_at_ms, e.set_by.clone()), (T0 + 1400, ada.to_key()));
    assert_eq!(e.pending, None);
    assert_eq!(
        (e.lifted_at_ms, e.broken_at_ms, e.publication_queued_at_ms),
        (None, None, None)
    );
    assert!(matches!(
        store.consent_embargo(p1.id, &val, T0 + 1450).await,
        Err(StoreError::Rejected(_))
    ));
    assert_eq!(
        store
            .set_embargo(
                c1.id,
                T0 + 20_000,
                "vendor needs time",
                false,
                &ada,
                T0 + 1500
            )
            .await
            .unwrap(),
        EmbargoOutcome::Applied
    );
    assert_eq!(
        store.embargo(c1.id).await.unwrap().unwrap().ends_at_ms,
        T0 + 20_000
    );

    // A change that needs consent: proposed, consents cleared by a newer
    // proposal, applied once every vendor who acknowledged has consented.
    assert!(store
        .acknowledge_embargo(p2.id, &ola, T0 + 1550)
        .await
        .unwrap());
    assert_eq!(
        store
            .set_embargo(c1.id, T0 + 30_000, "more time", true, &ada, T0 + 1600)
            .await
            .unwrap(),
        EmbargoOutcome::Proposed
    );
    let e = store.embargo(c1.id).await.unwrap().unwrap();
    assert_eq!(e.ends_at_ms, T0 + 20_000, "not applied yet");
    assert_eq!(
        e.pending,
        Some(EmbargoProposal {
            ends_at_ms: T0 + 30_000,
            reason: "more time".into(),
            proposed_by: ada.to_key(),
            proposed_at_ms: T0 + 1600,
        })
    );
    assert_eq!(
        store.consent_embargo(p1.id, &val, T0 + 1610).await.unwrap(),
        EmbargoOutcome::Proposed,
        "Ola has not consented"
    );
    let consented = |ps: Vec<crate::Participant>| {
        ps.into_iter()
            .map(|p| (p.id, p.consented_at_ms))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        consented(store.participants(c1.id).await.unwrap()),
        vec![(p1.id, Some(T0 + 1610)), (p2.id, None)]
    );
    assert_eq!(
        store
            .set_embargo(c1.id, T0 + 40_000, "even more time", true, &ada, T0 + 1700)
            .await
            .unwrap(),
        EmbargoOutcome::Proposed
    );
    assert_eq!(
        consented(store.participants(c1.id).await.unwrap()),
        vec![(p1.id, None), (p2.id, None)],
        "a new proposal needs new consent"
    );
    assert_eq!(
        store.consent_embargo(p2.id, &ola, T0 + 1710).await.unwrap(),
        EmbargoOutcome::Proposed
    );
    assert_eq!(
        store.consent_embargo(p1.id, &val, T0 + 1720).await.unwrap(),
        EmbargoOutcome::Applied
    );
    let e = store.embargo(c1.id).await.unwrap().unwrap();
    assert_eq!(e.ends_at_ms, T0 + 40_000);
    assert_eq!(e.reason, "even more time");
    assert_eq!(e.pending, None);
    assert_eq!(
        consented(store.participants(c1.id).await.unwrap()),
        vec![(p1.id, None), (p2.id, None)],
        "consents belong to the applied proposal"
    );
    assert!(matches!(
        store.consent_embargo(p1.id, &val, T0 + 1730).await,
        Err(StoreError::Rejected(_))
    ));

    // A disclosure before the end, then the lift at the end (not before, once).
    store
        .break_embargo(
            c1.id,
            T0 + 35_000,
            "posted to a mailing list",
            &ada,
            T0 + 36_000,
        )
        .await
        .unwrap();
    let e = store.embargo(c1.id).await.unwrap().unwrap();
    assert_eq!(e.broken_at_ms, Some(T0 + 35_000));
    assert_eq!(e.broken_note.as_deref(), Some("posted to a mailing list"));
    assert!(matches!(
        store
            .break_embargo(c2.id, T0 + 35_000, "no embargo", &ada, T0 + 36_000)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let due = |list: Vec<crate::Embargo>| list.iter().any(|e| e.case_id == c1.id);
    // Broken: the details are public, so the embargo is due at once,
    // before its end (timing of an unbroken one: the web tests).
    assert!(due(store.due_embargo_lifts(T0 + 36_000).await.unwrap()));
    assert_eq!(store.advisory(c1.id).await.unwrap(), None);
    assert!(store.lift_embargo(c1.id, &ada, T0 + 40_000).await.unwrap());
    assert!(
        !store.lift_embargo(c1.id, &ada, T0 + 40_001).await.unwrap(),
        "lifted once"
    );
    assert!(!store.lift_embargo(c2.id, &ada, T0 + 40_001).await.unwrap());
    assert_eq!(
        store.advisory(c1.id).await.unwrap(),
        Some(Advisory {
            case_id: c1.id,
            published_at_ms: T0 + 40_000
        })
    );
    let e = store.embargo(c1.id).await.unwrap().unwrap();
    assert_eq!(e.lifted_at_ms, Some(T0 + 40_000));
    assert!(!due(store.due_embargo_lifts(T0 + 50_000).await.unwrap()));
    assert!(matches!(
        store
            .set_embargo(c1.id, T0 + 60_000, "too late", false, &ada, T0 + 40_002)
            .await,
        Err(StoreError::Rejected(_))
    ));
    assert!(matches!(
        store
            .break_embargo(c1.id, T0 + 40_003, "after", &ada, T0 + 40_003)
            .await,
        Err(StoreError::Rejected(_))
    ));

    // The publication step runs once after the lift.
    let awaiting = |list: Vec<crate::Embargo>| list.iter().any(|e| e.case_id == c1.id);
    assert!(awaiting(store.lifted_awaiting_publication().await.unwrap()));
    store
        .mark_publication_queued(c1.id, T0 + 40_010)
        .await
        .unwrap();
    assert!(!awaiting(
        store.lifted_awaiting_publication().await.unwrap()
    ));
    assert_eq!(
        store
            .embargo(c1.id)
            .await
            .unwrap()
            .unwrap()
            .publication_queued_at_ms,
        Some(T0 + 40_010)
    );
    assert!(matches!(
        store.mark_publication_queued(c2.id, T0 + 40_011).await,
        Err(StoreError::NotFound(_))
    ));

    // Advisories, newest first.
    store
        .set_embargo(c2.id, T0 + 45_000, "short", false, &ada, T0 + 100)
        .await
        .unwrap();
    assert!(store.lift_embargo(c2.id, &ada, T0 + 45_000).await.unwrap());
    let published: Vec<_> = store
        .advisories()
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.case_id == c1.id || a.case_id == c2.id)
        .map(|a| a.case_id)
        .collect();
    assert_eq!(published, vec![c2.id, c1.id]);

    // ---- threads and files -----------------------------------------------------------
    let shared_msg = store
        .add_case_message(c1.id, None, "Ada (XSF)", "hello all", &ada, T0 + 200)
        .await
        .unwrap();
    let p1_msg = store
        .add_case_message(c1.id, Some(p1.id), "Val", BODY, &val, T0 + 201)
        .await
        .unwrap();
    let p2_msg = store
        .add_case_message(c1.id, Some(p2.id), "Ola", "for Ola only", &ola, T0 + 202)
        .await
        .unwrap();
    assert_eq!(p1_msg.case_id, c1.id);
    assert_eq!(p1_msg.participant_id, Some(p1.id));
    assert_eq!(
        (p1_msg.author.as_str(), p1_msg.body.as_str()),
        ("Val", BODY)
    );
    assert_eq!(p1_msg.actor, val.to_key());
    assert_eq!(p1_msg.created_at_ms, T0 + 201);
    assert!(matches!(
        store
            .add_case_message(c2.id, Some(p1.id), "Val", "wrong case", &val, T0 + 203)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .add_case_message(c1.id, None, "Ada", "  ", &ada, T0 + 203)
            .await,
        Err(StoreError::Rejected(_))
    ));
    let ids = |ms: Vec<crate::CaseMessage>| ms.into_iter().map(|m| m.id).collect::<Vec<_>>();
    assert_eq!(
        store.case_messages(c1.id, None).await.unwrap(),
        vec![shared_msg.clone(), p1_msg.clone(), p2_msg.clone()]
    );
    assert_eq!(
        ids(store.case_messages(c1.id, Some(&[p1.id])).await.unwrap()),
        vec![shared_msg.id, p1_msg.id],
        "a vendor sees the shared thread and their own, not another vendor's"
    );
    assert_eq!(
        ids(store.case_messages(c1.id, Some(&[])).await.unwrap()),
        vec![shared_msg.id]
    );
    assert_eq!(
        ids(store
            .case_messages(c1.id, Some(&[p1.id, p2.id]))
            .await
            .unwrap()),
        vec![shared_msg.id, p1_msg.id, p2_msg.id]
    );
    assert!(store.case_messages(c2.id, None).await.unwrap().is_empty());

    let file = store
        .add_case_file(
            NewCaseFile {
                case_id: c1.id,
                participant_id: Some(p1.id),
                filename: "fix.patch".into(),
                content_type: "text/x-diff".into(),
                bytes: PATCH.to_vec(),
            },
            &val,
            T0 + 210,
        )
        .await
        .unwrap();
    assert_eq!(file.case_id, c1.id);
    assert_eq!(file.participant_id, Some(p1.id));
    assert_eq!(
        (file.filename.as_str(), file.content_type.as_str()),
        ("fix.patch", "text/x-diff")
    );
    assert_eq!(file.size, PATCH.len() as i64);
    assert_eq!(file.sha256, PATCH_SHA);
    assert_eq!(file.uploaded_by, val.to_key());
    assert_eq!(file.created_at_ms, T0 + 210);
    let team_file = store
        .add_case_file(
            NewCaseFile {
                case_id: c1.id,
                participant_id: None,
                filename: "advisory.txt".into(),
                content_type: "text/plain".into(),
                bytes: Vec::new(),
            },
            &ada,
            T0 + 211,
        )
        .await
        .unwrap();
    assert_eq!(
        store.case_files(c1.id).await.unwrap(),
        vec![file.clone(), team_file.clone()]
    );
    assert_eq!(
        store.case_file(c1.id, file.id).await.unwrap(),
        Some((file.clone(), PATCH.to_vec())),
        "the content comes back byte for byte"
    );
    assert_eq!(
        store.case_file(c1.id, team_file.id).await.unwrap(),
        Some((team_file.clone(), Vec::new()))
    );
    assert_eq!(
        store.case_file(c2.id, file.id).await.unwrap(),
        None,
        "only the case's own files"
    );
    assert!(store.case_files(c2.id).await.unwrap().is_empty());
    assert!(matches!(
        store
            .add_case_file(
                NewCaseFile {
                    case_id: c2.id,
                    participant_id: Some(p1.id),
                    filename: "x".into(),
                    content_type: "text/plain".into(),
                    bytes: b"x".to_vec(),
                },
                &val,
                T0 + 212,
            )
            .await,
        Err(StoreError::NotFound(_))
    ));

    // ---- the audit -------------------------------------------------------------------
    let events = store.audit_events(head_before, 10_000).await.unwrap();
    let of = |action: &str| {
        events
            .iter()
            .filter(|e| e.action == action)
            .collect::<Vec<_>>()
    };
    for (action, n) in [
        ("vulnerability.added", 3),
        ("vulnerability.count_chosen", 2),
        ("vulnerability.products_added", 3),
        ("vulnerability.product_updated", 4),
        ("vulnerability.product_shared", 1),
        ("vendor.invited", 2),
        ("vendor.reinvited", 1),
        ("vendor.accepted", 2),
        ("vendor.acknowledged", 2),
        ("vendor.reminded", 2),
        ("embargo.set", 2),
        ("embargo.changed", 2),
        ("embargo.proposed", 2),
        ("embargo.consented", 3),
        ("embargo.broken", 1),
        ("embargo.lifted", 2),
        ("advisory.published", 2),
        ("coordination.message", 3),
        ("coordination.file_added", 2),
    ] {
        assert_eq!(of(action).len(), n, "{action}");
    }
    for e in &events {
        let case = e.case_id.expect("coordination events name the case");
        let report = if case == c1.id.0 { r1.id.0 } else { r2.id.0 };
        assert!(case == c1.id.0 || case == c2.id.0, "{}", e.action);
        assert_eq!(
            e.report_id,
            Some(report),
            "{} names the case's report",
            e.action
        );
        let text = e.payload.to_string().to_lowercase();
        for secret in [
            INVITED,
            OTHER,
            "statement-secret",
            "body-secret",
            "inv-1b",
            "inv-2b",
            "argon2",
        ] {
            assert!(
                !text.contains(secret),
                "{} carries {secret}: {text}",
                e.action
            );
        }
    }
    let updates = of("vulnerability.product_updated");
    let changed: Vec<_> = updates
        .iter()
        .map(|e| e.payload["changed"].clone())
        .collect();
    assert_eq!(
        changed,
        vec![
            serde_json::json!(["status", "affected_versions", "statement"]),
            serde_json::json!(["status"]),
            serde_json::json!(["fix_released"]),
            serde_json::json!(["fixed_versions", "statement"]),
        ]
    );
    assert_eq!(updates[0].payload["row"], prosody.id);
    assert_eq!(updates[0].payload["product"], "prosody");
    assert_eq!(updates[1].payload["status"], "fixed");
    let invited = of("vendor.invited");
    assert_eq!(invited[0].payload["participant"], p1.id);
    assert_eq!(
        invited[0].payload["products"],
        serde_json::json!(["prosody"])
    );
    assert_eq!(
        of("vendor.reinvited")[0].payload["products"],
        serde_json::json!(["prosody", "tigase"])
    );
    let accepted_events = of("vendor.accepted");
    assert_eq!(accepted_events[0].actor, format!("vendor:{}", account.id.0));
    assert_eq!(accepted_events[0].payload["participant"], p1.id);
    let reminded = of("vendor.reminded");
    assert_eq!(reminded[0].payload["participant"], p2.id);
    assert_eq!(reminded[0].payload["reminder"], 1);
    let set = of("embargo.set");
    assert_eq!(set[0].payload["previous_end"], serde_json::Value::Null);
    assert_eq!(set[0].payload["end"], T0 + 10_000);
    assert_eq!(set[0].payload["reason"], "90 days");
    let changed = of("embargo.changed");
    assert_eq!(changed[0].payload["previous_end"], T0 + 10_000);
    assert_eq!(changed[0].payload["end"], T0 + 20_000);
    assert_eq!(changed[1].payload["previous_end"], T0 + 20_000);
    assert_eq!(changed[1].payload["end"], T0 + 40_000);
    assert_eq!(of("embargo.proposed")[1].payload["end"], T0 + 40_000);
    assert_eq!(of("embargo.broken")[0].payload["disclosed_at"], T0 + 35_000);
    assert_eq!(of("embargo.lifted")[0].payload["end"], T0 + 40_000);
    let message = of("coordination.message");
    assert_eq!(message[0].payload["participant"], serde_json::Value::Null);
    assert_eq!(message[1].payload["participant"], p1.id);
    assert_eq!(message[1].payload["sha256"], BODY_SHA);
    let file_event = of("coordination.file_added");
    assert_eq!(file_event[0].payload["file"], file.id);
    assert_eq!(file_event[0].payload["participant"], p1.id);
    assert_eq!(file_event[0].payload["sha256"], PATCH_SHA);
    assert_eq!(file_event[0].payload["size"], PATCH.len());

    let events = verify_chain(store).await.expect("chain intact");
    assert_eq!(store.audit_head().await.unwrap(), events);
}

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

/// The transparency log: entries chain under the store, audit events are
/// taken once, the cursor moves with the append, sealed entries are listed
/// by subject and revealed without changing any hash.
pub async fn transparency_story(store: &dyn Store) {
    use crate::NewTransparencyEntry;
    use cnadesk_transparency::{verify, LogKey, GENESIS};
    use serde_json::json;

    let (_, ada) = member(store, "tlog-ada", Role::Admin).await;
    let r = store
        .create_report(new_report("transparency", "tlog-1"), T0)
        .await
        .unwrap();
    let case = store
        .accept_report(r.id, "tlog", &ada, T0 + 1)
        .await
        .unwrap();
    assert!(store.transparency_last().await.unwrap().is_none());
    assert!(store.transparency_entries(0, 10).await.unwrap().is_empty());
    let entry = |audit: i64, content: serde_json::Value, sealed: bool| NewTransparencyEntry {
        time_ms: T0 + audit,
        content,
        salt: format!("{audit:032x}"),
        case_id: sealed.then_some(case.id),
        report_id: sealed.then_some(r.id),
        audit_seq: Some(audit),
        sealed,
    };
    let n = store
        .append_transparency(
            vec![
                entry(1, json!({"type": "policy.adopted", "version": "1"}), false),
                entry(
                    2,
                    json!({"type": "case.opened", "case": "CASE-SECRET"}),
                    true,
                ),
            ],
            Some(("transparency", 2)),
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(store.notify_cursor("transparency").await.unwrap(), 2);
    // The same audit event is never appended twice; the cursor never goes back.
    let n = store
        .append_transparency(
            vec![
                entry(
                    2,
                    json!({"type": "case.opened", "case": "CASE-SECRET"}),
                    true,
                ),
                entry(3, json!({"type": "cve.reserved", "count": 2}), false),
            ],
            Some(("transparency", 1)),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(store.notify_cursor("transparency").await.unwrap(), 2);
    let rows = store.transparency_entries(0, 10).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.entry.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(rows[0].entry.prev, GENESIS);
    assert_eq!(rows[1].entry.prev, rows[0].entry.hash);
    assert_eq!(rows[2].entry.prev, rows[1].entry.hash);
    assert!(rows[1].sealed && !rows[0].sealed);
    assert_eq!(rows[1].case_id, Some(case.id));
    // Served: the sealed entry without its content; the log verifies.
    let served: String = rows.iter().map(|r| r.served().to_line() + "\n").collect();
    assert!(!served.contains("CASE-SECRET"));
    let key = LogKey::from_seed([5; 32]);
    let last = store.transparency_last().await.unwrap().unwrap();
    assert_eq!(last.entry.seq, 3);
    let head = key.sign_head(3, &last.entry.hash, "2026-01-01T00:00:00Z");
    let v = verify(&served, &head, None).unwrap();
    assert_eq!((v.entries, v.sealed), (3, 1));
    assert_eq!(
        store.transparency_entries(1, 1).await.unwrap()[0].entry.seq,
        2,
        "paging"
    );
    // Reveal by subject.
    assert_eq!(
        store.sealed_transparency_subjects().await.unwrap(),
        vec![(Some(case.id), Some(r.id))]
    );
    let n = store
        .reveal_transparency(Some(case.id), Some(r.id), "2026-02-01T00:00:00Z")
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert!(store
        .sealed_transparency_subjects()
        .await
        .unwrap()
        .is_empty());
    let rows = store.transparency_entries(0, 10).await.unwrap();
    assert!(!rows[1].sealed);
    assert_eq!(
        rows[1].entry.revealed.as_deref(),
        Some("2026-02-01T00:00:00Z")
    );
    let revealed: String = rows.iter().map(|r| r.served().to_line() + "\n").collect();
    assert!(revealed.contains("CASE-SECRET"));
    verify(&revealed, &head, None).unwrap();
    cnadesk_transparency::check_extends(&served, &revealed).unwrap();
    // A second reveal changes nothing.
    assert_eq!(
        store
            .reveal_transparency(Some(case.id), None, "2026-03-01T00:00:00Z")
            .await
            .unwrap(),
        0
    );
    // A salt that is not hex is refused and appends nothing.
    let mut bad = entry(4, json!({"type": "x"}), false);
    bad.salt = "not hex".into();
    assert!(matches!(
        store.append_transparency(vec![bad], None).await,
        Err(StoreError::Rejected(_))
    ));
    assert_eq!(
        store.transparency_last().await.unwrap().unwrap().entry.seq,
        3
    );
}

/// What [`content_story`] stored, for a backend's test to tamper with.
#[derive(Clone, Debug)]
pub struct ContentStory {
    /// A report.
    pub report: ReportId,
    /// The reporter's message on it.
    pub message: i64,
    /// A member's internal note on it.
    pub note: i64,
    /// The case opened from it.
    pub case: cnadesk_core::CaseId,
    /// Version 1 of the case's record.
    pub record_version: i64,
    /// A message of the case's shared coordination thread.
    pub case_message: i64,
}

/// Audit events commit to the content they describe: `report.created`,
/// `message.shared`, `note.added`, `record.version_saved` and
/// `coordination.message` carry the digest of exactly what was stored, and
/// the chain verifies. Works on an empty store or after the other stories.
pub async fn content_story(store: &dyn Store) -> ContentStory {
    use cnadesk_core::audit::{ContentClaim, ContentSubject, DigestScheme};

    let (ada_id, ada) = member(store, "digest-ada", Role::Admin).await;
    let report = store
        .create_report(new_report("digest one", "digest-1"), T0)
        .await
        .unwrap();
    let reporter = Actor::Reporter { report: report.id };
    let message = store
        .add_message(
            NewMessage {
                report_id: report.id,
                author: Author::Reporter,
                visibility: Visibility::Reporter,
                body: "It also works over BOSH.\nÜnïcode ✓".into(),
            },
            &reporter,
            T0 + 1,
        )
        .await
        .unwrap();
    let note = store
        .add_message(
            NewMessage {
                report_id: report.id,
                author: Author::Member {
                    id: ada_id,
                    name: "Ada".into(),
                },
                visibility: Visibility::Internal,
                body: "Reproduced on 0.12.3.".into(),
            },
            &ada,
            T0 + 2,
        )
        .await
        .unwrap();
    let case = store
        .accept_report(report.id, "digest one", &ada, T0 + 3)
        .await
        .unwrap();
    let version = store
        .save_record_version(
            case.id,
            record_draft("CVE-2026-20001", r#"{"title": "digest"}"#, 0, ada_id),
            &ada,
            T0 + 4,
        )
        .await
        .unwrap();
    let case_message = store
        .add_case_message(
            case.id,
            None,
            "Ada (XSF)",
            "Embargo until May.",
            &ada,
            T0 + 5,
        )
        .await
        .unwrap();

    // Each event holds the digest of the row as it is read back.
    let stored = store.report(report.id).await.unwrap().unwrap();
    let thread = store.messages(report.id, true).await.unwrap();
    let expected = [
        (ContentSubject::Report(report.id.0), stored.content_digest()),
        (
            ContentSubject::Message(message.id.0),
            thread[0].content_digest(),
        ),
        (
            ContentSubject::Message(note.id.0),
            thread[1].content_digest(),
        ),
        (
            ContentSubject::RecordVersion {
                case: case.id.0,
                version: version.version,
            },
            version.content_digest(),
        ),
        (
            ContentSubject::CaseMessage(case_message.id),
            case_message.content_digest(),
        ),
    ];
    let events = store.audit_events_for_report(report.id).await.unwrap();
    for (subject, digest) in expected {
        let claim = events
            .iter()
            .filter_map(ContentClaim::of)
            .find(|c| c.subject == subject)
            .unwrap_or_else(|| panic!("no event commits to {subject}"));
        assert_eq!(claim.scheme, DigestScheme::Canonical, "{subject}");
        assert_eq!(claim.sha256, digest, "{subject}");
    }
    verify_chain(store).await.expect("the chain verifies");
    ContentStory {
        report: report.id,
        message: message.id.0,
        note: note.id.0,
        case: case.id,
        record_version: version.version,
        case_message: case_message.id,
    }
}
