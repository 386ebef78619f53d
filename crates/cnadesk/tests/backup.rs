//! `cnadesk backup` while reports arrive, and `cnadesk restore`: the copy
//! holds every report acknowledged before the backup started, restores into
//! a desk whose audit chain verifies and that serves them, and bad or
//! dangerous restores are refused.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{run, stderr, stdout, Server};

/// An acknowledged report: when its 201 arrived, its id and tracking token.
type Acked = (Instant, String, String);

async fn post_until(base: String, stop: Arc<AtomicBool>, acked: Arc<Mutex<Vec<Acked>>>, n: usize) {
    let client = reqwest::Client::new();
    let mut i = 0;
    while !stop.load(Ordering::Relaxed) {
        i += 1;
        let response = client
            .post(format!("{base}/api/v1/reports"))
            .json(&serde_json::json!({
                "title": format!("Poster {n} report {i}"),
                "product": "Prosody",
                "reporter_email": "reporter@example.org",
                "description": format!("A stanza makes the server crash, case {n}/{i}."),
            }))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        assert_eq!(status, 201, "{body}");
        let at = Instant::now();
        acked.lock().unwrap().push((
            at,
            body["id"].as_str().unwrap().to_owned(),
            body["tracking_token"].as_str().unwrap().to_owned(),
        ));
    }
}

async fn report_ids(data: &Path) -> BTreeSet<String> {
    let store = cnadesk_store_sql::open(
        &cnadesk_store_sql::sqlite_url_in(data),
        cnadesk_store_sql::Migrate::Require,
    )
    .await
    .unwrap();
    let ids = cnadesk_store::Reports::list_reports(&store, Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.to_string())
        .collect();
    store.close().await;
    ids
}

