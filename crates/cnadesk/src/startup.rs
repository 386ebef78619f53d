//! Start-up that refuses what it cannot trust: a database that cannot be
//! written, a secret key that is missing or not the desk's own, a database
//! that vanished while its key stayed. Each refusal says what to restore.
//!
//! The database records the fingerprint of the key it was created with
//! (`desk_meta`). A first start is explicit: `cnadesk init`, or `serve` on a
//! data directory that holds neither a key nor a database.

use anyhow::{bail, Context};
use cnadesk_app::ServerKey;
use cnadesk_core::{Clock, SystemClock};
use cnadesk_store::{Footprint, Maintenance, StoreError};
use cnadesk_store_sql::{Migrate, SqlStore};

use crate::config::Config;

/// Why the desk is being opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Intent {
    /// `serve`: an existing desk, or a first start on an empty data dir.
    Serve,
    /// `init`: a new desk, explicitly (with an existing key if configured).
    Init,
}

/// Where the key came from, for the messages.
fn key_origin(config: &Config) -> String {
    if config.secret_key.is_some() {
        "the configured secret key (CNADESK_SECRET_KEY or CNADESK_SECRET_KEY_FILE)".to_owned()
    } else {
        config.key_path().display().to_string()
    }
}

/// The SQLite file of this configuration, when it is SQLite.
fn sqlite_file(config: &Config) -> Option<std::path::PathBuf> {
    cnadesk_store_sql::sqlite_path(&config.database_url()).map(Into::into)
}

/// Opens the desk's database and its key, or says why not; `true` when this
/// start created the desk.
///
/// A new key is written to `secret.key.new` and becomes `secret.key` only
/// after the database recorded its fingerprint, so a start that stops
/// half-way (killed, full disk, another node first) never leaves a key the
/// database does not know; the next start picks the pending key up.
pub(crate) async fn open_desk(
    config: &Config,
    intent: Intent,
) -> anyhow::Result<(SqlStore, ServerKey, bool)> {
    let mut key = config.existing_server_key()?;
    let pending = if key.is_none() {
        config.pending_server_key()
    } else {
        None
    };
    let db_name = cnadesk_store_sql::redact_url(&config.database_url());
    // A key without its database is a desk whose database was lost: never
    // start it again as a new desk (that would look like a working desk
    // with every report gone). Checked before the file is created.
    if let (Some(file), Some(_), Intent::Serve) = (sqlite_file(config), &key, intent) {
        if !cnadesk_store_sql::backup::sqlite_file_has_content(&file) {
            bail!("{}", Refusal::DatabaseLost.explain(config, &db_name, None));
        }
    }
    let store = crate::open_store(config, Migrate::Apply)
        .await
        .with_context(|| format!("cannot open the database {db_name}"))?;
    let now = SystemClock.now().as_millisecond();
    if let Err(e) = store.write_probe(now).await {
        let reason = match e {
            StoreError::Unavailable(reason) => reason,
            other => other.to_string(),
        };
        store.close().await;
        bail!(
            "the database {db_name} cannot take writes: {reason}.\n\
             cnadesk does not start on a database it cannot write to: a report it acknowledged \
             could not be kept. Fix the cause (free space, permissions of the data directory) and \
             start again."
        );
    }
    let recorded = store.key_fingerprint().await?;
    // A key the database recorded while its start stopped before
    // `secret.key` was written: it is the desk's key.
    if let (None, Some(p)) = (&key, &pending) {
        if recorded.as_deref() == Some(p.fingerprint().as_str()) {
            config.adopt_pending_key(p)?;
            tracing::info!("the desk's secret key was completed from secret.key.new");
            key = pending.clone();
        }
    }
    // What the database holds matters only while no key is recorded.
    let footprint = match recorded {
        Some(_) => Footprint::default(),
        None => store.footprint().await?,
    };
    let mut created = false;
    let key = match decide(intent, key.is_some(), recorded.as_deref(), footprint) {
        Ok(Action::UseExisting) => key.context("no key")?,
        Ok(Action::Create) => {
            created = true;
            match pending {
                // Left by a start that stopped before recording it.
                Some(p) => p,
                None => config.write_pending_key()?,
            }
        }
        Err(refusal) => {
            store.close().await;
            bail!("{}", refusal.explain(config, &db_name, recorded.as_deref()));
        }
    };
    let fingerprint = key.fingerprint();
    match recorded {
        Some(recorded) if recorded != fingerprint => {
            store.close().await;
            bail!(
                "{} (fingerprint {fingerprint}) is not the key of this desk: the database {db_name} \
                 was created with the key whose fingerprint is {recorded}.\n\
                 Every node of a desk must use the same secret key: copy secret.key from a node \
                 that runs (or from your backup), or set CNADESK_SECRET_KEY_FILE to it.",
                key_origin(config)
            );
        }
        Some(_) => {}
        None => {
            let bound = match store.bind_key_fingerprint(&fingerprint, now).await {
                Ok(bound) => bound,
                Err(e) => {
                    store.close().await;
                    return Err(e.into());
                }
            };
            if bound != fingerprint {
                if created {
                    config.discard_pending_key();
                }
                store.close().await;
                bail!(
                    "another node recorded a different key (fingerprint {bound}) for the database \
                     {db_name} while this one started: every node must use the same secret key \
                     (copy that node's secret.key here, or set CNADESK_SECRET_KEY_FILE)"
                );
            }
            tracing::info!(fingerprint, "the database records this desk's secret key");
        }
    }
    if created {
        config.adopt_pending_key(&key)?;
    }
    Ok((store, key, created))
}

