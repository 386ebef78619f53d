//! SQLite backups: a consistent copy of a live database (`VACUUM INTO`), the
//! checks a copy must pass before it is trusted (integrity, schema, the audit
//! chain with the content it commits to), and what a restore needs to know
//! about the database it replaces (is a desk using it, what does it hold).
//!
//! PostgreSQL is backed up with its own tools (`pg_dump`, `pg_restore`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteLockingMode};
use sqlx::{ConnectOptions, Connection, Row};

use crate::{Backend, Migrate, SqlStore};

/// What a database holds, as far as a backup or a restore reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contents {
    /// Audit events (all verified when the contents come from a check).
    pub audit_events: i64,
    /// Reports.
    pub reports: i64,
    /// Team accounts.
    pub users: i64,
    /// The fingerprint of the secret key the desk was created with, when the
    /// database records it.
    pub key_fingerprint: Option<String>,
}

impl Contents {
    /// Nothing a desk would miss.
    pub fn is_empty(&self) -> bool {
        self.audit_events == 0 && self.reports == 0 && self.users == 0
    }
}

/// Why a backup, a check or a restore step failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The output file exists: a backup never overwrites one.
    #[error("{0} already exists: a backup never overwrites a file; choose a new name")]
    Exists(PathBuf),
    /// A desk (or another program) has the database open.
    #[error(
        "{path} is in use (a desk is serving from it, or another program has it open): {detail}"
    )]
    InUse {
        /// The database.
        path: PathBuf,
        /// What SQLite said.
        detail: String,
    },
    /// The file is not a sound SQLite database.
    #[error("{path} is damaged: {detail}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What the integrity check or SQLite said.
        detail: String,
    },
    /// The audit chain of the file does not verify.
    #[error("the audit chain in {path} does not verify: {detail}")]
    Chain {
        /// The file.
        path: PathBuf,
        /// The first problem (event and content named).
        detail: String,
    },
    /// A file operation failed.
    #[error("{0}")]
    Io(String),
}

impl BackupError {
    /// The copy or file failed a check (as opposed to a refusal or an I/O
    /// problem).
    pub fn is_check_failure(&self) -> bool {
        matches!(
            self,
            BackupError::Damaged { .. } | BackupError::Chain { .. }
        )
    }
}

fn damaged(path: &Path, e: impl std::fmt::Display) -> BackupError {
    BackupError::Damaged {
        path: path.to_owned(),
        detail: e.to_string(),
    }
}

/// The SQLite primary result code of an error, if it is one.
fn sqlite_code(e: &sqlx::Error) -> Option<i64> {
    match e {
        sqlx::Error::Database(db) => db.code()?.parse::<i64>().ok().map(|c| c & 0xff),
        _ => None,
    }
}

/// Whether a path holds a database file with content (a missing or empty
/// file is no database yet).
pub fn sqlite_file_has_content(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.len() > 0)
        .unwrap_or(false)
}

/// Copies the live SQLite database at `source` into the new file `out` with
/// `VACUUM INTO`: a consistent snapshot of the last committed state, taken
/// from a second process while a desk serves (WAL readers do not block the
/// writer). `out` is created owner-only and must not exist; on failure it is
/// removed again. The copy is synced to disk.
pub async fn sqlite_backup_into(source: &Path, out: &Path) -> Result<(), BackupError> {
    if !sqlite_file_has_content(source) {
        return Err(BackupError::Io(format!(
            "there is no database at {}",
            source.display()
        )));
    }
    let out_str = out
        .to_str()
        .ok_or_else(|| BackupError::Io(format!("{} is not a UTF-8 path", out.display())))?;
    // Created here (owner-only, refusing an existing file); VACUUM INTO
    // accepts an empty file.
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        create.mode(0o600);
    }
    match create.open(out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(BackupError::Exists(out.to_owned()))
        }
        Err(e) => {
            return Err(BackupError::Io(format!(
                "cannot create {}: {e}",
                out.display()
            )))
        }
    }
    let result = async {
        let mut conn = SqliteConnectOptions::new()
            .filename(source)
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(10))
            .disable_statement_logging()
            .connect()
            .await
            .map_err(|e| damaged(source, e))?;
        let copied = sqlx::query("VACUUM INTO $1")
            .bind(out_str)
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
        copied.map_err(|e| match sqlite_code(&e) {
            Some(11 | 26) => damaged(source, e),
            _ => BackupError::Io(format!(
                "cannot copy {} into {}: {e}",
                source.display(),
                out.display()
            )),
        })?;
        sync_file(out)
    }
    .await;
    if result.is_err() {
        let _ = std::fs::remove_file(out);
    }
    result
}

/// Flushes a file and its directory entry to disk.
pub fn sync_file(path: &Path) -> Result<(), BackupError> {
    let io = |e: std::io::Error| BackupError::Io(format!("cannot sync {}: {e}", path.display()));
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    sync_dir_of(path)
}

/// Flushes the directory holding `path` (a rename or a new file in it).
pub fn sync_dir_of(path: &Path) -> Result<(), BackupError> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| BackupError::Io(format!("cannot sync {}: {e}", dir.display())))?;
    }
    Ok(())
}

