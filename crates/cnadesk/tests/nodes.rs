//! Several `cnadesk serve` processes on one PostgreSQL, with one secret key:
//! a node killed (SIGKILL) in the middle of a CVE publication is taken over
//! by the other node, which reads back and finishes it, with exactly one
//! publication at CVE Services; the periodic jobs run on one node at a time
//! (never two runs of a job at once) and move to the survivor; every message
//! goes out exactly once.
//!
//! Needs `CNADESK_TEST_POSTGRES_URL` (each run creates its own database), so
//! it is `#[ignore]`d like the other PostgreSQL tests: run it with
//! `-- --include-ignored` (as `.ci/run` does); without the URL it then fails.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cnadesk_core::{Actor, CaseId, Role, SystemClock, UserId};
use cnadesk_cve::editor::{AffectedRow, Provider, RecordForm, ReferenceRow};
use cnadesk_cve_services::double::{Double, DoubleConfig};
use cnadesk_cve_services::{BatchType, Client, Credentials};
use cnadesk_cve_workflow::{CveDesk, Environment, ReserveRequest};
use cnadesk_store::{
    CveIdState, JobState, NewRecordVersion, NewReport, NewUser, OutboxFilter, Store,
};
use serde_json::Value;
use support::{cnadesk, require_postgres_url, stderr, stdout};

/// The organization UUID `Double::with_cna` gives its CNA.
const ORG_UUID: &str = "9f1e2d3c-4b5a-4c6d-8e7f-0a1b2c3d4e5f";
const PASSWORD: &str = "correct horse battery staple";
/// The periodic jobs every node runs under leases.
const TICK_JOBS: [&str; 4] = [
    "case-lifecycle",
    "notify-fan-out",
    "transparency-log",
    "deliver-messages",
];
const MINUTE_JOBS: [&str; 2] = ["response-times", "coordination"];
/// Short leases keep the test quick (the defaults are 30 s and 60 s).
const LEASE_S: u64 = 3;
const CVE_LEASE_S: u64 = 3;

/// The CVE lease the nodes run with: short, or with
/// `CNADESK_TEST_DEFAULT_LEASES=1` the defaults (to measure them; slower).
fn cve_lease_s() -> u64 {
    if std::env::var_os("CNADESK_TEST_DEFAULT_LEASES").is_some() {
        cnadesk_cve_workflow::DEFAULT_LEASE.as_secs()
    } else {
        CVE_LEASE_S
    }
}

