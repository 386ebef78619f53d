//! The public face: a published case appears on the advisory index, its
//! page, its downloads (which pass their schemas), the Atom feeds and the
//! transparency log, which verifies; an embargoed case appears nowhere until
//! its end, and its transparency entries are sealed until then and revealed
//! as committed.

mod support;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use cnadesk_app::coordination::sweep as coordination_sweep;
use cnadesk_app::transparency;
use cnadesk_core::audit::AuditAction;
use cnadesk_core::Role;
use cnadesk_transparency::{check_extends, verify, Head};
use jiff::SignedDuration;
use support::{
    carbons_case, case_cve_id, record_fields, reserve, save_record, set_embargo_in, Browser, Reply,
    TestApp,
};

/// A case with a reserved ID and a record that a second member approved.
async fn approved_case(
    app: &TestApp,
    ada: &mut Browser<'_>,
    bob: &mut Browser<'_>,
    title: &str,
) -> (i64, String) {
    let n = carbons_case(app, ada, title).await;
    let r = reserve(ada, n, "1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let cve = case_cve_id(app, n).await;
    save_record(ada, n, 0, &record_fields(&cve, "0.12.4")).await;
    let page = format!("/desk/cases/{n}/cve");
    let r = bob
        .submit(&page, &format!("{page}/approve"), &[("version", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    (n, cve)
}

async fn publish(ada: &mut Browser<'_>, n: i64) {
    let page = format!("/desk/cases/{n}/cve");
    let r = ada
        .submit(&page, &format!("{page}/publish"), &[("version", "1")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/desk/cases/{n}/cve?done=published"));
}

async fn get(app: &TestApp, path: &str) -> Reply {
    app.send(Request::get(path).body(Body::empty()).unwrap())
        .await
}

async fn get_with(app: &TestApp, path: &str, name: header::HeaderName, value: &str) -> Reply {
    app.send(
        Request::get(path)
            .header(name, value)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn log_and_head(app: &TestApp) -> (String, Head) {
    let log = get(app, "/transparency/log.jsonl").await;
    assert_eq!(log.status, StatusCode::OK);
    assert!(log.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/jsonl"));
    let head = get(app, "/transparency/head").await;
    assert_eq!(head.status, StatusCode::OK);
    (log.body, serde_json::from_str(&head.body).unwrap())
}

/// The string values of the entries' contents that are not hex digests.
fn words_of(log: &str) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) if !s.chars().all(|c| c.is_ascii_hexdigit()) => {
                out.push(s.clone());
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            serde_json::Value::Object(m) => m.values().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for line in log.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        walk(&entry["content"], &mut out);
    }
    out
}

fn feed_entries(xml: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(xml).expect("the feed is well-formed XML");
    let atom = "http://www.w3.org/2005/Atom";
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().name(), "feed");
    assert_eq!(feed.tag_name().namespace(), Some(atom));
    // RFC 4287: a feed has an id, a title, an updated date and an author
    // (or every entry has one), and a self link.
    for required in ["id", "title", "updated", "author"] {
        assert!(
            feed.children()
                .any(|c| c.tag_name().name() == required && c.tag_name().namespace() == Some(atom)),
            "feed lacks {required}"
        );
    }
    assert!(feed
        .children()
        .any(|c| c.tag_name().name() == "link" && c.attribute("rel") == Some("self")));
    feed.children()
        .filter(|c| c.tag_name().name() == "entry")
        .map(|e| {
            let child = |name: &str| {
                e.children()
                    .find(|c| c.tag_name().name() == name)
                    .and_then(|c| c.text())
                    .unwrap_or_else(|| panic!("entry lacks {name}"))
                    .to_owned()
            };
            // Every entry has an id, a title, an updated date and a link.
            let updated = child("updated");
            assert!(
                updated.ends_with('Z') && updated.parse::<jiff::Timestamp>().is_ok(),
                "{updated}"
            );
            assert!(e.children().any(|c| c.tag_name().name() == "link"));
            (child("id"), child("title"))
        })
        .collect()
}

#[tokio::test]
async fn a_published_case_is_on_the_public_site_with_valid_downloads_feeds_and_log() {
    let (app, _double) = TestApp::with_cve_double().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let mut bob = app.signed_in("bob", Role::Member).await;

    let empty = get(&app, "/advisories").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.contains("No advisory has been published yet"));

    let (n, cve) = approved_case(&app, &mut ada, &mut bob, "Carbons spoofing").await;
    // Approved is not published: nothing public yet.
    assert!(!get(&app, "/advisories").await.body.contains(&cve));
    assert_eq!(
        get(&app, &format!("/advisories/{cve}")).await.status,
        StatusCode::NOT_FOUND
    );
    publish(&mut ada, n).await;

    // The index lists it, and its filters work.
    let index = get(&app, "/advisories").await;
    assert!(
        index.body.contains(&format!("href=\"/advisories/{cve}\"")),
        "{}",
        index.body
    );
    assert!(index.body.contains("Message carbons spoofing in Prosody"));
    assert!(index
        .body
        .contains("rel=\"alternate\" type=\"application/atom+xml\""));
    assert!(
        !index.headers.contains_key(header::SET_COOKIE),
        "public pages set no cookie"
    );
    for (query, listed) in [
        ("?severity=medium", true),
        ("?severity=critical", false),
        ("?product=Prosody", true),
        ("?product=Gajim", false),
        ("?q=carbons+prosody", true),
        ("?q=openfire", false),
        (&format!("?q={}", cve.to_lowercase()), true),
        (
            &format!(
                "?year={}",
                cnadesk_core::Clock::now(&cnadesk_core::SystemClock).strftime("%Y")
            ),
            true,
        ),
        ("?year=1999", false),
    ] {
        let r = get(&app, &format!("/advisories{query}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.body.contains(&format!("/advisories/{cve}\"")),
            listed,
            "{query}"
        );
    }

    // The advisory page.
    let page = get(&app, &format!("/advisories/{cve}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let b = &page.body;
    assert!(b.contains("Prosody before 0.12.4 accepts message carbons from any sender"));
    assert!(
        b.contains("MEDIUM") && b.contains("6.5"),
        "severity with the score"
    );
    assert!(b.contains("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N"));
    assert!(
        b.contains("<td>Attack vector</td><td>Network</td>"),
        "the vector explained"
    );
    assert!(b.contains("<td>User interaction</td><td>Required</td>"));
    assert!(b.contains("0.12.0 to before 0.12.4"), "affected versions");
    assert!(
        b.contains(
            "<td data-label=\"Affected\">0.12.0 to before 0.12.4</td><td data-label=\"Fixed\">0.12.4</td>"
        ),
        "affected and fixed versions side by side"
    );
    assert!(b.contains("Rita Reporter"), "credits");
    assert!(
        b.contains("https://prosody.im/security/advisory_20261120/"),
        "references"
    );
    assert!(b.contains("CWE-346"));
    assert!(b.contains("Advisory published"), "timeline");
    assert!(b.contains(&format!(
        "property=\"og:url\" content=\"http://127.0.0.1:8080/advisories/{cve}\""
    )));
    assert!(b.contains("property=\"og:type\" content=\"article\""));
    // Validators and conditional requests.
    let etag = page.headers[header::ETAG].to_str().unwrap().to_owned();
    assert!(page.headers.contains_key(header::LAST_MODIFIED));
    assert_eq!(page.headers[header::CACHE_CONTROL], "public, max-age=60");
    // Lists change with every publication: revalidated on every use.
    assert_eq!(
        get(&app, "/advisories").await.headers[header::CACHE_CONTROL],
        "public, no-cache"
    );
    let again = get_with(
        &app,
        &format!("/advisories/{cve}"),
        header::IF_NONE_MATCH,
        &etag,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.bytes.is_empty());
    let other = get_with(
        &app,
        &format!("/advisories/{cve}"),
        header::IF_NONE_MATCH,
        "\"x\"",
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
    // Dates alone never give a 304: a combined page cannot tell by date
    // whether an advisory left it.
    let since = page.headers[header::LAST_MODIFIED]
        .to_str()
        .unwrap()
        .to_owned();
    let again = get_with(
        &app,
        &format!("/advisories/{cve}"),
        header::IF_MODIFIED_SINCE,
        &since,
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    // The strong form of the tag matches too (weak comparison).
    let strong = etag.trim_start_matches("W/");
    let again = get_with(
        &app,
        &format!("/advisories/{cve}"),
        header::IF_NONE_MATCH,
        strong,
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    // Compressed when asked.
    let gz = get_with(
        &app,
        &format!("/advisories/{cve}"),
        header::ACCEPT_ENCODING,
        "gzip",
    )
    .await;
    assert_eq!(gz.headers[header::CONTENT_ENCODING], "gzip");
    assert!(gz.bytes.len() < page.bytes.len());
    let br = get_with(&app, "/advisories", header::ACCEPT_ENCODING, "br").await;
    assert_eq!(br.headers[header::CONTENT_ENCODING], "br");
    // Case-insensitive, and the case's own name leads to the same page.
    assert_eq!(
        get(&app, &format!("/advisories/{}", cve.to_lowercase()))
            .await
            .status,
        StatusCode::OK
    );

    // Downloads pass their schemas.
    let record = get(&app, &format!("/advisories/{cve}.json")).await;
    assert_eq!(record.status, StatusCode::OK);
    assert_eq!(record.headers[header::CONTENT_TYPE], "application/json");
    let doc: serde_json::Value = record.json();
    assert_eq!(doc["cveMetadata"]["cveId"], cve.as_str());
    assert_eq!(doc["cveMetadata"]["state"], "PUBLISHED");
    let problems = cnadesk_cve::SchemaSet::default_set().validate(&doc);
    assert!(problems.is_empty(), "CVE record: {problems:?}");
    let osv = get(&app, &format!("/advisories/{cve}.osv.json")).await;
    assert_eq!(osv.status, StatusCode::OK);
    assert_eq!(osv.headers[header::CONTENT_TYPE], "application/json");
    let osv = osv.json();
    assert_eq!(osv["id"], cve.as_str());
    assert_eq!(cnadesk_cve::osv::validate_osv(&osv), Vec::<String>::new());
    let csaf = get(&app, &format!("/advisories/{cve}.csaf.json")).await;
    assert_eq!(csaf.status, StatusCode::OK);
    let csaf = csaf.json();
    assert_eq!(
        cnadesk_cve::csaf::validate_csaf_schema(&csaf),
        Vec::<String>::new()
    );
    assert!(cnadesk_cve::csaf::mandatory_tests(&csaf).is_empty());
    assert_eq!(
        get(&app, &format!("/advisories/{cve}.xml")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/advisories/CVE-2026-99999.json").await.status,
        StatusCode::NOT_FOUND
    );

    // The feeds.
    let feed = get(&app, "/advisories.atom").await;
    assert_eq!(feed.status, StatusCode::OK);
    assert_eq!(
        feed.headers[header::CONTENT_TYPE],
        "application/atom+xml; charset=utf-8"
    );
    let entries = feed_entries(&feed.body);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0].0,
        format!("http://127.0.0.1:8080/advisories/{cve}")
    );
    assert!(entries[0].1.starts_with(&cve));
    assert_eq!(
        feed_entries(&get(&app, "/advisories.atom?product=prosody").await.body).len(),
        1
    );
    assert!(feed_entries(&get(&app, "/advisories.atom?product=gajim").await.body).is_empty());

    // The transparency log records the reservation (a count) and the
    // publication, and verifies against the signed head.
    let (appended, _) = transparency::sweep(&app.state).await.unwrap();
    assert!(appended >= 3, "{appended}");
    let (log, head) = log_and_head(&app).await;
    let key = app.state.log_key.public_hex();
    let v = verify(&log, &head, Some(&key)).expect("the served log verifies");
    assert_eq!(v.entries, head.size);
    assert!(log.contains("\"type\":\"cve.reserved\""));
    assert!(log.contains(&format!("\"cve_id\":\"{cve}\"")), "{log}");
    assert!(log.contains("\"type\":\"cve.published\""));
    // Nothing personal: no member or reporter names, no free text. (Only
    // the words of the entries: hashes are hex and may spell "ada".)
    let words = words_of(&log);
    for private in ["ada", "bob", "Rita", "member:"] {
        assert!(
            !words.iter().any(|w| w.contains(private)),
            "{private} in the log: {words:?}"
        );
    }
    // A second sweep appends nothing; the transparency page shows the log.
    assert_eq!(transparency::sweep(&app.state).await.unwrap(), (0, 0));
    let page = get(&app, "/transparency").await;
    assert!(page.body.contains(&key));
    assert!(page.body.contains(AuditAction::CvePublished.as_str()));
    // A tampered copy fails.
    let tampered = log.replacen(&cve, "CVE-2026-0000", 1);
    assert!(verify(&tampered, &head, Some(&key)).is_err());

    // A dispute of the published record and its outcome are logged, the
    // member's reasons are not.
    let report_page = format!("/desk/reports/{n}");
    let transition = format!("/desk/cases/{n}/transition");
    // (The case's own state follows by hand: accepted, CVE reserved, published.)
    for (to, reason) in [
        ("cve_reserved", ""),
        ("published", ""),
        (
            "disputed",
            "DISPUTE-REASON-1: the vendor says it is a feature",
        ),
        ("published", "DISPUTE-REASON-2: reproduced again"),
    ] {
        let r = ada
            .submit(&report_page, &transition, &[("to", to), ("reason", reason)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{to}: {}", r.body);
    }
    transparency::sweep(&app.state).await.unwrap();
    let (log, head) = log_and_head(&app).await;
    verify(&log, &head, Some(&key)).unwrap();
    let case_ref = format!("\"case\":\"CASE-{n}\"");
    assert!(
        log.lines()
            .any(|l| l.contains("dispute.opened") && l.contains(&case_ref)),
        "{log}"
    );
    assert!(log
        .lines()
        .any(|l| l.contains("dispute.resolved") && l.contains("record upheld")));
    assert!(!log.contains("DISPUTE-REASON"));
}

#[tokio::test]
async fn an_embargoed_case_appears_nowhere_publicly_before_its_end() {
    let (app, _double) = TestApp::with_cve_double().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let mut bob = app.signed_in("bob", Role::Member).await;
    let title = "Embargoed carbons flaw in Prosody";
    let (n, cve) = approved_case(&app, &mut ada, &mut bob, title).await;
    set_embargo_in(&app, &mut ada, n, 2).await;
    transparency::sweep(&app.state).await.unwrap();
    let (sealed_log, head) = log_and_head(&app).await;
    let key = app.state.log_key.public_hex();
    let before = verify(&sealed_log, &head, Some(&key)).unwrap();
    assert!(
        before.sealed >= 3,
        "case opened, scope decision and embargo are sealed: {before:?}"
    );

    // Nowhere public: index, page, downloads, feed, log.
    let case_name = format!("CASE-{n}");
    for path in [
        "/advisories".to_owned(),
        "/advisories?q=carbons".to_owned(),
        "/advisories.atom".to_owned(),
        "/advisories.atom?product=prosody".to_owned(),
        "/transparency/log.jsonl".to_owned(),
        "/transparency".to_owned(),
    ] {
        let r = get(&app, &path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        for secret in [cve.as_str(), title, case_name.as_str(), "prosody"] {
            if path.contains(secret) {
                continue; // the query itself, echoed in the feed's title
            }
            assert!(!r.body.contains(secret), "{secret} on {path}");
        }
    }
    for suffix in ["", ".json", ".osv.json", ".csaf.json"] {
        let r = get(&app, &format!("/advisories/{cve}{suffix}")).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{suffix}");
    }
    assert_eq!(
        get(&app, &format!("/advisories/{case_name}")).await.status,
        StatusCode::NOT_FOUND
    );

    // The end passes: the worker lifts the embargo, publishes the
    // advisory and queues the approved record.
    app.clock.advance(SignedDuration::from_hours(3));
    let done = coordination_sweep(&app.state).await.unwrap();
    assert_eq!((done.lifted, done.publications), (1, 1));
    let r = get(&app, &format!("/advisories/{cve}")).await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "the advisory is public at the lift"
    );
    assert!(get(&app, "/advisories").await.body.contains(&cve));
    // The queued publication runs; the record is then downloadable.
    app.state.cve.as_ref().unwrap().run_due().await.unwrap();
    let record = get(&app, &format!("/advisories/{cve}.json")).await;
    assert_eq!(record.status, StatusCode::OK);
    assert!(cnadesk_cve::SchemaSet::default_set()
        .validate(&record.json())
        .is_empty());
    assert_eq!(
        feed_entries(&get(&app, "/advisories.atom").await.body).len(),
        1
    );

    // The sealed entries are revealed as they were committed.
    let (_, revealed) = transparency::sweep(&app.state).await.unwrap();
    assert!(revealed >= before.sealed as usize, "{revealed}");
    let (open_log, head) = log_and_head(&app).await;
    let after = verify(&open_log, &head, Some(&key)).unwrap();
    assert_eq!(after.sealed, 0);
    check_extends(&sealed_log, &open_log).expect("the revealed log extends the sealed one");
    assert!(open_log.contains(&format!("\"case\":\"{case_name}\"")));
    assert!(open_log.contains("\"type\":\"embargo.set\""));
    assert!(open_log.contains("\"type\":\"embargo.lifted\""));
    assert!(
        open_log.contains("\"product\":\"prosody-im\""),
        "{open_log}"
    );
}

#[tokio::test]
async fn policy_contact_and_security_txt() {
    let app = TestApp::new().await;
    let txt = get(&app, "/.well-known/security.txt").await;
    assert_eq!(txt.status, StatusCode::OK);
    assert_eq!(
        txt.headers[header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    let fields: Vec<(&str, &str)> = txt
        .body
        .lines()
        .filter_map(|l| l.split_once(": "))
        .collect();
    let field = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    // RFC 9116: Contact and Expires are required; Expires less than a year ahead.
    assert_eq!(field("Contact"), Some("http://127.0.0.1:8080/report"));
    let expires: jiff::Timestamp = field("Expires").unwrap().parse().unwrap();
    let now = app.state.clock.now();
    assert!(expires > now && expires < now + SignedDuration::from_hours(366 * 24));
    assert_eq!(
        field("Canonical"),
        Some("http://127.0.0.1:8080/.well-known/security.txt")
    );
    assert_eq!(field("Policy"), Some("http://127.0.0.1:8080/policy"));
    assert!(
        field("Encryption").is_none(),
        "no key configured, none announced"
    );

    let policy = get(&app, "/policy").await;
    assert_eq!(policy.status, StatusCode::OK);
    assert!(policy.body.contains("Embargo"));
    assert!(policy.body.contains("72 hours"));
    assert!(policy.body.contains("id=\"targets\""));
    let contact = get(&app, "/contact").await;
    assert_eq!(contact.status, StatusCode::OK);
    assert!(contact.body.contains("/.well-known/security.txt"));
    // Pages rendered per request get validators too, and no cookie.
    for path in ["/scope", "/stats", "/transparency", "/policy"] {
        let r = get(&app, path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert!(!r.headers.contains_key(header::SET_COOKIE), "{path}");
        assert!(
            r.headers[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .starts_with("public"),
            "{path}"
        );
        let etag = r.headers[header::ETAG].to_str().unwrap().to_owned();
        let again = get_with(&app, path, header::IF_NONE_MATCH, &etag).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED, "{path}");
    }
    // An empty log still has a signed head that verifies.
    let (log, head) = log_and_head(&app).await;
    assert_eq!(head.size, 0);
    verify(&log, &head, Some(&app.state.log_key.public_hex())).unwrap();
}

#[tokio::test]
async fn error_pages_carry_the_cna_name() {
    let mut config = cnadesk_web::WebConfig::default();
    config.settings.cna_name = "Example Foundation".into();
    let app = TestApp::with_config(config).await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let desk = ada.get("/desk/cases/99").await;
    // A public page is compressed when the client accepts it; its error
    // page is rendered again, whole and uncompressed.
    let public = get_with(
        &app,
        "/advisories/CVE-2026-99999",
        header::ACCEPT_ENCODING,
        "gzip",
    )
    .await;
    for r in [get(&app, "/no/such/page").await, public, desk] {
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(r.headers.get(header::CONTENT_ENCODING).is_none());
        assert!(
            r.body
                .contains("<title>Not Found · Example Foundation CNA</title>"),
            "{}",
            r.body
        );
        assert!(r.body.contains("<strong>Example Foundation</strong>"));
        assert!(!r.body.contains("cnadesk"), "{}", r.body);
    }
}

#[tokio::test]
async fn a_demo_desk_says_so_on_every_page_and_links_nothing_to_cve_org() {
    let (app, _double) =
        TestApp::with_cve_double_in(cnadesk_cve_workflow::Environment::Demo, false).await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let mut bob = app.signed_in("bob", Role::Member).await;
    let (n, cve) = approved_case(&app, &mut ada, &mut bob, "Carbons spoofing").await;
    publish(&mut ada, n).await;
    let advisory = format!("/advisories/{cve}");
    for path in ["/", "/report", "/advisories", &advisory, "/no/such/page"] {
        let r = get(&app, path).await;
        assert!(r.body.contains("id=\"demo-banner\""), "{path}");
        assert!(r.body.contains("CVE Services is simulated"), "{path}");
        assert!(!r.body.contains("cve.org"), "{path}: {}", r.body);
    }
    assert!(get(&app, &advisory).await.body.contains(&cve));
    for path in ["/desk", &format!("/desk/cases/{n}/cve")] {
        let r = ada.get(path).await;
        assert!(r.body.contains("id=\"demo-banner\""), "{path}");
    }
}

#[tokio::test]
async fn a_desk_on_the_cve_program_links_its_ids_to_cve_org_and_shows_no_banner() {
    let (app, _double) = TestApp::with_cve_double().await;
    let mut ada = app.signed_in("ada", Role::Member).await;
    let mut bob = app.signed_in("bob", Role::Member).await;
    let (n, cve) = approved_case(&app, &mut ada, &mut bob, "Carbons spoofing").await;
    publish(&mut ada, n).await;
    let page = get(&app, &format!("/advisories/{cve}")).await.body;
    assert!(page.contains(&format!("https://www.cve.org/CVERecord?id={cve}")));
    assert!(!page.contains("demo-banner"));
    // The record names vendor and product alike: said once.
    assert!(
        page.contains("<td data-label=\"Product\">Prosody</td>"),
        "{page}"
    );
}
