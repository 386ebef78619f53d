use super::*;
use cnadesk_core::audit::AuditAction;

const T: &str = "2026-12-01T10:00:00Z";

fn key(byte: u8) -> LogKey {
    LogKey::from_seed([byte; 32])
}

/// A log of `n` entries; the even ones are sealed as served.
fn log(n: u64) -> (Vec<Entry>, Vec<Entry>) {
    let mut full: Vec<Entry> = Vec::new();
    for i in 1..=n {
        let content = json!({ "type": AuditAction::CvePublished.as_str(), "cve_id": format!("CVE-2026-{i:04}") });
        let salt = format!("{i:032x}");
        let e = next_entry(full.last(), T, content, &salt).expect("hex salt");
        full.push(e);
    }
    let served = full
        .iter()
        .map(|e| {
            if e.seq % 2 == 0 {
                e.sealed_copy()
            } else {
                e.clone()
            }
        })
        .collect();
    (full, served)
}

fn text(entries: &[Entry]) -> String {
    entries.iter().map(|e| e.to_line() + "\n").collect()
}

fn head_for(entries: &[Entry], k: &LogKey) -> Head {
    let last = entries.last().map_or(GENESIS, |e| e.hash.as_str());
    k.sign_head(entries.len() as u64, last, T)
}

#[test]
fn a_good_log_verifies_with_sealed_entries_counted() {
    let (_, served) = log(5);
    let k = key(7);
    let v = verify(
        &text(&served),
        &head_for(&served, &k),
        Some(&k.public_hex()),
    )
    .unwrap();
    assert_eq!(
        v,
        Verified {
            entries: 5,
            sealed: 2,
            unsigned: 0
        }
    );
    // An empty log verifies against an empty head.
    assert!(verify("", &k.sign_head(0, GENESIS, T), None).is_ok());
}

#[test]
fn entries_chain_and_commit() {
    let (full, _) = log(3);
    assert_eq!(full[0].prev, GENESIS);
    assert_eq!(full[1].prev, full[0].hash);
    assert_eq!(full[2].seq, 3);
    // The hash does not cover the content: sealing keeps it.
    assert_eq!(full[1].sealed_copy().hash, full[1].hash);
    // The same content under another salt commits differently.
    let c = full[0].content.clone().unwrap();
    assert_ne!(commitment("00", &c), commitment("01", &c));
    assert_eq!(commitment("zz", &c), None);
}

#[test]
fn tampered_content_is_detected_at_its_line() {
    let (_, mut served) = log(4);
    served[2].content =
        Some(json!({ "type": AuditAction::CvePublished.as_str(), "cve_id": "CVE-2026-9999" }));
    let k = key(1);
    let err = verify(&text(&served), &head_for(&served, &k), None).unwrap_err();
    assert!(
        matches!(&err, Inconsistency::Entry { line: 3, seq: Some(3), reason } if reason.contains("commitment")),
        "{err}"
    );
}

#[test]
fn tampered_time_or_commitment_breaks_the_hash() {
    let (_, served) = log(4);
    let k = key(1);
    let head = head_for(&served, &k);
    let mut t = served.clone();
    t[1].time = "2026-12-02T10:00:00Z".into();
    let err = verify(&text(&t), &head, None).unwrap_err();
    assert!(
        matches!(&err, Inconsistency::Entry { line: 2, reason, .. } if reason.contains("hash")),
        "{err}"
    );
    // Recomputing the hash of the changed entry breaks the next link.
    t[1].hash = entry_hash(t[1].seq, &t[1].time, &t[1].commitment, &t[1].prev);
    let err = verify(&text(&t), &head, None).unwrap_err();
    assert!(
        matches!(&err, Inconsistency::Entry { line: 3, reason, .. } if reason.contains("prev")),
        "{err}"
    );
    // Rewriting the whole chain after it no longer matches the signed head.
    for i in 2..t.len() {
        t[i].prev = t[i - 1].hash.clone();
        t[i].hash = entry_hash(t[i].seq, &t[i].time, &t[i].commitment, &t[i].prev);
    }
    let err = verify(&text(&t), &head, None).unwrap_err();
    assert!(
        matches!(&err, Inconsistency::Head(r) if r.contains("signs hash")),
        "{err}"
    );
}

#[test]
fn reordering_is_detected() {
    let (_, mut served) = log(4);
    served.swap(1, 2);
    let k = key(1);
    let err = verify(&text(&served), &head_for(&served, &k), None).unwrap_err();
    assert!(
        matches!(&err, Inconsistency::Entry { line: 2, seq: Some(3), reason } if reason.contains("reordered")),
        "{err}"
    );
}

