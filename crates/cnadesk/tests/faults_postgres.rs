//! The faults of `faults.rs`, on PostgreSQL: a disk that fills up under a
//! real PostgreSQL server (which may crash-restart when its WAL cannot grow),
//! `kill -9` of the desk, and a second node started with another key. The
//! promise is the same: a report that was acknowledged is never lost, and a
//! node that cannot be trusted refuses to start, fast and in words.
//!
//! The full-disk test runs its own PostgreSQL cluster on a small tmpfs (root
//! and the PostgreSQL server binaries needed); the second-node test uses
//! `CNADESK_TEST_POSTGRES_URL` (each run creates its own database). They are
//! `#[ignore]`d, so a plain `cargo test` lists them as ignored; run with
//! `-- --include-ignored` (as `.ci/run` does), a missing resource fails them.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::faults::{missing_reports, post_report, readyz, Mount, Posted, UNLIMITED};
use support::{
    cnadesk, require_postgres_binaries, require_postgres_url, require_root, stderr, stdout, Server,
};

/// `program ARGS` as the `postgres` user (PostgreSQL refuses to run as root).
fn as_postgres(bin: &Path, program: &str, cwd: &Path) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"])
        .arg(bin.join(program))
        .current_dir(cwd);
    cmd
}

fn chown_postgres(path: &Path) {
    let ok = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "chown {} to postgres", path.display());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private PostgreSQL cluster on 127.0.0.1, stopped when dropped.
struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    postmaster: Option<u32>,
}

impl Cluster {
    /// `initdb` in `data` (on whatever filesystem it is; the WAL in `wal` if
    /// given), then `pg_ctl start` with the server log in `log_dir` (best kept
    /// off a disk that fills up).
    fn start(bin: &Path, data: &Path, wal: Option<&Path>, log_dir: &Path) -> Cluster {
        std::fs::create_dir_all(data).unwrap();
        std::fs::create_dir_all(log_dir).unwrap();
        chown_postgres(data);
        chown_postgres(log_dir);
        let mut initdb = as_postgres(bin, "initdb", log_dir);
        initdb.arg("-D").arg(data);
        if let Some(wal) = wal {
            initdb.arg(format!("--waldir={}", wal.display()));
        }
        let o = initdb
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
            .output()
            .unwrap();
        assert!(o.status.success(), "initdb: {}{}", stdout(&o), stderr(&o));
        let mut cluster = Cluster {
            bin: bin.to_owned(),
            data: data.to_owned(),
            log: log_dir.join("postgresql.log"),
            port: free_port(),
            postmaster: None,
        };
        cluster.pg_ctl_start();
        cluster
    }

    /// `pg_ctl start` on the cluster's port, waiting until it takes connections.
    fn pg_ctl_start(&mut self) {
        let o = as_postgres(&self.bin, "pg_ctl", Path::new("/"))
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .arg("-o")
            .arg(format!(
                "-h 127.0.0.1 -p {} -k {}",
                self.port,
                self.data.display()
            ))
            .args(["-w", "-t", "60", "start"])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "pg_ctl start: {}{}\n{}",
            stdout(&o),
            stderr(&o),
            self.log_text()
        );
        self.postmaster = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next()?.trim().parse().ok());
    }

    /// Whether the server runs (`pg_ctl status`).
    fn running(&self) -> bool {
        as_postgres(&self.bin, "pg_ctl", Path::new("/"))
            .arg("-D")
            .arg(&self.data)
            .arg("status")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin, "pg_ctl", Path::new("/"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "-t", "30", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        // Should `pg_ctl` have failed, never leave a server behind.
        let ours = |pid: u32| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("postgres"))
        };
        if let Some(pid) = self.postmaster.filter(|&pid| ours(pid)) {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// `n` characters that do not compress (PostgreSQL compresses long values):
/// the disk fills with what the reports really weigh.
/// Writes zeros to `path` until `dir`'s filesystem has at most `leave`
/// bytes free (or refuses more).
fn ballast(path: &Path, leave: u64) {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 1 << 20];
    while free_bytes(path.parent().unwrap()) > leave + chunk.len() as u64 {
        if f.write_all(&chunk).is_err() {
            break;
        }
    }
    let _ = f.sync_all();
}

fn free_bytes(dir: &Path) -> u64 {
    let o = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(dir)
        .output()
        .unwrap();
    stdout(&o)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0)
}

/// A 64-hex-digit secret key.
fn key(byte: &str) -> String {
    byte.repeat(32)
}

