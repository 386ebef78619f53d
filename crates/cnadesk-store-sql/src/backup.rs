//! SQLite backups: a consistent copy of a live database (`VACUUM INTO`), the
//! checks a copy must pass before it is trusted (integrity, schema, the audit
//! chain with the content it commits to), and what a restore needs to do to
//! the database it replaces (is a desk using it, what does it hold, keep
//! every desk out while the file is swapped).
//!
//! Errors say what they are: only SQLite's "corrupt" and "not a database"
//! make a file [`BackupError::Damaged`]; a full disk, an I/O error, a
//! read-only or unopenable file is [`BackupError::Io`] and says nothing about
//! the file.
//!
//! PostgreSQL is backed up with its own tools (`pg_dump`, `pg_restore`).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use cnadesk_store::{Footprint, Maintenance, StoreError};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::MigrateError;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteLockingMode};
use sqlx::{ConnectOptions, Connection, Row};

use crate::{Backend, SqlStore};

/// What a verified copy holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verified {
    /// Audit events, all verified with the content they commit to.
    pub audit_events: i64,
    /// Reports (counted).
    pub reports: i64,
    /// Team accounts (counted).
    pub users: i64,
    /// The fingerprint of the secret key the desk was created with, when the
    /// database records it.
    pub key_fingerprint: Option<String>,
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
    /// The file's schema is not one this cnadesk can use (a newer cnadesk
    /// made it, or its migrations were changed).
    #[error("{path} cannot be used by this cnadesk: {detail}")]
    Schema {
        /// The file.
        path: PathBuf,
        /// Which migrations.
        detail: String,
    },
    /// Reading or writing failed (a full disk, an I/O error, a read-only or
    /// unopenable file): nothing is known to be wrong with the file itself.
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

/// Whether SQLite said busy or locked (5, 6): another connection holds the
/// file.
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db)
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() =>
        {
            matches!(
                db.code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .map(|c| c & 0xff),
                Some(5 | 6)
            )
        }
        _ => false,
    }
}

/// Sorts an SQLite error: busy or locked is [`BackupError::InUse`]; a
/// damaged file as the store names it (SQLite's corrupt, 11, or not a
/// database, 26: see `health::unavailable`) is [`BackupError::Damaged`];
/// anything else (a full disk, I/O, read-only, cannot open, a failed
/// checkpoint…) is [`BackupError::Io`], `doing` saying what failed ("cannot
/// open").
fn classify(path: &Path, doing: &str, e: sqlx::Error) -> BackupError {
    use crate::health::Failure;
    match crate::health::unavailable(&e) {
        _ if is_busy(&e) => BackupError::InUse {
            path: path.to_owned(),
            detail: e.to_string(),
        },
        Some(Failure::Damaged(reason)) => damaged(path, reason),
        Some(Failure::Other(reason)) => {
            BackupError::Io(format!("{doing} {}: {reason}", path.display()))
        }
        None => BackupError::Io(format!("{doing} {}: {e}", path.display())),
    }
}

fn io(doing: &str, path: &Path, e: std::io::Error) -> BackupError {
    BackupError::Io(format!("{doing} {}: {e}", path.display()))
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
        Err(e) => return Err(io("cannot create", out, e)),
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
            .map_err(|e| classify(source, "cannot open", e))?;
        let copied = sqlx::query("VACUUM INTO $1")
            .bind(out_str)
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
        copied.map_err(|e| match classify(source, "", e) {
            BackupError::Io(detail) => {
                BackupError::Io(format!("cannot copy it into {}: {detail}", out.display()))
            }
            other => other,
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
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("cannot sync", path, e))?;
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
            .map_err(|e| io("cannot sync", dir, e))?;
    }
    Ok(())
}

fn immutable_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .immutable(true)
        .create_if_missing(false)
        .disable_statement_logging()
}

/// The key fingerprint a backup records (`None`: it records none, e.g. a
/// desk from before fingerprints), read without copying or changing the file
/// (opened read-only and immutable), so a restore can refuse the wrong key
/// before it copies anything.
pub async fn sqlite_backup_key_fingerprint(path: &Path) -> Result<Option<String>, BackupError> {
    if !sqlite_file_has_content(path) {
        return Err(damaged(path, "the file is missing or empty"));
    }
    let mut conn = immutable_options(path)
        .connect()
        .await
        .map_err(|e| classify(path, "cannot open", e))?;
    let read = async {
        let has_meta: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'desk_meta'",
        )
        .fetch_optional(&mut conn)
        .await?;
        if has_meta.is_none() {
            return Ok(None);
        }
        sqlx::query_scalar("SELECT value FROM desk_meta WHERE name = $1")
            .bind("key_fingerprint")
            .fetch_optional(&mut conn)
            .await
    }
    .await;
    let _ = conn.close().await;
    read.map_err(|e| classify(path, "cannot read", e))
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
        .map_err(|e| classify(path, "cannot open", e))?;
    let checked = crate::rows::check_pragma(&mut conn, "integrity_check(20)").await;
    let _ = conn.close().await;
    let problems = checked.map_err(|e| classify(path, "cannot check", e))?;
    if problems.is_empty() {
        Ok(())
    } else {
        Err(damaged(
            path,
            format!("integrity check: {}", problems.join("; ")),
        ))
    }
}

