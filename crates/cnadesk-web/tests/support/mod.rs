//! A test application with its own SQLite database, and a tiny browser that
//! keeps cookies and reads anti-forgery tokens from pages.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use cnadesk_core::{Actor, FixedClock, Role};
use cnadesk_store::prelude::*;
use cnadesk_store::{NewUser, User};
use cnadesk_store_sql::{open, sqlite_url_in, Migrate, SqlStore};
use cnadesk_web::{AppState, ServerKey, WebConfig};
use http_body_util::BodyExt;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub router: Router,
    pub store: Arc<SqlStore>,
    pub state: AppState,
    pub clock: Arc<FixedClock>,
    pub dir: tempfile::TempDir,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn location(&self) -> String {
        self.headers
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_config(WebConfig::default()).await
    }

    /// An app talking to a fresh CVE Services double (organization `XSF`,
    /// quota 10), which it returns for fault injection and inspection.
    pub async fn with_cve_double() -> (Self, cnadesk_cve_services::double::Double) {
        Self::with_cve_double_in(cnadesk_cve_workflow::Environment::Test, false).await
    }

    /// [`TestApp::with_cve_double`], with the case life cycle following
    /// events (`on`) as a desk does by default.
    pub async fn with_cve_double_lifecycle(
        on: bool,
    ) -> (Self, cnadesk_cve_services::double::Double) {
        Self::with_cve_double_in(cnadesk_cve_workflow::Environment::Test, on).await
    }

    /// [`TestApp::with_cve_double`] with the double standing for this
    /// environment (`Demo`: the desk of `cnadesk serve --demo`), the case
    /// life cycle on or off.
    pub async fn with_cve_double_in(
        environment: cnadesk_cve_workflow::Environment,
        on: bool,
    ) -> (Self, cnadesk_cve_services::double::Double) {
        use cnadesk_cve_services::double::{Double, DoubleConfig, Org};
        let mut app = Self::build(WebConfig::default(), on).await;
        let double = Double::with_cna(DoubleConfig::default(), "XSF", 10, "bot", "k3y");
        double.add_org(Org {
            short_name: "XSF".into(),
            uuid: cnadesk_web::PLACEHOLDER_ORG_ID.into(),
            id_quota: 10,
            secretariat: false,
        });
        let (_, base) = double.spawn("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let client = cnadesk_cve_services::Client::new(
            &base,
            cnadesk_cve_services::Credentials {
                org: "XSF".into(),
                user: "bot".into(),
                key: "k3y".to_owned().into(),
            },
        )
        .unwrap()
        .with_policy(
            std::time::Duration::from_secs(2),
            1,
            std::time::Duration::from_millis(10),
        )
        .unwrap();
        let desk = cnadesk_cve_workflow::CveDesk::new(
            app.store.clone() as Arc<dyn Store>,
            client,
            app.clock.clone(),
            environment,
        );
        app.state = app.state.clone().with_cve(desk);
        app.router = cnadesk_web::router(app.state.clone());
        (app, double)
    }

    /// An app with `config`, except that two policies are off, explicitly,
    /// for the tests that are not about them: the second factor (members
    /// and admins sign in with a password alone) and the case life cycle
    /// (each test takes the steps it tests; `with_cve_double_lifecycle(true)`
    /// turns it on). [`TestApp::with_exact_config`] keeps both.
    pub async fn with_config(config: WebConfig) -> Self {
        Self::build(config, false).await
    }

    async fn build(mut config: WebConfig, lifecycle: bool) -> Self {
        config.settings.accounts.require_totp = false;
        config.settings.accounts.require_totp_for_admins = false;
        if !lifecycle {
            config.settings.lifecycle = cnadesk_app::lifecycle::LifecycleSettings::off();
        }
        Self::with_exact_config(config).await
    }

    /// An app with `config` as given (its policies included).
    pub async fn with_exact_config(config: WebConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            open(&sqlite_url_in(dir.path()), Migrate::Apply)
                .await
                .unwrap(),
        );
        let clock = Arc::new(FixedClock::new(cnadesk_core::Clock::now(
            &cnadesk_core::SystemClock,
        )));
        let state = AppState::new(
            store.clone() as Arc<dyn Store>,
            clock.clone(),
            config,
            ServerKey::generate(),
        );
        let router = cnadesk_web::router(state.clone());
        Self {
            router,
            store,
            state,
            clock,
            dir,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Reply {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            bytes,
        }
    }

    pub async fn user(&self, username: &str, role: Role) -> User {
        let hash = cnadesk_web::auth::hash_password(PASSWORD.into())
            .await
            .unwrap();
        self.store
            .create_user(
                NewUser {
                    username: username.into(),
                    display_name: format!("{username} display"),
                    email: format!("{username}@example.org"),
                    role,
                    password_hash: hash,
                },
                &Actor::system("test"),
                0,
            )
            .await
            .unwrap()
    }

    pub fn browser(&self) -> Browser<'_> {
        Browser {
            app: self,
            cookies: HashMap::new(),
            forwarded_for: None,
        }
    }

    /// A browser signed in as a new account with this role.
    pub async fn signed_in(&self, username: &str, role: Role) -> Browser<'_> {
        self.user(username, role).await;
        self.sign_in(username).await
    }

    /// A browser signed in as an existing account.
    #[allow(dead_code)]
    pub async fn sign_in(&self, username: &str) -> Browser<'_> {
        let mut b = self.browser();
        let r = b
            .submit(
                "/login",
                "/login",
                &[("username", username), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        b
    }
}

