//! What the fault tests share: a mounted filesystem, reports posted and
//! checked, readiness.

use std::path::{Path, PathBuf};
use std::process::Command;

/// No intake rate limit: these tests post many reports from one address.
pub const UNLIMITED: (&str, &str) = ("CNADESK_INTAKE__REPORTS_PER_IP_PER_HOUR", "1000000");

/// A filesystem mounted for one test, unmounted when dropped.
pub struct Mount(PathBuf);

impl Mount {
    pub fn tmpfs(dir: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "mount a {size} tmpfs on {}", dir.display());
        Mount(dir.to_owned())
    }

    /// `source` again at `dir`, read-only.
    pub fn read_only_view(source: &Path, dir: &Path) -> Mount {
        std::fs::create_dir_all(dir).unwrap();
        let bind = Command::new("mount")
            .arg("--bind")
            .arg(source)
            .arg(dir)
            .status()
            .unwrap()
            .success();
        assert!(bind, "bind mount");
        let m = Mount(dir.to_owned());
        let ro = Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(dir)
            .status()
            .unwrap()
            .success();
        assert!(ro, "remount read-only");
        m
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// `n` characters no compressor shrinks much (PostgreSQL compresses large
/// values), from `seed`.
pub fn incompressible(seed: usize, n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .";
    let mut x = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ALPHABET[(x >> 58) as usize] as char
        })
        .collect()
}

pub fn report_json(i: usize, padding: usize) -> serde_json::Value {
    serde_json::json!({
        "title": format!("Report {i}"),
        "product": "Prosody",
        "reporter_email": "reporter@example.org",
        "description": format!(
            "A stanza makes the server crash, case {i}. {}",
            incompressible(i, padding)
        ),
    })
}

/// What a POST of a report got.
pub enum Posted {
    /// 201 with the reporter's tracking token.
    Acknowledged(String),
    /// 503 (with Retry-After checked).
    Unavailable,
    /// Anything else: status and body.
    Other(u16, String),
}

pub async fn post_report(client: &reqwest::Client, base: &str, i: usize, padding: usize) -> Posted {
    let response = match client
        .post(format!("{base}/api/v1/reports"))
        .json(&report_json(i, padding))
        .send()
        .await
    {
        Ok(r) => r,
        Err(e) => return Posted::Other(0, e.to_string()),
    };
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").cloned();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    match status {
        201 => {
            let url = body["tracking_url"].as_str().unwrap_or_default().to_owned();
            let token = url.rsplit('/').next().unwrap_or_default().to_owned();
            assert!(!token.is_empty(), "a 201 names its tracking link: {body}");
            Posted::Acknowledged(token)
        }
        503 => {
            assert!(retry_after.is_some(), "a 503 says when to retry");
            Posted::Unavailable
        }
        _ => Posted::Other(status, body.to_string()),
    }
}

/// Every token's tracking page answers 200: the report is stored.
pub async fn missing_reports(base: &str, tokens: &[String]) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut missing = Vec::new();
    for t in tokens {
        let status = client
            .get(format!("{base}/track/{t}"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        if status != 200 {
            missing.push(format!("{t}: {status}"));
        }
    }
    missing
}

pub async fn readyz(client: &reqwest::Client, base: &str) -> (u16, serde_json::Value) {
    match client.get(format!("{base}/readyz")).send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.json().await.unwrap_or_default())
        }
        Err(e) => (0, serde_json::json!({ "error": e.to_string() })),
    }
}
