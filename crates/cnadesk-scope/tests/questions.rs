//! Every question of the shipped policy, answered for a real product from the
//! registry (or, for referrals, a real CNA from the CNA list).

use cnadesk_ecosystem::{Annotation, Registry, Snapshot};
use cnadesk_scope::{assess, dry_run, Assessment, Decision, PastDecision, Policy, ScopeInput};

const TODAY: &str = "2026-11-25";

fn registry() -> Registry {
    Registry::build(&Snapshot::bundled(), &[]).unwrap()
}

fn check(product: &str, description: &str) -> Assessment {
    assess(
        &Policy::default_xsf(),
        &registry(),
        &ScopeInput {
            product: product.into(),
            description: description.into(),
        },
        TODAY,
    )
}

#[test]
fn xsf_listed_implementations_are_in_scope() {
    let a = check("Prosody IM 0.12.4", "A crafted stanza crashes the server.");
    assert_eq!(a.decision, Decision::InScope);
    assert_eq!(a.rule.as_deref(), Some("xsf-listed"));
    assert_eq!(a.policy_version, "2026.1");
    assert_eq!(a.product.as_ref().unwrap().key, "prosody-im");
    assert_eq!(
        a.rationale,
        "Prosody IM is an XMPP server (listed on xmpp.org); it is in scope."
    );
    assert!(a.referral.is_none());
    // Different spellings reach the same product.
    assert_eq!(check("prosody", "").product.unwrap().key, "prosody-im");
    assert_eq!(check("Converse.js", "").product.unwrap().key, "converse-js");
}

#[test]
fn xmpp_specific_libraries_are_in_scope() {
    let a = check("https://codeberg.org/poezio/slixmpp/issues/3512", "");
    assert_eq!(a.decision, Decision::InScope);
    assert_eq!(a.rule.as_deref(), Some("xmpp-library"));
    assert_eq!(a.product.as_ref().unwrap().name, "slixmpp");
    assert!(
        a.rationale.starts_with("slixmpp is an XMPP library"),
        "{}",
        a.rationale
    );
}

#[test]
fn generic_libraries_are_referred_upstream() {
    let a = check("OpenSSL 3.0.7", "A TLS handshake flaw");
    assert_eq!(a.decision, Decision::Refer);
    assert_eq!(a.rule.as_deref(), Some("generic-library"));
    let r = a.referral.unwrap();
    assert_eq!(
        (r.short_name.as_str(), r.name.as_str()),
        ("openssl", "OpenSSL Software Foundation")
    );
    assert!(
        a.rationale
            .starts_with("OpenSSL is a TLS library, not XMPP software"),
        "{}",
        a.rationale
    );

    // An upstream without its own CNA: the CNA of last resort, and a note to
    // contact the maintainers first.
    let a = check("libexpat 2.5.0", "billion laughs");
    assert_eq!(a.decision, Decision::Refer);
    assert_eq!(a.referral.as_ref().unwrap().short_name, "mitre");
    assert!(
        a.rationale
            .contains("Expat is an XML parser, not XMPP software"),
        "{}",
        a.rationale
    );
    assert!(a.notes.iter().any(|n| n.contains("no CNA of its own")));
}

#[test]
fn a_flaw_in_the_xmpp_specific_use_of_a_generic_library_stays_in_scope() {
    let a = check(
        "Prosody",
        "Prosody feeds unchecked entity declarations to Expat, so a client can exhaust memory.",
    );
    assert_eq!(a.decision, Decision::InScope);
    assert_eq!(a.rule.as_deref(), Some("xsf-listed"));
    assert!(
        a.notes
            .iter()
            .any(|n| n.contains("mentions Expat (XML parser)")),
        "{:?}",
        a.notes
    );
}

#[test]
fn products_whose_vendor_is_a_cna_are_referred_to_it() {
    let a = check(
        "Mozilla Thunderbird 128",
        "The XMPP account in chat can be spoofed.",
    );
    assert_eq!(a.decision, Decision::Refer);
    assert_eq!(a.rule.as_deref(), Some("vendor-is-cna"));
    let r = a.referral.as_ref().unwrap();
    assert_eq!(
        (r.short_name.as_str(), r.name.as_str()),
        ("mozilla", "Mozilla Corporation")
    );
    assert!(r.in_cna_list);
    assert!(
        a.rationale
            .contains("Mozilla Thunderbird is covered by Mozilla Corporation (mozilla)"),
        "{}",
        a.rationale
    );

    // Not in the registry, but named after a vendor that is a CNA.
    let a = check("Cisco Jabber 14.1", "");
    assert_eq!(a.decision, Decision::Refer);
    assert_eq!(a.referral.as_ref().unwrap().short_name, "cisco");
    assert!(
        a.rationale.contains("confirm the vendor"),
        "{}",
        a.rationale
    );
}

