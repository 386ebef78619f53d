//! `cnadesk backup` and `cnadesk restore`: a consistent, checked copy of the
//! SQLite database while the desk serves, and putting one back in place.
//! PostgreSQL is backed up with `pg_dump` (see README.md).
//!
//! Exit codes: 0 done and verified; 1 a file failed its checks (integrity,
//! audit chain); 2 refused (the output exists, the database is in use or
//! holds data, another key, PostgreSQL).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use cnadesk_store_sql::backup::{self, BackupError, Contents, CopyAccess};
use cnadesk_store_sql::Backend;

use crate::config::Config;

/// `cnadesk backup`.
#[derive(Debug, Args)]
pub(crate) struct BackupArgs {
    /// The new file to write (never overwritten). Keep the secret key
    /// (DATA_DIR/secret.key) with it: a restored desk needs it.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    db: crate::DbArgs,
}

/// `cnadesk restore`.
#[derive(Debug, Args)]
pub(crate) struct RestoreArgs {
    /// A backup made by `cnadesk backup` (or any cnadesk SQLite database).
    #[arg(long, value_name = "FILE")]
    from: PathBuf,
    /// Replace a database that holds data (or cannot be read).
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    db: crate::DbArgs,
}

const REFUSED: u8 = 2;
const CHECK_FAILED: u8 = 1;

/// What to do with PostgreSQL instead.
fn postgres_advice(url: &str, what: &str) -> String {
    let url = cnadesk_store_sql::redact_url(url);
    format!(
        "cnadesk {what} handles SQLite databases only; this desk uses PostgreSQL ({url}).\n\
         Back it up with PostgreSQL's own tool, consistent while the desk serves:\n  \
         pg_dump --format=custom --file=cnadesk.dump 'postgres://…'\n\
         Restore into a new, empty database, then check the restored chain before serving from it:\n  \
         pg_restore --no-owner --dbname='postgres://…/new' cnadesk.dump\n  \
         cnadesk audit verify --database-url 'postgres://…/new'\n\
         (README.md, \"Backups\", has the details.)"
    )
}

/// The SQLite file of the configuration, or the PostgreSQL URL.
fn sqlite_target(config: &Config) -> anyhow::Result<Result<PathBuf, String>> {
    let url = config.database_url();
    Ok(match Backend::from_url(&url)? {
        Backend::Postgres => Err(url),
        Backend::Sqlite => Ok(PathBuf::from(
            cnadesk_store_sql::sqlite_path(&url)
                .context("an in-memory SQLite database has nothing to back up or restore")?,
        )),
    })
}

fn describe(c: &Contents) -> String {
    format!(
        "{} audit events (chain verified), {} reports, {} team accounts",
        c.audit_events, c.reports, c.users
    )
}

/// `cnadesk backup --out FILE`.
pub(crate) async fn run_backup(file: Option<&Path>, args: BackupArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(file, &args.db.overrides())?;
    crate::init_tracing(&config);
    let source = match sqlite_target(&config)? {
        Ok(path) => path,
        Err(url) => {
            eprintln!("{}", postgres_advice(&url, "backup"));
            return Ok(ExitCode::from(REFUSED));
        }
    };
    let out = std::path::absolute(&args.out)
        .with_context(|| format!("cannot use {}", args.out.display()))?;
    match backup::sqlite_backup_into(&source, &out).await {
        Ok(()) => {}
        Err(e @ BackupError::Exists(_)) => {
            eprintln!("refused: {e}");
            return Ok(ExitCode::from(REFUSED));
        }
        Err(e) if e.is_check_failure() => {
            eprintln!("backup FAILED: {e}");
            return Ok(ExitCode::from(CHECK_FAILED));
        }
        Err(e) => return Err(e.into()),
    }
    match backup::sqlite_check_copy(&out, CopyAccess::ReadOnly).await {
        Ok(contents) => {
            println!(
                "backup OK: {} in {} (integrity checked)",
                describe(&contents),
                out.display()
            );
            println!(
                "keep the secret key with it ({}{}): a restored desk cannot run without it",
                config.key_path().display(),
                contents
                    .key_fingerprint
                    .map(|f| format!(", fingerprint {f}"))
                    .unwrap_or_default()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.is_check_failure() => {
            // The copy is faithful: the live database has the same problem.
            eprintln!(
                "backup NOT OK: the copy {} was written but does not pass its checks: {e}\n\
                 The live database has the same problem (try `cnadesk audit verify`); the copy is \
                 kept for investigation.",
                out.display()
            );
            Ok(ExitCode::from(CHECK_FAILED))
        }
        Err(e) => Err(e.into()),
    }
}

/// Removes `path` followed by each suffix (a file that is not there is fine).
fn remove_files(path: &Path, suffixes: &[&str]) -> anyhow::Result<()> {
    for suffix in suffixes {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot remove {}", Path::new(&p).display()))
            }
        }
    }
    Ok(())
}

/// The files SQLite keeps beside a database.
const SIDECARS: &[&str] = &["-wal", "-shm", "-journal"];

/// A database file and the files SQLite keeps beside it.
const WITH_SIDECARS: &[&str] = &["", "-wal", "-shm", "-journal"];

/// Creates the data directory owner-only if it does not exist.
fn ensure_private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", dir.display()))?;
    }
    Ok(())
}

