//! The outbox, contact details, choices, inbound filing and the quarantine.

use super::*;

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
