//! Faults injected for real into a running `cnadesk`: a filesystem that
//! fills up, `kill -9`, a lost key, a lost or damaged database, a read-only
//! data directory, a node with another key. The promise under test: a report
//! that was acknowledged is never lost, and a desk that cannot be trusted
//! refuses to start, fast and in words.
//!
//! The full-disk and read-only tests mount filesystems, so they need root:
//! they are `#[ignore]`d (a plain `cargo test` lists them as ignored) and run
//! with `-- --include-ignored`, as `.ci/run` does; not as root, they fail.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::faults::{missing_reports, post_report, readyz, Mount, Posted, UNLIMITED};
use support::{cnadesk, require_root, run, stderr, stdout, Server};

/// Sends the report form as a browser would: returns the status, whether
/// `Retry-After` was set, and the page.
async fn post_form(client: &reqwest::Client, base: &str) -> (u16, bool, String) {
    let form = client.get(format!("{base}/report")).send().await.unwrap();
    let cookies: Vec<String> = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .collect();
    let html = form.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form has a CSRF token")
        .to_owned();
    let parts = reqwest::multipart::Form::new()
        .text("csrf", csrf)
        .text("title", "Typed on a full disk")
        .text("product", "Prosody")
        .text("reporter_email", "reporter@example.org")
        .text(
            "description",
            "A stanza makes the server crash while the disk is full.",
        );
    let r = client
        .post(format!("{base}/report"))
        .header("cookie", cookies.join("; "))
        .multipart(parts)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry_after = r.headers().contains_key("retry-after");
    (status, retry_after, r.text().await.unwrap())
}

/// Sends a reply from the tracking page: status, `Retry-After`, page.
async fn post_reply(client: &reqwest::Client, base: &str, token: &str) -> (u16, bool, String) {
    let page = client
        .get(format!("{base}/track/{token}"))
        .send()
        .await
        .unwrap();
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .collect();
    let html = page.text().await.unwrap();
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the reply form has a CSRF token")
        .to_owned();
    let r = client
        .post(format!("{base}/track/{token}/messages"))
        .header("cookie", cookies.join("; "))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={csrf}&body=A+reply+typed+on+a+full+disk%2C+with+more+detail."
        ))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry_after = r.headers().contains_key("retry-after");
    (status, retry_after, r.text().await.unwrap())
}

/// Fills the filesystem of `dir` with a file until it refuses more.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.sync_all();
    path
}

