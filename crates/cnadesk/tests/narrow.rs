//! Every page at 360 px wide without sideways scrolling, in a real headless
//! Chromium with its mobile emulation (a 360 × 740 phone), against the real
//! binary in demo mode: the public site before and after an advisory is
//! published, the reporter's tracking page, the sign-in pages, and the desk
//! as a member walks a case from report to published CVE record
//! (coordination with products and a vendor, the CVE page, the record
//! editor, a second member's approval). On each page the document may be no
//! wider than the phone (`scrollWidth <= 360`: a wider page makes mobile
//! Chromium zoom out, so `innerWidth` grows with it); a failure names the
//! page and its widest element. Every page also carries the demo banner.
//!
//! With `CNADESK_SCREENSHOTS=DIR`, each page is photographed (screen by
//! screen, from the top) into DIR.
//!
//! Needs `chromium` and `chromedriver`, so it is `#[ignore]`d: run it with
//! `-- --include-ignored`.

mod support;

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use support::browser::{
    browser_with, create_first_admin, enrol_totp, fill, find, path, require_chromium, start_driver,
    text, wait_for_child_text, wait_for_text, wait_path,
};
use support::{create_user, Server};

/// The phone: CSS pixels.
const WIDTH: u32 = 360;
const HEIGHT: u32 = 740;

/// What one page measured.
#[derive(Debug)]
struct Measured {
    page: String,
    scroll_width: i64,
    inner_width: i64,
    widest: String,
}

/// The document's width and, when it is too wide, its widest element (the
/// one reaching furthest right, outside any element that scrolls or clips
/// on its own), named by its ancestry and text.
const MEASURE: &str = r#"
const doc = document.documentElement;
const clipped = (node) => {
  for (let p = node.parentElement; p && p !== doc; p = p.parentElement) {
    const o = getComputedStyle(p).overflowX;
    if (o !== 'visible') return true;
  }
  return false;
};
const name = (el) => {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  if (typeof el.className === 'string' && el.className.trim()) s += '.' + el.className.trim().split(/\s+/).join('.');
  return s;
};
let widest = null, right = -1;
for (const el of document.body.querySelectorAll('*')) {
  const r = el.getBoundingClientRect();
  if (r.width === 0 && r.height === 0) continue;
  if (r.right > right + 0.5 && !clipped(el)) { right = r.right; widest = el; }
}
// Text overflowing its element (a long word) widens the page too: it is
// named by its element, marked "(text)".
let text = false;
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const range = document.createRange();
for (let n = walker.nextNode(); n; n = walker.nextNode()) {
  if (!n.textContent.trim() || clipped(n)) continue;
  range.selectNodeContents(n);
  const r = range.getBoundingClientRect();
  if (r.right > right + 0.5) { right = r.right; widest = n.parentElement; text = true; }
}
let described = '';
if (widest) {
  const chain = [];
  for (let e = widest; e && e !== document.body && chain.length < 5; e = e.parentElement) chain.unshift(name(e));
  const t = (widest.textContent || widest.value || '').replace(/\s+/g, ' ').trim().slice(0, 80);
  described = chain.join(' > ') + (text ? ' (text)' : '') + ' (right edge ' + Math.round(right) + ' px): "' + t + '"';
}
return [doc.scrollWidth, window.innerWidth, described];
"#;

/// Opens `target` (a path under `base`, or a full URL) and measures it.
async fn visit(c: &Client, base: &str, target: &str, name: &str, seen: &mut Vec<Measured>) {
    let url = if target.starts_with("http") {
        target.to_owned()
    } else {
        format!("{base}{target}")
    };
    c.goto(&url).await.unwrap();
    measure(c, name, seen).await;
}