/// `cnadesk restore --from FILE [--force]`.
pub(crate) async fn run_restore(
    file: Option<&Path>,
    args: RestoreArgs,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(file, &args.db.overrides())?;
    crate::init_tracing(&config);
    let target = match sqlite_target(&config)? {
        Ok(path) => std::path::absolute(&path)?,
        Err(url) => {
            eprintln!("{}", postgres_advice(&url, "restore"));
            return Ok(ExitCode::from(REFUSED));
        }
    };
    let refuse = |message: String| -> anyhow::Result<ExitCode> {
        eprintln!("refused: {message}");
        Ok(ExitCode::from(REFUSED))
    };
    let from = std::path::absolute(&args.from)?;
    if !from.is_file() {
        return refuse(format!("there is no backup file at {}", from.display()));
    }
    if std::fs::canonicalize(&from).ok() == std::fs::canonicalize(&target).ok() {
        return refuse(format!(
            "{} is the desk's own database: restore from a copy",
            from.display()
        ));
    }

    // 1. The backup must be sound before anything else is looked at.
    if let Err(e) = backup::sqlite_integrity_check(&from).await {
        eprintln!("restore FAILED: {e}");
        return Ok(ExitCode::from(CHECK_FAILED));
    }

    // 2. The database it would replace: not in use, and empty unless --force.
    match backup::sqlite_take_offline(&target).await {
        Ok(None) => {}
        Ok(Some(live)) if live.is_empty() || args.force => {}
        Ok(Some(live)) => {
            return refuse(format!(
                "the database {} holds {} reports, {} audit events and {} team accounts. \
                 Restoring replaces all of it: add --force if that is what you want \
                 (back it up first with `cnadesk backup`).",
                target.display(),
                live.reports,
                live.audit_events,
                live.users
            ))
        }
        Err(e @ BackupError::InUse { .. }) => {
            return refuse(format!("{e}. Stop the desk (every `cnadesk serve` on this data directory) and run restore again."))
        }
        Err(e @ BackupError::Damaged { .. }) if !args.force => {
            return refuse(format!(
                "the current database cannot be read ({e}); add --force to replace it"
            ))
        }
        Err(BackupError::Damaged { .. }) => {}
        Err(e) => return Err(e.into()),
    }

    // 3. A private copy next to the database, checked (and brought up to this
    //    cnadesk's schema) before it is put in place.
    let dir = target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    ensure_private_dir(&dir)?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cnadesk.sqlite3".into());
    let tmp = dir.join(format!(".{name}.restore-{}", std::process::id()));
    remove_files(&tmp, WITH_SIDECARS)?;
    let result = async {
        std::fs::copy(&from, &tmp)
            .with_context(|| format!("cannot copy {} to {}", from.display(), tmp.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        }
        let checked = backup::sqlite_check_copy(&tmp, CopyAccess::Migrate).await;
        remove_files(&tmp, SIDECARS)?;
        anyhow::Ok(checked)
    }
    .await;
    let contents = match result {
        Ok(Ok(contents)) => contents,
        Ok(Err(e)) => {
            remove_files(&tmp, WITH_SIDECARS)?;
            if e.is_check_failure() {
                eprintln!("restore FAILED: {e}");
                return Ok(ExitCode::from(CHECK_FAILED));
            }
            return Err(e.into());
        }
        Err(e) => {
            remove_files(&tmp, WITH_SIDECARS)?;
            return Err(e);
        }
    };

    // 4. The key: the restored desk only starts with the key it was made with.
    let key = config.existing_server_key()?;
    let key_note = match (&key, &contents.key_fingerprint) {
        (Some(key), Some(recorded)) if key.fingerprint() != *recorded => {
            remove_files(&tmp, WITH_SIDECARS)?;
            return refuse(format!(
                "the backup belongs to the desk whose secret key has fingerprint {recorded}, but \
                 the key here ({}) has fingerprint {}. Put that desk's secret.key in place (or \
                 remove this one and copy it after the restore) and run restore again.",
                config.key_path().display(),
                key.fingerprint()
            ));
        }
        (Some(_), Some(recorded)) => format!("the secret key here matches (fingerprint {recorded})"),
        (Some(_), None) => "the backup records no key fingerprint; the secret key here will be adopted".to_owned(),
        (None, Some(recorded)) => format!(
            "there is no secret key here: copy the desk's secret.key (fingerprint {recorded}) to {} before `cnadesk serve`",
            config.key_path().display()
        ),
        (None, None) => format!(
            "there is no secret key here: copy the desk's secret.key to {} before `cnadesk serve`",
            config.key_path().display()
        ),
    };

    // 5. Into place, atomically: no desk may have started meanwhile; the old
    //    database's WAL is emptied into it first, so removing the -wal/-shm
    //    (which would otherwise be replayed onto the restored file) loses
    //    nothing even if we stop half-way.
    match backup::sqlite_take_offline(&target).await {
        Ok(_) => {}
        Err(e @ BackupError::InUse { .. }) => {
            remove_files(&tmp, WITH_SIDECARS)?;
            return refuse(format!("{e}. Stop the desk and run restore again."));
        }
        Err(BackupError::Damaged { .. }) => {}
        Err(e) => {
            remove_files(&tmp, WITH_SIDECARS)?;
            return Err(e.into());
        }
    }
    backup::sync_file(&tmp)?;
    remove_files(&target, SIDECARS)?;
    std::fs::rename(&tmp, &target)
        .with_context(|| format!("cannot move {} to {}", tmp.display(), target.display()))?;
    backup::sync_dir_of(&target)?;
    println!(
        "restored {} into {}: {}",
        from.display(),
        target.display(),
        describe(&contents)
    );
    println!("{key_note}");
    Ok(ExitCode::SUCCESS)
}
