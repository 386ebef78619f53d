//! The case carries itself, walked in a real headless Chromium against the
//! real binary (`serve --demo`): a reporter gives versions, the fixed
//! version, a CWE and a CVSS vector (with the form's calculator); two
//! members are signed in. From "report received" to "advisory public" the
//! members take at most six actions (submits, navigating clicks and typed
//! fields, counted below): Alice opens the report and accepts it (an ID is
//! reserved and version 1 drafted from the report by itself); Bob opens the
//! desk, follows "Waiting for your review" and presses "Approve and
//! publish". The case then shows Published without anyone moving it, the
//! reporter's tracking page shows the CVE ID, the advisory link and the
//! credit, and the reporter received a mail. Every page of the walk is
//! loaded again as a 360 px phone: none is wider than the screen.
//!
//! Needs `chromium` and `chromedriver`, so it is `#[ignore]`d: run it with
//! `-- --include-ignored`; without them it then fails.

mod support;

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use support::browser::{
    assert_fits, browser, browser_with, click, click_link, create_first_admin, enrol_totp, fill,
    find, path, require_chromium, shot, start_driver, text, totp_now, wait_path, ADMIN_PASSWORD,
};
use support::{create_user, Server};

/// The members' actions, counted as the walk goes.
struct Count(Vec<String>);

impl Count {
    fn note(&mut self, what: &str) {
        self.0.push(what.to_owned());
    }
}