/// What start-up does about the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    /// Use the key found (it is checked against the recorded fingerprint).
    UseExisting,
    /// Create a key: a new desk.
    Create,
}

/// Why start-up refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// The database names a key, and there is none.
    KeyMissing,
    /// The database has data that needed a key, and there is none.
    KeyMissingForData,
    /// A key exists and the database is empty: its database was lost.
    DatabaseLost,
    /// `init` on a desk that already has data.
    AlreadyInitialised,
}

impl Refusal {
    fn explain(self, config: &Config, db: &str, recorded: Option<&str>) -> String {
        let key = config.key_path();
        match self {
            Refusal::KeyMissing => format!(
                "the database {db} belongs to a desk whose secret key has fingerprint {}, but \
                 there is no key: {} is missing and none is configured.\n\
                 Restore secret.key from your backup (or set CNADESK_SECRET_KEY_FILE). cnadesk \
                 does not create a new key here: it would lock every member out of their second \
                 factor, make queued mail unreadable and change the transparency log's signing key.",
                recorded.unwrap_or("?"),
                key.display()
            ),
            Refusal::KeyMissingForData => format!(
                "the database {db} holds data made with a secret key (sessions, second factors, \
                 queued mail or transparency log entries), but {} is missing and no key is \
                 configured.\nRestore secret.key from your backup (or set \
                 CNADESK_SECRET_KEY_FILE); cnadesk does not replace a lost key by a new one.",
                key.display()
            ),
            Refusal::DatabaseLost => format!(
                "{} exists, but the database {db} is missing or empty.\n\
                 This desk has run before: starting it as a new desk would lose every report.\n\
                 Restore the database from a backup (`cnadesk restore --from FILE`), or, to start a new desk with this key on \
                 purpose, run `cnadesk init`.",
                key_origin(config)
            ),
            Refusal::AlreadyInitialised => format!(
                "the database {db} already holds a desk; `cnadesk init` only starts new ones"
            ),
        }
    }
}

/// The start-up decision, from what exists.
fn decide(
    intent: Intent,
    have_key: bool,
    recorded: Option<&str>,
    footprint: Footprint,
) -> Result<Action, Refusal> {
    match (intent, recorded, have_key) {
        (Intent::Init, Some(_), _) => Err(Refusal::AlreadyInitialised),
        (Intent::Init, None, _) if footprint.reports > 0 || footprint.key_bound > 0 => {
            Err(Refusal::AlreadyInitialised)
        }
        (Intent::Init, None, true) => Ok(Action::UseExisting),
        (Intent::Init, None, false) => Ok(Action::Create),
        (Intent::Serve, Some(_), true) => Ok(Action::UseExisting),
        (Intent::Serve, Some(_), false) => Err(Refusal::KeyMissing),
        // A desk from before fingerprints were recorded: adopt its key.
        (Intent::Serve, None, true) if !footprint.is_empty() => Ok(Action::UseExisting),
        (Intent::Serve, None, true) => Err(Refusal::DatabaseLost),
        (Intent::Serve, None, false) if footprint.reports > 0 || footprint.key_bound > 0 => {
            Err(Refusal::KeyMissingForData)
        }
        // A new desk (or one prepared with `admin create-user` only).
        (Intent::Serve, None, false) => Ok(Action::Create),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(reports: i64, key_bound: i64, users: i64) -> Footprint {
        Footprint {
            users,
            reports,
            audit_events: users + reports,
            key_bound,
        }
    }

    #[test]
    fn a_first_start_creates_the_key_and_nothing_else_does() {
        let empty = Footprint::default();
        assert_eq!(
            decide(Intent::Serve, false, None, empty),
            Ok(Action::Create)
        );
        assert_eq!(decide(Intent::Init, false, None, empty), Ok(Action::Create));
        assert_eq!(
            decide(Intent::Init, true, None, empty),
            Ok(Action::UseExisting)
        );
        // Prepared with `admin create-user` before the first start.
        assert_eq!(
            decide(Intent::Serve, false, None, fp(0, 0, 1)),
            Ok(Action::Create)
        );
    }

    #[test]
    fn a_lost_key_or_a_lost_database_is_refused() {
        assert_eq!(
            decide(Intent::Serve, false, Some("ab"), fp(3, 2, 1)),
            Err(Refusal::KeyMissing)
        );
        assert_eq!(
            decide(Intent::Serve, false, None, fp(3, 0, 1)),
            Err(Refusal::KeyMissingForData)
        );
        assert_eq!(
            decide(Intent::Serve, false, None, fp(0, 1, 1)),
            Err(Refusal::KeyMissingForData)
        );
        assert_eq!(
            decide(Intent::Serve, true, None, Footprint::default()),
            Err(Refusal::DatabaseLost)
        );
        assert_eq!(
            decide(Intent::Init, true, Some("ab"), Footprint::default()),
            Err(Refusal::AlreadyInitialised)
        );
        assert_eq!(
            decide(Intent::Init, false, None, fp(1, 0, 0)),
            Err(Refusal::AlreadyInitialised)
        );
    }

    #[test]
    fn an_older_desk_adopts_its_key() {
        assert_eq!(
            decide(Intent::Serve, true, None, fp(5, 3, 2)),
            Ok(Action::UseExisting)
        );
        assert_eq!(
            decide(Intent::Serve, true, Some("ab"), fp(5, 3, 2)),
            Ok(Action::UseExisting)
        );
    }
}