#[test]
#[ignore = "needs root (mounts a tmpfs)"]
fn a_full_disk_under_sqlite_loses_no_acknowledged_report_and_recovers() {
    require_root("a_full_disk_under_sqlite_loses_no_acknowledged_report_and_recovers");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _mount = Mount::tmpfs(&data, "8m");
    // Ballast, freed later to give the desk room again.
    std::fs::write(data.join("ballast"), vec![0u8; 5 << 20]).unwrap();
    let server = Server::start_env(&data, &[], &[UNLIMITED]);
    let base = server.base_url.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut acknowledged = Vec::new();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let (mut unavailable, mut after_first_failure) = (0, 0);
        let mut others = Vec::new();
        // Reports of ~12 kB until the disk is full, then more on a full disk.
        for i in 0..2_000 {
            match post_report(&client, &base, i, 12_000).await {
                Posted::Acknowledged(t) => acknowledged.push(t),
                Posted::Unavailable => unavailable += 1,
                Posted::Other(status, body) => others.push(format!("{status} {body}")),
            }
            if unavailable > 0 {
                if after_first_failure == 0 {
                    // Leave no byte free at all.
                    fill(&data);
                }
                after_first_failure += 1;
                if after_first_failure > 40 {
                    break;
                }
            }
        }
        assert!(others.is_empty(), "only 201 or 503: {others:?}");
        assert!(
            unavailable > 0,
            "the disk filled up ({} acknowledged)",
            acknowledged.len()
        );
        let (status, body) = readyz(&client, &base).await;
        assert_eq!(status, 503, "not ready on a full disk: {body}");
        // The report form says the report was not received and keeps the text.
        let (status, retry_after, page) = post_form(&client, &base).await;
        assert_eq!(status, 503, "{page}");
        assert!(retry_after, "the form's 503 says when to retry");
        assert!(
            page.contains("Your report has NOT been received")
                && page.contains("Typed on a full disk")
                && !page.contains("Please check the form"),
            "{page}"
        );
        // So does the reporter's reply on the tracking page, unless SQLite
        // still had room for it: a short message can fit in the write-ahead
        // log's pages already on disk (reused after a checkpoint), and then
        // it is stored and shown. Either way nothing typed is lost.
        let (status, retry_after, page) = post_reply(&client, &base, &acknowledged[0]).await;
        if status == 503 {
            assert!(retry_after);
            assert!(
                page.contains("NOT been sent") && page.contains("A reply typed on a full disk"),
                "{page}"
            );
        } else {
            assert_eq!(status, 200, "stored, and the thread shown: {page}");
            assert!(page.contains("A reply typed on a full disk"), "{page}");
            assert!(!page.contains("NOT been sent"), "{page}");
        }
        assert!(
            body["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("disk is full"),
            "{body}"
        );
        // Space comes back: the desk recovers by itself.
        std::fs::remove_file(data.join("filler")).unwrap();
        std::fs::remove_file(data.join("ballast")).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while readyz(&client, &base).await.0 != 200 {
            assert!(Instant::now() < deadline, "ready again once space is back");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        match post_report(&client, &base, 9_999, 100).await {
            Posted::Acknowledged(t) => acknowledged.push(t),
            _ => panic!("a report is taken again once space is back"),
        }
        let missing = missing_reports(&base, &acknowledged).await;
        assert!(
            missing.is_empty(),
            "acknowledged but not stored: {missing:?}"
        );
        eprintln!(
            "full disk: {} acknowledged, {unavailable} refused with 503, 0 lost",
            acknowledged.len()
        );
    });
    // A crash now, and a restart on the same files: still all there.
    server.kill9();
    let server = Server::start_env(&data, &[], &[UNLIMITED]);
    rt.block_on(async {
        let missing = missing_reports(&server.base_url, &acknowledged).await;
        assert!(missing.is_empty(), "lost across a restart: {missing:?}");
    });
    server.stop();
    let o = run(&["audit", "verify", "--data-dir", data.to_str().unwrap()]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start_env(&data, &[], &[UNLIMITED]);
    let base = server.base_url.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let acknowledged = rt.block_on(async {
        let client = reqwest::Client::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for worker in 0..4 {
            let (client, base, tx) = (client.clone(), base.clone(), tx.clone());
            tasks.push(tokio::spawn(async move {
                for i in 0..10_000 {
                    match post_report(&client, &base, worker * 100_000 + i, 500).await {
                        Posted::Acknowledged(t) => {
                            if tx.send(t).is_err() {
                                return;
                            }
                        }
                        // The server is gone: stop.
                        Posted::Other(0, _) => return,
                        Posted::Unavailable => {}
                        Posted::Other(status, body) => panic!("{status} {body}"),
                    }
                }
            }));
        }
        drop(tx);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        // SIGKILL in the middle of the load.
        let pid = server.child.id();
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
        for t in tasks {
            t.await.unwrap();
        }
        let mut tokens = Vec::new();
        while let Some(t) = rx.recv().await {
            tokens.push(t);
        }
        tokens
    });
    server.kill9();
    assert!(acknowledged.len() > 10, "load ran: {}", acknowledged.len());
    let server = Server::start_env(&data, &[], &[UNLIMITED]);
    rt.block_on(async {
        let missing = missing_reports(&server.base_url, &acknowledged).await;
        assert!(
            missing.is_empty(),
            "{} of {} lost: {missing:?}",
            missing.len(),
            acknowledged.len()
        );
    });
    server.stop();
    let o = run(&["audit", "verify", "--data-dir", data.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stdout(&o));
}

/// Runs `cnadesk serve` expecting it to refuse to start: returns how long it
/// took and what it said. Fails if it is still running after 10 s.
fn refused(data: &Path, env: &[(&str, &str)]) -> (Duration, String) {
    let started = Instant::now();
    let mut child = cnadesk(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
    ])
    .envs(env.iter().copied())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let said = format!("{}{}", stdout(&out), stderr(&out));
            assert!(!status.success(), "serve refused: {said}");
            assert!(
                !said.contains("/setup/"),
                "never a setup link for a new desk: {said}"
            );
            return (started.elapsed(), said);
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "serve did not refuse within 10 s: {}{}",
                stdout(&out),
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A desk with some reports in `data`, stopped, its WAL folded into the file.
fn desk_with_reports(data: &Path, n: usize) -> Vec<String> {
    let server = Server::start_env(data, &[], &[UNLIMITED]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tokens = rt.block_on(async {
        let client = reqwest::Client::new();
        let mut tokens = Vec::new();
        for i in 0..n {
            if let Posted::Acknowledged(t) = post_report(&client, &server.base_url, i, 2_000).await
            {
                tokens.push(t);
            }
        }
        tokens
    });
    server.stop();
    rt.block_on(async {
        let store = cnadesk_store_sql::open(
            &cnadesk_store_sql::sqlite_url_in(data),
            cnadesk_store_sql::Migrate::Require,
        )
        .await
        .unwrap();
        store
            .execute_raw_for_tests("PRAGMA wal_checkpoint(TRUNCATE)")
            .await
            .unwrap();
        store.close().await;
    });
    assert_eq!(tokens.len(), n);
    tokens
}

fn db(data: &Path) -> PathBuf {
    data.join("cnadesk.sqlite3")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_lost_database_or_key_is_never_replaced_by_a_new_desk() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original");
    let tokens = desk_with_reports(&original, 5);

    // The database deleted while secret.key stays.
    let data = dir.path().join("deleted");
    copy_dir(&original, &data);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db(&data).display()));
    }
    let (took, said) = refused(&data, &[]);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        said.contains("missing") && said.contains("cnadesk init") && said.contains("Restore"),
        "{said}"
    );
    assert!(!db(&data).exists(), "no new database was created");

    // The database emptied.
    std::fs::write(db(&data), b"").unwrap();
    let (took, said) = refused(&data, &[]);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(said.contains("empty"), "{said}");

    // `init` starts a new desk on purpose, and only on an empty one.
    let o = run(&["init", "--data-dir", data.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("fingerprint"), "{}", stdout(&o));
    let o = run(&["init", "--data-dir", original.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("already holds a desk"),
        "{}",
        stderr(&o)
    );

    // secret.key lost: never regenerated next to a database with data.
    let data = dir.path().join("keyless");
    copy_dir(&original, &data);
    std::fs::remove_file(data.join("secret.key")).unwrap();
    let (took, said) = refused(&data, &[]);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(
        said.contains("secret.key") && said.contains("fingerprint") && said.contains("Restore"),
        "{said}"
    );
    assert!(!data.join("secret.key").exists(), "no new key was written");

    // Another key (a second node set up with its own): refused.
    let other_key = "cd".repeat(32);
    let (took, said) = refused(&original, &[("CNADESK_SECRET_KEY", &other_key)]);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(said.contains("not the key of this desk"), "{said}");

    // The desk itself still starts, with every report.
    let server = Server::start(&original);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let missing = rt.block_on(missing_reports(&server.base_url, &tokens));
    assert!(missing.is_empty(), "{missing:?}");
    server.stop();
}

#[test]
fn a_damaged_database_is_named_within_5_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original");
    desk_with_reports(&original, 40);
    let len = std::fs::metadata(db(&original)).unwrap().len() as usize;
    let bytes = std::fs::read(db(&original)).unwrap();
    let page = 4096;
    assert!(len > 8 * page, "the database has pages to damage: {len}");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", bytes[..50].to_vec(), "truncated"),
        (
            "zeroed header",
            [vec![0u8; 100], bytes[100..].to_vec()].concat(),
            "not an SQLite database",
        ),
        (
            "random bytes",
            (0..len).map(|i| (i * 7919 % 251) as u8).collect(),
            "not an SQLite database",
        ),
        (
            "one damaged page",
            {
                let mut b = bytes.clone();
                let at = (len / page - 3) * page;
                for (i, x) in b[at..at + page].iter_mut().enumerate() {
                    *x = (i * 31 % 256) as u8;
                }
                b
            },
            "integrity check failed",
        ),
    ];
    for (name, content, expected) in cases {
        let data = dir.path().join(name.replace(' ', "-"));
        copy_dir(&original, &data);
        std::fs::write(db(&data), &content).unwrap();
        let (took, said) = refused(&data, &[]);
        assert!(took < Duration::from_secs(5), "{name}: {took:?}");
        assert!(
            said.contains(expected) && said.contains(&db(&data).display().to_string()),
            "{name}: {said}"
        );
        assert_eq!(
            std::fs::read(db(&data)).unwrap(),
            content,
            "{name}: the damaged file is left as it was, for recovery"
        );
    }
}

