//! The cnadesk store over SQL, for SQLite (embedded, the default) and
//! PostgreSQL.
//!
//! One implementation serves both backends through sqlx's `Any` driver: the
//! queries use only what both dialects share (`$n` placeholders, `BIGINT`,
//! `TEXT`, `BLOB`/`BYTEA`, `RETURNING`), so every query exists once and the
//! two backends cannot drift apart. What differs lives in [`Backend`]: the
//! migrations (one directory per dialect, kept in lockstep by a test) and the
//! connection setup (SQLite: WAL, busy timeout, foreign keys, one writer).
#![warn(clippy::unwrap_used)]

mod accounts;
mod api_tokens;
mod audit;
pub mod backup;
mod cases;
mod coordination;
mod cve_ids;
mod health;
mod jobs;
mod leases;
mod maintenance;
mod notify;
mod outbox;
mod records;
mod reports;
mod rows;
mod scope;
mod sessions;
mod store;
mod team;
mod transparency;
mod tx;
mod vendors;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use store::SqlStore;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The database behind a [`SqlStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Detects the backend from a database URL.
    pub fn from_url(url: &str) -> Result<Self, OpenError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(OpenError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// The embedded migrations of this dialect.
    pub fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// `sqlite` or `postgres`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Why the store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Not a `sqlite:` or `postgres://` URL.
    #[error("unsupported database URL `{0}`: expected sqlite:PATH or postgres://…")]
    UnsupportedUrl(String),
    /// The database directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Connecting failed.
    #[error("cannot connect to {url}: {source}")]
    Connect {
        /// The URL without its password.
        url: String,
        /// Why.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database has migrations this binary does not know, or is behind.
    #[error("{0}")]
    Schema(String),
    /// The SQLite file is damaged or cannot be used.
    #[error("the database {path} cannot be used: {problem}")]
    Damaged {
        /// The file.
        path: String,
        /// What is wrong, in words.
        problem: String,
    },
}

/// How long start-up may spend checking an SQLite file before it goes on
/// (the check then continues to be the sweeps' and `/readyz`'s job).
const INTEGRITY_CHECK_BUDGET: Duration = Duration::from_secs(4);

/// How long start-up waits for a first connection to an SQLite file.
const CONNECT_BUDGET: Duration = Duration::from_secs(5);

/// Checks an SQLite file before the pools open it, so that a damaged file is
/// named with its problem at once (instead of pool time-outs): its
/// directory, its header, a first connection (within [`CONNECT_BUDGET`]),
/// and `PRAGMA quick_check` within [`INTEGRITY_CHECK_BUDGET`].
async fn preflight_sqlite(path: &str, options: &AnyConnectOptions) -> Result<(), OpenError> {
    let damaged = |problem: String| OpenError::Damaged {
        path: path.to_owned(),
        problem,
    };
    // SQLite writes its journal beside the file: a directory it cannot
    // write to fails every write later, so say it now.
    let dir = rows::dir_of(Path::new(path));
    if let Err(e) = check_writable(dir) {
        return Err(damaged(format!(
            "its directory {} is read-only or cannot be written ({e})",
            dir.display()
        )));
    }
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(damaged(format!("cannot read it: {e}"))),
    };
    if len > 0 {
        let mut header = [0u8; 16];
        let read = std::fs::File::open(path).and_then(|mut f| {
            use std::io::Read;
            f.read_exact(&mut header)
        });
        if len < 100 || read.is_err() {
            return Err(damaged(format!(
                "it is truncated ({len} bytes; an SQLite database has at least a 100-byte header)"
            )));
        }
        if &header != b"SQLite format 3\0" {
            return Err(damaged(
                "it is not an SQLite database (its first bytes are not the SQLite header)".into(),
            ));
        }
    }
    let in_words =
        |e: sqlx::Error| damaged(crate::health::unavailable_reason(&e).unwrap_or(e.to_string()));
    let connect = async {
        let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect_with(options)
            .await
            .map_err(in_words)?;
        conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
            .await
            .map_err(in_words)?;
        Ok::<_, OpenError>(conn)
    };
    let mut conn = match tokio::time::timeout(CONNECT_BUDGET, connect).await {
        Ok(conn) => conn?,
        Err(_) => {
            return Err(damaged(format!(
                "it did not answer within {} s (is another process holding it locked?)",
                CONNECT_BUDGET.as_secs()
            )))
        }
    };
    if len > 0 {
        // Only the check itself is timed: a check that runs out of time is
        // still running on the connection, and closing it would wait for
        // the check to finish. Such a connection is closed in the
        // background instead.
        let check = rows::check_pragma(&mut conn, "quick_check(20)");
        match tokio::time::timeout(INTEGRITY_CHECK_BUDGET, check).await {
            Ok(Ok(problems)) if problems.is_empty() => {}
            Ok(Ok(problems)) => {
                return Err(damaged(format!(
                    "the integrity check failed: {}",
                    problems.join("; ")
                )));
            }
            Ok(Err(e)) => {
                let reason = crate::health::unavailable_reason(&e).unwrap_or(e.to_string());
                return Err(damaged(format!("the integrity check failed: {reason}")));
            }
            Err(_) => {
                tracing::warn!(
                    path,
                    "the integrity check did not finish within {} s; going on",
                    INTEGRITY_CHECK_BUDGET.as_secs()
                );
                tokio::spawn(async move {
                    let _ = sqlx::Connection::close(conn).await;
                });
                return Ok(());
            }
        }
    }
    let _ = sqlx::Connection::close(conn).await;
    Ok(())
}

