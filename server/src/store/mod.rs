//! The metadata store: SQLite under the pgfleet home (the embedded
//! default) or a PostgreSQL database that several pgfleet servers share.
//! Both run the same queries through sqlx's `Any` driver; each dialect has
//! its own migrations, embedded in the binary and run at start. A migration
//! that fails stops start-up; pgfleet never runs against a schema it does
//! not know.
//!
//! What the two dialects share: times are RFC 3339 text, ids come from
//! `RETURNING id`, placeholders are `$N`, booleans are read through
//! [`flag`] (SQLite hands them over as integers).

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;

pub mod audit;
pub mod databases;
pub mod events;
pub mod fork_requests;
pub mod history;
pub mod idempotency;
pub mod masking;
pub mod samples;
pub mod sessions;
pub mod settings;
pub mod specs;
pub mod status;
pub mod tokens;
pub mod turns;
pub mod users;

/// Why the store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the pgfleet home {path}: {source}")]
    Home { path: PathBuf, source: std::io::Error },
    #[error("cannot open the metadata store {store}: {source}")]
    Open { store: String, source: sqlx::Error },
    #[error("the metadata store {store} could not be migrated: {source}")]
    Migrate { store: String, source: sqlx::migrate::MigrateError },
    #[error("metadata store query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("corrupt row in the metadata store: {0}")]
    Corrupt(String),
    #[error("the metadata store is busy: {0}")]
    Busy(&'static str),
}

/// Where the metadata lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreLocation {
    /// A SQLite file, created if missing.
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`), which must exist.
    Postgres(String),
}

impl StoreLocation {
    /// `postgres://…` or `postgresql://…` is PostgreSQL; anything else
    /// (`sqlite://PATH` or a path) is a SQLite file.
    pub fn parse(text: &str) -> StoreLocation {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            StoreLocation::Postgres(text.to_string())
        } else {
            StoreLocation::Sqlite(PathBuf::from(text.strip_prefix("sqlite://").unwrap_or(text)))
        }
    }

    /// As `--store` takes it back.
    pub fn url(&self) -> String {
        match self {
            StoreLocation::Sqlite(path) => format!("sqlite://{}", path.display()),
            StoreLocation::Postgres(url) => url.clone(),
        }
    }

    /// For logs and errors: a PostgreSQL URL without its password.
    pub fn describe(&self) -> String {
        match self {
            StoreLocation::Sqlite(path) => path.display().to_string(),
            StoreLocation::Postgres(url) => match url.split_once("://").and_then(|(scheme, rest)| {
                let (credentials, host) = rest.rsplit_once('@')?;
                let user = credentials.split(':').next().unwrap_or("");
                Some(format!("{scheme}://{user}@{host}"))
            }) {
                Some(safe) => safe,
                None => url.clone(),
            },
        }
    }
}

impl From<&Path> for StoreLocation {
    fn from(path: &Path) -> Self {
        StoreLocation::Sqlite(path.to_path_buf())
    }
}

impl From<&PathBuf> for StoreLocation {
    fn from(path: &PathBuf) -> Self {
        StoreLocation::Sqlite(path.clone())
    }
}

impl From<&StoreLocation> for StoreLocation {
    fn from(location: &StoreLocation) -> Self {
        location.clone()
    }
}

/// Which SQL the store speaks, for the few things that differ (locks,
/// notifications).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A handle to the metadata store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    location: StoreLocation,
    /// Rows seen that cannot be decoded, by table and key, with why.
    unreadable: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>,
}

