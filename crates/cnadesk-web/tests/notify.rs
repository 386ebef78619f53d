//! Messages that reach people, against real servers: the acknowledgement
//! over a real SMTP server (encrypted to the reporter's key), inbound mail
//! through the desk's own SMTP listener (filed on the right case, bounces
//! and forgeries quarantined), XMPP to a real Prosody (the team room and a
//! member), and the choices members make.
//!
//! The tests against real SMTP and XMPP servers are `#[ignore]`d: the servers
//! are started by `.ci/run` (`.ci/test-servers.sh DIR`, then `source DIR/env`),
//! which runs them with `-- --include-ignored`; run so without the servers,
//! they fail.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use cnadesk_app::inbound::DeskMailSink;
use cnadesk_app::notify::{self, NotifyDesk};
use cnadesk_core::{ReportId, Role};
use cnadesk_notify::mail::{Mailer, Outgoing, SmtpSecurity, SmtpSettings, Transport};
use cnadesk_notify::openpgp::{decrypt_and_verify, SecretCert, SignatureCheck};
use cnadesk_notify::smtp_server::{self, ListenerConfig};
use cnadesk_notify::xmpp::{self, XmppNotifier, XmppSettings};
use cnadesk_store::prelude::*;
use cnadesk_store::{Channel, JobState, OutboxFilter};
use lettre::AsyncTransport;
use support::*;

const CNA: &str = "XSF CNA <security@xsf.test>";

/// The settings of a server the test needs (it is `#[ignore]`d), or the test
/// fails, in words.
fn server_env(names: &[&str]) -> Vec<String> {
    let values: Option<Vec<String>> = names.iter().map(|n| std::env::var(n).ok()).collect();
    values.unwrap_or_else(|| {
        panic!("this test needs {names:?}: start the servers with .ci/test-servers.sh DIR and source DIR/env")
    })
}

/// What went wrong with the messages, for assertion messages.
async fn outbox_errors(app: &TestApp) -> Vec<String> {
    app.store
        .outbox(OutboxFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| !m.last_error.is_empty())
        .map(|m| format!("{} {}: {}", m.template, m.recipient, m.last_error))
        .collect()
}

fn with_notify(app: &mut TestApp, desk: NotifyDesk) {
    app.state = app.state.clone().with_notify(desk);
    app.router = cnadesk_web::router(app.state.clone());
}

fn unique(prefix: &str) -> String {
    let n = cnadesk_core::Clock::now(&cnadesk_core::SystemClock).as_nanosecond();
    format!("{prefix}-{n}")
}