/// How to open a copy for [`sqlite_check_copy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyAccess {
    /// Read-only and immutable: the file is not changed (a backup). It gets
    /// a full `PRAGMA integrity_check` first; its schema must be this
    /// cnadesk's.
    ReadOnly,
    /// Opened for writing, applying pending migrations (a restore's private
    /// temporary copy of a backup whose integrity was checked already).
    Migrate,
}

fn migrate_error(path: &Path, e: MigrateError) -> BackupError {
    match e {
        MigrateError::Execute(e) | MigrateError::ExecuteMigration(e, _) => {
            classify(path, "cannot migrate", e)
        }
        MigrateError::Source(e) => BackupError::Io(format!("cannot read the migrations: {e}")),
        MigrateError::Dirty(_) => damaged(path, e),
        other => BackupError::Schema {
            path: path.to_owned(),
            detail: other.to_string(),
        },
    }
}

/// Opens a copy and verifies it: the schema, then the whole audit chain
/// including the content its events commit to. Returns what it holds.
pub async fn sqlite_check_copy(path: &Path, access: CopyAccess) -> Result<Verified, BackupError> {
    sqlx::any::install_default_drivers();
    let store = match access {
        CopyAccess::ReadOnly => {
            sqlite_integrity_check(path).await?;
            let url = immutable_options(path).to_url_lossy();
            let options = AnyConnectOptions::from_url(&url)
                .map_err(|e| BackupError::Io(format!("cannot open {}: {e}", path.display())))?
                .disable_statement_logging();
            let pool = AnyPoolOptions::new()
                .max_connections(2)
                .connect_with(options)
                .await
                .map_err(|e| classify(path, "cannot open", e))?;
            if let Err(e) = crate::check_schema(Backend::Sqlite, &pool).await {
                pool.close().await;
                return Err(BackupError::Schema {
                    path: path.to_owned(),
                    detail: e.to_string(),
                });
            }
            SqlStore::new(Backend::Sqlite, pool.clone(), pool)
        }
        // Set up as the desk sets up its connections (WAL, foreign keys),
        // without the desk's start-up checks: the caller checked the
        // integrity of the backup, and an error here must keep its kind.
        CopyAccess::Migrate => {
            let url = format!("sqlite://{}?mode=rw", path.display());
            let options = AnyConnectOptions::from_str(&url)
                .map_err(|e| BackupError::Io(format!("cannot open {}: {e}", path.display())))?
                .disable_statement_logging();
            let pool = AnyPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(crate::sqlite_connection_setup)
                .connect_with(options)
                .await
                .map_err(|e| classify(path, "cannot open", e))?;
            if let Err(e) = Backend::Sqlite.migrator().run(&pool).await {
                pool.close().await;
                return Err(migrate_error(path, e));
            }
            SqlStore::new(Backend::Sqlite, pool.clone(), pool)
        }
    };
    let result = verify_open(path, &store).await;
    store.close().await;
    result
}

/// A read of the open copy failed: damaged only when SQLite says so.
fn store_error(path: &Path, e: StoreError) -> BackupError {
    match e {
        StoreError::Unavailable(reason) if reason.starts_with(crate::health::DAMAGED) => {
            damaged(path, reason)
        }
        StoreError::Unavailable(reason) => {
            BackupError::Io(format!("cannot read {}: {reason}", path.display()))
        }
        // A value this cnadesk cannot read back.
        other => damaged(path, other),
    }
}

async fn verify_open(path: &Path, store: &SqlStore) -> Result<Verified, BackupError> {
    let audit_events = cnadesk_store::verify_audit_chain(store)
        .await
        .map_err(|e| match e {
            cnadesk_store::VerifyError::Broken(e) => BackupError::Chain {
                path: path.to_owned(),
                detail: format!("event {}: {e}", e.seq()),
            },
            cnadesk_store::VerifyError::Store(e) => store_error(path, e),
        })?;
    let key_fingerprint = store
        .key_fingerprint()
        .await
        .map_err(|e| store_error(path, e))?;
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM reports) AS reports, (SELECT COUNT(*) FROM users) AS users",
    )
    .fetch_one(&store.reader)
    .await
    .map_err(|e| classify(path, "cannot read", e))?;
    let count = |col: &str| {
        row.try_get::<i64, _>(col)
            .map_err(|e| classify(path, "cannot read", e))
    };
    Ok(Verified {
        audit_events,
        reports: count("reports")?,
        users: count("users")?,
        key_fingerprint,
    })
}