#[test]
fn backup_under_load_restores_every_acknowledged_report() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    let server = Server::start_env(
        &live,
        &[],
        &[("CNADESK_INTAKE__REPORTS_PER_IP_PER_HOUR", "0")],
    );
    let base = server.base_url.clone();
    let backup = dir.path().join("backups/cnadesk-backup.sqlite3");
    std::fs::create_dir(dir.path().join("backups")).unwrap();
    let out = backup.to_str().unwrap().to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();

    // Reports arrive from three clients before, during and after the backup.
    let stop = Arc::new(AtomicBool::new(false));
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let (started, finished, backup_out) = rt.block_on(async {
        let posters: Vec<_> = (0..3)
            .map(|n| tokio::spawn(post_until(base.clone(), stop.clone(), acked.clone(), n)))
            .collect();
        while acked.lock().unwrap().len() < 30 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let started = Instant::now();
        let out = out.clone();
        let live = live.clone();
        let o = tokio::task::spawn_blocking(move || {
            run(&[
                "backup",
                "--out",
                &out,
                "--data-dir",
                live.to_str().unwrap(),
            ])
        })
        .await
        .unwrap();
        let finished = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
        for p in posters {
            p.await.unwrap();
        }
        (started, finished, o)
    });
    assert!(backup_out.status.success(), "{}", stderr(&backup_out));
    let said = stdout(&backup_out);
    assert!(said.starts_with("backup OK: "), "{said}");
    assert!(said.contains(&out) && said.contains("reports"), "{said}");
    let acked = acked.lock().unwrap().clone();
    let before: Vec<&Acked> = acked.iter().filter(|a| a.0 < started).collect();
    let during = acked
        .iter()
        .filter(|a| a.0 >= started && a.0 < finished)
        .count();
    eprintln!(
        "{} reports acknowledged before the backup, {during} while it ran ({:?}), {} in all",
        before.len(),
        finished - started,
        acked.len()
    );
    assert!(
        during > 0,
        "no report was acknowledged while `cnadesk backup` ran ({:?}): the backup did not overlap the load",
        finished - started
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "a backup is readable by its owner only"
        );
    }

    // A backup never overwrites a file; restoring into a serving desk is refused.
    let o = run(&[
        "backup",
        "--out",
        &out,
        "--data-dir",
        live.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    let o = run(&[
        "restore",
        "--from",
        &out,
        "--force",
        "--data-dir",
        live.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("in use"), "{}", stderr(&o));
    server.stop();

    // Restored into a fresh data directory with the desk's key.
    let fresh = dir.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    std::fs::copy(live.join("secret.key"), fresh.join("secret.key")).unwrap();
    let f = fresh.to_str().unwrap();
    let o = run(&["restore", "--from", &out, "--data-dir", f]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("restored"), "{}", stdout(&o));
    assert!(stdout(&o).contains("matches"), "{}", stdout(&o));
    let o = run(&["audit", "verify", "--data-dir", f]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    let restored = rt.block_on(report_ids(&fresh));
    let missing: Vec<&str> = before
        .iter()
        .map(|a| a.1.as_str())
        .filter(|id| !restored.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "acknowledged before the backup started but not in it: {missing:?}"
    );
    eprintln!(
        "restored {} reports; all {} acknowledged before the backup are there",
        restored.len(),
        before.len()
    );

    // The restored desk serves them.
    let server = Server::start(&fresh);
    rt.block_on(async {
        for (_, id, token) in before.iter().take(5) {
            let page = reqwest::get(format!("{}/track/{token}", server.base_url))
                .await
                .unwrap();
            assert_eq!(page.status(), 200, "{id}");
        }
    });
    server.stop();

    // Once it holds data, replacing it takes --force.
    let o = run(&["restore", "--from", &out, "--data-dir", f]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    let o = run(&["restore", "--from", &out, "--force", "--data-dir", f]);
    assert!(o.status.success(), "{}", stderr(&o));

    // A backup whose content was edited is refused, with the event named;
    // so is a file that is not a database.
    let tampered = dir.path().join("tampered.sqlite3");
    std::fs::copy(&backup, &tampered).unwrap();
    rt.block_on(async {
        let store = cnadesk_store_sql::open(
            &format!("sqlite://{}", tampered.display()),
            cnadesk_store_sql::Migrate::Require,
        )
        .await
        .unwrap();
        store
            .execute_raw_for_tests(
                "UPDATE reports SET title = 'nothing to see' WHERE id = (SELECT MIN(id) FROM reports)",
            )
            .await
            .unwrap();
        store.close().await;
    });
    let other = dir.path().join("other");
    let o = run(&[
        "restore",
        "--from",
        tampered.to_str().unwrap(),
        "--data-dir",
        other.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("content does not match the digest in event")
            && stderr(&o).contains("(report.created)"),
        "{}",
        stderr(&o)
    );
    assert!(
        !other.join("cnadesk.sqlite3").exists(),
        "nothing was put in place"
    );
    let junk = dir.path().join("junk.sqlite3");
    std::fs::write(&junk, vec![7u8; 8192]).unwrap();
    let o = run(&[
        "restore",
        "--from",
        junk.to_str().unwrap(),
        "--data-dir",
        other.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("damaged"), "{}", stderr(&o));
}

#[test]
fn postgres_backups_point_to_pg_dump() {
    let url = "postgres://cna:s3cret@127.0.0.1:1/cnadesk";
    let o = run(&["backup", "--out", "x.dump", "--database-url", url]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pg_dump"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("s3cret"), "{}", stderr(&o));
    assert!(!Path::new("x.dump").exists());
    let o = run(&["restore", "--from", "x.dump", "--database-url", url]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("pg_restore"), "{}", stderr(&o));
    assert!(stderr(&o).contains("audit verify"), "{}", stderr(&o));
}

/// Fills the filesystem holding `file` (writes until it is full); returns
/// how much was written.
fn fill(file: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(file).unwrap();
    for chunk in [65536usize, 4096, 512] {
        let buf = vec![0x5au8; chunk];
        while f.write_all(&buf).is_ok() {}
    }
    let _ = f.sync_all();
    // What landed, partial writes included (a failed `write_all` may have
    // written part of its chunk): the filesystem is full at this length.
    f.metadata().unwrap().len()
}

#[test]
#[ignore = "needs root (mounts a tmpfs)"]
fn restore_onto_a_full_disk_stops_without_calling_the_backup_damaged() {
    let test = "restore_onto_a_full_disk_stops_without_calling_the_backup_damaged";
    support::require_root(test);
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();

    // A desk with reports, backed up.
    let live = dir.path().join("live");
    let server = Server::start_env(&live, &[], &[support::faults::UNLIMITED]);
    rt.block_on(async {
        let client = reqwest::Client::new();
        for i in 0..20 {
            let posted = support::faults::post_report(&client, &server.base_url, i, 2000).await;
            assert!(matches!(posted, support::faults::Posted::Acknowledged(_)));
        }
    });
    server.stop();
    let backup = dir.path().join("backup.sqlite3");
    let out = backup.to_str().unwrap();
    let o = run(&["backup", "--out", out, "--data-dir", live.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));

    // Restored onto a small filesystem, which then fills up.
    let mnt = dir.path().join("mnt");
    let _mount = support::faults::Mount::tmpfs(&mnt, "8m");
    let data = mnt.join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::copy(live.join("secret.key"), data.join("secret.key")).unwrap();
    let d = data.to_str().unwrap();
    let o = run(&["restore", "--from", out, "--data-dir", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    let restored = rt.block_on(report_ids(&data));
    assert_eq!(restored.len(), 20);
    let db = data.join("cnadesk.sqlite3");
    let live_bytes = std::fs::read(&db).unwrap();
    let stale = data.join(".cnadesk.sqlite3.restore-4194305");
    std::fs::write(&stale, b"left by a killed restore").unwrap();
    let filler = mnt.join("filler");
    let full = fill(&filler);
    let page = 4096;
    let backup_len = std::fs::metadata(&backup).unwrap().len().div_ceil(page) * page;

    // No room for the copy; then room for the copy but not for opening it.
    for (what, free) in [("copying", 0), ("opening the copy", backup_len)] {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&filler)
            .unwrap()
            .set_len(full - free)
            .unwrap();
        let o = run(&["restore", "--from", out, "--force", "--data-dir", d]);
        let said = stderr(&o);
        eprintln!("{what}: {said}");
        assert_eq!(o.status.code(), Some(1), "{what}: {said}");
        assert!(
            said.contains("restore STOPPED by an I/O error") && !said.contains("damaged"),
            "{what}: a full disk is not a damaged backup: {said}"
        );
        assert_eq!(
            std::fs::read(&db).unwrap(),
            live_bytes,
            "{what}: the live database is as it was"
        );
        let left: Vec<String> = std::fs::read_dir(&data)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".restore-"))
            .collect();
        assert!(left.is_empty(), "{what}: temporary copies left: {left:?}");
    }

    // With room again, the same restore goes through.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(rt.block_on(report_ids(&data)), restored);
    let o = run(&["restore", "--from", out, "--force", "--data-dir", d]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["audit", "verify", "--data-dir", d]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert_eq!(rt.block_on(report_ids(&data)), restored);
}
