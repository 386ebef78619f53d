//! Coordinated disclosure: vulnerabilities and their products (dates stamped

use super::*;

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
    let of = |action: AuditAction| events.iter().filter(|e| e.is(action)).collect::<Vec<_>>();
    for (action, n) in [
        (AuditAction::VulnerabilityAdded, 3),
        (AuditAction::VulnerabilityCountChosen, 2),
        (AuditAction::VulnerabilityProductsAdded, 3),
        (AuditAction::VulnerabilityProductUpdated, 4),
        (AuditAction::VulnerabilityProductShared, 1),
        (AuditAction::VendorInvited, 2),
        (AuditAction::VendorReinvited, 1),
        (AuditAction::VendorAccepted, 2),
        (AuditAction::VendorAcknowledged, 2),
        (AuditAction::VendorReminded, 2),
        (AuditAction::EmbargoSet, 2),
        (AuditAction::EmbargoChanged, 2),
        (AuditAction::EmbargoProposed, 2),
        (AuditAction::EmbargoConsented, 3),
        (AuditAction::EmbargoBroken, 1),
        (AuditAction::EmbargoLifted, 2),
        (AuditAction::AdvisoryPublished, 2),
        (AuditAction::CoordinationMessage, 3),
        (AuditAction::CoordinationFileAdded, 2),
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
    let updates = of(AuditAction::VulnerabilityProductUpdated);
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
    let invited = of(AuditAction::VendorInvited);
    assert_eq!(invited[0].payload["participant"], p1.id);
    assert_eq!(
        invited[0].payload["products"],
        serde_json::json!(["prosody"])
    );
    assert_eq!(
        of(AuditAction::VendorReinvited)[0].payload["products"],
        serde_json::json!(["prosody", "tigase"])
    );
    let accepted_events = of(AuditAction::VendorAccepted);
    assert_eq!(accepted_events[0].actor, format!("vendor:{}", account.id.0));
    assert_eq!(accepted_events[0].payload["participant"], p1.id);
    let reminded = of(AuditAction::VendorReminded);
    assert_eq!(reminded[0].payload["participant"], p2.id);
    assert_eq!(reminded[0].payload["reminder"], 1);
    let set = of(AuditAction::EmbargoSet);
    assert_eq!(set[0].payload["previous_end"], serde_json::Value::Null);
    assert_eq!(set[0].payload["end"], T0 + 10_000);
    assert_eq!(set[0].payload["reason"], "90 days");
    let changed = of(AuditAction::EmbargoChanged);
    assert_eq!(changed[0].payload["previous_end"], T0 + 10_000);
    assert_eq!(changed[0].payload["end"], T0 + 20_000);
    assert_eq!(changed[1].payload["previous_end"], T0 + 20_000);
    assert_eq!(changed[1].payload["end"], T0 + 40_000);
    assert_eq!(
        of(AuditAction::EmbargoProposed)[1].payload["end"],
        T0 + 40_000
    );
    assert_eq!(
        of(AuditAction::EmbargoBroken)[0].payload["disclosed_at"],
        T0 + 35_000
    );
    assert_eq!(
        of(AuditAction::EmbargoLifted)[0].payload["end"],
        T0 + 40_000
    );
    let message = of(AuditAction::CoordinationMessage);
    assert_eq!(message[0].payload["participant"], serde_json::Value::Null);
    assert_eq!(message[1].payload["participant"], p1.id);
    assert_eq!(message[1].payload["sha256"], BODY_SHA);
    let file_event = of(AuditAction::CoordinationFileAdded);
    assert_eq!(file_event[0].payload["file"], file.id);
    assert_eq!(file_event[0].payload["participant"], p1.id);
    assert_eq!(file_event[0].payload["sha256"], PATCH_SHA);
    assert_eq!(file_event[0].payload["size"], PATCH.len());

    let events = verify_chain(store).await.expect("chain intact");
    assert_eq!(store.audit_head().await.unwrap(), events);
}