pub struct Browser<'a> {
    pub app: &'a TestApp,
    pub cookies: HashMap<String, String>,
    /// Sent as `X-Forwarded-For` (the client's address when the app trusts
    /// 127.0.0.1 as its proxy).
    pub forwarded_for: Option<String>,
}

pub fn csrf_from(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).map(|i| i + marker.len()).unwrap_or(0);
    html[start..].split('"').next().unwrap_or("").to_owned()
}

pub fn encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                cnadesk_web::auth::encode_component(k),
                cnadesk_web::auth::encode_component(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Browser<'_> {
    /// This browser as a client at `ip` (see [`Browser::forwarded_for`]).
    pub fn at(mut self, ip: &str) -> Self {
        self.forwarded_for = Some(ip.to_owned());
        self
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, reply: &Reply) {
        for v in reply.headers.get_all(header::SET_COOKIE) {
            let s = v.to_str().unwrap();
            let pair = s.split(';').next().unwrap();
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), v.to_owned());
                }
            }
        }
    }

    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            req = req.header(header::COOKIE, self.cookie_header());
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        if let Some(ip) = &self.forwarded_for {
            req = req.header("x-forwarded-for", ip);
        }
        let reply = self.app.send(req.body(Body::from(body)).unwrap()).await;
        self.remember(&reply);
        reply
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.request("GET", path, None, Vec::new()).await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Reply {
        self.request(
            "POST",
            path,
            Some("application/x-www-form-urlencoded"),
            encode(fields).into_bytes(),
        )
        .await
    }

    /// Loads `page` for its anti-forgery token, then posts the form to `action`.
    pub async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> Reply {
        let html = self.get(page).await.body;
        let token = csrf_from(&html);
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_form(action, &all).await
    }

    /// A fresh anti-forgery token for this browser.
    pub async fn csrf(&mut self) -> String {
        csrf_from(&self.get("/report").await.body)
    }
}

pub struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Multipart {
    pub fn new() -> Self {
        Self {
            boundary: "----cnadesk-test-boundary".into(),
            body: Vec::new(),
        }
    }

    pub fn text(mut self, name: &str, value: &str) -> Self {
        self.body.extend(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n",
                self.boundary
            )
            .into_bytes(),
        );
        self
    }

    pub fn raw(mut self, name: &str, value: &[u8]) -> Self {
        self.body.extend(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n",
                self.boundary
            )
            .into_bytes(),
        );
        self.body.extend_from_slice(value);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn file(mut self, name: &str, filename: &str, content_type: &str, data: &[u8]) -> Self {
        self.body.extend(
            format!(
                "--{}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n",
                self.boundary
            )
            .into_bytes(),
        );
        self.body.extend_from_slice(data);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend(format!("--{}--\r\n", self.boundary).into_bytes());
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            self.body,
        )
    }
}

/// A report about Prosody through the JSON API; returns the tracking token.
pub async fn api_report(app: &TestApp, title: &str, description: &str) -> (String, i64) {
    api_report_about(app, "Prosody", title, description).await
}