/// `PRAGMA integrity_check` on the file as it is (opened read-only and
/// immutable: nothing is written next to it, a stray `-wal` is ignored).
pub async fn sqlite_integrity_check(path: &Path) -> Result<(), BackupError> {
    if !sqlite_file_has_content(path) {
        return Err(damaged(path, "the file is missing or empty"));
    }
    let mut conn = immutable_options(path)
        .connect()
        .await
        .map_err(|e| damaged(path, e))?;
    let rows = sqlx::query("PRAGMA integrity_check(20)")
        .fetch_all(&mut conn)
        .await;
    let _ = conn.close().await;
    let problems: Vec<String> = rows
        .map_err(|e| damaged(path, e))?
        .iter()
        .filter_map(|r| r.try_get::<String, _>(0).ok())
        .filter(|line| line != "ok")
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(damaged(
            path,
            format!("integrity check: {}", problems.join("; ")),
        ))
    }
}

fn immutable_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .create_if_missing(false)
        .disable_statement_logging()
}

/// How to open a copy for [`sqlite_check_copy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyAccess {
    /// Read-only and immutable: the file is not changed (a backup). Its
    /// schema must be this cnadesk's.
    ReadOnly,
    /// Opened like a desk opens its database, applying pending migrations
    /// (a restore's private temporary copy of an older backup).
    Migrate,
}

/// Opens a copy and verifies it: the schema, then the whole audit chain
/// including the content its events commit to. Returns what it holds.
pub async fn sqlite_check_copy(path: &Path, access: CopyAccess) -> Result<Contents, BackupError> {
    let store = match access {
        CopyAccess::ReadOnly => {
            let url = immutable_options(path).to_url_lossy();
            let options = AnyConnectOptions::from_url(&url)
                .map_err(|e| damaged(path, e))?
                .disable_statement_logging();
            sqlx::any::install_default_drivers();
            let pool = AnyPoolOptions::new()
                .max_connections(2)
                .connect_with(options)
                .await
                .map_err(|e| damaged(path, e))?;
            if let Err(e) = crate::check_schema(Backend::Sqlite, &pool).await {
                pool.close().await;
                return Err(damaged(path, e));
            }
            SqlStore::new(Backend::Sqlite, pool.clone(), pool)
        }
        // Opened as the desk opens its database (the same URL form).
        CopyAccess::Migrate => crate::open(
            &format!("sqlite://{}?mode=rw", path.display()),
            Migrate::Apply,
        )
        .await
        .map_err(|e| damaged(path, e))?,
    };
    let verified = cnadesk_store::verify_audit_chain(&store).await;
    store.close().await;
    let events = verified.map_err(|e| match e {
        cnadesk_store::VerifyError::Broken(e) => BackupError::Chain {
            path: path.to_owned(),
            detail: format!("event {}: {e}", e.seq()),
        },
        other => damaged(path, other),
    })?;
    // Closed, so everything is in the file itself.
    let mut conn = immutable_options(path)
        .connect()
        .await
        .map_err(|e| damaged(path, e))?;
    let counted = count(&mut conn).await;
    let _ = conn.close().await;
    let mut contents = counted.map_err(|e| damaged(path, e))?;
    contents.audit_events = events;
    Ok(contents)
}

/// Takes the live database at `path` for a moment with an exclusive lock
/// (exclusive locking mode, `BEGIN EXCLUSIVE`, a short busy timeout): any
/// other open connection, such as a serving desk's, makes this fail with
/// [`BackupError::InUse`]. While holding it, counts what the database holds
/// and moves everything from its `-wal` into the file, so the `-wal` and
/// `-shm` left behind hold nothing. `Ok(None)`: there is no database (a
/// missing or empty file).
pub async fn sqlite_take_offline(path: &Path) -> Result<Option<Contents>, BackupError> {
    if !sqlite_file_has_content(path) {
        return Ok(None);
    }
    let mut conn: SqliteConnection = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(false)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::from_millis(500))
        .disable_statement_logging()
        .connect()
        .await
        .map_err(|e| classify(path, e))?;
    let result = async {
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut conn)
            .await
            .map_err(|e| classify(path, e))?;
        let contents = count(&mut conn).await.map_err(|e| classify(path, e))?;
        sqlx::query("COMMIT")
            .execute(&mut conn)
            .await
            .map_err(|e| classify(path, e))?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut conn)
            .await
            .map_err(|e| classify(path, e))?;
        Ok(Some(contents))
    }
    .await;
    let _ = conn.close().await;
    result
}

fn classify(path: &Path, e: sqlx::Error) -> BackupError {
    match sqlite_code(&e) {
        Some(5 | 6) => BackupError::InUse {
            path: path.to_owned(),
            detail: e.to_string(),
        },
        _ => damaged(path, e),
    }
}

/// Counts what a database holds; tables that do not exist count as empty.
async fn count(conn: &mut SqliteConnection) -> Result<Contents, sqlx::Error> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut *conn)
            .await?;
    let has = |t: &str| tables.iter().any(|n| n == t);
    let mut contents = Contents::default();
    for (table, slot) in [
        ("audit_events", &mut contents.audit_events),
        ("reports", &mut contents.reports),
        ("users", &mut contents.users),
    ] {
        if has(table) {
            *slot = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&mut *conn)
                .await?;
        }
    }
    if has("desk_meta") {
        contents.key_fingerprint =
            sqlx::query_scalar("SELECT value FROM desk_meta WHERE name = 'key_fingerprint'")
                .fetch_optional(&mut *conn)
                .await?;
    }
    Ok(contents)
}