/// `cnadesk ARGS` against `url` with the key `key`, which must succeed.
fn cnadesk_ok(args: &[&str], data: &Path, url: &str, key: &str) -> String {
    let mut all = args.to_vec();
    all.extend(["--data-dir", data.to_str().unwrap()]);
    let o = cnadesk(&all)
        .env("CNADESK_DATABASE_URL", url)
        .env("CNADESK_SECRET_KEY", key)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "cnadesk {args:?}: {}{}",
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

#[test]
#[ignore = "needs root (mounts a tmpfs) and PostgreSQL server binaries"]
fn a_full_disk_under_postgres_loses_no_acknowledged_report() {
    full_disk(
        "a_full_disk_under_postgres_loses_no_acknowledged_report",
        false,
    );
}

#[test]
#[ignore = "needs root (mounts a tmpfs) and PostgreSQL server binaries"]
fn a_full_wal_disk_under_postgres_loses_no_acknowledged_report() {
    full_disk(
        "a_full_wal_disk_under_postgres_loses_no_acknowledged_report",
        true,
    );
}

/// A PostgreSQL cluster on a small tmpfs whose disk fills up under a stream
/// of reports; with `wal_apart`, its WAL (`pg_wal`) is on a second tmpfs, and
/// that is the one that fills (PostgreSQL cannot create its next WAL segment).
fn full_disk(test: &str, wal_apart: bool) {
    require_root(test);
    let bin = require_postgres_binaries(test);
    let what = if wal_apart {
        "full WAL disk"
    } else {
        "full disk"
    };
    let dir = tempfile::tempdir().unwrap();
    // The postgres user must reach the cluster below the private temp dir.
    Command::new("chmod")
        .arg("0755")
        .arg(dir.path())
        .status()
        .unwrap();
    let disk = dir.path().join("disk");
    let _mount = Mount::tmpfs(&disk, "128m");
    chown_postgres(&disk);
    let wal_disk = dir.path().join("wal");
    let _wal_mount = wal_apart.then(|| {
        let m = Mount::tmpfs(&wal_disk, "64m");
        chown_postgres(&wal_disk);
        m
    });
    let mut cluster = Cluster::start(
        &bin,
        &disk.join("pg"),
        wal_apart.then(|| wal_disk.join("pg_wal")).as_deref(),
        &dir.path().join("pglog"),
    );
    let full = if wal_apart { &wal_disk } else { &disk };
    let url = cluster.url();
    let k = key("ab");
    let data = dir.path().join("desk");
    cnadesk_ok(&["migrate"], &data, &url, &k);
    cnadesk_ok(&["init"], &data, &url, &k);
    let env = [
        ("CNADESK_DATABASE_URL", url.as_str()),
        ("CNADESK_SECRET_KEY", k.as_str()),
        UNLIMITED,
    ];
    let server = Server::start_env(&data, &[], &env);
    let base = server.base_url.clone();

    // Ballast, freed later to give PostgreSQL room again.
    let ballast_file = full.join("ballast");
    ballast(&ballast_file, 4 << 20);
    eprintln!(
        "{what} (PostgreSQL): {} kB free on the tmpfs before the reports",
        free_bytes(full) >> 10
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut acknowledged = Vec::new();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut unavailable = 0;
        let mut first_failure = None;
        let mut others = Vec::new();
        // Reports of ~40 kB until the disk is full, then more on a full disk.
        for i in 0..2_000 {
            match post_report(&client, &base, i, 40_000).await {
                Posted::Acknowledged(t) => acknowledged.push(t),
                Posted::Unavailable => unavailable += 1,
                Posted::Other(status, body) => others.push(format!("#{i}: {status} {body}")),
            }
            // A while on the full disk: 40 more reports, or 20 s (while
            // PostgreSQL is down, each refusal waits for a connection).
            if unavailable > 0 {
                let (since, n) = first_failure.get_or_insert((Instant::now(), 0));
                *n += 1;
                if *n > 40 || since.elapsed() > Duration::from_secs(20) {
                    break;
                }
            }
        }
        assert!(
            others.is_empty(),
            "only 201 or 503: {others:?}\nPostgreSQL log:\n{}",
            cluster.log_text()
        );
        assert!(
            unavailable > 0,
            "the disk filled up ({} acknowledged)",
            acknowledged.len()
        );
        let (status, body) = readyz(&client, &base).await;
        eprintln!("{what} (PostgreSQL): /readyz on the full disk: {status} {body}");
        assert_eq!(status, 503, "not ready while reports are refused: {body}");
        assert!(
            body["reason"].as_str().is_some_and(|r| !r.is_empty()),
            "{body}"
        );

        // Space comes back. When PostgreSQL could not write its WAL it
        // crash-restarts, and when even its recovery cannot write it shuts
        // down: it is started again, as its service manager would. The desk
        // recovers by itself.
        std::fs::remove_file(&ballast_file).unwrap();
        let freed = Instant::now();
        let postgres_was_down = !cluster.running();
        if postgres_was_down {
            cluster.pg_ctl_start();
        }
        let deadline = freed + Duration::from_secs(60);
        loop {
            let (status, body) = readyz(&client, &base).await;
            if status == 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "ready again within 60 s of space coming back: {status} {body}\n\
                 PostgreSQL log:\n{}",
                cluster.log_text()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let recovery = freed.elapsed();
        match post_report(&client, &base, 9_999, 100).await {
            Posted::Acknowledged(t) => acknowledged.push(t),
            Posted::Unavailable => panic!("a report is taken again once space is back: 503"),
            Posted::Other(status, body) => {
                panic!("a report is taken again once space is back: {status} {body}")
            }
        }
        let missing = missing_reports(&base, &acknowledged).await;
        assert!(
            missing.is_empty(),
            "acknowledged but not stored: {missing:?}"
        );
        let log = cluster.log_text();
        eprintln!(
            "{what} (PostgreSQL): {} acknowledged, {unavailable} refused with 503, 0 lost; \
             ready again {} ms after space came back; PostgreSQL: {} PANIC, {} crash \
             restarts, {}",
            acknowledged.len(),
            recovery.as_millis(),
            log.matches("PANIC:").count(),
            log.matches("all server processes terminated; reinitializing")
                .count(),
            if postgres_was_down {
                "had shut down (restarted by the test)"
            } else {
                "kept running"
            },
        );
    });

    // A crash of the desk now, and a restart: still all there.
    server.kill9();
    let server = Server::start_env(&data, &[], &env);
    rt.block_on(async {
        let missing = missing_reports(&server.base_url, &acknowledged).await;
        assert!(missing.is_empty(), "lost across a restart: {missing:?}");
    });
    server.stop();
    cnadesk_ok(&["audit", "verify"], &data, &url, &k);
}

/// A new database on the server of `base`; its URL.
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

#[test]
#[ignore = "needs PostgreSQL: set CNADESK_TEST_POSTGRES_URL"]
fn a_second_node_with_another_key_refuses_to_start_on_postgres() {
    let base = require_postgres_url("a_second_node_with_another_key_refuses_to_start_on_postgres");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(fresh_database(&base));
    let dir = tempfile::tempdir().unwrap();
    let (k1, k2) = (key("ab"), key("cd"));
    let node_a = dir.path().join("a");
    cnadesk_ok(&["migrate"], &node_a, &url, &k1);
    cnadesk_ok(&["init"], &node_a, &url, &k1);
    let a = Server::start_env(
        &node_a,
        &[],
        &[
            ("CNADESK_DATABASE_URL", &url),
            ("CNADESK_SECRET_KEY", &k1),
            UNLIMITED,
        ],
    );
    let client = reqwest::Client::new();
    let token = rt.block_on(async {
        match post_report(&client, &a.base_url, 1, 2_000).await {
            Posted::Acknowledged(t) => t,
            Posted::Unavailable => panic!("node A takes a report: 503"),
            Posted::Other(status, body) => panic!("node A takes a report: {status} {body}"),
        }
    });

    // Node B, set up with its own key, on the same database: refused.
    let node_b = dir.path().join("b");
    let started = Instant::now();
    let mut b = cnadesk(&[
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        node_b.to_str().unwrap(),
    ])
    .env("CNADESK_DATABASE_URL", &url)
    .env("CNADESK_SECRET_KEY", &k2)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let (took, said) = loop {
        if let Some(status) = b.try_wait().unwrap() {
            let took = started.elapsed();
            let out = b.wait_with_output().unwrap();
            let said = format!("{}{}", stdout(&out), stderr(&out));
            assert!(!status.success(), "node B refused: {said}");
            break (took, said);
        }
        if started.elapsed() > Duration::from_secs(10) {
            let _ = b.kill();
            let out = b.wait_with_output().unwrap();
            panic!(
                "node B with another key did not refuse within 10 s: {}{}",
                stdout(&out),
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    eprintln!(
        "second node (PostgreSQL): another key refused in {} ms",
        took.as_millis()
    );
    assert!(
        took < Duration::from_secs(5),
        "refused within 5 s: {took:?}"
    );
    assert!(said.contains("not the key of this desk"), "{said}");
    assert!(!said.contains("/setup/"), "never a setup link: {said}");

    // Node A serves on, with its report.
    rt.block_on(async {
        let (status, body) = readyz(&client, &a.base_url).await;
        assert_eq!(status, 200, "node A is still ready: {body}");
        let missing = missing_reports(&a.base_url, std::slice::from_ref(&token)).await;
        assert!(missing.is_empty(), "{missing:?}");
    });

    // Node B with the desk's key joins.
    let b = Server::start_env(
        &node_b,
        &[],
        &[
            ("CNADESK_DATABASE_URL", &url),
            ("CNADESK_SECRET_KEY", &k1),
            UNLIMITED,
        ],
    );
    rt.block_on(async {
        let (status, body) = readyz(&client, &b.base_url).await;
        assert_eq!(status, 200, "node B with the desk's key is ready: {body}");
        let missing = missing_reports(&b.base_url, std::slice::from_ref(&token)).await;
        assert!(missing.is_empty(), "node B sees the report: {missing:?}");
        let (status, body) = readyz(&client, &a.base_url).await;
        assert_eq!(status, 200, "node A is still ready: {body}");
    });
    b.stop();
    a.stop();
}