/// Creates and removes a file in `dir`. A file of that name left by a killed
/// process (whose pid was reused) is removed first: removing it needs a
/// writable directory as well, so it proves as much as a fresh file does.
fn check_writable(dir: &Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".cnadesk-write-check-{}", std::process::id()));
    let create = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
    };
    match create() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&probe)?;
            create()?;
        }
        created => {
            created?;
        }
    }
    std::fs::remove_file(&probe)
}

/// Creates the data directory readable by its owner only (it holds the
/// database and the secret key); an existing directory is left as it is.
fn create_private_dir(dir: &Path) -> Result<(), OpenError> {
    if dir.exists() {
        return Ok(());
    }
    let err = |source| OpenError::DataDir {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

/// Replaces the password of a URL with `***` (for logs and errors), in the
/// user-info part and in a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let redacted = redact_userinfo(url);
    match redacted.split_once('?') {
        Some((base, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{base}?{}", query.join("&"))
        }
        None => redacted,
    }
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Whether to apply pending migrations when opening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Migrate {
    /// Apply them (the default for SQLite).
    Apply,
    /// Refuse to open a database that is not up to date (PostgreSQL, where
    /// `cnadesk migrate` is an explicit step).
    Require,
}

/// The URL of the default SQLite database inside a data directory.
pub fn sqlite_url_in(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("cnadesk.sqlite3").display()
    )
}

/// Opens (and for SQLite creates) the database at `url`.
pub async fn open(url: &str, migrate: Migrate) -> Result<SqlStore, OpenError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::from_url(url)?;
    let connect_err = |source| OpenError::Connect {
        url: redact_url(url),
        source,
    };
    let options = AnyConnectOptions::from_str(url)
        .map_err(connect_err)?
        .disable_statement_logging();
    let (reader, writer) = match backend {
        Backend::Sqlite => {
            if let Some(path) = sqlite_path(url) {
                create_private_dir(rows::dir_of(Path::new(&path)))?;
                preflight_sqlite(&path, &options).await?;
            }
            let setup = sqlite_connection_setup;
            // SQLite has one writer at a time: a single write connection
            // serializes writers in-process instead of failing with BUSY.
            let writer = AnyPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .after_connect(setup)
                .connect_with(options.clone())
                .await
                .map_err(connect_err)?;
            let reader = AnyPoolOptions::new()
                .max_connections(8)
                .after_connect(setup)
                .connect_with(options)
                .await
                .map_err(connect_err)?;
            (reader, writer)
        }
        Backend::Postgres => {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                // A server that is down answers 503 after this, not later.
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await
                .map_err(connect_err)?;
            (pool.clone(), pool)
        }
    };
    match migrate {
        Migrate::Apply => backend.migrator().run(&writer).await?,
        Migrate::Require => check_schema(backend, &writer).await?,
    }
    Ok(SqlStore::new(backend, reader, writer).with_file(sqlite_path(url).map(Into::into)))
}

/// Applies pending migrations (what `cnadesk migrate` does); returns the
/// versions applied.
pub async fn migrate(url: &str) -> Result<Vec<i64>, OpenError> {
    sqlx::any::install_default_drivers();
    let backend = Backend::from_url(url)?;
    let options = AnyConnectOptions::from_str(url)
        .map_err(|source| OpenError::Connect {
            url: redact_url(url),
            source,
        })?
        .disable_statement_logging();
    if backend == Backend::Sqlite {
        if let Some(path) = sqlite_path(url) {
            create_private_dir(rows::dir_of(Path::new(&path)))?;
        }
    }
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|source| OpenError::Connect {
            url: redact_url(url),
            source,
        })?;
    let before = applied_versions(&pool).await.unwrap_or_default();
    backend.migrator().run(&pool).await?;
    let after = applied_versions(&pool).await.unwrap_or_default();
    pool.close().await;
    Ok(after.into_iter().filter(|v| !before.contains(v)).collect())
}