async fn json_report(app: &TestApp, body: serde_json::Value) -> (String, i64) {
    let r = app
        .send(
            Request::post("/api/v1/reports")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let j = r.json();
    let id = j["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("REP-")
        .parse()
        .unwrap();
    (j["tracking_token"].as_str().unwrap().to_owned(), id)
}

/// The armored OpenPGP message inside a raw e-mail.
fn armored_in(raw: &str) -> String {
    let start = raw
        .find("-----BEGIN PGP MESSAGE-----")
        .unwrap_or_else(|| panic!("no PGP message in:\n{raw}"));
    let end = raw[start..].find("-----END PGP MESSAGE-----").unwrap() + start + 25;
    raw[start..end].replace("\r\n", "\n")
}

/// Waits for the message the mailbox got for `rcpt` (Maildir `new/`).
async fn delivered_to(maildir: &Path, rcpt: &str) -> (String, serde_json::Value) {
    for _ in 0..100 {
        for entry in std::fs::read_dir(maildir.join("new")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let envelope: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            if envelope["rcpt_tos"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == rcpt)
            {
                let eml = path.with_extension("eml");
                return (std::fs::read_to_string(eml).unwrap(), envelope);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing delivered to {rcpt} in {}", maildir.display());
}

#[tokio::test]
#[ignore = "needs an SMTP server (.ci/test-servers.sh)"]
async fn the_acknowledgement_reaches_a_real_smtp_server_encrypted_to_the_reporter() {
    let env = server_env(&[
        "CNADESK_TEST_SMTP",
        "CNADESK_TEST_SMTP_USER",
        "CNADESK_TEST_SMTP_PASSWORD",
        "CNADESK_TEST_MAILDIR",
    ]);
    let (host, port) = env[0].rsplit_once(':').unwrap();
    let smtp = |password: &str| {
        Transport::Smtp(SmtpSettings {
            host: host.into(),
            port: port.parse().unwrap(),
            security: SmtpSecurity::None,
            username: Some(env[1].clone()),
            password: Some(password.to_owned().into()),
            ca_file: None,
        })
    };
    let cna = SecretCert::generate(CNA).unwrap();
    let reporter = SecretCert::generate("Rita <rita@example.org>").unwrap();
    let mut app = TestApp::new().await;
    let mailer = Mailer::new(CNA, &smtp(&env[2]), Some(cna.clone())).unwrap();
    with_notify(
        &mut app,
        NotifyDesk::new().with_mail(mailer).with_key(cna.clone()),
    );

    let address = format!("{}@example.org", unique("rita"));
    let (token, id) = json_report(
        &app,
        serde_json::json!({
            "title": "Carbons accepted from any sender",
            "product": "Prosody",
            "description": "Message carbons from any sender are accepted by the server.",
            "reporter_email": address,
            "pgp_key": reporter.public().to_armored(),
        }),
    )
    .await;
    let queued = app
        .store
        .outbox(OutboxFilter {
            report: Some(ReportId(id)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "queued with the report");
    assert!(
        !String::from_utf8_lossy(queued[0].sealed.as_deref().unwrap()).contains(&token),
        "the tracking link is sealed at rest"
    );

    let sent = notify::deliver_due(&app.state).await.unwrap();
    assert_eq!(sent.sent, 1, "{sent:?} {:?}", outbox_errors(&app).await);
    let (raw, envelope) = delivered_to(Path::new(&env[3]), &address).await;
    assert_eq!(
        envelope["auth"],
        serde_json::json!(true),
        "sent with SMTP AUTH"
    );
    assert_eq!(envelope["mail_from"], "security@xsf.test");
    assert!(raw.contains("multipart/encrypted"), "{raw}");
    assert!(raw.contains(&format!("Report #{id} received")), "{raw}");
    assert!(
        !raw.contains("Carbons"),
        "details outside the encryption:\n{raw}"
    );
    assert!(!raw.contains(&token), "the link outside the encryption");

    let clear =
        decrypt_and_verify(armored_in(&raw).as_bytes(), &reporter, &[&cna.public()]).unwrap();
    assert_eq!(
        clear.signature,
        SignatureCheck::Valid {
            fingerprint: cna.fingerprint()
        }
    );
    let text = String::from_utf8(clear.plaintext).unwrap();
    assert!(text.contains("Carbons accepted from any sender"), "{text}");
    assert!(text.contains(&format!("/track/{token}")), "{text}");
    assert!(text.contains(&format!("report #{id}")), "{text}");

    // The report page says who was told what.
    let mut mia = app.signed_in("mia", Role::Member).await;
    let page = mia.get(&format!("/desk/reports/{id}")).await;
    assert!(page.body.contains("id=\"sent\""), "{}", page.body);
    assert!(page.body.contains(&address) && page.body.contains("report ack"));

    // Delivered once: a second round sends nothing.
    assert_eq!(notify::deliver_due(&app.state).await.unwrap().sent, 0);

    // A server that does not answer: retried with growing pauses, then given
    // up, visible to the admin, who can queue it again.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let down = Mailer::new(
        CNA,
        &Transport::Smtp(SmtpSettings {
            host: "127.0.0.1".into(),
            port: closed.port(),
            security: SmtpSecurity::None,
            username: None,
            password: None,
            ca_file: None,
        }),
        Some(cna.clone()),
    )
    .unwrap();
    with_notify(
        &mut app,
        NotifyDesk::new().with_mail(down).with_key(cna.clone()),
    );
    let other = format!("{}@example.org", unique("sam"));
    json_report(
        &app,
        serde_json::json!({"title": "T", "product": "Prosody", "reporter_email": other,
            "description": "A description that is long enough."}),
    )
    .await;
    let mut pauses = Vec::new();
    for attempt in 1..=8 {
        let round = notify::deliver_due(&app.state).await.unwrap();
        let msg = &app.store.outbox(OutboxFilter::default()).await.unwrap()[0];
        if attempt < 8 {
            assert_eq!(round.retried, 1, "attempt {attempt}: {round:?}");
            assert_eq!(
                notify::deliver_due(&app.state).await.unwrap().retried,
                0,
                "not before its time"
            );
            let pause = msg.next_attempt_at_ms - msg.updated_at_ms;
            pauses.push(pause / 60_000);
            app.clock.advance(jiff::SignedDuration::from_millis(pause));
        } else {
            assert_eq!(round.failed, 1, "given up after 8 attempts: {round:?}");
            assert!(
                msg.last_error.contains("gave up after 8 attempts"),
                "{}",
                msg.last_error
            );
        }
    }
    assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 64], "minutes between attempts");
    let mut admin = app.signed_in("ada", Role::Admin).await;
    let page = admin.get("/admin/outbox?state=failed").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("failed after 8 tries"), "{}", page.body);
    assert!(page.body.contains(&other));
    let failed = app
        .store
        .outbox(OutboxFilter {
            state: Some(JobState::Failed),
            ..Default::default()
        })
        .await
        .unwrap();
    let r = admin
        .submit(
            "/admin/outbox",
            &format!("/admin/outbox/{}/retry", failed[0].id),
            &[],
        )
        .await;
    assert_eq!(r.location(), "/admin/outbox");
    let good = Mailer::new(CNA, &smtp(&env[2]), Some(cna.clone())).unwrap();
    with_notify(&mut app, NotifyDesk::new().with_mail(good).with_key(cna));
    assert_eq!(notify::deliver_due(&app.state).await.unwrap().sent, 1);
    let (raw, _) = delivered_to(Path::new(&env[3]), &other).await;
    assert!(raw.contains("multipart/alternative"), "no key: plain mail");
    assert!(raw.contains("Auto-Submitted: auto-generated"));
}

fn file_desk(dir: &Path, cna: &SecretCert) -> NotifyDesk {
    let mailer = Mailer::new(CNA, &Transport::File(dir.to_owned()), Some(cna.clone())).unwrap();
    NotifyDesk::new().with_mail(mailer).with_key(cna.clone())
}

fn mails_in(dir: &Path) -> Vec<String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().and_then(|e| e.to_str()) == Some("eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

#[tokio::test]
async fn team_messages_follow_the_encryption_policy_and_are_told_once() {
    let mut app = TestApp::new().await;
    let out = tempfile::tempdir().unwrap();
    let cna = SecretCert::generate(CNA).unwrap();
    with_notify(&mut app, file_desk(out.path(), &cna));
    let reporter = SecretCert::generate("Rita <rita@example.org>").unwrap();
    let (_, plain) = json_report(
        &app,
        serde_json::json!({"title": "No key", "product": "Prosody", "reporter_email": "nokey@example.org",
            "description": "A description that is long enough."}),
    )
    .await;
    let (_, keyed) = json_report(
        &app,
        serde_json::json!({"title": "With key", "product": "Prosody", "reporter_email": "key@example.org",
            "description": "A description that is long enough.", "pgp_key": reporter.public().to_armored()}),
    )
    .await;
    notify::deliver_due(&app.state).await.unwrap();
    let before = mails_in(out.path()).len();
    assert_eq!(
        before,
        2,
        "two acknowledgements: {:?}",
        outbox_errors(&app).await
    );

    let mut mia = app.signed_in("mia", Role::Member).await;
    for id in [plain, keyed] {
        let page = format!("/desk/reports/{id}");
        let r = mia
            .submit(
                &page,
                &format!("{page}/messages"),
                &[
                    ("visibility", "reporter"),
                    ("body", "Can you confirm 0.12.4 is affected?"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    notify::fan_out(&app.state).await.unwrap();
    assert_eq!(notify::fan_out(&app.state).await.unwrap(), 0, "told once");
    let mut rows: Vec<(String, String)> = app
        .store
        .outbox(OutboxFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.template != "report_ack")
        .map(|m| (m.template, m.recipient))
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("member_event".to_owned(), "mia@example.org".to_owned()),
            ("member_event".to_owned(), "mia@example.org".to_owned()),
            ("team_message".to_owned(), "key@example.org".to_owned()),
            ("team_message".to_owned(), "nokey@example.org".to_owned()),
        ],
        "the reporters get the team's message, the member hears of both new reports"
    );
    notify::deliver_due(&app.state).await.unwrap();
    let mails = mails_in(out.path());
    let to = |addr: &str| -> Vec<&String> {
        mails
            .iter()
            .filter(|m| m.contains(&format!("To: {addr}")))
            .collect()
    };
    let notice = to("nokey@example.org");
    let notice = notice
        .iter()
        .find(|m| m.contains("New message on report"))
        .expect("a notice to the reporter without a key");
    assert!(
        !notice.contains("0.12.4"),
        "details sent unencrypted:\n{notice}"
    );
    assert!(notice.contains("not in this e-mail"), "{notice}");
    assert!(
        notice.contains(&format!("Reply-To: security+r{plain}.")),
        "answers come back with the report's token:\n{notice}"
    );
    let sealed = to("key@example.org");
    let sealed = sealed
        .iter()
        .find(|m| m.contains("New message on report"))
        .expect("a message to the reporter with a key");
    assert!(!sealed.contains("0.12.4"));
    let clear =
        decrypt_and_verify(armored_in(sealed).as_bytes(), &reporter, &[&cna.public()]).unwrap();
    let text = String::from_utf8(clear.plaintext).unwrap();
    assert!(
        text.contains("Can you confirm 0.12.4 is affected?"),
        "{text}"
    );
    assert!(matches!(clear.signature, SignatureCheck::Valid { .. }));

    // Members are told about new reports by e-mail by default, without details.
    let to_mia = to("mia@example.org");
    assert!(to_mia
        .iter()
        .any(|m| m.contains(&format!("New report #{plain}"))));
    assert!(
        to_mia.iter().all(|m| !m.contains("With key")),
        "no details unencrypted"
    );
}

async fn smtp_listener(app: &TestApp) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(smtp_server::serve(
        listener,
        ListenerConfig {
            hostname: "xsf.test".into(),
            local_part: "security".into(),
            domain: "xsf.test".into(),
            max_bytes: 200_000,
        },
        DeskMailSink::new(app.state.app.clone()),
    ));
    addr
}

async fn send_raw(addr: std::net::SocketAddr, from: Option<&str>, to: &str, raw: &[u8]) {
    let transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous("127.0.0.1")
            .port(addr.port())
            .build();
    let envelope =
        lettre::address::Envelope::new(from.map(|f| f.parse().unwrap()), vec![to.parse().unwrap()])
            .unwrap();
    transport.send_raw(&envelope, raw).await.unwrap();
}

#[tokio::test]
async fn inbound_mail_lands_on_the_right_case_or_in_the_quarantine() {
    let mut app = TestApp::new().await;
    let out = tempfile::tempdir().unwrap();
    let cna = SecretCert::generate(CNA).unwrap();
    with_notify(&mut app, file_desk(out.path(), &cna));
    let addr = smtp_listener(&app).await;
    let reporter = SecretCert::generate("Rita <rita@example.org>").unwrap();
    let (_, first) = json_report(
        &app,
        serde_json::json!({"title": "Carbons", "product": "Prosody", "reporter_email": "rita@example.org",
            "description": "A description that is long enough.", "pgp_key": reporter.public().to_armored()}),
    )
    .await;
    let (_, second) = api_report(&app, "Other", "Another description long enough.").await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let case = accept_as_case(&app, &mut mia, first, "Carbons spoofing").await;

    // The reporter answers, encrypted to the CNA and signed, to the address
    // our mail carried; the listener files it on that report's case.
    let reply_to = app
        .state
        .notify
        .reply_address(&app.state, ReportId(first))
        .unwrap();
    let from: lettre::message::Mailbox = "Rita <rita@example.org>".parse().unwrap();
    let reply = cnadesk_notify::mail::build(
        &Outgoing {
            to: reply_to.clone(),
            subject: "Re: report".into(),
            text: "Yes, 0.12.4 is affected; patch attached soon.".into(),
            html: "<p>Yes, 0.12.4 is affected; patch attached soon.</p>".into(),
            reply_to: None,
            message_id: "reply-1@example.org".into(),
            encrypt_to: Some(cna.public()),
        },
        &from,
        Some(&reporter),
    )
    .unwrap()
    .formatted();
    // A person's mail: without the header the desk's own mail carries.
    let reply = String::from_utf8(reply)
        .unwrap()
        .replace("Auto-Submitted: auto-generated\r\n", "")
        .into_bytes();
    send_raw(addr, Some("rita@example.org"), &reply_to, &reply).await;
    send_raw(addr, Some("rita@example.org"), &reply_to, &reply).await;
    let messages = app.store.messages(ReportId(first), false).await.unwrap();
    assert_eq!(
        messages.len(),
        1,
        "filed once: {messages:?}; quarantined: {:?}",
        app.store.quarantined_mail(true).await.unwrap()
    );
    assert!(
        messages[0].body.contains("0.12.4 is affected"),
        "{}",
        messages[0].body
    );
    assert!(
        messages[0]
            .body
            .contains("signature checked against the key on file"),
        "{}",
        messages[0].body
    );
    assert!(app
        .store
        .messages(ReportId(second), true)
        .await
        .unwrap()
        .is_empty());
    let page = mia.get(&format!("/desk/reports/{first}")).await;
    assert!(page.body.contains("0.12.4 is affected"));
    assert_eq!(
        app.store
            .case_for_report(ReportId(first))
            .await
            .unwrap()
            .unwrap()
            .id
            .0,
        case
    );

    // A new report by mail, with an attachment; its sender is acknowledged.
    let new = b"From: Sam <sam@example.org>\r\nTo: security@xsf.test\r\nSubject: Dino crashes on a crafted vCard\r\n\
Message-ID: <new-1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nA crafted vCard avatar makes Dino crash on open.\r\n--b\r\n\
Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"poc.xml\"\r\n\r\n<vCard/>\r\n--b--\r\n";
    send_raw(addr, Some("sam@example.org"), "security@xsf.test", new).await;
    let reports = app.store.list_reports(Default::default()).await.unwrap();
    let by_mail = reports
        .iter()
        .find(|r| r.title == "Dino crashes on a crafted vCard")
        .expect("filed as a report");
    let report = app.store.report(by_mail.id).await.unwrap().unwrap();
    assert_eq!(report.channel, Channel::Email);
    assert_eq!(
        report.fields.reporter_email.as_deref(),
        Some("sam@example.org")
    );
    assert!(report.fields.description.contains("crafted vCard avatar"));
    let files = app.store.attachments(by_mail.id).await.unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].filename, "poc.xml");
    notify::deliver_due(&app.state).await.unwrap();
    assert!(
        mails_in(out.path())
            .iter()
            .any(|m| m.contains("To: sam@example.org") && m.contains("received")),
        "the sender by mail is acknowledged"
    );

    // Someone else who has the reply address: filed, but flagged, and a body
    // imitating the desk's note cannot pass for it.
    let forged_note =
        "From: mallory@example.org\r\nSubject: Re: report\r\nMessage-ID: <m-1@example.org>\r\n\r\n\
         [By e-mail from rita@example.org (the reporter's address); encrypted with OpenPGP, \
         signature checked against the key on file.]\r\nWithdraw the report.\r\n";
    send_raw(
        addr,
        Some("mallory@example.org"),
        &reply_to,
        forged_note.as_bytes(),
    )
    .await;
    let messages = app.store.messages(ReportId(first), false).await.unwrap();
    let last = &messages.last().unwrap().body;
    assert!(
        last.starts_with(
            "[By e-mail from mallory@example.org, NOT the reporter's address on file; not encrypted.]"
        ),
        "{last}"
    );

    // A bounce, an auto-reply and a forged token: quarantined, not filed.
    let count = app
        .store
        .list_reports(Default::default())
        .await
        .unwrap()
        .len();
    send_raw(
        addr,
        None,
        "security@xsf.test",
        b"From: MAILER-DAEMON@mx.example.org\r\nSubject: Undelivered Mail\r\n\r\ngone\r\n",
    )
    .await;
    send_raw(
        addr,
        Some("rita@example.org"),
        "security@xsf.test",
        b"From: rita@example.org\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\naway\r\n",
    )
    .await;
    let forged = format!("security+r{second}.000000000000000000000000@xsf.test");
    send_raw(
        addr,
        Some("eve@example.org"),
        &forged,
        b"From: eve@example.org\r\nSubject: Re: x\r\nMessage-ID: <eve@example.org>\r\n\r\nlet me in\r\n",
    )
    .await;
    assert_eq!(
        app.store
            .list_reports(Default::default())
            .await
            .unwrap()
            .len(),
        count
    );
    assert!(app
        .store
        .messages(ReportId(second), true)
        .await
        .unwrap()
        .is_empty());
    let mut admin = app.signed_in("ada", Role::Admin).await;
    let page = admin.get("/admin/mail/quarantine").await;
    assert_eq!(page.status, StatusCode::OK);
    for expected in ["bounce", "Auto-Submitted", "unknown token"] {
        assert!(page.body.contains(expected), "{expected}: {}", page.body);
    }
    let held = app.store.quarantined_mail(false).await.unwrap();
    assert_eq!(held.len(), 3);
    let one = admin
        .get(&format!("/admin/mail/quarantine/{}", held[0].id))
        .await;
    assert!(
        one.body.contains("let me in"),
        "the raw mail is shown (escaped)"
    );
    let raw = admin
        .get(&format!("/admin/mail/quarantine/{}/raw", held[0].id))
        .await;
    assert_eq!(
        raw.headers[header::CONTENT_TYPE],
        "application/octet-stream"
    );
    let r = admin
        .submit(
            &format!("/admin/mail/quarantine/{}", held[0].id),
            &format!("/admin/mail/quarantine/{}/release", held[0].id),
            &[],
        )
        .await;
    assert_eq!(r.location(), "/admin/mail/quarantine");
    assert_eq!(app.store.quarantined_mail(false).await.unwrap().len(), 2);
}

#[tokio::test]
async fn members_choose_channels_and_bad_keys_are_refused_with_the_input_kept() {
    let app = TestApp::new().await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    let page = mia.get("/desk/settings/notifications").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"email_new_report\" id=\"email_new_report\" value=\"1\" aria-label=\"A new report arrives by e-mail\" checked"));
    let r = mia
        .submit(
            "/desk/settings/notifications",
            "/desk/settings/notifications",
            &[
                ("jid", "mia@xmpp.example"),
                (
                    "openpgp_key",
                    "-----BEGIN PGP PUBLIC KEY BLOCK-----\nnot a key\n",
                ),
                ("xmpp_assigned", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("not an OpenPGP public key block"),
        "{}",
        r.body
    );
    assert!(r.body.contains("value=\"mia@xmpp.example\""), "input kept");
    assert!(
        app.store.member_contacts().await.unwrap().is_empty(),
        "nothing saved"
    );
    // Invisible characters in the address are refused like everywhere else.
    for bad in [
        "mia\0@xmpp.example",
        "mia@xmpp.\u{1}example",
        "\u{1b}mia@xmpp.example",
    ] {
        let r = mia
            .submit(
                "/desk/settings/notifications",
                "/desk/settings/notifications",
                &[("jid", bad), ("xmpp_assigned", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert!(r.body.contains("contains control characters"), "{}", r.body);
    }
    assert!(app.store.member_contacts().await.unwrap().is_empty());

    let key = SecretCert::generate("Mia <mia@example.org>").unwrap();
    let r = mia
        .submit(
            "/desk/settings/notifications",
            "/desk/settings/notifications",
            &[
                ("jid", "mia@xmpp.example"),
                ("openpgp_key", &key.public().to_armored()),
                ("xmpp_assigned", "1"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/desk/settings/notifications?saved=1");
    let page = mia.get("/desk/settings/notifications?saved=1").await;
    assert!(
        page.body.contains(&key.fingerprint()),
        "the key's fingerprint is shown"
    );
    let prefs = app.store.notification_prefs().await.unwrap();
    let assigned = prefs.iter().find(|p| p.event == "assigned").unwrap();
    assert!(!assigned.email && assigned.xmpp);
    assert!(prefs
        .iter()
        .filter(|p| p.event != "assigned")
        .all(|p| !p.email && !p.xmpp));
    let r = mia
        .submit(
            "/desk/settings/notifications",
            "/desk/settings/notifications",
            &[("jid", "not a jid")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("is not an XMPP address"));
}

#[tokio::test]
async fn a_reporter_key_that_cannot_encrypt_is_refused_at_intake() {
    let app = TestApp::new().await;
    let r = app
        .send(
            Request::post("/api/v1/reports")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    serde_json::json!({"title": "T", "product": "Prosody",
                        "description": "A description that is long enough.",
                        "pgp_key": "-----BEGIN PGP PUBLIC KEY BLOCK-----\nxx\n-----END PGP PUBLIC KEY BLOCK-----"})
                    .to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("pgp_key"), "{}", r.body);
}

#[tokio::test]
#[ignore = "needs Prosody (.ci/test-servers.sh)"]
async fn xmpp_notifications_reach_the_team_room_and_a_member() {
    let env = server_env(&[
        "CNADESK_TEST_XMPP_SERVER",
        "CNADESK_TEST_XMPP_DOMAIN",
        "CNADESK_TEST_XMPP_BOT_PASSWORD",
        "CNADESK_TEST_XMPP_ALICE_PASSWORD",
        "CNADESK_TEST_XMPP_WATCHER_PASSWORD",
        "CNADESK_TEST_XMPP_ROOM",
    ]);
    let (server, domain, room) = (&env[0], &env[1], &env[5]);
    let account = |user: &str, password: &str| xmpp::TestAccount {
        jid: format!("{user}@{domain}"),
        password: password.to_owned(),
        server: server.clone(),
    };
    let nick = unique("watcher");
    let watcher = tokio::spawn(xmpp::collect(
        account("watcher", &env[4]),
        Some((room.clone(), nick)),
        Duration::from_secs(15),
    ));
    let alice = tokio::spawn(xmpp::collect(
        account("alice", &env[3]),
        None,
        Duration::from_secs(15),
    ));
    tokio::time::sleep(Duration::from_secs(2)).await;

    let mut app = TestApp::new().await;
    let notifier = XmppNotifier::spawn(XmppSettings {
        jid: format!("cnadesk-bot@{domain}"),
        password: env[2].clone().into(),
        server: Some(server.clone()),
        tls: false,
        room: Some(room.clone()),
        nick: unique("cnadesk"),
    });
    with_notify(
        &mut app,
        NotifyDesk::new().with_xmpp(notifier, Some(room.clone())),
    );
    for _ in 0..150 {
        if app.state.notify.xmpp_connected() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        app.state.notify.xmpp_connected(),
        "the bot came online and joined the room"
    );
    let alice_user = app.user("alice", Role::Member).await;
    app.store
        .save_member_contact(
            cnadesk_store::MemberContact {
                user: alice_user.id,
                jid: format!("alice@{domain}"),
                openpgp_key: String::new(),
            },
            &cnadesk_core::Actor::system("test"),
            0,
        )
        .await
        .unwrap();
    let (_, id) = api_report(
        &app,
        "Secret carbons title",
        "Message carbons accepted from anyone.",
    )
    .await;
    assert!(notify::fan_out(&app.state).await.unwrap() >= 2);
    let round = notify::deliver_due(&app.state).await.unwrap();
    assert_eq!(round.sent, 2, "{round:?} {:?}", outbox_errors(&app).await);

    let headline = format!("New report #{id}");
    let seen = watcher.await.unwrap().unwrap();
    let in_room: Vec<_> = seen
        .iter()
        .filter(|m| m.kind == "groupchat" && m.body.contains(&headline))
        .collect();
    assert_eq!(in_room.len(), 1, "{seen:?}");
    assert!(in_room[0].body.contains(&format!("/desk/reports/{id}")));
    assert!(
        seen.iter().all(|m| !m.body.contains("Secret carbons")),
        "no details in the room"
    );
    let direct = alice.await.unwrap().unwrap();
    assert!(
        direct.iter().any(|m| m.kind == "chat"
            && m.body.contains(&headline)
            && m.from.starts_with("cnadesk-bot@")),
        "{direct:?}"
    );
}

#[tokio::test]
async fn switching_notifications_on_does_not_tell_old_news() {
    let mut app = TestApp::new().await;
    app.user("mia", Role::Member).await;
    let (_, old) = api_report(&app, "Before mail", "A description that is long enough.").await;
    // No channel: the fan-out passes the events by.
    assert_eq!(notify::fan_out(&app.state).await.unwrap(), 0);
    let out = tempfile::tempdir().unwrap();
    let cna = SecretCert::generate(CNA).unwrap();
    with_notify(&mut app, file_desk(out.path(), &cna));
    let (_, new) = api_report(&app, "After mail", "A description that is long enough.").await;
    notify::fan_out(&app.state).await.unwrap();
    let told: Vec<String> = app
        .store
        .outbox(OutboxFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.template == "member_event")
        .map(|m| m.context["headline"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(told, [format!("New report #{new}")], "not #{old}");
}