#[test]
fn products_covered_by_a_more_specific_cna_are_referred() {
    let a = check(
        "Prosody",
        "The Debian packaging's maintainer script leaves /etc/prosody/certs world-readable: https://bugs.debian.org/1000000",
    );
    assert_eq!(a.decision, Decision::Refer);
    assert_eq!(a.rule.as_deref(), Some("more-specific-cna"));
    assert_eq!(a.referral.as_ref().unwrap().short_name, "debian");
    assert!(
        a.rationale.starts_with("The flaw is in Debian's packaging"),
        "{}",
        a.rationale
    );

    let a = check(
        "Dino",
        "Already reported: https://github.com/dino/dino/security/advisories/GHSA-abcd-efgh-ijkl",
    );
    assert_eq!(a.referral.as_ref().unwrap().short_name, "GitHub_M");

    // A CNA newer than the imported list is named, with a note to check it.
    let a = check("pkg:hex/xmpp@1.8.0", "");
    let r = a.referral.as_ref().unwrap();
    assert_eq!(
        (r.short_name.as_str(), r.name.as_str(), r.in_cna_list),
        ("EEF", "Erlang Ecosystem Foundation", false)
    );
    assert!(a.notes.iter().any(|n| n.contains("cve.org")));
}

#[test]
fn forks_are_in_scope_as_their_own_product() {
    let a = check("Cheogram Android", "");
    assert_eq!(a.decision, Decision::InScope);
    assert_eq!(a.rule.as_deref(), Some("fork"));
    assert_eq!(
        a.rationale,
        "Cheogram Android is a fork of Conversations and is treated as its own client; it is in scope. Check whether Conversations shares the vulnerable code (CNA rule 4.2.13)."
    );
    // A fork nobody can identify yet needs a person.
    let a = check(
        "some Conversations fork from a forum",
        "a fork of Conversations I found",
    );
    assert_eq!(a.decision, Decision::NeedsHuman);
    assert!(a.rationale.contains("identify the fork"), "{}", a.rationale);
}

#[test]
fn abandoned_projects_are_in_scope_and_tagged() {
    let a = check("as3xmppclient", "");
    assert_eq!(a.decision, Decision::InScope);
    assert_eq!(a.rule.as_deref(), Some("abandoned"));
    assert_eq!(a.tags, vec!["unsupported-when-assigned".to_owned()]);
    assert!(
        a.rationale
            .contains("moved to the XSF archive of unmaintained projects on 20"),
        "{}",
        a.rationale
    );
}

#[test]
fn an_end_of_life_date_set_by_a_member_counts_as_abandoned() {
    let reg = Registry::build(
        &Snapshot::bundled(),
        &[(
            "jackal".into(),
            Annotation {
                name: "jackal".into(),
                end_of_life: Some("2025-01-31".into()),
                ..Annotation::default()
            },
        )],
    )
    .unwrap();
    let input = ScopeInput {
        product: "jackal".into(),
        description: String::new(),
    };
    let a = assess(&Policy::default_xsf(), &reg, &input, TODAY);
    assert_eq!(a.rule.as_deref(), Some("abandoned"));
    assert!(a.rationale.contains("end of life since 2025-01-31"));
    // Before that date it was a maintained server.
    let a = assess(&Policy::default_xsf(), &reg, &input, "2025-01-30");
    assert_eq!(a.rule.as_deref(), Some("xsf-listed"));
}

#[test]
fn protocol_level_flaws_are_in_scope_and_counted_per_rule_4_2_14() {
    let a = check(
        "XEP-0280 Message Carbons",
        "Clients accept carbons from any sender.",
    );
    assert_eq!(a.decision, Decision::InScope);
    assert_eq!(a.rule.as_deref(), Some("protocol-level"));
    assert_eq!(a.xeps.len(), 1);
    assert_eq!(a.xeps[0].number, 280);
    assert!(a.xeps[0].declared_implementations >= 4);
    assert!(a
        .counting
        .as_ref()
        .unwrap()
        .contains("one CVE ID per vulnerable implementation"));
    assert!(
        a.rationale.contains("XEP-0280 (Message Carbons)"),
        "{}",
        a.rationale
    );

    // The same XEP in a report about one client: that client, with a note.
    let a = check("Dino", "Dino accepts XEP-0280 carbons from any sender.");
    assert_eq!(a.rule.as_deref(), Some("xsf-listed"));
    assert!(a.notes.iter().any(|n| n.contains("protocol-level case")));
}

