//! The whole first-day flow in a real headless Chromium, against the real
//! binary: first-admin setup → TOTP enrolment → sign-in with TOTP → a
//! reporter submits the form → the member sees it in the queue → accepts it
//! as a case → replies → the reporter sees the reply on the tracking page →
//! the member reserves a CVE ID (demo CVE Services) and writes the record →
//! a second member approves it and publishes it → what CVE Services returns
//! equals the approved version. Anyone then finds the advisory on the public
//! site (index, page, download, feed, transparency log), while a second case
//! under embargo shows nowhere. Then `cnadesk audit verify` passes on that
//! database and fails after a direct tamper.
//!
//! Needs `chromium` and `chromedriver` (Debian packages `chromium` and
//! `chromium-driver`; `.ci/run` installs them), so it is `#[ignore]`d: run it
//! with `-- --include-ignored`; without them it then fails.

mod support;

use cnadesk_core::audit::AuditAction;
use std::time::{Duration, Instant};

use fantoccini::Locator;

use support::browser::{
    browser, click, create_first_admin, enrol_totp, fill, find, path, require_chromium, shot,
    start_driver, text, totp_now, wait_for_child_text, wait_for_text, wait_path,
};
use support::{create_user, run, stdout, Server};

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs chromium and chromedriver"]
async fn first_day_flow_in_chromium() {
    let (chromium, chromedriver) = require_chromium("the browser flow");
    eprintln!("browser flow: running in {chromium}");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Demo mode: CVE Services is the in-memory double, so the whole
    // reserve → approve → publish walk runs without credentials.
    let server = Server::start_with(&data, &["--demo"]);
    let base = server.base_url.clone();
    let setup_url = server.setup_url.clone().expect("setup link");

    let (_driver, port) = start_driver(&chromedriver).await;

    let member = browser(port, &dir.path().join("member-profile"), &chromium).await;

    // First-admin setup.
    member.goto(&setup_url).await.unwrap();
    assert_eq!(
        create_first_admin(&member, "ada", "Ada Admin").await,
        "/account/totp?welcome=1"
    );
    shot(&member, "1-totp-enrol").await;

    // TOTP enrolment.
    let secret = enrol_totp(&member).await;
    shot(&member, "1b-totp-enabled").await;
    assert!(text(&member, "totp-status")
        .await
        .contains("Two-factor sign-in is on"));

    // Sign out, then sign in with password and TOTP.
    member
        .find(Locator::Css("header form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(wait_path(&member, "/login").await, "/login");
    fill(&member, "username", "ada").await;
    fill(&member, "password", "correct horse battery staple").await;
    click(&member, "sign-in").await;
    wait_path(&member, "/login/totp").await;
    fill(&member, "code", &totp_now(&secret)).await;
    click(&member, "verify-code").await;
    assert_eq!(wait_path(&member, "/desk").await, "/desk");

    // A reporter (another browser, no account) submits the form.
    let reporter = browser(port, &dir.path().join("reporter-profile"), &chromium).await;
    reporter.goto(&format!("{base}/report")).await.unwrap();
    fill(&reporter, "title", "Carbons accepted from any sender").await;
    fill(&reporter, "product", "Prosody").await;
    fill(&reporter, "versions", "0.12.0 to 0.12.3").await;
    fill(
        &reporter,
        "description",
        "A remote entity can inject <script>alert('carbon')</script> forged carbon copies.",
    )
    .await;
    fill(&reporter, "reporter_name", "Rita Reporter").await;
    fill(&reporter, "reporter_email", "rita@example.org").await;
    fill(&reporter, "credit", "Rita R.").await;
    let poc = dir.path().join("poc.txt");
    std::fs::write(&poc, "send a carbon from outside\n").unwrap();
    reporter
        .find(Locator::Id("attachments"))
        .await
        .unwrap()
        .send_keys(poc.to_str().unwrap())
        .await
        .unwrap();
    shot(&reporter, "2-report-form").await;
    click(&reporter, "submit-report").await;
    let tracking_url = text(&reporter, "tracking-link").await;
    assert!(
        tracking_url.starts_with(&format!("{base}/track/")),
        "{tracking_url}"
    );
    assert!(text(&reporter, "received").await.contains("was received"));
    shot(&reporter, "3-tracking").await;
    // The public scope page answers a product check without an account.
    reporter
        .goto(&format!("{base}/scope?product=Converse.js"))
        .await
        .unwrap();
    assert_eq!(text(&reporter, "policy-version").await, "2026.1");
    assert_eq!(text(&reporter, "scope-decision").await, "In scope");
    assert!(text(&reporter, "scope-rationale")
        .await
        .starts_with("Converse.js is an XMPP client"));
    shot(&reporter, "3b-scope").await;

    // The member sees it in the queue and opens it.
    member.goto(&format!("{base}/desk")).await.unwrap();
    let queue = text(&member, "queue").await;
    assert!(
        queue.contains("Carbons accepted from any sender"),
        "{queue}"
    );
    shot(&member, "4-queue").await;
    member
        .find(Locator::LinkText("Carbons accepted from any sender"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert!(
        text(&member, "description")
            .await
            .contains("<script>alert('carbon')</script>"),
        "the payload is shown as text"
    );
    let alert = member.get_alert_text().await;
    assert!(alert.is_err(), "no script ran: {alert:?}");

    // The scope proposal: in scope under the listed-implementation rule.
    assert_eq!(text(&member, "scope-decision").await, "In scope");
    assert_eq!(text(&member, "scope-rule").await, "xsf-listed");

    // Accept as a case (confirming the scope), note internally, reply to the reporter.
    click(&member, "accept").await;
    assert_eq!(text(&member, "case-state").await, "CVE reserved");
    assert!(text(&member, "scope-recorded")
        .await
        .contains("under rule xsf-listed of policy 2026.1"));
    let report_page = path(&member).await;
    fill(&member, "note-body", "Internal: reproduced on 0.12.2").await;
    click(&member, "add-note").await;
    wait_for_text(&member, "Internal: reproduced on 0.12.2").await;
    fill(
        &member,
        "reply-body",
        "Thank you, we reproduced it and opened a case.",
    )
    .await;
    click(&member, "send-reply").await;
    wait_for_text(&member, "Thank you, we reproduced it").await;
    assert!(path(&member)
        .await
        .starts_with(report_page.split('#').next().unwrap()));
    shot(&member, "5-case").await;

    // The reporter sees the reply, and only the reply.
    reporter.goto(&tracking_url).await.unwrap();
    let status = text(&reporter, "status").await;
    assert!(status.contains("CVE ID reserved"), "{status}");
    let source = reporter.source().await.unwrap();
    assert!(source.contains("Thank you, we reproduced it and opened a case."));
    assert!(!source.contains("Internal: reproduced"));
    shot(&reporter, "6-tracking-reply").await;

    // The member turns the case into a CVE record: the form starts from the
    // case, findings appear beside a field as it is typed (live checks), and
    // the saved version is valid and lint-clean with no JSON typed.
    // First the ID, on the case's CVE page.
    member.goto(&format!("{base}{report_page}")).await.unwrap();
    click(&member, "open-cve").await;
    wait_path(&member, "/desk/cases/").await;
    assert!(text(&member, "cve-service")
        .await
        .contains("CVE Services: demo"));
    // Accepting reserved the case's ID by itself (demo CVE Services).
    let ids = text(&member, "case-ids").await;
    let cve_id = ids
        .split_whitespace()
        .find(|w| w.starts_with("CVE-"))
        .expect("a reserved ID")
        .to_owned();
    shot(&member, "7a-reserved").await;
    member.goto(&format!("{base}{report_page}")).await.unwrap();
    click(&member, "open-record").await;
    wait_path(&member, "/desk/cases/").await;
    assert!(find(&member, "a0_product")
        .await
        .prop("value")
        .await
        .unwrap()
        .is_some_and(|v| v == "Prosody IM"));
    fill(&member, "r0_url", "https://example.com/advisory").await;
    let beside = wait_for_child_text(&member, "issues-reference-0", "is a placeholder").await;
    assert!(beside.contains("placeholder"), "{beside}");
    assert!(
        path(&member).await.ends_with("/record"),
        "nothing was submitted"
    );
    shot(&member, "7-record-live-check").await;
    for (id, value) in [
        ("cve_id", cve_id.as_str()),
        ("title", "Message carbons spoofing in Prosody"),
        (
            "description",
            "Prosody before 0.12.4 accepts message carbons from any sender, which allows \
             remote attackers to inject messages into a conversation.",
        ),
        ("cwe_id", "CWE-346"),
        ("cwe_name", "Origin Validation Error"),
        (
            "cvss_vector",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N",
        ),
        ("a0_vendor", "Prosody"),
        ("a0_introduced", "0.12.0"),
        ("a0_fixed", "0.12.4"),
        ("r0_url", "https://prosody.im/security/advisory_20261120/"),
        ("r0_tags", "vendor-advisory"),
    ] {
        fill(&member, id, value).await;
    }
    find(&member, "a0_vtype")
        .await
        .select_by_value("semver")
        .await
        .unwrap();
    click(&member, "record-save").await;
    wait_path(&member, "/desk/cases/").await;
    // Version 1 was drafted from the report on acceptance; this is 2.
    wait_for_text(&member, "version 2").await;
    let checks = text(&member, "version-checks").await;
    assert!(
        checks.contains("valid against the CVE schema; lint: 0 errors, 0 warnings"),
        "{checks}"
    );
    assert!(text(&member, "record-preview")
        .await
        .contains("Message carbons spoofing in Prosody"));
    shot(&member, "8-record-version").await;
    let version_url = member.current_url().await.unwrap().to_string();

    // Ada wrote it, so she cannot approve it: a second member must.
    let cve_page = version_url.split("/record/").next().unwrap().to_owned() + "/cve";
    member.goto(&cve_page).await.unwrap();
    assert!(text(&member, "two-person").await.contains("second member"));
    create_user(
        &data.join("demo"),
        "bob",
        "bob@example.org",
        "another correct horse battery",
    );
    let bob = browser(port, &dir.path().join("bob-profile"), &chromium).await;
    bob.goto(&format!("{base}/login")).await.unwrap();
    fill(&bob, "username", "bob").await;
    fill(&bob, "password", "another correct horse battery").await;
    click(&bob, "sign-in").await;
    wait_path(&bob, "/desk").await;
    bob.goto(&cve_page).await.unwrap();
    click(&bob, "approve").await;
    wait_for_text(&bob, "Approved.").await;
    assert!(text(&bob, "approvals").await.contains("bob"));
    shot(&bob, "9-approved").await;
    click(&bob, "publish").await;
    let notice = wait_for_child_text(&bob, "cve-notice", "Published").await;
    assert!(notice.contains("matches the approved version"), "{notice}");
    assert!(text(&bob, "case-ids").await.contains("published"));
    // What CVE Services publishes is what was approved.
    click(&bob, "drift-link").await;
    wait_for_text(&bob, "No drift").await;
    shot(&bob, "10-published-no-drift").await;

    // A second report becomes a case under embargo (set on its coordination
    // page): nothing of it may show on the public site.
    let second: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/reports"))
        .json(&serde_json::json!({
            "title": "Embargoed occupant spoofing",
            "product": "Prosody",
            "description": "A MUC occupant can spoof another occupant's messages before the fix.",
            "reporter_email": "eve@example.org",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = second["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("REP-")
        .to_owned();
    member
        .goto(&format!("{base}/desk/reports/{second}"))
        .await
        .unwrap();
    click(&member, "accept").await;
    assert_eq!(text(&member, "case-state").await, "CVE reserved");
    member
        .goto(&format!("{base}/desk/cases/2/coordination"))
        .await
        .unwrap();
    // The field is a date-time picker; a UTC time is typed as text.
    member
        .execute(
            "const f = document.getElementById('ends_at'); f.type = 'text'; f.value = arguments[0];",
            vec![serde_json::json!("2099-01-01T12:00:00Z")],
        )
        .await
        .unwrap();
    fill(&member, "reason", "Coordinated release with all clients").await;
    click(&member, "set-embargo").await;
    wait_for_text(&member, "Embargo date set.").await;
    assert!(text(&member, "embargo-end").await.contains("2099-01-01"));

    // The public site, as anyone sees it: the published advisory in the
    // index, its page, the feed; the embargoed case nowhere.
    let public = &reporter;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        public.goto(&format!("{base}/advisories")).await.unwrap();
        if public.source().await.unwrap().contains(&cve_id) {
            break;
        }
        assert!(Instant::now() < deadline, "the advisory never appeared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let index = text(public, "advisories").await;
    assert!(
        index.contains("Message carbons spoofing in Prosody"),
        "{index}"
    );
    assert!(index.contains("Medium"), "{index}");
    assert!(!public
        .source()
        .await
        .unwrap()
        .contains("Embargoed occupant"));
    shot(public, "11-advisories").await;
    public
        .find(Locator::LinkText(&cve_id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    assert_eq!(
        wait_path(public, "/advisories/CVE-").await,
        format!("/advisories/{cve_id}")
    );
    assert!(text(public, "summary")
        .await
        .contains("Prosody before 0.12.4"));
    assert!(text(public, "severity").await.contains("MEDIUM"));
    assert!(text(public, "cvss").await.contains("Attack vector"));
    assert!(text(public, "downloads").await.contains("OSV"));
    let source = public.source().await.unwrap();
    assert!(
        source.contains("application/atom+xml"),
        "the feed is linked"
    );
    assert!(source.contains("og:title"));
    shot(public, "12-advisory").await;
    // The record download is the published CVE record.
    public
        .goto(&format!("{base}/advisories/{cve_id}.json"))
        .await
        .unwrap();
    assert!(public.source().await.unwrap().contains("\"PUBLISHED\""));
    // The feed, from the index's link.
    public.goto(&format!("{base}/advisories")).await.unwrap();
    public
        .find(Locator::LinkText("Atom feed"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(public, "/advisories.atom").await;
    let feed = public.source().await.unwrap();
    assert!(feed.contains(&cve_id), "{feed}");
    assert!(!feed.contains("Embargoed occupant"));
    // The scope page, and the transparency log without the embargoed case.
    public.goto(&format!("{base}/scope")).await.unwrap();
    assert_eq!(text(public, "policy-version").await, "2026.1");
    // The worker projects decisions every few seconds: wait until both the
    // publication and the embargoed case's (sealed) entries are in.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        public.goto(&format!("{base}/transparency")).await.unwrap();
        let source = public.source().await.unwrap();
        if source.contains(&cve_id) && source.contains(">sealed<") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the publication and the sealed entries never reached the log: {source}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let log = text(public, "entries").await;
    assert!(log.contains(AuditAction::CvePublished.as_str()), "{log}");
    assert!(
        log.contains("sealed"),
        "the embargoed case's entries are sealed: {log}"
    );
    assert!(!log.contains("CASE-2"), "{log}");
    shot(public, "13-transparency").await;

    bob.close().await.unwrap();
    reporter.close().await.unwrap();
    member.close().await.unwrap();
    server.stop();

    // The audit chain of what just happened verifies, and a tamper is caught.
    // (The demo desk keeps its data in DATA_DIR/demo.)
    let data = data.join("demo");
    let d = data.to_str().unwrap();
    let o = run(&["audit", "verify", "--data-dir", d]);
    assert!(o.status.success(), "{}", stdout(&o));
    let verified = stdout(&o);
    eprintln!("browser flow: {}", verified.trim());
    let store = cnadesk_store_sql::open(
        &cnadesk_store_sql::sqlite_url_in(&data),
        cnadesk_store_sql::Migrate::Require,
    )
    .await
    .unwrap();
    store
        .execute_raw_for_tests("UPDATE audit_events SET actor = 'member:1:mallory' WHERE seq = 3")
        .await
        .unwrap();
    store.close().await;
    let o = run(&["audit", "verify", "--data-dir", d]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("BROKEN at event 3"), "{}", stdout(&o));
}
