//! `cnadesk scope` and `cnadesk ecosystem`, run as a newcomer would.

mod support;

use std::path::Path;

use support::{cnadesk, stderr, stdout};

const SHIPPED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../cnadesk-ecosystem/data");

fn in_dir(dir: &Path, args: &[&str]) -> std::process::Output {
    cnadesk(args)
        .env("CNADESK_DATA_DIR", dir)
        .output()
        .expect("run cnadesk")
}

fn json(o: &std::process::Output) -> serde_json::Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

#[test]
fn scope_check_explains_in_one_screen_and_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let o = in_dir(dir.path(), &["scope", "check", "prosody"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.starts_with("Prosody IM: IN SCOPE\n"), "{text}");
    assert!(text.contains("xsf-listed: Are the XMPP implementations listed by the XSF in scope?"));
    assert!(text.contains("version 2026.1"));
    assert!(text.lines().count() < 25, "fits one screen: {text}");
    assert!(
        !dir.path().join("cnadesk.sqlite3").exists(),
        "a read-only command creates no database"
    );

    let v = json(&in_dir(
        dir.path(),
        &["scope", "check", "--format", "json", "Mozilla Thunderbird"],
    ));
    assert_eq!(v["decision"], "refer");
    assert_eq!(v["product"], "Mozilla Thunderbird");
    assert_eq!(v["rule"], "vendor-is-cna");
    assert_eq!(v["policy_version"], "2026.1");
    assert_eq!(v["referral"]["short_name"], "mozilla");
    assert_eq!(v["referral"]["name"], "Mozilla Corporation");
    assert!(v["rationale"].as_str().unwrap().contains("first refusal"));

    let v = json(&in_dir(
        dir.path(),
        &[
            "scope",
            "check",
            "--format",
            "json",
            "https://github.com/processone/ejabberd",
            "--description",
            "The public server of any provider running it can be crashed",
        ],
    ));
    assert_eq!(v["decision"], "in_scope");
    assert_eq!(v["product"], "ejabberd");

    let v = json(&in_dir(
        dir.path(),
        &["scope", "check", "--format", "json", "Frobnicator"],
    ));
    assert_eq!(v["decision"], "needs_human");
    assert!(v["rule"].is_null());
    assert!(v["referral"].is_null());
}

