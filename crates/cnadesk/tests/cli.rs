//! The command line, run as a newcomer would.

mod support;

use cnadesk_core::audit::AuditAction;
use std::io::Write;
use std::process::Stdio;

use support::{cnadesk, run, stderr, stdout, Server};

#[test]
fn help_lists_the_subcommands() {
    let o = run(&["--help"]);
    assert!(o.status.success());
    insta::assert_snapshot!("help", stdout(&o));
    let o = run(&["audit", "verify", "--help"]);
    insta::assert_snapshot!("audit_verify_help", stdout(&o));
}

#[test]
fn check_config_rejects_unknown_keys_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cnadesk.toml");
    std::fs::write(&file, "[intake]\nmax_upload = 5\n").unwrap();
    let o = run(&["--config", file.to_str().unwrap(), "check-config"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("unknown field") && err.contains("max_upload"),
        "{err}"
    );

    let o = cnadesk(&["check-config"])
        .env(
            "CNADESK_DATABASE_URL",
            "postgres://cna:hunter2@db.example/cnadesk",
        )
        .env("CNADESK_SECRET_KEY", "ab".repeat(32))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("postgres://cna:***@db.example/cnadesk"),
        "{out}"
    );
    assert!(
        !out.contains("hunter2") && !out.contains(&"ab".repeat(32)),
        "{out}"
    );
}