async fn applied_versions(pool: &AnyPool) -> Result<Vec<i64>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(v,)| v).collect())
}

async fn check_schema(backend: Backend, pool: &AnyPool) -> Result<(), OpenError> {
    let applied = applied_versions(pool).await.unwrap_or_default();
    let known: Vec<i64> = backend.migrator().iter().map(|m| m.version).collect();
    let missing: Vec<i64> = known
        .iter()
        .copied()
        .filter(|v| !applied.contains(v))
        .collect();
    if !missing.is_empty() {
        return Err(OpenError::Schema(format!(
            "the database is missing migrations {missing:?}: run `cnadesk migrate` first"
        )));
    }
    let unknown: Vec<i64> = applied
        .iter()
        .copied()
        .filter(|v| !known.contains(v))
        .collect();
    if !unknown.is_empty() {
        return Err(OpenError::Schema(format!(
            "the database has migrations {unknown:?} that this cnadesk does not know: it is newer than this binary"
        )));
    }
    Ok(())
}

type SetupFuture<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), sqlx::Error>> + Send + 'c>>;

/// Per-connection SQLite settings: WAL (readers never block the writer),
/// foreign keys enforced, waiting up to 5 s for a lock instead of failing,
/// and `synchronous = FULL`: a commit returns only once the WAL is on disk,
/// so an acknowledged report survives a power cut, not only a crash.
fn sqlite_connection_setup(
    conn: &mut sqlx::AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> SetupFuture<'_> {
    Box::pin(async move {
        conn.execute(
            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; \
             PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL;",
        )
        .await?;
        Ok(())
    })
}

/// The file of an `sqlite:` URL (`None` for other URLs and in-memory databases).
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://cna:s3cret@db.example:5432/cnadesk"),
            "postgres://cna:***@db.example:5432/cnadesk"
        );
        assert_eq!(redact_url("postgres://db/x"), "postgres://db/x");
        assert_eq!(
            redact_url("postgres://db/x?user=a&password=s3cret&sslmode=disable"),
            "postgres://db/x?user=a&password=***&sslmode=disable"
        );
        assert_eq!(redact_url("sqlite://a/b.sqlite3"), "sqlite://a/b.sqlite3");
    }

    #[test]
    fn sqlite_paths_are_extracted() {
        assert_eq!(
            sqlite_path("sqlite://d/x.sqlite3?mode=rwc").as_deref(),
            Some("d/x.sqlite3")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert!(Backend::from_url("mysql://x").is_err());
    }

    /// Both dialects must have the same migrations (version and name), so a
    /// schema change can never land on one backend only.
    #[test]
    fn migrations_are_in_lockstep() {
        let list = |m: &Migrator| -> Vec<(i64, String)> {
            m.iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect()
        };
        let sqlite = list(Backend::Sqlite.migrator());
        let postgres = list(Backend::Postgres.migrator());
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite, postgres,
            "migrations/sqlite and migrations/postgres diverge"
        );
    }
}