impl Store {
    /// Opens the store at `location` (creating a SQLite file if needed)
    /// and brings its schema up to date.
    pub async fn open(location: impl Into<StoreLocation>) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let location = location.into();
        let store = location.describe();
        let pool = match &location {
            StoreLocation::Sqlite(path) => open_sqlite(path).await?,
            StoreLocation::Postgres(url) => AnyPoolOptions::new()
                .max_connections(10)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(|source| StoreError::Open { store: store.clone(), source })?,
        };
        // Two servers starting on one PostgreSQL store at once: sqlx
        // takes an advisory lock around the migrations.
        let migrated = match &location {
            StoreLocation::Sqlite(_) => sqlx::migrate!("./migrations/sqlite").run(&pool).await,
            StoreLocation::Postgres(_) => sqlx::migrate!("./migrations/postgres").run(&pool).await,
        };
        migrated.map_err(|source| StoreError::Migrate { store, source })?;
        Ok(Store { pool, location, unreadable: Default::default() })
    }

    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    pub fn dialect(&self) -> Dialect {
        match self.location {
            StoreLocation::Sqlite(_) => Dialect::Sqlite,
            StoreLocation::Postgres(_) => Dialect::Postgres,
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that reads, then writes what it read decides. On
    /// SQLite it takes the write lock at its start (`BEGIN IMMEDIATE`):
    /// begun as a reader, its first write fails at once with
    /// SQLITE_BUSY_SNAPSHOT when another connection committed since its
    /// read, which no busy timeout waits out.
    pub async fn begin_read_then_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.dialect() {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        })
    }

    /// Rows that could not be decoded when last read (`spec/NAME` →
    /// why), for `/healthz`. A row that reads again is taken off.
    pub fn unreadable(&self) -> Vec<(String, String)> {
        let rows = self.unreadable.lock().unwrap_or_else(|e| e.into_inner());
        rows.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Passes a decoded row (`what` names its reader: `spec`, `view`)
    /// through, remembering (and logging once) a row that could not be
    /// decoded.
    pub(crate) fn readable<T>(
        &self,
        what: &str,
        row: &AnyRow,
        decoded: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        use sqlx::Row;
        let key = format!("{what}/{}", row.try_get::<String, _>("name").unwrap_or_else(|_| "?".into()));
        let mut rows = self.unreadable.lock().unwrap_or_else(|e| e.into_inner());
        match &decoded {
            Ok(_) => {
                rows.remove(&key);
            }
            Err(e) => {
                if rows.insert(key.clone(), e.to_string()).is_none() {
                    tracing::error!(row = %key, error = %e, "a row in the metadata store cannot be read; it is skipped");
                }
            }
        }
        decoded
    }

    /// A round trip to the store, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

async fn open_sqlite(path: &Path) -> Result<AnyPool, StoreError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Home { path: dir.to_path_buf(), source })?;
    }
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        .after_connect(|conn, _| {
            Box::pin(async move {
                // WAL with NORMAL is durable across a crash of pgfleet (not
                // of the machine), which is what restart safety asks for.
                use sqlx::Executor;
                for pragma in [
                    "PRAGMA journal_mode = WAL",
                    "PRAGMA synchronous = NORMAL",
                    "PRAGMA foreign_keys = ON",
                    "PRAGMA busy_timeout = 10000",
                ] {
                    conn.execute(pragma).await?;
                }
                Ok(())
            })
        })
        .connect(&url)
        .await
        .map_err(|source| StoreError::Open { store: path.display().to_string(), source })?;
    // The store holds database passwords: only pgfleet's user reads it.
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if file.exists() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(|source| StoreError::Home { path: file.clone(), source })?;
        }
    }
    Ok(pool)
}

/// A boolean column: PostgreSQL's `BOOLEAN`, SQLite's 0 or 1.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    optional_flag(row, column)?.ok_or_else(|| StoreError::Corrupt(format!("{column} is NULL")))
}

/// A nullable boolean column (from an outer join).
pub(crate) fn optional_flag(row: &AnyRow, column: &str) -> Result<Option<bool>, StoreError> {
    use sqlx::Row;
    match row.try_get::<Option<bool>, _>(column) {
        Ok(value) => Ok(value),
        Err(sqlx::Error::ColumnDecode { .. }) => Ok(row.try_get::<Option<i64>, _>(column)?.map(|v| v != 0)),
        Err(e) => Err(e.into()),
    }
}

/// The `fork_policy` column of a `databases` row.
pub(crate) fn fork_policy_column(row: &AnyRow, name: &str) -> Result<app::model::ForkPolicy, StoreError> {
    use sqlx::Row;
    let policy: String = row.try_get("fork_policy")?;
    app::model::ForkPolicy::parse(&policy).ok_or_else(|| StoreError::Corrupt(format!("{name}: fork policy {policy:?}")))
}

/// A nullable timestamp column written with `to_rfc3339`.
pub(crate) fn optional_time(
    row: &AnyRow,
    name: &str,
    column: &str,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    use sqlx::Row;
    let text: Option<String> = row.try_get(column)?;
    text.as_deref().map(|t| parse_time(name, column, t)).transpose()
}

/// Reads a timestamp column written with `to_rfc3339`.
pub(crate) fn parse_time(row: &str, column: &str, text: &str) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Corrupt(format!("{row}.{column}: {e}")))
}