#[test]
fn the_example_configuration_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../cnadesk.example.toml");
    let o = run(&["--config", example, "check-config"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn migrate_then_admin_create_user_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let o = run(&["migrate", "--data-dir", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("applied migrations [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]"),
        "{}",
        stdout(&o)
    );
    let o = run(&["migrate", "--data-dir", d]);
    assert!(stdout(&o).contains("up to date"));

    let mut child = cnadesk(&[
        "admin",
        "create-user",
        "--username",
        "ada",
        "--email",
        "ada@example.org",
        "--role",
        "admin",
        "--data-dir",
        d,
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough passphrase\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("created admin ada"));

    let mut child = cnadesk(&[
        "admin",
        "create-user",
        "--username",
        "bob",
        "--email",
        "bob@example.org",
        "--data-dir",
        d,
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("password"), "{}", stderr(&o));

    let o = run(&["admin", "list-users", "--data-dir", d]);
    let out = stdout(&o);
    assert!(out.contains("ada\tadmin\tada@example.org\tactive"), "{out}");
    assert!(!out.contains("bob"));
    let o = run(&["audit", "verify", "--data-dir", d]);
    assert!(stdout(&o).contains("intact: 1 events"), "{}", stdout(&o));
}

#[tokio::test]
async fn admin_reset_totp_turns_off_the_second_factor_and_is_audited() {
    use cnadesk_store::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let d = data.to_str().unwrap();
    let o = run(&["migrate", "--data-dir", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut child = cnadesk(&[
        "admin",
        "create-user",
        "--username",
        "mia",
        "--email",
        "mia@example.org",
        "--data-dir",
        d,
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough passphrase\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // Mia enrolled a second factor (its secret sealed with the server key).
    let url = cnadesk_store_sql::sqlite_url_in(&data);
    let store = cnadesk_store_sql::open(&url, cnadesk_store_sql::Migrate::Require)
        .await
        .unwrap();
    let mia = store.user_credentials("mia").await.unwrap().unwrap().user;
    store
        .set_user_totp(
            mia.id,
            Some(vec![7; 48]),
            &cnadesk_core::Actor::Member {
                id: mia.id,
                username: "mia".into(),
            },
            1,
        )
        .await
        .unwrap();
    store.close().await;
    let o = run(&["admin", "list-users", "--data-dir", d]);
    assert!(stdout(&o).contains("totp=on"), "{}", stdout(&o));

    let o = run(&["admin", "reset-totp", "mia", "--data-dir", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("turned off the second factor of mia"),
        "{}",
        stdout(&o)
    );
    let o = run(&["admin", "list-users", "--data-dir", d]);
    assert!(stdout(&o).contains("totp=off"), "{}", stdout(&o));
    let store = cnadesk_store_sql::open(&url, cnadesk_store_sql::Migrate::Require)
        .await
        .unwrap();
    let creds = store.user_credentials("mia").await.unwrap().unwrap();
    assert!(creds.totp_secret_enc.is_none());
    let events = store.audit_events(0, 100).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.kind(), Some(AuditAction::UserTotpRemoved));
    assert_eq!(last.actor, "system:cli");
    assert_eq!(last.payload["user_id"], mia.id.0);
    store.close().await;

    // Again: nothing to do, nothing audited.
    let o = run(&["admin", "reset-totp", "mia", "--data-dir", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("has no second factor"),
        "{}",
        stdout(&o)
    );
    // An unknown account: exit 2, in words.
    let o = run(&["admin", "reset-totp", "nobody", "--data-dir", d]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("there is no team account \"nobody\""),
        "{}",
        stderr(&o)
    );
    let o = run(&["audit", "verify", "--data-dir", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("intact: 3 events"), "{}", stdout(&o));
}

#[test]
fn audit_verify_without_a_database_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[
        "audit",
        "verify",
        "--data-dir",
        dir.path().join("none").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no database"), "{}", stderr(&o));
    assert!(
        !dir.path().join("none").exists(),
        "verify never creates a database"
    );
}

#[test]
fn serve_creates_its_data_dir_prints_a_setup_link_and_answers_health_checks() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh/data");
    let server = Server::start(&data);
    assert!(data.join("cnadesk.sqlite3").exists());
    assert!(data.join("secret.key").exists());
    let setup = server.setup_url.clone().expect("a setup link on first run");
    assert!(setup.starts_with(&format!("{}/setup/", server.base_url)));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let health = reqwest::get(format!("{}/healthz", server.base_url)).await.unwrap();
        assert_eq!(health.status(), 200);
        let ready = reqwest::get(format!("{}/readyz", server.base_url)).await.unwrap();
        assert_eq!(ready.status(), 200);
        let page = reqwest::get(&setup).await.unwrap();
        assert_eq!(page.status(), 200);
        let report = reqwest::Client::new()
            .post(format!("{}/api/v1/reports", server.base_url))
            .json(&serde_json::json!({"title": "t", "product": "Prosody", "description": "A description that is long enough."}))
            .send()
            .await
            .unwrap();
        assert_eq!(report.status(), 201);
    });
    server.stop();
    // The report's events are in an intact chain; a tampered row is named.
    let d = data.to_str().unwrap();
    let o = run(&["audit", "verify", "--data-dir", d]);
    assert!(o.status.success(), "{}", stdout(&o));
    rt.block_on(async {
        let store = cnadesk_store_sql::open(
            &cnadesk_store_sql::sqlite_url_in(&data),
            cnadesk_store_sql::Migrate::Require,
        )
        .await
        .unwrap();
        store
            .execute_raw_for_tests(
                "UPDATE audit_events SET payload = '{\"product\":\"forged\"}' WHERE seq = 1",
            )
            .await
            .unwrap();
        store.close().await;
    });
    let o = run(&["audit", "verify", "--data-dir", d]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("BROKEN at event 1"), "{}", stdout(&o));
}

const SPECS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../cnadesk-cve/tests/data");

#[test]
fn record_validate_checks_many_files_and_stdin() {
    let good = format!("{SPECS}/cve-schema-examples/full-record-advanced-example.json");
    let bad = format!("{SPECS}/cve-services-vectors/5.0/CVE-2017-4024_published_fail.json");
    let o = run(&["record", "validate", &good]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).ends_with("1 valid, 0 invalid\n"));

    let o = run(&["record", "validate", &good, &bad, "/nonexistent.json"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("/containers/cna/providerMetadata/orgId: must be string, but is an array"),
        "{out}"
    );
    assert!(out.contains("cannot read the file"), "{out}");
    assert!(out.ends_with("1 valid, 2 invalid\n"), "{out}");

    let o = run(&["record", "validate", "--format", "json", &bad]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["invalid"], 1);
    assert_eq!(j["schema_version"], "5.2.0");
    assert!(j["files"][0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .any(
            |p| p["pointer"] == "/containers/cna/providerMetadata/orgId" && p["keyword"] == "type"
        ));

    let mut child = cnadesk(&["record", "validate", "--schema-version", "5.1.0", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&std::fs::read(&good).unwrap())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    assert!(
        stdout(&o).contains("<stdin> (CVE record, schema 5.1.0)"),
        "{}",
        stdout(&o)
    );

    let o = run(&["record", "validate", "--schema-version", "4.0", &good]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("unknown CVE schema version"));
}

#[test]
fn record_lint_exits_non_zero_on_errors_and_cites_rules() {
    let example = format!("{SPECS}/cve-schema-examples/full-record-basic-example.json");
    let o = run(&["record", "lint", &example]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "example.org references are placeholders"
    );
    let out = stdout(&o);
    assert!(out.contains("error reference-placeholder-url"), "{out}");
    assert!(out.contains("CNA Operational Rules 4.2.0, 5.3.1"), "{out}");
    assert!(
        out.ends_with("0 clean, 0 with warnings, 1 with errors\n"),
        "{out}"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&example).unwrap()).unwrap();
    doc["containers"]["cna"]["references"][0]["url"] = "https://prosody.im/security/".into();
    let fixed = dir.path().join("fixed.json");
    std::fs::write(&fixed, doc.to_string()).unwrap();
    let o = run(&[
        "record",
        "lint",
        "--format",
        "json",
        fixed.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "only a warning remains: {}", stdout(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["with_warnings"], 1);
    assert_eq!(j["files"][0]["findings"][0]["id"], "cna-5.1.7-cwe");
}

#[test]
fn record_export_to_osv_writes_a_document() {
    let example = format!("{SPECS}/cve-schema-examples/full-record-advanced-example.json");
    let o = run(&["record", "export", "--to", "osv", &example]);
    assert!(o.status.success(), "{}", stderr(&o));
    let osv: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(osv["id"], "CVE-1900-1234");
    assert_eq!(osv["schema_version"], "1.7.5");
    let o = run(&["record", "export", "--to", "csaf", &example]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csaf: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(csaf["document"]["category"], "csaf_security_advisory");
    assert_eq!(
        csaf["document"]["publisher"]["name"],
        "XMPP Standards Foundation"
    );
    assert_eq!(csaf["vulnerabilities"][0]["cve"], "CVE-1900-1234");
    let o = run(&[
        "record",
        "export",
        "--to",
        "osv",
        &format!("{SPECS}/cve-services-vectors/5.0/CVE-2017-5835_rejected.json"),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("not a CVE record"), "{}", stderr(&o));
}

/// `cnadesk dev cve-services` runs the double and prints working credentials.
#[tokio::test]
async fn dev_cve_services_runs_the_double() {
    use std::io::{BufRead, BufReader};
    let mut child = support::cnadesk(&[
        "dev",
        "cve-services",
        "--bind",
        "127.0.0.1:0",
        "--quota",
        "7",
    ])
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next = || lines.next().unwrap().unwrap();
    let base = next()
        .strip_prefix("CVE Services double listening on ")
        .unwrap()
        .to_owned();
    let (org, user, key) = (next(), next(), next());
    let value = |line: &str| line.split_once('=').unwrap().1.to_owned();
    let quota: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/org/xsf/id_quota"))
        .header("CVE-API-ORG", value(&org))
        .header("CVE-API-USER", value(&user))
        .header("CVE-API-KEY", value(&key))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(quota["id_quota"], 7, "{quota}");
    assert_eq!(quota["available"], 7);

    // `cnadesk cve …` against it, configured the way an operator would:
    // the URL on the command line, credentials from the environment, the
    // key from a file.
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("cve-api-key");
    std::fs::write(&key_file, format!("{}\n", value(&key))).unwrap();
    let data = dir.path().join("data");
    let cve = |args: &[&str]| {
        let mut all = vec!["cve"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--api-url", &base, "--data-dir", data.to_str().unwrap()]);
        support::cnadesk(&all)
            .env("CNADESK_CVE_API_ORG", value(&org))
            .env("CNADESK_CVE_API_USER", value(&user))
            .env("CNADESK_CVE_API_KEY_FILE", &key_file)
            .output()
            .unwrap()
    };
    let o = cve(&["quota"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), "quota 7; reserved 0; available 7");
    assert!(
        stderr(&o).contains("CVE Services (custom)"),
        "{}",
        stderr(&o)
    );
    let o = cve(&["reserve", "--amount", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let reserved: Vec<String> = stdout(&o)
        .split('"')
        .filter(|s| s.starts_with("CVE-"))
        .map(str::to_owned)
        .collect();
    assert_eq!(reserved.len(), 2, "{}", stdout(&o));
    let o = cve(&["list", "--state", "reserved"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2, "{}", stdout(&o));
    let o = cve(&["show", &reserved[0]]);
    assert!(
        stdout(&o).contains("\"state\": \"RESERVED\""),
        "{}",
        stdout(&o)
    );
    let o = cve(&["reject", &reserved[0], "--reason", "Reserved by mistake."]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cve(&["list", "--state", "rejected"]);
    assert!(stdout(&o).contains(&reserved[0]), "{}", stdout(&o));
    // Publishing needs a case with an approved record: refused, explained.
    let o = cve(&["publish", "CASE-1"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("CASE-1"), "{}", stderr(&o));
    // A wrong key: the service's refusal, and no key in the output.
    let o = support::cnadesk(&[
        "cve",
        "quota",
        "--api-url",
        &base,
        "--data-dir",
        data.to_str().unwrap(),
    ])
    .env("CNADESK_CVE_API_ORG", value(&org))
    .env("CNADESK_CVE_API_USER", value(&user))
    .env("CNADESK_CVE_API_KEY", "wrong-key-123")
    .output()
    .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("401"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("wrong-key-123"));
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends one message to an SMTP server, speaking the protocol by hand.
fn smtp_send(addr: &str, from: &str, to: &str, message: &str) -> String {
    use std::io::{BufRead, BufReader};
    let stream = std::net::TcpStream::connect(addr).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut writer = stream;
    let mut transcript = String::new();
    let mut read = |t: &mut String| loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        t.push_str(&line);
        if line.as_bytes().get(3) != Some(&b'-') {
            break;
        }
    };
    read(&mut transcript);
    for command in [
        "EHLO client.test".to_owned(),
        format!("MAIL FROM:<{from}>"),
        format!("RCPT TO:<{to}>"),
        "DATA".to_owned(),
        format!("{message}\r\n."),
        "QUIT".to_owned(),
    ] {
        writer
            .write_all(format!("{command}\r\n").as_bytes())
            .unwrap();
        read(&mut transcript);
    }
    transcript
}

#[test]
fn openpgp_key_and_mail_work_end_to_end_from_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("cna-key.asc");
    let k = key.to_str().unwrap();
    let o = run(&[
        "openpgp",
        "generate",
        "--user-id",
        "XSF CNA <security@xsf.test>",
        "--out",
        k,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let printed = stdout(&o);
    assert!(printed.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert!(
        !printed.contains("PRIVATE KEY"),
        "the secret key is not printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "readable by its owner only");
    }
    let again = run(&[
        "openpgp",
        "generate",
        "--user-id",
        "x <x@x.test>",
        "--out",
        k,
    ]);
    assert!(
        !again.status.success(),
        "an existing key is not overwritten"
    );

    let mail_dir = dir.path().join("mail");
    let inbound = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = dir.path().join("cnadesk.toml");
    std::fs::write(
        &config,
        format!(
            "[mail]\nfrom = \"XSF CNA <security@xsf.test>\"\ntransport = \"file\"\ndir = {:?}\n\
             inbound_listen = \"{inbound}\"\n\n[openpgp]\nkey_file = {:?}\n",
            mail_dir.to_str().unwrap(),
            k
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--config", config.to_str().unwrap()]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let public = rt.block_on(async {
        let r = reqwest::get(format!("{}/pgp-key.asc", server.base_url))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        r.text().await.unwrap()
    });
    assert!(
        printed.contains(public.trim()),
        "the served key is the generated one"
    );

    // A report by e-mail is filed and its sender acknowledged by the worker.
    let transcript = smtp_send(
        &inbound.to_string(),
        "sam@example.org",
        "security@xsf.test",
        "From: sam@example.org\r\nSubject: Gajim crashes on a crafted message\r\n\
         Message-ID: <cli-1@example.org>\r\n\r\nA crafted XHTML-IM message makes Gajim crash.",
    );
    assert!(transcript.contains("250 2.0.0 filed"), "{transcript}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let ack = loop {
        let found = std::fs::read_dir(&mail_dir).ok().and_then(|entries| {
            entries
                .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
                .find(|m| m.contains("To: sam@example.org"))
        });
        if let Some(m) = found {
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no acknowledgement written"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(ack.contains("Report #1 received"), "{ack}");
    server.stop();
}

/// `cnadesk transparency verify` passes against a running desk and fails
/// against a tampered, truncated or wrongly signed copy, naming the problem.
#[test]
fn transparency_verify_against_the_server_and_tampered_copies() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"));
    let base = server.base_url.clone();
    // The adoption of the scope policy at start is the first decision; the
    // worker puts it into the log within a few seconds.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let head: serde_json::Value = rt.block_on(async {
        for _ in 0..100 {
            let head: serde_json::Value = reqwest::get(format!("{base}/transparency/head"))
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if head["size"].as_u64() > Some(0) {
                return head;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        panic!("the log stayed empty");
    });
    let key = head["key"].as_str().unwrap().to_owned();
    let saved = dir.path().join("copy");
    let s = saved.to_str().unwrap();
    let o = run(&[
        "transparency",
        "verify",
        "--url",
        &base,
        "--key",
        &key,
        "--save",
        s,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("OK: "), "{}", stdout(&o));
    server.stop();

    let log = saved.join("log.jsonl");
    let head_file = saved.join("head.json");
    let (l, h) = (log.to_str().unwrap(), head_file.to_str().unwrap());
    let o = run(&["transparency", "verify", "--file", l, "--head", h]);
    assert!(o.status.success(), "{}", stderr(&o));
    let original = std::fs::read_to_string(&log).unwrap();
    assert!(original.contains("policy.adopted"), "{original}");

    // An earlier copy is kept by this one; a copy that differs is not.
    let earlier = saved.join("earlier.jsonl");
    let e = earlier.to_str().unwrap();
    std::fs::write(&earlier, &original).unwrap();
    let o = run(&[
        "transparency",
        "verify",
        "--file",
        l,
        "--head",
        h,
        "--previous",
        e,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::write(&earlier, original.replacen("\"seq\":1", "\"seq\":7", 1)).unwrap();
    let o = run(&[
        "transparency",
        "verify",
        "--file",
        l,
        "--head",
        h,
        "--previous",
        e,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("does not extend"), "{}", stderr(&o));
    // A changed entry.
    std::fs::write(
        &log,
        original.replacen("policy.adopted", "policy.adoptex", 1),
    )
    .unwrap();
    let o = run(&["transparency", "verify", "--file", l, "--head", h]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("line 1 (entry 1)"), "{}", stderr(&o));
    assert!(stderr(&o).contains("commitment"), "{}", stderr(&o));
    // A truncated copy.
    std::fs::write(&log, "").unwrap();
    let o = run(&["transparency", "verify", "--file", l, "--head", h]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("truncated"), "{}", stderr(&o));
    // Another key than the CNA's.
    std::fs::write(&log, &original).unwrap();
    let zeros = "00".repeat(32);
    let o = run(&[
        "transparency",
        "verify",
        "--file",
        l,
        "--head",
        h,
        "--key",
        &zeros,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("trusted key"), "{}", stderr(&o));
    // An entry appended after the signed head chains correctly but is not
    // covered by the signature.
    let last: cnadesk_transparency::Entry =
        serde_json::from_str(original.lines().last().unwrap()).unwrap();
    let extra = cnadesk_transparency::next_entry(
        Some(&last),
        "2026-12-01T00:00:00Z",
        serde_json::json!({"type": AuditAction::CvePublished.as_str(), "cve_id": "CVE-2026-9999"}),
        "00112233445566778899aabbccddeeff",
    )
    .unwrap();
    std::fs::write(&log, format!("{original}{}\n", extra.to_line())).unwrap();
    let o = run(&["transparency", "verify", "--file", l, "--head", h]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("not covered by its signature"),
        "{}",
        stderr(&o)
    );
    std::fs::write(&log, &original).unwrap();
    // A head that is not one.
    std::fs::write(&head_file, "{}").unwrap();
    let o = run(&["transparency", "verify", "--file", l, "--head", h]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a signed head"), "{}", stderr(&o));
}

/// Audit events commit to the content they describe: a report's title, a
/// message and a record version edited with plain SQL in the database fail
/// `audit verify`, which names the content and the event; undone, the chain
/// verifies again.
#[test]
fn audit_verify_names_the_event_whose_content_was_edited() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let title = "Remote crash through a crafted MUC subject";
    let id: String = rt.block_on(async {
        let created: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/v1/reports", server.base_url))
            .json(&serde_json::json!({"title": title, "product": "Prosody",
                "description": "A subject with a NUL crashes the server."}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["id"].as_str().unwrap().to_owned()
    });
    server.stop();
    let report: i64 = id.trim_start_matches("REP-").parse().unwrap();
    let d = data.to_str().unwrap();
    let url = cnadesk_store_sql::sqlite_url_in(&data);
    let sql = |statements: Vec<String>| {
        rt.block_on(async {
            let store = cnadesk_store_sql::open(&url, cnadesk_store_sql::Migrate::Require)
                .await
                .unwrap();
            for s in statements {
                store.execute_raw_for_tests(&s).await.unwrap();
            }
            store.close().await;
        })
    };
    // A reporter's message and a saved record version, written through the
    // store as the desk writes them.
    let (story, events) = rt.block_on(async {
        let store = cnadesk_store_sql::open(&url, cnadesk_store_sql::Migrate::Require)
            .await
            .unwrap();
        let story = cnadesk_store::conformance::content_story(&store).await;
        let events = cnadesk_store::Audit::audit_events(&store, 0, 10_000)
            .await
            .unwrap();
        store.close().await;
        (story, events)
    });
    let seq = |action: AuditAction, matches: &dyn Fn(&cnadesk_core::audit::AuditEvent) -> bool| {
        events
            .iter()
            .find(|e| e.is(action) && matches(e))
            .unwrap_or_else(|| panic!("no {action} event"))
            .seq
    };
    let created = seq(AuditAction::ReportCreated, &|e| e.report_id == Some(report));
    let shared = seq(AuditAction::MessageShared, &|e| {
        e.payload["message_id"] == serde_json::json!(story.message)
    });
    let saved = seq(AuditAction::RecordVersionSaved, &|e| {
        e.case_id == Some(story.case.0)
    });
    let (m, c, v) = (story.message, story.case.0, story.record_version);
    let verify = || run(&["audit", "verify", "--data-dir", d]);
    let o = verify();
    assert!(o.status.success(), "{}", stdout(&o));

    let tampering = [
        (
            vec![format!(
                "UPDATE reports SET title = 'Nothing to see here' WHERE id = {report}"
            )],
            format!("report {report}'s content does not match the digest in event {created} (report.created)"),
            vec![format!("UPDATE reports SET title = '{title}' WHERE id = {report}")],
        ),
        (
            vec![format!("UPDATE messages SET body = body || ' (edited)' WHERE id = {m}")],
            format!("message {m}'s content does not match the digest in event {shared} (message.shared)"),
            vec![format!(
                "UPDATE messages SET body = substr(body, 1, length(body) - 9) WHERE id = {m}"
            )],
        ),
        (
            // Versions are immutable by trigger; someone with the file can drop it.
            vec![
                "DROP TRIGGER record_versions_no_update".to_owned(),
                format!("UPDATE record_versions SET document = '{{\"title\": \"forged\"}}' WHERE case_id = {c} AND version = {v}"),
            ],
            format!("record version {v} of case {c}'s content does not match the digest in event {saved} (record.version_saved)"),
            vec![format!("UPDATE record_versions SET document = '{{\"title\": \"digest\"}}' WHERE case_id = {c} AND version = {v}")],
        ),
    ];
    for (tamper, named, undo) in tampering {
        sql(tamper);
        let o = verify();
        assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
        assert!(stdout(&o).contains("audit chain BROKEN"), "{}", stdout(&o));
        assert!(stdout(&o).contains(&named), "{}", stdout(&o));
        sql(undo);
        let o = verify();
        assert!(o.status.success(), "after undoing: {}", stdout(&o));
    }
}
