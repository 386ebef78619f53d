//! Opening test databases, shared by the integration tests of this crate.
// Each test file uses only some of these.
#![allow(dead_code)]

use std::path::Path;

use cnadesk_store_sql::{open, sqlite_url_in, Migrate, SqlStore};

/// The URL of the SQLite database of [`sqlite`] in `dir`: in a nested
/// directory the store creates itself.
pub fn sqlite_url(dir: &Path) -> String {
    sqlite_url_in(&dir.join("nested/data"))
}

/// A fresh SQLite database in a temporary directory (kept while the
/// directory lives).
pub async fn sqlite() -> (tempfile::TempDir, SqlStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&sqlite_url(dir.path()), Migrate::Apply)
        .await
        .expect("open sqlite");
    (dir, store)
}

/// The URL of the test PostgreSQL server; a missing one fails the test.
pub fn postgres_base_url() -> String {
    std::env::var("CNADESK_TEST_POSTGRES_URL").expect(
        "this test needs PostgreSQL: set CNADESK_TEST_POSTGRES_URL \
         (e.g. postgres://postgres@127.0.0.1:5432/postgres)",
    )
}

/// A fresh, empty database on the test PostgreSQL server; [`TestDb::drop`]
/// removes it.
pub struct TestDb {
    base: String,
    name: String,
    /// Its URL.
    pub url: String,
}

impl TestDb {
    /// Creates it; an unreachable server fails the test.
    pub async fn create() -> Self {
        let base = postgres_base_url();
        let name = format!("cnadesk_test_{:016x}", rand::random::<u64>());
        sqlx::any::install_default_drivers();
        let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
            .await
            .unwrap_or_else(|e| panic!("CNADESK_TEST_POSTGRES_URL is set but unreachable: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = sqlx::Connection::close(admin).await;
        let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
        let url = format!("{prefix}/{name}");
        TestDb { base, name, url }
    }

    /// Removes it (best effort: a leftover database is harmless), after
    /// the store on it was closed.
    pub async fn drop(self) {
        let Ok(mut admin) = <sqlx::AnyConnection as sqlx::Connection>::connect(&self.base).await
        else {
            return;
        };
        let _ = sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await;
        let _ = sqlx::Connection::close(admin).await;
    }
}

/// A fresh, migrated database on the test PostgreSQL server (each test its
/// own), opened; drop the [`TestDb`] once done with the store.
pub async fn postgres() -> (TestDb, SqlStore) {
    let db = TestDb::create().await;
    cnadesk_store_sql::migrate(&db.url).await.expect("migrate");
    let store = open(&db.url, Migrate::Require)
        .await
        .expect("open postgres");
    (db, store)
}
