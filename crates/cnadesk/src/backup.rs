//! `cnadesk backup` and `cnadesk restore`: a consistent, checked copy of the
//! SQLite database while the desk serves, and putting one back in place.
//! PostgreSQL is backed up with `pg_dump` (see README.md).
//!
//! Exit codes: 0 done and verified; 1 a file failed its checks (integrity,
//! audit chain), or an I/O error (a full disk…) stopped it, which the message
//! tells apart and never calls damage; 2 refused (the output exists, the
//! database is in use or holds data, another key, a newer schema,
//! PostgreSQL).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use cnadesk_store_sql::backup::{self, BackupError, CopyAccess, Verified};
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
/// An I/O error (a full disk…): the same code as a failed check, another
/// message.
const IO_FAILED: u8 = 1;

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

/// The database of the configuration, as backup and restore see it.
enum Target {
    /// An SQLite file: backed up and restored by cnadesk.
    Sqlite(PathBuf),
    /// A PostgreSQL URL: backed up with PostgreSQL's own tools.
    Postgres(String),
}

/// The SQLite file of the configuration, or the PostgreSQL URL.
fn target_of(config: &Config) -> anyhow::Result<Target> {
    let url = config.database_url();
    Ok(match Backend::from_url(&url)? {
        Backend::Postgres => Target::Postgres(url),
        Backend::Sqlite => Target::Sqlite(PathBuf::from(
            cnadesk_store_sql::sqlite_path(&url)
                .context("an in-memory SQLite database has nothing to back up or restore")?,
        )),
    })
}

fn describe(c: &Verified) -> String {
    format!(
        "{} audit events (chain verified), {} reports, {} team accounts",
        c.audit_events, c.reports, c.users
    )
}