#[test]
#[ignore = "needs root (mounts a read-only bind mount)"]
fn a_read_only_data_dir_is_refused_at_start() {
    require_root("a_read_only_data_dir_is_refused_at_start");
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original");
    desk_with_reports(&original, 3);
    let view = dir.path().join("ro");
    let _mount = Mount::read_only_view(&original, &view);
    let (took, said) = refused(&view, &[]);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(said.contains("read-only"), "{said}");
}

#[test]
fn a_page_damaged_while_serving_makes_the_desk_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = desk_with_reports(&data, 40);
    let server = Server::start(&data);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Serving (start-up done: it stops on a damaged file itself).
    rt.block_on(async {
        let client = reqwest::Client::new();
        while readyz(&client, &server.base_url).await.0 != 200 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    // Damage the last pages of the file under the running desk.
    let mut bytes = std::fs::read(db(&data)).unwrap();
    let page = 4096;
    let pages = bytes.len() / page;
    for p in pages.saturating_sub(6)..pages - 1 {
        for (i, x) in bytes[p * page..(p + 1) * page].iter_mut().enumerate() {
            *x = (i * 31 % 256) as u8;
        }
    }
    std::fs::write(db(&data), &bytes).unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        // Reading the reports meets the damage: 503, never a 500.
        let mut statuses = Vec::new();
        for t in &tokens {
            let r = client
                .get(format!("{}/track/{t}", server.base_url))
                .send()
                .await
                .unwrap();
            statuses.push(r.status().as_u16());
        }
        assert!(
            statuses.iter().all(|s| [200, 503].contains(s)),
            "{statuses:?}"
        );
        assert!(statuses.contains(&503), "the damage was met: {statuses:?}");
        let (status, body) = readyz(&client, &server.base_url).await;
        assert_eq!(status, 503, "{body}");
        assert!(
            body["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("damaged"),
            "{body}"
        );
    });
    server.stop();
}

/// A start killed between recording the key in the database and writing
/// `secret.key` leaves `secret.key.new`: the next start completes it. A
/// pending key the database does not know is never taken for the desk's.
#[test]
fn a_key_whose_start_was_cut_short_is_completed_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let tokens = desk_with_reports(&data, 2);
    let key = std::fs::read_to_string(data.join("secret.key")).unwrap();
    std::fs::rename(data.join("secret.key"), data.join("secret.key.new")).unwrap();
    let server = Server::start(&data);
    assert_eq!(
        std::fs::read_to_string(data.join("secret.key")).unwrap(),
        key,
        "the recorded key became secret.key"
    );
    assert!(!data.join("secret.key.new").exists());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let missing = rt.block_on(missing_reports(&server.base_url, &tokens));
    assert!(missing.is_empty(), "{missing:?}");
    server.stop();

    // A pending key of another desk next to this database: refused, kept.
    std::fs::remove_file(data.join("secret.key")).unwrap();
    std::fs::write(data.join("secret.key.new"), "cd".repeat(32)).unwrap();
    let (took, said) = refused(&data, &[]);
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(said.contains("fingerprint"), "{said}");
    assert!(!data.join("secret.key").exists(), "no key was made up");
}
