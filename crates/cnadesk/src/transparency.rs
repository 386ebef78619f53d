//! `cnadesk transparency verify`: checks the public transparency log of a
//! running desk (or a downloaded copy) against its signed head.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use cnadesk_transparency::{check_extends, verify, Head};

/// The transparency log.
#[derive(Debug, Args)]
pub struct TransparencyArgs {
    #[command(subcommand)]
    command: TransparencyCommand,
}

#[derive(Debug, Subcommand)]
enum TransparencyCommand {
    /// Check every entry's hash and link, every revealed entry against its
    /// commitment, and the head's signature. Exit 0 when consistent; 1 with
    /// the first bad entry otherwise.
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["url", "file"])))]
struct VerifyArgs {
    /// The desk's base URL: reads BASE/transparency/head, then BASE/transparency/log.jsonl.
    #[arg(long, value_name = "BASE_URL")]
    url: Option<String>,
    /// A downloaded log (JSON lines).
    #[arg(long, value_name = "LOG.jsonl", requires = "head")]
    file: Option<PathBuf>,
    /// The signed head that goes with `--file`.
    #[arg(long, value_name = "HEAD_FILE")]
    head: Option<PathBuf>,
    /// The CNA's log key (hex) to trust; without it the head's own key is
    /// used and printed, so compare it with the one the CNA publishes.
    #[arg(long, value_name = "HEX")]
    key: Option<String>,
    /// An earlier copy of the log: the new one must keep every entry of it,
    /// and entries sealed in it must be revealed as committed.
    #[arg(long, value_name = "OLD.jsonl")]
    previous: Option<PathBuf>,
    /// Save what was downloaded (log.jsonl and head.json) into this directory.
    #[arg(long, value_name = "DIR", requires = "url")]
    save: Option<PathBuf>,
}

async fn fetch(client: &reqwest::Client, url: &str) -> anyhow::Result<String> {
    let res = client
        .get(url)
        .send()
        .await
        .with_context(|| format!("cannot reach {url}"))?;
    let status = res.status();
    if !status.is_success() {
        anyhow::bail!("{url} answered {status}");
    }
    Ok(res.text().await?)
}

/// Whether a head signed at `time` (RFC 3339) is within an hour of now: a
/// desk signs its head when asked, so an older one was replayed.
fn fresh(time: &str) -> bool {
    time.parse::<jiff::Timestamp>().is_ok_and(|t| {
        cnadesk_core::Clock::now(&cnadesk_core::SystemClock)
            .duration_since(t)
            .abs()
            .as_secs()
            < 3600
    })
}

/// Runs the command.
pub async fn run(args: TransparencyArgs) -> anyhow::Result<ExitCode> {
    let TransparencyCommand::Verify(args) = args.command;
    let (log, head_text, source) = if let Some(base) = &args.url {
        let base = base.trim_end_matches('/');
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        // The head first, then exactly the entries it signs.
        let head = fetch(&client, &format!("{base}/transparency/head")).await?;
        let size = serde_json::from_str::<Head>(&head).map_or(0, |h| h.size);
        let log = fetch(
            &client,
            &format!("{base}/transparency/log.jsonl?size={size}"),
        )
        .await?;
        if let Some(dir) = &args.save {
            std::fs::create_dir_all(dir)?;
            std::fs::write(dir.join("log.jsonl"), &log)?;
            std::fs::write(dir.join("head.json"), &head)?;
        }
        (log, head, base.to_owned())
    } else {
        let file = args.file.as_ref().context("--file or --url is required")?;
        let head_file = args
            .head
            .as_ref()
            .context("--head is required with --file")?;
        let log = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let head = std::fs::read_to_string(head_file)
            .with_context(|| format!("cannot read {}", head_file.display()))?;
        (log, head, file.display().to_string())
    };
    let head: Head = match serde_json::from_str(&head_text) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("FAILED: {source}: head: not a signed head ({e})");
            return Ok(ExitCode::FAILURE);
        }
    };
    match verify(&log, &head, args.key.as_deref()) {
        Ok(v) if v.unsigned > 0 => {
            eprintln!(
                "FAILED: {source}: {} entries after the signed head are not covered by its signature",
                v.unsigned
            );
            Ok(ExitCode::FAILURE)
        }
        Ok(_) if args.url.is_some() && !fresh(&head.time) => {
            eprintln!(
                "FAILED: {source}: the head was signed at {}, more than an hour from now: a stale or replayed head",
                head.time
            );
            Ok(ExitCode::FAILURE)
        }
        Ok(v) => {
            if let Some(prev) = &args.previous {
                let old = std::fs::read_to_string(prev)
                    .with_context(|| format!("cannot read {}", prev.display()))?;
                if let Err(e) = check_extends(&old, &log) {
                    eprintln!("FAILED: {source} does not extend {}: {e}", prev.display());
                    return Ok(ExitCode::FAILURE);
                }
            }
            #[allow(clippy::print_stdout)]
            {
                println!(
                    "OK: {source}: {} entries ({} sealed) verified up to the signed head {}",
                    v.entries, v.sealed, head.hash
                );
                if args.key.is_none() {
                    println!("    signed by key {} (pass --key to pin it)", head.key);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("FAILED: {source}: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
