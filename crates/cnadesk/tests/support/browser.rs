//! Driving a real headless Chromium through chromedriver (fantoccini): the
//! helpers of the browser tests.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// The `chromium` and `chromedriver` binaries, or the test fails, in words.
pub fn require_chromium(test: &str) -> (String, String) {
    let (Some(chromium), Some(chromedriver)) = (
        which("chromium").or_else(|| which("chromium-browser")),
        which("chromedriver"),
    ) else {
        panic!(
            "{test} needs chromium and chromedriver \
             (apt-get install chromium chromium-driver; `.ci/run` installs them)"
        );
    };
    (chromium, chromedriver)
}

/// Starts chromedriver on a free port and waits until it listens.
pub async fn start_driver(chromedriver: &str) -> (Driver, u16) {
    let port = free_port();
    let driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (driver, port)
}

/// chromedriver in its own process group: dropping it (also when the test
/// panics) kills the driver and every browser it started.
pub struct Driver(pub Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // `--`: without it, procps kill takes `-PGID` for an option.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn which(cmd: &str) -> Option<String> {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub async fn browser(port: u16, profile: &std::path::Path, chromium: &str) -> Client {
    browser_with(port, profile, chromium, None).await
}

/// A Chromium session; with `phone: Some((width, height))`, Chromium's
/// mobile emulation at that viewport (CSS pixels, device pixel ratio 2).
pub async fn browser_with(
    port: u16,
    profile: &std::path::Path,
    chromium: &str,
    phone: Option<(u32, u32)>,
) -> Client {
    let mut options = serde_json::json!({
        "binary": chromium,
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--disable-quic", "--window-size=1280,1600",
            format!("--user-data-dir={}", profile.display()),
        ]
    });
    if let Some((width, height)) = phone {
        options["mobileEmulation"] = serde_json::json!({
            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2 }
        });
    }
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("connect to chromedriver")
}

pub fn totp_now(secret_b32: &str) -> String {
    let secret = data_encoding::BASE32_NOPAD
        .decode(secret_b32.trim().as_bytes())
        .unwrap();
    let now =
        u64::try_from(cnadesk_core::Clock::now(&cnadesk_core::SystemClock).as_second()).unwrap();
    totp_rs::TOTP::new(totp_rs::Algorithm::SHA1, 6, 1, 30, secret)
        .unwrap()
        .generate(now)
}

/// Waits (up to 15 s) for an element: clicks that submit forms return
/// before the next page has loaded.
pub async fn find(c: &Client, id: &str) -> fantoccini::elements::Element {
    match c
        .wait()
        .at_most(Duration::from_secs(15))
        .for_element(Locator::Id(id))
        .await
    {
        Ok(el) => el,
        Err(e) => panic!("#{id} on {}: {e}", path(c).await),
    }
}

/// Waits (up to 15 s) until the browser is at a path starting with `prefix`.
pub async fn wait_path(c: &Client, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let p = path(c).await;
        if p.starts_with(prefix) {
            return p;
        }
        assert!(Instant::now() < deadline, "expected {prefix}, still at {p}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn fill(c: &Client, id: &str, text: &str) {
    let el = find(c, id).await;
    el.clear().await.unwrap();
    el.send_keys(text).await.unwrap();
}

pub async fn click(c: &Client, id: &str) {
    find(c, id).await.click().await.unwrap();
}

/// The element's text. A page that is just being replaced (after a click)
/// can make the element stale between finding and reading it: look again.
pub async fn text(c: &Client, id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match find(c, id).await.text().await {
            Ok(t) => return t,
            Err(e) => {
                assert!(Instant::now() < deadline, "#{id}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Waits (up to 15 s) until the page source contains `needle`.
pub async fn wait_for_text(c: &Client, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !c.source().await.unwrap().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "{needle:?} never appeared on {}",
            path(c).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits (up to 15 s) until the element's text contains `needle`; returns it.
pub async fn wait_for_child_text(c: &Client, id: &str, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let t = text(c, id).await;
        if t.contains(needle) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "#{id} never showed {needle:?} (has {t:?})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn path(c: &Client) -> String {
    let url = c.current_url().await.unwrap();
    format!(
        "{}{}",
        url.path(),
        url.query().map(|q| format!("?{q}")).unwrap_or_default()
    )
}

pub async fn shot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("CNADESK_SCREENSHOTS") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), c.screenshot().await.unwrap()).unwrap();
    }
}

/// The document's width against the viewport's, and the element reaching
/// furthest right (tag, id, class) when it is wider.
pub async fn overflow(c: &Client) -> (i64, i64, String) {
    let v = c
        .execute(
            "const w = document.documentElement.scrollWidth, v = window.innerWidth;
             let worst = '', right = v;
             for (const e of document.body.querySelectorAll('*')) {
               const r = e.getBoundingClientRect().right;
               if (r > right + 0.5) { right = r; worst = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''); }
             }
             return [w, v, worst];",
            vec![],
        )
        .await
        .unwrap();
    (
        v[0].as_i64().unwrap_or(0),
        v[1].as_i64().unwrap_or(0),
        v[2].as_str().unwrap_or("").to_owned(),
    )
}

/// Loads `url` and asserts the page is no wider than the viewport.
pub async fn assert_fits(c: &Client, url: &str) {
    c.goto(url).await.unwrap();
    let (width, viewport, worst) = overflow(c).await;
    assert!(
        width <= viewport,
        "{url} is {width} px wide on a {viewport} px screen; widest: {worst}"
    );
}

/// Clicks the link with this text.
pub async fn click_link(c: &Client, text: &str) {
    c.find(Locator::LinkText(text))
        .await
        .unwrap_or_else(|e| panic!("no link {text:?}: {e}"))
        .click()
        .await
        .unwrap();
}

/// The password every browser test's first admin has.
pub const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// Fills the first-admin setup page (already open) for `username` and
/// sends it; returns the path it leads to (second-factor enrolment).
pub async fn create_first_admin(c: &Client, username: &str, display_name: &str) -> String {
    fill(c, "username", username).await;
    fill(c, "display_name", display_name).await;
    fill(c, "email", &format!("{username}@example.org")).await;
    fill(c, "password", ADMIN_PASSWORD).await;
    fill(c, "confirm", ADMIN_PASSWORD).await;
    click(c, "create-admin").await;
    wait_path(c, "/account/totp").await
}

/// Enrols a TOTP second factor on the enrolment page (already open);
/// returns the secret, for later codes.
pub async fn enrol_totp(c: &Client) -> String {
    let secret = text(c, "totp-secret").await;
    fill(c, "code", &totp_now(&secret)).await;
    click(c, "enable-totp").await;
    find(c, "totp-status").await;
    secret
}