/// A report about `product` through the JSON API; returns the tracking token.
pub async fn api_report_about(
    app: &TestApp,
    product: &str,
    title: &str,
    description: &str,
) -> (String, i64) {
    let body = serde_json::json!({
        "title": title,
        "product": product,
        "description": description,
        "reporter_email": "rita@example.org",
    });
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
    let id: i64 = j["id"]
        .as_str()
        .unwrap()
        .trim_start_matches("REP-")
        .parse()
        .unwrap();
    (j["tracking_token"].as_str().unwrap().to_owned(), id)
}

pub trait ClockExt {
    fn now_secs(&self) -> i64;
}

impl ClockExt for FixedClock {
    fn now_secs(&self) -> i64 {
        use cnadesk_core::Clock;
        self.now().as_second()
    }
}

/// Accepts report `id` as a case titled `title` through the report page;
/// returns the case number.
pub async fn accept_as_case(app: &TestApp, member: &mut Browser<'_>, id: i64, title: &str) -> i64 {
    let page = format!("/desk/reports/{id}");
    let r = member
        .submit(&page, &format!("{page}/accept"), &[("title", title)])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    app.store
        .case_for_report(cnadesk_core::ReportId(id))
        .await
        .unwrap()
        .unwrap()
        .id
        .0
}

/// A carbons report about Prosody, accepted as a case; returns the case number.
pub async fn carbons_case(app: &TestApp, member: &mut Browser<'_>, title: &str) -> i64 {
    let (_, id) = api_report(
        app,
        title,
        "Message carbons from any sender are accepted, so a remote attacker can inject messages.",
    )
    .await;
    accept_as_case(app, member, id, title).await
}

/// A complete record form for `cve`, fixed in `fixed`.
pub fn record_fields(cve: &str, fixed: &str) -> Vec<(&'static str, String)> {
    [
        ("cve_id", cve),
        ("title", "Message carbons spoofing in Prosody"),
        (
            "description",
            "Prosody before 0.12.4 accepts message carbons from any sender, which allows remote \
             attackers to inject messages into a conversation.",
        ),
        ("cwe_id", "CWE-346"),
        ("cwe_name", "Origin Validation Error"),
        (
            "cvss_vector",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N",
        ),
        ("a0_vendor", "Prosody"),
        ("a0_product", "Prosody"),
        ("a0_introduced", "0.12.0"),
        ("a0_fixed", fixed),
        ("a0_vtype", "semver"),
        ("r0_url", "https://prosody.im/security/advisory_20261120/"),
        ("r0_tags", "vendor-advisory"),
        ("c0_name", "Rita Reporter"),
        ("c0_type", "finder"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

pub async fn save_record(
    member: &mut Browser<'_>,
    case: i64,
    based_on: i64,
    fields: &[(&'static str, String)],
) {
    let editor = format!("/desk/cases/{case}/record");
    let based = based_on.to_string();
    let mut all: Vec<(&str, &str)> = vec![("action", "save"), ("based_on", &based)];
    all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
    let r = member.submit(&editor, &editor, &all).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

pub async fn reserve(member: &mut Browser<'_>, case: i64, amount: &str) -> Reply {
    let page = format!("/desk/cases/{case}/cve");
    member
        .submit(
            &page,
            &format!("{page}/reserve"),
            &[
                ("amount", amount),
                ("year", "2026"),
                ("batch", "sequential"),
            ],
        )
        .await
}

pub async fn case_cve_id(app: &TestApp, case: i64) -> String {
    app.store
        .case(cnadesk_core::CaseId(case))
        .await
        .unwrap()
        .unwrap()
        .cve_id
        .expect("the case has an ID")
        .to_string()
}

/// Sets case `case`'s embargo to end `hours` from the app's clock, from the
/// coordination page (reason "Coordinated release").
pub async fn set_embargo_in(app: &TestApp, member: &mut Browser<'_>, case: i64, hours: i64) {
    let end = (app.state.clock.now() + jiff::SignedDuration::from_hours(hours))
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let r = member
        .submit(
            &format!("/desk/cases/{case}/coordination"),
            &format!("/desk/cases/{case}/embargo"),
            &[("ends_at", &end), ("reason", "Coordinated release")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}
