//! The transparency log: entries chain under the store, audit events are

use super::*;

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
                    json!({"type": AuditAction::CaseOpened.as_str(), "case": "CASE-SECRET"}),
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
                    json!({"type": AuditAction::CaseOpened.as_str(), "case": "CASE-SECRET"}),
                    true,
                ),
                entry(
                    3,
                    json!({"type": AuditAction::CveReserved.as_str(), "count": 2}),
                    false,
                ),
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
