//! The team: profiles, absences, affiliations, recusals (which unassign and

use super::*;

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
    let actions: Vec<AuditAction> = store
        .audit_events_by_actions(
            &[
                AuditAction::TeamProfileSaved,
                AuditAction::TeamAbsenceAdded,
                AuditAction::TeamAffiliationDeclared,
                AuditAction::CaseRecused,
                AuditAction::RotaPlanned,
                AuditAction::RotaHandedOver,
            ],
            T0,
        )
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.kind())
        .collect();
    assert_eq!(
        actions,
        [
            AuditAction::TeamProfileSaved,
            AuditAction::TeamProfileSaved,
            AuditAction::TeamAbsenceAdded,
            AuditAction::TeamAffiliationDeclared,
            AuditAction::CaseRecused,
            AuditAction::CaseRecused,
            AuditAction::RotaPlanned,
            AuditAction::RotaPlanned,
            AuditAction::RotaHandedOver
        ]
    );
    let for_report = store.audit_events_for_reports(&[r.id]).await.unwrap();
    assert_eq!(
        for_report.first().and_then(AuditEvent::kind),
        Some(AuditAction::ReportCreated)
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
