//! What pgfleet asks a running PostgreSQL server about itself, the same on
//! every backend once a connection is made: its version, size and
//! connections, and how far a follower is behind its source.

use app::model::{Info, Lag};
use chrono::Utc;
use sqlx::postgres::PgConnection;
use sqlx::Row;

use super::local::sql::{self, sql_err};
use super::{ProvisionError, ReplicaState};

/// Version, size, tables and connections of the server `conn` reaches
/// (tables counted in the database it is connected to). The cost of a
/// clone's own blocks is the backend's to add.
pub async fn server_info(conn: &mut PgConnection) -> Result<Info, ProvisionError> {
    let row = sqlx::query(
        "SELECT current_setting('server_version') AS version, \
                (SELECT sum(pg_database_size(datname))::int8 FROM pg_database) AS size, \
                (SELECT count(*) FROM pg_stat_user_tables)::int8 AS tables, \
                (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' \
                    AND application_name <> 'pgfleet')::int8 AS connections, \
                current_setting('max_connections')::int8 AS max_connections",
    )
    .fetch_one(conn)
    .await
    .map_err(sql_err)?;
    let get = |col: &str| -> Result<u64, ProvisionError> {
        Ok(row.try_get::<Option<i64>, _>(col).map_err(sql_err)?.unwrap_or(0).max(0) as u64)
    };
    Ok(Info {
        pg_version: row.try_get("version").map_err(sql_err)?,
        data_size_bytes: get("size")?,
        unshared_bytes: None,
        tables: get("tables")?,
        connections: get("connections")?,
        max_connections: get("max_connections")?,
        probed_at: Utc::now(),
    })
}

/// Whether `db` is in recovery and, given its source, how far behind it is.
/// The source is asked first: the follower must reach where it was.
pub async fn replica_state(
    source: Option<&mut PgConnection>,
    db: &mut PgConnection,
) -> Result<ReplicaState, ProvisionError> {
    let source_pos = match source {
        Some(conn) => Some(sql::wal_position(conn).await?),
        None => None,
    };
    let in_recovery = sql::in_recovery(db).await?;
    let lag = match (source_pos, in_recovery) {
        (Some(src_pos), true) => {
            let replayed = sql::wal_position(db).await?;
            let bytes = src_pos.saturating_sub(replayed);
            let seconds = if bytes == 0 { 0.0 } else { sql::replay_age_seconds(db).await?.unwrap_or(0.0).max(0.0) };
            Some(Lag { bytes, seconds })
        }
        _ => None,
    };
    Ok(ReplicaState { in_recovery, lag })
}