async fn fresh_database(base: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("cnadesk_test_{:016x}", rand::random::<u64>());
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(base)
        .await
        .unwrap_or_else(|e| panic!("CNADESK_TEST_POSTGRES_URL is set but unreachable: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("create test database");
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    format!("{prefix}/{name}")
}

/// What every node shares, and what each has of its own.
struct Desk {
    dir: PathBuf,
    database_url: String,
    key: String,
    api_url: String,
}

struct Node {
    name: &'static str,
    /// The CVE Services user this node calls as (tells the nodes apart there).
    cve_user: String,
    child: Child,
    base: String,
    log: PathBuf,
    mail: PathBuf,
}

impl Desk {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = cnadesk(args);
        cmd.env("CNADESK_DATABASE_URL", &self.database_url)
            .env("CNADESK_SECRET_KEY", &self.key)
            .env("CNADESK_DATA_DIR", self.dir.join("cli"));
        cmd
    }

    /// Starts `cnadesk serve` as node `name` and waits until it listens.
    fn start(&self, name: &'static str) -> Node {
        let dir = self.dir.join(name);
        let mail = dir.join("mail");
        std::fs::create_dir_all(&mail).unwrap();
        let log = dir.join("serve.log");
        let cve_user = format!("{name}@cna.example");
        let mut child = self
            .command(&["serve", "--bind", "127.0.0.1:0"])
            .env("CNADESK_DATA_DIR", &dir)
            .env("CNADESK_CVE_API_URL", &self.api_url)
            .env("CNADESK_CVE_API_ORG", "xsf")
            .env("CNADESK_CVE_API_USER", &cve_user)
            .env("CNADESK_CVE_API_KEY", format!("key-{name}"))
            .env("CNADESK_MAIL__FROM", "XSF CNA <security@cna.example>")
            .env("CNADESK_MAIL__TRANSPORT", "file")
            .env("CNADESK_MAIL__DIR", &mail)
            .env("CNADESK_INTAKE__REPORTS_PER_IP_PER_HOUR", "0")
            // The test writes and approves its record itself.
            .env("CNADESK_LIFECYCLE__RESERVE_ON_ACCEPT", "false")
            .env("CNADESK_LIFECYCLE__DRAFT_RECORD", "false")
            .env("CNADESK_NODES__NAME", name)
            .env(
                "CNADESK_NODES__LEASE_SECONDS",
                if cve_lease_s() == CVE_LEASE_S {
                    LEASE_S
                } else {
                    30
                }
                .to_string(),
            )
            .env(
                "CNADESK_NODES__CVE_LEASE_SECONDS",
                cve_lease_s().to_string(),
            )
            .env("CNADESK_LOG__FORMAT", "json")
            .env(
                "RUST_LOG",
                "warn,cnadesk::jobs=debug,cnadesk_cve_workflow=info",
            )
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn cnadesk serve");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let base = loop {
            assert!(
                Instant::now() < deadline,
                "{name} did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                if let Some(rest) = line.strip_prefix("cnadesk listening on ") {
                    break rest.split(' ').next().unwrap().to_owned();
                }
            } else if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{name} exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        Node {
            name,
            cve_user,
            child,
            base,
            log,
            mail,
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser with cookies (the session works on every node: sessions live
/// in the database, anti-forgery tokens are bound to the shared key).
struct Browser {
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    fn new() -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn remember(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all(reqwest::header::SET_COOKIE) {
            let pair = v.to_str().unwrap().split(';').next().unwrap();
            if let Some((k, v)) = pair.split_once('=') {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
    }

    fn cookie(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn get(&mut self, url: &str) -> String {
        let r = self
            .http
            .get(url)
            .header(reqwest::header::COOKIE, self.cookie())
            .send()
            .await
            .unwrap();
        self.remember(&r);
        r.text().await.unwrap()
    }

    /// The anti-forgery token of the form on `page`.
    async fn token(&mut self, page: &str) -> String {
        let html = self.get(page).await;
        let marker = "name=\"csrf\" value=\"";
        let start = html.find(marker).expect("a form with a token") + marker.len();
        html[start..].split('"').next().unwrap().to_owned()
    }

    /// Loads `page` for its anti-forgery token and posts the form to
    /// `action`; returns the status and the redirect target.
    async fn submit(&mut self, page: &str, action: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let token = self.token(page).await;
        let mut form = vec![("csrf", token.as_str())];
        form.extend_from_slice(fields);
        let r = self
            .http
            .post(action)
            .header(reqwest::header::COOKIE, self.cookie())
            .form(&form)
            .send()
            .await
            .unwrap();
        self.remember(&r);
        let location = r
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (r.status().as_u16(), location)
    }
}

/// The CVE Services double, with a layer that records every call (after
/// the double handled it) with the user who made it, and holds the answer
/// to the first publication back: the service has published, the client
/// has not heard.
async fn cve_services() -> (Double, String, Arc<Mutex<Vec<(String, String)>>>) {
    let double = Double::with_cna(
        DoubleConfig::default(),
        "xsf",
        10,
        "setup@cna.example",
        "key-setup",
    );
    for node in ["node-a", "node-b"] {
        double.add_user(
            "xsf",
            &format!("{node}@cna.example"),
            &format!("key-{node}"),
        );
    }
    let calls: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let hold_first = Arc::new(AtomicBool::new(true));
    let router = double.router().layer(axum::middleware::from_fn({
        let calls = calls.clone();
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let calls = calls.clone();
            let hold_first = hold_first.clone();
            async move {
                let call = format!("{} {}", req.method(), req.uri().path());
                let user = req
                    .headers()
                    .get("CVE-API-USER")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                let publication =
                    req.method() == axum::http::Method::POST && call.ends_with("/cna");
                let answer = next.run(req).await;
                calls.lock().unwrap().push((call, user));
                if publication && hold_first.swap(false, Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_secs(600)).await;
                }
                answer
            }
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (double, format!("http://{addr}/api"), calls)
}

fn publications(calls: &Mutex<Vec<(String, String)>>) -> Vec<String> {
    calls
        .lock()
        .unwrap()
        .iter()
        .filter(|(c, _)| c.starts_with("POST ") && c.ends_with("/cna"))
        .map(|(_, u)| u.clone())
        .collect()
}

fn now_ms() -> i64 {
    cnadesk_core::Clock::now(&cnadesk_core::SystemClock).as_millisecond()
}

async fn member(store: &dyn Store, name: &str) -> (UserId, Actor) {
    let u = store
        .create_user(
            NewUser {
                username: name.into(),
                display_name: name.into(),
                email: format!("{name}@cna.example"),
                role: Role::Member,
                password_hash: cnadesk_app::accounts::hash_password(PASSWORD.into())
                    .await
                    .unwrap(),
            },
            &Actor::system("test"),
            now_ms(),
        )
        .await
        .unwrap();
    (
        u.id,
        Actor::Member {
            id: u.id,
            username: u.username,
        },
    )
}

fn container() -> Value {
    let form = RecordForm {
        title: "Carbons spoofing".into(),
        description: "Example Client before 2.3.1 accepts forged message carbons.".into(),
        affected: vec![AffectedRow {
            vendor: "Example".into(),
            product: "Example Client".into(),
            introduced: "2.0.0".into(),
            fixed: "2.3.1".into(),
            version_type: "semver".into(),
            ..Default::default()
        }],
        references: vec![ReferenceRow {
            url: "https://client.example.org/security/2026-1".into(),
            tags: "vendor-advisory".into(),
        }],
        cwe_id: "CWE-346".into(),
        cwe_name: "Origin Validation Error".into(),
        ..Default::default()
    };
    let provider = Provider {
        org_id: ORG_UUID.into(),
        short_name: Some("xsf".into()),
    };
    form.build("CVE-0000-0000", &provider, "2026-11-24T00:00:00Z")
        .unwrap()
        .0
}

/// A case with a reserved ID and a version written by Ada, approved by Bob.
async fn approved_case(store: Arc<dyn Store>, api_url: &str) -> CaseId {
    let (ada, ada_actor) = member(store.as_ref(), "ada").await;
    let (bob, bob_actor) = member(store.as_ref(), "bob").await;
    let report = store
        .create_report(
            NewReport {
                outbox: Vec::new(),
                fields: cnadesk_core::ReportInput {
                    title: "Carbons spoofing".into(),
                    reporter_name: "Rita".into(),
                    reporter_email: "rita@reporter.example".into(),
                    product: "Example Client".into(),
                    description: "Forged carbons are accepted from any sender.".into(),
                    ..Default::default()
                }
                .validate()
                .unwrap(),
                tracking_hash: "nodes-test".into(),
                attachments: vec![],
                channel: cnadesk_store::Channel::Web,
            },
            now_ms(),
        )
        .await
        .unwrap();
    let case = store
        .accept_report(report.id, "Carbons spoofing", &ada_actor, now_ms())
        .await
        .unwrap()
        .id;
    let client = Client::new(
        api_url,
        Credentials {
            org: "xsf".into(),
            user: "setup@cna.example".into(),
            key: "key-setup".to_owned().into(),
        },
    )
    .unwrap();
    let desk = CveDesk::new(
        store.clone(),
        client,
        Arc::new(SystemClock),
        Environment::Custom,
    );
    let year = cnadesk_core::Clock::now(&cnadesk_core::SystemClock)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .year() as i32;
    let job = desk
        .reserve(
            ReserveRequest {
                case: Some(case),
                amount: 1,
                year,
                batch: BatchType::Sequential,
            },
            &ada_actor,
        )
        .await
        .unwrap();
    assert_eq!(job.state, JobState::Done, "{}", job.last_error);
    let cve_id = store.case(case).await.unwrap().unwrap().cve_id.unwrap();
    let v = store
        .save_record_version(
            case,
            NewRecordVersion {
                cve_id,
                document: container().to_string(),
                based_on: 0,
                schema_errors: 0,
                lint_errors: 0,
                lint_warnings: 0,
                note: String::new(),
                author: ada,
            },
            &ada_actor,
            now_ms(),
        )
        .await
        .unwrap();
    store
        .approve_record_version(case, v.version, bob, &bob_actor, now_ms())
        .await
        .unwrap();
    case
}

async fn post_report(node: &Node, n: usize) {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/reports", node.base))
        .json(&serde_json::json!({
            "title": format!("Report {n} through {}", node.name),
            "product": "Prosody",
            "reporter_email": format!("reporter-{n}@reporter.example"),
            "description": "A description that is long enough to be accepted.",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap_or_default());
}

/// Waits until no message is queued or being sent; returns every message.
async fn outbox_settled(store: &dyn Store, within: Duration) -> Vec<cnadesk_store::OutboxMessage> {
    let deadline = Instant::now() + within;
    loop {
        let all = store
            .outbox(OutboxFilter {
                limit: 10_000,
                ..Default::default()
            })
            .await
            .unwrap();
        if !all.is_empty() && all.iter().all(|m| !m.state.is_open()) {
            return all;
        }
        assert!(
            Instant::now() < deadline,
            "messages still open: {:?}",
            all.iter().map(|m| (m.id, m.state)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn mail_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect()
}

/// A run of a periodic job, from a node's log.
#[derive(Debug)]
struct Run {
    job: String,
    node: &'static str,
    start: jiff::Timestamp,
    end: jiff::Timestamp,
}

/// The runs of periodic jobs in a node's log; a run the node did not
/// finish (it was killed) ends at `killed`.
fn runs(node: &'static str, log: &Path, killed: Option<jiff::Timestamp>) -> Vec<Run> {
    let mut open: BTreeMap<String, jiff::Timestamp> = BTreeMap::new();
    let mut out = Vec::new();
    for line in std::fs::read_to_string(log).unwrap().lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let field = |k: &str| {
            v["fields"][k]
                .as_str()
                .or(v[k].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let Ok(at) = v["timestamp"].as_str().unwrap_or_default().parse() else {
            continue;
        };
        match field("message").as_str() {
            "periodic job started" => {
                open.insert(field("job"), at);
            }
            "periodic job finished" => {
                let job = field("job");
                let start = open.remove(&job).expect("a start before the end");
                out.push(Run {
                    job,
                    node,
                    start,
                    end: at,
                });
            }
            _ => {}
        }
    }
    for (job, start) in open {
        out.push(Run {
            job,
            node,
            start,
            end: killed.expect("every run of a living node finished"),
        });
    }
    out
}

#[test]
#[ignore = "needs PostgreSQL: set CNADESK_TEST_POSTGRES_URL"]
fn two_nodes_on_one_postgres_a_killed_publication_is_taken_over_once() {
    let pg =
        require_postgres_url("two_nodes_on_one_postgres_a_killed_publication_is_taken_over_once");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database_url = rt.block_on(fresh_database(&pg));
    let (double, api_url, calls) = rt.block_on(cve_services());
    let desk = Desk {
        dir: dir.path().to_owned(),
        database_url: database_url.clone(),
        key: hex_key(),
        api_url: api_url.clone(),
    };
    // An operator's first steps: migrate, then create the desk (its key is
    // recorded in the database: every node must bring the same one).
    for step in [&["migrate"][..], &["init"][..]] {
        let o = desk.command(step).output().unwrap();
        assert!(o.status.success(), "{step:?}: {}{}", stdout(&o), stderr(&o));
    }
    let store: Arc<dyn Store> = Arc::new(
        rt.block_on(cnadesk_store_sql::open(
            &database_url,
            cnadesk_store_sql::Migrate::Require,
        ))
        .unwrap(),
    );

    // Node A starts first and takes every periodic job's lease; B waits.
    let a = desk.start("node-a");
    let all_jobs: Vec<&str> = TICK_JOBS.iter().chain(&MINUTE_JOBS).copied().collect();
    rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let leases = store.leases().await.unwrap();
            let held = leases
                .iter()
                .filter(|l| l.holder.starts_with("node-a/") && l.is_held(now_ms()))
                .count();
            if held == all_jobs.len() {
                break;
            }
            assert!(Instant::now() < deadline, "A holds every lease: {leases:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    let b = desk.start("node-b");
    let nodes = [&a, &b];

    // Reports through both nodes: every acknowledgement and notification
    // is delivered once, whichever node took the report.
    let case = rt.block_on(approved_case(store.clone(), &api_url));
    rt.block_on(async {
        for n in 0..6 {
            post_report(nodes[n % 2], n).await;
        }
        outbox_settled(store.as_ref(), Duration::from_secs(60)).await;
    });
    // One log, one signing key, whichever node is asked.
    let heads: Vec<Value> = rt.block_on(async {
        let mut heads = Vec::new();
        for node in nodes {
            let h = reqwest::get(format!("{}/transparency/head", node.base))
                .await
                .unwrap();
            heads.push(h.json::<Value>().await.unwrap());
        }
        heads
    });
    assert_eq!(heads[0]["key"], heads[1]["key"], "{heads:?}");

    // Bob signs in on node A and publishes; CVE Services publishes and
    // holds its answer back; the node that made the call is killed.
    let mut bob = Browser::new();
    let a_base = a.base.clone();
    let (status, _) = rt.block_on(bob.submit(
        &format!("{a_base}/login"),
        &format!("{a_base}/login"),
        &[("username", "bob"), ("password", PASSWORD)],
    ));
    assert_eq!(status, 303, "bob signs in");
    let page = format!("/desk/cases/{}/cve", case.0);
    // The publish button: the request waits for CVE Services' answer, which
    // never comes (its node dies first), so it runs on its own.
    let token = rt.block_on(bob.token(&format!("{a_base}{page}")));
    let publish = rt.spawn(
        bob.http
            .post(format!("{a_base}{page}/publish"))
            .header(reqwest::header::COOKIE, bob.cookie())
            .form(&[("csrf", token.as_str()), ("version", "1")])
            .send(),
    );
    let caller = rt.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(user) = publications(&calls).first() {
                return user.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no publication reached CVE Services"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert_eq!(double.record_count(), 1, "CVE Services published");
    let (mut victim, survivor) = if caller == a.cve_user { (a, b) } else { (b, a) };
    victim.child.kill().unwrap(); // SIGKILL
    let killed_at = Instant::now();
    let killed_ts = cnadesk_core::Clock::now(&cnadesk_core::SystemClock);
    victim.child.wait().unwrap();
    // (Node B's worker may, rarely, have taken the job in the instant
    // between A storing it and A running it; then B is the one killed.)
    let answered = rt.block_on(publish).unwrap();
    if victim.name == "node-a" {
        assert!(answered.is_err(), "node A died before it answered");
    }

    // On the other node, "Try now" leaves the call alone while the dead
    // node's lease runs; then the job is taken over and finished.
    let job = rt.block_on(async {
        store
            .jobs(cnadesk_store::JobFilter {
                case: Some(case),
                open_only: false,
                limit: 0,
            })
            .await
            .unwrap()
            .into_iter()
            .find(|j| j.kind == cnadesk_store::JobKind::CvePublish)
            .expect("the publication job")
    });
    let s_base = survivor.base.clone();
    let (status, location) = rt.block_on(bob.submit(
        &format!("{s_base}{page}"),
        &format!("{s_base}{page}/jobs/{}/run", job.id),
        &[],
    ));
    assert_eq!(status, 303);
    assert!(
        location.ends_with("?done=running"),
        "the dead node's lease still runs: {location}"
    );
    let done = rt.block_on(async {
        loop {
            let j = store.job(job.id).await.unwrap().unwrap();
            if !j.state.is_open() {
                return j;
            }
            assert!(
                killed_at.elapsed() < Duration::from_secs(120),
                "not taken over within 2 minutes"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let takeover = killed_at.elapsed();
    eprintln!(
        "nodes: {} killed mid-publication; {} finished it {:.1} s later (CVE lease {} s)",
        victim.name,
        survivor.name,
        takeover.as_secs_f64(),
        cve_lease_s()
    );
    assert_eq!(done.state, JobState::Done, "{}", done.last_error);
    assert_eq!(done.attempts, 2, "one attempt per node");
    assert_eq!(done.result.as_ref().unwrap()["read_back_matches"], true);
    assert!(takeover < Duration::from_secs(120));
    assert!(
        takeover < Duration::from_secs(cve_lease_s() + 20),
        "taken over soon after the lease ran out: {takeover:?}"
    );
    assert_eq!(publications(&calls), vec![caller.clone()], "published once");
    assert_eq!(double.record_count(), 1);
    assert!(
        calls
            .lock()
            .unwrap()
            .iter()
            .any(|(c, u)| c.starts_with("GET /api/cve/") && *u == survivor.cve_user),
        "the survivor read back before anything else"
    );
    let cve_id = rt
        .block_on(store.case(case))
        .unwrap()
        .unwrap()
        .cve_id
        .unwrap();
    let entry = rt.block_on(store.cve_id_entry(&cve_id)).unwrap().unwrap();
    assert_eq!(entry.state, CveIdState::Published);

    // The survivor goes on alone: reports, the publication's messages.
    let messages = rt.block_on(async {
        for n in 6..9 {
            post_report(&survivor, n).await;
        }
        outbox_settled(store.as_ref(), Duration::from_secs(60)).await
    });
    // Every message went out exactly once, on one node or the other.
    let files: Vec<String> = [&victim.mail, &survivor.mail]
        .iter()
        .flat_map(|d| mail_files(d))
        .collect();
    assert!(
        messages
            .iter()
            .all(|m| m.state == JobState::Done && m.attempts == 1),
        "{messages:?}"
    );
    assert_eq!(files.len(), messages.len(), "one mail per message");
    for n in 0..9 {
        let to = format!("reporter-{n}@reporter.example");
        let acks = files
            .iter()
            .filter(|f| f.contains(&format!("To: {to}")))
            .count();
        assert_eq!(acks, 1, "{to} acknowledged once");
    }
    // The audit chain of everything both nodes wrote is intact.
    let o = desk.command(&["audit", "verify"]).output().unwrap();
    assert!(o.status.success(), "{}", stdout(&o));
    let o = cnadesk(&["transparency", "verify", "--url", &survivor.base])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));

    // A graceful stop hands the survivor's leases back at once.
    let survivor_name = survivor.name;
    let survivor_log = survivor.log.clone();
    let _ = Command::new("kill")
        .args(["-TERM", &survivor.child.id().to_string()])
        .status();
    let mut survivor = survivor;
    let status = survivor.child.wait().unwrap();
    assert!(status.success(), "a graceful stop: {status}");
    let leases = rt.block_on(store.leases()).unwrap();
    assert_eq!(leases.len(), all_jobs.len());
    assert!(
        leases
            .iter()
            .all(|l| !l.holder.starts_with(&format!("{survivor_name}/")) || l.expires_at_ms == 0),
        "released: {leases:?}"
    );

    // The periodic jobs ran on one node at a time, and moved to the survivor.
    let mut all = runs(victim.name, &victim.log, Some(killed_ts));
    all.extend(runs(survivor_name, &survivor_log, None));
    for job in &all_jobs {
        let mut of_job: Vec<&Run> = all.iter().filter(|r| r.job == *job).collect();
        of_job.sort_by_key(|r| r.start);
        assert!(!of_job.is_empty(), "{job} ran");
        for pair in of_job.windows(2) {
            assert!(
                pair[0].node == pair[1].node || pair[1].start >= pair[0].end,
                "{job} ran on two nodes at once: {pair:?}"
            );
        }
    }
    // Until the kill each job stayed on the node that took its lease first
    // (the holder renews it between runs); without leases both would run it.
    for job in &all_jobs {
        let before: std::collections::BTreeSet<&str> = all
            .iter()
            .filter(|r| r.job == *job && r.start < killed_ts)
            .map(|r| r.node)
            .collect();
        assert_eq!(before.len(), 1, "{job} ran on {before:?} before the kill");
    }
    for job in TICK_JOBS {
        let resumed = all
            .iter()
            .filter(|r| r.job == job && r.node == survivor_name && r.start > killed_ts)
            .map(|r| r.start)
            .min()
            .unwrap_or_else(|| panic!("{job} went on after the kill"));
        let after = resumed.duration_since(killed_ts);
        eprintln!(
            "nodes: {job} ran on {survivor_name} {:.1} s after the kill",
            after.as_secs_f64()
        );
    }
    rt.shutdown_background();
}

/// `serve --demo` never uses the configured database, and says so.
#[test]
fn demo_says_it_does_not_use_the_configured_database() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = cnadesk(&[
        "serve",
        "--demo",
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ])
    .env(
        "CNADESK_DATABASE_URL",
        "postgres://desk:s3cret@db.invalid/cnadesk",
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let out = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    for line in BufReader::new(out).lines().map_while(Result::ok) {
        let listening = line.starts_with("cnadesk listening on ");
        lines.push(line);
        if listening {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = lines.join("\n");
    assert!(
        text.contains(
            "demo mode: CNADESK_DATABASE_URL (postgres://desk:***@db.invalid/cnadesk) is not used"
        ),
        "{text}"
    );
    assert!(
        text.contains(&dir.path().join("demo").display().to_string()),
        "{text}"
    );
    assert!(!text.contains("s3cret"), "{text}");
    assert!(text.contains("database: sqlite"), "{text}");
}

fn hex_key() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}