/// The live database taken offline by [`sqlite_take_offline`]: while this is
/// held, no other connection (no `cnadesk serve`) can read or write it.
/// [`Offline::release`] gives it back; [`Offline::replace_with`] puts
/// another file in its place before letting go.
#[derive(Debug)]
pub struct Offline {
    path: PathBuf,
    conn: SqliteConnection,
    /// What it holds; `None`: there was no database (a missing or empty
    /// file).
    pub holds: Option<Footprint>,
    created: bool,
}

/// Takes the live database at `path` offline with an exclusive lock
/// (exclusive locking mode, `BEGIN EXCLUSIVE`, a short busy timeout): any
/// other open connection, such as a serving desk's, makes this fail with
/// [`BackupError::InUse`]. Holding it, counts what the database holds and
/// moves everything from its `-wal` into the file, so the `-wal` and `-shm`
/// beside it hold nothing. A missing file is created (an empty database,
/// locked), so no desk can create one there while the lock is held; it is
/// removed again unless replaced. (Locking an existing empty file writes an
/// empty database header into it.)
pub async fn sqlite_take_offline(path: &Path) -> Result<Offline, BackupError> {
    let created = !path.exists();
    let has_content = sqlite_file_has_content(path);
    let mut conn: SqliteConnection = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::from_millis(500))
        .disable_statement_logging()
        .connect()
        .await
        .map_err(|e| classify(path, "cannot open", e))?;
    let taken = async {
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut conn)
            .await
            .map_err(|e| classify(path, "cannot lock", e))?;
        let holds = if has_content {
            Some(
                live_footprint(&mut conn)
                    .await
                    .map_err(|e| classify(path, "cannot read", e))?,
            )
        } else {
            None
        };
        sqlx::query("COMMIT")
            .execute(&mut conn)
            .await
            .map_err(|e| classify(path, "cannot read", e))?;
        if has_content {
            // (busy, WAL frames, frames checkpointed): busy means not all of
            // the WAL reached the file.
            let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&mut conn)
                .await
                .map_err(|e| classify(path, "cannot checkpoint", e))?;
            if row.try_get::<i64, _>(0).unwrap_or(1) != 0 {
                return Err(BackupError::Io(format!(
                    "cannot checkpoint {}: its write-ahead log could not be moved into it",
                    path.display()
                )));
            }
        }
        Ok(holds)
    }
    .await;
    match taken {
        Ok(holds) => Ok(Offline {
            path: path.to_owned(),
            conn,
            holds,
            created,
        }),
        Err(e) => {
            if created {
                remove_created(path);
            }
            let _ = conn.close().await;
            Err(e)
        }
    }
}

/// Removes a database file [`sqlite_take_offline`] created (still locked,
/// so nobody wrote to it; locking it wrote an empty database header).
fn remove_created(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = remove_files(path, SIDECARS);
}

/// The files SQLite keeps beside a database.
pub const SIDECARS: &[&str] = &["-wal", "-shm", "-journal"];

/// Removes `path` followed by each suffix (a file that is not there is fine).
pub fn remove_files(path: &Path, suffixes: &[&str]) -> Result<(), BackupError> {
    for suffix in suffixes {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("cannot remove", Path::new(&p), e)),
        }
    }
    Ok(())
}

/// Puts `new` in place of the database at `path`: its `-wal`, `-shm` and
/// `-journal` removed (they would be replayed onto the new file), then an
/// atomic rename and the directory synced. For a database that cannot be
/// opened (so cannot be locked either); otherwise use
/// [`Offline::replace_with`].
pub fn sqlite_replace_unlocked(path: &Path, new: &Path) -> Result<(), BackupError> {
    remove_files(path, SIDECARS)?;
    std::fs::rename(new, path).map_err(|e| {
        BackupError::Io(format!(
            "cannot move {} to {}: {e}",
            new.display(),
            path.display()
        ))
    })?;
    sync_dir_of(path)
}

impl Offline {
    /// Lets go of the database unchanged (a file this created is removed
    /// again).
    pub async fn release(self) {
        if self.created {
            remove_created(&self.path);
        }
        let _ = self.conn.close().await;
    }

