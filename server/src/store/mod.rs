//! The metadata store: SQLite under the pgfleet home, its schema evolved by
//! migrations embedded in the binary. A migration that fails stops start-up;
//! pgfleet never runs against a schema it does not know.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub mod audit;
pub mod databases;
pub mod events;
pub mod fork_requests;
pub mod history;
pub mod idempotency;
pub mod sessions;
pub mod settings;
pub mod specs;
pub mod status;
pub mod tokens;
pub mod users;

/// Why the store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the pgfleet home {path}: {source}")]
    Home { path: PathBuf, source: std::io::Error },
    #[error("cannot open the metadata store {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("the metadata store {path} could not be migrated: {source}")]
    Migrate { path: PathBuf, source: sqlx::migrate::MigrateError },
    #[error("metadata store query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("corrupt row in the metadata store: {0}")]
    Corrupt(String),
}

/// A handle to the metadata store; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// Rows seen that cannot be decoded, by table and key, with why.
    unreadable: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, String>>>,
}

impl Store {
    /// Opens (creating if needed) the store at `path` and brings its schema
    /// up to date.
    pub async fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Home { path: dir.to_path_buf(), source })?;
        }
        let url = format!("sqlite://{}", path.display());
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL with NORMAL is durable across a crash of pgfleet (not of the
            // machine), which is what restart safety asks for.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open { path: path.to_path_buf(), source })?;
        // The store holds database passwords: only pgfleet's user reads it.
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(|source| StoreError::Home { path: file.clone(), source })?;
            }
        }
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate { path: path.to_path_buf(), source })?;
        Ok(Store { pool, unreadable: Default::default() })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
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
        row: &sqlx::sqlite::SqliteRow,
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

/// The `fork_policy` column of a `databases` row.
pub(crate) fn fork_policy_column(
    row: &sqlx::sqlite::SqliteRow,
    name: &str,
) -> Result<app::model::ForkPolicy, StoreError> {
    use sqlx::Row;
    let policy: String = row.try_get("fork_policy")?;
    app::model::ForkPolicy::parse(&policy).ok_or_else(|| StoreError::Corrupt(format!("{name}: fork policy {policy:?}")))
}

/// A nullable timestamp column written with `to_rfc3339`.
pub(crate) fn optional_time(
    row: &sqlx::sqlite::SqliteRow,
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
