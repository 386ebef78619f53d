//! Runs the real `cnadesk` binary.
#![allow(dead_code)]

pub mod browser;
pub mod faults;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_cnadesk");

/// `cnadesk ARGS` with a clean environment (no stray CNADESK_* settings).
///
/// Members these tests make sign in with a password alone: the policy that
/// requires a second factor of every member (on for a real desk) is turned
/// off here, explicitly. Admins still enrol (`security.require_totp_for_admins`).
/// A test about the policy sets `CNADESK_ACCOUNTS__REQUIRE_TOTP` itself.
pub fn cnadesk(args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("CNADESK_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("CNADESK_LOG__LEVEL", "warn");
    cmd.env("CNADESK_ACCOUNTS__REQUIRE_TOTP", "false");
    cmd
}

pub fn run(args: &[&str]) -> Output {
    cnadesk(args).output().expect("run cnadesk")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A running `cnadesk serve`.
pub struct Server {
    pub child: Child,
    pub base_url: String,
    pub setup_url: Option<String>,
}

impl Server {
    /// Starts `cnadesk serve` on a free port with its data in `data_dir`.
    pub fn start(data_dir: &Path) -> Server {
        Self::start_with(data_dir, &[])
    }

    /// [`Server::start`] with more arguments (e.g. `--demo`).
    pub fn start_with(data_dir: &Path, extra: &[&str]) -> Server {
        Self::start_env(data_dir, extra, &[])
    }

    /// [`Server::start_with`] with `CNADESK_*` environment variables.
    pub fn start_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut args = vec![
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            data_dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let mut cmd = cnadesk(&args);
        cmd.envs(env.iter().copied());
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn cnadesk serve");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut base_url = None;
        let mut setup_url = None;
        while Instant::now() < deadline {
            let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) else {
                if base_url.is_some() {
                    break;
                }
                continue;
            };
            if let Some(rest) = line.strip_prefix("cnadesk listening on ") {
                base_url = Some(rest.split(' ').next().unwrap().to_owned());
            }
            if let Some(i) = line.find("/setup/") {
                let start = line[..i].rfind("http").unwrap();
                setup_url = Some(line[start..].split_whitespace().next().unwrap().to_owned());
                break;
            }
        }
        Server {
            child,
            base_url: base_url.expect("the server printed its address"),
            setup_url,
        }
    }

    /// Stops the server with SIGTERM (graceful shutdown) and waits.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Kills the server at once (SIGKILL: no shutdown, no flushing).
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether this process runs as root (mounting a small filesystem needs it).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// For a test that needs root (it is `#[ignore]`d, so it runs only when asked
/// for with `--include-ignored`): fails it, in words, when not root.
pub fn require_root(test: &str) {
    assert!(
        is_root(),
        "{test} needs root (it mounts a small filesystem): run it as root, as `.ci/run` does"
    );
}

/// The newest PostgreSQL server binaries (`/usr/lib/postgresql/<version>/bin`
/// with `initdb`, `pg_ctl` and `postgres`), if installed.
pub fn postgres_bin_dir() -> Option<std::path::PathBuf> {
    let mut found: Vec<(Vec<u64>, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(|part| part.parse::<u64>().ok())
                .collect::<Option<Vec<u64>>>()?;
            let bin = entry.path().join("bin");
            ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|tool| bin.join(tool).is_file())
                .then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// For a test that runs its own PostgreSQL server (it is `#[ignore]`d): the
/// binaries' directory, or the test fails, in words.
pub fn require_postgres_binaries(test: &str) -> std::path::PathBuf {
    postgres_bin_dir().unwrap_or_else(|| {
        panic!(
            "{test} needs PostgreSQL server binaries in /usr/lib/postgresql/*/bin \
             (apt-get install postgresql; `.ci/run` installs them)"
        )
    })
}

/// For a test that needs the PostgreSQL server of the test run (it is
/// `#[ignore]`d): `CNADESK_TEST_POSTGRES_URL`, or the test fails, in words.
pub fn require_postgres_url(test: &str) -> String {
    std::env::var("CNADESK_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!(
            "{test} needs PostgreSQL: set CNADESK_TEST_POSTGRES_URL \
             (e.g. postgres://postgres@127.0.0.1:5432/postgres; `.ci/run` starts one)"
        )
    })
}

/// Creates a member account with `cnadesk admin create-user` on the desk in
/// `data_dir` (a running server sees it at once), the password on stdin.
pub fn create_user(data_dir: &Path, username: &str, email: &str, password: &str) {
    use std::io::Write;
    let mut create = cnadesk(&[
        "admin",
        "create-user",
        "--username",
        username,
        "--email",
        email,
        "--data-dir",
        data_dir.to_str().unwrap(),
    ])
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .unwrap();
    create
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    assert!(create.wait().unwrap().success(), "create-user {username}");
}