#[test]
fn ecosystem_xep_lists_the_implementations_from_doap() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(&in_dir(
        dir.path(),
        &["ecosystem", "xep", "XEP-0280", "--format", "json"],
    ));
    assert_eq!(v["xep"]["title"], "Message Carbons");
    let names: Vec<&str> = v["implementations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["product"].as_str().unwrap())
        .collect();
    for n in ["Dino", "ejabberd", "Openfire", "Prosody IM"] {
        assert!(names.contains(&n), "{n} missing: {names:?}");
    }
    let prosody = v["implementations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["product"] == "Prosody IM")
        .unwrap();
    assert_eq!(prosody["status"], "complete");
    assert!(v["unknown_support"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n == "Gajim"));

    let o = in_dir(dir.path(), &["ecosystem", "xep", "9999"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not on the XEP list"), "{}", stderr(&o));
}

/// A copy of the shipped data, with changes, as a sync source directory.
fn source_dir() -> tempfile::TempDir {
    let src = tempfile::tempdir().unwrap();
    let sw = Path::new(SHIPPED).join("xmpp-software");
    let mut listed: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(sw.join("software.json")).unwrap()).unwrap();
    let mut archived: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(sw.join("software_archive.json")).unwrap())
            .unwrap();
    // Adium moves to the archive; a new client appears.
    let at = listed.iter().position(|e| e["name"] == "Adium").unwrap();
    archived.push(listed.remove(at));
    listed.push(serde_json::json!({
        "name": "Newcomer Chat", "categories": ["client"], "platforms": ["Linux"],
        "url": "https://newcomer.example", "doap": null
    }));
    std::fs::write(
        src.path().join("software.json"),
        serde_json::to_string(&listed).unwrap(),
    )
    .unwrap();
    std::fs::write(
        src.path().join("software_archive.json"),
        serde_json::to_string(&archived).unwrap(),
    )
    .unwrap();
    // A broken CNA list: the last good one must be kept.
    std::fs::write(src.path().join("CNAsList.json"), "[{\"shortName\": 1}]").unwrap();
    // DOAP files: Dino's declares one XEP fewer; libstrophe's is broken.
    std::fs::create_dir(src.path().join("doap")).unwrap();
    let dino = std::fs::read_to_string(sw.join("vendor-doap/dino.doap")).unwrap();
    let fewer = dino.replacen(
        "https://xmpp.org/extensions/xep-0280.html",
        "https://example.org/gone",
        1,
    );
    std::fs::write(src.path().join("doap/dino.doap"), fewer).unwrap();
    std::fs::write(src.path().join("doap/libstrophe.doap"), "<rdf:RDF").unwrap();
    src
}

#[test]
fn ecosystem_sync_from_a_directory_summarises_changes_and_keeps_good_data() {
    let data = tempfile::tempdir().unwrap();
    let src = source_dir();
    let o = in_dir(
        data.path(),
        &["ecosystem", "sync", "--from", src.path().to_str().unwrap()],
    );
    let out = stdout(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "partial failure: {out}{}",
        stderr(&o)
    );
    assert!(out.contains("1 added: Newcomer Chat"), "{out}");
    assert!(out.contains("1 archived: Adium"), "{out}");
    assert!(out.contains("Dino: declared XEPs 77 → 76"), "{out}");
    assert!(
        out.contains("CNAsList.json") && out.contains("kept the last good data (shipped snapshot)"),
        "{out}"
    );
    assert!(
        out.contains("DOAP of libstrophe") && out.contains("kept the last good copy"),
        "{out}"
    );

    // The desk now answers from the synced data…
    let v = json(&in_dir(
        data.path(),
        &["scope", "check", "--format", "json", "Newcomer Chat"],
    ));
    assert_eq!(v["decision"], "in_scope");
    let v = json(&in_dir(
        data.path(),
        &["scope", "check", "--format", "json", "Adium"],
    ));
    assert_eq!(v["rule"], "abandoned");
    let v = json(&in_dir(
        data.path(),
        &["ecosystem", "xep", "280", "--format", "json"],
    ));
    assert!(!v["implementations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["product"] == "Dino"));
    // …and referrals still name CNAs from the last good list.
    let v = json(&in_dir(
        data.path(),
        &["scope", "check", "--format", "json", "OpenSSL"],
    ));
    assert_eq!(v["referral"]["short_name"], "openssl");

    // A second sync of the same data changes nothing.
    let o = in_dir(
        data.path(),
        &["ecosystem", "sync", "--from", src.path().to_str().unwrap()],
    );
    assert!(stdout(&o).contains("no changes"), "{}", stdout(&o));

    // An emptied list is refused; the earlier synced copy (with Newcomer Chat)
    // stays, and so does the archive, which changes only together with it.
    let bad = tempfile::tempdir().unwrap();
    std::fs::write(bad.path().join("software.json"), "[]").unwrap();
    std::fs::write(bad.path().join("software_archive.json"), "[]").unwrap();
    let o = in_dir(
        data.path(),
        &["ecosystem", "sync", "--from", bad.path().to_str().unwrap()],
    );
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("software.json: has 0 entries where the data in use has 195; refused"),
        "{out}"
    );
    assert!(out.contains("no changes"), "{out}");
    let v = json(&in_dir(
        data.path(),
        &["scope", "check", "--format", "json", "Newcomer Chat"],
    ));
    assert_eq!(v["decision"], "in_scope");

    // A damaged file on disk does not stop the desk: the shipped copy is used.
    std::fs::write(data.path().join("ecosystem/software.json"), "{ not json").unwrap();
    let v = json(&in_dir(
        data.path(),
        &["scope", "check", "--format", "json", "Prosody"],
    ));
    assert_eq!(v["decision"], "in_scope");
    let o = in_dir(data.path(), &["ecosystem", "show", "Newcomer Chat"]);
    assert!(!o.status.success(), "the damaged synced list is not used");
}

#[tokio::test]
async fn ecosystem_sync_live_fetches_the_lists_and_every_doap_url() {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let software = serde_json::json!([
        { "name": "Dino", "categories": ["client"], "platforms": [], "url": null,
          "doap": format!("{base}/dino.doap") },
        { "name": "Hosted One", "categories": ["library"], "platforms": [], "url": null,
          "doap": "/hosted-doap/hosted-one.doap" },
        { "name": "Gone Missing", "categories": ["client"], "platforms": [], "url": null,
          "doap": format!("{base}/missing.doap") }
    ])
    .to_string();
    let dino =
        std::fs::read_to_string(Path::new(SHIPPED).join("xmpp-software/vendor-doap/dino.doap"))
            .unwrap();
    let hosted = r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://usefulinc.com/ns/doap#" xmlns:xmpp="https://linkmauve.fr/ns/xmpp-doap#"><Project><name>Hosted One</name>
        <implements><xmpp:SupportedXep><xmpp:xep rdf:resource="https://xmpp.org/extensions/xep-0280.html"/><xmpp:status>partial</xmpp:status></xmpp:SupportedXep></implements></Project></rdf:RDF>"#;
    let xeplist = r#"<xep-infos><xep><number>280</number><title>Message Carbons</title><status>Draft</status><type>Standards Track</type></xep></xep-infos>"#;
    let cnas = std::fs::read_to_string(Path::new(SHIPPED).join("cna-list/CNAsList.json")).unwrap();
    let app = axum::Router::new()
        .route("/data/software.json", get(move || async move { software }))
        .route("/data/software_archive.json", get(|| async { "[]" }))
        .route("/dino.doap", get(move || async move { dino }))
        .route(
            "/hosted-doap/hosted-one.doap",
            get(move || async move { hosted }),
        )
        .route("/xeplist.xml", get(move || async move { xeplist }))
        .route("/CNAsList.json", get(move || async move { cnas }));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_owned();
    let args: Vec<String> = vec![
        "ecosystem".into(),
        "sync".into(),
        "--live".into(),
        // A three-product list replaces about 240: a shrink the sync refuses without --force.
        "--force".into(),
        "--xmpp-org-data".into(),
        format!("{base}/data"),
        "--hosted-doap-base".into(),
        base.clone(),
        "--xep-list-url".into(),
        format!("{base}/xeplist.xml"),
        "--cna-list-url".into(),
        format!("{base}/CNAsList.json"),
    ];
    let o = tokio::task::spawn_blocking(move || {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        in_dir(&dir, &a)
    })
    .await
    .unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{}", stderr(&o));
    assert!(out.contains("2 DOAP files fetched"), "{out}");
    assert!(
        out.contains("DOAP of gone-missing") && out.contains("HTTP 404"),
        "{out}"
    );
    let dir = data.path().to_owned();
    let o = tokio::task::spawn_blocking(move || {
        in_dir(&dir, &["ecosystem", "xep", "280", "--format", "json"])
    })
    .await
    .unwrap();
    let v = json(&o);
    let names: Vec<&str> = v["implementations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["product"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["Dino", "Hosted One"]);
}

#[test]
fn scope_dry_run_compares_a_new_policy_with_past_decisions() {
    let data = tempfile::tempdir().unwrap();
    let policy = data.path().join("new-policy.toml");
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../cnadesk-scope/policy/xsf-scope.toml"
    ))
    .unwrap()
    .replace("version = \"2026.1\"", "version = \"2027.1\"");
    std::fs::write(&policy, &text).unwrap();
    // No database yet: said plainly.
    let o = in_dir(
        data.path(),
        &["scope", "dry-run", "--policy", policy.to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no database"), "{}", stderr(&o));
    // A broken policy file names the problem.
    std::fs::write(
        &policy,
        text.replace("effective = \"2026-11-25\"", "effective = \"soon\""),
    )
    .unwrap();
    let o = in_dir(
        data.path(),
        &[
            "scope",
            "check",
            "--policy",
            policy.to_str().unwrap(),
            "Prosody",
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("effective"), "{}", stderr(&o));
}

#[test]
fn serve_adopts_the_policy_version_and_refuses_changed_text_under_it() {
    let data = tempfile::tempdir().unwrap();
    let server = support::Server::start(data.path());
    server.stop();
    let o = in_dir(data.path(), &["audit", "verify"]);
    assert!(o.status.success(), "{}", stderr(&o));

    // The same version with edited text: the desk refuses to start.
    let policy = data.path().join("edited.toml");
    std::fs::write(
        &policy,
        cnadesk_scope::DEFAULT_POLICY.replace("Yes, as their own product", "Yes, as products"),
    )
    .unwrap();
    let config = data.path().join("cnadesk.toml");
    std::fs::write(
        &config,
        format!("[scope]\npolicy = {:?}\n", policy.to_str().unwrap()),
    )
    .unwrap();
    let o = cnadesk(&[
        "--config",
        config.to_str().unwrap(),
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        data.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("scope policy version 2026.1 was adopted with different text"),
        "{}",
        stderr(&o)
    );
    // With a new version number it starts, and dry-run compares it with nothing yet.
    std::fs::write(
        &policy,
        cnadesk_scope::DEFAULT_POLICY
            .replace("Yes, as their own product", "Yes, as products")
            .replace("version = \"2026.1\"", "version = \"2026.2\""),
    )
    .unwrap();
    let o = cnadesk(&[
        "--config",
        config.to_str().unwrap(),
        "scope",
        "dry-run",
        "--policy",
        policy.to_str().unwrap(),
        "--data-dir",
        data.path().to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("policy 2026.2 against 0 past decisions: 0 would change"),
        "{}",
        stdout(&o)
    );
}

#[tokio::test]
async fn scope_dry_run_lists_the_past_decisions_a_new_version_changes() {
    use cnadesk_core::{Actor, ReportInput, Role};
    use cnadesk_store::prelude::*;
    use cnadesk_store::{Channel, NewReport, NewScopeDecision, NewUser};
    let data = tempfile::tempdir().unwrap();
    let url = cnadesk_store_sql::sqlite_url_in(data.path());
    let store = cnadesk_store_sql::open(&url, cnadesk_store_sql::Migrate::Apply)
        .await
        .unwrap();
    let ada = store
        .create_user(
            NewUser {
                username: "ada".into(),
                display_name: "Ada".into(),
                email: "ada@example.org".into(),
                role: Role::Member,
                password_hash: "x".into(),
            },
            &Actor::system("test"),
            1,
        )
        .await
        .unwrap();
    let actor = Actor::Member {
        id: ada.id,
        username: ada.username,
    };
    let registry =
        cnadesk_ecosystem::Registry::build(&cnadesk_ecosystem::Snapshot::bundled(), &[]).unwrap();
    let policy = cnadesk_scope::Policy::default_xsf();
    for (i, product) in ["Prosody", "as3xmppclient"].iter().enumerate() {
        let fields = ReportInput {
            title: format!("Flaw in {product}"),
            product: (*product).into(),
            description: "A crafted stanza crashes it.".into(),
            ..ReportInput::default()
        }
        .validate()
        .unwrap();
        let report = store
            .create_report(
                NewReport {
                    outbox: Vec::new(),
                    fields,
                    tracking_hash: format!("hash-{i}"),
                    channel: Channel::Web,
                    attachments: Vec::new(),
                },
                2,
            )
            .await
            .unwrap();
        let input = cnadesk_scope::ScopeInput {
            product: (*product).into(),
            description: String::new(),
        };
        let a = cnadesk_scope::assess(&policy, &registry, &input, "2026-11-25");
        store
            .record_scope_decision(
                NewScopeDecision {
                    report: report.id,
                    decision: a.decision,
                    rule: a.rule.clone(),
                    policy_version: a.policy_version.clone(),
                    product_key: a.product.as_ref().map(|p| p.key.clone()),
                    referral_cna: None,
                    overridden: false,
                    reason: String::new(),
                    input: serde_json::to_value(&input).unwrap(),
                    proposal: serde_json::to_value(&a).unwrap(),
                },
                &actor,
                3,
            )
            .await
            .unwrap();
    }
    store.close().await;

    let new = data.path().join("2027.toml");
    std::fs::write(
        &new,
        cnadesk_scope::DEFAULT_POLICY
            .replace("version = \"2026.1\"", "version = \"2027.1\"")
            .replace(
                "when = \"archived\"\ndecision = \"in_scope\"",
                "when = \"archived\"\ndecision = \"out_of_scope\"",
            ),
    )
    .unwrap();
    let dir = data.path().to_owned();
    let o = tokio::task::spawn_blocking(move || {
        in_dir(
            &dir,
            &["scope", "dry-run", "--policy", new.to_str().unwrap()],
        )
    })
    .await
    .unwrap();
    let out = stdout(&o);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("policy 2027.1 against 2 past decisions: 1 would change"),
        "{out}"
    );
    assert!(
        out.contains("REP-2: In scope (abandoned, policy 2026.1) → Out of scope (abandoned)"),
        "{out}"
    );
    assert!(!out.contains("REP-1:"), "{out}");
}
