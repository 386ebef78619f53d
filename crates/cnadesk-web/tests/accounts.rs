//! First-run setup, sign-in, the second factor and its recovery codes,
//! sessions, invitations, passwords and accounts.

mod support;

use axum::http::{header, StatusCode};
use cnadesk_app::accounts::AccountSettings;
use cnadesk_core::audit::AuditAction;
use cnadesk_core::Role;
use cnadesk_store::prelude::*;
use cnadesk_web::security::sha256_hex;
use cnadesk_web::{Settings, WebConfig};
use support::{Browser, ClockExt, TestApp, PASSWORD};

fn code_at(secret_b32: &str, unix: i64) -> String {
    let secret = data_encoding::BASE32_NOPAD
        .decode(secret_b32.as_bytes())
        .unwrap();
    cnadesk_web::auth::totp(secret)
        .unwrap()
        .generate(unix as u64)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> &'a str {
    let from = s.find(start).unwrap() + start.len();
    &s[from..from + s[from..].find(end).unwrap()]
}

#[tokio::test]
async fn setup_link_creates_the_first_admin_once() {
    let app = TestApp::new().await;
    let now = app.state.now_ms();
    app.store
        .put_setup_token(&sha256_hex("tok"), now + 60_000)
        .await
        .unwrap();
    let mut b = app.browser();
    let page = b.get("/setup/tok").await;
    assert_eq!(page.status, StatusCode::OK);
    // Bad input is explained and kept (except passwords).
    let r = b
        .submit(
            "/setup/tok",
            "/setup/tok",
            &[
                ("username", "Ada Admin"),
                ("display_name", "Ada"),
                ("email", "ada@example.org"),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("must be 2 to 40 characters"));
    assert!(r.body.contains("at least 12 characters"));
    assert!(r.body.contains("value=\"Ada Admin\""));
    let r = b
        .submit(
            "/setup/tok",
            "/setup/tok",
            &[
                ("username", "ada"),
                ("display_name", "Ada"),
                ("email", "ada@example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/account/totp?welcome=1");
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP by default");
    assert_eq!(
        b.get("/desk").await.status,
        StatusCode::OK,
        "signed in after setup"
    );
    let users = app.store.list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].role, Role::Admin);
    // The link works once.
    let mut other = app.browser();
    assert_eq!(other.get("/setup/tok").await.status, StatusCode::GONE);
}

#[tokio::test]
async fn expired_setup_links_are_refused() {
    let app = TestApp::new().await;
    let now = app.state.now_ms();
    app.store
        .put_setup_token(&sha256_hex("tok"), now - 1)
        .await
        .unwrap();
    assert_eq!(
        app.browser().get("/setup/tok").await.status,
        StatusCode::GONE
    );
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_look_the_same_and_are_rate_limited() {
    let app = TestApp::with_config(WebConfig {
        login_attempts_per_15min: 3,
        ..Default::default()
    })
    .await;
    app.user("mia", Role::Member).await;
    let mut b = app.browser();
    let wrong = b
        .submit(
            "/login",
            "/login",
            &[("username", "mia"), ("password", "wrong password!")],
        )
        .await;
    let unknown = b
        .submit(
            "/login",
            "/login",
            &[("username", "nobody"), ("password", "wrong password!")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        between(&wrong.body, "id=\"login-error\">", "<"),
        between(&unknown.body, "id=\"login-error\">", "<")
    );
    for password in ["wrong again!!", "and again!!!"] {
        let r = b
            .submit(
                "/login",
                "/login",
                &[("username", "mia"), ("password", password)],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let limited = b
        .submit(
            "/login",
            "/login",
            &[("username", "mia"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits (from this address)"
    );
    assert_eq!(
        retry_after(&limited),
        15 * 60,
        "the first failure leaves the window"
    );
    assert!(
        limited.body.contains("Try again in 15 minutes"),
        "{}",
        limited.body
    );
    // One address trying many accounts is limited too (at five times the budget).
    // Five attempts so far; the address allows 15.
    for i in 0..10 {
        let r = b
            .submit(
                "/login",
                "/login",
                &[("username", &format!("u{i}")), ("password", "guess guess")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = b
        .submit(
            "/login",
            "/login",
            &[("username", "u99"), ("password", "guess guess")],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&r), 15 * 60);
}

/// The `Retry-After` of a reply, in seconds.
fn retry_after(r: &support::Reply) -> u64 {
    r.headers
        .get(header::RETRY_AFTER)
        .unwrap_or_else(|| panic!("a {} without Retry-After", r.status))
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// An app that takes the client's address from `X-Forwarded-For` (as behind
/// a proxy), with a budget of 3 wrong passwords per account and address.
async fn app_behind_a_proxy() -> TestApp {
    TestApp::with_config(WebConfig {
        login_attempts_per_15min: 3,
        trusted_proxies: vec![std::net::IpAddr::from([127, 0, 0, 1])],
        ..Default::default()
    })
    .await
}

async fn sign_in_from(app: &TestApp, ip: &str, username: &str, password: &str) -> support::Reply {
    app.browser()
        .at(ip)
        .submit(
            "/login",
            "/login",
            &[("username", username), ("password", password)],
        )
        .await
}

#[tokio::test]
async fn failures_from_elsewhere_never_lock_a_member_out() {
    let app = app_behind_a_proxy().await;
    app.user("mia", Role::Member).await;
    // Five addresses guess Mia's password until each is refused: the first
    // by the limit per account and address (until its first failure leaves
    // the 15-minute window), the others after one failure each, as the
    // account is now under attack: 1 s for its 4th failure, doubling.
    let mut waits = Vec::new();
    for host in 1..=5 {
        let ip = format!("203.0.113.{host}");
        let first = sign_in_from(&app, &ip, "mia", "wrong password!").await;
        assert_eq!(first.status, StatusCode::UNAUTHORIZED, "{ip}");
        let mut refused = None;
        for _ in 0..3 {
            let r = sign_in_from(&app, &ip, "mia", "wrong password!").await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                refused = Some(r);
                break;
            }
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{ip}");
        }
        let r = refused.unwrap_or_else(|| panic!("{ip} is held back"));
        assert!(r.body.contains("Too many sign-in attempts"), "{}", r.body);
        waits.push(retry_after(&r));
    }
    assert_eq!(waits, [15 * 60, 1, 2, 4, 8]);
    // Mia, from her own address: in at once.
    let r = sign_in_from(&app, "192.0.2.7", "mia", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // While the account is under attack, an address that fails once waits a
    // while (bounded), then gets in.
    let r = sign_in_from(&app, "192.0.2.8", "mia", "a typo here!").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = sign_in_from(&app, "192.0.2.8", "mia", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&r);
    assert_eq!(wait, 16, "the account's 8th failure: 2⁴ s (at most 5 min)");
    app.clock
        .advance(jiff::SignedDuration::from_secs(wait as i64));
    let r = sign_in_from(&app, "192.0.2.8", "mia", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The attackers are still held back.
    let r = sign_in_from(&app, "203.0.113.1", "mia", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn one_address_is_limited_per_account_and_overall() {
    let app = app_behind_a_proxy().await;
    app.user("mia", Role::Member).await;
    app.user("bob", Role::Member).await;
    let a = "198.51.100.1";
    // Account and address: three wrong passwords for Mia from A…
    for _ in 0..3 {
        let r = sign_in_from(&app, a, "mia", "wrong password!").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    // …and A waits for Mia, even with the right password,
    let r = sign_in_from(&app, a, "mia", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&r), 15 * 60);
    // but not for Bob, and Mia still gets in from elsewhere.
    let r = sign_in_from(&app, a, "bob", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = sign_in_from(&app, "198.51.100.2", "mia", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // Ten minutes later A still waits, five more.
    app.clock.advance(jiff::SignedDuration::from_mins(10));
    let r = sign_in_from(&app, a, "mia", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&r), 5 * 60);
    app.clock.advance(jiff::SignedDuration::from_mins(5));
    let r = sign_in_from(&app, a, "mia", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // The address: 15 attempts (five times the budget) in 15 minutes,
    // whatever the accounts.
    let c = "198.51.100.3";
    for i in 0..15 {
        let r = sign_in_from(&app, c, &format!("guess{i}"), "wrong password!").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        app.clock.advance(jiff::SignedDuration::from_secs(1));
    }
    let r = sign_in_from(&app, c, "bob", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        retry_after(&r),
        15 * 60 - 15,
        "the first attempt leaves the window"
    );
    let r = sign_in_from(&app, "198.51.100.4", "bob", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

async fn vendor_sign_in(app: &TestApp, ip: &str, password: &str) -> support::Reply {
    app.browser()
        .at(ip)
        .submit(
            "/vendor/login",
            "/vendor/login",
            &[("email", "sec@vendor.example"), ("password", password)],
        )
        .await
}

#[tokio::test]
async fn vendor_sign_in_cannot_be_locked_from_elsewhere() {
    let app = app_behind_a_proxy().await;
    let hash = cnadesk_web::auth::hash_password(PASSWORD.into())
        .await
        .unwrap();
    app.store
        .create_vendor_account(
            cnadesk_store::NewVendorAccount {
                email: "sec@vendor.example".into(),
                display_name: "Kim".into(),
                password_hash: hash,
                time_zone: "UTC".into(),
            },
            app.state.now_ms(),
        )
        .await
        .unwrap();
    // From A: three wrong passwords, then A waits, even with the right one.
    for _ in 0..3 {
        let r = vendor_sign_in(&app, "203.0.113.1", "wrong password!").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = vendor_sign_in(&app, "203.0.113.1", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&r), 15 * 60);
    assert!(r.body.contains("Too many sign-in attempts"), "{}", r.body);
    // The account is under attack: another address that fails is slowed down.
    let r = vendor_sign_in(&app, "203.0.113.2", "wrong password!").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = vendor_sign_in(&app, "203.0.113.2", PASSWORD).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&r), 1);
    assert!(r.body.contains("Try again in 1 second."), "{}", r.body);
    // The vendor, from an address that has not failed: in at once.
    let r = vendor_sign_in(&app, "192.0.2.7", PASSWORD).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[tokio::test]
async fn totp_enrolment_then_sign_in_needs_the_code_and_refuses_replay() {
    let app = TestApp::new().await;
    let mut b = app.signed_in("ada", Role::Admin).await;
    let page = b.get("/account/totp").await;
    assert!(page.body.contains("<svg"), "QR code shown");
    let secret = between(&page.body, "id=\"totp-secret\">", "<").to_owned();
    let now = app.clock.now_secs();
    let bad = b
        .submit(
            "/account/totp",
            "/account/totp",
            &[
                ("code", "000000"),
                (
                    "sealed",
                    between(&page.body, "name=\"sealed\" value=\"", "\""),
                ),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains(&secret), "the scanned secret is kept");
    let sealed = between(&page.body, "name=\"sealed\" value=\"", "\"").to_owned();
    let r = b
        .submit(
            "/account/totp",
            "/account/totp",
            &[("code", &code_at(&secret, now)), ("sealed", &sealed)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        recovery_codes(&r.body).len(),
        10,
        "shown once, at enrolment"
    );
    assert!(b
        .get("/account/totp")
        .await
        .body
        .contains("Two-factor sign-in is on"));
    // The secret is stored encrypted, never in clear.
    let creds = app.store.user_credentials("ada").await.unwrap().unwrap();
    let enc = creds.totp_secret_enc.unwrap();
    let raw = data_encoding::BASE32_NOPAD
        .decode(secret.as_bytes())
        .unwrap();
    assert!(!enc.windows(raw.len()).any(|w| w == raw.as_slice()));

    // Sign out, sign in: the password alone is not enough.
    let r = b.submit("/desk", "/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/desk").await.status, StatusCode::SEE_OTHER);
    let r = b
        .submit(
            "/login",
            "/login",
            &[
                ("username", "ada"),
                ("password", PASSWORD),
                ("next", "/admin/users"),
            ],
        )
        .await;
    assert!(r.location().starts_with("/login/totp"), "{}", r.location());
    assert_eq!(
        b.get("/desk").await.location(),
        "/login/totp",
        "pending sessions cannot use the desk"
    );
    let wrong = b
        .submit("/login/totp", "/login/totp", &[("code", "123456")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    app.clock.advance(jiff::SignedDuration::from_secs(60));
    let code = code_at(&secret, app.clock.now_secs());
    let ok = b
        .submit(
            "/login/totp?next=%2Fadmin%2Fusers",
            "/login/totp",
            &[("code", &code), ("next", "/admin/users")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(ok.location(), "/admin/users");
    assert_eq!(b.get("/desk").await.status, StatusCode::OK);

    // The same code cannot be used twice.
    let mut other = app.browser();
    other
        .submit(
            "/login",
            "/login",
            &[("username", "ada"), ("password", PASSWORD)],
        )
        .await;
    let replay = other
        .submit("/login/totp", "/login/totp", &[("code", &code)])
        .await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);

    // Codes are limited per account (the sign-in budget per 15 minutes),
    // and the refusal says so in the words of a password's.
    let now = code_at(&secret, app.clock.now_secs());
    let guess = if now == "000000" { "111111" } else { "000000" };
    let mut refused = None;
    for _ in 0..20 {
        let r = other
            .submit("/login/totp", "/login/totp", &[("code", guess)])
            .await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = refused.expect("wrong codes are limited");
    assert!((14 * 60..=15 * 60).contains(&retry_after(&r)));
    assert!(
        r.body
            .contains("Too many sign-in attempts. Try again in 15 minutes."),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn admins_must_enrol_even_when_members_need_not() {
    let app = TestApp::with_exact_config(WebConfig {
        settings: Settings {
            accounts: AccountSettings {
                require_totp: false,
                ..AccountSettings::default()
            },
            ..Settings::default()
        },
        ..Default::default()
    })
    .await;
    let mut admin = app.signed_in("ada", Role::Admin).await;
    let r = admin.get("/desk").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/account/totp");
    assert_eq!(admin.get("/account/totp").await.status, StatusCode::OK);
    let mut member = app.signed_in("mia", Role::Member).await;
    assert_eq!(
        member.get("/desk").await.status,
        StatusCode::OK,
        "members are not forced under `require_totp = false`"
    );
}

#[tokio::test]
async fn admins_invite_members_and_deactivation_ends_sessions() {
    let app = TestApp::new().await;
    let mut admin = app.signed_in("ada", Role::Admin).await;
    let invite = |username: &'static str, display: &'static str, email: &'static str| {
        [
            ("username", username),
            ("display_name", display),
            ("email", email),
            ("role", "member"),
        ]
    };
    let r = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &invite("bob", "Bob", "bob@example.org"),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link = invitation_link(&r.body);
    assert!(
        r.body.contains("No mail is configured"),
        "the admin passes the link on"
    );
    let dup = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &invite("bob", "Bob 2", "bob@example.org"),
        )
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.body.contains("is already taken"));
    assert!(dup.body.contains("value=\"Bob 2\""), "input kept");
    // Control characters in the address are refused in words; the rest is kept.
    for bad in [
        "carl\0@example.org",
        "carl@\u{1}example.org",
        "\u{1b}carl@example.org",
    ] {
        let r = admin
            .submit(
                "/admin/users",
                "/admin/users",
                &[
                    ("username", "carl"),
                    ("display_name", "Carl Kept"),
                    ("email", bad),
                    ("role", "member"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        assert!(r.body.contains("contains control characters"), "{}", r.body);
        assert!(r.body.contains("value=\"Carl Kept\""), "input kept");
        assert!(!r.body.contains(['\0', '\u{1}', '\u{1b}']));
    }
    assert!(app.store.user_credentials("carl").await.unwrap().is_none());

    let mut bob = app.browser();
    choose_password(&mut bob, &link, PASSWORD).await;
    assert_eq!(bob.get("/desk").await.status, StatusCode::OK);
    let bob_id = app
        .store
        .user_credentials("bob")
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    let r = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{}/active", bob_id.0),
            &[("active", "0")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        bob.get("/desk").await.status,
        StatusCode::SEE_OTHER,
        "session ended"
    );
    let again = bob
        .submit(
            "/login",
            "/login",
            &[("username", "bob"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        again.status,
        StatusCode::UNAUTHORIZED,
        "deactivated accounts cannot sign in"
    );
    // An admin cannot lock themself out.
    let ada_id = app
        .store
        .user_credentials("ada")
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    let r = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{}/active", ada_id.0),
            &[("active", "0")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn sign_in_never_redirects_off_site() {
    let app = TestApp::new().await;
    app.user("mia", Role::Member).await;
    let mut b = app.browser();
    let r = b
        .submit(
            "/login",
            "/login",
            &[
                ("username", "mia"),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(r.location(), "/desk");
}

#[tokio::test]
async fn the_second_factor_rotates_the_session_id() {
    let app = TestApp::new().await;
    let mut b = app.signed_in("ada", Role::Admin).await;
    let page = b.get("/account/totp").await;
    let secret = between(&page.body, "id=\"totp-secret\">", "<").to_owned();
    let sealed = between(&page.body, "name=\"sealed\" value=\"", "\"").to_owned();
    let now = app.clock.now_secs();
    b.submit(
        "/account/totp",
        "/account/totp",
        &[("code", &code_at(&secret, now)), ("sealed", &sealed)],
    )
    .await;
    b.submit("/desk", "/logout", &[]).await;
    b.submit(
        "/login",
        "/login",
        &[("username", "ada"), ("password", PASSWORD)],
    )
    .await;
    let pending = b.cookies["cnadesk_session"].clone();
    // Someone holding the pending id (planted, or stolen before the code).
    let mut other = app.browser();
    other
        .cookies
        .insert("cnadesk_session".into(), pending.clone());
    app.clock.advance(jiff::SignedDuration::from_secs(60));
    let code = code_at(&secret, app.clock.now_secs());
    let r = b
        .submit("/login/totp", "/login/totp", &[("code", &code)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_ne!(
        b.cookies["cnadesk_session"], pending,
        "a new session id after the second factor"
    );
    assert_eq!(b.get("/desk").await.status, StatusCode::OK);
    let r = other.get("/desk").await;
    assert!(
        r.location().starts_with("/login"),
        "the pending id is dead: {}",
        r.location()
    );
}

#[tokio::test]
async fn form_tokens_are_bound_to_the_session() {
    let app = TestApp::new().await;
    app.user("mia", Role::Member).await;
    let mut b = app.browser();
    let anonymous_token = b.csrf().await;
    b.submit(
        "/login",
        "/login",
        &[("username", "mia"), ("password", PASSWORD)],
    )
    .await;
    // The token of the signed-out page does not work for the signed-in session.
    let r = b.post_form("/logout", &[("csrf", &anonymous_token)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = b.submit("/desk", "/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn hostile_usernames_get_a_plain_refusal() {
    let app = TestApp::new().await;
    let mut b = app.browser();
    let huge = "x".repeat(200_000);
    for name in ["nul\u{0}name", huge.as_str()] {
        let r = b
            .submit(
                "/login",
                "/login",
                &[("username", name), ("password", "whatever123")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let too_big = "x".repeat(2 * 1024 * 1024);
    let token = b.csrf().await;
    let r = b
        .post_form(
            "/login",
            &[("csrf", &token), ("username", &too_big), ("password", "x")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "ordinary forms are capped at 1 MiB"
    );
}

// ---- invitations, the second-factor policy, recovery codes, passwords ----

/// The path of the invitation link an admin's page shows once.
fn invitation_link(admin_page: &str) -> String {
    let url = between(admin_page, "id=\"invitation-link\">", "<");
    let path = &url[url.find("/invitation/").expect("an invitation link")..];
    path.to_owned()
}

/// Follows an invitation link and chooses `password`: signed in, and sent
/// on to second-factor enrolment.
async fn choose_password(b: &mut Browser<'_>, link: &str, password: &str) {
    let r = b
        .submit(link, link, &[("password", password), ("confirm", password)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/account/totp?welcome=1");
}

/// Enrols a second factor from `/account/totp`: the secret, and the
/// recovery codes shown once.
async fn enrol(app: &TestApp, b: &mut Browser<'_>) -> (String, Vec<String>) {
    let page = b.get("/account/totp").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.location());
    let secret = between(&page.body, "id=\"totp-secret\">", "<").to_owned();
    let sealed = between(&page.body, "name=\"sealed\" value=\"", "\"").to_owned();
    let code = code_at(&secret, app.clock.now_secs());
    let r = b
        .submit(
            "/account/totp",
            "/account/totp",
            &[("code", &code), ("sealed", &sealed)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Two-factor sign-in is on"), "{}", r.body);
    (secret, recovery_codes(&r.body))
}

/// The recovery codes a page shows.
fn recovery_codes(body: &str) -> Vec<String> {
    let list = between(body, "id=\"recovery-codes\">", "</ul>");
    list.split("<code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect()
}

/// Signs in with the password, then `code` at the second-factor prompt.
async fn sign_in_with_code(app: &TestApp, username: &str, code: &str) -> support::Reply {
    let mut b = app.browser();
    let r = b
        .submit(
            "/login",
            "/login",
            &[("username", username), ("password", PASSWORD)],
        )
        .await;
    assert!(r.location().starts_with("/login/totp"), "{}", r.location());
    b.submit("/login/totp", "/login/totp", &[("code", code)])
        .await
}

/// An app with the shipped account policy: a second factor for everyone.
async fn strict_app() -> TestApp {
    let app = TestApp::with_exact_config(WebConfig::default()).await;
    assert!(app.state.settings.accounts.require_totp, "the default");
    app
}

async fn actions(app: &TestApp, action: AuditAction) -> Vec<serde_json::Value> {
    app.store
        .audit_events_by_actions(&[action], 0)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.payload)
        .collect()
}

#[tokio::test]
async fn an_invited_member_sets_a_password_enrols_and_signs_in_with_a_recovery_code_once() {
    let app = strict_app().await;
    let mut ada = app.signed_in("ada", Role::Admin).await;
    let r = ada.get("/admin/users").await;
    assert_eq!(r.location(), "/account/totp", "admins enrol first");
    enrol(&app, &mut ada).await;
    let r = ada
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("username", "bob"),
                ("display_name", "Bob Builder"),
                ("email", "bob@example.org"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link = invitation_link(&r.body);
    let token = link.trim_start_matches("/invitation/").to_owned();
    assert!(r.body.contains("shown here only this once"));
    // The account waits for its password; the link is stored only hashed.
    let creds = app.store.user_credentials("bob").await.unwrap().unwrap();
    assert_eq!(creds.password_hash, "");
    assert!(app
        .store
        .user_invitation(&sha256_hex(&token))
        .await
        .unwrap()
        .is_some());
    let invited = actions(&app, AuditAction::UserInvited).await;
    assert_eq!(invited.len(), 1);
    assert!(!invited[0].to_string().contains(&token));
    assert!(ada
        .get("/admin/users")
        .await
        .body
        .contains("invited; the link works until"));
    // Nobody signs in to an invited account before its link is followed.
    let r = app
        .browser()
        .submit("/login", "/login", &[("username", "bob"), ("password", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // Bob follows the link: the password rules apply.
    let mut bob = app.browser();
    let page = bob.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Bob Builder") && page.body.contains(">bob<"));
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    let short = bob
        .submit(&link, &link, &[("password", "short"), ("confirm", "short")])
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short.body.contains("at least 12 characters"),
        "{}",
        short.body
    );
    choose_password(&mut bob, &link, PASSWORD).await;
    // Used: the link says so.
    let used = app.browser().get(&link).await;
    assert_eq!(used.status, StatusCode::GONE);
    assert!(used.body.contains("already used"), "{}", used.body);

    // No desk page until a second factor is enrolled; enrolment and
    // signing out stay reachable.
    for path in [
        "/desk",
        "/desk/team",
        "/account/password",
        "/account/tokens",
    ] {
        let r = bob.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.location(), "/account/totp", "{path}");
    }
    let welcome = bob.get("/account/totp?welcome=1").await;
    assert_eq!(welcome.status, StatusCode::OK);
    assert!(welcome.body.contains("Welcome!"));
    let (secret, codes) = enrol(&app, &mut bob).await;
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    assert_eq!(bob.get("/desk").await.status, StatusCode::OK);
    // Shown once: the page now only counts them.
    let page = bob.get("/account/totp").await;
    assert!(!page.body.contains(&codes[0]));
    assert!(
        page.body.contains("10 unused recovery codes"),
        "{}",
        page.body
    );

    // A recovery code stands in for the app's code, once.
    let r = sign_in_with_code(&app, "bob", &codes[0]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = sign_in_with_code(&app, "bob", &codes[0]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "a code works once");
    // However it is typed.
    let typed = codes[1].to_uppercase().replace('-', " ");
    let r = sign_in_with_code(&app, "bob", &typed).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        app.store.recovery_codes_left(creds.user.id).await.unwrap(),
        8
    );
    let used = actions(&app, AuditAction::UserRecoveryCodeUsed).await;
    assert_eq!(used.len(), 2);
    assert_eq!(used[1]["codes_left"], 8);
    let signed_in = actions(&app, AuditAction::SessionSignedIn).await;
    assert_eq!(signed_in.last().unwrap()["second_factor"], "recovery_code");

    // New codes need a current code from the app, and replace the old ones.
    let page = bob.get("/account/recovery-codes").await;
    assert!(
        page.body.contains("8 unused recovery codes"),
        "{}",
        page.body
    );
    let wrong = bob
        .submit(
            "/account/recovery-codes",
            "/account/recovery-codes",
            &[("code", "not a code")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    app.clock.advance(jiff::SignedDuration::from_secs(60));
    let code = code_at(&secret, app.clock.now_secs());
    let r = bob
        .submit(
            "/account/recovery-codes",
            "/account/recovery-codes",
            &[("code", &code)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let fresh = recovery_codes(&r.body);
    assert_eq!(fresh.len(), 10);
    assert!(!fresh.contains(&codes[2]));
    let r = sign_in_with_code(&app, "bob", &codes[2]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "old codes are gone");
    let r = sign_in_with_code(&app, "bob", &fresh[0]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let generated = actions(&app, AuditAction::UserRecoveryCodesGenerated).await;
    assert_eq!(generated.len(), 3, "ada's, bob's, bob's again");
    // No code is stored readable.
    let creds = app.store.user_credentials("bob").await.unwrap().unwrap();
    assert!(!format!("{creds:?}").contains(&fresh[1]));
}

#[tokio::test]
async fn expired_and_used_invitation_links_are_refused_and_admins_renew_them() {
    let app = TestApp::new().await;
    let mut ada = app.signed_in("ada", Role::Admin).await;
    let r = ada
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("username", "cy"),
                ("display_name", "Cy"),
                ("email", "cy@example.org"),
                ("role", "member"),
            ],
        )
        .await;
    let old = invitation_link(&r.body);
    // Seven days later the link has expired, in words.
    app.clock.advance(jiff::SignedDuration::from_hours(7 * 24));
    let mut ada = app.sign_in("ada").await;
    let mut cy = app.browser();
    let r = cy.get(&old).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(r.body.contains("expired on"), "{}", r.body);
    let csrf = cy.csrf().await;
    let r = cy
        .post_form(
            &old,
            &[
                ("csrf", &csrf),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::GONE);
    assert_eq!(
        app.store
            .user_credentials("cy")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        "",
        "nothing set through an expired link"
    );
    let page = ada.get("/admin/users").await;
    assert!(
        page.body.contains("invited; the link expired"),
        "{}",
        page.body
    );
    // A new link; the old one is dead.
    let cy_id = app
        .store
        .user_credentials("cy")
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    let path = format!("/admin/users/{}/invitation", cy_id.0);
    let r = ada.submit("/admin/users", &path, &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let new = invitation_link(&r.body);
    assert_ne!(new, old);
    assert_eq!(
        actions(&app, AuditAction::UserInvitationRenewed)
            .await
            .len(),
        1
    );
    let r = cy.get(&old).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(r.body.contains("not valid"), "{}", r.body);
    choose_password(&mut cy, &new, PASSWORD).await;
    // Used: refused, and no new link for an account that is set up.
    let r = app.browser().get(&new).await;
    assert_eq!(r.status, StatusCode::GONE);
    assert!(r.body.contains("already used"));
    let r = ada.submit("/admin/users", &path, &[]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("already chosen a password"), "{}", r.body);
    assert_eq!(
        actions(&app, AuditAction::UserInvitationAccepted)
            .await
            .len(),
        1
    );
}

#[tokio::test]
async fn the_invitation_is_mailed_with_its_link_sealed() {
    let mut app = TestApp::new().await;
    let mail_dir = app.dir.path().join("mail");
    let mailer = cnadesk_notify::mail::Mailer::new(
        "XSF CNA <security@xmpp.example>",
        &cnadesk_notify::mail::Transport::File(mail_dir.clone()),
        None,
    )
    .unwrap();
    app.state = app
        .state
        .clone()
        .with_notify(cnadesk_app::notify::NotifyDesk::new().with_mail(mailer));
    app.router = cnadesk_web::router(app.state.clone());
    let mut ada = app.signed_in("ada", Role::Admin).await;
    let r = ada
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("username", "dee"),
                ("display_name", "Dee"),
                ("email", "dee@example.org"),
                ("role", "admin"),
            ],
        )
        .await;
    assert!(
        r.body.contains("The link was sent to dee@example.org"),
        "{}",
        r.body
    );
    let link = invitation_link(&r.body);
    let queued = app
        .store
        .outbox(Default::default())
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.template == "member_invitation")
        .expect("the invitation is queued");
    assert_eq!(queued.recipient, "dee@example.org");
    assert!(
        !queued.context.to_string().contains(&link),
        "sealed at rest"
    );
    cnadesk_app::notify::deliver_due(&app.state).await.unwrap();
    let mail: String = std::fs::read_dir(&mail_dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    // Long lines may be folded (quoted-printable soft breaks).
    let mail = mail.replace("=\r\n", "").replace("=\n", "");
    assert!(mail.contains("To: dee@example.org"), "{mail}");
    assert!(mail.contains("You are invited to the team"), "{mail}");
    let token = link.trim_start_matches("/invitation/");
    assert!(mail.contains(token), "the mail carries the link: {mail}");
    assert!(mail.contains("with the role admin"), "{mail}");
}

#[tokio::test]
async fn members_change_their_password_and_their_other_sessions_end() {
    let app = TestApp::new().await;
    let mut here = app.signed_in("mia", Role::Member).await;
    let mut there = app.sign_in("mia").await;
    let new = "a different long passphrase";
    let wrong = here
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current", "not my password"),
                ("password", new),
                ("confirm", new),
            ],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("is not your current password"));
    let mismatch = here
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", new),
                ("confirm", "something else!"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        mismatch.body.contains("confirmation differ"),
        "{}",
        mismatch.body
    );
    assert_eq!(
        there.get("/desk").await.status,
        StatusCode::OK,
        "nothing changed"
    );
    let r = here
        .submit(
            "/account/password",
            "/account/password",
            &[("current", PASSWORD), ("password", new), ("confirm", new)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = here.get(&r.location()).await;
    assert!(
        page.body.contains("1 other session of yours ended"),
        "{}",
        page.body
    );
    assert_eq!(
        here.get("/desk").await.status,
        StatusCode::OK,
        "this one stays"
    );
    let r = there.get("/desk").await;
    assert!(r.location().starts_with("/login"), "the other one ended");
    let old = sign_in_from(&app, "192.0.2.1", "mia", PASSWORD).await;
    assert_eq!(
        old.status,
        StatusCode::UNAUTHORIZED,
        "the old password is dead"
    );
    let fresh = sign_in_from(&app, "192.0.2.1", "mia", new).await;
    assert_eq!(fresh.status, StatusCode::SEE_OTHER, "{}", fresh.body);
    let changed = actions(&app, AuditAction::UserPasswordChanged).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0]["sessions_ended"], 1);
    assert!(!changed[0].to_string().contains(new));
}

#[tokio::test]
async fn a_member_without_a_second_factor_cannot_use_the_desk_under_the_policy() {
    let app = strict_app().await;
    let mut mia = app.signed_in("mia", Role::Member).await;
    for path in [
        "/desk",
        "/desk/reports/1",
        "/desk/cve",
        "/account/recovery-codes",
    ] {
        let r = mia.get(path).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(r.location(), "/account/totp", "{path}");
    }
    // Nor change anything.
    let r = mia
        .submit(
            "/account/totp",
            "/desk/team/profile",
            &[("time_zone", "UTC"), ("capacity", "3")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/account/totp");
    // Nor make API tokens; one made before the policy is no way round it.
    assert_eq!(mia.get("/account/tokens").await.location(), "/account/totp");
    let mia_id = app
        .store
        .user_credentials("mia")
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    let (_, secret) = cnadesk_app::tokens::create(
        &app.state,
        mia_id,
        &cnadesk_app::tokens::TokenRequest {
            name: "from before".into(),
            scopes: vec!["read".into()],
            days: "30".into(),
        },
        &cnadesk_core::Actor::system("test"),
    )
    .await
    .unwrap();
    let r = app
        .send(
            axum::http::Request::get("/api/v1/me")
                .header(header::AUTHORIZATION, format!("Bearer {secret}"))
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(
        r.json()["error"]["code"],
        "second_factor_required",
        "{}",
        r.body
    );
    let page = mia.get("/account/totp").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("must use a second factor"));
    // Signing out works.
    let r = mia.submit("/account/totp", "/logout", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/login");
    assert!(mia.get("/desk").await.location().starts_with("/login"));
}