/// Measures the page the browser is on (and photographs it).
async fn measure(c: &Client, name: &str, seen: &mut Vec<Measured>) {
    // The page has loaded when its footer is there (every page has one).
    let deadline = Instant::now() + Duration::from_secs(15);
    while c.find(Locator::Css("footer.site")).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "{name}: no page at {}",
            path(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A demo desk says so on every page.
    assert!(
        c.find(Locator::Id("demo-banner")).await.is_ok(),
        "{name}: no demo banner at {}",
        path(c).await
    );
    let v = c.execute(MEASURE, vec![]).await.unwrap();
    let v = v.as_array().unwrap();
    let m = Measured {
        page: format!("{name} ({})", path(c).await),
        scroll_width: v[0].as_i64().unwrap(),
        inner_width: v[1].as_i64().unwrap(),
        widest: v[2].as_str().unwrap_or_default().to_owned(),
    };
    eprintln!(
        "narrow: {:>4} / {} px  {}",
        m.scroll_width, m.inner_width, m.page
    );
    photograph(c, seen.len(), name).await;
    seen.push(m);
}

/// With `CNADESK_SCREENSHOTS`, the page screen by screen (at most three).
async fn photograph(c: &Client, n: usize, name: &str) {
    let Ok(dir) = std::env::var("CNADESK_SCREENSHOTS") else {
        return;
    };
    std::fs::create_dir_all(&dir).unwrap();
    let file: String = name
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect();
    let height = c
        .execute("return document.documentElement.scrollHeight", vec![])
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    let screens = (height + i64::from(HEIGHT) - 1) / i64::from(HEIGHT);
    for screen in 0..screens.clamp(1, 3) {
        c.execute(
            "window.scrollTo(0, arguments[0])",
            vec![serde_json::json!(screen * i64::from(HEIGHT))],
        )
        .await
        .unwrap();
        let png = c.screenshot().await.unwrap();
        std::fs::write(format!("{dir}/{n:02}-{file}-{screen}.png"), png).unwrap();
    }
    c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
}

/// Clicks the element matched by `css` from a script: a page too wide for
/// the phone is zoomed out, and a pointer click could miss it.
async fn click_css(c: &Client, css: &str) {
    // Fails (with the selector) when there is no such element.
    find_css(c, css).await;
    c.execute(
        "document.querySelector(arguments[0]).click()",
        vec![serde_json::json!(css)],
    )
    .await
    .unwrap_or_else(|e| panic!("{css}: {e}"));
}

/// Clicks the element with this id (see [`click_css`]).
async fn click(c: &Client, id: &str) {
    click_css(c, &format!("#{id}")).await;
}

/// Waits (up to 15 s) for an element matched by `css`.
async fn find_css(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Css(css))
        .await
    {
        Ok(el) => el,
        Err(e) => panic!("{css} on {}: {e}", path(c).await),
    }
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs chromium and chromedriver"]
async fn every_page_fits_a_phone() {
    let (chromium, chromedriver) = require_chromium("the narrow-screen test");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_with(&data, &["--demo"]);
    let base = server.base_url.clone();
    let setup_url = server.setup_url.clone().expect("setup link");
    let (_driver, port) = start_driver(&chromedriver).await;
    let phone = Some((WIDTH, HEIGHT));
    let member = browser_with(port, &dir.path().join("member"), &chromium, phone).await;
    let public = browser_with(port, &dir.path().join("public"), &chromium, phone).await;
    let mut seen = Vec::new();
    let seen = &mut seen;

    // A report through the API, with long words: an address, a URL.
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/reports"))
        .json(&serde_json::json!({
            "title": "Carbons accepted from any sender: https://example.org/a/rather/long/path/to/a/proof-of-concept",
            "product": "Prosody",
            "versions": "0.12.0,0.12.1,0.12.2,0.12.3,0.12.4-rc1,0.12.4-rc2,0.12.4-rc3",
            "description": "A remote entity can inject forged carbon copies; see https://example.org/a/rather/long/path/to/a/proof-of-concept/with-a-very-long-file-name.txt for the details.",
            "reporter_name": "Rita Reporter",
            "reporter_email": "rita.reporter.with.a.long.address@security-research.example.org",
            "credit": "Rita R.",
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tracking_url = created["tracking_url"].as_str().unwrap().to_owned();

    // The public site before anything is published, and the sign-in pages.
    for (name, target) in [
        ("home", "/"),
        ("report form", "/report"),
        ("scope", "/scope"),
        ("scope check", "/scope?product=Converse.js"),
        ("policy", "/policy"),
        ("contact", "/contact"),
        ("advisories (none)", "/advisories"),
        ("stats", "/stats"),
        ("team sign-in", "/login"),
        ("vendor sign-in", "/vendor/login"),
        ("not found", "/no/such/page"),
        ("advisory not found", "/advisories/CVE-2026-99999"),
    ] {
        visit(&public, &base, target, name, seen).await;
    }
    visit(&public, &base, &tracking_url, "tracking page", seen).await;

    // First-admin setup, on the phone.
    visit(&member, &base, &setup_url, "first-admin setup", seen).await;
    create_first_admin(&member, "ada", "Ada Admin").await;
    measure(&member, "two-factor enrolment", seen).await;
    // An admin enrols a second factor before using the desk.
    enrol_totp(&member).await;
    measure(&member, "two-factor enabled, with recovery codes", seen).await;

    // The queue and the report; then it becomes a case.
    visit(&member, &base, "/desk", "queue", seen).await;
    visit(&member, &base, "/desk/reports/1", "report", seen).await;
    click(&member, "accept").await;
    assert_eq!(text(&member, "case-state").await, "CVE reserved");
    measure(&member, "case", seen).await;
    fill(
        &member,
        "reply-body",
        "Thank you; https://example.org/another/rather/long/link/that/does/not/break/anywhere is our tracker.",
    )
    .await;
    click(&member, "send-reply").await;
    wait_for_text(&member, "our tracker").await;
    visit(&member, &base, "/desk?view=cases", "case list", seen).await;
    visit(
        &public,
        &base,
        &tracking_url,
        "tracking page with a reply",
        seen,
    )
    .await;

    // Coordination: a vulnerability of XEP-0280, the implementations found
    // for it as products, a vendor invited.
    visit(
        &member,
        &base,
        "/desk/cases/1/coordination",
        "coordination (empty)",
        seen,
    )
    .await;
    fill(&member, "title", "Carbons from any sender").await;
    fill(
        &member,
        "summary",
        "Clients accept carbons from entities other than the account's own server.",
    )
    .await;
    fill(&member, "xeps", "XEP-0280 v1.0.1 §11").await;
    click_css(&member, "#vulnerability-form button").await;
    wait_for_text(&member, "Implementations of XEP-0280").await;
    member
        .execute(
            "const boxes = document.querySelectorAll('form.candidates input[type=checkbox]:not([disabled])'); \
             for (const b of Array.from(boxes).slice(0, 3)) b.checked = true;",
            vec![],
        )
        .await
        .unwrap();
    click_css(&member, "form.candidates button").await;
    wait_for_text(&member, "id=\"row-").await;
    if member.find(Locator::Id("invite-form")).await.is_ok() {
        fill(
            &member,
            "email",
            "security-team.of.a.vendor.with.a.long.name@vendor.example.org",
        )
        .await;
        fill(&member, "contact_name", "Vera Vendor").await;
        member
            .execute(
                "document.querySelector('#invite-form input[type=checkbox]').checked = true;",
                vec![],
            )
            .await
            .unwrap();
        click_css(&member, "#invite-form button").await;
        wait_for_text(&member, "id=\"vendor-").await;
    }
    visit(
        &member,
        &base,
        "/desk/cases/1/coordination",
        "coordination",
        seen,
    )
    .await;

    // The CVE page: accepting reserved an ID from the demo CVE Services.
    visit(
        &member,
        &base,
        "/desk/cases/1/cve",
        "CVE page with an ID",
        seen,
    )
    .await;
    let cve_id = text(&member, "case-ids")
        .await
        .split_whitespace()
        .find(|w| w.starts_with("CVE-"))
        .expect("a reserved ID")
        .to_owned();

    // The record editor, then a saved version.
    visit(
        &member,
        &base,
        "/desk/cases/1/record",
        "record editor",
        seen,
    )
    .await;
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
        ("a0_vendor", "Prosody IM"),
        ("a0_product", "Prosody IM"),
        ("a0_introduced", "0.12.0"),
        ("a0_fixed", "0.12.4"),
        (
            "r0_url",
            "https://prosody.im/security/advisory_20261120/a-rather-long-path-without-any-place-to-break.txt",
        ),
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
    // Version 1 was drafted from the report on acceptance.
    wait_for_text(&member, "version 2").await;
    measure(&member, "record version", seen).await;
    visit(
        &member,
        &base,
        "/desk/cases/1/record",
        "record editor with a version",
        seen,
    )
    .await;
    visit(
        &member,
        &base,
        "/desk/cases/1/record/json",
        "record as JSON",
        seen,
    )
    .await;
    visit(
        &member,
        &base,
        "/desk/cases/1/cve",
        "CVE page to approve",
        seen,
    )
    .await;

    // A second member approves and publishes.
    create_user(
        &data.join("demo"),
        "bob",
        "bob@example.org",
        "another correct horse battery",
    );
    let bob = browser_with(port, &dir.path().join("bob"), &chromium, phone).await;
    bob.goto(&format!("{base}/login")).await.unwrap();
    fill(&bob, "username", "bob").await;
    fill(&bob, "password", "another correct horse battery").await;
    click(&bob, "sign-in").await;
    wait_path(&bob, "/desk").await;
    bob.goto(&format!("{base}/desk/cases/1/cve")).await.unwrap();
    click(&bob, "approve").await;
    wait_for_text(&bob, "Approved.").await;
    click(&bob, "publish").await;
    wait_for_child_text(&bob, "cve-notice", "Published").await;
    measure(&bob, "CVE page published", seen).await;
    visit(&bob, &base, "/desk/cases/1/cve/drift", "drift", seen).await;
    visit(
        &bob,
        &base,
        "/desk/cases/1/record/diff",
        "record changes",
        seen,
    )
    .await;

    // The public site with the advisory.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        public.goto(&format!("{base}/advisories")).await.unwrap();
        if public.source().await.unwrap().contains(&cve_id) {
            break;
        }
        assert!(Instant::now() < deadline, "the advisory never appeared");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    measure(&public, "advisories", seen).await;
    visit(
        &public,
        &base,
        &format!("/advisories/{cve_id}"),
        "advisory",
        seen,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        public.goto(&format!("{base}/transparency")).await.unwrap();
        if public.source().await.unwrap().contains(&cve_id) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the publication never reached the log"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    measure(&public, "transparency", seen).await;
    visit(&public, &base, "/", "home with an advisory", seen).await;

    // The rest of the desk.
    for (name, target) in [
        ("CVE IDs", "/desk/cve"),
        ("workload", "/desk/dashboard"),
        ("forecast", "/desk/forecast"),
        ("team", "/desk/team"),
        ("team calendar", "/desk/team/calendar"),
        ("rota", "/desk/rota"),
        ("ecosystem", "/desk/ecosystem"),
        ("ecosystem: new product", "/desk/ecosystem/new"),
        ("ecosystem: XEP-0280", "/desk/ecosystem/xeps/280"),
        ("notifications", "/desk/settings/notifications"),
        ("two-factor", "/account/totp"),
        ("API tokens", "/account/tokens"),
        ("accounts", "/admin/users"),
        ("outbox", "/admin/outbox"),
        ("quarantine", "/admin/mail/quarantine"),
        ("desk not found", "/desk/cases/99"),
    ] {
        visit(&member, &base, target, name, seen).await;
    }
    // A product of the registry, from the ecosystem index.
    member
        .goto(&format!("{base}/desk/ecosystem"))
        .await
        .unwrap();
    let product = member
        .find(Locator::Css("a[href^='/desk/ecosystem/products/']"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    visit(&member, &base, &product, "ecosystem product", seen).await;

    bob.close().await.unwrap();
    public.close().await.unwrap();
    member.close().await.unwrap();
    server.stop();

    let too_wide: Vec<String> = seen
        .iter()
        .filter(|m| m.scroll_width > i64::from(WIDTH))
        .map(|m| {
            format!(
                "{}: {} px wide (window {} px); widest: {}",
                m.page, m.scroll_width, m.inner_width, m.widest
            )
        })
        .collect();
    assert!(
        too_wide.is_empty(),
        "{} of {} pages scroll sideways at {WIDTH} px:\n{}",
        too_wide.len(),
        seen.len(),
        too_wide.join("\n")
    );
}