#[test]
fn truncation_and_a_removed_entry_are_detected() {
    let (_, served) = log(5);
    let k = key(1);
    let head = head_for(&served, &k);
    let err = verify(&text(&served[..3]), &head, None).unwrap_err();
    assert!(
        matches!(&err, Inconsistency::Head(r) if r.contains("truncated")),
        "{err}"
    );
    let mut gap = served.clone();
    gap.remove(1);
    let err = verify(&text(&gap), &head, None).unwrap_err();
    assert!(
        matches!(&err, Inconsistency::Entry { line: 2, .. }),
        "{err}"
    );
}

#[test]
fn a_wrong_signature_or_key_is_detected() {
    let (_, served) = log(3);
    let k = key(1);
    let mut head = head_for(&served, &k);
    // Another key's signature under this key.
    head.signature = head_for(&served, &key(2)).signature;
    let err = verify(&text(&served), &head, None).unwrap_err();
    assert_eq!(
        err,
        Inconsistency::Head("the signature does not verify".into())
    );
    // A head signed by another key is fine on its own, but not when a
    // trusted key is pinned.
    let other = head_for(&served, &key(2));
    assert!(verify(&text(&served), &other, None).is_ok());
    let err = verify(&text(&served), &other, Some(&k.public_hex())).unwrap_err();
    assert!(
        matches!(&err, Inconsistency::Head(r) if r.contains("trusted key")),
        "{err}"
    );
    // A head whose size was changed after signing.
    let mut grown = head_for(&served, &k);
    grown.size = 2;
    assert!(verify(&text(&served), &grown, None).is_err());
    // Garbage in the signature is named, not a panic.
    let mut garbage = head_for(&served, &k);
    garbage.signature = "zz".into();
    assert!(matches!(
        verify(&text(&served), &garbage, None),
        Err(Inconsistency::Head(_))
    ));
}

#[test]
fn a_log_that_grew_after_the_head_verifies_with_unsigned_entries() {
    let (_, served) = log(5);
    let k = key(1);
    let head = head_for(&served[..3], &k);
    let v = verify(&text(&served), &head, None).unwrap();
    assert_eq!((v.entries, v.unsigned), (3, 2));
}

#[test]
fn a_line_that_is_not_an_entry_is_named() {
    let (_, served) = log(2);
    let k = key(1);
    let t = format!("{}{{\"seq\": 2, \"oops\": true}}\n", text(&served[..1]));
    let err = verify(&t, &head_for(&served, &k), None).unwrap_err();
    assert!(
        matches!(&err, Inconsistency::Entry { line: 2, seq: Some(2), reason } if reason.contains("not a log entry")),
        "{err}"
    );
}

#[test]
fn revealed_entries_verify_against_their_earlier_commitments() {
    let (full, served) = log(4);
    let before = text(&served);
    // Later: entry 2 is revealed.
    let mut later = served.clone();
    later[1] = Entry {
        revealed: Some("2026-12-05T00:00:00Z".into()),
        ..full[1].clone()
    };
    let after = text(&later);
    check_extends(&before, &after).unwrap();
    let k = key(3);
    verify(&after, &head_for(&later, &k), None).unwrap();
    // A "revelation" of different content is refused twice over: it does
    // not match the commitment in the newer log, nor the older one's.
    let mut forged = later.clone();
    let salt = forged[1].salt.clone().unwrap();
    forged[1].content =
        Some(json!({"type": AuditAction::CvePublished.as_str(), "cve_id": "CVE-2026-0000"}));
    assert!(verify(&text(&forged), &head_for(&forged, &k), None).is_err());
    assert!(check_extends(&before, &text(&forged)).is_err());
    // Re-committing the forged content changes the hash: no longer an
    // extension of the earlier copy.
    let c = forged[1].content.clone().unwrap();
    forged[1].commitment = commitment(&salt, &c).unwrap();
    forged[1].hash = entry_hash(2, T, &forged[1].commitment, &forged[1].prev);
    let err = check_extends(&before, &text(&forged)).unwrap_err();
    assert!(
        matches!(&err, Inconsistency::Entry { line: 2, reason, .. } if reason.contains("different")),
        "{err}"
    );
    // A newer copy that lost entries does not extend the older one.
    assert!(check_extends(&before, &text(&later[..2])).is_err());
}

#[test]
fn debug_does_not_show_the_secret_key() {
    let k = key(9);
    let shown = format!("{k:?}");
    assert!(shown.contains(&k.public_hex()));
    assert!(!shown.contains(&hex::encode([9u8; 32])));
}
