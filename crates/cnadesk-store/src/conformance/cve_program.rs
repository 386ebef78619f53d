//! CVE IDs, approvals (the two-person rule) and the job outbox: reserving,

use super::*;

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
        AuditAction::CveReserved,
        AuditAction::CveIdsRecorded,
        AuditAction::CveIdLinked,
        AuditAction::CveDisclosedSet,
        AuditAction::RecordApproved,
        AuditAction::RecordPublicationRequested,
        AuditAction::CvePublished,
    ] {
        assert!(events.iter().any(|e| e.is(action)), "no {action} event");
    }
    assert!(verify_chain(store).await.is_ok());
}