#[test]
fn hosted_services_are_out_of_scope_unless_the_software_is_in_scope() {
    let a = check(
        "chat.example.net",
        "The public server lets anyone register admin accounts because of a misconfiguration.",
    );
    assert_eq!(a.decision, Decision::OutOfScope);
    assert_eq!(a.rule.as_deref(), Some("hosted-service"));
    assert!(a.rationale.contains("hosted service"));

    let a = check(
        "ejabberd",
        "Any public server running ejabberd 24.02 can be crashed.",
    );
    assert_eq!(a.decision, Decision::InScope);
    assert!(a.notes.iter().any(|n| n.contains("hosted service")));
}

#[test]
fn ambiguity_is_surfaced_not_hidden() {
    let a = check("Swift", "");
    assert_eq!(a.decision, Decision::NeedsHuman);
    assert_eq!(a.candidates.len(), 2);
    assert!(a.rule.is_none());
    assert!(a.rationale.contains("matches 2 products"));

    let a = check("Frobnicator 3000", "");
    assert_eq!(a.decision, Decision::NeedsHuman);
    assert!(a.rationale.contains("matches no product"));
}

#[test]
fn a_new_policy_version_can_be_dry_run_against_past_decisions() {
    let reg = registry();
    let old = Policy::default_xsf();
    let past: Vec<PastDecision> = ["Prosody", "as3xmppclient"]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let input = ScopeInput {
                product: (*p).into(),
                description: String::new(),
            };
            let a = assess(&old, &reg, &input, TODAY);
            PastDecision {
                subject: format!("REP-{}", i + 1),
                input,
                decision: a.decision,
                rule: a.rule,
                policy_version: a.policy_version,
            }
        })
        .collect();
    assert!(
        dry_run(&old, &reg, &past, TODAY).is_empty(),
        "the same policy changes nothing"
    );

    let stricter = cnadesk_scope::DEFAULT_POLICY
        .replace("version = \"2026.1\"", "version = \"2027.1\"")
        .replace(
            "when = \"archived\"\ndecision = \"in_scope\"",
            "when = \"archived\"\ndecision = \"out_of_scope\"",
        );
    let new = Policy::parse(&stricter).unwrap();
    let changes = dry_run(&new, &reg, &past, TODAY);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].past.subject, "REP-2");
    assert_eq!(changes[0].past.policy_version, "2026.1");
    assert_eq!(changes[0].proposal.decision, Decision::OutOfScope);
    assert_eq!(changes[0].proposal.policy_version, "2027.1");
}

#[test]
fn the_engine_does_not_guess_where_it_cannot_know() {
    // A product the registry does not know, beside one the description names
    // in passing: a person decides; the named one is only a candidate.
    let a = check(
        "Frobnicator",
        "Unlike Conversations, Frobnicator accepts any certificate.",
    );
    assert_eq!(a.decision, Decision::NeedsHuman);
    assert!(a.product.is_none());
    assert_eq!(a.candidates[0].name, "Conversations");
    assert!(
        a.rationale.contains("the description names Conversations"),
        "{}",
        a.rationale
    );

    // An unknown product with a XEP in the description is not a protocol flaw…
    let a = check(
        "Frobnicator",
        "Its XEP-0280 handling accepts forged carbons.",
    );
    assert_eq!(a.decision, Decision::NeedsHuman);
    // …but a XEP named as the product is, even when clients are named.
    let a = check("XEP-0280", "Conversations and Dino accept forged carbons.");
    assert_eq!(a.rule.as_deref(), Some("protocol-level"));

    // Hosted-service words are whole words and do not outrank a vendor CNA.
    let a = check(
        "Cisco Jabber 14",
        "In a typical deployment the server operator cannot see it.",
    );
    assert_eq!(a.rule.as_deref(), Some("vendor-is-cna"));
    let a = check("Dino", "See the deployments guide.");
    assert!(
        a.notes.iter().all(|n| !n.contains("hosted service")),
        "{:?}",
        a.notes
    );

    // Forge hosts and lone words are not vendors.
    for text in [
        "github.com/someone/xmppbot",
        "gitlab.com/someone/xmppbot",
        "Android FooChat",
        "Open Chat",
    ] {
        let a = check(text, "");
        assert_eq!(a.decision, Decision::NeedsHuman, "{text}: {a:?}");
        assert!(a.referral.is_none(), "{text}");
    }
    // A URL typed without a scheme still finds the product.
    assert_eq!(
        check("github.com/dino/dino", "").product.unwrap().name,
        "Dino"
    );
}