/// Signs in (enrolling a second factor when the desk asks for one first).
async fn sign_in(c: &Client, base: &str, user: &str, password: &str) {
    c.goto(&format!("{base}/login")).await.unwrap();
    fill(c, "username", user).await;
    fill(c, "password", password).await;
    click(c, "sign-in").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let p = path(c).await;
        if p.starts_with("/account/totp") {
            let secret = text(c, "totp-secret").await;
            fill(c, "code", &totp_now(&secret)).await;
            click(c, "enable-totp").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            c.goto(&format!("{base}/desk")).await.unwrap();
        } else if p.starts_with("/desk") {
            return;
        }
        assert!(Instant::now() < deadline, "sign-in of {user} ended at {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs chromium and chromedriver"]
async fn from_report_to_advisory_in_six_actions() {
    let (chromium, chromedriver) = require_chromium("the walk");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--demo"]);
    let base = server.base_url.clone();
    let setup_url = server.setup_url.clone().expect("setup link");
    let (_driver, port) = start_driver(&chromedriver).await;

    // ---- before the walk: two members signed in ----------------------------------
    let alice = browser(port, &dir.path().join("alice"), &chromium).await;
    alice.goto(&setup_url).await.unwrap();
    create_first_admin(&alice, "alice", "Alice").await;
    let secret = enrol_totp(&alice).await;
    create_user(
        &data.join("demo"),
        "bob",
        "bob@example.org",
        "another correct horse battery",
    );
    let bob = browser(port, &dir.path().join("bob"), &chromium).await;
    sign_in(&bob, &base, "bob", "another correct horse battery").await;
    alice.goto(&format!("{base}/desk")).await.unwrap();

    // ---- the reporter (not a member: not counted) ----------------------------------
    let reporter = browser(port, &dir.path().join("reporter"), &chromium).await;
    reporter.goto(&format!("{base}/report")).await.unwrap();
    fill(&reporter, "title", "Carbons accepted from any sender").await;
    fill(&reporter, "product", "Prosody").await;
    fill(&reporter, "versions", "0.12.0 to 0.12.3").await;
    fill(&reporter, "fixed_version", "0.12.4").await;
    fill(
        &reporter,
        "description",
        "Prosody accepts message carbons from any sender, which allows remote attackers to inject messages into a conversation.",
    )
    .await;
    fill(&reporter, "cwe", "CWE-346: Origin Validation Error").await;
    reporter
        .find(Locator::Css("#cvss-calculator summary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for (metric, value) in [
        ("AV", "N"),
        ("AC", "L"),
        ("PR", "N"),
        ("UI", "R"),
        ("S", "U"),
        ("C", "N"),
        ("I", "H"),
        ("A", "N"),
    ] {
        find(&reporter, &format!("cvss_{metric}"))
            .await
            .select_by_value(value)
            .await
            .unwrap();
    }
    fill(&reporter, "reporter_email", "rita@example.org").await;
    fill(&reporter, "credit", "Rita R.").await;
    shot(&reporter, "walk-1-report").await;
    click(&reporter, "submit-report").await;
    let tracking_url = text(&reporter, "tracking-link").await;
    assert!(text(&reporter, "status").await.contains("Received"));

    // ---- the walk: report received → advisory public -------------------------------
    let mut count = Count(Vec::new());
    let mut walked = vec![format!("{base}/report"), tracking_url.clone()];
    // Alice: the report from the queue, then Accept.
    alice.goto(&format!("{base}/desk")).await.unwrap();
    walked.push(format!("{base}/desk"));
    click_link(&alice, "Carbons accepted from any sender").await;
    count.note("Alice opens the report (click)");
    let report_page = wait_path(&alice, "/desk/reports/").await;
    walked.push(format!("{base}{report_page}"));
    click(&alice, "accept").await;
    count.note("Alice accepts it (submit)");
    assert_eq!(text(&alice, "case-state").await, "CVE reserved");
    let next = text(&alice, "next-step").await;
    assert!(next.contains("second member reviews version 1"), "{next}");
    shot(&alice, "walk-2-accepted").await;

    // Bob: the desk, "Waiting for your review", then Approve and publish.
    bob.find(Locator::LinkText("Queue"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    count.note("Bob opens the queue (click)");
    let review = find(&bob, "reviews").await.text().await.unwrap();
    assert!(
        review.contains("Carbons accepted from any sender"),
        "{review}"
    );
    bob.find(Locator::Css("#reviews a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    count.note("Bob opens the version to review (click)");
    let version_page = wait_path(&bob, "/desk/cases/").await;
    walked.push(format!("{base}{version_page}"));
    let checks = text(&bob, "version-checks").await;
    assert!(
        checks.contains("valid against the CVE schema; lint: 0 errors"),
        "the draft passes the checks: {checks}"
    );
    let preview = text(&bob, "record-preview").await;
    assert!(preview.contains("CWE-346"), "{preview}");
    assert!(preview.contains("0.12.4"), "{preview}");
    shot(&bob, "walk-3-review").await;
    click(&bob, "approve-publish").await;
    count.note("Bob approves and publishes (submit)");
    let notice = text(&bob, "cve-notice").await;
    assert!(notice.contains("Published"), "{notice}");
    let cve_page = path(&bob).await;
    walked.push(format!("{base}{}", cve_page.split('?').next().unwrap()));
    let ids = text(&bob, "case-ids").await;
    let cve_id = ids
        .split_whitespace()
        .find(|w| w.starts_with("CVE-"))
        .expect("the case's ID")
        .to_owned();

    eprintln!("walk: {} actions: {:?}", count.0.len(), count.0);
    assert!(
        count.0.len() <= 6,
        "{} actions: {:?}",
        count.0.len(),
        count.0
    );

    // ---- what follows by itself ----------------------------------------------------
    alice.goto(&format!("{base}{report_page}")).await.unwrap();
    assert_eq!(text(&alice, "case-state").await, "Published");
    shot(&alice, "walk-4-published").await;
    reporter.goto(&tracking_url).await.unwrap();
    assert!(text(&reporter, "status").await.contains("Published"));
    assert_eq!(text(&reporter, "cve-id").await, cve_id);
    assert_eq!(text(&reporter, "credit").await, "Rita R.");
    let advisory = text(&reporter, "advisory").await;
    assert_eq!(advisory, format!("{base}/advisories/{cve_id}"));
    shot(&reporter, "walk-5-tracking").await;
    // The advisory link works (the public pages refresh within seconds).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        reporter.goto(&advisory).await.unwrap();
        if reporter
            .source()
            .await
            .unwrap()
            .contains("Origin Validation Error")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the advisory never appeared");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    walked.push(advisory.clone());
    walked.push(format!("{base}/advisories"));
    // The reporter's mail (the demo desk writes mail to files).
    let mail_dir = data.join("demo").join("mail");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mails: Vec<String> = std::fs::read_dir(&mail_dir)
            .map(|d| {
                d.filter_map(Result::ok)
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        let to_rita: Vec<&String> = mails
            .iter()
            .filter(|m| m.contains("rita@example.org"))
            .collect();
        if to_rita
            .iter()
            .any(|m| m.contains(&format!("{cve_id} published")))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no publication mail to the reporter in {}: {} mails to her",
            mail_dir.display(),
            to_rita.len()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // ---- every page of the walk on a 360 px phone ------------------------------------
    let phone = browser_with(port, &dir.path().join("phone"), &chromium, Some((360, 740))).await;
    // Signed in as Alice on the phone (second factor and all).
    phone.goto(&format!("{base}/login")).await.unwrap();
    fill(&phone, "username", "alice").await;
    fill(&phone, "password", ADMIN_PASSWORD).await;
    click(&phone, "sign-in").await;
    wait_path(&phone, "/login/totp").await;
    fill(&phone, "code", &totp_now(&secret)).await;
    click(&phone, "verify-code").await;
    wait_path(&phone, "/desk").await;
    for url in &walked {
        assert_fits(&phone, url).await;
    }
    shot(&phone, "walk-6-phone").await;

    for c in [alice, bob, reporter, phone] {
        c.close().await.unwrap();
    }
    server.stop();
}