/// `cnadesk backup --out FILE`.
pub(crate) async fn run_backup(file: Option<&Path>, args: BackupArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(file, &args.db.overrides())?;
    crate::init_tracing(&config);
    let source = match target_of(&config)? {
        Target::Sqlite(path) => path,
        Target::Postgres(url) => {
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
        Err(e) => {
            eprintln!("backup STOPPED: {e}\nNo backup was written (this is not a problem of the database).");
            return Ok(ExitCode::from(IO_FAILED));
        }
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
        Err(e @ BackupError::Schema { .. }) => {
            eprintln!(
                "backup NOT OK: the copy {} was written but this cnadesk cannot check it: {e}\n                 Check it with the cnadesk that serves the desk; the copy is kept.",
                out.display()
            );
            Ok(ExitCode::from(CHECK_FAILED))
        }
        Err(e) => {
            let _ = std::fs::remove_file(&out);
            eprintln!(
                "backup STOPPED: the copy {} was written but could not be checked, and was \
                 removed: {e}",
                out.display()
            );
            Ok(ExitCode::from(IO_FAILED))
        }
    }
}

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

/// A database file and the files SQLite keeps beside it.
const WITH_SIDECARS: &[&str] = &["", "-wal", "-shm", "-journal"];

/// Restore's private copy `DIR/.NAME.restore-PID`: removed (with the files
/// SQLite kept beside it) however restore ends, unless it was moved into
/// place. One left by a killed restore is removed by the next one.
struct TempCopy(PathBuf);

impl TempCopy {
    fn prefix(name: &str) -> String {
        format!(".{name}.restore-")
    }

    /// Removes what earlier restores of `DIR/NAME` left behind.
    fn remove_stale(dir: &Path, name: &str) {
        let prefix = Self::prefix(name);
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    fn new(dir: &Path, name: &str) -> TempCopy {
        let copy = TempCopy(dir.join(format!("{}{}", Self::prefix(name), std::process::id())));
        copy.remove();
        copy
    }

    fn remove(&self) {
        let _ = backup::remove_files(&self.0, WITH_SIDECARS);
    }
}

impl Drop for TempCopy {
    fn drop(&mut self) {
        self.remove();
    }
}

/// How restore ends when it does not restore.
enum Stop {
    /// Refused (exit 2).
    Refused(String),
    /// The backup failed its checks (exit 1).
    Failed(BackupError),
    /// An I/O error, not a verdict on the backup (exit 1).
    Io(String),
    /// The backup was moved into place, but the directory could not be
    /// synced (exit 1).
    Unsynced(BackupError),
    /// Anything else (the secret key here cannot be read, the data
    /// directory cannot be created): an error of the command, as before any
    /// check.
    Other(anyhow::Error),
}

impl From<anyhow::Error> for Stop {
    fn from(e: anyhow::Error) -> Self {
        Stop::Other(e)
    }
}

impl From<BackupError> for Stop {
    fn from(e: BackupError) -> Self {
        match e {
            e if e.is_check_failure() => Stop::Failed(e),
            e @ BackupError::InUse { .. } => Stop::Refused(format!(
                "{e}. Stop the desk (every `cnadesk serve` on this data directory) and run \
                 restore again."
            )),
            e @ (BackupError::Schema { .. } | BackupError::Exists(_)) => {
                Stop::Refused(e.to_string())
            }
            e => Stop::Io(e.to_string()),
        }
    }
}

/// `cnadesk restore --from FILE [--force]`.
pub(crate) async fn run_restore(
    file: Option<&Path>,
    args: RestoreArgs,
) -> anyhow::Result<ExitCode> {
    let config = Config::load(file, &args.db.overrides())?;
    crate::init_tracing(&config);
    let target = match target_of(&config)? {
        Target::Sqlite(path) => std::path::absolute(&path)?,
        Target::Postgres(url) => {
            eprintln!("{}", postgres_advice(&url, "restore"));
            return Ok(ExitCode::from(REFUSED));
        }
    };
    let from = std::path::absolute(&args.from)?;
    match restore(&config, &from, &target, args.force).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(Stop::Other(e)) => Err(e),
        Err(Stop::Refused(message)) => {
            eprintln!("refused: {message}");
            Ok(ExitCode::from(REFUSED))
        }
        Err(Stop::Failed(e)) => {
            eprintln!(
                "restore FAILED: {e}\nNothing was replaced: {} is as it was.",
                target.display()
            );
            Ok(ExitCode::from(CHECK_FAILED))
        }
        Err(Stop::Io(e)) => {
            eprintln!(
                "restore STOPPED by an I/O error (a full disk, a read-only or failing disk…), \
                 not by a problem found in the backup: {e}"
            );
            eprintln!("Nothing was replaced: {} is as it was.", target.display());
            Ok(ExitCode::from(IO_FAILED))
        }
        Err(Stop::Unsynced(e)) => {
            eprintln!(
                "restore STOPPED by an I/O error after the backup was moved into place: {e}\n\
                 Run `cnadesk audit verify` before serving from {}.",
                target.display()
            );
            Ok(ExitCode::from(IO_FAILED))
        }
    }
}

async fn restore(config: &Config, from: &Path, target: &Path, force: bool) -> Result<(), Stop> {
    if !from.is_file() {
        return Err(Stop::Refused(format!(
            "there is no backup file at {}",
            from.display()
        )));
    }
    if std::fs::canonicalize(from).ok() == std::fs::canonicalize(target).ok() {
        return Err(Stop::Refused(format!(
            "{} is the desk's own database: restore from a copy",
            from.display()
        )));
    }
    let dir = target
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cnadesk.sqlite3".into());
    TempCopy::remove_stale(&dir, &name);

    // 1. The key, read from the backup as it is (nothing copied yet): the
    //    restored desk only starts with the key it was made with.
    let recorded = backup::sqlite_backup_key_fingerprint(from).await?;
    let key = config.existing_server_key()?;
    let key_note = match (&key, &recorded) {
        (Some(key), Some(recorded)) if key.fingerprint() != *recorded => {
            return Err(Stop::Refused(format!(
                "the backup belongs to the desk whose secret key has fingerprint {recorded}, but \
                 the key here ({}) has fingerprint {}. Put that desk's secret.key in place (or \
                 remove this one and copy it after the restore) and run restore again.",
                config.key_path().display(),
                key.fingerprint()
            )));
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

    // 2. The database it would replace: not in use, and empty unless --force.
    if backup::sqlite_file_has_content(target) {
        match backup::sqlite_take_offline(target).await {
            Ok(offline) => {
                let holds = offline.holds.unwrap_or_default();
                offline.release().await;
                if !holds.is_empty() && !force {
                    return Err(Stop::Refused(format!(
                        "the database {} holds {} reports, {} audit events and {} team accounts. \
                         Restoring replaces all of it: add --force if that is what you want \
                         (back it up first with `cnadesk backup`).",
                        target.display(),
                        holds.reports,
                        holds.audit_events,
                        holds.users
                    )));
                }
            }
            Err(e @ BackupError::Damaged { .. }) if !force => {
                return Err(Stop::Refused(format!(
                    "the current database cannot be read ({e}); add --force to replace it"
                )))
            }
            Err(BackupError::Damaged { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }

    // 3. The backup must be sound: one full integrity check, of the file as
    //    it is.
    backup::sqlite_integrity_check(from).await?;

    // 4. A private copy next to the database, brought up to this cnadesk's
    //    schema, its audit chain verified, synced, before the database is
    //    taken offline.
    ensure_private_dir(&dir)?;
    let tmp = TempCopy::new(&dir, &name);
    if let Err(e) = std::fs::copy(from, &tmp.0) {
        return Err(Stop::Io(format!(
            "cannot copy {} to {}: {e}",
            from.display(),
            tmp.0.display()
        )));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Err(e) = std::fs::set_permissions(&tmp.0, std::fs::Permissions::from_mode(0o600)) {
            return Err(Stop::Io(format!(
                "cannot restrict {}: {e}",
                tmp.0.display()
            )));
        }
    }
    let contents = backup::sqlite_check_copy(&tmp.0, CopyAccess::Migrate).await?;
    backup::remove_files(&tmp.0, backup::SIDECARS).and_then(|()| backup::sync_file(&tmp.0))?;

    // 5. Into place, atomically, holding the database offline from before
    //    its -wal/-shm are removed until the rename is on disk: no desk can
    //    open it in between. Its WAL was emptied into it first, so removing
    //    the -wal/-shm (which would otherwise be replayed onto the restored
    //    file) loses nothing even if we stop half-way.
    let replaced = match backup::sqlite_take_offline(target).await {
        Ok(offline) => offline.replace_with(&tmp.0).await,
        // It cannot be opened, so no desk can serve from it either.
        Err(BackupError::Damaged { .. }) if force => {
            backup::sqlite_replace_unlocked(target, &tmp.0)
        }
        Err(e @ BackupError::Damaged { .. }) => {
            return Err(Stop::Refused(format!(
                "the current database cannot be read ({e}); add --force to replace it"
            )))
        }
        Err(e) => Err(e),
    };
    if let Err(e) = replaced {
        if !tmp.0.exists() && backup::sqlite_file_has_content(target) {
            // Renamed, but the directory could not be synced.
            return Err(Stop::Unsynced(e));
        }
        return Err(e.into());
    }
    drop(tmp);
    println!(
        "restored {} into {}: {}",
        from.display(),
        target.display(),
        describe(&contents)
    );
    println!("{key_note}");
    Ok(())
}
