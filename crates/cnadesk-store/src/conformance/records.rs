//! CVE IDs and record versions: numbered, immutable through the interface,

use super::*;

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
        .filter(|e| e.is(AuditAction::RecordVersionSaved))
        .collect();
    assert_eq!(saved.len(), 2, "each saved version is audited once");
    assert_eq!(saved[0].case_id, Some(c1.id.0));
    assert_eq!(saved[0].payload["sha256"], v1.sha256.as_str());
    assert_eq!(saved[0].payload["version"], 1);
    assert!(events
        .iter()
        .any(|e| e.is(AuditAction::CaseCveIdSet) && e.payload["cve_id"] == "CVE-2026-10001"));
    assert!(verify_chain(store).await.is_ok());
}