    /// Puts `new` (synced already) in place of the database, holding the
    /// lock until the rename and the directory sync are done, so no desk can
    /// open the old file in between.
    ///
    /// The old database is first switched out of WAL mode (its WAL is empty):
    /// SQLite deletes a WAL-mode database's `-wal` by name when the last
    /// connection closes, and after the rename that name is the new
    /// database's. A desk that opened the old file meanwhile waits for the
    /// lock and then finds it moved (SQLite refuses writes to it).
    pub async fn replace_with(mut self, new: &Path) -> Result<(), BackupError> {
        let path = self.path.clone();
        let replaced = async {
            if self.holds.is_some() {
                let mode: String = sqlx::query_scalar("PRAGMA journal_mode = DELETE")
                    .fetch_one(&mut self.conn)
                    .await
                    .map_err(|e| classify(&path, "cannot prepare", e))?;
                if !mode.eq_ignore_ascii_case("delete") {
                    return Err(BackupError::Io(format!(
                        "cannot prepare {}: it stays in journal mode {mode}",
                        path.display()
                    )));
                }
            }
            sqlite_replace_unlocked(&path, new)
        }
        .await;
        if replaced.is_err() && self.created {
            remove_created(&path);
        }
        let _ = self.conn.close().await;
        replaced
    }
}

/// What a live database holds, counted; tables that do not exist (an older
/// or a foreign database) count as empty. Second factors belong to users and
/// are counted with them.
async fn live_footprint(conn: &mut SqliteConnection) -> Result<Footprint, sqlx::Error> {
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut *conn)
            .await?;
    let mut counts = Vec::new();
    for table in [
        "users",
        "reports",
        "audit_events",
        "sessions",
        "vendor_sessions",
        "outbox",
        "transparency_log",
    ] {
        let n: i64 = if tables.iter().any(|t| t == table) {
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&mut *conn)
                .await?
        } else {
            0
        };
        counts.push(n);
    }
    Ok(Footprint {
        users: counts[0],
        reports: counts[1],
        audit_events: counts[2],
        key_bound: counts[3..].iter().sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn plain(path: &Path) -> SqliteConnection {
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .busy_timeout(Duration::from_millis(100))
            .connect()
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn offline_keeps_others_out_until_the_new_file_is_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.sqlite3");
        let mut c = plain(&db).await;
        sqlx::raw_sql(
            "PRAGMA journal_mode = WAL; CREATE TABLE reports (x); INSERT INTO reports VALUES (1);",
        )
        .execute(&mut c)
        .await
        .unwrap();
        // In use: refused.
        assert!(matches!(
            sqlite_take_offline(&db).await,
            Err(BackupError::InUse { .. })
        ));
        c.close().await.unwrap();

        let new = dir.path().join("new.sqlite3");
        let mut n = plain(&new).await;
        sqlx::raw_sql("CREATE TABLE reports (x); INSERT INTO reports VALUES (1), (2);")
            .execute(&mut n)
            .await
            .unwrap();
        n.close().await.unwrap();

        let offline = sqlite_take_offline(&db).await.unwrap();
        assert_eq!(offline.holds.as_ref().unwrap().reports, 1);
        // Nobody else gets in while it is held.
        let mut other = plain(&db).await;
        let e = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM reports")
            .fetch_one(&mut other)
            .await
            .unwrap_err();
        assert!(
            matches!(classify(&db, "", e), BackupError::InUse { .. }),
            "locked"
        );
        let _ = other.close().await;
        offline.replace_with(&new).await.unwrap();
        for s in SIDECARS {
            let mut p = db.as_os_str().to_owned();
            p.push(s);
            assert!(!Path::new(&p).exists(), "{s} left beside the new file");
        }
        let mut c = plain(&db).await;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM reports")
            .fetch_one(&mut c)
            .await
            .unwrap();
        assert_eq!(n, 2);
        c.close().await.unwrap();

        // A missing database is created empty and locked, and removed again
        // when let go.
        let none = dir.path().join("none.sqlite3");
        let offline = sqlite_take_offline(&none).await.unwrap();
        assert!(offline.holds.is_none());
        offline.release().await;
        assert!(!none.exists());
    }

    #[tokio::test]
    async fn only_corrupt_or_not_a_database_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.sqlite3");
        std::fs::write(&junk, vec![7u8; 8192]).unwrap();
        assert!(matches!(
            sqlite_integrity_check(&junk).await,
            Err(BackupError::Damaged { .. })
        ));
        assert!(matches!(
            sqlite_backup_key_fingerprint(&junk).await,
            Err(BackupError::Damaged { .. })
        ));
        // Cannot open: not damaged.
        let missing = dir.path().join("no/such/dir/x.sqlite3");
        let e = SqliteConnectOptions::new()
            .filename(&missing)
            .create_if_missing(true)
            .connect()
            .await
            .unwrap_err();
        assert!(matches!(
            classify(&missing, "cannot open", e),
            BackupError::Io(_)
        ));
    }
}
